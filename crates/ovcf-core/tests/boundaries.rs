//! Unit tests on every rule boundary of `decision-rules-v1.md` (§0–§10, §10 overriding), each
//! named after what it guards. Requests are built as JSON values from one fit, typical patient
//! ([`base`]) and changed one field at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ovcf_core::report::{
    Acuity, Alert, CtCategory, DeferredReason, DxaCategory, FollowUp, FollowUpItem, FractureClass,
    Morphology, OfInterpretation, OfItemStatus, OfScore, Plan, QctCategory, Severity, StartTiming,
    Technique, Tier, Workup,
};
use ovcf_core::request::Drug;
use ovcf_core::{AssessError, AssessmentReport, Date, FieldError, assess_json};
use serde_json::{Value, json};

mod common;
use common::*;

/// A fit 70-year-old woman with one acute, painful L1 fracture: MRI STIR hyperintense, posterior
/// wall intact, 30 % height loss, VAS 7. Plan: vertebroplasty (nothing calls for kyphoplasty).
fn base() -> Value {
    json!({
        "as_of": AS_OF,
        "patient": {
            "age": 70,
            "sex": "female",
            "neurological_deficit": "none",
            "asa_class": 2,
            "comorbidities": []
        },
        "fractures": [{
            "level": "L1",
            "onset_days": 10,
            "pain_vas": 7,
            "imaging": ["xray", "mri"],
            "mri": {"stir": "hyperintense"},
            "height_loss_pct": 30,
            "posterior_wall": "intact"
        }]
    })
}

fn assess(v: &Value) -> AssessmentReport {
    match assess_json(&v.to_string(), as_of()) {
        Ok(r) => r,
        Err(e) => panic!("assessment failed: {e:?}\nrequest: {v:#}"),
    }
}

fn errors(v: &Value) -> Vec<FieldError> {
    match assess_json(&v.to_string(), as_of()) {
        Ok(_) => panic!("expected a validation error for {v:#}"),
        Err(AssessError::Invalid(e)) => e,
        Err(e) => panic!("expected a validation error, got {e:?}"),
    }
}

/// Sets the value at a JSON pointer, creating objects on the way.
fn set(v: &mut Value, pointer: &str, x: Value) {
    let mut cur = v;
    let segs: Vec<&str> = pointer.split('/').skip(1).collect();
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        if let Some(idx) = seg.parse::<usize>().ok().filter(|_| cur.is_array()) {
            let arr = cur.as_array_mut().unwrap();
            while arr.len() <= idx {
                arr.push(json!({}));
            }
            if last {
                arr[idx] = x;
                return;
            }
            cur = &mut arr[idx];
            continue;
        }
        if !cur.is_object() {
            *cur = json!({});
        }
        let obj = cur.as_object_mut().unwrap();
        if last {
            obj.insert((*seg).to_owned(), x);
            return;
        }
        cur = obj.entry((*seg).to_owned()).or_insert_with(|| json!({}));
    }
}

fn with(mut v: Value, pointer: &str, x: Value) -> Value {
    set(&mut v, pointer, x);
    v
}

fn without(mut v: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    if let Some(obj) = v.pointer_mut(parent).and_then(Value::as_object_mut) {
        obj.remove(key);
    }
    v
}

/// `base()` with the first fracture changed.
fn frac(field: &str, x: Value) -> Value {
    with(base(), &format!("/fractures/0/{field}"), x)
}

fn alert<'a>(r: &'a AssessmentReport, code: &str) -> Option<&'a Alert> {
    r.alerts.iter().find(|a| a.code == code)
}

fn severity(r: &AssessmentReport, code: &str) -> Option<Severity> {
    alert(r, code).map(|a| a.severity)
}

fn plan(r: &AssessmentReport) -> Plan {
    r.treatment.plan
}

fn first_drug(r: &AssessmentReport) -> Option<Drug> {
    r.pharmacotherapy.recommended.first().copied()
}

fn avoided(r: &AssessmentReport, d: Drug) -> bool {
    r.pharmacotherapy.avoid.iter().any(|a| a.drug == d)
}

fn avoid_reason(r: &AssessmentReport, d: Drug) -> Option<String> {
    r.pharmacotherapy
        .avoid
        .iter()
        .find(|a| a.drug == d)
        .map(|a| {
            serde_json::to_value(a.reason)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
}

fn class0(r: &AssessmentReport) -> FractureClass {
    r.fractures[0].class
}

fn assumed(r: &AssessmentReport, path: &str) -> bool {
    r.inputs_assumed.iter().any(|a| a.path == path)
}

fn follow_up<'a>(r: &'a AssessmentReport, from: &str, at: u32) -> Option<&'a FollowUp> {
    let from = Date::parse(from).unwrap();
    r.follow_up
        .iter()
        .find(|f| f.from == from && f.at_months == Some(at))
}

fn morph(a: f64, m: f64, p: f64, reference: Option<f64>) -> Value {
    let mut v = without(base(), "/fractures/0/height_loss_pct");
    let mut mm = json!({"anterior_mm": a, "middle_mm": m, "posterior_mm": p});
    if let Some(r) = reference {
        mm["reference_mm"] = json!(r);
    }
    set(&mut v, "/fractures/0/morphometry", mm);
    v
}

fn med(drug: &str, start: &str) -> Value {
    json!({"drug": drug, "start": start})
}

fn with_meds(v: Value, meds: Vec<Value>) -> Value {
    with(v, "/medications", Value::Array(meds))
}

// ───────────────────────────── base sanity ─────────────────────────────

#[test]
fn base_is_a_vertebroplasty_candidate() {
    let r = assess(&base());
    assert_eq!(plan(&r), Plan::Vertebroplasty);
    assert_eq!(r.treatment.alternative, Some(Plan::Kyphoplasty));
    assert_eq!(class0(&r), FractureClass::Candidate);
    assert_eq!(r.fractures[0].genant_grade, Some(2));
    assert_eq!(r.fractures[0].acuity, Acuity::Acute);
    assert_eq!(r.fractures[0].marrow_edema, Some(true));
    assert_eq!(r.treatment.per_level.len(), 1);
    assert!(r.treatment.missing.is_empty(), "{:?}", r.treatment.missing);
}

// ───────────────────────── 1.1–1.2 height loss, Genant ─────────────────────────

fn grade_and_class(loss: f64) -> (Option<u8>, FractureClass) {
    let r = assess(&frac("height_loss_pct", json!(loss)));
    (r.fractures[0].genant_grade, class0(&r))
}

#[test]
fn genant_grade_0_below_20_pct() {
    assert_eq!(
        grade_and_class(19.9),
        (Some(0), FractureClass::NotIndicated)
    );
}

#[test]
fn genant_grade_1_at_20_pct_and_20_is_not_indicated() {
    assert_eq!(
        grade_and_class(20.0),
        (Some(1), FractureClass::NotIndicated)
    );
    assert_eq!(
        plan(&assess(&frac("height_loss_pct", json!(20)))),
        Plan::Conservative
    );
}

#[test]
fn loss_just_above_20_pct_is_candidate() {
    assert_eq!(grade_and_class(20.1), (Some(1), FractureClass::Candidate));
}

#[test]
fn genant_grade_2_from_25_to_40_inclusive() {
    assert_eq!(grade_and_class(24.9).0, Some(1));
    assert_eq!(grade_and_class(25.0).0, Some(2));
    assert_eq!(grade_and_class(40.0).0, Some(2));
}

#[test]
fn genant_grade_3_above_40_pct() {
    assert_eq!(grade_and_class(40.1).0, Some(3));
}

#[test]
fn height_loss_pct_is_rounded_half_away_from_zero_before_thresholds() {
    // 19.95 → 20.0: grade 1, not indicated; 20.05 → 20.1: candidate.
    let r = assess(&frac("height_loss_pct", json!(19.95)));
    assert_eq!(r.fractures[0].height_loss_pct, Some(20.0));
    assert_eq!(r.fractures[0].genant_grade, Some(1));
    assert_eq!(class0(&r), FractureClass::NotIndicated);
    let r = assess(&frac("height_loss_pct", json!(20.05)));
    assert_eq!(r.fractures[0].height_loss_pct, Some(20.1));
    assert_eq!(class0(&r), FractureClass::Candidate);
    let r = assess(&frac("height_loss_pct", json!(19.94)));
    assert_eq!(r.fractures[0].height_loss_pct, Some(19.9));
    assert_eq!(r.fractures[0].genant_grade, Some(0));
}

#[test]
fn morphometry_wedge_loss_is_rounded_half_away_from_zero() {
    // 1 − 32.02/40 = 19.95 % → 20.0 → grade 1 and not indicated (≤ 20).
    let r = assess(&morph(32.02, 35.0, 40.0, None));
    assert_eq!(r.fractures[0].morphology, Some(Morphology::Wedge));
    assert_eq!(r.fractures[0].height_loss_pct, Some(20.0));
    assert_eq!(r.fractures[0].genant_grade, Some(1));
    assert_eq!(class0(&r), FractureClass::NotIndicated);
    // 1 − 31.98/40 = 20.05 % → 20.1 → candidate.
    let r = assess(&morph(31.98, 35.0, 40.0, None));
    assert_eq!(r.fractures[0].height_loss_pct, Some(20.1));
    assert_eq!(class0(&r), FractureClass::Candidate);
    // 1 − 32.04/40 = 19.9 % → grade 0.
    let r = assess(&morph(32.04, 35.0, 40.0, None));
    assert_eq!(r.fractures[0].height_loss_pct, Some(19.9));
    assert_eq!(r.fractures[0].genant_grade, Some(0));
}

#[test]
fn morphometry_genant_boundaries_25_and_40() {
    let r = assess(&morph(15.0, 18.0, 20.0, None));
    assert_eq!(r.fractures[0].height_loss_pct, Some(25.0));
    assert_eq!(r.fractures[0].genant_grade, Some(2));
    let r = assess(&morph(12.0, 18.0, 20.0, None));
    assert_eq!(r.fractures[0].height_loss_pct, Some(40.0));
    assert_eq!(r.fractures[0].genant_grade, Some(2));
    let r = assess(&morph(11.98, 18.0, 20.0, None));
    assert_eq!(r.fractures[0].height_loss_pct, Some(40.1));
    assert_eq!(r.fractures[0].genant_grade, Some(3));
}

#[test]
fn morphometry_wins_over_height_loss_pct() {
    let v = with(
        morph(15.0, 18.0, 20.0, None),
        "/fractures/0/height_loss_pct",
        json!(10),
    );
    let r = assess(&v);
    assert_eq!(r.fractures[0].height_loss_pct, Some(25.0));
    assert!(
        r.explanation
            .iter()
            .any(|e| e.decision == "fractures[0].height_loss_pct" && e.rule == "1.1"),
        "a > 5 point disagreement is explained"
    );
}

#[test]
fn morphology_wedge_when_anterior_smallest_and_ties_with_middle() {
    let r = assess(&morph(15.0, 15.0, 20.0, None));
    assert_eq!(r.fractures[0].morphology, Some(Morphology::Wedge));
    assert_eq!(r.fractures[0].height_loss_pct, Some(25.0));
}

#[test]
fn morphology_biconcave_when_middle_smallest() {
    let r = assess(&morph(19.0, 14.0, 20.0, None));
    assert_eq!(r.fractures[0].morphology, Some(Morphology::Biconcave));
    assert_eq!(r.fractures[0].height_loss_pct, Some(30.0));
    assert_eq!(r.fractures[0].height_loss_mm, Some(6.0));
}

#[test]
fn morphology_crush_with_reference_uses_reference_posterior_height() {
    // Posterior 20 % below the reference: crush; loss = 1 − min/reference.
    let r = assess(&morph(15.0, 17.0, 20.0, Some(25.0)));
    assert_eq!(r.fractures[0].morphology, Some(Morphology::Crush));
    assert_eq!(r.fractures[0].height_loss_pct, Some(40.0));
    assert_eq!(r.fractures[0].height_loss_mm, Some(10.0));
    assert_eq!(class0(&r), FractureClass::Candidate);
}

#[test]
fn posterior_less_than_20_pct_below_reference_is_not_crush() {
    // 1 − 20.1/25 = 19.6 % below the reference: not a crush; wedge by the other heights.
    let r = assess(&morph(15.0, 17.0, 20.1, Some(25.0)));
    assert_eq!(r.fractures[0].morphology, Some(Morphology::Wedge));
    assert_eq!(r.fractures[0].height_loss_pct, Some(25.4));
}

#[test]
fn crush_without_reference_is_unknown_with_reference_mm_missing() {
    let r = assess(&morph(20.0, 19.0, 15.0, None));
    assert_eq!(r.fractures[0].morphology, Some(Morphology::Crush));
    assert_eq!(class0(&r), FractureClass::Unknown);
    assert!(
        r.treatment
            .missing
            .contains(&"fractures[0].morphometry.reference_mm".to_owned()),
        "{:?}",
        r.treatment.missing
    );
    assert_eq!(plan(&r), Plan::InsufficientData);
}

#[test]
fn absolute_loss_of_4_mm_is_not_indicated() {
    // 25 % loss but only 4.0 mm.
    let r = assess(&morph(12.0, 14.0, 16.0, None));
    assert_eq!(r.fractures[0].height_loss_pct, Some(25.0));
    assert_eq!(r.fractures[0].height_loss_mm, Some(4.0));
    assert_eq!(class0(&r), FractureClass::NotIndicated);
}

#[test]
fn absolute_loss_of_4_1_mm_is_candidate() {
    let r = assess(&morph(11.9, 14.0, 16.0, None));
    assert_eq!(r.fractures[0].height_loss_mm, Some(4.1));
    assert_eq!(class0(&r), FractureClass::Candidate);
}

// ───────────────────────── 1.4 acuity, 1.5 oedema ─────────────────────────

#[test]
fn onset_41_days_is_acute() {
    let r = assess(&frac("onset_days", json!(41)));
    assert_eq!(r.fractures[0].acuity, Acuity::Acute);
}

#[test]
fn onset_42_days_is_chronic() {
    let r = assess(&frac("onset_days", json!(42)));
    assert_eq!(r.fractures[0].acuity, Acuity::Chronic);
}

#[test]
fn onset_absent_is_unknown_acuity() {
    let r = assess(&without(base(), "/fractures/0/onset_days"));
    assert_eq!(r.fractures[0].acuity, Acuity::Unknown);
}

#[test]
fn fat_suppressed_t2_decides_oedema_when_stir_absent() {
    let r = assess(&frac(
        "mri",
        json!({"t2": "hyperintense", "t1": "hypointense"}),
    ));
    assert_eq!(r.fractures[0].marrow_edema, Some(true));
    assert_eq!(class0(&r), FractureClass::Candidate);
}

#[test]
fn mri_done_without_stir_or_t2_is_unknown_not_needs_mri() {
    let r = assess(&frac("mri", json!({"t1": "hypointense"})));
    assert_eq!(r.fractures[0].marrow_edema, None);
    assert_eq!(class0(&r), FractureClass::Unknown);
    assert!(
        r.treatment
            .missing
            .contains(&"fractures[0].mri.stir".to_owned())
    );
}

#[test]
fn cleft_makes_a_dark_level_unhealed() {
    let v = with(
        frac("mri", json!({"stir": "hypointense"})),
        "/fractures/0/intravertebral_cleft",
        json!(true),
    );
    let r = assess(&v);
    assert_eq!(r.fractures[0].marrow_edema, Some(false));
    assert_eq!(r.fractures[0].unhealed, Some(true));
    assert_eq!(class0(&r), FractureClass::Candidate);
    assert!(r.treatment.techniques.contains(&Technique::MeshContainer));
}

// ───────────────────────── 2 bone density ─────────────────────────

fn dxa(t: f64) -> AssessmentReport {
    assess(&with(base(), "/bone_density/dxa/lumbar_spine_t", json!(t)))
}

#[test]
fn t_score_minus_1_0_is_normal() {
    assert_eq!(
        dxa(-1.0).bone_density.dxa_category,
        Some(DxaCategory::Normal)
    );
}

#[test]
fn t_score_minus_1_01_is_osteopenia() {
    assert_eq!(
        dxa(-1.01).bone_density.dxa_category,
        Some(DxaCategory::Osteopenia)
    );
    assert_eq!(
        dxa(-2.49).bone_density.dxa_category,
        Some(DxaCategory::Osteopenia)
    );
}

#[test]
fn t_score_minus_2_5_is_osteoporosis_and_severe_with_fracture() {
    let r = dxa(-2.5);
    assert_eq!(r.bone_density.dxa_category, Some(DxaCategory::Osteoporosis));
    assert_eq!(
        serde_json::to_value(r.bone_density.diagnosis).unwrap(),
        json!("severe_osteoporosis")
    );
}

#[test]
fn t_score_minus_3_0_is_not_very_high_risk() {
    let r = dxa(-3.0);
    assert_ne!(first_drug(&r), Some(Drug::Teriparatide));
    assert!(
        !r.risks
            .adjacent_fracture
            .as_ref()
            .unwrap()
            .factors
            .contains(&"t_score_below_minus_3".to_owned())
    );
}

#[test]
fn t_score_minus_3_01_is_very_high_risk_teriparatide_first() {
    let r = dxa(-3.01);
    assert_eq!(first_drug(&r), Some(Drug::Teriparatide));
    assert_eq!(
        r.pharmacotherapy
            .max_duration_months
            .get(&Drug::Teriparatide),
        Some(&24)
    );
    assert!(
        r.risks
            .adjacent_fracture
            .as_ref()
            .unwrap()
            .factors
            .contains(&"t_score_below_minus_3".to_owned())
    );
}

#[test]
fn lowest_of_several_t_scores_is_used() {
    let v = with(
        base(),
        "/bone_density/dxa",
        json!({"lumbar_spine_t": -1.2, "femoral_neck_t": -2.6, "total_hip_t": -0.5}),
    );
    let r = assess(&v);
    assert_eq!(r.bone_density.lowest_t_score, Some(-2.6));
    assert_eq!(r.bone_density.dxa_category, Some(DxaCategory::Osteoporosis));
}

fn qct(q: f64) -> Option<QctCategory> {
    assess(&with(base(), "/bone_density/qct_vbmd_mg_cm3", json!(q)))
        .bone_density
        .qct_category
}

#[test]
fn qct_below_80_is_osteoporosis() {
    assert_eq!(qct(79.9), Some(QctCategory::Osteoporosis));
}

#[test]
fn qct_80_to_120_inclusive_is_low() {
    assert_eq!(qct(80.0), Some(QctCategory::Low));
    assert_eq!(qct(120.0), Some(QctCategory::Low));
}

#[test]
fn qct_above_120_is_normal() {
    assert_eq!(qct(120.1), Some(QctCategory::Normal));
}

fn ct_hu_at_l2(hu: f64) -> Option<CtCategory> {
    let v = with(
        frac("level", json!("L2")),
        "/bone_density/ct_hu_l1",
        json!(hu),
    );
    assess(&v).bone_density.ct_category
}

#[test]
fn ct_hu_110_is_osteoporosis_likely() {
    assert_eq!(ct_hu_at_l2(110.0), Some(CtCategory::OsteoporosisLikely));
}

#[test]
fn ct_hu_110_1_to_160_is_indeterminate() {
    assert_eq!(ct_hu_at_l2(110.1), Some(CtCategory::Indeterminate));
    assert_eq!(ct_hu_at_l2(160.0), Some(CtCategory::Indeterminate));
}

#[test]
fn ct_hu_above_160_is_osteoporosis_unlikely() {
    assert_eq!(ct_hu_at_l2(160.1), Some(CtCategory::OsteoporosisUnlikely));
}

#[test]
fn ct_hu_is_not_usable_when_l1_is_fractured() {
    let r = assess(&with(base(), "/bone_density/ct_hu_l1", json!(80)));
    assert_eq!(r.bone_density.ct_category, None);
}

#[test]
fn dxa_falsely_normal_with_confounders_adds_qct_workup() {
    let v = with(
        base(),
        "/bone_density",
        json!({"dxa": {"lumbar_spine_t": -1.5}, "dxa_confounders": ["aortic_calcification"]}),
    );
    let r = assess(&v);
    assert!(alert(&r, "dxa_may_be_falsely_normal").is_some());
    assert!(r.treatment.workup.contains(&Workup::QctOr3dDxa));
    // T ≤ −2.5: not falsely normal.
    let v = with(v, "/bone_density/dxa/lumbar_spine_t", json!(-2.5));
    assert!(alert(&assess(&v), "dxa_may_be_falsely_normal").is_none());
}

// ───────────────────────── 3.1 class boundaries ─────────────────────────

#[test]
fn vas_4_9_is_not_indicated() {
    let r = assess(&frac("pain_vas", json!(4.9)));
    assert_eq!(class0(&r), FractureClass::NotIndicated);
    assert_eq!(plan(&r), Plan::Conservative);
}

#[test]
fn vas_5_is_candidate() {
    let r = assess(&frac("pain_vas", json!(5)));
    assert_eq!(class0(&r), FractureClass::Candidate);
}

#[test]
fn healed_level_is_not_indicated() {
    let r = assess(&frac("mri", json!({"stir": "isointense"})));
    assert_eq!(class0(&r), FractureClass::NotIndicated);
    assert!(alert(&r, "chronic_fracture_limited_benefit").is_none());
}

// ───────────────────────── 3.2 #5 procedure choice ─────────────────────────

#[test]
fn age_80_with_loss_35_is_kyphoplasty() {
    let v = with(
        frac("height_loss_pct", json!(35)),
        "/patient/age",
        json!(80),
    );
    assert_eq!(plan(&assess(&v)), Plan::Kyphoplasty);
}

#[test]
fn age_81_with_loss_35_is_vertebroplasty() {
    let v = with(
        frac("height_loss_pct", json!(35)),
        "/patient/age",
        json!(81),
    );
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::Vertebroplasty);
    assert_eq!(r.treatment.alternative, Some(Plan::Kyphoplasty));
}

#[test]
fn loss_30_is_vertebroplasty_and_30_1_kyphoplasty() {
    assert_eq!(
        plan(&assess(&frac("height_loss_pct", json!(30)))),
        Plan::Vertebroplasty
    );
    let r = assess(&frac("height_loss_pct", json!(30.1)));
    assert_eq!(plan(&r), Plan::Kyphoplasty);
    assert_eq!(r.treatment.alternative, Some(Plan::Vertebroplasty));
}

#[test]
fn derived_tolerance_asa_2_is_good() {
    let v = with(
        frac("height_loss_pct", json!(35)),
        "/patient/asa_class",
        json!(2),
    );
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::Kyphoplasty);
    assert!(assumed(&r, "patient.surgical_tolerance"));
}

#[test]
fn derived_tolerance_asa_3_is_poor_vertebroplasty() {
    let v = with(
        frac("height_loss_pct", json!(35)),
        "/patient/asa_class",
        json!(3),
    );
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::Vertebroplasty);
    assert!(assumed(&r, "patient.surgical_tolerance"));
}

#[test]
fn derived_tolerance_two_major_comorbidities_is_poor() {
    let v = with(
        frac("height_loss_pct", json!(35)),
        "/patient/comorbidities",
        json!(["copd", "dementia"]),
    );
    assert_eq!(plan(&assess(&v)), Plan::Vertebroplasty);
    let v = with(
        frac("height_loss_pct", json!(35)),
        "/patient/comorbidities",
        json!(["copd"]),
    );
    assert_eq!(plan(&assess(&v)), Plan::Kyphoplasty);
}

#[test]
fn clinician_tolerance_wins_over_asa() {
    let mut v = with(
        frac("height_loss_pct", json!(35)),
        "/patient/asa_class",
        json!(4),
    );
    set(&mut v, "/patient/surgical_tolerance", json!("good"));
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::Kyphoplasty);
    assert!(!assumed(&r, "patient.surgical_tolerance"));
}

#[test]
fn kyphotic_angle_19_9_is_vertebroplasty() {
    assert_eq!(
        plan(&assess(&frac("kyphotic_angle_deg", json!(19.9)))),
        Plan::Vertebroplasty
    );
}

#[test]
fn kyphotic_angle_20_is_kyphoplasty() {
    assert_eq!(
        plan(&assess(&frac("kyphotic_angle_deg", json!(20)))),
        Plan::Kyphoplasty
    );
}

#[test]
fn posterior_wall_involved_is_kyphoplasty_even_at_85_with_poor_tolerance() {
    let mut v = frac("posterior_wall", json!("involved"));
    set(&mut v, "/patient/age", json!(85));
    set(&mut v, "/patient/surgical_tolerance", json!("poor"));
    set(&mut v, "/preferences/priority", json!("rapid_pain_relief"));
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::Kyphoplasty);
    assert_eq!(r.treatment.alternative, Some(Plan::Vertebroplasty));
}

#[test]
fn rapid_pain_relief_is_vertebroplasty() {
    let v = with(
        frac("height_loss_pct", json!(35)),
        "/preferences/priority",
        json!("rapid_pain_relief"),
    );
    assert_eq!(plan(&assess(&v)), Plan::Vertebroplasty);
}

#[test]
fn alignment_restoration_is_kyphoplasty() {
    let v = with(
        base(),
        "/preferences/priority",
        json!("alignment_restoration"),
    );
    assert_eq!(plan(&assess(&v)), Plan::Kyphoplasty);
}

// ───────────────────────── 3.2 precedence ─────────────────────────

#[test]
fn neuro_deficit_alone_is_surgical_referral() {
    let r = assess(&with(
        base(),
        "/patient/neurological_deficit",
        json!("radicular"),
    ));
    assert_eq!(plan(&r), Plan::SurgicalReferral);
    assert_eq!(
        severity(&r, "neurological_deficit"),
        Some(Severity::Critical)
    );
    assert!(r.treatment.per_level.is_empty());
    assert!(r.risks.cement_leakage.is_none());
}

#[test]
fn pathological_with_neuro_deficit_is_urgent_referral_with_biopsy_and_oncology() {
    let mut v = frac("malignancy_signs", json!(["epidural_or_paraspinal_mass"]));
    set(&mut v, "/patient/neurological_deficit", json!("incomplete"));
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::SurgicalReferral);
    assert!(r.treatment.workup.contains(&Workup::Biopsy));
    assert!(r.treatment.workup.contains(&Workup::OncologyWorkup));
    assert_eq!(
        severity(&r, "neurological_deficit"),
        Some(Severity::Critical)
    );
    assert_eq!(
        severity(&r, "suspected_pathological_fracture"),
        Some(Severity::Critical)
    );
}

#[test]
fn pathological_without_mri_adds_mri_to_workup() {
    let mut v = frac("malignancy_signs", json!(["other_osseous_lesions"]));
    set(&mut v, "/fractures/0/imaging", json!(["xray", "ct"]));
    v = without(v, "/fractures/0/mri");
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::FurtherWorkup);
    assert!(r.treatment.workup.contains(&Workup::Mri));
}

#[test]
fn pathological_alone_is_further_workup() {
    let r = assess(&frac(
        "malignancy_signs",
        json!(["convex_posterior_border"]),
    ));
    assert_eq!(plan(&r), Plan::FurtherWorkup);
    assert_eq!(class0(&r), FractureClass::Excluded);
    assert!(r.fractures[0].suspected_pathological);
    assert!(r.treatment.workup.contains(&Workup::Biopsy));
    assert!(r.treatment.workup.contains(&Workup::OncologyWorkup));
    assert_eq!(
        severity(&r, "suspected_pathological_fracture"),
        Some(Severity::Critical)
    );
    assert_eq!(r.bone_density.diagnosis, None);
}

#[test]
fn of4_is_surgical_referral_with_unstable_fracture() {
    let r = assess(&frac("of_type", json!("OF4")));
    assert_eq!(plan(&r), Plan::SurgicalReferral);
    assert_eq!(severity(&r, "unstable_fracture"), Some(Severity::Critical));
    assert_eq!(class0(&r), FractureClass::Excluded);
}

#[test]
fn unhealed_retropulsion_is_referral_critical() {
    let r = assess(&frac("posterior_wall", json!("retropulsion")));
    assert_eq!(plan(&r), Plan::SurgicalReferral);
    assert_eq!(
        severity(&r, "posterior_wall_retropulsion"),
        Some(Severity::Critical)
    );
}

#[test]
fn healed_retropulsion_without_deficit_is_warning_only_not_referral() {
    let mut v = frac("posterior_wall", json!("retropulsion"));
    set(&mut v, "/fractures/0/mri", json!({"stir": "isointense"}));
    let r = assess(&v);
    assert_ne!(plan(&r), Plan::SurgicalReferral);
    assert_eq!(
        severity(&r, "posterior_wall_retropulsion"),
        Some(Severity::Warning)
    );
}

#[test]
fn healed_retropulsion_with_deficit_is_critical_referral() {
    let mut v = frac("posterior_wall", json!("retropulsion"));
    set(&mut v, "/fractures/0/mri", json!({"stir": "isointense"}));
    set(&mut v, "/patient/neurological_deficit", json!("radicular"));
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::SurgicalReferral);
    assert_eq!(
        severity(&r, "posterior_wall_retropulsion"),
        Some(Severity::Critical)
    );
}

fn two_levels(second: Value) -> Value {
    let mut v = base();
    v["fractures"].as_array_mut().unwrap().push(second);
    v
}

#[test]
fn needs_mri_on_another_level_beats_candidate_further_workup() {
    let v = two_levels(json!({
        "level": "L2", "onset_days": 10, "pain_vas": 7, "imaging": ["xray"],
        "height_loss_pct": 30, "posterior_wall": "intact"
    }));
    let r = assess(&v);
    assert_eq!(r.fractures[1].class, FractureClass::NeedsMri);
    assert_eq!(class0(&r), FractureClass::Candidate);
    assert_eq!(plan(&r), Plan::FurtherWorkup);
    assert!(r.treatment.workup.contains(&Workup::Mri));
    assert!(r.treatment.per_level.is_empty());
}

#[test]
fn needs_ct_when_wall_unknown_is_further_workup() {
    let r = assess(&without(base(), "/fractures/0/posterior_wall"));
    assert_eq!(class0(&r), FractureClass::NeedsCt);
    assert_eq!(plan(&r), Plan::FurtherWorkup);
    assert!(r.treatment.workup.contains(&Workup::Ct));
    assert!(assumed(&r, "fractures[0].posterior_wall"));
}

#[test]
fn unknown_vas_and_no_candidate_is_insufficient_data() {
    let r = assess(&without(base(), "/fractures/0/pain_vas"));
    assert_eq!(class0(&r), FractureClass::Unknown);
    assert_eq!(plan(&r), Plan::InsufficientData);
    assert!(
        r.treatment
            .missing
            .contains(&"fractures[0].pain_vas".to_owned())
    );
}

#[test]
fn unknown_loss_is_listed_in_missing() {
    let r = assess(&without(base(), "/fractures/0/height_loss_pct"));
    assert_eq!(plan(&r), Plan::InsufficientData);
    assert!(
        r.treatment
            .missing
            .contains(&"fractures[0].height_loss_pct".to_owned())
    );
}

#[test]
fn unknown_level_with_candidate_is_augmentation_and_still_lists_missing() {
    let v = two_levels(json!({
        "level": "L2", "onset_days": 10, "imaging": ["mri"], "mri": {"stir": "hyperintense"},
        "height_loss_pct": 30, "posterior_wall": "intact"
    }));
    let r = assess(&v);
    assert_eq!(r.fractures[1].class, FractureClass::Unknown);
    assert!(plan(&r).is_augmentation());
    assert_eq!(r.treatment.per_level.len(), 1);
    assert_eq!(r.treatment.per_level[0].level.as_str(), "L1");
    assert!(
        r.treatment
            .missing
            .contains(&"fractures[1].pain_vas".to_owned()),
        "rule 0.8: {:?}",
        r.treatment.missing
    );
}

#[test]
fn active_infection_blocks_augmentation() {
    let r = assess(&with(
        base(),
        "/patient/comorbidities",
        json!(["active_infection"]),
    ));
    assert_eq!(plan(&r), Plan::Conservative);
    assert_eq!(
        severity(&r, "augmentation_contraindicated"),
        Some(Severity::Critical)
    );
    assert!(r.treatment.per_level.is_empty());
    assert!(r.risks.cement_leakage.is_none());
}

#[test]
fn coagulopathy_blocks_augmentation() {
    let r = assess(&with(
        base(),
        "/patient/comorbidities",
        json!(["coagulopathy"]),
    ));
    assert_eq!(plan(&r), Plan::Conservative);
    assert_eq!(
        severity(&r, "augmentation_contraindicated"),
        Some(Severity::Critical)
    );
}

#[test]
fn anticoagulant_therapy_keeps_augmentation_with_warning() {
    let r = assess(&with(
        base(),
        "/patient/comorbidities",
        json!(["anticoagulant_therapy"]),
    ));
    assert!(plan(&r).is_augmentation());
    assert_eq!(
        severity(&r, "anticoagulation_periprocedural"),
        Some(Severity::Warning)
    );
    assert!(r.perioperative.avoid.contains(&Drug::Nsaid));
}

#[test]
fn conservative_with_wall_unknown_and_vas_5_adds_ct_workup() {
    let v = without(
        frac("height_loss_pct", json!(15)),
        "/fractures/0/posterior_wall",
    );
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::Conservative);
    assert!(r.treatment.workup.contains(&Workup::Ct));
}

#[test]
fn conservative_with_wall_unknown_healed_and_low_vas_has_no_ct() {
    let mut v = without(frac("pain_vas", json!(3)), "/fractures/0/posterior_wall");
    set(&mut v, "/fractures/0/mri", json!({"stir": "isointense"}));
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::Conservative);
    assert!(!r.treatment.workup.contains(&Workup::Ct));
}

#[test]
fn xray_only_alerts_whatever_the_plan() {
    // No MRI: needs_mri → further_workup.
    let v = without(frac("imaging", json!(["xray"])), "/fractures/0/mri");
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::FurtherWorkup);
    assert_eq!(severity(&r, "xray_only_diagnosis"), Some(Severity::Warning));
    // Contradictory input (an MRI signal given, imaging says X-ray only): still alerted.
    let r = assess(&frac("imaging", json!(["xray"])));
    assert_eq!(severity(&r, "xray_only_diagnosis"), Some(Severity::Warning));
    // Conservative plan (VAS 3): still alerted.
    let r = assess(&with(
        frac("imaging", json!(["xray"])),
        "/fractures/0/pain_vas",
        json!(3),
    ));
    assert_eq!(plan(&r), Plan::Conservative);
    assert!(alert(&r, "xray_only_diagnosis").is_some());
    // X-ray and CT: not X-ray only.
    assert!(
        alert(
            &assess(&frac("imaging", json!(["xray", "mri"]))),
            "xray_only_diagnosis"
        )
        .is_none()
    );
}

#[test]
fn chronic_unhealed_candidate_gets_info_limited_benefit() {
    let r = assess(&frac("onset_days", json!(60)));
    assert_eq!(class0(&r), FractureClass::Candidate);
    assert!(plan(&r).is_augmentation());
    assert_eq!(
        severity(&r, "chronic_fracture_limited_benefit"),
        Some(Severity::Info)
    );
}

#[test]
fn healed_chronic_level_gets_warning_limited_benefit() {
    let mut v = frac("onset_days", json!(60));
    set(&mut v, "/fractures/0/mri", json!({"stir": "isointense"}));
    let r = assess(&v);
    assert_eq!(class0(&r), FractureClass::NotIndicated);
    assert_eq!(
        severity(&r, "chronic_fracture_limited_benefit"),
        Some(Severity::Warning)
    );
}

// ───────────────────────── 3.3–3.5 approach, cement, techniques ─────────────────────────

#[test]
fn approach_unilateral_t4_t10_l1_l4_bilateral_elsewhere() {
    for (level, unilateral) in [
        ("T3", false),
        ("T4", true),
        ("T10", true),
        ("T11", false),
        ("T12", false),
        ("L1", true),
        ("L4", true),
        ("L5", false),
    ] {
        let r = assess(&frac("level", json!(level)));
        let a = serde_json::to_value(r.treatment.per_level[0].approach).unwrap();
        let want = if unilateral {
            "unilateral"
        } else {
            "bilateral"
        };
        assert_eq!(a, json!(want), "{level}");
    }
}

#[test]
fn cement_range_thoracic_3_to_5_lumbar_4_to_7() {
    let r = assess(&frac("level", json!("T8")));
    let c = r.treatment.per_level[0].cement.unwrap();
    assert_eq!((c.min_ml, c.max_ml, c.max_fill_fraction), (3.0, 5.0, 0.30));
    let r = assess(&base());
    let c = r.treatment.per_level[0].cement.unwrap();
    assert_eq!((c.min_ml, c.max_ml), (4.0, 7.0));
}

fn planned(v: Value, procedure: Value) -> Value {
    with(v, "/procedure", procedure)
}

#[test]
fn cement_max_is_capped_at_30_pct_of_body_volume() {
    let v = planned(
        base(),
        json!({"type": "vertebroplasty", "level": "L1", "vertebral_body_volume_ml": 20}),
    );
    let c = assess(&v).treatment.per_level[0].cement.unwrap();
    assert_eq!((c.min_ml, c.max_ml), (4.0, 6.0));
    // 30 % of 10 mL = 3 mL, below the usual minimum: min follows max.
    let v = planned(
        base(),
        json!({"type": "vertebroplasty", "level": "L1", "vertebral_body_volume_ml": 10}),
    );
    let c = assess(&v).treatment.per_level[0].cement.unwrap();
    assert_eq!((c.min_ml, c.max_ml), (3.0, 3.0));
    // Large body: range max.
    let v = planned(
        base(),
        json!({"type": "vertebroplasty", "level": "L1", "vertebral_body_volume_ml": 40}),
    );
    let c = assess(&v).treatment.per_level[0].cement.unwrap();
    assert_eq!((c.min_ml, c.max_ml), (4.0, 7.0));
}

#[test]
fn body_volume_caps_only_the_procedure_level() {
    let mut v = two_levels(json!({
        "level": "L2", "onset_days": 10, "pain_vas": 7, "imaging": ["mri"],
        "mri": {"stir": "hyperintense"}, "height_loss_pct": 30, "posterior_wall": "intact"
    }));
    set(
        &mut v,
        "/procedure",
        json!({"type": "vertebroplasty", "level": "L2", "vertebral_body_volume_ml": 10}),
    );
    let r = assess(&v);
    let by = |l: &str| {
        r.treatment
            .per_level
            .iter()
            .find(|p| p.level.as_str() == l)
            .unwrap()
            .cement
            .unwrap()
    };
    assert_eq!((by("L1").min_ml, by("L1").max_ml), (4.0, 7.0));
    assert_eq!((by("L2").min_ml, by("L2").max_ml), (3.0, 3.0));
}

#[test]
fn cement_exactly_30_pct_of_body_is_not_exceeding() {
    let v = planned(
        base(),
        json!({"type": "vertebroplasty", "level": "L1", "vertebral_body_volume_ml": 20, "cement_volume_ml": 6}),
    );
    let r = assess(&v);
    assert!(alert(&r, "cement_volume_exceeds_30pct").is_none());
    assert!(
        !r.risks
            .adjacent_fracture
            .as_ref()
            .unwrap()
            .factors
            .contains(&"cement_over_30pct".to_owned())
    );
}

#[test]
fn cement_above_30_pct_of_body_alerts_and_is_a_risk_factor() {
    let v = planned(
        base(),
        json!({"type": "vertebroplasty", "level": "L1", "vertebral_body_volume_ml": 20, "cement_volume_ml": 6.1}),
    );
    let r = assess(&v);
    assert!(alert(&r, "cement_volume_exceeds_30pct").is_some());
    assert!(
        r.risks
            .adjacent_fracture
            .as_ref()
            .unwrap()
            .factors
            .contains(&"cement_over_30pct".to_owned())
    );
}

fn cement_outside(level: &str, ml: f64) -> bool {
    let v = planned(
        frac("level", json!(level)),
        json!({"type": "vertebroplasty", "level": level, "cement_volume_ml": ml}),
    );
    alert(&assess(&v), "cement_volume_outside_range").is_some()
}

#[test]
fn thoracic_cement_range_edges_3_and_5_are_inside() {
    assert!(!cement_outside("T8", 3.0));
    assert!(!cement_outside("T8", 5.0));
    assert!(cement_outside("T8", 2.9));
    assert!(cement_outside("T8", 5.1));
}

#[test]
fn lumbar_cement_range_edges_4_and_7_are_inside() {
    assert!(!cement_outside("L3", 4.0));
    assert!(!cement_outside("L3", 7.0));
    assert!(cement_outside("L3", 3.9));
    assert!(cement_outside("L3", 7.1));
}

fn performed(v: Value, extra: Value) -> Value {
    let mut p = json!({"type": "kyphoplasty", "level": "L1", "date": days_before(2)});
    for (k, x) in extra.as_object().unwrap() {
        p[k] = x.clone();
    }
    with(with(v, "/procedure", p), "/phase", json!("post_procedure"))
}

#[test]
fn height_restoration_90_is_not_over_90() {
    let r = assess(&performed(base(), json!({"height_restoration_pct": 90})));
    assert!(alert(&r, "height_restoration_over_90pct").is_none());
    assert!(
        !r.risks
            .adjacent_fracture
            .as_ref()
            .unwrap()
            .factors
            .contains(&"height_restoration_over_90pct".to_owned())
    );
}

#[test]
fn height_restoration_90_1_is_over_90() {
    let r = assess(&performed(base(), json!({"height_restoration_pct": 90.1})));
    assert!(alert(&r, "height_restoration_over_90pct").is_some());
    assert!(
        r.risks
            .adjacent_fracture
            .as_ref()
            .unwrap()
            .factors
            .contains(&"height_restoration_over_90pct".to_owned())
    );
}

#[test]
fn cement_leakage_alerts_and_intradiscal_factor() {
    let r = assess(&performed(
        base(),
        json!({"cement_leakage": ["spinal_canal", "venous", "intradiscal"]}),
    ));
    assert_eq!(
        severity(&r, "cement_leakage_spinal_canal"),
        Some(Severity::Critical)
    );
    assert_eq!(
        severity(&r, "cement_leakage_venous"),
        Some(Severity::Warning)
    );
    assert!(
        r.risks
            .adjacent_fracture
            .as_ref()
            .unwrap()
            .factors
            .contains(&"intradiscal_cement_leakage".to_owned())
    );
}

// ───────────────────────── 9.1 OF score ─────────────────────────

/// All OF-score items known: OF3 (6) + T −2.0 (0) + no progression (−1) + VAS 7 (+1) +
/// no deficit (0) + mobilisation possible (−1) + ASA 2, mFI 1 (0) = 5.
fn of_base() -> Value {
    let mut v = frac("of_type", json!("OF3"));
    set(&mut v, "/fractures/0/deformity_progression", json!(false));
    set(
        &mut v,
        "/patient/mobilisation_under_analgesia",
        json!("possible"),
    );
    set(&mut v, "/patient/modified_frailty_index", json!(1));
    set(&mut v, "/bone_density/dxa/lumbar_spine_t", json!(-2.0));
    v
}

fn of(v: &Value) -> OfScore {
    assess(v).fractures[0].of_score.clone().unwrap()
}

fn of_item(s: &OfScore, item: &str) -> (Option<i32>, OfItemStatus) {
    let i = s.items.iter().find(|i| i.item == item).unwrap();
    (i.points, i.status)
}

#[test]
fn of_score_all_known_5_is_conservative() {
    let s = of(&of_base());
    assert_eq!(s.points, Some(5));
    assert_eq!((s.min_points, s.max_points), (5, 5));
    assert_eq!(s.interpretation, OfInterpretation::Conservative);
    assert!(s.items.iter().all(|i| i.status == OfItemStatus::Scored));
}

#[test]
fn of_score_6_is_either() {
    let s = of(&with(
        of_base(),
        "/bone_density/dxa/lumbar_spine_t",
        json!(-3.5),
    ));
    assert_eq!(of_item(&s, "osteoporosis_severity").0, Some(1));
    assert_eq!(s.points, Some(6));
    assert_eq!(s.interpretation, OfInterpretation::Either);
}

#[test]
fn of_score_7_is_surgical() {
    let s = of(&with(
        of_base(),
        "/patient/mobilisation_under_analgesia",
        json!("not_possible"),
    ));
    assert_eq!(s.points, Some(7));
    assert_eq!(s.interpretation, OfInterpretation::Surgical);
}

#[test]
fn of_score_unknown_morphology_spans_2_to_10_undetermined() {
    let s = of(&without(of_base(), "/fractures/0/of_type"));
    assert_eq!(s.points, None);
    assert_eq!(of_item(&s, "morphology"), (None, OfItemStatus::Unknown));
    assert_eq!((s.min_points, s.max_points), (1, 9));
    assert_eq!(s.interpretation, OfInterpretation::Undetermined);
}

#[test]
fn of_score_unknown_health_within_one_band_keeps_interpretation() {
    // Health unknown (ASA, mFI absent): −2…0 → 3…5, all conservative.
    let v = without(
        without(of_base(), "/patient/asa_class"),
        "/patient/modified_frailty_index",
    );
    let s = of(&v);
    assert_eq!(s.points, None);
    assert_eq!(of_item(&s, "health_status").1, OfItemStatus::Unknown);
    assert_eq!((s.min_points, s.max_points), (3, 5));
    assert_eq!(s.interpretation, OfInterpretation::Conservative);
}

#[test]
fn of_score_unknown_health_across_cut_off_is_undetermined() {
    let v = without(
        without(
            with(
                of_base(),
                "/patient/mobilisation_under_analgesia",
                json!("not_possible"),
            ),
            "/patient/asa_class",
        ),
        "/patient/modified_frailty_index",
    );
    let s = of(&v);
    assert_eq!((s.min_points, s.max_points), (5, 7));
    assert_eq!(s.interpretation, OfInterpretation::Undetermined);
}

#[test]
fn of_score_health_already_at_minus_2_is_known() {
    // ASA 4 and anticoagulation: −2 whatever the mFI (rule 10.15).
    let mut v = without(of_base(), "/patient/modified_frailty_index");
    set(&mut v, "/patient/asa_class", json!(4));
    set(
        &mut v,
        "/patient/comorbidities",
        json!(["anticoagulant_therapy"]),
    );
    let s = of(&v);
    assert_eq!(
        of_item(&s, "health_status"),
        (Some(-2), OfItemStatus::Scored)
    );
    assert_eq!(s.points, Some(3));
}

#[test]
fn of_score_health_counts_asa_over_3_and_mfi_over_2() {
    let v = with(of_base(), "/patient/asa_class", json!(3));
    assert_eq!(of_item(&of(&v), "health_status").0, Some(0));
    let v = with(of_base(), "/patient/asa_class", json!(4));
    assert_eq!(of_item(&of(&v), "health_status").0, Some(-1));
    let v = with(of_base(), "/patient/modified_frailty_index", json!(3));
    assert_eq!(of_item(&of(&v), "health_status").0, Some(-1));
}

#[test]
fn of_score_severity_unknown_without_t_or_usable_hu() {
    let v = without(of_base(), "/bone_density");
    let s = of(&v);
    assert_eq!(
        of_item(&s, "osteoporosis_severity").1,
        OfItemStatus::Unknown
    );
    assert_eq!((s.min_points, s.max_points), (5, 6));
    assert_eq!(s.interpretation, OfInterpretation::Undetermined);
    // HU of a fractured L1 is not usable: still unknown.
    let v = with(v, "/bone_density/ct_hu_l1", json!(50));
    assert_eq!(
        of_item(&of(&v), "osteoporosis_severity").1,
        OfItemStatus::Unknown
    );
}

#[test]
fn of_score_severity_from_usable_hu_at_most_90() {
    let mut v = with(
        without(of_base(), "/bone_density"),
        "/fractures/0/level",
        json!("L2"),
    );
    set(&mut v, "/bone_density/ct_hu_l1", json!(90));
    assert_eq!(of_item(&of(&v), "osteoporosis_severity").0, Some(1));
    set(&mut v, "/bone_density/ct_hu_l1", json!(90.1));
    assert_eq!(of_item(&of(&v), "osteoporosis_severity").0, Some(0));
}

#[test]
fn of_score_t_minus_3_0_is_not_severe() {
    let v = with(of_base(), "/bone_density/dxa/lumbar_spine_t", json!(-3.0));
    assert_eq!(of_item(&of(&v), "osteoporosis_severity").0, Some(0));
}

#[test]
fn of_score_progression_pain_mobilisation_neurology_items() {
    let s = of(&without(of_base(), "/fractures/0/deformity_progression"));
    assert_eq!(
        of_item(&s, "deformity_progression").1,
        OfItemStatus::Unknown
    );
    let s = of(&with(
        of_base(),
        "/fractures/0/deformity_progression",
        json!(true),
    ));
    assert_eq!(of_item(&s, "deformity_progression").0, Some(1));
    let s = of(&with(of_base(), "/fractures/0/pain_vas", json!(4.9)));
    assert_eq!(of_item(&s, "pain").0, Some(-1));
    let s = of(&with(of_base(), "/fractures/0/pain_vas", json!(5)));
    assert_eq!(of_item(&s, "pain").0, Some(1));
    let s = of(&without(of_base(), "/fractures/0/pain_vas"));
    assert_eq!(of_item(&s, "pain").1, OfItemStatus::Unknown);
    let s = of(&without(of_base(), "/patient/mobilisation_under_analgesia"));
    assert_eq!(of_item(&s, "mobilisation").1, OfItemStatus::Unknown);
    let s = of(&with(
        of_base(),
        "/patient/neurological_deficit",
        json!("radicular"),
    ));
    assert_eq!(of_item(&s, "neurology").0, Some(2));
    assert_eq!(s.points, Some(7));
}

// ───────────────────────── 6 risks ─────────────────────────

/// The count tier of 6.1 (`factor_tier`, rule 11.13) and the 6.1 factors: `base()` is an untreated
/// recent fracture, so its `tier` is raised to high and `recent_vertebral_fracture_untreated` added
/// (revision 3; see `mod r3_risk`), which never counts toward the 6.1 tier (11.28.4).
fn adjacent(v: &Value) -> (Tier, Vec<String>) {
    let r = assess(v);
    let a = r.risks.adjacent_fracture.as_ref().unwrap();
    let factors: Vec<String> = a
        .factors
        .iter()
        .filter(|f| *f != "recent_vertebral_fracture_untreated")
        .cloned()
        .collect();
    (a.factor_tier, factors)
}

#[test]
fn adjacent_tier_low_with_0_and_1_factors() {
    let (t, f) = adjacent(&with(base(), "/patient/sex", json!("male")));
    assert_eq!((t, f.len()), (Tier::Low, 0));
    let (t, f) = adjacent(&base());
    assert_eq!(t, Tier::Low);
    assert_eq!(f, vec!["female".to_owned()]);
}

#[test]
fn adjacent_age_74_is_not_advanced_75_is() {
    let (_, f) = adjacent(&with(base(), "/patient/age", json!(74)));
    assert!(!f.contains(&"advanced_age".to_owned()));
    let (t, f) = adjacent(&with(base(), "/patient/age", json!(75)));
    assert!(f.contains(&"advanced_age".to_owned()));
    assert_eq!(t, Tier::Moderate);
}

#[test]
fn adjacent_tier_moderate_with_3_factors() {
    let mut v = with(base(), "/patient/age", json!(75));
    set(
        &mut v,
        "/patient/comorbidities",
        json!(["glucocorticoid_use"]),
    );
    let (t, f) = adjacent(&v);
    assert_eq!(f.len(), 3, "{f:?}");
    assert_eq!(t, Tier::Moderate);
}

#[test]
fn adjacent_tier_high_with_4_factors_adds_low_modulus_cement() {
    let mut v = with(base(), "/patient/age", json!(75));
    set(
        &mut v,
        "/patient/comorbidities",
        json!(["glucocorticoid_use"]),
    );
    set(&mut v, "/bone_density/dxa/lumbar_spine_t", json!(-3.5));
    let r = assess(&v);
    let a = r.risks.adjacent_fracture.as_ref().unwrap();
    // Four 6.1 factors plus the 11.13 floor factor, which does not count (11.28.4).
    assert_eq!(a.factors.len(), 5, "{:?}", a.factors);
    assert_eq!(a.factor_tier, Tier::High);
    assert_eq!(a.tier, Tier::High);
    assert!(plan(&r).is_augmentation());
    assert!(
        r.treatment
            .techniques
            .contains(&Technique::LowModulusCement)
    );
}

#[test]
fn adjacent_multiple_vertebral_counts_present_and_prior() {
    let (_, f) = adjacent(&with(
        base(),
        "/patient/prior_vertebral_fractures",
        json!(1),
    ));
    assert!(f.contains(&"multiple_prior_vertebral_fractures".to_owned()));
    assert!(f.contains(&"irregular_antiosteoporosis_therapy".to_owned()));
    let (_, f) = adjacent(&with(
        base(),
        "/patient/prior_vertebral_fractures",
        json!(0),
    ));
    assert!(!f.contains(&"multiple_prior_vertebral_fractures".to_owned()));
}

#[test]
fn adjacent_irregular_therapy_prior_fracture_without_therapy_or_poor_adherence() {
    let (_, f) = adjacent(&with(
        base(),
        "/patient/prior_fragility_fractures",
        json!(1),
    ));
    assert!(f.contains(&"irregular_antiosteoporosis_therapy".to_owned()));
    let v = with_meds(
        with(base(), "/patient/prior_fragility_fractures", json!(1)),
        vec![med("zoledronic_acid", &months_before(3))],
    );
    let (_, f) = adjacent(&v);
    assert!(!f.contains(&"irregular_antiosteoporosis_therapy".to_owned()));
    let (_, f) = adjacent(&with(base(), "/patient/adherence", json!("poor")));
    assert!(f.contains(&"irregular_antiosteoporosis_therapy".to_owned()));
}

#[test]
fn adjacent_glucocorticoid_from_ongoing_medication() {
    let v = with_meds(base(), vec![med("glucocorticoid", &months_before(6))]);
    let r = assess(&v);
    assert!(
        r.risks
            .adjacent_fracture
            .as_ref()
            .unwrap()
            .factors
            .contains(&"glucocorticoid_use".to_owned())
    );
    // Glucocorticoid = non-union risk: NSAID avoided, cox2 offered.
    assert!(r.perioperative.avoid.contains(&Drug::Nsaid));
    assert!(
        r.perioperative
            .analgesia
            .iter()
            .any(|a| a.drug == Drug::Cox2Inhibitor)
    );
}

fn leakage(v: &Value) -> (Tier, Vec<String>) {
    let r = assess(v);
    let l = r.risks.cement_leakage.expect("augmentation planned");
    (l.tier, l.factors)
}

#[test]
fn leakage_tier_low_with_0_factors() {
    let (t, f) = leakage(&frac("height_loss_pct", json!(35)));
    assert_eq!((t, f.len()), (Tier::Low, 0), "{f:?}");
}

#[test]
fn leakage_tier_moderate_with_1_factor() {
    let (t, f) = leakage(&base());
    assert_eq!(f, vec!["vertebroplasty".to_owned()]);
    assert_eq!(t, Tier::Moderate);
}

#[test]
fn leakage_tier_moderate_with_2_factors() {
    let (t, f) = leakage(&frac("intravertebral_cleft", json!(true)));
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(t, Tier::Moderate);
}

#[test]
fn leakage_tier_high_with_3_factors_and_breach_techniques() {
    let v = with(
        frac("intravertebral_cleft", json!(true)),
        "/fractures/0/anterior_cortex_breach",
        json!(true),
    );
    let r = assess(&v);
    let l = r.risks.cement_leakage.clone().unwrap();
    assert_eq!(l.factors.len(), 3, "{:?}", l.factors);
    assert_eq!(l.tier, Tier::High);
    assert!(r.treatment.techniques.contains(&Technique::Eggshell));
    assert!(r.treatment.techniques.contains(&Technique::MeshContainer));
}

#[test]
fn leakage_factors_grade_3_wall_involved_and_volume_above_range() {
    let (_, f) = leakage(&frac("height_loss_pct", json!(45)));
    assert!(f.contains(&"genant_grade_3".to_owned()));
    let (_, f) = leakage(&frac("posterior_wall", json!("involved")));
    assert!(f.contains(&"posterior_wall_involved".to_owned()));
    let v = planned(
        base(),
        json!({"type": "vertebroplasty", "level": "L1", "cement_volume_ml": 7.5}),
    );
    let (_, f) = leakage(&v);
    assert!(f.contains(&"cement_volume_above_range".to_owned()));
    let v = planned(
        base(),
        json!({"type": "vertebroplasty", "level": "L1", "cement_volume_ml": 7}),
    );
    let (_, f) = leakage(&v);
    assert!(!f.contains(&"cement_volume_above_range".to_owned()));
}

#[test]
fn leakage_omitted_when_not_augmentation() {
    let r = assess(&frac("pain_vas", json!(3)));
    assert!(r.risks.cement_leakage.is_none());
}

// ───────────────────────── 7 follow-up ─────────────────────────

#[test]
fn follow_up_due_dates_clamp_to_month_end() {
    let v = with(base(), "/as_of", json!("2027-01-31"));
    let r = assess_json(&v.to_string(), as_of()).unwrap();
    let three = r
        .follow_up
        .iter()
        .find(|f| f.at_months == Some(3) && f.items.contains(&FollowUpItem::ClinicalReview))
        .unwrap();
    assert_eq!(three.from.to_string(), "2027-01-31");
    assert_eq!(three.due.to_string(), "2027-04-30");
    let six = r.follow_up.iter().find(|f| f.at_months == Some(6)).unwrap();
    assert_eq!(six.due.to_string(), "2027-07-31");
    let twelve = r
        .follow_up
        .iter()
        .find(|f| f.at_months == Some(12))
        .unwrap();
    assert_eq!(twelve.due.to_string(), "2028-01-31");
}

#[test]
fn conservative_acute_adds_1_month_review_clamped() {
    let v = with(frac("pain_vas", json!(4)), "/as_of", json!("2027-01-31"));
    let r = assess_json(&v.to_string(), as_of()).unwrap();
    assert_eq!(plan(&r), Plan::Conservative);
    let one = r.follow_up.iter().find(|f| f.at_months == Some(1)).unwrap();
    assert_eq!(one.due.to_string(), "2027-02-28");
    assert!(one.items.contains(&FollowUpItem::ClinicalReview));
    assert!(one.items.contains(&FollowUpItem::Radiograph));
    // Revision 3 (11.10, 11.26): day 10 after onset is past the bed-rest window (days 0–4).
    assert_eq!(r.perioperative.bed_rest_max_days, None);
}

#[test]
fn conservative_healed_chronic_has_no_1_month_and_no_bed_rest() {
    let mut v = frac("onset_days", json!(90));
    set(&mut v, "/fractures/0/mri", json!({"stir": "isointense"}));
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::Conservative);
    assert!(r.follow_up.iter().all(|f| f.at_months != Some(1)));
    assert_eq!(r.perioperative.bed_rest_max_days, None);
    assert!(follow_up(&r, AS_OF, 3).is_some());
}

#[test]
fn referral_and_workup_have_no_review_schedule() {
    let r = assess(&frac(
        "malignancy_signs",
        json!(["convex_posterior_border"]),
    ));
    assert!(
        r.follow_up
            .iter()
            .all(|f| !f.items.contains(&FollowUpItem::ClinicalReview))
    );
}

#[test]
fn dxa_follow_up_at_3_months_without_bmd_12_with() {
    let r = assess(&base());
    assert!(
        follow_up(&r, AS_OF, 3)
            .unwrap()
            .items
            .contains(&FollowUpItem::Dxa)
    );
    let r = dxa(-2.0);
    assert!(
        follow_up(&r, AS_OF, 12)
            .unwrap()
            .items
            .contains(&FollowUpItem::Dxa)
    );
    assert!(
        !follow_up(&r, AS_OF, 3)
            .unwrap()
            .items
            .contains(&FollowUpItem::Dxa)
    );
}

// ───────────────────────── 0.6 performed vs planned ─────────────────────────

#[test]
fn procedure_dated_today_is_performed_and_level_excluded() {
    let mut v = with(
        base(),
        "/procedure",
        json!({"type": "kyphoplasty", "level": "L1", "date": AS_OF}),
    );
    set(&mut v, "/phase", json!("post_procedure"));
    let r = assess(&v);
    assert!(r.fractures[0].treated);
    assert_eq!(class0(&r), FractureClass::Treated);
    assert_eq!(plan(&r), Plan::Conservative);
    assert!(r.treatment.per_level.is_empty());
    assert!(r.risks.cement_leakage.is_none());
    assert_eq!(r.perioperative.mobilize_within_hours, Some(24.0));
    assert!(r.procedure_checks.as_ref().unwrap().performed);
    let three = follow_up(&r, AS_OF, 3).unwrap();
    assert!(three.items.contains(&FollowUpItem::ClinicalReview));
}

#[test]
fn procedure_dated_tomorrow_is_planned() {
    let v = with(
        base(),
        "/procedure",
        json!({"type": "vertebroplasty", "level": "L1", "date": as_of().add_days(1).to_string()}),
    );
    let r = assess(&v);
    assert!(!r.fractures[0].treated);
    assert_eq!(plan(&r), Plan::Vertebroplasty);
    assert!(r.risks.cement_leakage.is_some());
    assert!(!r.procedure_checks.as_ref().unwrap().performed);
}

#[test]
fn performed_follow_up_counts_from_procedure_date() {
    let date = days_before(10);
    let v = performed(base(), json!({"date": date}));
    let r = assess(&v);
    let three = follow_up(&r, &date, 3).expect("review from procedure date");
    assert_eq!(three.due, Date::parse(&date).unwrap().add_months(3));
    assert!(three.items.contains(&FollowUpItem::Radiograph));
}

#[test]
fn treated_level_is_left_out_of_the_plan() {
    let mut v = two_levels(json!({
        "level": "L2", "onset_days": 10, "pain_vas": 7, "imaging": ["mri"],
        "mri": {"stir": "hyperintense"}, "height_loss_pct": 30, "posterior_wall": "intact"
    }));
    v = performed(v, json!({}));
    let r = assess(&v);
    assert_eq!(class0(&r), FractureClass::Treated);
    assert!(plan(&r).is_augmentation());
    assert_eq!(r.treatment.per_level.len(), 1);
    assert_eq!(r.treatment.per_level[0].level.as_str(), "L2");
}

#[test]
fn perioperative_after_augmentation_branch_lasts_6_weeks() {
    // Revision 3 (11.12 as amended by 11.28): days 0–42 inclusive; "within 24 h" only on days 0–1.
    let r = assess(&performed(base(), json!({"date": days_before(41)})));
    assert_eq!(r.perioperative.mobilize_within_hours, None);
    assert_eq!(
        serde_json::to_value(r.perioperative.brace).unwrap(),
        json!("soft_or_dynamic")
    );
    let r = assess(&performed(base(), json!({"date": days_before(42)})));
    assert_eq!(
        serde_json::to_value(r.perioperative.context).unwrap(),
        json!("post_procedure")
    );
    let r = assess(&performed(base(), json!({"date": days_before(43)})));
    assert_eq!(
        serde_json::to_value(r.perioperative.context).unwrap(),
        json!("non_operative")
    );
}

#[test]
fn neuro_deficit_refers_even_when_no_untreated_level_remains() {
    let v = with(
        performed(base(), json!({})),
        "/patient/neurological_deficit",
        json!("radicular"),
    );
    assert_eq!(plan(&assess(&v)), Plan::SurgicalReferral);
}

// ───────────────────────── 10.14 validation ─────────────────────────

fn error_paths(v: &Value) -> Vec<String> {
    errors(v).into_iter().map(|e| e.path).collect()
}

#[test]
fn procedure_without_date_rejected_when_phase_not_initial() {
    let mut v = with(
        base(),
        "/procedure",
        json!({"type": "kyphoplasty", "level": "L1"}),
    );
    set(&mut v, "/phase", json!("follow_up"));
    assert_eq!(error_paths(&v), vec!["procedure.date"]);
}

#[test]
fn procedure_without_date_rejected_with_cement_leakage() {
    let v = with(
        base(),
        "/procedure",
        json!({"type": "kyphoplasty", "level": "L1", "cement_leakage": ["venous"]}),
    );
    assert_eq!(error_paths(&v), vec!["procedure.date"]);
}

#[test]
fn procedure_without_date_rejected_with_height_restoration() {
    let v = with(
        base(),
        "/procedure",
        json!({"type": "kyphoplasty", "level": "L1", "height_restoration_pct": 50}),
    );
    assert_eq!(error_paths(&v), vec!["procedure.date"]);
}

#[test]
fn planned_procedure_without_date_is_accepted_in_initial_phase() {
    let v = with(
        base(),
        "/procedure",
        json!({"type": "kyphoplasty", "level": "L1", "vertebral_body_volume_ml": 25, "cement_volume_ml": 5}),
    );
    let r = assess(&v);
    assert!(!r.procedure_checks.as_ref().unwrap().performed);
    assert!(plan(&r).is_augmentation());
}

// ───────────────────────── 4 perioperative / renal ─────────────────────────

fn egfr(v: f64) -> AssessmentReport {
    assess(&with(base(), "/labs/egfr_ml_min", json!(v)))
}

#[test]
fn egfr_34_9_avoids_bisphosphonates() {
    let r = egfr(34.9);
    for d in [
        Drug::Alendronate,
        Drug::Risedronate,
        Drug::Ibandronate,
        Drug::ZoledronicAcid,
    ] {
        assert_eq!(
            avoid_reason(&r, d).as_deref(),
            Some("renal_contraindication"),
            "{d:?}"
        );
    }
    assert!(alert(&r, "renal_contraindication").is_some());
    assert!(
        r.pharmacotherapy
            .recommended
            .iter()
            .all(|d| !d.is_bisphosphonate())
    );
}

#[test]
fn egfr_35_allows_bisphosphonates() {
    let r = egfr(35.0);
    assert!(!avoided(&r, Drug::ZoledronicAcid));
    assert!(alert(&r, "renal_contraindication").is_none());
    assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
}

#[test]
fn egfr_29_9_avoids_nsaid_and_pth_and_triggers_ckd_mbd() {
    let r = assess(&with(
        with(base(), "/labs/egfr_ml_min", json!(29.9)),
        "/patient/adherence",
        json!("good"),
    ));
    assert!(r.perioperative.avoid.contains(&Drug::Nsaid));
    assert!(r.perioperative.avoid.contains(&Drug::Cox2Inhibitor));
    assert!(
        r.perioperative
            .analgesia
            .iter()
            .all(|a| a.drug != Drug::Nsaid)
    );
    assert_eq!(
        avoid_reason(&r, Drug::Teriparatide).as_deref(),
        Some("pth_contraindication")
    );
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert_eq!(severity(&r, "ckd_mbd_workup"), Some(Severity::Critical));
}

#[test]
fn egfr_30_allows_nsaid_and_pth_without_ckd_mbd() {
    let r = assess(&with(
        with(base(), "/labs/egfr_ml_min", json!(30)),
        "/patient/adherence",
        json!("good"),
    ));
    assert!(!r.perioperative.avoid.contains(&Drug::Nsaid));
    assert!(
        r.perioperative
            .analgesia
            .iter()
            .any(|a| a.drug == Drug::Nsaid)
    );
    assert!(!avoided(&r, Drug::Teriparatide));
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert!(alert(&r, "ckd_mbd_workup").is_none());
}

#[test]
fn crcl_wins_over_egfr() {
    let mut v = with(base(), "/labs/egfr_ml_min", json!(60));
    set(&mut v, "/labs/crcl_ml_min", json!(25));
    let r = assess(&v);
    assert!(avoided(&r, Drug::ZoledronicAcid));
    assert!(r.perioperative.avoid.contains(&Drug::Nsaid));
}

#[test]
fn absent_renal_function_is_assumed_and_drug_choice_proceeds() {
    let r = assess(&base());
    assert!(assumed(&r, "labs.egfr_ml_min"));
    assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
}

#[test]
fn analgesia_paracetamol_first_calcitonin_acute_opioid_vas_7() {
    let r = assess(&base());
    assert_eq!(r.perioperative.analgesia[0].drug, Drug::Paracetamol);
    let calcitonin = r
        .perioperative
        .analgesia
        .iter()
        .find(|a| a.drug == Drug::Calcitonin)
        .unwrap();
    assert_eq!(calcitonin.max_days, Some(28));
    let nsaid = r
        .perioperative
        .analgesia
        .iter()
        .find(|a| a.drug == Drug::Nsaid)
        .unwrap();
    assert_eq!(nsaid.max_days, Some(21));
    assert!(
        r.perioperative
            .analgesia
            .iter()
            .any(|a| a.drug == Drug::Opioid)
    );
    let r = assess(&frac("pain_vas", json!(6.9)));
    assert!(
        r.perioperative
            .analgesia
            .iter()
            .all(|a| a.drug != Drug::Opioid)
    );
    let r = assess(&frac("onset_days", json!(42)));
    assert!(
        r.perioperative
            .analgesia
            .iter()
            .all(|a| a.drug != Drug::Calcitonin)
    );
}

#[test]
fn nsaid_avoided_for_cardiovascular_or_bleeding_risk() {
    for c in [
        "heart_failure",
        "coronary_disease",
        "recent_mi_or_stroke",
        "anticoagulant_therapy",
        "coagulopathy",
    ] {
        let r = assess(&with(base(), "/patient/comorbidities", json!([c])));
        assert!(r.perioperative.avoid.contains(&Drug::Nsaid), "{c}");
        assert!(r.perioperative.avoid.contains(&Drug::Cox2Inhibitor), "{c}");
        assert!(
            r.perioperative
                .analgesia
                .iter()
                .all(|a| a.drug != Drug::Nsaid && a.drug != Drug::Cox2Inhibitor),
            "{c}"
        );
    }
}

#[test]
fn nsaid_ongoing_21_days_no_alert_22_days_alert() {
    let r = assess(&with_meds(base(), vec![med("nsaid", &days_before(21))]));
    assert!(alert(&r, "nsaid_over_3_weeks").is_none());
    let r = assess(&with_meds(base(), vec![med("nsaid", &days_before(22))]));
    assert!(alert(&r, "nsaid_over_3_weeks").is_some());
}

// ───────────────────────── 5.1 / 10.1 / 10.2 calcium, vitamin D ─────────────────────────

fn labs(key: &str, x: f64) -> AssessmentReport {
    assess(&with(base(), &format!("/labs/{key}"), json!(x)))
}

#[test]
fn calcium_2_09_is_hypocalcaemia_deferring_the_antiresorptive() {
    let r = labs("calcium_mmol_l", 2.09);
    assert!(alert(&r, "hypocalcaemia").is_some());
    assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
    assert!(!avoided(&r, Drug::ZoledronicAcid), "10.1: never avoided");
    assert!(!avoided(&r, Drug::Denosumab), "10.1: never avoided");
    assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
    assert_eq!(
        r.pharmacotherapy.deferred_reason,
        Some(DeferredReason::CalciumCorrection)
    );
}

#[test]
fn calcium_2_10_is_normal() {
    let r = labs("calcium_mmol_l", 2.10);
    assert!(alert(&r, "hypocalcaemia").is_none());
    assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks); // 11.3: labs still unknown
}

#[test]
fn calcium_2_60_is_not_hypercalcaemia() {
    let r = labs("calcium_mmol_l", 2.60);
    assert!(alert(&r, "hypercalcaemia").is_none());
    assert!(
        r.pharmacotherapy
            .recommended
            .contains(&Drug::CalciumVitaminD)
    );
}

#[test]
fn calcium_2_61_is_hypercalcaemia_nothing_recommended() {
    let r = labs("calcium_mmol_l", 2.61);
    assert_eq!(severity(&r, "hypercalcaemia"), Some(Severity::Critical));
    assert!(r.pharmacotherapy.recommended.is_empty());
    assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
    assert_eq!(
        r.pharmacotherapy.deferred_reason,
        Some(DeferredReason::HypercalcaemiaInvestigation)
    );
    assert_eq!(
        avoid_reason(&r, Drug::Teriparatide).as_deref(),
        Some("pth_contraindication")
    );
}

#[test]
fn hypercalcaemia_keeps_a_recent_denosumab_on_schedule() {
    let v = with_meds(
        with(base(), "/labs/calcium_mmol_l", json!(2.7)),
        vec![
            json!({"drug": "denosumab", "start": months_before(24), "last_dose": days_before(90)}),
        ],
    );
    let r = assess(&v);
    assert_eq!(r.pharmacotherapy.recommended, vec![Drug::Denosumab]);
    assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
}

#[test]
fn vitamin_d_49_9_defers_first_zoledronic_dose() {
    let r = labs("vitamin_d_nmol_l", 49.9);
    assert!(alert(&r, "vitamin_d_deficiency").is_some());
    assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
    assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
    assert_eq!(
        r.pharmacotherapy.deferred_reason,
        Some(DeferredReason::VitaminDRepletion)
    );
}

#[test]
fn vitamin_d_50_is_sufficient() {
    let r = labs("vitamin_d_nmol_l", 50.0);
    assert!(alert(&r, "vitamin_d_deficiency").is_none());
    assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks); // 11.3: labs still unknown
}

#[test]
fn absent_calcium_and_vitamin_d_are_assumed() {
    let r = assess(&base());
    assert!(assumed(&r, "labs.calcium_mmol_l"));
    assert!(assumed(&r, "labs.vitamin_d_nmol_l"));
}

// ───────────────────────── 5.7 denosumab timing ─────────────────────────

fn dmab_ongoing(last_dose_days: i64) -> Value {
    json!({"drug": "denosumab", "start": months_before(30), "last_dose": days_before(last_dose_days)})
}

#[test]
fn denosumab_last_dose_210_days_is_timely() {
    let r = assess(&with_meds(base(), vec![dmab_ongoing(210)]));
    assert!(alert(&r, "denosumab_overdue").is_none());
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
    assert!(alert(&r, "no_antiosteoporosis_therapy").is_none());
}

#[test]
fn denosumab_last_dose_211_days_is_overdue() {
    let r = assess(&with_meds(base(), vec![dmab_ongoing(211)]));
    assert_eq!(severity(&r, "denosumab_overdue"), Some(Severity::Critical));
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks); // 11.3: labs still unknown
    let zero = follow_up(&r, AS_OF, 0).expect("injection now");
    assert!(zero.items.contains(&FollowUpItem::DenosumabInjection));
}

#[test]
fn denosumab_timely_injections_every_6_months_from_last_dose() {
    let r = assess(&with_meds(base(), vec![dmab_ongoing(90)]));
    let last = days_before(90);
    let next = follow_up(&r, &last, 6).expect("next injection from the last dose");
    assert!(next.items.contains(&FollowUpItem::DenosumabInjection));
}

#[test]
fn denosumab_stopped_8_months_ago_is_rebound_resume_now() {
    let stop = months_before(8);
    let v = with_meds(
        base(),
        vec![
            json!({"drug": "denosumab", "start": months_before(40), "end": stop, "last_dose": stop}),
        ],
    );
    let r = assess(&v);
    assert_eq!(severity(&r, "denosumab_overdue"), Some(Severity::Critical));
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks); // 11.3: labs still unknown
    assert!(!r.pharmacotherapy.recommended.contains(&Drug::Teriparatide));
}

#[test]
fn denosumab_stopped_8_months_ago_with_poor_adherence_switches_to_zoledronic_now() {
    let stop = months_before(8);
    let v = with_meds(
        with(base(), "/patient/adherence", json!("poor")),
        vec![
            json!({"drug": "denosumab", "start": months_before(40), "end": stop, "last_dose": stop}),
        ],
    );
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
    assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks); // 11.3: labs still unknown
    // 11.28.11: a stopped denosumab is avoided for poor adherence, not as a planned transition.
    assert_eq!(
        avoid_reason(&r, Drug::Denosumab).as_deref(),
        Some("poor_adherence")
    );
}

#[test]
fn denosumab_stopped_30_months_ago_has_no_overdue_alert() {
    let stop = months_before(30);
    let v = with_meds(
        base(),
        vec![
            json!({"drug": "denosumab", "start": months_before(60), "end": stop, "last_dose": stop}),
        ],
    );
    let r = assess(&v);
    assert!(alert(&r, "denosumab_overdue").is_none());
    assert!(alert(&r, "no_antiosteoporosis_therapy").is_some());
}

#[test]
fn denosumab_stopped_followed_by_bisphosphonate_has_no_rebound_alert() {
    let stop = months_before(10);
    let v = with_meds(
        base(),
        vec![
            json!({"drug": "denosumab", "start": months_before(40), "end": stop, "last_dose": stop}),
            json!({"drug": "zoledronic_acid", "start": months_before(9), "end": months_before(9)}),
        ],
    );
    let r = assess(&v);
    assert!(alert(&r, "denosumab_overdue").is_none());
}

#[test]
fn denosumab_stopped_less_than_7_months_after_last_dose_counts_as_ongoing() {
    // Very high risk (T −3.5), yet never teriparatide next (10.3).
    let stop = months_before(5);
    let mut v = with_meds(
        base(),
        vec![
            json!({"drug": "denosumab", "start": months_before(40), "end": stop, "last_dose": stop}),
        ],
    );
    set(&mut v, "/bone_density/dxa/lumbar_spine_t", json!(-3.5));
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert_ne!(r.pharmacotherapy.start, StartTiming::Now);
    assert!(alert(&r, "denosumab_overdue").is_none());
    assert!(alert(&r, "no_antiosteoporosis_therapy").is_none());
}

#[test]
fn denosumab_ongoing_without_last_dose_warns() {
    let v = with_meds(base(), vec![med("denosumab", &months_before(20))]);
    let r = assess(&v);
    assert_eq!(
        severity(&r, "denosumab_last_dose_unknown"),
        Some(Severity::Warning)
    );
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
}

#[test]
fn fracture_on_timely_denosumab_continues_denosumab_even_if_very_high_risk() {
    let mut v = with_meds(base(), vec![dmab_ongoing(60)]);
    set(&mut v, "/bone_density/dxa/lumbar_spine_t", json!(-3.5));
    set(&mut v, "/patient/prior_vertebral_fractures", json!(2));
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
    assert!(!r.pharmacotherapy.recommended.contains(&Drug::Teriparatide));
}

#[test]
fn denosumab_poor_adherence_plans_transition_to_zoledronic_6_months_after_last_dose() {
    let mut v = with_meds(base(), vec![dmab_ongoing(60)]);
    set(&mut v, "/patient/adherence", json!("poor"));
    let r = assess(&v);
    assert!(alert(&r, "denosumab_poor_adherence").is_some());
    assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
    assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
    assert_eq!(
        r.pharmacotherapy.deferred_reason,
        Some(DeferredReason::PlannedTransition)
    );
    let last = as_of().add_days(-60);
    assert_eq!(r.pharmacotherapy.start_date, Some(last.add_months(6)));
    assert_eq!(
        avoid_reason(&r, Drug::Denosumab).as_deref(),
        Some("planned_transition")
    );
}

#[test]
fn denosumab_poor_adherence_with_bisphosphonates_avoided_keeps_denosumab() {
    let mut v = with_meds(base(), vec![dmab_ongoing(60)]);
    set(&mut v, "/patient/adherence", json!("poor"));
    set(&mut v, "/labs/egfr_ml_min", json!(32));
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert!(!avoided(&r, Drug::Denosumab));
}

#[test]
fn denosumab_rebound_with_renal_and_poor_adherence_resumes_denosumab() {
    // 10.4: resume with adherence support whatever the adherence; never teriparatide.
    let stop = months_before(9);
    let mut v = with_meds(
        base(),
        vec![
            json!({"drug": "denosumab", "start": months_before(40), "end": stop, "last_dose": stop}),
        ],
    );
    set(&mut v, "/patient/adherence", json!("poor"));
    set(&mut v, "/labs/egfr_ml_min", json!(32));
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert!(!avoided(&r, Drug::Denosumab));
    assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks); // 11.3: labs still unknown
}

// ───────────────────────── 5.3–5.6, 10.x drug choice ─────────────────────────

#[test]
fn no_ongoing_therapy_alerts_and_zoledronic_when_adherence_unknown() {
    let r = assess(&base());
    assert_eq!(
        severity(&r, "no_antiosteoporosis_therapy"),
        Some(Severity::Warning)
    );
    assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
    assert_eq!(
        r.pharmacotherapy.recommended.last(),
        Some(&Drug::CalciumVitaminD)
    );
}

#[test]
fn good_adherence_chooses_alendronate() {
    let r = assess(&with(base(), "/patient/adherence", json!("good")));
    assert_eq!(first_drug(&r), Some(Drug::Alendronate));
}

#[test]
fn two_vertebral_fractures_present_plus_prior_are_very_high_risk() {
    let r = assess(&with(
        base(),
        "/patient/prior_vertebral_fractures",
        json!(1),
    ));
    assert_eq!(first_drug(&r), Some(Drug::Teriparatide));
    assert_eq!(
        r.pharmacotherapy
            .max_duration_months
            .get(&Drug::Teriparatide),
        Some(&24)
    );
    assert_eq!(r.pharmacotherapy.then, vec![Drug::ZoledronicAcid]);
    assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks); // 11.3: labs still unknown
}

#[test]
fn pathological_levels_do_not_count_as_vertebral_fractures() {
    let v = two_levels(json!({
        "level": "L2", "onset_days": 10, "pain_vas": 7, "imaging": ["mri"],
        "mri": {"stir": "hyperintense"}, "height_loss_pct": 30, "posterior_wall": "intact",
        "malignancy_signs": ["other_osseous_lesions"]
    }));
    let r = assess(&v);
    // Revision 3 (11.9): no adjacent-fracture statement while a level is suspected pathological
    // (the count of 5.3/11.15 belongs to the drug rules' tests).
    assert!(r.risks.adjacent_fracture.is_none());
    assert!(r.risks.imminent_fracture.is_none());
}

#[test]
fn fracture_on_bisphosphonate_is_very_high_risk_teriparatide_then_antiresorptive() {
    let v = with_meds(
        base(),
        vec![
            med("alendronate", &months_before(30)),
            json!({"drug": "teriparatide", "start": months_before(40), "end": months_before(30)}),
        ],
    );
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Teriparatide));
    assert_eq!(
        r.pharmacotherapy
            .max_duration_months
            .get(&Drug::Teriparatide),
        Some(&14)
    );
    assert_eq!(r.pharmacotherapy.then.len(), 1);
    let then = r.pharmacotherapy.then[0];
    assert!(
        then.is_bisphosphonate() || then == Drug::Denosumab,
        "{then:?}"
    );
}

#[test]
fn bisphosphonate_started_on_onset_day_is_not_a_failure() {
    let v = with_meds(base(), vec![med("alendronate", &days_before(10))]);
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Alendronate));
    assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
    let v = with_meds(base(), vec![med("alendronate", &days_before(11))]);
    assert_eq!(first_drug(&assess(&v)), Some(Drug::Teriparatide));
}

#[test]
fn fracture_on_bisphosphonate_with_onset_unknown_is_not_tested_and_assumed() {
    let v = with_meds(
        without(base(), "/fractures/0/onset_days"),
        vec![med("alendronate", &months_before(30))],
    );
    let r = assess(&v);
    assert_ne!(first_drug(&r), Some(Drug::Teriparatide));
    assert!(assumed(&r, "fractures[0].onset_days"));
}

#[test]
fn fracture_on_bisphosphonate_with_pth_avoided_is_denosumab() {
    // 10.7.
    let mut v = with_meds(base(), vec![med("alendronate", &months_before(30))]);
    set(
        &mut v,
        "/patient/comorbidities",
        json!(["malignancy_history"]),
    );
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    // Poor adherence: zoledronic acid after a failed oral drug.
    set(&mut v, "/patient/adherence", json!("poor"));
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
}

#[test]
fn renal_below_35_with_good_adherence_is_denosumab() {
    let mut v = with(base(), "/labs/egfr_ml_min", json!(32));
    set(&mut v, "/patient/adherence", json!("good"));
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks); // 11.3: labs still unknown
    assert!(alert(&r, "ckd_mbd_workup").is_none());
}

#[test]
fn renal_below_35_with_poor_adherence_is_teriparatide() {
    let mut v = with(base(), "/labs/egfr_ml_min", json!(32));
    set(&mut v, "/patient/adherence", json!("poor"));
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Teriparatide));
    assert_eq!(
        avoid_reason(&r, Drug::Denosumab).as_deref(),
        Some("poor_adherence")
    );
    // 10.9: nothing fits after the course.
    assert!(r.pharmacotherapy.then.is_empty());
    assert!(alert(&r, "no_suitable_drug").is_some());
}

#[test]
fn renal_below_30_poor_adherence_and_malignancy_history_is_no_suitable_drug() {
    let mut v = with(base(), "/labs/egfr_ml_min", json!(25));
    set(&mut v, "/patient/adherence", json!("poor"));
    set(
        &mut v,
        "/patient/comorbidities",
        json!(["malignancy_history"]),
    );
    let r = assess(&v);
    assert!(alert(&r, "no_suitable_drug").is_some());
    assert_eq!(r.pharmacotherapy.recommended, vec![Drug::CalciumVitaminD]);
    assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
    assert_eq!(
        r.pharmacotherapy.deferred_reason,
        Some(DeferredReason::SpecialistReview)
    );
}

#[test]
fn suspected_pathological_recommends_only_calcium_vitamin_d() {
    let r = assess(&frac(
        "malignancy_signs",
        json!(["diffuse_marrow_replacement"]),
    ));
    assert_eq!(r.pharmacotherapy.recommended, vec![Drug::CalciumVitaminD]);
    assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
    assert_eq!(
        r.pharmacotherapy.deferred_reason,
        Some(DeferredReason::PathologyWorkup)
    );
    assert!(avoided(&r, Drug::Teriparatide));
}

#[test]
fn suspected_pathological_keeps_recent_denosumab_on_schedule() {
    let v = with_meds(
        frac("malignancy_signs", json!(["diffuse_marrow_replacement"])),
        vec![dmab_ongoing(90)],
    );
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
}

#[test]
fn romosozumab_avoided_with_recent_mi_or_stroke() {
    let r = assess(&with(
        base(),
        "/patient/comorbidities",
        json!(["recent_mi_or_stroke"]),
    ));
    assert_eq!(
        avoid_reason(&r, Drug::Romosozumab).as_deref(),
        Some("recent_mi_or_stroke")
    );
    assert!(!r.pharmacotherapy.recommended.contains(&Drug::Romosozumab));
}

#[test]
fn romosozumab_avoided_with_coronary_disease() {
    let r = assess(&with(
        base(),
        "/patient/comorbidities",
        json!(["coronary_disease"]),
    ));
    assert_eq!(
        avoid_reason(&r, Drug::Romosozumab).as_deref(),
        Some("cardiovascular_or_bleeding_risk")
    );
}

#[test]
fn romosozumab_never_recommended_first_even_at_very_high_risk() {
    let mut v = with(base(), "/bone_density/dxa/lumbar_spine_t", json!(-4.0));
    set(&mut v, "/patient/prior_vertebral_fractures", json!(3));
    assert_ne!(first_drug(&assess(&v)), Some(Drug::Romosozumab));
    set(&mut v, "/labs/egfr_ml_min", json!(20));
    set(&mut v, "/patient/adherence", json!("poor"));
    assert_ne!(first_drug(&assess(&v)), Some(Drug::Romosozumab));
}

#[test]
fn ongoing_romosozumab_continues_to_12_doses_then_antiresorptive() {
    let v = with_meds(base(), vec![med("romosozumab", &months_before(4))]);
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Romosozumab));
    assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
    assert_eq!(
        r.pharmacotherapy
            .max_duration_months
            .get(&Drug::Romosozumab),
        Some(&8)
    );
    assert_eq!(r.pharmacotherapy.then, vec![Drug::ZoledronicAcid]);
}

#[test]
fn ongoing_romosozumab_continues_at_very_high_risk() {
    let v = with(
        with_meds(base(), vec![med("romosozumab", &months_before(4))]),
        "/bone_density/dxa/lumbar_spine_t",
        json!(-3.5),
    );
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Romosozumab));
    assert!(!r.pharmacotherapy.then.is_empty());
}

fn teriparatide_for(months: i32, ongoing: bool) -> AssessmentReport {
    let m = if ongoing {
        med("teriparatide", &months_before(months))
    } else {
        json!({"drug": "teriparatide", "start": months_before(months + 3), "end": months_before(3)})
    };
    assess(&with_meds(base(), vec![m]))
}

#[test]
fn teriparatide_20_months_no_limit_alert() {
    let r = teriparatide_for(20, true);
    assert!(alert(&r, "teriparatide_limit").is_none());
    assert_eq!(first_drug(&r), Some(Drug::Teriparatide));
    assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
    assert_eq!(
        r.pharmacotherapy
            .max_duration_months
            .get(&Drug::Teriparatide),
        Some(&4)
    );
}

#[test]
fn teriparatide_21_and_23_months_ongoing_info_limit() {
    for m in [21, 23] {
        let r = teriparatide_for(m, true);
        assert_eq!(
            severity(&r, "teriparatide_limit"),
            Some(Severity::Info),
            "{m}"
        );
        assert!(!avoided(&r, Drug::Teriparatide), "{m}");
    }
}

#[test]
fn teriparatide_24_months_warning_and_avoided() {
    let r = teriparatide_for(24, true);
    assert_eq!(severity(&r, "teriparatide_limit"), Some(Severity::Warning));
    assert_eq!(
        avoid_reason(&r, Drug::Teriparatide).as_deref(),
        Some("max_duration_reached")
    );
    assert_ne!(first_drug(&r), Some(Drug::Teriparatide));
    assert!(first_drug(&r).is_some_and(|d| d.is_antiosteoporosis()));
}

#[test]
fn teriparatide_22_months_ended_and_not_first_choice_has_no_limit_alert() {
    // 10.11: the limit shows only while ongoing or first choice.
    let r = teriparatide_for(22, false);
    assert_ne!(first_drug(&r), Some(Drug::Teriparatide));
    assert!(alert(&r, "teriparatide_limit").is_none());
}

#[test]
fn teriparatide_22_months_ended_but_first_choice_alerts_info() {
    let mut v = with_meds(
        base(),
        vec![json!({"drug": "teriparatide", "start": months_before(25), "end": months_before(3)})],
    );
    set(&mut v, "/bone_density/dxa/lumbar_spine_t", json!(-3.5));
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Teriparatide));
    assert_eq!(
        r.pharmacotherapy
            .max_duration_months
            .get(&Drug::Teriparatide),
        Some(&2)
    );
    assert_eq!(severity(&r, "teriparatide_limit"), Some(Severity::Info));
}

#[test]
fn pth_months_add_teriparatide_and_abaloparatide() {
    let v = with_meds(
        base(),
        vec![
            json!({"drug": "teriparatide", "start": months_before(30), "end": months_before(18)}),
            med("abaloparatide", &months_before(12)),
        ],
    );
    let r = assess(&v);
    assert_eq!(
        avoid_reason(&r, Drug::Abaloparatide).as_deref(),
        Some("max_duration_reached")
    );
}

fn bisphosphonate_for(drug: &str, months: i32) -> AssessmentReport {
    // A healed chronic fracture that began before the drug: no failure.
    let mut v = with_meds(base(), vec![med(drug, &months_before(months))]);
    set(&mut v, "/fractures/0/onset_days", json!(5000));
    assess(&v)
}

#[test]
fn oral_bisphosphonate_59_months_no_holiday_60_holiday_review() {
    assert!(
        alert(
            &bisphosphonate_for("alendronate", 59),
            "bisphosphonate_holiday_review"
        )
        .is_none()
    );
    assert_eq!(
        severity(
            &bisphosphonate_for("alendronate", 60),
            "bisphosphonate_holiday_review"
        ),
        Some(Severity::Info)
    );
}

#[test]
fn iv_bisphosphonate_35_months_no_holiday_36_holiday_review() {
    assert!(
        alert(
            &bisphosphonate_for("zoledronic_acid", 35),
            "bisphosphonate_holiday_review"
        )
        .is_none()
    );
    assert_eq!(
        severity(
            &bisphosphonate_for("zoledronic_acid", 36),
            "bisphosphonate_holiday_review"
        ),
        Some(Severity::Info)
    );
}

#[test]
fn ongoing_bisphosphonate_not_failed_continues() {
    let r = bisphosphonate_for("risedronate", 12);
    assert_eq!(first_drug(&r), Some(Drug::Risedronate));
    assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
}

// ───────────────────────── validation of required fields ─────────────────────────

#[test]
fn required_fields_are_never_defaulted() {
    for ptr in [
        "/patient/neurological_deficit",
        "/patient/age",
        "/patient/sex",
        "/fractures/0/level",
    ] {
        let e = error_paths(&without(base(), ptr));
        let want = ptr
            .trim_start_matches('/')
            .replace("/0/", "[0].")
            .replace('/', ".");
        assert!(e.contains(&want), "{ptr}: {e:?}");
    }
}

// ───────────────────────── further conventions ─────────────────────────

#[test]
fn imaging_mri_without_signal_object_is_unknown_with_stir_missing() {
    let v = without(frac("imaging", json!(["mri"])), "/fractures/0/mri");
    let r = assess(&v);
    assert_eq!(class0(&r), FractureClass::Unknown);
    assert!(
        r.treatment
            .missing
            .contains(&"fractures[0].mri.stir".to_owned())
    );
}

#[test]
fn explicit_nonunion_false_does_not_cancel_diabetes() {
    let mut v = with(base(), "/patient/comorbidities", json!(["diabetes"]));
    set(&mut v, "/patient/nonunion_risk", json!(false));
    let r = assess(&v);
    assert!(r.perioperative.avoid.contains(&Drug::Nsaid));
    assert!(
        r.perioperative
            .analgesia
            .iter()
            .any(|a| a.drug == Drug::Cox2Inhibitor)
    );
}

#[test]
fn pathological_fracture_with_t_minus_2_5_is_osteoporosis_not_severe() {
    let v = with(
        frac("malignancy_signs", json!(["other_osseous_lesions"])),
        "/bone_density/dxa/lumbar_spine_t",
        json!(-2.5),
    );
    let r = assess(&v);
    assert_eq!(
        serde_json::to_value(r.bone_density.diagnosis).unwrap(),
        json!("osteoporosis")
    );
}

#[test]
fn referral_has_no_bed_rest_no_mobilisation_and_brace_per_surgeon() {
    let r = assess(&with(
        base(),
        "/patient/neurological_deficit",
        json!("complete"),
    ));
    assert_eq!(r.perioperative.mobilize_within_hours, None);
    assert_eq!(r.perioperative.bed_rest_max_days, None);
    // Revision 3 (11.6): spinal precautions; the brace is the spine surgeon's decision.
    assert_eq!(
        serde_json::to_value(r.perioperative.brace).unwrap(),
        json!("per_surgeon")
    );
    assert_eq!(r.perioperative.analgesia[0].drug, Drug::Paracetamol);
}

#[test]
fn treated_level_is_neither_acute_nor_unhealed_for_periop_and_follow_up() {
    let r = assess(&performed(base(), json!({})));
    assert!(
        r.perioperative
            .analgesia
            .iter()
            .all(|a| a.drug != Drug::Calcitonin)
    );
    assert_eq!(r.perioperative.bed_rest_max_days, None);
    assert!(r.follow_up.iter().all(|f| f.at_months != Some(1)));
}

#[test]
fn bone_turnover_markers_when_a_drug_starts_not_when_it_continues() {
    let r = assess(&base());
    assert!(
        follow_up(&r, AS_OF, 3)
            .unwrap()
            .items
            .contains(&FollowUpItem::BoneTurnoverMarkers)
    );
    let r = bisphosphonate_for("risedronate", 12);
    assert!(
        r.follow_up
            .iter()
            .all(|f| !f.items.contains(&FollowUpItem::BoneTurnoverMarkers))
    );
}

#[test]
fn hypocalcaemia_defers_the_next_denosumab_injection_never_stops_it() {
    let v = with_meds(
        with(base(), "/labs/calcium_mmol_l", json!(2.0)),
        vec![dmab_ongoing(150)],
    );
    let r = assess(&v);
    assert_eq!(first_drug(&r), Some(Drug::Denosumab));
    assert!(!avoided(&r, Drug::Denosumab));
    assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
    assert_eq!(
        r.pharmacotherapy.deferred_reason,
        Some(DeferredReason::CalciumCorrection)
    );
}

#[test]
fn low_vitamin_d_does_not_defer_a_continuing_denosumab() {
    let v = with_meds(
        with(base(), "/labs/vitamin_d_nmol_l", json!(30)),
        vec![dmab_ongoing(60)],
    );
    let r = assess(&v);
    assert!(alert(&r, "vitamin_d_deficiency").is_some());
    assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
}

#[test]
fn ongoing_denosumab_with_renal_below_30_triggers_ckd_mbd() {
    let v = with_meds(
        with(base(), "/labs/egfr_ml_min", json!(20)),
        vec![dmab_ongoing(60)],
    );
    assert_eq!(
        severity(&assess(&v), "ckd_mbd_workup"),
        Some(Severity::Critical)
    );
}

#[test]
fn ongoing_abaloparatide_under_limit_continues() {
    let r = assess(&with_meds(
        base(),
        vec![med("abaloparatide", &months_before(6))],
    ));
    assert_eq!(first_drug(&r), Some(Drug::Abaloparatide));
    assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
    assert_eq!(
        r.pharmacotherapy
            .max_duration_months
            .get(&Drug::Abaloparatide),
        Some(&18)
    );
}

#[test]
fn alerts_are_unique_and_critical_first() {
    let mut v = frac("malignancy_signs", json!(["epidural_or_paraspinal_mass"]));
    set(&mut v, "/patient/neurological_deficit", json!("incomplete"));
    set(&mut v, "/fractures/0/imaging", json!(["xray"]));
    set(&mut v, "/labs/calcium_mmol_l", json!(2.0));
    let r = assess(&v);
    let codes: Vec<&str> = r.alerts.iter().map(|a| a.code.as_str()).collect();
    let mut dedup = codes.clone();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!(dedup.len(), codes.len(), "{codes:?}");
    let sev: Vec<Severity> = r.alerts.iter().map(|a| a.severity).collect();
    let mut sorted = sev.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sev, sorted);
}

/// Rule 0.6 with §7: reviews after a performed procedure count from its date, and a new
/// augmentation planned at another level counts from `as_of`; both schedules are kept.
#[test]
fn performed_procedure_and_new_augmentation_each_keep_their_review_anchor() {
    let mut v = base();
    set(&mut v, "/phase", json!("follow_up"));
    let treated = json!({"level": "T12", "onset_days": 120, "pain_vas": 2, "imaging": ["mri"],
        "mri": {"stir": "isointense"}, "height_loss_pct": 30, "posterior_wall": "intact"});
    v["fractures"].as_array_mut().unwrap().push(treated);
    let performed = days_before(100);
    set(
        &mut v,
        "/procedure",
        json!({"type": "kyphoplasty", "level": "T12", "date": performed}),
    );
    let r = assess(&v);
    assert_eq!(plan(&r), Plan::Vertebroplasty);
    assert_eq!(r.treatment.per_level.len(), 1);
    let froms: std::collections::BTreeSet<String> = r
        .follow_up
        .iter()
        .filter(|f| f.items.contains(&FollowUpItem::ClinicalReview))
        .map(|f| f.from.to_string())
        .collect();
    assert!(froms.contains(&performed), "{froms:?}");
    assert!(froms.contains(AS_OF), "{froms:?}");
}

// ───────────────────────── revision 3: drug rules (11.2–11.5, 11.9, 11.15, 11.18, 11.21, 11.28) ─────────────────────────

mod r3_drug {
    use super::*;
    use ovcf_core::report::{
        Dose, Monitoring, PreDoseCheckCode as Check, PreDoseRequirement as Req,
        UnverifiedCriterion, VeryHighCriterion as Vh,
    };

    /// `base()` with renal function, calcium and 25(OH)D known and within limits.
    fn known(v: Value) -> Value {
        let mut v = v;
        set(&mut v, "/labs/egfr_ml_min", json!(60));
        set(&mut v, "/labs/calcium_mmol_l", json!(2.3));
        set(&mut v, "/labs/vitamin_d_nmol_l", json!(60));
        v
    }

    fn lab(v: Value, key: &str, x: Value) -> Value {
        with(v, &format!("/labs/{key}"), x)
    }

    fn checks(r: &AssessmentReport) -> Vec<(Check, Drug, bool)> {
        r.pharmacotherapy
            .pre_dose_checks
            .iter()
            .map(|c| (c.code, c.drug, c.blocking))
            .collect()
    }

    fn check(
        r: &AssessmentReport,
        code: Check,
        drug: Drug,
    ) -> Option<&ovcf_core::report::PreDoseCheck> {
        r.pharmacotherapy
            .pre_dose_checks
            .iter()
            .find(|c| c.code == code && c.drug == drug)
    }

    fn en(r: &AssessmentReport, code: &str) -> String {
        alert(r, code)
            .map(|a| a.message.en.to_string())
            .unwrap_or_default()
    }

    fn zh(r: &AssessmentReport, code: &str) -> String {
        alert(r, code)
            .map(|a| a.message.zh.to_string())
            .unwrap_or_default()
    }

    fn dmab_new_good(egfr: f64) -> AssessmentReport {
        let v = with(known(base()), "/patient/adherence", json!("good"));
        assess(&lab(v, "egfr_ml_min", json!(egfr)))
    }

    // ── 11.2 renal function named ──

    #[test]
    fn egfr_is_named_with_its_unit_in_the_report_and_the_alert() {
        let r = assess(&lab(known(base()), "egfr_ml_min", json!(25)));
        let rf = &r.pharmacotherapy.renal_function;
        assert_eq!(
            serde_json::to_value(rf).unwrap(),
            json!({"measure": "egfr", "value": 25.0, "unit": "mL/min/1.73 m²"})
        );
        assert!(en(&r, "renal_contraindication").contains("eGFR 25 mL/min/1.73 m²"));
        assert!(zh(&r, "renal_contraindication").contains("eGFR 25 mL/min/1.73 m²"));
        assert!(!en(&r, "renal_contraindication").contains("Renal function 25"));
    }

    #[test]
    fn crcl_wins_over_egfr_and_34_avoids_bisphosphonates_35_does_not() {
        let v = lab(known(base()), "crcl_ml_min", json!(34));
        let r = assess(&v);
        assert_eq!(
            r.pharmacotherapy.renal_function.measure,
            Some(ovcf_core::report::RenalMeasureCode::Crcl)
        );
        assert_eq!(
            r.pharmacotherapy.renal_function.unit.as_deref(),
            Some("mL/min")
        );
        assert!(avoided(&r, Drug::ZoledronicAcid) && avoided(&r, Drug::Alendronate));
        assert!(en(&r, "renal_contraindication").contains("CrCl (Cockcroft–Gault) 34 mL/min"));
        let r = assess(&lab(known(base()), "crcl_ml_min", json!(35)));
        assert!(!avoided(&r, Drug::ZoledronicAcid));
        assert!(alert(&r, "renal_contraindication").is_none());
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
    }

    #[test]
    fn unknown_renal_function_is_null_and_a_blocking_check() {
        let v = lab(
            lab(base(), "calcium_mmol_l", json!(2.3)),
            "vitamin_d_nmol_l",
            json!(60),
        );
        let r = assess(&v);
        let rf = &r.pharmacotherapy.renal_function;
        assert!(rf.measure.is_none() && rf.value.is_none() && rf.unit.is_none());
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
        let c = check(&r, Check::RenalFunction, Drug::ZoledronicAcid).expect("renal check");
        assert!(c.blocking);
        assert_eq!(c.requirement, Req::CrclAtLeast35);
        assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks);
        assert!(r.pharmacotherapy.deferred_reason.is_none());
        assert!(r.pharmacotherapy.start_date.is_none());
        assert_eq!(
            severity(&r, "pre_dose_checks_pending"),
            Some(Severity::Warning)
        );
        assert!(en(&r, "pre_dose_checks_pending").contains("zoledronic acid"));
        assert!(zh(&r, "pre_dose_checks_pending").contains("唑来膦酸"));
    }

    #[test]
    fn denosumab_with_unknown_renal_function_needs_egfr_or_crcl_30() {
        // Poor adherence would avoid a new denosumab; a timely one continues, checks listed.
        let v = with_meds(
            base(),
            vec![
                json!({"drug": "denosumab", "start": months_before(12), "last_dose": days_before(60)}),
            ],
        );
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::Denosumab));
        assert_eq!(
            r.pharmacotherapy.start,
            StartTiming::Continue,
            "11.3 rule 3"
        );
        let c = check(&r, Check::RenalFunction, Drug::Denosumab).expect("renal check");
        assert_eq!(c.requirement, Req::EgfrOrCrclAtLeast30);
        assert!(
            check(&r, Check::DentalReview, Drug::Denosumab).is_none(),
            "continue"
        );
        assert!(alert(&r, "pre_dose_checks_pending").is_none());
    }

    // ── 11.3 pre-dose checks ──

    #[test]
    fn all_labs_unknown_lists_the_checks_in_table_order() {
        let r = assess(&base());
        assert_eq!(
            checks(&r),
            vec![
                (Check::RenalFunction, Drug::ZoledronicAcid, true),
                (Check::SerumCalcium, Drug::ZoledronicAcid, true),
                (Check::VitaminD25oh, Drug::ZoledronicAcid, false),
                (Check::DentalReview, Drug::ZoledronicAcid, false),
            ]
        );
        assert_eq!(
            r.summary.drug.blocking_checks,
            vec![Check::RenalFunction, Check::SerumCalcium]
        );
    }

    #[test]
    fn known_labs_leave_only_the_non_blocking_dental_review_and_start_now() {
        let r = assess(&known(base()));
        assert_eq!(
            checks(&r),
            vec![(Check::DentalReview, Drug::ZoledronicAcid, false)]
        );
        assert_eq!(r.pharmacotherapy.start, StartTiming::Now);
        assert!(alert(&r, "pre_dose_checks_pending").is_none());
    }

    #[test]
    fn dental_clearance_removes_the_dental_review() {
        let r = assess(&with(known(base()), "/clearances/dental", json!(true)));
        assert!(r.pharmacotherapy.pre_dose_checks.is_empty());
    }

    #[test]
    fn pth_analogue_needs_calcium_at_most_2_60() {
        let v = lab(
            with(base(), "/patient/prior_vertebral_fractures", json!(1)),
            "egfr_ml_min",
            json!(60),
        );
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::Teriparatide));
        let c = check(&r, Check::SerumCalcium, Drug::Teriparatide).expect("calcium check");
        assert_eq!(c.requirement, Req::CalciumAtMost2_60);
        assert!(check(&r, Check::DentalReview, Drug::Teriparatide).is_none());
        assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks);
    }

    #[test]
    fn pathological_fracture_with_calcium_unknown_lists_the_calcium_vitamin_d_check() {
        let r = assess(&frac("malignancy_signs", json!(["other_osseous_lesions"])));
        let c = check(&r, Check::SerumCalcium, Drug::CalciumVitaminD).expect("cvd check");
        assert!(c.blocking);
        assert_eq!(c.requirement, Req::ExcludeHypercalcaemia);
        assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
        assert_eq!(
            r.pharmacotherapy.deferred_reason,
            Some(DeferredReason::PathologyWorkup)
        );
        // 11.9: no "no therapy" alert while pathology is suspected, and the reason is recorded.
        assert!(alert(&r, "no_antiosteoporosis_therapy").is_none());
        assert!(
            r.explanation
                .iter()
                .any(|e| e.decision == "alerts.no_antiosteoporosis_therapy" && e.rule == "11.9")
        );
        let r = assess(&lab(
            frac("malignancy_signs", json!(["other_osseous_lesions"])),
            "calcium_mmol_l",
            json!(2.3),
        ));
        assert!(check(&r, Check::SerumCalcium, Drug::CalciumVitaminD).is_none());
    }

    #[test]
    fn resumed_denosumab_with_calcium_unknown_waits_for_the_checks() {
        let stop = months_before(8);
        let v = with_meds(
            lab(base(), "egfr_ml_min", json!(60)),
            vec![
                json!({"drug": "denosumab", "start": months_before(40), "end": stop, "last_dose": stop}),
            ],
        );
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::Denosumab));
        assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks);
        assert!(check(&r, Check::SerumCalcium, Drug::Denosumab).is_some());
    }

    // ── 11.4 denosumab with renal function < 30 ──

    #[test]
    fn egfr_29_defers_a_new_denosumab_for_the_ckd_mbd_workup_30_does_not() {
        let r = dmab_new_good(29.0);
        assert_eq!(first_drug(&r), Some(Drug::Denosumab));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
        assert_eq!(
            r.pharmacotherapy.deferred_reason,
            Some(DeferredReason::CkdMbdWorkup)
        );
        let c = check(&r, Check::CkdMbdPanel, Drug::Denosumab).expect("panel");
        assert!(c.blocking);
        assert_eq!(c.requirement, Req::CkdMbdSpecialistReview);
        assert_eq!(severity(&r, "ckd_mbd_workup"), Some(Severity::Critical));
        assert!(en(&r, "ckd_mbd_workup").contains("eGFR 29 mL/min/1.73 m²"));
        assert!(r.pharmacotherapy.monitoring.is_empty());
        let r = dmab_new_good(30.0);
        assert_eq!(first_drug(&r), Some(Drug::Denosumab));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Now);
        assert!(alert(&r, "ckd_mbd_workup").is_none());
        assert!(check(&r, Check::CkdMbdPanel, Drug::Denosumab).is_none());
    }

    #[test]
    fn ckd_mbd_clearance_lets_the_rules_decide_with_weekly_calcium() {
        let v = with(
            with(known(base()), "/patient/adherence", json!("good")),
            "/clearances/ckd_mbd",
            json!(true),
        );
        let r = assess(&lab(v, "egfr_ml_min", json!(25)));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Now);
        assert_eq!(severity(&r, "ckd_mbd_workup"), Some(Severity::Warning));
        assert_eq!(
            r.pharmacotherapy.monitoring,
            vec![Monitoring::CalciumWeeklyFirstMonthThenMonthly]
        );
        assert!(check(&r, Check::CkdMbdPanel, Drug::Denosumab).is_none());
    }

    #[test]
    fn timely_denosumab_with_egfr_25_continues_with_the_panel_blocking_the_next_dose() {
        let v = with_meds(
            lab(known(base()), "egfr_ml_min", json!(25)),
            vec![
                json!({"drug": "denosumab", "start": months_before(18), "last_dose": days_before(100)}),
            ],
        );
        let r = assess(&v);
        assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
        assert!(check(&r, Check::CkdMbdPanel, Drug::Denosumab).is_some_and(|c| c.blocking));
        assert_eq!(severity(&r, "ckd_mbd_workup"), Some(Severity::Critical));
    }

    #[test]
    fn overdue_denosumab_with_egfr_25_is_deferred_for_the_workup() {
        let v = with_meds(
            lab(known(base()), "egfr_ml_min", json!(25)),
            vec![
                json!({"drug": "denosumab", "start": months_before(18), "last_dose": days_before(249)}),
            ],
        );
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::Denosumab));
        assert_eq!(
            r.pharmacotherapy.deferred_reason,
            Some(DeferredReason::CkdMbdWorkup)
        );
        assert!(zh(&r, "denosumab_overdue").contains("249 天前"));
    }

    #[test]
    fn denosumab_as_follow_on_with_egfr_25_raises_a_warning_only() {
        // 11.28.13: romosozumab continues; denosumab only in `then`.
        let v = with_meds(
            lab(known(base()), "egfr_ml_min", json!(25)),
            vec![med("romosozumab", &months_before(3))],
        );
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::Romosozumab));
        assert_eq!(r.pharmacotherapy.then, vec![Drug::Denosumab]);
        assert_eq!(severity(&r, "ckd_mbd_workup"), Some(Severity::Warning));
        assert!(check(&r, Check::CkdMbdPanel, Drug::Denosumab).is_none());
        assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
    }

    // ── 11.5 surgical decision and precedence ──

    fn referral(v: Value) -> Value {
        with(v, "/patient/neurological_deficit", json!("incomplete"))
    }

    #[test]
    fn surgical_referral_defers_a_new_bisphosphonate() {
        let r = assess(&referral(known(base())));
        assert_eq!(plan(&r), Plan::SurgicalReferral);
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
        assert_eq!(
            r.pharmacotherapy.deferred_reason,
            Some(DeferredReason::SurgicalDecision)
        );
        assert!(
            r.recommendations
                .iter()
                .any(|x| x.id == "drug.timing_around_surgery")
        );
        // Without the referral the same patient starts now.
        assert_eq!(
            assess(&known(base())).pharmacotherapy.start,
            StartTiming::Now
        );
    }

    #[test]
    fn surgical_referral_keeps_an_ongoing_drug_and_never_delays_denosumab() {
        let v = with_meds(
            referral(known(base())),
            vec![med("alendronate", &days_before(5))],
        );
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::Alendronate));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
        let v = with(referral(known(base())), "/patient/adherence", json!("good"));
        let r = assess(&lab(v, "egfr_ml_min", json!(32)));
        assert_eq!(first_drug(&r), Some(Drug::Denosumab));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Now);
    }

    #[test]
    fn calcium_correction_wins_over_the_surgical_decision() {
        let r = assess(&lab(referral(known(base())), "calcium_mmol_l", json!(2.0)));
        assert_eq!(
            r.pharmacotherapy.deferred_reason,
            Some(DeferredReason::CalciumCorrection)
        );
        assert!(en(&r, "hypocalcaemia").contains("2.00 mmol/L"));
    }

    #[test]
    fn calcium_correction_wins_over_a_dated_transition_which_keeps_its_date() {
        // 11.28.16: poor adherence, timely denosumab, hypocalcaemia.
        let last = days_before(90);
        let mut v = with_meds(
            lab(known(base()), "calcium_mmol_l", json!(2.05)),
            vec![json!({"drug": "denosumab", "start": months_before(18), "last_dose": last})],
        );
        set(&mut v, "/patient/adherence", json!("poor"));
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
        assert_eq!(
            r.pharmacotherapy.deferred_reason,
            Some(DeferredReason::CalciumCorrection)
        );
        let expected = Date::parse(&last).unwrap().add_months(6);
        assert_eq!(r.pharmacotherapy.start_date, Some(expected));
    }

    #[test]
    fn hypercalcaemia_with_a_pathological_fracture_is_a_pathology_workup() {
        let v = lab(
            frac("malignancy_signs", json!(["other_osseous_lesions"])),
            "calcium_mmol_l",
            json!(2.8),
        );
        let r = assess(&v);
        assert!(r.pharmacotherapy.recommended.is_empty());
        assert_eq!(
            r.pharmacotherapy.deferred_reason,
            Some(DeferredReason::PathologyWorkup)
        );
        assert!(en(&r, "hypercalcaemia").contains("2.80 mmol/L"));
    }

    #[test]
    fn poor_adherence_transition_without_a_last_dose_has_no_date() {
        // 11.28.15
        let mut v = with_meds(known(base()), vec![med("denosumab", &months_before(10))]);
        set(&mut v, "/patient/adherence", json!("poor"));
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
        assert_eq!(
            r.pharmacotherapy.deferred_reason,
            Some(DeferredReason::PlannedTransition)
        );
        assert!(r.pharmacotherapy.start_date.is_none());
        assert!(alert(&r, "denosumab_last_dose_unknown").is_some());
        assert!(en(&r, "denosumab_poor_adherence").contains("Confirm the last injection date"));
    }

    #[test]
    fn vitamin_d_deficiency_defers_only_a_first_dose() {
        // 11.28.23: a resumption is not deferred for vitamin D; the alert still fires.
        let stop = months_before(8);
        let v = with_meds(
            lab(known(base()), "vitamin_d_nmol_l", json!(40)),
            vec![
                json!({"drug": "denosumab", "start": months_before(40), "end": stop, "last_dose": stop}),
            ],
        );
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::Denosumab));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Now);
        assert!(alert(&r, "vitamin_d_deficiency").is_some());
        let r = assess(&lab(known(base()), "vitamin_d_nmol_l", json!(40)));
        assert_eq!(
            r.pharmacotherapy.deferred_reason,
            Some(DeferredReason::VitaminDRepletion)
        );
    }

    // ── 11.21 course end ──

    #[test]
    fn teriparatide_course_end_is_dated_24_months_from_its_start() {
        let v = with_meds(
            with(
                known(base()),
                "/bone_density/dxa/lumbar_spine_t",
                json!(-3.2),
            ),
            vec![med("teriparatide", "2025-01-20")],
        );
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::Teriparatide));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
        let ce = r.pharmacotherapy.course_end.as_ref().expect("course end");
        assert_eq!(ce.date, Some(Date::parse("2027-01-20").unwrap()));
        assert_eq!(ce.months_remaining, 2);
        assert_eq!(ce.switch_to, Some(Drug::ZoledronicAcid));
        assert_eq!(ce.from, Some(Date::parse("2025-01-20").unwrap()));
        assert_eq!(ce.at_months, Some(24));
        assert_eq!(r.summary.drug.course_end, ce.date);
        assert!(
            zh(&r, "teriparatide_limit").contains("特立帕肽剩余 2 个月（2027-01-20 满 24 个月")
        );
        assert!(en(&r, "teriparatide_limit").contains("remaining"));
        assert!(!en(&r, "teriparatide_limit").contains("maximum"));
        assert!(
            r.pharmacotherapy.anabolic_options.is_empty(),
            "first choice is anabolic"
        );
    }

    #[test]
    fn new_teriparatide_counts_ended_months_and_after_checks_has_no_date() {
        let ended =
            json!({"drug": "teriparatide", "start": months_before(20), "end": months_before(14)});
        let v = with_meds(
            with(
                known(base()),
                "/patient/prior_vertebral_fractures",
                json!(1),
            ),
            vec![ended.clone()],
        );
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::Teriparatide));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Now);
        let ce = r.pharmacotherapy.course_end.as_ref().expect("course end");
        assert_eq!(ce.at_months, Some(18));
        assert_eq!(ce.date, Some(as_of().add_months(18)));
        assert_eq!(ce.months_remaining, 18);
        // Calcium unknown: after_checks, no date, months still given.
        let v = with_meds(
            with(
                lab(base(), "egfr_ml_min", json!(60)),
                "/patient/prior_vertebral_fractures",
                json!(1),
            ),
            vec![ended],
        );
        let r = assess(&v);
        assert_eq!(r.pharmacotherapy.start, StartTiming::AfterChecks);
        let ce = r.pharmacotherapy.course_end.as_ref().expect("course end");
        assert_eq!(
            (ce.date, ce.from, ce.at_months, ce.months_remaining),
            (None, None, None, 18)
        );
    }

    #[test]
    fn romosozumab_11_months_continues_12_months_is_complete() {
        let r = assess(&with_meds(
            known(base()),
            vec![med("romosozumab", &months_before(11))],
        ));
        assert_eq!(first_drug(&r), Some(Drug::Romosozumab));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
        assert_eq!(
            r.pharmacotherapy
                .max_duration_months
                .get(&Drug::Romosozumab),
            Some(&1)
        );
        let ce = r.pharmacotherapy.course_end.as_ref().expect("course end");
        assert_eq!(ce.drug, Drug::Romosozumab);
        assert_eq!(ce.months_remaining, 1);
        assert_eq!(
            ce.date,
            Some(Date::parse(&months_before(11)).unwrap().add_months(12))
        );
        assert_eq!(ce.switch_to, Some(Drug::ZoledronicAcid));
        // 12 months: the follow-on antiresorptive, never a PTH analogue even at very high risk.
        let v = with(
            known(base()),
            "/bone_density/dxa/lumbar_spine_t",
            json!(-3.5),
        );
        let r = assess(&with_meds(v, vec![med("romosozumab", &months_before(12))]));
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
        assert!(!r.pharmacotherapy.recommended.contains(&Drug::Romosozumab));
        assert!(r.pharmacotherapy.course_end.is_none());
        assert!(r.risks.very_high_fracture_risk.flag);
    }

    #[test]
    fn denosumab_first_has_an_exit_plan() {
        let v = with_meds(
            known(base()),
            vec![
                json!({"drug": "denosumab", "start": months_before(12), "last_dose": days_before(60)}),
            ],
        );
        let r = assess(&v);
        let ep = r.pharmacotherapy.exit_plan.as_ref().expect("exit plan");
        assert_eq!(ep.then_drug, Some(Drug::ZoledronicAcid));
        assert_eq!(
            (ep.months_after_last_dose, ep.btm_check_months.clone()),
            (6, vec![3, 6])
        );
        let r = dmab_new_good(32.0);
        assert_eq!(
            r.pharmacotherapy
                .exit_plan
                .as_ref()
                .and_then(|e| e.then_drug),
            None
        );
        assert!(assess(&known(base())).pharmacotherapy.exit_plan.is_none());
    }

    // ── 11.15 very-high flag ──

    fn vh(r: &AssessmentReport) -> (bool, Vec<Vh>) {
        let v = &r.risks.very_high_fracture_risk;
        (v.flag, v.criteria.clone())
    }

    #[test]
    fn multiple_vertebral_fractures_on_and_off() {
        let r = assess(&with(
            base(),
            "/patient/prior_vertebral_fractures",
            json!(1),
        ));
        assert_eq!(vh(&r), (true, vec![Vh::MultipleVertebralFractures]));
        assert_eq!(vh(&assess(&base())), (false, vec![]));
    }

    #[test]
    fn pathological_fractures_do_not_count_for_the_flag() {
        let v = two_levels(json!({
            "level": "L2", "onset_days": 10, "pain_vas": 7, "imaging": ["mri"],
            "mri": {"stir": "hyperintense"}, "height_loss_pct": 30, "posterior_wall": "intact",
            "malignancy_signs": ["other_osseous_lesions"]
        }));
        assert!(!vh(&assess(&v)).0);
    }

    #[test]
    fn recent_fracture_age_65_t_minus_2_5_on_and_each_boundary_off() {
        let v = with(
            known(base()),
            "/bone_density/dxa/femoral_neck_t",
            json!(-2.5),
        );
        let on = with(v.clone(), "/patient/age", json!(65));
        let r = assess(&on);
        assert_eq!(
            vh(&r),
            (true, vec![Vh::RecentVertebralFractureAge65TLeMinus2_5])
        );
        // Not a 5.3 criterion: the first choice stays the bisphosphonate, anabolics are options.
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
        assert_eq!(
            r.pharmacotherapy.anabolic_options,
            vec![Drug::Teriparatide, Drug::Abaloparatide, Drug::Romosozumab]
        );
        assert_eq!(
            severity(&r, "very_high_fracture_risk"),
            Some(Severity::Info)
        );
        assert!(en(&r, "very_high_fracture_risk").contains("anabolic-first"));
        assert!(!vh(&assess(&with(v.clone(), "/patient/age", json!(64)))).0);
        let t24 = with(on.clone(), "/bone_density/dxa/femoral_neck_t", json!(-2.4));
        assert!(!vh(&assess(&t24)).0);
        let old = with(on.clone(), "/fractures/0/onset_days", json!(365));
        let r = assess(&old);
        assert!(!vh(&r).0);
        assert_eq!(
            r.risks.very_high_fracture_risk.unverified_criteria_met,
            vec![UnverifiedCriterion::RecentVertebralFractureWithin24Months]
        );
        let r = assess(&with(on, "/fractures/0/onset_days", json!(364)));
        assert_eq!(
            r.risks.very_high_fracture_risk.unverified_criteria_met,
            vec![
                UnverifiedCriterion::RecentFractureWithin12Months,
                UnverifiedCriterion::RecentVertebralFractureWithin24Months
            ]
        );
    }

    #[test]
    fn anabolic_options_leave_out_avoided_drugs() {
        let mut v = with(
            known(base()),
            "/bone_density/dxa/femoral_neck_t",
            json!(-2.5),
        );
        set(
            &mut v,
            "/patient/comorbidities",
            json!(["coronary_disease"]),
        );
        let r = assess(&v);
        assert_eq!(
            r.pharmacotherapy.anabolic_options,
            vec![Drug::Teriparatide, Drug::Abaloparatide]
        );
        assert!(
            assess(&known(base()))
                .pharmacotherapy
                .anabolic_options
                .is_empty()
        );
    }

    #[test]
    fn t_score_below_minus_3_on_and_off() {
        let r = assess(&with(
            base(),
            "/bone_density/dxa/lumbar_spine_t",
            json!(-3.01),
        ));
        assert!(vh(&r).1.contains(&Vh::TScoreBelowMinus3));
        let r = assess(&with(
            base(),
            "/bone_density/dxa/lumbar_spine_t",
            json!(-3.0),
        ));
        assert!(!vh(&r).1.contains(&Vh::TScoreBelowMinus3));
    }

    #[test]
    fn fracture_on_bisphosphonate_on_and_off() {
        let r = assess(&with_meds(
            base(),
            vec![med("alendronate", &months_before(6))],
        ));
        assert_eq!(vh(&r), (true, vec![Vh::FractureOnBisphosphonate]));
        let r = assess(&with_meds(
            base(),
            vec![med("alendronate", &days_before(5))],
        ));
        assert!(!vh(&r).0);
    }

    // ── 11.18 dosing ──

    fn cvd(r: &AssessmentReport) -> (f64, f64) {
        match r
            .pharmacotherapy
            .dosing
            .get(&Drug::CalciumVitaminD)
            .map(|d| &d.dose)
        {
            Some(Dose::CalciumVitaminD {
                calcium_mg_day,
                vitamin_d_iu_day,
            }) => (*calcium_mg_day, *vitamin_d_iu_day),
            other => panic!("no calcium + vitamin D dose: {other:?}"),
        }
    }

    #[test]
    fn calcium_and_vitamin_d_by_age_and_sex() {
        let who = |age: u32, sex: &str| {
            let v = with(base(), "/patient/age", json!(age));
            cvd(&assess(&with(v, "/patient/sex", json!(sex))))
        };
        assert_eq!(who(70, "female"), (1200.0, 1000.0));
        assert_eq!(who(64, "female"), (1200.0, 800.0));
        assert_eq!(who(65, "female"), (1200.0, 1000.0));
        assert_eq!(who(60, "male"), (1000.0, 800.0));
        assert_eq!(who(70, "male"), (1000.0, 1000.0));
        assert_eq!(who(71, "male"), (1200.0, 1000.0));
    }

    #[test]
    fn every_recommended_and_then_drug_is_dosed() {
        let r = assess(&with(
            base(),
            "/patient/prior_vertebral_fractures",
            json!(1),
        ));
        let keys: Vec<Drug> = r.pharmacotherapy.dosing.keys().copied().collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        for d in r
            .pharmacotherapy
            .recommended
            .iter()
            .chain(&r.pharmacotherapy.then)
        {
            assert!(r.pharmacotherapy.dosing.contains_key(d), "{d:?}");
        }
        let t = &r.pharmacotherapy.dosing[&Drug::Teriparatide];
        assert_eq!(
            (t.dose.clone(), t.unit.as_deref()),
            (Dose::Amount(20.0), Some("µg"))
        );
        let z = &r.pharmacotherapy.dosing[&Drug::ZoledronicAcid];
        assert_eq!(z.dose, Dose::Amount(5.0));
        assert_eq!(r.summary.drug.dose.as_ref(), Some(t));
    }

    // ── 11.28.7, 11.28.20, 11.28.21 denosumab state ──

    fn stopped_10m(extra: Vec<Value>) -> AssessmentReport {
        let stop = months_before(10);
        let mut meds = vec![
            json!({"drug": "denosumab", "start": months_before(40), "end": stop, "last_dose": stop}),
        ];
        meds.extend(extra);
        assess(&with_meds(known(base()), meds))
    }

    #[test]
    fn bisphosphonate_since_the_stop_cancels_the_rebound_only_as_11_28_7_says() {
        // Zoledronic acid after the last dose: covered.
        let r = stopped_10m(vec![med("zoledronic_acid", &months_before(4))]);
        assert!(alert(&r, "denosumab_overdue").is_none());
        // An oral course that ended: not covered.
        let r = stopped_10m(vec![
            json!({"drug": "alendronate", "start": months_before(8), "end": months_before(2)}),
        ]);
        assert!(alert(&r, "denosumab_overdue").is_some());
        // An oral one still taken: covered.
        let r = stopped_10m(vec![med("alendronate", &months_before(8))]);
        assert!(alert(&r, "denosumab_overdue").is_none());
        // Started before the last dose: not covered.
        let r = stopped_10m(vec![
            json!({"drug": "zoledronic_acid", "start": months_before(12), "end": months_before(11)}),
        ]);
        assert!(alert(&r, "denosumab_overdue").is_some());
    }

    #[test]
    fn future_entries_count_for_nothing() {
        // 11.28.21: a bisphosphonate starting after as_of does not cancel the rebound …
        let future = as_of().add_days(10).to_string();
        let r = stopped_10m(vec![med("zoledronic_acid", &future)]);
        assert!(alert(&r, "denosumab_overdue").is_some());
        // … a future denosumab is not "on denosumab", a future teriparatide not ongoing.
        let r = assess(&with_meds(known(base()), vec![med("denosumab", &future)]));
        assert!(alert(&r, "denosumab_last_dose_unknown").is_none());
        assert!(alert(&r, "no_antiosteoporosis_therapy").is_some());
        let r = assess(&with_meds(
            known(base()),
            vec![med("teriparatide", &future)],
        ));
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
        assert!(r.pharmacotherapy.course_end.is_none());
    }

    #[test]
    fn every_denosumab_entry_counts() {
        // 11.28.20: an ongoing entry plus an older, closed entry with a later start.
        let meds = vec![
            json!({"drug": "denosumab", "start": months_before(30), "last_dose": days_before(60)}),
            json!({"drug": "denosumab", "start": months_before(20), "end": months_before(15), "last_dose": months_before(15)}),
        ];
        for order in [meds.clone(), meds.into_iter().rev().collect()] {
            let r = assess(&with_meds(known(base()), order));
            assert_eq!(first_drug(&r), Some(Drug::Denosumab));
            assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
            assert!(alert(&r, "denosumab_overdue").is_none());
            assert!(alert(&r, "no_antiosteoporosis_therapy").is_none());
        }
    }

    // ── 11.28.9 several ongoing drugs ──

    #[test]
    fn several_ongoing_drugs_keep_one_in_the_fixed_order_whatever_the_entry_order() {
        let cases = [
            (
                vec![
                    med("alendronate", &months_before(30)),
                    med("teriparatide", &months_before(5)),
                ],
                Drug::Teriparatide,
            ),
            (
                vec![
                    med("alendronate", &days_before(5)),
                    med("zoledronic_acid", &days_before(5)),
                ],
                Drug::ZoledronicAcid,
            ),
            (
                vec![
                    med("teriparatide", &months_before(5)),
                    json!({"drug": "denosumab", "start": months_before(12), "last_dose": days_before(60)}),
                ],
                Drug::Denosumab,
            ),
        ];
        for (meds, want) in cases {
            for order in [meds.clone(), meds.iter().rev().cloned().collect()] {
                let r = assess(&with_meds(known(base()), order));
                assert_eq!(first_drug(&r), Some(want));
                assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
                let anti: Vec<_> = r
                    .pharmacotherapy
                    .recommended
                    .iter()
                    .filter(|d| d.is_antiosteoporosis())
                    .collect();
                assert_eq!(anti, vec![&want], "no combination therapy");
            }
        }
    }

    // ── 11.23 explanation ──

    #[test]
    fn each_drug_decision_has_one_applied_entry_equal_to_the_report_field() {
        for v in [base(), known(base()), referral(base()), dmab_request()] {
            let r = assess(&v);
            let report = serde_json::to_value(&r).unwrap();
            for (decision, field) in [
                (
                    "pharmacotherapy.recommended",
                    "/pharmacotherapy/recommended",
                ),
                ("pharmacotherapy.start", "/pharmacotherapy/start"),
                (
                    "risks.very_high_fracture_risk",
                    "/risks/very_high_fracture_risk",
                ),
            ] {
                let applied: Vec<_> = r
                    .explanation
                    .iter()
                    .filter(|e| {
                        e.decision == decision && e.outcome == ovcf_core::report::Outcome::Applied
                    })
                    .collect();
                assert_eq!(applied.len(), 1, "{decision}");
                assert_eq!(
                    applied[0].value.as_ref(),
                    report.pointer(field),
                    "{decision}"
                );
            }
        }
    }

    fn dmab_request() -> Value {
        with_meds(
            known(base()),
            vec![
                json!({"drug": "denosumab", "start": months_before(12), "last_dose": days_before(60)}),
            ],
        )
    }
}

// ───────────────────────── revision 3: perioperative, treatment, validation ─────────────────────────

/// Decision rules revision 3, periop area: 11.6–11.8, 11.10–11.12, 11.17, 11.19, 11.20, 11.23 and
/// 11.28.2/3/6/8/10/14/17/19/26–29, each at its boundary.
mod r3_periop {
    use super::*;
    use ovcf_core::report::{
        AdjunctCode, Brace, MobilisationPlan, OfScoreAgreement, Outcome, PeriopContext,
        SpinalMeasure, Urgency, UrgentAction,
    };

    /// A conservative L2 case: 15 % loss, VAS 6, MRI oedema, wall intact, onset `days` ago.
    fn conservative(days: u32) -> Value {
        let mut v = base();
        set(&mut v, "/fractures/0/level", json!("L2"));
        set(&mut v, "/fractures/0/height_loss_pct", json!(15));
        set(&mut v, "/fractures/0/pain_vas", json!(6));
        set(&mut v, "/fractures/0/onset_days", json!(days));
        v
    }

    fn analgesics(r: &AssessmentReport) -> Vec<Drug> {
        r.perioperative.analgesia.iter().map(|a| a.drug).collect()
    }

    fn reason(r: &AssessmentReport, d: Drug) -> Option<Value> {
        r.perioperative
            .avoid_reasons
            .get(&d)
            .map(|x| serde_json::to_value(x).unwrap())
    }

    fn assumed_code(r: &AssessmentReport, path: &str, code: &str) -> bool {
        r.inputs_assumed
            .iter()
            .any(|a| a.path == path && a.code == code)
    }

    fn applied<'a>(
        r: &'a AssessmentReport,
        decision: &str,
    ) -> Vec<&'a ovcf_core::report::Explanation> {
        r.explanation
            .iter()
            .filter(|e| e.decision == decision && e.outcome == Outcome::Applied)
            .collect()
    }

    fn paths_of(v: &Value) -> Vec<String> {
        errors(v).into_iter().map(|e| e.path).collect()
    }

    // ── 11.10 bed rest ──

    #[test]
    fn bed_rest_on_day_4_until_onset_plus_5_days() {
        let r = assess(&conservative(4));
        assert_eq!(plan(&r), Plan::Conservative);
        assert_eq!(r.perioperative.bed_rest_max_days, Some(5.0));
        assert_eq!(
            r.perioperative.bed_rest_until,
            Some(as_of().add_days(1)),
            "onset 4 days ago + 5 days"
        );
        assert_eq!(
            r.perioperative.mobilisation,
            MobilisationPlan::ProgressiveAfterBedRest
        );
        assert_eq!(r.perioperative.brace, Brace::SoftOrDynamic);
        assert!(assumed_code(
            &r,
            "patient.mobilisation_under_analgesia",
            "bed_rest_while_pain_prevents"
        ));
        let r = assess(&conservative(0));
        assert_eq!(r.perioperative.bed_rest_until, Some(as_of().add_days(5)));
    }

    #[test]
    fn no_bed_rest_on_day_5() {
        let r = assess(&conservative(5));
        assert_eq!(r.perioperative.bed_rest_max_days, None);
        assert_eq!(r.perioperative.bed_rest_until, None);
        assert_eq!(r.perioperative.mobilisation, MobilisationPlan::Progressive);
        // The brace rule of §4 is unchanged.
        assert_eq!(r.perioperative.brace, Brace::SoftOrDynamic);
        assert_eq!(r.perioperative.context, PeriopContext::NonOperative);
    }

    #[test]
    fn no_bed_rest_when_mobilisation_under_analgesia_is_possible() {
        let v = with(
            conservative(2),
            "/patient/mobilisation_under_analgesia",
            json!("possible"),
        );
        let r = assess(&v);
        assert_eq!(r.perioperative.bed_rest_max_days, None);
        assert_eq!(r.perioperative.mobilisation, MobilisationPlan::Progressive);
        assert!(!assumed_code(
            &r,
            "patient.mobilisation_under_analgesia",
            "bed_rest_while_pain_prevents"
        ));
        let v = with(
            conservative(2),
            "/patient/mobilisation_under_analgesia",
            json!("not_possible"),
        );
        assert_eq!(assess(&v).perioperative.bed_rest_max_days, Some(5.0));
    }

    #[test]
    fn unknown_onset_orders_no_bed_rest_and_says_so() {
        // Onset unknown, MRI oedema: unhealed, conservative (15 %).
        let v = without(conservative(4), "/fractures/0/onset_days");
        let r = assess(&v);
        assert_eq!(plan(&r), Plan::Conservative);
        assert_eq!(r.perioperative.bed_rest_max_days, None);
        assert_eq!(r.perioperative.bed_rest_until, None);
        assert!(assumed_code(
            &r,
            "fractures[0].onset_days",
            "onset_unknown_no_bed_rest"
        ));
    }

    #[test]
    fn workup_and_insufficient_data_mobilise_as_tolerated() {
        let r = assess(&without(
            frac("imaging", json!(["xray"])),
            "/fractures/0/mri",
        ));
        assert_eq!(plan(&r), Plan::FurtherWorkup);
        assert_eq!(r.perioperative.mobilisation, MobilisationPlan::AsTolerated);
        let r = assess(&without(base(), "/fractures/0/pain_vas"));
        assert_eq!(plan(&r), Plan::InsufficientData);
        assert_eq!(r.perioperative.mobilisation, MobilisationPlan::AsTolerated);
    }

    // ── 11.11 calcitonin ──

    #[test]
    fn calcitonin_on_day_14_not_15() {
        let r = assess(&conservative(14));
        assert!(analgesics(&r).contains(&Drug::Calcitonin));
        let r = assess(&conservative(15));
        assert!(!analgesics(&r).contains(&Drug::Calcitonin));
        assert!(!r.perioperative.avoid.contains(&Drug::Calcitonin));
    }

    #[test]
    fn calcitonin_needs_vas_5_not_4() {
        let r = assess(&with(conservative(10), "/fractures/0/pain_vas", json!(5)));
        assert!(analgesics(&r).contains(&Drug::Calcitonin));
        let r = assess(&with(conservative(10), "/fractures/0/pain_vas", json!(4)));
        assert!(!analgesics(&r).contains(&Drug::Calcitonin));
        assert!(!r.perioperative.avoid.contains(&Drug::Calcitonin));
    }

    // ── 11.12 mobilisation after augmentation ──

    #[test]
    fn planned_augmentation_is_pre_procedure_with_24_h_mobilisation() {
        let r = assess(&base());
        assert!(plan(&r).is_augmentation());
        assert_eq!(r.perioperative.mobilize_within_hours, Some(24.0));
        assert_eq!(
            r.perioperative.mobilisation,
            MobilisationPlan::EarlyAfterAugmentation
        );
        assert_eq!(r.perioperative.context, PeriopContext::PreProcedure);
        assert_eq!(r.perioperative.post_procedure_day, None);
    }

    #[test]
    fn post_procedure_day_1_mobilises_within_24_h_day_2_continues() {
        let r = assess(&performed(base(), json!({"date": days_before(1)})));
        assert_eq!(r.perioperative.post_procedure_day, Some(1));
        assert_eq!(r.perioperative.mobilize_within_hours, Some(24.0));
        assert_eq!(
            r.perioperative.mobilisation,
            MobilisationPlan::EarlyAfterAugmentation
        );
        assert_eq!(r.perioperative.context, PeriopContext::PostProcedure);
        let r = assess(&performed(base(), json!({"date": days_before(2)})));
        assert_eq!(r.perioperative.post_procedure_day, Some(2));
        assert_eq!(r.perioperative.mobilize_within_hours, None);
        assert_eq!(r.perioperative.mobilisation, MobilisationPlan::Continue);
        assert_eq!(r.perioperative.brace, Brace::SoftOrDynamic);
        assert_eq!(r.perioperative.context, PeriopContext::PostProcedure);
    }

    #[test]
    fn post_procedure_branch_runs_to_day_42_inclusive_not_43() {
        let r = assess(&performed(base(), json!({"date": days_before(42)})));
        assert_eq!(r.perioperative.mobilisation, MobilisationPlan::Continue);
        assert_eq!(r.perioperative.brace, Brace::SoftOrDynamic);
        assert_eq!(r.perioperative.context, PeriopContext::PostProcedure);
        let r = assess(&performed(base(), json!({"date": days_before(43)})));
        assert_eq!(r.perioperative.post_procedure_day, Some(43));
        assert_eq!(r.perioperative.context, PeriopContext::NonOperative);
        assert_ne!(r.perioperative.mobilisation, MobilisationPlan::Continue);
        assert_eq!(r.perioperative.brace, Brace::None);
    }

    // ── 11.6 / 11.7 referral ──

    fn assert_spinal_precautions(r: &AssessmentReport) {
        assert_eq!(plan(r), Plan::SurgicalReferral);
        let sp = &r.perioperative.spinal_precautions;
        assert!(sp.required);
        assert_eq!(
            sp.measures,
            vec![SpinalMeasure::FlatBedRest, SpinalMeasure::LogRoll]
        );
        assert_eq!(
            serde_json::to_value(sp.until).unwrap(),
            json!("spine_surgeon_stability_assessment")
        );
        assert_eq!(r.perioperative.brace, Brace::PerSurgeon);
        assert_eq!(r.perioperative.mobilize_within_hours, None);
        assert_eq!(r.perioperative.bed_rest_max_days, None);
        assert_eq!(
            r.perioperative.mobilisation,
            MobilisationPlan::SpinalPrecautions
        );
        assert_eq!(
            r.perioperative.context,
            PeriopContext::AwaitingSurgicalReview
        );
        assert!(
            r.treatment
                .urgent_actions
                .contains(&UrgentAction::SpinalPrecautions)
        );
        assert!(
            r.recommendations
                .iter()
                .any(|x| x.id == "periop.spinal_precautions")
        );
        // 11.8: an operation is pending.
        for d in [Drug::Calcitonin, Drug::Nsaid, Drug::Cox2Inhibitor] {
            assert!(r.perioperative.avoid.contains(&d), "{d:?}");
            assert!(!analgesics(r).contains(&d), "{d:?}");
        }
        assert_eq!(reason(r, Drug::Nsaid), Some(json!("procedure_pending")));
        assert!(
            r.treatment.corticosteroid.is_none()
                || r.fractures.iter().any(|f| f.suspected_pathological)
        );
    }

    #[test]
    fn referral_for_an_incomplete_deficit_is_same_day() {
        let r = assess(&with(
            base(),
            "/patient/neurological_deficit",
            json!("incomplete"),
        ));
        assert_spinal_precautions(&r);
        assert_eq!(r.treatment.urgency, Some(Urgency::SameDay));
        assert_eq!(
            r.treatment.urgent_actions,
            vec![
                UrgentAction::SameDaySpinalReferral,
                UrgentAction::SpinalPrecautions
            ]
        );
        assert_eq!(
            reason(&r, Drug::Calcitonin),
            Some(json!("procedure_pending"))
        );
        assert!(
            r.treatment.corticosteroid.is_none(),
            "no steroid for an osteoporotic deficit"
        );
        let msg = &alert(&r, "neurological_deficit").unwrap().message;
        assert!(
            msg.en
                .contains("same-day referral to the spinal surgical team"),
            "{}",
            msg.en
        );
    }

    #[test]
    fn referral_for_a_complete_deficit_is_same_day_radicular_is_urgent() {
        let r = assess(&with(
            base(),
            "/patient/neurological_deficit",
            json!("complete"),
        ));
        assert_eq!(r.treatment.urgency, Some(Urgency::SameDay));
        let r = assess(&with(
            base(),
            "/patient/neurological_deficit",
            json!("radicular"),
        ));
        assert_spinal_precautions(&r);
        assert_eq!(r.treatment.urgency, Some(Urgency::Urgent));
        assert_eq!(
            r.treatment.urgent_actions,
            vec![UrgentAction::SpinalPrecautions]
        );
    }

    #[test]
    fn referral_for_of4_is_urgent_with_precautions() {
        let r = assess(&frac("of_type", json!("OF4")));
        assert_spinal_precautions(&r);
        assert_eq!(r.treatment.urgency, Some(Urgency::Urgent));
    }

    #[test]
    fn referral_for_unhealed_or_unknown_retropulsion_is_urgent_with_precautions() {
        let r = assess(&frac("posterior_wall", json!("retropulsion")));
        assert_spinal_precautions(&r);
        assert_eq!(r.treatment.urgency, Some(Urgency::Urgent));
        // Healing unknown (no MRI): still a referral.
        let mut v = frac("posterior_wall", json!("retropulsion"));
        set(&mut v, "/fractures/0/imaging", json!(["ct"]));
        set(&mut v, "/fractures/0/mri", Value::Null);
        let r = assess(&without(v, "/fractures/0/mri"));
        assert_spinal_precautions(&r);
    }

    #[test]
    fn other_plans_have_no_precautions_and_no_urgency() {
        for v in [
            base(),
            conservative(10),
            without(frac("imaging", json!(["xray"])), "/fractures/0/mri"),
        ] {
            let r = assess(&v);
            assert_ne!(plan(&r), Plan::SurgicalReferral);
            assert!(!r.perioperative.spinal_precautions.required);
            assert!(r.perioperative.spinal_precautions.measures.is_empty());
            assert!(r.perioperative.spinal_precautions.until.is_none());
            assert_eq!(r.treatment.urgency, None);
            assert!(r.treatment.urgent_actions.is_empty());
            assert!(r.treatment.corticosteroid.is_none());
        }
    }

    fn mscc() -> Value {
        let mut v = frac("malignancy_signs", json!(["epidural_or_paraspinal_mass"]));
        set(&mut v, "/patient/neurological_deficit", json!("incomplete"));
        v
    }

    #[test]
    fn mscc_bundle_with_neurological_signs() {
        let r = assess(&mscc());
        assert_spinal_precautions(&r);
        assert_eq!(r.treatment.urgency, Some(Urgency::SameDay));
        assert_eq!(
            r.treatment.urgent_actions,
            vec![
                UrgentAction::Dexamethasone16mg,
                UrgentAction::WholeSpineMri24h,
                UrgentAction::SameDaySpinalReferral,
                UrgentAction::SpinalPrecautions
            ]
        );
        assert_eq!(severity(&r, "mscc_suspected"), Some(Severity::Critical));
        let c = r.treatment.corticosteroid.as_ref().unwrap();
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            json!({"drug": "dexamethasone", "dose_mg": 16.0, "route": "oral_or_parenteral_equivalent",
                   "start": "as_soon_as_possible", "continue": "16 mg daily until surgery or radiotherapy",
                   "stop_if": "mscc_excluded"})
        );
        for w in [
            Workup::WholeSpineMri,
            Workup::Biopsy,
            Workup::OncologyWorkup,
        ] {
            assert!(r.treatment.workup.contains(&w), "{w:?}");
        }
        assert!(
            r.perioperative
                .adjuncts
                .iter()
                .any(|a| a.code == AdjunctCode::Ppi && a.with == "dexamethasone")
        );
        assert_eq!(
            reason(&r, Drug::Calcitonin),
            Some(json!("malignancy_suspected"))
        );
        assert_eq!(reason(&r, Drug::Nsaid), Some(json!("procedure_pending")));
        assert!(r.recommendations.iter().any(|x| x.id == "tx.urgent_mscc"));
    }

    #[test]
    fn radicular_deficit_with_malignancy_signs_is_mscc_and_same_day() {
        let v = with(mscc(), "/patient/neurological_deficit", json!("radicular"));
        let r = assess(&v);
        assert_eq!(r.treatment.urgency, Some(Urgency::SameDay));
        assert!(r.treatment.corticosteroid.is_some());
    }

    #[test]
    fn pathological_suspicion_without_deficit_is_workup_not_mscc() {
        let r = assess(&frac(
            "malignancy_signs",
            json!(["convex_posterior_border"]),
        ));
        assert_eq!(plan(&r), Plan::FurtherWorkup);
        assert!(alert(&r, "mscc_suspected").is_none());
        assert!(r.treatment.corticosteroid.is_none());
        assert_eq!(r.treatment.urgency, None);
        assert!(r.treatment.urgent_actions.is_empty());
        assert!(!r.treatment.workup.contains(&Workup::WholeSpineMri));
        assert!(!r.perioperative.spinal_precautions.required);
        // 11.8: calcitonin for malignancy, NSAIDs pending the procedure.
        assert_eq!(
            reason(&r, Drug::Calcitonin),
            Some(json!("malignancy_suspected"))
        );
        assert_eq!(reason(&r, Drug::Nsaid), Some(json!("procedure_pending")));
        assert_eq!(
            reason(&r, Drug::Cox2Inhibitor),
            Some(json!("procedure_pending"))
        );
        assert_eq!(analgesics(&r)[0], Drug::Paracetamol);
        assert!(
            analgesics(&r).contains(&Drug::Opioid),
            "VAS 7 keeps the opioid"
        );
        assert!(r.fractures[0].of_score.is_none());
    }

    #[test]
    fn malignancy_signs_on_a_treated_level_set_further_workup() {
        let mut v = two_levels(json!({
            "level": "L2", "onset_days": 10, "pain_vas": 7, "imaging": ["mri"],
            "mri": {"stir": "hyperintense"}, "height_loss_pct": 30, "posterior_wall": "intact"
        }));
        set(
            &mut v,
            "/fractures/0/malignancy_signs",
            json!(["convex_posterior_border"]),
        );
        let r = assess(&performed(v, json!({})));
        assert_eq!(class0(&r), FractureClass::Treated);
        assert_eq!(plan(&r), Plan::FurtherWorkup);
        assert!(r.treatment.per_level.is_empty());
    }

    // ── 11.8 / 11.28.6 one reason per analgesic ──

    #[test]
    fn renal_reason_comes_before_cardiovascular_and_procedure_pending() {
        let mut v = with(base(), "/patient/neurological_deficit", json!("complete"));
        set(&mut v, "/labs/egfr_ml_min", json!(25));
        set(
            &mut v,
            "/patient/comorbidities",
            json!(["heart_failure", "diabetes"]),
        );
        let r = assess(&v);
        assert_eq!(
            reason(&r, Drug::Nsaid),
            Some(json!("renal_contraindication"))
        );
        assert_eq!(
            reason(&r, Drug::Cox2Inhibitor),
            Some(json!("renal_contraindication"))
        );
        assert_eq!(
            reason(&r, Drug::Calcitonin),
            Some(json!("procedure_pending"))
        );
        let mut v = with(base(), "/patient/neurological_deficit", json!("complete"));
        set(&mut v, "/patient/comorbidities", json!(["diabetes"]));
        let r = assess(&v);
        assert_eq!(reason(&r, Drug::Nsaid), Some(json!("nonunion_risk")));
        assert_eq!(
            reason(&r, Drug::Cox2Inhibitor),
            Some(json!("procedure_pending"))
        );
    }

    #[test]
    fn cardiovascular_reason_before_nonunion() {
        let v = with(
            base(),
            "/patient/comorbidities",
            json!(["coronary_disease", "smoking"]),
        );
        let r = assess(&v);
        assert_eq!(
            reason(&r, Drug::Nsaid),
            Some(json!("cardiovascular_or_bleeding_risk"))
        );
    }

    // ── 11.17 / 11.28.2 adjuncts and the coxib course ──

    #[test]
    fn ppi_with_nsaid_from_age_65_not_64() {
        let with_age = |age: u32| with(base(), "/patient/age", json!(age));
        let r = assess(&with_age(65));
        assert!(
            r.perioperative
                .adjuncts
                .iter()
                .any(|a| a.code == AdjunctCode::Ppi && a.with == "nsaid")
        );
        let r = assess(&with_age(64));
        assert!(
            r.perioperative
                .adjuncts
                .iter()
                .all(|a| a.code != AdjunctCode::Ppi)
        );
        // Opioid (VAS 7) always brings a laxative.
        assert!(
            r.perioperative
                .adjuncts
                .iter()
                .any(|a| a.code == AdjunctCode::Laxative && a.with == "opioid")
        );
        let r = assess(&with(with_age(64), "/fractures/0/pain_vas", json!(6)));
        assert!(r.perioperative.adjuncts.is_empty());
    }

    #[test]
    fn cox2_course_is_21_days_and_gets_a_ppi_with_diabetes() {
        let mut v = with(base(), "/patient/age", json!(60));
        set(&mut v, "/patient/comorbidities", json!(["diabetes"]));
        let r = assess(&v);
        let cox = r
            .perioperative
            .analgesia
            .iter()
            .find(|a| a.drug == Drug::Cox2Inhibitor)
            .unwrap();
        assert_eq!(cox.max_days, Some(21));
        assert!(
            r.perioperative
                .adjuncts
                .iter()
                .any(|a| a.code == AdjunctCode::Ppi && a.with == "cox2_inhibitor")
        );
    }

    // ── 11.19 timing and OF score ──

    #[test]
    fn augmentation_timing_is_the_clinicians_decision() {
        let r = assess(&base());
        assert_eq!(
            serde_json::to_value(r.treatment.timing).unwrap(),
            json!("clinician_decision")
        );
        assert!(r.recommendations.iter().any(|x| x.id == "tx.timing_open"));
        assert_eq!(assess(&conservative(10)).treatment.timing, None);
    }

    /// OF2 L1 with every OF item known; `frail` gives −2 health points.
    fn of_known(frail: bool, mobilisation: &str) -> Value {
        let mut v = base();
        set(&mut v, "/fractures/0/of_type", json!("OF2"));
        set(&mut v, "/fractures/0/deformity_progression", json!(false));
        set(&mut v, "/bone_density/dxa/lumbar_spine_t", json!(-2.8));
        set(
            &mut v,
            "/patient/asa_class",
            json!(if frail { 4 } else { 2 }),
        );
        set(
            &mut v,
            "/patient/modified_frailty_index",
            json!(if frail { 3 } else { 1 }),
        );
        set(
            &mut v,
            "/patient/mobilisation_under_analgesia",
            json!(mobilisation),
        );
        v
    }

    #[test]
    fn of_score_disagreeing_with_augmentation() {
        // OF2 4 + severity 0 − progression 1 + pain 1 + neuro 0 − mobilisation 1 − health 2 = 1.
        let r = assess(&of_known(true, "possible"));
        assert!(plan(&r).is_augmentation());
        assert_eq!(
            r.fractures[0].of_score.as_ref().unwrap().interpretation,
            OfInterpretation::Conservative
        );
        assert_eq!(r.treatment.of_score_agreement, OfScoreAgreement::Disagrees);
        assert_eq!(r.treatment.of_score_disagreeing_levels.len(), 1);
        assert_eq!(
            severity(&r, "of_score_plan_disagreement"),
            Some(Severity::Info)
        );
    }

    #[test]
    fn of_score_agreeing_or_not_assessable() {
        // 4 + 0 − 1 + 1 + 0 + 1 + 0 = 5: conservative as well, so use OF3 (6: either).
        let v = with(
            of_known(false, "not_possible"),
            "/fractures/0/of_type",
            json!("OF3"),
        );
        let r = assess(&v);
        assert!(plan(&r).is_augmentation());
        assert_eq!(r.treatment.of_score_agreement, OfScoreAgreement::Agrees);
        assert!(alert(&r, "of_score_plan_disagreement").is_none());
        // Undetermined (items unknown): no comparison.
        let r = assess(&base());
        assert_eq!(
            r.treatment.of_score_agreement,
            OfScoreAgreement::NotAssessable
        );
        // Referral: not assessable whatever the score.
        let r = assess(&with(
            of_known(true, "possible"),
            "/patient/neurological_deficit",
            json!("radicular"),
        ));
        assert_eq!(
            r.treatment.of_score_agreement,
            OfScoreAgreement::NotAssessable
        );
    }

    #[test]
    fn conservative_plan_disagrees_with_a_surgical_of_score() {
        // OF3 6 + severity 1 + progression 1 + pain 1 + mobilisation 1 + health 0 = 10: surgical.
        let mut v = of_known(false, "not_possible");
        set(&mut v, "/fractures/0/of_type", json!("OF3"));
        set(&mut v, "/fractures/0/deformity_progression", json!(true));
        set(&mut v, "/bone_density/dxa/lumbar_spine_t", json!(-3.5));
        set(&mut v, "/fractures/0/height_loss_pct", json!(15));
        let r = assess(&v);
        assert_eq!(plan(&r), Plan::Conservative);
        assert_eq!(
            r.fractures[0].of_score.as_ref().unwrap().interpretation,
            OfInterpretation::Surgical
        );
        assert_eq!(r.treatment.of_score_agreement, OfScoreAgreement::Disagrees);
    }

    // ── 11.20 treated levels ──

    #[test]
    fn treated_levels_and_the_0_6_explanation() {
        let r = assess(&performed(base(), json!({"date": days_before(3)})));
        let t = &r.treatment.treated_levels;
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].level.as_str(), "L1");
        assert_eq!(t[0].procedure, Plan::Kyphoplasty);
        assert_eq!(t[0].post_procedure_day, 3);
        assert_eq!(t[0].date, as_of().add_days(-3));
        let plan_entries = applied(&r, "treatment.plan");
        assert_eq!(plan_entries.len(), 1);
        assert_eq!(plan_entries[0].rule, "0.6");
        assert_eq!(plan_entries[0].value, Some(json!("conservative")));
        assert!(assess(&base()).treatment.treated_levels.is_empty());
    }

    #[test]
    fn spinal_canal_leakage_adds_ct_and_urgent_review() {
        let r = assess(&performed(
            base(),
            json!({"cement_leakage": ["spinal_canal"]}),
        ));
        assert!(r.treatment.workup.contains(&Workup::Ct));
        assert_eq!(
            r.treatment.urgent_actions,
            vec![UrgentAction::NeurologicalExamAndUrgentSpinalReview]
        );
    }

    // ── 11.23 explanation ──

    #[test]
    fn one_applied_entry_per_decision_carrying_the_final_plan() {
        let mut pkp = frac("height_loss_pct", json!(35));
        set(&mut pkp, "/patient/age", json!(70));
        let contraindicated = with(
            base(),
            "/patient/comorbidities",
            json!(["active_infection"]),
        );
        for (v, want) in [
            (base(), "vertebroplasty"),
            (pkp, "kyphoplasty"),
            (contraindicated, "conservative"),
        ] {
            let r = assess(&v);
            let mut seen = std::collections::BTreeMap::new();
            for e in r
                .explanation
                .iter()
                .filter(|e| e.outcome == Outcome::Applied)
            {
                *seen.entry(e.decision.clone()).or_insert(0) += 1;
                if e.decision != "treatment.plan" && e.decision != "treatment.procedure" {
                    assert!(
                        e.value != Some(json!("vertebroplasty"))
                            && e.value != Some(json!("kyphoplasty")),
                        "{e:?}"
                    );
                }
            }
            assert!(seen.values().all(|n| *n == 1), "{seen:?}");
            let p = applied(&r, "treatment.plan");
            assert_eq!(p[0].value, Some(json!(want)), "{want}");
            assert_eq!(serde_json::to_value(plan(&r)).unwrap(), json!(want));
            if want != "conservative" {
                let proc_ = applied(&r, "treatment.procedure");
                assert_eq!(proc_[0].value, Some(json!(want)));
            }
        }
    }

    #[test]
    fn pkp_by_height_loss_is_rule_3_2_5c() {
        let r = assess(&frac("height_loss_pct", json!(35)));
        assert_eq!(plan(&r), Plan::Kyphoplasty);
        let p = applied(&r, "treatment.procedure");
        assert_eq!(p[0].rule, "3.2#5c");
        assert_eq!(p[0].value, Some(json!("kyphoplasty")));
    }

    // ── 11.28.26 contraindication alerts under other plans; 11.28.3 CT ──

    #[test]
    fn contraindication_alert_under_another_plan() {
        let mut v = two_levels(json!({
            "level": "L2", "onset_days": 10, "pain_vas": 7, "imaging": ["xray"],
            "height_loss_pct": 30, "posterior_wall": "intact"
        }));
        set(
            &mut v,
            "/patient/comorbidities",
            json!(["coagulopathy", "anticoagulant_therapy"]),
        );
        let r = assess(&v);
        assert_eq!(plan(&r), Plan::FurtherWorkup);
        assert_eq!(
            severity(&r, "augmentation_contraindicated"),
            Some(Severity::Critical)
        );
        assert_eq!(
            severity(&r, "anticoagulation_periprocedural"),
            Some(Severity::Warning)
        );
    }

    #[test]
    fn ct_for_an_unknown_wall_on_an_excluded_painful_level() {
        let mut v = without(base(), "/fractures/0/posterior_wall");
        set(&mut v, "/fractures/0/of_type", json!("OF4"));
        let r = assess(&v);
        assert_eq!(plan(&r), Plan::SurgicalReferral);
        assert!(r.treatment.workup.contains(&Workup::Ct));
    }

    // ── 11.28.10 / 11.28.14 / 11.28.27 morphometry ──

    #[test]
    fn crush_without_reference_uses_the_given_height_loss() {
        let mut v = morph(20.0, 19.0, 15.0, None);
        set(&mut v, "/fractures/0/height_loss_pct", json!(30));
        let r = assess(&v);
        assert_eq!(r.fractures[0].morphology, Some(Morphology::Crush));
        assert_eq!(r.fractures[0].height_loss_pct, Some(30.0));
        assert_eq!(r.fractures[0].height_loss_mm, None);
        assert_eq!(class0(&r), FractureClass::Candidate);
        assert!(
            !r.treatment
                .missing
                .contains(&"fractures[0].morphometry.reference_mm".to_owned())
        );
    }

    #[test]
    fn crush_test_on_the_rounded_posterior_reduction() {
        // 100 × (25 − 20.01) / 25 = 19.96 → 20.0: crush.
        let r = assess(&morph(15.0, 17.0, 20.01, Some(25.0)));
        assert_eq!(r.fractures[0].morphology, Some(Morphology::Crush));
        // 100 × (25 − 20.02) / 25 = 19.92 → 19.9: not crush.
        let r = assess(&morph(15.0, 17.0, 20.02, Some(25.0)));
        assert_eq!(r.fractures[0].morphology, Some(Morphology::Wedge));
    }

    #[test]
    fn absolute_loss_4_00_mm_disqualifies_4_01_does_not() {
        // Wedge: loss = posterior − anterior. 20.3 − 16.3 = 4.00 (binary 4.000000000000002).
        let r = assess(&morph(16.3, 18.0, 20.3, None));
        assert_eq!(r.fractures[0].height_loss_mm, Some(4.0));
        assert_eq!(class0(&r), FractureClass::NotIndicated);
        let r = assess(&morph(11.99, 14.0, 16.0, None));
        assert!((r.fractures[0].height_loss_mm.unwrap() - 4.01).abs() < 1e-9);
        assert_eq!(class0(&r), FractureClass::Candidate);
    }

    // ── 11.28.28 / 11.28.29 cement ──

    #[test]
    fn cement_2_91_ml_in_9_7_ml_is_not_over_30_pct() {
        let r = assess(&performed(
            base(),
            json!({"cement_volume_ml": 2.91, "vertebral_body_volume_ml": 9.7}),
        ));
        assert!(alert(&r, "cement_volume_exceeds_30pct").is_none());
        let r = assess(&performed(
            base(),
            json!({"cement_volume_ml": 2.92, "vertebral_body_volume_ml": 9.7}),
        ));
        assert!(alert(&r, "cement_volume_exceeds_30pct").is_some());
    }

    #[test]
    fn cement_cap_is_exact_not_rounded() {
        // Planned L1 with a 13.1 mL body: 0.30 × 13.1 = 3.93 mL (never 3.9 or 4.0).
        let v = with(
            base(),
            "/procedure",
            json!({"type": "vertebroplasty", "level": "L1", "date": as_of().add_days(3).to_string(),
                   "vertebral_body_volume_ml": 13.1}),
        );
        let r = assess(&v);
        let c = r.treatment.per_level[0].cement.unwrap();
        assert!((c.max_ml - 3.93).abs() < 1e-6, "{}", c.max_ml);
        assert!((c.min_ml - 3.93).abs() < 1e-6, "{}", c.min_ml);
    }

    // ── 11.28.17 ──

    #[test]
    fn chronic_limited_benefit_never_for_an_excluded_or_treated_level() {
        let mut v = frac("onset_days", json!(90));
        set(&mut v, "/fractures/0/mri", json!({"stir": "isointense"}));
        assert!(alert(&assess(&v), "chronic_fracture_limited_benefit").is_some());
        set(&mut v, "/fractures/0/of_type", json!("OF4"));
        assert!(alert(&assess(&v), "chronic_fracture_limited_benefit").is_none());
    }

    // ── 11.28.19 validation ──

    #[test]
    fn procedure_level_must_be_a_fractured_level() {
        let v = with(
            base(),
            "/procedure",
            json!({"type": "kyphoplasty", "level": "L3", "date": AS_OF}),
        );
        assert_eq!(paths_of(&v), vec!["procedure.level"]);
    }

    #[test]
    fn medication_end_before_start_is_an_error_at_end() {
        let v = with(
            base(),
            "/medications",
            json!([{"drug": "alendronate", "start": days_before(10), "end": days_before(20)}]),
        );
        assert_eq!(paths_of(&v), vec!["medications[0].end"]);
    }

    #[test]
    fn wrong_types_inside_objects_are_named_by_their_full_path() {
        let v = with(base(), "/labs/vitamin_d_nmol_l", json!("low"));
        assert_eq!(paths_of(&v), vec!["labs.vitamin_d_nmol_l"]);
        let v = with(
            base(),
            "/procedure",
            json!({"type": "kyphoplasty", "level": "L1", "cement_volume_ml": "five"}),
        );
        assert_eq!(paths_of(&v), vec!["procedure.cement_volume_ml"]);
        let v = with(base(), "/bone_density/dxa/lumbar_spine_t", json!(true));
        assert_eq!(paths_of(&v), vec!["bone_density.dxa.lumbar_spine_t"]);
    }

    #[test]
    fn cross_field_errors_are_reported_together_with_other_errors() {
        let mut v = with(
            base(),
            "/procedure",
            json!({"type": "kyphoplasty", "level": "L3"}),
        );
        set(&mut v, "/phase", json!("post_procedure"));
        set(&mut v, "/patient/age", json!(150));
        set(&mut v, "/patient/prior_fragility_fractures", json!(1));
        set(&mut v, "/patient/prior_vertebral_fractures", json!(2));
        set(
            &mut v,
            "/medications",
            json!([{"drug": "alendronate", "start": days_before(10), "end": days_before(20)}]),
        );
        set(&mut v, "/labs/vitamin_d_nmol_l", json!("low"));
        let mut p = paths_of(&v);
        p.sort();
        assert_eq!(
            p,
            vec![
                "labs.vitamin_d_nmol_l",
                "medications[0].end",
                "patient.age",
                "patient.prior_vertebral_fractures",
                "procedure.date",
                "procedure.level",
            ]
        );
    }

    #[test]
    fn a_cross_field_check_with_an_invalid_input_is_skipped() {
        let mut v = with(
            base(),
            "/medications",
            json!([{"drug": "alendronate", "start": "2026-02-30", "end": days_before(20)}]),
        );
        set(
            &mut v,
            "/procedure",
            json!({"type": "kyphoplasty", "level": "L9", "date": AS_OF}),
        );
        let p = paths_of(&v);
        assert!(p.contains(&"medications[0].start".to_owned()), "{p:?}");
        assert!(!p.contains(&"medications[0].end".to_owned()), "{p:?}");
        assert_eq!(
            p.iter()
                .filter(|x| x.starts_with("procedure.level"))
                .count(),
            1,
            "{p:?}"
        );
    }
}

// ───────────────────────── Revision 3: risks, follow-up, care bundle ─────────────────────────

/// Rules 11.9, 11.13, 11.14, 11.16, 11.21 (follow-up entries), 11.22 with the 11.28 amendments,
/// 11.28.1, 11.28.4, 11.28.5, 11.28.18 and 11.23 for these decisions.
mod r3_risk {
    use super::*;
    use ovcf_core::engine::Out;
    use ovcf_core::report::{
        CareCode, CourseEnd, ExitPlan, MergedEntry, Pharmacotherapy, SecondaryCauseLab,
    };

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn adj(r: &AssessmentReport) -> &ovcf_core::report::AdjacentFractureRisk {
        r.risks
            .adjacent_fracture
            .as_ref()
            .expect("adjacent_fracture")
    }

    const FLOOR: &str = "recent_vertebral_fracture_untreated";

    fn has_floor(r: &AssessmentReport) -> bool {
        adj(r).factors.iter().any(|f| f == FLOOR)
    }

    /// Rule 11.22's guarantee: no two visits after `as_of` are 31 days apart or less; the list is
    /// ordered by `due`.
    fn assert_visits_apart(r: &AssessmentReport) {
        let dues: Vec<Date> = r.follow_up.iter().map(|f| f.due).collect();
        let mut sorted = dues.clone();
        sorted.sort();
        assert_eq!(dues, sorted, "follow_up not ordered by due");
        let after: Vec<Date> = dues.into_iter().filter(|d| *d > as_of()).collect();
        for w in after.windows(2) {
            assert!(
                w[0].days_until(w[1]) > 31,
                "visits {} and {} are ≤ 31 days apart: {:#?}",
                w[0],
                w[1],
                r.follow_up
            );
        }
    }

    /// The visit holding the entry `{from, at_months}`, as its anchor or merged into it.
    fn visit<'a>(r: &'a AssessmentReport, from: &str, at: Option<u32>) -> Option<&'a FollowUp> {
        let from = d(from);
        r.follow_up.iter().find(|f| {
            (f.from == from && f.at_months == at)
                || f.merged_from
                    .iter()
                    .any(|m| m.from == from && m.at_months == at)
        })
    }

    fn injections(r: &AssessmentReport) -> Vec<(String, Option<u32>)> {
        r.follow_up
            .iter()
            .filter(|f| f.items.contains(&FollowUpItem::DenosumabInjection))
            .map(|f| (f.from.to_string(), f.at_months))
            .collect()
    }

    fn btm_entries(r: &AssessmentReport) -> usize {
        r.follow_up
            .iter()
            .filter(|f| f.items.contains(&FollowUpItem::BoneTurnoverMarkers))
            .count()
    }

    fn applied<'a>(r: &'a AssessmentReport, decision: &str) -> &'a ovcf_core::report::Explanation {
        let hits: Vec<_> = r
            .explanation
            .iter()
            .filter(|e| e.decision == decision)
            .collect();
        assert_eq!(hits.len(), 1, "{decision}: {hits:?}");
        assert_eq!(
            hits[0].outcome,
            ovcf_core::report::Outcome::Applied,
            "{decision}"
        );
        hits[0]
    }

    fn value(r: &AssessmentReport, decision: &str) -> Value {
        applied(r, decision).value.clone().unwrap_or(Value::Null)
    }

    /// The engine's follow-up rules rerun with a pharmacotherapy edited by the test (the drug
    /// rules fill `course_end`, `exit_plan` and `start_date`; these tests pin the follow-up side).
    fn schedule_with(v: &Value, edit: impl FnOnce(&mut Pharmacotherapy)) -> Vec<FollowUp> {
        let r = assess(v);
        let valid = ovcf_core::validate_json(&v.to_string(), as_of()).unwrap();
        let k = ovcf_core::knowledge::Knowledge::embedded().unwrap();
        let facts = ovcf_core::facts::Facts::derive(&valid, &k.thresholds);
        let mut drugs = r.pharmacotherapy.clone();
        edit(&mut drugs);
        let mut out = Out::default();
        ovcf_core::rules::follow_up::schedule(
            &facts,
            &r.treatment,
            &drugs,
            &r.bone_density,
            &mut out,
        )
    }

    fn conservative_acute() -> Value {
        frac("pain_vas", json!(4))
    }

    // ── 11.13 tier floor ──

    #[test]
    fn floor_on_for_an_untreated_recent_fracture_tier_high_factor_tier_low() {
        let r = assess(&base());
        let a = adj(&r);
        assert_eq!(a.tier, Tier::High);
        assert_eq!(a.factor_tier, Tier::Low);
        assert_eq!(a.factors, vec!["female".to_owned(), FLOOR.to_owned()]);
    }

    #[test]
    fn floor_off_with_an_ongoing_drug_tier_is_the_factor_tier() {
        let r = assess(&with_meds(
            base(),
            vec![med("alendronate", &months_before(3))],
        ));
        let a = adj(&r);
        assert!(!has_floor(&r));
        assert_eq!((a.tier, a.factor_tier), (Tier::Low, Tier::Low));
    }

    #[test]
    fn floor_off_with_a_denosumab_stopped_less_than_7_months_ago_11_28_22() {
        // Last dose 6 months ago, stopped 2 months ago: counts as ongoing (10.3).
        let dmab = json!({"drug": "denosumab", "start": months_before(30),
            "last_dose": months_before(6), "end": months_before(2)});
        let r = assess(&with_meds(
            with(base(), "/patient/prior_fragility_fractures", json!(1)),
            vec![dmab],
        ));
        assert!(!has_floor(&r), "{:?}", adj(&r).factors);
        assert_eq!(adj(&r).tier, adj(&r).factor_tier);
        // 6.1 reads the same state: no "irregular therapy" for the prior fracture.
        assert!(
            !adj(&r)
                .factors
                .contains(&"irregular_antiosteoporosis_therapy".to_owned())
        );
        // Stopped 8 months after the last dose: not ongoing, the floor applies.
        let dmab = json!({"drug": "denosumab", "start": months_before(30),
            "last_dose": months_before(8), "end": months_before(8)});
        let r = assess(&with_meds(base(), vec![dmab]));
        assert!(has_floor(&r));
        assert_eq!(adj(&r).tier, Tier::High);
    }

    #[test]
    fn floor_onset_364_is_recent_365_is_not() {
        let r = assess(&frac("onset_days", json!(364)));
        assert!(has_floor(&r));
        assert_eq!(adj(&r).tier, Tier::High);
        assert!(r.risks.imminent_fracture.as_ref().unwrap().applies);
        let r = assess(&frac("onset_days", json!(365)));
        assert!(!has_floor(&r));
        assert_eq!(adj(&r).tier, Tier::Low);
        assert!(!r.risks.imminent_fracture.as_ref().unwrap().applies);
    }

    #[test]
    fn floor_unknown_onset_counts_as_recent() {
        let r = assess(&without(base(), "/fractures/0/onset_days"));
        assert!(has_floor(&r));
        assert!(r.risks.imminent_fracture.as_ref().unwrap().applies);
    }

    #[test]
    fn floor_factor_never_counts_toward_factor_tier_11_28_4() {
        // Female + age 75: two 6.1 factors → moderate; the floor factor does not make it 3.
        let r = assess(&with(base(), "/patient/age", json!(75)));
        assert_eq!(adj(&r).factors.len(), 3);
        assert_eq!(adj(&r).factor_tier, Tier::Moderate);
        assert_eq!(adj(&r).tier, Tier::High);
    }

    #[test]
    fn multiple_treated_levels_is_never_a_factor_11_28_4() {
        let r = assess(&two_levels(json!({
            "level": "L2", "onset_days": 10, "pain_vas": 7, "imaging": ["mri"],
            "mri": {"stir": "hyperintense"}, "height_loss_pct": 30, "posterior_wall": "intact"
        })));
        assert_eq!(r.treatment.per_level.len(), 2);
        let allowed = [
            "advanced_age",
            "female",
            "t_score_below_minus_3",
            "multiple_prior_vertebral_fractures",
            "cement_over_30pct",
            "height_restoration_over_90pct",
            "irregular_antiosteoporosis_therapy",
            "intradiscal_cement_leakage",
            "glucocorticoid_use",
            FLOOR,
        ];
        assert!(
            adj(&r)
                .factors
                .iter()
                .all(|f| allowed.contains(&f.as_str())),
            "{:?}",
            adj(&r).factors
        );
        let basis = adj(&r).estimate_basis.as_ref().unwrap();
        assert!(
            basis
                .contributions
                .iter()
                .all(|c| c.factor != "multiple_treated_levels")
        );
    }

    // ── 11.13 estimate ──

    #[test]
    fn estimate_without_horizon_for_a_planned_augmentation() {
        let r = assess(&base());
        let a = adj(&r);
        let basis = a.estimate_basis.as_ref().unwrap();
        assert_eq!(basis.time_horizon_months, None);
        assert_eq!(basis.follow_up, "variable_pooled");
        assert!(basis.excluded_factors.is_empty());
        // Baseline 13.39 % × female OR 1.34: odds 0.1339/0.8661 × 1.34 → 0.172.
        assert_eq!(a.estimate, Some(0.172));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["risks"]["adjacent_fracture"]["estimate_basis"]["time_horizon_months"],
            Value::Null
        );
    }

    #[test]
    fn estimate_leaves_advanced_age_out_of_the_product_and_lists_it() {
        let r = assess(&with(base(), "/patient/age", json!(75)));
        let a = adj(&r);
        let basis = a.estimate_basis.as_ref().unwrap();
        assert_eq!(basis.excluded_factors, vec!["advanced_age".to_owned()]);
        assert!(
            basis
                .contributions
                .iter()
                .all(|c| c.factor != "advanced_age")
        );
        assert!(a.factors.contains(&"advanced_age".to_owned()));
        assert_eq!(a.estimate, Some(0.172), "age must not change the estimate");
    }

    #[test]
    fn estimate_only_when_augmentation_is_planned_or_performed() {
        let r = assess(&conservative_acute());
        assert_eq!(plan(&r), Plan::Conservative);
        assert_eq!(adj(&r).estimate, None);
        assert!(adj(&r).estimate_basis.is_none());
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["risks"]["adjacent_fracture"].get("estimate").is_none());
        assert!(
            !r.recommendations
                .iter()
                .any(|x| x.id == "risk.adjacent_estimate")
        );
        // Performed (all levels treated: plan conservative): the estimate is given.
        let r = assess(&performed(base(), json!({})));
        assert_eq!(plan(&r), Plan::Conservative);
        assert!(adj(&r).estimate.is_some());
    }

    #[test]
    fn adjacent_texts_state_no_horizon() {
        let r = assess(&base());
        for id in ["risk.adjacent_fracture", "risk.adjacent_estimate"] {
            let rec = r.recommendations.iter().find(|x| x.id == id).unwrap();
            let en = rec.text.en.to_lowercase();
            for word in ["one-year", "1-year", "12 months", "1 year", "within a year"] {
                assert!(!en.contains(word), "{id}: {word}");
            }
            assert!(
                !rec.text.zh.contains("一年") && !rec.text.zh.contains("1 年"),
                "{id}"
            );
        }
    }

    // ── 11.9 / 11.14 ──

    #[test]
    fn pathological_omits_adjacent_and_imminent_with_explanation_11_9() {
        let r = assess(&frac("malignancy_signs", json!(["other_osseous_lesions"])));
        assert!(r.risks.adjacent_fracture.is_none());
        assert!(r.risks.imminent_fracture.is_none());
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["risks"].get("adjacent_fracture").is_none());
        assert!(json["risks"].get("imminent_fracture").is_none());
        for decision in ["risks.adjacent_fracture", "risks.imminent_fracture"] {
            let e = applied(&r, decision);
            assert_eq!(e.rule, "11.9");
            // The value of an omitted field is null.
            assert_eq!(e.value, Some(Value::Null));
        }
        assert!(!r.recommendations.iter().any(|x| x.id == "risk.imminent"));
    }

    #[test]
    fn imminent_statement_for_a_recent_fracture_11_14() {
        let r = assess(&base());
        let i = r.risks.imminent_fracture.as_ref().unwrap();
        assert!(i.applies);
        assert_eq!(i.new_vertebral_fracture_1y_pct, Some(19.2));
        assert_eq!(i.ci_pct, Some([13.6, 24.8]));
        assert_eq!(i.horizon_months, Some(12));
        assert_eq!(
            i.population.as_deref(),
            Some("untreated_after_incident_vertebral_fracture")
        );
        assert_eq!(i.sources, Some(vec!["S51".to_owned(), "S29".to_owned()]));
        let rec = r
            .recommendations
            .iter()
            .find(|x| x.id == "risk.imminent")
            .unwrap();
        assert!(rec.text.en.contains("1 in 5"));
        // Not recent: `{applies: false}` and nothing else.
        let r = assess(&frac("onset_days", json!(400)));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["risks"]["imminent_fracture"],
            json!({"applies": false})
        );
        assert!(!r.recommendations.iter().any(|x| x.id == "risk.imminent"));
    }

    // ── 11.23 for these decisions ──

    #[test]
    fn explanation_values_equal_the_report_fields() {
        for v in [
            base(),
            conservative_acute(),
            frac("onset_days", json!(400)),
            with_meds(base(), vec![dmab_ongoing(90)]),
        ] {
            let r = assess(&v);
            let a = adj(&r);
            assert_eq!(value(&r, "risks.adjacent_fracture.tier"), json!(a.tier));
            assert_eq!(
                value(&r, "risks.adjacent_fracture.factor_tier"),
                json!(a.factor_tier)
            );
            assert_eq!(
                value(&r, "risks.adjacent_fracture.estimate"),
                json!(a.estimate)
            );
            assert_eq!(
                value(&r, "risks.imminent_fracture.applies"),
                json!(r.risks.imminent_fracture.as_ref().unwrap().applies)
            );
            let dues: Vec<Date> = r.follow_up.iter().map(|f| f.due).collect();
            assert_eq!(value(&r, "follow_up[*].due"), json!(dues));
            let codes: Vec<CareCode> = r.care_bundle.iter().map(|c| c.code).collect();
            assert_eq!(value(&r, "care_bundle[*].code"), json!(codes));
        }
    }

    // ── 11.22 merging ──

    #[test]
    fn two_month_3_visits_9_days_apart_become_one() {
        // Procedure 9 days ago: its 3-month review is due 9 days before the 3-month DXA and
        // markers counted from as_of.
        let proc_date = days_before(9);
        let r = assess(&performed(base(), json!({"date": proc_date})));
        let three: Vec<&FollowUp> = r
            .follow_up
            .iter()
            .filter(|f| f.at_months == Some(3))
            .collect();
        assert_eq!(three.len(), 1, "{:#?}", r.follow_up);
        let v = three[0];
        assert_eq!(v.from, d(&proc_date));
        assert_eq!(v.due, d(&proc_date).add_months(3));
        assert_eq!(
            v.merged_from,
            vec![MergedEntry {
                from: as_of(),
                at_months: Some(3),
                due: as_of().add_months(3)
            }]
        );
        assert_eq!(
            v.items,
            vec![
                FollowUpItem::ClinicalReview,
                FollowUpItem::Radiograph,
                FollowUpItem::Dxa,
                FollowUpItem::BoneTurnoverMarkers
            ]
        );
        assert_visits_apart(&r);
    }

    #[test]
    fn unmerged_entries_have_empty_merged_from() {
        let r = dxa(-2.0);
        assert!(r.follow_up.iter().all(|f| f.merged_from.is_empty()));
        let twelve = follow_up(&r, AS_OF, 12).unwrap();
        assert_eq!(
            twelve.items,
            vec![
                FollowUpItem::ClinicalReview,
                FollowUpItem::Radiograph,
                FollowUpItem::Dxa
            ]
        );
    }

    #[test]
    fn amendment_a_an_injection_today_never_pulls_the_1_month_review_forward() {
        let r = assess(&with_meds(conservative_acute(), vec![dmab_ongoing(211)]));
        assert_eq!(first_drug(&r), Some(Drug::Denosumab));
        let today = follow_up(&r, AS_OF, 0).expect("injection today");
        assert_eq!(today.due, as_of());
        assert_eq!(today.items, vec![FollowUpItem::DenosumabInjection]);
        assert!(today.merged_from.is_empty());
        let one = follow_up(&r, AS_OF, 1).expect("1-month review kept");
        assert_eq!(one.due, as_of().add_months(1));
        assert_eq!(
            one.items,
            vec![FollowUpItem::ClinicalReview, FollowUpItem::Radiograph]
        );
        assert_visits_apart(&r);
    }

    #[test]
    fn amendment_b_a_later_drug_anchor_pulls_entries_within_31_days_of_it() {
        // Conservative, acute: 1-month review 2026-12-24; timely denosumab, last dose 2026-07-24:
        // injection due 2027-01-24 (= first + 31 days); 3-month items 2027-02-24 (= anchor + 31).
        let last = "2026-07-24";
        let dmab = json!({"drug": "denosumab", "start": months_before(30), "last_dose": last});
        let r = assess(&with_meds(conservative_acute(), vec![dmab]));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
        let v = visit(&r, AS_OF, Some(1)).unwrap();
        assert_eq!(
            (v.from, v.at_months, v.due),
            (d(last), Some(6), d("2027-01-24"))
        );
        assert_eq!(
            v.merged_from,
            vec![
                MergedEntry {
                    from: as_of(),
                    at_months: Some(1),
                    due: d("2026-12-24")
                },
                MergedEntry {
                    from: as_of(),
                    at_months: Some(3),
                    due: d("2027-02-24")
                },
            ]
        );
        assert_eq!(
            v.items,
            vec![
                FollowUpItem::ClinicalReview,
                FollowUpItem::Radiograph,
                FollowUpItem::Dxa,
                FollowUpItem::DenosumabInjection
            ]
        );
        assert_visits_apart(&r);
        // One day later the 3-month items stay a visit of their own (> 31 days after the anchor).
        let last = "2026-07-23";
        let dmab = json!({"drug": "denosumab", "start": months_before(30), "last_dose": last});
        let r = assess(&with_meds(conservative_acute(), vec![dmab]));
        let v = visit(&r, AS_OF, Some(1)).unwrap();
        assert_eq!(v.due, d("2027-01-23"));
        assert_eq!(v.merged_from.len(), 1);
        assert!(follow_up(&r, AS_OF, 3).is_some());
        assert_visits_apart(&r);
    }

    #[test]
    fn merge_window_edge_31_days_joins_32_does_not() {
        let e = |from: &str, at: u32, items: Vec<FollowUpItem>| FollowUp {
            at_months: Some(at),
            items,
            from: d(from),
            due: d(from).add_months(at as i32),
            switch_to: None,
            merged_from: Vec::new(),
        };
        let merge = ovcf_core::rules::follow_up::merge_visits;
        // 2027-02-24 and 2027-03-27: 31 days apart → one visit at the earlier (no drug action).
        let a = e("2026-11-24", 3, vec![FollowUpItem::Radiograph]);
        let b = e("2026-12-27", 3, vec![FollowUpItem::ClinicalReview]);
        let m = merge(&[b.clone(), a.clone()], as_of(), 31);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].due, d("2027-02-24"));
        assert_eq!(
            m[0].items,
            vec![FollowUpItem::ClinicalReview, FollowUpItem::Radiograph]
        );
        // 32 days apart → two visits.
        let b = e("2026-12-28", 3, vec![FollowUpItem::ClinicalReview]);
        assert_eq!(merge(&[a.clone(), b], as_of(), 31).len(), 2);
        // A dated drug action anchors: the visit moves to it and takes its switch_to.
        let mut c = e("2026-12-10", 3, vec![FollowUpItem::PthCourseEnd]);
        c.switch_to = Some(Drug::ZoledronicAcid);
        let m = merge(&[a.clone(), c], as_of(), 31);
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].due, m[0].switch_to),
            (d("2027-03-10"), Some(Drug::ZoledronicAcid))
        );
        assert_eq!(m[0].merged_from[0].due, d("2027-02-24"));
        // Amendment (a): entries due on or before as_of stay apart from later ones.
        let past = e("2026-10-24", 1, vec![FollowUpItem::ClinicalReview]);
        let soon = e("2026-11-24", 0, vec![FollowUpItem::Dxa]);
        let next = FollowUp {
            due: d("2026-11-25"),
            ..e("2026-11-24", 0, vec![FollowUpItem::Radiograph])
        };
        let m = merge(&[next, past, soon], as_of(), 31);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].due, d("2026-11-24"));
        assert_eq!(m[0].merged_from.len(), 1);
        assert_eq!(m[1].due, d("2026-11-25"));
    }

    // ── 11.28.1 denosumab injections ──

    #[test]
    fn injections_timely_count_from_the_last_dose() {
        let r = assess(&with_meds(base(), vec![dmab_ongoing(90)]));
        let last = days_before(90);
        assert_eq!(
            injections(&r),
            vec![(last.clone(), Some(6)), (last.clone(), Some(12))]
        );
        assert_visits_apart(&r);
        // Boundary: last dose exactly 6 months ago (next dose due today) is still timely.
        let last = months_before(6);
        let dmab = json!({"drug": "denosumab", "start": months_before(30), "last_dose": last});
        let r = assess(&with_meds(base(), vec![dmab]));
        assert_eq!(
            injections(&r),
            vec![(last.clone(), Some(6)), (last, Some(12))]
        );
    }

    #[test]
    fn injections_inside_the_grace_window_restart_from_as_of() {
        // Last dose 6 months + 1 day ago (not overdue, ≤ 210 days): the dose is already due.
        let last = as_of().add_months(-6).add_days(-1).to_string();
        let dmab = json!({"drug": "denosumab", "start": months_before(30), "last_dose": last});
        let r = assess(&with_meds(base(), vec![dmab]));
        assert!(alert(&r, "denosumab_overdue").is_none());
        assert_eq!(
            injections(&r),
            vec![(AS_OF.to_owned(), Some(0)), (AS_OF.to_owned(), Some(6))]
        );
        let r = assess(&with_meds(base(), vec![dmab_ongoing(200)]));
        assert_eq!(
            injections(&r),
            vec![(AS_OF.to_owned(), Some(0)), (AS_OF.to_owned(), Some(6))]
        );
    }

    #[test]
    fn injections_with_an_unknown_last_dose_or_overdue_restart_from_as_of() {
        let dmab = json!({"drug": "denosumab", "start": months_before(30)});
        let r = assess(&with_meds(base(), vec![dmab]));
        assert_eq!(first_drug(&r), Some(Drug::Denosumab));
        assert_eq!(
            injections(&r),
            vec![(AS_OF.to_owned(), Some(0)), (AS_OF.to_owned(), Some(6))]
        );
        let rec = r
            .recommendations
            .iter()
            .find(|x| x.id == "fu.denosumab_injection")
            .unwrap();
        assert!(
            rec.text
                .en
                .contains("confirm the date of the last injection")
        );
        let r = assess(&with_meds(base(), vec![dmab_ongoing(211)]));
        assert_eq!(
            injections(&r),
            vec![(AS_OF.to_owned(), Some(0)), (AS_OF.to_owned(), Some(6))]
        );
    }

    #[test]
    fn injections_only_when_denosumab_is_first_choice() {
        let r = assess(&base());
        assert_ne!(first_drug(&r), Some(Drug::Denosumab));
        assert!(injections(&r).is_empty());
    }

    // ── 11.28.5 bone-turnover markers ──

    #[test]
    fn markers_at_3_months_only_on_a_drug_start() {
        let r = assess(&base());
        assert!(matches!(
            r.pharmacotherapy.start,
            StartTiming::Now | StartTiming::AfterChecks
        ));
        let v = visit(&r, AS_OF, Some(3)).unwrap();
        assert!(v.items.contains(&FollowUpItem::BoneTurnoverMarkers));
        assert_eq!(btm_entries(&r), 1);
        // Continue (started after the fracture, so not failed): none.
        let r = assess(&with_meds(
            base(),
            vec![med("alendronate", &days_before(5))],
        ));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Continue);
        assert_eq!(btm_entries(&r), 0);
        // Deferred (calcium correction): none.
        let r = assess(&with(base(), "/labs", json!({"calcium_mmol_l": 2.0})));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
        assert_eq!(btm_entries(&r), 0);
    }

    #[test]
    fn markers_at_3_and_6_months_for_zoledronic_acid_after_denosumab() {
        // The 5.7 transition (poor adherence, timely denosumab): deferred, dated.
        let mut v = with(base(), "/patient/adherence", json!("poor"));
        v = with_meds(v, vec![dmab_ongoing(137)]);
        let r = assess(&v);
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
        assert_eq!(r.pharmacotherapy.start, StartTiming::Deferred);
        for at in [3, 6] {
            let visit = visit(&r, AS_OF, Some(at)).unwrap_or_else(|| panic!("{at} months"));
            assert!(
                visit.items.contains(&FollowUpItem::BoneTurnoverMarkers),
                "{at}"
            );
        }
        // 11.21: the dated transition entry.
        let start_date = r.pharmacotherapy.start_date.unwrap();
        let t = visit(&r, AS_OF, None).unwrap();
        assert_eq!(t.due, start_date);
        assert!(t.items.contains(&FollowUpItem::DenosumabTransition));
        assert_eq!(t.switch_to, Some(Drug::ZoledronicAcid));
        assert_visits_apart(&r);
        // Rebound (stopped 10 months ago): zoledronic acid now, markers at 3 and 6 months.
        let stop = months_before(10);
        let dmab = json!({"drug": "denosumab", "start": months_before(30), "last_dose": stop, "end": stop});
        let r = assess(&with_meds(
            with(base(), "/patient/adherence", json!("poor")),
            vec![dmab],
        ));
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
        assert!(
            visit(&r, AS_OF, Some(6))
                .unwrap()
                .items
                .contains(&FollowUpItem::BoneTurnoverMarkers)
        );
        // Zoledronic acid without a denosumab history: never at 6 months.
        let r = assess(&base());
        assert_eq!(first_drug(&r), Some(Drug::ZoledronicAcid));
        assert!(
            visit(&r, AS_OF, Some(6))
                .is_none_or(|v| !v.items.contains(&FollowUpItem::BoneTurnoverMarkers))
        );
    }

    // ── 11.21 dated entries (drug fields constructed here) ──

    #[test]
    fn pth_course_end_entry_copies_the_course_end() {
        let s = months_before(10);
        let fu = schedule_with(&base(), |p| {
            p.course_end = Some(CourseEnd {
                drug: Drug::Teriparatide,
                date: Some(d(&s).add_months(24)),
                months_remaining: 14,
                switch_to: Some(Drug::ZoledronicAcid),
                from: Some(d(&s)),
                at_months: Some(24),
            });
        });
        let e = fu
            .iter()
            .find(|f| f.items.contains(&FollowUpItem::PthCourseEnd))
            .unwrap();
        assert_eq!(
            (e.from, e.at_months, e.due, e.switch_to),
            (
                d(&s),
                Some(24),
                d(&s).add_months(24),
                Some(Drug::ZoledronicAcid)
            )
        );
        assert_eq!(e.items, vec![FollowUpItem::PthCourseEnd]);
        // No date (after_checks / deferred start): no entry.
        let fu = schedule_with(&base(), |p| {
            p.course_end = Some(CourseEnd {
                drug: Drug::Teriparatide,
                date: None,
                months_remaining: 24,
                switch_to: None,
                from: None,
                at_months: None,
            });
        });
        assert!(
            fu.iter()
                .all(|f| !f.items.contains(&FollowUpItem::PthCourseEnd))
        );
    }

    #[test]
    fn romosozumab_course_end_entry_copies_the_course_end() {
        let s = months_before(4);
        let fu = schedule_with(&base(), |p| {
            p.course_end = Some(CourseEnd {
                drug: Drug::Romosozumab,
                date: Some(d(&s).add_months(12)),
                months_remaining: 8,
                switch_to: Some(Drug::Denosumab),
                from: Some(d(&s)),
                at_months: Some(12),
            });
        });
        let e = fu
            .iter()
            .find(|f| f.items.contains(&FollowUpItem::RomosozumabCourseEnd))
            .unwrap();
        assert_eq!(
            (e.from, e.at_months, e.due, e.switch_to),
            (d(&s), Some(12), d(&s).add_months(12), Some(Drug::Denosumab))
        );
    }

    #[test]
    fn transition_entry_only_with_a_start_date_11_28_15() {
        let mut v = with(base(), "/patient/adherence", json!("poor"));
        v = with_meds(v, vec![dmab_ongoing(137)]);
        let fu = schedule_with(&v, |p| p.start_date = None);
        assert!(
            fu.iter()
                .all(|f| !f.items.contains(&FollowUpItem::DenosumabTransition))
        );
    }

    #[test]
    fn exit_plan_review_on_the_12_month_entry_created_when_absent() {
        let exit = ExitPlan {
            then_drug: Some(Drug::ZoledronicAcid),
            months_after_last_dose: 6,
            btm_check_months: vec![3, 6],
        };
        // With a 12-month review: added to it.
        let fu = schedule_with(
            &with(base(), "/bone_density/dxa/lumbar_spine_t", json!(-2.0)),
            |p| p.exit_plan = Some(exit.clone()),
        );
        let e = fu
            .iter()
            .find(|f| f.from == as_of() && f.at_months == Some(12))
            .unwrap();
        assert!(e.items.contains(&FollowUpItem::ExitPlanReview));
        assert!(e.items.contains(&FollowUpItem::ClinicalReview));
        // Work-up plan without a 12-month entry: created.
        let v = frac("malignancy_signs", json!(["other_osseous_lesions"]));
        let fu = schedule_with(&v, |p| p.exit_plan = Some(exit.clone()));
        let e = fu
            .iter()
            .find(|f| f.from == as_of() && f.at_months == Some(12))
            .unwrap();
        assert_eq!(e.items, vec![FollowUpItem::ExitPlanReview]);
        assert_eq!(e.due, as_of().add_months(12));
    }

    // ── 11.28.18 ──

    #[test]
    fn one_month_review_has_review_and_radiograph_from_as_of() {
        let r = assess(&conservative_acute());
        let one = follow_up(&r, AS_OF, 1).unwrap();
        assert_eq!(
            one.items,
            vec![FollowUpItem::ClinicalReview, FollowUpItem::Radiograph]
        );
        // Unhealed chronic (oedema, onset 90) also gets it; healed chronic does not.
        let v = with(conservative_acute(), "/fractures/0/onset_days", json!(90));
        assert!(follow_up(&assess(&v), AS_OF, 1).is_some());
        let v = with(v, "/fractures/0/mri", json!({"stir": "isointense"}));
        assert!(follow_up(&assess(&v), AS_OF, 1).is_none());
    }

    // ── 11.16 care bundle ──

    fn care(r: &AssessmentReport, code: CareCode) -> Option<&ovcf_core::report::CareItem> {
        r.care_bundle.iter().find(|c| c.code == code)
    }

    #[test]
    fn care_bundle_order_ids_and_dues_for_the_base_case() {
        let r = assess(&base());
        let codes: Vec<CareCode> = r.care_bundle.iter().map(|c| c.code).collect();
        assert_eq!(
            codes,
            vec![
                CareCode::FallsRiskAssessment,
                CareCode::FlsReferral,
                CareCode::PhysiotherapyStrengthBalance,
                CareCode::SecondaryCauseScreen,
            ]
        );
        let ids: Vec<&str> = r
            .care_bundle
            .iter()
            .map(|c| c.recommendation_id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "care.falls",
                "care.fls",
                "care.exercise",
                "care.secondary_causes"
            ]
        );
        for id in ids {
            assert!(r.recommendations.iter().any(|x| x.id == id), "{id}");
        }
        assert_eq!(
            care(&r, CareCode::FallsRiskAssessment).unwrap().due,
            as_of()
        );
        assert_eq!(care(&r, CareCode::FlsReferral).unwrap().due, as_of());
        // Onset 10 days ago: exercise by onset + 112 days = as_of + 102.
        assert_eq!(
            care(&r, CareCode::PhysiotherapyStrengthBalance)
                .unwrap()
                .due,
            as_of().add_days(102)
        );
        assert_eq!(
            care(&r, CareCode::SecondaryCauseScreen).unwrap().due,
            as_of()
        );
        let rec = r
            .recommendations
            .iter()
            .find(|x| x.id == "care.secondary_causes")
            .unwrap();
        assert!(rec.text.en.contains(
            "before or with the first anti-osteoporosis dose; never delay a recent-fracture treatment for the non-blocking items"
        ));
    }

    #[test]
    fn exercise_due_is_never_before_as_of_and_follows_the_most_recent_fracture() {
        let due =
            |v: Value| care(&assess(&v), CareCode::PhysiotherapyStrengthBalance).map(|c| c.due);
        assert_eq!(
            due(frac("onset_days", json!(111))),
            Some(as_of().add_days(1))
        );
        assert_eq!(due(frac("onset_days", json!(112))), Some(as_of()));
        assert_eq!(due(frac("onset_days", json!(300))), Some(as_of()));
        assert_eq!(
            due(without(base(), "/fractures/0/onset_days")),
            Some(as_of())
        );
        let v = two_levels(json!({
            "level": "L2", "onset_days": 2, "pain_vas": 7, "imaging": ["mri"],
            "mri": {"stir": "hyperintense"}, "height_loss_pct": 30, "posterior_wall": "intact"
        }));
        assert_eq!(due(v), Some(as_of().add_days(110)));
        // Plans other than conservative or augmentation: not listed.
        let v = with(
            frac("imaging", json!(["xray"])),
            "/fractures/0/mri",
            Value::Null,
        );
        let v = without(v, "/fractures/0/mri");
        let r = assess(&v);
        assert_eq!(plan(&r), Plan::FurtherWorkup);
        assert!(care(&r, CareCode::PhysiotherapyStrengthBalance).is_none());
    }

    #[test]
    fn pathological_keeps_falls_and_screen_drops_fls() {
        let r = assess(&frac("malignancy_signs", json!(["other_osseous_lesions"])));
        assert!(care(&r, CareCode::FallsRiskAssessment).is_some());
        assert!(care(&r, CareCode::FlsReferral).is_none());
        assert!(care(&r, CareCode::SecondaryCauseScreen).is_some());
    }

    #[test]
    fn secondary_cause_screen_onset_364_yes_365_no() {
        assert!(
            care(
                &assess(&frac("onset_days", json!(364))),
                CareCode::SecondaryCauseScreen
            )
            .is_some()
        );
        assert!(
            care(
                &assess(&frac("onset_days", json!(365))),
                CareCode::SecondaryCauseScreen
            )
            .is_none()
        );
    }

    fn labs(v: &Value) -> Vec<SecondaryCauseLab> {
        let r = assess(v);
        care(&r, CareCode::SecondaryCauseScreen)
            .unwrap()
            .labs
            .clone()
            .unwrap()
    }

    #[test]
    fn secondary_cause_labs_in_order_leaving_out_known_ones() {
        use SecondaryCauseLab as L;
        assert_eq!(
            labs(&base()),
            vec![
                L::FullBloodCount,
                L::EsrOrCrp,
                L::CalciumAlbumin,
                L::Phosphate,
                L::AlkalinePhosphatase,
                L::RenalFunction,
                L::LiverTransaminases,
                L::Tsh,
                L::SerumProteinElectrophoresis,
                L::SerumFreeLightChains,
                L::VitaminD25oh,
                L::Pth,
            ]
        );
        let known = with(
            base(),
            "/labs",
            json!({"calcium_mmol_l": 2.3, "egfr_ml_min": 70, "vitamin_d_nmol_l": 60}),
        );
        let l = labs(&known);
        assert!(!l.contains(&L::CalciumAlbumin));
        assert!(!l.contains(&L::RenalFunction));
        assert!(!l.contains(&L::VitaminD25oh));
        assert!(!l.contains(&L::Magnesium));
        assert_eq!(l.len(), 9);
        // CrCl alone also counts as known renal function.
        assert!(
            !labs(&with(base(), "/labs", json!({"crcl_ml_min": 50}))).contains(&L::RenalFunction)
        );
        // Magnesium only when calcium < 2.10; testosterone only in men.
        assert!(
            labs(&with(base(), "/labs", json!({"calcium_mmol_l": 2.09}))).contains(&L::Magnesium)
        );
        assert!(
            !labs(&with(base(), "/labs", json!({"calcium_mmol_l": 2.10}))).contains(&L::Magnesium)
        );
        let male = labs(&with(base(), "/patient/sex", json!("male")));
        assert_eq!(male.last(), Some(&L::Testosterone));
        assert!(!labs(&base()).contains(&L::Testosterone));
    }

    #[test]
    fn vte_item_follows_bed_rest() {
        // Conservative, acute, day 2, mobilisation not possible: bed rest ordered.
        let mut v = with(conservative_acute(), "/fractures/0/onset_days", json!(2));
        set(
            &mut v,
            "/patient/mobilisation_under_analgesia",
            json!("not_possible"),
        );
        let r = assess(&v);
        assert!(r.perioperative.bed_rest_max_days.is_some());
        let vte = care(&r, CareCode::VteRiskAssessment).unwrap();
        assert_eq!(
            (vte.recommendation_id.as_str(), vte.due),
            ("care.vte_bed_rest", as_of())
        );
        assert_eq!(
            r.care_bundle.last().map(|c| c.code),
            Some(CareCode::VteRiskAssessment)
        );
        // Augmentation planned: no bed rest, no VTE item.
        let r = assess(&base());
        assert_eq!(r.perioperative.bed_rest_max_days, None);
        assert!(care(&r, CareCode::VteRiskAssessment).is_none());
    }

    // ── public vignettes of this area (r3-summary-pkp, pkp-fit-l1-wedge) ──

    fn pkp_fit() -> Value {
        json!({
            "as_of": "2026-11-24",
            "patient": {"age": 68, "sex": "female", "neurological_deficit": "none", "asa_class": 2},
            "fractures": [{
                "level": "L1", "onset_days": 10, "pain_vas": 8, "imaging": ["xray", "ct", "mri"],
                "mri": {"t1": "hypointense", "t2": "hyperintense", "stir": "hyperintense"},
                "morphometry": {"anterior_mm": 17.5, "middle_mm": 20, "posterior_mm": 27},
                "posterior_wall": "intact"
            }],
            "bone_density": {"dxa": {"lumbar_spine_t": -2.9, "femoral_neck_t": -2.4}}
        })
    }

    #[test]
    fn vignette_pkp_fit_and_r3_summary_pkp_risk_and_follow_up() {
        let r = assess(&pkp_fit());
        assert_eq!(plan(&r), Plan::Kyphoplasty);
        assert_eq!(adj(&r).tier, Tier::High);
        assert_eq!(adj(&r).factor_tier, Tier::Low);
        let months: Vec<Option<u32>> = r.follow_up.iter().map(|f| f.at_months).collect();
        for m in [3, 6, 12] {
            assert!(months.contains(&Some(m)), "{months:?}");
        }
        assert_eq!(r.summary.next_visit.due, Some(d("2027-02-24")));
        assert_visits_apart(&r);
    }
}
