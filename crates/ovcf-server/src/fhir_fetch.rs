//! Fetching what `prefetch` lacks from the client's `fhirServer` with its `fhirAuthorization`
//! (CDS Hooks 2.0 "FHIR resource access"): one GET per missing prefetch key, the same queries the
//! discovery document declares.
//!
//! Scheme policy: `https://` servers are reached over TLS (rustls with the aws-lc-rs provider,
//! certificates checked against the Mozilla roots compiled in from `webpki-roots`, TLS 1.2 or 1.3).
//! Plain `http://` is accepted only for a loopback host (`localhost`, 127.0.0.0/8, `::1`: tests, a
//! FHIR proxy on the same machine); to any other host it is refused before a connection is made,
//! because the request carries the `fhirAuthorization` bearer token, which must not cross a network
//! unencrypted. A refused or failed fetch is answered 412 with an OperationOutcome naming why.
//!
//! Limits: 5 s per request; 4 MiB per answer; the patient id must be a FHIR id
//! (`[A-Za-z0-9.-]{1,64}`) so it cannot change the query.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, Uri, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use ovcf_fhir::HookRequest;
use serde_json::Value;

const ANSWER_LIMIT: usize = 4 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "fhirServer uses http:// to a host other than this machine; the access token would travel unencrypted, so it was not contacted: use https://"
    )]
    InsecureServer,
    #[error("TLS is not available in this server ({0}), so the https fhirServer was not contacted")]
    TlsUnavailable(String),
    #[error("fhirServer is not an https:// (or loopback http://) base URL")]
    BadServer,
    #[error("context.patientId is not a FHIR id")]
    BadPatientId,
    #[error("the FHIR server did not answer in time")]
    Timeout,
    #[error("the FHIR server answered {0}")]
    Status(u16),
    #[error("the FHIR server could not be reached (connection or TLS handshake failed)")]
    Unreachable,
    #[error("the FHIR server's answer is not FHIR JSON or is too large")]
    BadAnswer,
}

/// How a `fhirServer` base URL may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `https://`: TLS with certificate verification.
    Tls,
    /// `http://` to a loopback host.
    LoopbackHttp,
}

/// The scheme policy (module documentation): `https://` anywhere, `http://` only to loopback.
pub fn transport_for(server: &str) -> Result<Transport, FetchError> {
    let uri: Uri = server.parse().map_err(|_| FetchError::BadServer)?;
    let authority = uri.authority().ok_or(FetchError::BadServer)?;
    // No credentials in the URL, no query (the fetch appends resource paths and queries).
    if authority.as_str().contains('@') || uri.query().is_some() {
        return Err(FetchError::BadServer);
    }
    let host = authority.host();
    if host.is_empty() {
        return Err(FetchError::BadServer);
    }
    match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("https") => Ok(Transport::Tls),
        Some("http") if is_loopback(host) => Ok(Transport::LoopbackHttp),
        Some("http") => Err(FetchError::InsecureServer),
        _ => Err(FetchError::BadServer),
    }
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Reusable HTTP/1 clients: TLS for `https://`, plain for loopback `http://`.
#[derive(Clone)]
pub struct FhirClient {
    /// The TLS client, or why TLS could not be configured.
    https: Result<Client<HttpsConnector<HttpConnector>, Full<Bytes>>, Arc<str>>,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Default for FhirClient {
    fn default() -> FhirClient {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let https = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map(|b| {
                Client::builder(TokioExecutor::new()).build(b.https_only().enable_http1().build())
            })
            .map_err(|e| {
                tracing::error!(error = %e, "TLS for FHIR fetches could not be configured");
                Arc::from(e.to_string())
            });
        FhirClient {
            https,
            http: Client::builder(TokioExecutor::new()).build_http(),
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
        let transport = transport_for(server)?;
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
            out.insert(key, self.get(transport, &url, req).await?);
        }
        Ok(out)
    }

    async fn get(
        &self,
        transport: Transport,
        url: &str,
        req: &HookRequest,
    ) -> Result<Value, FetchError> {
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
        let pending = match transport {
            Transport::Tls => match &self.https {
                Ok(client) => client.request(request),
                Err(why) => return Err(FetchError::TlsUnavailable(why.to_string())),
            },
            Transport::LoopbackHttp => self.http.request(request),
        };
        let response = tokio::time::timeout(TIMEOUT, pending)
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

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        for ok in [
            "https://fhir.example.org/r4",
            "HTTPS://fhir.example.org",
            "https://10.0.0.5:8443/fhir",
        ] {
            assert_eq!(transport_for(ok).ok(), Some(Transport::Tls), "{ok}");
        }
        for ok in [
            "http://127.0.0.1:8080/fhir",
            "http://127.9.9.9/fhir",
            "http://localhost/fhir",
            "http://[::1]:9000/fhir",
        ] {
            assert_eq!(
                transport_for(ok).ok(),
                Some(Transport::LoopbackHttp),
                "{ok}"
            );
        }
        for refused in [
            "http://fhir.example.org/r4",
            "http://10.0.0.5/fhir",
            "http://localhost.evil.example/fhir",
            "http://[2001:db8::1]/fhir",
        ] {
            assert!(
                matches!(transport_for(refused), Err(FetchError::InsecureServer)),
                "{refused}"
            );
        }
        for bad in [
            "ftp://fhir.example.org",
            "fhir.example.org",
            "https://user:pw@fhir.example.org",
            "https://fhir.example.org/r4?x=1",
            "",
        ] {
            assert!(
                matches!(transport_for(bad), Err(FetchError::BadServer)),
                "{bad}"
            );
        }
        assert!(
            FetchError::InsecureServer
                .to_string()
                .contains("use https://"),
            "the refusal says what to do"
        );
    }

    fn hook(server: &str) -> HookRequest {
        serde_json::from_value(serde_json::json!({
            "hook": "patient-view",
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "fhirServer": server,
            "fhirAuthorization": {"access_token": "secret", "token_type": "Bearer",
                "expires_in": 300, "scope": "patient/*.read", "subject": "ovcf"},
            "context": {"userId": "Practitioner/1", "patientId": "p1"}
        }))
        .unwrap_or_else(|e| panic!("hook request: {e}"))
    }

    /// An `https://` server is spoken to in TLS (the first bytes are a TLS handshake record, not
    /// an HTTP request carrying the token); a server without a trusted certificate is refused.
    #[tokio::test]
    async fn https_is_spoken_over_tls() {
        use tokio::io::AsyncReadExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let first = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.ok()?;
            let mut buf = [0u8; 5];
            sock.read_exact(&mut buf).await.ok()?;
            Some(buf)
        });
        let result = FhirClient::default()
            .fetch_missing(&hook(&format!("https://{addr}/fhir")))
            .await;
        assert!(
            matches!(result, Err(FetchError::Unreachable)),
            "{:?}",
            result.err()
        );
        let bytes = first.await.ok().flatten();
        // 0x16 = handshake record, version 3.x.
        assert_eq!(bytes.map(|b| (b[0], b[1])), Some((0x16, 0x03)), "{bytes:?}");
    }

    #[tokio::test]
    async fn http_to_another_host_is_refused_before_connecting() {
        let result = FhirClient::default()
            .fetch_missing(&hook("http://192.0.2.1/fhir"))
            .await;
        assert!(matches!(result, Err(FetchError::InsecureServer)));
    }
}
