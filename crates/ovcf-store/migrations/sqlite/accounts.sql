-- Accounts for `ovcf serve` (SQLite; same logical schema as ../postgres/accounts.sql).
-- Credentials are not registry data: these tables are outside the audit chain and the export.
-- Passwords are Argon2id PHC strings; API tokens are stored only as the SHA-256 (hex) of a 256-bit
-- random token. CDS feedback is kept once per (service, client, card, outcome, outcomeTimestamp).
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
