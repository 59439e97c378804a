//! Where an image lies in the patient (Image Position, Image Orientation, Pixel Spacing) and
//! where another image's plane cuts it: the reference line a viewer draws on a sagittal image
//! to show where the axial slice beside it is.

/// An image plane in patient coordinates (mm, DICOM LPS).
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePlane {
    /// Frame of Reference UID: lines are only drawn between images that share it.
    pub frame_of_reference: String,
    /// Image Position (Patient): the centre of the first pixel.
    pub position: [f64; 3],
    /// Direction along a row (increasing column).
    pub row: [f64; 3],
    /// Direction down a column (increasing row).
    pub column: [f64; 3],
    /// Spacing between rows (along `column`) and between columns (along `row`), mm.
    pub spacing: (f64, f64),
    /// Columns and rows.
    pub size: (u32, u32),
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

impl ImagePlane {
    fn normal(&self) -> [f64; 3] {
        cross(self.row, self.column)
    }

    /// The patient point at image pixel coordinates (x along the row, y down the column;
    /// 0,0 is the top-left corner of the first pixel).
    fn point(&self, x: f64, y: f64) -> [f64; 3] {
        let (row_mm, column_mm) = self.spacing;
        let (u, v) = ((x - 0.5) * column_mm, (y - 0.5) * row_mm);
        [
            self.position[0] + u * self.row[0] + v * self.column[0],
            self.position[1] + u * self.row[1] + v * self.column[1],
            self.position[2] + u * self.row[2] + v * self.column[2],
        ]
    }

    /// Where `other`'s plane cuts this image, as a segment in this image's pixel coordinates
    /// clipped to the image; None when the planes are parallel, in another frame of
    /// reference, or the cut misses the image.
    pub fn reference_line(&self, other: &ImagePlane) -> Option<((f64, f64), (f64, f64))> {
        if self.frame_of_reference.is_empty() || self.frame_of_reference != other.frame_of_reference
        {
            return None;
        }
        let n = other.normal();
        let length = dot(n, n).sqrt();
        if length == 0.0
            || cross(self.normal(), n)
                .iter()
                .all(|c| c.abs() < 1e-6 * length)
        {
            return None;
        }
        // Signed distance from the other plane of each corner; the cut is where it is zero
        // along the image's edges.
        let (w, h) = (f64::from(self.size.0), f64::from(self.size.1));
        let corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
        let distance = |(x, y): (f64, f64)| {
            let p = self.point(x, y);
            dot(
                n,
                [
                    p[0] - other.position[0],
                    p[1] - other.position[1],
                    p[2] - other.position[2],
                ],
            ) / length
        };
        let mut points = Vec::new();
        for i in 0..4 {
            let (a, b) = (corners[i], corners[(i + 1) % 4]);
            let (da, db) = (distance(a), distance(b));
            if da == 0.0 {
                points.push(a);
            }
            if (da < 0.0 && db > 0.0) || (da > 0.0 && db < 0.0) {
                let t = da / (da - db);
                points.push((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
            }
        }
        points.dedup_by(|p, q| (p.0 - q.0).abs() < 1e-9 && (p.1 - q.1).abs() < 1e-9);
        match points[..] {
            [a, b, ..] => Some((a, b)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axial(z: f64) -> ImagePlane {
        ImagePlane {
            frame_of_reference: "1.2.3".into(),
            position: [-100.0, -100.0, z],
            row: [1.0, 0.0, 0.0],
            column: [0.0, 1.0, 0.0],
            spacing: (1.0, 1.0),
            size: (200, 200),
        }
    }

    fn sagittal() -> ImagePlane {
        // Rows run posterior (+y), columns run to the feet (-z); x = 0 (midline).
        ImagePlane {
            frame_of_reference: "1.2.3".into(),
            position: [0.0, -100.0, 100.0],
            row: [0.0, 1.0, 0.0],
            column: [0.0, 0.0, -1.0],
            spacing: (1.0, 1.0),
            size: (200, 200),
        }
    }

    #[test]
    fn an_axial_slice_cuts_a_sagittal_image_in_a_horizontal_line_at_its_height() {
        // z = 40 mm is 60 mm below the sagittal image's top (z = 100): row 60.5 (pixel
        // centres are at .5).
        let (a, b) = sagittal().reference_line(&axial(40.0)).unwrap();
        assert!(
            (a.1 - 60.5).abs() < 1e-9 && (b.1 - 60.5).abs() < 1e-9,
            "{a:?} {b:?}"
        );
        assert!((a.0 - b.0).abs() > 199.0, "spans the image: {a:?} {b:?}");
        // The sagittal midline cuts the axial image in a vertical line at x = 0 mm.
        let (a, b) = axial(40.0).reference_line(&sagittal()).unwrap();
        assert!(
            (a.0 - 100.5).abs() < 1e-9 && (b.0 - 100.5).abs() < 1e-9,
            "{a:?} {b:?}"
        );
    }

    #[test]
    fn no_line_between_parallel_planes_other_frames_or_a_cut_outside() {
        assert!(axial(0.0).reference_line(&axial(10.0)).is_none());
        let mut other = sagittal();
        other.frame_of_reference = "9.9".into();
        assert!(axial(0.0).reference_line(&other).is_none());
        // An axial slice far below the sagittal image misses it.
        assert!(sagittal().reference_line(&axial(-500.0)).is_none());
    }
}
