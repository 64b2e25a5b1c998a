//! A fake card for unit tests: a [`Transport`] that models the register map and the
//! request/response framing in Rust, with independent references for the results
//! (`vigil_core::merkle` for Merkle roots, `sha2` and `curve25519-dalek` for SHA512_K,
//! `vigil_core::reference_verify` per profile for VERIFY), and knobs to misbehave:
//! responses out of order, error statuses, malformed frames, silence.
//!
//! It implements register map 1.2: CAPS.VERIFY and VERIFY_SLOTS (engines, contexts,
//! SHA-512 cores) are reported, and
//! VERIFY checks its header, profile and length the way the register map says
//! (BAD_HEADER, BAD_PROFILE, TOO_LONG, FRAME_SHORT, FRAME_LONG).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha512};
use vigil_core::{merkle, reference_verify, Leaves, Profile};

use crate::regs::{fields, opcode, regs, status, MAGIC, VERSION_MAJOR, VERSION_MINOR};
use crate::transport::{Transport, TransportError};

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(what: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "vigil-fpga-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// How to mangle one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mangle {
    /// Answer with this status and no payload.
    Status(u8),
    /// Cut the last 3 bytes off.
    PartialWord,
    /// Declare one payload word more than sent.
    WordCount,
    /// Answer with a tag that was never issued.
    UnknownTag,
    /// Send the response twice.
    Duplicate,
    /// Answer with another opcode.
    Opcode,
    /// Drop the last payload word (and declare it so).
    ShortPayload,
    /// Never answer.
    Swallow,
    /// Flip a bit of the result.
    FlipBit,
    /// OR these bits into the first payload word.
    OrBits(u64),
}

/// The fake's VERIFY_SLOTS: 4 engines of 16 contexts (64 slots, more than the default
/// window of 32).
pub const FAKE_ENGINES: u32 = 4;
/// Contexts per engine of the fake.
pub const FAKE_CONTEXTS: u32 = 16;
/// SHA-512 cores of the fake.
pub const FAKE_SHA512_CORES: u32 = 3;

/// The fake card's state.
pub struct FakeCard {
    pub regs: HashMap<u32, u32>,
    /// SCRATCH reads back with this XORed in.
    pub scratch_flip: u32,
    /// Keep STATUS.ENABLED clear whatever CONTROL says.
    pub never_enables: bool,
    /// Return waiting responses in random order.
    pub shuffle: Option<ChaCha8Rng>,
    /// Mangle the response to the request with this index (counted from 0).
    pub mangle: Option<(usize, Mangle)>,
    /// Responses waiting for the host.
    pub out: Vec<Vec<u8>>,
    /// Requests received.
    pub requests: usize,
    /// The same count, readable after the card has moved into a backend's worker.
    pub seen: std::sync::Arc<AtomicU64>,
    /// Requests by opcode.
    pub by_opcode: HashMap<u8, usize>,
    /// Most requests outstanding (received, not yet read back) at once.
    pub max_outstanding: usize,
    /// Every frame received, if recording.
    pub record: Option<Vec<Vec<u8>>>,
}

impl FakeCard {
    /// A well-behaved card with these limits.
    pub fn new(max_leaves: u32, max_leaf_bytes: u32) -> FakeCard {
        let mut regs = HashMap::new();
        regs.insert(regs::ID, MAGIC);
        regs.insert(
            regs::VERSION,
            u32::from(VERSION_MAJOR) << 16 | u32::from(VERSION_MINOR),
        );
        regs.insert(regs::BUILD_HASH_LO, 0x1122_3344);
        regs.insert(regs::BUILD_HASH_HI, 0x5566_7788);
        regs.insert(
            regs::CAPS,
            1 << fields::CAPS_MERKLE.0 | 1 << fields::CAPS_SHA512.0 | 1 << fields::CAPS_VERIFY.0,
        );
        regs.insert(
            regs::VERIFY_SLOTS,
            FAKE_ENGINES << fields::VERIFY_SLOTS_ENGINES.0
                | FAKE_CONTEXTS << fields::VERIFY_SLOTS_CONTEXTS.0
                | FAKE_SHA512_CORES << fields::VERIFY_SLOTS_SHA512_CORES.0,
        );
        regs.insert(regs::MAX_LEAVES, max_leaves);
        regs.insert(regs::MAX_LEAF_BYTES, max_leaf_bytes);
        regs.insert(regs::MAX_MESSAGE_BYTES, 4096);
        FakeCard {
            regs,
            scratch_flip: 0,
            never_enables: false,
            shuffle: None,
            mangle: None,
            out: Vec::new(),
            requests: 0,
            seen: std::sync::Arc::default(),
            by_opcode: HashMap::new(),
            max_outstanding: 0,
            record: None,
        }
    }

    /// The same card without the verification engines (CAPS.VERIFY clear, no engines or
    /// contexts in VERIFY_SLOTS, its SHA-512 cores kept).
    pub fn without_verify(mut self) -> FakeCard {
        let caps = self.reg(regs::CAPS) & !(1 << fields::CAPS_VERIFY.0);
        self.regs.insert(regs::CAPS, caps);
        self.regs.insert(
            regs::VERIFY_SLOTS,
            FAKE_SHA512_CORES << fields::VERIFY_SLOTS_SHA512_CORES.0,
        );
        self
    }

    /// The same card answering in a random order chosen by `seed`.
    pub fn shuffled(mut self, seed: u64) -> FakeCard {
        self.shuffle = Some(ChaCha8Rng::seed_from_u64(seed));
        self
    }

    fn reg(&self, offset: u32) -> u32 {
        self.regs.get(&offset).copied().unwrap_or(0)
    }

    fn enabled(&self) -> bool {
        self.reg(regs::CONTROL) & 1 == 1 && !self.never_enables
    }

    /// The response (status, payload) to one request frame, as the card defines it.
    fn serve(&self, words: &[u64]) -> (u8, u8, u32, Vec<u64>) {
        let header = words[0];
        let op = (header & 0xff) as u8;
        let tag = (header >> 32) as u32;
        let fail = |st: u8| (op, st, tag, Vec::new());
        if !self.enabled() {
            return fail(status::DISABLED);
        }
        if header & 0xffff_ff00 != 0 {
            return fail(status::BAD_HEADER);
        }
        let Some(&count) = words.get(1) else {
            return fail(status::FRAME_SHORT);
        };
        let mut body = words[2..].iter().copied();
        let bytes_of = |body: &mut dyn Iterator<Item = u64>, len: usize| -> Option<Vec<u8>> {
            let mut b = Vec::new();
            for _ in 0..len.div_ceil(8) {
                b.extend_from_slice(&body.next()?.to_le_bytes());
            }
            b.truncate(len);
            Some(b)
        };
        let max_leaves = u64::from(self.reg(regs::MAX_LEAVES));
        let payload = match op {
            opcode::MERKLE_ROOT => {
                if count > max_leaves {
                    return fail(status::TOO_MANY);
                }
                let mut leaves = Leaves::default();
                for _ in 0..count {
                    let Some(len) = body.next() else {
                        return fail(status::FRAME_SHORT);
                    };
                    if len > u64::from(self.reg(regs::MAX_LEAF_BYTES)) {
                        return fail(status::TOO_LONG);
                    }
                    let Some(leaf) = bytes_of(&mut body, len as usize) else {
                        return fail(status::FRAME_SHORT);
                    };
                    leaves.push(&leaf).unwrap();
                }
                words_of(&merkle::root(&leaves))
            }
            opcode::MERKLE_NODES => {
                if count > max_leaves || count == 0 {
                    return fail(status::TOO_MANY);
                }
                let mut nodes = Vec::new();
                for _ in 0..count {
                    let Some(node) = bytes_of(&mut body, 32) else {
                        return fail(status::FRAME_SHORT);
                    };
                    nodes.push(<[u8; 32]>::try_from(node.as_slice()).unwrap());
                }
                words_of(&merkle::root_of_nodes(&nodes))
            }
            opcode::SHA512_K => {
                if count > u64::from(self.reg(regs::MAX_MESSAGE_BYTES)) {
                    return fail(status::TOO_LONG);
                }
                let Some(msg) = bytes_of(&mut body, count as usize) else {
                    return fail(status::FRAME_SHORT);
                };
                let digest: [u8; 64] = Sha512::digest(&msg).into();
                let k = curve25519_dalek::Scalar::from_bytes_mod_order_wide(&digest);
                let mut p = words_of(&digest);
                p.extend(words_of(&k.to_bytes()));
                p
            }
            opcode::VERIFY => {
                if self.reg(regs::CAPS) & 1 << fields::CAPS_VERIFY.0 == 0 {
                    return fail(status::BAD_OPCODE);
                }
                if count >> 40 != 0 {
                    return fail(status::BAD_HEADER);
                }
                let profile = match (count >> 32) & 0xff {
                    0 => Profile::Strict,
                    1 => Profile::Rfc8032,
                    2 => Profile::Zip215,
                    _ => return fail(status::BAD_PROFILE),
                };
                let len = count & 0xffff_ffff;
                let max = u64::from(self.reg(regs::MAX_MESSAGE_BYTES)).saturating_sub(64);
                if len > max {
                    return fail(status::TOO_LONG);
                }
                let (Some(s), Some(r), Some(a)) = (
                    bytes_of(&mut body, 32),
                    bytes_of(&mut body, 32),
                    bytes_of(&mut body, 32),
                ) else {
                    return fail(status::FRAME_SHORT);
                };
                let Some(msg) = bytes_of(&mut body, len as usize) else {
                    return fail(status::FRAME_SHORT);
                };
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&r);
                sig[32..].copy_from_slice(&s);
                let pubkey = <[u8; 32]>::try_from(a.as_slice()).unwrap();
                vec![u64::from(reference_verify(profile, &pubkey, &sig, &msg))]
            }
            _ => return fail(status::BAD_OPCODE),
        };
        if body.next().is_some() {
            return fail(status::FRAME_LONG);
        }
        (op, status::OK, tag, payload)
    }
}

fn words_of(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect()
}

pub fn frame_of(op: u8, st: u8, tag: u32, payload: &[u64]) -> Vec<u8> {
    let header =
        u64::from(op) | u64::from(st) << 8 | (payload.len() as u64) << 16 | u64::from(tag) << 32;
    std::iter::once(header)
        .chain(payload.iter().copied())
        .flat_map(u64::to_le_bytes)
        .collect()
}

impl Transport for FakeCard {
    fn read32(&mut self, offset: u32) -> Result<u32, TransportError> {
        Ok(match offset {
            regs::SCRATCH => self.reg(offset) ^ self.scratch_flip,
            regs::STATUS => u32::from(self.enabled()),
            regs::REQUESTS => self.requests as u32,
            regs::CYCLES_LO => 0xdead_0001,
            regs::CYCLES_HI => 0x0000_0007,
            _ => self.reg(offset),
        })
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError> {
        match offset {
            regs::SCRATCH | regs::CONTROL => {
                self.regs
                    .insert(offset, value & if offset == regs::CONTROL { 1 } else { !0 });
            }
            _ => {}
        }
        Ok(())
    }

    fn send_frame(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        assert!(
            !frame.is_empty() && frame.len().is_multiple_of(8),
            "frame of {} bytes",
            frame.len()
        );
        if let Some(r) = &mut self.record {
            r.push(frame.to_vec());
        }
        let words: Vec<u64> = words_of(frame);
        let (op, st, tag, payload) = self.serve(&words);
        *self.by_opcode.entry(op).or_default() += 1;
        let index = self.requests;
        self.requests += 1;
        self.seen.fetch_add(1, Ordering::SeqCst);
        let mangle = self.mangle.filter(|(i, _)| *i == index).map(|(_, m)| m);
        let response = match mangle {
            None => Some(frame_of(op, st, tag, &payload)),
            Some(Mangle::Status(s)) => Some(frame_of(op, s, tag, &[])),
            Some(Mangle::PartialWord) => {
                let mut f = frame_of(op, st, tag, &payload);
                f.truncate(f.len() - 3);
                Some(f)
            }
            Some(Mangle::WordCount) => {
                let mut f = frame_of(op, st, tag, &payload);
                f[2] += 1;
                Some(f)
            }
            Some(Mangle::UnknownTag) => Some(frame_of(op, st, tag ^ 0x8000_0000, &payload)),
            Some(Mangle::Duplicate) => {
                self.out.push(frame_of(op, st, tag, &payload));
                Some(frame_of(op, st, tag, &payload))
            }
            Some(Mangle::Opcode) => Some(frame_of(op ^ 3, st, tag, &payload)),
            Some(Mangle::ShortPayload) => {
                Some(frame_of(op, st, tag, &payload[..payload.len() - 1]))
            }
            Some(Mangle::Swallow) => None,
            Some(Mangle::FlipBit) => {
                let mut p = payload.clone();
                p[0] ^= 1;
                Some(frame_of(op, st, tag, &p))
            }
            Some(Mangle::OrBits(bits)) => {
                let mut p = payload.clone();
                p[0] |= bits;
                Some(frame_of(op, st, tag, &p))
            }
        };
        self.out.extend(response);
        self.max_outstanding = self.max_outstanding.max(self.out.len());
        Ok(())
    }

    fn recv_frame(&mut self, _timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        if self.out.is_empty() {
            return Ok(None);
        }
        let i = match &mut self.shuffle {
            Some(rng) => rng.gen_range(0..self.out.len()),
            None => 0,
        };
        Ok(Some(self.out.remove(i)))
    }

    fn describe(&self) -> String {
        "fake card".into()
    }
}
