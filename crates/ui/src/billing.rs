//! The Billing screen: charges by status (pending → reviewed → billed) with their codes,
//! modifiers edited at review, mark billed, and a CSV export for the billing service. Every
//! step goes through `ris::billing` (authorised, audited).

use crate::access::Actor;
use crate::practice::Practice;
use crate::records::reports::ChargeRecord;

/// The screen's state.
#[derive(Default)]
pub struct BillingScreen {
    loaded: bool,
    status: String,
    charges: Vec<ChargeRecord>,
    /// Who each charge's exam was for and what it was.
    subjects: crate::patient_banner::ExamSubjects,
    modifiers: std::collections::HashMap<i64, String>,
    /// ICD-10 codes being corrected, per pending charge.
    diagnoses: std::collections::HashMap<i64, String>,
    /// The charge selected in the table (its row id).
    selected: Option<i64>,
    message: Option<(bool, String)>,
    /// The column the table is sorted by (None: the order charges were made).
    sort: crate::table_sort::TableSort,
}

enum Step {
    Codes(i64, String),
    Review(i64, String),
    Bill(i64),
    Export,
}

impl BillingScreen {
    /// Reads again on the next frame (the store changed).
    pub fn reload(&mut self) {
        self.loaded = false;
    }

    /// The charges listed (for tests).
    pub fn charges(&self) -> &[ChargeRecord] {
        &self.charges
    }

    fn refresh(&mut self, practice: &Practice, actor: &Actor) {
        if self.loaded {
            return;
        }
        if self.status.is_empty() {
            self.status = "pending".into();
        }
        match practice.charges(actor, Some(&self.status)) {
            Ok(c) => {
                let accessions: Vec<String> = c.iter().map(|c| c.accession.clone()).collect();
                self.subjects = practice
                    .exam_subjects(actor, &accessions)
                    .unwrap_or_default();
                self.charges = c;
                let subjects = &self.subjects;
                self.sort.apply(&mut self.charges, |c, column| {
                    use crate::patient_banner::SubjectColumn::*;
                    match column {
                        0 => crate::patient_banner::subject_sort_key(subjects, &c.accession, Name),
                        1 => crate::patient_banner::subject_sort_key(subjects, &c.accession, Born),
                        2 => crate::patient_banner::subject_sort_key(
                            subjects,
                            &c.accession,
                            Procedure,
                        ),
                        3 => c.accession.clone(),
                        4 => c.cpt.clone(),
                        5 => c.modifiers.clone(),
                        6 => c.icd10.clone(),
                        // Amounts as numbers: 9.00 before 10.00.
                        7 => format!("{:020}", c.amount_cents.max(0)),
                        _ => c.payer.clone(),
                    }
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "charges could not be read");
                self.message = Some((
                    false,
                    "The charges could not be read; the screen will try again.".into(),
                ));
            }
        }
        self.loaded = true;
    }

    /// The selected charge: who and what, its codes to correct, and its next step.
    fn show_selected(
        &mut self,
        ui: &mut egui::Ui,
        today: chrono::NaiveDate,
        step: &mut Option<Step>,
    ) {
        let Some(c) = self
            .selected
            .and_then(|id| self.charges.iter().find(|c| c.id == id))
            .cloned()
        else {
            ui.weak("Select a charge.");
            return;
        };
        ui.strong(format!(
            "{} · {}",
            crate::patient_banner::subject_name(&self.subjects, &c.accession),
            crate::patient_banner::subject_born(&self.subjects, &c.accession, today)
        ));
        ui.label(format!(
            "{} · {}",
            crate::patient_banner::subject_procedure(&self.subjects, &c.accession, &c.cpt),
            c.accession
        ));
        ui.label(format!(
            "{} unit(s) · {}.{:02} · {} · {}",
            c.units,
            c.amount_cents / 100,
            c.amount_cents % 100,
            c.payer,
            c.status
        ));
        ui.separator();
        if c.status != "pending" {
            ui.label(format!("ICD-10: {}", c.icd10.replace('~', ", ")));
            ui.label(format!("Modifiers: {}", c.modifiers));
            if c.status == "reviewed" && ui.button("Mark billed").clicked() {
                *step = Some(Step::Bill(c.id));
            }
            return;
        }
        let diagnoses = self
            .diagnoses
            .entry(c.id)
            .or_insert_with(|| c.icd10.replace('~', ", "));
        egui::Grid::new("charge_codes")
            .num_columns(2)
            .show(ui, |ui| {
                let label = ui.label("ICD-10");
                ui.add(egui::TextEdit::singleline(diagnoses).desired_width(160.0))
                    .labelled_by(label.id);
                ui.end_row();
            });
        if ui.button("Save codes").clicked() {
            *step = Some(Step::Codes(c.id, diagnoses.clone()));
        }
        let modifiers = self
            .modifiers
            .entry(c.id)
            .or_insert_with(|| c.modifiers.clone());
        egui::Grid::new("charge_modifiers")
            .num_columns(2)
            .show(ui, |ui| {
                let label = ui.label("Modifiers");
                ui.add(egui::TextEdit::singleline(modifiers).desired_width(80.0))
                    .labelled_by(label.id);
                ui.end_row();
            });
        ui.add_space(8.0);
        if ui
            .button("Review")
            .on_hover_text("codes checked; ready to bill")
            .clicked()
        {
            *step = Some(Step::Review(c.id, modifiers.clone()));
        }
    }

    /// Draws the screen. Exports go to `exports/` beside the database.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        practice: &Practice,
        actor: &Actor,
        today: chrono::NaiveDate,
    ) {
        self.refresh(practice, actor);
        ui.heading("Billing");
        super::show_outcome(ui, self.message.as_ref());
        let mut step = None;
        ui.horizontal(|ui| {
            for status in ["pending", "reviewed", "billed"] {
                if ui.selectable_label(self.status == status, status).clicked() {
                    self.status = status.into();
                    self.loaded = false;
                }
            }
            if ui.button("Export CSV").clicked() {
                step = Some(Step::Export);
            }
        });
        ui.label(format!("{} {} charges", self.charges.len(), self.status));
        // The selection stays on its charge; a new list starts at the first.
        if self
            .selected
            .is_none_or(|id| !self.charges.iter().any(|c| c.id == id))
        {
            self.selected = self.charges.first().map(|c| c.id);
        }
        egui::Panel::right("charge_panel")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| self.show_selected(ui, today, &mut step));
        let mut clicked = None;
        let mut sort_changed = false;
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::horizontal()
                .id_salt("charges_across")
                .show(ui, |ui| {
                    let money = |cents: i64| format!("{}.{:02}", cents / 100, cents % 100);
                    egui_extras::TableBuilder::new(ui)
                        .id_salt("charges")
                        .striped(true)
                        .resizable(true)
                        .sense(egui::Sense::click())
                        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                        .column(
                            egui_extras::Column::initial(160.0)
                                .at_least(100.0)
                                .clip(true),
                        )
                        .column(
                            egui_extras::Column::initial(125.0)
                                .at_least(90.0)
                                .clip(true),
                        )
                        .column(
                            egui_extras::Column::initial(200.0)
                                .at_least(100.0)
                                .clip(true),
                        )
                        .column(egui_extras::Column::auto().at_least(90.0))
                        .column(egui_extras::Column::auto().at_least(50.0))
                        .column(egui_extras::Column::auto().at_least(60.0))
                        .column(egui_extras::Column::auto().at_least(70.0))
                        .column(egui_extras::Column::auto().at_least(60.0))
                        .column(egui_extras::Column::remainder().at_least(70.0))
                        .header(22.0, |mut header| {
                            if self.sort.header(
                                &mut header,
                                &[
                                    "Patient",
                                    "Born",
                                    "Procedure",
                                    "Accession",
                                    "CPT",
                                    "Modifiers",
                                    "ICD-10 codes",
                                    "Amount",
                                    "Payer",
                                ],
                            ) {
                                sort_changed = true;
                            }
                        })
                        .body(|body| {
                            body.rows(24.0, self.charges.len(), |mut row| {
                                let c = &self.charges[row.index()];
                                row.set_selected(self.selected == Some(c.id));
                                row.col(|ui| {
                                    super::table_cell(
                                        ui,
                                        &crate::patient_banner::subject_name(
                                            &self.subjects,
                                            &c.accession,
                                        ),
                                    )
                                });
                                row.col(|ui| {
                                    super::table_cell(
                                        ui,
                                        &crate::patient_banner::subject_born(
                                            &self.subjects,
                                            &c.accession,
                                            today,
                                        ),
                                    )
                                });
                                row.col(|ui| {
                                    super::table_cell(
                                        ui,
                                        &self
                                            .subjects
                                            .get(&c.accession)
                                            .map(|s| s.procedure_name.clone())
                                            .unwrap_or_default(),
                                    )
                                });
                                row.col(|ui| super::table_cell(ui, &c.accession));
                                row.col(|ui| super::table_cell(ui, &c.cpt));
                                row.col(|ui| super::table_cell(ui, &c.modifiers));
                                row.col(|ui| super::table_cell(ui, &c.icd10.replace('~', ", ")));
                                row.col(|ui| super::table_cell(ui, &money(c.amount_cents)));
                                row.col(|ui| super::table_cell(ui, &c.payer));
                                if row.response().clicked() {
                                    clicked = Some(c.id);
                                }
                            });
                        });
                });
        });
        if let Some(id) = clicked {
            self.selected = Some(id);
        }
        if sort_changed {
            // Read again, sorted: rows never move on their own.
            self.loaded = false;
        }
        let Some(step) = step else {
            return;
        };
        self.message = Some(match step {
            Step::Codes(id, text) => {
                let codes: Vec<String> = text
                    .split([',', ' '])
                    .map(|c| c.trim().to_uppercase())
                    .filter(|c| !c.is_empty())
                    .collect();
                match practice.correct_diagnoses(actor, id, &codes) {
                    Ok(()) => {
                        self.diagnoses.remove(&id);
                        (true, "Diagnosis codes corrected.".into())
                    }
                    Err(e) => (false, format!("The codes were not changed: {e}.")),
                }
            }
            Step::Review(id, modifiers) => {
                let m = modifiers.trim();
                match practice.review_charge(actor, id, (!m.is_empty()).then_some(m)) {
                    Ok(()) => (true, "Charge reviewed.".into()),
                    Err(e) => (false, format!("The charge was not reviewed: {e}.")),
                }
            }
            Step::Bill(id) => match practice.mark_billed(actor, id) {
                Ok(()) => (true, "Charge marked billed.".into()),
                Err(e) => (false, format!("The charge was not marked billed: {e}.")),
            },
            Step::Export => {
                let folder = practice.exports_folder();
                let file = folder.join(format!(
                    "charges-{}-{}.csv",
                    self.status,
                    chrono::Local::now().format("%Y%m%d-%H%M%S")
                ));
                let written = practice
                    .charges_csv(actor, &self.charges)
                    .map_err(|e| e.to_string())
                    .and_then(|csv| {
                        std::fs::create_dir_all(&folder)
                            .and_then(|()| std::fs::write(&file, csv))
                            .map_err(|e| e.to_string())
                    });
                match written {
                    Ok(()) => (
                        true,
                        format!(
                            "{} charges written to {}",
                            self.charges.len(),
                            file.display()
                        ),
                    ),
                    Err(e) => (
                        false,
                        format!(
                            "The export could not be written to {}: {e}. Check the disk.",
                            folder.display()
                        ),
                    ),
                }
            }
        });
        self.loaded = false;
    }
}
