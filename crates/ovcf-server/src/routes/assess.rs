//! `POST /api/v1/assessments`: the engine on an AssessmentRequest, nothing stored. The JSON answer
//! is byte-for-byte `ovcf assess --format json` (both call [`crate::report_json`]).

use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ovcf_core::AssessError;
use ovcf_report::{Lang, RenderOptions};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authorized, ClinicianOnly};
use crate::body::{json_bytes, parse_value};
use crate::error::{ApiError, ErrorCode};

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// The JSON report (contract v1), as `ovcf assess --format json`.
    #[default]
    Json,
    /// Plain text for the clinical note.
    Text,
    /// One self-contained printable HTML page.
    Html,
}

/// Query parameters of an assessment.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssessParams {
    /// Language of text and HTML reports: `zh` (default) or `en`.
    pub lang: Option<String>,
    /// `json` (default), `text` or `html`.
    pub format: Option<String>,
    /// Include the decision trace in text and HTML reports (`true`/`false`; JSON always has it).
    pub explain: Option<bool>,
}

/// Parses `lang` (absent → zh).
pub fn parse_lang(lang: Option<&str>) -> Result<Lang, ApiError> {
    match lang {
        None | Some("") => Ok(Lang::Zh),
        Some(s) => s.parse().map_err(|e: ovcf_report::ParseLangError| {
            ApiError::at(ErrorCode::BadParameter, "lang", e.to_string())
        }),
    }
}

fn parse_format(format: Option<&str>) -> Result<ReportFormat, ApiError> {
    match format {
        None | Some("") | Some("json") => Ok(ReportFormat::Json),
        Some("text") => Ok(ReportFormat::Text),
        Some("html") => Ok(ReportFormat::Html),
        Some(_) => Err(ApiError::at(
            ErrorCode::BadParameter,
            "format",
            "expected `json`, `text` or `html`",
        )),
    }
}

/// Assess one request (nothing is stored).
#[utoipa::path(post, path = "/api/v1/assessments", tag = "assessment",
    params(AssessParams),
    security(("bearer" = [])),
    request_body(content = crate::openapi::AssessmentRequestDoc, content_type = "application/json",
        description = "An AssessmentRequest (contract v1; schema at /api/v1/schema/request)"),
    responses(
        (status = 200, description = "The report (JSON; or text/HTML with `format`)", body = crate::openapi::AssessmentReportDoc),
        (status = 400, description = "Malformed JSON or bad parameter", body = crate::error::ErrorBody),
        (status = 401, description = "No or bad credentials", body = crate::error::ErrorBody),
        (status = 403, description = "Role not allowed (clinician only)", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = crate::error::ErrorBody),
        (status = 415, description = "Body not JSON", body = crate::error::ErrorBody),
        (status = 422, description = "Contract validation failed: one item per field, with its path", body = crate::error::ErrorBody),
        (status = 429, description = "Over the rate limit", body = crate::error::ErrorBody),
    ))]
pub async fn create_assessment(
    _who: Authorized<ClinicianOnly>,
    query: Result<Query<AssessParams>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::new(ErrorCode::BadParameter, e.body_text()))?;
    let lang = parse_lang(params.lang.as_deref())?;
    let format = parse_format(params.format.as_deref())?;
    let bytes = json_bytes(&headers, body)?;
    let value = parse_value(&bytes)?;
    let today = crate::today().map_err(|e| ApiError::internal(&e))?;
    let valid = ovcf_core::validate_value(&value, today)
        .map_err(|errors| ApiError::invalid_fields(&errors))?;
    let report =
        ovcf_core::assess_valid(&valid).map_err(|e| ApiError::internal(&AssessError::from(e)))?;
    let opts = RenderOptions {
        lang,
        explain: params.explain.unwrap_or(false),
    };
    let (content_type, text) = match format {
        ReportFormat::Json => (
            "application/json",
            crate::report_json(&report).map_err(|e| ApiError::internal(&e))?,
        ),
        ReportFormat::Text => (
            "text/plain; charset=utf-8",
            ovcf_report::render_text(&report, &opts),
        ),
        ReportFormat::Html => (
            "text/html; charset=utf-8",
            ovcf_report::render_html(&report, &opts),
        ),
    };
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}
