-- Every peer is a stranger until configured.

-- The systems allowed to send HL7 here, known by sending application and facility (MSH-3/4)
-- and, when a host is given, by the address the connection comes from. `messages` says
-- what each may send: adt (registration, updates, visits), merge (A40), orders, results (ORU).
CREATE TABLE hl7_sources (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    application  TEXT NOT NULL,
    facility     TEXT NOT NULL DEFAULT '',
    host         TEXT NOT NULL DEFAULT '',
    messages     TEXT NOT NULL DEFAULT 'adt,orders',
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

-- Where each inbound message came from (the peer's address as the connection saw it; empty
-- for a batch file), and whether it was turned away at the door (unknown sender): such a
-- message does not hold its (MSH-3, MSH-4, MSH-10) key against the real sender.
ALTER TABLE hl7_inbound ADD COLUMN peer_address TEXT NOT NULL DEFAULT '';
ALTER TABLE hl7_inbound ADD COLUMN refused_at_door INTEGER NOT NULL DEFAULT 0;

-- DICOM nodes are checked by the host they call from (when one is configured and the check
-- is on) and may be given only some services: store (C-STORE, Storage Commitment), query
-- (C-FIND, C-MOVE, C-GET), worklist (Modality Worklist, MPPS).
ALTER TABLE dicom_nodes ADD COLUMN check_host INTEGER NOT NULL DEFAULT 1;
ALTER TABLE dicom_nodes ADD COLUMN services TEXT NOT NULL DEFAULT 'store,query,worklist';

-- The state of each background service as it last reported it, so `lightbox status` (another
-- process) and the screens can tell what is down, since when and why.
CREATE TABLE service_health (
    service     TEXT PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('running', 'restarting', 'down', 'stopped')),
    detail      TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',          -- where a listener listens (host:port)
    last_error  TEXT NOT NULL DEFAULT '',
    restarts    INTEGER NOT NULL DEFAULT 0,
    since       TEXT NOT NULL,
    process_id  INTEGER NOT NULL DEFAULT 0
);
