//! Tidy rules of the knowledge base, run as tests: the data parses and is internally consistent,
//! every id the code uses exists in the data, every alert code of the contract has a text, and the
//! version is derived from the content.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use ovcf_core::knowledge::{FILES, Knowledge};

/// The fixed alert codes of assessment-v1 (v1, revision 2 and revision 3).
const CONTRACT_ALERTS: [&str; 29] = [
    "xray_only_diagnosis",
    "dxa_may_be_falsely_normal",
    "suspected_pathological_fracture",
    "neurological_deficit",
    "posterior_wall_retropulsion",
    "nsaid_over_3_weeks",
    "denosumab_overdue",
    "denosumab_poor_adherence",
    "teriparatide_limit",
    "bisphosphonate_holiday_review",
    "renal_contraindication",
    "cement_volume_exceeds_30pct",
    "cement_volume_outside_range",
    "height_restoration_over_90pct",
    "no_antiosteoporosis_therapy",
    "chronic_fracture_limited_benefit",
    "unstable_fracture",
    "augmentation_contraindicated",
    "anticoagulation_periprocedural",
    "hypocalcaemia",
    "hypercalcaemia",
    "vitamin_d_deficiency",
    "ckd_mbd_workup",
    "no_suitable_drug",
    "denosumab_last_dose_unknown",
    "cement_leakage_spinal_canal",
    "cement_leakage_venous",
    // Revision 3, drug rules (11.3, 11.15); `mscc_suspected` and `of_score_plan_disagreement` come
    // with their rules.
    "pre_dose_checks_pending",
    "very_high_fracture_risk",
];

/// Revision 3 alert codes of the periop area (assessment-v1 "New alert codes"; rules 11.7, 11.19).
const R3_PERIOP_ALERTS: [&str; 2] = ["mscc_suspected", "of_score_plan_disagreement"];

fn kb() -> &'static Knowledge {
    Knowledge::embedded().unwrap_or_else(|e| panic!("knowledge base does not load: {e}"))
}

/// Every string literal passed to `recommend(…)`, `alert(…)` or `alert_with(…)` in the rules.
fn ids_used_in_code() -> (BTreeSet<String>, BTreeSet<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut recs = BTreeSet::new();
    let mut alerts = BTreeSet::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let compact: String = text.split_whitespace().collect::<Vec<_>>().join("");
            for (needle, is_alert) in [
                (".recommend(\"", false),
                (".alert(\"", true),
                (".alert_with(\"", true),
            ] {
                for part in compact.split(needle).skip(1) {
                    if let Some(end) = part.find('"') {
                        let set = if is_alert { &mut alerts } else { &mut recs };
                        set.insert(part[..end].to_owned());
                    }
                }
            }
            // Recommendation ids handed around as values (e.g. procedure branches).
            for part in compact.split('"') {
                let looks_like_id = [
                    "dx.", "bmd.", "tx.", "periop.", "drug.", "risk.", "fu.", "proc.", "score.",
                    "care.",
                ]
                .iter()
                .any(|p| part.starts_with(p))
                    && part.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
                    });
                if looks_like_id {
                    recs.insert(part.to_owned());
                }
            }
        }
    }
    (recs, alerts)
}

#[test]
fn knowledge_base_loads_and_is_consistent() {
    let k = kb();
    assert!(k.version.starts_with("kb-"));
    assert!(k.recommendations().count() >= 50);
}

#[test]
fn every_id_the_code_uses_exists_in_the_data() {
    let k = kb();
    let (recs, alerts) = ids_used_in_code();
    assert!(recs.len() > 40, "scanner found too few ids: {recs:?}");
    let missing: Vec<_> = recs
        .iter()
        .filter(|id| k.recommendation(id).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "recommendation ids used but not defined: {missing:?}"
    );
    let missing: Vec<_> = alerts.iter().filter(|c| k.alert(c).is_none()).collect();
    assert!(
        missing.is_empty(),
        "alert codes used but not defined: {missing:?}"
    );
    let unknown: Vec<_> = alerts
        .iter()
        .filter(|c| !CONTRACT_ALERTS.contains(&c.as_str()))
        .filter(|c| !R3_PERIOP_ALERTS.contains(&c.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "alert codes outside the contract's fixed list: {unknown:?}"
    );
}

#[test]
fn every_contract_alert_code_has_both_texts() {
    let k = kb();
    for code in CONTRACT_ALERTS {
        let a = k
            .alert(code)
            .unwrap_or_else(|| panic!("alert {code} undefined"));
        assert!(!a.zh.trim().is_empty() && !a.en.trim().is_empty(), "{code}");
    }
}

#[test]
fn every_recommendation_has_a_defined_source_and_both_languages() {
    let k = kb();
    for r in k.recommendations() {
        assert!(!r.sources.is_empty(), "{} has no source", r.id);
        for s in &r.sources {
            assert!(k.source(s).is_some(), "{} cites undefined {s}", r.id);
        }
        assert!(!r.zh.is_empty() && !r.en.is_empty(), "{}", r.id);
        assert!(
            r.quality.is_some() == r.strength.is_some(),
            "{}: GRADE quality and strength go together",
            r.id
        );
    }
    for (name, t) in k.thresholds.iter() {
        assert!(!t.sources.is_empty(), "threshold {name} has no source");
        for s in &t.sources {
            assert!(
                k.source(s).is_some(),
                "threshold {name} cites undefined {s}"
            );
        }
    }
}

#[test]
fn recommendations_used_by_the_code_are_all_that_the_data_holds() {
    // Dead knowledge is a smell: every recommendation in the data is reachable from some rule.
    let k = kb();
    let (recs, _) = ids_used_in_code();
    let mut reachable = recs.clone();
    for a in k.alerts() {
        reachable.extend(a.recommendations.iter().cloned());
    }
    let unused: Vec<_> = k
        .recommendations()
        .map(|r| r.id.clone())
        .filter(|id| !reachable.contains(id))
        .collect();
    assert!(
        unused.is_empty(),
        "recommendations no rule fires: {unused:?}"
    );
}

#[test]
fn the_version_changes_with_the_content() {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for (name, text) in FILES {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    let hex: String = h
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(kb().version, format!("kb-{hex}"));
    let mut h = sha2::Sha256::new();
    h.update(b"edited");
    let other: String = h
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_ne!(format!("kb-{other}"), kb().version);
}
