//! FHIR R4 → AssessmentRequest: equivalence with the JSON contract, missing data, bad values,
//! realistic noise (Synthea) and robustness (property test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use ovcf_core::report::{AssessmentReport, Plan};
use ovcf_core::request::AssessmentRequest;
use ovcf_core::{Date, assess};
use ovcf_fhir::mapping::{IssueCode, IssueSeverity};
use ovcf_fhir::outbound::{fhir_representable, request_to_bundle};
use ovcf_fhir::{assess_mapped, map_bundle};
use proptest::prelude::*;
use serde_json::{Value, json};

#[path = "corpus/real_ehr.rs"]
mod real_ehr;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(p: PathBuf) -> Value {
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn date(s: &str) -> Date {
    Date::parse(s).unwrap_or_else(|| panic!("{s}"))
}

fn vignettes() -> Vec<(String, AssessmentRequest)> {
    let dir = root().join("../../vignettes/public");
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("vignettes")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let v = read_json(p.clone());
        let req: AssessmentRequest = serde_json::from_value(v["request"].clone())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        out.push((
            p.file_name().expect("name").to_string_lossy().to_string(),
            req,
        ));
    }
    assert!(out.len() >= 10);
    out
}

fn decisions(r: &AssessmentReport) -> Value {
    json!({
        "plan": r.treatment.plan, "per_level": r.treatment.per_level,
        "pharmacotherapy": r.pharmacotherapy, "alerts": r.alerts,
        "bone_density": r.bone_density, "risks": r.risks,
    })
}

#[test]
fn fhir_bundle_and_equivalent_request_give_the_same_report() {
    let bundle = read_json(root().join("tests/fixtures/fhir/ovcf-l1-kyphoplasty.bundle.json"));
    let expected: AssessmentRequest = serde_json::from_value(read_json(
        root().join("tests/fixtures/fhir/ovcf-l1-kyphoplasty.request.json"),
    ))
    .expect("request");
    let as_of = date("2026-11-24");
    let m = map_bundle(&bundle, Some("p-100"), as_of);
    assert!(m.errors().next().is_none(), "{:#?}", m.issues);
    assert!(m.missing_required.is_empty());
    let req = m.request.clone().expect("complete request");
    assert_eq!(req, expected);
    let a = assess_mapped(&m).expect("assessed");
    let b = assess(&expected, as_of).expect("assessed");
    assert_eq!(a.report, b);
    assert_eq!(a.report.treatment.plan, Plan::Kyphoplasty);
    assert!(a.withheld.is_empty());
}

#[test]
fn every_public_vignette_round_trips_through_fhir() {
    let mut lossless = 0;
    for (name, original) in vignettes() {
        let as_of = original.as_of.expect("vignettes carry as_of");
        let projected = fhir_representable(&original);
        let bundle = request_to_bundle(&projected, "p1", as_of);
        let m = map_bundle(&bundle, Some("p1"), as_of);
        assert!(m.errors().next().is_none(), "{name}: {:#?}", m.issues);
        let mut expected = projected.clone();
        expected.as_of = Some(as_of);
        assert_eq!(m.request.as_ref(), Some(&expected), "{name}");
        let via_fhir = assess_mapped(&m).expect("assessed").report;
        let via_json = assess(&expected, as_of).expect("assessed");
        assert_eq!(via_fhir, via_json, "{name}");
        // Where FHIR carries everything the vignette gives, the decisions equal the original's.
        if !lossy(&original) {
            lossless += 1;
            let direct = assess(&original, as_of).expect("assessed");
            assert_eq!(decisions(&via_fhir), decisions(&direct), "{name}");
        }
    }
    assert!(
        lossless >= 5,
        "only {lossless} vignettes fully representable"
    );
}

/// Does the request use a field FHIR does not carry with this crate's codes?
fn lossy(r: &AssessmentRequest) -> bool {
    use ovcf_core::request::{Drug, Labs};
    r.phase.is_some()
        || r.preferences.is_some()
        || !r.risk_tools.is_empty()
        || r.labs.is_some_and(|l| {
            l != Labs {
                egfr_ml_min: l.egfr_ml_min,
                ..Labs::default()
            }
        })
        || r.bone_density.as_ref().is_some_and(|b| {
            b.dxa_confounders.is_some() || b.qct_vbmd_mg_cm3.is_some() || b.ct_hu_l1.is_some()
        })
        || r.procedure.as_ref().is_some_and(|p| {
            p.cement_volume_ml.is_some()
                || p.vertebral_body_volume_ml.is_some()
                || p.height_restoration_pct.is_some()
                || p.cement_leakage.is_some()
        })
        || r.fractures.iter().any(|f| f.finding_source.is_some())
        || r.medications.iter().any(|m| {
            matches!(
                m.drug,
                Drug::Opioid | Drug::CalciumVitaminD | Drug::Glucocorticoid | Drug::Paracetamol
            )
        })
}

#[test]
fn missing_neurological_deficit_withholds_only_the_plan() {
    for (name, original) in vignettes() {
        let as_of = original.as_of.expect("as_of");
        let projected = fhir_representable(&original);
        let mut bundle = request_to_bundle(&projected, "p1", as_of);
        let entries = bundle["entry"].as_array_mut().expect("entries");
        entries.retain(|e| e["resource"]["code"]["coding"][0]["code"] != "neurological-deficit");
        let m = map_bundle(&bundle, Some("p1"), as_of);
        assert_eq!(
            m.missing_required,
            vec!["patient.neurological_deficit"],
            "{name}"
        );
        assert!(m.request.is_none());
        let a = assess_mapped(&m).expect("partial assessment");
        let r = &a.report;
        assert_eq!(r.treatment.plan, Plan::InsufficientData, "{name}");
        assert!(
            r.treatment
                .missing
                .iter()
                .any(|p| p == "patient.neurological_deficit")
        );
        assert!(r.treatment.per_level.is_empty() && r.treatment.alternative.is_none());
        assert!(
            r.alerts.iter().all(|x| x.code != "neurological_deficit"),
            "{name}"
        );
        assert!(
            r.recommendations
                .iter()
                .any(|x| x.id == "tx.insufficient_data")
        );
        assert!(
            r.inputs_assumed
                .iter()
                .any(|x| x.path == "patient.neurological_deficit")
        );
        assert_eq!(a.withheld, vec!["patient.neurological_deficit"]);
        // Bone density does not depend on neurology: identical to the full assessment whatever
        // the true value. The drug plan may (rule 11.5: a surgical referral defers a new
        // bisphosphonate or PTH analogue until the surgical decision); when it differs from the
        // full assessment it must be listed as dependent, never shown as a decision.
        let full = assess(&fhir_representable(&original), as_of).expect("assessed");
        assert!(
            !a.dependent_sections.iter().any(|s| s == "bone_density"),
            "{name}: {:?}",
            a.dependent_sections
        );
        assert_eq!(r.bone_density, full.bone_density, "{name}");
        if r.pharmacotherapy != full.pharmacotherapy {
            assert!(
                a.dependent_sections.iter().any(|s| s == "pharmacotherapy"),
                "{name}: the drug plan differs but is not marked dependent"
            );
        }
        // No explanation keeps an assumed neurological value.
        for e in &r.explanation {
            assert!(
                !e.facts.contains_key("neurological_deficit"),
                "{name}: {e:?}"
            );
        }
    }
}

#[test]
fn bad_values_are_reported_with_resource_and_path() {
    let as_of = date("2026-11-24");
    let obs = |id: &str, code: &str, q: Value| {
        json!({"resource": {"resourceType": "Observation", "id": id,
        "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": "2026-11-20", "valueQuantity": q}})
    };
    let bundle = json!({"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1950-01-01"}},
        obs("t-bad", "38267-1", json!({"value": "minus two"})),
        obs("t-range", "38264-8", json!({"value": -9.5})),
        obs("egfr-unit", "98979-8", json!({"value": 1.1, "code": "mg/dL"})),
        {"resource": {"resourceType": "Condition", "id": "c", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "M48.5"}]},
          "bodySite": [{"text": "T12"}], "onsetDateTime": "2027-01-01"}},
        {"resource": {"resourceType": "Observation", "id": "pain", "status": "final",
          "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]}, "valueQuantity": {"value": 12}}},
        {"resource": {"resourceType": "Observation", "id": "wall", "status": "final", "bodySite": {"text": "T12"},
          "code": {"coding": [{"system": "https://ovcf-pathway.org/fhir/CodeSystem/ovcf-observation", "code": "posterior-wall"}]},
          "valueCodeableConcept": {"coding": [{"system": "https://ovcf-pathway.org/fhir/CodeSystem/ovcf-value", "code": "broken"}]}}}
    ]});
    let m = map_bundle(&bundle, Some("p"), as_of);
    let find = |res: &str, path: &str| {
        m.issues
            .iter()
            .find(|i| i.resource == res && i.path == path)
            .unwrap_or_else(|| panic!("no issue for {res} {path}: {:#?}", m.issues))
    };
    assert_eq!(
        find("Observation/t-bad", "valueQuantity.value").code,
        IssueCode::InvalidValue
    );
    assert_eq!(
        find("Observation/t-range", "valueQuantity.value").code,
        IssueCode::OutOfRange
    );
    assert_eq!(
        find("Observation/egfr-unit", "valueQuantity.code").code,
        IssueCode::UnsupportedUnit
    );
    assert_eq!(
        find("Condition/c", "onsetDateTime").code,
        IssueCode::FutureDate
    );
    assert_eq!(
        find("Observation/pain", "valueQuantity.value").code,
        IssueCode::OutOfRange
    );
    assert_eq!(
        find("Observation/wall", "valueCodeableConcept.coding.code").severity,
        IssueSeverity::Error
    );
    // Dropped, never repaired.
    assert!(m.partial.bone_density.is_none());
    assert!(m.partial.labs.is_none());
    let f = &m.partial.fractures[0];
    assert_eq!(
        (f.onset_days, f.pain_vas, f.posterior_wall),
        (None, None, None)
    );
    // Messages carry no patient values.
    for i in &m.issues {
        assert!(
            !i.message.contains("minus two") && !i.message.contains("-9.5"),
            "{i:?}"
        );
    }
    let oo = m.operation_outcome();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert!(oo["issue"].as_array().expect("issues").len() >= 6);
}

#[test]
fn latest_wins_and_same_day_conflicts_are_not_guessed() {
    let as_of = date("2026-11-24");
    let t = |id: &str, day: &str, v: f64| {
        json!({"resource": {"resourceType": "Observation", "id": id, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "38267-1"}]}, "effectiveDateTime": day,
        "valueQuantity": {"value": v}}})
    };
    let b = json!({"resourceType": "Bundle", "entry": [t("a", "2025-01-01", -1.0), t("b", "2026-01-01", -2.0)]});
    let m = map_bundle(&b, None, as_of);
    assert_eq!(
        m.partial
            .bone_density
            .and_then(|b| b.dxa)
            .and_then(|d| d.lumbar_spine_t),
        Some(-2.0)
    );
    let b = json!({"resourceType": "Bundle", "entry": [t("a", "2026-01-01", -1.0), t("b", "2026-01-01", -2.0)]});
    let m = map_bundle(&b, None, as_of);
    assert!(m.partial.bone_density.is_none());
    assert!(m.issues.iter().any(|i| i.code == IssueCode::Conflict));
    // Future observations are not used for an earlier as_of.
    let b = json!({"resourceType": "Bundle", "entry": [t("a", "2027-01-01", -1.0)]});
    assert!(map_bundle(&b, None, as_of).partial.bone_density.is_none());
}

#[test]
fn other_patients_resources_are_ignored() {
    let as_of = date("2026-11-24");
    let b = json!({"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "1940-05-05"}},
        {"resource": {"resourceType": "Patient", "id": "q", "gender": "female", "birthDate": "1960-05-05"}},
        {"resource": {"resourceType": "Observation", "id": "o", "status": "final", "subject": {"reference": "Patient/q"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "38267-1"}]}, "valueQuantity": {"value": -3.0}}}
    ]});
    let m = map_bundle(&b, Some("p"), as_of);
    assert_eq!(m.partial.patient.age, Some(86));
    assert!(m.partial.bone_density.is_none());
    assert!(m.issues.iter().any(|i| i.code == IssueCode::OtherPatient));
    // Without a patient id two different Patients are an error, not a pick.
    let m = map_bundle(&b, None, as_of);
    assert!(m.partial.patient.age.is_none());
    assert!(
        m.issues
            .iter()
            .any(|i| i.code == IssueCode::MultiplePatients)
    );
}

#[test]
fn synthea_bundles_map_without_error_and_report_what_is_missing() {
    let as_of = date("2026-11-24");
    for name in [
        "Johnnie679_Hermiston71_2cd30bd6-3a87-4191-af90-6daa70f58f55.json",
        "Luna60_McCullough561_6662f0ca-b617-4e02-8f55-7275e9f49aa0.json",
    ] {
        let b = read_json(root().join("tests/fixtures/synthea").join(name));
        let m = map_bundle(&b, None, as_of);
        assert!(m.request.is_none(), "{name}");
        assert!(
            m.missing_required.contains(&"fractures".to_string()),
            "{name}"
        );
        assert!(
            m.missing_required
                .contains(&"patient.neurological_deficit".to_string())
        );
        // Born 2009 / 2008: 17 (outside the engine's adult range — reported, not assessed) / 18.
        let child = name.starts_with("Johnnie");
        assert_eq!(
            m.missing_required.contains(&"patient.age".to_string()),
            child,
            "{name}"
        );
        assert_eq!(m.partial.patient.age, if child { None } else { Some(18) });
        assert_eq!(
            child,
            m.issues
                .iter()
                .any(|i| i.code == IssueCode::OutOfRange && i.path == "birthDate")
        );
        assert_eq!(m.partial.patient.sex, Some(ovcf_core::request::Sex::Female));
        assert!(m.errors().all(|i| i.path == "birthDate"), "{:#?}", m.issues);
        assert!(m.partial.fractures.is_empty() && m.partial.medications.is_empty());
        // On an earlier date with the age in range nothing else fails either.
        assert!(matches!(
            assess_mapped(&m),
            Err(ovcf_fhir::FhirAssessError::Insufficient(_))
        ));
        let oo = m.operation_outcome();
        assert!(oo["issue"].as_array().is_some_and(|i| !i.is_empty()));
    }
    // FHIR example Condition f201 (invalid R4: category is an object): read without failing.
    let c = read_json(root().join("tests/fixtures/synthea/Condition_f201.json"));
    let m = map_bundle(&c, None, as_of);
    assert!(m.partial.fractures.is_empty());
}

#[test]
fn draft_orders_and_drafts_are_not_patient_history() {
    let as_of = date("2026-11-24");
    let b = json!({"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "MedicationRequest", "id": "d", "status": "draft", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "M05BX04"}]},
            "authoredOn": "2026-11-24"}},
        {"resource": {"resourceType": "MedicationRequest", "id": "s", "status": "stopped", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "M05BA04"}]},
            "authoredOn": "2024-11-24"}}
    ]});
    let m = map_bundle(&b, None, as_of);
    assert!(m.partial.medications.is_empty());
    assert!(
        m.issues
            .iter()
            .any(|i| i.resource == "MedicationRequest/s" && i.path == "status")
    );
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-zA-Z0-9 .:/|{}_-]{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("Observation"),
            Just("Condition"),
            Just("Patient"),
            Just("Bundle"),
            Just("MedicationStatement"),
            Just("MedicationRequest"),
            Just("Procedure"),
            Just("ServiceRequest"),
            Just("ImagingStudy"),
            Just("2026-11-24"),
            Just("L1"),
            Just("http://loinc.org"),
            Just("38267-1"),
            Just("72514-3"),
            Just("M80.08"),
            Just("http://hl7.org/fhir/sid/icd-10"),
            Just("http://www.whocc.no/atc"),
            Just("M05BX04"),
            Just("https://ovcf-pathway.org/fhir/CodeSystem/ovcf-observation"),
            Just("neurological-deficit"),
            Just("final"),
            Just("active"),
            Just("female"),
            Just("1950-01-01"),
            Just("22514")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        let keys = prop_oneof![
            Just("resourceType".to_string()),
            Just("entry".to_string()),
            Just("resource".to_string()),
            Just("code".to_string()),
            Just("coding".to_string()),
            Just("system".to_string()),
            Just("valueQuantity".to_string()),
            Just("value".to_string()),
            Just("bodySite".to_string()),
            Just("text".to_string()),
            Just("onsetDateTime".to_string()),
            Just("status".to_string()),
            Just("birthDate".to_string()),
            Just("gender".to_string()),
            Just("effectivePeriod".to_string()),
            Just("start".to_string()),
            Just("end".to_string()),
            Just("series".to_string()),
            Just("modality".to_string()),
            Just("medicationCodeableConcept".to_string()),
            Just("valueCodeableConcept".to_string()),
            Just("subject".to_string()),
            Just("reference".to_string()),
            Just("id".to_string()),
            "[a-z]{1,6}".prop_map(|s| s)
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_json_never_panics(v in json_value(), pid in proptest::option::of("[a-z]{1,3}")) {
        let m = map_bundle(&v, pid.as_deref(), Date::parse("2026-11-24").expect("date"));
        let _ = assess_mapped(&m);
        let _ = m.operation_outcome();
    }

    #[test]
    fn mutated_valid_bundles_never_panic(path_seed in any::<u64>(), replacement in json_value()) {
        let bundle = read_json(root().join("tests/fixtures/fhir/ovcf-l1-kyphoplasty.bundle.json"));
        let mut b = bundle.clone();
        // Replace one node chosen by the seed.
        let mut nodes = Vec::new();
        collect_pointers(&b, String::new(), &mut nodes);
        let ptr = &nodes[(path_seed % nodes.len() as u64) as usize];
        if let Some(slot) = b.pointer_mut(ptr) {
            *slot = replacement;
        }
        let m = map_bundle(&b, Some("p-100"), Date::parse("2026-11-24").expect("date"));
        let _ = assess_mapped(&m);
    }
}

fn collect_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| collect_pointers(x, format!("{at}/{i}"), out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            collect_pointers(
                x,
                format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        _ => {}
    }
}

/// api-v1: a fracture Condition coded without a vertebral level (no `bodySite`) is a required
/// field with no FHIR source. The level is never guessed: the engine runs at stand-in levels
/// covering every rule-relevant group, keeps what all runs agree on (drug plan, bone density,
/// alerts), withholds the plan, and names no stand-in level anywhere.
#[test]
fn fracture_without_a_level_withholds_the_plan_but_keeps_the_drug_plan() {
    let as_of = date("2026-11-27");
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-05-01"}},
        {"resource": {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "M80.08"}]},
            "onsetDateTime": "2026-11-17"}},
        {"resource": {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "38267-1"}]},
            "valueQuantity": {"value": -3.1}, "effectiveDateTime": "2026-11-22"}},
        {"resource": {"resourceType": "Observation", "id": "o2", "status": "final", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "98979-8"}]},
            "valueQuantity": {"value": 25, "unit": "mL/min/{1.73_m2}"}, "effectiveDateTime": "2026-11-24"}}
    ]});
    let m = map_bundle(&bundle, Some("p1"), as_of);
    assert!(m.request.is_none());
    assert!(m.missing_required.iter().any(|p| p == "fractures[].level"));
    assert_eq!(m.partial.unlevelled_fractures, vec![Some(10)]);
    let a = assess_mapped(&m).expect("partial assessment");
    let r = &a.report;
    assert_eq!(r.treatment.plan, Plan::InsufficientData);
    assert!(r.treatment.missing.iter().any(|p| p == "fractures[].level"));
    assert!(
        r.fractures.is_empty(),
        "stand-in levels must not be reported"
    );
    // eGFR 25: bisphosphonates and PTH analogues avoided, denosumab first, CKD-MBD work-up.
    assert_eq!(
        r.pharmacotherapy.recommended.first(),
        Some(&ovcf_core::request::Drug::Denosumab)
    );
    let codes: Vec<&str> = r.alerts.iter().map(|x| x.code.as_str()).collect();
    assert!(codes.contains(&"renal_contraindication"), "{codes:?}");
    assert!(codes.contains(&"no_antiosteoporosis_therapy"), "{codes:?}");
    for x in &r.alerts {
        for level in ["T2", "T7", "T11", "L1", "L3", "L5"] {
            let named = |t: &str| {
                t.split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|w| w == level)
            };
            assert!(!named(&x.message.en) && !named(&x.message.zh), "{x:?}");
        }
    }
}
