//! `GET /api/v1/schema/request|report`: the JSON Schemas generated from the contract types (the
//! same documents as `ovcf schema request|report`).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;
use crate::auth::{AnyRole, Authorized};

/// The JSON Schema of an AssessmentRequest.
#[utoipa::path(get, path = "/api/v1/schema/request", tag = "assessment",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "JSON Schema (2020-12) of the request", content_type = "application/schema+json"),
        (status = 401, description = "No or bad credentials", body = crate::error::ErrorBody),
    ))]
pub async fn request_schema(
    _who: Authorized<AnyRole>,
    State(state): State<AppState>,
) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/schema+json")],
        state.schemas().request.clone(),
    )
}

/// The JSON Schema of an AssessmentReport.
#[utoipa::path(get, path = "/api/v1/schema/report", tag = "assessment",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "JSON Schema (2020-12) of the report", content_type = "application/schema+json"),
        (status = 401, description = "No or bad credentials", body = crate::error::ErrorBody),
    ))]
pub async fn report_schema(
    _who: Authorized<AnyRole>,
    State(state): State<AppState>,
) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/schema+json")],
        state.schemas().report.clone(),
    )
}
