//! Kernels built ahead for the common NVIDIA architectures, shipped in the binary.
//!
//! Compiling the Ed25519 program with NVRTC takes a minute or more of CPU at start-up
//! (kernels/README.md has the figures), so a node with a common GPU would sit
//! NOT_SERVING that long on every fresh start (and NVRTC 12.4, what a CUDA 12 node has,
//! takes over ten minutes). `kernels/cuda-check.sh --update-prebuilt` compiles every
//! program with the pinned NVRTC 13.5 (the same compile path and options as the
//! backend), declares the PTX as ISA 8.4 and assembles it with the pinned ptxas 12.4, so
//! that R550 (CUDA 12.4) and every later driver loads the cubins; they go under
//! `kernels/prebuilt/`, listed with the BLAKE3 of the source they came from in
//! `prebuilt/manifest.tsv`, and the build script embeds them. At run time
//! a GPU takes the cubin of its architecture family when its source hash matches the
//! program this binary carries and its driver is new enough ([`for_gpu`]); any other GPU
//! compiles with NVRTC, as before.
//!
//! Drift: a test here fails when any program's source no longer matches its cubins'
//! hash, and `kernels/cuda-check.sh` (CI) rebuilds them and compares the bytes, so what
//! ships is what the sources make.

use crate::Program;

/// One program compiled for one architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prebuilt {
    /// The program (`ed25519`, `merkle`).
    pub program: &'static str,
    /// The architecture it was assembled for (`sm_90`).
    pub arch: &'static str,
    /// BLAKE3 of the program's source, hex ([`Program::source_hash`]).
    pub source_hash: &'static str,
    /// The compilers that made it.
    pub toolchain: &'static str,
    /// The oldest driver API version that loads it (`major * 1000 + minor * 10`).
    pub min_driver: i32,
    /// The cubin.
    pub cubin: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/prebuilt.rs"));

/// The architectures kernels are built ahead for.
pub const ARCHS: [&str; 2] = ["sm_80", "sm_90"];

/// `sm_XY` as (X, Y).
fn capability(arch: &str) -> Option<(i32, i32)> {
    let digits = arch.strip_prefix("sm_")?;
    let (major, minor) = digits.split_at(digits.len().checked_sub(1)?);
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The cubin of `program` for a GPU of compute capability `cc` under a driver of API
/// version `driver`, if one was built ahead: the same major architecture and the
/// highest minor not above the GPU's (a cubin runs on its own and later minor
/// revisions), from this program's exact source, for a driver that loads it.
pub fn for_gpu(program: &Program, cc: (i32, i32), driver: i32) -> Option<&'static Prebuilt> {
    let source = program.source_hex();
    PREBUILT
        .iter()
        .filter(|p| p.program == program.name && p.source_hash == source)
        .filter(|p| p.min_driver <= driver)
        .filter_map(|p| capability(p.arch).map(|c| (c, p)))
        .filter(|(c, _)| c.0 == cc.0 && c.1 <= cc.1)
        .max_by_key(|(c, _)| c.1)
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_is_built_ahead_for_every_arch_from_its_current_source() {
        for program in crate::ALL {
            let source = program.source_hex();
            for arch in ARCHS {
                let built: Vec<_> = PREBUILT
                    .iter()
                    .filter(|p| p.program == program.name && p.arch == arch)
                    .collect();
                assert_eq!(
                    built.len(),
                    1,
                    "{} {arch}: one prebuilt cubin",
                    program.name
                );
                assert_eq!(
                    built[0].source_hash, source,
                    "kernels/prebuilt/{}.{arch}.cubin is from another source: the kernels \
                     changed; run kernels/prebuild.sh",
                    program.name
                );
                // An ELF file, as cuModuleLoadData takes it.
                assert_eq!(&built[0].cubin[..4], b"\x7fELF", "{} {arch}", program.name);
            }
        }
    }

    #[test]
    fn a_gpu_takes_its_family_cubin_and_others_take_none() {
        let ed = &crate::ED25519;
        let newest = i32::MAX;
        let arch = |cc| for_gpu(ed, cc, newest).map(|p| p.arch);
        assert_eq!(arch((8, 0)), Some("sm_80"));
        assert_eq!(arch((8, 6)), Some("sm_80"));
        assert_eq!(arch((8, 9)), Some("sm_80"));
        assert_eq!(arch((9, 0)), Some("sm_90"));
        assert_eq!(arch((7, 5)), None);
        assert_eq!(arch((10, 0)), None);
        assert_eq!(arch((12, 0)), None);
        // A driver older than the cubins' toolchain compiles instead.
        let min = PREBUILT.iter().map(|p| p.min_driver).min().unwrap_or(0);
        assert_eq!(for_gpu(ed, (9, 0), min - 10), None);
    }

    #[test]
    fn architectures_parse() {
        assert_eq!(capability("sm_90"), Some((9, 0)));
        assert_eq!(capability("sm_120"), Some((12, 0)));
        assert_eq!(capability("sm_8"), None);
        assert_eq!(capability("compute_90"), None);
    }
}
