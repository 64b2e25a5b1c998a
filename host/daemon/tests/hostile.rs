//! Hostile clients against a real `vigil serve` on loopback: each test is one way a
//! client (careless or malicious) tried to exhaust or wedge the appliance, and asserts
//! what the appliance now promises instead. Every case is bounded in time and count.
//!
//! Loopback is all of 127.0.0.0/8 on Linux, so "other machines" are other source
//! addresses (127.0.0.2, 127.0.0.3) and per-address caps can be tested on one host.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_verdicts, metric_sum, parse_prometheus, request, Appliance};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tonic::transport::Channel;
use tonic::Code;
use vigil_core::Profile;
use vigil_proto::v1::verifier_client::VerifierClient;
use vigil_proto::v1::{MerkleRequest, Transaction, VerifyRequest};

/// A TCP connection to `to` from the loopback address `from`.
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the server closes `stream` within `limit` (reads give end of file or an
/// error; anything it sends first is skipped).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// A VerifyStream on `client`: the sender of its requests and its responses.
async fn open_stream(
    client: &mut VerifierClient<Channel>,
) -> (
    tokio::sync::mpsc::Sender<VerifyRequest>,
    tonic::Streaming<vigil_proto::v1::VerifyResponse>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<VerifyRequest>(4);
    let responses = client
        .verify_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    (tx, responses)
}

fn metric(app: &Appliance, name: &str, labels: &[(&str, &str)]) -> f64 {
    metric_sum(
        &parse_prometheus(&app.metrics_text()).unwrap(),
        name,
        labels,
    )
}

/// The appliance's peak resident memory so far, in MiB (Linux).
fn peak_rss_mib(app: &Appliance) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", app.child.id())).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_sent_connections_are_closed_on_both_ports() {
    let app = Appliance::start(&["--handshake-timeout-ms", "500"]).await;
    let metrics = app.metrics.unwrap();
    let mut silent = TcpStream::connect(app.grpc).await.unwrap();
    let mut half_preface = TcpStream::connect(app.grpc).await.unwrap();
    half_preface.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let mut half_headers = TcpStream::connect(metrics).await.unwrap();
    half_headers.write_all(b"GET /metr").await.unwrap();
    let started = Instant::now();
    for (name, stream) in [
        ("silent gRPC", &mut silent),
        ("half HTTP/2 preface", &mut half_preface),
        ("half HTTP/1 request line", &mut half_headers),
    ] {
        assert!(
            closed_within(stream, Duration::from_secs(5)).await,
            "{name} connection still open after {:?}",
            started.elapsed()
        );
    }
    assert!(
        metric(
            &app,
            "vigil_connections_closed_total",
            &[("port", "grpc"), ("reason", "preface_timeout")]
        ) >= 2.0
    );
    // The appliance still serves.
    let req = request(1, Profile::Strict, 8, 1, false, 1);
    let resp = app.client().await.verify(req.clone()).await.unwrap();
    assert_verdicts(&req, &resp.into_inner());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_clients_reconnect() {
    let app = Appliance::start(&["--idle-timeout-secs", "1"]).await;
    let mut client = app.client().await;
    let req = request(1, Profile::Strict, 8, 1, false, 1);
    client.verify(req.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(
        metric(
            &app,
            "vigil_connections_closed_total",
            &[("port", "grpc"), ("reason", "idle_timeout")]
        ) >= 1.0
    );
    // The same channel reconnects by itself.
    let resp = client.verify(req.clone()).await.unwrap();
    assert_verdicts(&req, &resp.into_inner());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_caps_keep_a_light_client_served() {
    let app = Appliance::start(&["--max-connections-per-ip", "16"]).await;
    // Another "machine" opens as many gRPC connections as it can and holds them.
    let mut held = Vec::new();
    for _ in 0..40 {
        held.push(connect_from([127, 0, 0, 2], app.grpc).await);
    }
    // And floods the metrics port (its own cap, so gRPC keeps its descriptors).
    for _ in 0..150 {
        held.push(connect_from([127, 0, 0, 3], app.metrics.unwrap()).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The light client, from its own address, is served at once.
    let req = request(2, Profile::Strict, 16, 1, false, 2);
    let started = Instant::now();
    let resp = app.client().await.verify(req.clone()).await.unwrap();
    assert_verdicts(&req, &resp.into_inner());
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let per_ip = metric(
        &app,
        "vigil_connections_refused_total",
        &[("port", "grpc"), ("reason", "max_connections_per_ip")],
    );
    assert!(per_ip >= 24.0, "refused {per_ip} of 40 over a cap of 16");
    let metrics_refused = metric(
        &app,
        "vigil_connections_refused_total",
        &[("port", "metrics")],
    );
    assert!(
        metrics_refused >= 80.0,
        "metrics port refused {metrics_refused} of 150"
    );
}

/// Runs `vigil serve` with `flags` (after `shell` in the same shell), expecting it to
/// refuse to start: (stdout, stderr), asserting it printed no listening line.
fn refused_start(shell: &str, flags: &[&str]) -> String {
    let line = format!(
        "{shell} exec \"$0\" serve --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
         --backend cpu {}",
        flags.join(" ")
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .arg(env!("CARGO_BIN_EXE_vigil"))
        .env("VIGIL_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("`{line}` did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(out.status.code(), Some(1), "{flags:?}: {stderr}");
    assert!(
        stdout.is_empty(),
        "{flags:?} printed {stdout:?} before failing"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn bad_settings_are_refused_before_anything_is_bound() {
    let dir = std::env::temp_dir().join(format!("vigil-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, b"not a certificate at all").unwrap();
    let garbage = garbage.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--threads", "100000"], "--threads"),
        (&["--threads", "0"], "--threads"),
        (
            &["--coalesce-delay-us", "18446744073709551615"],
            "--coalesce-delay-us",
        ),
        (&["--queue-signatures", "100"], "--queue-signatures"),
        (&["--queue-bytes", "4096"], "--queue-bytes"),
        (&["--idle-timeout-secs", "0"], "--idle-timeout-secs"),
        (
            &["--tls-cert", garbage, "--tls-key", garbage],
            "garbage.pem",
        ),
    ];
    for (flags, named) in cases {
        let stderr = refused_start("", flags);
        assert!(stderr.contains(named), "{flags:?}: {stderr}");
    }
    // A connection cap the file-descriptor limit cannot hold.
    let stderr = refused_start("ulimit -n 512 &&", &["--max-connections", "4096"]);
    assert!(stderr.contains("--max-connections"), "{stderr}");
    assert!(stderr.contains("file descriptors"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_idle_streams_or_connections() {
    let mut app = Appliance::start(&["--shutdown-grace-secs", "30"]).await;
    let mut client = app.client().await;
    // An idle stream: open, one request answered, then nothing.
    let (tx, mut responses) = open_stream(&mut client).await;
    let req = request(7, Profile::Strict, 8, 1, false, 7);
    tx.send(req.clone()).await.unwrap();
    assert_verdicts(&req, &responses.message().await.unwrap().unwrap());
    // An idle plain TCP connection and a connection that never finished its preface.
    let _idle = TcpStream::connect(app.grpc).await.unwrap();
    let mut half = TcpStream::connect(app.grpc).await.unwrap();
    half.write_all(b"PRI * HTTP/2.0").await.unwrap();
    let started = Instant::now();
    app.signal(nix::sys::signal::Signal::SIGTERM);
    let status = app.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "exit took {:?} with nothing to do",
        started.elapsed()
    );
    // The stream ended cleanly for the client (no lost response, no error status).
    match responses.message().await {
        Ok(None) | Err(_) => {}
        Ok(Some(r)) => panic!("unexpected response after shutdown: {r:?}"),
    }
    drop(tx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merkle_proofs_are_bounded_before_they_are_built() {
    let app = Appliance::start(&[]).await;
    let mut client = app.client().await;
    // 2^20 empty leaves, a proof of every one: a 5 MB request that once took 3 GB.
    let n = 1usize << 20;
    let all = MerkleRequest {
        leaves: vec![bytes::Bytes::new(); n],
        proof_indices: (0..n as u64).collect(),
    };
    let started = Instant::now();
    let status = client.merkle_root(all).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
    assert!(status.message().contains("--max-proofs"), "{status}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // 65,536 leaves with 100,000 indices: the same.
    let many = MerkleRequest {
        leaves: vec![bytes::Bytes::from_static(b"leaf"); 1 << 16],
        proof_indices: (0..100_000u64).map(|i| i % (1 << 16)).collect(),
    };
    let status = client.merkle_root(many).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
    let peak = peak_rss_mib(&app);
    assert!(peak < 400.0, "peak resident memory {peak:.0} MiB");
    // Within the limit: proofs are given, and correct.
    let leaves: Vec<bytes::Bytes> = (0..1u32 << 16)
        .map(|i| bytes::Bytes::from(i.to_le_bytes().to_vec()))
        .collect();
    let indices: Vec<u64> = (0..4096u64).map(|i| i * 16 + 3).collect();
    let resp = client
        .merkle_root(MerkleRequest {
            leaves: leaves.clone(),
            proof_indices: indices.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let owned: vigil_core::Leaves = leaves.iter().map(|l| l.to_vec()).collect();
    let tree = vigil_core::merkle::MerkleTree::new(&owned);
    assert_eq!(resp.root.as_ref(), tree.root().as_slice());
    for (proof, &i) in resp.proofs.iter().zip(&indices) {
        let want = tree.proof(usize::try_from(i).unwrap()).unwrap();
        assert_eq!(proof.index, want.index);
        let path: Vec<&[u8]> = proof.path.iter().map(|p| p.as_ref()).collect();
        let want_path: Vec<&[u8]> = want.path.iter().map(|p| p.as_slice()).collect();
        assert_eq!(path, want_path);
    }
    assert_eq!(resp.proofs.len(), indices.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_zero_signer_transactions_get_a_clear_refusal() {
    let app = Appliance::start(&[]).await;
    let req = VerifyRequest {
        id: 1,
        profile: vigil_proto::v1::Profile::Strict as i32,
        transactions: vec![Transaction::default(); 1_000_000],
        ..VerifyRequest::default()
    };
    let started = Instant::now();
    let status = app.client().await.verify(req).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
    assert!(
        status.message().contains("--max-request-transactions"),
        "{status}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // Within the limit, zero-signer transactions are malformed with a reason each.
    let req = VerifyRequest {
        id: 2,
        profile: vigil_proto::v1::Profile::Strict as i32,
        transactions: vec![Transaction::default(); 50_000],
        ..VerifyRequest::default()
    };
    let resp = app.client().await.verify(req).await.unwrap().into_inner();
    assert_eq!(resp.valid.len(), 50_000);
    assert!(resp.valid.iter().all(|v| !v));
    assert!(resp.errors.iter().all(|e| !e.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_gauges_return_to_zero_after_work() {
    let app = Appliance::start(&[]).await;
    let mut client = app.client().await;
    let mut tasks = Vec::new();
    for i in 0..12u64 {
        let mut client = client.clone();
        tasks.push(tokio::spawn(async move {
            let req = request(i, Profile::Strict, 64, 1, i % 2 == 0, i);
            client.verify(req).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    client
        .merkle_root(MerkleRequest {
            leaves: vec![bytes::Bytes::from_static(b"x"); 100],
            proof_indices: vec![1, 2],
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let samples = parse_prometheus(&app.metrics_text()).unwrap();
    for name in [
        "vigil_queue_bytes",
        "vigil_queue_signatures",
        "vigil_queue_requests",
        "vigil_calls_in_flight",
    ] {
        assert_eq!(metric_sum(&samples, name, &[]), 0.0, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_survives_an_oversize_request() {
    let app = Appliance::start(&["--max-message-bytes", "65536"]).await;
    let (tx, mut responses) = open_stream(&mut app.client().await).await;
    let first = request(1, Profile::Strict, 4, 1, false, 1);
    let mut oversize = request(2, Profile::Strict, 4, 1, false, 2);
    oversize.transactions[0].message = vec![7u8; 100_000].into();
    let third = request(3, Profile::Strict, 4, 1, false, 3);
    for r in [&first, &oversize, &third] {
        tx.send(r.clone()).await.unwrap();
    }
    drop(tx);
    let mut seen = std::collections::BTreeMap::new();
    while let Some(resp) = tokio::time::timeout(Duration::from_secs(20), responses.message())
        .await
        .unwrap()
        .unwrap()
    {
        seen.insert(resp.id, resp);
    }
    assert_eq!(seen.len(), 3, "{:?}", seen.keys());
    assert_verdicts(&first, &seen[&1]);
    assert_verdicts(&third, &seen[&3]);
    let status = seen[&2].status.as_ref().expect("a per-request status");
    assert_eq!(status.code, Code::OutOfRange as i32, "{status:?}");
    assert!(status.message.contains("--max-message-bytes"), "{status:?}");
}

/// Sends pre-encoded messages as they are, so a test can send bytes that do not decode.
struct RawCodec;

struct RawEncoder;

impl tonic::codec::Encoder for RawEncoder {
    type Item = bytes::Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: bytes::Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Codec for RawCodec {
    type Encode = bytes::Bytes;
    type Decode = vigil_proto::v1::VerifyResponse;
    type Encoder = RawEncoder;
    type Decoder = vigil_proto::lenient::LenientDecoder<vigil_proto::v1::VerifyResponse>;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic::codec::Codec::decoder(&mut vigil_proto::lenient::LenientCodec::<
            VerifyRequest,
            vigil_proto::v1::VerifyResponse,
        >::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_survives_a_request_that_does_not_decode() {
    use prost::Message as _;
    let app = Appliance::start(&[]).await;
    let first = request(1, Profile::Strict, 4, 1, false, 1);
    let third = request(3, Profile::Strict, 4, 1, false, 3);
    let messages = vec![
        bytes::Bytes::from(first.encode_to_vec()),
        // Field 1 with the wrong wire type, then a length past the message's end.
        bytes::Bytes::from_static(&[0x0d, 1, 2, 3, 4, 0x1a, 0x7f]),
        bytes::Bytes::from(third.encode_to_vec()),
    ];
    let mut grpc = tonic::client::Grpc::new(app.channel().await);
    grpc.ready().await.unwrap();
    let mut responses = grpc
        .streaming(
            tonic::Request::new(futures::stream::iter(messages)),
            http::uri::PathAndQuery::from_static("/vigil.v1.Verifier/VerifyStream"),
            RawCodec,
        )
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    while let Some(resp) = tokio::time::timeout(Duration::from_secs(20), responses.message())
        .await
        .unwrap()
        .unwrap()
    {
        seen.push(resp);
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    let by_id = |id| {
        seen.iter()
            .find(|r| r.id == id && r.status.is_none())
            .unwrap()
    };
    assert_verdicts(&first, by_id(1));
    assert_verdicts(&third, by_id(3));
    let failed = seen.iter().find(|r| r.status.is_some()).unwrap();
    let status = failed.status.as_ref().unwrap();
    assert_eq!(status.code, Code::Internal as i32, "{status:?}");
    assert!(status.message.contains("does not decode"), "{status:?}");
}

/// Signatures queued for the strict profile, from the Devices call.
async fn queued(app: &Appliance) -> u64 {
    let d = app
        .client()
        .await
        .devices(vigil_proto::v1::DevicesRequest {})
        .await;
    d.unwrap()
        .into_inner()
        .queues
        .iter()
        .map(|q| q.signatures)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_light_client_is_served_fairly_during_a_flood() {
    let app = Appliance::start(&[]).await;
    // Four heavy clients queue a backlog of 4 x 40 requests of 2,048 signatures.
    let heavy_req = request(100, Profile::Strict, 2048, 1, false, 100);
    let mut heavies = Vec::new();
    for h in 0..4 {
        let mut client = app.client().await;
        let heavy_req = heavy_req.clone();
        heavies.push(tokio::spawn(async move {
            let (tx, rx) = tokio::sync::mpsc::channel::<VerifyRequest>(32);
            let mut r = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
            r.metadata_mut()
                .insert("vigil-client-id", format!("heavy-{h}").parse().unwrap());
            let mut responses = client.verify_stream(r).await.unwrap().into_inner();
            for i in 0..40u64 {
                let mut req = heavy_req.clone();
                req.id = i;
                tx.send(req).await.unwrap();
            }
            drop(tx);
            let mut answered = 0;
            while let Some(resp) = responses.message().await.unwrap() {
                assert!(resp.status.is_none(), "{:?}", resp.status);
                answered += 1;
            }
            (answered, Instant::now())
        }));
    }
    let flood_started = Instant::now();
    while queued(&app).await < 100_000 {
        assert!(
            flood_started.elapsed() < Duration::from_secs(30),
            "no backlog built"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backlog = queued(&app).await;
    let backlog_at = Instant::now();
    let admitted = metric(&app, "vigil_queue_bytes", &[]);
    assert!(
        admitted > 0.0,
        "a backlog of {backlog} signatures holds no bytes?"
    );
    // The light client: five small requests, one after another.
    let mut light = app.client().await;
    let mut worst = Duration::ZERO;
    for i in 0..5u64 {
        let req = request(1000 + i, Profile::Strict, 50, 1, false, 1000 + i);
        let mut r = tonic::Request::new(req.clone());
        r.metadata_mut()
            .insert("vigil-client-id", "light".parse().unwrap());
        let started = Instant::now();
        let resp = light.verify(r).await.unwrap();
        worst = worst.max(started.elapsed());
        assert_verdicts(&req, &resp.into_inner());
    }
    let light_done = Instant::now();
    let mut last_heavy = flood_started;
    for h in heavies {
        let (answered, at) = h.await.unwrap();
        assert_eq!(answered, 40);
        last_heavy = last_heavy.max(at);
    }
    // First-in first-out, each light request would wait for the whole backlog; fair
    // dispatch puts it in the next batch or two.
    let drain = last_heavy.saturating_duration_since(backlog_at);
    assert!(
        last_heavy > light_done && worst * 4 < drain,
        "light worst {worst:?}; the backlog of {backlog} signatures took {drain:?} to drain, \
         {:?} of it after the light client finished",
        last_heavy.saturating_duration_since(light_done)
    );
    eprintln!("light worst {worst:?}, backlog {backlog} signatures drained in {drain:?}");
    // Everything answered: the exact gauges are back to zero.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(metric(&app, "vigil_queue_bytes", &[]), 0.0);
    assert_eq!(metric(&app, "vigil_queue_admitted_signatures", &[]), 0.0);
}
