//! The Settings screen (administrator): the practice (name, letterhead, AE title, ports, lock,
//! theme), rooms and their hours, the procedure catalogue, report templates, DICOM nodes with
//! an Echo button, HL7 destinations with a connection test, user accounts and roles, and the
//! audit log with filters and CSV export. Changes go through `crate::administration`, which
//! checks the role and writes the audit log; network checks run off the UI thread.

use std::sync::mpsc::{self, Receiver};

use crate::access::{Actor, Role};
use crate::administration::{self, AdminError};
use crate::practice::Practice;
use crate::records::administration::{AuditFilter, ReportTemplate};
use crate::records::hl7::Destination;
use crate::records::nodes::DicomNode;
use crate::records::ris::{AuditEntry, Procedure, Room, UserRecord};
use crate::site;
use crate::window_services::{NoServices, WindowServices};
use std::sync::Arc;

/// The settings tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsTab {
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
    /// The audit log.
    Audit,
}

impl SettingsTab {
    const ALL: [SettingsTab; 10] = [
        SettingsTab::Practice,
        SettingsTab::Rooms,
        SettingsTab::Catalogue,
        SettingsTab::Templates,
        SettingsTab::DicomNodes,
        SettingsTab::Hl7,
        SettingsTab::Hl7Sources,
        SettingsTab::Viewer,
        SettingsTab::Users,
        SettingsTab::Audit,
    ];

    fn title(self) -> &'static str {
        match self {
            SettingsTab::Practice => "Practice",
            SettingsTab::Rooms => "Rooms",
            SettingsTab::Catalogue => "Catalogue",
            SettingsTab::Templates => "Templates",
            SettingsTab::DicomNodes => "DICOM nodes",
            SettingsTab::Hl7 => "HL7 destinations",
            SettingsTab::Hl7Sources => "HL7 sources",
            SettingsTab::Viewer => "Viewing",
            SettingsTab::Users => "Users",
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
    lock_minutes: String,
    theme: String,
}

const PRACTICE_KEYS: [&str; 8] = [
    site::PRACTICE_NAME_SETTING,
    site::PRACTICE_ADDRESS_SETTING,
    site::PRACTICE_PHONE_SETTING,
    site::AE_TITLE_SETTING,
    site::DICOM_PORT_SETTING,
    site::HL7_PORT_SETTING,
    site::LOCK_AFTER_SETTING,
    site::THEME_SETTING,
];

impl PracticeForm {
    fn fields(&mut self) -> [&mut String; 8] {
        [
            &mut self.name,
            &mut self.address,
            &mut self.phone,
            &mut self.ae_title,
            &mut self.dicom_port,
            &mut self.hl7_port,
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
    sources: super::hl7_sources::Hl7SourcesTab,
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

/// Runs a network check on its own thread; the screen polls the answer each frame.
fn spawn_check(work: impl FnOnce() -> (bool, String) + Send + 'static) -> Receiver<(bool, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx
}

/// C-ECHO to `node` calling as `calling_ae`, through the running services.
fn echo_node(services: &dyn WindowServices, node: DicomNode, calling_ae: String) -> (bool, String) {
    match services.echo(&node, &calling_ae) {
        Ok(round_trip) => (
            true,
            format!(
                "{} answered the echo in {} ms.",
                node.name,
                round_trip.as_millis()
            ),
        ),
        Err(e) => (
            false,
            format!(
                "{} did not answer the echo: {e}. Check its AE title, host and port, and that it knows our AE title {calling_ae}.",
                node.name
            ),
        ),
    }
}

/// Whether an HL7 destination (the receiving engine's MLLP port) accepts connections.
fn test_destination(
    services: &dyn WindowServices,
    name: String,
    host: String,
    port: u16,
) -> (bool, String) {
    match services.reach_hl7(&host, port) {
        Ok(address) => (
            true,
            format!("{name} accepts connections on {address}; messages can be delivered."),
        ),
        Err(e) => (
            false,
            format!("{name}: {e}. Check the address and that the receiving interface is running."),
        ),
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
                ui.selectable_value(&mut self.tab, tab, tab.title());
            }
        });
        super::show_outcome(ui, self.message.as_ref());
        ui.separator();
        egui::ScrollArea::vertical().show(ui, |ui| match self.tab {
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
            SettingsTab::Audit => self.show_audit(ui, practice, actor),
        });
    }

    fn show_practice(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        let labels = [
            "Practice name",
            "Address",
            "Phone",
            "Our AE title",
            "DICOM port",
            "HL7 port",
            "Lock after minutes (0 = never)",
        ];
        egui::Grid::new("practice").num_columns(2).show(ui, |ui| {
            for (label, field) in labels.iter().zip(self.practice.fields()) {
                super::sign_in::field(ui, label, field, false);
            }
            ui.label("Theme");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.practice.theme, "light".into(), "Light");
                ui.selectable_value(&mut self.practice.theme, "dark".into(), "Dark");
            });
            ui.end_row();
        });
        ui.weak("The AE title and ports apply the next time Lightbox starts.");
        if ui.button("Save practice settings").clicked() {
            let values: Vec<String> = self
                .practice
                .fields()
                .into_iter()
                .map(|v| v.trim().to_string())
                .collect();
            let result = PRACTICE_KEYS
                .iter()
                .zip(&values)
                .try_for_each(|(key, value)| {
                    let unchanged = practice.setting(key).ok().flatten().as_deref() == Some(value);
                    let optional_empty = value.is_empty()
                        && matches!(
                            *key,
                            site::PRACTICE_ADDRESS_SETTING | site::PRACTICE_PHONE_SETTING
                        );
                    if unchanged
                        || (optional_empty && practice.setting(key).ok().flatten().is_none())
                    {
                        Ok(())
                    } else {
                        practice.change_setting(actor, key, value)
                    }
                });
            self.message = Some(outcome(result, "Practice settings saved."));
            self.loaded = false;
        }
    }

    fn show_viewer(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        use crate::viewing::overlay::{OverlayField, format_fields};
        egui::Grid::new("viewer settings")
            .num_columns(2)
            .show(ui, |ui| {
                super::sign_in::field(
                    ui,
                    "Image memory for the viewer (MiB)",
                    &mut self.viewer.cache_mib,
                    false,
                );
                super::sign_in::field(
                    ui,
                    "Prior nodes (names, comma-separated)",
                    &mut self.viewer.prior_nodes,
                    false,
                );
            });
        ui.weak(
            "Image memory holds decoded images and series on the GPU, shared equally by the \
             viewports showing a study; prior nodes are the DICOM nodes asked for a patient's \
             earlier studies.",
        );
        ui.label("Corner overlay shows:");
        ui.horizontal_wrapped(|ui| {
            for (field, on) in OverlayField::ALL.iter().zip(self.viewer.overlay.iter_mut()) {
                ui.checkbox(on, field.label());
            }
        });
        ui.weak("Changes apply to studies opened from now on.");
        if ui.button("Save viewer settings").clicked() {
            let unknown: Vec<String> = self
                .viewer
                .prior_nodes
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty() && !self.nodes.iter().any(|d| d.name == *n))
                .map(str::to_string)
                .collect();
            let result = match crate::viewing::parse_cache_mib(&self.viewer.cache_mib) {
                Err(e) => Err(e.to_string()),
                Ok(_) if !unknown.is_empty() => Err(format!(
                    "no DICOM node is named {} (add it under DICOM nodes first)",
                    unknown.join(", ")
                )),
                Ok(mib) => {
                    let fields: Vec<OverlayField> = OverlayField::ALL
                        .into_iter()
                        .zip(&self.viewer.overlay)
                        .filter(|(_, on)| **on)
                        .map(|(f, _)| f)
                        .collect();
                    let nodes = self
                        .viewer
                        .prior_nodes
                        .split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .collect::<Vec<_>>()
                        .join(", ");
                    [
                        (crate::viewing::CACHE_SETTING, mib.to_string()),
                        (crate::viewing::PRIOR_NODES_SETTING, nodes),
                        (
                            crate::viewing::overlay::OVERLAY_SETTING,
                            // Nothing ticked is stored as such (not as "all").
                            if fields.is_empty() {
                                "none".into()
                            } else {
                                format_fields(&fields)
                            },
                        ),
                    ]
                    .iter()
                    .filter(|(key, value)| {
                        practice.setting(key).ok().flatten().as_deref() != Some(value.as_str())
                    })
                    .try_for_each(|(key, value)| practice.change_setting(actor, key, value))
                    .map_err(|e| explain(&e))
                }
            };
            self.message = Some(match result {
                Ok(()) => {
                    self.loaded = false;
                    (true, "Viewer settings saved.".into())
                }
                Err(e) if e.starts_with("Not saved") => (false, e),
                Err(e) => (false, format!("Not saved: {e}.")),
            });
        }
    }

    fn show_rooms(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        egui::Grid::new("rooms").striped(true).show(ui, |ui| {
            for h in ["Room", "Modality", "Scanner AE"].iter().chain(DAYS.iter()) {
                ui.strong(*h);
            }
            ui.label("");
            ui.end_row();
            for room in &self.rooms {
                ui.label(&room.name);
                ui.label(&room.modality);
                ui.label(&room.station_ae);
                for h in &room.hours {
                    ui.label(if h.is_empty() { "closed" } else { h.as_str() });
                }
                if ui.button(format!("Edit {}", room.name)).clicked() {
                    self.room_form = Some(RoomForm {
                        id: Some(room.id),
                        name: room.name.clone(),
                        modality: room.modality.clone(),
                        station_ae: room.station_ae.clone(),
                        hours: room.hours.clone(),
                    });
                }
                ui.end_row();
            }
        });
        if self.room_form.is_none() && ui.button("Add room").clicked() {
            self.room_form = Some(RoomForm {
                hours: std::array::from_fn(|d| {
                    if d < 5 {
                        "08:00-18:00".into()
                    } else {
                        String::new()
                    }
                }),
                ..Default::default()
            });
        }
        let Some(form) = &mut self.room_form else {
            return;
        };
        ui.separator();
        egui::Grid::new("room_form").num_columns(2).show(ui, |ui| {
            super::sign_in::field(ui, "Room name", &mut form.name, false);
            super::sign_in::field(ui, "Modality", &mut form.modality, false);
            super::sign_in::field(ui, "Scanner AE title", &mut form.station_ae, false);
            for (day, hours) in DAYS.iter().zip(form.hours.iter_mut()) {
                super::sign_in::field(ui, &format!("{day} hours"), hours, false);
            }
        });
        ui.weak("Hours as 08:00-18:00; leave a day empty when the room is closed.");
        let mut done = None;
        let mut close = false;
        ui.horizontal(|ui| {
            if ui.button("Save room").clicked() {
                let room = Room {
                    id: form.id.unwrap_or(0),
                    name: form.name.trim().into(),
                    modality: form.modality.trim().to_uppercase(),
                    station_ae: form.station_ae.trim().into(),
                    hours: form.hours.clone().map(|h| h.trim().to_string()),
                };
                let result = match form.id {
                    Some(_) => practice.change_room(actor, &room),
                    None => practice.add_room(actor, &room).map(|_| ()),
                };
                done = Some(outcome(result, &format!("Room {} saved.", room.name)));
            }
            if let Some(id) = form.id
                && ui.button("Retire room").clicked()
            {
                done = Some(outcome(
                    practice.retire_room(actor, id),
                    "Room retired; its past exams keep their room.",
                ));
            }
            if ui.button("Close").clicked() {
                close = true;
            }
        });
        if close {
            self.room_form = None;
        }
        if let Some(result) = done {
            if result.0 {
                self.room_form = None;
            }
            self.message = Some(result);
            self.loaded = false;
        }
    }

    fn show_catalogue(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        if let Some((p, duration, charge)) = &mut self.procedure_form {
            egui::Grid::new("procedure_form")
                .num_columns(2)
                .show(ui, |ui| {
                    super::sign_in::field(ui, "Code", &mut p.code, false);
                    super::sign_in::field(ui, "Name", &mut p.name, false);
                    super::sign_in::field(ui, "Modality", &mut p.modality, false);
                    super::sign_in::field(ui, "Body part", &mut p.body_part, false);
                    super::sign_in::field(ui, "Minutes", duration, false);
                    super::sign_in::field(ui, "Charge", charge, false);
                    ui.label("Preparation");
                    ui.add(egui::TextEdit::multiline(&mut p.preparation).desired_rows(3));
                    ui.end_row();
                });
            let mut close = false;
            ui.horizontal(|ui| {
                if ui.button("Save procedure").clicked() {
                    let parsed = duration.trim().parse::<u32>().ok().zip(parse_money(charge));
                    self.message = Some(match parsed {
                        Some((minutes, cents)) => {
                            p.duration_minutes = minutes;
                            p.charge_cents = cents;
                            p.modality = p.modality.trim().to_uppercase();
                            let r = outcome(
                                practice.save_procedure(actor, p),
                                &format!("Procedure {} saved.", p.code),
                            );
                            close = r.0;
                            r
                        }
                        None => (
                            false,
                            "Write the minutes as a whole number and the charge as 125.00.".into(),
                        ),
                    });
                    self.loaded = false;
                }
                if ui.button("Close").clicked() {
                    close = true;
                }
            });
            if close {
                self.procedure_form = None;
            }
            ui.separator();
        } else if ui.button("Add procedure").clicked() {
            self.procedure_form = Some((
                Procedure {
                    code: String::new(),
                    name: String::new(),
                    modality: String::new(),
                    body_part: String::new(),
                    duration_minutes: 30,
                    preparation: String::new(),
                    charge_cents: 0,
                },
                "30".into(),
                "0.00".into(),
            ));
        }
        egui::Grid::new("catalogue").striped(true).show(ui, |ui| {
            for h in ["Code", "Name", "Modality", "Minutes", "Charge", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for p in &self.catalogue {
                ui.label(&p.code);
                ui.label(&p.name);
                ui.label(&p.modality);
                ui.label(p.duration_minutes.to_string());
                ui.label(format!(
                    "{}.{:02}",
                    p.charge_cents / 100,
                    p.charge_cents % 100
                ));
                if ui.button(format!("Edit {}", p.code)).clicked() {
                    self.procedure_form = Some((
                        p.clone(),
                        p.duration_minutes.to_string(),
                        format!("{}.{:02}", p.charge_cents / 100, p.charge_cents % 100),
                    ));
                }
                ui.end_row();
            }
        });
    }

    fn show_templates(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        for t in &self.templates {
            ui.horizontal(|ui| {
                ui.label(format!(
                    "{} · {}",
                    if t.modality.is_empty() {
                        "any modality"
                    } else {
                        &t.modality
                    },
                    t.name
                ));
                if ui.button(format!("Edit template {}", t.name)).clicked() {
                    self.template_form = Some(t.clone());
                }
            });
        }
        if self.template_form.is_none() && ui.button("Add template").clicked() {
            self.template_form = Some(ReportTemplate {
                modality: String::new(),
                name: String::new(),
                body: "TECHNIQUE:\n\nFINDINGS:\n\nIMPRESSION:\n".into(),
            });
        }
        let Some(t) = &mut self.template_form else {
            return;
        };
        ui.separator();
        egui::Grid::new("template_form")
            .num_columns(2)
            .show(ui, |ui| {
                super::sign_in::field(ui, "Template modality", &mut t.modality, false);
                super::sign_in::field(ui, "Template name", &mut t.name, false);
            });
        ui.add(
            egui::TextEdit::multiline(&mut t.body)
                .desired_rows(10)
                .desired_width(f32::INFINITY),
        );
        let mut close = false;
        ui.horizontal(|ui| {
            if ui.button("Save template").clicked() {
                t.modality = t.modality.trim().to_uppercase();
                let r = outcome(
                    practice.save_template(actor, t),
                    &format!("Template {} saved.", t.name),
                );
                close = r.0;
                self.message = Some(r);
                self.loaded = false;
            }
            if ui.button("Close").clicked() {
                close = true;
            }
        });
        if close {
            self.template_form = None;
        }
    }

    fn show_nodes(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        let calling = if self.practice.ae_title.is_empty() {
            site::DEFAULT_AE_TITLE.to_string()
        } else {
            self.practice.ae_title.clone()
        };
        let mut step: Option<(bool, DicomNode)> = None;
        egui::Grid::new("nodes").striped(true).show(ui, |ui| {
            for h in ["Name", "AE title", "Host", "Port", "May", "", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for n in &self.nodes {
                ui.label(&n.name);
                ui.label(&n.ae_title);
                if n.host.is_empty() {
                    ui.label("any host");
                } else if n.check_host {
                    ui.label(&n.host)
                        .on_hover_text("calls with this AE title are accepted only from this host");
                } else {
                    ui.label(format!("{} (not checked)", n.host));
                }
                ui.label(n.port.to_string());
                ui.label(n.services.replace(',', ", "));
                if ui
                    .add_enabled(
                        self.check.is_none(),
                        egui::Button::new(format!("Echo {}", n.name)),
                    )
                    .clicked()
                {
                    step = Some((true, n.clone()));
                }
                if ui.button(format!("Remove {}", n.name)).clicked() {
                    step = Some((false, n.clone()));
                }
                ui.end_row();
            }
        });
        match step {
            Some((true, node)) => {
                let what = format!("Echo to {}", node.name);
                let services = self.services.clone();
                self.check = Some((
                    what,
                    spawn_check(move || echo_node(services.as_ref(), node, calling)),
                ));
            }
            Some((false, node)) => {
                self.message = Some(outcome(
                    practice.remove_node(actor, &node.name),
                    &format!("{} removed.", node.name),
                ));
                self.loaded = false;
            }
            None => {}
        }
        ui.separator();
        ui.strong("Add or change a node");
        let form = &mut self.node_form;
        egui::Grid::new("node_form").num_columns(2).show(ui, |ui| {
            super::sign_in::field(ui, "Node name", &mut form.name, false);
            super::sign_in::field(ui, "Node AE title", &mut form.ae_title, false);
            super::sign_in::field(ui, "Node host", &mut form.host, false);
            super::sign_in::field(ui, "Node port", &mut form.port, false);
            ui.label("May");
            ui.horizontal(|ui| {
                for (service, label) in [
                    ("store", "send images"),
                    ("query", "query and retrieve"),
                    ("worklist", "worklist and MPPS"),
                ] {
                    let mut on = form.services.contains(&service);
                    if ui.checkbox(&mut on, label).changed() {
                        form.services.retain(|s| *s != service);
                        if on {
                            form.services.push(service);
                        }
                    }
                }
            });
            ui.end_row();
            ui.label("");
            ui.checkbox(&mut form.check_host, "Only from this host");
            ui.end_row();
        });
        if ui.button("Save node").clicked() {
            let form = &self.node_form;
            self.message = Some(match form.port.trim().parse::<u16>() {
                Ok(p) => {
                    let node = DicomNode {
                        name: form.name.trim().into(),
                        ae_title: form.ae_title.trim().into(),
                        host: form.host.trim().into(),
                        port: p,
                        check_host: form.check_host,
                        services: lightbox_node_services(&form.services),
                    };
                    let r = outcome(
                        practice.save_node(actor, &node),
                        &format!("{} saved; press Echo to check it answers.", node.name),
                    );
                    if r.0 {
                        self.node_form = NodeForm::default();
                    }
                    r
                }
                Err(_) => (false, "The port is a number such as 104 or 11112.".into()),
            });
            self.loaded = false;
        }
    }

    fn show_destinations(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        let mut test: Option<Destination> = None;
        egui::Grid::new("destinations")
            .striped(true)
            .show(ui, |ui| {
                for h in ["Name", "Address", "Version", "Events", ""] {
                    ui.strong(h);
                }
                ui.end_row();
                for d in &self.destinations {
                    ui.label(&d.name);
                    ui.label(format!("{}:{}", d.host, d.port));
                    ui.label(&d.version);
                    ui.label(&d.events);
                    if ui
                        .add_enabled(
                            self.check.is_none(),
                            egui::Button::new(format!("Test {}", d.name)),
                        )
                        .clicked()
                    {
                        test = Some(d.clone());
                    }
                    ui.end_row();
                }
            });
        if let Some(d) = test {
            let what = format!("Connecting to {}", d.name);
            self.check = Some((what, {
                let services = self.services.clone();
                spawn_check(move || test_destination(services.as_ref(), d.name, d.host, d.port))
            }));
        }
        ui.separator();
        ui.strong("Add a destination");
        let (name, host, port, events) = &mut self.destination_form;
        egui::Grid::new("destination_form")
            .num_columns(2)
            .show(ui, |ui| {
                super::sign_in::field(ui, "Destination name", name, false);
                super::sign_in::field(ui, "Destination host", host, false);
                super::sign_in::field(ui, "Destination port", port, false);
                super::sign_in::field(ui, "Events (oru, status, dft, adt, ack)", events, false);
            });
        if ui.button("Add destination").clicked() {
            self.message = Some(match port.trim().parse::<u16>() {
                Ok(p) => {
                    let d = Destination {
                        name: name.trim().into(),
                        host: host.trim().into(),
                        port: p,
                        version: "2.5.1".into(),
                        events: events.trim().into(),
                        report_text: "tx".into(),
                        ack_timeout_secs: 30,
                        enabled: true,
                        ..Default::default()
                    };
                    match practice.add_destination(actor, &d) {
                        Ok(_) => {
                            self.destination_form =
                                (String::new(), String::new(), String::new(), "oru".into());
                            (
                                true,
                                format!("{} added; press Test to check it is reachable.", d.name),
                            )
                        }
                        Err(e) => (false, format!("Not added: {e}.")),
                    }
                }
                Err(_) => (false, "The port is a number such as 2575.".into()),
            });
            self.loaded = false;
        }
    }

    fn show_users(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        let roles = [
            Role::FrontDesk,
            Role::Technologist,
            Role::Radiologist,
            Role::Administrator,
        ];
        let mut change: Option<(String, Role, bool)> = None;
        egui::Grid::new("users").striped(true).show(ui, |ui| {
            for h in ["Login", "Name", "Role", "", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for u in &self.users {
                ui.label(&u.login);
                ui.label(&u.full_name);
                let role = Role::from_code(&u.role).unwrap_or(Role::FrontDesk);
                let mut chosen = role;
                egui::ComboBox::from_label(format!("role of {}", u.login))
                    .selected_text(role.code().replace('_', " "))
                    .show_ui(ui, |ui| {
                        for r in roles {
                            ui.selectable_value(&mut chosen, r, r.code().replace('_', " "));
                        }
                    });
                if chosen != role {
                    change = Some((u.login.clone(), chosen, u.active));
                }
                let toggle = if u.active {
                    format!("Disable {}", u.login)
                } else {
                    format!("Enable {}", u.login)
                };
                if ui.button(toggle).clicked() {
                    change = Some((u.login.clone(), role, !u.active));
                }
                ui.end_row();
            }
        });
        if let Some((login, role, active)) = change {
            self.message = Some(outcome(
                practice.change_user(actor, &login, role, active),
                &format!(
                    "{login}: {} , {}.",
                    role.code().replace('_', " "),
                    if active { "may sign in" } else { "disabled" }
                ),
            ));
            self.loaded = false;
        }
        ui.separator();
        ui.strong("New user, or a new password for an existing login");
        let (login, full_name, password, role) = &mut self.user_form;
        egui::Grid::new("user_form").num_columns(2).show(ui, |ui| {
            super::sign_in::field(ui, "New login", login, false);
            super::sign_in::field(ui, "Full name", full_name, false);
            super::sign_in::field(ui, "New password", password, true);
            ui.label("Role");
            ui.horizontal(|ui| {
                for r in roles {
                    ui.selectable_value(role, r, r.code().replace('_', " "));
                }
            });
            ui.end_row();
        });
        let mut created = false;
        let mut password_set = false;
        ui.horizontal(|ui| {
            if ui.button("Create user").clicked() {
                self.message = Some(
                    match practice.create_user(
                        actor,
                        login.trim(),
                        full_name.trim(),
                        *role,
                        password,
                    ) {
                        Ok(_) => (true, format!("{} created.", login.trim())),
                        Err(e) => (false, explain(&AdminError::Access(e))),
                    },
                );
                created = self.message.as_ref().is_some_and(|m| m.0);
                self.loaded = false;
            }
            if ui.button("Set password").clicked() {
                self.message = Some(outcome(
                    practice.reset_password(actor, login.trim(), password),
                    &format!("New password set for {}.", login.trim()),
                ));
                password_set = true;
            }
        });
        if created {
            self.user_form = (String::new(), String::new(), String::new(), Role::FrontDesk);
        }
        if password_set {
            self.user_form.2.clear();
        }
    }

    fn show_audit(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
        let f = &mut self.audit_filter;
        egui::Grid::new("audit_filter")
            .num_columns(4)
            .show(ui, |ui| {
                let filter = |ui: &mut egui::Ui, label: &str, value: &mut String| {
                    let label = ui.label(label);
                    ui.add(egui::TextEdit::singleline(value).desired_width(120.0))
                        .labelled_by(label.id);
                };
                filter(ui, "Who", &mut f.actor);
                filter(ui, "Action starts with", &mut f.action);
                ui.end_row();
                filter(ui, "Subject contains", &mut f.subject);
                filter(ui, "From (YYYY-MM-DD)", &mut f.from_date);
                filter(ui, "To", &mut f.to_date);
                ui.end_row();
            });
        ui.checkbox(&mut f.refused_only, "Refused only");
        let mut export = false;
        ui.horizontal(|ui| {
            if ui.button("Search audit log").clicked() {
                match practice.search_audit(actor, &self.audit_filter) {
                    Ok(entries) => {
                        self.message = Some((
                            true,
                            format!(
                                "{} entries{}.",
                                entries.len(),
                                if entries.len() >= administration::AUDIT_PAGE {
                                    " (the newest; narrow the filter to see older ones)"
                                } else {
                                    ""
                                }
                            ),
                        ));
                        self.audit = entries;
                    }
                    Err(e) => self.message = Some((false, explain(&e))),
                }
            }
            if ui
                .add_enabled(
                    !self.audit.is_empty(),
                    egui::Button::new("Export audit CSV"),
                )
                .clicked()
            {
                export = true;
            }
        });
        if export {
            let name = format!("audit-{}.csv", chrono::Local::now().format("%Y%m%d-%H%M%S"));
            let folder = practice.exports_folder();
            let file = folder.join(&name);
            self.message = Some(
                match std::fs::create_dir_all(&folder)
                    .and_then(|()| std::fs::write(&file, administration::audit_csv(&self.audit)))
                {
                    Ok(()) => (
                        true,
                        format!(
                            "{} entries written to {}.",
                            self.audit.len(),
                            file.display()
                        ),
                    ),
                    Err(e) => (
                        false,
                        format!(
                            "{} could not be written ({e}); check the disk.",
                            file.display()
                        ),
                    ),
                },
            );
        }
        egui::Grid::new("audit").striped(true).show(ui, |ui| {
            for h in [
                "When (UTC)",
                "Who",
                "Action",
                "Subject",
                "Outcome",
                "Detail",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for e in &self.audit {
                ui.label(e.at.get(..19).unwrap_or(&e.at).replace('T', " "));
                ui.label(&e.actor);
                ui.label(&e.action);
                ui.label(&e.subject);
                ui.label(&e.outcome);
                ui.label(&e.detail);
                ui.end_row();
            }
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

/// The node form: what a DICOM node is and what it may do.
struct NodeForm {
    name: String,
    ae_title: String,
    host: String,
    port: String,
    services: Vec<&'static str>,
    check_host: bool,
}

impl Default for NodeForm {
    fn default() -> Self {
        NodeForm {
            name: String::new(),
            ae_title: String::new(),
            host: String::new(),
            port: String::new(),
            services: crate::records::nodes::NODE_SERVICES.to_vec(),
            check_host: true,
        }
    }
}

/// The ticked services in their usual order, as stored.
fn lightbox_node_services(ticked: &[&str]) -> String {
    crate::records::nodes::NODE_SERVICES
        .iter()
        .filter(|s| ticked.contains(s))
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}
