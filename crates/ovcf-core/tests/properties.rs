//! Property tests: (a) no input, however malformed, panics `assess_json`; (b) every valid request
//! (strategies over every field within its contract range) is assessed, and the report keeps its
//! structural invariants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ovcf_core::report::{FractureClass, Plan, Severity};
use ovcf_core::{AssessError, AssessmentReport, Date, assess_json};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};

mod common;
use common::*;

fn today() -> Date {
    Date::parse("2026-11-24").unwrap()
}

const DRUGS: [&str; 15] = [
    "alendronate",
    "risedronate",
    "ibandronate",
    "zoledronic_acid",
    "denosumab",
    "teriparatide",
    "abaloparatide",
    "romosozumab",
    "calcitonin",
    "nsaid",
    "cox2_inhibitor",
    "opioid",
    "calcium_vitamin_d",
    "glucocorticoid",
    "paracetamol",
];

/// Every key and enumeration value of the contract, to steer random JSON near the real shape.
const WORDS: [&str; 48] = [
    "as_of",
    "phase",
    "patient",
    "fractures",
    "bone_density",
    "labs",
    "medications",
    "procedure",
    "preferences",
    "risk_tools",
    "age",
    "sex",
    "neurological_deficit",
    "asa_class",
    "level",
    "onset_days",
    "pain_vas",
    "imaging",
    "mri",
    "stir",
    "morphometry",
    "anterior_mm",
    "middle_mm",
    "posterior_mm",
    "reference_mm",
    "height_loss_pct",
    "posterior_wall",
    "malignancy_signs",
    "dxa",
    "lumbar_spine_t",
    "egfr_ml_min",
    "calcium_mmol_l",
    "drug",
    "start",
    "end",
    "last_dose",
    "type",
    "date",
    "female",
    "none",
    "L1",
    "T12",
    "denosumab",
    "2026-11-24",
    "2026-02-30",
    "kyphoplasty",
    "hyperintense",
    "retropulsion",
];

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::weighted(0.6, s).boxed()
}

fn put(obj: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        obj.insert(key.to_owned(), v);
    }
}

fn one_decimal(lo: i32, hi: i32) -> impl Strategy<Value = f64> {
    (lo * 10..=hi * 10).prop_map(|x| f64::from(x) / 10.0)
}

fn enum_of(values: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::sample::select(values).prop_map(Value::from)
}

fn subset(values: &'static [&'static str], max: usize) -> impl Strategy<Value = Value> {
    prop::sample::subsequence(values, 0..=max).prop_map(|v| json!(v))
}

fn mri() -> impl Strategy<Value = Value> {
    const SIG: [&str; 3] = ["hypointense", "isointense", "hyperintense"];
    (opt(enum_of(&SIG)), opt(enum_of(&SIG)), opt(enum_of(&SIG))).prop_map(|(t1, t2, stir)| {
        let mut m = Map::new();
        put(&mut m, "t1", t1);
        put(&mut m, "t2", t2);
        put(&mut m, "stir", stir);
        Value::Object(m)
    })
}

fn morphometry() -> impl Strategy<Value = Value> {
    (
        one_decimal(1, 60),
        one_decimal(1, 60),
        one_decimal(1, 60),
        opt(one_decimal(1, 60)),
    )
        .prop_map(|(a, m, p, r)| {
            let mut o = json!({"anterior_mm": a, "middle_mm": m, "posterior_mm": p});
            if let Some(r) = r {
                o["reference_mm"] = json!(r);
            }
            o
        })
}

fn fracture() -> impl Strategy<Value = Map<String, Value>> {
    let a = (
        opt(0u32..=36500),
        opt(prop_oneof![Just(4.9), Just(5.0), one_decimal(0, 10)]),
        opt(prop::sample::subsequence(&["xray", "ct", "mri"][..], 0..=3).prop_map(|v| json!(v))),
        opt(mri()),
        opt(morphometry()),
        opt(prop_oneof![Just(20.0), Just(20.1), one_decimal(0, 100)]),
        opt(one_decimal(-60, 90)),
    );
    let b = (
        opt(enum_of(&["intact", "involved", "retropulsion", "unknown"])),
        opt(any::<bool>()),
        opt(any::<bool>()),
        opt(enum_of(&["OF1", "OF2", "OF3", "OF4", "OF5"])),
        prop::option::weighted(0.15, subset(&SIGNS, 5)),
        opt(any::<bool>()),
        prop::option::weighted(
            0.1,
            (enum_of(&["manual", "ai"]), opt(0.0f64..=1.0)).prop_map(|(m, c)| {
                let mut o = json!({"method": m, "device": "x", "version": "1"});
                if let Some(c) = c {
                    o["confidence"] = json!(c);
                }
                o
            }),
        ),
    );
    (a, b).prop_map(
        |(
            (onset, vas, imaging, mri, morph, loss, angle),
            (wall, breach, cleft, of, signs, prog, src),
        )| {
            let mut f = Map::new();
            put(&mut f, "onset_days", onset.map(Value::from));
            put(&mut f, "pain_vas", vas.map(Value::from));
            put(&mut f, "imaging", imaging);
            put(&mut f, "mri", mri);
            put(&mut f, "morphometry", morph);
            put(&mut f, "height_loss_pct", loss.map(Value::from));
            put(&mut f, "kyphotic_angle_deg", angle.map(Value::from));
            put(&mut f, "posterior_wall", wall);
            put(&mut f, "anterior_cortex_breach", breach.map(Value::from));
            put(&mut f, "intravertebral_cleft", cleft.map(Value::from));
            put(&mut f, "of_type", of);
            put(&mut f, "malignancy_signs", signs);
            put(&mut f, "deformity_progression", prog.map(Value::from));
            put(&mut f, "finding_source", src);
            f
        },
    )
}

fn patient() -> impl Strategy<Value = Value> {
    let a = (
        prop_oneof![Just(80u32), Just(81), 18u32..=120],
        enum_of(&["female", "male"]),
        enum_of(&[
            "none",
            "none",
            "none",
            "radicular",
            "incomplete",
            "complete",
        ]),
        opt(1u8..=5),
        opt(enum_of(&["good", "poor"])),
        opt(subset(&COMORBIDITIES, 14)),
        opt(enum_of(&["good", "poor", "unknown"])),
    );
    let b = (
        opt(0u32..=17),
        opt(0u32..=33),
        opt(any::<bool>()),
        opt(enum_of(&["possible", "not_possible"])),
        opt(0u8..=5),
    );
    (a, b).prop_map(
        |((age, sex, deficit, asa, tol, comorb, adh), (prior_v, extra_f, nonunion, mob, mfi))| {
            let mut p = Map::new();
            p.insert("age".into(), json!(age));
            p.insert("sex".into(), sex);
            p.insert("neurological_deficit".into(), deficit);
            put(&mut p, "asa_class", asa.map(Value::from));
            put(&mut p, "surgical_tolerance", tol);
            put(&mut p, "comorbidities", comorb);
            put(&mut p, "adherence", adh);
            put(
                &mut p,
                "prior_vertebral_fractures",
                prior_v.map(Value::from),
            );
            // prior_vertebral ≤ prior_fragility ≤ 50 when both are given.
            put(
                &mut p,
                "prior_fragility_fractures",
                extra_f.map(|e| json!(prior_v.unwrap_or(0) + e)),
            );
            put(&mut p, "nonunion_risk", nonunion.map(Value::from));
            put(&mut p, "mobilisation_under_analgesia", mob);
            put(&mut p, "modified_frailty_index", mfi.map(Value::from));
            Value::Object(p)
        },
    )
}

fn bone_density() -> impl Strategy<Value = Value> {
    (
        opt((
            opt(one_decimal(-7, 5)),
            opt(one_decimal(-7, 5)),
            opt(prop_oneof![
                Just(-3.0),
                Just(-3.01),
                Just(-2.5),
                one_decimal(-7, 5)
            ]),
        )),
        opt(subset(
            &[
                "degenerative_changes",
                "aortic_calcification",
                "scoliosis",
                "prior_augmentation",
            ],
            4,
        )),
        opt(one_decimal(0, 400)),
        opt(one_decimal(-200, 1000)),
    )
        .prop_map(|(dxa, conf, qct, hu)| {
            let mut b = Map::new();
            if let Some((l, f, h)) = dxa {
                let mut d = Map::new();
                put(&mut d, "lumbar_spine_t", l.map(Value::from));
                put(&mut d, "femoral_neck_t", f.map(Value::from));
                put(&mut d, "total_hip_t", h.map(Value::from));
                b.insert("dxa".into(), Value::Object(d));
            }
            put(&mut b, "dxa_confounders", conf);
            put(&mut b, "qct_vbmd_mg_cm3", qct.map(Value::from));
            put(&mut b, "ct_hu_l1", hu.map(Value::from));
            Value::Object(b)
        })
}

fn labs() -> impl Strategy<Value = Value> {
    (
        opt(prop_oneof![Just(29.9), Just(34.9), one_decimal(0, 200)]),
        opt(one_decimal(0, 250)),
        opt(prop_oneof![
            Just(2.09),
            Just(2.61),
            (50..=500i32).prop_map(|x| f64::from(x) / 100.0)
        ]),
        opt(one_decimal(0, 500)),
        opt(one_decimal(0, 2000)),
        opt(one_decimal(0, 10)),
    )
        .prop_map(|(egfr, crcl, ca, vitd, p1np, ctx)| {
            let mut l = Map::new();
            put(&mut l, "egfr_ml_min", egfr.map(Value::from));
            put(&mut l, "crcl_ml_min", crcl.map(Value::from));
            put(&mut l, "calcium_mmol_l", ca.map(Value::from));
            put(&mut l, "vitamin_d_nmol_l", vitd.map(Value::from));
            put(&mut l, "p1np_ug_l", p1np.map(Value::from));
            put(&mut l, "ctx_ng_ml", ctx.map(Value::from));
            Value::Object(l)
        })
}

/// A medication as offsets: start days before `as_of`, optional end after start (may pass
/// `as_of`), optional last dose between start and min(end, `as_of`).
type MedSpec = (&'static str, i64, Option<i64>, Option<Index>);

fn medication() -> impl Strategy<Value = MedSpec> {
    (
        prop::sample::select(&DRUGS[..]),
        0i64..=4000,
        opt(0i64..=4000),
        opt(any::<Index>()),
    )
}

fn build_med(as_of: Date, (drug, start_before, end_after, last): MedSpec) -> Value {
    let start = as_of.add_days(-start_before);
    let mut m = json!({"drug": drug, "start": start.to_string()});
    let end = end_after.map(|d| start.add_days(d));
    if let Some(e) = end {
        m["end"] = json!(e.to_string());
    }
    if let Some(ix) = last {
        let limit = end.map_or(as_of, |e| e.min(as_of));
        let span = start.days_until(limit).max(0) as usize;
        m["last_dose"] = json!(start.add_days(ix.index(span + 1) as i64).to_string());
    }
    m
}

type ProcSpec = (
    &'static str,
    Index,
    Option<i64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<Value>,
);

fn procedure() -> impl Strategy<Value = ProcSpec> {
    (
        prop::sample::select(&["vertebroplasty", "kyphoplasty"][..]),
        any::<Index>(),
        opt(-60i64..=400),
        opt(one_decimal(0, 30)),
        opt(prop_oneof![
            Just(20.0),
            Just(10.0),
            (1..=1500i32).prop_map(|x| f64::from(x) / 10.0)
        ]),
        opt(one_decimal(0, 150)),
        opt(subset(
            &["intradiscal", "paravertebral", "venous", "spinal_canal"],
            4,
        )),
    )
}

/// A valid request: every field within its contract range, levels unique, medication dates in
/// order and not after `as_of` where the contract says so, a procedure dated whenever 10.14
/// requires it.
fn valid_request() -> impl Strategy<Value = Value> {
    let core = (
        0i64..=3650,
        opt(enum_of(&["initial", "post_procedure", "follow_up"])),
        patient(),
        prop::sample::subsequence(&LEVELS[..], 1..=4),
        prop::collection::vec(fracture(), 4),
    );
    let extra = (
        opt(bone_density()),
        opt(labs()),
        prop::collection::vec(medication(), 0..4),
        prop::option::weighted(0.4, procedure()),
        opt(enum_of(&["rapid_pain_relief", "alignment_restoration"])),
        any::<bool>(),
    );
    (core, extra).prop_map(
        |((day, phase, patient, levels, frs), (bd, labs, meds, proc_, priority, give_as_of))| {
            let as_of = Date::parse("2020-01-01").unwrap().add_days(day);
            let mut root = Map::new();
            // Without `as_of` the caller's today stands in.
            let as_of = if give_as_of {
                root.insert("as_of".into(), json!(as_of.to_string()));
                as_of
            } else {
                today()
            };
            put(&mut root, "phase", phase.clone());
            root.insert("patient".into(), patient);
            let fractures: Vec<Value> = levels
                .iter()
                .zip(frs)
                .map(|(l, mut f)| {
                    f.insert("level".into(), json!(l));
                    Value::Object(f)
                })
                .collect();
            root.insert("fractures".into(), json!(fractures));
            put(&mut root, "bone_density", bd);
            put(&mut root, "labs", labs);
            if !meds.is_empty() {
                let meds: Vec<Value> = meds.into_iter().map(|m| build_med(as_of, m)).collect();
                root.insert("medications".into(), json!(meds));
            }
            if let Some((kind, ix, date, cement, body, restoration, leakage)) = proc_ {
                let mut p = Map::new();
                p.insert("type".into(), json!(kind));
                p.insert("level".into(), json!(levels[ix.index(levels.len())]));
                let initial = phase.as_ref().is_none_or(|p| p == "initial");
                let needs_date = !initial || restoration.is_some() || leakage.is_some();
                let date = date.or(if needs_date { Some(3) } else { None });
                put(
                    &mut p,
                    "date",
                    date.map(|d| json!(as_of.add_days(-d).to_string())),
                );
                put(&mut p, "cement_volume_ml", cement.map(Value::from));
                put(&mut p, "vertebral_body_volume_ml", body.map(Value::from));
                put(
                    &mut p,
                    "height_restoration_pct",
                    restoration.map(Value::from),
                );
                put(&mut p, "cement_leakage", leakage);
                root.insert("procedure".into(), Value::Object(p));
            }
            if let Some(pr) = priority {
                root.insert("preferences".into(), json!({"priority": pr}));
            }
            Value::Object(root)
        },
    )
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        prop_oneof![
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
            Just(-0.0),
            Just(1e308)
        ]
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop::sample::select(&WORDS[..]).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            prop::sample::select(&WORDS[..]).prop_map(str::to_owned),
            "[a-z_]{0,10}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer of a value (the root excluded).
fn pointers(v: &Value, prefix: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{prefix}/{i}");
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        _ => {}
    }
}

/// Replaces (or, with `None`, removes) the value at one pointer.
fn mutate(mut v: Value, pointer: &str, with: Option<Value>) -> Value {
    match with {
        Some(x) => {
            if let Some(slot) = v.pointer_mut(pointer) {
                *slot = x;
            }
        }
        None => {
            let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
            match v.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(key);
                }
                Some(Value::Array(a)) => {
                    if let Some(i) = key.parse::<usize>().ok().filter(|i| *i < a.len()) {
                        a.remove(i);
                    }
                }
                _ => {}
            }
        }
    }
    v
}

const PLANS: [&str; 6] = [
    "conservative",
    "vertebroplasty",
    "kyphoplasty",
    "surgical_referral",
    "further_workup",
    "insufficient_data",
];

fn check_invariants(req: &Value, r: &AssessmentReport) -> Result<(), String> {
    let plan = serde_json::to_value(r.treatment.plan).unwrap();
    if !PLANS.contains(&plan.as_str().unwrap_or("")) {
        return Err(format!("plan {plan} outside the enumeration"));
    }
    let aug = r.treatment.plan.is_augmentation();
    if !r.treatment.per_level.is_empty() && !aug {
        return Err(format!("per_level given for plan {plan}"));
    }
    if aug && r.treatment.per_level.is_empty() {
        return Err("augmentation without a level".into());
    }
    let proc_ = req.get("procedure");
    for lp in &r.treatment.per_level {
        let f = r
            .fractures
            .iter()
            .find(|f| f.level == lp.level)
            .ok_or("per_level names a level not in fractures")?;
        if f.class != FractureClass::Candidate {
            return Err(format!("per_level {} has class {:?}", lp.level, f.class));
        }
        let c = lp.cement.ok_or("per_level without cement")?;
        if c.min_ml > c.max_ml {
            return Err(format!("{}: min {} > max {}", lp.level, c.min_ml, c.max_ml));
        }
        let body = proc_
            .filter(|p| p["level"] == lp.level.as_str())
            .and_then(|p| p["vertebral_body_volume_ml"].as_f64());
        if let Some(vol) = body.filter(|vol| c.max_ml > 0.30 * vol + 1e-9) {
            return Err(format!("{}: max {} > 30 % of {vol}", lp.level, c.max_ml));
        }
    }
    let ids: Vec<&str> = r.recommendations.iter().map(|x| x.id.as_str()).collect();
    for rec in &r.recommendations {
        if rec.sources.is_empty() {
            return Err(format!("recommendation {} without a source", rec.id));
        }
    }
    for a in &r.alerts {
        for id in &a.recommendation_ids {
            if !ids.contains(&id.as_str()) {
                return Err(format!("alert {} names absent recommendation {id}", a.code));
            }
        }
    }
    if r.treatment.plan == Plan::InsufficientData && r.treatment.missing.is_empty() {
        return Err("insufficient_data with nothing missing".into());
    }
    for (i, a) in r.alerts.iter().enumerate() {
        if r.alerts[..i].iter().any(|b| b.code == a.code) {
            return Err(format!("alert {} twice", a.code));
        }
    }
    let rank = |s: Severity| match s {
        Severity::Critical => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    };
    if r.alerts
        .windows(2)
        .any(|w| rank(w[0].severity) > rank(w[1].severity))
    {
        return Err("alerts not sorted by severity".into());
    }
    for f in &r.follow_up {
        if let Some(m) = f.at_months
            && f.due != f.from.add_months(m as i32)
        {
            return Err(format!("follow-up {f:?}: due ≠ from + at_months"));
        }
    }
    if r.risks.cement_leakage.is_some() != aug {
        return Err(format!(
            "cement_leakage {:?} with plan {plan}",
            r.risks.cement_leakage.is_some()
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,200}") {
        let _ = assess_json(&s, today());
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        let _ = assess_json(&v.to_string(), today());
    }

    #[test]
    fn arbitrary_json_under_request_keys_never_panics(
        patient in arb_json(), fractures in arb_json(), rest in arb_json(),
    ) {
        let mut v = json!({"patient": patient, "fractures": fractures});
        if let Value::Object(m) = rest {
            for (k, x) in m {
                v[k] = x;
            }
        }
        let _ = assess_json(&v.to_string(), today());
    }

    #[test]
    fn near_valid_request_with_one_field_mutated_never_panics(
        v in valid_request(), at in any::<Index>(), with in opt(arb_json()),
    ) {
        let mut ptrs = Vec::new();
        pointers(&v, String::new(), &mut ptrs);
        let p = &ptrs[at.index(ptrs.len())];
        let w = mutate(v.clone(), p, with);
        match assess_json(&w.to_string(), today()) {
            Ok(r) => check_invariants(&w, &r).map_err(TestCaseError::fail)?,
            Err(AssessError::Invalid(e)) => prop_assert!(!e.is_empty()),
            Err(e) => prop_assert!(false, "engine error {e:?} for {w}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_request_is_assessed_and_invariants_hold(v in valid_request()) {
        let r = match assess_json(&v.to_string(), today()) {
            Ok(r) => r,
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}\nrequest: {v}"))),
        };
        if let Err(msg) = check_invariants(&v, &r) {
            return Err(TestCaseError::fail(format!("{msg}\nrequest: {v}")));
        }
    }

    #[test]
    fn assessment_is_deterministic(v in valid_request()) {
        let a = assess_json(&v.to_string(), today()).unwrap();
        let b = assess_json(&v.to_string(), today()).unwrap();
        prop_assert_eq!(a, b);
    }
}

/// The valid-request generator reaches every plan, so the invariants above are exercised on
/// augmentation, referral, work-up and insufficient-data reports alike.
#[test]
fn valid_request_generator_reaches_every_plan() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = valid_request();
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..3000 {
        let v = strategy.new_tree(&mut runner).unwrap().current();
        let r = assess_json(&v.to_string(), today()).unwrap();
        *seen
            .entry(serde_json::to_value(r.treatment.plan).unwrap().to_string())
            .or_insert(0) += 1;
    }
    for p in PLANS {
        assert!(
            seen.contains_key(&format!("\"{p}\"")),
            "{p} never generated: {seen:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Revision 3 invariants (issue 10 "Show"): checked on every generated valid request, from the
// request and the report's JSON, independently of the engine's own helpers.

/// The value at a dotted report path such as `fractures[0].genant_grade`; `None` when the path
/// names no report field (a decision about something the report does not show as one field).
fn at_path<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = doc;
    for step in path.split('.') {
        let (name, index) = match step.split_once('[') {
            Some((n, rest)) => (n, Some(rest.trim_end_matches(']').parse::<usize>().ok()?)),
            None => (step, None),
        };
        cur = cur.get(name)?;
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

fn check_r3(req: &Value, r: &AssessmentReport) -> Result<(), String> {
    let doc = serde_json::to_value(r).unwrap();
    let as_of = r.as_of;
    let rx = &doc["pharmacotherapy"];
    let first = rx["recommended"].get(0).cloned().unwrap_or(Value::Null);
    // 1. No `start: now` with a blocking pre-dose check of the first-choice drug (11.3).
    if rx["start"] == "now"
        && rx["pre_dose_checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["blocking"] == true && c["drug"] == first)
    {
        return Err(format!(
            "start now with a blocking check: {}",
            rx["pre_dose_checks"]
        ));
    }
    // 2. Spinal precautions exactly on surgical referrals (11.6).
    let referral = doc["treatment"]["plan"] == "surgical_referral";
    if (doc["perioperative"]["spinal_precautions"]["required"] == true) != referral {
        return Err("spinal_precautions.required differs from surgical_referral".into());
    }
    if referral && doc["perioperative"]["brace"] != "per_surgeon" {
        return Err("surgical referral without brace per_surgeon".into());
    }
    // 3. Never `low` for an untreated recent fracture (11.13).
    let fractures = req["fractures"].as_array().unwrap();
    let recent = fractures.iter().any(|f| {
        f.get("malignancy_signs")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
            && f.get("onset_days")
                .and_then(Value::as_u64)
                .is_none_or(|d| d < 365)
    });
    let any_anti_entry = req
        .get("medications")
        .and_then(Value::as_array)
        .is_some_and(|ms| {
            ms.iter().any(|m| {
                m["drug"] != "calcitonin"
                    && m["drug"] != "calcium_vitamin_d"
                    && !matches!(
                        m["drug"].as_str(),
                        Some(
                            "nsaid"
                                | "cox2_inhibitor"
                                | "opioid"
                                | "glucocorticoid"
                                | "paracetamol"
                        )
                    )
                    && Date::parse(m["start"].as_str().unwrap()).unwrap() <= as_of
            })
        });
    if let Some(adj) = doc["risks"].get("adjacent_fracture") {
        if adj["tier"] == "low" && recent && !any_anti_entry {
            return Err("adjacent tier low for an untreated recent fracture".into());
        }
        let floor = adj["factors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "recent_vertebral_fracture_untreated");
        if floor && adj["tier"] != "high" {
            return Err("floor factor without tier high".into());
        }
        if adj
            .get("estimate_basis")
            .is_some_and(|b| !b["time_horizon_months"].is_null())
        {
            return Err("adjacent estimate with a time horizon".into());
        }
    }
    // 4–5. No bed rest after day 4; no calcitonin after day 14 or below VAS 5 (11.10, 11.11).
    let untreated: Vec<&Value> = fractures
        .iter()
        .zip(&r.fractures)
        .filter(|(_, rf)| !rf.treated)
        .map(|(f, _)| f)
        .collect();
    let days_since_onset = untreated
        .iter()
        .filter_map(|f| f.get("onset_days").and_then(Value::as_u64))
        .min();
    if !doc["perioperative"]["bed_rest_max_days"].is_null()
        && days_since_onset.is_none_or(|d| d > 4)
    {
        return Err(format!("bed rest on day {days_since_onset:?}"));
    }
    let calcitonin = doc["perioperative"]["analgesia"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["drug"] == "calcitonin");
    if calcitonin
        && !untreated.iter().any(|f| {
            f.get("onset_days")
                .and_then(Value::as_u64)
                .is_some_and(|d| d <= 14)
                && f.get("pain_vas")
                    .and_then(Value::as_f64)
                    .is_some_and(|v| v >= 5.0)
        })
    {
        return Err("calcitonin outside the acute window".into());
    }
    // 6. No two visits after `as_of` within the 31-day merge window (11.22).
    let future: Vec<Date> = r
        .follow_up
        .iter()
        .map(|f| f.due)
        .filter(|d| *d > as_of)
        .collect();
    if future.windows(2).any(|w| w[0].days_until(w[1]) <= 31) {
        return Err(format!("two visits within 31 days: {future:?}"));
    }
    if r.follow_up.windows(2).any(|w| w[0].due > w[1].due) {
        return Err("follow-up not ordered by due".into());
    }
    // 7. Exactly one applied explanation entry per decision, equal to the report field (11.23).
    let mut applied: std::collections::BTreeMap<&str, usize> = Default::default();
    for e in &r.explanation {
        if e.outcome == ovcf_core::report::Outcome::Applied {
            *applied.entry(e.decision.as_str()).or_default() += 1;
            let value = e
                .value
                .as_ref()
                .ok_or(format!("applied {} without value", e.decision))?;
            if let Some(field) = at_path(&doc, &e.decision)
                && field != value
            {
                return Err(format!(
                    "explanation {} = {value} but the report says {field}",
                    e.decision
                ));
            }
            let augmentation = value == "vertebroplasty" || value == "kyphoplasty";
            if augmentation
                && !matches!(
                    e.decision.as_str(),
                    "treatment.plan" | "treatment.procedure"
                )
            {
                return Err(format!("{} carries {value}", e.decision));
            }
        }
    }
    if let Some((d, n)) = applied.iter().find(|(_, n)| **n != 1) {
        return Err(format!("{n} applied entries for {d}"));
    }
    if applied.get("treatment.plan") != Some(&1) {
        return Err("no applied entry for treatment.plan".into());
    }
    // 8. Every summary value equals its source field (assessment-v1 `summary`).
    let s = &doc["summary"];
    let t = &doc["treatment"];
    let eq = |a: &Value, b: &Value, what: &str| {
        if a == b {
            Ok(())
        } else {
            Err(format!("summary {what}: {a} ≠ {b}"))
        }
    };
    eq(&s["decision"]["plan"], &t["plan"], "plan")?;
    eq(&s["decision"]["urgency"], &t["urgency"], "urgency")?;
    eq(
        &s["decision"]["of_score_agreement"],
        &t["of_score_agreement"],
        "of_score_agreement",
    )?;
    let treated: Vec<Value> = t["treated_levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["level"].clone())
        .collect();
    eq(
        &s["decision"]["treated_levels"],
        &Value::Array(treated),
        "treated_levels",
    )?;
    let levels = s["levels"].as_array().unwrap();
    let per_level = t["per_level"].as_array().unwrap();
    if levels.len() != per_level.len() {
        return Err("summary levels ≠ per_level".into());
    }
    for (l, p) in levels.iter().zip(per_level) {
        eq(&l["level"], &p["level"], "level")?;
        eq(&l["procedure"], &t["plan"], "procedure")?;
        eq(&l["approach"], &p["approach"], "approach")?;
        eq(&l["cement_max_ml"], &p["cement"]["max_ml"], "cement_max_ml")?;
    }
    let mut urgent: Vec<Value> = t["urgent_actions"].as_array().unwrap().clone();
    for a in doc["alerts"].as_array().unwrap() {
        if a["severity"] == "critical" && !urgent.contains(&a["code"]) {
            urgent.push(a["code"].clone());
        }
    }
    eq(
        &s["urgent_actions"],
        &Value::Array(urgent),
        "urgent_actions",
    )?;
    eq(&s["drug"]["name"], &first, "drug.name")?;
    eq(&s["drug"]["start"], &rx["start"], "drug.start")?;
    eq(
        &s["drug"]["deferred_reason"],
        &rx["deferred_reason"],
        "drug.deferred_reason",
    )?;
    eq(
        &s["drug"]["start_date"],
        &rx["start_date"],
        "drug.start_date",
    )?;
    let dose = first
        .as_str()
        .and_then(|d| rx["dosing"].get(d))
        .cloned()
        .unwrap_or(Value::Null);
    eq(&s["drug"]["dose"], &dose, "drug.dose")?;
    let course = rx["course_end"].get("date").cloned().unwrap_or(Value::Null);
    eq(&s["drug"]["course_end"], &course, "drug.course_end")?;
    let next = doc["follow_up"].as_array().unwrap().iter().find(|f| {
        f["due"]
            .as_str()
            .is_some_and(|d| Date::parse(d).unwrap() >= as_of)
    });
    eq(
        &s["next_visit"]["due"],
        next.map_or(&Value::Null, |n| &n["due"]),
        "next_visit.due",
    )?;
    // Every drug in recommended and then is dosed (11.18); urgent actions in canonical order.
    for d in rx["recommended"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rx["then"].as_array().unwrap())
    {
        if rx["dosing"].get(d.as_str().unwrap()).is_none() {
            return Err(format!("{d} has no dosing"));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn revision3_invariants_hold(v in valid_request()) {
        let r = match assess_json(&v.to_string(), today()) {
            Ok(r) => r,
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}\nrequest: {v}"))),
        };
        if let Err(msg) = check_r3(&v, &r) {
            return Err(TestCaseError::fail(format!("{msg}\nrequest: {v}")));
        }
    }
}
