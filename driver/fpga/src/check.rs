//! The card's own known answers, run before it serves.
//!
//! The runtime's shared self-test reaches a card only through the `Backend` interface
//! (roots and verdicts). Two things a card can get wrong are out of its reach, so they
//! are checked here, on the opening thread, before the card's worker starts:
//!
//! * **MERKLE_NODES**, the request that joins subtree roots when a tree is larger than
//!   one request: a small tree whose leaves cross word boundaries, then its nodes, each
//!   against `vigil_core::merkle`.
//! * **The profile codes**, on a card with CAPS.VERIFY: three VERIFY requests under each
//!   of the three profiles (a valid signature over a message that crosses word
//!   boundaries, the same signature with a bit of S flipped, and the small-order key and
//!   R with S = 0, which only `strict` rejects), so a card that ignored or confused the
//!   profile code fails, each against `vigil_core::reference_verify`.

use vigil_core::{reference_verify, Leaves, Profile};

use crate::card::{Card, VerifyItem};
use crate::transport::Transport;

/// The known-answer self-test: results the card must match exactly.
pub fn self_test<T: Transport>(card: &mut Card<T>) -> Result<(), String> {
    // Five leaves: empty, shorter than a word, exactly a word, across words, longer.
    let lens = [0usize, 3, 8, 13, 100];
    let max = card.info().max_leaf_bytes as usize;
    let leaves: Leaves = lens
        .iter()
        .map(|&len| {
            (0..len.min(max))
                .map(|i| (i * 7 + len).to_le_bytes()[0])
                .collect::<Vec<u8>>()
        })
        .collect();
    let want = vigil_core::merkle::root(&leaves);
    let got = card.merkle_root(&leaves).map_err(|e| e.to_string())?;
    if got != want {
        return Err(format!(
            "Merkle root of {} leaves is {}, expected {}",
            leaves.len(),
            hex(&got),
            hex(&want)
        ));
    }
    let hashes: Vec<[u8; 32]> = leaves
        .iter()
        .take(3)
        .map(vigil_core::merkle::leaf_hash)
        .collect();
    let want = vigil_core::merkle::root(&leaves.iter().take(3).collect());
    let got = card.merkle_nodes(&hashes).map_err(|e| e.to_string())?;
    if got != want {
        return Err(format!(
            "MERKLE_NODES root of 3 nodes is {}, expected {}",
            hex(&got),
            hex(&want)
        ));
    }
    if card.info().has_verify() {
        self_test_verify(card)?;
    }
    Ok(())
}

/// The fixed seed of the self-test's signing key.
const SELF_TEST_SEED: [u8; 32] = *b"vigil fpga VERIFY self-test key!";

/// The encoding of the identity point (y = 1): a small-order A and R.
const IDENTITY: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
};

/// One VERIFY known answer: what it is, the key, the signature, the message.
struct KnownSignature {
    what: &'static str,
    pubkey: [u8; 32],
    signature: [u8; 64],
    message: Vec<u8>,
}

/// The VERIFY known answers, messages clipped to `max` bytes.
fn known_signatures(max: usize) -> [KnownSignature; 3] {
    use ed25519_dalek::Signer as _;

    // 77 bytes: nine whole words and a partial one.
    let message: Vec<u8> = (0..77usize.min(max))
        .map(|i| (i * 13 + 5).to_le_bytes()[0])
        .collect();
    let key = ed25519_dalek::SigningKey::from_bytes(&SELF_TEST_SEED);
    let pubkey = key.verifying_key().to_bytes();
    let valid = key.sign(&message).to_bytes();
    let mut bad_s = valid;
    bad_s[40] ^= 0x04;
    let mut small_order = [0u8; 64];
    small_order[..32].copy_from_slice(&IDENTITY);
    [
        KnownSignature {
            what: "a valid signature",
            pubkey,
            signature: valid,
            message: message.clone(),
        },
        KnownSignature {
            what: "a signature with a bit of S flipped",
            pubkey,
            signature: bad_s,
            message,
        },
        KnownSignature {
            what: "the small-order key and R with S = 0",
            pubkey: IDENTITY,
            signature: small_order,
            message: b"vigil"[..5.min(max)].to_vec(),
        },
    ]
}

/// VERIFY known answers: each case under each profile against the reference verdict.
fn self_test_verify<T: Transport>(card: &mut Card<T>) -> Result<(), String> {
    let cases = known_signatures(card.info().max_verify_message_bytes() as usize);
    let items: Vec<VerifyItem<'_>> = cases
        .iter()
        .map(|c| VerifyItem {
            pubkey: &c.pubkey,
            signature: &c.signature,
            message: &c.message,
        })
        .collect();
    for profile in Profile::ALL {
        let got = card.verify(profile, &items).map_err(|e| e.to_string())?;
        if got.len() != cases.len() {
            return Err(format!(
                "VERIFY under {profile} gave {} verdicts for {} signatures",
                got.len(),
                cases.len()
            ));
        }
        for (c, got) in cases.iter().zip(got) {
            let want = reference_verify(profile, &c.pubkey, &c.signature, &c.message);
            if got != want {
                return Err(format!(
                    "VERIFY under {profile} of {} says {}, expected {}",
                    c.what,
                    word(got),
                    word(want)
                ));
            }
        }
    }
    Ok(())
}

fn word(valid: bool) -> &'static str {
    if valid {
        "valid"
    } else {
        "invalid"
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fake::FakeCard;

    /// Requests the check sends to a card with VERIFY: the Merkle root, the nodes, then
    /// three signatures under each of three profiles.
    pub(crate) const CHECK_REQUESTS: usize = 2 + 3 * 3;

    #[test]
    fn check_requests_are_counted_right() {
        let mut card = Card::open(FakeCard::new(8, 2048)).unwrap();
        self_test(&mut card).unwrap();
        assert_eq!(card.transport().requests, CHECK_REQUESTS);
        assert_eq!(card.transport().by_opcode[&crate::regs::opcode::VERIFY], 9);
        let mut card = Card::open(FakeCard::new(8, 2048).without_verify()).unwrap();
        self_test(&mut card).unwrap();
        assert_eq!(card.transport().requests, 2);
    }

    #[test]
    fn the_check_s_signatures_tell_the_profiles_apart() {
        let cases = known_signatures(usize::MAX);
        let verdicts = |c: &KnownSignature| {
            Profile::ALL.map(|p| reference_verify(p, &c.pubkey, &c.signature, &c.message))
        };
        assert_eq!(cases[0].message.len(), 77);
        assert_eq!(verdicts(&cases[0]), [true; 3]);
        assert_eq!(verdicts(&cases[1]), [false; 3]);
        assert_eq!(verdicts(&cases[2]), [false, true, true]);
        // A card whose messages are short still gets a check it can take.
        assert!(known_signatures(3).iter().all(|c| c.message.len() <= 3));
        assert!(known_signatures(0).iter().all(|c| c.message.is_empty()));
    }
}
