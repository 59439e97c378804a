//! DICOMweb on the API's HTTPS port, under `/dicomweb`: QIDO-RS searches (studies, a study's
//! series, a series' instances; the usual keys by keyword or tag, `*`/`?` wildcards, date
//! ranges, `limit`/`offset`) answered in DICOM JSON from the archive's index, and WADO-RS
//! retrieval of a study, a series or an instance as `multipart/related; type="application/dicom"`
//! with the files exactly as the scanner stored them. Every request is a Lightbox user (bearer
//! token, or HTTP Basic over TLS), permission-checked and audited like a C-FIND or a viewer
//! opening — so OHIF, Weasis or a script read the archive as the person they sign in as.

use std::collections::HashMap;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dicom_core::Tag;
use dicom_core::dictionary::DataDictionary;
use dicom_dictionary_std::{StandardDataDictionary, tags};
use serde_json::{Value, json};

use super::{ApiError, ApiState, with_practice};
use crate::access::Actor;
use crate::pacs::query::{column_of, matcher_for};
use crate::store::index::{Column, Condition, IndexRow, Level, Matcher};
use lightbox_domain::Practice;

mod rendered;
mod wado;
pub(super) use rendered::{rendered, thumbnail};
pub(super) use wado::{frames, metadata, retrieve};

/// Most matches one search returns (a client pages with `offset`).
const MAX_RESULTS: usize = 1000;

/// The user of a DICOMweb request: a bearer token, or a login and password (HTTP Basic, which
/// opens a session once and reuses it, so a viewer's hundred requests are one sign-in).
fn dicomweb_actor(
    state: &ApiState,
    practice: &Practice,
    headers: &HeaderMap,
    origin: &str,
) -> Result<Actor, ApiError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(basic) = auth.strip_prefix("Basic ") {
        let decoded = base64_decode(basic.trim()).ok_or_else(|| {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "malformed Basic credentials".into(),
            )
        })?;
        let (login, password) = decoded.split_once(':').ok_or_else(|| {
            ApiError(
                StatusCode::UNAUTHORIZED,
                "malformed Basic credentials".into(),
            )
        })?;
        let key = (
            login.to_string(),
            blake3::hash(password.as_bytes()).to_hex().to_string(),
        );
        let cached = state
            .basic_sessions
            .lock()
            .ok()
            .and_then(|c| c.get(&key).cloned());
        if let Some(token) = cached
            && let Ok(actor) = practice.api_actor(&token)
        {
            return Ok(actor);
        }
        // A DICOMweb viewer (OHIF, Weasis, a script) is not a paired workstation: its user's
        // password is what the practice set up for it.
        let address = origin.parse::<std::net::IpAddr>().ok();
        if let Some(address) = address {
            state.throttle.check(address)?;
        }
        let opened = match practice.open_api_session(login, password, origin, None) {
            Ok(opened) => {
                if let Some(address) = address {
                    state.throttle.succeeded(address);
                }
                opened
            }
            Err(refused) => {
                if let (Some(address), crate::access::AccessError::BadCredentials) =
                    (address, &refused)
                {
                    state.throttle.failed(address);
                }
                return Err(refused.into());
            }
        };
        if let Ok(mut cache) = state.basic_sessions.lock() {
            if cache.len() >= 1000 {
                cache.clear();
            }
            cache.insert(key, opened.token.clone());
        }
        return Ok(opened.actor);
    }
    super::actor_of(practice, headers)
}

/// Standard base64 (RFC 4648) as HTTP Basic carries it; `None` if malformed or not UTF-8.
fn base64_decode(text: &str) -> Option<String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A query key by keyword (`PatientName`) or tag (`00100010`).
fn tag_of(key: &str) -> Option<Tag> {
    if key.len() == 8 && key.chars().all(|c| c.is_ascii_hexdigit()) {
        // Eight hex digits: the group and the element (ASCII, so split by bytes is safe).
        let both = u32::from_str_radix(key, 16).ok()?;
        return Some(Tag((both >> 16) as u16, (both & 0xFFFF) as u16));
    }
    StandardDataDictionary.by_name(key).map(|e| e.tag.inner())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The search's conditions and paging from the query string; a key the archive cannot match
/// is refused with 400 naming it (a silently ignored key would return too much).
fn parse_search(
    raw: Option<&str>,
    fixed: Vec<Condition>,
) -> Result<(Vec<Condition>, usize, usize), ApiError> {
    let mut conditions = fixed;
    let (mut limit, mut offset) = (100usize, 0usize);
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (percent_decode(key), percent_decode(value));
        match key.as_str() {
            "limit" => limit = value.parse().unwrap_or(limit),
            "offset" => offset = value.parse().unwrap_or(0),
            "includefield" | "fuzzymatching" => {}
            _ => {
                let tag = tag_of(&key).ok_or_else(|| {
                    ApiError(
                        StatusCode::BAD_REQUEST,
                        format!("unknown search key {key:?}"),
                    )
                })?;
                let column = column_of(tag).ok_or_else(|| {
                    ApiError(
                        StatusCode::BAD_REQUEST,
                        format!("the archive cannot search by {key}"),
                    )
                })?;
                let matcher = matcher_for(column, &value, tag)
                    .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("{key}: {e}")))?;
                if let Some(mut matcher) = matcher {
                    // Names match whatever the case, as people type them.
                    if column == Column::PatientName
                        && let Matcher::Glob {
                            case_insensitive, ..
                        } = &mut matcher
                    {
                        *case_insensitive = true;
                    }
                    conditions.push(Condition { column, matcher });
                }
            }
        }
    }
    Ok((conditions, limit.clamp(1, MAX_RESULTS), offset))
}

/// One attribute in DICOM JSON; empty values are sent without a Value, as the standard says.
fn attr(vr: &str, value: &str) -> Value {
    if value.is_empty() {
        return json!({ "vr": vr });
    }
    match vr {
        "PN" => json!({ "vr": vr, "Value": [{ "Alphabetic": value }] }),
        "IS" => match value.trim().parse::<i64>() {
            Ok(n) => json!({ "vr": vr, "Value": [n] }),
            Err(_) => json!({ "vr": vr }),
        },
        _ => json!({ "vr": vr, "Value": value.split('\\').collect::<Vec<_>>() }),
    }
}

fn hex(tag: Tag) -> String {
    format!("{:04X}{:04X}", tag.0, tag.1)
}

/// A search answer in DICOM JSON for `level`.
fn answer(row: &IndexRow, level: Level, base: &str) -> Value {
    let mut out = serde_json::Map::new();
    let mut put = |tag: Tag, vr: &str, value: &str| {
        out.insert(hex(tag), attr(vr, value));
    };
    put(tags::PATIENT_NAME, "PN", &row.patient_name);
    put(tags::PATIENT_ID, "LO", &row.patient_id);
    put(tags::PATIENT_BIRTH_DATE, "DA", &row.birth_date);
    put(tags::PATIENT_SEX, "CS", &row.sex);
    put(tags::STUDY_INSTANCE_UID, "UI", &row.study_uid);
    put(tags::STUDY_DATE, "DA", &row.study_date);
    put(tags::STUDY_TIME, "TM", &row.study_time);
    put(tags::ACCESSION_NUMBER, "SH", &row.accession);
    put(tags::STUDY_ID, "SH", &row.study_id);
    put(tags::STUDY_DESCRIPTION, "LO", &row.study_description);
    put(tags::REFERRING_PHYSICIAN_NAME, "PN", &row.referring);
    let retrieve = match level {
        Level::Patient | Level::Study => {
            put(
                tags::MODALITIES_IN_STUDY,
                "CS",
                &row.modalities_in_study.replace(',', "\\"),
            );
            put(
                tags::NUMBER_OF_STUDY_RELATED_SERIES,
                "IS",
                &row.related_series.to_string(),
            );
            put(
                tags::NUMBER_OF_STUDY_RELATED_INSTANCES,
                "IS",
                &row.related_instances.to_string(),
            );
            format!("{base}/studies/{}", row.study_uid)
        }
        Level::Series => {
            put(tags::SERIES_INSTANCE_UID, "UI", &row.series_uid);
            put(tags::MODALITY, "CS", &row.modality);
            put(tags::SERIES_NUMBER, "IS", &row.series_number);
            put(tags::SERIES_DESCRIPTION, "LO", &row.series_description);
            put(
                tags::NUMBER_OF_SERIES_RELATED_INSTANCES,
                "IS",
                &row.related_instances.to_string(),
            );
            format!("{base}/studies/{}/series/{}", row.study_uid, row.series_uid)
        }
        Level::Image => {
            put(tags::SERIES_INSTANCE_UID, "UI", &row.series_uid);
            put(tags::MODALITY, "CS", &row.modality);
            put(tags::SOP_CLASS_UID, "UI", &row.sop_class);
            put(tags::SOP_INSTANCE_UID, "UI", &row.sop_uid);
            put(tags::INSTANCE_NUMBER, "IS", &row.instance_number);
            format!(
                "{base}/studies/{}/series/{}/instances/{}",
                row.study_uid, row.series_uid, row.sop_uid
            )
        }
    };
    put(tags::RETRIEVE_URL, "UR", &retrieve);
    Value::Object(out)
}

/// The DICOMweb root as the client addressed it (`https://host:port/dicomweb`), for the URLs
/// in answers.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("https://{host}/dicomweb")
}

/// QIDO-RS at `level` under the path's fixed conditions.
async fn search(
    state: ApiState,
    origin: String,
    headers: HeaderMap,
    raw: Option<String>,
    level: Level,
    fixed: Vec<Condition>,
) -> Result<Response, ApiError> {
    let base = base_url(&headers);
    let st = state.clone();
    let rows = with_practice(&state, move |p| {
        let actor = dicomweb_actor(&st, p, &headers, &origin)?;
        let (conditions, limit, offset) = parse_search(raw.as_deref(), fixed)?;
        p.authorise_exchange(
            &actor,
            "dicomweb.query",
            "archive",
            raw.as_deref().unwrap_or(""),
        )
        .map_err(practice_error)?;
        let rows = p
            .find_studies(
                &actor,
                level,
                &conditions,
                (limit + offset).min(MAX_RESULTS),
            )
            .map_err(practice_error)?;
        Ok(rows
            .into_iter()
            .skip(offset)
            .take(limit)
            .collect::<Vec<_>>())
    })
    .await?;
    let body: Vec<Value> = rows.iter().map(|r| answer(r, level, &base)).collect();
    if body.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut response = serde_json::to_vec(&body)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/dicom+json"),
    );
    Ok(response)
}

fn practice_error(e: lightbox_domain::PracticeError) -> ApiError {
    match e {
        lightbox_domain::PracticeError::Access(a) => a.into(),
        other => {
            tracing::error!(error = %other, "DICOMweb request failed");
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the archive could not answer; see the server's log".into(),
            )
        }
    }
}

fn exact(column: Column, value: &str) -> Condition {
    Condition {
        column,
        matcher: Matcher::Exact(value.to_string()),
    }
}

pub(super) async fn search_studies(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    search(
        state,
        peer.ip().to_string(),
        headers,
        raw,
        Level::Study,
        Vec::new(),
    )
    .await
}

pub(super) async fn search_series(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(study): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    search(
        state,
        peer.ip().to_string(),
        headers,
        raw,
        Level::Series,
        vec![exact(Column::StudyUid, &study)],
    )
    .await
}

pub(super) async fn search_instances(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((study, series)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    search(
        state,
        peer.ip().to_string(),
        headers,
        raw,
        Level::Image,
        vec![
            exact(Column::StudyUid, &study),
            exact(Column::SeriesUid, &series),
        ],
    )
    .await
}

/// Bounded cache of HTTP Basic sign-ins: (login, password hash) → session token.
pub(super) type BasicSessions = std::sync::Mutex<HashMap<(String, String), String>>;

/// Largest STOW-RS request (a few series at once; the DICOM listener takes bigger studies).
pub(super) const MAX_STOW_BYTES: usize = 512 * 1024 * 1024;

/// The parts of a `multipart/related` body, each without its headers.
fn multipart_parts<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut parts = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    while let Some(found) = memchr::memmem::find(&body[i..], delimiter) {
        starts.push(i + found);
        i += found + delimiter.len();
    }
    for pair in starts.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        // Headers end at the first empty line; the part's bytes end before the CRLF that
        // precedes the next delimiter.
        let Some(head_end) = memchr::memmem::find(part, b"\r\n\r\n") else {
            continue;
        };
        let content = &part[head_end + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        parts.push(content);
    }
    parts
}

/// The boundary of a `multipart/related` content type.
fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// STOW-RS: each Part 10 instance of the body into the archive, with the same checks as a
/// C-STORE; the answer lists what was stored and what failed, with why (PS3.18 statuses:
/// 200 all stored, 202 some failed, 409 none stored).
pub(super) async fn store_instances(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let Some(ingest) = state.ingest.clone() else {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server does not take images".into(),
        ));
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let boundary = boundary_of(&content_type)
        .filter(|_| {
            content_type
                .to_ascii_lowercase()
                .starts_with("multipart/related")
        })
        .ok_or_else(|| {
            ApiError(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send multipart/related; type=\"application/dicom\" with a boundary".into(),
            )
        })?;
    let st = state.clone();
    let origin = peer.ip().to_string();
    let login = with_practice(&state, move |p| {
        let actor = dicomweb_actor(&st, p, &headers, &origin)?;
        p.authorise_exchange(&actor, "dicomweb.store", "archive", "")
            .map_err(practice_error)?;
        Ok(actor.login)
    })
    .await?;
    let mut stored = Vec::new();
    let mut failed = Vec::new();
    // What a person should know about single instances (already there, refused and why), as
    // HTTP warnings beside the standard answer's codes.
    let mut warnings = Vec::new();
    for part in multipart_parts(&body, &boundary) {
        let facts = (part.len() > 132 && part.get(128..132) == Some(b"DICM".as_slice()))
            .then(|| lightbox_codec::tolerant::meta_facts(&part[132..]))
            .flatten();
        let Some(facts) = facts else {
            // 0xC000: cannot understand (not a Part 10 instance).
            failed.push((String::new(), String::new(), 0xC000u16));
            continue;
        };
        let offset = (132 + facts.dataset_offset).min(part.len());
        let object = crate::archive::received::ReceivedObject {
            dataset: part[offset..].to_vec(),
            transfer_syntax: facts.transfer_syntax.clone(),
            announced_sop_class: Some(facts.sop_class.clone()),
            announced_sop_instance: Some(facts.sop_instance.clone()),
            source: format!("dicomweb:{login}"),
        };
        use crate::archive::received::Ingested;
        match ingest.ingest(object).await {
            Ok(outcome) => {
                match outcome {
                    Ingested::Stored { .. } => {}
                    Ingested::Duplicate { .. } => {
                        warnings.push(format!("{}: {STOW_DUPLICATE}", facts.sop_instance))
                    }
                    Ingested::ConflictKeptExisting { .. } => {
                        warnings.push(format!("{}: {STOW_CONFLICT}", facts.sop_instance))
                    }
                }
                stored.push((facts.sop_class, facts.sop_instance))
            }
            Err(e) => {
                tracing::warn!(error = %e, sop = %facts.sop_instance, "STOW-RS instance refused");
                warnings.push(format!("{}: {e}", facts.sop_instance));
                // 0xA700 out of resources (a full disk: send again later), else 0xC000.
                let reason = match &e {
                    crate::archive::received::IngestError::Archive(a) if a.is_disk_full() => {
                        0xA700u16
                    }
                    _ => 0xC000,
                };
                failed.push((facts.sop_class, facts.sop_instance, reason));
            }
        }
    }
    let item = |class: &str, instance: &str| {
        let mut m = serde_json::Map::new();
        m.insert(hex(tags::REFERENCED_SOP_CLASS_UID), attr("UI", class));
        m.insert(hex(tags::REFERENCED_SOP_INSTANCE_UID), attr("UI", instance));
        m
    };
    let mut answer = serde_json::Map::new();
    if !stored.is_empty() {
        let items: Vec<Value> = stored
            .iter()
            .map(|(c, i)| Value::Object(item(c, i)))
            .collect();
        answer.insert(
            hex(tags::REFERENCED_SOP_SEQUENCE),
            json!({ "vr": "SQ", "Value": items }),
        );
    }
    if !failed.is_empty() {
        let items: Vec<Value> = failed
            .iter()
            .map(|(c, i, reason)| {
                let mut m = item(c, i);
                m.insert(
                    hex(tags::FAILURE_REASON),
                    json!({ "vr": "US", "Value": [reason] }),
                );
                Value::Object(m)
            })
            .collect();
        answer.insert(
            hex(tags::FAILED_SOP_SEQUENCE),
            json!({ "vr": "SQ", "Value": items }),
        );
    }
    let status = match (stored.is_empty(), failed.is_empty()) {
        (false, true) => StatusCode::OK,
        (false, false) => StatusCode::ACCEPTED,
        (true, _) => StatusCode::CONFLICT,
    };
    let mut response = (status, Value::Object(answer).to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/dicom+json"),
    );
    for warning in warnings.iter().take(MAX_STOW_WARNINGS) {
        if let Ok(value) = HeaderValue::from_str(&stow_warning(warning)) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    Ok(response)
}

/// Most HTTP warnings one STOW-RS answer carries (a body of a million tiny parts must not
/// make a million headers).
const MAX_STOW_WARNINGS: usize = 200;

/// The warning for an instance the archive already held, identical.
pub(crate) const STOW_DUPLICATE: &str = "already archived with identical content";

/// The warning for an instance the archive already held with other content.
pub(crate) const STOW_CONFLICT: &str =
    "already archived with different content; the archived copy was kept";

/// `text` as an HTTP warning (RFC 7234: code 299, agent, quoted text; what is not printable
/// ASCII becomes `?`).
fn stow_warning(text: &str) -> String {
    let quoted: String = text
        .chars()
        .take(400)
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '?',
        })
        .collect();
    format!("299 lightbox \"{quoted}\"")
}

/// The text of a warning [`stow_warning`] wrote; `None` for other warnings.
pub(crate) fn stow_warning_text(value: &str) -> Option<&str> {
    value
        .trim()
        .strip_prefix("299 lightbox \"")?
        .strip_suffix('"')
}

pub(super) async fn search_all_series(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    search(
        state,
        peer.ip().to_string(),
        headers,
        raw,
        Level::Series,
        Vec::new(),
    )
    .await
}

pub(super) async fn search_all_instances(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    search(
        state,
        peer.ip().to_string(),
        headers,
        raw,
        Level::Image,
        Vec::new(),
    )
    .await
}

pub(super) async fn search_study_instances(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(study): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    search(
        state,
        peer.ip().to_string(),
        headers,
        raw,
        Level::Image,
        vec![exact(Column::StudyUid, &study)],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stow_warnings_are_valid_header_values_whatever_the_error_says() {
        let hostile = "1.2.3: \"MÜLLER\" \\ 山田\r\nSet-Cookie: x";
        let warning = stow_warning(hostile);
        assert!(HeaderValue::from_str(&warning).is_ok(), "{warning}");
        assert_eq!(
            stow_warning_text(&warning),
            Some("1.2.3: 'M?LLER' ' ????Set-Cookie: x")
        );
        assert_eq!(stow_warning_text("299 other \"text\""), None);
        assert_eq!(stow_warning(&"x".repeat(5000)).len(), 400 + 15);
    }

    #[test]
    fn query_keys_by_keyword_or_tag_and_basic_credentials_decode() {
        assert_eq!(tag_of("PatientName"), Some(tags::PATIENT_NAME));
        assert_eq!(tag_of("00100020"), Some(tags::PATIENT_ID));
        assert_eq!(tag_of("NoSuchKeyword"), None);
        assert_eq!(
            base64_decode("ZHJyZWVkOnPDpGtyZXQ=").as_deref(),
            Some("drreed:säkret")
        );
        assert_eq!(percent_decode("M%C3%9CLLER%2A"), "MÜLLER*");
        let (conditions, limit, offset) =
            parse_search(Some("PatientName=m%C3%BCl*&limit=5&offset=2"), Vec::new())
                .expect("parsed");
        assert_eq!((conditions.len(), limit, offset), (1, 5, 2));
        assert!(parse_search(Some("Foo=1"), Vec::new()).is_err());
    }
}
