//! The OVCF registry (contract `registry-v1.md`): patients, index fractures, assessments (request +
//! report + versions), procedures, medications, measurements, outcome events, follow-up tasks and a
//! hash-chained audit log, on SQLite (default) or PostgreSQL, one logical schema.
//!
//! Design:
//! * Every write goes through [`store::Writer::insert`], which writes one row *and* its audit event
//!   in the writer's transaction; a `Writer` is the only way to get a write transaction. Data
//!   tables are append-only (a completed or superseded task is a `task_closures` row, an updated
//!   medication a new row that `supersedes` the old), so each row is written by exactly one event
//!   and `verify` re-hashes every row against it.
//! * Reads are audited too: a `read` event per patient record shown, a `patient_search` row per
//!   search or listing (hash of the search text, ids returned). Account changes and CDS feedback
//!   write a `service_event` row (never a secret); actors follow [`audit::actor`].
//! * Follow-up tasks come from the engine's `report.follow_up`; due/overdue status is derived
//!   from dates at query time, never stored.
//! * KPIs are computed by one SQL query; the date windows of an index fracture (90 days, 16 and
//!   52 weeks, 10/12/14 months) are computed once with the engine's date arithmetic and stored
//!   with it, so both engines compare the same dates.

pub mod accounts;
pub mod audit;
pub mod db;
pub mod demo;
pub mod gaps;
pub mod kpi;
pub mod schema;
pub mod store;
pub mod transfer;
pub mod verify;

pub use audit::AuditEvent;
pub use db::Engine;
pub use gaps::CareGap;
pub use kpi::{Kpi, Kpis};
pub use store::{
    MeasurementKind, MedicationInput, NewPatient, OutcomeInput, Patient, RecordedAssessment,
    SCHEMA_VERSION, Store, TaskFilter, TaskView,
};
pub use verify::VerifyReport;

/// One offending input: the option or JSON path, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Bad input; nothing was written.
    #[error("invalid input: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<InputError>),
    /// A referenced record does not exist (unknown MRN, task id…); nothing was written.
    #[error("{0}")]
    NotFound(String),
    /// The write conflicts with stored data (duplicate MRN, task already closed…); nothing written.
    #[error("{0}")]
    Conflict(String),
    /// The database was written by a newer program; it is left untouched.
    #[error(
        "the database has schema version {found}, newer than this program's {supported}: upgrade ovcf; the database was not changed"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("the database's migration {version} differs from this program's: {message}")]
    SchemaMismatch { version: i64, message: String },
    /// Stored data that cannot be read back as written (only tampering or a foreign program).
    #[error("corrupt registry data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
}

impl StoreError {
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> StoreError {
        StoreError::Invalid(vec![InputError {
            path: path.into(),
            message: message.into(),
        }])
    }

    /// True when the caller's input was at fault (the CLI exits 2).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            StoreError::Invalid(_) | StoreError::NotFound(_) | StoreError::Conflict(_)
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
