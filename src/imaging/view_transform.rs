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
