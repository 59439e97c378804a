//! Delivers the outbound queues: one worker per destination sends its oldest message, waits
//! for the ACK whose MSA-2 is that message's MSH-10 (a late ACK for an earlier message is
//! ignored, not taken for this one), and only then moves on — in order, at least once.
//! A refused connection, a dropped connection or a missing ACK is retried with exponential
//! back-off; AE/AR puts the message in the failed state with the receiver's reason, and the
//! queue waits for a person to resend or cancel it. Everything is read from the store each
//! time, so a restart resumes every queue where it stopped.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::mllp::{MllpDecoder, frame};
use crate::store::Store;
use crate::store::hl7::{Destination, OutboundMessage};

pub use crate::settings::HL7_RETRY_INITIAL_SETTING as RETRY_INITIAL_SETTING;
pub use crate::settings::HL7_RETRY_MAX_SETTING as RETRY_MAX_SETTING;

/// Largest ACK accepted from a receiver.
const MAX_ACK_BYTES: usize = 1024 * 1024;

/// The sender's name in the health records.
pub const SENDER_SERVICE: &str = "hl7-sender";

/// Sender settings.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// The database holding destinations and queues.
    pub database: PathBuf,
    /// How often new events and queue heads are looked for.
    pub poll: Duration,
    /// Where "now" comes from (message time stamps, the events' dates).
    pub clock: crate::clock::Clock,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// AA (or CA): delivered.
    Accepted(String),
    /// AE/AR (CE/CR): the receiver refused it, with its reason.
    Refused {
        /// The reason the receiver gave.
        reason: String,
        /// The ACK.
        ack: String,
    },
    /// No connection, dropped connection or no ACK in time: try again later.
    Retry(String),
}

pub use super::ack::read_ack;

/// Sends one message on `stream` and waits for its ACK (matched by MSA-2).
pub async fn deliver(
    stream: &mut TcpStream,
    message: &OutboundMessage,
    ack_timeout: Duration,
) -> Delivery {
    if let Err(e) = stream.write_all(&frame(message.message.as_bytes())).await {
        return Delivery::Retry(format!("could not send: {e}"));
    }
    let mut decoder = MllpDecoder::new(MAX_ACK_BYTES);
    let mut buffer = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + ack_timeout;
    loop {
        let read = match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => {
                return Delivery::Retry(format!("no ACK within {} s", ack_timeout.as_secs_f32()));
            }
            Ok(Err(e)) => return Delivery::Retry(format!("connection failed: {e}")),
            Ok(Ok(0)) => return Delivery::Retry("the receiver closed the connection".into()),
            Ok(Ok(n)) => n,
        };
        let frames = match decoder.push(&buffer[..read]) {
            Ok(f) => f,
            Err(e) => return Delivery::Retry(format!("unreadable answer: {e}")),
        };
        for ack in frames {
            let Some((code, acked, reason)) = read_ack(&ack) else {
                tracing::warn!(control_id = %message.control_id, "HL7 answer without MSA ignored");
                continue;
            };
            if acked != message.control_id {
                tracing::warn!(expected = %message.control_id, got = %acked, "HL7 ACK for another message ignored");
                continue;
            }
            let text = String::from_utf8_lossy(&ack).into_owned();
            return match code.as_str() {
                "AA" | "CA" => Delivery::Accepted(text),
                _ => Delivery::Refused {
                    reason: if reason.is_empty() {
                        format!("{code} without a reason")
                    } else {
                        format!("{code}: {reason}")
                    },
                    ack: text,
                },
            };
        }
    }
}

/// Runs the sender until `shutdown` turns true: production rounds and one worker per
/// enabled destination.
pub async fn run(config: SenderConfig, mut shutdown: watch::Receiver<bool>) {
    let mut workers: std::collections::HashMap<i64, tokio::task::JoinHandle<()>> =
        std::collections::HashMap::new();
    let store: Arc<Mutex<Option<Store>>> = Arc::new(Mutex::new(None));
    loop {
        let database = config.database.clone();
        let clock = config.clock;
        let slot = store.clone();
        let round = tokio::task::spawn_blocking(move || -> Result<Vec<Destination>, String> {
            let mut guard = slot.lock().map_err(|_| "store lock poisoned".to_string())?;
            if guard.is_none() {
                *guard = Some(Store::open(&database).map_err(|e| e.to_string())?);
            }
            let store = guard.as_ref().ok_or("store unavailable")?;
            let now = clock.now();
            super::outbound::produce(store, now).map_err(|e| e.to_string())?;
            store.destinations().map_err(|e| e.to_string())
        })
        .await;
        match round {
            Ok(Ok(destinations)) => {
                workers.retain(|_, handle| !handle.is_finished());
                for destination in destinations.into_iter().filter(|d| d.enabled) {
                    workers.entry(destination.id).or_insert_with(|| {
                        tokio::spawn(worker(config.clone(), destination.id, shutdown.clone()))
                    });
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "HL7 outbound round failed"),
            Err(e) => tracing::error!(error = %e, "HL7 outbound round panicked"),
        }
        tokio::select! {
            _ = tokio::time::sleep(config.poll) => {}
            changed = shutdown.changed() => {
                // A dropped sender is a shutdown too (else the loop spins on the closed channel).
                if changed.is_err() || *shutdown.borrow() {
                    for (_, handle) in workers.drain() {
                        handle.abort();
                    }
                    return;
                }
            }
        }
    }
}

/// Work a queue worker does on its store connection (on a blocking thread).
type QueueTask = Box<dyn FnOnce(&Store) -> Result<Step, crate::store::StoreError> + Send>;

/// The next thing a worker should do.
enum Step {
    Stop,
    Idle,
    Wait(Duration),
    Send(Box<(Destination, OutboundMessage)>, (u64, u64)),
}

fn next_step(store: &Store, destination: i64) -> Result<Step, crate::store::StoreError> {
    let Some(d) = store
        .destinations()?
        .into_iter()
        .find(|d| d.id == destination)
    else {
        return Ok(Step::Stop);
    };
    if !d.enabled {
        return Ok(Step::Stop);
    }
    let Some(head) = store.outbound_head(destination)? else {
        return Ok(Step::Idle);
    };
    if head.status == "failed" {
        return Ok(Step::Idle);
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    if head.next_attempt_ms > now_ms {
        return Ok(Step::Wait(Duration::from_millis(
            (head.next_attempt_ms - now_ms) as u64,
        )));
    }
    let initial_ms = store
        .setting(RETRY_INITIAL_SETTING)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000u64);
    let max_secs = store
        .setting(RETRY_MAX_SETTING)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(300u64);
    Ok(Step::Send(Box::new((d, head)), (initial_ms, max_secs)))
}

/// The back-off before attempt `attempts + 1`: initial × 2^(attempts − 1), at most max.
pub fn backoff(attempts: i64, initial_ms: u64, max_secs: u64) -> Duration {
    let shift = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let ms = initial_ms.saturating_mul(1u64 << shift);
    Duration::from_millis(ms.min(max_secs.saturating_mul(1000)))
}

async fn worker(config: SenderConfig, destination: i64, mut shutdown: watch::Receiver<bool>) {
    let store: Arc<Mutex<Option<Store>>> = Arc::new(Mutex::new(None));
    let with_store = |f: QueueTask| {
        let slot = store.clone();
        let database = config.database.clone();
        tokio::task::spawn_blocking(move || -> Result<Step, String> {
            let mut guard = slot.lock().map_err(|_| "store lock poisoned".to_string())?;
            if guard.is_none() {
                *guard = Some(Store::open(&database).map_err(|e| e.to_string())?);
            }
            let store = guard.as_ref().ok_or("store unavailable")?;
            f(store).map_err(|e| e.to_string())
        })
    };
    let mut connection: Option<(String, u16, TcpStream)> = None;
    loop {
        let step = match with_store(Box::new(move |s| next_step(s, destination))).await {
            Ok(Ok(step)) => step,
            Ok(Err(e)) => {
                tracing::error!(destination, error = %e, "HL7 queue unreadable");
                Step::Wait(Duration::from_secs(1))
            }
            Err(e) => {
                tracing::error!(destination, error = %e, "HL7 queue task failed");
                Step::Wait(Duration::from_secs(1))
            }
        };
        let pause = match step {
            Step::Stop => return,
            Step::Idle => config.poll,
            Step::Wait(d) => d.min(config.poll),
            Step::Send(job, (initial_ms, max_secs)) => {
                let (d, message) = *job;
                let outcome = attempt(&mut connection, &d, &message).await;
                let id = message.id;
                let attempts = message.attempts + 1;
                let recorded = match outcome {
                    Delivery::Accepted(ack) => {
                        tracing::info!(destination = %d.name, control_id = %message.control_id, "HL7 message delivered");
                        with_store(Box::new(move |s| {
                            s.outbound_sent(id, &ack).map(|()| Step::Idle)
                        }))
                        .await
                    }
                    Delivery::Refused { reason, ack } => {
                        tracing::warn!(destination = %d.name, control_id = %message.control_id, %reason, "HL7 message refused by the receiver; queue held");
                        with_store(Box::new(move |s| {
                            s.outbound_failed(id, &reason, &ack).map(|()| Step::Idle)
                        }))
                        .await
                    }
                    Delivery::Retry(reason) => {
                        connection = None;
                        let delay = backoff(attempts, initial_ms, max_secs);
                        tracing::warn!(destination = %d.name, control_id = %message.control_id, %reason, retry_in_ms = delay.as_millis() as u64, "HL7 delivery failed; will retry");
                        let next = chrono::Utc::now().timestamp_millis() + delay.as_millis() as i64;
                        with_store(Box::new(move |s| {
                            s.outbound_retry(id, &reason, next).map(|()| Step::Idle)
                        }))
                        .await
                    }
                };
                if !matches!(recorded, Ok(Ok(_))) {
                    tracing::error!(destination = %d.name, "HL7 delivery outcome could not be recorded; it will be sent again");
                    Duration::from_secs(1)
                } else {
                    Duration::ZERO
                }
            }
        };
        if pause.is_zero() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            changed = shutdown.changed() => {
                // A dropped sender is a shutdown too (else the loop spins on the closed channel).
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

/// One attempt on the kept connection (opened, or reopened when the address changed).
async fn attempt(
    connection: &mut Option<(String, u16, TcpStream)>,
    d: &Destination,
    message: &OutboundMessage,
) -> Delivery {
    let reuse = matches!(connection, Some((host, port, _)) if *host == d.host && *port == d.port);
    if !reuse {
        let address = format!("{}:{}", d.host, d.port);
        match tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&address)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                *connection = Some((d.host.clone(), d.port, stream));
            }
            Ok(Err(e)) => return Delivery::Retry(format!("cannot connect to {address}: {e}")),
            Err(_) => return Delivery::Retry(format!("cannot connect to {address}: timed out")),
        }
    }
    let Some((_, _, stream)) = connection.as_mut() else {
        return Delivery::Retry("no connection".into());
    };
    let timeout = Duration::from_secs(u64::from(d.ack_timeout_secs.max(1)));
    deliver(stream, message, timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_the_limit() {
        assert_eq!(backoff(1, 1000, 300), Duration::from_secs(1));
        assert_eq!(backoff(2, 1000, 300), Duration::from_secs(2));
        assert_eq!(backoff(4, 1000, 300), Duration::from_secs(8));
        assert_eq!(backoff(40, 1000, 300), Duration::from_secs(300));
    }

    #[test]
    fn acks_are_read_with_their_reason() {
        let ack = b"MSH|^~\\&|EHR|X|LIGHTBOX|Y|20261127||ACK^R01^ACK|9|P|2.5.1\rMSA|AE|LB000000001|bad\rERR||OBR^1^25|103^Table value not found^HL70357|E||||status unknown\r";
        assert_eq!(
            read_ack(ack),
            Some(("AE".into(), "LB000000001".into(), "status unknown".into()))
        );
    }
}
