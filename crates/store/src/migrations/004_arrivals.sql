-- Studies as they reach the archive, matched to orders; what could not be matched safely
-- waits in the reconciliation queue for a person.
CREATE TABLE study_arrivals (
    study_uid   TEXT PRIMARY KEY,
    order_id    INTEGER REFERENCES orders(id),
    arrived_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE reconciliation (
    id            INTEGER PRIMARY KEY,
    study_uid     TEXT NOT NULL,
    accession     TEXT NOT NULL DEFAULT '',
    patient_id    TEXT NOT NULL DEFAULT '',
    patient_name  TEXT NOT NULL DEFAULT '',
    birth_date    TEXT NOT NULL DEFAULT '',
    order_id      INTEGER REFERENCES orders(id),   -- the order it seems to belong to, if any
    reason        TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','resolved')),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    resolved_at   TEXT NOT NULL DEFAULT '',
    resolved_by   TEXT NOT NULL DEFAULT '',
    resolution    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reconciliation_status ON reconciliation(status);
