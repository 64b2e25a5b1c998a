//! Solana wire transactions, parsed in place.
//!
//! A wire transaction is `shortvec signature count || signatures (64 bytes each) ||
//! message`, and the message is `[0x80 | version] || header (3 bytes) || shortvec
//! account key count || keys (32 bytes each) || recent blockhash (32 bytes) || shortvec
//! instruction count || instructions || [v0 only: shortvec lookup count || lookups]`.
//!
//! Design decisions:
//!
//! * **Nothing is copied.** [`parse`] only walks the bytes and returns a [`WireLayout`]
//!   of offsets: the signatures are contiguous, the signers' public keys are the first
//!   `num_required_signatures` account keys (also contiguous), and the message runs to
//!   the end of the transaction. That is all a verifier needs, and it is exactly what
//!   [`crate::BatchBuilder::push_solana`] records, so the raw transaction can be the
//!   Merkle leaf as received.
//! * **The whole message is walked, and must be consumed exactly.** Only the header and
//!   account keys matter for verification, but a transaction with trailing bytes or a
//!   truncated instruction is not one a validator would accept, and signing it valid
//!   would be misleading. Walking it costs a few branches per instruction.
//! * **Structure, not semantics.** The parser checks what it needs to know where the
//!   signers are and that the bytes form exactly one message: shortvecs are canonical
//!   (Solana rejects other encodings, and a second encoding of the signature count,
//!   which no signature covers, would give one signed transaction two different
//!   leaves), the signature count equals
//!   `num_required_signatures` (1..=255), and there are at least that many account
//!   keys. It does not check index bounds, readonly counts or the packet size limit:
//!   those are a runtime's business, and a signature over such a message is still a
//!   valid signature.
//! * **Only version 0 is accepted** among versioned messages: a later version may lay
//!   the message out differently, and guessing would locate the wrong signers.
//! * **Legacy messages have at most 127 signers**: a first message byte with the high
//!   bit set announces a versioned message, so a legacy header cannot start with one.
//! * **No panics on any input.** All reads go through a bounds-checked cursor; counts
//!   are at most `0xffff` times at most 64 bytes, so no arithmetic can overflow, and
//!   checked arithmetic is used anyway.
//!
//! [`parse_base64_lines`] reads the usual text form (one base64 transaction per line),
//! and [`MessageSpec`], [`encode_transaction`] and [`encode_shortvec`] build wire
//! transactions for tests and the synthetic generator.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

use crate::batch::{Batch, BatchBuilder, BatchError, PUBKEY_LEN, SIG_LEN};

/// Where things sit inside one wire transaction (offsets from its first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireLayout {
    /// Offset of the first signature; signature i is at `signatures_at + 64 * i`.
    pub signatures_at: usize,
    /// Number of signatures = number of required signers.
    pub signer_count: usize,
    /// Offset of the message (it runs to the end of the transaction).
    pub message_at: usize,
    /// Offset of the first account key; signer i's key is at `pubkeys_at + 32 * i`.
    pub pubkeys_at: usize,
}

/// The part of a wire transaction being read when something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The shortvec signature count.
    SignatureCount,
    /// The signatures.
    Signatures,
    /// The version prefix and the three header bytes.
    Header,
    /// The shortvec account key count.
    AccountKeyCount,
    /// The account keys.
    AccountKeys,
    /// The recent blockhash.
    RecentBlockhash,
    /// The shortvec instruction count.
    InstructionCount,
    /// An instruction's program id index.
    ProgramIdIndex,
    /// An instruction's account indexes (count and bytes).
    InstructionAccounts,
    /// An instruction's data (length and bytes).
    InstructionData,
    /// The shortvec address table lookup count (v0).
    LookupCount,
    /// An address table lookup's account key (v0).
    LookupAccountKey,
    /// An address table lookup's writable indexes (v0).
    LookupWritable,
    /// An address table lookup's readonly indexes (v0).
    LookupReadonly,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::SignatureCount => "the signature count",
            Field::Signatures => "the signatures",
            Field::Header => "the message header",
            Field::AccountKeyCount => "the account key count",
            Field::AccountKeys => "the account keys",
            Field::RecentBlockhash => "the recent blockhash",
            Field::InstructionCount => "the instruction count",
            Field::ProgramIdIndex => "an instruction's program id index",
            Field::InstructionAccounts => "an instruction's account indexes",
            Field::InstructionData => "an instruction's data",
            Field::LookupCount => "the address table lookup count",
            Field::LookupAccountKey => "an address table lookup's account key",
            Field::LookupWritable => "an address table lookup's writable indexes",
            Field::LookupReadonly => "an address table lookup's readonly indexes",
        })
    }
}

/// Why a shortvec (Solana compact-u16) does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShortvecError {
    /// The input ended inside the shortvec.
    #[error("truncated shortvec")]
    Truncated,
    /// A continuation byte was followed by a zero byte (the value has a shorter form).
    #[error("non-minimal shortvec encoding")]
    NonMinimal,
    /// The third byte has its continuation bit set.
    #[error("shortvec longer than 3 bytes")]
    TooLong,
    /// Three bytes that encode more than `0xffff`.
    #[error("shortvec value exceeds 0xffff")]
    Overflow,
}

/// Why a wire transaction does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes ended early.
    #[error("truncated while reading {0}")]
    Truncated(Field),
    /// A length or count is not a canonical shortvec.
    #[error("{error} in {field}")]
    BadShortvec {
        /// Which count.
        field: Field,
        /// What is wrong with it.
        error: ShortvecError,
    },
    /// A versioned message of a version other than 0.
    #[error("unsupported message version {0}")]
    UnsupportedVersion(u8),
    /// `num_required_signatures` is 0.
    #[error("num_required_signatures is 0: a transaction needs a signer")]
    NoSigners,
    /// The number of signatures is not `num_required_signatures`.
    #[error("signature count {signatures} does not match num_required_signatures {required}")]
    SignatureCountMismatch {
        /// Signatures present.
        signatures: usize,
        /// Signatures the header asks for.
        required: u8,
    },
    /// Fewer account keys than signers.
    #[error("{keys} account keys, fewer than num_required_signatures {required}")]
    TooFewAccountKeys {
        /// Account keys present.
        keys: usize,
        /// Signers the header asks for.
        required: u8,
    },
    /// Bytes after the end of the message.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
}

/// Decodes a shortvec at the start of `buf`: returns the value and how many bytes it
/// took. Accepts only the canonical encoding (1 to 3 bytes, minimal, at most `0xffff`).
pub fn decode_shortvec(buf: &[u8]) -> Result<(u16, usize), ShortvecError> {
    let mut value: u32 = 0;
    for (i, shift) in [(0usize, 0u32), (1, 7), (2, 14)] {
        let byte = *buf.get(i).ok_or(ShortvecError::Truncated)?;
        // A zero byte after a continuation adds no bits: the shorter form was possible.
        if i > 0 && byte == 0 {
            return Err(ShortvecError::NonMinimal);
        }
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            let value = u16::try_from(value).map_err(|_| ShortvecError::Overflow)?;
            return Ok((value, i + 1));
        }
    }
    Err(ShortvecError::TooLong)
}

/// Appends the canonical shortvec encoding of `n` to `out` (1 to 3 bytes).
pub fn encode_shortvec(n: u16, out: &mut Vec<u8>) {
    let mut rest = n;
    loop {
        let [low, _] = (rest & 0x7f).to_le_bytes();
        rest >>= 7;
        if rest == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// A bounds-checked cursor over one transaction.
struct Reader<'a> {
    raw: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a [u8] {
        self.raw.get(self.pos..).unwrap_or_default()
    }

    fn byte(&mut self, field: Field) -> Result<u8, WireError> {
        let byte = *self.rest().first().ok_or(WireError::Truncated(field))?;
        self.pos += 1;
        Ok(byte)
    }

    fn take(&mut self, n: usize, field: Field) -> Result<&'a [u8], WireError> {
        let (head, _) = self
            .rest()
            .split_at_checked(n)
            .ok_or(WireError::Truncated(field))?;
        self.pos += n;
        Ok(head)
    }

    /// Skips `count` items of `size` bytes each.
    fn skip_items(&mut self, count: usize, size: usize, field: Field) -> Result<(), WireError> {
        let n = count.checked_mul(size).ok_or(WireError::Truncated(field))?;
        self.take(n, field).map(|_| ())
    }

    fn shortvec(&mut self, field: Field) -> Result<usize, WireError> {
        let (value, used) = decode_shortvec(self.rest()).map_err(|error| match error {
            ShortvecError::Truncated => WireError::Truncated(field),
            error => WireError::BadShortvec { field, error },
        })?;
        self.pos += used;
        Ok(usize::from(value))
    }

    /// Skips a shortvec-prefixed array of bytes.
    fn skip_byte_vec(&mut self, field: Field) -> Result<(), WireError> {
        let n = self.shortvec(field)?;
        self.take(n, field).map(|_| ())
    }
}

/// Parses one wire transaction and says where its signatures, signers' keys and
/// message are. See the module docs for what is checked.
pub fn parse(raw: &[u8]) -> Result<WireLayout, WireError> {
    let mut r = Reader { raw, pos: 0 };
    let signer_count = r.shortvec(Field::SignatureCount)?;
    let signatures_at = r.pos;
    r.skip_items(signer_count, SIG_LEN, Field::Signatures)?;
    let message_at = r.pos;

    let first = r.byte(Field::Header)?;
    let versioned = first & 0x80 != 0;
    let required = if versioned {
        let version = first & 0x7f;
        if version != 0 {
            return Err(WireError::UnsupportedVersion(version));
        }
        r.byte(Field::Header)?
    } else {
        first
    };
    let _num_readonly_signed = r.byte(Field::Header)?;
    let _num_readonly_unsigned = r.byte(Field::Header)?;
    if required == 0 {
        return Err(WireError::NoSigners);
    }
    if signer_count != usize::from(required) {
        return Err(WireError::SignatureCountMismatch {
            signatures: signer_count,
            required,
        });
    }

    let keys = r.shortvec(Field::AccountKeyCount)?;
    if keys < usize::from(required) {
        return Err(WireError::TooFewAccountKeys { keys, required });
    }
    let pubkeys_at = r.pos;
    r.skip_items(keys, PUBKEY_LEN, Field::AccountKeys)?;
    r.take(32, Field::RecentBlockhash)?;

    let instructions = r.shortvec(Field::InstructionCount)?;
    for _ in 0..instructions {
        r.byte(Field::ProgramIdIndex)?;
        r.skip_byte_vec(Field::InstructionAccounts)?;
        r.skip_byte_vec(Field::InstructionData)?;
    }

    if versioned {
        let lookups = r.shortvec(Field::LookupCount)?;
        for _ in 0..lookups {
            r.take(32, Field::LookupAccountKey)?;
            r.skip_byte_vec(Field::LookupWritable)?;
            r.skip_byte_vec(Field::LookupReadonly)?;
        }
    }

    let trailing = r.rest().len();
    if trailing != 0 {
        return Err(WireError::TrailingBytes(trailing));
    }
    Ok(WireLayout {
        signatures_at,
        signer_count,
        message_at,
        pubkeys_at,
    })
}

/// Base64, standard alphabet, padding optional (tools differ on whether they emit it).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads one base64 wire transaction per line into a batch, one transaction per line.
///
/// A trailing `"\r"` is stripped and a final newline does not start another line; an
/// empty line elsewhere is a malformed transaction, as is a line that is not base64
/// (its leaf is the line as received) or whose bytes do not [`parse`] (its leaf is the
/// decoded bytes). Only running out of arena space is an error.
pub fn parse_base64_lines(input: &[u8]) -> Result<Batch, BatchError> {
    // Base64 is 4/3 of the bytes it carries: the arena needs at most about 3/4 of input.
    let mut builder = BatchBuilder::with_capacity(super::line_count(input), input.len() / 4 * 3);
    let mut scratch = Vec::new();
    for line in super::lines(input) {
        if line.is_empty() {
            builder.push_malformed("empty line", &[])?;
            continue;
        }
        scratch.clear();
        match BASE64.decode_vec(line, &mut scratch) {
            Ok(()) => builder.push_solana(&scratch)?,
            Err(e) => builder.push_malformed(&format!("bad base64: {e}"), line)?,
        }
    }
    Ok(builder.finish())
}

/// A message to encode, field by field (for tests and the synthetic generator).
///
/// Nothing is validated: encoding a spec that breaks the rules of [`parse`] is how
/// tests make malformed transactions. A legacy spec with 128 or more required
/// signatures encodes a first byte that reads as a version prefix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageSpec {
    /// Versioned message of version 0 (else legacy).
    pub version0: bool,
    /// Header: number of signers, who are the first account keys.
    pub num_required_signatures: u8,
    /// Header: how many of the signers are read-only.
    pub num_readonly_signed: u8,
    /// Header: how many of the other accounts are read-only.
    pub num_readonly_unsigned: u8,
    /// Account keys, signers first.
    pub account_keys: Vec<[u8; 32]>,
    /// The recent blockhash.
    pub recent_blockhash: [u8; 32],
    /// Instructions: (program id index, account indexes, data).
    pub instructions: Vec<(u8, Vec<u8>, Vec<u8>)>,
    /// Address table lookups, v0 only: (table key, writable indexes, readonly indexes).
    pub lookups: Vec<([u8; 32], Vec<u8>, Vec<u8>)>,
}

impl MessageSpec {
    /// The message bytes. Lookups are written only for a v0 message.
    ///
    /// # Panics
    ///
    /// If a list holds more than 65535 items (a shortvec cannot count them). Specs
    /// come from code, not from input.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.version0 {
            out.push(0x80);
        }
        out.extend_from_slice(&[
            self.num_required_signatures,
            self.num_readonly_signed,
            self.num_readonly_unsigned,
        ]);
        encode_len(self.account_keys.len(), &mut out);
        for key in &self.account_keys {
            out.extend_from_slice(key);
        }
        out.extend_from_slice(&self.recent_blockhash);
        encode_len(self.instructions.len(), &mut out);
        for (program, accounts, data) in &self.instructions {
            out.push(*program);
            encode_bytes(accounts, &mut out);
            encode_bytes(data, &mut out);
        }
        if self.version0 {
            encode_len(self.lookups.len(), &mut out);
            for (key, writable, readonly) in &self.lookups {
                out.extend_from_slice(key);
                encode_bytes(writable, &mut out);
                encode_bytes(readonly, &mut out);
            }
        }
        out
    }
}

/// A wire transaction: the signatures, then `message` as given.
///
/// # Panics
///
/// If there are more than 65535 signatures.
pub fn encode_transaction(signatures: &[[u8; 64]], message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 + signatures.len() * SIG_LEN + message.len());
    encode_len(signatures.len(), &mut out);
    for sig in signatures {
        out.extend_from_slice(sig);
    }
    out.extend_from_slice(message);
    out
}

fn encode_len(len: usize, out: &mut Vec<u8>) {
    #[allow(clippy::expect_used)] // documented: encoders take specs from code
    let n = u16::try_from(len).expect("a shortvec counts at most 65535 items");
    encode_shortvec(n, out);
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    encode_len(bytes.len(), out);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shortvec(n: u16) -> Vec<u8> {
        let mut out = Vec::new();
        encode_shortvec(n, &mut out);
        out
    }

    fn sig(k: u8) -> [u8; 64] {
        let mut s = [0u8; 64];
        for (b, i) in s.iter_mut().zip(0u8..) {
            *b = k.wrapping_mul(31).wrapping_add(i);
        }
        s
    }

    fn legacy_spec(signers: u8, extra_keys: u8) -> MessageSpec {
        MessageSpec {
            version0: false,
            num_required_signatures: signers,
            num_readonly_signed: 0,
            num_readonly_unsigned: 1,
            account_keys: (0..signers + extra_keys).map(|k| [k + 1; 32]).collect(),
            recent_blockhash: [0xbb; 32],
            instructions: vec![(signers, vec![0, 1], vec![7; 200]), (0, vec![], vec![])],
            lookups: vec![],
        }
    }

    fn v0_spec() -> MessageSpec {
        MessageSpec {
            version0: true,
            lookups: vec![
                ([0xcc; 32], vec![1, 2, 3], vec![]),
                ([0xdd; 32], vec![], vec![9]),
            ],
            ..legacy_spec(2, 3)
        }
    }

    fn tx(spec: &MessageSpec) -> Vec<u8> {
        let sigs: Vec<_> = (0..spec.num_required_signatures).map(sig).collect();
        encode_transaction(&sigs, &spec.encode())
    }

    /// Checks a parsed layout against the spec it was encoded from.
    fn check_layout(raw: &[u8], spec: &MessageSpec, sigs: &[[u8; 64]]) {
        let layout = parse(raw).unwrap();
        assert_eq!(layout.signer_count, sigs.len());
        assert_eq!(&raw[layout.message_at..], &spec.encode()[..]);
        for (i, s) in sigs.iter().enumerate() {
            let at = layout.signatures_at + 64 * i;
            assert_eq!(&raw[at..at + 64], s);
            let at = layout.pubkeys_at + 32 * i;
            assert_eq!(&raw[at..at + 32], &spec.account_keys[i]);
        }
    }

    #[test]
    fn shortvec_edge_cases() {
        for (n, bytes) in [
            (0u16, &[0x00u8][..]),
            (0x7f, &[0x7f]),
            (0x80, &[0x80, 0x01]),
            (0x3fff, &[0xff, 0x7f]),
            (0x4000, &[0x80, 0x80, 0x01]),
            (0xffff, &[0xff, 0xff, 0x03]),
        ] {
            assert_eq!(shortvec(n), bytes, "encode {n:#x}");
            assert_eq!(
                decode_shortvec(bytes),
                Ok((n, bytes.len())),
                "decode {n:#x}"
            );
            // Bytes after the shortvec are not part of it.
            let mut longer = bytes.to_vec();
            longer.push(0xaa);
            assert_eq!(decode_shortvec(&longer), Ok((n, bytes.len())));
        }
        use ShortvecError::*;
        assert_eq!(decode_shortvec(&[]), Err(Truncated));
        assert_eq!(decode_shortvec(&[0x80]), Err(Truncated));
        assert_eq!(decode_shortvec(&[0xff, 0xff]), Err(Truncated));
        assert_eq!(decode_shortvec(&[0x80, 0x00]), Err(NonMinimal));
        assert_eq!(decode_shortvec(&[0xff, 0x80, 0x00]), Err(NonMinimal));
        assert_eq!(decode_shortvec(&[0x80, 0x80, 0x80, 0x01]), Err(TooLong));
        assert_eq!(decode_shortvec(&[0xff, 0xff, 0xff, 0x03]), Err(TooLong));
        assert_eq!(decode_shortvec(&[0xff, 0xff, 0x04]), Err(Overflow));
        assert_eq!(decode_shortvec(&[0x80, 0x80, 0x7f]), Err(Overflow));
        assert_eq!(NonMinimal.to_string(), "non-minimal shortvec encoding");
    }

    #[test]
    fn shortvec_round_trips_every_value() {
        for n in 0..=u16::MAX {
            let bytes = shortvec(n);
            assert_eq!(decode_shortvec(&bytes), Ok((n, bytes.len())));
        }
    }

    #[test]
    fn legacy_round_trip() {
        let spec = legacy_spec(3, 2);
        let sigs: Vec<_> = (0..3).map(sig).collect();
        let raw = encode_transaction(&sigs, &spec.encode());
        check_layout(&raw, &spec, &sigs);
        let layout = parse(&raw).unwrap();
        assert_eq!(
            layout,
            WireLayout {
                signatures_at: 1,
                signer_count: 3,
                message_at: 1 + 3 * 64,
                pubkeys_at: 1 + 3 * 64 + 3 + 1,
            }
        );
    }

    #[test]
    fn v0_round_trip() {
        let spec = v0_spec();
        let sigs: Vec<_> = (0..2).map(sig).collect();
        let raw = encode_transaction(&sigs, &spec.encode());
        check_layout(&raw, &spec, &sigs);
        assert_eq!(parse(&raw).unwrap().pubkeys_at, 1 + 2 * 64 + 4 + 1);
    }

    #[test]
    fn v0_with_255_signers() {
        let mut spec = v0_spec();
        spec.num_required_signatures = 255;
        spec.account_keys = (0..=255u8).map(|k| [k; 32]).collect();
        let sigs: Vec<_> = (0..255).map(sig).collect();
        let raw = encode_transaction(&sigs, &spec.encode());
        check_layout(&raw, &spec, &sigs);
        assert_eq!(parse(&raw).unwrap().signatures_at, 2);
    }

    #[test]
    fn errors() {
        use Field::*;
        use WireError::*;
        let good = tx(&legacy_spec(1, 1));
        assert!(parse(&good).is_ok());

        assert_eq!(parse(&[]), Err(Truncated(SignatureCount)));
        assert_eq!(parse(&[2; 100]), Err(Truncated(Signatures)));
        assert_eq!(parse(&[0]), Err(Truncated(Header)));
        assert_eq!(
            parse(&[0x80, 0x00]),
            Err(BadShortvec {
                field: SignatureCount,
                error: ShortvecError::NonMinimal
            })
        );

        // Truncation anywhere is reported as such, naming the part being read.
        let spec = v0_spec();
        let raw = tx(&spec);
        let mut seen = std::collections::HashSet::new();
        for cut in 0..raw.len() {
            match parse(&raw[..cut]) {
                Err(Truncated(field)) => {
                    seen.insert(field);
                }
                other => panic!("prefix of {cut} bytes: {other:?}"),
            }
        }
        for field in [
            SignatureCount,
            Signatures,
            Header,
            AccountKeyCount,
            AccountKeys,
            RecentBlockhash,
            InstructionCount,
            ProgramIdIndex,
            InstructionAccounts,
            InstructionData,
            LookupCount,
            LookupAccountKey,
            LookupWritable,
            LookupReadonly,
        ] {
            assert!(seen.contains(&field), "{field} never truncated");
        }
        assert_eq!(
            Truncated(AccountKeys).to_string(),
            "truncated while reading the account keys"
        );

        let mut long = good.clone();
        long.extend_from_slice(&[0, 0, 0]);
        assert_eq!(parse(&long), Err(TrailingBytes(3)));
        assert_eq!(
            TrailingBytes(3).to_string(),
            "3 trailing bytes after the message"
        );
        // A legacy message followed by what would be an (empty) lookup list.
        let mut legacy_plus = good.clone();
        legacy_plus.push(0);
        assert_eq!(parse(&legacy_plus), Err(TrailingBytes(1)));

        // Signature count disagreeing with the header.
        let spec = legacy_spec(1, 1);
        let two = encode_transaction(&[sig(0), sig(1)], &spec.encode());
        let e = parse(&two).unwrap_err();
        assert_eq!(
            e,
            SignatureCountMismatch {
                signatures: 2,
                required: 1
            }
        );
        assert_eq!(
            e.to_string(),
            "signature count 2 does not match num_required_signatures 1"
        );
        let none = encode_transaction(&[], &spec.encode());
        assert!(matches!(parse(&none), Err(SignatureCountMismatch { .. })));

        // Zero signers.
        let mut spec0 = legacy_spec(1, 1);
        spec0.num_required_signatures = 0;
        assert_eq!(
            parse(&encode_transaction(&[], &spec0.encode())),
            Err(NoSigners)
        );
        spec0.version0 = true;
        assert_eq!(
            parse(&encode_transaction(&[], &spec0.encode())),
            Err(NoSigners)
        );

        // Unsupported version.
        let mut msg = legacy_spec(1, 1).encode();
        msg.insert(0, 0x81);
        let e = parse(&encode_transaction(&[sig(0)], &msg)).unwrap_err();
        assert_eq!(e, UnsupportedVersion(1));
        assert_eq!(e.to_string(), "unsupported message version 1");
        msg[0] = 0xff;
        assert_eq!(
            parse(&encode_transaction(&[sig(0)], &msg)),
            Err(UnsupportedVersion(127))
        );

        // Fewer account keys than signers.
        let mut few = legacy_spec(3, 0);
        few.account_keys.truncate(2);
        let sigs: Vec<_> = (0..3).map(sig).collect();
        assert_eq!(
            parse(&encode_transaction(&sigs, &few.encode())),
            Err(TooFewAccountKeys {
                keys: 2,
                required: 3
            })
        );

        // Non-canonical shortvecs inside the message.
        let mut spec = legacy_spec(1, 0);
        spec.instructions.clear();
        let mut raw = tx(&spec);
        let count_at = raw.len() - 1;
        assert_eq!(raw[count_at], 0);
        raw[count_at] = 0x80;
        raw.push(0x00);
        assert_eq!(
            parse(&raw),
            Err(BadShortvec {
                field: InstructionCount,
                error: ShortvecError::NonMinimal
            })
        );
        raw.truncate(count_at);
        raw.extend_from_slice(&[0xff, 0xff, 0x04]);
        assert_eq!(
            parse(&raw),
            Err(BadShortvec {
                field: InstructionCount,
                error: ShortvecError::Overflow
            })
        );
        raw.truncate(count_at);
        raw.extend_from_slice(&[0x80, 0x80, 0x80, 0x01]);
        assert_eq!(
            parse(&raw),
            Err(BadShortvec {
                field: InstructionCount,
                error: ShortvecError::TooLong
            })
        );
    }

    #[test]
    fn base64_lines() {
        let a = tx(&legacy_spec(1, 0));
        let b = tx(&v0_spec());
        let padded = base64::engine::general_purpose::STANDARD.encode(&a);
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&b);
        assert!(
            padded.ends_with('=') || !unpadded.len().is_multiple_of(4) || a.len().is_multiple_of(3)
        );
        let input = format!("{padded}\r\n{unpadded}\n\n!!notbase64\n{padded}");
        let batch = parse_base64_lines(input.as_bytes()).unwrap();
        assert_eq!(batch.len(), 5);
        assert_eq!(batch.error(0), None);
        assert_eq!(batch.leaves().get(0), &a[..]);
        assert_eq!(batch.error(1), None);
        assert_eq!(batch.leaves().get(1), &b[..]);
        assert_eq!(batch.signers_of(1).len(), 2);
        assert_eq!(batch.pubkey(2), &[2u8; 32]);
        assert_eq!(batch.error(2), Some("empty line"));
        assert!(batch.error(3).unwrap().starts_with("bad base64: "));
        assert_eq!(batch.leaves().get(3), b"!!notbase64");
        assert_eq!(batch.error(4), None);

        // A transaction that decodes but does not parse keeps its bytes as its leaf.
        let bad = base64::engine::general_purpose::STANDARD.encode([1u8, 2, 3]);
        let batch = parse_base64_lines(format!("{bad}\n").as_bytes()).unwrap();
        assert_eq!(batch.len(), 1);
        assert_eq!(
            batch.error(0),
            Some("solana: truncated while reading the signatures")
        );
        assert_eq!(batch.leaves().get(0), &[1, 2, 3]);

        assert_eq!(parse_base64_lines(b"").unwrap().len(), 0);
        assert_eq!(parse_base64_lines(b"\n").unwrap().len(), 1);
        assert_eq!(parse_base64_lines(b"\r\n\r\n").unwrap().len(), 2);
    }

    fn key() -> impl Strategy<Value = [u8; 32]> {
        any::<[u8; 32]>()
    }

    fn signature() -> impl Strategy<Value = [u8; 64]> {
        (key(), key()).prop_map(|(a, b)| {
            let mut s = [0u8; 64];
            s[..32].copy_from_slice(&a);
            s[32..].copy_from_slice(&b);
            s
        })
    }

    fn index_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..max)
    }

    /// Valid transactions: (message spec, signatures). Data up to 300 bytes so that
    /// two-byte shortvecs appear.
    fn valid_tx() -> impl Strategy<Value = (MessageSpec, Vec<[u8; 64]>)> {
        (any::<bool>(), 1u8..=10, 0usize..4)
            .prop_flat_map(|(version0, required, extra)| {
                let keys = usize::from(required) + extra;
                (
                    Just(version0),
                    Just(required),
                    any::<(u8, u8)>(),
                    prop::collection::vec(key(), keys),
                    key(),
                    prop::collection::vec((any::<u8>(), index_bytes(8), index_bytes(300)), 0..4),
                    prop::collection::vec((key(), index_bytes(6), index_bytes(6)), 0..3),
                    prop::collection::vec(signature(), usize::from(required)),
                )
            })
            .prop_map(
                |(version0, required, (ro_s, ro_u), keys, hash, ixs, lookups, sigs)| {
                    let spec = MessageSpec {
                        version0,
                        num_required_signatures: required,
                        num_readonly_signed: ro_s,
                        num_readonly_unsigned: ro_u,
                        account_keys: keys,
                        recent_blockhash: hash,
                        instructions: ixs,
                        lookups: if version0 { lookups } else { vec![] },
                    };
                    (spec, sigs)
                },
            )
    }

    fn line_count(input: &[u8]) -> usize {
        if input.is_empty() {
            0
        } else {
            input.iter().filter(|&&b| b == b'\n').count() + usize::from(!input.ends_with(b"\n"))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(layout) = parse(&raw) {
                prop_assert!(layout.signatures_at + 64 * layout.signer_count <= layout.message_at);
                prop_assert!(layout.pubkeys_at + 32 * layout.signer_count <= raw.len());
                prop_assert!(layout.signer_count >= 1);
            }
            let batch = parse_base64_lines(&raw).unwrap();
            prop_assert_eq!(batch.len(), line_count(&raw));
        }

        #[test]
        fn base64_like_lines_never_panic(
            text in "([A-Za-z0-9+/=]{0,40}\r?\n){0,6}[A-Za-z0-9+/=]{0,40}"
        ) {
            let batch = parse_base64_lines(text.as_bytes()).unwrap();
            prop_assert_eq!(batch.len(), line_count(text.as_bytes()));
        }

        #[test]
        fn valid_transactions_round_trip((spec, sigs) in valid_tx()) {
            let raw = encode_transaction(&sigs, &spec.encode());
            check_layout(&raw, &spec, &sigs);

            // Through the text form and the batch builder.
            let line = BASE64.encode(&raw);
            let input = format!("{line}\n{}\n", line.trim_end_matches('='));
            let batch = parse_base64_lines(input.as_bytes()).unwrap();
            prop_assert_eq!(batch.len(), 2);
            for tx in 0..2 {
                prop_assert_eq!(batch.error(tx), None);
                prop_assert_eq!(batch.message(tx), &spec.encode()[..]);
                let signers = batch.signers_of(tx);
                prop_assert_eq!(signers.len(), sigs.len());
                for (i, s) in signers.enumerate() {
                    prop_assert_eq!(batch.signature(s), &sigs[i]);
                    prop_assert_eq!(batch.pubkey(s), &spec.account_keys[i]);
                }
            }
        }

        #[test]
        fn mutated_transactions_never_panic(
            (spec, sigs) in valid_tx(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut raw = encode_transaction(&sigs, &spec.encode());
            for (at, byte) in edits {
                let i = at.index(raw.len());
                raw[i] = byte;
            }
            let _ = parse(&raw);
            // Every strict prefix of a transaction is truncated, never valid.
            let full = encode_transaction(&sigs, &spec.encode());
            let cut = cut.index(full.len());
            prop_assert!(matches!(parse(&full[..cut]), Err(WireError::Truncated(_))));
        }
    }
}
