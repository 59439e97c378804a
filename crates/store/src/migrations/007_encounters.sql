-- Encounters (visits) with visit numbers; prior-authorisation status and dates on policies.
CREATE TABLE encounters (
    id            INTEGER PRIMARY KEY,
    patient       INTEGER NOT NULL REFERENCES his_patients(id),
    visit_number  TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL DEFAULT 'outpatient',
    started_at    TEXT NOT NULL,                 -- local YYYY-MM-DDTHH:MM
    ended_at      TEXT NOT NULL DEFAULT '',
    referring     INTEGER REFERENCES referring_physicians(id)
);
CREATE INDEX encounters_patient ON encounters(patient);
ALTER TABLE orders ADD COLUMN encounter INTEGER REFERENCES encounters(id);
ALTER TABLE insurance_policies ADD COLUMN authorisation_status TEXT NOT NULL DEFAULT 'not_required';
ALTER TABLE insurance_policies ADD COLUMN authorisation_number TEXT NOT NULL DEFAULT '';
ALTER TABLE insurance_policies ADD COLUMN authorisation_valid_from TEXT NOT NULL DEFAULT '';
ALTER TABLE insurance_policies ADD COLUMN authorisation_valid_to TEXT NOT NULL DEFAULT '';
