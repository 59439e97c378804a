//! The viewer's toolbar and side panel: view tools, window presets, cine, the priors and the
//! series list.

use super::measure_tools::Tool;
use super::render_thread::THUMBNAIL_PX;
use super::*;

impl Pane {
    /// The notice under the toolbar.
    pub(crate) fn message(&self) -> Option<&(bool, String)> {
        self.message.as_ref()
    }

    /// The left panel: the exam's priors and this pane's series.
    pub(crate) fn show_side(&mut self, ui: &mut egui::Ui, practice: &Practice) {
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
                    crate::study_browser::display_date(&p.study_date),
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

    pub(crate) fn show_toolbar(&mut self, ui: &mut egui::Ui, practice: &Practice) {
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
            if ui
                .selectable_label(self.diagnostics, "Diagnostics")
                .on_hover_text("where images are drawn and the memory they take")
                .clicked()
            {
                self.diagnostics = !self.diagnostics;
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
                let label = ui.label("Window preset");
                egui::ComboBox::from_id_salt("window_preset")
                    .selected_text("pick…")
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
                    })
                    .response
                    .labelled_by(label.id);
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

    pub(crate) fn show_series_list(&mut self, ui: &mut egui::Ui) {
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
}
