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

    /// Lays the panes out by `name`'s protocol, or the best match when None; one pane when
    /// nothing matches.
    fn hang(&mut self, practice: &Practice, name: Option<&str>) {
        let Some(current) = self.exam_study() else {
            return;
        };
        let protocols = practice.hanging_protocols().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "hanging protocols could not be read");
            Vec::new()
        });
        self.protocol_names = protocols.iter().map(|p| p.name.clone()).collect();
        let facts = self.facts();
        let chosen = match name {
            Some(n) => protocols.iter().find(|p| p.name == n).cloned(),
            None => hanging::choose(&protocols, &facts).cloned(),
        };
        let Some(protocol) = chosen else {
            self.protocol = None;
            return;
        };
        // The studies the protocol may use: the exam, then its priors in relevance order.
        let mut uids = vec![current.clone()];
        if let Some((_, priors)) = &self.priors {
            uids.extend(priors.iter().map(|p| p.study_uid.clone()));
        }
        let mut studies: Vec<Vec<ViewerSeries>> = Vec::new();
        let needed = protocol
            .viewports
            .iter()
            .map(|v| v.series.study)
            .max()
            .unwrap_or(0);
        for uid in uids.iter().take(needed + 1) {
            let mut probe = Pane::default();
            probe.open(practice, uid);
            studies.push(probe.series().to_vec());
        }
        let facts_of: Vec<Vec<SeriesFacts>> = studies
            .iter()
            .map(|series| {
                series
                    .iter()
                    .map(|s| SeriesFacts {
                        description: s.description.clone(),
                        plane: s.plane,
                    })
                    .collect()
            })
            .collect();
        let assignment = protocol.assign(&facts_of);
        let mut panes = Vec::new();
        for (rule, slot) in protocol.viewports.iter().zip(&assignment) {
            let mut pane = Pane::default();
            if let Some(s) = &self.services {
                pane.set_services(s.clone());
            }
            if let Some((study, series)) = slot {
                pane.open(practice, &uids[*study]);
                if let Some((c, p)) = &self.priors {
                    pane.set_priors(c, p.clone());
                }
                pane.show_series(*series);
                pane.set_initial_window(rule.window.map(|w| Window {
                    center: w.center,
                    width: w.width,
                }));
            }
            panes.push(pane);
        }
        if panes.iter().all(|p| p.is_empty()) {
            self.protocol = None;
            return;
        }
        self.rows = protocol.rows;
        self.columns = protocol.columns;
        self.sync_scroll = protocol.sync_scroll;
        self.positions = vec![0; panes.len()];
        self.sync_anchor = None;
        self.shared_among = 0;
        self.panes = panes;
        self.active = self.panes.iter().position(|p| !p.is_empty()).unwrap_or(0);
        tracing::info!(protocol = %protocol.name, viewports = self.panes.len(), "study hung");
        self.protocol = Some(protocol);
    }

    /// The protocol hung (its name), if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_ref().map(|p| p.name.as_str())
    }

    /// (rows, columns) of the layout.
    pub fn layout(&self) -> (u8, u8) {
        (self.rows, self.columns)
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

    /// Each pane's series load onto the GPU: (slices loaded, slices).
    pub fn panes_loaded(&self) -> Vec<(usize, usize)> {
        self.panes.iter().map(Pane::series_loaded).collect()
    }

    /// Each pane's image index (tests of synchronised scrolling).
    pub fn image_positions(&self) -> Vec<usize> {
        self.panes.iter().map(|p| p.position().1).collect()
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

    fn show_protocol_bar(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        let mut switch: Option<Option<String>> = None;
        let mut layout: Option<(u8, u8)> = None;
        ui.horizontal_wrapped(|ui| {
            let names = self.protocol_names.clone();
            egui::ComboBox::from_label("Hanging protocol")
                .selected_text(self.protocol().unwrap_or("one image (no protocol)"))
                .show_ui(ui, |ui| {
                    if ui
                        .selectable_label(self.protocol.is_none(), "one image (no protocol)")
                        .clicked()
                    {
                        switch = Some(None);
                    }
                    for n in names {
                        if ui
                            .selectable_label(self.protocol() == Some(n.as_str()), &n)
                            .clicked()
                        {
                            switch = Some(Some(n));
                        }
                    }
                });
            egui::ComboBox::from_label("Layout")
                .selected_text(format!("{}×{}", self.rows, self.columns))
                .show_ui(ui, |ui| {
                    for (r, c) in [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (3, 3), (4, 4)] {
                        if ui.selectable_label(false, format!("{r}×{c}")).clicked() {
                            layout = Some((r, c));
                        }
                    }
                });
            ui.checkbox(&mut self.sync_scroll, "Sync scroll");
            if self.panes.len() > 1 {
                let anchored = self.sync_anchor.is_some();
                let anchor = ui
                    .selectable_label(anchored, "Anchor sync here")
                    .on_hover_text(
                        "The panes show the same anatomy now: stacks in different frames of \
                         reference (a prior) scroll together by distance from here",
                    );
                if anchor.clicked() {
                    self.sync_anchor = if anchored {
                        None
                    } else {
                        Some(
                            self.panes
                                .iter()
                                .map(|p| {
                                    p.slice_place(p.position().1)
                                        .map(crate::imaging::geometry::ImagePlane::location_mm)
                                })
                                .collect(),
                        )
                    };
                    self.sync_scroll = true;
                }
            }
            ui.checkbox(&mut self.link_view, "Link window and zoom");
            ui.separator();
            let label = ui.label("New protocol name");
            ui.add(egui::TextEdit::singleline(&mut self.protocol_name).desired_width(160.0))
                .labelled_by(label.id);
            if ui.button("Save layout as protocol").clicked() {
                self.save_layout(practice, actor);
            }
        });
        if let Some((rows, columns)) = layout {
            self.set_layout(practice, rows, columns);
        }
        match switch {
            Some(Some(name)) => self.hang(practice, Some(&name)),
            Some(None) => {
                if let Some(uid) = self.exam_study() {
                    let priors = self.priors.clone();
                    let mut pane = Pane::default();
                    if let Some(s) = &self.services {
                        pane.set_services(s.clone());
                    }
                    pane.open(practice, &uid);
                    if let Some((c, p)) = priors {
                        pane.set_priors(&c, p);
                    }
                    self.panes = vec![pane];
                    self.positions = vec![0];
                    self.sync_anchor = None;
                    self.shared_among = 0;
                    self.active = 0;
                    self.rows = 1;
                    self.columns = 1;
                    self.protocol = None;
                    self.sync_scroll = false;
                }
            }
            None => {}
        }
    }

    /// A layout chosen by hand: the panes there are kept, new ones show the current study's
    /// next series in order.
    pub fn set_layout(&mut self, practice: &Practice, rows: u8, columns: u8) {
        let Some(current) = self.exam_study() else {
            return;
        };
        let wanted = usize::from(rows) * usize::from(columns);
        self.panes.truncate(wanted);
        let series_count = self.panes[0].series().len().max(1);
        while self.panes.len() < wanted {
            let mut pane = Pane::default();
            if let Some(s) = &self.services {
                pane.set_services(s.clone());
            }
            pane.open(practice, &current);
            if let Some((c, p)) = &self.priors {
                pane.set_priors(c, p.clone());
            }
            pane.show_series(self.panes.len() % series_count);
            self.panes.push(pane);
        }
        self.rows = rows;
        self.columns = columns;
        self.positions = self.panes.iter().map(|p| p.position().1).collect();
        self.shared_among = 0;
        self.active = self.active.min(self.panes.len() - 1);
    }

    /// "Save this layout as the protocol for studies like this".
    fn save_layout(&mut self, practice: &Practice, actor: &Actor) {
        let name = self.protocol_name.trim().to_string();
        if name.is_empty() {
            self.message = Some((false, "Give the new protocol a name first.".into()));
            return;
        }
        let current = self.exam_study();
        let mut uids = current.into_iter().collect::<Vec<_>>();
        if let Some((_, priors)) = &self.priors {
            uids.extend(priors.iter().map(|p| p.study_uid.clone()));
        }
        let viewports = self
            .panes
            .iter()
            .map(|p| {
                let study = p
                    .study_uid()
                    .and_then(|u| uids.iter().position(|x| x == u))
                    .unwrap_or(0);
                let description = p
                    .series()
                    .get(p.position().0)
                    .map(|s| s.description.clone())
                    .unwrap_or_default();
                let plane = p.series().get(p.position().0).and_then(|s| s.plane);
                hanging::ViewportRule {
                    series: hanging::SeriesRule {
                        study,
                        description,
                        plane,
                        nth: 0,
                    },
                    window: None,
                }
            })
            .collect();
        let protocol = crate::viewing::protocol_like(
            &name,
            &self.facts(),
            self.rows,
            self.columns,
            viewports,
            self.sync_scroll,
        );
        self.message = Some(match practice.save_protocol(actor, &protocol) {
            Ok(()) => {
                if !self.protocol_names.contains(&protocol.name) {
                    self.protocol_names.push(protocol.name.clone());
                }
                self.protocol = Some(protocol);
                (
                    true,
                    format!("Saved: studies like this one now hang as \"{name}\"."),
                )
            }
            Err(crate::viewing::ViewingError::Access(_)) => (
                false,
                "Only a radiologist may save hanging protocols.".into(),
            ),
            Err(e) => (false, format!("Not saved: {e}.")),
        });
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
