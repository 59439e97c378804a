-- Critical results told to someone: who was told, how and when, by whom. Append-only (a result
-- may be told to the referrer and to the patient's GP); kept with the report, printed with it.
CREATE TABLE critical_communications (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports(id),
    told_to     TEXT NOT NULL,
    method      TEXT NOT NULL,
    told_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    recorded_by TEXT NOT NULL
);
CREATE INDEX critical_communications_report ON critical_communications(report_id);
