//! The technologist's screen: today's exams in a table (room, time, patient with birth date,
//! procedure, live status, images received so far), and for the selected exam the status steps
//! a technologist takes by hand where a scanner sends no MPPS (arrived, start, complete,
//! discontinue) in a toolbar. Every step goes through the exam status rules.

use crate::access::Actor;
use crate::practice::Practice;
use crate::records::ris::WorklistRow;
use crate::ris::ExamStatus;

/// The screen's state.
#[derive(Default)]
pub struct ExamsTodayScreen {
    loaded_for: Option<String>,
    rows: Vec<(WorklistRow, usize)>,
    scanner_worklist: Vec<super::worklist_view::ScannerItem>,
    message: Option<(bool, String)>,
    /// An exam to complete although no image arrived: asked first, (accession, patient).
    confirm_no_images: Option<(String, String)>,
    /// The exam selected in the table (accession).
    selected: Option<String>,
    /// The column the table is sorted by (None: by room, then time).
    sort: crate::table_sort::TableSort,
}

/// The hand steps offered for an exam in a status.
fn next_steps(status: &str) -> &'static [(ExamStatus, &'static str)] {
    match status {
        "scheduled" => &[(ExamStatus::Arrived, "Arrived")],
        "arrived" => &[(ExamStatus::InProgress, "Start")],
        "in_progress" => &[
            (ExamStatus::Completed, "Complete"),
            (ExamStatus::Discontinued, "Discontinue"),
        ],
        _ => &[],
    }
}

impl ExamsTodayScreen {
    /// Reads again on the next frame (the store changed).
    pub fn reload(&mut self) {
        self.loaded_for = None;
    }

    /// Today's exams as listed: (accession, status, images received).
    pub fn listed(&self) -> Vec<(String, String, usize)> {
        self.rows
            .iter()
            .map(|(r, n)| (r.order.accession.clone(), r.order.status.clone(), *n))
            .collect()
    }

    fn refresh(&mut self, practice: &Practice, actor: &Actor, today: &str) {
        if self.loaded_for.as_deref() == Some(today) {
            return;
        }
        match practice
            .day_exams(actor, today)
            .and_then(|rows| Ok((rows, practice.scanner_worklist(actor, today)?)))
        {
            Ok((rows, scanner)) => {
                self.rows = rows;
                self.sort
                    .apply(&mut self.rows, |(row, images), column| match column {
                        0 => row.room_name.clone(),
                        1 => row.step.start_time.clone(),
                        2 => format!(
                            "{} {}",
                            row.patient.family_name.to_uppercase(),
                            row.patient.given_name.to_uppercase()
                        ),
                        3 => row.patient.birth_date.clone(),
                        4 => row.procedure_name.clone(),
                        5 => row.order.status.clone(),
                        6 => format!("{images:09}"),
                        _ => row.order.accession.clone(),
                    });
                self.scanner_worklist = scanner;
            }
            Err(e) => {
                tracing::error!(error = %e, "today's exams could not be read");
                self.message = Some((
                    false,
                    "Today's exams could not be read; the screen will try again.".into(),
                ));
            }
        }
        self.loaded_for = Some(today.to_string());
    }

    /// Draws the screen for `today` (YYYY-MM-DD): a table of the day's exams (room, time,
    /// patient with birth date, procedure, status, images), the selected one's steps in a
    /// toolbar above it.
    pub fn show(&mut self, ui: &mut egui::Ui, practice: &mut Practice, actor: &Actor, today: &str) {
        self.refresh(practice, actor, today);
        ui.heading(format!("Today's exams — {today}"));
        let today_date = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d")
            .unwrap_or_else(|_| chrono::Local::now().date_naive());
        super::show_outcome(ui, self.message.as_ref());
        let mut step: Option<(String, ExamStatus, &'static str)> = None;
        // The selection stays on its exam; a new day starts at the first.
        if self
            .selected
            .as_ref()
            .is_none_or(|s| !self.rows.iter().any(|(r, _)| &r.order.accession == s))
        {
            self.selected = self.rows.first().map(|(r, _)| r.order.accession.clone());
        }
        let selected = self
            .selected
            .as_ref()
            .and_then(|s| self.rows.iter().find(|(r, _)| &r.order.accession == s))
            .cloned();
        ui.horizontal(|ui| {
            let Some((row, images)) = &selected else {
                ui.weak("No exams scheduled today.");
                return;
            };
            ui.strong(format!(
                "{} · {} · {}",
                crate::patient_banner::display_name(
                    &row.patient.family_name,
                    &row.patient.given_name
                ),
                row.procedure_name,
                row.order.accession
            ));
            ui.separator();
            for (to, label) in next_steps(&row.order.status) {
                // Discontinuing stands apart from the day's usual steps.
                if *to == ExamStatus::Discontinued {
                    ui.add_space(24.0);
                }
                if ui.button(*label).clicked() {
                    if *to == ExamStatus::Completed && *images == 0 {
                        // Completing with no images sends an empty exam to reading.
                        self.confirm_no_images = Some((
                            row.order.accession.clone(),
                            crate::patient_banner::display_name(
                                &row.patient.family_name,
                                &row.patient.given_name,
                            ),
                        ));
                    } else {
                        step = Some((row.order.accession.clone(), *to, label));
                    }
                }
            }
        });
        ui.separator();
        egui::CollapsingHeader::new("What the scanners' worklists show")
            .default_open(false)
            .show(ui, |ui| {
                super::worklist_view::show(ui, &self.scanner_worklist, None)
            });
        let mut clicked = None;
        egui_extras::TableBuilder::new(ui)
            .id_salt("today_table")
            .striped(true)
            .resizable(true)
            .sense(egui::Sense::click())
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(egui_extras::Column::auto().at_least(90.0)) // room
            .column(egui_extras::Column::auto().at_least(50.0)) // time
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
                egui_extras::Column::initial(220.0)
                    .at_least(100.0)
                    .clip(true),
            ) // procedure
            .column(egui_extras::Column::auto().at_least(90.0)) // status
            .column(egui_extras::Column::auto().at_least(60.0)) // images
            .column(egui_extras::Column::remainder().at_least(90.0)) // accession
            .header(22.0, |mut header| {
                // A new sort reads the day again, sorted (rows never move on their own).
                if self.sort.header(
                    &mut header,
                    &[
                        "Room",
                        "Time",
                        "Patient",
                        "Born",
                        "Procedure",
                        "Status",
                        "Images",
                        "Accession",
                    ],
                ) {
                    self.loaded_for = None;
                }
            })
            .body(|body| {
                body.rows(24.0, self.rows.len(), |mut table_row| {
                    let (row, images) = &self.rows[table_row.index()];
                    table_row.set_selected(
                        self.selected.as_deref() == Some(row.order.accession.as_str()),
                    );
                    table_row.col(|ui| super::table_cell(ui, &row.room_name));
                    table_row.col(|ui| {
                        super::table_cell(ui, row.step.start_time.get(11..16).unwrap_or("walk-in"))
                    });
                    table_row.col(|ui| {
                        super::table_cell(
                            ui,
                            &crate::patient_banner::display_name(
                                &row.patient.family_name,
                                &row.patient.given_name,
                            ),
                        )
                    });
                    table_row.col(|ui| {
                        super::table_cell(
                            ui,
                            &crate::patient_banner::birth_with_age(
                                &row.patient.birth_date,
                                today_date,
                            ),
                        )
                    });
                    table_row.col(|ui| super::table_cell(ui, &row.procedure_name));
                    table_row.col(|ui| super::table_cell(ui, &row.order.status.replace('_', " ")));
                    table_row.col(|ui| super::table_cell(ui, &images.to_string()));
                    table_row.col(|ui| super::table_cell(ui, &row.order.accession));
                    if table_row.response().clicked() {
                        clicked = Some(row.order.accession.clone());
                    }
                });
            });
        if let Some(accession) = clicked {
            self.selected = Some(accession);
        }
        if let Some((accession, patient)) = self.confirm_no_images.clone() {
            let text = format!(
                "No image of {patient} ({accession}) has arrived. Completing sends the exam to the radiologists with nothing to read; if the scanner is still sending, wait."
            );
            let decided = super::Confirmation {
                id: "complete_without_images",
                heading: "Complete with no images?",
                text: &text,
                warning: None,
                keep: "Wait for the images",
                proceed: "Complete anyway",
            }
            .ask(ui.ctx());
            match decided {
                Some(true) => {
                    self.confirm_no_images = None;
                    step = Some((accession, ExamStatus::Completed, "Complete"));
                }
                Some(false) => self.confirm_no_images = None,
                None => {}
            }
        }
        if let Some((accession, to, label)) = step {
            self.message = Some(
                match practice.change_status(actor, &accession, to, "by hand at the desk") {
                    Ok(()) => (true, format!("{accession}: {}.", label.to_lowercase())),
                    Err(e) => (false, format!("{accession}: {e}.")),
                },
            );
            self.loaded_for = None;
        }
    }

    /// Selects an exam (tests; a click on its row does the same).
    pub fn select(&mut self, accession: &str) {
        self.selected = Some(accession.to_string());
    }
}
