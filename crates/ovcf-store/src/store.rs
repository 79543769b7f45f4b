//! The registry: opening and migrating the database, the single write path ([`Writer`]) and the
//! commands of contract registry-v1.

use std::collections::HashMap;

use ovcf_core::report::FollowUp;
use ovcf_core::request::{Drug, Level};
use ovcf_core::{AssessmentReport, AssessmentRequest, Date};
use serde::Serialize;
use serde_json::{Value, json};

use crate::audit::{self, AuditEvent, CREATE, GENESIS, READ};
use crate::db::{self, Engine, Pool, Tx, Ty, Val};
use crate::schema::Entity;
use crate::{InputError, Result, StoreError};

/// The schema version this program writes. A database with a higher version is refused untouched.
pub const SCHEMA_VERSION: i64 = 3;

struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "registry",
        sqlite: include_str!("../migrations/sqlite/0001_registry.sql"),
        postgres: include_str!("../migrations/postgres/0001_registry.sql"),
    },
    Migration {
        version: 2,
        description: "accounts tables; audited patient searches and service events",
        sqlite: include_str!("../migrations/sqlite/0002_accounts_audit.sql"),
        postgres: include_str!("../migrations/postgres/0002_accounts_audit.sql"),
    },
    Migration {
        version: 3,
        description: "users can be disabled",
        sqlite: include_str!("../migrations/sqlite/0003_disable_users.sql"),
        postgres: include_str!("../migrations/postgres/0003_disable_users.sql"),
    },
];

/// Days of grace after `due` before an open task is overdue (contract).
pub const OVERDUE_GRACE_DAYS: i64 = 14;

/// A handle on one registry database.
pub struct Store {
    pub(crate) pool: Pool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Patient {
    pub id: i64,
    pub mrn: String,
    pub sex: String,
    pub birth_date: String,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewPatient {
    pub mrn: String,
    pub sex: String,
    pub birth_date: String,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    pub id: i64,
    pub mrn: String,
    pub due: String,
    pub items: Value,
    /// `open` (not yet due), `due`, `overdue`, `done` or `superseded`; derived from dates.
    pub status: String,
    pub at_months: i64,
    pub from: String,
    pub assessment_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordedAssessment {
    pub assessment_id: i64,
    pub plan: String,
    pub tasks: Vec<TaskView>,
    /// Open tasks of earlier assessments that this plan replaced.
    pub superseded_tasks: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_fracture_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskFilter {
    Due,
    Overdue,
    Open,
    Done,
    All,
}

#[derive(Debug, Clone)]
pub struct MedicationInput {
    pub drug: String,
    pub start: String,
    pub end: Option<String>,
    pub last_dose: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasurementKind {
    DxaLumbarT,
    DxaFemoralNeckT,
    DxaTotalHipT,
    Qct,
    Vas,
    Egfr,
    P1np,
    Ctx,
}

impl MeasurementKind {
    pub fn name(self) -> &'static str {
        match self {
            MeasurementKind::DxaLumbarT => "dxa_lumbar_t",
            MeasurementKind::DxaFemoralNeckT => "dxa_femoral_neck_t",
            MeasurementKind::DxaTotalHipT => "dxa_total_hip_t",
            MeasurementKind::Qct => "qct",
            MeasurementKind::Vas => "vas",
            MeasurementKind::Egfr => "egfr",
            MeasurementKind::P1np => "p1np",
            MeasurementKind::Ctx => "ctx",
        }
    }

    /// The command-line option that carries it.
    pub fn option(self) -> String {
        format!("--{}", self.name().replace('_', "-"))
    }

    /// Accepted range (the same as the AssessmentRequest's).
    pub fn range(self) -> (f64, f64) {
        match self {
            MeasurementKind::DxaLumbarT
            | MeasurementKind::DxaFemoralNeckT
            | MeasurementKind::DxaTotalHipT => (-7.0, 5.0),
            MeasurementKind::Qct => (0.0, 400.0),
            MeasurementKind::Vas => (0.0, 10.0),
            MeasurementKind::Egfr => (0.0, 200.0),
            MeasurementKind::P1np => (0.0, 2000.0),
            MeasurementKind::Ctx => (0.0, 10.0),
        }
    }
}

#[derive(Debug, Clone)]
pub struct OutcomeInput {
    pub date: String,
    pub kind: String,
    pub level: Option<String>,
}

pub const OUTCOME_TYPES: [&str; 4] = [
    "new_fracture",
    "death",
    "lost_to_follow_up",
    "declined_treatment",
];

// ---------------------------------------------------------------------------------------------
// Validation helpers

pub(crate) fn parse_date(path: &str, s: &str) -> Result<Date> {
    let d = Date::parse(s.trim())
        .ok_or_else(|| StoreError::invalid(path, format!("'{s}' is not a date YYYY-MM-DD")))?;
    if !(1900..=2200).contains(&d.year()) {
        return Err(StoreError::invalid(
            path,
            format!("{d} is outside 1900–2200"),
        ));
    }
    Ok(d)
}

fn check_text(path: &str, s: &str, max: usize, errors: &mut Vec<InputError>) {
    if s.chars().count() > max {
        errors.push(InputError {
            path: path.into(),
            message: format!("longer than {max} characters"),
        });
    }
    if s.chars().any(char::is_control) {
        errors.push(InputError {
            path: path.into(),
            message: "contains control characters".into(),
        });
    }
}

fn level_no(level: Level) -> i64 {
    level as i64 + 1
}

pub(crate) fn check_actor(actor: &str) -> Result<()> {
    let mut errors = Vec::new();
    if actor.trim().is_empty() {
        errors.push(InputError {
            path: "--user".into(),
            message: "empty; give --user NAME or set USER".into(),
        });
    }
    check_text("--user", actor, 100, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(errors))
    }
}

// ---------------------------------------------------------------------------------------------
// The write path

/// The one write path: a write transaction holding the registry's writer lock, in which every row
/// is inserted together with its audit event. Dropping a `Writer` without `commit` rolls back.
pub(crate) struct Writer {
    pub(crate) tx: Tx,
    actor: String,
    at: String,
    pub(crate) seq: i64,
    pub(crate) head: String,
    next_ids: HashMap<Entity, i64>,
}

impl Writer {
    pub(crate) async fn begin(pool: &Pool, actor: &str) -> Result<Writer> {
        let mut tx = pool.write().await?;
        let (seq, head) = chain_head(&mut tx).await?;
        let mut w = Writer {
            tx,
            actor: actor.to_owned(),
            at: audit::now_utc(),
            seq,
            head,
            next_ids: HashMap::new(),
        };
        if !actor.is_empty() {
            let known =
                w.tx.fetch_opt(
                    "SELECT id FROM users WHERE name = $1",
                    &[Val::text(actor)],
                    &[Ty::Int],
                )
                .await?;
            if known.is_none() {
                w.insert(Entity::User, vec![Val::text(actor)]).await?;
            }
        }
        Ok(w)
    }

    /// A writer for an import: the events come from the file, so no user row is added.
    pub(crate) async fn begin_import(pool: &Pool) -> Result<Writer> {
        Writer::begin(pool, "").await
    }

    async fn next_id(&mut self, entity: Entity) -> Result<i64> {
        let next = match self.next_ids.get(&entity) {
            Some(n) => *n,
            None => {
                let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {}", entity.table());
                self.tx.fetch_i64(&sql, &[]).await? + 1
            }
        };
        self.next_ids.insert(entity, next + 1);
        Ok(next)
    }

    /// Inserts one row (`values` = every column but `id`) and its audit event; returns the id.
    pub(crate) async fn insert(&mut self, entity: Entity, values: Vec<Val>) -> Result<i64> {
        if values.len() + 1 != entity.columns().len() {
            return Err(StoreError::Corrupt(format!(
                "{}: {} values for {} columns",
                entity.name(),
                values.len() + 1,
                entity.columns().len()
            )));
        }
        let id = self.next_id(entity).await?;
        let mut row = Vec::with_capacity(values.len() + 1);
        row.push(Val::int(id));
        row.extend(values);
        let sql = entity.insert_sql(1, self.tx.engine());
        self.tx.exec(&sql, &row).await?;
        let payload_hash = audit::row_hash(entity, &row);
        self.append(CREATE, entity, id, payload_hash).await?;
        Ok(id)
    }

    /// Records that the actor looked at a row (no data written).
    pub(crate) async fn audit_read(&mut self, entity: Entity, row: &[Val]) -> Result<()> {
        let id = row.first().and_then(Val::as_i64).unwrap_or_default();
        self.append(READ, entity, id, audit::row_hash(entity, row))
            .await
    }

    async fn append(
        &mut self,
        action: &str,
        entity: Entity,
        entity_id: i64,
        payload_hash: String,
    ) -> Result<()> {
        let mut e = AuditEvent {
            seq: self.seq + 1,
            at: self.at.clone(),
            actor: self.actor.clone(),
            action: action.to_owned(),
            entity: entity.name().to_owned(),
            entity_id,
            payload_hash,
            prev_hash: self.head.clone(),
            hash: String::new(),
        };
        e.hash = audit::event_hash(&e);
        let sql = format!(
            "INSERT INTO audit_events ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            audit::EVENT_COLUMNS
        );
        self.tx.exec(&sql, &audit::event_vals(&e)).await?;
        self.seq = e.seq;
        self.head = e.hash;
        Ok(())
    }

    /// Bulk insert of already-verified rows and their events (import). Rows are inserted entity by
    /// entity in dependency order, then the events, all in this transaction. The rows' values are
    /// moved into the statements (`rows` is left with empty rows).
    pub(crate) async fn insert_verbatim(
        &mut self,
        rows: &mut [(Entity, Vec<Val>)],
        events: &[AuditEvent],
    ) -> Result<()> {
        rows.sort_by_key(|(e, _)| *e);
        let mut i = 0;
        while i < rows.len() {
            let entity = rows[i].0;
            let width = entity.columns().len();
            // Stay well below SQLite's 32766 and PostgreSQL's 65535 bound parameters.
            let per_stmt = (30_000 / width).clamp(1, 500);
            let mut j = i;
            while j < rows.len() && rows[j].0 == entity && j - i < per_stmt {
                j += 1;
            }
            let args: Vec<Val> = rows[i..j]
                .iter_mut()
                .flat_map(|(_, r)| std::mem::take(r))
                .collect();
            let sql = entity.insert_sql(j - i, self.tx.engine());
            self.tx.exec_owned(&sql, args).await?;
            i = j;
        }
        for chunk in events.chunks(3000) {
            let mut sql = format!(
                "INSERT INTO audit_events ({}) VALUES ",
                audit::EVENT_COLUMNS
            );
            let mut args = Vec::with_capacity(chunk.len() * 9);
            for (k, e) in chunk.iter().enumerate() {
                if k > 0 {
                    sql.push_str(", ");
                }
                let engine = self.tx.engine();
                let marks: Vec<String> = (1..=9)
                    .map(|c| crate::schema::placeholder(engine, k * 9 + c))
                    .collect();
                sql.push('(');
                sql.push_str(&marks.join(", "));
                sql.push(')');
                args.extend(audit::event_vals(e));
            }
            self.tx.exec_owned(&sql, args).await?;
        }
        if let Some(last) = events.last() {
            self.seq = last.seq;
            self.head = last.hash.clone();
        }
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await
    }
}

pub(crate) async fn chain_head(tx: &mut Tx) -> Result<(i64, String)> {
    let head = tx
        .fetch_opt(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
            &[],
            &[Ty::Int, Ty::Text],
        )
        .await?;
    Ok(match head {
        Some(r) => (
            r[0].as_i64().unwrap_or(0),
            r[1].as_str().unwrap_or(GENESIS).to_owned(),
        ),
        None => (0, GENESIS.to_owned()),
    })
}

// ---------------------------------------------------------------------------------------------
// Rows as JSON

/// A row as a JSON object (JSON-document columns parsed).
pub(crate) fn row_json(entity: Entity, row: &[Val]) -> Value {
    let mut m = serde_json::Map::new();
    for ((name, _, is_json), v) in entity.columns().iter().zip(row) {
        let value = match (is_json, v.as_str()) {
            (true, Some(s)) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.into())),
            _ => v.to_json(),
        };
        m.insert((*name).to_owned(), value);
    }
    Value::Object(m)
}

async fn rows_where(tx: &mut Tx, entity: Entity, cond: &str, args: &[Val]) -> Result<Vec<Value>> {
    let sql = format!("{} WHERE {cond} ORDER BY id", entity.select_sql());
    let rows = tx.fetch(&sql, args, &entity.types()).await?;
    Ok(rows.iter().map(|r| row_json(entity, r)).collect())
}

fn patient_from(row: &[Val]) -> Patient {
    let s = |i: usize| row.get(i).and_then(Val::as_str).map(str::to_owned);
    Patient {
        id: row.first().and_then(Val::as_i64).unwrap_or_default(),
        mrn: s(1).unwrap_or_default(),
        sex: s(2).unwrap_or_default(),
        birth_date: s(3).unwrap_or_default(),
        name: s(4),
        phone: s(5),
    }
}

async fn patient_row(tx: &mut Tx, mrn: &str) -> Result<Vec<Val>> {
    let sql = format!("{} WHERE mrn = $1", Entity::Patient.select_sql());
    tx.fetch_opt(&sql, &[Val::text(mrn)], &Entity::Patient.types())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no patient with MRN '{mrn}'")))
}

const TASK_SELECT: &str = "SELECT t.id, p.mrn, t.due, t.items, t.at_months, t.from_date, t.assessment_id, c.kind, c.date, c.note \
     FROM tasks t JOIN patients p ON p.id = t.patient_id LEFT JOIN task_closures c ON c.task_id = t.id";
const TASK_TYPES: [Ty; 10] = [
    Ty::Int,
    Ty::Text,
    Ty::Text,
    Ty::Text,
    Ty::Int,
    Ty::Text,
    Ty::Int,
    Ty::Text,
    Ty::Text,
    Ty::Text,
];

fn task_view(r: &[Val], as_of: Date) -> TaskView {
    let s = |i: usize| r.get(i).and_then(Val::as_str).map(str::to_owned);
    let n = |i: usize| r.get(i).and_then(Val::as_i64).unwrap_or_default();
    let due = s(2).unwrap_or_default();
    let closure = s(7);
    let status = match closure.as_deref() {
        Some(kind) => kind.to_owned(),
        None => {
            let grace = as_of.add_days(-OVERDUE_GRACE_DAYS).to_string();
            if due < grace {
                "overdue".into()
            } else if due <= as_of.to_string() {
                "due".into()
            } else {
                "open".into()
            }
        }
    };
    TaskView {
        id: n(0),
        mrn: s(1).unwrap_or_default(),
        items: s(3)
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null),
        due,
        status,
        at_months: n(4),
        from: s(5).unwrap_or_default(),
        assessment_id: n(6),
        closed_on: s(8),
        note: s(9),
    }
}

// ---------------------------------------------------------------------------------------------
// The commands

impl Store {
    /// Opens (creating a SQLite file if absent) and migrates the registry.
    pub async fn open(url: &str) -> Result<Store> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating (`ovcf db migrate` reports what it applies).
    pub async fn connect(url: &str) -> Result<Store> {
        Ok(Store {
            pool: db::connect(url).await?,
        })
    }

    pub fn engine(&self) -> Engine {
        self.pool.engine()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The schema version recorded in the database (0 = empty database).
    pub async fn schema_version(&self) -> Result<i64> {
        let mut tx = self.pool.read().await?;
        let v = applied_versions(&mut tx).await?;
        tx.rollback().await?;
        Ok(v.iter().map(|(v, _)| *v).max().unwrap_or(0))
    }

    /// Applies the pending migrations; returns the versions applied now. A database with a newer
    /// schema version, or with a migration that differs from this program's, is refused before
    /// anything is written.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        let engine = self.pool.engine();
        let mut tx = self.pool.read().await?;
        let applied = applied_versions(&mut tx).await?;
        tx.rollback().await?;
        check_applied(&applied, engine)?;
        if engine == Engine::Sqlite {
            // Persistent for the file; done only after the version check.
            self.pool.exec_raw("PRAGMA journal_mode = WAL").await?;
        }
        let mut done = Vec::new();
        for m in MIGRATIONS {
            if applied.iter().any(|(v, _)| *v == m.version) {
                continue;
            }
            let mut tx = self.pool.write().await?;
            tx.exec(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
                &[],
            )
            .await?;
            // Another process may have migrated meanwhile.
            let again = applied_versions(&mut tx).await?;
            check_applied(&again, engine)?;
            if again.iter().any(|(v, _)| *v == m.version) {
                tx.rollback().await?;
                continue;
            }
            let sql = match engine {
                Engine::Sqlite => m.sqlite,
                Engine::Postgres => m.postgres,
            };
            tx.exec_raw(sql).await?;
            tx.exec(
                "INSERT INTO schema_migrations (version, description, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                &[
                    Val::int(m.version),
                    Val::text(m.description),
                    Val::text(checksum(sql)),
                    Val::text(audit::now_utc()),
                ],
            )
            .await?;
            tx.commit().await?;
            done.push(m.version);
        }
        Ok(done)
    }

    pub async fn add_patient(&self, actor: &str, p: NewPatient, today: Date) -> Result<Patient> {
        check_actor(actor)?;
        let mut errors = Vec::new();
        let mrn = p.mrn.trim().to_owned();
        if mrn.is_empty() {
            errors.push(InputError {
                path: "--mrn".into(),
                message: "empty".into(),
            });
        }
        check_text("--mrn", &mrn, 64, &mut errors);
        if !matches!(p.sex.as_str(), "female" | "male") {
            errors.push(InputError {
                path: "--sex".into(),
                message: format!("'{}' is not one of female, male", p.sex),
            });
        }
        match parse_date("--birth-date", &p.birth_date) {
            Ok(d) if d > today => errors.push(InputError {
                path: "--birth-date".into(),
                message: "in the future".into(),
            }),
            Ok(_) => {}
            Err(StoreError::Invalid(e)) => errors.extend(e),
            Err(e) => return Err(e),
        }
        if let Some(n) = &p.name {
            check_text("--name", n, 200, &mut errors);
        }
        if let Some(ph) = &p.phone {
            check_text("--phone", ph, 40, &mut errors);
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let birth = parse_date("--birth-date", &p.birth_date)?.to_string();
        let mut w = Writer::begin(&self.pool, actor).await?;
        let exists =
            w.tx.fetch_i64(
                "SELECT COUNT(*) FROM patients WHERE mrn = $1",
                &[Val::text(&mrn)],
            )
            .await?;
        if exists > 0 {
            return Err(StoreError::Conflict(format!(
                "--mrn: a patient with MRN '{mrn}' already exists; nothing was changed"
            )));
        }
        let values = vec![
            Val::text(&mrn),
            Val::text(&p.sex),
            Val::text(&birth),
            Val::opt_text(p.name.clone()),
            Val::opt_text(p.phone.clone()),
        ];
        let id = w.insert(Entity::Patient, values).await?;
        w.commit().await?;
        Ok(Patient {
            id,
            mrn,
            sex: p.sex,
            birth_date: birth,
            name: p.name,
            phone: p.phone,
        })
    }

    /// Lists (no `search`) or searches patients by part of an MRN or name. The search is audited:
    /// a `patient_search` row records a SHA-256 of the lower-cased search text (never the text,
    /// which may be a name), how many patients were returned and their ids, written by `actor`'s
    /// event in the same transaction as the read.
    pub async fn list_patients(&self, actor: &str, search: Option<&str>) -> Result<Vec<Patient>> {
        check_actor(actor)?;
        let mut w = Writer::begin(&self.pool, actor).await?;
        let needle = search.map(str::to_lowercase);
        let rows = match &needle {
            Some(s) => {
                let pattern = format!("%{s}%");
                let sql = format!(
                    "{} WHERE LOWER(mrn) LIKE $1 OR LOWER(COALESCE(name, '')) LIKE $1 ORDER BY mrn",
                    Entity::Patient.select_sql()
                );
                w.tx.fetch(&sql, &[Val::text(pattern)], &Entity::Patient.types())
                    .await?
            }
            None => {
                let sql = format!("{} ORDER BY mrn", Entity::Patient.select_sql());
                w.tx.fetch(&sql, &[], &Entity::Patient.types()).await?
            }
        };
        let patients: Vec<Patient> = rows.iter().map(|r| patient_from(r)).collect();
        let ids: Vec<i64> = patients.iter().map(|p| p.id).collect();
        w.insert(
            Entity::PatientSearch,
            vec![
                Val::opt_text(needle.as_deref().map(search_digest)),
                Val::int(i64::try_from(ids.len()).unwrap_or(i64::MAX)),
                Val::text(serde_json::to_string(&ids)?),
            ],
        )
        .await?;
        w.commit().await?;
        Ok(patients)
    }

    /// The whole record of one patient; the read is audited (who looked at whom).
    pub async fn show_patient(&self, actor: &str, mrn: &str, today: Date) -> Result<Value> {
        check_actor(actor)?;
        let mut w = Writer::begin(&self.pool, actor).await?;
        let prow = patient_row(&mut w.tx, mrn).await?;
        let pid = prow[0].clone();
        w.audit_read(Entity::Patient, &prow).await?;
        let tx = &mut w.tx;
        let by_patient = "patient_id = $1";
        let fractures = rows_where(
            tx,
            Entity::IndexFracture,
            by_patient,
            std::slice::from_ref(&pid),
        )
        .await?;
        let assessments = rows_where(
            tx,
            Entity::Assessment,
            by_patient,
            std::slice::from_ref(&pid),
        )
        .await?;
        let procedures = rows_where(
            tx,
            Entity::Procedure,
            by_patient,
            std::slice::from_ref(&pid),
        )
        .await?;
        let medications = rows_where(
            tx,
            Entity::Medication,
            "patient_id = $1 AND id IN (SELECT id FROM current_medications)",
            std::slice::from_ref(&pid),
        )
        .await?;
        let measurements = rows_where(
            tx,
            Entity::Measurement,
            by_patient,
            std::slice::from_ref(&pid),
        )
        .await?;
        let events = rows_where(
            tx,
            Entity::OutcomeEvent,
            by_patient,
            std::slice::from_ref(&pid),
        )
        .await?;
        let sql = format!("{TASK_SELECT} WHERE t.patient_id = $1 ORDER BY t.due, t.id");
        let tasks: Vec<TaskView> = tx
            .fetch(&sql, &[pid], &TASK_TYPES)
            .await?
            .iter()
            .map(|r| task_view(r, today))
            .collect();
        w.commit().await?;
        Ok(json!({
            "patient": patient_from(&prow),
            "index_fractures": fractures,
            "assessments": assessments,
            "procedures": procedures,
            "medications": medications,
            "measurements": measurements,
            "events": events,
            "tasks": tasks,
        }))
    }

    /// Runs the engine on an AssessmentRequest and stores request + report + versions, the index
    /// fracture (first assessment of an episode) and the follow-up tasks of `report.follow_up`.
    /// Open tasks of earlier assessments are closed as `superseded` by the new plan (their
    /// schedule came from an older picture of the patient; the newest assessment is the plan of
    /// record). Completed tasks are never touched.
    pub async fn record_assessment(
        &self,
        actor: &str,
        mrn: &str,
        request_json: &str,
        today: Date,
    ) -> Result<RecordedAssessment> {
        check_actor(actor)?;
        let patient = {
            let mut tx = self.pool.read().await?;
            let p = patient_row(&mut tx, mrn).await;
            tx.rollback().await?;
            patient_from(&p?)
        };
        let valid = ovcf_core::validate_json(request_json, today).map_err(core_errors)?;
        check_sex(&patient, valid.request())?;
        let as_of = valid.as_of();
        let report = ovcf_core::assess_valid(&valid)
            .map_err(|e| StoreError::invalid("", format!("the engine refused: {e}")))?;
        let mut request = valid.into_request();
        request.as_of = Some(as_of);
        let mut w = Writer::begin(&self.pool, actor).await?;
        let rec = store_assessment(&mut w, &patient, &request, &report, None, today).await?;
        w.commit().await?;
        Ok(rec)
    }

    /// Stores a performed vertebroplasty/kyphoplasty (the `procedure` object of assessment-v1) and
    /// re-derives the follow-up: the engine is re-run on the patient's last stored request with
    /// this procedure, phase `post_procedure` and `as_of` moved to the procedure date (onset days
    /// shifted with it); the result is stored as a new assessment, which re-plans the tasks.
    pub async fn record_procedure(
        &self,
        actor: &str,
        mrn: &str,
        procedure_json: &str,
        today: Date,
    ) -> Result<RecordedAssessment> {
        check_actor(actor)?;
        let proc_value: Value = serde_json::from_str(procedure_json)
            .map_err(|e| StoreError::invalid("procedure", format!("not valid JSON: {e}")))?;
        let Some(obj) = proc_value.as_object() else {
            return Err(StoreError::invalid("procedure", "expected a JSON object"));
        };
        let date_text = obj.get("date").and_then(Value::as_str).ok_or_else(|| {
            StoreError::invalid("procedure.date", "required for a performed procedure")
        })?;
        let proc_date = parse_date("procedure.date", date_text)?;
        let (patient, last) = {
            let mut tx = self.pool.read().await?;
            let p = patient_row(&mut tx, mrn).await;
            let p = match p {
                Ok(p) => patient_from(&p),
                Err(e) => {
                    tx.rollback().await?;
                    return Err(e);
                }
            };
            let last = tx
                .fetch_opt(
                    "SELECT request FROM assessments WHERE patient_id = $1 ORDER BY id DESC LIMIT 1",
                    &[Val::int(p.id)],
                    &[Ty::Text],
                )
                .await?;
            tx.rollback().await?;
            (p, last)
        };
        let Some(last) = last.and_then(|r| r.first().and_then(Val::as_str).map(str::to_owned))
        else {
            return Err(StoreError::NotFound(format!(
                "MRN '{mrn}': no assessment recorded; record an assessment before its procedure"
            )));
        };
        let mut req: Value = serde_json::from_str(&last)
            .map_err(|e| StoreError::Corrupt(format!("stored request: {e}")))?;
        let old_as_of = req
            .get("as_of")
            .and_then(Value::as_str)
            .and_then(Date::parse)
            .unwrap_or(proc_date);
        let as_of = if proc_date > old_as_of {
            proc_date
        } else {
            old_as_of
        };
        let shift = old_as_of.days_until(as_of);
        if let Some(fr) = req.get_mut("fractures").and_then(Value::as_array_mut) {
            for f in fr {
                if let Some(d) = f.get("onset_days").and_then(Value::as_i64) {
                    f["onset_days"] = json!(d + shift);
                }
            }
        }
        req["as_of"] = json!(as_of.to_string());
        req["phase"] = json!("post_procedure");
        req["procedure"] = proc_value;
        let valid = ovcf_core::validate_value(&req, today).map_err(core_errors)?;
        let report = ovcf_core::assess_valid(&valid)
            .map_err(|e| StoreError::invalid("procedure", format!("the engine refused: {e}")))?;
        let request = valid.into_request();
        let Some(procedure) = request.procedure.clone() else {
            return Err(StoreError::invalid("procedure", "missing"));
        };
        let leakage: Vec<String> = procedure
            .cement_leakage
            .iter()
            .flatten()
            .map(enum_name)
            .collect();
        let mut w = Writer::begin(&self.pool, actor).await?;
        let proc_id = w
            .insert(
                Entity::Procedure,
                vec![
                    Val::int(patient.id),
                    Val::text(enum_name(&procedure.kind)),
                    Val::text(procedure.level.as_str()),
                    Val::int(level_no(procedure.level)),
                    Val::text(proc_date.to_string()),
                    Val::text(proc_date.add_months(12).to_string()),
                    Val::Real(procedure.cement_volume_ml),
                    Val::text(leakage.join(",")),
                    Val::text(serde_json::to_string(&procedure)?),
                ],
            )
            .await?;
        let rec =
            store_assessment(&mut w, &patient, &request, &report, Some(proc_id), today).await?;
        w.commit().await?;
        Ok(rec)
    }

    pub async fn record_medication(
        &self,
        actor: &str,
        mrn: &str,
        m: MedicationInput,
    ) -> Result<Value> {
        check_actor(actor)?;
        let mut errors = Vec::new();
        let drug: Option<Drug> = serde_json::from_value(Value::String(m.drug.clone())).ok();
        if drug.is_none() {
            errors.push(InputError {
                path: "--drug".into(),
                message: format!(
                    "unknown drug '{}' (the drug names of assessment-v1, e.g. zoledronic_acid)",
                    m.drug
                ),
            });
        }
        let mut date = |path: &str, s: Option<&String>| match s.map(|s| parse_date(path, s)) {
            Some(Ok(d)) => Some(d),
            Some(Err(StoreError::Invalid(e))) => {
                errors.extend(e);
                None
            }
            _ => None,
        };
        let start = date("--start", Some(&m.start));
        let end = date("--end", m.end.as_ref());
        let last_dose = date("--last-dose", m.last_dose.as_ref());
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            errors.push(InputError {
                path: "--end".into(),
                message: format!("{e} is before --start {s}"),
            });
        }
        if let (Some(s), Some(l)) = (start, last_dose)
            && l < s
        {
            errors.push(InputError {
                path: "--last-dose".into(),
                message: format!("{l} is before --start {s}"),
            });
        }
        let (Some(drug), Some(start), true) = (drug, start, errors.is_empty()) else {
            return Err(StoreError::Invalid(errors));
        };
        let mut w = Writer::begin(&self.pool, actor).await?;
        let patient = patient_from(&patient_row(&mut w.tx, mrn).await?);
        let sql = format!(
            "SELECT {} FROM current_medications WHERE patient_id = $1 AND drug = $2 AND start_date = $3",
            Entity::Medication.column_list()
        );
        let current =
            w.tx.fetch_opt(
                &sql,
                &[
                    Val::int(patient.id),
                    Val::text(drug.as_str()),
                    Val::text(start.to_string()),
                ],
                &Entity::Medication.types(),
            )
            .await?;
        let values = vec![
            Val::int(patient.id),
            Val::text(drug.as_str()),
            Val::int(i64::from(drug.is_antiosteoporosis())),
            Val::text(start.to_string()),
            Val::opt_text(end.map(|d| d.to_string())),
            Val::opt_text(last_dose.map(|d| d.to_string())),
        ];
        if let Some(cur) = &current
            && cur[1..7] == values[..]
        {
            // The same statement again: nothing to write.
            w.tx.rollback().await?;
            return Ok(row_json(Entity::Medication, cur));
        }
        let supersedes = current.as_ref().and_then(|c| c[0].as_i64());
        let mut values = values;
        values.push(Val::Int(supersedes));
        let id = w.insert(Entity::Medication, values.clone()).await?;
        w.commit().await?;
        let mut row = vec![Val::int(id)];
        row.extend(values);
        Ok(row_json(Entity::Medication, &row))
    }

    pub async fn record_measurements(
        &self,
        actor: &str,
        mrn: &str,
        date: &str,
        values: &[(MeasurementKind, f64)],
    ) -> Result<Value> {
        check_actor(actor)?;
        let mut errors = Vec::new();
        let date = match parse_date("--date", date) {
            Ok(d) => Some(d),
            Err(StoreError::Invalid(e)) => {
                errors.extend(e);
                None
            }
            Err(e) => return Err(e),
        };
        if values.is_empty() {
            errors.push(InputError {
                path: "--dxa-lumbar-t|--dxa-femoral-neck-t|--dxa-total-hip-t|--qct|--vas|--egfr|--p1np|--ctx".into(),
                message: "give at least one measurement".into(),
            });
        }
        for (kind, v) in values {
            let (lo, hi) = kind.range();
            if !v.is_finite() || *v < lo || *v > hi {
                errors.push(InputError {
                    path: kind.option(),
                    message: format!("{v} is outside {lo}–{hi}"),
                });
            }
        }
        let (Some(date), true) = (date, errors.is_empty()) else {
            return Err(StoreError::Invalid(errors));
        };
        let mut w = Writer::begin(&self.pool, actor).await?;
        let patient = patient_from(&patient_row(&mut w.tx, mrn).await?);
        let mut out = Vec::new();
        for (kind, v) in values {
            let vals = vec![
                Val::int(patient.id),
                Val::text(date.to_string()),
                Val::text(kind.name()),
                Val::Real(Some(*v)),
            ];
            let id = w.insert(Entity::Measurement, vals.clone()).await?;
            let mut row = vec![Val::int(id)];
            row.extend(vals);
            out.push(row_json(Entity::Measurement, &row));
        }
        w.commit().await?;
        Ok(json!({ "measurements": out }))
    }

    pub async fn record_event(&self, actor: &str, mrn: &str, ev: OutcomeInput) -> Result<Value> {
        check_actor(actor)?;
        let mut errors = Vec::new();
        let date = match parse_date("--date", &ev.date) {
            Ok(d) => Some(d),
            Err(StoreError::Invalid(e)) => {
                errors.extend(e);
                None
            }
            Err(e) => return Err(e),
        };
        if !OUTCOME_TYPES.contains(&ev.kind.as_str()) {
            errors.push(InputError {
                path: "--type".into(),
                message: format!("'{}' is not one of {}", ev.kind, OUTCOME_TYPES.join(", ")),
            });
        }
        let level = match ev.level.as_deref().map(|l| (l, Level::parse(l.trim()))) {
            None => None,
            Some((_, Some(l))) => Some(l),
            Some((l, None)) => {
                errors.push(InputError {
                    path: "--level".into(),
                    message: format!("'{l}' is not a vertebral level T1–L5"),
                });
                None
            }
        };
        let (Some(date), true) = (date, errors.is_empty()) else {
            return Err(StoreError::Invalid(errors));
        };
        let mut w = Writer::begin(&self.pool, actor).await?;
        let patient = patient_from(&patient_row(&mut w.tx, mrn).await?);
        let vals = vec![
            Val::int(patient.id),
            Val::text(date.to_string()),
            Val::text(&ev.kind),
            Val::opt_text(level.map(|l| l.as_str())),
            Val::Int(level.map(level_no)),
        ];
        let id = w.insert(Entity::OutcomeEvent, vals.clone()).await?;
        w.commit().await?;
        let mut row = vec![Val::int(id)];
        row.extend(vals);
        Ok(row_json(Entity::OutcomeEvent, &row))
    }

    /// The follow-up worklist across patients; status derived from `as_of`.
    pub async fn tasks(&self, as_of: Date, filter: TaskFilter) -> Result<Vec<TaskView>> {
        let grace = as_of.add_days(-OVERDUE_GRACE_DAYS).to_string();
        let (cond, args) = match filter {
            TaskFilter::Overdue => ("c.id IS NULL AND t.due < $1", vec![Val::text(grace)]),
            TaskFilter::Due => (
                "c.id IS NULL AND t.due >= $1 AND t.due <= $2",
                vec![Val::text(grace), Val::text(as_of.to_string())],
            ),
            TaskFilter::Open => ("c.id IS NULL", vec![]),
            TaskFilter::Done => ("c.kind = 'done'", vec![]),
            TaskFilter::All => ("1 = 1", vec![]),
        };
        let sql = format!("{TASK_SELECT} WHERE {cond} ORDER BY t.due, t.id");
        let mut tx = self.pool.read().await?;
        let rows = tx.fetch(&sql, &args, &TASK_TYPES).await?;
        tx.rollback().await?;
        Ok(rows.iter().map(|r| task_view(r, as_of)).collect())
    }

    pub async fn task_done(
        &self,
        actor: &str,
        id: i64,
        date: Option<&str>,
        note: Option<&str>,
        today: Date,
    ) -> Result<TaskView> {
        check_actor(actor)?;
        let date = match date {
            Some(d) => parse_date("--date", d)?,
            None => today,
        };
        if let Some(n) = note {
            let mut errors = Vec::new();
            check_text("--note", n, 2000, &mut errors);
            if !errors.is_empty() {
                return Err(StoreError::Invalid(errors));
            }
        }
        let mut w = Writer::begin(&self.pool, actor).await?;
        let sql = format!("{TASK_SELECT} WHERE t.id = $1");
        let row =
            w.tx.fetch_opt(&sql, &[Val::int(id)], &TASK_TYPES)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("ID: no task {id}")))?;
        let view = task_view(&row, date);
        if view.closed_on.is_some() {
            return Err(StoreError::Conflict(format!(
                "ID: task {id} is already {}",
                view.status
            )));
        }
        if date.to_string() < view.from {
            return Err(StoreError::invalid(
                "--date",
                format!("{date} is before the task was planned ({})", view.from),
            ));
        }
        w.insert(
            Entity::TaskClosure,
            vec![
                Val::int(id),
                Val::text("done"),
                Val::text(date.to_string()),
                Val::opt_text(note),
                Val::Int(None),
            ],
        )
        .await?;
        w.commit().await?;
        Ok(TaskView {
            status: "done".into(),
            closed_on: Some(date.to_string()),
            note: note.map(str::to_owned),
            ..view
        })
    }
}

fn enum_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

fn core_errors(errors: Vec<ovcf_core::FieldError>) -> StoreError {
    StoreError::Invalid(
        errors
            .into_iter()
            .map(|e| InputError {
                path: e.path,
                message: e.message,
            })
            .collect(),
    )
}

fn check_sex(patient: &Patient, request: &AssessmentRequest) -> Result<()> {
    let sex = enum_name(&request.patient.sex);
    if sex != patient.sex {
        return Err(StoreError::invalid(
            "patient.sex",
            format!(
                "'{sex}' but the registry has MRN '{}' as {}",
                patient.mrn, patient.sex
            ),
        ));
    }
    Ok(())
}

/// The date of the index fracture an assessment describes: `as_of` minus the longest known onset.
fn episode_date(request: &AssessmentRequest, as_of: Date) -> Date {
    let onset = request
        .fractures
        .iter()
        .filter_map(|f| f.onset_days)
        .max()
        .unwrap_or(0);
    as_of.add_days(-i64::from(onset))
}

/// A new assessment opens a new index fracture when the patient has none, or when its fracture
/// date is more than a year after the latest one (a new episode).
const NEW_EPISODE_AFTER_DAYS: i64 = 365;

async fn store_assessment(
    w: &mut Writer,
    patient: &Patient,
    request: &AssessmentRequest,
    report: &AssessmentReport,
    procedure_id: Option<i64>,
    today: Date,
) -> Result<RecordedAssessment> {
    let as_of = report.as_of;
    let therapy = report
        .pharmacotherapy
        .recommended
        .iter()
        .any(|d| d.is_antiosteoporosis());
    let assessment_id = w
        .insert(
            Entity::Assessment,
            vec![
                Val::int(patient.id),
                Val::Int(procedure_id),
                Val::text(as_of.to_string()),
                Val::text(&report.phase),
                Val::text(report.treatment.plan.as_str()),
                Val::int(i64::from(therapy)),
                Val::text(&report.engine_version),
                Val::text(&report.knowledge_version),
                Val::text(serde_json::to_string(request)?),
                Val::text(serde_json::to_string(report)?),
            ],
        )
        .await?;
    // Index fracture.
    let date = episode_date(request, as_of);
    let latest =
        w.tx.fetch_opt(
            "SELECT MAX(index_date) FROM index_fractures WHERE patient_id = $1",
            &[Val::int(patient.id)],
            &[Ty::Text],
        )
        .await?
        .and_then(|r| r.first().and_then(Val::as_str).and_then(Date::parse));
    let new_episode = match latest {
        None => true,
        Some(l) => l.days_until(date) > NEW_EPISODE_AFTER_DAYS,
    };
    let mut index_fracture_id = None;
    if new_episode {
        let levels: Vec<&str> = request.fractures.iter().map(|f| f.level.as_str()).collect();
        index_fracture_id = Some(
            w.insert(
                Entity::IndexFracture,
                vec![
                    Val::int(patient.id),
                    Val::int(assessment_id),
                    Val::text(date.to_string()),
                    Val::text(levels.join(",")),
                    Val::text(date.add_days(90).to_string()),
                    Val::text(date.add_days(16 * 7).to_string()),
                    Val::text(date.add_days(52 * 7).to_string()),
                    Val::text(date.add_months(10).to_string()),
                    Val::text(date.add_months(12).to_string()),
                    Val::text(date.add_months(14).to_string()),
                ],
            )
            .await?,
        );
    }
    // Re-plan: open tasks of earlier assessments are superseded by this plan.
    let open = w
        .tx
        .fetch(
            "SELECT t.id FROM tasks t WHERE t.patient_id = $1 AND NOT EXISTS (SELECT 1 FROM task_closures c WHERE c.task_id = t.id) ORDER BY t.id",
            &[Val::int(patient.id)],
            &[Ty::Int],
        )
        .await?;
    let mut superseded = Vec::new();
    for r in open {
        let Some(tid) = r.first().and_then(Val::as_i64) else {
            continue;
        };
        w.insert(
            Entity::TaskClosure,
            vec![
                Val::int(tid),
                Val::text("superseded"),
                Val::text(as_of.to_string()),
                Val::Text(None),
                Val::int(assessment_id),
            ],
        )
        .await?;
        superseded.push(tid);
    }
    let mut tasks = Vec::new();
    for FollowUp {
        at_months,
        items,
        from,
        due,
        ..
    } in &report.follow_up
    {
        // Interim (revision 3): a dated drug action without a month count (a denosumab
        // transition, rule 11.21) is stored with the completed months from its anchor to its
        // due date until the task table allows a null `at_months`.
        let at_months = at_months.unwrap_or_else(|| from.months_until(*due).max(0) as u32);
        let at_months = &at_months;
        let items_text = serde_json::to_string(items)?;
        let id = w
            .insert(
                Entity::Task,
                vec![
                    Val::int(patient.id),
                    Val::int(assessment_id),
                    Val::int(i64::from(*at_months)),
                    Val::text(&items_text),
                    Val::text(from.to_string()),
                    Val::text(due.to_string()),
                ],
            )
            .await?;
        let row = [
            Val::int(id),
            Val::text(&patient.mrn),
            Val::text(due.to_string()),
            Val::text(items_text),
            Val::int(i64::from(*at_months)),
            Val::text(from.to_string()),
            Val::int(assessment_id),
            Val::Text(None),
            Val::Text(None),
            Val::Text(None),
        ];
        tasks.push(task_view(&row, today));
    }
    Ok(RecordedAssessment {
        assessment_id,
        plan: report.treatment.plan.as_str().to_owned(),
        tasks,
        superseded_tasks: superseded,
        index_fracture_id,
        procedure_id,
    })
}

async fn applied_versions(tx: &mut Tx) -> Result<Vec<(i64, String)>> {
    let exists_sql = match tx.engine() {
        Engine::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        }
        Engine::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        }
    };
    if tx.fetch_i64(exists_sql, &[]).await? == 0 {
        return Ok(Vec::new());
    }
    let rows = tx
        .fetch(
            "SELECT version, checksum FROM schema_migrations ORDER BY version",
            &[],
            &[Ty::Int, Ty::Text],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r[0].as_i64().unwrap_or_default(),
                r[1].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

fn check_applied(applied: &[(i64, String)], engine: Engine) -> Result<()> {
    if let Some(max) = applied.iter().map(|(v, _)| *v).max()
        && max > SCHEMA_VERSION
    {
        return Err(StoreError::SchemaTooNew {
            found: max,
            supported: SCHEMA_VERSION,
        });
    }
    for (v, sum) in applied {
        if let Some(m) = MIGRATIONS.iter().find(|m| m.version == *v) {
            let sql = match engine {
                Engine::Sqlite => m.sqlite,
                Engine::Postgres => m.postgres,
            };
            if checksum(sql) != *sum {
                return Err(StoreError::SchemaMismatch {
                    version: *v,
                    message: "checksum differs; the database was not changed".into(),
                });
            }
        }
    }
    Ok(())
}

/// The SHA-256 (hex) of a lower-cased search text, as recorded in `patient_searches`.
pub fn search_digest(lowercased: &str) -> String {
    use sha2::{Digest, Sha256};
    audit::hex(&Sha256::digest(lowercased.as_bytes()))
}

fn checksum(sql: &str) -> String {
    use sha2::{Digest, Sha256};
    audit::hex(&Sha256::digest(sql.as_bytes()))
}
