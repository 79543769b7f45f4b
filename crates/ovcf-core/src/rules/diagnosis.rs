//! Diagnosis: per-fracture findings (decision rules §1), the OF score (§9.1) and bone density
//! (§2, §9.2).

use serde_json::{Value, json};

use crate::engine::Out;
use crate::facts::{Facts, FractureFacts};
use crate::report::{
    BoneDensityFinding, CtCategory, Diagnosis, DxaCategory, FractureClass, FractureFinding,
    OfInterpretation, OfItemStatus, OfScore, OfScoreItem, Outcome, QctCategory, Severity, Workup,
};
use crate::request::{Comorbidity, FindingMethod, Mobilisation, NeurologicalDeficit};

pub fn fractures(f: &Facts<'_>, out: &mut Out) -> Vec<FractureFinding> {
    let mut xray_only = Vec::new();
    let findings = f
        .fractures
        .iter()
        .map(|fr| {
            explain_fracture(fr, f.req.fractures[fr.index].onset_days, out);
            if fr.xray_only {
                xray_only.push(fr.level.as_str());
            }
            if fr.cleft {
                out.recommend("dx.intravertebral_cleft");
            }
            if fr.mri_done || fr.marrow_edema.is_some() {
                out.recommend("dx.mri_acuity");
            }
            let input = &f.req.fractures[fr.index];
            if input
                .finding_source
                .as_ref()
                .is_some_and(|s| s.method == FindingMethod::Ai)
            {
                out.recommend("dx.ai_finding_provenance");
            }
            FractureFinding {
                level: fr.level,
                height_loss_pct: fr.height_loss_pct,
                genant_grade: fr.genant_grade,
                morphology: fr.morphology,
                acuity: fr.acuity,
                marrow_edema: fr.marrow_edema,
                suspected_pathological: fr.pathological,
                height_loss_mm: fr.height_loss_mm,
                unhealed: fr.unhealed,
                class: if fr.treated {
                    FractureClass::Treated
                } else {
                    FractureClass::Unknown
                },
                treated: fr.treated,
                // Rule 11.9: the OF classification is for osteoporotic fractures [S8].
                of_score: if fr.pathological {
                    out.explain(
                        fr.path("of_score"),
                        "11.9",
                        &[("suspected_pathological", json!(true))],
                        Outcome::Applied,
                        Some(Value::Null),
                    );
                    None
                } else {
                    Some(of_score(f, fr))
                },
                finding_source: input.finding_source.clone(),
            }
        })
        .collect();
    if !xray_only.is_empty() {
        // Rule 3.2 (last paragraph): whatever the plan; seed §2.1.
        out.alert(
            "xray_only_diagnosis",
            Severity::Warning,
            vec![("levels", xray_only.join(", "))],
        );
        out.recommend("dx.xray_insufficient");
    }
    if f.fractures.iter().any(|fr| fr.genant_grade.is_some()) {
        out.recommend("dx.morphometry_convention");
    }
    if !f.req.risk_tools.is_empty() {
        out.recommend("score.external_tools");
    }
    out.recommend("score.of_score");
    findings
}

fn explain_fracture(fr: &FractureFacts, onset_days: Option<u32>, out: &mut Out) {
    let mut facts: Vec<(&str, Value)> = vec![("height_loss_pct", json!(fr.height_loss_pct))];
    if let Some(mm) = fr.height_loss_mm {
        facts.push(("height_loss_mm", json!(mm)));
        facts.push(("source", json!("morphometry")));
    } else if fr.height_loss_pct.is_some() {
        facts.push(("source", json!("height_loss_pct")));
    }
    out.explain(
        fr.path("genant_grade"),
        "1.1-1.2",
        &facts,
        Outcome::Applied,
        Some(json!(fr.genant_grade)),
    );
    if let Some((computed, given)) = fr.loss_disagreement {
        out.explain(
            fr.path("height_loss_pct"),
            "1.1",
            &[
                ("from_morphometry", json!(computed)),
                ("given_height_loss_pct", json!(given)),
                (
                    "note",
                    json!("morphometry wins; the two differ by more than 5 points"),
                ),
            ],
            Outcome::Applied,
            Some(json!(computed)),
        );
    }
    if fr.crush_no_reference {
        out.explain(
            fr.path("morphology"),
            if fr.crush_without_reference {
                "1.3"
            } else {
                "11.28.10"
            },
            &[
                ("posterior_smallest", json!(true)),
                ("reference_mm", Value::Null),
                ("height_loss_pct_given", json!(!fr.crush_without_reference)),
            ],
            Outcome::Applied,
            Some(json!("crush")),
        );
    }
    out.explain(
        fr.path("acuity"),
        "1.4",
        &[("onset_days", json!(onset_days))],
        Outcome::Applied,
        Some(json!(fr.acuity)),
    );
    out.explain(
        fr.path("marrow_edema"),
        "1.5",
        &[
            ("mri_done", json!(fr.mri_done)),
            ("intravertebral_cleft", json!(fr.cleft)),
            ("unhealed", json!(fr.unhealed)),
        ],
        Outcome::Applied,
        Some(json!(fr.marrow_edema)),
    );
}

/// The AO Spine–DGOU modified OF score (rule 9.1, clinical-reference §2.2). Unknown items are
/// never scored as 0: they widen `min_points`/`max_points` (rule 10.15).
pub fn of_score(f: &Facts<'_>, fr: &FractureFacts) -> OfScore {
    let th = f.th;
    let input = &f.req.fractures[fr.index];
    let p = &f.req.patient;
    let mut items = Vec::with_capacity(7);
    let mut push = |item: &str, known: Option<i32>, range: (i32, i32)| {
        let (lo, hi) = known.map_or(range, |v| (v, v));
        let unknown = known.is_none() && lo != hi;
        items.push(OfScoreItem {
            item: item.to_owned(),
            points: if unknown { None } else { Some(lo) },
            status: if unknown {
                OfItemStatus::Unknown
            } else {
                OfItemStatus::Scored
            },
            range: if unknown { Some([lo, hi]) } else { None },
        });
    };
    push("morphology", fr.of_type.map(|t| 2 * t.number()), (2, 10));
    let severe_t = f.lowest_t.map(|(t, _)| t < th.very_high_risk_below_t.value);
    let severe_hu = f.ct_hu_usable.map(|hu| hu <= th.ct_hu_of_severe_max.value);
    let severity = match (severe_t, severe_hu) {
        (Some(true), _) | (_, Some(true)) => Some(1),
        (Some(false), _) | (_, Some(false)) => Some(0),
        (None, None) => None,
    };
    push("osteoporosis_severity", severity, (0, 1));
    push(
        "deformity_progression",
        input.deformity_progression.map(|d| if d { 1 } else { -1 }),
        (-1, 1),
    );
    push(
        "pain",
        fr.vas.map(|v| {
            if v >= th.augmentation_min_vas.value {
                1
            } else {
                -1
            }
        }),
        (-1, 1),
    );
    push(
        "neurology",
        Some(if f.deficit == NeurologicalDeficit::None {
            0
        } else {
            2
        }),
        (0, 2),
    );
    push(
        "mobilisation",
        p.mobilisation_under_analgesia.map(|m| match m {
            Mobilisation::NotPossible => 1,
            Mobilisation::Possible => -1,
        }),
        (-1, 1),
    );
    let known_neg = i32::from(p.asa_class.is_some_and(|a| a > 3))
        + i32::from(p.modified_frailty_index.is_some_and(|m| m > 2))
        + i32::from(f.has(Comorbidity::AnticoagulantTherapy));
    let unknown_n =
        i32::from(p.asa_class.is_none()) + i32::from(p.modified_frailty_index.is_none());
    let hi = -known_neg.min(2);
    let lo = -(known_neg + unknown_n).min(2);
    push("health_status", (lo == hi).then_some(hi), (lo, hi));

    let min_points: i32 = items
        .iter()
        .map(|i| i.points.or(i.range.map(|r| r[0])).unwrap_or(0))
        .sum();
    let max_points: i32 = items
        .iter()
        .map(|i| i.points.or(i.range.map(|r| r[1])).unwrap_or(0))
        .sum();
    let all_known = items.iter().all(|i| i.status == OfItemStatus::Scored);
    let cut = th.of_score_either_points.value as i32;
    let interpret = |x: i32| match x.cmp(&cut) {
        std::cmp::Ordering::Less => OfInterpretation::Conservative,
        std::cmp::Ordering::Equal => OfInterpretation::Either,
        std::cmp::Ordering::Greater => OfInterpretation::Surgical,
    };
    let interpretation = if interpret(min_points) == interpret(max_points) {
        interpret(min_points)
    } else {
        OfInterpretation::Undetermined
    };
    OfScore {
        points: all_known.then_some(min_points),
        min_points,
        max_points,
        items,
        interpretation,
        variant: "ao_spine_dgou_modified".into(),
    }
}

pub fn bone_density(f: &Facts<'_>, out: &mut Out) -> BoneDensityFinding {
    let th = f.th;
    let lowest = f.lowest_t.map(|(t, _)| t);
    let dxa_category = lowest.map(|t| {
        if t <= th.dxa_osteoporosis_max_t.value {
            DxaCategory::Osteoporosis
        } else if t < th.dxa_normal_min_t.value {
            DxaCategory::Osteopenia
        } else {
            DxaCategory::Normal
        }
    });
    if dxa_category.is_some() {
        out.recommend("bmd.dxa_who");
        if f64::from(f.age) < th.z_score_age_below.value {
            out.recommend("bmd.z_score_under_50");
        }
    }
    let qct_category = f.qct.map(|q| {
        if q < th.qct_osteoporosis_below.value {
            QctCategory::Osteoporosis
        } else if q <= th.qct_low_max.value {
            QctCategory::Low
        } else {
            QctCategory::Normal
        }
    });
    if qct_category.is_some() {
        out.recommend("bmd.qct");
    }
    let ct_category = f.ct_hu_usable.map(|hu| {
        if hu <= th.ct_hu_osteoporosis_likely_max.value {
            CtCategory::OsteoporosisLikely
        } else if hu > th.ct_hu_osteoporosis_unlikely_above.value {
            CtCategory::OsteoporosisUnlikely
        } else {
            CtCategory::Indeterminate
        }
    });
    if f.ct_hu_usable.is_some() || f.ct_hu_given_unusable {
        out.recommend("bmd.ct_attenuation");
    }
    if f.ct_hu_given_unusable {
        out.explain(
            "bone_density.ct_category",
            "9.2",
            &[
                (
                    "ct_hu_l1",
                    json!(f.req.bone_density.as_ref().and_then(|b| b.ct_hu_l1)),
                ),
                (
                    "reason",
                    json!("L1 is fractured or cemented (reads high): measure an unfractured level"),
                ),
            ],
            Outcome::NotApplied,
            None,
        );
    }
    let densitometric_osteoporosis = dxa_category == Some(DxaCategory::Osteoporosis)
        || qct_category == Some(QctCategory::Osteoporosis);
    let diagnosis = if f.any_pathological {
        densitometric_osteoporosis.then_some(Diagnosis::Osteoporosis)
    } else if densitometric_osteoporosis {
        Some(Diagnosis::SevereOsteoporosis)
    } else {
        Some(Diagnosis::Osteoporosis)
    };
    if diagnosis.is_some() {
        out.recommend("bmd.fragility_fracture_diagnosis");
    }
    out.explain(
        "bone_density.diagnosis",
        "2.3",
        &[
            ("lowest_t_score", json!(lowest)),
            ("qct_vbmd_mg_cm3", json!(f.qct)),
            ("fragility_vertebral_fracture", json!(!f.any_pathological)),
            ("suspected_pathological", json!(f.any_pathological)),
        ],
        Outcome::Applied,
        Some(json!(diagnosis)),
    );

    // Rule 2.4: DXA may be falsely normal.
    let confounders = f
        .req
        .bone_density
        .as_ref()
        .and_then(|b| b.dxa_confounders.as_ref())
        .is_some_and(|c| !c.is_empty());
    let low_hu = f
        .ct_hu_usable
        .is_some_and(|hu| hu <= th.ct_hu_osteoporosis_likely_max.value);
    if let Some(t) = lowest
        && t > th.dxa_osteoporosis_max_t.value
        && (confounders || low_hu)
    {
        out.alert(
            "dxa_may_be_falsely_normal",
            Severity::Warning,
            vec![("t_score", format!("{t:.1}"))],
        );
        out.recommend("bmd.dxa_falsely_normal");
        if f.qct.is_none() {
            out.workup.insert(Workup::QctOr3dDxa);
        }
        out.explain(
            "alerts.dxa_may_be_falsely_normal",
            "2.4",
            &[
                ("lowest_t_score", json!(t)),
                ("dxa_confounders", json!(confounders)),
                ("ct_hu_l1_at_most_110", json!(low_hu)),
            ],
            Outcome::Applied,
            // Rule 11.23: the alert's severity as the report shows it.
            Some(json!(Severity::Warning)),
        );
    }
    BoneDensityFinding {
        dxa_category,
        lowest_t_score: lowest,
        qct_category,
        diagnosis,
        ct_category,
        lowest_t_site: f.lowest_t.map(|(_, s)| s.to_owned()),
    }
}
