//! Free space where the archive lives: a scanner's images are refused ("out of resources") once
//! the disk is full, so the window warns well before, in the status bar every screen shows.

use std::path::{Path, PathBuf};

/// Setting: warn when less than this many GiB are free on the archive's disk (0 = never).
pub const LOW_DISK_WARNING_SETTING: &str = "archive.low_disk_warning_gib";
/// Default warning level: a day or two of a small practice's CT and MR.
pub const DEFAULT_LOW_DISK_WARNING_GIB: u64 = 5;

const GIB: u64 = 1024 * 1024 * 1024;

/// The archive's disk is running out of space.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LowDiskSpace {
    /// Bytes still free for Lightbox.
    pub available_bytes: u64,
    /// The disk's size in bytes.
    pub total_bytes: u64,
    /// The folder measured (the archive, or the data folder before the archive exists).
    pub folder: PathBuf,
}

impl LowDiskSpace {
    /// The status bar's words: how much is left and what happens at zero.
    pub fn describe(&self) -> String {
        format!(
            "Disk: {:.1} GiB free of {:.0} GiB where the archive is; images will be refused when it is full",
            self.available_bytes as f64 / GIB as f64,
            self.total_bytes as f64 / GIB as f64
        )
    }
}

/// Whether `available_bytes` is below the warning level of `warn_gib` GiB (0: never warn).
pub fn is_low(available_bytes: u64, warn_gib: u64) -> bool {
    warn_gib > 0 && available_bytes < warn_gib.saturating_mul(GIB)
}

/// Measures the disk holding `folder` (its nearest existing ancestor); `None` when the system
/// cannot say or the space is above `warn_gib`.
pub fn low_disk_space(folder: &Path, warn_gib: u64) -> Option<LowDiskSpace> {
    let existing = folder.ancestors().find(|p| p.exists())?;
    let stats = match fs4::statvfs(existing) {
        Ok(stats) => stats,
        Err(e) => {
            tracing::warn!(error = %e, folder = %existing.display(), "free disk space unknown");
            return None;
        }
    };
    is_low(stats.available_space(), warn_gib).then(|| LowDiskSpace {
        available_bytes: stats.available_space(),
        total_bytes: stats.total_space(),
        folder: existing.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_the_level_is_low_and_zero_never_warns() {
        assert!(is_low(4 * GIB, 5));
        assert!(!is_low(5 * GIB, 5));
        assert!(!is_low(0, 0));
        assert!(is_low(0, 1));
        // A silly level does not overflow.
        assert!(is_low(u64::MAX - 1, u64::MAX));
    }

    #[test]
    fn a_real_folder_is_measured_and_a_missing_one_through_its_parent() {
        let dir = tempfile::tempdir().expect("temporary folder");
        // Any real disk has less than an exabyte free.
        let low =
            low_disk_space(&dir.path().join("archive").join("not yet"), 1 << 30).expect("measured");
        assert_eq!(low.folder, dir.path());
        assert!(low.total_bytes >= low.available_bytes);
        assert!(low.describe().contains("GiB free of"));
        assert_eq!(low_disk_space(dir.path(), 0), None);
    }
}
