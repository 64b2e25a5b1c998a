//! Synthetic transaction batches for tests and benchmarks (`vigil gen`, `vigil bench`).
//!
//! Valid signatures come from real keys; invalid ones are of several kinds, some of them
//! adversarial for the chosen profile (a small-order key that only `strict` rejects, a
//! mixed-order key whose signature only the cofactored `zip215` equation accepts).
//! Every signer has its own key, as in real traffic: repeated keys would flatter batch
//! verification, which merges equal keys.
//!
//! Output is a pure function of the spec: transaction `i` draws from a ChaCha20 stream
//! numbered `i` under the seed, so generation runs in parallel and still gives the same
//! bytes on every machine and thread count.

use std::ops::RangeInclusive;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity as _;
use ed25519_dalek::{Signer as _, SigningKey};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use crate::batch::{Batch, BatchBuilder, BatchError, Signer, MAX_SIGNERS};
use crate::craft;
use crate::input::{jsonl, solana};
use crate::profile::Profile;

/// The two input forms a synthetic batch can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The JSON Lines interchange format.
    Jsonl,
    /// Solana wire transactions (legacy and v0 messages), base64 per line.
    Solana,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthSpec {
    /// Number of transactions.
    pub count: usize,
    /// The profile whose rules the invalid kinds are chosen to break.
    pub profile: Profile,
    /// Fraction of transactions (0.0..=1.0) with one bad signature.
    pub invalid_fraction: f64,
    /// Message length range in bytes (instruction data length for Solana).
    pub msg_len: RangeInclusive<usize>,
    /// Signers per transaction, 1..=255.
    pub signers: usize,
    /// Output form.
    pub format: Format,
    /// Seed of the whole batch.
    pub seed: u64,
}

/// A spec that cannot be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SynthError {
    /// Signers outside 1..=255.
    #[error("signers must be 1 to {MAX_SIGNERS}, got {0}")]
    Signers(usize),
    /// Fraction outside 0..=1.
    #[error("invalid fraction must be between 0 and 1, got {0}")]
    Fraction(f64),
    /// Empty or reversed length range.
    #[error("message length range {0}..{1} is empty")]
    MsgLen(usize, usize),
    /// The generated transactions do not fit in one batch.
    #[error(transparent)]
    Batch(#[from] BatchError),
}

/// How a generated signature was made invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Corruption {
    /// A bit of the signed message flipped after signing.
    MessageBit,
    /// A bit of R flipped.
    RBit,
    /// A bit of S flipped (S stays below 2^253).
    SBit,
    /// S replaced by S + L: the same residue, but not canonical.
    SPlusL,
    /// The signature made by an unrelated key over the same message.
    WrongKey,
    /// A = identity, R = identity, S = 0: the cofactorless equation holds, so only
    /// `strict` (which rejects small-order points) finds it invalid.
    SmallOrderKey,
    /// A = aB + T with T a nonzero torsion point, signed with a, where only the cofactored equation
    /// holds: valid under `zip215`, invalid under `strict` and `rfc8032`.
    MixedOrderKey,
}

impl Corruption {
    /// The kinds that make a signature invalid under `profile`.
    pub fn kinds_for(profile: Profile) -> &'static [Corruption] {
        use Corruption::*;
        match profile {
            Profile::Strict => &[
                MessageBit,
                RBit,
                SBit,
                SPlusL,
                WrongKey,
                SmallOrderKey,
                MixedOrderKey,
            ],
            Profile::Rfc8032 => &[MessageBit, RBit, SBit, SPlusL, WrongKey, MixedOrderKey],
            Profile::Zip215 => &[MessageBit, RBit, SBit, SPlusL, WrongKey],
        }
    }
}

/// One generated transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SynthTx {
    /// A generic transaction.
    Generic {
        /// The signed message.
        message: Vec<u8>,
        /// Its signers.
        signers: Vec<Signer>,
        /// How it was made invalid, if it was.
        corruption: Option<Corruption>,
    },
    /// A Solana wire transaction.
    Solana {
        /// Its wire bytes.
        wire: Vec<u8>,
        /// How it was made invalid, if it was.
        corruption: Option<Corruption>,
    },
}

impl SynthTx {
    /// How it was made invalid, if it was.
    pub fn corruption(&self) -> Option<Corruption> {
        match self {
            SynthTx::Generic { corruption, .. } | SynthTx::Solana { corruption, .. } => *corruption,
        }
    }

    /// Appends it to a batch being built.
    pub fn push_into(&self, builder: &mut BatchBuilder) -> Result<(), BatchError> {
        match self {
            SynthTx::Generic {
                message, signers, ..
            } => builder.push_generic(message, signers),
            SynthTx::Solana { wire, .. } => builder.push_solana(wire),
        }
    }

    /// Its line in the input form (JSON object, or base64 of the wire bytes), without
    /// the newline.
    pub fn line(&self) -> String {
        use base64::Engine as _;
        match self {
            SynthTx::Generic {
                message, signers, ..
            } => jsonl::encode_line(message, signers),
            SynthTx::Solana { wire, .. } => base64::engine::general_purpose::STANDARD.encode(wire),
        }
    }
}

/// Generates the transactions of `spec` (in parallel in the current rayon pool).
pub fn generate(spec: &SynthSpec) -> Result<Vec<SynthTx>, SynthError> {
    if spec.signers == 0 || spec.signers > MAX_SIGNERS {
        return Err(SynthError::Signers(spec.signers));
    }
    if !(0.0..=1.0).contains(&spec.invalid_fraction) {
        return Err(SynthError::Fraction(spec.invalid_fraction));
    }
    if spec.msg_len.is_empty() {
        return Err(SynthError::MsgLen(
            *spec.msg_len.start(),
            *spec.msg_len.end(),
        ));
    }
    Ok((0..spec.count)
        .into_par_iter()
        .with_min_len(64)
        .map(|i| one(spec, i as u64))
        .collect())
}

/// Generates `spec` straight into a batch.
pub fn batch(spec: &SynthSpec) -> Result<Batch, SynthError> {
    let txs = generate(spec)?;
    let mut b = BatchBuilder::with_capacity(txs.len(), txs.len() * 200);
    for tx in &txs {
        tx.push_into(&mut b)?;
    }
    Ok(b.finish())
}

fn one(spec: &SynthSpec, index: u64) -> SynthTx {
    let mut rng = ChaCha20Rng::seed_from_u64(spec.seed);
    rng.set_stream(index);
    let corruption = if rng.gen_bool(spec.invalid_fraction) {
        let kinds = Corruption::kinds_for(spec.profile);
        Some(kinds[rng.gen_range(0..kinds.len())])
    } else {
        None
    };
    let bad_signer = rng.gen_range(0..spec.signers);
    let keys: Vec<SigningKey> = (0..spec.signers)
        .map(|_| SigningKey::from_bytes(&rng.gen()))
        .collect();
    let mut pubkeys: Vec<[u8; 32]> = keys.iter().map(|k| k.verifying_key().to_bytes()).collect();
    // A mixed-order key is part of the signed message (Solana), so decide it first.
    let mixed = (corruption == Some(Corruption::MixedOrderKey)).then(|| {
        let t = rng.gen_range(1..8);
        let a = craft::random_scalar(&mut rng);
        (a, craft::torsion(t), craft::mixed(&a, t))
    });
    if let Some((_, _, key)) = mixed {
        pubkeys[bad_signer] = key;
    }
    if corruption == Some(Corruption::SmallOrderKey) {
        pubkeys[bad_signer] = IDENTITY;
    }
    let len = rng.gen_range(spec.msg_len.clone());
    let mut payload = vec![0u8; len];
    rng.fill_bytes(&mut payload);
    let (message, mutable) = match spec.format {
        Format::Jsonl => {
            let all = 0..payload.len();
            (payload, all)
        }
        Format::Solana => solana_message(&mut rng, &pubkeys, payload),
    };
    let mut signers: Vec<Signer> = keys
        .iter()
        .zip(&pubkeys)
        .map(|(key, pubkey)| Signer {
            pubkey: *pubkey,
            signature: key.sign(&message).to_bytes(),
        })
        .collect();
    let mut message = message;
    if let Some(kind) = corruption {
        corrupt(
            kind,
            &mut rng,
            &mut signers[bad_signer],
            &mut message,
            mixed.map(|m| (m.0, m.1)),
            mutable,
        );
    }
    match spec.format {
        Format::Jsonl => SynthTx::Generic {
            message,
            signers,
            corruption,
        },
        Format::Solana => {
            let sigs: Vec<[u8; 64]> = signers.iter().map(|s| s.signature).collect();
            SynthTx::Solana {
                wire: solana::encode_transaction(&sigs, &message),
                corruption,
            }
        }
    }
}

/// The identity point's encoding (y = 1): of order 1, the smallest small-order point.
const IDENTITY: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
};

/// A legacy or v0 message whose first keys are the signers', with `payload` as the
/// data of one instruction to a program key after them; also the range of the recent
/// blockhash, where a flipped bit leaves the message parseable.
fn solana_message(
    rng: &mut ChaCha20Rng,
    signers: &[[u8; 32]],
    payload: Vec<u8>,
) -> (Vec<u8>, std::ops::Range<usize>) {
    let mut account_keys = signers.to_vec();
    account_keys.push(rng.gen());
    let program = u8::try_from(account_keys.len() - 1).unwrap_or(u8::MAX);
    // A legacy message cannot have 128 signers: its first byte would read as a version.
    let version0 = signers.len() > 127 || rng.gen_bool(0.5);
    let lookups = if version0 {
        vec![(rng.gen(), vec![0u8, 1], vec![2u8])]
    } else {
        Vec::new()
    };
    let mut key_count = Vec::new();
    solana::encode_shortvec(
        u16::try_from(account_keys.len()).unwrap_or(u16::MAX),
        &mut key_count,
    );
    let blockhash_at = usize::from(version0) + 3 + key_count.len() + 32 * account_keys.len();
    let message = solana::MessageSpec {
        version0,
        num_required_signatures: u8::try_from(signers.len()).unwrap_or(u8::MAX),
        num_readonly_signed: 0,
        num_readonly_unsigned: 1,
        account_keys,
        recent_blockhash: rng.gen(),
        instructions: vec![(program, vec![0], payload)],
        lookups,
    }
    .encode();
    (message, blockhash_at..blockhash_at + 32)
}

fn corrupt(
    kind: Corruption,
    rng: &mut ChaCha20Rng,
    signer: &mut Signer,
    message: &mut Vec<u8>,
    mixed_secret: Option<(Scalar, EdwardsPoint)>,
    mutable: std::ops::Range<usize>,
) {
    match kind {
        Corruption::MessageBit => {
            if mutable.is_empty() {
                message.push(0);
            } else {
                let i = rng.gen_range(mutable);
                message[i] ^= 1 << rng.gen_range(0..8);
            }
        }
        Corruption::RBit => {
            let bit = rng.gen_range(0..255);
            signer.signature[bit / 8] ^= 1 << (bit % 8);
        }
        Corruption::SBit => {
            let bit = rng.gen_range(0..250);
            signer.signature[32 + bit / 8] ^= 1 << (bit % 8);
        }
        Corruption::SPlusL => {
            let mut s = [0u8; 32];
            s.copy_from_slice(&signer.signature[32..]);
            // S < L < 2^253, so S + L always fits in 256 bits.
            if let Some(s_plus_l) = craft::add_multiple_of_l(&s, 1) {
                signer.signature[32..].copy_from_slice(&s_plus_l);
            }
        }
        Corruption::WrongKey => {
            signer.signature = SigningKey::from_bytes(&rng.gen()).sign(message).to_bytes();
        }
        Corruption::SmallOrderKey => {
            signer.signature = [0u8; 64];
            signer.signature[..32].copy_from_slice(&IDENTITY);
        }
        Corruption::MixedOrderKey => {
            if let Some((a, torsion)) = mixed_secret {
                signer.signature = sign_raw(rng, &a, &torsion, &signer.pubkey, message);
            }
        }
    }
}

/// Signs with a bare scalar `a` for the key `pubkey` = aB + `torsion`, choosing a nonce
/// for which [k]torsion is not the identity, so that the torsion part of the key breaks
/// the cofactorless equation and only the cofactored one holds.
fn sign_raw(
    rng: &mut ChaCha20Rng,
    a: &Scalar,
    torsion: &EdwardsPoint,
    pubkey: &[u8; 32],
    msg: &[u8],
) -> [u8; 64] {
    loop {
        let r = craft::random_scalar(rng);
        let r_enc = EdwardsPoint::mul_base(&r).compress().to_bytes();
        if !(craft::challenge(&r_enc, pubkey, msg) * torsion).is_identity() {
            return craft::sign_with(a, pubkey, &r, &r_enc, msg);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::profile::reference_verify;

    fn spec(profile: Profile, format: Format) -> SynthSpec {
        SynthSpec {
            count: 300,
            profile,
            invalid_fraction: 0.5,
            msg_len: 0..=100,
            signers: 2,
            format,
            seed: 7,
        }
    }

    #[test]
    fn corruptions_are_invalid_and_the_rest_valid_under_their_profile() {
        for format in [Format::Jsonl, Format::Solana] {
            for profile in Profile::ALL {
                let s = spec(profile, format);
                let txs = generate(&s).unwrap();
                let batch = batch(&s).unwrap();
                assert_eq!(batch.len(), 300);
                let mut seen = std::collections::HashSet::new();
                for (i, tx) in txs.iter().enumerate() {
                    assert!(
                        batch.error(i).is_none(),
                        "{format:?} tx {i}: {:?}",
                        batch.error(i)
                    );
                    let valid = batch.signers_of(i).all(|sig| {
                        let (pk, sg, msg) = batch.signer_item(sig);
                        reference_verify(profile, pk, sg, msg)
                    });
                    assert_eq!(
                        valid,
                        tx.corruption().is_none(),
                        "{profile} {format:?} {tx:?}"
                    );
                    seen.insert(tx.corruption());
                }
                assert_eq!(seen.len(), Corruption::kinds_for(profile).len() + 1);
            }
        }
    }

    #[test]
    fn adversarial_kinds_are_valid_under_looser_profiles() {
        let mut s = spec(Profile::Strict, Format::Jsonl);
        s.invalid_fraction = 1.0;
        s.count = 200;
        let batch = batch(&s).unwrap();
        let txs = generate(&s).unwrap();
        for (i, tx) in txs.iter().enumerate() {
            let looser = match tx.corruption() {
                Some(Corruption::SmallOrderKey) => [Profile::Rfc8032, Profile::Zip215].as_slice(),
                Some(Corruption::MixedOrderKey) => [Profile::Zip215].as_slice(),
                _ => continue,
            };
            for &p in looser {
                assert!(batch.signers_of(i).all(|sig| {
                    let (pk, sg, msg) = batch.signer_item(sig);
                    reference_verify(p, pk, sg, msg)
                }));
            }
        }
    }

    #[test]
    fn many_signers_in_solana_form() {
        let mut s = spec(Profile::Strict, Format::Solana);
        s.count = 2;
        s.signers = 200;
        s.msg_len = 0..=0;
        let batch = batch(&s).unwrap();
        for tx in 0..2 {
            assert_eq!(batch.error(tx), None);
            assert_eq!(batch.signers_of(tx).len(), 200);
        }
    }

    #[test]
    fn deterministic_and_checked() {
        let s = spec(Profile::Zip215, Format::Solana);
        assert_eq!(generate(&s).unwrap(), generate(&s).unwrap());
        let mut bad = s.clone();
        bad.signers = 0;
        assert_eq!(generate(&bad), Err(SynthError::Signers(0)));
        bad.signers = 1;
        bad.invalid_fraction = 1.5;
        assert!(generate(&bad).is_err());
        bad.invalid_fraction = 0.0;
        bad.msg_len = RangeInclusive::new(5, 4);
        assert!(generate(&bad).is_err());
    }
}
