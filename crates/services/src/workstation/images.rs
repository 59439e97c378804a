//! Images onto a workstation: each instance over WADO-RS, JPEG-LS lossless on the wire (the
//! server transcodes; about half the bytes of a CT as stored), into the workstation's image
//! cache — the first one before the viewer opens, the rest on a few connections in parallel
//! while the first is already on screen — and the cache kept under its size.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lightbox_domain::imaging::arrival::ARRIVING_MARKER;
use lightbox_domain::practice::remote::{Arrival, CachedImage, RemoteFailure};
use lightbox_domain::viewing::{
    DEFAULT_WORKSTATION_CACHE_MIB as DEFAULT_CACHE_MIB, WORKSTATION_CACHE_SETTING as CACHE_SETTING,
};

use super::{Shared, describe};

/// JPEG-LS lossless: what the workstation asks the server to send.
const JPEG_LS_LOSSLESS: &str = "1.2.840.10008.1.2.4.80";

/// Connections a study loads over at once: one instance per request, so on a link with a
/// 20 ms round trip each connection idles a round trip per instance; eight keep a 50 Mbit/s
/// line full (four took 8.2 s for a 1,000-slice CT at home, the line itself 3.5 s).
const PARALLEL_FETCHES: usize = 8;

/// Largest instance a workstation reads (a long multi-frame ultrasound clip fits).
const MAX_INSTANCE_BYTES: u64 = 1024 * 1024 * 1024;

/// A study being filled: the images left, and how many are still due in each folder (the
/// folder's arrival marker goes when its count reaches zero).
struct Filling {
    queue: Mutex<VecDeque<CachedImage>>,
    due: Mutex<HashMap<PathBuf, usize>>,
}

impl Filling {
    fn done_with(&self, image: &CachedImage) {
        let Some(folder) = image.file.parent() else {
            return;
        };
        if let Ok(mut due) = self.due.lock()
            && let Some(left) = due.get_mut(folder)
        {
            *left = left.saturating_sub(1);
            if *left == 0 {
                due.remove(folder);
                let _ = std::fs::remove_file(folder.join(ARRIVING_MARKER));
            }
        }
    }
}

impl Shared {
    /// Brings `images` into the cache: the first now, the others in the background.
    pub(super) fn fetch_images(
        self: &Arc<Shared>,
        images: Vec<CachedImage>,
        until: Arrival,
    ) -> Result<(), RemoteFailure> {
        let missing: Vec<CachedImage> = images.into_iter().filter(|i| !i.file.exists()).collect();
        let Some(first) = missing.first().cloned() else {
            return Ok(());
        };
        let mut due: HashMap<PathBuf, usize> = HashMap::new();
        for image in &missing {
            if let Some(folder) = image.file.parent() {
                *due.entry(folder.to_path_buf()).or_default() += 1;
            }
        }
        for folder in due.keys() {
            std::fs::create_dir_all(folder)
                .and_then(|()| std::fs::write(folder.join(ARRIVING_MARKER), b""))
                .map_err(|e| {
                    RemoteFailure::Unreachable(format!(
                        "the image cache {} cannot be written: {e}",
                        folder.display()
                    ))
                })?;
        }
        let filling = Arc::new(Filling {
            queue: Mutex::new(missing.into_iter().skip(1).collect()),
            due: Mutex::new(due),
        });
        let first_result = self.fetch_instance(&first);
        filling.done_with(&first);
        if let Err(e) = first_result {
            // Nothing else is fetched: the markers go, so no reader waits for them.
            let rest: Vec<CachedImage> = filling
                .queue
                .lock()
                .map(|mut q| q.drain(..).collect())
                .unwrap_or_default();
            for image in &rest {
                filling.done_with(image);
            }
            return Err(e);
        }
        let study = first
            .file
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        let workers: Vec<_> = (0..PARALLEL_FETCHES)
            .filter_map(|n| {
                let shared = self.clone();
                let filling = filling.clone();
                std::thread::Builder::new()
                    .name(format!("image-fetch-{n}"))
                    .spawn(move || {
                        loop {
                            let next = filling.queue.lock().ok().and_then(|mut q| q.pop_front());
                            let Some(image) = next else { return };
                            if let Err(e) = shared.fetch_instance(&image) {
                                tracing::warn!(error = %e, sop = %image.sop_uid, "an image could not be brought from the server");
                            }
                            filling.done_with(&image);
                        }
                    })
                    .ok()
            })
            .collect();
        // When the study is complete, the cache is trimmed to its size (never this study).
        let shared = self.clone();
        let complete = move || {
            for worker in workers {
                let _ = worker.join();
            }
            // Anything a dead worker left behind: its folder's marker goes too.
            let left: Vec<CachedImage> = filling
                .queue
                .lock()
                .map(|mut q| q.drain(..).collect())
                .unwrap_or_default();
            for image in &left {
                filling.done_with(image);
            }
            shared.trim_cache(study.as_deref());
        };
        match until {
            Arrival::All => complete(),
            Arrival::First => {
                let _ = std::thread::Builder::new()
                    .name("image-cache".into())
                    .spawn(complete);
            }
        }
        Ok(())
    }

    /// One instance from the server into its file in the cache (written whole, then renamed
    /// into place: a reader never sees half a file).
    fn fetch_instance(&self, image: &CachedImage) -> Result<(), RemoteFailure> {
        let token = self
            .token()
            .ok_or_else(|| RemoteFailure::Unreachable("nobody is signed in".into()))?;
        let url = self.url(&format!(
            "/dicomweb/studies/{}/series/{}/instances/{}",
            image.study_uid, image.series_uid, image.sop_uid
        ));
        let mut answer = None;
        // JPEG-LS lossless on the wire; as stored when the server cannot (a lossy original).
        for syntax in [JPEG_LS_LOSSLESS, "*"] {
            let response = self
                .stream_agent
                .get(&url)
                .header("Authorization", &format!("Bearer {token}"))
                .header(
                    "Accept",
                    &format!(
                        "multipart/related; type=\"application/dicom\"; transfer-syntax={syntax}"
                    ),
                )
                .call()
                .map_err(|e| {
                    let why = describe(&e);
                    self.set_trouble(Some(why.clone()));
                    RemoteFailure::Unreachable(why)
                })?;
            if response.status().as_u16() == 406 {
                continue;
            }
            answer = Some(response);
            break;
        }
        let Some(mut response) = answer else {
            return Err(RemoteFailure::Garbled(
                "the server offers the image in no transfer syntax".into(),
            ));
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_INSTANCE_BYTES)
            .read_to_vec()
            .map_err(|e| RemoteFailure::Unreachable(describe(&e)))?;
        if status != 200 {
            return Err(Shared::refusal(status, &String::from_utf8_lossy(&body)));
        }
        let part = first_part(&content_type, &body).ok_or_else(|| {
            RemoteFailure::Garbled("the image's multipart answer could not be read".into())
        })?;
        let temporary = image
            .file
            .with_extension(format!("part-{:08x}", rand::random::<u32>()));
        std::fs::write(&temporary, part)
            .and_then(|()| std::fs::rename(&temporary, &image.file))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temporary);
                RemoteFailure::Unreachable(format!(
                    "the image cache {} cannot be written: {e}",
                    image.file.display()
                ))
            })
    }

    /// Removes whole studies, least recently filled first, until the cache is within the
    /// practice's bound; `keep` (the study just opened) stays whatever its size.
    fn trim_cache(&self, keep: Option<&Path>) {
        let Some(cache) = keep.and_then(Path::parent) else {
            return;
        };
        let bound_mib = match self.call("setting", serde_json::json!([CACHE_SETTING])) {
            Ok(serde_json::Value::String(v)) => v.trim().parse().unwrap_or(DEFAULT_CACHE_MIB),
            _ => DEFAULT_CACHE_MIB,
        };
        trim_to(cache, bound_mib.saturating_mul(1024 * 1024), keep);
    }
}

/// Trims the cache folder `cache` (one folder per study) to `bound_bytes`, oldest studies
/// first, never `keep`.
pub(super) fn trim_to(cache: &Path, bound_bytes: u64, keep: Option<&Path>) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    let mut studies: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let path = e.path();
            let modified = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (modified, folder_bytes(&path), path)
        })
        .collect();
    let mut total: u64 = studies.iter().map(|s| s.1).sum();
    studies.sort();
    for (_, bytes, path) in studies {
        if total <= bound_bytes {
            break;
        }
        if keep == Some(path.as_path()) {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => total = total.saturating_sub(bytes),
            Err(e) => {
                tracing::warn!(error = %e, folder = %path.display(), "a cached study could not be removed")
            }
        }
    }
}

fn folder_bytes(folder: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => folder_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// The first part of a `multipart/related` body: between the end of its headers and the next
/// boundary.
fn first_part<'a>(content_type: &str, body: &'a [u8]) -> Option<&'a [u8]> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let opening = format!("--{boundary}");
    let start = memchr::memmem::find(body, opening.as_bytes())?;
    let after_opening = start + opening.len();
    let headers_end = memchr::memmem::find(body.get(after_opening..)?, b"\r\n\r\n")?;
    let content_start = after_opening + headers_end + 4;
    let rest = body.get(content_start..)?;
    let closing = format!("\r\n--{boundary}");
    let end = memchr::memmem::find(rest, closing.as_bytes())?;
    rest.get(..end)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_first_part_of_a_multipart_body_is_its_bytes_exactly() {
        let body = b"--b1\r\nContent-Type: application/dicom\r\nContent-Length: 5\r\n\r\nDI\r\nM\r\n--b1--\r\n";
        assert_eq!(
            first_part(
                "multipart/related; type=\"application/dicom\"; boundary=b1",
                body
            ),
            Some(&b"DI\r\nM"[..])
        );
        assert_eq!(first_part("multipart/related; boundary=other", body), None);
        assert_eq!(first_part("application/dicom", body), None);
    }

    #[test]
    fn the_cache_drops_the_oldest_studies_first_and_never_the_one_open() {
        let cache = tempfile::tempdir().unwrap();
        let study = |name: &str, bytes: usize| {
            let folder = cache.path().join(name).join("series");
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("1.dcm"), vec![0u8; bytes]).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            cache.path().join(name)
        };
        let oldest = study("1.1", 1000);
        let older = study("1.2", 1000);
        let open = study("1.3", 5000);
        trim_to(cache.path(), 6000, Some(&open));
        assert!(!oldest.exists(), "the oldest went");
        assert!(older.exists(), "within the bound after one");
        assert!(open.exists());
        trim_to(cache.path(), 0, Some(&open));
        assert!(!older.exists());
        assert!(open.exists(), "the open study stays, whatever its size");
    }
}
