-- Visits as the EHR numbers them (PV1-19), so A11/A23 can cancel the right one; and the
-- outbound side of the HL7 lane: destinations and one persistent queue per destination.
ALTER TABLE encounters ADD COLUMN outside_visit_number TEXT NOT NULL DEFAULT '';
ALTER TABLE encounters ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
CREATE INDEX encounters_outside ON encounters(patient, outside_visit_number);

-- A system Lightbox sends to (the EHR, a billing system). The cursors say up to which row of
-- exam_history, charges and audit_log this destination's messages were made, so a restart
-- neither loses nor repeats one, and a new destination starts from "now".
CREATE TABLE hl7_destinations (
    id                     INTEGER PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE,
    host                   TEXT NOT NULL,
    port                   INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    version                TEXT NOT NULL DEFAULT '2.5.1' CHECK (version IN ('2.3', '2.3.1', '2.4', '2.5', '2.5.1')),
    receiving_application  TEXT NOT NULL DEFAULT '',
    receiving_facility     TEXT NOT NULL DEFAULT '',
    events                 TEXT NOT NULL DEFAULT 'oru',       -- comma list: oru,status,dft,adt,ack
    report_text            TEXT NOT NULL DEFAULT 'tx' CHECK (report_text IN ('tx', 'ft')),
    ack_timeout_secs       INTEGER NOT NULL DEFAULT 30,
    enabled                INTEGER NOT NULL DEFAULT 1,
    history_cursor         INTEGER NOT NULL DEFAULT 0,
    charge_cursor          INTEGER NOT NULL DEFAULT 0,
    audit_cursor           INTEGER NOT NULL DEFAULT 0,
    created_at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

-- Every outbound message, built when its event happened and kept after it was sent.
-- pending → sent, or → failed (AE/AR: waits for a person to resend or cancel; the messages
-- behind it wait too, so the receiver never sees them out of order).
CREATE TABLE hl7_outbound (
    id               INTEGER PRIMARY KEY,
    destination      INTEGER NOT NULL REFERENCES hl7_destinations(id),
    event            TEXT NOT NULL,          -- oru, status, dft, adt, ack
    subject          TEXT NOT NULL DEFAULT '',  -- order:ACC, patient:MRN, …
    control_id       TEXT NOT NULL UNIQUE,
    message          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    next_attempt_ms  INTEGER NOT NULL DEFAULT 0,   -- unix ms; back-off after a failed attempt
    ack              TEXT NOT NULL DEFAULT '',
    sent_at          TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX hl7_outbound_queue ON hl7_outbound(destination, status, id);
CREATE INDEX hl7_inbound_status ON hl7_inbound(status);
-- Lookups every inbound order makes: the step of an order, orders by placer number.
CREATE INDEX steps_order ON scheduled_steps(order_id);
CREATE INDEX orders_placer_number ON orders(placer_number);
