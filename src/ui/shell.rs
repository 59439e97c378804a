//! The window around the screens: first run or sign-in, then a navigation bar shaped by the
//! user's role, the current screen, and a status bar. Every frame it asks the store whether
//! another connection committed (`PRAGMA data_version`): if so the screens read again, so an
//! HL7 order, an arriving study or a failed ORU shows within a second, without a refresh button.

use std::sync::mpsc::Receiver;
use std::time::Duration;

use super::billing::BillingScreen;
use super::exams_today::ExamsTodayScreen;
use super::integration::IntegrationScreen;
use super::orders::OrdersScreen;
use super::patients::PatientsScreen;
use super::reading::ReadingScreen;
use super::schedule::ScheduleScreen;
use super::sign_in::{FirstRunForm, SignInForm};
use super::study_browser::StudyBrowser;
use crate::access::{Actor, Role};
use crate::events::ServiceEvent;
use crate::store::Store;

/// The screens of the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Patients: search, register, record.
    Patients,
    /// Orders: entry, needs review, latest.
    Orders,
    /// Day and week calendars per room (front desk).
    Schedule,
    /// Today's exams by room (technologists).
    Today,
    /// The reading worklist and report editor (radiologists).
    Reading,
    /// Charges (administrator).
    Billing,
    /// The archive's studies.
    Studies,
    /// HL7 in and out, reconciliation.
    Integration,
}

impl Screen {
    /// Its name in the navigation bar.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Patients => "Patients",
            Screen::Orders => "Orders",
            Screen::Schedule => "Schedule",
            Screen::Today => "Today",
            Screen::Reading => "Reading",
            Screen::Billing => "Billing",
            Screen::Studies => "Studies",
            Screen::Integration => "Integration",
        }
    }

    /// The screens a role sees, in order.
    pub fn for_role(role: Role) -> Vec<Screen> {
        match role {
            Role::FrontDesk => vec![
                Screen::Patients,
                Screen::Orders,
                Screen::Schedule,
                Screen::Today,
                Screen::Studies,
            ],
            Role::Technologist => vec![Screen::Today, Screen::Patients, Screen::Studies],
            Role::Radiologist => vec![Screen::Reading, Screen::Patients, Screen::Studies],
            Role::Administrator | Role::Interface => vec![
                Screen::Patients,
                Screen::Orders,
                Screen::Schedule,
                Screen::Today,
                Screen::Reading,
                Screen::Studies,
                Screen::Billing,
                Screen::Integration,
            ],
        }
    }
}

enum Session {
    FirstRun(FirstRunForm),
    SignIn(SignInForm),
    SignedIn(Actor),
}

/// The desktop application.
pub struct LightboxApp {
    store: Store,
    session: Session,
    screen: Screen,
    practice: String,
    studies: StudyBrowser,
    patients: PatientsScreen,
    orders: OrdersScreen,
    schedule: ScheduleScreen,
    today: ExamsTodayScreen,
    reading: ReadingScreen,
    billing: BillingScreen,
    integration: IntegrationScreen,
    data_version: i64,
}

impl LightboxApp {
    /// The window over `store`, listening to service `events`; `status` is the services'
    /// state for the status bar. Starts with the first-run form on a store without users.
    pub fn new(
        store: Store,
        events: Receiver<ServiceEvent>,
        status: String,
    ) -> Result<LightboxApp, crate::store::StoreError> {
        let first_run = store.user_count().map(|n| n == 0).unwrap_or(false);
        let practice = store
            .setting(crate::app::PRACTICE_NAME_SETTING)
            .ok()
            .flatten()
            .unwrap_or_default();
        let studies_store = store.reopen()?;
        Ok(LightboxApp {
            session: if first_run {
                Session::FirstRun(FirstRunForm::default())
            } else {
                Session::SignIn(SignInForm::default())
            },
            screen: Screen::Patients,
            practice,
            studies: StudyBrowser::new(studies_store, events, status),
            patients: PatientsScreen::default(),
            orders: OrdersScreen::default(),
            schedule: ScheduleScreen::default(),
            today: ExamsTodayScreen::default(),
            reading: ReadingScreen::default(),
            billing: BillingScreen::default(),
            integration: IntegrationScreen::default(),
            data_version: store.data_version().unwrap_or(0),
            store,
        })
    }

    /// Who is signed in, if anyone.
    pub fn actor(&self) -> Option<&Actor> {
        match &self.session {
            Session::SignedIn(a) => Some(a),
            _ => None,
        }
    }

    /// The screen shown.
    pub fn screen(&self) -> Screen {
        self.screen
    }

    /// The Today screen (for tests).
    pub fn today(&self) -> &ExamsTodayScreen {
        &self.today
    }

    /// The Schedule screen (for tests).
    pub fn schedule(&mut self) -> &mut ScheduleScreen {
        &mut self.schedule
    }

    /// The Reading screen (for tests).
    pub fn reading(&self) -> &ReadingScreen {
        &self.reading
    }

    /// The Billing screen (for tests).
    pub fn billing(&self) -> &BillingScreen {
        &self.billing
    }

    /// The Orders screen (for tests).
    pub fn orders(&self) -> &OrdersScreen {
        &self.orders
    }

    /// The Patients screen (for tests).
    pub fn patients(&self) -> &PatientsScreen {
        &self.patients
    }

    fn poll_changes(&mut self) {
        if let Ok(v) = self.store.data_version()
            && v != self.data_version
        {
            self.data_version = v;
            self.patients.reload();
            self.orders.reload();
            self.schedule.reload();
            self.today.reload();
            self.reading.reload();
            self.billing.reload();
            self.integration.reload();
            self.studies.reload();
        }
    }

    /// Draws the window.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.studies.drain_events();
        self.poll_changes();
        // Look for changes from the services at least twice a second.
        ui.ctx().request_repaint_after(Duration::from_millis(500));
        let actor = match &mut self.session {
            Session::FirstRun(form) => {
                let mut done = None;
                egui::CentralPanel::default().show(ui, |ui| done = form.show(ui, &self.store));
                if let Some(actor) = done {
                    self.practice = self
                        .store
                        .setting(crate::app::PRACTICE_NAME_SETTING)
                        .ok()
                        .flatten()
                        .unwrap_or_default();
                    self.session = Session::SignedIn(actor);
                }
                return;
            }
            Session::SignIn(form) => {
                let mut done = None;
                egui::CentralPanel::default()
                    .show(ui, |ui| done = form.show(ui, &self.store, &self.practice));
                if let Some(actor) = done {
                    // Each role starts on its own main screen.
                    self.screen = Screen::for_role(actor.role)[0];
                    self.session = Session::SignedIn(actor);
                }
                return;
            }
            Session::SignedIn(actor) => actor.clone(),
        };
        let mut sign_out = false;
        egui::Panel::top("navigation").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong(if self.practice.is_empty() {
                    "Lightbox"
                } else {
                    &self.practice
                });
                ui.separator();
                for screen in Screen::for_role(actor.role) {
                    ui.selectable_value(&mut self.screen, screen, screen.title());
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button("Sign out").clicked() {
                        sign_out = true;
                    }
                    ui.label(format!(
                        "{} ({})",
                        actor.login,
                        actor.role.code().replace('_', " ")
                    ));
                });
            });
        });
        egui::Panel::bottom("status_bar").show(ui, |ui| {
            ui.label(self.studies.status());
        });
        let screen = self.screen;
        egui::CentralPanel::default().show(ui, |ui| match screen {
            Screen::Patients => self.patients.show(ui, &mut self.store, &actor),
            Screen::Orders => self.orders.show(ui, &mut self.store, &actor),
            Screen::Schedule => {
                let now = chrono::Local::now().naive_local();
                self.schedule
                    .show(ui, &mut self.store, &actor, now.date(), now)
            }
            Screen::Today => {
                let today = chrono::Local::now()
                    .date_naive()
                    .format("%Y-%m-%d")
                    .to_string();
                self.today.show(ui, &mut self.store, &actor, &today)
            }
            Screen::Reading => self.reading.show(ui, &mut self.store, &actor),
            Screen::Billing => self.billing.show(ui, &self.store, &actor),
            Screen::Studies => self.studies.show(ui),
            Screen::Integration => self.integration.show(ui, &self.store, &actor),
        });
        if sign_out {
            self.session = Session::SignIn(SignInForm::default());
        }
    }
}

impl eframe::App for LightboxApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}
