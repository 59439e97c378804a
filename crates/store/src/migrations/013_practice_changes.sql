-- The practice's change journal: one row per change a person or an interface made (a patient
-- registered, an order placed, images arrived, a report signed …), written in the transaction
-- of the change. Whoever follows the practice (the outbound HL7 producer, the window, remote
-- clients) reads it after a cursor, so nothing is missed while a follower is down.
CREATE TABLE practice_changes (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    kind     TEXT NOT NULL,
    subject  TEXT NOT NULL,
    actor    TEXT NOT NULL
);

-- Destinations used to find patient changes in the audit log. The changes they have not yet
-- sent move into the journal under the audit row's own id, so their cursors stay true.
INSERT INTO practice_changes (id, at, kind, subject, actor)
SELECT id, at,
       CASE action WHEN 'patient.register' THEN 'patient.registered' ELSE 'patient.updated' END,
       substr(subject, 9), actor
  FROM audit_log
 WHERE outcome = 'ok'
   AND action IN ('patient.register', 'patient.update')
   AND id > (SELECT coalesce(min(audit_cursor), (SELECT coalesce(max(id), 0) FROM audit_log))
               FROM hl7_destinations);
ALTER TABLE hl7_destinations RENAME COLUMN audit_cursor TO change_cursor;
