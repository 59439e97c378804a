//! Practice-wide settings kept in the store, so the desktop and `serve` agree.

use rusqlite::{OptionalExtension, params};

use super::{SqlContext, Store, StoreResult};

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

    /// One user's own preference (a layout choice), if they made it.
    pub fn user_preference(&self, login: &str, key: &str) -> StoreResult<Option<String>> {
        self.cached_query_row(
            "SELECT value FROM user_preferences WHERE login = ?1 AND key = ?2",
            [login, key],
            |r| r.get(0),
        )
        .optional()
        .ctx("reading a user's preference")
    }

    /// Keeps one user's own preference.
    pub fn set_user_preference(&self, login: &str, key: &str, value: &str) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO user_preferences (login, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (login, key) DO UPDATE SET value = excluded.value",
            params![login, key, value],
        )
        .ctx("writing a user's preference")?;
        Ok(())
    }
}
