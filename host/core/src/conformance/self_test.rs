//! The start-up known-answer test ([`self_test`]): the few-milliseconds slice of the
//! harness that a backend, or the daemon on its behalf, runs before it reports itself
//! serving.
//!
//! It is the one part of the conformance code that runs in production, on every device a
//! runtime opens, so it is kept apart from the full suite: it reads only the edge file and
//! judges with the harness's own comparison, so it cannot drift from [`run`](super::run).

use std::sync::Arc;

use super::case::{build_batch, Case};
use super::harness::{compare, root_mismatch, Report, SET_EDGE};
use super::vectors::{edge_cases, EdgeCase};
use crate::backend::{Backend, Pending};
use crate::batch::{Leaves, Verdicts};
use crate::profile::Profile;

/// Leaves in the self-test's Merkle root (lengths 0, 97, ..., across chunk boundaries).
const SELF_TEST_LEAVES: usize = 13;

/// The start-up known-answer test: a few dozen edge cases (every `taming` case and two
/// of every other kind) under every profile, and one Merkle root of 13 leaves of 0 to
/// 1164 bytes. A backend that does not verify signatures ([`Backend::verifies`] false,
/// an FPGA card without its Ed25519 engine) is tested on the root alone. A backend (or
/// the daemon on its behalf) runs it before reporting itself serving; it takes a few milliseconds on the CPU backend. It blocks the calling thread
/// while it waits for the backend (call it from `spawn_blocking` in async code).
pub fn self_test(backend: &dyn Backend) -> Result<(), String> {
    let name = backend.info().name;
    let edge = edge_cases()?;
    let cases: Vec<Case> = self_test_selection(edge);
    let batch = Arc::new(build_batch(&cases).map_err(|e| format!("self-test: {e}"))?);
    let leaves: Leaves = (0..SELF_TEST_LEAVES)
        .map(|i| vec![u8::try_from(i).unwrap_or_default(); i * 97])
        .collect::<Leaves>();
    let leaves = Arc::new(leaves);
    let profiles = if backend.verifies() {
        &Profile::ALL[..]
    } else {
        &[]
    };
    let pending: Vec<(Profile, Pending<Verdicts>)> = profiles
        .iter()
        .map(|&p| (p, backend.verify(Arc::clone(&batch), p)))
        .collect();
    let root = backend.merkle_root(Arc::clone(&leaves));
    let mut report = Report::default();
    for (p, pending) in pending {
        compare(&mut report, SET_EDGE, &cases, &batch, p, pending.wait());
    }
    let want = crate::merkle::root(&leaves);
    let name_leaves = format!("Merkle root of {SELF_TEST_LEAVES} leaves");
    match root.wait() {
        Ok(got) if got == want => {}
        Ok(got) => report.push(root_mismatch(&name_leaves, &want, hex::encode(got))),
        Err(e) => report.push(root_mismatch(&name_leaves, &want, format!("error: {e}"))),
    }
    if report.is_ok() {
        Ok(())
    } else {
        Err(format!(
            "self-test of backend {name} failed:\n{}",
            report.summary(10)
        ))
    }
}

/// The self-test's cases: every "taming" case and the first two short cases of every
/// other kind, so each profile sees accepts and rejects.
fn self_test_selection(edge: &[EdgeCase]) -> Vec<Case> {
    let mut taken: Vec<(&str, usize)> = Vec::new();
    let mut out = Vec::new();
    for e in edge {
        if e.case.msg.len() > 256 {
            continue;
        }
        let slot = match taken.iter().position(|(k, _)| *k == e.kind) {
            Some(i) => i,
            None => {
                taken.push((&e.kind, 0));
                taken.len() - 1
            }
        };
        if e.kind == "taming" || taken[slot].1 < 2 {
            taken[slot].1 += 1;
            out.push(e.case.clone());
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test fails by panicking.
mod tests {
    use super::*;
    use crate::conformance::test_backend::{Fault, TestBackend};

    #[test]
    fn conformance_self_test() {
        assert_eq!(self_test(&TestBackend::new(Fault::None)), Ok(()));
        assert!(self_test(&TestBackend::new(Fault::StrictSmallOrder)).is_err());
        assert!(self_test(&TestBackend::new(Fault::MerkleOf(SELF_TEST_LEAVES))).is_err());
        assert!(self_test(&TestBackend::new(Fault::FlipOne(5))).is_err());
        let picked = self_test_selection(edge_cases().unwrap());
        assert!((30..=60).contains(&picked.len()), "{}", picked.len());
        for p in Profile::ALL {
            let verdicts: Vec<bool> = picked.iter().flat_map(|c| c.expect(p).to_vec()).collect();
            assert!(verdicts.contains(&true) && verdicts.contains(&false));
        }
    }
}
