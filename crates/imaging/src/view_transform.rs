//! How an image is turned on screen: flipped left–right, then rotated in quarter turns
//! clockwise. Measurements stay in image pixel coordinates, so the viewer maps the pointer
//! back through the inverse (`image_from_display`) and draws through `display_from_image`.

/// Flip and rotation of an image of `columns` × `rows` pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ViewTransform {
    /// Image width in pixels.
    pub columns: u32,
    /// Image height in pixels.
    pub rows: u32,
    /// Quarter turns clockwise (0–3).
    pub quarter_turns: u8,
    /// Mirrored left–right (before rotating).
    pub flipped: bool,
}

impl ViewTransform {
    /// Width and height of the image as shown.
    pub fn display_size(&self) -> (f64, f64) {
        let (w, h) = (f64::from(self.columns), f64::from(self.rows));
        if self.quarter_turns % 2 == 1 {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// Display coordinates (pixels of the turned image) of an image point.
    pub fn display_from_image(&self, x: f64, y: f64) -> (f64, f64) {
        let (w, h) = (f64::from(self.columns), f64::from(self.rows));
        let x = if self.flipped { w - x } else { x };
        match self.quarter_turns % 4 {
            1 => (h - y, x),
            2 => (w - x, h - y),
            3 => (y, w - x),
            _ => (x, y),
        }
    }

    /// The image point under display coordinates (the inverse of `display_from_image`).
    pub fn image_from_display(&self, u: f64, v: f64) -> (f64, f64) {
        let (w, h) = (f64::from(self.columns), f64::from(self.rows));
        let (x, y) = match self.quarter_turns % 4 {
            1 => (v, h - u),
            2 => (w - u, h - v),
            3 => (w - v, u),
            _ => (u, v),
        };
        if self.flipped { (w - x, y) } else { (x, y) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_turn_and_flip_maps_corners_and_back() {
        for quarter_turns in 0..4 {
            for flipped in [false, true] {
                let t = ViewTransform {
                    columns: 40,
                    rows: 30,
                    quarter_turns,
                    flipped,
                };
                for (x, y) in [(0.0, 0.0), (40.0, 0.0), (0.0, 30.0), (12.5, 7.25)] {
                    let (u, v) = t.display_from_image(x, y);
                    let (dw, dh) = t.display_size();
                    assert!((0.0..=dw).contains(&u) && (0.0..=dh).contains(&v));
                    let (bx, by) = t.image_from_display(u, v);
                    assert!((bx - x).abs() < 1e-9 && (by - y).abs() < 1e-9);
                }
            }
        }
        // A quarter turn clockwise puts the top-left corner at the top right.
        let t = ViewTransform {
            columns: 40,
            rows: 30,
            quarter_turns: 1,
            flipped: false,
        };
        assert_eq!(t.display_from_image(0.0, 0.0), (30.0, 0.0));
        assert_eq!(t.display_size(), (30.0, 40.0));
        // A flip mirrors left and right.
        let f = ViewTransform {
            columns: 40,
            rows: 30,
            quarter_turns: 0,
            flipped: true,
        };
        assert_eq!(f.display_from_image(0.0, 5.0), (40.0, 5.0));
    }
}

/// Letters for a direction in the patient (DICOM LPS: +x left, +y posterior, +z head): the
/// main component first, then any other that is more than a quarter of the length ("LP",
/// "HF" never both).
pub fn direction_letters(d: [f64; 3]) -> String {
    let letters = [('L', 'R'), ('P', 'A'), ('H', 'F')];
    let mut parts: Vec<(f64, char)> = d
        .iter()
        .zip(letters)
        .map(|(v, (pos, neg))| (v.abs(), if *v >= 0.0 { pos } else { neg }))
        .collect();
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let length = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
    parts
        .into_iter()
        .filter(|(m, _)| length > 0.0 && *m > 0.25 * length)
        .map(|(_, c)| c)
        .collect()
}

impl ViewTransform {
    /// The orientation markers for the edges of the image as shown — (top, right, bottom,
    /// left) — from Image Orientation (Patient): the row direction points to the right edge and
    /// the column direction to the bottom edge of the unturned image.
    pub fn edge_labels(&self, orientation: [f64; 6]) -> [String; 4] {
        let row = [orientation[0], orientation[1], orientation[2]];
        let col = [orientation[3], orientation[4], orientation[5]];
        let neg = |v: [f64; 3]| [-v[0], -v[1], -v[2]];
        // Unturned: top, right, bottom, left.
        let mut edges = [
            direction_letters(neg(col)),
            direction_letters(row),
            direction_letters(col),
            direction_letters(neg(row)),
        ];
        if self.flipped {
            edges.swap(1, 3);
        }
        // Each quarter turn clockwise: what was on the left comes to the top.
        for _ in 0..self.quarter_turns % 4 {
            edges.rotate_right(1);
        }
        edges
    }
}

#[cfg(test)]
mod orientation_tests {
    use super::*;

    #[test]
    fn an_axial_image_reads_a_on_top_and_l_on_the_right() {
        let t = ViewTransform {
            columns: 10,
            rows: 10,
            quarter_turns: 0,
            flipped: false,
        };
        // Standard axial: rows run to the patient's left, columns to posterior.
        let axial = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        assert_eq!(t.edge_labels(axial), ["A", "L", "P", "R"].map(String::from));
        let flipped = ViewTransform { flipped: true, ..t };
        assert_eq!(
            flipped.edge_labels(axial),
            ["A", "R", "P", "L"].map(String::from)
        );
        let turned = ViewTransform {
            quarter_turns: 1,
            ..t
        };
        assert_eq!(
            turned.edge_labels(axial),
            ["R", "A", "L", "P"].map(String::from)
        );
        // Coronal: columns run to the feet.
        let coronal = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0];
        assert_eq!(
            t.edge_labels(coronal),
            ["H", "L", "F", "R"].map(String::from)
        );
        // Oblique components show as two letters.
        assert_eq!(direction_letters([0.8, 0.6, 0.0]), "LP");
        assert_eq!(direction_letters([0.0, 0.0, 0.0]), "");
    }
}
