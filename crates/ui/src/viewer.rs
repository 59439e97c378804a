//! The basic viewer: a study's series as thumbnails, one image at a time rendered by the
//! imaging pipeline on the GPU (wgpu; Mesa's software adapter where there is no GPU, the CPU
//! path if there is no adapter at all), stack scroll (wheel, arrow/page keys), window/level
//! by right-drag, zoom (Ctrl+wheel, Fit, 1:1) and pan (left-drag); import of files, folders
//! and DICOMDIRs with the system's file dialog, or a typed path.
//!
//! Decoding and rendering run on a worker thread: the UI sends requests over a bounded
//! channel and shows the newest answer, so a slow file never freezes the window. Window
//! changes re-draw the frame already on the GPU (a uniform write), never re-decode it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Instant;

use eframe::egui_wgpu;
use eframe::egui_wgpu::wgpu;

use crate::imaging::geometry::ImagePlane;
use crate::imaging::gpu::{GpuFrame, GpuRenderer, GpuSeries};
use crate::imaging::measure::{Calibration, ImagePoint, ModalityValues, Shape};
use crate::imaging::view_transform::ViewTransform;
use crate::imaging::{self, ImageFile, RenderOptions, RenderedImage, Window};
use crate::practice::Practice;
use crate::window_services::WindowServices;

/// Cine rate when the file gives none (frames per second).
const DEFAULT_CINE_FPS: f32 = 10.0;

/// Images decoded ahead of the scroll.
const PREFETCH_IMAGES: usize = 8;

/// Pixels on the long side of a series thumbnail.
const THUMBNAIL_PX: u32 = 96;
/// Requests waiting for the worker; more are dropped (the newest image request wins anyway).
const REQUEST_QUEUE: usize = 64;

/// One series of the open study.
#[derive(Debug, Clone)]
pub struct ViewerSeries {
    /// Series Instance UID.
    pub uid: String,
    /// "3 · CT · Axial 5mm".
    pub label: String,
    /// Its image files, in instance-number order.
    pub images: Vec<PathBuf>,
    /// Their SOP Instance UIDs (measurements are stored against them).
    pub sop_uids: Vec<String>,
    /// The frame of each entry (a multi-frame file appears once per frame).
    pub frames: Vec<u32>,
    /// Series Description (hanging protocols match on it).
    pub description: String,
    /// Modality.
    pub modality: String,
    /// Body Part Examined.
    pub body_part: String,
    /// The plane of its first image (from Image Orientation), if it says.
    pub plane: Option<crate::viewing::hanging::Plane>,
}

/// What the worker is asked.
enum RenderRequest {
    /// The image to show, with a window (None = the file's own).
    Image {
        generation: u64,
        key: ImageKey,
        window: Option<Window>,
        /// The next images in the scroll direction, decoded into the cache afterwards.
        ahead: Vec<ImageKey>,
        /// Every image of the shown series (loaded onto the GPU in the background) and where
        /// `key` is in it.
        series: Arc<[ImageKey]>,
        index: usize,
        /// +1 scrolling down the stack, -1 up: the background load goes that way first.
        direction: i64,
        /// The user's Invert (drawn by the render thread, on the GPU where there is one).
        invert: bool,
    },
    /// The pixels of the image last drawn (Export PNG, tests): an image shown straight from
    /// the GPU has none on the CPU until asked.
    ReadBack { generation: u64 },
    /// This viewport's share of the viewer's image memory changed (more or fewer viewports).
    Budget { bytes: usize },
    /// A series' first image, small.
    Thumbnail { series: String, path: PathBuf },
}

/// Where a drawn image is: pixels on the CPU (to upload as a texture), or already in a texture
/// egui shows (the window's GPU drew it).
enum ShownPixels {
    Cpu(RenderedImage),
    OnScreen {
        texture: egui::TextureId,
        columns: u32,
        rows: u32,
    },
}

/// A rendered image and what the overlay says about it.
struct Shown {
    image: ShownPixels,
    window: Option<Window>,
    spacing: String,
    /// The file's calibration (Pixel Spacing or what stands in for it).
    calibration: Calibration,
    /// Modality values (HU on CT) for ROI statistics; None for colour images.
    values: Option<Arc<ModalityValues>>,
    /// The image's modality (which window presets apply).
    modality: String,
    /// Image Orientation (Patient), for the orientation markers.
    orientation: Option<[f64; 6]>,
    /// Where the slice is ("z 12.5 mm"), for the overlay.
    position: String,
    /// The file and frame shown, and how many frames the file has (a multi-frame file is
    /// expanded into a stack when first shown).
    key: ImageKey,
    frame_count: u32,
    plane: Option<crate::imaging::geometry::ImagePlane>,
    /// The file's cine rate, if it gives one.
    frames_per_second: Option<f64>,
    /// Overlay planes (60xx) to draw over the image, 255 where set.
    overlay_mask: Option<Arc<Vec<u8>>>,
}

enum RenderAnswer {
    Image {
        generation: u64,
        result: Result<Box<Shown>, String>,
        backend: String,
        /// Bytes the render thread's frame cache holds.
        cache_bytes: usize,
    },
    Thumbnail {
        series: String,
        result: Result<RenderedImage, String>,
    },
    /// The modality values of an image shown from the GPU before its pixels were decoded on
    /// the CPU (ROI statistics need them; scrolling does not wait for them).
    Values {
        generation: u64,
        values: Option<Arc<ModalityValues>>,
    },
    /// The pixels asked for by a read back.
    Pixels {
        generation: u64,
        result: Result<RenderedImage, String>,
    },
    /// How far the background load of the series onto the GPU is.
    SeriesLoad {
        loaded: usize,
        total: usize,
        /// Where each slice loaded so far lies (synchronised scrolling by slice position).
        places: Arc<[Option<ImagePlane>]>,
        /// Bytes the series holds on the GPU.
        gpu_bytes: usize,
        cache_bytes: usize,
    },
}

/// The render thread: owns the GPU device and the frame on it.
struct RenderWorker {
    /// None only while dropping (the thread sees the channel close and stops).
    requests: Option<SyncSender<RenderRequest>>,
    answers: Receiver<RenderAnswer>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RenderWorker {
    /// Stops the render thread and waits for it (at most one batch of the background load):
    /// a thread still drawing while the process exits can crash in the GPU driver's teardown.
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the viewer's render thread panicked");
        }
    }
}

impl RenderWorker {
    fn start(
        wake: egui::Context,
        budget_bytes: usize,
        screen: Option<egui_wgpu::RenderState>,
    ) -> Option<RenderWorker> {
        let (request_tx, request_rx) = mpsc::sync_channel::<RenderRequest>(REQUEST_QUEUE);
        let (answer_tx, answer_rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("viewer-render".into())
            .spawn(move || render_loop(request_rx, answer_tx, wake, budget_bytes, screen));
        match spawned {
            Ok(thread) => Some(RenderWorker {
                requests: Some(request_tx),
                answers: answer_rx,
                thread: Some(thread),
            }),
            Err(e) => {
                tracing::error!(error = %e, "the viewer's render thread could not start");
                None
            }
        }
    }
}

/// What display and measurement say about one image, without its pixels: kept for every
/// slice of a series on the GPU, whose pixels then live only there.
#[derive(Clone)]
struct SliceFacts {
    /// Frames in the file (a multi-frame file becomes a stack).
    frame_count: u32,
    /// Where the image lies in the patient (reference lines).
    plane: Option<crate::imaging::geometry::ImagePlane>,
    file_window: Option<Window>,
    spacing: String,
    calibration: Calibration,
    modality: String,
    orientation: Option<[f64; 6]>,
    position: String,
    /// A greyscale image (ROI statistics have modality values to read).
    modality_values_exist: bool,
    /// The rate a multi-frame file asks to be played at (cine).
    frames_per_second: Option<f64>,
    /// Its size.
    columns: u32,
    rows: u32,
    /// The frame's overlay planes (60xx), 255 where set, drawn over the image.
    overlay_mask: Option<Arc<Vec<u8>>>,
}

/// One image decoded with what display and measurement need (kept in the frame cache).
struct Decoded {
    facts: SliceFacts,
    values: Option<Arc<ModalityValues>>,
    frame: imaging::DecodedFrame,
}

impl Decoded {
    /// Bytes it holds (stored values and modality values), for the cache budget.
    fn bytes(&self) -> usize {
        let pixels = self.frame.rows as usize * self.frame.columns as usize;
        pixels * (4 + if self.values.is_some() { 8 } else { 0 }) + 1024
    }
}

/// One image of a stack: a file and a frame of it (0 for single-frame files).
type ImageKey = (PathBuf, u32);

/// Decodes one frame of a file with its display and measurement facts (and its modality
/// values when `with_values`: the series load onto the GPU does without them).
fn decode((path, index): &ImageKey, with_values: bool) -> Result<Decoded, String> {
    let file = ImageFile::open(path).map_err(|e| e.to_string())?;
    let frame_count = file.number_of_frames();
    let frame = file.frame(*index).map_err(|e| e.to_string())?;
    let file_window = match imaging::chosen_voi(&frame, &RenderOptions::default()) {
        Some(imaging::grey::Voi::Window(w, _)) => Some(w),
        Some(imaging::grey::Voi::Table(_)) => match &frame.content {
            imaging::FrameContent::Grey { stored, pipeline } => Some(pipeline.range_window(stored)),
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
        imaging::header::slice_geometry(file.object(), frame.spacing, frame.columns, frame.rows);
    let (modality, position, orientation, plane) = (
        geometry.modality,
        geometry.position,
        geometry.orientation,
        geometry.plane,
    );
    let grey = matches!(frame.content, imaging::FrameContent::Grey { .. });
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
            overlay_mask: imaging::overlay_mask(&frame).map(Arc::new),
        },
        values,
        frame,
    })
}

/// The frame on the GPU (or decoded for the CPU path), kept for window changes.
struct Resident {
    key: ImageKey,
    decoded: Arc<Decoded>,
    gpu: Option<GpuFrame>,
    /// The uniform as uploaded (the file's own VOI), to go back to after a user window.
    file_params: Option<crate::imaging::gpu::GpuParams>,
}

/// The render thread's decoded-frame cache.
type Cache = crate::imaging::frame_cache::FrameCache<ImageKey, Decoded>;

fn cached(cache: &mut Cache, key: &ImageKey) -> Result<Arc<Decoded>, String> {
    if let Some(d) = cache.get(key) {
        return Ok(d);
    }
    let decoded = decode(key, true)?;
    let bytes = decoded.bytes();
    Ok(cache.insert(key.clone(), decoded, bytes))
}

/// The shown series as it loads onto the GPU in the background: every slice decoded once,
/// uploaded into a texture-array layer, and only its facts kept on the CPU.
struct SeriesOnGpu {
    keys: Arc<[ImageKey]>,
    /// None until the first slice says its size (or when the series cannot go on the GPU).
    gpu: Option<GpuSeries>,
    facts: Vec<Option<Arc<SliceFacts>>>,
    /// Slices tried (loaded, refused or unreadable): the load never retries them.
    tried: Vec<bool>,
    /// Where the user is and which way they scroll: the load starts there.
    position: usize,
    direction: i64,
    /// The series cannot go on the GPU (no adapter, over the memory budget).
    abandoned: bool,
}

/// Slices loaded between two progress reports to the window.
const LOAD_REPORT_EVERY: usize = 32;
/// Slices decoded together (on every core) between two looks at the request queue.
const LOAD_BATCH: usize = 8;

impl SeriesOnGpu {
    fn new(keys: Arc<[ImageKey]>) -> SeriesOnGpu {
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
    fn next_to_load(&self) -> Option<usize> {
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
    fn load_batch(&mut self, renderer: &GpuRenderer, budget_bytes: usize) -> usize {
        let mut batch = Vec::new();
        while batch.len() < LOAD_BATCH {
            let Some(index) = self.next_to_load() else {
                break;
            };
            self.tried[index] = true;
            batch.push(index);
        }
        let keys: Vec<ImageKey> = batch.iter().map(|i| self.keys[*i].clone()).collect();
        let decoded = imaging::decode_in_parallel(&keys, |k| decode(k, false));
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
    fn load(
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
            let colour = matches!(decoded.frame.content, imaging::FrameContent::Colour { .. });
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

    fn report(&self, cache_bytes: usize) -> RenderAnswer {
        RenderAnswer::SeriesLoad {
            loaded: self.gpu.as_ref().map_or(0, GpuSeries::loaded),
            total: self.keys.len(),
            places: self
                .facts
                .iter()
                .map(|f| f.as_ref().and_then(|f| f.plane.clone()))
                .collect(),
            gpu_bytes: self.gpu.as_ref().map_or(0, GpuSeries::bytes),
            cache_bytes,
        }
    }
}

/// The window's GPU, when the viewer draws on it: the pane's one egui texture, pointed at
/// whichever target the render thread draws into.
struct OnScreen {
    renderer: Arc<egui::mutex::RwLock<egui_wgpu::Renderer>>,
    device: wgpu::Device,
    /// The texture egui shows and the target it points at now.
    texture: Option<(egui::TextureId, u64)>,
}

impl OnScreen {
    /// The egui texture showing target `target_id` (registered once, re-pointed when the
    /// target changes: the id the window paints stays the same).
    fn texture_for(
        &mut self,
        target_id: u64,
        view: impl FnOnce() -> wgpu::TextureView,
    ) -> egui::TextureId {
        match self.texture {
            Some((id, shown)) if shown == target_id => id,
            Some((id, _)) => {
                self.renderer.write().update_egui_texture_from_wgpu_texture(
                    &self.device,
                    &view(),
                    wgpu::FilterMode::Linear,
                    id,
                );
                self.texture = Some((id, target_id));
                id
            }
            None => {
                let id = self.renderer.write().register_native_texture(
                    &self.device,
                    &view(),
                    wgpu::FilterMode::Linear,
                );
                self.texture = Some((id, target_id));
                id
            }
        }
    }
}

impl Drop for OnScreen {
    fn drop(&mut self) {
        if let Some((id, _)) = self.texture {
            self.renderer.write().free_texture(&id);
        }
    }
}

/// Which target holds the image last drawn (what a read back reads).
#[derive(Clone, Copy, PartialEq, Eq)]
enum LastDrawn {
    Nothing,
    Series,
    Frame,
    /// Drawn on the CPU: the pixels went with the answer.
    Cpu,
}

fn render_loop(
    requests: Receiver<RenderRequest>,
    answers: mpsc::Sender<RenderAnswer>,
    wake: egui::Context,
    mut budget_bytes: usize,
    screen: Option<egui_wgpu::RenderState>,
) {
    // On the window's device where there is one (images go straight to the screen), else on a
    // device of our own (read back, uploaded by egui), else on the CPU.
    let (gpu, mut on_screen) = match screen {
        Some(state) => (
            Some(GpuRenderer::on_device(
                state.device.clone(),
                state.queue.clone(),
                state.adapter.get_info().name,
            )),
            Some(OnScreen {
                renderer: state.renderer.clone(),
                device: state.device.clone(),
                texture: None,
            }),
        ),
        None => match GpuRenderer::new() {
            Ok(g) => (Some(g), None),
            Err(e) => {
                tracing::warn!(error = %e, "no GPU adapter; the viewer renders on the CPU");
                (None, None)
            }
        },
    };
    let mut last_drawn = LastDrawn::Nothing;
    let backend = gpu
        .as_ref()
        .map(|g| format!("GPU: {}", g.adapter_name))
        .unwrap_or_else(|| "CPU".into());
    let mut resident: Option<Resident> = None;
    let mut series: Option<SeriesOnGpu> = None;
    let mut cache = Cache::new(budget_bytes);
    // Requests taken off the channel while prefetching, handled before waiting again.
    let mut pending: std::collections::VecDeque<RenderRequest> = std::collections::VecDeque::new();
    // An image shown from the GPU whose modality values are still to decode.
    let mut values_wanted: Option<(u64, ImageKey)> = None;
    loop {
        // Wait for work only when there is nothing to load in the background.
        let loading = gpu.is_some()
            && values_wanted.is_none()
            && series.as_ref().is_some_and(|s| s.next_to_load().is_some());
        let first = match pending.pop_front() {
            Some(r) => Some(r),
            None if loading || values_wanted.is_some() => match requests.try_recv() {
                Ok(r) => Some(r),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => return,
            },
            None => match requests.recv() {
                Ok(r) => Some(r),
                Err(_) => return,
            },
        };
        let mut prefetch = Vec::new();
        if let Some(first) = first {
            // Take everything waiting: thumbnails and read backs in order, only the newest image.
            let mut image = None;
            let mut thumbnails = Vec::new();
            let waiting: Vec<RenderRequest> =
                pending.drain(..).chain(requests.try_iter()).collect();
            for request in std::iter::once(first).chain(waiting) {
                match request {
                    RenderRequest::Image { .. } => image = Some(request),
                    t => thumbnails.push(t),
                }
            }
            if let Some(RenderRequest::Image {
                generation,
                key,
                window,
                ahead,
                series: keys,
                index,
                direction,
                invert,
            }) = image
            {
                if series.as_ref().is_none_or(|s| s.keys != keys) {
                    series = Some(SeriesOnGpu::new(keys));
                }
                if let Some(s) = series.as_mut() {
                    s.position = index;
                    s.direction = direction;
                }
                let result = match (gpu.as_ref(), series.as_mut()) {
                    (Some(g), Some(s)) if s.keys.get(index) == Some(&key) => from_series(
                        g,
                        s,
                        index,
                        &mut cache,
                        (window, invert),
                        on_screen.as_mut(),
                    ),
                    _ => None,
                };
                if matches!(result, Some(Ok(_))) {
                    last_drawn = LastDrawn::Series;
                }
                let result = match result {
                    Some(Ok((shown, values_missing))) => {
                        values_wanted = values_missing.then(|| (generation, key.clone()));
                        Ok(shown)
                    }
                    Some(Err(e)) => Err(e),
                    None => {
                        values_wanted = None;
                        let shown = render_image(
                            gpu.as_ref(),
                            &mut resident,
                            &mut cache,
                            key,
                            (window, invert),
                            on_screen.as_mut(),
                        );
                        last_drawn = match &shown {
                            Ok(Shown {
                                image: ShownPixels::Cpu(_),
                                ..
                            }) => LastDrawn::Cpu,
                            Ok(_) => LastDrawn::Frame,
                            Err(_) => last_drawn,
                        };
                        shown
                    }
                };
                let _ = answers.send(RenderAnswer::Image {
                    generation,
                    result: result.map(Box::new),
                    backend: backend.clone(),
                    cache_bytes: cache.used_bytes(),
                });
                wake.request_repaint();
                prefetch = ahead;
            }
            for t in thumbnails {
                if let RenderRequest::Budget { bytes } = t {
                    budget_bytes = bytes;
                    cache.set_budget(bytes);
                    // A series on the GPU over the new share leaves it (frame by frame).
                    if let Some(s) = series.as_mut()
                        && s.gpu.as_ref().is_some_and(|g| g.bytes() > bytes)
                    {
                        s.gpu = None;
                        s.facts.iter_mut().for_each(|f| *f = None);
                        s.abandoned = true;
                        last_drawn = LastDrawn::Nothing;
                        let _ = answers.send(s.report(cache.used_bytes()));
                    }
                    continue;
                }
                if let RenderRequest::ReadBack { generation } = t {
                    let result = read_back(gpu.as_ref(), last_drawn, series.as_ref(), &resident);
                    let _ = answers.send(RenderAnswer::Pixels { generation, result });
                    wake.request_repaint();
                    continue;
                }
                if let RenderRequest::Thumbnail { series, path } = t {
                    let result = ImageFile::open(&path)
                        .and_then(|f| f.frame(0))
                        .map(|frame| {
                            shrink(
                                &imaging::render_cpu(&frame, &RenderOptions::default()),
                                THUMBNAIL_PX,
                            )
                        })
                        .map_err(|e| e.to_string());
                    let _ = answers.send(RenderAnswer::Thumbnail { series, result });
                    wake.request_repaint();
                }
            }
        }
        // The values of the image on screen come first: a measurement may be waiting.
        if let Some((generation, key)) = values_wanted.take() {
            let values = cached(&mut cache, &key).ok().and_then(|d| d.values.clone());
            let _ = answers.send(RenderAnswer::Values { generation, values });
            wake.request_repaint();
            continue;
        }
        // Decode ahead of the scroll while nothing else is asked (slices not on the GPU).
        for key in prefetch {
            match requests.try_recv() {
                Ok(next) => {
                    pending.push_back(next);
                    break;
                }
                Err(mpsc::TryRecvError::Disconnected) => return,
                Err(mpsc::TryRecvError::Empty) => {}
            }
            let on_gpu = series.as_ref().is_some_and(|s| {
                s.gpu.as_ref().is_some_and(|g| {
                    s.keys
                        .iter()
                        .position(|k| *k == key)
                        .is_some_and(|i| g.is_loaded(i))
                })
            });
            if !on_gpu
                && !cache.contains(&key)
                && let Err(e) = cached(&mut cache, &key)
            {
                tracing::debug!(error = %e, "prefetch skipped an image");
            }
        }
        // Then the rest of the series onto the GPU, a slice at a time, yielding to requests.
        if let (Some(g), Some(s)) = (gpu.as_ref(), series.as_mut()) {
            let mut since_report = 0;
            while pending.is_empty() {
                let tried = s.load_batch(g, budget_bytes);
                if tried == 0 {
                    break;
                }
                since_report += tried;
                if since_report >= LOAD_REPORT_EVERY || s.next_to_load().is_none() {
                    let _ = answers.send(s.report(cache.used_bytes()));
                    wake.request_repaint();
                    since_report = 0;
                }
                match requests.try_recv() {
                    Ok(next) => pending.push_back(next),
                    // The pane is gone: stop loading its series.
                    Err(mpsc::TryRecvError::Disconnected) => return,
                    Err(mpsc::TryRecvError::Empty) => {}
                }
            }
            if since_report > 0 {
                let _ = answers.send(s.report(cache.used_bytes()));
                wake.request_repaint();
            }
        }
    }
}

/// Draws slice `index` of the series from the GPU if it is there: the shown image and whether
/// its modality values still need decoding. None when the slice is not on the GPU.
fn from_series(
    g: &GpuRenderer,
    s: &mut SeriesOnGpu,
    index: usize,
    cache: &mut Cache,
    (window, invert): (Option<Window>, bool),
    on_screen: Option<&mut OnScreen>,
) -> Option<Result<(Shown, bool), String>> {
    let facts = s.facts.get(index)?.clone()?;
    let key = s.keys.get(index)?.clone();
    let gpu = s.gpu.as_mut().filter(|gpu| gpu.is_loaded(index))?;
    gpu.set_user_invert(invert);
    let voi = window.map(|w| (w, imaging::grey::VoiFunction::Linear));
    let image = match on_screen {
        Some(screen) => match gpu.draw_on_gpu(g, index, voi) {
            Ok(()) => ShownPixels::OnScreen {
                texture: screen.texture_for(gpu.target_id(), || gpu.display_view()),
                columns: facts.columns,
                rows: facts.rows,
            },
            Err(e) => return Some(Err(e.to_string())),
        },
        None => match gpu.draw(g, index, voi) {
            Ok(image) => ShownPixels::Cpu(image),
            Err(e) => return Some(Err(e.to_string())),
        },
    };
    let values = cache.get(&key).and_then(|d| d.values.clone());
    let values_missing = values.is_none() && facts.modality_values_exist;
    Some(Ok((
        shown(image, window, &facts, values, key),
        values_missing,
    )))
}

/// Reads back the image last drawn on the GPU (Export PNG, tests).
fn read_back(
    gpu: Option<&GpuRenderer>,
    last_drawn: LastDrawn,
    series: Option<&SeriesOnGpu>,
    resident: &Option<Resident>,
) -> Result<RenderedImage, String> {
    let g = gpu.ok_or("no GPU drew the image")?;
    match last_drawn {
        LastDrawn::Series => series
            .and_then(|s| s.gpu.as_ref())
            .ok_or("the series is no longer on the GPU")?
            .read_back(g)
            .map_err(|e| e.to_string()),
        LastDrawn::Frame => resident
            .as_ref()
            .and_then(|r| r.gpu.as_ref())
            .map(|f| g.read_back(f))
            .ok_or("the image is no longer on the GPU")?
            .map_err(|e| e.to_string()),
        LastDrawn::Cpu | LastDrawn::Nothing => Err("nothing drawn on the GPU".into()),
    }
}

/// The answer for one image: the pixels and what the overlay and measurements need.
fn shown(
    image: ShownPixels,
    window: Option<Window>,
    facts: &SliceFacts,
    values: Option<Arc<ModalityValues>>,
    key: ImageKey,
) -> Shown {
    Shown {
        image,
        window: window.or(facts.file_window),
        spacing: facts.spacing.clone(),
        calibration: facts.calibration,
        values,
        modality: facts.modality.clone(),
        orientation: facts.orientation,
        position: facts.position.clone(),
        key,
        frame_count: facts.frame_count,
        plane: facts.plane.clone(),
        frames_per_second: facts.frames_per_second,
        overlay_mask: facts.overlay_mask.clone(),
    }
}

fn render_image(
    gpu: Option<&GpuRenderer>,
    resident: &mut Option<Resident>,
    cache: &mut Cache,
    key: ImageKey,
    (window, invert): (Option<Window>, bool),
    on_screen: Option<&mut OnScreen>,
) -> Result<Shown, String> {
    if resident.as_ref().is_none_or(|r| r.key != key) {
        let decoded = cached(cache, &key)?;
        let uploaded = match gpu {
            Some(g) => match g.upload(&decoded.frame, &RenderOptions::default()) {
                Ok(f) => Some(f),
                Err(e) => {
                    tracing::warn!(error = %e, "this frame renders on the CPU");
                    None
                }
            },
            None => None,
        };
        *resident = Some(Resident {
            key,
            decoded,
            file_params: uploaded.as_ref().map(|f| f.params),
            gpu: uploaded,
        });
    }
    let Some(r) = resident.as_mut() else {
        return Err("nothing to show".into());
    };
    let d = r.decoded.clone();
    let image = match (&mut r.gpu, gpu) {
        (Some(frame), Some(g)) => {
            match (window, r.file_params) {
                (Some(w), _) => g.set_window(frame, w, imaging::grey::VoiFunction::Linear),
                (None, Some(params)) => g.restore_params(frame, params),
                (None, None) => {}
            }
            // The file's own inversion (MONOCHROME1), turned over again by the user's.
            let file_invert = r.file_params.is_some_and(|p| p.invert == 1);
            g.set_invert(frame, file_invert != invert);
            match on_screen {
                Some(screen) => {
                    g.draw_on_gpu(frame);
                    ShownPixels::OnScreen {
                        texture: screen.texture_for(frame.target_id(), || frame.display_view()),
                        columns: d.frame.columns,
                        rows: d.frame.rows,
                    }
                }
                None => ShownPixels::Cpu(g.draw(frame).map_err(|e| e.to_string())?),
            }
        }
        _ => {
            let mut image = imaging::render_cpu(
                &d.frame,
                &RenderOptions {
                    window,
                    overlays: false,
                },
            );
            if invert {
                image.pixels.iter_mut().for_each(|v| *v = 255 - *v);
            }
            ShownPixels::Cpu(image)
        }
    };
    Ok(shown(
        image,
        window,
        &d.facts,
        d.values.clone(),
        r.key.clone(),
    ))
}

/// The viewer's image memory as the practice set it (MiB).
pub(super) fn viewer_memory_mib(practice: &Practice) -> usize {
    practice.viewer_memory_mib()
}

/// Bytes in mebibytes, for the status corner.
fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}

/// Nearest-neighbour shrink so the long side is at most `max_px`.
fn shrink(image: &RenderedImage, max_px: u32) -> RenderedImage {
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

fn colour_image(image: &RenderedImage) -> egui::ColorImage {
    let size = [image.columns as usize, image.rows as usize];
    if image.channels == 3 {
        egui::ColorImage::from_rgb(size, &image.pixels)
    } else {
        egui::ColorImage::from_gray(size, &image.pixels)
    }
}

/// The texture the shown image is painted from.
enum ShownTexture {
    /// Uploaded by egui from pixels read back (or drawn on the CPU).
    Uploaded(egui::TextureHandle),
    /// The render thread's target on the window's GPU.
    OnGpu(egui::TextureId),
}

impl ShownTexture {
    fn id(&self) -> egui::TextureId {
        match self {
            ShownTexture::Uploaded(t) => t.id(),
            ShownTexture::OnGpu(id) => *id,
        }
    }
}

/// An import running in the background.
struct ImportJob {
    started: Instant,
    total_files: usize,
    progress: Receiver<ImportProgress>,
    done_files: usize,
    summary: Option<lightbox_domain::archive::ImportSummary>,
}

enum ImportProgress {
    File(usize),
    Finished(lightbox_domain::archive::ImportSummary),
}

/// What the user finished drawing.
enum Drawn {
    /// A measurement or annotation.
    Shape(Shape),
    /// A line of known length for a manual calibration.
    Calibration(ImagePoint, ImagePoint),
}

/// What a left-drag or click on the image does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    /// Pan (left-drag); right-drag windows in every tool.
    #[default]
    Navigate,
    /// A distance (drag).
    Length,
    /// An angle (three clicks: end, vertex, end).
    Angle,
    /// A Cobb angle (four clicks: two lines).
    Cobb,
    /// An ellipse ROI (drag a bounding box).
    Ellipse,
    /// A rectangle ROI (drag).
    Rectangle,
    /// A pixel value (click).
    Point,
    /// An arrow (drag from tail to head).
    Arrow,
    /// A text label (click; the text from the toolbar).
    Text,
    /// Calibrate against a known length (drag along it).
    Calibrate,
}

impl Tool {
    const ALL: [Tool; 10] = [
        Tool::Navigate,
        Tool::Length,
        Tool::Angle,
        Tool::Cobb,
        Tool::Ellipse,
        Tool::Rectangle,
        Tool::Point,
        Tool::Arrow,
        Tool::Text,
        Tool::Calibrate,
    ];

    fn title(self) -> &'static str {
        match self {
            Tool::Navigate => "Pan",
            Tool::Length => "Length",
            Tool::Angle => "Angle",
            Tool::Cobb => "Cobb",
            Tool::Ellipse => "Ellipse",
            Tool::Rectangle => "Rectangle",
            Tool::Point => "Value",
            Tool::Arrow => "Arrow",
            Tool::Text => "Label",
            Tool::Calibrate => "Calibrate",
        }
    }

    /// Clicks a shape of this tool takes (0: drawn by dragging).
    fn clicks(self) -> usize {
        match self {
            Tool::Angle => 3,
            Tool::Cobb => 4,
            Tool::Point | Tool::Text => 1,
            _ => 0,
        }
    }
}

/// One viewport: a study's series, the image shown with its window, zoom and turn, its
/// measurements, and the render thread that draws it. The Viewer screen lays panes out as the
/// hanging protocol says.
#[derive(Default)]
pub struct Pane {
    archive_root: Option<PathBuf>,
    study_uid: Option<String>,
    title: String,
    series: Vec<ViewerSeries>,
    series_index: usize,
    image_index: usize,
    worker: Option<RenderWorker>,
    generation: u64,
    shown: Option<(u64, ShownTexture, [usize; 2])>,
    shown_window: Option<Window>,
    window: Option<Window>,
    spacing: String,
    backend: String,
    zoom: Option<f32>,
    pan: egui::Vec2,
    thumbnails: HashMap<String, egui::TextureHandle>,
    requested_thumbnails: bool,
    needs_render: bool,
    /// The running services (imports, archiving marks).
    services: Option<Arc<dyn WindowServices>>,
    import: Option<ImportJob>,
    picked: Option<Receiver<Vec<PathBuf>>>,
    import_path: String,
    message: Option<(bool, String)>,
    /// The exam opened from the worklist and its relevant priors (most relevant first).
    priors: Option<(String, Vec<crate::records::reports::ArchivedStudy>)>,
    tool: Tool,
    /// Points of the shape being drawn (click tools), or the drag start.
    drawing: Vec<ImagePoint>,
    /// The study's stored measurements and annotations.
    annotations: Vec<crate::viewing::Annotation>,
    /// The shown image's calibration from its file.
    calibration: Calibration,
    /// Manual calibrations made this session, per image (SOP Instance UID).
    manual: HashMap<String, Calibration>,
    values: Option<Arc<ModalityValues>>,
    /// The request generation `values` (and `calibration`) belong to: a stale answer's values
    /// never measure the image now on screen.
    values_generation: u64,
    label_text: String,
    known_mm: String,
    /// Where the image is on screen (tests aim at it).
    image_rect: Option<egui::Rect>,
    /// Quarter turns clockwise, mirrored, inverted greys.
    quarter_turns: u8,
    flipped: bool,
    inverted: bool,
    /// The pixels of an image drawn (PNG export, tests) and the request they answer: with
    /// each answer when drawn on the CPU or read back, on request when shown from the GPU.
    last_image: Option<(u64, Arc<RenderedImage>)>,
    /// Export PNG waits for a read back of the shown image.
    export_pending: bool,
    /// The read back arrived: export on the next frame (with the store at hand).
    export_wanted: bool,
    /// The shown image's modality.
    modality: String,
    /// The study's key images: (SOP Instance UID, frame).
    key_images: Vec<(String, u32)>,
    /// Text for the exam's report, waiting for the shell: (study UID, text).
    report_insert: Option<(String, String)>,
    /// The current image's attributes, when the tag browser is open.
    tags: Option<Vec<(String, String, String)>>,
    orientation: Option<[f64; 6]>,
    slice_position: String,
    /// Corner text and orientation markers hidden.
    overlays_hidden: bool,
    /// The shown image's overlay planes (60xx), as a texture drawn over it.
    overlay_planes: Option<egui::TextureHandle>,
    /// Overlay planes hidden (they are shown by default, as dcmtk and other viewers do).
    planes_hidden: bool,
    /// The corner overlay's fields as the practice set them (read when a study opens; None:
    /// all of them).
    overlay_fields: Option<Vec<crate::viewing::overlay::OverlayField>>,
    /// The zoom the image was last drawn at (the overlay says it).
    drawn_zoom: f32,
    /// The magnifier follows the pointer over the image.
    magnifier: bool,
    /// Window presets for the shown modality, read when the modality changes (not every frame).
    presets: Option<(String, Vec<(String, Window)>)>,
    /// Where the shown image lies in the patient.
    plane: Option<crate::imaging::geometry::ImagePlane>,
    /// +1 scrolling down the stack, -1 up (where to prefetch).
    scroll_direction: i64,
    /// Bytes the render thread's frame cache holds (shown, and reported by tests).
    cache_bytes: usize,
    /// This viewport's share of the viewer's image memory (None: the whole, a lone viewport).
    memory_share: Option<usize>,
    /// The shown series' images, as last sent to the render thread: (Series Instance UID,
    /// list). Keyed by the UID, not the position: a prior opened in this pane may have as many
    /// images at the same position.
    series_keys: Option<(String, Arc<[ImageKey]>)>,
    /// The series' background load onto the GPU: slices loaded, slices, GPU bytes.
    series_load: (usize, usize, usize),
    /// Where each slice of the shown series lies, as far as loaded.
    slice_places: Option<Arc<[Option<ImagePlane>]>>,
    /// Cine: frames per second while playing.
    cine_fps: Option<f32>,
    /// The shown file's own cine rate (ultrasound clips), which cine starts at.
    file_fps: Option<f32>,
    cine_last: Option<std::time::Instant>,
}

impl Pane {
    /// The running services: imports go through the archive's ingest (the C-STORE path).
    pub fn set_services(&mut self, services: Arc<dyn WindowServices>) {
        self.services = Some(services);
    }

    fn archive_running(&self) -> bool {
        self.services.as_ref().is_some_and(|s| s.archive_running())
    }

    /// Lists `priors` of the exam `current` beside its series, to open with one click.
    pub fn set_priors(
        &mut self,
        current: &str,
        priors: Vec<crate::records::reports::ArchivedStudy>,
    ) {
        self.priors = Some((current.to_string(), priors));
    }

    /// No priors list (a study opened from the archive, not from an exam).
    pub fn clear_priors(&mut self) {
        self.priors = None;
    }

    /// The priors listed (tests).
    pub fn priors(&self) -> Vec<String> {
        self.priors
            .as_ref()
            .map(|(_, p)| p.iter().map(|s| s.study_uid.clone()).collect())
            .unwrap_or_default()
    }

    /// The study shown.
    pub fn study_uid(&self) -> Option<&str> {
        self.study_uid.as_deref()
    }

    /// The series of the open study.
    pub fn series(&self) -> &[ViewerSeries] {
        &self.series
    }

    /// (series index, image index) shown.
    pub fn position(&self) -> (usize, usize) {
        (self.series_index, self.image_index)
    }

    /// The window the shown image was drawn with.
    pub fn shown_window(&self) -> Option<Window> {
        self.shown_window
    }

    /// The size of the image on screen, once drawn.
    pub fn shown_size(&self) -> Option<[usize; 2]> {
        self.shown
            .as_ref()
            .filter(|s| s.0 == self.generation)
            .map(|s| s.2)
    }

    /// Shows a notice under the toolbar (the shell's answer to "Insert into report").
    pub fn say(&mut self, text: &str) {
        self.message = Some((!text.starts_with("Not"), text.to_string()));
    }

    /// Text the radiologist asked to put into the exam's report, once: (study UID, text).
    pub fn take_report_insert(&mut self) -> Option<(String, String)> {
        self.report_insert.take()
    }

    /// The study's key images (tests).
    pub fn key_images(&self) -> &[(String, u32)] {
        &self.key_images
    }

    /// The pixels last rendered for the current request (tests compare them; after
    /// [`Pane::read_back`] when the image was shown from the GPU).
    pub fn shown_pixels(&self) -> Option<&[u8]> {
        self.shown_size()?;
        self.last_image
            .as_ref()
            .filter(|(g, _)| *g == self.generation)
            .map(|(_, i)| i.pixels.as_slice())
    }

    /// Asks the render thread for the pixels of the shown image (drawn on the GPU).
    pub fn read_back(&mut self) {
        let generation = self.generation;
        self.send(RenderRequest::ReadBack { generation });
    }

    /// Where the image is on screen, once drawn (tests aim at it).
    pub fn image_rect(&self) -> Option<egui::Rect> {
        self.image_rect
    }

    /// Series whose thumbnail is drawn.
    pub fn thumbnail_count(&self) -> usize {
        self.thumbnails.len()
    }

    /// Whether an import is running.
    pub fn importing(&self) -> bool {
        self.import.as_ref().is_some_and(|j| j.summary.is_none())
    }

    /// Opens a study: its series by series number, images by instance number.
    pub fn open(&mut self, practice: &Practice, study_uid: &str) {
        self.overlay_fields = Some(practice.overlay_fields());
        let root = practice.archive().root().to_path_buf();
        let rows = practice.study_images(study_uid);
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, study = study_uid, "a study could not be opened");
                self.message = Some((false, "The study could not be read; try again.".into()));
                return;
            }
        };
        // (series number, series, (instance number, file)) while grouping.
        type Grouping = (i64, ViewerSeries, Vec<(i64, PathBuf, String)>);
        let mut series: Vec<Grouping> = Vec::new();
        for row in &rows {
            let Ok(path) = safe_join(&root, &row.file_path) else {
                continue;
            };
            let number = |s: &str| s.trim().parse::<i64>().unwrap_or(i64::MAX);
            let at = match series.iter().position(|s| s.1.uid == row.series_uid) {
                Some(i) => i,
                None => {
                    series.push((
                        number(&row.series_number),
                        ViewerSeries {
                            uid: row.series_uid.clone(),
                            label: format!(
                                "{} · {} · {}",
                                row.series_number.trim(),
                                row.modality,
                                row.series_description.trim()
                            ),
                            images: Vec::new(),
                            sop_uids: Vec::new(),
                            frames: Vec::new(),
                            description: row.series_description.trim().to_string(),
                            modality: row.modality.trim().to_string(),
                            body_part: row.body_part.trim().to_string(),
                            plane: None,
                        },
                        Vec::new(),
                    ));
                    series.len() - 1
                }
            };
            series[at]
                .2
                .push((number(&row.instance_number), path, row.sop_uid.clone()));
        }
        series.sort_by_key(|s| s.0);
        self.series = series
            .into_iter()
            .map(|(_, mut s, mut images)| {
                images.sort_by_key(|i| i.0);
                s.sop_uids = images.iter().map(|i| i.2.clone()).collect();
                s.frames = vec![0; images.len()];
                s.images = images.into_iter().map(|i| i.1).collect();
                s.plane = s.images.first().and_then(|p| plane_of_file(p));
                s
            })
            .collect();
        self.title = rows
            .first()
            .map(|r| {
                format!(
                    "{} · {} · {} · {}",
                    r.patient_name.replace('^', ", "),
                    r.patient_id,
                    super::study_browser::display_date(&r.study_date),
                    r.study_description
                )
            })
            .unwrap_or_default();
        self.archive_root = Some(root);
        self.study_uid = Some(study_uid.to_string());
        self.series_index = 0;
        self.image_index = 0;
        self.scroll_direction = 1;
        self.window = None;
        self.zoom = None;
        self.pan = egui::Vec2::ZERO;
        self.thumbnails.clear();
        self.requested_thumbnails = false;
        self.needs_render = true;
        self.message = None;
        self.drawing.clear();
        self.tags = None;
        // What was measured and marked on this study before is shown again.
        self.key_images = practice.key_images(study_uid).unwrap_or_default();
        self.annotations = practice.annotations(study_uid).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the study's measurements could not be read");
            Vec::new()
        });
        tracing::info!(
            study = study_uid,
            series = self.series.len(),
            "study opened in the viewer"
        );
    }

    fn send(&mut self, request: RenderRequest) {
        let Some(worker) = &self.worker else {
            return;
        };
        let Some(requests) = &worker.requests else {
            return;
        };
        match requests.try_send(request) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("the viewer's render thread stopped");
                self.worker = None;
                self.message = Some((
                    false,
                    "The viewer stopped drawing images; close and reopen the study.".into(),
                ));
            }
        }
    }

    fn request_render(&mut self) {
        let Some(key) = self.key_at(self.image_index) else {
            return;
        };
        self.generation += 1;
        // The next images in the direction of the last scroll, for the cache.
        let ahead = (1..=PREFETCH_IMAGES as i64)
            .filter_map(|k| {
                let i = self.image_index as i64 + k * self.scroll_direction;
                usize::try_from(i).ok().and_then(|i| self.key_at(i))
            })
            .collect();
        let series = self.series_keys();
        let request = RenderRequest::Image {
            generation: self.generation,
            key,
            window: self.window,
            ahead,
            series,
            index: self.image_index,
            direction: self.scroll_direction,
            invert: self.inverted,
        };
        self.send(request);
    }

    /// Every image of the shown series (built again only when the series or its length
    /// changes, e.g. a multi-frame file expanded into its frames).
    fn series_keys(&mut self) -> Arc<[ImageKey]> {
        let (uid, count) = self
            .series
            .get(self.series_index)
            .map_or((String::new(), 0), |s| (s.uid.clone(), s.images.len()));
        if let Some((shown, keys)) = &self.series_keys
            && *shown == uid
            && keys.len() == count
        {
            return keys.clone();
        }
        let keys: Arc<[ImageKey]> = (0..count).filter_map(|i| self.key_at(i)).collect();
        self.series_keys = Some((uid, keys.clone()));
        self.series_load = (0, count, 0);
        self.slice_places = None;
        keys
    }

    /// Memory the viewer holds for this pane: decoded frames on the CPU and the series on the
    /// GPU, in bytes.
    pub fn memory_bytes(&self) -> (usize, usize) {
        (self.cache_bytes, self.series_load.2)
    }

    /// The cine rate while playing (frames per second).
    pub fn cine_fps(&self) -> Option<f32> {
        self.cine_fps
    }

    /// Where slice `index` of the shown series lies, once loaded.
    pub(super) fn slice_place(&self, index: usize) -> Option<&ImagePlane> {
        self.slice_places.as_ref()?.get(index)?.as_ref()
    }

    /// Where every slice of the shown series lies, as far as loaded (empty before).
    pub(super) fn slice_places(&self) -> &[Option<ImagePlane>] {
        self.slice_places.as_deref().unwrap_or(&[])
    }

    /// Sets this viewport's share of the viewer's image memory (bytes): its decoded-frame cache
    /// and its series on the GPU each stay within it.
    pub(super) fn set_memory_share(&mut self, bytes: usize) {
        if self.memory_share != Some(bytes) {
            self.memory_share = Some(bytes);
            self.send(RenderRequest::Budget { bytes });
        }
    }

    /// This viewport's share of the viewer's image memory, once set.
    pub fn memory_share(&self) -> Option<usize> {
        self.memory_share
    }

    /// The shown series' background load onto the GPU: (slices loaded, slices).
    pub fn series_loaded(&self) -> (usize, usize) {
        (self.series_load.0, self.series_load.1)
    }

    fn take_answers(&mut self, ctx: &egui::Context) {
        let Some(worker) = &self.worker else {
            return;
        };
        let answers: Vec<RenderAnswer> = worker.answers.try_iter().collect();
        for answer in answers {
            match answer {
                RenderAnswer::Image {
                    generation,
                    result,
                    backend,
                    cache_bytes,
                } => {
                    self.backend = backend;
                    self.cache_bytes = cache_bytes;
                    match result {
                        Ok(shown) => {
                            let (texture, size) = match shown.image {
                                ShownPixels::Cpu(image) => {
                                    let size = [image.columns as usize, image.rows as usize];
                                    let texture = ctx.load_texture(
                                        "viewer-image",
                                        colour_image(&image),
                                        egui::TextureOptions::LINEAR,
                                    );
                                    self.last_image = Some((generation, Arc::new(image)));
                                    (ShownTexture::Uploaded(texture), size)
                                }
                                ShownPixels::OnScreen {
                                    texture,
                                    columns,
                                    rows,
                                } => (
                                    ShownTexture::OnGpu(texture),
                                    [columns as usize, rows as usize],
                                ),
                            };
                            self.modality = shown.modality;
                            self.orientation = shown.orientation;
                            self.expand_frames(&shown.key, shown.frame_count);
                            self.plane = shown.plane.clone();
                            self.file_fps = shown.frames_per_second.map(|f| f as f32);
                            self.slice_position = shown.position;
                            self.overlay_planes = shown.overlay_mask.map(|mask| {
                                let pixels: Vec<egui::Color32> = mask
                                    .iter()
                                    .map(|v| {
                                        if *v == 0 {
                                            egui::Color32::TRANSPARENT
                                        } else {
                                            egui::Color32::WHITE
                                        }
                                    })
                                    .collect();
                                ctx.load_texture(
                                    "viewer-overlay-planes",
                                    egui::ColorImage::new(size, pixels),
                                    egui::TextureOptions::NEAREST,
                                )
                            });
                            self.shown = Some((generation, texture, size));
                            self.shown_window = shown.window;
                            self.spacing = shown.spacing;
                            self.calibration = shown.calibration;
                            self.values = shown.values;
                            self.values_generation = generation;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "an image could not be shown");
                            self.message =
                                Some((false, format!("This image cannot be shown: {e}.")));
                        }
                    }
                }
                RenderAnswer::Pixels { generation, result } => match result {
                    Ok(image) => {
                        self.last_image = Some((generation, Arc::new(image)));
                        if self.export_pending {
                            if generation == self.generation {
                                self.export_pending = false;
                                self.export_wanted = true;
                            } else {
                                // The view changed meanwhile: export what is on screen now.
                                self.read_back();
                            }
                        }
                    }
                    // Drawn on the CPU: its pixels came with the image, which is what to save.
                    Err(_) if self.export_pending && self.shown_pixels().is_some() => {
                        self.export_pending = false;
                        self.export_wanted = true;
                    }
                    Err(e) => {
                        self.export_pending = false;
                        tracing::warn!(error = %e, "the shown image could not be read back");
                        self.message = Some((false, format!("The view cannot be saved: {e}.")));
                    }
                },
                RenderAnswer::Values { generation, values } => {
                    if generation == self.values_generation {
                        self.values = values;
                    }
                }
                RenderAnswer::SeriesLoad {
                    loaded,
                    total,
                    places,
                    gpu_bytes,
                    cache_bytes,
                } => {
                    self.series_load = (loaded, total, gpu_bytes);
                    // Only for the series still shown (a late answer for the last one is not).
                    if places.len() == self.series_keys.as_ref().map_or(0, |(_, k)| k.len()) {
                        self.slice_places = Some(places);
                    }
                    self.cache_bytes = cache_bytes;
                }
                RenderAnswer::Thumbnail { series, result } => match result {
                    Ok(image) => {
                        let texture = ctx.load_texture(
                            format!("thumb-{series}"),
                            colour_image(&image),
                            egui::TextureOptions::LINEAR,
                        );
                        self.thumbnails.insert(series, texture);
                    }
                    Err(e) => tracing::warn!(error = %e, "a thumbnail could not be drawn"),
                },
            }
        }
    }

    /// Draws the screen.
    /// Starts the render thread, takes its answers and the import's progress, and asks for
    /// what needs drawing; every frame, for every pane.
    /// `screen` is the window's GPU: the render thread draws there, and egui shows its
    /// target as is (None: a device of its own, images read back and uploaded).
    pub(super) fn tick(
        &mut self,
        ui: &mut egui::Ui,
        practice: &Practice,
        screen: Option<&egui_wgpu::RenderState>,
    ) {
        if self.worker.is_none() {
            let budget_bytes = self.memory_share.unwrap_or_else(|| {
                crate::viewing::memory_share_bytes(viewer_memory_mib(practice), 1)
            });
            self.worker = RenderWorker::start(ui.ctx().clone(), budget_bytes, screen.cloned());
        }
        self.take_answers(ui.ctx());
        self.poll_import(ui, practice);
        if !self.requested_thumbnails {
            self.requested_thumbnails = true;
            let firsts: Vec<(String, PathBuf)> = self
                .series
                .iter()
                .filter_map(|s| Some((s.uid.clone(), s.images.first()?.clone())))
                .collect();
            for (series, path) in firsts {
                self.send(RenderRequest::Thumbnail { series, path });
            }
        }
        // Cine: the image its time has come for (looping), without waiting on the render. A
        // slow frame skips images rather than slowing the clip: it plays in real time.
        if let Some(fps) = self.cine_fps {
            let now = std::time::Instant::now();
            let period_secs = 1.0 / fps.max(1.0);
            let due = match self.cine_last {
                None => 1,
                Some(t) => (now.duration_since(t).as_secs_f32() / period_secs) as usize,
            };
            if due > 0 {
                // Keep the clip's own clock, unless far behind (a hidden window): then restart.
                self.cine_last = match self.cine_last {
                    Some(t) if due < 64 => {
                        Some(t + std::time::Duration::from_secs_f32(period_secs * due as f32))
                    }
                    _ => Some(now),
                };
                let count = self
                    .series
                    .get(self.series_index)
                    .map_or(0, |s| s.images.len());
                if count > 1 {
                    self.image_index = (self.image_index + due.min(count)) % count;
                    self.needs_render = true;
                }
            }
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs_f32(1.0 / fps.max(1.0)));
        }
        if self.needs_render {
            self.needs_render = false;
            self.request_render();
        }
    }

    /// The notice under the toolbar.
    pub(super) fn message(&self) -> Option<&(bool, String)> {
        self.message.as_ref()
    }

    /// The left panel: the exam's priors and this pane's series.
    pub(super) fn show_side(&mut self, ui: &mut egui::Ui, practice: &Practice) {
        let mut open_study = None;
        if let Some((current, priors)) = &self.priors {
            ui.strong("Priors");
            if self.study_uid.as_deref() != Some(current.as_str())
                && ui.button("Back to the exam").clicked()
            {
                open_study = Some(current.clone());
            }
            if priors.is_empty() {
                ui.weak("No earlier studies of this patient.");
            }
            for p in priors {
                let shown = self.study_uid.as_deref() == Some(p.study_uid.as_str());
                let label = format!(
                    "{} {} {}",
                    super::study_browser::display_date(&p.study_date),
                    p.modalities,
                    p.description
                );
                if ui.selectable_label(shown, label).clicked() {
                    open_study = Some(p.study_uid.clone());
                }
            }
            ui.separator();
        }
        self.show_series_list(ui);
        if let Some(uid) = open_study {
            let priors = self.priors.take();
            self.open(practice, &uid);
            self.priors = priors;
        }
    }

    /// The tag browser window, when open.
    pub(super) fn show_tags_window(&mut self, ctx: &egui::Context) {
        let Some(tags) = &self.tags else {
            return;
        };
        let mut open = true;
        egui::Window::new("DICOM tags")
            .open(&mut open)
            .default_size([520.0, 480.0])
            .show(ctx, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    egui::Grid::new("tags").striped(true).show(ui, |ui| {
                        for (name, vr, value) in tags {
                            ui.label(name);
                            ui.label(vr);
                            ui.label(value);
                            ui.end_row();
                        }
                    });
                });
            });
        if !open {
            self.tags = None;
        }
    }

    /// Draws this pane's image into `ui` (a grid cell); `active` panes take the keys.
    pub(super) fn show_viewport(
        &mut self,
        ui: &mut egui::Ui,
        practice: &Practice,
        actor: &crate::access::Actor,
        active: bool,
    ) {
        if let Some(shape) = self.show_image(ui, active) {
            self.finish_shape(shape, practice, actor);
        }
    }

    pub(super) fn show_toolbar(&mut self, ui: &mut egui::Ui, practice: &Practice) {
        ui.horizontal_wrapped(|ui| {
            ui.heading("Viewer");
            ui.label(&self.title);
            ui.separator();
            if ui.button("Fit").clicked() {
                self.zoom = None;
                self.pan = egui::Vec2::ZERO;
            }
            if ui.button("1:1").clicked() {
                self.zoom = Some(1.0);
                self.pan = egui::Vec2::ZERO;
            }
            if ui.button("Reset").clicked() {
                self.zoom = None;
                self.pan = egui::Vec2::ZERO;
                self.window = None;
                self.quarter_turns = 0;
                self.flipped = false;
                self.message = None;
                self.inverted = false;
                self.needs_render = true;
            }
            if ui
                .button("Rotate")
                .on_hover_text("a quarter turn clockwise")
                .clicked()
            {
                self.quarter_turns = (self.quarter_turns + 1) % 4;
            }
            if ui
                .button("Flip")
                .on_hover_text("mirror left and right")
                .clicked()
            {
                self.flipped = !self.flipped;
            }
            if ui.selectable_label(self.inverted, "Invert").clicked() {
                self.inverted = !self.inverted;
                self.needs_render = true;
            }
            if self
                .presets
                .as_ref()
                .is_none_or(|(m, _)| *m != self.modality)
            {
                self.presets = Some((
                    self.modality.clone(),
                    practice.window_presets(&self.modality),
                ));
            }
            let presets = self
                .presets
                .as_ref()
                .map(|p| p.1.clone())
                .unwrap_or_default();
            if !presets.is_empty() {
                egui::ComboBox::from_label("Window preset")
                    .selected_text("choose")
                    .show_ui(ui, |ui| {
                        for (name, w) in &presets {
                            if ui
                                .selectable_label(
                                    false,
                                    format!("{name} ({:.0}/{:.0})", w.width, w.center),
                                )
                                .clicked()
                            {
                                self.window = Some(*w);
                                self.needs_render = true;
                            }
                        }
                    });
            }
            if ui
                .add_enabled(
                    // Also while a new view is being drawn: the read back queues behind it.
                    self.shown.is_some() && !self.export_pending,
                    egui::Button::new("Export PNG"),
                )
                .clicked()
            {
                if self.shown_pixels().is_some() {
                    self.export_png(practice);
                } else {
                    // Shown straight from the GPU: read it back first.
                    self.export_pending = true;
                    self.read_back();
                }
            }
            if std::mem::take(&mut self.export_wanted) {
                self.export_png(practice);
            }
            if ui.selectable_label(self.magnifier, "Magnifier").clicked() {
                self.magnifier = !self.magnifier;
            }
            if ui
                .selectable_label(!self.overlays_hidden, "Overlays")
                .clicked()
            {
                self.overlays_hidden = !self.overlays_hidden;
            }
            if self.overlay_planes.is_some()
                && ui
                    .selectable_label(!self.planes_hidden, "Overlay planes")
                    .on_hover_text("the image's own graphics and region planes (60xx)")
                    .clicked()
            {
                self.planes_hidden = !self.planes_hidden;
            }
            let playing = self.cine_fps.is_some();
            if ui.selectable_label(playing, "Cine").clicked() {
                // At the clip's own rate where the file gives one.
                self.cine_fps = if playing {
                    None
                } else {
                    Some(self.file_fps.unwrap_or(DEFAULT_CINE_FPS))
                };
                self.cine_last = None;
            }
            if let Some(fps) = &mut self.cine_fps {
                ui.add(egui::Slider::new(fps, 1.0..=120.0).text("frames/s"));
                if let Some(file_fps) = self.file_fps {
                    ui.label(format!("file: {file_fps:.0}/s"));
                }
            }
            ui.separator();
            let idle =
                self.import.as_ref().is_none_or(|j| j.summary.is_some()) && self.picked.is_none();
            if ui
                .add_enabled(
                    idle && self.archive_running(),
                    egui::Button::new("Import files…"),
                )
                .clicked()
            {
                self.pick(false);
            }
            if ui
                .add_enabled(
                    idle && self.archive_running(),
                    egui::Button::new("Import folder…"),
                )
                .clicked()
            {
                self.pick(true);
            }
            let label = ui.label("or path");
            ui.add(egui::TextEdit::singleline(&mut self.import_path).desired_width(200.0))
                .labelled_by(label.id);
            if ui
                .add_enabled(
                    idle && self.archive_running() && !self.import_path.trim().is_empty(),
                    egui::Button::new("Import"),
                )
                .clicked()
            {
                let path = PathBuf::from(self.import_path.trim());
                self.import_path.clear();
                self.start_import(vec![path]);
            }
        });
        ui.horizontal_wrapped(|ui| {
            for tool in Tool::ALL {
                if ui
                    .selectable_label(self.tool == tool, tool.title())
                    .clicked()
                {
                    self.tool = tool;
                    self.drawing.clear();
                }
            }
            match self.tool {
                Tool::Text => {
                    let label = ui.label("Label text");
                    ui.add(egui::TextEdit::singleline(&mut self.label_text).desired_width(140.0))
                        .labelled_by(label.id);
                }
                Tool::Calibrate => {
                    let label = ui.label("Known length (mm)");
                    ui.add(egui::TextEdit::singleline(&mut self.known_mm).desired_width(60.0))
                        .labelled_by(label.id);
                }
                _ => {}
            }
        });
        let mut dismiss = false;
        if let Some(job) = &self.import {
            ui.horizontal(|ui| match &job.summary {
                None => {
                    let elapsed = job.started.elapsed().as_secs_f32().max(0.001);
                    let rate = job.done_files as f32 / elapsed;
                    let left = job.total_files.saturating_sub(job.done_files) as f32
                        / rate.max(0.001);
                    ui.spinner();
                    ui.add(
                        egui::ProgressBar::new(
                            job.done_files as f32 / job.total_files.max(1) as f32,
                        )
                        .desired_width(240.0)
                        .text(format!("{} of {} files", job.done_files, job.total_files)),
                    );
                    ui.label(format!("{rate:.0} files/s · about {left:.0} s left"));
                }
                Some(s) => {
                    ui.label(format!(
                        "Import finished: {} new, {} already archived, {} kept as archived (different content), {} refused.",
                        s.imported,
                        s.duplicates,
                        s.conflicts,
                        s.refused.len()
                    ));
                    if let Some((path, why)) = s.refused.first() {
                        ui.weak(format!("First refused: {} — {why}", path.display()));
                    }
                    if ui.button("Dismiss").clicked() {
                        dismiss = true;
                    }
                }
            });
        }
        if dismiss {
            self.import = None;
        }
    }

    /// The native dialog on its own thread (it blocks until the user chooses).
    fn pick(&mut self, folder: bool) {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let dialog = rfd::AsyncFileDialog::new().set_title("Import DICOM images");
            let chosen: Vec<PathBuf> = if folder {
                pollster::block_on(dialog.pick_folder())
                    .map(|f| vec![f.path().to_path_buf()])
                    .unwrap_or_default()
            } else {
                pollster::block_on(dialog.pick_files())
                    .map(|files| files.iter().map(|f| f.path().to_path_buf()).collect())
                    .unwrap_or_default()
            };
            let _ = tx.send(chosen);
        });
        self.picked = Some(rx);
    }

    /// Starts importing `paths` on a background thread.
    pub fn start_import(&mut self, paths: Vec<PathBuf>) {
        let Some(services) = self.services.clone().filter(|s| s.archive_running()) else {
            self.message = Some((
                false,
                "Importing needs the archive services, which are not running.".into(),
            ));
            return;
        };
        let (tx, rx) = mpsc::channel();
        let total_files = services.count_files(&paths);
        std::thread::spawn(move || {
            let mut last = Instant::now();
            let summary = services.import(&paths, &mut |done| {
                // At most ~20 updates a second: enough for a smooth bar.
                if last.elapsed().as_millis() >= 50 {
                    last = Instant::now();
                    let _ = tx.send(ImportProgress::File(done));
                }
            });
            tracing::info!(
                imported = summary.imported,
                duplicates = summary.duplicates,
                refused = summary.refused.len(),
                "import from the desktop finished"
            );
            let _ = tx.send(ImportProgress::Finished(summary));
        });
        self.import = Some(ImportJob {
            started: Instant::now(),
            total_files,
            progress: rx,
            done_files: 0,
            summary: None,
        });
    }

    fn poll_import(&mut self, ui: &mut egui::Ui, practice: &Practice) {
        if let Some(rx) = &self.picked {
            match rx.try_recv() {
                Ok(paths) => {
                    self.picked = None;
                    if !paths.is_empty() {
                        self.start_import(paths);
                    }
                }
                Err(mpsc::TryRecvError::Empty) => ui
                    .ctx()
                    .request_repaint_after(std::time::Duration::from_millis(200)),
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.picked = None;
                    self.message = Some((
                        false,
                        "The file dialog could not open; type the path of the files, folder or DICOMDIR instead.".into(),
                    ));
                }
            }
        }
        let Some(job) = &mut self.import else {
            return;
        };
        if job.summary.is_some() {
            return;
        }
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
        for p in job.progress.try_iter() {
            match p {
                ImportProgress::File(n) => job.done_files = n,
                ImportProgress::Finished(summary) => {
                    job.done_files = job.total_files.max(job.done_files);
                    job.summary = Some(summary);
                }
            }
        }
        if job.summary.is_some()
            && let Some(uid) = self.study_uid.clone()
        {
            // Images of the open study may have arrived.
            let (s, i) = (self.series_index, self.image_index);
            self.open(practice, &uid);
            self.series_index = s.min(self.series.len().saturating_sub(1));
            self.image_index = i;
        }
    }

    pub(super) fn show_series_list(&mut self, ui: &mut egui::Ui) {
        egui::ScrollArea::vertical().show(ui, |ui| {
            let mut chosen = None;
            for (i, s) in self.series.iter().enumerate() {
                let selected = i == self.series_index;
                ui.vertical(|ui| {
                    if let Some(t) = self.thumbnails.get(&s.uid) {
                        let response = ui.add(
                            egui::Image::new(t)
                                .max_size(egui::vec2(THUMBNAIL_PX as f32, THUMBNAIL_PX as f32))
                                .sense(egui::Sense::click()),
                        );
                        if response.clicked() {
                            chosen = Some(i);
                        }
                    }
                    if ui
                        .selectable_label(selected, format!("{} ({})", s.label, s.images.len()))
                        .clicked()
                    {
                        chosen = Some(i);
                    }
                });
                ui.separator();
            }
            if let Some(i) = chosen {
                self.show_series(i);
            }
        });
    }

    /// The user's window and zoom (None: the image's own / fit), for linking panes.
    pub(super) fn view_settings(&self) -> (Option<Window>, Option<f32>) {
        (self.window, self.zoom)
    }

    /// Takes another pane's window and zoom (linked panes).
    pub(super) fn follow_view(&mut self, window: Option<Window>, zoom: Option<f32>) {
        if self.window != window {
            self.window = window;
            self.needs_render = true;
        }
        self.zoom = zoom;
    }

    /// Where the shown image lies in the patient (reference lines).
    pub(super) fn plane(&self) -> Option<&crate::imaging::geometry::ImagePlane> {
        self.plane.as_ref()
    }

    /// Draws where `other`'s plane cuts this pane's image (a reference line); returns whether
    /// there was one.
    pub(super) fn paint_reference_line(
        &self,
        painter: &egui::Painter,
        other: &crate::imaging::geometry::ImagePlane,
    ) -> bool {
        let (Some(plane), Some(rect), Some(t)) = (&self.plane, self.image_rect, self.transform())
        else {
            return false;
        };
        let Some((a, b)) = plane.reference_line(other) else {
            return false;
        };
        let zoom = rect.width() / t.display_size().0.max(1.0) as f32;
        let to_screen = |(x, y): (f64, f64)| {
            let (u, v) = t.display_from_image(x, y);
            rect.min + egui::vec2(u as f32 * zoom, v as f32 * zoom)
        };
        painter.line_segment(
            [to_screen(a), to_screen(b)],
            egui::Stroke::new(1.0, egui::Color32::from_rgb(90, 200, 255)),
        );
        true
    }

    /// The file and frame of entry `index` of the current series.
    fn key_at(&self, index: usize) -> Option<ImageKey> {
        let s = self.series.get(self.series_index)?;
        Some((
            s.images.get(index)?.clone(),
            s.frames.get(index).copied().unwrap_or(0),
        ))
    }

    /// The frame of the image shown (0 for single-frame files).
    fn current_frame(&self) -> u32 {
        self.series
            .get(self.series_index)
            .and_then(|s| s.frames.get(self.image_index))
            .copied()
            .unwrap_or(0)
    }

    /// A multi-frame file shown for the first time becomes one stack entry per frame.
    fn expand_frames(&mut self, key: &ImageKey, frame_count: u32) {
        let Some(s) = self.series.get_mut(self.series_index) else {
            return;
        };
        let entries: Vec<usize> = (0..s.images.len())
            .filter(|i| s.images[*i] == key.0)
            .collect();
        if frame_count <= 1 || entries.len() != 1 {
            return;
        }
        let at = entries[0];
        let sop = s.sop_uids.get(at).cloned().unwrap_or_default();
        let n = frame_count as usize;
        s.images
            .splice(at..=at, std::iter::repeat_n(key.0.clone(), n));
        s.sop_uids.splice(at..=at, std::iter::repeat_n(sop, n));
        s.frames.splice(at..=at, 0..frame_count);
        self.image_index = at + key.1 as usize;
    }

    /// Starts this pane at `window` (a protocol's initial window).
    pub(super) fn set_initial_window(&mut self, window: Option<Window>) {
        self.window = window;
        self.needs_render = true;
    }

    /// Whether this pane shows a study.
    pub(super) fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The study's description line (patient, date, description).
    pub(super) fn title(&self) -> &str {
        &self.title
    }

    /// Shows series `index` from its first image.
    pub fn show_series(&mut self, index: usize) {
        if index < self.series.len() {
            self.series_index = index;
            self.image_index = 0;
            self.window = None;
            self.needs_render = true;
        }
    }

    /// Goes to image `index` of the stack (synchronised scrolling by slice position).
    pub(super) fn scroll_to(&mut self, index: usize) {
        if index != self.image_index {
            self.scroll_by(index as i64 - self.image_index as i64);
        }
    }

    /// Moves `by` images in the stack (clamped).
    pub fn scroll_by(&mut self, by: i64) {
        let count = self
            .series
            .get(self.series_index)
            .map_or(0, |s| s.images.len());
        if count == 0 {
            return;
        }
        self.scroll_direction = by.signum();
        let next = (self.image_index as i64 + by).clamp(0, count as i64 - 1) as usize;
        if next != self.image_index {
            self.image_index = next;
            self.needs_render = true;
        }
    }

    fn show_image(&mut self, ui: &mut egui::Ui, active: bool) -> Option<Drawn> {
        let (rect, response) =
            ui.allocate_exact_size(ui.available_size(), egui::Sense::click_and_drag());
        // Keys: arrows and page keys scroll; Home/End jump.
        let keys = ui.input(|i| {
            [
                (egui::Key::ArrowDown, 1),
                (egui::Key::ArrowUp, -1),
                (egui::Key::PageDown, 10),
                (egui::Key::PageUp, -10),
                (egui::Key::End, i64::MAX / 2),
                (egui::Key::Home, -(i64::MAX / 2)),
            ]
            .into_iter()
            .filter(|(k, _)| i.key_pressed(*k) && i.modifiers.is_none())
            .map(|(_, by)| by)
            .sum::<i64>()
        });
        if active && keys != 0 && ui.memory(|m| m.focused().is_none()) {
            self.scroll_by(keys);
        }
        if response.hovered() {
            let (scroll, zoom_delta, ctrl) = ui.input(|i| {
                let wheel: f32 = i
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        egui::Event::MouseWheel { delta, .. } => Some(delta.y),
                        _ => None,
                    })
                    .sum();
                (wheel, i.zoom_delta(), i.modifiers.command)
            });
            if ctrl || zoom_delta != 1.0 {
                if zoom_delta != 1.0 {
                    let fit = self.fit_zoom(rect);
                    self.zoom = Some((self.zoom.unwrap_or(fit) * zoom_delta).clamp(0.05, 40.0));
                }
            } else if scroll != 0.0 {
                self.scroll_by(if scroll < 0.0 { 1 } else { -1 });
            }
        }
        // Where the image is: screen ↔ image pixel coordinates.
        let zoom = self.zoom.unwrap_or_else(|| self.fit_zoom(rect));
        let transform = self.transform();
        let image_rect = transform.map(|t| {
            let (w, h) = t.display_size();
            egui::Rect::from_center_size(
                rect.center() + self.pan,
                egui::vec2(w as f32, h as f32) * zoom,
            )
        });
        self.image_rect = image_rect;
        let to_image = |p: egui::Pos2| {
            let (r, t) = (image_rect?, transform?);
            let (x, y) = t.image_from_display(
                f64::from((p.x - r.min.x) / zoom),
                f64::from((p.y - r.min.y) / zoom),
            );
            Some(ImagePoint::new(x, y))
        };
        // Left-drag pans (or draws with a measuring tool); right-drag changes the window
        // (horizontal: width, vertical: level).
        let mut drawn = None;
        if self.tool == Tool::Navigate {
            if response.dragged_by(egui::PointerButton::Primary) {
                self.pan += response.drag_delta();
            }
        } else if self.tool.clicks() == 0 {
            // A drag is recognised after the pointer moved a little: start where it was pressed.
            if response.drag_started_by(egui::PointerButton::Primary)
                && let Some(p) = ui.input(|i| i.pointer.press_origin()).and_then(to_image)
            {
                self.drawing = vec![p];
            }
            if response.drag_stopped_by(egui::PointerButton::Primary)
                && let (Some(a), Some(b)) = (
                    self.drawing.first().copied(),
                    response.interact_pointer_pos().and_then(to_image),
                )
            {
                self.drawing.clear();
                drawn = Some(self.dragged_shape(a, b));
            }
        } else if response.clicked_by(egui::PointerButton::Primary)
            && let Some(p) = response.interact_pointer_pos().and_then(to_image)
        {
            self.drawing.push(p);
            if self.drawing.len() == self.tool.clicks() {
                let pts = std::mem::take(&mut self.drawing);
                drawn = match self.tool {
                    Tool::Angle => Some(Drawn::Shape(Shape::Angle {
                        a: pts[0],
                        vertex: pts[1],
                        b: pts[2],
                    })),
                    Tool::Cobb => Some(Drawn::Shape(Shape::Cobb {
                        first: (pts[0], pts[1]),
                        second: (pts[2], pts[3]),
                    })),
                    Tool::Point => Some(Drawn::Shape(Shape::Point { at: pts[0] })),
                    Tool::Text => Some(Drawn::Shape(Shape::Text {
                        at: pts[0],
                        text: if self.label_text.trim().is_empty() {
                            "note".into()
                        } else {
                            self.label_text.trim().to_string()
                        },
                    })),
                    _ => None,
                };
            }
        }
        if response.dragged_by(egui::PointerButton::Secondary) {
            let delta = response.drag_delta();
            if let Some(w) = self.window.or(self.shown_window) {
                let scale = (w.width / 256.0).max(0.1);
                self.window = Some(Window {
                    center: w.center + f64::from(delta.y) * scale,
                    width: (w.width + f64::from(delta.x) * scale).max(1.0),
                });
                self.needs_render = true;
            }
        }
        let painter = ui.painter_at(rect);
        if let (Some((_, texture, _)), Some(image_rect), Some(t)) =
            (&self.shown, image_rect, transform)
        {
            // Each corner of the shown rectangle takes the texture corner that turns onto it.
            let mut mesh = egui::Mesh::with_texture(texture.id());
            let (dw, dh) = t.display_size();
            for (u, v) in [(0.0, 0.0), (dw, 0.0), (dw, dh), (0.0, dh)] {
                let (x, y) = t.image_from_display(u, v);
                mesh.vertices.push(egui::epaint::Vertex {
                    pos: image_rect.min + egui::vec2(u as f32 * zoom, v as f32 * zoom),
                    uv: egui::pos2(
                        (x / f64::from(t.columns)) as f32,
                        (y / f64::from(t.rows)) as f32,
                    ),
                    color: egui::Color32::WHITE,
                });
            }
            mesh.indices.extend([0, 1, 2, 0, 2, 3]);
            // The overlay planes turn and zoom with the image: the same corners, their texture.
            let planes = (!self.planes_hidden)
                .then_some(self.overlay_planes.as_ref())
                .flatten()
                .map(|planes| {
                    let mut on_top = egui::Mesh::with_texture(planes.id());
                    on_top.vertices = mesh.vertices.clone();
                    on_top.indices = mesh.indices.clone();
                    on_top
                });
            painter.add(egui::Shape::mesh(mesh));
            if let Some(planes) = planes {
                painter.add(egui::Shape::mesh(planes));
            }
            self.paint_annotations(&painter, image_rect, zoom, t);
            // The magnifier: a box by the pointer showing what is under it, three times larger.
            if self.magnifier
                && let Some(pointer) = response.hover_pos()
            {
                const BOX_PX: f32 = 160.0;
                const POWER: f32 = 3.0;
                let half = f64::from(BOX_PX / 2.0 / (zoom * POWER));
                let cu = f64::from((pointer.x - image_rect.min.x) / zoom);
                let cv = f64::from((pointer.y - image_rect.min.y) / zoom);
                let target = egui::Rect::from_center_size(
                    pointer + egui::vec2(BOX_PX * 0.6, -BOX_PX * 0.6),
                    egui::vec2(BOX_PX, BOX_PX),
                );
                let mut lens = egui::Mesh::with_texture(texture.id());
                for (k, (du, dv)) in [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
                    .into_iter()
                    .enumerate()
                {
                    let (x, y) = t.image_from_display(cu + du * half, cv + dv * half);
                    let corner = [
                        target.left_top(),
                        target.right_top(),
                        target.right_bottom(),
                        target.left_bottom(),
                    ][k];
                    lens.vertices.push(egui::epaint::Vertex {
                        pos: corner,
                        uv: egui::pos2(
                            (x / f64::from(t.columns)) as f32,
                            (y / f64::from(t.rows)) as f32,
                        ),
                        color: egui::Color32::WHITE,
                    });
                }
                lens.indices.extend([0, 1, 2, 0, 2, 3]);
                painter.rect_filled(target, 0.0, egui::Color32::BLACK);
                painter.add(egui::Shape::mesh(lens));
                painter.rect_stroke(
                    target,
                    0.0,
                    egui::Stroke::new(1.0, egui::Color32::from_rgb(255, 210, 0)),
                    egui::StrokeKind::Outside,
                );
            }
            self.drawn_zoom = zoom;
            if !self.overlays_hidden {
                let text = self.overlay_text();
                painter.text(
                    rect.left_top() + egui::vec2(8.0, 8.0),
                    egui::Align2::LEFT_TOP,
                    text,
                    egui::FontId::proportional(13.0),
                    egui::Color32::from_gray(230),
                );
                if let Some(o) = self.orientation {
                    let [top, right, bottom, left] = t.edge_labels(o);
                    let marker = |at: egui::Pos2, align, label: &str| {
                        painter.text(
                            at,
                            align,
                            label,
                            egui::FontId::proportional(15.0),
                            egui::Color32::from_rgb(120, 220, 255),
                        );
                    };
                    let r = image_rect.intersect(rect);
                    marker(
                        r.center_top() + egui::vec2(0.0, 4.0),
                        egui::Align2::CENTER_TOP,
                        &top,
                    );
                    marker(
                        r.right_center() - egui::vec2(4.0, 0.0),
                        egui::Align2::RIGHT_CENTER,
                        &right,
                    );
                    marker(
                        r.center_bottom() - egui::vec2(0.0, 4.0),
                        egui::Align2::CENTER_BOTTOM,
                        &bottom,
                    );
                    marker(
                        r.left_center() + egui::vec2(4.0, 0.0),
                        egui::Align2::LEFT_CENTER,
                        &left,
                    );
                }
            }
            painter.text(
                rect.right_bottom() - egui::vec2(8.0, 8.0),
                egui::Align2::RIGHT_BOTTOM,
                self.memory_text(),
                egui::FontId::proportional(11.0),
                egui::Color32::from_gray(160),
            );
        } else {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Loading…",
                egui::FontId::proportional(16.0),
                egui::Color32::from_gray(200),
            );
        }
        drawn
    }

    /// A shape drawn by dragging from `a` to `b` with the current tool.
    fn dragged_shape(&self, a: ImagePoint, b: ImagePoint) -> Drawn {
        match self.tool {
            Tool::Calibrate => Drawn::Calibration(a, b),
            Tool::Ellipse => Drawn::Shape(Shape::Ellipse {
                centre: ImagePoint::new((a.x + b.x) / 2.0, (a.y + b.y) / 2.0),
                radius_x: (b.x - a.x).abs() / 2.0,
                radius_y: (b.y - a.y).abs() / 2.0,
            }),
            Tool::Rectangle => Drawn::Shape(Shape::Rectangle { a, b }),
            Tool::Arrow => Drawn::Shape(Shape::Arrow { tail: a, head: b }),
            _ => Drawn::Shape(Shape::Length { a, b }),
        }
    }

    /// The current image's SOP Instance UID.
    fn current_sop(&self) -> Option<String> {
        self.series
            .get(self.series_index)?
            .sop_uids
            .get(self.image_index)
            .cloned()
    }

    /// The calibration measurements on the current image use.
    fn current_calibration(&self) -> Calibration {
        self.current_sop()
            .and_then(|sop| self.manual.get(&sop).copied())
            .unwrap_or(self.calibration)
    }

    /// The status corner: where images are drawn, the series' load onto the GPU, memory.
    fn memory_text(&self) -> String {
        let (loaded, total, gpu_bytes) = self.series_load;
        let series = if total == 0 || loaded == 0 {
            String::new()
        } else if loaded < total {
            format!(" · loading series {loaded}/{total}")
        } else {
            format!(" · series on GPU {:.1} MiB", mib(gpu_bytes))
        };
        format!(
            "{}{series} · cache {:.1} MiB",
            self.backend,
            mib(self.cache_bytes)
        )
    }

    /// The corner overlay's text as drawn: the practice's fields of the shown image.
    pub fn overlay_text(&self) -> String {
        use crate::viewing::overlay::{OverlayField, OverlayValues, overlay_text};
        let count = self
            .series
            .get(self.series_index)
            .map_or(0, |s| s.images.len());
        let values = OverlayValues {
            patient: self.title.clone(),
            series: self
                .series
                .get(self.series_index)
                .map(|s| s.label.clone())
                .unwrap_or_default(),
            image: (self.image_index + 1, count),
            position: self.slice_position.clone(),
            window: self.shown_window.map(|w| (w.width, w.center)),
            zoom: self.drawn_zoom,
            spacing: self.spacing.clone(),
        };
        match &self.overlay_fields {
            Some(fields) => overlay_text(fields, &values),
            None => overlay_text(&OverlayField::ALL, &values),
        }
    }

    /// The results of the current image's annotations: (id, text with source).
    pub fn measurements(&self) -> Vec<(i64, String)> {
        let Some(sop) = self.current_sop() else {
            return Vec::new();
        };
        self.annotations
            .iter()
            .filter(|a| a.sop_instance_uid == sop && a.frame == self.current_frame())
            .map(|a| {
                let current = self.values_generation == self.generation;
                let file_calibration = if current {
                    self.calibration
                } else {
                    Calibration::None
                };
                let m = crate::imaging::measure::measure(
                    &a.shape,
                    a.manual.unwrap_or(file_calibration),
                    self.values.as_deref().filter(|_| current),
                );
                let text = if m.value.is_some() && m.unit != "°" {
                    format!("{} ({})", m.text, m.source)
                } else {
                    m.text
                };
                (a.id, text)
            })
            .collect()
    }

    fn finish_shape(&mut self, drawn: Drawn, practice: &Practice, actor: &crate::access::Actor) {
        let (Some(study), Some(sop)) = (self.study_uid.clone(), self.current_sop()) else {
            return;
        };
        match drawn {
            Drawn::Calibration(a, b) => {
                let known = self.known_mm.trim().replace(',', ".").parse::<f64>().ok();
                match known.and_then(|mm| Calibration::manual(a, b, mm)) {
                    Some(cal) => {
                        self.manual.insert(sop, cal);
                        self.message = Some((
                            true,
                            format!("This image is now measured by {}.", cal.describe()),
                        ));
                    }
                    None => {
                        self.message = Some((
                            false,
                            "Type the known length in mm, then drag along it.".into(),
                        ))
                    }
                }
            }
            Drawn::Shape(shape) => {
                let calibration = self.current_calibration();
                match practice.annotate(
                    actor,
                    &study,
                    &sop,
                    self.current_frame(),
                    &shape,
                    calibration,
                ) {
                    Ok(_) => {
                        self.annotations = practice.annotations(&study).unwrap_or_default();
                    }
                    Err(crate::viewing::ViewingError::Access(_)) => {
                        self.message =
                            Some((false, "Only a radiologist may measure and annotate.".into()))
                    }
                    Err(e) => self.message = Some((false, format!("Not saved: {e}."))),
                }
            }
        }
    }

    pub(super) fn show_measurements(
        &mut self,
        ui: &mut egui::Ui,
        practice: &Practice,
        actor: &crate::access::Actor,
    ) {
        ui.strong("Measurements");
        let list = self.measurements();
        if list.is_empty() {
            ui.weak("None on this image. Pick a tool above and draw on the image.");
        }
        let mut remove = None;
        for (id, text) in &list {
            ui.horizontal_wrapped(|ui| {
                ui.label(text);
                if ui.small_button(format!("Delete #{id}")).clicked() {
                    remove = Some(*id);
                }
            });
        }
        ui.separator();
        ui.weak(format!("Scale: {}", self.current_calibration().describe()));
        ui.separator();
        let sop = self.current_sop();
        let is_key = sop.as_ref().is_some_and(|sop| {
            self.key_images
                .iter()
                .any(|k| &k.0 == sop && k.1 == self.current_frame())
        });
        if ui.selectable_label(is_key, "Key image").clicked()
            && let (Some(sop), Some(study)) = (sop.clone(), self.study_uid.clone())
        {
            match practice.set_key_image(actor, &study, &sop, self.current_frame(), !is_key) {
                Ok(()) => self.key_images = practice.key_images(&study).unwrap_or_default(),
                Err(crate::viewing::ViewingError::Access(_)) => {
                    self.message = Some((false, "Only a radiologist may mark key images.".into()))
                }
                Err(e) => self.message = Some((false, format!("Not marked: {e}."))),
            }
        }
        ui.weak(format!(
            "{} key images in this study",
            self.key_images.len()
        ));
        if ui.button("Insert into report").clicked()
            && let Some(study) = self.study_uid.clone()
        {
            let text = self.report_text();
            self.report_insert = Some((study, text));
        }
        if ui
            .button("Save marks to archive")
            .on_hover_text(
                "key images as a Key Object Selection, measurements as presentation states",
            )
            .clicked()
            && let (Some(study), Some(services)) = (self.study_uid.clone(), self.services.clone())
        {
            self.message = Some(match services.archiver() {
                None => (
                    false,
                    "Saving marks needs the archive services, which are not running.".into(),
                ),
                Some(archiver) => match practice.export_marks(
                    archiver,
                    actor,
                    &study,
                    chrono::Local::now().naive_local(),
                    self.window,
                ) {
                    Ok(done) => (
                        true,
                        format!(
                            "Archived with the study: {} key image document, {} presentation states.",
                            done.key_object_documents, done.presentation_states
                        ),
                    ),
                    Err(crate::viewing::ViewingError::Access(_)) => (
                        false,
                        "Only a radiologist may save marks to the archive.".into(),
                    ),
                    Err(e) => (false, format!("Not saved: {e}.")),
                },
            });
        }
        if ui.button("Tags").clicked() {
            self.tags = if self.tags.is_some() {
                None
            } else {
                Some(self.read_tags())
            };
        }
        if let (Some(id), Some(study)) = (remove, self.study_uid.clone()) {
            match practice.remove_annotation(actor, &study, id) {
                Ok(()) => self.annotations.retain(|a| a.id != id),
                Err(e) => self.message = Some((false, format!("Not deleted: {e}."))),
            }
        }
    }

    /// Key images and the current image's measurements as report text.
    fn report_text(&self) -> String {
        let mut lines = Vec::new();
        if !self.key_images.is_empty() {
            let positions: Vec<String> = self
                .key_images
                .iter()
                .filter_map(|(sop, _)| {
                    self.series.iter().find_map(|s| {
                        let at = s.sop_uids.iter().position(|u| u == sop)?;
                        Some(format!(
                            "series {} image {}",
                            s.label.split(' ').next().unwrap_or("?"),
                            at + 1
                        ))
                    })
                })
                .collect();
            lines.push(format!("KEY IMAGES: {}.", positions.join("; ")));
        }
        let measured = self.measurements();
        if !measured.is_empty() {
            lines.push(format!(
                "MEASUREMENTS (image {}): {}.",
                self.image_index + 1,
                measured
                    .into_iter()
                    .map(|m| m.1)
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        lines.join("\n")
    }

    /// The current image's attributes (keyword, VR, value), read up to the pixel data.
    fn read_tags(&self) -> Vec<(String, String, String)> {
        let Some(path) = self
            .series
            .get(self.series_index)
            .and_then(|s| s.images.get(self.image_index))
        else {
            return Vec::new();
        };
        imaging::header::attribute_listing(path).unwrap_or_else(|_| {
            vec![(
                "(unreadable)".into(),
                String::new(),
                path.display().to_string(),
            )]
        })
    }

    /// Draws the current image's annotations over it.
    fn paint_annotations(
        &self,
        painter: &egui::Painter,
        image_rect: egui::Rect,
        zoom: f32,
        transform: ViewTransform,
    ) {
        let Some(sop) = self.current_sop() else {
            return;
        };
        let to_screen = |p: &ImagePoint| {
            let (u, v) = transform.display_from_image(p.x, p.y);
            image_rect.min + egui::vec2(u as f32 * zoom, v as f32 * zoom)
        };
        let stroke = egui::Stroke::new(1.5, egui::Color32::from_rgb(255, 210, 0));
        let font = egui::FontId::proportional(13.0);
        let results = self.measurements();
        for a in self
            .annotations
            .iter()
            .filter(|a| a.sop_instance_uid == sop && a.frame == self.current_frame())
        {
            let label_at = match &a.shape {
                Shape::Length { a, b } | Shape::Arrow { tail: a, head: b } => {
                    painter.line_segment([to_screen(a), to_screen(b)], stroke);
                    to_screen(b)
                }
                Shape::Polyline { points } => {
                    painter.add(egui::Shape::line(
                        points.iter().map(to_screen).collect(),
                        stroke,
                    ));
                    points.last().map(to_screen).unwrap_or(image_rect.min)
                }
                Shape::Angle { a, vertex, b } => {
                    painter.line_segment([to_screen(vertex), to_screen(a)], stroke);
                    painter.line_segment([to_screen(vertex), to_screen(b)], stroke);
                    to_screen(vertex)
                }
                Shape::Cobb { first, second } => {
                    painter.line_segment([to_screen(&first.0), to_screen(&first.1)], stroke);
                    painter.line_segment([to_screen(&second.0), to_screen(&second.1)], stroke);
                    to_screen(&second.1)
                }
                Shape::Ellipse {
                    centre,
                    radius_x,
                    radius_y,
                } => {
                    let points: Vec<egui::Pos2> = (0..=48)
                        .map(|i| {
                            let t = f64::from(i) / 48.0 * std::f64::consts::TAU;
                            to_screen(&ImagePoint::new(
                                centre.x + t.cos() * radius_x,
                                centre.y + t.sin() * radius_y,
                            ))
                        })
                        .collect();
                    let right = points[0];
                    painter.add(egui::Shape::line(points, stroke));
                    right
                }
                Shape::Rectangle { a, b } => {
                    let corners = [
                        to_screen(a),
                        to_screen(&ImagePoint::new(b.x, a.y)),
                        to_screen(b),
                        to_screen(&ImagePoint::new(a.x, b.y)),
                        to_screen(a),
                    ];
                    painter.add(egui::Shape::line(corners.to_vec(), stroke));
                    to_screen(b)
                }
                Shape::Point { at } | Shape::Text { at, .. } => {
                    painter.circle_stroke(to_screen(at), 3.0, stroke);
                    to_screen(at)
                }
            };
            if let Some((_, text)) = results.iter().find(|(id, _)| *id == a.id) {
                painter.text(
                    label_at + egui::vec2(6.0, -6.0),
                    egui::Align2::LEFT_BOTTOM,
                    text,
                    font.clone(),
                    egui::Color32::from_rgb(255, 230, 120),
                );
            }
        }
        for p in &self.drawing {
            painter.circle_filled(to_screen(p), 2.5, stroke.color);
        }
    }

    fn fit_zoom(&self, rect: egui::Rect) -> f32 {
        match self.transform() {
            Some(t) if t.columns > 0 && t.rows > 0 => {
                let (w, h) = t.display_size();
                (rect.width() / w as f32).min(rect.height() / h as f32)
            }
            _ => 1.0,
        }
    }

    /// How the shown image is turned on screen.
    fn transform(&self) -> Option<ViewTransform> {
        self.shown.as_ref().map(|(_, _, size)| ViewTransform {
            columns: size[0] as u32,
            rows: size[1] as u32,
            quarter_turns: self.quarter_turns,
            flipped: self.flipped,
        })
    }

    /// Saves the view (as rendered, turned and inverted as on screen) as a PNG in exports.
    fn export_png(&mut self, practice: &Practice) {
        let (Some((_, image)), Some(t)) = (&self.last_image, self.transform()) else {
            return;
        };
        let (w, h) = t.display_size();
        let (w, h) = (w as u32, h as u32);
        let channels = usize::from(image.channels);
        let mut pixels = vec![0u8; w as usize * h as usize * channels];
        for v in 0..h {
            for u in 0..w {
                let (x, y) = t.image_from_display(f64::from(u) + 0.5, f64::from(v) + 0.5);
                let (x, y) = (x.floor() as usize, y.floor() as usize);
                let from = (y * image.columns as usize + x) * channels;
                let to = (v as usize * w as usize + u as usize) * channels;
                if let (Some(src), Some(dst)) = (
                    image.pixels.get(from..from + channels),
                    pixels.get_mut(to..to + channels),
                ) {
                    // Inverted already, where the user asked, by the render thread.
                    dst.copy_from_slice(src);
                }
            }
        }
        let out = RenderedImage {
            columns: w,
            rows: h,
            channels: image.channels,
            pixels,
        };
        let folder = practice.exports_folder();
        let file = folder.join(format!(
            "view-{}-{}.png",
            self.current_sop().unwrap_or_default(),
            chrono::Local::now().format("%Y%m%d-%H%M%S")
        ));
        self.message = Some(
            match std::fs::create_dir_all(&folder)
                .map_err(|e| e.to_string())
                .and_then(|()| imaging::write_png(&file, &out).map_err(|e| e.to_string()))
            {
                Ok(()) => (true, format!("View saved to {}.", file.display())),
                Err(e) => (
                    false,
                    format!("The view could not be saved ({e}); check the disk."),
                ),
            },
        );
    }
}

/// `root/relative`, refusing a relative path that would leave the archive.
fn safe_join(root: &std::path::Path, relative: &str) -> Result<PathBuf, ()> {
    let p = std::path::Path::new(relative);
    if p.is_absolute()
        || p.components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(());
    }
    Ok(root.join(p))
}

/// The plane of an image file from its Image Orientation (Patient), reading the header only.
fn plane_of_file(path: &std::path::Path) -> Option<crate::viewing::hanging::Plane> {
    crate::viewing::hanging::plane_of(&imaging::header::orientation_of_file(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(uid: &str, folder: &str, images: usize) -> ViewerSeries {
        ViewerSeries {
            uid: uid.into(),
            label: String::new(),
            images: (0..images)
                .map(|i| PathBuf::from(format!("{folder}/{i}")))
                .collect(),
            sop_uids: vec![String::new(); images],
            frames: vec![0; images],
            description: String::new(),
            modality: "CT".into(),
            body_part: String::new(),
            plane: None,
        }
    }

    #[test]
    fn a_prior_opened_in_the_same_pane_with_as_many_images_gets_its_own_series_keys() {
        // Regression: the keys sent to the render thread were cached by series position and
        // length, so a prior with as many images kept the exam's keys (its GPU load and slice
        // positions were the exam's).
        let mut pane = Pane {
            series: vec![series("1.2.3", "exam", 3)],
            ..Pane::default()
        };
        let exam = pane.series_keys();
        assert_eq!(exam[0].0, PathBuf::from("exam/0"));
        pane.series = vec![series("1.2.4", "prior", 3)];
        let prior = pane.series_keys();
        assert_eq!(prior[0].0, PathBuf::from("prior/0"));
        assert!(!Arc::ptr_eq(&exam, &prior));
        // Unchanged, the same list is sent again (no rebuild per scroll step).
        assert!(Arc::ptr_eq(&prior, &pane.series_keys()));
    }
}
