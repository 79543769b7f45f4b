//! Shared helpers: an in-memory server with one token per role, and one-shot requests.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use ovcf_server::auth::{MemoryResolver, Principal, Role};
use ovcf_server::ratelimit::RateLimit;
use ovcf_server::routes::cds::MemoryLedger;
use ovcf_server::{AppConfig, AppState, StateParts, app};
use serde_json::json;
use tower::ServiceExt as _;

pub const CLINICIAN: &str = "tok-clinician";
pub const COORDINATOR: &str = "tok-coordinator";
pub const ADMIN: &str = "tok-admin";

pub fn resolver() -> MemoryResolver {
    MemoryResolver::new()
        .with_token(
            CLINICIAN,
            Principal {
                user: "doc".into(),
                role: Role::Clinician,
            },
        )
        .with_token(
            COORDINATOR,
            Principal {
                user: "coord".into(),
                role: Role::Coordinator,
            },
        )
        .with_token(
            ADMIN,
            Principal {
                user: "root".into(),
                role: Role::Admin,
            },
        )
}

pub fn config(rate: RateLimit) -> AppConfig {
    AppConfig {
        rate_limit: rate,
        ..AppConfig::default()
    }
}

pub fn test_app() -> Router {
    app_with(RateLimit {
        per_second: 0,
        burst: 0,
    })
}

pub fn app_with(rate: RateLimit) -> Router {
    app(AppState::new(config(rate), Arc::new(resolver())))
}

pub fn vignette_request(name: &str) -> String {
    let path = format!(
        "{}/../../vignettes/public/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    v["request"].to_string()
}

pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The codes of an error answer.
    pub fn codes(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["code"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Answer {
    let response = app
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}

pub fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap_or_default()
}

pub fn post_json(path: &str, token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(body.into()).unwrap_or_default()
}

pub const BASE: &str = "http://cds.test";
pub const ISS: &str = "https://ehr.test";

pub fn fixture(path: &str) -> String {
    let p = format!(
        "{}/../ovcf-fhir/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

pub fn setup() -> (Router, Arc<MemoryLedger>) {
    let jwks = ovcf_fhir::CdsAuth::parse_jwks(&fixture("keys/es384-other-jwks.json")).unwrap();
    let ledger = Arc::new(MemoryLedger::default());
    let state = AppState::from_parts(StateParts {
        config: AppConfig {
            base_url: Some(BASE.into()),
            ..AppConfig::default()
        },
        resolver: Arc::new(resolver()),
        cds_auth: Arc::new(ovcf_fhir::CdsAuth::new().with_client(ISS, jwks)),
        cds_ledger: ledger.clone(),
        accounts: None,
        store: None,
    });
    (app(state), ledger)
}

pub fn jwt_with(aud: &str, iss: &str, pem: &str, kid: &str, exp_in: i64) -> String {
    let now = jiff::Timestamp::now().as_second();
    let key = EncodingKey::from_ec_pem(fixture(pem).as_bytes()).unwrap();
    let mut h = Header::new(Algorithm::ES384);
    h.kid = Some(kid.into());
    h.typ = Some("JWT".into());
    let claims = json!({"iss": iss, "aud": aud, "exp": now + exp_in, "iat": now.min(now + exp_in - 300),
        "jti": uuid::Uuid::new_v4().to_string()});
    encode(&h, &claims, &key).unwrap()
}

pub fn jwt(path: &str) -> String {
    jwt_with(
        &format!("{BASE}{path}"),
        ISS,
        "keys/es384-other-private.pem",
        "other-ec",
        300,
    )
}
