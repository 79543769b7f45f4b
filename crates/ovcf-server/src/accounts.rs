//! Accounts: users (Argon2id password hashes), API tokens (SHA-256 digests of 256-bit random
//! tokens, shown once, revocable) and allow-listed CDS clients (issuer + JWK Set). The server
//! talks to them through [`Accounts`]; the registry implements it (`store_accounts`), tests use
//! [`MemoryAccounts`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use crate::auth::{Principal, PrincipalResolver, ResolveError, ResolveFuture, Role, token_digest};

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("a user named {0:?} exists already")]
    DuplicateUser(String),
    #[error("no user named {0:?}")]
    UnknownUser(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("account store: {0}")]
    Store(String),
}

pub type AccountsFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, AccountsError>> + Send + 'a>>;

/// A user as listed (never with the hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
}

/// The account operations the server and the admin commands need.
pub trait Accounts: PrincipalResolver {
    fn user_count(&self) -> AccountsFuture<'_, u64>;
    /// Creates a user with an Argon2id PHC hash.
    fn add_user<'a>(
        &'a self,
        name: &'a str,
        role: Role,
        password_phc: &'a str,
    ) -> AccountsFuture<'a, UserInfo>;
    /// The role and Argon2id PHC hash of `name` (web sign-in); `None` for an unknown user.
    fn user_credentials<'a>(&'a self, name: &'a str) -> AccountsFuture<'a, Option<(Role, String)>>;
    /// Stores a token digest for `user`; returns the token's id (for revocation).
    fn add_token<'a>(&'a self, user: &'a str, digest: &'a str) -> AccountsFuture<'a, i64>;
    /// Revokes a token by id; `false` when there was no such live token.
    fn revoke_token(&self, id: i64) -> AccountsFuture<'_, bool>;
    /// Allow-lists (or replaces) a CDS client's JWK Set.
    fn put_cds_client<'a>(&'a self, iss: &'a str, jwks_json: &'a str) -> AccountsFuture<'a, ()>;
    /// Every allow-listed CDS client: `(iss, jwks_json)`.
    fn cds_clients(&self) -> AccountsFuture<'_, Vec<(String, String)>>;
    /// The same accounts, with their changes recorded in the registry's audit chain as done by
    /// `actor` (convention: `ovcf_store::audit::actor`, e.g. `setup`, `local:OSUSER`, or a
    /// signed-in user's name). `None` for a store without an audit chain: use `self`.
    fn acting_as(&self, actor: &str) -> Option<std::sync::Arc<dyn Accounts>> {
        let _ = actor;
        None
    }
    /// Disables a user (no sign-in, tokens stop resolving); `false` when there was no such active
    /// user.
    fn disable_user<'a>(&'a self, name: &'a str) -> AccountsFuture<'a, bool>;
    /// Every user (never a hash), for the administrator's page.
    fn list_users(&self) -> AccountsFuture<'_, Vec<UserListing>>;
    /// Every API token (never a digest), newest first.
    fn list_tokens(&self) -> AccountsFuture<'_, Vec<TokenListing>>;
}

pub use ovcf_store::accounts::{TokenListing, UserListing};

/// Accounts held in memory (tests; a server without a registry).
#[derive(Default)]
pub struct MemoryAccounts {
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    users: HashMap<String, (Role, String)>,
    /// digest → (id, user, revoked)
    tokens: HashMap<String, (i64, String, bool)>,
    clients: Vec<(String, String)>,
    disabled: std::collections::HashSet<String>,
}

impl MemoryAccounts {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PrincipalResolver for MemoryAccounts {
    fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a> {
        let inner = self.lock();
        let found = inner
            .tokens
            .get(&token_digest(token))
            .filter(|(_, user, revoked)| !revoked && !inner.disabled.contains(user))
            .and_then(|(_, user, _)| {
                inner.users.get(user).map(|(role, _)| Principal {
                    user: user.clone(),
                    role: *role,
                })
            });
        Box::pin(async move { Ok::<_, ResolveError>(found) })
    }
}

impl Accounts for MemoryAccounts {
    fn user_count(&self) -> AccountsFuture<'_, u64> {
        let n = self.lock().users.len() as u64;
        Box::pin(async move { Ok(n) })
    }

    fn add_user<'a>(
        &'a self,
        name: &'a str,
        role: Role,
        password_phc: &'a str,
    ) -> AccountsFuture<'a, UserInfo> {
        let mut inner = self.lock();
        let result = if inner.users.contains_key(name) {
            Err(AccountsError::DuplicateUser(name.to_owned()))
        } else {
            inner
                .users
                .insert(name.to_owned(), (role, password_phc.to_owned()));
            Ok(UserInfo {
                name: name.to_owned(),
                role,
            })
        };
        Box::pin(async move { result })
    }

    fn user_credentials<'a>(&'a self, name: &'a str) -> AccountsFuture<'a, Option<(Role, String)>> {
        let inner = self.lock();
        let found = inner
            .users
            .get(name)
            .filter(|_| !inner.disabled.contains(name))
            .cloned();
        Box::pin(async move { Ok(found) })
    }

    fn add_token<'a>(&'a self, user: &'a str, digest: &'a str) -> AccountsFuture<'a, i64> {
        let mut inner = self.lock();
        let result = if inner.users.contains_key(user) {
            let id = inner.tokens.len() as i64 + 1;
            inner
                .tokens
                .insert(digest.to_owned(), (id, user.to_owned(), false));
            Ok(id)
        } else {
            Err(AccountsError::UnknownUser(user.to_owned()))
        };
        Box::pin(async move { result })
    }

    fn revoke_token(&self, id: i64) -> AccountsFuture<'_, bool> {
        let mut inner = self.lock();
        let mut done = false;
        for (tid, _, revoked) in inner.tokens.values_mut() {
            if *tid == id && !*revoked {
                *revoked = true;
                done = true;
            }
        }
        Box::pin(async move { Ok(done) })
    }

    fn put_cds_client<'a>(&'a self, iss: &'a str, jwks_json: &'a str) -> AccountsFuture<'a, ()> {
        let mut inner = self.lock();
        inner.clients.retain(|(i, _)| i != iss);
        inner.clients.push((iss.to_owned(), jwks_json.to_owned()));
        Box::pin(async { Ok(()) })
    }

    fn cds_clients(&self) -> AccountsFuture<'_, Vec<(String, String)>> {
        let clients = self.lock().clients.clone();
        Box::pin(async move { Ok(clients) })
    }

    fn disable_user<'a>(&'a self, name: &'a str) -> AccountsFuture<'a, bool> {
        let mut inner = self.lock();
        let done = inner.users.contains_key(name) && inner.disabled.insert(name.to_owned());
        Box::pin(async move { Ok(done) })
    }

    fn list_users(&self) -> AccountsFuture<'_, Vec<UserListing>> {
        let inner = self.lock();
        let mut users: Vec<UserListing> = inner
            .users
            .iter()
            .map(|(name, (role, _))| UserListing {
                name: name.clone(),
                role: role.as_str().to_owned(),
                created_at: String::new(),
                live_tokens: inner
                    .tokens
                    .values()
                    .filter(|(_, u, revoked)| u == name && !revoked)
                    .count() as i64,
                disabled_at: inner.disabled.contains(name).then(String::new),
            })
            .collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        Box::pin(async move { Ok(users) })
    }

    fn list_tokens(&self) -> AccountsFuture<'_, Vec<TokenListing>> {
        let mut tokens: Vec<TokenListing> = self
            .lock()
            .tokens
            .values()
            .map(|(id, user, revoked)| TokenListing {
                id: *id,
                user: user.clone(),
                created_at: String::new(),
                revoked_at: revoked.then(String::new),
            })
            .collect();
        tokens.sort_by_key(|t| std::cmp::Reverse(t.id));
        Box::pin(async move { Ok(tokens) })
    }
}

/// A user name: 1–64 characters, letters, digits, `.`, `_`, `-`, `@`.
pub fn check_user_name(name: &str) -> Result<(), AccountsError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(AccountsError::Invalid(
            "a user name has 1-64 letters, digits, '.', '_', '-' or '@'".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn token_lifecycle() {
        let a = MemoryAccounts::default();
        assert!(a.add_user("doc", Role::Clinician, "$phc").await.is_ok());
        assert!(matches!(
            a.add_user("doc", Role::Admin, "$phc").await,
            Err(AccountsError::DuplicateUser(_))
        ));
        let token = "ovcf_test";
        let id = a.add_token("doc", &token_digest(token)).await.ok();
        let who = a.resolve(token).await.ok().flatten();
        assert_eq!(who.map(|p| p.role), Some(Role::Clinician));
        assert_eq!(a.revoke_token(id.unwrap_or(0)).await.ok(), Some(true));
        assert!(a.resolve(token).await.ok().flatten().is_none());
        assert!(a.add_token("nobody", "d").await.is_err());
    }

    #[test]
    fn user_names() {
        assert!(check_user_name("dr.li@ward-3").is_ok());
        assert!(check_user_name("").is_err());
        assert!(check_user_name("a b").is_err());
    }
}
