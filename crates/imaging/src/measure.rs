//! Measurements on one image: length, polyline, angle, Cobb angle, ellipse and rectangle ROIs
//! (mean, SD, min, max, area; in HU on CT through the modality transform), point value, and
//! the arrow and text annotations that carry no number. Every result says where its scale
//! came from; without a calibration it is in pixels, never a guessed millimetre.
//!
//! Coordinates are in image pixels, continuous: pixel (column c, row r) covers
//! [c, c+1) × [r, r+1), so its centre is (c + 0.5, r + 0.5). `x` runs along a row (columns,
//! scaled by the column spacing), `y` down the image (rows, scaled by the row spacing).

use super::spacing::{PixelSpacing, SpacingSource};
use super::{DecodedFrame, FrameContent};

/// A point in image pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImagePoint {
    /// Along the row (column direction), in pixels.
    pub x: f64,
    /// Down the image (row direction), in pixels.
    pub y: f64,
}

impl ImagePoint {
    /// A point.
    pub fn new(x: f64, y: f64) -> ImagePoint {
        ImagePoint { x, y }
    }
}

/// How pixels become millimetres for one image.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum Calibration {
    /// From the file (Pixel Spacing, Imager Pixel Spacing with or without ERMF, US region).
    File(PixelSpacing),
    /// Set by the user against a known length drawn on the image.
    Manual {
        /// Millimetres per pixel (the same in both directions).
        mm_per_px: f64,
        /// The known length it was set from.
        known_mm: f64,
    },
    /// Nothing: results are in pixels.
    #[default]
    None,
}

impl Calibration {
    /// The file's calibration, if it has one.
    pub fn from_spacing(spacing: Option<PixelSpacing>) -> Calibration {
        spacing.map_or(Calibration::None, Calibration::File)
    }

    /// A manual calibration: the line `a`–`b` is `known_mm` long.
    pub fn manual(a: ImagePoint, b: ImagePoint, known_mm: f64) -> Option<Calibration> {
        let px = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt();
        (px > 0.0 && known_mm > 0.0 && known_mm.is_finite()).then_some(Calibration::Manual {
            mm_per_px: known_mm / px,
            known_mm,
        })
    }

    /// (column mm, row mm) per pixel, if calibrated.
    fn mm(self) -> Option<(f64, f64)> {
        match self {
            Calibration::File(s) => Some((s.column_mm, s.row_mm)),
            Calibration::Manual { mm_per_px, .. } => Some((mm_per_px, mm_per_px)),
            Calibration::None => None,
        }
    }

    /// Words shown with every measurement.
    pub fn describe(self) -> String {
        match self {
            Calibration::File(s) => match s.source {
                SpacingSource::Imager => {
                    "Imager Pixel Spacing (at the detector, not corrected for magnification)".into()
                }
                other => other.describe().into(),
            },
            Calibration::Manual { known_mm, .. } => {
                format!("manual calibration against {known_mm:.1} mm")
            }
            Calibration::None => "uncalibrated: pixels".into(),
        }
    }
}

/// What was drawn.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shape {
    /// A straight distance.
    Length {
        /// Start.
        a: ImagePoint,
        /// End.
        b: ImagePoint,
    },
    /// A path through several points; its length.
    Polyline {
        /// The points in order.
        points: Vec<ImagePoint>,
    },
    /// The angle at `vertex` between the rays to `a` and `b`.
    Angle {
        /// First arm's end.
        a: ImagePoint,
        /// The vertex.
        vertex: ImagePoint,
        /// Second arm's end.
        b: ImagePoint,
    },
    /// The Cobb angle between two lines (each along an endplate).
    Cobb {
        /// First line.
        first: (ImagePoint, ImagePoint),
        /// Second line.
        second: (ImagePoint, ImagePoint),
    },
    /// An axis-aligned ellipse region.
    Ellipse {
        /// Centre.
        centre: ImagePoint,
        /// Half-width in pixels.
        radius_x: f64,
        /// Half-height in pixels.
        radius_y: f64,
    },
    /// An axis-aligned rectangle region between two corners.
    Rectangle {
        /// One corner.
        a: ImagePoint,
        /// The opposite corner.
        b: ImagePoint,
    },
    /// The value of one pixel.
    Point {
        /// Where.
        at: ImagePoint,
    },
    /// An arrow pointing at `head`.
    Arrow {
        /// Tail.
        tail: ImagePoint,
        /// Head.
        head: ImagePoint,
    },
    /// A text label.
    Text {
        /// Where.
        at: ImagePoint,
        /// What.
        text: String,
    },
}

/// Statistics of a region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionStats {
    /// Pixels whose centres are inside.
    pub pixels: usize,
    /// Mean value.
    pub mean: f64,
    /// Standard deviation (population).
    pub sd: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// A measurement's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The number shown (length, angle or area), if the shape has one.
    pub value: Option<f64>,
    /// Its unit: "mm", "px", "°", "mm²", "px²", or "" for annotations.
    pub unit: &'static str,
    /// Region statistics, for ROIs and point values.
    pub stats: Option<RegionStats>,
    /// The unit of the pixel values ("HU" on CT, "" otherwise).
    pub value_unit: &'static str,
    /// Where the scale came from, in words.
    pub source: String,
    /// One line for the screen and the report.
    pub text: String,
}

/// An image's values as measurements see them: modality values (HU on CT) per pixel.
pub struct ModalityValues {
    /// Columns.
    pub columns: u32,
    /// Rows.
    pub rows: u32,
    /// One value per pixel, row by row.
    pub values: Vec<f64>,
    /// "HU" for CT, "" otherwise.
    pub unit: &'static str,
}

impl ModalityValues {
    /// The frame's modality values (stored values through the modality transform: Rescale
    /// Slope/Intercept or the Modality LUT). Colour frames have none.
    pub fn of(frame: &DecodedFrame, modality: &str) -> Option<ModalityValues> {
        let FrameContent::Grey { stored, pipeline } = &frame.content else {
            return None;
        };
        Some(ModalityValues {
            columns: frame.columns,
            rows: frame.rows,
            values: stored.iter().map(|s| pipeline.modality.apply(*s)).collect(),
            unit: if modality.eq_ignore_ascii_case("CT") {
                "HU"
            } else {
                ""
            },
        })
    }

    fn at(&self, column: i64, row: i64) -> Option<f64> {
        if column < 0 || row < 0 || column >= i64::from(self.columns) || row >= i64::from(self.rows)
        {
            return None;
        }
        self.values
            .get(row as usize * self.columns as usize + column as usize)
            .copied()
    }

    /// Statistics of the pixels whose centres satisfy `inside`, within the bounding box.
    fn region(
        &self,
        (x0, y0, x1, y1): (f64, f64, f64, f64),
        inside: impl Fn(f64, f64) -> bool,
    ) -> Option<RegionStats> {
        let mut n = 0usize;
        let (mut sum, mut sum2) = (0.0, 0.0);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        let c0 = x0.floor().max(0.0) as i64;
        let r0 = y0.floor().max(0.0) as i64;
        let c1 = (x1.ceil() as i64).min(i64::from(self.columns));
        let r1 = (y1.ceil() as i64).min(i64::from(self.rows));
        for r in r0..r1 {
            for c in c0..c1 {
                let (cx, cy) = (c as f64 + 0.5, r as f64 + 0.5);
                if inside(cx, cy)
                    && let Some(v) = self.at(c, r)
                {
                    n += 1;
                    sum += v;
                    sum2 += v * v;
                    min = min.min(v);
                    max = max.max(v);
                }
            }
        }
        (n > 0).then(|| {
            let mean = sum / n as f64;
            RegionStats {
                pixels: n,
                mean,
                sd: (sum2 / n as f64 - mean * mean).max(0.0).sqrt(),
                min,
                max,
            }
        })
    }
}

fn distance(a: ImagePoint, b: ImagePoint, mm: Option<(f64, f64)>) -> f64 {
    let (sx, sy) = mm.unwrap_or((1.0, 1.0));
    (((b.x - a.x) * sx).powi(2) + ((b.y - a.y) * sy).powi(2)).sqrt()
}

/// The angle in degrees (0–180) between two vectors, in physical space (spacing may differ
/// between rows and columns, which changes angles).
fn angle_between(u: (f64, f64), v: (f64, f64), mm: Option<(f64, f64)>) -> Option<f64> {
    let (sx, sy) = mm.unwrap_or((1.0, 1.0));
    let (ux, uy) = (u.0 * sx, u.1 * sy);
    let (vx, vy) = (v.0 * sx, v.1 * sy);
    let nu = (ux * ux + uy * uy).sqrt();
    let nv = (vx * vx + vy * vy).sqrt();
    (nu > 0.0 && nv > 0.0).then(|| {
        ((ux * vx + uy * vy) / (nu * nv))
            .clamp(-1.0, 1.0)
            .acos()
            .to_degrees()
    })
}

fn stats_text(s: &RegionStats, unit: &str) -> String {
    let u = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    format!(
        "mean {:.1}{u}, SD {:.1}, min {:.0}, max {:.0}",
        s.mean, s.sd, s.min, s.max
    )
}

/// Measures `shape` under `calibration`; `values` gives ROI statistics and point values.
pub fn measure(
    shape: &Shape,
    calibration: Calibration,
    values: Option<&ModalityValues>,
) -> Measured {
    let mm = calibration.mm();
    let (length_unit, area_unit) = if mm.is_some() {
        ("mm", "mm²")
    } else {
        ("px", "px²")
    };
    let value_unit = values.map_or("", |v| v.unit);
    let source = calibration.describe();
    let result =
        |value: Option<f64>, unit: &'static str, stats: Option<RegionStats>, text| Measured {
            value,
            unit,
            stats,
            value_unit,
            source: source.clone(),
            text,
        };
    match shape {
        Shape::Length { a, b } => {
            let d = distance(*a, *b, mm);
            result(Some(d), length_unit, None, format!("{d:.1} {length_unit}"))
        }
        Shape::Polyline { points } => {
            let d: f64 = points.windows(2).map(|w| distance(w[0], w[1], mm)).sum();
            result(Some(d), length_unit, None, format!("{d:.1} {length_unit}"))
        }
        Shape::Angle { a, vertex, b } => {
            let angle = angle_between(
                (a.x - vertex.x, a.y - vertex.y),
                (b.x - vertex.x, b.y - vertex.y),
                mm,
            );
            let text = angle.map_or("—".into(), |d| format!("{d:.1}°"));
            result(angle, "°", None, text)
        }
        Shape::Cobb { first, second } => {
            // The angle between the lines, not the rays: 0–90°.
            let angle = angle_between(
                (first.1.x - first.0.x, first.1.y - first.0.y),
                (second.1.x - second.0.x, second.1.y - second.0.y),
                mm,
            )
            .map(|d| if d > 90.0 { 180.0 - d } else { d });
            let text = angle.map_or("—".into(), |d| format!("Cobb {d:.1}°"));
            result(angle, "°", None, text)
        }
        Shape::Ellipse {
            centre,
            radius_x,
            radius_y,
        } => {
            let (sx, sy) = mm.unwrap_or((1.0, 1.0));
            let area = std::f64::consts::PI * radius_x * sx * radius_y * sy;
            let (rx, ry) = (radius_x.abs().max(1e-9), radius_y.abs().max(1e-9));
            let stats = values.and_then(|v| {
                v.region(
                    (centre.x - rx, centre.y - ry, centre.x + rx, centre.y + ry),
                    |x, y| ((x - centre.x) / rx).powi(2) + ((y - centre.y) / ry).powi(2) <= 1.0,
                )
            });
            let mut text = format!("area {area:.1} {area_unit}");
            if let Some(s) = &stats {
                text.push_str(&format!("; {}", stats_text(s, value_unit)));
            }
            result(Some(area), area_unit, stats, text)
        }
        Shape::Rectangle { a, b } => {
            let (x0, x1) = (a.x.min(b.x), a.x.max(b.x));
            let (y0, y1) = (a.y.min(b.y), a.y.max(b.y));
            let (sx, sy) = mm.unwrap_or((1.0, 1.0));
            let area = (x1 - x0) * sx * (y1 - y0) * sy;
            let stats = values.and_then(|v| {
                v.region((x0, y0, x1, y1), |x, y| {
                    x >= x0 && x < x1 && y >= y0 && y < y1
                })
            });
            let mut text = format!("area {area:.1} {area_unit}");
            if let Some(s) = &stats {
                text.push_str(&format!("; {}", stats_text(s, value_unit)));
            }
            result(Some(area), area_unit, stats, text)
        }
        Shape::Point { at } => {
            let v = values.and_then(|v| v.at(at.x.floor() as i64, at.y.floor() as i64));
            let stats = v.map(|v| RegionStats {
                pixels: 1,
                mean: v,
                sd: 0.0,
                min: v,
                max: v,
            });
            let text = v.map_or("no value here".into(), |v| {
                format!(
                    "{v:.0}{}",
                    if value_unit.is_empty() {
                        "".to_string()
                    } else {
                        format!(" {value_unit}")
                    }
                )
            });
            result(v, value_unit, stats, text)
        }
        Shape::Arrow { .. } => result(None, "", None, String::new()),
        Shape::Text { text, .. } => result(None, "", None, text.clone()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::spacing::{SpacingSource, pixel_spacing};

    fn close(a: f64, b: f64, tolerance: f64) {
        assert!((a - b).abs() <= tolerance, "{a} vs {b}");
    }

    fn spacing(row_mm: f64, column_mm: f64, source: SpacingSource) -> Calibration {
        Calibration::File(PixelSpacing {
            row_mm,
            column_mm,
            source,
        })
    }

    /// A 100×100 image at -1000 with a 20×20 square of 40 (x 30..50, y 60..80).
    fn phantom() -> ModalityValues {
        let mut values = vec![-1000.0; 100 * 100];
        for y in 60..80 {
            for x in 30..50 {
                values[y * 100 + x] = 40.0;
            }
        }
        ModalityValues {
            columns: 100,
            rows: 100,
            values,
            unit: "HU",
        }
    }

    #[test]
    fn a_length_uses_column_spacing_along_x_and_row_spacing_along_y() {
        let cal = spacing(0.25, 0.5, SpacingSource::PixelSpacing);
        let across = Shape::Length {
            a: ImagePoint::new(10.0, 10.0),
            b: ImagePoint::new(50.0, 10.0),
        };
        let down = Shape::Length {
            a: ImagePoint::new(10.0, 10.0),
            b: ImagePoint::new(10.0, 50.0),
        };
        let diagonal = Shape::Length {
            a: ImagePoint::new(0.0, 0.0),
            b: ImagePoint::new(30.0, 40.0),
        };
        close(measure(&across, cal, None).value.unwrap(), 20.0, 1e-9);
        close(measure(&down, cal, None).value.unwrap(), 10.0, 1e-9);
        close(
            measure(&diagonal, cal, None).value.unwrap(),
            (15.0f64.powi(2) + 10.0f64.powi(2)).sqrt(),
            1e-9,
        );
        let m = measure(&across, cal, None);
        assert_eq!((m.unit, m.source.as_str()), ("mm", "Pixel Spacing"));
    }

    #[test]
    fn without_calibration_a_length_is_in_pixels_never_millimetres() {
        let m = measure(
            &Shape::Length {
                a: ImagePoint::new(0.0, 0.0),
                b: ImagePoint::new(3.0, 4.0),
            },
            Calibration::None,
            None,
        );
        assert_eq!(m.value, Some(5.0));
        assert_eq!(m.unit, "px");
        assert_eq!(m.text, "5.0 px");
        assert!(m.source.contains("uncalibrated"));
    }

    #[test]
    fn a_manual_calibration_against_a_known_length_scales_every_measurement() {
        let cal = Calibration::manual(ImagePoint::new(0.0, 0.0), ImagePoint::new(0.0, 80.0), 20.0)
            .unwrap();
        let m = measure(
            &Shape::Length {
                a: ImagePoint::new(0.0, 0.0),
                b: ImagePoint::new(40.0, 0.0),
            },
            cal,
            None,
        );
        close(m.value.unwrap(), 10.0, 1e-9);
        assert_eq!(m.source, "manual calibration against 20.0 mm");
        assert!(
            Calibration::manual(ImagePoint::new(1.0, 1.0), ImagePoint::new(1.0, 1.0), 5.0)
                .is_none()
        );
    }

    #[test]
    fn imager_spacing_is_corrected_by_the_magnification_factor_and_says_so() {
        use dicom_core::{DataElement, PrimitiveValue, VR};
        use dicom_dictionary_std::tags;
        let mut obj = dicom_object::InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::IMAGER_PIXEL_SPACING,
            VR::DS,
            PrimitiveValue::Strs(["0.2".to_string(), "0.2".to_string()].into()),
        ));
        let detector = Calibration::from_spacing(pixel_spacing(&obj));
        obj.put(DataElement::new(
            tags::ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR,
            VR::DS,
            PrimitiveValue::from("1.25"),
        ));
        let corrected = Calibration::from_spacing(pixel_spacing(&obj));
        let line = Shape::Length {
            a: ImagePoint::new(0.0, 0.0),
            b: ImagePoint::new(100.0, 0.0),
        };
        close(measure(&line, detector, None).value.unwrap(), 20.0, 1e-9);
        close(measure(&line, corrected, None).value.unwrap(), 16.0, 1e-9);
        assert!(
            measure(&line, detector, None)
                .source
                .contains("at the detector")
        );
        assert!(measure(&line, corrected, None).source.contains("ERMF"));
    }

    #[test]
    fn an_ultrasound_region_calibrates_in_centimetres() {
        use dicom_core::{DataElement, PrimitiveValue, VR};
        use dicom_dictionary_std::tags;
        let mut region = dicom_object::InMemDicomObject::new_empty();
        region.put(DataElement::new(
            tags::PHYSICAL_UNITS_X_DIRECTION,
            VR::US,
            PrimitiveValue::from(3u16),
        ));
        region.put(DataElement::new(
            tags::PHYSICAL_UNITS_Y_DIRECTION,
            VR::US,
            PrimitiveValue::from(3u16),
        ));
        region.put(DataElement::new(
            tags::PHYSICAL_DELTA_X,
            VR::FD,
            PrimitiveValue::from(0.01f64),
        ));
        region.put(DataElement::new(
            tags::PHYSICAL_DELTA_Y,
            VR::FD,
            PrimitiveValue::from(0.02f64),
        ));
        let mut obj = dicom_object::InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::SEQUENCE_OF_ULTRASOUND_REGIONS,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![region]),
        ));
        let cal = Calibration::from_spacing(pixel_spacing(&obj));
        let down = Shape::Length {
            a: ImagePoint::new(0.0, 0.0),
            b: ImagePoint::new(0.0, 50.0),
        };
        close(measure(&down, cal, None).value.unwrap(), 10.0, 1e-9);
        assert_eq!(measure(&down, cal, None).source, "ultrasound region");
    }

    #[test]
    fn angles_are_measured_in_physical_space() {
        let iso = Calibration::None;
        let right = Shape::Angle {
            a: ImagePoint::new(10.0, 0.0),
            vertex: ImagePoint::new(0.0, 0.0),
            b: ImagePoint::new(0.0, 10.0),
        };
        close(measure(&right, iso, None).value.unwrap(), 90.0, 1e-9);
        // 45° in pixels becomes atan(2) when columns are twice as wide as rows are tall.
        let diagonal = Shape::Angle {
            a: ImagePoint::new(10.0, 0.0),
            vertex: ImagePoint::new(0.0, 0.0),
            b: ImagePoint::new(10.0, 10.0),
        };
        close(measure(&diagonal, iso, None).value.unwrap(), 45.0, 1e-9);
        let wide = spacing(0.5, 1.0, SpacingSource::PixelSpacing);
        close(
            measure(&diagonal, wide, None).value.unwrap(),
            (0.5f64).atan().to_degrees(),
            1e-9,
        );
    }

    #[test]
    fn the_cobb_angle_is_between_lines_whatever_way_they_were_drawn() {
        // Endplates tilted +10° and -15° from horizontal: Cobb 25°.
        let line = |deg: f64, reverse: bool| {
            let (s, c) = deg.to_radians().sin_cos();
            let a = ImagePoint::new(50.0 - 20.0 * c, 50.0 - 20.0 * s);
            let b = ImagePoint::new(50.0 + 20.0 * c, 50.0 + 20.0 * s);
            if reverse { (b, a) } else { (a, b) }
        };
        for reverse in [false, true] {
            let cobb = Shape::Cobb {
                first: line(10.0, false),
                second: line(-15.0, reverse),
            };
            close(
                measure(&cobb, Calibration::None, None).value.unwrap(),
                25.0,
                1e-9,
            );
        }
    }

    #[test]
    fn roi_statistics_and_areas_on_a_known_phantom() {
        let v = phantom();
        let cal = spacing(0.5, 0.5, SpacingSource::PixelSpacing);
        // Inside the square: exactly 40 HU, no spread.
        let inner = Shape::Rectangle {
            a: ImagePoint::new(32.0, 62.0),
            b: ImagePoint::new(42.0, 72.0),
        };
        let m = measure(&inner, cal, Some(&v));
        let s = m.stats.unwrap();
        assert_eq!(s.pixels, 100);
        close(s.mean, 40.0, 1e-9);
        close(s.sd, 0.0, 1e-9);
        close(m.value.unwrap(), 25.0, 1e-9); // 10 px × 10 px × 0.25 mm²
        assert_eq!(m.unit, "mm²");
        assert!(m.text.contains("mean 40.0 HU"), "{}", m.text);
        // Half in, half out: mean -480, SD 520, min -1000, max 40.
        let half = Shape::Rectangle {
            a: ImagePoint::new(20.0, 60.0),
            b: ImagePoint::new(40.0, 70.0),
        };
        let s = measure(&half, cal, Some(&v)).stats.unwrap();
        assert_eq!(s.pixels, 200);
        close(s.mean, -480.0, 1e-9);
        close(s.sd, 520.0, 1e-9);
        assert_eq!((s.min, s.max), (-1000.0, 40.0));
        // An ellipse: the area formula, and a pixel count close to it.
        let ellipse = Shape::Ellipse {
            centre: ImagePoint::new(40.0, 70.0),
            radius_x: 8.0,
            radius_y: 5.0,
        };
        let m = measure(&ellipse, Calibration::None, Some(&v));
        close(m.value.unwrap(), std::f64::consts::PI * 40.0, 1e-9);
        let s = m.stats.unwrap();
        close(s.pixels as f64, std::f64::consts::PI * 40.0, 6.0);
        close(s.mean, 40.0, 1e-9);
        // A point value.
        let p = measure(
            &Shape::Point {
                at: ImagePoint::new(5.5, 5.5),
            },
            cal,
            Some(&v),
        );
        assert_eq!(p.value, Some(-1000.0));
        assert_eq!(p.text, "-1000 HU");
    }

    #[test]
    fn hounsfield_units_come_through_the_modality_transform_of_a_real_ct_file() {
        let series = lightbox_codec::synthetic::SyntheticSeries::new(3, 128);
        let object = series.slice(0).unwrap();
        let mut bytes = Vec::new();
        object.write_all(&mut bytes).unwrap();
        let file = crate::ImageFile::from_bytes(&bytes, "synthetic").unwrap();
        let frame = file.frame(0).unwrap();
        let values = ModalityValues::of(&frame, "CT").unwrap();
        let cal = Calibration::from_spacing(frame.spacing);
        // The organ: a disc of 60 HU, radius 16 px, at the centre (stored 1084, intercept -1024).
        let organ = Shape::Ellipse {
            centre: ImagePoint::new(64.0, 64.0),
            radius_x: 10.0,
            radius_y: 10.0,
        };
        let m = measure(&organ, cal, Some(&values));
        let s = m.stats.unwrap();
        close(s.mean, 60.0, 1e-9);
        close(s.sd, 0.0, 1e-9);
        assert_eq!(m.value_unit, "HU");
        // Air outside the body.
        let air = measure(
            &Shape::Point {
                at: ImagePoint::new(2.0, 2.0),
            },
            cal,
            Some(&values),
        );
        assert_eq!(air.value, Some(-1000.0));
        // 0.5 mm pixels from Pixel Spacing: a 20-pixel line is 10 mm.
        let line = measure(
            &Shape::Length {
                a: ImagePoint::new(0.0, 0.0),
                b: ImagePoint::new(20.0, 0.0),
            },
            cal,
            None,
        );
        close(line.value.unwrap(), 10.0, 1e-9);
        assert_eq!(line.source, "Pixel Spacing");
    }
}
