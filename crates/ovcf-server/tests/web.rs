//! The web application in-process, over a real SQLite registry: sign-in and sessions, CSRF, roles,
//! every public vignette through the assessment form, errors at their fields, and the care
//! pathway (save, record, worklist, dashboard). The browser-level story is in `e2e/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Answer, send};
use ovcf_server::accounts::Accounts;
use ovcf_server::auth::Role;
use ovcf_server::routes::cds::MemoryLedger;
use ovcf_server::store_backend::StoreBackend;
use ovcf_server::{AppConfig, AppState, StateParts, app};
use serde_json::Value;

struct Web {
    app: Router,
    path: std::path::PathBuf,
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

const CLINICIAN_PW: &str = "clinician-pass-123";
const COORDINATOR_PW: &str = "coordinator-pass-123";

async fn web() -> Web {
    let path = std::env::temp_dir().join(format!("ovcf-web-test-{}.db", uuid::Uuid::new_v4()));
    let store = Arc::new(
        ovcf_store::Store::open(&format!("sqlite:{}", path.display()))
            .await
            .unwrap(),
    );
    let backend = Arc::new(StoreBackend::new(store.clone()));
    for (name, role, pw) in [
        ("dr.li", Role::Clinician, CLINICIAN_PW),
        ("nurse.wang", Role::Coordinator, COORDINATOR_PW),
        ("root", Role::Admin, "administrator-pass"),
    ] {
        let phc = ovcf_server::secrets::hash_password(pw).unwrap();
        backend.add_user(name, role, &phc).await.unwrap();
    }
    let state = AppState::from_parts(StateParts {
        config: AppConfig::default(),
        resolver: backend.clone(),
        cds_auth: Arc::new(ovcf_fhir::CdsAuth::new()),
        cds_ledger: Arc::new(MemoryLedger::default()),
        accounts: Some(backend),
        store: Some(store),
    });
    Web {
        app: app(state),
        path,
    }
}

/// A browser: a cookie jar and the last page's CSRF token.
struct Browser<'a> {
    app: &'a Router,
    cookies: HashMap<String, String>,
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value of the first `name="csrf" value="…"` in a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    html.find(marker)
        .map(|i| &html[i + marker.len()..])
        .and_then(|r| r.split('"').next())
        .unwrap_or("")
        .to_owned()
}

impl<'a> Browser<'a> {
    fn new(app: &'a Router) -> Browser<'a> {
        Browser {
            app,
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, a: &Answer) {
        for v in a.headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap_or("");
            let pair = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = pair.split_once('=') {
                if val.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), val.to_owned());
                }
            }
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let req = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let a = send(self.app, req).await;
        self.keep_cookies(&a);
        a
    }

    async fn post(&mut self, path: &str, body: String) -> Answer {
        let req = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let a = send(self.app, req).await;
        self.keep_cookies(&a);
        a
    }

    async fn sign_in(&mut self, user: &str, pw: &str) -> Answer {
        let page = self.get("/login").await;
        let csrf = csrf_of(&page.text());
        self.post(
            "/login",
            form_body(&[
                ("csrf", &csrf),
                ("next", "/"),
                ("username", user),
                ("password", pw),
            ]),
        )
        .await
    }

    /// CSRF token of the page at `path`.
    async fn csrf(&mut self, path: &str) -> String {
        csrf_of(&self.get(path).await.text())
    }
}

/// Issues an API token for `user` from the administrator's page; the token as shown once.
async fn issue_token(admin: &mut Browser<'_>, csrf: &str, user: &str) -> String {
    let page = admin
        .post(
            "/admin/tokens",
            form_body(&[("csrf", csrf), ("user", user)]),
        )
        .await
        .text();
    page.split("id=\"new-token\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or("")
        .to_owned()
}

fn location(a: &Answer) -> String {
    a.headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// A request as the form's input names and values.
fn pairs_of(request: &Value) -> Vec<(String, String)> {
    fn go(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    go(x, &p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    if x.is_object() {
                        go(x, &format!("{path}[{i}]"), out);
                    } else {
                        go(x, path, out);
                    }
                }
            }
            Value::String(s) => out.push((path.to_owned(), s.clone())),
            Value::Number(n) => out.push((path.to_owned(), n.to_string())),
            Value::Bool(b) => out.push((path.to_owned(), b.to_string())),
            Value::Null => {}
        }
    }
    let mut out = Vec::new();
    go(request, "", &mut out);
    out
}

fn vignettes() -> Vec<(String, Value)> {
    let dir = format!("{}/../../vignettes/public", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            let v: Value =
                serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
            (e.file_name().to_string_lossy().into_owned(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn data_plan(html: &str) -> Option<String> {
    let marker = "data-plan=\"";
    html.find(marker)
        .map(|i| &html[i + marker.len()..])
        .and_then(|r| r.split('"').next())
        .map(str::to_owned)
}

#[tokio::test]
async fn signed_out_every_page_goes_to_sign_in() {
    let w = web().await;
    let mut b = Browser::new(&w.app);
    for p in [
        "/",
        "/assess",
        "/patients",
        "/patients/X1",
        "/worklist",
        "/dashboard",
    ] {
        let a = b.get(p).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{p}");
        assert!(location(&a).starts_with("/login"), "{p} → {}", location(&a));
    }
    // A POST without a session changes nothing and also goes to sign-in.
    let a = b
        .post("/patients", form_body(&[("mrn", "X"), ("sex", "female")]))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_session_cookie() {
    let w = web().await;
    let mut b = Browser::new(&w.app);
    let a = b.sign_in("dr.li", CLINICIAN_PW).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let cookie = a
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ovcf_session="))
        .unwrap_or("")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_eq!(b.get("/assess").await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let w = web().await;
    let mut b = Browser::new(&w.app);
    let wrong = b.sign_in("dr.li", "not-the-password").await.text();
    let unknown = b.sign_in("nobody", "not-the-password").await.text();
    assert!(wrong.contains("form-error"));
    let msg = |t: &str| {
        t.split("form-error")
            .nth(1)
            .and_then(|s| s.split("</p>").next())
            .map(str::to_owned)
    };
    assert_eq!(msg(&wrong), msg(&unknown));
    assert!(!b.cookies.contains_key("ovcf_session"));
}

#[tokio::test]
async fn sign_in_without_the_page_token_is_refused() {
    let w = web().await;
    let mut b = Browser::new(&w.app);
    let a = b
        .post(
            "/login",
            form_body(&[("username", "dr.li"), ("password", CLINICIAN_PW)]),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(!b.cookies.contains_key("ovcf_session"));
}

#[tokio::test]
async fn every_form_needs_the_session_csrf_token() {
    let w = web().await;
    let mut b = Browser::new(&w.app);
    b.sign_in("dr.li", CLINICIAN_PW).await;
    for path in [
        "/assess",
        "/patients",
        "/assess/save",
        "/patients/X/medications",
        "/logout",
    ] {
        let a = b
            .post(path, form_body(&[("csrf", "forged"), ("mrn", "X")]))
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn roles_follow_the_api_matrix() {
    let w = web().await;
    let mut coord = Browser::new(&w.app);
    coord.sign_in("nurse.wang", COORDINATOR_PW).await;
    assert_eq!(coord.get("/assess").await.status, StatusCode::FORBIDDEN);
    assert_eq!(coord.get("/worklist").await.status, StatusCode::OK);
    assert_eq!(coord.get("/dashboard").await.status, StatusCode::OK);
    let mut doc = Browser::new(&w.app);
    doc.sign_in("dr.li", CLINICIAN_PW).await;
    assert_eq!(doc.get("/dashboard").await.status, StatusCode::FORBIDDEN);
    let mut admin = Browser::new(&w.app);
    admin.sign_in("root", "administrator-pass").await;
    assert_eq!(admin.get("/patients").await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.get("/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_public_vignette_through_the_form_gives_its_plan() {
    let w = web().await;
    let mut b = Browser::new(&w.app);
    b.sign_in("dr.li", CLINICIAN_PW).await;
    let csrf = b.csrf("/assess").await;
    let all = vignettes();
    assert!(all.len() >= 10);
    for (name, v) in all {
        let mut pairs = pairs_of(&v["request"]);
        pairs.push(("csrf".into(), csrf.clone()));
        let body: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let a = b.post("/assess", form_body(&body)).await;
        assert_eq!(a.status, StatusCode::OK, "{name}");
        let html = a.text();
        assert!(
            !html.contains("error-summary"),
            "{name}: the form refused it"
        );
        let want = v["expect"]["treatment.plan"].as_str();
        if let Some(want) = want {
            assert_eq!(data_plan(&html).as_deref(), Some(want), "{name}");
        }
        // The same request through the engine directly gives the same plan.
        let report =
            ovcf_core::assess_json(&v["request"].to_string(), ovcf_server::today().unwrap())
                .unwrap();
        let plan = serde_json::to_value(report.treatment.plan).unwrap();
        assert_eq!(data_plan(&html).as_deref(), plan.as_str(), "{name}");
    }
}

#[tokio::test]
async fn validation_errors_land_at_their_fields_and_nothing_is_defaulted() {
    let w = web().await;
    let mut b = Browser::new(&w.app);
    b.sign_in("dr.li", CLINICIAN_PW).await;
    let csrf = b.csrf("/assess").await;
    let a = b
        .post(
            "/assess",
            form_body(&[
                ("csrf", &csrf),
                ("patient.age", "300"),
                ("patient.sex", "female"),
                ("fractures[0].level", "L1"),
                ("fractures[0].pain_vas", "seven"),
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let html = a.text();
    assert!(html.contains("error-summary"));
    for path in [
        "patient.age",
        "patient.neurological_deficit",
        "fractures[0].pain_vas",
    ] {
        assert!(
            html.contains(&format!("field invalid\" data-path=\"{path}\"")),
            "no error at {path}"
        );
    }
    assert!(
        data_plan(&html).is_none(),
        "no report for an invalid request"
    );
    // The values typed are kept.
    assert!(html.contains("value=\"300\""));
}

#[tokio::test]
async fn the_care_pathway_through_the_pages() {
    let w = web().await;
    let (_, v) = vignettes()
        .into_iter()
        .find(|(n, _)| n.starts_with("pkp-fit"))
        .unwrap();
    let mut doc = Browser::new(&w.app);
    doc.sign_in("dr.li", CLINICIAN_PW).await;
    let csrf = doc.csrf("/assess").await;
    // Unknown MRN without a birth date: refused with a clear message, nothing stored.
    let request = v["request"].to_string();
    let a = doc
        .post(
            "/assess/save",
            form_body(&[("csrf", &csrf), ("mrn", "W-1"), ("request", &request)]),
        )
        .await;
    assert!(a.text().contains("form-error"));
    // With a birth date: the patient is registered and the assessment saved.
    let a = doc
        .post(
            "/assess/save",
            form_body(&[
                ("csrf", &csrf),
                ("mrn", "W-1"),
                ("name", "王女士"),
                ("birth_date", "1958-03-02"),
                ("request", &request),
            ]),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    assert!(location(&a).starts_with("/patients/W-1?saved="));
    let page = doc.get("/patients/W-1").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("<svg") && html.contains("王女士"));
    // Search by name.
    let found = doc.get("/patients?q=%E7%8E%8B").await.text();
    assert!(found.contains("/patients/W-1"));
    // A medication with a bad date is refused at its form; a good one is listed.
    let bad = doc
        .post(
            "/patients/W-1/medications",
            form_body(&[
                ("csrf", &csrf),
                ("drug", "alendronate"),
                ("start", "yesterday"),
            ]),
        )
        .await;
    assert!(bad.text().contains("form-error"));
    let ok = doc
        .post(
            "/patients/W-1/medications",
            form_body(&[
                ("csrf", &csrf),
                ("drug", "alendronate"),
                ("start", "2026-11-25"),
            ]),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(doc.get("/patients/W-1").await.text().contains("阿仑膦酸"));
    // Measurements draw the charts.
    for (d, t) in [("2024-01-10", "-3.1"), ("2025-01-10", "-2.8")] {
        let a = doc
            .post(
                "/patients/W-1/measurements",
                form_body(&[
                    ("csrf", &csrf),
                    ("date", d),
                    ("dxa_lumbar_t", t),
                    ("vas", "4"),
                ]),
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
    }
    let html = doc.get("/patients/W-1").await.text();
    assert!(
        html.matches("class=\"point\"").count() >= 4,
        "T-score and VAS points"
    );
    // The stored report is shown as recorded.
    let stored = doc.get("/patients/W-1/assessments/1").await;
    assert_eq!(stored.status, StatusCode::OK);
    let stored = stored.text();
    assert!(data_plan(&stored).is_some());
    let head = stored.split("patient-line").nth(1).unwrap_or("");
    assert!(head.contains("W-1") && head.contains("王女士") && head.contains("1958-03-02"));
    // The coordinator's worklist has the task; completing it moves it to done.
    let mut coord = Browser::new(&w.app);
    coord.sign_in("nurse.wang", COORDINATOR_PW).await;
    let list = coord.get("/worklist?status=all").await.text();
    let id = list
        .split("data-task=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let csrf_c = csrf_of(&list);
    let a = coord
        .post(
            &format!("/worklist/{id}/done"),
            form_body(&[("csrf", &csrf_c), ("note", "电话随访")]),
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(
        coord
            .get("/worklist?status=done")
            .await
            .text()
            .contains("电话随访")
    );
    let dash = coord
        .get("/dashboard?from=2000-01-01&to=2100-01-01")
        .await
        .text();
    assert!(dash.contains("id=\"identified\""));
    assert!(
        dash.contains("<strong>1</strong>"),
        "one index fracture identified"
    );
    // Every page read of the record is in the audit chain and the chain still verifies.
    let verify = ovcf_store::Store::open(&format!("sqlite:{}", w.path.display()))
        .await
        .unwrap()
        .verify()
        .await
        .unwrap();
    assert!(verify.ok, "{verify:?}");
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let w = web().await;
    let mut b = Browser::new(&w.app);
    b.sign_in("dr.li", CLINICIAN_PW).await;
    let saved_cookie = b.cookies.clone();
    let csrf = b.csrf("/assess").await;
    let a = b.post("/logout", form_body(&[("csrf", &csrf)])).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    // Even the old cookie no longer works.
    b.cookies = saved_cookie;
    assert_eq!(b.get("/assess").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn pages_carry_security_headers_and_assets_come_from_the_binary() {
    let w = web().await;
    let mut b = Browser::new(&w.app);
    let login = b.get("/login").await;
    let csp = login
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(
        login
            .headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    for (asset, ty) in [
        ("/static/app.css", "text/css"),
        ("/static/report.css", "text/css"),
        ("/static/app.js", "text/javascript"),
    ] {
        let a = b.get(asset).await;
        assert_eq!(a.status, StatusCode::OK, "{asset}");
        assert!(a.content_type.starts_with(ty));
    }
    assert_eq!(
        b.get("/static/../Cargo.toml").await.status,
        StatusCode::NOT_FOUND
    );
    let html = login.text();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );
}

#[tokio::test]
async fn language_follows_accept_language_then_the_remembered_choice() {
    let w = web().await;
    let req = Request::get("/login")
        .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
        .body(Body::empty())
        .unwrap();
    assert!(send(&w.app, req).await.text().contains("<html lang=\"en\""));
    let mut b = Browser::new(&w.app);
    assert!(
        b.get("/login")
            .await
            .text()
            .contains("<html lang=\"zh-CN\"")
    );
    let a = b.get("/lang/en?next=/login").await;
    assert_eq!(location(&a), "/login");
    assert!(b.get("/login").await.text().contains("<html lang=\"en\""));
    let evil = b.get("/lang/en?next=//evil.example").await;
    assert_eq!(location(&evil), "/");
}

#[tokio::test]
async fn worklist_puts_care_gaps_first_and_lists_overdue_with_due() {
    let w = web().await;
    let store = ovcf_store::Store::open(&format!("sqlite:{}", w.path.display()))
        .await
        .unwrap();
    store
        .seed_demo("test", ovcf_server::today().unwrap())
        .await
        .unwrap();
    let mut coord = Browser::new(&w.app);
    coord.sign_in("nurse.wang", COORDINATOR_PW).await;
    let html = coord.get("/worklist").await.text();
    let gaps = html.find("class=\"gaps\"").unwrap();
    let tasks = html.find("class=\"tasks\"").unwrap();
    assert!(gaps < tasks, "care gaps come first");
    let gap_rows = &html[gaps..tasks];
    let denosumab = gap_rows.find("denosumab_overdue").unwrap();
    let no_therapy = gap_rows.find("no_therapy").unwrap();
    assert!(denosumab < no_therapy, "overdue denosumab on top");
    // The default filter lists overdue and due tasks, overdue first.
    let task_rows = &html[tasks..];
    let overdue = task_rows.find("<tr class=\"overdue\"").unwrap();
    let due = task_rows.find("<tr class=\"due\"").unwrap();
    assert!(overdue < due);
    assert!(
        !task_rows.contains("<tr class=\"open\""),
        "not-yet-due tasks are not in the default list"
    );
}

#[tokio::test]
async fn the_administrator_adds_users_and_issues_and_revokes_tokens() {
    let w = web().await;
    let mut doc = Browser::new(&w.app);
    doc.sign_in("dr.li", CLINICIAN_PW).await;
    assert_eq!(doc.get("/admin").await.status, StatusCode::FORBIDDEN);
    let mut admin = Browser::new(&w.app);
    admin.sign_in("root", "administrator-pass").await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = csrf_of(&page.text());
    // A short password is refused; nothing is created.
    let short = admin
        .post(
            "/admin/users",
            form_body(&[
                ("csrf", &csrf),
                ("name", "dr.zhao"),
                ("role", "clinician"),
                ("password", "short"),
                ("password_again", "short"),
            ]),
        )
        .await;
    assert!(short.text().contains("form-error"));
    let pw = "a passphrase for zhao";
    let added = admin
        .post(
            "/admin/users",
            form_body(&[
                ("csrf", &csrf),
                ("name", "dr.zhao"),
                ("role", "clinician"),
                ("password", pw),
                ("password_again", pw),
            ]),
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text());
    let mut zhao = Browser::new(&w.app);
    assert_eq!(
        zhao.sign_in("dr.zhao", pw).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(zhao.get("/assess").await.status, StatusCode::OK);
    // A token for the new user is shown once and works on the API until revoked.
    let token = issue_token(&mut admin, &csrf, "dr.zhao").await;
    assert!(token.starts_with("ovcf_"));
    let api = |t: &str| {
        Request::get("/api/v1/schema/request")
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&w.app, api(&token)).await.status, StatusCode::OK);
    let listing = admin.get("/admin").await.text();
    assert!(!listing.contains(&token), "a token is never shown again");
    let id = listing
        .split("data-token=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let revoked = admin
        .post(
            &format!("/admin/tokens/{id}/revoke"),
            form_body(&[("csrf", &csrf)]),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        send(&w.app, api(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The changes are in the audit chain under the administrator's name.
    let store = ovcf_store::Store::open(&format!("sqlite:{}", w.path.display()))
        .await
        .unwrap();
    let mut export = Vec::new();
    store.export(&mut export).await.unwrap();
    let export = String::from_utf8_lossy(&export);
    let by_root = export
        .lines()
        .filter(|l| l.contains("\"actor\":\"root\"") && l.contains("service_event"))
        .count();
    assert!(
        by_root >= 3,
        "user added, token created, token revoked: {by_root}"
    );
    assert!(!export.contains(&token));
    assert!(store.verify().await.unwrap().ok);
}

#[tokio::test]
async fn pages_are_gzipped_for_browsers_that_ask() {
    let w = web().await;
    let req = |path: &str| {
        Request::get(path)
            .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
            .body(Body::empty())
            .unwrap()
    };
    let css = send(&w.app, req("/static/app.css")).await;
    assert_eq!(
        css.headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    assert!(
        css.body.len() < ovcf_server::web::APP_CSS.len() / 2,
        "gzip shrinks the stylesheet"
    );
    let login = send(&w.app, req("/login")).await;
    assert_eq!(
        login
            .headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    // The API's answers are not compressed (byte-for-byte identity with `ovcf assess`).
    let health = send(&w.app, req("/healthz")).await;
    assert!(health.headers.get(header::CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn guessing_a_password_is_throttled_per_user_name() {
    let w = web().await;
    let mut b = Browser::new(&w.app);
    for _ in 0..5 {
        let a = b.sign_in("dr.li", "wrong-password-guess").await;
        assert_eq!(a.status, StatusCode::OK);
    }
    // The sixth attempt in the same minute is refused even with the right password.
    let a = b.sign_in("dr.li", CLINICIAN_PW).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!b.cookies.contains_key("ovcf_session"));
    // Another user is not affected.
    let mut other = Browser::new(&w.app);
    assert_eq!(
        other.sign_in("nurse.wang", COORDINATOR_PW).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_disabled_user_loses_sessions_tokens_and_sign_in() {
    let w = web().await;
    let mut admin = Browser::new(&w.app);
    admin.sign_in("root", "administrator-pass").await;
    let csrf = admin.csrf("/admin").await;
    // A token and an open session for the clinician.
    let token = issue_token(&mut admin, &csrf, "dr.li").await;
    let mut doc = Browser::new(&w.app);
    doc.sign_in("dr.li", CLINICIAN_PW).await;
    assert_eq!(doc.get("/assess").await.status, StatusCode::OK);
    // The administrator cannot disable themselves.
    let own = admin
        .post("/admin/users/root/disable", form_body(&[("csrf", &csrf)]))
        .await;
    assert!(own.text().contains("form-error"));
    let a = admin
        .post("/admin/users/dr.li/disable", form_body(&[("csrf", &csrf)]))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    // The open session ends, the token stops working, signing in again fails.
    assert_eq!(doc.get("/assess").await.status, StatusCode::SEE_OTHER);
    let api = Request::get("/api/v1/schema/request")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&w.app, api).await.status, StatusCode::UNAUTHORIZED);
    let mut again = Browser::new(&w.app);
    assert!(
        again
            .sign_in("dr.li", CLINICIAN_PW)
            .await
            .text()
            .contains("form-error")
    );
    assert!(admin.get("/admin").await.text().contains(tr_disabled()));
}

fn tr_disabled() -> &'static str {
    ovcf_report::t(ovcf_report::Lang::Zh, "web.disabled")
}
