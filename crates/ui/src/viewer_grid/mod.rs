//! The Viewer screen: panes laid out as the hanging protocol for the study says (1×1 to 4×4,
//! current study and priors side by side, synchronised scrolling), the protocol used shown and
//! switchable, and "save this layout as the protocol for studies like this". The toolbar, the
//! series list and the measurement list act on the active pane (click a pane to make it
//! active).

use super::viewer::{Pane, ViewerSeries};
use crate::access::Actor;
use crate::imaging::Window;
use crate::practice::Practice;
use crate::records::reports::ArchivedStudy;
use crate::viewing::hanging::{self, HangingProtocol, SeriesFacts, StudyFacts};
use crate::window_services::WindowServices;
use std::sync::Arc;

mod hanging_layout;

/// The Viewer screen's state.
pub struct ViewerScreen {
    panes: Vec<Pane>,
    active: usize,
    rows: u8,
    columns: u8,
    /// The protocol hung, if any.
    protocol: Option<HangingProtocol>,
    /// The exam (current study UID) and its priors.
    priors: Option<(String, Vec<ArchivedStudy>)>,
    /// The running services (imports, prior fetches, archiving marks).
    services: Option<Arc<dyn WindowServices>>,
    sync_scroll: bool,
    /// Window/level and zoom follow the active pane.
    link_view: bool,
    /// Reference lines drawn in the last frame.
    reference_lines: usize,
    /// The stored protocols' names, read when a study is hung or a protocol saved (not every
    /// frame).
    protocol_names: Vec<String>,
    /// Where each pane was last frame (to scroll the others by the same amount).
    positions: Vec<usize>,
    /// Each pane's slice location (mm) when the user anchored synchronised scrolling: stacks
    /// in different frames of reference (a prior) then follow by distance from there.
    sync_anchor: Option<Vec<Option<f64>>>,
    /// The window's GPU (eframe's wgpu device), for the panes to draw on.
    screen: Option<eframe::egui_wgpu::RenderState>,
    /// How many viewports the image memory was last shared among (0: share again, re-reading
    /// the setting — after a study is hung).
    shared_among: usize,
    protocol_name: String,
    message: Option<(bool, String)>,
    /// Priors being fetched from the prior nodes: the exam's accession and the answer.
    prior_fetch: Option<(
        String,
        std::sync::mpsc::Receiver<crate::viewing::FetchSummary>,
    )>,
}

impl Default for ViewerScreen {
    fn default() -> Self {
        ViewerScreen {
            panes: vec![Pane::default()],
            active: 0,
            rows: 1,
            columns: 1,
            protocol: None,
            priors: None,
            services: None,
            sync_scroll: false,
            link_view: false,
            reference_lines: 0,
            protocol_names: Vec::new(),
            positions: vec![0],
            sync_anchor: None,
            screen: None,
            shared_among: 0,
            protocol_name: String::new(),
            message: None,
            prior_fetch: None,
        }
    }
}

impl ViewerScreen {
    fn active(&self) -> &Pane {
        &self.panes[self.active.min(self.panes.len() - 1)]
    }

    fn active_mut(&mut self) -> &mut Pane {
        let i = self.active.min(self.panes.len() - 1);
        &mut self.panes[i]
    }

    /// The running services, for every pane.
    pub fn set_services(&mut self, services: Arc<dyn WindowServices>) {
        for p in &mut self.panes {
            p.set_services(services.clone());
        }
        self.services = Some(services);
    }

    /// A new pane with the services.
    fn new_pane(&self) -> Pane {
        let mut pane = Pane::default();
        if let Some(s) = &self.services {
            pane.set_services(s.clone());
        }
        pane
    }

    /// Opens a study in one pane (its protocol is chosen when its priors are known).
    pub fn open(&mut self, practice: &Practice, study_uid: &str) {
        let mut pane = self.new_pane();
        pane.open(practice, study_uid);
        self.priors = None;
        self.panes = vec![pane];
        self.positions = vec![0];
        self.sync_anchor = None;
        self.shared_among = 0;
        self.active = 0;
        self.rows = 1;
        self.columns = 1;
        self.protocol = None;
        self.sync_scroll = false;
        self.hang(practice, None);
    }

    /// Lists the exam's priors and hangs the study by its protocol.
    pub fn set_priors(&mut self, practice: &Practice, current: &str, priors: Vec<ArchivedStudy>) {
        self.priors = Some((current.to_string(), priors.clone()));
        for p in &mut self.panes {
            p.set_priors(current, priors.clone());
        }
        self.hang(practice, None);
    }

    /// Asks the prior nodes (setting `viewer.prior_nodes`) for the exam's patient's studies
    /// not yet archived, on a thread; the priors list and the layout follow when they arrive.
    pub fn fetch_priors(&mut self, practice: &Practice, accession: &str) {
        let Some(services) = self.services.clone().filter(|s| s.archive_running()) else {
            return;
        };
        let configured = practice
            .setting(crate::viewing::PRIOR_NODES_SETTING)
            .ok()
            .flatten()
            .is_some_and(|n| !n.trim().is_empty());
        if !configured {
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let accession_owned = accession.to_string();
        let spawned = std::thread::Builder::new()
            .name("prior-fetch".into())
            .spawn(move || {
                let _ = tx.send(services.fetch_priors(&accession_owned));
            });
        match spawned {
            Ok(_) => {
                self.prior_fetch = Some((accession.to_string(), rx));
                self.message = Some((true, "Looking for priors on the other PACS…".into()));
            }
            Err(e) => tracing::error!(error = %e, "the prior fetch could not start"),
        }
    }

    fn poll_prior_fetch(&mut self, ui: &egui::Ui, practice: &Practice, actor: &Actor) {
        let Some((accession, rx)) = &self.prior_fetch else {
            return;
        };
        match rx.try_recv() {
            Ok(summary) => {
                let accession = accession.clone();
                self.prior_fetch = None;
                self.message = Some(if summary.problems.is_empty() {
                    (
                        true,
                        format!(
                            "{} prior studies fetched from the other PACS ({} images).",
                            summary.fetched, summary.instances
                        ),
                    )
                } else {
                    (
                        false,
                        format!(
                            "{} priors fetched; some could not be: {}",
                            summary.fetched,
                            summary.problems.join("; ")
                        ),
                    )
                });
                if summary.fetched > 0
                    && let Some(current) = self.exam_study()
                    && let Ok(priors) = practice.priors(actor, &accession)
                {
                    self.set_priors(practice, &current, priors);
                }
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(200));
            }
            Err(std::sync::mpsc::TryRecvError::Disconnected) => self.prior_fetch = None,
        }
    }

    /// Whether priors are being fetched (tests).
    pub fn fetching_priors(&self) -> bool {
        self.prior_fetch.is_some()
    }

    /// No priors list (a study opened from the archive, not from an exam).
    pub fn clear_priors(&mut self) {
        self.priors = None;
        for p in &mut self.panes {
            p.clear_priors();
        }
    }

    /// What the protocol matching knows of the open exam.
    fn facts(&self) -> StudyFacts {
        let main = &self.panes[0];
        let mut modalities: Vec<String> =
            main.series().iter().map(|s| s.modality.clone()).collect();
        modalities.sort();
        modalities.dedup();
        let mut body_parts: Vec<String> =
            main.series().iter().map(|s| s.body_part.clone()).collect();
        body_parts.sort();
        body_parts.dedup();
        StudyFacts {
            modalities,
            body_parts,
            description: main
                .title()
                .rsplit(" · ")
                .next()
                .unwrap_or_default()
                .to_string(),
            priors: self.priors.as_ref().map_or(0, |p| p.1.len()),
        }
    }

    /// The study the first pane shows (the exam the layout is built around).
    fn exam_study(&self) -> Option<String> {
        self.panes
            .first()
            .and_then(|p| p.study_uid().map(str::to_string))
    }

    /// Each pane's study UID and series index, in layout order (tests).
    pub fn panes(&self) -> Vec<Option<(String, usize)>> {
        self.panes
            .iter()
            .map(|p| p.study_uid().map(|u| (u.to_string(), p.position().0)))
            .collect()
    }

    /// Makes pane `index` the active one (tests; a click does it in the window).
    pub fn activate(&mut self, index: usize) {
        if index < self.panes.len() {
            self.active = index;
        }
    }

    /// Links window and zoom across panes (the checkbox).
    pub fn set_link_view(&mut self, on: bool) {
        self.link_view = on;
    }

    /// Each pane's (window, zoom) (tests of linking).
    pub fn pane_views(&self) -> Vec<(Option<Window>, Option<f32>)> {
        self.panes.iter().map(|p| p.view_settings()).collect()
    }

    /// The active pane's cine rate while playing (frames per second).
    pub fn cine_fps(&self) -> Option<f32> {
        self.active().cine_fps()
    }

    /// Draws images on the window's GPU: panes started from now on render there and egui shows
    /// their targets directly (no read back, no upload).
    pub fn set_render_state(&mut self, screen: eframe::egui_wgpu::RenderState) {
        self.screen = Some(screen);
    }

    /// Asks the active pane's render thread for the shown image's pixels (tests of images
    /// shown straight from the GPU).
    pub fn read_back(&mut self) {
        self.active_mut().read_back();
    }

    /// The active pane's corner overlay text (tests).
    pub fn overlay_text(&self) -> String {
        self.active().overlay_text()
    }

    /// Shares the viewer's image memory equally among the viewports showing a study, when
    /// their number changes (the setting is read then, not every frame).
    fn share_memory(&mut self, practice: &Practice) {
        let showing = self.panes.iter().filter(|p| !p.is_empty()).count().max(1);
        if showing == self.shared_among {
            return;
        }
        self.shared_among = showing;
        let share =
            crate::viewing::memory_share_bytes(super::viewer::viewer_memory_mib(practice), showing);
        for p in &mut self.panes {
            p.set_memory_share(share);
        }
    }

    /// Each viewport's share of the image memory (tests).
    pub fn memory_shares(&self) -> Vec<Option<usize>> {
        self.panes.iter().map(Pane::memory_share).collect()
    }

    /// Whether every pane with a study has drawn its image (reference images wait for it).
    pub fn every_pane_drawn(&self) -> bool {
        self.panes
            .iter()
            .all(|p| p.is_empty() || p.shown_size().is_some())
    }

    /// Each pane's series load onto the GPU: (loaded, total).
    pub fn panes_loaded(&self) -> Vec<(usize, usize)> {
        self.panes.iter().map(Pane::series_loaded).collect()
    }

    /// Each pane's image index (tests of synchronised scrolling).
    pub fn image_positions(&self) -> Vec<usize> {
        self.panes.iter().map(|p| p.position().1).collect()
    }

    /// Who and what the viewer shows (the patient and the study), for a window's title.
    pub fn title(&self) -> String {
        self.active().title().to_string()
    }

    /// Draws the screen.
    pub fn show(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        self.share_memory(practice);
        for p in &mut self.panes {
            p.tick(ui, practice, self.screen.as_ref());
        }
        self.poll_prior_fetch(ui, practice, actor);
        self.active_mut().show_toolbar(ui, practice);
        super::show_outcome(ui, self.message.as_ref().or(self.active().message()));
        if self.panes.iter().all(|p| p.is_empty()) {
            ui.label(
                "Open a study from the Studies screen or the reading worklist, or import images.",
            );
            return;
        }
        self.show_protocol_bar(ui, practice, actor);
        egui::Panel::left("viewer_series")
            .resizable(true)
            .default_size(150.0)
            .show(ui, |ui| {
                let i = self.active.min(self.panes.len() - 1);
                self.panes[i].show_side(ui, practice);
            });
        egui::Panel::right("viewer_measurements")
            .resizable(true)
            .default_size(220.0)
            .show(ui, |ui| {
                let i = self.active.min(self.panes.len() - 1);
                self.panes[i].show_measurements(ui, practice, actor);
            });
        let ctx = ui.ctx().clone();
        self.active_mut().show_tags_window(&ctx);
        egui::CentralPanel::default()
            .frame(egui::Frame::default().fill(egui::Color32::BLACK))
            .show(ui, |ui| self.show_grid(ui, practice, actor));
        self.follow_scroll();
    }

    fn show_grid(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        let area = ui.available_rect_before_wrap();
        let (rows, columns) = (
            usize::from(self.rows.max(1)),
            usize::from(self.columns.max(1)),
        );
        let cell = egui::vec2(area.width() / columns as f32, area.height() / rows as f32);
        let many = self.panes.len() > 1;
        for (i, pane) in self.panes.iter_mut().enumerate() {
            let (r, c) = (i / columns, i % columns);
            if r >= rows {
                break;
            }
            let rect = egui::Rect::from_min_size(
                area.min + egui::vec2(c as f32 * cell.x, r as f32 * cell.y),
                cell,
            )
            .shrink(if many { 1.5 } else { 0.0 });
            let mut child = ui.new_child(egui::UiBuilder::new().max_rect(rect));
            child.set_clip_rect(rect);
            if pane.is_empty() {
                child.painter().text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    "no series for this viewport",
                    egui::FontId::proportional(13.0),
                    egui::Color32::from_gray(140),
                );
            } else {
                pane.show_viewport(&mut child, practice, actor, i == self.active);
            }
            if many {
                // A press on this pane itself, not on a menu or popup over it (regression: a
                // window preset chosen from a popup lying over the other pane made that pane
                // active, and linking then copied its window back over the choice).
                let layer = ui.layer_id();
                let press = ui.input(|inp| {
                    inp.pointer
                        .interact_pos()
                        .filter(|p| inp.pointer.any_pressed() && rect.contains(*p))
                });
                let pressed = press.is_some_and(|p| ui.ctx().layer_id_at(p) == Some(layer));
                if pressed {
                    self.active = i;
                }
                let colour = if i == self.active {
                    egui::Color32::from_rgb(255, 210, 0)
                } else {
                    egui::Color32::from_gray(60)
                };
                ui.painter().rect_stroke(
                    rect,
                    0.0,
                    egui::Stroke::new(1.0, colour),
                    egui::StrokeKind::Inside,
                );
            }
        }
        // Reference lines: where the active pane's image lies, drawn on the others.
        self.reference_lines = 0;
        if many && let Some(active) = self.panes.get(self.active).and_then(|p| p.plane().cloned()) {
            let painter = ui.painter_at(area);
            for (i, pane) in self.panes.iter().enumerate() {
                if i != self.active && pane.paint_reference_line(&painter, &active) {
                    self.reference_lines += 1;
                }
            }
        }
        ui.allocate_rect(area, egui::Sense::hover());
    }

    /// Reference lines drawn in the last frame (tests).
    pub fn reference_lines(&self) -> usize {
        self.reference_lines
    }

    /// Synchronised scrolling: when the active pane moved, each other pane goes to the slice at
    /// the same place — by patient position in the same frame of reference, by distance from
    /// the anchor across frames — or, where slice positions are unknown (not loaded yet, no
    /// geometry, no anchor), as many images; with linking on, the others also take its window
    /// and zoom.
    fn follow_scroll(&mut self) {
        if self.link_view && self.panes.len() > 1 {
            let a = self.active.min(self.panes.len() - 1);
            let (window, zoom) = self.panes[a].view_settings();
            for (i, p) in self.panes.iter_mut().enumerate() {
                if i != a && !p.is_empty() {
                    p.follow_view(window, zoom);
                }
            }
        }
        let now: Vec<usize> = self.panes.iter().map(|p| p.position().1).collect();
        if self.sync_scroll && now.len() == self.positions.len() {
            let a = self.active.min(now.len() - 1);
            let delta = now[a] as i64 - self.positions[a] as i64;
            if delta != 0 {
                let leader = self.panes[a].slice_place(now[a]).cloned();
                let anchor = self.sync_anchor.clone();
                for (i, p) in self.panes.iter_mut().enumerate() {
                    if i == a || p.is_empty() {
                        continue;
                    }
                    let anchor = anchor.as_ref().and_then(|at| {
                        Some(crate::imaging::geometry::SyncAnchor {
                            leader_mm: (*at.get(a)?)?,
                            follower_mm: (*at.get(i)?)?,
                        })
                    });
                    let slice = leader.as_ref().and_then(|l| {
                        crate::imaging::geometry::synced_slice(l, p.slice_places(), anchor)
                    });
                    match slice {
                        Some(index) => p.scroll_to(index),
                        None => p.scroll_by(delta),
                    }
                }
            }
        }
        self.positions = self.panes.iter().map(|p| p.position().1).collect();
    }

    // The active pane's state, for the shell and the tests.

    /// Text for the exam's report, once.
    pub fn take_report_insert(&mut self) -> Option<(String, String)> {
        self.panes.iter_mut().find_map(|p| p.take_report_insert())
    }

    /// A notice under the toolbar.
    pub fn say(&mut self, text: &str) {
        self.active_mut().say(text);
    }

    /// The active pane's series.
    pub fn series(&self) -> &[ViewerSeries] {
        self.active().series()
    }

    /// (series, image) of the active pane.
    pub fn position(&self) -> (usize, usize) {
        self.active().position()
    }

    /// The active pane's zoom (screen pixels per image pixel).
    pub fn shown_zoom(&self) -> f32 {
        self.active().shown_zoom()
    }

    /// The active pane's window.
    pub fn shown_window(&self) -> Option<Window> {
        self.active().shown_window()
    }

    /// The active pane's image size, once drawn.
    pub fn shown_size(&self) -> Option<[usize; 2]> {
        self.active().shown_size()
    }

    /// The active pane's last rendered pixels.
    pub fn shown_pixels(&self) -> Option<&[u8]> {
        self.active().shown_pixels()
    }

    /// Where the active pane's image is on screen.
    pub fn image_rect(&self) -> Option<egui::Rect> {
        self.active().image_rect()
    }

    /// The active pane's measurements.
    pub fn measurements(&self) -> Vec<(i64, String)> {
        self.active().measurements()
    }

    /// The active pane's tool and view: (tool, quarter turns, flipped, inverted) (tests of the
    /// toolbar's keys).
    pub fn tool_and_view(&self) -> (&'static str, u8, bool, bool) {
        self.active().tool_and_view()
    }

    /// The active pane's study's key images.
    pub fn key_images(&self) -> &[(String, u32)] {
        self.active().key_images()
    }

    /// The priors listed.
    pub fn priors(&self) -> Vec<String> {
        self.active().priors()
    }

    /// The active pane's study.
    pub fn study_uid(&self) -> Option<&str> {
        self.active().study_uid()
    }

    /// Whether an import is running.
    pub fn importing(&self) -> bool {
        self.panes.iter().any(|p| p.importing())
    }

    /// Memory the viewer holds over all its panes: (decoded frames on the CPU, series on the
    /// GPU), in bytes.
    pub fn memory_bytes(&self) -> (usize, usize) {
        self.panes
            .iter()
            .map(Pane::memory_bytes)
            .fold((0, 0), |(c, g), (pc, pg)| (c + pc, g + pg))
    }

    /// The active pane's series load onto the GPU: (slices loaded, slices).
    pub fn series_loaded(&self) -> (usize, usize) {
        self.active().series_loaded()
    }

    /// Thumbnails drawn in the active pane.
    pub fn thumbnail_count(&self) -> usize {
        self.active().thumbnail_count()
    }

    /// Scrolls the active pane.
    pub fn scroll_by(&mut self, by: i64) {
        self.active_mut().scroll_by(by);
    }

    /// Shows a series in the active pane.
    pub fn show_series(&mut self, index: usize) {
        self.active_mut().show_series(index);
    }

    /// Starts an import.
    pub fn start_import(&mut self, paths: Vec<std::path::PathBuf>) {
        self.active_mut().start_import(paths);
    }
}
