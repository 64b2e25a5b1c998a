//! `vigil serve` under systemd's notification protocol, with the test as the service
//! manager: a datagram socket in `$NOTIFY_SOCKET` and a watchdog period in
//! `$WATCHDOG_USEC`, as a `Type=notify` unit with `WatchdogSec=` gives them; and the
//! shipped unit (`deploy/systemd/vigil.service`) run as systemd would run it, with the
//! shipped example settings (`deploy/systemd/vigil.toml`), only its paths moved into a
//! scratch directory and its ports to loopback. (`systemd-analyze verify` and
//! `security` check the unit itself: `deploy/systemd/check.sh`.)

// Test support functions: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::pki::{leaf, make_ca, tls_client};
use common::Appliance;
use nix::sys::signal::Signal;
use rcgen::ExtendedKeyUsagePurpose;

/// The service manager's end: every message the appliance sent, in order.
struct Manager {
    socket: UnixDatagram,
    path: PathBuf,
    seen: Vec<String>,
}

impl Manager {
    fn new(tag: &str) -> Manager {
        let path =
            std::env::temp_dir().join(format!("vigil-notify-{tag}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Manager {
            socket,
            path,
            seen: Vec::new(),
        }
    }

    /// Receives until a message containing `line` arrives (at most `limit`); returns
    /// the messages received meanwhile, that one included.
    fn until(&mut self, line: &str, limit: Duration) -> Vec<String> {
        let started = Instant::now();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4096];
        while started.elapsed() < limit {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.seen.push(message.clone());
                let done = message.lines().any(|l| l == line);
                got.push(message);
                if done {
                    return got;
                }
            }
        }
        panic!("no {line:?} within {limit:?}; received {:?}", self.seen);
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_after_serving_watchdog_pings_reload_and_stopping_are_notified() {
    let mut manager = Manager::new("protocol");
    let socket = manager.path.clone().into_os_string();
    let watchdog = std::ffi::OsString::from("400000");
    let mut app = Appliance::spawn_on(
        "cpu",
        &[
            ("NOTIFY_SOCKET", socket.as_os_str()),
            ("WATCHDOG_USEC", watchdog.as_os_str()),
        ],
        &[],
    );

    // Start-up: a status first, READY only once health says SERVING.
    let before_ready = manager.until("READY=1", Duration::from_secs(60));
    assert!(
        before_ready[0].contains("STATUS=starting"),
        "{before_ready:?}"
    );
    let ready = before_ready.last().unwrap();
    assert!(ready.contains("STATUS=serving on"), "{ready:?}");
    // One health check, no retry: health turned SERVING before READY=1 was sent.
    let status = tonic_health::pb::health_client::HealthClient::new(app.channel().await)
        .check(tonic_health::pb::HealthCheckRequest {
            service: "vigil.v1.Verifier".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
        "READY=1 came before health turned SERVING"
    );

    // The watchdog is pinged at half its period: several pings in a second.
    let mut pings = 0;
    let window = Instant::now();
    while window.elapsed() < Duration::from_secs(1) {
        manager.until("WATCHDOG=1", Duration::from_secs(2));
        pings += 1;
    }
    assert!(pings >= 3, "{pings} watchdog pings in a second");

    // SIGHUP (`systemctl reload`): RELOADING=1 with the clock, then READY=1; a
    // plaintext appliance has no TLS files to reload and keeps serving.
    app.signal(Signal::SIGHUP);
    let reload = manager.until("RELOADING=1", Duration::from_secs(10));
    assert!(
        reload.last().unwrap().contains("MONOTONIC_USEC="),
        "{reload:?}"
    );
    manager.until("READY=1", Duration::from_secs(10));
    assert!(app.child.try_wait().unwrap().is_none(), "SIGHUP ended it");
    let mut client = app.client().await;
    let req = common::request(1, vigil_core::Profile::Strict, 3, 1, true, 1);
    common::assert_verdicts(
        &req,
        &client.verify(req.clone()).await.unwrap().into_inner(),
    );

    // SIGTERM: STOPPING=1, then a clean exit.
    app.signal(Signal::SIGTERM);
    manager.until("STOPPING=1", Duration::from_secs(10));
    assert!(app.wait_exit(Duration::from_secs(30)).success());
}

/// The repository's `deploy/systemd` folder.
fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/systemd")
}

/// Every value of `key=` in the unit's `[Service]` section, in order.
fn service_values(unit: &str, key: &str) -> Vec<String> {
    let mut in_service = false;
    let mut values = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if in_service {
            if let Some(value) = line.strip_prefix(key).and_then(|r| r.strip_prefix('=')) {
                values.push(value.to_owned());
            }
        }
    }
    values
}

/// A systemd time span such as `45s`, `10min` or `30` (seconds).
fn span(text: &str) -> Duration {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let n: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("time span {text:?}"));
    match &text[digits.len()..] {
        "" | "s" => Duration::from_secs(n),
        "min" => Duration::from_secs(n * 60),
        other => panic!("unit {other:?} in {text:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_unit_runs_the_shipped_settings() {
    let unit = std::fs::read_to_string(deploy_dir().join("vigil.service")).unwrap();
    let settings = std::fs::read_to_string(deploy_dir().join("vigil.toml")).unwrap();
    let one = |key: &str| -> String {
        let v = service_values(&unit, key);
        assert_eq!(v.len(), 1, "{key}= in vigil.service: {v:?}");
        v[0].clone()
    };
    assert_eq!(one("Type"), "notify");

    // The settings' TLS files and the cache directory go to a scratch directory.
    let dir = std::env::temp_dir().join(format!("vigil-unit-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    let ca = make_ca("operator CA");
    let (cert, key) = leaf(
        &ca,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let node = leaf(&ca, &["node-1"], ExtendedKeyUsagePurpose::ClientAuth);
    std::fs::write(dir.join("tls/tls.crt"), cert).unwrap();
    std::fs::write(dir.join("tls/tls.key"), key).unwrap();
    std::fs::write(dir.join("tls/ca.crt"), ca.pem()).unwrap();
    assert!(
        settings.contains("\"/etc/vigil/tls/"),
        "the settings moved their TLS files"
    );
    let moved = settings.replace("/etc/vigil/", &format!("{}/", dir.display()));
    std::fs::write(dir.join("vigil.toml"), &moved).unwrap();
    let parsed: toml::Table = toml::from_str(&settings).unwrap();
    let grace = parsed["shutdown_grace_secs"].as_integer().unwrap();
    let stop_timeout = span(&one("TimeoutStopSec"));
    assert!(
        stop_timeout > Duration::from_secs(u64::try_from(grace).unwrap()),
        "TimeoutStopSec must leave the shutdown grace period room"
    );

    // ExecStart as written, with the settings file moved, and loopback ports.
    let exec = one("ExecStart");
    let mut words = exec.split_whitespace();
    assert!(words.next().unwrap().ends_with("/vigil"), "{exec}");
    let config = dir.join("vigil.toml").display().to_string();
    let mut args: Vec<&str> = words
        .map(|w| {
            if w == "/etc/vigil/vigil.toml" {
                &config
            } else {
                w
            }
        })
        .collect();
    assert!(args.contains(&config.as_str()), "{exec}");
    args.extend(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"]);

    // The unit's environment, the cache moved; the watchdog as WatchdogSec= sets it.
    let mut env: Vec<(String, std::ffi::OsString)> = service_values(&unit, "Environment")
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            let v = v.replace("/var/cache/vigil", &dir.join("cache").display().to_string());
            (k.to_owned(), v.into())
        })
        .collect();
    assert!(env.iter().any(|(k, _)| k == "VIGIL_CACHE_DIR"));
    let mut manager = Manager::new("unit");
    env.push((
        "NOTIFY_SOCKET".into(),
        manager.path.clone().into_os_string(),
    ));
    let watchdog = span(&one("WatchdogSec"));
    env.push((
        "WATCHDOG_USEC".into(),
        watchdog.as_micros().to_string().into(),
    ));
    let env_refs: Vec<(&str, &std::ffi::OsStr)> = env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_os_str()))
        .collect();

    let mut app = Appliance::spawn_args(&args, &env_refs);
    manager.until(
        "READY=1",
        span(&one("TimeoutStartSec")).min(Duration::from_secs(120)),
    );
    // Mutual TLS as configured: a node with a certificate of the CA is served.
    let mut client = tls_client(&app, &ca.pem(), Some(&node)).await.unwrap();
    let req = common::request(1, vigil_core::Profile::Rfc8032, 8, 2, true, 1);
    common::assert_verdicts(
        &req,
        &client.verify(req.clone()).await.unwrap().into_inner(),
    );
    assert!(tls_client(&app, &ca.pem(), None)
        .await
        .map_or(true, |mut c| futures::executor::block_on(
            c.verify(req.clone())
        )
        .is_err()));

    // ExecReload sends SIGHUP: the TLS files reload and the service is ready again.
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    app.signal(Signal::SIGHUP);
    manager.until("RELOADING=1", Duration::from_secs(10));
    manager.until("READY=1", Duration::from_secs(10));
    let samples = common::parse_prometheus(&app.metrics_text()).unwrap();
    assert_eq!(
        common::metric_sum(
            &samples,
            "vigil_tls_reloads_total",
            &[("trigger", "signal"), ("result", "ok")]
        ),
        1.0
    );
    common::assert_verdicts(
        &req,
        &client.verify(req.clone()).await.unwrap().into_inner(),
    );

    // Stopping: within TimeoutStopSec, cleanly.
    app.signal(Signal::SIGTERM);
    manager.until("STOPPING=1", Duration::from_secs(10));
    assert!(app.wait_exit(stop_timeout).success());
    std::fs::remove_dir_all(&dir).unwrap();
}
