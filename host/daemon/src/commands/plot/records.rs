//! Reading recorded benchmark results: JSON Lines as `vigil bench --json` and
//! `vigil loadgen --json` print them, bare or inside the envelope `benches/daemon.sh`
//! writes (`{"bench": NAME, ..., "result": ...}`).
//!
//! A line that is not JSON, or a record of a kind that is drawn but lacks a field the
//! chart needs, is an error naming the file and line: a chart silently missing a run
//! would misreport it. Records of other kinds (and envelopes holding none of the
//! drawn kinds, such as memory samples) are skipped and counted, so that result files
//! may carry what no chart shows.

use std::path::Path;

use anyhow::{anyhow, Context as _};
use serde::Deserialize;
use serde_json::Value;

/// Where a record came from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The input file as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

/// The machine, commit and date a record names.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// CPU model as `/proc/cpuinfo` spells it.
    pub cpu: String,
    /// Cores the measuring process saw.
    pub cores: u64,
    /// The commit, at most 7 hex digits.
    pub commit: String,
    /// YYYY-MM-DD.
    pub date: String,
    /// The envelope's timestamp, which tells apart runs of one commit on one day.
    pub when: Option<String>,
}

/// One measurement the charts can draw.
#[derive(Debug, Clone)]
pub struct Record {
    /// File and line.
    pub origin: Origin,
    /// The envelope's run name, with the field it was found in (`flood_light/light`).
    pub run: Option<String>,
    /// Machine, commit, date.
    pub provenance: Provenance,
    /// What was measured.
    pub measured: Measured,
}

/// The kinds of record drawn.
#[derive(Debug, Clone)]
pub enum Measured {
    /// `vigil bench` signatures: one batch, best rate and the same-run baseline.
    Signatures(Signatures),
    /// `vigil bench --merkle`.
    Merkle(Merkle),
    /// `vigil bench --latency` or `vigil loadgen`: a latency distribution.
    Latency(Latency),
    /// `vigil bench --crossover`.
    Crossover(Crossover),
}

/// A signature throughput run.
#[derive(Debug, Clone)]
pub struct Signatures {
    /// Backend name.
    pub backend: String,
    /// `VIGIL_CPU_PATH` of the run, where the script recorded it.
    pub cpu_path: Option<String>,
    /// Worker threads, where the backend's description names them.
    pub threads: Option<u64>,
    /// Verification rules.
    pub profile: String,
    /// Signatures in the batch.
    pub signatures: u64,
    /// Transactions in the batch.
    pub transactions: u64,
    /// Transactions with an invalid signature.
    pub invalid_transactions: u64,
    /// Signers per transaction.
    pub signers: u64,
    /// Input form.
    pub format: String,
    /// Message length range.
    pub msg_len: String,
    /// Best backend rate.
    pub sigs_per_sec: f64,
    /// The single-thread reference crate's rate in the same run.
    pub baseline_sigs_per_sec: f64,
}

/// A Merkle root run.
#[derive(Debug, Clone)]
pub struct Merkle {
    /// Backend name.
    pub backend: String,
    /// Worker threads, where named.
    pub threads: Option<u64>,
    /// Leaves hashed.
    pub leaves: u64,
    /// Best backend time, seconds.
    pub backend_seconds: f64,
    /// `merkle::root` on one thread, seconds.
    pub serial_tree_seconds: f64,
    /// `blake3::hash` of each leaf on one thread, seconds.
    pub baseline_seconds: f64,
}

/// A latency distribution.
#[derive(Debug, Clone)]
pub struct Latency {
    /// `latency` (in-process batches) or `loadgen` (requests to an appliance).
    pub source: &'static str,
    /// Backend name (in-process runs only).
    pub backend: Option<String>,
    /// Verification rules.
    pub profile: String,
    /// Signatures per batch (in-process) or transactions per request (loadgen).
    pub batch: u64,
    /// Requests in flight (loadgen).
    pub concurrency: Option<u64>,
    /// Timed samples.
    pub samples: u64,
    /// `(quantile, microseconds)`, ascending quantile.
    pub points: Vec<(f64, f64)>,
    /// The same-run single-thread baseline's distribution (in-process runs).
    pub baseline: Option<(u64, Vec<(f64, f64)>)>,
}

/// A CPU/device crossover measurement.
#[derive(Debug, Clone)]
pub struct Crossover {
    /// The device's backend name.
    pub backend: String,
    /// `(signatures, device seconds, CPU seconds)` per measured size.
    pub points: Vec<(u64, f64, f64)>,
    /// The smallest batch routed to the device; `None`: slower at every size.
    pub threshold: Option<u64>,
}

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct Read {
    /// Records drawn, in input order.
    pub records: Vec<Record>,
    /// Records of kinds no chart draws.
    pub skipped: usize,
}

/// Reads one JSON Lines file (blank lines are allowed).
pub fn read_file(path: &Path) -> anyhow::Result<Read> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

/// Parses the text of `file`.
pub fn parse(file: &str, text: &str) -> anyhow::Result<Read> {
    let mut out = Read::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let origin = Origin {
            file: file.to_owned(),
            line: i + 1,
        };
        let at = || format!("{}:{}", origin.file, origin.line);
        let value: Value =
            serde_json::from_str(line).with_context(|| format!("{}: not valid JSON", at()))?;
        let found = records_of(&origin, &value).with_context(at)?;
        if found.is_empty() {
            out.skipped += 1;
        }
        out.records.extend(found);
    }
    Ok(out)
}

/// The drawn records in one line: itself, or what its envelope holds.
fn records_of(origin: &Origin, value: &Value) -> anyhow::Result<Vec<Record>> {
    let Some(object) = value.as_object() else {
        return Err(anyhow!("not a JSON object"));
    };
    let Some(result) = object.get("result") else {
        return Ok(one(origin, None, None, value)?.into_iter().collect());
    };
    let run = object
        .get("bench")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("an envelope (with `result`) needs a `bench` name"))?;
    let outer = Outer::deserialize(value).context("envelope")?;
    let mut found = Vec::new();
    if result.get("kind").is_some() {
        found.extend(one(origin, Some(run.to_owned()), Some(&outer), result)?);
    } else if let Some(fields) = result.as_object() {
        // serde_json's map iterates in key order: the same records in the same order
        // every time.
        for (name, inner) in fields {
            match inner {
                Value::Object(o) if o.contains_key("kind") => {
                    // A field named after its kind ("loadgen": {"kind": "loadgen"}) is
                    // the run's own result, as a bare `result` is.
                    let label = if o.get("kind").and_then(Value::as_str) == Some(name) {
                        run.to_owned()
                    } else {
                        format!("{run}/{name}")
                    };
                    found.extend(one(origin, Some(label), Some(&outer), inner)?);
                }
                Value::Array(items) => {
                    for (k, item) in items.iter().enumerate() {
                        if item.get("kind").is_some() {
                            let label = format!("{run}/{name}[{k}]");
                            found.extend(one(origin, Some(label), Some(&outer), item)?);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(found)
}

/// The envelope's own provenance fields.
#[derive(Deserialize)]
struct Outer {
    commit: Option<String>,
    date: Option<String>,
    cpu: Option<String>,
    cores: Option<u64>,
}

#[derive(Deserialize)]
struct Common {
    kind: String,
    commit: Option<String>,
    date: Option<String>,
    machine: Option<MachineRaw>,
}

#[derive(Deserialize)]
struct MachineRaw {
    cpu: Option<String>,
    cores: Option<u64>,
}

/// The record `value` is, or `None` for a kind no chart draws.
fn one(
    origin: &Origin,
    run: Option<String>,
    outer: Option<&Outer>,
    value: &Value,
) -> anyhow::Result<Option<Record>> {
    let common = Common::deserialize(value).context("every record needs a string `kind`")?;
    let measured = match common.kind.as_str() {
        "signatures" => Measured::Signatures(signatures(value)?),
        "merkle" => Measured::Merkle(merkle(value)?),
        "latency" => Measured::Latency(bench_latency(value)?),
        "loadgen" => Measured::Latency(loadgen(value)?),
        "crossover" => Measured::Crossover(crossover(value)?),
        _ => return Ok(None),
    };
    let machine = common.machine.as_ref();
    let provenance = Provenance {
        cpu: machine
            .and_then(|m| m.cpu.clone())
            .or_else(|| outer.and_then(|o| o.cpu.clone()))
            .unwrap_or_else(|| "machine not recorded".to_owned()),
        cores: machine
            .and_then(|m| m.cores)
            .or_else(|| outer.and_then(|o| o.cores))
            .unwrap_or(0),
        commit: common
            .commit
            .or_else(|| outer.and_then(|o| o.commit.clone()))
            .map(|c| c.chars().take(7).collect())
            .unwrap_or_else(|| "unknown".to_owned()),
        date: common
            .date
            .or_else(|| outer.and_then(|o| o.date.clone()))
            .map(|d| d.chars().take(10).collect())
            .unwrap_or_else(|| "undated".to_owned()),
        when: outer.and_then(|o| o.date.clone()),
    };
    Ok(Some(Record {
        origin: origin.clone(),
        run,
        provenance,
        measured,
    }))
}

/// Deserializes `T` from a record, naming its kind on failure.
fn fields<T: for<'de> Deserialize<'de>>(kind: &str, value: &Value) -> anyhow::Result<T> {
    T::deserialize(value).with_context(|| format!("a `{kind}` record"))
}

/// Threads named by a CPU backend's description ("2 threads, avx2 (4 lanes)").
fn threads(devices: &[String]) -> Option<u64> {
    let first = devices.first()?;
    let (n, rest) = first.split_once(' ')?;
    rest.starts_with("thread").then(|| n.parse().ok()).flatten()
}

fn signatures(value: &Value) -> anyhow::Result<Signatures> {
    #[derive(Deserialize)]
    struct Raw {
        backend: String,
        #[serde(default)]
        backend_devices: Vec<String>,
        cpu_path: Option<String>,
        profile: String,
        signatures: u64,
        transactions: u64,
        invalid_transactions: u64,
        signers_per_transaction: u64,
        format: String,
        msg_len: String,
        backend_sigs_per_sec: f64,
        baseline_sigs_per_sec: f64,
    }
    let r: Raw = fields("signatures", value)?;
    Ok(Signatures {
        threads: threads(&r.backend_devices),
        backend: r.backend,
        cpu_path: r.cpu_path,
        profile: r.profile,
        signatures: r.signatures,
        transactions: r.transactions,
        invalid_transactions: r.invalid_transactions,
        signers: r.signers_per_transaction,
        format: r.format,
        msg_len: r.msg_len,
        sigs_per_sec: r.backend_sigs_per_sec,
        baseline_sigs_per_sec: r.baseline_sigs_per_sec,
    })
}

fn merkle(value: &Value) -> anyhow::Result<Merkle> {
    #[derive(Deserialize)]
    struct Raw {
        backend: String,
        #[serde(default)]
        backend_devices: Vec<String>,
        leaves: u64,
        backend_seconds: f64,
        serial_tree_seconds: f64,
        baseline_seconds: f64,
    }
    let r: Raw = fields("merkle", value)?;
    Ok(Merkle {
        threads: threads(&r.backend_devices),
        backend: r.backend,
        leaves: r.leaves,
        backend_seconds: r.backend_seconds,
        serial_tree_seconds: r.serial_tree_seconds,
        baseline_seconds: r.baseline_seconds,
    })
}

/// Named percentiles, as both commands print them (absent or null where not measured).
#[derive(Deserialize)]
struct Percentiles {
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
    p999: Option<f64>,
    max: Option<f64>,
}

/// The distribution: the ladder where the record has one, else its named percentiles.
fn distribution(ladder: Option<Vec<(f64, f64)>>, named: &Percentiles) -> Vec<(f64, f64)> {
    match ladder {
        Some(points) if !points.is_empty() => points,
        _ => [
            (0.5, named.p50),
            (0.9, named.p90),
            (0.99, named.p99),
            (0.999, named.p999),
            (1.0, named.max),
        ]
        .into_iter()
        .filter_map(|(q, v)| Some((q, v?)))
        .collect(),
    }
}

fn bench_latency(value: &Value) -> anyhow::Result<Latency> {
    #[derive(Deserialize)]
    struct Raw {
        backend: String,
        profile: String,
        batch_signatures: u64,
        iterations: u64,
        backend_us: Percentiles,
        backend_us_ladder: Option<Vec<(f64, f64)>>,
        baseline_iterations: u64,
        baseline_us: Percentiles,
        baseline_us_ladder: Option<Vec<(f64, f64)>>,
    }
    let r: Raw = fields("latency", value)?;
    Ok(Latency {
        source: "latency",
        backend: Some(r.backend),
        profile: r.profile,
        batch: r.batch_signatures,
        concurrency: None,
        samples: r.iterations,
        points: distribution(r.backend_us_ladder, &r.backend_us),
        baseline: Some((
            r.baseline_iterations,
            distribution(r.baseline_us_ladder, &r.baseline_us),
        )),
    })
}

fn loadgen(value: &Value) -> anyhow::Result<Latency> {
    #[derive(Deserialize)]
    struct Raw {
        profile: String,
        batch: u64,
        concurrency: u64,
        requests: u64,
        latency_us: Percentiles,
        latency_us_ladder: Option<Vec<(f64, f64)>>,
    }
    let r: Raw = fields("loadgen", value)?;
    Ok(Latency {
        source: "loadgen",
        backend: None,
        profile: r.profile,
        batch: r.batch,
        concurrency: Some(r.concurrency),
        samples: r.requests,
        points: distribution(r.latency_us_ladder, &r.latency_us),
        baseline: None,
    })
}

fn crossover(value: &Value) -> anyhow::Result<Crossover> {
    #[derive(Deserialize)]
    struct Point {
        signatures: u64,
        device_seconds: f64,
        cpu_seconds: f64,
    }
    #[derive(Deserialize)]
    struct Raw {
        backend: String,
        points: Vec<Point>,
        small_batch_signatures: Option<u64>,
    }
    let r: Raw = fields("crossover", value)?;
    Ok(Crossover {
        backend: r.backend,
        points: r
            .points
            .into_iter()
            .map(|p| (p.signatures, p.device_seconds, p.cpu_seconds))
            .collect(),
        threshold: r.small_batch_signatures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_yield_their_inner_records_named() {
        let line = r#"{"bench":"flood","commit":"abc1234","date":"2026-12-05T03:01:17Z","cpu":"X","cores":2,"result":{"rate":1,"light":{"kind":"loadgen","profile":"strict","batch":50,"concurrency":1,"requests":10,"latency_us":{"p50":1,"p99":2,"p999":3,"max":4}},"flood":[{"kind":"loadgen","profile":"strict","batch":1000,"concurrency":8,"requests":5,"latency_us":{"p50":10,"p99":20,"p999":30,"max":40}}]}}"#;
        let read = parse("f.jsonl", line).unwrap();
        assert_eq!(read.skipped, 0);
        let runs: Vec<_> = read
            .records
            .iter()
            .map(|r| r.run.clone().unwrap())
            .collect();
        assert_eq!(runs, ["flood/flood[0]", "flood/light"]);
        let p = &read.records[1].provenance;
        assert_eq!(
            (p.cpu.as_str(), p.cores, p.commit.as_str()),
            ("X", 2, "abc1234")
        );
        assert_eq!(p.date, "2026-12-05");
        let Measured::Latency(l) = &read.records[1].measured else {
            panic!("not latency")
        };
        assert_eq!(
            l.points,
            [(0.5, 1.0), (0.99, 2.0), (0.999, 3.0), (1.0, 4.0)]
        );
    }

    #[test]
    fn unknown_kinds_are_counted_and_bad_records_name_their_line() {
        let read = parse(
            "f.jsonl",
            "{\"kind\":\"future\"}\n\n{\"bench\":\"m\",\"result\":{\"rss\":[1,2]}}\n",
        )
        .unwrap();
        assert_eq!((read.records.len(), read.skipped), (0, 2));
        let e = parse("f.jsonl", "{\"kind\":\"future\"}\n{\"kind\":\"merkle\"}\n").unwrap_err();
        let text = format!("{e:#}");
        assert!(text.starts_with("f.jsonl:2:"), "{text}");
        assert!(text.contains("backend"), "{text}");
        let e = parse("f.jsonl", "\n\n{oops\n").unwrap_err();
        assert!(
            format!("{e:#}").starts_with("f.jsonl:3: not valid JSON"),
            "{e:#}"
        );
        let e = parse("f.jsonl", "[1]\n").unwrap_err();
        assert_eq!(format!("{e:#}"), "f.jsonl:1: not a JSON object");
    }

    #[test]
    fn threads_come_from_the_description() {
        assert_eq!(threads(&["2 threads, avx2 (4 lanes)".into()]), Some(2));
        assert_eq!(threads(&["1 threads, reference crates".into()]), Some(1));
        assert_eq!(threads(&["llvmpipe (LLVM 15)".into()]), None);
        assert_eq!(threads(&[]), None);
    }
}
