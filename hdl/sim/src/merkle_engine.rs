//! `vigil_merkle_engine` (`hdl/rtl/vigil_merkle_engine.sv`): one cycle at a time, and a
//! driver that streams whole requests through it.
//!
//! [`MerkleEngine::cycle`] is one clock period, as in [`crate::blake3_compress`]: drive
//! the inputs, sample what the DUT shows before the rising edge, clock the edge.
//! [`run`] sends one request word by word with random input stalls (a word once offered
//! stays offered until taken, as on AXI-Stream) and random output backpressure, and
//! checks the engine's contract on every cycle:
//!
//! - one result per request, and only after the request's final word was taken;
//! - a result held while `out_ready` is low stays exactly as it was;
//! - `busy_o` is high from the cycle after the first word is taken until the result is
//!   taken, and low when the engine is idle again;
//! - the engine takes no word while it shows a result.
//!
//! The request encoders ([`root_request`], [`nodes_request`]) write the payloads of
//! MERKLE_ROOT and MERKLE_NODES as the card's framing defines them (hdl/regmap.json);
//! the expected roots are the testbench's business (`vigil_core::merkle`), never this
//! module's.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ffi::{MerkleEngineModel, RESET_CYCLES};
use crate::{SimError, Traffic};

/// `MaxLeaves` of the model (the RTL's default parameter, which build.rs keeps).
pub const MAX_LEAVES: usize = 4096;
/// `MaxLeafBytes` of the model.
pub const MAX_LEAF_BYTES: usize = 65536;

/// Status codes (hdl/regmap.json, enum STATUS).
pub mod status {
    /// Done; the root is the result.
    pub const OK: u8 = 0;
    /// Word 1 bits 63:32 not zero.
    pub const BAD_HEADER: u8 = 2;
    /// More leaves or nodes than `MaxLeaves`.
    pub const TOO_MANY: u8 = 3;
    /// A leaf longer than `MaxLeafBytes` (or its length word's bits 63:32 set).
    pub const TOO_LONG: u8 = 4;
    /// The frame ended before its declared contents.
    pub const FRAME_SHORT: u8 = 5;
    /// The frame went on past its declared contents.
    pub const FRAME_LONG: u8 = 6;
}

/// One request word as driven on the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// `in_data_i`.
    pub data: u64,
    /// `in_last_i`.
    pub last: bool,
    /// `in_nodes_i`.
    pub nodes: bool,
}

/// The engine's result outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// `out_root_o` as bytes (byte i = bits `[8i +: 8]`).
    pub root: [u8; 32],
    /// `out_status_o`.
    pub status: u8,
}

/// What one clock period showed and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    /// `in_ready_o` during the period.
    pub in_ready: bool,
    /// The offered word was taken at the edge.
    pub accepted: bool,
    /// The result during the period, if `out_valid_o` was high.
    pub out: Option<Response>,
    /// `out` was taken at the edge.
    pub taken: bool,
    /// `busy_o` during the period.
    pub busy: bool,
    /// `compress_o` during the period.
    pub compress: bool,
}

/// A simulated `vigil_merkle_engine`.
pub struct MerkleEngine {
    model: MerkleEngineModel,
    cycles: u64,
}

impl MerkleEngine {
    /// A new engine, reset.
    pub fn new() -> Result<Self, SimError> {
        let mut engine = MerkleEngine {
            model: MerkleEngineModel::new()?,
            cycles: 0,
        };
        engine.reset();
        Ok(engine)
    }

    /// Holds the (synchronous) reset for two cycles with the input idle.
    pub fn reset(&mut self) {
        self.model.set_in(false, 0, false, false);
        self.model.reset();
        self.cycles += RESET_CYCLES;
    }

    /// One clock period: offer `input` or nothing, drive `out_ready`, sample, clock.
    pub fn cycle(&mut self, input: Option<&Word>, out_ready: bool) -> Cycle {
        match input {
            Some(w) => self.model.set_in(true, w.data, w.last, w.nodes),
            None => self.model.set_in(false, 0, false, false),
        }
        self.model.set_out_ready(out_ready);
        self.model.eval();
        let in_ready = self.model.in_ready();
        let out_valid = self.model.out_valid();
        let (root_words, status, busy, compress) = self.model.out();
        let out = out_valid.then(|| {
            let mut root = [0u8; 32];
            for (dst, w) in root.chunks_exact_mut(4).zip(root_words) {
                dst.copy_from_slice(&w.to_le_bytes());
            }
            Response { root, status }
        });
        self.model.tick();
        self.cycles += 1;
        Cycle {
            in_ready,
            accepted: input.is_some() && in_ready,
            out,
            taken: out.is_some() && out_ready,
            busy,
            compress,
        }
    }

    /// Clock periods simulated so far, reset included.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }
}

/// A request: the frame after its header word, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Word 1 (the count), then the payload; the last word goes with `in_last_i`.
    pub words: Vec<u64>,
    /// MERKLE_NODES (`in_nodes_i`) rather than MERKLE_ROOT.
    pub nodes: bool,
}

/// Bytes as little-endian 64-bit words, the last one zero-padded.
pub fn byte_words(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.chunks(8).map(|c| {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(w)
    })
}

/// The MERKLE_ROOT request of `leaves`.
pub fn root_request<'a>(leaves: impl ExactSizeIterator<Item = &'a [u8]>) -> Request {
    let mut words = vec![leaves.len() as u64];
    for leaf in leaves {
        words.push(leaf.len() as u64);
        words.extend(byte_words(leaf));
    }
    Request {
        words,
        nodes: false,
    }
}

/// The MERKLE_NODES request of `nodes`.
pub fn nodes_request(nodes: &[[u8; 32]]) -> Request {
    let mut words = vec![nodes.len() as u64];
    for node in nodes {
        words.extend(byte_words(node));
    }
    Request { words, nodes: true }
}

/// One request's result and what it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The result.
    pub response: Response,
    /// Cycles from the first word offered to the result taken (both included).
    pub cycles: u64,
    /// Cycles with `compress_o` high.
    pub compressions: u64,
    /// Words the engine took.
    pub words_taken: usize,
    /// Cycles with a word offered and not taken (`in_ready_o` low: backpressure).
    pub in_waits: u64,
}

/// Cycles without any transfer after which [`run`] gives up (the longest quiet stretch
/// is a full tree's node levels, about 4096 + 12 x 35 cycles).
const STUCK_CYCLES: u64 = 100_000;

/// Streams `request` through `engine` with `traffic`'s stalls until its result is
/// taken, checking the contract in the module docs.
pub fn run(
    engine: &mut MerkleEngine,
    request: &Request,
    traffic: &Traffic,
) -> Result<Outcome, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(traffic.seed);
    let n = request.words.len();
    let mut next = 0usize;
    let mut offered = false;
    let mut held: Option<Response> = None;
    let mut started = false;
    let mut cycles = 0u64;
    let mut compressions = 0u64;
    let mut in_waits = 0u64;
    let mut idle = 0u64;
    loop {
        if !offered && next < n && rng.gen_range(0..100) < traffic.in_valid_percent {
            offered = true;
        }
        let word = (offered && next < n).then(|| Word {
            data: request.words[next],
            last: next + 1 == n,
            nodes: request.nodes,
        });
        let out_ready = rng.gen_range(0..100) < traffic.out_ready_percent;
        let c = engine.cycle(word.as_ref(), out_ready);
        cycles += 1;
        compressions += u64::from(c.compress);
        in_waits += u64::from(word.is_some() && !c.accepted);

        if started != c.busy {
            return Err(SimError::Protocol(format!(
                "busy_o = {} with the request {}",
                c.busy,
                if started { "in progress" } else { "not begun" }
            )));
        }
        if let Some(prev) = held.take() {
            if c.out != Some(prev) {
                return Err(SimError::Protocol(format!(
                    "result changed while stalled: {prev:x?} became {:x?}",
                    c.out
                )));
            }
        }
        if c.accepted {
            if c.out.is_some() {
                return Err(SimError::Protocol(
                    "a word taken with a result shown".into(),
                ));
            }
            started = true;
            offered = false;
            next += 1;
        }
        if let Some(out) = c.out {
            if !started {
                return Err(SimError::Protocol("a result without a request".into()));
            }
            // FRAME_SHORT is the only result that may come with words unsent: none, as
            // the request's final word carries in_last_i; every result follows it.
            if next < n {
                return Err(SimError::Protocol(format!(
                    "result {out:x?} with {} of {n} words taken",
                    next
                )));
            }
            if c.taken {
                // The engine is idle in the next cycle.
                let after = engine.cycle(None, false);
                if after.busy || after.out.is_some() {
                    return Err(SimError::Protocol(
                        "busy or a second result after the result was taken".into(),
                    ));
                }
                return Ok(Outcome {
                    response: out,
                    cycles,
                    compressions: compressions + u64::from(after.compress),
                    words_taken: next,
                    in_waits,
                });
            }
            held = Some(out);
        }
        if c.accepted || c.taken {
            idle = 0;
        } else {
            idle += 1;
            if idle >= STUCK_CYCLES {
                return Err(SimError::Stuck(idle));
            }
        }
    }
}
