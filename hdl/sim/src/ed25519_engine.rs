//! `vigil_ed25519_engine` (`hdl/rtl/vigil_ed25519_engine.sv`): signatures in, verdicts
//! out, many in flight.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ffi::Ed25519EngineModel;
use crate::{SimError, Traffic};

/// Cycles without a verdict after which [`Ed25519Engine::run`] gives up: far more than
/// a full engine takes for one signature.
const STUCK_CYCLES: u64 = 1_000_000;

/// One signature as the engine takes it (words: bits `[32i +: 32]` of each 256-bit port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineJob {
    /// Profile code: 0 strict, 1 rfc8032, 2 zip215.
    pub profile: u8,
    /// S as received.
    pub s: [u32; 8],
    /// k = SHA-512(R || A || M) mod L.
    pub k: [u32; 8],
    /// A's encoding.
    pub a: [u32; 8],
    /// R's encoding.
    pub r: [u32; 8],
    /// The tag its verdict comes back with.
    pub tag: u32,
}

fn words(bytes: &[u8; 32]) -> [u32; 8] {
    let mut out = [0u32; 8];
    for (w, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    out
}

impl EngineJob {
    /// A job from the 32-byte little-endian values.
    pub fn new(
        profile: u8,
        s: &[u8; 32],
        k: &[u8; 32],
        a: &[u8; 32],
        r: &[u8; 32],
        tag: u32,
    ) -> EngineJob {
        EngineJob {
            profile,
            s: words(s),
            k: words(k),
            a: words(a),
            r: words(r),
            tag,
        }
    }
}

/// The engine's outputs in one cycle that the driver reads (besides the handshakes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EngineOut {
    /// `out_ok_o`: the verdict.
    pub(crate) ok: bool,
    /// `alu_issue_o`: a multiplication entered the multiplier.
    pub(crate) mul_issue: bool,
    /// `add_issue_o`: an operation entered the adder unit.
    pub(crate) add_issue: bool,
    /// `out_tag_o`: the verdict's tag.
    pub(crate) tag: u32,
}

/// What a run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunStats {
    /// Clock cycles from the first offer to the last verdict taken.
    pub cycles: u64,
    /// Cycles in which the multiplier took an operation (`alu_issue_o`).
    pub alu_issues: u64,
    /// Cycles in which the adder unit took an operation (`add_issue_o`).
    pub add_issues: u64,
    /// Most signatures inside the engine at once.
    pub max_in_flight: usize,
}

/// A simulated engine (default `Contexts`, TagWidth 32).
pub struct Ed25519Engine {
    model: Ed25519EngineModel,
}

impl Ed25519Engine {
    /// A new engine, reset.
    pub fn new() -> Result<Self, SimError> {
        let mut e = Ed25519Engine {
            model: Ed25519EngineModel::new()?,
        };
        e.reset();
        Ok(e)
    }

    /// Resets the engine (a few clocks with rst_n low, inputs idle).
    pub fn reset(&mut self) {
        let idle = EngineJob::new(0, &[0; 32], &[0; 32], &[0; 32], &[0; 32], 0);
        self.model.set_in(false, &idle);
        self.model.set_out_ready(false);
        self.model.reset();
    }

    /// Verifies `jobs`: offers them in order (each offer held until taken, new offers
    /// and `out_ready` gated by `traffic`), takes every verdict, and returns them in the
    /// order they came out as (tag, valid), with what the run measured. A verdict that
    /// changes while held, or a run that stalls, is an error.
    pub fn run(
        &mut self,
        jobs: &[EngineJob],
        traffic: Traffic,
    ) -> Result<(Vec<(u32, bool)>, RunStats), SimError> {
        let mut rng = ChaCha8Rng::seed_from_u64(traffic.seed);
        let mut out = Vec::with_capacity(jobs.len());
        let mut stats = RunStats::default();
        let mut next = 0usize;
        let mut offering = false;
        let mut held: Option<(bool, u32)> = None;
        let mut idle = 0u64;
        while out.len() < jobs.len() {
            if !offering && next < jobs.len() {
                offering = rng.gen_range(0..100) < traffic.in_valid_percent;
            }
            let job = jobs.get(next).unwrap_or(&jobs[0]);
            self.model.set_in(offering, job);
            let ready = rng.gen_range(0..100) < traffic.out_ready_percent;
            self.model.set_out_ready(ready);
            self.model.eval();
            let taken = offering && self.model.in_ready();
            let valid = self.model.out_valid();
            let EngineOut {
                ok,
                mul_issue,
                add_issue,
                tag,
                ..
            } = self.model.out();
            if let Some(h) = held {
                if !valid || h != (ok, tag) {
                    return Err(SimError::Protocol("a held verdict changed".into()));
                }
            }
            held = (valid && !ready).then_some((ok, tag));
            self.model.tick();
            stats.cycles += 1;
            stats.alu_issues += u64::from(mul_issue);
            stats.add_issues += u64::from(add_issue);
            if taken {
                next += 1;
                offering = false;
            }
            if valid && ready {
                out.push((tag, ok));
                idle = 0;
            } else {
                idle += 1;
                if idle > STUCK_CYCLES {
                    return Err(SimError::Stuck(idle));
                }
            }
            stats.max_in_flight = stats.max_in_flight.max(next - out.len());
        }
        Ok((out, stats))
    }
}
