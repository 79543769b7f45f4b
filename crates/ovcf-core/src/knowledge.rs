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

use crate::report::{CitationFlagCode, GradeOrigin, Quality, Severity, Text};

/// The data files, embedded. Order matters only for the version hash.
pub const FILES: [(&str, &str); 5] = [
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
        let [(sf, st), (rf, rt), (tf, tt), (af, at), (cf, ct)] = FILES;
        let sources: SourcesFile = parse(sf, st)?;
        let recs: RecommendationsFile = parse(rf, rt)?;
        let th: ThresholdsDoc = parse(tf, tt)?;
        let alerts: AlertsFile = parse(af, at)?;
        let citations: CitationsFile = parse(cf, ct)?;

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
        };
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
    let mut out = template.to_owned();
    for (k, v) in params {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

impl AlertDef {
    pub fn message(&'static self, params: &[(&str, String)]) -> Text {
        let one = |t: &'static String| -> std::borrow::Cow<'static, str> {
            if params.is_empty() {
                t.as_str().into()
            } else {
                fill(t, params).into()
            }
        };
        Text {
            zh: one(&self.zh),
            en: one(&self.en),
        }
    }
}
