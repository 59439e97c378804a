//! The MLLP listener: many connections at once, persistent connections, one ACK per message
//! in order, an idle timeout and a maximum message size. Each message is stored and processed
//! through `inbound::receive` on a blocking thread (the store is synchronous).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::ack::{AckCode, AckError, build_ack};
use super::message::Header;
use super::mllp::{MllpDecoder, frame};

/// Listener settings.
#[derive(Debug, Clone)]
pub struct Hl7Config {
    /// The database every message is stored in.
    pub database: PathBuf,
    /// The archive folder (merges move archived studies); None in tests without one.
    pub archive: Option<PathBuf>,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// Larger messages are refused and the connection closed.
    pub max_message_bytes: usize,
}

/// Binds the HL7 port.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(listener: TcpListener, config: Hl7Config, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let _ = socket.set_nodelay(true);
                    let config = config.clone();
                    tokio::spawn(async move { connection(socket, peer, config).await });
                }
                Err(e) => tracing::warn!(error = %e, "HL7 accept failed"),
            },
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

async fn connection(mut socket: TcpStream, peer: SocketAddr, config: Hl7Config) {
    tracing::info!(%peer, "HL7 connection opened");
    let mut decoder = MllpDecoder::new(config.max_message_bytes);
    let mut store: Option<crate::store::Store> = None;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match tokio::time::timeout(config.idle_timeout, socket.read(&mut buffer)).await {
            Err(_) => {
                tracing::info!(%peer, "HL7 connection idle; closed");
                return;
            }
            Ok(Err(e)) => {
                tracing::info!(%peer, error = %e, "HL7 connection failed");
                return;
            }
            Ok(Ok(0)) => {
                if decoder.in_frame() {
                    tracing::warn!(%peer, "HL7 peer closed in the middle of a message; it was not acknowledged");
                }
                tracing::info!(%peer, "HL7 connection closed");
                return;
            }
            Ok(Ok(n)) => n,
        };
        let messages = match decoder.push(&buffer[..read]) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "HL7 message refused; connection closed");
                let now = chrono::Local::now().naive_local();
                let ack = build_ack(
                    &Header::default(),
                    AckCode::Reject,
                    &[AckError {
                        segment: "MSH".into(),
                        sequence: 1,
                        field: 0,
                        code: 207,
                        severity: 'E',
                        text: e.to_string(),
                    }],
                    &now.format("%Y%m%d%H%M%S").to_string(),
                    "LTOOLARGE",
                );
                let _ = socket.write_all(&frame(ack.as_bytes())).await;
                return;
            }
        };
        for message in messages {
            // One connection to the store per HL7 connection, moved to the blocking thread and
            // back, instead of opening (and migrating) the database for every message.
            let database = config.database.clone();
            let archive = config.archive.clone();
            let taken = store.take();
            let ack = tokio::task::spawn_blocking(move || {
                let now = chrono::Local::now().naive_local();
                let opened = match taken {
                    Some(s) => Ok(s),
                    None => crate::store::Store::open(&database),
                };
                match opened {
                    Ok(mut s) => {
                        let archive =
                            archive.and_then(|p| crate::archive::ArchiveFolder::open(&p).ok());
                        let ack = super::inbound::receive(&mut s, archive.as_ref(), &message, now);
                        (ack, Some(s))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "HL7: store unavailable");
                        let ack = build_ack(
                            &Header::default(),
                            AckCode::Error,
                            &[AckError {
                                segment: "MSH".into(),
                                sequence: 1,
                                field: 0,
                                code: 207,
                                severity: 'E',
                                text: "store unavailable; resend".into(),
                            }],
                            &now.format("%Y%m%d%H%M%S").to_string(),
                            "LSTORE",
                        );
                        (ack, None)
                    }
                }
            })
            .await;
            let ack = ack.map(|(ack, back)| {
                store = back;
                ack
            });
            let Ok(ack) = ack else {
                tracing::error!(%peer, "HL7 processing task failed");
                return;
            };
            if let Err(e) = socket.write_all(&frame(ack.as_bytes())).await {
                tracing::info!(%peer, error = %e, "HL7 ACK could not be sent");
                return;
            }
        }
    }
}
