//! The imaging lane: from a stored DICOM object to the values on screen.
//!
//! `frame` decodes one frame (every transfer syntax dicom-pixeldata decodes, plus what it does
//! not: greyscale lossy JPEG (8/12-bit) in `jpeg_dct`, 1-bit, native YBR_FULL_422, palettes); `grey` is the
//! PS3.3 C.11 pipeline on the CPU; `gpu` runs the same pipeline in `shaders/grey.wgsl` on any
//! wgpu adapter. No egui here: the viewer and `lightbox render` both call this lane.
//!
//! Depends on: lightbox-codec, dicom-rs, wgpu. Used by: the domain (measurements in the
//! viewing lane), the screens, `lightbox render`.

#![warn(missing_docs)]

pub mod arrival;
pub mod frame;
pub mod frame_cache;
pub mod geometry;
pub mod gpu;
pub mod grey;
pub mod header;
pub mod jpeg_dct;
pub mod lut;
pub mod measure;
pub mod overlay;
pub mod residency;
pub mod rle;
pub mod spacing;
pub mod view_transform;

use std::path::Path;

pub use frame::{DecodedFrame, FrameContent, ImageFile};
pub use grey::{GreyPipeline, Voi, VoiFunction, Window};

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
    /// The image is of a kind that is not rendered.
    #[error("{path}: {reason}")]
    Unsupported {
        /// The file.
        path: String,
        /// What is not supported.
        reason: String,
    },
    /// The GPU path could not run (no adapter, device lost, …).
    #[error("GPU rendering failed: {reason}")]
    Gpu {
        /// Why.
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

/// What the user asked the display to do beyond the file's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RenderOptions {
    /// A window that overrides the file's (grey images), or is applied to each channel
    /// (colour images, which are otherwise shown as they are).
    pub window: Option<Window>,
    /// Draw the overlay planes.
    pub overlays: bool,
}

/// A displayed frame: 8-bit grey (1 channel) or RGB (3 channels), row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedImage {
    /// Columns.
    pub columns: u32,
    /// Rows.
    pub rows: u32,
    /// 1 (grey) or 3 (RGB).
    pub channels: u8,
    /// The pixels.
    pub pixels: Vec<u8>,
}

/// The VOI a frame is shown with under `options` (None for colour without a window).
pub fn chosen_voi(frame: &DecodedFrame, options: &RenderOptions) -> Option<Voi> {
    match &frame.content {
        FrameContent::Grey { stored, pipeline } => {
            Some(pipeline.choose_voi(options.window, stored))
        }
        FrameContent::Colour { .. } => options.window.map(|w| Voi::Window(w, VoiFunction::Linear)),
    }
}

/// Renders a decoded frame on the CPU (the reference path).
pub fn render_cpu(frame: &DecodedFrame, options: &RenderOptions) -> RenderedImage {
    let voi = chosen_voi(frame, options);
    let (channels, mut pixels) = match (&frame.content, &voi) {
        (FrameContent::Grey { stored, pipeline }, Some(voi)) => (1, pipeline.render(stored, voi)),
        (FrameContent::Colour { rgb }, Some(voi)) => (
            3,
            rgb.iter()
                .map(|v| grey::voi_output(f64::from(*v), voi))
                .collect(),
        ),
        (FrameContent::Colour { rgb }, None) => (3, rgb.clone()),
        // A grey frame always has a VOI.
        (FrameContent::Grey { stored, .. }, None) => (1, vec![0; stored.len()]),
    };
    if options.overlays {
        draw_overlays(frame, channels, &mut pixels);
    }
    RenderedImage {
        columns: frame.columns,
        rows: frame.rows,
        channels,
        pixels,
    }
}

/// Decodes `keys` on every core (a series loading in the background is bound by decoding, not
/// by the GPU upload), returning the results in the order of `keys` (None where a decoder
/// thread died).
pub fn decode_in_parallel<K: Sync, T: Send>(
    keys: &[K],
    decode: impl Fn(&K) -> T + Sync,
) -> Vec<Option<T>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(keys.len());
    if threads <= 1 {
        return keys.iter().map(|k| Some(decode(k))).collect();
    }
    let decode = &decode;
    let mut parts: Vec<Vec<(usize, T)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    keys.iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, k)| (i, decode(k)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            // A decoder that panicked loses its share, never the whole batch.
            .filter_map(|w| w.join().ok())
            .collect()
    });
    let mut all: Vec<Option<T>> = keys.iter().map(|_| None).collect();
    for (i, t) in parts.drain(..).flatten() {
        all[i] = Some(t);
    }
    all
}

/// Burns the frame's overlay planes into rendered pixels.
pub fn draw_overlays(frame: &DecodedFrame, channels: u8, pixels: &mut [u8]) {
    for overlay in &frame.overlays {
        overlay.draw(
            frame.index,
            frame.rows,
            frame.columns,
            usize::from(channels),
            pixels,
        );
    }
}

/// The frame's overlay planes (60xx) as a mask, one byte per pixel (255 where a plane is
/// set), for a viewer that draws them over the image; None when the frame has none.
pub fn overlay_mask(frame: &DecodedFrame) -> Option<Vec<u8>> {
    if frame.overlays.is_empty() {
        return None;
    }
    let mut mask = vec![0u8; frame.rows as usize * frame.columns as usize];
    draw_overlays(frame, 1, &mut mask);
    mask.iter().any(|v| *v != 0).then_some(mask)
}

/// Which implementation renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The CPU reference path.
    Cpu,
    /// wgpu (a real GPU, or Mesa's lavapipe where there is none).
    Gpu,
}

/// Renders frame `frame_index` of a file and writes it as an 8-bit PNG. Returns the image.
pub fn render_file_to_png(
    path: &Path,
    frame_index: u32,
    options: &RenderOptions,
    backend: Backend,
    out: &Path,
) -> Result<(DecodedFrame, RenderedImage), ImagingError> {
    let file = ImageFile::open(path)?;
    let frame = file.frame(frame_index)?;
    let image = match backend {
        Backend::Cpu => render_cpu(&frame, options),
        Backend::Gpu => {
            let renderer = gpu::GpuRenderer::new()?;
            renderer.render(&frame, options)?
        }
    };
    write_png(out, &image)?;
    Ok((frame, image))
}

/// Writes a rendered image as an 8-bit grey or RGB PNG.
pub fn write_png(path: &Path, image: &RenderedImage) -> Result<(), ImagingError> {
    let fail = |e: String| ImagingError::Write {
        path: path.display().to_string(),
        reason: e,
    };
    let file = std::fs::File::create(path).map_err(|e| fail(e.to_string()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), image.columns, image.rows);
    encoder.set_color(if image.channels == 3 {
        png::ColorType::Rgb
    } else {
        png::ColorType::Grayscale
    });
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
    writer
        .write_image_data(&image.pixels)
        .map_err(|e| fail(e.to_string()))?;
    writer.finish().map_err(|e| fail(e.to_string()))
}
