//! `lightbox service install|uninstall|status`: the practice server as an operating-system
//! service, so the DICOM, HL7 and API listeners run from boot with nobody signed in — a
//! systemd unit on Linux, a launchd daemon on macOS, a Windows service (through the
//! `service-manager` crate; on Windows the server answers the service control manager itself,
//! see [`host`]). The service runs `lightbox serve`, whose data lives in the
//! machine-wide folder unless `--data-dir` is given.

pub mod host;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use service_manager::{
    RestartPolicy, ServiceInstallCtx, ServiceLabel, ServiceLevel, ServiceManager,
    ServiceManagerKind, ServiceStartCtx, ServiceStatus, ServiceStatusCtx, ServiceStopCtx,
    ServiceUninstallCtx,
};

/// `lightbox service …`.
#[derive(Subcommand)]
pub enum ServiceAction {
    /// Install and start the practice server as a service of this computer (run as
    /// administrator / root). `--data-dir` given before `service` is passed on to it.
    Install {
        /// DICOM port (default: the stored setting, else 11112).
        #[arg(long)]
        dicom_port: Option<u16>,
        /// HL7 MLLP port (default: the stored setting, else 2575).
        #[arg(long)]
        hl7_port: Option<u16>,
        /// HTTPS port of the workstations' API.
        #[arg(long, default_value_t = lightbox::api::DEFAULT_API_PORT)]
        api_port: u16,
        /// Print what would be installed and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop the service and remove it (the data stays).
    Uninstall,
    /// Whether the service is installed and running.
    Status,
}

/// The service's name: `lightbox-server` for systemd, `org.lightbox.server` for launchd and
/// Windows.
pub fn label() -> ServiceLabel {
    ServiceLabel {
        qualifier: Some("org".into()),
        organization: Some("lightbox".into()),
        application: "server".into(),
    }
}

/// The service manager of this platform, at system level (a service for every user).
fn manager() -> anyhow::Result<Box<dyn ServiceManager>> {
    #[cfg(target_os = "linux")]
    let kind = ServiceManagerKind::Systemd;
    #[cfg(target_os = "macos")]
    let kind = ServiceManagerKind::Launchd;
    #[cfg(windows)]
    let kind = ServiceManagerKind::Sc;
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    let kind = ServiceManagerKind::native().context("no known service manager on this system")?;
    let mut manager = <dyn ServiceManager>::target_or_native(kind)
        .context("cannot reach this computer's service manager")?;
    manager
        .set_level(ServiceLevel::System)
        .context("a system service needs administrator rights")?;
    Ok(manager)
}

/// Whether the service manager runs on this computer (installed is not enough: a container
/// has systemctl without systemd). systemd's own test: `/run/systemd/system` exists.
fn service_manager_running() -> bool {
    #[cfg(target_os = "linux")]
    {
        Path::new("/run/systemd/system").is_dir()
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// The arguments the service starts `lightbox` with.
fn serve_arguments(
    data_dir: Option<&Path>,
    dicom_port: Option<u16>,
    hl7_port: Option<u16>,
    api_port: u16,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if let Some(dir) = data_dir {
        args.push("--data-dir".into());
        args.push(dir.as_os_str().to_owned());
    }
    args.push("serve".into());
    if let Some(port) = dicom_port {
        args.extend(["--dicom-port".into(), port.to_string().into()]);
    }
    if let Some(port) = hl7_port {
        args.extend(["--hl7-port".into(), port.to_string().into()]);
    }
    args.extend(["--api-port".into(), api_port.to_string().into()]);
    if cfg!(windows) {
        // Started by the service control manager, the server answers it.
        args.push("--windows-service".into());
    }
    args
}

/// The systemd unit: restarted after a failure, after the network is up, stopped with
/// SIGTERM (the server finishes what it received and closes the store), and with the
/// hardening a server reading from the network should have.
#[cfg(target_os = "linux")]
fn systemd_unit(program: &Path, args: &[OsString]) -> String {
    let quoted = |s: &std::ffi::OsStr| {
        let text = s.to_string_lossy();
        if text.contains([' ', '"', '\\']) {
            format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
        } else {
            text.into_owned()
        }
    };
    let command = std::iter::once(quoted(program.as_os_str()))
        .chain(args.iter().map(|a| quoted(a)))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "[Unit]
Description=Lightbox practice server (DICOM, HL7, workstations' API)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart={command}
Restart=on-failure
RestartSec=5
KillSignal=SIGTERM
TimeoutStopSec=30
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
ProtectHome=read-only

[Install]
WantedBy=multi-user.target
"
    )
}

/// What the service definition is, as `--dry-run` prints it.
fn definition(program: &Path, args: &[OsString]) -> String {
    #[cfg(target_os = "linux")]
    {
        systemd_unit(program, args)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let command = std::iter::once(program.display().to_string())
            .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(" ");
        format!("service {}: {command}\n", label().to_qualified_name())
    }
}

/// Runs `lightbox service …`; `data_dir` is the global `--data-dir`, if one was given.
pub fn run(action: ServiceAction, data_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    match action {
        ServiceAction::Install {
            dicom_port,
            hl7_port,
            api_port,
            dry_run,
        } => {
            let program: PathBuf =
                std::env::current_exe().context("cannot tell where this program is")?;
            let args = serve_arguments(data_dir, dicom_port, hl7_port, api_port);
            if dry_run {
                print!("{}", definition(&program, &args));
                return Ok(ExitCode::SUCCESS);
            }
            let manager = manager()?;
            if !manager.available().unwrap_or(false) || !service_manager_running() {
                bail!(
                    "this computer's service manager is not running here (systemd, launchd or \
                     the Windows service control manager); start `lightbox serve` another way"
                );
            }
            #[cfg(target_os = "linux")]
            let contents = Some(systemd_unit(&program, &args));
            #[cfg(not(target_os = "linux"))]
            let contents = None;
            manager
                .install(ServiceInstallCtx {
                    label: label(),
                    program,
                    args,
                    contents,
                    username: None,
                    working_directory: None,
                    environment: None,
                    autostart: true,
                    restart_policy: RestartPolicy::OnFailure {
                        delay_secs: Some(5),
                        max_retries: None,
                        reset_after_secs: None,
                    },
                })
                .context("the service was not installed (run as administrator / root)")?;
            manager
                .start(ServiceStartCtx { label: label() })
                .context("the service was installed but did not start; see its log")?;
            println!(
                "service {} installed and started; it starts with the computer",
                label().to_script_name()
            );
            Ok(ExitCode::SUCCESS)
        }
        ServiceAction::Uninstall => {
            let manager = manager()?;
            // Stopping a service that is not running is not an error worth stopping for.
            if let Err(e) = manager.stop(ServiceStopCtx { label: label() }) {
                tracing::info!(error = %e, "the service was not running");
            }
            manager
                .uninstall(ServiceUninstallCtx { label: label() })
                .context("the service was not removed (run as administrator / root)")?;
            println!(
                "service {} removed; the practice's data stays where it was",
                label().to_script_name()
            );
            Ok(ExitCode::SUCCESS)
        }
        ServiceAction::Status => {
            if !service_manager_running() {
                println!(
                    "service {}: not installed (this computer's service manager is not running)",
                    label().to_script_name()
                );
                return Ok(ExitCode::from(4));
            }
            let manager = manager()?;
            let status = manager.status(ServiceStatusCtx { label: label() });
            let name = label().to_script_name();
            match status {
                Ok(ServiceStatus::Running) => {
                    println!("service {name}: running");
                    Ok(ExitCode::SUCCESS)
                }
                Ok(ServiceStatus::Stopped(why)) => {
                    println!(
                        "service {name}: installed, stopped{}",
                        why.map(|w| format!(" ({w})")).unwrap_or_default()
                    );
                    Ok(ExitCode::from(3))
                }
                Ok(ServiceStatus::NotInstalled) => {
                    println!("service {name}: not installed");
                    Ok(ExitCode::from(4))
                }
                Err(e) => {
                    let why = e.to_string();
                    let first = why.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                    println!("service {name}: cannot tell: the service manager said {first:?}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_runs_serve_with_the_data_folder_and_ports_it_was_installed_with() {
        let args = serve_arguments(Some(Path::new("/srv/Lightbox data")), Some(104), None, 9443);
        let text: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            &text[..6],
            [
                "--data-dir",
                "/srv/Lightbox data",
                "serve",
                "--dicom-port",
                "104",
                "--api-port"
            ]
        );
        assert_eq!(text[6], "9443");
        #[cfg(target_os = "linux")]
        {
            let unit = systemd_unit(Path::new("/usr/bin/lightbox"), &args);
            assert!(
                unit.contains(
                    "ExecStart=/usr/bin/lightbox --data-dir \"/srv/Lightbox data\" serve"
                ),
                "{unit}"
            );
        }
    }
}
