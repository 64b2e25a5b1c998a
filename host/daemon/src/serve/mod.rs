//! `vigil serve`: the appliance as a network service.
//!
//! Start-up order matters to operators: the gRPC port and the metrics port are bound
//! first (so a probe gets an answer at once) with gRPC health NOT_SERVING; the backends
//! are then opened and self-tested off the runtime, and health turns SERVING only when
//! at least one passed. Once both ports are bound, one JSON line on standard output
//! names them (`{"event":"listening","grpc":"...","metrics":"..."}`), so a supervisor
//! or a test started with port 0 learns the real ports; logs go to standard error.
//!
//! Settings are all checked (ranges included) before anything is bound or printed; the
//! file-descriptor limit is raised to its hard limit and must hold the connection caps
//! ([`conn`]).
//!
//! Shutdown on SIGTERM or SIGINT: health turns NOT_SERVING, the listeners close,
//! connections get GOAWAY, new requests are refused with UNAVAILABLE (clients retry
//! elsewhere), streams stop reading and end once their accepted requests are answered,
//! and the process exits as soon as every accepted call has been answered ([`calls`]),
//! whatever connections are still open; after the grace period it exits regardless.

pub mod admission;
pub mod calls;
pub mod config;
pub mod conn;
pub mod error;
pub mod fair;
pub mod frames;
pub mod metrics;
pub mod notify;
pub mod proofs;
pub mod reload;
pub mod scheduler;
pub mod service;
pub mod shed;
pub mod tls;
pub mod trim;
pub mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use vigil_proto::v1::verifier_server::VerifierServer;

pub use config::ServeArgs;
use config::ServeConfig;
use metrics::Metrics;
use scheduler::Scheduler;
use service::VerifierService;

/// The gRPC service name health is reported under (besides the empty "whole server").
const SERVICE_NAME: &str = "vigil.v1.Verifier";

/// File descriptors kept for everything but client connections (backends, devices,
/// logs, the runtime's own).
const RESERVED_FDS: u64 = 256;

/// Connections at most on the metrics port (a scrape takes milliseconds).
const METRICS_CONNECTIONS: usize = 64;

/// Runs `vigil serve` until a shutdown signal.
pub fn run(args: Box<ServeArgs>) -> anyhow::Result<()> {
    // Every setting is checked before anything is bound, opened or printed.
    let config = ServeConfig::load(&args)?;
    let tls = match (&config.tls.cert, &config.tls.key) {
        (Some(_), Some(_)) => Some(tls::server_config(&config.tls)?),
        _ => None,
    };
    let connections = connection_budget(&config)?;
    let io_threads = config
        .io_threads
        .unwrap_or_else(|| config::machine_cores().min(4));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(io_threads.max(1))
        .thread_name("vigil-io")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(serve(config, tls, connections));
    // A backend still starting (its self-test on a blocking thread) must not hold the
    // exit.
    runtime.shutdown_timeout(Duration::from_millis(500));
    result
}

/// Raises the soft file-descriptor limit to the hard one and returns the gRPC
/// connection cap it allows: the configured one (an error if the limit cannot hold it)
/// or [`config::DEFAULT_MAX_CONNECTIONS`], lowered to fit.
fn connection_budget(config: &ServeConfig) -> anyhow::Result<usize> {
    let limit = raise_fd_limit();
    let fixed = RESERVED_FDS + METRICS_CONNECTIONS as u64;
    let room = usize::try_from(limit.saturating_sub(fixed)).unwrap_or(usize::MAX);
    match config.limits.connections {
        Some(wanted) if wanted > room => anyhow::bail!(
            "--max-connections {wanted} needs {} file descriptors, but the limit is {limit} \
             (raise LimitNOFILE / ulimit -n, or lower --max-connections)",
            wanted as u64 + fixed
        ),
        Some(wanted) => Ok(wanted),
        None if room < 16 => anyhow::bail!(
            "the file-descriptor limit ({limit}) leaves no room for client connections; \
             raise LimitNOFILE / ulimit -n"
        ),
        None => {
            let chosen = config::DEFAULT_MAX_CONNECTIONS.min(room);
            if chosen < config::DEFAULT_MAX_CONNECTIONS {
                tracing::warn!(
                    limit,
                    max_connections = chosen,
                    "the file-descriptor limit lowers the connection cap"
                );
            }
            Ok(chosen)
        }
    }
}

/// The soft `RLIMIT_NOFILE` after raising it to the hard limit (where allowed).
fn raise_fd_limit() -> u64 {
    #[cfg(unix)]
    {
        use nix::sys::resource::{getrlimit, setrlimit, Resource};
        match getrlimit(Resource::RLIMIT_NOFILE) {
            Ok((soft, hard)) => {
                if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                    return hard;
                }
                soft
            }
            Err(_) => 1024,
        }
    }
    #[cfg(not(unix))]
    {
        u64::MAX
    }
}

async fn serve(
    config: ServeConfig,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    max_connections: usize,
) -> anyhow::Result<()> {
    notify::status("starting: opening and self-testing backends");
    if let Some(period) = notify::watchdog_period() {
        tracing::info!(
            seconds = period.as_secs_f64(),
            "pinging the systemd watchdog"
        );
        tokio::spawn(notify::watchdog(period));
    }
    let metrics = Arc::new(Metrics::new()?);
    let scheduler = Scheduler::start(config.scheduler(), metrics.clone());
    let serving = Arc::new(AtomicBool::new(false));
    let calls = calls::Calls::new(metrics.calls_in_flight.clone());
    let conn_metrics = conn::ConnMetrics {
        open: metrics.connections_open.clone(),
        refused: metrics.connections_refused.clone(),
        closed: metrics.connections_closed.clone(),
    };
    let limits = &config.limits;
    let handshake = Duration::from_millis(limits.handshake_timeout_ms);

    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, &metrics.serving, ServingStatus::NotServing).await;

    let grpc_listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let grpc_addr = grpc_listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let security = match (&tls, &config.tls.client_ca) {
        (Some(_), Some(_)) => "mutual TLS",
        (Some(_), None) => "TLS",
        (None, _) => "plaintext",
    };
    let (reloader, current_tls) = match tls {
        Some(initial) => {
            let (reloader, current) = reload::TlsReloader::new(
                config.tls.clone(),
                initial,
                reload::ReloadMetrics {
                    reloads: metrics.tls_reloads.clone(),
                    failing: metrics.tls_reload_failing.clone(),
                },
            );
            (Some(reloader), Some(current))
        }
        None => (None, None),
    };
    let reload_interval =
        Some(Duration::from_secs(config.tls.reload_interval_secs)).filter(|d| !d.is_zero());
    tokio::spawn(reload::run(
        reloader,
        reload_interval,
        serving.clone(),
        stop_rx.clone(),
    ));
    let accepted = conn::accept(
        grpc_listener,
        current_tls,
        conn::ConnLimits {
            port: "grpc",
            max: max_connections,
            per_ip: limits.connections_per_ip,
            handshake,
            preface: conn::HTTP2_PREFACE,
            idle: Duration::from_secs(limits.idle_timeout_secs),
            max_age: None,
        },
        conn_metrics.clone(),
        stop_rx.clone(),
    );

    let mut metrics_addr = None;
    let mut metrics_task = None;
    if let Some(addr) = config.metrics_listen {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics"))?;
        let local = listener.local_addr()?;
        metrics_addr = Some(local);
        let accepted = conn::accept(
            listener,
            None,
            conn::ConnLimits {
                port: "metrics",
                max: METRICS_CONNECTIONS,
                per_ip: METRICS_CONNECTIONS,
                handshake,
                // "GET / HTTP/1.1" is 14 bytes; a request line is at least that.
                preface: 14,
                idle: handshake,
                max_age: Some(Duration::from_secs(60)),
            },
            conn_metrics,
            stop_rx.clone(),
        );
        let stopped = stopped(stop_rx.clone());
        metrics_task = Some(tokio::spawn(metrics::serve_http(
            conn::ChannelListener::new(accepted, local),
            metrics.clone(),
            serving.clone(),
            stopped,
        )));
    }

    let layers = tower::ServiceBuilder::new()
        .layer(calls::CallsLayer::new(calls.clone()))
        .layer(shed::ShedLayer::new(
            scheduler.admission(),
            metrics.shed.clone(),
            metrics.requests.clone(),
        ))
        .layer(frames::FrameGuardLayer::new(config.max_message_bytes))
        .into_inner();
    let mut builder = Server::builder()
        .http2_adaptive_window(Some(true))
        .max_concurrent_streams(Some(
            u32::try_from(limits.streams_per_connection).unwrap_or(u32::MAX),
        ))
        .layer(layers);

    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(vigil_proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("cannot build the reflection service")?;
    let verifier = VerifierServer::new(VerifierService::new(
        scheduler.clone(),
        config.wire(),
        metrics.clone(),
        stop_rx.clone(),
    ))
    .max_decoding_message_size(config.max_message_bytes)
    .max_encoding_message_size(config.max_message_bytes);

    let shutdown = {
        let health = health.clone();
        let scheduler = scheduler.clone();
        let serving = serving.clone();
        let gauge = metrics.serving.clone();
        let stopped = stopped(stop_rx.clone());
        async move {
            stopped.await;
            tracing::info!("shutting down: finishing accepted work");
            serving.store(false, Ordering::Release);
            set_health(&health, &gauge, ServingStatus::NotServing).await;
            scheduler.close();
        }
    };
    let server = builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(verifier)
        .serve_with_incoming_shutdown(conn::incoming(accepted), shutdown);

    tokio::spawn(trim::when_quiet(calls.clone(), scheduler.admission()));
    announce(grpc_addr, metrics_addr);
    tracing::info!(grpc = %grpc_addr, security, max_connections, "listening");

    // Signals: the first starts a graceful shutdown.
    tokio::spawn(async move {
        wait_for_signal().await;
        notify::stopping();
        let _ = stop_tx.send(true);
    });

    // Open and self-test the backends off the runtime; health follows.
    let starter = {
        let scheduler = scheduler.clone();
        let health = health.clone();
        let serving = serving.clone();
        let gauge = metrics.serving.clone();
        let start_failures = metrics.device_start_failures.clone();
        let choices = config.backend_choices()?;
        let threads = config.threads;
        let measure_crossover = config.queue.small_batch_signatures.is_none();
        tokio::spawn(async move {
            let opening = std::time::Instant::now();
            let (opened, crossover) = tokio::task::spawn_blocking(move || {
                let opened = crate::backends::open_list(&choices, threads)?;
                let crossover = if measure_crossover {
                    calibrate(&opened)
                } else {
                    None
                };
                anyhow::Ok((opened, crossover))
            })
            .await
            .context("backend start-up task failed")??;
            for (backend, failed) in vigil_runtime::start_failures() {
                if failed > 0 {
                    tracing::warn!(
                        %backend,
                        devices = failed,
                        "devices failed to start or failed their self-test and serve nothing"
                    );
                }
                start_failures
                    .with_label_values(&[&backend])
                    .set(i64::try_from(failed).unwrap_or(i64::MAX));
            }
            if let Some(threshold) = crossover {
                scheduler.set_small_batch_signatures(threshold);
            }
            let names: Vec<String> = opened.iter().map(|b| b.info().name).collect();
            scheduler.set_backends(opened);
            serving.store(true, Ordering::Release);
            set_health(&health, &gauge, ServingStatus::Serving).await;
            tracing::info!(
                backends = ?names,
                seconds = opening.elapsed().as_secs_f64(),
                "serving"
            );
            notify::ready(&format!("serving on {grpc_addr} ({})", names.join(", ")));
            // Health follows the backends: NOT_SERVING once every one has failed.
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while serving.load(Ordering::Acquire) {
                tick.tick().await;
                if !scheduler.serving() && serving.swap(false, Ordering::AcqRel) {
                    tracing::error!("every backend has failed: NOT_SERVING");
                    notify::status("NOT SERVING: every backend has failed");
                    set_health(&health, &gauge, ServingStatus::NotServing).await;
                }
            }
            anyhow::Ok(())
        })
    };

    let grace = Duration::from_secs(config.shutdown_grace_secs);
    tokio::pin!(server);
    tokio::pin!(starter);
    let mut started = false;
    loop {
        tokio::select! {
            result = &mut server => {
                result.context("gRPC server failed")?;
                break;
            }
            result = &mut starter, if !started => {
                started = true;
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(e.context("no backend could start")),
                    Err(e) => anyhow::bail!("backend start-up task failed: {e}"),
                }
            }
            // Once stopping, exit as soon as every accepted call has been answered:
            // idle connections and idle streams hold nothing.
            () = async {
                stopped(stop_rx.clone()).await;
                calls.idle().await;
            } => {
                tracing::info!("accepted work answered");
                break;
            }
            () = async {
                stopped(stop_rx.clone()).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(
                    seconds = grace.as_secs(),
                    calls = calls.count(),
                    "grace period over; exiting with work unfinished"
                );
                break;
            }
        }
    }
    if let Some(task) = metrics_task {
        task.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// Prints the bound addresses as one JSON line on standard output.
fn announce(grpc: std::net::SocketAddr, metrics: Option<std::net::SocketAddr>) {
    use std::io::Write as _;
    let line = serde_json::json!({
        "event": "listening",
        "grpc": grpc.to_string(),
        "metrics": metrics.map(|m| m.to_string()),
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Sets the gRPC health status, and `vigil_serving` with it.
async fn set_health(
    health: &tonic_health::server::HealthReporter,
    gauge: &prometheus::IntGauge,
    status: ServingStatus,
) {
    gauge.set(i64::from(status == ServingStatus::Serving));
    health.set_service_status("", status).await;
    health.set_service_status(SERVICE_NAME, status).await;
}

/// Resolves once the stop flag is set (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM"),
                    _ = int.recv() => tracing::info!("SIGINT"),
                }
            }
            _ => {
                tracing::error!("cannot install signal handlers; stop with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The measured CPU/accelerator crossover, when the first backend is an accelerator and
/// a CPU backend is also in use. A failed measurement keeps the default (logged).
fn calibrate(opened: &[Arc<dyn vigil_core::Backend>]) -> Option<usize> {
    let cpu = opened.iter().find(|b| b.info().name == "cpu")?;
    let device = opened.iter().find(|b| b.info().name != "cpu")?;
    let name = device.info().name;
    let started = std::time::Instant::now();
    match crate::crossover::measure(&**device, &**cpu, &crate::crossover::SIZES) {
        Ok(c) => {
            for p in &c.points {
                tracing::info!(
                    backend = %name,
                    signatures = p.size,
                    device_ms = p.device.as_secs_f64() * 1e3,
                    cpu_ms = p.cpu.as_secs_f64() * 1e3,
                    "crossover measurement"
                );
            }
            if c.threshold == usize::MAX {
                tracing::warn!(
                    backend = %name,
                    seconds = started.elapsed().as_secs_f64(),
                    "the device is slower than the CPU at every measured size: it gets no \
                     batch by size and serves only while the CPU is out of service"
                );
            } else {
                tracing::info!(
                    backend = %name,
                    small_batch_signatures = c.threshold,
                    seconds = started.elapsed().as_secs_f64(),
                    "batches below the measured crossover go to the CPU"
                );
            }
            Some(c.threshold)
        }
        Err(e) => {
            tracing::warn!(error = %e, "crossover measurement failed; keeping the default");
            None
        }
    }
}
