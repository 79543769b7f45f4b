//! The two engines behind one small interface: a typed value (`Val`), statements with `$1…$n`
//! placeholders (SQLite's driver in sqlx binds `$N` by number, so one SQL text serves both), and a
//! transaction that can execute and fetch. Only runtime queries; no compile-time `query!` macros,
//! which would tie the build to one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, Postgres};
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row, Transaction};

use crate::StoreError;

/// A column type of the logical schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Real,
    Text,
}

/// One typed, nullable value, as bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
}

impl Val {
    pub fn int(v: i64) -> Val {
        Val::Int(Some(v))
    }
    pub fn text(v: impl Into<String>) -> Val {
        Val::Text(Some(v.into()))
    }
    pub fn opt_text(v: Option<impl Into<String>>) -> Val {
        Val::Text(v.map(Into::into))
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Val::Int(v) => *v,
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Real(v) => *v,
            Val::Int(v) => v.map(|i| i as f64),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Text(v) => v.as_deref(),
            _ => None,
        }
    }
    /// The value as JSON (the canonical encoding hashes this form).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Val::Int(Some(i)) => serde_json::Value::from(*i),
            Val::Real(Some(f)) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Val::Text(Some(s)) => serde_json::Value::String(s.clone()),
            _ => serde_json::Value::Null,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
}

/// `sqlite:PATH` (created if absent) or `postgres://…`.
pub(crate) async fn connect(url: &str) -> Result<Pool, StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(StoreError::invalid("--db", "empty SQLite path"));
        }
        let opts = SqliteConnectOptions::from_str(&format!("sqlite:{path}"))
            .map_err(|e| StoreError::invalid("--db", e.to_string()))?
            .create_if_missing(true)
            // FULL: a commit fsyncs the WAL before it returns, so a write the program has reported as
            // done survives kill -9 *and* power loss (NORMAL would survive kill -9 but may lose the
            // last commits on power loss). WAL itself is switched on after the schema-version check.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            // Rows hold tens of kilobytes of JSON: bigger pages, shorter overflow chains (a new
            // database only; an existing file keeps its page size).
            .page_size(16_384)
            // A 64 MiB page cache per connection (default 2 MiB): the KPI query probes nine indexes
            // per index fracture, which then stay in memory instead of costing a pread each.
            .pragma("cache_size", "-65536");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        Ok(Pool::Sqlite(pool))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::invalid("--db", e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        Ok(Pool::Pg(pool))
    } else {
        Err(StoreError::invalid(
            "--db",
            "expected sqlite:PATH or postgres://USER@HOST:PORT/DB",
        ))
    }
}

impl Pool {
    pub(crate) fn engine(&self) -> Engine {
        match self {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Pg(_) => Engine::Postgres,
        }
    }

    /// A read transaction (a consistent snapshot on both engines).
    pub(crate) async fn read(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Pg(p) => Tx::Pg(
                p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?,
            ),
        })
    }

    /// A write transaction holding the registry's single writer lock: every write appends to the
    /// one audit chain, so writers are serialized (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a
    /// transaction-scoped advisory lock).
    pub(crate) async fn write(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Pg(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(4242001)")
                    .execute(&mut *tx)
                    .await?;
                Tx::Pg(tx)
            }
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Pg(p) => p.close().await,
        }
    }

    /// Statements outside a transaction (schema setup).
    pub(crate) async fn exec_raw(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            Pool::Sqlite(p) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                    .execute(p)
                    .await?;
            }
            Pool::Pg(p) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                    .execute(p)
                    .await?;
            }
        }
        Ok(())
    }
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Val::Int(v) => q.bind(*v),
                Val::Real(v) => q.bind(*v),
                Val::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }};
}

macro_rules! decode_row {
    ($row:expr, $tys:expr) => {{
        let row = $row;
        let mut out = Vec::with_capacity($tys.len());
        for (i, ty) in $tys.iter().enumerate() {
            out.push(match ty {
                Ty::Int => Val::Int(row.try_get::<Option<i64>, _>(i)?),
                Ty::Real => Val::Real(row.try_get::<Option<f64>, _>(i)?),
                Ty::Text => Val::Text(row.try_get::<Option<String>, _>(i)?),
            });
        }
        out
    }};
}

impl Tx {
    pub(crate) fn engine(&self) -> Engine {
        match self {
            Tx::Sqlite(_) => Engine::Sqlite,
            Tx::Pg(_) => Engine::Postgres,
        }
    }

    pub(crate) async fn exec(&mut self, sql: &str, args: &[Val]) -> Result<u64, StoreError> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(match self {
            Tx::Sqlite(tx) => bind_all!(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Pg(tx) => bind_all!(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    /// Like [`Tx::exec`], but moves the values into the statement (bulk inserts of large rows:
    /// no copy of each document).
    pub(crate) async fn exec_owned(
        &mut self,
        sql: &str,
        args: Vec<Val>,
    ) -> Result<u64, StoreError> {
        let sql = AssertSqlSafe(sql.to_owned());
        macro_rules! bind_owned {
            ($q:expr) => {{
                let mut q = $q;
                for a in args {
                    q = match a {
                        Val::Int(v) => q.bind(v),
                        Val::Real(v) => q.bind(v),
                        Val::Text(v) => q.bind(v),
                    };
                }
                q
            }};
        }
        Ok(match self {
            Tx::Sqlite(tx) => bind_owned!(sqlx::query(sql))
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Pg(tx) => bind_owned!(sqlx::query(sql))
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    pub(crate) async fn fetch(
        &mut self,
        sql: &str,
        args: &[Val],
        tys: &[Ty],
    ) -> Result<Vec<Vec<Val>>, StoreError> {
        let sql = AssertSqlSafe(sql.to_owned());
        let mut out = Vec::new();
        match self {
            Tx::Sqlite(tx) => {
                for row in bind_all!(sqlx::query(sql), args)
                    .fetch_all(&mut **tx)
                    .await?
                {
                    out.push(decode_row!(row, tys));
                }
            }
            Tx::Pg(tx) => {
                for row in bind_all!(sqlx::query(sql), args)
                    .fetch_all(&mut **tx)
                    .await?
                {
                    out.push(decode_row!(row, tys));
                }
            }
        }
        Ok(out)
    }

    pub(crate) async fn fetch_opt(
        &mut self,
        sql: &str,
        args: &[Val],
        tys: &[Ty],
    ) -> Result<Option<Vec<Val>>, StoreError> {
        Ok(self.fetch(sql, args, tys).await?.into_iter().next())
    }

    pub(crate) async fn fetch_i64(&mut self, sql: &str, args: &[Val]) -> Result<i64, StoreError> {
        Ok(self
            .fetch_opt(sql, args, &[Ty::Int])
            .await?
            .and_then(|r| r.first().and_then(Val::as_i64))
            .unwrap_or(0))
    }

    /// Several statements at once (a migration file), inside this transaction.
    pub(crate) async fn exec_raw(&mut self, sql: &str) -> Result<(), StoreError> {
        let sql = AssertSqlSafe(sql.to_owned());
        match self {
            Tx::Sqlite(tx) => {
                sqlx::raw_sql(sql).execute(&mut **tx).await?;
            }
            Tx::Pg(tx) => {
                sqlx::raw_sql(sql).execute(&mut **tx).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Pg(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Pg(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// Whole days from `a` to `b` (dates as ISO text), in each engine's dialect.
pub(crate) fn days_between(engine: Engine, a: &str, b: &str) -> String {
    match engine {
        Engine::Sqlite => format!("CAST(julianday({b}) - julianday({a}) AS INTEGER)"),
        Engine::Postgres => format!("(({b})::date - ({a})::date)"),
    }
}
