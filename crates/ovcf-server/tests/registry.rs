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

/// The export's lines of one type.
async fn exported(store: &ovcf_store::Store, kind: &str) -> Vec<Value> {
    let mut out = Vec::new();
    store.export(&mut out).await.unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["type"] == kind)
        .collect()
}

#[tokio::test]
async fn patient_searches_are_audited_under_the_callers_name() {
    let r = registry().await;
    assert_eq!(
        post(&r.app, "/api/v1/patients", DOC, &patient())
            .await
            .status,
        StatusCode::CREATED
    );
    let before = r.store.verify().await.unwrap().events;
    let a = get(&r.app, "/api/v1/patients?search=s00", COORD).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json().as_array().map(Vec::len), Some(1));
    let a = get(&r.app, "/api/v1/patients", DOC).await;
    assert_eq!(a.status, StatusCode::OK);
    // coord is a new actor (a user row) + two searches.
    assert_eq!(r.store.verify().await.unwrap().events, before + 3);
    let searches = exported(&r.store, "patient_search").await;
    assert_eq!(searches.len(), 2);
    assert_eq!(searches[0]["actor"], "coord");
    assert_eq!(searches[0]["row"]["results"], 1);
    assert_eq!(searches[0]["row"]["patient_ids"], json!([1]));
    assert_eq!(
        searches[0]["row"]["search_sha256"],
        ovcf_store::store::search_digest("s00")
    );
    assert!(!searches[0].to_string().contains("s00\""), "not the text");
    assert_eq!(searches[1]["actor"], "doc");
    assert_eq!(searches[1]["row"]["search_sha256"], Value::Null);
    assert!(r.store.verify().await.unwrap().ok);
}

#[tokio::test]
async fn account_changes_and_cds_feedback_are_in_the_audit_chain() {
    use ovcf_server::routes::cds::{CdsLedger, FeedbackRecord};
    let r = registry().await;
    // The helper created users and tokens through a plain backend: recorded as the server.
    let events = exported(&r.store, "service_event").await;
    assert_eq!(events.len(), 6);
    assert!(events.iter().all(|e| e["actor"] == "server"));

    // The admin commands, as the local operator.
    let ops = StoreBackend::new(r.store.clone()).with_actor("local:ops");
    let mut out = Vec::new();
    let code = ovcf_server::cli::run_admin(
        ovcf_server::cli::ServerCommand::Token(ovcf_server::cli::TokenCommand::Revoke { id: 1 }),
        &ops,
        None,
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    // CDS feedback, as its client.
    let item = FeedbackRecord {
        service: "ovcf-order-sign".into(),
        client: "https://ehr.example".into(),
        card: "c1".into(),
        outcome: "accepted".into(),
        override_code: None,
        override_system: None,
        accepted_suggestions: vec!["s1".into()],
        outcome_timestamp: "2026-11-27T10:00:00Z".into(),
    };
    let backend = StoreBackend::new(r.store.clone());
    assert_eq!(
        backend.feedback(std::slice::from_ref(&item)).await.unwrap(),
        1
    );
    assert_eq!(backend.feedback(&[item]).await.unwrap(), 0);

    let events = exported(&r.store, "service_event").await;
    assert_eq!(events.len(), 8);
    assert_eq!(events[6]["actor"], "local:ops");
    assert_eq!(events[6]["row"]["kind"], "token_revoked");
    assert_eq!(events[6]["row"]["subject"], "doc");
    assert_eq!(events[7]["actor"], "cds:https://ehr.example");
    assert_eq!(events[7]["row"]["kind"], "cds_feedback");
    assert_eq!(
        events[7]["row"]["detail"]["accepted_suggestions"],
        json!(["s1"])
    );
    let all = events.iter().map(Value::to_string).collect::<String>();
    assert!(!all.contains("argon2id"), "no password hash");
    assert!(!all.contains(&token_digest(DOC)), "no token digest");
    assert!(r.store.verify().await.unwrap().ok);
}

#[tokio::test]
async fn the_setup_link_is_audited_as_setup() {
    let path = std::env::temp_dir().join(format!("ovcf-server-test-{}.db", uuid::Uuid::new_v4()));
    let store = Arc::new(
        ovcf_store::Store::open(&format!("sqlite:{}", path.display()))
            .await
            .unwrap(),
    );
    let backend = Arc::new(StoreBackend::new(store.clone()));
    let state = AppState::from_parts(StateParts {
        config: AppConfig {
            setup_local_only: false,
            ..AppConfig::default()
        },
        resolver: backend.clone(),
        cds_auth: Arc::new(ovcf_fhir::CdsAuth::new()),
        cds_ledger: backend.clone(),
        accounts: Some(backend),
        store: Some(store.clone()),
    });
    state.arm_setup(token_digest("setup-secret"));
    let req = Request::post("/setup")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "token=setup-secret&name=chief&password=a+long+passphrase&password_again=a+long+passphrase",
        ))
        .unwrap();
    let a = send(&app(state), req).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let events = exported(&store, "service_event").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"], "setup");
    assert_eq!(events[0]["row"]["kind"], "user_added");
    assert_eq!(events[0]["row"]["subject"], "chief");
    assert_eq!(events[0]["row"]["detail"], json!({"role": "admin"}));
    assert!(store.verify().await.unwrap().ok);
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
