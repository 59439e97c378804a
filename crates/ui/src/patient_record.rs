//! The open patient's record beside the search list: demographics with an edit form,
//! identifiers, insurance with eligibility and prior authorisation, the timeline (orders,
//! exam steps, reports, charges, studies), and merging a duplicate into this record with a
//! preview first and an undo after. Everything goes through the HIS domain (authorised,
//! audited).

use crate::access::Actor;
use crate::his::{HisError, TimelineEntry};
use crate::practice::{MergePreview, PatientChart, Practice};
use crate::records::his::{InsurancePolicy, PatientRecord};

/// The edit form's fields.
#[derive(Debug, Clone, Default)]
struct EditForm {
    family: String,
    given: String,
    birth_date: String,
    sex: String,
    phone: String,
    address: String,
    alerts: String,
    /// What stopped the last save, by field label.
    problems: Vec<(&'static str, String)>,
}

/// A new policy's fields.
#[derive(Debug, Clone, Default)]
struct InsuranceForm {
    payer: String,
    plan: String,
    member_number: String,
    requires_authorisation: bool,
}

/// The record panel's state (one per open patient).
#[derive(Default)]
pub struct RecordPanel {
    edit: Option<EditForm>,
    insurance: Vec<(InsurancePolicy, (String, String, String, String))>,
    insurance_form: Option<InsuranceForm>,
    authorisation_form: (String, String, String),
    timeline: Vec<TimelineEntry>,
    merge_mrn: String,
    preview: Option<MergePreview>,
    /// The last merge made here, which can be undone.
    last_merge: Option<(i64, String)>,
}

/// What the user asked for this frame.
enum Step {
    SaveEdit,
    AddInsurance,
    Eligibility(i64, bool),
    Authorise(i64),
    PreviewMerge,
    Merge,
    UndoMerge(i64),
}

fn explain(e: HisError) -> String {
    match e {
        HisError::Access(_) => "Your role may not do this.".into(),
        HisError::Invalid(why) => why,
        other => {
            tracing::error!(error = %other, "a patient change failed");
            "The change could not be saved; nothing was changed. Try again.".into()
        }
    }
}

impl RecordPanel {
    /// Takes the parts of the chart this panel shows.
    pub fn load(&mut self, chart: PatientChart) {
        self.insurance = chart.insurance;
        self.timeline = chart.timeline;
    }

    /// The timeline shown (tests).
    pub fn timeline(&self) -> &[TimelineEntry] {
        &self.timeline
    }

    /// Draws the panel; returns a message for the screen and whether the store changed.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        practice: &mut Practice,
        actor: &Actor,
        patient: &PatientRecord,
        today: chrono::NaiveDate,
    ) -> Option<(bool, String)> {
        let mut step = None;
        ui.horizontal(|ui| {
            if self.edit.is_none() && ui.button("Edit patient").clicked() {
                self.edit = Some(EditForm {
                    family: patient.family_name.clone(),
                    given: patient.given_name.clone(),
                    birth_date: patient.birth_date.clone(),
                    sex: patient.sex.clone(),
                    phone: patient.phone.clone(),
                    address: patient.address.clone(),
                    alerts: patient.alerts.clone(),
                    problems: Vec::new(),
                });
            }
        });
        if let Some(form) = &mut self.edit {
            let problem = |field: &str| {
                form.problems
                    .iter()
                    .find(|(f, _)| *f == field)
                    .map(|(_, why)| why.clone())
            };
            let problems = [
                problem("Family name"),
                problem("Given name"),
                problem("Birth date"),
            ];
            let mut enter = false;
            egui::Grid::new("edit_patient")
                .num_columns(3)
                .show(ui, |ui| {
                    for ((label, value), why) in [
                        ("Edit family name", &mut form.family),
                        ("Edit given name", &mut form.given),
                        ("Edit birth date", &mut form.birth_date),
                    ]
                    .into_iter()
                    .zip(&problems)
                    {
                        let field = super::sign_in::checked_field(ui, label, value, why.as_deref());
                        enter |= super::sign_in::submitted(ui, &field);
                    }
                    // Sex is a choice, never free text.
                    let label = ui.label("Edit sex");
                    egui::ComboBox::from_id_salt("edit_sex")
                        .selected_text(crate::patient_banner::sex_word(&form.sex))
                        .show_ui(ui, |ui| {
                            for (code, word) in crate::his::SEX_CODES {
                                ui.selectable_value(&mut form.sex, code.to_string(), word);
                            }
                        })
                        .response
                        .labelled_by(label.id);
                    ui.label("");
                    ui.end_row();
                    for (label, value) in [
                        ("Edit phone", &mut form.phone),
                        ("Edit address", &mut form.address),
                        ("Alerts and allergies", &mut form.alerts),
                    ] {
                        let field = super::sign_in::checked_field(ui, label, value, None);
                        enter |= super::sign_in::submitted(ui, &field);
                    }
                });
            if enter {
                step = Some(Step::SaveEdit);
            }
            ui.horizontal(|ui| {
                if ui.button("Save changes").clicked() {
                    step = Some(Step::SaveEdit);
                }
                if ui.button("Discard changes").clicked() {
                    self.edit = None;
                }
            });
        }
        if !patient.alerts.is_empty() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("Alerts: {}", patient.alerts),
            );
        }
        ui.separator();
        ui.strong("Insurance");
        if self.insurance.is_empty() {
            ui.label("No insurance on file.");
        }
        for (p, (auth_status, auth_number, from, to)) in &self.insurance {
            ui.label(format!(
                "{} {} · member {} · eligibility {}{}",
                p.payer,
                p.plan,
                p.member_number,
                p.eligibility,
                if p.requires_authorisation {
                    if auth_status == "approved" {
                        format!(" · authorisation {auth_number} valid {from} to {to}")
                    } else {
                        " · needs prior authorisation".to_string()
                    }
                } else {
                    String::new()
                }
            ));
            ui.horizontal(|ui| {
                if ui.button(format!("Eligible {}", p.payer)).clicked() {
                    step = Some(Step::Eligibility(p.id, true));
                }
                if ui.button(format!("Not eligible {}", p.payer)).clicked() {
                    step = Some(Step::Eligibility(p.id, false));
                }
            });
            if p.requires_authorisation && auth_status != "approved" {
                let (number, from, to) = &mut self.authorisation_form;
                egui::Grid::new(("authorisation", p.id))
                    .num_columns(2)
                    .show(ui, |ui| {
                        super::sign_in::field(ui, "Authorisation number", number, false);
                        super::sign_in::field(ui, "Valid from", from, false);
                        super::sign_in::field(ui, "Valid to", to, false);
                    });
                if ui.button("Record authorisation").clicked() {
                    step = Some(Step::Authorise(p.id));
                }
            }
        }
        match &mut self.insurance_form {
            None => {
                if ui.button("Add insurance").clicked() {
                    self.insurance_form = Some(InsuranceForm::default());
                }
            }
            Some(form) => {
                egui::Grid::new("insurance_form")
                    .num_columns(2)
                    .show(ui, |ui| {
                        super::sign_in::field(ui, "Payer", &mut form.payer, false);
                        super::sign_in::field(ui, "Plan", &mut form.plan, false);
                        super::sign_in::field(ui, "Member number", &mut form.member_number, false);
                    });
                ui.checkbox(
                    &mut form.requires_authorisation,
                    "Payer requires prior authorisation for imaging",
                );
                if ui.button("Save insurance").clicked() {
                    step = Some(Step::AddInsurance);
                }
            }
        }
        ui.separator();
        ui.strong("Merge a duplicate record into this one");
        ui.horizontal(|ui| {
            let label = ui.label("MRN of the duplicate");
            ui.add(egui::TextEdit::singleline(&mut self.merge_mrn).desired_width(120.0))
                .labelled_by(label.id);
            if ui.button("Preview merge").clicked() {
                step = Some(Step::PreviewMerge);
            }
        });
        if let Some(p) = &self.preview {
            ui.label(format!(
                "Merging {}, {} (MRN {}, born {}) into this record moves {} orders, {} identifiers and {} archived studies. The duplicate's MRN stops being used.",
                p.merged.family_name,
                p.merged.given_name,
                p.merged.mrn,
                p.merged.birth_date,
                p.orders,
                p.identifiers,
                p.studies
            ));
            if ui.button("Merge now").clicked() {
                step = Some(Step::Merge);
            }
        }
        if let Some((id, mrn)) = &self.last_merge
            && ui.button(format!("Undo merge of {mrn}")).clicked()
        {
            step = Some(Step::UndoMerge(*id));
        }
        ui.separator();
        egui::CollapsingHeader::new(format!("Timeline ({})", self.timeline.len()))
            .default_open(true)
            .show(ui, |ui| {
                for e in &self.timeline {
                    ui.label(format!(
                        "{} · {}",
                        e.at.get(..16).unwrap_or(&e.at).replace('T', " "),
                        e.what
                    ));
                }
            });
        step.map(|s| self.apply(s, practice, actor, patient, today))
    }

    fn apply(
        &mut self,
        step: Step,
        practice: &mut Practice,
        actor: &Actor,
        patient: &PatientRecord,
        today: chrono::NaiveDate,
    ) -> (bool, String) {
        match step {
            Step::SaveEdit => {
                let Some(f) = &self.edit else {
                    return (false, "Nothing to save.".into());
                };
                let record = PatientRecord {
                    family_name: f.family.trim().to_uppercase(),
                    given_name: f.given.trim().to_uppercase(),
                    birth_date: f.birth_date.trim().into(),
                    sex: f.sex.trim().to_uppercase(),
                    phone: f.phone.trim().into(),
                    address: f.address.trim().into(),
                    alerts: f.alerts.trim().into(),
                    ..patient.clone()
                };
                let problems = crate::his::demographics_problems(&record, today);
                if !problems.is_empty() {
                    if let Some(form) = &mut self.edit {
                        form.problems = problems;
                    }
                    return (false, "Not saved: see the fields marked in red.".into());
                }
                match practice.update_patient(actor, &record) {
                    Ok(()) => {
                        self.edit = None;
                        (true, format!("{} saved.", patient.mrn))
                    }
                    Err(e) => (false, explain(e)),
                }
            }
            Step::AddInsurance => {
                let Some(f) = &self.insurance_form else {
                    return (false, "Nothing to save.".into());
                };
                if f.payer.trim().is_empty() || f.member_number.trim().is_empty() {
                    return (
                        false,
                        "Insurance needs the payer and the member number.".into(),
                    );
                }
                let policy = InsurancePolicy {
                    patient: patient.id,
                    payer: f.payer.trim().into(),
                    plan: f.plan.trim().into(),
                    member_number: f.member_number.trim().into(),
                    requires_authorisation: f.requires_authorisation,
                    eligibility: "unknown".into(),
                    relationship: "self".into(),
                    ..InsurancePolicy::default()
                };
                match practice.add_insurance(actor, &policy) {
                    Ok(_) => {
                        self.insurance_form = None;
                        (true, format!("{} added.", policy.payer))
                    }
                    Err(e) => (false, explain(e)),
                }
            }
            Step::Eligibility(policy, eligible) => {
                match practice.record_eligibility(actor, policy, eligible) {
                    Ok(()) => (
                        true,
                        if eligible {
                            "Recorded: eligible.".into()
                        } else {
                            "Recorded: not eligible. Talk to the patient about payment before the exam.".into()
                        },
                    ),
                    Err(e) => (false, explain(e)),
                }
            }
            Step::Authorise(policy) => {
                let (number, from, to) = &self.authorisation_form;
                match practice.record_authorisation(actor, policy, number, from, to) {
                    Ok(()) => {
                        self.authorisation_form = Default::default();
                        (true, "Authorisation recorded.".into())
                    }
                    Err(e) => (false, explain(e)),
                }
            }
            Step::PreviewMerge => {
                let mrn = self.merge_mrn.trim().to_string();
                match practice.merge_preview(actor, patient.id, &mrn) {
                    Ok(preview) => {
                        self.preview = Some(preview);
                        (true, "Check the preview, then merge.".into())
                    }
                    Err(e) => (false, explain(e)),
                }
            }
            Step::Merge => {
                let Some(preview) = self.preview.take() else {
                    return (false, "Preview the merge first.".into());
                };
                match practice.merge_patients(actor, patient.id, preview.merged.id) {
                    Ok(record) => {
                        self.last_merge = Some((record.id, preview.merged.mrn.clone()));
                        self.merge_mrn.clear();
                        (
                            true,
                            format!(
                                "{} merged into {}. Undo is available below.",
                                preview.merged.mrn, patient.mrn
                            ),
                        )
                    }
                    Err(e) => (false, explain(e)),
                }
            }
            Step::UndoMerge(id) => match practice.unmerge_patients(actor, id) {
                Ok(()) => {
                    let mrn = self.last_merge.take().map(|m| m.1).unwrap_or_default();
                    (
                        true,
                        format!("Merge undone: {mrn} is a separate patient again."),
                    )
                }
                Err(e) => (false, explain(e)),
            },
        }
    }
}
