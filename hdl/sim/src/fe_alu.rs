//! `vigil_fe_alu` (`hdl/rtl/vigil_fe_alu.sv`): the GF(2^255 - 19) ALU, one operation
//! per clock, every result a fixed `AluLatency` clocks after its operation, no
//! backpressure.
//!
//! [`FeAlu::cycle`] is the cycle-level interface; [`FeAlu::run`] issues a whole list of
//! operations (with random idle cycles) and checks the timing contract on every cycle:
//! each result comes out exactly `AluLatency` clocks after its operation went in, with
//! its tag, and `out_valid` is never high otherwise. Field elements are 8 little-endian
//! 32-bit words (word i = bits `[32i +: 32]`); bit 255 is not a port bit.

use crate::ffi::{FeAluModel, RESET_CYCLES};
use crate::rtl::Package;
use crate::{SimError, Traffic};

/// The source of `hdl/rtl/vigil_fe_pkg.sv`, as built into this crate.
pub const FE_PKG: &str = include_str!("../../rtl/vigil_fe_pkg.sv");

/// [`FE_PKG`], parsed.
pub fn fe_pkg() -> Result<Package, SimError> {
    Package::parse(FE_PKG)
}

/// One ALU operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeOp {
    /// `in_op_i` (2 bits): `vigil_fe_pkg::OpMul`, `OpAdd`, `OpSub`, or the reserved 3.
    pub op: u8,
    /// `in_a_i`, 255 bits (bit 255 of the words is ignored).
    pub a: [u32; 8],
    /// `in_b_i`, 255 bits.
    pub b: [u32; 8],
    /// `in_tag_i` (the model is built with `TagWidth` = 32).
    pub tag: u32,
}

/// A simulated `vigil_fe_alu` (`TagWidth` = 32).
pub struct FeAlu {
    model: FeAluModel,
    latency: u64,
    cycles: u64,
}

impl FeAlu {
    /// A new ALU, reset, its latency read from the package (`AluLatency`).
    pub fn new() -> Result<Self, SimError> {
        let latency = fe_pkg()?.int("AluLatency")?;
        let mut alu = FeAlu {
            model: FeAluModel::new()?,
            latency,
            cycles: 0,
        };
        alu.reset();
        Ok(alu)
    }

    /// `vigil_fe_pkg::AluLatency`, the cycles from an operation to its result.
    pub fn latency(&self) -> u64 {
        self.latency
    }

    /// Holds the reset (with `in_valid` low), then releases it: work in flight is dropped.
    pub fn reset(&mut self) {
        self.model.set_in(false, 0, &[0; 8], &[0; 8], 0);
        self.model.reset();
        self.cycles += RESET_CYCLES;
    }

    /// One clock cycle: drives `input` (`None`: `in_valid` low), returns the outputs
    /// during this cycle (`Some((r, tag))` when `out_valid` is high), then clocks the
    /// edge that ends the cycle, which takes `input`.
    pub fn cycle(&mut self, input: Option<&FeOp>) -> Option<([u32; 8], u32)> {
        match input {
            Some(op) => self.model.set_in(true, op.op, &op.a, &op.b, op.tag),
            None => self.model.set_in(false, 0, &[0; 8], &[0; 8], 0),
        }
        self.model.eval();
        let out = self.model.out_valid().then(|| self.model.out());
        self.model.tick();
        self.cycles += 1;
        out
    }

    /// Issues `ops` in order, one per cycle except for random idle cycles (an operation
    /// is issued in a cycle with probability `traffic.in_valid_percent`; the seed is
    /// `traffic.seed`; there is no output side to stall), then idles until the last
    /// result is out. Checks on every cycle that each result comes out exactly
    /// [`FeAlu::latency`] cycles after its operation, with its tag, and that `out_valid`
    /// is low in every other cycle. Returns the results in order.
    pub fn run(&mut self, ops: &[FeOp], traffic: Traffic) -> Result<Vec<[u32; 8]>, SimError> {
        let latency = self.latency;
        crate::pipeline::run(ops, traffic, latency, |op| op.tag, |op| self.cycle(op))
    }

    /// Clock periods simulated so far, resets included.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }
}
