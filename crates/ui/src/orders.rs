//! The Orders screen: manual order entry (patient by MRN, procedure from the catalogue,
//! priority, reason, ICD-10, requested time), the "needs review" queue with each order's
//! reasons and its accept/cancel actions, and the latest orders (HL7 ones appear live).

use chrono::NaiveDateTime;

use crate::access::Actor;
use crate::practice::Practice;
use crate::records::ris::{OrderRecord, Procedure};
use crate::ris::{self, ExamStatus, OrderRequest, Priority};

/// The order entry form.
#[derive(Debug, Clone, Default)]
pub struct OrderForm {
    /// The patient's MRN.
    pub mrn: String,
    /// Catalogue code chosen.
    pub procedure: String,
    /// What was typed to find it.
    pub procedure_query: String,
    /// STAT, ASAP, ROUTINE.
    pub priority: String,
    /// Reason for exam.
    pub reason: String,
    /// ICD-10 codes, comma separated.
    pub icd10: String,
    /// Requested start "YYYY-MM-DD HH:MM" (empty: to be scheduled).
    pub requested: String,
    /// Referring physician, "FAMILY, Given" (empty: none).
    pub referring: String,
    /// The referring physician's NPI (optional, checked).
    pub referring_npi: String,
}

/// The Orders screen's state.
#[derive(Default)]
pub struct OrdersScreen {
    loaded: bool,
    catalogue: Vec<Procedure>,
    needs_review: Vec<OrderRecord>,
    recent: Vec<OrderRecord>,
    /// Who each listed order is for and what it is.
    subjects: crate::patient_banner::ExamSubjects,
    /// The order selected in the needs-review list (accession).
    review_selected: Option<String>,
    /// A cancellation waiting for confirmation (accession).
    confirm_cancel: Option<String>,
    form: OrderForm,
    message: Option<(bool, String)>,
    /// The column the latest orders are sorted by (None: newest first).
    recent_sort: crate::table_sort::TableSort,
}

impl OrdersScreen {
    /// Reads again on the next frame (the store changed).
    pub fn reload(&mut self) {
        self.loaded = false;
    }

    /// Orders waiting in "needs review" (for tests).
    pub fn needs_review(&self) -> &[OrderRecord] {
        &self.needs_review
    }

    fn refresh(&mut self, practice: &Practice, actor: &Actor) {
        if self.loaded {
            return;
        }
        let read = (|| -> Result<(), ris::RisError> {
            self.catalogue = practice.procedures()?;
            self.needs_review = practice.orders_with_status(actor, ExamStatus::NeedsReview)?;
            self.recent = practice.recent_orders(actor, 50)?;
            let accessions: Vec<String> = self
                .needs_review
                .iter()
                .chain(&self.recent)
                .map(|o| o.accession.clone())
                .collect();
            self.subjects = practice
                .exam_subjects(actor, &accessions)
                .unwrap_or_default();
            let subjects = &self.subjects;
            self.recent_sort.apply(&mut self.recent, |o, column| {
                use crate::patient_banner::SubjectColumn::*;
                match column {
                    0 => crate::patient_banner::subject_sort_key(subjects, &o.accession, Name),
                    1 => crate::patient_banner::subject_sort_key(subjects, &o.accession, Born),
                    2 => crate::patient_banner::subject_sort_key(subjects, &o.accession, Procedure),
                    3 => o.accession.clone(),
                    4 => match o.priority.as_str() {
                        "STAT" => "0".into(),
                        "ASAP" => "1".into(),
                        _ => "2".into(),
                    },
                    5 => o.status.clone(),
                    _ => o.placer_app.clone(),
                }
            });
            Ok(())
        })();
        if let Err(e) = read {
            tracing::error!(error = %e, "orders screen could not read the store");
            self.message = Some((
                false,
                "The orders could not be read; the screen will try again.".into(),
            ));
        }
        self.loaded = true;
    }

    fn place(&mut self, practice: &mut Practice, actor: &Actor, now: chrono::NaiveDateTime) {
        let f = &self.form;
        let patient = match practice.patient_by_mrn(actor, f.mrn.trim()) {
            Ok(Some(p)) => p,
            Ok(None) => {
                self.message = Some((
                    false,
                    format!(
                        "No patient with MRN {}. Find or register the patient on the Patients screen first.",
                        f.mrn.trim()
                    ),
                ));
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "patient lookup failed");
                self.message = Some((
                    false,
                    "The patient could not be looked up; try again.".into(),
                ));
                return;
            }
        };
        let requested_time = if f.requested.trim().is_empty() {
            None
        } else {
            match NaiveDateTime::parse_from_str(f.requested.trim(), "%Y-%m-%d %H:%M") {
                Ok(t) => Some(t),
                Err(_) => {
                    self.message = Some((
                        false,
                        "Write the requested time as YYYY-MM-DD HH:MM, e.g. 2026-12-01 09:30, or leave it empty.".into(),
                    ));
                    return;
                }
            }
        };
        if f.procedure.is_empty() {
            self.message = Some((
                false,
                "Choose the procedure: type part of its name or code and pick it from the list."
                    .into(),
            ));
            return;
        }
        // A code typed at the desk is checked before the order exists (an interface's goes to
        // review instead).
        if let Some(bad) = f
            .icd10
            .split([',', ' '])
            .map(|c| c.trim().to_uppercase())
            .find(|c| !c.is_empty() && !crate::ris::icd10_is_well_formed(c))
        {
            self.message = Some((
                false,
                format!(
                    "ICD-10: {bad:?} is not an ICD-10 code (e.g. R51.9, M54.5). Nothing was ordered."
                ),
            ));
            return;
        }
        // The referring physician (found or added; a bad NPI is explained, not guessed).
        let referring = if f.referring.trim().is_empty() {
            None
        } else {
            let (family, given) = f
                .referring
                .split_once(',')
                .unwrap_or((f.referring.as_str(), ""));
            let physician = crate::records::his::ReferringPhysician {
                npi: f.referring_npi.trim().into(),
                family_name: family.trim().to_uppercase(),
                given_name: given.trim().to_uppercase(),
                ..Default::default()
            };
            match practice.add_referring(actor, &physician) {
                Ok(id) => Some(id),
                Err(e) => {
                    self.message = Some((false, format!("The referring physician: {e}.")));
                    return;
                }
            }
        };
        // The patient's insurance on file (newest policy), with its authorisation if approved.
        let (policy, authorisation) = practice
            .insurance_for_order(actor, patient.id)
            .unwrap_or_default();
        let request = OrderRequest {
            patient: Some(patient.id),
            placer_number: String::new(),
            placer_app: String::new(),
            procedure_code: f.procedure.clone(),
            priority: match f.priority.as_str() {
                "STAT" => Priority::Stat,
                "ASAP" => Priority::Asap,
                _ => Priority::Routine,
            },
            reason: f.reason.trim().into(),
            icd10: f
                .icd10
                .split([',', ' '])
                .map(|c| c.trim().to_uppercase())
                .filter(|c| !c.is_empty())
                .collect(),
            referring,
            insurance: policy,
            authorisation,
            requested_time,
            supplied: None,
        };
        match practice.place_order(actor, &request, now) {
            Ok(placed) => {
                let when = if placed.step.start_time.is_empty() {
                    "to be scheduled".to_string()
                } else {
                    format!("booked for {}", placed.step.start_time.replace('T', " "))
                };
                self.message = Some(if placed.review_reasons.is_empty() {
                    (
                        true,
                        format!("Order {} placed, {when}.", placed.order.accession),
                    )
                } else {
                    (
                        false,
                        format!(
                            "Order {} needs review: {}.",
                            placed.order.accession,
                            placed.review_reasons.join("; ")
                        ),
                    )
                });
                self.form = OrderForm::default();
                self.loaded = false;
            }
            Err(ris::RisError::Access(_)) => {
                self.message = Some((false, "Your role may not place orders.".into()))
            }
            Err(e) => self.message = Some((false, format!("The order was not placed: {e}."))),
        }
    }

    /// Draws the screen.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        practice: &mut Practice,
        actor: &Actor,
        now: chrono::NaiveDateTime,
    ) {
        self.refresh(practice, actor);
        ui.heading("Orders");
        super::show_outcome(ui, self.message.as_ref());
        let mut place = false;
        let mut review: Option<(String, ExamStatus)> = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.strong("New order");
            egui::Grid::new("order_form").num_columns(2).show(ui, |ui| {
                super::sign_in::field(ui, "Patient MRN", &mut self.form.mrn, false);
                // Type to find the procedure (code, name or modality); pick from the matches.
                super::sign_in::field(ui, "Procedure", &mut self.form.procedure_query, false);
                let query = self.form.procedure_query.trim().to_lowercase();
                let display = |p: &Procedure| format!("{} {} ({})", p.code, p.name, p.modality);
                if !query.is_empty()
                    && self
                        .catalogue
                        .iter()
                        .all(|p| display(p) != self.form.procedure_query)
                {
                    ui.label("");
                    ui.vertical(|ui| {
                        for p in self
                            .catalogue
                            .iter()
                            .filter(|p| display(p).to_lowercase().contains(&query))
                            .take(8)
                        {
                            if ui.button(display(p)).clicked() {
                                self.form.procedure = p.code.clone();
                                self.form.procedure_query = display(p);
                            }
                        }
                    });
                    ui.end_row();
                }
                let label = ui.label("Priority");
                if self.form.priority.is_empty() {
                    self.form.priority = "ROUTINE".into();
                }
                ui.horizontal(|ui| {
                    for p in ["ROUTINE", "ASAP", "STAT"] {
                        ui.selectable_value(&mut self.form.priority, p.to_string(), p);
                    }
                })
                .response
                .labelled_by(label.id);
                ui.end_row();
                super::sign_in::field(ui, "Reason for exam", &mut self.form.reason, false);
                super::sign_in::field(ui, "ICD-10", &mut self.form.icd10, false);
                super::sign_in::field(ui, "Requested time", &mut self.form.requested, false);
                super::sign_in::field(ui, "Referring physician", &mut self.form.referring, false);
                super::sign_in::field(ui, "Referring NPI", &mut self.form.referring_npi, false);
            });
            if ui.button("Place order").clicked() {
                place = true;
            }
            ui.separator();
            ui.strong(format!("Needs review ({})", self.needs_review.len()));
            if self.needs_review.is_empty() {
                ui.label("Nothing waits for review.");
            }
            // One line per order, selected by a click; its actions in one toolbar (Cancel apart
            // and asked first).
            if self
                .review_selected
                .as_ref()
                .is_none_or(|s| !self.needs_review.iter().any(|o| &o.accession == s))
            {
                self.review_selected = self.needs_review.first().map(|o| o.accession.clone());
            }
            for o in &self.needs_review {
                let line = format!(
                    "{} · {} · {} · {} · {} — {}",
                    crate::patient_banner::subject_name(&self.subjects, &o.accession),
                    crate::patient_banner::subject_born(&self.subjects, &o.accession, now.date()),
                    crate::patient_banner::subject_procedure(
                        &self.subjects,
                        &o.accession,
                        &o.procedure_code
                    ),
                    o.accession,
                    if o.placer_app.is_empty() {
                        "entered here"
                    } else {
                        &o.placer_app
                    },
                    o.review_reasons
                );
                let selected = self.review_selected.as_deref() == Some(o.accession.as_str());
                if ui.selectable_label(selected, line).clicked() {
                    self.review_selected = Some(o.accession.clone());
                }
            }
            if let Some(accession) = self.review_selected.clone() {
                ui.horizontal(|ui| {
                    if ui.button("Accept order").clicked() {
                        review = Some((accession.clone(), ExamStatus::Ordered));
                    }
                    ui.add_space(40.0);
                    if ui
                        .button("Cancel order…")
                        .on_hover_text("asks for confirmation")
                        .clicked()
                    {
                        self.confirm_cancel = Some(accession.clone());
                    }
                });
            }
            ui.separator();
            ui.strong("Latest orders");
            let mut sort_changed = false;
            egui_extras::TableBuilder::new(ui)
                .id_salt("recent_orders")
                .striped(true)
                .resizable(true)
                // The screen scrolls as a whole; the table is as tall as its rows.
                .vscroll(false)
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(
                    egui_extras::Column::initial(170.0)
                        .at_least(100.0)
                        .clip(true),
                )
                .column(
                    egui_extras::Column::initial(130.0)
                        .at_least(90.0)
                        .clip(true),
                )
                .column(
                    egui_extras::Column::initial(230.0)
                        .at_least(100.0)
                        .clip(true),
                )
                .column(egui_extras::Column::auto().at_least(90.0))
                .column(egui_extras::Column::auto().at_least(60.0))
                .column(egui_extras::Column::auto().at_least(80.0))
                .column(egui_extras::Column::remainder().at_least(60.0))
                .header(22.0, |mut header| {
                    sort_changed = self.recent_sort.header(
                        &mut header,
                        &[
                            "Patient",
                            "Born",
                            "Procedure",
                            "Accession",
                            "Priority",
                            "Status",
                            "From",
                        ],
                    );
                })
                .body(|body| {
                    body.rows(24.0, self.recent.len(), |mut row| {
                        let o = &self.recent[row.index()];
                        let subjects = &self.subjects;
                        row.col(|ui| {
                            super::table_cell(
                                ui,
                                &crate::patient_banner::subject_name(subjects, &o.accession),
                            )
                        });
                        row.col(|ui| {
                            super::table_cell(
                                ui,
                                &crate::patient_banner::subject_born(
                                    subjects,
                                    &o.accession,
                                    now.date(),
                                ),
                            )
                        });
                        row.col(|ui| {
                            super::table_cell(
                                ui,
                                &crate::patient_banner::subject_procedure(
                                    subjects,
                                    &o.accession,
                                    &o.procedure_code,
                                ),
                            )
                        });
                        row.col(|ui| super::table_cell(ui, &o.accession));
                        row.col(|ui| super::table_cell(ui, &o.priority));
                        row.col(|ui| super::table_cell(ui, &o.status.replace('_', " ")));
                        row.col(|ui| {
                            super::table_cell(
                                ui,
                                if o.placer_app.is_empty() {
                                    "here"
                                } else {
                                    &o.placer_app
                                },
                            )
                        });
                    });
                });
            if sort_changed {
                // Read again, sorted: rows never move on their own.
                self.loaded = false;
            }
        });
        if place {
            self.place(practice, actor, now);
        }
        if let Some(accession) = self.confirm_cancel.clone() {
            let who = crate::patient_banner::subject_name(&self.subjects, &accession);
            let text =
                format!("{who} — {accession}. The order is cancelled and the sender is told.");
            let decided = super::Confirmation {
                id: "cancel_reviewed_order",
                heading: "Cancel this order?",
                text: &text,
                warning: None,
                keep: "Keep the order",
                proceed: "Cancel the order",
            }
            .ask(ui.ctx());
            match decided {
                Some(true) => {
                    self.confirm_cancel = None;
                    review = Some((accession, ExamStatus::Cancelled));
                }
                Some(false) => self.confirm_cancel = None,
                None => {}
            }
        }
        if let Some((accession, to)) = review {
            let note = if to == ExamStatus::Ordered {
                "accepted after review"
            } else {
                "cancelled after review"
            };
            self.message = Some(match practice.change_status(actor, &accession, to, note) {
                Ok(()) => (true, format!("{accession}: {note}.")),
                Err(e) => (false, format!("{accession}: {e}.")),
            });
            self.loaded = false;
        }
    }
}
