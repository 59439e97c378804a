//! Wiring: where the data folder is, and starting the background services that both the
//! desktop window and `lightbox serve` run.

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
use crate::store::Store;

/// Setting: our AE title.
pub const AE_TITLE_SETTING: &str = "dicom.ae_title";
/// Setting: our DICOM port.
pub const DICOM_PORT_SETTING: &str = "dicom.port";
/// Setting: seconds an association may stay silent before it is aborted.
pub const IDLE_TIMEOUT_SETTING: &str = "dicom.idle_timeout_secs";
/// Setting: largest PDU we accept, in bytes.
pub const MAX_PDU_SETTING: &str = "dicom.max_pdu_bytes";
/// Setting: largest single instance we accept, in MiB.
pub const MAX_INSTANCE_SETTING: &str = "dicom.max_instance_mib";
/// Setting: most answers one C-FIND returns.
pub const FIND_LIMIT_SETTING: &str = "dicom.find_limit";
/// Default AE title.
pub const DEFAULT_AE_TITLE: &str = "LIGHTBOX";
/// Default DICOM port.
pub const DEFAULT_DICOM_PORT: u16 = 11112;

/// Checks a setting's value before it is stored, so a typo cannot stop the services.
pub fn validate_setting(key: &str, value: &str) -> anyhow::Result<()> {
    use crate::pacs::admission::{
        ALLOW_UNKNOWN_COMMITMENT, ALLOW_UNKNOWN_MPPS, ALLOW_UNKNOWN_QUERY, ALLOW_UNKNOWN_STORE,
    };
    match key {
        AE_TITLE_SETTING => {
            if value.is_empty() || value.len() > 16 || value.contains('\\') || !value.is_ascii() {
                anyhow::bail!("an AE title is 1 to 16 ASCII characters without backslash");
            }
        }
        DICOM_PORT_SETTING | HL7_PORT_SETTING => {
            value
                .parse::<u16>()
                .map_err(|_| anyhow::anyhow!("a port is a number from 0 to 65535"))?;
        }
        IDLE_TIMEOUT_SETTING | FIND_LIMIT_SETTING | MAX_INSTANCE_SETTING => {
            let n: u64 = value
                .parse()
                .map_err(|_| anyhow::anyhow!("{key} is a whole number"))?;
            if n == 0 {
                anyhow::bail!("{key} must be at least 1");
            }
        }
        BIND_ADDRESS_SETTING => {
            value.trim().parse::<IpAddr>().map_err(|_| {
                anyhow::anyhow!("{key} is an IP address such as 0.0.0.0 or 192.168.1.10")
            })?;
        }
        crate::hl7::listener::MAX_CONNECTIONS_SETTING | scp::MAX_ASSOCIATIONS_SETTING => {
            let n: u64 = value
                .parse()
                .map_err(|_| anyhow::anyhow!("{key} is a whole number"))?;
            if !(1..=10_000).contains(&n) {
                anyhow::bail!("{key} must be between 1 and 10000");
            }
        }
        crate::hl7::listener::MAX_BUFFERED_SETTING => {
            let n: u64 = value
                .parse()
                .map_err(|_| anyhow::anyhow!("{key} is a whole number of MiB"))?;
            if !(1..=4096).contains(&n) {
                anyhow::bail!("{key} must be between 1 and 4096 MiB");
            }
        }
        MAX_PDU_SETTING => {
            let n: u32 = value
                .parse()
                .map_err(|_| anyhow::anyhow!("{key} is a whole number"))?;
            if !(4096..=16_777_216).contains(&n) {
                anyhow::bail!("{key} must be between 4096 and 16777216");
            }
        }
        k if k == ALLOW_UNKNOWN_STORE
            || k == ALLOW_UNKNOWN_QUERY
            || k == ALLOW_UNKNOWN_MPPS
            || k == ALLOW_UNKNOWN_COMMITMENT
            || k == crate::hl7::sources::ALLOW_UNKNOWN_ORDERS =>
        {
            if !matches!(
                value,
                "true" | "false" | "on" | "off" | "yes" | "no" | "1" | "0"
            ) {
                anyhow::bail!("{k} is on or off");
            }
        }
        crate::ris::WALK_IN_MODALITIES => {
            // A comma-separated list of DICOM modality codes (may be empty: no walk-ins).
            if !value
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .all(|m| {
                    m.len() <= 16
                        && m.chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                })
            {
                anyhow::bail!("{key} is a list of modality codes such as CR,DX");
            }
        }
        HL7_IDLE_TIMEOUT_SETTING
        | HL7_MAX_MESSAGE_SETTING
        | crate::hl7::sender::RETRY_INITIAL_SETTING
        | crate::hl7::sender::RETRY_MAX_SETTING => {
            let n: u64 = value
                .parse()
                .map_err(|_| anyhow::anyhow!("{key} is a whole number"))?;
            let range = match key {
                HL7_IDLE_TIMEOUT_SETTING => 1..=86_400,
                HL7_MAX_MESSAGE_SETTING => 1..=256,
                crate::hl7::sender::RETRY_INITIAL_SETTING => 10..=600_000,
                _ => 1..=86_400,
            };
            if !range.contains(&n) {
                anyhow::bail!(
                    "{key} must be between {} and {}",
                    range.start(),
                    range.end()
                );
            }
        }
        PRACTICE_NAME_SETTING => {
            if value.trim().is_empty() || value.chars().count() > 120 {
                anyhow::bail!("{key} is the practice's name, 1 to 120 characters");
            }
        }
        PRACTICE_ADDRESS_SETTING | PRACTICE_PHONE_SETTING => {
            if value.chars().count() > 200 {
                anyhow::bail!("{key} is at most 200 characters");
            }
        }
        LOCK_AFTER_SETTING => {
            let n: u64 = value
                .parse()
                .map_err(|_| anyhow::anyhow!("{key} is a whole number of minutes (0 = never)"))?;
            if n > 480 {
                anyhow::bail!("{key} must be between 0 (never) and 480 minutes");
            }
        }
        THEME_SETTING => {
            if !matches!(value, "light" | "dark") {
                anyhow::bail!("{key} is light or dark");
            }
        }
        crate::dicom::priors::PRIOR_NODES_SETTING => {
            if value.len() > 512 || value.contains(['\\', '\n']) {
                anyhow::bail!("{key} is a comma-separated list of DICOM node names");
            }
        }
        crate::viewing::CACHE_SETTING => {
            crate::viewing::parse_cache_mib(value).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
        }
        crate::viewing::overlay::OVERLAY_SETTING => {
            crate::viewing::overlay::check_fields(value)
                .map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
        }
        crate::viewing::presets::WINDOW_PRESETS_SETTING => {
            crate::viewing::presets::parse_presets(value).map_err(anyhow::Error::msg)?;
        }
        MRN_ISSUER_SETTING => {
            if value.trim().is_empty() || value.len() > 64 || value.contains('\\') {
                anyhow::bail!(
                    "{key} is the practice's assigning authority name, 1 to 64 characters"
                );
            }
        }
        other => anyhow::bail!("unknown setting {other:?}"),
    }
    Ok(())
}

/// Setting: the assigning authority (Issuer of Patient ID) of the practice MRN, sent to the
/// scanners with the worklist.
pub const MRN_ISSUER_SETTING: &str = "his.mrn_issuer";

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

    /// Opens the store (creating and migrating it).
    pub fn open_store(&self) -> anyhow::Result<Store> {
        let store = Store::open(&self.database()).context("cannot open the Lightbox database")?;
        // A fresh store starts with the starter catalogue and one room per modality.
        crate::ris::seed_starter_data(&store).context("cannot load the starter catalogue")?;
        Ok(store)
    }
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

/// Setting: the address the DICOM and HL7 listeners bind (default all interfaces: the
/// scanners and the EHR must reach them; a practice may name one network card).
pub const BIND_ADDRESS_SETTING: &str = "network.bind_address";

/// Setting: the HL7 MLLP port `lightbox serve` listens on (default 2575).
pub const HL7_PORT_SETTING: &str = "hl7.port";
/// Setting: the practice's name (window title, report header).
pub const PRACTICE_NAME_SETTING: &str = "practice.name";
/// Setting: the practice's address, printed under its name on reports and letters.
pub const PRACTICE_ADDRESS_SETTING: &str = "practice.address";
/// Setting: the practice's phone number, printed on reports and preparation sheets.
pub const PRACTICE_PHONE_SETTING: &str = "practice.phone";
/// Setting: minutes without input before the desktop locks (0 = never).
pub const LOCK_AFTER_SETTING: &str = "desktop.lock_after_minutes";
/// Default minutes before the desktop locks: a shared front-desk PC should not stay open.
pub const DEFAULT_LOCK_AFTER_MINUTES: u64 = 15;
/// Setting: `light` or `dark` theme for the desktop.
pub const THEME_SETTING: &str = "desktop.theme";
/// Setting: an HL7 connection silent this many seconds is closed (default 600).
pub const HL7_IDLE_TIMEOUT_SETTING: &str = "hl7.idle_timeout_secs";
/// Setting: the largest inbound HL7 message in MiB (default 16).
pub const HL7_MAX_MESSAGE_SETTING: &str = "hl7.max_message_mib";
/// The standard MLLP port.
pub const DEFAULT_HL7_PORT: u16 = 2575;

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
