//! The measurement tools: length, angle, ROI and arrow, drawn on the image, saved with the
//! study, listed beside it and copied into the report.

use super::image_view::Drawn;
use super::*;

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
    pub(super) const ALL: [Tool; 10] = [
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

    pub(super) fn title(self) -> &'static str {
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

    /// The tool's icon in the toolbar.
    pub(super) fn icon(self) -> egui_material_icons::MaterialIcon {
        use egui_material_icons::icons::*;
        match self {
            Tool::Navigate => ICON_PAN_TOOL,
            Tool::Length => ICON_STRAIGHTEN,
            Tool::Angle => ICON_CHANGE_HISTORY,
            Tool::Cobb => ICON_SHOW_CHART,
            Tool::Ellipse => ICON_RADIO_BUTTON_UNCHECKED,
            Tool::Rectangle => ICON_CROP_SQUARE,
            Tool::Point => ICON_COLORIZE,
            Tool::Arrow => ICON_NORTH_EAST,
            Tool::Text => ICON_TEXT_FIELDS,
            Tool::Calibrate => ICON_SQUARE_FOOT,
        }
    }

    /// The key that picks the tool (the first letter where it is free).
    pub(super) fn key(self) -> egui::Key {
        match self {
            Tool::Navigate => egui::Key::P,
            Tool::Length => egui::Key::L,
            Tool::Angle => egui::Key::A,
            Tool::Cobb => egui::Key::B,
            Tool::Ellipse => egui::Key::E,
            Tool::Rectangle => egui::Key::Q,
            Tool::Point => egui::Key::V,
            Tool::Arrow => egui::Key::W,
            Tool::Text => egui::Key::T,
            Tool::Calibrate => egui::Key::K,
        }
    }

    /// The key's name for the tooltip.
    pub(super) fn key_name(self) -> &'static str {
        self.key().name()
    }

    /// Clicks a shape of this tool takes (0: drawn by dragging).
    pub(super) fn clicks(self) -> usize {
        match self {
            Tool::Angle => 3,
            Tool::Cobb => 4,
            Tool::Point | Tool::Text => 1,
            _ => 0,
        }
    }
}

impl Pane {
    /// A shape drawn by dragging from `a` to `b` with the current tool.
    pub(super) fn dragged_shape(&self, a: ImagePoint, b: ImagePoint) -> Drawn {
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

    pub(super) fn finish_shape(
        &mut self,
        drawn: Drawn,
        practice: &Practice,
        actor: &crate::access::Actor,
    ) {
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

    pub(crate) fn show_measurements(
        &mut self,
        ui: &mut egui::Ui,
        practice: &Practice,
        actor: &crate::access::Actor,
    ) {
        // The study's actions first, the image's measurements under them: a measurement drawn
        // or deleted must not move a button under the radiologist's mouse.
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
            self.message = Some(match services.archive_running() {
                false => (
                    false,
                    "Saving marks needs the archive services, which are not running.".into(),
                ),
                true => match practice.export_marks(
                    services.archiver(),
                    actor,
                    &study,
                    chrono::Local::now().naive_local(),
                    self.window,
                ) {
                    Ok(done) => (
                        true,
                        format!(
                            "Archived with the study: {}, {}.",
                            counted(done.key_object_documents, "key image document"),
                            counted(done.presentation_states, "presentation state")
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
        ui.separator();
        ui.strong("Measurements");
        ui.weak(format!("Scale: {}", self.current_calibration().describe()));
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
        if let (Some(id), Some(study)) = (remove, self.study_uid.clone()) {
            match practice.remove_annotation(actor, &study, id) {
                Ok(()) => self.annotations.retain(|a| a.id != id),
                Err(e) => self.message = Some((false, format!("Not deleted: {e}."))),
            }
        }
    }

    /// Key images and the current image's measurements as report text.
    pub(super) fn report_text(&self) -> String {
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
}

/// "1 presentation state", "2 presentation states", "0 presentation states".
fn counted(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}
