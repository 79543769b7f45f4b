//! Anti-osteoporosis therapy: choice, sequencing, contraindications and timing from dates
//! (decision rules §5, the resolutions of §10, and revision 3: 11.2–11.5, 11.9, 11.15, 11.18,
//! 11.21 and 11.28, which override where they differ).

use std::collections::BTreeMap;

use serde_json::json;

use crate::date::Date;
use crate::engine::{Assumed, Out};
use crate::facts::{Facts, RenalMeasure};
use crate::knowledge::Knowledge;
use crate::report::{
    AvoidReason, AvoidedDrug, CourseEnd, DeferredReason, ExitPlan, Monitoring, Outcome,
    Pharmacotherapy, Plan, PreDoseCheck, PreDoseCheckCode, PreDoseRequirement, Severity,
    StartTiming, Treatment, VeryHighCriterion, VeryHighRisk,
};
use crate::request::{Adherence, Comorbidity, Drug, Medication};
use crate::rules::very_high::failed_bisphosphonates;

const BISPHOSPHONATES: [Drug; 4] = [
    Drug::Alendronate,
    Drug::Risedronate,
    Drug::Ibandronate,
    Drug::ZoledronicAcid,
];

/// Rule 11.28.9: the order in which an ongoing drug stays first choice when several could.
const CONTINUITY_ORDER: [Drug; 8] = [
    Drug::Denosumab,
    Drug::Romosozumab,
    Drug::Teriparatide,
    Drug::Abaloparatide,
    Drug::ZoledronicAcid,
    Drug::Alendronate,
    Drug::Risedronate,
    Drug::Ibandronate,
];

/// Rule 11.15's anabolic options, in order.
const ANABOLICS: [Drug; 3] = [Drug::Teriparatide, Drug::Abaloparatide, Drug::Romosozumab];

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

fn ended_before(m: &Medication, as_of: Date) -> bool {
    m.end.is_some_and(|e| e < as_of)
}

fn fracture_on_denosumab(f: &Facts<'_>) -> bool {
    f.fractures.iter().filter(|fr| !fr.pathological).any(|fr| {
        fr.onset.is_some_and(|onset| {
            crate::rules::denosumab::on_denosumab_at(&f.req.medications, onset, f.as_of)
        })
    })
}

/// Rule 11.2: "eGFR 25 mL/min/1.73 m²" or "CrCl (Cockcroft–Gault) 34 mL/min" (the measure
/// chosen by 0.4, named with its unit).
pub fn renal_text(f: &Facts<'_>) -> String {
    match f.renal {
        Some((v, RenalMeasure::Crcl)) => format!("CrCl (Cockcroft–Gault) {v} mL/min"),
        Some((v, RenalMeasure::Egfr)) => format!("eGFR {v} mL/min/1.73 m²"),
        None => String::new(),
    }
}

/// `zh`/`en` alert parameters for a word that differs by language.
fn words(
    params: &mut Vec<(&'static str, String)>,
    zh: &'static str,
    en: &'static str,
    w: (&str, &str),
) {
    params.push((zh, w.0.to_owned()));
    params.push((en, w.1.to_owned()));
}

/// Joins (zh, en) words with each language's list separator.
fn join_words<'w>(items: impl Iterator<Item = (&'w str, &'w str)>) -> (String, String) {
    let (mut zh, mut en) = (String::new(), String::new());
    for (z, e) in items {
        if !zh.is_empty() {
            zh.push('、');
            en.push_str(", ");
        }
        zh.push_str(z);
        en.push_str(e);
    }
    (zh, en)
}

/// Rule 11.28.25 (and 0.3 for PTH analogues): months from the earliest start of the ongoing
/// entries to `as_of`, plus the completed months of each entry ended before `as_of`.
/// Returns (total months, earliest ongoing start, months of ended entries).
fn course_months(f: &Facts<'_>, is_course: impl Fn(Drug) -> bool) -> (i32, Option<Date>, i32) {
    let mut earliest: Option<Date> = None;
    let mut ended = 0;
    for m in f
        .req
        .medications
        .iter()
        .filter(|m| is_course(m.drug) && m.start <= f.as_of)
    {
        if ended_before(m, f.as_of) {
            ended += months_taken(m, f.as_of);
        } else {
            earliest = Some(earliest.map_or(m.start, |e: Date| e.min(m.start)));
        }
    }
    let ongoing = earliest.map_or(0, |s| s.months_until(f.as_of));
    (ongoing + ended, earliest, ended)
}

pub fn plan(
    f: &Facts<'_>,
    t: &Treatment,
    vh: &VeryHighRisk,
    k: &Knowledge,
    out: &mut Out,
) -> Pharmacotherapy {
    let th = f.th;
    let mut c = Ctx {
        f,
        avoid: Vec::new(),
    };
    let dmab = f.denosumab.state;
    let last_dose = f.denosumab.last_dose;
    let clearances = f.req.clearances.unwrap_or_default();
    let ckd_mbd_cleared = clearances.ckd_mbd == Some(true);
    let dental_cleared = clearances.dental == Some(true);
    let pth_months: i32 = f
        .req
        .medications
        .iter()
        .filter(|m| m.drug.is_pth_analogue() && m.start <= f.as_of)
        .map(|m| months_taken(m, f.as_of))
        .sum();
    let (romo_months, _, _) = course_months(f, |d| d == Drug::Romosozumab);
    let hypercalcaemia = f.calcium.is_some_and(|v| v > th.calcium_high_above.value);
    let hypocalcaemia = f.calcium.is_some_and(|v| v < th.calcium_low_below.value);
    let vitd_low = f
        .vitamin_d
        .is_some_and(|v| v < th.vitamin_d_low_below.value);
    let renal_ckd = f.renal_below(th.renal_ckd_mbd_below.value);

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
        out.alert(
            "renal_contraindication",
            Severity::Warning,
            vec![("renal", renal_text(f))],
        );
        out.recommend("drug.renal_no_bisphosphonate");
    }
    if f.renal.is_some() {
        // 11.2: every text that states the renal value names the measure and unit.
        out.recommend("drug.renal_measure_named");
    }
    if f.has(Comorbidity::RecentMiOrStroke) {
        c.avoid(Drug::Romosozumab, AvoidReason::RecentMiOrStroke);
        out.recommend("drug.romosozumab_cardiovascular");
    } else if f.has(Comorbidity::CoronaryDisease) {
        c.avoid(Drug::Romosozumab, AvoidReason::CardiovascularOrBleedingRisk);
        out.recommend("drug.romosozumab_cardiovascular");
    }
    if c.adherence_poor() {
        if dmab.ongoing() {
            if !c.bisphosphonates_avoided() {
                // 5.7 / 10.12 / 11.28.11: the transition of an ongoing denosumab.
                c.avoid(Drug::Denosumab, AvoidReason::PlannedTransition);
                out.recommend("drug.denosumab_transition");
            }
            // The zoledronic acid transition is due 6 months after the last dose (now if late).
            let due = last_dose.map(|d| {
                d.add_months(th.denosumab_transition_months.value as i32)
                    .max(f.as_of)
            });
            let params = match due {
                Some(d) => vec![("date", d.to_string())],
                // 11.28.15: no last dose, no date.
                None => vec![("variant", "last_dose_unknown".to_owned())],
            };
            out.alert("denosumab_poor_adherence", Severity::Warning, params);
            out.recommend("drug.denosumab_poor_adherence");
        } else if !(dmab.late() && c.bisphosphonates_avoided()) {
            // 11.28.11: not ongoing (stopped or never taken): `poor_adherence`, unless 10.4
            // resumes it (10.2/10.3 lift the avoid below).
            c.avoid(Drug::Denosumab, AvoidReason::PoorAdherence);
            out.recommend("drug.denosumab_poor_adherence");
        }
    }

    // --- Denosumab alerts (5.7, 10.10).
    match dmab {
        DenosumabState::Overdue | DenosumabState::Rebound => {
            let days = f.denosumab.days_since_last_dose(f.as_of).unwrap_or(0);
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

    // --- Very high risk (5.3: its criteria are a subset of 11.15's flag).
    for fr in f
        .fractures
        .iter()
        .filter(|fr| !fr.pathological && fr.onset.is_none())
    {
        if f.req.medications.iter().any(|m| m.drug.is_bisphosphonate()) {
            out.assume(
                fr.path("onset_days"),
                Assumed::OnsetUnknownBisphosphonate,
                None,
                "unknown: 'fracture while on a bisphosphonate' not tested for this level",
            );
        }
    }
    let failed_any = vh
        .criteria
        .contains(&VeryHighCriterion::FractureOnBisphosphonate);
    let failed_iv = failed_bisphosphonates(f).any(|m| m.drug == Drug::ZoledronicAcid);
    let very_high_53 = vh.criteria.iter().any(|c| {
        matches!(
            c,
            VeryHighCriterion::MultipleVertebralFractures
                | VeryHighCriterion::TScoreBelowMinus3
                | VeryHighCriterion::FractureOnBisphosphonate
        )
    });
    if failed_any {
        out.recommend("drug.treatment_failure");
    }

    let ongoing_anti = |d: Drug| f.is_ongoing(d) && d.is_antiosteoporosis();
    let ongoing_pth = [Drug::Teriparatide, Drug::Abaloparatide]
        .into_iter()
        .find(|d| f.is_ongoing(*d));
    let ongoing_romo = f.is_ongoing(Drug::Romosozumab);
    let romo_continues = ongoing_romo
        && !c.avoided(Drug::Romosozumab)
        && f64::from(romo_months) < th.romosozumab_months.value;

    // --- First choice.
    let mut first: Option<Drug> = None;
    let mut start = StartTiming::Now;
    let mut reasons: Vec<DeferredReason> = Vec::new();
    let mut start_date: Option<Date> = None;
    let mut then: Vec<Drug> = Vec::new();
    let mut max_duration: BTreeMap<Drug, i32> = BTreeMap::new();
    let mut path: &str;
    let dmab_keeps_schedule = dmab.ongoing() || dmab.late();

    if hypercalcaemia || f.any_pathological {
        // 10.2 / 5.2 / 10.3: investigate first; a recent denosumab stays on schedule.
        path = if f.any_pathological { "5.2" } else { "10.2" };
        if hypercalcaemia {
            out.alert(
                "hypercalcaemia",
                Severity::Critical,
                vec![("value", fmt_calcium(f.calcium))],
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
            path = "10.3";
            out.recommend("drug.denosumab_on_schedule");
        } else {
            // 11.5 amendment: with both, the pathology work-up wins.
            if hypercalcaemia {
                reasons.push(DeferredReason::HypercalcaemiaInvestigation);
            }
            if f.any_pathological {
                reasons.push(DeferredReason::PathologyWorkup);
            }
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
                if c.bisphosphonates_avoided() {
                    path = "10.4";
                }
            }
            start = StartTiming::Now;
        } else if poor && !c.bisphosphonates_avoided() {
            // 5.7 transition; 11.28.15: without a last dose, no date.
            first = Some(Drug::ZoledronicAcid);
            start_date =
                last_dose.map(|d| d.add_months(th.denosumab_transition_months.value as i32));
            match start_date {
                Some(sd) if sd <= f.as_of => {
                    start = StartTiming::Now;
                    start_date = None;
                }
                _ => reasons.push(DeferredReason::PlannedTransition),
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
    } else if ongoing_romo {
        // 10.6 before 5.3/10.5 (11.28.12); 11.28.25: 12 months complete the course.
        path = "10.6";
        if romo_continues {
            first = Some(Drug::Romosozumab);
            start = StartTiming::Continue;
            max_duration.insert(
                Drug::Romosozumab,
                th.romosozumab_months.value as i32 - romo_months,
            );
            out.recommend("drug.romosozumab_course");
        } else {
            // The follow-on antiresorptive, never a PTH analogue; an ongoing one continues.
            out.recommend("drug.sequential_after_anabolic");
            let ongoing_ar = CONTINUITY_ORDER
                .into_iter()
                .filter(|d| d.is_bisphosphonate())
                .find(|d| f.is_ongoing(*d) && !c.avoided(*d));
            match ongoing_ar {
                Some(d) => {
                    first = Some(d);
                    start = StartTiming::Continue;
                    out.recommend("drug.continue_current");
                }
                None => first = c.antiresorptive(),
            }
        }
    } else if let Some(d) = ongoing_pth.filter(|d| !c.avoided(*d)) {
        // 5.9 / 10.5: a PTH analogue under its limit continues.
        path = "5.9";
        first = Some(d);
        start = StartTiming::Continue;
        out.recommend("drug.continue_current");
    } else if very_high_53 && !c.avoided(Drug::Teriparatide) {
        path = "5.3";
        first = Some(Drug::Teriparatide);
        out.recommend("drug.anabolic_very_high_risk");
    } else if failed_any {
        // 10.7: a fracture on a bisphosphonate with PTH analogues avoided; 11.28.24: "oral" =
        // no failed bisphosphonate is zoledronic acid.
        path = "10.7";
        if !c.avoided(Drug::Denosumab) && !c.adherence_poor() {
            first = Some(Drug::Denosumab);
        } else if !failed_iv && !c.avoided(Drug::ZoledronicAcid) {
            first = Some(Drug::ZoledronicAcid);
        }
    } else if let Some(d) = CONTINUITY_ORDER
        .into_iter()
        .filter(|d| d.is_bisphosphonate())
        .find(|d| f.is_ongoing(*d) && !c.avoided(*d))
    {
        path = "5.9";
        first = Some(d);
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

    // 11.28.9: no combination therapy; the other ongoing drugs stop.
    let stopped: Vec<Drug> = CONTINUITY_ORDER
        .into_iter()
        .filter(|d| Some(*d) != first && *d != Drug::Denosumab && ongoing_anti(*d))
        .collect();
    if !stopped.is_empty() && first.is_some_and(|d| f.is_ongoing(d)) {
        out.recommend("drug.continue_current");
    }

    match first {
        Some(d @ (Drug::Teriparatide | Drug::Abaloparatide)) => {
            max_duration.insert(d, th.pth_cumulative_max_months.value as i32 - pth_months);
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
    if first.is_none() && reasons.is_empty() {
        // 5.6 / 10.7 / 10.8 / 10.12: nothing fits.
        out.alert("no_suitable_drug", Severity::Warning, vec![]);
        out.recommend("drug.no_suitable_drug");
        reasons.push(DeferredReason::SpecialistReview);
    }

    // --- Calcium and vitamin D (5.1, 10.1, 11.28.23).
    if hypocalcaemia {
        out.alert(
            "hypocalcaemia",
            Severity::Warning,
            vec![("value", fmt_calcium(f.calcium))],
        );
        out.recommend("drug.hypocalcaemia");
        if first.is_some_and(|d| d.is_bisphosphonate() || d == Drug::Denosumab) {
            reasons.push(DeferredReason::CalciumCorrection);
        }
    }
    if vitd_low {
        out.alert(
            "vitamin_d_deficiency",
            Severity::Warning,
            vec![("value", fmt_num(f.vitamin_d))],
        );
        out.recommend("drug.vitamin_d_repletion");
        let never_taken = |d: Drug| {
            !f.req
                .medications
                .iter()
                .any(|m| m.drug == d && m.start <= f.as_of)
        };
        if let Some(d @ (Drug::ZoledronicAcid | Drug::Denosumab)) = first
            && never_taken(d)
        {
            reasons.push(DeferredReason::VitaminDRepletion);
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

    // --- 11.4: denosumab first with renal function < 30.
    let dmab_first = first == Some(Drug::Denosumab);
    if dmab_first && renal_ckd && !ckd_mbd_cleared && start != StartTiming::Continue {
        // A new start or a resumption after a stop or delay waits for the CKD–MBD work-up.
        reasons.push(DeferredReason::CkdMbdWorkup);
    }

    // --- 11.5: a drug that is not ongoing waits for the surgical decision.
    let surgical_deferral = t.plan == Plan::SurgicalReferral
        && first
            .is_some_and(|d| (d.is_bisphosphonate() || d.is_pth_analogue()) && !f.is_ongoing(d));
    if surgical_deferral {
        reasons.push(DeferredReason::SurgicalDecision);
        out.recommend("drug.timing_around_surgery");
    }

    // --- 11.5 precedence / 11.28.16: one reason; only a dated transition keeps its date.
    let deferred = reasons.iter().copied().min_by_key(|r| r.precedence());
    if deferred.is_some() {
        start = StartTiming::Deferred;
        if !reasons.contains(&DeferredReason::PlannedTransition) {
            start_date = None;
        }
    } else {
        start_date = None;
    }

    // --- 11.3: pre-dose checks of the first-choice drug (before 11.3's own change of `start`).
    let mut checks: Vec<PreDoseCheck> = Vec::new();
    let target = first.unwrap_or(Drug::CalciumVitaminD);
    if let Some(d) = first {
        let bp = d.is_bisphosphonate();
        let pth = d.is_pth_analogue();
        let dm = d == Drug::Denosumab;
        let mut push = |code, blocking, requirement| {
            checks.push(PreDoseCheck {
                code,
                drug: d,
                blocking,
                requirement,
            })
        };
        if f.renal.is_none() && (bp || dm) {
            push(
                PreDoseCheckCode::RenalFunction,
                true,
                if dm {
                    PreDoseRequirement::EgfrOrCrclAtLeast30
                } else {
                    PreDoseRequirement::CrclAtLeast35
                },
            );
        }
        if f.calcium.is_none() && (bp || dm || pth) {
            push(
                PreDoseCheckCode::SerumCalcium,
                true,
                if pth {
                    PreDoseRequirement::CalciumAtMost2_60
                } else {
                    PreDoseRequirement::CalciumAtLeast2_10
                },
            );
        }
        if f.vitamin_d.is_none() && matches!(d, Drug::ZoledronicAcid | Drug::Denosumab) {
            push(
                PreDoseCheckCode::VitaminD25oh,
                false,
                PreDoseRequirement::VitaminDAtLeast50,
            );
        }
        if dm && renal_ckd && !ckd_mbd_cleared {
            push(
                PreDoseCheckCode::CkdMbdPanel,
                true,
                PreDoseRequirement::CkdMbdSpecialistReview,
            );
        }
        if (bp || dm) && start != StartTiming::Continue && !dental_cleared {
            push(
                PreDoseCheckCode::DentalReview,
                false,
                PreDoseRequirement::OralExamination,
            );
        }
    }
    if f.any_pathological && f.calcium.is_none() && !hypercalcaemia {
        checks.push(PreDoseCheck {
            code: PreDoseCheckCode::SerumCalcium,
            drug: Drug::CalciumVitaminD,
            blocking: true,
            requirement: PreDoseRequirement::ExcludeHypercalcaemia,
        });
    }
    let blocking_for_first = || checks.iter().filter(|c| c.blocking && c.drug == target);
    if start == StartTiming::Now && first.is_some() && blocking_for_first().next().is_some() {
        start = StartTiming::AfterChecks;
        let mut params = Vec::with_capacity(4);
        words(&mut params, "drug@zh", "drug@en", k.words.drug(target));
        let (zh, en) = join_words(blocking_for_first().map(|c| k.words.check(c.code)));
        params.push(("checks@zh", zh));
        params.push(("checks@en", en));
        out.alert("pre_dose_checks_pending", Severity::Warning, params);
    }
    if !checks.is_empty() {
        out.recommend("drug.pre_dose_checks");
    }

    // --- 11.4 / 11.28.13: the CKD–MBD alert and monitoring.
    let mut monitoring = Vec::new();
    let dmab_in_play = dmab_first || dmab.ongoing();
    if renal_ckd && dmab_in_play {
        if ckd_mbd_cleared {
            monitoring.push(Monitoring::CalciumWeeklyFirstMonthThenMonthly);
            out.alert(
                "ckd_mbd_workup",
                Severity::Warning,
                vec![("renal", renal_text(f)), ("variant", "cleared".to_owned())],
            );
        } else {
            out.alert(
                "ckd_mbd_workup",
                Severity::Critical,
                vec![("renal", renal_text(f))],
            );
        }
        out.recommend("drug.ckd_mbd");
    } else if renal_ckd && then.contains(&Drug::Denosumab) {
        out.alert(
            "ckd_mbd_workup",
            Severity::Warning,
            vec![
                ("renal", renal_text(f)),
                ("variant", "follow_on".to_owned()),
            ],
        );
        out.recommend("drug.ckd_mbd");
    }

    // --- 11.21: course end and exit plan.
    let course_end = course_end(f, first, start, &then, pth_months);
    let exit_plan = dmab_first.then(|| ExitPlan {
        then_drug: (!c.bisphosphonates_avoided() && !c.avoided(Drug::ZoledronicAcid))
            .then_some(Drug::ZoledronicAcid),
        months_after_last_dose: th.denosumab_transition_months.value as u32,
        btm_check_months: vec![
            th.btm_months.value as u32,
            th.denosumab_interval_months.value as u32,
        ],
    });

    // --- PTH limit (5.4, 10.11), holidays (5.10).
    let pth_in_play =
        ongoing_pth.is_some() || matches!(first, Some(Drug::Teriparatide | Drug::Abaloparatide));
    if pth_in_play && f64::from(pth_months) >= th.pth_limit_warn_months.value {
        let reached = f64::from(pth_months) >= th.pth_cumulative_max_months.value;
        let drug = first
            .filter(|d| d.is_pth_analogue())
            .or(ongoing_pth)
            .unwrap_or(Drug::Teriparatide);
        let mut params = vec![
            ("months", pth_months.to_string()),
            (
                "remaining",
                (th.pth_cumulative_max_months.value as i32 - pth_months).to_string(),
            ),
        ];
        words(&mut params, "drug@zh", "drug@en", k.words.drug(drug));
        match course_end.as_ref().and_then(|c| c.date) {
            _ if reached => params.push(("variant", "reached".to_owned())),
            Some(d) => params.push(("date", d.to_string())),
            None => params.push(("variant", "no_date".to_owned())),
        }
        out.alert(
            "teriparatide_limit",
            if reached {
                Severity::Warning
            } else {
                Severity::Info
            },
            params,
        );
        out.recommend("drug.pth_limit");
    }
    let holiday = f
        .ongoing()
        .filter(|m| m.drug.is_bisphosphonate())
        .map(|m| (m.drug, months_taken(m, f.as_of)))
        .find(|(d, months)| {
            let limit = if *d == Drug::ZoledronicAcid {
                th.bisphosphonate_holiday_iv_months.value
            } else {
                th.bisphosphonate_holiday_oral_months.value
            };
            f64::from(*months) >= limit
        });
    if let Some((drug, months)) = holiday {
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
                ("drug", json!(drug)),
                ("months", json!(months)),
                ("present_fracture_on_therapy", json!(failed_any)),
            ],
            Outcome::Applied,
            Some(json!(if failed_any {
                "holiday inappropriate: a fracture occurred on therapy"
            } else {
                "review for a holiday"
            })),
        );
    }

    // --- 5.9 alert, suppressed while a pathological fracture is suspected (11.9, 11.28.22).
    let on_therapy = f.on_antiosteoporosis_therapy();
    let no_therapy_alert = !on_therapy && !f.any_pathological;
    if no_therapy_alert {
        out.alert("no_antiosteoporosis_therapy", Severity::Warning, vec![]);
        out.recommend("drug.no_therapy_alert");
    }
    out.explain(
        "alerts.no_antiosteoporosis_therapy",
        if !on_therapy && f.any_pathological {
            "11.9"
        } else {
            "5.9"
        },
        &[
            ("on_antiosteoporosis_therapy", json!(on_therapy)),
            ("suspected_pathological", json!(f.any_pathological)),
        ],
        Outcome::Applied,
        Some(json!(no_therapy_alert)),
    );
    if first.is_some() && matches!(start, StartTiming::Now | StartTiming::AfterChecks) {
        out.recommend("drug.start_promptly");
    }

    let mut recommended: Vec<Drug> = first.into_iter().collect();
    if !hypercalcaemia {
        recommended.push(Drug::CalciumVitaminD);
        out.recommend("drug.calcium_vitamin_d");
    }

    // --- 11.15: anabolic options at very high risk (never the first choice).
    let anabolic_options: Vec<Drug> = if vh.flag
        && !matches!(
            first,
            Some(Drug::Teriparatide | Drug::Abaloparatide | Drug::Romosozumab)
        ) {
        ANABOLICS.into_iter().filter(|d| !c.avoided(*d)).collect()
    } else {
        Vec::new()
    };
    if vh.flag {
        let mut params = Vec::with_capacity(2);
        let (zh, en) = join_words(vh.criteria.iter().map(|c| k.words.criterion(*c)));
        params.push(("criteria@zh", zh));
        params.push(("criteria@en", en));
        out.alert("very_high_fracture_risk", Severity::Info, params);
        out.recommend("drug.anabolic_first_option");
    }

    // --- 11.18: dosing of every drug in `recommended` and `then`.
    let mut dosing = BTreeMap::new();
    for d in recommended.iter().chain(then.iter()) {
        if *d == Drug::CalciumVitaminD {
            dosing.insert(
                *d,
                k.dosing
                    .calcium_vitamin_d(f.age, f.female, th.vitamin_d_1000iu_age_min.value),
            );
        } else if let Some(x) = k.dosing.drug(*d) {
            dosing.insert(*d, x.clone());
        }
    }
    if !dosing.is_empty() {
        out.recommend("drug.dosing");
    }

    // --- Explanation (11.23: one applied entry per decision, its value the report field).
    out.explain(
        "pharmacotherapy.recommended",
        path,
        &[
            ("denosumab", json!(format!("{dmab:?}"))),
            ("adherence", json!(f.adherence)),
            ("pth_months", json!(pth_months)),
            ("romosozumab_months", json!(romo_months)),
            ("very_high_risk_5_3", json!(very_high_53)),
            ("fracture_on_bisphosphonate", json!(failed_any)),
            ("renal_function", json!(renal_text(f))),
            ("calcium_mmol_l", json!(f.calcium)),
            ("stopped_combination", json!(stopped)),
        ],
        Outcome::Applied,
        Some(json!(recommended)),
    );
    out.explain(
        "pharmacotherapy.start",
        match (start, deferred) {
            (StartTiming::AfterChecks, _) => "11.3",
            (_, Some(DeferredReason::PathologyWorkup)) => "5.2",
            (_, Some(DeferredReason::HypercalcaemiaInvestigation)) => "10.2",
            (_, Some(DeferredReason::CkdMbdWorkup)) => "11.4",
            (_, Some(DeferredReason::CalciumCorrection | DeferredReason::VitaminDRepletion)) => {
                "10.1"
            }
            (_, Some(DeferredReason::SurgicalDecision)) => "11.5",
            (_, Some(DeferredReason::PlannedTransition)) => "5.7",
            (_, Some(DeferredReason::SpecialistReview)) => "10.12",
            (_, None) => path,
        },
        &[
            // 11.5: every reason that applied; the first in precedence is `deferred_reason`.
            ("deferral_reasons", json!(reasons)),
            (
                "blocking_checks",
                json!(blocking_for_first().map(|c| c.code).collect::<Vec<_>>()),
            ),
        ],
        Outcome::Applied,
        Some(json!(start)),
    );
    if let Some(ce) = &course_end {
        out.explain(
            "pharmacotherapy.course_end",
            "11.21",
            &[
                ("pth_months", json!(pth_months)),
                ("romosozumab_months", json!(romo_months)),
            ],
            Outcome::Applied,
            serde_json::to_value(ce).ok(),
        );
    }

    Pharmacotherapy {
        recommended,
        avoid: c.avoid,
        start,
        deferred_reason: deferred,
        start_date,
        max_duration_months: max_duration,
        then,
        renal_function: renal_function(f),
        pre_dose_checks: checks,
        monitoring,
        dosing,
        anabolic_options,
        course_end,
        exit_plan,
    }
}

/// Rule 11.21 with the 11.28 amendments: the PTH-analogue course end (PTH analogue first choice)
/// and the romosozumab course end (romosozumab continued, fewer than 12 months).
fn course_end(
    f: &Facts<'_>,
    first: Option<Drug>,
    start: StartTiming,
    then: &[Drug],
    pth_months: i32,
) -> Option<CourseEnd> {
    let th = f.th;
    let d = first?;
    let (limit, total, earliest, ended) = if d.is_pth_analogue() {
        let (_, _, ended) = course_months(f, Drug::is_pth_analogue);
        let (_, earliest, _) = course_months(f, |x| x == d);
        (
            th.pth_cumulative_max_months.value as i32,
            pth_months,
            earliest,
            ended,
        )
    } else if d == Drug::Romosozumab && start == StartTiming::Continue {
        let (total, earliest, ended) = course_months(f, |x| x == Drug::Romosozumab);
        (th.romosozumab_months.value as i32, total, earliest, ended)
    } else {
        return None;
    };
    // S: the earliest ongoing start when continued, else `as_of`; no date while waiting.
    let anchor = match start {
        StartTiming::Continue => earliest,
        StartTiming::Now => Some(f.as_of),
        StartTiming::AfterChecks | StartTiming::Deferred => None,
    };
    let at_months = limit - ended;
    let date = anchor.map(|s| s.add_months(at_months));
    Some(CourseEnd {
        drug: d,
        date,
        months_remaining: limit - total,
        switch_to: then.first().copied(),
        from: date.and(anchor),
        at_months: date.map(|_| at_months.max(0) as u32),
    })
}

/// Rule 11.2: the renal measure chosen by 0.4 (CrCl wins), named with its unit.
pub fn renal_function(f: &Facts<'_>) -> crate::report::RenalFunction {
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

/// Calcium with 2 decimals (`2.00 mmol/L`).
fn fmt_calcium(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:.2}"))
}
