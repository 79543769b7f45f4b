//! The first-admin set-up link: one use, loopback only without --base-url, an admin created with
//! an Argon2id hash whose token then works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use ovcf_server::accounts::{Accounts, MemoryAccounts};
use ovcf_server::auth::{PrincipalResolver, Role, token_digest};
use ovcf_server::routes::cds::MemoryLedger;
use ovcf_server::{AppConfig, AppState, StateParts, app};

fn state(local_only: bool) -> (AppState, Arc<MemoryAccounts>) {
    let accounts = Arc::new(MemoryAccounts::default());
    let state = AppState::from_parts(StateParts {
        config: AppConfig {
            setup_local_only: local_only,
            ..AppConfig::default()
        },
        resolver: accounts.clone(),
        cds_auth: Arc::new(ovcf_fhir::CdsAuth::new()),
        cds_ledger: Arc::new(MemoryLedger::default()),
        accounts: Some(accounts.clone()),
        store: None,
    });
    state.arm_setup(token_digest("setup-secret"));
    (state, accounts)
}

fn form(body: &str) -> Request<Body> {
    Request::post("/setup")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn setup_link_creates_one_admin_once() {
    let (state, accounts) = state(false);
    let router = app(state);
    let a = common::send(&router, common::get("/setup?token=wrong", None)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = common::send(&router, common::get("/setup?token=setup-secret", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.text().contains("<form"));
    // Mismatched passwords: refused, link still live.
    let a = common::send(&router, form("token=setup-secret&name=chief&password=a+long+passphrase&password_again=other+long+phrase")).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = common::send(&router, form("token=setup-secret&name=chief&password=a+long+passphrase&password_again=a+long+passphrase")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(accounts.user_count().await.unwrap(), 1);
    // Spent.
    let a = common::send(&router, form("token=setup-secret&name=second&password=a+long+passphrase&password_again=a+long+passphrase")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(accounts.user_count().await.unwrap(), 1);
    // The admin's token resolves to the admin role.
    accounts
        .add_token("chief", &token_digest("t"))
        .await
        .unwrap();
    let who = accounts.resolve("t").await.unwrap().unwrap();
    assert_eq!(who.role, Role::Admin);
}

#[tokio::test]
async fn setup_link_is_loopback_only_without_base_url() {
    let (state, _) = state(true);
    let remote = app(state.clone()).layer(MockConnectInfo(SocketAddr::from(([10, 1, 2, 3], 5000))));
    let a = common::send(&remote, common::get("/setup?token=setup-secret", None)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let local = app(state).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5000))));
    let a = common::send(&local, common::get("/setup?token=setup-secret", None)).await;
    assert_eq!(a.status, StatusCode::OK);
}
