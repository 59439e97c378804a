//! First run (practice, AE title and ports, the first administrator) and sign-in.

use crate::access::{self, Actor};
use crate::practice::{FirstRun, Practice, SetUpError};
use crate::site;

/// The first-run form: what a new practice must decide before anyone signs in.
#[derive(Debug, Clone)]
pub struct FirstRunForm {
    /// Practice name.
    pub practice: String,
    /// Our AE title.
    pub ae_title: String,
    /// DICOM port.
    pub dicom_port: String,
    /// HL7 port.
    pub hl7_port: String,
    /// Administrator login.
    pub login: String,
    /// Administrator full name.
    pub full_name: String,
    /// Password.
    pub password: String,
    /// Password again.
    pub repeat: String,
    /// The EHR's sending application (MSH-3), if it sends orders here (optional).
    pub ehr_application: String,
    /// The address the EHR connects from (optional).
    pub ehr_host: String,
    /// What went wrong, in the practice's words.
    pub error: Option<String>,
}

impl Default for FirstRunForm {
    fn default() -> FirstRunForm {
        FirstRunForm {
            practice: String::new(),
            ae_title: site::DEFAULT_AE_TITLE.into(),
            dicom_port: site::DEFAULT_DICOM_PORT.to_string(),
            hl7_port: site::DEFAULT_HL7_PORT.to_string(),
            login: "admin".into(),
            full_name: String::new(),
            password: String::new(),
            repeat: String::new(),
            ehr_application: String::new(),
            ehr_host: String::new(),
            error: None,
        }
    }
}

impl FirstRunForm {
    /// Saves the settings and creates the administrator; the signed-in administrator on
    /// success.
    pub fn submit(&mut self, practice: &mut Practice) -> Option<Actor> {
        let result = if self.password != self.repeat {
            Err("The two passwords differ. Type the same password twice.".to_string())
        } else {
            practice
                .set_up(&FirstRun {
                    practice_name: self.practice.trim().into(),
                    ae_title: self.ae_title.trim().into(),
                    dicom_port: self.dicom_port.trim().into(),
                    hl7_port: self.hl7_port.trim().into(),
                    login: self.login.trim().into(),
                    full_name: self.full_name.trim().into(),
                    password: self.password.clone(),
                    ehr_application: self.ehr_application.trim().into(),
                    ehr_host: self.ehr_host.trim().into(),
                })
                .map_err(|e| match e {
                    SetUpError::Invalid(why) => why,
                    SetUpError::WeakPassword(why) => format!("{why}."),
                    SetUpError::AlreadySetUp => {
                        "This practice is already set up: sign in instead.".into()
                    }
                    SetUpError::Failed(why) => {
                        tracing::error!(error = %why, "the first run failed");
                        format!(
                            "The practice could not be set up: {why}. Check the disk and try again."
                        )
                    }
                })
        };
        match result {
            Ok(actor) => {
                self.error = None;
                self.password.clear();
                self.repeat.clear();
                Some(actor)
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }

    /// Draws the form; returns the administrator once created.
    pub fn show(&mut self, ui: &mut egui::Ui, practice: &mut Practice) -> Option<Actor> {
        let mut done = None;
        ui.heading("Welcome to Lightbox");
        ui.label("Set up this practice. The DICOM and HL7 settings can be changed later.");
        ui.label("New ports take effect the next time Lightbox starts.");
        ui.add_space(8.0);
        egui::Grid::new("first_run").num_columns(2).show(ui, |ui| {
            let label = ui.label("Practice name");
            let first = ui
                .add(egui::TextEdit::singleline(&mut self.practice).desired_width(240.0))
                .labelled_by(label.id);
            ui.end_row();
            if self.practice.is_empty() && ui.ctx().memory(|m| m.focused().is_none()) {
                first.request_focus();
            }
            field(ui, "AE title", &mut self.ae_title, false);
            field(ui, "DICOM port", &mut self.dicom_port, false);
            field(ui, "HL7 port", &mut self.hl7_port, false);
            field(
                ui,
                "EHR sending application (optional)",
                &mut self.ehr_application,
                false,
            );
            field(ui, "EHR host (optional)", &mut self.ehr_host, false);
            field(ui, "Administrator login", &mut self.login, false);
            field(ui, "Full name", &mut self.full_name, false);
            field(ui, "Password", &mut self.password, true);
            field(ui, "Repeat password", &mut self.repeat, true);
        });
        let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Create practice").clicked() || enter {
            done = self.submit(practice);
        }
        // Below the button: an error appearing never moves the button under the mouse.
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        done
    }
}

/// The sign-in form.
#[derive(Debug, Clone, Default)]
pub struct SignInForm {
    /// Login.
    pub login: String,
    /// Password.
    pub password: String,
    /// What went wrong.
    pub error: Option<String>,
}

impl SignInForm {
    /// Draws the form; returns the actor once signed in.
    pub fn show(&mut self, ui: &mut egui::Ui, practice: &Practice, name: &str) -> Option<Actor> {
        ui.heading(if name.is_empty() {
            "Lightbox".to_string()
        } else {
            name.to_string()
        });
        ui.label("Sign in to continue.");
        if let Some(server) = practice.server() {
            ui.label(format!(
                "This workstation works on the practice server {server}."
            ));
        }
        egui::Grid::new("sign_in").num_columns(2).show(ui, |ui| {
            let login_label = ui.label("Login");
            let login = ui
                .add(egui::TextEdit::singleline(&mut self.login).desired_width(240.0))
                .labelled_by(login_label.id);
            ui.end_row();
            let password_label = ui.label("Password");
            let password = ui
                .add(
                    egui::TextEdit::singleline(&mut self.password)
                        .password(true)
                        .desired_width(240.0),
                )
                .labelled_by(password_label.id);
            ui.end_row();
            // The cursor waits where typing starts: the login, or the password when the login
            // is known (a locked window), unless the person put it elsewhere.
            if ui.ctx().memory(|m| m.focused().is_none()) {
                if self.login.is_empty() {
                    login.request_focus();
                } else {
                    password.request_focus();
                }
            }
        });
        let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
        let clicked = ui.button("Sign in").clicked();
        // Below the button: an error appearing never moves the button under the mouse.
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if clicked || enter {
            match practice.sign_in(self.login.trim(), &self.password, "desktop") {
                Ok(actor) => {
                    self.password.clear();
                    self.error = None;
                    return Some(actor);
                }
                Err(access::AccessError::BadCredentials) => {
                    self.error = Some("Unknown login or wrong password. Try again.".into());
                }
                // A workstation's server refused it for a reason of its own (this computer's
                // pairing was revoked, too many attempts) or cannot be reached.
                Err(access::AccessError::Denied(why))
                | Err(access::AccessError::Store(crate::records::StoreError::Unavailable(why))) => {
                    self.error = Some(format!("Signing in is not possible: {why}"));
                }
                Err(e) => {
                    tracing::error!(error = %e, "sign-in failed");
                    self.error = Some(
                        "Signing in is not possible right now: the database could not be read."
                            .into(),
                    );
                }
            }
        }
        None
    }
}

/// A labelled text box in a two-column grid; the label is its accessible name.
pub fn field(ui: &mut egui::Ui, label: &str, value: &mut String, password: bool) {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .password(password)
            .desired_width(240.0),
    )
    .labelled_by(label.id);
    ui.end_row();
}

/// A labelled one-line field of a form grid with three columns: label, field, and the reason
/// it cannot be saved (in the error colour, beside the field, empty when fine). Returns the
/// field's response (see [`submitted`]).
pub fn checked_field(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    problem: Option<&str>,
) -> egui::Response {
    let label = ui.label(label);
    let response = ui
        .add(egui::TextEdit::singleline(value).desired_width(240.0))
        .labelled_by(label.id);
    match problem {
        Some(why) => {
            ui.colored_label(ui.visuals().error_fg_color, why);
        }
        None => {
            ui.label("");
        }
    }
    ui.end_row();
    response
}

/// Whether Enter was pressed in this field (forms submit on Enter).
pub fn submitted(ui: &egui::Ui, field: &egui::Response) -> bool {
    field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
}
