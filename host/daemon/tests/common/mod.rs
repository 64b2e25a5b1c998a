//! Shared harness of the end-to-end tests: a real `vigil serve` process on loopback,
//! a tonic client to it, its metrics page, and the oracle to compare verdicts with.

// Test support: a failed step is a failed test, so unwrap and panic are the point here.
#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod pki;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use vigil_core::synth::{Format, SynthSpec};
use vigil_core::{BatchBuilder, Profile};
use vigil_proto::v1::verifier_client::VerifierClient;
use vigil_proto::v1::{VerifyRequest, VerifyResponse};

/// A running appliance, killed when dropped.
pub struct Appliance {
    pub child: Child,
    pub grpc: SocketAddr,
    pub metrics: Option<SocketAddr>,
}

impl Appliance {
    /// Starts `vigil serve` on loopback ports chosen by the kernel, CPU backend, with
    /// `extra` flags, and waits until it reports SERVING.
    pub async fn start(extra: &[&str]) -> Appliance {
        let appliance = Self::spawn(extra);
        appliance.wait_serving().await;
        appliance
    }

    /// Starts it without waiting for health.
    pub fn spawn(extra: &[&str]) -> Appliance {
        Self::spawn_on("cpu", &[], extra)
    }

    /// Starts it on the `--backend` list `backends`, with `env` set, and waits until it
    /// reports SERVING.
    pub async fn start_on(
        backends: &str,
        env: &[(&str, &std::ffi::OsStr)],
        extra: &[&str],
    ) -> Appliance {
        let appliance = Self::spawn_on(backends, env, extra);
        appliance.wait_serving().await;
        appliance
    }

    /// Starts it on the `--backend` list `backends`, with `env` set, without waiting.
    pub fn spawn_on(backends: &str, env: &[(&str, &std::ffi::OsStr)], extra: &[&str]) -> Appliance {
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--backend",
            backends,
            "--threads",
            "2",
        ];
        args.extend_from_slice(extra);
        Self::spawn_args(&args, env)
    }

    /// Runs `vigil` with exactly `args` (which must make it serve and print the
    /// listening line) and `env`, without waiting for health.
    pub fn spawn_args(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Appliance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(args)
            .envs(env.iter().copied())
            .env("VIGIL_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start vigil serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("listening line {line:?}: {e}"));
        assert_eq!(v["event"], "listening");
        let grpc = v["grpc"].as_str().unwrap().parse().unwrap();
        let metrics = v["metrics"].as_str().map(|m| m.parse().unwrap());
        Appliance {
            child,
            grpc,
            metrics,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .expect("connect")
    }

    pub async fn client(&self) -> VerifierClient<Channel> {
        VerifierClient::new(self.channel().await)
            .max_decoding_message_size(64 << 20)
            .max_encoding_message_size(64 << 20)
    }

    /// Polls gRPC health until SERVING (at most 60 s: the self-test runs first).
    pub async fn wait_serving(&self) {
        let started = Instant::now();
        loop {
            if let Ok(channel) = Channel::from_shared(self.url()).unwrap().connect().await {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let req = tonic_health::pb::HealthCheckRequest {
                    service: "vigil.v1.Verifier".into(),
                };
                if let Ok(resp) = health.check(req).await {
                    if resp.into_inner().status
                        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                    {
                        return;
                    }
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "appliance never reported SERVING"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `/metrics` page.
    pub fn metrics_text(&self) -> String {
        http_get(self.metrics.expect("metrics enabled"), "/metrics").1
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).expect("signal");
    }

    /// Waits for the process to exit (at most `limit`), returning its status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "appliance did not exit in {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET: (status code, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to metrics");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("HTTP response");
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, body.to_string())
}

/// One sample of the Prometheus text format.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the Prometheus text exposition format strictly enough to catch a malformed
/// page: comment lines, metric names, label syntax with escapes, float values.
pub fn parse_prometheus(text: &str) -> Result<Vec<Sample>, String> {
    fn is_name(s: &str) -> bool {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    let mut samples = Vec::new();
    let mut typed = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let err = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("HELP"), Some(name), _) if is_name(name) => {}
                (Some("TYPE"), Some(name), Some(kind)) if is_name(name) => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(err("unknown type"));
                    }
                    typed.insert(name.to_string(), kind.to_string());
                }
                _ => return Err(err("bad comment")),
            }
            continue;
        }
        let (name_labels, value) = line.rsplit_once(' ').ok_or_else(|| err("no value"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| err("bad value"))?,
        };
        let (name, labels) = match name_labels.split_once('{') {
            None => (name_labels, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .ok_or_else(|| err("unclosed labels"))?;
                let mut labels = BTreeMap::new();
                let mut chars = body.chars().peekable();
                while chars.peek().is_some() {
                    let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
                    if !is_name(&key) || chars.next() != Some('"') {
                        return Err(err("bad label"));
                    }
                    let mut val = String::new();
                    loop {
                        match chars.next() {
                            Some('\\') => match chars.next() {
                                Some('n') => val.push('\n'),
                                Some(c @ ('\\' | '"')) => val.push(c),
                                _ => return Err(err("bad escape")),
                            },
                            Some('"') => break,
                            Some(c) => val.push(c),
                            None => return Err(err("unterminated label value")),
                        }
                    }
                    labels.insert(key, val);
                    match chars.next() {
                        Some(',') | None => {}
                        Some(_) => return Err(err("expected , between labels")),
                    }
                }
                (name, labels)
            }
        };
        if !is_name(name) {
            return Err(err("bad metric name"));
        }
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|b| typed.get(*b).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        if !typed.contains_key(base) {
            return Err(err("sample without a # TYPE line"));
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

/// The sum of a metric's samples whose labels include every pair of `want`.
pub fn metric_sum(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// A generated request: `count` transactions of `signers` signers, some invalid.
pub fn request(
    id: u64,
    profile: Profile,
    count: usize,
    signers: usize,
    solana: bool,
    seed: u64,
) -> VerifyRequest {
    let spec = SynthSpec {
        count,
        profile,
        invalid_fraction: 0.3,
        msg_len: 0..=300,
        signers,
        format: if solana {
            Format::Solana
        } else {
            Format::Jsonl
        },
        seed,
    };
    let batch = vigil_core::synth::batch(&spec).expect("synth");
    vigil_proto::convert::request_from_batch(id, profile, &batch, solana)
}

/// What the oracle says of `req`: the response the appliance must give (bar `backend`).
pub fn expected(req: &VerifyRequest) -> VerifyResponse {
    let checked = vigil_proto::convert::check(req).expect("a valid request");
    let mut builder = BatchBuilder::default();
    vigil_proto::convert::push_request(&mut builder, req, &mut Vec::new()).unwrap();
    let batch = builder.finish();
    let verdicts = vigil_core::Verdicts::reference(&batch, checked.profile);
    let root = req
        .want_merkle_root
        .then(|| vigil_core::merkle::root(batch.leaves()));
    vigil_proto::convert::response_for(req.id, &batch, &verdicts, 0..batch.len(), "", root)
}

/// Asserts that `got` carries exactly the oracle's verdicts for `req`.
pub fn assert_verdicts(req: &VerifyRequest, got: &VerifyResponse) {
    let want = expected(req);
    assert_eq!(got.id, want.id, "id");
    assert_eq!(
        got.valid, want.valid,
        "transaction verdicts of request {}",
        req.id
    );
    assert_eq!(
        got.signature_valid, want.signature_valid,
        "signature verdicts of request {}",
        req.id
    );
    assert_eq!(got.errors, want.errors, "errors of request {}", req.id);
    assert_eq!(
        got.merkle_root, want.merkle_root,
        "merkle root of request {}",
        req.id
    );
    assert!(got.status.is_none());
    assert!(!got.backend.is_empty());
}

/// Runs the built `vigil` with `args` and `env` (no log filter or format inherited from
/// the caller's environment), `stdin` as its input, to completion.
pub fn run_vigil(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env_remove("VIGIL_LOG_FORMAT")
        .env_remove("VIGIL_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}
