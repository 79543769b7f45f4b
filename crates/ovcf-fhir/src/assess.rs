//! Assessing mapped FHIR data with the one engine, including when `neurological_deficit` has no
//! FHIR source.
//!
//! # Why this is safe
//! Contract api-v1: when a field the engine requires has no FHIR source, the service evaluates
//! what does not depend on it and reports the treatment plan as `insufficient_data` naming the
//! field; it never assumes a value. A single engine run with a placeholder value would *be* an
//! assumption (and its alerts, OF score and explanation would carry it). Instead the engine runs
//! once for **every** value of the field (`none`, `radicular`, `incomplete`, `complete`) and a
//! decision is reported only when it is identical in all runs — i.e. provably independent of the
//! unknown value. Everything else is withheld:
//! - `treatment.plan` = `insufficient_data`, `treatment.missing` gains
//!   `patient.neurological_deficit`; `alternative`, `per_level` and `techniques` are emptied;
//!   `workup` keeps the items every run asked for;
//! - an alert is kept when its code fires in every run (at its most severe level); alerts that
//!   fire in only some runs (e.g. `neurological_deficit`) are dropped;
//! - recommendations, explanations and assumptions are kept when present in every run;
//!   `tx.insufficient_data` is added;
//! - a fracture's OF score whose runs differ loses its total (`points: null`), its neurology
//!   item becomes `unknown` with range [0, 2], min/max span all runs, and the interpretation is
//!   `undetermined` unless all runs agree; a differing fracture class becomes `unknown`;
//! - sections that still differ (perioperative, adjacent-fracture risk, follow-up, bone density,
//!   pharmacotherapy) are listed in [`FhirAssessment::dependent_sections`] and keep the value of
//!   the run whose alerts are a subset of all others' (`none`) — callers (cards) must not present
//!   them as decisions. Bone density does not depend on neurology (tests check it); since
//!   revision 3 the drug plan can (rule 11.5 defers a new bisphosphonate or PTH analogue on a
//!   surgical referral), and is then listed as dependent.

use std::borrow::Cow;
use std::collections::BTreeMap;

use ovcf_core::report::{
    Alert, AssessmentReport, Explanation, FractureClass, InputAssumed, OfInterpretation,
    OfItemStatus, Outcome, Plan, Recommendation, Text,
};
use ovcf_core::request::{Level, NeurologicalDeficit};
use ovcf_core::{AssessError, Date};
use serde::{Deserialize, Serialize};

use crate::mapping::{FRACTURE_LEVEL_PATH, MappedRequest};

pub const NEUROLOGICAL_DEFICIT_PATH: &str = "patient.neurological_deficit";

/// The engine's report for mapped FHIR data, with what was withheld.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FhirAssessment {
    pub report: AssessmentReport,
    /// Required request fields FHIR had no value for, whose dependent decisions were withheld.
    pub withheld: Vec<String>,
    /// Report sections that differ between the possible values of a withheld field and so are
    /// not decisions (empty when nothing was withheld).
    pub dependent_sections: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FhirAssessError {
    /// Required data with no FHIR source other than `neurological_deficit`: nothing can be
    /// assessed (answer 412 with [`MappedRequest::operation_outcome`]).
    #[error("required data missing: {}", .0.join(", "))]
    Insufficient(Vec<String>),
    /// The mapped request failed the contract validation (issues in the MappedRequest).
    #[error("the mapped request is not valid ({0} issue(s))")]
    Invalid(usize),
    #[error(transparent)]
    Engine(#[from] AssessError),
}

/// Runs the engine on mapped FHIR data (see the module docs for the partial case).
pub fn assess_mapped(mapped: &MappedRequest) -> Result<FhirAssessment, FhirAssessError> {
    let today = mapped.as_of;
    if let Some(req) = &mapped.request {
        let report = ovcf_core::assess(req, today)?;
        return Ok(FhirAssessment {
            report,
            withheld: Vec::new(),
            dependent_sections: Vec::new(),
        });
    }
    let withheld: Vec<&str> = mapped
        .missing_required
        .iter()
        .map(String::as_str)
        .filter(|p| *p == NEUROLOGICAL_DEFICIT_PATH || *p == FRACTURE_LEVEL_PATH)
        .collect();
    if withheld.len() != mapped.missing_required.len() {
        return Err(FhirAssessError::Insufficient(
            mapped.missing_required.clone(),
        ));
    }
    if withheld.is_empty() {
        // Nothing missing, yet no request: the contract validation failed.
        return Err(FhirAssessError::Invalid(mapped.errors().count()));
    }
    let deficits: Vec<NeurologicalDeficit> = match mapped.partial.patient.neurological_deficit {
        Some(d) => vec![d],
        None => vec![
            NeurologicalDeficit::None,
            NeurologicalDeficit::Radicular,
            NeurologicalDeficit::Incomplete,
            NeurologicalDeficit::Complete,
        ],
    };
    let level_sets = level_variants(mapped);
    let mut reports = Vec::with_capacity(deficits.len() * level_sets.len());
    for d in &deficits {
        for levels in &level_sets {
            let req = mapped
                .partial
                .variant(today, *d, levels)
                .ok_or_else(|| FhirAssessError::Insufficient(mapped.missing_required.clone()))?;
            reports.push(ovcf_core::assess(&req, today)?);
        }
    }
    let mut runs = reports.into_iter();
    let base = runs
        .next()
        .ok_or_else(|| FhirAssessError::Insufficient(mapped.missing_required.clone()))?;
    let mut merged = merge_without(base, runs.collect(), &withheld);
    if !mapped.partial.unlevelled_fractures.is_empty() {
        // The unlevelled fractures were placed at stand-in levels: drop them from the findings
        // and never name a stand-in level in a message.
        let known = mapped.partial.fractures.len();
        merged.report.fractures.truncate(known);
        for a in &mut merged.report.alerts {
            a.message = Text::new(
                hide_levels(&a.message.zh, &STAND_IN_LEVELS),
                hide_levels(&a.message.en, &STAND_IN_LEVELS),
            );
        }
    }
    Ok(merged)
}

/// The request order-sign checks read (medications, imaging of the levels): the mapped request
/// when complete, else the first evaluated variant. The decisions themselves come from the
/// merged report of [`assess_mapped`], never from this request's stand-in values.
pub fn request_for_orders(mapped: &MappedRequest) -> Option<ovcf_core::AssessmentRequest> {
    if let Some(r) = &mapped.request {
        return Some(r.clone());
    }
    let deficit = mapped
        .partial
        .patient
        .neurological_deficit
        .unwrap_or(NeurologicalDeficit::None);
    let levels = level_variants(mapped)
        .into_iter()
        .next()
        .unwrap_or_default();
    mapped.partial.variant(mapped.as_of, deficit, &levels)
}

/// Levels that stand in for fractures coded without one: each rule-relevant group once
/// (approach T4–T10 / T11–T12 / L1–L4 / other, cement thoracic / lumbar, L1 for CT attenuation).
const STAND_IN_LEVELS: [Level; 6] = [
    Level::T2,
    Level::T7,
    Level::T11,
    Level::L1,
    Level::L3,
    Level::L5,
];

/// One level set per rotation of the stand-ins (levels already known are skipped), so that every
/// unlevelled fracture is evaluated at every group.
fn level_variants(mapped: &MappedRequest) -> Vec<Vec<Level>> {
    let n = mapped.partial.unlevelled_fractures.len();
    if n == 0 {
        return vec![Vec::new()];
    }
    let free: Vec<Level> = STAND_IN_LEVELS
        .iter()
        .copied()
        .filter(|l| !mapped.partial.fractures.iter().any(|f| f.level == *l))
        .collect();
    if free.len() < n {
        // More unlevelled fractures than stand-ins: evaluate distinct free levels.
        let all: Vec<Level> = Level::ALL
            .iter()
            .copied()
            .filter(|l| !mapped.partial.fractures.iter().any(|f| f.level == *l))
            .take(n)
            .collect();
        return vec![all];
    }
    (0..free.len())
        .map(|r| (0..n).map(|j| free[(r + j) % free.len()]).collect())
        .collect()
}

/// Replaces whole-word level names (`T11`, `L1` …) with `?`.
fn hide_levels(text: &str, levels: &[Level]) -> Cow<'static, str> {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if levels.iter().any(|l| l.as_str() == word) {
            out.push('?');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    Cow::Owned(out)
}

/// Keeps what is identical across `runs` (one per combination of the withheld fields' values).
fn merge_without(
    mut base: AssessmentReport,
    rest: Vec<AssessmentReport>,
    fields: &[&str],
) -> FhirAssessment {
    let mut dependent = Vec::new();
    let all_same = |f: &dyn Fn(&AssessmentReport) -> bool| rest.iter().all(f);

    // Treatment: withheld.
    let workup = base
        .treatment
        .workup
        .iter()
        .copied()
        .filter(|w| rest.iter().all(|r| r.treatment.workup.contains(w)))
        .collect();
    base.treatment.plan = Plan::InsufficientData;
    base.treatment.alternative = None;
    base.treatment.per_level.clear();
    base.treatment.techniques.clear();
    base.treatment.workup = workup;
    for field in fields {
        if !base.treatment.missing.iter().any(|m| m == field) {
            base.treatment.missing.push((*field).to_string());
        }
    }
    base.treatment.missing.sort();
    base.risks.cement_leakage = None;
    base.procedure_checks = base
        .procedure_checks
        .take()
        .filter(|pc| rest.iter().all(|r| r.procedure_checks.as_ref() == Some(pc)));

    // Fractures.
    for (i, f) in base.fractures.iter_mut().enumerate() {
        let others: Vec<_> = rest.iter().filter_map(|r| r.fractures.get(i)).collect();
        if others.iter().any(|o| o.class != f.class) {
            f.class = FractureClass::Unknown;
            dependent.push(format!("fractures[{i}].class"));
        }
        if others.iter().any(|o| o.of_score != f.of_score) {
            dependent.push(format!("fractures[{i}].of_score"));
            let scores: Vec<_> = others.iter().filter_map(|o| o.of_score.as_ref()).collect();
            let Some(s) = f.of_score.as_mut() else {
                continue;
            };
            s.points = None;
            s.min_points = scores
                .iter()
                .map(|o| o.min_points)
                .chain([s.min_points])
                .min()
                .unwrap_or(s.min_points);
            s.max_points = scores
                .iter()
                .map(|o| o.max_points)
                .chain([s.max_points])
                .max()
                .unwrap_or(s.max_points);
            if scores.iter().any(|o| o.interpretation != s.interpretation) {
                s.interpretation = OfInterpretation::Undetermined;
            }
            for (j, item) in s.items.iter_mut().enumerate() {
                let vals: Vec<Option<i32>> = scores
                    .iter()
                    .filter_map(|o| o.items.get(j).map(|x| x.points))
                    .collect();
                if vals.iter().any(|v| *v != item.points) {
                    let lo = vals
                        .iter()
                        .flatten()
                        .chain(item.points.iter())
                        .min()
                        .copied();
                    let hi = vals
                        .iter()
                        .flatten()
                        .chain(item.points.iter())
                        .max()
                        .copied();
                    item.points = None;
                    item.status = OfItemStatus::Unknown;
                    item.range = lo.zip(hi).map(|(a, b)| [a, b]);
                }
            }
        }
    }

    // Sections kept only when identical; otherwise listed as dependent.
    let sections: [(&str, bool); 6] = [
        (
            "bone_density",
            all_same(&|r| r.bone_density == base.bone_density),
        ),
        (
            "pharmacotherapy",
            all_same(&|r| r.pharmacotherapy == base.pharmacotherapy),
        ),
        (
            "perioperative",
            all_same(&|r| r.perioperative == base.perioperative),
        ),
        (
            "risks.adjacent_fracture",
            all_same(&|r| r.risks.adjacent_fracture == base.risks.adjacent_fracture),
        ),
        ("follow_up", all_same(&|r| r.follow_up == base.follow_up)),
        ("risk_tools", all_same(&|r| r.risk_tools == base.risk_tools)),
    ];
    for (name, same) in sections {
        if !same {
            dependent.push(name.to_string());
        }
    }

    // Alerts: codes firing in every run, at their most severe.
    let mut alerts: Vec<Alert> = Vec::new();
    for a in &base.alerts {
        let mut best = a.clone();
        let mut everywhere = true;
        for r in &rest {
            match r.alerts.iter().find(|b| b.code == a.code) {
                Some(b) if b.severity > best.severity => best = b.clone(),
                Some(_) => {}
                None => everywhere = false,
            }
        }
        if everywhere {
            alerts.push(best);
        }
    }
    alerts.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.code.cmp(&b.code))
    });
    base.alerts = alerts;

    let keep_rec = |rec: &Recommendation| rest.iter().all(|r| r.recommendations.contains(rec));
    base.recommendations.retain(keep_rec);
    if let Some(rec) = insufficient_data_recommendation()
        && !base.recommendations.iter().any(|r| r.id == rec.id)
    {
        base.recommendations.push(rec);
    }
    let keep_expl = |e: &Explanation| {
        e.decision != "treatment.plan" && rest.iter().all(|r| r.explanation.contains(e))
    };
    base.explanation.retain(keep_expl);
    base.explanation.push(Explanation {
        decision: "treatment.plan".into(),
        rule: "fhir.withheld".into(),
        facts: BTreeMap::from([(Cow::Borrowed("no_fhir_source"), serde_json::json!(fields))]),
        outcome: Outcome::Applied,
        value: Some(serde_json::json!(Plan::InsufficientData)),
    });
    let keep_assumed = |a: &InputAssumed| rest.iter().all(|r| r.inputs_assumed.contains(a));
    base.inputs_assumed.retain(keep_assumed);
    for field in fields {
        base.inputs_assumed.push(InputAssumed {
            path: (*field).to_string(),
            assumption: "not available from FHIR: every value was evaluated and only decisions that do not depend on it are reported; the treatment plan is withheld".into(),
            code: "withheld_no_fhir_source".into(),
            value: None,
        });
    }
    FhirAssessment {
        report: base,
        withheld: fields.iter().map(|f| (*f).to_string()).collect(),
        dependent_sections: dependent,
    }
}

fn insufficient_data_recommendation() -> Option<Recommendation> {
    let k = ovcf_core::knowledge::Knowledge::embedded().ok()?;
    let def = k.recommendation("tx.insufficient_data")?;
    Some(ovcf_core::engine::recommendation_of(k, def))
}

/// eGFR used only to ask the engine "would this drug be avoided with low renal function?"
/// (a what-if evaluation for order-sign; never a value behind advice).
const LOW_RENAL_PROBE: f64 = 10.0;

/// Whether the engine avoids `drug` for renal reasons when renal function is low, asked only
/// when the request has no eGFR and no CrCl (renal function unknown). The engine decides; the
/// order-sign card then asks for renal function instead of staying silent.
pub fn renal_dependent_unknown(
    request: &ovcf_core::AssessmentRequest,
    drug: ovcf_core::request::Drug,
    today: Date,
) -> bool {
    let labs = request.labs.unwrap_or_default();
    if labs.egfr_ml_min.is_some() || labs.crcl_ml_min.is_some() {
        return false;
    }
    let mut low = request.clone();
    low.labs = Some(ovcf_core::request::Labs {
        egfr_ml_min: Some(LOW_RENAL_PROBE),
        ..labs
    });
    ovcf_core::assess(&low, today).is_ok_and(|r| {
        r.pharmacotherapy.avoid.iter().any(|a| {
            a.drug == drug && a.reason == ovcf_core::report::AvoidReason::RenalContraindication
        })
    })
}

/// `today` helper for callers without an `as_of`: the civil date of a timestamp in UTC.
pub fn utc_date(now: jiff::Timestamp) -> Option<Date> {
    let d = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    Date::new(d.year(), d.month(), d.day())
}
