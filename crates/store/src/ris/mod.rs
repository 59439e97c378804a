//! RIS tables: procedure catalogue, rooms, orders with their scheduled steps and exam history
//! (here); worklist rows, performed steps and reconciliation in their rooms. Users and the
//! audit log are `crate::access`.

mod performed;
mod reconciliation;
mod worklist;

pub use performed::PerformedStep;
pub use reconciliation::ReconciliationItem;
pub use worklist::WorklistRow;

use rusqlite::{OptionalExtension, Row, params};

use super::{SqlContext, Store, StoreError, StoreResult};

/// A catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Procedure {
    /// CPT code.
    pub code: String,
    /// Name shown to staff and sent to the scanner.
    pub name: String,
    /// DICOM modality (CT, MR, DX, …).
    pub modality: String,
    /// Body part.
    pub body_part: String,
    /// Default duration in minutes.
    pub duration_minutes: u32,
    /// Preparation instructions for the patient.
    pub preparation: String,
    /// Charge in cents.
    pub charge_cents: i64,
}

/// A room (scanner) where exams happen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Room {
    /// Row id.
    pub id: i64,
    /// Name staff use ("CT 1").
    pub name: String,
    /// Modality it performs.
    pub modality: String,
    /// AE title of its scanner (its worklist is asked for by this).
    pub station_ae: String,
    /// Opening hours per ISO weekday (index 0 = Monday): "HH:MM-HH:MM" or "" when closed.
    pub hours: [String; 7],
}

/// An order row.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderRecord {
    /// Row id.
    pub id: i64,
    /// The registered patient, if identified.
    pub patient: Option<i64>,
    /// Placer order number.
    pub placer_number: String,
    /// Placer application.
    pub placer_app: String,
    /// Filler order number (ours).
    pub filler_number: String,
    /// Accession number (ours, ≤ 16 characters).
    pub accession: String,
    /// Procedure code as ordered.
    pub procedure_code: String,
    /// STAT, ASAP or ROUTINE.
    pub priority: String,
    /// Reason for exam.
    pub reason: String,
    /// ICD-10 codes separated by '~'.
    pub icd10: String,
    /// Referring physician row.
    pub referring: Option<i64>,
    /// Insurance policy row.
    pub insurance: Option<i64>,
    /// Prior authorisation number.
    pub authorisation: String,
    /// Requested local time or "".
    pub requested_time: String,
    /// Exam status code.
    pub status: String,
    /// Why it needs review, "; "-separated.
    pub review_reasons: String,
}

/// A scheduled procedure step (one per order here).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// Row id.
    pub id: i64,
    /// Its order.
    pub order_id: i64,
    /// Requested Procedure ID.
    pub requested_procedure_id: String,
    /// Scheduled Procedure Step ID.
    pub step_id: String,
    /// Study Instance UID, made when the order was placed.
    pub study_uid: String,
    /// Room, or None while to be scheduled.
    pub room: Option<i64>,
    /// Local start "YYYY-MM-DDTHH:MM" or "".
    pub start_time: String,
    /// Minutes.
    pub duration_minutes: u32,
    /// A walk-in on today's worklist.
    pub walk_in: bool,
}

/// One exam history entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryEntry {
    /// UTC time.
    pub at: String,
    /// Who.
    pub actor: String,
    /// From status.
    pub from: String,
    /// To status.
    pub to: String,
    /// Why or how.
    pub note: String,
}

const ORDER_COLUMNS: &str = "id, patient, placer_number, placer_app, filler_number, accession, \
     procedure_code, priority, reason, icd10, referring, insurance, authorisation, requested_time, \
     status, review_reasons";

fn order_from_row(r: &Row<'_>) -> rusqlite::Result<OrderRecord> {
    Ok(OrderRecord {
        id: r.get(0)?,
        patient: r.get(1)?,
        placer_number: r.get(2)?,
        placer_app: r.get(3)?,
        filler_number: r.get(4)?,
        accession: r.get(5)?,
        procedure_code: r.get(6)?,
        priority: r.get(7)?,
        reason: r.get(8)?,
        icd10: r.get(9)?,
        referring: r.get(10)?,
        insurance: r.get(11)?,
        authorisation: r.get(12)?,
        requested_time: r.get(13)?,
        status: r.get(14)?,
        review_reasons: r.get(15)?,
    })
}

const STEP_COLUMNS: &str = "id, order_id, requested_procedure_id, step_id, study_uid, room, \
     start_time, duration_minutes, walk_in";

fn step_from_row(r: &Row<'_>) -> rusqlite::Result<StepRecord> {
    step_at(r, 0)
}

/// A step read from `STEP_COLUMNS` starting at column `at` (after other tables' columns).
fn step_at(r: &Row<'_>, at: usize) -> rusqlite::Result<StepRecord> {
    Ok(StepRecord {
        id: r.get(at)?,
        order_id: r.get(at + 1)?,
        requested_procedure_id: r.get(at + 2)?,
        step_id: r.get(at + 3)?,
        study_uid: r.get(at + 4)?,
        room: r.get(at + 5)?,
        start_time: r.get(at + 6)?,
        duration_minutes: r.get(at + 7)?,
        walk_in: r.get(at + 8)?,
    })
}

fn procedure_from_row(r: &Row<'_>) -> rusqlite::Result<Procedure> {
    Ok(Procedure {
        code: r.get(0)?,
        name: r.get(1)?,
        modality: r.get(2)?,
        body_part: r.get(3)?,
        duration_minutes: r.get(4)?,
        preparation: r.get(5)?,
        charge_cents: r.get(6)?,
    })
}

fn room_from_row(r: &Row<'_>) -> rusqlite::Result<Room> {
    let hours_json: String = r.get(4)?;
    let hours: [String; 7] = serde_json::from_str(&hours_json).unwrap_or_default();
    Ok(Room {
        id: r.get(0)?,
        name: r.get(1)?,
        modality: r.get(2)?,
        station_ae: r.get(3)?,
        hours,
    })
}

impl Store {
    /// Whether the catalogue has any entry (a fresh store has none until seeded).
    pub fn catalogue_is_empty(&self) -> StoreResult<bool> {
        self.cached_query_row("SELECT NOT EXISTS (SELECT 1 FROM procedures)", [], |r| {
            r.get(0)
        })
        .ctx("checking the catalogue")
    }

    /// Adds or replaces a catalogue entry.
    pub fn put_procedure(&self, p: &Procedure) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO procedures (code, name, modality, body_part, duration_minutes,
                    preparation, charge_cents) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name,
                    modality = excluded.modality, body_part = excluded.body_part,
                    duration_minutes = excluded.duration_minutes,
                    preparation = excluded.preparation, charge_cents = excluded.charge_cents",
            params![
                p.code,
                p.name,
                p.modality,
                p.body_part,
                p.duration_minutes,
                p.preparation,
                p.charge_cents
            ],
        )
        .ctx("saving a procedure")?;
        Ok(())
    }

    /// A catalogue entry by code (active ones only).
    pub fn procedure(&self, code: &str) -> StoreResult<Option<Procedure>> {
        self.cached_query_row(
            "SELECT code, name, modality, body_part, duration_minutes, preparation, charge_cents
                 FROM procedures WHERE code = ?1 AND active = 1",
            [code],
            procedure_from_row,
        )
        .optional()
        .ctx("reading a procedure")
    }

    /// The active catalogue, by modality and name (the order entry's procedure picker).
    pub fn procedures(&self) -> StoreResult<Vec<Procedure>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT code, name, modality, body_part, duration_minutes, preparation, charge_cents
                 FROM procedures WHERE active = 1 ORDER BY modality, name",
            )
            .ctx("preparing the catalogue")?;
        let rows = stmt
            .query_map([], procedure_from_row)
            .ctx("reading the catalogue")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading the catalogue")
    }

    /// The latest orders, newest first.
    pub fn recent_orders(&self, limit: usize) -> StoreResult<Vec<OrderRecord>> {
        self.orders_where("1 ORDER BY id DESC LIMIT ?1", [limit as i64])
    }

    /// Orders matching a condition (with its ORDER BY), the one place order lists are read.
    fn orders_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> StoreResult<Vec<OrderRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE {condition}"
            ))
            .ctx("preparing an order list")?;
        let rows = stmt
            .query_map(params, order_from_row)
            .ctx("reading orders")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading orders")
    }

    /// Distinct modalities of the active catalogue.
    pub fn catalogue_modalities(&self) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT modality FROM procedures WHERE active = 1 ORDER BY modality")
            .ctx("preparing modalities")?;
        let rows = stmt.query_map([], |r| r.get(0)).ctx("reading modalities")?;
        rows.collect::<Result<Vec<String>, _>>()
            .ctx("reading modalities")
    }

    /// Adds a room; returns its id.
    pub fn insert_room(
        &self,
        name: &str,
        modality: &str,
        station_ae: &str,
        hours: &[String; 7],
    ) -> StoreResult<i64> {
        let hours_json = serde_json::to_string(hours)
            .map_err(|e| StoreError::Invalid(format!("opening hours: {e}")))?;
        self.cached_execute(
            "INSERT INTO rooms (name, modality, station_ae, hours_json) VALUES (?1, ?2, ?3, ?4)",
            params![name, modality, station_ae, hours_json],
        )
        .ctx("adding a room")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Active rooms, optionally of one modality, by id.
    pub fn rooms(&self, modality: Option<&str>) -> StoreResult<Vec<Room>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, name, modality, station_ae, hours_json FROM rooms
                 WHERE active = 1 AND (?1 IS NULL OR modality = ?1) ORDER BY id",
            )
            .ctx("preparing rooms")?;
        let rows = stmt
            .query_map([modality], room_from_row)
            .ctx("reading rooms")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading rooms")
    }

    /// Whether any room exists (active or not): seeding happens only on a fresh store.
    pub fn any_room(&self) -> StoreResult<bool> {
        self.cached_query_row("SELECT EXISTS (SELECT 1 FROM rooms)", [], |r| r.get(0))
            .ctx("checking rooms")
    }

    /// Inserts an order, its step and the first history entry in one transaction.
    pub fn insert_order(
        &mut self,
        order: &OrderRecord,
        step: &StepRecord,
        actor: &str,
        note: &str,
    ) -> StoreResult<(i64, i64)> {
        let tx = self.conn.savepoint().ctx("starting an order")?;
        super::exec_cached(
            &tx,
            "INSERT INTO orders (patient, placer_number, placer_app, filler_number, accession,
                procedure_code, priority, reason, icd10, referring, insurance, authorisation,
                requested_time, status, review_reasons)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                order.patient,
                order.placer_number,
                order.placer_app,
                order.filler_number,
                order.accession,
                order.procedure_code,
                order.priority,
                order.reason,
                order.icd10,
                order.referring,
                order.insurance,
                order.authorisation,
                order.requested_time,
                order.status,
                order.review_reasons
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Invalid(format!(
                    "an order with placer number {} from {} already exists",
                    order.placer_number, order.placer_app
                ))
            }
            other => StoreError::Sql {
                context: "placing an order",
                source: other,
            },
        })?;
        let order_id = tx.last_insert_rowid();
        super::exec_cached(
            &tx,
            "INSERT INTO scheduled_steps (order_id, requested_procedure_id, step_id, study_uid,
                room, start_time, duration_minutes, walk_in)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                order_id,
                step.requested_procedure_id,
                step.step_id,
                step.study_uid,
                step.room,
                step.start_time,
                step.duration_minutes,
                step.walk_in
            ],
        )
        .ctx("adding the scheduled step")?;
        let step_id = tx.last_insert_rowid();
        super::exec_cached(
            &tx,
            "INSERT INTO exam_history (order_id, actor, from_status, to_status, note)
             VALUES (?1, ?2, '', ?3, ?4)",
            params![order_id, actor, order.status, note],
        )
        .ctx("recording the order's first status")?;
        super::exec_cached(
            &tx,
            "INSERT INTO practice_changes (kind, subject, actor) VALUES (?1, ?2, ?3)",
            params![super::changes::ORDER_PLACED, order.accession, actor],
        )
        .ctx("recording the order's first status")?;
        tx.commit().ctx("committing an order")?;
        Ok((order_id, step_id))
    }

    /// An order by accession number.
    pub fn order_by_accession(&self, accession: &str) -> StoreResult<Option<OrderRecord>> {
        self.cached_query_row(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE accession = ?1"),
            [accession],
            order_from_row,
        )
        .optional()
        .ctx("reading an order")
    }

    /// Orders in a status, oldest first.
    pub fn orders_with_status(&self, status: &str) -> StoreResult<Vec<OrderRecord>> {
        self.orders_where("status = ?1 ORDER BY id", [status])
    }

    /// A patient's orders, newest first (the patient's timeline).
    pub fn orders_of_patient(&self, patient: i64) -> StoreResult<Vec<OrderRecord>> {
        self.orders_where("patient = ?1 ORDER BY id DESC", [patient])
    }

    /// The step of an order.
    pub fn step_of_order(&self, order_id: i64) -> StoreResult<StepRecord> {
        self.cached_query_row(
            &format!("SELECT {STEP_COLUMNS} FROM scheduled_steps WHERE order_id = ?1"),
            [order_id],
            step_from_row,
        )
        .optional()
        .ctx("reading a step")?
        .ok_or_else(|| StoreError::NotFound(format!("scheduled step of order {order_id}")))
    }

    /// What the slot search needs of a room's bookings (not walk-ins) between `from` and
    /// `to`: (order, local start, minutes), by start time.
    pub fn room_busy(
        &self,
        room: i64,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<(i64, String, u32)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.order_id, s.start_time, s.duration_minutes
                 FROM scheduled_steps s JOIN orders o ON o.id = s.order_id
                 WHERE s.room = ?1 AND s.start_time < ?3 AND s.start_time >= ?4 AND s.walk_in = 0
                   AND o.status NOT IN ('cancelled', 'discontinued', 'ordered', 'needs_review')
                 ORDER BY s.start_time",
            )
            .ctx("preparing room bookings")?;
        let earliest = earlier_by_a_day(from);
        let rows = stmt
            .query_map(params![room, from, to, earliest], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .ctx("reading room bookings")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading room bookings")
    }

    /// Steps booked on a local date (YYYY-MM-DD), optionally in one room, by start time.
    pub fn steps_on(
        &self,
        date: &str,
        room: Option<i64>,
    ) -> StoreResult<Vec<(OrderRecord, StepRecord)>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {}, {} FROM scheduled_steps s JOIN orders o ON o.id = s.order_id
                 WHERE s.start_time >= ?1 AND s.start_time < ?2 AND (?3 IS NULL OR s.room = ?3)
                   AND o.status NOT IN ('cancelled', 'ordered', 'needs_review')
                 ORDER BY s.start_time, s.id",
                ORDER_COLUMNS
                    .split(", ")
                    .map(|c| format!("o.{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                STEP_COLUMNS
                    .split(", ")
                    .map(|c| format!("s.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .ctx("preparing the day's steps")?;
        let from = format!("{date}T00:00");
        let to = format!("{date}T99:99");
        let rows = stmt
            .query_map(params![from, to, room], |r| {
                let order = order_from_row(r)?;
                let step = step_at(r, 16)?;
                Ok((order, step))
            })
            .ctx("reading the day's steps")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading the day's steps")
    }

    /// Moves a step to a room and time (or unbooks it with `None`), sets the order's status and
    /// records the change, in one transaction.
    pub fn book_step(
        &mut self,
        order_id: i64,
        booking: Option<(i64, &str)>,
        walk_in: bool,
        new_status: &str,
        actor: &str,
        note: &str,
    ) -> StoreResult<()> {
        let tx = self.conn.savepoint().ctx("starting a booking")?;
        let (room, start) = match booking {
            Some((room, start)) => (Some(room), start.to_string()),
            None => (None, String::new()),
        };
        super::exec_cached(&tx,
            "UPDATE scheduled_steps SET room = ?2, start_time = ?3, walk_in = ?4 WHERE order_id = ?1",
            params![order_id, room, start, walk_in],
        )
        .ctx("booking a step")?;
        set_status(&tx, order_id, new_status, actor, note)?;
        tx.commit().ctx("committing a booking")
    }

    /// Changes an order's status and records who did it.
    pub fn set_order_status(
        &mut self,
        order_id: i64,
        new_status: &str,
        actor: &str,
        note: &str,
    ) -> StoreResult<()> {
        let tx = self.conn.savepoint().ctx("starting a status change")?;
        set_status(&tx, order_id, new_status, actor, note)?;
        tx.commit().ctx("committing a status change")
    }

    /// The exam's version: the number of its last recorded change (status or booking), 0
    /// before any. A workstation sends back the version it showed; if it moved meanwhile, its
    /// change is refused instead of overwriting someone else's (optimistic concurrency).
    pub fn exam_version(&self, order_id: i64) -> StoreResult<i64> {
        self.cached_query_row(
            "SELECT COALESCE(MAX(id), 0) FROM exam_history WHERE order_id = ?1",
            [order_id],
            |r| r.get(0),
        )
        .ctx("reading an exam's version")
    }

    /// An exam's history, oldest first.
    pub fn exam_history(&self, order_id: i64) -> StoreResult<Vec<HistoryEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, actor, from_status, to_status, note FROM exam_history
                 WHERE order_id = ?1 ORDER BY id",
            )
            .ctx("preparing history")?;
        let rows = stmt
            .query_map([order_id], |r| {
                Ok(HistoryEntry {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    from: r.get(2)?,
                    to: r.get(3)?,
                    note: r.get(4)?,
                })
            })
            .ctx("reading history")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading history")
    }
}

fn set_status(
    tx: &rusqlite::Connection,
    order_id: i64,
    new_status: &str,
    actor: &str,
    note: &str,
) -> StoreResult<()> {
    let (old, accession): (String, String) = tx
        .query_row(
            "SELECT status, accession FROM orders WHERE id = ?1",
            [order_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("reading an order's status")?
        .ok_or_else(|| StoreError::NotFound(format!("order {order_id}")))?;
    super::exec_cached(
        tx,
        "UPDATE orders SET status = ?2,
            completed_at = CASE WHEN ?2 = 'completed'
                THEN strftime('%Y-%m-%dT%H:%M:%fZ','now') ELSE completed_at END
         WHERE id = ?1",
        params![order_id, new_status],
    )
    .ctx("changing an order's status")?;
    super::exec_cached(
        tx,
        "INSERT INTO exam_history (order_id, actor, from_status, to_status, note)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![order_id, actor, old, new_status, note],
    )
    .ctx("recording a status change")?;
    super::exec_cached(
        tx,
        "INSERT INTO practice_changes (kind, subject, actor) VALUES (?1, ?2, ?3)",
        params![
            super::changes::EXAM_STATUS,
            format!("{accession} {new_status}"),
            actor
        ],
    )
    .ctx("recording a status change")?;
    Ok(())
}

/// "YYYY-MM-DDTHH:MM" a day earlier (string-wise good enough for a lower bound: the date part
/// is decremented through chrono).
fn earlier_by_a_day(local: &str) -> String {
    chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M")
        .map(|t| {
            (t - chrono::Duration::days(1))
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        })
        .unwrap_or_default()
}
