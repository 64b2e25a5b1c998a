//! The stream framing: encoding requests and decoding responses.
//!
//! Both directions carry 64-bit little-endian words; a byte string is laid into words
//! byte `i` at bits `8i+7:8i` (so its bytes go as-is) and its last word is zero-padded.
//! A request is
//!
//! ```text
//! word 0   opcode (7:0), tag (63:32), every other bit zero
//! word 1   count: leaves (MERKLE_ROOT), nodes (MERKLE_NODES) or message bytes (SHA512_K);
//!          VERIFY: message bytes (31:0) and the profile code (39:32), bits 63:40 zero
//! payload  MERKLE_ROOT:  per leaf a length word, then ceil(len / 8) words of its bytes
//!          MERKLE_NODES: 4 words per 32-byte node
//!          SHA512_K:     ceil(len / 8) words of the message
//!          VERIFY:       S (4 words), R (4 words), A (4 words), then ceil(len / 8) words
//!                        of the message; the card hashes R || A || message itself
//! ```
//!
//! and a response is
//!
//! ```text
//! word 0   opcode (7:0), status (15:8), payload words (31:16), tag (63:32)
//! payload  OK: MERKLE_*: 4 words, the root; SHA512_K: 8 words digest, then 4 words k;
//!              VERIFY: 1 word, bit 0 the verdict, every other bit zero
//!          any other status: empty
//! ```
//!
//! Decoding trusts nothing: a response is checked for whole words, a declared length
//! equal to the frame's, and an empty payload on error statuses, and every violation is
//! a [`ProtocolError`]. What a payload must contain for its opcode is checked by
//! [`payload_root`], [`payload_sha512_k`] and [`payload_verify`]; a VERIFY verdict word
//! with any bit but bit 0 set is rejected rather than read as "valid", since a verdict
//! is exactly the kind of result a stuck or shifted bus would silently falsify.
//!
//! VERIFY profiles travel as the codes of [`profile_code`]: 0 `strict`, 1 `rfc8032`,
//! 2 `zip215`.

use vigil_core::{Leaves, Profile};

use crate::card::CardError;
use crate::regs::{framing, opcode, status};
use crate::transport::WORD_BYTES;

/// A response frame that breaks the framing rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// No header word at all.
    #[error("empty response frame")]
    Empty,
    /// The frame's length is not a whole number of words.
    #[error("response frame of {0} bytes is not a whole number of 8-byte words")]
    PartialWord(usize),
    /// The header declares a different payload length than the frame has.
    #[error("response header declares {declared} payload words, the frame has {actual}")]
    WordCount {
        /// Words the header declares.
        declared: usize,
        /// Words that followed it.
        actual: usize,
    },
    /// An error status came with a payload.
    #[error("response with status {status} carries {words} payload words (must be empty)")]
    ErrorWithPayload {
        /// The status.
        status: u8,
        /// Its payload words.
        words: usize,
    },
    /// The payload does not have the length the opcode's result has.
    #[error("{opcode} response payload has {actual} words, expected {expected}")]
    PayloadLength {
        /// The opcode's name.
        opcode: &'static str,
        /// Words the result has.
        expected: usize,
        /// Words the frame has.
        actual: usize,
    },
    /// A result word has bits set that the opcode defines as zero.
    #[error("{opcode} response word {word:#018x} has reserved bits set")]
    ReservedBits {
        /// The opcode's name.
        opcode: &'static str,
        /// The word as received.
        word: u64,
    },
}

/// One decoded response frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The tag of the request it answers.
    pub tag: u32,
    /// The request's opcode.
    pub opcode: u8,
    /// The outcome ([`status`] codes).
    pub status: u8,
    /// The payload words.
    pub payload: Vec<u64>,
}

impl Response {
    /// The payload if the status is OK, else the status as [`CardError::Status`].
    pub fn into_result(self) -> Result<Vec<u64>, CardError> {
        if self.status == status::OK {
            Ok(self.payload)
        } else {
            Err(status_error(self.status))
        }
    }
}

/// The typed error of a non-OK status code.
pub fn status_error(code: u8) -> CardError {
    CardError::Status {
        code,
        name: status::name(code).unwrap_or("UNKNOWN"),
    }
}

fn field(word: u64, (lsb, width): (u32, u32)) -> u64 {
    (word >> lsb) & ((1u64 << width) - 1)
}

/// A header field that fits 32 bits (all of them do), as `u32`.
fn field32(word: u64, f: (u32, u32)) -> u32 {
    u32::try_from(field(word, f)).unwrap_or(u32::MAX)
}

/// A header field that fits 8 bits, as `u8`.
fn field8(word: u64, f: (u32, u32)) -> u8 {
    u8::try_from(field(word, f)).unwrap_or(u8::MAX)
}

fn put(value: u64, (lsb, width): (u32, u32)) -> u64 {
    (value & ((1u64 << width) - 1)) << lsb
}

/// Words a byte string of `len` bytes takes.
pub fn words_for(len: usize) -> usize {
    len.div_ceil(WORD_BYTES)
}

/// A request frame being written, word by word.
struct Frame(Vec<u8>);

impl Frame {
    fn new(op: u8, tag: u32, count: u64, payload_words: usize) -> Frame {
        Frame::reusing(Vec::new(), op, tag, count, payload_words)
    }

    /// A frame built in `buf` (cleared first; its capacity is kept).
    fn reusing(mut buf: Vec<u8>, op: u8, tag: u32, count: u64, payload_words: usize) -> Frame {
        buf.clear();
        buf.reserve((2 + payload_words) * WORD_BYTES);
        let mut frame = Frame(buf);
        frame.word(put(u64::from(op), framing::REQ_OPCODE) | put(u64::from(tag), framing::REQ_TAG));
        frame.word(count);
        frame
    }

    fn word(&mut self, w: u64) {
        self.0.extend_from_slice(&w.to_le_bytes());
    }

    /// The bytes, zero-padded to a whole word.
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
        let pad = words_for(b.len()) * WORD_BYTES - b.len();
        self.0.extend(std::iter::repeat_n(0u8, pad));
    }
}

/// A MERKLE_ROOT request over leaves `first..first + count` of `leaves` (clipped to
/// the leaves there are).
pub fn merkle_root(tag: u32, leaves: &Leaves, first: usize, count: usize) -> Vec<u8> {
    let group = || leaves.iter().skip(first).take(count);
    let n = group().count();
    let words: usize = group().map(|l| 1 + words_for(l.len())).sum();
    let mut frame = Frame::new(opcode::MERKLE_ROOT, tag, n as u64, words);
    for leaf in group() {
        frame.word(leaf.len() as u64);
        frame.bytes(leaf);
    }
    frame.0
}

/// A MERKLE_NODES request over `nodes`.
pub fn merkle_nodes(tag: u32, nodes: &[[u8; 32]]) -> Vec<u8> {
    let mut frame = Frame::new(
        opcode::MERKLE_NODES,
        tag,
        nodes.len() as u64,
        4 * nodes.len(),
    );
    for node in nodes {
        frame.bytes(node);
    }
    frame.0
}

/// A SHA512_K request over `message`.
pub fn sha512_k(tag: u32, message: &[u8]) -> Vec<u8> {
    let mut frame = Frame::new(
        opcode::SHA512_K,
        tag,
        message.len() as u64,
        words_for(message.len()),
    );
    frame.bytes(message);
    frame.0
}

/// The VERIFY profile code of `profile` (request word 1, bits 39:32).
pub fn profile_code(profile: Profile) -> u8 {
    match profile {
        Profile::Strict => 0,
        Profile::Rfc8032 => 1,
        Profile::Zip215 => 2,
    }
}

/// Bits 39:32 of VERIFY's word 1: the profile code.
const VERIFY_PROFILE: (u32, u32) = (32, 8);
/// Bits 31:0 of VERIFY's word 1: the message length in bytes.
const VERIFY_LEN: (u32, u32) = (0, 32);

/// A VERIFY request: does `signature` (R || S, as received) by `pubkey` (A) sign
/// `message` under the profile with code `profile` (see [`profile_code`]; any other
/// code is sent as given, and a card answers BAD_PROFILE)?
///
/// Words 2-5 carry S, 6-9 R and 10-13 A, each as its 32 bytes. The message length must
/// fit 32 bits; [`crate::card::Card::verify`] refuses longer messages before encoding,
/// and a longer one here is declared as `u32::MAX` bytes, which any card refuses.
pub fn verify(
    tag: u32,
    profile: u8,
    pubkey: &[u8; 32],
    signature: &[u8; 64],
    message: &[u8],
) -> Vec<u8> {
    let mut frame = Vec::new();
    verify_into(&mut frame, tag, profile, pubkey, signature, message);
    frame
}

/// [`verify`] written into `out` (replacing its contents, keeping its capacity), so a
/// caller sending one request per signature reuses one buffer.
pub fn verify_into(
    out: &mut Vec<u8>,
    tag: u32,
    profile: u8,
    pubkey: &[u8; 32],
    signature: &[u8; 64],
    message: &[u8],
) {
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let word1 = put(u64::from(len), VERIFY_LEN) | put(u64::from(profile), VERIFY_PROFILE);
    let (r, s) = signature.split_at(32);
    let words = 12 + words_for(message.len());
    let mut frame = Frame::reusing(std::mem::take(out), opcode::VERIFY, tag, word1, words);
    frame.bytes(s);
    frame.bytes(r);
    frame.bytes(pubkey);
    frame.bytes(message);
    *out = frame.0;
}

/// Decodes one response frame. Never panics, whatever the bytes.
pub fn decode(frame: &[u8]) -> Result<Response, ProtocolError> {
    if frame.is_empty() {
        return Err(ProtocolError::Empty);
    }
    if !frame.len().is_multiple_of(WORD_BYTES) {
        return Err(ProtocolError::PartialWord(frame.len()));
    }
    let mut words = frame.chunks_exact(WORD_BYTES).map(|c| {
        let mut w = [0u8; WORD_BYTES];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    });
    let header = words.next().ok_or(ProtocolError::Empty)?;
    let payload: Vec<u64> = words.collect();
    let declared = field32(header, framing::RESP_WORDS) as usize;
    if declared != payload.len() {
        return Err(ProtocolError::WordCount {
            declared,
            actual: payload.len(),
        });
    }
    let status_code = field8(header, framing::RESP_STATUS);
    if status_code != status::OK && !payload.is_empty() {
        return Err(ProtocolError::ErrorWithPayload {
            status: status_code,
            words: payload.len(),
        });
    }
    Ok(Response {
        tag: field32(header, framing::RESP_TAG),
        opcode: field8(header, framing::RESP_OPCODE),
        status: status_code,
        payload,
    })
}

fn expect_words(op: u8, payload: &[u64], expected: usize) -> Result<(), ProtocolError> {
    if payload.len() != expected {
        return Err(ProtocolError::PayloadLength {
            opcode: opcode::name(op).unwrap_or("UNKNOWN"),
            expected,
            actual: payload.len(),
        });
    }
    Ok(())
}

fn words_to_bytes<const N: usize>(words: &[u64]) -> [u8; N] {
    let mut out = [0u8; N];
    for (chunk, w) in out.chunks_exact_mut(WORD_BYTES).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// The 32-byte root of a MERKLE_ROOT or MERKLE_NODES OK payload.
pub fn payload_root(op: u8, payload: &[u64]) -> Result<[u8; 32], ProtocolError> {
    expect_words(op, payload, 4)?;
    Ok(words_to_bytes(payload))
}

/// The digest and k of a SHA512_K OK payload.
pub fn payload_sha512_k(payload: &[u64]) -> Result<([u8; 64], [u8; 32]), ProtocolError> {
    expect_words(opcode::SHA512_K, payload, 12)?;
    Ok((words_to_bytes(&payload[..8]), words_to_bytes(&payload[8..])))
}

/// The verdict of a VERIFY OK payload: exactly one word, bit 0 set when valid, every
/// other bit clear.
pub fn payload_verify(payload: &[u64]) -> Result<bool, ProtocolError> {
    expect_words(opcode::VERIFY, payload, 1)?;
    match payload.first().copied() {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        other => Err(ProtocolError::ReservedBits {
            opcode: "VERIFY",
            word: other.unwrap_or_default(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(op: u8, st: u8, words: u16, tag: u32) -> u64 {
        u64::from(op) | u64::from(st) << 8 | u64::from(words) << 16 | u64::from(tag) << 32
    }

    fn frame(words: &[u64]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn requests_are_laid_out_as_the_register_map_says() {
        let leaves: Leaves = [&b""[..], b"abc", b"0123456789"].into_iter().collect();
        let f = merkle_root(0xdead_beef, &leaves, 0, 3);
        let mut want = frame(&[0xdead_beef_0000_0001, 3, 0, 3]);
        want.extend_from_slice(b"abc\0\0\0\0\0");
        want.extend_from_slice(&10u64.to_le_bytes());
        want.extend_from_slice(b"0123456789\0\0\0\0\0\0");
        assert_eq!(f, want);
        // A sub-range, and a range past the end clipped.
        assert_eq!(merkle_root(7, &leaves, 1, 1), {
            let mut w = frame(&[(7 << 32) | 1, 1, 3]);
            w.extend_from_slice(b"abc\0\0\0\0\0");
            w
        });
        assert_eq!(merkle_root(7, &leaves, 3, 5), frame(&[(7 << 32) | 1, 0]));

        let nodes = [[1u8; 32], [2u8; 32]];
        let f = merkle_nodes(1, &nodes);
        assert_eq!(f.len(), (2 + 8) * 8);
        assert_eq!(&f[..16], &frame(&[(1 << 32) | 2, 2])[..]);
        assert_eq!(&f[16..48], &[1u8; 32]);
        assert_eq!(&f[48..], &[2u8; 32]);

        let f = sha512_k(u32::MAX, b"123456789");
        let mut want = frame(&[0xffff_ffff_0000_0003, 9]);
        want.extend_from_slice(b"123456789\0\0\0\0\0\0\0");
        assert_eq!(f, want);
    }

    #[test]
    fn responses_decode_and_malformed_ones_are_typed_errors() {
        let ok = decode(&frame(&[header(1, 0, 4, 42), 1, 2, 3, 4])).unwrap();
        assert_eq!(
            ok,
            Response {
                tag: 42,
                opcode: 1,
                status: 0,
                payload: vec![1, 2, 3, 4]
            }
        );
        let root = payload_root(1, &ok.payload).unwrap();
        assert_eq!(&root[..8], &1u64.to_le_bytes());
        assert_eq!(&root[24..], &4u64.to_le_bytes());
        assert_eq!(decode(&[]), Err(ProtocolError::Empty));
        assert_eq!(decode(&[0; 12]), Err(ProtocolError::PartialWord(12)));
        assert_eq!(
            decode(&frame(&[header(1, 0, 4, 0), 1])),
            Err(ProtocolError::WordCount {
                declared: 4,
                actual: 1
            })
        );
        assert_eq!(
            decode(&frame(&[header(1, 3, 1, 0), 1])),
            Err(ProtocolError::ErrorWithPayload {
                status: 3,
                words: 1
            })
        );
        assert!(matches!(
            payload_root(2, &[1, 2, 3]),
            Err(ProtocolError::PayloadLength {
                opcode: "MERKLE_NODES",
                expected: 4,
                actual: 3
            })
        ));
        assert!(payload_sha512_k(&[0; 11]).is_err());
        let (d, k) = payload_sha512_k(&[7; 12]).unwrap();
        assert_eq!(&d[56..], &7u64.to_le_bytes());
        assert_eq!(&k[..8], &7u64.to_le_bytes());
    }

    #[test]
    fn verify_requests_are_laid_out_as_the_register_map_says() {
        // R = bytes 0..32, S = 32..64: distinct byte values so a swap would show.
        let signature: [u8; 64] = std::array::from_fn(|i| i as u8);
        let pubkey: [u8; 32] = std::array::from_fn(|i| 0x80 | i as u8);
        let le = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
        let f = verify(
            0x1234_5678,
            profile_code(Profile::Zip215),
            &pubkey,
            &signature,
            b"0123456789",
        );
        let words: Vec<u64> = f.chunks_exact(8).map(le).collect();
        let mut want = vec![0x1234_5678_0000_0004, 0x0000_0002_0000_000a];
        // S: bytes 32..64, little-endian within each word.
        want.extend([
            0x2726_2524_2322_2120,
            0x2f2e_2d2c_2b2a_2928,
            0x3736_3534_3332_3130,
            0x3f3e_3d3c_3b3a_3938,
        ]);
        // R: bytes 0..32.
        want.extend([
            0x0706_0504_0302_0100,
            0x0f0e_0d0c_0b0a_0908,
            0x1716_1514_1312_1110,
            0x1f1e_1d1c_1b1a_1918,
        ]);
        // A.
        want.extend([
            0x8786_8584_8382_8180,
            0x8f8e_8d8c_8b8a_8988,
            0x9796_9594_9392_9190,
            0x9f9e_9d9c_9b9a_9998,
        ]);
        // "0123456789": one whole word, then "89" zero-padded.
        want.extend([0x3736_3534_3332_3130, 0x0000_0000_0000_3938]);
        assert_eq!(words, want);

        // Every profile's code, and an empty message: header, word 1, 12 key words.
        for (p, code) in [
            (Profile::Strict, 0u64),
            (Profile::Rfc8032, 1),
            (Profile::Zip215, 2),
        ] {
            assert_eq!(u64::from(profile_code(p)), code);
            let f = verify(1, profile_code(p), &pubkey, &signature, b"");
            assert_eq!(f.len(), 14 * 8);
            assert_eq!(le(&f[..8]), (1 << 32) | 4);
            assert_eq!(le(&f[8..16]), code << 32);
            assert_eq!(&f[16..48], &signature[32..]);
            assert_eq!(&f[48..80], &signature[..32]);
            assert_eq!(&f[80..], &pubkey);
        }
        // A code the card may not know goes as given; 8 message bytes are one word.
        let f = verify(u32::MAX, 0xff, &pubkey, &signature, &[0xee; 8]);
        assert_eq!(le(&f[..8]), 0xffff_ffff_0000_0004);
        assert_eq!(le(&f[8..16]), 0x0000_00ff_0000_0008);
        assert_eq!(f.len(), 15 * 8);
        assert_eq!(&f[112..], &[0xee; 8]);
    }

    #[test]
    fn verify_payloads_are_one_word_with_only_bit_0() {
        assert_eq!(payload_verify(&[1]), Ok(true));
        assert_eq!(payload_verify(&[0]), Ok(false));
        for word in [2, 3, 1 << 63, u64::MAX, 0x100] {
            assert_eq!(
                payload_verify(&[word]),
                Err(ProtocolError::ReservedBits {
                    opcode: "VERIFY",
                    word
                })
            );
        }
        for len in [0usize, 2, 4] {
            assert_eq!(
                payload_verify(&vec![1; len]),
                Err(ProtocolError::PayloadLength {
                    opcode: "VERIFY",
                    expected: 1,
                    actual: len
                })
            );
        }
        // Through decode: a whole VERIFY response.
        let r = decode(&frame(&[header(4, 0, 1, 9), 1])).unwrap();
        assert_eq!((r.tag, r.opcode), (9, 4));
        assert_eq!(payload_verify(&r.payload), Ok(true));
    }

    #[test]
    fn every_status_maps_to_its_typed_error() {
        for code in 1..=255u8 {
            let r = Response {
                tag: 0,
                opcode: 1,
                status: code,
                payload: vec![],
            };
            match r.into_result() {
                Err(CardError::Status { code: c, name }) => {
                    assert_eq!(c, code);
                    assert_eq!(name, status::name(code).unwrap_or("UNKNOWN"));
                }
                other => panic!("status {code}: {other:?}"),
            }
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(r) = decode(&bytes) {
                prop_assert_eq!(bytes.len(), 8 * (1 + r.payload.len()));
                let _ = payload_root(r.opcode, &r.payload);
                let _ = payload_sha512_k(&r.payload);
                let _ = payload_verify(&r.payload);
            }
        }

        #[test]
        fn decode_accepts_well_formed_headers(op: u8, tag: u32, payload in proptest::collection::vec(any::<u64>(), 0..20)) {
            let mut words = vec![header(op, 0, payload.len() as u16, tag)];
            words.extend(&payload);
            let r = decode(&frame(&words)).unwrap();
            prop_assert_eq!(r, Response { tag, opcode: op, status: 0, payload });
        }
    }
}
