//! `vigil` against the simulated FPGA card: the card's RTL (Verilator) served on a Unix
//! socket by `vigil_hdl_sim::card::SimCard` in this test process, reached by the binary
//! through `VIGIL_FPGA_SIM`, exactly as a deployment reaches `vigil-card-sim`.
//!
//! Roots from `vigil merkle --backend fpga-sim` must equal the CPU oracle's for every
//! docs/MERKLE.md size up to 1,000 leaves with random leaf lengths, and for a tree larger
//! than the card takes in one request (the driver splits it into subtrees); a leaf over
//! the card's limit is a clear error, not a wrong root; `vigil devices` lists the card.
//!
//! Verdicts from `vigil verify --backend fpga-sim` must equal `--backend cpu`'s (the
//! reference) for every edge case in `testdata/` under every profile, and for 210
//! generated signatures (honest and adversarial) under `strict`: the card's Ed25519
//! engine, its SHA-512 front end and the driver, end to end.
//!
//! `vigil serve --backend fpga-sim,cpu`, what an operator runs with a card, answers
//! Verify and MerkleRoot from the card with the oracle's results; left to measure the
//! crossover itself, it finds the simulated card slower than the CPU and routes nothing
//! to it by size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{assert_verdicts, metric_sum, parse_prometheus, request, Appliance};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_core::{merkle, Profile};
use vigil_hdl_sim::card::SimCard;
use vigil_proto::v1::MerkleRequest;

fn vigil(socket: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("VIGIL_FPGA_SIM", socket)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vigil");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn sim() -> SimCard {
    SimCard::spawn().unwrap_or_else(|e| panic!("{e}"))
}

fn card_root(socket: &Path, leaves: &[Vec<u8>]) -> String {
    let input: String = leaves.iter().map(|l| hex::encode(l) + "\n").collect();
    let out = vigil(
        socket,
        &["merkle", "--backend", "fpga-sim"],
        input.as_bytes(),
    );
    assert!(
        out.status.success(),
        "vigil merkle --backend fpga-sim failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn merkle_roots_on_the_simulated_card_equal_the_cpu() {
    let card = sim();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for n in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 1000] {
        let leaves: Vec<Vec<u8>> = (0..n)
            .map(|_| {
                let len = rng.gen_range(0..1500);
                (0..len).map(|_| rng.gen()).collect()
            })
            .collect();
        let want = hex::encode(merkle::root(&leaves.iter().collect()));
        assert_eq!(card_root(card.socket_path(), &leaves), want, "{n} leaves");
    }
}

#[test]
fn trees_larger_than_one_request_are_split_into_subtrees() {
    let card = sim();
    // The card takes 4,096 leaves per request: 9,000 is two full subtrees and a part.
    let leaves: Vec<Vec<u8>> = (0..9000u32)
        .map(|i| i.to_le_bytes()[..(i % 5) as usize].to_vec())
        .collect();
    let want = hex::encode(merkle::root(&leaves.iter().collect()));
    assert_eq!(card_root(card.socket_path(), &leaves), want);
}

#[test]
fn a_leaf_over_the_card_limit_is_an_error_not_a_root() {
    let card = sim();
    let leaves = [vec![1u8; 10], vec![2u8; 65537]];
    let input: String = leaves.iter().map(|l| hex::encode(l) + "\n").collect();
    let out = vigil(
        card.socket_path(),
        &["merkle", "--backend", "fpga-sim"],
        input.as_bytes(),
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no root printed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("65537"), "{err}");
}

#[test]
fn devices_lists_the_simulated_card() {
    let card = sim();
    let out = vigil(card.socket_path(), &["devices"], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("fpga-sim"))
        .unwrap_or_else(|| panic!("no fpga-sim line in:\n{text}"));
    assert!(line.contains("present"), "{text}");
    assert!(text.contains("Vigil card, register map 1.2"), "{text}");
    // The counts the card reports (the default simulated card: one engine of 16
    // contexts, one SHA-512 core).
    assert!(
        text.contains("1 verify engines x 16 contexts, 1 SHA-512 cores"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{:016x}", vigil_hdl_sim::card::BUILD_HASH)),
        "the build hash read from the card: {text}"
    );

    // With no card server, the family is absent and says why.
    let gone = card.socket_path().with_extension("absent");
    let out = vigil(&gone, &["devices"], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("fpga-sim")).unwrap();
    assert!(
        line.contains("absent") && line.contains("card server"),
        "{line}"
    );
}

fn verify_lines(socket: &Path, backend: &str, profile: &str, input: &[u8]) -> Vec<String> {
    let out = vigil(
        socket,
        &["verify", "--backend", backend, "--profile", profile],
        input,
    );
    assert!(
        out.status.success(),
        "vigil verify --backend {backend} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `testdata/edge` as `vigil verify` input: each record's message and signers.
fn edge_input() -> (String, usize) {
    let mut input = String::new();
    let mut signatures = 0;
    for line in vigil_core::conformance::EDGE_JSONL.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        signatures += v["signers"].as_array().map_or(0, Vec::len);
        let tx = serde_json::json!({ "msg": v["msg"], "signers": v["signers"] });
        input.push_str(&tx.to_string());
        input.push('\n');
    }
    (input, signatures)
}

#[test]
fn verdicts_on_the_simulated_card_equal_the_cpu_on_every_edge_case() {
    edge_cases_equal_the_cpu(&sim());
}

/// The card of four engines and two SHA-512 cores (signatures spread over the engines'
/// 64 contexts) gives the CPU's verdicts too: on every edge case under every profile, and
/// on generated signatures under every profile.
#[test]
fn verdicts_on_a_four_engine_card_equal_the_cpu() {
    let card = SimCard::spawn_with_engines(4).unwrap_or_else(|e| panic!("{e}"));
    let out = vigil(card.socket_path(), &["devices"], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("4 verify engines x 16 contexts, 2 SHA-512 cores"),
        "{text}"
    );
    edge_cases_equal_the_cpu(&card);
    for (seed, profile) in (20u64..).zip(["strict", "rfc8032", "zip215"]) {
        generated_signatures_equal_the_cpu(&card, profile, seed);
    }
}

fn edge_cases_equal_the_cpu(card: &SimCard) {
    let (input, signatures) = edge_input();
    assert!(signatures > 300, "{signatures} edge signatures");
    for profile in ["strict", "rfc8032", "zip215"] {
        let want = verify_lines(card.socket_path(), "cpu", profile, input.as_bytes());
        let got = verify_lines(card.socket_path(), "fpga-sim", profile, input.as_bytes());
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{profile}: edge record {i}");
        }
        let valid = want.iter().filter(|l| l.contains("\"valid\":true")).count();
        assert!(
            valid > 0 && valid < want.len(),
            "{profile}: both verdicts occur"
        );
    }
}

#[test]
fn verdicts_on_the_simulated_card_equal_the_cpu_on_generated_signatures() {
    generated_signatures_equal_the_cpu(&sim(), "strict", 12);
}

/// 210 signatures from `vigil gen` (40 % broken) under `profile`: the card's verdicts are
/// the CPU's.
fn generated_signatures_equal_the_cpu(card: &SimCard, profile: &str, seed: u64) {
    let seed = seed.to_string();
    let gen = vigil(
        card.socket_path(),
        &[
            "gen",
            "--count",
            "210",
            "--profile",
            profile,
            "--invalid-fraction",
            "0.4",
            "--msg-len",
            "0..400",
            "--seed",
            &seed,
        ],
        b"",
    );
    assert!(gen.status.success());
    let want = verify_lines(card.socket_path(), "cpu", profile, &gen.stdout);
    let got = verify_lines(card.socket_path(), "fpga-sim", profile, &gen.stdout);
    assert_eq!(want.len(), 210);
    assert_eq!(got, want, "{profile}");
    let invalid = want
        .iter()
        .filter(|l| l.contains("\"valid\":false"))
        .count();
    assert!(
        (40..=130).contains(&invalid),
        "{profile}: {invalid} invalid of 210"
    );
}

/// The appliance on the simulated card, every batch routed to the card
/// (`--small-batch-signatures 0`): Verify under every profile in both request forms, and
/// MerkleRoot, answered by the card with the oracle's results, and counted in the metrics
/// under its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_verify_and_merkle_from_the_simulated_card() {
    let card = sim();
    let env = [("VIGIL_FPGA_SIM", card.socket_path().as_os_str())];
    let app = Appliance::start_on("fpga-sim,cpu", &env, &["--small-batch-signatures", "0"]).await;
    let mut client = app.client().await;
    let mut signatures = 0;
    for (i, profile) in (0u64..).zip(Profile::ALL) {
        let req = request(i, profile, 10, 2, i == 1, 40 + i);
        let resp = client.verify(req.clone()).await.unwrap().into_inner();
        assert_verdicts(&req, &resp);
        assert_eq!(resp.backend, "fpga-sim", "{profile:?}");
        signatures += resp.signature_valid.len();
    }
    assert!(signatures >= 40, "{signatures} signatures reached the card");

    let leaves: Vec<bytes::Bytes> = (0..300usize)
        .map(|i| bytes::Bytes::from(vec![u8::try_from(i % 251).unwrap(); i * 7 % 1500]))
        .collect();
    let core: vigil_core::Leaves = leaves.iter().collect();
    let resp = client
        .merkle_root(MerkleRequest {
            leaves,
            proof_indices: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.root.as_ref(), &merkle::root(&core));
    assert_eq!(resp.backend, "fpga-sim");

    let text = app.metrics_text();
    let samples = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        metric_sum(
            &samples,
            "vigil_signatures_total",
            &[("backend", "fpga-sim")]
        ),
        signatures as f64
    );
    assert_eq!(
        metric_sum(
            &samples,
            "vigil_backend_healthy",
            &[("backend", "fpga-sim")]
        ),
        1.0
    );
    // One card found, in service, none failed at start.
    assert_eq!(
        metric_sum(
            &samples,
            "vigil_devices_in_service",
            &[("backend", "fpga-sim")]
        ),
        1.0
    );
    assert!(
        text.contains("vigil_device_start_failures{backend=\"fpga-sim\"} 0"),
        "{text}"
    );
}

/// Left to measure the crossover, the appliance times the simulated card (far slower
/// than the CPU: a batch of 64 takes seconds) once, stops there, and routes no batch to
/// it by size: the CPU answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_routes_nothing_by_size_to_a_card_slower_than_the_cpu() {
    let card = sim();
    let env = [("VIGIL_FPGA_SIM", card.socket_path().as_os_str())];
    let started = std::time::Instant::now();
    let app = Appliance::start_on("fpga-sim,cpu", &env, &[]).await;
    eprintln!("serving after {:?}", started.elapsed());
    let mut client = app.client().await;
    let req = request(1, Profile::Strict, 2000, 1, false, 3);
    let resp = client.verify(req.clone()).await.unwrap().into_inner();
    assert_verdicts(&req, &resp);
    assert_eq!(resp.backend, "cpu");
}
