//! Cross-cutting layers: request id, access log without patient data, security headers, body-size
//! limit, time limit and panic containment. Each one answers with the API's error shape.
//!
//! Architecture invariant: the access log carries the method, the *matched route template*
//! (`/api/v1/patients/{mrn}`, never the MRN), the status, the latency and the request id. Never a
//! body, a query string, a raw path or a header value other than the request id.

use std::any::Any;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

/// The body-size limit of every endpoint (api-v1: 413 over 1 MiB).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The request id of a request (from `x-request-id` when well-formed, else generated).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub const REQUEST_ID: &str = "x-request-id";

fn acceptable_request_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'))
    .then_some(s)
}

/// Request id, access log and security headers. Outermost layer.
pub async fn observe(mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(acceptable_request_id)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Answers may carry patient data: no shared or browser caching.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let status = response.status().as_u16();
    let latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    let route = route.as_deref().unwrap_or("<unmatched>");
    if status >= 500 {
        tracing::warn!(request_id = %id, %method, route, status, latency_us, "request");
    } else {
        tracing::info!(request_id = %id, %method, route, status, latency_us, "request");
    }
    response
}

/// 413 as soon as the declared length is over the limit, before reading any of the body (a client
/// that keeps uploading is not made to wait). Bodies without a length are cut at the limit by
/// `DefaultBodyLimit` when read (see `body::json_bytes`).
pub async fn limit_declared_length(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        let mut response = ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is over the limit of {BODY_LIMIT} bytes"),
        )
        .into_response();
        // The unread body makes the connection unusable for another request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    next.run(req).await
}

/// Answers 503 when producing the response head takes longer than the configured limit.
pub async fn time_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit: Duration = state.request_timeout();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ErrorCode::Unavailable,
            "the request took too long; try again",
        )
        .into_response(),
    }
}

/// Turns a panic into a 500 without detail; the payload goes to the log only when it is a string
/// we wrote (panic messages from our code never include request content).
pub fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned());
    ApiError::internal(&format_args!("handler panicked: {what}")).into_response()
}

/// 404 for any path that is no endpoint.
pub async fn no_route() -> ApiError {
    ApiError::new(ErrorCode::NoRoute, "no such endpoint")
}

/// 405 for a known path with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this endpoint does not accept this method",
    )
}
