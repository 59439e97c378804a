//! The window around the screens: first run or sign-in, then a navigation bar shaped by the
//! user's role, the current screen, and a status bar. Every frame it asks the practice whether
//! another connection committed (`PRAGMA data_version`): if so it follows the practice's change
//! journal and the screens a change concerns read again (an HL7 order reads the order lists
//! again, arriving images the study browser), so it shows within a second, without a refresh
//! button. A commit the journal does not describe (the interface log, service health, a draft)
//! reads every screen again, as before the journal.
//!
//! Sign-in, lock, navigation, status bar and the routing between screens are one frame's job
//! and share the session: they stay here. What happens at the window's edges (files dropped on
//! it, the images' own window, the disk measured for the status bar) is in `window_edges`; which
//! screens a journal change asks to read again, in `screens_to_read`.

mod screens_to_read;
mod window_edges;

use screens_to_read::{JOURNAL_READ, ScreensToRead};

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::billing::BillingScreen;
use super::exams_today::ExamsTodayScreen;
use super::integration::IntegrationScreen;
use super::orders::OrdersScreen;
use super::patients::PatientsScreen;
use super::reading::{DockedImages, ImagesPlacement, ReadingScreen};
use super::schedule::ScheduleScreen;
use super::settings::{SettingsScreen, SettingsTab};
use super::sign_in::{FirstRunForm, SignInForm};
use super::study_browser::StudyBrowser;
use super::viewer_grid::ViewerScreen;
use crate::access::{Actor, Role};
use crate::events::ServiceEvent;
use crate::practice::Practice;
use crate::window_services::{NoServices, WindowServices};
use std::sync::Arc;

/// The keyboard shortcuts, as the "Keys" menu lists them.
pub const SHORTCUTS: &[&str] = &[
    "Ctrl+1 … Ctrl+9: go to the screen in that place of the bar",
    "Ctrl+L: lock the window now",
    "Tab / Shift+Tab: next / previous field; Enter: sign in",
    "Schedule: Ctrl+Up/Down moves the selected booking 15 minutes, Ctrl+Left/Right a day",
    "Viewer: wheel or Up/Down scrolls, PageUp/PageDown by 10, Home/End; right-drag windows; Ctrl+wheel zooms; left-drag pans",
    "Viewer keys: F fit, 1 actual size, X reset, R rotate, H flip, I invert, M magnifier, O overlays, Space cine, 2-9 window presets",
    "Viewer tools: P pan, L length, A angle, B Cobb, E ellipse, Q rectangle, V value, W arrow, T label, K calibrate",
    "Files or folders dropped on the window are imported into the archive",
    "Ctrl+Plus / Ctrl+Minus / Ctrl+0: larger, smaller, normal text (for 4K screens)",
];

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
    /// Images of one study.
    Viewer,
    /// HL7 in and out, reconciliation.
    Integration,
    /// Practice set-up (administrator).
    Settings,
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
            Screen::Viewer => "Viewer",
            Screen::Integration => "Integration",
            Screen::Settings => "Settings",
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
                Screen::Viewer,
            ],
            Role::Technologist => vec![
                Screen::Today,
                Screen::Patients,
                Screen::Studies,
                Screen::Viewer,
            ],
            Role::Radiologist => vec![
                Screen::Reading,
                Screen::Viewer,
                Screen::Patients,
                Screen::Studies,
            ],
            Role::Administrator | Role::Interface => vec![
                Screen::Patients,
                Screen::Orders,
                Screen::Schedule,
                Screen::Today,
                Screen::Reading,
                Screen::Studies,
                Screen::Viewer,
                Screen::Billing,
                Screen::Integration,
                Screen::Settings,
            ],
        }
    }
}

enum Session {
    FirstRun(FirstRunForm),
    SignIn(SignInForm),
    SignedIn(Actor),
    /// Locked after inactivity (or by the Lock button): the screens keep their state for the
    /// same user; someone else signing in starts afresh.
    Locked(Actor, SignInForm),
}

/// Display preferences read from the settings now and then (another window may change them).
struct Preferences {
    dark: bool,
    lock_after: Option<Duration>,
    read_at: Option<Instant>,
}

impl Preferences {
    const REREAD: Duration = Duration::from_secs(1);

    fn refresh(&mut self, practice: &Practice) {
        if self.read_at.is_some_and(|t| t.elapsed() < Self::REREAD) {
            return;
        }
        self.read_at = Some(Instant::now());
        self.dark = practice
            .setting(crate::site::THEME_SETTING)
            .ok()
            .flatten()
            .is_some_and(|t| t == "dark");
        let minutes = practice.setting_or(
            crate::site::LOCK_AFTER_SETTING,
            crate::site::DEFAULT_LOCK_AFTER_MINUTES,
        );
        self.lock_after = (minutes > 0).then(|| Duration::from_secs(minutes * 60));
    }
}

/// The desktop application.
pub struct LightboxApp {
    /// The window has drawn (and said so in the log) — eframe handles a close only after that.
    drawn: bool,
    practice: Practice,
    /// The network and the archive's ingest, as the wiring provides them.
    services: Arc<dyn WindowServices>,
    session: Session,
    screen: Screen,
    /// The practice's name (the navigation bar, the sign-in screen).
    practice_name: String,
    studies: StudyBrowser,
    patients: PatientsScreen,
    orders: OrdersScreen,
    schedule: ScheduleScreen,
    today: ExamsTodayScreen,
    reading: ReadingScreen,
    billing: BillingScreen,
    integration: IntegrationScreen,
    settings: SettingsScreen,
    viewer: ViewerScreen,
    data_version: i64,
    /// Where this window is in the practice's change journal.
    journal_cursor: i64,
    /// The screen drawn last frame (a different one now means the person went there).
    shown_screen: Option<Screen>,
    /// Outbound messages not delivered (the status bar says so in every screen).
    delivery_trouble: crate::practice::DeliveryTrouble,
    preferences: Preferences,
    last_input: Instant,
    /// A demo practice: the sign-in screen lists its accounts.
    demo: bool,
    /// Services that are not running, or were restarted, as the status bar names them.
    service_problems: Vec<String>,
    /// Where "now" comes from (tests and reference images fix it).
    clock: crate::clock::Clock,
    /// The archive's disk when it is running out of space, and when that was last measured.
    low_disk: Option<crate::archive::disk_space::LowDiskSpace>,
    disk_measured_at: Option<Instant>,
}

impl LightboxApp {
    /// The window over `practice`, listening to service `events`; `status` is the services'
    /// state for the status bar. Starts with the first-run form on a practice without users.
    /// Without [`LightboxApp::with_services`] it has no network and no ingest.
    pub fn new(
        practice: Practice,
        events: Receiver<ServiceEvent>,
        status: String,
    ) -> Result<LightboxApp, crate::records::StoreError> {
        let first_run = practice.needs_first_run();
        let name = practice.name();
        let studies_practice = practice.reopen()?;
        Ok(LightboxApp {
            drawn: false,
            session: if first_run {
                Session::FirstRun(FirstRunForm::default())
            } else {
                Session::SignIn(SignInForm::default())
            },
            screen: Screen::Patients,
            practice_name: name,
            studies: StudyBrowser::new(studies_practice, events, status).in_shell(),
            patients: PatientsScreen::default(),
            orders: OrdersScreen::default(),
            schedule: ScheduleScreen::default(),
            today: ExamsTodayScreen::default(),
            reading: ReadingScreen::default(),
            billing: BillingScreen::default(),
            integration: IntegrationScreen::default(),
            settings: SettingsScreen::default(),
            viewer: ViewerScreen::default(),
            data_version: practice.data_version(),
            journal_cursor: practice.changes_head(),
            shown_screen: None,
            delivery_trouble: practice.delivery_trouble().unwrap_or_default(),
            preferences: Preferences {
                dark: false,
                lock_after: None,
                read_at: None,
            },
            last_input: Instant::now(),
            demo: practice.is_demo(),
            clock: crate::clock::Clock::System,
            service_problems: Vec::new(),
            low_disk: None,
            disk_measured_at: None,
            services: Arc::new(NoServices),
            practice,
        })
    }

    /// Fixes the time the screens use as "now" (tests, reference images).
    pub fn set_clock(&mut self, now: chrono::NaiveDateTime) {
        self.clock = crate::clock::Clock::Frozen(now);
    }

    /// Takes "now" from `clock` (the one the services run on).
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> LightboxApp {
        self.clock = clock;
        self
    }

    fn now(&self) -> chrono::NaiveDateTime {
        self.clock.now()
    }

    /// Whether the window is locked.
    pub fn locked(&self) -> bool {
        matches!(self.session, Session::Locked(..))
    }

    /// Pretends nobody touched the window for `idle` (tests of the inactivity lock).
    pub fn idle_for(&mut self, idle: Duration) {
        self.last_input = Instant::now().checked_sub(idle).unwrap_or(self.last_input);
    }

    /// Every screen back to its first state (another user signs in on this PC).
    fn reset_screens(&mut self) {
        self.patients = PatientsScreen::default();
        self.orders = OrdersScreen::default();
        self.schedule = ScheduleScreen::default();
        self.today = ExamsTodayScreen::default();
        self.reading = ReadingScreen::default();
        self.billing = BillingScreen::default();
        self.integration = IntegrationScreen::default();
        self.settings = SettingsScreen::default();
        self.viewer = ViewerScreen::default();
        self.viewer.set_services(self.services.clone());
        self.shown_screen = None;
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

    /// The running services: imports go through the archive's ingest, echoes and priors over
    /// the network (the wiring provides them; tests provide the services they started).
    pub fn with_services(mut self, services: Arc<dyn WindowServices>) -> LightboxApp {
        self.viewer.set_services(services.clone());
        self.settings.set_services(services.clone());
        self.services = services;
        self
    }

    /// Messages the Integration monitor shows as delivered (for tests).
    pub fn integration_delivered(&self) -> usize {
        self.integration.delivered()
    }

    /// The viewer (for tests).
    pub fn viewer(&mut self) -> &mut ViewerScreen {
        &mut self.viewer
    }

    /// The Studies screen (for tests).
    pub fn studies(&mut self) -> &mut StudyBrowser {
        &mut self.studies
    }

    /// The Settings screen (for tests).
    pub fn settings(&mut self) -> &mut SettingsScreen {
        &mut self.settings
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
        let version = self.practice.data_version();
        if version == self.data_version {
            // No other connection committed: whatever the journal gained is this window's own
            // doing (its screens read again already). Skip it, so the next look sorts only
            // others' changes; a commit landing meanwhile changes the version and, finding
            // nothing journaled, reads every screen.
            self.journal_cursor = self.practice.changes_head();
            return;
        }
        self.data_version = version;
        // Always: the interface log and the services' health are not journal changes.
        self.service_problems = service_problems(&self.practice);
        self.delivery_trouble = self.practice.delivery_trouble().unwrap_or_default();
        self.integration.reload();
        let changes = match self
            .practice
            .changes_after(self.journal_cursor, JOURNAL_READ)
        {
            Ok((entries, next)) => {
                self.journal_cursor = next;
                Some(entries)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the change journal could not be read");
                None
            }
        };
        let reads = match changes {
            Some(entries) if !entries.is_empty() && entries.len() < JOURNAL_READ => {
                ScreensToRead::for_changes(entries.iter().map(|e| &e.change))
            }
            // Nothing journaled (a commit of another kind) or too much to sort: read it all.
            _ => ScreensToRead::all(),
        };
        if reads.patients {
            self.patients.reload();
        }
        if reads.exams {
            self.orders.reload();
            self.schedule.reload();
            self.today.reload();
            self.reading.reload();
            self.billing.reload();
        }
        if reads.studies {
            self.studies.reload();
        }
        if reads.settings {
            self.settings.reload();
        }
    }

    /// Draws the window.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        // The viewer's icons, before any text of this frame is laid out (a no-op once there).
        egui_material_icons::initialize(ui.ctx());
        self.studies.drain_events();
        self.poll_changes();
        // Look for changes from the services at least twice a second.
        ui.ctx().request_repaint_after(Duration::from_millis(500));
        self.preferences.refresh(&self.practice);
        self.measure_disk();
        ui.ctx().set_theme(if self.preferences.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        });
        self.show_server_trouble(ui);
        let touched = ui.input(|i| {
            i.events.iter().any(|e| {
                matches!(
                    e,
                    egui::Event::Key { .. }
                        | egui::Event::Text(_)
                        | egui::Event::PointerButton { .. }
                        | egui::Event::PointerMoved(_)
                        | egui::Event::MouseWheel { .. }
                )
            })
        });
        if touched {
            self.last_input = Instant::now();
        }
        if let (Session::SignedIn(actor), Some(after)) =
            (&self.session, self.preferences.lock_after)
            && self.last_input.elapsed() >= after
        {
            tracing::info!(login = %actor.login, "the window locked after inactivity");
            self.session = Session::Locked(
                actor.clone(),
                SignInForm {
                    login: actor.login.clone(),
                    ..SignInForm::default()
                },
            );
        }
        self.sign_in_again_if_the_server_ended_the_session();
        let actor = match &mut self.session {
            Session::FirstRun(form) => {
                let mut done = None;
                egui::CentralPanel::default()
                    .show(ui, |ui| done = form.show(ui, &mut self.practice));
                if let Some(actor) = done {
                    self.practice_name = self.practice.name();
                    // The first run ends on the set-up checklist, not on an empty screen.
                    self.screen = Screen::Settings;
                    self.settings.open(SettingsTab::GettingStarted);
                    self.shown_screen = None;
                    self.session = Session::SignedIn(actor);
                }
                return;
            }
            Session::SignIn(form) => {
                let mut done = None;
                let demo = self.demo;
                egui::CentralPanel::default().show(ui, |ui| {
                    done = form.show(ui, &self.practice, &self.practice_name);
                    if demo {
                        ui.separator();
                        ui.label(format!(
                            "Demo practice: sign in as {} with the password {}.",
                            lightbox_domain::demo::DEMO_USERS
                                .iter()
                                .map(|(login, role)| format!(
                                    "{login} ({})",
                                    role.code().replace('_', " ")
                                ))
                                .collect::<Vec<_>>()
                                .join(", "),
                            lightbox_domain::demo::DEMO_PASSWORD
                        ));
                    }
                });
                if let Some(actor) = done {
                    // Each role starts on its own main screen.
                    self.screen = Screen::for_role(actor.role)[0];
                    self.shown_screen = None;
                    self.start_prefetch(&actor);
                    self.session = Session::SignedIn(actor);
                }
                return;
            }
            Session::Locked(previous, form) => {
                let mut done = None;
                let previous = previous.clone();
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.heading("Locked");
                    ui.label(format!(
                        "Lightbox locked itself after a while without use. {} can enter their password to carry on where they were; someone else can sign in instead.",
                        previous.login
                    ));
                    done = form.show(ui, &self.practice, &self.practice_name);
                });
                if let Some(actor) = done {
                    if actor.login != previous.login {
                        self.reset_screens();
                        self.screen = Screen::for_role(actor.role)[0];
                    }
                    self.last_input = Instant::now();
                    self.shown_screen = None;
                    self.session = Session::SignedIn(actor);
                }
                return;
            }
            Session::SignedIn(actor) => actor.clone(),
        };
        let mut sign_out = false;
        let mut lock = false;
        egui::Panel::top("navigation").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong(if self.practice_name.is_empty() {
                    "Lightbox"
                } else {
                    &self.practice_name
                });
                ui.separator();
                let screens = Screen::for_role(actor.role);
                for (n, screen) in screens.iter().enumerate() {
                    ui.selectable_value(&mut self.screen, *screen, screen.title())
                        .on_hover_text(format!("Ctrl+{}", n + 1));
                }
                // Ctrl+1…9 goes to the n-th screen of the bar.
                for (key, screen) in crate::DIGIT_KEYS.iter().zip(&screens) {
                    if ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, *key)) {
                        self.screen = *screen;
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button("Sign out").clicked() {
                        sign_out = true;
                    }
                    ui.menu_button("Keys", |ui| {
                        for line in SHORTCUTS {
                            ui.label(*line);
                        }
                    });
                    if ui.button("Lock").on_hover_text("Ctrl+L").clicked()
                        || ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::L))
                    {
                        lock = true;
                    }
                    ui.label(format!(
                        "{} ({})",
                        actor.login,
                        actor.role.code().replace('_', " ")
                    ));
                });
            });
        });
        let mut go_to_integration = false;
        egui::Panel::bottom("status_bar").show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                // Trouble first, where the eye lands, each a click away from its cause.
                let trouble = &self.delivery_trouble;
                if trouble.any() {
                    let text = match (trouble.failed, trouble.retrying) {
                        (0, r) => format!("HL7: {r} message(s) not delivered yet, retrying"),
                        (f, 0) => format!("HL7: {f} message(s) failed"),
                        (f, r) => format!("HL7: {f} message(s) failed, {r} retrying"),
                    };
                    let shown = ui
                        .add(
                            egui::Button::new(
                                egui::RichText::new(text).color(ui.visuals().error_fg_color),
                            )
                            .frame(false),
                        )
                        .on_hover_text(if trouble.last_error.is_empty() {
                            "Open Integration to see the queue".to_string()
                        } else {
                            format!(
                                "Last error: {}. Open Integration to see the queue.",
                                trouble.last_error
                            )
                        });
                    if shown.clicked() {
                        go_to_integration = true;
                    }
                    ui.separator();
                }
                if let Some(low) = &self.low_disk {
                    ui.colored_label(ui.visuals().error_fg_color, low.describe())
                        .on_hover_text(format!(
                            "Measured at {}. Free space, move old studies to other storage, or lower the warning level in Settings ({}).",
                            low.folder.display(),
                            crate::archive::disk_space::LOW_DISK_WARNING_SETTING
                        ));
                    ui.separator();
                }
                for problem in &self.service_problems {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!("Service problem: {problem}"),
                    );
                    ui.separator();
                }
                ui.label(self.studies.status());
            });
        });
        self.take_dropped_files(ui, &actor);
        if go_to_integration && Screen::for_role(actor.role).contains(&Screen::Integration) {
            self.screen = Screen::Integration;
        }
        let screen = self.screen;
        if self.shown_screen != Some(screen) {
            // The person came to this screen: lists that are audited record the opening.
            self.shown_screen = Some(screen);
            if screen == Screen::Reading {
                self.reading.opened();
            }
        }
        egui::CentralPanel::default().show(ui, |ui| match screen {
            Screen::Patients => {
                let today = self.now().date();
                self.patients.show(ui, &mut self.practice, &actor, today)
            }
            Screen::Orders => {
                let now = self.now();
                self.orders.show(ui, &mut self.practice, &actor, now)
            }
            Screen::Schedule => {
                let now = self.now();
                self.schedule
                    .show(ui, &mut self.practice, &actor, now.date(), now)
            }
            Screen::Today => {
                let today = self.now().date().format("%Y-%m-%d").to_string();
                self.today.show(ui, &mut self.practice, &actor, &today)
            }
            Screen::Reading => {
                let now = self.now();
                // The exam's images between the worklist and the report, unless they have a
                // window of their own.
                let viewer = &mut self.viewer;
                let mut draw_images =
                    |ui: &mut egui::Ui, practice: &Practice| viewer.show(ui, practice, &actor);
                let docked = self.reading.images_placement() == Some(ImagesPlacement::Docked);
                self.reading.show(
                    ui,
                    &mut self.practice,
                    &actor,
                    now,
                    docked.then_some(&mut draw_images as DockedImages<'_>),
                )
            }
            Screen::Billing => {
                let today = self.now().date();
                self.billing.show(ui, &self.practice, &actor, today)
            }
            Screen::Studies => self.studies.show(ui, &actor),
            Screen::Viewer => self.viewer.show(ui, &self.practice, &actor),
            Screen::Integration => {
                let today = self.now().date().format("%Y-%m-%d").to_string();
                self.integration.show(
                    ui,
                    &mut self.practice,
                    &actor,
                    &today,
                    self.studies.associations(),
                )
            }
            Screen::Settings => self.settings.show(ui, &self.practice, &actor),
        });
        // A study asked for on the Studies or Reading screen opens in the viewer.
        if let Some(uid) = self.studies.take_open_request() {
            self.viewer.open(&self.practice, &uid);
            self.viewer.clear_priors();
            self.screen = Screen::Viewer;
            ui.ctx().request_repaint();
        }
        if let Some((uid, accession)) = self.reading.take_open_request() {
            // The exam with its relevant priors (same patient under every identifier).
            let priors = self.practice.priors(&actor, &accession)
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, accession = %accession, "priors could not be listed");
                    Vec::new()
                });
            self.viewer.open(&self.practice, &uid);
            self.viewer.set_priors(&self.practice, &uid, priors);
            self.viewer.fetch_priors(&self.practice, &accession);
            // The reading room shows them: docked beside the report, or in their own window.
            ui.ctx().request_repaint();
        }
        if self.reading.images_placement() == Some(ImagesPlacement::OwnWindow) {
            self.show_images_window(ui.ctx(), &actor);
        }
        // Key images and measurements for the exam's report: into the open editor when it holds
        // that report, else appended to the stored draft.
        if let Some((study, text)) = self.viewer.take_report_insert() {
            let accession = self.practice.accession_of_study(&actor, &study);
            let message = match accession {
                Some(acc) if self.reading.insert_text(&acc, &text) => {
                    format!("Added to the report of {acc} in the editor.")
                }
                _ => match self.practice.append_to_draft(&actor, &study, &text) {
                    Ok(acc) => format!("Added to the draft report of {acc}."),
                    Err(e) => format!("Not added to a report: {e}."),
                },
            };
            self.viewer.say(&message);
        }
        if sign_out {
            self.practice.sign_out(&actor);
            self.reset_screens();
            self.session = Session::SignIn(SignInForm::default());
        } else if lock {
            self.session = Session::Locked(
                actor.clone(),
                SignInForm {
                    login: actor.login.clone(),
                    ..SignInForm::default()
                },
            );
        }
    }
}

impl LightboxApp {
    /// The window's GPU (eframe's wgpu render state): the viewer draws images there.
    pub fn with_render_state(mut self, screen: eframe::egui_wgpu::RenderState) -> LightboxApp {
        self.viewer.set_render_state(screen);
        self
    }
}

impl eframe::App for LightboxApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
        if !self.drawn {
            self.drawn = true;
            // Support and the desktop test read it: the window is up and takes events.
            tracing::info!("the window drew its first frame");
        }
    }
}

/// The status bar's warnings: every service that is down or restarting, and any that was
/// restarted (with why), so an outage shows where everyone looks.
fn service_problems(practice: &Practice) -> Vec<String> {
    use crate::records::health::ServiceState;
    let Ok(services) = practice.service_health() else {
        return vec!["service state unknown".into()];
    };
    let this_process = std::process::id();
    services
        .iter()
        .filter(|s| s.process_id == this_process)
        .filter_map(|s| match s.state {
            ServiceState::Down | ServiceState::Restarting => Some(format!(
                "{} {} since {}: {}",
                s.service,
                s.state.code(),
                s.since.replace('T', " ").trim_end_matches('Z'),
                s.last_error
            )),
            ServiceState::Running if s.restarts > 0 => Some(format!(
                "{} restarted {}× (last: {})",
                s.service, s.restarts, s.last_error
            )),
            _ => None,
        })
        .collect()
}
