//! Practice-wide settings kept in the store, so the desktop and `serve` agree.

use rusqlite::{OptionalExtension, params};

use super::{SqlContext, Store, StoreResult};

/// Setting: may an AE that is not a configured node send images (C-STORE)? Default on:
/// a new scanner should not lose its images because nobody configured it yet.
pub const ALLOW_UNKNOWN_STORE: &str = "dicom.allow_unknown_store";
/// Setting: may an AE that is not a configured node query or retrieve? Default off:
/// patient data leaves only to known nodes.
pub const ALLOW_UNKNOWN_QUERY: &str = "dicom.allow_unknown_query";

impl Store {
    /// Reads a setting's text, if set.
    pub fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        self.cached_query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()
        .ctx("reading a setting")
    }

    /// Reads a yes/no setting, with its default when unset.
    pub fn flag(&self, key: &str, default: bool) -> StoreResult<bool> {
        Ok(match self.setting(key)?.as_deref() {
            Some("1") | Some("true") | Some("yes") | Some("on") => true,
            Some(_) => false,
            None => default,
        })
    }

    /// Writes a setting.
    pub fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .ctx("writing a setting")?;
        Ok(())
    }
}
