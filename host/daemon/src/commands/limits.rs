//! Bounds on every numeric command-line argument, checked before anything is allocated.
//!
//! No argument may make `vigil` panic or abort: a length or count straight from the
//! command line must not reach `Vec::with_capacity`, `vec![x; n]`, a multiplication or
//! `Duration::from_secs_f64` unchecked. Single values are range-checked by clap while
//! parsing (the error names the flag and its allowed range, exit status 2); sizes that
//! only exist as a product of several flags (count × message length × signers) are
//! checked with widened arithmetic by [`check_generated`] before generation starts
//! (exit status 1, naming the flags).
//!
//! The bounds are chosen from what the rest of the system takes, not from what would fit
//! in memory: a message is at most [`MAX_MSG_LEN`] bytes (the longest instruction data a
//! Solana transaction can encode), and generated data is at most what one batch can hold
//! ([`vigil_core::batch::MAX_ARENA`]: its offsets are `u32`), since anything larger
//! could not be verified as one batch anyway.

use std::ops::RangeInclusive;

use clap::builder::RangedU64ValueParser;
use vigil_core::batch::{MAX_ARENA, MAX_SIGNERS, PUBKEY_LEN, SIG_LEN};

/// Longest message a generated transaction may have: 65,535 bytes, the largest
/// instruction data a Solana wire transaction can encode (its length is a shortvec,
/// at most `u16::MAX`), and 53 times a 1,232-byte Solana packet.
pub const MAX_MSG_LEN: usize = u16::MAX as usize;

/// Most worker threads any command starts (per pool).
pub const MAX_THREADS: u64 = 1_024;

/// Most transactions `gen` and `bench` generate (further bounded by
/// [`MAX_GENERATED_BYTES`]).
pub const MAX_COUNT: u64 = 100_000_000;

/// Most signers per transaction: the canonical form's count is one byte.
pub const MAX_SIGNERS_ARG: u64 = MAX_SIGNERS as u64;

/// Most bytes of transactions generated for one command: one batch's arena.
pub const MAX_GENERATED_BYTES: u64 = MAX_ARENA as u64;

/// Bytes a generated transaction takes besides its signatures, keys and message: the
/// Solana wire form's counts, header, extra account key, blockhash, instruction and
/// address lookup come to under 128; the generic form's to one.
pub const TX_OVERHEAD: u64 = 128;

/// Most leaves `bench --merkle` makes: 32-byte leaves in one arena.
pub const MAX_MERKLE_LEAVES: u64 = MAX_GENERATED_BYTES / 32;

/// Most timed runs of `bench --repeat`.
pub const MAX_REPEAT: u64 = 1_000;

/// Most transactions per batch (`bench --latency --batch`, `loadgen --batch`).
pub const MAX_BATCH: u64 = 1_000_000;

/// Most timed batches of `bench --latency --iterations`.
pub const MAX_ITERATIONS: u64 = 1_000_000;

/// Most signatures `bench --baseline-max` can name: no batch holds more, its offsets are
/// `u32`.
pub const MAX_BASELINE: u64 = u32::MAX as u64;

/// Most generated transactions of `conformance --generated`.
pub const MAX_CONFORMANCE_GENERATED: u64 = 1_000_000;

/// Largest batch of `conformance --max-batch`.
pub const MAX_CONFORMANCE_BATCH: u64 = 1 << 20;

/// Most requests in flight of `loadgen --concurrency` (each is a task and a slot).
pub const MAX_CONCURRENCY: u64 = 100_000;

/// Most pre-generated requests of `loadgen --pool`.
pub const MAX_POOL: u64 = 4_096;

/// Most measured requests of `loadgen --requests`: with at most [`MAX_BATCH`]
/// transactions of [`MAX_SIGNERS`] signers each, the `u64` tallies cannot overflow.
pub const MAX_REQUESTS: u64 = 10_000_000_000;

/// Longest request deadline of `loadgen --deadline-ms`: an hour, the top of its latency
/// histogram.
pub const MAX_DEADLINE_MS: u64 = 3_600_000;

/// Longest `loadgen --duration` and `--warmup`, seconds: 30 days.
pub const MAX_SECONDS: f64 = 30.0 * 86_400.0;

/// Highest `loadgen --rate`, requests per second.
pub const MAX_RATE: f64 = 10_000_000.0;

/// A command-line value out of its range, or flags that together ask for too much.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArgError {
    /// Not a number at all.
    #[error("{0:?} is not a number")]
    NotANumber(String),
    /// A number outside the flag's range (clap prefixes the flag's name).
    #[error("{value} is out of range: {allowed}")]
    OutOfRange {
        /// The value as given.
        value: String,
        /// The allowed range, in words.
        allowed: String,
    },
    /// Several flags that together would generate more than [`MAX_GENERATED_BYTES`].
    #[error(
        "{flags} ask for about {bytes} bytes of generated transactions, more than the \
         limit of {limit} bytes (the most one batch can hold); lower them"
    )]
    TooMuchData {
        /// The flags involved, as typed.
        flags: &'static str,
        /// The estimate (widened, so it cannot overflow).
        bytes: u128,
        /// [`MAX_GENERATED_BYTES`].
        limit: u64,
    },
}

/// A clap parser for a `usize` flag within `range`.
pub fn usize_in(range: RangeInclusive<u64>) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::<usize>::new().range(range)
}

/// A clap parser for a `u64` flag within `range`.
pub fn u64_in(range: RangeInclusive<u64>) -> RangedU64ValueParser<u64> {
    RangedU64ValueParser::<u64>::new().range(range)
}

/// Worker threads: 1 to [`MAX_THREADS`].
pub fn threads() -> RangedU64ValueParser<usize> {
    usize_in(1..=MAX_THREADS)
}

/// Signers per transaction: 1 to 255.
pub fn signers() -> RangedU64ValueParser<usize> {
    usize_in(1..=MAX_SIGNERS_ARG)
}

fn float(s: &str) -> Result<f64, ArgError> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| ArgError::NotANumber(s.to_string()))
}

fn out_of_range(s: &str, allowed: String) -> ArgError {
    ArgError::OutOfRange {
        value: s.to_string(),
        allowed,
    }
}

/// A fraction: a finite number from 0 to 1.
pub fn fraction(s: &str) -> Result<f64, ArgError> {
    let v = float(s)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(out_of_range(s, "a fraction from 0 to 1".into()))
    }
}

/// Seconds: more than 0, at most [`MAX_SECONDS`].
pub fn seconds(s: &str) -> Result<f64, ArgError> {
    let v = float(s)?;
    if v > 0.0 && v <= MAX_SECONDS {
        Ok(v)
    } else {
        Err(out_of_range(
            s,
            format!("more than 0 and at most {MAX_SECONDS} seconds (30 days)"),
        ))
    }
}

/// Seconds: from 0 to [`MAX_SECONDS`].
pub fn seconds_or_zero(s: &str) -> Result<f64, ArgError> {
    let v = float(s)?;
    if (0.0..=MAX_SECONDS).contains(&v) {
        Ok(v)
    } else {
        Err(out_of_range(
            s,
            format!("0 to {MAX_SECONDS} seconds (30 days)"),
        ))
    }
}

/// A rate: more than 0, at most [`MAX_RATE`] per second.
pub fn rate(s: &str) -> Result<f64, ArgError> {
    let v = float(s)?;
    if v > 0.0 && v <= MAX_RATE {
        Ok(v)
    } else {
        Err(out_of_range(
            s,
            format!("more than 0 and at most {MAX_RATE} per second"),
        ))
    }
}

/// Fails if `transactions` generated transactions of `signers` signers and messages of
/// up to `max_msg` bytes could take more than [`MAX_GENERATED_BYTES`]; `flags` names
/// the flags that set them, for the message.
pub fn check_generated(
    flags: &'static str,
    transactions: u128,
    signers: usize,
    max_msg: usize,
) -> Result<(), ArgError> {
    let per_signer = (PUBKEY_LEN + SIG_LEN) as u128;
    let per_tx = (signers as u128)
        .saturating_mul(per_signer)
        .saturating_add(max_msg as u128)
        .saturating_add(u128::from(TX_OVERHEAD));
    let bytes = transactions.saturating_mul(per_tx);
    if bytes > u128::from(MAX_GENERATED_BYTES) {
        return Err(ArgError::TooMuchData {
            flags,
            bytes,
            limit: MAX_GENERATED_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_finite_and_in_range() {
        assert_eq!(fraction("0.25").unwrap(), 0.25);
        assert_eq!(fraction("1").unwrap(), 1.0);
        for bad in ["NaN", "inf", "-0.1", "1.01", "1e309", "x", ""] {
            assert!(fraction(bad).is_err(), "{bad}");
        }
        assert!(seconds("0").is_err());
        assert!(seconds("1e300").is_err());
        assert_eq!(seconds("2.5").unwrap(), 2.5);
        assert_eq!(seconds_or_zero("0").unwrap(), 0.0);
        assert!(seconds_or_zero("-1").is_err());
        assert!(rate("nan").is_err());
        assert!(rate("1e-300").unwrap() > 0.0);
        let e = rate("-inf").unwrap_err().to_string();
        assert!(e.contains("-inf") && e.contains("per second"), "{e}");
    }

    #[test]
    fn generated_bytes_are_bounded_without_overflow() {
        assert!(check_generated("--count", 10_000, 1, 256).is_ok());
        let e = check_generated("--count", 100_000_000, 1, 256).unwrap_err();
        assert!(e.to_string().contains("--count"), "{e}");
        assert!(check_generated("--count", u128::MAX, usize::MAX, usize::MAX).is_err());
        assert!(check_generated("--count", 1, 255, MAX_MSG_LEN).is_ok());
    }
}
