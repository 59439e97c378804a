//! The MLLP listener: many connections at once, persistent connections, one ACK per message
//! in order, an idle timeout and a maximum message size. Messages from every connection are
//! stored and processed by one writer thread with group commit (see [`start_writer`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::ack::{AckCode, AckError, build_ack};
use super::inbound;
use super::message::Header;
use super::mllp::{MllpDecoder, frame};
use crate::archive::ArchiveFolder;
use crate::connections::{AcceptBackoff, BudgetShare, ByteBudget, ConnectionSlots, Slot};
use crate::health::{HealthBoard, spawn_connection, supervise_thread};
use crate::store::Store;

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
    /// Where "now" comes from (receipt time, the slot an order is booked into).
    pub clock: crate::clock::Clock,
    /// Most connections at once (the longest idle gives way to a new one).
    pub max_connections: usize,
    /// Most bytes of unfinished messages held for all connections together.
    pub max_buffered_bytes: usize,
    /// Where the listener and its writer report their state.
    pub health: HealthBoard,
}

impl Hl7Config {
    /// Settings with the defaults for limits, for `database`.
    pub fn new(database: PathBuf) -> Hl7Config {
        Hl7Config {
            database,
            archive: None,
            idle_timeout: Duration::from_secs(600),
            max_message_bytes: 16 << 20,
            clock: crate::clock::Clock::System,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_MIB << 20,
            health: HealthBoard::default(),
        }
    }
}

pub use crate::settings::HL7_MAX_CONNECTIONS_SETTING as MAX_CONNECTIONS_SETTING;
/// Default for [`MAX_CONNECTIONS_SETTING`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
pub use crate::settings::HL7_MAX_BUFFERED_SETTING as MAX_BUFFERED_SETTING;
/// Default for [`MAX_BUFFERED_SETTING`].
pub const DEFAULT_MAX_BUFFERED_MIB: usize = 64;

/// Binds the HL7 port.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// A message for the writer and where its ACK goes.
struct Job {
    bytes: Vec<u8>,
    peer: SocketAddr,
    reply: oneshot::Sender<String>,
}

/// Messages waiting for the writer at most (connections wait beyond: backpressure).
const WRITER_QUEUE: usize = 1024;
/// Messages sharing one commit at most.
const GROUP_COMMIT_MAX: usize = 256;

/// The one thread that writes inbound messages: it takes whatever messages are waiting (from
/// every connection), handles each in its own savepoint, commits them together and only then
/// hands out their ACKs. One writer means no lock contention between connections; one commit
/// per group means more connections cost less per message, not more. It runs supervised: if
/// it dies, the messages in its hands go unanswered (their senders resend: nothing was
/// committed) and it starts again with a fresh connection to the store.
fn start_writer(config: &Hl7Config) -> mpsc::Sender<Job> {
    let (tx, mut rx) = mpsc::channel::<Job>(WRITER_QUEUE);
    let database = config.database.clone();
    let archive = config.archive.as_ref().and_then(|p| match ArchiveFolder::open(p) {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::error!(error = %e, "HL7: archive unavailable; merges will not move studies");
            None
        }
    });
    let clock = config.clock;
    let spawned = supervise_thread(
        config.health.clone(),
        WRITER_SERVICE,
        "storing and processing inbound messages".into(),
        move || {
            // A fresh connection each (re)start: a transaction a failure left open is gone
            // with the old one.
            let mut store: Option<Store> = None;
            while let Some(first) = rx.blocking_recv() {
                let mut jobs = vec![first];
                while jobs.len() < GROUP_COMMIT_MAX {
                    match rx.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                write_group(&database, archive.as_ref(), &mut store, jobs, clock.now());
            }
            Ok(())
        },
    );
    if let Err(e) = spawned {
        tracing::error!(error = %e, "HL7 writer thread could not start");
        config
            .health
            .failed(WRITER_SERVICE, &format!("cannot start: {e}"), false);
    }
    tx
}

/// The writer's name in the health records.
pub const WRITER_SERVICE: &str = "hl7-writer";
/// The listener's name in the health records.
pub const LISTENER_SERVICE: &str = "hl7";

fn write_group(
    database: &std::path::Path,
    archive: Option<&ArchiveFolder>,
    store: &mut Option<Store>,
    jobs: Vec<Job>,
    now: chrono::NaiveDateTime,
) {
    if store.is_none() {
        *store = Store::open(database)
            .map_err(|e| tracing::error!(error = %e, "HL7: store unavailable"))
            .ok();
    }
    let Some(s) = store.as_mut() else {
        for job in jobs {
            let _ = job.reply.send(inbound::unavailable_ack(now));
        }
        return;
    };
    if let Err(e) = s.begin() {
        tracing::error!(error = %e, "HL7: cannot start a transaction");
        for job in jobs {
            let _ = job.reply.send(inbound::unavailable_ack(now));
        }
        *store = None;
        return;
    }
    let received: Vec<_> = jobs
        .iter()
        .map(|job| {
            inbound::receive_in_transaction(
                s,
                archive,
                &job.bytes,
                now,
                &super::sources::Origin::Network(job.peer),
            )
        })
        .collect();
    fail::fail_point!("hl7-writer-before-commit");
    let committed = match s.commit() {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, messages = jobs.len(), "HL7: commit failed; senders will resend");
            let _ = s.rollback();
            false
        }
    };
    for (job, r) in jobs.into_iter().zip(received) {
        let _ = job
            .reply
            .send(if committed { r.ack } else { r.if_not_committed });
    }
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(listener: TcpListener, config: Hl7Config, mut shutdown: watch::Receiver<bool>) {
    let writer = start_writer(&config);
    let slots = ConnectionSlots::new(config.max_connections);
    let budget = ByteBudget::new(config.max_buffered_bytes);
    let mut backoff = AcceptBackoff::default();
    if let Ok(addr) = listener.local_addr() {
        config
            .health
            .listening(LISTENER_SERVICE, addr, &format!("listening on {addr}"));
    }
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    backoff.succeeded(LISTENER_SERVICE);
                    let slot = match slots.admit() {
                        Ok(slot) => slot,
                        Err(full) => {
                            tracing::warn!(%peer, error = %full, "HL7 connection turned away");
                            drop(socket);
                            continue;
                        }
                    };
                    let _ = socket.set_nodelay(true);
                    let config = config.clone();
                    let writer = writer.clone();
                    let share = BudgetShare::of(&budget);
                    spawn_connection(
                        LISTENER_SERVICE,
                        peer,
                        async move { connection(socket, peer, config, writer, slot, share).await },
                    );
                }
                Err(e) => {
                    if crate::connections::out_of_descriptors(&e) {
                        slots.evict_longest_idle();
                    }
                    let wait = backoff.failed(LISTENER_SERVICE, &e);
                    tokio::time::sleep(wait).await;
                }
            },
            changed = shutdown.changed() => {
                // A dropped sender is a shutdown too (else the loop spins on the closed channel).
                if changed.is_err() || *shutdown.borrow() {
                    config.health.stopped(LISTENER_SERVICE);
                    return;
                }
            }
        }
    }
}

/// An AR for a stream that cannot be read on (too large, or the budget is spent).
fn stream_refusal(now: chrono::NaiveDateTime, text: String) -> String {
    build_ack(
        &Header::default(),
        AckCode::Reject,
        &[AckError {
            segment: "MSH".into(),
            sequence: 1,
            field: 0,
            code: 207,
            severity: 'E',
            text,
        }],
        &now.format("%Y%m%d%H%M%S").to_string(),
        "LTOOLARGE",
    )
}

async fn connection(
    mut socket: TcpStream,
    peer: SocketAddr,
    config: Hl7Config,
    writer: mpsc::Sender<Job>,
    slot: Slot,
    mut share: BudgetShare,
) {
    tracing::info!(%peer, "HL7 connection opened");
    let mut decoder = MllpDecoder::new(config.max_message_bytes);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        slot.set_busy(decoder.in_frame());
        let read = tokio::select! {
            read = tokio::time::timeout(config.idle_timeout, socket.read(&mut buffer)) => read,
            () = slot.evicted() => {
                tracing::info!(%peer, "HL7 connection idle while all slots were taken; closed for a new one");
                return;
            }
        };
        let read = match read {
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
        let pushed = decoder.push(buffer.get(..read).unwrap_or_default());
        let messages = match pushed {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "HL7 message refused; connection closed");
                let ack = stream_refusal(config.clock.now(), e.to_string());
                let _ = socket.write_all(&frame(ack.as_bytes())).await;
                return;
            }
        };
        if let Err(spent) = share.hold(decoder.buffered()) {
            tracing::warn!(%peer, error = %spent, "HL7 connection closed: the server holds too much unfinished data");
            let ack = stream_refusal(
                config.clock.now(),
                "server busy: too many unfinished messages; send again later".into(),
            );
            let _ = socket.write_all(&frame(ack.as_bytes())).await;
            return;
        }
        for message in messages {
            slot.set_busy(true);
            let (reply, answer) = oneshot::channel();
            if writer
                .send(Job {
                    bytes: message,
                    peer,
                    reply,
                })
                .await
                .is_err()
            {
                tracing::error!(%peer, "HL7 writer stopped; connection closed");
                return;
            }
            let Ok(ack) = answer.await else {
                tracing::error!(%peer, "HL7 writer dropped a message; connection closed unanswered");
                return;
            };
            if let Err(e) = socket.write_all(&frame(ack.as_bytes())).await {
                tracing::info!(%peer, error = %e, "HL7 ACK could not be sent");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a dropped shutdown sender (services dropped without `stop`) made the accept
    /// loop spin on the closed channel at full CPU instead of ending.
    #[test]
    fn serve_ends_when_its_shutdown_sender_is_dropped() {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        runtime.block_on(async {
            let (listener, _) = bind("127.0.0.1:0".parse().expect("address"))
                .await
                .expect("bind");
            let (tx, rx) = watch::channel(false);
            drop(tx);
            let config = Hl7Config {
                idle_timeout: Duration::from_secs(5),
                max_message_bytes: 1 << 20,
                ..Hl7Config::new(dir.path().join("db.sqlite"))
            };
            let ended =
                tokio::time::timeout(Duration::from_secs(20), serve(listener, config, rx)).await;
            assert!(
                ended.is_ok(),
                "serve kept running after its shutdown sender was dropped"
            );
            let sender = crate::hl7::sender::run(
                crate::hl7::sender::SenderConfig {
                    database: dir.path().join("db.sqlite"),
                    poll: Duration::from_millis(10),
                    clock: crate::clock::Clock::System,
                },
                watch::channel(false).1,
            );
            let ended = tokio::time::timeout(Duration::from_secs(20), sender).await;
            assert!(
                ended.is_ok(),
                "the sender kept running after its shutdown sender was dropped"
            );
        });
    }
}
