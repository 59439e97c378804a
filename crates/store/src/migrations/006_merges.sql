-- Patient merges, with what moved, so a merge can be undone exactly.
CREATE TABLE patient_merges (
    id                 INTEGER PRIMARY KEY,
    kept               INTEGER NOT NULL REFERENCES his_patients(id),
    merged             INTEGER NOT NULL REFERENCES his_patients(id),
    moved_orders       TEXT NOT NULL,      -- JSON array of order ids
    moved_identifiers  TEXT NOT NULL,      -- JSON array of identifier row ids
    merged_by          TEXT NOT NULL,
    merged_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    undone_by          TEXT NOT NULL DEFAULT '',
    undone_at          TEXT NOT NULL DEFAULT ''
);
