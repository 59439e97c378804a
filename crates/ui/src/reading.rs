//! The reading room: the radiologist's worklist (completed exams by priority and waiting time,
//! STAT marked) as a table that names each exam's patient and procedure, and the report editor
//! docked beside it (never over it) with the patient banner, the template with indication,
//! technique and comparison filled in, save, sign preliminary or final (final after a
//! confirmation that lists empty sections), and an addendum after the final. A row is selected
//! (click, or up/down) and acted on from the toolbar above the table; Enter or a double click
//! opens its report. Everything goes through the report rules (`ris::reports`).

use super::table_cell as cell;
use crate::access::{Actor, ReadOccasion};
use crate::patient_banner::{self, PatientIdentity};
use crate::practice::Practice;
use crate::records::reports::ReadingRow;
use crate::ris::ExamStatus;
use crate::ris::reading::ReadingFilter;

/// The report being edited, with whose it is.
struct Editor {
    accession: String,
    report_id: i64,
    kind: String,
    status: String,
    text: String,
    critical: bool,
    patient: PatientIdentity,
    procedure: String,
    /// "Dr Ana Reed (drreed) on 2026-12-06 14:32 (UTC+01:00)" once signed.
    signature: String,
    /// Who was told the critical result, as recorded ("Told … by phone on …").
    told: Vec<String>,
    /// The next communication being written: who, and how.
    told_to: String,
    told_method: String,
}

/// The screen's state.
#[derive(Default)]
pub struct ReadingScreen {
    loaded: bool,
    /// Set when the radiologist opened the screen or changed its filter: the next read is
    /// audited (reads after changes elsewhere are not).
    just_opened: bool,
    rows: Vec<ReadingRow>,
    /// The exam selected in the table (accession).
    selected: Option<String>,
    /// The column the table is sorted by and whether upwards; None: the worklist's own order.
    sort: Option<(usize, bool)>,
    /// The rows as the worklist gives them (STAT first, then the longest waiting).
    worklist_order: Vec<ReadingRow>,
    editor: Option<Editor>,
    message: Option<(bool, String)>,
    /// A sign-final waiting for the radiologist's confirmation.
    confirming: Option<ExamStatus>,
    /// A study the radiologist asked to see: (study UID, accession); the shell opens the
    /// viewer with the exam's priors.
    open_images: Option<(String, String)>,
    /// Worklist filters.
    filter: ReadingFilter,
    modalities: Vec<String>,
    /// Active radiologists' logins (an administrator assigns exams to them).
    radiologists: Vec<String>,
}

enum Action {
    Assign(String, String),
    /// Record who was told the critical result.
    Told,
    Print,
    Claim(String),
    Open(String),
    Save,
    Sign(ExamStatus),
    Addendum,
}

impl ReadingScreen {
    /// Reads again on the next frame (the store changed).
    pub fn reload(&mut self) {
        self.loaded = false;
    }

    /// The radiologist came to this screen: read it again, and audit that they looked.
    pub fn opened(&mut self) {
        self.loaded = false;
        self.just_opened = true;
    }

    /// Appends `text` to the open editor if it holds `accession`'s report (so the viewer's
    /// "Insert into report" is not lost under the editor's next save); false otherwise.
    pub fn insert_text(&mut self, accession: &str, text: &str) -> bool {
        match &mut self.editor {
            Some(editor) if editor.accession == accession && editor.status != "final" => {
                editor.text = format!("{}\n{}", editor.text.trim_end(), text.trim_end());
                true
            }
            _ => false,
        }
    }

    /// The text in the report editor (tests).
    pub fn editor_text(&self) -> Option<&str> {
        self.editor.as_ref().map(|e| e.text.as_str())
    }

    /// The study to show in the viewer, once.
    pub fn take_open_request(&mut self) -> Option<(String, String)> {
        self.open_images.take()
    }

    /// Exams on the worklist (for tests).
    pub fn rows(&self) -> &[ReadingRow] {
        &self.rows
    }

    /// The selected exam's accession (for tests).
    pub fn selected(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    fn refresh(&mut self, practice: &Practice, actor: &Actor) {
        if self.loaded {
            return;
        }
        self.modalities = practice.catalogue_modalities().unwrap_or_default();
        self.radiologists = practice.radiologists();
        let occasion = if std::mem::take(&mut self.just_opened) {
            ReadOccasion::Opened
        } else {
            ReadOccasion::Refreshed
        };
        match practice.reading_worklist(actor, &self.filter, occasion) {
            Ok(rows) => {
                // The selection stays on its exam; a new list starts at the first.
                if self
                    .selected
                    .as_ref()
                    .is_none_or(|s| !rows.iter().any(|r| &r.accession == s))
                {
                    self.selected = rows.first().map(|r| r.accession.clone());
                }
                self.worklist_order = rows;
                self.apply_sort();
            }
            Err(e) => {
                tracing::error!(error = %e, "reading worklist could not be read");
                self.message = Some((
                    false,
                    "The worklist could not be read; the screen will try again.".into(),
                ));
            }
        }
        self.loaded = true;
    }

    fn open(
        &mut self,
        practice: &mut Practice,
        actor: &Actor,
        accession: &str,
    ) -> Result<(), String> {
        let report = practice
            .open_report(actor, accession)
            .map_err(|e| e.to_string())?;
        let row = self.rows.iter().find(|r| r.accession == accession);
        let patient = row.map(identity_of).unwrap_or_default();
        let procedure = row
            .map(procedure_text)
            .unwrap_or_else(|| accession.to_string());
        self.editor = Some(Editor {
            accession: accession.to_string(),
            report_id: report.id,
            signature: practice.signature(&report),
            told: practice.critical_communications(report.id),
            told_to: String::new(),
            told_method: "phone".into(),
            kind: report.kind,
            status: report.status,
            text: report.body,
            critical: report.critical,
            patient,
            procedure,
        });
        Ok(())
    }

    /// Draws the screen.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        practice: &mut Practice,
        actor: &Actor,
        now: chrono::NaiveDateTime,
    ) {
        self.refresh(practice, actor);
        ui.horizontal(|ui| {
            ui.heading("Reading worklist");
            ui.separator();
            let before = self.filter.clone();
            let label = ui.label("Modality");
            egui::ComboBox::from_id_salt("reading_modality")
                .selected_text(self.filter.modality.clone().unwrap_or_else(|| "All".into()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.filter.modality, None, "All");
                    for m in &self.modalities {
                        ui.selectable_value(&mut self.filter.modality, Some(m.clone()), m);
                    }
                })
                .response
                .labelled_by(label.id);
            ui.label("Reader");
            ui.selectable_value(&mut self.filter.radiologist, None, "Anyone's");
            ui.selectable_value(
                &mut self.filter.radiologist,
                Some(actor.login.clone()),
                "Mine",
            );
            ui.selectable_value(
                &mut self.filter.radiologist,
                Some(String::new()),
                "Unassigned",
            );
            if self.filter != before {
                self.opened();
            }
        });
        super::show_outcome(ui, self.message.as_ref());
        let today = now.date();
        // Completion times are stored in UTC; the clock reads local time.
        let now_utc = now
            .and_local_timezone(chrono::Local)
            .earliest()
            .map(|t| t.naive_utc())
            .unwrap_or(now);
        let mut action: Option<Action> = None;
        let editor_width = (ui.available_width() * 0.5).max(360.0);
        egui::Panel::right("report_editor")
            .resizable(true)
            .default_size(editor_width)
            .min_size(320.0)
            .show(ui, |ui| {
                self.show_editor(ui, today, &mut action);
            });
        // The worklist takes what the editor leaves, clipped to it: a wide table scrolls
        // sideways under its own area, never under the editor.
        egui::CentralPanel::default().show(ui, |ui| {
            self.show_worklist(ui, actor, today, now_utc, &mut action);
        });
        self.confirm_sign(ui.ctx(), &mut action);
        if let Some(action) = action {
            self.act(practice, actor, action);
        }
    }

    /// The toolbar for the selected exam and the table of exams.
    fn show_worklist(
        &mut self,
        ui: &mut egui::Ui,
        actor: &Actor,
        today: chrono::NaiveDate,
        now_utc: chrono::NaiveDateTime,
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
        ui.separator();
        if self.rows.is_empty() {
            ui.label("Nothing to read.");
            return;
        }
        // Up/down move the selection and Enter opens its report, unless typing somewhere.
        let typing = ui.ctx().memory(|m| m.focused().is_some());
        let mut scroll_to = None;
        if !typing && self.confirming.is_none() {
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
    fn show_table(
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
        let mut sort_by: Option<usize> = None;
        table
            .header(22.0, |mut header| {
                // A click on a heading sorts by it; again, the other way; "Priority" is the
                // worklist's own order (STAT first, then the longest waiting).
                for (column, h) in SORT_COLUMNS.iter().enumerate() {
                    header.col(|ui| {
                        let arrow = match self.sort {
                            Some((c, ascending)) if c == column => {
                                if ascending {
                                    " ^"
                                } else {
                                    " v"
                                }
                            }
                            _ => "",
                        };
                        let title = egui::RichText::new(format!("{h}{arrow}")).strong();
                        if ui
                            .add(egui::Button::new(title).frame(false))
                            .on_hover_text(format!("sort by {}", h.to_lowercase()))
                            .clicked()
                        {
                            sort_by = Some(column);
                        }
                    });
                }
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
        if let Some(column) = sort_by {
            self.sort = match self.sort {
                Some((c, ascending)) if c == column => Some((c, !ascending)),
                _ => Some((column, true)),
            };
            self.apply_sort();
        }
        if let Some(accession) = clicked {
            self.selected = Some(accession);
        }
        if let Some(accession) = double_clicked {
            *action = Some(Action::Open(accession));
        }
    }

    /// The report editor: banner, text, critical flag, the actions, the signature.
    fn show_editor(
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
    fn confirm_sign(&mut self, ctx: &egui::Context, action: &mut Option<Action>) {
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
        let decided = super::Confirmation {
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

    fn act(&mut self, practice: &mut Practice, actor: &Actor, action: Action) {
        let result: Result<String, String> = match action {
            Action::Assign(accession, login) => practice
                .assign(actor, &accession, &login)
                .map(|()| format!("{accession} assigned to {login}."))
                .map_err(|e| e.to_string()),
            Action::Print => {
                let Some(editor) = &self.editor else {
                    return;
                };
                let accession = editor.accession.clone();
                match practice.printed_report(actor, &accession) {
                    Ok(doc) => {
                        let (ok, text) = super::save_and_open(
                            practice,
                            &format!("report-{accession}.pdf"),
                            &doc.to_pdf(),
                        );
                        if ok { Ok(text) } else { Err(text) }
                    }
                    Err(e) => Err(format!("The report could not be printed: {e}.")),
                }
            }
            Action::Told => {
                let Some(editor) = &mut self.editor else {
                    return;
                };
                // The critical flag is kept with the report first (a final report has it).
                let saved = if editor.status == "final" {
                    Ok(())
                } else {
                    practice
                        .save_report(actor, editor.report_id, &editor.text, true)
                        .map_err(|e| e.to_string())
                };
                saved
                    .and_then(|()| {
                        practice
                            .record_critical_communication(
                                actor,
                                editor.report_id,
                                &editor.told_to,
                                &editor.told_method,
                            )
                            .map_err(|e| e.to_string())
                    })
                    .map(|()| {
                        editor.told = practice.critical_communications(editor.report_id);
                        editor.told_to.clear();
                        "Recorded who was told the critical result.".to_string()
                    })
            }
            Action::Claim(accession) => practice
                .assign(actor, &accession, &actor.login)
                .map(|()| format!("{accession} is yours."))
                .map_err(|e| e.to_string()),
            Action::Open(accession) => self
                .open(practice, actor, &accession)
                .map(|()| format!("{accession} open.")),
            Action::Save | Action::Sign(_) | Action::Addendum => {
                let Some(editor) = &mut self.editor else {
                    return;
                };
                let saved = practice
                    .save_report(actor, editor.report_id, &editor.text, editor.critical)
                    .map_err(|e| e.to_string());
                match (action, saved) {
                    (_, Err(e)) if editor.status != "final" => Err(e),
                    (Action::Save, _) => Ok("Draft saved.".into()),
                    (Action::Sign(to), _) => practice
                        .sign_report(actor, editor.report_id, to)
                        .map(|()| {
                            editor.status = if to == ExamStatus::Preliminary {
                                "preliminary".into()
                            } else {
                                "final".into()
                            };
                            if let Ok(report) = practice.open_report(actor, &editor.accession)
                                && report.id == editor.report_id
                            {
                                editor.signature = practice.signature(&report);
                            }
                            format!("{} signed {}.", editor.accession, editor.status)
                        })
                        .map_err(|e| e.to_string()),
                    (_, _) => {
                        let accession = editor.accession.clone();
                        practice
                            .add_addendum(actor, &accession, "ADDENDUM:\n")
                            .map(|r| {
                                editor.report_id = r.id;
                                editor.kind = r.kind;
                                editor.status = r.status;
                                editor.text = r.body;
                                editor.critical = false;
                                editor.signature = String::new();
                                editor.told.clear();
                                format!("Addendum to {accession} started.")
                            })
                            .map_err(|e| e.to_string())
                    }
                }
            }
        };
        self.message = Some(match result {
            Ok(m) => (true, m),
            Err(e) => (false, e),
        });
        self.loaded = false;
    }
}

/// The reading table's columns, in order (sorting refers to them by position).
const SORT_COLUMNS: [&str; 8] = [
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
    /// The rows as shown: the worklist's own order, sorted by the chosen column (stable, so
    /// ties keep the worklist's order, and the same rows always come out in the same order:
    /// reading the list again after an action does not move them).
    fn apply_sort(&mut self) {
        self.rows = self.worklist_order.clone();
        let Some((column, ascending)) = self.sort else {
            return;
        };
        let key = |r: &ReadingRow| -> String {
            match column {
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
            }
        };
        self.rows.sort_by(|a, b| {
            let order = key(a).cmp(&key(b));
            if ascending { order } else { order.reverse() }
        });
    }
}

/// The patient of a worklist row, for the banner.
fn identity_of(r: &ReadingRow) -> PatientIdentity {
    PatientIdentity {
        family_name: r.family_name.clone(),
        given_name: r.given_name.clone(),
        birth_date: r.birth_date.clone(),
        sex: r.sex.clone(),
        mrn: r.mrn.clone(),
        alerts: r.alerts.clone(),
        pregnancy: r.pregnancy.clone(),
    }
}

/// "CT head without contrast (70450)", or the code alone when the catalogue has no name.
fn procedure_text(r: &ReadingRow) -> String {
    if r.procedure_name.is_empty() {
        r.procedure_code.clone()
    } else {
        format!("{} ({})", r.procedure_name, r.procedure_code)
    }
}

/// How long an exam has waited to be read, as a radiologist says it ("3 h 20 min").
fn waiting_since(completed_at_utc: &str, now_utc: chrono::NaiveDateTime) -> String {
    let Ok(done) = chrono::NaiveDateTime::parse_from_str(
        completed_at_utc.trim_end_matches('Z'),
        "%Y-%m-%dT%H:%M:%S%.f",
    ) else {
        return "?".into();
    };
    let minutes = (now_utc - done).num_minutes().max(0);
    match minutes {
        0..60 => format!("{minutes} min"),
        60..1440 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} d {} h", minutes / 1440, (minutes % 1440) / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn waiting_time_reads_like_a_radiologist_says_it() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .unwrap_or_default();
        assert_eq!(
            super::waiting_since("2026-11-28T11:15:00.000Z", now),
            "45 min"
        );
        assert_eq!(
            super::waiting_since("2026-11-28T08:40:00.000Z", now),
            "3 h 20 min"
        );
        assert_eq!(
            super::waiting_since("2026-11-26T10:00:00.000Z", now),
            "2 d 2 h"
        );
        assert_eq!(super::waiting_since("garbage", now), "?");
    }
}
