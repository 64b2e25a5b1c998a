//! No command-line argument may make `vigil` panic or abort: every numeric flag of every
//! subcommand, given a hostile value (zero, negative, not a number, huge, `u64::MAX`,
//! past `u64`), must end in a normal failure (status 2 from argument parsing, 1 from a
//! later check) with one `error:` line that names the flag, within seconds, and before
//! anything large is allocated. The largest accepted values must still work.

// Test support: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read as _;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Longest a single run may take before it counts as hung.
const TIMEOUT: Duration = Duration::from_secs(20);

const U64_MAX: &str = "18446744073709551615";
const PAST_U64: &str = "99999999999999999999999";
const HUGE: &str = "1000000000000000";

/// Runs `vigil args` with no input and returns its status and stderr, or says that it
/// was still running after [`TIMEOUT`] (and has been killed).
fn run(args: &[String]) -> Result<(ExitStatus, String), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "vigil {args:?} was still running after {TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok((status, reader.join().unwrap()))
}

/// What is wrong, if anything, with how `vigil args` failed: it must fail normally
/// (status 1 or 2: not 101, a panic, nor a signal), in time, with one `error:` line that
/// names `flag` and no panic message.
fn refusal_problem(args: &[String], flag: &str) -> Option<String> {
    let (status, stderr) = match run(args) {
        Ok(done) => done,
        Err(hung) => return Some(hung),
    };
    let stderr = stderr.trim_end();
    if !matches!(status.code(), Some(1) | Some(2)) {
        Some(format!(
            "vigil {args:?}: expected exit status 1 or 2, got {status} (101 is a panic, \
             none a signal); stderr: {stderr}"
        ))
    } else if stderr.contains("panicked") || !stderr.starts_with("error: ") {
        Some(format!("vigil {args:?}: not one error line: {stderr}"))
    } else if stderr.lines().count() != 1 {
        Some(format!("vigil {args:?}: more than one line: {stderr}"))
    } else if !stderr.contains(flag) {
        Some(format!(
            "vigil {args:?}: the error does not name {flag}: {stderr}"
        ))
    } else {
        None
    }
}

fn refused(args: &[String], flag: &str) {
    if let Some(problem) = refusal_problem(args, flag) {
        panic!("{problem}");
    }
}

/// `vigil args` must succeed.
fn accepted(args: &[&str]) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (status, stderr) = run(&args).unwrap_or_else(|hung| panic!("{hung}"));
    assert!(
        status.success(),
        "vigil {args:?} failed: {status}: {stderr}"
    );
}

/// What a flag takes, and so which values are hostile to it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A whole number of which zero makes no sense.
    Positive,
    /// A whole number that may be zero.
    Natural,
    /// A seed: every `u64` is fine; only what is no `u64` is refused.
    Seed,
    /// A fraction from 0 to 1.
    Fraction,
    /// Seconds or a rate: more than zero, finite, bounded.
    PositiveReal,
    /// Seconds that may be zero.
    NaturalReal,
    /// A message length range `MIN..MAX`.
    MsgRange,
}

fn hostile(kind: Kind) -> Vec<&'static str> {
    let not_numbers = ["-1", "abc", "", "1.5", "0x10", " 7"];
    let mut values: Vec<&str> = match kind {
        Kind::Positive | Kind::Natural => {
            let mut v = vec![HUGE, U64_MAX, PAST_U64];
            v.extend(not_numbers);
            v
        }
        Kind::Seed => vec!["-1", "abc", "", "1.5", PAST_U64],
        Kind::Fraction => vec![
            "nan", "inf", "-inf", "-1", "-0.5", "1.0001", "1e400", "abc", "", U64_MAX,
        ],
        Kind::PositiveReal | Kind::NaturalReal => {
            vec![
                "nan", "inf", "-inf", "-1", "1e400", "1e15", "abc", "", U64_MAX,
            ]
        }
        Kind::MsgRange => vec![
            "-1",
            "abc",
            "",
            "65536",
            "0..65536",
            "0..=65536",
            HUGE,
            U64_MAX,
            PAST_U64,
            "0..18446744073709551615",
            "9..1",
            "..",
        ],
    };
    if matches!(kind, Kind::Positive | Kind::PositiveReal) {
        values.push("0");
    }
    values
}

/// One subcommand: its name, the arguments that make the rest valid, and its numeric
/// flags with what they take and any further values out of their range.
struct Subcommand {
    name: &'static str,
    base: &'static [(&'static str, &'static str)],
    flags: &'static [(&'static str, Kind, &'static [&'static str])],
}

const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "gen",
        base: &[("--profile", "strict"), ("--count", "1")],
        flags: &[
            ("--count", Kind::Positive, &["100000001"]),
            ("--invalid-fraction", Kind::Fraction, &[]),
            ("--msg-len", Kind::MsgRange, &[]),
            ("--signers", Kind::Positive, &["256"]),
            ("--seed", Kind::Seed, &[]),
        ],
    },
    Subcommand {
        name: "verify",
        base: &[("--profile", "strict")],
        flags: &[("--threads", Kind::Positive, &["1025"])],
    },
    Subcommand {
        name: "merkle",
        base: &[("--backend", "cpu")],
        flags: &[
            ("--threads", Kind::Positive, &["1025"]),
            // Valid numbers, but the tree (no input: no leaves) has no such leaf.
            ("--proof", Kind::Natural, &["0"]),
        ],
    },
    Subcommand {
        name: "bench",
        base: &[("--profile", "strict"), ("--backend", "cpu")],
        flags: &[
            ("--count", Kind::Positive, &["100000001"]),
            ("--threads", Kind::Positive, &["1025"]),
            ("--signers", Kind::Positive, &["256"]),
            ("--msg-len", Kind::MsgRange, &[]),
            ("--invalid-fraction", Kind::Fraction, &[]),
            ("--repeat", Kind::Positive, &["1001"]),
            ("--seed", Kind::Seed, &[]),
            ("--batch", Kind::Positive, &["1000001"]),
            ("--iterations", Kind::Positive, &["1000001"]),
            ("--baseline-max", Kind::Positive, &["4294967296"]),
        ],
    },
    Subcommand {
        name: "conformance",
        base: &[("--backend", "cpu")],
        flags: &[
            ("--generated", Kind::Natural, &["1000001"]),
            ("--max-batch", Kind::Positive, &["1048577"]),
            ("--seed", Kind::Seed, &[]),
            ("--threads", Kind::Positive, &["1025"]),
        ],
    },
    Subcommand {
        name: "loadgen",
        base: &[("--target", "http://127.0.0.1:1"), ("--profile", "strict")],
        flags: &[
            ("--batch", Kind::Positive, &["1000001"]),
            ("--signers", Kind::Positive, &["256"]),
            ("--msg-len", Kind::Natural, &["65536"]),
            ("--invalid-fraction", Kind::Fraction, &[]),
            ("--rate", Kind::PositiveReal, &["10000001"]),
            ("--concurrency", Kind::Positive, &["100001"]),
            ("--duration", Kind::PositiveReal, &["2592001"]),
            ("--requests", Kind::Positive, &["10000000001"]),
            ("--deadline-ms", Kind::Positive, &["3600001"]),
            ("--warmup", Kind::NaturalReal, &["2592001"]),
            ("--client-threads", Kind::Positive, &["1025"]),
            ("--pool", Kind::Positive, &["4097"]),
            ("--seed", Kind::Seed, &[]),
        ],
    },
];

/// The subcommand's arguments with `flag=value` in place of any base value of `flag`.
fn with(sub: &Subcommand, flag: &str, value: &str) -> Vec<String> {
    let mut args = vec![sub.name.to_string()];
    for (f, v) in sub.base.iter().filter(|(f, _)| *f != flag) {
        args.push(f.to_string());
        args.push(v.to_string());
    }
    args.push(format!("{flag}={value}"));
    args
}

#[test]
fn every_numeric_flag_refuses_hostile_values() {
    let mut cases = 0;
    let mut problems = Vec::new();
    for sub in SUBCOMMANDS {
        for &(flag, kind, extra) in sub.flags {
            for value in hostile(kind).into_iter().chain(extra.iter().copied()) {
                problems.extend(refusal_problem(&with(sub, flag, value), flag));
                cases += 1;
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {cases} cases:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(cases > 250, "only {cases} cases");
}

#[test]
fn a_negative_number_as_a_separate_word_is_refused_too() {
    for (sub, flag) in [
        ("gen", "--count"),
        ("bench", "--repeat"),
        ("loadgen", "--pool"),
    ] {
        let args: Vec<String> = [sub, flag, "-1", "--profile", "strict"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (status, stderr) = run(&args).unwrap_or_else(|hung| panic!("{hung}"));
        assert_eq!(status.code(), Some(2), "vigil {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Flags each within range that together would generate more than one batch can hold
/// are refused before anything is generated, naming the flags.
#[test]
fn sizes_that_only_overflow_together_are_refused() {
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let gen = ["gen", "--profile", "strict"];
    refused(
        &s(&[&gen[..], &["--count", "100000000"]].concat()),
        "--count",
    );
    refused(
        &s(&[&gen[..], &["--count", "1000000", "--msg-len", "65535"]].concat()),
        "--msg-len",
    );
    refused(
        &s(&[&gen[..], &["--count", "10000000", "--signers", "255"]].concat()),
        "--signers",
    );
    refused(
        &s(&["bench", "--profile", "strict", "--count", "100000000"]),
        "--count",
    );
    refused(
        &s(&[
            "bench",
            "--latency",
            "--profile",
            "strict",
            "--batch",
            "1000000",
            "--msg-len",
            "60000",
        ]),
        "--batch",
    );
    refused(
        &s(&[
            "loadgen",
            "--target",
            "http://127.0.0.1:1",
            "--profile",
            "strict",
            "--pool",
            "4096",
            "--batch",
            "1000000",
        ]),
        "--pool",
    );
}

/// The bounds are not so tight that the largest sensible values fail: one transaction
/// with the most signers and the longest message, in both forms, and the largest seed.
#[test]
fn the_largest_accepted_values_work() {
    for format in ["jsonl", "solana"] {
        accepted(&[
            "gen",
            "--profile",
            "strict",
            "--count",
            "1",
            "--signers",
            "255",
            "--msg-len",
            "65535",
            "--seed",
            U64_MAX,
            "--invalid-fraction",
            "1",
            "--format",
            format,
        ]);
    }
    accepted(&[
        "gen",
        "--profile",
        "zip215",
        "--count",
        "3",
        "--msg-len",
        "0",
    ]);
}
