//! The one thing every other part of the harness passes around: a transaction to check
//! ([`Case`]) with its expected verdicts, and how cases become a [`Batch`].
//!
//! The vector files, the generator, the harness and the self-test all speak in cases, so
//! the type lives apart from each of them and depends on none.

use crate::batch::{Batch, BatchBuilder, BatchError, Signer};
use crate::profile::{reference_verify, Profile};

/// One transaction to check, with its expected per-signer verdicts under every profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Case {
    pub(super) id: String,
    pub(super) msg: Vec<u8>,
    pub(super) signers: Vec<Signer>,
    /// Set where the transaction cannot be pushed as signers; it must come back invalid.
    pub(super) malformed: Option<String>,
    /// Set for a Solana wire transaction, pushed as is (`msg` and `signers` are then what
    /// the wire bytes hold, for the expected verdicts and for reports).
    pub(super) wire: Option<Vec<u8>>,
    /// Per profile, in [`Profile::ALL`] order.
    pub(super) expect: [Vec<bool>; 3],
}

impl Case {
    pub(super) fn expect(&self, profile: Profile) -> &[bool] {
        &self.expect[profile_index(profile)]
    }
}

pub(super) fn profile_index(profile: Profile) -> usize {
    match profile {
        Profile::Strict => 0,
        Profile::Rfc8032 => 1,
        Profile::Zip215 => 2,
    }
}

/// The reference verdicts of every signer of `msg` under every profile.
pub(super) fn reference_all(msg: &[u8], signers: &[Signer]) -> [Vec<bool>; 3] {
    Profile::ALL.map(|p| {
        signers
            .iter()
            .map(|s| reference_verify(p, &s.pubkey, &s.signature, msg))
            .collect()
    })
}

pub(super) fn build_batch(cases: &[Case]) -> Result<Batch, BatchError> {
    let bytes = cases
        .iter()
        .map(|c| 1 + c.msg.len() + c.signers.len() * 96)
        .sum();
    let mut b = BatchBuilder::with_capacity(cases.len(), bytes);
    for case in cases {
        match (&case.wire, &case.malformed) {
            (Some(wire), _) => b.push_solana(wire)?,
            (None, Some(reason)) => b.push_malformed(reason, &[])?,
            (None, None) => b.push_generic(&case.msg, &case.signers)?,
        }
    }
    Ok(b.finish())
}
