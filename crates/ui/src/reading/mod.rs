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

mod editor;
mod room_layout;
mod worklist_table;

pub use room_layout::ImagesPlacement;
use room_layout::RoomLayout;

/// Draws the exam's images where the reading room docks them (the shell lends its viewer).
pub type DockedImages<'a> = &'a mut dyn FnMut(&mut egui::Ui, &Practice);

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
    /// The column the table is sorted by (None: the worklist's own order).
    sort: crate::table_sort::TableSort,
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
    /// The images of the exam being read are open (docked or in their own window).
    images_open: bool,
    /// The reader's own layout.
    layout: RoomLayout,
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
        let request = self.open_images.take();
        if request.is_some() {
            self.images_open = true;
        }
        request
    }

    /// Where the exam's images are shown, while they are open.
    pub fn images_placement(&self) -> Option<ImagesPlacement> {
        self.images_open.then_some(if self.layout.own_window {
            ImagesPlacement::OwnWindow
        } else {
            ImagesPlacement::Docked
        })
    }

    /// The images are closed (their own window was closed, or the reader signed out).
    pub fn close_images(&mut self) {
        self.images_open = false;
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

    /// Draws the screen; `docked_images` draws the exam's images between the worklist and the
    /// report while they are open and docked.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        practice: &mut Practice,
        actor: &Actor,
        now: chrono::NaiveDateTime,
        docked_images: Option<DockedImages<'_>>,
    ) {
        self.refresh(practice, actor);
        self.layout.read_for(practice, actor);
        let docked = docked_images.is_some() && self.images_open;
        ui.horizontal(|ui| {
            ui.heading("Reading worklist");
            ui.separator();
            if self.images_open {
                let before = (self.layout.own_window, self.layout.worklist_shown);
                if docked {
                    ui.toggle_value(&mut self.layout.worklist_shown, "Worklist")
                        .on_hover_text("show the worklist beside the images");
                }
                ui.toggle_value(&mut self.layout.own_window, "Images in own window")
                    .on_hover_text("a window of their own, for a second monitor");
                if ui.button("Close images").clicked() {
                    self.images_open = false;
                }
                if before != (self.layout.own_window, self.layout.worklist_shown) {
                    self.layout.keep_choices(practice, actor);
                }
                ui.separator();
            }
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
        crate::show_outcome(ui, self.message.as_ref());
        let today = now.date();
        // Completion times are stored in UTC; the clock reads local time.
        let now_utc = now
            .and_local_timezone(chrono::Local)
            .earliest()
            .map(|t| t.naive_utc())
            .unwrap_or(now);
        let mut action: Option<Action> = None;
        self.show_selected_exam_bar(ui, actor, &mut action);
        ui.separator();
        // Each person's panels have their own ids: their widths are theirs.
        let editor_width = self
            .layout
            .editor_width
            .unwrap_or((ui.available_width() * if docked { 0.3 } else { 0.5 }).max(360.0));
        let editor = egui::Panel::right(("report_editor", actor.login.as_str()))
            .resizable(true)
            .default_size(editor_width)
            .min_size(320.0)
            .show(ui, |ui| {
                self.show_editor(ui, today, &mut action);
            });
        self.layout
            .keep_width(ui, practice, actor, true, editor.response.rect.width());
        match docked_images {
            Some(images) if docked => {
                if self.layout.worklist_shown {
                    let worklist = egui::Panel::left(("reading_worklist", actor.login.as_str()))
                        .resizable(true)
                        .default_size(self.layout.worklist_width.unwrap_or(360.0))
                        .min_size(240.0)
                        .show(ui, |ui| {
                            // The viewer owns the keyboard while the images are docked.
                            self.show_worklist(ui, today, now_utc, false, &mut action);
                        });
                    self.layout.keep_width(
                        ui,
                        practice,
                        actor,
                        false,
                        worklist.response.rect.width(),
                    );
                }
                egui::CentralPanel::default().show(ui, |ui| images(ui, practice));
            }
            _ => {
                // The worklist takes what the editor leaves, clipped to it: a wide table
                // scrolls sideways under its own area, never under the editor.
                egui::CentralPanel::default().show(ui, |ui| {
                    self.show_worklist(ui, today, now_utc, true, &mut action);
                });
            }
        }
        self.confirm_sign(ui.ctx(), &mut action);
        if let Some(action) = action {
            self.act(practice, actor, action);
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
                        let (ok, text) = crate::save_and_open(
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

impl ReadingScreen {}

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
