//! `vigil gen`: synthetic batches for tests and benchmarks.

use std::io::Write as _;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use vigil_core::synth::{self, SynthSpec};

use super::limits::{self, MAX_COUNT, MAX_MSG_LEN};
use super::{FormatArg, ProfileArg};

/// Arguments of `vigil gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Number of transactions (1 to 100,000,000, and at most 4 GiB of them).
    #[arg(long, value_parser = limits::usize_in(1..=MAX_COUNT))]
    count: usize,
    /// The profile whose rules the invalid signatures break.
    #[arg(long, value_enum)]
    profile: ProfileArg,
    /// Fraction of transactions with one invalid signature (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = limits::fraction)]
    invalid_fraction: f64,
    /// Message length range in bytes, MIN..MAX (inclusive) or one length; at most 65535.
    #[arg(long, default_value = "32..256", value_parser = parse_range)]
    msg_len: RangeInclusive<usize>,
    /// Signers per transaction (1 to 255).
    #[arg(long, default_value_t = 1, value_parser = limits::signers())]
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

/// Parses `MIN..MAX` (both inclusive) or a single length, at most [`MAX_MSG_LEN`].
pub fn parse_range(s: &str) -> Result<RangeInclusive<usize>, String> {
    let num = |t: &str| match t.trim().parse::<usize>() {
        Ok(n) if n <= MAX_MSG_LEN => Ok(n),
        // Digits only: a length too long (perhaps past usize); anything else is no length.
        _ if !t.trim().is_empty() && t.trim().bytes().all(|b| b.is_ascii_digit()) => Err(format!(
            "{} is longer than a message can be (0 to {MAX_MSG_LEN} bytes)",
            t.trim()
        )),
        _ => Err(format!("{t:?} is not a length")),
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
    limits::check_generated(
        "--count, --signers and --msg-len",
        args.count as u128,
        args.signers,
        *args.msg_len.end(),
    )?;
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
        assert_eq!(parse_range("65535").unwrap(), 65535..=65535);
        for huge in [
            "65536",
            "0..65536",
            "18446744073709551615",
            "0..99999999999999999999999",
        ] {
            let e = parse_range(huge).unwrap_err();
            assert!(e.contains("longer than"), "{huge}: {e}");
        }
        assert!(parse_range("-1").unwrap_err().contains("not a length"));
    }
}
