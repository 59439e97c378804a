//! The power-loss half of "nothing lost", as steps: a sync round (flush what was received to
//! stable storage, then mark it durable) and the recovery after an interrupted run. The thread
//! that runs the rounds is the durability syncer of the services.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::ArchiveFolder;
use crate::store::{Store, StoreError};

/// One round: fsync pending files and folders, then mark them durable. Returns how many.
pub fn sync_round(archive: &ArchiveFolder, store: &mut Store) -> Result<usize, StoreError> {
    let pending = store.instances_not_durable(5000)?;
    if pending.is_empty() {
        return Ok(0);
    }
    // One flush of the whole archive file system where the OS offers it: far cheaper than
    // one fsync (and one journal commit) per file.
    if flush_file_system(archive.root()).is_ok() {
        let rows: Vec<i64> = pending.iter().map(|(row, _)| *row).collect();
        store.mark_durable(&rows)?;
        return Ok(rows.len());
    }
    let mut synced = Vec::with_capacity(pending.len());
    let mut folders: BTreeSet<PathBuf> = BTreeSet::new();
    for (row, rel) in &pending {
        let Ok(path) = archive.path_of(rel) else {
            continue;
        };
        match File::open(&path).and_then(|f| f.sync_all()) {
            Ok(()) => {
                if let Some(parent) = path.parent() {
                    folders.insert(parent.to_path_buf());
                }
                synced.push(*row);
            }
            Err(e) => {
                tracing::error!(row, path = %path.display(), error = %e, "cannot fsync an archived file");
            }
        }
    }
    for folder in &folders {
        if let Err(e) = sync_folder(folder) {
            tracing::error!(folder = %folder.display(), error = %e, "cannot fsync an archive folder");
            return Ok(0);
        }
    }
    store.mark_durable(&synced)?;
    Ok(synced.len())
}

/// Flushes every file and folder of the file system holding `folder` (Linux `syncfs`).
#[cfg(target_os = "linux")]
fn flush_file_system(folder: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let dir = File::open(folder)?;
    // SAFETY: `dir` is an open descriptor for the duration of the call; syncfs only reads it.
    let rc = unsafe { libc::syncfs(dir.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere there is no file-system-wide flush: files are fsynced one by one.
#[cfg(not(target_os = "linux"))]
fn flush_file_system(_folder: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "no syncfs here",
    ))
}

/// Makes a folder's entries (new names from renames) durable.
#[cfg(unix)]
fn sync_folder(folder: &Path) -> std::io::Result<()> {
    File::open(folder)?.sync_all()
}

/// Windows has no folder fsync: NTFS journals the rename's metadata, and opening a
/// directory as a file is not allowed, so there is nothing more to do.
#[cfg(windows)]
fn sync_folder(_folder: &Path) -> std::io::Result<()> {
    Ok(())
}

/// After an interrupted run (crash or power loss), drops index rows whose file is missing
/// or shorter than recorded. Only rows never reported as durable can be affected, and no
/// Storage Commitment was ever given for them. Returns how many were removed.
pub fn recover_unsynced(archive: &ArchiveFolder, store: &mut Store) -> Result<usize, StoreError> {
    let pending = store.instances_not_durable_with_size()?;
    let mut broken = Vec::new();
    for (row, rel, size) in pending {
        let ok = archive
            .path_of(&rel)
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
            .is_some_and(|m| m.len() == size);
        if !ok {
            broken.push(row);
        }
    }
    store.remove_instances(&broken)?;
    Ok(broken.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::index::NewInstance;

    fn row(sop: &str, file_path: &str, file_size: u64) -> NewInstance {
        NewInstance {
            patient_id: "P1".into(),
            study_uid: "1.2.3".into(),
            series_uid: "1.2.3.4".into(),
            sop_uid: sop.into(),
            sop_class: "1.2.840.10008.5.1.4.1.1.2".into(),
            file_path: file_path.into(),
            file_size,
            transfer_syntax: "1.2.840.10008.1.2.1".into(),
            ..NewInstance::default()
        }
    }

    #[test]
    fn recovery_drops_unsynced_rows_without_a_complete_file_and_keeps_the_rest()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let archive = ArchiveFolder::open(&dir.path().join("archive"))?;
        let mut store = Store::open(&dir.path().join("db.sqlite"))?;
        let complete = archive.put(&[b"0123456789"])?;
        let short = archive.put(&[b"01234"])?;
        store.index_instances(&[
            row("1.1", &complete, 10),
            row("1.2", &short, 10),
            row("1.3", "20260101/missing.dcm", 10),
        ])?;
        assert_eq!(recover_unsynced(&archive, &mut store)?, 2);
        assert_eq!(store.instance_count()?, 1);
        assert!(store.instance_by_sop_uid("1.1")?.is_some());
        // A synced row is never touched, even if its file vanished later (that is `check`'s job).
        sync_round(&archive, &mut store)?;
        archive.delete(&complete)?;
        assert_eq!(recover_unsynced(&archive, &mut store)?, 0);
        Ok(())
    }
}
