//! Printable documents: the signed report with the practice's header and the patient's
//! preparation sheet, as PDF files any reader prints. They use the 14 standard PDF fonts (no
//! font files to ship) with WinAnsi encoding; characters outside it print as `?` rather than
//! failing, and long text wraps and flows onto further pages.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

/// The practice's letterhead on every page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Letterhead {
    /// Practice name, printed large.
    pub practice: String,
    /// Address and phone lines under it.
    pub lines: Vec<String>,
}

/// The practice's letterhead from its settings (name, address, phone).
pub fn letterhead(store: &crate::store::Store) -> Letterhead {
    use crate::site as app;
    let setting = |key| store.setting(key).ok().flatten().unwrap_or_default();
    let name = setting(app::PRACTICE_NAME_SETTING);
    Letterhead {
        practice: if name.is_empty() {
            "Lightbox".into()
        } else {
            name
        },
        lines: [app::PRACTICE_ADDRESS_SETTING, app::PRACTICE_PHONE_SETTING]
            .into_iter()
            .map(setting)
            .filter(|l| !l.trim().is_empty())
            .collect(),
    }
}

/// One printable document: a title, labelled facts (patient, exam…), then sections of text.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrintedDocument {
    /// Letterhead.
    pub letterhead: Letterhead,
    /// Title under the letterhead ("Radiology report").
    pub title: String,
    /// Label/value pairs printed as a block ("Patient", "DOE, JANE").
    pub facts: Vec<(String, String)>,
    /// Headed sections of free text (paragraphs separated by newlines).
    pub sections: Vec<(String, String)>,
    /// A line printed at the bottom of the last page (who signed and when).
    pub footer: String,
}

const PAGE_WIDTH_PT: f32 = 595.0;
const PAGE_HEIGHT_PT: f32 = 842.0;
const MARGIN_PT: f32 = 56.0;
const BODY_SIZE_PT: f32 = 10.0;
const LINE_PT: f32 = 13.0;
/// Characters per body line: Helvetica averages about half an em, so the usable width
/// (483 pt) holds about 96 characters at 10 pt; 90 leaves room for wide letters.
const WRAP_CHARS: usize = 90;

/// One line to draw: font (0 = regular, 1 = bold), size, indent and text.
struct Line {
    bold: bool,
    size_pt: f32,
    indent_pt: f32,
    text: String,
}

/// Wraps a paragraph at word boundaries to `width` characters (a word longer than the line
/// is cut).
pub fn wrap(paragraph: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in paragraph.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            out.push(head);
        }
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// Text in the standard fonts' WinAnsi encoding (Latin-1 range as is, the rest `?`).
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            0x20..=0x7e | 0xa0..=0xff => c as u8,
            0x2013 => 0x96, // en dash
            0x2014 => 0x97, // em dash
            0x2019 => 0x92, // right single quote
            0x2022 => 0x95, // bullet
            0x2026 => 0x85, // ellipsis
            _ => b'?',
        })
        .collect()
}

impl PrintedDocument {
    fn lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        let push = |lines: &mut Vec<Line>, bold, size_pt, indent_pt, text: String| {
            lines.push(Line {
                bold,
                size_pt,
                indent_pt,
                text,
            })
        };
        push(
            &mut lines,
            true,
            16.0,
            0.0,
            self.letterhead.practice.clone(),
        );
        for l in &self.letterhead.lines {
            push(&mut lines, false, 9.0, 0.0, l.clone());
        }
        push(&mut lines, false, BODY_SIZE_PT, 0.0, String::new());
        push(&mut lines, true, 13.0, 0.0, self.title.clone());
        push(&mut lines, false, BODY_SIZE_PT, 0.0, String::new());
        for (label, value) in &self.facts {
            push(
                &mut lines,
                false,
                BODY_SIZE_PT,
                0.0,
                format!("{label}: {value}"),
            );
        }
        for (heading, text) in &self.sections {
            push(&mut lines, false, BODY_SIZE_PT, 0.0, String::new());
            push(&mut lines, true, 11.0, 0.0, heading.clone());
            for paragraph in text.lines() {
                for l in wrap(paragraph, WRAP_CHARS) {
                    push(&mut lines, false, BODY_SIZE_PT, 0.0, l);
                }
            }
        }
        if !self.footer.is_empty() {
            push(&mut lines, false, BODY_SIZE_PT, 0.0, String::new());
            for l in wrap(&self.footer, WRAP_CHARS) {
                push(&mut lines, true, BODY_SIZE_PT, 0.0, l);
            }
        }
        lines
    }

    /// The document as PDF bytes (A4, as many pages as the text needs, numbered).
    pub fn to_pdf(&self) -> Vec<u8> {
        let lines = self.lines();
        let per_page = ((PAGE_HEIGHT_PT - 2.0 * MARGIN_PT) / LINE_PT)
            .floor()
            .max(1.0) as usize;
        let pages: Vec<&[Line]> = lines.chunks(per_page).collect();
        let catalog_id = Ref::new(1);
        let tree_id = Ref::new(2);
        let regular_id = Ref::new(3);
        let bold_id = Ref::new(4);
        let mut next = 5;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();
        let mut pdf = Pdf::new();
        pdf.catalog(catalog_id).pages(tree_id);
        pdf.pages(tree_id)
            .kids(page_ids.iter().map(|(p, _)| *p))
            .count(page_ids.len() as i32);
        pdf.type1_font(regular_id)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(bold_id)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        let total = pages.len();
        for (number, (lines, (page_id, content_id))) in pages.iter().zip(&page_ids).enumerate() {
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH_PT, PAGE_HEIGHT_PT))
                .parent(tree_id)
                .contents(*content_id);
            {
                let mut resources = page.resources();
                let mut fonts = resources.fonts();
                fonts.pair(Name(b"F1"), regular_id);
                fonts.pair(Name(b"F2"), bold_id);
            }
            page.finish();
            let mut content = Content::new();
            let mut y = PAGE_HEIGHT_PT - MARGIN_PT;
            for line in lines.iter() {
                y -= LINE_PT.max(line.size_pt + 3.0);
                if line.text.is_empty() {
                    continue;
                }
                content
                    .begin_text()
                    .set_font(Name(if line.bold { b"F2" } else { b"F1" }), line.size_pt)
                    .next_line(MARGIN_PT + line.indent_pt, y)
                    .show(Str(&win_ansi(&line.text)))
                    .end_text();
            }
            let footer = format!("Page {} of {total}", number + 1);
            content
                .begin_text()
                .set_font(Name(b"F1"), 8.0)
                .next_line(MARGIN_PT, MARGIN_PT / 2.0)
                .show(Str(&win_ansi(&footer)))
                .end_text();
            pdf.stream(*content_id, &content.finish());
        }
        pdf.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_and_cuts_only_overlong_ones() {
        assert_eq!(wrap("a bb ccc", 4), vec!["a bb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 10), vec![""]);
    }

    #[test]
    fn text_outside_win_ansi_prints_as_question_marks() {
        assert_eq!(win_ansi("Zoë – 東"), b"Zo\xeb \x96 ?".to_vec());
    }

    #[test]
    fn long_reports_flow_onto_numbered_pages() {
        let doc = PrintedDocument {
            title: "Radiology report".into(),
            sections: vec![("Findings".into(), "word ".repeat(5000))],
            ..Default::default()
        };
        let pdf = doc.to_pdf();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(
            text.contains("/Count 5") || text.contains("/Count 6"),
            "{}",
            text.chars().take(400).collect::<String>()
        );
    }
}
