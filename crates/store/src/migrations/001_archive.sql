-- The archive index: PS3.4 C.6 query keys at each level, one row per object.
CREATE TABLE patients (
    id            INTEGER PRIMARY KEY,
    patient_id    TEXT NOT NULL,
    issuer        TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL DEFAULT '',
    birth_date    TEXT NOT NULL DEFAULT '',
    sex           TEXT NOT NULL DEFAULT '',
    UNIQUE (patient_id, issuer)
);
CREATE INDEX patients_name ON patients(name);

CREATE TABLE studies (
    id                 INTEGER PRIMARY KEY,
    patient_row        INTEGER NOT NULL REFERENCES patients(id),
    study_uid          TEXT NOT NULL UNIQUE,
    study_date         TEXT NOT NULL DEFAULT '',
    study_time         TEXT NOT NULL DEFAULT '',
    accession          TEXT NOT NULL DEFAULT '',
    study_id           TEXT NOT NULL DEFAULT '',
    description        TEXT NOT NULL DEFAULT '',
    referring          TEXT NOT NULL DEFAULT '',
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX studies_patient ON studies(patient_row);
CREATE INDEX studies_date ON studies(study_date);
CREATE INDEX studies_accession ON studies(accession);

CREATE TABLE series (
    id              INTEGER PRIMARY KEY,
    study_row       INTEGER NOT NULL REFERENCES studies(id),
    series_uid      TEXT NOT NULL UNIQUE,
    modality        TEXT NOT NULL DEFAULT '',
    series_number   TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    body_part       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX series_study ON series(study_row);
CREATE INDEX series_modality ON series(modality);

CREATE TABLE instances (
    id               INTEGER PRIMARY KEY,
    series_row       INTEGER NOT NULL REFERENCES series(id),
    sop_uid          TEXT NOT NULL UNIQUE,
    sop_class        TEXT NOT NULL,
    instance_number  TEXT NOT NULL DEFAULT '',
    file_path        TEXT NOT NULL,
    file_size        INTEGER NOT NULL,
    transfer_syntax  TEXT NOT NULL,
    header_hash      TEXT NOT NULL DEFAULT '',
    received_from    TEXT NOT NULL DEFAULT '',
    received_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    durable          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX instances_series ON instances(series_row);
CREATE INDEX instances_not_durable ON instances(durable) WHERE durable = 0;

-- Remote DICOM nodes we send to, query and retrieve from, and accept requests from.
CREATE TABLE dicom_nodes (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE,
    ae_title  TEXT NOT NULL,
    host      TEXT NOT NULL,
    port      INTEGER NOT NULL
);
CREATE INDEX dicom_nodes_ae ON dicom_nodes(ae_title);

-- Practice-wide settings as key/value text.
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
