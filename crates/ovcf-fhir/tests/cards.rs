//! Cards: patient-view and order-sign, zh/en, limits, and the discovery response.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use ovcf_core::request::AssessmentRequest;
use ovcf_core::{Date, assess};
use ovcf_fhir::cards::{SUMMARY_LIMIT, catalogue_has, catalogue_problems};
use ovcf_fhir::cds::{ActionType, Card, SelectionBehavior, card_problems};
use ovcf_fhir::discovery::template_problems;
use ovcf_fhir::{Indicator, Lang, discovery, order_sign_cards, patient_view_cards};
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn vignette(name: &str) -> AssessmentRequest {
    let p = root()
        .join("../../vignettes/public")
        .join(format!("{name}.json"));
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&p).expect("vignette")).expect("json");
    serde_json::from_value(v["request"].clone()).expect("request")
}

fn all_vignettes() -> Vec<(String, AssessmentRequest)> {
    let mut out: Vec<(String, AssessmentRequest)> =
        std::fs::read_dir(root().join("../../vignettes/public"))
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| {
                let name = p.file_stem().expect("stem").to_string_lossy().to_string();
                (name.clone(), vignette(&name))
            })
            .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn check_card(c: &Card) {
    assert!(
        card_problems(c).is_empty(),
        "{:?}: {c:#?}",
        card_problems(c)
    );
    assert!(c.summary.chars().count() < SUMMARY_LIMIT);
    assert!(c.uuid.is_some());
}

#[test]
fn catalogue_is_sound_and_every_used_key_exists() {
    assert!(
        catalogue_problems().is_empty(),
        "{:?}",
        catalogue_problems()
    );
    // Every literal key the card code looks up.
    let src = include_str!("../src/cards.rs");
    let mut checked = 0;
    for (i, _) in src.match_indices('(') {
        let before = &src[..i];
        let ident: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident != "t" && ident != "ft" {
            continue;
        }
        let rest = src[i + 1..].trim_start();
        let Some(rest) = rest.strip_prefix('"') else {
            continue;
        };
        let Some((section, rest)) = rest.split_once('"') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix(',') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let Some((key, _)) = rest.split_once('"') else {
            continue;
        };
        assert!(
            catalogue_has(section, key),
            "missing catalogue key [{section}] {key}"
        );
        checked += 1;
    }
    assert!(checked > 30, "{checked}");
    for f in [
        "patient.neurological_deficit",
        "patient.age",
        "patient.sex",
        "fractures",
    ] {
        assert!(catalogue_has("field", f));
    }
}

#[test]
fn accept_language() {
    assert_eq!(Lang::from_accept_language(None), Lang::Zh);
    assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
    assert_eq!(
        Lang::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")),
        Lang::Zh
    );
    assert_eq!(
        Lang::from_accept_language(Some("fr-FR, en;q=0.5, zh;q=0.4")),
        Lang::En
    );
    assert_eq!(Lang::from_accept_language(Some("de")), Lang::Zh);
    assert_eq!(
        Lang::from_accept_language(Some("en;q=0, zh;q=0.1")),
        Lang::Zh
    );
    assert_eq!(Lang::from_accept_language(Some(";;;,q=")), Lang::Zh);
}

#[test]
fn patient_view_cards_for_every_vignette() {
    for (name, req) in all_vignettes() {
        let as_of = req.as_of.expect("as_of");
        let report = assess(&req, as_of).expect("assessed");
        for lang in [Lang::Zh, Lang::En] {
            let cards = patient_view_cards(&report, lang, "https://ovcf.example.org/", "pat/1 x");
            assert!(!cards.is_empty() && cards.len() <= 5, "{name}");
            for c in &cards {
                check_card(c);
                assert_eq!(c.links.len(), 1);
                assert_eq!(
                    c.links[0].url,
                    "https://ovcf.example.org/patients/pat%2F1%20x"
                );
            }
            // Most urgent first.
            assert!(
                cards.windows(2).all(|w| w[0].indicator >= w[1].indicator),
                "{name}"
            );
            // The plan card is always there.
            assert_eq!(
                cards
                    .iter()
                    .filter(|c| c.source.topic.as_ref().is_some_and(|t| t.code == "plan"))
                    .count(),
                1,
                "{name}"
            );
            // Each alert shown is at its severity; critical alerts are never dropped for info.
            let criticals = report
                .alerts
                .iter()
                .filter(|a| a.severity == ovcf_core::report::Severity::Critical)
                .count();
            let shown = cards
                .iter()
                .filter(|c| c.indicator == Indicator::Critical)
                .count();
            assert_eq!(shown, criticals.min(4), "{name}");
            if lang == Lang::Zh {
                let plan = cards
                    .iter()
                    .find(|c| c.source.topic.as_ref().is_some_and(|t| t.code == "plan"))
                    .expect("plan");
                assert!(plan.summary.starts_with("治疗方案"), "{}", plan.summary);
            }
        }
    }
}

#[test]
fn patient_view_in_english_has_english_summaries() {
    let req = vignette("denosumab-overdue-poor-adherence");
    let report = assess(&req, req.as_of.expect("as_of")).expect("assessed");
    let cards = patient_view_cards(&report, Lang::En, "https://x", "1");
    assert_eq!(cards[0].indicator, Indicator::Critical);
    assert!(
        cards
            .iter()
            .all(|c| c.summary.is_ascii() || c.summary.contains('…') || c.summary.contains('–')),
        "{cards:#?}"
    );
    let zh = patient_view_cards(&report, Lang::Zh, "https://x", "1");
    assert!(zh.iter().all(|c| !c.summary.is_ascii()), "{zh:#?}");
}

fn draft_sr(code: &str, level: &str) -> Value {
    json!({"resourceType": "ServiceRequest", "id": "sr-1", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]},
        "bodySite": [{"text": level}]})
}

fn draft_mr(atc: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "id": "mr-1", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/p"},
        "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": atc}]}})
}

fn sign(name: &str, drafts: &[Value], lang: Lang) -> Vec<Card> {
    let req = vignette(name);
    let report = assess(&req, req.as_of.expect("as_of")).expect("assessed");
    let cards = order_sign_cards(drafts, &report, &req, lang);
    for c in &cards {
        check_card(c);
    }
    cards
}

fn assert_critical_with_choices(c: &Card) {
    assert_eq!(c.indicator, Indicator::Critical, "{c:#?}");
    assert_eq!(c.selection_behavior, Some(SelectionBehavior::AtMostOne));
    assert!(!c.suggestions.is_empty());
    assert!(!c.override_reasons.is_empty());
    assert!(
        c.suggestions[0]
            .actions
            .iter()
            .any(|a| a.kind == ActionType::Delete)
    );
}

#[test]
fn augmentation_order_with_red_flags_is_critical() {
    let cards = sign("mscc-urgent-referral", &[draft_sr("22514", "L1")], Lang::En);
    assert_eq!(cards.len(), 1);
    assert_critical_with_choices(&cards[0]);
    let cards = sign("workup-malignancy-l3", &[draft_sr("22511", "L3")], Lang::Zh);
    assert_critical_with_choices(&cards[0]);
}

#[test]
fn augmentation_order_matching_the_plan_has_no_card() {
    assert!(sign("pkp-fit-l1-wedge", &[draft_sr("22514", "L1")], Lang::Zh).is_empty());
    // The other augmentation, which the report names as the alternative: info only.
    let cards = sign("pkp-fit-l1-wedge", &[draft_sr("22511", "L1")], Lang::Zh);
    assert_eq!(cards.len(), 1);
    assert!(cards[0].indicator <= Indicator::Warning);
    // A level not planned.
    let cards = sign("pkp-fit-l1-wedge", &[draft_sr("22514", "L3")], Lang::En);
    assert_eq!(cards[0].indicator, Indicator::Warning);
}

#[test]
fn augmentation_without_mri_warns_and_offers_an_mri() {
    let cards = sign("workup-xray-only-l1", &[draft_sr("22514", "L1")], Lang::En);
    assert_eq!(cards.len(), 1);
    assert!(cards[0].indicator >= Indicator::Warning);
    assert!(
        cards[0]
            .suggestions
            .iter()
            .any(|s| s.actions.iter().any(|a| a.kind == ActionType::Create
                && a.resource
                    .as_ref()
                    .is_some_and(|r| r["resourceType"] == "ServiceRequest")))
    );
}

#[test]
fn conservative_plan_differs_from_an_augmentation_order() {
    let cards = sign("conservative-mild-l2", &[draft_sr("22514", "L2")], Lang::En);
    assert_eq!(cards.len(), 1);
    assert!(cards[0].indicator >= Indicator::Warning, "{cards:#?}");
}

#[test]
fn drug_orders_against_the_drug_plan() {
    // eGFR < 35: bisphosphonates avoided.
    let cards = sign("renal-egfr-25", &[draft_mr("M05BA04")], Lang::En);
    assert_eq!(cards.len(), 1);
    assert_critical_with_choices(&cards[0]);
    // The alternative is a MedicationRequest with an ATC code.
    let alt = cards[0]
        .suggestions
        .iter()
        .flat_map(|s| &s.actions)
        .find(|a| a.kind == ActionType::Create);
    if let Some(a) = alt {
        let r = a.resource.as_ref().expect("resource");
        assert_eq!(
            r["medicationCodeableConcept"]["coding"][0]["system"],
            "http://www.whocc.no/atc"
        );
        assert_eq!(r["status"], "draft");
    }
    // Teriparatide beyond 24 months.
    let cards = sign("teriparatide-25-months", &[draft_mr("H05AA02")], Lang::Zh);
    assert_critical_with_choices(&cards[0]);
    // Denosumab with poor adherence.
    let cards = sign(
        "denosumab-overdue-poor-adherence",
        &[draft_mr("M05BX04")],
        Lang::En,
    );
    assert!(!cards.is_empty());
    // Denosumab → teriparatide.
    let cards = sign(
        "denosumab-exit-transition",
        &[draft_mr("H05AA02")],
        Lang::En,
    );
    assert_eq!(cards.len(), 1);
    assert_critical_with_choices(&cards[0]);
    // A recommended drug with renal function unknown (this vignette has no eGFR/CrCl) and that
    // the engine avoids with low renal function: a warning asks for renal function (issue 11).
    let mut req = vignette("pkp-fit-l1-wedge");
    let report = assess(&req, req.as_of.expect("as_of")).expect("assessed");
    let first = report.pharmacotherapy.recommended[0];
    let atc = ovcf_fhir::codes::drug_atc(first).expect("atc");
    let cards = order_sign_cards(&[draft_mr(atc)], &report, &req, Lang::Zh);
    assert_eq!(cards.len(), 1);
    assert_eq!(
        cards[0].source.topic.as_ref().map(|t| t.code.as_str()),
        Some("renal_function_unknown")
    );
    assert_eq!(cards[0].indicator, ovcf_fhir::Indicator::Warning);
    // With renal function known and normal: no card.
    req.labs = Some(ovcf_core::request::Labs {
        egfr_ml_min: Some(75.0),
        ..req.labs.unwrap_or_default()
    });
    let report = assess(&req, req.as_of.expect("as_of")).expect("assessed");
    let first = report.pharmacotherapy.recommended[0];
    let atc = ovcf_fhir::codes::drug_atc(first).expect("atc");
    assert!(order_sign_cards(&[draft_mr(atc)], &report, &req, Lang::Zh).is_empty());
}

#[test]
fn romosozumab_after_mi_or_stroke() {
    let mut req = vignette("pkp-fit-l1-wedge");
    req.patient.comorbidities = Some(vec![ovcf_core::request::Comorbidity::RecentMiOrStroke]);
    let report = assess(&req, req.as_of.expect("as_of")).expect("assessed");
    let cards = order_sign_cards(&[draft_mr("M05BX06")], &report, &req, Lang::En);
    assert_critical_with_choices(&cards[0]);
}

#[test]
fn spec_order_sign_example_has_no_cards() {
    let p = root().join("tests/fixtures/spec/hook-order-sign-r4-context.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json");
    let drafts: Vec<Value> = ovcf_fhir::fhir::bundle_resources(&v["context"]["draftOrders"])
        .into_iter()
        .cloned()
        .collect();
    assert!(sign("pkp-fit-l1-wedge", &drafts, Lang::Zh).is_empty());
}

#[test]
fn discovery_lists_both_services_with_conformant_templates() {
    let d = discovery();
    let ids: Vec<(&str, &str)> = d
        .services
        .iter()
        .map(|s| (s.id.as_str(), s.hook.as_str()))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("ovcf-patient-view", "patient-view"),
            ("ovcf-order-sign", "order-sign")
        ]
    );
    for s in &d.services {
        for key in [
            "patient",
            "conditions",
            "dxa",
            "egfr",
            "pain",
            "findings",
            "medicationRequests",
            "medicationStatements",
            "procedures",
            "serviceRequests",
            "imaging",
        ] {
            assert!(s.prefetch.contains_key(key), "{key}");
        }
        for (k, t) in &s.prefetch {
            assert!(
                template_problems(t).is_empty(),
                "{k}: {t}: {:?}",
                template_problems(t)
            );
        }
    }
    assert!(d.services[0].prefetch["dxa"].contains("http://loinc.org|38267-1"));
    assert!(
        !template_problems("Observation?patient={{context.patientId}}&code:missing=true")
            .is_empty()
    );
    assert!(!template_problems("Observation?patient={{context.patient.id}}").is_empty());
    assert!(
        !template_problems(
            "Observation?patient={{context.patientId}}&_include=Observation:subject"
        )
        .is_empty()
    );
    let v = serde_json::to_value(&d).expect("json");
    assert!(v["services"][0].get("usageRequirements").is_some());
    let today = Date::parse("2026-11-24").expect("date");
    let _ = today;
}

/// Issue 10 "summary first": the plan card's detail opens with the report's summary, in the
/// report's words, in the card's language.
#[test]
fn plan_card_detail_opens_with_the_summary() {
    let report = assess(
        &vignette("pkp-fit-l1-wedge"),
        Date::new(2026, 11, 24).unwrap(),
    )
    .unwrap();
    for (lang, rlang, heading) in [
        (Lang::Zh, ovcf_report::Lang::Zh, "**摘要**"),
        (Lang::En, ovcf_report::Lang::En, "**Summary**"),
    ] {
        let cards = patient_view_cards(&report, lang, "https://x", "1");
        let plan = cards
            .iter()
            .find(|c| c.source.topic.as_ref().is_some_and(|t| t.code == "plan"))
            .or_else(|| cards.iter().find(|c| c.indicator == Indicator::Info))
            .expect("plan card");
        let detail = plan.detail.as_deref().unwrap_or("");
        assert!(detail.starts_with(heading), "{detail}");
        for line in ovcf_report::summary_lines(&report, rlang) {
            assert!(
                detail.contains(&format!("- **{}**: {}", line.label, line.value)),
                "{detail}"
            );
        }
    }
}
