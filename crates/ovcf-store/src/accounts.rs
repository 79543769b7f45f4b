//! Accounts for `ovcf serve` (migration 2): users with Argon2id password hashes, API tokens stored
//! as SHA-256 digests (the token itself is shown once by `ovcf token create` and never stored),
//! allow-listed CDS clients with their JWK Sets, issued CDS cards and CDS feedback.
//!
//! Credentials are not registry data: these tables are outside the audit chain and the export.
//! Hashing happens in `ovcf-server`; this module stores and looks up what it is given.

use crate::audit;
use crate::db::{Engine, Ty, Val};
use crate::{Result, Store, StoreError};

const SQLITE_SCHEMA: &str = include_str!("../migrations/sqlite/accounts.sql");
const POSTGRES_SCHEMA: &str = include_str!("../migrations/postgres/accounts.sql");

/// A user as stored (without the hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountUser {
    pub name: String,
    pub role: String,
}

/// A card as issued to a CDS client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCardRow {
    pub uuid: String,
    pub service: String,
    pub code: Option<String>,
    pub indicator: String,
}

/// One CDS feedback item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRow {
    pub service: String,
    pub client: String,
    pub card: String,
    pub outcome: String,
    pub override_system: Option<String>,
    pub override_code: Option<String>,
    /// JSON array of accepted suggestion ids.
    pub accepted_suggestions: String,
    pub outcome_timestamp: String,
}

impl Store {
    /// Creates the account tables if absent (idempotent; `ovcf serve` and the account commands
    /// call it after `Store::open`). Kept apart from the registry's versioned migrations because
    /// credentials are not registry data.
    pub async fn ensure_accounts(&self) -> Result<()> {
        let sql = match self.engine() {
            Engine::Sqlite => SQLITE_SCHEMA,
            Engine::Postgres => POSTGRES_SCHEMA,
        };
        let mut tx = self.pool.write().await?;
        tx.exec_raw(sql).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Number of users who can sign in.
    pub async fn account_user_count(&self) -> Result<i64> {
        let mut tx = self.pool.read().await?;
        let n = tx
            .fetch_i64("SELECT COUNT(*) FROM accounts_users", &[])
            .await?;
        tx.rollback().await?;
        Ok(n)
    }

    /// Creates a user; `Conflict` when the name is taken.
    pub async fn account_add_user(
        &self,
        name: &str,
        role: &str,
        password_hash: &str,
    ) -> Result<AccountUser> {
        if !matches!(role, "clinician" | "coordinator" | "admin") {
            return Err(StoreError::invalid(
                "--role",
                "expected clinician, coordinator or admin",
            ));
        }
        let mut tx = self.pool.write().await?;
        let taken = tx
            .fetch_i64(
                "SELECT COUNT(*) FROM accounts_users WHERE name = $1",
                &[Val::text(name)],
            )
            .await?;
        if taken > 0 {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "a user named '{name}' exists already; nothing was changed"
            )));
        }
        tx.exec(
            "INSERT INTO accounts_users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)",
            &[
                Val::text(name),
                Val::text(role),
                Val::text(password_hash),
                Val::text(audit::now_utc()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(AccountUser {
            name: name.to_owned(),
            role: role.to_owned(),
        })
    }

    /// The stored password hash and role of a user.
    pub async fn account_password(&self, name: &str) -> Result<Option<(String, String)>> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .fetch_opt(
                "SELECT password_hash, role FROM accounts_users WHERE name = $1",
                &[Val::text(name)],
                &[Ty::Text, Ty::Text],
            )
            .await?;
        tx.rollback().await?;
        Ok(row.and_then(|r| {
            Some((
                r.first()?.as_str()?.to_owned(),
                r.get(1)?.as_str()?.to_owned(),
            ))
        }))
    }

    /// Stores a token digest for `user`; returns the token id. `NotFound` for an unknown user.
    pub async fn account_add_token(&self, user: &str, digest: &str) -> Result<i64> {
        let mut tx = self.pool.write().await?;
        let known = tx
            .fetch_i64(
                "SELECT COUNT(*) FROM accounts_users WHERE name = $1",
                &[Val::text(user)],
            )
            .await?;
        if known == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!("--user: no user '{user}'")));
        }
        let id = tx
            .fetch_i64("SELECT COALESCE(MAX(id), 0) + 1 FROM api_tokens", &[])
            .await?;
        tx.exec(
            "INSERT INTO api_tokens (id, user_name, digest, created_at) VALUES ($1, $2, $3, $4)",
            &[
                Val::int(id),
                Val::text(user),
                Val::text(digest),
                Val::text(audit::now_utc()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The user and role of a live (not revoked) token digest.
    pub async fn account_principal(&self, digest: &str) -> Result<Option<AccountUser>> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .fetch_opt(
                "SELECT u.name, u.role FROM api_tokens t JOIN accounts_users u ON u.name = t.user_name \
                 WHERE t.digest = $1 AND t.revoked_at IS NULL",
                &[Val::text(digest)],
                &[Ty::Text, Ty::Text],
            )
            .await?;
        tx.rollback().await?;
        Ok(row.and_then(|r| {
            Some(AccountUser {
                name: r.first()?.as_str()?.to_owned(),
                role: r.get(1)?.as_str()?.to_owned(),
            })
        }))
    }

    /// Revokes a token; `false` when no live token has this id.
    pub async fn account_revoke_token(&self, id: i64) -> Result<bool> {
        let mut tx = self.pool.write().await?;
        let n = tx
            .exec(
                "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[Val::text(audit::now_utc()), Val::int(id)],
            )
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Allow-lists a CDS client (replacing its JWK Set if present).
    pub async fn cds_client_put(&self, iss: &str, jwks: &str) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.exec("DELETE FROM cds_clients WHERE iss = $1", &[Val::text(iss)])
            .await?;
        tx.exec(
            "INSERT INTO cds_clients (iss, jwks, added_at) VALUES ($1, $2, $3)",
            &[Val::text(iss), Val::text(jwks), Val::text(audit::now_utc())],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every allow-listed CDS client: `(iss, jwks)`.
    pub async fn cds_clients(&self) -> Result<Vec<(String, String)>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .fetch(
                "SELECT iss, jwks FROM cds_clients ORDER BY iss",
                &[],
                &[Ty::Text, Ty::Text],
            )
            .await?;
        tx.rollback().await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some((
                    r.first()?.as_str()?.to_owned(),
                    r.get(1)?.as_str()?.to_owned(),
                ))
            })
            .collect())
    }

    /// Records issued cards (so feedback, which echoes only the uuid, counts per alert code).
    pub async fn cds_cards_issued(&self, cards: &[IssuedCardRow]) -> Result<()> {
        if cards.is_empty() {
            return Ok(());
        }
        let now = audit::now_utc();
        let mut tx = self.pool.write().await?;
        for c in cards {
            tx.exec(
                "INSERT INTO cds_cards (uuid, service, code, indicator, issued_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (uuid) DO NOTHING",
                &[
                    Val::text(&c.uuid),
                    Val::text(&c.service),
                    Val::opt_text(c.code.clone()),
                    Val::text(&c.indicator),
                    Val::text(&now),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores feedback items not stored before; returns how many were new (idempotent).
    pub async fn cds_feedback_add(&self, items: &[FeedbackRow]) -> Result<usize> {
        let now = audit::now_utc();
        let mut tx = self.pool.write().await?;
        let mut new = 0;
        for f in items {
            let id = tx
                .fetch_i64("SELECT COALESCE(MAX(id), 0) + 1 FROM cds_feedback", &[])
                .await?;
            let n = tx
                .exec(
                    "INSERT INTO cds_feedback (id, service, client, card, outcome, override_system, override_code, \
                     accepted_suggestions, outcome_timestamp, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (service, client, card, outcome, outcome_timestamp) DO NOTHING",
                    &[
                        Val::int(id),
                        Val::text(&f.service),
                        Val::text(&f.client),
                        Val::text(&f.card),
                        Val::text(&f.outcome),
                        Val::opt_text(f.override_system.clone()),
                        Val::opt_text(f.override_code.clone()),
                        Val::text(&f.accepted_suggestions),
                        Val::text(&f.outcome_timestamp),
                        Val::text(&now),
                    ],
                )
                .await?;
            new += usize::try_from(n).unwrap_or(0);
        }
        tx.commit().await?;
        Ok(new)
    }
}
