//! The viewer's toolbar and side panel: view tools, window presets, cine, the priors and the
//! series list.

use super::measure_tools::Tool;
use super::render_thread::THUMBNAIL_PX;
use super::*;
use egui_material_icons::icons;

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

    /// The viewer's one compact toolbar: the patient and study first (who is on screen), then
    /// icon buttons in groups (view, measuring tools, window, display, output, import), each
    /// named in its tooltip with its key.
    pub(crate) fn show_toolbar(&mut self, ui: &mut egui::Ui, practice: &Practice) {
        ui.horizontal(|ui| {
            ui.strong(&self.title);
        });
        let keys = ToolbarKeys::read(ui);
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 2.0;
            if icon_button(ui, icons::ICON_FIT_SCREEN, "Fit", "F", false).clicked() || keys.fit {
                self.zoom = None;
                self.pan = egui::Vec2::ZERO;
            }
            if icon_button(ui, icons::ICON_ASPECT_RATIO, "1:1", "1", false).clicked()
                || keys.actual_size
            {
                self.zoom = Some(1.0);
                self.pan = egui::Vec2::ZERO;
            }
            if icon_button(ui, icons::ICON_RESTART_ALT, "Reset", "X", false).clicked() || keys.reset
            {
                self.zoom = None;
                self.pan = egui::Vec2::ZERO;
                self.window = None;
                self.quarter_turns = 0;
                self.flipped = false;
                self.message = None;
                self.inverted = false;
                self.needs_render = true;
            }
            if icon_button(ui, icons::ICON_ROTATE_RIGHT, "Rotate", "R", false).clicked()
                || keys.rotate
            {
                self.quarter_turns = (self.quarter_turns + 1) % 4;
            }
            if icon_button(ui, icons::ICON_FLIP, "Flip", "H", self.flipped).clicked() || keys.flip {
                self.flipped = !self.flipped;
            }
            if icon_button(ui, icons::ICON_INVERT_COLORS, "Invert", "I", self.inverted).clicked()
                || keys.invert
            {
                self.inverted = !self.inverted;
                self.needs_render = true;
            }
            ui.separator();
            for tool in Tool::ALL {
                let pressed = keys.tool == Some(tool);
                if icon_button(
                    ui,
                    tool.icon(),
                    tool.title(),
                    tool.key_name(),
                    self.tool == tool,
                )
                .clicked()
                    || pressed
                {
                    self.tool = tool;
                    self.drawing.clear();
                }
            }
            match self.tool {
                Tool::Text => {
                    let label = ui.label("Label text");
                    ui.add(egui::TextEdit::singleline(&mut self.label_text).desired_width(120.0))
                        .labelled_by(label.id);
                }
                Tool::Calibrate => {
                    let label = ui.label("Known length (mm)");
                    ui.add(egui::TextEdit::singleline(&mut self.known_mm).desired_width(50.0))
                        .labelled_by(label.id);
                }
                _ => {}
            }
            ui.separator();
            self.show_preset_picker(ui, practice);
            ui.separator();
            if icon_button(ui, icons::ICON_LOUPE, "Magnifier", "M", self.magnifier).clicked()
                || keys.magnifier
            {
                self.magnifier = !self.magnifier;
            }
            if icon_button(
                ui,
                icons::ICON_SUBTITLES,
                "Overlays",
                "O",
                !self.overlays_hidden,
            )
            .clicked()
                || keys.overlays
            {
                self.overlays_hidden = !self.overlays_hidden;
            }
            if self.overlay_planes.is_some()
                && icon_button(
                    ui,
                    icons::ICON_LAYERS,
                    "Overlay planes",
                    "",
                    !self.planes_hidden,
                )
                .on_hover_text("the image's own graphics and region planes (60xx)")
                .clicked()
            {
                self.planes_hidden = !self.planes_hidden;
            }
            let playing = self.cine_fps.is_some();
            let cine_icon = if playing {
                icons::ICON_PAUSE
            } else {
                icons::ICON_PLAY_ARROW
            };
            if icon_button(ui, cine_icon, "Cine", "Space", playing).clicked() || keys.cine {
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
            if ui
                .add_enabled_ui(
                    // Also while a new view is being drawn: the read back queues behind it.
                    self.shown.is_some() && !self.export_pending,
                    |ui| icon_button(ui, icons::ICON_SAVE_ALT, "Export PNG", "", false),
                )
                .inner
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
            if icon_button(
                ui,
                icons::ICON_MONITOR_HEART,
                "Diagnostics",
                "",
                self.diagnostics,
            )
            .on_hover_text("where images are drawn and the memory they take")
            .clicked()
            {
                self.diagnostics = !self.diagnostics;
            }
            self.show_import_menu(ui);
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

impl Pane {
    /// The window presets of the modality, by name with width/centre; the label names the
    /// picker (a picker before its label reads as "choose what?").
    fn show_preset_picker(&mut self, ui: &mut egui::Ui, practice: &Practice) {
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
        if presets.is_empty() {
            return;
        }
        // Digits 2…9 pick the modality's presets in order (1 is actual size).
        let typed = ToolbarKeys::preset_digit(ui);
        let label = ui.label("Window preset");
        let current = self.window.and_then(|w| {
            presets
                .iter()
                .find(|(_, p)| (p.width - w.width).abs() < 0.5 && (p.center - w.center).abs() < 0.5)
                .map(|(name, _)| name.clone())
        });
        egui::ComboBox::from_id_salt("window_preset")
            .selected_text(current.unwrap_or_else(|| "as stored".into()))
            .show_ui(ui, |ui| {
                for (n, (name, w)) in presets.iter().enumerate() {
                    let entry = ui.selectable_label(
                        false,
                        format!("{name} ({:.0}/{:.0})", w.width, w.center),
                    );
                    let entry = if n < 8 {
                        entry.on_hover_text(format!("key {}", n + 2))
                    } else {
                        entry
                    };
                    if entry.clicked() {
                        self.window = Some(*w);
                        self.needs_render = true;
                    }
                }
            })
            .response
            .labelled_by(label.id);
        if let Some((_, w)) = typed.and_then(|n| presets.get(n)) {
            self.window = Some(*w);
            self.needs_render = true;
        }
    }

    /// Importing files from disk or a CD: a menu, since it is not part of reading.
    fn show_import_menu(&mut self, ui: &mut egui::Ui) {
        let idle =
            self.import.as_ref().is_none_or(|j| j.summary.is_some()) && self.picked.is_none();
        let ready = idle && self.archive_running();
        ui.separator();
        // Typing a path must not close the menu: it closes on a click outside it.
        let menu = egui::containers::menu::MenuButton::new(egui::RichText::new(format!(
            "{} Import images",
            icons::ICON_FILE_OPEN.codepoint
        )))
        .config(
            egui::containers::menu::MenuConfig::new()
                .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside),
        )
        .ui(ui, |ui| {
            if ui
                .add_enabled(ready, egui::Button::new("Import files…"))
                .clicked()
            {
                self.pick(false);
                ui.close();
            }
            if ui
                .add_enabled(ready, egui::Button::new("Import folder…"))
                .clicked()
            {
                self.pick(true);
                ui.close();
            }
            ui.horizontal(|ui| {
                let label = ui.label("or path");
                ui.add(egui::TextEdit::singleline(&mut self.import_path).desired_width(220.0))
                    .labelled_by(label.id);
                if ui
                    .add_enabled(
                        ready && !self.import_path.trim().is_empty(),
                        egui::Button::new("Import"),
                    )
                    .clicked()
                {
                    let path = PathBuf::from(self.import_path.trim());
                    self.import_path.clear();
                    self.start_import(vec![path]);
                    ui.close();
                }
            });
            ui.weak("Files and folders dropped on the window are imported too.");
        });
        menu.0
            .on_hover_text("import DICOM files, folders or a CD (DICOMDIR)");
    }
}

/// One icon button of the viewer's toolbar. Its name is its tooltip (with its key) and what a
/// screen reader (and the tests) call it, so an icon never stands alone.
fn icon_button(
    ui: &mut egui::Ui,
    icon: egui_material_icons::MaterialIcon,
    name: &str,
    key: &str,
    selected: bool,
) -> egui::Response {
    let response = ui
        .add(egui::Button::selectable(
            selected,
            icon.rich_text().size(18.0),
        ))
        .on_hover_text(if key.is_empty() {
            name.to_string()
        } else {
            format!("{name} ({key})")
        });
    let enabled = response.enabled();
    response
        .widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, enabled, selected, name));
    response
}

/// The viewer's single keys, read once a frame — only while no text field has the keyboard
/// (a report being typed beside the images must not rotate them).
#[derive(Default)]
struct ToolbarKeys {
    fit: bool,
    actual_size: bool,
    reset: bool,
    rotate: bool,
    flip: bool,
    invert: bool,
    magnifier: bool,
    overlays: bool,
    cine: bool,
    tool: Option<Tool>,
}

impl ToolbarKeys {
    fn free(ui: &egui::Ui) -> bool {
        ui.memory(|m| m.focused().is_none())
    }

    fn read(ui: &egui::Ui) -> ToolbarKeys {
        if !Self::free(ui) {
            return ToolbarKeys::default();
        }
        ui.input(|i| {
            let pressed = |key| i.key_pressed(key) && i.modifiers.is_none();
            ToolbarKeys {
                fit: pressed(egui::Key::F),
                actual_size: pressed(egui::Key::Num1),
                reset: pressed(egui::Key::X),
                rotate: pressed(egui::Key::R),
                flip: pressed(egui::Key::H),
                invert: pressed(egui::Key::I),
                magnifier: pressed(egui::Key::M),
                overlays: pressed(egui::Key::O),
                cine: pressed(egui::Key::Space),
                tool: Tool::ALL.into_iter().find(|t| pressed(t.key())),
            }
        })
    }

    /// Which preset (0-based) a digit 2…9 asked for.
    fn preset_digit(ui: &egui::Ui) -> Option<usize> {
        if !Self::free(ui) {
            return None;
        }
        ui.input(|i| {
            crate::DIGIT_KEYS[1..]
                .iter()
                .position(|k| i.key_pressed(*k) && i.modifiers.is_none())
        })
    }
}
