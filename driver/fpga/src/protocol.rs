//! The stream framing: encoding requests and decoding responses.
//!
//! Both directions carry 64-bit little-endian words; a byte string is laid into words
//! byte `i` at bits `8i+7:8i` (so its bytes go as-is) and its last word is zero-padded.
//! A request is
//!
//! ```text
//! word 0   opcode (7:0), tag (63:32), every other bit zero
//! word 1   count: leaves (MERKLE_ROOT), nodes (MERKLE_NODES) or message bytes (SHA512_K)
//! payload  MERKLE_ROOT:  per leaf a length word, then ceil(len / 8) words of its bytes
//!          MERKLE_NODES: 4 words per 32-byte node
//!          SHA512_K:     ceil(len / 8) words of the message
//! ```
//!
//! and a response is
//!
//! ```text
//! word 0   opcode (7:0), status (15:8), payload words (31:16), tag (63:32)
//! payload  OK: MERKLE_*: 4 words, the root; SHA512_K: 8 words digest, then 4 words k
//!          any other status: empty
//! ```
//!
//! Decoding trusts nothing: a response is checked for whole words, a declared length
//! equal to the frame's, and an empty payload on error statuses, and every violation is
//! a [`ProtocolError`]. What a payload must contain for its opcode is checked by
//! [`payload_root`] and [`payload_sha512_k`].

use vigil_core::Leaves;

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
        let mut frame = Frame(Vec::with_capacity((2 + payload_words) * WORD_BYTES));
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
