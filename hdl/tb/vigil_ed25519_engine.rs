//! Testbench of `vigil_ed25519_engine`: the RTL running the generated program, against
//! the reference verifiers (`vigil_core::profile::reference_verify`) on every edge case
//! in `testdata/`, the Wycheproof vectors and random honest and broken signatures, under
//! every profile, with random stalls on both sides; and its cycles per signature.
//!
//! `VIGIL_ENGINE_RANDOM=N` checks N random signatures per profile instead of the default
//! (the longer run documented in hdl/README.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use vigil_core::profile::{reference_verify, Profile};
use vigil_hdl_sim::ed25519_engine::{Ed25519Engine, EngineJob};
use vigil_hdl_sim::Traffic;
use vigil_ucode::cases::{self, Case};

/// Contexts of the default engine (the RTL's parameter default).
const CONTEXTS: usize = 16;

fn jobs(cases: &[Case]) -> (Vec<EngineJob>, Vec<bool>) {
    let mut jobs = Vec::new();
    let mut want = Vec::new();
    for c in cases {
        for p in Profile::ALL {
            let j = cases::job(p, &c.pk, &c.sig, &c.msg);
            let tag = u32::try_from(jobs.len()).unwrap();
            jobs.push(EngineJob::new(j.profile, &j.s, &j.k, &j.a, &j.r, tag));
            want.push(reference_verify(p, &c.pk, &c.sig, &c.msg));
        }
    }
    (jobs, want)
}

/// Runs the cases through one engine and checks every verdict against the reference.
fn check(cases: &[Case], traffic: Traffic) {
    let (jobs, want) = jobs(cases);
    let mut engine = Ed25519Engine::new().unwrap();
    let (verdicts, stats) = engine.run(&jobs, traffic).unwrap();
    assert_eq!(verdicts.len(), jobs.len());
    let mut seen = vec![false; jobs.len()];
    let mut bad = Vec::new();
    for (tag, ok) in verdicts {
        let i = usize::try_from(tag).unwrap();
        assert!(!seen[i], "tag {tag} answered twice");
        seen[i] = true;
        if ok != want[i] {
            let c = &cases[i / 3];
            bad.push(format!(
                "{} {}: reference {}, RTL {ok}",
                c.name,
                Profile::ALL[i % 3].name(),
                want[i]
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(want.iter().any(|&v| v) && want.iter().any(|&v| !v));
    assert_eq!(stats.max_in_flight.min(CONTEXTS), stats.max_in_flight);
}

#[test]
fn edge_cases_get_the_reference_verdict() {
    check(&cases::edge_cases(), Traffic::FULL);
}

#[test]
fn wycheproof_gets_the_reference_verdict_under_stalls() {
    check(&cases::wycheproof_cases(), Traffic::stalls(3));
}

#[test]
fn random_signatures_get_the_reference_verdict() {
    let n = std::env::var("VIGIL_ENGINE_RANDOM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(210);
    check(&cases::random_cases(n, 11), Traffic::stalls(5));
}

#[test]
fn a_full_engine_takes_the_programs_turns_per_signature() {
    // Three signatures (one per profile) per case: every context filled three times.
    let (jobs, want) = jobs(&cases::random_cases(CONTEXTS, 21));
    let mut engine = Ed25519Engine::new().unwrap();
    let (verdicts, stats) = engine.run(&jobs, Traffic::FULL).unwrap();
    let mut got = vec![false; jobs.len()];
    for (tag, ok) in verdicts {
        got[usize::try_from(tag).unwrap()] = ok;
    }
    assert_eq!(got, want);
    assert_eq!(stats.max_in_flight, CONTEXTS);
    let turns = vigil_ucode::issues_per_signature() as u64;
    let n = jobs.len() as u64;
    // The multiplier took exactly the program's multiplications, and the adder unit its
    // other register-writing operations, for every signature.
    let muls = vigil_ucode::per_signature(|i| i.op.m_slot()) as u64;
    let adds = vigil_ucode::per_signature(|i| i.op.uses_alu() && !i.op.m_slot()) as u64;
    assert_eq!(stats.alu_issues, n * muls, "{stats:?}");
    assert_eq!(stats.add_issues, n * adds, "{stats:?}");
    // With every context busy the engine serves a bundle every clock, and a context
    // takes its next signature in the turn after its HALT: the run takes the turns of
    // all signatures, plus the pipeline's fill and drain.
    let slack = 4 * CONTEXTS as u64 + 16;
    assert!(stats.cycles >= n * turns, "{stats:?}");
    assert!(stats.cycles <= n * turns + slack, "{stats:?}");
    eprintln!(
        "{n} signatures in {} cycles: {:.1} cycles per signature ({turns} turns), \
         {} in flight, multiplier busy {:.1}% and adder unit {:.1}% of cycles",
        stats.cycles,
        stats.cycles as f64 / n as f64,
        stats.max_in_flight,
        100.0 * stats.alu_issues as f64 / stats.cycles as f64,
        100.0 * stats.add_issues as f64 / stats.cycles as f64
    );
}
