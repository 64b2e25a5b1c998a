//! Inclusion proofs for the MerkleRoot RPC, bounded before they are built.
//!
//! A request of 2^20 leaves (32 MB of leaf hashes) and 2^20 proof indices is a 5 MB
//! message, and its response would encode to about 725 MB: twenty 32-byte path hashes
//! per proof, each also a `Bytes` and a protobuf entry. Built whole and only then found too
//! large for the transport, such a response once took the server from 9 MB to a 3 GB
//! peak. So a request goes through [`check`] first: it refuses an index out of range,
//! more than `--max-proofs` indices, or a response whose exact encoded size (computed
//! from the tree shape alone, before any hashing) is over `--max-message-bytes`.
//! [`working_bytes`] says how much memory the computation will take, so admission can
//! charge it before it is spent.
//!
//! [`prove`] then computes the tree level by level, as docs/MERKLE.md describes,
//! holding only the current level (`n` hashes, reduced in place) and the proofs being
//! built. At each level the sibling of a proof's node `i` is node `i ^ 1` when it exists
//! (a carried last node has none), then `i` becomes `i / 2`: the rule
//! `vigil_core::merkle::MerkleTree::proof` reads off its stored levels, applied while
//! the level is still in hand, so the paths are the same (the tests compare every index
//! of every tree up to 70 leaves and some larger ones). The path lengths are known from
//! the shape before any hashing, so all path hashes live in one buffer allocated once
//! ([`Proofs`], plain Rust: the scheduler hands it on as it is), and the service makes
//! each proof's path vector of the response once, with its exact length, its entries
//! slices of that buffer (`super::wire`).

use std::mem::size_of;

use bytes::Bytes;
use vigil_core::merkle;
use vigil_core::Leaves;
use vigil_proto::v1::InclusionProof;

use super::error::ServeError;

/// The backend name of an answer with proofs: the host CPU builds every proof.
pub const BACKEND: &str = "cpu";

/// Bytes of one node hash.
const HASH: usize = 32;

/// Limits on one MerkleRoot request's proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofLimits {
    /// Most proof indices one request may ask for (`--max-proofs`).
    pub max_proofs: usize,
    /// Largest encoded response (`--max-message-bytes`).
    pub max_response_bytes: usize,
}

/// The shape of a tree of `n` leaves, as the level-by-level computation sees it: the
/// number of nodes at each level that still has more than one.
struct Shape {
    /// `sizes[j]` nodes at level `j`, for `j < levels`; level 0 is the leaves.
    sizes: [usize; usize::BITS as usize],
    /// Levels with more than one node: each gives a proof at most one path hash.
    levels: usize,
}

impl Shape {
    fn new(n: usize) -> Shape {
        let mut sizes = [0; usize::BITS as usize];
        let mut levels = 0;
        let mut len = n;
        // Level j has ceil(n / 2^j) nodes, so at most 64 levels have more than one.
        while len > 1 {
            sizes[levels] = len;
            levels += 1;
            len = len.div_ceil(2);
        }
        Shape { sizes, levels }
    }

    /// How many hashes the audit path of leaf `m` has: one per level at which its node
    /// has a sibling.
    fn path_len(&self, m: usize) -> usize {
        self.sizes[..self.levels]
            .iter()
            .enumerate()
            .filter(|&(j, &size)| ((m >> j) ^ 1) < size)
            .count()
    }
}

/// The most hashes a proof in a tree of `n` leaves can have: `ceil(log2 n)`, the number
/// of levels above the leaves.
fn max_path_len(n: usize) -> usize {
    Shape::new(n).levels
}

/// Refuses the first index that is not a leaf of a tree of `leaf_count` leaves.
fn in_range(leaf_count: usize, indices: &[u64]) -> Result<(), ServeError> {
    match indices
        .iter()
        .find(|&&i| usize::try_from(i).map_or(true, |i| i >= leaf_count))
    {
        Some(bad) => Err(ServeError::InvalidArgument(format!(
            "proof index {bad} is out of range for {leaf_count} leaves"
        ))),
        None => Ok(()),
    }
}

/// The exact `encoded_len()` of the response the service builds from what [`prove`]
/// gives for `leaf_count` leaves and `indices` (all in range), computed from the tree
/// shape alone.
///
/// Each proof carries its index, the tree size and its path, whose length comes from
/// `Shape::path_len`; `vigil_proto::convert::merkle_response_len` adds the protobuf
/// framing (exact, tested there against prost). The tests here check, for many shapes,
/// that this equals what that function gives for the response actually built.
pub fn response_bytes(leaf_count: usize, indices: &[u64]) -> usize {
    let shape = Shape::new(leaf_count);
    let tree_size = leaf_count as u64;
    vigil_proto::convert::merkle_response_len(
        BACKEND,
        indices.iter().map(|&i| {
            let path = usize::try_from(i).map_or(0, |m| shape.path_len(m));
            (i, tree_size, path)
        }),
    )
}

/// Refuses, before any hashing, a proof request that is out of range, asks for more
/// than `limits.max_proofs` proofs, or whose response would encode to more than
/// `limits.max_response_bytes`. Allocates nothing but an error message; its cost is a
/// few operations per index and tree level.
pub fn check(leaf_count: usize, indices: &[u64], limits: &ProofLimits) -> Result<(), ServeError> {
    if indices.len() > limits.max_proofs {
        return Err(ServeError::InvalidArgument(format!(
            "{} proof indices, over the limit of {} per request (--max-proofs): ask for \
             fewer proofs per request",
            indices.len(),
            limits.max_proofs
        )));
    }
    in_range(leaf_count, indices)?;
    let size = response_bytes(leaf_count, indices);
    if size > limits.max_response_bytes {
        return Err(ServeError::InvalidArgument(format!(
            "the response would be {size} bytes ({} proofs in a tree of {leaf_count} \
             leaves), over the message size limit of {} bytes (--max-message-bytes): ask \
             for fewer proofs per request",
            indices.len(),
            limits.max_response_bytes
        )));
    }
    Ok(())
}

/// An upper bound on the memory [`prove`] and the response the service makes of its
/// [`Proofs`] take for `leaf_count` leaves and `proofs` proofs, besides the leaves
/// themselves and the encoded response.
///
/// The current level, `32 * leaf_count` bytes (the leaf hashes, reduced in place, and
/// freed before the response is made); per proof its `InclusionProof`, its position
/// (freed with the level), its end offset in the shared hash buffer and,
/// for each of at most `ceil(log2 leaf_count)` path hashes, 32 bytes in that buffer plus
/// a `Bytes` in its path vector; and an allowance for the allocator's overhead on each
/// allocation. Saturates instead of overflowing.
pub fn working_bytes(leaf_count: usize, proofs: usize) -> usize {
    /// Allocator bookkeeping and rounding per allocation, generously; four allocations
    /// (positions, offsets, hash buffer, proof list) plus one path vector per proof.
    const ALLOCATION: usize = 32;
    let per_hash = HASH + size_of::<Bytes>();
    let per_proof = (size_of::<InclusionProof>() + 2 * size_of::<usize>() + ALLOCATION)
        .saturating_add(max_path_len(leaf_count).saturating_mul(per_hash));
    leaf_count
        .saturating_mul(HASH)
        .saturating_add(proofs.saturating_mul(per_proof))
        .saturating_add(4 * ALLOCATION)
}

/// A tree's root and inclusion proofs, as [`prove`] computes them: every hash of every
/// path back to back in one buffer, each proof's path a slice of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proofs {
    /// The root of the tree.
    pub root: [u8; 32],
    /// Leaves in the tree.
    tree_size: u64,
    /// The leaf of each proof, in the order asked for.
    indices: Vec<u64>,
    /// Where each proof's path ends in `hashes`; it starts where the one before ends.
    ends: Vec<usize>,
    /// Every path hash, [`HASH`] bytes each.
    hashes: Bytes,
}

/// One inclusion proof of a [`Proofs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The leaf it proves.
    pub index: u64,
    /// Leaves in the tree.
    pub tree_size: u64,
    /// Its audit path, the sibling hashes from the leaf up, back to back: a slice of the
    /// shared buffer.
    path: Bytes,
}

impl Proof {
    /// Each hash of the path, from the leaf up: slices of the shared buffer, nothing
    /// copied.
    pub fn hashes(&self) -> impl ExactSizeIterator<Item = Bytes> + '_ {
        (0..self.path.len() / HASH).map(move |k| self.path.slice(k * HASH..(k + 1) * HASH))
    }
}

impl Proofs {
    /// Each proof, in the order asked for (repeats included).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Proof> + '_ {
        (0..self.indices.len()).map(move |k| {
            let start = k.checked_sub(1).map_or(0, |before| self.ends[before]);
            Proof {
                index: self.indices[k],
                tree_size: self.tree_size,
                path: self.hashes.slice(start..self.ends[k]),
            }
        })
    }
}

/// The root of `leaves` and the inclusion proof of each of `indices` (in their order,
/// repeats included), computed level by level keeping one level. The same root and
/// proofs as `vigil_core::merkle::MerkleTree`. Refuses an index out of range before
/// any hashing; the limits are [`check`]'s business, done before the leaves are copied.
pub fn prove(leaves: &Leaves, indices: Vec<u64>) -> Result<Proofs, ServeError> {
    let n = leaves.len();
    in_range(n, &indices)?;
    let positions: Vec<usize> = indices
        .iter()
        .map(|&i| usize::try_from(i).unwrap_or(usize::MAX))
        .collect();
    let shape = Shape::new(n);
    // Where each proof's path starts in the shared buffer, then where it goes next.
    let mut cursor = Vec::with_capacity(positions.len());
    let mut total = 0usize;
    for &m in &positions {
        cursor.push(total);
        total += shape.path_len(m) * HASH;
    }
    let mut paths = vec![0u8; total];

    let mut level: Vec<[u8; 32]> = leaves.iter().map(merkle::leaf_hash).collect();
    let mut len = n;
    let mut j = 0;
    while len > 1 {
        for (&m, at) in positions.iter().zip(&mut cursor) {
            if let Some(sibling) = level[..len].get((m >> j) ^ 1) {
                // In bounds: `path_len` counted exactly these siblings.
                paths[*at..*at + HASH].copy_from_slice(sibling);
                *at += HASH;
            }
        }
        // Node i of the next level is written after nodes 2i and 2i + 1 are read, and
        // later pairs lie further on, so the level is reduced in place.
        let pairs = len / 2;
        for i in 0..pairs {
            level[i] = merkle::node_hash(&level[2 * i], &level[2 * i + 1]);
        }
        if len % 2 == 1 {
            level[pairs] = level[len - 1];
        }
        len = len.div_ceil(2);
        j += 1;
    }
    let root = level.first().copied().unwrap_or_else(merkle::empty_root);
    drop(level);
    drop(positions);
    // Each cursor has moved past its proof's last hash: it is where that path ends.
    Ok(Proofs {
        root,
        tree_size: n as u64,
        indices,
        ends: cursor,
        hashes: Bytes::from(paths),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use vigil_core::merkle::MerkleTree;
    use vigil_proto::v1::MerkleResponse;

    /// The response the service makes of what [`prove`] gives.
    fn proofs_response(leaves: &Leaves, indices: &[u64]) -> Result<MerkleResponse, ServeError> {
        let proofs = prove(leaves, indices.to_vec())?;
        Ok(super::super::wire::merkle_response(
            proofs.root,
            Some(&proofs),
            BACKEND,
        ))
    }

    /// `n` leaves of random bytes (0 to 100 of them: some longer than one block).
    fn random_leaves(n: usize, rng: &mut ChaCha8Rng) -> Leaves {
        (0..n)
            .map(|_| {
                let len = rng.gen_range(0..100);
                (0..len).map(|_| rng.gen::<u8>()).collect::<Vec<u8>>()
            })
            .collect()
    }

    /// Every index once, shuffled, then some again.
    fn shuffled_indices(n: usize, rng: &mut ChaCha8Rng) -> Vec<u64> {
        let mut indices: Vec<u64> = (0..n as u64).collect();
        indices.shuffle(rng);
        for _ in 0..n.min(10) {
            indices.push(rng.gen_range(0..n as u64));
        }
        if let Some(&first) = indices.first() {
            indices.push(first);
        }
        indices
    }

    const UNLIMITED: ProofLimits = ProofLimits {
        max_proofs: usize::MAX,
        max_response_bytes: usize::MAX,
    };

    /// The framing of `resp` as the protocol crate computes it (exact, tested there
    /// against prost), after checking every hash in it is 32 bytes.
    fn framed_len(resp: &MerkleResponse) -> usize {
        assert_eq!(resp.root.len(), 32);
        assert!(resp
            .proofs
            .iter()
            .flat_map(|p| &p.path)
            .all(|h| h.len() == 32));
        vigil_proto::convert::merkle_response_len(
            &resp.backend,
            resp.proofs
                .iter()
                .map(|p| (p.index, p.tree_size, p.path.len())),
        )
    }

    #[test]
    fn proofs_equal_the_whole_tree_ones() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for n in (1..=70).chain([1000, 4097]) {
            let leaves = random_leaves(n, &mut rng);
            let tree = MerkleTree::new(&leaves);
            let indices = shuffled_indices(n, &mut rng);
            let resp = proofs_response(&leaves, &indices).unwrap();
            assert_eq!(resp.root.as_ref(), tree.root().as_slice(), "n = {n}");
            assert_eq!(resp.backend, "cpu");
            assert_eq!(resp.proofs.len(), indices.len());
            for (proof, &i) in resp.proofs.iter().zip(&indices) {
                let want = tree.proof(usize::try_from(i).unwrap()).unwrap();
                assert_eq!(proof.index, want.index);
                assert_eq!(proof.tree_size, want.tree_size);
                let path: Vec<&[u8]> = proof.path.iter().map(|h| h.as_ref()).collect();
                let want_path: Vec<&[u8]> = want.path.iter().map(|h| h.as_slice()).collect();
                assert_eq!(path, want_path, "n = {n}, index = {i}");
                assert_eq!(proof.path.capacity(), proof.path.len());
                assert!(proof.path.len() <= max_path_len(n));
            }
        }
    }

    #[test]
    fn no_leaves_and_no_indices_is_the_empty_root() {
        let resp = proofs_response(&Leaves::default(), &[]).unwrap();
        assert_eq!(resp.root.as_ref(), merkle::empty_root().as_slice());
        assert!(resp.proofs.is_empty());
        assert_eq!(check(0, &[], &UNLIMITED), Ok(()));
    }

    #[test]
    fn out_of_range_is_refused_before_hashing() {
        let leaves: Leaves = [&b"a"[..], b"b", b"c"].into_iter().collect();
        for bad in [3u64, 4, u64::MAX] {
            let want = format!("proof index {bad} is out of range for 3 leaves");
            let err = ServeError::InvalidArgument(want);
            assert_eq!(check(3, &[0, bad, 1], &UNLIMITED), Err(err.clone()));
            assert_eq!(proofs_response(&leaves, &[0, bad]), Err(err));
        }
        assert!(check(0, &[0], &UNLIMITED).is_err());
    }

    #[test]
    fn check_refuses_too_many_proofs() {
        let limits = ProofLimits {
            max_proofs: 4,
            max_response_bytes: usize::MAX,
        };
        assert_eq!(check(10, &[0, 1, 2, 3], &limits), Ok(()));
        let Err(ServeError::InvalidArgument(message)) = check(10, &[0, 1, 2, 3, 4], &limits) else {
            panic!("five proofs over a limit of four were accepted");
        };
        assert!(message.contains("--max-proofs"), "{message}");
        assert!(message.contains("limit of 4"), "{message}");
        assert!(message.contains('5'), "{message}");
    }

    #[test]
    fn check_refuses_a_response_over_the_size_limit_at_the_exact_size() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for n in [1, 2, 3, 5, 64, 65, 1000] {
            let indices = shuffled_indices(n, &mut rng);
            let size = response_bytes(n, &indices);
            let limits = |max_response_bytes| ProofLimits {
                max_proofs: indices.len(),
                max_response_bytes,
            };
            assert_eq!(check(n, &indices, &limits(size)), Ok(()), "n = {n}");
            let Err(ServeError::InvalidArgument(message)) = check(n, &indices, &limits(size - 1))
            else {
                panic!("a response one byte over the limit was accepted (n = {n})");
            };
            assert!(message.contains("--max-message-bytes"), "{message}");
            assert!(message.contains(&format!("{size} bytes")), "{message}");
            assert!(
                message.contains(&format!("limit of {}", size - 1)),
                "{message}"
            );
        }
    }

    #[test]
    fn the_computed_size_is_the_built_responses() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut sizes = (0..=70)
            .chain([127, 128, 129, 1000, 4097])
            .collect::<Vec<_>>();
        // Indices and tree sizes whose varints take three bytes.
        sizes.push(20_000);
        for n in sizes {
            let leaves = random_leaves(n, &mut rng);
            let mut index_sets = vec![Vec::new()];
            if n > 0 {
                index_sets.push(shuffled_indices(n.min(300), &mut rng));
                index_sets.push(vec![n as u64 - 1; 3]);
                index_sets.push((0..20).map(|_| rng.gen_range(0..n as u64)).collect());
            }
            for indices in index_sets {
                let resp = proofs_response(&leaves, &indices).unwrap();
                assert_eq!(
                    response_bytes(n, &indices),
                    framed_len(&resp),
                    "n = {n}, indices = {indices:?}"
                );
                let paths: usize = resp.proofs.iter().map(|p| p.path.len()).sum();
                assert!(working_bytes(n, indices.len()) >= 32 * (n + paths));
            }
        }
    }

    /// The probe that once took the server to a 3 GB peak: refused from the shape alone,
    /// at once. The time limit is far above what the check takes (about 10 ms on the
    /// 2-core development VM) and far below what building the response takes (seconds,
    /// and over a gigabyte); it guards against the check ever building anything, it
    /// measures nothing.
    #[test]
    fn a_million_proofs_of_a_million_leaves_are_refused_at_once() {
        let n = 1usize << 20;
        let indices: Vec<u64> = (0..n as u64).collect();
        let limits = ProofLimits {
            max_proofs: usize::MAX,
            max_response_bytes: 16 << 20,
        };
        let started = std::time::Instant::now();
        let result = check(n, &indices, &limits);
        let elapsed = started.elapsed();
        let Err(ServeError::InvalidArgument(message)) = result else {
            panic!("a 2^20-proof response was accepted");
        };
        assert!(message.contains("--max-message-bytes"), "{message}");
        assert!(elapsed < std::time::Duration::from_secs(1), "{elapsed:?}");
        // Every proof of a complete tree of 2^20 leaves has 20 hashes.
        assert!(response_bytes(n, &indices) > n * 20 * 34);
        // What admission would have to charge to build it.
        assert!(working_bytes(n, n) > n * 20 * 64);
    }

    #[test]
    fn path_lengths_follow_the_shape() {
        // Three leaves: leaves 0 and 1 have two hashes, the carried leaf 2 one.
        let shape = Shape::new(3);
        assert_eq!(
            (0..3).map(|m| shape.path_len(m)).collect::<Vec<_>>(),
            [2, 2, 1]
        );
        assert_eq!(max_path_len(0), 0);
        assert_eq!(max_path_len(1), 0);
        assert_eq!(max_path_len(2), 1);
        assert_eq!(max_path_len(1 << 20), 20);
        assert_eq!(max_path_len((1 << 20) + 1), 21);
        assert_eq!(Shape::new(usize::MAX).levels, 64);
    }
}
