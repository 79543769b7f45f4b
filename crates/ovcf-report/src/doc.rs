//! The report as a language-resolved document: sections of blocks, in the order a consultation
//! note reads. Both renderers (text and HTML) draw this one document, so they never disagree on
//! content or order; they differ only in layout.

use std::collections::BTreeSet;

use ovcf_core::knowledge::Knowledge;
use ovcf_core::report::{
    AssessmentReport, BoneDensityFinding, FractureFinding, OfItemStatus, Outcome, Severity,
    StartTiming, Text,
};

use crate::i18n::{code, t, tf, word, word_open};
use crate::{Lang, RenderOptions};

/// A rendered-language report.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub lang: Lang,
    pub title: String,
    pub subtitle: String,
    pub meta: Vec<(String, String)>,
    pub sections: Vec<Section>,
    pub footer: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// Stable identifier (HTML `id`, CSS hooks).
    pub id: &'static str,
    pub heading: String,
    pub blocks: Vec<Block>,
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

/// Builds the document for `report` in `opts.lang`.
pub(crate) fn build(report: &AssessmentReport, opts: &RenderOptions) -> Doc {
    let b = Builder {
        lang: opts.lang,
        report,
    };
    let mut sections = vec![
        b.alerts(),
        b.diagnosis(),
        b.bone_density(&report.bone_density),
        b.plan(),
        b.perioperative(),
        b.drugs(),
        b.risks(),
        b.follow_up(),
    ];
    sections.extend(b.procedure_checks());
    sections.extend(b.risk_tools());
    sections.push(b.recommendations());
    sections.push(b.references());
    if opts.explain {
        sections.push(b.explain());
    }
    sections.push(b.assumptions());
    Doc {
        lang: opts.lang,
        title: t(opts.lang, "report.title").to_owned(),
        subtitle: t(opts.lang, "report.subtitle").to_owned(),
        meta: b.meta(),
        sections,
        footer: t(opts.lang, "report.disclaimer").to_owned(),
    }
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
            (
                self.t("report.engine_version").to_owned(),
                r.engine_version.clone(),
            ),
            (
                self.t("report.knowledge_version").to_owned(),
                r.knowledge_version.clone(),
            ),
        ]
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
    /// `rule_text.*`) with its number and the facts it used.
    fn basis(&self, decision: &str) -> Vec<String> {
        self.report
            .explanation
            .iter()
            .filter(|e| e.decision == decision && e.outcome == Outcome::Applied)
            .map(|e| {
                let facts: Vec<String> = e
                    .facts
                    .iter()
                    .map(|(k, v)| format!("{k}={}", fact_value(v)))
                    .collect();
                let rule = format!("{} {}", self.t("plan_field.rule"), e.rule);
                let why =
                    crate::i18n::lookup(self.lang, &format!("rule_text.{}", rule_key(&e.rule)));
                match (why, facts.is_empty()) {
                    (Some(w), true) => format!("{w} ({rule})"),
                    (Some(w), false) => format!("{w} ({rule}: {})", facts.join(", ")),
                    (None, true) => rule,
                    (None, false) => format!("{rule} ({})", facts.join(", ")),
                }
            })
            .collect()
    }

    fn plan(&self) -> Section {
        let lang = self.lang;
        let tr = &self.report.treatment;
        let mut fields = vec![(
            self.t("plan_field.plan").to_owned(),
            word(lang, "plan", &tr.plan).to_owned(),
        )];
        if let Some(alt) = tr.alternative {
            fields.push((
                self.t("plan_field.alternative").to_owned(),
                word(lang, "plan", &alt).to_owned(),
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
        if !tr.workup.is_empty() {
            fields.push((
                self.t("plan_field.workup").to_owned(),
                self.join(tr.workup.iter().map(|w| word(lang, "workup", w))),
            ));
        }
        if !tr.missing.is_empty() {
            fields.push((
                self.t("plan_field.missing").to_owned(),
                tr.missing.join(", "),
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

    fn perioperative(&self) -> Section {
        let lang = self.lang;
        let p = &self.report.perioperative;
        let mut fields = Vec::new();
        if let Some(h) = p.mobilize_within_hours {
            fields.push((
                self.t("peri.mobilize").to_owned(),
                self.tf("peri.mobilize_within", &[("n", &num(h))]),
            ));
        }
        if let Some(d) = p.bed_rest_max_days {
            fields.push((
                self.t("peri.bed_rest").to_owned(),
                self.tf("peri.bed_rest_max", &[("n", &num(d))]),
            ));
        }
        fields.push((
            self.t("peri.brace").to_owned(),
            word(lang, "brace", &p.brace).to_owned(),
        ));
        let analgesia = p.analgesia.iter().map(|a| {
            let name = word(lang, "drug", &a.drug);
            match a.max_days {
                Some(d) => format!(
                    "{name} ({})",
                    self.tf("peri.max_days", &[("n", &d.to_string())])
                ),
                None => name.to_owned(),
            }
        });
        fields.push((self.t("peri.analgesia").to_owned(), self.join(analgesia)));
        let mut blocks = vec![Block::Fields(fields)];
        if !p.avoid.is_empty() {
            blocks.push(Block::Heading(self.t("peri.avoid").to_owned()));
            let items = p
                .avoid
                .iter()
                .map(|d| {
                    let name = word(lang, "drug", d);
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
        self.section("perioperative", blocks)
    }

    fn drugs(&self) -> Section {
        let lang = self.lang;
        let ph = &self.report.pharmacotherapy;
        let mut blocks = Vec::new();
        blocks.push(Block::Heading(self.t("rx.recommended").to_owned()));
        if ph.recommended.is_empty() {
            blocks.push(Block::Para(self.t("rx.none_recommended").to_owned()));
        } else {
            let items = ph
                .recommended
                .iter()
                .enumerate()
                .map(|(i, d)| Item {
                    marks: if i == 0 {
                        vec![Mark {
                            kind: MarkKind::FirstChoice,
                            label: self.t("rx.first_choice").to_owned(),
                            title: None,
                        }]
                    } else {
                        Vec::new()
                    },
                    text: word(lang, "drug", d).to_owned(),
                    details: Vec::new(),
                })
                .collect();
            blocks.push(Block::List(items));
        }
        let mut start = word(lang, "start", &ph.start).to_owned();
        if let Some(r) = ph.deferred_reason {
            start = format!("{start} ({})", word(lang, "deferred", &r));
        } else if ph.start == StartTiming::Deferred {
            start = format!("{start} (—)");
        }
        let mut fields = vec![(self.t("rx.start").to_owned(), start)];
        if let Some(d) = ph.start_date {
            fields.push((self.t("rx.start_date").to_owned(), d.to_string()));
        }
        if !ph.max_duration_months.is_empty() {
            let parts = ph.max_duration_months.iter().map(|(d, m)| {
                format!(
                    "{} {}",
                    word(lang, "drug", d),
                    self.tf("rx.months", &[("n", &m.to_string())])
                )
            });
            fields.push((self.t("rx.max_duration").to_owned(), self.join(parts)));
        }
        if !ph.then.is_empty() {
            let seq: Vec<&str> = ph.then.iter().map(|d| word(lang, "drug", d)).collect();
            fields.push((self.t("rx.then").to_owned(), seq.join(" → ")));
        }
        blocks.push(Block::Fields(fields));
        if !ph.avoid.is_empty() {
            blocks.push(Block::Heading(self.t("rx.avoid").to_owned()));
            let items = ph
                .avoid
                .iter()
                .map(|a| {
                    Item::plain(format!(
                        "{} — {}",
                        word(lang, "drug", &a.drug),
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
        let mut blocks = Vec::new();
        if let Some(adj) = &self.report.risks.adjacent_fracture {
            blocks.push(Block::Heading(self.t("risk.adjacent").to_owned()));
            let mut fields = vec![
                (
                    self.t("risk.tier").to_owned(),
                    word(lang, "tier", &adj.tier).to_owned(),
                ),
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
                    format!(" [{}]", basis.baseline_sources.join(", "))
                };
                fields.push((
                    self.t("risk.baseline").to_owned(),
                    format!("{} %{src}", pct(basis.baseline)),
                ));
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
                            format!(" [{}]", c.sources.join(", "))
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
        if let Some(leak) = &self.report.risks.cement_leakage {
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

    fn follow_up(&self) -> Section {
        let lang = self.lang;
        let entries = &self.report.follow_up;
        let blocks = if entries.is_empty() {
            vec![Block::Para(self.t("fu.none").to_owned())]
        } else {
            let items = entries
                .iter()
                .map(|f| Item {
                    marks: Vec::new(),
                    text: format!(
                        "{} · {}{}{}",
                        f.due,
                        f.at_months.map_or_else(String::new, |n| {
                            self.tf("fu.at_months", &[("n", &n.to_string())])
                        }),
                        self.t("report.colon"),
                        self.join(f.items.iter().map(|i| word(lang, "fu_item", i)))
                    ),
                    details: Vec::new(),
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

    fn recommendations(&self) -> Section {
        let recs = &self.report.recommendations;
        if recs.is_empty() {
            return self.section(
                "recommendations",
                vec![Block::Para(self.t("rec.none").to_owned())],
            );
        }
        let colon = self.t("report.colon");
        let items = recs
            .iter()
            .map(|r| {
                let quality = r.quality.map_or_else(|| "—".to_owned(), |q| code(&q));
                let strength = r.strength.map_or_else(|| "—".to_owned(), |s| s.to_string());
                let mut marks = vec![Mark {
                    kind: MarkKind::Grade,
                    label: format!("{quality}/{strength}"),
                    title: Some(source_citations(&r.sources)),
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
                    r.sources.join(", ")
                )];
                for c in &r.conflicting_evidence {
                    details.push(format!(
                        "{}{colon}{} [{}]",
                        self.t("rec.conflict"),
                        pick(self.lang, &c.summary),
                        c.sources.join(", ")
                    ));
                }
                Item {
                    marks,
                    text: pick(self.lang, &r.text).to_owned(),
                    details,
                }
            })
            .collect();
        self.section(
            "recommendations",
            vec![
                Block::List(items),
                Block::Note(self.t("rec.grade_legend").to_owned()),
            ],
        )
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
        order
    }

    fn references(&self) -> Section {
        let ids = self.cited_sources();
        if ids.is_empty() {
            return self.section(
                "references",
                vec![Block::Para(self.t("report.none").to_owned())],
            );
        }
        let Ok(kb) = Knowledge::embedded() else {
            let items = ids
                .into_iter()
                .map(|id| Item::plain(format!("[{id}]")))
                .collect();
            return self.section(
                "references",
                vec![
                    Block::Note(self.t("ref.unavailable").to_owned()),
                    Block::List(items),
                ],
            );
        };
        let items = ids
            .into_iter()
            .map(|id| match kb.source(&id) {
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
            })
            .collect();
        self.section("references", vec![Block::List(items)])
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
                Item::plain(format!("{} → {text}", a.path))
            })
            .collect();
        self.section("assumptions", vec![Block::List(items)])
    }
}

/// The full citations of `ids`, one per line (`[id] citation`), for a grade's tooltip.
fn source_citations<S: AsRef<str>>(ids: &[S]) -> String {
    let kb = Knowledge::embedded().ok();
    ids.iter()
        .map(AsRef::as_ref)
        .map(|id| match kb.and_then(|k| k.source(id)) {
            Some(s) => format!("[{id}] {}", s.citation),
            None => format!("[{id}]"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
