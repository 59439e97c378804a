//! `lightbox check`: every index row must have its complete, readable file. Used after a
//! crash and by the kill -9 tests.

use super::ArchiveFolder;
use crate::store::{Store, StoreError};
use lightbox_codec::encode::dataset_offset;

/// What the check found.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckReport {
    /// Index rows checked.
    pub instances: usize,
    /// Files the index names that do not exist.
    pub missing: Vec<String>,
    /// Files that exist but do not parse.
    pub unreadable: Vec<String>,
}

impl CheckReport {
    /// Nothing wrong.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.unreadable.is_empty()
    }
}

/// Reads every indexed file back and parses its data set.
pub fn check_archive(archive: &ArchiveFolder, store: &Store) -> Result<CheckReport, StoreError> {
    let mut report = CheckReport::default();
    for rel in store.all_file_paths()? {
        report.instances += 1;
        let Ok(bytes) = archive.get(&rel) else {
            report.missing.push(rel);
            continue;
        };
        let readable = dataset_offset(&bytes).is_some()
            && dicom_object::OpenFileOptions::new()
                .from_reader(std::io::Cursor::new(&bytes[128..]))
                .is_ok();
        if !readable {
            report.unreadable.push(rel);
        }
    }
    Ok(report)
}
