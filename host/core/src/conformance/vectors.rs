//! The vector formats and the vectors themselves: the files the harness embeds
//! (Wycheproof JSON, our edge JSON Lines, the BLAKE3 and Merkle known-answer vectors),
//! the serde shapes they are read with, and their decoding into [`Case`]s.
//!
//! Reading a file is one job and judging a backend another: this is the only place that
//! knows a file's layout, and [`EdgeRecord`] is also how `examples/gen_edge_vectors.rs`
//! writes the edge file, so the writer and the reader share one format.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::case::{reference_all, Case};
use crate::batch::{Leaves, Signer};

/// The Wycheproof Ed25519 vectors (C2SP/wycheproof, Apache-2.0).
pub const WYCHEPROOF_JSON: &str = include_str!("../../../../testdata/wycheproof/ed25519_test.json");
/// Our edge cases, one JSON object per line (made by `examples/gen_edge_vectors.rs`).
pub const EDGE_JSONL: &str = include_str!("../../../../testdata/edge/ed25519_edge.jsonl");
/// The official BLAKE3 test vectors (BLAKE3-team/BLAKE3).
pub const BLAKE3_JSON: &str = include_str!("../../../../testdata/blake3/test_vectors.json");
/// The vigil-merkle-v1 known-answer vectors (made by `examples/gen_merkle_vectors.rs`,
/// checked independently by `testdata/merkle/check.py`).
pub const MERKLE_VECTORS_JSON: &str = include_str!("../../../../testdata/merkle/vectors.json");

/// Leaf set `set` of the Merkle known-answer vectors with `n` leaves (see
/// `testdata/merkle/README.md`): `hash32`, leaf `i` = the 32 bytes of
/// BLAKE3(b"vigil-merkle-v1 test leaf" || u64_le(i)); `bytes_i`, leaf `i` = `i` bytes,
/// each `i mod 256`. `None` for another set name, or leaves past 4 GiB.
pub fn merkle_vector_leaves(set: &str, n: usize) -> Option<Leaves> {
    let mut leaves = Leaves::with_capacity(n, 32 * n);
    for i in 0..n {
        match set {
            "hash32" => {
                let mut input = b"vigil-merkle-v1 test leaf".to_vec();
                input.extend_from_slice(&(i as u64).to_le_bytes());
                leaves.push(blake3::hash(&input).as_bytes()).ok()?;
            }
            // The low byte of i: i mod 256.
            "bytes_i" => leaves.push(&vec![i.to_le_bytes()[0]; i]).ok()?,
            _ => return None,
        }
    }
    Some(leaves)
}

// ---------------------------------------------------------------------------------------
// Wycheproof

#[derive(Deserialize)]
struct WycheproofFile {
    #[serde(rename = "testGroups")]
    groups: Vec<WycheproofGroup>,
}

#[derive(Deserialize)]
struct WycheproofGroup {
    #[serde(rename = "publicKey")]
    public_key: WycheproofKey,
    tests: Vec<WycheproofTest>,
}

#[derive(Deserialize)]
struct WycheproofKey {
    pk: String,
}

#[derive(Deserialize)]
struct WycheproofTest {
    #[serde(rename = "tcId")]
    id: u64,
    comment: String,
    msg: String,
    sig: String,
    result: String,
}

/// A Wycheproof test, decoded.
struct WycheproofVector {
    id: u64,
    comment: String,
    pk: Vec<u8>,
    msg: Vec<u8>,
    sig: Vec<u8>,
    /// The file's own verdict: "valid", "invalid" or "acceptable" (compared only by the
    /// unit tests: the harness's expected verdict is the reference crate's).
    #[cfg_attr(not(test), allow(dead_code))]
    result: String,
}

fn wycheproof_vectors() -> Result<Vec<WycheproofVector>, String> {
    let file: WycheproofFile =
        serde_json::from_str(WYCHEPROOF_JSON).map_err(|e| format!("wycheproof json: {e}"))?;
    let mut out = Vec::new();
    for group in file.groups {
        let pk = hex::decode(&group.public_key.pk)
            .map_err(|e| format!("wycheproof public key hex: {e}"))?;
        for t in group.tests {
            let msg = hex::decode(&t.msg).map_err(|e| format!("wycheproof tc{}: {e}", t.id))?;
            let sig = hex::decode(&t.sig).map_err(|e| format!("wycheproof tc{}: {e}", t.id))?;
            out.push(WycheproofVector {
                id: t.id,
                comment: t.comment,
                pk: pk.clone(),
                msg,
                sig,
                result: t.result,
            });
        }
    }
    Ok(out)
}

pub(super) fn wycheproof_cases() -> Result<&'static Arc<Vec<Case>>, String> {
    static CASES: OnceLock<Result<Arc<Vec<Case>>, String>> = OnceLock::new();
    CASES
        .get_or_init(|| {
            let cases = wycheproof_vectors()?
                .into_iter()
                .map(|v| {
                    let id = format!("tc{} {}", v.id, v.comment).trim_end().to_owned();
                    match (
                        <[u8; 32]>::try_from(&v.pk[..]),
                        <[u8; 64]>::try_from(&v.sig[..]),
                    ) {
                        (Ok(pubkey), Ok(signature)) => {
                            let signers = vec![Signer { pubkey, signature }];
                            let expect = reference_all(&v.msg, &signers);
                            Case {
                                id,
                                msg: v.msg,
                                signers,
                                malformed: None,
                                wire: None,
                                expect,
                            }
                        }
                        _ => Case {
                            id,
                            malformed: Some(format!(
                                "wycheproof: {}-byte key, {}-byte signature",
                                v.pk.len(),
                                v.sig.len()
                            )),
                            msg: v.msg,
                            signers: Vec::new(),
                            wire: None,
                            expect: Default::default(),
                        },
                    }
                })
                .collect();
            Ok(Arc::new(cases))
        })
        .as_ref()
        .map_err(Clone::clone)
}

// ---------------------------------------------------------------------------------------
// Edge cases

/// One line of `testdata/edge/ed25519_edge.jsonl`: a transaction (one message, one or
/// more signers) and each signer's verdict under each profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeRecord {
    /// Unique id, `<kind>-<number>`.
    pub id: String,
    /// The kind of edge case (see testdata/README.md).
    pub kind: String,
    /// How the case was constructed and why it is interesting.
    pub comment: String,
    /// The message, hex.
    pub msg: String,
    /// The signers, in order.
    pub signers: Vec<EdgeSigner>,
    /// Per-signer verdicts by profile, as the reference crates gave them.
    pub expect: EdgeExpect,
}

/// One signer of an [`EdgeRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeSigner {
    /// Public key A, hex (32 bytes).
    pub pubkey: String,
    /// Signature R || S, hex (64 bytes).
    pub sig: String,
}

/// Per-signer verdicts of an [`EdgeRecord`], one list per profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeExpect {
    /// Under [`Profile::Strict`](crate::Profile::Strict).
    pub strict: Vec<bool>,
    /// Under [`Profile::Rfc8032`](crate::Profile::Rfc8032).
    pub rfc8032: Vec<bool>,
    /// Under [`Profile::Zip215`](crate::Profile::Zip215).
    pub zip215: Vec<bool>,
}

impl EdgeRecord {
    /// A record whose verdicts are computed here and now by
    /// [`reference_verify`](crate::reference_verify): the only way the generator makes
    /// one, so no verdict in the file is hand-written.
    pub fn new(id: String, kind: &str, comment: String, msg: &[u8], signers: &[Signer]) -> Self {
        let [strict, rfc8032, zip215] = reference_all(msg, signers);
        EdgeRecord {
            id,
            kind: kind.to_owned(),
            comment,
            msg: hex::encode(msg),
            signers: signers
                .iter()
                .map(|s| EdgeSigner {
                    pubkey: hex::encode(s.pubkey),
                    sig: hex::encode(s.signature),
                })
                .collect(),
            expect: EdgeExpect {
                strict,
                rfc8032,
                zip215,
            },
        }
    }

    fn decode(&self) -> Result<Case, String> {
        let err = |what: &str| format!("edge case {}: {what}", self.id);
        let msg = hex::decode(&self.msg).map_err(|e| err(&format!("msg: {e}")))?;
        let mut signers = Vec::with_capacity(self.signers.len());
        for s in &self.signers {
            let pubkey = hex::decode(&s.pubkey)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or_else(|| err("pubkey is not 32 bytes of hex"))?;
            let signature = hex::decode(&s.sig)
                .ok()
                .and_then(|v| <[u8; 64]>::try_from(v).ok())
                .ok_or_else(|| err("sig is not 64 bytes of hex"))?;
            signers.push(Signer { pubkey, signature });
        }
        let expect = [
            self.expect.strict.clone(),
            self.expect.rfc8032.clone(),
            self.expect.zip215.clone(),
        ];
        if signers.is_empty() || expect.iter().any(|e| e.len() != signers.len()) {
            return Err(err("needs one expected verdict per signer and profile"));
        }
        Ok(Case {
            id: self.id.clone(),
            msg,
            signers,
            malformed: None,
            wire: None,
            expect,
        })
    }
}

/// An edge case as the harness uses it.
pub(super) struct EdgeCase {
    pub(super) kind: String,
    pub(super) case: Case,
}

pub(super) fn edge_cases() -> Result<&'static [EdgeCase], String> {
    static CASES: OnceLock<Result<Vec<EdgeCase>, String>> = OnceLock::new();
    CASES
        .get_or_init(|| {
            let mut out = Vec::new();
            for (n, line) in EDGE_JSONL.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let record: EdgeRecord = serde_json::from_str(line)
                    .map_err(|e| format!("ed25519_edge.jsonl line {}: {e}", n + 1))?;
                out.push(EdgeCase {
                    case: record.decode()?,
                    kind: record.kind,
                });
            }
            if out.is_empty() {
                return Err("ed25519_edge.jsonl is empty: run the gen_edge_vectors example".into());
            }
            Ok(out)
        })
        .as_deref()
        .map_err(Clone::clone)
}

// ---------------------------------------------------------------------------------------
// BLAKE3 vectors

/// What the harness needs of the BLAKE3 vectors: the input lengths (the unit tests read
/// the outputs too).
#[derive(Deserialize)]
struct Blake3Lengths {
    cases: Vec<Blake3Length>,
}

#[derive(Deserialize)]
struct Blake3Length {
    input_len: usize,
}

/// The official BLAKE3 input of `len` bytes: 0, 1, ..., 250, 0, 1, ...
fn blake3_input(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i % 251).unwrap_or_default())
        .collect()
}

pub(super) fn blake3_inputs() -> Result<Vec<Vec<u8>>, String> {
    let file: Blake3Lengths =
        serde_json::from_str(BLAKE3_JSON).map_err(|e| format!("blake3 test_vectors.json: {e}"))?;
    Ok(file
        .cases
        .iter()
        .map(|c| blake3_input(c.input_len))
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test fails by panicking.
mod tests {
    use super::*;
    use crate::profile::{reference_verify, Profile};

    #[test]
    fn conformance_edge_file_matches_reference() {
        let edge = edge_cases().unwrap();
        assert!(edge.len() >= 300, "{}", edge.len());
        let mut ids: Vec<&str> = edge.iter().map(|e| e.case.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), edge.len(), "duplicate ids");
        for e in edge {
            assert_eq!(
                reference_all(&e.case.msg, &e.case.signers),
                e.case.expect,
                "{} is stale: run the gen_edge_vectors example",
                e.case.id
            );
        }
    }

    #[test]
    fn conformance_edge_kinds_separate_profiles() {
        // The file must contain signatures that each profile alone accepts or rejects.
        let edge = edge_cases().unwrap();
        let pattern = |s: bool, r: bool, z: bool| {
            edge.iter().any(|e| {
                (0..e.case.signers.len()).any(|i| {
                    e.case.expect[0][i] == s && e.case.expect[1][i] == r && e.case.expect[2][i] == z
                })
            })
        };
        assert!(pattern(true, true, true));
        assert!(pattern(false, false, false));
        assert!(pattern(false, true, true), "rfc8032 and zip215 only");
        assert!(pattern(false, false, true), "zip215 only");
    }

    #[test]
    fn conformance_wycheproof_labels_under_strict() {
        // Wycheproof's "valid" must pass strict and its "invalid" (of the right lengths)
        // must fail it.
        let mut wrong = Vec::new();
        for v in wycheproof_vectors().unwrap() {
            let (Ok(pk), Ok(sig)) = (
                <[u8; 32]>::try_from(&v.pk[..]),
                <[u8; 64]>::try_from(&v.sig[..]),
            ) else {
                assert_ne!(v.result, "valid", "tc{}", v.id);
                continue;
            };
            let strict = reference_verify(Profile::Strict, &pk, &sig, &v.msg);
            if (v.result == "valid" && !strict) || (v.result == "invalid" && strict) {
                wrong.push(v.id);
            }
        }
        assert_eq!(wrong, Vec::<u64>::new());
    }

    #[test]
    fn conformance_wycheproof_profile_disagreements() {
        // Where the three profiles differ on Wycheproof. Pinned: a change in a reference
        // crate's behaviour shows up here first.
        let mut differ = Vec::new();
        for v in wycheproof_vectors().unwrap() {
            let (Ok(pk), Ok(sig)) = (
                <[u8; 32]>::try_from(&v.pk[..]),
                <[u8; 64]>::try_from(&v.sig[..]),
            ) else {
                continue;
            };
            let verdicts = Profile::ALL.map(|p| reference_verify(p, &pk, &sig, &v.msg));
            if v.result != "valid" && verdicts.contains(&true) {
                println!(
                    "accepted by some profile: tc{} {:?} {verdicts:?} {}",
                    v.id, v.result, v.comment
                );
            }
            if verdicts.iter().any(|&x| x != verdicts[0]) {
                println!("tc{} {:?} {}: {verdicts:?}", v.id, v.result, v.comment);
                differ.push(v.id);
            }
        }
        // tc151: R = (0, 1) with the sign bit set ("negative zero"); curve25519-dalek's
        // decoding accepts it and only ZIP-215 lets a non-canonical R through.
        assert_eq!(differ, vec![151]);
    }

    #[derive(Deserialize)]
    struct Blake3File {
        key: String,
        context_string: String,
        cases: Vec<Blake3Case>,
    }

    #[derive(Deserialize)]
    struct Blake3Case {
        input_len: usize,
        hash: String,
        keyed_hash: String,
        derive_key: String,
    }

    #[test]
    fn conformance_blake3_official_vectors() {
        let file: Blake3File = serde_json::from_str(BLAKE3_JSON).unwrap();
        assert!(file.cases.len() > 30);
        let key: [u8; 32] = file.key.as_bytes().try_into().unwrap();
        for c in &file.cases {
            let input = blake3_input(c.input_len);
            let first = |h: &str| hex::decode(&h[..64]).unwrap();
            assert_eq!(blake3::hash(&input).as_bytes().to_vec(), first(&c.hash));
            assert_eq!(
                blake3::keyed_hash(&key, &input).as_bytes().to_vec(),
                first(&c.keyed_hash)
            );
            assert_eq!(
                blake3::derive_key(&file.context_string, &input).to_vec(),
                first(&c.derive_key),
                "derive_key, {} bytes",
                c.input_len
            );
            // The extended output too, through the same hasher the tree uses.
            let mut xof = vec![0u8; c.derive_key.len() / 2];
            blake3::Hasher::new_derive_key(&file.context_string)
                .update(&input)
                .finalize_xof()
                .fill(&mut xof);
            assert_eq!(hex::encode(xof), c.derive_key);
        }
    }
}
