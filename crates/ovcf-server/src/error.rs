//! The one error shape of the API, `{"errors":[{"code","path"?,"message"}]}`, and its catalogue of
//! stable machine codes. Clients and tests match on `code`, never on `message`.
//!
//! Architecture invariant: every error response of the service is built here, so a 500 never
//! carries internal detail (that goes to the server log, without patient data).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The stable error codes and the HTTP status each one is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the body is not syntactically valid JSON.
    MalformedJson,
    /// 400: a query parameter or path segment is not acceptable.
    BadParameter,
    /// 401: no credentials were given.
    Unauthenticated,
    /// 401: the credentials given are unknown, revoked or expired.
    InvalidCredentials,
    /// 403: the authenticated role may not use this endpoint.
    Forbidden,
    /// 404: no such endpoint.
    NoRoute,
    /// 404: unknown patient.
    PatientNotFound,
    /// 404: unknown task.
    TaskNotFound,
    /// 404: some other record is unknown.
    NotFound,
    /// 405: the endpoint exists but not with this method.
    MethodNotAllowed,
    /// 409: a patient with this MRN exists already.
    DuplicateMrn,
    /// 409: some other conflict with the stored state.
    Conflict,
    /// 413: the body is over the limit (1 MiB).
    PayloadTooLarge,
    /// 415: the body is not declared as JSON.
    UnsupportedMediaType,
    /// 422: the request breaks the contract (one item per offending field, with its path).
    InvalidField,
    /// 429: over the per-principal rate limit.
    RateLimited,
    /// 500: an internal failure (details only in the server log).
    Internal,
    /// 503: the request took longer than the server's time limit, or a dependency is down.
    Unavailable,
}

impl ErrorCode {
    /// The machine code as it appears in the `code` field.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::BadParameter => "bad_parameter",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NoRoute => "no_route",
            ErrorCode::PatientNotFound => "patient_not_found",
            ErrorCode::TaskNotFound => "task_not_found",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::DuplicateMrn => "duplicate_mrn",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    /// The HTTP status this code is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::MalformedJson | ErrorCode::BadParameter => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NoRoute
            | ErrorCode::PatientNotFound
            | ErrorCode::TaskNotFound
            | ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::DuplicateMrn | ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidField => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Every code, for the catalogue test and the documentation.
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::MalformedJson,
        ErrorCode::BadParameter,
        ErrorCode::Unauthenticated,
        ErrorCode::InvalidCredentials,
        ErrorCode::Forbidden,
        ErrorCode::NoRoute,
        ErrorCode::PatientNotFound,
        ErrorCode::TaskNotFound,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::DuplicateMrn,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::InvalidField,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
    ];
}

/// One error item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorItem {
    /// Stable machine code (see the catalogue).
    pub code: &'static str,
    /// JSON path in the contract's notation (`fractures[0].level`), or the parameter name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Human-readable explanation (may change; do not match on it).
    pub message: String,
}

/// The error body of every non-2xx answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
}

/// An error answer: status, items and, for 401/429, the headers the client needs.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    items: Vec<ErrorItem>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    /// One error of `code` with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status: code.status(),
            items: vec![ErrorItem {
                code: code.as_str(),
                path: None,
                message: message.into(),
            }],
            retry_after_secs: None,
        }
    }

    /// One error of `code` about the field or parameter at `path`.
    pub fn at(code: ErrorCode, path: impl Into<String>, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(code, message);
        if let Some(item) = e.items.first_mut() {
            item.path = Some(path.into());
        }
        e
    }

    /// 422 listing every offending field of a request, with the CLI's paths.
    pub fn invalid_fields(errors: &[ovcf_core::FieldError]) -> ApiError {
        let items = errors
            .iter()
            .map(|e| ErrorItem {
                code: ErrorCode::InvalidField.as_str(),
                path: (!e.path.is_empty()).then(|| e.path.clone()),
                message: e.message.clone(),
            })
            .collect();
        ApiError {
            status: ErrorCode::InvalidField.status(),
            items,
            retry_after_secs: None,
        }
    }

    /// Several items answered with `code`'s status.
    pub fn from_items(code: ErrorCode, items: Vec<ErrorItem>) -> ApiError {
        ApiError {
            status: code.status(),
            items,
            retry_after_secs: None,
        }
    }

    /// A 500 whose cause is logged (without patient data: callers pass only error values that carry
    /// no request content) and never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(ErrorCode::Internal, "internal error")
    }

    /// 429 with a `Retry-After` header.
    pub fn rate_limited(retry_after_secs: u64) -> ApiError {
        let mut e = ApiError::new(ErrorCode::RateLimited, "too many requests; retry later");
        e.retry_after_secs = Some(retry_after_secs.max(1));
        e
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error items.
    pub fn items(&self) -> &[ErrorItem] {
        &self.items
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody { errors: self.items }).unwrap_or_else(|_| {
            br#"{"errors":[{"code":"internal","message":"internal error"}]}"#.to_vec()
        });
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_')
            );
            assert!(c.status().is_client_error() || c.status().is_server_error());
        }
    }

    #[test]
    fn path_is_omitted_when_absent() {
        let body = ErrorBody {
            errors: vec![ErrorItem {
                code: "x",
                path: None,
                message: "m".into(),
            }],
        };
        assert_eq!(
            serde_json::to_string(&body).ok().as_deref(),
            Some(r#"{"errors":[{"code":"x","message":"m"}]}"#)
        );
    }
}
