-- Modality Performed Procedure Steps as the scanners report them (N-CREATE / N-SET).
CREATE TABLE performed_steps (
    id                   INTEGER PRIMARY KEY,
    sop_instance_uid     TEXT NOT NULL UNIQUE,
    order_id             INTEGER REFERENCES orders(id),   -- NULL: unscheduled, for reconciliation
    status               TEXT NOT NULL CHECK (status IN ('IN PROGRESS','COMPLETED','DISCONTINUED')),
    station_ae           TEXT NOT NULL DEFAULT '',
    study_uid            TEXT NOT NULL DEFAULT '',
    performed_series     TEXT NOT NULL DEFAULT '[]',     -- JSON: [{series_uid, images}]
    discontinue_reason   TEXT NOT NULL DEFAULT '',
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX performed_steps_order ON performed_steps(order_id);
