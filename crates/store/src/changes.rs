//! The change journal's table: rows appended in the transaction of a change, read in order
//! after a cursor by whoever follows the practice. What the kinds mean is the domain's
//! (`lightbox_domain::changes`); here they are text. Placing an order and moving an exam's
//! status are recorded by the store itself, in the transaction that writes the order's history.

use rusqlite::params;

use super::{SqlContext, Store, StoreResult};

/// Kind of the row written when an order is placed (subject: the accession).
pub const ORDER_PLACED: &str = "order.placed";
/// Kind of the row written when an exam's status moves (subject: "accession status").
pub const EXAM_STATUS: &str = "exam.status";

/// One journal row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChange {
    /// Row id: the cursor a follower keeps.
    pub id: i64,
    /// When (UTC, ISO 8601).
    pub at: String,
    /// What kind of change (`patient.registered`, `order.placed` …).
    pub kind: String,
    /// What it concerns (an MRN, an accession, a Study Instance UID, a setting key).
    pub subject: String,
    /// Who made it (a login, `hl7:<app>`, `dicom:<AE>`, `system`).
    pub actor: String,
}

impl Store {
    /// Appends a change to the journal (inside the caller's transaction, if any).
    pub fn record_change(&self, kind: &str, subject: &str, actor: &str) -> StoreResult<i64> {
        self.cached_execute(
            "INSERT INTO practice_changes (kind, subject, actor) VALUES (?1, ?2, ?3)",
            params![kind, subject, actor],
        )
        .ctx("recording a change")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Up to `limit` changes after `cursor`, oldest first.
    pub fn changes_after(&self, cursor: i64, limit: usize) -> StoreResult<Vec<StoredChange>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, at, kind, subject, actor FROM practice_changes
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .ctx("reading the change journal")?;
        let rows = stmt
            .query_map(params![cursor, limit as i64], |r| {
                Ok(StoredChange {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    kind: r.get(2)?,
                    subject: r.get(3)?,
                    actor: r.get(4)?,
                })
            })
            .ctx("reading the change journal")?;
        rows.collect::<Result<_, _>>()
            .ctx("reading the change journal")
    }

    /// The journal's last row id (0 when empty): where a new follower starts.
    pub fn last_change(&self) -> StoreResult<i64> {
        self.cached_query_row(
            "SELECT coalesce(max(id), 0) FROM practice_changes",
            [],
            |r| r.get(0),
        )
        .ctx("reading the change journal's end")
    }
}
