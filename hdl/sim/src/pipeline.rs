//! Driving a fixed-latency pipelined unit (`vigil_fe_alu`, `vigil_fe_addsub`): one
//! operation may enter every clock, no backpressure, every result a fixed number of
//! clocks after its operation, with its tag.
//!
//! One loop for both units, so the timing contract is checked the same way for each:
//! [`run`] issues a list of operations with random idle cycles and checks on every cycle
//! that each result comes out exactly `latency` clocks after its operation went in, with
//! its tag, and that `out_valid` is never high otherwise.

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{SimError, Traffic};

/// Issues `ops` in order through `cycle` (one clock: drives the operation, `None` for
/// `in_valid` low, and returns the outputs of that cycle), one per cycle except for
/// random idle cycles (an operation is issued with probability
/// `traffic.in_valid_percent`; the seed is `traffic.seed`), then idles until the last
/// result is out. Returns the results in order, or the first breach of the contract.
pub fn run<T>(
    ops: &[T],
    traffic: Traffic,
    latency: u64,
    tag_of: impl Fn(&T) -> u32,
    mut cycle: impl FnMut(Option<&T>) -> Option<([u32; 8], u32)>,
) -> Result<Vec<[u32; 8]>, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(traffic.seed);
    // (cycle the operation was issued in, its tag).
    let mut in_flight: VecDeque<(u64, u32)> = VecDeque::new();
    let mut results = Vec::with_capacity(ops.len());
    let mut next = ops.iter();
    let mut pending = next.next();
    let mut now = 0u64;
    while pending.is_some() || !in_flight.is_empty() {
        let issue = pending.filter(|_| rng.gen_range(0..100) < traffic.in_valid_percent);
        let out = cycle(issue);
        match (out, in_flight.front()) {
            (Some((r, tag)), Some(&(at, want))) if at + latency == now => {
                if tag != want {
                    return Err(SimError::Protocol(format!(
                        "result {} came with tag {tag:#x}, its operation had {want:#x}",
                        results.len()
                    )));
                }
                results.push(r);
                in_flight.pop_front();
            }
            (Some((_, tag)), _) => {
                return Err(SimError::Protocol(format!(
                    "out_valid in cycle {now} (tag {tag:#x}) with no result due"
                )));
            }
            (None, Some(&(at, _))) if at + latency <= now => {
                return Err(SimError::Protocol(format!(
                    "result {} was due in cycle {} ({latency} cycles after its operation) \
                     and did not come",
                    results.len(),
                    at + latency,
                )));
            }
            (None, _) => {}
        }
        if let Some(op) = issue {
            in_flight.push_back((now, tag_of(op)));
            pending = next.next();
        }
        now += 1;
    }
    Ok(results)
}
