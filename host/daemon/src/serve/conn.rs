//! Connections: accepted, counted, handshaken and timed by us, not left to the peer.
//!
//! A probe found that connections which send nothing (a silent TCP connection, half an
//! HTTP/2 preface, half a set of HTTP/1 headers) stayed open forever on every port, and
//! that 1,100 of them on the metrics port exhausted the file descriptors and stalled
//! the gRPC port too. So every listener here:
//!
//! - caps open connections, in all and per peer IP address; a connection over a cap is
//!   closed at once, before any byte is read (each port has its own caps, so a flood
//!   of one cannot take the other's descriptors);
//! - does the TLS handshake itself, in its own task, within the handshake timeout (a
//!   slow handshake never holds up the accept loop);
//! - wraps the connection in [`Guarded`], which fails it when the peer has not sent
//!   its first `preface` bytes (the 24-byte HTTP/2 client preface; the start of a
//!   request line on the metrics port) within the handshake timeout, when nothing at
//!   all has been received for the idle timeout, or (metrics port) when it is older
//!   than its maximum age.
//!
//! Clients that keep a gRPC channel open while idle send HTTP/2 keepalive pings, which
//! are bytes received, as gRPC's own keepalive guidance expects them to.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use prometheus::{IntCounterVec, IntGaugeVec};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Sleep};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The HTTP/2 client connection preface is 24 bytes.
pub const HTTP2_PREFACE: usize = 24;

/// How one port treats its connections.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// The port's name in metrics and logs (`grpc`, `metrics`).
    pub port: &'static str,
    /// Open connections at most.
    pub max: usize,
    /// Open connections from one IP address at most.
    pub per_ip: usize,
    /// Time for the TLS handshake and the first `preface` bytes.
    pub handshake: Duration,
    /// Bytes the peer must have sent within `handshake` of connecting.
    pub preface: usize,
    /// Silence (nothing received) after which the connection is closed.
    pub idle: Duration,
    /// Age at which the connection is closed whatever it does.
    pub max_age: Option<Duration>,
}

/// The connection metrics, shared by both ports.
#[derive(Debug, Clone)]
pub struct ConnMetrics {
    /// `vigil_connections_open{port}`.
    pub open: IntGaugeVec,
    /// `vigil_connections_refused_total{port,reason}`: over a cap, closed unread.
    pub refused: IntCounterVec,
    /// `vigil_connections_closed_total{port,reason}`: closed by a timeout or a failed
    /// handshake.
    pub closed: IntCounterVec,
}

/// Open connections, in all and per IP address.
#[derive(Debug)]
struct Tracker {
    limits: ConnLimits,
    counts: Mutex<(usize, HashMap<IpAddr, usize>)>,
    metrics: ConnMetrics,
}

/// One open connection's place under the caps; released when dropped.
#[derive(Debug)]
pub struct ConnPermit {
    tracker: Arc<Tracker>,
    ip: IpAddr,
}

impl Tracker {
    fn acquire(self: &Arc<Self>, ip: IpAddr) -> Result<ConnPermit, &'static str> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_ip) = &mut *counts;
        if *total >= self.limits.max {
            return Err("max_connections");
        }
        let mine = per_ip.entry(ip).or_insert(0);
        if *mine >= self.limits.per_ip {
            return Err("max_connections_per_ip");
        }
        *mine += 1;
        *total += 1;
        self.metrics
            .open
            .with_label_values(&[self.limits.port])
            .inc();
        Ok(ConnPermit {
            tracker: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        let t = &self.tracker;
        let mut counts = t.counts.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_ip) = &mut *counts;
        *total = total.saturating_sub(1);
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
        t.metrics.open.with_label_values(&[t.limits.port]).dec();
    }
}

/// A TCP connection, with or without TLS.
#[derive(Debug)]
pub enum Stream {
    /// Plaintext.
    Plain(TcpStream),
    /// TLS, handshake done.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, data),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, data),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// A connection under the preface, idle and age deadlines, holding its place under
/// the caps until dropped.
#[derive(Debug)]
pub struct Guarded {
    io: Stream,
    info: TcpConnectInfo,
    received: usize,
    opened: Instant,
    last_read: Instant,
    timer: Pin<Box<Sleep>>,
    /// Its place under the caps; also the port's limits and metrics.
    permit: ConnPermit,
}

impl Guarded {
    /// The next instant at which a deadline might have passed.
    fn next_deadline(&self) -> Instant {
        let l = &self.permit.tracker.limits;
        let mut at = self.last_read + l.idle;
        if self.received < l.preface {
            at = at.min(self.opened + l.handshake);
        }
        if let Some(age) = l.max_age {
            at = at.min(self.opened + age);
        }
        at
    }

    /// Which deadline has passed at `now`, if any.
    fn expired(&self, now: Instant) -> Option<&'static str> {
        let l = &self.permit.tracker.limits;
        if self.received < l.preface && now >= self.opened + l.handshake {
            Some("preface_timeout")
        } else if now >= self.last_read + l.idle {
            Some("idle_timeout")
        } else if l.max_age.is_some_and(|age| now >= self.opened + age) {
            Some("max_age")
        } else {
            None
        }
    }

    /// Polls the deadline timer: an error once a deadline has passed.
    fn poll_deadlines(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if let Some(reason) = self.expired(Instant::now()) {
                let tracker = &self.permit.tracker;
                closed(tracker, reason);
                tracing::debug!(port = tracker.limits.port, peer = ?self.info.remote_addr, reason, "closing connection");
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, reason));
            }
            let next = self.next_deadline();
            self.timer.as_mut().reset(next);
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                if n > 0 {
                    this.received = this.received.saturating_add(n);
                    this.last_read = Instant::now();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.poll_deadlines(cx) {
                Poll::Ready(e) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl Connected for Guarded {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.info.clone()
    }
}

/// Accepts on `listener` until `stop` is set, handing each connection that passes the
/// caps and its TLS handshake (if `tls`: each connection with the configuration current
/// when it was accepted, see [`super::reload`]) to the returned channel, with its peer.
pub fn accept(
    listener: TcpListener,
    tls: Option<watch::Receiver<Arc<ServerConfig>>>,
    limits: ConnLimits,
    metrics: ConnMetrics,
    mut stop: watch::Receiver<bool>,
) -> mpsc::Receiver<(Guarded, SocketAddr)> {
    let (tx, rx) = mpsc::channel(64);
    let tracker = Arc::new(Tracker {
        limits,
        counts: Mutex::new((0, HashMap::new())),
        metrics,
    });
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|s| *s) => return,
            };
            let (tcp, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors or memory, or the peer reset before accept:
                    // never spin on it.
                    tracing::warn!(port = tracker.limits.port, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let permit = match tracker.acquire(peer.ip()) {
                Ok(permit) => permit,
                Err(reason) => {
                    tracker
                        .metrics
                        .refused
                        .with_label_values(&[tracker.limits.port, reason])
                        .inc();
                    tracing::debug!(port = tracker.limits.port, %peer, reason, "connection refused");
                    drop(tcp);
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let tls = tls
                .as_ref()
                .map(|current| TlsAcceptor::from(current.borrow().clone()));
            let (tracker, tx) = (tracker.clone(), tx.clone());
            tokio::spawn(async move {
                let opened = Instant::now();
                let info = TcpConnectInfo {
                    local_addr: tcp.local_addr().ok(),
                    remote_addr: Some(peer),
                };
                let handshake = tracker.limits.handshake;
                let io = match tls {
                    None => Stream::Plain(tcp),
                    Some(acceptor) => {
                        match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
                            Ok(Err(e)) => {
                                closed(&tracker, "tls_failed");
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                closed(&tracker, "handshake_timeout");
                                return;
                            }
                        }
                    }
                };
                let mut guarded = Guarded {
                    io,
                    info,
                    received: 0,
                    opened,
                    last_read: opened,
                    timer: Box::pin(tokio::time::sleep_until(opened)),
                    permit,
                };
                let next = guarded.next_deadline();
                guarded.timer.as_mut().reset(next);
                let _ = tx.send((guarded, peer)).await;
            });
        }
    });
    rx
}

fn closed(tracker: &Tracker, reason: &str) {
    tracker
        .metrics
        .closed
        .with_label_values(&[tracker.limits.port, reason])
        .inc();
}

/// The accepted connections as axum's listener (the metrics port).
pub struct ChannelListener {
    rx: mpsc::Receiver<(Guarded, SocketAddr)>,
    local: SocketAddr,
}

impl ChannelListener {
    /// Connections from `rx`, for a listener bound to `local`.
    pub fn new(rx: mpsc::Receiver<(Guarded, SocketAddr)>, local: SocketAddr) -> Self {
        ChannelListener { rx, local }
    }
}

impl axum::serve::Listener for ChannelListener {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Guarded, SocketAddr) {
        match self.rx.recv().await {
            Some(pair) => pair,
            // The acceptor stopped (shutdown): no more connections, ever.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// The accepted connections as tonic's incoming stream (the gRPC port).
pub fn incoming(
    rx: mpsc::Receiver<(Guarded, SocketAddr)>,
) -> impl futures::Stream<Item = Result<Guarded, io::Error>> {
    futures::StreamExt::map(
        tokio_stream::wrappers::ReceiverStream::new(rx),
        |(io, _)| Ok(io),
    )
}
