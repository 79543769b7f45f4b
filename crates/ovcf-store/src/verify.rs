//! `ovcf audit verify`: recompute the chain and re-hash every current row against the event that
//! wrote it. Detects an edited, deleted or reordered event, an edited or deleted row, and a row
//! added outside the program.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::audit::{self, AuditEvent, CREATE, GENESIS, READ};
use crate::db::{Tx, Ty, Val};
use crate::schema::Entity;
use crate::store::Store;
use crate::{Result, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadEvent {
    /// The first event that does not verify; `null` for a row that no event wrote.
    pub seq: Option<i64>,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    /// Events in the chain.
    pub events: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<BadEvent>,
}

pub(crate) const CHUNK: i64 = 2000;

/// Reads the chain in seq order, chunk by chunk, with the row each `create` event wrote (looked up
/// by id range per entity: ids grow with seq within an entity).
pub(crate) struct Scanner {
    after: i64,
    pub(crate) done: bool,
}

pub(crate) type Scanned = (AuditEvent, Option<Vec<Val>>);

impl Scanner {
    pub(crate) fn new() -> Scanner {
        Scanner {
            after: i64::MIN,
            done: false,
        }
    }

    pub(crate) async fn next_chunk(&mut self, tx: &mut Tx) -> Result<Vec<Scanned>> {
        let sql = format!(
            "SELECT {} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT {CHUNK}",
            audit::EVENT_COLUMNS
        );
        let rows = tx
            .fetch(&sql, &[Val::int(self.after)], &audit::EVENT_TYPES)
            .await?;
        if (rows.len() as i64) < CHUNK {
            self.done = true;
        }
        let events: Vec<AuditEvent> = rows.iter().map(|r| audit::event_from_vals(r)).collect();
        if let Some(last) = events.last() {
            self.after = last.seq;
        }
        let mut ranges: HashMap<Entity, (i64, i64)> = HashMap::new();
        for e in &events {
            if e.action != CREATE {
                continue;
            }
            if let Some(ent) = Entity::parse(&e.entity) {
                let r = ranges.entry(ent).or_insert((e.entity_id, e.entity_id));
                r.0 = r.0.min(e.entity_id);
                r.1 = r.1.max(e.entity_id);
            }
        }
        let mut rows_by: HashMap<(Entity, i64), Vec<Val>> = HashMap::new();
        for (ent, (lo, hi)) in ranges {
            let sql = format!(
                "{} WHERE id >= $1 AND id <= $2 ORDER BY id",
                ent.select_sql()
            );
            let rows = tx
                .fetch(&sql, &[Val::int(lo), Val::int(hi)], &ent.types())
                .await
                .map_err(|e| StoreError::Corrupt(format!("{}: {e}", ent.table())))?;
            for r in rows {
                if let Some(id) = r.first().and_then(Val::as_i64) {
                    rows_by.insert((ent, id), r);
                }
            }
        }
        Ok(events
            .into_iter()
            .map(|e| {
                let row = match (e.action.as_str(), Entity::parse(&e.entity)) {
                    (CREATE, Some(ent)) => rows_by.remove(&(ent, e.entity_id)),
                    _ => None,
                };
                (e, row)
            })
            .collect())
    }
}

impl Store {
    pub async fn verify(&self) -> Result<VerifyReport> {
        let mut tx = self.pool.read().await?;
        let report = verify_tx(&mut tx).await;
        tx.rollback().await?;
        report
    }
}

async fn verify_tx(tx: &mut Tx) -> Result<VerifyReport> {
    let total = tx
        .fetch_i64("SELECT COUNT(*) FROM audit_events", &[])
        .await?;
    let bad = |e: &AuditEvent, reason: String| BadEvent {
        seq: Some(e.seq),
        entity: e.entity.clone(),
        entity_id: Some(e.entity_id),
        reason,
    };
    let mut scanner = Scanner::new();
    let mut prev_seq = 0;
    let mut prev_hash = GENESIS.to_owned();
    let mut created: HashMap<Entity, HashSet<i64>> = HashMap::new();
    let mut first_bad = None;
    'scan: while !scanner.done {
        for (e, row) in scanner.next_chunk(tx).await? {
            let problem = if e.seq != prev_seq + 1 {
                Some(format!(
                    "seq {} follows {prev_seq}: an event was deleted or reordered",
                    e.seq
                ))
            } else if e.prev_hash != prev_hash {
                Some("prev_hash does not match the previous event's hash".to_owned())
            } else if audit::event_hash(&e) != e.hash {
                Some("hash does not match the event's fields: the event was edited".to_owned())
            } else {
                match (Entity::parse(&e.entity), e.action.as_str()) {
                    (None, _) => Some(format!("unknown entity '{}'", e.entity)),
                    (Some(_), READ) => None,
                    (Some(ent), CREATE) => {
                        if !created.entry(ent).or_default().insert(e.entity_id) {
                            Some("a second event writes the same row".to_owned())
                        } else {
                            match row {
                                None => {
                                    Some(format!("{} {} was deleted", ent.table(), e.entity_id))
                                }
                                Some(r) if audit::row_hash(ent, &r) != e.payload_hash => {
                                    Some(format!(
                                        "{} {} was changed after this event wrote it",
                                        ent.table(),
                                        e.entity_id
                                    ))
                                }
                                Some(_) => None,
                            }
                        }
                    }
                    (Some(_), other) => Some(format!("unknown action '{other}'")),
                }
            };
            if let Some(reason) = problem {
                first_bad = Some(bad(&e, reason));
                break 'scan;
            }
            prev_seq = e.seq;
            prev_hash = e.hash.clone();
        }
    }
    if first_bad.is_none() {
        // Rows that no event wrote (inserted outside the program).
        'tables: for ent in Entity::ALL {
            let ids = created.remove(&ent).unwrap_or_default();
            let count = tx
                .fetch_i64(&format!("SELECT COUNT(*) FROM {}", ent.table()), &[])
                .await?;
            if count as usize == ids.len() {
                continue;
            }
            let rows = tx
                .fetch(
                    &format!("SELECT id FROM {} ORDER BY id", ent.table()),
                    &[],
                    &[Ty::Int],
                )
                .await?;
            for r in rows {
                let id = r.first().and_then(Val::as_i64);
                if id.is_none_or(|id| !ids.contains(&id)) {
                    first_bad = Some(BadEvent {
                        seq: None,
                        entity: ent.name().to_owned(),
                        entity_id: id,
                        reason: format!("{} row without an audit event", ent.table()),
                    });
                    break 'tables;
                }
            }
        }
    }
    Ok(VerifyReport {
        ok: first_bad.is_none(),
        events: total,
        first_bad,
    })
}
