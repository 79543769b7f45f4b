//! Browser sessions of the web application.
//!
//! A session is a 256-bit random id in an `HttpOnly; SameSite=Strict` cookie (`Secure` when the
//! server's public URL is https); the server keeps only its SHA-256, with the user, role, a
//! per-session CSRF token and the time of last use. Sessions end on sign-out, after
//! [`IDLE_TIMEOUT`] without a request, and [`MAX_AGE`] after sign-in at the latest. They live in
//! memory: a restart signs everyone out, which is the safe failure.
//!
//! CSRF: every form carries the session's token in a hidden `csrf` field and every POST handler
//! checks it ([`WebSession::check_csrf`]) before doing anything; SameSite=Strict is the second
//! line.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;

use crate::AppState;
use crate::auth::{Role, token_digest};

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in whatever its use.
pub const MAX_AGE: Duration = Duration::from_secs(12 * 60 * 60);
/// The session cookie's name.
pub const COOKIE: &str = "ovcf_session";

#[derive(Debug, Clone)]
struct Entry {
    user: String,
    role: Role,
    csrf: String,
    created: Instant,
    last_seen: Instant,
}

/// The live sessions, keyed by the SHA-256 of their id.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: String,
    pub role: Role,
    pub csrf: String,
}

fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session; returns its id (for the cookie only; never stored).
    pub fn create(&self, user: &str, role: Role) -> Result<String, getrandom::Error> {
        let id = random_token()?;
        let csrf = random_token()?;
        let now = Instant::now();
        let mut map = self.lock();
        // Expired sessions are swept on every sign-in, so the map stays small.
        map.retain(|_, e| live(e, now));
        map.insert(
            token_digest(&id),
            Entry {
                user: user.to_owned(),
                role,
                csrf,
                created: now,
                last_seen: now,
            },
        );
        Ok(id)
    }

    /// The live session of `id`, touched; `None` when unknown or expired (and then removed).
    pub fn get(&self, id: &str) -> Option<WebSession> {
        let key = token_digest(id);
        let now = Instant::now();
        let mut map = self.lock();
        let entry = map.get_mut(&key)?;
        if !live(entry, now) {
            map.remove(&key);
            return None;
        }
        entry.last_seen = now;
        Some(WebSession {
            user: entry.user.clone(),
            role: entry.role,
            csrf: entry.csrf.clone(),
        })
    }

    /// Ends every session of `user` (the user was disabled).
    pub fn remove_user(&self, user: &str) {
        self.lock().retain(|_, e| e.user != user);
    }

    /// Ends the session of `id`.
    pub fn remove(&self, id: &str) {
        self.lock().remove(&token_digest(id));
    }
}

fn live(e: &Entry, now: Instant) -> bool {
    now.duration_since(e.last_seen) < IDLE_TIMEOUT && now.duration_since(e.created) < MAX_AGE
}

/// The value of cookie `name` in the request headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that deletes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

impl WebSession {
    /// Whether the form's token is this session's (constant-time comparison).
    pub fn check_csrf(&self, submitted: Option<&str>) -> bool {
        let Some(s) = submitted else { return false };
        let (a, b) = (s.as_bytes(), self.csrf.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    pub fn may(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }
}

/// Signed out: to the sign-in page, coming back to where the user was going.
pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let next = super::url_encode(&self.0);
        Redirect::to(&format!("/login?next={next}")).into_response()
    }
}

impl FromRequestParts<AppState> for WebSession {
    type Rejection = SignInFirst;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let back = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        // After signing in the browser comes back with a GET: a form's target would not answer
        // it, so a form posted after the session ended leads to the start page.
        let back = if parts.method == axum::http::Method::GET {
            back
        } else {
            "/".to_owned()
        };
        let id = cookie(&parts.headers, COOKIE).ok_or_else(|| SignInFirst(back.clone()))?;
        let session = state
            .web()
            .sessions
            .get(id)
            .ok_or_else(|| SignInFirst(back.clone()))?;
        // A user disabled since sign-in (from the CLI, another process) loses the session at
        // the next request.
        if !still_active(state, &session).await {
            state.web().sessions.remove(id);
            return Err(SignInFirst(back));
        }
        Ok(session)
    }
}

/// Whether the session's user may still sign in with the same role.
async fn still_active(state: &AppState, session: &WebSession) -> bool {
    match state.accounts() {
        None => true,
        Some(accounts) => matches!(
            accounts.user_credentials(&session.user).await,
            Ok(Some((role, _))) if role == session.role
        ),
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for WebSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        let session = cookie(&parts.headers, COOKIE).and_then(|id| state.web().sessions.get(id));
        Ok(match session {
            Some(s) if still_active(state, &s).await => Some(s),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_get_remove() {
        let s = Sessions::default();
        let id = s.create("dr.li", Role::Clinician).unwrap_or_default();
        let got = s.get(&id).map(|w| (w.user, w.role));
        assert_eq!(got, Some(("dr.li".to_owned(), Role::Clinician)));
        assert!(s.get("not-a-session").is_none());
        s.remove(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn csrf_must_match() {
        let s = Sessions::default();
        let id = s.create("u", Role::Coordinator).unwrap_or_default();
        let w = s.get(&id);
        assert!(w.is_some());
        if let Some(w) = w {
            assert!(w.check_csrf(Some(&w.csrf.clone())));
            assert!(!w.check_csrf(Some("x")));
            assert!(!w.check_csrf(None));
        }
    }

    #[test]
    fn cookie_parsing() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; ovcf_session=abc; ovcf_lang=en"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "ovcf_lang"), Some("en"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn cookie_attributes() {
        let c = set_cookie("x", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!set_cookie("x", false).contains("Secure"));
    }
}
