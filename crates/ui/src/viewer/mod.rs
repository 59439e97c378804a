//! The basic viewer: a study's series as thumbnails, one image at a time rendered by the
//! imaging pipeline on the GPU (wgpu; Mesa's software adapter where there is no GPU, the CPU
//! path if there is no adapter at all), stack scroll (wheel, arrow/page keys), window/level
//! by right-drag, zoom (Ctrl+wheel, Fit, 1:1) and pan (left-drag); import of files, folders
//! and DICOMDIRs with the system's file dialog, or a typed path.
//!
//! Decoding and rendering run on a worker thread: the UI sends requests over a bounded
//! channel and shows the newest answer, so a slow file never freezes the window. Window
//! changes re-draw the frame already on the GPU (a uniform write), never re-decode it.
//!
//! Rooms: `render_thread` (the worker and its answers), `image_view` (the viewport, overlay,
//! annotations, export), `measure_tools`, `toolbar` (with the priors and series list),
//! `import_panel`, `tag_browser`; this file holds the pane's state, opening a study and
//! moving through its stack. What stays resident between frames (decoded-frame cache, a
//! series on the GPU) is `lightbox_imaging::residency`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Instant;

use eframe::egui_wgpu;
use eframe::egui_wgpu::wgpu;

use crate::imaging::geometry::ImagePlane;
use crate::imaging::gpu::{GpuFrame, GpuRenderer};
use crate::imaging::measure::{Calibration, ImagePoint, ModalityValues, Shape};
use crate::imaging::view_transform::ViewTransform;
use crate::imaging::{self, ImageFile, RenderOptions, RenderedImage, Window};
use crate::practice::Practice;
use crate::window_services::WindowServices;

mod image_view;
mod import_panel;
mod measure_tools;
mod render_thread;
mod tag_browser;
mod toolbar;

use crate::imaging::residency::{ImageKey, SeriesOnGpu, SliceFacts};
use import_panel::{ImportJob, safe_join};
pub use measure_tools::Tool;
use render_thread::{RenderRequest, RenderWorker, ShownTexture};

/// Cine rate when the file gives none (frames per second).
const DEFAULT_CINE_FPS: f32 = 10.0;

/// Images decoded ahead of the scroll.
const PREFETCH_IMAGES: usize = 8;

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

/// The viewer's image memory as the practice set it (MiB).
pub(super) fn viewer_memory_mib(practice: &Practice) -> usize {
    practice.viewer_memory_mib()
}

/// How a study was being looked at: kept per study while the pane lives.
#[derive(Debug, Clone, Copy, Default)]
struct StudyView {
    series_index: usize,
    image_index: usize,
    window: Option<Window>,
    zoom: Option<f32>,
    pan: egui::Vec2,
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
    /// Show where images are drawn and the memory they take (for support, not for reading).
    diagnostics: bool,
    /// How each study was last looked at in this pane (series, image, window, zoom, pan), so
    /// going to the prior and back finds the exam as it was left.
    remembered: HashMap<String, StudyView>,
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

    /// Screen pixels per image pixel of the image last drawn.
    pub fn shown_zoom(&self) -> f32 {
        self.drawn_zoom
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
        // Remember how the study being left was looked at.
        if let Some(leaving) = self.study_uid.clone() {
            self.remembered.insert(
                leaving,
                StudyView {
                    series_index: self.series_index,
                    image_index: self.image_index,
                    window: self.window,
                    zoom: self.zoom,
                    pan: self.pan,
                },
            );
        }
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
        // Who, with two identifiers (name and birth date, with the age at the study) and the
        // MRN, then the study: the viewer is one of the places a patient is in context.
        self.title = rows
            .first()
            .map(|r| {
                let dashed = |d: &str| crate::study_browser::display_date(d);
                let studied =
                    chrono::NaiveDate::parse_from_str(&r.study_date, "%Y%m%d").unwrap_or_default();
                let (family, given) = r
                    .patient_name
                    .split_once('^')
                    .unwrap_or((r.patient_name.as_str(), ""));
                let born = if r.birth_date.trim().is_empty() {
                    "birth date unknown".to_string()
                } else {
                    format!(
                        "born {}",
                        crate::patient_banner::birth_with_age(&dashed(&r.birth_date), studied)
                    )
                };
                format!(
                    "{} · {} · {born} · {} · {} · {}",
                    crate::patient_banner::display_name(
                        family,
                        given.split('^').next().unwrap_or("")
                    ),
                    crate::patient_banner::sex_word(r.sex.trim()),
                    r.patient_id,
                    dashed(&r.study_date),
                    r.study_description
                )
            })
            .unwrap_or_default();
        self.archive_root = Some(root);
        self.study_uid = Some(study_uid.to_string());
        // As it was left, if this pane showed it before; else from its first image.
        let view = self.remembered.get(study_uid).copied().unwrap_or_default();
        self.series_index = view.series_index.min(self.series.len().saturating_sub(1));
        self.image_index = view.image_index.min(
            self.series
                .get(self.series_index)
                .map_or(0, |s| s.images.len().saturating_sub(1)),
        );
        self.scroll_direction = 1;
        self.window = view.window;
        self.zoom = view.zoom;
        self.pan = view.pan;
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
    /// (tool, quarter turns, flipped, inverted), for tests.
    pub(crate) fn tool_and_view(&self) -> (&'static str, u8, bool, bool) {
        (
            self.tool.title(),
            self.quarter_turns,
            self.flipped,
            self.inverted,
        )
    }

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
