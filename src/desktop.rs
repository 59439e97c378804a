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
    /// The workstations' API this process runs, or why it does not.
    api: Result<lightbox_ui::WorkstationApi, String>,
}

/// Why a desktop has no workstation API until one is asked for.
const API_OFF: &str = "the workstations' API is off on this PC: give it a port in \
                       Settings, Practice (e.g. 8443) and restart Lightbox";

impl ServicesForWindow {
    /// Over the services of `data`; `ingest` is the running archive's (None: not running).
    pub fn new(data: &DataFolder, ingest: Option<Ingest>) -> ServicesForWindow {
        ServicesForWindow {
            data: data.clone(),
            ingest,
            api: Err(API_OFF.into()),
        }
    }

    /// With the workstations' API running at `address` under the practice CA of `data`.
    pub fn with_api(mut self, address: std::net::SocketAddr) -> ServicesForWindow {
        self.api = crate::api::tls::PracticeTls::ensure(self.data.root())
            .and_then(|tls| tls.ca_fingerprint())
            .map(|ca_fingerprint| lightbox_ui::WorkstationApi {
                address: format!("https://{}:{}", host_name_for(address), address.port()),
                ca_fingerprint,
            })
            .map_err(|e| format!("the practice's certificate authority cannot be read: {e:#}"));
        self
    }

    /// With the API not running, for this reason.
    pub fn without_api(mut self, why: String) -> ServicesForWindow {
        self.api = Err(why);
        self
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

    fn workstation_api(&self) -> Result<lightbox_ui::WorkstationApi, String> {
        self.api.clone()
    }
}

/// How other PCs name this one: its host name when the API listens on every interface.
fn host_name_for(address: std::net::SocketAddr) -> String {
    if address.ip().is_unspecified() {
        crate::api::tls::host_name().unwrap_or_else(|| "this-pc".into())
    } else {
        address.ip().to_string()
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
    // The workstations' API, when the practice gave it a port (a one-PC practice needs none).
    let api_port = data
        .open_practice()
        .ok()
        .and_then(|p| p.setting(app::API_PORT_SETTING).ok().flatten())
        .and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|p| *p != 0);
    let mut window_services =
        ServicesForWindow::new(&data, services.as_ref().map(|s| s.archive.ingest.clone()));
    let mut status = status;
    let mut api = None;
    if let (Some(port), Some(running)) = (api_port, &services) {
        let started = runtime.block_on(async {
            let tls = crate::api::tls::PracticeTls::ensure(data.root())?;
            crate::api::ApiServer::start(
                SocketAddr::new(running.dicom_addr.ip(), port),
                data.open_practice()?,
                Some(running.archive.ingest.clone()),
                &tls,
            )
            .await
        });
        match started {
            Ok(server) => {
                status.push_str(&format!(" · API on {}", server.addr));
                window_services = window_services.with_api(server.addr);
                api = Some(server);
            }
            Err(e) => {
                status.push_str(&format!(" · API not listening: {e:#}"));
                window_services = window_services.without_api(format!("{e:#}"));
            }
        }
    }
    let practice = data.open_practice()?;
    let window_services = Arc::new(window_services);
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
    if let Some(api) = api {
        api.stop();
    }
    if let Some(s) = services {
        s.stop();
    }
    drop(runtime);
    result.map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}
