//! The viewer's render thread: decoding, the GPU device and what is drawn on it, fed over a
//! bounded channel by the panes and answering with the newest image (egui textures included,
//! which is why it lives with the screens and not in lightbox-imaging).

use super::*;
use crate::imaging::residency::{
    Decoded, DecodedCache as Cache, LOAD_REPORT_EVERY, cached, shrink,
};

/// Pixels on the long side of a series thumbnail.
pub(super) const THUMBNAIL_PX: u32 = 96;

/// Requests waiting for the worker; more are dropped (the newest image request wins anyway).
pub(super) const REQUEST_QUEUE: usize = 64;

/// What the worker is asked.
pub(super) enum RenderRequest {
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
pub(super) enum ShownPixels {
    Cpu(RenderedImage),
    OnScreen {
        texture: egui::TextureId,
        columns: u32,
        rows: u32,
    },
}

/// A rendered image and what the overlay says about it.
pub(super) struct Shown {
    pub(super) image: ShownPixels,
    pub(super) window: Option<Window>,
    pub(super) spacing: String,
    /// The file's calibration (Pixel Spacing or what stands in for it).
    pub(super) calibration: Calibration,
    /// Modality values (HU on CT) for ROI statistics; None for colour images.
    pub(super) values: Option<Arc<ModalityValues>>,
    /// The image's modality (which window presets apply).
    pub(super) modality: String,
    /// Image Orientation (Patient), for the orientation markers.
    pub(super) orientation: Option<[f64; 6]>,
    /// Where the slice is ("z 12.5 mm"), for the overlay.
    pub(super) position: String,
    /// The file and frame shown, and how many frames the file has (a multi-frame file is
    /// expanded into a stack when first shown).
    pub(super) key: ImageKey,
    pub(super) frame_count: u32,
    pub(super) plane: Option<crate::imaging::geometry::ImagePlane>,
    /// The file's cine rate, if it gives one.
    pub(super) frames_per_second: Option<f64>,
    /// Overlay planes (60xx) to draw over the image, 255 where set.
    pub(super) overlay_mask: Option<Arc<Vec<u8>>>,
}

pub(super) enum RenderAnswer {
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
pub(super) struct RenderWorker {
    /// None only while dropping (the thread sees the channel close and stops).
    pub(super) requests: Option<SyncSender<RenderRequest>>,
    pub(super) answers: Receiver<RenderAnswer>,
    pub(super) thread: Option<std::thread::JoinHandle<()>>,
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
    pub(super) fn start(
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

/// The frame on the GPU (or decoded for the CPU path), kept for window changes.
pub(super) struct Resident {
    pub(super) key: ImageKey,
    pub(super) decoded: Arc<Decoded>,
    pub(super) gpu: Option<GpuFrame>,
    /// The uniform as uploaded (the file's own VOI), to go back to after a user window.
    pub(super) file_params: Option<crate::imaging::gpu::GpuParams>,
}

/// The window's GPU, when the viewer draws on it: the pane's one egui texture, pointed at
/// whichever target the render thread draws into.
pub(super) struct OnScreen {
    pub(super) renderer: Arc<egui::mutex::RwLock<egui_wgpu::Renderer>>,
    pub(super) device: wgpu::Device,
    /// The texture egui shows and the target it points at now.
    pub(super) texture: Option<(egui::TextureId, u64)>,
}

impl OnScreen {
    /// The egui texture showing target `target_id` (registered once, re-pointed when the
    /// target changes: the id the window paints stays the same).
    pub(super) fn texture_for(
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
pub(super) enum LastDrawn {
    Nothing,
    Series,
    Frame,
    /// Drawn on the CPU: the pixels went with the answer.
    Cpu,
}

pub(super) fn render_loop(
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
                        let _ = answers.send(series_report(s, cache.used_bytes()));
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
                    let _ = answers.send(series_report(s, cache.used_bytes()));
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
                let _ = answers.send(series_report(s, cache.used_bytes()));
                wake.request_repaint();
            }
        }
    }
}

/// Draws slice `index` of the series from the GPU if it is there: the shown image and whether
/// its modality values still need decoding. None when the slice is not on the GPU.
pub(super) fn from_series(
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
pub(super) fn read_back(
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
pub(super) fn shown(
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

pub(super) fn render_image(
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

pub(super) fn colour_image(image: &RenderedImage) -> egui::ColorImage {
    let size = [image.columns as usize, image.rows as usize];
    if image.channels == 3 {
        egui::ColorImage::from_rgb(size, &image.pixels)
    } else {
        egui::ColorImage::from_gray(size, &image.pixels)
    }
}

/// The texture the shown image is painted from.
pub(super) enum ShownTexture {
    /// Uploaded by egui from pixels read back (or drawn on the CPU).
    Uploaded(egui::TextureHandle),
    /// The render thread's target on the window's GPU.
    OnGpu(egui::TextureId),
}

impl ShownTexture {
    pub(super) fn id(&self) -> egui::TextureId {
        match self {
            ShownTexture::Uploaded(t) => t.id(),
            ShownTexture::OnGpu(id) => *id,
        }
    }
}

impl Pane {
    pub(super) fn take_answers(&mut self, ctx: &egui::Context) {
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
}

/// How far the background load of the series onto the GPU is, for the window.
fn series_report(s: &SeriesOnGpu, cache_bytes: usize) -> RenderAnswer {
    RenderAnswer::SeriesLoad {
        loaded: s.loaded(),
        total: s.keys.len(),
        places: s.places(),
        gpu_bytes: s.gpu_bytes(),
        cache_bytes,
    }
}
