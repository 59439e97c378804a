//! HL7 sources: the systems allowed to send messages here (see `crate::hl7::sources`).

use rusqlite::{OptionalExtension, params};

use super::{SqlContext, Store, StoreError, StoreResult};

/// The kinds of message a source can be allowed: `adt` (registration, updates, visits),
/// `merge` (A40), `orders` (ORM, OMI, OMG) and `results` (ORU from a dictation system).
pub const MESSAGE_CLASSES: [&str; 4] = ["adt", "merge", "orders", "results"];

/// A configured inbound HL7 sender.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Hl7Source {
    /// Row id (0 before insertion).
    pub id: i64,
    /// Unique name shown to people ("EHR", "Dictation").
    pub name: String,
    /// MSH-3 it sends (compared without regard to case).
    pub application: String,
    /// MSH-4 it sends (empty: any facility of that application).
    pub facility: String,
    /// Address or name it connects from (empty: any host).
    pub host: String,
    /// Comma list of [`MESSAGE_CLASSES`].
    pub messages: String,
}

impl Hl7Source {
    /// Whether this source may send messages of `class` (one of [`MESSAGE_CLASSES`]).
    pub fn allows(&self, class: &str) -> bool {
        self.messages
            .split(',')
            .any(|m| m.trim().eq_ignore_ascii_case(class))
    }
}

fn source_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hl7Source> {
    Ok(Hl7Source {
        id: r.get(0)?,
        name: r.get(1)?,
        application: r.get(2)?,
        facility: r.get(3)?,
        host: r.get(4)?,
        messages: r.get(5)?,
    })
}

impl Store {
    /// Adds a source, or replaces the one with the same name; returns its id.
    pub fn save_hl7_source(&self, source: &Hl7Source) -> StoreResult<i64> {
        if source.name.trim().is_empty() || source.application.trim().is_empty() {
            return Err(StoreError::Invalid(
                "an HL7 source needs a name and a sending application".into(),
            ));
        }
        if let Some(bad) = source
            .messages
            .split(',')
            .map(str::trim)
            .find(|m| !MESSAGE_CLASSES.contains(m))
        {
            return Err(StoreError::Invalid(format!(
                "unknown message kind {bad:?} (adt, merge, orders, results)"
            )));
        }
        self.cached_execute(
            "INSERT INTO hl7_sources (name, application, facility, host, messages)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (name) DO UPDATE SET application = excluded.application,
                facility = excluded.facility, host = excluded.host, messages = excluded.messages",
            params![
                source.name.trim(),
                source.application.trim(),
                source.facility.trim(),
                source.host.trim(),
                source.messages
            ],
        )
        .ctx("saving an HL7 source")?;
        self.cached_query_row(
            "SELECT id FROM hl7_sources WHERE name = ?1",
            [source.name.trim()],
            |r| r.get(0),
        )
        .ctx("reading an HL7 source's id")
    }

    /// Removes a source by name; returns whether it existed.
    pub fn remove_hl7_source(&self, name: &str) -> StoreResult<bool> {
        let n = self
            .conn
            .execute("DELETE FROM hl7_sources WHERE name = ?1", [name])
            .ctx("removing an HL7 source")?;
        Ok(n > 0)
    }

    /// Every source, by name.
    pub fn hl7_sources(&self) -> StoreResult<Vec<Hl7Source>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, name, application, facility, host, messages
                 FROM hl7_sources ORDER BY name",
            )
            .ctx("listing HL7 sources")?;
        let rows = stmt
            .query_map([], source_from_row)
            .ctx("listing HL7 sources")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading HL7 sources")
    }

    /// The source called `name`.
    pub fn hl7_source(&self, name: &str) -> StoreResult<Option<Hl7Source>> {
        self.cached_query_row(
            "SELECT id, name, application, facility, host, messages FROM hl7_sources WHERE name = ?1",
            [name],
            source_from_row,
        )
        .optional()
        .ctx("finding an HL7 source")
    }
}
