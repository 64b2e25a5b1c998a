//! One card: identity check, tagged pipelining, and trees of any size.
//!
//! # Opening
//!
//! [`Card::open`] trusts nothing it has not read back: the ID register must hold
//! [`MAGIC`] (anything else is not a Vigil card, or no bitstream is loaded), the
//! register-map major version must be this driver's and the minor at least its own, and
//! a few patterns written to SCRATCH must read back (a bus that drops or sticks bits
//! fails here, not in the middle of work). It then reads the build hash, the engines
//! present and the limits into [`CardInfo`], optionally insists on an expected build
//! hash, discards any response a previous user left in the card's output, and sets
//! CONTROL.ENABLE (the card answers every request DISABLED until then).
//!
//! # Pipelining
//!
//! Every request carries a 32-bit tag that its response echoes. Up to
//! [`CardOptions::window`] requests are outstanding at once, so the card's engines and
//! the link are busy together; responses are matched by tag, since different engines
//! finish in different orders. A response whose tag is not outstanding is an error:
//! never issued ([`CardError::UnknownTag`]) or already answered
//! ([`CardError::DuplicateTag`]). When one request of a batch fails with a status, no
//! further request is sent, the outstanding ones are still collected (so no stale
//! response is left to confuse the next call), and the first error is returned.
//!
//! # Signatures
//!
//! [`Card::verify`] (and [`Card::verify_batch`]) sends one VERIFY request per signature
//! and returns one verdict per signature, in order, through the same tagged pipeline.
//! The card verifies `engines × contexts` signatures at once (VERIFY_SLOTS), and only
//! signatures in flight keep its engines busy, so the window for VERIFY is the larger of
//! [`CardOptions::window`] and that product: a card with more contexts than the
//! configured window is still filled. Not more than that: further requests would only
//! queue in the card's input stream, adding nothing to its throughput and lengthening
//! the drain of outstanding responses after an error. (A context frees when its response
//! leaves the card, so with exactly `engines × contexts` outstanding a context can sit
//! idle for one response-and-request round trip; configure a larger
//! [`CardOptions::window`] to cover that latency.)
//!
//! A message longer than the card takes (MAX_MESSAGE_BYTES − 64, since the card hashes
//! R and A before it) is refused before anything is sent, as
//! [`CardError::SignatureMessageTooLong`]: work the card cannot take, not a card fault,
//! so the backend can pass the batch to another backend. Profiles travel as their codes
//! ([`protocol::profile_code`]).
//!
//! # Trees larger than one request
//!
//! A MERKLE_ROOT request holds at most `M = MAX_LEAVES` leaves, a power of two. Larger
//! trees are cut into consecutive groups of `M` leaves (the last one possibly shorter),
//! each group's root is computed by its own request (pipelined), and one MERKLE_NODES
//! request hashes the group roots as if they were the leaves' hashes (recursively,
//! again in groups of `M`, when there are more than `M` groups).
//!
//! This is exactly the vigil-merkle-v1 tree, not an approximation. The tree splits
//! `D[0:n]` at `k`, the largest power of two below `n`. If `n > M` then `k >= M`, so `k`
//! is a multiple of `M`: the split falls on a group boundary. Both halves again start on
//! a group boundary and end on one or at `n`, so by induction every subtree of more than
//! `M` leaves splits on group boundaries, and every subtree of at most `M` leaves that
//! the recursion reaches is exactly one group (it starts on a boundary and cannot end
//! before the next one unless it ends at `n`). The groups are therefore subtrees, and
//! above them the tree's splits in units of groups are those of the tree over
//! `g = ceil(n / M)` nodes: with `k = 2^j < n <= 2^(j+1)` and `2^j >= M`,
//! `2^j / M < g <= 2^(j+1) / M`, so `k / M` is the largest power of two below `g`. The
//! same argument applies at every level of the recursion over nodes.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use vigil_core::{Batch, Leaves, Profile};

use crate::protocol::{self, ProtocolError};
use crate::regs::{fields, opcode, regs, MAGIC, VERSION_MAJOR, VERSION_MINOR};
use crate::transport::{Transport, TransportError};

/// Patterns the bus check writes to SCRATCH and reads back: alternating bits both
/// ways, all ones and a walking pattern.
const SCRATCH_PATTERNS: [u32; 4] = [0xa5a5_5a5a, 0x5a5a_a5a5, 0xffff_ffff, 0x0123_4567];

/// Responses discarded at most when opening (what an earlier user left behind).
const MAX_STALE: usize = 4096;

/// Why a card operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The card sent a malformed response.
    #[error("malformed response: {0}")]
    Protocol(#[from] ProtocolError),
    /// The ID register does not hold the magic.
    #[error(
        "ID register reads {id:#010x}, not the Vigil card magic {MAGIC:#010x}: not a Vigil card, \
         or its bitstream is not loaded"
    )]
    NotACard {
        /// What was read.
        id: u32,
    },
    /// The register map version is one this driver cannot drive.
    #[error(
        "card register map version {major}.{minor}; this driver needs {VERSION_MAJOR}.x with x >= \
         {VERSION_MINOR}"
    )]
    Version {
        /// The card's major version.
        major: u16,
        /// The card's minor version.
        minor: u16,
    },
    /// SCRATCH did not read back what was written.
    #[error("bus check failed: wrote {wrote:#010x} to SCRATCH, read back {read:#010x}")]
    BusCheck {
        /// Written.
        wrote: u32,
        /// Read back.
        read: u32,
    },
    /// The card runs another build than the one required.
    #[error("card build hash is {found:016x}, expected {expected:016x}")]
    BuildHash {
        /// Required.
        expected: u64,
        /// Found.
        found: u64,
    },
    /// The card reports limits the driver cannot work with.
    #[error("card reports unusable limits: {0}")]
    Limits(String),
    /// CONTROL.ENABLE was set but STATUS.ENABLED stayed clear.
    #[error("the card did not enable (STATUS reads {status:#010x})")]
    NotEnabled {
        /// STATUS as read.
        status: u32,
    },
    /// The card answered a request with an error status.
    #[error("card answered status {code} ({name})")]
    Status {
        /// The status code.
        code: u8,
        /// Its name (`UNKNOWN` for a code the register map does not define).
        name: &'static str,
    },
    /// No response came in time.
    #[error("no response within {waited:?} ({outstanding} requests outstanding)")]
    Timeout {
        /// How long was waited.
        waited: Duration,
        /// Requests still unanswered.
        outstanding: usize,
    },
    /// A response carried a tag that was never issued.
    #[error("response with unknown tag {0:#x}")]
    UnknownTag(u32),
    /// A second response for an already answered tag.
    #[error("second response for tag {0:#x}")]
    DuplicateTag(u32),
    /// A response's opcode is not its request's.
    #[error("response for tag {tag:#x} has opcode {got}, its request had {sent}")]
    OpcodeMismatch {
        /// The tag.
        tag: u32,
        /// The request's opcode.
        sent: u8,
        /// The response's.
        got: u8,
    },
    /// This card build lacks an engine.
    #[error("this card build has no {0} engine")]
    MissingEngine(&'static str),
    /// A leaf is longer than the card takes (the work belongs on another backend).
    #[error("leaf {index} has {len} bytes; the card takes at most {max}")]
    LeafTooLong {
        /// Leaf index.
        index: usize,
        /// Its length.
        len: usize,
        /// The card's limit.
        max: u32,
    },
    /// A message is longer than the card takes.
    #[error("message of {len} bytes; the card takes at most {max}")]
    MessageTooLong {
        /// Its length.
        len: usize,
        /// The card's limit.
        max: u32,
    },
    /// A signed message is longer than the card's VERIFY requests take (the work belongs
    /// on another backend).
    #[error(
        "signature {index} signs a message of {len} bytes; the card verifies messages of at \
         most {max}"
    )]
    SignatureMessageTooLong {
        /// Signature index.
        index: usize,
        /// The message's length.
        len: usize,
        /// The card's limit (MAX_MESSAGE_BYTES − 64).
        max: u32,
    },
}

impl CardError {
    /// Whether the card (or its link) misbehaved, as opposed to work it cannot take.
    /// After a device failure the card's state is unknown and it should not be trusted.
    pub fn is_device_failure(&self) -> bool {
        !matches!(
            self,
            CardError::MissingEngine(_)
                | CardError::LeafTooLong { .. }
                | CardError::MessageTooLong { .. }
                | CardError::SignatureMessageTooLong { .. }
        )
    }
}

/// How to open a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardOptions {
    /// Refuse a card whose build hash differs.
    pub expected_build_hash: Option<u64>,
    /// Most requests outstanding at once (at least 1).
    pub window: usize,
    /// Longest wait for the next response while requests are outstanding.
    pub response_timeout: Duration,
}

impl Default for CardOptions {
    fn default() -> Self {
        CardOptions {
            expected_build_hash: None,
            window: 32,
            response_timeout: Duration::from_secs(30),
        }
    }
}

/// What the card reported when it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardInfo {
    /// Register map major version.
    pub version_major: u16,
    /// Register map minor version.
    pub version_minor: u16,
    /// Source hash of the bitstream (or simulated card).
    pub build_hash: u64,
    /// CAPS: the engines present.
    pub caps: u32,
    /// Most leaves or nodes in one Merkle request (a power of two).
    pub max_leaves: u32,
    /// Longest leaf in bytes.
    pub max_leaf_bytes: u32,
    /// Longest SHA512_K message in bytes (a VERIFY message may be 64 bytes shorter).
    pub max_message_bytes: u32,
    /// VERIFY_SLOTS.ENGINES: Ed25519 verification engines (0 without CAPS.VERIFY).
    pub verify_engines: u8,
    /// VERIFY_SLOTS.CONTEXTS: signatures each engine holds at once.
    pub verify_contexts: u8,
    /// VERIFY_SLOTS.SHA512_CORES: SHA-512 cores (SHA512_K, and the k of each VERIFY).
    pub sha512_cores: u8,
}

fn bit(value: u32, (lsb, width): (u32, u32)) -> bool {
    width > 0 && (value >> lsb) & 1 == 1
}

/// An 8-bit register field.
fn field8(value: u32, (lsb, width): (u32, u32)) -> u8 {
    let mask = 1u32.checked_shl(width).map_or(u32::MAX, |m| m - 1);
    u8::try_from(value.checked_shr(lsb).unwrap_or(0) & mask).unwrap_or(u8::MAX)
}

impl CardInfo {
    /// MERKLE_ROOT and MERKLE_NODES are served.
    pub fn has_merkle(&self) -> bool {
        bit(self.caps, fields::CAPS_MERKLE)
    }

    /// SHA512_K is served.
    pub fn has_sha512(&self) -> bool {
        bit(self.caps, fields::CAPS_SHA512)
    }

    /// VERIFY (Ed25519 verification) is served.
    pub fn has_verify(&self) -> bool {
        bit(self.caps, fields::CAPS_VERIFY)
    }

    /// Signatures the card verifies at once: engines × contexts.
    pub fn verify_slots(&self) -> usize {
        usize::from(self.verify_engines) * usize::from(self.verify_contexts)
    }

    /// Longest message of a VERIFY request in bytes: MAX_MESSAGE_BYTES − 64, since the
    /// card hashes R and A in front of it.
    pub fn max_verify_message_bytes(&self) -> u32 {
        self.max_message_bytes.saturating_sub(64)
    }
}

impl fmt::Display for CardInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut engines = Vec::new();
        if self.has_merkle() {
            engines.push("merkle");
        }
        if self.has_sha512() {
            engines.push("sha512");
        }
        if self.has_verify() {
            engines.push("verify");
        }
        write!(
            f,
            "Vigil card, register map {}.{}, build {:016x}, engines {}, up to {} leaves of {} bytes, \
             messages up to {} bytes",
            self.version_major,
            self.version_minor,
            self.build_hash,
            if engines.is_empty() {
                "none".to_owned()
            } else {
                engines.join("+")
            },
            self.max_leaves,
            self.max_leaf_bytes,
            self.max_message_bytes
        )?;
        if self.has_verify() {
            write!(
                f,
                ", {} verify engines x {} contexts",
                self.verify_engines, self.verify_contexts
            )?;
        }
        if self.has_sha512() {
            write!(f, ", {} SHA-512 cores", self.sha512_cores)?;
        }
        Ok(())
    }
}

/// The card's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests received (wrapping).
    pub requests: u32,
    /// Responses sent (wrapping).
    pub responses: u32,
    /// Error responses sent (wrapping).
    pub errors: u32,
    /// Clock cycles since reset or clear.
    pub cycles: u64,
    /// Cycles the Merkle engine held a request.
    pub merkle_busy_cycles: u64,
    /// Cycles the SHA-512 engine held a request.
    pub sha512_busy_cycles: u64,
    /// BLAKE3 compressions issued.
    pub compressions: u64,
    /// Cycles a request word waited for the card.
    pub req_stall_cycles: u64,
    /// Cycles a response word waited for the host.
    pub resp_stall_cycles: u64,
    /// Cycles at least one verification engine held a signature.
    pub verify_busy_cycles: u64,
    /// Field operations the verification engines issued.
    pub field_ops: u64,
}

/// One signature to verify, as received: the key A, the signature R || S, the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyItem<'a> {
    /// The Ed25519 public key A.
    pub pubkey: &'a [u8; 32],
    /// The signature R || S.
    pub signature: &'a [u8; 64],
    /// The signed message.
    pub message: &'a [u8],
}

/// An opened card.
pub struct Card<T: Transport> {
    transport: T,
    info: CardInfo,
    opts: CardOptions,
    next_tag: u32,
}

impl<T: Transport> fmt::Debug for Card<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("transport", &self.transport.describe())
            .field("info", &self.info)
            .finish()
    }
}

impl<T: Transport> Card<T> {
    /// Opens the card with the default options. See the module docs for the checks.
    pub fn open(transport: T) -> Result<Card<T>, CardError> {
        Self::open_with(transport, &CardOptions::default())
    }

    /// Opens the card: identity check, limits, stale output drained, enabled.
    pub fn open_with(mut transport: T, opts: &CardOptions) -> Result<Card<T>, CardError> {
        let id = transport.read32(regs::ID)?;
        if id != MAGIC {
            return Err(CardError::NotACard { id });
        }
        let version = transport.read32(regs::VERSION)?;
        let major = u16::try_from(version >> 16).unwrap_or(u16::MAX);
        let minor = u16::try_from(version & 0xffff).unwrap_or(u16::MAX);
        if major != VERSION_MAJOR || minor.checked_sub(VERSION_MINOR).is_none() {
            return Err(CardError::Version { major, minor });
        }
        for wrote in SCRATCH_PATTERNS {
            transport.write32(regs::SCRATCH, wrote)?;
            let read = transport.read32(regs::SCRATCH)?;
            if read != wrote {
                return Err(CardError::BusCheck { wrote, read });
            }
        }
        let build_hash = u64::from(transport.read32(regs::BUILD_HASH_HI)?) << 32
            | u64::from(transport.read32(regs::BUILD_HASH_LO)?);
        if let Some(expected) = opts.expected_build_hash {
            if expected != build_hash {
                return Err(CardError::BuildHash {
                    expected,
                    found: build_hash,
                });
            }
        }
        let verify_slots = transport.read32(regs::VERIFY_SLOTS)?;
        let info = CardInfo {
            version_major: major,
            version_minor: minor,
            build_hash,
            caps: transport.read32(regs::CAPS)?,
            max_leaves: transport.read32(regs::MAX_LEAVES)?,
            max_leaf_bytes: transport.read32(regs::MAX_LEAF_BYTES)?,
            max_message_bytes: transport.read32(regs::MAX_MESSAGE_BYTES)?,
            verify_engines: field8(verify_slots, fields::VERIFY_SLOTS_ENGINES),
            verify_contexts: field8(verify_slots, fields::VERIFY_SLOTS_CONTEXTS),
            sha512_cores: field8(verify_slots, fields::VERIFY_SLOTS_SHA512_CORES),
        };
        if info.has_merkle() && (info.max_leaves < 2 || !info.max_leaves.is_power_of_two()) {
            return Err(CardError::Limits(format!(
                "MAX_LEAVES is {}, not a power of two of at least 2",
                info.max_leaves
            )));
        }
        if info.has_sha512() && info.sha512_cores == 0 {
            return Err(CardError::Limits(format!(
                "CAPS.SHA512 is set but VERIFY_SLOTS reads {verify_slots:#x} (no SHA-512 cores)"
            )));
        }
        if info.has_verify() && info.verify_slots() == 0 {
            return Err(CardError::Limits(format!(
                "CAPS.VERIFY is set but VERIFY_SLOTS reads {verify_slots:#x} (no engines or no \
                 contexts)"
            )));
        }
        let mut stale = 0;
        while stale < MAX_STALE && transport.recv_frame(Duration::ZERO)?.is_some() {
            stale += 1;
        }
        if stale > 0 {
            tracing::warn!(card = %transport.describe(), stale, "discarded responses left by an earlier user");
        }
        transport.write32(regs::CONTROL, 1 << fields::CONTROL_ENABLE.0)?;
        let st = transport.read32(regs::STATUS)?;
        if !bit(st, fields::STATUS_ENABLED) {
            return Err(CardError::NotEnabled { status: st });
        }
        tracing::info!(card = %transport.describe(), %info, "card opened");
        Ok(Card {
            transport,
            info,
            opts: CardOptions {
                window: opts.window.max(1),
                ..opts.clone()
            },
            next_tag: 1,
        })
    }

    /// What the card reported at open.
    pub fn info(&self) -> &CardInfo {
        &self.info
    }

    /// The card in words.
    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    /// The transport (tests reach their fake card through it).
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Reads the counters; each 64-bit one low half first (that latches the high half).
    pub fn counters(&mut self) -> Result<Counters, CardError> {
        let t = &mut self.transport;
        let mut wide = |lo: u32, hi: u32| -> Result<u64, TransportError> {
            let low = t.read32(lo)?;
            let high = t.read32(hi)?;
            Ok(u64::from(high) << 32 | u64::from(low))
        };
        let cycles = wide(regs::CYCLES_LO, regs::CYCLES_HI)?;
        let merkle_busy_cycles = wide(regs::MERKLE_BUSY_CYCLES_LO, regs::MERKLE_BUSY_CYCLES_HI)?;
        let sha512_busy_cycles = wide(regs::SHA512_BUSY_CYCLES_LO, regs::SHA512_BUSY_CYCLES_HI)?;
        let compressions = wide(regs::COMPRESSIONS_LO, regs::COMPRESSIONS_HI)?;
        let req_stall_cycles = wide(regs::REQ_STALL_CYCLES_LO, regs::REQ_STALL_CYCLES_HI)?;
        let resp_stall_cycles = wide(regs::RESP_STALL_CYCLES_LO, regs::RESP_STALL_CYCLES_HI)?;
        let verify_busy_cycles = wide(regs::VERIFY_BUSY_CYCLES_LO, regs::VERIFY_BUSY_CYCLES_HI)?;
        let field_ops = wide(regs::FIELD_OPS_LO, regs::FIELD_OPS_HI)?;
        Ok(Counters {
            requests: self.transport.read32(regs::REQUESTS)?,
            responses: self.transport.read32(regs::RESPONSES)?,
            errors: self.transport.read32(regs::ERRORS)?,
            cycles,
            merkle_busy_cycles,
            sha512_busy_cycles,
            compressions,
            req_stall_cycles,
            resp_stall_cycles,
            verify_busy_cycles,
            field_ops,
        })
    }

    /// Zeroes the counters (the card stays enabled).
    pub fn clear_counters(&mut self) -> Result<(), CardError> {
        let value = 1 << fields::CONTROL_ENABLE.0 | 1 << fields::CONTROL_CLEAR_COUNTERS.0;
        Ok(self.transport.write32(regs::CONTROL, value)?)
    }

    /// The vigil-merkle-v1 root of `leaves`, split into subtrees of MAX_LEAVES leaves when
    /// larger (see the module docs).
    pub fn merkle_root(&mut self, leaves: &Leaves) -> Result<[u8; 32], CardError> {
        if !self.info.has_merkle() {
            return Err(CardError::MissingEngine("Merkle"));
        }
        let max = self.info.max_leaf_bytes;
        if let Some((index, leaf)) = leaves
            .iter()
            .enumerate()
            .find(|(_, l)| l.len() > max as usize)
        {
            return Err(CardError::LeafTooLong {
                index,
                len: leaf.len(),
                max,
            });
        }
        let m = self.info.max_leaves as usize;
        let groups = leaves.len().div_ceil(m).max(1);
        let op = opcode::MERKLE_ROOT;
        let window = self.opts.window;
        let roots = self.pipeline(groups, op, window, |g, tag, frame| {
            *frame = protocol::merkle_root(tag, leaves, g * m, m);
        })?;
        let roots = roots
            .iter()
            .map(|p| protocol::payload_root(op, p))
            .collect::<Result<Vec<_>, _>>()?;
        match roots.as_slice() {
            [root] => Ok(*root),
            _ => self.merkle_nodes(&roots),
        }
    }

    /// The root of the tree whose level-0 hashes are `nodes` (subtree roots), in groups
    /// of MAX_LEAVES when there are more. `nodes` must not be empty.
    pub fn merkle_nodes(&mut self, nodes: &[[u8; 32]]) -> Result<[u8; 32], CardError> {
        if !self.info.has_merkle() {
            return Err(CardError::MissingEngine("Merkle"));
        }
        let m = self.info.max_leaves as usize;
        let op = opcode::MERKLE_NODES;
        let mut level = nodes.to_vec();
        loop {
            let chunks: Vec<&[[u8; 32]]> = level.chunks(m).collect();
            let window = self.opts.window;
            let roots = self.pipeline(chunks.len().max(1), op, window, |g, tag, frame| {
                *frame = protocol::merkle_nodes(tag, chunks.get(g).copied().unwrap_or(&[]));
            })?;
            let roots = roots
                .iter()
                .map(|p| protocol::payload_root(op, p))
                .collect::<Result<Vec<_>, _>>()?;
            if let [root] = roots.as_slice() {
                return Ok(*root);
            }
            level = roots;
        }
    }

    /// SHA-512 of `message`, and that digest reduced mod L (little-endian).
    pub fn sha512_k(&mut self, message: &[u8]) -> Result<([u8; 64], [u8; 32]), CardError> {
        if !self.info.has_sha512() {
            return Err(CardError::MissingEngine("SHA-512"));
        }
        if message.len() > self.info.max_message_bytes as usize {
            return Err(CardError::MessageTooLong {
                len: message.len(),
                max: self.info.max_message_bytes,
            });
        }
        let payloads = self.pipeline(1, opcode::SHA512_K, 1, |_, tag, frame| {
            *frame = protocol::sha512_k(tag, message);
        })?;
        let payload = payloads.first().map(Vec::as_slice).unwrap_or(&[]);
        Ok(protocol::payload_sha512_k(payload)?)
    }

    /// The Ed25519 verdict of every signature `items` describes, in order, under
    /// `profile`: one VERIFY request each, pipelined (see the module docs).
    pub fn verify(
        &mut self,
        profile: Profile,
        items: &[VerifyItem<'_>],
    ) -> Result<Vec<bool>, CardError> {
        self.verify_with(profile, items.len(), |i| {
            let it = items[i];
            (it.pubkey, it.signature, it.message)
        })
    }

    /// The verdict of every signature of `batch` under `profile`, in batch signer order
    /// (transaction verdicts are the caller's to derive: `Verdicts::from_signatures`).
    pub fn verify_batch(
        &mut self,
        batch: &Batch,
        profile: Profile,
    ) -> Result<Vec<bool>, CardError> {
        self.verify_with(profile, batch.signature_count(), |s| batch.signer_item(s))
    }

    /// The window VERIFY runs with: the configured one, or the card's engines × contexts
    /// when that is more (so every context can hold a signature).
    pub fn verify_window(&self) -> usize {
        self.opts.window.max(self.info.verify_slots())
    }

    /// [`Card::verify`] over the `count` signatures `item(0..count)` gives.
    fn verify_with<'a>(
        &mut self,
        profile: Profile,
        count: usize,
        item: impl Fn(usize) -> (&'a [u8; 32], &'a [u8; 64], &'a [u8]),
    ) -> Result<Vec<bool>, CardError> {
        if !self.info.has_verify() {
            return Err(CardError::MissingEngine("Ed25519 verification"));
        }
        let max = self.info.max_verify_message_bytes();
        for index in 0..count {
            let len = item(index).2.len();
            if len > max as usize {
                return Err(CardError::SignatureMessageTooLong { index, len, max });
            }
        }
        if count == 0 {
            return Ok(Vec::new());
        }
        let code = protocol::profile_code(profile);
        let window = self.verify_window();
        let payloads = self.pipeline(count, opcode::VERIFY, window, |i, tag, frame| {
            let (pubkey, signature, message) = item(i);
            protocol::verify_into(frame, tag, code, pubkey, signature, message);
        })?;
        Ok(payloads
            .iter()
            .map(|p| protocol::payload_verify(p))
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Runs `count` requests of opcode `op` (`make(i, tag, frame)` puts request `i` in
    /// `frame`, one buffer reused for every request) with up to `window` outstanding, and
    /// returns their OK payloads in request order.
    fn pipeline(
        &mut self,
        count: usize,
        op: u8,
        window: usize,
        mut make: impl FnMut(usize, u32, &mut Vec<u8>),
    ) -> Result<Vec<Vec<u64>>, CardError> {
        let window = window.max(1);
        let first_tag = self.next_tag;
        let mut results: Vec<Option<Vec<u64>>> = vec![None; count];
        let mut outstanding: HashMap<u32, usize> = HashMap::new();
        let mut sent = 0usize;
        let mut failure: Option<CardError> = None;
        let mut frame = Vec::new();
        loop {
            while failure.is_none() && sent < count && outstanding.len() < window {
                let tag = self.next_tag;
                self.next_tag = self.next_tag.wrapping_add(1);
                make(sent, tag, &mut frame);
                self.transport.send_frame(&frame)?;
                outstanding.insert(tag, sent);
                sent += 1;
            }
            if outstanding.is_empty() {
                break;
            }
            let frame = self
                .transport
                .recv_frame(self.opts.response_timeout)?
                .ok_or(CardError::Timeout {
                    waited: self.opts.response_timeout,
                    outstanding: outstanding.len(),
                })?;
            let response = protocol::decode(&frame)?;
            let tag = response.tag;
            let Some(index) = outstanding.remove(&tag) else {
                // Tags of this call run from first_tag to first_tag + sent - 1.
                let issued = (tag.wrapping_sub(first_tag) as usize) < sent;
                return Err(if issued {
                    CardError::DuplicateTag(tag)
                } else {
                    CardError::UnknownTag(tag)
                });
            };
            if response.opcode != op {
                return Err(CardError::OpcodeMismatch {
                    tag,
                    sent: op,
                    got: response.opcode,
                });
            }
            match response.into_result() {
                Ok(payload) => {
                    if let Some(slot) = results.get_mut(index) {
                        *slot = Some(payload);
                    }
                }
                Err(e) => {
                    tracing::warn!(card = %self.transport.describe(), tag, error = %e, "request failed");
                    failure.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        // Every request was answered OK, so every slot is filled.
        Ok(results.into_iter().map(Option::unwrap_or_default).collect())
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::fake::{FakeCard, Mangle};
    use crate::regs::status;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use sha2::{Digest, Sha512};
    use vigil_core::{merkle, synth, Verdicts};

    fn open(fake: FakeCard) -> Card<FakeCard> {
        Card::open(fake).unwrap()
    }

    fn random_leaves(rng: &mut ChaCha8Rng, n: usize, max_len: usize) -> Leaves {
        (0..n)
            .map(|_| {
                let len = rng.gen_range(0..=max_len);
                (0..len).map(|_| rng.gen()).collect::<Vec<u8>>()
            })
            .collect()
    }

    #[test]
    fn open_reads_identity_limits_and_enables() {
        let mut card = open(FakeCard::new(64, 1500));
        let info = *card.info();
        assert_eq!(info.build_hash, 0x5566_7788_1122_3344);
        assert_eq!(
            (info.version_major, info.version_minor),
            (VERSION_MAJOR, VERSION_MINOR)
        );
        assert_eq!(
            (info.max_leaves, info.max_leaf_bytes, info.max_message_bytes),
            (64, 1500, 4096)
        );
        assert!(info.has_merkle() && info.has_sha512());
        assert!(
            info.to_string().contains("build 5566778811223344"),
            "{info}"
        );
        assert_eq!(card.transport().regs[&regs::CONTROL], 1);
        let c = card.counters().unwrap();
        assert_eq!(c.cycles, 0x7_dead_0001);
        // A pinned build hash that matches is accepted.
        let opts = CardOptions {
            expected_build_hash: Some(0x5566_7788_1122_3344),
            ..CardOptions::default()
        };
        Card::open_with(FakeCard::new(64, 1500), &opts).unwrap();
    }

    #[test]
    fn identity_check_failures_are_typed_and_say_what_was_read() {
        let mut fake = FakeCard::new(64, 1500);
        fake.regs.insert(regs::ID, 0xffff_ffff);
        let err = Card::open(fake).unwrap_err();
        assert!(matches!(err, CardError::NotACard { id: 0xffff_ffff }));
        assert!(err.to_string().contains("0xffffffff"), "{err}");

        for (version, ok) in [
            (2 << 16, false),
            (0, false),
            (1 << 16 | 7, true),
            ((u32::from(VERSION_MAJOR) + 1) << 16, false),
        ] {
            let mut fake = FakeCard::new(64, 1500);
            fake.regs.insert(regs::VERSION, version);
            let r = Card::open(fake);
            assert_eq!(r.is_ok(), ok, "version {version:#x}");
            if let Err(e) = r {
                assert!(matches!(e, CardError::Version { .. }), "{e}");
            }
        }

        let mut fake = FakeCard::new(64, 1500);
        fake.scratch_flip = 1 << 20;
        let err = Card::open(fake).unwrap_err();
        assert!(
            matches!(
                err,
                CardError::BusCheck {
                    wrote: 0xa5a5_5a5a,
                    read: 0xa5b5_5a5a
                }
            ),
            "{err}"
        );

        let opts = CardOptions {
            expected_build_hash: Some(42),
            ..CardOptions::default()
        };
        let err = Card::open_with(FakeCard::new(64, 1500), &opts).unwrap_err();
        assert!(matches!(
            err,
            CardError::BuildHash {
                expected: 42,
                found: 0x5566_7788_1122_3344
            }
        ));

        for bad in [0, 1, 12] {
            let err = Card::open(FakeCard::new(bad, 1500)).unwrap_err();
            assert!(matches!(err, CardError::Limits(_)), "{bad}: {err}");
        }

        let mut fake = FakeCard::new(64, 1500);
        fake.never_enables = true;
        assert!(matches!(
            Card::open(fake),
            Err(CardError::NotEnabled { .. })
        ));
    }

    #[test]
    fn open_discards_stale_responses() {
        let mut fake = FakeCard::new(64, 1500);
        fake.out.push(crate::fake::frame_of(1, 0, 99, &[0; 4]));
        let mut card = open(fake);
        let leaves: Leaves = [b"a"].into_iter().collect();
        assert_eq!(card.merkle_root(&leaves).unwrap(), merkle::root(&leaves));
    }

    #[test]
    fn merkle_roots_match_the_cpu() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for shuffle in [false, true] {
            let fake = FakeCard::new(1024, 1500);
            let fake = if shuffle { fake.shuffled(7) } else { fake };
            let mut card = open(fake);
            for n in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 1000] {
                let leaves = random_leaves(&mut rng, n, 1500);
                assert_eq!(
                    card.merkle_root(&leaves).unwrap(),
                    merkle::root(&leaves),
                    "n = {n}"
                );
            }
            // One request per tree: all of them fit.
            assert_eq!(card.transport().by_opcode[&opcode::MERKLE_ROOT], 10);
        }
    }

    #[test]
    fn large_trees_split_into_subtrees_and_still_match() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for n in (0..=100usize).chain([511, 512, 513, 4097]) {
            let mut card = open(FakeCard::new(8, 64).shuffled(n as u64));
            let leaves = random_leaves(&mut rng, n, 64);
            assert_eq!(
                card.merkle_root(&leaves).unwrap(),
                merkle::root(&leaves),
                "n = {n}"
            );
            let groups = n.div_ceil(8).max(1);
            let fake = card.transport();
            assert_eq!(fake.by_opcode[&opcode::MERKLE_ROOT], groups, "n = {n}");
            // Node requests: one per group of 8 at each level above the leaves.
            let mut nodes_requests = 0;
            let mut level = groups;
            while level > 1 {
                level = level.div_ceil(8);
                nodes_requests += level;
            }
            assert_eq!(
                fake.by_opcode
                    .get(&opcode::MERKLE_NODES)
                    .copied()
                    .unwrap_or(0),
                nodes_requests,
                "n = {n}"
            );
            // Never more than the window in flight.
            assert!(fake.max_outstanding <= CardOptions::default().window);
        }
    }

    #[test]
    fn the_window_bounds_requests_in_flight() {
        let opts = CardOptions {
            window: 3,
            ..CardOptions::default()
        };
        let mut card = Card::open_with(FakeCard::new(8, 64).shuffled(1), &opts).unwrap();
        let leaves: Leaves = (0..200).map(|i: u32| i.to_le_bytes()).collect();
        assert_eq!(card.merkle_root(&leaves).unwrap(), merkle::root(&leaves));
        assert_eq!(card.transport().max_outstanding, 3);
    }

    #[test]
    fn merkle_nodes_matches_the_tree_over_given_hashes() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut card = open(FakeCard::new(4, 64).shuffled(4));
        for n in 1..40 {
            let nodes: Vec<[u8; 32]> = (0..n).map(|_| rng.gen()).collect();
            assert_eq!(
                card.merkle_nodes(&nodes).unwrap(),
                merkle::root_of_nodes(&nodes),
                "n = {n}"
            );
        }
    }

    #[test]
    fn sha512_k_matches_sha2_and_dalek() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut card = open(FakeCard::new(8, 64));
        for len in [0usize, 1, 7, 8, 9, 111, 112, 128, 1000, 4096] {
            let msg: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let (digest, k) = card.sha512_k(&msg).unwrap();
            let want: [u8; 64] = Sha512::digest(&msg).into();
            assert_eq!(digest, want, "len {len}");
            assert_eq!(
                k,
                curve25519_dalek::Scalar::from_bytes_mod_order_wide(&want).to_bytes()
            );
        }
        assert!(matches!(
            card.sha512_k(&[0; 4097]),
            Err(CardError::MessageTooLong {
                len: 4097,
                max: 4096
            })
        ));
    }

    #[test]
    fn requests_the_card_cannot_take_are_refused_before_sending() {
        let mut fake = FakeCard::new(8, 64);
        fake.regs.insert(regs::CAPS, 0);
        let mut card = open(fake);
        let leaves: Leaves = [b"a"].into_iter().collect();
        assert!(matches!(
            card.merkle_root(&leaves),
            Err(CardError::MissingEngine(_))
        ));
        assert!(matches!(
            card.sha512_k(b"a"),
            Err(CardError::MissingEngine(_))
        ));

        let mut card = open(FakeCard::new(8, 64));
        let leaves: Leaves = [vec![0u8; 64], vec![1u8; 65]].into_iter().collect();
        let err = card.merkle_root(&leaves).unwrap_err();
        assert!(matches!(
            err,
            CardError::LeafTooLong {
                index: 1,
                len: 65,
                max: 64
            }
        ));
        assert!(!err.is_device_failure());
        assert_eq!(card.transport().requests, 0);
    }

    fn synth_batch(profile: Profile, format: synth::Format, signers: usize, seed: u64) -> Batch {
        synth::batch(&synth::SynthSpec {
            count: 60,
            profile,
            invalid_fraction: 0.4,
            msg_len: 0..=200,
            signers,
            format,
            seed,
        })
        .unwrap()
    }

    #[test]
    fn verdicts_match_the_reference_under_every_profile() {
        let mut seed = 0;
        for format in [synth::Format::Jsonl, synth::Format::Solana] {
            for made_for in Profile::ALL {
                for signers in [1, 3] {
                    seed += 1;
                    let batch = synth_batch(made_for, format, signers, seed);
                    let mut card = open(FakeCard::new(8, 64).shuffled(seed));
                    for profile in Profile::ALL {
                        let want = Verdicts::reference(&batch, profile).signature_valid;
                        assert!(want.contains(&false) && want.contains(&true));
                        let got = card.verify_batch(&batch, profile).unwrap();
                        assert_eq!(
                            got, want,
                            "{format:?} made for {made_for}, {signers} signers, {profile}"
                        );
                    }
                    let sigs = batch.signature_count();
                    assert_eq!(card.transport().by_opcode[&opcode::VERIFY], 3 * sigs);
                    // The card's 64 contexts were all filled when there was work for them.
                    assert_eq!(card.transport().max_outstanding, sigs.min(64));
                }
            }
        }
    }

    #[test]
    fn verify_keeps_items_in_order_and_sends_what_the_card_parses() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut fake = FakeCard::new(8, 64).shuffled(12);
        fake.record = Some(Vec::new());
        let mut card = open(fake);
        let keys: Vec<[u8; 32]> = (0..100).map(|_| rng.gen()).collect();
        let sigs: Vec<[u8; 64]> = (0..100)
            .map(|_| std::array::from_fn(|_| rng.gen()))
            .collect();
        let msgs: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; i]).collect();
        let items: Vec<VerifyItem<'_>> = (0..100)
            .map(|i| VerifyItem {
                pubkey: &keys[i],
                signature: &sigs[i],
                message: &msgs[i],
            })
            .collect();
        // Random bytes are invalid signatures; the empty list needs no request.
        assert_eq!(
            card.verify(Profile::Zip215, &items).unwrap(),
            vec![false; 100]
        );
        assert_eq!(
            card.verify(Profile::Strict, &[]).unwrap(),
            Vec::<bool>::new()
        );
        let frames = card.transport().record.clone().unwrap();
        assert_eq!(frames.len(), 100);
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(
                f,
                &protocol::verify(1 + i as u32, 2, &keys[i], &sigs[i], &msgs[i]),
                "request {i}"
            );
        }
    }

    #[test]
    fn the_verify_window_fills_the_card_s_engines() {
        // The card's 64 contexts exceed a window of 3: 64 outstanding.
        let opts = CardOptions {
            window: 3,
            ..CardOptions::default()
        };
        let batch = synth_batch(Profile::Strict, synth::Format::Jsonl, 2, 40);
        let mut card = Card::open_with(FakeCard::new(8, 64).shuffled(1), &opts).unwrap();
        assert_eq!(card.info().verify_slots(), 64);
        assert_eq!(card.verify_window(), 64);
        card.verify_batch(&batch, Profile::Strict).unwrap();
        assert_eq!(card.transport().max_outstanding, 64);
        // Merkle requests keep the configured window.
        let leaves: Leaves = (0..100u32).map(|i| i.to_le_bytes()).collect();
        card.merkle_root(&leaves).unwrap();
        // A configured window larger than the card's slots is kept.
        let opts = CardOptions {
            window: 100,
            ..CardOptions::default()
        };
        let mut card = Card::open_with(FakeCard::new(8, 64), &opts).unwrap();
        assert_eq!(card.verify_window(), 100);
        card.verify_batch(&batch, Profile::Strict).unwrap();
        assert_eq!(card.transport().max_outstanding, 100);
    }

    #[test]
    fn verify_slots_and_caps_are_read_at_open() {
        let card = open(FakeCard::new(8, 64));
        let info = *card.info();
        assert!(info.has_verify());
        assert_eq!(
            (
                info.verify_engines,
                info.verify_contexts,
                info.verify_slots()
            ),
            (4, 16, 64)
        );
        assert_eq!(info.sha512_cores, 3);
        assert_eq!(info.max_verify_message_bytes(), 4096 - 64);
        assert!(info.to_string().contains("merkle+sha512+verify"), "{info}");
        assert!(
            info.to_string()
                .contains("4 verify engines x 16 contexts, 3 SHA-512 cores"),
            "{info}"
        );

        let card = open(FakeCard::new(8, 64).without_verify());
        let info = *card.info();
        assert!(!info.has_verify());
        assert_eq!(info.verify_slots(), 0);
        assert!(!info.to_string().contains("verify"), "{info}");

        // CAPS.VERIFY without engines or contexts, or CAPS.SHA512 without cores, is a card
        // the driver cannot use.
        for slots in [0, 0x03_0400, 0x03_0010, 0x00_0410] {
            let mut fake = FakeCard::new(8, 64);
            fake.regs.insert(regs::VERIFY_SLOTS, slots);
            assert!(
                matches!(Card::open(fake), Err(CardError::Limits(_))),
                "{slots:#x}"
            );
        }
        // Register map 1.0 (no VERIFY) is refused: this driver needs 1.2.
        let mut fake = FakeCard::new(8, 64);
        fake.regs.insert(regs::VERSION, 1 << 16);
        assert!(matches!(
            Card::open(fake),
            Err(CardError::Version { major: 1, minor: 0 })
        ));
    }

    #[test]
    fn verify_work_the_card_cannot_take_is_refused_before_sending() {
        let max = 4096 - 64;
        let key = [9u8; 32];
        let sig = [7u8; 64];
        let fits = vec![0u8; max];
        let too_long = vec![0u8; max + 1];
        let items = [
            VerifyItem {
                pubkey: &key,
                signature: &sig,
                message: &fits,
            },
            VerifyItem {
                pubkey: &key,
                signature: &sig,
                message: &too_long,
            },
        ];
        let mut card = open(FakeCard::new(8, 64));
        let err = card.verify(Profile::Rfc8032, &items).unwrap_err();
        assert!(
            matches!(
                err,
                CardError::SignatureMessageTooLong {
                    index: 1,
                    len,
                    max: m
                } if len == max + 1 && m as usize == max
            ),
            "{err}"
        );
        assert!(!err.is_device_failure());
        assert_eq!(card.transport().requests, 0);
        // The longest message that fits goes.
        assert_eq!(
            card.verify(Profile::Rfc8032, &items[..1]).unwrap(),
            vec![false]
        );

        let mut card = open(FakeCard::new(8, 64).without_verify());
        let err = card.verify(Profile::Strict, &items[..1]).unwrap_err();
        assert!(matches!(err, CardError::MissingEngine(_)), "{err}");
        assert!(!err.is_device_failure());
        assert_eq!(card.transport().requests, 0);
    }

    /// Verifies 40 one-signer transactions with request `index` mangled.
    fn verify_mangled(index: usize, how: Mangle) -> (Result<Vec<bool>, CardError>, Card<FakeCard>) {
        let mut fake = FakeCard::new(8, 64);
        fake.mangle = Some((index, how));
        let mut card = open(fake);
        let batch = synth_batch(Profile::Zip215, synth::Format::Jsonl, 1, 5);
        (card.verify_batch(&batch, Profile::Zip215), card)
    }

    #[test]
    fn verify_errors_are_typed_errors_not_panics() {
        for code in [
            status::BAD_PROFILE,
            status::TOO_LONG,
            status::BAD_HEADER,
            99,
        ] {
            let (r, card) = verify_mangled(7, Mangle::Status(code));
            match r {
                Err(CardError::Status { code: c, name }) => {
                    assert_eq!(c, code);
                    assert_eq!(name, status::name(code).unwrap_or("UNKNOWN"));
                }
                other => panic!("status {code}: {other:?}"),
            }
            assert!(card.transport().out.is_empty());
        }
        let (r, _) = verify_mangled(3, Mangle::OrBits(2));
        assert!(
            matches!(
                r,
                Err(CardError::Protocol(ProtocolError::ReservedBits {
                    opcode: "VERIFY",
                    word: 2 | 3
                }))
            ),
            "{r:?}"
        );
        let (r, _) = verify_mangled(0, Mangle::ShortPayload);
        assert!(
            matches!(
                r,
                Err(CardError::Protocol(ProtocolError::PayloadLength {
                    expected: 1,
                    actual: 0,
                    ..
                }))
            ),
            "{r:?}"
        );
        let (r, _) = verify_mangled(59, Mangle::WordCount);
        assert!(
            matches!(r, Err(CardError::Protocol(ProtocolError::WordCount { .. }))),
            "{r:?}"
        );
        let (r, _) = verify_mangled(2, Mangle::UnknownTag);
        assert!(matches!(r, Err(CardError::UnknownTag(_))), "{r:?}");
        let (r, _) = verify_mangled(2, Mangle::Duplicate);
        assert!(matches!(r, Err(CardError::DuplicateTag(_))), "{r:?}");
        let (r, _) = verify_mangled(2, Mangle::Opcode);
        assert!(
            matches!(
                r,
                Err(CardError::OpcodeMismatch {
                    sent: 4,
                    got: 7,
                    ..
                })
            ),
            "{r:?}"
        );
        let (r, _) = verify_mangled(30, Mangle::Swallow);
        assert!(matches!(r, Err(CardError::Timeout { .. })), "{r:?}");
        // A flipped verdict is not detectable here (the self-test's job): exactly it flips.
        let batch = synth_batch(Profile::Zip215, synth::Format::Jsonl, 1, 5);
        let mut want = Verdicts::reference(&batch, Profile::Zip215).signature_valid;
        want[10] = !want[10];
        let (r, _) = verify_mangled(10, Mangle::FlipBit);
        assert_eq!(r.unwrap(), want);
    }

    /// Sends one raw frame to the fake and decodes its answer.
    fn raw(card: &mut Card<FakeCard>, frame: &[u8]) -> protocol::Response {
        let t = card.transport_mut();
        t.send_frame(frame).unwrap();
        protocol::decode(&t.recv_frame(Duration::ZERO).unwrap().unwrap()).unwrap()
    }

    #[test]
    fn the_card_s_own_verify_checks_come_back_as_statuses() {
        let mut card = open(FakeCard::new(8, 64));
        let (key, sig) = ([1u8; 32], [2u8; 64]);
        let ok = protocol::verify(5, 0, &key, &sig, b"abc");
        let r = raw(&mut card, &ok);
        assert_eq!((r.tag, r.opcode, r.status), (5, opcode::VERIFY, status::OK));
        assert_eq!(protocol::payload_verify(&r.payload), Ok(false));
        for code in [3u8, 7, 0xff] {
            let r = raw(&mut card, &protocol::verify(6, code, &key, &sig, b"abc"));
            assert_eq!(r.status, status::BAD_PROFILE, "profile {code}");
            assert!(matches!(
                r.into_result(),
                Err(CardError::Status {
                    code: status::BAD_PROFILE,
                    name: "BAD_PROFILE"
                })
            ));
        }
        // Bits 63:40 of word 1 are reserved.
        let mut bad = ok.clone();
        bad[13] = 1;
        assert_eq!(raw(&mut card, &bad).status, status::BAD_HEADER);
        // Too long for the card (declared), cut short, and gone on too long.
        let long = protocol::verify(7, 1, &key, &sig, &vec![0; 4096 - 63]);
        assert_eq!(raw(&mut card, &long).status, status::TOO_LONG);
        assert_eq!(
            raw(&mut card, &ok[..ok.len() - 8]).status,
            status::FRAME_SHORT
        );
        assert_eq!(raw(&mut card, &ok[..8 * 12]).status, status::FRAME_SHORT);
        let mut extra = ok.clone();
        extra.extend_from_slice(&[0; 8]);
        assert_eq!(raw(&mut card, &extra).status, status::FRAME_LONG);
        // A card without the engine knows no VERIFY opcode.
        let mut card = open(FakeCard::new(8, 64).without_verify());
        assert_eq!(raw(&mut card, &ok).status, status::BAD_OPCODE);

        // The card refusing a message the driver thought fits: a status, not a panic.
        let mut card = open(FakeCard::new(8, 64));
        card.transport_mut()
            .regs
            .insert(regs::MAX_MESSAGE_BYTES, 64 + 2);
        let items = [VerifyItem {
            pubkey: &key,
            signature: &sig,
            message: b"abc",
        }];
        assert!(matches!(
            card.verify(Profile::Strict, &items),
            Err(CardError::Status {
                code: status::TOO_LONG,
                ..
            })
        ));
    }

    /// Runs a 40-leaf tree (5 MERKLE_ROOT requests, then 1 MERKLE_NODES) with request
    /// `index` mangled.
    fn mangled(index: usize, how: Mangle) -> (Result<[u8; 32], CardError>, Card<FakeCard>) {
        let mut fake = FakeCard::new(8, 64);
        fake.mangle = Some((index, how));
        let mut card = open(fake);
        let leaves: Leaves = (0..40u32).map(|i| i.to_le_bytes()).collect();
        (card.merkle_root(&leaves), card)
    }

    #[test]
    fn every_error_status_surfaces_as_a_typed_error() {
        for code in (1..=7).chain([8, 200]) {
            for index in [0, 3, 5] {
                let (r, card) = mangled(index, Mangle::Status(code));
                match r {
                    Err(CardError::Status { code: c, name }) => {
                        assert_eq!(c, code);
                        assert_eq!(name, status::name(code).unwrap_or("UNKNOWN"));
                    }
                    other => panic!("status {code} at {index}: {other:?}"),
                }
                // The other outstanding responses were collected: nothing is left over.
                assert!(card.transport().out.is_empty());
            }
        }
    }

    #[test]
    fn the_card_s_own_checks_come_back_as_statuses() {
        // A leaf the driver thinks fits but the card refuses.
        let mut fake = FakeCard::new(8, 64);
        fake.regs.insert(regs::MAX_LEAF_BYTES, 64);
        let mut card = open(fake);
        card.transport_mut().regs.insert(regs::MAX_LEAF_BYTES, 10);
        let leaves: Leaves = [vec![0u8; 11]].into_iter().collect();
        assert!(matches!(
            card.merkle_root(&leaves),
            Err(CardError::Status {
                code: status::TOO_LONG,
                name: "TOO_LONG"
            })
        ));
        // A card disabled behind the driver's back.
        card.transport_mut().regs.insert(regs::CONTROL, 0);
        assert!(matches!(
            card.merkle_root(&leaves),
            Err(CardError::Status {
                code: status::DISABLED,
                ..
            })
        ));
    }

    #[test]
    fn malformed_and_unexpected_responses_are_typed_errors() {
        let (r, _) = mangled(2, Mangle::PartialWord);
        assert!(
            matches!(r, Err(CardError::Protocol(ProtocolError::PartialWord(_)))),
            "{r:?}"
        );
        let (r, _) = mangled(2, Mangle::WordCount);
        assert!(
            matches!(r, Err(CardError::Protocol(ProtocolError::WordCount { .. }))),
            "{r:?}"
        );
        let (r, _) = mangled(4, Mangle::UnknownTag);
        assert!(matches!(r, Err(CardError::UnknownTag(_))), "{r:?}");
        let (r, _) = mangled(1, Mangle::Duplicate);
        assert!(matches!(r, Err(CardError::DuplicateTag(_))), "{r:?}");
        let (r, _) = mangled(5, Mangle::Opcode);
        assert!(
            matches!(
                r,
                Err(CardError::OpcodeMismatch {
                    sent: 2,
                    got: 1,
                    ..
                })
            ),
            "{r:?}"
        );
        let (r, _) = mangled(0, Mangle::ShortPayload);
        assert!(
            matches!(
                r,
                Err(CardError::Protocol(ProtocolError::PayloadLength {
                    expected: 4,
                    actual: 3,
                    ..
                }))
            ),
            "{r:?}"
        );
        let (r, _) = mangled(3, Mangle::Swallow);
        assert!(matches!(r, Err(CardError::Timeout { .. })), "{r:?}");
        let (r, _) = mangled(5, Mangle::FlipBit);
        assert!(r.is_ok_and(|root| root != merkle::root(&(0..40u32).map(|i| i.to_le_bytes()).collect())));
        for how in [Mangle::PartialWord, Mangle::UnknownTag, Mangle::Swallow] {
            let (r, _) = mangled(0, how);
            assert!(r.unwrap_err().is_device_failure());
        }
    }

    #[test]
    fn requests_are_what_the_card_parses() {
        // Record frames and check the tags are distinct and the header reserved bits zero.
        let mut fake = FakeCard::new(8, 64).shuffled(9);
        fake.record = Some(Vec::new());
        let mut card = open(fake);
        let leaves: Leaves = (0..30u32).map(|i| vec![0u8; i as usize]).collect();
        card.merkle_root(&leaves).unwrap();
        let frames = card.transport().record.clone().unwrap();
        let mut tags: Vec<u32> = frames
            .iter()
            .map(|f| {
                let w0 = u64::from_le_bytes(f[..8].try_into().unwrap());
                assert_eq!(w0 & 0xffff_ff00, 0);
                (w0 >> 32) as u32
            })
            .collect();
        let n = tags.len();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), n);
    }
}
