//! The WGSL port of the device code (`kernels/wgsl/`), embedded, and how a shader
//! module is put together from it.
//!
//! WGSL has no `#include`, and its resource bindings are module-scope declarations, so
//! two entry points with different parameters cannot share a module without their
//! bindings colliding. Each entry point is therefore a module of its own: the library
//! files it uses, in a fixed order, then the entry's file
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

/// Every library file, in the order a module concatenates them.
pub const LIBRARY: [File; 10] = [
    file!("bytes"),
    file!("sha512"),
    file!("sc25519"),
    file!("fe25519"),
    file!("ge25519"),
    file!("ed25519_base"),
    file!("ed25519"),
    file!("ed25519_table"),
    file!("ed25519_table_put"),
    file!("blake3"),
];

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

/// The curve side of an Ed25519 entry: field, group, B's table, the verification.
const CURVE: [&str; 4] = ["fe25519", "ge25519", "ed25519_base", "ed25519"];

/// An entry file of the port (`kernels/wgsl/entry/<name>.wgsl`) and the library files
/// its module is built on: only those it uses, since each one's bindings (the arena,
/// the table and its access mode) must be the entry's.
struct EntryFile {
    name: &'static str,
    source: &'static str,
    library: &'static [&'static [&'static str]],
}

macro_rules! entry {
    ($name:literal, $($lib:expr),+) => {
        EntryFile {
            name: $name,
            source: include_str!(concat!("../wgsl/entry/", $name, ".wgsl")),
            library: &[$($lib),+],
        }
    };
}

const ENTRY_FILES: &[EntryFile] = &[
    entry!("vigil_ed25519_challenge", &["bytes", "sha512", "sc25519"]),
    entry!(
        "vigil_ed25519_prepare",
        &["bytes", "sc25519", "ed25519_table_put"],
        &CURVE
    ),
    entry!(
        "vigil_ed25519_scalarmult",
        &["ed25519_table", "ed25519_table_put"],
        &CURVE
    ),
    entry!("vigil_ed25519_check", &["bytes", "ed25519_table"], &CURVE),
    entry!("vigil_merkle_leaves", &["bytes", "blake3"]),
    entry!("vigil_merkle_level", &["bytes", "blake3"]),
    entry!("vigil_merkle_reduce", &["bytes", "blake3"]),
];

/// The whole module of one entry point: the library files it uses, then its own file;
/// `None` for a name that is not an entry of the port.
pub fn entry_module(entry: &crate::launch::Entry) -> Option<String> {
    let file = ENTRY_FILES.iter().find(|f| f.name == entry.name)?;
    let names: Vec<&str> = file
        .library
        .iter()
        .flat_map(|l| l.iter().copied())
        .collect();
    Some(format!("{}\n{}", library(&names), file.source))
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
