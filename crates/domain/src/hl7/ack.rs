//! Acknowledgements (original mode AA/AE/AR, enhanced mode CA/CE/CR) with an ERR segment per
//! error naming the field and the reason. ACK MSH-9 is `ACK^<event>^ACK`, MSH-3/4 and 5/6 are
//! swapped from the message, MSA-2 is its MSH-10. Text is escaped so a reason can never break
//! the message structure.

use super::message::Header;

/// How the message fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Accepted (AA / CA).
    Accept,
    /// Understood, refused on content (AE / CE).
    Error,
    /// Cannot be processed (AR / CR).
    Reject,
}

/// One ERR segment: where (segment, sequence, field, component), the HL7 table 0357 code,
/// severity and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckError {
    /// Segment id, e.g. PID.
    pub segment: String,
    /// Segment sequence (1 for the first).
    pub sequence: u32,
    /// Field number (0 when not a field).
    pub field: u32,
    /// Table 0357 code: 100 segment sequence, 101 required field missing, 200 unsupported
    /// message type, 207 internal error, …
    pub code: u16,
    /// E, W or I.
    pub severity: char,
    /// For people.
    pub text: String,
}

/// Escapes text for an HL7 field with the standard encoding characters `|^~\&`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\E\\"),
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '~' => out.push_str("\\R\\"),
            '&' => out.push_str("\\T\\"),
            '\r' | '\n' => out.push_str("\\.br\\"),
            c => out.push(c),
        }
    }
    out
}

/// Builds the acknowledgement of `header` (enhanced mode when the message asked with MSH-15),
/// stamped `now` (YYYYMMDDHHMMSS) with our control id `ack_control_id`.
pub fn build_ack(
    header: &Header,
    code: AckCode,
    errors: &[AckError],
    now: &str,
    ack_control_id: &str,
) -> String {
    let enhanced = !header.accept_ack_type.is_empty();
    let msa = match (code, enhanced) {
        (AckCode::Accept, false) => "AA",
        (AckCode::Error, false) => "AE",
        (AckCode::Reject, false) => "AR",
        (AckCode::Accept, true) => "CA",
        (AckCode::Error, true) => "CE",
        (AckCode::Reject, true) => "CR",
    };
    let version = if header.version.is_empty() {
        "2.5.1"
    } else {
        &header.version
    };
    let mut out = format!(
        "MSH|^~\\&|{}|{}|{}|{}|{}||ACK^{}^ACK|{}|{}|{}",
        escape(&header.receiving_application),
        escape(&header.receiving_facility),
        escape(&header.sending_application),
        escape(&header.sending_facility),
        now,
        escape(&header.trigger_event),
        escape(ack_control_id),
        if header.processing_id.is_empty() {
            "P"
        } else {
            &header.processing_id
        },
        escape(version),
    );
    if !header.character_set.is_empty() {
        out.push_str(&format!("||||||{}", escape(&header.character_set)));
    }
    out.push('\r');
    let first_text = errors.first().map(|e| escape(&e.text)).unwrap_or_default();
    out.push_str(&format!(
        "MSA|{msa}|{}|{first_text}\r",
        escape(&header.control_id)
    ));
    for e in errors {
        out.push_str(&format!(
            "ERR||{}^{}^{}|{}^{}^HL70357|{}||||{}\r",
            escape(&e.segment),
            e.sequence,
            e.field,
            e.code,
            escape(code_text(e.code)),
            e.severity,
            escape(&e.text),
        ));
    }
    out
}

fn code_text(code: u16) -> &'static str {
    match code {
        0 => "Message accepted",
        100 => "Segment sequence error",
        101 => "Required field missing",
        102 => "Data type error",
        103 => "Table value not found",
        200 => "Unsupported message type",
        201 => "Unsupported event code",
        202 => "Unsupported processing id",
        203 => "Unsupported version id",
        204 => "Unknown key identifier",
        205 => "Duplicate key identifier",
        _ => "Application internal error",
    }
}

/// Reads an ACK: (MSA-1, MSA-2, reason from ERR-8 / MSA-3).
pub fn read_ack(bytes: &[u8]) -> Option<(String, String, String)> {
    use super::fields::{Segments, field, text};
    let decoded = super::message::decode_text(bytes);
    let normal = super::fields::normalise_delimiters(&decoded);
    let segments = Segments::new(&normal);
    let msa = segments.first("MSA")?;
    let reason = segments
        .first("ERR")
        .map(|err| {
            let user = text(err, 8, 1);
            if user.is_empty() {
                text(err, 3, 2)
            } else {
                user
            }
        })
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| text(msa, 3, 1));
    Some((field(msa, 1).to_string(), text(msa, 2, 1), reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7::message::read_header;

    #[test]
    fn an_ack_answers_the_message_and_escapes_its_text() {
        let header =
            read_header("MSH|^~\\&|EPIC|NORTH|LIGHTBOX|RAD|20261127||ORM^O01|ORM0001|P|2.3\r")
                .unwrap();
        let errors = [AckError {
            segment: "OBR".into(),
            sequence: 1,
            field: 4,
            code: 103,
            severity: 'W',
            text: "unknown procedure 99999^X|Y".into(),
        }];
        let ack = build_ack(&header, AckCode::Accept, &errors, "20261127100000", "L1");
        let parsed = read_header(&ack).unwrap();
        assert_eq!(
            (
                parsed.sending_application.as_str(),
                parsed.receiving_application.as_str()
            ),
            ("LIGHTBOX", "EPIC")
        );
        assert_eq!(
            (parsed.message_type.as_str(), parsed.trigger_event.as_str()),
            ("ACK", "O01")
        );
        assert!(ack.contains("\rMSA|AA|ORM0001|"), "{ack}");
        assert!(ack.contains("ERR||OBR^1^4|103^Table value not found^HL70357|W||||unknown procedure 99999\\S\\X\\F\\Y\r"), "{ack}");
        let message = hl7_parser::parse_message_with_lenient_newlines(&ack).unwrap();
        assert_eq!(message.segments().count(), 3);
    }

    #[test]
    fn enhanced_mode_answers_with_commit_codes() {
        let header =
            read_header("MSH|^~\\&|A|B|C|D|20261127||ADT^A04|9|P|2.5.1|||AL|NE\r").unwrap();
        assert!(build_ack(&header, AckCode::Reject, &[], "20261127", "L2").contains("MSA|CR|9|"));
        assert!(build_ack(&header, AckCode::Accept, &[], "20261127", "L2").contains("MSA|CA|9|"));
    }
}
