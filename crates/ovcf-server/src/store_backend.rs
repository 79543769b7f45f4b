//! The registry (`ovcf_store::Store`) as the server's account store, token resolver and CDS
//! ledger.

use std::sync::Arc;

use ovcf_store::Store;
use ovcf_store::StoreError;
use ovcf_store::accounts::{FeedbackRow, IssuedCardRow};

use crate::accounts::{Accounts, AccountsError, AccountsFuture, UserInfo};
use crate::auth::{Principal, PrincipalResolver, ResolveError, ResolveFuture, Role, token_digest};
use crate::routes::cds::{CdsLedger, FeedbackRecord, IssuedCard, LedgerError, LedgerFuture};

/// Accounts, tokens and CDS records kept in the registry database. Account changes are audited
/// as `actor` (`server` unless set with [`StoreBackend::with_actor`] or [`Accounts::acting_as`]);
/// CDS feedback as its client (`cds:ISS`).
#[derive(Clone)]
pub struct StoreBackend {
    store: Arc<Store>,
    actor: String,
}

impl StoreBackend {
    pub fn new(store: Arc<Store>) -> StoreBackend {
        StoreBackend {
            store,
            actor: ovcf_store::audit::actor::SERVER.to_owned(),
        }
    }

    /// The same backend, recording account changes as done by `actor`.
    pub fn with_actor(&self, actor: &str) -> StoreBackend {
        StoreBackend {
            store: self.store.clone(),
            actor: actor.to_owned(),
        }
    }
}

fn accounts_error(e: StoreError) -> AccountsError {
    match e {
        StoreError::Conflict(m) => AccountsError::Invalid(m),
        StoreError::NotFound(m) => AccountsError::UnknownUser(m),
        StoreError::Invalid(v) => AccountsError::Invalid(
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => AccountsError::Store(other.to_string()),
    }
}

impl PrincipalResolver for StoreBackend {
    fn resolve<'a>(&'a self, token: &'a str) -> ResolveFuture<'a> {
        Box::pin(async move {
            let found = self
                .store
                .account_principal(&token_digest(token))
                .await
                .map_err(|e| ResolveError(e.to_string()))?;
            Ok(found.and_then(|u| {
                Some(Principal {
                    role: u.role.parse::<Role>().ok()?,
                    user: u.name,
                })
            }))
        })
    }
}

impl Accounts for StoreBackend {
    fn user_count(&self) -> AccountsFuture<'_, u64> {
        Box::pin(async move {
            let n = self
                .store
                .account_user_count()
                .await
                .map_err(accounts_error)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn add_user<'a>(
        &'a self,
        name: &'a str,
        role: Role,
        password_phc: &'a str,
    ) -> AccountsFuture<'a, UserInfo> {
        Box::pin(async move {
            let u = self
                .store
                .account_add_user(&self.actor, name, role.as_str(), password_phc)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => AccountsError::DuplicateUser(name.to_owned()),
                    other => accounts_error(other),
                })?;
            Ok(UserInfo { name: u.name, role })
        })
    }

    fn user_credentials<'a>(&'a self, name: &'a str) -> AccountsFuture<'a, Option<(Role, String)>> {
        Box::pin(async move {
            let found = self
                .store
                .account_password(name)
                .await
                .map_err(accounts_error)?;
            Ok(found.and_then(|(hash, role)| Some((role.parse::<Role>().ok()?, hash))))
        })
    }

    fn add_token<'a>(&'a self, user: &'a str, digest: &'a str) -> AccountsFuture<'a, i64> {
        Box::pin(async move {
            self.store
                .account_add_token(&self.actor, user, digest)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound(_) => AccountsError::UnknownUser(user.to_owned()),
                    other => accounts_error(other),
                })
        })
    }

    fn revoke_token(&self, id: i64) -> AccountsFuture<'_, bool> {
        Box::pin(async move {
            self.store
                .account_revoke_token(&self.actor, id)
                .await
                .map_err(accounts_error)
        })
    }

    fn put_cds_client<'a>(&'a self, iss: &'a str, jwks_json: &'a str) -> AccountsFuture<'a, ()> {
        Box::pin(async move {
            self.store
                .cds_client_put(&self.actor, iss, jwks_json)
                .await
                .map_err(accounts_error)
        })
    }

    fn cds_clients(&self) -> AccountsFuture<'_, Vec<(String, String)>> {
        Box::pin(async move { self.store.cds_clients().await.map_err(accounts_error) })
    }

    fn disable_user<'a>(&'a self, name: &'a str) -> AccountsFuture<'a, bool> {
        Box::pin(async move {
            self.store
                .account_disable_user(&self.actor, name)
                .await
                .map_err(accounts_error)
        })
    }

    fn list_users(&self) -> AccountsFuture<'_, Vec<crate::accounts::UserListing>> {
        Box::pin(async move { self.store.account_users().await.map_err(accounts_error) })
    }

    fn list_tokens(&self) -> AccountsFuture<'_, Vec<crate::accounts::TokenListing>> {
        Box::pin(async move { self.store.account_tokens().await.map_err(accounts_error) })
    }

    fn acting_as(&self, actor: &str) -> Option<Arc<dyn Accounts>> {
        Some(Arc::new(self.with_actor(actor)))
    }
}

impl CdsLedger for StoreBackend {
    fn cards_issued<'a>(&'a self, cards: &'a [IssuedCard]) -> LedgerFuture<'a, ()> {
        Box::pin(async move {
            let rows: Vec<IssuedCardRow> = cards
                .iter()
                .map(|c| IssuedCardRow {
                    uuid: c.uuid.clone(),
                    service: c.service.clone(),
                    code: c.code.clone(),
                    indicator: c.indicator.clone(),
                })
                .collect();
            self.store
                .cds_cards_issued(&rows)
                .await
                .map_err(|e| LedgerError(e.to_string()))
        })
    }

    fn feedback<'a>(&'a self, items: &'a [FeedbackRecord]) -> LedgerFuture<'a, usize> {
        Box::pin(async move {
            let rows: Vec<FeedbackRow> = items
                .iter()
                .map(|f| FeedbackRow {
                    service: f.service.clone(),
                    client: f.client.clone(),
                    card: f.card.clone(),
                    outcome: f.outcome.clone(),
                    override_system: f.override_system.clone(),
                    override_code: f.override_code.clone(),
                    accepted_suggestions: serde_json::to_string(&f.accepted_suggestions)
                        .unwrap_or_else(|_| "[]".into()),
                    outcome_timestamp: f.outcome_timestamp.clone(),
                })
                .collect();
            self.store
                .cds_feedback_add(&rows)
                .await
                .map_err(|e| LedgerError(e.to_string()))
        })
    }
}
