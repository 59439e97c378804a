//! The technologist's screen: today's exams by room with their live status, the images
//! received so far, and the status steps a technologist takes by hand where a scanner sends no
//! MPPS (arrived, start, complete, discontinue). Every step goes through the exam status rules.

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

    /// Draws the screen for `today` (YYYY-MM-DD).
    pub fn show(&mut self, ui: &mut egui::Ui, practice: &mut Practice, actor: &Actor, today: &str) {
        self.refresh(practice, actor, today);
        ui.heading(format!("Today's exams — {today}"));
        let today_date = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d")
            .unwrap_or_else(|_| chrono::Local::now().date_naive());
        super::show_outcome(ui, self.message.as_ref());
        let mut step: Option<(String, ExamStatus, &'static str)> = None;
        if self.rows.is_empty() {
            ui.label("No exams scheduled today.");
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::CollapsingHeader::new("What the scanners' worklists show")
                .default_open(false)
                .show(ui, |ui| {
                    super::worklist_view::show(ui, &self.scanner_worklist, None)
                });
            let mut room = String::new();
            for (row, images) in &self.rows {
                if row.room_name != room {
                    room = row.room_name.clone();
                    ui.separator();
                    ui.strong(format!("{} ({})", room, row.station_ae));
                }
                ui.horizontal(|ui| {
                    let time = row.step.start_time.get(11..16).unwrap_or("walk-in");
                    ui.label(format!(
                        "{time} {} · {} · {} · {} · {} · {images} images",
                        row.order.accession,
                        crate::patient_banner::display_name(
                            &row.patient.family_name,
                            &row.patient.given_name
                        ),
                        crate::patient_banner::birth_with_age(&row.patient.birth_date, today_date),
                        row.procedure_name,
                        row.order.status.replace('_', " "),
                    ));
                    for (to, label) in next_steps(&row.order.status) {
                        if ui
                            .button(format!("{label} {}", row.order.accession))
                            .clicked()
                        {
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
            }
        });
        if let Some((accession, patient)) = self.confirm_no_images.clone() {
            let mut decided = None;
            let modal = egui::Modal::new(egui::Id::unique("complete_without_images")).show(
                ui.ctx(),
                |ui| {
                    ui.set_max_width(440.0);
                    ui.heading("Complete with no images?");
                    ui.label(format!(
                        "No image of {patient} ({accession}) has arrived. Completing sends the exam to the radiologists with nothing to read; if the scanner is still sending, wait."
                    ));
                    ui.add_space(8.0);
                    ui.horizontal(|ui| {
                        if ui.button("Wait for the images").clicked() {
                            decided = Some(false);
                        }
                        ui.add_space(40.0);
                        if ui.button("Complete anyway").clicked() {
                            decided = Some(true);
                        }
                    });
                },
            );
            if modal.should_close() && decided.is_none() {
                decided = Some(false);
            }
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
}
