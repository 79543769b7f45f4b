//! The registry over HTTP (api-v1 "REST API"): patients, record operations, the worklist, the FLS
//! indicators, audit verification and export. Each handler maps to one `ovcf_store::Store`
//! function, the same the CLI calls; the acting user is the authenticated principal, so every
//! write and every read of a patient record is in the audit chain under their name.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ovcf_store::{
    MeasurementKind, MedicationInput, NewPatient, OutcomeInput, StoreError, TaskFilter,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::{AdminOnly, Authorized, CareTeam, ClinicianOnly, Oversight};
use crate::body::{json_bytes, parse_json, parse_value};
use crate::error::{ApiError, ErrorCode, ErrorItem};

/// A store option name (`--birth-date`) as the API's field name (`birth_date`).
fn field_of(path: &str) -> String {
    match path.strip_prefix("--") {
        Some(opt) => opt.replace('-', "_"),
        None => path.to_owned(),
    }
}

/// The one mapping from registry errors to answers; `not_found` is the code for a missing record.
fn store_error(e: StoreError, not_found: ErrorCode) -> ApiError {
    match e {
        StoreError::Invalid(errors) => ApiError::from_items(
            ErrorCode::InvalidField,
            errors
                .into_iter()
                .map(|e| ErrorItem {
                    code: ErrorCode::InvalidField.as_str(),
                    path: (!e.path.is_empty()).then(|| field_of(&e.path)),
                    message: e.message,
                })
                .collect(),
        ),
        StoreError::NotFound(m) => ApiError::new(not_found, m),
        StoreError::Conflict(m) if not_found == ErrorCode::PatientNotFound && m.contains("MRN") => {
            ApiError::new(ErrorCode::DuplicateMrn, m)
        }
        StoreError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
        // Internal failures: the message carries no patient data (store errors name options,
        // ids and SQL failures), and it goes to the log only.
        other => ApiError::internal(&other),
    }
}

fn today() -> Result<ovcf_core::Date, ApiError> {
    crate::today().map_err(|e| ApiError::internal(&e))
}

fn registry(state: &AppState) -> Result<&ovcf_store::Store, ApiError> {
    state
        .store()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this server has no registry"))
}

fn json_created(status: StatusCode, value: impl serde::Serialize) -> Response {
    (status, Json(value)).into_response()
}

/// A new patient (registry-v1 fields).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPatientBody {
    pub mrn: String,
    /// `female` or `male`.
    pub sex: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// Create a patient.
#[utoipa::path(post, path = "/api/v1/patients", tag = "registry", security(("bearer" = [])),
    request_body = NewPatientBody,
    responses(
        (status = 201, description = "The patient, with its id"),
        (status = 409, description = "Duplicate MRN", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid field", body = crate::error::ErrorBody),
    ))]
pub async fn create_patient(
    who: Authorized<ClinicianOnly>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b: NewPatientBody = parse_json(&json_bytes(&headers, body)?)?;
    let p = registry(&state)?
        .add_patient(
            &who.principal.user,
            NewPatient {
                mrn: b.mrn,
                sex: b.sex,
                birth_date: b.birth_date,
                name: b.name,
                phone: b.phone,
            },
            today()?,
        )
        .await
        .map_err(|e| store_error(e, ErrorCode::PatientNotFound))?;
    Ok(json_created(StatusCode::CREATED, p))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// Part of an MRN or name.
    pub search: Option<String>,
}

/// List or search patients (audited: who searched, a hash of the search text, the ids returned).
#[utoipa::path(get, path = "/api/v1/patients", tag = "registry", security(("bearer" = [])),
    params(SearchParams), responses((status = 200, description = "Patients")))]
pub async fn list_patients(
    who: Authorized<CareTeam>,
    State(state): State<AppState>,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::BadParameter, e.body_text()))?;
    let patients = registry(&state)?
        .list_patients(
            &who.principal.user,
            q.search.as_deref().filter(|s| !s.is_empty()),
        )
        .await
        .map_err(|e| store_error(e, ErrorCode::NotFound))?;
    Ok(Json(patients).into_response())
}

/// A patient's whole record (the read is audited).
#[utoipa::path(get, path = "/api/v1/patients/{mrn}", tag = "registry", security(("bearer" = [])),
    params(("mrn" = String, Path)),
    responses((status = 200, description = "The record"), (status = 404, description = "Unknown patient", body = crate::error::ErrorBody)))]
pub async fn show_patient(
    who: Authorized<CareTeam>,
    State(state): State<AppState>,
    Path(mrn): Path<String>,
) -> Result<Response, ApiError> {
    let record = registry(&state)?
        .show_patient(&who.principal.user, &mrn, today()?)
        .await
        .map_err(|e| store_error(e, ErrorCode::PatientNotFound))?;
    Ok(Json(record).into_response())
}

/// Run the engine on an AssessmentRequest and store it with its follow-up tasks.
#[utoipa::path(post, path = "/api/v1/patients/{mrn}/assessments", tag = "registry", security(("bearer" = [])),
    params(("mrn" = String, Path)),
    request_body(content = crate::openapi::AssessmentRequestDoc, content_type = "application/json"),
    responses((status = 201, description = "{assessment_id, plan, tasks}"), (status = 404, description = "Unknown patient", body = crate::error::ErrorBody), (status = 422, description = "Invalid request", body = crate::error::ErrorBody)))]
pub async fn record_assessment(
    who: Authorized<ClinicianOnly>,
    State(state): State<AppState>,
    Path(mrn): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = json_bytes(&headers, body)?;
    parse_value(&bytes)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::new(ErrorCode::MalformedJson, "the body is not UTF-8"))?;
    let r = registry(&state)?
        .record_assessment(&who.principal.user, &mrn, text, today()?)
        .await
        .map_err(|e| store_error(e, ErrorCode::PatientNotFound))?;
    Ok(json_created(StatusCode::CREATED, r))
}

/// Record a performed vertebroplasty/kyphoplasty (assessment-v1 `procedure` object).
#[utoipa::path(post, path = "/api/v1/patients/{mrn}/procedures", tag = "registry", security(("bearer" = [])),
    params(("mrn" = String, Path)),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 201, description = "Recorded, with re-derived tasks"), (status = 404, description = "Unknown patient", body = crate::error::ErrorBody), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn record_procedure(
    who: Authorized<ClinicianOnly>,
    State(state): State<AppState>,
    Path(mrn): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = json_bytes(&headers, body)?;
    parse_value(&bytes)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::new(ErrorCode::MalformedJson, "the body is not UTF-8"))?;
    let r = registry(&state)?
        .record_procedure(&who.principal.user, &mrn, text, today()?)
        .await
        .map_err(|e| store_error(e, ErrorCode::PatientNotFound))?;
    Ok(json_created(StatusCode::CREATED, r))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MedicationBody {
    pub drug: String,
    pub start: String,
    pub end: Option<String>,
    pub last_dose: Option<String>,
}

/// Start, end or update a drug.
#[utoipa::path(post, path = "/api/v1/patients/{mrn}/medications", tag = "registry", security(("bearer" = [])),
    params(("mrn" = String, Path)), request_body = MedicationBody,
    responses((status = 201, description = "Recorded"), (status = 404, description = "Unknown patient", body = crate::error::ErrorBody), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn record_medication(
    who: Authorized<ClinicianOnly>,
    State(state): State<AppState>,
    Path(mrn): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b: MedicationBody = parse_json(&json_bytes(&headers, body)?)?;
    let r = registry(&state)?
        .record_medication(
            &who.principal.user,
            &mrn,
            MedicationInput {
                drug: b.drug,
                start: b.start,
                end: b.end,
                last_dose: b.last_dose,
            },
        )
        .await
        .map_err(|e| store_error(e, ErrorCode::PatientNotFound))?;
    Ok(json_created(StatusCode::CREATED, r))
}

/// Measurements on one date (at least one value).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasurementBody {
    pub date: String,
    pub dxa_lumbar_t: Option<f64>,
    pub dxa_femoral_neck_t: Option<f64>,
    pub dxa_total_hip_t: Option<f64>,
    pub qct: Option<f64>,
    pub vas: Option<f64>,
    pub egfr: Option<f64>,
    pub p1np: Option<f64>,
    pub ctx: Option<f64>,
}

/// Record measurements (time series used by charts and later assessments).
#[utoipa::path(post, path = "/api/v1/patients/{mrn}/measurements", tag = "registry", security(("bearer" = [])),
    params(("mrn" = String, Path)), request_body = MeasurementBody,
    responses((status = 201, description = "Recorded"), (status = 404, description = "Unknown patient", body = crate::error::ErrorBody), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn record_measurements(
    who: Authorized<ClinicianOnly>,
    State(state): State<AppState>,
    Path(mrn): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b: MeasurementBody = parse_json(&json_bytes(&headers, body)?)?;
    let values: Vec<(MeasurementKind, f64)> = [
        (MeasurementKind::DxaLumbarT, b.dxa_lumbar_t),
        (MeasurementKind::DxaFemoralNeckT, b.dxa_femoral_neck_t),
        (MeasurementKind::DxaTotalHipT, b.dxa_total_hip_t),
        (MeasurementKind::Qct, b.qct),
        (MeasurementKind::Vas, b.vas),
        (MeasurementKind::Egfr, b.egfr),
        (MeasurementKind::P1np, b.p1np),
        (MeasurementKind::Ctx, b.ctx),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let r = registry(&state)?
        .record_measurements(&who.principal.user, &mrn, &b.date, &values)
        .await
        .map_err(|e| store_error(e, ErrorCode::PatientNotFound))?;
    Ok(json_created(StatusCode::CREATED, r))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    pub date: String,
    /// `new_fracture`, `death`, `lost_to_follow_up` or `declined_treatment`.
    #[serde(rename = "type")]
    pub kind: String,
    pub level: Option<String>,
}

/// Record an outcome event.
#[utoipa::path(post, path = "/api/v1/patients/{mrn}/events", tag = "registry", security(("bearer" = [])),
    params(("mrn" = String, Path)), request_body = EventBody,
    responses((status = 201, description = "Recorded"), (status = 404, description = "Unknown patient", body = crate::error::ErrorBody), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn record_event(
    who: Authorized<ClinicianOnly>,
    State(state): State<AppState>,
    Path(mrn): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b: EventBody = parse_json(&json_bytes(&headers, body)?)?;
    let r = registry(&state)?
        .record_event(
            &who.principal.user,
            &mrn,
            OutcomeInput {
                date: b.date,
                kind: b.kind,
                level: b.level,
            },
        )
        .await
        .map_err(|e| store_error(e, ErrorCode::PatientNotFound))?;
    Ok(json_created(StatusCode::CREATED, r))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TaskParams {
    /// `YYYY-MM-DD` (default today).
    pub as_of: Option<String>,
    /// `due`, `overdue`, `open` (default), `done` or `all`.
    pub status: Option<String>,
}

/// The follow-up worklist.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "registry", security(("bearer" = [])),
    params(TaskParams), responses((status = 200, description = "Tasks")))]
pub async fn tasks(
    _who: Authorized<CareTeam>,
    State(state): State<AppState>,
    query: Result<Query<TaskParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::BadParameter, e.body_text()))?;
    let as_of = match q.as_of.as_deref() {
        None | Some("") => today()?,
        Some(s) => ovcf_core::Date::parse(s)
            .ok_or_else(|| ApiError::at(ErrorCode::BadParameter, "as_of", "expected YYYY-MM-DD"))?,
    };
    let filter = match q.status.as_deref() {
        None | Some("") | Some("open") => TaskFilter::Open,
        Some("due") => TaskFilter::Due,
        Some("overdue") => TaskFilter::Overdue,
        Some("done") => TaskFilter::Done,
        Some("all") => TaskFilter::All,
        Some(_) => {
            return Err(ApiError::at(
                ErrorCode::BadParameter,
                "status",
                "expected due, overdue, open, done or all",
            ));
        }
    };
    let list = registry(&state)?
        .tasks(as_of, filter)
        .await
        .map_err(|e| store_error(e, ErrorCode::NotFound))?;
    Ok(Json(list).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskDoneBody {
    pub date: Option<String>,
    pub note: Option<String>,
}

/// Complete a task (body optional).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/done", tag = "registry", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = TaskDoneBody, content_type = "application/json"),
    responses((status = 200, description = "The task"), (status = 404, description = "Unknown task", body = crate::error::ErrorBody), (status = 409, description = "Already closed", body = crate::error::ErrorBody)))]
pub async fn task_done(
    who: Authorized<CareTeam>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::TaskNotFound, "no such task"))?;
    let b: TaskDoneBody = match &body {
        Ok(bytes) if bytes.is_empty() => TaskDoneBody::default(),
        _ => parse_json(&json_bytes(&headers, body)?)?,
    };
    let t = registry(&state)?
        .task_done(
            &who.principal.user,
            id,
            b.date.as_deref(),
            b.note.as_deref(),
            today()?,
        )
        .await
        .map_err(|e| store_error(e, ErrorCode::TaskNotFound))?;
    Ok(Json(t).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct KpiParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The FLS indicators.
#[utoipa::path(get, path = "/api/v1/kpi", tag = "registry", security(("bearer" = [])),
    params(KpiParams), responses((status = 200, description = "Indicators")))]
pub async fn kpi(
    _who: Authorized<Oversight>,
    State(state): State<AppState>,
    query: Result<Query<KpiParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::BadParameter, e.body_text()))?;
    let k = registry(&state)?
        .kpi(q.from.as_deref(), q.to.as_deref())
        .await
        .map_err(|e| store_error(e, ErrorCode::NotFound))?;
    Ok(Json(k).into_response())
}

/// Verify the audit chain (and every audited row).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "registry", security(("bearer" = [])),
    responses((status = 200, description = "{ok, events, first_bad?}")))]
pub async fn audit_verify(
    _who: Authorized<AdminOnly>,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let r = registry(&state)?
        .verify()
        .await
        .map_err(|e| store_error(e, ErrorCode::NotFound))?;
    Ok(Json(r).into_response())
}

/// Full export, one JSON object per line.
#[utoipa::path(get, path = "/api/v1/export", tag = "registry", security(("bearer" = [])),
    responses((status = 200, description = "NDJSON", content_type = "application/x-ndjson")))]
pub async fn export(
    who: Authorized<AdminOnly>,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let store = state
        .store_arc()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this server has no registry"))?;
    // The store writes the export to a `std::io::Write` (a future that is not `Send`), so it runs
    // on a blocking thread; the export is buffered, then sent.
    let handle = tokio::runtime::Handle::current();
    let buf = tokio::task::spawn_blocking(move || {
        let mut buf = Vec::new();
        handle.block_on(store.export(&mut buf)).map(|_| buf)
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| store_error(e, ErrorCode::NotFound))?;
    tracing::info!(user = %who.principal.user, "registry exported");
    let mut r = Response::new(Body::from(buf));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(r)
}
