//! The `service_health` table: each background service's last reported state.

use rusqlite::params;

use super::{SqlContext, Store, StoreResult};

/// What a service is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Working.
    Running,
    /// It failed and is being started again.
    Restarting,
    /// It failed and is not running (it could not be started).
    Down,
    /// Stopped on purpose (shutdown).
    Stopped,
}

impl ServiceState {
    /// The word stored and shown.
    pub fn code(self) -> &'static str {
        match self {
            ServiceState::Running => "running",
            ServiceState::Restarting => "restarting",
            ServiceState::Down => "down",
            ServiceState::Stopped => "stopped",
        }
    }

    /// The state named by [`ServiceState::code`].
    pub fn from_code(code: &str) -> Option<ServiceState> {
        Some(match code {
            "running" => ServiceState::Running,
            "restarting" => ServiceState::Restarting,
            "down" => ServiceState::Down,
            "stopped" => ServiceState::Stopped,
            _ => return None,
        })
    }
}

/// One service's last reported state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceHealth {
    /// Its name (`dicom`, `hl7`, `hl7-writer`, `hl7-sender`, `index-writer`, …).
    pub service: String,
    /// Its state.
    pub state: ServiceState,
    /// What it is doing ("listening on 0.0.0.0:11112").
    pub detail: String,
    /// Where a listener listens (empty for other services).
    pub address: String,
    /// The last failure, kept after a successful restart so the cause stays visible.
    pub last_error: String,
    /// How many times it was restarted by the supervisor.
    pub restarts: u32,
    /// When the state began (UTC, RFC 3339).
    pub since: String,
    /// The process that reported it.
    pub process_id: u32,
}

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
