-- The HIS and RIS lanes: who the patient is, what was ordered, when and where it happens, and
-- who did what. Times are practice-local 'YYYY-MM-DDTHH:MM' (scheduling is local by nature);
-- audit and history stamps are UTC with milliseconds.

-- Users and roles come first: every change below is attributed to one.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    login          TEXT NOT NULL UNIQUE,
    full_name      TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL CHECK (role IN ('front_desk','technologist','radiologist','administrator')),
    password_hash  TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

-- Append-only: no UPDATE or DELETE is ever issued on it (triggers refuse both).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    actor       TEXT NOT NULL,           -- user login, or 'hl7:<app>', 'dicom:<AE>', 'system'
    action      TEXT NOT NULL,           -- e.g. 'patient.read', 'order.place'
    subject     TEXT NOT NULL DEFAULT '',-- what it concerned: 'patient:12', 'order:ACC123'
    origin      TEXT NOT NULL DEFAULT '',-- workstation, peer address
    outcome     TEXT NOT NULL DEFAULT 'ok',
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_subject ON audit_log(subject);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- The patient as the practice registered them (the archive's `patients` table is the DICOM
-- patient as seen in images; reconciliation links the two).
CREATE TABLE his_patients (
    id               INTEGER PRIMARY KEY,
    mrn              TEXT NOT NULL UNIQUE,          -- the practice's own identifier
    family_name      TEXT NOT NULL,
    given_name       TEXT NOT NULL DEFAULT '',
    middle_name      TEXT NOT NULL DEFAULT '',
    prefix           TEXT NOT NULL DEFAULT '',
    suffix           TEXT NOT NULL DEFAULT '',
    birth_date       TEXT NOT NULL DEFAULT '',      -- YYYY-MM-DD
    sex              TEXT NOT NULL DEFAULT 'U' CHECK (sex IN ('F','M','O','U')),
    address          TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    language         TEXT NOT NULL DEFAULT '',
    alerts           TEXT NOT NULL DEFAULT '',      -- allergies, contrast reactions, implants
    pregnancy        TEXT NOT NULL DEFAULT 'unknown' CHECK (pregnancy IN ('unknown','not_pregnant','possibly','pregnant')),
    merged_into      INTEGER REFERENCES his_patients(id),
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX his_patients_name ON his_patients(family_name, given_name);
CREATE INDEX his_patients_birth ON his_patients(birth_date);

-- Outside identifiers, each with its assigning authority: the same ID from two issuers is two
-- different people.
CREATE TABLE patient_identifiers (
    id          INTEGER PRIMARY KEY,
    patient     INTEGER NOT NULL REFERENCES his_patients(id),
    value       TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT 'MR',
    UNIQUE (value, issuer)
);
CREATE INDEX patient_identifiers_patient ON patient_identifiers(patient);

CREATE TABLE referring_physicians (
    id          INTEGER PRIMARY KEY,
    npi         TEXT NOT NULL DEFAULT '',
    family_name TEXT NOT NULL,
    given_name  TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL DEFAULT '',
    UNIQUE (npi, family_name, given_name)
);

CREATE TABLE insurance_policies (
    id                 INTEGER PRIMARY KEY,
    patient            INTEGER NOT NULL REFERENCES his_patients(id),
    payer              TEXT NOT NULL,
    plan               TEXT NOT NULL DEFAULT '',
    member_number      TEXT NOT NULL DEFAULT '',
    group_number       TEXT NOT NULL DEFAULT '',
    subscriber         TEXT NOT NULL DEFAULT '',
    relationship       TEXT NOT NULL DEFAULT 'self',
    requires_authorisation INTEGER NOT NULL DEFAULT 0,
    eligibility        TEXT NOT NULL DEFAULT 'unknown',   -- unknown, eligible, ineligible
    eligibility_checked TEXT NOT NULL DEFAULT '',
    active             INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX insurance_patient ON insurance_policies(patient);

-- The procedure catalogue (loaded from assets/procedure_catalogue.tsv on a fresh store).
CREATE TABLE procedures (
    code             TEXT PRIMARY KEY,     -- CPT
    name             TEXT NOT NULL,
    modality         TEXT NOT NULL,
    body_part        TEXT NOT NULL DEFAULT '',
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
    preparation      TEXT NOT NULL DEFAULT '',
    charge_cents     INTEGER NOT NULL DEFAULT 0,
    active           INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE rooms (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    modality       TEXT NOT NULL,
    station_ae     TEXT NOT NULL UNIQUE,
    -- Opening hours per ISO weekday 1 (Monday) .. 7: 'HH:MM-HH:MM' or '' when closed.
    hours_json     TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1
);

-- An order as placed by the referrer (placer number) and accepted by us (filler number).
CREATE TABLE orders (
    id               INTEGER PRIMARY KEY,
    patient          INTEGER REFERENCES his_patients(id),  -- NULL: patient not identified yet
    placer_number    TEXT NOT NULL DEFAULT '',
    placer_app       TEXT NOT NULL DEFAULT '',
    filler_number    TEXT NOT NULL UNIQUE,
    accession        TEXT NOT NULL UNIQUE CHECK (length(accession) BETWEEN 1 AND 16),
    procedure_code   TEXT NOT NULL,        -- may be unknown to the catalogue (then: needs review)
    priority         TEXT NOT NULL CHECK (priority IN ('STAT','ASAP','ROUTINE')),
    reason           TEXT NOT NULL DEFAULT '',
    icd10            TEXT NOT NULL DEFAULT '',      -- codes separated by '~'
    referring        INTEGER REFERENCES referring_physicians(id),
    insurance        INTEGER REFERENCES insurance_policies(id),
    authorisation    TEXT NOT NULL DEFAULT '',
    requested_time   TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    review_reasons   TEXT NOT NULL DEFAULT '',      -- why it waits in "needs review"
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX orders_patient ON orders(patient);
CREATE INDEX orders_status ON orders(status);
CREATE UNIQUE INDEX orders_placer ON orders(placer_app, placer_number) WHERE placer_number != '';

-- One requested procedure per order here, with its Study Instance UID made up front so images
-- that arrive later match without guessing; and its scheduled procedure step.
CREATE TABLE scheduled_steps (
    id                 INTEGER PRIMARY KEY,
    order_id           INTEGER NOT NULL REFERENCES orders(id),
    requested_procedure_id TEXT NOT NULL,
    step_id            TEXT NOT NULL UNIQUE,
    study_uid          TEXT NOT NULL UNIQUE,
    room               INTEGER REFERENCES rooms(id),   -- NULL: to be scheduled
    start_time         TEXT NOT NULL DEFAULT '',       -- local YYYY-MM-DDTHH:MM
    duration_minutes   INTEGER NOT NULL,
    walk_in            INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'SCHEDULED'
);
CREATE INDEX steps_room_start ON scheduled_steps(room, start_time);
CREATE INDEX steps_start ON scheduled_steps(start_time);

-- Every status change of an exam, who made it and when.
CREATE TABLE exam_history (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders(id),
    at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    actor       TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX exam_history_order ON exam_history(order_id);

-- Counters for MRNs, accessions, filler numbers (one row each, bumped in the same transaction).
CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);
