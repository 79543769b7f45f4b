//! Server-side render time of the web application's heaviest pages, for the demonstration patient
//! with five years of history (`ovcf db seed-demo`): the patient record (an audited read of the
//! whole record, timeline and charts) and a stored assessment report; plus a fresh assessment
//! through the form. In-process (no socket), on a SQLite registry in a temporary file, one request
//! at a time; prints p50/p95/p99 over many requests.
//!
//! `cargo bench -p ovcf-server --bench web_pages` (target: p95 < 20 ms).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt as _;
use ovcf_server::accounts::Accounts as _;
use ovcf_server::auth::Role;
use ovcf_server::routes::cds::MemoryLedger;
use ovcf_server::store_backend::StoreBackend;
use ovcf_server::{AppConfig, AppState, StateParts, app};
use tower::ServiceExt as _;

const ROUNDS: usize = 400;

async fn call(app: &Router, req: Request<Body>) -> (u16, Vec<(String, String)>, String) {
    let resp = match app.clone().oneshot(req).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let status = resp.status().as_u16();
    let cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    (status, cookies, body)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn measure(app: &Router, name: &str, must_contain: &str, make: impl Fn() -> Request<Body>) {
    // Warm-up.
    for _ in 0..20 {
        call(app, make()).await;
    }
    let mut times = Vec::with_capacity(ROUNDS);
    let mut bytes = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let (status, _, body) = call(app, make()).await;
        times.push(t.elapsed());
        assert_eq!(status, 200, "{name}");
        assert!(
            body.contains(must_contain),
            "{name}: no {must_contain:?} in the page"
        );
        bytes = body.len();
    }
    times.sort();
    println!(
        "{name:<34} p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  ({} KiB HTML)",
        percentile(&times, 0.50).as_secs_f64() * 1e3,
        percentile(&times, 0.95).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        bytes / 1024
    );
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let path = std::env::temp_dir().join(format!("ovcf-web-bench-{}.db", uuid::Uuid::new_v4()));
        let url = format!("sqlite:{}", path.display());
        let store = Arc::new(ovcf_store::Store::open(&url).await?);
        let today = ovcf_server::today()?;
        store.seed_demo("bench", today).await?;
        let backend = Arc::new(StoreBackend::new(store.clone()));
        let phc = ovcf_server::secrets::hash_password("benchmark-password")?;
        backend.add_user("bench", Role::Clinician, &phc).await?;
        let app = app(AppState::from_parts(StateParts {
            config: AppConfig::default(),
            resolver: backend.clone(),
            cds_auth: Arc::new(ovcf_fhir::CdsAuth::new()),
            cds_ledger: Arc::new(MemoryLedger::default()),
            accounts: Some(backend),
            store: Some(store),
        }));
        // Sign in once.
        let (_, cookies, page) = call(&app, Request::get("/login").body(Body::empty())?).await;
        let csrf_of = |html: &str| {
            html.split("name=\"csrf\" value=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_owned()
        };
        let login_cookie = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let form = format!(
            "csrf={}&next=%2F&username=bench&password=benchmark-password",
            csrf_of(&page)
        );
        let (_, cookies, _) = call(
            &app,
            Request::post("/login")
                .header(header::COOKIE, login_cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))?,
        )
        .await;
        let session = cookies
            .iter()
            .find(|(k, _)| k == "ovcf_session")
            .map(|(k, v)| format!("{k}={v}"))
            .ok_or_else(|| anyhow::anyhow!("sign-in failed"))?;
        let get = |path: &'static str| {
            let session = session.clone();
            move || {
                Request::get(path)
                    .header(header::COOKIE, &session)
                    .body(Body::empty())
                    .unwrap_or_default()
            }
        };
        let record = call(&app, get("/patients/DEMO-0001")()).await.2;
        println!(
            "demo patient: {} assessments, {} tasks rows, {} chart points",
            record.matches("/assessments/").count(),
            record.matches("<tr").count(),
            record.matches("class=\"point\"").count()
        );
        measure(&app, "GET /patients/DEMO-0001 (record)", "class=\"chart timeline\"", get("/patients/DEMO-0001")).await;
        measure(&app, "GET …/assessments/1 (stored report)", "data-plan=", get("/patients/DEMO-0001/assessments/1")).await;
        let csrf = csrf_of(&call(&app, get("/assess")()).await.2);
        let body = format!(
            "csrf={csrf}&patient.age=78&patient.sex=female&patient.neurological_deficit=none\
             &fractures%5B0%5D.level=L1&fractures%5B0%5D.onset_days=10&fractures%5B0%5D.pain_vas=7\
             &fractures%5B0%5D.imaging=xray&fractures%5B0%5D.imaging=mri&fractures%5B0%5D.mri.stir=hyperintense\
             &fractures%5B0%5D.height_loss_pct=35&bone_density.dxa.lumbar_spine_t=-2.9"
        );
        let session2 = session.clone();
        measure(&app, "POST /assess (form → report)", "data-plan=", move || {
            Request::post("/assess")
                .header(header::COOKIE, &session2)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.clone()))
                .unwrap_or_default()
        })
        .await;
        measure(&app, "GET /assess (empty form)", "spine-buttons", get("/assess")).await;
        let _ = std::fs::remove_file(&path);
        Ok(())
    })
}
