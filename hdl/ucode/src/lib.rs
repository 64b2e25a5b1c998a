//! `vigil-ucode`: the FPGA card's Ed25519 verification program.
//!
//! The verification engine (`hdl/rtl/vigil_ed25519_engine.sv`) is a small processor
//! built around one pipelined GF(2^255 - 19) ALU; what it computes is a program in ROM.
//! This crate is that program's one source:
//!
//! * [`isa`]: the instruction set the engine decodes;
//! * [`program`]: Ed25519 verification (decompression, the -A table, the
//!   double-scalar multiplication, every profile's checks) written against it;
//! * [`model`]: a bit-exact model of one engine context, so the program is tested
//!   against the reference verifiers in software, before and apart from the RTL;
//! * [`render`]: the generated RTL (`hdl/rtl/vigil_ed25519_pkg.sv`, the constants and
//!   encodings; `hdl/rtl/vigil_ed25519_rom.sv`, the program and base-point ROM). Run
//!   `cargo run -p vigil-ucode -- --write` after changing the program; a test fails while
//!   the checked-in files are stale.
//!
//! Writing the program in Rust rather than by hand in the ROM keeps the curve formulas
//! readable, lets the model find a wrong register or a missing check in milliseconds,
//! and makes the RTL a generic machine that never needs to change when the program does.

pub mod cases;
pub mod field;
pub mod isa;
pub mod model;
pub mod program;
pub mod render;

/// The program, encoded: one 36-bit word per instruction.
pub fn encoded() -> Vec<u64> {
    program::program().iter().map(isa::Instr::encode).collect()
}

/// How many of one signature's issued instructions satisfy `counts`: the program once,
/// plus the loop body for every window but the first. The same for every input: the
/// program has no data-dependent branch.
pub fn per_signature(counts: impl Fn(&isa::Instr) -> bool) -> usize {
    let code = program::program();
    let body = code
        .iter()
        .position(|i| i.op == isa::Op::Loop)
        .map_or(0..0, |end| code[end].target()..end + 1);
    let once = code.iter().filter(|i| counts(i)).count();
    let looped = code[body].iter().filter(|i| counts(i)).count();
    once + (usize::from(isa::WINDOWS) - 1) * looped
}

/// Issue slots one signature takes.
pub fn issues_per_signature() -> usize {
    per_signature(|_| true)
}
