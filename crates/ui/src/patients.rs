//! The Patients screen: search as you type (name, MRN, outside ID, birth date), register with
//! the duplicate warning, and the selected patient's identifiers and orders. Reads and
//! registrations go through the HIS domain, so they are authorised and audited.

use crate::access::Actor;
use crate::his::{HisError, Registration};
use crate::practice::Practice;
use crate::records::his::{PatientIdentifier, PatientRecord};
use crate::records::ris::OrderRecord;

/// The registration form.
#[derive(Debug, Clone, Default)]
pub struct RegisterForm {
    /// Family name.
    pub family: String,
    /// Given name.
    pub given: String,
    /// Birth date YYYY-MM-DD.
    pub birth_date: String,
    /// F, M, O or U.
    pub sex: String,
    /// Phone.
    pub phone: String,
    /// An outside identifier (e.g. the EHR's MRN) …
    pub outside_id: String,
    /// … and who issued it.
    pub issuer: String,
    /// What stopped the last save, by field label.
    pub problems: Vec<(&'static str, String)>,
    /// Put the cursor in the first field on the next frame (a form just opened).
    pub focus_first: bool,
}

/// The Patients screen's state.
#[derive(Default)]
pub struct PatientsScreen {
    query: String,
    searched: Option<String>,
    results: Vec<PatientRecord>,
    selected: Option<SelectedPatient>,
    form: Option<RegisterForm>,
    duplicates: Vec<PatientRecord>,
    message: Option<(bool, String)>,
}

/// The patient open in the detail pane.
struct SelectedPatient {
    patient: PatientRecord,
    /// Whether the record, identifiers and orders below were read since the last change.
    loaded: bool,
    /// The person just opened this record: the next read is audited (later reads after
    /// changes elsewhere are not).
    just_opened: bool,
    identifiers: Vec<PatientIdentifier>,
    orders: Vec<OrderRecord>,
    record: super::patient_record::RecordPanel,
}

impl SelectedPatient {
    /// A patient to open; the rest is read on the next frame.
    fn open(patient: PatientRecord) -> SelectedPatient {
        SelectedPatient {
            patient,
            loaded: false,
            just_opened: true,
            identifiers: Vec::new(),
            orders: Vec::new(),
            record: Default::default(),
        }
    }
}

impl PatientsScreen {
    /// Reads again on the next frame (the store changed).
    pub fn reload(&mut self) {
        self.searched = None;
        if let Some(s) = &mut self.selected {
            s.loaded = false;
        }
    }

    /// The open patient's timeline (for tests).
    pub fn timeline(&self) -> Vec<String> {
        self.selected
            .as_ref()
            .map(|s| s.record.timeline().iter().map(|e| e.what.clone()).collect())
            .unwrap_or_default()
    }

    /// The patients currently listed (for tests).
    pub fn results(&self) -> &[PatientRecord] {
        &self.results
    }

    fn refresh(&mut self, practice: &Practice, actor: &Actor) {
        if self.searched.as_deref() != Some(self.query.as_str()) {
            match practice.search_patients(actor, &self.query, 200) {
                Ok(rows) => self.results = rows,
                Err(HisError::Access(_)) => {
                    self.message = Some((false, "Your role may not see patients.".into()));
                }
                Err(e) => {
                    tracing::error!(error = %e, "patient search failed");
                    self.message = Some((
                        false,
                        "The patient list could not be read. Try again; if it persists, tell your administrator.".into(),
                    ));
                }
            }
            self.searched = Some(self.query.clone());
        }
        if let Some(selected) = &mut self.selected
            && !selected.loaded
        {
            let occasion = if std::mem::take(&mut selected.just_opened) {
                crate::access::ReadOccasion::Opened
            } else {
                crate::access::ReadOccasion::Refreshed
            };
            match practice.patient_chart(actor, selected.patient.id, occasion) {
                Ok(chart) => {
                    selected.patient = chart.patient.clone();
                    selected.identifiers = chart.identifiers.clone();
                    selected.orders = chart.orders.clone();
                    selected.record.load(chart);
                }
                Err(e) => {
                    tracing::error!(error = %e, "a patient's chart could not be read");
                    self.message = Some((
                        false,
                        "The patient's record could not be read. Try again.".into(),
                    ));
                }
            }
            selected.loaded = true;
        }
    }

    fn register(
        &mut self,
        practice: &mut Practice,
        actor: &Actor,
        confirmed_new: bool,
        today: chrono::NaiveDate,
    ) {
        let Some(form) = &self.form else {
            return;
        };
        let mut identifiers = Vec::new();
        if !form.outside_id.trim().is_empty() {
            identifiers.push(PatientIdentifier {
                value: form.outside_id.trim().into(),
                issuer: form.issuer.trim().into(),
            });
        }
        let registration = Registration {
            patient: PatientRecord {
                family_name: form.family.trim().to_uppercase(),
                given_name: form.given.trim().to_uppercase(),
                birth_date: form.birth_date.trim().into(),
                sex: if form.sex.is_empty() {
                    "U".into()
                } else {
                    form.sex.clone()
                },
                phone: form.phone.trim().into(),
                ..PatientRecord::default()
            },
            identifiers,
            confirmed_new,
        };
        let problems = crate::his::demographics_problems(&registration.patient, today);
        if !problems.is_empty() {
            self.message = Some((
                false,
                "The patient was not saved: see the fields marked in red.".into(),
            ));
            if let Some(form) = &mut self.form {
                form.problems = problems;
            }
            return;
        }
        match practice.register_patient(actor, &registration) {
            Ok(patient) => {
                self.message = Some((
                    true,
                    format!(
                        "Registered {} {} with MRN {}.",
                        patient.family_name, patient.given_name, patient.mrn
                    ),
                ));
                self.form = None;
                self.duplicates.clear();
                self.query = patient.mrn.clone();
                self.searched = None;
                self.selected = Some(SelectedPatient::open(patient));
            }
            Err(HisError::PossibleDuplicate { candidates, reason }) => {
                self.message = Some((
                    false,
                    format!(
                        "This may be a patient we already have ({reason}). Open the existing record, or register anyway if it is someone else."
                    ),
                ));
                self.duplicates = candidates;
            }
            Err(HisError::Invalid(why)) => self.message = Some((false, why)),
            Err(HisError::Access(_)) => {
                self.message = Some((false, "Your role may not register patients.".into()))
            }
            Err(e) => {
                tracing::error!(error = %e, "registration failed");
                self.message = Some((
                    false,
                    "The patient could not be saved. Nothing was registered; try again.".into(),
                ));
            }
        }
    }

    /// Draws the screen.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        practice: &mut Practice,
        actor: &Actor,
        today: chrono::NaiveDate,
    ) {
        self.refresh(practice, actor);
        ui.heading("Patients");
        ui.horizontal(|ui| {
            let label = ui.label("Search patients");
            ui.add(
                egui::TextEdit::singleline(&mut self.query)
                    .hint_text("name, MRN, outside ID or birth date YYYY-MM-DD")
                    .desired_width(320.0),
            )
            .labelled_by(label.id);
            if ui.button("Register patient").clicked() {
                // A name typed into the search starts the form; an MRN, ID or date does not.
                let typed_name = !self.query.chars().any(|c| c.is_ascii_digit());
                self.form = Some(RegisterForm {
                    family: if typed_name {
                        self.query.split(',').next().unwrap_or("").trim().into()
                    } else {
                        String::new()
                    },
                    focus_first: true,
                    ..RegisterForm::default()
                });
                self.duplicates.clear();
                self.message = None;
            }
        });
        super::show_outcome(ui, self.message.as_ref());
        ui.separator();
        let mut register: Option<bool> = None;
        let mut open: Option<PatientRecord> = None;
        if let Some(form) = &mut self.form {
            ui.strong("New patient");
            let problem = |field: &str| {
                form.problems
                    .iter()
                    .find(|(f, _)| *f == field)
                    .map(|(_, why)| why.clone())
            };
            let (family_problem, given_problem, birth_problem) = (
                problem("Family name"),
                problem("Given name"),
                problem("Birth date"),
            );
            let mut enter = false;
            egui::Grid::new("register").num_columns(3).show(ui, |ui| {
                let family = super::sign_in::checked_field(
                    ui,
                    "Family name",
                    &mut form.family,
                    family_problem.as_deref(),
                );
                // A new form starts in its first field.
                if std::mem::take(&mut form.focus_first) {
                    family.request_focus();
                }
                let given = super::sign_in::checked_field(
                    ui,
                    "Given name",
                    &mut form.given,
                    given_problem.as_deref(),
                );
                let birth = super::sign_in::checked_field(
                    ui,
                    "Birth date",
                    &mut form.birth_date,
                    birth_problem.as_deref(),
                );
                for field in [&family, &given, &birth] {
                    enter |= super::sign_in::submitted(ui, field);
                }
                let label = ui.label("Sex");
                egui::ComboBox::from_id_salt("sex")
                    .selected_text(match form.sex.as_str() {
                        "F" => "female",
                        "M" => "male",
                        "O" => "other",
                        _ => "unknown",
                    })
                    .show_ui(ui, |ui| {
                        for (code, text) in [
                            ("F", "female"),
                            ("M", "male"),
                            ("O", "other"),
                            ("U", "unknown"),
                        ] {
                            ui.selectable_value(&mut form.sex, code.to_string(), text);
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.label("");
                ui.end_row();
                for (label, value) in [
                    ("Phone", &mut form.phone),
                    ("Outside ID", &mut form.outside_id),
                    ("Issued by", &mut form.issuer),
                ] {
                    let field = super::sign_in::checked_field(ui, label, value, None);
                    enter |= super::sign_in::submitted(ui, &field);
                }
            });
            ui.horizontal(|ui| {
                if ui
                    .button("Save patient")
                    .on_hover_text("or Enter")
                    .clicked()
                    || enter
                {
                    register = Some(false);
                }
                if !self.duplicates.is_empty() && ui.button("Register anyway").clicked() {
                    register = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    self.form = None;
                    self.duplicates.clear();
                    self.message = None;
                }
            });
            for candidate in &self.duplicates {
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "Existing: {} {}, born {}, MRN {}",
                        candidate.family_name,
                        candidate.given_name,
                        candidate.birth_date,
                        candidate.mrn
                    ));
                    if ui.button(format!("Open {}", candidate.mrn)).clicked() {
                        open = Some(candidate.clone());
                    }
                });
            }
            ui.separator();
        }
        if let Some(confirmed) = register {
            self.register(practice, actor, confirmed, today);
        }
        let mut changed = false;
        let mut record_message = None;
        ui.columns(2, |columns| {
            let ui = &mut columns[0];
            ui.label(format!("{} patients", self.results.len()));
            egui::ScrollArea::vertical()
                .id_salt("patient_list")
                .show(ui, |ui| {
                    egui::Grid::new("patients").striped(true).show(ui, |ui| {
                        for h in ["MRN", "Name", "Born", "Sex"] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for p in &self.results {
                            if ui.link(&p.mrn).clicked() {
                                open = Some(p.clone());
                            }
                            ui.label(crate::patient_banner::display_name(
                                &p.family_name,
                                &p.given_name,
                            ));
                            ui.label(crate::patient_banner::birth_with_age(&p.birth_date, today));
                            ui.label(crate::patient_banner::sex_word(&p.sex));
                            ui.end_row();
                        }
                    });
                });
            let ui = &mut columns[1];
            if let Some(selected) = &mut self.selected {
                let p = &selected.patient;
                crate::patient_banner::show(
                    ui,
                    &crate::patient_banner::PatientIdentity::from(p),
                    today,
                );
                let mut facts = Vec::new();
                if !p.phone.is_empty() {
                    facts.push(format!("phone {}", p.phone));
                }
                if !facts.is_empty() {
                    ui.label(facts.join(" · "));
                }
                if !p.address.is_empty() {
                    ui.label(&p.address);
                }
                for id in &selected.identifiers {
                    ui.label(format!("ID {} from {}", id.value, id.issuer));
                }
                egui::ScrollArea::vertical()
                    .id_salt("patient_record")
                    .show(ui, |ui| {
                        ui.separator();
                        ui.strong("Orders and exams");
                        if selected.orders.is_empty() {
                            ui.label("No orders.");
                        }
                        for o in &selected.orders {
                            ui.label(format!(
                                "{} · {} · {} · {}",
                                o.accession,
                                o.procedure_code,
                                o.priority,
                                o.status.replace('_', " ")
                            ));
                        }
                        ui.separator();
                        let patient = selected.patient.clone();
                        if let Some(outcome) =
                            selected.record.show(ui, practice, actor, &patient, today)
                        {
                            if outcome.0 {
                                selected.loaded = false;
                                changed = true;
                            }
                            record_message = Some(outcome);
                        }
                    });
            } else {
                ui.label("Select a patient to see the record.");
            }
        });
        if record_message.is_some() {
            self.message = record_message;
        }
        if changed {
            self.searched = None;
        }
        if let Some(p) = open {
            self.selected = Some(SelectedPatient::open(p));
            self.form = None;
            self.duplicates.clear();
        }
        if self.searched.as_deref() != Some(self.query.as_str()) {
            ui.ctx().request_repaint();
        }
    }
}
