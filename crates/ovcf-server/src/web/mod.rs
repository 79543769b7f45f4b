//! The web application: server-rendered pages for clinicians and fracture-liaison coordinators.
//!
//! - Same binary, engine, registry and roles as the REST API: pages call `ovcf_core` and
//!   `ovcf_store` exactly as the `/api/v1` handlers do, and the role of every page is the role
//!   of the API endpoint it mirrors (api-v1).
//! - HTML is rendered with `maud` (compile-time templates, escaped by default); charts are SVG
//!   drawn on the server; the little JavaScript there is (`static/app.js`) only adds levels from
//!   the spine diagram and confirms sign-out. Every asset is served by the binary: no CDN.
//! - Every word comes from the one i18n catalogue (`knowledge/i18n.toml`) through [`tr`]; Chinese
//!   is the default, English one click away, remembered in a cookie.
//! - Sessions and CSRF: [`session`].
//! - A form sent back with problems (engine validation, a registry refusal, a wrong password)
//!   answers 200 with the problems at their fields: it is a page to correct, not a failed
//!   resource (browsers log a 4xx document as an error). Role, CSRF and missing-record answers
//!   keep their 403/404.

pub mod charts;
pub mod form;
pub mod pages;
pub mod pdf;
pub mod session;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use ovcf_report::Lang;

use crate::AppState;
use crate::auth::Role;
use session::WebSession;

/// State of the web application inside [`AppState`].
pub struct WebState {
    pub sessions: session::Sessions,
    pub pdf: pdf::PdfRenderer,
    /// Sign-in attempts per user name: five, then one every twelve seconds.
    pub sign_ins: crate::ratelimit::RateLimiter,
}

impl WebState {
    pub fn new(pdf_browser: Option<std::path::PathBuf>) -> WebState {
        WebState {
            sessions: session::Sessions::default(),
            pdf: pdf::PdfRenderer::new(pdf_browser),
            sign_ins: crate::ratelimit::RateLimiter::with_rate(5.0 / 60.0, 5),
        }
    }
}

/// The language cookie's name.
pub const LANG_COOKIE: &str = "ovcf_lang";

/// A word from the i18n catalogue.
pub fn tr(lang: Lang, key: &str) -> &'static str {
    ovcf_report::t(lang, key)
}

/// The page language: the user's choice (cookie), else `Accept-Language`, else Chinese.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    if let Some(l) = session::cookie(headers, LANG_COOKIE).and_then(|v| v.parse().ok()) {
        return l;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for tag in accept.split(',') {
        let tag = tag
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if tag.starts_with("zh") {
            return Lang::Zh;
        }
        if tag.starts_with("en") {
            return Lang::En;
        }
    }
    Lang::Zh
}

/// Percent-encodes a string for a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A local path to go back to (`/…`, never `//host` or a scheme), else `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// What a page needs to draw its frame.
pub struct Frame<'a> {
    pub lang: Lang,
    pub session: Option<&'a WebSession>,
    /// The path of this page (language switch comes back here).
    pub path: &'a str,
    /// Which navigation entry is current.
    pub nav: &'a str,
}

/// The navigation: (key, href, roles that may open it).
const NAV: &[(&str, &str, &[Role])] = &[
    ("assess", "/assess", &[Role::Clinician]),
    (
        "patients",
        "/patients",
        &[Role::Clinician, Role::Coordinator],
    ),
    (
        "worklist",
        "/worklist",
        &[Role::Clinician, Role::Coordinator],
    ),
    ("dashboard", "/dashboard", &[Role::Coordinator, Role::Admin]),
    ("admin", "/admin", &[Role::Admin]),
];

/// A whole page: head, header with navigation, language switch and sign-out, the content.
pub fn page(frame: &Frame<'_>, title: &str, content: Markup) -> Markup {
    let lang = frame.lang;
    let other = match lang {
        Lang::Zh => Lang::En,
        Lang::En => Lang::Zh,
    };
    let html_lang = match lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    };
    html! {
        (DOCTYPE)
        html lang=(html_lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (tr(lang, "web.app_name")) }
                link rel="stylesheet" href="/static/report.css";
                link rel="stylesheet" href="/static/app.css";
                link rel="icon" href="data:,";
                script src="/static/app.js" defer {}
            }
            body {
                a.skip href="#main" { (tr(lang, "web.skip")) }
                header.top {
                    a.brand href="/" { (tr(lang, "web.app_name")) }
                    @if let Some(s) = frame.session {
                        nav aria-label=(tr(lang, "web.nav_label")) {
                            @for (key, href, roles) in NAV {
                                @if s.may(roles) {
                                    a href=(href) aria-current=[(frame.nav == *key).then_some("page")] {
                                        (tr(lang, &format!("web.nav.{key}")))
                                    }
                                }
                            }
                        }
                    }
                    div.tools {
                        a.lang href={ "/lang/" (other.as_str()) "?next=" (url_encode(frame.path)) }
                            lang=(match other { Lang::Zh => "zh-CN", Lang::En => "en" }) {
                            (tr(other, "web.lang_name"))
                        }
                        @if let Some(s) = frame.session {
                            span.who { (s.user) " · " (tr(lang, &format!("web.role.{}", s.role.as_str()))) }
                            form.signout method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button type="submit" { (tr(lang, "web.sign_out")) }
                            }
                        }
                    }
                }
                main #main tabindex="-1" { (content) }
                footer.site {
                    (tr(lang, "web.footer")) " · " (tr(lang, "report.engine_version")) " " (ovcf_core::ENGINE_VERSION)
                }
            }
        }
    }
}

/// A page answer with the web application's headers (no caching of patient pages, CSP).
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// 403 page for a signed-in user whose role may not open this page.
pub fn forbidden(frame: &Frame<'_>) -> Response {
    let lang = frame.lang;
    respond(
        StatusCode::FORBIDDEN,
        page(
            frame,
            tr(lang, "web.forbidden_title"),
            html! { h1 { (tr(lang, "web.forbidden_title")) } p { (tr(lang, "web.forbidden")) } },
        ),
    )
}

/// An error page (registry unavailable, unexpected failure): the detail goes to the log only.
pub fn failure(frame: &Frame<'_>, status: StatusCode, what: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %what, "web page failed");
    let lang = frame.lang;
    respond(
        status,
        page(
            frame,
            tr(lang, "web.error_title"),
            html! { h1 { (tr(lang, "web.error_title")) } p { (tr(lang, "web.error")) } },
        ),
    )
}

/// The routes of the web application.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route("/lang/{lang}", get(switch_lang))
        .route(
            "/assess",
            get(pages::assess::form).post(pages::assess::submit),
        )
        .route("/assess/pdf", post(pages::assess::pdf))
        .route("/assess/save", post(pages::patients::save_assessment))
        .route(
            "/patients",
            get(pages::patients::list).post(pages::patients::create),
        )
        .route("/patients/{mrn}", get(pages::patients::show))
        .route(
            "/patients/{mrn}/assessments/{id}",
            get(pages::patients::assessment),
        )
        .route(
            "/patients/{mrn}/assessments/{id}/pdf",
            get(pages::patients::assessment_pdf),
        )
        .route(
            "/patients/{mrn}/medications",
            post(pages::patients::add_medication),
        )
        .route(
            "/patients/{mrn}/procedures",
            post(pages::patients::add_procedure),
        )
        .route(
            "/patients/{mrn}/measurements",
            post(pages::patients::add_measurement),
        )
        .route("/patients/{mrn}/events", post(pages::patients::add_event))
        .route("/worklist", get(pages::worklist::list))
        .route("/worklist/{id}/done", post(pages::worklist::done))
        .route("/dashboard", get(pages::dashboard::show))
        .route("/admin", get(pages::admin::show))
        .route("/admin/users", post(pages::admin::add_user))
        .route(
            "/admin/users/{name}/disable",
            post(pages::admin::disable_user),
        )
        .route("/admin/tokens", post(pages::admin::issue_token))
        .route(
            "/admin/tokens/{id}/revoke",
            post(pages::admin::revoke_token),
        )
        .route("/static/{file}", get(asset))
        // Pages, styles and scripts shrink to about a fifth with gzip (ward Wi-Fi); the API
        // keeps its uncompressed answers.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
}

/// `/`: the first page the role works from.
async fn home(session: Option<WebSession>) -> Redirect {
    match session.map(|s| s.role) {
        None => Redirect::to("/login"),
        Some(Role::Clinician) => Redirect::to("/assess"),
        Some(Role::Coordinator) => Redirect::to("/worklist"),
        Some(Role::Admin) => Redirect::to("/dashboard"),
    }
}

#[derive(serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Remembers the chosen language and goes back.
async fn switch_lang(
    State(state): State<AppState>,
    Path(lang): Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let Ok(lang) = lang.parse::<Lang>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let secure = state.web_cookies_secure();
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
        lang.as_str(),
        if secure { "; Secure" } else { "" }
    );
    let mut r = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The application stylesheet (public for tests of what is served).
pub const APP_CSS: &str = include_str!("static/app.css");
const APP_JS: &str = include_str!("static/app.js");

/// The application's own static files (compiled into the binary).
async fn asset(Path(file): Path<String>) -> Response {
    let (body, ty): (&'static str, &'static str) = match file.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "report.css" => (ovcf_report::REPORT_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ty),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Marks text as already-escaped HTML (only for the engine report fragment, which
/// `ovcf_report` escapes itself).
pub fn trusted_html(s: String) -> PreEscaped<String> {
    PreEscaped(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page's source, scanned for catalogue keys.
    const SOURCES: [&str; 8] = [
        include_str!("pages/admin.rs"),
        include_str!("mod.rs"),
        include_str!("pages/login.rs"),
        include_str!("pages/assess.rs"),
        include_str!("pages/patients.rs"),
        include_str!("pages/worklist.rs"),
        include_str!("pages/dashboard.rs"),
        include_str!("pages/mod.rs"),
    ];

    fn has(key: &str) -> bool {
        [Lang::Zh, Lang::En].iter().all(|l| tr(*l, key) != key)
    }

    /// String literals passed to `t(` / `tr(lang, ` in the sources.
    fn static_keys() -> Vec<String> {
        let mut keys = Vec::new();
        for src in SOURCES {
            for marker in [".t(\"", "tr(lang, \"", "tr(other, \""] {
                for (i, _) in src.match_indices(marker) {
                    let rest = &src[i + marker.len()..];
                    if let Some(end) = rest.find('"') {
                        keys.push(rest[..end].to_owned());
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn every_static_key_is_in_the_catalogue() {
        let keys = static_keys();
        assert!(
            keys.len() > 80,
            "the scan found too few keys: {}",
            keys.len()
        );
        let missing: Vec<_> = keys.iter().filter(|k| !has(k)).collect();
        assert!(
            missing.is_empty(),
            "keys missing from knowledge/i18n.toml: {missing:?}"
        );
    }

    #[test]
    fn every_form_field_and_choice_has_words() {
        let mut missing = Vec::new();
        for (group, fields) in form::LAYOUT {
            for k in [format!("form.group.{group}")] {
                if !has(&k) {
                    missing.push(k);
                }
            }
            if fields.first().is_some_and(|(t, _)| t.contains("[]")) {
                for k in [format!("form.block.{group}"), format!("form.add.{group}")] {
                    if !has(&k) {
                        missing.push(k);
                    }
                }
            }
            for (template, unit) in *fields {
                let k = form::label_key(template);
                if !has(&k) {
                    missing.push(k);
                }
                if let Some(u) = unit.filter(|u| !has(u)) {
                    missing.push(u.to_string());
                }
                if let Some(
                    form::Kind::Enum { def, values } | form::Kind::EnumSet { def, values },
                ) = form::spec().get(template).map(|f| &f.kind)
                {
                    for v in values.iter().filter(|_| !form::shows_code(def)) {
                        let k = form::value_key(def, v);
                        if !has(&k) {
                            missing.push(k);
                        }
                    }
                }
            }
        }
        for key in ["assess", "patients", "worklist", "dashboard", "admin"] {
            missing.extend(Some(format!("web.nav.{key}")).filter(|k| !has(k)));
        }
        for s in ["open", "due", "overdue", "done", "superseded"] {
            missing.extend(Some(format!("web.task_status.{s}")).filter(|k| !has(k)));
        }
        for r in [Role::Clinician, Role::Coordinator, Role::Admin] {
            missing.extend(Some(format!("web.role.{}", r.as_str())).filter(|k| !has(k)));
        }
        assert!(
            missing.is_empty(),
            "keys missing from knowledge/i18n.toml: {missing:?}"
        );
    }

    #[test]
    fn language_choice() {
        let mut h = HeaderMap::new();
        assert_eq!(lang_of(&h), Lang::Zh);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-GB,en;q=0.9"),
        );
        assert_eq!(lang_of(&h), Lang::En);
        h.insert(header::COOKIE, HeaderValue::from_static("ovcf_lang=zh"));
        assert_eq!(lang_of(&h), Lang::Zh);
    }

    #[test]
    fn next_stays_local() {
        assert_eq!(safe_next(Some("/patients?q=1")), "/patients?q=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
