//! The registry endpoints on a real SQLite registry: roles per api-v1, status codes, audited reads
//! and writes under the caller's name, accounts stored hashed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Answer, send};
use ovcf_server::accounts::Accounts;
use ovcf_server::auth::{Role, token_digest};
use ovcf_server::store_backend::StoreBackend;
use ovcf_server::{AppConfig, AppState, StateParts, app};
use serde_json::{Value, json};

struct Registry {
    app: Router,
    store: Arc<ovcf_store::Store>,
    path: std::path::PathBuf,
}

impl Drop for Registry {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

const DOC: &str = "t-doc";
const COORD: &str = "t-coord";
const ROOT: &str = "t-root";

async fn registry() -> Registry {
    let path = std::env::temp_dir().join(format!("ovcf-server-test-{}.db", uuid::Uuid::new_v4()));
    let store = ovcf_store::Store::open(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    store.ensure_accounts().await.unwrap();
    let store = Arc::new(store);
    let backend = Arc::new(StoreBackend::new(store.clone()));
    for (name, role, token) in [
        ("doc", Role::Clinician, DOC),
        ("coord", Role::Coordinator, COORD),
        ("root", Role::Admin, ROOT),
    ] {
        backend
            .add_user(name, role, "$argon2id$placeholder")
            .await
            .unwrap();
        backend.add_token(name, &token_digest(token)).await.unwrap();
    }
    let state = AppState::from_parts(StateParts {
        config: AppConfig::default(),
        resolver: backend.clone(),
        cds_auth: Arc::new(ovcf_fhir::CdsAuth::new()),
        cds_ledger: backend.clone(),
        accounts: Some(backend),
        store: Some(store.clone()),
    });
    Registry {
        app: app(state),
        store,
        path,
    }
}

async fn post(app: &Router, path: &str, token: &str, body: &Value) -> Answer {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, req).await
}

async fn get(app: &Router, path: &str, token: &str) -> Answer {
    send(app, common::get(path, Some(token))).await
}

fn patient() -> Value {
    json!({"mrn": "S001", "sex": "female", "birth_date": "1950-05-01"})
}

#[tokio::test]
async fn patients_roles_conflicts_and_audited_reads() {
    let r = registry().await;
    let a = post(&r.app, "/api/v1/patients", DOC, &patient()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert_eq!(a.json()["mrn"], "S001");
    let a = post(&r.app, "/api/v1/patients", DOC, &patient()).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.codes(), ["duplicate_mrn"]);
    let a = post(
        &r.app,
        "/api/v1/patients",
        DOC,
        &json!({"mrn": "S002", "sex": "x", "birth_date": "1950-05-01"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.json()["errors"][0]["path"], "sex");
    let a = post(&r.app, "/api/v1/patients", DOC, &json!({"mrn": "S002"})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "missing fields");
    // Coordinators read, clinicians write, admins neither.
    assert_eq!(
        post(&r.app, "/api/v1/patients", COORD, &patient())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&r.app, "/api/v1/patients", COORD).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&r.app, "/api/v1/patients?search=S00", DOC)
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        get(&r.app, "/api/v1/patients", ROOT).await.status,
        StatusCode::FORBIDDEN
    );

    let before = r.store.verify().await.unwrap().events;
    let a = get(&r.app, "/api/v1/patients/S001", COORD).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.text().contains("S001"));
    let after = r.store.verify().await.unwrap().events;
    assert!(after > before, "the read is in the audit chain");
    // A second read by a known user: exactly one more event.
    assert_eq!(
        get(&r.app, "/api/v1/patients/S001", COORD).await.status,
        StatusCode::OK
    );
    assert_eq!(r.store.verify().await.unwrap().events, after + 1);
    let a = get(&r.app, "/api/v1/patients/NOPE", DOC).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.codes(), ["patient_not_found"]);
}

#[tokio::test]
async fn record_operations_tasks_kpi_audit_and_export() {
    let r = registry().await;
    assert_eq!(
        post(&r.app, "/api/v1/patients", DOC, &patient())
            .await
            .status,
        StatusCode::CREATED
    );
    let request: Value =
        serde_json::from_str(&common::vignette_request("pkp-fit-l1-wedge")).unwrap();
    let a = post(&r.app, "/api/v1/patients/S001/assessments", DOC, &request).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    assert!(a.json()["assessment_id"].is_i64());
    let a = post(&r.app, "/api/v1/patients/NOPE/assessments", DOC, &request).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let mut bad = request.clone();
    bad["patient"]["age"] = json!(400);
    let a = post(&r.app, "/api/v1/patients/S001/assessments", DOC, &bad).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.text().contains("patient.age"));
    assert_eq!(
        post(&r.app, "/api/v1/patients/S001/assessments", COORD, &request)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let a = post(
        &r.app,
        "/api/v1/patients/S001/medications",
        DOC,
        &json!({"drug": "zoledronic_acid", "start": "2026-01-05"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let a = post(
        &r.app,
        "/api/v1/patients/S001/measurements",
        DOC,
        &json!({"date": "2026-01-05", "dxa_lumbar_t": -3.0, "egfr": 55}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let a = post(
        &r.app,
        "/api/v1/patients/S001/events",
        DOC,
        &json!({"date": "2026-02-01", "type": "new_fracture", "level": "L2"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let a = post(
        &r.app,
        "/api/v1/patients/S001/events",
        DOC,
        &json!({"date": "2026-02-01", "type": "party"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);

    let a = get(&r.app, "/api/v1/tasks?status=all", COORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let tasks = a.json();
    let id = tasks[0]["id"].as_i64().expect("the assessment made tasks");
    assert_eq!(
        get(&r.app, "/api/v1/tasks?status=bogus", COORD)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let done = format!("/api/v1/tasks/{id}/done");
    let a = post(&r.app, &done, COORD, &json!({"note": "called"})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(
        post(&r.app, &done, COORD, &json!({})).await.status,
        StatusCode::CONFLICT
    );
    let a = post(&r.app, "/api/v1/tasks/999999/done", COORD, &json!({})).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.codes(), ["task_not_found"]);

    assert_eq!(
        get(&r.app, "/api/v1/kpi", COORD).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&r.app, "/api/v1/kpi?from=2026-01-01&to=2026-12-31", ROOT)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get(&r.app, "/api/v1/kpi", DOC).await.status,
        StatusCode::FORBIDDEN
    );

    assert_eq!(
        get(&r.app, "/api/v1/audit/verify", DOC).await.status,
        StatusCode::FORBIDDEN
    );
    let a = get(&r.app, "/api/v1/audit/verify", ROOT).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["ok"], true);

    assert_eq!(
        get(&r.app, "/api/v1/export", COORD).await.status,
        StatusCode::FORBIDDEN
    );
    let a = get(&r.app, "/api/v1/export", ROOT).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type, "application/x-ndjson");
    let lines: Vec<&str> = std::str::from_utf8(&a.body).unwrap().lines().collect();
    assert!(lines.len() > 3);
    assert!(
        lines
            .iter()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
    // Writes are recorded under the caller's name.
    assert!(a.text().contains("\"doc\""));
}

#[tokio::test]
async fn revoked_tokens_stop_working_and_secrets_are_not_stored() {
    let r = registry().await;
    let backend = StoreBackend::new(r.store.clone());
    let token = ovcf_server::secrets::new_api_token().unwrap();
    let id = backend
        .add_token("doc", &token_digest(&token))
        .await
        .unwrap();
    assert_eq!(
        get(&r.app, "/api/v1/schema/request", &token).await.status,
        StatusCode::OK
    );
    assert!(backend.revoke_token(id).await.unwrap());
    assert_eq!(
        get(&r.app, "/api/v1/schema/request", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Only the digest is in the database file.
    drop(backend);
    let bytes = std::fs::read(&r.path).unwrap_or_default();
    let wal = std::fs::read(format!("{}-wal", r.path.display())).unwrap_or_default();
    let hay = [bytes, wal].concat();
    assert!(!hay.windows(token.len()).any(|w| w == token.as_bytes()));
}
