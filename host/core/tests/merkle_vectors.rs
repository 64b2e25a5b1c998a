//! The vigil-merkle-v1 known-answer vectors (`testdata/merkle/vectors.json`, checked
//! independently by `testdata/merkle/check.py`) against `vigil_core::merkle`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::Deserialize;
use vigil_core::merkle::{self, InclusionProof};
use vigil_core::Leaves;

const VECTORS: &str = vigil_core::conformance::MERKLE_VECTORS_JSON;

#[derive(Deserialize)]
struct Vectors {
    scheme: String,
    contexts: Named,
    context_keys: Named,
    empty_root: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Named {
    leaf: String,
    node: String,
    empty: String,
}

#[derive(Deserialize)]
struct Case {
    leaf_set: String,
    n: usize,
    root: String,
    proofs: Vec<Proof>,
}

#[derive(Deserialize)]
struct Proof {
    index: u64,
    tree_size: u64,
    leaf_hash: String,
    path: Vec<String>,
}

fn load() -> Vectors {
    serde_json::from_str(VECTORS).expect("vectors.json parses")
}

fn h32(s: &str) -> [u8; 32] {
    hex::decode(s).expect("hex").try_into().expect("32 bytes")
}

/// The leaf sets, as defined in testdata/merkle/README.md.
fn leaves(set: &str, n: usize) -> Leaves {
    vigil_core::conformance::merkle_vector_leaves(set, n)
        .unwrap_or_else(|| panic!("unknown leaf set {set}"))
}

#[test]
fn merkle_constants_match_vectors() {
    let v = load();
    assert_eq!(v.scheme, "vigil-merkle-v1");
    assert_eq!(v.contexts.leaf, merkle::LEAF_CONTEXT);
    assert_eq!(v.contexts.node, merkle::NODE_CONTEXT);
    assert_eq!(v.contexts.empty, merkle::EMPTY_CONTEXT);
    let keys = merkle::context_keys();
    assert_eq!(h32(&v.context_keys.leaf), keys.leaf);
    assert_eq!(h32(&v.context_keys.node), keys.node);
    assert_eq!(h32(&v.context_keys.empty), keys.empty);
    assert_eq!(h32(&v.empty_root), merkle::empty_root());
}

#[test]
fn merkle_roots_and_proofs_match_vectors() {
    let v = load();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut big = false;
    for case in &v.cases {
        let what = format!("{} n={}", case.leaf_set, case.n);
        let leaves = leaves(&case.leaf_set, case.n);
        let root = h32(&case.root);
        assert_eq!(merkle::root(&leaves), root, "{what}: root");
        assert_eq!(
            pool.install(|| merkle::root_parallel(&leaves)),
            root,
            "{what}: root_parallel"
        );

        let indices: Vec<usize> = case
            .proofs
            .iter()
            .map(|p| usize::try_from(p.index).unwrap())
            .collect();
        let computed = merkle::inclusion_proofs(&leaves, &indices).unwrap();
        for (stored, ours) in case.proofs.iter().zip(&computed) {
            let m = usize::try_from(stored.index).unwrap();
            let proof = InclusionProof {
                index: stored.index,
                tree_size: stored.tree_size,
                path: stored.path.iter().map(|s| h32(s)).collect(),
            };
            assert_eq!(proof.tree_size, case.n as u64, "{what} m={m}");
            assert_eq!(&proof, ours, "{what} m={m}: inclusion_proofs");
            assert_eq!(h32(&stored.leaf_hash), merkle::leaf_hash(leaves.get(m)));
            assert!(
                merkle::verify_inclusion(&root, leaves.get(m), &proof),
                "{what} m={m}: stored proof does not verify"
            );
            let mut bad = proof.clone();
            if let Some(first) = bad.path.first_mut() {
                first[0] ^= 1;
                assert!(!merkle::verify_inclusion(&root, leaves.get(m), &bad));
            }
        }
        // inclusion_proof (single) agrees too, on the smaller trees.
        if case.n <= 1000 {
            for (stored, ours) in indices.iter().zip(&computed) {
                assert_eq!(&merkle::inclusion_proof(&leaves, *stored).unwrap(), ours);
            }
        }
        big |= case.n == (1 << 20) + 1;
    }
    assert!(big, "the 2^20 + 1 case is present");
}
