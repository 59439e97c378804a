//! Reading fields out of a decoded message by HL7 position (`PID-3`, `OBR-27.6`), after its
//! delimiters were brought to the standard `|^~\&` and with escapes decoded on request.

use chrono::NaiveDateTime;

/// The segments of a message, for field access by HL7 position.
pub struct Segments<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Segments<'a> {
    /// Splits a normalised message (segments ended by CR).
    pub fn new(text: &'a str) -> Segments<'a> {
        Segments {
            lines: text.split('\r').filter(|l| !l.trim().is_empty()).collect(),
        }
    }

    /// Every segment, in order.
    pub fn lines(&self) -> &[&'a str] {
        &self.lines
    }

    /// Every segment with this id, in order.
    pub fn all(&self, id: &'a str) -> impl Iterator<Item = &'a str> + '_ {
        self.lines
            .iter()
            .copied()
            .filter(move |l| segment_id(l) == id)
    }

    /// The first segment with this id.
    pub fn first(&self, id: &'a str) -> Option<&'a str> {
        self.all(id).next()
    }
}

/// A segment's id (its first three characters).
pub fn segment_id(segment: &str) -> &str {
    segment.split('|').next().unwrap_or("")
}

/// Field `n` of a segment line (HL7 numbering; not for MSH, whose numbering is shifted).
pub fn field(segment: &str, n: usize) -> &str {
    segment.split('|').nth(n).unwrap_or("")
}

/// Component `c` (from 1) of a field value (first repetition).
pub fn component(value: &str, c: usize) -> &str {
    value
        .split('~')
        .next()
        .unwrap_or("")
        .split('^')
        .nth(c - 1)
        .unwrap_or("")
}

/// Sub-component `s` (from 1) of a component value.
pub fn subcomponent(value: &str, s: usize) -> &str {
    value.split('&').nth(s - 1).unwrap_or("")
}

/// Field `n`, component `c`, escapes decoded.
pub fn text(segment: &str, n: usize, c: usize) -> String {
    unescape(component(field(segment, n), c))
}

/// Rewrites a message that declares other delimiters in MSH-1/MSH-2 to the standard
/// `|^~\&`, escaping any standard delimiter that was plain text in the original, so the rest of
/// the lane reads one form.
pub fn normalise_delimiters(text: &str) -> String {
    let chars: Vec<char> = text.chars().take(8).collect();
    if chars.len() < 8 || !text.starts_with("MSH") {
        return text.to_string();
    }
    let (field_sep, component, repetition, escape, sub) =
        (chars[3], chars[4], chars[5], chars[6], chars[7]);
    if (field_sep, component, repetition, escape, sub) == ('|', '^', '~', '\\', '&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str("MSH|^~\\&");
    for c in text.chars().skip(8) {
        match c {
            c if c == field_sep => out.push('|'),
            c if c == component => out.push('^'),
            c if c == repetition => out.push('~'),
            c if c == escape => out.push('\\'),
            c if c == sub => out.push('&'),
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '~' => out.push_str("\\R\\"),
            '\\' => out.push_str("\\E\\"),
            '&' => out.push_str("\\T\\"),
            c => out.push(c),
        }
    }
    out
}

/// Decodes HL7 escapes (`\F\ \S\ \T\ \R\ \E\ \Xhh\ \.br\`); unknown ones are dropped.
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    // `split_once` cuts at the escape character itself, so every piece is whole text.
    while let Some((before, after)) = rest.split_once('\\') {
        out.push_str(before);
        let Some((code, tail)) = after.split_once('\\') else {
            out.push('\\');
            out.push_str(after);
            return out;
        };
        match code {
            "F" => out.push('|'),
            "S" => out.push('^'),
            "T" => out.push('&'),
            "R" => out.push('~'),
            "E" => out.push('\\'),
            ".br" => out.push('\n'),
            hex if hex.starts_with('X') => {
                let bytes: Vec<u8> = (1..hex.len())
                    .step_by(2)
                    .filter_map(|i| {
                        hex.get(i..i + 2)
                            .and_then(|h| u8::from_str_radix(h, 16).ok())
                    })
                    .collect();
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            _ => {}
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// HL7 date/time (YYYYMMDD[HHMM[SS]], offsets ignored) as a local date-time. The leading
/// digits are read as characters: a sender's stray letter or accent ends them, never a panic.
pub fn hl7_time(value: &str) -> Option<NaiveDateTime> {
    let digits: String = value.chars().take_while(|c| c.is_ascii_digit()).collect();
    let first = |n: usize| digits.chars().take(n).collect::<String>();
    match digits.len() {
        14.. => NaiveDateTime::parse_from_str(&first(14), "%Y%m%d%H%M%S").ok(),
        12..=13 => NaiveDateTime::parse_from_str(&first(12), "%Y%m%d%H%M").ok(),
        8..=11 => hl7_date(&digits).and_then(|d| d.and_hms_opt(0, 0, 0)),
        _ => None,
    }
}

/// The date part of an HL7 date/time (its first eight digits), if it is a calendar day.
/// `1234567é` is no date: its eighth character is not a digit.
pub fn hl7_date(value: &str) -> Option<chrono::NaiveDate> {
    let digits: String = value.chars().take(8).collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    chrono::NaiveDate::parse_from_str(&digits, "%Y%m%d").ok()
}

/// The first non-empty of several values.
pub fn first_of<'a>(values: &[&'a str]) -> &'a str {
    values
        .iter()
        .copied()
        .find(|v| !v.trim().is_empty())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode() {
        assert_eq!(
            unescape("A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\F\\.br\\G"),
            "A|B^C&D~E\\F\nG"
        );
        assert_eq!(unescape("\\XC3A9\\t\\"), "ét\\");
        assert_eq!(
            hl7_time("20261130090000"),
            NaiveDateTime::parse_from_str("2026-11-30 09:00", "%Y-%m-%d %H:%M").ok()
        );
    }

    #[test]
    fn other_delimiters_become_the_standard_ones() {
        let text = "MSH#$%@*#EPIC#X\rPID#1##7$$$H#DOE|SMITH$ANN";
        let normal = normalise_delimiters(text);
        assert_eq!(normal, "MSH|^~\\&|EPIC|X\rPID|1||7^^^H|DOE\\F\\SMITH^ANN");
        let pid = Segments::new(&normal).first("PID").unwrap_or("");
        assert_eq!(text_of(pid), ("7".to_string(), "DOE|SMITH".to_string()));
    }

    fn text_of(pid: &str) -> (String, String) {
        (super::text(pid, 3, 1), super::text(pid, 4, 1))
    }
}

/// Every non-empty field of a message as ("PID-3", value), for the monitor's parsed view.
/// MSH is numbered as the standard does: MSH-1 is the field separator itself, MSH-2 the
/// encoding characters.
pub fn labelled_fields(raw: &str) -> Vec<(String, String)> {
    let separator = raw
        .strip_prefix("MSH")
        .and_then(|rest| rest.chars().next())
        .unwrap_or('|');
    let mut out = Vec::new();
    for segment in raw.split(['\r', '\n']).filter(|s| s.len() >= 3) {
        let name: String = segment.chars().take(3).collect();
        let fields: Vec<&str> = segment.split(separator).collect();
        for (i, value) in fields.iter().enumerate().skip(1) {
            if value.is_empty() {
                continue;
            }
            // In MSH the separator is field 1, so the text after it is field 2 onwards.
            let number = if name == "MSH" { i + 1 } else { i };
            out.push((format!("{name}-{number}"), (*value).to_string()));
        }
        if name == "MSH" {
            out.insert(
                out.len() - fields.iter().skip(1).filter(|v| !v.is_empty()).count(),
                ("MSH-1".into(), separator.to_string()),
            );
        }
    }
    out
}

#[cfg(test)]
mod labelled_tests {
    #[test]
    fn fields_are_numbered_as_the_standard_does() {
        let raw = "MSH|^~\\&|EPIC|NORTH|LIGHTBOX||20261201||ORM^O01|42|P|2.5.1\rPID|||M1^^^EPIC||DOE^JANE";
        let f = super::labelled_fields(raw);
        let get = |k: &str| f.iter().find(|(l, _)| l == k).map(|(_, v)| v.as_str());
        assert_eq!(get("MSH-1"), Some("|"));
        assert_eq!(get("MSH-2"), Some("^~\\&"));
        assert_eq!(get("MSH-3"), Some("EPIC"));
        assert_eq!(get("MSH-9"), Some("ORM^O01"));
        assert_eq!(get("MSH-10"), Some("42"));
        assert_eq!(get("PID-3"), Some("M1^^^EPIC"));
        assert_eq!(get("PID-5"), Some("DOE^JANE"));
        assert_eq!(get("PID-1"), None);
    }
}
