//! Verification profiles: which Ed25519 signatures count as valid.
//!
//! RFC 8032 leaves edge cases open (small-order points, non-canonical encodings, the
//! cofactor), and real verifiers disagree on them. For a blockchain node that is
//! consensus-critical, so Vigil never has a default rule: every request names a profile,
//! and each profile is *defined* by a reference crate. [`reference_verify`] is that
//! definition, called directly; every backend must agree with it bit for bit.
//!
//! | profile   | reference                                              |
//! |-----------|--------------------------------------------------------|
//! | `strict`  | ed25519-dalek 2.x `VerifyingKey::verify_strict`        |
//! | `rfc8032` | ed25519-dalek 2.x `VerifyingKey::verify`               |
//! | `zip215`  | ed25519-zebra `VerificationKey::verify` (ZIP-215)      |

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::Verifier as _;

/// A named set of Ed25519 acceptance rules (see the module docs and docs/PROFILES.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// ed25519-dalek `verify_strict`: rejects small-order A and R, non-canonical A and R.
    Strict,
    /// ed25519-dalek `verify`: cofactorless, R compared as bytes, small-order points allowed.
    Rfc8032,
    /// ed25519-zebra: ZIP-215 rules, cofactored equation, non-canonical encodings allowed.
    Zip215,
}

impl Profile {
    /// Every profile, in a fixed order.
    pub const ALL: [Profile; 3] = [Profile::Strict, Profile::Rfc8032, Profile::Zip215];

    /// The profile's name as used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Strict => "strict",
            Profile::Rfc8032 => "rfc8032",
            Profile::Zip215 => "zip215",
        }
    }

    /// Whether batch (random linear combination) verification gives exactly the single
    /// verifier's verdicts under this profile. Only ZIP-215 guarantees it.
    pub fn allows_batch_equation(self) -> bool {
        matches!(self, Profile::Zip215)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is not one of `strict`, `rfc8032`, `zip215`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile {0:?} (expected strict, rfc8032 or zip215)")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Profile::Strict),
            "rfc8032" => Ok(Profile::Rfc8032),
            "zip215" => Ok(Profile::Zip215),
            other => Err(UnknownProfile(other.to_owned())),
        }
    }
}

/// The reference verdict for one signature under `profile`: the definition every backend
/// is held to. It calls the reference crate exactly as a node would, on the bytes as
/// received; a public key that does not decode is an invalid signature, not an error.
pub fn reference_verify(profile: Profile, pubkey: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    match profile {
        Profile::Strict => verify_strict(pubkey, sig, msg),
        Profile::Rfc8032 => verify_rfc8032(pubkey, sig, msg),
        Profile::Zip215 => verify_zip215(pubkey, sig, msg),
    }
}

/// The `strict` reference verdict: ed25519-dalek `VerifyingKey::verify_strict`.
#[inline]
pub fn verify_strict(pubkey: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(pubkey).is_ok_and(|key| {
        key.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
            .is_ok()
    })
}

/// The `rfc8032` reference verdict: ed25519-dalek `VerifyingKey::verify`.
#[inline]
pub fn verify_rfc8032(pubkey: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(pubkey).is_ok_and(|key| {
        key.verify(msg, &ed25519_dalek::Signature::from_bytes(sig))
            .is_ok()
    })
}

/// The `zip215` reference verdict: ed25519-zebra `VerificationKey::verify`.
#[inline]
pub fn verify_zip215(pubkey: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    ed25519_zebra::VerificationKey::try_from(*pubkey).is_ok_and(|key| {
        key.verify(&ed25519_zebra::Signature::from_bytes(sig), msg)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Profile::ALL {
            assert_eq!(p.name().parse::<Profile>(), Ok(p));
        }
        assert!("STRICT".parse::<Profile>().is_err());
        assert!("".parse::<Profile>().is_err());
    }

    #[test]
    fn only_zip215_batches() {
        assert!(!Profile::Strict.allows_batch_equation());
        assert!(!Profile::Rfc8032.allows_batch_equation());
        assert!(Profile::Zip215.allows_batch_equation());
    }
}
