//! Orders, scheduling and exams (the RIS lane up to the images): placing and reviewing orders,
//! the calendars, booking, status changes at the desk, the day's exams and the scanners'
//! worklist, one exam's whole story.
//!
//! Lists that screens re-read whenever the practice changes are checked (ReadPatient) but not
//! audited on every re-read; what a person opens or searches is audited in the HIS calls.

use super::remote::forward;
use chrono::NaiveDateTime;

use super::Practice;
use crate::access::{Action, Actor};
use crate::ris::scheduling::{self, Slot};
use crate::ris::worklist::ScannerItem;
use crate::ris::{self, ExamStatus, OrderRequest, PlacedOrder, RisError};
use crate::store::ris::{OrderRecord, StepRecord, WorklistRow};

impl Practice {
    /// Places an order (validated against the catalogue; scheduled or left for review).
    pub fn place_order(
        &mut self,
        actor: &Actor,
        request: &OrderRequest,
        now: NaiveDateTime,
    ) -> Result<PlacedOrder, RisError> {
        forward!(self, "place_order", request, now);
        ris::place_order(&mut self.store, actor, request, now)
    }

    /// Moves an exam's status (the legal moves only).
    pub fn change_status(
        &mut self,
        actor: &Actor,
        accession: &str,
        to: ExamStatus,
        note: &str,
    ) -> Result<(), RisError> {
        forward!(self, "change_status", accession, to, note);
        ris::change_status(&mut self.store, actor, accession, to, note)
    }

    /// Orders in one status (e.g. needing review), newest first.
    pub fn orders_with_status(
        &self,
        actor: &Actor,
        status: ExamStatus,
    ) -> Result<Vec<OrderRecord>, RisError> {
        forward!(self, "orders_with_status", status);
        self.allow(actor, Action::ReadPatient, "orders")?;
        Ok(self.store.orders_with_status(status.code())?)
    }

    /// The latest `limit` orders.
    pub fn recent_orders(&self, actor: &Actor, limit: usize) -> Result<Vec<OrderRecord>, RisError> {
        forward!(self, "recent_orders", limit);
        self.allow(actor, Action::ReadPatient, "orders")?;
        Ok(self.store.recent_orders(limit)?)
    }

    /// An order by accession number.
    pub fn order(&self, actor: &Actor, accession: &str) -> Result<Option<OrderRecord>, RisError> {
        forward!(self, "order", accession);
        self.allow(actor, Action::ReadPatient, &format!("order:{accession}"))?;
        Ok(self.store.order_by_accession(accession)?)
    }

    /// The accession of the exam a study belongs to, if any.
    pub fn accession_of_study(&self, actor: &Actor, study_uid: &str) -> Option<String> {
        forward!(self, "accession_of_study", study_uid);
        self.allow(actor, Action::ReadPatient, &format!("study:{study_uid}"))
            .ok()?;
        self.store
            .order_by_study_uid(study_uid)
            .ok()
            .flatten()
            .map(|o| o.accession)
    }

    /// The insurance to put on a new order: the patient's newest policy (its row id) and its
    /// authorisation number when approved (empty otherwise).
    pub fn insurance_for_order(
        &self,
        actor: &Actor,
        patient: i64,
    ) -> Result<(Option<i64>, String), RisError> {
        forward!(self, "insurance_for_order", patient);
        self.allow(
            actor,
            Action::ReadPatient,
            &format!("patient-row:{patient}"),
        )?;
        let policy = self.store.insurance_of(patient)?.into_iter().next();
        let authorisation = policy
            .as_ref()
            .and_then(|p| self.store.authorisation(p.id).ok())
            .filter(|a| a.0 == "approved")
            .map(|a| a.1)
            .unwrap_or_default();
        Ok((policy.map(|p| p.id), authorisation))
    }

    /// The exams of a day (YYYY-MM-DD) with their rooms and patients, and for each the number
    /// of images archived.
    pub fn day_exams(
        &self,
        actor: &Actor,
        date: &str,
    ) -> Result<Vec<(WorklistRow, usize)>, RisError> {
        forward!(self, "day_exams", date);
        self.allow(actor, Action::ReadPatient, &format!("day:{date}"))?;
        Ok(self.store.day_exams(date)?)
    }

    /// The scheduled steps of a day, optionally of one room (the `worklist` command; audited).
    pub fn steps_on(
        &self,
        actor: &Actor,
        date: &str,
        room: Option<i64>,
    ) -> Result<Vec<(OrderRecord, StepRecord)>, RisError> {
        forward!(self, "steps_on", date, room);
        self.allow(actor, Action::ReadPatient, &format!("worklist:{date}"))?;
        let steps = self.store.steps_on(date, room)?;
        self.audit_read(
            actor,
            "worklist.read",
            &format!("worklist:{date}"),
            &format!("{} steps", steps.len()),
        );
        Ok(steps)
    }

    /// The worklist of a day as the scanners see it (what the C-FIND SCP would answer).
    pub fn scanner_worklist(
        &self,
        actor: &Actor,
        date: &str,
    ) -> Result<Vec<ScannerItem>, RisError> {
        forward!(self, "scanner_worklist", date);
        self.allow(actor, Action::ReadPatient, &format!("worklist:{date}"))?;
        Ok(ris::worklist::scanner_view(&self.store, date)?)
    }

    /// Orders waiting for an appointment, oldest first.
    pub fn to_be_scheduled(&self, actor: &Actor) -> Result<Vec<OrderRecord>, RisError> {
        forward!(self, "to_be_scheduled");
        self.allow(actor, Action::ReadPatient, "orders")?;
        scheduling::to_be_scheduled(&self.store)
    }

    /// The first free slot for a modality after `after`, looking `days` ahead.
    pub fn find_slot(
        &self,
        modality: &str,
        duration_minutes: u32,
        after: NaiveDateTime,
        days: u32,
    ) -> Result<Option<Slot>, RisError> {
        forward!(self, "find_slot", modality, duration_minutes, after, days);
        scheduling::find_slot(&self.store, modality, duration_minutes, after, days)
    }

    /// Books (or moves) an exam into a room at a time; two desks asking for one slot get one
    /// booking and one [`RisError::Conflict`]. Returns the exam's new version.
    pub fn book(
        &mut self,
        actor: &Actor,
        accession: &str,
        room: i64,
        start: NaiveDateTime,
        note: &str,
    ) -> Result<i64, RisError> {
        forward!(self, "book", accession, room, start, note);
        scheduling::book(&mut self.store, actor, accession, room, start, note, None)
    }

    /// [`Practice::book`] only if the exam is still at `seen_version` (what the desk showed):
    /// otherwise [`RisError::Stale`], and nothing changes.
    pub fn book_seen(
        &mut self,
        actor: &Actor,
        accession: &str,
        room: i64,
        start: NaiveDateTime,
        note: &str,
        seen_version: i64,
    ) -> Result<i64, RisError> {
        forward!(
            self,
            "book_seen",
            accession,
            room,
            start,
            note,
            seen_version
        );
        scheduling::book(
            &mut self.store,
            actor,
            accession,
            room,
            start,
            note,
            Some(seen_version),
        )
    }

    /// The exam's version (its last recorded change), for [`Practice::book_seen`].
    pub fn exam_version(&self, actor: &Actor, accession: &str) -> Result<i64, RisError> {
        forward!(self, "exam_version", accession);
        self.allow(actor, Action::ReadPatient, &format!("order:{accession}"))?;
        let order = ris::order_named(&self.store, accession)?;
        Ok(self.store.exam_version(order.id)?)
    }

    /// Records that the patient did not come.
    pub fn no_show(&mut self, actor: &Actor, accession: &str) -> Result<(), RisError> {
        forward!(self, "no_show", accession);
        scheduling::no_show(&mut self.store, actor, accession)
    }

    /// One exam's state as JSON: patient, procedure, status, scheduled step, history
    /// (audited).
    pub fn exam_json(&self, actor: &Actor, accession: &str) -> Result<serde_json::Value, RisError> {
        forward!(self, "exam_json", accession);
        ris::exam_json(&self.store, actor, accession)
    }
}
