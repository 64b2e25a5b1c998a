//! `vigil verify`: a batch in, one verdict line per transaction out.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use vigil_core::input::{jsonl, solana};

use super::{limits, FormatArg, ProfileArg};
use crate::backends::{self, Choice};

/// Arguments of `vigil verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verification rules (required: there is no implicit default).
    #[arg(long, value_enum)]
    profile: ProfileArg,
    /// Which backend verifies.
    #[arg(long, value_enum, default_value_t = Choice::Auto)]
    backend: Choice,
    /// Input form.
    #[arg(long, value_enum, default_value_t = FormatArg::Jsonl)]
    format: FormatArg,
    /// Input file, `-` for standard input.
    #[arg(long, default_value = "-")]
    input: PathBuf,
    /// Output file, `-` for standard output.
    #[arg(long, default_value = "-")]
    output: PathBuf,
    /// CPU worker threads, 1 to 1024 (default: one per core).
    #[arg(long, value_parser = limits::threads())]
    threads: Option<usize>,
}

/// Runs `vigil verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let input = super::read_input(&args.input)?;
    let batch = match args.format {
        FormatArg::Jsonl => jsonl::parse_batch(&input),
        FormatArg::Solana => solana::parse_base64_lines(&input),
    }
    .context("cannot hold the input as one batch")?;
    drop(input);
    let backend = backends::open(args.backend, args.threads)?;
    let batch = Arc::new(batch);
    let verdicts = backend
        .verify(batch.clone(), args.profile.into())
        .wait()
        .context("verification failed")?;
    let mut out = super::open_output(&args.output)?;
    jsonl::write_verdicts(&batch, &verdicts, &mut out)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    super::finish_output(out, &args.output)
}
