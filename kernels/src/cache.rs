//! Compiled programs cached on disk, for every driver that compiles these kernels.
//!
//! Building the Ed25519 program takes seconds on some drivers (tens of seconds on
//! PoCL, NVRTC for a large kernel too), which a daemon restart or a test run should not
//! pay again. A program binary is
//! only valid for the exact source, device and driver that produced it, so the key is a
//! BLAKE3 hash over all of them plus the build options; any change gives a new key and a
//! fresh build. A cache that cannot be read or written costs a rebuild, never an error:
//! the driver falls back to compiling from source and says so in the log.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Where a driver's compiled programs live: `$VIGIL_CACHE_DIR/<driver>`, else
/// `$XDG_CACHE_HOME/vigil/<driver>`, else `$HOME/.cache/vigil/<driver>`; `None` when none
/// of those is set (the cache is then off).
pub fn default_dir(driver: &str) -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("VIGIL_CACHE_DIR") {
        return Some(PathBuf::from(dir).join(driver));
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("vigil").join(driver));
    }
    var("HOME").map(|home| PathBuf::from(home).join(".cache/vigil").join(driver))
}

/// Everything a compiled program depends on.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    /// The program's name (for a readable file name).
    pub program: &'a str,
    /// BLAKE3 of the flattened source.
    pub source_hash: [u8; 32],
    /// What identifies the device and toolchain: name, vendor or architecture, driver
    /// version, compiler version, ... (each driver fills the five in its own way).
    pub device: [&'a str; 5],
    /// Build options passed to the compiler.
    pub options: &'a str,
}

impl Key<'_> {
    /// The cache file name: program name and a hash of every component.
    pub fn file_name(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"vigil-program-v1\0");
        h.update(&self.source_hash);
        for part in self.device.iter().chain([&self.options]) {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let hash = h.finalize();
        format!("{}-{}.bin", self.program, &hash.to_hex()[..32])
    }
}

/// A compiled program from the cache, if there is one.
pub fn load(dir: &Path, key: &Key<'_>) -> Option<Vec<u8>> {
    fs::read(dir.join(key.file_name()))
        .ok()
        .filter(|b| !b.is_empty())
}

/// Stores a compiled program, atomically (write to a temporary file, then rename), so a
/// concurrent reader never sees half a binary.
pub fn store(dir: &Path, key: &Key<'_>, binary: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let dest = dir.join(key.file_name());
    let tmp = dir.join(format!(".{}.{}.tmp", key.file_name(), std::process::id()));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(binary)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, &dest).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key<'a>(driver: &'a str, source_hash: [u8; 32]) -> Key<'a> {
        Key {
            program: "ed25519",
            source_hash,
            device: ["gpu", "vendor", driver, "OpenCL 3.0", "platform"],
            options: "",
        }
    }

    #[test]
    fn every_component_changes_the_key() {
        let base = key("1.0", [1; 32]).file_name();
        assert_ne!(base, key("1.1", [1; 32]).file_name());
        assert_ne!(base, key("1.0", [2; 32]).file_name());
        let mut other = key("1.0", [1; 32]);
        other.options = "-cl-opt-disable";
        assert_ne!(base, other.file_name());
        // Component boundaries matter: ("ab", "c") is not ("a", "bc").
        let mut a = key("1.0", [1; 32]);
        a.device = ["ab", "c", "", "", ""];
        let mut b = key("1.0", [1; 32]);
        b.device = ["a", "bc", "", "", ""];
        assert_ne!(a.file_name(), b.file_name());
        assert!(base.starts_with("ed25519-") && base.ends_with(".bin"));
    }

    #[test]
    fn store_then_load() {
        let dir = std::env::temp_dir().join(format!("vigil-cache-test-{}", std::process::id()));
        let k = key("1.0", [7; 32]);
        assert!(load(&dir, &k).is_none());
        store(&dir, &k, b"binary").unwrap();
        assert_eq!(load(&dir, &k).unwrap(), b"binary");
        assert!(load(&dir, &key("2.0", [7; 32])).is_none());
        fs::remove_dir_all(&dir).unwrap();
    }
}
