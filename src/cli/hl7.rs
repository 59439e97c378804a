//! `lightbox hl7 …`: batch import, destinations, the outbound queues and the inbound log.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use lightbox::practice::Practice;
use lightbox::records::hl7::Destination;

/// What to do with the HL7 interfaces.
#[derive(Subcommand)]
pub enum Hl7Action {
    /// Import HL7 batch files (FHS/BHS … BTS/FTS, or messages one after another) through
    /// the same processing as messages received over MLLP.
    Import {
        /// Batch files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Destinations for outbound messages.
    Destinations {
        #[command(subcommand)]
        action: DestinationAction,
    },
    /// The systems allowed to send HL7 here (anyone else is refused with AR).
    Sources {
        #[command(subcommand)]
        action: SourceAction,
    },
    /// Each destination's messages waiting or failed (add --all for the sent ones too).
    Queue {
        /// Also list delivered and cancelled messages.
        #[arg(long)]
        all: bool,
    },
    /// Send a failed message again.
    Resend {
        /// Message id (from `hl7 queue`).
        id: i64,
    },
    /// Cancel a message that was not delivered; the queue moves on.
    Cancel {
        /// Message id (from `hl7 queue`).
        id: i64,
    },
    /// The latest inbound messages with their ACKs, as JSON.
    Log {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

/// Source commands.
#[derive(Subcommand)]
pub enum SourceAction {
    /// Add or replace a source.
    Add {
        /// Name shown to people ("EHR", "Dictation").
        #[arg(long)]
        name: String,
        /// Sending application (MSH-3) it uses.
        #[arg(long)]
        application: String,
        /// Sending facility (MSH-4); empty: any facility of that application.
        #[arg(long, default_value = "")]
        facility: String,
        /// Address or host name it connects from; empty: any host.
        #[arg(long, default_value = "")]
        host: String,
        /// What it may send: comma list of adt, merge, orders, results.
        #[arg(long, default_value = "adt,orders")]
        messages: String,
    },
    /// List sources as JSON.
    List,
    /// Remove a source.
    Remove {
        /// Its name.
        name: String,
    },
}

/// Destination commands.
#[derive(Subcommand)]
pub enum DestinationAction {
    /// Add a destination.
    Add {
        /// Name shown to people.
        #[arg(long)]
        name: String,
        /// Host name or address.
        #[arg(long)]
        host: String,
        /// MLLP port.
        #[arg(long)]
        port: u16,
        /// HL7 version of the messages (2.3, 2.3.1, 2.4, 2.5, 2.5.1).
        #[arg(long, default_value = "2.5.1")]
        version: String,
        /// Comma list of oru, status, dft, adt, ack.
        #[arg(long, default_value = "oru")]
        events: String,
        /// MSH-5 receiving application (also: only its own orders' results and status go
        /// to it).
        #[arg(long, default_value = "")]
        application: String,
        /// MSH-6 receiving facility.
        #[arg(long, default_value = "")]
        facility: String,
        /// Report text as tx (one OBX per line) or ft (one OBX with \.br\).
        #[arg(long, default_value = "tx")]
        text: String,
        /// Seconds to wait for an ACK.
        #[arg(long, default_value_t = 30)]
        ack_timeout: u32,
    },
    /// List destinations as JSON.
    List,
}

/// Runs one `hl7` command.
pub fn run(
    practice: &mut Practice,
    action: Hl7Action,
    actor: &lightbox::access::Actor,
    clock: lightbox::clock::Clock,
) -> anyhow::Result<ExitCode> {
    match action {
        Hl7Action::Import { files } => {
            let mut failed = false;
            for file in files {
                let bytes = std::fs::read(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let now = clock.now();
                let report = practice.import_hl7_batch(actor, &bytes, now)?;
                println!(
                    "{}: {} messages, {} accepted, {} refused",
                    file.display(),
                    report.messages,
                    report.accepted,
                    report.refused.len()
                );
                for (control, reason) in &report.refused {
                    println!("  {control}: {reason}");
                }
                if let Some((declared, found)) = report.count_mismatch {
                    println!(
                        "  the batch trailer declares {declared} messages; {found} were found"
                    );
                }
                failed |= !report.refused.is_empty() || report.messages == 0;
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Hl7Action::Destinations { action } => match action {
            DestinationAction::Add {
                name,
                host,
                port,
                version,
                events,
                application,
                facility,
                text,
                ack_timeout,
            } => {
                let destination = Destination {
                    id: 0,
                    name: name.clone(),
                    host,
                    port,
                    version,
                    receiving_application: application,
                    receiving_facility: facility,
                    events: events.to_ascii_lowercase(),
                    report_text: text.to_ascii_lowercase(),
                    ack_timeout_secs: ack_timeout,
                    enabled: true,
                };
                let id = practice.add_destination(actor, &destination)?;
                println!("destination {id} {name} added");
                Ok(ExitCode::SUCCESS)
            }
            DestinationAction::List => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&practice.destinations()?)?
                );
                Ok(ExitCode::SUCCESS)
            }
        },
        Hl7Action::Sources { action } => match action {
            SourceAction::Add {
                name,
                application,
                facility,
                host,
                messages,
            } => {
                let source = lightbox::records::hl7_sources::Hl7Source {
                    id: 0,
                    name: name.clone(),
                    application,
                    facility,
                    host,
                    messages: messages.to_ascii_lowercase().replace(' ', ""),
                };
                practice.save_hl7_source(actor, &source)?;
                println!("source {name} saved");
                Ok(ExitCode::SUCCESS)
            }
            SourceAction::List => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&practice.hl7_sources()?)?
                );
                Ok(ExitCode::SUCCESS)
            }
            SourceAction::Remove { name } => {
                if !practice.remove_hl7_source(actor, &name)? {
                    anyhow::bail!("no HL7 source named {name:?}");
                }
                println!("source {name} removed");
                Ok(ExitCode::SUCCESS)
            }
        },
        Hl7Action::Queue { all } => {
            for (d, messages) in practice.outbound_messages(actor, all)? {
                let failed = messages.iter().filter(|m| m.status == "failed").count();
                println!(
                    "{} ({}:{}, {}): {} pending, {failed} failed{}",
                    d.name,
                    d.host,
                    d.port,
                    d.events,
                    messages.iter().filter(|m| m.status == "pending").count(),
                    if d.enabled { "" } else { ", disabled" }
                );
                for m in messages {
                    let kind = m.kind();
                    println!(
                        "  {:>6} {:<9} {:<10} {:<16} {:<14} attempts {}{}",
                        m.id,
                        m.status,
                        kind,
                        m.subject,
                        m.control_id,
                        m.attempts,
                        if m.last_error.is_empty() {
                            String::new()
                        } else {
                            format!(" — {}", m.last_error)
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Hl7Action::Resend { id } => {
            practice.resend(actor, id)?;
            println!("message {id} will be sent again");
            Ok(ExitCode::SUCCESS)
        }
        Hl7Action::Cancel { id } => {
            practice.cancel_outbound(actor, id)?;
            println!("message {id} cancelled");
            Ok(ExitCode::SUCCESS)
        }
        Hl7Action::Log { limit } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&practice.inbound_log(actor, limit)?)?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
