//! The `service_health` table: each background service's last reported state.

use rusqlite::params;

use super::{SqlContext, Store, StoreResult};
use crate::health::{ServiceHealth, ServiceState};

impl Store {
    /// Writes one service's state (replacing what it reported before).
    pub fn record_service_health(&self, h: &ServiceHealth) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO service_health (service, state, detail, last_error, restarts, since,
                    process_id, address)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (service) DO UPDATE SET state = excluded.state, detail = excluded.detail,
                last_error = excluded.last_error, restarts = excluded.restarts,
                since = excluded.since, process_id = excluded.process_id,
                address = excluded.address",
            params![
                h.service,
                h.state.code(),
                h.detail,
                h.last_error,
                h.restarts,
                h.since,
                h.process_id,
                h.address
            ],
        )
        .ctx("recording a service's health")?;
        Ok(())
    }

    /// Every service's last reported state, by name.
    pub fn service_health(&self) -> StoreResult<Vec<ServiceHealth>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT service, state, detail, last_error, restarts, since, process_id, address
                 FROM service_health ORDER BY service",
            )
            .ctx("reading service health")?;
        let rows = stmt
            .query_map([], |r| {
                let state: String = r.get(1)?;
                Ok(ServiceHealth {
                    service: r.get(0)?,
                    state: ServiceState::from_code(&state).unwrap_or(ServiceState::Down),
                    detail: r.get(2)?,
                    last_error: r.get(3)?,
                    restarts: r.get(4)?,
                    since: r.get(5)?,
                    process_id: r.get(6)?,
                    address: r.get(7)?,
                })
            })
            .ctx("reading service health")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading service health")
    }
}
