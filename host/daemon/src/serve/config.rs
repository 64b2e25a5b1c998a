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
}

/// TLS files.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, PEM.
    pub cert: Option<PathBuf>,
    /// Private key, PEM.
    pub key: Option<PathBuf>,
    /// Client CA, PEM: when set, clients must present a certificate it signed.
    pub client_ca: Option<PathBuf>,
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
        let q = &mut self.queue;
        set(&mut q.signatures, &a.queue_signatures);
        set(&mut q.bytes, &a.queue_bytes);
        set(&mut q.max_batch_signatures, &a.max_batch_signatures);
        set(&mut q.coalesce_delay_us, &a.coalesce_delay_us);
        if a.small_batch_signatures.is_some() {
            q.small_batch_signatures = a.small_batch_signatures;
        }
        set(&mut q.max_in_flight_batches, &a.max_in_flight_batches);
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
        let q = &self.queue;
        if q.signatures == 0 || q.bytes == 0 || q.max_batch_signatures == 0 {
            bail!("queue sizes must be positive");
        }
        if q.max_in_flight_batches == 0 {
            bail!("max_in_flight_batches must be at least 1");
        }
        if self.max_message_bytes < 1024 {
            bail!("max_message_bytes below 1 KiB cannot carry a transaction");
        }
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
        }
    }
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
             [queue]\nsignatures = 5000\ncoalesce_delay_us = 7\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let c = ServeConfig::load(&args(&["--config", p, "--queue-signatures", "6000"])).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.metrics_listen, None);
        assert_eq!(c.queue.signatures, 6000);
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
