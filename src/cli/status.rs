//! `lightbox status`: is every service up? Reads what each service last reported (state,
//! last error, since when) and asks the listeners themselves — a DICOM C-ECHO, an MLLP probe
//! the HL7 writer must answer — so a process that died without saying so, or a listener that
//! no longer accepts, shows as down. Prints JSON; exits 1 when anything is down.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use lightbox::app::DataFolder;
use lightbox::records::health::ServiceState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a probe waits for an answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where to reach a listener that may listen on all interfaces.
fn reachable(address: &str) -> Option<SocketAddr> {
    let mut addr: SocketAddr = address.parse().ok()?;
    match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        IpAddr::V6(v6) if v6.is_unspecified() => addr.set_ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        _ => {}
    }
    Some(addr)
}

/// A C-ECHO; an association rejection is an answer too (the listener is alive).
async fn probe_dicom(addr: SocketAddr, ae_title: &str) -> Result<(), String> {
    let node = lightbox::records::nodes::DicomNode::new(
        "status probe",
        ae_title,
        &addr.ip().to_string(),
        addr.port(),
    );
    match tokio::time::timeout(PROBE_TIMEOUT, lightbox::dicom::scu::echo(&node, ae_title)).await {
        Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) if e.to_string().to_lowercase().contains("reject") => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
    }
}

/// The status probe frame; the writer answers it without storing anything.
async fn probe_hl7(addr: SocketAddr) -> Result<(), String> {
    let exchange = async {
        let mut socket = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let framed = lightbox::hl7::mllp::frame(lightbox::hl7::inbound::STATUS_PROBE);
        socket
            .write_all(&framed)
            .await
            .map_err(|e| format!("cannot send: {e}"))?;
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = socket
                .read(&mut buffer)
                .await
                .map_err(|e| format!("no answer: {e}"))?;
            if n == 0 {
                return Err("closed without an answer".to_string());
            }
            answer.extend_from_slice(buffer.get(..n).unwrap_or_default());
            if answer.contains(&lightbox::hl7::mllp::END_BLOCK) {
                return if String::from_utf8_lossy(&answer).contains("MSA|AA") {
                    Ok(())
                } else {
                    Err("answered, but not with AA".to_string())
                };
            }
            if answer.len() > 64 * 1024 {
                return Err("an answer that never ends".to_string());
            }
        }
    };
    tokio::time::timeout(PROBE_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())))
}

/// Runs `lightbox status`.
pub fn run(data: &DataFolder, runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    let practice = data.open_practice()?;
    let ae_title = practice
        .setting(lightbox::app::AE_TITLE_SETTING)?
        .unwrap_or_else(|| lightbox::app::DEFAULT_AE_TITLE.to_string());
    let services = practice.service_health()?;
    let mut all_up = !services.is_empty();
    let mut report = Vec::new();
    let mut silent_processes = Vec::new();
    for service in &services {
        let mut entry = serde_json::to_value(service)?;
        let mut up = service.state == ServiceState::Running;
        if up && let Some(addr) = reachable(&service.address) {
            let probed = runtime.block_on(async {
                match service.service.as_str() {
                    "dicom" => Some(probe_dicom(addr, &ae_title).await),
                    "hl7" => Some(probe_hl7(addr).await),
                    _ => None,
                }
            });
            if let Some(result) = probed {
                entry["answers"] = serde_json::Value::Bool(result.is_ok());
                if let Err(e) = result {
                    entry["probe_error"] = serde_json::Value::String(e);
                    up = false;
                    silent_processes.push(service.process_id);
                }
            }
        }
        // Stopped on purpose is not an outage only when everything stopped (no server runs).
        entry["up"] = serde_json::Value::Bool(up);
        all_up &= up;
        report.push(entry);
    }
    // A process whose listener does not answer is gone (or stuck): so are its other services,
    // whatever they last said.
    for entry in &mut report {
        let pid = entry["process_id"].as_u64().unwrap_or(0) as u32;
        if silent_processes.contains(&pid) && entry["up"] == serde_json::Value::Bool(true) {
            entry["up"] = serde_json::Value::Bool(false);
            entry["probe_error"] =
                serde_json::Value::String("its process's listeners do not answer".into());
            all_up = false;
        }
    }
    let out = serde_json::json!({
        "ok": all_up,
        "services": report,
        "note": if services.is_empty() {
            "no service has run on this data folder yet"
        } else {
            ""
        },
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(if all_up {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
