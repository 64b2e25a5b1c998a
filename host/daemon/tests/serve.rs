//! End to end: a real `vigil serve` on loopback, real gRPC clients.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{assert_verdicts, metric_sum, parse_prometheus, request, Appliance};
use tokio_stream::StreamExt as _;
use tonic::Code;
use vigil_core::Profile;
use vigil_proto::v1::{self, MerkleRequest, VerifyRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_equal_the_oracle_for_every_profile_and_both_forms() {
    let app = Appliance::start(&[]).await;
    let mut client = app.client().await;
    let mut id = 0;
    for profile in Profile::ALL {
        for solana in [false, true] {
            for (count, signers) in [(1, 1), (40, 2), (7, 5)] {
                id += 1;
                let mut req = request(id, profile, count, signers, solana, id);
                req.want_merkle_root = id % 2 == 0;
                let resp = client
                    .verify(req.clone())
                    .await
                    .expect("verify")
                    .into_inner();
                assert_verdicts(&req, &resp);
                assert_eq!(resp.backend, "cpu");
            }
        }
    }
    // Malformed transactions are marked with a reason; the rest is still verified.
    let mut req = request(100, Profile::Strict, 5, 1, false, 9);
    req.transactions[1].signers[0].pubkey = bytes::Bytes::from_static(&[1; 31]);
    req.transactions[3].signers.clear();
    let resp = client.verify(req.clone()).await.unwrap().into_inner();
    assert_verdicts(&req, &resp);
    assert!(resp.errors[1].contains("pubkey must be 32 bytes"));
    assert!(!resp.errors[3].is_empty());
    let mut req = request(101, Profile::Zip215, 4, 1, true, 10);
    req.solana_transactions[2] = bytes::Bytes::from_static(b"\x01garbage");
    let resp = client.verify(req.clone()).await.unwrap().into_inner();
    assert_verdicts(&req, &resp);
    assert!(resp.errors[2].starts_with("solana:"));

    // An empty request is answered, empty.
    let empty = VerifyRequest {
        id: 7,
        profile: v1::Profile::Strict as i32,
        ..Default::default()
    };
    let resp = client.verify(empty).await.unwrap().into_inner();
    assert_eq!((resp.id, resp.valid.len()), (7, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_invalid_argument_and_the_server_survives() {
    let app = Appliance::start(&["--max-message-bytes", "200000"]).await;
    let mut client = app.client().await;

    let mut unspecified = request(1, Profile::Strict, 2, 1, false, 1);
    unspecified.profile = v1::Profile::Unspecified as i32;
    let status = client.verify(unspecified).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("unspecified"),
        "{}",
        status.message()
    );

    let mut unknown = request(2, Profile::Strict, 2, 1, false, 1);
    unknown.profile = 42;
    assert_eq!(
        client.verify(unknown).await.unwrap_err().code(),
        Code::InvalidArgument
    );

    let mut both = request(3, Profile::Strict, 2, 1, false, 1);
    both.solana_transactions = request(3, Profile::Strict, 2, 1, true, 1).solana_transactions;
    let status = client.verify(both).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("one transaction form"));

    let merkle = MerkleRequest {
        leaves: vec![bytes::Bytes::from_static(b"a")],
        proof_indices: vec![1],
    };
    assert_eq!(
        client.merkle_root(merkle).await.unwrap_err().code(),
        Code::InvalidArgument
    );

    // Over the message size limit: refused by the transport, not a crash.
    let huge = request(4, Profile::Strict, 2000, 1, false, 1);
    let result = client.verify(huge).await;
    assert!(result.is_err(), "a request over the size limit was served");

    let ok = request(5, Profile::Strict, 3, 1, false, 1);
    let resp = client.verify(ok.clone()).await.unwrap().into_inner();
    assert_verdicts(&ok, &resp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merkle_roots_and_inclusion_proofs() {
    let app = Appliance::start(&[]).await;
    let mut client = app.client().await;
    for n in [0usize, 1, 2, 3, 7, 100] {
        let leaves: Vec<bytes::Bytes> = (0..n)
            .map(|i| bytes::Bytes::from(vec![u8::try_from(i % 251).unwrap(); i % 70]))
            .collect();
        let mut core = vigil_core::Leaves::default();
        for l in &leaves {
            core.push(l).unwrap();
        }
        let want = vigil_core::merkle::root(&core);
        let indices: Vec<u64> = (0..n as u64).step_by(3).collect();
        let resp = client
            .merkle_root(MerkleRequest {
                leaves: leaves.clone(),
                proof_indices: indices.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(resp.root.as_ref(), &want, "{n} leaves");
        assert_eq!(resp.proofs.len(), indices.len());
        for proof in resp.proofs {
            let core_proof = vigil_core::merkle::InclusionProof {
                index: proof.index,
                tree_size: proof.tree_size,
                path: proof
                    .path
                    .iter()
                    .map(|h| <[u8; 32]>::try_from(h.as_ref()).unwrap())
                    .collect(),
            };
            let leaf = &leaves[usize::try_from(proof.index).unwrap()];
            assert!(vigil_core::merkle::verify_inclusion(
                &want,
                leaf,
                &core_proof
            ));
        }
        // Without proofs, the root comes from the backend.
        let resp = client
            .merkle_root(MerkleRequest {
                leaves,
                proof_indices: vec![],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(resp.root.as_ref(), &want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_many_in_flight_out_of_order() {
    let app = Appliance::start(&[]).await;
    let mut client = app.client().await;
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let mut sent = Vec::new();
    for i in 0..40usize {
        let profile = Profile::ALL[i % 3];
        // Every fifth request is refused alone (no profile); the stream goes on.
        let id = i as u64;
        let mut req = request(id, profile, 1 + (i * 7) % 60, 1 + i % 3, i % 2 == 0, id);
        if i % 5 == 4 {
            req.profile = 0;
        }
        sent.push(req.clone());
        tx.send(req).await.unwrap();
    }
    let outbound = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut inbound = client.verify_stream(outbound).await.unwrap().into_inner();
    drop(tx);
    let mut order = Vec::new();
    while let Some(resp) = inbound.next().await {
        let resp = resp.expect("stream item");
        let req = &sent[usize::try_from(resp.id).unwrap()];
        if resp.id % 5 == 4 {
            let status = resp.status.as_ref().expect("a per-request status");
            assert_eq!(status.code, Code::InvalidArgument as i32);
        } else {
            assert_verdicts(req, &resp);
        }
        order.push(resp.id);
    }
    let unique: HashSet<u64> = order.iter().copied().collect();
    assert_eq!(unique.len(), 40, "every request answered once: {order:?}");
    assert_eq!(order.len(), 40);
    // Refusals are answered at once, ahead of verdicts of requests sent before them.
    assert!(
        order.windows(2).any(|w| w[0] > w[1]),
        "responses came strictly in order: {order:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_sheds_with_resource_exhausted_and_loses_no_accepted_request() {
    // A queue of 600 signatures; 30 concurrent requests of 100 signatures.
    let app = Appliance::start(&[
        "--queue-signatures",
        "600",
        "--max-batch-signatures",
        "600",
        "--max-in-flight-batches",
        "1",
    ])
    .await;
    let client = app.client().await;
    let mut tasks = Vec::new();
    for i in 0..30u64 {
        let mut client = client.clone();
        tasks.push(tokio::spawn(async move {
            let req = request(i, Profile::Strict, 50, 2, false, i);
            (req.clone(), client.verify(req).await)
        }));
    }
    let (mut ok, mut shed) = (0, 0);
    for task in tasks {
        let (req, result) = task.await.unwrap();
        match result {
            Ok(resp) => {
                assert_verdicts(&req, &resp.into_inner());
                ok += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
                shed += 1;
            }
        }
    }
    assert!(ok >= 6, "at least a full queue's worth is served: {ok}");
    assert!(
        shed > 0,
        "30 x 100 signatures into a 600-signature queue must shed"
    );
    let samples = parse_prometheus(&app.metrics_text()).unwrap();
    assert_eq!(
        metric_sum(&samples, "vigil_shed_total", &[]),
        f64::from(shed)
    );
    assert_eq!(
        metric_sum(
            &samples,
            "vigil_requests_total",
            &[("method", "Verify"), ("code", "OK")]
        ),
        f64::from(ok)
    );
    assert_eq!(
        metric_sum(
            &samples,
            "vigil_requests_total",
            &[("method", "Verify"), ("code", "RESOURCE_EXHAUSTED")]
        ),
        f64::from(shed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_does_not_starve_a_light_one() {
    let app = Appliance::start(&[
        "--queue-signatures",
        "2000",
        "--max-batch-signatures",
        "2000",
        "--max-in-flight-batches",
        "1",
    ])
    .await;
    let flood_until = Instant::now() + Duration::from_secs(4);
    let mut flooders = Vec::new();
    for f in 0..12u64 {
        // One connection, one client identity: the flood.
        let mut client = app.client().await;
        flooders.push(tokio::spawn(async move {
            let (mut ok, mut shed) = (0u32, 0u32);
            let req = request(f, Profile::Strict, 100, 2, false, f);
            while Instant::now() < flood_until {
                let mut r = tonic::Request::new(req.clone());
                r.metadata_mut()
                    .insert("vigil-client-id", "flood".parse().unwrap());
                match client.verify(r).await {
                    Ok(_) => ok += 1,
                    Err(s) if s.code() == Code::ResourceExhausted => shed += 1,
                    Err(s) => panic!("flooder got {s}"),
                }
            }
            (ok, shed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The light client: ten small requests, one at a time, retrying when shed.
    let mut light = app.client().await;
    let mut light_shed = 0;
    let mut served = 0;
    let mut latencies = Vec::new();
    for i in 0..10u64 {
        let req = request(1000 + i, Profile::Strict, 10, 1, false, 1000 + i);
        let started = Instant::now();
        loop {
            let mut r = tonic::Request::new(req.clone());
            r.metadata_mut()
                .insert("vigil-client-id", "light".parse().unwrap());
            match light.verify(r).await {
                Ok(resp) => {
                    assert_verdicts(&req, &resp.into_inner());
                    served += 1;
                    break;
                }
                Err(s) if s.code() == Code::ResourceExhausted => {
                    light_shed += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(s) => panic!("light client got {s}"),
            }
            assert!(Instant::now() < flood_until, "light client starved");
        }
        latencies.push(started.elapsed());
    }
    let mut flood_shed = 0;
    for f in flooders {
        let (_, shed) = f.await.unwrap();
        flood_shed += shed;
    }
    assert_eq!(served, 10);
    assert!(flood_shed > 0, "the flood was never shed");
    // The light client is refused at most a few times per request, far less than
    // the flood: its share is reserved.
    assert!(
        light_shed <= 3 * 10,
        "light client shed {light_shed} times for 10 requests (flood shed {flood_shed})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_that_passes_in_the_queue_gets_deadline_exceeded() {
    let app = Appliance::start(&[
        "--max-in-flight-batches",
        "1",
        "--max-batch-signatures",
        "1000",
    ])
    .await;
    let client = app.client().await;
    // A large request (about a second of work on two cores) occupies the only in-flight
    // slot...
    let big = request(1, Profile::Strict, 25_000, 2, false, 1);
    let mut c = client.clone();
    let big_task = tokio::spawn(async move { c.verify(big).await });
    let started = Instant::now();
    while metric_sum(
        &parse_prometheus(&app.metrics_text()).unwrap(),
        "vigil_backend_in_flight_batches",
        &[],
    ) < 1.0
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the big batch never started"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // ...so a small request with a short deadline waits in the queue past it.
    // The deadline goes as the bare header: tonic's client would also enforce
    // `set_timeout` locally and could report its own CANCELLED first, while this test is
    // about what the appliance answers.
    let mut small = tonic::Request::new(request(2, Profile::Strict, 2, 1, false, 2));
    small
        .metadata_mut()
        .insert("grpc-timeout", "300m".parse().unwrap());
    let mut c = client.clone();
    let small_started = Instant::now();
    let status = c
        .verify(small)
        .await
        .expect_err("the small request met its deadline");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(small_started.elapsed() < Duration::from_millis(800));
    // The big one is unaffected.
    let resp = big_task.await.unwrap().expect("big request").into_inner();
    assert_eq!(resp.valid.len(), 25_000);
    // A generous deadline is met.
    let mut ok = tonic::Request::new(request(3, Profile::Strict, 2, 1, false, 3));
    ok.set_timeout(Duration::from_secs(30));
    assert!(c.verify(ok).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_completes_accepted_work() {
    let mut app = Appliance::start(&[]).await;
    let client = app.client().await;
    let mut tasks = Vec::new();
    for i in 0..4u64 {
        let mut c = client.clone();
        let req = request(i, Profile::Strict, 3000, 2, i % 2 == 0, i);
        tasks.push(tokio::spawn(
            async move { (req.clone(), c.verify(req).await) },
        ));
    }
    // Once the appliance holds work (queued or on the backend), ask it to stop.
    let started = Instant::now();
    loop {
        let samples = parse_prometheus(&app.metrics_text()).unwrap();
        let held = metric_sum(&samples, "vigil_queue_requests", &[])
            + metric_sum(&samples, "vigil_backend_in_flight_batches", &[]);
        if held > 0.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no work ever arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    app.signal(nix::sys::signal::Signal::SIGTERM);
    // Work accepted before the signal is finished and answered; a request that had not
    // been accepted yet is refused with UNAVAILABLE (a client retries elsewhere).
    let mut finished = 0;
    for task in tasks {
        let (req, result) = task.await.unwrap();
        match result {
            Ok(resp) => {
                assert_verdicts(&req, &resp.into_inner());
                finished += 1;
            }
            // Refused by the appliance, or never delivered: sent after its GOAWAY, which
            // tonic reports from the client side with the transport error as source.
            Err(status) => assert!(
                status.code() == Code::Unavailable || std::error::Error::source(&status).is_some(),
                "{status:?}"
            ),
        }
    }
    assert!(
        finished >= 1,
        "the work held at the signal was not finished"
    );
    let status = app.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit status {status}");
    // Nothing listens any more.
    assert!(std::net::TcpStream::connect(app.grpc).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_not_serving_until_the_self_test_then_serving() {
    let app = Appliance::spawn(&[]);
    // The listening line comes before the backends start; the server answers health
    // at once, NOT_SERVING or SERVING, never an error.
    let channel = app.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let first = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status;
    use tonic_health::pb::health_check_response::ServingStatus;
    assert!(first == ServingStatus::NotServing as i32 || first == ServingStatus::Serving as i32);
    app.wait_serving().await;
    let whole = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(whole, ServingStatus::Serving as i32);
    assert_eq!(common::http_get(app.metrics.unwrap(), "/healthz").0, 200);

    // Reflection lists the service.
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(channel);
    let req = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let resp = stream.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
        panic!("unexpected reflection answer");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"vigil.v1.Verifier".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );

    // Devices lists the CPU backend, healthy, and every profile's queue.
    let mut client = app.client().await;
    let devices = client
        .devices(v1::DevicesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(devices.backends.len(), 1);
    assert_eq!(devices.backends[0].name, "cpu");
    assert!(devices.backends[0].healthy);
    assert_eq!(devices.queues.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_count_the_work_done() {
    let app = Appliance::start(&[]).await;
    let mut client = app.client().await;
    let (mut txs, mut sigs, mut valid_sigs) = (0, 0, 0);
    for i in 0..6usize {
        let id = i as u64;
        let req = request(id, Profile::ALL[i % 3], 20 + i, 2, i % 2 == 1, id);
        let resp = client.verify(req.clone()).await.unwrap().into_inner();
        assert_verdicts(&req, &resp);
        txs += resp.valid.len();
        sigs += resp.signature_valid.len();
        valid_sigs += resp.signature_valid.iter().filter(|&&v| v).count();
    }
    let text = app.metrics_text();
    let samples = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let sum = |name, labels: &[(&str, &str)]| metric_sum(&samples, name, labels);
    assert_eq!(
        sum("vigil_transactions_total", &[("backend", "cpu")]),
        txs as f64
    );
    assert_eq!(
        sum("vigil_signatures_total", &[("backend", "cpu")]),
        sigs as f64
    );
    assert_eq!(
        sum("vigil_signatures_total", &[("result", "valid")]),
        valid_sigs as f64
    );
    assert_eq!(
        sum(
            "vigil_requests_total",
            &[("method", "Verify"), ("code", "OK")]
        ),
        6.0
    );
    assert_eq!(
        sum("vigil_stage_duration_seconds_count", &[("stage", "total")]),
        6.0
    );
    assert_eq!(sum("vigil_backend_healthy", &[("backend", "cpu")]), 1.0);
    assert_eq!(sum("vigil_build_info", &[]), 1.0);
    assert_eq!(sum("vigil_queue_requests", &[]), 0.0);
    let signatures_in_batches = sum("vigil_batch_signatures_sum", &[("backend", "cpu")]);
    assert_eq!(signatures_in_batches, sigs as f64);
    // Names follow the conventions: counters end in _total, durations in _seconds.
    for line in text.lines().filter(|l| l.starts_with("# TYPE vigil_")) {
        let parts: Vec<&str> = line.split(' ').collect();
        if parts[3] == "counter" {
            assert!(parts[2].ends_with("_total"), "{line}");
        }
    }
}
