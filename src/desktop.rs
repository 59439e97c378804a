//! The desktop wiring: starts the services in this process, opens the practice and hands the
//! window its Practice API, the service events and [`ServicesForWindow`] — the window's only
//! way to the network and the archive's ingest.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use lightbox_domain::archive::ImportSummary;
use lightbox_domain::archive::received::ObjectArchiver;
use lightbox_domain::records::nodes::DicomNode;
use lightbox_domain::viewing::FetchSummary;
use lightbox_ui::{LightboxApp, WindowServices};

use crate::app::{self, DataFolder, ServeOptions};
use crate::archive::ingest::Ingest;
use crate::events;

/// The window's requests, served by this process's services.
pub struct ServicesForWindow {
    data: DataFolder,
    ingest: Option<Ingest>,
}

impl ServicesForWindow {
    /// Over the services of `data`; `ingest` is the running archive's (None: not running).
    pub fn new(data: &DataFolder, ingest: Option<Ingest>) -> ServicesForWindow {
        ServicesForWindow {
            data: data.clone(),
            ingest,
        }
    }

    /// A small runtime for one network request from the window.
    fn runtime() -> Result<tokio::runtime::Runtime, String> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("the network request could not start: {e}"))
    }
}

impl WindowServices for ServicesForWindow {
    fn archive_running(&self) -> bool {
        self.ingest.is_some()
    }

    fn echo(&self, node: &DicomNode, calling_ae: &str) -> Result<Duration, String> {
        let runtime = Self::runtime()?;
        let started = Instant::now();
        match runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(10),
                crate::dicom::scu::echo(node, calling_ae),
            )
            .await
        }) {
            Ok(Ok(())) => Ok(started.elapsed()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 10 seconds".into()),
        }
    }

    fn reach_hl7(&self, host: &str, port: u16) -> Result<SocketAddr, String> {
        let addresses = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("the host {host} is unknown ({e})"))?;
        for address in addresses {
            if std::net::TcpStream::connect_timeout(&address, Duration::from_secs(5)).is_ok() {
                return Ok(address);
            }
        }
        Err(format!("nothing accepts connections on {host}:{port}"))
    }

    fn fetch_priors(&self, accession: &str) -> FetchSummary {
        match &self.ingest {
            Some(ingest) => {
                crate::dicom::priors::fetch_for_exam(&self.data.database(), ingest, accession)
            }
            None => FetchSummary {
                problems: vec!["the archive services are not running".into()],
                ..FetchSummary::default()
            },
        }
    }

    fn count_files(&self, paths: &[PathBuf]) -> usize {
        crate::import::count_files(paths)
    }

    fn import(&self, paths: &[PathBuf], progress: &mut dyn FnMut(usize)) -> ImportSummary {
        match &self.ingest {
            Some(ingest) => {
                crate::import::import_paths_reporting(ingest, paths, &mut |done, _| progress(done))
            }
            None => lightbox_ui::NoServices.import(paths, progress),
        }
    }

    fn archiver(&self) -> Option<&dyn ObjectArchiver> {
        self.ingest.as_ref().map(|i| i as &dyn ObjectArchiver)
    }
}

/// Opens the window with the services running in the background of this process.
pub fn run(data: DataFolder, clock: crate::clock::Clock) -> anyhow::Result<()> {
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
        .open_practice()
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
    let practice = data.open_practice()?;
    let window_services = Arc::new(ServicesForWindow::new(
        &data,
        services.as_ref().map(|s| s.archive.ingest.clone()),
    ));
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Lightbox")
            .with_inner_size([1280.0, 800.0]),
        wgpu_options: lightbox_ui::window_wgpu_options(),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Lightbox",
        options,
        Box::new(move |cc| {
            if let Ok(mut guard) = repaint.lock() {
                *guard = Some(cc.egui_ctx.clone());
            }
            let mut app = LightboxApp::new(practice, receiver, status)?
                .with_clock(clock)
                .with_services(window_services);
            if let Some(screen) = cc.wgpu_render_state.clone() {
                app = app.with_render_state(screen);
            }
            Ok(Box::new(app))
        }),
    );
    if let Some(s) = services {
        s.stop();
    }
    drop(runtime);
    result.map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}
