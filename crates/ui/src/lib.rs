//! The desktop window: the egui screens of every role. It acts on the practice only through
//! the Practice API (`lightbox_domain::Practice`, which checks and audits each call), draws
//! images through `lightbox-imaging`, and asks the network of the running services through
//! [`WindowServices`], which the wiring installs. It never writes SQL, never opens a socket and
//! never talks DICOM itself.
//!
//! Depends on: lightbox-domain (the Practice API and its records), lightbox-imaging. Used by:
//! the `lightbox` binary (the desktop wiring).

mod billing;
mod exams_today;
mod hl7_sources;
mod integration;
mod orders;
mod pairing;
mod patient_banner;
mod patient_record;
mod patients;
mod reading;
mod schedule;
mod settings;
mod shell;
mod sign_in;
mod study_browser;
mod table_sort;
mod viewer;
mod viewer_grid;
mod window_services;
mod worklist_view;

use std::sync::Arc;

use lightbox_domain::{
    access, administration, archive, changes, clock, documents, events, his, hl7, pacs, practice,
    records, ris, site, viewing,
};
use lightbox_imaging as imaging;

pub use window_services::{NoServices, ServicesElsewhere, WindowServices, WorkstationApi};

pub use billing::BillingScreen;
pub use exams_today::ExamsTodayScreen;
pub use integration::IntegrationScreen;
pub use orders::OrdersScreen;
pub use pairing::{PairWith, PairingScreen};
pub use patients::PatientsScreen;
pub use reading::{ImagesPlacement, ReadingScreen};
pub use schedule::{CalendarSpan, ScheduleScreen};
pub use settings::{SettingsScreen, SettingsTab};
pub use shell::{LightboxApp, Screen};
pub use study_browser::StudyBrowser;
pub use viewer::{Pane, ViewerSeries};
pub use viewer_grid::ViewerScreen;

/// The window's wgpu device, as egui asks for it but with the adapter's own texture size and
/// array-layer limits where they are larger: the viewer draws on this device, so a large frame
/// stays on the GPU and a long series needs fewer texture arrays.
pub fn window_wgpu_options() -> eframe::egui_wgpu::WgpuConfiguration {
    let mut options = eframe::egui_wgpu::WgpuConfiguration::default();
    if let eframe::egui_wgpu::WgpuSetup::CreateNew(setup) = &mut options.wgpu_setup {
        let egui_descriptor = setup.device_descriptor.clone();
        setup.device_descriptor = Arc::new(move |adapter| {
            let mut descriptor = egui_descriptor(adapter);
            let (wanted, offered) = (&mut descriptor.required_limits, adapter.limits());
            wanted.max_texture_dimension_2d = wanted
                .max_texture_dimension_2d
                .max(offered.max_texture_dimension_2d);
            wanted.max_texture_array_layers = wanted
                .max_texture_array_layers
                .max(offered.max_texture_array_layers);
            descriptor
        });
    }
    options
}

/// Shows the outcome of the last action: (succeeded, what to tell the user).
fn show_outcome(ui: &mut egui::Ui, outcome: Option<&(bool, String)>) {
    message_strip(ui, outcome);
}

/// Height of the message strip every screen keeps under its title, message or not.
pub const MESSAGE_STRIP_HEIGHT: f32 = 24.0;

/// The outcome of the last action on one line of fixed height, reserved whether or not there
/// is a message: a message appearing or going never moves what is below it (a click meant for
/// one row must not land on the next). Longer text is cut with "…" and shown whole on hover.
fn message_strip(ui: &mut egui::Ui, outcome: Option<&(bool, String)>) {
    let width = ui.available_width();
    let (rect, response) = ui.allocate_exact_size(
        egui::vec2(width, MESSAGE_STRIP_HEIGHT),
        egui::Sense::hover(),
    );
    let Some((ok, text)) = outcome else {
        return;
    };
    let visuals = ui.visuals();
    let (fill, colour, mark) = if *ok {
        (visuals.faint_bg_color, visuals.hyperlink_color, "Done:")
    } else {
        (visuals.extreme_bg_color, visuals.error_fg_color, "Problem:")
    };
    ui.painter().rect_filled(rect, 3.0, fill);
    let line = text.lines().next().unwrap_or_default();
    let shown = format!("{mark} {line}");
    let font = egui::TextStyle::Body.resolve(ui.style());
    let mut job = egui::text::LayoutJob::simple_singleline(shown, font, colour);
    job.wrap = egui::text::TextWrapping::truncate_at_width(rect.width() - 12.0);
    let galley = ui.painter().layout_job(job);
    let at = egui::pos2(rect.left() + 6.0, rect.center().y - galley.size().y / 2.0);
    ui.painter().galley(at, galley.clone(), colour);
    // The whole text for a screen reader and on hover.
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, text));
    if galley.elided || text.lines().count() > 1 {
        response.on_hover_text(text.as_str());
    }
}

/// A table cell's text: not selectable (a click selects the row), cut to the column.
/// The digit keys 1…9 in order: Ctrl+digit picks a screen, a digit a viewer shortcut.
const DIGIT_KEYS: [egui::Key; 9] = [
    egui::Key::Num1,
    egui::Key::Num2,
    egui::Key::Num3,
    egui::Key::Num4,
    egui::Key::Num5,
    egui::Key::Num6,
    egui::Key::Num7,
    egui::Key::Num8,
    egui::Key::Num9,
];

fn table_cell(ui: &mut egui::Ui, text: &str) {
    ui.add(egui::Label::new(text).selectable(false).truncate());
}

/// A question asked before an irreversible or clinical step (sign final, cancel, check in on
/// another day …): whose and what in `text`, an optional `warning` in the warning colour, the
/// safe answer first and the step's button away from it. Some(true) once the person confirms,
/// Some(false) once they decline (or close the dialog), None while it is open.
struct Confirmation<'a> {
    id: &'static str,
    heading: &'a str,
    text: &'a str,
    warning: Option<&'a str>,
    keep: &'a str,
    proceed: &'a str,
}

impl Confirmation<'_> {
    fn ask(&self, ctx: &egui::Context) -> Option<bool> {
        let mut decided = None;
        let modal = egui::Modal::new(egui::Id::unique(self.id)).show(ctx, |ui| {
            ui.set_max_width(460.0);
            ui.heading(self.heading);
            ui.label(self.text);
            if let Some(warning) = self.warning {
                ui.colored_label(ui.visuals().warn_fg_color, warning);
            }
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button(self.keep).clicked() {
                    decided = Some(false);
                }
                ui.add_space(40.0);
                if ui.button(self.proceed).clicked() {
                    decided = Some(true);
                }
            });
        });
        if modal.should_close() && decided.is_none() {
            decided = Some(false);
        }
        decided
    }
}

/// Writes `bytes` as `name` into the exports folder and opens it in the system's viewer (to
/// print); says where it went, or what to do when the disk refused.
fn save_and_open(practice: &practice::Practice, name: &str, bytes: &[u8]) -> (bool, String) {
    let folder = practice.exports_folder();
    let file = folder.join(name);
    match std::fs::create_dir_all(&folder).and_then(|()| std::fs::write(&file, bytes)) {
        Ok(()) => {
            open_in_system_viewer(&file);
            (
                true,
                format!("Saved to {} and opened for printing.", file.display()),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, file = %file.display(), "a document could not be written");
            (
                false,
                format!(
                    "{} could not be written ({e}). Check that the disk has room and try again.",
                    file.display()
                ),
            )
        }
    }
}

/// Hands a file to the desktop's default application. Tests set `LIGHTBOX_NO_OPEN` so no
/// viewer pops up; a missing viewer is only logged (the file is saved either way).
fn open_in_system_viewer(path: &std::path::Path) {
    if std::env::var_os("LIGHTBOX_NO_OPEN").is_some() {
        return;
    }
    #[cfg(target_os = "windows")]
    let spawned = std::process::Command::new("cmd")
        .args(["/C", "start", ""])
        .arg(path)
        .spawn();
    #[cfg(target_os = "macos")]
    let spawned = std::process::Command::new("open").arg(path).spawn();
    #[cfg(not(any(target_os = "windows", target_os = "macos")))]
    let spawned = std::process::Command::new("xdg-open")
        .arg(path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reap the launcher when it exits so it does not linger as a zombie.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => {
            tracing::warn!(error = %e, file = %path.display(), "no viewer could open the file")
        }
    }
}
