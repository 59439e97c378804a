//! The API's bound on connections, whatever peers send: at most `api.max_connections` at once
//! (a stranger's thousand idle sockets cost a thousand refusals, not a thousand tasks), and a
//! TLS handshake must finish within [`HANDSHAKE_TIMEOUT`] or the connection is dropped and
//! its place freed.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Setting: most API connections open at once (workstations keep one or two each: requests
/// and the event stream).
pub const MAX_CONNECTIONS_SETTING: &str = crate::site::API_MAX_CONNECTIONS_SETTING;
/// Default of [`MAX_CONNECTIONS_SETTING`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// How long a peer has to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Admits a connection while a place is free; refuses (closes) it otherwise.
#[derive(Clone)]
pub struct BoundedAcceptor {
    places: Arc<Semaphore>,
}

impl BoundedAcceptor {
    /// At most `max` connections at once.
    pub fn new(max: usize) -> BoundedAcceptor {
        BoundedAcceptor {
            places: Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

impl<S> Accept<TcpStream, S> for BoundedAcceptor {
    type Stream = Admitted;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Admitted, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        std::future::ready(match self.places.clone().try_acquire_owned() {
            Ok(place) => {
                let _ = stream.set_nodelay(true);
                Ok((
                    Admitted {
                        stream,
                        _place: place,
                    },
                    service,
                ))
            }
            Err(_) => {
                tracing::warn!(
                    peer = ?stream.peer_addr().ok(),
                    "API connection refused: the connection limit is reached"
                );
                Err(io::Error::other("the API's connection limit is reached"))
            }
        })
    }
}

/// A connection holding its place until it closes.
pub struct Admitted {
    stream: TcpStream,
    _place: OwnedSemaphorePermit,
}

impl AsyncRead for Admitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
