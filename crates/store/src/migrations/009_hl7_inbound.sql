-- Every inbound HL7 message, stored raw before it is acknowledged; the key makes a resend after
-- a lost ACK return the stored ACK instead of doing the work twice.
CREATE TABLE hl7_inbound (
    id                  INTEGER PRIMARY KEY,
    sending_application TEXT NOT NULL,
    sending_facility    TEXT NOT NULL,
    control_id          TEXT NOT NULL,
    message_type        TEXT NOT NULL DEFAULT '',
    raw                 TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'refused')),
    ack                 TEXT NOT NULL DEFAULT '',
    received_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (sending_application, sending_facility, control_id)
);
