//! The first screen: the archive's studies with a search bar, and a live list of DICOM
//! associations fed by service events.

use std::collections::VecDeque;
use std::sync::mpsc::Receiver;

use crate::access::Actor;
use crate::events::ServiceEvent;
use crate::practice::Practice;
use crate::records::index::{Column, Condition, IndexRow, Level, Matcher};

/// What the staff typed into the search bar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudySearch {
    /// Patient name (wildcards allowed; a trailing `*` is implied).
    pub patient_name: String,
    /// Patient ID.
    pub patient_id: String,
    /// Study date or range, `YYYYMMDD` or `YYYYMMDD-YYYYMMDD`.
    pub date: String,
    /// Modality.
    pub modality: String,
    /// Accession number.
    pub accession: String,
}

impl StudySearch {
    /// Turns the search bar into index conditions.
    pub fn conditions(&self) -> Vec<Condition> {
        let mut out = Vec::new();
        let glob = |s: &str| {
            let mut p: String = s
                .trim()
                .chars()
                .map(|c| {
                    if c == '[' {
                        "[[]".to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            if !p.ends_with('*') {
                p.push('*');
            }
            p
        };
        if !self.patient_name.trim().is_empty() {
            out.push(Condition {
                column: Column::PatientName,
                matcher: Matcher::Glob {
                    pattern: glob(&self.patient_name),
                    case_insensitive: true,
                },
            });
        }
        if !self.patient_id.trim().is_empty() {
            out.push(Condition {
                column: Column::PatientId,
                matcher: Matcher::Glob {
                    pattern: glob(&self.patient_id),
                    case_insensitive: false,
                },
            });
        }
        let date = self.date.trim();
        if !date.is_empty() {
            let (lo, hi) = date.split_once('-').unwrap_or((date, date));
            out.push(Condition {
                column: Column::StudyDate,
                matcher: Matcher::Range(lo.trim().to_string(), hi.trim().to_string()),
            });
        }
        if !self.modality.trim().is_empty() {
            out.push(Condition {
                column: Column::Modality,
                matcher: Matcher::Exact(self.modality.trim().to_uppercase()),
            });
        }
        if !self.accession.trim().is_empty() {
            out.push(Condition {
                column: Column::Accession,
                matcher: Matcher::Exact(self.accession.trim().to_string()),
            });
        }
        out
    }
}

/// One line of the association list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationLine {
    /// Our number for it.
    pub id: u64,
    /// Calling AE.
    pub calling_ae: String,
    /// Peer address.
    pub peer: String,
    /// Instances stored so far.
    pub stored: u64,
    /// "open", or how it ended.
    pub state: String,
}

/// The Studies screen: the archive's studies with a search bar and the live association list.
pub struct StudyBrowser {
    practice: Practice,
    events: Receiver<ServiceEvent>,
    status: String,
    search: StudySearch,
    searched: Option<StudySearch>,
    studies: Vec<IndexRow>,
    error: Option<String>,
    associations: VecDeque<AssociationLine>,
    /// A study the user asked to open in the viewer (the shell takes it).
    open_request: Option<String>,
    /// Whether the screen draws its own status line (alone in a window); inside the shell,
    /// the shell's status bar shows it once.
    own_status_line: bool,
}

const MAX_ASSOCIATION_LINES: usize = 200;

impl StudyBrowser {
    /// A screen over `practice`, listening to `events`; `status` is shown in the status bar.
    pub fn new(practice: Practice, events: Receiver<ServiceEvent>, status: String) -> StudyBrowser {
        StudyBrowser {
            practice,
            events,
            status,
            search: StudySearch::default(),
            open_request: None,
            searched: None,
            studies: Vec::new(),
            error: None,
            associations: VecDeque::new(),
            own_status_line: true,
        }
    }

    /// The screen inside the shell, whose status bar already shows the status line.
    pub fn in_shell(mut self) -> StudyBrowser {
        self.own_status_line = false;
        self
    }

    /// Takes the service events that arrived (called every frame, whatever screen is shown).
    pub fn drain_events(&mut self) {
        let mut archive_changed = false;
        while let Ok(event) = self.events.try_recv() {
            match event {
                ServiceEvent::AssociationOpened {
                    id,
                    calling_ae,
                    peer,
                } => {
                    self.associations.push_front(AssociationLine {
                        id,
                        calling_ae,
                        peer: peer.to_string(),
                        stored: 0,
                        state: "open".into(),
                    });
                    self.associations.truncate(MAX_ASSOCIATION_LINES);
                }
                ServiceEvent::InstanceStored { association, .. } => {
                    archive_changed = true;
                    if let Some(line) = self.associations.iter_mut().find(|l| l.id == association) {
                        line.stored += 1;
                    }
                }
                ServiceEvent::AssociationClosed { id, outcome } => {
                    if let Some(line) = self.associations.iter_mut().find(|l| l.id == id) {
                        line.state = outcome;
                    }
                }
                ServiceEvent::AssociationRejected { peer, reason } => {
                    self.associations.push_front(AssociationLine {
                        id: 0,
                        calling_ae: String::new(),
                        peer: peer.to_string(),
                        stored: 0,
                        state: format!("refused: {reason}"),
                    });
                    self.associations.truncate(MAX_ASSOCIATION_LINES);
                }
                ServiceEvent::DicomListening { addr } => {
                    self.status = format!("DICOM listening on {addr}");
                }
            }
        }
        if archive_changed {
            self.searched = None;
        }
    }

    fn refresh_studies(&mut self, actor: &Actor) {
        if self.searched.as_ref() == Some(&self.search) {
            return;
        }
        match self
            .practice
            .find_studies(actor, Level::Study, &self.search.conditions(), 500)
        {
            Ok(rows) => {
                self.studies = rows;
                self.error = None;
            }
            Err(e) => {
                tracing::error!(error = %e, "study search failed");
                self.error = Some("The study list could not be read from the database. Try again; if it persists, check the log.".into());
            }
        }
        self.searched = Some(self.search.clone());
    }

    /// The studies currently listed (for tests).
    pub fn studies(&self) -> &[IndexRow] {
        &self.studies
    }

    /// The DICOM associations seen since the window opened, newest first.
    pub fn associations(&self) -> &VecDeque<AssociationLine> {
        &self.associations
    }

    /// The study the user asked to open, once.
    pub fn take_open_request(&mut self) -> Option<String> {
        self.open_request.take()
    }

    /// The status line (service state).
    pub fn status(&self) -> &str {
        &self.status
    }

    /// Marks the list stale (the store changed).
    pub fn reload(&mut self) {
        self.searched = None;
    }

    /// Draws the screen for `actor`.
    pub fn show(&mut self, ui: &mut egui::Ui, actor: &Actor) {
        self.drain_events();
        self.refresh_studies(actor);
        if self.own_status_line {
            egui::Panel::bottom("status").show(ui, |ui| {
                ui.label(&self.status);
            });
        }
        egui::Panel::right("associations")
            .default_size(360.0)
            .show(ui, |ui| {
                ui.heading("DICOM associations");
                if self.associations.is_empty() {
                    ui.label("No associations yet.");
                }
                egui::ScrollArea::vertical().show(ui, |ui| {
                    for line in &self.associations {
                        ui.label(format!(
                            "#{} {} ({}) — {} stored — {}",
                            line.id, line.calling_ae, line.peer, line.stored, line.state
                        ));
                    }
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            ui.heading("Studies");
            ui.horizontal_wrapped(|ui| {
                search_field(ui, "Patient name", &mut self.search.patient_name, 140.0, "");
                search_field(ui, "Patient ID", &mut self.search.patient_id, 100.0, "");
                search_field(
                    ui,
                    "Date",
                    &mut self.search.date,
                    140.0,
                    "YYYYMMDD-YYYYMMDD",
                );
                search_field(ui, "Modality", &mut self.search.modality, 40.0, "");
                search_field(ui, "Accession", &mut self.search.accession, 100.0, "");
                if ui.button("Clear").clicked() {
                    self.search = StudySearch::default();
                }
            });
            if let Some(err) = &self.error {
                ui.colored_label(egui::Color32::RED, err);
            }
            ui.separator();
            ui.label(format!("{} studies", self.studies.len()));
            egui::ScrollArea::vertical().show(ui, |ui| {
                egui::Grid::new("studies").striped(true).show(ui, |ui| {
                    for h in [
                        "Patient",
                        "ID",
                        "Date",
                        "Modalities",
                        "Accession",
                        "Description",
                        "Series",
                        "Images",
                        "",
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for s in &self.studies {
                        ui.label(s.patient_name.replace('^', " "));
                        ui.label(&s.patient_id);
                        ui.label(display_date(&s.study_date));
                        ui.label(&s.modalities_in_study);
                        ui.label(&s.accession);
                        ui.label(&s.study_description);
                        ui.label(s.related_series.to_string());
                        ui.label(s.related_instances.to_string());
                        let open = if s.accession.is_empty() {
                            format!("Open {}", s.patient_id)
                        } else {
                            format!("Open {}", s.accession)
                        };
                        if ui.button(open).clicked() {
                            self.open_request = Some(s.study_uid.clone());
                        }
                        ui.end_row();
                    }
                });
            });
        });
        // The search text changed during this frame: run the query on the next one.
        if self.searched.as_ref() != Some(&self.search) {
            ui.ctx().request_repaint();
        }
    }
}

/// `YYYYMMDD` as `YYYY-MM-DD`; anything else as it is.
pub fn display_date(dicom_date: &str) -> String {
    crate::pacs::attributes::iso_date(dicom_date).unwrap_or_else(|| dicom_date.to_string())
}

/// A labelled search box; the label is also its accessible name (screen readers, tests).
fn search_field(ui: &mut egui::Ui, label: &str, value: &mut String, width: f32, hint: &str) {
    let label = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .desired_width(width)
            .hint_text(hint),
    )
    .labelled_by(label.id);
}
