//! Vigil's device kernels, embedded in the binary.
//!
//! The sources under `kernels/` are written once against `include/vigil/vendor.h` and
//! compile both as OpenCL C and as CUDA C++ (see `kernels/README.md`). The build script
//! flattens each entry file with everything it includes into one string, so a driver
//! hands [`Program::source`] straight to `clBuildProgram` or NVRTC and the binary needs
//! no kernel files at run time.

pub mod cache;
pub mod launch;
pub mod prebuilt;
pub mod wgsl;

include!(concat!(env!("OUT_DIR"), "/entries.rs"));

/// One entry file, flattened: a program for one `clBuildProgram` / NVRTC call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program {
    /// The entry file's name without `.cl` (`ed25519`, `merkle`).
    pub name: &'static str,
    /// The whole source, includes resolved.
    pub source: &'static str,
    /// The entry kernels it defines, in source order.
    pub kernels: &'static [&'static str],
}

impl Program {
    /// BLAKE3 of the source: the part of a compiled-program cache key that changes
    /// whenever any kernel file does.
    pub fn source_hash(&self) -> [u8; 32] {
        *blake3::hash(self.source.as_bytes()).as_bytes()
    }

    /// [`Program::source_hash`] in hex, as `prebuilt/manifest.tsv` writes it.
    pub fn source_hex(&self) -> String {
        blake3::Hash::from_bytes(self.source_hash())
            .to_hex()
            .to_string()
    }

    /// Whether the program defines the entry kernel `name`.
    pub fn has_kernel(&self, name: &str) -> bool {
        self.kernels.contains(&name)
    }
}

/// Every program, for tools that compile them all (the CUDA dialect check, caches).
pub const ALL: [Program; 2] = [ED25519, MERKLE];

/// Entry kernel names, as the drivers call them.
pub mod names {
    /// k = SHA-512(R || A || M) mod L per signer.
    pub const ED25519_CHALLENGE: &str = "vigil_ed25519_challenge";
    /// S < L, A decoded, the digits of S and k, and -A's table per signer.
    pub const ED25519_PREPARE: &str = "vigil_ed25519_prepare";
    /// R' = [S]B + [k](-A) per signer.
    pub const ED25519_SCALARMULT: &str = "vigil_ed25519_scalarmult";
    /// The verdict per signer, from R'.
    pub const ED25519_CHECK: &str = "vigil_ed25519_check";
    /// LEAF() of every leaf.
    pub const MERKLE_LEAVES: &str = "vigil_merkle_leaves";
    /// One tree level: NODE() of adjacent pairs, an odd last node carried.
    pub const MERKLE_LEVEL: &str = "vigil_merkle_level";
    /// Several levels in one launch, in work-group memory.
    pub const MERKLE_REDUCE: &str = "vigil_merkle_reduce";
}

/// The code the Ed25519 kernels take for `profile`.
pub fn profile_code(profile: vigil_core::Profile) -> u32 {
    match profile {
        vigil_core::Profile::Strict => profile_code::STRICT,
        vigil_core::Profile::Rfc8032 => profile_code::RFC8032,
        vigil_core::Profile::Zip215 => profile_code::ZIP215,
    }
}

/// Profile codes as the Ed25519 kernels take them.
pub mod profile_code {
    /// ed25519-dalek `verify_strict`.
    pub const STRICT: u32 = 0;
    /// ed25519-dalek `verify`.
    pub const RFC8032: u32 = 1;
    /// ed25519-zebra (ZIP-215).
    pub const ZIP215: u32 = 2;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_is_flat_and_defines_its_kernels() {
        for program in ALL {
            assert!(
                !program.source.contains("#include"),
                "{} still includes files",
                program.name
            );
            assert!(program.source.contains("VIGIL_VENDOR_H"));
            assert!(
                !program.kernels.is_empty(),
                "{} has no kernels",
                program.name
            );
        }
        for name in [
            names::ED25519_CHALLENGE,
            names::ED25519_PREPARE,
            names::ED25519_SCALARMULT,
            names::ED25519_CHECK,
        ] {
            assert!(ED25519.has_kernel(name), "{name}");
        }
        for name in [
            names::MERKLE_LEAVES,
            names::MERKLE_LEVEL,
            names::MERKLE_REDUCE,
        ] {
            assert!(MERKLE.has_kernel(name), "{name}");
        }
        assert_ne!(ED25519.source_hash(), MERKLE.source_hash());
    }

    #[test]
    fn reduce_group_is_a_power_of_two() {
        assert!(MERKLE_REDUCE_GROUP.is_power_of_two());
    }
}
