//! The engine: validated request → facts → one rule module per report section → report.
//!
//! Each rule module is a pure function of the facts that writes its section and records, in
//! [`Out`], the alerts, recommendations, explanation entries, missing inputs and assumptions it
//! produced. The engine gathers them; the report lists every fired recommendation with its
//! evidence from the knowledge base.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::facts::Facts;
use crate::knowledge::Knowledge;
use crate::report::{
    Alert, AssessmentReport, Explanation, InputAssumed, Outcome, Recommendation, Severity, Text,
    Workup,
};
use crate::rules;
use crate::validate::ValidRequest;

pub const ENGINE_VERSION: &str = concat!("ovcf-core ", env!("CARGO_PKG_VERSION"));

/// Placeholder values of an alert text.
pub type AlertParams = Vec<(&'static str, String)>;

/// A fired alert: its severity, text parameters and the recommendations it names.
type FiredAlert = (Severity, AlertParams, Vec<&'static str>);

/// What the engine did with an absent optional input: a stable code that renderers translate
/// (`assumption.<code>` in the i18n catalogue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assumed {
    Today,
    Initial,
    NoneReported,
    Zero,
    TreatedAsUnknown,
    AdherenceUnknown,
    PriorFragilityDefault,
    DerivedToleranceGood,
    DerivedTolerancePoor,
    NonunionDerivedTrue,
    NonunionDerivedFalse,
    MeasureCreatinine,
    OnsetUnknownBisphosphonate,
    MeasureCalcium,
    MeasureVitaminD,
    /// Rule 11.1: `onset_days` absent counts as a recent fracture.
    OnsetUnknownRecent,
    /// Rule 11.10: `days_since_onset` unknown: no bed rest ordered.
    OnsetUnknownNoBedRest,
    /// Rule 11.10: mobilisation under analgesia unknown: bed rest only while pain prevents it.
    BedRestWhilePainPrevents,
}

impl Assumed {
    pub const ALL: [Assumed; 18] = [
        Assumed::Today,
        Assumed::Initial,
        Assumed::NoneReported,
        Assumed::Zero,
        Assumed::TreatedAsUnknown,
        Assumed::AdherenceUnknown,
        Assumed::PriorFragilityDefault,
        Assumed::DerivedToleranceGood,
        Assumed::DerivedTolerancePoor,
        Assumed::NonunionDerivedTrue,
        Assumed::NonunionDerivedFalse,
        Assumed::MeasureCreatinine,
        Assumed::OnsetUnknownBisphosphonate,
        Assumed::MeasureCalcium,
        Assumed::MeasureVitaminD,
        Assumed::OnsetUnknownRecent,
        Assumed::OnsetUnknownNoBedRest,
        Assumed::BedRestWhilePainPrevents,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Assumed::Today => "today",
            Assumed::Initial => "initial",
            Assumed::NoneReported => "none_reported",
            Assumed::Zero => "zero",
            Assumed::TreatedAsUnknown => "treated_as_unknown",
            Assumed::AdherenceUnknown => "adherence_unknown",
            Assumed::PriorFragilityDefault => "prior_fragility_default",
            Assumed::DerivedToleranceGood => "derived_tolerance_good",
            Assumed::DerivedTolerancePoor => "derived_tolerance_poor",
            Assumed::NonunionDerivedTrue => "nonunion_derived_true",
            Assumed::NonunionDerivedFalse => "nonunion_derived_false",
            Assumed::MeasureCreatinine => "measure_creatinine",
            Assumed::OnsetUnknownBisphosphonate => "onset_unknown_bisphosphonate",
            Assumed::MeasureCalcium => "measure_calcium",
            Assumed::MeasureVitaminD => "measure_vitamin_d",
            Assumed::OnsetUnknownRecent => "onset_unknown_recent",
            Assumed::OnsetUnknownNoBedRest => "onset_unknown_no_bed_rest",
            Assumed::BedRestWhilePainPrevents => "bed_rest_while_pain_prevents",
        }
    }
}

/// What the rules fire, gathered across sections.
#[derive(Default)]
pub struct Out {
    alerts: BTreeMap<&'static str, FiredAlert>,
    recommendations: BTreeSet<&'static str>,
    pub explanation: Vec<Explanation>,
    missing: Vec<String>,
    assumed: Vec<InputAssumed>,
    /// Work-up items fired by any rule (rule 0.7: whichever rule sets the plan).
    pub workup: BTreeSet<Workup>,
}

/// A list of facts for an explanation entry.
pub type FactList<'a> = &'a [(&'static str, Value)];

impl Out {
    /// Raises an alert; one per code, kept at the highest severity that fired (rule 0.7).
    pub fn alert(
        &mut self,
        code: &'static str,
        severity: Severity,
        params: Vec<(&'static str, String)>,
    ) {
        self.alert_with(code, severity, params, &[]);
    }

    /// As [`Out::alert`], naming recommendations beyond the alert's defaults.
    pub fn alert_with(
        &mut self,
        code: &'static str,
        severity: Severity,
        params: Vec<(&'static str, String)>,
        recommendation_ids: &[&'static str],
    ) {
        for id in recommendation_ids {
            self.recommendations.insert(id);
        }
        match self.alerts.get_mut(code) {
            Some(existing) if existing.0 >= severity => {
                existing.2.extend_from_slice(recommendation_ids);
            }
            Some(existing) => {
                existing.0 = severity;
                existing.1 = params;
                existing.2.extend_from_slice(recommendation_ids);
            }
            None => {
                self.alerts
                    .insert(code, (severity, params, recommendation_ids.to_vec()));
            }
        }
    }

    pub fn has_alert(&self, code: &str) -> bool {
        self.alerts.contains_key(code)
    }

    pub fn recommend(&mut self, id: &'static str) {
        self.recommendations.insert(id);
    }

    pub fn explain(
        &mut self,
        decision: impl Into<String>,
        rule: &str,
        facts: FactList<'_>,
        outcome: Outcome,
        value: Option<Value>,
    ) {
        self.explanation.push(Explanation {
            decision: decision.into(),
            rule: rule.to_owned(),
            facts: facts
                .iter()
                .map(|(k, v)| (std::borrow::Cow::Borrowed(*k), v.clone()))
                .collect(),
            outcome,
            value,
        });
    }

    pub fn missing(&mut self, path: String) {
        if !self.missing.contains(&path) {
            self.missing.push(path);
        }
    }

    /// Records a default applied to an absent optional input: `code` is stable (renderers
    /// translate it), `english` says the same for a reader of the JSON.
    pub fn assume(
        &mut self,
        path: impl Into<String>,
        code: Assumed,
        value: Option<String>,
        english: impl Into<String>,
    ) {
        let path = path.into();
        let code = code.code();
        if !self
            .assumed
            .iter()
            .any(|a| a.path == path && a.code == code)
        {
            self.assumed.push(InputAssumed {
                path,
                assumption: english.into(),
                code: code.to_owned(),
                value,
            });
        }
    }
}

/// Engine failures that are not the caller's input (the input was validated already).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Knowledge(#[from] &'static crate::knowledge::KnowledgeError),
    #[error("knowledge base lacks {kind} {id:?} that the rules use")]
    UnknownId { kind: &'static str, id: String },
}

/// Runs every rule on a validated request.
pub fn assess_valid(valid: &ValidRequest) -> Result<AssessmentReport, EngineError> {
    let k = Knowledge::embedded()?;
    let facts = Facts::derive(valid, &k.thresholds);
    let mut out = Out::default();
    assumptions(&facts, &mut out);

    let mut fractures = rules::diagnosis::fractures(&facts, &mut out);
    let bone_density = rules::diagnosis::bone_density(&facts, &mut out);
    let mut treatment = rules::treatment::plan(&facts, &mut fractures, &mut out);
    // Rule 11.15: one computation for the report's flag and the drug plan.
    let very_high = rules::very_high::assess(&facts, &mut out);
    let pharmacotherapy = rules::pharmacotherapy::plan(&facts, &treatment, &very_high, k, &mut out);
    let procedure_checks = rules::procedure::checks(&facts, &mut out);
    let mut risks = rules::risks::assess(&facts, &treatment, k, &mut out);
    risks.very_high_fracture_risk = very_high;
    rules::treatment::techniques(&facts, &mut treatment, &risks, &mut out);
    let perioperative = rules::perioperative::plan(&facts, &treatment, &mut out);
    let follow_up = rules::follow_up::schedule(
        &facts,
        &treatment,
        &pharmacotherapy,
        &bone_density,
        &mut out,
    );
    // Rule 11.16: after the perioperative plan (its VTE item follows the bed rest).
    let care_bundle = rules::care::bundle(&facts, &treatment, &perioperative, &mut out);

    treatment.missing = std::mem::take(&mut out.missing);
    let alerts = gather_alerts(k, &out)?;
    let recommendations = gather_recommendations(k, &out)?;

    let mut report = AssessmentReport {
        engine_version: ENGINE_VERSION.to_owned(),
        knowledge_version: k.version.clone(),
        as_of: facts.as_of,
        phase: serde_json::to_value(facts.phase)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        fractures,
        bone_density,
        treatment,
        perioperative,
        pharmacotherapy,
        risks,
        follow_up,
        procedure_checks,
        risk_tools: facts.req.risk_tools.clone(),
        alerts,
        recommendations,
        explanation: out.explanation,
        inputs_assumed: out.assumed,
        care_bundle,
        summary: crate::report::Summary::placeholder(),
    };
    // Rule 11.25: every value copied from its source field, once the report is complete.
    report.summary = crate::report::Summary::of(&report);
    Ok(report)
}

/// Rule 0.5 and friends: record every default the engine applied to an absent optional input.
fn assumptions(f: &Facts<'_>, out: &mut Out) {
    let p = &f.req.patient;
    if f.req.as_of.is_none() {
        let d = f.as_of.to_string();
        out.assume(
            "as_of",
            Assumed::Today,
            Some(d.clone()),
            format!("today's date {d} used"),
        );
    }
    if f.req.phase.is_none() {
        out.assume("phase", Assumed::Initial, None, "initial");
    }
    if p.comorbidities.is_none() {
        out.assume(
            "patient.comorbidities",
            Assumed::NoneReported,
            None,
            "none reported",
        );
    }
    if f.tolerance_derived {
        let poor = f.tolerance == crate::request::SurgicalTolerance::Poor;
        out.assume(
            "patient.surgical_tolerance",
            if poor {
                Assumed::DerivedTolerancePoor
            } else {
                Assumed::DerivedToleranceGood
            },
            None,
            format!(
                "derived from ASA class and major comorbidities: {}",
                if poor { "poor" } else { "good" }
            ),
        );
    }
    if p.adherence.is_none() {
        out.assume(
            "patient.adherence",
            Assumed::AdherenceUnknown,
            None,
            "unknown (treated as not good)",
        );
    }
    if p.prior_fragility_fractures.is_none() {
        let n = f.prior_fragility.to_string();
        out.assume(
            "patient.prior_fragility_fractures",
            Assumed::PriorFragilityDefault,
            Some(n.clone()),
            format!("{n} (rule 10.16)"),
        );
    }
    if p.prior_vertebral_fractures.is_none() {
        out.assume(
            "patient.prior_vertebral_fractures",
            Assumed::Zero,
            None,
            "0",
        );
    }
    if p.nonunion_risk.is_none() {
        out.assume(
            "patient.nonunion_risk",
            if f.nonunion_risk {
                Assumed::NonunionDerivedTrue
            } else {
                Assumed::NonunionDerivedFalse
            },
            None,
            format!(
                "derived from diabetes, smoking and glucocorticoid use: {}",
                f.nonunion_risk
            ),
        );
    }
    for (fr, input) in f.fractures.iter().zip(&f.req.fractures) {
        if input.onset_days.is_none() && !fr.pathological {
            out.assume(
                fr.path("onset_days"),
                Assumed::OnsetUnknownRecent,
                None,
                "unknown: counted as a recent fracture (rule 11.1)",
            );
        }
        if !fr.wall_given {
            out.assume(
                fr.path("posterior_wall"),
                Assumed::TreatedAsUnknown,
                None,
                "treated as unknown",
            );
        }
    }
}

fn gather_alerts(k: &'static Knowledge, out: &Out) -> Result<Vec<Alert>, EngineError> {
    let mut alerts = Vec::with_capacity(out.alerts.len());
    for (code, (severity, params, extra)) in &out.alerts {
        let def = k.alert(code).ok_or_else(|| EngineError::UnknownId {
            kind: "alert",
            id: (*code).to_owned(),
        })?;
        let mut ids: Vec<String> = def.recommendations.clone();
        for id in extra {
            if !ids.iter().any(|x| x == id) {
                ids.push((*id).to_owned());
            }
        }
        alerts.push(Alert {
            code: (*code).to_owned(),
            severity: *severity,
            message: def.message(params),
            recommendation_ids: ids,
        });
    }
    alerts.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.code.cmp(&b.code))
    });
    Ok(alerts)
}

fn borrowed(ids: &'static [String]) -> Vec<crate::report::SourceId> {
    ids.iter()
        .map(|s| std::borrow::Cow::Borrowed(s.as_str()))
        .collect()
}

fn gather_recommendations(
    k: &'static Knowledge,
    out: &Out,
) -> Result<Vec<Recommendation>, EngineError> {
    let mut ids: BTreeSet<&str> = out.recommendations.iter().copied().collect();
    for (code, _) in out.alerts.iter() {
        if let Some(def) = k.alert(code) {
            ids.extend(def.recommendations.iter().map(String::as_str));
        }
    }
    let mut ranked = Vec::with_capacity(ids.len());
    for id in ids {
        let (rank, def) = k
            .recommendation_ranked(id)
            .ok_or_else(|| EngineError::UnknownId {
                kind: "recommendation",
                id: id.to_owned(),
            })?;
        ranked.push((rank, def));
    }
    ranked.sort_unstable_by_key(|(rank, _)| *rank);
    Ok(ranked
        .into_iter()
        .map(|(_, def)| recommendation_of(k, def))
        .collect())
}

/// A knowledge-base recommendation as the report shows it (grade, sources, conflicting evidence,
/// grade origin and citation flags): the one conversion every edge uses.
pub fn recommendation_of(
    k: &'static Knowledge,
    def: &'static crate::knowledge::RecommendationDef,
) -> Recommendation {
    {
        Recommendation {
            id: def.id.clone(),
            text: Text::new(def.zh.as_str(), def.en.as_str()),
            quality: def.quality,
            strength: def.strength,
            sources: borrowed(&def.sources),
            conflicting_evidence: def
                .conflicting_evidence
                .iter()
                .map(|c| crate::report::ConflictingEvidence {
                    summary: Text::new(c.zh.as_str(), c.en.as_str()),
                    sources: borrowed(&c.sources),
                })
                .collect(),
            provisional: def.provisional,
            grade_origin: def.grade_origin,
            citation_flags: k
                .citation_flags(&def.id)
                .map(|(c, flag)| crate::report::CitationFlag {
                    source: c.source.clone(),
                    flag,
                    note_code: c.note_code.clone(),
                })
                .collect(),
        }
    }
}
