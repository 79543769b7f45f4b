//! Contradictory or missing inputs never yield an unsafe recommendation.
//!
//! A deterministic property-style sweep builds thousands of valid but clinically awkward requests
//! (contradictory imaging, drug histories that overlap, every contraindication at once, absent
//! optional inputs) and checks the safety invariants on every report. Targeted cases pin the
//! contradictions found by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ovcf_core::report::{DeferredReason, Plan, StartTiming};
use ovcf_core::request::Drug;
use ovcf_core::{AssessError, AssessmentReport, Date, assess_json};
use serde_json::{Map, Value, json};

mod common;
use common::*;

/// splitmix64: a small deterministic generator, so every failure is reproducible by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn put(obj: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        obj.insert(key.to_owned(), v);
    }
}

fn medication_templates() -> Vec<Value> {
    let future = as_of().add_days(10).to_string();
    vec![
        json!({"drug": "denosumab", "start": months_before(30), "last_dose": days_before(60)}),
        json!({"drug": "denosumab", "start": months_before(30), "last_dose": days_before(211)}),
        json!({"drug": "denosumab", "start": months_before(30)}),
        json!({"drug": "denosumab", "start": months_before(40), "end": months_before(5), "last_dose": months_before(5)}),
        json!({"drug": "denosumab", "start": months_before(40), "end": months_before(8), "last_dose": months_before(8)}),
        json!({"drug": "denosumab", "start": months_before(60), "end": months_before(30), "last_dose": months_before(30)}),
        json!({"drug": "denosumab", "start": months_before(40), "end": months_before(10)}),
        json!({"drug": "denosumab", "start": future}),
        json!({"drug": "alendronate", "start": months_before(70)}),
        json!({"drug": "alendronate", "start": days_before(5)}),
        json!({"drug": "ibandronate", "start": months_before(20), "end": months_before(2)}),
        json!({"drug": "zoledronic_acid", "start": months_before(40)}),
        json!({"drug": "zoledronic_acid", "start": months_before(9), "end": months_before(9)}),
        json!({"drug": "risedronate", "start": months_before(48), "end": months_before(24)}),
        json!({"drug": "teriparatide", "start": months_before(10)}),
        json!({"drug": "teriparatide", "start": months_before(24)}),
        json!({"drug": "teriparatide", "start": months_before(25), "end": months_before(3)}),
        json!({"drug": "abaloparatide", "start": months_before(5)}),
        json!({"drug": "romosozumab", "start": months_before(4)}),
        json!({"drug": "romosozumab", "start": months_before(13)}),
        json!({"drug": "nsaid", "start": days_before(30)}),
        json!({"drug": "glucocorticoid", "start": months_before(6)}),
        json!({"drug": "calcium_vitamin_d", "start": months_before(6)}),
        json!({"drug": "calcitonin", "start": days_before(7)}),
    ]
}

fn gen_fracture(rng: &mut Rng, level: &str) -> Value {
    let mut f = Map::new();
    f.insert("level".into(), json!(level));
    put(
        &mut f,
        "onset_days",
        rng.pick(&[
            None,
            Some(json!(0)),
            Some(json!(10)),
            Some(json!(41)),
            Some(json!(42)),
            Some(json!(400)),
        ]),
    );
    put(
        &mut f,
        "pain_vas",
        rng.pick(&[
            None,
            Some(json!(0)),
            Some(json!(4.9)),
            Some(json!(5)),
            Some(json!(7)),
            Some(json!(10)),
        ]),
    );
    put(
        &mut f,
        "imaging",
        rng.pick(&[
            None,
            Some(json!([])),
            Some(json!(["xray"])),
            Some(json!(["xray", "mri"])),
            Some(json!(["ct"])),
            Some(json!(["mri"])),
        ]),
    );
    put(
        &mut f,
        "mri",
        rng.pick(&[
            None,
            Some(json!({"stir": "hyperintense"})),
            Some(json!({"stir": "isointense", "t2": "hyperintense"})),
            Some(json!({"t2": "hyperintense"})),
            Some(json!({"t1": "hypointense"})),
            Some(json!({})),
        ]),
    );
    put(
        &mut f,
        "height_loss_pct",
        rng.pick(&[
            None,
            Some(json!(0)),
            Some(json!(15)),
            Some(json!(20)),
            Some(json!(20.1)),
            Some(json!(35)),
            Some(json!(45)),
            Some(json!(100)),
        ]),
    );
    if rng.chance(30) {
        let mut m = json!({
            "anterior_mm": rng.pick(&[5.0, 12.0, 20.0, 25.0]),
            "middle_mm": rng.pick(&[5.0, 14.0, 20.0, 25.0]),
            "posterior_mm": rng.pick(&[5.0, 16.0, 20.0, 25.0, 60.0])
        });
        if rng.chance(40) {
            m["reference_mm"] = json!(rng.pick(&[10.0, 25.0, 30.0, 60.0]));
        }
        f.insert("morphometry".into(), m);
    }
    put(
        &mut f,
        "kyphotic_angle_deg",
        rng.pick(&[
            None,
            Some(json!(-60)),
            Some(json!(19.9)),
            Some(json!(20)),
            Some(json!(90)),
        ]),
    );
    put(
        &mut f,
        "posterior_wall",
        rng.pick(&[
            None,
            Some(json!("intact")),
            Some(json!("involved")),
            Some(json!("retropulsion")),
            Some(json!("unknown")),
        ]),
    );
    put(
        &mut f,
        "anterior_cortex_breach",
        rng.pick(&[None, Some(json!(true)), Some(json!(false))]),
    );
    put(
        &mut f,
        "intravertebral_cleft",
        rng.pick(&[None, Some(json!(true)), Some(json!(false))]),
    );
    put(
        &mut f,
        "of_type",
        rng.pick(&[
            None,
            None,
            Some(json!("OF1")),
            Some(json!("OF3")),
            Some(json!("OF4")),
            Some(json!("OF5")),
        ]),
    );
    if rng.chance(20) {
        let n = rng.below(3);
        let signs: Vec<&str> = (0..n)
            .map(|_| rng.pick(&SIGNS))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        f.insert("malignancy_signs".into(), json!(signs));
    }
    put(
        &mut f,
        "deformity_progression",
        rng.pick(&[None, Some(json!(true)), Some(json!(false))]),
    );
    if rng.chance(10) {
        f.insert(
            "finding_source".into(),
            json!({"method": "ai", "confidence": 0.4}),
        );
    }
    Value::Object(f)
}

/// A valid request, often contradictory, from a seed.
fn gen_request(seed: u64) -> Value {
    let mut rng = Rng(seed);
    let mut root = Map::new();
    put(
        &mut root,
        "as_of",
        if rng.chance(95) {
            Some(json!(AS_OF))
        } else {
            None
        },
    );
    put(
        &mut root,
        "phase",
        rng.pick(&[
            None,
            Some(json!("initial")),
            Some(json!("post_procedure")),
            Some(json!("follow_up")),
        ]),
    );

    let mut p = Map::new();
    p.insert(
        "age".into(),
        json!(rng.pick(&[18, 49, 70, 75, 80, 81, 95, 120])),
    );
    p.insert("sex".into(), json!(rng.pick(&["female", "male"])));
    p.insert(
        "neurological_deficit".into(),
        json!(rng.pick(&[
            "none",
            "none",
            "none",
            "radicular",
            "incomplete",
            "complete"
        ])),
    );
    put(
        &mut p,
        "asa_class",
        rng.pick(&[
            None,
            Some(json!(1)),
            Some(json!(2)),
            Some(json!(3)),
            Some(json!(5)),
        ]),
    );
    put(
        &mut p,
        "surgical_tolerance",
        rng.pick(&[None, None, Some(json!("good")), Some(json!("poor"))]),
    );
    if rng.chance(70) {
        let cs: Vec<&str> = COMORBIDITIES
            .iter()
            .copied()
            .filter(|_| rng.chance(15))
            .collect();
        p.insert("comorbidities".into(), json!(cs));
    }
    put(
        &mut p,
        "adherence",
        rng.pick(&[
            None,
            Some(json!("good")),
            Some(json!("poor")),
            Some(json!("poor")),
            Some(json!("unknown")),
        ]),
    );
    let prior_v = rng.pick(&[None, Some(0u32), Some(1), Some(3)]);
    let prior_f = match (prior_v, rng.below(3)) {
        (_, 0) => None,
        (Some(v), _) => Some(v + rng.pick(&[0u32, 2])),
        (None, _) => Some(rng.pick(&[0u32, 1, 4])),
    };
    put(
        &mut p,
        "prior_vertebral_fractures",
        prior_v.map(|v| json!(v)),
    );
    put(
        &mut p,
        "prior_fragility_fractures",
        prior_f.map(|v| json!(v)),
    );
    put(
        &mut p,
        "nonunion_risk",
        rng.pick(&[None, Some(json!(true)), Some(json!(false))]),
    );
    put(
        &mut p,
        "mobilisation_under_analgesia",
        rng.pick(&[None, Some(json!("possible")), Some(json!("not_possible"))]),
    );
    put(
        &mut p,
        "modified_frailty_index",
        rng.pick(&[None, Some(json!(0)), Some(json!(3)), Some(json!(5))]),
    );
    root.insert("patient".into(), Value::Object(p));

    let n = 1 + rng.below(3);
    let mut levels: Vec<&str> = Vec::new();
    while levels.len() < n {
        let l = rng.pick(&LEVELS);
        if !levels.contains(&l) {
            levels.push(l);
        }
    }
    let fractures: Vec<Value> = levels.iter().map(|l| gen_fracture(&mut rng, l)).collect();
    root.insert("fractures".into(), json!(fractures));

    if rng.chance(70) {
        let mut bd = Map::new();
        if rng.chance(70) {
            let mut dxa = Map::new();
            put(
                &mut dxa,
                "lumbar_spine_t",
                rng.pick(&[
                    None,
                    Some(json!(-1.0)),
                    Some(json!(-2.5)),
                    Some(json!(-3.0)),
                    Some(json!(-3.01)),
                    Some(json!(-7)),
                ]),
            );
            put(
                &mut dxa,
                "femoral_neck_t",
                rng.pick(&[None, Some(json!(0.5)), Some(json!(-2.0))]),
            );
            bd.insert("dxa".into(), Value::Object(dxa));
        }
        put(
            &mut bd,
            "dxa_confounders",
            rng.pick(&[
                None,
                Some(json!([])),
                Some(json!(["scoliosis", "prior_augmentation"])),
            ]),
        );
        put(
            &mut bd,
            "qct_vbmd_mg_cm3",
            rng.pick(&[None, Some(json!(0)), Some(json!(79.9)), Some(json!(120.1))]),
        );
        put(
            &mut bd,
            "ct_hu_l1",
            rng.pick(&[
                None,
                Some(json!(-200)),
                Some(json!(90)),
                Some(json!(110)),
                Some(json!(200)),
            ]),
        );
        root.insert("bone_density".into(), Value::Object(bd));
    }
    if rng.chance(75) {
        let mut labs = Map::new();
        put(
            &mut labs,
            "egfr_ml_min",
            rng.pick(&[
                None,
                Some(json!(0)),
                Some(json!(25)),
                Some(json!(29.9)),
                Some(json!(32)),
                Some(json!(34.9)),
                Some(json!(60)),
            ]),
        );
        put(
            &mut labs,
            "crcl_ml_min",
            rng.pick(&[
                None,
                None,
                None,
                Some(json!(20)),
                Some(json!(33)),
                Some(json!(90)),
            ]),
        );
        put(
            &mut labs,
            "calcium_mmol_l",
            rng.pick(&[
                None,
                Some(json!(1.9)),
                Some(json!(2.09)),
                Some(json!(2.3)),
                Some(json!(2.61)),
                Some(json!(3.5)),
            ]),
        );
        put(
            &mut labs,
            "vitamin_d_nmol_l",
            rng.pick(&[None, Some(json!(20)), Some(json!(49.9)), Some(json!(80))]),
        );
        root.insert("labs".into(), Value::Object(labs));
    }
    let templates = medication_templates();
    let meds: Vec<Value> = (0..rng.below(4)).map(|_| rng.pick(&templates)).collect();
    if !meds.is_empty() || rng.chance(10) {
        root.insert("medications".into(), json!(meds));
    }
    let phase_initial = root.get("phase").is_none_or(|p| p == "initial");
    if rng.chance(35) {
        let mut pr = Map::new();
        pr.insert(
            "type".into(),
            json!(rng.pick(&["vertebroplasty", "kyphoplasty"])),
        );
        pr.insert("level".into(), json!(rng.pick(&levels)));
        let date = rng.pick(&[
            None,
            Some(days_before(0)),
            Some(days_before(10)),
            Some(days_before(60)),
            Some(as_of().add_days(7).to_string()),
        ]);
        let performed_fields = date.is_some();
        let date = if phase_initial {
            date
        } else {
            date.or(Some(days_before(3)))
        };
        put(&mut pr, "date", date.map(Value::from));
        put(
            &mut pr,
            "cement_volume_ml",
            rng.pick(&[
                None,
                Some(json!(0)),
                Some(json!(3)),
                Some(json!(6.1)),
                Some(json!(30)),
            ]),
        );
        put(
            &mut pr,
            "vertebral_body_volume_ml",
            rng.pick(&[
                None,
                Some(json!(0.5)),
                Some(json!(10)),
                Some(json!(20)),
                Some(json!(150)),
            ]),
        );
        if performed_fields {
            put(
                &mut pr,
                "height_restoration_pct",
                rng.pick(&[None, Some(json!(90.1)), Some(json!(150))]),
            );
            put(
                &mut pr,
                "cement_leakage",
                rng.pick(&[
                    None,
                    Some(json!(["spinal_canal"])),
                    Some(json!(["intradiscal", "venous"])),
                ]),
            );
        }
        root.insert("procedure".into(), Value::Object(pr));
    }
    if rng.chance(30) {
        root.insert(
            "preferences".into(),
            json!({"priority": rng.pick(&["rapid_pain_relief", "alignment_restoration"])}),
        );
    }
    Value::Object(root)
}

fn assess(v: &Value) -> AssessmentReport {
    match assess_json(&v.to_string(), as_of()) {
        Ok(r) => r,
        Err(e) => panic!("assessment failed: {e:?}\nrequest: {v}"),
    }
}

/// What the request says, read independently of the engine.
struct Inputs {
    renal: Option<f64>,
    malignancy: bool,
    any_signs: bool,
    deficit: bool,
    adherence_poor: bool,
    /// Denosumab ongoing at `as_of`, or its last dose < 7 months ago (10.3).
    on_denosumab: bool,
    /// Any denosumab given before `as_of`.
    denosumab_history: bool,
    /// A denosumab ongoing or last given (or stopped) within 24 months (10.2, 10.3).
    denosumab_recent: bool,
    hypercalcaemia: bool,
}

fn inputs(v: &Value) -> Inputs {
    let labs = &v["labs"];
    let renal = labs["crcl_ml_min"]
        .as_f64()
        .or_else(|| labs["egfr_ml_min"].as_f64());
    let comorb: Vec<&str> = v["patient"]["comorbidities"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let any_signs = v["fractures"].as_array().unwrap().iter().any(|f| {
        f["malignancy_signs"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    });
    let today = v["as_of"]
        .as_str()
        .and_then(Date::parse)
        .unwrap_or_else(as_of);
    let meds: Vec<&Value> = v["medications"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let dmab: Vec<&&Value> = meds
        .iter()
        .filter(|m| m["drug"] == "denosumab")
        .filter(|m| Date::parse(m["start"].as_str().unwrap()).unwrap() <= today)
        .collect();
    let on_denosumab = dmab.iter().any(|m| {
        let end = m["end"].as_str().and_then(Date::parse);
        let last = m["last_dose"].as_str().and_then(Date::parse).or(end);
        end.is_none_or(|e| e >= today) || last.is_some_and(|l| l.months_until(today) < 7)
    });
    let denosumab_recent = dmab.iter().any(|m| {
        let end = m["end"].as_str().and_then(Date::parse);
        let last = m["last_dose"].as_str().and_then(Date::parse).or(end);
        end.is_none_or(|e| e >= today) || last.is_some_and(|l| l.months_until(today) <= 24)
    });
    Inputs {
        denosumab_recent,
        hypercalcaemia: labs["calcium_mmol_l"].as_f64().is_some_and(|c| c > 2.60),
        renal,
        malignancy: comorb.contains(&"malignancy_history") || any_signs,
        any_signs,
        deficit: v["patient"]["neurological_deficit"] != "none",
        adherence_poor: v["patient"]["adherence"] == "poor",
        on_denosumab,
        denosumab_history: !dmab.is_empty(),
    }
}

const BISPHOSPHONATES: [Drug; 4] = [
    Drug::Alendronate,
    Drug::Risedronate,
    Drug::Ibandronate,
    Drug::ZoledronicAcid,
];

/// Every safety invariant; returns the violations found.
fn violations(v: &Value, r: &AssessmentReport) -> Vec<String> {
    let mut out = Vec::new();
    let i = inputs(v);
    let ph = &r.pharmacotherapy;
    let avoided = |d: Drug| ph.avoid.iter().any(|a| a.drug == d);
    let first = ph.recommended.first().copied();

    for a in &r.alerts {
        for msg in [&a.message.zh, &a.message.en] {
            if msg.contains('{') || msg.contains('}') {
                out.push(format!(
                    "alert {} has an unfilled placeholder: {msg}",
                    a.code
                ));
            }
        }
    }
    for a in &ph.avoid {
        if ph.recommended.contains(&a.drug) {
            out.push(format!(
                "avoided {:?} ({:?}) is recommended (hypercalcaemia {}, malignancy signs {})",
                a.drug, a.reason, i.hypercalcaemia, i.any_signs
            ));
        }
        if ph.then.contains(&a.drug) {
            out.push(format!("avoided {:?} is in then", a.drug));
        }
    }
    if r.treatment.plan.is_augmentation() {
        if i.any_signs {
            out.push("augmentation planned with malignancy signs".into());
        }
        if i.deficit {
            out.push("augmentation planned with a neurological deficit".into());
        }
    }
    for a in &r.perioperative.analgesia {
        if r.perioperative.avoid.contains(&a.drug) {
            out.push(format!(
                "perioperative {:?} both offered and avoided",
                a.drug
            ));
        }
    }
    if i.renal.is_some_and(|x| x < 30.0) || i.malignancy {
        if matches!(first, Some(Drug::Teriparatide | Drug::Abaloparatide)) {
            out.push("PTH analogue first with renal < 30 or malignancy".into());
        }
        if !avoided(Drug::Teriparatide) || !avoided(Drug::Abaloparatide) {
            out.push("PTH analogues not avoided with renal < 30 or malignancy".into());
        }
    }
    if i.renal.is_some_and(|x| x < 30.0) {
        for d in [Drug::Nsaid, Drug::Cox2Inhibitor] {
            if !r.perioperative.avoid.contains(&d) {
                out.push(format!("{d:?} not avoided with renal < 30"));
            }
        }
    }
    if i.renal.is_some_and(|x| x < 35.0) {
        for d in ph.recommended.iter().chain(&ph.then) {
            if d.is_bisphosphonate() {
                out.push(format!("bisphosphonate {d:?} recommended with renal < 35"));
            }
        }
        for d in BISPHOSPHONATES {
            if !avoided(d) {
                out.push(format!("{d:?} not avoided with renal < 35"));
            }
        }
    }
    if i.adherence_poor && first == Some(Drug::Denosumab) && !i.on_denosumab {
        let bisphosphonates_avoided = BISPHOSPHONATES.iter().all(|d| avoided(*d));
        // 10.4: a resume with bisphosphonates avoided; 10.2/10.3: a recent denosumab stays on
        // schedule while hypercalcaemia or a suspected pathological fracture is investigated.
        let resume_10_4 = i.denosumab_history && bisphosphonates_avoided;
        let on_schedule_10_3 = i.denosumab_recent && (i.hypercalcaemia || i.any_signs);
        if !(resume_10_4 || on_schedule_10_3) {
            out.push("denosumab first with poor adherence, not on it and not a 10.4 resume".into());
        }
    }
    if first == Some(Drug::Romosozumab) {
        let ongoing_romo = v["medications"].as_array().is_some_and(|a| {
            a.iter()
                .any(|m| m["drug"] == "romosozumab" && m.get("end").is_none())
        });
        if !ongoing_romo {
            out.push("romosozumab recommended first without an ongoing course".into());
        }
    }
    if ph.start == StartTiming::Deferred && ph.deferred_reason.is_none() {
        out.push("start deferred without a reason".into());
    }
    if ph
        .recommended
        .iter()
        .any(|d| !d.is_antiosteoporosis() && *d != Drug::CalciumVitaminD)
    {
        out.push(format!(
            "non-osteoporosis drug recommended: {:?}",
            ph.recommended
        ));
    }
    let calcium = v["labs"]["calcium_mmol_l"].as_f64();
    if calcium.is_some_and(|c| c > 2.60) && ph.recommended.contains(&Drug::CalciumVitaminD) {
        out.push("calcium supplement with hypercalcaemia".into());
    }
    if i.any_signs && r.treatment.plan != Plan::SurgicalReferral {
        if r.treatment.plan != Plan::FurtherWorkup {
            out.push(format!(
                "pathological signs but plan {:?}",
                r.treatment.plan
            ));
        }
        let keeps_dmab = first == Some(Drug::Denosumab);
        if !keeps_dmab && ph.recommended.iter().any(|d| d.is_antiosteoporosis()) {
            out.push(format!("a drug before the work-up: {:?}", ph.recommended));
        }
    }
    if i.deficit && r.treatment.plan != Plan::SurgicalReferral {
        out.push("neurological deficit not referred".into());
    }
    out
}

/// Absent optional inputs that must be listed in `inputs_assumed`.
fn assumed_violations(v: &Value, r: &AssessmentReport) -> Vec<String> {
    assumed_violations_with(v, r, false)
}

fn assumed_violations_with(v: &Value, r: &AssessmentReport, strict_onset: bool) -> Vec<String> {
    let mut need: Vec<String> = Vec::new();
    let p = &v["patient"];
    if v.get("as_of").is_none() {
        need.push("as_of".into());
    }
    if v.get("phase").is_none() {
        need.push("phase".into());
    }
    for (key, path) in [
        ("comorbidities", "patient.comorbidities"),
        ("adherence", "patient.adherence"),
        (
            "prior_fragility_fractures",
            "patient.prior_fragility_fractures",
        ),
        (
            "prior_vertebral_fractures",
            "patient.prior_vertebral_fractures",
        ),
        ("nonunion_risk", "patient.nonunion_risk"),
        ("surgical_tolerance", "patient.surgical_tolerance"),
    ] {
        if p.get(key).is_none() {
            need.push(path.into());
        }
    }
    for (i, f) in v["fractures"].as_array().unwrap().iter().enumerate() {
        if f.get("posterior_wall").is_none() {
            need.push(format!("fractures[{i}].posterior_wall"));
        }
    }
    let labs = &v["labs"];
    if labs.get("calcium_mmol_l").is_none() {
        need.push("labs.calcium_mmol_l".into());
    }
    if labs.get("vitamin_d_nmol_l").is_none() {
        need.push("labs.vitamin_d_nmol_l".into());
    }
    if labs.get("egfr_ml_min").is_none() && labs.get("crcl_ml_min").is_none() {
        need.push("labs.egfr_ml_min".into());
    }
    let has_bp = v["medications"].as_array().is_some_and(|a| {
        a.iter().any(|m| {
            [
                "alendronate",
                "risedronate",
                "ibandronate",
                "zoledronic_acid",
            ]
            .contains(&m["drug"].as_str().unwrap())
        })
    });
    // The test runs fracture by fracture and stops at the first failure found, so only require
    // the path when no fracture has a known onset (the strict sweep covers the general case).
    let any_onset = v["fractures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.get("onset_days").is_some());
    if has_bp && (strict_onset || !any_onset) {
        for (i, f) in v["fractures"].as_array().unwrap().iter().enumerate() {
            let pathological = f["malignancy_signs"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            if f.get("onset_days").is_none() && !pathological {
                need.push(format!("fractures[{i}].onset_days"));
            }
        }
    }
    need.into_iter()
        .filter(|path| !r.inputs_assumed.iter().any(|a| &a.path == path))
        .map(|path| format!("absent {path} not in inputs_assumed"))
        .collect()
}

const SWEEP: u64 = 4000;

fn sweep(check: impl Fn(&Value, &AssessmentReport) -> Vec<String>) -> Vec<(u64, String, String)> {
    let mut failures = Vec::new();
    for seed in 0..SWEEP {
        let v = gen_request(seed);
        let r = assess(&v);
        for msg in check(&v, &r) {
            failures.push((seed, msg, v.to_string()));
        }
    }
    failures
}

fn report(failures: &[(u64, String, String)]) -> String {
    let mut kinds: std::collections::BTreeMap<&str, (usize, u64, &str)> = Default::default();
    for (seed, msg, req) in failures {
        let e = kinds
            .entry(msg.as_str())
            .or_insert((0, *seed, req.as_str()));
        e.0 += 1;
    }
    kinds
        .iter()
        .map(|(msg, (n, seed, req))| format!("{n}× {msg} (first seed {seed}): {req}"))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[test]
fn sweep_generates_valid_requests_only() {
    for seed in 0..SWEEP {
        let v = gen_request(seed);
        if let Err(e) = assess_json(&v.to_string(), as_of()) {
            panic!("seed {seed}: {e:?}\n{v}");
        }
    }
}

#[test]
fn sweep_safety_invariants_hold_for_every_report() {
    let failures = sweep(violations);
    assert!(failures.is_empty(), "{}", report(&failures));
}

#[test]
fn sweep_no_avoided_drug_is_ever_recommended_strict() {
    let failures = sweep(violations);
    assert!(failures.is_empty(), "{}", report(&failures));
}

#[test]
fn sweep_absent_optional_inputs_are_listed_in_inputs_assumed() {
    let failures = sweep(assumed_violations);
    assert!(failures.is_empty(), "{}", report(&failures));
}

#[test]
fn sweep_unknown_onset_with_a_bisphosphonate_is_always_assumed() {
    let failures = sweep(|v, r| assumed_violations_with(v, r, true));
    assert!(failures.is_empty(), "{}", report(&failures));
}

#[test]
fn unknown_onset_of_a_second_fracture_is_assumed_when_on_a_bisphosphonate() {
    let mut v = base();
    v["fractures"].as_array_mut().unwrap().push(json!({
        "level": "L2", "pain_vas": 7, "imaging": ["mri"], "mri": {"stir": "hyperintense"},
        "height_loss_pct": 30, "posterior_wall": "intact"
    }));
    v = set(
        v,
        "/medications",
        json!([{"drug": "alendronate", "start": months_before(30)}]),
    );
    let r = assess(&v);
    assert!(
        r.inputs_assumed
            .iter()
            .any(|a| a.path == "fractures[1].onset_days"),
        "{:?}",
        r.inputs_assumed
    );
}

#[test]
fn sweep_missing_required_field_is_always_a_validation_error() {
    for seed in 0..500 {
        let v = gen_request(seed);
        let n = v["fractures"].as_array().unwrap().len();
        let mut cases: Vec<(String, String)> = [
            "/patient/neurological_deficit",
            "/patient/age",
            "/patient/sex",
            "/patient",
            "/fractures",
        ]
        .iter()
        .map(|p| ((*p).to_owned(), String::new()))
        .collect();
        for i in 0..n {
            cases.push((format!("/fractures/{i}/level"), String::new()));
        }
        for (ptr, _) in cases {
            let mut w = v.clone();
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            let parent = if parent.is_empty() { "" } else { parent };
            w.pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .unwrap()
                .remove(key);
            let want =
                ptr.trim_start_matches('/')
                    .split('/')
                    .fold(String::new(), |mut acc, seg| {
                        if seg.chars().all(|c| c.is_ascii_digit()) {
                            acc.push_str(&format!("[{seg}]"));
                        } else {
                            if !acc.is_empty() {
                                acc.push('.');
                            }
                            acc.push_str(seg);
                        }
                        acc
                    });
            match assess_json(&w.to_string(), as_of()) {
                Err(AssessError::Invalid(errs)) => assert!(
                    errs.iter().any(|e| e.path == want),
                    "seed {seed}, {ptr}: {errs:?}"
                ),
                other => panic!("seed {seed}: removing {ptr} gave {other:?}"),
            }
        }
    }
}

#[test]
fn null_for_a_required_field_is_a_validation_error_not_a_default() {
    let v = gen_request(1);
    for ptr in [
        "/patient/neurological_deficit",
        "/patient/age",
        "/patient/sex",
    ] {
        let mut w = v.clone();
        *w.pointer_mut(ptr).unwrap() = Value::Null;
        assert!(
            matches!(
                assess_json(&w.to_string(), as_of()),
                Err(AssessError::Invalid(_))
            ),
            "{ptr}"
        );
    }
}

// ───────────────────────── targeted contradictions ─────────────────────────

fn base() -> Value {
    json!({
        "as_of": AS_OF,
        "patient": {"age": 70, "sex": "female", "neurological_deficit": "none", "asa_class": 2, "comorbidities": []},
        "fractures": [{
            "level": "L1", "onset_days": 10, "pain_vas": 7, "imaging": ["xray", "mri"],
            "mri": {"stir": "hyperintense"}, "height_loss_pct": 30, "posterior_wall": "intact"
        }]
    })
}

fn set(mut v: Value, ptr: &str, x: Value) -> Value {
    let (parent, key) = ptr.rsplit_once('/').unwrap();
    let obj = v.pointer_mut(parent).unwrap();
    obj.as_object_mut().unwrap().insert(key.to_owned(), x);
    v
}

#[test]
fn every_contraindication_at_once_yields_no_augmentation_and_no_unsafe_drug() {
    let mut v = set(base(), "/patient/comorbidities", json!(COMORBIDITIES));
    v = set(
        v,
        "/labs",
        json!({"egfr_ml_min": 10, "calcium_mmol_l": 2.0, "vitamin_d_nmol_l": 10}),
    );
    v = set(v, "/patient/adherence", json!("poor"));
    let r = assess(&v);
    assert!(!r.treatment.plan.is_augmentation());
    assert!(violations(&v, &r).is_empty(), "{:?}", violations(&v, &r));
    assert!(
        r.pharmacotherapy
            .recommended
            .iter()
            .all(|d| !d.is_antiosteoporosis()),
        "{:?}",
        r.pharmacotherapy.recommended
    );
}

#[test]
fn contradictory_imaging_xray_only_with_an_mri_signal_still_alerts() {
    let v = set(base(), "/fractures/0/imaging", json!(["xray"]));
    let r = assess(&v);
    assert!(r.alerts.iter().any(|a| a.code == "xray_only_diagnosis"));
}

#[test]
fn malignancy_signs_on_a_treated_level_still_raise_the_workup() {
    // 10.13: a treated level's malignancy signs still raise 3.2 #2's alert and work-up.
    let mut v = set(
        base(),
        "/fractures/0/malignancy_signs",
        json!(["other_osseous_lesions"]),
    );
    v = set(
        v,
        "/procedure",
        json!({"type": "vertebroplasty", "level": "L1", "date": days_before(3)}),
    );
    v = set(v, "/phase", json!("post_procedure"));
    let r = assess(&v);
    assert!(
        r.alerts
            .iter()
            .any(|a| a.code == "suspected_pathological_fracture")
    );
    assert!(!r.treatment.plan.is_augmentation());
}

#[test]
fn empty_malignancy_signs_are_not_pathological() {
    let v = set(base(), "/fractures/0/malignancy_signs", json!([]));
    let r = assess(&v);
    assert!(!r.fractures[0].suspected_pathological);
    assert!(r.treatment.plan.is_augmentation());
}

#[test]
fn height_loss_given_and_morphometry_disagreeing_uses_morphometry() {
    let v = set(
        set(base(), "/fractures/0/height_loss_pct", json!(50)),
        "/fractures/0/morphometry",
        json!({"anterior_mm": 19, "middle_mm": 20, "posterior_mm": 20}),
    );
    let r = assess(&v);
    assert_eq!(r.fractures[0].height_loss_pct, Some(5.0));
    assert!(!r.treatment.plan.is_augmentation());
}

#[test]
fn denosumab_end_before_last_dose_is_rejected() {
    let v = set(
        base(),
        "/medications",
        json!([{"drug": "denosumab", "start": months_before(20), "end": months_before(10), "last_dose": months_before(5)}]),
    );
    assert!(matches!(
        assess_json(&v.to_string(), as_of()),
        Err(AssessError::Invalid(_))
    ));
}

#[test]
fn unknown_field_is_rejected_not_ignored() {
    let v = set(base(), "/patient/neuro_deficit", json!("complete"));
    assert!(matches!(
        assess_json(&v.to_string(), as_of()),
        Err(AssessError::Invalid(_))
    ));
}

#[test]
fn hypercalcaemia_with_old_denosumab_and_poor_adherence_never_recommends_an_avoided_drug() {
    let stop = months_before(10);
    let mut v = set(base(), "/labs", json!({"calcium_mmol_l": 2.7}));
    v = set(v, "/patient/adherence", json!("poor"));
    v = set(
        v,
        "/medications",
        json!([
            {"drug": "denosumab", "start": months_before(40), "end": stop, "last_dose": stop},
            {"drug": "alendronate", "start": months_before(9)}
        ]),
    );
    let r = assess(&v);
    let ph = &r.pharmacotherapy;
    for a in &ph.avoid {
        assert!(
            !ph.recommended.contains(&a.drug),
            "{:?} both avoided ({:?}) and recommended {:?}",
            a.drug,
            a.reason,
            ph.recommended
        );
    }
}

#[test]
fn pathology_workup_with_ongoing_denosumab_and_poor_adherence_never_recommends_an_avoided_drug() {
    let mut v = set(
        base(),
        "/fractures/0/malignancy_signs",
        json!(["other_osseous_lesions"]),
    );
    v = set(v, "/patient/adherence", json!("poor"));
    v = set(
        v,
        "/medications",
        json!([{"drug": "denosumab", "start": months_before(30), "last_dose": days_before(60)}]),
    );
    let r = assess(&v);
    let ph = &r.pharmacotherapy;
    for a in &ph.avoid {
        assert!(
            !ph.recommended.contains(&a.drug),
            "{:?} both avoided ({:?}) and recommended {:?}",
            a.drug,
            a.reason,
            ph.recommended
        );
    }
}

#[test]
fn pathology_workup_without_denosumab_defers_every_drug() {
    let v = set(
        base(),
        "/fractures/0/malignancy_signs",
        json!(["other_osseous_lesions"]),
    );
    let r = assess(&v);
    assert_eq!(r.pharmacotherapy.recommended, vec![Drug::CalciumVitaminD]);
    assert_eq!(
        r.pharmacotherapy.deferred_reason,
        Some(DeferredReason::PathologyWorkup)
    );
}
