//! Requests into flat batches and verdicts back into responses.
//!
//! The daemon (which coalesces many requests into one batch) and the client library
//! (whose local CPU fallback must give the appliance's exact answer) both turn a
//! `VerifyRequest` into batch entries here, so the two cannot disagree on what is
//! malformed or why.

use std::ops::Range;

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
    /// How many signatures it carries, counting what each entry declares (a malformed
    /// entry may end up with fewer). What admission control charges the request.
    pub signatures: usize,
    /// Bytes of transaction data it carries (messages, keys, signatures, wire bytes).
    pub bytes: usize,
}

/// Checks the request-level rules: a named profile and at most one transaction form.
pub fn check(req: &VerifyRequest) -> Result<Checked, RequestError> {
    let profile = profile_from_wire(req.profile)?;
    let (generic, solana) = (req.transactions.len(), req.solana_transactions.len());
    if generic > 0 && solana > 0 {
        return Err(RequestError::BothForms { generic, solana });
    }
    let (signatures, bytes) = if generic > 0 {
        req.transactions.iter().fold((0, 0), |(s, b), tx| {
            let signer_bytes: usize = tx
                .signers
                .iter()
                .map(|x| x.pubkey.len() + x.signature.len())
                .sum();
            (
                s + tx.signers.len(),
                b + tx.message.len() + signer_bytes + 1,
            )
        })
    } else {
        req.solana_transactions.iter().fold((0, 0), |(s, b), raw| {
            let declared = vigil_core::input::solana::decode_shortvec(raw)
                .map(|(n, _)| usize::from(n))
                .unwrap_or(0);
            (s + declared, b + raw.len())
        })
    };
    Ok(Checked {
        profile,
        transactions: generic + solana,
        signatures,
        bytes,
    })
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

/// The signature indices of transactions `txs` of `batch`.
pub fn signature_range(batch: &Batch, txs: &Range<usize>) -> Range<usize> {
    if txs.is_empty() {
        return 0..0;
    }
    batch.signers_of(txs.start).start..batch.signers_of(txs.end - 1).end
}

/// The response for the transactions `txs` of `batch` (one request's share of a
/// coalesced batch).
pub fn response_for(
    id: u64,
    batch: &Batch,
    verdicts: &Verdicts,
    txs: Range<usize>,
    backend: &str,
    merkle_root: Option<[u8; 32]>,
) -> VerifyResponse {
    let sigs = signature_range(batch, &txs);
    VerifyResponse {
        id,
        valid: verdicts.transaction_valid[txs.clone()].to_vec(),
        signature_valid: verdicts.signature_valid[sigs].to_vec(),
        merkle_root: merkle_root
            .map(|r| bytes::Bytes::copy_from_slice(&r))
            .unwrap_or_default(),
        backend: backend.to_string(),
        errors: txs
            .map(|tx| batch.error(tx).unwrap_or_default().to_string())
            .collect(),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::Signer as WireSigner;
    use bytes::Bytes;

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
}
