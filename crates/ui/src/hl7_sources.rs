//! Settings → HL7 sources: the systems allowed to send HL7 here (anyone else is refused
//! with AR), what each may send, and from which host.

use crate::access::Actor;
use crate::practice::Practice;
use crate::records::hl7_sources::{Hl7Source, MESSAGE_CLASSES};

/// The tab's state: the sources as read, and the form to add one.
#[derive(Default)]
pub struct Hl7SourcesTab {
    sources: Vec<Hl7Source>,
    form: SourceForm,
}

struct SourceForm {
    name: String,
    application: String,
    facility: String,
    host: String,
    messages: Vec<&'static str>,
}

impl Default for SourceForm {
    fn default() -> Self {
        SourceForm {
            name: String::new(),
            application: String::new(),
            facility: String::new(),
            host: String::new(),
            messages: vec!["adt", "orders"],
        }
    }
}

/// What each kind of message means to the person ticking it.
fn label(class: &str) -> &'static str {
    match class {
        "adt" => "registrations and visits (ADT)",
        "merge" => "patient merges (A40)",
        "orders" => "orders (ORM, OMI, OMG)",
        "results" => "dictated reports (ORU)",
        _ => "other",
    }
}

impl Hl7SourcesTab {
    /// Reads the sources again.
    pub fn refresh(&mut self, practice: &Practice) -> Result<(), crate::records::StoreError> {
        self.sources = practice.hl7_sources()?;
        Ok(())
    }

    /// Draws the tab; returns what to tell the user, if anything happened.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        practice: &Practice,
        actor: &Actor,
    ) -> Option<Result<String, String>> {
        let mut outcome = None;
        ui.label(
            "Only these systems may send HL7 to Lightbox; a message from anyone else is refused \
             (AR) and shown on the Integration screen.",
        );
        let mut remove: Option<String> = None;
        egui::Grid::new("hl7_sources").striped(true).show(ui, |ui| {
            for h in ["Name", "Application / facility", "Host", "May send", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for s in &self.sources {
                ui.label(&s.name);
                ui.label(if s.facility.is_empty() {
                    format!("{} (any facility)", s.application)
                } else {
                    format!("{} / {}", s.application, s.facility)
                });
                ui.label(if s.host.is_empty() {
                    "any host"
                } else {
                    &s.host
                });
                ui.label(s.messages.replace(',', ", "));
                if ui.button(format!("Remove source {}", s.name)).clicked() {
                    remove = Some(s.name.clone());
                }
                ui.end_row();
            }
        });
        if let Some(name) = remove {
            outcome = Some(
                practice
                    .remove_hl7_source(actor, &name)
                    .map(|_| format!("{name} removed; its messages are refused from now on."))
                    .map_err(|e| format!("Not removed: {e}.")),
            );
        }
        ui.separator();
        ui.strong("Add or change a source");
        let form = &mut self.form;
        egui::Grid::new("hl7_source_form")
            .num_columns(2)
            .show(ui, |ui| {
                super::sign_in::field(ui, "Source name", &mut form.name, false);
                super::sign_in::field(
                    ui,
                    "Sending application (MSH-3)",
                    &mut form.application,
                    false,
                );
                super::sign_in::field(
                    ui,
                    "Sending facility (MSH-4, empty: any)",
                    &mut form.facility,
                    false,
                );
                super::sign_in::field(ui, "Source host (empty: any)", &mut form.host, false);
                ui.label("May send");
                ui.vertical(|ui| {
                    for class in MESSAGE_CLASSES {
                        let mut on = form.messages.contains(&class);
                        if ui.checkbox(&mut on, label(class)).changed() {
                            form.messages.retain(|m| *m != class);
                            if on {
                                form.messages.push(class);
                            }
                        }
                    }
                });
                ui.end_row();
            });
        if ui.button("Save source").clicked() {
            let messages: Vec<&str> = MESSAGE_CLASSES
                .iter()
                .copied()
                .filter(|c| form.messages.contains(c))
                .collect();
            let source = Hl7Source {
                id: 0,
                name: form.name.trim().into(),
                application: form.application.trim().into(),
                facility: form.facility.trim().into(),
                host: form.host.trim().into(),
                messages: messages.join(","),
            };
            outcome = Some(if messages.is_empty() {
                Err("Tick at least one kind of message the source may send.".into())
            } else {
                match practice.save_hl7_source(actor, &source) {
                    Ok(_) => {
                        *form = SourceForm::default();
                        Ok(format!("{} saved.", source.name))
                    }
                    Err(e) => Err(format!("Not saved: {e}.")),
                }
            });
        }
        outcome
    }
}
