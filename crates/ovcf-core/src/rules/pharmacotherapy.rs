//! Anti-osteoporosis therapy: choice, sequencing, contraindications and timing from dates
//! (decision rules §5, with the resolutions of §10 overriding where they differ).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::date::Date;
use crate::engine::{Assumed, Out};
use crate::facts::Facts;
use crate::report::{
    AvoidReason, AvoidedDrug, DeferredReason, Outcome, Pharmacotherapy, Severity, StartTiming,
};
use crate::request::{Adherence, Comorbidity, Drug, Medication};

const BISPHOSPHONATES: [Drug; 4] = [
    Drug::Alendronate,
    Drug::Risedronate,
    Drug::Ibandronate,
    Drug::ZoledronicAcid,
];

pub use crate::rules::denosumab::DenosumabState;

struct Ctx<'f, 'a> {
    f: &'f Facts<'a>,
    avoid: Vec<AvoidedDrug>,
}

impl Ctx<'_, '_> {
    fn avoided(&self, d: Drug) -> bool {
        self.avoid.iter().any(|a| a.drug == d)
    }

    fn avoid(&mut self, d: Drug, reason: AvoidReason) {
        if !self.avoided(d) {
            self.avoid.push(AvoidedDrug { drug: d, reason });
        }
    }

    fn bisphosphonates_avoided(&self) -> bool {
        self.avoided(Drug::ZoledronicAcid) && self.avoided(Drug::Alendronate)
    }

    fn adherence_poor(&self) -> bool {
        self.f.adherence == Adherence::Poor
    }

    /// The antiresorptive of rules 5.5–5.6 (and 10.8 without its anabolic step), every avoid
    /// applied; `None` when none fits.
    fn antiresorptive(&self) -> Option<Drug> {
        if !self.bisphosphonates_avoided() {
            // 5.5: once-yearly infusion unless adherence is known to be good.
            let first = if self.f.adherence == Adherence::Good {
                Drug::Alendronate
            } else {
                Drug::ZoledronicAcid
            };
            return [
                first,
                Drug::ZoledronicAcid,
                Drug::Alendronate,
                Drug::Risedronate,
            ]
            .into_iter()
            .find(|d| !self.avoided(*d));
        }
        (!self.avoided(Drug::Denosumab) && !self.adherence_poor()).then_some(Drug::Denosumab)
    }
}

fn months_taken(m: &Medication, as_of: Date) -> i32 {
    let end = m.end.map_or(as_of, |e| e.min(as_of));
    m.start.months_until(end)
}

/// A bisphosphonate entry that was running when a present (non-pathological) fracture began
/// (rule 0.3); onset unknown → the test is not applied and the path is recorded.
fn fracture_on_bisphosphonate<'m>(f: &Facts<'m>, out: &mut Out) -> Option<&'m Medication> {
    let bps: Vec<&Medication> = f
        .req
        .medications
        .iter()
        .filter(|m| m.drug.is_bisphosphonate())
        .collect();
    if bps.is_empty() {
        return None;
    }
    let mut failed = None;
    for fr in f.fractures.iter().filter(|fr| !fr.pathological) {
        match fr.onset {
            Some(onset) => {
                if failed.is_none() {
                    failed = bps
                        .iter()
                        .find(|m| m.start < onset && m.end.is_none_or(|e| e >= onset))
                        .copied();
                }
            }
            None => out.assume(
                fr.path("onset_days"),
                Assumed::OnsetUnknownBisphosphonate,
                None,
                "unknown: 'fracture while on a bisphosphonate' not tested for this level",
            ),
        }
    }
    failed
}

fn fracture_on_denosumab(f: &Facts<'_>) -> bool {
    f.fractures.iter().filter(|fr| !fr.pathological).any(|fr| {
        fr.onset.is_some_and(|onset| {
            crate::rules::denosumab::on_denosumab_at(&f.req.medications, onset, f.as_of)
        })
    })
}

pub fn plan(f: &Facts<'_>, out: &mut Out) -> Pharmacotherapy {
    let th = f.th;
    let mut c = Ctx {
        f,
        avoid: Vec::new(),
    };
    let dmab = f.denosumab.state;
    let pth_months: i32 = f
        .req
        .medications
        .iter()
        .filter(|m| m.drug.is_pth_analogue() && m.start <= f.as_of)
        .map(|m| months_taken(m, f.as_of))
        .sum();
    let hypercalcaemia = f.calcium.is_some_and(|v| v > th.calcium_high_above.value);
    let hypocalcaemia = f.calcium.is_some_and(|v| v < th.calcium_low_below.value);
    let vitd_low = f
        .vitamin_d
        .is_some_and(|v| v < th.vitamin_d_low_below.value);

    // --- Contraindications: every avoid overrides the choices below (5.4).
    let pth_contra = f.any_pathological
        || f.has(Comorbidity::MalignancyHistory)
        || hypercalcaemia
        || f.renal_below(th.renal_pth_below.value);
    if pth_contra {
        c.avoid(Drug::Teriparatide, AvoidReason::PthContraindication);
        c.avoid(Drug::Abaloparatide, AvoidReason::PthContraindication);
        out.recommend("drug.pth_contraindication");
    } else if f64::from(pth_months) >= th.pth_cumulative_max_months.value {
        c.avoid(Drug::Teriparatide, AvoidReason::MaxDurationReached);
        c.avoid(Drug::Abaloparatide, AvoidReason::MaxDurationReached);
        out.recommend("drug.pth_limit");
    }
    if f.renal_below(th.renal_bisphosphonate_below.value) {
        for d in BISPHOSPHONATES {
            c.avoid(d, AvoidReason::RenalContraindication);
        }
        let value = f.renal.map_or(String::new(), |(v, _)| format!("{v}"));
        out.alert(
            "renal_contraindication",
            Severity::Warning,
            vec![("value", value)],
        );
        out.recommend("drug.renal_no_bisphosphonate");
    }
    if f.has(Comorbidity::RecentMiOrStroke) {
        c.avoid(Drug::Romosozumab, AvoidReason::RecentMiOrStroke);
        out.recommend("drug.romosozumab_cardiovascular");
    } else if f.has(Comorbidity::CoronaryDisease) {
        c.avoid(Drug::Romosozumab, AvoidReason::CardiovascularOrBleedingRisk);
        out.recommend("drug.romosozumab_cardiovascular");
    }
    if c.adherence_poor() {
        if !dmab.ongoing() && !dmab.late() {
            c.avoid(Drug::Denosumab, AvoidReason::PoorAdherence);
            out.recommend("drug.denosumab_poor_adherence");
        } else if !c.bisphosphonates_avoided() {
            // 5.7 / 10.12: a planned transition, never a plain stop.
            c.avoid(Drug::Denosumab, AvoidReason::PlannedTransition);
            out.recommend("drug.denosumab_transition");
        }
        if dmab.ongoing() {
            // The zoledronic acid transition is due 6 months after the last dose (now if late).
            let due = f
                .denosumab
                .last_dose
                .map(|d| d.add_months(th.denosumab_transition_months.value as i32))
                .filter(|d| *d > f.as_of)
                .unwrap_or(f.as_of);
            out.alert(
                "denosumab_poor_adherence",
                Severity::Warning,
                vec![("date", due.to_string())],
            );
            out.recommend("drug.denosumab_poor_adherence");
        }
    }

    // --- Denosumab alerts (5.7, 10.10).
    let last_dose = f.denosumab.last_dose;
    match dmab {
        DenosumabState::Overdue | DenosumabState::Rebound => {
            let days = last_dose.map_or(0, |d| d.days_until(f.as_of));
            out.alert(
                "denosumab_overdue",
                Severity::Critical,
                vec![("days", days.to_string())],
            );
            out.recommend("drug.denosumab_overdue");
        }
        DenosumabState::LastDoseUnknown => {
            out.alert("denosumab_last_dose_unknown", Severity::Warning, vec![]);
            out.recommend("drug.denosumab_last_dose_unknown");
        }
        _ => {}
    }

    // --- Very high risk (5.3).
    let failed_bp = fracture_on_bisphosphonate(f, out);
    let lowest_t_very_low = f
        .lowest_t
        .is_some_and(|(t, _)| t < th.very_high_risk_below_t.value);
    let many_fractures =
        f64::from(f.vertebral_fracture_count()) >= th.very_high_risk_vertebral_fractures_min.value;
    let very_high = lowest_t_very_low || many_fractures || failed_bp.is_some();
    if failed_bp.is_some() {
        out.recommend("drug.treatment_failure");
    }
    out.explain(
        "pharmacotherapy.very_high_risk",
        "5.3",
        &[
            ("lowest_t_below_minus_3", json!(lowest_t_very_low)),
            (
                "vertebral_fractures_total",
                json!(f.vertebral_fracture_count()),
            ),
            (
                "fracture_on_bisphosphonate",
                json!(failed_bp.map(|m| m.drug)),
            ),
        ],
        if very_high {
            Outcome::Applied
        } else {
            Outcome::NotApplied
        },
        Some(json!(very_high)),
    );

    let ongoing_anti: Vec<&Medication> = f
        .ongoing()
        .filter(|m| m.drug.is_antiosteoporosis())
        .collect();
    let ongoing_pth = ongoing_anti
        .iter()
        .find(|m| m.drug.is_pth_analogue())
        .copied();
    let ongoing_romo = ongoing_anti
        .iter()
        .find(|m| m.drug == Drug::Romosozumab)
        .copied();

    // --- First choice.
    let mut first: Option<Drug> = None;
    let mut start = StartTiming::Now;
    let mut deferred: Option<DeferredReason> = None;
    let mut start_date: Option<Date> = None;
    let mut then: Vec<Drug> = Vec::new();
    let mut max_duration: BTreeMap<Drug, i32> = BTreeMap::new();
    let mut path: &str;
    // 10.2 / 10.3: ongoing, or stopped within 24 months with no bisphosphonate since.
    let dmab_keeps_schedule = dmab.ongoing() || dmab.late();

    if hypercalcaemia || f.any_pathological {
        // 10.2 / 5.2 / 10.3: investigate first; a recent denosumab stays on schedule.
        path = if hypercalcaemia { "10.2" } else { "5.2" };
        if hypercalcaemia {
            out.alert(
                "hypercalcaemia",
                Severity::Critical,
                vec![("value", fmt_num(f.calcium))],
            );
            out.recommend("drug.hypercalcaemia");
        }
        if f.any_pathological {
            out.recommend("drug.workup_first");
        }
        if dmab_keeps_schedule {
            // Kept on schedule whatever the adherence: never a plain stop during the work-up.
            c.avoid.retain(|a| a.drug != Drug::Denosumab);
            first = Some(Drug::Denosumab);
            start = if dmab.late() {
                StartTiming::Now
            } else {
                StartTiming::Continue
            };
            out.recommend("drug.denosumab_on_schedule");
        } else {
            start = StartTiming::Deferred;
            deferred = Some(if hypercalcaemia {
                DeferredReason::HypercalcaemiaInvestigation
            } else {
                DeferredReason::PathologyWorkup
            });
        }
    } else if dmab.ongoing() || dmab.late() {
        path = "5.7";
        let poor = c.adherence_poor();
        if dmab.late() {
            if poor && !c.bisphosphonates_avoided() {
                first = Some(Drug::ZoledronicAcid);
            } else {
                // 5.7 resume now; 10.4 whatever the adherence when bisphosphonates are avoided.
                first = Some(Drug::Denosumab);
            }
            start = StartTiming::Now;
        } else if poor && !c.bisphosphonates_avoided() {
            first = Some(Drug::ZoledronicAcid);
            start = StartTiming::Deferred;
            deferred = Some(DeferredReason::PlannedTransition);
            start_date =
                last_dose.map(|d| d.add_months(th.denosumab_transition_months.value as i32));
            if let Some(sd) = start_date
                && sd <= f.as_of
            {
                start = StartTiming::Now;
                deferred = None;
                start_date = None;
            }
            out.recommend("drug.denosumab_transition");
        } else {
            first = Some(Drug::Denosumab);
            start = StartTiming::Continue;
            out.recommend("drug.denosumab_on_schedule");
            if fracture_on_denosumab(f) {
                out.recommend("drug.denosumab_fracture_on_therapy");
            }
        }
    } else if very_high
        && ongoing_pth.is_none_or(|m| c.avoided(m.drug))
        && ongoing_romo.is_none_or(|_| c.avoided(Drug::Romosozumab))
        && !c.avoided(Drug::Teriparatide)
    {
        path = "5.3";
        first = Some(Drug::Teriparatide);
        start = if ongoing_pth.is_some() {
            StartTiming::Continue
        } else {
            StartTiming::Now
        };
        out.recommend("drug.anabolic_very_high_risk");
    } else if let Some(m) = ongoing_pth.filter(|m| !c.avoided(m.drug)) {
        path = "5.9";
        first = Some(m.drug);
        start = StartTiming::Continue;
        out.recommend("drug.continue_current");
    } else if let Some(m) = ongoing_romo.filter(|_| !c.avoided(Drug::Romosozumab)) {
        path = "10.6";
        first = Some(Drug::Romosozumab);
        start = StartTiming::Continue;
        let left = (th.romosozumab_months.value as i32 - months_taken(m, f.as_of)).max(0);
        max_duration.insert(Drug::Romosozumab, left);
        out.recommend("drug.romosozumab_course");
    } else if let Some(failed) = failed_bp {
        // 10.7: a fracture on a bisphosphonate with PTH analogues avoided.
        path = "10.7";
        if !c.avoided(Drug::Denosumab) && !c.adherence_poor() {
            first = Some(Drug::Denosumab);
        } else if failed.drug.is_oral_bisphosphonate() && !c.avoided(Drug::ZoledronicAcid) {
            first = Some(Drug::ZoledronicAcid);
        }
    } else if let Some(m) = ongoing_anti
        .iter()
        .find(|m| m.drug.is_bisphosphonate() && !c.avoided(m.drug))
    {
        path = "5.9";
        first = Some(m.drug);
        start = StartTiming::Continue;
        out.recommend("drug.continue_current");
    } else {
        path = "5.5-5.6";
        first = c.antiresorptive();
        if first.is_none() && !c.avoided(Drug::Teriparatide) {
            // 10.8: denosumab does not fit either: teriparatide unless avoided.
            first = Some(Drug::Teriparatide);
            path = "10.8";
        }
    }

    match first {
        Some(d @ (Drug::Teriparatide | Drug::Abaloparatide)) => {
            max_duration.insert(
                d,
                (th.pth_cumulative_max_months.value as i32 - pth_months).max(0),
            );
            out.recommend("drug.sequential_after_anabolic");
            out.recommend("drug.pth_limit");
            then.extend(c.antiresorptive());
        }
        Some(Drug::Romosozumab) => {
            out.recommend("drug.sequential_after_anabolic");
            then.extend(c.antiresorptive());
        }
        Some(Drug::ZoledronicAcid) => out.recommend("drug.zoledronic_adherence"),
        Some(Drug::Alendronate) => out.recommend("drug.alendronate_mobilised"),
        Some(Drug::Denosumab) => {
            out.recommend("drug.denosumab_on_schedule");
            if c.bisphosphonates_avoided() {
                out.recommend("drug.denosumab_renal");
            }
        }
        _ => {}
    }
    if first.is_some_and(|d| d.is_bisphosphonate()) {
        out.recommend("drug.bisphosphonate_first_line");
    }
    if matches!(
        first,
        Some(Drug::Teriparatide | Drug::Abaloparatide | Drug::Romosozumab)
    ) && then.is_empty()
    {
        // 10.9: plan the follow-on before the course ends.
        out.alert("no_suitable_drug", Severity::Warning, vec![]);
        out.recommend("drug.no_suitable_drug");
    }
    if first.is_none() && deferred.is_none() {
        // 5.6 / 10.7 / 10.8 / 10.12: nothing fits.
        out.alert("no_suitable_drug", Severity::Warning, vec![]);
        out.recommend("drug.no_suitable_drug");
        start = StartTiming::Deferred;
        deferred = Some(DeferredReason::SpecialistReview);
    }

    // --- Calcium and vitamin D (5.1, 10.1).
    let starts_fresh = start == StartTiming::Now;
    if hypocalcaemia {
        out.alert(
            "hypocalcaemia",
            Severity::Warning,
            vec![("value", fmt_num(f.calcium))],
        );
        out.recommend("drug.hypocalcaemia");
        if first.is_some_and(|d| d.is_bisphosphonate() || d == Drug::Denosumab)
            && start != StartTiming::Deferred
        {
            start = StartTiming::Deferred;
            deferred = Some(DeferredReason::CalciumCorrection);
        }
    }
    if vitd_low {
        out.alert(
            "vitamin_d_deficiency",
            Severity::Warning,
            vec![("value", fmt_num(f.vitamin_d))],
        );
        out.recommend("drug.vitamin_d_repletion");
        if starts_fresh
            && matches!(first, Some(Drug::ZoledronicAcid | Drug::Denosumab))
            && start != StartTiming::Deferred
        {
            start = StartTiming::Deferred;
            deferred = Some(DeferredReason::VitaminDRepletion);
        }
    }
    if f.calcium.is_none() {
        out.assume(
            "labs.calcium_mmol_l",
            Assumed::MeasureCalcium,
            None,
            "unknown: measure serum calcium before the first anti-osteoporosis dose",
        );
        out.recommend("drug.measure_calcium_vitamin_d");
    }
    if f.vitamin_d.is_none() {
        out.assume(
            "labs.vitamin_d_nmol_l",
            Assumed::MeasureVitaminD,
            None,
            "unknown: measure 25(OH)D before the first zoledronic acid or denosumab dose",
        );
        out.recommend("drug.measure_calcium_vitamin_d");
    }

    // --- Other checks.
    let denosumab_in_play = first == Some(Drug::Denosumab) || then.contains(&Drug::Denosumab);
    if (denosumab_in_play || dmab.ongoing()) && f.renal_below(th.renal_ckd_mbd_below.value) {
        out.alert(
            "ckd_mbd_workup",
            Severity::Critical,
            vec![(
                "value",
                f.renal.map_or(String::new(), |(v, _)| format!("{v}")),
            )],
        );
        out.recommend("drug.ckd_mbd");
    }
    let pth_in_play =
        ongoing_pth.is_some() || matches!(first, Some(Drug::Teriparatide | Drug::Abaloparatide));
    if pth_in_play && f64::from(pth_months) >= th.pth_limit_warn_months.value {
        let severity = if f64::from(pth_months) >= th.pth_cumulative_max_months.value {
            Severity::Warning
        } else {
            Severity::Info
        };
        out.alert(
            "teriparatide_limit",
            severity,
            vec![("months", pth_months.to_string())],
        );
        out.recommend("drug.pth_limit");
    }
    for m in ongoing_anti.iter().filter(|m| m.drug.is_bisphosphonate()) {
        let months = months_taken(m, f.as_of);
        let limit = if m.drug == Drug::ZoledronicAcid {
            th.bisphosphonate_holiday_iv_months.value
        } else {
            th.bisphosphonate_holiday_oral_months.value
        };
        if f64::from(months) >= limit {
            out.alert(
                "bisphosphonate_holiday_review",
                Severity::Info,
                vec![("months", months.to_string())],
            );
            out.recommend("drug.bisphosphonate_holiday");
            out.explain(
                "alerts.bisphosphonate_holiday_review",
                "5.10",
                &[
                    ("drug", json!(m.drug)),
                    ("months", json!(months)),
                    ("present_fracture_on_therapy", json!(failed_bp.is_some())),
                ],
                Outcome::Applied,
                Some(json!(if failed_bp.is_some() {
                    "holiday inappropriate: a fracture occurred on therapy"
                } else {
                    "review for a holiday"
                })),
            );
        }
    }
    let on_therapy = !ongoing_anti.is_empty() || dmab.ongoing();
    if !on_therapy {
        out.alert("no_antiosteoporosis_therapy", Severity::Warning, vec![]);
        out.recommend("drug.no_therapy_alert");
    }
    if first.is_some() && start == StartTiming::Now {
        out.recommend("drug.start_promptly");
    }

    let mut recommended: Vec<Drug> = first.into_iter().collect();
    if !hypercalcaemia {
        recommended.push(Drug::CalciumVitaminD);
        out.recommend("drug.calcium_vitamin_d");
    }
    let facts: Vec<(&str, Value)> = vec![
        ("path", json!(path)),
        ("denosumab", json!(format!("{dmab:?}"))),
        ("adherence", json!(f.adherence)),
        ("pth_months", json!(pth_months)),
        ("renal_ml_min", json!(f.renal.map(|(v, _)| v))),
        (
            "renal_measure",
            json!(f.renal.map(|(_, m)| match m {
                crate::facts::RenalMeasure::Crcl => "crcl_cockcroft_gault",
                crate::facts::RenalMeasure::Egfr => "egfr",
            })),
        ),
        ("calcium_mmol_l", json!(f.calcium)),
    ];
    out.explain(
        "pharmacotherapy.recommended",
        path,
        &facts,
        Outcome::Applied,
        Some(json!(first)),
    );
    Pharmacotherapy {
        recommended,
        avoid: c.avoid,
        start,
        deferred_reason: if start == StartTiming::Deferred {
            deferred
        } else {
            None
        },
        start_date: if start == StartTiming::Deferred {
            start_date
        } else {
            None
        },
        max_duration_months: max_duration,
        then,
        renal_function: renal_function(f),
        // r3 placeholders (11.3, 11.4, 11.15, 11.18, 11.21): set by the revision-3 rules.
        pre_dose_checks: Vec::new(),
        monitoring: Vec::new(),
        dosing: BTreeMap::new(),
        anabolic_options: Vec::new(),
        course_end: None,
        exit_plan: None,
    }
}

/// Rule 11.2: the renal measure chosen by 0.4 (CrCl wins), named with its unit.
pub fn renal_function(f: &Facts<'_>) -> crate::report::RenalFunction {
    use crate::facts::RenalMeasure;
    use crate::report::{RenalFunction, RenalMeasureCode};
    match f.renal {
        Some((value, m)) => {
            let measure = match m {
                RenalMeasure::Crcl => RenalMeasureCode::Crcl,
                RenalMeasure::Egfr => RenalMeasureCode::Egfr,
            };
            RenalFunction {
                measure: Some(measure),
                value: Some(value),
                unit: Some(measure.unit().to_owned()),
            }
        }
        None => RenalFunction {
            measure: None,
            value: None,
            unit: None,
        },
    }
}

fn fmt_num(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v}"))
}
