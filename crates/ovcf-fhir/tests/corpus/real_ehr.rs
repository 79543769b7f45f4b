//! Issue 11: real EHR data. A corpus built from public FHIR material — the Synthea R4 bundle of
//! `cql-exec-fhir` (Luna) with the project's L1 OVCF resources added to it, the HL7 FHIR R4 example
//! `observation-example-bmd` — and one real-world variation at a time, each with its expected
//! mapping and decision. `corpus_summary` prints how many cases map completely, partially or not
//! at all.

use ovcf_core::report::{AvoidReason, Plan};
use ovcf_core::request::{Drug, Level};
use ovcf_fhir::cards::Lang;
use ovcf_fhir::codemap::{self, CodeMap, Field, FractureKind};
use ovcf_fhir::mapping::{IssueCode, MappedRequest, map_resources_with};
use ovcf_fhir::quality;
use ovcf_fhir::{assess_mapped, map_bundle, order_sign_cards, patient_view_cards_for};
use serde_json::{Value, json};

use super::{date, read_json, root};

const AS_OF: &str = "2026-11-24";
const LUNA: &str = "Luna60_McCullough561_6662f0ca-b617-4e02-8f55-7275e9f49aa0.json";

fn luna() -> (Value, String) {
    let mut b = read_json(root().join("tests/fixtures/synthea").join(LUNA));
    let pid = b["entry"]
        .as_array()
        .and_then(|e| {
            e.iter()
                .find(|x| x["resource"]["resourceType"] == "Patient")
                .and_then(|x| x["resource"]["id"].as_str())
        })
        .unwrap()
        .to_string();
    // Variation 0 (every case): the Synthea patient is an adult (born 1958).
    for e in b["entry"].as_array_mut().unwrap() {
        if e["resource"]["resourceType"] == "Patient" {
            e["resource"]["birthDate"] = json!("1958-03-02");
        }
    }
    (b, pid)
}

/// Synthea Luna (adult) with the L1 OVCF resources of `ovcf-l1-kyphoplasty.bundle.json`.
fn base() -> (Value, String) {
    let (mut b, pid) = luna();
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/fhir/ovcf-l1-kyphoplasty.bundle.json"))
            .unwrap()
            .replace("Patient/p-100", &format!("Patient/{pid}"));
    let ovcf: Value = serde_json::from_str(&text).unwrap();
    let add: Vec<Value> = ovcf["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] != "Patient")
        .cloned()
        .collect();
    b["entry"].as_array_mut().unwrap().extend(add);
    (b, pid)
}

fn res_mut<'a>(b: &'a mut Value, id: &str) -> &'a mut Value {
    b["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["resource"]["id"] == id)
        .map(|e| &mut e["resource"])
        .unwrap_or_else(|| panic!("no resource {id}"))
}

fn remove(b: &mut Value, ids: &[&str]) {
    b["entry"]
        .as_array_mut()
        .unwrap()
        .retain(|e| !ids.iter().any(|id| e["resource"]["id"] == *id));
}

fn add(b: &mut Value, r: Value) {
    b["entry"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "resource": r }));
}

fn obs(id: &str, pid: &str, system: &str, code: &str, day: &str, value: Value) -> Value {
    let mut o = json!({
        "resourceType": "Observation", "id": id, "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": format!("Patient/{pid}")},
        "effectiveDateTime": day,
    });
    if let Value::Object(m) = value {
        for (k, v) in m {
            o[k] = v;
        }
    }
    o
}

fn map(b: &Value, pid: &str) -> MappedRequest {
    map_bundle(b, Some(pid), date(AS_OF))
}

fn has_issue(m: &MappedRequest, code: IssueCode, field: &str) -> bool {
    m.issues
        .iter()
        .any(|i| i.code == code && i.field.as_deref() == Some(field))
}

fn egfr(m: &MappedRequest) -> Option<f64> {
    m.partial.labs.and_then(|l| l.egfr_ml_min)
}

#[test]
fn base_case_maps_completely_with_synthea_noise() {
    let (b, pid) = base();
    let m = map(&b, &pid);
    let req = m.request.clone().expect("complete request");
    assert_eq!(req.patient.age, 68);
    assert_eq!(req.fractures.len(), 1);
    assert_eq!(req.fractures[0].level, Level::L1);
    assert_eq!(req.fractures[0].pain_vas, Some(8.0));
    assert_eq!(egfr(&m), Some(72.0));
    let dxa = req.bone_density.and_then(|b| b.dxa).unwrap();
    assert_eq!(
        (dxa.lumbar_spine_t, dxa.femoral_neck_t),
        (Some(-2.9), Some(-2.4))
    );
    // Synthea's pain scores of 2009–2019 are before the fracture's onset: reported, not used.
    assert!(has_issue(&m, IssueCode::BeforeOnset, Field::Pain.path()));
    let a = assess_mapped(&m).unwrap();
    assert_eq!(a.report.treatment.plan, Plan::Kyphoplasty);
}

/// Variations of the eGFR Observation: (case, change, expected eGFR, issue code when not read).
#[test]
fn egfr_units_codes_statuses_and_dates() {
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change, Option<f64>, Option<IssueCode>)> = vec![
        (
            "unit text only, superscript",
            Box::new(|o| o["valueQuantity"] = json!({"value": 72, "unit": "mL/min/1.73m²"})),
            Some(72.0),
            None,
        ),
        (
            "unit text with a space",
            Box::new(|o| o["valueQuantity"] = json!({"value": 72, "unit": "mL/min/1.73 m2"})),
            Some(72.0),
            None,
        ),
        (
            "mL/min (LOINC is per 1.73 m²)",
            Box::new(|o| {
                o["valueQuantity"] = json!({"value": 72, "unit": "ml/min", "code": "mL/min"})
            }),
            Some(72.0),
            None,
        ),
        (
            "SI mL/s/{1.73_m2}",
            Box::new(
                |o| o["valueQuantity"] = json!({"value": 1.2, "system": "http://unitsofmeasure.org", "code": "mL/s/{1.73_m2}"}),
            ),
            Some(72.0),
            None,
        ),
        (
            "LOINC 98980-6 (cr + cys)",
            Box::new(|o| o["code"]["coding"][0]["code"] = json!("98980-6")),
            Some(72.0),
            None,
        ),
        (
            "LOINC 48643-1 (MDRD, black)",
            Box::new(|o| o["code"]["coding"][0]["code"] = json!("48643-1")),
            Some(72.0),
            None,
        ),
        (
            "LOINC 88294-4",
            Box::new(|o| o["code"]["coding"][0]["code"] = json!("88294-4")),
            Some(72.0),
            None,
        ),
        (
            "LOINC 50044-7",
            Box::new(|o| o["code"]["coding"][0]["code"] = json!("50044-7")),
            Some(72.0),
            None,
        ),
        (
            "LOINC system as OID",
            Box::new(|o| o["code"]["coding"][0]["system"] = json!("urn:oid:2.16.840.1.113883.6.1")),
            Some(72.0),
            None,
        ),
        (
            "valueString",
            Box::new(|o| {
                o.as_object_mut().unwrap().remove("valueQuantity");
                o["valueString"] = json!("72");
            }),
            None,
            Some(IssueCode::UnreadableValue),
        ),
        (
            "censored >60",
            Box::new(|o| o["valueQuantity"]["comparator"] = json!(">")),
            None,
            Some(IssueCode::UnreadableValue),
        ),
        (
            "unit mg/dL",
            Box::new(|o| {
                o["valueQuantity"] = json!({"value": 72, "unit": "mg/dL", "code": "mg/dL"})
            }),
            None,
            Some(IssueCode::UnsupportedUnit),
        ),
        (
            "preliminary",
            Box::new(|o| o["status"] = json!("preliminary")),
            None,
            Some(IssueCode::NotFinal),
        ),
        (
            "stale (7 months)",
            Box::new(|o| o["effectiveDateTime"] = json!("2026-04-20")),
            None,
            Some(IssueCode::Stale),
        ),
        (
            "undated",
            Box::new(|o| {
                o.as_object_mut().unwrap().remove("effectiveDateTime");
            }),
            None,
            Some(IssueCode::Stale),
        ),
    ];
    for (name, change, want, code) in cases {
        let (mut b, pid) = base();
        change(res_mut(&mut b, "o-egfr"));
        let m = map(&b, &pid);
        assert_eq!(egfr(&m), want, "{name}: {:#?}", m.issues);
        if let Some(c) = code {
            assert!(
                has_issue(&m, c, Field::Egfr.path()),
                "{name}: {:#?}",
                m.issues
            );
            // Absent renal function is reported as absent, never defaulted…
            assert!(
                has_issue(&m, IssueCode::Absent, Field::Egfr.path()),
                "{name}"
            );
            // …and shown to the clinician in the plan card (en and zh).
            let a = assess_mapped(&m).unwrap();
            for (lang, word) in [(Lang::En, "eGFR"), (Lang::Zh, "eGFR")] {
                let mut cards = patient_view_cards_for(&a, lang, "https://app", &pid);
                quality::append_to_plan_card(&mut cards, &m, lang);
                let plan = cards
                    .iter()
                    .find(|c| c.source.topic.as_ref().is_some_and(|t| t.code == "plan"))
                    .unwrap();
                let d = plan.detail.as_deref().unwrap();
                assert!(
                    d.contains(word) && d.contains("[Observation/o-egfr]"),
                    "{name}: {d}"
                );
            }
            // The engine was told "unknown", so it asks for renal function (rule 11.3 / 5.x).
            assert!(
                a.report
                    .inputs_assumed
                    .iter()
                    .any(|i| i.path == "labs.egfr_ml_min"),
                "{name}"
            );
        }
    }
}

#[test]
fn egfr_entered_in_error_is_ignored_and_race_free_wins_the_same_day() {
    let (mut b, pid) = base();
    res_mut(&mut b, "o-egfr")["status"] = json!("entered-in-error");
    assert_eq!(egfr(&map(&b, &pid)), None);
    // Two race-specific values and a race-free one on the same day: the race-free one is used.
    let (mut b, pid) = base();
    for (id, code, v) in [("e-b", "48643-1", 80), ("e-nb", "48642-3", 66)] {
        add(
            &mut b,
            obs(
                id,
                &pid,
                "http://loinc.org",
                code,
                "2026-11-23",
                json!({"valueQuantity": {"value": v, "code": "mL/min/{1.73_m2}"}}),
            ),
        );
    }
    assert_eq!(egfr(&map(&b, &pid)), Some(72.0));
    // Only the two race-specific values (different ranks): the non-black equation is used.
    remove(&mut b, &["o-egfr"]);
    assert_eq!(egfr(&map(&b, &pid)), Some(66.0));
}

#[test]
fn egfr_25_stops_zoledronic_acid_coded_in_rxnorm_and_unknown_renal_asks_for_it() {
    let (mut b, pid) = base();
    res_mut(&mut b, "o-egfr")["valueQuantity"]["value"] = json!(25);
    let m = map(&b, &pid);
    assert_eq!(egfr(&m), Some(25.0));
    let a = assess_mapped(&m).unwrap();
    assert!(
        a.report
            .pharmacotherapy
            .avoid
            .iter()
            .any(|x| x.drug == Drug::ZoledronicAcid
                && x.reason == AvoidReason::RenalContraindication)
    );
    let draft = json!({"resourceType": "MedicationRequest", "id": "d1", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "705824", "display": "zoledronic acid 0.05 MG/ML Injectable Solution"}]},
        "subject": {"reference": format!("Patient/{pid}")}});
    let req = ovcf_fhir::request_for_orders(&m).unwrap();
    let cards = order_sign_cards(std::slice::from_ref(&draft), &a.report, &req, Lang::En);
    assert_eq!(cards.len(), 1);
    assert_eq!(
        cards[0].source.topic.as_ref().unwrap().code,
        "renal_contraindication"
    );
    // The same order with the eGFR unreadable (text): a card asks for renal function.
    let (mut b, pid) = base();
    let o = res_mut(&mut b, "o-egfr");
    o.as_object_mut().unwrap().remove("valueQuantity");
    o["valueString"] = json!("25");
    let m = map(&b, &pid);
    let a = assess_mapped(&m).unwrap();
    let req = ovcf_fhir::request_for_orders(&m).unwrap();
    let cards = order_sign_cards(std::slice::from_ref(&draft), &a.report, &req, Lang::Zh);
    assert_eq!(cards.len(), 1, "{cards:#?}");
    assert_eq!(
        cards[0].source.topic.as_ref().unwrap().code,
        "renal_function_unknown"
    );
    assert!(cards[0].summary.contains("肾功能未知"));
    // ATC and a contained Medication coded only in RxNorm are read the same way.
    let contained = json!({"resourceType": "MedicationRequest", "id": "d2", "status": "draft", "intent": "order",
        "contained": [{"resourceType": "Medication", "id": "m", "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "77655"}]}}],
        "medicationReference": {"reference": "#m"}});
    assert_eq!(
        ovcf_fhir::mapping::medication_drug(&contained),
        Some(Drug::ZoledronicAcid)
    );
}

#[test]
fn alendronate_coded_only_in_rxnorm_is_current_therapy() {
    let (mut b, pid) = base();
    let before = assess_mapped(&map(&b, &pid)).unwrap();
    assert!(
        before
            .report
            .alerts
            .iter()
            .any(|a| a.code == "no_antiosteoporosis_therapy")
    );
    for code in ["46041", "904431"] {
        let mut b2 = b.clone();
        add(
            &mut b2,
            json!({"resourceType": "MedicationStatement", "id": "ms-aln", "status": "active",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}], "text": "alendronate 70 mg weekly"},
            "subject": {"reference": format!("Patient/{pid}")}, "effectivePeriod": {"start": "2025-06-01"}}),
        );
        let m = map(&b2, &pid);
        assert!(
            m.partial
                .medications
                .iter()
                .any(|x| x.drug == Drug::Alendronate),
            "{code}"
        );
        let a = assess_mapped(&m).unwrap();
        assert!(
            !a.report
                .alerts
                .iter()
                .any(|x| x.code == "no_antiosteoporosis_therapy"),
            "{code}"
        );
    }
    add(
        &mut b,
        json!({"resourceType": "MedicationStatement", "id": "x", "status": "active"}),
    );
}

#[test]
fn t_score_codes_panels_and_the_hl7_bmd_example() {
    let set = |b: &mut Value, pid: &str, extra: Vec<Value>| {
        remove(b, &["o-ls", "o-ls-old", "o-fn"]);
        for e in extra {
            add(b, e);
        }
        let _ = pid;
    };
    let t = |v: f64| json!({"valueQuantity": {"value": v, "unit": "{T-score}"}});
    let (b0, pid) = base();
    let dxa = |b: &Value| map(b, &pid).partial.bone_density.and_then(|x| x.dxa);
    let l = "http://loinc.org";
    // Hip, left (80946-7) → total hip.
    let mut b = b0.clone();
    set(
        &mut b,
        &pid,
        vec![obs("h-l", &pid, l, "80946-7", "2026-11-22", t(-3.1))],
    );
    assert_eq!(dxa(&b).and_then(|d| d.total_hip_t), Some(-3.1));
    // Left and right on the same day → the lower.
    set(
        &mut b,
        &pid,
        vec![obs("h-r", &pid, l, "80945-9", "2026-11-22", t(-2.2))],
    );
    assert_eq!(dxa(&b).and_then(|d| d.total_hip_t), Some(-3.1));
    // Femur, left (80948-3) with a femoral-neck text site → femoral neck.
    let mut b = b0.clone();
    let mut fl = obs("f-l", &pid, l, "80948-3", "2026-11-22", t(-2.7));
    fl["bodySite"] = json!({"text": "Left femoral neck"});
    set(&mut b, &pid, vec![fl]);
    assert_eq!(dxa(&b).and_then(|d| d.femoral_neck_t), Some(-2.7));
    // 38263-0 without a bodySite: region unknown → reported, not used.
    let mut b = b0.clone();
    set(
        &mut b,
        &pid,
        vec![obs("f-x", &pid, l, "38263-0", "2026-11-22", t(-3.1))],
    );
    let m = map(&b, &pid);
    assert_eq!(m.partial.bone_density, None);
    assert!(has_issue(
        &m,
        IssueCode::MissingLevel,
        Field::FemoralNeckT.path()
    ));
    // 104938-6 (spine, region not stated) → lumbar spine.
    let mut b = b0.clone();
    set(
        &mut b,
        &pid,
        vec![obs("s", &pid, l, "104938-6", "2026-11-22", t(-3.1))],
    );
    assert_eq!(dxa(&b).and_then(|d| d.lumbar_spine_t), Some(-3.1));
    // DXA panel 83311-1 with T-scores in component → read; the decision changes with it.
    let mut b = b0.clone();
    let mut panel = obs("p", &pid, l, "83311-1", "2026-11-22", json!({}));
    panel["component"] = json!([
        {"code": {"coding": [{"system": l, "code": "38267-1"}]}, "valueQuantity": {"value": -3.1, "unit": "{T-score}"}},
        {"code": {"coding": [{"system": l, "code": "24966-4"}]}, "valueQuantity": {"value": 0.71, "unit": "g/cm2"}},
        {"code": {"coding": [{"system": l, "code": "38264-8"}]}, "valueQuantity": {"value": -1.9, "unit": "{T-score}"}}
    ]);
    set(&mut b, &pid, vec![panel]);
    let m = map(&b, &pid);
    let d = m.partial.bone_density.clone().and_then(|x| x.dxa).unwrap();
    assert_eq!((d.lumbar_spine_t, d.total_hip_t), (Some(-3.1), Some(-1.9)));
    assert!(
        m.issues
            .iter()
            .any(|i| i.code == IssueCode::KnownUnused && i.path == "component[1].code")
    );
    let with_panel = assess_mapped(&m).unwrap().report.bone_density;
    let mut none = b0.clone();
    set(&mut none, &pid, vec![]);
    let without = assess_mapped(&map(&none, &pid))
        .unwrap()
        .report
        .bone_density;
    assert_ne!(with_panel.dxa_category, without.dxa_category);
    assert_eq!(with_panel.lowest_t_score, Some(-3.1));
    // HL7 FHIR R4 example observation-example-bmd (BMD in g/cm²): known, reported, not a T-score.
    let mut bmd = read_json(root().join("tests/fixtures/hl7/observation-example-bmd.json"));
    bmd["subject"]["reference"] = json!(format!("Patient/{pid}"));
    bmd["effectiveDateTime"] = json!("2026-11-22");
    let mut b = b0.clone();
    set(&mut b, &pid, vec![bmd]);
    let m = map(&b, &pid);
    assert_eq!(m.partial.bone_density, None);
    assert!(
        m.issues
            .iter()
            .any(|i| i.code == IssueCode::KnownUnused && i.resource == "Observation/bmd")
    );
    // A DXA older than 2 years is stale.
    let mut b = b0.clone();
    set(
        &mut b,
        &pid,
        vec![obs("old", &pid, l, "38267-1", "2024-01-10", t(-3.1))],
    );
    let m = map(&b, &pid);
    assert_eq!(m.partial.bone_density, None);
    assert!(has_issue(&m, IssueCode::Stale, Field::LumbarT.path()));
}

#[test]
fn pain_counts_only_on_or_after_onset_at_its_level_and_recent() {
    let (b0, pid) = base();
    let pain = |b: &Value| {
        map(b, &pid)
            .partial
            .fractures
            .first()
            .and_then(|f| f.pain_vas)
    };
    let score = |v: f64| json!({"valueQuantity": {"value": v, "code": "{score}"}});
    let l = "http://loinc.org";
    let mut b = b0.clone();
    remove(&mut b, &["o-pain", "o-pain-old"]);
    // Synthea's own pain scores are years old; an 8-year-old score without a bodySite:
    add(
        &mut b,
        obs("p-old", &pid, l, "72514-3", "2018-11-20", score(3.0)),
    );
    let m = map(&b, &pid);
    assert_eq!(pain(&b), None);
    assert!(
        m.issues
            .iter()
            .any(|i| i.resource == "Observation/p-old" && i.code == IssueCode::BeforeOnset)
    );
    // The plan no longer rests on it: pain is unknown (insufficient data, not "conservative").
    let a = assess_mapped(&m).unwrap();
    assert!(
        a.report.treatment.plan != Plan::Conservative,
        "{:?}",
        a.report.treatment.plan
    );
    // After onset (fracture 2026-11-14) and recent: used.
    add(
        &mut b,
        obs("p-new", &pid, l, "72514-3", "2026-11-20", score(6.0)),
    );
    assert_eq!(pain(&b), Some(6.0));
    // After onset but at another level: not this fracture's pain.
    let mut b = b0.clone();
    remove(&mut b, &["o-pain", "o-pain-old"]);
    let mut other = obs("p-t12", &pid, l, "72514-3", "2026-11-20", score(6.0));
    other["bodySite"] = json!({"text": "T12"});
    add(&mut b, other);
    assert_eq!(pain(&b), None);
    // 38208-5 (older pain severity code) reads like 72514-3.
    add(
        &mut b,
        obs("p-38208", &pid, l, "38208-5", "2026-11-23", score(5.0)),
    );
    assert_eq!(pain(&b), Some(5.0));
}

#[test]
fn fracture_codes_dotless_other_osteoporosis_oid_and_traumatic() {
    let cases: Vec<(&str, &str, bool)> = vec![
        ("http://hl7.org/fhir/sid/icd-10-cm", "M8008XA", true),
        ("http://hl7.org/fhir/sid/icd-10-cm", "M80.88XA", true),
        ("urn:oid:2.16.840.1.113883.6.90", "M80.08XD", true),
        ("http://hl7.org/fhir/sid/icd-10", "M80.08", true),
        ("http://hl7.org/fhir/sid/icd-10-cm", "M48.56XA", true),
        ("http://snomed.info/sct", "42942008", true),
        ("http://hl7.org/fhir/sid/icd-10-cm", "M81.0", false),
    ];
    for (system, code, fracture) in cases {
        let (mut b, pid) = base();
        res_mut(&mut b, "c-1")["code"] = json!({"coding": [{"system": system, "code": code}]});
        let m = map(&b, &pid);
        assert_eq!(!m.partial.fractures.is_empty(), fracture, "{system} {code}");
    }
    // Traumatic S32.010A: not assessed as OVCF, reported; one data-quality card, 200.
    let (mut b, pid) = base();
    res_mut(&mut b, "c-1")["code"] =
        json!({"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S32.010A"}]});
    let m = map(&b, &pid);
    assert!(m.partial.fractures.is_empty());
    assert_eq!(m.partial.traumatic_fractures, 1);
    assert!(has_issue(&m, IssueCode::NotAssessed, "fractures"));
    assert_eq!(
        quality::no_assessment(&m),
        quality::NoAssessment::TraumaticOnly
    );
    let cards = quality::no_assessment_cards(&m, Lang::En);
    assert_eq!(cards.len(), 1);
    assert!(cards[0].summary.contains("traumatic"));
}

#[test]
fn a_patient_without_a_vertebral_fracture_gets_no_cards() {
    let (b, pid) = luna();
    let m = map(&b, &pid);
    assert!(assess_mapped(&m).is_err());
    assert_eq!(
        quality::no_assessment(&m),
        quality::NoAssessment::NoFracture
    );
    assert!(quality::no_assessment_cards(&m, Lang::Zh).is_empty());
    // The extension still carries what was read.
    let ext = quality::extension(&m);
    assert!(ext[quality::EXTENSION_KEY]["issues"].is_array());
    assert!(
        ext[quality::EXTENSION_KEY]["code_map_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2026.1-"))
    );
}

#[test]
fn units_convert_and_other_labs_are_read() {
    let (mut b, pid) = base();
    let l = "http://loinc.org";
    add(
        &mut b,
        obs(
            "vd",
            &pid,
            l,
            "62292-8",
            "2026-11-20",
            json!({"valueQuantity": {"value": 20, "unit": "ng/mL", "code": "ng/mL"}}),
        ),
    );
    add(
        &mut b,
        obs(
            "ca",
            &pid,
            l,
            "17861-6",
            "2026-11-20",
            json!({"valueQuantity": {"value": 9.2, "unit": "mg/dL", "code": "mg/dL"}}),
        ),
    );
    add(
        &mut b,
        obs(
            "ctx",
            &pid,
            l,
            "41171-0",
            "2026-11-20",
            json!({"valueQuantity": {"value": 450, "unit": "pg/mL", "code": "pg/mL"}}),
        ),
    );
    add(
        &mut b,
        obs(
            "cr",
            &pid,
            l,
            "2160-0",
            "2026-11-20",
            json!({"valueQuantity": {"value": 1.1, "code": "mg/dL"}}),
        ),
    );
    let m = map(&b, &pid);
    let labs = m.partial.labs.unwrap();
    assert_eq!(labs.vitamin_d_nmol_l, Some(49.92));
    assert_eq!(labs.calcium_mmol_l, Some(2.3));
    assert_eq!(labs.ctx_ng_ml, Some(0.45));
    assert!(
        m.issues
            .iter()
            .any(|i| i.code == IssueCode::KnownUnused && i.resource == "Observation/cr")
    );
    // A calcium unit that cannot be converted is refused, never guessed.
    add(
        &mut b,
        obs(
            "ca2",
            &pid,
            l,
            "2000-8",
            "2026-11-21",
            json!({"valueQuantity": {"value": 2.3, "unit": "mg"}}),
        ),
    );
    let m = map(&b, &pid);
    assert!(
        m.issues
            .iter()
            .any(|i| i.resource == "Observation/ca2" && i.code == IssueCode::UnsupportedUnit)
    );
    assert_eq!(m.partial.labs.unwrap().calcium_mmol_l, Some(2.3));
}

/// Every code of the map round-trips to its field (observations, drugs, fracture conditions).
#[test]
fn every_code_in_the_map_round_trips_to_its_field() {
    assert!(
        codemap::builtin_problems().is_empty(),
        "{:#?}",
        codemap::builtin_problems()
    );
    let cm = CodeMap::builtin();
    let pid = "p";
    let as_of = date(AS_OF);
    let patient = json!({"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1950-01-01"});
    let fracture = json!({"resourceType": "Condition", "id": "c", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M80.08XA"}]},
        "bodySite": [{"text": "L1"}], "onsetDateTime": "2026-11-14"});
    for (system, code, def) in cm.observation_entries() {
        let (lo, hi) = def.field.range();
        let v = ((lo + hi) / 2.0 * 10.0).round() / 10.0;
        let unit = match def.field {
            Field::Egfr => "mL/min/{1.73_m2}",
            f => cm.canonical_unit(f),
        };
        let mut o = obs(
            "o",
            pid,
            &system,
            &code,
            "2026-11-22",
            json!({"valueQuantity": {"value": v, "code": unit}}),
        );
        if def.needs_site.is_some() {
            o["bodySite"] = json!({"text": "femoral neck"});
        }
        let rs = [&patient, &fracture, &o];
        let m = map_resources_with(cm, &rs, Some(pid), as_of);
        let p = &m.partial;
        let labs = p.labs.unwrap_or_default();
        let dxa = p
            .bone_density
            .as_ref()
            .and_then(|b| b.dxa)
            .unwrap_or_default();
        let got = match def.field {
            Field::Egfr => labs.egfr_ml_min,
            Field::Crcl => labs.crcl_ml_min,
            Field::Calcium => labs.calcium_mmol_l,
            Field::VitaminD => labs.vitamin_d_nmol_l,
            Field::P1np => labs.p1np_ug_l,
            Field::Ctx => labs.ctx_ng_ml,
            Field::LumbarT => dxa.lumbar_spine_t,
            Field::FemoralNeckT => dxa.femoral_neck_t,
            Field::TotalHipT => dxa.total_hip_t,
            Field::Pain => p.fractures[0].pain_vas,
        };
        assert_eq!(
            got,
            Some(v),
            "{system} {code} -> {}: {:#?}",
            def.field.path(),
            m.issues
        );
    }
    for (system, code, drug) in cm.drug_entries() {
        let ms = json!({"resourceType": "MedicationStatement", "id": "m", "status": "active",
            "medicationCodeableConcept": {"coding": [{"system": system, "code": code}]}, "effectiveDateTime": "2026-01-01"});
        let rs = [&patient, &ms];
        let m = map_resources_with(cm, &rs, Some(pid), as_of);
        assert!(
            m.partial.medications.iter().any(|x| x.drug == drug),
            "{system} {code} -> {drug:?}"
        );
    }
    for (system, code, kind) in cm.condition_entries() {
        let c = json!({"resourceType": "Condition", "id": "c", "code": {"coding": [{"system": system, "code": code}]}, "bodySite": [{"text": "L2"}]});
        let rs = [&patient, &c];
        let m = map_resources_with(cm, &rs, Some(pid), as_of);
        match kind {
            FractureKind::Osteoporotic => {
                assert_eq!(m.partial.fractures.len(), 1, "{system} {code}")
            }
            FractureKind::Traumatic => {
                assert_eq!(m.partial.traumatic_fractures, 1, "{system} {code}")
            }
        }
    }
    assert_eq!(
        cm.fracture("http://hl7.org/fhir/sid/icd-10-cm", "S22.000A"),
        Some(FractureKind::Traumatic)
    );
    // ATC classes: the longest prefix wins (COX-2 before NSAID).
    assert_eq!(
        cm.drug("http://www.whocc.no/atc", "M01AH01"),
        Some(Drug::Cox2Inhibitor)
    );
    assert_eq!(
        cm.drug("http://www.whocc.no/atc", "M01AE01"),
        Some(Drug::Nsaid)
    );
}

#[test]
fn prefetch_templates_come_from_the_map() {
    let t = ovcf_fhir::discovery::prefetch_templates();
    for code in ["98980-6", "48643-1", "88293-6", "50044-7", "35591-7"] {
        assert!(t["egfr"].contains(code), "{code}");
    }
    for code in ["80946-7", "80948-3", "104938-6", "83311-1"] {
        assert!(t["dxa"].contains(code), "{code}");
    }
    assert!(t["labs"].contains("29265-6") && t["pain"].contains("38208-5"));
    assert!(t["medicationAdministrations"].contains("rxnorm|705824"));
    for (k, v) in &t {
        assert!(ovcf_fhir::discovery::template_problems(v).is_empty(), "{k}");
    }
}

#[test]
fn a_hospital_overlay_adds_local_codes_and_cannot_remap() {
    let overlay = r#"
[[system]]
key = "hosp-formulary"
uri = "urn:oid:2.16.840.1.999999.1"
sources = ["L1"]
status = "local"

[[drug]]
drug = "alendronate"
local = [{ system = "hosp-formulary", codes = ["XJ-0042"] }]
sources = ["L1"]
status = "local"

[[source]]
id = "L1"
citation = "Hospital formulary 2026"
"#;
    let cm = CodeMap::with_overlay(overlay).unwrap();
    assert!(cm.version().contains("+local-"));
    let patient = json!({"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1950-01-01"});
    let ms = json!({"resourceType": "MedicationStatement", "id": "m", "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": "urn:oid:2.16.840.1.999999.1", "code": "XJ-0042"}]}, "effectiveDateTime": "2026-01-01"});
    let rs = [&patient, &ms];
    let m = map_resources_with(&cm, &rs, Some("p"), date(AS_OF));
    assert_eq!(m.partial.medications[0].drug, Drug::Alendronate);
    // Without the overlay the code is unknown.
    let m = map_resources_with(CodeMap::builtin(), &rs, Some("p"), date(AS_OF));
    assert!(m.partial.medications.is_empty());
    // Re-mapping an ATC code, or changing units, is refused.
    let bad = r#"
[[drug]]
drug = "risedronate"
atc = ["M05BA04"]
sources = ["L1"]
status = "local"
[[source]]
id = "L1"
citation = "x"
"#;
    assert!(CodeMap::with_overlay(bad).is_err());
    assert!(CodeMap::with_overlay("[[unit]]\nfield = \"labs.egfr_ml_min\"\ncanonical = \"x\"\nunitless_ok = true\naccept = []\nsources = []\n").is_err());
}

/// No card shows a catalogue key, in any language, across the corpus.
#[test]
fn cards_show_no_catalogue_keys() {
    let (b0, pid) = base();
    let mut variants = vec![b0.clone()];
    let mut v = b0.clone();
    res_mut(&mut v, "o-egfr")["valueQuantity"]["code"] = json!("mg/dL");
    res_mut(&mut v, "o-egfr")["valueQuantity"]["unit"] = json!("mg/dL");
    variants.push(v);
    let mut v = b0.clone();
    res_mut(&mut v, "c-1")["code"] =
        json!({"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S22.000A"}]});
    variants.push(v);
    let mut v = b0.clone();
    res_mut(&mut v, "c-1")
        .as_object_mut()
        .unwrap()
        .remove("bodySite");
    variants.push(v);
    for b in variants {
        let m = map(&b, &pid);
        for lang in [Lang::Zh, Lang::En] {
            let cards = match assess_mapped(&m) {
                Ok(a) => {
                    let mut c = patient_view_cards_for(&a, lang, "https://app", &pid);
                    quality::append_to_plan_card(&mut c, &m, lang);
                    c
                }
                Err(_) => quality::no_assessment_cards(&m, lang),
            };
            for c in cards {
                let text = format!("{} {}", c.summary, c.detail.unwrap_or_default());
                for key in [
                    "dq_field.",
                    "dq_reason.",
                    "field.",
                    "card.",
                    "order.",
                    "plan.",
                    "drug.",
                    "workup.",
                    "avoid_reason.",
                ] {
                    assert!(!text.contains(key), "{key} in {text}");
                }
            }
        }
    }
}

/// How many corpus cases map completely, partially (with which issues) or not at all.
#[test]
fn corpus_summary() {
    let (b0, pid) = base();
    let mut cases: Vec<(&str, Value)> = vec![("base", b0.clone()), ("synthea only", luna().0)];
    let mut v = b0.clone();
    res_mut(&mut v, "o-egfr")["valueQuantity"] = json!({"value": 72, "unit": "mL/min/1.73m²"});
    cases.push(("egfr unit text", v));
    let mut v = b0.clone();
    res_mut(&mut v, "o-egfr")["status"] = json!("preliminary");
    cases.push(("egfr preliminary", v));
    let mut v = b0.clone();
    res_mut(&mut v, "c-1")
        .as_object_mut()
        .unwrap()
        .remove("bodySite");
    cases.push(("fracture without level", v));
    let mut v = b0.clone();
    res_mut(&mut v, "c-1")["code"]["coding"][0]["code"] = json!("M8008XA");
    cases.push(("dotless ICD-10-CM", v));
    let (mut complete, mut partial, mut none) = (0, 0, 0);
    for (name, b) in &cases {
        let m = map(b, &pid);
        let warn = quality::clinician_issues(&m).len();
        match (m.request.is_some(), assess_mapped(&m).is_ok()) {
            (true, _) if warn == 0 => complete += 1,
            (_, true) => partial += 1,
            _ => none += 1,
        }
        eprintln!(
            "corpus {name}: request={} issues_for_clinician={warn}",
            m.request.is_some()
        );
        for lang in [Lang::En, Lang::Zh] {
            for l in quality::lines(&m, lang) {
                eprintln!("    {l}");
            }
        }
    }
    eprintln!("corpus: {complete} complete, {partial} partial, {none} not assessed");
    assert_eq!(complete + partial + none, cases.len());
    assert_eq!(
        none, 1,
        "only the Synthea patient without OVCF is not assessed"
    );
}
