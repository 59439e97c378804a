//! The workstation wiring: the window of a practice server's workstation. It runs no services
//! of its own: its `Practice` forwards every call to the server over HTTPS
//! ([`lightbox_services::workstation::ServerLink`]), the screens follow the server's event
//! stream, and images come over DICOMweb into a cache in the workstation's folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lightbox_domain::archive::ImportSummary;
use lightbox_domain::archive::received::ObjectArchiver;
use lightbox_domain::records::nodes::DicomNode;
use lightbox_domain::viewing::FetchSummary;
pub use lightbox_services::workstation::{PairedServer, PairingError, ServerLink, pair};
use lightbox_ui::{LightboxApp, WindowServices};

use crate::events;

/// The folder a workstation keeps its pairing, image cache and exports in: `--data-dir`, else
/// `workstation` inside the per-user data folder (beside, never inside, a practice of its own).
pub fn folder(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p.to_path_buf()),
        None => Ok(crate::app::DataFolder::resolve(None)?
            .root()
            .join("workstation")),
    }
}

/// Whether `folder` holds a pairing (plain `lightbox` then opens the workstation again).
pub fn is_paired(folder: &Path) -> bool {
    matches!(PairedServer::load(folder), Ok(Some(_)))
}

/// The pairing to use: the one kept in `folder` when it is with `server` (or no server was
/// named), else a new one made with `code` and kept.
pub fn paired_server(
    folder: &Path,
    server: Option<&str>,
    code: Option<&str>,
) -> anyhow::Result<PairedServer> {
    let kept = PairedServer::load(folder)?;
    let same = |k: &PairedServer| {
        server.is_none_or(|s| s.trim().trim_end_matches('/') == k.server.trim_end_matches('/'))
    };
    match (kept, code) {
        (Some(k), None) if same(&k) => Ok(k),
        (_, Some(code)) => {
            let server =
                server.context("pairing needs the server's address: --server https://HOST:PORT")?;
            let paired = pair(server, code)?;
            paired.save(folder)?;
            eprintln!(
                "Paired with {} as \"{}\"; this computer opens it from now on.",
                paired.server, paired.name
            );
            Ok(paired)
        }
        (kept, None) => anyhow::bail!(
            "this computer is not paired with {}{}: on the server, open Settings → Workstations \
             (or run `lightbox workstations pair --name NAME`) and start again with \
             --pairing-code CODE",
            server.unwrap_or("a practice server"),
            kept.map(|k| format!(" (it is paired with {})", k.server))
                .unwrap_or_default()
        ),
    }
}

/// The window's requests on a workstation: the network services run on the server.
struct ServerServices {
    server: String,
}

impl ServerServices {
    fn elsewhere(&self) -> String {
        format!(
            "this is a workstation: that runs on the practice server ({})",
            self.server
        )
    }
}

impl WindowServices for ServerServices {
    fn archive_running(&self) -> bool {
        false
    }

    fn echo(&self, _node: &DicomNode, _calling_ae: &str) -> Result<Duration, String> {
        Err(self.elsewhere())
    }

    fn reach_hl7(&self, _host: &str, _port: u16) -> Result<SocketAddr, String> {
        Err(self.elsewhere())
    }

    fn fetch_priors(&self, _accession: &str) -> FetchSummary {
        FetchSummary {
            problems: vec![self.elsewhere()],
            ..FetchSummary::default()
        }
    }

    fn count_files(&self, _paths: &[PathBuf]) -> usize {
        0
    }

    fn import(&self, paths: &[PathBuf], _progress: &mut dyn FnMut(usize)) -> ImportSummary {
        ImportSummary {
            refused: paths
                .iter()
                .map(|p| (p.clone(), self.elsewhere()))
                .collect(),
            ..ImportSummary::default()
        }
    }

    fn archiver(&self) -> Option<&dyn ObjectArchiver> {
        None
    }

    fn workstation_api(&self) -> Result<lightbox_ui::WorkstationApi, String> {
        Err(self.elsewhere())
    }
}

/// Opens the workstation's window on the server `paired` describes.
pub fn run(folder: &Path, paired: PairedServer, clock: crate::clock::Clock) -> anyhow::Result<()> {
    let server = paired.server.clone();
    let link = Arc::new(ServerLink::new(paired)?);
    let repaint: Arc<std::sync::Mutex<Option<egui::Context>>> =
        Arc::new(std::sync::Mutex::new(None));
    let repaint2 = repaint.clone();
    link.on_change(Arc::new(move || {
        if let Ok(guard) = repaint2.lock()
            && let Some(ctx) = guard.as_ref()
        {
            ctx.request_repaint();
        }
    }));
    let practice = lightbox_domain::Practice::remote(link, folder)
        .with_context(|| format!("cannot prepare the workstation folder {}", folder.display()))?;
    // No services here: the channel stays quiet (the server's changes arrive through the
    // link's event stream).
    let (_quiet, receiver) = events::channel(1, None);
    let status = format!("Workstation of {server}");
    let services: Arc<dyn WindowServices> = Arc::new(ServerServices {
        server: server.clone(),
    });
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(format!("Lightbox · {server}"))
            .with_inner_size([1280.0, 800.0]),
        wgpu_options: lightbox_ui::window_wgpu_options(),
        ..Default::default()
    };
    eframe::run_native(
        "Lightbox",
        options,
        Box::new(move |cc| {
            if let Ok(mut guard) = repaint.lock() {
                *guard = Some(cc.egui_ctx.clone());
            }
            let mut app = LightboxApp::new(practice, receiver, status)?
                .with_clock(clock)
                .with_services(services);
            if let Some(screen) = cc.wgpu_render_state.clone() {
                app = app.with_render_state(screen);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}
