//! Setting the practice up and keeping it: the first run, settings, rooms, the procedure
//! catalogue, report templates, DICOM nodes, HL7 sources and destinations, users, the audit
//! log. Changes need the Administer permission (checked and audited in
//! [`crate::administration`]); the set-up lists (rooms, catalogue, nodes…) are not patient data
//! and are read without an actor.

use super::Practice;
use super::remote::forward;
use crate::access::{self, AccessError, Action, Actor, Role};
use crate::administration::{self, AdminError};
use crate::hl7::outbound::OutboundError;
use crate::site;
use crate::store::StoreError;
use crate::store::access::{AuditEntry, UserRecord};
use crate::store::administration::{AuditFilter, ReportTemplate};
use crate::store::hl7::Destination;
use crate::store::hl7_sources::Hl7Source;
use crate::store::nodes::DicomNode;
use crate::store::ris::{Procedure, Room};

/// What the first run decides: the practice, how the scanners and the EHR reach it, and its
/// first administrator.
#[derive(Debug, Clone, Default)]
pub struct FirstRun {
    /// The practice's name.
    pub practice_name: String,
    /// Our AE title.
    pub ae_title: String,
    /// The DICOM port.
    pub dicom_port: String,
    /// The HL7 port.
    pub hl7_port: String,
    /// The administrator's login.
    pub login: String,
    /// Their full name.
    pub full_name: String,
    /// Their password.
    pub password: String,
    /// The EHR's sending application (MSH-3), if the practice has one: it may then send
    /// registrations and orders from the start.
    pub ehr_application: String,
    /// The host the EHR sends from (empty: any).
    pub ehr_host: String,
}

/// Why the first run did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SetUpError {
    /// A value cannot be used (the text says which and what is expected).
    #[error("{0}")]
    Invalid(String),
    /// The password is too weak (the text says why).
    #[error("{0}")]
    WeakPassword(String),
    /// The practice already has users.
    #[error("the practice is already set up")]
    AlreadySetUp,
    /// The store failed.
    #[error("{0}")]
    Failed(String),
}

impl Practice {
    /// The first run: checks every value, creates the first administrator, stores the
    /// settings (audited as theirs) and, if named, the EHR as an HL7 source. The administrator,
    /// signed in.
    pub fn set_up(&mut self, first: &FirstRun) -> Result<Actor, SetUpError> {
        let settings = [
            (site::PRACTICE_NAME_SETTING, first.practice_name.as_str()),
            (site::AE_TITLE_SETTING, first.ae_title.as_str()),
            (site::DICOM_PORT_SETTING, first.dicom_port.as_str()),
            (site::HL7_PORT_SETTING, first.hl7_port.as_str()),
        ];
        // The form's words, not the settings' keys ("Practice name: …", not "practice.name: …").
        let labels = [
            (site::PRACTICE_NAME_SETTING, "Practice name"),
            (site::AE_TITLE_SETTING, "AE title"),
            (site::DICOM_PORT_SETTING, "DICOM port"),
            (site::HL7_PORT_SETTING, "HL7 port"),
        ];
        for (key, value) in settings {
            if let Err(why) = crate::settings::validate(key, value) {
                let label = labels
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(key, |(_, l)| *l);
                let why = why
                    .strip_prefix(&format!("{key}: "))
                    .unwrap_or(&why)
                    .to_string();
                return Err(SetUpError::Invalid(format!("{label}: {why}")));
            }
        }
        if !self.needs_first_run() {
            return Err(SetUpError::AlreadySetUp);
        }
        let actor = access::create_first_administrator(
            &self.store,
            &first.login,
            &first.full_name,
            &first.password,
        )
        .map_err(|e| match e {
            AccessError::WeakPassword(why) => SetUpError::WeakPassword(why),
            AccessError::Denied(_) => SetUpError::AlreadySetUp,
            other => SetUpError::Failed(other.to_string()),
        })?;
        let actor = Actor {
            origin: "desktop".into(),
            ..actor
        };
        for (key, value) in settings {
            administration::change_setting(&self.store, &actor, key, value)
                .map_err(|e| SetUpError::Failed(e.to_string()))?;
        }
        if !first.ehr_application.is_empty() {
            let source = Hl7Source {
                id: 0,
                name: "EHR".into(),
                application: first.ehr_application.clone(),
                facility: String::new(),
                host: first.ehr_host.clone(),
                messages: "adt,orders".into(),
            };
            crate::hl7::sources::save_source(&self.store, &actor, &source)
                .map_err(|e| SetUpError::Failed(format!("the EHR could not be saved: {e}")))?;
        }
        Ok(actor)
    }

    /// Loads the starter procedure catalogue and one room per modality into a new practice
    /// (nothing happens if it has them already).
    pub fn seed_starter_data(&self) -> Result<(), crate::ris::RisError> {
        crate::ris::seed_starter_data(&self.store)
    }

    /// Changes a setting (checked against the settings table; audited).
    pub fn change_setting(&self, actor: &Actor, key: &str, value: &str) -> Result<(), AdminError> {
        forward!(self, "change_setting", key, value);
        administration::change_setting(&self.store, actor, key, value)
    }

    /// The rooms (of one modality, or all).
    pub fn rooms(&self, modality: Option<&str>) -> Result<Vec<Room>, StoreError> {
        forward!(self, "rooms", modality);
        self.store.rooms(modality)
    }

    /// Adds a room; its row id.
    pub fn add_room(&self, actor: &Actor, room: &Room) -> Result<i64, AdminError> {
        forward!(self, "add_room", room);
        administration::add_room(&self.store, actor, room)
    }

    /// Changes a room.
    pub fn change_room(&self, actor: &Actor, room: &Room) -> Result<(), AdminError> {
        forward!(self, "change_room", room);
        administration::change_room(&self.store, actor, room)
    }

    /// Retires a room (its history stays).
    pub fn retire_room(&self, actor: &Actor, room: i64) -> Result<(), AdminError> {
        forward!(self, "retire_room", room);
        administration::retire_room(&self.store, actor, room)
    }

    /// The procedure catalogue.
    pub fn procedures(&self) -> Result<Vec<Procedure>, StoreError> {
        forward!(self, "procedures");
        self.store.procedures()
    }

    /// One procedure by code.
    pub fn procedure(&self, code: &str) -> Result<Option<Procedure>, StoreError> {
        forward!(self, "procedure", code);
        self.store.procedure(code)
    }

    /// The modalities the catalogue uses.
    pub fn catalogue_modalities(&self) -> Result<Vec<String>, StoreError> {
        forward!(self, "catalogue_modalities");
        self.store.catalogue_modalities()
    }

    /// Adds or changes a procedure.
    pub fn save_procedure(&self, actor: &Actor, procedure: &Procedure) -> Result<(), AdminError> {
        forward!(self, "save_procedure", procedure);
        administration::save_procedure(&self.store, actor, procedure)
    }

    /// The report templates.
    pub fn report_templates(&self) -> Result<Vec<ReportTemplate>, StoreError> {
        forward!(self, "report_templates");
        self.store.report_templates()
    }

    /// Adds or changes a report template.
    pub fn save_template(
        &self,
        actor: &Actor,
        template: &ReportTemplate,
    ) -> Result<(), AdminError> {
        forward!(self, "save_template", template);
        administration::save_template(&self.store, actor, template)
    }

    /// The DICOM nodes.
    pub fn nodes(&self) -> Result<Vec<DicomNode>, StoreError> {
        forward!(self, "nodes");
        self.store.nodes()
    }

    /// One node by name.
    pub fn node(&self, name: &str) -> Result<Option<DicomNode>, StoreError> {
        forward!(self, "node", name);
        self.store.node_by_name(name)
    }

    /// Adds or replaces a node.
    pub fn save_node(&self, actor: &Actor, node: &DicomNode) -> Result<(), AdminError> {
        forward!(self, "save_node", node);
        administration::save_node(&self.store, actor, node)
    }

    /// Removes a node.
    pub fn remove_node(&self, actor: &Actor, name: &str) -> Result<(), AdminError> {
        forward!(self, "remove_node", name);
        administration::remove_node(&self.store, actor, name)
    }

    /// The HL7 sources (who may send what).
    pub fn hl7_sources(&self) -> Result<Vec<Hl7Source>, StoreError> {
        forward!(self, "hl7_sources");
        self.store.hl7_sources()
    }

    /// Adds or changes an HL7 source; its row id.
    pub fn save_hl7_source(
        &self,
        actor: &Actor,
        source: &Hl7Source,
    ) -> Result<i64, crate::hl7::sources::SourceError> {
        forward!(self, "save_hl7_source", source);
        crate::hl7::sources::save_source(&self.store, actor, source)
    }

    /// Removes an HL7 source; whether there was one.
    pub fn remove_hl7_source(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<bool, crate::hl7::sources::SourceError> {
        forward!(self, "remove_hl7_source", name);
        crate::hl7::sources::remove_source(&self.store, actor, name)
    }

    /// The HL7 destinations.
    pub fn destinations(&self) -> Result<Vec<Destination>, StoreError> {
        forward!(self, "destinations");
        self.store.destinations()
    }

    /// Adds a destination; its row id.
    pub fn add_destination(
        &self,
        actor: &Actor,
        destination: &Destination,
    ) -> Result<i64, OutboundError> {
        forward!(self, "add_destination", destination);
        crate::hl7::outbound::add_destination(&self.store, actor, destination)
    }

    /// The user accounts (administrators only).
    pub fn users(&self, actor: &Actor) -> Result<Vec<UserRecord>, AdminError> {
        forward!(self, "users");
        access::authorise(&self.store, actor, Action::Administer, "users")?;
        Ok(self.store.users()?)
    }

    /// Creates a user account; its row id.
    pub fn create_user(
        &self,
        actor: &Actor,
        login: &str,
        full_name: &str,
        role: Role,
        password: &str,
    ) -> Result<i64, AccessError> {
        forward!(self, "create_user", login, full_name, role, password);
        access::create_user(&self.store, actor, login, full_name, role, password)
    }

    /// Changes a user's role or whether they may sign in.
    pub fn change_user(
        &self,
        actor: &Actor,
        login: &str,
        role: Role,
        active: bool,
    ) -> Result<(), AdminError> {
        forward!(self, "change_user", login, role, active);
        administration::change_user(&self.store, actor, login, role, active)
    }

    /// Sets a new password for a user.
    pub fn reset_password(
        &self,
        actor: &Actor,
        login: &str,
        password: &str,
    ) -> Result<(), AdminError> {
        forward!(self, "reset_password", login, password);
        administration::reset_password(&self.store, actor, login, password)
    }

    /// Searches the audit log (the search is audited).
    pub fn search_audit(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, AdminError> {
        forward!(self, "search_audit", filter);
        administration::search_audit(&self.store, actor, filter)
    }

    /// The overlay fields the viewer shows (setting `viewer.overlay`).
    pub fn overlay_fields(&self) -> Vec<crate::viewing::overlay::OverlayField> {
        forward!(self, "overlay_fields");
        crate::viewing::overlay::overlay_fields(&self.store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_run_errors_name_the_form_fields_not_the_setting_keys() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut practice = Practice::open(&dir.path().join("lightbox.sqlite"))?;
        let first = FirstRun {
            practice_name: String::new(),
            ae_title: "LIGHTBOX".into(),
            dicom_port: "11112".into(),
            hl7_port: "2575".into(),
            login: "zoe".into(),
            full_name: "Zoë Ødegård".into(),
            password: "a long enough password".into(),
            ehr_application: String::new(),
            ehr_host: String::new(),
        };
        let Err(SetUpError::Invalid(why)) = practice.set_up(&first) else {
            anyhow::bail!("an empty practice name was accepted");
        };
        assert!(why.starts_with("Practice name: "), "{why}");
        assert!(!why.contains("practice.name"), "{why}");
        let Err(SetUpError::Invalid(why)) = practice.set_up(&FirstRun {
            practice_name: "Praxis Müller".into(),
            dicom_port: "70000".into(),
            ..first
        }) else {
            anyhow::bail!("port 70000 was accepted");
        };
        assert!(why.starts_with("DICOM port: "), "{why}");
        Ok(())
    }
}
