//! `ovcf serve`: the OVCF Pathway HTTP service (contract api-v1) over the one engine.
//!
//! - [`app`] builds the whole service as an axum `Router` from an [`AppState`] (in-process tests
//!   drive it with `tower::ServiceExt::oneshot`); [`serve`] binds it to a socket and stops cleanly
//!   on SIGTERM/SIGINT.
//! - Every `/api/v1` handler takes an [`auth::Authorized`] argument naming its roles: one
//!   authentication mechanism ([`auth::PrincipalResolver`]), checked before anything else runs.
//! - Every error answer is an [`error::ApiError`]: one shape, stable codes.
//! - Layers ([`middleware`]): request id, access log without patient data, 1 MiB body limit, time
//!   limit, panic containment.
//!
//! Architecture invariant: the server re-implements no rule. Reports come from
//! `ovcf_core::assess_valid` and are serialised by [`report_json`], the one function the CLI's
//! `assess --format json` shares.

pub mod accounts;
pub mod auth;
pub mod body;
pub mod cli;
pub mod error;
pub mod fhir_fetch;
pub mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod secrets;
pub mod store_backend;
pub mod web;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::routing::get;
use ovcf_core::{AssessmentReport, AssessmentRequest, Date};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::Accounts;
use crate::auth::PrincipalResolver;
use crate::ratelimit::{RateLimit, RateLimiter};
use crate::routes::cds::{CdsLedger, MemoryLedger};

/// The JSON report exactly as `ovcf assess --format json` prints it: pretty-printed, one trailing
/// newline. The CLI and the REST API both call this, so their bytes cannot drift apart.
pub fn report_json(report: &AssessmentReport) -> Result<String, serde_json::Error> {
    ovcf_core::report_json(report)
}

/// Today's date in the server's time zone (the engine's `as_of` when a request has none), the
/// same rule as the CLI.
pub fn today() -> Result<Date, TodayError> {
    let now = jiff::Zoned::now().date();
    Date::new(now.year(), now.month(), now.day()).ok_or(TodayError)
}

/// The system clock gave a date outside the engine's range.
#[derive(Debug, thiserror::Error)]
#[error("today's date is out of range")]
pub struct TodayError;

/// The two JSON Schemas, rendered once (same bytes as `ovcf schema request|report`).
pub struct Schemas {
    pub request: Bytes,
    pub report: Bytes,
}

fn pretty(v: &serde_json::Value) -> Bytes {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    s.push('\n');
    Bytes::from(s)
}

/// Settings of the application (not of the socket).
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// `sqlite`, `postgres` or `none`: what `/healthz` reports.
    pub db_kind: &'static str,
    /// The public URL the server is reached at (the CDS Hooks JWT `aud` and links), without a
    /// trailing `/`. `serve` defaults it to `http://ADDR`.
    pub base_url: Option<String>,
    pub rate_limit: RateLimit,
    /// Time allowed to produce a response head.
    pub request_timeout: Duration,
    /// The first-admin set-up link works only from loopback addresses (no `--base-url` given).
    pub setup_local_only: bool,
    /// The browser that prints PDFs (see [`web::pdf`]); `None` looks for one.
    pub pdf_browser: Option<std::path::PathBuf>,
}

impl Default for AppConfig {
    fn default() -> AppConfig {
        AppConfig {
            db_kind: "none",
            base_url: None,
            rate_limit: RateLimit::default(),
            request_timeout: Duration::from_secs(30),
            setup_local_only: true,
            pdf_browser: None,
        }
    }
}

struct Inner {
    config: AppConfig,
    resolver: Arc<dyn PrincipalResolver>,
    cds_auth: Arc<ovcf_fhir::CdsAuth>,
    cds_ledger: Arc<dyn CdsLedger>,
    accounts: Option<Arc<dyn Accounts>>,
    store: Option<Arc<ovcf_store::Store>>,
    /// SHA-256 of the live first-admin set-up token, if any.
    setup_digest: Mutex<Option<String>>,
    limiter: RateLimiter,
    fhir_client: fhir_fetch::FhirClient,
    knowledge_version: String,
    schemas: Schemas,
    web: web::WebState,
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

/// What an [`AppState`] is made of.
pub struct StateParts {
    pub config: AppConfig,
    /// API tokens → principals.
    pub resolver: Arc<dyn PrincipalResolver>,
    /// The allow-listed CDS clients (and the `jti` replay cache).
    pub cds_auth: Arc<ovcf_fhir::CdsAuth>,
    /// Where issued cards and feedback are recorded.
    pub cds_ledger: Arc<dyn CdsLedger>,
    /// Users and tokens (for the set-up link); `None` without a registry.
    pub accounts: Option<Arc<dyn Accounts>>,
    /// The registry; `None` answers its endpoints with 503.
    pub store: Option<Arc<ovcf_store::Store>>,
}

impl AppState {
    /// A state with the given credential resolver, no CDS clients and an in-memory CDS ledger.
    pub fn new(config: AppConfig, resolver: Arc<dyn PrincipalResolver>) -> AppState {
        AppState::from_parts(StateParts {
            config,
            resolver,
            cds_auth: Arc::new(ovcf_fhir::CdsAuth::new()),
            cds_ledger: Arc::new(MemoryLedger::default()),
            accounts: None,
            store: None,
        })
    }

    pub fn from_parts(parts: StateParts) -> AppState {
        let StateParts {
            config,
            resolver,
            cds_auth,
            cds_ledger,
            accounts,
            store,
        } = parts;
        let knowledge_version = ovcf_core::knowledge::Knowledge::embedded()
            .map(|k| k.version.clone())
            .unwrap_or_else(|_| "unavailable".into());
        let schemas = Schemas {
            request: pretty(&ovcf_core::schema_of::<AssessmentRequest>()),
            report: pretty(&ovcf_core::schema_of::<AssessmentReport>()),
        };
        AppState {
            inner: Arc::new(Inner {
                limiter: RateLimiter::new(config.rate_limit),
                web: web::WebState::new(config.pdf_browser.clone()),
                fhir_client: fhir_fetch::FhirClient::default(),
                config,
                resolver,
                cds_auth,
                cds_ledger,
                accounts,
                store,
                setup_digest: Mutex::new(None),
                knowledge_version,
                schemas,
            }),
        }
    }

    pub fn resolver(&self) -> &dyn PrincipalResolver {
        &*self.inner.resolver
    }
    pub fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }
    pub fn knowledge_version(&self) -> &str {
        &self.inner.knowledge_version
    }
    pub fn db_kind(&self) -> &'static str {
        self.inner.config.db_kind
    }
    pub fn base_url(&self) -> Option<&str> {
        self.inner.config.base_url.as_deref()
    }
    /// The base of every public URL (JWT `aud`, links): `--base-url`, else `http://localhost`.
    pub fn public_base_url(&self) -> &str {
        self.inner
            .config
            .base_url
            .as_deref()
            .unwrap_or("http://localhost")
    }
    pub fn cds_auth(&self) -> &ovcf_fhir::CdsAuth {
        &self.inner.cds_auth
    }
    pub fn cds_ledger(&self) -> &dyn CdsLedger {
        &*self.inner.cds_ledger
    }
    pub fn store_arc(&self) -> Option<Arc<ovcf_store::Store>> {
        self.inner.store.clone()
    }
    pub fn store(&self) -> Option<&ovcf_store::Store> {
        self.inner.store.as_deref()
    }
    pub fn fhir_client(&self) -> &fhir_fetch::FhirClient {
        &self.inner.fhir_client
    }
    pub fn accounts(&self) -> Option<&dyn Accounts> {
        self.inner.accounts.as_deref()
    }
    pub fn accounts_arc(&self) -> Option<Arc<dyn Accounts>> {
        self.inner.accounts.clone()
    }
    pub fn setup_local_only(&self) -> bool {
        self.inner.config.setup_local_only
    }
    /// Arms the first-admin set-up link with the digest of its token.
    pub fn arm_setup(&self, digest: String) {
        *self.setup_lock() = Some(digest);
    }
    fn setup_lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.inner
            .setup_digest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
    /// Whether `digest` is the live set-up token.
    pub fn setup_digest_matches(&self, digest: &str) -> bool {
        self.setup_lock().as_deref() == Some(digest)
    }
    /// Spends the set-up token; `true` for the one caller that spent it.
    pub fn take_setup(&self, digest: &str) -> bool {
        let mut live = self.setup_lock();
        if live.as_deref() == Some(digest) {
            *live = None;
            true
        } else {
            false
        }
    }
    pub fn request_timeout(&self) -> Duration {
        self.inner.config.request_timeout
    }
    pub fn schemas(&self) -> &Schemas {
        &self.inner.schemas
    }
    /// The web application's sessions and PDF printer.
    pub fn web(&self) -> &web::WebState {
        &self.inner.web
    }
    /// Whether browser cookies get `Secure` (the public URL is https).
    pub fn web_cookies_secure(&self) -> bool {
        self.base_url().is_some_and(|u| u.starts_with("https://"))
    }
}

/// The documented `/api/v1` routes (and `/healthz`), with their OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::assess::create_assessment))
        .routes(routes!(routes::schema::request_schema))
        .routes(routes!(routes::schema::report_schema))
        .routes(routes!(
            routes::registry::create_patient,
            routes::registry::list_patients
        ))
        .routes(routes!(routes::registry::show_patient))
        .routes(routes!(routes::registry::record_assessment))
        .routes(routes!(routes::registry::record_procedure))
        .routes(routes!(routes::registry::record_medication))
        .routes(routes!(routes::registry::record_measurements))
        .routes(routes!(routes::registry::record_event))
        .routes(routes!(routes::registry::tasks))
        .routes(routes!(routes::registry::task_done))
        .routes(routes!(routes::registry::kpi))
        .routes(routes!(routes::registry::audit_verify))
        .routes(routes!(routes::registry::export))
        .routes(routes!(routes::cds::discovery))
        .routes(routes!(routes::cds::call_service))
        .routes(routes!(routes::cds::feedback))
}

/// The whole service.
pub fn app(state: AppState) -> Router {
    let (api, spec) = api_router().split_for_parts();
    let doc = openapi::document(&spec).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document could not be built");
        serde_json::Value::Null
    });
    let doc_bytes = pretty(&doc);
    let swagger: Router<AppState> = utoipa_swagger_ui::SwaggerUi::new("/docs")
        .config(utoipa_swagger_ui::Config::from("/openapi.json"))
        .into();
    api.route(
        "/openapi.json",
        get(move || {
            let body = doc_bytes.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
    .route(
        "/setup",
        get(routes::setup::form).post(routes::setup::create),
    )
    .merge(swagger)
    .merge(web::router())
    .fallback(middleware::no_route)
    .method_not_allowed_fallback(middleware::method_not_allowed)
    .layer(DefaultBodyLimit::max(middleware::BODY_LIMIT))
    .layer(axum::middleware::from_fn(middleware::limit_declared_length))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        middleware::time_limit,
    ))
    .layer(CatchPanicLayer::custom(middleware::panic_response))
    .layer(axum::middleware::from_fn(middleware::observe))
    .with_state(state)
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    pub app: AppConfig,
}

/// Binds, logs the address, serves until SIGTERM/SIGINT, then lets in-flight requests finish.
pub async fn serve_with(config: ServeConfig, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    serve_listener(listener, state, shutdown_signal()).await
}

/// Serves on a bound listener until `shutdown` completes; in-flight requests finish first.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let local = listener.local_addr().context("reading the bound address")?;
    tracing::info!(addr = %local, "ovcf serve listening on http://{local}");
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving")?;
    tracing::info!("ovcf serve stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// Logs to standard error (once per process; later calls are no-ops). Level from `OVCF_LOG`
/// (`error`, `warn`, `info` (default), `debug`, `trace`).
pub fn init_logging() {
    let level = std::env::var("OVCF_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
