-- OVCF registry, schema version 2 (SQLite). The same logical schema as ../postgres/0002_accounts_audit.sql.
--
-- 1. The account tables of `ovcf serve` become part of the versioned schema. They were created by
--    `Store::ensure_accounts` before (with these very statements), hence IF NOT EXISTS: a database
--    that has them keeps its users, tokens, CDS clients, cards and feedback. Credentials are not
--    registry data: these tables are outside the export, and they are mutable (a token is revoked
--    in place), so they are not hashed row by row. Passwords are Argon2id PHC strings; API tokens
--    are stored only as the SHA-256 (hex) of a 256-bit random token. CDS feedback is kept once per
--    (service, client, card, outcome, outcomeTimestamp).
CREATE TABLE IF NOT EXISTS accounts_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('clinician', 'coordinator', 'admin')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES accounts_users(name),
    digest TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS cds_clients (
    iss TEXT PRIMARY KEY,
    jwks TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cds_cards (
    uuid TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    code TEXT,
    indicator TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cds_feedback (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    client TEXT NOT NULL,
    card TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
    override_system TEXT,
    override_code TEXT,
    accepted_suggestions TEXT NOT NULL,
    outcome_timestamp TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (service, client, card, outcome, outcome_timestamp)
);
-- 2. Two audited, append-only tables (each row written by exactly one audit event, re-hashed by
--    `ovcf audit verify`, exported and imported like every registry row).
-- A search or listing of patients: a SHA-256 of the search text (never the text itself, which may be
-- a name; NULL when everything was listed), how many patients it returned and their ids.
CREATE TABLE patient_searches (
    id INTEGER PRIMARY KEY,
    search_sha256 TEXT,
    results INTEGER NOT NULL,
    patient_ids TEXT NOT NULL
);
-- A change to who may use the service (user added, API token created or revoked, CDS client
-- allow-listed or its JWK Set replaced) or a CDS feedback item stored. `detail` is a JSON object
-- that never holds a password hash, a token or a token digest.
CREATE TABLE service_events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
