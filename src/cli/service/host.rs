//! Running `lightbox serve` under the operating system's service manager. systemd and launchd
//! start a plain program and stop it with SIGTERM, which `serve` already handles; the Windows
//! service control manager instead expects the program to register with it, report "running"
//! and obey "stop", which this file does with the `windows-service` crate.

use std::process::ExitCode;

/// Runs `serve` as the service control manager's service (Windows), or directly elsewhere.
#[cfg(not(windows))]
pub fn run_under_service_manager(
    serve: impl FnOnce() -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    // systemd and launchd need nothing more than a program that stops on SIGTERM.
    serve()
}

/// Runs `serve` as the service control manager's service (Windows), or directly elsewhere.
#[cfg(windows)]
pub fn run_under_service_manager(
    serve: impl FnOnce() -> anyhow::Result<ExitCode> + Send + 'static,
) -> anyhow::Result<ExitCode> {
    windows::run(serve)
}

#[cfg(windows)]
mod windows {
    use std::ffi::OsString;
    use std::process::ExitCode;
    use std::sync::Mutex;
    use std::time::Duration;

    use anyhow::Context;
    use windows_service::service::{
        ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus,
        ServiceType,
    };
    use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
    use windows_service::{define_windows_service, service_dispatcher};

    type Serve = Box<dyn FnOnce() -> anyhow::Result<ExitCode> + Send>;

    /// The server to run once the dispatcher calls the service's main function.
    static SERVE: Mutex<Option<Serve>> = Mutex::new(None);

    define_windows_service!(ffi_service_main, service_main);

    pub fn run(
        serve: impl FnOnce() -> anyhow::Result<ExitCode> + Send + 'static,
    ) -> anyhow::Result<ExitCode> {
        if let Ok(mut slot) = SERVE.lock() {
            *slot = Some(Box::new(serve));
        }
        // Blocks until the service stops.
        service_dispatcher::start(super::super::label().to_qualified_name(), ffi_service_main)
            .context("not started by the Windows service control manager")?;
        Ok(ExitCode::SUCCESS)
    }

    fn status(state: ServiceState, accept: ServiceControlAccept, code: u32) -> ServiceStatus {
        ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: accept,
            exit_code: ServiceExitCode::Win32(code),
            checkpoint: 0,
            wait_hint: Duration::from_secs(30),
            process_id: None,
        }
    }

    fn service_main(_arguments: Vec<OsString>) {
        let handler = |control| match control {
            ServiceControl::Stop | ServiceControl::Shutdown => {
                lightbox::app::request_shutdown();
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        };
        let handle = match service_control_handler::register(
            super::super::label().to_qualified_name(),
            handler,
        ) {
            Ok(handle) => handle,
            Err(e) => {
                tracing::error!(error = %e, "cannot register with the service control manager");
                return;
            }
        };
        let _ = handle.set_service_status(status(
            ServiceState::Running,
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
            0,
        ));
        let serve = SERVE.lock().ok().and_then(|mut slot| slot.take());
        let failed = match serve.map(|serve| serve()) {
            Some(Ok(_)) => false,
            Some(Err(e)) => {
                tracing::error!(error = %e, "the practice server stopped with an error");
                true
            }
            None => true,
        };
        let _ = handle.set_service_status(status(
            ServiceState::Stopped,
            ServiceControlAccept::empty(),
            u32::from(failed),
        ));
    }
}
