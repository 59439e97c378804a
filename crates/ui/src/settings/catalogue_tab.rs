//! Settings → Rooms, Catalogue and Templates: where exams happen, what can be ordered (with
//! codes and prices) and the report templates.

use super::*;

impl SettingsScreen {
    pub(super) fn show_rooms(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        egui::Grid::new("rooms").striped(true).show(ui, |ui| {
            for h in ["Room", "Modality", "Scanner AE"].iter().chain(DAYS.iter()) {
                ui.strong(*h);
            }
            ui.label("");
            ui.end_row();
            for room in &self.rooms {
                ui.label(&room.name);
                ui.label(&room.modality);
                ui.label(&room.station_ae);
                for h in &room.hours {
                    ui.label(if h.is_empty() { "closed" } else { h.as_str() });
                }
                if ui.button(format!("Edit {}", room.name)).clicked() {
                    self.room_form = Some(RoomForm {
                        id: Some(room.id),
                        name: room.name.clone(),
                        modality: room.modality.clone(),
                        station_ae: room.station_ae.clone(),
                        hours: room.hours.clone(),
                    });
                }
                ui.end_row();
            }
        });
        if self.room_form.is_none() && ui.button("Add room").clicked() {
            self.room_form = Some(RoomForm {
                hours: std::array::from_fn(|d| {
                    if d < 5 {
                        "08:00-18:00".into()
                    } else {
                        String::new()
                    }
                }),
                ..Default::default()
            });
        }
        let Some(form) = &mut self.room_form else {
            return;
        };
        ui.separator();
        egui::Grid::new("room_form").num_columns(2).show(ui, |ui| {
            crate::sign_in::field(ui, "Room name", &mut form.name, false);
            crate::sign_in::field(ui, "Modality", &mut form.modality, false);
            crate::sign_in::field(ui, "Scanner AE title", &mut form.station_ae, false);
            for (day, hours) in DAYS.iter().zip(form.hours.iter_mut()) {
                crate::sign_in::field(ui, &format!("{day} hours"), hours, false);
            }
        });
        ui.weak("Hours as 08:00-18:00; leave a day empty when the room is closed.");
        let mut done = None;
        let mut close = false;
        ui.horizontal(|ui| {
            if ui.button("Save room").clicked() {
                let room = Room {
                    id: form.id.unwrap_or(0),
                    name: form.name.trim().into(),
                    modality: form.modality.trim().to_uppercase(),
                    station_ae: form.station_ae.trim().into(),
                    hours: form.hours.clone().map(|h| h.trim().to_string()),
                };
                let result = match form.id {
                    Some(_) => practice.change_room(actor, &room),
                    None => practice.add_room(actor, &room).map(|_| ()),
                };
                done = Some(outcome(result, &format!("Room {} saved.", room.name)));
            }
            if let Some(id) = form.id
                && ui.button("Retire room").clicked()
            {
                done = Some(outcome(
                    practice.retire_room(actor, id),
                    "Room retired; its past exams keep their room.",
                ));
            }
            if ui.button("Close").clicked() {
                close = true;
            }
        });
        if close {
            self.room_form = None;
        }
        if let Some(result) = done {
            if result.0 {
                self.room_form = None;
            }
            self.message = Some(result);
            self.loaded = false;
        }
    }

    pub(super) fn show_catalogue(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        if let Some((p, duration, charge)) = &mut self.procedure_form {
            egui::Grid::new("procedure_form")
                .num_columns(2)
                .show(ui, |ui| {
                    crate::sign_in::field(ui, "Code", &mut p.code, false);
                    crate::sign_in::field(ui, "Name", &mut p.name, false);
                    crate::sign_in::field(ui, "Modality", &mut p.modality, false);
                    crate::sign_in::field(ui, "Body part", &mut p.body_part, false);
                    crate::sign_in::field(ui, "Minutes", duration, false);
                    crate::sign_in::field(ui, "Charge", charge, false);
                    ui.label("Preparation");
                    ui.add(egui::TextEdit::multiline(&mut p.preparation).desired_rows(3));
                    ui.end_row();
                });
            let mut close = false;
            ui.horizontal(|ui| {
                if ui.button("Save procedure").clicked() {
                    let parsed = duration.trim().parse::<u32>().ok().zip(parse_money(charge));
                    self.message = Some(match parsed {
                        Some((minutes, cents)) => {
                            p.duration_minutes = minutes;
                            p.charge_cents = cents;
                            p.modality = p.modality.trim().to_uppercase();
                            let r = outcome(
                                practice.save_procedure(actor, p),
                                &format!("Procedure {} saved.", p.code),
                            );
                            close = r.0;
                            r
                        }
                        None => (
                            false,
                            "Write the minutes as a whole number and the charge as 125.00.".into(),
                        ),
                    });
                    self.loaded = false;
                }
                if ui.button("Close").clicked() {
                    close = true;
                }
            });
            if close {
                self.procedure_form = None;
            }
            ui.separator();
        } else if ui.button("Add procedure").clicked() {
            self.procedure_form = Some((
                Procedure {
                    code: String::new(),
                    name: String::new(),
                    modality: String::new(),
                    body_part: String::new(),
                    duration_minutes: 30,
                    preparation: String::new(),
                    charge_cents: 0,
                },
                "30".into(),
                "0.00".into(),
            ));
        }
        egui::Grid::new("catalogue").striped(true).show(ui, |ui| {
            for h in ["Code", "Name", "Modality", "Minutes", "Charge", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for p in &self.catalogue {
                ui.label(&p.code);
                ui.label(&p.name);
                ui.label(&p.modality);
                ui.label(p.duration_minutes.to_string());
                ui.label(format!(
                    "{}.{:02}",
                    p.charge_cents / 100,
                    p.charge_cents % 100
                ));
                if ui.button(format!("Edit {}", p.code)).clicked() {
                    self.procedure_form = Some((
                        p.clone(),
                        p.duration_minutes.to_string(),
                        format!("{}.{:02}", p.charge_cents / 100, p.charge_cents % 100),
                    ));
                }
                ui.end_row();
            }
        });
    }

    pub(super) fn show_templates(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        for t in &self.templates {
            ui.horizontal(|ui| {
                ui.label(format!(
                    "{} · {}",
                    if t.modality.is_empty() {
                        "any modality"
                    } else {
                        &t.modality
                    },
                    t.name
                ));
                if ui.button(format!("Edit template {}", t.name)).clicked() {
                    self.template_form = Some(t.clone());
                }
            });
        }
        if self.template_form.is_none() && ui.button("Add template").clicked() {
            self.template_form = Some(ReportTemplate {
                modality: String::new(),
                name: String::new(),
                body: "TECHNIQUE:\n\nFINDINGS:\n\nIMPRESSION:\n".into(),
            });
        }
        let Some(t) = &mut self.template_form else {
            return;
        };
        ui.separator();
        egui::Grid::new("template_form")
            .num_columns(2)
            .show(ui, |ui| {
                crate::sign_in::field(ui, "Template modality", &mut t.modality, false);
                crate::sign_in::field(ui, "Template name", &mut t.name, false);
            });
        ui.add(
            egui::TextEdit::multiline(&mut t.body)
                .desired_rows(10)
                .desired_width(f32::INFINITY),
        );
        let mut close = false;
        ui.horizontal(|ui| {
            if ui.button("Save template").clicked() {
                t.modality = t.modality.trim().to_uppercase();
                let r = outcome(
                    practice.save_template(actor, t),
                    &format!("Template {} saved.", t.name),
                );
                close = r.0;
                self.message = Some(r);
                self.loaded = false;
            }
            if ui.button("Close").clicked() {
                close = true;
            }
        });
        if close {
            self.template_form = None;
        }
    }
}
