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

/// Reads frame `frame` (0-based) of a monochrome file.
pub fn load_gray_frame(path: &Path, frame: u32) -> Result<GrayFrame, ImagingError> {
    let name = path.display().to_string();
    let obj = dicom_object::open_file(path).map_err(|e| ImagingError::Unreadable {
        path: name.clone(),
        reason: e.to_string(),
    })?;
    let photometric = text(&obj, tags::PHOTOMETRIC_INTERPRETATION);
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
    let decoded = obj
        .decode_pixel_data()
        .map_err(|e| ImagingError::Undecodable {
            path: name.clone(),
            reason: e.to_string(),
        })?;
    if frame >= decoded.number_of_frames() {
        return Err(ImagingError::Unsupported {
            path: name,
            reason: format!(
                "frame {frame} requested, the image has {}",
                decoded.number_of_frames()
            ),
        });
    }
    let bytes = decoded
        .frame_data(frame)
        .map_err(|e| ImagingError::Undecodable {
            path: name.clone(),
            reason: e.to_string(),
        })?;
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
        text(&obj, tag)
            .split('\\')
            .next()
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let centers: Vec<f64> = text(&obj, tags::WINDOW_CENTER)
        .split('\\')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let widths: Vec<f64> = text(&obj, tags::WINDOW_WIDTH)
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

/// Writes 8-bit grey pixels as a PNG.
pub fn write_gray_png(
    path: &Path,
    columns: u32,
    rows: u32,
    pixels: &[u8],
) -> Result<(), ImagingError> {
    let fail = |e: String| ImagingError::Write {
        path: path.display().to_string(),
        reason: e,
    };
    let file = std::fs::File::create(path).map_err(|e| fail(e.to_string()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), columns, rows);
    encoder.set_color(png::ColorType::Grayscale);
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
