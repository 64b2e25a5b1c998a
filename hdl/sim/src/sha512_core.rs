//! `vigil_sha512_core` (`hdl/rtl/vigil_sha512_core.sv`): one cycle at a time, and a
//! driver that streams whole messages through it.
//!
//! [`Sha512Core::cycle`] is one clock period, as [`crate::blake3_compress`]'s: drive the
//! inputs, sample what the DUT shows before the rising edge, clock the edge.
//! [`hash_messages`] streams messages word by word with random stalls on both sides
//! ([`Traffic`]) and checks the handshake contract on every cycle: an offered word stays
//! until taken, and a result that is not taken holds unchanged.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ffi::{Sha512CoreModel, RESET_CYCLES};
use crate::SimError;
use crate::Traffic;

/// One input word of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// Up to 8 message bytes, byte i in bits `[8i +: 8]` (little-endian).
    pub data: u64,
    /// The message's final word.
    pub last: bool,
    /// Message bytes in the final word (0..=8); ignored on other words.
    pub bytes: u8,
    /// The message's tag (sampled by the core with the final word).
    pub tag: u32,
}

/// One result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// The SHA-512 digest, in its byte order.
    pub digest: [u8; 64],
    /// The digest, read as a little-endian integer, mod L: 32 little-endian bytes.
    pub k: [u8; 32],
    /// The message's tag.
    pub tag: u32,
}

/// What one clock period showed and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    /// `in_ready_o` during the period.
    pub in_ready: bool,
    /// The offered word was taken at the edge.
    pub accepted: bool,
    /// The output during the period, if `out_valid_o` was high.
    pub out: Option<Output>,
    /// `out` was taken at the edge.
    pub taken: bool,
}

/// The words of `msg` as the core takes them: 8 bytes each, the last one marked with its
/// byte count (one word of 0 bytes for the empty message).
pub fn words(msg: &[u8], tag: u32) -> Vec<Word> {
    let mut out: Vec<Word> = msg
        .chunks(8)
        .map(|chunk| {
            let mut bytes = [0u8; 8];
            bytes[..chunk.len()].copy_from_slice(chunk);
            Word {
                data: u64::from_le_bytes(bytes),
                last: false,
                bytes: u8::try_from(chunk.len()).unwrap_or(8),
                tag,
            }
        })
        .collect();
    if out.is_empty() {
        out.push(Word {
            data: 0,
            last: true,
            bytes: 0,
            tag,
        });
    }
    if let Some(w) = out.last_mut() {
        w.last = true;
    }
    out
}

fn le_bytes<const N: usize>(words: &[u32]) -> [u8; N] {
    let mut out = [0u8; N];
    for (chunk, w) in out.chunks_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// A simulated `vigil_sha512_core`.
pub struct Sha512Core {
    model: Sha512CoreModel,
    cycles: u64,
}

impl Sha512Core {
    /// A new core, reset.
    pub fn new() -> Result<Self, SimError> {
        let mut core = Sha512Core {
            model: Sha512CoreModel::new()?,
            cycles: 0,
        };
        core.reset();
        Ok(core)
    }

    /// Holds the (synchronous) reset for two cycles with both valids low, then releases it.
    pub fn reset(&mut self) {
        self.model.set_in(false, 0, false, 0, 0);
        self.model.reset();
        self.cycles += RESET_CYCLES;
    }

    /// One clock period: offer `input` or nothing, drive `out_ready`, sample, clock.
    pub fn cycle(&mut self, input: Option<&Word>, out_ready: bool) -> Cycle {
        match input {
            Some(w) => self.model.set_in(true, w.data, w.last, w.bytes, w.tag),
            None => self.model.set_in(false, 0, false, 0, 0),
        }
        self.model.set_out_ready(out_ready);
        self.model.eval();
        let in_ready = self.model.in_ready();
        let out = self.model.out_valid().then(|| {
            let (digest, k, tag) = self.model.out();
            Output {
                digest: le_bytes(&digest),
                k: le_bytes(&k),
                tag,
            }
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

/// Cycles with no transfer on either side after which [`hash_messages`] gives up.
const STUCK_CYCLES: u64 = 10_000;

/// Streams `messages` (each with its tag) through `core` one after another, under
/// `traffic`'s stalls, and returns the results in order. Checks that an offered word is
/// not dropped, that a waiting result holds while not taken, and that no result appears
/// that was not asked for.
pub fn hash_messages(
    core: &mut Sha512Core,
    messages: &[(Vec<u8>, u32)],
    traffic: Traffic,
) -> Result<Vec<Output>, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(traffic.seed);
    let queue: Vec<Word> = messages
        .iter()
        .flat_map(|(m, tag)| words(m, *tag))
        .collect();
    let mut next = 0;
    let mut offered = false;
    let mut results = Vec::with_capacity(messages.len());
    let mut held: Option<Output> = None;
    let mut idle = 0u64;
    while results.len() < messages.len() {
        if !offered && next < queue.len() {
            offered = rng.gen_range(0..100) < traffic.in_valid_percent;
        }
        let out_ready = rng.gen_range(0..100) < traffic.out_ready_percent;
        let input = offered.then(|| queue[next]);
        let cycle = core.cycle(input.as_ref(), out_ready);
        if let Some(prev) = held {
            if cycle.out != Some(prev) {
                return Err(SimError::Protocol(format!(
                    "a result that was not taken changed or vanished: {prev:?} -> {:?}",
                    cycle.out
                )));
            }
        }
        held = None;
        if cycle.accepted {
            next += 1;
            offered = false;
        }
        if let Some(out) = cycle.out {
            if cycle.taken {
                if results.len() >= messages.len() {
                    return Err(SimError::Protocol("a result too many".into()));
                }
                results.push(out);
            } else {
                held = Some(out);
            }
        }
        if cycle.accepted || cycle.taken {
            idle = 0;
        } else {
            idle += 1;
            if idle > STUCK_CYCLES {
                return Err(SimError::Stuck(idle));
            }
        }
    }
    Ok(results)
}
