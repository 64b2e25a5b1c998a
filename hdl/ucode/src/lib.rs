//! `vigil-ucode`: the FPGA card's Ed25519 verification program.
//!
//! The verification engine (`hdl/rtl/vigil_ed25519_engine.sv`) is a small processor
//! built around a pipelined GF(2^255 - 19) multiplier and an adder unit beside it, issuing
//! one bundle (a multiplication and one other operation) per turn; what it computes is a
//! program in ROM. This crate is that program's one source:
//!
//! * [`isa`]: the instruction set and the bundle the engine decodes;
//! * [`program`]: Ed25519 verification (decompression, the -A table, the
//!   double-scalar multiplication, every profile's checks) written as operations on
//!   values ([`ir`]);
//! * [`sched`]: the list scheduler that packs those operations into bundles, and the
//!   register allocator that gives the values registers;
//! * [`model`]: a bit-exact model of one engine context running the bundles, so the
//!   program and its schedule are tested against the reference verifiers in software,
//!   before and apart from the RTL;
//! * [`render`]: the generated RTL (`hdl/rtl/vigil_ed25519_pkg.sv`, the constants and
//!   encodings; `hdl/rtl/vigil_ed25519_rom.sv`, the program and base-point ROM). Run
//!   `cargo run -p vigil-ucode -- --write` after changing the program; a test fails while
//!   the checked-in files are stale.
//!
//! Writing the program in Rust rather than by hand in the ROM keeps the curve formulas
//! readable, lets the model find a wrong register or a missing check in milliseconds,
//! lets a scheduler rather than a person find which operations can share a turn, and
//! makes the RTL a generic machine that never needs to change when the program does.

pub mod cases;
pub mod field;
pub mod ir;
pub mod isa;
pub mod model;
pub mod program;
pub mod render;
pub mod sched;

/// The program, scheduled into bundles.
///
/// # Panics
///
/// Never for the program in this crate: its tests schedule it (a failure is a defect in
/// the program, found by `cargo test`, not an input).
#[allow(clippy::expect_used)]
pub fn scheduled() -> sched::Scheduled {
    sched::schedule(&program::blocks()).expect("the verification program schedules")
}

/// The program, encoded: one 72-bit word per bundle.
pub fn encoded() -> Vec<u128> {
    scheduled()
        .bundles
        .iter()
        .map(isa::Bundle::encode)
        .collect()
}

/// How often each block of the schedule runs for one signature: once, and a loop once
/// per window it has left. The same for every input: the program has no data-dependent
/// branch.
pub fn block_runs(s: &sched::Scheduled) -> Vec<usize> {
    let mut win = usize::from(isa::WINDOWS) - 1;
    s.spans
        .iter()
        .map(|span| {
            let last = &s.bundles[span.start + span.len - 1].a;
            if span.looped {
                let runs = win + 1;
                win = 0;
                runs
            } else {
                if last.op == isa::Op::Loop {
                    win = win.saturating_sub(1);
                }
                1
            }
        })
        .collect()
}

/// How many of one signature's issued instructions (in either slot, `NOP`s left out)
/// satisfy `counts`.
pub fn per_signature(counts: impl Fn(&isa::Instr) -> bool) -> usize {
    let s = scheduled();
    block_runs(&s)
        .iter()
        .zip(&s.spans)
        .map(|(runs, span)| {
            runs * s.bundles[span.start..span.start + span.len]
                .iter()
                .flat_map(isa::Bundle::ops)
                .filter(|i| counts(i))
                .count()
        })
        .sum()
}

/// Turns one signature takes: the engine's clocks per signature at full occupancy.
pub fn issues_per_signature() -> usize {
    let s = scheduled();
    block_runs(&s)
        .iter()
        .zip(&s.spans)
        .map(|(runs, span)| runs * span.len)
        .sum()
}
