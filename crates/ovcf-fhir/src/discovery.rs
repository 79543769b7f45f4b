//! The discovery response and its prefetch templates.
//!
//! Templates keep to the spec's RECOMMENDED subset: instance `read`, type-level `search` by
//! `patient={{context.patientId}}`, token parameters by equality (comma = OR), `_sort`, `_count`;
//! no chaining, `_include` or other modifiers. [`template_problems`] checks this.

use std::collections::BTreeMap;

use crate::cds::{DiscoveryResponse, Service};
use crate::codemap::Field;
use crate::codes;
use ovcf_core::request::Drug;

pub const PATIENT_VIEW_ID: &str = "ovcf-patient-view";
pub const ORDER_SIGN_ID: &str = "ovcf-order-sign";

const P: &str = "{{context.patientId}}";

/// The code map's Observation codes for `fields` as search tokens (one declaration: the map).
fn map_tokens(fields: &[Field]) -> String {
    crate::codemap::active()
        .prefetch_codes(fields)
        .iter()
        .map(|(s, c)| format!("{s}|{c}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn tokens(system: &str, codes: &[&str]) -> String {
    codes
        .iter()
        .map(|c| format!("{system}|{c}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Every own observation code the mapping reads (patient-level, then per-level codes).
pub fn own_observation_codes() -> Vec<&'static str> {
    crate::mapping::PATIENT_CODES
        .iter()
        .chain(crate::mapping::LEVEL_CODES.iter())
        .copied()
        .collect()
}

/// The prefetch templates (key → query) both services ask for.
pub fn prefetch_templates() -> BTreeMap<String, String> {
    let cpt = tokens(
        codes::CPT,
        &["22510", "22511", "22512", "22513", "22514", "22515"],
    );
    let entries = [
        ("patient", format!("Patient/{P}")),
        // All conditions: fracture codes come in ICD-10, ICD-10-CM (7th characters) and SNOMED
        // variants that equality search cannot enumerate; comorbidities use the own system.
        ("conditions", format!("Condition?patient={P}")),
        (
            "dxa",
            format!(
                "Observation?patient={P}&code={}&_sort=-date&_count=30",
                map_tokens(&[Field::LumbarT, Field::FemoralNeckT, Field::TotalHipT])
            ),
        ),
        (
            "egfr",
            format!(
                "Observation?patient={P}&code={}&_sort=-date&_count=20",
                map_tokens(&[Field::Egfr, Field::Crcl])
            ),
        ),
        (
            "labs",
            format!(
                "Observation?patient={P}&code={}&_sort=-date&_count=30",
                map_tokens(&[Field::Calcium, Field::VitaminD, Field::P1np, Field::Ctx])
            ),
        ),
        (
            "pain",
            format!(
                "Observation?patient={P}&code={}&_sort=-date&_count=10",
                map_tokens(&[Field::Pain])
            ),
        ),
        (
            "findings",
            format!(
                "Observation?patient={P}&code={}&_sort=-date",
                tokens(codes::OVCF_OBSERVATION, &own_observation_codes())
            ),
        ),
        // Medications by ATC class prefix cannot be searched by equality (M01A*), and RxNorm /
        // local codes are many: all of the patient's medication records; the mapping reads the
        // ones whose ATC, RxNorm or local code the code map knows.
        (
            "medicationRequests",
            format!("MedicationRequest?patient={P}"),
        ),
        (
            "medicationStatements",
            format!("MedicationStatement?patient={P}"),
        ),
        (
            "medicationAdministrations",
            format!(
                "MedicationAdministration?patient={P}&code={}",
                [Drug::Denosumab, Drug::ZoledronicAcid]
                    .into_iter()
                    .flat_map(|d| crate::codemap::active().drug_codes(d))
                    .map(|(s, c)| format!("{s}|{c}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        ("procedures", format!("Procedure?patient={P}&code={cpt}")),
        (
            "serviceRequests",
            format!("ServiceRequest?patient={P}&code={cpt}"),
        ),
        (
            "imaging",
            format!(
                "ImagingStudy?patient={P}&modality={}",
                tokens(codes::DICOM_DCM, &["MR", "CT", "DX", "CR"])
            ),
        ),
    ];
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// `GET /cds-services`.
pub fn discovery() -> DiscoveryResponse {
    let prefetch = prefetch_templates();
    DiscoveryResponse {
        services: vec![
            Service {
                hook: "patient-view".into(),
                title: Some("OVCF Pathway: vertebral compression fracture care".into()),
                description: "Treatment plan, anti-osteoporosis therapy gaps and safety alerts for patients with osteoporotic vertebral compression fractures (zh/en by Accept-Language).".into(),
                id: PATIENT_VIEW_ID.into(),
                prefetch: prefetch.clone(),
                usage_requirements: Some("Neurological status is not a standard FHIR element: record it as an Observation of https://ovcf-pathway.org/fhir/CodeSystem/ovcf-observation#neurological-deficit, otherwise the treatment plan is withheld.".into()),
                extension: None,
            },
            Service {
                hook: "order-sign".into(),
                title: Some("OVCF Pathway: vertebral augmentation and anti-osteoporosis orders".into()),
                description: "Checks draft vertebroplasty/kyphoplasty ServiceRequests (red flags, MRI, plan) and anti-osteoporosis MedicationRequests (contraindications, sequencing) against the assessment.".into(),
                id: ORDER_SIGN_ID.into(),
                prefetch,
                usage_requirements: None,
                extension: None,
            },
        ],
    }
}

/// Search parameters the templates may use.
const ALLOWED_PARAMS: [&str; 6] = ["patient", "code", "modality", "status", "_sort", "_count"];

/// Problems of a prefetch template against the spec's RECOMMENDED subset (empty = conformant).
pub fn template_problems(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let allowed_tokens = [
        "{{context.patientId}}",
        "{{context.userId}}",
        "{{context.encounterId}}",
        "{{userPractitionerId}}",
        "{{userPractitionerRoleId}}",
        "{{userPatientId}}",
        "{{userRelatedPersonId}}",
    ];
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        let Some(j) = rest[i..].find("}}") else {
            out.push("unterminated token".into());
            break;
        };
        let tok = &rest[i..i + j + 2];
        if !allowed_tokens.contains(&tok) {
            out.push(format!("token {tok} is not a prefetch token"));
        }
        rest = &rest[i + j + 2..];
    }
    let (path, query) = template.split_once('?').unwrap_or((template, ""));
    let segs: Vec<&str> = path.split('/').collect();
    let type_ok = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    match segs.as_slice() {
        [t] if type_ok(t) && !query.is_empty() => {}
        [t, _id] if type_ok(t) && query.is_empty() => {}
        _ => out.push("neither an instance read nor a type-level search".into()),
    }
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let Some((k, v)) = kv.split_once('=') else {
            out.push(format!("parameter without value: {kv}"));
            continue;
        };
        let (name, modifier) = k.split_once(':').map_or((k, None), |(n, m)| (n, Some(m)));
        if !ALLOWED_PARAMS.contains(&name) {
            out.push(format!("parameter {name} outside the recommended subset"));
        }
        if let Some(m) = modifier
            && m != "in"
        {
            out.push(format!("modifier :{m} not allowed"));
        }
        if name == "_count" && v.parse::<u32>().is_err() {
            out.push("_count is not a number".into());
        }
        if name == "_sort" && !matches!(v.trim_start_matches('-'), "date" | "_lastUpdated") {
            out.push(format!("_sort={v} unexpected"));
        }
        if v.is_empty() {
            out.push(format!("{name} has an empty value"));
        }
    }
    out
}
