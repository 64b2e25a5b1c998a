//! The FPGA card's register map, generated from one machine-readable source.
//!
//! # Why a generator
//!
//! The card's registers, opcodes, status codes and framing fields are known to three
//! places: the RTL (a SystemVerilog package), the host driver (Rust constants) and the
//! documentation (tables in `hdl/README.md`). Written by hand they drift, and a drifted
//! offset is a driver that reads the wrong counter or a status code the host
//! misreports. So `hdl/regmap.json` is the only source, this crate renders the three
//! files from it, and [`check`] (run by this crate's test, so by CI) fails when a
//! checked-in copy is not what the source gives (OpenTitan's reggen does the same).
//!
//! `cargo run -p vigil-regmap -- --write` regenerates after an edit of the JSON.
//!
//! # Names
//!
//! JSON names are UPPER_SNAKE. The SystemVerilog package uses UpperCamelCase
//! localparams: `Reg<Name>` for offsets, `<Reg><Field>Lsb`/`Width` for fields,
//! `<Enum><Value>` for codes (`OpcodeMerkleRoot`, `StatusTooMany`), `<Field>Lsb`/`Width`
//! for framing fields. Rust keeps UPPER_SNAKE inside modules: `regs::STATUS`,
//! `fields::STATUS_MERKLE_BUSY`, `opcode::MERKLE_ROOT`, `status::TOO_MANY`.

pub mod generated;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why the map could not be read or rendered.
#[derive(Debug, thiserror::Error)]
pub enum RegmapError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The JSON does not parse as a register map.
    #[error("hdl/regmap.json: {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON parses but breaks a rule of the map.
    #[error("hdl/regmap.json: {0}")]
    Invalid(String),
}

/// The whole map, as `hdl/regmap.json` has it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regmap {
    /// The map's name (the package is `<name>_regs_pkg`).
    pub name: String,
    /// What the map is.
    pub doc: String,
    /// Register map version.
    pub version: Version,
    /// The identity register's value, hex.
    pub magic: String,
    /// The AXI-Lite registers.
    pub registers: Vec<Register>,
    /// Code tables (opcodes, status codes).
    pub enums: Vec<Enum>,
    /// The stream framing.
    pub framing: Framing,
}

/// Register map version.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// Incompatible changes.
    pub major: u16,
    /// Compatible additions.
    pub minor: u16,
}

/// One 32-bit register.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// UPPER_SNAKE name.
    pub name: String,
    /// Byte offset, hex.
    pub offset: String,
    /// `ro` or `rw`.
    pub access: String,
    /// What it holds.
    pub doc: String,
    /// Named bit fields, if any.
    #[serde(default)]
    pub fields: Vec<Field>,
}

/// A bit field: `"3"` or `"15:8"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// UPPER_SNAKE name.
    pub name: String,
    /// Bit range, `msb:lsb` or one bit.
    pub bits: String,
    /// What it means.
    pub doc: String,
}

/// A table of codes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enum {
    /// UPPER_SNAKE name.
    pub name: String,
    /// What the codes are.
    pub doc: String,
    /// The codes.
    pub values: Vec<EnumValue>,
}

/// One code.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    /// UPPER_SNAKE name.
    pub name: String,
    /// Its value (8 bits).
    pub value: u8,
    /// What it means.
    pub doc: String,
}

/// The request/response stream framing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framing {
    /// Stream word width.
    pub word_bits: u32,
    /// The framing's rules.
    pub doc: String,
    /// Header fields.
    pub fields: Vec<Field>,
}

/// A parsed bit range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bits {
    /// Lowest bit.
    pub lsb: u32,
    /// Number of bits.
    pub width: u32,
}

fn parse_hex(s: &str) -> Result<u32, RegmapError> {
    let digits = s.trim_start_matches("0x").replace('_', "");
    u32::from_str_radix(&digits, 16).map_err(|e| RegmapError::Invalid(format!("{s:?}: {e}")))
}

fn parse_bits(s: &str, limit: u32) -> Result<Bits, RegmapError> {
    let bad = |why: &str| RegmapError::Invalid(format!("bits {s:?}: {why}"));
    let num = |t: &str| t.trim().parse::<u32>().map_err(|_| bad("not a number"));
    let (msb, lsb) = match s.split_once(':') {
        Some((m, l)) => (num(m)?, num(l)?),
        None => (num(s)?, num(s)?),
    };
    if msb < lsb || msb >= limit {
        return Err(bad("out of range"));
    }
    Ok(Bits {
        lsb,
        width: msb - lsb + 1,
    })
}

fn camel(upper_snake: &str) -> String {
    upper_snake
        .split('_')
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn is_upper_snake(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

impl Regmap {
    /// Parses and validates the JSON source.
    pub fn parse(json: &str) -> Result<Regmap, RegmapError> {
        let map: Regmap = serde_json::from_str(json)?;
        map.validate()?;
        Ok(map)
    }

    fn validate(&self) -> Result<(), RegmapError> {
        parse_hex(&self.magic)?;
        let mut offsets = std::collections::BTreeMap::new();
        for reg in &self.registers {
            if !is_upper_snake(&reg.name) {
                return Err(RegmapError::Invalid(format!("name {:?}", reg.name)));
            }
            let off = parse_hex(&reg.offset)?;
            if off % 4 != 0 || off >= 0x1000 {
                return Err(RegmapError::Invalid(format!(
                    "{}: offset {off:#x} is not a word in the 4 KiB window",
                    reg.name
                )));
            }
            if let Some(other) = offsets.insert(off, &reg.name) {
                return Err(RegmapError::Invalid(format!(
                    "{} and {other} share offset {off:#x}",
                    reg.name
                )));
            }
            if reg.access != "ro" && reg.access != "rw" {
                return Err(RegmapError::Invalid(format!(
                    "{}: access {:?}",
                    reg.name, reg.access
                )));
            }
            let mut used = 0u64;
            for f in &reg.fields {
                let b = parse_bits(&f.bits, 32)?;
                let mask = ((1u64 << b.width) - 1) << b.lsb;
                if used & mask != 0 || !is_upper_snake(&f.name) {
                    return Err(RegmapError::Invalid(format!(
                        "{}.{}: overlapping or badly named field",
                        reg.name, f.name
                    )));
                }
                used |= mask;
            }
        }
        for e in &self.enums {
            let mut seen = std::collections::BTreeSet::new();
            for v in &e.values {
                if !seen.insert(v.value) || !is_upper_snake(&v.name) {
                    return Err(RegmapError::Invalid(format!(
                        "{}.{}: repeated value or bad name",
                        e.name, v.name
                    )));
                }
            }
        }
        for f in &self.framing.fields {
            parse_bits(&f.bits, self.framing.word_bits)?;
        }
        Ok(())
    }

    fn registers_sorted(&self) -> Vec<(u32, &Register)> {
        let mut regs: Vec<(u32, &Register)> = self
            .registers
            .iter()
            .map(|r| (parse_hex(&r.offset).unwrap_or(0), r))
            .collect();
        regs.sort_by_key(|(off, _)| *off);
        regs
    }

    fn magic_value(&self) -> u32 {
        parse_hex(&self.magic).unwrap_or(0)
    }

    /// The SystemVerilog package, `hdl/rtl/<name>_regs_pkg.sv`.
    pub fn render_sv(&self) -> String {
        let mut s = String::new();
        let pkg = format!("{}_regs_pkg", self.name);
        let _ = writeln!(
            s,
            "// {pkg}: the card's register map, opcodes, status codes and framing."
        );
        let _ = writeln!(s, "//");
        let _ = writeln!(
            s,
            "// GENERATED from hdl/regmap.json by `cargo run -p vigil-regmap -- --write`: do not edit."
        );
        s.push_str("\n`default_nettype none\n\n");
        let _ = writeln!(s, "package {pkg};\n");
        s.push_str(
            "  // A map of constants: each user takes the ones it needs, so the rest are unused\n  // there, by design.\n  /* verilator lint_off UNUSEDPARAM */\n\n",
        );
        let _ = writeln!(
            s,
            "  localparam logic [31:0] Magic = 32'h{:08x};",
            self.magic_value()
        );
        let _ = writeln!(
            s,
            "  localparam logic [15:0] VersionMajor = 16'd{};",
            self.version.major
        );
        let _ = writeln!(
            s,
            "  localparam logic [15:0] VersionMinor = 16'd{};\n",
            self.version.minor
        );
        s.push_str("  // Register byte offsets (AXI-Lite, 32-bit registers, 4 KiB window).\n");
        for (off, reg) in self.registers_sorted() {
            let _ = writeln!(
                s,
                "  localparam logic [11:0] Reg{} = 12'h{off:03x};  // {}",
                camel(&reg.name),
                reg.access
            );
        }
        s.push_str("\n  // Register fields: lowest bit and width.\n");
        for (_, reg) in self.registers_sorted() {
            for f in &reg.fields {
                let b = parse_bits(&f.bits, 32).unwrap_or(Bits { lsb: 0, width: 1 });
                let name = format!("{}{}", camel(&reg.name), camel(&f.name));
                let _ = writeln!(
                    s,
                    "  localparam int unsigned {name}Lsb = {};\n  localparam int unsigned {name}Width = {};",
                    b.lsb, b.width
                );
            }
        }
        for e in &self.enums {
            let _ = writeln!(s, "\n  // {}", e.doc);
            for v in &e.values {
                let _ = writeln!(
                    s,
                    "  localparam logic [7:0] {}{} = 8'd{};",
                    camel(&e.name),
                    camel(&v.name),
                    v.value
                );
            }
        }
        s.push_str("\n  // Stream header fields: lowest bit and width.\n");
        for f in &self.framing.fields {
            let b =
                parse_bits(&f.bits, self.framing.word_bits).unwrap_or(Bits { lsb: 0, width: 1 });
            let _ = writeln!(
                s,
                "  localparam int unsigned {}Lsb = {};\n  localparam int unsigned {}Width = {};",
                camel(&f.name),
                b.lsb,
                camel(&f.name),
                b.width
            );
        }
        let _ = writeln!(
            s,
            "\n  /* verilator lint_on UNUSEDPARAM */\n\nendpackage : {pkg}\n\n`default_nettype wire"
        );
        s
    }

    /// The driver's constants, `driver/fpga/src/regs.rs`.
    pub fn render_rust(&self) -> String {
        let mut s = String::new();
        s.push_str("//! The card's register map, opcodes, status codes and framing.\n//!\n");
        s.push_str(
            "//! GENERATED from hdl/regmap.json by `cargo run -p vigil-regmap -- --write`: do not edit.\n\n",
        );
        let _ = writeln!(
            s,
            "/// The identity register's value.\npub const MAGIC: u32 = 0x{:08x};",
            self.magic_value()
        );
        let _ = writeln!(
            s,
            "/// Register map major version (incompatible changes).\npub const VERSION_MAJOR: u16 = {};",
            self.version.major
        );
        let _ = writeln!(
            s,
            "/// Register map minor version (compatible additions).\npub const VERSION_MINOR: u16 = {};",
            self.version.minor
        );
        let _ = writeln!(
            s,
            "/// Stream word width in bits.\npub const WORD_BITS: u32 = {};\n",
            self.framing.word_bits
        );
        s.push_str("/// Register byte offsets in the AXI-Lite window.\npub mod regs {\n");
        for (off, reg) in self.registers_sorted() {
            let _ = writeln!(
                s,
                "    /// {} ({})\n    pub const {}: u32 = 0x{off:03x};",
                reg.doc, reg.access, reg.name
            );
        }
        s.push_str("\n    /// Every register: name, offset, writable.\n");
        s.push_str("    pub const ALL: &[(&str, u32, bool)] = &[\n");
        for (_, reg) in self.registers_sorted() {
            let _ = writeln!(
                s,
                "        (\"{}\", {}, {}),",
                reg.name,
                reg.name,
                reg.access == "rw"
            );
        }
        s.push_str("    ];\n}\n\n");
        s.push_str("/// Register fields as (lowest bit, width).\npub mod fields {\n");
        for (_, reg) in self.registers_sorted() {
            for f in &reg.fields {
                let b = parse_bits(&f.bits, 32).unwrap_or(Bits { lsb: 0, width: 1 });
                let _ = writeln!(
                    s,
                    "    /// {}.{}: {}\n    pub const {}_{}: (u32, u32) = ({}, {});",
                    reg.name, f.name, f.doc, reg.name, f.name, b.lsb, b.width
                );
            }
        }
        s.push_str("}\n");
        for e in &self.enums {
            let module = e.name.to_ascii_lowercase();
            let _ = writeln!(s, "\n/// {}\npub mod {module} {{", e.doc);
            for v in &e.values {
                let _ = writeln!(
                    s,
                    "    /// {}\n    pub const {}: u8 = {};",
                    v.doc, v.name, v.value
                );
            }
            s.push_str("\n    /// The code's name, if it is one.\n");
            s.push_str(
                "    pub fn name(code: u8) -> Option<&'static str> {\n        match code {\n",
            );
            for v in &e.values {
                let _ = writeln!(s, "            {} => Some(\"{}\"),", v.name, v.name);
            }
            s.push_str("            _ => None,\n        }\n    }\n}\n");
        }
        s.push_str("\n/// Stream header fields as (lowest bit, width).\npub mod framing {\n");
        for f in &self.framing.fields {
            let b =
                parse_bits(&f.bits, self.framing.word_bits).unwrap_or(Bits { lsb: 0, width: 1 });
            let _ = writeln!(
                s,
                "    /// {}\n    pub const {}: (u32, u32) = ({}, {});",
                f.doc, f.name, b.lsb, b.width
            );
        }
        s.push_str("}\n");
        s
    }

    /// The tables for `hdl/README.md` (between the regmap markers).
    pub fn render_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Generated from `hdl/regmap.json` (version {}.{}) by `cargo run -p vigil-regmap -- --write`.\n",
            self.version.major, self.version.minor
        );
        let _ = writeln!(s, "{}\n", self.doc);
        s.push_str("| Offset | Register | Access | Meaning |\n|---|---|---|---|\n");
        for (off, reg) in self.registers_sorted() {
            let mut doc = reg.doc.clone();
            for f in &reg.fields {
                let _ = write!(doc, " `[{}]` {}: {}", f.bits, f.name, f.doc);
            }
            let _ = writeln!(
                s,
                "| `0x{off:03x}` | `{}` | {} | {} |",
                reg.name, reg.access, doc
            );
        }
        for e in &self.enums {
            let _ = writeln!(s, "\n{}\n\n| Code | Name | Meaning |\n|---|---|---|", e.doc);
            for v in &e.values {
                let _ = writeln!(s, "| {} | `{}` | {} |", v.value, v.name, v.doc);
            }
        }
        let _ = writeln!(
            s,
            "\n{}\n\n| Bits | Field | Meaning |\n|---|---|---|",
            self.framing.doc
        );
        for f in &self.framing.fields {
            let _ = writeln!(s, "| `{}` | `{}` | {} |", f.bits, f.name, f.doc);
        }
        s
    }
}

/// Marker lines around the generated part of `hdl/README.md`.
pub const README_BEGIN: &str = "<!-- regmap:begin (generated, do not edit) -->";
/// See [`README_BEGIN`].
pub const README_END: &str = "<!-- regmap:end -->";

/// `readme` with the text between the markers replaced by `tables`.
pub fn splice_readme(readme: &str, tables: &str) -> Result<String, RegmapError> {
    let missing = || {
        RegmapError::Invalid(format!(
            "hdl/README.md lacks the lines {README_BEGIN} and {README_END}"
        ))
    };
    let begin = readme.find(README_BEGIN).ok_or_else(missing)?;
    let after_begin = begin + README_BEGIN.len();
    let end = readme[after_begin..].find(README_END).ok_or_else(missing)? + after_begin;
    Ok(format!(
        "{}\n\n{}\n{}",
        &readme[..after_begin],
        tables,
        &readme[end..]
    ))
}

/// The repository root, from this crate's manifest directory.
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn read(path: &Path) -> Result<String, RegmapError> {
    std::fs::read_to_string(path).map_err(|source| RegmapError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Every generated file under `root` with the contents the source gives it.
pub fn generate(root: &Path) -> Result<Vec<(PathBuf, String)>, RegmapError> {
    let map = Regmap::parse(&read(&root.join("hdl/regmap.json"))?)?;
    let readme_path = root.join("hdl/README.md");
    let readme = splice_readme(&read(&readme_path)?, &map.render_markdown())?;
    Ok(vec![
        (
            root.join(format!("hdl/rtl/{}_regs_pkg.sv", map.name)),
            map.render_sv(),
        ),
        (root.join("driver/fpga/src/regs.rs"), map.render_rust()),
        (readme_path, readme),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_files_match_the_source() {
        let stale = generate(&repo_root())
            .map(|files| generated::stale(&files))
            .map_err(|e| e.to_string());
        assert_eq!(
            stale,
            Ok(vec![]),
            "run `cargo run -p vigil-regmap -- --write` and commit the result"
        );
    }

    #[test]
    fn names_and_ranges() {
        assert_eq!(camel("BUILD_HASH_LO"), "BuildHashLo");
        assert_eq!(camel("ID"), "Id");
        assert_eq!(parse_bits("15:8", 32).ok(), Some(Bits { lsb: 8, width: 8 }));
        assert_eq!(parse_bits("3", 32).ok(), Some(Bits { lsb: 3, width: 1 }));
        assert!(parse_bits("8:15", 32).is_err());
        assert!(parse_bits("32", 32).is_err());
    }

    #[test]
    fn rejects_broken_maps() {
        let base = read(&repo_root().join("hdl/regmap.json")).unwrap_or_default();
        assert!(Regmap::parse(&base).is_ok());
        // Two registers at one offset.
        let clash = base.replacen("\"offset\": \"0x004\"", "\"offset\": \"0x000\"", 1);
        assert!(matches!(
            Regmap::parse(&clash),
            Err(RegmapError::Invalid(m)) if m.contains("share offset")
        ));
        // An unaligned offset.
        let unaligned = base.replacen("\"offset\": \"0x004\"", "\"offset\": \"0x006\"", 1);
        assert!(Regmap::parse(&unaligned).is_err());
        // An unknown key.
        let unknown = base.replacen("\"magic\"", "\"magik\"", 1);
        assert!(Regmap::parse(&unknown).is_err());
    }

    #[test]
    fn splice_keeps_the_rest() {
        let readme = format!("a\n{README_BEGIN}\nold\n{README_END}\nb\n");
        let out = splice_readme(&readme, "new\n").unwrap_or_default();
        assert_eq!(
            out,
            format!("a\n{README_BEGIN}\n\nnew\n\n{README_END}\nb\n")
        );
        assert!(splice_readme("no markers", "x").is_err());
    }
}
