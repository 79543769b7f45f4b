//! The AssessmentRequest of contract `assessment-v1.md` (v1, v1.1 and revision 2 additions).
//!
//! Field names and enumeration values are fixed by the contract. Ranges are declared once, as
//! `schemars` attributes: the published JSON Schema and the validator (`crate::validate`) both read
//! them, so the accepted range printed in an error is the range that is enforced.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::date::Date;

/// One assessment request: a patient with one or more fractured vertebrae.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentRequest {
    /// Date of the assessment; the caller's today when absent. Every duration counts to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<Date>,
    /// `initial` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    pub patient: Patient,
    /// One entry per fractured vertebra; levels unique.
    #[schemars(length(min = 1, max = 17))]
    pub fractures: Vec<FractureInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bone_density: Option<BoneDensityInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labs: Option<Labs>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200))]
    pub medications: Vec<Medication>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<Procedure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<Preferences>,
    /// Results of external fracture-risk calculators, shown, never re-computed (v1.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub risk_tools: Vec<RiskToolResult>,
    /// Revision 3: clearances a clinician has given (rules 11.3, 11.4); absent = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearances: Option<Clearances>,
}

/// Revision 3: checks a clinician has already completed (assessment-v1 "Revision 3 additions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Clearances {
    /// A clinician experienced in CKD–MBD has reviewed calcium, phosphate, intact PTH, 25(OH)D
    /// and 1,25(OH)₂D and approves denosumab (rule 11.4). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ckd_mbd: Option<bool>,
    /// The oral examination has been done, or is not needed (rule 11.3). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dental: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Initial,
    PostProcedure,
    FollowUp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Patient {
    /// Years.
    #[schemars(range(min = 18, max = 120))]
    pub age: u32,
    pub sex: Sex,
    /// Required: never defaulted.
    pub neurological_deficit: NeurologicalDeficit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 5))]
    pub asa_class: Option<u8>,
    /// Clinician's judgement; derived from ASA and comorbidities when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surgical_tolerance: Option<SurgicalTolerance>,
    /// Absent = none reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 14))]
    pub comorbidities: Option<Vec<Comorbidity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adherence: Option<Adherence>,
    /// Fragility fractures before the present ones, any site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 50))]
    pub prior_fragility_fractures: Option<u32>,
    /// Vertebral fractures other than the levels in `fractures[]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 17))]
    pub prior_vertebral_fractures: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonunion_risk: Option<bool>,
    /// OF-score item (v1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobilisation_under_analgesia: Option<Mobilisation>,
    /// 5-item modified frailty index (v1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 5))]
    pub modified_frailty_index: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NeurologicalDeficit {
    None,
    Radicular,
    Incomplete,
    Complete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SurgicalTolerance {
    Good,
    Poor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Comorbidity {
    HeartFailure,
    CoronaryDisease,
    Copd,
    Diabetes,
    ChronicKidneyDisease,
    Dementia,
    MalignancyHistory,
    Coagulopathy,
    AnticoagulantTherapy,
    ActiveInfection,
    RecentMiOrStroke,
    GlucocorticoidUse,
    Smoking,
    RheumatoidArthritis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Adherence {
    Good,
    Poor,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mobilisation {
    Possible,
    NotPossible,
}

/// A vertebral level, T1–T12 and L1–L5.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Level {
    T1,
    T2,
    T3,
    T4,
    T5,
    T6,
    T7,
    T8,
    T9,
    T10,
    T11,
    T12,
    L1,
    L2,
    L3,
    L4,
    L5,
}

impl Level {
    pub const ALL: [Level; 17] = [
        Level::T1,
        Level::T2,
        Level::T3,
        Level::T4,
        Level::T5,
        Level::T6,
        Level::T7,
        Level::T8,
        Level::T9,
        Level::T10,
        Level::T11,
        Level::T12,
        Level::L1,
        Level::L2,
        Level::L3,
        Level::L4,
        Level::L5,
    ];

    pub fn is_thoracic(self) -> bool {
        (self as u8) < (Level::L1 as u8)
    }

    pub fn is_lumbar(self) -> bool {
        !self.is_thoracic()
    }

    pub fn as_str(self) -> &'static str {
        const NAMES: [&str; 17] = [
            "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1", "L2",
            "L3", "L4", "L5",
        ];
        NAMES[self as usize]
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FractureInput {
    pub level: Level,
    /// Days since pain onset or injury.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 36500))]
    pub onset_days: Option<u32>,
    /// Back pain at this level on current analgesia, 0–10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub pain_vas: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 3))]
    pub imaging: Option<Vec<Imaging>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mri: Option<MriSignal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub morphometry: Option<Morphometry>,
    /// When heights are not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub height_loss_pct: Option<f64>,
    /// Local kyphotic angle, degrees; positive = kyphosis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -60, max = 90))]
    pub kyphotic_angle_deg: Option<f64>,
    /// `unknown` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior_wall: Option<PosteriorWall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anterior_cortex_breach: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intravertebral_cleft: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of_type: Option<OfType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5))]
    pub malignancy_signs: Option<Vec<MalignancySign>>,
    /// Further collapse on serial imaging (v1.1, OF-score item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deformity_progression: Option<bool>,
    /// Provenance of an imaging finding (v1.1); shown, never changes a rule by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_source: Option<FindingSource>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Imaging {
    Xray,
    Ct,
    Mri,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Hypointense,
    Isointense,
    Hyperintense,
}

/// MRI signal of the fractured body. `t2` means fat-suppressed T2 (revision 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MriSignal {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t1: Option<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t2: Option<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stir: Option<Signal>,
}

/// Six-point vertebral heights, millimetres (> 0 and ≤ 60).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Morphometry {
    #[schemars(range(max = 60), extend("exclusiveMinimum" = 0))]
    pub anterior_mm: f64,
    #[schemars(range(max = 60), extend("exclusiveMinimum" = 0))]
    pub middle_mm: f64,
    #[schemars(range(max = 60), extend("exclusiveMinimum" = 0))]
    pub posterior_mm: f64,
    /// Posterior height of the nearest normal vertebra.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 60), extend("exclusiveMinimum" = 0))]
    pub reference_mm: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PosteriorWall {
    Intact,
    Involved,
    Retropulsion,
    Unknown,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum OfType {
    OF1,
    OF2,
    OF3,
    OF4,
    OF5,
}

impl OfType {
    pub fn number(self) -> i32 {
        self as i32 + 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MalignancySign {
    ConvexPosteriorBorder,
    PedicleOrPosteriorElementInvolvement,
    EpiduralOrParaspinalMass,
    DiffuseMarrowReplacement,
    OtherOsseousLesions,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingSource {
    pub method: FindingMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub confidence: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingMethod {
    Manual,
    Ai,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BoneDensityInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dxa: Option<Dxa>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4))]
    pub dxa_confounders: Option<Vec<DxaConfounder>>,
    /// Trabecular volumetric BMD, mg/cm³.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 400))]
    pub qct_vbmd_mg_cm3: Option<f64>,
    /// Opportunistic CT attenuation of L1 trabecular bone, HU (v1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -200, max = 1000))]
    pub ct_hu_l1: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dxa {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -7, max = 5))]
    pub lumbar_spine_t: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -7, max = 5))]
    pub femoral_neck_t: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -7, max = 5))]
    pub total_hip_t: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DxaConfounder {
    DegenerativeChanges,
    AorticCalcification,
    Scoliosis,
    PriorAugmentation,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Labs {
    /// eGFR, mL/min/1.73 m².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 200))]
    pub egfr_ml_min: Option<f64>,
    /// Cockcroft–Gault creatinine clearance, mL/min (revision 2); wins over eGFR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 250))]
    pub crcl_ml_min: Option<f64>,
    /// Serum calcium, mmol/L (albumin-adjusted where the laboratory reports it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.5, max = 5))]
    pub calcium_mmol_l: Option<f64>,
    /// 25(OH)D, nmol/L.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 500))]
    pub vitamin_d_nmol_l: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2000))]
    pub p1np_ug_l: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub ctx_ng_ml: Option<f64>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Drug {
    Alendronate,
    Risedronate,
    Ibandronate,
    ZoledronicAcid,
    Denosumab,
    Teriparatide,
    Abaloparatide,
    Romosozumab,
    Calcitonin,
    Nsaid,
    Cox2Inhibitor,
    Opioid,
    CalciumVitaminD,
    Glucocorticoid,
    Paracetamol,
}

impl Drug {
    /// Every drug code, in declaration order.
    pub const ALL: [Drug; 15] = [
        Drug::Alendronate,
        Drug::Risedronate,
        Drug::Ibandronate,
        Drug::ZoledronicAcid,
        Drug::Denosumab,
        Drug::Teriparatide,
        Drug::Abaloparatide,
        Drug::Romosozumab,
        Drug::Calcitonin,
        Drug::Nsaid,
        Drug::Cox2Inhibitor,
        Drug::Opioid,
        Drug::CalciumVitaminD,
        Drug::Glucocorticoid,
        Drug::Paracetamol,
    ];

    /// Decision rules 0.3: anti-osteoporosis drugs (not calcitonin, not calcium + vitamin D).
    pub fn is_antiosteoporosis(self) -> bool {
        matches!(
            self,
            Drug::Alendronate
                | Drug::Risedronate
                | Drug::Ibandronate
                | Drug::ZoledronicAcid
                | Drug::Denosumab
                | Drug::Teriparatide
                | Drug::Abaloparatide
                | Drug::Romosozumab
        )
    }

    pub fn is_bisphosphonate(self) -> bool {
        matches!(
            self,
            Drug::Alendronate | Drug::Risedronate | Drug::Ibandronate | Drug::ZoledronicAcid
        )
    }

    pub fn is_oral_bisphosphonate(self) -> bool {
        matches!(
            self,
            Drug::Alendronate | Drug::Risedronate | Drug::Ibandronate
        )
    }

    pub fn is_pth_analogue(self) -> bool {
        matches!(self, Drug::Teriparatide | Drug::Abaloparatide)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Drug::Alendronate => "alendronate",
            Drug::Risedronate => "risedronate",
            Drug::Ibandronate => "ibandronate",
            Drug::ZoledronicAcid => "zoledronic_acid",
            Drug::Denosumab => "denosumab",
            Drug::Teriparatide => "teriparatide",
            Drug::Abaloparatide => "abaloparatide",
            Drug::Romosozumab => "romosozumab",
            Drug::Calcitonin => "calcitonin",
            Drug::Nsaid => "nsaid",
            Drug::Cox2Inhibitor => "cox2_inhibitor",
            Drug::Opioid => "opioid",
            Drug::CalciumVitaminD => "calcium_vitamin_d",
            Drug::Glucocorticoid => "glucocorticoid",
            Drug::Paracetamol => "paracetamol",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Medication {
    pub drug: Drug,
    pub start: Date,
    /// Absent = ongoing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_dose: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    #[serde(rename = "type")]
    pub kind: ProcedureType,
    pub level: Level,
    /// Performed when ≤ `as_of`, else planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 30))]
    pub cement_volume_ml: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 150), extend("exclusiveMinimum" = 0))]
    pub vertebral_body_volume_ml: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 150))]
    pub height_restoration_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4))]
    pub cement_leakage: Option<Vec<CementLeakage>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProcedureType {
    Vertebroplasty,
    Kyphoplasty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CementLeakage {
    Intradiscal,
    Paravertebral,
    Venous,
    SpinalCanal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    RapidPainRelief,
    AlignmentRestoration,
}

/// A result of an external fracture-risk calculator (v1.1): taken as input and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskToolResult {
    pub tool: RiskTool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub major_osteoporotic_10y_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub hip_10y_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub category: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskTool {
    Frax,
    Qfracture,
    Garvan,
    Caroc,
}
