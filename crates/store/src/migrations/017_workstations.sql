-- Workstations paired with the practice server. An administrator starts a pairing (a one-time
-- code, shown once, valid minutes); the workstation sends the code once and receives its own
-- secret. Only hashes are kept. A revoked workstation's sessions end and it cannot sign in.
CREATE TABLE workstations (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    code_hash         TEXT UNIQUE,
    code_expires_at   TEXT,
    secret_hash       TEXT,
    paired_at         TEXT,
    paired_from       TEXT,
    last_seen_at      TEXT,
    revoked_at        TEXT,
    revoked_by        TEXT
);
ALTER TABLE api_sessions ADD COLUMN workstation_id INTEGER REFERENCES workstations(id);
CREATE INDEX api_sessions_workstation ON api_sessions(workstation_id);
