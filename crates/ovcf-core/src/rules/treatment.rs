//! Treatment plan: per-fracture class (decision rules 3.1), the patient plan and its precedence
//! (3.2), approach (3.3), cement (3.4) and techniques (3.5).

use serde_json::{Value, json};

use crate::engine::Out;
use crate::facts::{Facts, FractureFacts};
use crate::report::{
    Acuity, Approach, AugmentationTiming, CementPlan, Corticosteroid, FractureClass,
    FractureFinding, LevelPlan, OfInterpretation, OfScoreAgreement, Outcome, Plan, Risks, Severity,
    Technique, Tier, TreatedLevel, Treatment, Urgency, UrgentAction, Workup,
};
use crate::request::{
    CementLeakage, Comorbidity, Level, NeurologicalDeficit, PosteriorWall, Priority, ProcedureType,
    SurgicalTolerance,
};

/// One rule of 3.2: its number, whether it holds, the plan it sets and the facts it read.
type PlanStep<'a> = (&'a str, bool, Plan, Vec<(&'a str, Value)>);
/// One branch of 3.2 #5: as [`PlanStep`], with the recommendation it fires.
type ProcedureBranch<'a> = (&'a str, bool, Plan, &'static str, Vec<(&'a str, Value)>);

/// Rule 3.1, first match wins.
fn classify(f: &Facts<'_>, fr: &FractureFacts, out: &mut Out) -> FractureClass {
    let th = f.th;
    if fr.pathological || fr.wall == PosteriorWall::Retropulsion || fr.unstable_of() {
        return FractureClass::Excluded;
    }
    let mut disqualifiers: Vec<(&str, Value)> = Vec::new();
    if let Some(l) = fr.height_loss_pct
        && l <= th.conservative_max_height_loss_pct.value
    {
        disqualifiers.push(("height_loss_pct", json!(l)));
    }
    // Rule 11.28.27: the exact absolute loss (4.01 mm is not a disqualifier).
    if let Some(mm) = fr.height_loss_mm
        && mm <= th.conservative_max_abs_loss_mm.value
    {
        disqualifiers.push(("height_loss_mm", json!(mm)));
    }
    if let Some(v) = fr.vas
        && v < th.augmentation_min_vas.value
    {
        disqualifiers.push(("pain_vas", json!(v)));
    }
    if fr.unhealed == Some(false) {
        disqualifiers.push(("healed", json!(true)));
        if fr.acuity == Acuity::Chronic {
            out.alert(
                "chronic_fracture_limited_benefit",
                Severity::Warning,
                vec![("levels", fr.level.to_string())],
            );
            out.recommend("tx.chronic_limited_benefit");
        }
    }
    if !disqualifiers.is_empty() {
        out.explain(
            fr.path("class"),
            "3.1#2",
            &disqualifiers,
            Outcome::Applied,
            Some(json!("not_indicated")),
        );
        return FractureClass::NotIndicated;
    }
    let mut unknown = false;
    if fr.crush_without_reference {
        out.missing(fr.path("morphometry.reference_mm"));
        unknown = true;
    } else if fr.height_loss_pct.is_none() {
        out.missing(fr.path("height_loss_pct"));
        unknown = true;
    }
    if fr.vas.is_none() {
        out.missing(fr.path("pain_vas"));
        unknown = true;
    }
    if fr.mri_signal_missing {
        out.missing(fr.path("mri.stir"));
        unknown = true;
    }
    if unknown {
        return FractureClass::Unknown;
    }
    if fr.marrow_edema.is_none() {
        return FractureClass::NeedsMri;
    }
    if fr.wall == PosteriorWall::Unknown {
        return FractureClass::NeedsCt;
    }
    if fr.acuity == Acuity::Chronic {
        out.alert(
            "chronic_fracture_limited_benefit",
            Severity::Info,
            vec![("levels", fr.level.to_string())],
        );
        out.recommend("tx.chronic_limited_benefit");
    }
    FractureClass::Candidate
}

/// Rules 3.1–3.4, 11.7, 11.19, 11.20 (techniques, 3.5, once the risks are known).
pub fn plan(f: &Facts<'_>, findings: &mut [FractureFinding], out: &mut Out) -> Treatment {
    let th = f.th;
    let mut classes = Vec::with_capacity(f.fractures.len());
    for fr in &f.fractures {
        let class = if fr.treated {
            FractureClass::Treated
        } else {
            classify(f, fr, out)
        };
        findings[fr.index].class = class;
        classes.push((fr, class));
    }
    let untreated = || classes.iter().filter(|(fr, _)| !fr.treated);
    let any_class = |c: FractureClass| untreated().any(|(_, k)| *k == c);

    // Alerts and work-up of every rule whose conditions hold (rule 0.7).
    let deficit = f.deficit != NeurologicalDeficit::None;
    if deficit {
        // 11.7: same-day referral in the text, except a radicular deficit of an osteoporotic
        // fracture, whose urgency is `urgent`: the alert must not contradict `treatment.urgency`
        // (a radicular deficit with malignancy signs is MSCC and keeps the same-day text).
        let radicular_only = f.deficit == NeurologicalDeficit::Radicular && !f.any_pathological;
        let params = if radicular_only {
            vec![("variant", "radicular".to_owned())]
        } else {
            vec![]
        };
        out.alert("neurological_deficit", Severity::Critical, params);
        out.recommend("tx.surgical_referral_neuro");
    }
    let unstable: Vec<&str> = untreated()
        .filter(|(fr, _)| fr.unstable_of())
        .map(|(fr, _)| fr.level.as_str())
        .collect();
    if !unstable.is_empty() {
        out.alert(
            "unstable_fracture",
            Severity::Critical,
            vec![("levels", unstable.join(", "))],
        );
        out.recommend("tx.unstable_fracture");
    }
    let mut retro_refer = Vec::new();
    let mut retro_healed = Vec::new();
    for (fr, _) in untreated().filter(|(fr, _)| fr.wall == PosteriorWall::Retropulsion) {
        if fr.unhealed != Some(false) || deficit {
            retro_refer.push(fr.level.as_str());
        } else {
            retro_healed.push(fr.level.as_str());
        }
    }
    if !retro_refer.is_empty() {
        let mut all = retro_refer.clone();
        all.extend(&retro_healed);
        out.alert(
            "posterior_wall_retropulsion",
            Severity::Critical,
            vec![("levels", all.join(", "))],
        );
        out.recommend("tx.retropulsion_referral");
    } else if !retro_healed.is_empty() {
        out.alert(
            "posterior_wall_retropulsion",
            Severity::Warning,
            vec![("levels", retro_healed.join(", "))],
        );
    }
    // Rule 11.28.8: every present fracture, treated levels included.
    let pathological: Vec<&FractureFacts> =
        f.fractures.iter().filter(|fr| fr.pathological).collect();
    // Rule 11.7: MSCC with neurological signs.
    let mscc = !pathological.is_empty() && deficit;
    if !pathological.is_empty() {
        let levels: Vec<&str> = pathological.iter().map(|fr| fr.level.as_str()).collect();
        out.alert(
            "suspected_pathological_fracture",
            Severity::Critical,
            vec![("levels", levels.join(", "))],
        );
        out.recommend("dx.pathological_workup");
        out.recommend("tx.workup_before_augmentation");
        out.workup.insert(Workup::Biopsy);
        out.workup.insert(Workup::OncologyWorkup);
        if pathological.iter().any(|fr| !fr.mri_done) {
            out.workup.insert(Workup::Mri);
        }
        if mscc {
            out.alert(
                "mscc_suspected",
                Severity::Critical,
                vec![("levels", levels.join(", "))],
            );
            out.recommend("tx.urgent_mscc");
            out.workup.insert(Workup::WholeSpineMri);
        }
    }
    if any_class(FractureClass::NeedsMri) {
        out.workup.insert(Workup::Mri);
        out.recommend("dx.mri_acuity");
    }
    if any_class(FractureClass::NeedsCt) {
        out.workup.insert(Workup::Ct);
        out.recommend("dx.ct_posterior_wall");
    }
    // Rules 3.2 #6 and 11.28.3 (whatever the plan, 0.7): an unknown wall on an untreated level
    // that is unhealed or has VAS ≥ 5.
    if untreated().any(|(fr, _)| {
        fr.wall == PosteriorWall::Unknown
            && (fr.unhealed == Some(true)
                || fr.vas.is_some_and(|v| v >= th.augmentation_min_vas.value))
    }) {
        out.workup.insert(Workup::Ct);
        out.recommend("dx.ct_posterior_wall");
    }

    let candidates: Vec<&FractureFacts> = untreated()
        .filter(|(_, c)| *c == FractureClass::Candidate)
        .map(|(fr, _)| *fr)
        .collect();
    // Rule 11.28.26: the 3.2 #5 alerts whenever a candidate exists, whatever rule sets the plan.
    let blocked: Vec<Comorbidity> = [Comorbidity::ActiveInfection, Comorbidity::Coagulopathy]
        .into_iter()
        .filter(|c| f.has(*c))
        .collect();
    if !candidates.is_empty() {
        if !blocked.is_empty() {
            out.alert("augmentation_contraindicated", Severity::Critical, vec![]);
            out.recommend("tx.augmentation_contraindicated");
        }
        if f.has(Comorbidity::AnticoagulantTherapy) {
            out.alert("anticoagulation_periprocedural", Severity::Warning, vec![]);
            out.recommend("tx.anticoagulation_periprocedural");
        }
    }

    // Rule 3.2: the first rule that applies sets the plan.
    let referral = deficit || !unstable.is_empty() || !retro_refer.is_empty();
    let all_treated = f.fractures.iter().all(|fr| fr.treated);
    let candidate_levels = || json!(candidates.iter().map(|c| c.level).collect::<Vec<_>>());
    let steps: [PlanStep; 5] = [
        (
            "3.2#1",
            referral,
            Plan::SurgicalReferral,
            vec![
                ("neurological_deficit", json!(f.deficit)),
                ("unstable_of4_of5", json!(unstable)),
                ("retropulsion_unhealed_or_with_deficit", json!(retro_refer)),
            ],
        ),
        (
            "3.2#2",
            !pathological.is_empty(),
            Plan::FurtherWorkup,
            vec![("suspected_pathological", json!(!pathological.is_empty()))],
        ),
        (
            "3.2#3",
            any_class(FractureClass::NeedsMri) || any_class(FractureClass::NeedsCt),
            Plan::FurtherWorkup,
            vec![
                ("needs_mri", json!(any_class(FractureClass::NeedsMri))),
                ("needs_ct", json!(any_class(FractureClass::NeedsCt))),
            ],
        ),
        (
            "3.2#4",
            any_class(FractureClass::Unknown) && candidates.is_empty(),
            Plan::InsufficientData,
            vec![
                ("unknown_levels", json!(any_class(FractureClass::Unknown))),
                ("candidates", json!(candidates.len())),
            ],
        ),
        (
            "3.2#5",
            !candidates.is_empty(),
            // The final value (the procedure, or conservative when contraindicated) is set below.
            Plan::Vertebroplasty,
            if blocked.is_empty() {
                vec![("candidates", candidate_levels())]
            } else {
                vec![
                    ("candidates", candidate_levels()),
                    ("contraindications", json!(blocked)),
                ]
            },
        ),
    ];
    let mut plan = Plan::Conservative;
    let mut decided = false;
    let mut per_level = Vec::new();
    let mut alternative = None;
    for (rule, holds, p, facts) in steps {
        if decided {
            continue;
        }
        if !holds {
            out.explain("treatment.plan", rule, &facts, Outcome::NotApplied, None);
            continue;
        }
        decided = true;
        plan = p;
        if rule == "3.2#5" {
            // Rule 11.23: the applied entry carries the final plan.
            if blocked.is_empty() {
                let (chosen, alt) = choose_procedure(f, &candidates, out);
                plan = chosen;
                alternative = Some(alt);
                out.recommend("tx.augmentation_indicated");
                for fr in &candidates {
                    per_level.push(level_plan(f, fr.level, out));
                }
            } else {
                plan = Plan::Conservative;
            }
        }
        out.explain(
            "treatment.plan",
            rule,
            &facts,
            Outcome::Applied,
            Some(json!(plan)),
        );
    }
    if !decided {
        if all_treated {
            // Rules 0.6 and 11.20: every present fracture is treated.
            let treated: Vec<Level> = f.fractures.iter().map(|fr| fr.level).collect();
            out.explain(
                "treatment.plan",
                "0.6",
                &[("treated_levels", json!(treated))],
                Outcome::Applied,
                Some(json!(Plan::Conservative)),
            );
        } else {
            out.explain(
                "treatment.plan",
                "3.2#6",
                &[("candidates", json!(0))],
                Outcome::Applied,
                Some(json!(Plan::Conservative)),
            );
        }
        out.recommend("tx.conservative_care");
    }
    if plan == Plan::InsufficientData {
        out.recommend("tx.insufficient_data");
    }

    // Rules 11.6 and 11.7: urgency and urgent actions of a referral; the MSCC bundle.
    let mut urgent_actions = Vec::new();
    let urgency = (plan == Plan::SurgicalReferral).then(|| {
        let same_day = matches!(
            f.deficit,
            NeurologicalDeficit::Incomplete | NeurologicalDeficit::Complete
        ) || mscc;
        urgent_actions.push(UrgentAction::SpinalPrecautions);
        if same_day {
            urgent_actions.push(UrgentAction::SameDaySpinalReferral);
            Urgency::SameDay
        } else {
            Urgency::Urgent
        }
    });
    if let Some(u) = urgency {
        out.explain(
            "treatment.urgency",
            "11.7",
            &[
                ("neurological_deficit", json!(f.deficit)),
                ("suspected_pathological", json!(!pathological.is_empty())),
            ],
            Outcome::Applied,
            Some(json!(u)),
        );
    }
    let corticosteroid = mscc.then(|| {
        urgent_actions.extend([
            UrgentAction::Dexamethasone16mg,
            UrgentAction::WholeSpineMri24h,
            UrgentAction::SameDaySpinalReferral,
            UrgentAction::SpinalPrecautions,
        ]);
        let dose = th.dexamethasone_mscc_mg.value;
        Corticosteroid {
            drug: "dexamethasone".into(),
            dose_mg: dose,
            route: "oral_or_parenteral_equivalent".into(),
            start: "as_soon_as_possible".into(),
            continue_: format!("{dose} mg daily until surgery or radiotherapy"),
            stop_if: "mscc_excluded".into(),
        }
    });
    // Rule 11.20: cement in the spinal canal.
    let canal_leak = f.req.procedure.as_ref().is_some_and(|p| {
        p.cement_leakage
            .as_deref()
            .is_some_and(|l| l.contains(&CementLeakage::SpinalCanal))
    });
    if canal_leak {
        out.workup.insert(Workup::Ct);
        urgent_actions.push(UrgentAction::NeurologicalExamAndUrgentSpinalReview);
    }
    urgent_actions.sort_unstable();
    urgent_actions.dedup();

    // Rule 11.20: the treated levels.
    let treated_levels: Vec<TreatedLevel> = f
        .procedure
        .filter(|p| p.performed)
        .and_then(|p| {
            Some(TreatedLevel {
                level: p.level,
                procedure: match p.kind {
                    ProcedureType::Vertebroplasty => Plan::Vertebroplasty,
                    ProcedureType::Kyphoplasty => Plan::Kyphoplasty,
                },
                date: p.date?,
                post_procedure_day: f.post_procedure_day?,
            })
        })
        .into_iter()
        .collect();

    // Rule 11.19: timing and agreement with the OF score.
    let timing = plan.is_augmentation().then(|| {
        out.recommend("tx.timing_open");
        AugmentationTiming::ClinicianDecision
    });
    let (of_score_agreement, of_score_disagreeing_levels) =
        of_score_agreement(plan, &candidates, findings, out);

    Treatment {
        plan,
        alternative,
        per_level,
        techniques: Vec::new(),
        workup: Vec::new(),
        missing: Vec::new(),
        urgency,
        urgent_actions,
        corticosteroid,
        timing,
        of_score_agreement,
        of_score_disagreeing_levels,
        treated_levels,
    }
}

/// Rule 11.19: the plan against the OF-score interpretation of each compared fracture (the levels
/// to augment for an augmentation plan; every untreated fracture for `conservative`).
fn of_score_agreement(
    plan: Plan,
    candidates: &[&FractureFacts],
    findings: &[FractureFinding],
    out: &mut Out,
) -> (OfScoreAgreement, Vec<Level>) {
    let disagreeing_interpretation = match plan {
        Plan::Vertebroplasty | Plan::Kyphoplasty => OfInterpretation::Conservative,
        Plan::Conservative => OfInterpretation::Surgical,
        _ => return (OfScoreAgreement::NotAssessable, Vec::new()),
    };
    let compared = findings.iter().filter(|fi| {
        if plan.is_augmentation() {
            candidates.iter().any(|c| c.level == fi.level)
        } else {
            !fi.treated
        }
    });
    let mut any = false;
    let mut levels = Vec::new();
    let mut points = Vec::new();
    for fi in compared {
        let Some(score) = fi
            .of_score
            .as_ref()
            .filter(|s| s.interpretation != OfInterpretation::Undetermined)
        else {
            continue;
        };
        any = true;
        if score.interpretation == disagreeing_interpretation {
            levels.push(fi.level);
            points.push(match score.points {
                Some(p) => p.to_string(),
                None => format!("{}–{}", score.min_points, score.max_points),
            });
        }
    }
    let agreement = if !levels.is_empty() {
        OfScoreAgreement::Disagrees
    } else if any {
        OfScoreAgreement::Agrees
    } else {
        OfScoreAgreement::NotAssessable
    };
    if agreement == OfScoreAgreement::Disagrees {
        let names: Vec<&str> = levels.iter().map(|l| l.as_str()).collect();
        out.alert(
            "of_score_plan_disagreement",
            Severity::Info,
            vec![("levels", names.join(", ")), ("points", points.join(", "))],
        );
    }
    out.explain(
        "treatment.of_score_agreement",
        "11.19",
        &[("disagreeing_levels", json!(levels))],
        Outcome::Applied,
        Some(json!(agreement)),
    );
    (agreement, levels)
}

/// Rule 3.2 #5: vertebroplasty or kyphoplasty, with the reasons considered.
fn choose_procedure(f: &Facts<'_>, candidates: &[&FractureFacts], out: &mut Out) -> (Plan, Plan) {
    let th = f.th;
    let priority = f.req.preferences.and_then(|p| p.priority);
    let wall_involved: Vec<Level> = candidates
        .iter()
        .filter(|c| c.wall == PosteriorWall::Involved)
        .map(|c| c.level)
        .collect();
    let poor = f.tolerance == SurgicalTolerance::Poor;
    let old = f64::from(f.age) > th.pvp_age_above.value;
    let rapid = priority == Some(Priority::RapidPainRelief);
    let severe_loss = candidates.iter().any(|c| {
        c.height_loss_pct
            .is_some_and(|l| l > th.pkp_height_loss_above_pct.value)
    });
    let kyphosis = candidates.iter().any(|c| {
        f.req.fractures[c.index]
            .kyphotic_angle_deg
            .is_some_and(|a| a >= th.pkp_kyphotic_angle_min_deg.value)
    });
    let alignment = priority == Some(Priority::AlignmentRestoration);
    let branches: [ProcedureBranch; 4] = [
        (
            "3.2#5a",
            !wall_involved.is_empty(),
            Plan::Kyphoplasty,
            "tx.pkp_posterior_wall",
            vec![("posterior_wall_involved", json!(wall_involved))],
        ),
        (
            "3.2#5b",
            poor || old || rapid,
            Plan::Vertebroplasty,
            "tx.pvp_selection",
            vec![
                ("surgical_tolerance_poor", json!(poor)),
                ("age", json!(f.age)),
                ("age_over_80", json!(old)),
                ("priority_rapid_pain_relief", json!(rapid)),
            ],
        ),
        (
            "3.2#5c",
            severe_loss || kyphosis || alignment,
            Plan::Kyphoplasty,
            "tx.pkp_selection",
            vec![
                ("height_loss_over_30pct", json!(severe_loss)),
                ("kyphotic_angle_at_least_20", json!(kyphosis)),
                ("priority_alignment_restoration", json!(alignment)),
            ],
        ),
        (
            "3.2#5d",
            true,
            Plan::Vertebroplasty,
            "tx.pvp_selection",
            vec![("nothing_calls_for_kyphoplasty", json!(true))],
        ),
    ];
    let mut chosen = Plan::Vertebroplasty;
    let mut done = false;
    for (rule, holds, p, rec, facts) in branches {
        if done {
            continue;
        }
        if holds {
            done = true;
            chosen = p;
            out.recommend(rec);
            out.explain(
                "treatment.procedure",
                rule,
                &facts,
                Outcome::Applied,
                Some(json!(p)),
            );
        } else {
            out.explain(
                "treatment.procedure",
                rule,
                &facts,
                Outcome::NotApplied,
                None,
            );
        }
    }
    let alt = if chosen == Plan::Kyphoplasty {
        Plan::Vertebroplasty
    } else {
        Plan::Kyphoplasty
    };
    (chosen, alt)
}

/// Rules 3.3 (approach) and 3.4 (cement).
fn level_plan(f: &Facts<'_>, level: Level, out: &mut Out) -> LevelPlan {
    let th = f.th;
    let unilateral = matches!(
        level,
        Level::T4
            | Level::T5
            | Level::T6
            | Level::T7
            | Level::T8
            | Level::T9
            | Level::T10
            | Level::L1
            | Level::L2
            | Level::L3
            | Level::L4
    );
    let approach = if unilateral {
        out.recommend("tx.approach_unilateral");
        Approach::Unilateral
    } else {
        out.recommend("tx.approach_bilateral");
        Approach::Bilateral
    };
    let (lo, hi) = if level.is_thoracic() {
        out.recommend("tx.cement_thoracic");
        (
            th.cement_thoracic_min_ml.value,
            th.cement_thoracic_max_ml.value,
        )
    } else {
        out.recommend("tx.cement_lumbar");
        (th.cement_lumbar_min_ml.value, th.cement_lumbar_max_ml.value)
    };
    let fraction = th.cement_max_fill_fraction.value;
    let body = f
        .req
        .procedure
        .as_ref()
        .filter(|p| p.level == level)
        .and_then(|p| p.vertebral_body_volume_ml);
    let (min_ml, max_ml) = match body {
        Some(volume) => {
            // Rule 11.28.29: the exact cap, never rounded (a renderer may floor it to 0.1 mL).
            let cap = crate::facts::exact(fraction * volume);
            let max = hi.min(cap);
            if max < lo {
                out.recommend("tx.cement_small_body");
            }
            (lo.min(max), max)
        }
        None => (lo, hi),
    };
    out.explain(
        format!("treatment.per_level[{level}].cement"),
        "3.4",
        &[
            ("thoracic", json!(level.is_thoracic())),
            ("vertebral_body_volume_ml", json!(body)),
        ],
        Outcome::Applied,
        Some(json!({"min_ml": min_ml, "max_ml": max_ml})),
    );
    LevelPlan {
        level,
        approach: Some(approach),
        cement: Some(CementPlan {
            min_ml,
            max_ml,
            max_fill_fraction: fraction,
        }),
    }
}

/// Rule 3.5, once the adjacent-fracture tier is known; also moves the gathered work-up in.
pub fn techniques(f: &Facts<'_>, t: &mut Treatment, risks: &Risks, out: &mut Out) {
    if t.plan.is_augmentation() {
        let mut set = std::collections::BTreeSet::new();
        for lp in &t.per_level {
            let Some(fr) = f.fractures.iter().find(|fr| fr.level == lp.level) else {
                continue;
            };
            let input = &f.req.fractures[fr.index];
            let breach = input.anterior_cortex_breach == Some(true);
            if breach {
                set.insert(Technique::Eggshell);
                out.recommend("tx.eggshell");
            }
            if breach || fr.cleft {
                set.insert(Technique::MeshContainer);
                out.recommend("tx.mesh_container");
            }
        }
        // Rule 11.13: 3.5 reads the count tier of 6.1 (`factor_tier`).
        if risks
            .adjacent_fracture
            .as_ref()
            .is_some_and(|a| a.factor_tier == Tier::High)
        {
            set.insert(Technique::LowModulusCement);
            out.recommend("tx.low_modulus_cement");
        }
        t.techniques = set.into_iter().collect();
    }
    t.workup = std::mem::take(&mut out.workup).into_iter().collect();
}
