//! End-to-end tests of the `vigil` binary: generated batches verified through the CLI
//! must carry exactly the reference crates' verdicts, bad input must give one clear
//! error line, and no command may panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use vigil_core::input::{jsonl, solana};
use vigil_core::{merkle, reference_verify, Batch, Profile};

mod common;

fn vigil(args: &[&str], stdin: &[u8]) -> Output {
    common::run_vigil(args, &[], stdin)
}

fn ok(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let out = vigil(args, stdin);
    assert!(
        out.status.success(),
        "vigil {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Exit status is non-zero and stderr is exactly one `error: ...` line.
fn fails(args: &[&str], stdin: &[u8]) -> String {
    let out = vigil(args, stdin);
    assert!(!out.status.success(), "vigil {args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn expected_lines(batch: &Batch, profile: Profile) -> Vec<serde_json::Value> {
    (0..batch.len())
        .map(|tx| {
            let sigs: Vec<bool> = batch
                .signers_of(tx)
                .map(|s| {
                    let (pk, sig, msg) = batch.signer_item(s);
                    reference_verify(profile, pk, sig, msg)
                })
                .collect();
            let valid = batch.error(tx).is_none() && !sigs.is_empty() && sigs.iter().all(|&v| v);
            let mut line = serde_json::json!({ "valid": valid, "sigs": sigs });
            if let Some(e) = batch.error(tx) {
                line["error"] = e.into();
            }
            line
        })
        .collect()
}

fn parse_output(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn generated_batches_get_the_reference_verdicts() {
    for (format, profile) in [
        ("jsonl", "strict"),
        ("jsonl", "rfc8032"),
        ("solana", "zip215"),
        ("solana", "strict"),
    ] {
        let input = ok(
            &[
                "gen",
                "--count",
                "150",
                "--profile",
                profile,
                "--invalid-fraction",
                "0.4",
                "--msg-len",
                "0..300",
                "--signers",
                "2",
                "--format",
                format,
                "--seed",
                "9",
            ],
            b"",
        );
        assert_eq!(input.iter().filter(|&&b| b == b'\n').count(), 150);
        let p: Profile = profile.parse().unwrap();
        let batch = match format {
            "jsonl" => jsonl::parse_batch(&input).unwrap(),
            _ => solana::parse_base64_lines(&input).unwrap(),
        };
        let want = expected_lines(&batch, p);
        let invalid = want.iter().filter(|l| l["valid"] == false).count();
        assert!((30..=100).contains(&invalid), "{invalid} invalid of 150");
        let got = parse_output(&ok(
            &[
                "verify",
                "--profile",
                profile,
                "--format",
                format,
                "--backend",
                "cpu",
            ],
            &input,
        ));
        assert_eq!(got, want, "{format} {profile}");
    }
}

#[test]
fn gen_is_deterministic() {
    let args = [
        "gen",
        "--count",
        "20",
        "--profile",
        "strict",
        "--seed",
        "3",
        "--invalid-fraction",
        "0.5",
    ];
    assert_eq!(ok(&args, b""), ok(&args, b""));
}

#[test]
fn malformed_lines_are_marked_and_the_rest_verified() {
    let good = ok(&["gen", "--count", "2", "--profile", "strict"], b"");
    let good = String::from_utf8(good).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(1, "{not json");
    lines.insert(2, r#"{"msg":"zz","pubkey":"00","sig":"00"}"#);
    lines.push(r#"{"msg":"","pubkey":"0101","sig":"02"}"#);
    let input = lines.join("\n") + "\n";
    let got = parse_output(&ok(&["verify", "--profile", "strict"], input.as_bytes()));
    assert_eq!(got.len(), 5);
    assert_eq!(got[0]["valid"], true);
    assert_eq!(got[3]["valid"], true);
    for i in [1, 2, 4] {
        assert_eq!(got[i]["valid"], false);
        assert!(
            got[i]["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{}",
            got[i]
        );
    }
}

#[test]
fn errors_are_one_line() {
    fails(&["verify"], b"");
    fails(&["verify", "--profile", "lenient"], b"");
    fails(
        &[
            "verify",
            "--profile",
            "strict",
            "--input",
            "/nonexistent/file",
        ],
        b"",
    );
    let e = fails(&["verify", "--profile", "strict", "--backend", "cuda"], b"");
    assert!(e.contains("cuda"), "{e}");
    fails(&["merkle"], b"00\nxyz\n");
    fails(&["merkle", "--proof", "5"], b"00\n01\n");
    fails(
        &[
            "gen",
            "--count",
            "1",
            "--profile",
            "strict",
            "--signers",
            "0",
        ],
        b"",
    );
    fails(
        &[
            "gen",
            "--count",
            "1",
            "--profile",
            "strict",
            "--msg-len",
            "9..1",
        ],
        b"",
    );
    fails(&["bench", "--profile", "strict", "--count", "0"], b"");
    fails(&["nonsense"], b"");
}

#[test]
fn merkle_root_and_proofs() {
    let leaves: Vec<Vec<u8>> = (0..37u8).map(|i| vec![i; usize::from(i)]).collect();
    let input: String = leaves.iter().map(|l| hex::encode(l) + "\n").collect();
    let root = merkle::root(&leaves.iter().collect());
    let out = String::from_utf8(ok(&["merkle"], input.as_bytes())).unwrap();
    assert_eq!(out.trim(), hex::encode(root));
    assert_eq!(
        String::from_utf8(ok(&["merkle"], b"")).unwrap().trim(),
        hex::encode(merkle::empty_root())
    );

    let out = ok(
        &["merkle", "--proof", "0", "--proof", "36", "--proof", "17"],
        input.as_bytes(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["root"], hex::encode(root));
    assert_eq!(v["tree_size"], 37);
    for p in v["proofs"].as_array().unwrap() {
        let index = p["index"].as_u64().unwrap();
        let path = p["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                hex::decode(h.as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap()
            })
            .collect();
        let proof = merkle::InclusionProof {
            index,
            tree_size: 37,
            path,
        };
        assert!(merkle::verify_inclusion(
            &root,
            &leaves[usize::try_from(index).unwrap()],
            &proof
        ));
        assert!(!merkle::verify_inclusion(&root, b"other", &proof));
    }
}

#[test]
fn devices_names_every_backend() {
    let out = String::from_utf8(ok(&["devices"], b"")).unwrap();
    for name in ["cpu", "cuda", "opencl", "wgpu", "fpga"] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{out}");
    }
    assert!(out
        .lines()
        .any(|l| l.starts_with("cpu") && l.contains("present")));
    assert!(out
        .lines()
        .any(|l| l.starts_with("cuda") && l.contains("absent")));
    // With CUDA absent, whether this machine could still compile the kernels.
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("nvrtc")
            && (l.contains("is present") || l.contains("was not found"))),
        "{out}"
    );
}

#[test]
fn bench_reports_against_a_baseline() {
    for profile in ["strict", "zip215"] {
        let out = ok(
            &[
                "bench",
                "--profile",
                profile,
                "--count",
                "300",
                "--threads",
                "2",
                "--json",
                "--repeat",
                "1",
                "--invalid-fraction",
                "0.1",
            ],
            b"",
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["signatures"], 300);
        assert_eq!(v["verdicts_match_baseline"], true);
        assert!(v["backend_sigs_per_sec"].as_f64().unwrap() > 0.0);
        assert!(v["baseline_sigs_per_sec"].as_f64().unwrap() > 0.0);
        assert!(v["invalid_transactions"].as_u64().unwrap() > 0);
        assert!(v["commit"].as_str().is_some());
    }
    let out = ok(
        &[
            "bench", "--merkle", "--count", "5000", "--json", "--repeat", "1",
        ],
        b"",
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["leaves"], 5000);
    assert!(v["backend_over_baseline"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_latency_compare_and_a_partial_baseline() {
    // Latency: percentiles over batches of 16 signatures, the backend and the baseline.
    let out = ok(
        &[
            "bench",
            "--latency",
            "--profile",
            "rfc8032",
            "--batch",
            "16",
            "--iterations",
            "20",
            "--backend",
            "cpu",
            "--threads",
            "2",
            "--json",
        ],
        b"",
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["kind"], "latency");
    assert_eq!(v["batch_signatures"], 16);
    assert_eq!(v["iterations"], 20);
    let (p50, p99) = (
        v["backend_us"]["p50"].as_f64().unwrap(),
        v["backend_us"]["p99"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p99 >= p50, "{v}");
    assert!(v["baseline_us"]["p50"].as_f64().unwrap() > 0.0);

    // Two backends on the same data, one line each; the baseline covers a prefix only
    // and every verdict is still checked.
    let out = ok(
        &[
            "bench",
            "--profile",
            "zip215",
            "--count",
            "400",
            "--backend",
            "cpu",
            "--compare",
            "cpu",
            "--baseline-max",
            "100",
            "--repeat",
            "1",
            "--json",
            "--invalid-fraction",
            "0.2",
        ],
        b"",
    );
    let lines: Vec<serde_json::Value> = parse_output(&out);
    assert_eq!(lines.len(), 2);
    for v in &lines {
        assert_eq!(v["signatures"], 400);
        assert_eq!(v["baseline_signatures"], 100);
        assert_eq!(v["verdicts_match_baseline"], true);
        // The CPU backend measures no kernel time.
        assert!(v["kernel_seconds"].is_null());
    }
}

#[test]
fn conformance_command_checks_a_backend_on_every_set() {
    let out = ok(
        &[
            "conformance",
            "--backend",
            "cpu",
            "--generated",
            "300",
            "--threads",
            "2",
        ],
        b"",
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(" 0 mismatches"), "{text}");
    let checked: usize = text
        .split("conformance: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(checked > 5_000, "{text}");
}
