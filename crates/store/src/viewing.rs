//! Hanging protocols, annotations and key images (the viewer's data). Callers authorise and
//! audit (see `crate::viewing`).

use rusqlite::{OptionalExtension, params};

use super::{SqlContext, Store, StoreError, StoreResult};

/// A stored hanging protocol: its name, its rule as JSON, whether it ships with Lightbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProtocol {
    /// Unique name.
    pub name: String,
    /// The rule (JSON of `viewing::hanging::HangingProtocol`).
    pub rule_json: String,
    /// Shipped with Lightbox.
    pub builtin: bool,
}

/// A stored annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnnotation {
    /// Row id.
    pub id: i64,
    /// Study Instance UID.
    pub study_uid: String,
    /// SOP Instance UID of the image.
    pub sop_instance_uid: String,
    /// Frame (0-based).
    pub frame: u32,
    /// The shape (JSON of `imaging::measure::Shape`).
    pub shape_json: String,
    /// A manual calibration it was made with: (mm per pixel, known length mm).
    pub manual: Option<(f64, f64)>,
    /// Who drew it.
    pub created_by: String,
}

impl Store {
    /// Every hanging protocol, by name.
    pub fn hanging_protocols(&self) -> StoreResult<Vec<StoredProtocol>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, rule_json, builtin FROM hanging_protocols ORDER BY name")
            .ctx("preparing hanging protocols")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(StoredProtocol {
                    name: r.get(0)?,
                    rule_json: r.get(1)?,
                    builtin: r.get(2)?,
                })
            })
            .ctx("reading hanging protocols")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading hanging protocols")
    }

    /// Adds or replaces a protocol by name.
    pub fn save_hanging_protocol(
        &self,
        name: &str,
        rule_json: &str,
        builtin: bool,
        by: &str,
    ) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO hanging_protocols (name, rule_json, builtin, changed_by) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET rule_json = excluded.rule_json,
                 changed_by = excluded.changed_by,
                 changed_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
            params![name, rule_json, builtin, by],
        )
        .ctx("saving a hanging protocol")?;
        Ok(())
    }

    /// Adds a protocol unless one of that name exists (keeps local edits of shipped ones).
    pub fn add_hanging_protocol_if_missing(&self, name: &str, rule_json: &str) -> StoreResult<()> {
        self.cached_execute(
            "INSERT INTO hanging_protocols (name, rule_json, builtin, changed_by)
             VALUES (?1, ?2, 1, 'lightbox') ON CONFLICT (name) DO NOTHING",
            params![name, rule_json],
        )
        .ctx("adding a hanging protocol")?;
        Ok(())
    }

    /// Removes a protocol.
    pub fn delete_hanging_protocol(&self, name: &str) -> StoreResult<bool> {
        Ok(self
            .cached_execute("DELETE FROM hanging_protocols WHERE name = ?1", [name])
            .ctx("removing a hanging protocol")?
            > 0)
    }

    /// Stores an annotation; returns its id.
    pub fn insert_annotation(&self, a: &StoredAnnotation) -> StoreResult<i64> {
        self.cached_execute(
            "INSERT INTO annotations (study_uid, sop_instance_uid, frame, shape_json,
                 manual_mm_per_px, manual_known_mm, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                a.study_uid,
                a.sop_instance_uid,
                a.frame,
                a.shape_json,
                a.manual.map(|m| m.0),
                a.manual.map(|m| m.1),
                a.created_by
            ],
        )
        .ctx("storing an annotation")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The annotations of a study (not deleted), oldest first.
    pub fn annotations_of_study(&self, study_uid: &str) -> StoreResult<Vec<StoredAnnotation>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, study_uid, sop_instance_uid, frame, shape_json, manual_mm_per_px,
                        manual_known_mm, created_by
                 FROM annotations WHERE study_uid = ?1 AND deleted_by = '' ORDER BY id",
            )
            .ctx("preparing annotations")?;
        let rows = stmt
            .query_map([study_uid], |r| {
                let mm: Option<f64> = r.get(5)?;
                let known: Option<f64> = r.get(6)?;
                Ok(StoredAnnotation {
                    id: r.get(0)?,
                    study_uid: r.get(1)?,
                    sop_instance_uid: r.get(2)?,
                    frame: r.get(3)?,
                    shape_json: r.get(4)?,
                    manual: mm.zip(known),
                    created_by: r.get(7)?,
                })
            })
            .ctx("reading annotations")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading annotations")
    }

    /// Marks an annotation deleted (kept for the record).
    pub fn delete_annotation(&self, id: i64, by: &str) -> StoreResult<()> {
        let n = self
            .cached_execute(
                "UPDATE annotations SET deleted_by = ?2 WHERE id = ?1 AND deleted_by = ''",
                params![id, by],
            )
            .ctx("deleting an annotation")?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("annotation {id}")));
        }
        Ok(())
    }

    /// Flags (or unflags) a key image.
    pub fn set_key_image(
        &self,
        study_uid: &str,
        sop_instance_uid: &str,
        frame: u32,
        key: bool,
        by: &str,
    ) -> StoreResult<()> {
        if key {
            self.cached_execute(
                "INSERT INTO key_images (study_uid, sop_instance_uid, frame, created_by)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![study_uid, sop_instance_uid, frame, by],
            )
        } else {
            self.cached_execute(
                "DELETE FROM key_images WHERE sop_instance_uid = ?1 AND frame = ?2",
                params![sop_instance_uid, frame],
            )
        }
        .ctx("flagging a key image")?;
        Ok(())
    }

    /// A study's key images: (SOP Instance UID, frame), in the order flagged.
    pub fn key_images(&self, study_uid: &str) -> StoreResult<Vec<(String, u32)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT sop_instance_uid, frame FROM key_images WHERE study_uid = ?1 ORDER BY created_at, rowid",
            )
            .ctx("preparing key images")?;
        let rows = stmt
            .query_map([study_uid], |r| Ok((r.get(0)?, r.get(1)?)))
            .ctx("reading key images")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading key images")
    }

    /// Whether an image is a key image.
    pub fn is_key_image(&self, sop_instance_uid: &str, frame: u32) -> StoreResult<bool> {
        Ok(self
            .cached_query_row(
                "SELECT 1 FROM key_images WHERE sop_instance_uid = ?1 AND frame = ?2",
                params![sop_instance_uid, frame],
                |_| Ok(()),
            )
            .optional()
            .ctx("reading a key image")?
            .is_some())
    }
}
