//! Which lines the viewer's corner overlay shows, as the practice configures them (setting
//! `viewer.overlay`): some sites want the patient's name off the screen in a shared reading
//! room, others want the zoom and spacing lines gone. Unknown names in the setting are skipped.

use crate::store::Store;

/// Setting: the corner overlay's fields, comma-separated ("patient, series, image, position,
/// window, zoom, spacing"); unset or empty shows them all, "none" none.
pub const OVERLAY_SETTING: &str = "viewer.overlay";

/// One piece of the corner overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OverlayField {
    /// Patient name, ID, study date and description.
    Patient,
    /// Series number, modality and description.
    Series,
    /// Image number of the stack's count.
    Image,
    /// Slice location or Image Position.
    Position,
    /// Window width and level.
    Window,
    /// Zoom in percent.
    Zoom,
    /// Pixel spacing and its source.
    Spacing,
}

impl OverlayField {
    /// Every field, in the order the overlay shows them.
    pub const ALL: [OverlayField; 7] = [
        OverlayField::Patient,
        OverlayField::Series,
        OverlayField::Image,
        OverlayField::Position,
        OverlayField::Window,
        OverlayField::Zoom,
        OverlayField::Spacing,
    ];

    /// The name used in the setting.
    pub fn key(self) -> &'static str {
        match self {
            OverlayField::Patient => "patient",
            OverlayField::Series => "series",
            OverlayField::Image => "image",
            OverlayField::Position => "position",
            OverlayField::Window => "window",
            OverlayField::Zoom => "zoom",
            OverlayField::Spacing => "spacing",
        }
    }

    /// What the settings screen calls it.
    pub fn label(self) -> &'static str {
        match self {
            OverlayField::Patient => "Patient and study",
            OverlayField::Series => "Series",
            OverlayField::Image => "Image number",
            OverlayField::Position => "Slice position",
            OverlayField::Window => "Window and level",
            OverlayField::Zoom => "Zoom",
            OverlayField::Spacing => "Pixel spacing and its source",
        }
    }
}

/// The fields a setting value names (every field when it names none).
pub fn parse_fields(value: &str) -> Vec<OverlayField> {
    // "none": the practice switched every field off.
    if value.trim().eq_ignore_ascii_case("none") {
        return Vec::new();
    }
    let named: Vec<OverlayField> = value
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .filter_map(|name| {
            let field = OverlayField::ALL
                .into_iter()
                .find(|f| f.key().eq_ignore_ascii_case(name));
            if field.is_none() {
                tracing::warn!(name, "the overlay setting names an unknown field; skipped");
            }
            field
        })
        .collect();
    if named.is_empty() && value.trim().is_empty() {
        OverlayField::ALL.to_vec()
    } else {
        OverlayField::ALL
            .into_iter()
            .filter(|f| named.contains(f))
            .collect()
    }
}

/// Checks a value typed for the setting: known field names, "none", or empty (all).
pub fn check_fields(value: &str) -> Result<(), String> {
    if value.trim().eq_ignore_ascii_case("none") {
        return Ok(());
    }
    let unknown: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|name| {
            !name.is_empty()
                && !OverlayField::ALL
                    .iter()
                    .any(|f| f.key().eq_ignore_ascii_case(name))
        })
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "unknown overlay field(s) {}; the fields are {}",
            unknown.join(", "),
            format_fields(&OverlayField::ALL)
        ))
    }
}

/// The setting value for `fields`.
pub fn format_fields(fields: &[OverlayField]) -> String {
    OverlayField::ALL
        .into_iter()
        .filter(|f| fields.contains(f))
        .map(OverlayField::key)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The practice's overlay fields (all of them when unset or unreadable).
pub fn overlay_fields(store: &Store) -> Vec<OverlayField> {
    match store.setting(OVERLAY_SETTING) {
        Ok(value) => parse_fields(value.as_deref().unwrap_or("")),
        Err(e) => {
            tracing::warn!(error = %e, "the overlay setting could not be read; showing all");
            OverlayField::ALL.to_vec()
        }
    }
}

/// What the overlay says about the shown image, one value per field.
#[derive(Debug, Clone, Default)]
pub struct OverlayValues {
    /// "NAME · ID · date · description".
    pub patient: String,
    /// The series label.
    pub series: String,
    /// 1-based image number and the stack's count.
    pub image: (usize, usize),
    /// "slice location 12.5 mm" or "position x, y, z mm".
    pub position: String,
    /// Window (width, level).
    pub window: Option<(f64, f64)>,
    /// Zoom, 1.0 = 100 %.
    pub zoom: f32,
    /// "0.5 × 0.5 mm (Pixel Spacing)".
    pub spacing: String,
}

/// The overlay's lines for `fields`: the patient line, the series, image and position on one
/// line, window and zoom on one, the spacing.
pub fn overlay_text(fields: &[OverlayField], v: &OverlayValues) -> String {
    let has = |f| fields.contains(&f);
    let mut lines = Vec::new();
    if has(OverlayField::Patient) {
        lines.push(v.patient.clone());
    }
    if has(OverlayField::Series) {
        lines.push(format!("Series {}", v.series));
    }
    let mut image_line = Vec::new();
    if has(OverlayField::Image) {
        image_line.push(format!("Image {} / {}", v.image.0, v.image.1));
    }
    if has(OverlayField::Position) && !v.position.is_empty() {
        image_line.push(v.position.clone());
    }
    if !image_line.is_empty() {
        lines.push(image_line.join("  "));
    }
    let mut view_line = Vec::new();
    if has(OverlayField::Window) {
        let (width, level) = v.window.unwrap_or((0.0, 0.0));
        view_line.push(format!("W {width:.0} L {level:.0}"));
    }
    if has(OverlayField::Zoom) {
        view_line.push(format!("Zoom {:.0}%", v.zoom * 100.0));
    }
    if !view_line.is_empty() {
        lines.push(view_line.join("  "));
    }
    if has(OverlayField::Spacing) {
        lines.push(v.spacing.clone());
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_names_the_fields_in_any_case_and_order_and_unknown_names_are_skipped() {
        assert_eq!(parse_fields(""), OverlayField::ALL.to_vec());
        assert_eq!(
            parse_fields(" Zoom, patient ,bogus"),
            vec![OverlayField::Patient, OverlayField::Zoom]
        );
        // Only unknown names, or "none": nothing to show is what was asked (not everything).
        assert!(parse_fields("bogus").is_empty());
        assert!(parse_fields("None").is_empty());
        assert!(check_fields("zoom, none-such").is_err());
        assert!(check_fields("none").is_ok() && check_fields("").is_ok());
        assert!(check_fields("Patient,zoom").is_ok());
        let some = [OverlayField::Window, OverlayField::Image];
        assert_eq!(format_fields(&some), "image, window");
        assert_eq!(
            parse_fields(&format_fields(&some)),
            vec![OverlayField::Image, OverlayField::Window]
        );
    }

    #[test]
    fn the_text_holds_only_the_chosen_fields() {
        let v = OverlayValues {
            patient: "DOE, JANE · P1".into(),
            series: "2 · CT · Axial".into(),
            image: (3, 40),
            position: "slice location 12.5 mm".into(),
            window: Some((400.0, 40.0)),
            zoom: 1.5,
            spacing: "0.5 × 0.5 mm (Pixel Spacing)".into(),
        };
        assert_eq!(
            overlay_text(&OverlayField::ALL, &v),
            "DOE, JANE · P1\nSeries 2 · CT · Axial\nImage 3 / 40  slice location 12.5 mm\n\
             W 400 L 40  Zoom 150%\n0.5 × 0.5 mm (Pixel Spacing)"
        );
        // A shared reading room: no patient line; no zoom.
        let text = overlay_text(
            &[
                OverlayField::Image,
                OverlayField::Window,
                OverlayField::Spacing,
            ],
            &v,
        );
        assert_eq!(
            text,
            "Image 3 / 40\nW 400 L 40\n0.5 × 0.5 mm (Pixel Spacing)"
        );
        assert!(!text.contains("DOE"));
    }
}
