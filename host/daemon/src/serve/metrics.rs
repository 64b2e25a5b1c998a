//! Prometheus metrics of the appliance, served as text on HTTP `/metrics`.
//!
//! Names follow Prometheus conventions: a `vigil_` prefix, base units (seconds, bytes),
//! `_total` on counters, histograms with explicit buckets chosen for this workload
//! (latencies from 50 µs to 10 s, batch sizes from 1 to 1M signatures). Every metric is
//! registered once in a private registry, so a test can read exactly what the appliance
//! did. Label values come from a closed set (methods, codes, backends, profiles) so the
//! series count is bounded whatever clients send.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Latency buckets in seconds: 50 µs to 10 s, roughly ×2 apart.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// Batch size buckets in signatures: powers of 4 from 1 to 1M.
const SIZE_BUCKETS: &[f64] = &[
    1.0,
    4.0,
    16.0,
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
];

/// Every metric the appliance exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// RPCs (stream messages count one each) by method and gRPC code name.
    pub requests: IntCounterVec,
    /// Transactions by backend, profile and result (`valid`, `invalid`, `malformed`).
    pub transactions: IntCounterVec,
    /// Signatures by backend, profile and result (`valid`, `invalid`).
    pub signatures: IntCounterVec,
    /// Signatures per batch handed to a backend, by backend.
    pub batch_signatures: HistogramVec,
    /// Requests coalesced into one backend batch.
    pub batch_requests: HistogramVec,
    /// Admitted requests waiting for a batch, by profile.
    pub queue_requests: IntGaugeVec,
    /// Admitted signatures waiting for a batch, by profile.
    pub queue_signatures: IntGaugeVec,
    /// Admitted transaction bytes not yet answered (all profiles).
    pub queue_bytes: IntGauge,
    /// Admitted signatures not yet answered (all profiles).
    pub queue_admitted_signatures: IntGauge,
    /// The admission queue's capacity in signatures (the setting, for alerts on depth).
    pub queue_capacity_signatures: IntGauge,
    /// The admission queue's capacity in transaction bytes.
    pub queue_capacity_bytes: IntGauge,
    /// 1 while gRPC health says SERVING (backends open and self-tested, not draining).
    pub serving: IntGauge,
    /// Seconds by stage: `queue` (admission to dispatch), `verify` (backend time per
    /// batch), `total` (admission to response, per request).
    pub stage_seconds: HistogramVec,
    /// Requests refused by admission control, by reason.
    pub shed: IntCounterVec,
    /// Batches re-run on another backend after one failed, by failed and new backend.
    pub fallbacks: IntCounterVec,
    /// Devices that failed and left service while their backend served on with its
    /// other devices, by backend.
    pub device_failures: IntCounterVec,
    /// 1 when a backend passed its self-test and has not failed since, else 0.
    pub backend_healthy: IntGaugeVec,
    /// Batches handed to a backend and not yet answered.
    pub backend_in_flight: IntGaugeVec,
    /// Always 1; the build's version and commit are its labels.
    pub build_info: IntGaugeVec,
    /// Connections open, by port (`grpc`, `metrics`).
    pub connections_open: IntGaugeVec,
    /// Connections closed unread because a cap was reached, by port and cap.
    pub connections_refused: IntCounterVec,
    /// Connections closed by a timeout or a failed handshake, by port and reason.
    pub connections_closed: IntCounterVec,
    /// Verifier calls (Verify, VerifyStream, MerkleRoot, Devices) in progress.
    pub calls_in_flight: IntGauge,
    /// `vigil_tls_reloads_total{trigger, result}`.
    pub tls_reloads: IntCounterVec,
    /// `vigil_tls_reload_failing`.
    pub tls_reload_failing: IntGauge,
    /// `vigil_devices_in_service{backend}`.
    pub devices_in_service: IntGaugeVec,
    /// `vigil_device_start_failures{backend}`.
    pub device_start_failures: IntGaugeVec,
}

impl Metrics {
    /// Registers every metric in a fresh registry (also the process collector: resident
    /// memory, CPU seconds, open files).
    pub fn new() -> anyhow::Result<Metrics> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| -> anyhow::Result<IntCounterVec> {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| -> anyhow::Result<IntGaugeVec> {
            let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let histogram = |name: &str,
                         help: &str,
                         labels: &[&str],
                         buckets: &[f64]|
         -> anyhow::Result<HistogramVec> {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(buckets.to_vec()),
                labels,
            )?;
            registry.register(Box::new(h.clone()))?;
            Ok(h)
        };
        let queue_bytes = IntGauge::new(
            "vigil_queue_bytes",
            "Transaction bytes admitted and not yet answered.",
        )?;
        registry.register(Box::new(queue_bytes.clone()))?;
        let queue_admitted_signatures = IntGauge::new(
            "vigil_queue_admitted_signatures",
            "Signatures admitted and not yet answered (all profiles).",
        )?;
        registry.register(Box::new(queue_admitted_signatures.clone()))?;
        let plain = |name: &str, help: &str| -> anyhow::Result<IntGauge> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let queue_capacity_signatures = plain(
            "vigil_queue_capacity_signatures",
            "Signatures the admission queue holds at most (the setting).",
        )?;
        let queue_capacity_bytes = plain(
            "vigil_queue_capacity_bytes",
            "Transaction bytes the admission queue holds at most (the setting).",
        )?;
        let serving = plain(
            "vigil_serving",
            "1 while the gRPC health status is SERVING, else 0 (starting, every backend failed, or draining).",
        )?;
        let calls_in_flight = IntGauge::new(
            "vigil_calls_in_flight",
            "Verifier calls begun and not yet fully answered.",
        )?;
        registry.register(Box::new(calls_in_flight.clone()))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        let metrics = Metrics {
            requests: counter(
                "vigil_requests_total",
                "Requests answered, by method and gRPC status code.",
                &["method", "code"],
            )?,
            transactions: counter(
                "vigil_transactions_total",
                "Transactions verified, by backend, profile and result.",
                &["backend", "profile", "result"],
            )?,
            signatures: counter(
                "vigil_signatures_total",
                "Signatures verified, by backend, profile and result.",
                &["backend", "profile", "result"],
            )?,
            batch_signatures: histogram(
                "vigil_batch_signatures",
                "Signatures per batch handed to a backend.",
                &["backend"],
                SIZE_BUCKETS,
            )?,
            batch_requests: histogram(
                "vigil_batch_requests",
                "Requests coalesced into one backend batch.",
                &["backend"],
                SIZE_BUCKETS,
            )?,
            queue_requests: gauge(
                "vigil_queue_requests",
                "Requests admitted and waiting for a batch, by profile.",
                &["profile"],
            )?,
            queue_signatures: gauge(
                "vigil_queue_signatures",
                "Signatures admitted and waiting for a batch, by profile.",
                &["profile"],
            )?,
            queue_bytes,
            queue_admitted_signatures,
            queue_capacity_signatures,
            queue_capacity_bytes,
            serving,
            stage_seconds: histogram(
                "vigil_stage_duration_seconds",
                "Time spent per stage: queue (admitted to dispatched), verify (backend \
                 time per batch), total (admitted to answered, per request).",
                &["stage"],
                LATENCY_BUCKETS,
            )?,
            shed: counter(
                "vigil_shed_total",
                "Requests refused with RESOURCE_EXHAUSTED by admission control, by reason.",
                &["reason"],
            )?,
            fallbacks: counter(
                "vigil_backend_fallbacks_total",
                "Batches re-run on another backend after one failed.",
                &["from", "to"],
            )?,
            device_failures: counter(
                "vigil_device_failures_total",
                "Devices that failed and left service while their backend served on with \
                 its other devices.",
                &["backend"],
            )?,
            backend_healthy: gauge(
                "vigil_backend_healthy",
                "1 when the backend passed its self-test and has not failed since.",
                &["backend"],
            )?,
            backend_in_flight: gauge(
                "vigil_backend_in_flight_batches",
                "Batches handed to a backend and not yet answered.",
                &["backend"],
            )?,
            build_info: gauge(
                "vigil_build_info",
                "Always 1; labels carry the build's version and commit.",
                &["version", "commit"],
            )?,
            connections_open: gauge(
                "vigil_connections_open",
                "Client connections open, by port.",
                &["port"],
            )?,
            connections_refused: counter(
                "vigil_connections_refused_total",
                "Connections closed unread because a connection cap was reached.",
                &["port", "reason"],
            )?,
            connections_closed: counter(
                "vigil_connections_closed_total",
                "Connections closed by a handshake, preface, idle or age limit.",
                &["port", "reason"],
            )?,
            calls_in_flight,
            tls_reloads: counter(
                "vigil_tls_reloads_total",
                "TLS certificate and client CA reloads, by what asked for one (signal or \
                 file change) and how it went (ok or error: the previous files serve on).",
                &["trigger", "result"],
            )?,
            tls_reload_failing: {
                let g = IntGauge::new(
                    "vigil_tls_reload_failing",
                    "1 while the TLS files on disk cannot be loaded and the previous ones \
                     serve on; 0 otherwise.",
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            devices_in_service: gauge(
                "vigil_devices_in_service",
                "Devices of a multi-device backend (GPUs, cards) in service now.",
                &["backend"],
            )?,
            device_start_failures: gauge(
                "vigil_device_start_failures",
                "Devices a backend found whose start or known-answer self-test failed when \
                 it opened (they serve nothing until a restart).",
                &["backend"],
            )?,
            registry,
        };
        metrics
            .build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), env!("VIGIL_COMMIT")])
            .set(1);
        Ok(metrics)
    }

    /// The registry in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families, and ours are.
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// What the HTTP endpoint needs: the metrics and whether the appliance is serving.
#[derive(Clone)]
struct HttpState {
    metrics: Arc<Metrics>,
    serving: Arc<std::sync::atomic::AtomicBool>,
}

/// Serves `GET /metrics` (Prometheus text) and `GET /healthz` (200 once serving, else
/// 503, for probes that do not speak gRPC) until `shutdown` resolves.
pub async fn serve_http(
    listener: super::conn::ChannelListener,
    metrics: Arc<Metrics>,
    serving: Arc<std::sync::atomic::AtomicBool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = axum::Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(healthz))
        .with_state(HttpState { metrics, serving });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("metrics endpoint failed")
}

async fn metrics_page(State(state): State<HttpState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn healthz(State(state): State<HttpState>) -> impl IntoResponse {
    if state.serving.load(std::sync::atomic::Ordering::Acquire) {
        (StatusCode::OK, "serving\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not serving\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_conventional_names() {
        let m = Metrics::new().unwrap();
        m.requests.with_label_values(&["Verify", "OK"]).inc_by(3);
        m.stage_seconds.with_label_values(&["total"]).observe(0.002);
        let text = m.render();
        assert!(text.contains("vigil_requests_total{code=\"OK\",method=\"Verify\"} 3"));
        assert!(
            text.contains("vigil_stage_duration_seconds_bucket{stage=\"total\",le=\"0.002\"} 1")
        );
        assert!(text.contains("vigil_build_info{"));
        for line in text.lines().filter(|l| l.starts_with("# TYPE vigil_")) {
            let mut parts = line.split_whitespace().skip(2);
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            if kind == "counter" {
                assert!(name.ends_with("_total"), "{name}");
            }
        }
    }
}
