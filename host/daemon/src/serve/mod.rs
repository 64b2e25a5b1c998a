//! `vigil serve`: the appliance as a network service.
//!
//! Start-up order matters to operators: the gRPC port and the metrics port are bound
//! first (so a probe gets an answer at once) with gRPC health NOT_SERVING; the backends
//! are then opened and self-tested off the runtime, and health turns SERVING only when
//! at least one passed. Once both ports are bound, one JSON line on standard output
//! names them (`{"event":"listening","grpc":"...","metrics":"..."}`), so a supervisor
//! or a test started with port 0 learns the real ports; logs go to standard error.
//!
//! Shutdown on SIGTERM or SIGINT: health turns NOT_SERVING, new requests are refused
//! with UNAVAILABLE (clients retry elsewhere), requests already accepted finish and are
//! answered, then the process exits; after the grace period it exits regardless.

pub mod admission;
pub mod config;
pub mod error;
pub mod metrics;
pub mod scheduler;
pub mod service;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use vigil_proto::v1::verifier_server::VerifierServer;

pub use config::ServeArgs;
use config::ServeConfig;
use metrics::Metrics;
use scheduler::Scheduler;
use service::VerifierService;

/// The gRPC service name health is reported under (besides the empty "whole server").
const SERVICE_NAME: &str = "vigil.v1.Verifier";

/// Runs `vigil serve` until a shutdown signal.
pub fn run(args: Box<ServeArgs>) -> anyhow::Result<()> {
    let config = ServeConfig::load(&args)?;
    let io_threads = config.io_threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get().min(4))
            .unwrap_or(2)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(io_threads.max(1))
        .thread_name("vigil-io")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new()?);
    let scheduler = Scheduler::start(config.scheduler(), metrics.clone());
    let serving = Arc::new(AtomicBool::new(false));

    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, ServingStatus::NotServing).await;

    let grpc_listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let grpc_addr = grpc_listener.local_addr()?;
    // Accepted connections get TCP_NODELAY here: the builder's own setting only applies
    // to listeners it binds. Without it, a small response's trailers wait for the
    // client's delayed ACK (about 40 ms on Linux).
    let incoming = TcpIncoming::from(grpc_listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(60)));
    let (stop_tx, stop_rx) = watch::channel(false);

    let mut metrics_addr = None;
    let mut metrics_task = None;
    if let Some(addr) = config.metrics_listen {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics"))?;
        metrics_addr = Some(listener.local_addr()?);
        let stopped = stopped(stop_rx.clone());
        metrics_task = Some(tokio::spawn(metrics::serve_http(
            listener,
            metrics.clone(),
            serving.clone(),
            stopped,
        )));
    }

    let mut builder = Server::builder()
        .http2_adaptive_window(Some(true))
        .max_concurrent_streams(Some(1024));
    let tls = match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => {
            let read = |p: &std::path::Path| {
                std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
            };
            let mut tls =
                ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
            if let Some(ca) = &config.tls.client_ca {
                tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
            }
            builder = builder.tls_config(tls).context("invalid TLS settings")?;
            if config.tls.client_ca.is_some() {
                "mutual TLS"
            } else {
                "TLS"
            }
        }
        _ => "plaintext",
    };

    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(vigil_proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("cannot build the reflection service")?;
    let verifier = VerifierServer::new(VerifierService::new(scheduler.clone(), metrics.clone()))
        .max_decoding_message_size(config.max_message_bytes)
        .max_encoding_message_size(config.max_message_bytes);

    let shutdown = {
        let health = health.clone();
        let scheduler = scheduler.clone();
        let serving = serving.clone();
        let stopped = stopped(stop_rx.clone());
        async move {
            stopped.await;
            tracing::info!("shutting down: finishing accepted work");
            serving.store(false, Ordering::Release);
            set_health(&health, ServingStatus::NotServing).await;
            scheduler.close();
        }
    };
    let server = builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(verifier)
        .serve_with_incoming_shutdown(incoming, shutdown);

    announce(grpc_addr, metrics_addr);
    tracing::info!(grpc = %grpc_addr, security = tls, "listening");

    // Signals: the first starts a graceful shutdown.
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop_tx.send(true);
    });

    // Open and self-test the backends off the runtime; health follows.
    let starter = {
        let scheduler = scheduler.clone();
        let health = health.clone();
        let serving = serving.clone();
        let choices = config.backend_choices()?;
        let threads = config.threads;
        let measure_crossover = config.queue.small_batch_signatures.is_none();
        tokio::spawn(async move {
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
            if let Some(threshold) = crossover {
                scheduler.set_small_batch_signatures(threshold);
            }
            let names: Vec<String> = opened.iter().map(|b| b.info().name).collect();
            scheduler.set_backends(opened);
            serving.store(true, Ordering::Release);
            set_health(&health, ServingStatus::Serving).await;
            tracing::info!(backends = ?names, "serving");
            // Health follows the backends: NOT_SERVING once every one has failed.
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while serving.load(Ordering::Acquire) {
                tick.tick().await;
                if !scheduler.serving() && serving.swap(false, Ordering::AcqRel) {
                    tracing::error!("every backend has failed: NOT_SERVING");
                    set_health(&health, ServingStatus::NotServing).await;
                }
            }
            anyhow::Ok(())
        })
    };

    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let grace_rx = stop_rx.clone();
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
            () = async {
                stopped(grace_rx.clone()).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(seconds = grace.as_secs(), "grace period over; exiting with work unfinished");
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

async fn set_health(health: &tonic_health::server::HealthReporter, status: ServingStatus) {
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
