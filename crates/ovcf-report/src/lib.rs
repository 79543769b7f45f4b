//! Renders an [`AssessmentReport`] for the clinician: plain text ([`render_text`]) and one
//! self-contained printable HTML page ([`render_html`]), in Chinese or English.
//!
//! The report reads like a consultation note: the one-screen summary first (rule 11.25: decision,
//! per-level procedure, urgent actions, drug with dose and blocking checks, course end, next
//! visit), then alerts, diagnosis, bone density, the plan with its reasons, the acute-phase or
//! perioperative orders, the drug plan, risks, the standard-of-care bundle, the follow-up
//! calendar, procedure checks, external risk tools and the inputs the engine assumed; the
//! "Evidence and sources" appendix (recommendations with their grades, references) last, and the
//! decision trace only with `explain`. Rule ids, report paths and knowledge hashes appear only
//! with `explain`.
//!
//! Every word not already bilingual in the report comes from the single i18n catalogue
//! `knowledge/i18n.toml` through [`t`]; enumeration values are looked up by their contract code
//! (`plan.kyphoplasty`, `drug.denosumab`, …). A key the catalogue lacks shows as the key itself,
//! never a panic, and the tests fail on it. Factor codes are an open set: an unknown code shows as
//! the code.
//!
//! Architecture: `doc` turns the report into a language-resolved document (sections of blocks);
//! `text` and `html` only lay that document out, so both formats always carry the same content.

mod doc;
mod html;
mod i18n;
mod text;

use std::fmt;
use std::str::FromStr;

use ovcf_core::report::AssessmentReport;

pub use i18n::t;

/// Report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Simplified Chinese (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The code accepted by [`FromStr`]: `zh` or `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A language code other than `zh` or `en`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: expected `zh` or `en`")]
pub struct ParseLangError(pub String);

impl FromStr for Lang {
    type Err = ParseLangError;

    fn from_str(s: &str) -> Result<Lang, ParseLangError> {
        match s {
            "zh" => Ok(Lang::Zh),
            "en" => Ok(Lang::En),
            other => Err(ParseLangError(other.to_owned())),
        }
    }
}

/// How to render a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenderOptions {
    pub lang: Lang,
    /// Adds the decision trace ("Why / 决策依据"), as `--explain` does.
    pub explain: bool,
}

/// The report as a plain-text consultation note.
pub fn render_text(report: &AssessmentReport, opts: &RenderOptions) -> String {
    text::render(&doc::build(report, opts))
}

/// The report as one self-contained, printable HTML page (inline CSS, no scripts, no external
/// resources).
pub fn render_html(report: &AssessmentReport, opts: &RenderOptions) -> String {
    html::render(&doc::build(report, opts))
}

/// The report's sections and footer as an HTML fragment (no `<html>`, header or styles), for a
/// page that frames it (the web application). Style it with [`REPORT_CSS`]. On screen the
/// summary comes first, then the plan (with its reasons), the alerts by severity and the rest in
/// report order; the evidence appendix is collapsed.
pub fn render_html_fragment(report: &AssessmentReport, opts: &RenderOptions) -> String {
    let mut d = doc::build(report, opts);
    if let Some(i) = d.sections.iter().position(|s| s.id == "plan") {
        let plan = d.sections.remove(i);
        let at = usize::from(d.sections.first().is_some_and(|s| s.id == "summary"));
        d.sections.insert(at, plan);
    }
    html::render_fragment(&d)
}

/// The printable page of [`render_html`] with identifying lines first in its header (e.g. the
/// patient's name and MRN for a stored assessment), as `(label, value)` pairs already in the
/// report's language. They are escaped like all report text.
pub fn render_html_with_header(
    report: &AssessmentReport,
    opts: &RenderOptions,
    header: &[(String, String)],
) -> String {
    let mut d = doc::build(report, opts);
    d.meta.splice(0..0, header.iter().cloned());
    html::render(&d)
}

/// Which value of the summary a [`SummaryLine`] shows (rule 11.25's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryPart {
    /// Plan, urgency and treated levels.
    Decision,
    /// One augmented level: procedure, approach, cement.
    Level,
    /// The OF-score agreement with the plan.
    OfScore,
    UrgentActions,
    /// The first-choice drug with its dose and when it starts.
    Drug,
    BlockingChecks,
    CourseEnd,
    NextVisit,
}

/// One labelled line of the one-screen summary, in the report's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryLine {
    pub part: SummaryPart,
    pub label: String,
    pub value: String,
}

/// The summary the text and HTML reports open with (rule 11.25), as lines, for a page or card
/// that lays it out itself (the CDS plan card). Same words as the report.
pub fn summary_lines(report: &AssessmentReport, lang: Lang) -> Vec<SummaryLine> {
    doc::summary_lines(report, lang)
}

/// The report's stylesheet (screen and print), as embedded in [`render_html`].
pub const REPORT_CSS: &str = html::CSS;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
