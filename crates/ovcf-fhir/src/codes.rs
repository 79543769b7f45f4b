//! Code systems and codes the mapping reads and the cards write.
//!
//! Status of each code (README, "Codes"): ✔ read in a primary source, ◐ corroborated by two or
//! more independent third-party sources, own = the project's own CodeSystem.

use ovcf_core::request::{Drug, Level, ProcedureType};

pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
pub const ICD10_CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const ATC: &str = "http://www.whocc.no/atc";
pub const CPT: &str = "http://www.ama-assn.org/go/cpt";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const DICOM_DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";

/// The project's CodeSystem for findings with no standard code (README, "Own codes").
pub const OVCF_OBSERVATION: &str = "https://ovcf-pathway.org/fhir/CodeSystem/ovcf-observation";
/// The project's CodeSystem for the coded values of those findings: the contract's enumeration
/// values verbatim (`hyperintense`, `retropulsion`, `OF3`, …).
pub const OVCF_VALUE: &str = "https://ovcf-pathway.org/fhir/CodeSystem/ovcf-value";
/// Comorbidities, coded with the contract's enumeration values (`recent_mi_or_stroke`, …).
pub const OVCF_COMORBIDITY: &str = "https://ovcf-pathway.org/fhir/CodeSystem/ovcf-comorbidity";
/// Card topics: the engine's alert codes and `plan`.
pub const OVCF_CARD_TOPIC: &str = "https://ovcf-pathway.org/fhir/CodeSystem/ovcf-card-topic";
/// Override reasons offered on cards.
pub const OVCF_OVERRIDE_REASON: &str =
    "https://ovcf-pathway.org/fhir/CodeSystem/ovcf-override-reason";

/// LOINC, DXA lumbar spine T-score (✔).
pub const LOINC_DXA_LUMBAR_T: &str = "38267-1";
/// LOINC, DXA femur T-score; femoral neck only with a femoral-neck `bodySite` (✔).
pub const LOINC_DXA_FEMUR_T: &str = "38263-0";
/// LOINC, DXA total hip T-score (✔).
pub const LOINC_DXA_HIP_T: &str = "38264-8";
/// LOINC, pain severity 0–10 verbal numeric rating, reported (◐).
pub const LOINC_PAIN: &str = "72514-3";
/// LOINC eGFR (CKD-EPI 2021) written on outbound Observations; inbound codes are in the code map.
pub const LOINC_EGFR_OUT: &str = "98979-8";

/// SNOMED CT body structure "Structure of neck of femur" (◐).
pub const SNOMED_FEMORAL_NECK: &str = "29627003";

/// SNOMED CT bone structure of each vertebra T1–L5 (◐: DICOM PS3.16 CID 7603 "Vertebra" and
/// independent segmentation code lists agree; not checked against a SNOMED release).
pub const SNOMED_VERTEBRAE: [(Level, &str); 17] = [
    (Level::T1, "64864005"),
    (Level::T2, "53733008"),
    (Level::T3, "1626008"),
    (Level::T4, "73071006"),
    (Level::T5, "56401006"),
    (Level::T6, "45296009"),
    (Level::T7, "62487009"),
    (Level::T8, "11068009"),
    (Level::T9, "82687006"),
    (Level::T10, "7610001"),
    (Level::T11, "12989004"),
    (Level::T12, "23215003"),
    (Level::L1, "66794005"),
    (Level::L2, "14293000"),
    (Level::L3, "36470004"),
    (Level::L4, "11994002"),
    (Level::L5, "49668003"),
];

pub fn snomed_vertebra(code: &str) -> Option<Level> {
    SNOMED_VERTEBRAE
        .iter()
        .find(|(_, c)| *c == code)
        .map(|(l, _)| *l)
}

pub fn vertebra_snomed(level: Level) -> &'static str {
    SNOMED_VERTEBRAE
        .iter()
        .find(|(l, _)| *l == level)
        .map_or("", |(_, c)| c)
}

/// The ATC code written on outbound MedicationRequests (cards' "create the alternative"): the
/// first ATC code of the drug in the code map.
pub fn drug_atc(drug: Drug) -> Option<&'static str> {
    crate::codemap::active().drug_atc(drug)
}

/// Vertebroplasty / kyphoplasty from a CPT code (✔: 22510–22512 vertebroplasty, 22513–22515
/// vertebral augmentation).
pub fn cpt_procedure(code: &str) -> Option<ProcedureType> {
    match code.trim() {
        "22510" | "22511" | "22512" => Some(ProcedureType::Vertebroplasty),
        "22513" | "22514" | "22515" => Some(ProcedureType::Kyphoplasty),
        _ => None,
    }
}

/// Vertebroplasty / kyphoplasty from free text (code.text or a coding's display), zh or en.
pub fn text_procedure(text: &str) -> Option<ProcedureType> {
    let t = text.to_lowercase();
    if t.contains("kyphoplasty") || t.contains("后凸成形") || t.contains("vertebral augmentation")
    {
        Some(ProcedureType::Kyphoplasty)
    } else if t.contains("vertebroplasty") || t.contains("椎体成形") {
        Some(ProcedureType::Vertebroplasty)
    } else {
        None
    }
}

/// Own observation codes (README table). Each names the request field it fills.
pub mod own {
    pub const NEUROLOGICAL_DEFICIT: &str = "neurological-deficit";
    pub const ADHERENCE: &str = "adherence";
    pub const ASA_CLASS: &str = "asa-class";
    pub const SURGICAL_TOLERANCE: &str = "surgical-tolerance";
    pub const PRIOR_FRAGILITY_FRACTURES: &str = "prior-fragility-fractures";
    pub const PRIOR_VERTEBRAL_FRACTURES: &str = "prior-vertebral-fractures";
    pub const NONUNION_RISK: &str = "nonunion-risk";
    pub const MOBILISATION: &str = "mobilisation-under-analgesia";
    pub const FRAILTY_INDEX: &str = "modified-frailty-index";
    pub const HEIGHT_LOSS_PCT: &str = "height-loss-pct";
    pub const KYPHOTIC_ANGLE: &str = "kyphotic-angle";
    pub const HEIGHT_ANTERIOR: &str = "vertebral-height-anterior";
    pub const HEIGHT_MIDDLE: &str = "vertebral-height-middle";
    pub const HEIGHT_POSTERIOR: &str = "vertebral-height-posterior";
    pub const HEIGHT_REFERENCE: &str = "vertebral-height-reference";
    pub const MRI_T1: &str = "mri-t1-signal";
    pub const MRI_T2: &str = "mri-t2-fs-signal";
    pub const MRI_STIR: &str = "mri-stir-signal";
    pub const POSTERIOR_WALL: &str = "posterior-wall";
    pub const ANTERIOR_CORTEX_BREACH: &str = "anterior-cortex-breach";
    pub const INTRAVERTEBRAL_CLEFT: &str = "intravertebral-cleft";
    pub const OF_TYPE: &str = "of-type";
    pub const MALIGNANCY_SIGN: &str = "malignancy-sign";
    pub const DEFORMITY_PROGRESSION: &str = "deformity-progression";
    /// Genant semiquantitative grade: an engine output, written on outbound Observations only.
    pub const GENANT_GRADE: &str = "genant-grade";
}
