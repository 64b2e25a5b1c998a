//! `vigil plot` end to end: small records in, SVG files out. The charts must be
//! well-formed SVG that names its series and axes, the same input must give the same
//! bytes (committed charts are checked that way), and bad input must fail with the file
//! and line named, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

mod common;

/// A fresh empty folder under the target directory's temporary area.
fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("plot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn signatures(backend: &str, profile: &str, n: u64, rate: f64) -> String {
    format!(
        r#"{{"kind":"signatures","backend":"{backend}","backend_devices":["2 threads, avx2 (4 lanes)"],"profile":"{profile}","signatures":{n},"transactions":{n},"invalid_transactions":0,"signers_per_transaction":1,"format":"jsonl","msg_len":"32..256","backend_sigs_per_sec":{rate},"baseline_sigs_per_sec":31000.5,"commit":"fedcba987654","date":"2026-12-05","machine":{{"cpu":"Test CPU","cores":2}}}}"#
    )
}

const MERKLE: &str = r#"{"kind":"merkle","backend":"cpu","backend_devices":["1 threads, x"],"leaves":1024,"backend_seconds":0.002,"serial_tree_seconds":0.0021,"baseline_seconds":0.001,"commit":"fedcba987654","date":"2026-12-05","machine":{"cpu":"Test CPU","cores":2}}"#;

const LATENCY: &str = r#"{"kind":"latency","backend":"cpu","profile":"strict","batch_signatures":64,"iterations":1000,"backend_us":{"p50":300.0,"p90":350.0,"p99":500.0,"p999":900.0,"max":1200.0},"backend_us_ladder":[[0.0,250.0],[0.5,300.0],[0.99,500.0],[1.0,1200.0]],"baseline_iterations":200,"baseline_us":{"p50":2000.0,"p90":2100.0,"p99":2300.0,"p999":2500.0,"max":2500.0},"commit":"fedcba987654","date":"2026-12-05","machine":{"cpu":"Test CPU","cores":2}}"#;

const CROSSOVER: &str = r#"{"kind":"crossover","backend":"opencl","points":[{"signatures":64,"device_seconds":0.01,"cpu_seconds":0.0002},{"signatures":4096,"device_seconds":0.02,"cpu_seconds":0.011}],"small_batch_signatures":4096,"commit":"fedcba987654","date":"2026-12-05","machine":{"cpu":"Test CPU","cores":2}}"#;

/// The envelope benches/daemon.sh writes, around a loadgen record, and one it writes
/// around something no chart draws.
const ENVELOPED: &str = r#"{"bench":"idle64","commit":"fedcba9","date":"2026-12-05T01:02:03Z","cpu":"Test CPU","cores":2,"result":{"kind":"loadgen","profile":"strict","batch":64,"concurrency":1,"requests":5000,"latency_us":{"p50":330,"p99":530,"p999":1100,"max":4200},"commit":"fedcba987654","date":"2026-12-05"}}
{"bench":"memory","commit":"fedcba9","date":"2026-12-05T01:02:03Z","cpu":"Test CPU","cores":2,"result":{"rss_kib":[1,2,3]}}"#;

fn fixture(dir: &Path) -> PathBuf {
    let lines = [
        signatures("cpu", "strict", 64, 90_000.0),
        signatures("cpu", "strict", 65_536, 380_000.0),
        signatures("opencl", "strict", 65_536, 17_000.0),
        MERKLE.to_owned(),
        LATENCY.to_owned(),
        CROSSOVER.to_owned(),
        ENVELOPED.to_owned(),
    ];
    let path = dir.join("fixture-raw.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn plot(input: &Path, out: &Path) -> std::process::Output {
    common::run_vigil(
        &[
            "plot",
            "--input",
            input.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
        ],
        &[],
        b"",
    )
}

/// Checks that `svg` is one <svg> element whose tags all close in order.
fn assert_well_formed(name: &str, svg: &str) {
    assert!(svg.starts_with("<svg"), "{name} does not start with <svg");
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "{name} does not end with </svg>"
    );
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(at) = rest.find('<') {
        let end = rest[at..]
            .find('>')
            .unwrap_or_else(|| panic!("{name}: unclosed <"))
            + at;
        let tag = &rest[at + 1..end];
        rest = &rest[end + 1..];
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop(),
                Some(closing.trim()),
                "{name}: </{closing}> out of order"
            );
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            open.push(tag.split_whitespace().next().unwrap());
        }
    }
    assert!(open.is_empty(), "{name}: unclosed {open:?}");
}

#[test]
fn every_chart_kind_is_drawn_well_formed_and_labelled() {
    let dir = scratch("kinds");
    let input = fixture(&dir);
    let out = dir.join("charts");
    let run = plot(&input, &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("1 record(s) of kinds no chart draws"),
        "{stderr}"
    );

    let expect = [
        (
            "fixture-throughput.svg",
            &[
                "signatures per second",
                "baseline: reference crate",
                "opencl",
                "90,000",
            ][..],
        ),
        (
            "fixture-throughput-by-size.svg",
            &["signatures per batch", "signatures per second", "cpu"][..],
        ),
        (
            "fixture-merkle.svg",
            &["milliseconds", "merkle::root, 1 thread", "1,024 leaves"][..],
        ),
        (
            "fixture-latency-batch-64sig.svg",
            &[
                "percentile",
                "milliseconds",
                "reference crate, 1 thread",
                "p99",
            ][..],
        ),
        (
            "fixture-latency-idle64.svg",
            &["percentile", "64 transactions a request", "idle64"][..],
        ),
        (
            "fixture-crossover-opencl.svg",
            &[
                "signatures per batch",
                "milliseconds per batch",
                "opencl from 4,096",
                "cpu",
            ][..],
        ),
    ];
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut wanted: Vec<&str> = expect.iter().map(|(n, _)| *n).collect();
    wanted.sort_unstable();
    assert_eq!(written, wanted);
    for (name, words) in expect {
        let svg = std::fs::read_to_string(out.join(name)).unwrap();
        assert_well_formed(name, &svg);
        // Every chart says where its numbers came from.
        assert!(
            svg.contains("Test CPU, 2 cores; commit fedcba9; 2026-12-05"),
            "{name}"
        );
        for word in words {
            assert!(svg.contains(word), "{name} lacks {word:?}");
        }
    }
    // stdout lists what was written.
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).lines().count(),
        expect.len()
    );
}

#[test]
fn the_same_records_give_the_same_bytes() {
    let dir = scratch("same");
    let input = fixture(&dir);
    let (a, b) = (dir.join("a"), dir.join("b"));
    assert!(plot(&input, &a).status.success());
    assert!(plot(&input, &b).status.success());
    let mut n = 0;
    for entry in std::fs::read_dir(&a).unwrap() {
        let name = entry.unwrap().file_name();
        let (x, y) = (
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap(),
        );
        assert!(x == y, "{name:?} differs between two runs");
        n += 1;
    }
    assert_eq!(n, 6);
}

#[test]
fn a_malformed_line_names_file_and_line() {
    let dir = scratch("bad");
    let input = dir.join("bad-raw.jsonl");
    std::fs::write(
        &input,
        format!(
            "{}\n\n{{\"kind\": \"signatures\",\n",
            signatures("cpu", "strict", 64, 1.0)
        ),
    )
    .unwrap();
    let run = plot(&input, &dir.join("out"));
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains("bad-raw.jsonl:3: not valid JSON"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !dir.join("out").exists(),
        "nothing is written from bad input"
    );
}

#[test]
fn a_record_missing_a_field_names_it_and_its_line() {
    let dir = scratch("field");
    let input = dir.join("field-raw.jsonl");
    let broken = MERKLE.replace(r#""backend_seconds":0.002,"#, "");
    std::fs::write(&input, format!("{MERKLE}\n{broken}\n")).unwrap();
    let run = plot(&input, &dir.join("out"));
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("field-raw.jsonl:2:"), "{stderr}");
    assert!(stderr.contains("backend_seconds"), "{stderr}");
}

#[test]
fn input_with_nothing_to_draw_is_an_error() {
    let dir = scratch("empty");
    let input = dir.join("empty-raw.jsonl");
    std::fs::write(&input, "{\"kind\":\"something-else\"}\n").unwrap();
    let run = plot(&input, &dir.join("out"));
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("nothing to draw"));
    let missing = plot(&dir.join("absent.jsonl"), &dir.join("out"));
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("absent.jsonl"));
}
