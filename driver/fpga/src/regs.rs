//! The card's register map, opcodes, status codes and framing.
//!
//! GENERATED from hdl/regmap.json by `cargo run -p vigil-regmap -- --write`: do not edit.

/// The identity register's value.
pub const MAGIC: u32 = 0x5647434c;
/// Register map major version (incompatible changes).
pub const VERSION_MAJOR: u16 = 1;
/// Register map minor version (compatible additions).
pub const VERSION_MINOR: u16 = 2;
/// Stream word width in bits.
pub const WORD_BITS: u32 = 64;

/// Register byte offsets in the AXI-Lite window.
pub mod regs {
    /// Identity: the magic 0x5647434C ("VGCL"). (ro)
    pub const ID: u32 = 0x000;
    /// Register map version: major in bits 31:16, minor in 15:0. A driver accepts its own major and any minor at least its own. (ro)
    pub const VERSION: u32 = 0x004;
    /// Build hash, bits 31:0: the source hash the bitstream (or simulated card) was built from, a build parameter. (ro)
    pub const BUILD_HASH_LO: u32 = 0x008;
    /// Build hash, bits 63:32. (ro)
    pub const BUILD_HASH_HI: u32 = 0x00c;
    /// Engines present. (ro)
    pub const CAPS: u32 = 0x010;
    /// Most leaves (or nodes) in one Merkle request. (ro)
    pub const MAX_LEAVES: u32 = 0x014;
    /// Longest leaf of a MERKLE_ROOT request, in bytes. (ro)
    pub const MAX_LEAF_BYTES: u32 = 0x018;
    /// Longest SHA512_K message, in bytes; a VERIFY message may be 64 bytes shorter (R and A are hashed before it). (ro)
    pub const MAX_MESSAGE_BYTES: u32 = 0x01c;
    /// Control. (rw)
    pub const CONTROL: u32 = 0x020;
    /// Status. (ro)
    pub const STATUS: u32 = 0x024;
    /// Read/write scratch register, for the driver's bus check. (rw)
    pub const SCRATCH: u32 = 0x028;
    /// The latest error response. (ro)
    pub const LAST_ERROR: u32 = 0x02c;
    /// Signatures the card verifies at once: engines in bits 15:8, contexts (signatures in flight) per engine in bits 7:0, so engines x contexts in all; and the SHA-512 cores that feed them (and serve SHA512_K) in bits 23:16. (ro)
    pub const VERIFY_SLOTS: u32 = 0x030;
    /// Requests received (headers accepted), wrapping. (ro)
    pub const REQUESTS: u32 = 0x040;
    /// Responses sent (headers), wrapping. (ro)
    pub const RESPONSES: u32 = 0x044;
    /// Error responses sent, wrapping. (ro)
    pub const ERRORS: u32 = 0x048;
    /// Clock cycles since reset or CLEAR_COUNTERS, bits 31:0. Reading it latches bits 63:32 for CYCLES_HI (and so for every _LO/_HI pair). (ro)
    pub const CYCLES_LO: u32 = 0x050;
    /// Clock cycles, bits 63:32, as latched by the last read of CYCLES_LO. (ro)
    pub const CYCLES_HI: u32 = 0x054;
    /// Cycles the Merkle engine held a request, bits 31:0 (latches _HI). (ro)
    pub const MERKLE_BUSY_CYCLES_LO: u32 = 0x058;
    /// Cycles the Merkle engine held a request, bits 63:32. (ro)
    pub const MERKLE_BUSY_CYCLES_HI: u32 = 0x05c;
    /// Cycles at least one SHA-512 core held a request, bits 31:0 (latches _HI). (ro)
    pub const SHA512_BUSY_CYCLES_LO: u32 = 0x060;
    /// Cycles at least one SHA-512 core held a request, bits 63:32. (ro)
    pub const SHA512_BUSY_CYCLES_HI: u32 = 0x064;
    /// BLAKE3 compressions issued, bits 31:0 (latches _HI). (ro)
    pub const COMPRESSIONS_LO: u32 = 0x068;
    /// BLAKE3 compressions issued, bits 63:32. (ro)
    pub const COMPRESSIONS_HI: u32 = 0x06c;
    /// Cycles a request word was offered and not taken (the card's backpressure), bits 31:0 (latches _HI). (ro)
    pub const REQ_STALL_CYCLES_LO: u32 = 0x070;
    /// Request stall cycles, bits 63:32. (ro)
    pub const REQ_STALL_CYCLES_HI: u32 = 0x074;
    /// Cycles a response word was offered and not taken (the host's backpressure), bits 31:0 (latches _HI). (ro)
    pub const RESP_STALL_CYCLES_LO: u32 = 0x078;
    /// Response stall cycles, bits 63:32. (ro)
    pub const RESP_STALL_CYCLES_HI: u32 = 0x07c;
    /// Cycles at least one verification engine held a signature, bits 31:0 (latches _HI). (ro)
    pub const VERIFY_BUSY_CYCLES_LO: u32 = 0x080;
    /// Verification busy cycles, bits 63:32. (ro)
    pub const VERIFY_BUSY_CYCLES_HI: u32 = 0x084;
    /// Field operations the verification engines issued (multiplications, additions, subtractions, selections), bits 31:0 (latches _HI). (ro)
    pub const FIELD_OPS_LO: u32 = 0x088;
    /// Field operations issued, bits 63:32. (ro)
    pub const FIELD_OPS_HI: u32 = 0x08c;

    /// Every register: name, offset, writable.
    pub const ALL: &[(&str, u32, bool)] = &[
        ("ID", ID, false),
        ("VERSION", VERSION, false),
        ("BUILD_HASH_LO", BUILD_HASH_LO, false),
        ("BUILD_HASH_HI", BUILD_HASH_HI, false),
        ("CAPS", CAPS, false),
        ("MAX_LEAVES", MAX_LEAVES, false),
        ("MAX_LEAF_BYTES", MAX_LEAF_BYTES, false),
        ("MAX_MESSAGE_BYTES", MAX_MESSAGE_BYTES, false),
        ("CONTROL", CONTROL, true),
        ("STATUS", STATUS, false),
        ("SCRATCH", SCRATCH, true),
        ("LAST_ERROR", LAST_ERROR, false),
        ("VERIFY_SLOTS", VERIFY_SLOTS, false),
        ("REQUESTS", REQUESTS, false),
        ("RESPONSES", RESPONSES, false),
        ("ERRORS", ERRORS, false),
        ("CYCLES_LO", CYCLES_LO, false),
        ("CYCLES_HI", CYCLES_HI, false),
        ("MERKLE_BUSY_CYCLES_LO", MERKLE_BUSY_CYCLES_LO, false),
        ("MERKLE_BUSY_CYCLES_HI", MERKLE_BUSY_CYCLES_HI, false),
        ("SHA512_BUSY_CYCLES_LO", SHA512_BUSY_CYCLES_LO, false),
        ("SHA512_BUSY_CYCLES_HI", SHA512_BUSY_CYCLES_HI, false),
        ("COMPRESSIONS_LO", COMPRESSIONS_LO, false),
        ("COMPRESSIONS_HI", COMPRESSIONS_HI, false),
        ("REQ_STALL_CYCLES_LO", REQ_STALL_CYCLES_LO, false),
        ("REQ_STALL_CYCLES_HI", REQ_STALL_CYCLES_HI, false),
        ("RESP_STALL_CYCLES_LO", RESP_STALL_CYCLES_LO, false),
        ("RESP_STALL_CYCLES_HI", RESP_STALL_CYCLES_HI, false),
        ("VERIFY_BUSY_CYCLES_LO", VERIFY_BUSY_CYCLES_LO, false),
        ("VERIFY_BUSY_CYCLES_HI", VERIFY_BUSY_CYCLES_HI, false),
        ("FIELD_OPS_LO", FIELD_OPS_LO, false),
        ("FIELD_OPS_HI", FIELD_OPS_HI, false),
    ];
}

/// Register fields as (lowest bit, width).
pub mod fields {
    /// CAPS.MERKLE: MERKLE_ROOT and MERKLE_NODES requests.
    pub const CAPS_MERKLE: (u32, u32) = (0, 1);
    /// CAPS.SHA512: SHA512_K requests.
    pub const CAPS_SHA512: (u32, u32) = (1, 1);
    /// CAPS.VERIFY: VERIFY requests (Ed25519 verification engines).
    pub const CAPS_VERIFY: (u32, u32) = (2, 1);
    /// CONTROL.ENABLE: Requests are served while set; while clear every request is answered DISABLED. Clear after reset.
    pub const CONTROL_ENABLE: (u32, u32) = (0, 1);
    /// CONTROL.CLEAR_COUNTERS: Write 1 to zero the counters (reads 0).
    pub const CONTROL_CLEAR_COUNTERS: (u32, u32) = (1, 1);
    /// STATUS.ENABLED: CONTROL.ENABLE as the card sees it.
    pub const STATUS_ENABLED: (u32, u32) = (0, 1);
    /// STATUS.MERKLE_BUSY: The Merkle engine holds a request.
    pub const STATUS_MERKLE_BUSY: (u32, u32) = (1, 1);
    /// STATUS.SHA512_BUSY: A SHA-512 core holds a request (or is being given one).
    pub const STATUS_SHA512_BUSY: (u32, u32) = (2, 1);
    /// STATUS.RESPONSE_PENDING: A response waits for the host to read it.
    pub const STATUS_RESPONSE_PENDING: (u32, u32) = (3, 1);
    /// STATUS.VERIFY_BUSY: A verification engine holds at least one signature.
    pub const STATUS_VERIFY_BUSY: (u32, u32) = (4, 1);
    /// LAST_ERROR.STATUS: Its status code.
    pub const LAST_ERROR_STATUS: (u32, u32) = (0, 8);
    /// LAST_ERROR.OPCODE: Its request's opcode.
    pub const LAST_ERROR_OPCODE: (u32, u32) = (8, 8);
    /// VERIFY_SLOTS.CONTEXTS: Signatures each engine interleaves.
    pub const VERIFY_SLOTS_CONTEXTS: (u32, u32) = (0, 8);
    /// VERIFY_SLOTS.ENGINES: Verification engines.
    pub const VERIFY_SLOTS_ENGINES: (u32, u32) = (8, 8);
    /// VERIFY_SLOTS.SHA512_CORES: SHA-512 cores (SHA512_K requests, and the k of each VERIFY); 0 on a card of register map 1.1, which has one.
    pub const VERIFY_SLOTS_SHA512_CORES: (u32, u32) = (16, 8);
}

/// Request operations (request header bits 7:0).
pub mod opcode {
    /// Merkle root of the leaves: word 1 = leaf count; per leaf one word with its byte length, then its bytes in ceil(length / 8) words. Response payload: the 32-byte root (4 words).
    pub const MERKLE_ROOT: u8 = 1;
    /// Merkle root over given 32-byte nodes (subtree roots) instead of leaves: word 1 = node count; then 4 words per node. Response payload: the 32-byte root (4 words).
    pub const MERKLE_NODES: u8 = 2;
    /// SHA-512 of a message and that digest mod L: word 1 = message length in bytes; then the message in ceil(length / 8) words. Response payload: the 64-byte digest (8 words), then k (4 words).
    pub const SHA512_K: u8 = 3;
    /// Ed25519 verification of one signature: word 1 = message length in bytes (bits 31:0) and the profile (bits 39:32: 0 strict, 1 rfc8032, 2 zip215); words 2-5 = S, 6-9 = R, 10-13 = A (32 bytes each, as in the signature and key); then the message in ceil(length / 8) words. The card hashes R || A || message itself. Response payload: one word, bit 0 set when the signature is valid under the profile.
    pub const VERIFY: u8 = 4;

    /// The code's name, if it is one.
    pub fn name(code: u8) -> Option<&'static str> {
        match code {
            MERKLE_ROOT => Some("MERKLE_ROOT"),
            MERKLE_NODES => Some("MERKLE_NODES"),
            SHA512_K => Some("SHA512_K"),
            VERIFY => Some("VERIFY"),
            _ => None,
        }
    }
}

/// Response status (response header bits 15:8). Every status but OK comes with an empty payload.
pub mod status {
    /// Done; the payload is the result.
    pub const OK: u8 = 0;
    /// Unknown opcode (or an engine this card lacks).
    pub const BAD_OPCODE: u8 = 1;
    /// Reserved header bits not zero: bits 31:8 of word 0, or bits 63:32 of word 1 (bits 63:40 for VERIFY).
    pub const BAD_HEADER: u8 = 2;
    /// More leaves or nodes than MAX_LEAVES.
    pub const TOO_MANY: u8 = 3;
    /// A leaf longer than MAX_LEAF_BYTES (its length word's bits 63:32 included), or a message longer than MAX_MESSAGE_BYTES.
    pub const TOO_LONG: u8 = 4;
    /// The frame ended (tlast) before its declared contents.
    pub const FRAME_SHORT: u8 = 5;
    /// The frame went on past its declared contents; the rest was discarded up to tlast.
    pub const FRAME_LONG: u8 = 6;
    /// CONTROL.ENABLE is clear; the request was discarded.
    pub const DISABLED: u8 = 7;
    /// A VERIFY profile this card does not know.
    pub const BAD_PROFILE: u8 = 8;

    /// The code's name, if it is one.
    pub fn name(code: u8) -> Option<&'static str> {
        match code {
            OK => Some("OK"),
            BAD_OPCODE => Some("BAD_OPCODE"),
            BAD_HEADER => Some("BAD_HEADER"),
            TOO_MANY => Some("TOO_MANY"),
            TOO_LONG => Some("TOO_LONG"),
            FRAME_SHORT => Some("FRAME_SHORT"),
            FRAME_LONG => Some("FRAME_LONG"),
            DISABLED => Some("DISABLED"),
            BAD_PROFILE => Some("BAD_PROFILE"),
            _ => None,
        }
    }
}

/// Stream header fields as (lowest bit, width).
pub mod framing {
    /// Request word 0: the operation (OPCODE).
    pub const REQ_OPCODE: (u32, u32) = (0, 8);
    /// Request word 0: the host's tag, echoed in the response. Responses of different engines may return in any order; the tag matches them.
    pub const REQ_TAG: (u32, u32) = (32, 32);
    /// Response word 0: the request's opcode.
    pub const RESP_OPCODE: (u32, u32) = (0, 8);
    /// Response word 0: the outcome (STATUS).
    pub const RESP_STATUS: (u32, u32) = (8, 8);
    /// Response word 0: payload words after the header.
    pub const RESP_WORDS: (u32, u32) = (16, 16);
    /// Response word 0: the request's tag.
    pub const RESP_TAG: (u32, u32) = (32, 32);
}
