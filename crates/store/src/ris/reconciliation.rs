//! Arrived studies linked to their orders, and the queue of those that match none.

use super::*;

/// An item of the reconciliation queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReconciliationItem {
    /// Row id.
    pub id: i64,
    /// The study as received.
    pub study_uid: String,
    /// Its accession number.
    pub accession: String,
    /// Its Patient ID.
    pub patient_id: String,
    /// Its patient name (DICOM PN).
    pub patient_name: String,
    /// Its birth date (DICOM DA).
    pub birth_date: String,
    /// The order it seems to belong to.
    pub order_id: Option<i64>,
    /// Why it needs a person.
    pub reason: String,
    /// open or resolved.
    pub status: String,
}

impl Store {
    /// Marks a study as arrived; false if it had arrived before (then nothing is matched again).
    pub fn note_study_arrival(&self, study_uid: &str) -> StoreResult<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO study_arrivals (study_uid) VALUES (?1) ON CONFLICT DO NOTHING",
                [study_uid],
            )
            .ctx("noting a study's arrival")?;
        Ok(n == 1)
    }

    /// Links an arrived study to its order.
    pub fn link_study_to_order(&self, study_uid: &str, order_id: i64) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE study_arrivals SET order_id = ?2 WHERE study_uid = ?1",
            params![study_uid, order_id],
        )
        .ctx("linking a study to its order")?;
        Ok(())
    }

    /// Adds an item to the reconciliation queue.
    pub fn queue_for_reconciliation(&self, item: &ReconciliationItem) -> StoreResult<i64> {
        self.cached_execute(
            "INSERT INTO reconciliation (study_uid, accession, patient_id, patient_name,
                    birth_date, order_id, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                item.study_uid,
                item.accession,
                item.patient_id,
                item.patient_name,
                item.birth_date,
                item.order_id,
                item.reason
            ],
        )
        .ctx("queueing for reconciliation")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Open reconciliation items, oldest first.
    pub fn open_reconciliation(&self) -> StoreResult<Vec<ReconciliationItem>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, study_uid, accession, patient_id, patient_name, birth_date, order_id,
                        reason, status FROM reconciliation WHERE status = 'open' ORDER BY id",
            )
            .ctx("preparing the reconciliation queue")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ReconciliationItem {
                    id: r.get(0)?,
                    study_uid: r.get(1)?,
                    accession: r.get(2)?,
                    patient_id: r.get(3)?,
                    patient_name: r.get(4)?,
                    birth_date: r.get(5)?,
                    order_id: r.get(6)?,
                    reason: r.get(7)?,
                    status: r.get(8)?,
                })
            })
            .ctx("reading the reconciliation queue")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading the reconciliation queue")
    }

    /// One reconciliation item.
    pub fn reconciliation_item(&self, id: i64) -> StoreResult<ReconciliationItem> {
        self.cached_query_row(
            "SELECT id, study_uid, accession, patient_id, patient_name, birth_date, order_id,
                        reason, status FROM reconciliation WHERE id = ?1",
            [id],
            |r| {
                Ok(ReconciliationItem {
                    id: r.get(0)?,
                    study_uid: r.get(1)?,
                    accession: r.get(2)?,
                    patient_id: r.get(3)?,
                    patient_name: r.get(4)?,
                    birth_date: r.get(5)?,
                    order_id: r.get(6)?,
                    reason: r.get(7)?,
                    status: r.get(8)?,
                })
            },
        )
        .optional()
        .ctx("reading a reconciliation item")?
        .ok_or_else(|| StoreError::NotFound(format!("reconciliation item {id}")))
    }

    /// Closes a reconciliation item with what was done.
    pub fn resolve_reconciliation(&self, id: i64, by: &str, resolution: &str) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE reconciliation SET status = 'resolved', resolved_by = ?2, resolution = ?3,
                    resolved_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?1",
            params![id, by, resolution],
        )
        .ctx("resolving a reconciliation item")?;
        Ok(())
    }
}
