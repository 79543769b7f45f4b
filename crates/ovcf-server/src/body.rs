//! JSON request bodies: 415 unless declared JSON, 413 over the limit, 400 unless well-formed.
//! Typed contract errors (422) are the caller's, with paths.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};
use crate::middleware::BODY_LIMIT;

/// Whether the `Content-Type` is `application/json` or `application/*+json` (any parameters).
pub fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || sub.len() > 5
                && sub.is_char_boundary(sub.len() - 5)
                && sub[sub.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// The raw body of a JSON request, after the media-type and size checks.
pub fn json_bytes(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be JSON (`Content-Type: application/json`)",
        ));
    }
    match body {
        Ok(bytes) => Ok(bytes),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the body is over the limit of {BODY_LIMIT} bytes"),
            ))
        }
        Err(rejection) => Err(ApiError::new(
            ErrorCode::MalformedJson,
            format!("the body could not be read: {}", rejection.body_text()),
        )),
    }
}

/// Parses a JSON body into `T`; syntax errors are 400, shape errors 422 with the field's path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = parse_value(bytes)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::at(ErrorCode::InvalidField, path, e.inner().to_string())
    })
}

/// Parses a body as any JSON value; 400 when it is not well-formed JSON.
pub fn parse_value(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        // serde_json's message names only line/column and the kind of error, never the content.
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("the body is not well-formed JSON: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_ct(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(ct) {
            h.insert(header::CONTENT_TYPE, v);
        }
        h
    }

    #[test]
    fn json_media_types() {
        assert!(is_json(&with_ct("application/json")));
        assert!(is_json(&with_ct("application/json; charset=utf-8")));
        assert!(is_json(&with_ct("Application/JSON")));
        assert!(is_json(&with_ct("application/fhir+json")));
        assert!(!is_json(&with_ct("text/plain")));
        assert!(!is_json(&with_ct("application/x-www-form-urlencoded")));
        assert!(!is_json(&with_ct("+json")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
