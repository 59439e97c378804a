//! WADO-RS: what a viewer loads. Instances of a study, series or one instance as
//! `multipart/related; type="application/dicom"` — as stored, or transcoded when the client
//! asks for another transfer syntax (`transfer-syntax=` in `Accept`: Explicit or Implicit VR
//! Little Endian, or JPEG-LS lossless, which roughly halves a CT on the wire without losing a
//! bit); metadata in DICOM JSON (pixel data as a bulk-data URI); frames as raw little-endian
//! pixels (`application/octet-stream`) or JPEG-LS lossless (`image/jls`); rendered frames and
//! thumbnails as JPEG or PNG with the file's window or one from `window=center,width`.
//!
//! The archive files are read while the practice is locked; parsing, transcoding and
//! rendering happen after, on a blocking thread, so a big series does not hold up other
//! requests.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dicom_dictionary_std::tags;

use super::{ApiError, ApiState, dicomweb_actor, exact, practice_error, with_practice};
use crate::store::index::{Column, Condition, IndexRow, Level};
use lightbox_domain::archive::ArchiveFolder;

/// Explicit VR Little Endian: native pixels, what "uncompressed" means on the wire.
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
/// Implicit VR Little Endian.
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
/// JPEG-LS lossless: compression on the wire without changing a pixel.
const JPEG_LS_LOSSLESS: &str = "1.2.840.10008.1.2.4.80";

pub(super) fn failed(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what}");
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("{what}; see the server's log"),
    )
}

/// Which instances a request reads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    /// All of them (retrieve, metadata).
    All,
    /// The middle one by instance number (a thumbnail of a study or series).
    Middle,
}

/// The index rows of the instances under `conditions`, read as the request's user (audited
/// as a retrieval of `what`), and the archive to read their files from (after the connection
/// is given back); 404 when there are none.
async fn instance_rows(
    state: &ApiState,
    origin: String,
    headers: HeaderMap,
    conditions: Vec<Condition>,
    what: String,
    pick: Pick,
) -> Result<(Vec<IndexRow>, ArchiveFolder), ApiError> {
    let st = state.clone();
    let (rows, archive) = with_practice(state, move |p| {
        let actor = dicomweb_actor(&st, p, &headers, &origin)?;
        p.authorise_exchange(&actor, "dicomweb.retrieve", &what, "")
            .map_err(practice_error)?;
        let mut rows = p
            .find_studies(&actor, Level::Image, &conditions, 100_000)
            .map_err(practice_error)?;
        if pick == Pick::Middle && !rows.is_empty() {
            rows.sort_by_key(|r| r.instance_number.trim().parse::<i64>().unwrap_or(0));
            let middle = rows.swap_remove(rows.len() / 2);
            rows = vec![middle];
        }
        Ok((rows, p.archive()))
    })
    .await?;
    if rows.is_empty() {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "no such study, series or instance".into(),
        ));
    }
    Ok((rows, archive))
}

fn read_file(archive: &ArchiveFolder, row: &IndexRow) -> Result<Vec<u8>, ApiError> {
    archive
        .get(&row.file_path)
        .map_err(|e| failed("an archived file could not be read", e))
}

/// The rows and stored bytes of a few instances (one instance, a thumbnail's middle one).
pub(super) async fn instance_files(
    state: &ApiState,
    origin: String,
    headers: HeaderMap,
    conditions: Vec<Condition>,
    what: String,
    pick: Pick,
) -> Result<Vec<(IndexRow, Vec<u8>)>, ApiError> {
    let (rows, archive) = instance_rows(state, origin, headers, conditions, what, pick).await?;
    off_the_runtime(move || {
        rows.into_iter()
            .map(|row| {
                let bytes = read_file(&archive, &row)?;
                Ok((row, bytes))
            })
            .collect()
    })
    .await
}

/// Runs CPU work (parsing, transcoding, rendering) on a blocking thread.
pub(super) async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| failed("a DICOMweb request was interrupted", e))?
}

/// One media range of an `Accept` header: its type and parameters (lower-case names).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MediaRange {
    pub(super) kind: String,
    params: Vec<(String, String)>,
}

impl MediaRange {
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The media ranges a client accepts, in its order.
pub(super) fn accepted(headers: &HeaderMap) -> Vec<MediaRange> {
    let text = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    text.split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let kind = parts.next()?.trim().to_ascii_lowercase();
            if kind.is_empty() {
                return None;
            }
            let params = parts
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((
                        k.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_string(),
                    ))
                })
                .collect();
            Some(MediaRange { kind, params })
        })
        .collect()
}

/// The transfer syntax a client asks instances in: None for "as stored" (no `Accept`, `*`,
/// or no transfer-syntax parameter); 406 for one this server does not write.
fn instance_syntax(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let ranges = accepted(headers);
    let dicom = ranges.iter().find(|r| {
        (r.kind == "multipart/related"
            && r.param("type")
                .is_none_or(|t| t == "application/dicom" || t == "*/*"))
            || r.kind == "application/dicom"
    });
    let Some(range) = dicom else {
        if ranges.is_empty() || ranges.iter().any(|r| r.kind == "*/*") {
            return Ok(None);
        }
        return Err(ApiError(
            StatusCode::NOT_ACCEPTABLE,
            "instances are sent as multipart/related; type=\"application/dicom\"".into(),
        ));
    };
    match range.param("transfer-syntax") {
        None | Some("*") => Ok(None),
        Some(s) if [EXPLICIT_LE, IMPLICIT_LE, JPEG_LS_LOSSLESS].contains(&s) => {
            Ok(Some(s.to_string()))
        }
        Some(other) => Err(ApiError(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "transfer syntax {other} is not offered: ask for * (as stored), {EXPLICIT_LE}, \
                 {IMPLICIT_LE} or {JPEG_LS_LOSSLESS} (JPEG-LS lossless)"
            ),
        )),
    }
}

fn parse_part10(bytes: &[u8]) -> Result<dicom_object::DefaultDicomObject, String> {
    let dataset = bytes
        .get(128..)
        .filter(|rest| rest.starts_with(b"DICM"))
        .ok_or("not a DICOM Part 10 file")?;
    dicom_object::OpenFileOptions::new()
        .from_reader(std::io::Cursor::new(dataset))
        .map_err(|e| e.to_string())
}

/// The instance in `syntax` (transcoded unless it is already in it), and the syntax it is
/// in. An object without pixels (a key image document, a presentation state, a report) has
/// nothing to compress: asked for a compressed syntax it comes in Explicit VR Little Endian,
/// and its part says so.
fn transcoded(bytes: Vec<u8>, stored: &str, syntax: &str) -> Result<(String, Vec<u8>), String> {
    use dicom_pixeldata::Transcode as _;
    if stored == syntax {
        return Ok((stored.to_string(), bytes));
    }
    let mut obj = parse_part10(&bytes)?;
    let ts = dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(syntax)
        .ok_or_else(|| format!("unknown transfer syntax {syntax}"))?;
    let ts = if ts.is_encapsulated_pixel_data() && obj.element(tags::PIXEL_DATA).is_err() {
        if stored == EXPLICIT_LE {
            return Ok((stored.to_string(), bytes));
        }
        dicom_transfer_syntax_registry::TransferSyntaxRegistry
            .get(EXPLICIT_LE)
            .ok_or("no Explicit VR Little Endian")?
    } else {
        ts
    };
    obj.transcode(ts).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(bytes.len());
    obj.write_all(&mut out).map_err(|e| e.to_string())?;
    Ok((ts.uid().to_string(), out))
}

use dicom_transfer_syntax_registry::TransferSyntaxIndex as _;

/// A multipart/related body of `parts` (content type, bytes).
fn multipart(kind: &str, parts: Vec<(String, Vec<u8>)>) -> Result<Response, ApiError> {
    let boundary = format!("lightbox-{:016x}", rand::random::<u64>());
    let size: usize = parts.iter().map(|(_, b)| b.len() + 160).sum();
    let mut body = Vec::with_capacity(size + 64);
    for (content_type, bytes) in &parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                bytes.len()
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&format!(
            "multipart/related; type=\"{kind}\"; boundary={boundary}"
        ))
        .map_err(|e| failed("a response could not be made", e))?,
    );
    Ok(response)
}

/// Instances a streamed body keeps ready ahead of the client: memory stays a few instances
/// whatever the size of the study asked for.
const PARTS_AHEAD: usize = 4;

/// WADO-RS instances under `conditions`, in the syntax the client accepts, streamed: each
/// instance is read (and transcoded) as the client takes the previous ones.
async fn retrieve_instances(
    state: ApiState,
    origin: String,
    headers: HeaderMap,
    conditions: Vec<Condition>,
    what: String,
) -> Result<Response, ApiError> {
    let wanted = instance_syntax(&headers)?;
    let (rows, archive) =
        instance_rows(&state, origin, headers, conditions, what, Pick::All).await?;
    let boundary = format!("lightbox-{:016x}", rand::random::<u64>());
    let content_type = HeaderValue::from_str(&format!(
        "multipart/related; type=\"application/dicom\"; boundary={boundary}"
    ))
    .map_err(|e| failed("a response could not be made", e))?;
    let (parts, mut next) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(PARTS_AHEAD);
    tokio::task::spawn_blocking(move || {
        for row in rows {
            let part = read_file(&archive, &row)
                .map_err(|ApiError(_, why)| why)
                .and_then(|bytes| match &wanted {
                    None => Ok((row.transfer_syntax.clone(), bytes)),
                    Some(syntax) => transcoded(bytes, &row.transfer_syntax, syntax),
                });
            let chunk = match part {
                Ok((syntax, bytes)) => {
                    let mut chunk = format!(
                        "--{boundary}\r\nContent-Type: application/dicom; transfer-syntax={syntax}\r\nContent-Length: {}\r\n\r\n",
                        bytes.len()
                    )
                    .into_bytes();
                    chunk.extend_from_slice(&bytes);
                    chunk.extend_from_slice(b"\r\n");
                    Ok(chunk)
                }
                Err(why) => {
                    // The status is sent already: the body ends early and the client sees a
                    // broken multipart, not a complete study with one missing.
                    tracing::error!(sop = %row.sop_uid, error = %why, "WADO-RS stopped mid-study");
                    Err(std::io::Error::other(why))
                }
            };
            let failed = chunk.is_err();
            if parts.blocking_send(chunk).is_err() || failed {
                return; // the client went away, or the study cannot be completed
            }
        }
        let _ = parts.blocking_send(Ok(format!("--{boundary}--\r\n").into_bytes()));
    });
    let stream = futures_util::stream::poll_fn(move |cx| next.poll_recv(cx));
    let mut response = axum::body::Body::from_stream(stream).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    Ok(response)
}

/// What a DICOMweb path names — a study, a series or an instance, from the route's
/// `{study}`, `{series}` and `{instance}` — as index conditions, and as the audit names it.
pub(super) struct Resource {
    pub(super) conditions: Vec<Condition>,
    pub(super) what: String,
}

impl Resource {
    /// The resource of a matched route's parameters.
    pub(super) fn of(path: &HashMap<String, String>) -> Resource {
        let conditions = [
            ("study", Column::StudyUid),
            ("series", Column::SeriesUid),
            ("instance", Column::SopUid),
        ]
        .into_iter()
        .filter_map(|(key, column)| path.get(key).map(|uid| exact(column, uid)))
        .collect();
        Resource {
            conditions,
            what: format!(
                "study:{}",
                path.get("study").map(String::as_str).unwrap_or_default()
            ),
        }
    }
}

/// `GET /dicomweb/studies/{study}`, `…/series/{series}`, `…/instances/{instance}`.
pub(in crate::api) async fn retrieve(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Resource { conditions, what } = Resource::of(&path);
    retrieve_instances(state, peer.ip().to_string(), headers, conditions, what).await
}

/// Elements larger than this are sent as bulk-data URIs in metadata, not inline.
const INLINE_BINARY_MAX: usize = 1024;

/// One instance's metadata in DICOM JSON: every attribute but the pixel data and other large
/// binaries, which are given as URIs to fetch them.
fn metadata_of(bytes: &[u8], instance_url: &str) -> Result<serde_json::Value, String> {
    use dicom_core::VR;
    let obj = parse_part10(bytes)?;
    let frames: u32 = obj
        .element(tags::NUMBER_OF_FRAMES)
        .ok()
        .and_then(|e| e.to_str().ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut dataset = obj.into_inner();
    let large: Vec<dicom_core::Tag> = dataset
        .iter()
        .filter(|e| {
            matches!(e.vr(), VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::UN)
                && e.header()
                    .len
                    .get()
                    .is_none_or(|n| n as usize > INLINE_BINARY_MAX)
        })
        .map(|e| e.header().tag)
        .collect();
    let mut json = dicom_json::to_value(&dataset).map_err(|e| e.to_string())?;
    for tag in large {
        let vr = dataset
            .element(tag)
            .map(|e| e.vr().to_string().to_string())
            .unwrap_or_else(|_| "OB".into());
        dataset.remove_element(tag);
        let uri = if tag == tags::PIXEL_DATA {
            let list = (1..=frames)
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(",");
            format!("{instance_url}/frames/{list}")
        } else {
            instance_url.to_string()
        };
        if let Some(map) = json.as_object_mut() {
            map.insert(
                format!("{:04X}{:04X}", tag.0, tag.1),
                serde_json::json!({ "vr": vr, "BulkDataURI": uri }),
            );
        }
    }
    Ok(json)
}

/// `GET …/metadata` of a study, a series or an instance.
pub(in crate::api) async fn metadata(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Resource { conditions, what } = Resource::of(&path);
    let origin = peer.ip().to_string();
    let base = super::base_url(&headers);
    let (rows, archive) =
        instance_rows(&state, origin, headers, conditions, what, Pick::All).await?;
    // One file in memory at a time; only the JSON accumulates.
    let all = off_the_runtime(move || {
        rows.iter()
            .map(|row| {
                let url = format!(
                    "{base}/studies/{}/series/{}/instances/{}",
                    row.study_uid, row.series_uid, row.sop_uid
                );
                metadata_of(&read_file(&archive, row)?, &url)
                    .map_err(|e| failed("an archived file could not be read as DICOM", e))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    let mut response = serde_json::to_vec(&all)
        .map_err(|e| failed("metadata could not be written", e))?
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/dicom+json"),
    );
    Ok(response)
}

/// Frame numbers from a path (`1,3,5`, counted from 1); 400 for anything else.
pub(super) fn frame_list(text: &str) -> Result<Vec<u32>, ApiError> {
    let numbers: Option<Vec<u32>> = text
        .split(',')
        .map(|n| n.trim().parse::<u32>().ok().filter(|n| *n >= 1))
        .collect();
    match numbers {
        Some(list) if !list.is_empty() && list.len() <= 10_000 => Ok(list),
        _ => Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("frames are numbers from 1, separated by commas, not {text:?}"),
        )),
    }
}

/// The frames of an instance as the client accepts them: raw little-endian pixels, or each
/// frame compressed with JPEG-LS lossless.
fn frame_parts(
    bytes: Vec<u8>,
    stored: &str,
    numbers: &[u32],
    jpeg_ls: bool,
) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    let target = if jpeg_ls {
        JPEG_LS_LOSSLESS
    } else {
        EXPLICIT_LE
    };
    let not_pixels = |e: String| {
        ApiError(
            StatusCode::NOT_ACCEPTABLE,
            format!("the instance's pixels cannot be sent this way: {e}"),
        )
    };
    let (_, bytes) = transcoded(bytes, stored, target).map_err(not_pixels)?;
    let obj = parse_part10(&bytes).map_err(not_pixels)?;
    let pixel_data = obj
        .element(tags::PIXEL_DATA)
        .map_err(|_| ApiError(StatusCode::NOT_FOUND, "the instance has no pixels".into()))?;
    let number = |tag| -> u32 {
        obj.element(tag)
            .ok()
            .and_then(|e| e.to_int::<u32>().ok())
            .unwrap_or(0)
    };
    let count = obj
        .element(tags::NUMBER_OF_FRAMES)
        .ok()
        .and_then(|e| e.to_str().ok())
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    if let Some(beyond) = numbers.iter().find(|n| **n > count) {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("frame {beyond} of {count}"),
        ));
    }
    if jpeg_ls {
        let fragments = pixel_data
            .value()
            .fragments()
            .ok_or_else(|| not_pixels("not encapsulated".into()))?;
        if fragments.len() != count as usize {
            return Err(not_pixels("frames span several fragments".into()));
        }
        return Ok(numbers
            .iter()
            .filter_map(|n| fragments.get(*n as usize - 1))
            .map(|f| {
                (
                    format!("image/jls; transfer-syntax={JPEG_LS_LOSSLESS}"),
                    f.to_vec(),
                )
            })
            .collect());
    }
    let frame_bytes = (number(tags::ROWS) as usize)
        * (number(tags::COLUMNS) as usize)
        * (number(tags::SAMPLES_PER_PIXEL).max(1) as usize)
        * (number(tags::BITS_ALLOCATED) as usize).div_ceil(8);
    let raw = pixel_data
        .to_bytes()
        .map_err(|e| not_pixels(e.to_string()))?;
    numbers
        .iter()
        .map(|n| {
            let start = (*n as usize - 1) * frame_bytes;
            raw.get(start..start + frame_bytes)
                .map(|frame| {
                    (
                        format!("application/octet-stream; transfer-syntax={EXPLICIT_LE}"),
                        frame.to_vec(),
                    )
                })
                .ok_or_else(|| not_pixels("the pixel data is shorter than its frames".into()))
        })
        .collect()
}

/// `GET /dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{list}`.
pub(in crate::api) async fn frames(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let numbers = frame_list(path.get("frames").map(String::as_str).unwrap_or_default())?;
    let ranges = accepted(&headers);
    let jpeg_ls = ranges
        .iter()
        .any(|r| r.kind == "image/jls" || r.param("type") == Some("image/jls"));
    let raw_ok = ranges.is_empty()
        || ranges.iter().any(|r| {
            r.kind == "*/*"
                || r.kind == "application/octet-stream"
                || r.param("type")
                    .is_none_or(|t| t == "application/octet-stream" || t == "*/*")
        });
    if !jpeg_ls && !raw_ok {
        return Err(ApiError(
            StatusCode::NOT_ACCEPTABLE,
            "frames are sent as application/octet-stream (raw) or image/jls (JPEG-LS lossless)"
                .into(),
        ));
    }
    let Resource { conditions, what } = Resource::of(&path);
    let origin = peer.ip().to_string();
    let mut files = instance_files(&state, origin, headers, conditions, what, Pick::All).await?;
    let (row, bytes) = files.swap_remove(0);
    let parts =
        off_the_runtime(move || frame_parts(bytes, &row.transfer_syntax, &numbers, jpeg_ls))
            .await?;
    let kind = if jpeg_ls {
        "image/jls"
    } else {
        "application/octet-stream"
    };
    multipart(kind, parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(text: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(text).expect("header"));
        h
    }

    #[test]
    fn the_transfer_syntax_a_client_accepts_is_read_from_its_accept_header() {
        assert_eq!(instance_syntax(&HeaderMap::new()).ok(), Some(None));
        assert_eq!(
            instance_syntax(&accept(
                "multipart/related; type=\"application/dicom\"; transfer-syntax=*"
            ))
            .ok(),
            Some(None)
        );
        assert_eq!(
            instance_syntax(&accept(&format!(
                "multipart/related; type=\"application/dicom\"; transfer-syntax={JPEG_LS_LOSSLESS}"
            )))
            .ok()
            .flatten()
            .as_deref(),
            Some(JPEG_LS_LOSSLESS)
        );
        let refused = instance_syntax(&accept(
            "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.4.50",
        ));
        assert!(matches!(
            refused,
            Err(ApiError(StatusCode::NOT_ACCEPTABLE, _))
        ));
        assert!(instance_syntax(&accept("image/png")).is_err());
    }

    /// Regression: a study holding a key image document could not be opened on a workstation
    /// (asked in JPEG-LS, the document has no pixels to compress: the server stopped the study
    /// mid-way).
    #[test]
    fn an_object_without_pixels_asked_compressed_comes_as_explicit_little_endian() {
        use dicom_dictionary_std::uids;
        use dicom_object::meta::FileMetaTableBuilder;
        let mut ko = dicom_object::InMemDicomObject::new_empty();
        ko.put(dicom_object::mem::InMemElement::new(
            tags::SOP_CLASS_UID,
            dicom_core::VR::UI,
            dicom_core::PrimitiveValue::from(uids::KEY_OBJECT_SELECTION_DOCUMENT_STORAGE),
        ));
        ko.put(dicom_object::mem::InMemElement::new(
            tags::SOP_INSTANCE_UID,
            dicom_core::VR::UI,
            dicom_core::PrimitiveValue::from("2.25.1"),
        ));
        let file = ko
            .with_meta(
                FileMetaTableBuilder::new()
                    .media_storage_sop_class_uid(uids::KEY_OBJECT_SELECTION_DOCUMENT_STORAGE)
                    .media_storage_sop_instance_uid("2.25.1")
                    .transfer_syntax(uids::IMPLICIT_VR_LITTLE_ENDIAN),
            )
            .expect("meta");
        let mut bytes = Vec::new();
        file.write_all(&mut bytes).expect("written");
        let (syntax, out) =
            transcoded(bytes, uids::IMPLICIT_VR_LITTLE_ENDIAN, JPEG_LS_LOSSLESS).expect("sent");
        assert_eq!(syntax, EXPLICIT_LE);
        let back = parse_part10(&out).expect("readable");
        assert_eq!(
            back.meta().transfer_syntax().trim_end_matches('\0'),
            EXPLICIT_LE
        );
        assert_eq!(
            back.element(tags::SOP_INSTANCE_UID)
                .ok()
                .and_then(|e| e.to_str().ok())
                .as_deref(),
            Some("2.25.1")
        );
        // Already in Explicit VR Little Endian: sent untouched.
        let (syntax, again) = transcoded(out.clone(), EXPLICIT_LE, JPEG_LS_LOSSLESS).expect("sent");
        assert_eq!((syntax.as_str(), again), (EXPLICIT_LE, out));
    }

    #[test]
    fn frame_lists_are_numbers_from_one() {
        assert_eq!(frame_list("1,3, 5").ok(), Some(vec![1, 3, 5]));
        assert!(frame_list("0").is_err());
        assert!(frame_list("1,x").is_err());
        assert!(frame_list("").is_err());
    }
}
