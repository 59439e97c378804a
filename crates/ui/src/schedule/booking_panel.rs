//! The selected booking's panel: the patient banner, check-in and no-show, moving it, the
//! preparation sheet, and cancelling (apart, and asked first), with the confirmations.

use super::*;

impl ScheduleScreen {
    pub(super) fn show_selected(
        &mut self,
        ui: &mut egui::Ui,
        step: &mut Option<Step>,
        today: NaiveDate,
    ) {
        let Some(row) = self.selected_row().cloned() else {
            ui.label("Select a booking to check the patient in, move or cancel it.");
            ui.weak("Drag a booking to another hour, day or room; Ctrl+Up/Down moves it 15 minutes, Ctrl+Left/Right a day.");
            return;
        };
        let accession = row.order.accession.clone();
        crate::patient_banner::show(
            ui,
            &crate::patient_banner::PatientIdentity::from(&row.patient),
            today,
        );
        ui.strong(format!("{} · {accession}", row.procedure_name));
        ui.label(format!(
            "{} · {} · {}",
            row.room_name,
            row.step.start_time.replace('T', " "),
            row.order.status.replace('_', " ")
        ));
        let booked_day = parse_start(&row.step.start_time).map(|t| t.date());
        ui.horizontal_wrapped(|ui| {
            if row.order.status == "scheduled" {
                if ui.button("Check in").clicked() {
                    match booked_day {
                        Some(d) if d != today => {
                            self.confirming = Some(Confirm::CheckInOtherDay(accession.clone(), d));
                        }
                        _ => {
                            *step = Some(Step::Status(
                                accession.clone(),
                                ExamStatus::Arrived,
                                "checked in",
                            ));
                        }
                    }
                }
                if ui.button("No-show").clicked() {
                    *step = Some(Step::NoShow(accession.clone()));
                }
            }
        });
        if matches!(row.order.status.as_str(), "scheduled" | "arrived") {
            ui.separator();
            ui.strong("Move");
            if self.move_to.is_empty() {
                self.move_to = row.step.start_time.replace('T', " ");
            }
            let room = *self.move_room.get_or_insert(row.step.room.unwrap_or(0));
            egui::ComboBox::from_label("Room")
                .selected_text(self.room_name(room))
                .show_ui(ui, |ui| {
                    for r in &self.rooms {
                        if r.modality == row.modality {
                            ui.selectable_value(&mut self.move_room, Some(r.id), &r.name);
                        }
                    }
                });
            crate::sign_in::field(ui, "New time", &mut self.move_to, false);
            if ui.button("Move here").clicked() {
                match NaiveDateTime::parse_from_str(self.move_to.trim(), "%Y-%m-%d %H:%M") {
                    Ok(at) => *step = Some(Step::Book(accession.clone(), room, at)),
                    Err(_) => {
                        self.message = Some((
                            false,
                            "Write the new time as YYYY-MM-DD HH:MM, e.g. 2026-12-01 09:30.".into(),
                        ))
                    }
                }
            }
        }
        ui.separator();
        ui.strong("Preparation");
        let preparation = self.preparation(&row);
        ui.label(if preparation.is_empty() {
            "No preparation needed."
        } else {
            preparation.as_str()
        });
        ui.horizontal(|ui| {
            if ui.button("Copy preparation").clicked() {
                ui.ctx().copy_text(preparation.clone());
                self.message = Some((true, "Preparation instructions copied.".into()));
            }
            if ui.button("Print preparation").clicked() {
                *step = Some(Step::Print(accession.clone()));
            }
        });
        // Cancelling is kept apart from the daily buttons (a double click on "Check in" must
        // never cancel) and asks first.
        if matches!(row.order.status.as_str(), "scheduled" | "arrived") {
            ui.add_space(24.0);
            ui.separator();
            if ui
                .button("Cancel exam…")
                .on_hover_text("asks for confirmation")
                .clicked()
            {
                self.confirming = Some(Confirm::Cancel(accession.clone()));
            }
        }
    }

    /// The confirmation asked for, if any: the step only after the person says so.
    pub(super) fn show_confirmation(&mut self, ctx: &egui::Context, step: &mut Option<Step>) {
        let Some(confirm) = self.confirming.clone() else {
            return;
        };
        let who = self
            .days
            .values()
            .flatten()
            .find(|r| match &confirm {
                Confirm::CheckInOtherDay(a, _) | Confirm::Cancel(a) => &r.order.accession == a,
            })
            .map(|r| {
                format!(
                    "{} — {} ({})",
                    crate::patient_banner::display_name(
                        &r.patient.family_name,
                        &r.patient.given_name
                    ),
                    r.procedure_name,
                    r.order.accession
                )
            })
            .unwrap_or_default();
        let (heading, text, proceed) = match &confirm {
            Confirm::CheckInOtherDay(_, day) => (
                "Check in on another day?",
                format!(
                    "{who} is booked for {}, not today. Check the patient in anyway?",
                    day.format("%A %d %B")
                ),
                "Check in anyway",
            ),
            Confirm::Cancel(_) => (
                "Cancel this exam?",
                format!("{who}. The booking is released and the referrer's system is told."),
                "Cancel the exam",
            ),
        };
        let decided = crate::Confirmation {
            id: "schedule_confirm",
            heading,
            text: &text,
            warning: None,
            keep: "Keep it as it is",
            proceed,
        }
        .ask(ctx);
        match decided {
            Some(true) => {
                *step = Some(match confirm {
                    Confirm::CheckInOtherDay(accession, _) => {
                        Step::Status(accession, ExamStatus::Arrived, "checked in")
                    }
                    Confirm::Cancel(accession) => {
                        Step::Status(accession, ExamStatus::Cancelled, "cancelled")
                    }
                });
                self.confirming = None;
            }
            Some(false) => self.confirming = None,
            None => {}
        }
    }

    pub(super) fn preparation(&self, row: &WorklistRow) -> String {
        self.procedures
            .iter()
            .find(|p| p.code == row.order.procedure_code)
            .map(|p| p.preparation.clone())
            .unwrap_or_default()
    }
}
