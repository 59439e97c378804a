-- Reports with every version kept, report templates, charges, and the reading assignment.
ALTER TABLE orders ADD COLUMN assigned_radiologist TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN completed_at TEXT NOT NULL DEFAULT '';

CREATE TABLE report_templates (
    id         INTEGER PRIMARY KEY,
    modality   TEXT NOT NULL,          -- '' for any
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    UNIQUE (modality, name)
);

CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders(id),
    kind        TEXT NOT NULL CHECK (kind IN ('report', 'addendum')),
    status      TEXT NOT NULL CHECK (status IN ('draft', 'preliminary', 'final')),
    body        TEXT NOT NULL,
    critical    INTEGER NOT NULL DEFAULT 0,
    author      TEXT NOT NULL,
    signer      TEXT NOT NULL DEFAULT '',
    signed_at   TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX reports_order ON reports(order_id);

-- Every saved state of every report; never updated or deleted.
CREATE TABLE report_versions (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports(id),
    status      TEXT NOT NULL,
    body        TEXT NOT NULL,
    critical    INTEGER NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE TRIGGER report_versions_no_update BEFORE UPDATE ON report_versions
BEGIN SELECT RAISE(ABORT, 'report versions are kept as written'); END;
CREATE TRIGGER report_versions_no_delete BEFORE DELETE ON report_versions
BEGIN SELECT RAISE(ABORT, 'report versions are kept as written'); END;

CREATE TABLE charges (
    id            INTEGER PRIMARY KEY,
    order_id      INTEGER NOT NULL UNIQUE REFERENCES orders(id),
    cpt           TEXT NOT NULL,
    modifiers     TEXT NOT NULL DEFAULT '',
    icd10         TEXT NOT NULL DEFAULT '',
    units         INTEGER NOT NULL DEFAULT 1,
    amount_cents  INTEGER NOT NULL,
    payer         TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'reviewed', 'billed')),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX charges_status ON charges(status);
