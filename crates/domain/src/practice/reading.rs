//! Reading and reporting: the radiologists' worklist, assignment, the report editor's drafts,
//! signing and addenda, the printed report, an exam's priors.

use super::Practice;
use super::remote::forward;
use crate::access::ReadOccasion;
use crate::access::{Actor, Role};
use crate::documents::PrintedDocument;
use crate::ris::reading::{self, ReadingFilter};
use crate::ris::{ExamStatus, RisError, reports};
use crate::store::reports::{ArchivedStudy, ExamSubject, ReadingRow, ReportRecord};

impl Practice {
    /// The reading worklist, filtered, with each exam's patient (name, birth date, sex) and
    /// procedure name. Audited when the person opened it or changed the filter
    /// ([`ReadOccasion::Opened`]), not when the window reads it again after a change.
    pub fn reading_worklist(
        &self,
        actor: &Actor,
        filter: &ReadingFilter,
        occasion: ReadOccasion,
    ) -> Result<Vec<ReadingRow>, RisError> {
        forward!(self, "reading_worklist", filter, occasion);
        reading::reading_worklist(&self.store, actor, filter, occasion)
    }

    /// On a workstation: brings the images of the reading worklist's studies and of their
    /// priors into the image cache before anyone opens them (at most `studies` studies, the
    /// worklist's order first, one study at a time so the server and the link stay free for
    /// what the radiologist opens meanwhile). Blocks: run it on a thread of its own. The
    /// number of studies brought; on the server's own computer nothing needs bringing.
    pub fn prefetch_reading(&self, actor: &Actor, studies: usize) -> Result<usize, RisError> {
        let Some(link) = &self.link else {
            return Ok(0);
        };
        // Only a radiologist reads from this worklist.
        if actor.role != Role::Radiologist {
            return Ok(0);
        }
        let worklist =
            self.reading_worklist(actor, &ReadingFilter::default(), ReadOccasion::Refreshed)?;
        let mut wanted: Vec<String> = Vec::new();
        let add = |uid: &str, wanted: &mut Vec<String>| {
            if !uid.is_empty() && !wanted.iter().any(|w| w == uid) && wanted.len() < studies {
                wanted.push(uid.to_string());
            }
        };
        for row in &worklist {
            // The study the order announced, and whatever arrived under its accession (a
            // scanner that did not use the worklist names its own study).
            add(&row.study_uid, &mut wanted);
            let arrived = self
                .find_studies(
                    actor,
                    crate::store::index::Level::Study,
                    &[crate::store::index::Condition {
                        column: crate::store::index::Column::Accession,
                        matcher: crate::store::index::Matcher::Exact(row.accession.clone()),
                    }],
                    10,
                )
                .unwrap_or_default();
            for study in &arrived {
                add(&study.study_uid, &mut wanted);
            }
            for prior in self.priors(actor, &row.accession).unwrap_or_default() {
                add(&prior.study_uid, &mut wanted);
            }
            if wanted.len() >= studies {
                break;
            }
        }
        let cache = self.archive().root().to_path_buf();
        let mut brought = 0;
        for study in &wanted {
            super::remote::study_images_into_cache(
                link.as_ref(),
                study,
                &cache,
                super::remote::Arrival::All,
            )?;
            brought += 1;
        }
        tracing::info!(
            studies = brought,
            "the reading worklist's images are on this workstation"
        );
        Ok(brought)
    }

    /// The logins of the active radiologists (to assign exams to).
    pub fn radiologists(&self) -> Vec<String> {
        forward!(self, "radiologists");
        self.store
            .users()
            .unwrap_or_default()
            .into_iter()
            .filter(|u| u.active && u.role == Role::Radiologist.code())
            .map(|u| u.login)
            .collect()
    }

    /// Assigns an exam to a radiologist.
    pub fn assign(
        &self,
        actor: &Actor,
        accession: &str,
        radiologist: &str,
    ) -> Result<(), RisError> {
        forward!(self, "assign", accession, radiologist);
        reading::assign(&self.store, actor, accession, radiologist)
    }

    /// Who each exam is for and what it is (patient name, birth date, sex, MRN, procedure
    /// name), for list rows that stand for exams: the list is what the person opened, so the
    /// rows are not audited one by one. Keyed by accession.
    pub fn exam_subjects(
        &self,
        actor: &Actor,
        accessions: &[String],
    ) -> Result<std::collections::HashMap<String, ExamSubject>, RisError> {
        forward!(self, "exam_subjects", accessions);
        crate::access::authorise(
            &self.store,
            actor,
            crate::access::Action::ReadPatient,
            "exam-list",
        )?;
        Ok(self
            .store
            .exam_subjects(accessions)?
            .into_iter()
            .map(|s| (s.accession.clone(), s))
            .collect())
    }

    /// Records who was told a critical result, and how (now, by the actor; audited).
    pub fn record_critical_communication(
        &self,
        actor: &Actor,
        report_id: i64,
        told_to: &str,
        method: &str,
    ) -> Result<(), RisError> {
        forward!(
            self,
            "record_critical_communication",
            report_id,
            told_to,
            method
        );
        reports::record_critical_communication(&self.store, actor, report_id, told_to, method)
    }

    /// Who was told a report's critical result, each as a sentence ("Told … by phone on …").
    pub fn critical_communications(&self, report_id: i64) -> Vec<String> {
        forward!(self, "critical_communications", report_id);
        self.store
            .critical_communications(report_id)
            .unwrap_or_default()
            .iter()
            .map(|c| reports::critical_communication_text(&self.store, c))
            .collect()
    }

    /// How a signed report's signature reads: full name, login and local time (empty while
    /// unsigned).
    pub fn signature(&self, report: &ReportRecord) -> String {
        forward!(self, "signature", report);
        if report.signer.is_empty() {
            return String::new();
        }
        crate::ris::reports::signature(&self.store, &report.signer, &report.signed_at)
    }

    /// The report to edit for an exam: its open draft or signed report, or a new draft.
    pub fn open_report(
        &mut self,
        actor: &Actor,
        accession: &str,
    ) -> Result<ReportRecord, RisError> {
        forward!(self, "open_report", accession);
        let order = crate::ris::order_named(&self.store, accession)?;
        let latest = self
            .store
            .reports_of_order(order.id)?
            .into_iter()
            .rev()
            .find(|r| r.status != "final" || r.kind == "report");
        match latest {
            Some(r) => {
                self.allow(
                    actor,
                    crate::access::Action::ReadPatient,
                    &format!("order:{accession}"),
                )?;
                Ok(r)
            }
            None => {
                let id = reports::start(&mut self.store, actor, accession)?;
                Ok(self.store.report(id)?)
            }
        }
    }

    /// Saves a draft's text.
    pub fn save_report(
        &mut self,
        actor: &Actor,
        report: i64,
        body: &str,
        critical: bool,
    ) -> Result<(), RisError> {
        forward!(self, "save_report", report, body, critical);
        reports::save(&mut self.store, actor, report, body, critical)
    }

    /// Signs a report preliminary or final (the exam's status moves with it).
    pub fn sign_report(
        &mut self,
        actor: &Actor,
        report: i64,
        to: ExamStatus,
    ) -> Result<(), RisError> {
        forward!(self, "sign_report", report, to);
        reports::sign(&mut self.store, actor, report, to)
    }

    /// Starts an addendum to a final report; the new addendum.
    pub fn add_addendum(
        &mut self,
        actor: &Actor,
        accession: &str,
        body: &str,
    ) -> Result<ReportRecord, RisError> {
        forward!(self, "add_addendum", accession, body);
        let id = reports::add_addendum(&mut self.store, actor, accession, body)?;
        Ok(self.store.report(id)?)
    }

    /// The signed report as a printable document.
    pub fn printed_report(
        &self,
        actor: &Actor,
        accession: &str,
    ) -> Result<PrintedDocument, RisError> {
        forward!(self, "printed_report", accession);
        reports::printed_report(&self.store, actor, accession)
    }

    /// Appends text (key images, measurements) to the exam's draft report; the accession.
    pub fn append_to_draft(
        &mut self,
        actor: &Actor,
        study_uid: &str,
        text: &str,
    ) -> Result<String, RisError> {
        forward!(self, "append_to_draft", study_uid, text);
        reports::append_to_draft(&mut self.store, actor, study_uid, text)
    }

    /// The exam's relevant priors (same patient under every identifier), newest first.
    pub fn priors(&self, actor: &Actor, accession: &str) -> Result<Vec<ArchivedStudy>, RisError> {
        forward!(self, "priors", accession);
        reading::priors(&self.store, actor, accession)
    }
}
