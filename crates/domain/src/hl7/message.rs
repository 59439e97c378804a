//! Reading an inbound HL7 v2 message: bytes to text by its declared character set (MSH-18:
//! absent = ASCII, in practice often Latin-1; `8859/1`; `UNICODE UTF-8`), tolerant segment
//! ends (CR, LF or CRLF), parsed with `hl7-parser`, and the header fields every message needs.

/// Why a message cannot be understood at all (answered with AR).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// No MSH segment first.
    #[error("the message does not start with an MSH segment")]
    NoHeader,
    /// The structure could not be parsed.
    #[error("the message structure cannot be parsed: {0}")]
    Structure(String),
}

/// The header fields of a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// MSH-3 sending application.
    pub sending_application: String,
    /// MSH-4 sending facility.
    pub sending_facility: String,
    /// MSH-5 receiving application.
    pub receiving_application: String,
    /// MSH-6 receiving facility.
    pub receiving_facility: String,
    /// MSH-9.1 message type (ADT, ORM, …).
    pub message_type: String,
    /// MSH-9.2 trigger event (A04, O01, …).
    pub trigger_event: String,
    /// MSH-10 message control id.
    pub control_id: String,
    /// MSH-11 processing id.
    pub processing_id: String,
    /// MSH-12 version id.
    pub version: String,
    /// MSH-15 accept acknowledgement type (enhanced mode when present).
    pub accept_ack_type: String,
    /// MSH-16 application acknowledgement type.
    pub application_ack_type: String,
    /// MSH-18 character set.
    pub character_set: String,
}

/// The text of a message: UTF-8 when declared (or when the bytes are valid UTF-8), Latin-1
/// otherwise, with segment ends normalised to CR.
pub fn decode_text(bytes: &[u8]) -> String {
    let declared_latin1 = header_field_raw(bytes, 18).is_some_and(|cs| cs.starts_with("8859/1"));
    let text = match std::str::from_utf8(bytes) {
        Ok(s) if !declared_latin1 => s.to_string(),
        _ => bytes.iter().map(|b| char::from(*b)).collect(),
    };
    text.replace("\r\n", "\r").replace('\n', "\r")
}

/// MSH-n read straight from the bytes (before decoding, to learn the character set).
fn header_field_raw(bytes: &[u8], n: usize) -> Option<String> {
    let line = bytes.split(|b| *b == b'\r' || *b == b'\n').next()?;
    if !line.starts_with(b"MSH") || line.len() < 4 {
        return None;
    }
    let separator = line[3];
    // MSH-1 is the separator itself: field n is split index n-1.
    line.split(|b| *b == separator)
        .nth(n - 1)
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
}

/// Reads the header of a decoded message, refusing one that cannot be understood.
pub fn read_header(text: &str) -> Result<Header, MessageError> {
    if !text.starts_with("MSH") {
        return Err(MessageError::NoHeader);
    }
    let message = hl7_parser::parse_message_with_lenient_newlines(text)
        .map_err(|e| MessageError::Structure(e.to_string()))?;
    let msh = message.segment("MSH").ok_or(MessageError::NoHeader)?;
    let field = |n: usize| {
        msh.field(n)
            .map(|f| f.raw_value().to_string())
            .unwrap_or_default()
    };
    let component = |n: usize, c: usize| {
        field(n)
            .split(msh_component_separator(text))
            .nth(c - 1)
            .unwrap_or("")
            .to_string()
    };
    Ok(Header {
        sending_application: component(3, 1),
        sending_facility: component(4, 1),
        receiving_application: component(5, 1),
        receiving_facility: component(6, 1),
        message_type: component(9, 1),
        trigger_event: component(9, 2),
        control_id: field(10),
        processing_id: component(11, 1),
        version: component(12, 1),
        accept_ack_type: field(15),
        application_ack_type: field(16),
        character_set: field(18),
    })
}

/// The component separator declared in MSH-2 (normally `^`).
fn msh_component_separator(text: &str) -> char {
    text.chars().nth(4).unwrap_or('^')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/corpus/hl7")
                .join(name),
        )
        .unwrap_or_default()
    }

    #[test]
    fn corpus_headers_are_read() {
        let header = read_header(&decode_text(&corpus("orm_o01_new_mri.hl7"))).unwrap();
        assert_eq!(
            (
                header.sending_application.as_str(),
                header.message_type.as_str(),
                header.trigger_event.as_str()
            ),
            ("EPIC", "ORM", "O01")
        );
        assert_eq!(
            (header.control_id.as_str(), header.version.as_str()),
            ("ORM0001", "2.3")
        );
        let header = read_header(&decode_text(&corpus("adt_a04_register.hl7"))).unwrap();
        assert_eq!(header.trigger_event, "A04");
        assert_eq!(
            read_header(&decode_text(&corpus("bad_no_msh.hl7"))),
            Err(MessageError::NoHeader)
        );
    }

    #[test]
    fn lf_segment_ends_and_latin1_are_tolerated() {
        let mut bytes =
            b"MSH|^~\\&|A|B|C|D|20261127||ADT^A08|X1|P|2.5||||||8859/1\nPID|1||9^^^H||M".to_vec();
        bytes.extend([0xDC, b'L', b'L', b'E', b'R']); // Latin-1 "ÜLLER"
        let text = decode_text(&bytes);
        assert!(
            text.contains("M\u{dc}LLER") && text.contains("\rPID"),
            "{text:?}"
        );
        let header = read_header(&text).unwrap();
        assert_eq!(
            (header.control_id.as_str(), header.character_set.as_str()),
            ("X1", "8859/1")
        );
    }
}
