//! The radiologist's reading worklist (completed exams by priority and waiting time, STAT
//! marked, claim) and the report editor beside it: the procedure's template, free text, the
//! critical-result flag, save, sign preliminary or final, and an addendum after the final.
//! Everything goes through the report rules (`ris::reports`).

use crate::access::Actor;
use crate::practice::Practice;
use crate::records::reports::ReadingRow;
use crate::ris::ExamStatus;
use crate::ris::reading::ReadingFilter;

/// The report being edited.
struct Editor {
    accession: String,
    report_id: i64,
    kind: String,
    status: String,
    text: String,
    critical: bool,
}

/// The screen's state.
#[derive(Default)]
pub struct ReadingScreen {
    loaded: bool,
    rows: Vec<ReadingRow>,
    editor: Option<Editor>,
    message: Option<(bool, String)>,
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

    fn refresh(&mut self, practice: &Practice, actor: &Actor) {
        if self.loaded {
            return;
        }
        self.modalities = practice.catalogue_modalities().unwrap_or_default();
        self.radiologists = practice.radiologists();
        match practice.reading_worklist(actor, &self.filter) {
            Ok(rows) => self.rows = rows,
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
        self.editor = Some(Editor {
            accession: accession.to_string(),
            report_id: report.id,
            kind: report.kind,
            status: report.status,
            text: report.body,
            critical: report.critical,
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
            egui::ComboBox::from_label("Modality")
                .selected_text(self.filter.modality.clone().unwrap_or_else(|| "All".into()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.filter.modality, None, "All");
                    for m in &self.modalities {
                        ui.selectable_value(&mut self.filter.modality, Some(m.clone()), m);
                    }
                });
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
                self.loaded = false;
            }
        });
        super::show_outcome(ui, self.message.as_ref());
        // Completion times are stored in UTC; the clock reads local time.
        let now = now
            .and_local_timezone(chrono::Local)
            .earliest()
            .map(|t| t.naive_utc())
            .unwrap_or(now);
        let mut action: Option<Action> = None;
        ui.columns(2, |columns| {
            let ui = &mut columns[0];
            if self.rows.is_empty() {
                ui.label("Nothing to read.");
            }
            egui::Grid::new("reading").striped(true).show(ui, |ui| {
                for h in [
                    "Priority",
                    "Accession",
                    "Modality",
                    "Procedure",
                    "Status",
                    "Waiting",
                    "Reader",
                    "",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for r in &self.rows {
                    if r.priority == "STAT" {
                        ui.colored_label(ui.visuals().error_fg_color, "STAT");
                    } else {
                        ui.label(&r.priority);
                    }
                    ui.label(&r.accession);
                    ui.label(&r.modality);
                    ui.label(&r.procedure_code);
                    ui.label(r.status.replace('_', " "));
                    ui.label(waiting_since(&r.completed_at, now))
                        .on_hover_text(format!("images complete {} UTC", r.completed_at));
                    ui.label(&r.assigned_radiologist);
                    ui.horizontal(|ui| {
                        if r.assigned_radiologist.is_empty()
                            && ui.button(format!("Claim {}", r.accession)).clicked()
                        {
                            action = Some(Action::Claim(r.accession.clone()));
                        }
                        if ui.button(format!("Report {}", r.accession)).clicked() {
                            action = Some(Action::Open(r.accession.clone()));
                        }
                        if actor.role == crate::access::Role::Administrator
                            && !self.radiologists.is_empty()
                        {
                            egui::ComboBox::from_label(format!("Assign {}", r.accession))
                                .selected_text(if r.assigned_radiologist.is_empty() {
                                    "nobody"
                                } else {
                                    r.assigned_radiologist.as_str()
                                })
                                .show_ui(ui, |ui| {
                                    for login in &self.radiologists {
                                        if ui.selectable_label(false, login).clicked() {
                                            action = Some(Action::Assign(
                                                r.accession.clone(),
                                                login.clone(),
                                            ));
                                        }
                                    }
                                });
                        }
                        if ui.button(format!("Images {}", r.accession)).clicked() {
                            self.open_images = Some((r.study_uid.clone(), r.accession.clone()));
                        }
                    });
                    ui.end_row();
                }
            });
            let ui = &mut columns[1];
            match &mut self.editor {
                None => {
                    ui.label("Choose an exam to report.");
                }
                Some(editor) => {
                    ui.strong(format!(
                        "{} {} — {}",
                        if editor.kind == "addendum" {
                            "Addendum to"
                        } else {
                            "Report"
                        },
                        editor.accession,
                        editor.status
                    ));
                    let final_report = editor.status == "final";
                    let label = ui.label("Report text");
                    ui.add_enabled(
                        !final_report,
                        egui::TextEdit::multiline(&mut editor.text)
                            .desired_rows(18)
                            .desired_width(f32::INFINITY),
                    )
                    .labelled_by(label.id);
                    ui.add_enabled(
                        !final_report,
                        egui::Checkbox::new(&mut editor.critical, "Critical result"),
                    );
                    ui.horizontal(|ui| {
                        if ui.button("Print report").clicked() {
                            action = Some(Action::Print);
                        }
                        if final_report {
                            if ui.button("Add addendum").clicked() {
                                action = Some(Action::Addendum);
                            }
                            return;
                        }
                        if ui.button("Save draft").clicked() {
                            action = Some(Action::Save);
                        }
                        if editor.kind == "report"
                            && editor.status == "draft"
                            && ui.button("Sign preliminary").clicked()
                        {
                            action = Some(Action::Sign(ExamStatus::Preliminary));
                        }
                        if ui.button("Sign final").clicked() {
                            action = Some(Action::Sign(if editor.kind == "addendum" {
                                ExamStatus::Amended
                            } else {
                                ExamStatus::Final
                            }));
                        }
                    });
                }
            }
        });
        let Some(action) = action else {
            return;
        };
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
                            format!("{} signed {}.", editor.accession, editor.status)
                        })
                        .map_err(|e| e.to_string()),
                    (_, _) => {
                        let accession = editor.accession.clone();
                        practice
                            .add_addendum(actor, &accession, "ADDENDUM:\n")
                            .map(|r| {
                                *editor = Editor {
                                    accession: accession.clone(),
                                    report_id: r.id,
                                    kind: r.kind,
                                    status: r.status,
                                    text: r.body,
                                    critical: false,
                                };
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
