//! Perioperative plan: mobilisation, bed rest, brace and analgesia (decision rules §4, seed §4,
//! Tables 1–2).

use std::collections::BTreeMap;

use serde_json::json;

use crate::engine::{Assumed, Out};
use crate::facts::Facts;
use crate::report::{
    Acuity, Analgesic, AvoidReason, Brace, Outcome, Perioperative, Plan, Severity, Treatment,
};
use crate::request::{Comorbidity, Drug};

pub fn plan(f: &Facts<'_>, t: &Treatment, out: &mut Out) -> Perioperative {
    let th = f.th;
    let recent_procedure = f.procedure.is_some_and(|p| {
        p.performed
            && p.date.is_some_and(|d| {
                (d.days_until(f.as_of) as f64) < th.post_procedure_branch_days.value
            })
    });
    // Rule 10.13: a treated level is neither acute nor unhealed here.
    let acute_or_unhealed = f
        .untreated()
        .any(|fr| fr.acuity == Acuity::Acute || fr.unhealed == Some(true));
    let (mobilize, bed_rest, brace, branch) = if t.plan.is_augmentation() || recent_procedure {
        out.recommend("periop.early_mobilisation");
        out.recommend("periop.soft_brace");
        (
            Some(th.mobilize_within_hours.value),
            None,
            Brace::SoftOrDynamic,
            "after augmentation",
        )
    } else if t.plan == Plan::Conservative && acute_or_unhealed {
        out.recommend("periop.conservative_bed_rest");
        out.recommend("periop.soft_brace");
        (
            None,
            Some(th.conservative_bed_rest_max_days.value),
            Brace::SoftOrDynamic,
            "conservative, acute or unhealed",
        )
    } else if t.plan == Plan::Conservative {
        out.recommend("periop.no_bed_rest_healed");
        (None, None, Brace::None, "conservative, healed or chronic")
    } else {
        (None, None, Brace::None, "referral or work-up")
    };
    out.explain(
        "perioperative",
        "4",
        &[
            ("plan", json!(t.plan)),
            ("procedure_within_6_weeks", json!(recent_procedure)),
            (
                "acute_or_unhealed_untreated_level",
                json!(acute_or_unhealed),
            ),
        ],
        Outcome::Applied,
        Some(json!(branch)),
    );

    let mut avoid_reasons: BTreeMap<Drug, AvoidReason> = BTreeMap::new();
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
            avoid_reasons.insert(d, AvoidReason::CardiovascularOrBleedingRisk);
        }
        out.recommend("periop.nsaid_cardiovascular");
    }
    if f.renal_below(th.renal_nsaid_below.value) {
        for d in [Drug::Nsaid, Drug::Cox2Inhibitor] {
            avoid_reasons
                .entry(d)
                .or_insert(AvoidReason::RenalContraindication);
        }
        out.recommend("periop.nsaid_renal");
    }
    if f.nonunion_risk {
        avoid_reasons
            .entry(Drug::Nsaid)
            .or_insert(AvoidReason::NonunionRisk);
        out.recommend("periop.nsaid_nonunion_cox2");
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
    if f.untreated().any(|fr| fr.acuity == Acuity::Acute) {
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
        mobilize_within_hours: mobilize,
        bed_rest_max_days: bed_rest,
        brace,
        analgesia,
        avoid: avoid_reasons.keys().copied().collect(),
        avoid_reasons,
        // r3 placeholders (11.6, 11.10, 11.12, 11.17): set by the revision-3 rules.
        spinal_precautions: crate::report::SpinalPrecautions {
            required: false,
            measures: Vec::new(),
            until: None,
        },
        mobilisation: crate::report::MobilisationPlan::AsTolerated,
        bed_rest_until: None,
        post_procedure_day: f.post_procedure_day,
        context: crate::report::PeriopContext::NonOperative,
        adjuncts: Vec::new(),
    }
}
