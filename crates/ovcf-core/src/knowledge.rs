//! The knowledge base: recommendations, thresholds, alert texts and sources, as versioned data
//! files under `knowledge/` at the workspace root, compiled into the binary.
//!
//! Loading checks the data's integrity: every recommendation has a source, every cited source is
//! defined, every threshold has a source. `knowledge_version` is derived from the content (SHA-256),
//! so a stored report names exactly the knowledge that made it.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::report::{
    CitationFlagCode, Dose, DoseInterval, Dosing, GradeOrigin, PreDoseCheckCode, Quality, Route,
    Severity, Text, VeryHighCriterion,
};
use crate::request::Drug;

/// The data files, embedded. Order matters only for the version hash.
pub const FILES: [(&str, &str); 7] = [
    (
        "sources.toml",
        include_str!("../../../knowledge/sources.toml"),
    ),
    (
        "recommendations.toml",
        include_str!("../../../knowledge/recommendations.toml"),
    ),
    (
        "thresholds.toml",
        include_str!("../../../knowledge/thresholds.toml"),
    ),
    (
        "alerts.toml",
        include_str!("../../../knowledge/alerts.toml"),
    ),
    (
        "citations.toml",
        include_str!("../../../knowledge/citations.toml"),
    ),
    // Rule 11.18: doses, routes and intervals.
    (
        "dosing.toml",
        include_str!("../../../knowledge/dosing.toml"),
    ),
    // The words that alert texts insert (drug names, pre-dose checks, very-high-risk criteria).
    ("i18n.toml", include_str!("../../../knowledge/i18n.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("knowledge/{file}: {message}")]
    Parse { file: &'static str, message: String },
    #[error("knowledge integrity: {0}")]
    Integrity(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDef {
    pub id: String,
    pub citation: String,
    #[serde(default)]
    pub doi: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// e.g. `unverified`, `secondary`, `seed-only`: copied from clinical-reference.md markers.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictDef {
    pub zh: String,
    pub en: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendationDef {
    pub id: String,
    pub zh: String,
    pub en: String,
    /// GRADE quality A–D, or absent where the source gives none.
    #[serde(default)]
    pub quality: Option<Quality>,
    /// GRADE strength 1 (strong) or 2 (weak), or absent where the source gives none.
    #[serde(default)]
    pub strength: Option<u8>,
    pub sources: Vec<String>,
    /// A choice the decision rules made where the sources leave it open.
    #[serde(default)]
    pub provisional: bool,
    #[serde(default)]
    pub conflicting_evidence: Vec<ConflictDef>,
    /// Where `quality`/`strength` come from (rule 11.24); given exactly when a grade is.
    #[serde(default)]
    pub grade_origin: Option<GradeOrigin>,
}

/// How a cited source was checked against what a recommendation says (rule 11.24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CitationStatus {
    Supports,
    DoesNotSupport,
    Partial,
    Unverified,
}

/// One row of the `citation_checks` table, keyed by (recommendation, source).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CitationCheck {
    pub recommendation: String,
    pub source: String,
    pub status: CitationStatus,
    #[serde(default)]
    pub flag: Option<CitationFlagCode>,
    pub note_code: String,
    pub checked_how: String,
    pub checked_on: String,
    pub note: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertDef {
    pub code: String,
    /// The usual severity; rule 0.7 may raise or lower it for a case.
    pub severity: Severity,
    /// May hold `{name}` placeholders filled by the rule that fires the alert.
    pub zh: String,
    pub en: String,
    #[serde(default)]
    pub recommendations: Vec<String>,
    /// Case-specific wordings of the same alert, chosen by the rule with the `variant` parameter
    /// (e.g. `ckd_mbd_workup` cleared or for a follow-on drug, rules 11.4 and 11.28.13).
    #[serde(default)]
    pub variants: BTreeMap<String, Word>,
}

/// A text in both languages.
#[derive(Debug, Clone, Deserialize)]
pub struct Word {
    pub zh: String,
    pub en: String,
}

/// How clinical-reference.md marks the content a dose rests on (rule 11.18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceStatus {
    Verified,
    Secondary,
    Unverified,
}

/// One drug's dose of rule 11.18 (`knowledge/dosing.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseDef {
    pub drug: Drug,
    pub dose: f64,
    pub unit: String,
    pub route: Route,
    pub interval: DoseInterval,
    pub advice: Vec<String>,
    pub sources: Vec<String>,
    pub status: EvidenceStatus,
    #[serde(default)]
    pub note: Option<String>,
}

/// Calcium and vitamin D by age and sex (rule 11.18's last row).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalciumVitaminDDef {
    pub calcium_mg_day: f64,
    pub calcium_mg_day_men_51_70: f64,
    pub men_lower_calcium_age_min: u32,
    pub men_lower_calcium_age_max: u32,
    pub vitamin_d_iu_day: f64,
    pub vitamin_d_iu_day_older: f64,
    pub route: Route,
    pub interval: DoseInterval,
    pub advice: Vec<String>,
    pub sources: Vec<String>,
    pub status: EvidenceStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DosingFile {
    drug: Vec<DoseDef>,
    calcium_vitamin_d: CalciumVitaminDDef,
}

/// The dosing table of rule 11.18, checked on load.
#[derive(Debug)]
pub struct DosingTable {
    drugs: BTreeMap<Drug, (DoseDef, Dosing)>,
    pub calcium_vitamin_d: CalciumVitaminDDef,
}

impl DosingTable {
    /// The report entry of an anti-osteoporosis drug (`None` for drugs that are not dosed).
    pub fn drug(&self, d: Drug) -> Option<&Dosing> {
        self.drugs.get(&d).map(|(_, r)| r)
    }

    pub fn def(&self, d: Drug) -> Option<&DoseDef> {
        self.drugs.get(&d).map(|(def, _)| def)
    }

    /// Calcium and vitamin D for a patient's age and sex (11.18; 1000 IU from
    /// `vitamin_d_1000iu_age_min`).
    pub fn calcium_vitamin_d(&self, age: u32, female: bool, vitamin_d_older_min: f64) -> Dosing {
        let c = &self.calcium_vitamin_d;
        let calcium = if !female
            && (c.men_lower_calcium_age_min..=c.men_lower_calcium_age_max).contains(&age)
        {
            c.calcium_mg_day_men_51_70
        } else {
            c.calcium_mg_day
        };
        let vitamin_d = if f64::from(age) >= vitamin_d_older_min {
            c.vitamin_d_iu_day_older
        } else {
            c.vitamin_d_iu_day
        };
        Dosing {
            dose: Dose::CalciumVitaminD {
                calcium_mg_day: calcium,
                vitamin_d_iu_day: vitamin_d,
            },
            unit: None,
            route: c.route,
            interval: c.interval,
            advice: c.advice.clone(),
        }
    }
}

/// The words alert texts insert, from `knowledge/i18n.toml` (the one catalogue of words).
#[derive(Debug, Deserialize)]
pub struct AlertWords {
    pub drug: BTreeMap<String, Word>,
    pub pre_dose_check: BTreeMap<String, Word>,
    /// The `[very_high]` table: very-high-risk criteria (verified and unverified).
    pub very_high: BTreeMap<String, Word>,
}

impl AlertWords {
    fn word<'w>(map: &'w BTreeMap<String, Word>, code: &'w str) -> (&'w str, &'w str) {
        map.get(code)
            .map_or((code, code), |w| (w.zh.as_str(), w.en.as_str()))
    }

    /// The drug's name in (zh, en); the load check guarantees every drug has one.
    pub fn drug(&self, d: Drug) -> (&str, &str) {
        Self::word(&self.drug, d.as_str())
    }

    pub fn check(&self, c: PreDoseCheckCode) -> (&str, &str) {
        Self::word(&self.pre_dose_check, c.as_str())
    }

    pub fn criterion(&self, c: VeryHighCriterion) -> (&str, &str) {
        Self::word(&self.very_high, c.as_str())
    }
}

/// One numeric threshold, with its unit and source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub value: f64,
    pub unit: String,
    pub sources: Vec<String>,
    #[serde(default)]
    pub provisional: bool,
    #[serde(default)]
    pub note: Option<String>,
    /// A confidence interval, where the source gives one (e.g. rule 11.14's 13.6–24.8 %).
    #[serde(default)]
    pub ci: Option<[f64; 2]>,
}

macro_rules! thresholds {
    ($($name:ident),* $(,)?) => {
        /// Every threshold the rules use, by name; the data file must define exactly these.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Thresholds {
            $(pub $name: Threshold,)*
        }

        impl Thresholds {
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Threshold)> {
                [$((stringify!($name), &self.$name)),*].into_iter()
            }
        }
    };
}

thresholds!(
    height_loss_grade1_min_pct,
    height_loss_grade2_min_pct,
    height_loss_grade3_above_pct,
    crush_posterior_reduction_min_pct,
    morphometry_disagreement_pct,
    acute_max_days,
    conservative_max_height_loss_pct,
    conservative_max_abs_loss_mm,
    augmentation_min_vas,
    dxa_osteoporosis_max_t,
    dxa_normal_min_t,
    very_high_risk_below_t,
    z_score_age_below,
    qct_osteoporosis_below,
    qct_low_max,
    ct_hu_osteoporosis_likely_max,
    ct_hu_osteoporosis_unlikely_above,
    ct_hu_of_severe_max,
    pvp_age_above,
    poor_tolerance_asa_min,
    poor_tolerance_major_comorbidities_min,
    pkp_height_loss_above_pct,
    pkp_kyphotic_angle_min_deg,
    cement_thoracic_min_ml,
    cement_thoracic_max_ml,
    cement_lumbar_min_ml,
    cement_lumbar_max_ml,
    cement_max_fill_fraction,
    height_restoration_max_pct,
    mobilize_within_hours,
    conservative_bed_rest_max_days,
    post_procedure_branch_days,
    nsaid_max_days,
    calcitonin_max_days,
    opioid_min_vas,
    renal_nsaid_below,
    renal_bisphosphonate_below,
    renal_pth_below,
    renal_ckd_mbd_below,
    calcium_low_below,
    calcium_high_above,
    vitamin_d_low_below,
    very_high_risk_vertebral_fractures_min,
    denosumab_overdue_after_days,
    denosumab_interval_months,
    denosumab_rebound_min_months,
    denosumab_rebound_max_months,
    denosumab_transition_months,
    pth_limit_warn_months,
    pth_cumulative_max_months,
    bisphosphonate_holiday_oral_months,
    bisphosphonate_holiday_iv_months,
    romosozumab_months,
    adjacent_advanced_age_min,
    adjacent_multiple_vertebral_min,
    adjacent_tier_moderate_min,
    adjacent_tier_high_min,
    adjacent_baseline_risk,
    leakage_tier_moderate_min,
    leakage_tier_high_min,
    follow_up_early_months,
    follow_up_first_months,
    follow_up_second_months,
    follow_up_third_months,
    btm_months,
    btm_fracture_window_days,
    dxa_months,
    dxa_early_months,
    of_score_either_points,
    fls_kpi_band_low_below_pct,
    fls_kpi_band_high_above_pct,
    // Revision 3 (decision rules 11.27)
    recent_fracture_max_days,
    conservative_bed_rest_window_days,
    calcitonin_start_window_days,
    calcitonin_min_vas,
    early_mobilisation_valid_days,
    follow_up_merge_window_days,
    exercise_start_within_days,
    imminent_vertebral_fracture_1y_pct,
    very_high_recent_fracture_age_min,
    very_high_recent_fracture_t_max,
    unverified_recent_vertebral_fracture_max_days,
    dexamethasone_mscc_mg,
    mscc_mri_within_hours,
    ppi_nsaid_age_min,
    vitamin_d_1000iu_age_min,
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    source: Vec<SourceDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecommendationsFile {
    recommendation: Vec<RecommendationDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsFile {
    alert: Vec<AlertDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CitationsFile {
    citation_check: Vec<CitationCheck>,
}

/// Odds ratios for the literature-derived adjacent-fracture estimate live beside the thresholds;
/// they are parsed with them but kept apart so the struct above stays "one number, one rule".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OddsRatio {
    pub factor: String,
    pub odds_ratio: f64,
    pub sources: Vec<String>,
}

/// The whole knowledge base, loaded once.
#[derive(Debug)]
pub struct Knowledge {
    pub version: String,
    pub thresholds: Thresholds,
    pub adjacent_odds_ratios: Vec<OddsRatio>,
    sources: BTreeMap<String, SourceDef>,
    recommendations: HashMap<String, RecommendationDef>,
    recommendation_order: Vec<String>,
    recommendation_rank: HashMap<String, usize>,
    alerts: HashMap<String, AlertDef>,
    /// Rule 11.24, in file order.
    pub citation_checks: Vec<CitationCheck>,
    /// Rule 11.18.
    pub dosing: DosingTable,
    /// Words inserted into alert texts.
    pub words: AlertWords,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsDoc {
    thresholds: Thresholds,
    #[serde(default)]
    adjacent_fracture_odds_ratio: Vec<OddsRatio>,
}

fn parse<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, KnowledgeError> {
    toml::from_str(text).map_err(|e| KnowledgeError::Parse {
        file,
        message: e.to_string(),
    })
}

static EMBEDDED: LazyLock<Result<Knowledge, KnowledgeError>> = LazyLock::new(Knowledge::load);

impl Knowledge {
    /// The knowledge base compiled into this build (parsed and checked on first use).
    pub fn embedded() -> Result<&'static Knowledge, &'static KnowledgeError> {
        EMBEDDED.as_ref()
    }

    fn load() -> Result<Knowledge, KnowledgeError> {
        let [
            (sf, st),
            (rf, rt),
            (tf, tt),
            (af, at),
            (cf, ct),
            (df, dt),
            (wf, wt),
        ] = FILES;
        let sources: SourcesFile = parse(sf, st)?;
        let recs: RecommendationsFile = parse(rf, rt)?;
        let th: ThresholdsDoc = parse(tf, tt)?;
        let alerts: AlertsFile = parse(af, at)?;
        let citations: CitationsFile = parse(cf, ct)?;
        let dosing: DosingFile = parse(df, dt)?;
        let words: AlertWords = parse(wf, wt)?;

        let mut hasher = Sha256::new();
        for (name, text) in FILES {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();

        let mut k = Knowledge {
            version: format!("kb-{hex}"),
            thresholds: th.thresholds,
            adjacent_odds_ratios: th.adjacent_fracture_odds_ratio,
            sources: BTreeMap::new(),
            recommendations: HashMap::new(),
            recommendation_order: Vec::new(),
            recommendation_rank: HashMap::new(),
            alerts: HashMap::new(),
            citation_checks: citations.citation_check,
            dosing: DosingTable {
                drugs: BTreeMap::new(),
                calcium_vitamin_d: dosing.calcium_vitamin_d,
            },
            words,
        };
        for d in dosing.drug {
            let report = Dosing {
                dose: Dose::Amount(d.dose),
                unit: Some(d.unit.clone()),
                route: d.route,
                interval: d.interval,
                advice: d.advice.clone(),
            };
            let drug = d.drug;
            if k.dosing.drugs.insert(drug, (d, report)).is_some() {
                return Err(KnowledgeError::Integrity(format!(
                    "dosing.toml: {} dosed twice",
                    drug.as_str()
                )));
            }
        }
        for s in sources.source {
            if k.sources.insert(s.id.clone(), s).is_some() {
                return Err(KnowledgeError::Integrity("duplicate source id".into()));
            }
        }
        for r in recs.recommendation {
            k.recommendation_rank
                .insert(r.id.clone(), k.recommendation_order.len());
            k.recommendation_order.push(r.id.clone());
            let id = r.id.clone();
            if k.recommendations.insert(id.clone(), r).is_some() {
                return Err(KnowledgeError::Integrity(format!(
                    "duplicate recommendation id {id}"
                )));
            }
        }
        for a in alerts.alert {
            let code = a.code.clone();
            if k.alerts.insert(code.clone(), a).is_some() {
                return Err(KnowledgeError::Integrity(format!(
                    "duplicate alert code {code}"
                )));
            }
        }
        k.check()?;
        Ok(k)
    }

    /// Integrity rules of the knowledge base (also run as a test).
    fn check(&self) -> Result<(), KnowledgeError> {
        let mut problems = Vec::new();
        let mut cited = |what: &str, sources: &[String]| {
            if sources.is_empty() {
                problems.push(format!("{what} has no source"));
            }
            for s in sources {
                if !self.sources.contains_key(s) {
                    problems.push(format!("{what} cites undefined source {s}"));
                }
            }
        };
        for r in self.recommendations.values() {
            cited(&format!("recommendation {}", r.id), &r.sources);
            for c in &r.conflicting_evidence {
                cited(&format!("conflicting evidence of {}", r.id), &c.sources);
            }
        }
        for (name, t) in self.thresholds.iter() {
            cited(&format!("threshold {name}"), &t.sources);
        }
        for o in &self.adjacent_odds_ratios {
            cited(&format!("odds ratio {}", o.factor), &o.sources);
        }
        for (drug, (d, _)) in &self.dosing.drugs {
            cited(&format!("dose of {}", drug.as_str()), &d.sources);
        }
        cited(
            "dose of calcium_vitamin_d",
            &self.dosing.calcium_vitamin_d.sources,
        );
        for d in Drug::ALL.into_iter().filter(|d| d.is_antiosteoporosis()) {
            if !self.dosing.drugs.contains_key(&d) {
                problems.push(format!("dosing.toml lacks {} (rule 11.18)", d.as_str()));
            }
        }
        for (drug, (d, _)) in &self.dosing.drugs {
            if !drug.is_antiosteoporosis() {
                problems.push(format!(
                    "dosing.toml doses {}, which rule 11.18 leaves to the prescriber",
                    drug.as_str()
                ));
            }
            if !["mg", "µg"].contains(&d.unit.as_str()) || d.dose.is_nan() || d.dose <= 0.0 {
                problems.push(format!("dose of {}: unit or dose invalid", drug.as_str()));
            }
        }
        for d in Drug::ALL {
            if !self.words.drug.contains_key(d.as_str()) {
                problems.push(format!("i18n.toml [drug] lacks {}", d.as_str()));
            }
        }
        for c in PreDoseCheckCode::ALL {
            if !self.words.pre_dose_check.contains_key(c.as_str()) {
                problems.push(format!("i18n.toml [pre_dose_check] lacks {}", c.as_str()));
            }
        }
        for c in VeryHighCriterion::ALL {
            if !self.words.very_high.contains_key(c.as_str()) {
                problems.push(format!("i18n.toml [very_high] lacks {}", c.as_str()));
            }
        }
        for r in self.recommendations.values() {
            if r.strength.is_some_and(|s| !(1..=2).contains(&s)) {
                problems.push(format!("recommendation {} strength must be 1 or 2", r.id));
            }
            if r.zh.trim().is_empty() || r.en.trim().is_empty() {
                problems.push(format!("recommendation {} lacks zh or en text", r.id));
            }
            if r.quality.is_some() != r.grade_origin.is_some() {
                problems.push(format!(
                    "recommendation {} must give grade_origin exactly when it gives a grade (11.24)",
                    r.id
                ));
            }
        }
        for c in &self.citation_checks {
            match self.recommendations.get(&c.recommendation) {
                None => problems.push(format!(
                    "citation check names unknown recommendation {}",
                    c.recommendation
                )),
                Some(r) if !r.sources.contains(&c.source) => problems.push(format!(
                    "citation check ({}, {}): the recommendation does not cite that source",
                    c.recommendation, c.source
                )),
                Some(_) => {}
            }
        }
        for a in self.alerts.values() {
            for id in &a.recommendations {
                if !self.recommendations.contains_key(id) {
                    problems.push(format!(
                        "alert {} names unknown recommendation {id}",
                        a.code
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            problems.sort();
            Err(KnowledgeError::Integrity(problems.join("; ")))
        }
    }

    pub fn recommendation(&self, id: &str) -> Option<&RecommendationDef> {
        self.recommendations.get(id)
    }

    /// A recommendation with its position in the data file (reports list them in that order).
    pub fn recommendation_ranked(&self, id: &str) -> Option<(usize, &RecommendationDef)> {
        let def = self.recommendations.get(id)?;
        Some((self.recommendation_rank(id), def))
    }

    /// Recommendations in the order of the data file.
    pub fn recommendations(&self) -> impl Iterator<Item = &RecommendationDef> {
        self.recommendation_order
            .iter()
            .filter_map(|id| self.recommendations.get(id))
    }

    /// Position of a recommendation in the data file (reports list them in this order).
    pub fn recommendation_rank(&self, id: &str) -> usize {
        self.recommendation_rank
            .get(id)
            .copied()
            .unwrap_or(usize::MAX)
    }

    /// The flagged citations of a recommendation (rule 11.24), in file order.
    pub fn citation_flags(
        &self,
        recommendation: &str,
    ) -> impl Iterator<Item = (&CitationCheck, CitationFlagCode)> {
        self.citation_checks
            .iter()
            .filter(move |c| c.recommendation == recommendation)
            .filter_map(|c| c.flag.map(|f| (c, f)))
    }

    pub fn alert(&self, code: &str) -> Option<&AlertDef> {
        self.alerts.get(code)
    }

    pub fn alerts(&self) -> impl Iterator<Item = &AlertDef> {
        self.alerts.values()
    }

    pub fn source(&self, id: &str) -> Option<&SourceDef> {
        self.sources.get(id)
    }

    pub fn sources(&self) -> impl Iterator<Item = &SourceDef> {
        self.sources.values()
    }
}

/// Fills `{name}` placeholders of an alert text.
pub fn fill(template: &str, params: &[(&str, String)]) -> String {
    fill_lang(template, params, "")
}

/// Fills `{name}` placeholders for one language: a parameter `name@zh` / `name@en` fills `{name}`
/// in that language only (words that differ by language); a plain `name` fills both. The
/// parameter `variant` selects a wording and is not a placeholder.
pub fn fill_lang(template: &str, params: &[(&str, String)], lang: &str) -> String {
    let mut out = template.to_owned();
    for (k, v) in params {
        let key = match k.split_once('@') {
            Some((base, l)) if l == lang => base,
            Some(_) => continue,
            None => k,
        };
        out = out.replace(&format!("{{{key}}}"), v);
    }
    out
}

impl AlertDef {
    pub fn message(&'static self, params: &[(&str, String)]) -> Text {
        let variant = params
            .iter()
            .find(|(k, _)| *k == "variant")
            .and_then(|(_, v)| self.variants.get(v));
        let (zh, en) = variant.map_or((&self.zh, &self.en), |w| (&w.zh, &w.en));
        let one = |t: &'static String, lang: &str| -> std::borrow::Cow<'static, str> {
            if params.is_empty() {
                t.as_str().into()
            } else {
                fill_lang(t, params, lang).into()
            }
        };
        Text {
            zh: one(zh, "zh"),
            en: one(en, "en"),
        }
    }
}
