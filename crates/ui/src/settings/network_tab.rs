//! Settings → DICOM nodes and HL7 destinations: the peers the practice knows, with a check of
//! each (C-ECHO, a connection) through the window's services.

use super::*;

/// Runs a network check on its own thread; the screen polls the answer each frame.
pub(super) fn spawn_check(
    work: impl FnOnce() -> (bool, String) + Send + 'static,
) -> Receiver<(bool, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx
}

/// C-ECHO to `node` calling as `calling_ae`, through the running services.
pub(super) fn echo_node(
    services: &dyn WindowServices,
    node: DicomNode,
    calling_ae: String,
) -> (bool, String) {
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
pub(super) fn test_destination(
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

/// The node form: what a DICOM node is and what it may do.
pub(super) struct NodeForm {
    pub(super) name: String,
    pub(super) ae_title: String,
    pub(super) host: String,
    pub(super) port: String,
    pub(super) services: Vec<&'static str>,
    pub(super) check_host: bool,
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
pub(super) fn lightbox_node_services(ticked: &[&str]) -> String {
    crate::records::nodes::NODE_SERVICES
        .iter()
        .filter(|s| ticked.contains(s))
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

impl SettingsScreen {
    pub(super) fn show_nodes(&mut self, ui: &mut egui::Ui, practice: &Practice, actor: &Actor) {
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
            crate::sign_in::field(ui, "Node name", &mut form.name, false);
            crate::sign_in::field(ui, "Node AE title", &mut form.ae_title, false);
            crate::sign_in::field(ui, "Node host", &mut form.host, false);
            crate::sign_in::field(ui, "Node port", &mut form.port, false);
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

    pub(super) fn show_destinations(
        &mut self,
        ui: &mut egui::Ui,
        practice: &Practice,
        actor: &Actor,
    ) {
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
                crate::sign_in::field(ui, "Destination name", name, false);
                crate::sign_in::field(ui, "Destination host", host, false);
                crate::sign_in::field(ui, "Destination port", port, false);
                crate::sign_in::field(ui, "Events (oru, status, dft, adt, ack)", events, false);
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
}
