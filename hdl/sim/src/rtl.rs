//! Constants read from the RTL packages' source text.
//!
//! Testbenches check a package's constants (IV, flags, context keys, pipeline depth)
//! against the reference crates by reading them from the `.sv` file itself, so what is
//! tested is what is synthesised. The reader understands the forms the packages use:
//!
//! ```text
//! localparam <type> Name = 32'h0000_0001;                  // a sized literal
//! localparam <type> Name = { 32'h..., 32'h..., ... };       // a concatenation, MSB first
//! localparam <type> Name = 4 * Rounds;                      // decimals and names with * + |
//! ```
//!
//! and reports anything else as an error rather than guessing. Values are kept as
//! little-endian 32-bit words: word i is bits `[32i +: 32]`, as in the RTL.

use std::collections::HashMap;

use crate::SimError;

/// The source of `hdl/rtl/vigil_blake3_pkg.sv`, as built into this crate.
pub const BLAKE3_PKG: &str = include_str!("../../rtl/vigil_blake3_pkg.sv");

/// The source of `hdl/rtl/vigil_sha512_pkg.sv`, as built into this crate.
pub const SHA512_PKG: &str = include_str!("../../rtl/vigil_sha512_pkg.sv");

/// The source of `hdl/rtl/vigil_card_regs_pkg.sv` (generated from `hdl/regmap.json`).
pub const CARD_REGS_PKG: &str = include_str!("../../rtl/vigil_card_regs_pkg.sv");

/// The `localparam`s of a package.
#[derive(Debug, Clone)]
pub struct Package {
    consts: HashMap<String, Vec<u32>>,
}

/// [`BLAKE3_PKG`], parsed.
pub fn blake3_pkg() -> Result<Package, SimError> {
    Package::parse(BLAKE3_PKG)
}

/// [`SHA512_PKG`], parsed.
pub fn sha512_pkg() -> Result<Package, SimError> {
    Package::parse(SHA512_PKG)
}

/// [`CARD_REGS_PKG`], parsed.
pub fn card_regs_pkg() -> Result<Package, SimError> {
    Package::parse(CARD_REGS_PKG)
}

impl Package {
    /// Reads every `localparam` of `text`, in order (a constant may use earlier ones).
    pub fn parse(text: &str) -> Result<Package, SimError> {
        let text = strip_comments(text);
        let mut consts = HashMap::new();
        let mut rest = text.as_str();
        while let Some(at) = find_keyword(rest, "localparam") {
            let after = &rest[at + "localparam".len()..];
            let end = after
                .find(';')
                .ok_or_else(|| err("a localparam without ';'"))?;
            let statement = &after[..end];
            rest = &after[end + 1..];
            let (lhs, rhs) = statement
                .split_once('=')
                .ok_or_else(|| err(format!("no '=' in localparam{statement}")))?;
            let name = lhs
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .rfind(|s| !s.is_empty())
                .ok_or_else(|| err(format!("no name in localparam{lhs}")))?;
            let value = eval(rhs.trim(), &consts).map_err(|e| err(format!("{name}: {e}")))?;
            consts.insert(name.to_string(), value);
        }
        Ok(Package { consts })
    }

    /// The value of `name` as N little-endian words (it must fit).
    pub fn words<const N: usize>(&self, name: &str) -> Result<[u32; N], SimError> {
        let value = self.get(name)?;
        if value.iter().skip(N).any(|&w| w != 0) {
            return Err(err(format!("{name} does not fit in {N} words")));
        }
        let mut out = [0u32; N];
        for (o, w) in out.iter_mut().zip(value) {
            *o = *w;
        }
        Ok(out)
    }

    /// The value of `name` as an integer (it must fit in 64 bits).
    pub fn int(&self, name: &str) -> Result<u64, SimError> {
        let [lo, hi] = self.words::<2>(name)?;
        Ok(u64::from(lo) | (u64::from(hi) << 32))
    }

    /// The names defined.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.consts.keys().map(String::as_str)
    }

    fn get(&self, name: &str) -> Result<&Vec<u32>, SimError> {
        self.consts
            .get(name)
            .ok_or_else(|| err(format!("the package does not define {name}")))
    }
}

fn err(msg: impl Into<String>) -> SimError {
    SimError::Rtl(msg.into())
}

/// `text` without `// ...` and `/* ... */` comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let line = rest.find("//");
        let block = rest.find("/*");
        match (line, block) {
            (Some(l), b) if b.is_none_or(|b| l < b) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |n| &rest[l + n..]);
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                rest = rest[b..].find("*/").map_or("", |e| &rest[b + e + 2..]);
                out.push(' ');
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// The byte offset of `word` in `text` as a whole identifier.
fn find_keyword(text: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = text[from..].find(word) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// A right-hand side: a concatenation of sized literals, or an expression.
fn eval(rhs: &str, consts: &HashMap<String, Vec<u32>>) -> Result<Vec<u32>, String> {
    if let Some(inner) = rhs.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        // MSB first: the last item is at bit 0.
        let mut out = Vec::new();
        let mut offset = 0u32;
        for item in inner.split(',').rev() {
            let (width, value) = sized_literal(item.trim())
                .ok_or_else(|| format!("`{}` is not a sized literal", item.trim()))?;
            or_at(&mut out, value, offset);
            offset += width;
        }
        out.resize(offset.div_ceil(32) as usize, 0);
        return Ok(out);
    }
    let value = expr(rhs, consts)?;
    Ok(vec![low_word(value), low_word(value >> 32)])
}

#[allow(clippy::cast_possible_truncation)]
fn low_word(value: u64) -> u32 {
    value as u32
}

/// `a | b | ...` of `c + d + ...` of `e * f * ...` of literals, decimals and names.
fn expr(text: &str, consts: &HashMap<String, Vec<u32>>) -> Result<u64, String> {
    let mut or = 0u64;
    for sum_text in text.split('|') {
        let mut sum = 0u64;
        for product_text in sum_text.split('+') {
            let mut product = 1u64;
            for term in product_text.split('*') {
                product = product
                    .checked_mul(term_value(term.trim(), consts)?)
                    .ok_or("overflow")?;
            }
            sum = sum.checked_add(product).ok_or("overflow")?;
        }
        or |= sum;
    }
    Ok(or)
}

fn term_value(term: &str, consts: &HashMap<String, Vec<u32>>) -> Result<u64, String> {
    if let Some((_, value)) = sized_literal(term) {
        return Ok(value);
    }
    if !term.is_empty() && term.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return term
            .replace('_', "")
            .parse()
            .map_err(|e| format!("{term}: {e}"));
    }
    let words = consts
        .get(term)
        .ok_or_else(|| format!("`{term}` is not a literal or an earlier constant"))?;
    if words.iter().skip(2).any(|&w| w != 0) {
        return Err(format!("{term} is wider than 64 bits"));
    }
    let lo = words.first().copied().unwrap_or(0);
    let hi = words.get(1).copied().unwrap_or(0);
    Ok(u64::from(lo) | (u64::from(hi) << 32))
}

/// `W'hX`, `W'dX` or `W'bX` (underscores allowed, W at most 64): (W, value).
fn sized_literal(text: &str) -> Option<(u32, u64)> {
    let (width, rest) = text.split_once('\'')?;
    let width: u32 = width.trim().parse().ok()?;
    let mut chars = rest.chars();
    let radix = match chars.next()?.to_ascii_lowercase() {
        'h' => 16,
        'd' => 10,
        'b' => 2,
        _ => return None,
    };
    let digits = chars.as_str().replace('_', "");
    let value = u64::from_str_radix(&digits, radix).ok()?;
    let fits = width >= 64 || value >> width == 0;
    (width > 0 && width <= 64 && fits).then_some((width, value))
}

/// ORs `value` into the little-endian words `out` at bit `offset`.
#[allow(clippy::cast_possible_truncation)]
fn or_at(out: &mut Vec<u32>, value: u64, offset: u32) {
    let word = (offset / 32) as usize;
    let shift = offset % 32;
    let wide = u128::from(value) << shift;
    out.resize(out.len().max(word + 3), 0);
    for k in 0..3 {
        out[word + k] |= (wide >> (32 * k)) as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_the_packages_use() {
        let pkg = Package::parse(
            "package p;\n\
             // localparam int unsigned Commented = 1;\n\
             localparam int unsigned Rounds = 7; /* localparam X = 2; */\n\
             localparam int unsigned Stages = 4 * Rounds;\n\
             localparam int unsigned Latency = Stages + 1;\n\
             localparam logic [31:0] A = 32'h0000_0001;\n\
             localparam logic [31:0] B = 32'h40;\n\
             localparam logic [31:0] Ab = A | B;\n\
             localparam logic [63:0] W = {\n  32'hDEADBEEF, // high\n  32'h01234567\n};\n\
             localparam logic [11:0] N = {4'd3, 4'hA, 4'b0001};\n\
             endpackage\n",
        )
        .unwrap();
        assert_eq!(pkg.int("Rounds").unwrap(), 7);
        assert_eq!(pkg.int("Stages").unwrap(), 28);
        assert_eq!(pkg.int("Latency").unwrap(), 29);
        assert_eq!(pkg.int("Ab").unwrap(), 0x41);
        assert_eq!(pkg.words::<2>("W").unwrap(), [0x0123_4567, 0xDEAD_BEEF]);
        assert_eq!(pkg.int("N").unwrap(), 0x3A1);
        assert!(pkg.int("Commented").is_err());
        assert!(pkg.int("X").is_err());
        assert!(pkg.words::<1>("W").is_err());
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert!(Package::parse("localparam int X = Y;").is_err());
        assert!(Package::parse("localparam int X = 4'hFF;").is_err());
        assert!(Package::parse("localparam int X = {32'h1, Z};").is_err());
        assert!(Package::parse("localparam int X = 3").is_err());
    }
}
