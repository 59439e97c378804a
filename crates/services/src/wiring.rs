//! Wiring: where the data folder is, opening the practice in it, and starting the background
//! services that both the desktop window and `lightbox serve` run. The database is opened here
//! for the services only; front ends get the Practice API ([`DataFolder::open_practice`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;

use crate::archive::ArchiveFolder;
use crate::archive::durability::{self, DurabilitySyncer};
use crate::archive::ingest::Ingest;
use crate::dicom::scp::{self, DicomConfig, DicomContext};
use crate::events::{EventSender, ServiceEvent};
use crate::health::HealthBoard;
use crate::settings::{
    FIND_LIMIT_SETTING, HL7_IDLE_TIMEOUT_SETTING, HL7_MAX_MESSAGE_SETTING, IDLE_TIMEOUT_SETTING,
    MAX_INSTANCE_SETTING, MAX_PDU_SETTING,
};
pub use crate::site::*;
use crate::store::Store;

/// Checks a setting's value before it is stored (see [`crate::settings`]).
pub fn validate_setting(key: &str, value: &str) -> anyhow::Result<()> {
    crate::settings::validate(key, value).map_err(anyhow::Error::msg)
}

/// The practice's data folder: the database and the archive.
#[derive(Debug, Clone)]
pub struct DataFolder {
    root: PathBuf,
}

impl DataFolder {
    /// `--data-dir` if given, else the OS's per-user data folder
    /// (`~/.local/share/lightbox` on Linux, `~/Library/Application Support/org.lightbox.Lightbox`
    /// on macOS, `%APPDATA%\lightbox\Lightbox\data` on Windows).
    pub fn resolve(explicit: Option<&Path>) -> anyhow::Result<DataFolder> {
        let root = match explicit {
            Some(p) => p.to_path_buf(),
            None => directories::ProjectDirs::from("org", "lightbox", "Lightbox")
                .map(|d| d.data_dir().to_path_buf())
                .context("cannot find a per-user data folder; pass --data-dir")?,
        };
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create the data folder {}", root.display()))?;
        Ok(DataFolder { root })
    }

    /// `--data-dir` if given, else the machine-wide folder a practice server keeps its data in
    /// whoever is signed in (or nobody): scanners send at 3 a.m. and every account of the PC
    /// must see one archive (`/var/lib/lightbox` on Linux, `/Library/Application
    /// Support/Lightbox` on macOS, `%ProgramData%\Lightbox` on Windows).
    pub fn resolve_for_server(explicit: Option<&Path>) -> anyhow::Result<DataFolder> {
        let root = match explicit {
            Some(p) => p.to_path_buf(),
            None => machine_wide_folder(),
        };
        std::fs::create_dir_all(&root).with_context(|| {
            format!(
                "cannot create the server's data folder {} (run the server as the service's \
                 account, e.g. `lightbox service install`, or pass --data-dir)",
                root.display()
            )
        })?;
        Ok(DataFolder { root })
    }

    /// For the command line: `--data-dir` if given, else the practice server's machine-wide
    /// folder when a server keeps its database there (an administrator on the server PC means
    /// that practice), else the per-user folder as for the desktop.
    pub fn resolve_for_command(explicit: Option<&Path>) -> anyhow::Result<DataFolder> {
        Self::resolve_for_command_with(explicit, &machine_wide_folder())
    }

    /// [`DataFolder::resolve_for_command`] with the server's folder given (tests).
    fn resolve_for_command_with(
        explicit: Option<&Path>,
        server: &Path,
    ) -> anyhow::Result<DataFolder> {
        if explicit.is_none() && server.join("lightbox.sqlite").is_file() {
            return Ok(DataFolder {
                root: server.to_path_buf(),
            });
        }
        DataFolder::resolve(explicit)
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite database file.
    pub fn database(&self) -> PathBuf {
        self.root.join("lightbox.sqlite")
    }

    /// The archive folder.
    pub fn archive(&self) -> PathBuf {
        self.root.join("archive")
    }

    /// Opens the practice (the Practice API over the database): what the window and the
    /// command line act through.
    pub fn open_practice(&self) -> anyhow::Result<lightbox_domain::Practice> {
        Ok(lightbox_domain::Practice::over(self.open_store()?))
    }

    /// Opens the store (creating and migrating it).
    pub(crate) fn open_store(&self) -> anyhow::Result<Store> {
        let store = Store::open(&self.database()).context("cannot open the Lightbox database")?;
        // A fresh store starts with the starter catalogue and one room per modality.
        crate::ris::seed_starter_data(&store).context("cannot load the starter catalogue")?;
        Ok(store)
    }
}

/// Where a practice server keeps its data on this platform.
#[cfg(target_os = "macos")]
fn machine_wide_folder() -> PathBuf {
    PathBuf::from("/Library/Application Support/Lightbox")
}

/// Where a practice server keeps its data on this platform.
#[cfg(windows)]
fn machine_wide_folder() -> PathBuf {
    std::env::var_os("ProgramData")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
        .join("Lightbox")
}

/// Where a practice server keeps its data on this platform.
#[cfg(not(any(target_os = "macos", windows)))]
fn machine_wide_folder() -> PathBuf {
    PathBuf::from("/var/lib/lightbox")
}

/// What `serve` (and the desktop window) were asked to listen on.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Overrides the stored AE title.
    pub ae_title: Option<String>,
    /// Overrides the stored DICOM port (0 = any free port).
    pub dicom_port: Option<u16>,
    /// Address to bind (default all interfaces).
    pub bind_ip: Option<IpAddr>,
    /// HL7 MLLP port (0 = any free port); None runs no HL7 listener.
    pub hl7_port: Option<u16>,
    /// Keep the DICOM services running when the HL7 port cannot be bound (the desktop: the
    /// window says so); `serve` fails instead, so a server never runs half-configured.
    pub hl7_optional: bool,
    /// Where the services take "now" from (orders booked by HL7, tomorrow's priors).
    pub clock: crate::clock::Clock,
}

/// The archive services without the network: ingest and the durability syncer.
pub struct ArchiveServices {
    /// Validates, writes and indexes objects.
    pub ingest: Ingest,
    /// Syncs to stable storage in batches.
    pub syncer: DurabilitySyncer,
    /// Where the services report their state.
    pub health: HealthBoard,
}

impl ArchiveServices {
    /// Opens the archive, recovers from an interrupted run, and starts the writer threads
    /// (for a command such as `import`: their state is not recorded for `lightbox status`).
    pub fn start(data: &DataFolder) -> anyhow::Result<ArchiveServices> {
        ArchiveServices::start_reporting(data, HealthBoard::new(None))
    }

    /// Like [`ArchiveServices::start`], reporting the services' state to `health`.
    pub fn start_reporting(
        data: &DataFolder,
        health: HealthBoard,
    ) -> anyhow::Result<ArchiveServices> {
        let archive =
            ArchiveFolder::open(&data.archive()).context("cannot open the archive folder")?;
        let mut store = data.open_store()?;
        let removed = durability::recover_unsynced(&archive, &mut store)
            .context("cannot check the archive after the last run")?;
        if removed > 0 {
            tracing::warn!(
                removed,
                "index rows without a complete file removed after an interrupted run"
            );
        }
        let ingest = Ingest::start(archive.clone(), &data.database(), health.clone())?;
        let syncer = DurabilitySyncer::start(archive, &data.database(), health.clone())?;
        Ok(ArchiveServices {
            ingest,
            syncer,
            health,
        })
    }
}

/// Running background services; dropping it stops them.
pub struct RunningServices {
    /// Where the DICOM listener listens.
    pub dicom_addr: SocketAddr,
    /// Where the HL7 listener listens, if it runs.
    pub hl7_addr: Option<SocketAddr>,
    /// Why the HL7 listener is not running when it was asked for (desktop only).
    pub hl7_error: Option<String>,
    /// Our AE title.
    pub ae_title: String,
    shutdown: watch::Sender<bool>,
    /// The archive services (kept alive while running).
    pub archive: ArchiveServices,
    /// Where every service reports its state.
    pub health: HealthBoard,
}

impl RunningServices {
    /// Stops accepting new associations.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// Starts the archive and the DICOM listener on the current tokio runtime.
pub async fn start_services(
    data: &DataFolder,
    options: &ServeOptions,
    events: EventSender,
) -> anyhow::Result<RunningServices> {
    let store = data.open_store()?;
    let ae_title = match &options.ae_title {
        Some(ae) => ae.clone(),
        None => store
            .setting(AE_TITLE_SETTING)?
            .unwrap_or_else(|| DEFAULT_AE_TITLE.to_string()),
    };
    if ae_title.is_empty() || ae_title.len() > 16 {
        anyhow::bail!("the AE title must be 1 to 16 characters, not {ae_title:?}");
    }
    let port = match options.dicom_port {
        Some(p) => p,
        None => store
            .setting(DICOM_PORT_SETTING)?
            .and_then(|p| p.parse().ok())
            .unwrap_or(DEFAULT_DICOM_PORT),
    };
    let number = |key: &str| -> anyhow::Result<Option<u64>> {
        Ok(store.setting(key)?.and_then(|v| v.parse::<u64>().ok()))
    };
    let defaults = DicomConfig::default();
    let config = DicomConfig {
        ae_title: ae_title.clone(),
        idle_timeout: number(IDLE_TIMEOUT_SETTING)?
            .map(std::time::Duration::from_secs)
            .unwrap_or(defaults.idle_timeout),
        max_pdu_bytes: number(MAX_PDU_SETTING)?
            .map(|v| v.clamp(4096, 16_777_216) as u32)
            .unwrap_or(defaults.max_pdu_bytes),
        max_dataset_bytes: number(MAX_INSTANCE_SETTING)?
            .map(|mib| (mib as usize).saturating_mul(1 << 20))
            .unwrap_or(defaults.max_dataset_bytes),
        find_limit: number(FIND_LIMIT_SETTING)?
            .map(|n| n as usize)
            .unwrap_or(defaults.find_limit),
        max_associations: number(scp::MAX_ASSOCIATIONS_SETTING)?
            .map(|n| n as usize)
            .unwrap_or(defaults.max_associations),
    };
    let hl7_idle_secs = number(HL7_IDLE_TIMEOUT_SETTING)?.unwrap_or(600).max(1);
    let hl7_max_mib = number(HL7_MAX_MESSAGE_SETTING)?.unwrap_or(16).clamp(1, 256);
    let hl7_max_connections = number(crate::hl7::listener::MAX_CONNECTIONS_SETTING)?
        .map(|n| n as usize)
        .unwrap_or(crate::hl7::listener::DEFAULT_MAX_CONNECTIONS);
    let hl7_max_buffered_mib = number(crate::hl7::listener::MAX_BUFFERED_SETTING)?
        .map(|n| n as usize)
        .unwrap_or(crate::hl7::listener::DEFAULT_MAX_BUFFERED_MIB);
    let stored_bind = store
        .setting(BIND_ADDRESS_SETTING)?
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    drop(store);
    let health = HealthBoard::new(Some(data.database()));
    let archive = ArchiveServices::start_reporting(data, health.clone())?;
    let bind_ip = options
        .bind_ip
        .or(stored_bind)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let (listener, dicom_addr) = scp::bind(SocketAddr::new(bind_ip, port))
        .await
        .with_context(|| {
            format!(
                "cannot listen for DICOM on {bind_ip} port {port} (is another program using it?)"
            )
        })?;
    let ctx = Arc::new(DicomContext::new(
        config,
        data.database(),
        archive.ingest.clone(),
        events.clone(),
        archive.syncer.rounds(),
    ));
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut hl7_error = None;
    let hl7_addr = match options.hl7_port {
        Some(port) => {
            let bound = crate::hl7::listener::bind(SocketAddr::new(bind_ip, port))
                .await
                .with_context(|| {
                    format!("cannot listen for HL7 on {bind_ip} port {port} (is another program using it?)")
                });
            match bound {
                Ok((hl7_listener, addr)) => {
                    let config = crate::hl7::listener::Hl7Config {
                        database: data.database(),
                        archive: Some(data.archive()),
                        idle_timeout: std::time::Duration::from_secs(hl7_idle_secs),
                        max_message_bytes: (hl7_max_mib as usize).saturating_mul(1 << 20),
                        clock: options.clock,
                        max_connections: hl7_max_connections,
                        max_buffered_bytes: hl7_max_buffered_mib.saturating_mul(1 << 20),
                        health: health.clone(),
                    };
                    tokio::spawn(crate::hl7::listener::serve(
                        hl7_listener,
                        config,
                        shutdown_rx.clone(),
                    ));
                    Some(addr)
                }
                Err(e) if options.hl7_optional => {
                    tracing::error!(error = %format!("{e:#}"), "HL7 listener not started");
                    health.failed(
                        crate::hl7::listener::LISTENER_SERVICE,
                        &format!("{e:#}"),
                        false,
                    );
                    hl7_error = Some(format!("{e:#}"));
                    None
                }
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    // Outbound HL7 runs wherever the services run (desktop or serve): reports and status go
    // out even when no inbound listener is configured.
    let sender_config = crate::hl7::sender::SenderConfig {
        database: data.database(),
        poll: std::time::Duration::from_millis(250),
        clock: options.clock,
    };
    let sender_shutdown = shutdown_rx.clone();
    crate::health::supervise_task(
        health.clone(),
        crate::hl7::sender::SENDER_SERVICE,
        "sending queued messages to the destinations".into(),
        move || crate::hl7::sender::run(sender_config.clone(), sender_shutdown.clone()),
    );
    // Tomorrow's patients' priors come from the prior nodes ahead of time.
    if let Err(e) = crate::dicom::priors::spawn_prefetcher(
        data.database(),
        archive.ingest.clone(),
        options.clock,
        shutdown_rx.clone(),
        health.clone(),
    ) {
        tracing::error!(error = %e, "the prior prefetcher could not start");
    }
    let listener = Arc::new(listener);
    let dicom_detail = format!("listening on {dicom_addr} as {ae_title}");
    health.listening(scp::LISTENER_SERVICE, dicom_addr, &dicom_detail);
    crate::health::supervise_task(
        health.clone(),
        scp::LISTENER_SERVICE,
        dicom_detail,
        move || scp::serve(listener.clone(), ctx.clone(), shutdown_rx.clone()),
    );
    events.send(ServiceEvent::DicomListening { addr: dicom_addr });
    Ok(RunningServices {
        dicom_addr,
        hl7_addr,
        hl7_error,
        ae_title,
        shutdown,
        archive,
        health,
    })
}

/// Waits for SIGINT or SIGTERM (Ctrl-C or Ctrl-Break on Windows).
pub async fn shutdown_signal() {
    tokio::select! {
        _ = operating_system_signal() => {}
        _ = shutdown_requested().notified() => {}
    }
}

/// Asked from inside the process to stop as on a signal: the Windows service control
/// manager's "stop" arrives this way, not as a signal.
pub fn request_shutdown() {
    shutdown_requested().notify_one();
}

fn shutdown_requested() -> &'static tokio::sync::Notify {
    static REQUESTED: std::sync::OnceLock<tokio::sync::Notify> = std::sync::OnceLock::new();
    REQUESTED.get_or_init(tokio::sync::Notify::new)
}

async fn operating_system_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod data_folder_tests {
    use super::*;

    #[test]
    fn the_command_line_follows_a_server_on_this_machine_and_data_dir_wins() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let server = dir.path().join("server");
        let mine = dir.path().join("mine");
        // No server database: --data-dir as given.
        let chosen = DataFolder::resolve_for_command_with(Some(&mine), &server).expect("folder");
        assert_eq!(chosen.root(), mine);
        std::fs::create_dir_all(&server).expect("server folder");
        std::fs::write(server.join("lightbox.sqlite"), b"").expect("database file");
        // A server keeps its database there: the command line means that practice ...
        let chosen = DataFolder::resolve_for_command_with(None, &server).expect("folder");
        assert_eq!(chosen.root(), server);
        // ... unless told otherwise.
        let chosen = DataFolder::resolve_for_command_with(Some(&mine), &server).expect("folder");
        assert_eq!(chosen.root(), mine);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_linux_server_keeps_its_data_in_var_lib() {
        assert_eq!(machine_wide_folder(), PathBuf::from("/var/lib/lightbox"));
    }
}
