//! The audited entities: table, columns (in hashing order) and which columns hold JSON documents.

use crate::db::{Engine, Ty};

/// The `n`th (1-based) bind parameter of a statement whose parameters are all in order. SQLite gets
/// anonymous `?`: sqlx looks up every parameter's *name*, which SQLite answers by a linear scan, so
/// thousands of `$N` in one bulk INSERT cost O(n²).
pub fn placeholder(engine: Engine, n: usize) -> String {
    match engine {
        Engine::Sqlite => "?".to_owned(),
        Engine::Postgres => format!("${n}"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    User,
    Patient,
    Procedure,
    Assessment,
    IndexFracture,
    Medication,
    Measurement,
    OutcomeEvent,
    Task,
    TaskClosure,
    /// A search or listing of patients (who looked for whom, and what they were shown).
    PatientSearch,
    /// A change to the service's users, API tokens or CDS clients, or a stored CDS feedback item.
    ServiceEvent,
}

/// One column: name, type, and whether the text is a JSON document (exported as JSON, not a string).
pub type Col = (&'static str, Ty, bool);

const I: Ty = Ty::Int;
const R: Ty = Ty::Real;
const T: Ty = Ty::Text;

impl Entity {
    /// In dependency order: a row only refers to rows of entities listed before it (or its own).
    pub const ALL: [Entity; 12] = [
        Entity::User,
        Entity::Patient,
        Entity::Procedure,
        Entity::Assessment,
        Entity::IndexFracture,
        Entity::Medication,
        Entity::Measurement,
        Entity::OutcomeEvent,
        Entity::Task,
        Entity::TaskClosure,
        Entity::PatientSearch,
        Entity::ServiceEvent,
    ];

    /// The name in audit events and export lines.
    pub fn name(self) -> &'static str {
        match self {
            Entity::User => "user",
            Entity::Patient => "patient",
            Entity::Procedure => "procedure",
            Entity::Assessment => "assessment",
            Entity::IndexFracture => "index_fracture",
            Entity::Medication => "medication",
            Entity::Measurement => "measurement",
            Entity::OutcomeEvent => "outcome_event",
            Entity::Task => "task",
            Entity::TaskClosure => "task_closure",
            Entity::PatientSearch => "patient_search",
            Entity::ServiceEvent => "service_event",
        }
    }

    pub fn parse(s: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.name() == s)
    }

    pub fn table(self) -> &'static str {
        match self {
            Entity::User => "users",
            Entity::Patient => "patients",
            Entity::Procedure => "procedures",
            Entity::Assessment => "assessments",
            Entity::IndexFracture => "index_fractures",
            Entity::Medication => "medications",
            Entity::Measurement => "measurements",
            Entity::OutcomeEvent => "outcome_events",
            Entity::Task => "tasks",
            Entity::TaskClosure => "task_closures",
            Entity::PatientSearch => "patient_searches",
            Entity::ServiceEvent => "service_events",
        }
    }

    /// Columns in hashing order; the first is always `id`.
    pub fn columns(self) -> &'static [Col] {
        match self {
            Entity::User => &[("id", I, false), ("name", T, false)],
            Entity::Patient => &[
                ("id", I, false),
                ("mrn", T, false),
                ("sex", T, false),
                ("birth_date", T, false),
                ("name", T, false),
                ("phone", T, false),
            ],
            Entity::Procedure => &[
                ("id", I, false),
                ("patient_id", I, false),
                ("kind", T, false),
                ("level", T, false),
                ("level_no", I, false),
                ("date", T, false),
                ("d12m", T, false),
                ("cement_volume_ml", R, false),
                ("leakage", T, false),
                ("data", T, true),
            ],
            Entity::Assessment => &[
                ("id", I, false),
                ("patient_id", I, false),
                ("procedure_id", I, false),
                ("as_of", T, false),
                ("phase", T, false),
                ("plan", T, false),
                ("therapy_recommended", I, false),
                ("engine_version", T, false),
                ("knowledge_version", T, false),
                ("request", T, true),
                ("report", T, true),
            ],
            Entity::IndexFracture => &[
                ("id", I, false),
                ("patient_id", I, false),
                ("assessment_id", I, false),
                ("index_date", T, false),
                ("levels", T, false),
                ("d90", T, false),
                ("d16w", T, false),
                ("d52w", T, false),
                ("d10m", T, false),
                ("d12m", T, false),
                ("d14m", T, false),
            ],
            Entity::Medication => &[
                ("id", I, false),
                ("patient_id", I, false),
                ("drug", T, false),
                ("anti_osteoporosis", I, false),
                ("start_date", T, false),
                ("end_date", T, false),
                ("last_dose", T, false),
                ("supersedes", I, false),
            ],
            Entity::Measurement => &[
                ("id", I, false),
                ("patient_id", I, false),
                ("date", T, false),
                ("kind", T, false),
                ("value", R, false),
            ],
            Entity::OutcomeEvent => &[
                ("id", I, false),
                ("patient_id", I, false),
                ("date", T, false),
                ("type", T, false),
                ("level", T, false),
                ("level_no", I, false),
            ],
            Entity::Task => &[
                ("id", I, false),
                ("patient_id", I, false),
                ("assessment_id", I, false),
                ("at_months", I, false),
                ("items", T, true),
                ("from_date", T, false),
                ("due", T, false),
            ],
            Entity::TaskClosure => &[
                ("id", I, false),
                ("task_id", I, false),
                ("kind", T, false),
                ("date", T, false),
                ("note", T, false),
                ("assessment_id", I, false),
            ],
            Entity::PatientSearch => &[
                ("id", I, false),
                ("search_sha256", T, false),
                ("results", I, false),
                ("patient_ids", T, true),
            ],
            Entity::ServiceEvent => &[
                ("id", I, false),
                ("kind", T, false),
                ("subject", T, false),
                ("detail", T, true),
            ],
        }
    }

    pub fn types(self) -> Vec<Ty> {
        self.columns().iter().map(|c| c.1).collect()
    }

    pub fn column_list(self) -> String {
        self.columns()
            .iter()
            .map(|c| c.0)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `INSERT INTO t (cols) VALUES ($1…), ($…)…` for `rows` rows (see [`placeholder`]).
    pub fn insert_sql(self, rows: usize, engine: Engine) -> String {
        let n = self.columns().len();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table(),
            self.column_list()
        );
        for r in 0..rows {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..n {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&placeholder(engine, r * n + c + 1));
            }
            sql.push(')');
        }
        sql
    }

    pub fn select_sql(self) -> String {
        format!("SELECT {} FROM {}", self.column_list(), self.table())
    }
}
