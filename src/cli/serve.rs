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
    api_port: Option<u16>,
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
        // The workstations' API, HTTPS with the practice's own CA (made on the first start).
        let tls = lightbox::api::tls::PracticeTls::ensure(data.root())?;
        let api_port = match api_port {
            Some(port) => port,
            None => data
                .open_practice()?
                .setting(app::API_PORT_SETTING)?
                .and_then(|p| p.trim().parse::<u16>().ok())
                .filter(|p| *p != 0)
                .unwrap_or(app::DEFAULT_API_PORT),
        };
        let api_ip = services.dicom_addr.ip();
        let api = lightbox::api::ApiServer::start(
            std::net::SocketAddr::new(api_ip, api_port),
            data.open_practice()?,
            Some(services.archive.ingest.clone()),
            &tls,
        )
        .await?;
        println!("listening api {}", api.addr);
        tracing::info!(addr = %api.addr, ca = %tls.ca_path().display(), "listening api");
        app::shutdown_signal().await;
        tracing::info!("stopping");
        api.stop();
        services.stop();
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
