//! FHIR R4 → AssessmentRequest, per contract api-v1 "FHIR R4 mapping (inbound)".
//!
//! Tolerant of unknown elements; strict on the elements it reads: a bad value in a used element
//! is an [`MappingIssue`] naming the resource and the element path, and the value is dropped,
//! never repaired. A required request field with no FHIR value is listed in
//! [`MappedRequest::missing_required`], never defaulted.

use std::collections::{BTreeMap, BTreeSet};

use ovcf_core::Date;
use ovcf_core::request::{
    AssessmentRequest, BoneDensityInput, Comorbidity, Drug, Dxa, FractureInput, Imaging, Labs,
    Level, Medication, Morphometry, MriSignal, NeurologicalDeficit, Patient, Procedure,
    ProcedureType, Sex,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cds::HookRequest;
use crate::codemap::{self, CodeMap, Field, FractureKind, Side, SiteNeed, UnitRead};
use crate::codes::{self, own};
use crate::fhir::{self, FhirDate};

/// How serious an issue is (FHIR OperationOutcome `issue.severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueSeverity {
    /// A value in an element the mapping uses is invalid; it was dropped.
    Error,
    /// Data was present but could not be used (conflict, partial date, no level …).
    Warning,
    /// For the record: how something was read.
    Information,
}

/// Stable machine code of an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueCode {
    InvalidValue,
    UnsupportedUnit,
    OutOfRange,
    PartialDate,
    FutureDate,
    Conflict,
    MissingLevel,
    NotUsed,
    MultiplePatients,
    OtherPatient,
    PrefetchError,
    ContractViolation,
    /// Older than the field's window (knowledge/fhir-codes.toml `[[window]]`).
    Stale,
    /// Observation status other than final/amended/corrected.
    NotFinal,
    /// A value the mapping cannot read as a number (text, a censored `<`/`>` value).
    UnreadableValue,
    /// A code the map knows and deliberately does not read (BMD instead of T-score …).
    KnownUnused,
    /// A vertebral fracture coded as trauma: not assessed as OVCF.
    NotAssessed,
    /// A value the engine uses has no usable FHIR source (absent, not assumed).
    Absent,
    /// A pain score dated before the fracture's onset.
    BeforeOnset,
}

impl IssueCode {
    /// FHIR `issue-type` for an OperationOutcome.
    pub fn fhir_issue_type(self) -> &'static str {
        match self {
            IssueCode::InvalidValue | IssueCode::UnsupportedUnit | IssueCode::OutOfRange => "value",
            IssueCode::PartialDate | IssueCode::MissingLevel | IssueCode::Absent => "incomplete",
            IssueCode::Stale | IssueCode::NotFinal | IssueCode::NotAssessed => "business-rule",
            IssueCode::UnreadableValue => "value",
            IssueCode::BeforeOnset => "business-rule",
            IssueCode::KnownUnused => "informational",
            IssueCode::FutureDate | IssueCode::OtherPatient | IssueCode::ContractViolation => {
                "business-rule"
            }
            IssueCode::Conflict => "conflict",
            IssueCode::NotUsed => "informational",
            IssueCode::MultiplePatients => "multiple-matches",
            IssueCode::PrefetchError => "exception",
        }
    }
}

/// One finding of the mapping. Messages never contain patient values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingIssue {
    pub severity: IssueSeverity,
    pub code: IssueCode,
    /// `Observation/123` (or the type alone when the resource has no id).
    pub resource: String,
    /// FHIR element path, e.g. `valueQuantity.value`.
    pub path: String,
    pub message: String,
    /// The request field concerned (`labs.egfr_ml_min`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value as written in the EHR (value and unit), for the clinician's data-quality list;
    /// never put into `message` (messages may be logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The clinical date of the value (YYYY-MM-DD), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

impl MappingIssue {
    /// An issue with no field, value or date.
    pub fn new(
        severity: IssueSeverity,
        code: IssueCode,
        resource: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> MappingIssue {
        MappingIssue {
            severity,
            code,
            resource: resource.into(),
            path: path.into(),
            message: message.into(),
            field: None,
            value: None,
            date: None,
        }
    }

    pub fn with_field(mut self, field: &str) -> MappingIssue {
        self.field = Some(field.to_string());
        self
    }
}

/// The patient part of a request as far as FHIR supplied it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartialPatient {
    pub age: Option<u32>,
    pub sex: Option<Sex>,
    pub neurological_deficit: Option<NeurologicalDeficit>,
    pub asa_class: Option<u8>,
    pub surgical_tolerance: Option<ovcf_core::request::SurgicalTolerance>,
    pub comorbidities: Option<Vec<Comorbidity>>,
    pub adherence: Option<ovcf_core::request::Adherence>,
    pub prior_fragility_fractures: Option<u32>,
    pub prior_vertebral_fractures: Option<u32>,
    pub nonunion_risk: Option<bool>,
    pub mobilisation_under_analgesia: Option<ovcf_core::request::Mobilisation>,
    pub modified_frailty_index: Option<u8>,
}

/// Everything the FHIR data supplied, required fields possibly absent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartialRequest {
    pub patient: PartialPatient,
    pub fractures: Vec<FractureInput>,
    /// Vertebral fractures coded without a level (onset days, when known): the engine needs a
    /// level, which is never guessed; `assess_mapped` evaluates representative levels instead.
    #[serde(default)]
    pub unlevelled_fractures: Vec<Option<u32>>,
    /// Current vertebral fractures coded as trauma (ICD-10 S22.0/S32.0): reported, not assessed.
    #[serde(default)]
    pub traumatic_fractures: usize,
    pub bone_density: Option<BoneDensityInput>,
    pub labs: Option<Labs>,
    pub medications: Vec<Medication>,
    pub procedure: Option<Procedure>,
}

/// The path reported when a fracture Condition has no vertebral level.
pub const FRACTURE_LEVEL_PATH: &str = "fractures[].level";

impl PartialRequest {
    /// As [`PartialRequest::with_neurological_deficit`], with the unlevelled fractures placed at
    /// `levels` (one per unlevelled fracture, distinct and unused) — one of several evaluations
    /// whose common decisions are kept, never a guess.
    pub fn variant(
        &self,
        as_of: Date,
        deficit: NeurologicalDeficit,
        levels: &[Level],
    ) -> Option<AssessmentRequest> {
        let mut p = self.clone();
        for (onset, level) in self.unlevelled_fractures.iter().zip(levels) {
            let mut f = blank_fracture(*level);
            f.onset_days = *onset;
            p.fractures.push(f);
        }
        p.with_neurological_deficit(as_of, deficit)
    }

    /// The request with `neurological_deficit` set to `deficit`; `None` when age, sex or every
    /// fracture is missing. Used by [`crate::assess::assess_mapped`] to evaluate every possible
    /// value of a field FHIR has no source for — never to pick one.
    pub fn with_neurological_deficit(
        &self,
        as_of: Date,
        deficit: NeurologicalDeficit,
    ) -> Option<AssessmentRequest> {
        let p = &self.patient;
        if self.fractures.is_empty() {
            return None;
        }
        Some(AssessmentRequest {
            as_of: Some(as_of),
            phase: None,
            patient: Patient {
                age: p.age?,
                sex: p.sex?,
                neurological_deficit: deficit,
                asa_class: p.asa_class,
                surgical_tolerance: p.surgical_tolerance,
                comorbidities: p.comorbidities.clone(),
                adherence: p.adherence,
                prior_fragility_fractures: p.prior_fragility_fractures,
                prior_vertebral_fractures: p.prior_vertebral_fractures,
                nonunion_risk: p.nonunion_risk,
                mobilisation_under_analgesia: p.mobilisation_under_analgesia,
                modified_frailty_index: p.modified_frailty_index,
            },
            fractures: self.fractures.clone(),
            bone_density: self.bone_density.clone(),
            labs: self.labs,
            medications: self.medications.clone(),
            procedure: self.procedure.clone(),
            preferences: None,
            risk_tools: Vec::new(),
            clearances: None,
        })
    }
}

/// The result of mapping FHIR data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappedRequest {
    pub as_of: Date,
    /// The complete request: present only when every required field had a FHIR value and the
    /// request passed the contract validation.
    pub request: Option<AssessmentRequest>,
    pub partial: PartialRequest,
    /// Request paths of required fields with no FHIR value (`patient.neurological_deficit`,
    /// `patient.age`, `patient.sex`, `fractures`).
    pub missing_required: Vec<String>,
    pub issues: Vec<MappingIssue>,
}

impl MappedRequest {
    /// Issues of severity `error`.
    pub fn errors(&self) -> impl Iterator<Item = &MappingIssue> {
        self.issues
            .iter()
            .filter(|i| i.severity == IssueSeverity::Error)
    }

    /// A FHIR OperationOutcome listing the missing required fields and every issue (the body of
    /// a 412 answer, or an informational companion to cards).
    pub fn operation_outcome(&self) -> Value {
        let mut issues: Vec<Value> = self
            .missing_required
            .iter()
            .map(|p| {
                json!({
                    "severity": "error",
                    "code": "required",
                    "diagnostics": format!("no FHIR data for required field {p}"),
                    "expression": [p],
                })
            })
            .collect();
        for i in &self.issues {
            issues.push(json!({
                "severity": i.severity,
                "code": i.code.fhir_issue_type(),
                "details": {"coding": [{"system": codes::OVCF_VALUE, "code": i.code}]},
                "diagnostics": i.message,
                "expression": [format!("{}.{}", i.resource.split('/').next().unwrap_or(""), i.path)],
                "location": [format!("{} {}", i.resource, i.path)],
            }));
        }
        if issues.is_empty() {
            issues.push(json!({"severity": "information", "code": "informational",
                "diagnostics": "mapped without issues"}));
        }
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }
}

/// Maps every resource in a Bundle (or a single resource).
pub fn map_bundle(bundle: &Value, patient_id: Option<&str>, as_of: Date) -> MappedRequest {
    map_resources(&fhir::bundle_resources(bundle), patient_id, as_of)
}

/// Maps the `prefetch` of a hook request (every key; Bundles opened; `null` skipped;
/// OperationOutcomes reported as issues). The patient is `context.patientId`.
pub fn map_hook_request(req: &HookRequest, as_of: Date) -> MappedRequest {
    let mut resources = Vec::new();
    let mut outcome_keys = Vec::new();
    if let Some(prefetch) = &req.prefetch {
        for (key, v) in prefetch {
            if fhir::resource_type(v) == Some("OperationOutcome") {
                outcome_keys.push(key.clone());
                continue;
            }
            resources.extend(fhir::bundle_resources(v));
        }
    }
    let mut mapped = map_resources(&resources, req.patient_id(), as_of);
    for key in outcome_keys {
        mapped.issues.push(MappingIssue::new(
            IssueSeverity::Warning,
            IssueCode::PrefetchError,
            "OperationOutcome",
            format!("prefetch.{key}"),
            "the client reported an error for this prefetch key; its data are missing",
        ));
    }
    mapped
}

/// Maps a set of resources for one patient at `as_of` with the code map in use
/// ([`codemap::active`]).
pub fn map_resources(resources: &[&Value], patient_id: Option<&str>, as_of: Date) -> MappedRequest {
    map_resources_with(codemap::active(), resources, patient_id, as_of)
}

/// As [`map_resources`] with an explicit code map (tests, `ovcf fhir map --code-map`).
pub fn map_resources_with(
    map: &CodeMap,
    resources: &[&Value],
    patient_id: Option<&str>,
    as_of: Date,
) -> MappedRequest {
    let mut m = Mapper {
        map,
        as_of,
        issues: Vec::new(),
        unlevelled: Vec::new(),
        traumatic: 0,
    };
    let resources = m.own_patient_only(resources, patient_id);
    let mut partial = PartialRequest::default();
    m.patient(&resources, patient_id, &mut partial.patient);
    let obs = m.observations(&resources);
    m.patient_observations(&obs, &mut partial.patient);
    partial.patient.comorbidities = m.comorbidities(&resources);
    partial.fractures = m.fractures(&resources, &obs);
    partial.unlevelled_fractures = std::mem::take(&mut m.unlevelled);
    partial.traumatic_fractures = m.traumatic;
    m.imaging(&resources, &mut partial.fractures);
    let dxa = Dxa {
        lumbar_spine_t: m.latest_field(&obs, Field::LumbarT),
        femoral_neck_t: m.latest_field(&obs, Field::FemoralNeckT),
        total_hip_t: m.latest_field(&obs, Field::TotalHipT),
    };
    if dxa != Dxa::default() {
        partial.bone_density = Some(BoneDensityInput {
            dxa: Some(dxa),
            ..BoneDensityInput::default()
        });
    }
    let labs = Labs {
        egfr_ml_min: m.latest_field(&obs, Field::Egfr),
        crcl_ml_min: m.latest_field(&obs, Field::Crcl),
        calcium_mmol_l: m.latest_field(&obs, Field::Calcium),
        vitamin_d_nmol_l: m.latest_field(&obs, Field::VitaminD),
        p1np_ug_l: m.latest_field(&obs, Field::P1np),
        ctx_ng_ml: m.latest_field(&obs, Field::Ctx),
    };
    if labs != Labs::default() {
        partial.labs = Some(labs);
    }
    m.report_absent(&partial);
    partial.medications = m.medications(&resources);
    partial.procedure = m.procedure(&resources, &partial.fractures);

    let mut missing_required = Vec::new();
    if partial.patient.age.is_none() {
        missing_required.push("patient.age".to_string());
    }
    if partial.patient.sex.is_none() {
        missing_required.push("patient.sex".to_string());
    }
    if partial.patient.neurological_deficit.is_none() {
        missing_required.push("patient.neurological_deficit".to_string());
    }
    if !partial.unlevelled_fractures.is_empty() {
        missing_required.push(FRACTURE_LEVEL_PATH.to_string());
    } else if partial.fractures.is_empty() {
        missing_required.push("fractures".to_string());
    }
    let mut request = partial
        .patient
        .neurological_deficit
        .filter(|_| partial.unlevelled_fractures.is_empty())
        .and_then(|d| partial.with_neurological_deficit(as_of, d));
    // The contract's own validation, so that a mapped request the engine would refuse is
    // reported here, with paths, rather than failing later.
    let probe = request
        .clone()
        .or_else(|| partial.with_neurological_deficit(as_of, NeurologicalDeficit::None));
    if let Some(probe) = probe {
        let errors = serde_json::to_value(&probe)
            .map_err(|e| {
                vec![ovcf_core::FieldError {
                    path: String::new(),
                    message: e.to_string(),
                }]
            })
            .and_then(|v| ovcf_core::validate_value(&v, as_of).map(|_| ()));
        if let Err(errors) = errors {
            request = None;
            for e in errors {
                m.issues.push(MappingIssue::new(
                    IssueSeverity::Error,
                    IssueCode::ContractViolation,
                    "AssessmentRequest",
                    e.path,
                    e.message,
                ));
            }
        }
    }
    MappedRequest {
        as_of,
        request,
        partial,
        missing_required,
        issues: m.issues,
    }
}

/// What an Observation fills.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    /// A lab or DXA field of the code map (pain has its own slot).
    Field(Field),
    /// Pain; `None` = no level given (applies to every fractured level).
    Pain(Option<Level>),
    /// A patient-level own code.
    Patient(&'static str),
    /// A level-specific own code.
    Level(Level, &'static str),
}

struct Obs<'a> {
    slot: Slot,
    /// The Observation (label, status, date, bodySite).
    res: &'a Value,
    /// Where the value is: the Observation itself, or one of its `component`s.
    val: &'a Value,
    /// `""` or `component[i].` (element paths in issues).
    at: String,
    date: Option<Date>,
    /// Preference on the same day (lower wins; code map `rank`).
    rank: u8,
    side: Option<Side>,
}
pub(crate) const PATIENT_CODES: [&str; 9] = [
    own::NEUROLOGICAL_DEFICIT,
    own::ADHERENCE,
    own::ASA_CLASS,
    own::SURGICAL_TOLERANCE,
    own::PRIOR_FRAGILITY_FRACTURES,
    own::PRIOR_VERTEBRAL_FRACTURES,
    own::NONUNION_RISK,
    own::MOBILISATION,
    own::FRAILTY_INDEX,
];

pub(crate) const LEVEL_CODES: [&str; 15] = [
    own::HEIGHT_LOSS_PCT,
    own::KYPHOTIC_ANGLE,
    own::HEIGHT_ANTERIOR,
    own::HEIGHT_MIDDLE,
    own::HEIGHT_POSTERIOR,
    own::HEIGHT_REFERENCE,
    own::MRI_T1,
    own::MRI_T2,
    own::MRI_STIR,
    own::POSTERIOR_WALL,
    own::ANTERIOR_CORTEX_BREACH,
    own::INTRAVERTEBRAL_CLEFT,
    own::OF_TYPE,
    own::MALIGNANCY_SIGN,
    own::DEFORMITY_PROGRESSION,
];

/// A number of an own code with its accepted range and units (normalised as
/// [`codemap::norm_unit`]).
struct NumSpec {
    min: f64,
    max: f64,
    /// Exclusive lower bound (heights: > 0).
    min_exclusive: bool,
    units: &'static [&'static str],
    integer: bool,
}

fn num_spec(slot: &Slot) -> NumSpec {
    let n = |min, max, units| NumSpec {
        min,
        max,
        min_exclusive: false,
        units,
        integer: false,
    };
    let int = |min, max| NumSpec {
        integer: true,
        ..n(min, max, &["1"])
    };
    match slot {
        Slot::Field(f) => {
            let (lo, hi) = f.range();
            n(lo, hi, &[])
        }
        Slot::Pain(_) => {
            let (lo, hi) = Field::Pain.range();
            n(lo, hi, &[])
        }
        Slot::Patient(code) => match *code {
            own::ASA_CLASS => int(1.0, 5.0),
            own::PRIOR_FRAGILITY_FRACTURES => int(0.0, 50.0),
            own::PRIOR_VERTEBRAL_FRACTURES => int(0.0, 17.0),
            own::FRAILTY_INDEX => int(0.0, 5.0),
            _ => n(0.0, 0.0, &[]),
        },
        Slot::Level(_, code) => match *code {
            own::HEIGHT_LOSS_PCT => n(0.0, 100.0, &["%"]),
            own::KYPHOTIC_ANGLE => n(-60.0, 90.0, &["deg"]),
            _ => NumSpec {
                min_exclusive: true,
                ..n(0.0, 60.0, &["mm"])
            },
        },
    }
}

/// The code-map field of a slot (labs, DXA and pain), for units and windows.
fn slot_field(slot: &Slot) -> Option<Field> {
    match slot {
        Slot::Field(f) => Some(*f),
        Slot::Pain(_) => Some(Field::Pain),
        _ => None,
    }
}

struct Mapper<'m> {
    map: &'m CodeMap,
    as_of: Date,
    issues: Vec<MappingIssue>,
    /// Onsets of vertebral-fracture Conditions without a level (see `PartialRequest`).
    unlevelled: Vec<Option<u32>>,
    /// Vertebral fractures coded as trauma (not assessed).
    traumatic: usize,
}

impl Mapper<'_> {
    fn issue(
        &mut self,
        severity: IssueSeverity,
        code: IssueCode,
        res: &Value,
        path: &str,
        message: impl Into<String>,
    ) {
        self.issues.push(MappingIssue::new(
            severity,
            code,
            fhir::label(res),
            path,
            message,
        ));
    }

    /// An issue about a value of a request field (with the value and date for the clinician).
    #[allow(clippy::too_many_arguments)]
    fn value_issue(
        &mut self,
        severity: IssueSeverity,
        code: IssueCode,
        res: &Value,
        path: &str,
        field: Field,
        value: Option<String>,
        date: Option<Date>,
        message: impl Into<String>,
    ) {
        let mut i = MappingIssue::new(severity, code, fhir::label(res), path, message)
            .with_field(field.path());
        i.value = value;
        i.date = date.map(|d| d.to_string());
        self.issues.push(i);
    }

    /// Drops resources whose subject is another patient.
    fn own_patient_only<'a>(
        &mut self,
        resources: &[&'a Value],
        patient_id: Option<&str>,
    ) -> Vec<&'a Value> {
        let Some(pid) = patient_id else {
            return resources.to_vec();
        };
        let mut out = Vec::with_capacity(resources.len());
        for r in resources {
            let rt = fhir::resource_type(r).unwrap_or("");
            let other = if rt == "Patient" {
                r.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id != pid)
            } else {
                let subj = fhir::reference(r.get("subject")).or(fhir::reference(r.get("patient")));
                subj.and_then(fhir::patient_ref_id)
                    .is_some_and(|id| id != pid)
            };
            if other {
                self.issue(
                    IssueSeverity::Warning,
                    IssueCode::OtherPatient,
                    r,
                    if rt == "Patient" { "id" } else { "subject" },
                    "resource belongs to another patient; not used",
                );
            } else {
                out.push(*r);
            }
        }
        out
    }

    fn patient(
        &mut self,
        resources: &[&Value],
        patient_id: Option<&str>,
        out: &mut PartialPatient,
    ) {
        let patients: Vec<&Value> = resources
            .iter()
            .copied()
            .filter(|r| fhir::resource_type(r) == Some("Patient"))
            // A Patient without an id (e.g. a prefetched read) is the patient in context.
            .filter(|r| {
                patient_id.is_none_or(|pid| {
                    r.get("id")
                        .and_then(Value::as_str)
                        .is_none_or(|id| id == pid)
                })
            })
            .collect();
        let p = match patients.as_slice() {
            [] => return,
            [p] => *p,
            [p, rest @ ..] => {
                if rest.iter().any(|q| q != p) {
                    self.issue(
                        IssueSeverity::Error,
                        IssueCode::MultiplePatients,
                        p,
                        "",
                        "more than one Patient resource; demographics not used",
                    );
                    return;
                }
                *p
            }
        };
        match p.get("birthDate") {
            None => {}
            Some(v) => match v.as_str().and_then(fhir::parse_date) {
                Some(FhirDate::Day(born)) => {
                    if born > self.as_of {
                        self.issue(
                            IssueSeverity::Error,
                            IssueCode::FutureDate,
                            p,
                            "birthDate",
                            "birth date is after the assessment date",
                        );
                    } else {
                        let age = completed_years(born, self.as_of);
                        if (18..=120).contains(&age) {
                            out.age = Some(age);
                        } else {
                            self.issue(
                                IssueSeverity::Error,
                                IssueCode::OutOfRange,
                                p,
                                "birthDate",
                                "age at the assessment date is outside 18–120 years (the engine assesses adults)",
                            );
                        }
                    }
                }
                Some(FhirDate::Partial) => self.issue(
                    IssueSeverity::Warning,
                    IssueCode::PartialDate,
                    p,
                    "birthDate",
                    "birth date without a day: age in completed years is not certain",
                ),
                None => self.issue(
                    IssueSeverity::Error,
                    IssueCode::InvalidValue,
                    p,
                    "birthDate",
                    "not a FHIR date",
                ),
            },
        }
        match p.get("gender").map(|g| g.as_str()) {
            None => {}
            Some(Some("female")) => out.sex = Some(Sex::Female),
            Some(Some("male")) => out.sex = Some(Sex::Male),
            Some(Some("other" | "unknown")) => self.issue(
                IssueSeverity::Warning,
                IssueCode::NotUsed,
                p,
                "gender",
                "gender other/unknown: the engine needs female or male; not used",
            ),
            Some(_) => self.issue(
                IssueSeverity::Error,
                IssueCode::InvalidValue,
                p,
                "gender",
                "not a FHIR administrative-gender code",
            ),
        }
    }

    /// The Observations the mapping uses, each with its slot and date. Components of an
    /// Observation (DXA panels, eGFR panels) are read like Observations of their own with the
    /// parent's status, date and bodySite.
    fn observations<'a>(&mut self, resources: &[&'a Value]) -> Vec<Obs<'a>> {
        let mut out = Vec::new();
        for r in resources
            .iter()
            .copied()
            .filter(|r| fhir::resource_type(r) == Some("Observation"))
        {
            let mut found: Vec<(Slot, &'a Value, String, u8, Option<Side>)> = Vec::new();
            if let Some((slot, rank, side)) = self.slot_of(r, r, "") {
                found.push((slot, r, String::new(), rank, side));
            }
            for (i, c) in r
                .get("component")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let at = format!("component[{i}].");
                if let Some((slot, rank, side)) = self.slot_of(r, c, &at) {
                    found.push((slot, c, at, rank, side));
                }
            }
            if found.is_empty() {
                continue;
            }
            // FHIR observation-status: only final/amended/corrected are results to act on;
            // entered-in-error and cancelled are not results at all.
            match r.get("status").and_then(Value::as_str) {
                Some("final" | "amended" | "corrected") | None => {}
                Some(st @ ("entered-in-error" | "cancelled")) => {
                    self.issue(
                        IssueSeverity::Information,
                        IssueCode::NotFinal,
                        r,
                        "status",
                        format!("observation {st}: ignored"),
                    );
                    continue;
                }
                Some(st) => {
                    for (slot, ..) in &found {
                        let field = slot_field(slot);
                        let msg = format!(
                            "observation status {st} (not final/amended/corrected): not used"
                        );
                        match field {
                            Some(f) => self.value_issue(
                                IssueSeverity::Warning,
                                IssueCode::NotFinal,
                                r,
                                "status",
                                f,
                                None,
                                None,
                                msg,
                            ),
                            None => self.issue(
                                IssueSeverity::Information,
                                IssueCode::NotFinal,
                                r,
                                "status",
                                msg,
                            ),
                        }
                    }
                    continue;
                }
            }
            let date = match self.effective_date(r) {
                Ok(d) => d,
                Err(()) => continue,
            };
            for (slot, val, at, rank, side) in found {
                out.push(Obs {
                    slot,
                    res: r,
                    val,
                    at,
                    date,
                    rank,
                    side,
                });
            }
        }
        out
    }

    /// The slot of an Observation or of one of its components (`el`), with rank and side.
    fn slot_of(&mut self, r: &Value, el: &Value, at: &str) -> Option<(Slot, u8, Option<Side>)> {
        let code = el.get("code");
        for c in fhir::codings(code) {
            if c.system == codes::OVCF_OBSERVATION {
                return self.own_slot(r, c.code).map(|s| (s, 1, None));
            }
            if let Some(def) = self.map.observation(c.system, c.code) {
                let slot = match def.field {
                    Field::Pain => match self.level_of(r, "bodySite") {
                        Ok(l) => Slot::Pain(l),
                        Err(()) => return None,
                    },
                    Field::FemoralNeckT if def.needs_site == Some(SiteNeed::FemoralNeck) => {
                        let site = r.get("bodySite").or_else(|| el.get("bodySite"));
                        if self.is_femoral_neck(site) {
                            Slot::Field(Field::FemoralNeckT)
                        } else if self.is_total_hip(site) {
                            Slot::Field(Field::TotalHipT)
                        } else {
                            self.value_issue(
                                IssueSeverity::Warning,
                                IssueCode::MissingLevel,
                                r,
                                &format!("{at}bodySite"),
                                Field::FemoralNeckT,
                                quantity_text(el),
                                None,
                                "DXA femur T-score without a femoral-neck or total-hip bodySite: the region is not known; not used",
                            );
                            return None;
                        }
                    }
                    f => Slot::Field(f),
                };
                return Some((slot, def.rank, def.side));
            }
            if let Some(reason) = self.map.unused(c.system, c.code) {
                self.issue(
                    IssueSeverity::Information,
                    IssueCode::KnownUnused,
                    r,
                    &format!("{at}code"),
                    format!("{} {}: {}; not read", c.system, c.code, unused_text(reason)),
                );
                return None;
            }
        }
        None
    }

    /// An own ovcf-observation code.
    fn own_slot(&mut self, r: &Value, c: &str) -> Option<Slot> {
        if let Some(pc) = PATIENT_CODES.iter().find(|p| **p == c) {
            Some(Slot::Patient(pc))
        } else if let Some(lc) = LEVEL_CODES.iter().find(|p| **p == c) {
            match self.level_of(r, "bodySite") {
                Ok(Some(l)) => Some(Slot::Level(l, lc)),
                Ok(None) => {
                    self.issue(
                        IssueSeverity::Warning,
                        IssueCode::MissingLevel,
                        r,
                        "bodySite",
                        "a vertebral finding without a vertebral level; not used",
                    );
                    None
                }
                Err(()) => None,
            }
        } else {
            self.issue(
                IssueSeverity::Warning,
                IssueCode::InvalidValue,
                r,
                "code",
                "unknown code of the ovcf-observation CodeSystem; not used",
            );
            None
        }
    }

    fn is_femoral_neck(&self, body_site: Option<&Value>) -> bool {
        fhir::has_coding(body_site, codes::SNOMED, codes::SNOMED_FEMORAL_NECK)
            || site_text(body_site).is_some_and(|t| {
                t.contains("femoral neck") || t.contains("neck of femur") || t.contains("股骨颈")
            })
    }

    fn is_total_hip(&self, body_site: Option<&Value>) -> bool {
        site_text(body_site).is_some_and(|t| {
            t.contains("total hip") || t.contains("total femur") || t.contains("全髋")
        })
    }

    /// The vertebral level of a CodeableConcept element (SNOMED vertebra code, or text/display
    /// naming the level: `L1`, `L1 vertebra`). `Ok(None)` = no level given; `Err` = invalid or
    /// several levels (reported).
    fn level_of(&mut self, r: &Value, path: &str) -> Result<Option<Level>, ()> {
        let Some(site) = r.get(path) else {
            return Ok(None);
        };
        let levels = levels_of_cc(site);
        match levels.as_slice() {
            [] => {
                if fhir::codings(Some(site)).is_empty() && fhir::cc_text(Some(site)).is_none() {
                    self.issue(
                        IssueSeverity::Error,
                        IssueCode::InvalidValue,
                        r,
                        path,
                        "not a CodeableConcept",
                    );
                    return Err(());
                }
                Ok(None)
            }
            [l] => Ok(Some(*l)),
            _ => {
                self.issue(
                    IssueSeverity::Warning,
                    IssueCode::Conflict,
                    r,
                    path,
                    "names more than one vertebral level; not used",
                );
                Err(())
            }
        }
    }

    /// effectiveDateTime | effectivePeriod.start | effectiveInstant | issued; future → Err.
    fn effective_date(&mut self, r: &Value) -> Result<Option<Date>, ()> {
        let (path, v) = [
            "effectiveDateTime",
            "effectiveInstant",
            "effectivePeriod",
            "issued",
        ]
        .iter()
        .find_map(|p| {
            let v = r.get(*p)?;
            let v = if *p == "effectivePeriod" {
                v.get("start")?
            } else {
                v
            };
            Some((*p, v))
        })
        .map_or(("", None), |(p, v)| (p, Some(v)));
        let Some(v) = v else { return Ok(None) };
        match v.as_str().and_then(fhir::parse_date) {
            Some(FhirDate::Day(d)) if d > self.as_of => {
                self.issue(
                    IssueSeverity::Warning,
                    IssueCode::FutureDate,
                    r,
                    path,
                    "dated after the assessment date; not used",
                );
                Err(())
            }
            Some(FhirDate::Day(d)) => Ok(Some(d)),
            Some(FhirDate::Partial) => Ok(None),
            None => {
                self.issue(
                    IssueSeverity::Error,
                    IssueCode::InvalidValue,
                    r,
                    path,
                    "not a FHIR dateTime; not used",
                );
                Err(())
            }
        }
    }

    /// A numeric value checked against its slot's range and units (labs, DXA and pain: units
    /// and conversions from the code map; own codes: their fixed units).
    fn number(&mut self, o: &Obs<'_>) -> Option<f64> {
        let spec = num_spec(&o.slot);
        let field = slot_field(&o.slot);
        let r = o.res;
        let v = o.val;
        let at = o.at.as_str();
        // The value as written is built only when something is reported.
        let report = |m: &mut Self, sev, code, path: String, msg: String| match field {
            Some(f) => m.value_issue(sev, code, r, &path, f, quantity_text(v), o.date, msg),
            None => m.issue(sev, code, r, &path, msg),
        };
        let mut factor = 1.0;
        let (path, value) = if let Some(q) = v.get("valueQuantity") {
            if let Some(cmp) = q.get("comparator").and_then(Value::as_str) {
                report(
                    self,
                    IssueSeverity::Warning,
                    IssueCode::UnreadableValue,
                    format!("{at}valueQuantity.comparator"),
                    format!(
                        "a bound ({cmp} value), not a measured value: not used (never read as the number)"
                    ),
                );
                return None;
            }
            // UCUM code first, else the unit text.
            let unit = q
                .get("code")
                .and_then(Value::as_str)
                .filter(|c| !c.trim().is_empty())
                .or_else(|| q.get("unit").and_then(Value::as_str));
            match field {
                Some(f) => match self.map.unit(f, unit) {
                    UnitRead::Factor(x) => factor = x,
                    UnitRead::Refused => {
                        // A UCUM code the map does not know may still come with a known text.
                        let text = q.get("unit").and_then(Value::as_str);
                        match self.map.unit(f, text) {
                            UnitRead::Factor(x) if text.is_some() => factor = x,
                            _ => {
                                report(
                                    self,
                                    IssueSeverity::Error,
                                    IssueCode::UnsupportedUnit,
                                    format!("{at}valueQuantity.code"),
                                    format!(
                                        "unit not recognised for {}; accepted: {} (or convertible units in knowledge/fhir-codes.toml); not used",
                                        f.path(),
                                        self.map.canonical_unit(f)
                                    ),
                                );
                                return None;
                            }
                        }
                    }
                },
                None => {
                    let u = unit.map(codemap::norm_unit);
                    if let Some(u) = u
                        && !u.is_empty()
                        && !spec.units.contains(&u.as_str())
                    {
                        report(
                            self,
                            IssueSeverity::Error,
                            IssueCode::UnsupportedUnit,
                            format!("{at}valueQuantity.code"),
                            format!("unit not accepted; accepted: {}", spec.units.join(", ")),
                        );
                        return None;
                    }
                }
            }
            (format!("{at}valueQuantity.value"), q.get("value"))
        } else if let Some(x) = v.get("valueInteger") {
            if let Some(f) = field
                && self.map.unit(f, None) == UnitRead::Refused
            {
                report(
                    self,
                    IssueSeverity::Error,
                    IssueCode::UnsupportedUnit,
                    format!("{at}valueInteger"),
                    format!(
                        "a number without a unit; {} needs one ({}); not used",
                        f.path(),
                        self.map.canonical_unit(f)
                    ),
                );
                return None;
            }
            (format!("{at}valueInteger"), Some(x))
        } else if v.get("valueString").is_some() {
            report(
                self,
                IssueSeverity::Error,
                IssueCode::UnreadableValue,
                format!("{at}valueString"),
                "value given as text (valueString): not read as a number; record valueQuantity"
                    .to_string(),
            );
            return None;
        } else {
            if v.get("dataAbsentReason").is_none() && r.get("dataAbsentReason").is_none() {
                report(
                    self,
                    IssueSeverity::Error,
                    IssueCode::InvalidValue,
                    format!("{at}value[x]"),
                    "expected valueQuantity or valueInteger".to_string(),
                );
            }
            return None;
        };
        let Some(raw) = value.and_then(Value::as_f64).filter(|x| x.is_finite()) else {
            report(
                self,
                IssueSeverity::Error,
                IssueCode::InvalidValue,
                path,
                "not a number".to_string(),
            );
            return None;
        };
        // Converted values are rounded to 2 decimals (no false precision from the factor).
        let x = if factor == 1.0 {
            raw
        } else {
            (raw * factor * 100.0).round() / 100.0
        };
        let below = if spec.min_exclusive {
            x <= spec.min
        } else {
            x < spec.min
        };
        if below || x > spec.max {
            report(
                self,
                IssueSeverity::Error,
                IssueCode::OutOfRange,
                path,
                format!(
                    "outside the accepted range {}{}–{}",
                    if spec.min_exclusive { ">" } else { "" },
                    spec.min,
                    spec.max
                ),
            );
            return None;
        }
        if spec.integer && x.fract() != 0.0 {
            report(
                self,
                IssueSeverity::Error,
                IssueCode::InvalidValue,
                path,
                "expected a whole number".to_string(),
            );
            return None;
        }
        Some(x)
    }

    fn boolean(&mut self, o: &Obs<'_>) -> Option<bool> {
        match o.res.get("valueBoolean") {
            Some(Value::Bool(b)) => Some(*b),
            _ => {
                if o.res.get("dataAbsentReason").is_none() {
                    self.issue(
                        IssueSeverity::Error,
                        IssueCode::InvalidValue,
                        o.res,
                        "valueBoolean",
                        "expected valueBoolean",
                    );
                }
                None
            }
        }
    }

    /// A coded value from the ovcf-value CodeSystem, parsed as the contract enumeration `T`.
    fn coded<T: DeserializeOwned>(&mut self, o: &Obs<'_>) -> Option<T> {
        let cc = o.res.get("valueCodeableConcept");
        let Some(code) = fhir::code_in(cc, codes::OVCF_VALUE) else {
            if o.res.get("dataAbsentReason").is_none() {
                self.issue(
                    IssueSeverity::Error,
                    IssueCode::InvalidValue,
                    o.res,
                    "valueCodeableConcept",
                    format!("expected a coding of {}", codes::OVCF_VALUE),
                );
            }
            return None;
        };
        match serde_json::from_value::<T>(Value::String(code.to_string())) {
            Ok(v) => Some(v),
            Err(_) => {
                self.issue(
                    IssueSeverity::Error,
                    IssueCode::InvalidValue,
                    o.res,
                    "valueCodeableConcept.coding.code",
                    "code not accepted for this finding (README, own codes)",
                );
                None
            }
        }
    }

    /// The latest value among candidates; a tie on the latest date with different values is a
    /// conflict (reported, no value).
    fn latest<T: PartialEq + Clone>(
        &mut self,
        obs: &[&Obs<'_>],
        mut read: impl FnMut(&mut Self, &Obs<'_>) -> Option<T>,
    ) -> Option<T> {
        let mut vals: Vec<(Option<Date>, T, &Value)> = Vec::new();
        for o in obs {
            if let Some(v) = read(self, o) {
                vals.push((o.date, v, o.res));
            }
        }
        let top = vals.iter().map(|(d, _, _)| *d).max()?;
        let best: Vec<&(Option<Date>, T, &Value)> =
            vals.iter().filter(|(d, _, _)| *d == top).collect();
        let first = best.first()?;
        if best.iter().any(|(_, v, _)| *v != first.1) {
            self.issue(
                IssueSeverity::Warning,
                IssueCode::Conflict,
                first.2,
                "value[x]",
                "differs from another observation of the same date; neither used",
            );
            return None;
        }
        Some(first.1.clone())
    }

    fn select<'o, 'a>(obs: &'o [Obs<'a>], slot: &Slot) -> Vec<&'o Obs<'a>> {
        obs.iter().filter(|o| &o.slot == slot).collect()
    }

    /// The current value of a lab / DXA field (README "Time rules").
    fn latest_field(&mut self, obs: &[Obs<'_>], field: Field) -> Option<f64> {
        let sel: Vec<&Obs<'_>> = obs
            .iter()
            .filter(|o| o.slot == Slot::Field(field))
            .collect();
        self.pick_current(&sel, field, None)
    }

    /// Time rules for labs, DXA and pain: a value needs a day; values before `not_before`
    /// (the fracture's onset, for pain) do not count; the latest day wins; a latest day older
    /// than the field's window is stale (reported, not used); on the latest day the lowest rank
    /// wins; different values of one rank are a conflict, except DXA left/right, where the lower
    /// T-score is used.
    fn pick_current(
        &mut self,
        obs: &[&Obs<'_>],
        field: Field,
        not_before: Option<Date>,
    ) -> Option<f64> {
        let mut vals: Vec<(Date, u8, Option<Side>, f64, &Obs<'_>)> = Vec::new();
        for o in obs {
            let Some(x) = self.number(o) else { continue };
            let Some(d) = o.date else {
                self.value_issue(
                    IssueSeverity::Warning,
                    IssueCode::Stale,
                    o.res,
                    "effective[x]",
                    field,
                    quantity_text(o.val),
                    None,
                    "no effective date (or only a month): how current the value is cannot be known; not used",
                );
                continue;
            };
            if let Some(nb) = not_before
                && d < nb
            {
                self.value_issue(
                    IssueSeverity::Warning,
                    IssueCode::BeforeOnset,
                    o.res,
                    "effective[x]",
                    field,
                    quantity_text(o.val),
                    Some(d),
                    "dated before the fracture's onset: it does not describe this fracture; not used",
                );
                continue;
            }
            vals.push((d, o.rank, o.side, x, o));
        }
        let top = vals.iter().map(|v| v.0).max()?;
        if let Some(w) = self.map.window_days(field)
            && top.days_until(self.as_of) > i64::from(w)
        {
            let latest = vals.iter().find(|v| v.0 == top)?;
            let others = vals.len() - 1;
            self.value_issue(
                IssueSeverity::Warning,
                IssueCode::Stale,
                latest.4.res,
                "effective[x]",
                field,
                quantity_text(latest.4.val),
                Some(top),
                format!(
                    "older than {w} days (the window for {}, knowledge/fhir-codes.toml): stale, not used{}",
                    field.path(),
                    if others > 0 {
                        format!("; {others} older value(s) likewise")
                    } else {
                        String::new()
                    }
                ),
            );
            return None;
        }
        let best_rank = vals.iter().filter(|v| v.0 == top).map(|v| v.1).min()?;
        let best: Vec<&(Date, u8, Option<Side>, f64, &Obs<'_>)> = vals
            .iter()
            .filter(|v| v.0 == top && v.1 == best_rank)
            .collect();
        let first = *best.first()?;
        if best.iter().all(|v| v.3 == first.3) {
            return Some(first.3);
        }
        let sides: BTreeSet<u8> = best.iter().filter_map(|v| v.2.map(|s| s as u8)).collect();
        let per_side_consistent = best
            .iter()
            .all(|v| v.2.is_some() && best.iter().filter(|w| w.2 == v.2).all(|w| w.3 == v.3));
        if field.is_dxa() && sides.len() == 2 && per_side_consistent {
            let low = best.iter().map(|v| v.3).fold(f64::INFINITY, f64::min);
            self.value_issue(
                IssueSeverity::Information,
                IssueCode::Conflict,
                first.4.res,
                "value[x]",
                field,
                None,
                Some(top),
                "left and right differ on the same day: the lower T-score is used (ISCD: the lowest T-score decides; provisional)",
            );
            return Some(low);
        }
        self.value_issue(
            IssueSeverity::Warning,
            IssueCode::Conflict,
            first.4.res,
            "value[x]",
            field,
            None,
            Some(top),
            "differs from another observation of the same date and kind; neither used",
        );
        None
    }

    /// Every value the engine reads that FHIR did not supply, reported (never assumed).
    fn report_absent(&mut self, p: &PartialRequest) {
        let labs = p.labs.unwrap_or_default();
        let absent = |m: &mut Self, field: &str, msg: &str| {
            m.issues.push(
                MappingIssue::new(
                    IssueSeverity::Information,
                    IssueCode::Absent,
                    "AssessmentRequest",
                    field,
                    msg,
                )
                .with_field(field),
            );
        };
        if labs.egfr_ml_min.is_none() && labs.crcl_ml_min.is_none() {
            absent(
                self,
                Field::Egfr.path(),
                "no usable eGFR or creatinine clearance: renal function is unknown (not assumed normal)",
            );
        }
        if labs.calcium_mmol_l.is_none() {
            absent(self, Field::Calcium.path(), "no usable serum calcium");
        }
        if labs.vitamin_d_nmol_l.is_none() {
            absent(self, Field::VitaminD.path(), "no usable 25(OH)D");
        }
        let dxa = p.bone_density.as_ref().and_then(|b| b.dxa);
        if dxa.is_none_or(|d| d == Dxa::default()) {
            absent(self, "bone_density.dxa", "no usable DXA T-score");
        }
        for f in &p.fractures {
            if f.pain_vas.is_none() {
                absent(
                    self,
                    Field::Pain.path(),
                    &format!("no usable pain score for {}", f.level.as_str()),
                );
            }
        }
    }

    fn patient_observations(&mut self, obs: &[Obs<'_>], p: &mut PartialPatient) {
        let sel = |code| Self::select(obs, &Slot::Patient(code));
        p.neurological_deficit = self.latest(&sel(own::NEUROLOGICAL_DEFICIT), |m, o| m.coded(o));
        p.adherence = self.latest(&sel(own::ADHERENCE), |m, o| m.coded(o));
        p.surgical_tolerance = self.latest(&sel(own::SURGICAL_TOLERANCE), |m, o| m.coded(o));
        p.mobilisation_under_analgesia = self.latest(&sel(own::MOBILISATION), |m, o| m.coded(o));
        p.nonunion_risk = self.latest(&sel(own::NONUNION_RISK), |m, o| m.boolean(o));
        let int = |m: &mut Self, code| m.latest(&sel(code), |m, o| m.number(o)).map(|x| x as u32);
        p.asa_class = int(self, own::ASA_CLASS).and_then(|x| u8::try_from(x).ok());
        p.prior_fragility_fractures = int(self, own::PRIOR_FRAGILITY_FRACTURES);
        p.prior_vertebral_fractures = int(self, own::PRIOR_VERTEBRAL_FRACTURES);
        p.modified_frailty_index = int(self, own::FRAILTY_INDEX).and_then(|x| u8::try_from(x).ok());
    }

    /// Conditions coded in the ovcf-comorbidity CodeSystem (active, not refuted).
    fn comorbidities(&mut self, resources: &[&Value]) -> Option<Vec<Comorbidity>> {
        let mut set: BTreeMap<u8, Comorbidity> = BTreeMap::new();
        let mut any = false;
        for r in resources
            .iter()
            .copied()
            .filter(|r| fhir::resource_type(r) == Some("Condition"))
        {
            let Some(code) = fhir::code_in(r.get("code"), codes::OVCF_COMORBIDITY) else {
                continue;
            };
            if !self.condition_current(r) {
                continue;
            }
            match serde_json::from_value::<Comorbidity>(Value::String(code.to_string())) {
                Ok(c) => {
                    any = true;
                    set.insert(c as u8, c);
                }
                Err(_) => self.issue(
                    IssueSeverity::Error,
                    IssueCode::InvalidValue,
                    r,
                    "code.coding.code",
                    "unknown ovcf-comorbidity code",
                ),
            }
        }
        any.then(|| set.into_values().collect())
    }

    /// Active (or no clinicalStatus) and not refuted / entered in error.
    fn condition_current(&mut self, r: &Value) -> bool {
        let clinical = fhir::codings(r.get("clinicalStatus"));
        let verification = fhir::codings(r.get("verificationStatus"));
        let inactive = clinical
            .iter()
            .any(|c| matches!(c.code, "inactive" | "remission" | "resolved"));
        let refuted = verification
            .iter()
            .any(|c| matches!(c.code, "refuted" | "entered-in-error"));
        if inactive || refuted {
            self.issue(
                IssueSeverity::Information,
                IssueCode::NotUsed,
                r,
                if refuted {
                    "verificationStatus"
                } else {
                    "clinicalStatus"
                },
                "condition not current (inactive, resolved, refuted or entered in error); not used",
            );
            return false;
        }
        true
    }

    fn fractures(&mut self, resources: &[&Value], obs: &[Obs<'_>]) -> Vec<FractureInput> {
        // level → onset candidates (None = unknown)
        let mut levels: BTreeMap<Level, Vec<Option<u32>>> = BTreeMap::new();
        for r in resources
            .iter()
            .copied()
            .filter(|r| fhir::resource_type(r) == Some("Condition"))
        {
            let kinds: Vec<FractureKind> = fhir::codings(r.get("code"))
                .iter()
                .filter_map(|c| self.map.fracture(c.system, c.code))
                .collect();
            if kinds.is_empty() || !self.condition_current(r) {
                continue;
            }
            if !kinds.contains(&FractureKind::Osteoporotic) {
                self.traumatic += 1;
                self.issues.push(
                    MappingIssue::new(
                        IssueSeverity::Warning,
                        IssueCode::NotAssessed,
                        fhir::label(r),
                        "code",
                        "vertebral fracture coded as trauma (ICD-10 S22.0/S32.0): not assessed as an osteoporotic fracture; if it was a low-energy fracture (fall from standing height or less), code it M80.08/M48.5",
                    )
                    .with_field("fractures"),
                );
                continue;
            }
            let sites = r.get("bodySite").and_then(Value::as_array);
            let mut found: Vec<Level> = Vec::new();
            for s in sites.into_iter().flatten() {
                found.extend(levels_of_cc(s));
            }
            found.sort();
            found.dedup();
            if found.is_empty() {
                self.issues.push(
                    MappingIssue::new(
                        IssueSeverity::Warning,
                        IssueCode::MissingLevel,
                        fhir::label(r),
                        "bodySite",
                        "vertebral fracture without a vertebral level (T1–L5): decisions that depend on the level are withheld",
                    )
                    .with_field("fractures"),
                );
                let onset = self.onset_days(r);
                self.unlevelled.push(onset);
                continue;
            }
            let onset = self.onset_days(r);
            for l in found {
                levels.entry(l).or_default().push(onset);
            }
        }
        let mut out = Vec::new();
        for (level, onsets) in levels {
            let first = onsets.first().copied().flatten();
            let onset_days = if onsets.iter().all(|o| *o == first) {
                first
            } else {
                self.issues.push(MappingIssue::new(
                    IssueSeverity::Warning,
                    IssueCode::Conflict,
                    "Condition",
                    "onsetDateTime",
                    format!("fracture conditions at {level} give different onsets; onset not used"),
                ));
                None
            };
            let mut f = blank_fracture(level);
            f.onset_days = onset_days;
            self.fracture_observations(obs, &mut f);
            out.push(f);
        }
        out
    }

    fn onset_days(&mut self, r: &Value) -> Option<u32> {
        let v = r.get("onsetDateTime")?;
        match v.as_str().and_then(fhir::parse_date) {
            Some(FhirDate::Day(d)) => {
                let days = d.days_until(self.as_of);
                if days < 0 {
                    self.issue(
                        IssueSeverity::Error,
                        IssueCode::FutureDate,
                        r,
                        "onsetDateTime",
                        "onset after the assessment date; not used",
                    );
                    None
                } else if days > 36_500 {
                    self.issue(
                        IssueSeverity::Error,
                        IssueCode::OutOfRange,
                        r,
                        "onsetDateTime",
                        "onset more than 36500 days before the assessment date; not used",
                    );
                    None
                } else {
                    u32::try_from(days).ok()
                }
            }
            Some(FhirDate::Partial) => {
                self.issue(
                    IssueSeverity::Warning,
                    IssueCode::PartialDate,
                    r,
                    "onsetDateTime",
                    "onset without a day: days since onset unknown",
                );
                None
            }
            None => {
                self.issue(
                    IssueSeverity::Error,
                    IssueCode::InvalidValue,
                    r,
                    "onsetDateTime",
                    "not a FHIR dateTime",
                );
                None
            }
        }
    }

    fn fracture_observations(&mut self, obs: &[Obs<'_>], f: &mut FractureInput) {
        let level = f.level;
        let sel = |code| Self::select(obs, &Slot::Level(level, code));
        let pain: Vec<&Obs<'_>> = obs
            .iter()
            .filter(|o| o.slot == Slot::Pain(Some(level)) || o.slot == Slot::Pain(None))
            .collect();
        let onset = f.onset_days.map(|d| self.as_of.add_days(-i64::from(d)));
        f.pain_vas = self.pick_current(&pain, Field::Pain, onset);
        f.height_loss_pct = self.latest(&sel(own::HEIGHT_LOSS_PCT), |m, o| m.number(o));
        f.kyphotic_angle_deg = self.latest(&sel(own::KYPHOTIC_ANGLE), |m, o| m.number(o));
        let h = |m: &mut Self, code| m.latest(&sel(code), |m, o| m.number(o));
        let (a, mid, p, refr) = (
            h(self, own::HEIGHT_ANTERIOR),
            h(self, own::HEIGHT_MIDDLE),
            h(self, own::HEIGHT_POSTERIOR),
            h(self, own::HEIGHT_REFERENCE),
        );
        match (a, mid, p) {
            (Some(anterior_mm), Some(middle_mm), Some(posterior_mm)) => {
                f.morphometry = Some(Morphometry {
                    anterior_mm,
                    middle_mm,
                    posterior_mm,
                    reference_mm: refr,
                });
            }
            (None, None, None) if refr.is_none() => {}
            _ => self.issues.push(MappingIssue::new(IssueSeverity::Warning, IssueCode::NotUsed, "Observation", "code", format!(
                    "vertebral heights at {level}: anterior, middle and posterior are all needed; not used"
                ))),
        }
        let mri = MriSignal {
            t1: self.latest(&sel(own::MRI_T1), |m, o| m.coded(o)),
            t2: self.latest(&sel(own::MRI_T2), |m, o| m.coded(o)),
            stir: self.latest(&sel(own::MRI_STIR), |m, o| m.coded(o)),
        };
        if mri.t1.is_some() || mri.t2.is_some() || mri.stir.is_some() {
            f.mri = Some(mri);
        }
        f.posterior_wall = self.latest(&sel(own::POSTERIOR_WALL), |m, o| m.coded(o));
        f.anterior_cortex_breach =
            self.latest(&sel(own::ANTERIOR_CORTEX_BREACH), |m, o| m.boolean(o));
        f.intravertebral_cleft = self.latest(&sel(own::INTRAVERTEBRAL_CLEFT), |m, o| m.boolean(o));
        f.of_type = self.latest(&sel(own::OF_TYPE), |m, o| m.coded(o));
        f.deformity_progression =
            self.latest(&sel(own::DEFORMITY_PROGRESSION), |m, o| m.boolean(o));
        let mut signs = Vec::new();
        for o in sel(own::MALIGNANCY_SIGN) {
            if let Some(s) = self.coded::<ovcf_core::request::MalignancySign>(o)
                && !signs.contains(&s)
            {
                signs.push(s);
            }
        }
        if !signs.is_empty() {
            signs.sort_by_key(|s| *s as u8);
            f.malignancy_signs = Some(signs);
        }
    }

    /// ImagingStudy series with a vertebral level: modality MR → mri, CT → ct, DX/CR → xray.
    fn imaging(&mut self, resources: &[&Value], fractures: &mut [FractureInput]) {
        let mut per_level: BTreeMap<Level, BTreeSet<u8>> = BTreeMap::new();
        for r in resources
            .iter()
            .copied()
            .filter(|r| fhir::resource_type(r) == Some("ImagingStudy"))
        {
            if matches!(
                r.get("status").and_then(Value::as_str),
                Some("cancelled" | "entered-in-error" | "registered")
            ) {
                continue;
            }
            if let Some(FhirDate::Day(d)) = r
                .get("started")
                .and_then(Value::as_str)
                .and_then(fhir::parse_date)
                && d > self.as_of
            {
                continue;
            }
            let mut unlevelled = false;
            for s in r
                .get("series")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let modality = s
                    .get("modality")
                    .and_then(|m| m.get("code"))
                    .and_then(Value::as_str)
                    .and_then(modality_imaging);
                let Some(modality) = modality else { continue };
                // R4: series.bodySite is a Coding (a CodeableConcept is accepted too).
                let levels = s
                    .get("bodySite")
                    .map(coding_or_cc_levels)
                    .unwrap_or_default();
                if levels.is_empty() {
                    unlevelled = true;
                }
                for l in levels {
                    per_level.entry(l).or_default().insert(modality as u8);
                }
            }
            if unlevelled {
                self.issue(
                    IssueSeverity::Information,
                    IssueCode::NotUsed,
                    r,
                    "series.bodySite",
                    "imaging series without a vertebral level; not attributed to a fracture",
                );
            }
        }
        for f in fractures {
            if let Some(set) = per_level.get(&f.level) {
                let list: Vec<Imaging> = [Imaging::Xray, Imaging::Ct, Imaging::Mri]
                    .into_iter()
                    .filter(|i| set.contains(&(*i as u8)))
                    .collect();
                if !list.is_empty() {
                    f.imaging = Some(list);
                }
            }
        }
    }

    fn medications(&mut self, resources: &[&Value]) -> Vec<Medication> {
        let meds_by_ref = medication_index(resources);
        // last dose per drug from MedicationAdministration
        let mut last_dose: BTreeMap<Drug, Date> = BTreeMap::new();
        let mut out: Vec<Medication> = Vec::new();
        let mut not_atc = 0usize;
        for r in resources.iter().copied() {
            let rt = fhir::resource_type(r).unwrap_or("");
            if !matches!(
                rt,
                "MedicationRequest" | "MedicationStatement" | "MedicationAdministration"
            ) {
                continue;
            }
            let drug = match self.drug_of(r, &meds_by_ref) {
                Ok(Some(d)) => d,
                Ok(None) => {
                    not_atc += 1;
                    continue;
                }
                Err(()) => continue,
            };
            let status = r.get("status").and_then(Value::as_str).unwrap_or("");
            match rt {
                "MedicationAdministration" => {
                    if status != "completed" {
                        continue;
                    }
                    let v = r
                        .get("effectiveDateTime")
                        .or_else(|| r.get("effectivePeriod").and_then(|p| p.get("start")));
                    if let Some(d) = self.day(r, "effectiveDateTime", v) {
                        let e = last_dose.entry(drug).or_insert(d);
                        *e = (*e).max(d);
                    }
                }
                "MedicationStatement" => {
                    if !matches!(status, "active" | "completed" | "stopped" | "on-hold") {
                        continue;
                    }
                    let (start_v, end_v, path) = match r.get("effectivePeriod") {
                        Some(p) => (p.get("start"), p.get("end"), "effectivePeriod.start"),
                        None => (r.get("effectiveDateTime"), None, "effectiveDateTime"),
                    };
                    let Some(start) = self.day(r, path, start_v) else {
                        self.missing_start(r, path);
                        continue;
                    };
                    let end = self.day(r, "effectivePeriod.end", end_v);
                    if matches!(status, "completed" | "stopped")
                        && end.is_none()
                        && r.get("effectiveDateTime").is_none()
                    {
                        self.ended_without_date(r);
                        continue;
                    }
                    // A single dated statement (effectiveDateTime) of a completed course is one
                    // dose on that day.
                    let end = if end.is_none()
                        && r.get("effectiveDateTime").is_some()
                        && matches!(status, "completed" | "stopped")
                    {
                        Some(start)
                    } else {
                        end
                    };
                    self.push_med(r, &mut out, drug, start, end);
                }
                _ => {
                    // MedicationRequest
                    if !matches!(status, "active" | "completed" | "stopped" | "on-hold") {
                        continue;
                    }
                    let Some(start) = self.day(r, "authoredOn", r.get("authoredOn")) else {
                        self.missing_start(r, "authoredOn");
                        continue;
                    };
                    if matches!(status, "completed" | "stopped") {
                        self.ended_without_date(r);
                        continue;
                    }
                    self.push_med(r, &mut out, drug, start, None);
                }
            }
        }
        if not_atc > 0 {
            self.issues.push(MappingIssue::new(IssueSeverity::Information, IssueCode::NotUsed, "MedicationRequest", "medicationCodeableConcept", format!(
                    "{not_atc} medication record(s) without an ATC, RxNorm or local code of a drug the engine uses; not read"
                )));
        }
        for m in &mut out {
            if let Some(d) = last_dose.get(&m.drug)
                && *d >= m.start
                && m.end.is_none_or(|e| *d <= e)
            {
                m.last_dose = Some(*d);
            }
        }
        out.sort_by_key(|m| (m.start, m.drug));
        out.dedup();
        out
    }

    fn push_med(
        &mut self,
        r: &Value,
        out: &mut Vec<Medication>,
        drug: Drug,
        start: Date,
        end: Option<Date>,
    ) {
        if start > self.as_of {
            self.issue(
                IssueSeverity::Information,
                IssueCode::FutureDate,
                r,
                "start",
                "starts after the assessment date; not used",
            );
            return;
        }
        if let Some(e) = end
            && e < start
        {
            self.issue(
                IssueSeverity::Error,
                IssueCode::InvalidValue,
                r,
                "effectivePeriod.end",
                "end before start; not used",
            );
            return;
        }
        out.push(Medication {
            drug,
            start,
            end,
            last_dose: None,
        });
    }

    fn missing_start(&mut self, r: &Value, path: &str) {
        self.issue(
            IssueSeverity::Warning,
            IssueCode::NotUsed,
            r,
            path,
            "anti-osteoporosis or analgesic medication without a start date; not used",
        );
    }

    fn ended_without_date(&mut self, r: &Value) {
        self.issue(
            IssueSeverity::Warning,
            IssueCode::NotUsed,
            r,
            "status",
            "completed/stopped medication without an end date (duration unknown); not used",
        );
    }

    /// A full-day date of an element; reports invalid/partial values.
    fn day(&mut self, r: &Value, path: &str, v: Option<&Value>) -> Option<Date> {
        let v = v?;
        match v.as_str().and_then(fhir::parse_date) {
            Some(FhirDate::Day(d)) => Some(d),
            Some(FhirDate::Partial) => {
                self.issue(
                    IssueSeverity::Warning,
                    IssueCode::PartialDate,
                    r,
                    path,
                    "date without a day; not used",
                );
                None
            }
            None => {
                self.issue(
                    IssueSeverity::Error,
                    IssueCode::InvalidValue,
                    r,
                    path,
                    "not a FHIR date",
                );
                None
            }
        }
    }

    /// The drug of a medication resource from its codings (ATC, RxNorm or a local code of the
    /// code map): `Ok(None)` when no coding names a drug the engine uses.
    fn drug_of(&mut self, r: &Value, meds: &BTreeMap<String, &Value>) -> Result<Option<Drug>, ()> {
        let cc = if let Some(cc) = r.get("medicationCodeableConcept") {
            Some(cc)
        } else if let Some(reference) = fhir::reference(r.get("medicationReference")) {
            let contained = reference.strip_prefix('#').and_then(|id| {
                r.get("contained")?
                    .as_array()?
                    .iter()
                    .find(|c| c.get("id").and_then(Value::as_str) == Some(id))
            });
            contained
                .or_else(|| meds.get(reference).copied())
                .or_else(|| {
                    reference
                        .rsplit_once("Medication/")
                        .and_then(|(_, id)| meds.get(id).copied())
                })
                .and_then(|m| m.get("code"))
        } else {
            None
        };
        let drugs: BTreeSet<Drug> = fhir::codings(cc)
            .into_iter()
            .filter_map(|c| self.map.drug(c.system, c.code))
            .collect();
        match drugs.len() {
            0 => Ok(None),
            1 => Ok(drugs.into_iter().next()),
            _ => {
                self.issue(
                    IssueSeverity::Warning,
                    IssueCode::Conflict,
                    r,
                    "medicationCodeableConcept",
                    "codes of different drugs (ATC/RxNorm/local); not used",
                );
                Err(())
            }
        }
    }

    /// The latest performed Procedure, else the latest active ServiceRequest, for
    /// vertebroplasty/kyphoplasty with one vertebral level among the fractures.
    fn procedure(
        &mut self,
        resources: &[&Value],
        fractures: &[FractureInput],
    ) -> Option<Procedure> {
        let mut performed: Vec<(Date, Procedure)> = Vec::new();
        let mut planned: Vec<(Option<Date>, Procedure)> = Vec::new();
        for r in resources.iter().copied() {
            let rt = fhir::resource_type(r).unwrap_or("");
            if !matches!(rt, "Procedure" | "ServiceRequest") {
                continue;
            }
            let Some(kind) = augmentation_kind(r) else {
                continue;
            };
            let status = r.get("status").and_then(Value::as_str).unwrap_or("");
            let level = match self.level_of_sites(r) {
                Some(l) => l,
                None => continue,
            };
            if !fractures.iter().any(|f| f.level == level) {
                self.issue(
                    IssueSeverity::Warning,
                    IssueCode::NotUsed,
                    r,
                    "bodySite",
                    "augmentation at a level with no current fracture condition; not used",
                );
                continue;
            }
            let proc_ = |date| Procedure {
                kind,
                level,
                date,
                cement_volume_ml: None,
                vertebral_body_volume_ml: None,
                height_restoration_pct: None,
                cement_leakage: None,
            };
            if rt == "Procedure" {
                if status != "completed" {
                    continue;
                }
                let v = r
                    .get("performedDateTime")
                    .or_else(|| r.get("performedPeriod").and_then(|p| p.get("start")));
                match self.day(r, "performedDateTime", v) {
                    Some(d) if d <= self.as_of => performed.push((d, proc_(Some(d)))),
                    Some(_) => self.issue(
                        IssueSeverity::Warning,
                        IssueCode::FutureDate,
                        r,
                        "performedDateTime",
                        "performed after the assessment date; not used",
                    ),
                    None => self.issue(
                        IssueSeverity::Warning,
                        IssueCode::NotUsed,
                        r,
                        "performedDateTime",
                        "performed augmentation without a date; not used",
                    ),
                }
            } else if status == "active" {
                let d = r
                    .get("occurrenceDateTime")
                    .and_then(|v| self.day(r, "occurrenceDateTime", Some(v)));
                // A planned date on or before as_of would read as performed (contract).
                let d = d.filter(|d| *d > self.as_of);
                planned.push((d, proc_(d)));
            }
        }
        performed.sort_by_key(|(d, _)| *d);
        planned.sort_by_key(|(d, _)| *d);
        if performed.len() > 1 || (performed.is_empty() && planned.len() > 1) {
            self.issues.push(MappingIssue::new(
                IssueSeverity::Information,
                IssueCode::NotUsed,
                "Procedure",
                "code",
                "several augmentation procedures; the latest is used",
            ));
        }
        performed
            .pop()
            .map(|(_, p)| p)
            .or_else(|| planned.pop().map(|(_, p)| p))
    }

    fn level_of_sites(&mut self, r: &Value) -> Option<Level> {
        let mut found: Vec<Level> = r
            .get("bodySite")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(levels_of_cc)
            .collect();
        found.sort();
        found.dedup();
        match found.as_slice() {
            [l] => Some(*l),
            [] => {
                self.issue(
                    IssueSeverity::Warning,
                    IssueCode::MissingLevel,
                    r,
                    "bodySite",
                    "augmentation without a vertebral level; not used",
                );
                None
            }
            _ => {
                self.issue(
                    IssueSeverity::Warning,
                    IssueCode::NotUsed,
                    r,
                    "bodySite",
                    "multi-level augmentation: the contract records one level; not used",
                );
                None
            }
        }
    }
}

/// The drug a (draft) medication resource names: `medicationCodeableConcept`, or a contained
/// Medication's `code`, read with the code map in use (ATC, RxNorm, local codes). `None` when
/// no coding names a drug the engine uses or codings name different drugs.
pub fn medication_drug(r: &Value) -> Option<Drug> {
    let map = codemap::active();
    let cc = r.get("medicationCodeableConcept").or_else(|| {
        let reference = fhir::reference(r.get("medicationReference"))?;
        let id = reference.strip_prefix('#')?;
        r.get("contained")?
            .as_array()?
            .iter()
            .find(|c| c.get("id").and_then(Value::as_str) == Some(id))?
            .get("code")
    });
    let drugs: BTreeSet<Drug> = fhir::codings(cc)
        .into_iter()
        .filter_map(|c| map.drug(c.system, c.code))
        .collect();
    match drugs.len() {
        1 => drugs.into_iter().next(),
        _ => None,
    }
}

/// Vertebroplasty or kyphoplasty from `code` (CPT, or text/display).
pub fn augmentation_kind(r: &Value) -> Option<ProcedureType> {
    let code = r.get("code");
    let cs = fhir::codings(code);
    cs.iter()
        .filter(|c| c.system == codes::CPT)
        .find_map(|c| codes::cpt_procedure(c.code))
        .or_else(|| fhir::cc_text(code).and_then(codes::text_procedure))
        .or_else(|| cs.iter().find_map(|c| codes::text_procedure(c.display)))
}

/// Vertebral levels named by a CodeableConcept: SNOMED vertebra codes, or text/display naming a
/// level (`L1`, `L1 vertebra`, `T12 椎体`).
pub fn levels_of_cc(cc: &Value) -> Vec<Level> {
    let mut out = coding_levels(cc);
    if out.is_empty()
        && let Some(l) = fhir::cc_text(Some(cc)).and_then(level_from_text)
    {
        out.push(l);
    }
    out.sort();
    out.dedup();
    out
}

/// Levels of a Coding, or of a CodeableConcept.
fn coding_or_cc_levels(v: &Value) -> Vec<Level> {
    if v.get("coding").is_some() || v.get("text").is_some() {
        return levels_of_cc(v);
    }
    let system = v.get("system").and_then(Value::as_str).unwrap_or("");
    let code = v.get("code").and_then(Value::as_str).unwrap_or("");
    let display = v.get("display").and_then(Value::as_str).unwrap_or("");
    let level = if system == codes::SNOMED {
        codes::snomed_vertebra(code)
    } else {
        None
    };
    level
        .or_else(|| level_from_text(code))
        .or_else(|| level_from_text(display))
        .into_iter()
        .collect()
}

fn coding_levels(cc: &Value) -> Vec<Level> {
    let mut out = Vec::new();
    for c in fhir::codings(Some(cc)) {
        if c.system == codes::SNOMED
            && let Some(l) = codes::snomed_vertebra(c.code)
        {
            out.push(l);
        } else if let Some(l) = level_from_text(c.code).or_else(|| level_from_text(c.display)) {
            out.push(l);
        }
    }
    out
}

/// `L1`, `l1`, `L1 vertebra`, `T12椎体`: the first token must be exactly a level.
pub fn level_from_text(t: &str) -> Option<Level> {
    let t = t.trim();
    let end = t
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .map_or(t.len(), |(i, _)| i);
    Level::parse(&t[..end].to_ascii_uppercase())
}

fn modality_imaging(code: &str) -> Option<Imaging> {
    match code {
        "MR" => Some(Imaging::Mri),
        "CT" => Some(Imaging::Ct),
        "DX" | "CR" => Some(Imaging::Xray),
        _ => None,
    }
}

fn medication_index<'a>(resources: &[&'a Value]) -> BTreeMap<String, &'a Value> {
    let mut out = BTreeMap::new();
    for r in resources
        .iter()
        .copied()
        .filter(|r| fhir::resource_type(r) == Some("Medication"))
    {
        if let Some(id) = r.get("id").and_then(Value::as_str) {
            out.insert(id.to_string(), r);
            out.insert(format!("Medication/{id}"), r);
        }
    }
    out
}

/// The value of an element as written (`25 mL/min/1.73m2`, `"text"`), for the clinician's
/// data-quality list.
fn quantity_text(el: &Value) -> Option<String> {
    if let Some(q) = el.get("valueQuantity") {
        let v = q.get("value").map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })?;
        let cmp = q.get("comparator").and_then(Value::as_str).unwrap_or("");
        let unit = q
            .get("unit")
            .and_then(Value::as_str)
            .or_else(|| q.get("code").and_then(Value::as_str))
            .unwrap_or("");
        return Some(format!("{cmp}{v} {unit}").trim().to_string());
    }
    if let Some(v) = el.get("valueInteger") {
        return Some(v.to_string());
    }
    el.get("valueString")
        .and_then(Value::as_str)
        .map(|s| format!("\"{}\"", s.chars().take(40).collect::<String>()))
}

/// The lower-case text of a bodySite (text, else the displays).
fn site_text(site: Option<&Value>) -> Option<String> {
    let mut t: String = fhir::cc_text(site).unwrap_or("").to_lowercase();
    for c in fhir::codings(site) {
        t.push(' ');
        t.push_str(&c.display.to_lowercase());
    }
    (!t.trim().is_empty()).then_some(t)
}

fn unused_text(r: codemap::UnusedReason) -> &'static str {
    match r {
        codemap::UnusedReason::BmdNotTScore => {
            "a bone mineral density in g/cm², not a T-score (the engine classifies by T-score)"
        }
        codemap::UnusedReason::ZScore => "a Z-score, not a T-score",
        codemap::UnusedReason::CreatinineNotClearance => {
            "serum creatinine; eGFR/CrCl is not computed here (ask the laboratory to report eGFR)"
        }
        codemap::UnusedReason::IonisedCalcium => {
            "ionised calcium, not total/albumin-corrected calcium"
        }
    }
}

fn blank_fracture(level: Level) -> FractureInput {
    FractureInput {
        level,
        onset_days: None,
        pain_vas: None,
        imaging: None,
        mri: None,
        morphometry: None,
        height_loss_pct: None,
        kyphotic_angle_deg: None,
        posterior_wall: None,
        anterior_cortex_breach: None,
        intravertebral_cleft: None,
        of_type: None,
        malignancy_signs: None,
        deformity_progression: None,
        finding_source: None,
    }
}

/// Completed years from `born` to `on`.
pub fn completed_years(born: Date, on: Date) -> u32 {
    let months = born.months_until(on);
    u32::try_from(months / 12).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_from_text() {
        assert_eq!(level_from_text("L1"), Some(Level::L1));
        assert_eq!(level_from_text(" t12 vertebra"), Some(Level::T12));
        assert_eq!(level_from_text("T12椎体"), Some(Level::T12));
        assert_eq!(level_from_text("L10"), None);
        assert_eq!(level_from_text("Lumbar"), None);
    }

    #[test]
    fn ages() {
        let d = |s| Date::parse(s).unwrap_or_else(|| panic!("{s}"));
        assert_eq!(completed_years(d("1950-02-28"), d("2026-02-27")), 75);
        assert_eq!(completed_years(d("1950-02-28"), d("2026-02-28")), 76);
        assert_eq!(completed_years(d("1952-02-29"), d("2026-02-28")), 74);
    }
}
