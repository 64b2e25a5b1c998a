//! The outputs meant for machines rather than people: `vigil devices --json` must be one
//! JSON document saying what the text listing says, and `--log-format json` (or
//! `VIGIL_LOG_FORMAT=json`) must turn every log line on stderr into a JSON object a log
//! pipeline can take, without touching a command's results on stdout. A format that does
//! not exist is refused at start-up, as any bad argument is.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Output;

use serde_json::Value;

mod common;

use common::run_vigil as vigil;

fn succeeds(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let out = vigil(args, env, stdin);
    assert!(
        out.status.success(),
        "vigil {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn field<'a>(object: &'a Value, key: &str) -> &'a Value {
    object
        .get(key)
        .unwrap_or_else(|| panic!("no {key:?} in {object}"))
}

#[test]
fn devices_json_is_the_text_listing_as_one_document() {
    let out = succeeds(&["devices", "--json"], &[], b"");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let families = field(&doc, "families").as_array().unwrap();

    // Every family has every field, with its type.
    for family in families {
        assert!(field(family, "name").is_string(), "{family}");
        assert!(field(family, "present").is_boolean(), "{family}");
        assert!(field(family, "detail").is_string(), "{family}");
        for device in field(family, "devices").as_array().unwrap() {
            assert!(field(device, "description").is_string(), "{device}");
            assert!(field(device, "in_use").is_boolean(), "{device}");
            assert!(field(device, "detail").is_string(), "{device}");
        }
        for path in field(family, "paths").as_array().unwrap() {
            assert!(field(path, "name").is_string(), "{path}");
            assert!(field(path, "label").is_string(), "{path}");
            assert!(field(path, "supported").is_boolean(), "{path}");
            assert!(field(path, "detail").is_string(), "{path}");
        }
    }
    let names: Vec<&str> = families
        .iter()
        .map(|f| field(f, "name").as_str().unwrap())
        .collect();
    for name in [
        "cuda", "fpga", "fpga-sim", "opencl", "wgpu", "cpu", "cpu-ref",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }

    // The CPU is always present, with its paths; the reference crates always run.
    let cpu = &families[names.iter().position(|&n| n == "cpu").unwrap()];
    assert_eq!(field(cpu, "present"), &Value::Bool(true), "{cpu}");
    let paths = field(cpu, "paths").as_array().unwrap();
    let path_names: Vec<&str> = paths
        .iter()
        .map(|p| field(p, "name").as_str().unwrap())
        .collect();
    assert_eq!(path_names, ["avx512ifma", "avx2", "reference"], "{cpu}");
    assert!(paths.iter().any(|p| field(p, "name") == "reference"
        && field(p, "supported") == &Value::Bool(true)
        && field(p, "detail") == "always"));

    // CUDA's absence (as on every machine without an NVIDIA driver) carries whether the
    // kernels could still be compiled here; a present CUDA carries no such note.
    let cuda = &families[names.iter().position(|&n| n == "cuda").unwrap()];
    match (field(cuda, "present").as_bool().unwrap(), cuda.get("nvrtc")) {
        (false, Some(nvrtc)) => {
            let present = field(nvrtc, "present").as_bool().unwrap();
            assert_eq!(field(nvrtc, "version").is_string(), present, "{nvrtc}");
            assert!(field(nvrtc, "detail").is_string(), "{nvrtc}");
        }
        (true, None) => {}
        _ => panic!("nvrtc belongs to an absent CUDA only: {cuda}"),
    }

    // The same families, in the same order and with the same presence, as the text.
    let text = String::from_utf8(succeeds(&["devices"], &[], b"").stdout).unwrap();
    let listed: Vec<(&str, bool)> = text
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next().unwrap();
            let presence = words.next().unwrap();
            assert!(presence == "present" || presence == "absent", "{l}");
            (name, presence == "present")
        })
        .collect();
    let documented: Vec<(&str, bool)> = families
        .iter()
        .map(|f| {
            (
                field(f, "name").as_str().unwrap(),
                field(f, "present").as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, documented, "{text}");
}

/// A small batch for `verify` to log about.
fn batch() -> Vec<u8> {
    succeeds(&["gen", "--count", "4", "--profile", "strict"], &[], b"").stdout
}

/// Every non-empty stderr line as a JSON object; panics on any that is not one.
fn json_lines(stderr: &[u8]) -> Vec<Value> {
    let text = String::from_utf8(stderr.to_vec()).unwrap();
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}"));
            assert!(v.is_object(), "{l}");
            v
        })
        .collect()
}

#[test]
fn json_logs_are_one_object_per_line() {
    let batch = batch();
    let verify = [
        "verify",
        "--profile",
        "strict",
        "--backend",
        "cpu",
        "--threads",
        "2",
    ];
    let before: Vec<&str> = ["--log-format", "json"].into_iter().chain(verify).collect();
    let after: Vec<&str> = verify.into_iter().chain(["--log-format", "json"]).collect();
    let info = ("VIGIL_LOG", "info");
    let runs = [
        ("flag before the subcommand", before.as_slice(), vec![info]),
        ("flag after the subcommand", after.as_slice(), vec![info]),
        (
            "environment",
            verify.as_slice(),
            vec![info, ("VIGIL_LOG_FORMAT", "json")],
        ),
    ];
    for (how, args, env) in runs {
        let out = succeeds(args, &env, &batch);
        // The results on stdout are untouched: one verdict per transaction.
        let verdicts = String::from_utf8(out.stdout).unwrap();
        assert_eq!(verdicts.lines().count(), 4, "{how}: {verdicts}");
        for line in verdicts.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert!(v["valid"].is_boolean(), "{how}: {line}");
        }

        let logs = json_lines(&out.stderr);
        assert!(!logs.is_empty(), "{how}: nothing logged at info");
        for log in &logs {
            assert!(field(log, "timestamp").is_string(), "{how}: {log}");
            assert!(
                ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
                    .contains(&field(log, "level").as_str().unwrap()),
                "{how}: {log}"
            );
            assert!(field(log, "target").is_string(), "{how}: {log}");
            assert!(field(log, "fields").is_object(), "{how}: {log}");
        }
        // The CPU backend's self-test line, its message and its field as JSON values.
        assert!(
            logs.iter().any(|l| l["level"] == "INFO"
                && l["fields"]["message"] == "self-test passed"
                && l["fields"]["backend"] == "cpu"),
            "{how}: {logs:?}"
        );
    }
}

#[test]
fn text_logs_stay_the_default() {
    let out = succeeds(
        &[
            "verify",
            "--profile",
            "strict",
            "--backend",
            "cpu",
            "--threads",
            "2",
        ],
        &[("VIGIL_LOG", "info")],
        &batch(),
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line = stderr
        .lines()
        .find(|l| l.contains("self-test passed"))
        .unwrap_or_else(|| panic!("no self-test line: {stderr}"));
    assert!(serde_json::from_str::<Value>(line).is_err(), "{line}");
    assert!(line.contains("INFO"), "{line}");
}

#[test]
fn an_unknown_log_format_is_refused_at_start_up() {
    for (args, env) in [
        (&["--log-format", "nonsense", "devices"][..], &[][..]),
        (&["devices", "--log-format", "nonsense"][..], &[][..]),
        (&["devices"][..], &[("VIGIL_LOG_FORMAT", "nonsense")][..]),
    ] {
        let out = vigil(args, env, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}");
        assert!(out.stdout.is_empty(), "{args:?} {env:?}: probed anyway");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with("error: invalid value 'nonsense' for '--log-format"),
            "{err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}
