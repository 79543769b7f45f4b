//! Authentication and authorisation: ONE mechanism for every `/api/v1` endpoint.
//!
//! `Authorization: Bearer TOKEN` is resolved to a [`Principal`] by the state's
//! [`PrincipalResolver`]; the handler's [`Authorized<R>`] argument names the roles allowed (the
//! role column of api-v1), so a handler cannot run without its check. Order of answers: 401 (no or
//! bad credentials) → 403 (role) → 429 (the principal's rate limit).
//!
//! API tokens are 256-bit random values shown once; only their SHA-256 is stored. A fast hash is
//! the right tool here (unlike for passwords): the token has full entropy, so nothing is gained by
//! a slow hash, and every request pays for it.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::str::FromStr;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

/// A user's role (api-v1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clinician,
    Coordinator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "clinician" => Ok(Role::Clinician),
            "coordinator" => Ok(Role::Coordinator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}: expected clinician, coordinator or admin"
            )),
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user name (what the audit chain records as "who").
    pub user: String,
    pub role: Role,
}

/// Why a token could not be resolved for a reason other than "unknown".
#[derive(Debug, thiserror::Error)]
#[error("credential store unavailable: {0}")]
pub struct ResolveError(pub String);

/// A boxed future, so the resolver can be a trait object.
pub type ResolveFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Principal>, ResolveError>> + Send + 'a>>;

/// Resolves a bearer token to its principal; `Ok(None)` for an unknown, revoked or expired token.
pub trait PrincipalResolver: Send + Sync + 'static {
    fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a>;
}

/// The SHA-256 of a token, hex: what is stored and looked up.
pub fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut s = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Prefix of every API token, so secret scanners can recognise a leaked one.
pub const TOKEN_PREFIX: &str = "ovcf_";

/// Formats 32 random bytes as an API token (`ovcf_` + base64url).
pub fn format_token(random: &[u8; 32]) -> String {
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
    )
}

/// An in-memory resolver holding token digests (tests, and servers without a registry).
#[derive(Default)]
pub struct MemoryResolver {
    by_digest: std::collections::HashMap<String, Principal>,
}

impl MemoryResolver {
    pub fn new() -> MemoryResolver {
        MemoryResolver::default()
    }

    /// Registers `token` (stored as its digest) for `principal`.
    pub fn with_token(mut self, token: &str, principal: Principal) -> MemoryResolver {
        self.by_digest.insert(token_digest(token), principal);
        self
    }
}

impl PrincipalResolver for MemoryResolver {
    fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a> {
        let found = self.by_digest.get(&token_digest(token)).cloned();
        Box::pin(async move { Ok(found) })
    }
}

/// A set of roles allowed on an endpoint (a row of api-v1's role column).
pub trait RoleSet: Send + Sync + 'static {
    const ROLES: &'static [Role];
}

/// Clinicians only.
pub struct ClinicianOnly;
impl RoleSet for ClinicianOnly {
    const ROLES: &'static [Role] = &[Role::Clinician];
}

/// Clinicians and coordinators (registry reads, the worklist).
pub struct CareTeam;
impl RoleSet for CareTeam {
    const ROLES: &'static [Role] = &[Role::Clinician, Role::Coordinator];
}

/// Coordinators and admins (indicators).
pub struct Oversight;
impl RoleSet for Oversight {
    const ROLES: &'static [Role] = &[Role::Coordinator, Role::Admin];
}

/// Admins only.
pub struct AdminOnly;
impl RoleSet for AdminOnly {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// Any authenticated role.
pub struct AnyRole;
impl RoleSet for AnyRole {
    const ROLES: &'static [Role] = &[Role::Clinician, Role::Coordinator, Role::Admin];
}

/// The extractor: an authenticated principal whose role is in `R`, within its rate limit.
pub struct Authorized<R: RoleSet> {
    pub principal: Principal,
    _roles: PhantomData<R>,
}

/// The bearer token of a request, if any (`None` when the header is absent or not Bearer).
pub fn bearer_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidCredentials,
            "malformed Authorization header",
        )
    })?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidCredentials,
            "expected `Authorization: Bearer TOKEN`",
        ));
    }
    Ok(Some(token.trim()))
}

impl<R: RoleSet> FromRequestParts<AppState> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer_token(parts)? else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "authentication required: `Authorization: Bearer TOKEN`",
            ));
        };
        let principal = state
            .resolver()
            .resolve(token)
            .await
            .map_err(|e| ApiError::internal(&e))?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidCredentials,
                    "unknown, revoked or expired token",
                )
            })?;
        if !R::ROLES.contains(&principal.role) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("the role {} may not use this endpoint", principal.role),
            ));
        }
        if let Err(wait) = state.limiter().check(&principal.user) {
            return Err(ApiError::rate_limited(wait.as_secs().saturating_add(1)));
        }
        Ok(Authorized {
            principal,
            _roles: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn token_has_256_bits() {
        let t = format_token(&[7u8; 32]);
        assert!(t.starts_with(TOKEN_PREFIX));
        assert_eq!(t.len(), TOKEN_PREFIX.len() + 43);
    }

    #[test]
    fn roles_round_trip() {
        for r in [Role::Clinician, Role::Coordinator, Role::Admin] {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
