//! The Integration monitor: where a broken hand-off shows. HL7 messages received (with the
//! raw text and the ACK sent), each outbound destination's queue with its failures and the
//! resend/cancel actions, and the studies waiting in reconciliation.

use crate::access::{Actor, Role};
use crate::practice::Practice;
use crate::records::hl7::{Destination, InboundEntry, OutboundMessage};
use crate::records::ris::ReconciliationItem;

/// A destination, its waiting/failed queue, and its last deliveries with their ACK codes.
type DestinationView = (
    Destination,
    Vec<OutboundMessage>,
    Vec<(OutboundMessage, String)>,
);

/// The monitor's state.
#[derive(Default)]
pub struct IntegrationScreen {
    loaded: bool,
    /// Inbound messages with the MSA-1 of the ACK sent (read once per load, not per frame).
    inbound: Vec<(InboundEntry, String)>,
    /// Each destination with its waiting/failed queue and its last delivered messages.
    queues: Vec<DestinationView>,
    reconciliation: Vec<ReconciliationItem>,
    scanner_worklist: Vec<super::worklist_view::ScannerItem>,
    worklist_date: String,
    open_message: Option<i64>,
    message: Option<(bool, String)>,
    /// Accessions typed to resolve reconciliation items.
    link_accession: std::collections::HashMap<i64, String>,
    /// Each background service's last reported state.
    services: Vec<crate::records::health::ServiceHealth>,
}

impl IntegrationScreen {
    /// Messages shown as delivered (tests).
    pub fn delivered(&self) -> usize {
        self.queues.iter().map(|q| q.2.len()).sum()
    }

    /// Reads again on the next frame (the store changed).
    pub fn reload(&mut self) {
        self.loaded = false;
    }

    fn refresh(&mut self, practice: &Practice, actor: &Actor) {
        if self.loaded {
            return;
        }
        let read = (|| -> Result<(), crate::practice::PracticeError> {
            self.inbound = practice
                .inbound_log(actor, 100)?
                .into_iter()
                .map(|m| {
                    let code = crate::hl7::ack::read_ack(m.ack.as_bytes())
                        .map(|(code, _, _)| code)
                        .unwrap_or_default();
                    (m, code)
                })
                .collect();
            self.queues = practice
                .outbound_queues(actor, 5)?
                .into_iter()
                .map(|(d, q, sent)| {
                    let sent = sent
                        .into_iter()
                        .map(|m| {
                            let code = crate::hl7::ack::read_ack(m.ack.as_bytes())
                                .map(|(code, _, _)| code)
                                .unwrap_or_default();
                            (m, code)
                        })
                        .collect();
                    (d, q, sent)
                })
                .collect();
            self.reconciliation = practice.open_reconciliation(actor)?;
            self.services = practice.service_health()?;
            self.scanner_worklist = practice
                .scanner_worklist(actor, &self.worklist_date)
                .map_err(|e| crate::practice::PracticeError::Invalid(e.to_string()))?;
            Ok(())
        })();
        if let Err(e) = read {
            tracing::error!(error = %e, "integration monitor could not read the store");
            self.message = Some((
                false,
                "The monitor could not read the database; it will try again.".into(),
            ));
        }
        self.loaded = true;
    }

    /// Draws the screen.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        practice: &mut Practice,
        actor: &Actor,
        today: &str,
        associations: &std::collections::VecDeque<super::study_browser::AssociationLine>,
    ) {
        if self.worklist_date != today {
            self.worklist_date = today.to_string();
            self.loaded = false;
        }
        self.refresh(practice, actor);
        ui.heading("Integration");
        super::show_outcome(ui, self.message.as_ref());
        let may_act = actor.role == Role::Administrator;
        let mut action: Option<(bool, i64)> = None;
        let mut link: Option<(i64, String)> = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.strong("Services");
            if self.services.is_empty() {
                ui.label("No service has reported yet: the services have not started here.");
            }
            egui::Grid::new("services").striped(true).show(ui, |ui| {
                for h in ["Service", "State", "Since (UTC)", "Restarts", "Last error"] {
                    ui.strong(h);
                }
                ui.end_row();
                for s in &self.services {
                    ui.label(&s.service).on_hover_text(&s.detail);
                    let state = s.state.code();
                    if s.state == crate::records::health::ServiceState::Running {
                        ui.label(state);
                    } else {
                        ui.colored_label(ui.visuals().error_fg_color, state);
                    }
                    ui.label(s.since.replace('T', " ").trim_end_matches('Z'));
                    ui.label(s.restarts.to_string());
                    if s.last_error.is_empty() {
                        ui.label("");
                    } else {
                        ui.colored_label(ui.visuals().warn_fg_color, &s.last_error);
                    }
                    ui.end_row();
                }
            });
            ui.separator();
            ui.strong("Outbound HL7");
            if self.queues.is_empty() {
                ui.label("No destinations. Add the EHR in Settings (or `lightbox hl7 destinations add`).");
            }
            for (d, queue, sent) in &self.queues {
                let failed = queue.iter().filter(|m| m.status == "failed").count();
                let retrying = queue
                    .iter()
                    .filter(|m| m.status == "pending" && m.attempts > 0)
                    .count();
                let pending = queue.len() - failed - retrying;
                let line = format!(
                    "{} ({}:{}, HL7 {}) — {pending} waiting, {retrying} retrying after errors, {failed} failed",
                    d.name, d.host, d.port, d.version
                );
                if failed + retrying > 0 {
                    ui.colored_label(ui.visuals().error_fg_color, line);
                } else {
                    ui.label(line);
                }
                for m in queue {
                    ui.horizontal(|ui| {
                        let kind = m.kind();
                        let text = format!(
                            "#{} {kind} {} {} — {} after {} attempts{}",
                            m.id,
                            m.subject,
                            m.control_id,
                            m.status,
                            m.attempts,
                            if m.last_error.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", m.last_error)
                            }
                        );
                        ui.label(text);
                        if may_act {
                            if m.status == "failed" && ui.button(format!("Resend #{}", m.id)).clicked() {
                                action = Some((true, m.id));
                            }
                            if ui.button(format!("Cancel #{}", m.id)).clicked() {
                                action = Some((false, m.id));
                            }
                        }
                    });
                }
                for (m, code) in sent {
                    ui.label(format!(
                        "#{} {} {} {} — delivered, ACK {code}",
                        m.id,
                        m.kind(),
                        m.subject,
                        m.control_id
                    ));
                }
            }
            ui.separator();
            ui.strong("Inbound HL7");
            if self.inbound.is_empty() {
                ui.label("No messages received yet.");
            }
            egui::Grid::new("inbound").striped(true).show(ui, |ui| {
                for h in ["Received", "From", "Type", "Control ID", "Status", "ACK"] {
                    ui.strong(h);
                }
                ui.end_row();
                for (m, code) in &self.inbound {
                    ui.label(m.received_at.get(..19).unwrap_or(&m.received_at).replace('T', " "));
                    ui.label(&m.sending_application)
                        .on_hover_text(format!("from {}", m.peer_address));
                    ui.label(&m.message_type);
                    if ui.link(&m.control_id).clicked() {
                        self.open_message = if self.open_message == Some(m.id) {
                            None
                        } else {
                            Some(m.id)
                        };
                    }
                    ui.label(&m.status);
                    ui.label(code);
                    ui.end_row();
                }
            });
            if let Some(open) = self.open_message
                && let Some((m, _)) = self.inbound.iter().find(|(m, _)| m.id == open)
            {
                ui.separator();
                ui.strong(format!("Message {}", m.control_id));
                ui.monospace(m.raw.replace('\r', "\n"));
                egui::CollapsingHeader::new("Parsed fields").show(ui, |ui| {
                    egui::Grid::new("parsed_fields").striped(true).show(ui, |ui| {
                        for (label, value) in crate::hl7::fields::labelled_fields(&m.raw) {
                            ui.label(label);
                            ui.monospace(value);
                            ui.end_row();
                        }
                    });
                });
                ui.strong("ACK sent");
                ui.monospace(m.ack.replace('\r', "\n"));
            }
            ui.separator();
            ui.strong("DICOM associations");
            if associations.is_empty() {
                ui.label("No DICOM associations since Lightbox started.");
            }
            for line in associations.iter().take(50) {
                let text = format!(
                    "#{} {} ({}) — {} stored — {}",
                    line.id, line.calling_ae, line.peer, line.stored, line.state
                );
                if line.state.starts_with("refused") || line.state.contains("abort") {
                    ui.colored_label(ui.visuals().error_fg_color, text);
                } else {
                    ui.label(text);
                }
            }
            ui.separator();
            ui.strong(format!("Worklist as the scanners see it ({today})"));
            super::worklist_view::show(ui, &self.scanner_worklist, None);
            ui.separator();
            ui.strong("Reconciliation");
            if self.reconciliation.is_empty() {
                ui.label("No studies waiting.");
            }
            for item in &self.reconciliation {
                ui.label(format!("#{} {} — {}", item.id, item.study_uid, item.reason));
                if may_act {
                    ui.horizontal(|ui| {
                        let text = self.link_accession.entry(item.id).or_default();
                        let name = format!("Accession for #{}", item.id);
                        ui.add(egui::TextEdit::singleline(text).desired_width(120.0))
                            .widget_info(|| {
                                egui::WidgetInfo::labeled(egui::Role::TextInput, true, &name)
                            });
                        if ui.button(format!("Link #{}", item.id)).clicked() {
                            link = Some((item.id, text.trim().to_string()));
                        }
                    });
                }
            }
        });
        if let Some((resend, id)) = action {
            let result = if resend {
                practice.resend(actor, id)
            } else {
                practice.cancel_outbound(actor, id)
            };
            self.message = Some(match result {
                Ok(()) if resend => (true, format!("Message #{id} will be sent again.")),
                Ok(()) => (
                    true,
                    format!("Message #{id} cancelled; the queue moves on."),
                ),
                Err(e) => (false, format!("Message #{id}: {e}")),
            });
            self.loaded = false;
        }
        if let Some((item, accession)) = link {
            self.message = Some(match practice.link_to_order(actor, item, &accession) {
                Ok(n) => (
                    true,
                    format!(
                        "#{item} linked to {accession}: {n} images now carry the order's patient and accession."
                    ),
                ),
                Err(e) => (false, format!("#{item} was not linked: {e}.")),
            });
            self.link_accession.remove(&item);
            self.loaded = false;
        }
    }
}
