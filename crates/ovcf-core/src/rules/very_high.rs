//! Very-high fracture risk flag (decision rules 11.15, with 11.9: only fractures that are not
//! suspected pathological count). One computation, used by the report's
//! `risks.very_high_fracture_risk` and by the drug plan (5.3, `anabolic_options`).

use serde_json::json;

use crate::engine::Out;
use crate::facts::Facts;
use crate::report::{Outcome, UnverifiedCriterion, VeryHighCriterion, VeryHighRisk};
use crate::request::Medication;

/// The bisphosphonate entries that were running when a present fracture (not suspected
/// pathological, onset known) began (rule 0.3 "on X at a fracture"; 11.28.21: only entries started
/// by `as_of`). Fractures without `onset_days` are not tested.
pub fn failed_bisphosphonates<'f, 'm>(
    f: &'f Facts<'m>,
) -> impl Iterator<Item = &'m Medication> + 'f {
    let as_of = f.as_of;
    f.req.medications.iter().filter(move |m| {
        m.drug.is_bisphosphonate()
            && m.start <= as_of
            && f.fractures
                .iter()
                .filter(|fr| !fr.pathological)
                .filter_map(|fr| fr.onset)
                .any(|onset| m.start < onset && m.end.is_none_or(|e| e >= onset))
    })
}

/// Rule 11.15: the flag, the criteria met (table order) and the unverified criteria met.
pub fn very_high_fracture_risk(f: &Facts<'_>) -> VeryHighRisk {
    let th = f.th;
    let mut criteria = Vec::new();
    if f64::from(f.vertebral_fracture_count()) >= th.very_high_risk_vertebral_fractures_min.value {
        criteria.push(VeryHighCriterion::MultipleVertebralFractures);
    }
    let lowest_t = f.lowest_t.map(|(t, _)| t);
    if f.recent_fracture
        && f64::from(f.age) >= th.very_high_recent_fracture_age_min.value
        && lowest_t.is_some_and(|t| t <= th.very_high_recent_fracture_t_max.value)
    {
        criteria.push(VeryHighCriterion::RecentVertebralFractureAge65TLeMinus2_5);
    }
    if lowest_t.is_some_and(|t| t < th.very_high_risk_below_t.value) {
        criteria.push(VeryHighCriterion::TScoreBelowMinus3);
    }
    if failed_bisphosphonates(f).next().is_some() {
        criteria.push(VeryHighCriterion::FractureOnBisphosphonate);
    }
    let mut unverified = Vec::new();
    if f.recent_fracture {
        unverified.push(UnverifiedCriterion::RecentFractureWithin12Months);
    }
    let within_24 = f.req.fractures.iter().zip(&f.fractures).any(|(fi, ff)| {
        !ff.pathological
            && fi.onset_days.is_some_and(|d| {
                f64::from(d) < th.unverified_recent_vertebral_fracture_max_days.value
            })
    });
    if within_24 {
        unverified.push(UnverifiedCriterion::RecentVertebralFractureWithin24Months);
    }
    VeryHighRisk {
        flag: !criteria.is_empty(),
        criteria,
        unverified_criteria_met: unverified,
    }
}

/// Computes the flag and records its explanation entry (rule 11.23: one applied entry whose value
/// is the report field).
pub fn assess(f: &Facts<'_>, out: &mut Out) -> VeryHighRisk {
    let vh = very_high_fracture_risk(f);
    out.explain(
        "risks.very_high_fracture_risk",
        "11.15",
        &[
            (
                "vertebral_fractures_total",
                json!(f.vertebral_fracture_count()),
            ),
            ("lowest_t", json!(f.lowest_t.map(|(t, _)| t))),
            ("age", json!(f.age)),
            ("recent_fracture", json!(f.recent_fracture)),
            ("pathological_fractures_excluded", json!(f.any_pathological)),
        ],
        Outcome::Applied,
        serde_json::to_value(&vh).ok(),
    );
    vh
}
