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

use crate::backends::{self, Choice};

/// Arguments of `vigil conformance`.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Backend to check.
    #[arg(long, value_enum, default_value_t = Choice::Auto)]
    backend: Choice,
    /// Random and adversarial transactions generated per profile (besides the fixed sets).
    #[arg(long, default_value_t = 20_000)]
    generated: usize,
    /// Most transactions in one batch handed to the backend.
    #[arg(long, default_value_t = 4_096)]
    max_batch: usize,
    /// Seed of the generated cases.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Backend worker threads (CPU backend; default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs `vigil conformance`.
pub fn run(args: ConformanceArgs) -> anyhow::Result<()> {
    let backend = backends::open(args.backend, args.threads)?;
    let info = backend.info();
    let opts = Options {
        generated: args.generated,
        seed: args.seed,
        max_batch: args.max_batch.max(1),
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
