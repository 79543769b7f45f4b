//! Fetching what `prefetch` lacks from the client's `fhirServer` with its `fhirAuthorization`
//! (CDS Hooks 2.0 "FHIR resource access"): one GET per missing prefetch key, the same queries the
//! discovery document declares.
//!
//! Limits: plain `http://` FHIR servers only in this build (no TLS stack is linked; an `https://`
//! server is reported, never contacted insecurely); 5 s per request; 4 MiB per answer; the patient
//! id must be a FHIR id (`[A-Za-z0-9.-]{1,64}`) so it cannot change the query.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use ovcf_fhir::HookRequest;
use serde_json::Value;

const ANSWER_LIMIT: usize = 4 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("fhirServer uses https, which this build cannot reach")]
    TlsUnsupported,
    #[error("fhirServer is not an http URL")]
    BadServer,
    #[error("context.patientId is not a FHIR id")]
    BadPatientId,
    #[error("the FHIR server did not answer in time")]
    Timeout,
    #[error("the FHIR server answered {0}")]
    Status(u16),
    #[error("the FHIR server could not be reached")]
    Unreachable,
    #[error("the FHIR server's answer is not FHIR JSON or is too large")]
    BadAnswer,
}

/// A reusable HTTP/1 client.
#[derive(Clone)]
pub struct FhirClient {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for FhirClient {
    fn default() -> FhirClient {
        FhirClient {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

fn fhir_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

impl FhirClient {
    /// The prefetch keys `req` lacks, fetched from its `fhirServer`; empty when it names none.
    pub async fn fetch_missing(
        &self,
        req: &HookRequest,
    ) -> Result<BTreeMap<String, Value>, FetchError> {
        let Some(server) = req.fhir_server.as_deref() else {
            return Ok(BTreeMap::new());
        };
        if server.starts_with("https://") {
            return Err(FetchError::TlsUnsupported);
        }
        if !server.starts_with("http://") {
            return Err(FetchError::BadServer);
        }
        let patient = req.patient_id().ok_or(FetchError::BadPatientId)?;
        if !fhir_id(patient) {
            return Err(FetchError::BadPatientId);
        }
        let have = req.prefetch.as_ref();
        let mut out = BTreeMap::new();
        for (key, template) in ovcf_fhir::discovery::prefetch_templates() {
            if have.is_some_and(|p| p.contains_key(&key)) {
                continue;
            }
            let query = template
                .replace("{{context.patientId}}", patient)
                .replace('|', "%7C");
            let url = format!("{}/{query}", server.trim_end_matches('/'));
            out.insert(key, self.get(&url, req).await?);
        }
        Ok(out)
    }

    async fn get(&self, url: &str, req: &HookRequest) -> Result<Value, FetchError> {
        let mut builder = Request::get(url).header(header::ACCEPT, "application/fhir+json");
        if let Some(auth) = &req.fhir_authorization {
            builder = builder.header(
                header::AUTHORIZATION,
                format!("Bearer {}", auth.access_token),
            );
        }
        let request = builder
            .body(Full::new(Bytes::new()))
            .map_err(|_| FetchError::BadServer)?;
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| FetchError::Timeout)?
            .map_err(|_| FetchError::Unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let body = tokio::time::timeout(
            TIMEOUT,
            Limited::new(response.into_body(), ANSWER_LIMIT).collect(),
        )
        .await
        .map_err(|_| FetchError::Timeout)?
        .map_err(|_| FetchError::BadAnswer)?
        .to_bytes();
        serde_json::from_slice(&body).map_err(|_| FetchError::BadAnswer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_ids_cannot_change_the_query() {
        assert!(fhir_id("p1"));
        assert!(fhir_id("A-1.2"));
        assert!(!fhir_id("p1&code=x"));
        assert!(!fhir_id("../Patient"));
        assert!(!fhir_id(""));
    }
}
