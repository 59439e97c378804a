//! Workstations paired with the practice server: the pending one-time code, the paired
//! workstation's secret (hashes only), and revocation. The rules (who may pair, how codes look,
//! how long they last) live in the domain's `access::workstations`.

use rusqlite::{OptionalExtension, params};

use crate::{SqlContext, Store, StoreResult};

/// A workstation as the administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkstationRecord {
    /// Row id (part of the workstation's credential).
    pub id: i64,
    /// The name given at pairing ("Front desk 2", "Dr Reed at home").
    pub name: String,
    /// Who started the pairing.
    pub created_by: String,
    /// When the pairing was started.
    pub created_at: String,
    /// When the workstation paired (None while its code is pending).
    pub paired_at: Option<String>,
    /// The address it paired from.
    pub paired_from: Option<String>,
    /// Its last sign-in.
    pub last_seen_at: Option<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
}

const COLUMNS: &str = "id, name, created_by, created_at, paired_at, paired_from, last_seen_at, \
                       revoked_at, revoked_by";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<WorkstationRecord> {
    Ok(WorkstationRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        created_by: r.get(2)?,
        created_at: r.get(3)?,
        paired_at: r.get(4)?,
        paired_from: r.get(5)?,
        last_seen_at: r.get(6)?,
        revoked_at: r.get(7)?,
        revoked_by: r.get(8)?,
    })
}

impl Store {
    /// Starts a pairing: a workstation row waiting for the code of hash `code_hash` until
    /// `expires_at`. Its id.
    pub fn insert_workstation_pairing(
        &self,
        name: &str,
        code_hash: &str,
        expires_at: &str,
        created_by: &str,
    ) -> StoreResult<i64> {
        self.cached_execute(
            "INSERT INTO workstations (name, code_hash, code_expires_at, created_by)
             VALUES (?1, ?2, ?3, ?4)",
            params![name, code_hash, expires_at, created_by],
        )
        .ctx("starting a workstation pairing")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Completes the pending pairing of `code_hash` if it has not expired by `now`: the code
    /// is used up and the workstation keeps `secret_hash`. The workstation, or None when no
    /// pending pairing has that code.
    pub fn complete_workstation_pairing(
        &self,
        code_hash: &str,
        now: &str,
        secret_hash: &str,
        from: &str,
    ) -> StoreResult<Option<WorkstationRecord>> {
        let id: Option<i64> = self
            .cached_query_row(
                "UPDATE workstations
                    SET code_hash = NULL, code_expires_at = NULL, secret_hash = ?3,
                        paired_at = ?2, paired_from = ?4
                  WHERE code_hash = ?1 AND code_expires_at > ?2 AND revoked_at IS NULL
                  RETURNING id",
                params![code_hash, now, secret_hash, from],
                |r| r.get(0),
            )
            .optional()
            .ctx("completing a workstation pairing")?;
        match id {
            Some(id) => self.workstation(id),
            None => Ok(None),
        }
    }

    /// A workstation by id.
    pub fn workstation(&self, id: i64) -> StoreResult<Option<WorkstationRecord>> {
        self.cached_query_row(
            &format!("SELECT {COLUMNS} FROM workstations WHERE id = ?1"),
            [id],
            record,
        )
        .optional()
        .ctx("reading a workstation")
    }

    /// The paired, unrevoked workstation `id` if `secret_hash` is its secret's.
    pub fn paired_workstation(
        &self,
        id: i64,
        secret_hash: &str,
    ) -> StoreResult<Option<WorkstationRecord>> {
        self.cached_query_row(
            &format!(
                "SELECT {COLUMNS} FROM workstations
                  WHERE id = ?1 AND secret_hash = ?2 AND revoked_at IS NULL"
            ),
            params![id, secret_hash],
            record,
        )
        .optional()
        .ctx("reading a workstation")
    }

    /// Notes a workstation's sign-in.
    pub fn workstation_seen(&self, id: i64, at: &str) -> StoreResult<()> {
        self.cached_execute(
            "UPDATE workstations SET last_seen_at = ?2 WHERE id = ?1",
            params![id, at],
        )
        .ctx("noting a workstation's sign-in")?;
        Ok(())
    }

    /// Every workstation, pending, paired and revoked, newest first.
    pub fn workstations(&self) -> StoreResult<Vec<WorkstationRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM workstations ORDER BY id DESC"
            ))
            .ctx("preparing the workstations")?;
        let rows = stmt.query_map([], record).ctx("reading the workstations")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading the workstations")
    }

    /// Revokes a workstation (its pending code too) and ends its sessions, in one
    /// transaction; false if it was already revoked or does not exist.
    pub fn revoke_workstation(&self, id: i64, by: &str, at: &str) -> StoreResult<bool> {
        let tx = self
            .conn
            .unchecked_transaction()
            .ctx("starting a workstation revocation")?;
        let n = crate::exec_cached(
            &tx,
            "UPDATE workstations SET revoked_at = ?2, revoked_by = ?3,
                    code_hash = NULL, code_expires_at = NULL
              WHERE id = ?1 AND revoked_at IS NULL",
            params![id, at, by],
        )
        .ctx("revoking a workstation")?;
        crate::exec_cached(
            &tx,
            "UPDATE api_sessions SET revoked = 1 WHERE workstation_id = ?1 AND revoked = 0",
            [id],
        )
        .ctx("ending a workstation's sessions")?;
        tx.commit().ctx("committing a workstation revocation")?;
        Ok(n > 0)
    }
}
