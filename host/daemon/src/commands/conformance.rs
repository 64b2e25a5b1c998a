//! `vigil conformance`: the conformance harness through any backend, from the binary.
//!
//! The harness's vector sets (Wycheproof, the edge cases, Solana wire transactions, the
//! Merkle known answers) are compiled into the binary, so an operator can prove a device
//! exact on the machine it will serve from, and the GPU benchmark script runs this before
//! it measures anything: a backend that disagrees with the CPU oracle on one verdict
//! has no throughput worth reporting. The exit status is non-zero on any mismatch.

use anyhow::bail;
use clap::Args;
use vigil_core::conformance::{self, Options};

use super::limits::{self, MAX_CONFORMANCE_BATCH, MAX_CONFORMANCE_GENERATED};
use crate::backends::{self, Choice};

/// Arguments of `vigil conformance`.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Backend to check.
    #[arg(long, value_enum, default_value_t = Choice::Auto)]
    backend: Choice,
    /// Random and adversarial transactions generated per profile (besides the fixed
    /// sets), 0 to 1,000,000.
    #[arg(long, default_value_t = 20_000,
          value_parser = limits::usize_in(0..=MAX_CONFORMANCE_GENERATED))]
    generated: usize,
    /// Most transactions in one batch handed to the backend, 1 to 1,048,576.
    #[arg(long, default_value_t = 4_096,
          value_parser = limits::usize_in(1..=MAX_CONFORMANCE_BATCH))]
    max_batch: usize,
    /// Seed of the generated cases.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Backend worker threads, 1 to 1024 (CPU backend; default: one per core).
    #[arg(long, value_parser = limits::threads())]
    threads: Option<usize>,
}

/// Runs `vigil conformance`.
pub fn run(args: ConformanceArgs) -> anyhow::Result<()> {
    let backend = backends::open(args.backend, args.threads)?;
    let info = backend.info();
    let opts = Options {
        generated: args.generated,
        seed: args.seed,
        max_batch: args.max_batch,
    };
    let started = std::time::Instant::now();
    let report = conformance::run(&*backend, &opts);
    println!(
        "backend {} ({}): {} in {:.1} s, every profile",
        info.name,
        info.devices.join("; "),
        report.summary(50),
        started.elapsed().as_secs_f64()
    );
    if !report.is_ok() {
        bail!(
            "backend {} disagrees with the CPU oracle on {} results",
            info.name,
            report.mismatch_count()
        );
    }
    Ok(())
}
