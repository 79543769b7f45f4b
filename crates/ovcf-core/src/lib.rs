//! OVCF Pathway assessment engine.
//!
//! Pure: no IO, no clock, no async. The current date is an input (`as_of`, or the caller's
//! `today`). Flow: JSON → [`validate`] → [`facts`] → [`rules`] (one module per report section) →
//! [`report::AssessmentReport`], with every recommendation's evidence from the [`knowledge`] base.

pub mod date;
pub mod engine;
pub mod facts;
pub mod knowledge;
pub mod report;
pub mod request;
pub mod rules;
pub mod validate;

pub use date::Date;
pub use engine::{ENGINE_VERSION, EngineError, assess_valid};
pub use report::AssessmentReport;
pub use request::AssessmentRequest;
pub use validate::{FieldError, ValidRequest, schema_of, validate_json, validate_value};

/// Why an assessment could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    /// The request is invalid: every offending field, with its path.
    #[error("invalid request ({} error(s))", .0.len())]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The one JSON serialisation of a report, shared by `ovcf assess` and `POST /api/v1/assessments`
/// so both answer byte for byte the same: pretty-printed, with a final newline.
pub fn report_json(report: &AssessmentReport) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}

/// Validates and assesses a JSON request; `today` stands in for an absent `as_of`.
pub fn assess_json(json: &str, today: Date) -> Result<AssessmentReport, AssessError> {
    let valid = validate_json(json, today).map_err(AssessError::Invalid)?;
    Ok(assess_valid(&valid)?)
}

/// Validates and assesses a request already in memory (e.g. mapped from FHIR).
pub fn assess(request: &AssessmentRequest, today: Date) -> Result<AssessmentReport, AssessError> {
    let value = serde_json::to_value(request).map_err(|e| {
        AssessError::Invalid(vec![FieldError {
            path: String::new(),
            message: e.to_string(),
        }])
    })?;
    let valid = validate_value(&value, today).map_err(AssessError::Invalid)?;
    Ok(assess_valid(&valid)?)
}
