//! CDS Hooks cards from an engine report: `ovcf-patient-view` and `ovcf-order-sign`.
//!
//! Texts: alert messages come from the report (knowledge/alerts.toml); words for plans, drugs,
//! avoid reasons and work-up from knowledge/i18n.toml; card phrases from `cards.toml`. No text is
//! English-only. Cards never re-decide: every finding is read from the report, except one
//! presentation check on order-sign (a PTH analogue ordered right after denosumab, see
//! [`order_sign_cards`]).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ovcf_core::report::{Alert, AssessmentReport, Plan, Severity, StartTiming};
use ovcf_core::request::{AssessmentRequest, Drug, Level, ProcedureType};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::assess::FhirAssessment;
use crate::cds::{
    Action, ActionType, Card, Coding, Indicator, Link, LinkType, SelectionBehavior, Source,
    Suggestion,
};
use crate::codes;
use crate::mapping::{augmentation_kind, levels_of_cc};

/// At most this many patient-view cards.
pub const MAX_PATIENT_VIEW_CARDS: usize = 5;
/// Summaries are shorter than this (CDS Hooks: "<140-character summary").
pub const SUMMARY_LIMIT: usize = 140;

/// Card language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// From an `Accept-Language` header: the zh or en range with the highest q wins; zh when
    /// neither is acceptable or the header is absent or malformed.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(h) = header else { return Lang::Zh };
        let mut best: Option<(f32, usize, Lang)> = None;
        for (pos, part) in h.split(',').enumerate() {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q=").map(str::to_string))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok());
            let Some(q) = q.filter(|q| q.is_finite() && *q > 0.0) else {
                continue;
            };
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            // Highest q; on a tie the earlier range.
            if best.is_none_or(|(bq, _, _)| q > bq) {
                best = Some((q, pos, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, _, l)| l)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Tr {
    zh: String,
    en: String,
}

#[derive(Debug, Default)]
struct Catalogue {
    entries: BTreeMap<String, BTreeMap<String, Tr>>,
    problems: Vec<String>,
}

const CARDS_TOML: &str = include_str!("../cards.toml");
const I18N_TOML: &str = include_str!("../../../knowledge/i18n.toml");
/// Sections of knowledge/i18n.toml the cards use.
const I18N_SECTIONS: [&str; 4] = ["plan", "drug", "avoid_reason", "workup"];

fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(|| {
        let mut cat = Catalogue::default();
        for (name, text, only) in [
            ("cards.toml", CARDS_TOML, None),
            ("knowledge/i18n.toml", I18N_TOML, Some(&I18N_SECTIONS[..])),
        ] {
            let table: toml::Table = match toml::from_str(text) {
                Ok(t) => t,
                Err(e) => {
                    cat.problems.push(format!("{name} does not parse: {e}"));
                    continue;
                }
            };
            for (section, v) in table {
                if only.is_some_and(|o| !o.contains(&section.as_str())) {
                    continue;
                }
                let Some(t) = v.as_table() else { continue };
                for (key, entry) in t {
                    match entry.clone().try_into::<Tr>() {
                        Ok(tr) => {
                            let (zc, ec) = (placeholders(&tr.zh), placeholders(&tr.en));
                            if zc != ec {
                                cat.problems.push(format!(
                                    "{name} [{section}] {key}: placeholders differ between zh and en"
                                ));
                            }
                            cat.entries
                                .entry(section.clone())
                                .or_default()
                                .insert(key.clone(), tr);
                        }
                        Err(e) => cat
                            .problems
                            .push(format!("{name} [{section}] {key}: {e}")),
                    }
                }
            }
        }
        cat
    })
}

fn placeholders(s: &str) -> Vec<String> {
    let mut out: Vec<String> = s
        .split('{')
        .skip(1)
        .filter_map(|p| p.split_once('}').map(|(k, _)| k.to_string()))
        .collect();
    out.sort();
    out
}

/// Problems of the card catalogue (empty when sound): parse errors, zh/en placeholder mismatch.
pub fn catalogue_problems() -> Vec<String> {
    catalogue().problems.clone()
}

/// A catalogue text; the key itself when missing (a test checks every key the code uses).
pub(crate) fn t(section: &str, key: &str, lang: Lang) -> String {
    catalogue()
        .entries
        .get(section)
        .and_then(|s| s.get(key))
        .map_or_else(
            || format!("{section}.{key}"),
            |tr| lang.pick(&tr.zh, &tr.en).to_string(),
        )
}

pub(crate) fn tf(section: &str, key: &str, lang: Lang, params: &[(&str, &str)]) -> String {
    let mut s = t(section, key, lang);
    for (k, v) in params {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// Every `(section, key)` the card code looks up, for the catalogue test.
pub fn catalogue_has(section: &str, key: &str) -> bool {
    catalogue()
        .entries
        .get(section)
        .is_some_and(|s| s.contains_key(key))
}

/// A summary under [`SUMMARY_LIMIT`] characters: the first sentence, cut with "…" if needed.
pub fn summary_of(text: &str) -> String {
    let first = first_sentence(text);
    clamp(first.trim())
}

/// The first sentence (ending in `。`, `；` or `. `), extended by the next one while it is
/// shorter than a few words (e.g. a leading `L1: …` is never cut to `L1`).
fn first_sentence(text: &str) -> &str {
    let mut start_search = 0;
    loop {
        let mut end = text.len();
        for (i, c) in text[start_search..].char_indices() {
            let at = start_search + i;
            let next = at + c.len_utf8();
            if c == '。' || c == '；' || (c == '.' && text[next..].starts_with(' ')) {
                end = next;
                break;
            }
        }
        let s = &text[..end];
        if end >= text.len() || s.chars().count() >= 12 {
            return s;
        }
        start_search = end;
    }
}

pub(crate) fn clamp(s: &str) -> String {
    if s.chars().count() < SUMMARY_LIMIT {
        return s.to_string();
    }
    let mut out: String = s.chars().take(SUMMARY_LIMIT - 2).collect();
    out.push('…');
    out
}

fn text_of(t: &ovcf_core::report::Text, lang: Lang) -> String {
    lang.pick(&t.zh, &t.en).to_string()
}

fn indicator(s: Severity) -> Indicator {
    match s {
        Severity::Info => Indicator::Info,
        Severity::Warning => Indicator::Warning,
        Severity::Critical => Indicator::Critical,
    }
}

pub(crate) fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn source(topic: &str, display: &str, lang: Lang) -> Source {
    Source {
        label: t("card", "source_label", lang),
        url: None,
        icon: None,
        topic: Some(Coding {
            code: topic.to_string(),
            system: codes::OVCF_CARD_TOPIC.to_string(),
            display: Some(clamp(display)),
        }),
    }
}

fn override_reasons(lang: Lang) -> Vec<Coding> {
    [
        "patient_preference",
        "clinical_judgement",
        "data_outdated",
        "already_addressed",
    ]
    .into_iter()
    .map(|k| Coding {
        code: k.replace('_', "-"),
        system: codes::OVCF_OVERRIDE_REASON.to_string(),
        display: Some(t("override", k, lang)),
    })
    .collect()
}

/// Percent-encodes a path segment (RFC 3986 unreserved characters kept).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The link to the patient in the web application: `{app_base_url}/patients/{patient_id}`.
pub fn patient_link(app_base_url: &str, patient_id: &str, lang: Lang) -> Link {
    Link {
        label: t("card", "open_in_app", lang),
        url: format!(
            "{}/patients/{}",
            app_base_url.trim_end_matches('/'),
            encode_segment(patient_id)
        ),
        kind: LinkType::Absolute,
        app_context: None,
        autolaunchable: None,
    }
}

fn plan_word(p: Plan, lang: Lang) -> String {
    t("plan", p.as_str(), lang)
}

fn drug_word(d: Drug, lang: Lang) -> String {
    t("drug", d.as_str(), lang)
}

fn snake<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn field_words(fields: &[String], lang: Lang) -> String {
    let sep = lang.pick("、", ", ");
    fields
        .iter()
        .map(|f| t("field", f, lang))
        .collect::<Vec<_>>()
        .join(sep)
}

/// `ovcf-patient-view` cards for a complete report.
pub fn patient_view_cards(
    report: &AssessmentReport,
    lang: Lang,
    app_base_url: &str,
    patient_id: &str,
) -> Vec<Card> {
    build_patient_view(report, &[], &[], lang, app_base_url, patient_id)
}

/// `ovcf-patient-view` cards for an assessment of FHIR data, saying what was withheld and never
/// presenting a section that depends on a withheld field as a decision.
pub fn patient_view_cards_for(
    assessment: &FhirAssessment,
    lang: Lang,
    app_base_url: &str,
    patient_id: &str,
) -> Vec<Card> {
    build_patient_view(
        &assessment.report,
        &assessment.withheld,
        &assessment.dependent_sections,
        lang,
        app_base_url,
        patient_id,
    )
}

fn build_patient_view(
    report: &AssessmentReport,
    withheld: &[String],
    dependent: &[String],
    lang: Lang,
    app_base_url: &str,
    patient_id: &str,
) -> Vec<Card> {
    let link = patient_link(app_base_url, patient_id, lang);
    let mut alerts: Vec<&Alert> = report.alerts.iter().collect();
    alerts.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.code.cmp(&b.code))
    });
    // One slot is the plan card's; the rest go to the most urgent alerts.
    let room = MAX_PATIENT_VIEW_CARDS - 1;
    let dropped = alerts.len().saturating_sub(room);
    let mut cards: Vec<(Indicator, usize, Card)> = Vec::new();
    for (i, a) in alerts.iter().take(room).enumerate() {
        let message = text_of(&a.message, lang);
        let mut detail = message.clone();
        let recs: Vec<String> = report
            .recommendations
            .iter()
            .filter(|r| a.recommendation_ids.contains(&r.id))
            .map(|r| format!("- {}", text_of(&r.text, lang)))
            .collect();
        if !recs.is_empty() {
            detail.push_str(&format!(
                "\n\n**{}**\n\n{}",
                t("card", "recommendation", lang),
                recs.join("\n")
            ));
        }
        let ind = indicator(a.severity);
        cards.push((
            ind,
            i + 1,
            Card {
                uuid: Some(new_uuid()),
                summary: summary_of(&message),
                detail: Some(detail),
                indicator: ind,
                source: source(&a.code, &a.code, lang),
                suggestions: Vec::new(),
                selection_behavior: None,
                override_reasons: if ind == Indicator::Info {
                    Vec::new()
                } else {
                    override_reasons(lang)
                },
                links: vec![link.clone()],
            },
        ));
    }
    cards.push((
        Indicator::Info,
        0,
        plan_card(report, withheld, dependent, dropped, lang, link),
    ));
    // Most urgent first; among info cards the plan first.
    cards.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    cards.into_iter().map(|(_, _, c)| c).collect()
}

fn plan_card(
    report: &AssessmentReport,
    withheld: &[String],
    dependent: &[String],
    dropped: usize,
    lang: Lang,
    link: Link,
) -> Card {
    let tr = &report.treatment;
    let summary = if !withheld.is_empty() {
        tf(
            "card",
            "plan_withheld",
            lang,
            &[("fields", &field_words(withheld, lang))],
        )
    } else {
        tf(
            "card",
            "plan_summary",
            lang,
            &[("plan", &plan_word(tr.plan, lang))],
        )
    };
    let mut d: Vec<String> = Vec::new();
    // The detail opens with the report's own summary (rule 11.25), in the report's words; a part
    // that depends on a withheld field is left out, as below.
    let summary_block = plan_summary_block(report, withheld, dependent, lang);
    if !summary_block.is_empty() {
        d.push(summary_block);
    }
    if !withheld.is_empty() {
        d.push(tf(
            "card",
            "withheld_note",
            lang,
            &[("fields", &field_words(withheld, lang))],
        ));
    }
    if let Some(alt) = tr.alternative {
        d.push(tf(
            "card",
            "plan_alternative",
            lang,
            &[("plan", &plan_word(alt, lang))],
        ));
    }
    if !tr.per_level.is_empty() {
        let levels: Vec<&str> = tr.per_level.iter().map(|l| l.level.as_str()).collect();
        d.push(format!(
            "**{}**: {}",
            t("card", "levels", lang),
            levels.join(", ")
        ));
    }
    let reasons: Vec<String> = report
        .recommendations
        .iter()
        .filter(|r| r.id.starts_with("tx.") || r.id.starts_with("dx."))
        .map(|r| format!("- {}", text_of(&r.text, lang)))
        .collect();
    if !reasons.is_empty() {
        d.push(format!(
            "**{}**\n\n{}",
            t("card", "reasons", lang),
            reasons.join("\n")
        ));
    }
    if !tr.workup.is_empty() {
        let w: Vec<String> = tr
            .workup
            .iter()
            .map(|w| t("workup", &snake(w), lang))
            .collect();
        d.push(format!(
            "**{}**: {}",
            t("card", "workup", lang),
            w.join(lang.pick("、", ", "))
        ));
    }
    if !tr.missing.is_empty() {
        let m: Vec<String> = tr.missing.iter().map(|m| format!("`{m}`")).collect();
        d.push(format!(
            "**{}**: {}",
            t("card", "missing", lang),
            m.join(", ")
        ));
    }
    if !dependent.iter().any(|s| s == "pharmacotherapy") {
        let rx = &report.pharmacotherapy;
        let first = rx.recommended.iter().find(|d| d.is_antiosteoporosis());
        d.push(match first {
            Some(drug) => tf(
                "card",
                "drug_plan",
                lang,
                &[("drug", &drug_word(*drug, lang))],
            ),
            None => t("card", "drug_plan_none", lang),
        });
        if !rx.avoid.is_empty() {
            let a: Vec<String> = rx
                .avoid
                .iter()
                .map(|a| {
                    format!(
                        "{} ({})",
                        drug_word(a.drug, lang),
                        t("avoid_reason", &snake(&a.reason), lang)
                    )
                })
                .collect();
            d.push(format!(
                "**{}**: {}",
                t("card", "avoid", lang),
                a.join(lang.pick("；", "; "))
            ));
        }
    }
    if dropped > 0 {
        d.push(tf(
            "card",
            "more_alerts",
            lang,
            &[("n", &dropped.to_string())],
        ));
    }
    Card {
        uuid: Some(new_uuid()),
        summary: clamp(&summary),
        detail: Some(d.join("\n\n")),
        indicator: Indicator::Info,
        source: source("plan", tr.plan.as_str(), lang),
        suggestions: Vec::new(),
        selection_behavior: None,
        override_reasons: Vec::new(),
        links: vec![link],
    }
}

/// The summary lines of the report (ovcf-report's, so the card and the report use the same
/// words) as a Markdown list under the summary heading. Decision lines are left out when the plan
/// is withheld, drug lines when the drug plan depends on a withheld field, the next visit when the
/// follow-up does.
fn plan_summary_block(
    report: &AssessmentReport,
    withheld: &[String],
    dependent: &[String],
    lang: Lang,
) -> String {
    use ovcf_report::SummaryPart as P;
    let rlang = match lang {
        Lang::Zh => ovcf_report::Lang::Zh,
        Lang::En => ovcf_report::Lang::En,
    };
    let depends = |section: &str| dependent.iter().any(|s| s == section);
    let lines: Vec<String> = ovcf_report::summary_lines(report, rlang)
        .into_iter()
        .filter(|l| match l.part {
            P::Decision | P::Level | P::OfScore | P::UrgentActions => withheld.is_empty(),
            P::Drug | P::BlockingChecks | P::CourseEnd => !depends("pharmacotherapy"),
            P::NextVisit => !depends("follow_up"),
        })
        .map(|l| format!("- **{}**: {}", l.label, l.value))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "**{}**\n\n{}",
        ovcf_report::t(rlang, "section.summary"),
        lines.join("\n")
    )
}

/// Alerts that make an augmentation order unsafe to sign without review.
const RED_FLAG_ALERTS: [&str; 5] = [
    "suspected_pathological_fracture",
    "neurological_deficit",
    "unstable_fracture",
    "posterior_wall_retropulsion",
    "augmentation_contraindicated",
];

/// `ovcf-order-sign` cards: at most one per draft order that needs attention, most urgent first.
///
/// - ServiceRequest for vertebroplasty/kyphoplasty (CPT 22510–22515 or text): red flags (critical
///   alerts of the report), no MRI of the ordered levels, the engine's plan differs, the ordered
///   level is not planned.
/// - MedicationRequest for an anti-osteoporosis drug (ATC): the drug is in
///   `pharmacotherapy.avoid` (eGFR, denosumab with poor adherence, romosozumab after MI/stroke,
///   teriparatide beyond 24 months, …); a PTH analogue while the engine's denosumab state is
///   ongoing, overdue or in the rebound window (`ovcf_core::rules::denosumab`, the same state
///   the drug rules read); the engine defers drugs; the drug is not among the recommended ones.
///
/// Critical cards offer "remove the draft" and, where the report names one, "order the
/// alternative" (`selectionBehavior: at-most-one`) with override reasons.
pub fn order_sign_cards(
    draft_orders: &[Value],
    report: &AssessmentReport,
    request: &AssessmentRequest,
    lang: Lang,
) -> Vec<Card> {
    let mut cards: Vec<Card> = draft_orders
        .iter()
        .filter_map(|r| match crate::fhir::resource_type(r) {
            Some("ServiceRequest") => {
                augmentation_kind(r).and_then(|k| augmentation_card(r, k, report, request, lang))
            }
            Some("MedicationRequest") => medication_card(r, report, request, lang),
            _ => None,
        })
        .collect();
    cards.sort_by_key(|c| std::cmp::Reverse(c.indicator));
    cards
}

fn delete_suggestion(r: &Value, lang: Lang, recommended: bool) -> Option<Suggestion> {
    let rt = crate::fhir::resource_type(r)?;
    let id = r.get("id").and_then(Value::as_str)?;
    Some(Suggestion {
        label: t("order", "delete_draft", lang),
        uuid: Some(new_uuid()),
        is_recommended: Some(recommended),
        actions: vec![Action {
            kind: ActionType::Delete,
            description: t("order", "delete_draft", lang),
            resource: None,
            resource_id: Some(format!("{rt}/{id}")),
        }],
    })
}

/// "Remove the draft and create X" as one suggestion (actions AND-ed, deletes first).
fn replace_suggestion(r: &Value, label: String, resource: Value) -> Suggestion {
    let mut actions = Vec::new();
    if let (Some(rt), Some(id)) = (
        crate::fhir::resource_type(r),
        r.get("id").and_then(Value::as_str),
    ) {
        actions.push(Action {
            kind: ActionType::Delete,
            description: label.clone(),
            resource: None,
            resource_id: Some(format!("{rt}/{id}")),
        });
    }
    actions.push(Action {
        kind: ActionType::Create,
        description: label.clone(),
        resource: Some(resource),
        resource_id: None,
    });
    Suggestion {
        label,
        uuid: Some(new_uuid()),
        is_recommended: Some(false),
        actions,
    }
}

fn order_card(
    summary: String,
    detail: String,
    ind: Indicator,
    topic: &str,
    suggestions: Vec<Suggestion>,
    lang: Lang,
) -> Card {
    let behavior = (!suggestions.is_empty()).then_some(SelectionBehavior::AtMostOne);
    Card {
        uuid: Some(new_uuid()),
        summary: clamp(&summary),
        detail: Some(detail),
        indicator: ind,
        source: source(topic, topic, lang),
        suggestions,
        selection_behavior: behavior,
        override_reasons: if ind == Indicator::Info {
            Vec::new()
        } else {
            override_reasons(lang)
        },
        links: Vec::new(),
    }
}

fn service_request(r: &Value, text: String) -> Value {
    let mut sr = json!({
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "code": {"text": text},
    });
    for k in ["subject", "encounter", "bodySite"] {
        if let Some(v) = r.get(k) {
            sr[k] = v.clone();
        }
    }
    sr
}

fn augmentation_card(
    r: &Value,
    kind: ProcedureType,
    report: &AssessmentReport,
    request: &AssessmentRequest,
    lang: Lang,
) -> Option<Card> {
    let ordered = match kind {
        ProcedureType::Vertebroplasty => Plan::Vertebroplasty,
        ProcedureType::Kyphoplasty => Plan::Kyphoplasty,
    };
    let proc_word = plan_word(ordered, lang);
    let mut levels: Vec<Level> = r
        .get("bodySite")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(levels_of_cc)
        .collect();
    levels.sort();
    levels.dedup();
    let level_words = |ls: &[Level]| ls.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ");
    let plan = report.treatment.plan;
    let referral = service_request(r, t("order", "referral_text", lang));
    let mri = service_request(r, t("order", "mri_text", lang));

    // 1. Red flags.
    let flags: Vec<&Alert> = report
        .alerts
        .iter()
        .filter(|a| a.severity == Severity::Critical && RED_FLAG_ALERTS.contains(&a.code.as_str()))
        .collect();
    if !flags.is_empty() {
        let detail = flags
            .iter()
            .map(|a| format!("- {}", text_of(&a.message, lang)))
            .collect::<Vec<_>>()
            .join("\n");
        let mut sugg: Vec<Suggestion> = delete_suggestion(r, lang, true).into_iter().collect();
        if plan == Plan::SurgicalReferral {
            sugg.push(replace_suggestion(
                r,
                t("order", "create_referral", lang),
                referral,
            ));
        } else if report
            .treatment
            .workup
            .contains(&ovcf_core::report::Workup::Mri)
        {
            sugg.push(replace_suggestion(r, t("order", "create_mri", lang), mri));
        }
        let topic = flags.first().map_or("red_flags", |a| a.code.as_str());
        return Some(order_card(
            tf("order", "red_flags", lang, &[("procedure", &proc_word)]),
            detail,
            Indicator::Critical,
            topic,
            sugg,
            lang,
        ));
    }
    // 2. No MRI of the ordered levels (all fractures when the order names none).
    let no_mri: Vec<Level> = request
        .fractures
        .iter()
        .filter(|f| levels.is_empty() || levels.contains(&f.level))
        .filter(|f| {
            f.mri.is_none()
                && !f
                    .imaging
                    .as_deref()
                    .unwrap_or(&[])
                    .contains(&ovcf_core::request::Imaging::Mri)
        })
        .map(|f| f.level)
        .collect();
    if !no_mri.is_empty() {
        let sugg: Vec<Suggestion> = delete_suggestion(r, lang, false)
            .into_iter()
            .chain([{
                let mut s = replace_suggestion(r, t("order", "create_mri", lang), mri);
                s.is_recommended = Some(true);
                s
            }])
            .collect();
        return Some(order_card(
            tf(
                "order",
                "no_mri",
                lang,
                &[("procedure", &proc_word), ("levels", &level_words(&no_mri))],
            ),
            report
                .recommendations
                .iter()
                .filter(|x| x.id == "dx.mri_acuity")
                .map(|x| text_of(&x.text, lang))
                .collect::<Vec<_>>()
                .join("\n"),
            Indicator::Warning,
            "no_mri",
            sugg,
            lang,
        ));
    }
    // 3. The engine's plan differs.
    if plan != ordered {
        let alternative_ok = report.treatment.alternative == Some(ordered);
        let ind = if alternative_ok {
            Indicator::Info
        } else if plan == Plan::SurgicalReferral {
            Indicator::Critical
        } else {
            Indicator::Warning
        };
        let mut sugg = Vec::new();
        if ind != Indicator::Info {
            sugg.extend(delete_suggestion(r, lang, true));
            if plan == Plan::SurgicalReferral {
                sugg.push(replace_suggestion(
                    r,
                    t("order", "create_referral", lang),
                    referral,
                ));
            } else if report
                .treatment
                .workup
                .contains(&ovcf_core::report::Workup::Mri)
            {
                sugg.push(replace_suggestion(r, t("order", "create_mri", lang), mri));
            }
        }
        let reasons = report
            .recommendations
            .iter()
            .filter(|x| x.id.starts_with("tx."))
            .map(|x| format!("- {}", text_of(&x.text, lang)))
            .collect::<Vec<_>>()
            .join("\n");
        return Some(order_card(
            tf(
                "order",
                "plan_differs",
                lang,
                &[("procedure", &proc_word), ("plan", &plan_word(plan, lang))],
            ),
            reasons,
            ind,
            "plan_differs",
            sugg,
            lang,
        ));
    }
    // 4. Levels.
    if levels.is_empty() {
        return Some(order_card(
            tf("order", "no_level", lang, &[("procedure", &proc_word)]),
            String::new(),
            Indicator::Warning,
            "no_level",
            Vec::new(),
            lang,
        ));
    }
    let planned: Vec<Level> = report.treatment.per_level.iter().map(|l| l.level).collect();
    let off: Vec<Level> = levels
        .iter()
        .copied()
        .filter(|l| !planned.contains(l))
        .collect();
    if !off.is_empty() {
        return Some(order_card(
            tf(
                "order",
                "level_not_planned",
                lang,
                &[("procedure", &proc_word), ("levels", &level_words(&off))],
            ),
            format!("{}: {}", t("card", "levels", lang), level_words(&planned)),
            Indicator::Warning,
            "level_not_planned",
            delete_suggestion(r, lang, false).into_iter().collect(),
            lang,
        ));
    }
    None
}

fn medication_request(r: &Value, drug: Drug, lang: Lang) -> Option<Value> {
    let atc = codes::drug_atc(drug)?;
    let en = t("drug", drug.as_str(), Lang::En);
    let mut mr = json!({
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": codes::ATC, "code": atc, "display": en}],
            "text": drug_word(drug, lang),
        },
    });
    for k in ["subject", "encounter"] {
        if let Some(v) = r.get(k) {
            mr[k] = v.clone();
        }
    }
    Some(mr)
}

fn medication_card(
    r: &Value,
    report: &AssessmentReport,
    request: &AssessmentRequest,
    lang: Lang,
) -> Option<Card> {
    // ATC, RxNorm or a local code of the code map (contained Medication followed).
    let drug = crate::mapping::medication_drug(r)?;
    if !drug.is_antiosteoporosis() {
        return None;
    }
    let rx = &report.pharmacotherapy;
    let word = drug_word(drug, lang);
    let first =
        rx.recommended.iter().copied().find(|d| {
            d.is_antiosteoporosis() && *d != drug && !rx.avoid.iter().any(|a| a.drug == *d)
        });
    let alternative = |label_lang: Lang| -> Option<Suggestion> {
        let alt = first?;
        let res = medication_request(r, alt, label_lang)?;
        Some(replace_suggestion(
            r,
            tf(
                "order",
                "create_alternative",
                label_lang,
                &[("alternative", &drug_word(alt, label_lang))],
            ),
            res,
        ))
    };
    let sequence = {
        let mut seq: Vec<String> = rx
            .recommended
            .iter()
            .filter(|d| d.is_antiosteoporosis())
            .map(|d| drug_word(*d, lang))
            .collect();
        seq.extend(rx.then.iter().map(|d| drug_word(*d, lang)));
        seq.join(" → ")
    };
    // 1. Avoided by the engine.
    if let Some(a) = rx.avoid.iter().find(|a| a.drug == drug) {
        let reason = t("avoid_reason", &snake(&a.reason), lang);
        let detail = report
            .recommendations
            .iter()
            .filter(|x| x.id.starts_with("drug."))
            .map(|x| format!("- {}", text_of(&x.text, lang)))
            .collect::<Vec<_>>()
            .join("\n");
        let sugg = delete_suggestion(r, lang, true)
            .into_iter()
            .chain(alternative(lang))
            .collect();
        return Some(order_card(
            tf(
                "order",
                "drug_avoid",
                lang,
                &[("drug", &word), ("reason", &reason)],
            ),
            detail,
            Indicator::Critical,
            &snake(&a.reason),
            sugg,
            lang,
        ));
    }
    // 2. PTH analogue straight after denosumab.
    if drug.is_pth_analogue() && denosumab_recent(request, report.as_of) {
        let sugg = delete_suggestion(r, lang, true)
            .into_iter()
            .chain(alternative(lang))
            .collect();
        return Some(order_card(
            tf("order", "dmab_to_pth", lang, &[("drug", &word)]),
            tf("order", "dmab_to_pth_detail", lang, &[("plan", &sequence)]),
            Indicator::Critical,
            "denosumab_to_pth_switch",
            sugg,
            lang,
        ));
    }
    // 2b. Renal function unknown and the engine avoids this drug with low renal function.
    if crate::assess::renal_dependent_unknown(request, drug, report.as_of) {
        return Some(order_card(
            tf("card", "renal_unknown", lang, &[("drug", &word)]),
            tf("card", "renal_unknown_detail", lang, &[("drug", &word)]),
            Indicator::Warning,
            "renal_function_unknown",
            delete_suggestion(r, lang, false).into_iter().collect(),
            lang,
        ));
    }
    // 3. Drugs deferred.
    if rx.start == StartTiming::Deferred {
        return Some(order_card(
            tf("order", "drug_deferred", lang, &[("drug", &word)]),
            rx.deferred_reason.map(|d| snake(&d)).unwrap_or_default(),
            Indicator::Warning,
            "drug_deferred",
            delete_suggestion(r, lang, false).into_iter().collect(),
            lang,
        ));
    }
    // 4. Not among the recommended drugs.
    if !rx.recommended.contains(&drug) && !rx.then.contains(&drug) {
        let first_word =
            first.map_or_else(|| t("card", "drug_plan_none", lang), |d| drug_word(d, lang));
        let sugg = delete_suggestion(r, lang, false)
            .into_iter()
            .chain(alternative(lang))
            .collect();
        return Some(order_card(
            tf(
                "order",
                "drug_not_recommended",
                lang,
                &[("drug", &word), ("first", &first_word)],
            ),
            sequence,
            Indicator::Warning,
            "drug_not_recommended",
            sugg,
            lang,
        ));
    }
    None
}

/// A PTH analogue now would follow denosumab: the engine's denosumab state (every entry, rules
/// 5.7, 10.3, 10.4, 10.10, 11.28) is ongoing, overdue or in the rebound window — the states in
/// which the rules never choose a PTH analogue as the next drug. No threshold of its own.
fn denosumab_recent(request: &AssessmentRequest, as_of: ovcf_core::Date) -> bool {
    let Ok(k) = ovcf_core::knowledge::Knowledge::embedded() else {
        // Without the knowledge base no assessment was made either; fail towards the warning.
        return request
            .medications
            .iter()
            .any(|m| m.drug == Drug::Denosumab);
    };
    let state =
        ovcf_core::rules::denosumab::history(&request.medications, as_of, &k.thresholds).state;
    state.ongoing() || state == ovcf_core::rules::denosumab::DenosumabState::Rebound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(
            summary_of("L1: X-ray only. Radiographs miss fractures."),
            "L1: X-ray only."
        );
        assert_eq!(
            summary_of("T12 仅有 X 线平片：无法判断。请行 MRI。"),
            "T12 仅有 X 线平片：无法判断。"
        );
        assert_eq!(
            summary_of("Short. Then more text here."),
            "Short. Then more text here."
        );
        let long = "x".repeat(300);
        let s = summary_of(&long);
        assert_eq!(s.chars().count(), SUMMARY_LIMIT - 1);
        assert!(s.ends_with('…'));
        assert_eq!(summary_of("3.5 mg. Done"), "3.5 mg. Done");
    }
}
