//! `vigil gen`: synthetic batches for tests and benchmarks.

use std::io::Write as _;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::Args;
use vigil_core::synth::{self, SynthSpec};

use super::{FormatArg, ProfileArg};

/// Arguments of `vigil gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Number of transactions.
    #[arg(long)]
    count: usize,
    /// The profile whose rules the invalid signatures break.
    #[arg(long, value_enum)]
    profile: ProfileArg,
    /// Fraction of transactions with one invalid signature (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    invalid_fraction: f64,
    /// Message length range in bytes, MIN..MAX (inclusive) or one length.
    #[arg(long, default_value = "32..256", value_parser = parse_range)]
    msg_len: RangeInclusive<usize>,
    /// Signers per transaction (1 to 255).
    #[arg(long, default_value_t = 1)]
    signers: usize,
    /// Output form.
    #[arg(long, value_enum, default_value_t = FormatArg::Jsonl)]
    format: FormatArg,
    /// Seed: the same arguments and seed give the same bytes on every machine.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file, `-` for standard output.
    #[arg(long, default_value = "-")]
    output: PathBuf,
}

impl GenArgs {
    /// The spec these arguments describe.
    pub fn spec(&self) -> SynthSpec {
        SynthSpec {
            count: self.count,
            profile: self.profile.into(),
            invalid_fraction: self.invalid_fraction,
            msg_len: self.msg_len.clone(),
            signers: self.signers,
            format: self.format.into(),
            seed: self.seed,
        }
    }
}

/// Parses `MIN..MAX` (both inclusive) or a single length.
pub fn parse_range(s: &str) -> Result<RangeInclusive<usize>, String> {
    let num = |t: &str| {
        t.trim()
            .parse::<usize>()
            .map_err(|_| format!("{t:?} is not a length"))
    };
    let (lo, hi) = match s.split_once("..") {
        Some((lo, hi)) => (num(lo)?, num(hi.strip_prefix('=').unwrap_or(hi))?),
        None => {
            let n = num(s)?;
            (n, n)
        }
    };
    if lo > hi {
        return Err(format!("range {s} is empty"));
    }
    Ok(lo..=hi)
}

/// Runs `vigil gen`.
pub fn run(args: GenArgs) -> anyhow::Result<()> {
    if args.count > 100_000_000 {
        bail!(
            "--count {} is more than this tool generates (100000000)",
            args.count
        );
    }
    let txs = synth::generate(&args.spec())?;
    let mut out = super::open_output(&args.output)?;
    for tx in &txs {
        writeln!(out, "{}", tx.line())
            .with_context(|| format!("cannot write {}", args.output.display()))?;
    }
    super::finish_output(out, &args.output)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0..4096").unwrap(), 0..=4096);
        assert_eq!(parse_range("5..=7").unwrap(), 5..=7);
        assert_eq!(parse_range("32").unwrap(), 32..=32);
        assert!(parse_range("9..3").is_err());
        assert!(parse_range("a..3").is_err());
    }
}
