//! Performed procedure steps (MPPS) and finding an order by its study or row id.

use super::*;

/// A performed procedure step as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PerformedStep {
    /// Its SOP Instance UID (chosen by the scanner).
    pub sop_instance_uid: String,
    /// The order it performs, if it could be matched.
    pub order_id: Option<i64>,
    /// IN PROGRESS, COMPLETED or DISCONTINUED.
    pub status: String,
    /// Performing station AE.
    pub station_ae: String,
    /// Study Instance UID the scanner used.
    pub study_uid: String,
    /// JSON list of performed series.
    pub performed_series: String,
    /// Why it was discontinued.
    pub discontinue_reason: String,
}

impl Store {
    /// Records a new performed step; false if its UID already exists.
    pub fn insert_performed_step(&self, step: &PerformedStep) -> StoreResult<bool> {
        let n = self
            .conn
            .execute(
                "INSERT INTO performed_steps (sop_instance_uid, order_id, status, station_ae,
                    study_uid, performed_series, discontinue_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (sop_instance_uid) DO NOTHING",
                params![
                    step.sop_instance_uid,
                    step.order_id,
                    step.status,
                    step.station_ae,
                    step.study_uid,
                    step.performed_series,
                    step.discontinue_reason
                ],
            )
            .ctx("recording a performed step")?;
        Ok(n == 1)
    }

    /// A performed step by UID.
    pub fn performed_step(&self, uid: &str) -> StoreResult<Option<PerformedStep>> {
        self.cached_query_row(
            "SELECT sop_instance_uid, order_id, status, station_ae, study_uid,
                        performed_series, discontinue_reason
                 FROM performed_steps WHERE sop_instance_uid = ?1",
            [uid],
            |r| {
                Ok(PerformedStep {
                    sop_instance_uid: r.get(0)?,
                    order_id: r.get(1)?,
                    status: r.get(2)?,
                    station_ae: r.get(3)?,
                    study_uid: r.get(4)?,
                    performed_series: r.get(5)?,
                    discontinue_reason: r.get(6)?,
                })
            },
        )
        .optional()
        .ctx("reading a performed step")
    }

    /// Updates a performed step's status, series and reason.
    pub fn update_performed_step(&self, step: &PerformedStep) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE performed_steps SET status = ?2, performed_series = ?3,
                    discontinue_reason = ?4,
                    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
                 WHERE sop_instance_uid = ?1",
            params![
                step.sop_instance_uid,
                step.status,
                step.performed_series,
                step.discontinue_reason
            ],
        )
        .ctx("updating a performed step")?;
        Ok(())
    }

    /// The order whose step has this Study Instance UID.
    pub fn order_by_study_uid(&self, study_uid: &str) -> StoreResult<Option<OrderRecord>> {
        self.cached_query_row(
            &format!(
                "SELECT {} FROM orders o JOIN scheduled_steps s ON s.order_id = o.id
                     WHERE s.study_uid = ?1",
                ORDER_COLUMNS
                    .split(", ")
                    .map(|c| format!("o.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            [study_uid],
            order_from_row,
        )
        .optional()
        .ctx("finding an order by Study Instance UID")
    }

    /// An order by row id.
    pub fn order_by_id(&self, id: i64) -> StoreResult<Option<OrderRecord>> {
        self.cached_query_row(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1"),
            [id],
            order_from_row,
        )
        .optional()
        .ctx("reading an order")
    }
}
