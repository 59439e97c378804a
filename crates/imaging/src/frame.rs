//! From a DICOM file to one decoded frame: stored grey values with their pipeline, or RGB.
//! Decoding goes through dicom-pixeldata one frame at a time; what it does not cover (1-bit
//! segmentations, native YBR_FULL_422, 16-bit colour, palettes, files without a meta group,
//! 12-bit lossy JPEG) is done here or in `jpeg_dct`.
//!
//! Kept as one file (~830 lines): every path ends in the same `DecodedFrame` and the choice of
//! path is the point of the file; the decoders it falls back to live in their own modules.

use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use dicom_pixeldata::PixelDecoder;

use super::grey::{GreyPipeline, ModalityTransform, VoiFunction, Window};
use super::lut::{Palette, lut_from_item};
use super::overlay::{Overlay, read_overlays};
use super::spacing::{PixelSpacing, pixel_spacing};
use super::{ImagingError, jpeg_dct, rle};
use dicom_core::DicomValue;
use lightbox_codec::attributes::text;

/// A decoded frame larger than this is refused before any allocation: a damaged Rows or
/// Columns must give an error, not an out-of-memory abort.
pub const MAX_FRAME_BYTES: u64 = 1 << 30;

/// The pixels of one frame.
#[derive(Debug, Clone)]
pub enum FrameContent {
    /// Monochrome: stored values (masked to Bits Stored, sign-extended) and how to show them.
    Grey {
        /// Stored values, row by row.
        stored: Vec<i32>,
        /// Modality, VOI and presentation from the file.
        pipeline: GreyPipeline,
    },
    /// Colour, converted to 8-bit RGB (interleaved) and shown without windowing.
    Colour {
        /// R, G, B per pixel, row by row.
        rgb: Vec<u8>,
    },
}

/// One decoded frame with what display and measurement need.
#[derive(Debug, Clone)]
pub struct DecodedFrame {
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub columns: u32,
    /// The frame's index in the file, from 0.
    pub index: u32,
    /// The pixels.
    pub content: FrameContent,
    /// Millimetres per pixel and their source, if the file says.
    pub spacing: Option<PixelSpacing>,
    /// Overlay planes present in the file (drawn only on request).
    pub overlays: Vec<Overlay>,
}

/// An opened image file, decoded frame by frame.
pub struct ImageFile {
    obj: DefaultDicomObject,
    name: String,
}

impl ImageFile {
    /// Opens `path`. Files without a file meta group (old or hand-made ones) are read as a
    /// bare data set in implicit or explicit VR little endian, as dcmtk and pydicom do.
    pub fn open(path: &Path) -> Result<ImageFile, ImagingError> {
        let name = path.display().to_string();
        crate::arrival::await_file(path);
        let bytes = std::fs::read(path).map_err(|e| ImagingError::Unreadable {
            path: name.clone(),
            reason: e.to_string(),
        })?;
        ImageFile::from_bytes(&bytes, &name)
    }

    /// Reads a file already in memory (`name` is used in errors): with or without the
    /// 128-byte preamble, or a bare data set without a meta group.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<ImageFile, ImagingError> {
        let unreadable = |reason: String| ImagingError::Unreadable {
            path: name.to_string(),
            reason,
        };
        let after_preamble = match bytes.get(128..132) {
            Some(b"DICM") => Some(&bytes[128..]),
            _ if bytes.starts_with(b"DICM") => Some(bytes),
            _ => None,
        };
        let obj = match after_preamble {
            Some(rest) => {
                // Impossible lengths are refused before the parser reserves them; UN and
                // malformed numbers are read the tolerant way.
                let (obj, warnings) =
                    lightbox_codec::tolerant::read_file_after_marker(rest).map_err(unreadable)?;
                for warning in warnings {
                    tracing::warn!(file = %name, %warning, "tolerated in a file");
                }
                obj
            }
            None => open_without_meta(bytes).map_err(unreadable)?,
        };
        Ok(ImageFile {
            obj,
            name: name.to_string(),
        })
    }

    /// The object, for callers that need other attributes.
    pub fn object(&self) -> &InMemDicomObject {
        &self.obj
    }

    /// Number of frames (1 when the attribute is absent).
    pub fn number_of_frames(&self) -> u32 {
        number(&self.obj, tags::NUMBER_OF_FRAMES)
            .unwrap_or(1)
            .max(1)
    }

    /// The rate a multi-frame file (ultrasound cine, XA) should play at, frames per second:
    /// Recommended Display Frame Rate, else Cine Rate, else from Frame Time (ms per frame),
    /// else the mean of Frame Time Vector's increments. None when the file says nothing usable.
    pub fn frames_per_second(&self) -> Option<f64> {
        let floats = |tag| {
            self.obj
                .get(tag)
                .and_then(|e| e.to_multi_float64().ok())
                .unwrap_or_default()
        };
        let usable = |fps: f64| (fps.is_finite() && fps > 0.0 && fps <= 1000.0).then_some(fps);
        let first = |tag| floats(tag).first().copied();
        first(tags::RECOMMENDED_DISPLAY_FRAME_RATE)
            .and_then(usable)
            .or_else(|| first(tags::CINE_RATE).and_then(usable))
            .or_else(|| {
                first(tags::FRAME_TIME)
                    .filter(|ms| *ms > 0.0)
                    .and_then(|ms| usable(1000.0 / ms))
            })
            .or_else(|| {
                // The first entry is the first frame's offset (0); the rest are increments.
                let vector = floats(tags::FRAME_TIME_VECTOR);
                let increments: Vec<f64> = vector.iter().skip(1).copied().collect();
                let mean_ms = increments.iter().sum::<f64>() / increments.len().max(1) as f64;
                (!increments.is_empty() && mean_ms > 0.0)
                    .then(|| 1000.0 / mean_ms)
                    .and_then(usable)
            })
    }

    fn fail(&self, reason: impl Into<String>) -> ImagingError {
        ImagingError::Undecodable {
            path: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn unsupported(&self, reason: impl Into<String>) -> ImagingError {
        ImagingError::Unsupported {
            path: self.name.clone(),
            reason: reason.into(),
        }
    }

    /// Decodes frame `index` (from 0).
    pub fn frame(&self, index: u32) -> Result<DecodedFrame, ImagingError> {
        let obj = &self.obj;
        let rows = number(obj, tags::ROWS).ok_or_else(|| self.fail("Rows is missing"))?;
        let columns = number(obj, tags::COLUMNS).ok_or_else(|| self.fail("Columns is missing"))?;
        if rows == 0 || columns == 0 {
            return Err(self.fail(format!("the image is {columns}×{rows}")));
        }
        let frames = self.number_of_frames();
        if index >= frames {
            return Err(
                self.unsupported(format!("frame {index} requested, the image has {frames}"))
            );
        }
        let samples: u16 = number(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
        let bits_allocated: u16 = number(obj, tags::BITS_ALLOCATED).unwrap_or(0);
        let bits_stored: u16 = number(obj, tags::BITS_STORED).unwrap_or(bits_allocated);
        if !matches!(bits_allocated, 1 | 8 | 16 | 32) || !matches!(samples, 1 | 3) {
            return Err(self.unsupported(format!(
                "{samples} samples of {bits_allocated} bits allocated are not images this viewer shows"
            )));
        }
        if bits_stored == 0 || bits_stored > bits_allocated {
            return Err(self.fail(format!(
                "Bits Stored {bits_stored} does not fit Bits Allocated {bits_allocated}"
            )));
        }
        let frame_bytes = u64::from(rows)
            * u64::from(columns)
            * u64::from(samples)
            * u64::from(bits_allocated.div_ceil(8));
        if frame_bytes > MAX_FRAME_BYTES {
            return Err(self.unsupported(format!(
                "a {columns}×{rows} frame of {samples} samples would need {} MiB",
                frame_bytes >> 20
            )));
        }
        let signed = number(obj, tags::PIXEL_REPRESENTATION) == Some(1);
        let photometric = text(obj, tags::PHOTOMETRIC_INTERPRETATION);
        let pixels = rows as usize * columns as usize;
        let content = match (photometric.as_str(), samples) {
            ("MONOCHROME1" | "MONOCHROME2", 1) => {
                let stored =
                    self.grey_values(index, pixels, bits_allocated, bits_stored, signed)?;
                FrameContent::Grey {
                    stored,
                    pipeline: self.grey_pipeline(photometric == "MONOCHROME1", signed, index)?,
                }
            }
            ("PALETTE COLOR", 1) => {
                let palette = Palette::read(obj, signed).map_err(|e| self.fail(e))?;
                let indices =
                    self.grey_values(index, pixels, bits_allocated, bits_stored, signed)?;
                let rgb = indices
                    .iter()
                    .flat_map(|i| palette.rgb(i64::from(*i)))
                    .collect();
                FrameContent::Colour { rgb }
            }
            (
                "RGB" | "YBR_FULL" | "YBR_FULL_422" | "YBR_RCT" | "YBR_ICT" | "YBR_PARTIAL_420",
                3,
            ) => FrameContent::Colour {
                rgb: self.colour_values(index, pixels, &photometric)?,
            },
            (other, n) => {
                return Err(self.unsupported(format!(
                    "photometric interpretation {other:?} with {n} samples per pixel is not supported"
                )));
            }
        };
        Ok(DecodedFrame {
            rows,
            columns,
            index,
            content,
            spacing: pixel_spacing(obj),
            overlays: read_overlays(obj),
        })
    }

    fn is_encapsulated(&self) -> bool {
        self.obj
            .get(tags::PIXEL_DATA)
            .is_some_and(|e| matches!(e.value(), dicom_core::DicomValue::PixelSequence(_)))
    }

    fn transfer_syntax(&self) -> &str {
        self.obj.meta().transfer_syntax().trim_end_matches('\0')
    }

    /// The native bytes of one frame as dicom-pixeldata decodes them (little endian samples,
    /// interleaved after decompression), or our own decoder for 12-bit lossy JPEG.
    fn decoded_bytes(&self, index: u32, expected: usize) -> Result<(Vec<u8>, bool), ImagingError> {
        if jpeg_dct::handles(self.transfer_syntax()) && self.is_encapsulated() {
            let stream = encapsulated_frame(&self.obj, index).map_err(|e| self.fail(e))?;
            if matches!(jpeg_dct::frame_header(&stream), Some((8 | 12, 1))) {
                let (_, _, data) = jpeg_dct::decode(&stream).map_err(|e| self.fail(e))?;
                if data.len() < expected {
                    return Err(self.fail(format!(
                        "the JPEG frame holds {} bytes, {expected} expected from Rows and Columns",
                        data.len()
                    )));
                }
                return Ok((data[..expected].to_vec(), false));
            }
            // Colour lossy JPEG that the file says is YCbCr: decoded as dcmtk's IJG library
            // does, straight to RGB.
            let photometric =
                lightbox_codec::attributes::text(&self.obj, tags::PHOTOMETRIC_INTERPRETATION);
            if matches!(jpeg_dct::frame_header(&stream), Some((8, 3)))
                && matches!(photometric.as_str(), "YBR_FULL_422" | "YBR_FULL")
            {
                let (_, _, data) = jpeg_dct::decode_colour(&stream).map_err(|e| self.fail(e))?;
                if data.len() < expected {
                    return Err(self.fail(format!(
                        "the JPEG frame holds {} bytes, {expected} expected from Rows and Columns",
                        data.len()
                    )));
                }
                return Ok((data[..expected].to_vec(), false));
            }
        }
        if self.transfer_syntax() == rle::RLE_LOSSLESS && self.is_encapsulated() {
            let stream = encapsulated_frame(&self.obj, index).map_err(|e| self.fail(e))?;
            let obj = &self.obj;
            let data = rle::decode(
                &stream,
                number(obj, tags::ROWS).unwrap_or(0),
                number(obj, tags::COLUMNS).unwrap_or(0),
                number(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1),
                number(obj, tags::BITS_ALLOCATED).unwrap_or(8),
            )
            .map_err(|e| self.fail(e))?;
            if data.len() < expected {
                return Err(self.fail("the RLE frame is shorter than Rows and Columns say"));
            }
            return Ok((data[..expected].to_vec(), false));
        }
        // The codecs behind dicom-pixeldata are third-party code fed damaged data: a panic in
        // one becomes this file's error instead of taking the program down.
        let decode = || -> Result<(Vec<u8>, bool), String> {
            let decoded = self
                .obj
                .decode_pixel_data_frame(index)
                .map_err(|e| e.to_string())?;
            let planar = matches!(
                decoded.planar_configuration(),
                dicom_pixeldata::PlanarConfiguration::PixelFirst
            );
            let data = decoded.frame_data(0).map_err(|e| e.to_string())?;
            if data.len() < expected {
                return Err(format!(
                    "frame {index} holds {} bytes, {expected} expected from its rows, columns and bits",
                    data.len()
                ));
            }
            Ok((data[..expected].to_vec(), planar))
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)) {
            Ok(result) => result.map_err(|e| self.fail(e)),
            Err(_) => {
                tracing::error!(file = %self.name, frame = index, "pixel data decoder panicked on this file");
                Err(self.fail("the decoder failed on damaged compressed data"))
            }
        }
    }

    /// Stored values of a one-sample frame.
    fn grey_values(
        &self,
        index: u32,
        pixels: usize,
        bits_allocated: u16,
        bits_stored: u16,
        signed: bool,
    ) -> Result<Vec<i32>, ImagingError> {
        if bits_allocated == 1 {
            return self.one_bit_values(index, pixels);
        }
        let bytes_per = usize::from(bits_allocated / 8);
        let (bytes, _) = self.decoded_bytes(index, pixels * bytes_per)?;
        Ok(stored_values(&bytes, bits_allocated, bits_stored, signed))
    }

    /// 1-bit frames (segmentations) are packed across frame boundaries: read the bits directly.
    fn one_bit_values(&self, index: u32, pixels: usize) -> Result<Vec<i32>, ImagingError> {
        if self.is_encapsulated() {
            return Err(self.unsupported("compressed 1-bit pixel data is not supported"));
        }
        let bytes = self
            .obj
            .get(tags::PIXEL_DATA)
            .and_then(|e| e.to_bytes().ok())
            .ok_or_else(|| self.fail("no pixel data"))?;
        let first_bit = index as usize * pixels;
        if (first_bit + pixels).div_ceil(8) > bytes.len() {
            return Err(
                self.fail("the pixel data is shorter than its rows, columns and frames say")
            );
        }
        Ok((first_bit..first_bit + pixels)
            .map(|bit| i32::from((bytes[bit / 8] >> (bit % 8)) & 1))
            .collect())
    }

    /// A three-sample frame as 8-bit RGB.
    fn colour_values(
        &self,
        index: u32,
        pixels: usize,
        photometric: &str,
    ) -> Result<Vec<u8>, ImagingError> {
        let obj = &self.obj;
        if photometric == "YBR_FULL_422" && !self.is_encapsulated() {
            return self.native_ybr_422(index, pixels);
        }
        let bits_allocated: u16 = number(obj, tags::BITS_ALLOCATED).unwrap_or(8);
        let bits_stored: u16 = number(obj, tags::BITS_STORED).unwrap_or(bits_allocated);
        let bytes_per = usize::from(bits_allocated / 8);
        let (bytes, planar) = self.decoded_bytes(index, pixels * 3 * bytes_per)?;
        // To 8 bits: the top 8 of the stored bits, as a display of the full range.
        let sample = |i: usize| -> u8 {
            match bytes_per {
                1 => bytes[i],
                2 => {
                    let v = u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]);
                    let v = if bits_stored < 16 {
                        v & ((1 << bits_stored) - 1)
                    } else {
                        v
                    };
                    (u32::from(v) * 255 / ((1u32 << bits_stored.clamp(1, 16)) - 1)) as u8
                }
                _ => {
                    (u32::from_le_bytes([
                        bytes[4 * i],
                        bytes[4 * i + 1],
                        bytes[4 * i + 2],
                        bytes[4 * i + 3],
                    ]) >> 24) as u8
                }
            }
        };
        // Decompressed JPEG and JPEG 2000 come back as RGB already; native data and RLE keep
        // the photometric interpretation of the file.
        let still_ybr = matches!(photometric, "YBR_FULL" | "YBR_FULL_422")
            && (!self.is_encapsulated() || self.transfer_syntax() == "1.2.840.10008.1.2.5");
        let mut rgb = Vec::with_capacity(pixels * 3);
        for p in 0..pixels {
            let (a, b, c) = if planar {
                (sample(p), sample(pixels + p), sample(2 * pixels + p))
            } else {
                (sample(3 * p), sample(3 * p + 1), sample(3 * p + 2))
            };
            if still_ybr && photometric == "YBR_FULL_422" {
                rgb.extend_from_slice(&ybr_422_to_rgb(a, b, c));
            } else if still_ybr {
                rgb.extend_from_slice(&ybr_to_rgb(a, b, c));
            } else {
                rgb.extend_from_slice(&[a, b, c]);
            }
        }
        Ok(rgb)
    }

    /// Native YBR_FULL_422 (8-bit): two pixels share one Cb and one Cr, stored Y1 Y2 Cb Cr.
    fn native_ybr_422(&self, index: u32, pixels: usize) -> Result<Vec<u8>, ImagingError> {
        if number(&self.obj, tags::BITS_ALLOCATED) != Some(8) {
            return Err(self.unsupported("native YBR_FULL_422 other than 8 bits"));
        }
        let frame_len = pixels.div_ceil(2) * 4;
        let bytes = self
            .obj
            .get(tags::PIXEL_DATA)
            .and_then(|e| e.to_bytes().ok())
            .ok_or_else(|| self.fail("no native pixel data"))?;
        let start = index as usize * frame_len;
        let data = bytes.get(start..start + frame_len).ok_or_else(|| {
            self.fail("the pixel data is shorter than its rows, columns and frames say")
        })?;
        let mut rgb = Vec::with_capacity(pixels * 3 + 3);
        for quad in data.chunks_exact(4) {
            for y in [quad[0], quad[1]] {
                rgb.extend_from_slice(&ybr_422_to_rgb(y, quad[2], quad[3]));
            }
        }
        rgb.truncate(pixels * 3);
        Ok(rgb)
    }

    /// The file's greyscale display attributes: Modality LUT, windows, VOI LUTs, shape.
    /// Enhanced objects keep them per frame in functional groups; the frame's own group wins
    /// over the shared one, which wins over the top level.
    fn grey_pipeline(
        &self,
        monochrome1: bool,
        signed: bool,
        index: u32,
    ) -> Result<GreyPipeline, ImagingError> {
        let obj: &InMemDicomObject = &self.obj;
        let groups = functional_groups(obj, index);
        let find = |sequence: Tag, tag: Tag| -> Option<&InMemDicomObject> {
            for g in &groups {
                if let Some(item) = g
                    .get(sequence)
                    .and_then(|s| s.items())
                    .and_then(|i| i.first())
                    .filter(|i| i.get(tag).is_some())
                {
                    return Some(item);
                }
            }
            obj.get(tag).map(|_| obj)
        };
        let rescale_source = find(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            tags::RESCALE_SLOPE,
        )
        .or_else(|| {
            find(
                tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                tags::RESCALE_INTERCEPT,
            )
        });
        let modality_table = obj
            .get(tags::MODALITY_LUT_SEQUENCE)
            .and_then(|s| s.items())
            .and_then(|items| items.first());
        let modality = match (modality_table, rescale_source) {
            (Some(item), None) => ModalityTransform::Table(
                lut_from_item(item, signed).map_err(|e| self.fail(format!("Modality LUT: {e}")))?,
            ),
            (_, source) => {
                let first = |tag| {
                    source
                        .and_then(|s| s.get(tag))
                        .and_then(|e| e.to_multi_float64().ok())
                        .and_then(|v| v.first().copied())
                        .filter(|v| v.is_finite())
                };
                ModalityTransform::Rescale {
                    slope: first(tags::RESCALE_SLOPE)
                        .filter(|s| *s != 0.0)
                        .unwrap_or(1.0),
                    intercept: first(tags::RESCALE_INTERCEPT).unwrap_or(0.0),
                }
            }
        };
        let voi_source = find(tags::FRAME_VOILUT_SEQUENCE, tags::WINDOW_CENTER);
        let floats = |tag| {
            voi_source
                .and_then(|s| s.get(tag))
                .and_then(|e| e.to_multi_float64().ok())
                .unwrap_or_default()
        };
        let function = VoiFunction::from_code(
            &voi_source
                .map(|s| text(s, tags::VOILUT_FUNCTION))
                .unwrap_or_default(),
        );
        let windows = floats(tags::WINDOW_CENTER)
            .into_iter()
            .zip(floats(tags::WINDOW_WIDTH))
            .filter(|(c, w)| {
                c.is_finite()
                    && w.is_finite()
                    && if function == VoiFunction::Linear {
                        *w >= 1.0
                    } else {
                        *w > 0.0
                    }
            })
            .map(|(center, width)| Window { center, width })
            .collect();
        let mut voi_tables = Vec::new();
        for item in obj
            .get(tags::VOILUT_SEQUENCE)
            .and_then(|s| s.items())
            .unwrap_or_default()
        {
            match lut_from_item(item, signed) {
                Ok(lut) => voi_tables.push(lut),
                Err(reason) => tracing::warn!(file = %self.name, %reason, "VOI LUT skipped"),
            }
        }
        let inverse_shape = text(obj, tags::PRESENTATION_LUT_SHAPE) == "INVERSE";
        Ok(GreyPipeline {
            modality,
            windows,
            function,
            voi_tables,
            invert: monochrome1 != inverse_shape,
        })
    }
}

/// The functional group items that apply to frame `index`: its per-frame item, then shared.
fn functional_groups(obj: &InMemDicomObject, index: u32) -> Vec<&InMemDicomObject> {
    let item = |tag, i: usize| {
        obj.get(tag)
            .and_then(|s| s.items())
            .and_then(|items| items.get(i))
    };
    [
        item(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, index as usize),
        item(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, 0),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The compressed bytes of frame `index`: one fragment per frame, all fragments for a single
/// frame, else the Basic Offset Table, else a new frame at each fragment that starts with SOI.
pub fn encapsulated_frame(obj: &DefaultDicomObject, index: u32) -> Result<Vec<u8>, String> {
    let element = obj.get(tags::PIXEL_DATA).ok_or("no pixel data")?;
    let DicomValue::PixelSequence(seq) = element.value() else {
        return Err("pixel data is not encapsulated".into());
    };
    let fragments = seq.fragments();
    let frames = obj
        .get(tags::NUMBER_OF_FRAMES)
        .and_then(|e| e.to_int::<u32>().ok())
        .unwrap_or(1)
        .max(1) as usize;
    let index = index as usize;
    if frames == 1 {
        return Ok(fragments.iter().flatten().copied().collect());
    }
    if fragments.len() == frames {
        return fragments
            .get(index)
            .map(|f| f.to_vec())
            .ok_or_else(|| "frame past the fragments".into());
    }
    // Group fragments into frames at each SOI.
    let mut grouped: Vec<Vec<u8>> = Vec::new();
    for fragment in fragments {
        if fragment.starts_with(&[0xFF, 0xD8]) || grouped.is_empty() {
            grouped.push(Vec::new());
        }
        if let Some(last) = grouped.last_mut() {
            last.extend_from_slice(fragment);
        }
    }
    grouped
        .into_iter()
        .nth(index)
        .ok_or_else(|| format!("frame {index} not found among the fragments"))
}

/// An unsigned integer attribute.
fn number<T: std::str::FromStr>(obj: &InMemDicomObject, tag: Tag) -> Option<T> {
    obj.get(tag)?
        .to_str()
        .ok()?
        .split('\\')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Reads a file that has no file meta group: a bare data set, implicit VR little endian unless
/// the first element carries an explicit VR.
fn open_without_meta(bytes: &[u8]) -> Result<DefaultDicomObject, String> {
    use dicom_encoding::TransferSyntaxIndex;
    use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
    let head = bytes
        .get(..8)
        .ok_or("neither a DICOM file nor a bare data set (too short)")?;
    // A bare data set starts with a group 0008 (or 0002..0010) element.
    let group = u16::from_le_bytes([head[0], head[1]]);
    if !(0x0002..=0x0010).contains(&group) {
        return Err("neither a DICOM file (no DICM marker) nor a bare data set".into());
    }
    let explicit = head[4].is_ascii_uppercase() && head[5].is_ascii_uppercase();
    lightbox_codec::lengths::check_declared_lengths(bytes, explicit, false)
        .map_err(|e| e.to_string())?;
    let uid = if explicit {
        "1.2.840.10008.1.2.1"
    } else {
        "1.2.840.10008.1.2"
    };
    let ts = TransferSyntaxRegistry
        .get(uid)
        .ok_or("transfer syntax registry incomplete")?;
    let dataset = InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|e| e.to_string())?;
    dataset
        .with_meta(dicom_object::meta::FileMetaTableBuilder::new().transfer_syntax(uid))
        .map_err(|e| e.to_string())
}

/// Stored values from little-endian native bytes, masked to `bits_stored` and sign-extended.
pub fn stored_values(
    bytes: &[u8],
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
) -> Vec<i32> {
    let bits_stored = bits_stored.clamp(1, 32);
    let mask: u32 = if bits_stored >= 32 {
        u32::MAX
    } else {
        (1u32 << bits_stored) - 1
    };
    let extend = |raw: u32| -> i32 {
        let v = raw & mask;
        if signed && bits_stored < 32 && v & (1 << (bits_stored - 1)) != 0 {
            (v | !mask) as i32
        } else if !signed && bits_stored == 32 {
            // Unsigned 32-bit values above i32::MAX are beyond any real image; saturate.
            v.min(i32::MAX as u32) as i32
        } else {
            v as i32
        }
    };
    match bits_allocated {
        8 => bytes.iter().map(|b| extend(u32::from(*b))).collect(),
        16 => bytes
            .chunks_exact(2)
            .map(|c| extend(u32::from(u16::from_le_bytes([c[0], c[1]]))))
            .collect(),
        _ => bytes
            .chunks_exact(4)
            .map(|c| extend(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
    }
}

/// Per-value terms of the YCbCr (full range) to RGB conversion of PS3.3 C.7.6.3.1.2, in
/// whole numbers as dcmtk computes them for 8-bit data (each term truncated toward zero and
/// the 128 offsets folded in), so a colour image looks exactly as in the reference viewer.
struct YbrTables {
    r_from_cr: [i16; 256],
    g_from_cb: [i16; 256],
    g_from_cr: [i16; 256],
    b_from_cb: [i16; 256],
}

fn ybr_tables() -> &'static YbrTables {
    static TABLES: std::sync::OnceLock<YbrTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = YbrTables {
            r_from_cr: [0; 256],
            g_from_cb: [0; 256],
            g_from_cr: [0; 256],
            b_from_cb: [0; 256],
        };
        for v in 0..256usize {
            let x = v as f64;
            // `as` truncates toward zero, like the C cast the reference uses.
            t.r_from_cr[v] = (1.4020 * x - 0.7010 * 255.0) as i16;
            t.g_from_cb[v] = (0.3441 * x) as i16;
            t.g_from_cr[v] = (0.7141 * x - 0.5291 * 255.0) as i16;
            t.b_from_cb[v] = (1.7720 * x - 0.8859 * 255.0) as i16;
        }
        t
    })
}

/// YCbCr (full range) to RGB, PS3.3 C.7.6.3.1.2, in dcmtk's integer arithmetic.
pub fn ybr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let t = ybr_tables();
    let (y, cb, cr) = (i32::from(y), usize::from(cb), usize::from(cr));
    let clamp = |v: i32| v.clamp(0, 255) as u8;
    [
        clamp(y + i32::from(t.r_from_cr[cr])),
        clamp(y - i32::from(t.g_from_cb[cb]) - i32::from(t.g_from_cr[cr])),
        clamp(y + i32::from(t.b_from_cb[cb])),
    ]
}

/// YCbCr (full range, 4:2:2) to RGB as dcmtk computes it for YBR_FULL_422: the same
/// equations in floating point, each result truncated toward zero.
pub fn ybr_422_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (f64::from(y), f64::from(cb), f64::from(cr));
    let clamp = |v: f64| v.clamp(0.0, 255.0) as u8;
    [
        clamp(y + 1.4020 * cr - 0.7010 * 255.0),
        clamp(y - 0.3441 * cb - 0.7141 * cr + 0.5291 * 255.0),
        clamp(y + 1.7720 * cb - 0.8859 * 255.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_mask_and_sign_extend() {
        // 12 bits stored in 16 allocated, signed: 0x0FFF is -1, 0x0800 is -2048; high bits ignored.
        let bytes = [0xFF, 0x0F, 0x00, 0x08, 0xFF, 0xF7];
        assert_eq!(stored_values(&bytes, 16, 12, true), vec![-1, -2048, 2047]);
        assert_eq!(stored_values(&bytes, 16, 12, false), vec![4095, 2048, 2047]);
        assert_eq!(
            stored_values(&[0xFF, 0xFF, 0xFF, 0xFF], 32, 32, true),
            vec![-1]
        );
    }

    #[test]
    fn a_cine_plays_at_the_rate_the_file_gives_in_order_of_preference() {
        use dicom_core::{DataElement, PrimitiveValue, VR};
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/dicom/SC_rgb_2frame.dcm");
        let fresh = || ImageFile::open(&path).expect("the corpus is beside the project");
        let with = |pairs: &[(dicom_core::Tag, VR, &str)]| {
            let mut f = fresh();
            for (tag, vr, value) in pairs {
                f.obj
                    .put(DataElement::new(*tag, *vr, PrimitiveValue::from(*value)));
            }
            f.frames_per_second()
        };
        assert_eq!(fresh().frames_per_second(), None);
        // Frame Time in ms per frame: 40 ms is 25 frames/s.
        assert_eq!(with(&[(tags::FRAME_TIME, VR::DS, "40")]), Some(25.0));
        // Cine Rate wins over Frame Time; Recommended Display Frame Rate over both.
        assert_eq!(
            with(&[
                (tags::FRAME_TIME, VR::DS, "40"),
                (tags::CINE_RATE, VR::IS, "15")
            ]),
            Some(15.0)
        );
        assert_eq!(
            with(&[
                (tags::CINE_RATE, VR::IS, "15"),
                (tags::RECOMMENDED_DISPLAY_FRAME_RATE, VR::IS, "30")
            ]),
            Some(30.0)
        );
        // Frame Time Vector: the first entry is the offset of the first frame.
        let mut vector = fresh();
        vector.obj.put(DataElement::new(
            tags::FRAME_TIME_VECTOR,
            VR::DS,
            PrimitiveValue::Strs(["0", "50", "50"].iter().map(|v| v.to_string()).collect()),
        ));
        assert_eq!(vector.frames_per_second(), Some(20.0));
        // Nonsense is no rate: zero, negative, absurd.
        assert_eq!(with(&[(tags::FRAME_TIME, VR::DS, "0")]), None);
        assert_eq!(with(&[(tags::CINE_RATE, VR::IS, "-5")]), None);
        assert_eq!(
            with(&[
                (tags::CINE_RATE, VR::IS, "0"),
                (tags::FRAME_TIME, VR::DS, "0.01")
            ]),
            None
        );
    }

    #[test]
    fn ybr_full_to_rgb_matches_the_standard_equations() {
        assert_eq!(ybr_to_rgb(0, 128, 128), [0, 0, 0]);
        // The reference's truncated terms leave white's green one level short, as dcmtk shows it.
        assert_eq!(ybr_to_rgb(255, 128, 128), [255, 254, 255]);
        let [r, g, b] = ybr_to_rgb(76, 85, 255);
        assert!(r >= 253 && g <= 2 && b <= 2, "{r} {g} {b}");
    }
}
