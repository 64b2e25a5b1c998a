//! The client against fake appliances: tiny in-process tonic servers on 127.0.0.1 that
//! answer, refuse, hang, shed, or answer a stream out of order, as a test needs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_stream::StreamExt as _;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Code, Request, Response, Status, Streaming};
use vigil_client::proto::verifier_server::{Verifier, VerifierServer};
use vigil_client::proto::{
    DevicesRequest, DevicesResponse, MerkleRequest, MerkleResponse, Profile as WireProfile,
    RequestStatus, Signer as WireSigner, Transaction, VerifyRequest, VerifyResponse,
};
use vigil_client::{Client, ClientConfig, ClientError, ClientIdentity, TlsConfig, LOCAL_BACKEND};
use vigil_core::synth::{self, Format, SynthSpec, SynthTx};
use vigil_core::{reference_verify, BatchBuilder, Profile};

#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Answer every request (each transaction "valid"; see `answer`).
    Answer,
    /// Fail every call with this code.
    Fail(Code),
    /// Never answer a unary call.
    Hang,
}

#[derive(Clone)]
struct Fake {
    name: &'static str,
    behaviour: Behaviour,
    calls: Arc<AtomicUsize>,
    timeouts: Arc<Mutex<Vec<Option<String>>>>,
}

impl Fake {
    fn new(name: &'static str, behaviour: Behaviour) -> Fake {
        Fake {
            name,
            behaviour,
            calls: Arc::default(),
            timeouts: Arc::default(),
        }
    }
}

/// What the fake answers: every transaction valid, and its message (as text) as its
/// "error", so a test can tell whose response it got.
fn answer(req: &VerifyRequest, backend: &str) -> VerifyResponse {
    VerifyResponse {
        id: req.id,
        valid: vec![true; req.transactions.len()],
        signature_valid: vec![],
        merkle_root: Bytes::new(),
        backend: backend.to_string(),
        errors: req
            .transactions
            .iter()
            .map(|t| String::from_utf8_lossy(&t.message).into_owned())
            .collect(),
        status: None,
    }
}

#[tonic::async_trait]
impl Verifier for Fake {
    async fn verify(
        &self,
        request: Request<VerifyRequest>,
    ) -> Result<Response<VerifyResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let timeout = request
            .metadata()
            .get("grpc-timeout")
            .map(|v| v.to_str().unwrap_or("?").to_string());
        self.timeouts.lock().unwrap().push(timeout);
        match self.behaviour {
            Behaviour::Answer => Ok(Response::new(answer(request.get_ref(), self.name))),
            Behaviour::Fail(code) => Err(Status::new(code, format!("{} says no", self.name))),
            Behaviour::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(Status::internal("woke up"))
            }
        }
    }

    type VerifyStreamStream = ReceiverStream<Result<VerifyResponse, Status>>;

    /// Answers requests two at a time, the second first. A request without a profile is
    /// answered (in its pair) with a per-request INVALID_ARGUMENT status; a request whose
    /// first message is `SHED` at once with RESOURCE_EXHAUSTED; one whose first message
    /// is `CLOSE` ends the stream with ABORTED.
    async fn verify_stream(
        &self,
        request: Request<Streaming<VerifyRequest>>,
    ) -> Result<Response<Self::VerifyStreamStream>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Behaviour::Fail(code) = self.behaviour {
            return Err(Status::new(code, format!("{} says no", self.name)));
        }
        let mut incoming = request.into_inner();
        let (tx, rx) = mpsc::channel(16);
        let name = self.name;
        tokio::spawn(async move {
            let mut held: Vec<VerifyResponse> = Vec::new();
            while let Some(Ok(req)) = incoming.next().await {
                let first = req.transactions.first().map(|t| t.message.as_ref());
                if first == Some(&b"CLOSE"[..]) {
                    let _ = tx.send(Err(Status::aborted("closing the stream"))).await;
                    return;
                }
                if first == Some(&b"SHED"[..]) {
                    let shed = VerifyResponse {
                        id: req.id,
                        status: Some(RequestStatus {
                            code: Code::ResourceExhausted as i32,
                            message: "shedding".into(),
                        }),
                        ..VerifyResponse::default()
                    };
                    let _ = tx.send(Ok(shed)).await;
                    continue;
                }
                let response = if req.profile == 0 {
                    VerifyResponse {
                        id: req.id,
                        status: Some(RequestStatus {
                            code: Code::InvalidArgument as i32,
                            message: "profile is unspecified".into(),
                        }),
                        ..VerifyResponse::default()
                    }
                } else {
                    answer(&req, name)
                };
                held.push(response);
                if held.len() == 2 {
                    while let Some(r) = held.pop() {
                        let _ = tx.send(Ok(r)).await;
                    }
                }
            }
            while let Some(r) = held.pop() {
                let _ = tx.send(Ok(r)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn merkle_root(
        &self,
        request: Request<MerkleRequest>,
    ) -> Result<Response<MerkleResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let leaves: vigil_core::Leaves = request.get_ref().leaves.iter().collect();
        Ok(Response::new(MerkleResponse {
            root: Bytes::copy_from_slice(&vigil_core::merkle::root(&leaves)),
            proofs: vec![],
            backend: self.name.into(),
        }))
    }

    async fn devices(
        &self,
        _request: Request<DevicesRequest>,
    ) -> Result<Response<DevicesResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.behaviour {
            Behaviour::Fail(code) => Err(Status::new(code, format!("{} says no", self.name))),
            _ => Ok(Response::new(DevicesResponse {
                version: self.name.into(),
                ..DevicesResponse::default()
            })),
        }
    }
}

/// Serves `fake` on a fresh port; returns its `http://` address.
async fn serve(fake: Fake) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::builder()
            .add_service(VerifierServer::new(fake))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    format!("http://{addr}")
}

/// An address where nothing listens.
async fn dead_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn config(endpoints: Vec<String>) -> ClientConfig {
    ClientConfig {
        retry_backoff: Duration::from_millis(1),
        ..ClientConfig::new(endpoints)
    }
}

fn tx(message: &str) -> Transaction {
    Transaction {
        message: Bytes::copy_from_slice(message.as_bytes()),
        signers: vec![WireSigner {
            pubkey: Bytes::from(vec![0u8; 32]),
            signature: Bytes::from(vec![0u8; 64]),
        }],
    }
}

fn request(id: u64, messages: &[&str]) -> VerifyRequest {
    VerifyRequest {
        id,
        profile: WireProfile::Strict as i32,
        transactions: messages.iter().map(|m| tx(m)).collect(),
        solana_transactions: vec![],
        want_merkle_root: false,
    }
}

/// A request carrying generated transactions, and the transactions.
fn synth_request(profile: Profile, format: Format, count: usize) -> (VerifyRequest, Vec<SynthTx>) {
    let spec = SynthSpec {
        count,
        profile,
        invalid_fraction: 0.4,
        msg_len: 0..=64,
        signers: 2,
        format,
        seed: 11,
    };
    let txs = synth::generate(&spec).unwrap();
    let mut req = VerifyRequest {
        id: 42,
        profile: vigil_proto::profile_to_wire(profile) as i32,
        transactions: vec![],
        solana_transactions: vec![],
        want_merkle_root: true,
    };
    for t in &txs {
        match t {
            SynthTx::Generic {
                message, signers, ..
            } => req.transactions.push(Transaction {
                message: Bytes::copy_from_slice(message),
                signers: signers
                    .iter()
                    .map(|s| WireSigner {
                        pubkey: Bytes::copy_from_slice(&s.pubkey),
                        signature: Bytes::copy_from_slice(&s.signature),
                    })
                    .collect(),
            }),
            SynthTx::Solana { wire, .. } => {
                req.solana_transactions.push(Bytes::copy_from_slice(wire))
            }
        }
    }
    (req, txs)
}

#[tokio::test]
async fn unavailable_and_shedding_appliances_are_retried_elsewhere() {
    for code in [Code::Unavailable, Code::ResourceExhausted] {
        let bad = Fake::new("bad", Behaviour::Fail(code));
        let good = Fake::new("good", Behaviour::Answer);
        let endpoints = vec![serve(bad.clone()).await, serve(good.clone()).await];
        let client = Client::connect(config(endpoints)).await.unwrap();
        let resp = client.verify(request(3, &["m"])).await.unwrap();
        assert_eq!(resp.backend, "good");
        assert_eq!(resp.id, 3);
        let stats = client.stats();
        assert_eq!((stats.attempts, stats.retries, stats.fallbacks), (2, 1, 0));
        // Only UNAVAILABLE marks an appliance down; shedding is momentary.
        let down = usize::from(code == Code::Unavailable);
        assert_eq!((stats.endpoints, stats.endpoints_down), (2, down));
        // While "bad" is down, calls go to "good" only; a shedding one stays in the
        // rotation.
        client.verify(request(4, &["m"])).await.unwrap();
        client.verify(request(5, &["m"])).await.unwrap();
        assert_eq!(good.calls.load(Ordering::SeqCst), 3);
        let bad_calls = if code == Code::Unavailable { 1 } else { 3 };
        assert_eq!(bad.calls.load(Ordering::SeqCst), bad_calls);
    }
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_and_retried() {
    let good = Fake::new("good", Behaviour::Answer);
    let endpoints = vec![dead_endpoint().await, serve(good.clone()).await];
    let client = Client::connect(config(endpoints)).await.unwrap();
    let resp = client.verify(request(1, &["m"])).await.unwrap();
    assert_eq!(resp.backend, "good");
    assert_eq!(client.stats().endpoints_down, 1);

    let alone = Client::connect(config(vec![dead_endpoint().await]))
        .await
        .unwrap();
    let err = alone.verify(request(1, &["m"])).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::Unavailable), "{err}");
    assert!(matches!(err, ClientError::Status(_)));
    // The cause is in the message, not only tonic's layer name.
    let text = err.to_string();
    assert!(
        text.contains("tcp connect error") && text.contains("refused"),
        "{text}"
    );
    // Every attempt was made, on the one appliance there is.
    assert_eq!(alone.stats().attempts, 3);
}

#[tokio::test]
async fn invalid_argument_is_returned_not_retried_nor_fallen_back() {
    let bad = Fake::new("bad", Behaviour::Fail(Code::InvalidArgument));
    let good = Fake::new("good", Behaviour::Answer);
    let endpoints = vec![serve(bad.clone()).await, serve(good.clone()).await];
    let client = Client::connect(ClientConfig {
        local_fallback: true,
        ..config(endpoints)
    })
    .await
    .unwrap();
    let err = client.verify(request(1, &["m"])).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::InvalidArgument));
    assert_eq!(good.calls.load(Ordering::SeqCst), 0);
    assert_eq!((client.stats().attempts, client.stats().fallbacks), (1, 0));
}

#[tokio::test]
async fn attempts_are_bounded_and_the_last_status_returned() {
    let endpoints = vec![
        serve(Fake::new("a", Behaviour::Fail(Code::ResourceExhausted))).await,
        serve(Fake::new("b", Behaviour::Fail(Code::ResourceExhausted))).await,
    ];
    let client = Client::connect(ClientConfig {
        attempts: 5,
        ..config(endpoints)
    })
    .await
    .unwrap();
    let err = client.devices().await.unwrap_err();
    assert_eq!(err.code(), Some(Code::ResourceExhausted));
    assert!(err.to_string().contains("says no"), "{err}");
    assert_eq!((client.stats().attempts, client.stats().retries), (5, 4));
}

#[tokio::test]
async fn deadlines_are_sent_and_enforced() {
    let hang = Fake::new("hang", Behaviour::Hang);
    let client = Client::connect(config(vec![serve(hang.clone()).await]))
        .await
        .unwrap();
    let start = Instant::now();
    let err = client
        .verify_with_deadline(request(1, &["m"]), Duration::from_millis(200))
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, ClientError::Timeout), "{err}");
    assert_eq!(err.code(), Some(Code::DeadlineExceeded));
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // The appliance was told: grpc-timeout is a number and a unit, at most 200 ms.
    let sent = hang.timeouts.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "a timed-out call is not retried");
    let header = sent[0].clone().expect("grpc-timeout sent");
    let (digits, unit) = header.split_at(header.len() - 1);
    let value: u64 = digits.parse().unwrap();
    let micros = match unit {
        "m" => value * 1000,
        "u" => value,
        "n" => value / 1000,
        other => panic!("unexpected unit {other} in {header}"),
    };
    assert!(micros > 0 && micros <= 200_000, "{header}");
}

#[tokio::test]
async fn pipeline_restores_caller_ids_and_matches_out_of_order_responses() {
    let fake = Fake::new("stream", Behaviour::Answer);
    let client = Client::connect(config(vec![serve(fake).await]))
        .await
        .unwrap();
    let pipeline = client.pipeline().await.unwrap();
    assert!(pipeline.endpoint().starts_with("http://127.0.0.1:"));

    // Four requests in flight, all with the same caller id; the fake answers each
    // pair in reverse order and refuses the one without a profile.
    let mut no_profile = request(7, &["c"]);
    no_profile.profile = 0;
    let (a, b, c, d) = tokio::join!(
        pipeline.submit(request(7, &["a"])),
        pipeline.submit(request(7, &["b"])),
        pipeline.submit(no_profile),
        pipeline.submit(request(7, &["d", "d2"])),
    );
    let a = a.unwrap();
    assert_eq!((a.id, a.errors.clone()), (7, vec!["a".to_string()]));
    let b = b.unwrap();
    assert_eq!((b.id, b.errors.clone()), (7, vec!["b".to_string()]));
    match c {
        Err(ClientError::Status(s)) => {
            assert_eq!(s.code(), Code::InvalidArgument);
            assert_eq!(s.message(), "profile is unspecified");
        }
        other => panic!("{other:?}"),
    }
    let d = d.unwrap();
    assert_eq!(d.id, 7);
    assert_eq!(d.errors, ["d", "d2"]);
    assert_eq!(d.valid, [true, true]);

    // Distinct ids come back as given, from clones of the pipeline too.
    let other = pipeline.clone();
    let (x, y) = tokio::join!(
        pipeline.submit(request(u64::MAX, &["x"])),
        other.submit(request(0, &["y"])),
    );
    assert_eq!((x.unwrap().id, y.unwrap().id), (u64::MAX, 0));
}

#[tokio::test]
async fn a_closed_stream_fails_every_waiting_and_later_submit() {
    let fake = Fake::new("stream", Behaviour::Answer);
    let client = Client::connect(config(vec![serve(fake).await]))
        .await
        .unwrap();
    let pipeline = client.pipeline().await.unwrap();
    // "held" waits for a partner that never comes; CLOSE ends the stream.
    let held = pipeline.submit(request(1, &["held"]));
    let close = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        pipeline.submit(request(2, &["CLOSE"])).await
    };
    let (held, close) = tokio::join!(held, close);
    for result in [held, close] {
        match result {
            Err(ClientError::Status(s)) => assert_eq!(s.code(), Code::Aborted),
            other => panic!("{other:?}"),
        }
    }
    let later = pipeline.submit(request(3, &["late"])).await;
    assert!(matches!(later, Err(ClientError::Status(ref s)) if s.code() == Code::Aborted));
}

#[tokio::test]
async fn opening_a_pipeline_steps_around_a_refusing_appliance() {
    let endpoints = vec![
        serve(Fake::new("bad", Behaviour::Fail(Code::Unavailable))).await,
        serve(Fake::new("good", Behaviour::Answer)).await,
    ];
    let client = Client::connect(config(endpoints.clone())).await.unwrap();
    let pipeline = client.pipeline().await.unwrap();
    assert_eq!(pipeline.endpoint(), endpoints[1]);
    // The fake answers in pairs.
    let (p, q) = tokio::join!(
        pipeline.submit(request(5, &["p"])),
        pipeline.submit(request(6, &["q"]))
    );
    let (p, q) = (p.unwrap(), q.unwrap());
    assert_eq!((p.id, p.backend.as_str()), (5, "good"));
    assert_eq!((q.id, q.errors[0].as_str()), (6, "q"));
}

#[tokio::test]
async fn local_fallback_gives_the_reference_verdicts() {
    for (profile, format) in [
        (Profile::Strict, Format::Jsonl),
        (Profile::Rfc8032, Format::Solana),
        (Profile::Zip215, Format::Jsonl),
    ] {
        let (mut req, txs) = synth_request(profile, format, 60);
        // One malformed transaction as well: it must come back invalid with its reason.
        if format == Format::Jsonl {
            let mut bad = tx("short key");
            bad.signers[0].pubkey = Bytes::from(vec![1u8; 31]);
            req.transactions.push(bad);
        }
        let client = Client::connect(ClientConfig {
            local_fallback: true,
            fallback_threads: Some(2),
            ..config(vec![dead_endpoint().await])
        })
        .await
        .unwrap();
        let resp = client.verify(req.clone()).await.unwrap();
        assert_eq!(resp.backend, LOCAL_BACKEND);
        assert_eq!(resp.id, 42);
        assert_eq!(client.stats().fallbacks, 1);

        // Expected: the reference crate on every signature, built independently of the
        // request conversion.
        let mut builder = BatchBuilder::default();
        for t in &txs {
            t.push_into(&mut builder).unwrap();
        }
        let batch = builder.finish();
        let mut sig = 0;
        for (i, t) in txs.iter().enumerate() {
            let mut all = true;
            for s in batch.signers_of(i) {
                let (pk, sg, msg) = batch.signer_item(s);
                let v = reference_verify(profile, pk, sg, msg);
                assert_eq!(
                    resp.signature_valid[sig], v,
                    "{profile} tx {i} signature {s}"
                );
                all &= v;
                sig += 1;
            }
            assert_eq!(resp.valid[i], all, "{profile} tx {i}");
            assert_eq!(all, t.corruption().is_none(), "{profile} tx {i}");
            assert_eq!(resp.errors[i], "");
        }
        assert_eq!(resp.signature_valid.len(), sig);
        if format == Format::Jsonl {
            assert_eq!(resp.valid.len(), txs.len() + 1);
            assert!(!resp.valid[txs.len()]);
            assert!(resp.errors[txs.len()].contains("pubkey must be 32 bytes"));
        } else {
            assert_eq!(resp.valid.len(), txs.len());
            // Wire transactions are leaves as received: the root is checkable here.
            assert_eq!(
                resp.merkle_root.as_ref(),
                vigil_core::merkle::root(batch.leaves())
            );
        }
        assert!(txs.iter().any(|t| t.corruption().is_some()));
        assert_eq!(resp.merkle_root.len(), 32);
    }
}

#[tokio::test]
async fn fallback_checks_the_request_like_the_appliance() {
    let client = Client::connect(ClientConfig {
        local_fallback: true,
        fallback_threads: Some(1),
        ..config(vec![dead_endpoint().await])
    })
    .await
    .unwrap();
    let mut no_profile = request(1, &["m"]);
    no_profile.profile = 0;
    let err = client.verify(no_profile).await.unwrap_err();
    assert!(matches!(err, ClientError::InvalidRequest(ref why) if why.contains("unspecified")));
    assert_eq!(err.code(), Some(Code::InvalidArgument));
    let mut both = request(1, &["m"]);
    both.solana_transactions.push(Bytes::from_static(b"x"));
    assert!(matches!(
        client.verify(both).await,
        Err(ClientError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn fallback_after_shedding_and_timeouts_and_in_pipelines() {
    let shed = Fake::new("shed", Behaviour::Fail(Code::ResourceExhausted));
    let hang = Fake::new("hang", Behaviour::Hang);
    let endpoints = vec![serve(shed).await, serve(hang).await];
    let client = Client::connect(ClientConfig {
        local_fallback: true,
        fallback_threads: Some(1),
        attempts: 2,
        ..config(endpoints)
    })
    .await
    .unwrap();
    let (req, txs) = synth_request(Profile::Strict, Format::Jsonl, 8);
    let resp = client
        .verify_with_deadline(req.clone(), Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(resp.backend, LOCAL_BACKEND);
    let expected: Vec<bool> = txs.iter().map(|t| t.corruption().is_none()).collect();
    assert_eq!(resp.valid, expected);

    // A stream whose request fails alone with a retryable code falls back too.
    let fake = Fake::new("stream", Behaviour::Answer);
    let client = Client::connect(ClientConfig {
        local_fallback: true,
        fallback_threads: Some(1),
        ..config(vec![serve(fake).await])
    })
    .await
    .unwrap();
    let pipeline = client.pipeline().await.unwrap();
    let mut shed = req.clone();
    shed.transactions[0].message = Bytes::from_static(b"SHED");
    let resp = pipeline.submit(shed).await.unwrap();
    assert_eq!(resp.backend, LOCAL_BACKEND);
    assert_eq!(resp.id, 42);
    assert!(!resp.valid[0], "the message changed under its signatures");
    assert_eq!(resp.valid[1..], expected[1..]);
    assert_eq!(client.stats().fallbacks, 1);
    let mut closing = req.clone();
    closing.transactions[0].message = Bytes::from_static(b"CLOSE");
    let resp = pipeline.submit(closing).await;
    // ABORTED is not a sign of an unserved request: returned, not fallen back.
    assert!(matches!(resp, Err(ClientError::Status(ref s)) if s.code() == Code::Aborted));
    let resp = pipeline.submit(req).await;
    assert!(matches!(resp, Err(ClientError::Status(ref s)) if s.code() == Code::Aborted));
    assert_eq!(client.stats().fallbacks, 1);
}

#[tokio::test]
async fn merkle_root_and_devices_reach_the_appliance() {
    let fake = Fake::new("m", Behaviour::Answer);
    let client = Client::connect(config(vec![serve(fake).await]))
        .await
        .unwrap();
    let leaves = vec![Bytes::from_static(b"a"), Bytes::from_static(b"bc")];
    let resp = client
        .merkle_root(MerkleRequest {
            leaves: leaves.clone(),
            proof_indices: vec![],
        })
        .await
        .unwrap();
    let expected: vigil_core::Leaves = leaves.iter().collect();
    assert_eq!(resp.root.as_ref(), vigil_core::merkle::root(&expected));
    assert_eq!(client.devices().await.unwrap().version, "m");
}

#[tokio::test]
async fn dns_endpoints_resolve_to_their_addresses() {
    let fake = Fake::new("dns", Behaviour::Answer);
    let addr = serve(fake.clone()).await;
    let port = addr.rsplit_once(':').unwrap().1;
    // An address literal resolves to itself; `localhost` may add ::1 (nothing listens
    // there, so that entry is stepped around).
    for host in ["127.0.0.1", "localhost"] {
        let client = Client::connect(ClientConfig {
            resolve_interval: Duration::from_millis(50),
            ..config(vec![format!("dns://{host}:{port}")])
        })
        .await
        .unwrap();
        assert!(client.stats().endpoints >= 1, "{host}");
        let resp = client.verify(request(9, &["q"])).await.unwrap();
        assert_eq!(resp.backend, "dns");
        // Re-resolution keeps the same entries (and so their channels).
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(client.stats().endpoints >= 1);
        client.verify(request(9, &["q"])).await.unwrap();
    }
}

#[tokio::test]
async fn bad_configuration_is_refused_at_connect() {
    for (endpoints, tls) in [
        (vec!["nope".to_string()], None),
        (vec!["https://a:1".to_string()], None),
        (
            vec!["http://a:1".to_string()],
            Some(TlsConfig {
                ca_pem: Some(pki().ca.into_bytes()),
                ..TlsConfig::default()
            }),
        ),
    ] {
        let result = Client::connect(ClientConfig {
            tls,
            ..config(endpoints.clone())
        })
        .await;
        assert!(
            matches!(result, Err(ClientError::Config(_))),
            "{endpoints:?}"
        );
    }
    // Nothing is connected at construction: an unreachable appliance is no error yet.
    assert!(Client::connect(config(vec!["http://192.0.2.1:9".into()]))
        .await
        .is_ok());
}

struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "vigil test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::CrlSign,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |name: &str, usage: ExtendedKeyUsagePurpose| {
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca: ca.pem(),
        server: leaf("appliance.vigil.test", ExtendedKeyUsagePurpose::ServerAuth),
        client: leaf("node.vigil.test", ExtendedKeyUsagePurpose::ClientAuth),
    }
}

#[tokio::test]
async fn mutual_tls_with_a_domain_override() {
    let pki = pki();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(&pki.server.0, &pki.server.1))
        .client_ca_root(Certificate::from_pem(&pki.ca));
    tokio::spawn(
        Server::builder()
            .tls_config(server_tls)
            .unwrap()
            .add_service(VerifierServer::new(Fake::new("tls", Behaviour::Answer)))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let tls = TlsConfig {
        ca_pem: Some(pki.ca.clone().into_bytes()),
        identity: Some(ClientIdentity {
            cert_pem: pki.client.0.clone().into_bytes(),
            key_pem: pki.client.1.clone().into_bytes(),
        }),
        domain: Some("appliance.vigil.test".into()),
    };
    for endpoint in [
        format!("https://{addr}"),
        format!("dns://127.0.0.1:{}", addr.port()),
    ] {
        let client = Client::connect(ClientConfig {
            tls: Some(tls.clone()),
            ..config(vec![endpoint.clone()])
        })
        .await
        .unwrap();
        let resp = client.verify(request(1, &["t"])).await.unwrap();
        assert_eq!(resp.backend, "tls", "{endpoint}");
    }
    // Without a client certificate, or checking for another name, nothing is served.
    for tls in [
        TlsConfig {
            identity: None,
            ..tls.clone()
        },
        TlsConfig {
            domain: Some("other.vigil.test".into()),
            ..tls.clone()
        },
    ] {
        let client = Client::connect(ClientConfig {
            tls: Some(tls),
            attempts: 1,
            ..config(vec![format!("https://{addr}")])
        })
        .await
        .unwrap();
        let err = client.verify(request(1, &["t"])).await.unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("certificate"),
            "{err}"
        );
        assert_eq!(err.code(), Some(Code::Unavailable), "{err}");
    }
}
