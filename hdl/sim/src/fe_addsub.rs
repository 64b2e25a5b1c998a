//! `vigil_fe_addsub` (`hdl/rtl/vigil_fe_addsub.sv`): the adder unit beside the field
//! multiplier, m a + b or m a - b mod p (m = 1 or 2), one operation per clock, every
//! result a fixed `AddLatency` clocks after its operation, no backpressure.
//!
//! The same cycle-level interface as [`crate::fe_alu`]: [`FeAddSub::cycle`] drives one
//! clock; [`FeAddSub::run`] issues a whole list of operations (with random idle cycles)
//! and checks the timing contract on every cycle: each result comes out exactly
//! `AddLatency` clocks after its operation, with its tag, and `out_valid` is never high
//! otherwise. Field elements are 8 little-endian 32-bit words (word i = bits
//! `[32i +: 32]`); bit 255 is not a port bit.

use crate::fe_alu::fe_pkg;
use crate::ffi::{FeAddSubModel, RESET_CYCLES};
use crate::{SimError, Traffic};

/// One adder operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddSubOp {
    /// `in_sub_i`: subtract b when set, add it when clear.
    pub sub: bool,
    /// `in_dbl_i`: 2a instead of a.
    pub dbl: bool,
    /// `in_a_i`, 255 bits (bit 255 of the words is ignored).
    pub a: [u32; 8],
    /// `in_b_i`, 255 bits.
    pub b: [u32; 8],
    /// `in_tag_i` (the model is built with `TagWidth` = 32).
    pub tag: u32,
}

/// A simulated `vigil_fe_addsub` (`TagWidth` = 32).
pub struct FeAddSub {
    model: FeAddSubModel,
    latency: u64,
    cycles: u64,
}

impl FeAddSub {
    /// A new adder unit, reset, its latency read from the package (`AddLatency`).
    pub fn new() -> Result<Self, SimError> {
        let latency = fe_pkg()?.int("AddLatency")?;
        let mut unit = FeAddSub {
            model: FeAddSubModel::new()?,
            latency,
            cycles: 0,
        };
        unit.reset();
        Ok(unit)
    }

    /// `vigil_fe_pkg::AddLatency`, the cycles from an operation to its result.
    pub fn latency(&self) -> u64 {
        self.latency
    }

    /// Holds the reset (with `in_valid` low), then releases it: work in flight is dropped.
    pub fn reset(&mut self) {
        self.model.set_in(false, false, false, &[0; 8], &[0; 8], 0);
        self.model.reset();
        self.cycles += RESET_CYCLES;
    }

    /// One clock cycle: drives `input` (`None`: `in_valid` low), returns the outputs
    /// during this cycle (`Some((r, tag))` when `out_valid` is high), then clocks the
    /// edge that ends the cycle, which takes `input`.
    pub fn cycle(&mut self, input: Option<&AddSubOp>) -> Option<([u32; 8], u32)> {
        match input {
            Some(op) => self
                .model
                .set_in(true, op.sub, op.dbl, &op.a, &op.b, op.tag),
            None => self.model.set_in(false, false, false, &[0; 8], &[0; 8], 0),
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
    /// [`FeAddSub::latency`] cycles after its operation, with its tag, and that
    /// `out_valid` is low in every other cycle. Returns the results in order.
    pub fn run(&mut self, ops: &[AddSubOp], traffic: Traffic) -> Result<Vec<[u32; 8]>, SimError> {
        let latency = self.latency;
        crate::pipeline::run(ops, traffic, latency, |op| op.tag, |op| self.cycle(op))
    }

    /// Clock periods simulated so far, resets included.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }
}
