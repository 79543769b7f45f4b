//! Data-driven clinical vignettes: every case under `vignettes/public` (copied from the shared
//! sample) and `vignettes/own` (ours) runs through the library, and each expectation is checked with
//! the semantics of `shared/vignettes/check.py` (dotted paths, `name[*]`, `name[0]`,
//! `name[key=value]`; `contains`, `not_contains`, `in`, `min`, `max`, `exists`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use ovcf_core::Date;
use serde_json::Value;

fn resolve<'a>(doc: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut values = vec![doc];
    for step in path.split('.') {
        let (name, sel) = match step.find('[') {
            Some(i) => (&step[..i], Some(step[i + 1..].trim_end_matches(']'))),
            None => (step, None),
        };
        let mut next = Vec::new();
        for v in values {
            let Some(item) = v.get(name) else { continue };
            match sel {
                None => next.push(item),
                Some(sel) => {
                    let Some(arr) = item.as_array() else { continue };
                    if sel == "*" {
                        next.extend(arr.iter());
                    } else if let Ok(i) = sel.parse::<usize>() {
                        next.extend(arr.get(i));
                    } else if let Some((k, want)) = sel.split_once('=') {
                        next.extend(arr.iter().filter(|x| match x.get(k) {
                            Some(Value::String(s)) => s == want,
                            // check.py compares str(value): numbers and booleans as text.
                            #[allow(clippy::cmp_owned)]
                            Some(other) => other.to_string() == want,
                            None => false,
                        }));
                    }
                }
            }
        }
        values = next;
    }
    values
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if !a.is_boolean() && !b.is_boolean() => (x - y).abs() <= 1e-6,
        _ => a == b,
    }
}

fn check(report: &Value, path: &str, exp: &Value) -> Result<(), String> {
    let found = resolve(report, path);
    let keys = ["contains", "not_contains", "in", "min", "max", "exists"];
    if let Some(obj) = exp
        .as_object()
        .filter(|o| !o.is_empty() && o.keys().all(|k| keys.contains(&k.as_str())))
    {
        let pool: Vec<&Value> = if path.contains("[*]") {
            found.clone()
        } else {
            match found.first().and_then(|v| v.as_array()) {
                Some(arr) => arr.iter().collect(),
                None => found.clone(),
            }
        };
        let mut problems = Vec::new();
        if let Some(e) = obj.get("exists").and_then(Value::as_bool)
            && found.is_empty() == e
        {
            problems.push(format!("exists={}", !found.is_empty()));
        }
        for x in obj
            .get("contains")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !pool.iter().any(|y| same(x, y)) {
                problems.push(format!("missing {x} in {pool:?}"));
            }
        }
        for x in obj
            .get("not_contains")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if pool.iter().any(|y| same(x, y)) {
                problems.push(format!("unexpected {x}"));
            }
        }
        if obj.contains_key("in") || obj.contains_key("min") || obj.contains_key("max") {
            match found.first() {
                None => problems.push("no value".into()),
                Some(v) => {
                    if let Some(list) = obj.get("in").and_then(Value::as_array)
                        && !list.iter().any(|x| same(v, x))
                    {
                        problems.push(format!("got {v}"));
                    }
                    let lo = obj.get("min").and_then(Value::as_f64);
                    let hi = obj.get("max").and_then(Value::as_f64);
                    if lo.is_some() || hi.is_some() {
                        let ok = v.as_f64().is_some_and(|x| {
                            lo.is_none_or(|l| x >= l - 1e-9) && hi.is_none_or(|h| x <= h + 1e-9)
                        });
                        if !ok {
                            problems.push(format!("got {v}"));
                        }
                    }
                }
            }
        }
        return if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        };
    }
    match found.first() {
        None => Err("no value".into()),
        Some(v) if same(v, exp) => Ok(()),
        Some(v) => Err(format!("got {v}")),
    }
}

fn cases(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../vignettes")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn run(dir: &str) -> usize {
    run_filtered(dir, &[], &[])
}

/// Runs the vignettes of `dir` whose id is in `ids` (all when empty), checking only the
/// expectations whose path starts with one of `only` (all when empty), like check.py `--only`.
fn run_filtered(dir: &str, ids: &[&str], only: &[&str]) -> usize {
    let today = Date::new(2026, 11, 27).unwrap();
    let mut failures = Vec::new();
    let files: Vec<PathBuf> = cases(dir)
        .into_iter()
        .filter(|p| {
            ids.is_empty()
                || p.file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(|s| ids.contains(&s))
        })
        .collect();
    for file in &files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let id = v["id"].as_str().unwrap_or("?");
        let request = serde_json::to_string(&v["request"]).unwrap();
        let report = match ovcf_core::assess_json(&request, today) {
            Ok(r) => serde_json::to_value(r).unwrap(),
            Err(e) => {
                failures.push(format!("{id}: {e:?}"));
                continue;
            }
        };
        for a in report["alerts"].as_array().unwrap() {
            for lang in ["zh", "en"] {
                let msg = a["message"][lang].as_str().unwrap_or("");
                if msg.contains('{') || msg.contains('}') || msg.is_empty() {
                    failures.push(format!(
                        "{id}: alert {} has an unfilled text: {msg}",
                        a["code"]
                    ));
                }
            }
        }
        for (path, exp) in v["expect"].as_object().unwrap() {
            if !only.is_empty() && !only.iter().any(|p| path.starts_with(p)) {
                continue;
            }
            if let Err(why) = check(&report, path, exp) {
                failures.push(format!("{id}: {path}: expected {exp}, {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    files.len()
}

#[test]
fn public_vignettes_pass_in_full() {
    assert!(run("public") >= 15);
}

/// The public vignettes about drugs (decision rules 11.2–11.5, 11.15, 11.18, 11.21), checked on
/// the drug plan's fields (the follow-up calendar and the summary's visit are the risk rules').
#[test]
fn drug_vignettes_pass() {
    let ids = [
        "r3-egfr-29-denosumab-deferred",
        "r3-zol-renal-calcium-unknown",
        "r3-teriparatide-24-month-date",
        "renal-egfr-25",
        "denosumab-exit-transition",
        "denosumab-overdue-poor-adherence",
        "teriparatide-25-months",
        "hypocalcaemia-deferred",
        "pkp-fit-l1-wedge",
    ];
    let only = [
        "pharmacotherapy",
        "alerts",
        "summary.drug",
        "risks.very_high_fracture_risk",
    ];
    assert_eq!(run_filtered("public", &ids, &only), ids.len());
}

#[test]
fn own_vignettes_pass_in_full() {
    assert!(run("own") >= 1);
}

#[test]
fn the_checker_itself_fails_on_a_wrong_expectation() {
    let report = serde_json::json!({"treatment": {"plan": "conservative", "workup": ["mri"]},
        "alerts": [{"code": "a"}, {"code": "b"}]});
    assert!(check(&report, "treatment.plan", &serde_json::json!("kyphoplasty")).is_err());
    assert!(
        check(
            &report,
            "treatment.workup",
            &serde_json::json!({"contains": ["ct"]})
        )
        .is_err()
    );
    assert!(
        check(
            &report,
            "alerts[*].code",
            &serde_json::json!({"contains": ["a", "b"]})
        )
        .is_ok()
    );
    assert!(check(&report, "alerts[code=b].code", &serde_json::json!("b")).is_ok());
    assert!(
        check(
            &report,
            "treatment.missing",
            &serde_json::json!({"exists": true})
        )
        .is_err()
    );
}
