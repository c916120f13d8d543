//! The socket options every accepted connection gets, so that what the
//! server has written but a client has not read stays small.
//!
//! Left alone, Linux grows a connection's send buffer up to 4 MB
//! (`net.ipv4.tcp_wmem`) and reports the socket writable again only once
//! much of it has drained. A WebSocket reader that reads steadily but more
//! slowly than the feed then sees the server write nothing to it for tens
//! of seconds, and the server cannot tell it from a client that stopped
//! reading. With the bounds below, the socket takes more as soon as the
//! client has read a little, so `/ws/events` judges each client by its
//! progress (`routes/events.rs`).

use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};

/// `SO_SNDBUF` asked for on each accepted socket (Linux doubles it for its
/// bookkeeping): bytes written and not yet acknowledged by the client. It
/// caps one connection's throughput at about this much per round trip —
/// 2.5 MB/s at 100 ms — which the API's answers stay well within.
pub const SEND_BUFFER: usize = 256 * 1024;

/// `TCP_NOTSENT_LOWAT` on each accepted socket (Linux and Android): the
/// socket takes more only while fewer than this many written bytes are
/// still unsent, so a slow reader holds at most this much (plus one write)
/// in the kernel beyond what is in flight to it.
pub const UNSENT_LOW_WATER: u32 = 16 * 1024;

/// What [`bounded`] makes of a listener.
pub type BoundedListener = TapIo<TcpListener, fn(&mut TcpStream)>;

/// `listener` with [`SEND_BUFFER`] and [`UNSENT_LOW_WATER`] set on every
/// connection it accepts. Serve through it: `axum::serve(bounded(l), app)`.
pub fn bounded(listener: TcpListener) -> BoundedListener {
    listener.tap_io(bound as fn(&mut TcpStream))
}

/// Sets the options on one socket; a refusal is logged, not fatal (the
/// connection still works, only with the kernel's defaults).
fn bound(stream: &mut TcpStream) {
    let socket = socket2::SockRef::from(&*stream);
    if let Err(e) = socket.set_send_buffer_size(SEND_BUFFER) {
        tracing::debug!(error = %e, "could not bound a connection's send buffer");
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) = socket.set_tcp_notsent_lowat(UNSENT_LOW_WATER) {
        tracing::debug!(error = %e, "could not set TCP_NOTSENT_LOWAT on a connection");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener;

    #[tokio::test]
    async fn accepted_sockets_get_the_bounds() -> std::io::Result<()> {
        let mut listener = bounded(TcpListener::bind("127.0.0.1:0").await?);
        let addr = Listener::local_addr(&listener)?;
        let _client = TcpStream::connect(addr).await?;
        let (accepted, _) = Listener::accept(&mut listener).await;
        let socket = socket2::SockRef::from(&accepted);
        let size = socket.send_buffer_size()?;
        // Linux reports twice what was asked; others what was asked.
        assert!(
            (SEND_BUFFER..=2 * SEND_BUFFER).contains(&size),
            "send buffer {size}"
        );
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(socket.tcp_notsent_lowat()?, UNSENT_LOW_WATER);
        Ok(())
    }
}
