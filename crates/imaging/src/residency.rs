//! Residency: what the viewer keeps of a series between frames. Decoded frames with their
//! display and measurement facts in a byte-bounded cache, and a whole series uploaded onto the
//! GPU slice by slice in the background (the nearest slices in the scroll direction first),
//! after which only the facts stay on the CPU. No egui here: the window's render thread
//! drives it and shows what it draws.

use std::path::PathBuf;
use std::sync::Arc;

use crate::geometry::ImagePlane;
use crate::gpu::{GpuRenderer, GpuSeries};
use crate::measure::{Calibration, ModalityValues};
use crate::{ImageFile, RenderOptions, RenderedImage, Window};

/// What display and measurement say about one image, without its pixels: kept for every
/// slice of a series on the GPU, whose pixels then live only there.
#[derive(Clone)]
pub struct SliceFacts {
    /// Frames in the file (a multi-frame file becomes a stack).
    pub frame_count: u32,
    /// Where the image lies in the patient (reference lines).
    pub plane: Option<crate::geometry::ImagePlane>,
    /// The file's own window (its first VOI, or the range a VOI table spans).
    pub file_window: Option<Window>,
    /// The pixel spacing as the overlay says it, with where it came from.
    pub spacing: String,
    /// What a pixel measures (mm, or pixels when nothing says).
    pub calibration: Calibration,
    /// The image's modality (which window presets apply).
    pub modality: String,
    /// Image Orientation (Patient), for the orientation markers.
    pub orientation: Option<[f64; 6]>,
    /// Where the slice is ("z 12.5 mm"), for the overlay.
    pub position: String,
    /// A greyscale image (ROI statistics have modality values to read).
    pub modality_values_exist: bool,
    /// The rate a multi-frame file asks to be played at (cine).
    pub frames_per_second: Option<f64>,
    /// Its width.
    pub columns: u32,
    /// Its height.
    pub rows: u32,
    /// The frame's overlay planes (60xx), 255 where set, drawn over the image.
    pub overlay_mask: Option<Arc<Vec<u8>>>,
}

/// One image decoded with what display and measurement need (kept in the frame cache).
pub struct Decoded {
    /// What display and measurement say about it.
    pub facts: SliceFacts,
    /// Modality values (HU on CT) for ROI statistics; None for colour images or when not asked.
    pub values: Option<Arc<ModalityValues>>,
    /// The decoded frame.
    pub frame: crate::DecodedFrame,
}

impl Decoded {
    /// Bytes it holds (stored values and modality values), for the cache budget.
    pub fn bytes(&self) -> usize {
        let pixels = self.frame.rows as usize * self.frame.columns as usize;
        pixels * (4 + if self.values.is_some() { 8 } else { 0 }) + 1024
    }
}

/// One image of a stack: a file and a frame of it (0 for single-frame files).
pub type ImageKey = (PathBuf, u32);

/// Decodes one frame of a file with its display and measurement facts (and its modality
/// values when `with_values`: the series load onto the GPU does without them).
pub fn decode((path, index): &ImageKey, with_values: bool) -> Result<Decoded, String> {
    let file = ImageFile::open(path).map_err(|e| e.to_string())?;
    let frame_count = file.number_of_frames();
    let frame = file.frame(*index).map_err(|e| e.to_string())?;
    let file_window = match crate::chosen_voi(&frame, &RenderOptions::default()) {
        Some(crate::grey::Voi::Window(w, _)) => Some(w),
        Some(crate::grey::Voi::Table(_)) => match &frame.content {
            crate::FrameContent::Grey { stored, pipeline } => Some(pipeline.range_window(stored)),
            _ => None,
        },
        None => None,
    };
    let spacing = frame
        .spacing
        .as_ref()
        .map(|s| {
            format!(
                "{:.3} × {:.3} mm ({})",
                s.row_mm,
                s.column_mm,
                s.source.describe()
            )
        })
        .unwrap_or_else(|| "no pixel spacing: measurements in px".into());
    let calibration = Calibration::from_spacing(frame.spacing);
    let geometry =
        crate::header::slice_geometry(file.object(), frame.spacing, frame.columns, frame.rows);
    let (modality, position, orientation, plane) = (
        geometry.modality,
        geometry.position,
        geometry.orientation,
        geometry.plane,
    );
    let grey = matches!(frame.content, crate::FrameContent::Grey { .. });
    let values = if with_values {
        ModalityValues::of(&frame, &modality).map(Arc::new)
    } else {
        None
    };
    Ok(Decoded {
        facts: SliceFacts {
            frame_count,
            plane,
            file_window,
            spacing,
            calibration,
            modality,
            orientation,
            position,
            modality_values_exist: grey,
            frames_per_second: file.frames_per_second(),
            columns: frame.columns,
            rows: frame.rows,
            overlay_mask: crate::overlay_mask(&frame).map(Arc::new),
        },
        values,
        frame,
    })
}

/// Decoded frames kept within a byte budget (scrolling back does not decode again).
pub type DecodedCache = crate::frame_cache::FrameCache<ImageKey, Decoded>;

/// The decoded frame from the cache, decoding (with modality values) and keeping it if absent.
pub fn cached(cache: &mut DecodedCache, key: &ImageKey) -> Result<Arc<Decoded>, String> {
    if let Some(d) = cache.get(key) {
        return Ok(d);
    }
    let decoded = decode(key, true)?;
    let bytes = decoded.bytes();
    Ok(cache.insert(key.clone(), decoded, bytes))
}

/// The shown series as it loads onto the GPU in the background: every slice decoded once,
/// uploaded into a texture-array layer, and only its facts kept on the CPU.
pub struct SeriesOnGpu {
    /// Its images in stack order.
    pub keys: Arc<[ImageKey]>,
    /// None until the first slice says its size (or when the series cannot go on the GPU).
    pub gpu: Option<GpuSeries>,
    /// The facts of each slice on the GPU (None: not loaded).
    pub facts: Vec<Option<Arc<SliceFacts>>>,
    /// Slices tried (loaded, refused or unreadable): the load never retries them.
    pub tried: Vec<bool>,
    /// Where the user is and which way they scroll: the load starts there.
    pub position: usize,
    /// +1 scrolling down the stack, -1 up.
    pub direction: i64,
    /// The series cannot go on the GPU (no adapter, over the memory budget).
    pub abandoned: bool,
}

/// Slices loaded between two progress reports to the window.
pub const LOAD_REPORT_EVERY: usize = 32;

/// Slices decoded together (on every core) between two looks at the request queue.
pub const LOAD_BATCH: usize = 8;

impl SeriesOnGpu {
    /// A series nothing of which is loaded yet.
    pub fn new(keys: Arc<[ImageKey]>) -> SeriesOnGpu {
        let n = keys.len();
        SeriesOnGpu {
            keys,
            gpu: None,
            facts: vec![None; n],
            tried: vec![false; n],
            position: 0,
            direction: 1,
            abandoned: false,
        }
    }

    /// The next slice to load: the nearest untried one in the scroll direction, then the
    /// nearest the other way.
    pub fn next_to_load(&self) -> Option<usize> {
        if self.abandoned {
            return None;
        }
        let n = self.keys.len();
        let ahead: Box<dyn Iterator<Item = usize>> = if self.direction >= 0 {
            Box::new(self.position..n)
        } else {
            Box::new((0..=self.position.min(n.saturating_sub(1))).rev())
        };
        let behind: Box<dyn Iterator<Item = usize>> = if self.direction >= 0 {
            Box::new((0..self.position.min(n)).rev())
        } else {
            Box::new(self.position.saturating_add(1)..n)
        };
        ahead.chain(behind).find(|i| !self.tried[*i])
    }

    /// Decodes the next few slices on every core and puts them on the GPU (making room for
    /// the series on the first). Returns how many were tried.
    pub fn load_batch(&mut self, renderer: &GpuRenderer, budget_bytes: usize) -> usize {
        let mut batch = Vec::new();
        while batch.len() < LOAD_BATCH {
            let Some(index) = self.next_to_load() else {
                break;
            };
            self.tried[index] = true;
            batch.push(index);
        }
        let keys: Vec<ImageKey> = batch.iter().map(|i| self.keys[*i].clone()).collect();
        let decoded = crate::decode_in_parallel(&keys, |k| decode(k, false));
        for (index, d) in batch.iter().zip(decoded) {
            match d {
                Some(Ok(d)) => self.load(renderer, *index, d, budget_bytes),
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "a slice could not be loaded onto the GPU");
                }
                None => tracing::warn!("a decoder thread stopped; the slice is shown on demand"),
            }
        }
        batch.len()
    }

    /// Puts decoded slice `index` on the GPU (making room for the series on the first).
    pub fn load(
        &mut self,
        renderer: &GpuRenderer,
        index: usize,
        decoded: Decoded,
        budget_bytes: usize,
    ) {
        if self.abandoned {
            return;
        }
        if self.gpu.is_none() {
            let (columns, rows) = (decoded.frame.columns, decoded.frame.rows);
            // A colour clip (ultrasound cine) goes on as RGBA, a greyscale stack as 16 bits.
            let colour = matches!(decoded.frame.content, crate::FrameContent::Colour { .. });
            let texel_bytes = if colour { 4 } else { 2 };
            let bytes = columns as usize * rows as usize * texel_bytes * self.keys.len();
            if bytes > budget_bytes {
                tracing::debug!(
                    slices = self.keys.len(),
                    mib = bytes >> 20,
                    "the series stays frame by frame (over the memory budget)"
                );
                self.abandoned = true;
                return;
            }
            let made = if colour {
                renderer.colour_series(columns, rows, self.keys.len())
            } else {
                renderer.series(columns, rows, self.keys.len())
            };
            match made {
                Ok(s) => self.gpu = Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "the series cannot go on the GPU");
                    self.abandoned = true;
                    return;
                }
            }
        }
        let Some(gpu) = self.gpu.as_mut() else {
            return;
        };
        match gpu.upload_layer(renderer, index, &decoded.frame) {
            Ok(()) => self.facts[index] = Some(Arc::new(decoded.facts)),
            Err(e) => tracing::debug!(error = %e, index, "this slice is shown frame by frame"),
        }
    }

    /// Where each slice loaded so far lies (synchronised scrolling by slice position).
    pub fn places(&self) -> Arc<[Option<ImagePlane>]> {
        self.facts
            .iter()
            .map(|f| f.as_ref().and_then(|f| f.plane.clone()))
            .collect()
    }

    /// Slices on the GPU so far.
    pub fn loaded(&self) -> usize {
        self.gpu.as_ref().map_or(0, GpuSeries::loaded)
    }

    /// Bytes the series holds on the GPU.
    pub fn gpu_bytes(&self) -> usize {
        self.gpu.as_ref().map_or(0, GpuSeries::bytes)
    }
}

/// Nearest-neighbour shrink so the long side is at most `max_px`.
pub fn shrink(image: &RenderedImage, max_px: u32) -> RenderedImage {
    let long = image.columns.max(image.rows).max(1);
    if long <= max_px {
        return image.clone();
    }
    let columns = (image.columns * max_px / long).max(1);
    let rows = (image.rows * max_px / long).max(1);
    let channels = usize::from(image.channels);
    let mut pixels = Vec::with_capacity(columns as usize * rows as usize * channels);
    for y in 0..rows {
        let sy = (y * image.rows / rows) as usize;
        for x in 0..columns {
            let sx = (x * image.columns / columns) as usize;
            let at = (sy * image.columns as usize + sx) * channels;
            pixels.extend_from_slice(
                image
                    .pixels
                    .get(at..at + channels)
                    .unwrap_or(&[0, 0, 0][..channels]),
            );
        }
    }
    RenderedImage {
        columns,
        rows,
        channels: image.channels,
        pixels,
    }
}
