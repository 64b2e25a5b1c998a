//! TLS certificates and the client CA reloaded without a restart.
//!
//! Certificates are short-lived where they are managed well (cert-manager renews them
//! every few weeks; a Kubernetes Secret mount changes under the running pod), and a
//! restart to pick them up would drop every connection and the work queued on them.
//! So the TLS files are read again on SIGHUP (`systemctl reload`) and whenever their
//! contents change (polled, because a Secret mount changes by swapping a symbolic link,
//! which file watches on the old target miss). A reload builds a whole new server
//! configuration; connections accepted from then on use it, and those already open keep
//! the one they were accepted with, so nothing in flight is disturbed.
//!
//! Files that do not load (a certificate renewed before its key was written, a key of
//! another pair) are refused with the reason logged, `vigil_tls_reload_failing` is set,
//! and the previous configuration serves on. The next change to the files, or the next
//! SIGHUP, tries again.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus::{IntCounterVec, IntGauge};
use tokio::sync::watch;
use tokio_rustls::rustls::ServerConfig;

use super::config::TlsFiles;
use super::{notify, tls};

/// What the files held when last read: a digest of their contents, or why they could
/// not be read. Two readings that compare equal need no reload.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reading {
    Read(blake3::Hash),
    Unreadable(String),
}

/// What asked for a reload (the `trigger` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// SIGHUP: reload whether or not the files changed.
    Signal,
    /// The periodic check found the files changed.
    FileChange,
}

impl Trigger {
    fn label(self) -> &'static str {
        match self {
            Trigger::Signal => "signal",
            Trigger::FileChange => "file",
        }
    }
}

/// The metrics a reload reports.
#[derive(Clone)]
pub struct ReloadMetrics {
    /// `vigil_tls_reloads_total{trigger, result}`.
    pub reloads: IntCounterVec,
    /// `vigil_tls_reload_failing`.
    pub failing: IntGauge,
}

/// Holds the TLS files and publishes each configuration built from them.
pub struct TlsReloader {
    files: TlsFiles,
    current: watch::Sender<Arc<ServerConfig>>,
    seen: Reading,
    metrics: ReloadMetrics,
}

/// What [`TlsReloader::check`] did.
#[derive(Debug)]
pub enum Outcome {
    /// The files are as last read: nothing to do.
    Unchanged,
    /// A new configuration serves new connections.
    Reloaded,
    /// The files did not load; the previous configuration serves on.
    Refused(String),
}

impl TlsReloader {
    /// A reloader whose first configuration, `initial`, was built from `files` just now;
    /// the receiver always holds the configuration new connections are to use.
    pub fn new(
        files: TlsFiles,
        initial: Arc<ServerConfig>,
        metrics: ReloadMetrics,
    ) -> (TlsReloader, watch::Receiver<Arc<ServerConfig>>) {
        let (current, receiver) = watch::channel(initial);
        metrics.failing.set(0);
        let seen = read(&files);
        (
            TlsReloader {
                files,
                current,
                seen,
                metrics,
            },
            receiver,
        )
    }

    /// Reloads on a signal, or when the files changed since last read.
    pub fn check(&mut self, trigger: Trigger) -> Outcome {
        let reading = read(&self.files);
        if trigger == Trigger::FileChange && reading == self.seen {
            return Outcome::Unchanged;
        }
        self.seen = reading;
        let result = match &self.seen {
            Reading::Unreadable(why) => Err(why.clone()),
            Reading::Read(_) => tls::server_config(&self.files).map_err(|e| e.to_string()),
        };
        let outcome = match result {
            Ok(config) => {
                self.current.send_replace(config);
                self.metrics.failing.set(0);
                tracing::info!(trigger = trigger.label(), "TLS files reloaded");
                Outcome::Reloaded
            }
            Err(why) => {
                self.metrics.failing.set(1);
                tracing::error!(
                    trigger = trigger.label(),
                    error = %why,
                    "TLS files not reloaded; the previous ones serve on"
                );
                Outcome::Refused(why)
            }
        };
        let result = match outcome {
            Outcome::Reloaded => "ok",
            _ => "error",
        };
        self.metrics
            .reloads
            .with_label_values(&[trigger.label(), result])
            .inc();
        outcome
    }
}

/// Reads every configured TLS file into one digest.
fn read(files: &TlsFiles) -> Reading {
    let mut hasher = blake3::Hasher::new();
    for path in [&files.cert, &files.key, &files.client_ca]
        .into_iter()
        .flatten()
    {
        match read_capped(path) {
            Ok(bytes) => {
                hasher.update(&(bytes.len() as u64).to_le_bytes());
                hasher.update(&bytes);
            }
            Err(e) => return Reading::Unreadable(format!("cannot read {}: {e}", path.display())),
        }
    }
    Reading::Read(hasher.finalize())
}

/// A file's bytes, refusing one larger than any TLS file (a misconfigured path to a
/// device or a huge file must not be read into memory every few seconds).
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(tls::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > tls::MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} bytes",
            tls::MAX_FILE_BYTES
        )));
    }
    Ok(bytes)
}

/// Serves reload requests until `stop`: SIGHUP always (without TLS it only says there
/// is nothing to reload: the signal must never end the process), and with TLS a check
/// of the files every `interval` (`None`: only on SIGHUP). `serving` says whether the
/// start-up is over, so the service manager hears "ready" after a reload only then.
pub async fn run(
    mut reloader: Option<TlsReloader>,
    interval: Option<Duration>,
    serving: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
) {
    let mut hangups = hangups();
    let mut tick = interval.filter(|_| reloader.is_some()).map(|period| {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    });
    loop {
        let trigger = tokio::select! {
            () = next_hangup(&mut hangups) => Trigger::Signal,
            () = next_tick(&mut tick) => Trigger::FileChange,
            _ = stop.wait_for(|s| *s) => return,
        };
        if trigger == Trigger::Signal {
            tracing::info!("SIGHUP: reloading");
            notify::reloading();
        }
        let refused = match &mut reloader {
            Some(r) => match r.check(trigger) {
                Outcome::Refused(why) => Some(why),
                Outcome::Reloaded => None,
                // Nothing happened: nothing to tell.
                Outcome::Unchanged => continue,
            },
            None => {
                tracing::info!("no TLS files to reload (plaintext gRPC)");
                None
            }
        };
        // The status line (`systemctl status`) names a refusal until a reload works.
        let status = match &refused {
            Some(why) => format!("TLS files not reloaded, the previous ones serve on: {why}"),
            None if serving.load(Ordering::Acquire) => "serving".to_owned(),
            None => "starting: opening and self-testing backends".to_owned(),
        };
        if trigger == Trigger::Signal && serving.load(Ordering::Acquire) {
            notify::ready(&status);
        } else {
            notify::status(&status);
        }
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

fn hangups() -> Hangups {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot handle SIGHUP; TLS files reload on change only");
                None
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

async fn next_hangup(hangups: &mut Hangups) {
    #[cfg(unix)]
    if let Some(s) = hangups {
        if s.recv().await.is_some() {
            return;
        }
    }
    let _ = hangups;
    std::future::pending::<()>().await;
}

async fn next_tick(tick: &mut Option<tokio::time::Interval>) {
    match tick {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::path::PathBuf;

    use prometheus::Opts;
    use rcgen::{CertificateParams, KeyPair};

    use super::*;

    /// A self-signed server certificate and its key, as PEM.
    fn pair(name: &str) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    struct Setup {
        dir: PathBuf,
        reloader: TlsReloader,
        current: watch::Receiver<Arc<ServerConfig>>,
        metrics: ReloadMetrics,
    }

    impl Drop for Setup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    impl Setup {
        fn new(tag: &str) -> Setup {
            let dir =
                std::env::temp_dir().join(format!("vigil-reload-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let setup_files = TlsFiles {
                cert: Some(dir.join("cert.pem")),
                key: Some(dir.join("key.pem")),
                ..TlsFiles::default()
            };
            let (cert, key) = pair("first");
            std::fs::write(dir.join("cert.pem"), cert).unwrap();
            std::fs::write(dir.join("key.pem"), key).unwrap();
            let metrics = ReloadMetrics {
                reloads: IntCounterVec::new(Opts::new("r", "r"), &["trigger", "result"]).unwrap(),
                failing: IntGauge::new("f", "f").unwrap(),
            };
            let initial = tls::server_config(&setup_files).unwrap();
            let (reloader, current) = TlsReloader::new(setup_files, initial, metrics.clone());
            Setup {
                dir,
                reloader,
                current,
                metrics,
            }
        }

        fn write(&self, name: &str, text: &str) {
            std::fs::write(self.dir.join(name), text).unwrap();
        }

        fn count(&self, trigger: &str, result: &str) -> u64 {
            self.metrics
                .reloads
                .with_label_values(&[trigger, result])
                .get()
        }
    }

    #[test]
    fn unchanged_files_are_not_reloaded_but_a_signal_reloads_them() {
        let mut s = Setup::new("same");
        let before = s.current.borrow().clone();
        assert!(matches!(
            s.reloader.check(Trigger::FileChange),
            Outcome::Unchanged
        ));
        assert!(Arc::ptr_eq(&before, &s.current.borrow()));
        assert!(matches!(
            s.reloader.check(Trigger::Signal),
            Outcome::Reloaded
        ));
        assert!(!Arc::ptr_eq(&before, &s.current.borrow()));
        assert_eq!(s.count("signal", "ok"), 1);
        assert_eq!(s.count("file", "ok"), 0);
    }

    #[test]
    fn changed_files_are_reloaded_and_published() {
        let mut s = Setup::new("changed");
        let before = s.current.borrow().clone();
        let (cert, key) = pair("second");
        s.write("cert.pem", &cert);
        s.write("key.pem", &key);
        assert!(matches!(
            s.reloader.check(Trigger::FileChange),
            Outcome::Reloaded
        ));
        assert!(!Arc::ptr_eq(&before, &s.current.borrow()));
        assert!(matches!(
            s.reloader.check(Trigger::FileChange),
            Outcome::Unchanged
        ));
        assert_eq!(s.count("file", "ok"), 1);
        assert_eq!(s.metrics.failing.get(), 0);
    }

    #[test]
    fn files_that_do_not_load_leave_the_previous_configuration_serving() {
        let mut s = Setup::new("bad");
        let before = s.current.borrow().clone();
        // A renewed certificate whose key is not written yet: the pair does not match.
        let (cert, key) = pair("renewed");
        s.write("cert.pem", &cert);
        match s.reloader.check(Trigger::FileChange) {
            Outcome::Refused(why) => assert!(why.contains("key"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(Arc::ptr_eq(&before, &s.current.borrow()));
        assert_eq!(s.metrics.failing.get(), 1);
        // The same broken files are not retried on every check ...
        assert!(matches!(
            s.reloader.check(Trigger::FileChange),
            Outcome::Unchanged
        ));
        assert_eq!(s.count("file", "error"), 1);
        // ... and once the key arrives, the pair loads.
        s.write("key.pem", &key);
        assert!(matches!(
            s.reloader.check(Trigger::FileChange),
            Outcome::Reloaded
        ));
        assert_eq!(s.metrics.failing.get(), 0);
        // A file gone is refused too, naming it.
        std::fs::remove_file(s.dir.join("key.pem")).unwrap();
        match s.reloader.check(Trigger::Signal) {
            Outcome::Refused(why) => assert!(why.contains("key.pem"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.metrics.failing.get(), 1);
    }
}
