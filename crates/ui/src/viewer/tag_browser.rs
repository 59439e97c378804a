//! The tag browser: every attribute of the shown image in a window.

use super::*;

impl Pane {
    /// The tag browser window, when open.
    pub(crate) fn show_tags_window(&mut self, ctx: &egui::Context) {
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

    /// The current image's attributes (keyword, VR, value), read up to the pixel data.
    pub(super) fn read_tags(&self) -> Vec<(String, String, String)> {
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
}
