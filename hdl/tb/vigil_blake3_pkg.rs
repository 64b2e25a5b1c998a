//! Testbench of `hdl/rtl/vigil_blake3_pkg.sv`: its constants against the `blake3` crate.
//!
//! The package's text is read (`vigil_hdl_sim::rtl`), so what is checked is what the
//! RTL compiles. The context keys are compared with `hash_derive_key_context` of the
//! contexts `vigil_core::merkle` defines; the IV and each flag are checked by using them
//! in BLAKE3's compression as the crate implements it (`blake3::platform`, portable) and
//! comparing whole hashes with the crate's public functions. No RTL model is needed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use blake3::hazmat::hash_derive_key_context;
use blake3::platform::{le_bytes_from_words_32, words_from_le_bytes_32, Platform};
use vigil_core::merkle::{EMPTY_CONTEXT, LEAF_CONTEXT, NODE_CONTEXT};
use vigil_hdl_sim::rtl::{blake3_pkg, Package};

fn pkg() -> Package {
    blake3_pkg().unwrap_or_else(|e| panic!("{e}"))
}

fn flag(pkg: &Package, name: &str) -> u8 {
    u8::try_from(pkg.int(name).unwrap()).unwrap_or_else(|_| panic!("{name} is not a flag byte"))
}

fn block(bytes: &[u8]) -> [u8; 64] {
    let mut b = [0u8; 64];
    b[..bytes.len()].copy_from_slice(bytes);
    b
}

/// compress(cv, block, ...)'s first 8 words, by the crate.
fn compress(cv: [u32; 8], bytes: &[u8], counter: u64, flags: u8) -> [u32; 8] {
    let mut cv = cv;
    let len = u8::try_from(bytes.len()).unwrap();
    Platform::portable().compress_in_place(&mut cv, &block(bytes), len, counter, flags);
    cv
}

#[test]
fn merkle_context_keys_are_blake3s() {
    let pkg = pkg();
    for (name, context) in [
        ("MerkleLeafKey", LEAF_CONTEXT),
        ("MerkleNodeKey", NODE_CONTEXT),
        ("MerkleEmptyKey", EMPTY_CONTEXT),
    ] {
        let key = pkg.words::<8>(name).unwrap();
        assert_eq!(
            le_bytes_from_words_32(&key),
            hash_derive_key_context(context),
            "{name} is not hash_derive_key_context({context:?})"
        );
    }
}

#[test]
fn iv_and_context_flags_derive_the_context_keys() {
    // A context string of at most 64 bytes is one compression under the IV.
    let pkg = pkg();
    let iv = pkg.words::<8>("Iv").unwrap();
    let flags = flag(&pkg, "FlagChunkStart")
        | flag(&pkg, "FlagChunkEnd")
        | flag(&pkg, "FlagRoot")
        | flag(&pkg, "FlagDeriveKeyContext");
    for context in [
        LEAF_CONTEXT,
        NODE_CONTEXT,
        EMPTY_CONTEXT,
        "",
        "another context",
    ] {
        let key = compress(iv, context.as_bytes(), 0, flags);
        assert_eq!(
            le_bytes_from_words_32(&key),
            hash_derive_key_context(context),
            "{context:?}"
        );
    }
}

#[test]
fn one_block_flags_make_merkle_nodes_leaves_and_empty() {
    let pkg = pkg();
    let flags = flag(&pkg, "MerkleOneBlockFlags");
    assert_eq!(
        flags,
        flag(&pkg, "FlagChunkStart")
            | flag(&pkg, "FlagChunkEnd")
            | flag(&pkg, "FlagRoot")
            | flag(&pkg, "FlagDeriveKeyMaterial")
    );
    let node_key = pkg.words::<8>("MerkleNodeKey").unwrap();
    let leaf_key = pkg.words::<8>("MerkleLeafKey").unwrap();
    let empty_key = pkg.words::<8>("MerkleEmptyKey").unwrap();

    let l: [u8; 32] = core::array::from_fn(|i| i as u8);
    let r: [u8; 32] = core::array::from_fn(|i| 0xA0 ^ (3 * i) as u8);
    let lr: Vec<u8> = l.iter().chain(&r).copied().collect();
    assert_eq!(
        le_bytes_from_words_32(&compress(node_key, &lr, 0, flags)),
        *blake3::Hasher::new_derive_key(NODE_CONTEXT)
            .update(&lr)
            .finalize()
            .as_bytes()
    );
    for len in [0, 1, 32, 63, 64] {
        let d = &lr[..len];
        assert_eq!(
            le_bytes_from_words_32(&compress(leaf_key, d, 0, flags)),
            vigil_core::merkle::leaf_hash(d),
            "leaf of {len} bytes"
        );
    }
    assert_eq!(
        le_bytes_from_words_32(&compress(empty_key, &[], 0, flags)),
        vigil_core::merkle::empty_root()
    );
}

#[test]
fn keyed_and_parent_flags_make_keyed_hashes() {
    let pkg = pkg();
    let key_bytes: [u8; 32] = core::array::from_fn(|i| (7 * i + 1) as u8);
    let key = words_from_le_bytes_32(&key_bytes);
    let keyed = flag(&pkg, "FlagKeyedHash");
    let start = flag(&pkg, "FlagChunkStart");
    let end = flag(&pkg, "FlagChunkEnd");
    let root = flag(&pkg, "FlagRoot");
    let parent = flag(&pkg, "FlagParent");
    let input: Vec<u8> = (0..2048u32).map(|i| (i % 251) as u8).collect();

    // One block.
    let one = compress(key, &input[..10], 0, keyed | start | end | root);
    assert_eq!(
        le_bytes_from_words_32(&one),
        *blake3::keyed_hash(&key_bytes, &input[..10]).as_bytes()
    );

    // Two chunks of 16 blocks and their parent, the root.
    let chunk_cv = |c: usize| {
        let mut cv = key;
        for b in 0..16 {
            let mut flags = keyed;
            if b == 0 {
                flags |= start;
            }
            if b == 15 {
                flags |= end;
            }
            let at = c * 1024 + b * 64;
            cv = compress(cv, &input[at..at + 64], c as u64, flags);
        }
        cv
    };
    let (left, right) = (chunk_cv(0), chunk_cv(1));
    let mut lr = le_bytes_from_words_32(&left).to_vec();
    lr.extend_from_slice(&le_bytes_from_words_32(&right));
    let top = compress(key, &lr, 0, keyed | parent | root);
    assert_eq!(
        le_bytes_from_words_32(&top),
        *blake3::keyed_hash(&key_bytes, &input).as_bytes()
    );
}

#[test]
fn algorithm_constants_are_blake3s() {
    let pkg = pkg();
    assert_eq!(pkg.int("Rounds").unwrap(), 7);
    assert_eq!(pkg.int("BlockBytes").unwrap(), 64);
    assert_eq!(pkg.int("ChunkBytes").unwrap(), 1024);
    // BLAKE3 specification, section 2.2 (MSG_PERMUTATION); entry i is bits [4i +: 4].
    let spec = [2u64, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
    let perm = pkg.int("MsgPermutation").unwrap();
    for (i, &p) in spec.iter().enumerate() {
        assert_eq!((perm >> (4 * i)) & 0xF, p, "MsgPermutation entry {i}");
    }
    // The flag bits of the specification's table 3, in its order.
    let all: Vec<u8> = [
        "FlagChunkStart",
        "FlagChunkEnd",
        "FlagParent",
        "FlagRoot",
        "FlagKeyedHash",
        "FlagDeriveKeyContext",
        "FlagDeriveKeyMaterial",
    ]
    .iter()
    .map(|n| flag(&pkg, n))
    .collect();
    for (i, f) in all.iter().enumerate() {
        assert_eq!(*f, 1 << i, "flag {i}");
    }
}
