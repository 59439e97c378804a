//! The one SQLite store every lane shares.
//!
//! All SQL lives below this folder, behind typed functions: domain code, services and
//! screens never build SQL strings. Each thread opens its own [`Store`] (a connection);
//! the database runs in WAL mode so readers never block the single writer for long.

pub mod index;
pub mod nodes;
pub mod settings;

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
    Migrations::new(vec![M::up(include_str!("migrations/001_archive.sql"))])
}

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
        conn.busy_timeout(Duration::from_secs(30))
            .ctx("setting the busy timeout")?;
        // WAL: readers do not block the writer. NORMAL: a commit survives a crash of the
        // process; the archive's sync batcher makes it survive a power loss (see
        // `archive::durability`).
        conn.pragma_update(None, "journal_mode", "WAL")
            .ctx("enabling WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .ctx("setting synchronous")?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .ctx("enabling foreign keys")?;
        migrations().to_latest(&mut conn)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
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
        assert!(migrations().validate().is_ok());
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
