//! The Vigil wire protocol (`vigil.v1`), generated from `proto/vigil/v1/verifier.proto`.
//!
//! One crate holds the generated types so the daemon, the client library and any node
//! integration agree on them, plus the conversions between the wire's profile enum and
//! the core's. Bytes fields are `bytes::Bytes`, so a decoded request points into the
//! received frame and the daemon copies each transaction once, into its flat batch.

/// Generated messages, client and server for package `vigil.v1`.
pub mod v1 {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("vigil.v1");

    /// The encoded file descriptor set, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("vigil_descriptor");
}

pub mod convert;
pub mod lenient;

pub use v1::Profile as WireProfile;

/// Why a wire profile does not name a verification profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// `PROFILE_UNSPECIFIED`: the rules are consensus-critical, so there is no default.
    #[error("profile is unspecified: name one of strict, rfc8032, zip215 (there is no default)")]
    Unspecified,
    /// A number this build does not know.
    #[error("unknown profile number {0}")]
    Unknown(i32),
}

/// The core profile a request's `profile` field names.
pub fn profile_from_wire(value: i32) -> Result<vigil_core::Profile, ProfileError> {
    match v1::Profile::try_from(value) {
        Ok(v1::Profile::Strict) => Ok(vigil_core::Profile::Strict),
        Ok(v1::Profile::Rfc8032) => Ok(vigil_core::Profile::Rfc8032),
        Ok(v1::Profile::Zip215) => Ok(vigil_core::Profile::Zip215),
        Ok(v1::Profile::Unspecified) => Err(ProfileError::Unspecified),
        Err(_) => Err(ProfileError::Unknown(value)),
    }
}

/// The wire value of a core profile.
pub fn profile_to_wire(profile: vigil_core::Profile) -> v1::Profile {
    match profile {
        vigil_core::Profile::Strict => v1::Profile::Strict,
        vigil_core::Profile::Rfc8032 => v1::Profile::Rfc8032,
        vigil_core::Profile::Zip215 => v1::Profile::Zip215,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn profiles_round_trip_and_unspecified_is_refused() {
        for p in vigil_core::Profile::ALL {
            assert_eq!(profile_from_wire(profile_to_wire(p) as i32), Ok(p));
        }
        assert_eq!(profile_from_wire(0), Err(ProfileError::Unspecified));
        assert_eq!(profile_from_wire(99), Err(ProfileError::Unknown(99)));
    }

    #[test]
    fn field_numbers_are_the_published_ones() {
        // Encode a request with every field set and check the tags on the wire.
        let req = v1::VerifyRequest {
            id: 1,
            profile: v1::Profile::Strict as i32,
            transactions: vec![],
            solana_transactions: vec![bytes::Bytes::from_static(b"x")],
            want_merkle_root: true,
        };
        let wire = req.encode_to_vec();
        // id=1 varint (0x08), profile=2 varint (0x10), solana=4 bytes (0x22), merkle=5 (0x28).
        assert_eq!(wire, vec![0x08, 1, 0x10, 1, 0x22, 1, b'x', 0x28, 1]);
    }
}
