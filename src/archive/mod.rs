//! The archive folder: where DICOM files live, named from internal ids only.
//!
//! A file is written to `incoming/` first and renamed into place when complete, so a
//! crash never leaves a half file under a final name. Names are random internal ids:
//! nothing a peer sends (UIDs, names) ever becomes part of a path.

pub mod check;
pub mod durability;
pub mod ingest;

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

/// The archive folder. Cheap to clone; every service holds one.
#[derive(Debug, Clone)]
pub struct ArchiveFolder {
    root: PathBuf,
}

impl ArchiveFolder {
    /// Opens the archive at `root`, creating it, and clears leftovers of interrupted writes.
    pub fn open(root: &Path) -> Result<ArchiveFolder, ArchiveError> {
        let incoming = root.join("incoming");
        fs::create_dir_all(&incoming).map_err(io_err("creating", &incoming))?;
        // Anything still in incoming/ was never acknowledged to anyone.
        if let Ok(entries) = fs::read_dir(&incoming) {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(ArchiveFolder {
            root: root.to_path_buf(),
        })
    }

    /// The archive's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `parts` (concatenated) as a new file and returns its path relative to the
    /// archive. The file appears under its final name only once complete.
    pub fn put(&self, parts: &[&[u8]]) -> Result<String, ArchiveError> {
        let id: u128 = rand::rng().random();
        let name = format!("{id:032x}");
        let temp = self.root.join("incoming").join(format!("{name}.part"));
        let relative = format!("{}/{}/{name}.dcm", &name[0..2], &name[2..4]);
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
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
        }
        if let Err(e) = fs::rename(&temp, &dest) {
            let _ = fs::remove_file(&temp);
            return Err(io_err("renaming into", &dest)(e));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_then_get_round_trips_and_leaves_no_temp() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let archive = ArchiveFolder::open(dir.path())?;
        let rel = archive.put(&[b"abc", b"def"])?;
        assert_eq!(archive.get(&rel)?, b"abcdef");
        assert_eq!(fs::read_dir(dir.path().join("incoming"))?.count(), 0);
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
