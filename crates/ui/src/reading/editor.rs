//! The report editor docked beside the worklist: patient banner, text, critical result with
//! who was told, the actions, the signature, and the confirmation before a final signature.

use super::*;

impl ReadingScreen {
    /// The report editor: banner, text, critical flag, the actions, the signature.
    pub(super) fn show_editor(
        &mut self,
        ui: &mut egui::Ui,
        today: chrono::NaiveDate,
        action: &mut Option<Action>,
    ) {
        let Some(editor) = &mut self.editor else {
            ui.add_space(8.0);
            ui.weak("Select an exam and open its report (Enter).");
            return;
        };
        patient_banner::show(ui, &editor.patient, today);
        ui.strong(format!(
            "{} · {} · {} ({})",
            if editor.kind == "addendum" {
                "Addendum"
            } else {
                "Report"
            },
            editor.procedure,
            editor.accession,
            editor.status
        ));
        let final_report = editor.status == "final";
        ui.horizontal(|ui| {
            if ui.button("Print report").clicked() {
                *action = Some(Action::Print);
            }
            if final_report {
                if ui.button("Add addendum").clicked() {
                    *action = Some(Action::Addendum);
                }
                return;
            }
            if ui.button("Save draft").clicked() {
                *action = Some(Action::Save);
            }
            if editor.kind == "report"
                && editor.status == "draft"
                && ui.button("Sign preliminary").clicked()
            {
                *action = Some(Action::Sign(ExamStatus::Preliminary));
            }
            ui.add_space(24.0);
            if ui
                .button("Sign final")
                .on_hover_text("asks for confirmation first")
                .clicked()
            {
                self.confirming = Some(if editor.kind == "addendum" {
                    ExamStatus::Amended
                } else {
                    ExamStatus::Final
                });
            }
        });
        ui.add_enabled(
            !final_report,
            egui::Checkbox::new(&mut editor.critical, "Critical result"),
        );
        if editor.critical {
            // A critical result is told to someone, and the report says who, how and when.
            for line in &editor.told {
                ui.colored_label(ui.visuals().warn_fg_color, line);
            }
            ui.horizontal(|ui| {
                let label = ui.label("Told");
                ui.add(
                    egui::TextEdit::singleline(&mut editor.told_to)
                        .hint_text("who, e.g. Dr Hart (referrer)")
                        .desired_width(180.0),
                )
                .labelled_by(label.id);
                let by = ui.label("by");
                egui::ComboBox::from_id_salt("told_method")
                    .selected_text(editor.told_method.clone())
                    .show_ui(ui, |ui| {
                        for method in crate::ris::reports::CRITICAL_METHODS {
                            ui.selectable_value(
                                &mut editor.told_method,
                                method.to_string(),
                                method,
                            );
                        }
                    })
                    .response
                    .labelled_by(by.id);
                if ui.button("Record who was told").clicked() {
                    *action = Some(Action::Told);
                }
            });
        }
        if !editor.signature.is_empty() {
            ui.label(format!("Signed by {}", editor.signature));
        }
        let empty = crate::ris::reports::empty_sections(&editor.text);
        if !final_report && !empty.is_empty() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("Empty: {}", empty.join(", ")),
            );
        }
        let label = ui.label("Report text");
        egui::ScrollArea::vertical()
            .id_salt("report_text")
            .show(ui, |ui| {
                ui.add_enabled(
                    !final_report,
                    egui::TextEdit::multiline(&mut editor.text)
                        .desired_rows(18)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
            });
    }

    /// Asks before a final signature: whose report, and which sections are still empty.
    pub(super) fn confirm_sign(&mut self, ctx: &egui::Context, action: &mut Option<Action>) {
        let (Some(to), Some(editor)) = (self.confirming, &self.editor) else {
            return;
        };
        let empty = crate::ris::reports::empty_sections(&editor.text);
        let text = format!(
            "{} — {} ({}). A final report cannot be changed afterwards; corrections become addenda.",
            patient_banner::display_name(&editor.patient.family_name, &editor.patient.given_name),
            editor.procedure,
            editor.accession
        );
        let warning = format!("These sections are empty: {}.", empty.join(", "));
        let decided = crate::Confirmation {
            id: "confirm_sign_final",
            heading: "Sign the final report?",
            text: &text,
            warning: (!empty.is_empty()).then_some(warning.as_str()),
            keep: "Go back to the report",
            proceed: "Sign final now",
        }
        .ask(ctx);
        match decided {
            Some(true) => {
                self.confirming = None;
                *action = Some(Action::Sign(to));
            }
            Some(false) => self.confirming = None,
            None => {}
        }
    }
}
