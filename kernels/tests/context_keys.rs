//! The constants of `include/vigil/blake3.h` against the `blake3` crate.
//!
//! The device code hashes Merkle leaves and nodes from precomputed context keys, BLAKE3's
//! IV and flag values written into the header as literals. This test reads the header's
//! text (so the header cannot drift from what is tested) and checks:
//!
//! - the two context keys equal `blake3::hazmat::hash_derive_key_context` of the
//!   contexts in `docs/MERKLE.md`;
//! - the IV and the flags reproduce those context keys, and NODE, one-block and
//!   two-chunk LEAF and keyed hashes, through the crate's portable compression function
//!   (the one primitive the header spells out by hand), against `blake3::derive_key`
//!   and `blake3::keyed_hash`;
//! - the reduction's group size is a power of two, and the chaining-value stack is deep
//!   enough for any u32 length.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use blake3::hazmat::hash_derive_key_context;
use blake3::platform::{le_bytes_from_words_32, words_from_le_bytes_32, Platform};

const HEADER: &str = include_str!("../include/vigil/blake3.h");
const LEAF_CONTEXT: &str = "vigil-merkle-v1 leaf";
const NODE_CONTEXT: &str = "vigil-merkle-v1 node";

/// The header's object-like `#define`s (name and the rest of the line, continuations
/// joined), skipping function-like macros.
fn defines() -> HashMap<String, String> {
    let joined = HEADER.replace("\\\n", " ");
    let mut out = HashMap::new();
    for line in joined.lines() {
        let Some(rest) = line.trim_start().strip_prefix("#define ") else {
            continue;
        };
        let rest = rest.trim_start();
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, value) = rest.split_at(name_len);
        if value.starts_with('(') {
            // `NAME(args) body`: a function-like macro, not a constant.
            continue;
        }
        out.insert(name.to_string(), value.trim().to_string());
    }
    out
}

/// The value of macro `name`: an integer literal (hex or decimal, optional `u`), or a
/// parenthesised `|` of other such macros.
fn value(defs: &HashMap<String, String>, name: &str) -> u64 {
    let text = defs
        .get(name)
        .unwrap_or_else(|| panic!("blake3.h does not define {name}"));
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        return inner
            .split('|')
            .map(|part| value(defs, part.trim()))
            .fold(0, |a, b| a | b);
    }
    let digits = text.trim_end_matches(['u', 'U']);
    match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse(),
    }
    .unwrap_or_else(|e| panic!("{name} = {text}: {e}"))
}

fn word(defs: &HashMap<String, String>, name: &str) -> u32 {
    u32::try_from(value(defs, name)).unwrap_or_else(|_| panic!("{name} is not a u32"))
}

fn flag(defs: &HashMap<String, String>, name: &str) -> u8 {
    u8::try_from(value(defs, name)).unwrap_or_else(|_| panic!("{name} is not a flag byte"))
}

/// `PREFIX_0` .. `PREFIX_7` as words.
fn words(defs: &HashMap<String, String>, prefix: &str) -> [u32; 8] {
    std::array::from_fn(|i| word(defs, &format!("{prefix}_{i}")))
}

/// The first 32 bytes of compress(cv, block, ...) (the portable implementation).
fn compress(cv: &[u32; 8], block: &[u8], counter: u64, flags: u8) -> [u32; 8] {
    assert!(block.len() <= 64);
    let mut padded = [0u8; 64];
    padded[..block.len()].copy_from_slice(block);
    let mut out = *cv;
    let len = u8::try_from(block.len()).unwrap();
    Platform::portable().compress_in_place(&mut out, &padded, len, counter, flags);
    out
}

#[test]
fn context_keys_match_the_blake3_crate() {
    let defs = defines();
    for (context, prefix) in [
        (LEAF_CONTEXT, "VIGIL_MERKLE_LEAF_KEY"),
        (NODE_CONTEXT, "VIGIL_MERKLE_NODE_KEY"),
    ] {
        let want = hash_derive_key_context(context);
        let got = words(&defs, prefix);
        assert_eq!(
            le_bytes_from_words_32(&got),
            want,
            "{prefix} is not the context key of {context:?}: want {:08X?}",
            words_from_le_bytes_32(&want)
        );
    }
    assert_ne!(
        words(&defs, "VIGIL_MERKLE_LEAF_KEY"),
        words(&defs, "VIGIL_MERKLE_NODE_KEY")
    );
}

#[test]
fn iv_and_flags_reproduce_the_crate() {
    let defs = defines();
    let iv = words(&defs, "VIGIL_BLAKE3_IV");
    let start = flag(&defs, "VIGIL_BLAKE3_CHUNK_START");
    let end = flag(&defs, "VIGIL_BLAKE3_CHUNK_END");
    let parent = flag(&defs, "VIGIL_BLAKE3_PARENT");
    let root = flag(&defs, "VIGIL_BLAKE3_ROOT");
    let keyed = flag(&defs, "VIGIL_BLAKE3_KEYED_HASH");
    let context = flag(&defs, "VIGIL_BLAKE3_DERIVE_KEY_CONTEXT");
    let material = flag(&defs, "VIGIL_BLAKE3_DERIVE_KEY_MATERIAL");
    let leaf_key = words(&defs, "VIGIL_MERKLE_LEAF_KEY");
    let node_key = words(&defs, "VIGIL_MERKLE_NODE_KEY");
    assert_eq!(value(&defs, "VIGIL_BLAKE3_BLOCK_LEN"), 64);
    assert_eq!(value(&defs, "VIGIL_BLAKE3_CHUNK_LEN"), 1024);

    // A context key is the context string hashed under the IV in context mode.
    for ctx in [LEAF_CONTEXT, NODE_CONTEXT] {
        let got = compress(&iv, ctx.as_bytes(), 0, start | end | root | context);
        assert_eq!(
            le_bytes_from_words_32(&got),
            hash_derive_key_context(ctx),
            "{ctx}"
        );
    }

    // NODE: one compression under the node key with VIGIL_MERKLE_NODE_FLAGS.
    let node_flags = flag(&defs, "VIGIL_MERKLE_NODE_FLAGS");
    assert_eq!(node_flags, start | end | root | material);
    let pair: Vec<u8> = (0u8..64)
        .map(|i| i.wrapping_mul(37).wrapping_add(5))
        .collect();
    let got = compress(&node_key, &pair, 0, node_flags);
    assert_eq!(
        le_bytes_from_words_32(&got),
        blake3::derive_key(NODE_CONTEXT, &pair)
    );

    // A leaf of at most one block: one compression under the leaf key.
    for len in [0usize, 1, 32, 63, 64] {
        let data = &pair[..len];
        let got = compress(&leaf_key, data, 0, start | end | root | material);
        assert_eq!(
            le_bytes_from_words_32(&got),
            blake3::derive_key(LEAF_CONTEXT, data),
            "{len}"
        );
    }

    // A two-chunk leaf: 16 blocks per chunk, then one parent, the root.
    let data: Vec<u8> = (0u32..2048)
        .map(|i| (i * 7 + i / 256).to_le_bytes()[0])
        .collect();
    let chunk_cv = |c: usize| {
        let mut cv = leaf_key;
        for b in 0..16 {
            let mut flags = material;
            if b == 0 {
                flags |= start;
            }
            if b == 15 {
                flags |= end;
            }
            let at = c * 1024 + b * 64;
            cv = compress(&cv, &data[at..at + 64], u64::try_from(c).unwrap(), flags);
        }
        le_bytes_from_words_32(&cv)
    };
    let mut block = chunk_cv(0).to_vec();
    block.extend_from_slice(&chunk_cv(1));
    let got = compress(&leaf_key, &block, 0, parent | root | material);
    assert_eq!(
        le_bytes_from_words_32(&got),
        blake3::derive_key(LEAF_CONTEXT, &data)
    );

    // The keyed-hash flag, which the header defines for vigil_blake3_hash_global.
    let key = [0x5au8; 32];
    let got = compress(
        &words_from_le_bytes_32(&key),
        b"abc",
        0,
        start | end | root | keyed,
    );
    assert_eq!(
        le_bytes_from_words_32(&got),
        *blake3::keyed_hash(&key, b"abc").as_bytes()
    );
}

#[test]
fn sizes_are_sound() {
    let defs = defines();
    let group = value(&defs, "VIGIL_MERKLE_REDUCE_GROUP");
    assert!(
        group.is_power_of_two() && (8..=1024).contains(&group),
        "VIGIL_MERKLE_REDUCE_GROUP = {group}"
    );
    // After chunk c of a longer input the stack holds popcount(c + 1) chaining values,
    // c + 1 below the number of chunks N; a number below N has at most floor(log2 N)
    // bits set (22 for the 2^22 chunks of the longest u32 length).
    let depth = value(&defs, "VIGIL_BLAKE3_MAX_DEPTH");
    let max_chunks = u64::from(u32::MAX).div_ceil(1024);
    let most_stacked = u64::from(max_chunks.ilog2());
    assert!(depth >= most_stacked, "depth {depth} < {most_stacked}");
}
