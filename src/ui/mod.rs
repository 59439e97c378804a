//! The desktop window. It reads the store through typed functions and listens to service
//! events; it never writes SQL and never talks DICOM itself.

mod billing;
mod exams_today;
mod hl7_sources;
mod integration;
mod orders;
mod patient_record;
mod patients;
mod reading;
mod schedule;
mod settings;
mod shell;
mod sign_in;
mod study_browser;
mod viewer;
mod viewer_grid;
mod worklist_view;

use std::sync::Arc;

use anyhow::Context;

use crate::app::{self, DataFolder, ServeOptions};
use crate::events;

pub use billing::BillingScreen;
pub use exams_today::ExamsTodayScreen;
pub use integration::IntegrationScreen;
pub use orders::OrdersScreen;
pub use patients::PatientsScreen;
pub use reading::ReadingScreen;
pub use schedule::{CalendarSpan, ScheduleScreen};
pub use settings::{SettingsScreen, SettingsTab};
pub use shell::{LightboxApp, Screen};
pub use study_browser::StudyBrowser;
pub use viewer::{Pane, ViewerSeries};
pub use viewer_grid::ViewerScreen;

/// The window's wgpu device, as egui asks for it but with the adapter's own texture size and
/// array-layer limits where they are larger: the viewer draws on this device, so a large frame
/// stays on the GPU and a long series needs fewer texture arrays.
fn window_wgpu_options() -> eframe::egui_wgpu::WgpuConfiguration {
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
    if let Some((ok, text)) = outcome {
        let colour = if *ok {
            ui.visuals().hyperlink_color
        } else {
            ui.visuals().error_fg_color
        };
        ui.colored_label(colour, text);
    }
}

/// The archive beside the database, as a reader (the services own writing and clean-up).
fn archive_folder(store: &crate::store::Store) -> crate::archive::ArchiveFolder {
    crate::archive::ArchiveFolder::at(
        &store
            .path()
            .parent()
            .map(|p| p.join("archive"))
            .unwrap_or_else(|| "archive".into()),
    )
}

/// The `exports/` folder beside the database, where printed and exported files go.
fn exports_folder(store: &crate::store::Store) -> std::path::PathBuf {
    store
        .path()
        .parent()
        .map(|p| p.join("exports"))
        .unwrap_or_else(|| "exports".into())
}

/// Writes `bytes` as `name` into the exports folder and opens it in the system's viewer (to
/// print); says where it went, or what to do when the disk refused.
fn save_and_open(store: &crate::store::Store, name: &str, bytes: &[u8]) -> (bool, String) {
    let folder = exports_folder(store);
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

/// Opens the window with the services running in the background of this process.
pub fn run_desktop(data: DataFolder, clock: crate::clock::Clock) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the background runtime")?;
    let repaint: Arc<std::sync::Mutex<Option<egui::Context>>> =
        Arc::new(std::sync::Mutex::new(None));
    let repaint2 = repaint.clone();
    let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        if let Ok(guard) = repaint2.lock()
            && let Some(ctx) = guard.as_ref()
        {
            ctx.request_repaint();
        }
    });
    let (sender, receiver) = events::channel(1024, Some(wake));
    // The desktop runs the HL7 listener too (stored port, else 2575); if that port is taken the
    // DICOM services still run and the status bar says why HL7 does not.
    let hl7_port = data
        .open_store()
        .ok()
        .and_then(|s| s.setting(app::HL7_PORT_SETTING).ok().flatten())
        .and_then(|p| p.parse().ok())
        .unwrap_or(app::DEFAULT_HL7_PORT);
    let options = ServeOptions {
        hl7_port: Some(hl7_port),
        hl7_optional: true,
        clock,
        ..ServeOptions::default()
    };
    let services = runtime.block_on(app::start_services(&data, &options, sender));
    let (status, services) = match services {
        Ok(s) => (
            format!(
                "DICOM: {} on {} · {}",
                s.ae_title,
                s.dicom_addr,
                match (&s.hl7_addr, &s.hl7_error) {
                    (Some(addr), _) => format!("HL7 on {addr}"),
                    (None, Some(e)) => format!("HL7 not listening: {e}"),
                    (None, None) => "HL7 not listening".into(),
                }
            ),
            Some(s),
        ),
        Err(e) => (format!("DICOM services not running: {e:#}"), None),
    };
    let store = data.open_store()?;
    let ingest = services.as_ref().map(|s| s.archive.ingest.clone());
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Lightbox")
            .with_inner_size([1280.0, 800.0]),
        wgpu_options: window_wgpu_options(),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Lightbox",
        options,
        Box::new(move |cc| {
            if let Ok(mut guard) = repaint.lock() {
                *guard = Some(cc.egui_ctx.clone());
            }
            let mut app = LightboxApp::new(store, receiver, status)?.with_clock(clock);
            if let Some(screen) = cc.wgpu_render_state.clone() {
                app = app.with_render_state(screen);
            }
            Ok(Box::new(match ingest {
                Some(ingest) => app.with_ingest(ingest),
                None => app,
            }))
        }),
    );
    if let Some(s) = services {
        s.stop();
    }
    drop(runtime);
    result.map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}
