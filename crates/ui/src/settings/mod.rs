//! The Settings screen (administrator): the practice (name, letterhead, AE title, ports, lock,
//! theme), rooms and their hours, the procedure catalogue, report templates, DICOM nodes with
//! an Echo button, HL7 destinations with a connection test, user accounts and roles, and the
//! audit log with filters and CSV export. Changes go through `crate::administration`, which
//! checks the role and writes the audit log; network checks run off the UI thread.

use std::sync::mpsc::{self, Receiver};

use crate::access::{Actor, Role};
use crate::administration::{self, AdminError};
use crate::practice::Practice;
use crate::records::access::{AuditEntry, UserRecord};
use crate::records::administration::{AuditFilter, ReportTemplate};
use crate::records::hl7::Destination;
use crate::records::nodes::DicomNode;
use crate::records::ris::{Procedure, Room};
use crate::site;
use crate::window_services::{NoServices, WindowServices};
use std::sync::Arc;

mod catalogue_tab;
mod getting_started;
mod network_tab;
mod people_tab;
mod practice_tab;
mod workstations_tab;

use network_tab::NodeForm;

/// The settings tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsTab {
    /// The set-up checklist: each part of a working practice with its state.
    GettingStarted,
    /// Practice name, letterhead, AE title, ports, lock, theme.
    Practice,
    /// Rooms and opening hours.
    Rooms,
    /// Procedure catalogue.
    Catalogue,
    /// Report templates.
    Templates,
    /// Remote DICOM nodes.
    DicomNodes,
    /// HL7 destinations.
    Hl7,
    /// HL7 sources: who may send.
    Hl7Sources,
    /// The viewer: image memory, prior nodes, corner overlay.
    Viewer,
    /// User accounts.
    Users,
    /// The practice's other PCs: pairing and revoking.
    Workstations,
    /// The audit log.
    Audit,
}

impl SettingsTab {
    const ALL: [SettingsTab; 12] = [
        SettingsTab::GettingStarted,
        SettingsTab::Practice,
        SettingsTab::Rooms,
        SettingsTab::Catalogue,
        SettingsTab::Templates,
        SettingsTab::DicomNodes,
        SettingsTab::Hl7,
        SettingsTab::Hl7Sources,
        SettingsTab::Viewer,
        SettingsTab::Users,
        SettingsTab::Workstations,
        SettingsTab::Audit,
    ];

    fn title(self) -> &'static str {
        match self {
            SettingsTab::GettingStarted => "Getting started",
            SettingsTab::Practice => "Practice",
            SettingsTab::Rooms => "Rooms",
            SettingsTab::Catalogue => "Catalogue",
            SettingsTab::Templates => "Templates",
            SettingsTab::DicomNodes => "DICOM nodes",
            SettingsTab::Hl7 => "HL7 destinations",
            SettingsTab::Hl7Sources => "HL7 sources",
            SettingsTab::Viewer => "Viewing",
            SettingsTab::Users => "Users",
            SettingsTab::Workstations => "Workstations",
            SettingsTab::Audit => "Audit log",
        }
    }
}

/// The practice-wide values edited together.
#[derive(Debug, Clone, Default)]
struct PracticeForm {
    name: String,
    address: String,
    phone: String,
    ae_title: String,
    dicom_port: String,
    hl7_port: String,
    api_port: String,
    lock_minutes: String,
    theme: String,
}

const PRACTICE_KEYS: [&str; 9] = [
    site::PRACTICE_NAME_SETTING,
    site::PRACTICE_ADDRESS_SETTING,
    site::PRACTICE_PHONE_SETTING,
    site::AE_TITLE_SETTING,
    site::DICOM_PORT_SETTING,
    site::HL7_PORT_SETTING,
    site::API_PORT_SETTING,
    site::LOCK_AFTER_SETTING,
    site::THEME_SETTING,
];

impl PracticeForm {
    fn fields(&mut self) -> [&mut String; 9] {
        [
            &mut self.name,
            &mut self.address,
            &mut self.phone,
            &mut self.ae_title,
            &mut self.dicom_port,
            &mut self.hl7_port,
            &mut self.api_port,
            &mut self.lock_minutes,
            &mut self.theme,
        ]
    }
}

/// The viewer's settings as edited.
#[derive(Debug, Clone, Default)]
struct ViewerForm {
    cache_mib: String,
    prior_nodes: String,
    /// One tick per corner-overlay field, in `OverlayField::ALL` order.
    overlay: Vec<bool>,
}

/// A room being edited: hours as seven text fields.
#[derive(Debug, Clone, Default)]
struct RoomForm {
    id: Option<i64>,
    name: String,
    modality: String,
    station_ae: String,
    hours: [String; 7],
}

/// The Settings screen's state.
pub struct SettingsScreen {
    tab: SettingsTab,
    loaded: bool,
    practice: PracticeForm,
    viewer: ViewerForm,
    rooms: Vec<Room>,
    room_form: Option<RoomForm>,
    catalogue: Vec<Procedure>,
    procedure_form: Option<(Procedure, String, String)>,
    templates: Vec<ReportTemplate>,
    template_form: Option<ReportTemplate>,
    nodes: Vec<DicomNode>,
    node_form: NodeForm,
    sources: crate::hl7_sources::Hl7SourcesTab,
    destinations: Vec<Destination>,
    destination_form: (String, String, String, String),
    users: Vec<UserRecord>,
    user_form: (String, String, String, Role),
    audit_filter: AuditFilter,
    audit: Vec<AuditEntry>,
    /// A network check running in the background: what it is, and where its answer comes.
    check: Option<(String, Receiver<(bool, String)>)>,
    message: Option<(bool, String)>,
    /// The network, through the running services.
    services: Arc<dyn WindowServices>,
    workstations: workstations_tab::WorkstationsTab,
    loaded_workstations: bool,
}

impl Default for SettingsScreen {
    fn default() -> Self {
        SettingsScreen {
            tab: SettingsTab::Practice,
            loaded: false,
            practice: PracticeForm::default(),
            viewer: ViewerForm::default(),
            rooms: Vec::new(),
            room_form: None,
            catalogue: Vec::new(),
            procedure_form: None,
            templates: Vec::new(),
            template_form: None,
            nodes: Vec::new(),
            node_form: NodeForm::default(),
            sources: Default::default(),
            destinations: Vec::new(),
            destination_form: (String::new(), String::new(), String::new(), "oru".into()),
            users: Vec::new(),
            user_form: (String::new(), String::new(), String::new(), Role::FrontDesk),
            audit_filter: AuditFilter::default(),
            audit: Vec::new(),
            check: None,
            message: None,
            services: Arc::new(NoServices),
            workstations: Default::default(),
            loaded_workstations: false,
        }
    }
}

/// Words for the user: what went wrong and what to do.
fn explain(e: &AdminError) -> String {
    match e {
        AdminError::Access(crate::access::AccessError::Forbidden { .. }) => {
            "Only an administrator may change settings.".into()
        }
        AdminError::Store(e) => {
            tracing::error!(error = %e, "a settings change failed in the store");
            "The change could not be saved; try again, and check the disk if it keeps failing."
                .into()
        }
        other => format!("Not saved: {other}."),
    }
}

fn outcome(result: Result<(), AdminError>, done: &str) -> (bool, String) {
    match result {
        Ok(()) => (true, done.to_string()),
        Err(e) => (false, explain(&e)),
    }
}

impl SettingsScreen {
    /// Echoes and connection tests go through `services`.
    pub fn set_services(&mut self, services: Arc<dyn WindowServices>) {
        self.services = services;
    }

    /// Reads again on the next frame.
    pub fn reload(&mut self) {
        self.loaded = false;
        self.loaded_workstations = false;
    }

    /// Opens a tab (tests).
    pub fn open(&mut self, tab: SettingsTab) {
        self.tab = tab;
    }

    /// The audit entries shown.
    pub fn audit_entries(&self) -> &[AuditEntry] {
        &self.audit
    }

    /// Whether a network check is still running.
    pub fn checking(&self) -> bool {
        self.check.is_some()
    }

    fn refresh(&mut self, practice: &Practice, actor: &Actor) {
        if self.loaded {
            return;
        }
        self.loaded = true;
        let read = (|| -> Result<(), crate::records::StoreError> {
            let mut values = Vec::new();
            for key in PRACTICE_KEYS {
                values.push(practice.setting(key)?.unwrap_or_default());
            }
            for (field, value) in self.practice.fields().into_iter().zip(values) {
                *field = value;
            }
            if self.practice.ae_title.is_empty() {
                self.practice.ae_title = site::DEFAULT_AE_TITLE.into();
            }
            if self.practice.dicom_port.is_empty() {
                self.practice.dicom_port = site::DEFAULT_DICOM_PORT.to_string();
            }
            if self.practice.hl7_port.is_empty() {
                self.practice.hl7_port = site::DEFAULT_HL7_PORT.to_string();
            }
            if self.practice.lock_minutes.is_empty() {
                self.practice.lock_minutes = site::DEFAULT_LOCK_AFTER_MINUTES.to_string();
            }
            if self.practice.theme.is_empty() {
                self.practice.theme = "light".into();
            }
            let overlay = practice.overlay_fields();
            self.viewer = ViewerForm {
                cache_mib: practice
                    .setting(crate::viewing::CACHE_SETTING)?
                    .unwrap_or_else(|| crate::viewing::DEFAULT_CACHE_MIB.to_string()),
                prior_nodes: practice
                    .setting(crate::viewing::PRIOR_NODES_SETTING)?
                    .unwrap_or_default(),
                overlay: crate::viewing::overlay::OverlayField::ALL
                    .iter()
                    .map(|f| overlay.contains(f))
                    .collect(),
            };
            self.rooms = practice.rooms(None)?;
            self.catalogue = practice.procedures()?;
            self.templates = practice.report_templates()?;
            self.nodes = practice.nodes()?;
            self.destinations = practice.destinations()?;
            self.sources.refresh(practice)?;
            // Only an administrator sees the accounts (others never open this screen).
            self.users = practice.users(actor).unwrap_or_default();
            Ok(())
        })();
        if let Err(e) = read {
            tracing::error!(error = %e, "settings could not be read");
            self.message = Some((false, "Settings could not be read; try again.".into()));
        }
    }

    /// Draws the screen.
    pub fn show(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        self.refresh(practice, actor);
        if let Some((what, rx)) = &self.check {
            match rx.try_recv() {
                Ok(answer) => {
                    self.message = Some(answer);
                    self.check = None;
                }
                Err(mpsc::TryRecvError::Empty) => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(format!("{what}…"));
                    });
                    ui.ctx()
                        .request_repaint_after(std::time::Duration::from_millis(100));
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.message = Some((false, format!("{what} stopped without an answer.")));
                    self.check = None;
                }
            }
        }
        ui.horizontal(|ui| {
            ui.heading("Settings");
            ui.separator();
            for tab in SettingsTab::ALL {
                if ui
                    .selectable_value(&mut self.tab, tab, tab.title())
                    .changed()
                {
                    // A message belongs to the tab it came from; a tab shows what is now.
                    self.message = None;
                    self.loaded_workstations = false;
                }
            }
        });
        super::show_outcome(ui, self.message.as_ref());
        ui.separator();
        egui::ScrollArea::vertical().show(ui, |ui| match self.tab {
            SettingsTab::GettingStarted => self.show_getting_started(ui, practice, actor),
            SettingsTab::Practice => self.show_practice(ui, practice, actor),
            SettingsTab::Rooms => self.show_rooms(ui, practice, actor),
            SettingsTab::Catalogue => self.show_catalogue(ui, practice, actor),
            SettingsTab::Templates => self.show_templates(ui, practice, actor),
            SettingsTab::DicomNodes => self.show_nodes(ui, practice, actor),
            SettingsTab::Hl7 => self.show_destinations(ui, practice, actor),
            SettingsTab::Hl7Sources => {
                if let Some(done) = self.sources.show(ui, practice, actor) {
                    self.message = Some(match done {
                        Ok(text) => (true, text),
                        Err(text) => (false, text),
                    });
                    self.loaded = false;
                }
            }
            SettingsTab::Viewer => self.show_viewer(ui, practice, actor),
            SettingsTab::Users => self.show_users(ui, practice, actor),
            SettingsTab::Workstations => self.show_workstations(ui, practice, actor),
            SettingsTab::Audit => self.show_audit(ui, practice, actor),
        });
    }
}

/// "125.00" or "125" → cents.
fn parse_money(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, cents) = text.split_once('.').unwrap_or((text, "0"));
    let whole: i64 = whole.parse().ok()?;
    let cents: i64 = match cents.len() {
        1 => cents.parse::<i64>().ok()? * 10,
        2 => cents.parse().ok()?,
        _ => return None,
    };
    (whole >= 0).then_some(whole * 100 + cents)
}
