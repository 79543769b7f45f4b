//! Accounts for `ovcf serve` (tables of migration 2): users with Argon2id password hashes, API
//! tokens stored as SHA-256 digests (the token itself is shown once by `ovcf token create` and never
//! stored), allow-listed CDS clients with their JWK Sets, issued CDS cards and CDS feedback.
//!
//! Credentials are not registry data: these tables are mutable (a token is revoked in place) and
//! outside the export. Every *change* to them is audited all the same: it writes a
//! `service_event` row (kind, subject, a JSON detail without any password hash, token or token
//! digest) with its event in the audit chain, in the same transaction, as the acting `actor` (see
//! [`crate::audit::actor`] for the convention). Issued cards are not audited (a cache that maps a
//! card to its alert code, written on every CDS call).
//!
//! Hashing happens in `ovcf-server`; this module stores and looks up what it is given.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::audit;
use crate::db::{Ty, Val};
use crate::schema::Entity;
use crate::store::{Writer, check_actor};
use crate::{Result, Store, StoreError};

/// Kinds of `service_event` rows.
pub mod kind {
    pub const USER_ADDED: &str = "user_added";
    pub const USER_DISABLED: &str = "user_disabled";
    pub const TOKEN_CREATED: &str = "token_created";
    pub const TOKEN_REVOKED: &str = "token_revoked";
    pub const CDS_CLIENT_ADDED: &str = "cds_client_added";
    pub const CDS_CLIENT_REPLACED: &str = "cds_client_replaced";
    pub const CDS_FEEDBACK: &str = "cds_feedback";
}

/// Writes a `service_event` row and its audit event.
async fn service_event(w: &mut Writer, kind: &str, subject: &str, detail: Value) -> Result<i64> {
    w.insert(
        Entity::ServiceEvent,
        vec![
            Val::text(kind),
            Val::text(subject),
            Val::text(serde_json::to_string(&detail)?),
        ],
    )
    .await
}

/// What the audit chain keeps of a JWK Set: its SHA-256 and its key ids (public data).
fn jwks_detail(jwks: &str) -> Value {
    use sha2::{Digest, Sha256};
    let kids: Vec<Value> = serde_json::from_str::<Value>(jwks)
        .ok()
        .and_then(|v| v.get("keys").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .map(|k| k.get("kid").cloned().unwrap_or(Value::Null))
        .collect();
    json!({
        "jwks_sha256": audit::hex(&Sha256::digest(jwks.as_bytes())),
        "kids": kids,
    })
}

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
    /// Makes sure the account tables exist. They are part of the registry's migration 2, which
    /// [`Store::open`] applies, so this only migrates a store opened with [`Store::connect`]
    /// (idempotent; kept for the callers that prepared the tables before they were migrated).
    pub async fn ensure_accounts(&self) -> Result<()> {
        self.migrate().await.map(|_| ())
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

    /// Creates a user; `Conflict` when the name is taken. Audited as `actor` (`user_added`, with
    /// the role; never the hash).
    pub async fn account_add_user(
        &self,
        actor: &str,
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
        check_actor(actor)?;
        let mut w = Writer::begin(&self.pool, actor).await?;
        let taken =
            w.tx.fetch_i64(
                "SELECT COUNT(*) FROM accounts_users WHERE name = $1",
                &[Val::text(name)],
            )
            .await?;
        if taken > 0 {
            return Err(StoreError::Conflict(format!(
                "a user named '{name}' exists already; nothing was changed"
            )));
        }
        w.tx.exec(
            "INSERT INTO accounts_users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)",
            &[
                Val::text(name),
                Val::text(role),
                Val::text(password_hash),
                Val::text(audit::now_utc()),
            ],
        )
        .await?;
        service_event(&mut w, kind::USER_ADDED, name, json!({ "role": role })).await?;
        w.commit().await?;
        Ok(AccountUser {
            name: name.to_owned(),
            role: role.to_owned(),
        })
    }

    /// The stored password hash and role of a user who may sign in (`None` when unknown or
    /// disabled).
    pub async fn account_password(&self, name: &str) -> Result<Option<(String, String)>> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .fetch_opt(
                "SELECT password_hash, role FROM accounts_users WHERE name = $1 AND disabled_at IS NULL",
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
    /// Audited as `actor` (`token_created`, with the token id; never the digest).
    pub async fn account_add_token(&self, actor: &str, user: &str, digest: &str) -> Result<i64> {
        check_actor(actor)?;
        let mut w = Writer::begin(&self.pool, actor).await?;
        let known =
            w.tx.fetch_i64(
                "SELECT COUNT(*) FROM accounts_users WHERE name = $1",
                &[Val::text(user)],
            )
            .await?;
        if known == 0 {
            return Err(StoreError::NotFound(format!("--user: no user '{user}'")));
        }
        let id =
            w.tx.fetch_i64("SELECT COALESCE(MAX(id), 0) + 1 FROM api_tokens", &[])
                .await?;
        w.tx.exec(
            "INSERT INTO api_tokens (id, user_name, digest, created_at) VALUES ($1, $2, $3, $4)",
            &[
                Val::int(id),
                Val::text(user),
                Val::text(digest),
                Val::text(audit::now_utc()),
            ],
        )
        .await?;
        service_event(&mut w, kind::TOKEN_CREATED, user, json!({ "token_id": id })).await?;
        w.commit().await?;
        Ok(id)
    }

    /// The user and role of a live (not revoked) token digest.
    pub async fn account_principal(&self, digest: &str) -> Result<Option<AccountUser>> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .fetch_opt(
                "SELECT u.name, u.role FROM api_tokens t JOIN accounts_users u ON u.name = t.user_name \
                 WHERE t.digest = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
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

    /// Revokes a token; `false` (and nothing written) when no live token has this id. Audited as
    /// `actor` (`token_revoked`, subject the token's user).
    pub async fn account_revoke_token(&self, actor: &str, id: i64) -> Result<bool> {
        check_actor(actor)?;
        let mut w = Writer::begin(&self.pool, actor).await?;
        let owner =
            w.tx.fetch_opt(
                "SELECT user_name FROM api_tokens WHERE id = $1 AND revoked_at IS NULL",
                &[Val::int(id)],
                &[Ty::Text],
            )
            .await?
            .and_then(|r| r.first().and_then(Val::as_str).map(str::to_owned));
        let Some(owner) = owner else {
            w.tx.rollback().await?;
            return Ok(false);
        };
        w.tx.exec(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[Val::text(audit::now_utc()), Val::int(id)],
        )
        .await?;
        service_event(
            &mut w,
            kind::TOKEN_REVOKED,
            &owner,
            json!({ "token_id": id }),
        )
        .await?;
        w.commit().await?;
        Ok(true)
    }

    /// Allow-lists a CDS client (replacing its JWK Set if present). Audited as `actor`
    /// (`cds_client_added` or `cds_client_replaced`, with the JWK Set's SHA-256 and key ids).
    pub async fn cds_client_put(&self, actor: &str, iss: &str, jwks: &str) -> Result<()> {
        check_actor(actor)?;
        let mut w = Writer::begin(&self.pool, actor).await?;
        let replaced =
            w.tx.exec("DELETE FROM cds_clients WHERE iss = $1", &[Val::text(iss)])
                .await?;
        w.tx.exec(
            "INSERT INTO cds_clients (iss, jwks, added_at) VALUES ($1, $2, $3)",
            &[Val::text(iss), Val::text(jwks), Val::text(audit::now_utc())],
        )
        .await?;
        let kind = if replaced > 0 {
            kind::CDS_CLIENT_REPLACED
        } else {
            kind::CDS_CLIENT_ADDED
        };
        service_event(&mut w, kind, iss, jwks_detail(jwks)).await?;
        w.commit().await?;
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

    /// Stores feedback items not stored before; returns how many were new (idempotent). Each new
    /// item is audited as its client ([`audit::actor::cds_client`]: `cds:` + the JWT's `iss`), as a
    /// `cds_feedback` service event carrying the item.
    pub async fn cds_feedback_add(&self, items: &[FeedbackRow]) -> Result<usize> {
        let now = audit::now_utc();
        let mut by_client: BTreeMap<&str, Vec<&FeedbackRow>> = BTreeMap::new();
        for f in items {
            by_client.entry(f.client.as_str()).or_default().push(f);
        }
        let mut new = 0;
        for (client, items) in by_client {
            let mut w = Writer::begin(&self.pool, &audit::actor::cds_client(client)).await?;
            let mut written = 0;
            for f in items {
                let id =
                    w.tx.fetch_i64("SELECT COALESCE(MAX(id), 0) + 1 FROM cds_feedback", &[])
                        .await?;
                let n = w
                    .tx
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
                if n == 0 {
                    continue;
                }
                let accepted = serde_json::from_str::<Value>(&f.accepted_suggestions)
                    .unwrap_or_else(|_| Value::String(f.accepted_suggestions.clone()));
                service_event(
                    &mut w,
                    kind::CDS_FEEDBACK,
                    &f.client,
                    json!({
                        "feedback_id": id,
                        "service": f.service,
                        "card": f.card,
                        "outcome": f.outcome,
                        "override_system": f.override_system,
                        "override_code": f.override_code,
                        "accepted_suggestions": accepted,
                        "outcome_timestamp": f.outcome_timestamp,
                    }),
                )
                .await?;
                written += 1;
            }
            if written == 0 {
                // Every item was known: nothing to record (not even the client as an actor).
                w.tx.rollback().await?;
            } else {
                w.commit().await?;
                new += written;
            }
        }
        Ok(new)
    }
}

/// A user as the administrator sees it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserListing {
    pub name: String,
    pub role: String,
    pub created_at: String,
    /// API tokens not revoked.
    pub live_tokens: i64,
    /// When the user was disabled; `None` for an active user.
    pub disabled_at: Option<String>,
}

/// An API token as the administrator sees it (never the digest).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenListing {
    pub id: i64,
    pub user: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl Store {
    /// Every user, by name.
    pub async fn account_users(&self) -> Result<Vec<UserListing>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .fetch(
                "SELECT u.name, u.role, u.created_at, \
                 (SELECT COUNT(*) FROM api_tokens t WHERE t.user_name = u.name AND t.revoked_at IS NULL), \
                 u.disabled_at FROM accounts_users u ORDER BY u.name",
                &[],
                &[Ty::Text, Ty::Text, Ty::Text, Ty::Int, Ty::Text],
            )
            .await?;
        tx.rollback().await?;
        Ok(rows
            .iter()
            .map(|r| UserListing {
                name: r.first().and_then(Val::as_str).unwrap_or("").to_owned(),
                role: r.get(1).and_then(Val::as_str).unwrap_or("").to_owned(),
                created_at: r.get(2).and_then(Val::as_str).unwrap_or("").to_owned(),
                live_tokens: r.get(3).and_then(Val::as_i64).unwrap_or(0),
                disabled_at: r.get(4).and_then(Val::as_str).map(str::to_owned),
            })
            .collect())
    }

    /// Disables a user: they can no longer sign in and their API tokens stop resolving; the row
    /// stays, since audit events name the user. `false` (nothing written) for an unknown or
    /// already disabled user. Audited as `actor` (`user_disabled`).
    pub async fn account_disable_user(&self, actor: &str, name: &str) -> Result<bool> {
        check_actor(actor)?;
        let mut w = Writer::begin(&self.pool, actor).await?;
        let live =
            w.tx.fetch_opt(
                "SELECT name FROM accounts_users WHERE name = $1 AND disabled_at IS NULL",
                &[Val::text(name)],
                &[Ty::Text],
            )
            .await?
            .is_some();
        if !live {
            w.tx.rollback().await?;
            return Ok(false);
        }
        w.tx.exec(
            "UPDATE accounts_users SET disabled_at = $1 WHERE name = $2 AND disabled_at IS NULL",
            &[Val::text(audit::now_utc()), Val::text(name)],
        )
        .await?;
        service_event(&mut w, kind::USER_DISABLED, name, json!({})).await?;
        w.commit().await?;
        Ok(true)
    }

    /// Every API token, newest first.
    pub async fn account_tokens(&self) -> Result<Vec<TokenListing>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .fetch(
                "SELECT id, user_name, created_at, revoked_at FROM api_tokens ORDER BY id DESC",
                &[],
                &[Ty::Int, Ty::Text, Ty::Text, Ty::Text],
            )
            .await?;
        tx.rollback().await?;
        Ok(rows
            .iter()
            .map(|r| TokenListing {
                id: r.first().and_then(Val::as_i64).unwrap_or(0),
                user: r.get(1).and_then(Val::as_str).unwrap_or("").to_owned(),
                created_at: r.get(2).and_then(Val::as_str).unwrap_or("").to_owned(),
                revoked_at: r.get(3).and_then(Val::as_str).map(str::to_owned),
            })
            .collect())
    }
}
