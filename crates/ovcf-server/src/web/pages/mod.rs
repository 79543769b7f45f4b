//! The pages, one module per area. Each handler: extract the session (signed-out → sign-in page),
//! check the role of the API endpoint it mirrors, check CSRF on POST, then call the engine or
//! the registry exactly as the REST handler does.
//!
//! Handlers return `Result<Response, Response>` (axum answers either side), so the checks read as
//! `ctx.require(ROLES)?; ctx.require_csrf(&pairs)?; let store = ctx.store(&state)?;`. The error
//! side is a whole page (403, error page), returned once per request; boxing it to please
//! `result_large_err` would buy nothing.
#![allow(clippy::result_large_err)]

pub mod admin;
pub mod assess;
pub mod dashboard;
pub mod login;
pub mod patients;
pub mod worklist;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ovcf_report::Lang;

use super::session::WebSession;
use super::{Frame, failure, forbidden, lang_of};
use crate::AppState;
use crate::auth::Role;

/// Who may do what (the role column of api-v1).
pub const CLINICIAN: &[Role] = &[Role::Clinician];
pub const CARE_TEAM: &[Role] = &[Role::Clinician, Role::Coordinator];
pub const OVERSIGHT: &[Role] = &[Role::Coordinator, Role::Admin];
pub const ADMIN: &[Role] = &[Role::Admin];

/// The request's language and the frame of a page at `path`.
pub struct Ctx<'a> {
    pub lang: Lang,
    pub session: &'a WebSession,
    pub path: String,
    pub nav: &'static str,
}

impl<'a> Ctx<'a> {
    pub fn new(
        headers: &HeaderMap,
        session: &'a WebSession,
        path: impl Into<String>,
        nav: &'static str,
    ) -> Ctx<'a> {
        Ctx {
            lang: lang_of(headers),
            session,
            path: path.into(),
            nav,
        }
    }

    pub fn frame(&self) -> Frame<'_> {
        Frame {
            lang: self.lang,
            session: Some(self.session),
            path: &self.path,
            nav: self.nav,
        }
    }

    pub fn t(&self, key: &str) -> &'static str {
        super::tr(self.lang, key)
    }

    /// `Err(403 page)` unless the session's role is in `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Response> {
        if self.session.may(roles) {
            Ok(())
        } else {
            Err(forbidden(&self.frame()))
        }
    }

    /// `Err(403)` unless the form carries this session's CSRF token.
    pub fn require_csrf(&self, pairs: &[(String, String)]) -> Result<(), Response> {
        let submitted = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str());
        if self.session.check_csrf(submitted) {
            Ok(())
        } else {
            Err(failure(
                &self.frame(),
                StatusCode::FORBIDDEN,
                &"CSRF token missing or wrong",
            ))
        }
    }

    /// A form post: the role, then this session's CSRF token.
    pub fn require_form(&self, roles: &[Role], pairs: &[(String, String)]) -> Result<(), Response> {
        self.require(roles)?;
        self.require_csrf(pairs)
    }

    /// The registry, or a 503 page.
    pub fn store<'s>(&self, state: &'s AppState) -> Result<&'s ovcf_store::Store, Response> {
        state.store().ok_or_else(|| {
            failure(
                &self.frame(),
                StatusCode::SERVICE_UNAVAILABLE,
                &"no registry configured",
            )
        })
    }

    /// Today in the server's time zone, or an error page.
    pub fn today(&self) -> Result<ovcf_core::Date, Response> {
        crate::today().map_err(|e| self.fail(&e))
    }

    pub fn fail(&self, e: &dyn std::fmt::Display) -> Response {
        failure(&self.frame(), StatusCode::INTERNAL_SERVER_ERROR, e)
    }
}

/// The first value of `name` in posted pairs.
pub fn field<'p>(pairs: &'p [(String, String)], name: &str) -> Option<&'p str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Today in the server's time zone, as the REST handlers use it.
pub fn today() -> Result<ovcf_core::Date, crate::TodayError> {
    crate::today()
}
