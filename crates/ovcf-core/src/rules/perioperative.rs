//! Perioperative plan: spinal precautions, mobilisation, bed rest, brace, analgesia and its
//! adjuncts (decision rules §4, 11.6, 11.8, 11.10–11.12, 11.17, 11.28.2, 11.28.6; seed §4,
//! Tables 1–2).

use std::collections::BTreeMap;

use serde_json::json;

use crate::engine::{Assumed, Out};
use crate::facts::Facts;
use crate::report::{
    Acuity, Adjunct, AdjunctCode, Analgesic, AvoidReason, Brace, MobilisationPlan, Outcome,
    PeriopContext, Perioperative, Plan, PrecautionsUntil, Severity, SpinalMeasure,
    SpinalPrecautions, Treatment,
};
use crate::request::{Comorbidity, Drug, Mobilisation};

/// The mobilisation branch: hours to mobilise, bed-rest days and date, brace, plan.
struct Branch {
    mobilize_within_hours: Option<f64>,
    bed_rest_max_days: Option<f64>,
    bed_rest_until: Option<crate::date::Date>,
    brace: Brace,
    mobilisation: MobilisationPlan,
}

pub fn plan(f: &Facts<'_>, t: &Treatment, out: &mut Out) -> Perioperative {
    let th = f.th;
    let referral = t.plan == Plan::SurgicalReferral;
    let augmentation = t.plan.is_augmentation();
    // Rules 0.6, 11.12 (amended by 11.28): the after-augmentation branch runs on days 0–42.
    let ppd = f
        .post_procedure_day
        .filter(|d| (*d as f64) <= th.post_procedure_branch_days.value);
    let early_day = ppd.is_some_and(|d| (d as f64) <= th.early_mobilisation_valid_days.value);
    // Rule 10.13: a treated level is neither acute nor unhealed here.
    let acute_or_unhealed = f
        .untreated()
        .any(|fr| fr.acuity == Acuity::Acute || fr.unhealed == Some(true));

    let (branch, rule) = if referral {
        // Rule 11.6: spinal precautions, whatever the reason for the referral.
        out.recommend("periop.spinal_precautions");
        (
            Branch {
                mobilize_within_hours: None,
                bed_rest_max_days: None,
                bed_rest_until: None,
                brace: Brace::PerSurgeon,
                mobilisation: MobilisationPlan::SpinalPrecautions,
            },
            "11.6",
        )
    } else if augmentation || early_day {
        out.recommend("periop.early_mobilisation");
        out.recommend("periop.soft_brace");
        (
            Branch {
                mobilize_within_hours: Some(th.mobilize_within_hours.value),
                bed_rest_max_days: None,
                bed_rest_until: None,
                brace: Brace::SoftOrDynamic,
                mobilisation: MobilisationPlan::EarlyAfterAugmentation,
            },
            "11.12",
        )
    } else if ppd.is_some() {
        // Day 2–42 after the procedure: continue mobilisation.
        out.recommend("periop.early_mobilisation");
        out.recommend("periop.soft_brace");
        (
            Branch {
                mobilize_within_hours: None,
                bed_rest_max_days: None,
                bed_rest_until: None,
                brace: Brace::SoftOrDynamic,
                mobilisation: MobilisationPlan::Continue,
            },
            "11.12",
        )
    } else if t.plan == Plan::Conservative && acute_or_unhealed {
        out.recommend("periop.conservative_bed_rest");
        out.recommend("periop.soft_brace");
        (bed_rest(f, out), "11.10")
    } else if t.plan == Plan::Conservative {
        out.recommend("periop.no_bed_rest_healed");
        (
            Branch {
                mobilize_within_hours: None,
                bed_rest_max_days: None,
                bed_rest_until: None,
                brace: Brace::None,
                mobilisation: MobilisationPlan::Progressive,
            },
            "4",
        )
    } else {
        (
            Branch {
                mobilize_within_hours: None,
                bed_rest_max_days: None,
                bed_rest_until: None,
                brace: Brace::None,
                mobilisation: MobilisationPlan::AsTolerated,
            },
            "11.10",
        )
    };
    out.explain(
        "perioperative.mobilisation",
        rule,
        &[
            ("plan", json!(t.plan)),
            ("post_procedure_day", json!(f.post_procedure_day)),
            ("days_since_onset", json!(f.days_since_onset)),
            (
                "acute_or_unhealed_untreated_level",
                json!(acute_or_unhealed),
            ),
        ],
        Outcome::Applied,
        Some(json!(branch.mobilisation)),
    );
    // Rule 11.12: the first match wins.
    let context = if augmentation {
        PeriopContext::PreProcedure
    } else if ppd.is_some() {
        PeriopContext::PostProcedure
    } else if referral {
        PeriopContext::AwaitingSurgicalReview
    } else {
        PeriopContext::NonOperative
    };
    let spinal_precautions = if referral {
        SpinalPrecautions {
            required: true,
            measures: vec![SpinalMeasure::FlatBedRest, SpinalMeasure::LogRoll],
            until: Some(PrecautionsUntil::SpineSurgeonStabilityAssessment),
        }
    } else {
        SpinalPrecautions {
            required: false,
            measures: Vec::new(),
            until: None,
        }
    };

    // Rule 11.28.6: one reason per drug, the first that applies in this order.
    let mut avoid_reasons: BTreeMap<Drug, AvoidReason> = BTreeMap::new();
    if f.renal_below(th.renal_nsaid_below.value) {
        for d in [Drug::Nsaid, Drug::Cox2Inhibitor] {
            avoid_reasons.insert(d, AvoidReason::RenalContraindication);
        }
        out.recommend("periop.nsaid_renal");
    }
    let cv_bleeding = [
        Comorbidity::HeartFailure,
        Comorbidity::CoronaryDisease,
        Comorbidity::RecentMiOrStroke,
        Comorbidity::AnticoagulantTherapy,
        Comorbidity::Coagulopathy,
    ]
    .into_iter()
    .any(|c| f.has(c));
    if cv_bleeding {
        for d in [Drug::Nsaid, Drug::Cox2Inhibitor] {
            avoid_reasons
                .entry(d)
                .or_insert(AvoidReason::CardiovascularOrBleedingRisk);
        }
        out.recommend("periop.nsaid_cardiovascular");
    }
    if f.nonunion_risk {
        avoid_reasons
            .entry(Drug::Nsaid)
            .or_insert(AvoidReason::NonunionRisk);
        out.recommend("periop.nsaid_nonunion_cox2");
    }
    // Rule 11.8: held while a pathological fracture is suspected or an operation is pending.
    let held = f.any_pathological || referral;
    if held {
        avoid_reasons
            .entry(Drug::Calcitonin)
            .or_insert(if f.any_pathological {
                AvoidReason::MalignancySuspected
            } else {
                AvoidReason::ProcedurePending
            });
        for d in [Drug::Nsaid, Drug::Cox2Inhibitor] {
            avoid_reasons
                .entry(d)
                .or_insert(AvoidReason::ProcedurePending);
        }
        out.recommend("periop.nsaid_procedure_pending");
        out.recommend("periop.calcitonin_acute");
    }
    if f.renal.is_none() {
        out.assume(
            "labs.egfr_ml_min",
            Assumed::MeasureCreatinine,
            None,
            "renal function unknown: measure creatinine before the first bisphosphonate or NSAID dose",
        );
        out.recommend("periop.measure_renal_function");
    }

    // Rule 11.28.2: a coxib is an NSAID (same short course).
    let nsaid_days = th.nsaid_max_days.value as u32;
    let mut analgesia = vec![Analgesic {
        drug: Drug::Paracetamol,
        max_days: None,
    }];
    out.recommend("periop.paracetamol_first");
    if !avoid_reasons.contains_key(&Drug::Nsaid) {
        analgesia.push(Analgesic {
            drug: Drug::Nsaid,
            max_days: Some(nsaid_days),
        });
        out.recommend("periop.nsaid_short_course");
    } else if f.nonunion_risk && !avoid_reasons.contains_key(&Drug::Cox2Inhibitor) {
        analgesia.push(Analgesic {
            drug: Drug::Cox2Inhibitor,
            max_days: Some(nsaid_days),
        });
        out.recommend("periop.nsaid_short_course");
    }
    // Rule 11.11: calcitonin only in the acute window with VAS ≥ 5, and not under 11.8.
    let calcitonin_window = f.untreated().any(|fr| {
        fr.acuity == Acuity::Acute
            && f.req.fractures[fr.index]
                .onset_days
                .is_some_and(|d| f64::from(d) <= th.calcitonin_start_window_days.value)
            && fr.vas.is_some_and(|v| v >= th.calcitonin_min_vas.value)
    });
    if calcitonin_window && !held {
        analgesia.push(Analgesic {
            drug: Drug::Calcitonin,
            max_days: Some(th.calcitonin_max_days.value as u32),
        });
        out.recommend("periop.calcitonin_acute");
    }
    if f.max_vas().is_some_and(|v| v >= th.opioid_min_vas.value) {
        analgesia.push(Analgesic {
            drug: Drug::Opioid,
            max_days: None,
        });
        out.recommend("periop.opioid_severe");
    }

    // Rule 11.17 (and 11.7 for dexamethasone): adjuncts.
    let mut adjuncts = Vec::new();
    let gi_risk = f64::from(f.age) >= th.ppi_nsaid_age_min.value
        || f.glucocorticoid
        || f.has(Comorbidity::Diabetes);
    for a in &analgesia {
        let (code, with) = match a.drug {
            Drug::Nsaid if gi_risk => (AdjunctCode::Ppi, "nsaid"),
            Drug::Cox2Inhibitor if gi_risk => (AdjunctCode::Ppi, "cox2_inhibitor"),
            Drug::Opioid => (AdjunctCode::Laxative, "opioid"),
            _ => continue,
        };
        out.recommend(if code == AdjunctCode::Ppi {
            "periop.ppi_with_nsaid"
        } else {
            "periop.laxative_with_opioid"
        });
        adjuncts.push(Adjunct {
            code,
            with: with.into(),
        });
    }
    if t.corticosteroid.is_some() {
        adjuncts.push(Adjunct {
            code: AdjunctCode::Ppi,
            with: "dexamethasone".into(),
        });
    }

    // Rule 5.10: an NSAID taken for more than three weeks.
    for m in f.ongoing().filter(|m| m.drug == Drug::Nsaid) {
        let days = m.start.days_until(f.as_of);
        if days as f64 > th.nsaid_max_days.value {
            out.alert(
                "nsaid_over_3_weeks",
                Severity::Warning,
                vec![("days", days.to_string())],
            );
            out.recommend("periop.nsaid_short_course");
        }
    }

    Perioperative {
        mobilize_within_hours: branch.mobilize_within_hours,
        bed_rest_max_days: branch.bed_rest_max_days,
        brace: branch.brace,
        analgesia,
        avoid: avoid_reasons.keys().copied().collect(),
        avoid_reasons,
        spinal_precautions,
        mobilisation: branch.mobilisation,
        bed_rest_until: branch.bed_rest_until,
        post_procedure_day: f.post_procedure_day,
        context,
        adjuncts,
    }
}

/// Rule 11.10: a conservative plan with an acute or unhealed untreated fracture. Bed rest only on
/// days 0–4 after onset and only while pain prevents mobilisation under analgesia.
fn bed_rest(f: &Facts<'_>, out: &mut Out) -> Branch {
    let th = f.th;
    let window = th.conservative_bed_rest_window_days.value;
    let mobilisation = f.req.patient.mobilisation_under_analgesia;
    let ordered = match f.days_since_onset {
        None => {
            for fr in f
                .untreated()
                .filter(|fr| f.req.fractures[fr.index].onset_days.is_none())
            {
                out.assume(
                    fr.path("onset_days"),
                    Assumed::OnsetUnknownNoBedRest,
                    None,
                    "onset unknown: no bed rest ordered (rule 11.10)",
                );
            }
            None
        }
        Some(d) if f64::from(d) < window && mobilisation != Some(Mobilisation::Possible) => {
            if mobilisation.is_none() {
                out.assume(
                    "patient.mobilisation_under_analgesia",
                    Assumed::BedRestWhilePainPrevents,
                    None,
                    "unknown: bed rest only while pain prevents mobilisation (rule 11.10)",
                );
            }
            // The onset date is as_of − days_since_onset; bed rest ends on its day 5.
            Some(f.as_of.add_days(window as i64 - i64::from(d)))
        }
        Some(_) => None,
    };
    Branch {
        mobilize_within_hours: None,
        bed_rest_max_days: ordered.map(|_| th.conservative_bed_rest_max_days.value),
        bed_rest_until: ordered,
        brace: Brace::SoftOrDynamic,
        mobilisation: if ordered.is_some() {
            MobilisationPlan::ProgressiveAfterBedRest
        } else {
            MobilisationPlan::Progressive
        },
    }
}
