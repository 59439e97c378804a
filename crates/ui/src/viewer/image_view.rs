//! The image viewport: the drawn image with its zoom, pan and rotation, the corner overlay,
//! reference lines, annotations, and Export PNG.

use super::measure_tools::Tool;
use super::*;

/// One Ctrl+wheel notch zooms by 10 %.
const ZOOM_STEP: f32 = 1.1;

/// Bytes in mebibytes, for the status corner.
pub(super) fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}

/// What the user finished drawing.
pub(super) enum Drawn {
    /// A measurement or annotation.
    Shape(Shape),
    /// A line of known length for a manual calibration.
    Calibration(ImagePoint, ImagePoint),
}

impl Pane {
    /// Draws this pane's image into `ui` (a grid cell); `active` panes take the keys.
    pub(crate) fn show_viewport(
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

    /// Draws where `other`'s plane cuts this pane's image (a reference line); returns whether
    /// there was one.
    pub(crate) fn paint_reference_line(
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

    pub(super) fn show_image(&mut self, ui: &mut egui::Ui, active: bool) -> Option<Drawn> {
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
            let (scroll, notches, zoom_delta, ctrl, pointer) = ui.input(|i| {
                // Each wheel event with the modifiers it came with: Ctrl+wheel zooms.
                let wheel: Vec<(f32, bool)> = i
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        egui::Event::MouseWheel {
                            delta, modifiers, ..
                        } if delta.y != 0.0 => Some((delta.y, modifiers.command)),
                        _ => None,
                    })
                    .collect();
                let notches: i32 = wheel
                    .iter()
                    .filter(|(_, ctrl)| *ctrl)
                    .map(|(d, _)| if *d > 0.0 { 1 } else { -1 })
                    .sum();
                let scroll: f32 = wheel
                    .iter()
                    .filter(|(_, ctrl)| !*ctrl)
                    .map(|(d, _)| d)
                    .sum();
                // A trackpad pinch arrives as Zoom events (egui's own zoom_delta also carries a
                // smoothed Ctrl+wheel, which would zoom again after each notch).
                let pinch: f32 = i
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        egui::Event::Zoom(f) => Some(*f),
                        _ => None,
                    })
                    .product();
                (
                    scroll,
                    notches,
                    pinch,
                    i.modifiers.command || wheel.iter().any(|(_, ctrl)| *ctrl),
                    i.pointer.hover_pos(),
                )
            });
            if ctrl || zoom_delta != 1.0 {
                // A wheel notch is 10 %, whatever the platform reports per notch; a touchpad
                // pinch is followed but never more than 10 % a frame.
                let factor = if notches != 0 {
                    ZOOM_STEP.powi(notches)
                } else if ctrl {
                    // Ctrl held without a notch this frame: egui's own wheel zoom is ignored.
                    1.0
                } else {
                    zoom_delta.clamp(1.0 / ZOOM_STEP, ZOOM_STEP)
                };
                if factor != 1.0 {
                    let fit = self.fit_zoom(rect);
                    let before = self.zoom.unwrap_or(fit);
                    let after = (before * factor).clamp(0.05, 40.0);
                    // About the cursor: the point under it stays under it.
                    if let Some(p) = pointer {
                        let from_centre = p - rect.center() - self.pan;
                        self.pan += from_centre * (1.0 - after / before);
                    }
                    self.zoom = Some(after);
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
                let corner = outlined_text(
                    &painter,
                    rect.left_top() + egui::vec2(8.0, 8.0),
                    egui::Align2::LEFT_TOP,
                    &text,
                    egui::FontId::proportional(13.0),
                    egui::Color32::from_gray(235),
                    rect,
                );
                if let Some(o) = self.orientation {
                    let [top, right, bottom, left] = t.edge_labels(o);
                    // A marker never lands on the corner text: it moves below it.
                    let marker = |at: egui::Pos2, align: egui::Align2, label: &str| {
                        let font = egui::FontId::proportional(15.0);
                        let size = painter
                            .layout_no_wrap(label.to_string(), font.clone(), egui::Color32::WHITE)
                            .size();
                        let mut place = align.anchor_size(at, size);
                        if place.intersects(corner.expand(2.0)) {
                            place = place
                                .translate(egui::vec2(0.0, corner.bottom() + 4.0 - place.top()));
                        }
                        outlined_text(
                            &painter,
                            place.left_top(),
                            egui::Align2::LEFT_TOP,
                            label,
                            font,
                            egui::Color32::from_rgb(120, 220, 255),
                            rect,
                        );
                    };
                    // At the viewport's edges, as reading software puts them, not on a small image.
                    let r = rect.shrink(2.0);
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
            if self.diagnostics {
                painter.text(
                    rect.right_bottom() - egui::vec2(8.0, 8.0),
                    egui::Align2::RIGHT_BOTTOM,
                    self.memory_text(),
                    egui::FontId::proportional(11.0),
                    egui::Color32::from_gray(160),
                );
            }
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

    /// The status corner: where images are drawn, the series' load onto the GPU, memory.
    pub(super) fn memory_text(&self) -> String {
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

    /// Draws the current image's annotations over it.
    pub(super) fn paint_annotations(
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
        // Labels already placed: the next one goes below rather than over them.
        let mut placed: Vec<egui::Rect> = Vec::new();
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
                let size = painter
                    .layout_no_wrap(text.clone(), font.clone(), egui::Color32::WHITE)
                    .size();
                let mut at = egui::Align2::LEFT_BOTTOM
                    .anchor_size(label_at + egui::vec2(6.0, -6.0), size)
                    .left_top();
                while let Some(taken) = placed
                    .iter()
                    .find(|r| r.intersects(egui::Rect::from_min_size(at, size)))
                {
                    at.y = taken.bottom() + 2.0;
                }
                placed.push(outlined_text(
                    painter,
                    at,
                    egui::Align2::LEFT_TOP,
                    text,
                    font.clone(),
                    egui::Color32::from_rgb(255, 230, 120),
                    painter.clip_rect(),
                ));
            }
        }
        for p in &self.drawing {
            painter.circle_filled(to_screen(p), 2.5, stroke.color);
        }
    }

    pub(super) fn fit_zoom(&self, rect: egui::Rect) -> f32 {
        match self.transform() {
            Some(t) if t.columns > 0 && t.rows > 0 => {
                let (w, h) = t.display_size();
                (rect.width() / w as f32).min(rect.height() / h as f32)
            }
            _ => 1.0,
        }
    }

    /// How the shown image is turned on screen.
    pub(super) fn transform(&self) -> Option<ViewTransform> {
        self.shown.as_ref().map(|(_, _, size)| ViewTransform {
            columns: size[0] as u32,
            rows: size[1] as u32,
            quarter_turns: self.quarter_turns,
            flipped: self.flipped,
        })
    }

    /// Saves the view (as rendered, turned and inverted as on screen) as a PNG in exports.
    pub(super) fn export_png(&mut self, practice: &Practice) {
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

/// Text over an image: a dark outline so it reads on bright anatomy, kept inside `within` (a
/// label that would run off the viewport is moved back in). Returns where it was drawn.
fn outlined_text(
    painter: &egui::Painter,
    at: egui::Pos2,
    align: egui::Align2,
    text: &str,
    font: egui::FontId,
    colour: egui::Color32,
    within: egui::Rect,
) -> egui::Rect {
    let galley = painter.layout_no_wrap(text.to_string(), font, colour);
    let mut place = align.anchor_size(at, galley.size());
    // Back inside the viewport, right and bottom first, then left and top.
    let dx = (within.right() - 2.0 - place.right()).min(0.0);
    let dy = (within.bottom() - 2.0 - place.bottom()).min(0.0);
    place = place.translate(egui::vec2(dx, dy));
    let dx = (within.left() + 2.0 - place.left()).max(0.0);
    let dy = (within.top() + 2.0 - place.top()).max(0.0);
    place = place.translate(egui::vec2(dx, dy));
    let outline = egui::Color32::from_black_alpha(220);
    for (ox, oy) in [
        (-1.0, 0.0),
        (1.0, 0.0),
        (0.0, -1.0),
        (0.0, 1.0),
        (-1.0, -1.0),
        (1.0, 1.0),
        (-1.0, 1.0),
        (1.0, -1.0),
    ] {
        painter.galley_with_override_text_color(
            place.left_top() + egui::vec2(ox, oy),
            galley.clone(),
            outline,
        );
    }
    painter.galley(place.left_top(), galley, colour);
    place
}
