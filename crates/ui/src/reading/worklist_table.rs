//! The reading worklist as a table: the selected exam's toolbar, keyboard selection, sorting by
//! any column (stable over the worklist's own order).

use super::*;

/// The reading table's columns, in order (sorting refers to them by position).
pub(super) const SORT_COLUMNS: [&str; 8] = [
    "Priority",
    "Patient",
    "Born",
    "Procedure",
    "Status",
    "Waiting",
    "Reader",
    "Accession",
];

impl ReadingScreen {
    /// The toolbar for the selected exam, across the room (also while the worklist is folded
    /// away beside docked images).
    pub(super) fn show_selected_exam_bar(
        &mut self,
        ui: &mut egui::Ui,
        actor: &Actor,
        action: &mut Option<Action>,
    ) {
        let selected_row = self
            .selected
            .as_ref()
            .and_then(|s| self.rows.iter().find(|r| &r.accession == s))
            .cloned();
        ui.horizontal(|ui| {
            let Some(row) = &selected_row else {
                ui.weak("Select an exam.");
                return;
            };
            ui.strong(format!(
                "{} · {}",
                patient_banner::display_name(&row.family_name, &row.given_name),
                procedure_text(row)
            ));
            ui.separator();
            if ui
                .add_enabled(
                    row.assigned_radiologist.is_empty(),
                    egui::Button::new("Claim"),
                )
                .on_hover_text("assign this exam to me")
                .clicked()
            {
                *action = Some(Action::Claim(row.accession.clone()));
            }
            if ui
                .button("Open report")
                .on_hover_text("Enter, or double-click the row")
                .clicked()
            {
                *action = Some(Action::Open(row.accession.clone()));
            }
            if ui.button("Images").clicked() {
                self.open_images = Some((row.study_uid.clone(), row.accession.clone()));
            }
            if actor.role == crate::access::Role::Administrator && !self.radiologists.is_empty() {
                let label = ui.label("Assign to");
                egui::ComboBox::from_id_salt("reading_assign")
                    .selected_text(if row.assigned_radiologist.is_empty() {
                        "nobody"
                    } else {
                        row.assigned_radiologist.as_str()
                    })
                    .show_ui(ui, |ui| {
                        for login in &self.radiologists {
                            if ui.selectable_label(false, login).clicked() {
                                *action =
                                    Some(Action::Assign(row.accession.clone(), login.clone()));
                            }
                        }
                    })
                    .response
                    .labelled_by(label.id);
            }
        });
    }

    /// The table of exams, with keyboard selection when `keyboard`.
    pub(super) fn show_worklist(
        &mut self,
        ui: &mut egui::Ui,
        today: chrono::NaiveDate,
        now_utc: chrono::NaiveDateTime,
        keyboard: bool,
        action: &mut Option<Action>,
    ) {
        if self.rows.is_empty() {
            ui.label("Nothing to read.");
            return;
        }
        // Up/down move the selection and Enter opens its report, unless typing somewhere.
        let typing = ui.ctx().memory(|m| m.focused().is_some());
        let mut scroll_to = None;
        if keyboard && !typing && self.confirming.is_none() {
            let index = self
                .selected
                .as_ref()
                .and_then(|s| self.rows.iter().position(|r| &r.accession == s));
            let (down, up, enter) = ui.input_mut(|i| {
                (
                    i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowDown),
                    i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowUp),
                    i.consume_key(egui::Modifiers::NONE, egui::Key::Enter),
                )
            });
            let moved = match index {
                Some(i) if down => Some((i + 1).min(self.rows.len() - 1)),
                Some(i) if up => Some(i.saturating_sub(1)),
                None if down || up => Some(0),
                _ => None,
            };
            if let Some(i) = moved {
                self.selected = Some(self.rows[i].accession.clone());
                scroll_to = Some(i);
            }
            if enter && let Some(s) = &self.selected {
                *action = Some(Action::Open(s.clone()));
            }
        }
        let error = ui.visuals().error_fg_color;
        egui::ScrollArea::horizontal()
            .id_salt("reading_table_across")
            .show(ui, |ui| {
                self.show_table(ui, today, now_utc, error, scroll_to, action);
            });
    }

    /// The exams, one row each, the selected one highlighted.
    pub(super) fn show_table(
        &mut self,
        ui: &mut egui::Ui,
        today: chrono::NaiveDate,
        now_utc: chrono::NaiveDateTime,
        error: egui::Color32,
        scroll_to: Option<usize>,
        action: &mut Option<Action>,
    ) {
        let mut table = egui_extras::TableBuilder::new(ui)
            .id_salt("reading_table")
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(egui_extras::Column::auto().at_least(48.0)) // priority
            .column(
                egui_extras::Column::initial(170.0)
                    .at_least(100.0)
                    .clip(true),
            ) // patient
            .column(
                egui_extras::Column::initial(130.0)
                    .at_least(90.0)
                    .clip(true),
            ) // born
            .column(
                egui_extras::Column::initial(200.0)
                    .at_least(100.0)
                    .clip(true),
            ) // procedure
            .column(egui_extras::Column::auto().at_least(60.0)) // status
            .column(egui_extras::Column::auto().at_least(70.0)) // waiting
            .column(egui_extras::Column::auto().at_least(60.0)) // reader
            .column(egui_extras::Column::remainder().at_least(90.0).clip(true)); // accession
        if let Some(i) = scroll_to {
            table = table.scroll_to_row(i, None);
        }
        let mut clicked = None;
        let mut double_clicked = None;
        let mut sort_changed = false;
        table
            .header(22.0, |mut header| {
                // A click on a heading sorts by it; again, the other way; a third time, the
                // worklist's own order (STAT first, then the longest waiting).
                sort_changed = self.sort.header(&mut header, &SORT_COLUMNS);
            })
            .body(|body| {
                body.rows(24.0, self.rows.len(), |mut row| {
                    let r = &self.rows[row.index()];
                    row.set_selected(self.selected.as_deref() == Some(r.accession.as_str()));
                    row.col(|ui| {
                        if r.priority == "STAT" {
                            ui.add(
                                egui::Label::new(egui::RichText::new("STAT").strong().color(error))
                                    .selectable(false),
                            );
                        } else {
                            cell(ui, &r.priority);
                        }
                    });
                    row.col(|ui| {
                        cell(
                            ui,
                            &patient_banner::display_name(&r.family_name, &r.given_name),
                        );
                    });
                    row.col(|ui| {
                        cell(ui, &patient_banner::birth_with_age(&r.birth_date, today));
                    });
                    row.col(|ui| cell(ui, &procedure_text(r)));
                    row.col(|ui| cell(ui, &r.status.replace('_', " ")));
                    row.col(|ui| {
                        cell(ui, &waiting_since(&r.completed_at, now_utc));
                    });
                    row.col(|ui| cell(ui, &r.assigned_radiologist));
                    row.col(|ui| cell(ui, &r.accession));
                    let response = row.response();
                    if response.clicked() {
                        clicked = Some(r.accession.clone());
                    }
                    if response.double_clicked() {
                        double_clicked = Some(r.accession.clone());
                    }
                });
            });
        if sort_changed {
            self.apply_sort();
        }
        if let Some(accession) = clicked {
            self.selected = Some(accession);
        }
        if let Some(accession) = double_clicked {
            *action = Some(Action::Open(accession));
        }
    }

    /// The rows as shown: the worklist's own order, sorted by the chosen column (stable, so
    /// ties keep the worklist's order, and the same rows always come out in the same order:
    /// reading the list again after an action does not move them).
    pub(super) fn apply_sort(&mut self) {
        self.rows = self.worklist_order.clone();
        self.sort
            .apply(&mut self.rows, |r: &ReadingRow, column| match column {
                0 => match r.priority.as_str() {
                    "STAT" => "0".into(),
                    "ASAP" => "1".into(),
                    _ => "2".into(),
                },
                1 => format!(
                    "{} {}",
                    r.family_name.to_uppercase(),
                    r.given_name.to_uppercase()
                ),
                2 => r.birth_date.clone(),
                3 => procedure_text(r),
                4 => r.status.clone(),
                // Waiting longest first when "up": the oldest completion time.
                5 => r.completed_at.clone(),
                6 => r.assigned_radiologist.clone(),
                _ => r.accession.clone(),
            });
    }
}
