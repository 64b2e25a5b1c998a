//! Flattens each entry file under `entry/` into one source string.
//!
//! NVRTC and `clBuildProgram` take a single string and know nothing of our include
//! directory, so every `#include "vigil/..."` is replaced by the file's text (each file
//! once: later includes of the same file are dropped, as include guards would). `#line`
//! markers keep compiler messages pointing at the original files. The result goes to
//! `OUT_DIR`, together with `entries.rs`, which `src/lib.rs` includes.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    if let Err(e) = run() {
        eprintln!("vigil-kernels build: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let include = root.join("include");
    let entry_dir = root.join("entry");
    println!("cargo:rerun-if-changed={}", include.display());
    println!("cargo:rerun-if-changed={}", entry_dir.display());

    let mut entries: Vec<PathBuf> = fs::read_dir(&entry_dir)
        .map_err(|e| format!("{}: {e}", entry_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cl"))
        .collect();
    entries.sort();

    let mut table = String::new();
    for entry in &entries {
        let stem = entry
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("bad entry file name {}", entry.display()))?;
        let mut seen = HashSet::new();
        let mut flat = String::new();
        flatten(entry, &include, &mut seen, &mut flat)?;
        let dest = out.join(format!("{stem}.cl"));
        fs::write(&dest, &flat).map_err(|e| format!("{}: {e}", dest.display()))?;
        for dep in &seen {
            println!("cargo:rerun-if-changed={}", dep.display());
        }
        let kernels = kernel_names(&flat);
        let _ = writeln!(
            table,
            "/// The flattened `entry/{stem}.cl`.\npub const {}: Program = Program {{ name: {stem:?}, source: include_str!(concat!(env!(\"OUT_DIR\"), \"/{stem}.cl\")), kernels: &{kernels:?} }};",
            stem.to_uppercase()
        );
    }
    let defines = numeric_defines(&include)?;
    for (name, value) in defines {
        let _ = writeln!(
            table,
            "/// `#define {name}` of the kernel headers.\npub const {}: u32 = {value};",
            name.trim_start_matches("VIGIL_")
        );
    }
    fs::write(out.join("entries.rs"), table).map_err(|e| e.to_string())?;
    let prebuilt = prebuilt_table(&root.join("prebuilt"))?;
    fs::write(out.join("prebuilt.rs"), prebuilt).map_err(|e| e.to_string())
}

/// The `PREBUILT` table of `src/prebuilt.rs` from `prebuilt/manifest.tsv`: one entry per
/// line (program, arch, source hash, toolchain, oldest driver, cubin file), the cubin
/// embedded with `include_bytes!`.
fn prebuilt_table(dir: &Path) -> Result<String, String> {
    let manifest = dir.join("manifest.tsv");
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed={}", manifest.display());
    let text = fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let mut out = String::from("/// Every kernel program built ahead, as `prebuilt/manifest.tsv` lists them.\npub const PREBUILT: &[Prebuilt] = &[\n");
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [program, arch, source, toolchain, min_driver, file] = f[..] else {
            return Err(format!(
                "{}:{}: expected 6 tab-separated fields",
                manifest.display(),
                n + 1
            ));
        };
        let min_driver: i32 = min_driver
            .parse()
            .map_err(|e| format!("{}:{}: {min_driver}: {e}", manifest.display(), n + 1))?;
        let path = dir.join(file);
        if !path.is_file() || file.contains('/') {
            return Err(format!(
                "{}:{}: no file prebuilt/{file}",
                manifest.display(),
                n + 1
            ));
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            out,
            "    Prebuilt {{ program: {program:?}, arch: {arch:?}, source_hash: {source:?}, toolchain: {toolchain:?}, min_driver: {min_driver}, cubin: include_bytes!({:?}) }},",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    Ok(out)
}

/// Appends `file` to `out`, replacing `#include "..."` lines by the included text.
fn flatten(
    file: &Path,
    include: &Path,
    seen: &mut HashSet<PathBuf>,
    out: &mut String,
) -> Result<(), String> {
    let canonical = fs::canonicalize(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if !seen.insert(canonical.clone()) {
        return Ok(());
    }
    let text = fs::read_to_string(&canonical).map_err(|e| format!("{}: {e}", file.display()))?;
    let shown = file
        .strip_prefix(include.parent().unwrap_or(include))
        .unwrap_or(file)
        .display()
        .to_string();
    let _ = writeln!(out, "#line 1 \"{shown}\"");
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("#include") {
            let name = rest
                .trim()
                .strip_prefix('"')
                .and_then(|r| r.split('"').next())
                .ok_or_else(|| {
                    format!(
                        "{shown}:{}: only #include \"...\" is allowed in kernels",
                        n + 1
                    )
                })?;
            flatten(&include.join(name), include, seen, out)?;
            let _ = writeln!(out, "#line {} \"{shown}\"", n + 2);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(())
}

/// What follows the entry macro on a line that starts an entry kernel: `VIGIL_KERNEL
/// name(` or `VIGIL_KERNEL_MAXREG(n) name(`.
fn after_entry_macro(line: &str) -> Option<&str> {
    let line = line.trim_start();
    line.strip_prefix("VIGIL_KERNEL ").or_else(|| {
        let rest = line.strip_prefix("VIGIL_KERNEL_MAXREG(")?;
        Some(&rest[rest.find(')')? + 1..])
    })
}

/// Names of the entry kernels, from the lines that start one.
fn kernel_names(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(after_entry_macro)
        .filter_map(|rest| rest.split('(').next())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

/// `#define VIGIL_NAME 123` lines of the headers the host must agree with.
fn numeric_defines(include: &Path) -> Result<Vec<(String, u32)>, String> {
    let mut found = Vec::new();
    let dir = include.join("vigil");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for file in files {
        let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("#define") {
                continue;
            }
            let (Some(name), Some(value), None) = (words.next(), words.next(), words.next()) else {
                continue;
            };
            let value = value.trim_end_matches('u').trim_end_matches('U');
            if HOST_DEFINES.contains(&name) {
                let v = value
                    .parse::<u32>()
                    .map_err(|e| format!("{}: {name} {value}: {e}", file.display()))?;
                found.push((name.to_owned(), v));
            }
        }
    }
    for want in HOST_DEFINES {
        if !found.iter().any(|(n, _)| n == want) {
            return Err(format!("no `#define {want} N` in kernels/include/vigil"));
        }
    }
    Ok(found)
}

/// Defines the host reads out of the headers, so the two cannot disagree.
const HOST_DEFINES: [&str; 3] = [
    "VIGIL_GROUP",
    "VIGIL_MERKLE_REDUCE_GROUP",
    "VIGIL_ED25519_TABLE_WORDS",
];
