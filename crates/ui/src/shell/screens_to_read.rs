//! Which screens a batch of the practice's journal changes asks to read again (the rest keep
//! what they show: reading every screen on every commit would be slow and lose scroll places).

use crate::changes::Change;

/// Changes read from the journal at one look; more means read every screen again.
pub(super) const JOURNAL_READ: usize = 256;

/// Which screens a batch of journal changes asks to read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct ScreensToRead {
    /// Patients and records.
    pub(super) patients: bool,
    /// Orders, schedule, today, reading, billing.
    pub(super) exams: bool,
    /// The study browser.
    pub(super) studies: bool,
    /// Settings.
    pub(super) settings: bool,
}

impl ScreensToRead {
    pub(super) fn all() -> ScreensToRead {
        ScreensToRead {
            patients: true,
            exams: true,
            studies: true,
            settings: true,
        }
    }

    pub(super) fn for_changes<'a>(changes: impl Iterator<Item = &'a Change>) -> ScreensToRead {
        let mut reads = ScreensToRead::default();
        for change in changes {
            reads.patients |= change.concerns_patients();
            // Exam lists show the patient's name: a patient's change reads them again too.
            reads.exams |= change.concerns_exams() || change.concerns_patients();
            reads.studies |= change.concerns_studies() || change.concerns_patients();
            reads.settings |= matches!(change, Change::SettingChanged { .. });
        }
        reads
    }
}

#[cfg(test)]
mod journal_tests {
    use super::*;

    #[test]
    fn an_order_reads_the_exam_lists_again_and_not_the_study_browser() {
        let reads = ScreensToRead::for_changes(
            [Change::OrderPlaced {
                accession: "A1".into(),
            }]
            .iter(),
        );
        assert!(reads.exams);
        assert!(!reads.studies && !reads.patients && !reads.settings);
    }

    #[test]
    fn arriving_images_read_the_study_browser_and_a_setting_the_settings() {
        let images = ScreensToRead::for_changes(
            [Change::ImagesArrived {
                study_uid: "1.2.3".into(),
            }]
            .iter(),
        );
        assert!(images.studies && !images.exams);
        let setting = ScreensToRead::for_changes(
            [Change::SettingChanged {
                key: "practice.name".into(),
            }]
            .iter(),
        );
        assert!(setting.settings && !setting.patients);
    }

    #[test]
    fn a_merge_reads_patients_exams_and_studies() {
        let reads = ScreensToRead::for_changes(
            [Change::PatientsMerged {
                kept: "M1".into(),
                merged: "M2".into(),
                undone: false,
            }]
            .iter(),
        );
        assert!(reads.patients && reads.exams && reads.studies);
    }
}
