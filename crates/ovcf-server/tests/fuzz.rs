//! Property test: arbitrary bodies, media types and query strings on every endpoint never produce
//! a 500, and every error answer has the one error shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use proptest::prelude::*;

const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/api/v1/assessments"),
    ("GET", "/api/v1/schema/request"),
    ("GET", "/api/v1/schema/report"),
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("POST", "/api/v1/nowhere"),
    ("PUT", "/api/v1/assessments"),
    ("GET", "/cds-services"),
    ("POST", "/cds-services/ovcf-patient-view"),
    ("POST", "/cds-services/ovcf-order-sign"),
    ("POST", "/cds-services/ovcf-order-sign/feedback"),
    ("POST", "/api/v1/patients"),
    ("GET", "/api/v1/patients"),
    ("GET", "/api/v1/patients/F001"),
    ("POST", "/api/v1/patients/F001/assessments"),
    ("POST", "/api/v1/patients/F001/procedures"),
    ("POST", "/api/v1/patients/F001/medications"),
    ("POST", "/api/v1/patients/F001/measurements"),
    ("POST", "/api/v1/patients/F001/events"),
    ("GET", "/api/v1/tasks"),
    ("POST", "/api/v1/tasks/1/done"),
    ("GET", "/api/v1/kpi"),
    ("GET", "/api/v1/audit/verify"),
];

/// One registry-backed app (SQLite in the temp directory) and the runtime its pool lives on,
/// shared by every case; the clinician, coordinator and admin tokens of `common` resolve in it.
fn fixture() -> &'static (tokio::runtime::Runtime, axum::Router) {
    static FIXTURE: std::sync::OnceLock<(tokio::runtime::Runtime, axum::Router)> =
        std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        use ovcf_server::accounts::Accounts;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let app = rt.block_on(async {
            let path = std::env::temp_dir().join(format!("ovcf-fuzz-{}.db", uuid::Uuid::new_v4()));
            let store = ovcf_store::Store::open(&format!("sqlite:{}", path.display()))
                .await
                .unwrap();
            store.ensure_accounts().await.unwrap();
            let store = std::sync::Arc::new(store);
            let backend =
                std::sync::Arc::new(ovcf_server::store_backend::StoreBackend::new(store.clone()));
            for (name, role, token) in [
                ("doc", ovcf_server::auth::Role::Clinician, common::CLINICIAN),
                (
                    "coord",
                    ovcf_server::auth::Role::Coordinator,
                    common::COORDINATOR,
                ),
                ("root", ovcf_server::auth::Role::Admin, common::ADMIN),
            ] {
                backend.add_user(name, role, "$argon2id$x").await.unwrap();
                backend
                    .add_token(name, &ovcf_server::auth::token_digest(token))
                    .await
                    .unwrap();
            }
            let jwks =
                ovcf_fhir::CdsAuth::parse_jwks(&common::fixture("keys/es384-other-jwks.json"))
                    .unwrap();
            let state = ovcf_server::AppState::from_parts(ovcf_server::StateParts {
                config: ovcf_server::AppConfig {
                    base_url: Some(common::BASE.into()),
                    rate_limit: ovcf_server::ratelimit::RateLimit {
                        per_second: 0,
                        burst: 0,
                    },
                    ..ovcf_server::AppConfig::default()
                },
                resolver: backend.clone(),
                cds_auth: std::sync::Arc::new(
                    ovcf_fhir::CdsAuth::new().with_client(common::ISS, jwks),
                ),
                cds_ledger: backend.clone(),
                accounts: Some(backend),
                store: Some(store),
            });
            let app = ovcf_server::app(state);
            let create = Request::post("/api/v1/patients")
                .header(header::CONTENT_TYPE, "application/json")
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", common::CLINICIAN),
                )
                .body(Body::from(
                    r#"{"mrn":"F001","sex":"female","birth_date":"1950-01-01"}"#,
                ))
                .unwrap();
            assert_eq!(common::send(&app, create).await.status, StatusCode::CREATED);
            app
        });
        (rt, app)
    })
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        "[a-z_]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("patient".to_owned()),
                    Just("fractures".to_owned()),
                    Just("age".to_owned()),
                    Just("as_of".to_owned()),
                    Just("level".to_owned()),
                    "[a-z_]{1,10}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bodies: raw bytes, random JSON, and a valid request with one field replaced by random JSON.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let base: serde_json::Value =
        serde_json::from_str(&common::vignette_request("pkp-fit-l1-wedge")).unwrap();
    let keys: Vec<String> = base
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (prop::sample::select(keys), json_value()).prop_map(move |(k, v)| {
            let mut b = base.clone();
            b[k.as_str()] = v;
            b.to_string().into_bytes()
        }),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(Some("application/json".to_owned())),
        Just(Some("application/json; charset=utf-8".to_owned())),
        Just(Some("text/plain".to_owned())),
        Just(None),
        "[ -~]{0,30}".prop_map(Some),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("?lang=en&format=text".to_owned()),
        Just("?format=html&explain=true".to_owned()),
        "[a-z=&%0-9]{0,30}".prop_map(|q| format!("?{q}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn no_input_makes_a_500(
        endpoint in prop::sample::select(ENDPOINTS),
        body in body(),
        ct in content_type(),
        q in query(),
        token in prop::sample::select(&[Some(common::CLINICIAN), Some(common::COORDINATOR), Some(common::ADMIN), Some("x"), Some("jwt"), Some("jwt"), None][..]),
    ) {
        let (rt, app) = fixture();
        let (method, path) = endpoint;
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(format!("{path}{q}"));
        if let Some(ct) = &ct
            && let Ok(v) = axum::http::HeaderValue::from_str(ct)
        {
            b = b.header(header::CONTENT_TYPE, v);
        }
        match token {
            // A valid client JWT for this endpoint, so CDS bodies reach the parser.
            Some("jwt") => b = b.header(header::AUTHORIZATION, format!("Bearer {}", common::jwt(path))),
            Some(t) => b = b.header(header::AUTHORIZATION, format!("Bearer {t}")),
            None => {}
        }
        let Ok(req) = b.body(Body::from(body)) else { return Ok(()) };
        let a = rt.block_on(common::send(app, req));
        prop_assert!(a.status != StatusCode::INTERNAL_SERVER_ERROR, "500 on {method} {path}{q}: {}", a.text());
        if !a.status.is_success() && !a.status.is_redirection() {
            let items = a.json()["errors"].as_array().cloned().unwrap_or_default();
            prop_assert!(!items.is_empty(), "error without the error shape: {} {}", a.status, a.text());
            for i in items {
                prop_assert!(i["code"].is_string() && i["message"].is_string());
            }
        }
    }
}
