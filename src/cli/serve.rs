//! `lightbox serve`: the services with no window (a server machine, CI). Reads no patient
//! data itself; the services act as their interfaces.

use std::process::ExitCode;

use lightbox::app::{self, DataFolder, ServeOptions};
use lightbox::events::EventSender;

/// Runs the listeners until a shutdown signal; the ports default to the stored settings.
pub fn run(
    data: &DataFolder,
    ae_title: Option<String>,
    dicom_port: Option<u16>,
    hl7_port: Option<u16>,
    bind: Option<std::net::IpAddr>,
    clock: lightbox::clock::Clock,
) -> anyhow::Result<ExitCode> {
    let rt = super::runtime()?;
    rt.block_on(async {
        let hl7_port = match hl7_port {
            Some(p) => p,
            None => data
                .open_practice()?
                .setting(app::HL7_PORT_SETTING)?
                .and_then(|p| p.parse().ok())
                .unwrap_or(app::DEFAULT_HL7_PORT),
        };
        let options = ServeOptions {
            ae_title,
            dicom_port,
            bind_ip: bind,
            hl7_port: Some(hl7_port),
            hl7_optional: false,
            clock,
        };
        let services = app::start_services(data, &options, EventSender::discard()).await?;
        println!("listening dicom {}", services.dicom_addr);
        if let Some(addr) = services.hl7_addr {
            println!("listening hl7 {addr}");
            tracing::info!(%addr, "listening hl7");
        }
        tracing::info!(ae_title = %services.ae_title, addr = %services.dicom_addr, "listening dicom");
        app::shutdown_signal().await;
        tracing::info!("stopping");
        services.stop();
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
