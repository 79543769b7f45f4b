//! Export (NDJSON) and import.
//!
//! The export is the audit chain in `seq` order, one event per line, each line typed by its
//! entity (`"type": "patient"`, `"assessment"`, …) and carrying the nine event fields plus, for a
//! `create` event, the `row` it wrote (JSON documents embedded verbatim). Because every row is
//! written by exactly one event, every prefix of the file is a consistent registry whose chain
//! verifies: an import can commit in batches and be killed at any moment.
//!
//! Import reproduces the source exactly (same ids, same events, same hashes: the export of the
//! re-imported database equals the original export). It first reads the whole file and checks every
//! line (types, chain, row hashes) without writing; only then does it write, in batches, reporting
//! each committed batch. Into a non-empty database it only continues an interrupted import of the
//! same chain (the database's last event must be in the file); anything else is refused.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::audit::{self, AuditEvent, CREATE, GENESIS, READ};
use crate::db::{Ty, Val};
use crate::schema::Entity;
use crate::store::{Store, Writer, chain_head};
use crate::verify::Scanner;
use crate::{Result, StoreError};

/// Lines per import transaction (also capped by bytes).
/// Default lines per committed import batch (the CLI's `--batch-lines`).
pub const IMPORT_BATCH_LINES: usize = 10_000;
const IMPORT_BATCH_BYTES: usize = 48 << 20;

impl Store {
    /// Writes the whole registry as NDJSON; returns the number of lines.
    pub async fn export(&self, out: &mut dyn Write) -> Result<u64> {
        let mut tx = self.pool.read().await?;
        let mut scanner = Scanner::new();
        let mut n = 0;
        let mut line = String::new();
        while !scanner.done {
            for (e, row) in scanner.next_chunk(&mut tx).await? {
                line.clear();
                export_line(&mut line, &e, row.as_deref())?;
                line.push('\n');
                out.write_all(line.as_bytes())?;
                n += 1;
            }
        }
        out.flush()?;
        tx.rollback().await?;
        Ok(n)
    }

    /// Imports an export. `open` is called for each pass over the input (the file is read twice:
    /// check, then write); `committed` is called after each committed batch of at most
    /// `batch_lines` lines (at least 1) with the number of input lines now durable.
    pub async fn import<R: BufRead + Send + 'static>(
        &self,
        batch_lines: usize,
        mut open: impl FnMut() -> std::io::Result<R>,
        mut committed: impl FnMut(u64) -> std::io::Result<()>,
    ) -> Result<u64> {
        let (head_seq, head_hash) = {
            let mut tx = self.pool.read().await?;
            let h = chain_head(&mut tx).await?;
            tx.rollback().await?;
            h
        };
        // Pass 1: check everything, write nothing.
        let mut prev_seq = 0;
        let mut prev_hash = GENESIS.to_owned();
        let mut lines = 0u64;
        let mut resume_found = head_seq == 0;
        check_lines(open()?, |no, e| {
            if e.seq != prev_seq + 1 || e.prev_hash != prev_hash {
                return Err(line_err(
                    no,
                    "not the next event of the chain (seq/prev_hash)",
                ));
            }
            if e.seq == head_seq {
                if e.hash != head_hash {
                    return Err(StoreError::Conflict(format!(
                        "the database is not empty and holds a different registry (event {head_seq} differs from line {no}); nothing was imported"
                    )));
                }
                resume_found = true;
            }
            prev_seq = e.seq;
            prev_hash = e.hash;
            lines += 1;
            Ok(())
        })?;
        if !resume_found {
            return Err(StoreError::Conflict(format!(
                "the database is not empty ({head_seq} events) and is not a part of this export; import needs an empty database"
            )));
        }
        // Pass 2: a reader thread parses batches while this task writes the previous one.
        let (send, recv) = std::sync::mpsc::sync_channel::<Result<Parsed>>(2);
        let reader = open()?;
        let batch_lines = batch_lines.max(1);
        let parser =
            std::thread::spawn(move || parse_batches(reader, head_seq, batch_lines, &send));
        let mut done_lines = 0u64;
        let mut reported = false;
        while let Ok(parsed) = recv.recv() {
            match parsed? {
                Parsed::Skipped(n) => {
                    done_lines = n;
                    committed(done_lines)?;
                    reported = true;
                }
                Parsed::Batch {
                    mut rows,
                    events,
                    last_no,
                } => {
                    let mut w = Writer::begin_import(&self.pool).await?;
                    let first = &events[0];
                    if w.seq != first.seq - 1 || w.head != first.prev_hash {
                        return Err(StoreError::Conflict(
                            "the database changed during the import".into(),
                        ));
                    }
                    w.insert_verbatim(&mut rows, &events).await?;
                    w.commit().await?;
                    done_lines = last_no;
                    committed(done_lines)?;
                    reported = true;
                }
            }
        }
        if parser.join().is_err() {
            return Err(StoreError::Corrupt(
                "the import reader thread failed".into(),
            ));
        }
        if !reported {
            committed(done_lines)?;
        }
        // Fresh statistics for the planner after a bulk load (the KPI query relies on them).
        self.pool
            .exec_raw(match self.engine() {
                crate::Engine::Sqlite => "PRAGMA analysis_limit = 1000; ANALYZE",
                crate::Engine::Postgres => "ANALYZE",
            })
            .await?;
        Ok(lines)
    }
}

enum Parsed {
    /// Lines already in the database (an interrupted import being continued), up to this line.
    Skipped(u64),
    Batch {
        rows: Vec<(Entity, Vec<Val>)>,
        events: Vec<AuditEvent>,
        last_no: u64,
    },
}

fn parse_batches<R: BufRead>(
    mut reader: R,
    head_seq: i64,
    batch_lines: usize,
    send: &std::sync::mpsc::SyncSender<Result<Parsed>>,
) {
    let mut rows = Vec::new();
    let mut events: Vec<AuditEvent> = Vec::new();
    let mut bytes = 0usize;
    let mut skipped = None;
    let mut buf = String::new();
    let mut no = 0u64;
    let mut last_no = 0u64;
    loop {
        buf.clear();
        let eof = match reader.read_line(&mut buf) {
            Ok(n) => n == 0,
            Err(e) => {
                let _ = send.send(Err(e.into()));
                return;
            }
        };
        if !eof {
            no += 1;
            let text = buf.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            let (e, row) = match parse_line(no, text, false) {
                Ok(x) => x,
                Err(err) => {
                    let _ = send.send(Err(err));
                    return;
                }
            };
            if e.seq <= head_seq {
                skipped = Some(no);
                continue;
            }
            if let Some(n) = skipped.take()
                && send.send(Ok(Parsed::Skipped(n))).is_err()
            {
                return;
            }
            bytes += text.len();
            if let (Some(ent), Some(row)) = (Entity::parse(&e.entity), row) {
                rows.push((ent, row));
            }
            events.push(e);
            last_no = no;
        }
        if !events.is_empty() && (eof || events.len() >= batch_lines || bytes >= IMPORT_BATCH_BYTES)
        {
            let batch = Parsed::Batch {
                rows: std::mem::take(&mut rows),
                events: std::mem::take(&mut events),
                last_no,
            };
            bytes = 0;
            if send.send(Ok(batch)).is_err() {
                return;
            }
        }
        if eof {
            if let Some(n) = skipped.take() {
                let _ = send.send(Ok(Parsed::Skipped(n)));
            }
            return;
        }
    }
}

fn line_err(no: u64, msg: impl std::fmt::Display) -> StoreError {
    StoreError::invalid(format!("line {no}"), msg.to_string())
}

/// Bytes of input checked per round of [`check_lines`].
const CHECK_BLOCK_BYTES: usize = 32 << 20;

/// The checking pass: parses every line and checks its event hash and row hash, on all cores
/// (block by block), then hands the events to `f` in file order (`f` checks the chain). The first
/// problem in file order is the one reported, as with a line-by-line check.
fn check_lines<R: BufRead>(
    mut reader: R,
    mut f: impl FnMut(u64, AuditEvent) -> Result<()>,
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let mut no = 0u64;
    let mut eof = false;
    while !eof {
        let mut lines: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut bytes = 0;
        while bytes < CHECK_BLOCK_BYTES {
            let mut buf = Vec::new();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                eof = true;
                break;
            }
            no += 1;
            bytes += buf.len();
            lines.push((no, buf));
        }
        let per = lines.len().div_ceil(threads).max(1);
        let parts: Vec<Vec<(u64, Result<Option<AuditEvent>>)>> = std::thread::scope(|s| {
            let handles: Vec<_> = lines
                .chunks(per)
                .map(|part| s.spawn(move || check_part(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![(
                            0,
                            Err(StoreError::Corrupt("an import check thread failed".into())),
                        )]
                    })
                })
                .collect()
        });
        for (no, r) in parts.into_iter().flatten() {
            if let Some(e) = r? {
                f(no, e)?;
            }
        }
    }
    Ok(())
}

/// Checks consecutive lines, stopping at the first bad one; `None` for a blank line.
fn check_part(part: &[(u64, Vec<u8>)]) -> Vec<(u64, Result<Option<AuditEvent>>)> {
    let mut out = Vec::with_capacity(part.len());
    for (no, buf) in part {
        let r = match std::str::from_utf8(buf) {
            Err(_) => Err(line_err(*no, "not valid UTF-8")),
            Ok(text) => {
                let text = text.trim_end_matches(['\n', '\r']);
                if text.trim().is_empty() {
                    Ok(None)
                } else {
                    parse_line(*no, text, true).map(|(e, _)| Some(e))
                }
            }
        };
        let stop = r.is_err();
        out.push((*no, r));
        if stop {
            break;
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: String,
    seq: i64,
    at: String,
    actor: String,
    action: String,
    entity: String,
    entity_id: i64,
    payload_hash: String,
    prev_hash: String,
    hash: String,
    #[serde(borrow, default)]
    row: Option<HashMap<String, &'a RawValue>>,
}

/// Parses one export line; with `check`, also checks the event's own hash and the row against
/// `payload_hash` (the first pass checks; the second, writing pass only parses).
fn parse_line(no: u64, text: &str, check: bool) -> Result<(AuditEvent, Option<Vec<Val>>)> {
    let l: Line = serde_json::from_str(text).map_err(|e| line_err(no, e))?;
    let e = AuditEvent {
        seq: l.seq,
        at: l.at,
        actor: l.actor,
        action: l.action,
        entity: l.entity,
        entity_id: l.entity_id,
        payload_hash: l.payload_hash,
        prev_hash: l.prev_hash,
        hash: l.hash,
    };
    if l.kind != e.entity {
        return Err(line_err(no, "type differs from entity"));
    }
    let Some(ent) = Entity::parse(&e.entity) else {
        return Err(line_err(no, format!("unknown type '{}'", e.entity)));
    };
    if check && audit::event_hash(&e) != e.hash {
        return Err(line_err(no, "hash does not match the event"));
    }
    let row = match (e.action.as_str(), l.row) {
        (CREATE, Some(map)) => {
            let row = row_from(no, ent, &map)?;
            if row.first().and_then(Val::as_i64) != Some(e.entity_id) {
                return Err(line_err(no, "row.id differs from entity_id"));
            }
            if check && audit::row_hash(ent, &row) != e.payload_hash {
                return Err(line_err(no, "row does not match payload_hash"));
            }
            Some(row)
        }
        (READ, None) => None,
        (CREATE, None) => return Err(line_err(no, "a create event without its row")),
        (READ, Some(_)) => return Err(line_err(no, "a read event with a row")),
        (other, _) => return Err(line_err(no, format!("unknown action '{other}'"))),
    };
    Ok((e, row))
}

fn row_from(no: u64, ent: Entity, map: &HashMap<String, &RawValue>) -> Result<Vec<Val>> {
    let cols = ent.columns();
    if map.len() != cols.len() {
        return Err(line_err(
            no,
            format!("row: {} columns, expected {}", map.len(), cols.len()),
        ));
    }
    let mut row = Vec::with_capacity(cols.len());
    for (name, ty, is_json) in cols {
        let raw = map
            .get(*name)
            .ok_or_else(|| line_err(no, format!("row.{name} missing")))?
            .get();
        let bad = |e: serde_json::Error| line_err(no, format!("row.{name}: {e}"));
        let null = raw == "null";
        row.push(match ty {
            Ty::Int => Val::Int(if null {
                None
            } else {
                Some(serde_json::from_str(raw).map_err(bad)?)
            }),
            Ty::Real => Val::Real(if null {
                None
            } else {
                Some(serde_json::from_str(raw).map_err(bad)?)
            }),
            Ty::Text if null => Val::Text(None),
            Ty::Text if *is_json => Val::Text(Some(raw.to_owned())),
            Ty::Text => Val::Text(Some(serde_json::from_str(raw).map_err(bad)?)),
        });
    }
    Ok(row)
}

fn export_line(out: &mut String, e: &AuditEvent, row: Option<&[Val]>) -> Result<()> {
    use std::fmt::Write as _;
    let s = |v: &str| serde_json::to_string(v);
    let _ = write!(
        out,
        "{{\"type\":{},\"seq\":{},\"at\":{},\"actor\":{},\"action\":{},\"entity\":{},\"entity_id\":{},\"payload_hash\":{},\"prev_hash\":{},\"hash\":{}",
        s(&e.entity)?,
        e.seq,
        s(&e.at)?,
        s(&e.actor)?,
        s(&e.action)?,
        s(&e.entity)?,
        e.entity_id,
        s(&e.payload_hash)?,
        s(&e.prev_hash)?,
        s(&e.hash)?
    );
    if e.action == CREATE {
        let ent = Entity::parse(&e.entity)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown entity '{}'", e.entity)))?;
        let row = row.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "event {}: {} {} is missing (run ovcf audit verify)",
                e.seq, e.entity, e.entity_id
            ))
        })?;
        out.push_str(",\"row\":{");
        for (i, ((name, _, is_json), v)) in ent.columns().iter().zip(row).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&s(name)?);
            out.push(':');
            match (is_json, v.as_str()) {
                (true, Some(text)) if serde_json::from_str::<&RawValue>(text).is_ok() => {
                    out.push_str(text)
                }
                _ => out.push_str(&v.to_json().to_string()),
            }
        }
        out.push('}');
    }
    out.push('}');
    Ok(())
}

/// Writes an export file directly (bulk loads from another system, synthetic registries for
/// benchmarks): each `create` appends a row and its chained event, exactly as the program would.
pub struct ChainWriter<W: Write> {
    out: W,
    actor: String,
    at: String,
    seq: i64,
    head: String,
    next_ids: HashMap<Entity, i64>,
    line: String,
}

impl<W: Write> ChainWriter<W> {
    pub fn new(out: W, actor: &str, at: &str) -> ChainWriter<W> {
        ChainWriter {
            out,
            actor: actor.to_owned(),
            at: at.to_owned(),
            seq: 0,
            head: GENESIS.to_owned(),
            next_ids: HashMap::new(),
            line: String::new(),
        }
    }

    /// Appends a row (`values` = every column but `id`) and its event; returns the row's id.
    pub fn create(&mut self, entity: Entity, values: Vec<Val>) -> Result<i64> {
        let id = {
            let n = self.next_ids.entry(entity).or_insert(1);
            *n += 1;
            *n - 1
        };
        let mut row = Vec::with_capacity(values.len() + 1);
        row.push(Val::int(id));
        row.extend(values);
        if row.len() != entity.columns().len() {
            return Err(StoreError::Corrupt(format!(
                "{}: wrong number of values",
                entity.name()
            )));
        }
        let mut e = AuditEvent {
            seq: self.seq + 1,
            at: self.at.clone(),
            actor: self.actor.clone(),
            action: CREATE.to_owned(),
            entity: entity.name().to_owned(),
            entity_id: id,
            payload_hash: audit::row_hash(entity, &row),
            prev_hash: self.head.clone(),
            hash: String::new(),
        };
        e.hash = audit::event_hash(&e);
        self.line.clear();
        export_line(&mut self.line, &e, Some(&row))?;
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())?;
        self.seq = e.seq;
        self.head = e.hash;
        Ok(id)
    }

    pub fn finish(mut self) -> Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
