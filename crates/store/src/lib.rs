//! The one SQLite store every lane shares.
//!
//! All SQL lives below this folder, behind typed functions: domain code, services and
//! screens never build SQL strings. Each thread opens its own [`Store`] (a connection);
//! the database runs in WAL mode so readers never block the single writer for long.
//!
//! Depends on: SQLite (rusqlite) only. Used by: the domain (through the Practice API) and the
//! services; never by the screens or the command line.

#![warn(missing_docs)]

pub mod access;
pub mod administration;
pub mod changes;
pub mod health;
pub mod his;
pub mod hl7;
pub mod hl7_sources;
pub mod index;
pub mod nodes;
pub mod reports;
pub mod ris;
pub mod settings;
pub mod viewing;
pub mod workstations;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// Errors from the store, each naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot update the database schema: {0}")]
    Migrate(#[from] rusqlite_migration::Error),
    /// A query or statement failed.
    #[error("database error while {context}: {source}")]
    Sql {
        /// What the store was doing.
        context: &'static str,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A value asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A value given to the store breaks one of its rules.
    #[error("{0}")]
    Invalid(String),
    /// The data lives elsewhere and could not be reached (a workstation's server is away).
    #[error("{0}")]
    Unavailable(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Attaches a short description of the operation to a rusqlite error.
pub(crate) trait SqlContext<T> {
    fn ctx(self, context: &'static str) -> StoreResult<T>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, context: &'static str) -> StoreResult<T> {
        self.map_err(|source| StoreError::Sql { context, source })
    }
}

/// The schema, one migration per step. Later lanes add theirs at the end; never edit a
/// migration that has shipped.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/001_archive.sql")),
        M::up(include_str!("migrations/002_ris.sql")),
        M::up(include_str!("migrations/003_mpps.sql")),
        M::up(include_str!("migrations/004_arrivals.sql")),
        M::up(include_str!("migrations/005_reports_billing.sql")),
        M::up(include_str!("migrations/006_merges.sql")),
        M::up(include_str!("migrations/007_encounters.sql")),
        M::up(include_str!("migrations/008_merge_studies.sql")),
        M::up(include_str!("migrations/009_hl7_inbound.sql")),
        M::up(include_str!("migrations/010_hl7_outbound.sql")),
        M::up(include_str!("migrations/011_viewing.sql")),
        M::up(include_str!("migrations/012_front_doors.sql")),
        M::up(include_str!("migrations/013_practice_changes.sql")),
        M::up(include_str!("migrations/014_critical_communications.sql")),
        M::up(include_str!("migrations/015_user_preferences.sql")),
        M::up(include_str!("migrations/016_api_sessions.sql")),
        M::up(include_str!("migrations/017_workstations.sql")),
        M::up(include_str!("migrations/018_folded_patient_names.sql")),
        M::up(include_str!("migrations/019_folded_his_names.sql")),
    ])
}

/// Text as searches compare it: Unicode lower case ("MÜLLER" → "müller"). The `lb_fold` SQL
/// function and the folded columns written from Rust both use this one function.
pub(crate) fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// The SQL functions the schema and the queries use, on every connection (migrations
/// included).
fn register_functions(conn: &Connection) -> StoreResult<()> {
    // `lb_fold(text)`: Unicode lower case, for searches typed in any case ("müller" finds
    // MÜLLER; SQLite's own LIKE folds ASCII letters only).
    conn.create_scalar_function(
        "lb_fold",
        1,
        rusqlite::functions::FunctionFlags::SQLITE_UTF8
            | rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                rusqlite::types::ValueRef::Text(t) => Some(fold(&String::from_utf8_lossy(t))),
                _ => None,
            })
        },
    )
    .ctx("registering the search folding function")?;
    Ok(())
}

/// `execute` on a transaction or savepoint with the statement kept prepared.
pub(crate) fn exec_cached<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// SQLite's busy handler: `true` to try again after a millisecond, for at most
/// [`BUSY_WAIT_LIMIT_MS`] tries (then the statement fails as busy).
fn retry_while_busy(tries: i32) -> bool {
    if tries >= BUSY_WAIT_LIMIT_MS {
        return false;
    }
    std::thread::sleep(Duration::from_millis(1));
    true
}

/// How long a statement waits for another connection's write, in milliseconds (tries).
const BUSY_WAIT_LIMIT_MS: i32 = 30_000;

/// One connection to the store. Cheap to open; open one per thread.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let mut conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        // A writer waiting for another retries every millisecond for up to 30 s. SQLite's own
        // busy timeout backs off to 100 ms sleeps, and a waiter asleep that long loses the lock
        // to whoever writes next: under an HL7 burst a scanner's images waited out the whole
        // burst (2.5 s for 120 images, ×13 the idle time, in the load test).
        conn.busy_handler(Some(retry_while_busy))
            .ctx("setting the busy handler")?;
        // WAL: readers do not block the writer. NORMAL: a commit survives a crash of the
        // process; the archive's sync batcher makes it survive a power loss (see
        // `archive::durability`).
        conn.pragma_update(None, "journal_mode", "WAL")
            .ctx("enabling WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .ctx("setting synchronous")?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .ctx("enabling foreign keys")?;
        // Read pages through a memory map (no system call per page) and keep a 16 MiB cache:
        // queries over a large index stay fast even on a connection that just opened.
        conn.pragma_update(None, "mmap_size", 268_435_456i64)
            .ctx("enabling memory-mapped reads")?;
        conn.pragma_update(None, "cache_size", -16_000i64)
            .ctx("setting the page cache size")?;
        // Statement journals of savepoints (one per HL7 message, one per domain step) in
        // memory, not in temporary files.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .ctx("keeping temporary tables in memory")?;
        conn.set_prepared_statement_cache_capacity(256);
        register_functions(&conn)?;
        migrations().to_latest(&mut conn)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// `Connection::execute` with the statement kept prepared: the same statements run for
    /// every message and image, and parsing SQL each time cost more than running it.
    pub(crate) fn cached_execute<P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
    ) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(params)
    }

    /// `Connection::query_row` with the statement kept prepared.
    pub(crate) fn cached_query_row<T, P, F>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.conn.prepare_cached(sql)?.query_row(params, f)
    }

    /// Runs `work` as one write transaction taken before it reads (`BEGIN IMMEDIATE`): a
    /// check and the write it guards (is the slot still free? then book it) see no other
    /// connection's commit in between, whichever process holds that connection. Commits when
    /// `work` returns `Ok`, rolls back otherwise; nested savepoints inside `work` are fine.
    pub fn exclusively<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        // Inside a transaction already (an HL7 message's savepoint): that transaction is the
        // unit, and a savepoint keeps this work's rollback to itself.
        let (begin, commit, rollback) = if self.conn.is_autocommit() {
            ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
        } else {
            (
                "SAVEPOINT lb_exclusive",
                "RELEASE lb_exclusive",
                "ROLLBACK TO lb_exclusive; RELEASE lb_exclusive",
            )
        };
        self.conn
            .execute_batch(begin)
            .ctx("starting an exclusive write")?;
        match work(self) {
            Ok(done) => {
                if let Err(source) = self.conn.execute_batch(commit) {
                    let _ = self.conn.execute_batch(rollback);
                    return Err(StoreError::Sql {
                        context: "committing an exclusive write",
                        source,
                    }
                    .into());
                }
                Ok(done)
            }
            Err(e) => {
                let _ = self.conn.execute_batch(rollback);
                Err(e)
            }
        }
    }

    /// Opens the database at `path` and refuses every write on it from then on: a
    /// workstation's stand-in store, which holds nothing of the practice's (the server does)
    /// and must never quietly keep something a call meant for the server.
    pub fn open_inert(path: &Path) -> StoreResult<Store> {
        let store = Store::open(path)?;
        store
            .conn
            .pragma_update(None, "query_only", "ON")
            .ctx("refusing writes")?;
        Ok(store)
    }

    /// Opens another connection to the same database, for another thread.
    pub fn reopen(&self) -> StoreResult<Store> {
        Store::open(&self.path)
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Forces the write-ahead log to stable storage (a checkpoint syncs it first).
    /// Called by the durability batcher after the archive files are fsynced.
    pub fn sync_to_disk(&self) -> StoreResult<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .ctx("checkpointing the write-ahead log")
    }
}

/// A few open connections shared by a service's tasks, so a request does not pay for opening
/// a connection and warming its page cache.
pub struct StorePool {
    path: PathBuf,
    idle: std::sync::Mutex<Vec<Store>>,
}

/// Connections kept open when idle.
const POOL_IDLE_MAX: usize = 8;

impl StorePool {
    /// A pool over the database at `path` (opened lazily).
    pub fn new(path: &Path) -> std::sync::Arc<StorePool> {
        std::sync::Arc::new(StorePool {
            path: path.to_path_buf(),
            idle: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// A new connection of its own, for work that needs `&mut Store` (transactions).
    pub fn open_owned(&self) -> StoreResult<Store> {
        Store::open(&self.path)
    }

    /// Takes an idle connection or opens one; it returns to the pool when dropped.
    pub fn get(self: &std::sync::Arc<Self>) -> StoreResult<PooledStore> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let store = match idle {
            Some(s) => s,
            None => Store::open(&self.path)?,
        };
        Ok(PooledStore {
            store: Some(store),
            pool: self.clone(),
        })
    }
}

/// A connection borrowed from a [`StorePool`].
pub struct PooledStore {
    store: Option<Store>,
    pool: std::sync::Arc<StorePool>,
}

impl std::ops::Deref for PooledStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        // Present from creation until drop.
        self.store
            .as_ref()
            .unwrap_or_else(|| unreachable!("pooled store used after drop"))
    }
}

impl Drop for PooledStore {
    fn drop(&mut self) {
        if let (Some(store), Ok(mut idle)) = (self.store.take(), self.pool.idle.lock())
            && idle.len() < POOL_IDLE_MAX
        {
            idle.push(store);
        }
    }
}

impl Store {
    /// Makes every commit on this connection fsync the write-ahead log. Used by the sync
    /// thread, whose commit then also makes all earlier commits durable.
    pub fn set_synchronous_full(&self) -> StoreResult<()> {
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .ctx("setting synchronous=FULL")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        // As `validate` does, on a fresh in-memory database, with the functions the schema
        // uses registered first.
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        register_functions(&conn).expect("functions");
        migrations()
            .to_latest(&mut conn)
            .expect("every migration applies");
    }

    #[test]
    fn opens_twice_on_one_file() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let a = Store::open(&dir.path().join("db.sqlite"))?;
        let b = a.reopen()?;
        assert_eq!(a.path(), b.path());
        Ok(())
    }
}
