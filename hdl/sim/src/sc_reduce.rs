//! `vigil_sc_reduce` (`hdl/rtl/vigil_sc_reduce.sv`): one reduction at a time.

use crate::ffi::{ScReduceModel, RESET_CYCLES};
use crate::SimError;

/// Cycles with no result after which [`ScReduce::reduce`] gives up.
const STUCK_CYCLES: u64 = 10_000;

/// A simulated `vigil_sc_reduce` (default `BitsPerCycle`).
pub struct ScReduce {
    model: ScReduceModel,
    cycles: u64,
}

impl ScReduce {
    /// A new reducer, reset.
    pub fn new() -> Result<Self, SimError> {
        let mut r = ScReduce {
            model: ScReduceModel::new()?,
            cycles: 0,
        };
        r.model.set_in(false, &[0; 16]);
        r.model.reset();
        r.cycles += RESET_CYCLES;
        Ok(r)
    }

    /// Reduces the 64-byte little-endian integer `x` mod L: waits for `in_ready`,
    /// offers `x`, waits for the result (holding `out_ready` low for `hold` cycles
    /// first, and checking the result holds meanwhile), takes it. Returns the 32
    /// little-endian bytes and the cycles from the input's edge to the first cycle the
    /// result was valid.
    pub fn reduce(&mut self, x: &[u8; 64], hold: u32) -> Result<([u8; 32], u64), SimError> {
        let mut words = [0u32; 16];
        for (w, chunk) in words.iter_mut().zip(x.chunks(4)) {
            *w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        let mut waited = 0u64;
        loop {
            self.model.set_in(true, &words);
            self.model.set_out_ready(false);
            self.model.eval();
            let ready = self.model.in_ready();
            self.step();
            if ready {
                break;
            }
            waited += 1;
            if waited > STUCK_CYCLES {
                return Err(SimError::Stuck(waited));
            }
        }
        self.model.set_in(false, &[0; 16]);
        let mut latency = 0u64;
        loop {
            latency += 1;
            self.model.set_out_ready(false);
            self.model.eval();
            if self.model.out_valid() {
                break;
            }
            if self.model.in_ready() {
                return Err(SimError::Protocol("ready again before a result".into()));
            }
            self.step();
            if latency > STUCK_CYCLES {
                return Err(SimError::Stuck(latency));
            }
        }
        let k = self.model.out();
        for _ in 0..hold {
            self.step();
            self.model.eval();
            if !self.model.out_valid() || self.model.out() != k {
                return Err(SimError::Protocol("a held result changed".into()));
            }
        }
        self.model.set_out_ready(true);
        self.model.eval();
        self.step();
        self.model.set_out_ready(false);
        self.model.eval();
        if self.model.out_valid() {
            return Err(SimError::Protocol(
                "the result stayed after it was taken".into(),
            ));
        }
        let mut out = [0u8; 32];
        for (chunk, w) in out.chunks_mut(4).zip(k) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        Ok((out, latency))
    }

    fn step(&mut self) {
        self.model.tick();
        self.cycles += 1;
    }

    /// Clock periods simulated so far, reset included.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }
}
