//! Images: finding studies in the archive, opening one in the viewer, and what the viewer
//! keeps beside the images — annotations and measurements, key images, hanging protocols,
//! window presets — and archiving those marks with the study.

use super::remote::forward;
use super::{Practice, PracticeError};
use crate::access::{Action, Actor};
use crate::archive::received::ObjectArchiver;
use crate::imaging::Window;
use crate::store::index::{Column, Condition, IndexRow, Level, Matcher};
use crate::viewing::hanging::HangingProtocol;
use crate::viewing::{self, Annotation, ExportedMarks, ViewingError};

impl Practice {
    /// Studies (or series, images) matching `conditions`, at most `limit`.
    pub fn find_studies(
        &self,
        actor: &Actor,
        level: Level,
        conditions: &[Condition],
        limit: usize,
    ) -> Result<Vec<IndexRow>, PracticeError> {
        forward!(self, "find_studies", level, conditions, limit);
        self.allow(actor, Action::ReadPatient, "archive")?;
        Ok(self.store.query_index(level, conditions, limit)?)
    }

    /// Checks that `actor` may ask the network for or about patient data (a query, a
    /// retrieve, a send to another site, an import of files) and records that they did:
    /// `action` (`dicom.query`, `archive.send`…), `subject` and `detail` go into the audit log.
    pub fn authorise_exchange(
        &self,
        actor: &Actor,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), PracticeError> {
        forward!(self, "authorise_exchange", action, subject, detail);
        self.allow(actor, Action::ReadPatient, subject)?;
        crate::access::audit(&self.store, actor, action, subject, "ok", detail)?;
        Ok(())
    }

    /// Checks the archive: every index row has its complete, readable file (Administer).
    pub fn check_archive(
        &self,
        actor: &Actor,
    ) -> Result<crate::archive::check::CheckReport, PracticeError> {
        forward!(self, "check_archive");
        self.allow(actor, Action::Administer, "archive")?;
        let archive = crate::archive::ArchiveFolder::open(self.archive().root())
            .map_err(|e| PracticeError::Invalid(e.to_string()))?;
        let report = crate::archive::check::check_archive(&archive, &self.store)?;
        self.audit_read(
            actor,
            "archive.check",
            "archive",
            &format!("{} instances", report.instances),
        );
        Ok(report)
    }

    /// Records that `actor` opened a study in the viewer (audited once per opening; the
    /// viewer's panes then read its images).
    pub fn open_study(&self, actor: &Actor, study_uid: &str) -> Result<(), PracticeError> {
        forward!(self, "open_study", study_uid);
        let subject = format!("study:{study_uid}");
        self.allow(actor, Action::ReadPatient, &subject)?;
        self.audit_read(actor, "study.open", &subject, "");
        Ok(())
    }

    /// The images of a study (one row per instance), for the viewer's panes.
    /// On a workstation the rows name files in its image cache, which the server's images
    /// start filling at once (the first image of each series first); this returns when the
    /// first one is there, and a reader of one not yet arrived waits for it.
    pub fn study_images(&self, study_uid: &str) -> Result<Vec<IndexRow>, PracticeError> {
        if let Some(link) = &self.link {
            return Ok(super::remote::study_images_into_cache(
                link.as_ref(),
                study_uid,
                self.archive().root(),
                super::remote::Arrival::First,
            )?);
        }
        Ok(self.store.query_index(
            Level::Image,
            &[Condition {
                column: Column::StudyUid,
                matcher: Matcher::Exact(study_uid.to_string()),
            }],
            100_000,
        )?)
    }

    /// The key images of a study: (SOP Instance UID, frame).
    pub fn key_images(&self, study_uid: &str) -> Result<Vec<(String, u32)>, PracticeError> {
        forward!(self, "key_images", study_uid);
        Ok(self.store.key_images(study_uid)?)
    }

    /// Marks or unmarks a key image.
    pub fn set_key_image(
        &self,
        actor: &Actor,
        study_uid: &str,
        sop_instance_uid: &str,
        frame: u32,
        key: bool,
    ) -> Result<(), ViewingError> {
        forward!(
            self,
            "set_key_image",
            study_uid,
            sop_instance_uid,
            frame,
            key
        );
        viewing::set_key_image(&self.store, actor, study_uid, sop_instance_uid, frame, key)
    }

    /// The annotations and measurements of a study.
    pub fn annotations(&self, study_uid: &str) -> Result<Vec<Annotation>, ViewingError> {
        forward!(self, "annotations", study_uid);
        viewing::annotations(&self.store, study_uid)
    }

    /// Saves an annotation or measurement; its id.
    pub fn annotate(
        &self,
        actor: &Actor,
        study_uid: &str,
        sop_instance_uid: &str,
        frame: u32,
        shape: &crate::imaging::measure::Shape,
        calibration: crate::imaging::measure::Calibration,
    ) -> Result<i64, ViewingError> {
        forward!(
            self,
            "annotate",
            study_uid,
            sop_instance_uid,
            frame,
            shape,
            calibration
        );
        viewing::annotate(
            &self.store,
            actor,
            study_uid,
            sop_instance_uid,
            frame,
            shape,
            calibration,
        )
    }

    /// Removes an annotation.
    pub fn remove_annotation(
        &self,
        actor: &Actor,
        study_uid: &str,
        id: i64,
    ) -> Result<(), ViewingError> {
        forward!(self, "remove_annotation", study_uid, id);
        viewing::remove_annotation(&self.store, actor, study_uid, id)
    }

    /// The hanging protocols.
    pub fn hanging_protocols(&self) -> Result<Vec<HangingProtocol>, ViewingError> {
        forward!(self, "hanging_protocols");
        viewing::protocols(&self.store)
    }

    /// Saves a hanging protocol.
    pub fn save_protocol(
        &self,
        actor: &Actor,
        protocol: &HangingProtocol,
    ) -> Result<(), ViewingError> {
        forward!(self, "save_protocol", protocol);
        viewing::save_protocol(&self.store, actor, protocol)
    }

    /// The window presets for a modality (the practice's, else the defaults).
    pub fn window_presets(&self, modality: &str) -> Vec<(String, Window)> {
        forward!(self, "window_presets", modality);
        viewing::presets::window_presets(&self.store, modality)
    }

    /// The viewer's image memory as the practice set it, in MiB.
    pub fn viewer_memory_mib(&self) -> usize {
        forward!(self, "viewer_memory_mib");
        self.store
            .setting(viewing::CACHE_SETTING)
            .ok()
            .flatten()
            .and_then(|v| viewing::parse_cache_mib(&v).ok())
            .unwrap_or(viewing::DEFAULT_CACHE_MIB)
    }

    /// Archives a study's marks with it: key images as a Key Object Selection, measurements as
    /// presentation states, through `archiver` (the running archive's ingest; `None` where
    /// none runs). On a workstation the server makes and archives them with its own ingest,
    /// where the marks and the images they point at are.
    pub fn export_marks(
        &self,
        archiver: Option<&dyn ObjectArchiver>,
        actor: &Actor,
        study_uid: &str,
        now: chrono::NaiveDateTime,
        window: Option<Window>,
    ) -> Result<ExportedMarks, ViewingError> {
        forward!(self, "export_marks", study_uid, now, window);
        let archiver = archiver
            .ok_or_else(|| ViewingError::Invalid("the archive services are not running".into()))?;
        viewing::export_to_archive(
            &self.store,
            archiver,
            &self.archive(),
            actor,
            study_uid,
            now,
            window,
        )
    }
}
