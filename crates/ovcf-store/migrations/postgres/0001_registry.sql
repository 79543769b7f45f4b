-- OVCF registry, schema version 1 (PostgreSQL). The same logical schema as ../sqlite/0001_registry.sql:
-- integer ids chosen by the program (max + 1 under the write lock, or taken from an import), dates as
-- ISO 'YYYY-MM-DD' text, JSON documents as text. Data tables are append-only: a change (a task done,
-- a medication updated, a task superseded by a newer plan) is a new row, so every row is written by
-- exactly one audit event and `ovcf audit verify` can re-hash every row against it.
CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE patients (
    id BIGINT PRIMARY KEY,
    mrn TEXT NOT NULL UNIQUE,
    sex TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    name TEXT,
    phone TEXT
);
CREATE TABLE procedures (
    id BIGINT PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    kind TEXT NOT NULL,
    level TEXT NOT NULL,
    level_no BIGINT NOT NULL,
    date TEXT NOT NULL,
    d12m TEXT NOT NULL,
    cement_volume_ml DOUBLE PRECISION,
    leakage TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE assessments (
    id BIGINT PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    procedure_id BIGINT REFERENCES procedures(id),
    as_of TEXT NOT NULL,
    phase TEXT NOT NULL,
    plan TEXT NOT NULL,
    therapy_recommended BIGINT NOT NULL,
    engine_version TEXT NOT NULL,
    knowledge_version TEXT NOT NULL,
    request TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE TABLE index_fractures (
    id BIGINT PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    assessment_id BIGINT NOT NULL REFERENCES assessments(id),
    index_date TEXT NOT NULL,
    levels TEXT NOT NULL,
    d90 TEXT NOT NULL,
    d16w TEXT NOT NULL,
    d52w TEXT NOT NULL,
    d10m TEXT NOT NULL,
    d12m TEXT NOT NULL,
    d14m TEXT NOT NULL
);
CREATE TABLE medications (
    id BIGINT PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    drug TEXT NOT NULL,
    anti_osteoporosis BIGINT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT,
    last_dose TEXT,
    supersedes BIGINT REFERENCES medications(id)
);
CREATE TABLE measurements (
    id BIGINT PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    date TEXT NOT NULL,
    kind TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL
);
CREATE TABLE outcome_events (
    id BIGINT PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    date TEXT NOT NULL,
    type TEXT NOT NULL,
    level TEXT,
    level_no BIGINT
);
CREATE TABLE tasks (
    id BIGINT PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    assessment_id BIGINT NOT NULL REFERENCES assessments(id),
    at_months BIGINT NOT NULL,
    items TEXT NOT NULL,
    from_date TEXT NOT NULL,
    due TEXT NOT NULL
);
CREATE TABLE task_closures (
    id BIGINT PRIMARY KEY,
    task_id BIGINT NOT NULL REFERENCES tasks(id),
    kind TEXT NOT NULL,
    date TEXT NOT NULL,
    note TEXT,
    assessment_id BIGINT REFERENCES assessments(id)
);
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    payload_hash TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
-- Covering indexes for the KPI query: each EXISTS probe is answered from the index alone (an
-- assessment row is tens of kilobytes; the KPI must not read it).
CREATE INDEX assessments_patient ON assessments(patient_id, therapy_recommended, as_of);
CREATE INDEX procedures_patient ON procedures(patient_id, date, level_no, leakage, d12m);
CREATE INDEX index_fractures_patient ON index_fractures(patient_id);
-- Covering: the KPI query reads the period's fractures and their precomputed windows from the index.
CREATE INDEX index_fractures_date ON index_fractures(index_date, patient_id, d90, d16w, d52w, d10m, d12m, d14m);
CREATE INDEX medications_patient ON medications(patient_id, anti_osteoporosis, start_date, end_date);
CREATE INDEX medications_supersedes ON medications(supersedes);
CREATE INDEX measurements_patient ON measurements(patient_id, kind, date);
CREATE INDEX outcome_events_patient ON outcome_events(patient_id, type, date, level_no);
CREATE INDEX tasks_patient ON tasks(patient_id);
CREATE INDEX tasks_due ON tasks(due);
CREATE INDEX task_closures_task ON task_closures(task_id, kind, date);
-- The latest version of each medication statement.
CREATE VIEW current_medications AS
    SELECT m.* FROM medications m
    WHERE NOT EXISTS (SELECT 1 FROM medications s WHERE s.supersedes = m.id);
