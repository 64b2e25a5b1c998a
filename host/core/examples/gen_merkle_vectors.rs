//! Writes the vigil-merkle-v1 known-answer vectors, `testdata/merkle/vectors.json`.
//!
//! Leaf sets (also described in the file itself and in `testdata/merkle/README.md`):
//! * `hash32`: leaf `i` is the 32 bytes of
//!   `blake3::hash(b"vigil-merkle-v1 test leaf" || (i as u64).to_le_bytes())`,
//!   for n = 0, 1, 2, 3, 4, 5, 7, 8, 9, 1000 and 2^20 + 1;
//! * `bytes_i`: leaf `i` is `i` bytes, each equal to `i mod 256` (leaf 0 is empty), for
//!   n = 0..=9, 66 (leaves up to 65 bytes: past one BLAKE3 block) and 1100 (up to 1099
//!   bytes: past one BLAKE3 chunk).
//!
//! Each case has the root and the inclusion proofs of leaves 0, n / 2 and n - 1.
//!
//! Run: `cargo run --release -p vigil-core --example gen_merkle_vectors`;
//! check with `python3 testdata/merkle/check.py`.

use std::path::PathBuf;

use serde::Serialize;
use vigil_core::merkle::{self, EMPTY_CONTEXT, LEAF_CONTEXT, NODE_CONTEXT};
use vigil_core::{conformance, Leaves};

const HASH32_SIZES: [usize; 11] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 1000, (1 << 20) + 1];
const BYTES_I_SIZES: [usize; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 66, 1100];

#[derive(Serialize)]
struct Vectors {
    scheme: &'static str,
    spec: &'static str,
    generator: &'static str,
    contexts: Named,
    context_keys: Named,
    empty_root: String,
    leaf_sets: LeafSets,
    cases: Vec<Case>,
}

#[derive(Serialize)]
struct Named {
    leaf: String,
    node: String,
    empty: String,
}

#[derive(Serialize)]
struct LeafSets {
    hash32: &'static str,
    bytes_i: &'static str,
}

#[derive(Serialize)]
struct Case {
    leaf_set: &'static str,
    n: usize,
    root: String,
    proofs: Vec<Proof>,
}

#[derive(Serialize)]
struct Proof {
    index: u64,
    tree_size: u64,
    leaf_hash: String,
    path: Vec<String>,
}

fn leaves(set: &str, n: usize) -> Result<Leaves, String> {
    conformance::merkle_vector_leaves(set, n).ok_or_else(|| format!("{set} n={n}: no leaves"))
}

fn case(leaf_set: &'static str, leaves: &Leaves) -> Result<Case, Box<dyn std::error::Error>> {
    let n = leaves.len();
    let root = merkle::root(leaves);
    if merkle::root_parallel(leaves) != root || merkle::MerkleTree::new(leaves).root() != root {
        return Err(format!("{leaf_set} n={n}: root implementations disagree").into());
    }
    let mut indices: Vec<usize> = [0, n / 2, n.wrapping_sub(1)]
        .into_iter()
        .filter(|&i| i < n)
        .collect();
    indices.sort_unstable();
    indices.dedup();
    let proofs = merkle::inclusion_proofs(leaves, &indices)?;
    let mut out = Vec::new();
    for (&i, proof) in indices.iter().zip(proofs) {
        if !merkle::verify_inclusion(&root, leaves.get(i), &proof) {
            return Err(format!("{leaf_set} n={n}: proof of {i} does not verify").into());
        }
        out.push(Proof {
            index: proof.index,
            tree_size: proof.tree_size,
            leaf_hash: hex::encode(merkle::leaf_hash(leaves.get(i))),
            path: proof.path.iter().map(hex::encode).collect(),
        });
    }
    Ok(Case {
        leaf_set,
        n,
        root: hex::encode(root),
        proofs: out,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cases = Vec::new();
    for n in HASH32_SIZES {
        cases.push(case("hash32", &leaves("hash32", n)?)?);
    }
    for n in BYTES_I_SIZES {
        cases.push(case("bytes_i", &leaves("bytes_i", n)?)?);
    }
    let keys = merkle::context_keys();
    let vectors = Vectors {
        scheme: "vigil-merkle-v1",
        spec: "docs/MERKLE.md; proofs are RFC 9162 section 2.1.3 audit paths, bottom-up",
        generator: "cargo run --release -p vigil-core --example gen_merkle_vectors",
        contexts: Named {
            leaf: LEAF_CONTEXT.into(),
            node: NODE_CONTEXT.into(),
            empty: EMPTY_CONTEXT.into(),
        },
        context_keys: Named {
            leaf: hex::encode(keys.leaf),
            node: hex::encode(keys.node),
            empty: hex::encode(keys.empty),
        },
        empty_root: hex::encode(merkle::empty_root()),
        leaf_sets: LeafSets {
            hash32: "leaf i = the 32 bytes of BLAKE3(b\"vigil-merkle-v1 test leaf\" || \
                     u64_le(i)) (plain BLAKE3 hash, 25 + 8 bytes of input)",
            bytes_i: "leaf i = i bytes, each equal to i mod 256 (leaf 0 is empty)",
        },
        cases,
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/merkle/vectors.json");
    let mut json = serde_json::to_string_pretty(&vectors)?;
    json.push('\n');
    std::fs::write(&path, json)?;
    println!("wrote {}", path.display());
    Ok(())
}
