//! The report as a language-resolved document: sections of blocks, in the order a consultation
//! note reads. Both renderers (text and HTML) draw this one document, so they never disagree on
//! content or order; they differ only in layout.

use std::collections::BTreeSet;

use ovcf_core::knowledge::Knowledge;
use ovcf_core::report::{
    AssessmentReport, BoneDensityFinding, Dose, Dosing, FractureFinding, GradeOrigin,
    MobilisationPlan, OfItemStatus, OfScoreAgreement, Outcome, PeriopContext, PreDoseCheckCode,
    Severity, StartTiming, Text,
};
use ovcf_core::request::Drug;

use crate::i18n::{code, t, tf, word, word_open};
use crate::{Lang, RenderOptions, SummaryLine, SummaryPart};

/// A rendered-language report.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub lang: Lang,
    pub title: String,
    pub subtitle: String,
    pub meta: Vec<(String, String)>,
    pub sections: Vec<Section>,
    pub footer: String,
    /// The short "technical details" line (engine version; the knowledge version with `explain`).
    pub technical: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// Stable identifier (HTML `id`, CSS hooks).
    pub id: &'static str,
    pub heading: String,
    pub blocks: Vec<Block>,
    /// An appendix: collapsed (`<details>`) in HTML.
    pub collapsible: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Block {
    /// Label–value pairs.
    Fields(Vec<(String, String)>),
    /// A sub-heading within a section.
    Heading(String),
    Para(String),
    /// Secondary, smaller text.
    Note(String),
    List(Vec<Item>),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Bars(Vec<Bar>),
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub marks: Vec<Mark>,
    pub text: String,
    pub details: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Mark {
    pub kind: MarkKind,
    pub label: String,
    /// Longer text shown on hover or focus (a grade's full source citations).
    pub title: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkKind {
    Critical,
    Warning,
    Info,
    Grade,
    Provisional,
    FirstChoice,
    Applied,
    NotApplied,
}

impl MarkKind {
    pub fn css(self) -> &'static str {
        match self {
            MarkKind::Critical => "critical",
            MarkKind::Warning => "warning",
            MarkKind::Info => "info",
            MarkKind::Grade => "grade",
            MarkKind::Provisional => "provisional",
            MarkKind::FirstChoice => "first",
            MarkKind::Applied => "applied",
            MarkKind::NotApplied => "not-applied",
        }
    }
}

/// One bar of a chart: `fraction` of the full width (0–1), with its printed value.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub label: String,
    pub fraction: f64,
    pub value: String,
}

impl Item {
    fn plain(text: String) -> Item {
        Item {
            marks: Vec::new(),
            text,
            details: Vec::new(),
        }
    }
}

/// Builds the document for `report` in `opts.lang`: the summary first, then the clinical
/// sections, the assumptions, and the evidence appendix (recommendations and references) last;
/// the decision trace only with `explain`.
pub(crate) fn build(report: &AssessmentReport, opts: &RenderOptions) -> Doc {
    let b = Builder {
        lang: opts.lang,
        report,
        explain: opts.explain,
    };
    let mut sections = vec![
        b.summary(),
        b.alerts(),
        b.diagnosis(),
        b.bone_density(&report.bone_density),
        b.plan(),
        b.perioperative(),
        b.drugs(),
        b.risks(),
        b.care_bundle(),
        b.follow_up(),
    ];
    sections.extend(b.procedure_checks());
    sections.extend(b.risk_tools());
    sections.push(b.assumptions());
    sections.push(b.evidence());
    if opts.explain {
        sections.push(b.explain());
    }
    Doc {
        lang: opts.lang,
        title: t(opts.lang, "report.title").to_owned(),
        subtitle: t(opts.lang, "report.subtitle").to_owned(),
        meta: b.meta(),
        sections,
        footer: t(opts.lang, "report.disclaimer").to_owned(),
        technical: b.technical(),
    }
}

/// The summary's lines for `report` in `lang` (see [`crate::summary_lines`]).
pub(crate) fn summary_lines(report: &AssessmentReport, lang: Lang) -> Vec<SummaryLine> {
    Builder {
        lang,
        report,
        explain: false,
    }
    .summary_lines()
}

/// A number with at most one decimal, no trailing `.0`.
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_owned();
    }
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// A fraction (0–1) as a percentage number, e.g. `0.3` → `30`.
fn pct(fraction: f64) -> String {
    num(fraction * 100.0)
}

/// The text in `lang`, falling back to the other language when it is empty.
pub(crate) fn pick(lang: Lang, text: &Text) -> &str {
    let (first, second) = match lang {
        Lang::Zh => (&text.zh, &text.en),
        Lang::En => (&text.en, &text.zh),
    };
    if first.trim().is_empty() {
        second
    } else {
        first
    }
}

/// `3.2#5 (contraindication)` → `r3_2_5_contraindication`.
fn rule_key(rule: &str) -> String {
    let mut out = String::from("r");
    for c in rule.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

fn fact_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Builder<'a> {
    lang: Lang,
    report: &'a AssessmentReport,
    explain: bool,
}

impl Builder<'_> {
    fn t(&self, key: &str) -> &'static str {
        t(self.lang, key)
    }

    fn tf(&self, key: &str, params: &[(&str, &str)]) -> String {
        tf(self.lang, key, params)
    }

    fn join<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, items: I) -> String {
        let sep = self.t("report.list_separator");
        let parts: Vec<String> = items.into_iter().map(|s| s.as_ref().to_owned()).collect();
        if parts.is_empty() {
            self.t("report.none").to_owned()
        } else {
            parts.join(sep)
        }
    }

    /// `a, b and c` / `a、b、c`.
    fn join_and<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, items: I) -> String {
        let parts: Vec<String> = items.into_iter().map(|s| s.as_ref().to_owned()).collect();
        match parts.split_last() {
            None => self.t("report.none").to_owned(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!(
                "{}{}{last}",
                rest.join(self.t("report.list_separator")),
                self.t("report.and")
            ),
        }
    }

    fn yes_no(&self, v: Option<bool>) -> &'static str {
        match v {
            Some(true) => self.t("bool.yes"),
            Some(false) => self.t("bool.no"),
            None => self.t("bool.unknown"),
        }
    }

    fn section(&self, id: &'static str, blocks: Vec<Block>) -> Section {
        Section {
            id,
            heading: self.t(&format!("section.{id}")).to_owned(),
            blocks,
            collapsible: false,
        }
    }

    fn meta(&self) -> Vec<(String, String)> {
        let r = self.report;
        vec![
            (self.t("report.as_of").to_owned(), r.as_of.to_string()),
            (
                self.t("report.phase").to_owned(),
                word_open(self.lang, "phase", &r.phase),
            ),
        ]
    }

    /// Engine version always; the knowledge-base hash only with `explain` (rule 11.25 readability:
    /// no `kb-…` in the default outputs).
    fn technical(&self) -> String {
        let r = self.report;
        let colon = self.t("report.colon");
        let mut parts = vec![format!(
            "{}{colon}{}",
            self.t("report.engine_version"),
            r.engine_version
        )];
        if self.explain {
            parts.push(format!(
                "{}{colon}{}",
                self.t("report.knowledge_version"),
                r.knowledge_version
            ));
        }
        format!(
            "{}{colon}{}",
            self.t("report.technical"),
            parts.join(self.t("report.separator"))
        )
    }

    fn alerts(&self) -> Section {
        let mut alerts: Vec<_> = self.report.alerts.iter().collect();
        // Stable: the engine's order (by code) is kept within a severity.
        alerts.sort_by_key(|a| std::cmp::Reverse(a.severity));
        let blocks = if alerts.is_empty() {
            vec![Block::Para(self.t("alerts.none").to_owned())]
        } else {
            let items = alerts
                .iter()
                .map(|a| {
                    let kind = match a.severity {
                        Severity::Critical => MarkKind::Critical,
                        Severity::Warning => MarkKind::Warning,
                        Severity::Info => MarkKind::Info,
                    };
                    Item {
                        marks: vec![Mark {
                            kind,
                            label: word(self.lang, "severity", &a.severity).to_owned(),
                            title: None,
                        }],
                        text: pick(self.lang, &a.message).to_owned(),
                        details: Vec::new(),
                    }
                })
                .collect();
            vec![Block::List(items)]
        };
        self.section("alerts", blocks)
    }

    fn genant(&self, f: &FractureFinding) -> String {
        match f.genant_grade {
            Some(g) => self.tf("genant.grade", &[("n", &g.to_string())]),
            None => "—".to_owned(),
        }
    }

    fn height_loss(&self, f: &FractureFinding) -> String {
        match (f.height_loss_pct, f.height_loss_mm) {
            (Some(p), Some(mm)) => format!("{} % ({} mm)", num(p), num(mm)),
            (Some(p), None) => format!("{} %", num(p)),
            (None, Some(mm)) => format!("{} mm", num(mm)),
            (None, None) => "—".to_owned(),
        }
    }

    fn diagnosis(&self) -> Section {
        let lang = self.lang;
        let fractures = &self.report.fractures;
        if fractures.is_empty() {
            return self.section(
                "diagnosis",
                vec![Block::Para(self.t("dx.no_fractures").to_owned())],
            );
        }
        let header = [
            "dx.level",
            "dx.height_loss",
            "dx.genant",
            "dx.morphology",
            "dx.acuity",
            "dx.marrow_edema",
            "dx.pathological",
            "dx.class",
            "dx.treated",
        ]
        .iter()
        .map(|k| self.t(k).to_owned())
        .collect();
        let rows = fractures
            .iter()
            .map(|f| {
                let edema = match f.marrow_edema {
                    Some(true) => self.t("edema.yes"),
                    Some(false) => self.t("edema.no"),
                    None => self.t("edema.unknown"),
                };
                vec![
                    f.level.to_string(),
                    self.height_loss(f),
                    self.genant(f),
                    f.morphology
                        .map_or_else(|| "—".to_owned(), |m| word(lang, "morphology", &m).into()),
                    word(lang, "acuity", &f.acuity).to_owned(),
                    edema.to_owned(),
                    self.yes_no(Some(f.suspected_pathological)).to_owned(),
                    word(lang, "class", &f.class).to_owned(),
                    self.yes_no(Some(f.treated)).to_owned(),
                ]
            })
            .collect();
        let mut blocks = vec![Block::Table { header, rows }];

        blocks.push(Block::Heading(self.t("dx.of_score").to_owned()));
        let of_items = fractures
            .iter()
            .filter_map(|f| f.of_score.as_ref().map(|s| (f, s)))
            .map(|(f, s)| {
                let points = match s.points {
                    Some(p) => self.tf("of.points", &[("n", &p.to_string())]),
                    None => self.tf(
                        "of.range",
                        &[
                            ("min", &s.min_points.to_string()),
                            ("max", &s.max_points.to_string()),
                        ],
                    ),
                };
                let interp = word(lang, "of.interpretation", &s.interpretation);
                let unknown: Vec<String> = s
                    .items
                    .iter()
                    .filter(|i| i.status == OfItemStatus::Unknown)
                    .map(|i| {
                        let name = word_open(lang, "of_item", &i.item);
                        match i.range {
                            Some([lo, hi]) => format!("{name} ({lo:+}…{hi:+})"),
                            None => name,
                        }
                    })
                    .collect();
                let mut details = Vec::new();
                if !unknown.is_empty() {
                    details.push(format!(
                        "{}{}{}",
                        self.t("of.unknown_items"),
                        self.t("report.colon"),
                        self.join(&unknown)
                    ));
                }
                Item {
                    marks: Vec::new(),
                    text: format!("{}{}{points} → {interp}", f.level, self.t("report.colon")),
                    details,
                }
            })
            .collect();
        blocks.push(Block::List(of_items));
        blocks.push(Block::Note(self.t("dx.of_score_note").to_owned()));

        let sourced: Vec<Item> = fractures
            .iter()
            .filter_map(|f| {
                let s = f.finding_source.as_ref()?;
                let mut parts = vec![format!(
                    "{}{}{}",
                    self.t("finding.method"),
                    self.t("report.colon"),
                    word(lang, "finding_method", &s.method)
                )];
                if let Some(d) = &s.device {
                    parts.push(format!(
                        "{}{}{d}",
                        self.t("finding.device"),
                        self.t("report.colon")
                    ));
                }
                if let Some(v) = &s.version {
                    parts.push(format!(
                        "{}{}{v}",
                        self.t("finding.version"),
                        self.t("report.colon")
                    ));
                }
                if let Some(c) = s.confidence {
                    parts.push(format!(
                        "{}{}{c:.2}",
                        self.t("finding.confidence"),
                        self.t("report.colon")
                    ));
                }
                Some(Item::plain(format!(
                    "{}{}{}",
                    f.level,
                    self.t("report.colon"),
                    parts.join(self.t("report.separator"))
                )))
            })
            .collect();
        if !sourced.is_empty() {
            blocks.push(Block::Heading(self.t("dx.finding_source").to_owned()));
            blocks.push(Block::List(sourced));
        }
        self.section("diagnosis", blocks)
    }

    fn bone_density(&self, bd: &BoneDensityFinding) -> Section {
        let lang = self.lang;
        let na = || self.t("report.not_assessed").to_owned();
        let lowest = match bd.lowest_t_score {
            Some(tv) => match &bd.lowest_t_site {
                Some(site) => format!("{} ({})", num(tv), word_open(lang, "site", site)),
                None => num(tv),
            },
            None => na(),
        };
        let fields = vec![
            (
                self.t("bd.dxa_category").to_owned(),
                bd.dxa_category
                    .map_or_else(na, |c| word(lang, "dxa", &c).to_owned()),
            ),
            (self.t("bd.lowest_t").to_owned(), lowest),
            (
                self.t("bd.qct_category").to_owned(),
                bd.qct_category
                    .map_or_else(na, |c| word(lang, "qct", &c).to_owned()),
            ),
            (
                self.t("bd.ct_category").to_owned(),
                bd.ct_category
                    .map_or_else(na, |c| word(lang, "ct", &c).to_owned()),
            ),
            (
                self.t("bd.diagnosis").to_owned(),
                bd.diagnosis.map_or_else(
                    || self.t("bd.diagnosis_pending").to_owned(),
                    |d| word(lang, "diagnosis", &d).to_owned(),
                ),
            ),
        ];
        self.section("bone_density", vec![Block::Fields(fields)])
    }

    /// For the applied explanation entries of one decision: the rule in words (catalogue
    /// `rule_text.*`). The rule number and the facts it used are shown only with `explain`.
    fn basis(&self, decision: &str) -> Vec<String> {
        self.report
            .explanation
            .iter()
            .filter(|e| e.decision == decision && e.outcome == Outcome::Applied)
            // The basis is said in words only; rule ids and their facts belong to the decision
            // trace (`--explain`, the web page's "why" panel), never to the clinical sections.
            .filter_map(|e| {
                crate::i18n::lookup(self.lang, &format!("rule_text.{}", rule_key(&e.rule)))
                    .map(str::to_owned)
            })
            .collect()
    }

    fn paren(&self, a: &str, b: &str) -> String {
        self.tf("report.paren", &[("a", a), ("b", b)])
    }

    fn drug(&self, d: &Drug) -> &'static str {
        word(self.lang, "drug", d)
    }

    /// A report path (`fractures[0].posterior_wall`) in words: the form's label of the field,
    /// with the fracture's level for a per-fracture field. Never the path itself.
    pub(crate) fn field_label(&self, path: &str) -> String {
        let mut level = None;
        let mut key = String::from("form.f");
        for seg in path.split('.') {
            let (name, index) = match seg.split_once('[') {
                Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
                None => (seg, None),
            };
            if name == "fractures" {
                level = index
                    .and_then(|i| self.report.fractures.get(i))
                    .map(|f| f.level.to_string());
            }
            key.push('.');
            key.push_str(name);
        }
        let label = crate::i18n::lookup(self.lang, &key).map_or_else(
            || {
                path.rsplit('.')
                    .next()
                    .unwrap_or(path)
                    .split('[')
                    .next()
                    .unwrap_or(path)
                    .replace('_', " ")
            },
            str::to_owned,
        );
        match level {
            Some(l) => format!("{l} {label}"),
            None => label,
        }
    }

    /// `zoledronic acid 5 mg by intravenous infusion, every 12 months`.
    fn dose_line(&self, drug: &Drug, d: &Dosing) -> String {
        let amount = match &d.dose {
            Dose::Amount(x) => match &d.unit {
                Some(u) => format!("{} {u}", num(*x)),
                None => num(*x),
            },
            Dose::CalciumVitaminD {
                calcium_mg_day,
                vitamin_d_iu_day,
            } => self.tf(
                "rx.calcium_vitamin_d_dose",
                &[
                    ("ca", &num(*calcium_mg_day)),
                    ("vd", &num(*vitamin_d_iu_day)),
                ],
            ),
        };
        self.tf(
            "rx.dose_line",
            &[
                ("drug", self.drug(drug)),
                ("amount", &amount),
                ("route", word(self.lang, "route", &d.route)),
                ("interval", word(self.lang, "interval", &d.interval)),
            ],
        )
    }

    /// When the first-choice drug starts, in words, with the checks it waits for.
    fn start_text(&self, blocking: &[PreDoseCheckCode]) -> String {
        let ph = &self.report.pharmacotherapy;
        let mut out = match ph.start {
            StartTiming::AfterChecks if !blocking.is_empty() => self.tf(
                "start.after_checks_list",
                &[(
                    "checks",
                    &self.join_and(
                        blocking
                            .iter()
                            .map(|c| word(self.lang, "pre_dose_check", c)),
                    ),
                )],
            ),
            other => word(self.lang, "start", &other).to_owned(),
        };
        if let Some(r) = ph.deferred_reason {
            out = self.paren(&out, word(self.lang, "deferred", &r));
        }
        if let Some(d) = ph.start_date {
            out.push_str(&self.tf("start.from_date", &[("date", &d.to_string())]));
        }
        out
    }

    /// `teriparatide: 2 months remaining (24 months in total on 2027-01-20), then denosumab`.
    fn course_end_text(&self) -> Option<String> {
        let ce = self.report.pharmacotherapy.course_end.as_ref()?;
        let mut out = self.tf(
            "rx.remaining",
            &[
                ("drug", self.drug(&ce.drug)),
                ("n", &ce.months_remaining.to_string()),
            ],
        );
        match ce.date {
            Some(date) => {
                let total = course_total_months(ce.drug);
                match total {
                    Some(total) => out.push_str(&self.tf(
                        "rx.remaining_total",
                        &[("date", &date.to_string()), ("total", &total)],
                    )),
                    None => out = self.paren(&out, &date.to_string()),
                }
            }
            None => out.push_str(self.t("rx.remaining_undated")),
        }
        if let Some(next) = ce.switch_to {
            out.push_str(&self.tf("rx.switch_to", &[("drug", self.drug(&next))]));
        }
        Some(out)
    }

    fn of_agreement_text(&self) -> String {
        let tr = &self.report.treatment;
        match tr.of_score_agreement {
            OfScoreAgreement::Disagrees => self.tf(
                "of_agreement.disagrees",
                &[(
                    "levels",
                    &self.join(tr.of_score_disagreeing_levels.iter().map(|l| l.to_string())),
                )],
            ),
            other => word(self.lang, "of_agreement", &other).to_owned(),
        }
    }

    /// An urgent-action code of the summary: a `treatment.urgent_actions` code or the code of a
    /// critical alert, in words.
    fn urgent_word(&self, code: &str) -> String {
        if let Some(w) = crate::i18n::lookup(self.lang, &format!("urgent_action.{code}")) {
            return w.to_owned();
        }
        if let Some(w) = crate::i18n::lookup(self.lang, &format!("alert_code.{code}")) {
            return w.to_owned();
        }
        // An alert code the catalogue lacks: its message, never a bare code.
        self.report
            .alerts
            .iter()
            .find(|a| a.code == code)
            .map_or_else(
                || code.to_owned(),
                |a| pick(self.lang, &a.message).to_owned(),
            )
    }

    fn visit_text(&self, f: &ovcf_core::report::FollowUp) -> String {
        let mut items = self.join(f.items.iter().map(|i| word(self.lang, "fu_item", i)));
        if let Some(d) = f.switch_to {
            items = format!(
                "{items}{}{}",
                self.t("report.separator"),
                self.tf("fu.switch_to", &[("drug", self.drug(&d))])
            );
        }
        match f.at_months {
            Some(n) => self.tf(
                "fu.visit",
                &[
                    ("due", &f.due.to_string()),
                    ("when", &self.tf("fu.at_months", &[("n", &n.to_string())])),
                    ("items", &items),
                ],
            ),
            None => self.tf(
                "fu.visit_dated",
                &[("due", &f.due.to_string()), ("items", &items)],
            ),
        }
    }

    /// The one-screen summary (rule 11.25) as a section.
    fn summary(&self) -> Section {
        let fields = self
            .summary_lines()
            .into_iter()
            .map(|l| (l.label, l.value))
            .collect();
        self.section("summary", vec![Block::Fields(fields)])
    }

    /// The 15 values of `report.summary`, in their order, as labelled lines.
    pub(crate) fn summary_lines(&self) -> Vec<SummaryLine> {
        let lang = self.lang;
        let s = &self.report.summary;
        let colon = self.t("report.colon");
        let sep = self.t("report.separator");
        let mut fields: Vec<SummaryLine> = Vec::new();
        let mut push = |part: SummaryPart, label: String, value: String| {
            fields.push(SummaryLine { part, label, value });
        };
        let mut plan = word(lang, "plan", &s.decision.plan).to_owned();
        if let Some(u) = s.decision.urgency {
            plan = self.paren(&plan, word(lang, "urgency", &u));
        }
        if !s.decision.treated_levels.is_empty() {
            plan = format!(
                "{plan}{sep}{}",
                self.tf(
                    "summary.treated",
                    &[(
                        "levels",
                        &self.join(s.decision.treated_levels.iter().map(|l| l.to_string()))
                    )]
                )
            );
        }
        push(
            SummaryPart::Decision,
            self.t("summary.plan").to_owned(),
            plan,
        );
        for l in &s.levels {
            let mut parts = vec![word(lang, "plan", &l.procedure).to_owned()];
            parts.push(
                l.approach
                    .map_or_else(
                        || self.t("approach.unspecified"),
                        |a| word(lang, "approach", &a),
                    )
                    .to_owned(),
            );
            parts.push(
                match (l.cement_min_ml, l.cement_max_ml, l.max_fill_fraction) {
                    (Some(min), Some(max), Some(f)) => self.tf(
                        "plan_field.cement",
                        &[("min", &num(min)), ("max", &num(max)), ("pct", &pct(f))],
                    ),
                    _ => self.t("plan_field.no_cement").to_owned(),
                },
            );
            push(SummaryPart::Level, l.level.to_string(), parts.join(sep));
        }
        push(
            SummaryPart::OfScore,
            self.t("plan_field.of_agreement").to_owned(),
            self.of_agreement_text(),
        );
        if !s.urgent_actions.is_empty() {
            push(
                SummaryPart::UrgentActions,
                self.t("summary.urgent").to_owned(),
                s.urgent_actions
                    .iter()
                    .map(|c| self.urgent_word(c))
                    .collect::<Vec<_>>()
                    .join(sep),
            );
        }
        let drug = match s.drug.name {
            Some(d) => {
                let name = match &s.drug.dose {
                    Some(dose) => self.dose_line(&d, dose),
                    None => self.drug(&d).to_owned(),
                };
                format!("{name} — {}", self.start_text(&s.drug.blocking_checks))
            }
            None => self.t("summary.no_drug").to_owned(),
        };
        push(SummaryPart::Drug, self.t("summary.drug").to_owned(), drug);
        if !s.drug.blocking_checks.is_empty() {
            let ph = &self.report.pharmacotherapy;
            let checks = s.drug.blocking_checks.iter().map(|c| {
                let req = ph
                    .pre_dose_checks
                    .iter()
                    .find(|p| p.code == *c && Some(p.drug) == s.drug.name)
                    .map(|p| word(lang, "requirement", &p.requirement));
                match req {
                    Some(r) => format!("{}{colon}{r}", word(lang, "pre_dose_check", c)),
                    None => word(lang, "pre_dose_check", c).to_owned(),
                }
            });
            let checks = checks.collect::<Vec<_>>().join(sep);
            push(
                SummaryPart::BlockingChecks,
                self.t("summary.blocking").to_owned(),
                checks,
            );
        }
        if let Some(date) = s.drug.course_end {
            let text = self
                .course_end_text()
                .filter(|t| t.contains(&date.to_string()))
                .unwrap_or_else(|| date.to_string());
            push(
                SummaryPart::CourseEnd,
                self.t("summary.course_end").to_owned(),
                text,
            );
        }
        let next = match s.next_visit.due {
            Some(due) => {
                let items = self.join(s.next_visit.items.iter().map(|i| word(lang, "fu_item", i)));
                format!("{due}{colon}{items}")
            }
            None => self.t("fu.none_next").to_owned(),
        };
        push(
            SummaryPart::NextVisit,
            self.t("summary.next_visit").to_owned(),
            next,
        );
        fields
    }

    fn plan(&self) -> Section {
        let lang = self.lang;
        let tr = &self.report.treatment;
        let mut plan = word(lang, "plan", &tr.plan).to_owned();
        if let Some(u) = tr.urgency {
            plan = self.paren(&plan, word(lang, "urgency", &u));
        }
        let mut fields = vec![(self.t("plan_field.plan").to_owned(), plan)];
        if let Some(alt) = tr.alternative {
            fields.push((
                self.t("plan_field.alternative").to_owned(),
                word(lang, "plan", &alt).to_owned(),
            ));
        }
        fields.push((
            self.t("plan_field.of_agreement").to_owned(),
            self.of_agreement_text(),
        ));
        if let Some(timing) = tr.timing {
            fields.push((
                self.t("plan_field.timing").to_owned(),
                word(lang, "timing", &timing).to_owned(),
            ));
        }
        let mut basis = self.basis("treatment.plan");
        basis.extend(self.basis("treatment.procedure"));
        if !basis.is_empty() {
            fields.push((
                self.t("plan_field.basis").to_owned(),
                basis.join(self.t("report.separator")),
            ));
        }
        if !tr.urgent_actions.is_empty() {
            fields.push((
                self.t("plan_field.urgent_actions").to_owned(),
                tr.urgent_actions
                    .iter()
                    .map(|a| word(lang, "urgent_action", a))
                    .collect::<Vec<_>>()
                    .join(self.t("report.separator")),
            ));
        }
        if let Some(c) = &tr.corticosteroid {
            let dose = num(c.dose_mg);
            let drug = word_open(lang, "drug", &c.drug);
            let mut text = self.tf(
                "cortico.text",
                &[
                    ("drug", &drug),
                    ("dose", &dose),
                    ("route", &word_open(lang, "cortico.route", &c.route)),
                    ("start", &word_open(lang, "cortico.start", &c.start)),
                ],
            );
            let default_continue = format!("{dose} mg daily until surgery or radiotherapy");
            let cont = if c.continue_ == default_continue {
                self.tf("cortico.continue_default", &[("dose", &dose)])
            } else {
                c.continue_.clone()
            };
            let sep = self.t("report.separator");
            text = format!(
                "{text}{sep}{cont}{sep}{}",
                word_open(lang, "cortico.stop_if", &c.stop_if)
            );
            fields.push((self.t("plan_field.corticosteroid").to_owned(), text));
        }
        if !tr.treated_levels.is_empty() {
            let items = tr.treated_levels.iter().map(|l| {
                self.tf(
                    "plan_field.treated_level",
                    &[
                        ("level", &l.level.to_string()),
                        ("procedure", word(lang, "plan", &l.procedure)),
                        ("date", &l.date.to_string()),
                        ("n", &l.post_procedure_day.to_string()),
                    ],
                )
            });
            fields.push((
                self.t("plan_field.treated_levels").to_owned(),
                items.collect::<Vec<_>>().join(self.t("report.separator")),
            ));
        }
        if !tr.workup.is_empty() {
            fields.push((
                self.t("plan_field.workup").to_owned(),
                self.join(tr.workup.iter().map(|w| word(lang, "workup", w))),
            ));
        }
        if !tr.missing.is_empty() {
            fields.push((
                self.t("plan_field.missing").to_owned(),
                self.join(tr.missing.iter().map(|m| self.field_label(m))),
            ));
        }
        if !tr.techniques.is_empty() {
            fields.push((
                self.t("plan_field.techniques").to_owned(),
                self.join(tr.techniques.iter().map(|x| word(lang, "technique", x))),
            ));
        }
        let mut blocks = vec![Block::Fields(fields)];
        if !tr.per_level.is_empty() {
            blocks.push(Block::Heading(self.t("plan_field.per_level").to_owned()));
            let items = tr
                .per_level
                .iter()
                .map(|lp| {
                    let approach = lp.approach.map_or_else(
                        || self.t("approach.unspecified"),
                        |a| word(lang, "approach", &a),
                    );
                    let cement = match lp.cement {
                        Some(c) => self.tf(
                            "plan_field.cement",
                            &[
                                ("min", &num(c.min_ml)),
                                ("max", &num(c.max_ml)),
                                ("pct", &pct(c.max_fill_fraction)),
                            ],
                        ),
                        None => self.t("plan_field.no_cement").to_owned(),
                    };
                    Item::plain(format!(
                        "{}{}{approach}{}{cement}",
                        lp.level,
                        self.t("report.colon"),
                        self.t("report.separator")
                    ))
                })
                .collect();
            blocks.push(Block::List(items));
        }
        self.section("plan", blocks)
    }

    /// Orders for the acute phase. The "perioperative" heading only for an operative context
    /// (rule 11.12); otherwise "acute care" or "care until the spinal surgical review".
    fn perioperative(&self) -> Section {
        let lang = self.lang;
        let p = &self.report.perioperative;
        let mut fields = Vec::new();
        let sp = &p.spinal_precautions;
        if sp.required {
            let mut text = self.join(sp.measures.iter().map(|m| word(lang, "precautions", m)));
            if let Some(u) = sp.until {
                text = format!("{text}，{}", word(lang, "precautions", &u));
                if lang == Lang::En {
                    text = text.replace('，', ", ");
                }
            }
            fields.push((self.t("peri.spinal_precautions").to_owned(), text));
        }
        if let Some(day) = p.post_procedure_day {
            fields.push((
                self.t("peri.post_procedure_day").to_owned(),
                self.tf("peri.post_day", &[("n", &day.to_string())]),
            ));
        }
        let mut mobilisation = word(lang, "mobilisation", &p.mobilisation).to_owned();
        if let (MobilisationPlan::Continue, Some(day)) = (p.mobilisation, p.post_procedure_day) {
            mobilisation = format!(
                "{}{}{mobilisation}",
                self.tf("peri.post_day", &[("n", &day.to_string())]),
                self.t("report.colon")
            );
        }
        if let Some(h) = p.mobilize_within_hours {
            mobilisation = self.paren(
                &mobilisation,
                &self.tf("peri.mobilize_within", &[("n", &num(h))]),
            );
        }
        fields.push((self.t("peri.mobilisation").to_owned(), mobilisation));
        match (p.bed_rest_until, p.bed_rest_max_days) {
            (Some(until), max) => {
                let mut text = self.tf("peri.bed_rest_until", &[("date", &until.to_string())]);
                if let Some(d) = max {
                    text = self.paren(&text, &self.tf("peri.bed_rest_max", &[("n", &num(d))]));
                }
                fields.push((self.t("peri.bed_rest").to_owned(), text));
            }
            (None, Some(d)) => fields.push((
                self.t("peri.bed_rest").to_owned(),
                self.tf("peri.bed_rest_max", &[("n", &num(d))]),
            )),
            (None, None) => {}
        }
        fields.push((
            self.t("peri.brace").to_owned(),
            word(lang, "brace", &p.brace).to_owned(),
        ));
        let analgesia = p.analgesia.iter().map(|a| {
            let name = self.drug(&a.drug);
            match a.max_days {
                Some(d) => self.paren(name, &self.tf("peri.max_days", &[("n", &d.to_string())])),
                None => name.to_owned(),
            }
        });
        fields.push((self.t("peri.analgesia").to_owned(), self.join(analgesia)));
        if !p.adjuncts.is_empty() {
            let adj = p.adjuncts.iter().map(|a| {
                self.tf(
                    "peri.adjunct_with",
                    &[
                        ("adjunct", word(lang, "adjunct", &a.code)),
                        ("drug", &word_open(lang, "drug", &a.with)),
                    ],
                )
            });
            fields.push((self.t("peri.adjuncts").to_owned(), self.join(adj)));
        }
        let mut blocks = vec![Block::Fields(fields)];
        if !p.avoid.is_empty() {
            blocks.push(Block::Heading(self.t("peri.held").to_owned()));
            let items = p
                .avoid
                .iter()
                .map(|d| {
                    let name = self.drug(d);
                    match p.avoid_reasons.get(d) {
                        Some(r) => {
                            Item::plain(format!("{name} — {}", word(lang, "avoid_reason", r)))
                        }
                        None => Item::plain(name.to_owned()),
                    }
                })
                .collect();
            blocks.push(Block::List(items));
        }
        let mut section = self.section("perioperative", blocks);
        let heading = match p.context {
            c if c.is_operative() => "section.perioperative",
            PeriopContext::AwaitingSurgicalReview => "section.awaiting_surgical_review",
            _ => "section.acute_care",
        };
        section.heading = self.t(heading).to_owned();
        section
    }

    fn drugs(&self) -> Section {
        let lang = self.lang;
        let ph = &self.report.pharmacotherapy;
        let colon = self.t("report.colon");
        let mut blocks = Vec::new();
        blocks.push(Block::Heading(self.t("rx.recommended").to_owned()));
        if ph.recommended.is_empty() {
            blocks.push(Block::Para(self.t("rx.none_recommended").to_owned()));
        } else {
            let items =
                ph.recommended
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let (text, details) = match ph.dosing.get(d) {
                            Some(dose) => (
                                self.dose_line(d, dose),
                                if dose.advice.is_empty() {
                                    Vec::new()
                                } else {
                                    vec![self.join(
                                        dose.advice.iter().map(|a| word_open(lang, "advice", a)),
                                    )]
                                },
                            ),
                            None => (self.drug(d).to_owned(), Vec::new()),
                        };
                        Item {
                            marks: if i == 0 {
                                vec![Mark {
                                    kind: MarkKind::FirstChoice,
                                    label: self.t("rx.first_choice").to_owned(),
                                    title: None,
                                }]
                            } else {
                                Vec::new()
                            },
                            text,
                            details,
                        }
                    })
                    .collect();
            blocks.push(Block::List(items));
        }
        let first = ph.recommended.first().copied();
        let blocking: Vec<PreDoseCheckCode> = ph
            .pre_dose_checks
            .iter()
            .filter(|c| c.blocking && Some(c.drug) == first)
            .map(|c| c.code)
            .collect();
        let mut fields = vec![(self.t("rx.start").to_owned(), self.start_text(&blocking))];
        let rf = &ph.renal_function;
        let renal = match (rf.measure, rf.value) {
            (Some(m), Some(v)) => format!(
                "{} {} {}",
                word(lang, "renal_measure", &m),
                num(v),
                rf.unit.as_deref().unwrap_or(m.unit())
            ),
            _ => self.t("rx.renal_unknown").to_owned(),
        };
        fields.push((self.t("rx.renal_function").to_owned(), renal));
        match self.course_end_text() {
            Some(text) => fields.push((self.t("rx.course_end").to_owned(), text)),
            None if !ph.max_duration_months.is_empty() => {
                let parts = ph.max_duration_months.iter().map(|(d, m)| {
                    self.tf(
                        "rx.remaining",
                        &[("drug", self.drug(d)), ("n", &m.to_string())],
                    )
                });
                fields.push((self.t("rx.max_duration").to_owned(), self.join(parts)));
            }
            None => {}
        }
        if !ph.then.is_empty() {
            let seq: Vec<String> = ph
                .then
                .iter()
                .map(|d| match ph.dosing.get(d) {
                    Some(dose) => self.dose_line(d, dose),
                    None => self.drug(d).to_owned(),
                })
                .collect();
            fields.push((self.t("rx.then").to_owned(), seq.join(" → ")));
        }
        if let Some(x) = &ph.exit_plan {
            let m = x.months_after_last_dose.to_string();
            let mut text = match x.then_drug {
                Some(d) => self.tf("rx.exit_then", &[("drug", self.drug(&d)), ("m", &m)]),
                None => self.tf("rx.exit_specialist", &[("m", &m)]),
            };
            if !x.btm_check_months.is_empty() {
                let months: Vec<String> = x.btm_check_months.iter().map(u32::to_string).collect();
                text = format!(
                    "{text}{}{}",
                    self.t("report.separator"),
                    self.tf("rx.exit_btm", &[("months", &self.join(months))])
                );
            }
            fields.push((self.t("rx.exit_plan").to_owned(), text));
        }
        if !ph.monitoring.is_empty() {
            fields.push((
                self.t("rx.monitoring").to_owned(),
                self.join(ph.monitoring.iter().map(|m| word(lang, "monitoring", m))),
            ));
        }
        if !ph.anabolic_options.is_empty() {
            fields.push((
                self.t("rx.anabolic_options").to_owned(),
                self.join(ph.anabolic_options.iter().map(|d| self.drug(d))),
            ));
        }
        blocks.push(Block::Fields(fields));
        if !ph.pre_dose_checks.is_empty() {
            blocks.push(Block::Heading(self.t("rx.pre_dose_checks").to_owned()));
            let items = ph
                .pre_dose_checks
                .iter()
                .map(|c| Item {
                    marks: vec![Mark {
                        kind: if c.blocking {
                            MarkKind::Warning
                        } else {
                            MarkKind::Info
                        },
                        label: self
                            .t(if c.blocking {
                                "rx.blocking"
                            } else {
                                "rx.not_blocking"
                            })
                            .to_owned(),
                        title: None,
                    }],
                    text: format!(
                        "{}{colon}{}",
                        self.paren(word(lang, "pre_dose_check", &c.code), self.drug(&c.drug)),
                        word(lang, "requirement", &c.requirement)
                    ),
                    details: Vec::new(),
                })
                .collect();
            blocks.push(Block::List(items));
        }
        if !ph.avoid.is_empty() {
            blocks.push(Block::Heading(self.t("rx.avoid").to_owned()));
            let items = ph
                .avoid
                .iter()
                .map(|a| {
                    Item::plain(format!(
                        "{} — {}",
                        self.drug(&a.drug),
                        word(lang, "avoid_reason", &a.reason)
                    ))
                })
                .collect();
            blocks.push(Block::List(items));
        }
        self.section("drugs", blocks)
    }

    fn factor_list(&self, prefix: &str, factors: &[String]) -> String {
        self.join(factors.iter().map(|f| word_open(self.lang, prefix, f)))
    }

    fn risks(&self) -> Section {
        let lang = self.lang;
        let risks = &self.report.risks;
        let mut blocks = Vec::new();
        if let Some(adj) = &risks.adjacent_fracture {
            blocks.push(Block::Heading(self.t("risk.adjacent").to_owned()));
            let mut tier = word(lang, "tier", &adj.tier).to_owned();
            if adj.factor_tier != adj.tier {
                tier = self.paren(
                    &tier,
                    &format!(
                        "{}{}{}",
                        self.t("risk.factor_tier"),
                        self.t("report.colon"),
                        word(lang, "tier", &adj.factor_tier)
                    ),
                );
            }
            let mut fields = vec![
                (self.t("risk.tier").to_owned(), tier),
                (
                    self.t("risk.factors").to_owned(),
                    self.factor_list("factor", &adj.factors),
                ),
            ];
            if let Some(e) = adj.estimate {
                fields.push((self.t("risk.estimate").to_owned(), format!("{} %", pct(e))));
            }
            if let Some(basis) = &adj.estimate_basis {
                let src = if basis.baseline_sources.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", self.source_list(&basis.baseline_sources))
                };
                fields.push((
                    self.t("risk.baseline").to_owned(),
                    format!("{} %{src}", pct(basis.baseline)),
                ));
                if !basis.excluded_factors.is_empty() {
                    fields.push((
                        self.t("risk.excluded_factors").to_owned(),
                        self.factor_list("factor", &basis.excluded_factors),
                    ));
                }
            }
            blocks.push(Block::Fields(fields));
            if let Some(basis) = adj
                .estimate_basis
                .as_ref()
                .filter(|b| !b.contributions.is_empty())
            {
                blocks.push(Block::Heading(self.t("risk.contributions").to_owned()));
                let max = basis
                    .contributions
                    .iter()
                    .map(|c| c.odds_ratio)
                    .filter(|x| x.is_finite())
                    .fold(1.0_f64, f64::max);
                let bars = basis
                    .contributions
                    .iter()
                    .map(|c| {
                        let src = if c.sources.is_empty() {
                            String::new()
                        } else {
                            format!(" [{}]", self.source_list(&c.sources))
                        };
                        Bar {
                            label: word_open(lang, "factor", &c.factor),
                            // Log scale: an OR of 1 adds nothing, the strongest driver fills the bar.
                            fraction: if c.odds_ratio.is_finite() && max > 1.0 {
                                (c.odds_ratio.max(1.0).ln() / max.ln()).clamp(0.0, 1.0)
                            } else {
                                0.0
                            },
                            value: format!("OR {:.2}{src}", c.odds_ratio),
                        }
                    })
                    .collect();
                blocks.push(Block::Bars(bars));
            }
            if adj.estimate.is_some() || adj.estimate_basis.is_some() {
                blocks.push(Block::Note(self.t("risk.estimate_note").to_owned()));
            }
        }
        if let Some(im) = risks.imminent_fracture.as_ref().filter(|i| i.applies) {
            blocks.push(Block::Heading(self.t("risk.imminent").to_owned()));
            let pct_text = im
                .new_vertebral_fracture_1y_pct
                .map_or_else(|| "—".to_owned(), num);
            let (lo, hi) = im.ci_pct.map_or_else(
                || ("—".to_owned(), "—".to_owned()),
                |[a, b]| (num(a), num(b)),
            );
            blocks.push(Block::Para(self.tf(
                "risk.imminent_text",
                &[("pct", &pct_text), ("lo", &lo), ("hi", &hi)],
            )));
        }
        let vh = &risks.very_high_fracture_risk;
        let mut vh_fields = vec![(
            self.t("risk.very_high").to_owned(),
            if vh.flag {
                self.tf(
                    "risk.very_high_yes",
                    &[(
                        "criteria",
                        &self.join(vh.criteria.iter().map(|c| word(lang, "very_high", c))),
                    )],
                )
            } else {
                self.t("risk.very_high_no").to_owned()
            },
        )];
        if !vh.unverified_criteria_met.is_empty() {
            vh_fields.push((
                self.t("risk.unverified_met").to_owned(),
                self.join(
                    vh.unverified_criteria_met
                        .iter()
                        .map(|c| word(lang, "very_high", c)),
                ),
            ));
        }
        blocks.push(Block::Fields(vh_fields));
        if let Some(leak) = &risks.cement_leakage {
            blocks.push(Block::Heading(self.t("risk.leakage").to_owned()));
            blocks.push(Block::Fields(vec![
                (self.t("risk.level").to_owned(), leak.level.to_string()),
                (
                    self.t("risk.tier").to_owned(),
                    word(lang, "tier", &leak.tier).to_owned(),
                ),
                (
                    self.t("risk.factors").to_owned(),
                    self.factor_list("leak_factor", &leak.factors),
                ),
            ]));
        }
        self.section("risks", blocks)
    }

    /// Rule 11.16: the standard-of-care bundle, each item with its due date.
    fn care_bundle(&self) -> Section {
        let lang = self.lang;
        let bundle = &self.report.care_bundle;
        if bundle.is_empty() {
            return self.section(
                "care_bundle",
                vec![Block::Para(self.t("care.none").to_owned())],
            );
        }
        let mut has_labs = false;
        let items = bundle
            .iter()
            .map(|c| {
                let mut details = Vec::new();
                if let Some(labs) = c.labs.as_ref().filter(|l| !l.is_empty()) {
                    has_labs = true;
                    details.push(format!(
                        "{}{}{}",
                        self.t("care.labs"),
                        self.t("report.colon"),
                        self.join(labs.iter().map(|l| word(lang, "lab", l)))
                    ));
                }
                Item {
                    marks: Vec::new(),
                    text: format!(
                        "{} — {}",
                        word(lang, "care", &c.code),
                        self.tf("care.due", &[("date", &c.due.to_string())])
                    ),
                    details,
                }
            })
            .collect();
        let mut blocks = vec![Block::List(items)];
        if has_labs {
            blocks.push(Block::Note(self.t("care.labs_note").to_owned()));
        }
        self.section("care_bundle", blocks)
    }

    /// One line per visit (rule 11.22), with its due date and what was merged into it.
    fn follow_up(&self) -> Section {
        let entries = &self.report.follow_up;
        let blocks = if entries.is_empty() {
            vec![Block::Para(self.t("fu.none").to_owned())]
        } else {
            let items = entries
                .iter()
                .map(|f| {
                    let details = if f.merged_from.is_empty() {
                        Vec::new()
                    } else {
                        let merged = f.merged_from.iter().map(|m| {
                            let due = self.tf("fu.merged_entry", &[("due", &m.due.to_string())]);
                            match m.at_months {
                                Some(n) => self.paren(
                                    &due,
                                    &self.tf("fu.at_months", &[("n", &n.to_string())]),
                                ),
                                None => due,
                            }
                        });
                        vec![self.tf("fu.merged", &[("entries", &self.join(merged))])]
                    };
                    Item {
                        marks: Vec::new(),
                        text: self.visit_text(f),
                        details,
                    }
                })
                .collect();
            vec![Block::List(items)]
        };
        self.section("follow_up", blocks)
    }

    fn procedure_checks(&self) -> Option<Section> {
        let pc = self.report.procedure_checks.as_ref()?;
        let status = if pc.performed {
            self.t("pc.performed")
        } else {
            self.t("pc.planned")
        };
        let fields = vec![
            (self.t("pc.level").to_owned(), pc.level.to_string()),
            (self.t("pc.status").to_owned(), status.to_owned()),
            (
                self.t("pc.fill_fraction").to_owned(),
                pc.cement_fill_fraction
                    .map_or_else(|| "—".to_owned(), |f| format!("{} %", pct(f))),
            ),
            (
                self.t("pc.range").to_owned(),
                format!(
                    "{}–{} mL",
                    num(pc.cement_range_ml[0]),
                    num(pc.cement_range_ml[1])
                ),
            ),
            (
                self.t("pc.within_range").to_owned(),
                self.yes_no(pc.cement_within_range).to_owned(),
            ),
            (
                self.t("pc.height_restoration").to_owned(),
                self.yes_no(pc.height_restoration_over_90pct).to_owned(),
            ),
        ];
        Some(self.section("procedure_checks", vec![Block::Fields(fields)]))
    }

    fn risk_tools(&self) -> Option<Section> {
        if self.report.risk_tools.is_empty() {
            return None;
        }
        let colon = self.t("report.colon");
        let items = self
            .report
            .risk_tools
            .iter()
            .map(|r| {
                let mut head = word(self.lang, "tool", &r.tool).to_owned();
                let mut meta = Vec::new();
                if let Some(v) = &r.version {
                    meta.push(format!("{} {v}", self.t("rt.version")));
                }
                if let Some(d) = r.date {
                    meta.push(format!("{} {d}", self.t("rt.date")));
                }
                if !meta.is_empty() {
                    head = format!("{head} ({})", meta.join(", "));
                }
                let mut parts = Vec::new();
                if let Some(p) = r.major_osteoporotic_10y_pct {
                    parts.push(format!("{}{colon}{} %", self.t("rt.major"), num(p)));
                }
                if let Some(p) = r.hip_10y_pct {
                    parts.push(format!("{}{colon}{} %", self.t("rt.hip"), num(p)));
                }
                if let Some(c) = &r.category {
                    parts.push(format!("{}{colon}{c}", self.t("rt.category")));
                }
                Item::plain(if parts.is_empty() {
                    head
                } else {
                    format!("{head}{colon}{}", parts.join(self.t("report.separator")))
                })
            })
            .collect();
        Some(self.section(
            "risk_tools",
            vec![
                Block::List(items),
                Block::Note(self.t("rt.note").to_owned()),
            ],
        ))
    }

    /// A source id as printed: the pathway's own rules in words, never their file name.
    fn source_label(&self, id: &str) -> String {
        if id == PATHWAY_RULES {
            self.t("rec.pathway_rules").to_owned()
        } else {
            id.to_owned()
        }
    }

    fn source_list<S: AsRef<str>>(&self, ids: &[S]) -> String {
        ids.iter()
            .map(|s| self.source_label(s.as_ref()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The recommendations with their grades (rule 11.24: a grade the review gave itself is
    /// labelled so; flagged citations carry a short note).
    fn recommendation_items(&self) -> Vec<Item> {
        let colon = self.t("report.colon");
        self.report
            .recommendations
            .iter()
            .map(|r| {
                let quality = r.quality.map_or_else(|| "—".to_owned(), |q| code(&q));
                let strength = r.strength.map_or_else(|| "—".to_owned(), |s| s.to_string());
                let mut label = format!("{quality}/{strength}");
                // Rule 11.24: a grade the seed review gave itself says so; a guideline's own
                // grade needs no label.
                if r.grade_origin == Some(GradeOrigin::SeedReview)
                    && (r.quality.is_some() || r.strength.is_some())
                {
                    label = format!("{label} {}", self.t("rec.seed_review"));
                }
                let mut marks = vec![Mark {
                    kind: MarkKind::Grade,
                    label,
                    title: Some(self.source_citations(&r.sources)),
                }];
                if r.provisional {
                    marks.push(Mark {
                        kind: MarkKind::Provisional,
                        label: self.t("rec.provisional").to_owned(),
                        title: None,
                    });
                }
                let mut details = vec![format!(
                    "{}{colon}{}",
                    self.t("rec.sources"),
                    self.source_list(&r.sources)
                )];
                for c in &r.conflicting_evidence {
                    details.push(format!(
                        "{}{colon}{} [{}]",
                        self.t("rec.conflict"),
                        pick(self.lang, &c.summary),
                        self.source_list(&c.sources)
                    ));
                }
                for f in &r.citation_flags {
                    let flag = word(self.lang, "citation_flag", &f.flag);
                    let note =
                        crate::i18n::lookup(self.lang, &format!("citation_note.{}", f.note_code));
                    let text = match note {
                        Some(n) => format!("{flag}{}{n}", self.t("report.separator")),
                        None => flag.to_owned(),
                    };
                    details.push(format!(
                        "{}{colon}[{}] {text}",
                        self.t("rec.citation_note"),
                        self.source_label(&f.source)
                    ));
                }
                Item {
                    marks,
                    text: pick(self.lang, &r.text).to_owned(),
                    details,
                }
            })
            .collect()
    }

    /// Every source id the report cites, in order of first citation.
    fn cited_sources(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut order = Vec::new();
        let mut add = |id: &str| {
            if seen.insert(id.to_owned()) {
                order.push(id.to_owned());
            }
        };
        for r in &self.report.recommendations {
            r.sources.iter().for_each(|s| add(s));
            for c in &r.conflicting_evidence {
                c.sources.iter().for_each(|s| add(s));
            }
        }
        if let Some(b) = self
            .report
            .risks
            .adjacent_fracture
            .as_ref()
            .and_then(|a| a.estimate_basis.as_ref())
        {
            b.baseline_sources.iter().for_each(|s| add(s));
            for c in &b.contributions {
                c.sources.iter().for_each(|s| add(s));
            }
        }
        if let Some(srcs) = self
            .report
            .risks
            .imminent_fracture
            .as_ref()
            .and_then(|i| i.sources.as_ref())
        {
            srcs.iter().for_each(|s| add(s));
        }
        order
    }

    fn reference_items(&self) -> Result<Vec<Item>, Vec<Item>> {
        let ids = self.cited_sources();
        let Ok(kb) = Knowledge::embedded() else {
            return Err(ids
                .into_iter()
                .map(|id| Item::plain(format!("[{}]", self.source_label(&id))))
                .collect());
        };
        Ok(ids
            .into_iter()
            .map(|id| {
                if id == PATHWAY_RULES {
                    return Item::plain(format!("[{}]", self.source_label(&id)));
                }
                match kb.source(&id) {
                    Some(s) => {
                        // Some citations already carry their DOI or URL: print it once.
                        let link = match (&s.doi, &s.url) {
                            (Some(doi), _) if !s.citation.contains(doi.as_str()) => {
                                format!(" doi:{doi}")
                            }
                            (None, Some(url)) if !s.citation.contains(url.as_str()) => {
                                format!(" {url}")
                            }
                            _ => String::new(),
                        };
                        Item::plain(format!("[{id}] {}{link}", s.citation))
                    }
                    None => Item::plain(format!("[{id}] {}", self.t("ref.missing"))),
                }
            })
            .collect())
    }

    /// The appendix: every recommendation with its grade, then the references. Collapsed on
    /// screen (HTML `<details>`), last in the text report.
    fn evidence(&self) -> Section {
        let mut blocks = Vec::new();
        blocks.push(Block::Heading(self.t("section.recommendations").to_owned()));
        if self.report.recommendations.is_empty() {
            blocks.push(Block::Para(self.t("rec.none").to_owned()));
        } else {
            blocks.push(Block::Note(self.t("rec.intro").to_owned()));
            blocks.push(Block::List(self.recommendation_items()));
            blocks.push(Block::Note(self.t("rec.grade_legend").to_owned()));
        }
        blocks.push(Block::Heading(self.t("section.references").to_owned()));
        match self.reference_items() {
            Ok(items) if items.is_empty() => {
                blocks.push(Block::Para(self.t("report.none").to_owned()));
            }
            Ok(items) => blocks.push(Block::List(items)),
            Err(items) => {
                blocks.push(Block::Note(self.t("ref.unavailable").to_owned()));
                blocks.push(Block::List(items));
            }
        }
        let mut section = self.section("evidence", blocks);
        section.collapsible = true;
        section
    }

    /// The full citations of `ids`, one per line (`[id] citation`), for a grade's tooltip.
    fn source_citations<S: AsRef<str>>(&self, ids: &[S]) -> String {
        let kb = Knowledge::embedded().ok();
        ids.iter()
            .map(AsRef::as_ref)
            .map(|id| {
                if id == PATHWAY_RULES {
                    return format!("[{}]", self.source_label(id));
                }
                match kb.and_then(|k| k.source(id)) {
                    Some(s) => format!("[{id}] {}", s.citation),
                    None => format!("[{id}]"),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn explain(&self) -> Section {
        let entries = &self.report.explanation;
        if entries.is_empty() {
            return self.section(
                "explain",
                vec![Block::Para(self.t("explain.none").to_owned())],
            );
        }
        let colon = self.t("report.colon");
        let applied = entries.iter().filter(|e| e.outcome == Outcome::Applied);
        let not_applied = entries.iter().filter(|e| e.outcome == Outcome::NotApplied);
        let items = applied
            .chain(not_applied)
            .map(|e| {
                let (kind, key) = match e.outcome {
                    Outcome::Applied => (MarkKind::Applied, "explain.applied"),
                    Outcome::NotApplied => (MarkKind::NotApplied, "explain.not_applied"),
                };
                let mut text = format!("{} — {} {}", e.decision, self.t("explain.rule"), e.rule);
                if let Some(v) = &e.value {
                    text = format!("{text} → {}", fact_value(v));
                }
                let details = if e.facts.is_empty() {
                    Vec::new()
                } else {
                    let facts: Vec<String> = e
                        .facts
                        .iter()
                        .map(|(k, v)| format!("{k}={}", fact_value(v)))
                        .collect();
                    vec![format!(
                        "{}{colon}{}",
                        self.t("explain.facts"),
                        facts.join(", ")
                    )]
                };
                Item {
                    marks: vec![Mark {
                        kind,
                        label: self.t(key).to_owned(),
                        title: None,
                    }],
                    text,
                    details,
                }
            })
            .collect();
        self.section("explain", vec![Block::List(items)])
    }

    fn assumptions(&self) -> Section {
        let entries = &self.report.inputs_assumed;
        if entries.is_empty() {
            return self.section(
                "assumptions",
                vec![Block::Para(self.t("assumed.none").to_owned())],
            );
        }
        let items = entries
            .iter()
            .map(|a| {
                let text = crate::i18n::lookup(self.lang, &format!("assumption.{}", a.code))
                    .map_or_else(
                        || a.assumption.clone(),
                        |t| t.replace("{value}", a.value.as_deref().unwrap_or("")),
                    );
                Item::plain(format!("{} → {text}", self.field_label(&a.path)))
            })
            .collect();
        self.section("assumptions", vec![Block::List(items)])
    }
}

/// The knowledge base's source id of the pathway's own decision rules: printed in words.
const PATHWAY_RULES: &str = "decision-rules-v1";

/// The cumulative course a course end completes (rule 11.21): the PTH-analogue limit or the
/// romosozumab course, from the knowledge base's thresholds.
fn course_total_months(drug: Drug) -> Option<String> {
    let kb = Knowledge::embedded().ok()?;
    let th = &kb.thresholds;
    let v = match drug {
        Drug::Teriparatide | Drug::Abaloparatide => th.pth_cumulative_max_months.value,
        Drug::Romosozumab => th.romosozumab_months.value,
        _ => return None,
    };
    Some(num(v))
}
