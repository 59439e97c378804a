//! Into the practice server's archive, from a workstation: what it imports (files, folders,
//! DICOMDIRs) travels as STOW-RS, one instance per request, into the server's ingest with the
//! same checks as a scanner's images; the server's answer (stored, already there, refused and
//! why) comes back into the import's summary. Priors from other sites are retrieved by the
//! server at the workstation's asking.

use std::io::Read;
use std::path::Path;

use lightbox_codec::tolerant::MetaFacts;
use lightbox_domain::archive::received::{Ingested, ReceivedObject};
use lightbox_domain::viewing::FetchSummary;

use super::{ServerLink, Shared, describe, error_sentence};
use crate::archive::import::ImportDestination;

/// The multipart boundary of an upload (never inside a DICOM file's first bytes by chance:
/// the server splits on it, so it must not occur in the body; a random tail makes sure).
fn boundary() -> String {
    format!("lightbox-upload-{:016x}", rand::random::<u64>())
}

/// Largest answer to an upload (a STOW-RS JSON of one instance and its warnings).
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

impl Shared {
    /// Sends one Part 10 instance (`part10`, read to its end) and reads what the server did
    /// with it.
    fn store_part10(&self, sop_instance: &str, part10: &mut dyn Read) -> Result<Ingested, String> {
        let token = self
            .token()
            .ok_or_else(|| "nobody is signed in at this workstation".to_string())?;
        let boundary = boundary();
        let opening = format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n");
        let closing = format!("\r\n--{boundary}--\r\n");
        let mut body = std::io::Cursor::new(opening.into_bytes())
            .chain(part10)
            .chain(std::io::Cursor::new(closing.into_bytes()));
        let mut response = self
            .stream_agent
            .post(self.url("/dicomweb/studies"))
            .header("Authorization", &format!("Bearer {token}"))
            .header(
                "Content-Type",
                &format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
            )
            .header("Accept", "application/dicom+json")
            .send(ureq::SendBody::from_reader(&mut body))
            .map_err(|e| {
                let why = describe(&e);
                self.set_trouble(Some(why.clone()));
                format!("the practice server could not be reached: {why}")
            })?;
        let status = response.status().as_u16();
        let warnings: Vec<String> = response
            .headers()
            .get_all("warning")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(crate::api::stow_warning_text)
            .map(str::to_string)
            .collect();
        let answer = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .unwrap_or_default();
        stow_outcome(status, &answer, &warnings, sop_instance)
    }

    /// A data set without its file meta group, as a Part 10 instance: the meta group the
    /// file had, or one made from the data set's own UIDs.
    fn store_dataset(
        &self,
        object: &ReceivedObject,
        meta: Option<&MetaFacts>,
    ) -> Result<Ingested, String> {
        let (sop_class, sop_instance) = match meta {
            Some(m) => (m.sop_class.clone(), m.sop_instance.clone()),
            None => sop_uids(&object.dataset, &object.transfer_syntax)?,
        };
        let head = crate::archive::prepare::meta_head(
            &sop_class,
            &sop_instance,
            &object.transfer_syntax,
            &object.source,
        )
        .map_err(|e| e.to_string())?;
        let mut part10 = std::io::Cursor::new(head).chain(object.dataset.as_slice());
        self.store_part10(&sop_instance, &mut part10)
    }
}

/// The SOP class and instance UIDs of a data set that came without a meta group.
fn sop_uids(dataset: &[u8], transfer_syntax: &str) -> Result<(String, String), String> {
    use dicom_dictionary_std::tags;
    use dicom_encoding::TransferSyntaxIndex;
    let ts = dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(transfer_syntax)
        .ok_or_else(|| format!("unsupported transfer syntax {transfer_syntax}"))?;
    let read = lightbox_codec::tolerant::read_dataset(dataset, ts)
        .map_err(|e| format!("not a readable DICOM data set: {e}"))?;
    let uid = |tag, name: &str| {
        read.object
            .element(tag)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|v| v.trim_end_matches(['\0', ' ']).to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{name} is missing"))
    };
    Ok((
        uid(tags::SOP_CLASS_UID, "SOP Class UID")?,
        uid(tags::SOP_INSTANCE_UID, "SOP Instance UID")?,
    ))
}

/// What the server's STOW-RS answer says became of one instance: stored, already there
/// (identical or not, from the server's warnings), or refused with the server's reason.
fn stow_outcome(
    status: u16,
    answer: &str,
    warnings: &[String],
    sop_instance: &str,
) -> Result<Ingested, String> {
    let said = |prefix: &str| {
        warnings.iter().find_map(|w| {
            w.strip_prefix(prefix)?
                .strip_prefix(": ")
                .map(str::to_string)
        })
    };
    let sop_uid = sop_instance.to_string();
    match status {
        200 => Ok(match said(sop_instance).as_deref() {
            Some(crate::api::STOW_DUPLICATE) => Ingested::Duplicate { sop_uid },
            Some(crate::api::STOW_CONFLICT) => Ingested::ConflictKeptExisting { sop_uid },
            _ => Ingested::Stored {
                sop_uid,
                study_uid: String::new(),
                tolerated: Vec::new(),
            },
        }),
        401 => Err("the server refused this workstation's session (sign in again)".into()),
        403 => Err("you may not add images to the archive".into()),
        413 => Err("the file is larger than the server takes in one request".into()),
        _ => {
            let reason = said(sop_instance).or_else(|| failure_reason_words(answer));
            Err(match reason {
                Some(reason) => format!("the practice server refused it: {reason}"),
                None => {
                    let error = error_sentence(answer);
                    format!(
                        "the practice server refused it ({})",
                        error.unwrap_or_else(|| format!("status {status}"))
                    )
                }
            })
        }
    }
}

/// The standard Failure Reason of the answer's failed instance, in words.
fn failure_reason_words(answer: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(answer).ok()?;
    let code = json
        .get("00081198")?
        .get("Value")?
        .get(0)?
        .get("00081197")?
        .get("Value")?
        .get(0)?
        .as_u64()?;
    Some(match code {
        0xA700 => "its disk is full; import again once space is freed".into(),
        0xC000 => "it could not read the file as DICOM".into(),
        other => format!("failure reason {other:#06X}"),
    })
}

impl ServerLink {
    /// Where a workstation's import sends its files: the practice server.
    pub fn import_destination(&self) -> &dyn ImportDestination {
        &*self.shared
    }

    /// Asks the server to retrieve the older studies of exam `accession`'s patient from the
    /// prior nodes into its archive (a workstation has no DICOM services); what it did.
    pub fn fetch_priors(&self, accession: &str) -> FetchSummary {
        let s = &self.shared;
        let problem = |why: String| FetchSummary {
            problems: vec![why],
            ..FetchSummary::default()
        };
        let Some(token) = s.token() else {
            return problem("nobody is signed in at this workstation".into());
        };
        let accession: String = accession
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        let sent = s
            .stream_agent
            .post(s.url(&format!("/api/v1/exams/{accession}/priors")))
            .header("Authorization", &format!("Bearer {token}"))
            .send_empty();
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => {
                return problem(format!(
                    "the practice server could not be reached: {}",
                    describe(&e)
                ));
            }
        };
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .unwrap_or_default();
        if status == 200
            && let Ok(summary) = serde_json::from_str::<FetchSummary>(&body)
        {
            return summary;
        }
        let error = error_sentence(&body).unwrap_or_else(|| format!("status {status}"));
        problem(format!("the practice server did not fetch them: {error}"))
    }
}

impl ImportDestination for Shared {
    fn store_object(
        &self,
        object: ReceivedObject,
        meta: Option<&MetaFacts>,
    ) -> Result<Ingested, String> {
        self.store_dataset(&object, meta)
    }

    fn store_large_file(&self, path: &Path, meta: &MetaFacts) -> Option<Result<Ingested, String>> {
        // Sent as it is on disk, read as it goes (never whole in memory).
        let result = std::fs::File::open(path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|mut file| self.store_part10(&meta.sop_instance, &mut file));
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_answer_becomes_the_imports_outcome() {
        let uid = "1.2.3.4";
        assert!(matches!(
            stow_outcome(200, "{}", &[], uid),
            Ok(Ingested::Stored { .. })
        ));
        let duplicate = vec![format!("{uid}: {}", crate::api::STOW_DUPLICATE)];
        assert_eq!(
            stow_outcome(200, "{}", &duplicate, uid),
            Ok(Ingested::Duplicate {
                sop_uid: uid.into()
            })
        );
        let conflict = vec![format!("{uid}: {}", crate::api::STOW_CONFLICT)];
        assert_eq!(
            stow_outcome(200, "{}", &conflict, uid),
            Ok(Ingested::ConflictKeptExisting {
                sop_uid: uid.into()
            })
        );
        // Another instance's warning is not this one's.
        let other = vec![format!("9.9: {}", crate::api::STOW_DUPLICATE)];
        assert!(matches!(
            stow_outcome(200, "{}", &other, uid),
            Ok(Ingested::Stored { .. })
        ));
        let refused = vec![format!("{uid}: series 1.2 already belongs to study 3.4")];
        let why = stow_outcome(409, "{}", &refused, uid).unwrap_err();
        assert!(
            why.contains("series 1.2 already belongs to study 3.4"),
            "{why}"
        );
        let full = r#"{"00081198":{"vr":"SQ","Value":[{"00081197":{"vr":"US","Value":[42752]}}]}}"#;
        let why = stow_outcome(409, full, &[], uid).unwrap_err();
        assert!(why.contains("disk is full"), "{why}");
        let why = stow_outcome(403, "", &[], uid).unwrap_err();
        assert!(why.contains("may not"), "{why}");
    }
}
