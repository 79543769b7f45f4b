//! Helpers shared by the integration tests: the assessment date and the contract's value lists.
#![allow(dead_code, clippy::unwrap_used)]

use ovcf_core::Date;

pub const AS_OF: &str = "2026-11-24";

pub fn as_of() -> Date {
    Date::parse(AS_OF).unwrap()
}

pub fn days_before(n: i64) -> String {
    as_of().add_days(-n).to_string()
}

pub fn months_before(n: i32) -> String {
    as_of().add_months(-n).to_string()
}

pub const LEVELS: [&str; 17] = [
    "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2", "L3",
    "L4", "L5",
];

pub const COMORBIDITIES: [&str; 14] = [
    "heart_failure",
    "coronary_disease",
    "copd",
    "diabetes",
    "chronic_kidney_disease",
    "dementia",
    "malignancy_history",
    "coagulopathy",
    "anticoagulant_therapy",
    "active_infection",
    "recent_mi_or_stroke",
    "glucocorticoid_use",
    "smoking",
    "rheumatoid_arthritis",
];

pub const SIGNS: [&str; 5] = [
    "convex_posterior_border",
    "pedicle_or_posterior_element_involvement",
    "epidural_or_paraspinal_mass",
    "diffuse_marrow_replacement",
    "other_osseous_lesions",
];
