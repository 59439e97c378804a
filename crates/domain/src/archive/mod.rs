//! The archive folder: where DICOM files live, named from internal ids only.
//!
//! A file is written as `<day>/<id>.part` first and renamed to `<day>/<id>.dcm` when
//! complete, so a crash never leaves a half file under a final name. Names are random internal ids:
//! nothing a peer sends (UIDs, names) ever becomes part of a path.

pub mod check;
pub mod disk_space;
pub mod index;
pub mod part;
pub mod prepare;
pub mod received;
pub mod sync;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rand::Rng;

/// Errors from the archive folder, with the path involved.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Writing, renaming or reading a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A stored path points outside the archive (a corrupted index row).
    #[error("refusing path {0:?} outside the archive")]
    OutsideArchive(String),
}

impl ArchiveError {
    /// Whether the disk is full (the peer gets "out of resources", not "cannot understand").
    pub fn is_disk_full(&self) -> bool {
        match self {
            ArchiveError::Io { source, .. } => {
                source.kind() == io::ErrorKind::StorageFull
                    || source.kind() == io::ErrorKind::QuotaExceeded
            }
            ArchiveError::OutsideArchive(_) => false,
        }
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ArchiveError + 'a {
    move |source| ArchiveError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Suffix of a file still being written.
pub(crate) const PARTIAL_SUFFIX: &str = ".part";

/// The archive folder. Cheap to clone; every service holds one.
#[derive(Debug, Clone)]
pub struct ArchiveFolder {
    root: PathBuf,
}

impl ArchiveFolder {
    /// The archive at `root` as seen by a process that is not its writer (the window beside
    /// the running services): no folder is created and no leftover is cleared.
    pub fn at(root: &Path) -> ArchiveFolder {
        ArchiveFolder {
            root: root.to_path_buf(),
        }
    }

    /// Opens the archive at `root`, creating it, and clears leftovers of interrupted writes.
    pub fn open(root: &Path) -> Result<ArchiveFolder, ArchiveError> {
        fs::create_dir_all(root).map_err(io_err("creating", root))?;
        let archive = ArchiveFolder {
            root: root.to_path_buf(),
        };
        // A partial file was never acknowledged to anyone.
        for partial in archive.partial_files() {
            let _ = fs::remove_file(partial);
        }
        Ok(archive)
    }

    /// Files left half-written by an interrupted run (`*.part` in the day folders).
    pub fn partial_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Ok(days) = fs::read_dir(&self.root) else {
            return out;
        };
        for day in days.flatten().filter(|d| d.path().is_dir()) {
            if let Ok(files) = fs::read_dir(day.path()) {
                out.extend(
                    files
                        .flatten()
                        .map(|f| f.path())
                        .filter(|p| p.to_string_lossy().ends_with(PARTIAL_SUFFIX)),
                );
            }
        }
        out
    }

    /// The archive's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `parts` (concatenated) as a new file and returns its path relative to the
    /// archive. The file appears under its final name only once complete.
    pub fn put(&self, parts: &[&[u8]]) -> Result<String, ArchiveError> {
        let (folder, name, day) = self.new_name()?;
        let temp = folder.join(format!("{name}{PARTIAL_SUFFIX}"));
        let relative = format!("{day}/{name}.dcm");
        let dest = self.root.join(&relative);
        {
            let mut f = File::create(&temp).map_err(io_err("creating", &temp))?;
            for part in parts {
                if let Err(e) = f.write_all(part) {
                    drop(f);
                    let _ = fs::remove_file(&temp);
                    return Err(io_err("writing", &temp)(e));
                }
            }
        }
        if let Err(e) = fs::rename(&temp, &dest) {
            let _ = fs::remove_file(&temp);
            return Err(io_err("renaming into", &dest)(e));
        }
        Ok(relative)
    }

    /// A new file's folder (created if needed), random name and day. One folder per receive
    /// day (UTC): a day's images sit together on disk (ext4 spreads new folders over block
    /// groups, so many small folders make every create slower), and a folder holds one day of
    /// a practice's work. The temporary file lives in the same folder, so the rename is a
    /// same-directory rename.
    fn new_name(&self) -> Result<(PathBuf, String, String), ArchiveError> {
        let id: u128 = rand::rng().random();
        let name = format!("{id:032x}");
        let day = utc_day_folder(std::time::SystemTime::now());
        let folder = self.root.join(&day);
        if !folder.is_dir() {
            fs::create_dir_all(&folder).map_err(io_err("creating", &folder))?;
        }
        Ok((folder, name, day))
    }

    /// Like [`ArchiveFolder::put`], but the file and its folder are on stable storage when this
    /// returns: used when a file replaces another that is already durable (header rewrites), so
    /// the index never points at a file a crash could lose.
    pub fn put_synced(&self, parts: &[&[u8]]) -> Result<String, ArchiveError> {
        let relative = self.put(parts)?;
        let path = self.path_of(&relative)?;
        File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(io_err("syncing", &path))?;
        if let Some(folder) = path.parent() {
            sync_folder(folder).map_err(io_err("syncing", folder))?;
        }
        Ok(relative)
    }

    /// Absolute path of a stored file, refusing anything that would leave the archive.
    pub fn path_of(&self, relative: &str) -> Result<PathBuf, ArchiveError> {
        let p = Path::new(relative);
        if p.is_absolute()
            || p.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(ArchiveError::OutsideArchive(relative.to_string()));
        }
        Ok(self.root.join(p))
    }

    /// Reads a stored file whole.
    pub fn get(&self, relative: &str) -> Result<Vec<u8>, ArchiveError> {
        let path = self.path_of(relative)?;
        fs::read(&path).map_err(io_err("reading", &path))
    }

    /// Deletes a stored file (a refused duplicate, or an undo).
    pub fn delete(&self, relative: &str) -> Result<(), ArchiveError> {
        let path = self.path_of(relative)?;
        fs::remove_file(&path).map_err(io_err("deleting", &path))
    }
}

/// `YYYYMMDD` of a time in UTC (civil-from-days, proleptic Gregorian).
fn utc_day_folder(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}")
}

/// Makes a folder's entries (a rename) durable. Unix: fsync the directory. Windows: NTFS
/// journals metadata and a directory cannot be opened for flushing without extra rights, so
/// the file's own flush is what is available.
#[cfg(unix)]
fn sync_folder(folder: &Path) -> io::Result<()> {
    File::open(folder)?.sync_all()
}

/// See the Unix version.
#[cfg(not(unix))]
fn sync_folder(_folder: &Path) -> io::Result<()> {
    Ok(())
}

/// What an import did, file by file.
/// (Files, folders and DICOMDIRs are read by the services' importer; the window shows this.)
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Newly archived.
    pub imported: usize,
    /// Already archived with identical content.
    pub duplicates: usize,
    /// Already archived with different content (existing copy kept).
    pub conflicts: usize,
    /// Files refused, with the reason.
    pub refused: Vec<(PathBuf, String)>,
}

impl ImportSummary {
    /// Whether anything at all could be read (the command fails only if not).
    pub fn read_anything(&self) -> bool {
        self.imported + self.duplicates + self.conflicts > 0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_folders_follow_the_calendar() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(super::utc_day_folder(UNIX_EPOCH), "19700101");
        // 2026-11-27T21:00:00Z
        assert_eq!(
            super::utc_day_folder(UNIX_EPOCH + Duration::from_secs(1_795_813_200)),
            "20261127"
        );
        // 2024-02-29 (leap day)
        assert_eq!(
            super::utc_day_folder(UNIX_EPOCH + Duration::from_secs(1_709_208_000)),
            "20240229"
        );
    }

    use super::*;

    #[test]
    fn put_then_get_round_trips_and_leaves_no_temp() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let archive = ArchiveFolder::open(dir.path())?;
        let rel = archive.put(&[b"abc", b"def"])?;
        assert_eq!(archive.get(&rel)?, b"abcdef");
        assert!(archive.partial_files().is_empty());
        Ok(())
    }

    #[test]
    fn path_traversal_is_refused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let archive = ArchiveFolder::open(dir.path())?;
        assert!(archive.path_of("../etc/passwd").is_err());
        assert!(archive.path_of("/etc/passwd").is_err());
        assert!(archive.path_of("ab/cd/x.dcm").is_ok());
        Ok(())
    }
}
