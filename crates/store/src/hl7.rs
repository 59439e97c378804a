//! The inbound HL7 message log.

use rusqlite::{OptionalExtension, params};

use super::{SqlContext, Store, StoreResult};

/// A stored inbound message's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    /// Row id.
    pub id: i64,
    /// received, processed or refused.
    pub status: String,
    /// The ACK sent (empty until processed).
    pub ack: String,
}

impl Store {
    /// Stores a message under its key (with the peer address it came from); returns the
    /// existing record if the key was seen. A message turned away at the door (an unknown
    /// sender) does not hold its key: it is replaced by this one.
    pub fn store_inbound(
        &self,
        key: (&str, &str, &str),
        message_type: &str,
        raw: &str,
        peer_address: &str,
    ) -> StoreResult<Result<i64, InboundRecord>> {
        if let Some((existing, at_door)) = self
            .conn
            .query_row(
                "SELECT id, status, ack, refused_at_door FROM hl7_inbound
                 WHERE sending_application = ?1 AND sending_facility = ?2 AND control_id = ?3",
                params![key.0, key.1, key.2],
                |r| {
                    Ok((
                        InboundRecord {
                            id: r.get(0)?,
                            status: r.get(1)?,
                            ack: r.get(2)?,
                        },
                        r.get::<_, bool>(3)?,
                    ))
                },
            )
            .optional()
            .ctx("looking up an inbound message")?
        {
            if !at_door {
                return Ok(Err(existing));
            }
            self.cached_execute("DELETE FROM hl7_inbound WHERE id = ?1", [existing.id])
                .ctx("replacing a message turned away at the door")?;
        }
        self.cached_execute(
            "INSERT INTO hl7_inbound (sending_application, sending_facility, control_id,
                    message_type, raw, peer_address) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![key.0, key.1, key.2, message_type, raw, peer_address],
        )
        .ctx("storing an inbound message")?;
        Ok(Ok(self.conn.last_insert_rowid()))
    }

    /// Records what became of a stored message and the ACK sent.
    pub fn finish_inbound(&self, id: i64, status: &str, ack: &str) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE hl7_inbound SET status = ?2, ack = ?3 WHERE id = ?1",
            params![id, status, ack],
        )
        .ctx("recording an inbound message's outcome")?;
        Ok(())
    }

    /// Keeps a message from an unknown sender, refused at the door with `ack`, for the
    /// administrator to see — unless its key is already a real sender's (then the audit
    /// row is the only trace, and the real message is untouched).
    pub fn store_refused_at_door(
        &self,
        key: (&str, &str, &str),
        message_type: &str,
        raw: &str,
        peer_address: &str,
        ack: &str,
    ) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO hl7_inbound (sending_application, sending_facility, control_id,
                    message_type, raw, peer_address, status, ack, refused_at_door)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'refused', ?7, 1)
             ON CONFLICT (sending_application, sending_facility, control_id) DO NOTHING",
            params![key.0, key.1, key.2, message_type, raw, peer_address, ack],
        )
        .ctx("keeping a message refused at the door")?;
        Ok(())
    }

    /// An order by its placer application and placer number.
    pub fn order_by_placer(&self, app: &str, number: &str) -> StoreResult<Option<String>> {
        self.cached_query_row(
            "SELECT accession FROM orders WHERE placer_app = ?1 AND placer_number = ?2",
            params![app, number],
            |r| r.get(0),
        )
        .optional()
        .ctx("finding an order by placer number")
    }
}

/// An inbound message as the integration monitor and `lightbox hl7 log` show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InboundEntry {
    /// Row id.
    pub id: i64,
    /// MSH-3.
    pub sending_application: String,
    /// MSH-10.
    pub control_id: String,
    /// e.g. ORM^O01.
    pub message_type: String,
    /// received, processed or refused.
    pub status: String,
    /// The raw message.
    pub raw: String,
    /// The ACK sent.
    pub ack: String,
    /// When it came in (UTC).
    pub received_at: String,
    /// The address it came from (empty for a batch file).
    pub peer_address: String,
}

/// Where outbound messages go, and which events each receives.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Destination {
    /// Row id (0 before insertion).
    pub id: i64,
    /// Unique name shown to people.
    pub name: String,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// HL7 version of the messages built for it (2.3 … 2.5.1).
    pub version: String,
    /// MSH-5.
    pub receiving_application: String,
    /// MSH-6.
    pub receiving_facility: String,
    /// Comma list of oru, status, dft, adt, ack.
    pub events: String,
    /// Report text as `tx` (one OBX per line) or `ft` (one OBX, lines joined by `\.br\`).
    pub report_text: String,
    /// How long to wait for an ACK before the attempt counts as failed.
    pub ack_timeout_secs: u32,
    /// Whether its queue is being sent.
    pub enabled: bool,
}

impl Destination {
    /// Whether this destination takes messages of `event`.
    pub fn takes(&self, event: &str) -> bool {
        self.events
            .split(',')
            .any(|e| e.trim().eq_ignore_ascii_case(event))
    }
}

/// A queued (or sent) outbound message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboundMessage {
    /// Row id.
    pub id: i64,
    /// Destination row.
    pub destination: i64,
    /// oru, status, dft, adt, ack.
    pub event: String,
    /// order:ACC, patient:MRN, …
    pub subject: String,
    /// Our MSH-10; the ACK's MSA-2 must equal it.
    pub control_id: String,
    /// The message text (segments ended by CR).
    pub message: String,
    /// pending, sent, failed or cancelled.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: String,
    /// Unix ms before which no new attempt is made.
    pub next_attempt_ms: i64,
    /// The ACK received.
    pub ack: String,
}

impl OutboundMessage {
    /// Its MSH-9 (e.g. `ORU^R01^ORU_R01`), for lists.
    pub fn kind(&self) -> &str {
        self.message
            .split('\r')
            .next()
            .and_then(|msh| msh.split('|').nth(8))
            .unwrap_or("")
    }
}

/// An exam status change, as the outbound side reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// exam_history row.
    pub id: i64,
    /// The order.
    pub order_id: i64,
    /// Who made the change.
    pub actor: String,
    /// New status code.
    pub to_status: String,
    /// When (UTC).
    pub at: String,
}

const DESTINATION_COLUMNS: &str = "id, name, host, port, version, receiving_application, \
     receiving_facility, events, report_text, ack_timeout_secs, enabled";

fn destination_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Destination> {
    Ok(Destination {
        id: r.get(0)?,
        name: r.get(1)?,
        host: r.get(2)?,
        port: r.get(3)?,
        version: r.get(4)?,
        receiving_application: r.get(5)?,
        receiving_facility: r.get(6)?,
        events: r.get(7)?,
        report_text: r.get(8)?,
        ack_timeout_secs: r.get(9)?,
        enabled: r.get(10)?,
    })
}

const OUTBOUND_COLUMNS: &str = "id, destination, event, subject, control_id, message, status, \
     attempts, last_error, next_attempt_ms, ack";

fn outbound_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboundMessage> {
    Ok(OutboundMessage {
        id: r.get(0)?,
        destination: r.get(1)?,
        event: r.get(2)?,
        subject: r.get(3)?,
        control_id: r.get(4)?,
        message: r.get(5)?,
        status: r.get(6)?,
        attempts: r.get(7)?,
        last_error: r.get(8)?,
        next_attempt_ms: r.get(9)?,
        ack: r.get(10)?,
    })
}

impl Store {
    /// Inbound messages stored but never answered (the process stopped between storing and
    /// acknowledging): processed again at start-up.
    pub fn unprocessed_inbound(&self) -> StoreResult<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, raw FROM hl7_inbound WHERE status = 'received' ORDER BY id")
            .ctx("listing unprocessed inbound messages")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx("listing unprocessed inbound messages")?;
        rows.collect::<Result<_, _>>()
            .ctx("reading unprocessed inbound messages")
    }

    /// The latest inbound messages, newest first.
    pub fn inbound_log(&self, limit: usize) -> StoreResult<Vec<InboundEntry>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, sending_application, control_id, message_type, status, raw, ack,
                        received_at, peer_address
                 FROM hl7_inbound ORDER BY id DESC LIMIT ?1",
            )
            .ctx("reading the inbound log")?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok(InboundEntry {
                    id: r.get(0)?,
                    sending_application: r.get(1)?,
                    control_id: r.get(2)?,
                    message_type: r.get(3)?,
                    status: r.get(4)?,
                    raw: r.get(5)?,
                    ack: r.get(6)?,
                    received_at: r.get(7)?,
                    peer_address: r.get(8)?,
                })
            })
            .ctx("reading the inbound log")?;
        rows.collect::<Result<_, _>>()
            .ctx("reading the inbound log")
    }

    /// Orders with this placer number from any placer application.
    pub fn orders_by_placer_number(&self, number: &str) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT accession FROM orders WHERE placer_number = ?1")
            .ctx("finding orders by placer number")?;
        let rows = stmt
            .query_map([number], |r| r.get(0))
            .ctx("finding orders by placer number")?;
        rows.collect::<Result<_, _>>()
            .ctx("finding orders by placer number")
    }

    /// An order by our filler number.
    pub fn order_by_filler(&self, number: &str) -> StoreResult<Option<String>> {
        self.cached_query_row(
            "SELECT accession FROM orders WHERE filler_number = ?1",
            [number],
            |r| r.get(0),
        )
        .optional()
        .ctx("finding an order by filler number")
    }

    /// The patient's encounter with the EHR's visit number (PV1-19), if known here.
    pub fn encounter_by_outside_number(
        &self,
        patient: i64,
        number: &str,
    ) -> StoreResult<Option<i64>> {
        self.cached_query_row(
            "SELECT id FROM encounters WHERE patient = ?1 AND outside_visit_number = ?2",
            params![patient, number],
            |r| r.get(0),
        )
        .optional()
        .ctx("finding an encounter by visit number")
    }

    /// Records the EHR's visit number on an encounter.
    pub fn set_outside_visit_number(&self, encounter: i64, number: &str) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE encounters SET outside_visit_number = ?2 WHERE id = ?1",
            params![encounter, number],
        )
        .ctx("recording a visit number")?;
        Ok(())
    }

    /// Marks an encounter cancelled (ADT A11 / A23).
    pub fn cancel_encounter(&self, encounter: i64) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE encounters SET status = 'cancelled' WHERE id = ?1",
            [encounter],
        )
        .ctx("cancelling an encounter")?;
        Ok(())
    }

    /// An encounter's status (open, cancelled).
    pub fn encounter_status(&self, encounter: i64) -> StoreResult<String> {
        self.cached_query_row(
            "SELECT status FROM encounters WHERE id = ?1",
            [encounter],
            |r| r.get(0),
        )
        .ctx("reading an encounter")
    }

    /// Links an order to the visit it was ordered in.
    pub fn set_order_encounter(&self, order_id: i64, encounter: i64) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE orders SET encounter = ?2 WHERE id = ?1",
            params![order_id, encounter],
        )
        .ctx("linking an order to its visit")?;
        Ok(())
    }

    /// The visit number (ours, and the EHR's) of an order's encounter.
    pub fn order_visit_numbers(&self, order_id: i64) -> StoreResult<Option<(String, String)>> {
        self.cached_query_row(
            "SELECT e.visit_number, e.outside_visit_number FROM orders o
                 JOIN encounters e ON e.id = o.encounter WHERE o.id = ?1",
            [order_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("reading an order's visit")
    }

    /// The patient's policy with this payer and member number, if recorded.
    pub fn insurance_like(
        &self,
        patient: i64,
        payer: &str,
        member_number: &str,
    ) -> StoreResult<Option<i64>> {
        self.cached_query_row(
            "SELECT id FROM insurance_policies
                 WHERE patient = ?1 AND payer = ?2 AND member_number = ?3",
            params![patient, payer, member_number],
            |r| r.get(0),
        )
        .optional()
        .ctx("finding an insurance policy")
    }

    /// Changes what an order asks for (ORC-1 XO): procedure, priority, reason, requested
    /// time, diagnoses, review reasons and status.
    #[allow(clippy::too_many_arguments)]
    pub fn change_order_request(
        &self,
        order_id: i64,
        procedure_code: &str,
        priority: &str,
        reason: &str,
        requested_time: &str,
        icd10: &str,
    ) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE orders SET procedure_code = ?2, priority = ?3, reason = ?4,
                    requested_time = ?5, icd10 = ?6 WHERE id = ?1",
            params![
                order_id,
                procedure_code,
                priority,
                reason,
                requested_time,
                icd10
            ],
        )
        .ctx("changing an order")?;
        Ok(())
    }

    /// A referring physician by row id.
    pub fn referring(&self, id: i64) -> StoreResult<super::his::ReferringPhysician> {
        self.cached_query_row(
            "SELECT id, npi, family_name, given_name, phone FROM referring_physicians
                 WHERE id = ?1",
            [id],
            |r| {
                Ok(super::his::ReferringPhysician {
                    id: r.get(0)?,
                    npi: r.get(1)?,
                    family_name: r.get(2)?,
                    given_name: r.get(3)?,
                    phone: r.get(4)?,
                })
            },
        )
        .ctx("reading a referring physician")
    }

    /// Begins one write transaction (IMMEDIATE: takes the write lock now, so it cannot fail
    /// half-way on a lock). Domain steps inside it use savepoints.
    pub fn begin(&self) -> StoreResult<()> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .ctx("starting a transaction")
    }

    /// Commits the transaction [`Store::begin`] started.
    pub fn commit(&self) -> StoreResult<()> {
        self.conn.execute_batch("COMMIT").ctx("committing")
    }

    /// Rolls back the transaction [`Store::begin`] started (no-op when none is open).
    pub fn rollback(&self) -> StoreResult<()> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").ctx("rolling back")
    }

    /// Opens a named savepoint (nested in an open transaction, or starting one).
    pub fn savepoint(&self, name: &str) -> StoreResult<()> {
        self.conn
            .execute_batch(&format!("SAVEPOINT {name}"))
            .ctx("opening a savepoint")
    }

    /// Undoes everything since the savepoint (which stays open).
    pub fn rollback_to_savepoint(&self, name: &str) -> StoreResult<()> {
        self.conn
            .execute_batch(&format!("ROLLBACK TO {name}"))
            .ctx("rolling back to a savepoint")
    }

    /// Closes a savepoint, keeping its work in the enclosing transaction.
    pub fn release_savepoint(&self, name: &str) -> StoreResult<()> {
        self.conn
            .execute_batch(&format!("RELEASE {name}"))
            .ctx("releasing a savepoint")
    }

    /// Adds a destination; its cursors start at the current end of the logs, so it receives
    /// what happens from now on.
    pub fn insert_destination(&self, d: &Destination) -> StoreResult<i64> {
        self.cached_execute(
            "INSERT INTO hl7_destinations (name, host, port, version, receiving_application,
                    receiving_facility, events, report_text, ack_timeout_secs, enabled,
                    history_cursor, charge_cursor, change_cursor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,
                    (SELECT coalesce(max(id), 0) FROM exam_history),
                    (SELECT coalesce(max(id), 0) FROM charges),
                    (SELECT coalesce(max(id), 0) FROM practice_changes))",
            params![
                d.name,
                d.host,
                d.port,
                d.version,
                d.receiving_application,
                d.receiving_facility,
                d.events,
                d.report_text,
                d.ack_timeout_secs,
                d.enabled
            ],
        )
        .ctx("adding a destination")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Every destination.
    pub fn destinations(&self) -> StoreResult<Vec<Destination>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {DESTINATION_COLUMNS} FROM hl7_destinations ORDER BY name"
            ))
            .ctx("listing destinations")?;
        let rows = stmt
            .query_map([], destination_from_row)
            .ctx("listing destinations")?;
        rows.collect::<Result<_, _>>().ctx("listing destinations")
    }

    /// A destination's cursors: (exam history, charges, change journal).
    pub fn destination_cursors(&self, id: i64) -> StoreResult<(i64, i64, i64)> {
        self.cached_query_row(
            "SELECT history_cursor, charge_cursor, change_cursor FROM hl7_destinations
                 WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ctx("reading a destination's cursors")
    }

    /// The last row ids of the exam history, charges and change journal.
    pub fn log_heads(&self) -> StoreResult<(i64, i64, i64)> {
        self.cached_query_row(
            "SELECT (SELECT coalesce(max(id), 0) FROM exam_history),
                    (SELECT coalesce(max(id), 0) FROM charges),
                    (SELECT coalesce(max(id), 0) FROM practice_changes)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ctx("reading the logs' ends")
    }

    /// Moves a destination's cursors (in the transaction that queued their messages).
    pub fn set_destination_cursors(&self, id: i64, cursors: (i64, i64, i64)) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE hl7_destinations SET history_cursor = ?2, charge_cursor = ?3,
                    change_cursor = ?4 WHERE id = ?1",
            params![id, cursors.0, cursors.1, cursors.2],
        )
        .ctx("moving a destination's cursors")?;
        Ok(())
    }

    /// Status changes after `cursor`, oldest first (at most `limit`).
    pub fn status_events_after(&self, cursor: i64, limit: usize) -> StoreResult<Vec<StatusEvent>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, order_id, actor, to_status, at FROM exam_history
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .ctx("reading status changes")?;
        let rows = stmt
            .query_map(params![cursor, limit as i64], |r| {
                Ok(StatusEvent {
                    id: r.get(0)?,
                    order_id: r.get(1)?,
                    actor: r.get(2)?,
                    to_status: r.get(3)?,
                    at: r.get(4)?,
                })
            })
            .ctx("reading status changes")?;
        rows.collect::<Result<_, _>>().ctx("reading status changes")
    }

    /// Charges created after `cursor` (row ids), oldest first.
    pub fn charge_ids_after(&self, cursor: i64, limit: usize) -> StoreResult<Vec<(i64, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, order_id FROM charges WHERE id > ?1 ORDER BY id LIMIT ?2")
            .ctx("reading new charges")?;
        let rows = stmt
            .query_map(params![cursor, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .ctx("reading new charges")?;
        rows.collect::<Result<_, _>>().ctx("reading new charges")
    }

    /// A patient by MRN.
    pub fn patient_by_mrn(&self, mrn: &str) -> StoreResult<Option<i64>> {
        self.cached_query_row("SELECT id FROM his_patients WHERE mrn = ?1", [mrn], |r| {
            r.get(0)
        })
        .optional()
        .ctx("finding a patient by MRN")
    }

    /// Queues a message.
    pub fn enqueue_outbound(
        &self,
        destination: i64,
        event: &str,
        subject: &str,
        control_id: &str,
        message: &str,
    ) -> StoreResult<i64> {
        self.cached_execute(
            "INSERT INTO hl7_outbound (destination, event, subject, control_id, message)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            params![destination, event, subject, control_id, message],
        )
        .ctx("queueing an outbound message")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The head of a destination's queue: its oldest pending or failed message (a failed one
    /// holds the queue until a person resends or cancels it).
    pub fn outbound_head(&self, destination: i64) -> StoreResult<Option<OutboundMessage>> {
        self.cached_query_row(
            &format!(
                "SELECT {OUTBOUND_COLUMNS} FROM hl7_outbound
                     WHERE destination = ?1 AND status IN ('pending', 'failed')
                     ORDER BY id LIMIT 1"
            ),
            [destination],
            outbound_from_row,
        )
        .optional()
        .ctx("reading a queue's head")
    }

    /// Outbound messages in trouble across every destination: (failed for good, still pending
    /// after at least one failed attempt, the newest error). The status bar shows them.
    pub fn outbound_trouble(&self) -> StoreResult<(i64, i64, String)> {
        self.cached_query_row(
            "SELECT COALESCE(SUM(status = 'failed'), 0),
                    COALESCE(SUM(status = 'pending' AND attempts > 0), 0),
                    COALESCE((SELECT last_error FROM hl7_outbound
                              WHERE status IN ('pending', 'failed') AND last_error != ''
                              ORDER BY id DESC LIMIT 1), '')
             FROM hl7_outbound WHERE status IN ('pending', 'failed')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ctx("counting outbound messages in trouble")
    }

    /// A destination's messages still to send or failed, oldest first.
    pub fn outbound_queue(&self, destination: i64) -> StoreResult<Vec<OutboundMessage>> {
        self.outbound_where(destination, "status IN ('pending', 'failed')")
    }

    /// A destination's last `limit` delivered messages, newest first (the monitor shows them
    /// so staff see a report actually left).
    pub fn outbound_recently_sent(
        &self,
        destination: i64,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMessage>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {OUTBOUND_COLUMNS} FROM hl7_outbound
                 WHERE destination = ?1 AND status = 'sent' ORDER BY id DESC LIMIT ?2"
            ))
            .ctx("listing delivered messages")?;
        let rows = stmt
            .query_map(params![destination, limit as i64], outbound_from_row)
            .ctx("listing delivered messages")?;
        rows.collect::<Result<_, _>>()
            .ctx("listing delivered messages")
    }

    /// A destination's messages of any status, oldest first.
    pub fn outbound_all(&self, destination: i64) -> StoreResult<Vec<OutboundMessage>> {
        self.outbound_where(destination, "1")
    }

    fn outbound_where(&self, destination: i64, filter: &str) -> StoreResult<Vec<OutboundMessage>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {OUTBOUND_COLUMNS} FROM hl7_outbound
                 WHERE destination = ?1 AND {filter} ORDER BY id"
            ))
            .ctx("listing a queue")?;
        let rows = stmt
            .query_map([destination], outbound_from_row)
            .ctx("listing a queue")?;
        rows.collect::<Result<_, _>>().ctx("listing a queue")
    }

    /// Records a delivered message and its ACK.
    pub fn outbound_sent(&self, id: i64, ack: &str) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE hl7_outbound SET status = 'sent', ack = ?2, attempts = attempts + 1,
                    last_error = '', sent_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
                 WHERE id = ?1 AND status = 'pending'",
            params![id, ack],
        )
        .ctx("recording a delivery")?;
        Ok(())
    }

    /// Records a failed attempt to be retried at `next_attempt_ms`.
    pub fn outbound_retry(&self, id: i64, error: &str, next_attempt_ms: i64) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE hl7_outbound SET attempts = attempts + 1, last_error = ?2,
                    next_attempt_ms = ?3 WHERE id = ?1 AND status = 'pending'",
            params![id, error, next_attempt_ms],
        )
        .ctx("recording a failed attempt")?;
        Ok(())
    }

    /// Records a refusal (AE/AR): the message waits for a person.
    pub fn outbound_failed(&self, id: i64, error: &str, ack: &str) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE hl7_outbound SET status = 'failed', attempts = attempts + 1,
                    last_error = ?2, ack = ?3 WHERE id = ?1 AND status = 'pending'",
            params![id, error, ack],
        )
        .ctx("recording a refusal")?;
        Ok(())
    }

    /// Puts a failed (or pending) message back to be sent now. False when there is none.
    pub fn outbound_resend(&self, id: i64) -> StoreResult<bool> {
        Ok(self
            .conn
            .execute(
                "UPDATE hl7_outbound SET status = 'pending', next_attempt_ms = 0
                 WHERE id = ?1 AND status IN ('failed', 'pending')",
                [id],
            )
            .ctx("resending a message")?
            == 1)
    }

    /// Cancels a message not yet delivered. False when there is none.
    pub fn outbound_cancel(&self, id: i64) -> StoreResult<bool> {
        Ok(self
            .conn
            .execute(
                "UPDATE hl7_outbound SET status = 'cancelled'
                 WHERE id = ?1 AND status IN ('failed', 'pending')",
                [id],
            )
            .ctx("cancelling a message")?
            == 1)
    }
}
