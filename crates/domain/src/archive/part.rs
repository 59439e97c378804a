//! A file being received: a large object is written into the archive as its bytes arrive,
//! never held whole in memory. It is a `.part` file (invisible to the index and removed at the
//! next start if the process dies) until the ingest service's `ingest_part`
//! validates it and renames it to its final `.dcm` name — the same durability contract as an
//! object that arrived in one piece.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{ArchiveError, ArchiveFolder, PARTIAL_SUFFIX};

/// A data set larger than this is written to a part file as it arrives, by the DICOM
/// listener and the importer alike (smaller ones, most images, stay in memory: one write, no
/// re-read).
pub const SPILL_AFTER_BYTES: usize = 2 << 20;

/// The start of the data set kept in memory to read the identifying attributes from (the
/// pixel data, most of the bytes, follows a header of a few KiB).
pub const PREFIX_BYTES: usize = 1 << 20;

/// What the sender said about the object, for the checks made once it is complete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Announced {
    /// The data set's transfer syntax (the presentation context's, or the file's).
    pub transfer_syntax: String,
    /// SOP Class UID announced by the command (or the file meta group).
    pub sop_class: String,
    /// SOP Instance UID announced by the command (or the file meta group).
    pub sop_instance: String,
    /// Who sent it: the calling AE title, or `import`.
    pub source: String,
}

/// A `.part` file being written: the file meta group, then the data set as it arrives.
#[derive(Debug)]
pub struct PartFile {
    temp: PathBuf,
    relative: String,
    file: Option<BufWriter<File>>,
    head_len: u64,
    prefix: Vec<u8>,
    dataset_len: u64,
    announced: Announced,
    kept: bool,
}

impl ArchiveFolder {
    /// Starts a file whose first bytes are `head` (preamble, `DICM` and the file meta group).
    pub fn begin_part(&self, head: &[u8], announced: Announced) -> Result<PartFile, ArchiveError> {
        let (folder, name, day) = self.new_name()?;
        let temp = folder.join(format!("{name}{PARTIAL_SUFFIX}"));
        let file = File::create(&temp).map_err(|source| ArchiveError::Io {
            action: "creating",
            path: temp.clone(),
            source,
        })?;
        let mut part = PartFile {
            relative: format!("{day}/{name}.dcm"),
            temp,
            file: Some(BufWriter::with_capacity(256 * 1024, file)),
            head_len: head.len() as u64,
            prefix: Vec::new(),
            dataset_len: 0,
            announced,
            kept: false,
        };
        if let Some(f) = part.file.as_mut() {
            f.write_all(head).map_err(|source| ArchiveError::Io {
                action: "writing",
                path: part.temp.clone(),
                source,
            })?;
        }
        Ok(part)
    }
}

impl PartFile {
    /// Appends data set bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), ArchiveError> {
        if self.prefix.len() < PREFIX_BYTES {
            let room = PREFIX_BYTES - self.prefix.len();
            self.prefix
                .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
        }
        self.dataset_len += bytes.len() as u64;
        let Some(f) = self.file.as_mut() else {
            return Err(self.io_error("writing", io::Error::other("already finished")));
        };
        f.write_all(bytes)
            .map_err(|source| self.io_error("writing", source))
    }

    fn io_error(&self, action: &'static str, source: io::Error) -> ArchiveError {
        ArchiveError::Io {
            action,
            path: self.temp.clone(),
            source,
        }
    }

    /// Writes out what is buffered and closes the file (it stays a `.part`).
    pub fn close(&mut self) -> Result<(), ArchiveError> {
        if let Some(f) = self.file.take() {
            f.into_inner()
                .map_err(|e| self.io_error("writing", e.into_error()))?;
        }
        Ok(())
    }

    /// The start of the data set (up to [`PREFIX_BYTES`]).
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// Whether the prefix holds the whole data set.
    pub fn prefix_is_whole(&self) -> bool {
        self.prefix.len() as u64 == self.dataset_len
    }

    /// Bytes of data set written.
    pub fn dataset_len(&self) -> u64 {
        self.dataset_len
    }

    /// The whole file's size.
    pub fn file_len(&self) -> u64 {
        self.head_len + self.dataset_len
    }

    /// What the sender said about it.
    pub fn announced(&self) -> &Announced {
        &self.announced
    }

    /// The temporary file (to read the header from when the prefix is not enough).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Gives the file its final name; returns its path relative to the archive.
    pub fn keep(mut self, archive: &ArchiveFolder) -> Result<String, ArchiveError> {
        self.close()?;
        let dest = archive.path_of(&self.relative)?;
        fs::rename(&self.temp, &dest).map_err(|source| ArchiveError::Io {
            action: "renaming into",
            path: dest.clone(),
            source,
        })?;
        self.kept = true;
        Ok(self.relative.clone())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.kept {
            self.file = None;
            let _ = fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_becomes_a_file_only_when_kept_and_vanishes_when_dropped() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let archive = ArchiveFolder::open(dir.path())?;
        let mut part = archive.begin_part(b"HEAD", Announced::default())?;
        part.write(b"abc")?;
        part.write(b"def")?;
        assert_eq!(part.prefix(), b"abcdef");
        assert!(part.prefix_is_whole());
        assert_eq!(archive.partial_files().len(), 1);
        let rel = part.keep(&archive)?;
        assert_eq!(archive.get(&rel)?, b"HEADabcdef");
        assert!(archive.partial_files().is_empty());
        let mut dropped = archive.begin_part(b"HEAD", Announced::default())?;
        dropped.write(b"xyz")?;
        drop(dropped);
        assert!(archive.partial_files().is_empty());
        Ok(())
    }
}
