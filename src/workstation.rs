//! The workstation wiring: the window of a practice server's workstation. It runs no services
//! of its own: its `Practice` forwards every call to the server over HTTPS
//! ([`lightbox_services::workstation::ServerLink`]), the screens follow the server's event
//! stream, and images come over DICOMweb into a cache in the workstation's folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
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
/// named), else a new one made with `code` and kept; `None` when there is neither (the
/// window then asks for a code).
pub fn paired_server(
    folder: &Path,
    server: Option<&str>,
    code: Option<&str>,
) -> anyhow::Result<Option<PairedServer>> {
    let kept = PairedServer::load(folder)?;
    let same = |k: &PairedServer| {
        server.is_none_or(|s| s.trim().trim_end_matches('/') == k.server.trim_end_matches('/'))
    };
    match (kept, code) {
        (Some(k), None) if same(&k) => Ok(Some(k)),
        (_, Some(code)) => {
            let server =
                server.context("pairing needs the server's address: --server https://HOST:PORT")?;
            let paired = pair(server, code)?;
            paired.save(folder)?;
            eprintln!(
                "Paired with {} as \"{}\"; this computer opens it from now on.",
                paired.server, paired.name
            );
            Ok(Some(paired))
        }
        (kept, None) => {
            if let Some(k) = kept {
                tracing::info!(paired = %k.server, asked = server.unwrap_or(""), "paired with another server: asking for a code");
            }
            Ok(None)
        }
    }
}

/// A workstation's window services: what it imports goes to the practice server (STOW-RS into
/// the server's ingest, the same checks as a scanner's images; saved marks are made and
/// archived by the server through the `Practice` call); the network services themselves
/// (echo, HL7, priors from other sites) run on the server.
pub struct WorkstationServices {
    link: Arc<ServerLink>,
    elsewhere: lightbox_ui::ServicesElsewhere,
}

impl WorkstationServices {
    /// The services of a workstation over `link`; `api` is the server's API for pairing
    /// further workstations (or why not).
    pub fn new(
        link: Arc<ServerLink>,
        api: Result<lightbox_ui::WorkstationApi, String>,
    ) -> WorkstationServices {
        let server = lightbox_domain::practice::remote::PracticeLink::server(link.as_ref());
        WorkstationServices {
            link,
            elsewhere: lightbox_ui::ServicesElsewhere {
                why: format!("this is a workstation: that runs on the practice server ({server})"),
                api,
            },
        }
    }
}

impl WindowServices for WorkstationServices {
    fn archive_running(&self) -> bool {
        true
    }

    fn echo(
        &self,
        node: &lightbox_domain::records::nodes::DicomNode,
        calling_ae: &str,
    ) -> Result<std::time::Duration, String> {
        self.elsewhere.echo(node, calling_ae)
    }

    fn reach_hl7(&self, host: &str, port: u16) -> Result<std::net::SocketAddr, String> {
        self.elsewhere.reach_hl7(host, port)
    }

    fn fetch_priors(&self, accession: &str) -> lightbox_domain::viewing::FetchSummary {
        self.link.fetch_priors(accession)
    }

    fn count_files(&self, paths: &[PathBuf]) -> usize {
        crate::import::count_files(paths)
    }

    fn import(
        &self,
        paths: &[PathBuf],
        progress: &mut dyn FnMut(usize),
    ) -> lightbox_domain::archive::ImportSummary {
        crate::import::import_paths_reporting(
            self.link.import_destination(),
            paths,
            &mut |done, _| progress(done),
        )
    }

    fn archiver(&self) -> Option<&dyn lightbox_domain::archive::received::ObjectArchiver> {
        None
    }

    fn workstation_api(&self) -> Result<lightbox_ui::WorkstationApi, String> {
        self.elsewhere.workstation_api()
    }
}

/// The workstation's window: the pairing form until this computer is paired, then the
/// practice's screens over the server.
enum Stage {
    Pairing(lightbox_ui::PairingScreen),
    Open(Box<LightboxApp>),
    /// Paired, but the window could not be made (said once in the log and on screen).
    Failed(String),
}

struct WorkstationWindow {
    stage: Stage,
    folder: PathBuf,
    clock: crate::clock::Clock,
    render_state: Option<eframe::egui_wgpu::RenderState>,
    context: egui::Context,
    /// The services' event channel the window listens on stays open and quiet here: a
    /// workstation runs no services (the server's changes come through the link).
    quiet: Vec<events::EventSender>,
}

impl WorkstationWindow {
    /// The practice's screens over the server `paired` describes.
    fn open(&mut self, paired: PairedServer) -> anyhow::Result<LightboxApp> {
        let server = paired.server.clone();
        let api = paired
            .ca_fingerprint()
            .map(|ca_fingerprint| lightbox_ui::WorkstationApi {
                address: server.clone(),
                ca_fingerprint,
            })
            .map_err(|e| e.to_string());
        let link = Arc::new(ServerLink::new(paired)?);
        let link_for_services = link.clone();
        let context = self.context.clone();
        link.on_change(Arc::new(move || context.request_repaint()));
        let practice =
            lightbox_domain::Practice::remote(link, &self.folder).with_context(|| {
                format!(
                    "cannot prepare the workstation folder {}",
                    self.folder.display()
                )
            })?;
        let (quiet, receiver) = events::channel(1, None);
        self.quiet.push(quiet);
        let services: Arc<dyn WindowServices> =
            Arc::new(WorkstationServices::new(link_for_services, api));
        let mut app = LightboxApp::new(practice, receiver, format!("Workstation of {server}"))?
            .with_clock(self.clock)
            .with_services(services);
        if let Some(screen) = self.render_state.clone() {
            app = app.with_render_state(screen);
        }
        Ok(app)
    }
}

impl eframe::App for WorkstationWindow {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let paired = match &mut self.stage {
            Stage::Open(app) => return eframe::App::ui(app.as_mut(), ui, frame),
            Stage::Failed(why) => {
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.colored_label(ui.visuals().error_fg_color, why.as_str());
                });
                return;
            }
            Stage::Pairing(form) => form.show(ui),
        };
        if paired.is_some() {
            let opened = PairedServer::load(&self.folder)
                .map_err(anyhow::Error::from)
                .and_then(|p| p.context("the pairing was not kept"))
                .and_then(|p| self.open(p));
            self.stage = match opened {
                Ok(app) => Stage::Open(Box::new(app)),
                Err(e) => {
                    tracing::error!(error = %e, "the workstation's window could not open");
                    Stage::Failed(format!("Paired, but the window could not open: {e:#}"))
                }
            };
        }
    }
}

/// Opens the workstation's window: on the server this computer is paired with, or — when it
/// is not paired yet — on the pairing form, with `server` filled in.
pub fn run(
    folder: &Path,
    paired: Option<PairedServer>,
    server: &str,
    clock: crate::clock::Clock,
) -> anyhow::Result<()> {
    let title = match &paired {
        Some(p) => format!("Lightbox · {}", p.server),
        None => "Lightbox · pair this workstation".to_string(),
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size([1280.0, 800.0]),
        wgpu_options: lightbox_ui::window_wgpu_options(),
        ..Default::default()
    };
    let folder = folder.to_path_buf();
    let server = server.to_string();
    eframe::run_native(
        "Lightbox",
        options,
        Box::new(move |cc| {
            let mut window = WorkstationWindow {
                stage: Stage::Failed(String::new()),
                folder: folder.clone(),
                clock,
                render_state: cc.wgpu_render_state.clone(),
                context: cc.egui_ctx.clone(),
                quiet: Vec::new(),
            };
            window.stage = match paired {
                Some(p) => Stage::Open(Box::new(window.open(p)?)),
                None => {
                    let keep_in = folder.clone();
                    let pair_with: lightbox_ui::PairWith = Arc::new(move |server, code| {
                        let paired = pair(server, code).map_err(|e| e.to_string())?;
                        paired.save(&keep_in).map_err(|e| e.to_string())?;
                        Ok(paired.name)
                    });
                    Stage::Pairing(lightbox_ui::PairingScreen::new(&server, pair_with))
                }
            };
            Ok(Box::new(window))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}
