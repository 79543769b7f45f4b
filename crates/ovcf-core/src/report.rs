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
    /// Revision 3 (rule 11.16): the standard-of-care bundle, in the rule's order.
    pub care_bundle: Vec<CareItem>,
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
    /// Revision 3 (rule 11.25): the one-screen summary; every value copied from its source field.
    pub summary: Summary,
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
    /// Null on a suspected pathological fracture (rule 11.9).
    pub of_score: Option<OfScore>,
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
    /// Revision 3 (11.7): only for `surgical_referral`.
    pub urgency: Option<Urgency>,
    /// Revision 3 (11.6, 11.7, 11.20): canonical order (the enum's order), each at most once.
    pub urgent_actions: Vec<UrgentAction>,
    /// Revision 3 (11.7): dexamethasone for MSCC with neurological signs; null otherwise.
    pub corticosteroid: Option<Corticosteroid>,
    /// Revision 3 (11.19): `clinician_decision` for augmentation plans, else null.
    pub timing: Option<AugmentationTiming>,
    /// Revision 3 (11.19).
    pub of_score_agreement: OfScoreAgreement,
    /// Revision 3 (11.19): the levels whose OF score disagrees with the plan.
    pub of_score_disagreeing_levels: Vec<Level>,
    /// Revision 3 (11.20): the levels treated by a performed procedure.
    pub treated_levels: Vec<TreatedLevel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    SameDay,
    Urgent,
}

/// Ordered as rule 11.7's canonical order: sort a list to put it in that order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UrgentAction {
    #[serde(rename = "dexamethasone_16mg")]
    Dexamethasone16mg,
    #[serde(rename = "whole_spine_mri_24h")]
    WholeSpineMri24h,
    SameDaySpinalReferral,
    SpinalPrecautions,
    NeurologicalExamAndUrgentSpinalReview,
}

impl UrgentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            UrgentAction::Dexamethasone16mg => "dexamethasone_16mg",
            UrgentAction::WholeSpineMri24h => "whole_spine_mri_24h",
            UrgentAction::SameDaySpinalReferral => "same_day_spinal_referral",
            UrgentAction::SpinalPrecautions => "spinal_precautions",
            UrgentAction::NeurologicalExamAndUrgentSpinalReview => {
                "neurological_exam_and_urgent_spinal_review"
            }
        }
    }
}

/// Rule 11.7: dexamethasone for suspected MSCC with neurological signs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Corticosteroid {
    /// `dexamethasone`.
    pub drug: String,
    pub dose_mg: f64,
    /// `oral_or_parenteral_equivalent`.
    pub route: String,
    /// `as_soon_as_possible`.
    pub start: String,
    /// `16 mg daily until surgery or radiotherapy`.
    #[serde(rename = "continue")]
    pub continue_: String,
    /// `mscc_excluded`.
    pub stop_if: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AugmentationTiming {
    ClinicianDecision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfScoreAgreement {
    Agrees,
    Disagrees,
    NotAssessable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TreatedLevel {
    pub level: Level,
    pub procedure: Plan,
    pub date: Date,
    pub post_procedure_day: i64,
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
    /// Revision 3 (11.7).
    WholeSpineMri,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Perioperative {
    pub mobilize_within_hours: Option<f64>,
    pub bed_rest_max_days: Option<f64>,
    pub brace: Brace,
    pub analgesia: Vec<Analgesic>,
    pub avoid: Vec<Drug>,
    pub avoid_reasons: BTreeMap<Drug, AvoidReason>,
    /// Revision 3 (11.6).
    pub spinal_precautions: SpinalPrecautions,
    /// Revision 3 (11.6, 11.10, 11.12).
    pub mobilisation: MobilisationPlan,
    /// Revision 3 (11.10): onset date + 5 days when bed rest applies.
    pub bed_rest_until: Option<Date>,
    /// Revision 3 (11.1): days since a performed `procedure.date`.
    pub post_procedure_day: Option<i64>,
    /// Revision 3 (11.12).
    pub context: PeriopContext,
    /// Revision 3 (11.7, 11.17).
    pub adjuncts: Vec<Adjunct>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SpinalPrecautions {
    pub required: bool,
    pub measures: Vec<SpinalMeasure>,
    pub until: Option<PrecautionsUntil>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpinalMeasure {
    FlatBedRest,
    LogRoll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrecautionsUntil {
    SpineSurgeonStabilityAssessment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MobilisationPlan {
    EarlyAfterAugmentation,
    Continue,
    ProgressiveAfterBedRest,
    Progressive,
    AsTolerated,
    SpinalPrecautions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriopContext {
    PreProcedure,
    PostProcedure,
    AwaitingSurgicalReview,
    NonOperative,
}

impl PeriopContext {
    /// Operative contexts: the report's "perioperative" heading is used only for these.
    pub fn is_operative(self) -> bool {
        matches!(
            self,
            PeriopContext::PreProcedure | PeriopContext::PostProcedure
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Adjunct {
    pub code: AdjunctCode,
    /// The drug it accompanies: `nsaid`, `cox2_inhibitor`, `opioid` or `dexamethasone`.
    pub with: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjunctCode {
    Ppi,
    Laxative,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Brace {
    SoftOrDynamic,
    None,
    /// Revision 3 (11.6): spinal precautions; the brace is the spine surgeon's decision.
    PerSurgeon,
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
    /// Revision 3 (11.8).
    MalignancySuspected,
    /// Revision 3 (11.8).
    ProcedurePending,
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
    /// Revision 3 (11.2): which renal measure the rules used.
    pub renal_function: RenalFunction,
    /// Revision 3 (11.3): checks the first-choice drug needs before its next dose.
    pub pre_dose_checks: Vec<PreDoseCheck>,
    /// Revision 3 (11.4).
    pub monitoring: Vec<Monitoring>,
    /// Revision 3 (11.18): every drug in `recommended` and `then`.
    pub dosing: BTreeMap<Drug, Dosing>,
    /// Revision 3 (11.15): anabolic options at very high risk (never the first choice).
    pub anabolic_options: Vec<Drug>,
    /// Revision 3 (11.21).
    pub course_end: Option<CourseEnd>,
    /// Revision 3 (11.21).
    pub exit_plan: Option<ExitPlan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenalFunction {
    pub measure: Option<RenalMeasureCode>,
    pub value: Option<f64>,
    /// `mL/min` (CrCl) or `mL/min/1.73 m²` (eGFR).
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RenalMeasureCode {
    Crcl,
    Egfr,
}

impl RenalMeasureCode {
    /// The unit the contract names for the measure (11.2).
    pub fn unit(self) -> &'static str {
        match self {
            RenalMeasureCode::Crcl => "mL/min",
            RenalMeasureCode::Egfr => "mL/min/1.73 m²",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PreDoseCheck {
    pub code: PreDoseCheckCode,
    pub drug: Drug,
    pub blocking: bool,
    pub requirement: PreDoseRequirement,
}

/// Ordered as the table of rule 11.3.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PreDoseCheckCode {
    RenalFunction,
    SerumCalcium,
    #[serde(rename = "vitamin_d_25oh")]
    VitaminD25oh,
    CkdMbdPanel,
    DentalReview,
}

impl PreDoseCheckCode {
    /// In the order of rule 11.3's table.
    pub const ALL: [PreDoseCheckCode; 5] = [
        PreDoseCheckCode::RenalFunction,
        PreDoseCheckCode::SerumCalcium,
        PreDoseCheckCode::VitaminD25oh,
        PreDoseCheckCode::CkdMbdPanel,
        PreDoseCheckCode::DentalReview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PreDoseCheckCode::RenalFunction => "renal_function",
            PreDoseCheckCode::SerumCalcium => "serum_calcium",
            PreDoseCheckCode::VitaminD25oh => "vitamin_d_25oh",
            PreDoseCheckCode::CkdMbdPanel => "ckd_mbd_panel",
            PreDoseCheckCode::DentalReview => "dental_review",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreDoseRequirement {
    #[serde(rename = "crcl_at_least_35")]
    CrclAtLeast35,
    #[serde(rename = "egfr_or_crcl_at_least_30")]
    EgfrOrCrclAtLeast30,
    #[serde(rename = "calcium_at_least_2_10")]
    CalciumAtLeast2_10,
    #[serde(rename = "calcium_at_most_2_60")]
    CalciumAtMost2_60,
    #[serde(rename = "vitamin_d_at_least_50")]
    VitaminDAtLeast50,
    CkdMbdSpecialistReview,
    OralExamination,
    ExcludeHypercalcaemia,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Monitoring {
    CalciumWeeklyFirstMonthThenMonthly,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Dosing {
    pub dose: Dose,
    /// `mg`, `µg`, or null for calcium and vitamin D.
    pub unit: Option<String>,
    pub route: Route,
    pub interval: DoseInterval,
    pub advice: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Dose {
    Amount(f64),
    CalciumVitaminD {
        calcium_mg_day: f64,
        vitamin_d_iu_day: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Oral,
    Intravenous,
    Subcutaneous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DoseInterval {
    #[serde(rename = "every_12_months")]
    Every12Months,
    Weekly,
    Monthly,
    #[serde(rename = "every_6_months")]
    Every6Months,
    Daily,
    #[serde(rename = "monthly_x12")]
    MonthlyX12,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CourseEnd {
    pub drug: Drug,
    pub date: Option<Date>,
    pub months_remaining: i32,
    pub switch_to: Option<Drug>,
    /// Additive: the course's anchor S of rule 11.21 (the earliest ongoing start, or `as_of`) and
    /// the months from it to `date` (24 − E, or 12 − E), which the follow-up entry copies; null
    /// when `date` is null.
    pub from: Option<Date>,
    pub at_months: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExitPlan {
    pub then_drug: Option<Drug>,
    pub months_after_last_dose: u32,
    pub btm_check_months: Vec<u32>,
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
    /// Revision 3 (11.3): waits for the listed blocking pre-dose checks.
    AfterChecks,
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
    /// Revision 3 (11.4).
    CkdMbdWorkup,
    /// Revision 3 (11.5).
    SurgicalDecision,
}

impl DeferredReason {
    /// Rule 11.5's precedence: when several reasons apply, the lowest rank wins.
    pub fn precedence(self) -> u8 {
        match self {
            DeferredReason::PathologyWorkup => 0,
            DeferredReason::HypercalcaemiaInvestigation => 1,
            DeferredReason::CkdMbdWorkup => 2,
            DeferredReason::CalciumCorrection => 3,
            DeferredReason::VitaminDRepletion => 4,
            DeferredReason::SurgicalDecision => 5,
            DeferredReason::PlannedTransition => 6,
            DeferredReason::SpecialistReview => 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Risks {
    /// Omitted while any fracture is suspected pathological (rule 11.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjacent_fracture: Option<AdjacentFractureRisk>,
    /// Revision 3 (11.14); omitted under 11.9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imminent_fracture: Option<ImminentFracture>,
    /// Revision 3 (11.15).
    pub very_high_fracture_risk: VeryHighRisk,
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
    /// The count tier of 6.1, raised to `high` for an untreated recent fracture (11.13).
    pub tier: Tier,
    pub factors: Vec<String>,
    /// Revision 3 (11.13): the count tier of rule 6.1 alone.
    pub factor_tier: Tier,
    /// Literature-derived, OR-weighted estimate without a time horizon (11.13; see `estimate_basis`);
    /// only when augmentation is planned or performed.
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
    /// Revision 3 (11.13): always null (the pooled studies had variable follow-up).
    pub time_horizon_months: Option<u32>,
    /// Revision 3 (11.13): `variable_pooled`.
    pub follow_up: String,
    /// Revision 3 (11.13): factors present but left out of the OR product.
    pub excluded_factors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImminentFracture {
    pub applies: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_vertebral_fracture_1y_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_pct: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon_months: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VeryHighRisk {
    pub flag: bool,
    pub criteria: Vec<VeryHighCriterion>,
    pub unverified_criteria_met: Vec<UnverifiedCriterion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VeryHighCriterion {
    MultipleVertebralFractures,
    #[serde(rename = "recent_vertebral_fracture_age65_t_le_minus_2_5")]
    RecentVertebralFractureAge65TLeMinus2_5,
    #[serde(rename = "t_score_below_minus_3")]
    TScoreBelowMinus3,
    FractureOnBisphosphonate,
}

impl VeryHighCriterion {
    /// In the order of rule 11.15's table.
    pub const ALL: [VeryHighCriterion; 4] = [
        VeryHighCriterion::MultipleVertebralFractures,
        VeryHighCriterion::RecentVertebralFractureAge65TLeMinus2_5,
        VeryHighCriterion::TScoreBelowMinus3,
        VeryHighCriterion::FractureOnBisphosphonate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VeryHighCriterion::MultipleVertebralFractures => "multiple_vertebral_fractures",
            VeryHighCriterion::RecentVertebralFractureAge65TLeMinus2_5 => {
                "recent_vertebral_fracture_age65_t_le_minus_2_5"
            }
            VeryHighCriterion::TScoreBelowMinus3 => "t_score_below_minus_3",
            VeryHighCriterion::FractureOnBisphosphonate => "fracture_on_bisphosphonate",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnverifiedCriterion {
    #[serde(rename = "recent_fracture_within_12_months")]
    RecentFractureWithin12Months,
    #[serde(rename = "recent_vertebral_fracture_within_24_months")]
    RecentVertebralFractureWithin24Months,
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
    /// Null for a dated drug action without a month count (a denosumab transition, 11.21).
    pub at_months: Option<u32>,
    pub items: Vec<FollowUpItem>,
    pub from: Date,
    pub due: Date,
    /// Revision 3 (11.21): the drug a course end or transition switches to.
    pub switch_to: Option<Drug>,
    /// Revision 3 (11.22): the other entries merged into this visit, ordered by `due`.
    pub merged_from: Vec<MergedEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MergedEntry {
    pub from: Date,
    pub at_months: Option<u32>,
    pub due: Date,
}

/// Rule 11.16: one item of the standard-of-care bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CareItem {
    pub code: CareCode,
    pub recommendation_id: String,
    pub due: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labs: Option<Vec<SecondaryCauseLab>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CareCode {
    FallsRiskAssessment,
    FlsReferral,
    PhysiotherapyStrengthBalance,
    SecondaryCauseScreen,
    VteRiskAssessment,
}

/// Rule 11.16's laboratory list, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecondaryCauseLab {
    FullBloodCount,
    EsrOrCrp,
    CalciumAlbumin,
    Phosphate,
    AlkalinePhosphatase,
    RenalFunction,
    LiverTransaminases,
    Tsh,
    SerumProteinElectrophoresis,
    SerumFreeLightChains,
    #[serde(rename = "vitamin_d_25oh")]
    VitaminD25oh,
    Pth,
    Magnesium,
    Testosterone,
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
    /// Revision 3 (11.21); the enum's order is rule 11.22's item order.
    DenosumabTransition,
    PthCourseEnd,
    RomosozumabCourseEnd,
    ExitPlanReview,
}

impl FollowUpItem {
    /// Every item, in rule 11.22's order (the enum's `Ord`).
    pub const ALL: [FollowUpItem; 9] = [
        FollowUpItem::ClinicalReview,
        FollowUpItem::Radiograph,
        FollowUpItem::Dxa,
        FollowUpItem::BoneTurnoverMarkers,
        FollowUpItem::DenosumabInjection,
        FollowUpItem::DenosumabTransition,
        FollowUpItem::PthCourseEnd,
        FollowUpItem::RomosozumabCourseEnd,
        FollowUpItem::ExitPlanReview,
    ];

    /// A dated drug action that anchors a merged visit (rule 11.22).
    pub fn is_dated_drug_action(self) -> bool {
        matches!(
            self,
            FollowUpItem::DenosumabInjection
                | FollowUpItem::DenosumabTransition
                | FollowUpItem::PthCourseEnd
                | FollowUpItem::RomosozumabCourseEnd
        )
    }
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
    /// Revision 3 (11.24): where `quality`/`strength` come from.
    pub grade_origin: Option<GradeOrigin>,
    /// Revision 3 (11.24): flagged citations of this recommendation.
    pub citation_flags: Vec<CitationFlag>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GradeOrigin {
    SeedReview,
    Guideline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CitationFlag {
    pub source: String,
    pub flag: CitationFlagCode,
    pub note_code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CitationFlagCode {
    DoesNotSupport,
    SingleStudy,
    ObservationalGradedHigh,
    SeedOnlyFigure,
    UnverifiedDesign,
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

/// Rule 11.25 / assessment-v1 "summary": one screen, every value copied from its source field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub decision: SummaryDecision,
    pub levels: Vec<SummaryLevel>,
    /// `treatment.urgent_actions`, then the codes of critical alerts in report order, no duplicates.
    pub urgent_actions: Vec<String>,
    pub drug: SummaryDrug,
    pub next_visit: SummaryVisit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SummaryDecision {
    pub plan: Plan,
    pub urgency: Option<Urgency>,
    pub treated_levels: Vec<Level>,
    pub of_score_agreement: OfScoreAgreement,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SummaryLevel {
    pub level: Level,
    pub procedure: Plan,
    pub approach: Option<Approach>,
    pub cement_min_ml: Option<f64>,
    pub cement_max_ml: Option<f64>,
    pub max_fill_fraction: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SummaryDrug {
    pub name: Option<Drug>,
    pub start: StartTiming,
    pub deferred_reason: Option<DeferredReason>,
    pub start_date: Option<Date>,
    pub dose: Option<Dosing>,
    pub blocking_checks: Vec<PreDoseCheckCode>,
    pub course_end: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SummaryVisit {
    pub due: Option<Date>,
    pub items: Vec<FollowUpItem>,
}

impl Summary {
    /// An empty summary for a report under construction; [`Summary::of`] fills it.
    pub fn placeholder() -> Summary {
        Summary {
            decision: SummaryDecision {
                plan: Plan::InsufficientData,
                urgency: None,
                treated_levels: Vec::new(),
                of_score_agreement: OfScoreAgreement::NotAssessable,
            },
            levels: Vec::new(),
            urgent_actions: Vec::new(),
            drug: SummaryDrug {
                name: None,
                start: StartTiming::Deferred,
                deferred_reason: None,
                start_date: None,
                dose: None,
                blocking_checks: Vec::new(),
                course_end: None,
            },
            next_visit: SummaryVisit {
                due: None,
                items: Vec::new(),
            },
        }
    }

    /// Copies every value from its source field (assessment-v1, `summary` table).
    pub fn of(r: &AssessmentReport) -> Summary {
        let t = &r.treatment;
        let p = &r.pharmacotherapy;
        let mut urgent: Vec<String> = t
            .urgent_actions
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        for a in r.alerts.iter().filter(|a| a.severity == Severity::Critical) {
            if !urgent.contains(&a.code) {
                urgent.push(a.code.clone());
            }
        }
        let name = p.recommended.first().copied();
        let next = r.follow_up.iter().find(|f| f.due >= r.as_of);
        Summary {
            decision: SummaryDecision {
                plan: t.plan,
                urgency: t.urgency,
                treated_levels: t.treated_levels.iter().map(|l| l.level).collect(),
                of_score_agreement: t.of_score_agreement,
            },
            levels: t
                .per_level
                .iter()
                .map(|l| SummaryLevel {
                    level: l.level,
                    procedure: t.plan,
                    approach: l.approach,
                    cement_min_ml: l.cement.map(|c| c.min_ml),
                    cement_max_ml: l.cement.map(|c| c.max_ml),
                    max_fill_fraction: l.cement.map(|c| c.max_fill_fraction),
                })
                .collect(),
            urgent_actions: urgent,
            drug: SummaryDrug {
                name,
                start: p.start,
                deferred_reason: p.deferred_reason,
                start_date: p.start_date,
                dose: name.and_then(|d| p.dosing.get(&d).cloned()),
                blocking_checks: p
                    .pre_dose_checks
                    .iter()
                    .filter(|c| c.blocking && Some(c.drug) == name)
                    .map(|c| c.code)
                    .collect(),
                course_end: p.course_end.as_ref().and_then(|c| c.date),
            },
            next_visit: SummaryVisit {
                due: next.map(|f| f.due),
                items: next.map(|f| f.items.clone()).unwrap_or_default(),
            },
        }
    }
}
