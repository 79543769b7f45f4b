//! Sign-in and sign-out.
//!
//! Sign-in CSRF (a page signing the victim into another account) is stopped with a double-submit
//! token: a random value in a short-lived cookie and in the form must match. Attempts are
//! rate-limited per user name (five, then one every twelve seconds); unknown names and wrong
//! passwords get the same answer after the same work (a hash is verified either way).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use maud::html;

use super::field;
use crate::AppState;
use crate::web::session::{self, WebSession};
use crate::web::{Frame, lang_of, page, respond, safe_next, tr};

const LOGIN_CSRF_COOKIE: &str = "ovcf_login";

/// An Argon2id hash (same parameters as real ones) verified against for unknown user names, so
/// both failures cost the same.
static DECOY_PHC: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    crate::secrets::hash_password("decoy password that no account has").unwrap_or_default()
});

#[derive(serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_page(
    headers: &HeaderMap,
    state: &AppState,
    next: &str,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let lang = lang_of(headers);
    let mut bytes = [0u8; 24];
    if getrandom::fill(&mut bytes).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let path = format!("/login?next={}", crate::web::url_encode(next));
    let frame = Frame {
        lang,
        session: None,
        path: &path,
        nav: "",
    };
    let content = html! {
        section.signin {
            h1 { (tr(lang, "web.sign_in_title")) }
            p.lead { (tr(lang, "web.sign_in_lead")) }
            @if let Some(p) = problem {
                p.form-error role="alert" { (p) }
            }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                p {
                    label for="username" { (tr(lang, "web.user_name")) }
                    input #username name="username" required autocomplete="username" maxlength="64" autofocus;
                }
                p {
                    label for="password" { (tr(lang, "web.password")) }
                    input #password type="password" name="password" required autocomplete="current-password";
                }
                p { button.primary type="submit" { (tr(lang, "web.sign_in")) } }
            }
        }
    };
    let mut r = respond(status, page(&frame, tr(lang, "web.sign_in_title"), content));
    let cookie = format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=1800{}",
        if state.web_cookies_secure() {
            "; Secure"
        } else {
            ""
        }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// The sign-in page (or straight on when already signed in).
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Option<WebSession>,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if session.is_some() {
        return Redirect::to(&next).into_response();
    }
    login_page(&headers, &state, &next, None, StatusCode::OK)
}

/// Checks the credentials and starts a session.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang_of(&headers);
    let next = safe_next(field(&pairs, "next"));
    let posted = field(&pairs, "csrf");
    let expected = session::cookie(&headers, LOGIN_CSRF_COOKIE);
    if posted.is_none() || posted != expected {
        return login_page(
            &headers,
            &state,
            &next,
            Some(tr(lang, "web.sign_in_expired")),
            StatusCode::FORBIDDEN,
        );
    }
    let user = field(&pairs, "username").unwrap_or("").to_owned();
    let password = pairs
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let refused = |status| {
        login_page(
            &headers,
            &state,
            &next,
            Some(tr(lang, "web.sign_in_failed")),
            status,
        )
    };
    if state.web().sign_ins.check(&user).is_err() {
        return refused(StatusCode::TOO_MANY_REQUESTS);
    }
    let Some(accounts) = state.accounts() else {
        return refused(StatusCode::SERVICE_UNAVAILABLE);
    };
    let found = match accounts.user_credentials(&user).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "account lookup failed");
            return refused(StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    let (role, phc) = match found {
        Some((role, phc)) => (Some(role), phc),
        None => (None, DECOY_PHC.clone()),
    };
    let ok = tokio::task::spawn_blocking(move || crate::secrets::verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    let Some(role) = role.filter(|_| ok) else {
        tracing::info!("web sign-in refused");
        return refused(StatusCode::OK);
    };
    let id = match state.web().sessions.create(&user, role) {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "no session id");
            return refused(StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    tracing::info!(user = %user, role = %role, "web sign-in");
    let mut r = Redirect::to(&next).into_response();
    let secure = state.web_cookies_secure();
    for c in [
        session::set_cookie(&id, secure),
        format!("{LOGIN_CSRF_COOKIE}=; Path=/login; Max-Age=0"),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// Ends the session.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if !session.check_csrf(field(&pairs, "csrf")) {
        return StatusCode::FORBIDDEN.into_response();
    }
    if let Some(id) = session::cookie(&headers, session::COOKIE) {
        state.web().sessions.remove(id);
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(state.web_cookies_secure())) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
