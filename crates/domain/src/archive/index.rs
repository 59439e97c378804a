//! The index's decision for each received instance: new, a duplicate of what is archived (the
//! same bytes, or the same attributes in another syntax), a conflicting copy, or a UID already
//! archived elsewhere — decided for a whole batch in one transaction.

use super::ArchiveFolder;
use crate::store::index::{IndexConflict, NewInstance};
use crate::store::{Store, StoreError};

/// What the index decided for one received instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexVerdict {
    /// Newly indexed.
    Inserted,
    /// Already archived with the same content: nothing changed.
    Duplicate,
    /// Already archived with other content: the existing copy is kept.
    Conflict,
    /// The SOP instance is archived under another series or study.
    KnownElsewhere {
        /// Its series in the archive.
        series_uid: String,
        /// Its study in the archive.
        study_uid: String,
    },
    /// The series belongs to another study.
    SeriesElsewhere {
        /// The series.
        series_uid: String,
        /// The study it belongs to.
        existing_study: String,
    },
}

struct Existing {
    series_uid: String,
    study_uid: String,
    file_path: String,
    header_hash: String,
    transfer_syntax: String,
}

/// The same object: identical data set bytes, or the same attributes re-encoded in another
/// syntax. Bytes are compared only here, when a known UID arrives again (rare), so the
/// ingest path never hashes whole data sets.
fn is_same_object(archive: &ArchiveFolder, existing: &Existing, new: &NewInstance) -> bool {
    if existing.transfer_syntax != new.transfer_syntax {
        return !existing.header_hash.is_empty() && existing.header_hash == new.header_hash;
    }
    // Compared piece by piece from each file's data set on: a 2 GB duplicate costs two
    // buffers, not two copies in memory.
    let open = |rel: &str| -> Option<(std::io::BufReader<std::fs::File>, u64)> {
        use std::io::{Read, Seek, SeekFrom};
        let path = archive.path_of(rel).ok()?;
        let mut file = std::fs::File::open(path).ok()?;
        let mut head = vec![0u8; 144];
        file.read_exact(&mut head).ok()?;
        let group_len = u32::from_le_bytes([head[140], head[141], head[142], head[143]]);
        if head.get(128..132) != Some(b"DICM".as_slice()) {
            return None;
        }
        let offset = 144 + u64::from(group_len);
        let len = file.metadata().ok()?.len().checked_sub(offset)?;
        file.seek(SeekFrom::Start(offset)).ok()?;
        Some((std::io::BufReader::with_capacity(1 << 16, file), len))
    };
    let (Some((mut a, a_len)), Some((mut b, b_len))) =
        (open(&existing.file_path), open(&new.file_path))
    else {
        return false;
    };
    if a_len != b_len {
        return false;
    }
    use std::io::Read;
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let mut left = a_len;
    while left > 0 {
        let n = (left.min(x.len() as u64)) as usize;
        let (Some(xs), Some(ys)) = (x.get_mut(..n), y.get_mut(..n)) else {
            return false;
        };
        if a.read_exact(xs).is_err() || b.read_exact(ys).is_err() || xs != ys {
            return false;
        }
        left -= n as u64;
    }
    true
}

/// Decides each instance of a batch against the index and the batch itself, and indexes the new
/// ones in one transaction. Returns a verdict per instance and the rows that were inserted (the
/// caller tells the RIS about their studies).
pub fn decide_and_index(
    archive: &ArchiveFolder,
    store: &mut Store,
    batch: &[NewInstance],
) -> Result<(Vec<IndexVerdict>, Vec<NewInstance>), StoreError> {
    let mut verdicts: Vec<Option<IndexVerdict>> = Vec::with_capacity(batch.len());
    let mut to_insert = Vec::new();
    let mut seen_in_batch = std::collections::HashMap::new();
    for (i, inst) in batch.iter().enumerate() {
        let existing = store.instance_by_sop_uid(&inst.sop_uid)?.map(|e| Existing {
            series_uid: e.series_uid,
            study_uid: e.study_uid,
            file_path: e.file_path,
            header_hash: e.header_hash,
            transfer_syntax: e.transfer_syntax,
        });
        let existing = existing.or_else(|| {
            seen_in_batch.get(&inst.sop_uid).map(|j: &usize| {
                let other = &batch[*j];
                Existing {
                    series_uid: other.series_uid.clone(),
                    study_uid: other.study_uid.clone(),
                    file_path: other.file_path.clone(),
                    header_hash: other.header_hash.clone(),
                    transfer_syntax: other.transfer_syntax.clone(),
                }
            })
        });
        verdicts.push(match existing {
            Some(e) if e.series_uid != inst.series_uid || e.study_uid != inst.study_uid => {
                Some(IndexVerdict::KnownElsewhere {
                    series_uid: e.series_uid,
                    study_uid: e.study_uid,
                })
            }
            Some(e) if is_same_object(archive, &e, inst) => Some(IndexVerdict::Duplicate),
            Some(_) => Some(IndexVerdict::Conflict),
            None => {
                seen_in_batch.insert(inst.sop_uid.clone(), i);
                to_insert.push((i, inst.clone()));
                None
            }
        });
    }
    let rows: Vec<NewInstance> = to_insert.iter().map(|(_, inst)| inst.clone()).collect();
    let outcomes = store.index_instances(&rows)?;
    for ((i, inst), outcome) in to_insert.iter().zip(outcomes) {
        verdicts[*i] = Some(match outcome {
            Ok(_) => IndexVerdict::Inserted,
            Err(IndexConflict::SeriesInOtherStudy { existing_study }) => {
                IndexVerdict::SeriesElsewhere {
                    series_uid: inst.series_uid.clone(),
                    existing_study,
                }
            }
        });
    }
    let verdicts = verdicts
        .into_iter()
        .map(|v| v.unwrap_or(IndexVerdict::Inserted))
        .collect();
    Ok((verdicts, rows))
}
