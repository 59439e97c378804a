//! Settings → Practice and Viewer: the practice's name, titles and ports, and the viewer's
//! memory, presets and defaults.

use super::*;

impl SettingsScreen {
    pub(super) fn show_practice(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        let labels = [
            "Practice name",
            "Address",
            "Phone",
            "Our AE title",
            "DICOM port",
            "HL7 port",
            "Workstations' API port (empty = off)",
            "Lock after minutes (0 = never)",
        ];
        egui::Grid::new("practice").num_columns(2).show(ui, |ui| {
            for (label, field) in labels.iter().zip(self.practice.fields()) {
                crate::sign_in::field(ui, label, field, false);
            }
            ui.label("Theme");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.practice.theme, "light".into(), "Light");
                ui.selectable_value(&mut self.practice.theme, "dark".into(), "Dark");
            });
            ui.end_row();
        });
        ui.weak("The AE title and ports apply the next time Lightbox starts.");
        if ui.button("Save practice settings").clicked() {
            let values: Vec<String> = self
                .practice
                .fields()
                .into_iter()
                .map(|v| v.trim().to_string())
                .collect();
            let result = PRACTICE_KEYS
                .iter()
                .zip(&values)
                .try_for_each(|(key, value)| {
                    let unchanged = practice.setting(key).ok().flatten().as_deref() == Some(value);
                    let optional_empty = value.is_empty()
                        && matches!(
                            *key,
                            site::PRACTICE_ADDRESS_SETTING
                                | site::PRACTICE_PHONE_SETTING
                                | site::API_PORT_SETTING
                        );
                    if unchanged
                        || (optional_empty && practice.setting(key).ok().flatten().is_none())
                    {
                        Ok(())
                    } else {
                        practice.change_setting(actor, key, value)
                    }
                });
            self.message = Some(outcome(result, "Practice settings saved."));
            self.loaded = false;
        }
    }

    pub(super) fn show_viewer(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        use crate::viewing::overlay::{OverlayField, format_fields};
        egui::Grid::new("viewer settings")
            .num_columns(2)
            .show(ui, |ui| {
                crate::sign_in::field(
                    ui,
                    "Image memory for the viewer (MiB)",
                    &mut self.viewer.cache_mib,
                    false,
                );
                crate::sign_in::field(
                    ui,
                    "Prior nodes (names, comma-separated)",
                    &mut self.viewer.prior_nodes,
                    false,
                );
            });
        ui.weak(
            "Image memory holds decoded images and series on the GPU, shared equally by the \
             viewports showing a study; prior nodes are the DICOM nodes asked for a patient's \
             earlier studies.",
        );
        ui.label("Corner overlay shows:");
        ui.horizontal_wrapped(|ui| {
            for (field, on) in OverlayField::ALL.iter().zip(self.viewer.overlay.iter_mut()) {
                ui.checkbox(on, field.label());
            }
        });
        ui.weak("Changes apply to studies opened from now on.");
        if ui.button("Save viewer settings").clicked() {
            let unknown: Vec<String> = self
                .viewer
                .prior_nodes
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty() && !self.nodes.iter().any(|d| d.name == *n))
                .map(str::to_string)
                .collect();
            let result = match crate::viewing::parse_cache_mib(&self.viewer.cache_mib) {
                Err(e) => Err(e.to_string()),
                Ok(_) if !unknown.is_empty() => Err(format!(
                    "no DICOM node is named {} (add it under DICOM nodes first)",
                    unknown.join(", ")
                )),
                Ok(mib) => {
                    let fields: Vec<OverlayField> = OverlayField::ALL
                        .into_iter()
                        .zip(&self.viewer.overlay)
                        .filter(|(_, on)| **on)
                        .map(|(f, _)| f)
                        .collect();
                    let nodes = self
                        .viewer
                        .prior_nodes
                        .split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .collect::<Vec<_>>()
                        .join(", ");
                    [
                        (crate::viewing::CACHE_SETTING, mib.to_string()),
                        (crate::viewing::PRIOR_NODES_SETTING, nodes),
                        (
                            crate::viewing::overlay::OVERLAY_SETTING,
                            // Nothing ticked is stored as such (not as "all").
                            if fields.is_empty() {
                                "none".into()
                            } else {
                                format_fields(&fields)
                            },
                        ),
                    ]
                    .iter()
                    .filter(|(key, value)| {
                        practice.setting(key).ok().flatten().as_deref() != Some(value.as_str())
                    })
                    .try_for_each(|(key, value)| practice.change_setting(actor, key, value))
                    .map_err(|e| explain(&e))
                }
            };
            self.message = Some(match result {
                Ok(()) => {
                    self.loaded = false;
                    (true, "Viewer settings saved.".into())
                }
                Err(e) if e.starts_with("Not saved") => (false, e),
                Err(e) => (false, format!("Not saved: {e}.")),
            });
        }
    }
}
