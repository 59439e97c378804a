//! `lightbox import`: files, folders (recursive) and DICOMDIRs into the archive, through the
//! same ingest path as C-STORE — this process's ingest, or the practice server's when the
//! window is a workstation's (an [`ImportDestination`]).

use std::collections::HashSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use dicom_dictionary_std::tags;

use crate::archive::ingest::{Ingest, Ingested, ReceivedObject};
use lightbox_codec::tolerant::MetaFacts;

/// Media Storage Directory Storage: the SOP class of a DICOMDIR.
const DICOMDIR_CLASS: &str = "1.2.840.10008.1.3.10";

pub use crate::archive::ImportSummary;

/// Where an import's objects are archived: the walk through files, folders and DICOMDIRs is
/// the same whether they go into this process's ingest or to the practice server.
pub trait ImportDestination {
    /// Archives one object read whole from a file (`meta`: its file meta group, when it had
    /// one); the error in words for the import's list of refused files.
    fn store_object(
        &self,
        object: ReceivedObject,
        meta: Option<&MetaFacts>,
    ) -> Result<Ingested, String>;

    /// Archives a Part 10 file too large to read whole, a piece at a time; `None` when the
    /// destination would rather have it read whole.
    fn store_large_file(&self, path: &Path, meta: &MetaFacts) -> Option<Result<Ingested, String>>;
}

impl ImportDestination for Ingest {
    fn store_object(
        &self,
        object: ReceivedObject,
        _meta: Option<&MetaFacts>,
    ) -> Result<Ingested, String> {
        self.ingest_blocking(object).map_err(|e| e.to_string())
    }

    fn store_large_file(&self, path: &Path, meta: &MetaFacts) -> Option<Result<Ingested, String>> {
        Some(import_large_file(self, path, meta))
    }
}

/// Imports every path: files, folders recursively, DICOMDIRs by their references.
pub fn import_paths(destination: &dyn ImportDestination, paths: &[PathBuf]) -> ImportSummary {
    import_paths_reporting(destination, paths, &mut |_, _| {})
}

/// Files under `paths` (folders walked recursively): the total an import's progress bar and
/// time left are measured against. Counting is cheap next to decoding and storing.
pub fn count_files(paths: &[PathBuf]) -> usize {
    fn walk(path: &Path, depth: usize) -> usize {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() && depth < 64 => fs::read_dir(path)
                .map(|rd| rd.flatten().map(|e| walk(&e.path(), depth + 1)).sum())
                .unwrap_or(0),
            Ok(m) if m.is_file() => 1,
            _ => 0,
        }
    }
    paths.iter().map(|p| walk(p, 0)).sum()
}

/// [`import_paths`], calling `on_file(files looked at, summary so far)` after each file, so a
/// window can show progress, files per second and time left.
pub fn import_paths_reporting(
    destination: &dyn ImportDestination,
    paths: &[PathBuf],
    on_file: &mut dyn FnMut(usize, &ImportSummary),
) -> ImportSummary {
    let mut run = Run {
        summary: ImportSummary::default(),
        seen: HashSet::new(),
        files_done: 0,
        on_file,
    };
    for path in paths {
        import_path(destination, path, &mut run);
    }
    run.summary
}

/// One import in progress.
struct Run<'a> {
    summary: ImportSummary,
    seen: HashSet<PathBuf>,
    files_done: usize,
    on_file: &'a mut dyn FnMut(usize, &ImportSummary),
}

fn import_path(destination: &dyn ImportDestination, path: &Path, run: &mut Run<'_>) {
    let canonical = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if !run.seen.insert(canonical) {
        return;
    }
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            let mut entries: Vec<PathBuf> = match fs::read_dir(path) {
                Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
                Err(e) => {
                    run.summary
                        .refused
                        .push((path.to_path_buf(), format!("cannot read folder: {e}")));
                    return;
                }
            };
            entries.sort();
            for entry in entries {
                import_path(destination, &entry, run);
            }
        }
        Ok(_) => {
            import_file(destination, path, run);
            run.files_done += 1;
            (run.on_file)(run.files_done, &run.summary);
        }
        Err(e) => run
            .summary
            .refused
            .push((path.to_path_buf(), format!("cannot read: {e}"))),
    }
}

/// The meta group of a large Part 10 file that is not a DICOMDIR (read from its first
/// 64 KiB); `None` when it is not one, so it is read whole and judged like any file.
fn large_file_meta(path: &Path) -> Option<MetaFacts> {
    use std::io::Read;
    let mut file = fs::File::open(path).ok()?;
    let mut head = vec![0u8; 64 * 1024];
    let n = file.read(&mut head).ok()?;
    head.truncate(n);
    if head.get(128..132) != Some(b"DICM".as_slice()) {
        return None;
    }
    let meta = lightbox_codec::tolerant::meta_facts(head.get(132..)?)?;
    (meta.sop_class != DICOMDIR_CLASS).then_some(meta)
}

/// A large Part 10 file is copied into the archive a piece at a time (its data set checked
/// like one that came over the network), never read whole into memory.
fn import_large_file(ingest: &Ingest, path: &Path, meta: &MetaFacts) -> Result<Ingested, String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let announced = crate::archive::part::Announced {
        transfer_syntax: meta.transfer_syntax.clone(),
        sop_class: meta.sop_class.clone(),
        sop_instance: meta.sop_instance.clone(),
        source: "import".into(),
    };
    let head = crate::archive::prepare::meta_head(
        &meta.sop_class,
        &meta.sop_instance,
        &meta.transfer_syntax,
        "import",
    )
    .map_err(|e| e.to_string())?;
    let mut part = ingest
        .archive()
        .begin_part(&head, announced)
        .map_err(|e| e.to_string())?;
    file.seek(SeekFrom::Start(132 + meta.dataset_offset as u64))
        .map_err(|e| format!("cannot read: {e}"))?;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| format!("cannot read: {e}"))?;
        if n == 0 {
            break;
        }
        part.write(buffer.get(..n).unwrap_or_default())
            .map_err(|e| e.to_string())?;
    }
    ingest.ingest_part_blocking(part).map_err(|e| e.to_string())
}

fn import_file(destination: &dyn ImportDestination, path: &Path, run: &mut Run<'_>) {
    let large = fs::metadata(path)
        .map(|m| m.len() > crate::archive::part::SPILL_AFTER_BYTES as u64)
        .unwrap_or(false);
    if large
        && let Some(meta) = large_file_meta(path)
        && let Some(result) = destination.store_large_file(path, &meta)
    {
        match result {
            Ok(Ingested::Stored { .. }) => run.summary.imported += 1,
            Ok(Ingested::Duplicate { .. }) => run.summary.duplicates += 1,
            Ok(Ingested::ConflictKeptExisting { .. }) => run.summary.conflicts += 1,
            Err(e) => run.summary.refused.push((path.to_path_buf(), e)),
        }
        return;
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            run.summary
                .refused
                .push((path.to_path_buf(), format!("cannot read: {e}")));
            return;
        }
    };
    let mut file_meta = None;
    let (dataset, ts) = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        if let Err(e) = lightbox_codec::lengths::check_file_after_marker(&bytes[132..]) {
            run.summary.refused.push((
                path.to_path_buf(),
                format!("not a readable DICOM file: {e}"),
            ));
            return;
        }
        // Read without judging its UIDs: a file whose SOP Instance UID has letters is still
        // an image the practice needs (the data set's UIDs are checked at ingest).
        let Some(meta) = lightbox_codec::tolerant::meta_facts(&bytes[132..]) else {
            run.summary
                .refused
                .push((path.to_path_buf(), "unreadable file meta group".to_string()));
            return;
        };
        if meta.sop_class == DICOMDIR_CLASS {
            import_dicomdir(destination, path, run);
            return;
        }
        let offset = (132 + meta.dataset_offset).min(bytes.len());
        let dataset = bytes[offset..].to_vec();
        let ts = meta.transfer_syntax.clone();
        file_meta = Some(meta);
        (dataset, ts)
    } else if looks_like_raw_dataset(&bytes) {
        // A data set without preamble or meta group: Implicit VR Little Endian by default.
        (bytes, "1.2.840.10008.1.2".to_string())
    } else {
        run.summary
            .refused
            .push((path.to_path_buf(), "not a DICOM file".into()));
        return;
    };
    let object = ReceivedObject {
        dataset,
        transfer_syntax: ts,
        announced_sop_class: None,
        announced_sop_instance: None,
        source: "import".into(),
    };
    match destination.store_object(object, file_meta.as_ref()) {
        Ok(Ingested::Stored { .. }) => run.summary.imported += 1,
        Ok(Ingested::Duplicate { .. }) => run.summary.duplicates += 1,
        Ok(Ingested::ConflictKeptExisting { .. }) => run.summary.conflicts += 1,
        Err(e) => run.summary.refused.push((path.to_path_buf(), e)),
    }
}

/// A raw data set starts with a group 0x0008 element in little endian.
fn looks_like_raw_dataset(bytes: &[u8]) -> bool {
    bytes.len() > 8 && bytes[0] == 0x08 && bytes[1] == 0x00
}

fn import_dicomdir(destination: &dyn ImportDestination, path: &Path, run: &mut Run<'_>) {
    let base = path.parent().unwrap_or(Path::new("."));
    let dir = match dicom_object::open_file(path) {
        Ok(d) => d,
        Err(e) => {
            run.summary
                .refused
                .push((path.to_path_buf(), format!("unreadable DICOMDIR: {e}")));
            return;
        }
    };
    let Some(records) = dir
        .get(tags::DIRECTORY_RECORD_SEQUENCE)
        .and_then(|e| e.items())
    else {
        run.summary.refused.push((
            path.to_path_buf(),
            "DICOMDIR without directory records".into(),
        ));
        return;
    };
    for record in records {
        let Some(elem) = record.get(tags::REFERENCED_FILE_ID) else {
            continue;
        };
        let Ok(parts) = elem.to_multi_str() else {
            continue;
        };
        match referenced_path(base, &parts) {
            Some(file) => import_path(destination, &file, run),
            None => run.summary.refused.push((
                path.to_path_buf(),
                format!(
                    "DICOMDIR reference {:?} leaves its folder",
                    parts.join("\\")
                ),
            )),
        }
    }
}

/// Builds a referenced file's path, refusing components that could leave the DICOMDIR's folder.
fn referenced_path(base: &Path, parts: &[String]) -> Option<PathBuf> {
    let mut out = base.to_path_buf();
    for part in parts {
        let part = part.trim_end_matches([' ', '\0']);
        let p = Path::new(part);
        if part.is_empty()
            || p.components().count() != 1
            || !matches!(p.components().next(), Some(Component::Normal(_)))
        {
            return None;
        }
        out.push(part);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dicomdir_references_cannot_escape() {
        let base = Path::new("/media/cd");
        assert_eq!(
            referenced_path(base, &["DICOM".into(), "IM1".into()]),
            Some(PathBuf::from("/media/cd/DICOM/IM1"))
        );
        assert_eq!(referenced_path(base, &["..".into(), "etc".into()]), None);
        assert_eq!(referenced_path(base, &["/etc".into()]), None);
        assert_eq!(referenced_path(base, &["a/b".into()]), None);
    }
}
