//! The imaging lane: from a stored DICOM object to the grey values on screen.
//!
//! This first part is the CPU reference path for monochrome images (PS3.3 C.11): stored
//! values → Modality LUT (rescale slope/intercept) → VOI LINEAR window → MONOCHROME1
//! inversion → 8-bit. No egui, no GPU here: the viewer and `lightbox render` both call it.

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_pixeldata::PixelDecoder;

use crate::pacs::attributes::text;

/// Errors turning a file into an image, each naming the file and the reason.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// The file could not be read as DICOM.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The pixel data could not be decoded.
    #[error("cannot decode the pixel data of {path}: {reason}")]
    Undecodable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The image is of a kind this path does not render (yet).
    #[error("{path}: {reason}")]
    Unsupported {
        /// The file.
        path: String,
        /// What is not supported.
        reason: String,
    },
    /// Writing the output failed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The output file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A window (VOI LINEAR) in modality units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Window Center.
    pub center: f64,
    /// Window Width (≥ 1).
    pub width: f64,
}

/// One monochrome frame with what the pipeline needs.
#[derive(Debug, Clone)]
pub struct GrayFrame {
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub columns: u32,
    /// Stored values, masked to Bits Stored and sign-extended when signed.
    pub stored: Vec<i32>,
    /// Rescale Slope (1 when absent).
    pub slope: f64,
    /// Rescale Intercept (0 when absent).
    pub intercept: f64,
    /// Windows in the file, the first is the default.
    pub windows: Vec<Window>,
    /// MONOCHROME1: higher values are darker.
    pub monochrome1: bool,
}

/// Opens a file for rendering; errors name the file.
fn open_image(path: &Path) -> Result<(dicom_object::DefaultDicomObject, String), ImagingError> {
    let name = path.display().to_string();
    let obj = dicom_object::open_file(path).map_err(|e| ImagingError::Unreadable {
        path: name.clone(),
        reason: e.to_string(),
    })?;
    Ok((obj, name))
}

/// Decodes the pixel data; errors name the file.
fn decode<'a>(
    obj: &'a dicom_object::DefaultDicomObject,
    name: &str,
) -> Result<dicom_pixeldata::DecodedPixelData<'a>, ImagingError> {
    obj.decode_pixel_data()
        .map_err(|e| ImagingError::Undecodable {
            path: name.to_string(),
            reason: e.to_string(),
        })
}

/// The bytes of frame `frame` (0-based), refusing a frame the image does not have.
fn frame_bytes<'a>(
    decoded: &'a dicom_pixeldata::DecodedPixelData<'_>,
    frame: u32,
    name: &str,
) -> Result<&'a [u8], ImagingError> {
    if frame >= decoded.number_of_frames() {
        return Err(ImagingError::Unsupported {
            path: name.to_string(),
            reason: format!(
                "frame {frame} requested, the image has {}",
                decoded.number_of_frames()
            ),
        });
    }
    decoded
        .frame_data(frame)
        .map_err(|e| ImagingError::Undecodable {
            path: name.to_string(),
            reason: e.to_string(),
        })
}

/// Reads frame `frame` (0-based) of a monochrome file.
pub fn load_gray_frame(path: &Path, frame: u32) -> Result<GrayFrame, ImagingError> {
    let (obj, name) = open_image(path)?;
    gray_frame(&obj, frame, name)
}

fn gray_frame(
    obj: &dicom_object::DefaultDicomObject,
    frame: u32,
    name: String,
) -> Result<GrayFrame, ImagingError> {
    let photometric = text(obj, tags::PHOTOMETRIC_INTERPRETATION);
    let monochrome1 = match photometric.as_str() {
        "MONOCHROME1" => true,
        "MONOCHROME2" => false,
        other => {
            return Err(ImagingError::Unsupported {
                path: name,
                reason: format!(
                    "photometric interpretation {other:?} is not rendered by the grey path"
                ),
            });
        }
    };
    let decoded = decode(obj, &name)?;
    let bytes = frame_bytes(&decoded, frame, &name)?;
    let bits_allocated = decoded.bits_allocated();
    let bits_stored = decoded.bits_stored().clamp(1, bits_allocated.max(1));
    let signed = matches!(
        decoded.pixel_representation(),
        dicom_pixeldata::PixelRepresentation::Signed
    );
    let stored = stored_values(bytes, bits_allocated, bits_stored, signed).ok_or_else(|| {
        ImagingError::Unsupported {
            path: name.clone(),
            reason: format!("{bits_allocated}-bit allocation is not rendered by the grey path"),
        }
    })?;
    let expected = decoded.rows() as usize * decoded.columns() as usize;
    if stored.len() < expected {
        return Err(ImagingError::Undecodable {
            path: name,
            reason: format!("frame holds {} values, {expected} expected", stored.len()),
        });
    }
    let number = |tag| {
        text(obj, tag)
            .split('\\')
            .next()
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let centers: Vec<f64> = text(obj, tags::WINDOW_CENTER)
        .split('\\')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let widths: Vec<f64> = text(obj, tags::WINDOW_WIDTH)
        .split('\\')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let windows = centers
        .iter()
        .zip(&widths)
        .filter(|(_, w)| **w >= 1.0)
        .map(|(c, w)| Window {
            center: *c,
            width: *w,
        })
        .collect();
    Ok(GrayFrame {
        rows: decoded.rows(),
        columns: decoded.columns(),
        stored: stored[..expected].to_vec(),
        slope: number(tags::RESCALE_SLOPE).unwrap_or(1.0),
        intercept: number(tags::RESCALE_INTERCEPT).unwrap_or(0.0),
        windows,
        monochrome1,
    })
}

/// Stored values from little-endian native bytes, masked to `bits_stored` and sign-extended.
fn stored_values(
    bytes: &[u8],
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
) -> Option<Vec<i32>> {
    let mask: u32 = if bits_stored >= 32 {
        u32::MAX
    } else {
        (1u32 << bits_stored) - 1
    };
    let extend = |raw: u32| -> i32 {
        let v = raw & mask;
        if signed && bits_stored < 32 && v & (1 << (bits_stored - 1)) != 0 {
            (v | !mask) as i32
        } else {
            v as i32
        }
    };
    match bits_allocated {
        8 => Some(bytes.iter().map(|b| extend(u32::from(*b))).collect()),
        16 => Some(
            bytes
                .chunks_exact(2)
                .map(|c| extend(u32::from(u16::from_le_bytes([c[0], c[1]]))))
                .collect(),
        ),
        _ => None,
    }
}

/// The window used when none is given: the file's first, else the range of modality values.
pub fn default_window(frame: &GrayFrame) -> Window {
    if let Some(w) = frame.windows.first() {
        return *w;
    }
    let (min, max) = frame
        .stored
        .iter()
        .map(|v| f64::from(*v) * frame.slope + frame.intercept)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !min.is_finite() {
        return Window {
            center: 0.0,
            width: 1.0,
        };
    }
    Window {
        center: (min + max) / 2.0,
        width: (max - min).max(1.0),
    }
}

/// VOI LINEAR (PS3.3 C.11.2.1.2.1) of one modality value to 0..=255.
pub fn voi_linear(x: f64, window: Window) -> u8 {
    let c = window.center;
    let w = window.width.max(1.0);
    let y = if x <= c - 0.5 - (w - 1.0) / 2.0 {
        0.0
    } else if x > c - 0.5 + (w - 1.0) / 2.0 {
        255.0
    } else {
        ((x - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0
    };
    y.round().clamp(0.0, 255.0) as u8
}

/// Renders a frame to 8-bit grey with `window` (the default window when `None`).
pub fn render_gray(frame: &GrayFrame, window: Option<Window>) -> Vec<u8> {
    let window = window.unwrap_or_else(|| default_window(frame));
    frame
        .stored
        .iter()
        .map(|v| {
            let y = voi_linear(f64::from(*v) * frame.slope + frame.intercept, window);
            if frame.monochrome1 { 255 - y } else { y }
        })
        .collect()
}

/// One colour frame as interleaved 8-bit RGB, shown without windowing.
#[derive(Debug, Clone)]
pub struct RgbFrame {
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub columns: u32,
    /// R, G, B for each pixel, row by row.
    pub rgb: Vec<u8>,
}

/// Renders frame `frame` of a file to a PNG: monochrome through the grey pipeline with
/// `window` (the default window when `None`), colour as RGB without windowing. Opens the file
/// once. Returns the image's columns, rows and whether it was colour.
pub fn render_file_to_png(
    path: &Path,
    frame: u32,
    window: Option<Window>,
    out: &Path,
) -> Result<(u32, u32, bool), ImagingError> {
    let (obj, name) = open_image(path)?;
    if text(&obj, tags::PHOTOMETRIC_INTERPRETATION).starts_with("MONOCHROME") {
        let image = gray_frame(&obj, frame, name)?;
        let pixels = render_gray(&image, window);
        write_gray_png(out, image.columns, image.rows, &pixels)?;
        Ok((image.columns, image.rows, false))
    } else {
        let image = rgb_frame(&obj, frame, name)?;
        write_rgb_png(out, image.columns, image.rows, &image.rgb)?;
        Ok((image.columns, image.rows, true))
    }
}

/// Reads frame `frame` (0-based) of an 8-bit RGB, YBR_FULL or YBR_FULL_422 image as RGB
/// (PS3.3 C.7.6.3.1.2), either planar configuration.
pub fn load_rgb_frame(path: &Path, frame: u32) -> Result<RgbFrame, ImagingError> {
    let (obj, name) = open_image(path)?;
    rgb_frame(&obj, frame, name)
}

fn rgb_frame(
    obj: &dicom_object::DefaultDicomObject,
    frame: u32,
    name: String,
) -> Result<RgbFrame, ImagingError> {
    let unsupported = |reason: String| ImagingError::Unsupported {
        path: name.clone(),
        reason,
    };
    if text(obj, tags::PHOTOMETRIC_INTERPRETATION) == "YBR_FULL_422" && !is_encapsulated(obj) {
        // dicom-pixeldata does not decode native 4:2:2; it is simple enough to read here.
        return native_ybr_422_frame(obj, frame, &name);
    }
    let decoded = decode(obj, &name)?;
    if decoded.samples_per_pixel() != 3 || decoded.bits_allocated() != 8 {
        return Err(unsupported(format!(
            "{} samples of {} bits are not rendered by the colour path yet",
            decoded.samples_per_pixel(),
            decoded.bits_allocated()
        )));
    }
    let bytes = frame_bytes(&decoded, frame, &name)?;
    let pixels = decoded.rows() as usize * decoded.columns() as usize;
    let photometric = decoded.photometric_interpretation().as_str().to_string();
    let planar = matches!(
        decoded.planar_configuration(),
        dicom_pixeldata::PlanarConfiguration::PixelFirst
    );
    let short = || ImagingError::Undecodable {
        path: name.clone(),
        reason: "the frame is shorter than its rows and columns say".into(),
    };
    let mut rgb = Vec::with_capacity(pixels * 3);
    match photometric.as_str() {
        "RGB" | "YBR_FULL" | "YBR_FULL_422" => {
            let data = bytes.get(..pixels * 3).ok_or_else(short)?;
            for i in 0..pixels {
                let (a, b, c) = if planar {
                    (data[i], data[pixels + i], data[2 * pixels + i])
                } else {
                    (data[3 * i], data[3 * i + 1], data[3 * i + 2])
                };
                if photometric == "RGB" {
                    rgb.extend_from_slice(&[a, b, c]);
                } else {
                    rgb.extend_from_slice(&ybr_to_rgb(a, b, c));
                }
            }
        }
        other => {
            return Err(unsupported(format!(
                "photometric interpretation {other:?} is not rendered by the colour path yet"
            )));
        }
    }
    Ok(RgbFrame {
        rows: decoded.rows(),
        columns: decoded.columns(),
        rgb,
    })
}

/// Native YBR_FULL_422 (8-bit): two pixels share one Cb and one Cr, stored Y1 Y2 Cb Cr.
fn native_ybr_422_frame(
    obj: &dicom_object::DefaultDicomObject,
    frame: u32,
    name: &str,
) -> Result<RgbFrame, ImagingError> {
    let number = |tag| text(obj, tag).trim().parse::<u32>().ok();
    let (Some(rows), Some(columns)) = (number(tags::ROWS), number(tags::COLUMNS)) else {
        return Err(ImagingError::Undecodable {
            path: name.to_string(),
            reason: "rows or columns missing".into(),
        });
    };
    let frames = number(tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    if frame >= frames || number(tags::BITS_ALLOCATED) != Some(8) {
        return Err(ImagingError::Unsupported {
            path: name.to_string(),
            reason: format!("frame {frame} of {frames}, or not 8 bits allocated"),
        });
    }
    let pixels = rows as usize * columns as usize;
    let frame_len = pixels.div_ceil(2) * 4;
    let bytes = obj
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.to_bytes().ok())
        .ok_or_else(|| ImagingError::Undecodable {
            path: name.to_string(),
            reason: "no native pixel data".into(),
        })?;
    let start = frame as usize * frame_len;
    let data = bytes
        .get(start..start + frame_len)
        .ok_or_else(|| ImagingError::Undecodable {
            path: name.to_string(),
            reason: "the pixel data is shorter than its rows, columns and frames say".into(),
        })?;
    let mut rgb = Vec::with_capacity(pixels * 3 + 3);
    for quad in data.chunks_exact(4) {
        for y in [quad[0], quad[1]] {
            rgb.extend_from_slice(&ybr_to_rgb(y, quad[2], quad[3]));
        }
    }
    rgb.truncate(pixels * 3);
    Ok(RgbFrame { rows, columns, rgb })
}

fn is_encapsulated(obj: &dicom_object::DefaultDicomObject) -> bool {
    obj.get(tags::PIXEL_DATA)
        .is_some_and(|e| matches!(e.value(), dicom_core::DicomValue::PixelSequence(_)))
}

/// YCbCr (full range) to RGB, PS3.3 C.7.6.3.1.2.
fn ybr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (f64::from(y), f64::from(cb) - 128.0, f64::from(cr) - 128.0);
    let clamp = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    [
        clamp(y + 1.402 * cr),
        clamp(y - 0.344_136 * cb - 0.714_136 * cr),
        clamp(y + 1.772 * cb),
    ]
}

/// Writes 8-bit RGB pixels as a PNG.
pub fn write_rgb_png(path: &Path, columns: u32, rows: u32, rgb: &[u8]) -> Result<(), ImagingError> {
    write_png(path, columns, rows, png::ColorType::Rgb, rgb)
}

/// Writes 8-bit grey pixels as a PNG.
pub fn write_gray_png(
    path: &Path,
    columns: u32,
    rows: u32,
    pixels: &[u8],
) -> Result<(), ImagingError> {
    write_png(path, columns, rows, png::ColorType::Grayscale, pixels)
}

fn write_png(
    path: &Path,
    columns: u32,
    rows: u32,
    colour: png::ColorType,
    pixels: &[u8],
) -> Result<(), ImagingError> {
    let fail = |e: String| ImagingError::Write {
        path: path.display().to_string(),
        reason: e,
    };
    let file = std::fs::File::create(path).map_err(|e| fail(e.to_string()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), columns, rows);
    encoder.set_color(colour);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
    writer
        .write_image_data(pixels)
        .map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voi_linear_follows_the_standard_formula() {
        let w = Window {
            center: 40.0,
            width: 400.0,
        };
        assert_eq!(voi_linear(-1000.0, w), 0);
        assert_eq!(voi_linear(1000.0, w), 255);
        // The centre maps to the middle of the output range.
        assert!((voi_linear(40.0, w) as i32 - 128).abs() <= 1);
        // Width 1 is a threshold at the centre.
        let t = Window {
            center: 10.0,
            width: 1.0,
        };
        assert_eq!(voi_linear(9.0, t), 0);
        assert_eq!(voi_linear(10.0, t), 255);
    }

    #[test]
    fn stored_values_mask_and_sign_extend() {
        // 12 bits stored in 16 allocated, signed: 0x0FFF is -1, 0x0800 is -2048; high bits ignored.
        let bytes = [0xFF, 0x0F, 0x00, 0x08, 0xFF, 0xF7];
        assert_eq!(
            stored_values(&bytes, 16, 12, true),
            Some(vec![-1, -2048, 2047])
        );
        assert_eq!(
            stored_values(&bytes, 16, 12, false),
            Some(vec![4095, 2048, 2047])
        );
        assert_eq!(stored_values(&[1, 2, 3], 32, 32, false), None);
    }
}

#[cfg(test)]
mod colour_tests {
    use super::ybr_to_rgb;

    #[test]
    fn ybr_full_to_rgb_matches_the_standard_equations() {
        assert_eq!(ybr_to_rgb(0, 128, 128), [0, 0, 0]);
        assert_eq!(ybr_to_rgb(255, 128, 128), [255, 255, 255]);
        // Pure red in YCbCr (76, 85, 255) comes back as red.
        let [r, g, b] = ybr_to_rgb(76, 85, 255);
        assert!(r >= 253 && g <= 2 && b <= 2, "{r} {g} {b}");
    }
}
