//! Verilates the RTL under `hdl/rtl` and links the models into this crate.
//!
//! For each DUT below: `verilator --cc -Wall` writes the model's C++ into
//! `$OUT_DIR/<dut>`, and the `cc` crate compiles it with the DUT's C shim
//! (`shim/<dut>.cpp`) into a static library. Verilator's runtime (`verilated.cpp`,
//! `verilated_threads.cpp`, found through `verilator --getenv VERILATOR_ROOT`) is
//! compiled once for all of them.
//!
//! Without Verilator the build does not fail (the rest of the workspace must build on
//! a machine without it): it warns, sets `cfg(vigil_no_verilator)` and links no model,
//! and every constructor of a model then returns `SimError::NoVerilator`, so the tests
//! that need one fail saying how to install it. With Verilator, an RTL error (lint
//! warnings included, because of `-Wall`) fails the build.
//!
//! `VERILATOR` names another verilator binary than the one on `PATH`.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// A model to build: its name (the model's C++ prefix is `V<name>`, its library
/// `vigil_model_<name>`), its top module and shim (`shim/<shim>.cpp`, given the name as
/// `VIGIL_CARD_NAME`), its RTL files in compilation order (under `hdl/rtl`), and its
/// top-level parameter overrides. Most models are their top with default names.
struct Dut {
    name: &'static str,
    top: &'static str,
    sources: &'static [&'static str],
    params: &'static [&'static str],
}

/// The card's RTL, in compilation order.
const CARD_SOURCES: &[&str] = &[
    "vigil_card_regs_pkg.sv",
    "vigil_blake3_pkg.sv",
    "vigil_sha512_pkg.sv",
    "vigil_blake3_compress.sv",
    "vigil_merkle_engine.sv",
    "vigil_sc_reduce.sv",
    "vigil_sha512_core.sv",
    "vigil_fe_pkg.sv",
    "vigil_ed25519_pkg.sv",
    "vigil_fe_alu.sv",
    "vigil_fe_addsub.sv",
    "vigil_ed25519_rom.sv",
    "vigil_ed25519_engine.sv",
    "vigil_card_top.sv",
];

const DUTS: &[Dut] = &[
    Dut {
        name: "vigil_blake3_compress",
        top: "vigil_blake3_compress",
        sources: &["vigil_blake3_pkg.sv", "vigil_blake3_compress.sv"],
        // The shim passes tags as u32.
        params: &["-GTagWidth=32"],
    },
    Dut {
        name: "vigil_sha512_core",
        top: "vigil_sha512_core",
        sources: &[
            "vigil_sha512_pkg.sv",
            "vigil_sc_reduce.sv",
            "vigil_sha512_core.sv",
        ],
        // The shim passes tags as u32.
        params: &["-GTagWidth=32"],
    },
    Dut {
        name: "vigil_sc_reduce",
        top: "vigil_sc_reduce",
        sources: &["vigil_sha512_pkg.sv", "vigil_sc_reduce.sv"],
        params: &[],
    },
    Dut {
        name: "vigil_merkle_engine",
        top: "vigil_merkle_engine",
        sources: &[
            "vigil_card_regs_pkg.sv",
            "vigil_blake3_pkg.sv",
            "vigil_blake3_compress.sv",
            "vigil_merkle_engine.sv",
        ],
        params: &[],
    },
    Dut {
        name: "vigil_card_top",
        top: "vigil_card_top",
        sources: CARD_SOURCES,
        // BuildHash is added by main: the hash of the RTL sources.
        params: &[],
    },
    // The card with 2 verification engines and 2 SHA-512 cores (SimCard / vigil-card-sim
    // --engines 2).
    Dut {
        name: "vigil_card_top_e2",
        top: "vigil_card_top",
        sources: CARD_SOURCES,
        params: &["-GVerifyEngines=2", "-GSha512Cores=2"],
    },
    // The card with 4 verification engines and 2 SHA-512 cores (vigil-card-sim --engines
    // 4; the long run uses it). Four engines finish a signature every 3,547 / 4 = 887
    // cycles; a core hashes a 296-byte R || A || M in about 412 and a 1,232-byte one in
    // about 1,100, so two cores keep up at both sizes.
    Dut {
        name: "vigil_card_top_e4",
        top: "vigil_card_top",
        sources: CARD_SOURCES,
        params: &["-GVerifyEngines=4", "-GSha512Cores=2"],
    },
    Dut {
        name: "vigil_ed25519_engine",
        top: "vigil_ed25519_engine",
        sources: &[
            "vigil_fe_pkg.sv",
            "vigil_ed25519_pkg.sv",
            "vigil_fe_alu.sv",
            "vigil_fe_addsub.sv",
            "vigil_ed25519_rom.sv",
            "vigil_ed25519_engine.sv",
        ],
        // The shim passes tags as u32.
        params: &["-GTagWidth=32"],
    },
    Dut {
        name: "vigil_fe_alu",
        top: "vigil_fe_alu",
        sources: &["vigil_fe_pkg.sv", "vigil_fe_alu.sv"],
        // The shim passes tags as u32.
        params: &["-GTagWidth=32"],
    },
    Dut {
        name: "vigil_fe_addsub",
        top: "vigil_fe_addsub",
        sources: &["vigil_fe_pkg.sv", "vigil_fe_addsub.sv"],
        // The shim passes tags as u32.
        params: &["-GTagWidth=32"],
    },
];

/// Flags that silence warnings in Verilator's generated C++ (those of its own makefile,
/// `verilated.mk`): its code is not ours to fix.
const GENERATED_CODE_FLAGS: &[&str] = &[
    "-faligned-new",
    "-Wno-bool-operation",
    "-Wno-sign-compare",
    "-Wno-uninitialized",
    "-Wno-unused-but-set-variable",
    "-Wno-unused-parameter",
    "-Wno-unused-variable",
    "-Wno-shadow",
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rustc-check-cfg=cfg(vigil_no_verilator)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=VERILATOR");
    println!("cargo::rerun-if-env-changed=PATH");

    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let rtl = manifest.join("../rtl");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    for dut in DUTS {
        for src in dut.sources {
            println!("cargo::rerun-if-changed={}", rtl.join(src).display());
        }
        println!(
            "cargo::rerun-if-changed={}",
            manifest
                .join("shim")
                .join(format!("{}.cpp", dut.top))
                .display()
        );
    }

    // The card's BUILD_HASH: the RTL it is built from (every file under hdl/rtl).
    let build_hash = rtl_hash(&rtl)?;
    println!("cargo::rustc-env=VIGIL_CARD_BUILD_HASH={build_hash:016x}");
    println!("cargo::rerun-if-changed={}", rtl.display());

    for shared in ["model.h", "model.cpp"] {
        println!(
            "cargo::rerun-if-changed={}",
            manifest.join("shim").join(shared).display()
        );
    }

    let verilator = env::var("VERILATOR").unwrap_or_else(|_| "verilator".to_string());
    // Rebuild when the binary changes, or appears: a path that does not exist makes
    // cargo rerun this script on every build, which is what a build without Verilator
    // wants (it is cheap, and picks Verilator up once it is installed).
    for candidate in binary_candidates(&verilator) {
        println!("cargo::rerun-if-changed={}", candidate.display());
    }
    let Some(root) = verilator_root(&verilator) else {
        println!(
            "cargo::warning=verilator is not installed (apt-get install verilator): \
             vigil-hdl-sim builds without RTL models and its tests will fail"
        );
        println!("cargo::rustc-cfg=vigil_no_verilator");
        return Ok(());
    };
    let include = root.join("include");

    for dut in DUTS {
        let mdir = out.join(dut.name);
        if mdir.exists() {
            // Stale files of an earlier verilation would be compiled too.
            fs::remove_dir_all(&mdir)?;
        }
        let run = Command::new(&verilator)
            .args(["--cc", "-Wall", "--no-timing", "--Mdir"])
            .arg(&mdir)
            .args(["--top-module", dut.top])
            .args(["--prefix".to_string(), format!("V{}", dut.name)])
            .args(dut.params)
            .args(
                (dut.top == "vigil_card_top").then(|| format!("-GBuildHash=64'h{build_hash:016x}")),
            )
            .args(dut.sources.iter().map(|s| rtl.join(s)))
            .output()?;
        if !run.status.success() {
            // Verilator's own messages, as it printed them, then the error.
            eprint!(
                "{}{}",
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            );
            return Err(format!(
                "verilator failed on {} ({}): its messages are above",
                dut.name, run.status
            )
            .into());
        }

        let mut build = base_build(&include);
        build.include(&mdir);
        for entry in fs::read_dir(&mdir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "cpp") {
                build.file(path);
            }
        }
        build.file(manifest.join("shim").join(format!("{}.cpp", dut.top)));
        if dut.top == "vigil_card_top" {
            build.define("VIGIL_CARD_NAME", dut.name);
        }
        build.compile(&format!("vigil_model_{}", dut.name));
    }

    let mut runtime = base_build(&include);
    runtime
        .file(include.join("verilated.cpp"))
        .file(include.join("verilated_threads.cpp"))
        // The handle operations every DUT's shim shares (shim/model.h).
        .file(manifest.join("shim").join("model.cpp"));
    runtime.compile("vigil_verilated");
    Ok(())
}

/// FNV-1a (64-bit) over the names and contents of the `.sv` files under `rtl`, in name
/// order: a build identity, not a security measure. Never 0 (0 would read as "not
/// set" on the card).
fn rtl_hash(rtl: &Path) -> Result<u64, Box<dyn Error>> {
    let mut files: Vec<PathBuf> = fs::read_dir(rtl)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "sv"));
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        for byte in name.unwrap_or_default().bytes().chain(fs::read(&path)?) {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    Ok(h.max(1))
}

/// Where `name` is run from: itself if it is a path, else the first `PATH` entry that
/// has it, else every place on `PATH` it could appear.
fn binary_candidates(name: &str) -> Vec<PathBuf> {
    if name.contains('/') {
        return vec![PathBuf::from(name)];
    }
    let dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect())
        .unwrap_or_default();
    let found = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file());
    match found {
        Some(path) => vec![path],
        None => dirs.iter().map(|d| d.join(name)).collect(),
    }
}

/// `$VERILATOR_ROOT` as the verilator binary reports it, or `None` if it cannot be run.
fn verilator_root(verilator: &str) -> Option<PathBuf> {
    let output = Command::new(verilator)
        .args(["--getenv", "VERILATOR_ROOT"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let root = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    root.join("include/verilated.cpp").is_file().then_some(root)
}

/// A C++17 build with Verilator's include paths. The model is compiled at -O2 whatever
/// the profile: it takes seconds, and the tests run hundreds of thousands of cycles.
fn base_build(include: &Path) -> cc::Build {
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .opt_level(2)
        .warnings(false)
        .extra_warnings(false)
        .include(include)
        .include(include.join("vltstd"))
        .define("VM_COVERAGE", "0")
        .define("VM_SC", "0")
        .define("VM_TRACE", "0")
        .define("VM_TRACE_FST", "0")
        .define("VM_TRACE_VCD", "0");
    for flag in GENERATED_CODE_FLAGS {
        build.flag_if_supported(flag);
    }
    build
}
