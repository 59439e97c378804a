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
    /// Stores a message under its key; returns the existing record if the key was seen.
    pub fn store_inbound(
        &self,
        key: (&str, &str, &str),
        message_type: &str,
        raw: &str,
    ) -> StoreResult<Result<i64, InboundRecord>> {
        if let Some(existing) = self
            .conn
            .query_row(
                "SELECT id, status, ack FROM hl7_inbound
                 WHERE sending_application = ?1 AND sending_facility = ?2 AND control_id = ?3",
                params![key.0, key.1, key.2],
                |r| {
                    Ok(InboundRecord {
                        id: r.get(0)?,
                        status: r.get(1)?,
                        ack: r.get(2)?,
                    })
                },
            )
            .optional()
            .ctx("looking up an inbound message")?
        {
            return Ok(Err(existing));
        }
        self.conn
            .execute(
                "INSERT INTO hl7_inbound (sending_application, sending_facility, control_id,
                    message_type, raw) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.0, key.1, key.2, message_type, raw],
            )
            .ctx("storing an inbound message")?;
        Ok(Ok(self.conn.last_insert_rowid()))
    }

    /// Records what became of a stored message and the ACK sent.
    pub fn finish_inbound(&self, id: i64, status: &str, ack: &str) -> StoreResult<()> {
        self.conn
            .execute(
                "UPDATE hl7_inbound SET status = ?2, ack = ?3 WHERE id = ?1",
                params![id, status, ack],
            )
            .ctx("recording an inbound message's outcome")?;
        Ok(())
    }

    /// An order by its placer application and placer number.
    pub fn order_by_placer(&self, app: &str, number: &str) -> StoreResult<Option<String>> {
        self.conn
            .query_row(
                "SELECT accession FROM orders WHERE placer_app = ?1 AND placer_number = ?2",
                params![app, number],
                |r| r.get(0),
            )
            .optional()
            .ctx("finding an order by placer number")
    }
}
