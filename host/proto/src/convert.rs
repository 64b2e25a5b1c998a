//! Requests into flat batches and verdicts back into responses.
//!
//! The daemon (which coalesces many requests into one batch) and the client library
//! (whose local CPU fallback must give the appliance's exact answer) both turn a
//! `VerifyRequest` into batch entries here, so the two cannot disagree on what is
//! malformed or why.
//!
//! # Response sizes
//!
//! A response must be bounded before it is built: a 2 MB request of a million
//! transactions without signers once made 42 MB of per-transaction reasons, more than
//! the transport would send, so no verdict came back at all. [`check`] therefore counts
//! what the response will carry (signature verdicts and malformed transactions, by the
//! same rules [`push_request`] applies), [`response_bound`] turns that into an upper
//! bound on the encoded `VerifyResponse`, and [`check_limits`] refuses a request whose
//! response could pass the message size limit, or that has more transactions than one
//! request may. The bound holds because [`verify_response`] (which [`response_for`]
//! calls, and which a server that splits verdicts itself calls directly) cuts every
//! reason to [`MAX_REASON_BYTES`] and the backend name to [`MAX_BACKEND_NAME_BYTES`];
//! every reason this crate and `vigil_core` produce on the request path is shorter than
//! that, so in practice nothing is cut (the property tests check both).
//! [`merkle_response_len`] is the same for the Merkle RPC, exactly.

use std::ops::Range;

use prost::encoding::encoded_len_varint;
use vigil_core::batch::{MAX_SIGNERS, PUBKEY_LEN, SIG_LEN};
use vigil_core::{Batch, BatchBuilder, BatchError, Profile, Signer, Verdicts};

use crate::v1::{Transaction, VerifyRequest, VerifyResponse};
use crate::{profile_from_wire, ProfileError};

/// Why a whole request is refused (INVALID_ARGUMENT): nothing in it is verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The profile field does not name a profile.
    #[error("{0}")]
    Profile(#[from] ProfileError),
    /// Both transaction forms are present.
    #[error(
        "a request uses one transaction form: it has {generic} `transactions` and \
         {solana} `solana_transactions`"
    )]
    BothForms {
        /// Entries in `transactions`.
        generic: usize,
        /// Entries in `solana_transactions`.
        solana: usize,
    },
}

/// A request that passed the request-level checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The profile it names.
    pub profile: Profile,
    /// How many transactions it carries.
    pub transactions: usize,
    /// How many signatures will be verified: what each well-formed entry declares; a
    /// malformed entry has none verified, whatever it declares. Exactly the signature
    /// verdicts its response carries (`Batch::signature_count` of what [`push_request`]
    /// builds), and what admission control charges the request.
    pub signatures: usize,
    /// How many transactions [`push_request`] will record as malformed (each answered
    /// with a reason and no signature verdicts).
    pub malformed: usize,
    /// Bytes of transaction data it carries (messages, keys, signatures, wire bytes).
    pub bytes: usize,
}

/// Checks the request-level rules (a named profile and at most one transaction form)
/// and counts what the request will cost and what its response will carry.
///
/// Each entry is classified by the rules [`push_request`] applies (a Solana entry is
/// parsed; the batch builder parses it again later, which costs a few branches per
/// instruction against tens of microseconds per signature). Counting declared signers
/// instead would let a three-byte Solana entry that declares 65,535 signatures be
/// charged, and bounded, as 65,535 verdicts it will never get.
pub fn check(req: &VerifyRequest) -> Result<Checked, RequestError> {
    let profile = profile_from_wire(req.profile)?;
    let (generic, solana) = (req.transactions.len(), req.solana_transactions.len());
    if generic > 0 && solana > 0 {
        return Err(RequestError::BothForms { generic, solana });
    }
    let (mut signatures, mut malformed, mut bytes) = (0usize, 0usize, 0usize);
    for tx in &req.transactions {
        let signer_bytes: usize = tx
            .signers
            .iter()
            .map(|x| x.pubkey.len() + x.signature.len())
            .sum();
        bytes += tx.message.len() + signer_bytes + 1;
        if generic_is_well_formed(tx) {
            signatures += tx.signers.len();
        } else {
            malformed += 1;
        }
    }
    for raw in &req.solana_transactions {
        bytes += raw.len();
        match vigil_core::input::solana::parse(raw) {
            Ok(layout) => signatures += layout.signer_count,
            Err(_) => malformed += 1,
        }
    }
    Ok(Checked {
        profile,
        transactions: generic + solana,
        signatures,
        malformed,
        bytes,
    })
}

/// Whether [`push_transaction`] adds `tx` with its signers rather than as malformed:
/// 1 to [`MAX_SIGNERS`] signers (`push_generic` refuses 0), each key and signature of
/// the right length.
fn generic_is_well_formed(tx: &Transaction) -> bool {
    (1..=MAX_SIGNERS).contains(&tx.signers.len())
        && tx
            .signers
            .iter()
            .all(|s| s.pubkey.len() == PUBKEY_LEN && s.signature.len() == SIG_LEN)
}

/// The default of `--max-request-transactions`: most transactions one request may carry.
///
/// One request is one response and one slice of a batch, built whole in memory; a larger
/// job is split by the client into several requests, which the appliance coalesces
/// again. At 65,536 the worst response (every transaction malformed, each with a reason
/// of [`MAX_REASON_BYTES`]) stays near 8.5 MB, inside the daemon's default 16 MiB
/// message limit.
pub const DEFAULT_MAX_REQUEST_TRANSACTIONS: usize = 65_536;

/// Longest per-transaction reason a `VerifyResponse` carries, in bytes; a longer one is
/// cut at a character boundary. 127 keeps each reason's length prefix one byte; the
/// longest reason the request path produces today is under 100 bytes.
pub const MAX_REASON_BYTES: usize = 127;

/// Longest backend name a `VerifyResponse` carries, in bytes (`cpu`, `cuda`, `local-cpu`
/// are far shorter); a longer one is cut at a character boundary.
pub const MAX_BACKEND_NAME_BYTES: usize = 64;

/// Why a request is refused before any work (INVALID_ARGUMENT): it is too big for one
/// request or for one response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// More transactions than one request may carry.
    #[error(
        "the request has {transactions} transactions, over the limit of {limit} per \
         request (--max-request-transactions): split it into several requests"
    )]
    TooManyTransactions {
        /// Transactions in the request.
        transactions: usize,
        /// The limit.
        limit: usize,
    },
    /// Its response could pass the message size limit.
    #[error(
        "the response to this request could take {bound} bytes ({transactions} \
         transactions, {malformed} of them malformed, {signatures} signatures), over the \
         message size limit of {limit} bytes (--max-message-bytes): split it into several \
         requests"
    )]
    ResponseTooLarge {
        /// [`response_bound`] of the request.
        bound: usize,
        /// Transactions in the request.
        transactions: usize,
        /// Malformed transactions among them (each may carry a reason).
        malformed: usize,
        /// Signature verdicts the response carries.
        signatures: usize,
        /// The limit.
        limit: usize,
    },
}

/// Refuses a request with more than `max_transactions` transactions, or whose response
/// could be larger than `max_response_bytes` (see [`response_bound`]).
pub fn check_limits(
    checked: &Checked,
    max_transactions: usize,
    max_response_bytes: usize,
) -> Result<(), LimitError> {
    if checked.transactions > max_transactions {
        return Err(LimitError::TooManyTransactions {
            transactions: checked.transactions,
            limit: max_transactions,
        });
    }
    let bound = response_bound(checked);
    if bound > max_response_bytes {
        return Err(LimitError::ResponseTooLarge {
            bound,
            transactions: checked.transactions,
            malformed: checked.malformed,
            signatures: checked.signatures,
            limit: max_response_bytes,
        });
    }
    Ok(())
}

/// Bytes of a field key with a field number below 16 (every field here).
const KEY: usize = 1;

/// Bytes of a length-delimited field (key, length, payload) of `len` payload bytes.
fn delimited(len: usize) -> usize {
    KEY.saturating_add(encoded_len_varint(len as u64))
        .saturating_add(len)
}

/// Bytes of a packed `repeated bool` of `n` entries (nothing when empty).
fn packed_bools(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        delimited(n)
    }
}

/// An upper bound on `encoded_len()` of the `VerifyResponse` that [`response_for`]
/// makes for the request `checked` describes (a response without `status`).
///
/// Field by field (every key is one byte): `id` at most 1 + 10 (a varint of up to 64
/// bits); `valid` packed, one byte per transaction plus its key and length; likewise
/// `signature_valid` with exactly `checked.signatures` entries (see [`Checked`]);
/// `merkle_root` 1 + 1 + 32 (counted whether asked for or not); `backend` at most
/// [`MAX_BACKEND_NAME_BYTES`] with its key and length; `errors` one entry per
/// transaction, which prost writes even when empty (key and a zero length, 2 bytes) for
/// a well-formed transaction, and at most key, length and [`MAX_REASON_BYTES`] for a
/// malformed one. Arithmetic saturates, so an absurd request gives `usize::MAX`, never a
/// small number.
pub fn response_bound(checked: &Checked) -> usize {
    let transactions = checked.transactions;
    let malformed = checked.malformed.min(transactions);
    let id = KEY + 10;
    let merkle_root = delimited(32);
    let backend = delimited(MAX_BACKEND_NAME_BYTES);
    let errors = (transactions - malformed)
        .saturating_mul(delimited(0))
        .saturating_add(malformed.saturating_mul(delimited(MAX_REASON_BYTES)));
    [
        packed_bools(transactions),
        packed_bools(checked.signatures),
        errors,
    ]
    .into_iter()
    .fold(id + merkle_root + backend, usize::saturating_add)
}

/// `encoded_len()` of a `MerkleResponse` with a 32-byte root, the backend name `backend`,
/// and one proof per item of `proofs`, given as `(index, tree_size, path length)` with
/// 32-byte path hashes: exact (the tests compare it with prost's), so a server can refuse
/// a response before it computes any of it. Saturates instead of overflowing.
///
/// Field by field: `root` 1 + 1 + 32; each proof is an embedded message (key, length,
/// body) written even when its body is empty, whose body is `index` and `tree_size` as
/// varints with their keys (each left out when 0, as proto3 does) and one entry of
/// 1 + 1 + 32 bytes per path hash; `backend` with key and length unless empty.
pub fn merkle_response_len(
    backend: &str,
    proofs: impl IntoIterator<Item = (u64, u64, usize)>,
) -> usize {
    let varint_field = |v: u64| {
        if v == 0 {
            0
        } else {
            KEY + encoded_len_varint(v)
        }
    };
    let backend = if backend.is_empty() {
        0
    } else {
        delimited(backend.len())
    };
    proofs
        .into_iter()
        .map(|(index, tree_size, path)| {
            let body = (varint_field(index) + varint_field(tree_size))
                .saturating_add(path.saturating_mul(delimited(32)));
            delimited(body)
        })
        .fold(delimited(32).saturating_add(backend), usize::saturating_add)
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn truncated(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Appends every transaction of `req` to `builder`, in order. A transaction that is
/// malformed (a key or signature of the wrong length, no signers, a Solana entry that
/// does not parse) is recorded as such with its reason; only running out of batch space
/// is an error. `scratch` is reused between calls to avoid allocating per transaction.
pub fn push_request(
    builder: &mut BatchBuilder,
    req: &VerifyRequest,
    scratch: &mut Vec<Signer>,
) -> Result<(), BatchError> {
    for tx in &req.transactions {
        push_transaction(builder, tx, scratch)?;
    }
    for raw in &req.solana_transactions {
        builder.push_solana(raw)?;
    }
    Ok(())
}

fn push_transaction(
    builder: &mut BatchBuilder,
    tx: &Transaction,
    scratch: &mut Vec<Signer>,
) -> Result<(), BatchError> {
    scratch.clear();
    if tx.signers.len() > MAX_SIGNERS {
        let reason = format!(
            "a transaction has 1 to {MAX_SIGNERS} signers, this one has {}",
            tx.signers.len()
        );
        return builder.push_malformed(&reason, &[]);
    }
    for (i, signer) in tx.signers.iter().enumerate() {
        let (Ok(pubkey), Ok(signature)) = (
            <[u8; PUBKEY_LEN]>::try_from(signer.pubkey.as_ref()),
            <[u8; SIG_LEN]>::try_from(signer.signature.as_ref()),
        ) else {
            let reason = if signer.pubkey.len() != PUBKEY_LEN {
                format!(
                    "signers[{i}].pubkey must be {PUBKEY_LEN} bytes, got {}",
                    signer.pubkey.len()
                )
            } else {
                format!(
                    "signers[{i}].signature must be {SIG_LEN} bytes, got {}",
                    signer.signature.len()
                )
            };
            return builder.push_malformed(&reason, &[]);
        };
        scratch.push(Signer { pubkey, signature });
    }
    builder.push_generic(&tx.message, scratch)
}

/// The transactions of `batch` as a request in the form they were built from: a batch
/// built with `push_solana` gives Solana wire entries (each leaf is the raw wire bytes),
/// one built with `push_generic` gives generic transactions. A transaction the batch
/// holds as malformed goes out as its leaf bytes in the Solana form, and as a message
/// with no signers in the generic form, so it is malformed on arrival too. For test
/// clients and load generators, which build batches with [`vigil_core::synth`].
pub fn request_from_batch(id: u64, profile: Profile, batch: &Batch, solana: bool) -> VerifyRequest {
    let leaves = batch.leaves();
    let mut req = VerifyRequest {
        id,
        profile: crate::profile_to_wire(profile) as i32,
        ..VerifyRequest::default()
    };
    for tx in 0..batch.len() {
        if solana {
            req.solana_transactions
                .push(bytes::Bytes::copy_from_slice(leaves.get(tx)));
        } else {
            req.transactions.push(Transaction {
                message: bytes::Bytes::copy_from_slice(batch.message(tx)),
                signers: batch
                    .signers_of(tx)
                    .map(|s| crate::v1::Signer {
                        pubkey: bytes::Bytes::copy_from_slice(batch.pubkey(s)),
                        signature: bytes::Bytes::copy_from_slice(batch.signature(s)),
                    })
                    .collect(),
            });
        }
    }
    req
}

/// The response for the transactions `txs` of `batch` (one request's share of a
/// coalesced batch). Reasons and the backend name are cut to [`MAX_REASON_BYTES`] and
/// [`MAX_BACKEND_NAME_BYTES`], which is what makes [`response_bound`] hold.
pub fn response_for(
    id: u64,
    batch: &Batch,
    verdicts: &Verdicts,
    txs: Range<usize>,
    backend: &str,
    merkle_root: Option<[u8; 32]>,
) -> VerifyResponse {
    let sigs = batch.signers_of_range(&txs);
    verify_response(
        id,
        verdicts.transaction_valid[txs.clone()].to_vec(),
        verdicts.signature_valid[sigs].to_vec(),
        txs.map(|tx| batch.error(tx).unwrap_or_default().to_string())
            .collect(),
        backend,
        merkle_root,
    )
}

/// The response carrying verdicts already split out of their batch: `valid` and
/// `errors` (empty for a well-formed transaction) one per transaction, `signature_valid`
/// one per signature. Reasons and the backend name are cut as [`response_for`] cuts them
/// (each reason in place), so a response built from the same verdicts either way is the
/// same, and [`response_bound`] holds for both.
pub fn verify_response(
    id: u64,
    valid: Vec<bool>,
    signature_valid: Vec<bool>,
    mut errors: Vec<String>,
    backend: &str,
    merkle_root: Option<[u8; 32]>,
) -> VerifyResponse {
    for error in &mut errors {
        let keep = truncated(error, MAX_REASON_BYTES).len();
        error.truncate(keep);
    }
    VerifyResponse {
        id,
        valid,
        signature_valid,
        merkle_root: merkle_root
            .map(|r| bytes::Bytes::copy_from_slice(&r))
            .unwrap_or_default(),
        backend: truncated(backend, MAX_BACKEND_NAME_BYTES).to_string(),
        errors,
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{InclusionProof, MerkleResponse, Signer as WireSigner};
    use bytes::Bytes;
    use prost::Message as _;

    fn signer(pk: usize, sig: usize) -> WireSigner {
        WireSigner {
            pubkey: Bytes::from(vec![1; pk]),
            signature: Bytes::from(vec![2; sig]),
        }
    }

    fn request(txs: Vec<Transaction>, solana: Vec<Bytes>) -> VerifyRequest {
        VerifyRequest {
            id: 9,
            profile: crate::v1::Profile::Strict as i32,
            transactions: txs,
            solana_transactions: solana,
            want_merkle_root: false,
        }
    }

    #[test]
    fn batch_to_request_and_back_is_the_same_batch() {
        for format in [
            vigil_core::synth::Format::Jsonl,
            vigil_core::synth::Format::Solana,
        ] {
            let spec = vigil_core::synth::SynthSpec {
                count: 20,
                profile: Profile::Strict,
                invalid_fraction: 0.3,
                msg_len: 0..=300,
                signers: 2,
                format,
                seed: 5,
            };
            let batch = vigil_core::synth::batch(&spec).unwrap();
            let solana = format == vigil_core::synth::Format::Solana;
            let req = request_from_batch(3, Profile::Strict, &batch, solana);
            assert_eq!(check(&req).unwrap().signatures, batch.signature_count());
            let mut builder = BatchBuilder::default();
            push_request(&mut builder, &req, &mut Vec::new()).unwrap();
            let again = builder.finish();
            assert_eq!(again.leaves().arena(), batch.leaves().arena());
            assert_eq!(again.signature_count(), batch.signature_count());
        }
    }

    #[test]
    fn request_level_rules() {
        let tx = Transaction {
            message: Bytes::from_static(b"m"),
            signers: vec![signer(32, 64), signer(32, 64)],
        };
        let ok = check(&request(vec![tx.clone()], vec![])).unwrap();
        assert_eq!(
            (ok.profile, ok.transactions, ok.signatures),
            (Profile::Strict, 1, 2)
        );
        assert_eq!(ok.bytes, 1 + 1 + 2 * 96);
        let both = check(&request(vec![tx], vec![Bytes::from_static(b"\x01")]));
        assert!(matches!(
            both,
            Err(RequestError::BothForms {
                generic: 1,
                solana: 1
            })
        ));
        let mut unspecified = request(vec![], vec![]);
        unspecified.profile = 0;
        assert_eq!(
            check(&unspecified),
            Err(RequestError::Profile(ProfileError::Unspecified))
        );
    }

    #[test]
    fn malformed_entries_are_marked_and_the_rest_kept() {
        let txs = vec![
            Transaction {
                message: Bytes::from_static(b"a"),
                signers: vec![signer(32, 64)],
            },
            Transaction {
                message: Bytes::from_static(b"b"),
                signers: vec![signer(32, 64), signer(31, 64)],
            },
            Transaction {
                message: Bytes::from_static(b"c"),
                signers: vec![signer(32, 63)],
            },
            Transaction {
                message: Bytes::from_static(b"d"),
                signers: vec![],
            },
            Transaction {
                message: Bytes::from_static(b"e"),
                signers: vec![signer(32, 64); 256],
            },
        ];
        let mut builder = BatchBuilder::default();
        push_request(&mut builder, &request(txs, vec![]), &mut Vec::new()).unwrap();
        let batch = builder.finish();
        assert_eq!(batch.len(), 5);
        assert_eq!(batch.error(0), None);
        assert_eq!(
            batch.error(1),
            Some("signers[1].pubkey must be 32 bytes, got 31")
        );
        assert_eq!(
            batch.error(2),
            Some("signers[0].signature must be 64 bytes, got 63")
        );
        assert!(batch
            .error(3)
            .is_some_and(|e| e.contains("at least one signer")));
        assert!(batch.error(4).is_some_and(|e| e.contains("256")));
        assert_eq!(batch.signature_count(), 1);
        let verdicts = Verdicts::from_signatures(&batch, vec![true]).unwrap();
        let resp = response_for(9, &batch, &verdicts, 0..5, "cpu", None);
        assert_eq!(resp.valid, vec![true, false, false, false, false]);
        assert_eq!(resp.signature_valid, vec![true]);
        assert_eq!(resp.errors[0], "");
        assert_eq!(resp.errors.len(), 5);
        let tail = response_for(9, &batch, &verdicts, 1..3, "cpu", Some([7; 32]));
        assert!(tail.signature_valid.is_empty());
        assert_eq!(tail.merkle_root.as_ref(), &[7; 32]);
    }

    #[test]
    fn check_counts_what_the_response_carries() {
        let txs = vec![
            Transaction {
                message: Bytes::from_static(b"a"),
                signers: vec![signer(32, 64); 3],
            },
            Transaction {
                message: Bytes::from_static(b"b"),
                signers: vec![signer(32, 64), signer(31, 64)],
            },
            Transaction {
                message: Bytes::new(),
                signers: vec![],
            },
            Transaction {
                message: Bytes::from_static(b"e"),
                signers: vec![signer(32, 64); 256],
            },
        ];
        let c = check(&request(txs, vec![])).unwrap();
        assert_eq!((c.transactions, c.signatures, c.malformed), (4, 3, 3));
        // A Solana entry that declares 65,535 signatures in three bytes gets none.
        let garbage = vec![
            Bytes::from_static(&[0xff, 0xff, 0x03]),
            Bytes::from_static(b""),
        ];
        let c = check(&request(vec![], garbage)).unwrap();
        assert_eq!((c.transactions, c.signatures, c.malformed), (2, 0, 2));
    }

    #[test]
    fn reasons_and_backend_names_are_cut_at_a_char_boundary() {
        assert_eq!(truncated("abc", 3), "abc");
        assert_eq!(truncated("abc", 2), "ab");
        assert_eq!(truncated("ééé", 3), "é");
        assert_eq!(truncated("ééé", 4), "éé");
        assert_eq!(truncated("", 0), "");
        let long = "é".repeat(200);
        let mut builder = BatchBuilder::default();
        builder.push_malformed(&long, &[]).unwrap();
        let batch = builder.finish();
        let verdicts = Verdicts::from_signatures(&batch, vec![]).unwrap();
        let resp = response_for(1, &batch, &verdicts, 0..1, &long, None);
        assert_eq!(resp.errors[0], "é".repeat(MAX_REASON_BYTES / 2));
        assert_eq!(resp.backend, "é".repeat(MAX_BACKEND_NAME_BYTES / 2));
        let checked = Checked {
            profile: Profile::Strict,
            transactions: 1,
            signatures: 0,
            malformed: 1,
            bytes: 0,
        };
        assert!(resp.encoded_len() <= response_bound(&checked));
    }

    /// Every reason the Solana parser can give, at its longest, fits uncut.
    #[test]
    fn solana_reasons_fit_uncut() {
        use vigil_core::input::solana::{Field, ShortvecError, WireError};
        let fields = [
            Field::SignatureCount,
            Field::Signatures,
            Field::Header,
            Field::AccountKeyCount,
            Field::AccountKeys,
            Field::RecentBlockhash,
            Field::InstructionCount,
            Field::ProgramIdIndex,
            Field::InstructionAccounts,
            Field::InstructionData,
            Field::LookupCount,
            Field::LookupAccountKey,
            Field::LookupWritable,
            Field::LookupReadonly,
        ];
        let shortvec = [
            ShortvecError::Truncated,
            ShortvecError::NonMinimal,
            ShortvecError::TooLong,
            ShortvecError::Overflow,
        ];
        let mut errors = vec![
            WireError::UnsupportedVersion(u8::MAX),
            WireError::NoSigners,
            WireError::SignatureCountMismatch {
                signatures: usize::MAX,
                required: u8::MAX,
            },
            WireError::TooFewAccountKeys {
                keys: usize::MAX,
                required: u8::MAX,
            },
            WireError::TrailingBytes(usize::MAX),
        ];
        for field in fields {
            errors.push(WireError::Truncated(field));
            for error in shortvec {
                errors.push(WireError::BadShortvec { field, error });
            }
        }
        for e in errors {
            // As `BatchBuilder::push_solana` words it.
            let reason = format!("solana: {e}");
            assert!(reason.len() <= MAX_REASON_BYTES, "{reason}");
        }
        // The generic form's reasons, with the largest numbers they can hold.
        let mut builder = BatchBuilder::default();
        let txs = vec![
            Transaction {
                message: Bytes::new(),
                signers: vec![signer(32, 64); 100_000],
            },
            Transaction {
                message: Bytes::new(),
                signers: [vec![signer(32, 64); 254], vec![signer(32, 1_000_000)]].concat(),
            },
            Transaction {
                message: Bytes::new(),
                signers: [vec![signer(32, 64); 254], vec![signer(1_000_000, 64)]].concat(),
            },
            Transaction {
                message: Bytes::new(),
                signers: vec![],
            },
        ];
        push_request(&mut builder, &request(txs, vec![]), &mut Vec::new()).unwrap();
        let batch = builder.finish();
        for tx in 0..batch.len() {
            let reason = batch.error(tx).unwrap();
            assert!(reason.len() <= MAX_REASON_BYTES / 2, "{reason}");
        }
    }

    #[test]
    fn a_million_transactions_without_signers_are_refused() {
        // The probe that once made 42 MB of reasons from a 2 MB request.
        let empty = Transaction {
            message: Bytes::new(),
            signers: vec![],
        };
        let req = request(vec![empty; 1_000_000], vec![]);
        assert!(req.encoded_len() < 2_100_000);
        let c = check(&req).unwrap();
        assert_eq!((c.signatures, c.malformed), (0, 1_000_000));
        let max_bytes = 16 << 20;
        let err = check_limits(&c, DEFAULT_MAX_REQUEST_TRANSACTIONS, max_bytes).unwrap_err();
        assert_eq!(
            err,
            LimitError::TooManyTransactions {
                transactions: 1_000_000,
                limit: DEFAULT_MAX_REQUEST_TRANSACTIONS
            }
        );
        let message = err.to_string();
        assert!(message.contains("--max-request-transactions"), "{message}");
        assert!(message.contains("65536"), "{message}");
        // Without the transaction limit, the size limit refuses it.
        let err = check_limits(&c, usize::MAX, max_bytes).unwrap_err();
        assert!(matches!(err, LimitError::ResponseTooLarge { limit, .. } if limit == max_bytes));
        let message = err.to_string();
        assert!(message.contains("--max-message-bytes"), "{message}");
        assert!(message.contains(&max_bytes.to_string()), "{message}");
        // The most one request may carry, all malformed, fits the default message limit.
        let c = Checked {
            transactions: DEFAULT_MAX_REQUEST_TRANSACTIONS,
            malformed: DEFAULT_MAX_REQUEST_TRANSACTIONS,
            ..c
        };
        assert_eq!(
            check_limits(&c, DEFAULT_MAX_REQUEST_TRANSACTIONS, max_bytes),
            Ok(())
        );
    }

    #[test]
    fn limits_are_inclusive() {
        let c = check(&request(
            vec![Transaction {
                message: Bytes::from_static(b"m"),
                signers: vec![signer(32, 64)],
            }],
            vec![],
        ))
        .unwrap();
        let bound = response_bound(&c);
        assert_eq!(check_limits(&c, 1, bound), Ok(()));
        assert!(matches!(
            check_limits(&c, 1, bound - 1),
            Err(LimitError::ResponseTooLarge { .. })
        ));
        assert!(matches!(
            check_limits(&c, 0, bound),
            Err(LimitError::TooManyTransactions { .. })
        ));
    }

    /// Values at every varint length boundary up to 64 bits.
    const VARINTS: [u64; 12] = [
        0,
        1,
        127,
        128,
        16_383,
        16_384,
        (1 << 21) - 1,
        1 << 21,
        1 << 28,
        1 << 35,
        u64::MAX >> 1,
        u64::MAX,
    ];

    fn merkle_response(backend: &str, proofs: &[(u64, u64, usize)]) -> MerkleResponse {
        MerkleResponse {
            root: Bytes::from(vec![3; 32]),
            proofs: proofs
                .iter()
                .map(|&(index, tree_size, path)| InclusionProof {
                    index,
                    tree_size,
                    path: vec![Bytes::from(vec![5; 32]); path],
                })
                .collect(),
            backend: backend.into(),
        }
    }

    #[test]
    fn merkle_response_len_is_exact() {
        let long = "b".repeat(200);
        for backend in ["", "cpu", long.as_str()] {
            assert_eq!(
                merkle_response_len(backend, []),
                merkle_response(backend, &[]).encoded_len()
            );
            for index in VARINTS {
                for tree_size in VARINTS {
                    // Bodies of 0 to about 2,200 bytes: one- and two-byte length prefixes.
                    for path in [0, 1, 2, 3, 4, 20, 64] {
                        let proofs = [(index, tree_size, path), (tree_size, index, 0)];
                        assert_eq!(
                            merkle_response_len(backend, proofs),
                            merkle_response(backend, &proofs).encoded_len(),
                            "{backend:?} {proofs:?}"
                        );
                    }
                }
            }
        }
        // A body past 16,383 bytes: a three-byte length prefix.
        let proofs = [(5, 1 << 40, 500)];
        assert_eq!(
            merkle_response_len("cpu", proofs),
            merkle_response("cpu", &proofs).encoded_len()
        );
    }

    mod bound {
        use super::*;
        use proptest::prelude::*;
        use vigil_core::input::solana::{encode_transaction, MessageSpec};

        /// A length that is usually right and sometimes not.
        fn length(right: usize) -> impl Strategy<Value = usize> {
            prop_oneof![8 => Just(right), 1 => 0..right + 8]
        }

        fn wire_signer() -> impl Strategy<Value = WireSigner> {
            (length(PUBKEY_LEN), length(SIG_LEN), any::<u8>()).prop_map(|(pk, sig, b)| WireSigner {
                pubkey: Bytes::from(vec![b; pk]),
                signature: Bytes::from(vec![b.wrapping_add(1); sig]),
            })
        }

        fn generic_tx() -> impl Strategy<Value = Transaction> {
            let signers = prop_oneof![
                20 => proptest::collection::vec(wire_signer(), 0..4),
                1 => Just(vec![signer(32, 64); MAX_SIGNERS]),
                1 => Just(vec![signer(32, 64); MAX_SIGNERS + 1]),
                1 => Just(vec![signer(32, 64); 1000]),
            ];
            (proptest::collection::vec(any::<u8>(), 0..80), signers).prop_map(
                |(message, signers)| Transaction {
                    message: Bytes::from(message),
                    signers,
                },
            )
        }

        /// A Solana wire transaction that parses, with `signers` signers.
        fn solana_ok(signers: u8, extra_keys: u8, version0: bool, data: Vec<u8>) -> Vec<u8> {
            let spec = MessageSpec {
                version0,
                num_required_signatures: signers,
                account_keys: (0..u16::from(signers) + u16::from(extra_keys))
                    .map(|k| [k.to_le_bytes()[0]; 32])
                    .collect(),
                recent_blockhash: [9; 32],
                instructions: vec![(0, vec![0, 1], data)],
                ..MessageSpec::default()
            };
            let sigs = vec![[signers; 64]; usize::from(signers)];
            encode_transaction(&sigs, &spec.encode())
        }

        fn solana_tx() -> impl Strategy<Value = Bytes> {
            let ok = (
                1u8..5,
                0u8..3,
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..40),
            )
                .prop_map(|(s, k, v0, data)| solana_ok(s, k, v0, data));
            let many = (120u8..=255).prop_map(|s| solana_ok(s, 0, true, vec![]));
            // A valid one broken: the signature count, a truncation, a trailing byte.
            let broken =
                (1u8..5, any::<u8>(), 0usize..3, any::<usize>()).prop_map(|(s, count, how, at)| {
                    let mut raw = solana_ok(s, 1, false, vec![1, 2]);
                    match how {
                        0 => raw[0] = count,
                        1 => raw.truncate(at % raw.len()),
                        _ => raw.push(0),
                    }
                    raw
                });
            let garbage = proptest::collection::vec(any::<u8>(), 0..60);
            prop_oneof![
                6 => ok,
                1 => many,
                4 => broken,
                4 => garbage,
                1 => Just(vec![0xff, 0xff, 0x03]),
            ]
            .prop_map(Bytes::from)
        }

        fn any_request() -> impl Strategy<Value = VerifyRequest> {
            let generic =
                proptest::collection::vec(generic_tx(), 0..12).prop_map(|txs| (txs, Vec::new()));
            let solana =
                proptest::collection::vec(solana_tx(), 0..12).prop_map(|raw| (Vec::new(), raw));
            (any::<u64>(), prop_oneof![generic, solana], any::<bool>()).prop_map(
                |(id, (transactions, solana_transactions), want_merkle_root)| VerifyRequest {
                    id,
                    profile: crate::v1::Profile::Strict as i32,
                    transactions,
                    solana_transactions,
                    want_merkle_root,
                },
            )
        }

        fn backend_name() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("cpu".to_string()),
                Just("local-cpu".to_string()),
                Just(String::new()),
                (0usize..200).prop_map(|n| "é".repeat(n)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Two requests coalesced into one batch, each answered from its share:
            /// each response fits its own bound, and check counted what it carries.
            #[test]
            fn responses_fit_their_bound(
                first in any_request(),
                second in any_request(),
                backend in backend_name(),
            ) {
                let mut builder = BatchBuilder::default();
                let mut scratch = Vec::new();
                let mut ranges = Vec::new();
                for req in [&first, &second] {
                    let start = builder.len();
                    push_request(&mut builder, req, &mut scratch).unwrap();
                    ranges.push(start..builder.len());
                }
                let batch = builder.finish();
                let verdicts = Verdicts::reference(&batch, Profile::Strict);
                let root = vigil_core::merkle::root(batch.leaves());
                for (req, txs) in [&first, &second].into_iter().zip(ranges) {
                    let checked = check(req).unwrap();
                    let sigs = batch.signers_of_range(&txs);
                    let malformed = txs.clone().filter(|&tx| batch.error(tx).is_some()).count();
                    prop_assert_eq!(checked.transactions, txs.len());
                    prop_assert_eq!(checked.signatures, sigs.len());
                    prop_assert_eq!(checked.malformed, malformed);
                    let resp = response_for(
                        req.id,
                        &batch,
                        &verdicts,
                        txs.clone(),
                        &backend,
                        req.want_merkle_root.then_some(root),
                    );
                    let (len, bound) = (resp.encoded_len(), response_bound(&checked));
                    prop_assert!(len <= bound, "{} > {}", len, bound);
                    // Not a vacuous bound: beyond the fixed fields, only reasons shorter
                    // than the maximum leave slack.
                    prop_assert!(bound - len <= 11 + 34 + 66 + malformed * (MAX_REASON_BYTES + 2));
                    // No reason the request path makes is cut.
                    for (tx, error) in txs.zip(&resp.errors) {
                        prop_assert_eq!(error.as_str(), batch.error(tx).unwrap_or_default());
                    }
                }
            }

            #[test]
            fn merkle_response_len_is_prosts(
                backend in backend_name(),
                proofs in proptest::collection::vec(
                    (any::<u64>(), any::<u64>(), 0usize..70),
                    0..8,
                ),
            ) {
                prop_assert_eq!(
                    merkle_response_len(&backend, proofs.iter().copied()),
                    merkle_response(&backend, &proofs).encoded_len()
                );
            }
        }
    }
}
