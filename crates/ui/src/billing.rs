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
    message: Option<(bool, String)>,
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
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::Grid::new("charges").striped(true).show(ui, |ui| {
                for h in [
                    "Patient",
                    "Born",
                    "Procedure",
                    "Accession",
                    "CPT",
                    "Modifiers",
                    "ICD-10",
                    "Units",
                    "Amount",
                    "Payer",
                    "",
                ] {
                    ui.strong(h);
                }
                ui.end_row();
                for c in &self.charges {
                    ui.label(crate::patient_banner::subject_name(
                        &self.subjects,
                        &c.accession,
                    ));
                    ui.label(crate::patient_banner::subject_born(
                        &self.subjects,
                        &c.accession,
                        today,
                    ));
                    ui.label(
                        self.subjects
                            .get(&c.accession)
                            .map(|s| s.procedure_name.clone())
                            .unwrap_or_default(),
                    );
                    ui.label(&c.accession);
                    ui.label(&c.cpt);
                    if c.status == "pending" {
                        let text = self
                            .modifiers
                            .entry(c.id)
                            .or_insert_with(|| c.modifiers.clone());
                        let name = format!("Modifiers {}", c.accession);
                        ui.add(egui::TextEdit::singleline(text).desired_width(60.0))
                            .widget_info(|| {
                                egui::WidgetInfo::labeled(egui::Role::TextInput, true, &name)
                            });
                    } else {
                        ui.label(&c.modifiers);
                    }
                    if c.status == "pending" {
                        let text = self
                            .diagnoses
                            .entry(c.id)
                            .or_insert_with(|| c.icd10.replace('~', ", "));
                        let name = format!("ICD-10 {}", c.accession);
                        ui.horizontal(|ui| {
                            ui.add(egui::TextEdit::singleline(text).desired_width(90.0))
                                .widget_info(|| {
                                    egui::WidgetInfo::labeled(egui::Role::TextInput, true, &name)
                                });
                            if ui.button(format!("Save codes {}", c.accession)).clicked() {
                                step = Some(Step::Codes(c.id, text.clone()));
                            }
                        });
                    } else {
                        ui.label(c.icd10.replace('~', ", "));
                    }
                    ui.label(c.units.to_string());
                    ui.label(format!(
                        "{}.{:02}",
                        c.amount_cents / 100,
                        c.amount_cents % 100
                    ));
                    ui.label(&c.payer);
                    match c.status.as_str() {
                        "pending" => {
                            if ui.button(format!("Review {}", c.accession)).clicked() {
                                let m = self.modifiers.get(&c.id).cloned().unwrap_or_default();
                                step = Some(Step::Review(c.id, m));
                            }
                        }
                        "reviewed" => {
                            if ui.button(format!("Mark billed {}", c.accession)).clicked() {
                                step = Some(Step::Bill(c.id));
                            }
                        }
                        _ => {
                            ui.label("");
                        }
                    }
                    ui.end_row();
                }
            });
        });
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
