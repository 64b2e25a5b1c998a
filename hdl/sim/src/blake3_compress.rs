//! `vigil_blake3_compress` (`hdl/rtl/vigil_blake3_compress.sv`): one cycle at a time.
//!
//! [`Blake3Compress::cycle`] is one clock period: it drives the inputs for the period,
//! samples what the DUT shows before the rising edge (`in_ready`, the output and its
//! valid bit), then clocks the edge. A transfer happens at that edge on each side whose
//! valid and ready are both high, exactly as on the wire, and [`Cycle`] reports both.

use crate::ffi::{Blake3CompressModel, RESET_CYCLES};
use crate::SimError;

/// Tag width the model is built with (`-GTagWidth=32` in build.rs).
pub const TAG_WIDTH: u32 = 32;

/// One compression: the core's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    /// Input chaining value (or key).
    pub cv: [u32; 8],
    /// Message block, 16 little-endian words.
    pub block: [u32; 16],
    /// Counter (chunk index, or output block index at the root).
    pub counter: u64,
    /// Bytes of the block that are message (0..=64).
    pub block_len: u32,
    /// Domain flags.
    pub flags: u32,
    /// Sideband tag, returned with the result.
    pub tag: u32,
}

/// One result: the core's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// The 16-word output; words 0..8 are the new chaining value.
    pub state: [u32; 16],
    /// The tag of the compression this is the result of.
    pub tag: u32,
}

/// What one clock period showed and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    /// `in_ready_o` during the period.
    pub in_ready: bool,
    /// The offered input was taken at the edge (it was offered and `in_ready` was high).
    pub accepted: bool,
    /// The output during the period, if `out_valid_o` was high.
    pub out: Option<Output>,
    /// `out` was taken at the edge (`out_ready` was driven high).
    pub taken: bool,
}

/// A simulated `vigil_blake3_compress`.
pub struct Blake3Compress {
    model: Blake3CompressModel,
    cycles: u64,
}

impl Blake3Compress {
    /// A new core, reset.
    pub fn new() -> Result<Self, SimError> {
        let mut core = Blake3Compress {
            model: Blake3CompressModel::new()?,
            cycles: 0,
        };
        core.reset();
        Ok(core)
    }

    /// Holds the (synchronous) reset for two cycles with both valids low, then releases
    /// it: whatever was in flight is dropped.
    pub fn reset(&mut self) {
        self.model.set_in(false, &[0; 8], &[0; 16], 0, 0, 0, 0);
        self.model.reset();
        self.cycles += RESET_CYCLES;
    }

    /// One clock period: offer `input` (in_valid high) or nothing, drive `out_ready`,
    /// sample, clock.
    pub fn cycle(&mut self, input: Option<&Compression>, out_ready: bool) -> Cycle {
        match input {
            Some(c) => self.model.set_in(
                true,
                &c.cv,
                &c.block,
                c.counter,
                c.block_len,
                c.flags,
                c.tag,
            ),
            None => self.model.set_in(false, &[0; 8], &[0; 16], 0, 0, 0, 0),
        }
        self.model.set_out_ready(out_ready);
        self.model.eval();
        let in_ready = self.model.in_ready();
        let out = self.model.out_valid().then(|| {
            let (state, tag) = self.model.out();
            Output { state, tag }
        });
        self.model.tick();
        self.cycles += 1;
        Cycle {
            in_ready,
            accepted: input.is_some() && in_ready,
            out,
            taken: out.is_some() && out_ready,
        }
    }

    /// Clock periods simulated so far, reset included.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }
}
