//! The subcommands of `vigil`.

mod bench;
mod conformance;
mod devices;
mod gen;
mod kernels;
mod limits;
mod loadgen;
mod merkle;
mod plot;
mod verify;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use vigil_core::Profile;

pub use bench::BenchArgs;
pub use conformance::ConformanceArgs;
pub use gen::GenArgs;
pub use kernels::KernelsArgs;
pub use merkle::MerkleArgs;
pub use verify::VerifyArgs;

/// What `vigil` can do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a batch of transactions; one JSON verdict line per input line.
    Verify(VerifyArgs),
    /// Merkle root (vigil-merkle-v1) of leaves given as hex, one per line.
    Merkle(MerkleArgs),
    /// Generate a synthetic batch (real keys; invalid signatures of several kinds).
    Gen(GenArgs),
    /// Measure signatures per second against the single-threaded reference crate.
    Bench(BenchArgs),
    /// Check a backend against the CPU oracle on every built-in vector set and profile.
    Conformance(ConformanceArgs),
    /// List the backends present on this machine and why the others are absent.
    Devices(devices::DevicesArgs),
    /// Compile every kernel program to PTX for CUDA architectures with NVRTC (no GPU
    /// needed), as the CUDA backend does.
    Kernels(KernelsArgs),
    /// Run the appliance: gRPC verification service, metrics, health.
    Serve(Box<crate::serve::ServeArgs>),
    /// Drive appliances with generated load; report throughput and latency percentiles.
    Loadgen(Box<loadgen::LoadgenArgs>),
    /// Draw SVG charts from recorded `bench --json` / `loadgen --json` results.
    Plot(plot::PlotArgs),
}

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Verify(args) => verify::run(args),
        Command::Merkle(args) => merkle::run(args),
        Command::Gen(args) => gen::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Conformance(args) => conformance::run(args),
        Command::Devices(args) => devices::run(&args),
        Command::Kernels(args) => kernels::run(&args),
        Command::Serve(args) => crate::serve::run(args),
        Command::Loadgen(args) => loadgen::run(*args),
        Command::Plot(args) => plot::run(&args),
    }
}

/// A profile on the command line (there is no default: the rules are consensus-critical).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// ed25519-dalek verify_strict (Solana today).
    Strict,
    /// ed25519-dalek verify (Go, OpenSSL, BoringSSL alike).
    Rfc8032,
    /// ed25519-zebra, ZIP-215 (Zcash).
    Zip215,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Strict => Profile::Strict,
            ProfileArg::Rfc8032 => Profile::Rfc8032,
            ProfileArg::Zip215 => Profile::Zip215,
        }
    }
}

/// An input form on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// JSON Lines interchange format.
    Jsonl,
    /// Base64 Solana wire transactions, one per line.
    Solana,
}

impl From<FormatArg> for vigil_core::synth::Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Jsonl => vigil_core::synth::Format::Jsonl,
            FormatArg::Solana => vigil_core::synth::Format::Solana,
        }
    }
}

/// Reads all of `path` (`-` is standard input).
fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
    } else {
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(buf)
}

/// Opens `path` for writing (`-` is standard output), buffered.
fn open_output(path: &Path) -> anyhow::Result<Box<dyn Write>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(BufWriter::new(io::stdout().lock())))
    } else {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Box::new(BufWriter::new(file)))
    }
}

/// Finishes writing, naming the destination on failure.
fn finish_output(mut out: Box<dyn Write>, path: &Path) -> anyhow::Result<()> {
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}
