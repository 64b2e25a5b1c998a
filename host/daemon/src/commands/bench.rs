//! `vigil bench`: honest, comparable throughput numbers.
//!
//! Every figure comes with a baseline measured in the same run on the same data: the
//! single-threaded reference crate for signatures (the verifier a node would otherwise
//! run), and the `blake3` crate hashing each leaf on its own for Merkle roots. The
//! backend's verdicts are compared with the baseline's, and a disagreement is an error,
//! not a footnote. Each side is timed `--repeat` times and the best run is reported
//! (the least disturbed by the rest of the machine); all runs are in `--json` output.
//! The output names the machine, the commit and the date.
//!
//! Where the backend measures its devices' compute time ([`Backend::kernel_time`]), the
//! kernel-only rate is reported beside the end-to-end one (copies and host work
//! included). `--latency` measures the other thing validators care about: how long one
//! small batch takes from host memory to verdicts, as percentiles over many batches
//! submitted one at a time.

use std::io::IsTerminal as _;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::{RngCore as _, SeedableRng as _};
use serde_json::json;
use vigil_core::synth::{self, SynthSpec};
use vigil_core::{merkle, Backend, Batch, Leaves, Profile};

use super::gen::parse_range;
use super::limits::{
    self, MAX_BASELINE, MAX_BATCH, MAX_COUNT, MAX_ITERATIONS, MAX_MERKLE_LEAVES, MAX_REPEAT,
};
use super::{FormatArg, ProfileArg};
use crate::backends::{self, Choice};

/// Arguments of `vigil bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Backend to measure.
    #[arg(long, value_enum, default_value_t = Choice::Auto)]
    backend: Choice,
    /// Verification rules (not needed with --merkle).
    #[arg(long, value_enum, required_unless_present_any = ["merkle", "crossover"])]
    profile: Option<ProfileArg>,
    /// Transactions (or leaves, with --merkle), 1 to 100,000,000 (and at most 4 GiB of
    /// them).
    #[arg(long, default_value_t = 100_000, value_parser = limits::usize_in(1..=MAX_COUNT))]
    count: usize,
    /// Backend worker threads, 1 to 1024 (default: one per core).
    #[arg(long, value_parser = limits::threads())]
    threads: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Signers per transaction (1 to 255).
    #[arg(long, default_value_t = 1, value_parser = limits::signers())]
    signers: usize,
    /// Message length range, MIN..MAX (at most 65535).
    #[arg(long, default_value = "32..256", value_parser = parse_range)]
    msg_len: RangeInclusive<usize>,
    /// Fraction of transactions with an invalid signature (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = limits::fraction)]
    invalid_fraction: f64,
    /// Input form the batch is generated in.
    #[arg(long, value_enum, default_value_t = FormatArg::Jsonl)]
    format: FormatArg,
    /// Timed runs of each side, 1 to 1000; the best is reported.
    #[arg(long, default_value_t = 3, value_parser = limits::usize_in(1..=MAX_REPEAT))]
    repeat: usize,
    /// Seed of the generated batch.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Measure Merkle roots of --count random 32-byte leaves instead of signatures.
    #[arg(long)]
    merkle: bool,
    /// Measure latency instead of throughput: batches of --batch signatures submitted
    /// one at a time, --iterations of them, host memory to verdicts.
    #[arg(long, conflicts_with = "merkle")]
    latency: bool,
    /// Transactions per batch in --latency mode, 1 to 1,000,000.
    #[arg(long, default_value_t = 64, value_parser = limits::usize_in(1..=MAX_BATCH))]
    batch: usize,
    /// Timed batches in --latency mode, 1 to 1,000,000 (after as many again for
    /// warm-up, at most 200).
    #[arg(long, default_value_t = 2_000, value_parser = limits::usize_in(1..=MAX_ITERATIONS))]
    iterations: usize,
    /// Also measure these backends on the same generated data (comma-separated), each
    /// reported on its own line: the same-run comparison, without generating twice.
    #[arg(long, value_enum, value_delimiter = ',')]
    compare: Vec<Choice>,
    /// Run the single-thread baseline on at most this many signatures (its rate is
    /// what is compared; the backend's verdicts are still all checked); at least 1.
    #[arg(long, value_parser = limits::usize_in(1..=MAX_BASELINE))]
    baseline_max: Option<usize>,
    /// Measure the batch size from which --backend beats the CPU backend (the table
    /// `serve` measures at start-up to route small batches).
    #[arg(long, conflicts_with_all = ["merkle", "latency"])]
    crossover: bool,
}

/// Runs `vigil bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    check_sizes(&args)?;
    let backend = backends::open(args.backend, args.threads)?;
    if args.crossover {
        return bench_crossover(&args, &*backend);
    }
    let mut all = vec![backend];
    for &choice in &args.compare {
        all.push(backends::open(choice, args.threads)?);
    }
    let progress = Progress::new(!args.json || std::io::stderr().is_terminal());
    let mut reports = Vec::new();
    match args.profile {
        Some(profile) if !args.merkle && !args.latency => {
            reports = bench_signatures(&args, profile.into(), &all, &progress)?;
        }
        Some(profile) if args.latency => {
            for backend in &all {
                reports.push(bench_latency(&args, profile.into(), &**backend, &progress)?);
            }
        }
        _ => {
            for backend in &all {
                reports.push(bench_merkle(&args, &**backend, &progress)?);
            }
        }
    }
    progress.finish();
    for report in &reports {
        if args.json {
            println!("{report}");
        } else {
            print_text(report);
        }
    }
    Ok(())
}

/// What the flags ask to generate, checked before a backend is opened or anything is
/// generated (clap has checked each flag on its own).
fn check_sizes(args: &BenchArgs) -> Result<(), limits::ArgError> {
    let max_msg = *args.msg_len.end();
    if args.crossover {
        // Generates its own fixed sizes.
        Ok(())
    } else if args.merkle {
        // --count's own range keeps the leaves within one arena.
        const _: () = assert!(MAX_COUNT <= MAX_MERKLE_LEAVES);
        Ok(())
    } else if args.latency {
        limits::check_generated(
            "--batch, --signers and --msg-len",
            u128::from(LATENCY_BATCHES) * args.batch as u128,
            args.signers,
            max_msg,
        )
    } else {
        limits::check_generated(
            "--count, --signers and --msg-len",
            args.count as u128,
            args.signers,
            max_msg,
        )
    }
}

fn bench_signatures(
    args: &BenchArgs,
    profile: Profile,
    backends: &[Arc<dyn Backend>],
    progress: &Progress,
) -> anyhow::Result<Vec<serde_json::Value>> {
    progress.phase("generating", args.count as u64);
    let spec = SynthSpec {
        count: args.count,
        profile,
        invalid_fraction: args.invalid_fraction,
        msg_len: args.msg_len.clone(),
        signers: args.signers,
        format: args.format.into(),
        seed: args.seed,
    };
    let batch = Arc::new(synth::batch(&spec)?);
    let sigs = batch.signature_count();

    // The baseline: the reference crate on one thread, on at most --baseline-max
    // signatures (a rate; a million signatures would take it most of a minute a run).
    let base_n = args.baseline_max.unwrap_or(sigs).clamp(1, sigs.max(1));
    progress.phase("baseline", (args.repeat * base_n) as u64);
    let mut base_runs = Vec::with_capacity(args.repeat);
    let mut base = Vec::new();
    for _ in 0..args.repeat {
        let (t, v) = baseline_prefix(&batch, profile, base_n, progress);
        base_runs.push(t);
        base = v;
    }
    let base_best = best_of(&base_runs);
    let base_rate = base_n as f64 / base_best.as_secs_f64();
    // Past a partial baseline, every backend is checked against the CPU backend's
    // verdicts, computed once.
    let full = if base_n < sigs {
        Some(cpu_verdicts(args, backends, &batch, profile)?)
    } else {
        None
    };

    let mut reports = Vec::new();
    for backend in backends {
        let backend = &**backend;
        progress.phase("backend", args.repeat as u64);
        let mut runs = Vec::with_capacity(args.repeat);
        let mut kernel_runs = Vec::with_capacity(args.repeat);
        let mut verdicts = None;
        for _ in 0..args.repeat {
            let kernels = backend.kernel_time();
            let start = Instant::now();
            let v = backend
                .verify(batch.clone(), profile)
                .wait()
                .context("backend verification failed")?;
            runs.push(start.elapsed());
            kernel_runs.extend(kernel_delta(backend, kernels));
            verdicts = Some(v);
            progress.inc(1);
        }
        let verdicts = verdicts.context("no run")?;
        check_against(
            &backend.info().name,
            &verdicts.signature_valid,
            &base,
            full.as_deref(),
        )?;
        let best = best_of(&runs);
        let rate = sigs as f64 / best.as_secs_f64();
        reports.push(json!({
            "kind": "signatures",
            "backend": backend.info().name,
            "backend_devices": backend.info().devices,
            "profile": profile.name(),
            "transactions": batch.len(),
            "signatures": sigs,
            "invalid_transactions": verdicts.transaction_valid.iter().filter(|v| !**v).count(),
            "signers_per_transaction": args.signers,
            "msg_len": format!("{}..{}", args.msg_len.start(), args.msg_len.end()),
            "format": format!("{:?}", args.format).to_lowercase(),
            "repeat": args.repeat,
            "backend_seconds": best.as_secs_f64(),
            "backend_runs": secs(&runs),
            "backend_sigs_per_sec": rate,
            "baseline": baseline_name(profile),
            "baseline_signatures": base_n,
            "baseline_seconds": base_best.as_secs_f64(),
            "baseline_runs": secs(&base_runs),
            "baseline_sigs_per_sec": base_rate,
            "speedup": rate / base_rate,
            "kernel_seconds": best_opt(&kernel_runs),
            "kernel_runs": secs(&kernel_runs),
            "kernel_sigs_per_sec": best_opt(&kernel_runs).map(|k| sigs as f64 / k),
            "verdicts_match_baseline": true,
            "machine": machine(),
            "commit": env!("VIGIL_COMMIT"),
            "date": today(),
        }));
    }
    Ok(reports)
}

/// Fails unless `got` has one verdict per signature and agrees with `base` (the
/// reference crate's verdicts of a prefix) and, past that prefix, with `full`.
fn check_against(
    name: &str,
    got: &[bool],
    base: &[bool],
    full: Option<&[bool]>,
) -> anyhow::Result<()> {
    let void = |i: usize| {
        anyhow::anyhow!(
            "backend {name} disagrees with the reference on signature {i}: the numbers are void"
        )
    };
    let expected = full.unwrap_or(base);
    if got.len() != expected.len() {
        bail!(
            "backend {name} returned {} verdicts for {} signatures",
            got.len(),
            expected.len()
        );
    }
    let first = base.iter().zip(got).position(|(a, b)| a != b);
    let later = || expected.iter().zip(got).position(|(a, b)| a != b);
    match first.or_else(later) {
        Some(i) => Err(void(i)),
        None => Ok(()),
    }
}

/// Every verdict of `batch` from the CPU backend (the conformance-tested oracle, on every
/// core): the one among `backends`, else a new one.
fn cpu_verdicts(
    args: &BenchArgs,
    backends: &[Arc<dyn Backend>],
    batch: &Arc<Batch>,
    profile: Profile,
) -> anyhow::Result<Vec<bool>> {
    let cpu = match backends.iter().find(|b| b.info().name == "cpu") {
        Some(cpu) => Arc::clone(cpu),
        None => backends::open(Choice::Cpu, args.threads)?,
    };
    Ok(cpu
        .verify(Arc::clone(batch), profile)
        .wait()
        .context("CPU check of the verdicts failed")?
        .signature_valid)
}

/// The reference crate, one signature after another on this thread, over the first `n`.
fn baseline_prefix(
    batch: &Batch,
    profile: Profile,
    n: usize,
    progress: &Progress,
) -> (Duration, Vec<bool>) {
    // One monomorphic loop per profile, so the crate's verify can be inlined into it.
    match profile {
        Profile::Strict => baseline_loop(batch, n, progress, vigil_core::profile::verify_strict),
        Profile::Rfc8032 => baseline_loop(batch, n, progress, vigil_core::profile::verify_rfc8032),
        Profile::Zip215 => baseline_loop(batch, n, progress, vigil_core::profile::verify_zip215),
    }
}

/// [`baseline_prefix`] over the whole batch.
fn baseline_signatures(
    batch: &Batch,
    profile: Profile,
    progress: &Progress,
) -> (Duration, Vec<bool>) {
    baseline_prefix(batch, profile, batch.signature_count(), progress)
}

fn baseline_loop(
    batch: &Batch,
    n: usize,
    progress: &Progress,
    verify: impl Fn(&[u8; 32], &[u8; 64], &[u8]) -> bool,
) -> (Duration, Vec<bool>) {
    let n = n.min(batch.signature_count());
    let mut out = Vec::with_capacity(n);
    let start = Instant::now();
    for s in 0..n {
        let (pk, sig, msg) = batch.signer_item(s);
        out.push(verify(pk, sig, msg));
        if s % 4096 == 4095 {
            progress.inc(4096);
        }
    }
    let t = start.elapsed();
    progress.inc((n % 4096) as u64);
    (t, out)
}

fn baseline_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Strict => "ed25519-dalek VerifyingKey::verify_strict, 1 thread",
        Profile::Rfc8032 => "ed25519-dalek VerifyingKey::verify, 1 thread",
        Profile::Zip215 => "ed25519-zebra VerificationKey::verify, 1 thread",
    }
}

fn bench_crossover(args: &BenchArgs, device: &dyn Backend) -> anyhow::Result<()> {
    let cpu = backends::open(Choice::Cpu, args.threads)?;
    let c = crate::crossover::measure(device, &*cpu, &crate::crossover::SIZES)?;
    let points: Vec<serde_json::Value> = c
        .points
        .iter()
        .map(|p| {
            json!({
                "signatures": p.size,
                "device_seconds": p.device.as_secs_f64(),
                "cpu_seconds": p.cpu.as_secs_f64(),
            })
        })
        .collect();
    let report = json!({
        "kind": "crossover",
        "backend": device.info().name,
        "backend_devices": device.info().devices,
        "cpu": cpu.info().devices,
        "profile": "strict",
        "msg_len": "200..200",
        "points": points,
        // null: the device is slower than the CPU at every measured size.
        "small_batch_signatures": (c.threshold != usize::MAX).then_some(c.threshold),
        "machine": machine(),
        "commit": env!("VIGIL_COMMIT"),
        "date": today(),
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "crossover of {} against the CPU backend ({}), strict, 200-byte messages, best of {}",
            device.info().name,
            cpu.info().devices.join(", "),
            crate::crossover::RUNS
        );
        for p in &c.points {
            println!(
                "  {:>7} signatures   device {:>9.3} ms   cpu {:>9.3} ms",
                p.size,
                p.device.as_secs_f64() * 1e3,
                p.cpu.as_secs_f64() * 1e3
            );
        }
        if c.threshold == usize::MAX {
            println!("  the device is slower than the CPU: no batch goes to it by size");
        } else {
            println!(
                "  batches of {} signatures and more go to the device",
                c.threshold
            );
        }
    }
    Ok(())
}

/// Distinct batches `--latency` cycles through (so no run sees the previous one's data).
const LATENCY_BATCHES: u64 = 8;

fn bench_latency(
    args: &BenchArgs,
    profile: Profile,
    backend: &dyn Backend,
    progress: &Progress,
) -> anyhow::Result<serde_json::Value> {
    progress.phase("generating", LATENCY_BATCHES);
    let mut batches = Vec::new();
    for i in 0..LATENCY_BATCHES {
        let spec = SynthSpec {
            count: args.batch,
            profile,
            invalid_fraction: args.invalid_fraction,
            msg_len: args.msg_len.clone(),
            signers: args.signers,
            format: args.format.into(),
            seed: args.seed.wrapping_add(i),
        };
        let batch = Arc::new(synth::batch(&spec)?);
        let (_, expected) = baseline_signatures(&batch, profile, &Progress(None));
        batches.push((batch, expected));
        progress.inc(1);
    }
    let sigs = batches[0].0.signature_count();
    let warmup = args.iterations.min(200);
    progress.phase("backend", (warmup + args.iterations) as u64);
    let mut times = Vec::with_capacity(args.iterations);
    for i in 0..warmup + args.iterations {
        let (batch, expected) = &batches[i % batches.len()];
        let start = Instant::now();
        let v = backend
            .verify(Arc::clone(batch), profile)
            .wait()
            .context("backend verification failed")?;
        let t = start.elapsed();
        if v.signature_valid != *expected {
            bail!(
                "backend {} disagrees with the reference crate: the numbers are void",
                backend.info().name
            );
        }
        if i >= warmup {
            times.push(t);
        }
        progress.inc(1);
    }
    let base_iterations = args.iterations.min(200);
    progress.phase("baseline", base_iterations as u64);
    let mut base_times = Vec::with_capacity(base_iterations);
    for i in 0..base_iterations {
        let (t, _) = baseline_signatures(&batches[i % batches.len()].0, profile, &Progress(None));
        base_times.push(t);
        progress.inc(1);
    }
    let backend_stats = percentiles(&mut times);
    let base_stats = percentiles(&mut base_times);
    Ok(json!({
        "kind": "latency",
        "backend": backend.info().name,
        "backend_devices": backend.info().devices,
        "profile": profile.name(),
        "batch_transactions": args.batch,
        "batch_signatures": sigs,
        "signers_per_transaction": args.signers,
        "msg_len": format!("{}..{}", args.msg_len.start(), args.msg_len.end()),
        "iterations": times.len(),
        "warmup_iterations": warmup,
        "backend_us": backend_stats,
        "backend_us_ladder": ladder(&times),
        "baseline": baseline_name(profile),
        "baseline_iterations": base_times.len(),
        "baseline_us": base_stats,
        "baseline_us_ladder": ladder(&base_times),
        "verdicts_match_baseline": true,
        "machine": machine(),
        "commit": env!("VIGIL_COMMIT"),
        "date": today(),
    }))
}

/// p50, p90, p99, p99.9, max and mean of `times` in microseconds (nearest rank).
fn percentiles(times: &mut [Duration]) -> serde_json::Value {
    times.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    // Nearest rank: the smallest sample with at least `permille`/1000 of them at or below.
    let rank = |permille: usize| {
        let k = (permille * times.len()).div_ceil(1000).max(1);
        times.get(k - 1).map_or(f64::NAN, |d| us(*d))
    };
    let mean = if times.is_empty() {
        f64::NAN
    } else {
        times.iter().map(|d| us(*d)).sum::<f64>() / times.len() as f64
    };
    json!({
        "p50": rank(500),
        "p90": rank(900),
        "p99": rank(990),
        "p999": rank(999),
        "max": times.last().map_or(f64::NAN, |d| us(*d)),
        "mean": mean,
    })
}

/// The quantiles of a latency ladder, in parts per 10,000: the minimum, the body, then
/// ever closer to the maximum at log-spaced steps of the tail. Enough points to draw
/// the distribution (`vigil plot`), few enough to keep one JSON line short.
pub(super) const LADDER_PER_10K: [u32; 16] = [
    0, 1_000, 2_500, 5_000, 7_500, 9_000, 9_500, 9_800, 9_900, 9_950, 9_980, 9_990, 9_995, 9_998,
    9_999, 10_000,
];

/// `[quantile, microseconds]` of sorted `times` at each [`LADDER_PER_10K`] point
/// (nearest rank, so 0 is the minimum and 1 the maximum); empty when nothing was timed.
fn ladder(sorted: &[Duration]) -> serde_json::Value {
    let points: Vec<serde_json::Value> = LADDER_PER_10K
        .iter()
        .filter_map(|&q| {
            let k = (q as usize * sorted.len()).div_ceil(10_000).max(1);
            let t = sorted.get(k - 1)?;
            Some(json!([f64::from(q) / 1e4, t.as_secs_f64() * 1e6]))
        })
        .collect();
    serde_json::Value::Array(points)
}

fn bench_merkle(
    args: &BenchArgs,
    backend: &dyn vigil_core::Backend,
    progress: &Progress,
) -> anyhow::Result<serde_json::Value> {
    progress.phase("leaves", 1);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(args.seed);
    // At most MAX_MERKLE_LEAVES (check_sizes), so the product cannot saturate.
    let mut leaves = Leaves::with_capacity(args.count, args.count.saturating_mul(32));
    let mut leaf = [0u8; 32];
    for _ in 0..args.count {
        rng.fill_bytes(&mut leaf);
        leaves.push(&leaf)?;
    }
    let leaves = Arc::new(leaves);
    progress.phase("measuring", 3 * args.repeat as u64);

    let mut base_runs = Vec::new();
    let mut hashes: Vec<[u8; 32]> = Vec::with_capacity(args.count);
    for _ in 0..args.repeat {
        hashes.clear();
        let start = Instant::now();
        hashes.extend(leaves.iter().map(|l| *blake3::hash(l).as_bytes()));
        base_runs.push(start.elapsed());
        std::hint::black_box(&hashes);
        progress.inc(1);
    }
    let mut serial_runs = Vec::new();
    let mut serial_root = [0u8; 32];
    for _ in 0..args.repeat {
        let start = Instant::now();
        serial_root = merkle::root(&leaves);
        serial_runs.push(start.elapsed());
        progress.inc(1);
    }
    let mut runs = Vec::new();
    let mut kernel_runs = Vec::new();
    let mut root = [0u8; 32];
    for _ in 0..args.repeat {
        let kernels = backend.kernel_time();
        let start = Instant::now();
        root = backend
            .merkle_root(leaves.clone())
            .wait()
            .context("backend Merkle root failed")?;
        runs.push(start.elapsed());
        kernel_runs.extend(kernel_delta(backend, kernels));
        progress.inc(1);
    }
    if root != serial_root {
        bail!("backend Merkle root differs from the serial root: the numbers are void");
    }
    let base = best_of(&base_runs).as_secs_f64();
    let serial = best_of(&serial_runs).as_secs_f64();
    let par = best_of(&runs).as_secs_f64();
    Ok(json!({
        "kind": "merkle",
        "backend": backend.info().name,
        "backend_devices": backend.info().devices,
        "leaves": args.count,
        "leaf_bytes": 32,
        "repeat": args.repeat,
        "root": hex::encode(root),
        "baseline": "blake3::hash of each leaf, one by one, 1 thread",
        "baseline_seconds": base,
        "baseline_runs": secs(&base_runs),
        "serial_tree_seconds": serial,
        "serial_tree_runs": secs(&serial_runs),
        "serial_tree_over_baseline": serial / base,
        "backend_seconds": par,
        "backend_runs": secs(&runs),
        "backend_over_baseline": par / base,
        "kernel_seconds": best_opt(&kernel_runs),
        "kernel_runs": secs(&kernel_runs),
        "machine": machine(),
        "commit": env!("VIGIL_COMMIT"),
        "date": today(),
    }))
}

fn print_text(r: &serde_json::Value) {
    let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let m = &r["machine"];
    if r["kind"] == "latency" {
        let p = |side: &str, q: &str| r[side][q].as_f64().unwrap_or(f64::NAN);
        println!(
            "{} latency of batches of {} signatures on {} ({}), {} batches one at a time",
            r["profile"].as_str().unwrap_or(""),
            r["batch_signatures"],
            r["backend"].as_str().unwrap_or(""),
            r["backend_devices"][0].as_str().unwrap_or(""),
            r["iterations"]
        );
        for (side, label) in [("backend_us", "backend "), ("baseline_us", "baseline")] {
            println!(
                "  {label}  p50 {:>9.1} us   p99 {:>9.1} us   max {:>9.1} us",
                p(side, "p50"),
                p(side, "p99"),
                p(side, "max")
            );
        }
        println!("  baseline: {}", r["baseline"].as_str().unwrap_or(""));
    } else if r["kind"] == "merkle" {
        println!(
            "merkle root of {} x 32-byte leaves on {} ({})",
            r["leaves"], r["backend"], r["backend_devices"][0]
        );
        println!(
            "  baseline  {:>10.2} ms   {}",
            f("baseline_seconds") * 1e3,
            r["baseline"].as_str().unwrap_or("")
        );
        println!(
            "  tree, 1 thread {:>5.2} ms   {:.2}x baseline",
            f("serial_tree_seconds") * 1e3,
            f("serial_tree_over_baseline")
        );
        println!(
            "  backend   {:>10.2} ms   {:.2}x baseline",
            f("backend_seconds") * 1e3,
            f("backend_over_baseline")
        );
        if let Some(k) = r["kernel_seconds"].as_f64() {
            println!(
                "  kernels   {:>10.3} ms   (device compute time alone)",
                k * 1e3
            );
        }
    } else {
        println!(
            "{} {} signatures ({} transactions, {} invalid) on {} ({})",
            r["profile"].as_str().unwrap_or(""),
            r["signatures"],
            r["transactions"],
            r["invalid_transactions"],
            r["backend"].as_str().unwrap_or(""),
            r["backend_devices"][0].as_str().unwrap_or("")
        );
        println!("  backend   {:>12.0} sig/s", f("backend_sigs_per_sec"));
        println!(
            "  baseline  {:>12.0} sig/s   {}",
            f("baseline_sigs_per_sec"),
            r["baseline"].as_str().unwrap_or("")
        );
        println!("  speedup   {:>12.2}x   (verdicts identical)", f("speedup"));
        if let Some(k) = r["kernel_sigs_per_sec"].as_f64() {
            println!("  kernels   {k:>12.0} sig/s   (device compute time alone)");
        }
    }
    let flags: Vec<&str> = m["cpu_flags"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str()).collect())
        .unwrap_or_default();
    println!(
        "  machine: {}, {} cores ({}); commit {}; {}",
        m["cpu"].as_str().unwrap_or("?"),
        m["cores"],
        flags.join(" "),
        r["commit"].as_str().unwrap_or("?"),
        r["date"].as_str().unwrap_or("?")
    );
}

/// Kernel time spent since `before` was read, where the backend measures it.
fn kernel_delta(backend: &dyn Backend, before: Option<Duration>) -> Option<Duration> {
    Some(backend.kernel_time()?.saturating_sub(before?))
}

/// The shortest run in seconds, or `None` if nothing was measured.
fn best_opt(runs: &[Duration]) -> Option<f64> {
    runs.iter().min().map(Duration::as_secs_f64)
}

fn best_of(runs: &[Duration]) -> Duration {
    runs.iter().copied().min().unwrap_or_default()
}

fn secs(runs: &[Duration]) -> Vec<f64> {
    runs.iter().map(Duration::as_secs_f64).collect()
}

/// The vector extensions that decide Vigil's (and the reference crates') CPU speed,
/// those this CPU has, as `/proc/cpuinfo` spells them.
fn cpu_flags() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut flags = Vec::new();
        macro_rules! probe {
            ($($f:tt),*) => {$(
                if std::arch::is_x86_feature_detected!($f) {
                    flags.push($f);
                }
            )*};
        }
        probe!(
            "sse4.2",
            "avx",
            "avx2",
            "bmi2",
            "adx",
            "sha",
            "avx512f",
            "avx512dq",
            "avx512bw",
            "avx512vl",
            "avx512ifma"
        );
        flags
    }
    #[cfg(not(target_arch = "x86_64"))]
    Vec::new()
}

/// The CPU model, its vector extensions and core count, as far as this machine tells.
pub(super) fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "os": std::env::consts::OS,
        "cpu_flags": cpu_flags(),
    })
}

/// Today's UTC date as YYYY-MM-DD (civil-from-days, proleptic Gregorian).
pub(super) fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// A progress bar on stderr when it is a terminal; silent otherwise.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(wanted: bool) -> Progress {
        if !wanted || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress(Some(bar))
    }

    fn phase(&self, name: &'static str, len: u64) {
        if let Some(bar) = &self.0 {
            bar.set_message(name);
            bar.set_length(len);
            bar.set_position(0);
        }
    }

    fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut t: Vec<Duration> = (1..=1000).rev().map(Duration::from_micros).collect();
        let p = percentiles(&mut t);
        let near = |v: &serde_json::Value, want: f64| (v.as_f64().unwrap() - want).abs() < 1e-6;
        assert!(near(&p["p50"], 500.0), "{p}");
        assert!(near(&p["p99"], 990.0), "{p}");
        assert!(near(&p["p999"], 999.0), "{p}");
        assert!(near(&p["max"], 1000.0), "{p}");
        let mut one = vec![Duration::from_micros(7)];
        assert!(near(&percentiles(&mut one)["p50"], 7.0));
    }

    #[test]
    fn ladder_runs_from_minimum_to_maximum() {
        let mut t: Vec<Duration> = (1..=1000).rev().map(Duration::from_micros).collect();
        t.sort_unstable();
        let l = ladder(&t);
        let l = l.as_array().unwrap();
        assert_eq!(l.len(), LADDER_PER_10K.len());
        let at = |i: usize| (l[i][0].as_f64().unwrap(), l[i][1].as_f64().unwrap());
        assert_eq!(at(0), (0.0, 1.0));
        assert_eq!(at(3), (0.5, 500.0));
        assert_eq!(at(8), (0.99, 990.0));
        assert_eq!(at(l.len() - 1), (1.0, 1000.0));
        assert_eq!(ladder(&[]), json!([]));
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_413), (2025, 11, 21));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
