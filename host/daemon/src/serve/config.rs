//! `vigil serve` settings: an optional TOML file, overridden by flags.
//!
//! Operators deploy with a file (systemd, a Kubernetes ConfigMap) and override a value
//! or two on the command line; both name the same settings. Unknown keys in the file are
//! an error, so a misspelt setting is not silently ignored. The defaults are safe: gRPC
//! on loopback only, plaintext refused anywhere else unless asked for by name.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use serde::Deserialize;

use super::scheduler::SchedulerConfig;
use super::wire::RequestLimits;
use crate::backends::Choice;

/// Bytes in the largest Solana transaction.
const SOLANA_PACKET: usize = 1232;

/// Flags of `vigil serve`. Every flag overrides the same setting of `--config`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML settings file (keys as in `vigil serve --help`, with `_` for `-`; queue and
    /// TLS settings in `[queue]` and `[tls]` tables).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// gRPC address (default 127.0.0.1:50051).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// HTTP address for /metrics and /healthz (default 127.0.0.1:9464).
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// Backends to use, in order of preference, comma-separated (default auto).
    #[arg(long, value_delimiter = ',')]
    pub backend: Vec<Choice>,
    /// CPU backend worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Allow plaintext gRPC on an address that is not loopback.
    #[arg(long)]
    pub insecure_plaintext: bool,
    /// Largest request or response message, bytes (default 16 MiB: 10,000 transactions
    /// of 1,232 bytes with room to spare).
    #[arg(long)]
    pub max_message_bytes: Option<usize>,
    /// Seconds to finish accepted work after SIGTERM/SIGINT before exiting anyway.
    #[arg(long)]
    pub shutdown_grace_secs: Option<u64>,
    /// Server certificate chain (PEM). With --tls-key, serves TLS.
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// CA certificate(s) (PEM) that client certificates must chain to: mutual TLS.
    #[arg(long)]
    pub tls_client_ca: Option<PathBuf>,
    /// Seconds between checks of the TLS files for changes, which reload them without
    /// a restart (default 10; 0: only on SIGHUP, which always reloads them).
    #[arg(long)]
    pub tls_reload_interval_secs: Option<u64>,
    /// Queue capacity in signatures (admitted and not yet answered, all profiles).
    #[arg(long)]
    pub queue_signatures: Option<usize>,
    /// Queue capacity in bytes of transaction data.
    #[arg(long)]
    pub queue_bytes: Option<usize>,
    /// Signatures at which a coalesced batch is dispatched.
    #[arg(long)]
    pub max_batch_signatures: Option<usize>,
    /// Microseconds a batch waits for more requests after its first (default 0: batches
    /// fill while the backend is busy; tokio timers tick in milliseconds).
    #[arg(long)]
    pub coalesce_delay_us: Option<u64>,
    /// Batches under this many signatures go to the CPU (default: measured at start-up
    /// when an accelerator is in use, else 1,024).
    #[arg(long)]
    pub small_batch_signatures: Option<usize>,
    /// Batches in flight per backend.
    #[arg(long)]
    pub max_in_flight_batches: Option<usize>,
    /// Runtime threads for the network and scheduling (default: min(cores, 4)).
    #[arg(long)]
    pub io_threads: Option<usize>,
    /// Open client connections at most, on the gRPC port (default: 4,096, or fewer
    /// where the file-descriptor limit demands).
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Open connections from one IP address at most.
    #[arg(long)]
    pub max_connections_per_ip: Option<usize>,
    /// Concurrent calls (HTTP/2 streams) per connection at most.
    #[arg(long)]
    pub max_streams_per_connection: Option<usize>,
    /// Milliseconds a new connection has to finish its TLS handshake and send the
    /// HTTP/2 preface (or, on the metrics port, a request's headers).
    #[arg(long)]
    pub handshake_timeout_ms: Option<u64>,
    /// Seconds a connection may stay silent (no bytes received) before it is closed.
    /// Clients that keep idle channels open send HTTP/2 keepalive pings.
    #[arg(long)]
    pub idle_timeout_secs: Option<u64>,
    /// Inclusion proofs one MerkleRoot request may ask for.
    #[arg(long)]
    pub max_proofs: Option<usize>,
    /// Transactions one Verify request may carry.
    #[arg(long)]
    pub max_request_transactions: Option<usize>,
}

/// Limits on what one client, connection or request may cost.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Open gRPC connections at most; `None`: [`DEFAULT_MAX_CONNECTIONS`], or fewer
    /// where the file-descriptor limit demands.
    pub connections: Option<usize>,
    /// Open gRPC connections from one IP address at most.
    pub connections_per_ip: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub streams_per_connection: usize,
    /// Time to finish the TLS handshake and the HTTP/2 preface, milliseconds.
    pub handshake_timeout_ms: u64,
    /// Silence after which a connection is closed, seconds.
    pub idle_timeout_secs: u64,
    /// Inclusion proofs per MerkleRoot request.
    pub proofs: usize,
    /// Transactions per Verify request.
    pub request_transactions: usize,
}

/// Connections when `--max-connections` is not given (if file descriptors allow).
pub const DEFAULT_MAX_CONNECTIONS: usize = 4_096;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: None,
            // Generous for one node's channels; NATs and proxies may need more.
            connections_per_ip: 256,
            streams_per_connection: 256,
            handshake_timeout_ms: 10_000,
            idle_timeout_secs: 300,
            // About 3 MB of proofs at a million leaves.
            proofs: 4_096,
            request_transactions: vigil_proto::convert::DEFAULT_MAX_REQUEST_TRANSACTIONS,
        }
    }
}

/// TLS files, and how often they are checked for changes.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, PEM.
    pub cert: Option<PathBuf>,
    /// Private key, PEM.
    pub key: Option<PathBuf>,
    /// Client CA, PEM: when set, clients must present a certificate it signed.
    pub client_ca: Option<PathBuf>,
    /// Seconds between checks of the files for changes (a change reloads them; see
    /// [`super::reload`]); 0: reload on SIGHUP only.
    pub reload_interval_secs: u64,
}

/// How often the TLS files are checked when nothing is configured: a Kubernetes
/// Secret update takes about a minute to reach the pod, so this adds little to it.
pub const DEFAULT_TLS_RELOAD_SECS: u64 = 10;

impl Default for TlsFiles {
    fn default() -> Self {
        TlsFiles {
            cert: None,
            key: None,
            client_ca: None,
            reload_interval_secs: DEFAULT_TLS_RELOAD_SECS,
        }
    }
}

/// The CPU/accelerator routing threshold when none is configured or measured.
pub const DEFAULT_SMALL_BATCH: usize = 1_024;

/// Queue and coalescing settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// See [`SchedulerConfig::capacity_signatures`].
    pub signatures: usize,
    /// See [`SchedulerConfig::capacity_bytes`].
    pub bytes: usize,
    /// See [`SchedulerConfig::max_batch_signatures`].
    pub max_batch_signatures: usize,
    /// See [`SchedulerConfig::coalesce_delay`], microseconds.
    pub coalesce_delay_us: u64,
    /// See [`SchedulerConfig::small_batch_signatures`]. Unset: measured at start-up
    /// against the first accelerator ([`crate::crossover`]), else
    /// [`DEFAULT_SMALL_BATCH`].
    pub small_batch_signatures: Option<usize>,
    /// See [`SchedulerConfig::max_in_flight_batches`].
    pub max_in_flight_batches: usize,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            // About a second of work for a GPU, minutes for a CPU: deep enough to keep
            // any device busy, and bounded: see `bytes`.
            signatures: 1 << 20,
            // Queued bytes cost about twice over (the received frame and the batch), so
            // this keeps a flood's footprint near half a gigabyte.
            bytes: 192 << 20,
            max_batch_signatures: 16_384,
            // Coalescing comes from the backend being busy; see the scheduler's docs.
            coalesce_delay_us: 0,
            small_batch_signatures: None,
            max_in_flight_batches: 2,
        }
    }
}

/// Every setting of `vigil serve`, merged.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// gRPC address.
    pub listen: SocketAddr,
    /// HTTP metrics address; `None` (an empty string in the file) disables it.
    #[serde(deserialize_with = "optional_addr")]
    pub metrics_listen: Option<SocketAddr>,
    /// Backend names in order of preference.
    pub backends: Vec<String>,
    /// CPU backend threads.
    pub threads: Option<usize>,
    /// Plaintext allowed off loopback.
    pub insecure_plaintext: bool,
    /// Message size limit, bytes.
    pub max_message_bytes: usize,
    /// Grace period after a shutdown signal, seconds.
    pub shutdown_grace_secs: u64,
    /// Runtime threads for the network and scheduling.
    pub io_threads: Option<usize>,
    /// TLS files.
    pub tls: TlsFiles,
    /// Queue settings.
    pub queue: QueueSettings,
    /// Per-connection and per-request limits.
    pub limits: Limits,
}

fn optional_addr<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let s = String::deserialize(d)?;
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            backends: vec!["auto".into()],
            threads: None,
            insecure_plaintext: false,
            max_message_bytes: 16 << 20,
            shutdown_grace_secs: 30,
            io_threads: None,
            tls: TlsFiles::default(),
            queue: QueueSettings::default(),
            limits: Limits::default(),
        }
    }
}

impl ServeConfig {
    /// Reads the file (if any), applies the flags, and checks the result.
    pub fn load(args: &ServeArgs) -> anyhow::Result<ServeConfig> {
        let mut config = match &args.config {
            Some(path) => Self::from_file(path)?,
            None => ServeConfig::default(),
        };
        config.apply(args);
        config.check()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> anyhow::Result<ServeConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{}: invalid settings", path.display()))
    }

    fn apply(&mut self, a: &ServeArgs) {
        fn set<T: Clone>(slot: &mut T, flag: &Option<T>) {
            if let Some(v) = flag {
                *slot = v.clone();
            }
        }
        set(&mut self.listen, &a.listen);
        if a.metrics_listen.is_some() {
            self.metrics_listen = a.metrics_listen;
        }
        if !a.backend.is_empty() {
            self.backends = a.backend.iter().map(|c| choice_name(*c)).collect();
        }
        if a.threads.is_some() {
            self.threads = a.threads;
        }
        if a.io_threads.is_some() {
            self.io_threads = a.io_threads;
        }
        self.insecure_plaintext |= a.insecure_plaintext;
        set(&mut self.max_message_bytes, &a.max_message_bytes);
        set(&mut self.shutdown_grace_secs, &a.shutdown_grace_secs);
        if a.tls_cert.is_some() {
            self.tls.cert.clone_from(&a.tls_cert);
        }
        if a.tls_key.is_some() {
            self.tls.key.clone_from(&a.tls_key);
        }
        if a.tls_client_ca.is_some() {
            self.tls.client_ca.clone_from(&a.tls_client_ca);
        }
        set(
            &mut self.tls.reload_interval_secs,
            &a.tls_reload_interval_secs,
        );
        let q = &mut self.queue;
        set(&mut q.signatures, &a.queue_signatures);
        set(&mut q.bytes, &a.queue_bytes);
        set(&mut q.max_batch_signatures, &a.max_batch_signatures);
        set(&mut q.coalesce_delay_us, &a.coalesce_delay_us);
        if a.small_batch_signatures.is_some() {
            q.small_batch_signatures = a.small_batch_signatures;
        }
        set(&mut q.max_in_flight_batches, &a.max_in_flight_batches);
        let l = &mut self.limits;
        if a.max_connections.is_some() {
            l.connections = a.max_connections;
        }
        set(&mut l.connections_per_ip, &a.max_connections_per_ip);
        set(&mut l.streams_per_connection, &a.max_streams_per_connection);
        set(&mut l.handshake_timeout_ms, &a.handshake_timeout_ms);
        set(&mut l.idle_timeout_secs, &a.idle_timeout_secs);
        set(&mut l.proofs, &a.max_proofs);
        set(&mut l.request_transactions, &a.max_request_transactions);
    }

    fn check(&self) -> anyhow::Result<()> {
        match (&self.tls.cert, &self.tls.key) {
            (Some(_), None) | (None, Some(_)) => {
                bail!("TLS needs both a certificate and a key (--tls-cert and --tls-key)")
            }
            (None, None) if self.tls.client_ca.is_some() => {
                bail!("--tls-client-ca needs --tls-cert and --tls-key")
            }
            (None, None) if !self.listen.ip().is_loopback() && !self.insecure_plaintext => bail!(
                "refusing plaintext gRPC on {}, which is not loopback: give --tls-cert and \
                 --tls-key, or --insecure-plaintext",
                self.listen
            ),
            _ => {}
        }
        if self.backends.is_empty() {
            bail!("no backend named");
        }
        for name in &self.backends {
            self.parse_backend(name)?;
        }
        self.check_ranges()
    }

    /// Every number against its range, with the setting's flag in the message.
    fn check_ranges(&self) -> anyhow::Result<()> {
        let cores = machine_cores();
        if let Some(threads) = self.threads {
            in_range("--threads", threads, 1, cores, "the machine's cores")?;
        }
        if let Some(io) = self.io_threads {
            in_range("--io-threads", io, 1, cores, "the machine's cores")?;
        }
        in_range(
            "--max-message-bytes",
            self.max_message_bytes,
            1 << 10,
            MAX_MESSAGE_BYTES,
            "",
        )?;
        in_range(
            "--shutdown-grace-secs",
            self.shutdown_grace_secs,
            0,
            3_600,
            "",
        )?;
        in_range(
            "--tls-reload-interval-secs",
            self.tls.reload_interval_secs,
            0,
            86_400,
            "0 (SIGHUP only) to a day",
        )?;
        let q = &self.queue;
        in_range(
            "--queue-bytes",
            q.bytes,
            self.max_message_bytes,
            1 << 40,
            "at least --max-message-bytes, so the largest request fits",
        )?;
        in_range(
            "--max-batch-signatures",
            q.max_batch_signatures,
            1,
            1 << 22,
            "",
        )?;
        in_range(
            "--queue-signatures",
            q.signatures,
            q.max_batch_signatures,
            1 << 32,
            "at least --max-batch-signatures",
        )?;
        in_range(
            "--coalesce-delay-us",
            q.coalesce_delay_us,
            0,
            100_000,
            "at most 100 ms",
        )?;
        if let Some(small) = q.small_batch_signatures {
            in_range("--small-batch-signatures", small, 0, 1 << 24, "")?;
        }
        in_range(
            "--max-in-flight-batches",
            q.max_in_flight_batches,
            1,
            64,
            "",
        )?;
        let l = &self.limits;
        if let Some(connections) = l.connections {
            in_range("--max-connections", connections, 1, 1 << 20, "")?;
        }
        in_range(
            "--max-connections-per-ip",
            l.connections_per_ip,
            1,
            1 << 20,
            "",
        )?;
        in_range(
            "--max-streams-per-connection",
            l.streams_per_connection,
            1,
            4_096,
            "",
        )?;
        in_range(
            "--handshake-timeout-ms",
            l.handshake_timeout_ms,
            100,
            120_000,
            "",
        )?;
        in_range("--idle-timeout-secs", l.idle_timeout_secs, 1, 86_400, "")?;
        in_range("--max-proofs", l.proofs, 0, 1 << 20, "")?;
        in_range(
            "--max-request-transactions",
            l.request_transactions,
            1,
            1 << 22,
            "",
        )?;
        Ok(())
    }

    fn parse_backend(&self, name: &str) -> anyhow::Result<Choice> {
        Choice::from_str(name, true).map_err(|_| {
            anyhow::anyhow!(
                "unknown backend {name:?} (one of: {})",
                Choice::value_variants()
                    .iter()
                    .map(|c| choice_name(*c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    /// The backend choices, in order.
    pub fn backend_choices(&self) -> anyhow::Result<Vec<Choice>> {
        self.backends
            .iter()
            .map(|n| self.parse_backend(n))
            .collect()
    }

    /// The scheduler's part.
    pub fn scheduler(&self) -> SchedulerConfig {
        let q = &self.queue;
        SchedulerConfig {
            capacity_signatures: q.signatures,
            capacity_bytes: q.bytes,
            max_batch_signatures: q.max_batch_signatures,
            coalesce_delay: Duration::from_micros(q.coalesce_delay_us),
            small_batch_signatures: q.small_batch_signatures.unwrap_or(DEFAULT_SMALL_BATCH),
            max_in_flight_batches: q.max_in_flight_batches,
            max_proofs: self.limits.proofs,
            max_response_bytes: self.max_message_bytes,
        }
    }

    /// What the service's edge checks of each request.
    pub fn wire(&self) -> RequestLimits {
        RequestLimits {
            max_request_transactions: self.limits.request_transactions,
            max_response_bytes: self.max_message_bytes,
        }
    }
}

/// The largest `--max-message-bytes`: a request is decoded whole before it is
/// admitted, so this bounds what one call can make the appliance allocate.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// Cores this process may use (its CPU affinity and cgroup quota included).
pub fn machine_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Checks `value` is within `lo..=hi`; the error names the setting and the range.
fn in_range<T: PartialOrd + std::fmt::Display>(
    name: &str,
    value: T,
    lo: T,
    hi: T,
    why: &str,
) -> anyhow::Result<()> {
    if value < lo || value > hi {
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(" ({why})")
        };
        bail!("{name} {value} is out of range: it must be from {lo} to {hi}{why}");
    }
    Ok(())
}

fn choice_name(c: Choice) -> String {
    c.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// The default message size limit holds 10,000 Solana-sized transactions with framing.
const _: () = assert!(10_000 * (SOLANA_PACKET + 8) < 16 << 20);

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn args(list: &[&str]) -> ServeArgs {
        Cli::parse_from(std::iter::once("serve").chain(list.iter().copied())).serve
    }

    #[test]
    fn defaults_are_loopback_and_valid() {
        let c = ServeConfig::load(&args(&[])).unwrap();
        assert!(c.listen.ip().is_loopback());
        assert_eq!(c.backends, vec!["auto"]);
        assert!(c.max_message_bytes >= 10_000 * SOLANA_PACKET);
    }

    #[test]
    fn file_then_flags() {
        let dir = std::env::temp_dir().join(format!("vigil-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("serve.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:7000\"\nbackends = [\"cpu\"]\nmetrics_listen = \"\"\n\
             [queue]\nsignatures = 50000\ncoalesce_delay_us = 7\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let c = ServeConfig::load(&args(&["--config", p, "--queue-signatures", "60000"])).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.metrics_listen, None);
        assert_eq!(c.queue.signatures, 60000);
        assert_eq!(c.queue.coalesce_delay_us, 7);
        assert_eq!(c.backend_choices().unwrap(), vec![Choice::Cpu]);

        std::fs::write(&path, "listen = \"127.0.0.1:7000\"\nlisen = 1\n").unwrap();
        let err = ServeConfig::load(&args(&["--config", p])).unwrap_err();
        assert!(format!("{err:#}").contains("lisen"), "{err:#}");
        std::fs::write(&path, "backends = [\"tpu\"]\n").unwrap();
        let err = ServeConfig::load(&args(&["--config", p])).unwrap_err();
        assert!(err.to_string().contains("unknown backend"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_number_is_range_checked_with_its_flag_named() {
        let cores = machine_cores().to_string();
        let too_many = (machine_cores() + 1).to_string();
        let cases: &[(&[&str], &str)] = &[
            (&["--threads", "0"], "--threads"),
            (&["--threads", "100000"], "--threads"),
            (&["--threads", &too_many], "the machine's cores"),
            (&["--io-threads", "0"], "--io-threads"),
            (
                &["--coalesce-delay-us", "18446744073709551615"],
                "--coalesce-delay-us",
            ),
            (&["--max-message-bytes", "10"], "--max-message-bytes"),
            (
                &["--max-message-bytes", "1000000000"],
                "--max-message-bytes",
            ),
            (&["--queue-bytes", "1000"], "--queue-bytes"),
            (&["--queue-signatures", "10"], "--queue-signatures"),
            (&["--max-batch-signatures", "0"], "--max-batch-signatures"),
            (&["--max-in-flight-batches", "0"], "--max-in-flight-batches"),
            (
                &["--max-in-flight-batches", "1000"],
                "--max-in-flight-batches",
            ),
            (
                &["--shutdown-grace-secs", "99999999"],
                "--shutdown-grace-secs",
            ),
            (&["--max-connections", "0"], "--max-connections"),
            (
                &["--max-connections-per-ip", "0"],
                "--max-connections-per-ip",
            ),
            (
                &["--max-streams-per-connection", "0"],
                "--max-streams-per-connection",
            ),
            (&["--handshake-timeout-ms", "1"], "--handshake-timeout-ms"),
            (&["--idle-timeout-secs", "0"], "--idle-timeout-secs"),
            (&["--max-proofs", "99999999"], "--max-proofs"),
            (
                &["--max-request-transactions", "0"],
                "--max-request-transactions",
            ),
        ];
        for (flags, named) in cases {
            let err = ServeConfig::load(&args(flags)).unwrap_err().to_string();
            assert!(err.contains(named), "{flags:?}: {err}");
            assert!(err.contains("out of range"), "{flags:?}: {err}");
        }
        assert!(ServeConfig::load(&args(&["--threads", &cores])).is_ok());
    }

    #[test]
    fn plaintext_off_loopback_needs_opt_in_and_tls_needs_both_files() {
        let err = ServeConfig::load(&args(&["--listen", "0.0.0.0:50051"])).unwrap_err();
        assert!(err.to_string().contains("refusing plaintext"));
        assert!(
            ServeConfig::load(&args(&["--listen", "0.0.0.0:1", "--insecure-plaintext"])).is_ok()
        );
        assert!(ServeConfig::load(&args(&["--tls-cert", "c.pem"])).is_err());
        assert!(ServeConfig::load(&args(&["--tls-client-ca", "ca.pem"])).is_err());
        let ok = ServeConfig::load(&args(&[
            "--listen",
            "0.0.0.0:1",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ]));
        assert!(ok.is_ok());
    }
}
