//! The Schedule screen (front desk): day and week calendars per room; orders waiting for a
//! slot with the first free one suggested; a booking moved by dragging it to another hour,
//! day or room, or with Ctrl+arrow keys (15 minutes, one day); check-in on arrival, no-show
//! and cancel; the procedure's preparation instructions to copy or print. Every step goes
//! through the scheduling rules, so a clash or a closed room is refused with its reason.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::access::Actor;
use crate::documents::PrintedDocument;
use crate::practice::Practice;
use crate::records::ris::{OrderRecord, Procedure, Room, WorklistRow};
use crate::ris::{self, ExamStatus, LOCAL_TIME_FORMAT, scheduling};

mod booking_panel;

/// How far ahead a suggestion looks.
const SUGGESTION_DAYS: u32 = 62;
/// How many waiting orders get a suggestion computed (the rest on demand after booking).
const SUGGESTED_ORDERS: usize = 25;
/// One keyboard nudge.
const NUDGE_MINUTES: i64 = 15;

/// Day or week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarSpan {
    /// One day, rooms side by side, hour by hour.
    Day,
    /// Monday to Sunday, a row per room.
    Week,
}

/// An order waiting for a slot, with the first free one.
struct Waiting {
    order: OrderRecord,
    procedure: Option<Procedure>,
    suggestion: Option<scheduling::Slot>,
}

/// What the user asked for this frame.
enum Step {
    Book(String, i64, NaiveDateTime),
    Status(String, ExamStatus, &'static str),
    NoShow(String),
    Print(String),
}

/// The Schedule screen's state.
pub struct ScheduleScreen {
    day: Option<NaiveDate>,
    span: CalendarSpan,
    loaded: bool,
    rooms: Vec<Room>,
    /// Booked exams per shown day.
    days: BTreeMap<NaiveDate, Vec<WorklistRow>>,
    waiting: Vec<Waiting>,
    /// Who each waiting order is for.
    subjects: crate::patient_banner::ExamSubjects,
    procedures: Vec<Procedure>,
    selected: Option<String>,
    /// One room, or every room.
    room_filter: Option<i64>,
    move_to: String,
    move_room: Option<i64>,
    message: Option<(bool, String)>,
    /// A clinical or irreversible step waiting for the person's confirmation.
    confirming: Option<Confirm>,
}

/// Steps asked about before they are taken.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Confirm {
    /// Checking in an exam booked for another day: (accession, the booked day).
    CheckInOtherDay(String, NaiveDate),
    /// Cancelling an exam.
    Cancel(String),
}

impl Default for ScheduleScreen {
    fn default() -> Self {
        ScheduleScreen {
            day: None,
            span: CalendarSpan::Day,
            loaded: false,
            rooms: Vec::new(),
            days: BTreeMap::new(),
            waiting: Vec::new(),
            subjects: Default::default(),
            procedures: Vec::new(),
            selected: None,
            room_filter: None,
            move_to: String::new(),
            move_room: None,
            confirming: None,
            message: None,
        }
    }
}

fn parse_start(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, LOCAL_TIME_FORMAT).ok()
}

/// Opening hours of `room` on `day` as (open hour, close hour), if open.
fn open_hours(room: &Room, day: NaiveDate) -> Option<(u32, u32)> {
    let text = room
        .hours
        .get(day.weekday().num_days_from_monday() as usize)?;
    let (open, close) = text.split_once('-')?;
    let open = NaiveTime::parse_from_str(open.trim(), "%H:%M").ok()?;
    let close = NaiveTime::parse_from_str(close.trim(), "%H:%M").ok()?;
    (open < close).then(|| {
        (
            open.hour(),
            close.hour() + u32::from(close.minute() > 0).min(24),
        )
    })
}

impl ScheduleScreen {
    /// Reads again on the next frame (the store changed).
    pub fn reload(&mut self) {
        self.loaded = false;
    }

    /// Shows `day` (tests and the date buttons).
    pub fn go_to(&mut self, day: NaiveDate, span: CalendarSpan) {
        self.day = Some(day);
        self.span = span;
        self.loaded = false;
    }

    /// Selects a booking as if clicked.
    pub fn select(&mut self, accession: &str) {
        self.selected = Some(accession.to_string());
        self.move_to.clear();
    }

    /// Bookings shown: (accession, room, local start, status).
    pub fn bookings(&self) -> Vec<(String, String, String, String)> {
        self.days
            .values()
            .flatten()
            .map(|r| {
                (
                    r.order.accession.clone(),
                    r.room_name.clone(),
                    r.step.start_time.clone(),
                    r.order.status.clone(),
                )
            })
            .collect()
    }

    /// Orders waiting for a slot with the suggested room and time, if any.
    pub fn waiting(&self) -> Vec<(String, Option<(i64, NaiveDateTime)>)> {
        self.waiting
            .iter()
            .map(|w| {
                (
                    w.order.accession.clone(),
                    w.suggestion.map(|s| (s.room, s.start)),
                )
            })
            .collect()
    }

    fn shown_days(&self, day: NaiveDate) -> Vec<NaiveDate> {
        match self.span {
            CalendarSpan::Day => vec![day],
            CalendarSpan::Week => {
                let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
                (0..7).map(|d| monday + Duration::days(d)).collect()
            }
        }
    }

    fn refresh(&mut self, practice: &Practice, actor: &Actor, day: NaiveDate, now: NaiveDateTime) {
        if self.loaded {
            return;
        }
        self.loaded = true;
        let read = (|| -> Result<(), ris::RisError> {
            self.rooms = practice.rooms(None)?;
            self.days.clear();
            for d in self.shown_days(day) {
                let rows = practice
                    .day_exams(actor, &d.format("%Y-%m-%d").to_string())?
                    .into_iter()
                    .map(|(r, _)| r)
                    .filter(|r| !r.step.walk_in || r.order.status != "cancelled")
                    .collect();
                self.days.insert(d, rows);
            }
            self.procedures = practice.procedures()?;
            let procedures = &self.procedures;
            let waiting_orders = practice.to_be_scheduled(actor)?;
            let accessions: Vec<String> =
                waiting_orders.iter().map(|o| o.accession.clone()).collect();
            self.subjects = practice
                .exam_subjects(actor, &accessions)
                .unwrap_or_default();
            self.waiting = waiting_orders
                .into_iter()
                .enumerate()
                .map(|(i, order)| {
                    let procedure = procedures
                        .iter()
                        .find(|p| p.code == order.procedure_code)
                        .cloned();
                    let suggestion = match (&procedure, i < SUGGESTED_ORDERS) {
                        (Some(p), true) => practice
                            .find_slot(&p.modality, p.duration_minutes, now, SUGGESTION_DAYS)
                            .ok()
                            .flatten(),
                        _ => None,
                    };
                    Waiting {
                        order,
                        procedure,
                        suggestion,
                    }
                })
                .collect();
            Ok(())
        })();
        if let Err(e) = read {
            tracing::error!(error = %e, "schedule could not be read");
            self.message = Some((
                false,
                "The schedule could not be read; the screen will try again.".into(),
            ));
        }
    }

    fn selected_row(&self) -> Option<&WorklistRow> {
        let accession = self.selected.as_deref()?;
        self.days
            .values()
            .flatten()
            .find(|r| r.order.accession == accession)
    }

    fn room_name(&self, id: i64) -> String {
        self.rooms
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| format!("room {id}"))
    }

    /// Draws the screen; `today` and `now` come from the clock (tests pass their own).
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        practice: &mut Practice,
        actor: &Actor,
        today: NaiveDate,
        now: NaiveDateTime,
    ) {
        let day = *self.day.get_or_insert(today);
        self.refresh(practice, actor, day, now);
        let mut step: Option<Step> = None;
        ui.horizontal(|ui| {
            ui.heading("Schedule");
            ui.separator();
            let jump = match self.span {
                CalendarSpan::Day => 1,
                CalendarSpan::Week => 7,
            };
            if ui.button("< Previous").clicked() {
                self.go_to(day - Duration::days(jump), self.span);
            }
            if ui.button("Today").clicked() {
                self.go_to(today, self.span);
            }
            if ui.button("Next >").clicked() {
                self.go_to(day + Duration::days(jump), self.span);
            }
            ui.separator();
            if ui
                .selectable_label(self.span == CalendarSpan::Day, "Day")
                .clicked()
            {
                self.go_to(day, CalendarSpan::Day);
            }
            if ui
                .selectable_label(self.span == CalendarSpan::Week, "Week")
                .clicked()
            {
                self.go_to(day, CalendarSpan::Week);
            }
            ui.separator();
            let shown = self
                .room_filter
                .map(|id| self.room_name(id))
                .unwrap_or_else(|| "All rooms".into());
            let label = ui.label("Rooms");
            egui::ComboBox::from_id_salt("schedule_rooms")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.room_filter, None, "All rooms");
                    for r in &self.rooms {
                        ui.selectable_value(&mut self.room_filter, Some(r.id), &r.name);
                    }
                })
                .response
                .labelled_by(label.id);
            ui.separator();
            ui.label(match self.span {
                CalendarSpan::Day => day.format("%A %d %B %Y").to_string(),
                CalendarSpan::Week => format!("Week of {}", day.format("%d %B %Y")),
            });
        });
        crate::show_outcome(ui, self.message.as_ref());
        self.keyboard_moves(ui, &mut step);
        egui::Panel::left("schedule_waiting")
            .resizable(true)
            .default_size(230.0)
            .show(ui, |ui| self.show_waiting(ui, &mut step, today));
        egui::Panel::right("schedule_selected")
            .resizable(true)
            .default_size(280.0)
            .show(ui, |ui| self.show_selected(ui, &mut step, today));
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::both().show(ui, |ui| match self.span {
                CalendarSpan::Day => self.show_day(ui, day, &mut step),
                CalendarSpan::Week => self.show_week(ui, &mut step),
            })
        });
        self.show_confirmation(ui.ctx(), &mut step);
        if let Some(step) = step {
            self.apply(step, practice, actor);
        }
    }

    /// Ctrl+↑/↓ moves the selected booking 15 minutes, Ctrl+←/→ one day.
    fn keyboard_moves(&self, ui: &mut egui::Ui, step: &mut Option<Step>) {
        let Some(row) = self.selected_row() else {
            return;
        };
        let (Some(room), Some(start)) = (row.step.room, parse_start(&row.step.start_time)) else {
            return;
        };
        let mut nudge = |key, by: Duration| {
            if ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, key)) {
                *step = Some(Step::Book(row.order.accession.clone(), room, start + by));
            }
        };
        nudge(egui::Key::ArrowUp, Duration::minutes(-NUDGE_MINUTES));
        nudge(egui::Key::ArrowDown, Duration::minutes(NUDGE_MINUTES));
        nudge(egui::Key::ArrowLeft, Duration::days(-1));
        nudge(egui::Key::ArrowRight, Duration::days(1));
    }

    fn show_waiting(&mut self, ui: &mut egui::Ui, step: &mut Option<Step>, today: NaiveDate) {
        ui.strong(format!("To be scheduled ({})", self.waiting.len()));
        egui::ScrollArea::vertical()
            .id_salt("waiting_list")
            .show(ui, |ui| {
                for w in &self.waiting {
                    ui.separator();
                    let name = w
                        .procedure
                        .as_ref()
                        .map(|p| p.name.as_str())
                        .unwrap_or("unknown procedure");
                    ui.label(format!(
                        "{} · {} · {} · {} · {}",
                        crate::patient_banner::subject_name(&self.subjects, &w.order.accession),
                        crate::patient_banner::subject_born(
                            &self.subjects,
                            &w.order.accession,
                            today
                        ),
                        name,
                        w.order.accession,
                        w.order.priority
                    ));
                    match w.suggestion {
                        Some(slot) => {
                            ui.label(format!(
                                "First free: {} {}",
                                self.room_name(slot.room),
                                slot.start.format("%a %d %b %H:%M")
                            ));
                            if ui.button(format!("Book {}", w.order.accession)).clicked() {
                                *step = Some(Step::Book(
                                    w.order.accession.clone(),
                                    slot.room,
                                    slot.start,
                                ));
                            }
                        }
                        None => {
                            ui.label("No free slot in the next two months.");
                        }
                    }
                }
            });
    }

    fn booking_label(row: &WorklistRow) -> String {
        // The patient first: it is what the desk looks for; the exam on the next line.
        format!(
            "{} {}\n{} · {} · {}",
            row.step.start_time.get(11..16).unwrap_or("walk-in"),
            crate::patient_banner::display_name(&row.patient.family_name, &row.patient.given_name),
            row.order.accession,
            row.procedure_name,
            row.order.status.replace('_', " ")
        )
    }

    /// One booking: selectable, and draggable to another hour, day or room.
    /// In the week view (`compact`) a booking shows time and family name; the rest is in its
    /// tooltip and the side panel.
    fn booking(&mut self, ui: &mut egui::Ui, row: &WorklistRow, compact: bool) {
        let full = Self::booking_label(row);
        let label = if compact {
            format!(
                "{} {} · {}",
                row.step.start_time.get(11..16).unwrap_or("walk-in"),
                row.patient.family_name,
                row.order.accession
            )
        } else {
            full.clone()
        };
        let selected = self.selected.as_deref() == Some(row.order.accession.as_str());
        // One widget that is both clicked (select) and dragged (move): a separate drag area
        // on top would swallow the click.
        // Wrapped within the column (the day view's columns share the width).
        let response = ui
            .add(
                egui::Button::selectable(selected, label)
                    .sense(egui::Sense::click_and_drag())
                    .wrap(),
            )
            .on_hover_text(full);
        response.dnd_set_drag_payload(row.order.accession.clone());
        if response.clicked() {
            self.select(&row.order.accession);
        }
    }

    fn show_day(&mut self, ui: &mut egui::Ui, day: NaiveDate, step: &mut Option<Step>) {
        let rows = self.days.get(&day).cloned().unwrap_or_default();
        if self.rooms.is_empty() {
            ui.label("No rooms yet: an administrator adds them in Settings.");
            return;
        }
        let rooms: Vec<Room> = self
            .rooms
            .iter()
            .filter(|r| self.room_filter.is_none_or(|id| id == r.id))
            .cloned()
            .collect();
        // One time axis for every room: hours are rows, rooms are columns, so 10:00 in CT lines
        // up with 10:00 in MR. The columns share the width, so every room is on screen (down to
        // a narrow minimum; below that the area scrolls sideways).
        let hours: Vec<u32> = {
            let open: Vec<(u32, u32)> = rooms.iter().filter_map(|r| open_hours(r, day)).collect();
            let first = open.iter().map(|(o, _)| *o).min().unwrap_or(8);
            let last = open.iter().map(|(_, c)| *c).max().unwrap_or(17);
            (first..last).collect()
        };
        let axis_width = 44.0;
        let column_width = ((ui.available_width() - axis_width - 8.0) / rooms.len().max(1) as f32
            - ui.spacing().item_spacing.x)
            .clamp(96.0, 320.0);
        egui::Grid::new("day_calendar")
            .striped(true)
            .min_col_width(0.0)
            .show(ui, |ui| {
                ui.label("");
                for room in &rooms {
                    ui.allocate_ui(egui::vec2(column_width, 20.0), |ui| {
                        ui.set_width(column_width);
                        ui.add(
                            egui::Label::new(
                                egui::RichText::new(format!("{} ({})", room.name, room.modality))
                                    .strong(),
                            )
                            .truncate(),
                        );
                    });
                }
                ui.end_row();
                for hour in &hours {
                    ui.allocate_ui(egui::vec2(axis_width, 20.0), |ui| {
                        ui.set_width(axis_width);
                        ui.weak(format!("{hour:02}:00"));
                    });
                    for room in &rooms {
                        let open =
                            open_hours(room, day).is_some_and(|(o, c)| (o..c).contains(hour));
                        let in_hour: Vec<&WorklistRow> = rows
                            .iter()
                            .filter(|r| r.step.room == Some(room.id))
                            .filter(|r| {
                                parse_start(&r.step.start_time).map(|t| t.hour()) == Some(*hour)
                            })
                            .collect();
                        let (_, dropped) = ui.dnd_drop_zone::<String, _>(
                            egui::Frame::default().inner_margin(2.0),
                            |ui| {
                                ui.set_width(column_width - 4.0);
                                ui.set_min_height(22.0);
                                if !open && in_hour.is_empty() {
                                    ui.weak("closed");
                                }
                                for row in in_hour {
                                    self.booking(ui, row, false);
                                }
                            },
                        );
                        if let Some(accession) = dropped {
                            // Keep the minutes past the hour the booking had.
                            let minutes = self
                                .days
                                .values()
                                .flatten()
                                .find(|r| r.order.accession == *accession)
                                .and_then(|r| parse_start(&r.step.start_time))
                                .map(|t| t.minute())
                                .unwrap_or(0);
                            if let Some(at) = day.and_hms_opt(*hour, minutes, 0) {
                                *step = Some(Step::Book(accession.to_string(), room.id, at));
                            }
                        }
                    }
                    ui.end_row();
                }
            });
    }

    fn show_week(&mut self, ui: &mut egui::Ui, step: &mut Option<Step>) {
        let days: Vec<NaiveDate> = self.days.keys().copied().collect();
        let rooms: Vec<Room> = self
            .rooms
            .iter()
            .filter(|r| self.room_filter.is_none_or(|id| id == r.id))
            .cloned()
            .collect();
        egui::Grid::new("week").striped(true).show(ui, |ui| {
            ui.label("");
            for d in &days {
                ui.strong(d.format("%a %d %b").to_string());
            }
            ui.end_row();
            for room in &rooms {
                ui.strong(&room.name);
                for d in &days {
                    let rows: Vec<WorklistRow> = self
                        .days
                        .get(d)
                        .map(|rows| {
                            rows.iter()
                                .filter(|r| r.step.room == Some(room.id))
                                .cloned()
                                .collect()
                        })
                        .unwrap_or_default();
                    let (_, dropped) = ui.dnd_drop_zone::<String, _>(
                        egui::Frame::default().inner_margin(2.0),
                        |ui| {
                            ui.set_min_width(90.0);
                            ui.set_max_width(150.0);
                            if open_hours(room, *d).is_none() {
                                ui.weak("closed");
                            }
                            for row in &rows {
                                self.booking(ui, row, true);
                            }
                        },
                    );
                    if let Some(accession) = dropped {
                        // Same time of day, that day, that room.
                        let time = self
                            .days
                            .values()
                            .flatten()
                            .find(|r| r.order.accession == *accession)
                            .and_then(|r| parse_start(&r.step.start_time))
                            .map(|t| t.time())
                            .unwrap_or(NaiveTime::MIN);
                        *step = Some(Step::Book(accession.to_string(), room.id, d.and_time(time)));
                    }
                }
                ui.end_row();
            }
        });
    }

    fn apply(&mut self, step: Step, practice: &mut Practice, actor: &Actor) {
        self.message = Some(match step {
            Step::Book(accession, room, at) => {
                match practice.book(actor, &accession, room, at, "booked at the desk") {
                    Ok(_version) => {
                        self.selected = Some(accession.clone());
                        self.move_to.clear();
                        self.move_room = None;
                        (
                            true,
                            format!(
                                "{accession} booked in {} at {}.",
                                self.room_name(room),
                                at.format("%a %d %b %H:%M")
                            ),
                        )
                    }
                    Err(ris::RisError::Access(_)) => {
                        (false, "Your role may not change the schedule.".into())
                    }
                    Err(e) => (false, format!("{accession} was not moved: {e}.")),
                }
            }
            Step::Status(accession, to, done) => {
                match practice.change_status(actor, &accession, to, "at the front desk") {
                    Ok(()) => (true, format!("{accession} {done}.")),
                    Err(e) => (false, format!("{accession}: {e}.")),
                }
            }
            Step::NoShow(accession) => match practice.no_show(actor, &accession) {
                Ok(()) => {
                    self.selected = None;
                    (
                        true,
                        format!("{accession} marked no-show; it is back in \"To be scheduled\"."),
                    )
                }
                Err(e) => (false, format!("{accession}: {e}.")),
            },
            Step::Print(accession) => self.print_preparation(practice, &accession),
        });
        self.loaded = false;
    }

    fn print_preparation(&self, practice: &Practice, accession: &str) -> (bool, String) {
        let Some(row) = self
            .selected_row()
            .filter(|r| r.order.accession == accession)
        else {
            return (false, "Select the booking again.".into());
        };
        let procedure = practice.procedure(&row.order.procedure_code).ok().flatten();
        let document = PrintedDocument {
            letterhead: practice.letterhead(),
            title: "Preparing for your exam".into(),
            facts: vec![
                (
                    "Patient".into(),
                    format!("{}, {}", row.patient.family_name, row.patient.given_name),
                ),
                ("Exam".into(), row.procedure_name.clone()),
                (
                    "When".into(),
                    parse_start(&row.step.start_time)
                        .map(|t| t.format("%A %d %B %Y at %H:%M").to_string())
                        .unwrap_or_default(),
                ),
                ("Where".into(), row.room_name.clone()),
                ("Reference".into(), accession.to_string()),
            ],
            sections: vec![(
                "Preparation".into(),
                procedure
                    .map(|p| p.preparation)
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "No preparation needed.".into()),
            )],
            footer: "Please arrive 15 minutes early and bring this sheet and your insurance card."
                .into(),
        };
        crate::save_and_open(
            practice,
            &format!("preparation-{accession}.pdf"),
            &document.to_pdf(),
        )
    }
}
