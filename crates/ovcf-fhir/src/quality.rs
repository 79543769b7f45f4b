//! What the mapping could not use, for the clinician and for the EHR: the data-quality section of
//! the plan card (zh/en), a data-quality card when no assessment can be made from data that were
//! obtained, and the structured issues in the response `extension`.
//!
//! Nothing silent: every value that was present but not used (unit not recognised, stale, not
//! final, a bound, text, conflicting, before the fracture's onset …) and every value the engine
//! reads that was absent appears here.

use serde_json::{Value, json};

use crate::cards::{Lang, clamp, new_uuid, source, t, tf};
use crate::cds::{Card, HookRequest, Indicator};
use crate::mapping::{IssueCode, IssueSeverity, MappedRequest, MappingIssue};

/// At most this many data-quality lines in a card (the rest are counted; all are in the
/// response extension).
pub const MAX_LINES: usize = 8;

/// The CDS Hooks extension key of the mapping report.
pub const EXTENSION_KEY: &str = "org.ovcf-pathway.mapping";

/// Issues the clinician sees: errors and warnings about a request field, fractures coded as
/// trauma, and required values absent.
pub fn clinician_issues(mapped: &MappedRequest) -> Vec<&MappingIssue> {
    let mut out: Vec<&MappingIssue> = mapped
        .issues
        .iter()
        .filter(|i| {
            i.field.is_some()
                && (i.severity != IssueSeverity::Information
                    || matches!(i.code, IssueCode::Absent | IssueCode::Conflict))
        })
        .collect();
    // Most serious first, then by field.
    out.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then_with(|| a.field.cmp(&b.field))
    });
    out
}

fn reason_key(issue: &MappingIssue) -> &'static str {
    match issue.code {
        IssueCode::UnsupportedUnit => "unit",
        IssueCode::Stale => "stale",
        IssueCode::NotFinal => "not_final",
        IssueCode::UnreadableValue => "unreadable",
        IssueCode::OutOfRange => "out_of_range",
        IssueCode::Conflict => "conflict",
        IssueCode::MissingLevel if issue.field.as_deref() == Some("fractures") => "no_level",
        IssueCode::MissingLevel => "no_site",
        IssueCode::NotAssessed => "traumatic",
        IssueCode::Absent => "absent",
        IssueCode::FutureDate => "future",
        IssueCode::PartialDate => "partial_date",
        IssueCode::BeforeOnset => "before_onset",
        _ => "not_used",
    }
}

/// One line: `eGFR 25 mL/min/1.73m² (2026-11-20): unit not recognised — not used`.
pub fn line(issue: &MappingIssue, lang: Lang) -> String {
    let field = issue.field.as_deref().unwrap_or("");
    let mut what = match field.strip_prefix("prefetch.") {
        Some(k) => tf("dq_field", "prefetch", lang, &[("key", k)]),
        None => t("dq_field", field, lang),
    };
    if let Some(v) = &issue.value {
        what.push(' ');
        what.push_str(v);
    }
    if let Some(d) = &issue.date {
        what.push_str(&format!(" ({d})"));
    }
    let reason = t("dq_reason", reason_key(issue), lang);
    if issue.resource == "AssessmentRequest" || issue.resource == "HookRequest" {
        format!("- {what}: {reason}")
    } else {
        format!("- {what}: {reason} [{}]", issue.resource)
    }
}

/// Display order of fields: renal function first (it gates drugs), then calcium, 25(OH)D, DXA,
/// pain, the rest.
fn field_order(field: Option<&str>) -> u8 {
    match field.unwrap_or("") {
        "labs.egfr_ml_min" | "labs.crcl_ml_min" => 0,
        "fractures" => 1,
        "labs.calcium_mmol_l" => 2,
        "labs.vitamin_d_nmol_l" => 3,
        f if f.starts_with("bone_density") => 4,
        "fractures[].pain_vas" => 5,
        f if f.starts_with("prefetch.") => 6,
        _ => 7,
    }
}

/// The data-quality lines: one per (field, kind of issue) with a count of repeats, most
/// important first, at most [`MAX_LINES`], then a count (every issue is in the extension).
pub fn lines(mapped: &MappedRequest, lang: Lang) -> Vec<String> {
    let mut groups: Vec<(&MappingIssue, usize)> = Vec::new();
    for i in clinician_issues(mapped) {
        match groups
            .iter_mut()
            .find(|(g, _)| g.field == i.field && g.code == i.code)
        {
            Some((_, n)) => *n += 1,
            None => groups.push((i, 1)),
        }
    }
    groups.sort_by_key(|(i, _)| (field_order(i.field.as_deref()), i.severity));
    let mut out: Vec<String> = groups
        .iter()
        .take(MAX_LINES)
        .map(|(i, n)| {
            let mut l = line(i, lang);
            if *n > 1 {
                l.push_str(&tf(
                    "card",
                    "dq_repeat",
                    lang,
                    &[("n", &(n - 1).to_string())],
                ));
            }
            l
        })
        .collect();
    if groups.len() > MAX_LINES {
        out.push(tf(
            "card",
            "dq_more",
            lang,
            &[("n", &(groups.len() - MAX_LINES).to_string())],
        ));
    }
    out
}

/// Adds the data-quality section to the plan card's detail (the card with topic `plan`).
pub fn append_to_plan_card(cards: &mut [Card], mapped: &MappedRequest, lang: Lang) {
    let l = lines(mapped, lang);
    if l.is_empty() {
        return;
    }
    if let Some(plan) = cards
        .iter_mut()
        .find(|c| c.source.topic.as_ref().is_some_and(|tp| tp.code == "plan"))
    {
        let detail = plan.detail.get_or_insert_with(String::new);
        detail.push_str(&format!(
            "\n\n**{}**\n\n{}",
            t("card", "data_quality", lang),
            l.join("\n")
        ));
    }
}

/// Why no assessment was made from data that were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAssessment {
    /// No current vertebral fracture of any kind: nothing for this service (`cards: []`).
    NoFracture,
    /// Only fractures coded as trauma.
    TraumaticOnly,
    /// A vertebral fracture, but age or sex has no usable value.
    MissingDemographics,
}

/// Classifies a mapping that could not be assessed (the request is incomplete).
pub fn no_assessment(mapped: &MappedRequest) -> NoAssessment {
    let p = &mapped.partial;
    if !p.fractures.is_empty() || !p.unlevelled_fractures.is_empty() {
        NoAssessment::MissingDemographics
    } else if p.traumatic_fractures > 0 {
        NoAssessment::TraumaticOnly
    } else {
        NoAssessment::NoFracture
    }
}

/// The cards for a mapping that could not be assessed: none for a patient without a vertebral
/// fracture; otherwise one info card saying why and what was not usable.
pub fn no_assessment_cards(mapped: &MappedRequest, lang: Lang) -> Vec<Card> {
    let kind = no_assessment(mapped);
    let key = match kind {
        NoAssessment::NoFracture => return Vec::new(),
        NoAssessment::TraumaticOnly => "dq_traumatic_only",
        NoAssessment::MissingDemographics => "dq_cannot_assess",
    };
    let fields: Vec<String> = mapped
        .missing_required
        .iter()
        .filter(|f| f.as_str() != "patient.neurological_deficit")
        .map(|f| t("field", f, lang))
        .collect();
    let summary = tf(
        "card",
        key,
        lang,
        &[("fields", &fields.join(lang_sep(lang)))],
    );
    let l = lines(mapped, lang);
    let detail = if l.is_empty() {
        String::new()
    } else {
        format!(
            "**{}**\n\n{}",
            t("card", "data_quality", lang),
            l.join("\n")
        )
    };
    vec![Card {
        uuid: Some(new_uuid()),
        summary: clamp(&summary),
        detail: Some(detail),
        indicator: Indicator::Info,
        source: source("data_quality", &t("card", "data_quality", lang), lang),
        suggestions: Vec::new(),
        selection_behavior: None,
        override_reasons: Vec::new(),
        links: Vec::new(),
    }]
}

fn lang_sep(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "、",
        Lang::En => ", ",
    }
}

/// Prefetch keys of the discovery templates the request did not supply (absent, `null` or an
/// OperationOutcome): their data were not obtained.
pub fn unobtained_prefetch(req: &HookRequest) -> Vec<String> {
    crate::discovery::prefetch_templates()
        .into_keys()
        .filter(|k| match req.prefetch.as_ref().and_then(|p| p.get(k)) {
            None | Some(Value::Null) => true,
            Some(v) => crate::fhir::resource_type(v) == Some("OperationOutcome"),
        })
        .collect()
}

/// Adds a warning per prefetch key whose data were not obtained (so that "no medication
/// records" is never read as "no therapy" silently).
pub fn report_unobtained(mapped: &mut MappedRequest, keys: &[String]) {
    for k in keys {
        if mapped
            .issues
            .iter()
            .any(|i| i.path == format!("prefetch.{k}"))
        {
            continue;
        }
        mapped.issues.push(
            MappingIssue::new(
                IssueSeverity::Warning,
                IssueCode::PrefetchError,
                "HookRequest",
                format!("prefetch.{k}"),
                "prefetch key not supplied and not fetched (no fhirServer): its data are unknown, not absent",
            )
            .with_field(&format!("prefetch.{k}")),
        );
    }
}

/// The response extension: code-map version, missing required fields and every issue.
pub fn extension(mapped: &MappedRequest) -> Value {
    json!({
        EXTENSION_KEY: {
            "code_map_version": crate::codemap::active().version(),
            "missing_required": mapped.missing_required,
            "issues": mapped.issues,
        }
    })
}
