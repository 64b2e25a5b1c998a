//! The WGSL port of the device code (`kernels/wgsl/`), embedded, and how a shader
//! module is put together from it.
//!
//! WGSL has no `#include`, and its resource bindings are module-scope declarations, so
//! two entry points with different parameters cannot share a module without their
//! bindings colliding. Each entry point is therefore a module of its own: the library
//! files its program needs, in order, then the entry's file
//! (`kernels/wgsl/entry/<entry name>.wgsl`). Binding conventions (group 0): binding i
//! is the entry's i-th buffer parameter in [`crate::launch`] order, and the entry's
//! `u32` parameters, in order, are the fields of one uniform struct at the binding after
//! the last buffer. Byte buffers are `array<u32>` (see `bytes.wgsl`), and verdicts are
//! one `u32` per signature.

/// Words per signature of the WGSL port's per-signature table (`ED_TABLE_WORDS` in
/// `ed25519.wgsl`, which lays it out; a test holds the two equal). Its field elements
/// are 20 limbs of 13 bits, so it is larger than the C kernels' table
/// ([`crate::ED25519_TABLE_WORDS`]).
pub const ED25519_TABLE_WORDS: usize = 672;

/// Words of the Table buffer a verification of `n` signatures needs in the WGSL port
/// (whole slabs of [`crate::launch::GROUP`] signatures).
pub fn table_words_for(n: usize) -> usize {
    ED25519_TABLE_WORDS * n.div_ceil(crate::launch::GROUP) * crate::launch::GROUP
}

/// A library file of the WGSL port, by name (without `.wgsl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct File {
    /// Its name.
    pub name: &'static str,
    /// Its text.
    pub source: &'static str,
}

macro_rules! file {
    ($name:literal) => {
        File {
            name: $name,
            source: include_str!(concat!("../wgsl/", $name, ".wgsl")),
        }
    };
}

macro_rules! entry {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../wgsl/entry/", $name, ".wgsl")),
        )
    };
}

/// Every library file, in the order a module concatenates them.
pub const LIBRARY: [File; 8] = [
    file!("bytes"),
    file!("sha512"),
    file!("sc25519"),
    file!("fe25519"),
    file!("ge25519"),
    file!("ed25519_base"),
    file!("ed25519"),
    file!("blake3"),
];

/// The library files each program's entries are built on.
pub fn library_of(program: &str) -> &'static [&'static str] {
    match program {
        "ed25519" => &[
            "bytes",
            "sha512",
            "sc25519",
            "fe25519",
            "ge25519",
            "ed25519_base",
            "ed25519",
        ],
        "merkle" => &["bytes", "blake3"],
        _ => &[],
    }
}

/// The named library files joined in [`LIBRARY`] order (unknown names are skipped),
/// for a module of one's own (tests of a single file's functions).
pub fn library(names: &[&str]) -> String {
    LIBRARY
        .iter()
        .filter(|f| names.contains(&f.name))
        .map(|f| f.source)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The entry files of the port, by entry name (`kernels/wgsl/entry/<name>.wgsl`).
const ENTRY_FILES: &[(&str, &str)] = &[
    entry!("vigil_ed25519_challenge"),
    entry!("vigil_ed25519_prepare"),
    entry!("vigil_ed25519_scalarmult"),
    entry!("vigil_ed25519_check"),
    entry!("vigil_merkle_leaves"),
    entry!("vigil_merkle_level"),
    entry!("vigil_merkle_reduce"),
];

/// The whole module of one entry point: its program's library files, then its own
/// file; `None` for an entry not ported to WGSL.
pub fn entry_module(entry: &crate::launch::Entry) -> Option<String> {
    let (_, own) = ENTRY_FILES.iter().find(|(name, _)| *name == entry.name)?;
    Some(format!("{}\n{own}", library(library_of(entry.program))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_size_is_the_shaders() {
        let lib = LIBRARY
            .iter()
            .find(|f| f.name == "ed25519")
            .map(|f| f.source);
        let line = format!("const ED_TABLE_WORDS: u32 = {ED25519_TABLE_WORDS}u;");
        assert!(
            lib.is_some_and(|s| s.contains(&line)),
            "ed25519.wgsl lacks `{line}`"
        );
    }

    #[test]
    fn every_entry_has_a_module() {
        for entry in crate::launch::ENTRIES {
            let module = entry_module(entry);
            assert!(
                module.is_some_and(|m| m.contains(&format!("fn {}(", entry.name))),
                "{} has no WGSL module defining it",
                entry.name
            );
        }
    }
}
