//! HL7 batch files (`FHS BHS MSH… BTS FTS`, or just messages one after another), as an EHR
//! exports them when an interface was down: every message goes through the same inbound
//! processing as one received over MLLP, with the same idempotency, so importing a file twice
//! changes nothing the second time.

use chrono::NaiveDateTime;

use super::fields::field;
use crate::archive::ArchiveFolder;
use crate::store::Store;

/// What the file held and what became of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchReport {
    /// Messages found.
    pub messages: usize,
    /// Accepted (AA/CA), including resends answered from the log.
    pub accepted: usize,
    /// (MSH-10, ACK code and reason) of every message not accepted.
    pub refused: Vec<(String, String)>,
    /// Message counts the trailers declared (BTS-1) and the messages that had them, when
    /// they disagree: the file was cut or edited.
    pub count_mismatch: Option<(usize, usize)>,
}

/// Splits a batch file into messages (bytes, segments ended by CR), and the message count
/// declared by its BTS trailers.
pub fn split(bytes: &[u8]) -> (Vec<Vec<u8>>, Option<usize>) {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut declared: Option<usize> = None;
    let mut in_message = false;
    for line in bytes.split(|b| *b == b'\r' || *b == b'\n') {
        let trimmed = line.strip_prefix(b"\x0b").unwrap_or(line);
        let trimmed = trimmed.strip_suffix(b"\x1c").unwrap_or(trimmed);
        if trimmed.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let id = trimmed.get(..3).unwrap_or(b"");
        match id {
            b"MSH" => {
                messages.push(trimmed.to_vec());
                in_message = true;
            }
            b"FHS" | b"BHS" | b"FTS" => in_message = false,
            b"BTS" => {
                in_message = false;
                let text = String::from_utf8_lossy(trimmed);
                if let Ok(n) = field(&text, 1).trim().parse::<usize>() {
                    *declared.get_or_insert(0) += n;
                }
            }
            _ if in_message => {
                if let Some(last) = messages.last_mut() {
                    last.push(b'\r');
                    last.extend_from_slice(trimmed);
                }
            }
            _ => {}
        }
    }
    for m in &mut messages {
        m.push(b'\r');
    }
    (messages, declared)
}

/// Imports every message of a batch file.
pub fn import(
    store: &mut Store,
    archive: Option<&ArchiveFolder>,
    bytes: &[u8],
    now: NaiveDateTime,
) -> BatchReport {
    let (messages, declared) = split(bytes);
    let mut report = BatchReport {
        messages: messages.len(),
        ..BatchReport::default()
    };
    if let Some(declared) = declared
        && declared != messages.len()
    {
        tracing::warn!(
            declared,
            found = messages.len(),
            "HL7 batch count differs from its trailer"
        );
        report.count_mismatch = Some((declared, messages.len()));
    }
    for message in messages {
        let ack = super::inbound::receive(store, archive, &message, now);
        match super::ack::read_ack(ack.as_bytes()) {
            Some((code, _, _)) if code == "AA" || code == "CA" => report.accepted += 1,
            Some((code, control, reason)) => {
                report.refused.push((control, format!("{code}: {reason}")))
            }
            None => report
                .refused
                .push((String::new(), "no acknowledgement".into())),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_splits_into_its_messages() {
        let file = b"FHS|^~\\&|EPIC\rBHS|^~\\&|EPIC\nMSH|^~\\&|A|B|C|D|1||ADT^A04|1|P|2.3\rPID|1||1^^^H\r\nMSH|^~\\&|A|B|C|D|1||ADT^A08|2|P|2.3\rPID|1||1^^^H\rBTS|2\rFTS|1\r";
        let (messages, declared) = split(file);
        assert_eq!(messages.len(), 2);
        assert_eq!(declared, Some(2));
        assert!(messages[1].starts_with(b"MSH|^~\\&|A|B|C|D|1||ADT^A08|2"));
        assert!(messages[1].ends_with(b"PID|1||1^^^H\r"));
    }
}
