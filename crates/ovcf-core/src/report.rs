//! The AssessmentReport of contract `assessment-v1.md`. Field names and enumeration values are
//! fixed by the contract; fields beyond it are additive and documented as such.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::request::{Drug, FindingSource, Level, RiskToolResult};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AssessmentReport {
    pub engine_version: String,
    pub knowledge_version: String,
    pub as_of: Date,
    /// Additive: the phase the request named (or `initial`).
    pub phase: String,
    pub fractures: Vec<FractureFinding>,
    pub bone_density: BoneDensityFinding,
    pub treatment: Treatment,
    pub perioperative: Perioperative,
    pub pharmacotherapy: Pharmacotherapy,
    pub risks: Risks,
    pub follow_up: Vec<FollowUp>,
    /// Present when the request gave a `procedure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure_checks: Option<ProcedureChecks>,
    /// Results of external calculators, echoed as given (v1.1).
    #[serde(default)]
    pub risk_tools: Vec<RiskToolResult>,
    /// Ordered by severity (critical first), then by code.
    pub alerts: Vec<Alert>,
    pub recommendations: Vec<Recommendation>,
    pub explanation: Vec<Explanation>,
    pub inputs_assumed: Vec<InputAssumed>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FractureFinding {
    pub level: Level,
    pub height_loss_pct: Option<f64>,
    pub genant_grade: Option<u8>,
    pub morphology: Option<Morphology>,
    pub acuity: Acuity,
    pub marrow_edema: Option<bool>,
    pub suspected_pathological: bool,
    /// Additive: absolute height loss in mm when heights were given.
    pub height_loss_mm: Option<f64>,
    /// Additive: unhealed = marrow oedema or intravertebral cleft (rule 1.5); null when unknown.
    pub unhealed: Option<bool>,
    /// Additive: the per-fracture class of rule 3.1.
    pub class: FractureClass,
    /// Additive: true when this level was treated by the performed `procedure` (rule 0.6).
    pub treated: bool,
    pub of_score: OfScore,
    /// Provenance of the finding as given (v1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_source: Option<FindingSource>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Morphology {
    Wedge,
    Biconcave,
    Crush,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Acuity {
    Acute,
    Chronic,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FractureClass {
    Excluded,
    NotIndicated,
    Unknown,
    NeedsMri,
    NeedsCt,
    Candidate,
    Treated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OfScore {
    pub points: Option<i32>,
    pub min_points: i32,
    pub max_points: i32,
    pub items: Vec<OfScoreItem>,
    pub interpretation: OfInterpretation,
    /// Which score: `ao_spine_dgou_modified` (clinical-reference §2.2).
    pub variant: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OfScoreItem {
    pub item: String,
    pub points: Option<i32>,
    pub status: OfItemStatus,
    /// Additive: for an unknown item, the points it could add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[i32; 2]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfItemStatus {
    Scored,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfInterpretation {
    Conservative,
    Either,
    Surgical,
    Undetermined,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BoneDensityFinding {
    pub dxa_category: Option<DxaCategory>,
    pub lowest_t_score: Option<f64>,
    pub qct_category: Option<QctCategory>,
    pub diagnosis: Option<Diagnosis>,
    pub ct_category: Option<CtCategory>,
    /// Additive: the site of the lowest T-score.
    pub lowest_t_site: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DxaCategory {
    Normal,
    Osteopenia,
    Osteoporosis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QctCategory {
    Normal,
    Low,
    Osteoporosis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Diagnosis {
    Osteoporosis,
    SevereOsteoporosis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CtCategory {
    OsteoporosisLikely,
    Indeterminate,
    OsteoporosisUnlikely,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Treatment {
    pub plan: Plan,
    /// The other augmentation procedure (revision 2); null unless the plan is an augmentation.
    pub alternative: Option<Plan>,
    /// Levels to augment (empty unless the plan is vertebroplasty or kyphoplasty).
    pub per_level: Vec<LevelPlan>,
    pub techniques: Vec<Technique>,
    pub workup: Vec<Workup>,
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Conservative,
    Vertebroplasty,
    Kyphoplasty,
    SurgicalReferral,
    FurtherWorkup,
    InsufficientData,
}

impl Plan {
    pub fn is_augmentation(self) -> bool {
        matches!(self, Plan::Vertebroplasty | Plan::Kyphoplasty)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Conservative => "conservative",
            Plan::Vertebroplasty => "vertebroplasty",
            Plan::Kyphoplasty => "kyphoplasty",
            Plan::SurgicalReferral => "surgical_referral",
            Plan::FurtherWorkup => "further_workup",
            Plan::InsufficientData => "insufficient_data",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LevelPlan {
    pub level: Level,
    pub approach: Option<Approach>,
    pub cement: Option<CementPlan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Approach {
    Unilateral,
    Bilateral,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CementPlan {
    pub min_ml: f64,
    pub max_ml: f64,
    pub max_fill_fraction: f64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Technique {
    Eggshell,
    MeshContainer,
    LowModulusCement,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Workup {
    Mri,
    Ct,
    Biopsy,
    #[serde(rename = "qct_or_3d_dxa")]
    QctOr3dDxa,
    OncologyWorkup,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Perioperative {
    pub mobilize_within_hours: Option<f64>,
    pub bed_rest_max_days: Option<f64>,
    pub brace: Brace,
    pub analgesia: Vec<Analgesic>,
    pub avoid: Vec<Drug>,
    pub avoid_reasons: BTreeMap<Drug, AvoidReason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Brace {
    SoftOrDynamic,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Analgesic {
    pub drug: Drug,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AvoidReason {
    RenalContraindication,
    PoorAdherence,
    RecentMiOrStroke,
    MaxDurationReached,
    PthContraindication,
    Hypocalcaemia,
    CardiovascularOrBleedingRisk,
    NonunionRisk,
    PlannedTransition,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pharmacotherapy {
    /// First = first choice; includes `calcium_vitamin_d` unless hypercalcaemia.
    pub recommended: Vec<Drug>,
    pub avoid: Vec<AvoidedDrug>,
    pub start: StartTiming,
    pub deferred_reason: Option<DeferredReason>,
    pub start_date: Option<Date>,
    pub max_duration_months: BTreeMap<Drug, i32>,
    pub then: Vec<Drug>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AvoidedDrug {
    pub drug: Drug,
    pub reason: AvoidReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartTiming {
    Now,
    Continue,
    Deferred,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeferredReason {
    CalciumCorrection,
    VitaminDRepletion,
    HypercalcaemiaInvestigation,
    PathologyWorkup,
    PlannedTransition,
    SpecialistReview,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Risks {
    pub adjacent_fracture: AdjacentFractureRisk,
    /// Only when augmentation is planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cement_leakage: Option<CementLeakageRisk>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Low,
    Moderate,
    High,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AdjacentFractureRisk {
    pub tier: Tier,
    pub factors: Vec<String>,
    /// Literature-derived, OR-weighted one-year probability (see `estimate_basis`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<f64>,
    /// Additive: how the estimate was made and what drives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_basis: Option<RiskEstimateBasis>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RiskEstimateBasis {
    /// Always `literature_derived`.
    pub method: String,
    pub baseline: f64,
    pub baseline_sources: Vec<String>,
    pub contributions: Vec<RiskContribution>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RiskContribution {
    pub factor: String,
    pub odds_ratio: f64,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CementLeakageRisk {
    pub tier: Tier,
    pub factors: Vec<String>,
    /// Additive: the level whose factors were reported (the worst).
    pub level: Level,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FollowUp {
    pub at_months: u32,
    pub items: Vec<FollowUpItem>,
    pub from: Date,
    pub due: Date,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpItem {
    ClinicalReview,
    Radiograph,
    Dxa,
    BoneTurnoverMarkers,
    DenosumabInjection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcedureChecks {
    pub level: Level,
    pub performed: bool,
    pub cement_fill_fraction: Option<f64>,
    pub cement_range_ml: [f64; 2],
    pub cement_within_range: Option<bool>,
    pub height_restoration_over_90pct: Option<bool>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alert {
    pub code: String,
    pub severity: Severity,
    pub message: Text,
    pub recommendation_ids: Vec<String>,
}

/// A text in both languages. Knowledge-base texts are borrowed from the embedded data, so a
/// report does not copy them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Text {
    pub zh: Cow<'static, str>,
    pub en: Cow<'static, str>,
}

impl Text {
    pub fn new(zh: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Text {
        Text {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

/// A source key (`S53`, `seed:[38]` …), borrowed from the knowledge base where possible.
pub type SourceId = Cow<'static, str>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Recommendation {
    pub id: String,
    pub text: Text,
    pub quality: Option<Quality>,
    pub strength: Option<u8>,
    pub sources: Vec<SourceId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicting_evidence: Vec<ConflictingEvidence>,
    /// Additive: a choice the decision rules made where the sources leave it open.
    pub provisional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Quality {
    A,
    B,
    C,
    D,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConflictingEvidence {
    pub summary: Text,
    pub sources: Vec<SourceId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Explanation {
    /// What was decided, e.g. `treatment.plan` or `fractures[0].genant_grade`.
    pub decision: String,
    /// The decision rule (e.g. `3.2#5`) that fired or was considered.
    pub rule: String,
    pub facts: BTreeMap<Cow<'static, str>, serde_json::Value>,
    pub outcome: Outcome,
    /// Additive: the value decided, when the rule applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    NotApplied,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InputAssumed {
    pub path: String,
    /// What the engine did without it, in English, e.g. `treated as unknown`.
    pub assumption: String,
    /// Additive: a stable code for the assumption (renderers translate it), e.g. `treated_as_unknown`.
    pub code: String,
    /// Additive: the value the assumption used, where it has one (a date, a count, good/poor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}
