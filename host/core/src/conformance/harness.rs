//! The conformance harness: one suite that every backend's tests run.
//!
//! A backend is correct when it gives [`reference_verify`]'s verdict for every signature
//! under every profile and [`crate::merkle::root`]'s root for every leaf list. [`run`]
//! checks that on five sets, each through the real [`Backend`] interface (batches split
//! into chunks of at most [`Options::max_batch`] transactions, several of them in flight
//! before any is awaited, profiles interleaved):
//!
//! * **wycheproof**: every test of `testdata/wycheproof/ed25519_test.json`, one
//!   transaction each. The expected verdict is the reference crate's, not the file's own
//!   `result` (that describes one library's policy); a signature or key of the wrong
//!   length becomes a malformed transaction, which must come back invalid.
//! * **edge**: `testdata/edge/ed25519_edge.jsonl`, our own edge cases (small-order and
//!   mixed-order points, non-canonical encodings, S >= L, off-curve points, multi-signer
//!   transactions, ...; see `testdata/README.md`). Expected verdicts are the file's, and
//!   the reference crates must still agree with the file: a stale file is reported under
//!   the set `edge-file`.
//! * **generated**: [`Options::generated`] transactions from a seeded generator, honest
//!   signatures mixed with adversarial ones (bit flips, S + L, small-order and
//!   torsion-shifted points, non-canonical and off-curve encodings, swapped signers),
//!   expected verdicts from the reference crates.
//! * **solana**: Solana wire transactions (legacy and v0, 1 to 3 signers, signatures
//!   broken in the ways each profile rejects, and damaged copies that must come back
//!   malformed), pushed raw, so a backend is also checked on locating keys, signatures
//!   and message inside the wire bytes; expected verdicts from the reference crates.
//! * **merkle**: roots of leaf lists of sizes 0, 1, 2, 3, 4, 5, 7, 8, 9, 1000 and a few
//!   random sizes with variable-length leaves, and of the BLAKE3 test-vector inputs (up to
//!   100 KiB each, so every chunk-boundary case of the leaf hash) as leaves.
//!
//! Every [`Verdicts`] must also have the right shape: one entry per signature and per
//! transaction, and each transaction's verdict equal to "parsed, has signers, every
//! signature valid".
//!
//! [`self_test`] is the small known-answer version a backend runs at start-up, before it
//! reports itself serving. [`craft`] holds the building blocks for adversarial inputs,
//! shared by the generator here and `examples/gen_edge_vectors.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use ed25519_dalek::Signer as _;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, BackendError, Pending};
use crate::batch::{Batch, BatchBuilder, Leaves, Signer, Verdicts};
use crate::profile::{reference_verify, Profile};

/// The Wycheproof Ed25519 vectors (C2SP/wycheproof, Apache-2.0).
pub const WYCHEPROOF_JSON: &str = include_str!("../../../testdata/wycheproof/ed25519_test.json");
/// Our edge cases, one JSON object per line (made by `examples/gen_edge_vectors.rs`).
pub const EDGE_JSONL: &str = include_str!("../../../testdata/edge/ed25519_edge.jsonl");
/// The official BLAKE3 test vectors (BLAKE3-team/BLAKE3).
pub const BLAKE3_JSON: &str = include_str!("../../../testdata/blake3/test_vectors.json");
/// The vigil-merkle-v1 known-answer vectors (made by `examples/gen_merkle_vectors.rs`,
/// checked independently by `testdata/merkle/check.py`).
pub const MERKLE_VECTORS_JSON: &str = include_str!("../../../testdata/merkle/vectors.json");

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

/// Set name of the Wycheproof vectors.
pub const SET_WYCHEPROOF: &str = "wycheproof";
/// Set name of our edge cases, checked against the backend.
pub const SET_EDGE: &str = "edge";
/// Set name of the edge-case file checked against the reference crates (a stale file).
pub const SET_EDGE_FILE: &str = "edge-file";
/// Set name of the seeded random and adversarial transactions.
pub const SET_GENERATED: &str = "generated";
/// Set name of the Solana wire transactions (legacy and v0, valid, corrupted, malformed).
pub const SET_SOLANA: &str = "solana";
/// Set name of the Merkle roots.
pub const SET_MERKLE: &str = "merkle";

/// Seed of [`Options::default`].
pub const DEFAULT_SEED: u64 = 0x5649_4749_4c00_0001;

/// Leaves in the self-test's Merkle root (lengths 0, 97, ..., across chunk boundaries).
const SELF_TEST_LEAVES: usize = 13;
/// Most verify (or Merkle) calls the harness keeps in flight before awaiting the oldest.
const IN_FLIGHT: usize = 6;
/// Mismatches kept in a [`Report`]; the rest are only counted.
const MAX_RECORDED: usize = 10_000;
/// Generated transactions made from one RNG stream.
const GEN_BLOCK: usize = 256;
/// Generated transactions made (in parallel) before they are submitted.
const GEN_WINDOW: usize = 16 * GEN_BLOCK;

/// What [`run`] checks besides the fixed vector sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Random and adversarial transactions checked per profile.
    pub generated: usize,
    /// Seed of the generator (and of chunk sizes and Merkle leaves).
    pub seed: u64,
    /// Most transactions in one submitted batch (0 counts as 1).
    pub max_batch: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            generated: 20_000,
            seed: DEFAULT_SEED,
            max_batch: 1024,
        }
    }
}

/// One verdict (or root, or batch shape) where the backend differs from the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Which set: [`SET_WYCHEPROOF`], [`SET_EDGE`], [`SET_EDGE_FILE`], [`SET_GENERATED`],
    /// [`SET_MERKLE`].
    pub set: String,
    /// The case within the set (Wycheproof `tcId`, edge id, generated index with its
    /// mutations, Merkle leaf count).
    pub case: String,
    /// The profile, for signature checks.
    pub profile: Option<Profile>,
    /// The signer within the transaction; `None` for transaction-level and batch-level
    /// findings.
    pub signer: Option<usize>,
    /// What the reference says.
    pub expected: String,
    /// What the backend said.
    pub got: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.set, self.case)?;
        if let Some(p) = self.profile {
            write!(f, " profile={p}")?;
        }
        if let Some(s) = self.signer {
            write!(f, " signer={s}")?;
        }
        write!(f, ": expected {}, got {}", self.expected, self.got)
    }
}

/// The outcome of [`run`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Individual results compared: signature verdicts, transaction verdicts and roots.
    pub checked: usize,
    /// The first mismatches found (at most 10,000).
    pub mismatches: Vec<Mismatch>,
    /// Mismatches found beyond those kept in `mismatches`.
    pub omitted: usize,
}

impl Report {
    /// Whether the backend matched the reference everywhere.
    pub fn is_ok(&self) -> bool {
        self.mismatches.is_empty() && self.omitted == 0
    }

    /// Every mismatch found, kept or not.
    pub fn mismatch_count(&self) -> usize {
        self.mismatches.len() + self.omitted
    }

    /// A readable summary listing at most `limit` mismatches.
    pub fn summary(&self, limit: usize) -> String {
        let mut out = format!(
            "conformance: {} results checked, {} mismatches",
            self.checked,
            self.mismatch_count()
        );
        for m in self.mismatches.iter().take(limit) {
            out.push_str("\n  ");
            out.push_str(&m.to_string());
        }
        let rest = self.mismatch_count().saturating_sub(limit);
        if rest > 0 {
            out.push_str(&format!("\n  ... and {rest} more"));
        }
        out
    }

    fn push(&mut self, m: Mismatch) {
        if self.mismatches.len() < MAX_RECORDED {
            self.mismatches.push(m);
        } else {
            self.omitted += 1;
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary(20))
    }
}

/// Runs every conformance set against `backend` under every profile.
pub fn run(backend: &dyn Backend, opts: &Options) -> Report {
    let mut h = Harness::new(backend, opts);
    match wycheproof_cases() {
        Ok(cases) => h.submit(SET_WYCHEPROOF, Arc::clone(cases)),
        Err(e) => h.file_error(SET_WYCHEPROOF, e),
    }
    match edge_cases() {
        Ok(edge) => {
            h.check_edge_file(edge);
            let cases: Vec<Case> = edge.iter().map(|e| e.case.clone()).collect();
            h.submit(SET_EDGE, Arc::new(cases));
        }
        Err(e) => h.file_error(SET_EDGE, e),
    }
    h.generated(opts);
    h.submit(SET_SOLANA, Arc::new(solana_cases(opts)));
    h.drain();
    h.merkle();
    h.report
}

/// Runs [`run`] with default options and panics with a readable list of the first 20
/// mismatches if there is any. For backends' tests.
// Failing the calling test with a readable list is this function's purpose.
#[allow(clippy::panic)]
pub fn assert_conforms(backend: &dyn Backend) {
    let report = run(backend, &Options::default());
    if !report.is_ok() {
        panic!(
            "backend {} does not conform:\n{report}",
            backend.info().name
        );
    }
}

/// The start-up known-answer test: a few dozen edge cases (every `taming` case and two
/// of every other kind) under every profile, and one Merkle root of 13 leaves of 0 to
/// 1164 bytes. A backend (or the daemon on its behalf) runs it before reporting itself
/// serving; it takes a few milliseconds on the CPU backend. It blocks the calling thread
/// while it waits for the backend (call it from `spawn_blocking` in async code).
pub fn self_test(backend: &dyn Backend) -> Result<(), String> {
    let name = backend.info().name;
    let edge = edge_cases()?;
    let cases: Vec<Case> = self_test_selection(edge);
    let batch = Arc::new(build_batch(&cases).map_err(|e| format!("self-test: {e}"))?);
    let leaves: Leaves = (0..SELF_TEST_LEAVES)
        .map(|i| vec![u8::try_from(i).unwrap_or_default(); i * 97])
        .collect::<Leaves>();
    let leaves = Arc::new(leaves);
    let pending: Vec<(Profile, Pending<Verdicts>)> = Profile::ALL
        .into_iter()
        .map(|p| (p, backend.verify(Arc::clone(&batch), p)))
        .collect();
    let root = backend.merkle_root(Arc::clone(&leaves));
    let mut report = Report::default();
    for (p, pending) in pending {
        compare(&mut report, SET_EDGE, &cases, &batch, p, pending.wait());
    }
    let want = crate::merkle::root(&leaves);
    let name_leaves = format!("{SELF_TEST_LEAVES} leaves");
    match root.wait() {
        Ok(got) if got == want => {}
        Ok(got) => report.push(root_mismatch(&name_leaves, &want, hex::encode(got))),
        Err(e) => report.push(root_mismatch(&name_leaves, &want, format!("error: {e}"))),
    }
    if report.is_ok() {
        Ok(())
    } else {
        Err(format!(
            "self-test of backend {name} failed:\n{}",
            report.summary(10)
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Cases

/// One transaction to check, with its expected per-signer verdicts under every profile.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Case {
    id: String,
    msg: Vec<u8>,
    signers: Vec<Signer>,
    /// Set where the transaction cannot be pushed as signers; it must come back invalid.
    malformed: Option<String>,
    /// Set for a Solana wire transaction, pushed as is (`msg` and `signers` are then what
    /// the wire bytes hold, for the expected verdicts and for reports).
    wire: Option<Vec<u8>>,
    /// Per profile, in [`Profile::ALL`] order.
    expect: [Vec<bool>; 3],
}

impl Case {
    fn expect(&self, profile: Profile) -> &[bool] {
        &self.expect[profile_index(profile)]
    }
}

fn profile_index(profile: Profile) -> usize {
    match profile {
        Profile::Strict => 0,
        Profile::Rfc8032 => 1,
        Profile::Zip215 => 2,
    }
}

/// The reference verdicts of every signer of `msg` under every profile.
fn reference_all(msg: &[u8], signers: &[Signer]) -> [Vec<bool>; 3] {
    Profile::ALL.map(|p| {
        signers
            .iter()
            .map(|s| reference_verify(p, &s.pubkey, &s.signature, msg))
            .collect()
    })
}

fn build_batch(cases: &[Case]) -> Result<Batch, crate::batch::BatchError> {
    let bytes = cases
        .iter()
        .map(|c| 1 + c.msg.len() + c.signers.len() * 96)
        .sum();
    let mut b = BatchBuilder::with_capacity(cases.len(), bytes);
    for case in cases {
        match (&case.wire, &case.malformed) {
            (Some(wire), _) => b.push_solana(wire)?,
            (None, Some(reason)) => b.push_malformed(reason, &[])?,
            (None, None) => b.push_generic(&case.msg, &case.signers)?,
        }
    }
    Ok(b.finish())
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

fn wycheproof_cases() -> Result<&'static Arc<Vec<Case>>, String> {
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
    /// Under [`Profile::Strict`].
    pub strict: Vec<bool>,
    /// Under [`Profile::Rfc8032`].
    pub rfc8032: Vec<bool>,
    /// Under [`Profile::Zip215`].
    pub zip215: Vec<bool>,
}

impl EdgeRecord {
    /// A record whose verdicts are computed here and now by [`reference_verify`]: the
    /// only way the generator makes one, so no verdict in the file is hand-written.
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
struct EdgeCase {
    kind: String,
    case: Case,
}

fn edge_cases() -> Result<&'static [EdgeCase], String> {
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

/// The self-test's cases: every "taming" case and the first two short cases of every
/// other kind, so each profile sees accepts and rejects.
fn self_test_selection(edge: &[EdgeCase]) -> Vec<Case> {
    let mut taken: Vec<(&str, usize)> = Vec::new();
    let mut out = Vec::new();
    for e in edge {
        if e.case.msg.len() > 256 {
            continue;
        }
        let slot = match taken.iter().position(|(k, _)| *k == e.kind) {
            Some(i) => i,
            None => {
                taken.push((&e.kind, 0));
                taken.len() - 1
            }
        };
        if e.kind == "taming" || taken[slot].1 < 2 {
            taken[slot].1 += 1;
            out.push(e.case.clone());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The harness

/// A verify call in flight, with what is needed to judge its answer.
struct InFlight {
    set: &'static str,
    cases: Arc<Vec<Case>>,
    range: Range<usize>,
    batch: Arc<Batch>,
    profile: Profile,
    pending: Pending<Verdicts>,
}

struct Harness<'a> {
    backend: &'a dyn Backend,
    max_batch: usize,
    rng: ChaCha20Rng,
    inflight: VecDeque<InFlight>,
    report: Report,
}

impl<'a> Harness<'a> {
    fn new(backend: &'a dyn Backend, opts: &Options) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(opts.seed);
        rng.set_stream(u64::MAX);
        Harness {
            backend,
            max_batch: opts.max_batch.max(1),
            rng,
            inflight: VecDeque::new(),
            report: Report::default(),
        }
    }

    fn file_error(&mut self, set: &str, error: String) {
        self.report.push(Mismatch {
            set: set.to_owned(),
            case: "(file)".into(),
            profile: None,
            signer: None,
            expected: "a readable vector file".into(),
            got: error,
        });
    }

    /// Checks that the reference crates still give the edge file's verdicts.
    fn check_edge_file(&mut self, edge: &[EdgeCase]) {
        let found: Vec<Mismatch> = edge
            .par_iter()
            .flat_map_iter(|e| {
                let now = reference_all(&e.case.msg, &e.case.signers);
                let mut out = Vec::new();
                for p in Profile::ALL {
                    let (file, reference) = (e.case.expect(p), &now[profile_index(p)]);
                    for (i, (f, r)) in file.iter().zip(reference).enumerate() {
                        if f != r {
                            out.push(Mismatch {
                                set: SET_EDGE_FILE.into(),
                                case: e.case.id.clone(),
                                profile: Some(p),
                                signer: Some(i),
                                expected: format!("{} (the file; regenerate it)", word(*f)),
                                got: format!("{} (the reference crate)", word(*r)),
                            });
                        }
                    }
                }
                out
            })
            .collect();
        self.report.checked += edge.iter().map(|e| 3 * e.case.signers.len()).sum::<usize>();
        for m in found {
            self.report.push(m);
        }
    }

    /// A chunk size: usually the maximum, sometimes a random smaller one.
    fn chunk_size(&mut self) -> usize {
        if self.rng.gen_ratio(1, 4) {
            self.rng.gen_range(1..=self.max_batch)
        } else {
            self.max_batch
        }
    }

    /// Submits `cases` in chunks under every profile, keeping up to [`IN_FLIGHT`] calls
    /// outstanding; answers are judged as they are awaited.
    fn submit(&mut self, set: &'static str, cases: Arc<Vec<Case>>) {
        let mut start = 0;
        while start < cases.len() {
            let end = (start + self.chunk_size()).min(cases.len());
            let range = start..end;
            start = end;
            let batch = match build_batch(&cases[range.clone()]) {
                Ok(b) => Arc::new(b),
                Err(e) => {
                    self.report.push(Mismatch {
                        set: set.into(),
                        case: cases[range.start].id.clone(),
                        profile: None,
                        signer: None,
                        expected: "a batch".into(),
                        got: format!("the harness could not build one: {e}"),
                    });
                    continue;
                }
            };
            for profile in Profile::ALL {
                while self.inflight.len() >= IN_FLIGHT {
                    self.judge_oldest();
                }
                let pending = self.backend.verify(Arc::clone(&batch), profile);
                self.inflight.push_back(InFlight {
                    set,
                    cases: Arc::clone(&cases),
                    range: range.clone(),
                    batch: Arc::clone(&batch),
                    profile,
                    pending,
                });
            }
        }
    }

    fn judge_oldest(&mut self) {
        if let Some(f) = self.inflight.pop_front() {
            let result = f.pending.wait();
            compare(
                &mut self.report,
                f.set,
                &f.cases[f.range],
                &f.batch,
                f.profile,
                result,
            );
        }
    }

    fn drain(&mut self) {
        while !self.inflight.is_empty() {
            self.judge_oldest();
        }
    }

    /// Generates, in windows, `opts.generated` transactions and submits them.
    fn generated(&mut self, opts: &Options) {
        let total = opts.generated;
        let mut start = 0;
        while start < total {
            let end = (start + GEN_WINDOW).min(total);
            let cases = generate(opts.seed, start..end);
            self.submit(SET_GENERATED, Arc::new(cases));
            start = end;
        }
    }

    fn merkle(&mut self) {
        let mut lists: Vec<(String, Arc<Leaves>)> = Vec::new();
        let mut sizes = vec![0usize, 1, 2, 3, 4, 5, 7, 8, 9, 1000];
        for _ in 0..3 {
            sizes.push(self.rng.gen_range(10..=3000));
        }
        for n in sizes {
            let leaves: Leaves = (0..n).map(|_| random_leaf(&mut self.rng)).collect();
            lists.push((format!("{n} random leaves"), Arc::new(leaves)));
        }
        match blake3_inputs() {
            Ok(inputs) => lists.push((
                format!("{} BLAKE3 test-vector inputs", inputs.len()),
                Arc::new(inputs.iter().collect()),
            )),
            Err(e) => self.file_error(SET_MERKLE, e),
        }
        let mut pending: VecDeque<(String, Arc<Leaves>, Pending<[u8; 32]>)> = VecDeque::new();
        for (name, leaves) in lists {
            if pending.len() >= IN_FLIGHT {
                if let Some((name, leaves, p)) = pending.pop_front() {
                    self.judge_root(&name, &leaves, p);
                }
            }
            let p = self.backend.merkle_root(Arc::clone(&leaves));
            pending.push_back((name, leaves, p));
        }
        while let Some((name, leaves, p)) = pending.pop_front() {
            self.judge_root(&name, &leaves, p);
        }
    }

    fn judge_root(&mut self, name: &str, leaves: &Leaves, pending: Pending<[u8; 32]>) {
        let want = crate::merkle::root(leaves);
        self.report.checked += 1;
        match pending.wait() {
            Ok(got) if got == want => {}
            Ok(got) => self
                .report
                .push(root_mismatch(name, &want, hex::encode(got))),
            Err(e) => self
                .report
                .push(root_mismatch(name, &want, format!("error: {e}"))),
        }
    }
}

fn root_mismatch(name: &str, want: &[u8; 32], got: String) -> Mismatch {
    Mismatch {
        set: SET_MERKLE.into(),
        case: name.into(),
        profile: None,
        signer: None,
        expected: hex::encode(want),
        got,
    }
}

fn word(valid: bool) -> &'static str {
    if valid {
        "valid"
    } else {
        "invalid"
    }
}

/// Judges one verify answer for the transactions `cases` (batch `batch`) under `profile`.
fn compare(
    report: &mut Report,
    set: &str,
    cases: &[Case],
    batch: &Batch,
    profile: Profile,
    result: Result<Verdicts, BackendError>,
) {
    let first = cases.first().map(|c| c.id.as_str()).unwrap_or("(empty)");
    let batch_level = |expected: String, got: String| Mismatch {
        set: set.into(),
        case: format!("{first} (batch of {} transactions)", cases.len()),
        profile: Some(profile),
        signer: None,
        expected,
        got,
    };
    let v = match result {
        Ok(v) => v,
        Err(e) => {
            report.push(batch_level("verdicts".into(), format!("error: {e}")));
            return;
        }
    };
    if v.signature_valid.len() != batch.signature_count()
        || v.transaction_valid.len() != batch.len()
    {
        report.push(batch_level(
            format!(
                "{} signature and {} transaction verdicts",
                batch.signature_count(),
                batch.len()
            ),
            format!(
                "{} and {}",
                v.signature_valid.len(),
                v.transaction_valid.len()
            ),
        ));
        return;
    }
    for (tx, case) in cases.iter().enumerate() {
        let got = v.signatures_of(batch, tx);
        let want = case.expect(profile);
        let at = |signer: Option<usize>, expected: String, got: String| Mismatch {
            set: set.into(),
            case: case.id.clone(),
            profile: Some(profile),
            signer,
            expected,
            got,
        };
        if got.len() != want.len() {
            report.push(at(
                None,
                format!("{} signature verdicts", want.len()),
                format!("{} (the batch was built wrong)", got.len()),
            ));
            continue;
        }
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            report.checked += 1;
            if g != w {
                report.push(at(Some(i), word(*w).into(), word(*g).into()));
            }
        }
        let tx_valid =
            batch.error(tx).is_none() && !got.is_empty() && got.iter().all(|&valid| valid);
        report.checked += 1;
        if v.transaction_valid[tx] != tx_valid {
            report.push(at(
                None,
                format!(
                    "transaction {} (its signature verdicts{})",
                    word(tx_valid),
                    if batch.error(tx).is_some() {
                        ", malformed"
                    } else {
                        ""
                    }
                ),
                format!("transaction {}", word(v.transaction_valid[tx])),
            ));
        }
    }
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

fn blake3_inputs() -> Result<Vec<Vec<u8>>, String> {
    let file: Blake3Lengths =
        serde_json::from_str(BLAKE3_JSON).map_err(|e| format!("blake3 test_vectors.json: {e}"))?;
    Ok(file
        .cases
        .iter()
        .map(|c| blake3_input(c.input_len))
        .collect())
}

fn random_leaf(rng: &mut impl Rng) -> Vec<u8> {
    let len = match rng.gen_range(0..10) {
        0..=5 => rng.gen_range(0..=64),
        6..=8 => rng.gen_range(65..=1100),
        _ => rng.gen_range(1100..=5000),
    };
    let mut leaf = vec![0u8; len];
    rng.fill_bytes(&mut leaf);
    leaf
}

// ---------------------------------------------------------------------------------------
// The generator

/// Generated transactions `range` (by global index) for `seed`. Transaction `i` depends
/// only on `seed` and `i`'s block, so windows are made in parallel and reproducibly.
fn generate(seed: u64, range: Range<usize>) -> Vec<Case> {
    let first_block = range.start / GEN_BLOCK;
    let last_block = range.end.div_ceil(GEN_BLOCK);
    (first_block..last_block)
        .into_par_iter()
        .flat_map_iter(|block| {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            rng.set_stream(block as u64);
            let lo = block * GEN_BLOCK;
            let hi = lo + GEN_BLOCK;
            let mut out = Vec::new();
            for i in lo..hi {
                // Draw every transaction of the block so each index's stream position
                // is fixed, keep those asked for.
                let case = generate_one(&mut rng, i);
                if range.contains(&i) {
                    out.push(case);
                }
            }
            out
        })
        .collect()
}

fn generate_one(rng: &mut ChaCha20Rng, index: usize) -> Case {
    let len = if rng.gen_ratio(1, 20) {
        rng.gen_range(301..=4096)
    } else {
        rng.gen_range(0..=300)
    };
    let mut msg = vec![0u8; len];
    rng.fill_bytes(&mut msg);
    if rng.gen_ratio(1, 100) {
        return Case {
            id: format!("gen-{index} [malformed]"),
            msg,
            signers: Vec::new(),
            malformed: Some("generated: unparseable transaction".into()),
            wire: None,
            expect: Default::default(),
        };
    }
    let n = rng.gen_range(1..=4);
    let mut signers = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n + 1);
    for _ in 0..n {
        let (signer, label) = generate_signer(rng, &msg);
        signers.push(signer);
        labels.push(label);
    }
    match rng.gen_range(0..100) {
        0..=2 => {
            if msg.is_empty() {
                msg.push(rng.gen());
            } else {
                let bit = rng.gen_range(0..msg.len() * 8);
                msg[bit / 8] ^= 1 << (bit % 8);
            }
            labels.push("tx:message-bit-flip");
        }
        3..=4 if n >= 2 => {
            let (a, b) = (signers[0].signature, signers[n - 1].signature);
            signers[0].signature = b;
            signers[n - 1].signature = a;
            labels.push("tx:signatures-swapped");
        }
        5 if n >= 2 => {
            let (a, b) = (signers[0].pubkey, signers[1].pubkey);
            signers[0].pubkey = b;
            signers[1].pubkey = a;
            labels.push("tx:keys-swapped");
        }
        6 if n >= 2 => {
            signers[1] = signers[0];
            labels.push("tx:duplicate-signer");
        }
        _ => {}
    }
    let expect = reference_all(&msg, &signers);
    Case {
        id: format!("gen-{index} [{}]", labels.join(",")),
        msg,
        signers,
        malformed: None,
        wire: None,
        expect,
    }
}

/// Solana wire transactions: `opts.generated / 10` (at least 60) from the synthetic
/// generator, legacy and v0 messages with 1 to 3 signers, a third of them with a
/// signature broken in a way chosen for each profile in turn (so small-order and
/// mixed-order keys are among them), plus damaged copies of some (cut short, with
/// trailing bytes, with the signature count changed) that must come back malformed.
/// Expected verdicts are the reference crates' over the message and keys the wire bytes
/// hold, so a backend is checked on locating them inside the raw transaction too.
fn solana_cases(opts: &Options) -> Vec<Case> {
    use crate::synth::{self, Format, SynthSpec, SynthTx};

    let per_spec = (opts.generated / 90).max(20);
    let mut cases = Vec::new();
    for (p, profile) in Profile::ALL.into_iter().enumerate() {
        for signers in 1..=3 {
            let spec = SynthSpec {
                count: per_spec,
                profile,
                invalid_fraction: 0.35,
                msg_len: 0..=300,
                signers,
                format: Format::Solana,
                seed: opts.seed ^ (10 * p + signers) as u64,
            };
            let Ok(txs) = synth::generate(&spec) else {
                continue;
            };
            for (i, tx) in txs.into_iter().enumerate() {
                let SynthTx::Solana { mut wire, .. } = tx else {
                    continue;
                };
                let id = format!("solana-{profile}-{signers}-{i}");
                match i % 10 {
                    7 => wire.truncate(wire.len() / 2),
                    8 => wire.push(0),
                    9 => wire[0] = wire[0].wrapping_add(1),
                    _ => {}
                }
                cases.push(solana_case(id, wire));
            }
        }
    }
    cases
}

/// A Solana case with the reference verdicts of what the parser finds in `wire`.
fn solana_case(id: String, wire: Vec<u8>) -> Case {
    let Ok(layout) = crate::input::solana::parse(&wire) else {
        return Case {
            id: format!("{id} [malformed]"),
            msg: Vec::new(),
            signers: Vec::new(),
            malformed: Some("does not parse".into()),
            wire: Some(wire),
            expect: Default::default(),
        };
    };
    let msg = wire[layout.message_at..].to_vec();
    let signers: Vec<Signer> = (0..layout.signer_count)
        .map(|i| {
            let mut pubkey = [0u8; 32];
            let mut signature = [0u8; 64];
            let k = layout.pubkeys_at + 32 * i;
            let g = layout.signatures_at + 64 * i;
            pubkey.copy_from_slice(&wire[k..k + 32]);
            signature.copy_from_slice(&wire[g..g + 64]);
            Signer { pubkey, signature }
        })
        .collect();
    let expect = reference_all(&msg, &signers);
    Case {
        id,
        msg,
        signers,
        malformed: None,
        wire: Some(wire),
        expect,
    }
}

/// An honest RFC 8032 signature by a fresh random key.
fn honest(rng: &mut impl RngCore, msg: &[u8]) -> Signer {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    Signer {
        pubkey: key.verifying_key().to_bytes(),
        signature: key.sign(msg).to_bytes(),
    }
}

fn flip_bit(rng: &mut impl Rng, bytes: &mut [u8]) {
    let bit = rng.gen_range(0..bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
}

/// One signer: honest about half the time, otherwise one adversarial construction.
fn generate_signer(rng: &mut ChaCha20Rng, msg: &[u8]) -> (Signer, &'static str) {
    use craft::*;
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::IsIdentity;

    let roll = rng.gen_range(0..100);
    if roll < 45 {
        return (honest(rng, msg), "honest");
    }
    if roll < 65 {
        let mut s = honest(rng, msg);
        let label = match roll {
            45..=49 => {
                flip_bit(rng, &mut s.signature[..32]);
                "R-bit-flip"
            }
            50..=54 => {
                flip_bit(rng, &mut s.signature[32..]);
                "S-bit-flip"
            }
            55..=59 => {
                flip_bit(rng, &mut s.pubkey);
                "A-bit-flip"
            }
            60..=62 => {
                let mut sig_s = [0u8; 32];
                sig_s.copy_from_slice(&s.signature[32..]);
                let k = rng.gen_range(1..=15u8);
                if let Some(big) = add_multiple_of_l(&sig_s, k) {
                    s.signature[32..].copy_from_slice(&big);
                }
                "S+kL"
            }
            _ => {
                s.signature[63] |= 0x20 << rng.gen_range(0..3);
                "S-high-bits"
            }
        };
        return (s, label);
    }
    let a = random_scalar(rng);
    let r = random_scalar(rng);
    let small = |rng: &mut ChaCha20Rng| {
        let aliases = small_order_aliases();
        let t = &aliases[rng.gen_range(0..8)];
        t[rng.gen_range(0..t.len())]
    };
    let ordinary = |s: &Scalar| EdwardsPoint::mul_base(s).compress().to_bytes();
    let (pubkey, signature, label) = match roll {
        65..=69 => {
            let pk = small(rng);
            let r_enc = ordinary(&r);
            (
                pk,
                sign_with(&Scalar::ZERO, &pk, &r, &r_enc, msg),
                "small-order-A",
            )
        }
        70..=72 => {
            let pk = small(rng);
            let r_enc = small(rng);
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&r_enc);
            (pk, sig, "small-order-A-and-R,S=0")
        }
        73..=76 => {
            let pk = ordinary(&a);
            let r_enc = small(rng);
            (
                pk,
                sign_with(&a, &pk, &Scalar::ZERO, &r_enc, msg),
                "small-order-R",
            )
        }
        77..=81 => {
            let pk = mixed(&a, rng.gen_range(1..8));
            let r_enc = ordinary(&r);
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "torsion-shifted-A")
        }
        82..=85 => {
            let pk = ordinary(&a);
            let r_enc = mixed(&r, rng.gen_range(1..8));
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "torsion-shifted-R")
        }
        86..=88 => {
            // Both shifted; half the time search for the R torsion that makes the
            // cofactorless equation hold too.
            let ta = rng.gen_range(1..8);
            let pk = mixed(&a, ta);
            let want_both = rng.gen_bool(0.5);
            let mut r_enc = mixed(&r, rng.gen_range(1..8));
            if want_both {
                for tr in 0..8 {
                    let candidate = mixed(&r, tr);
                    let k = challenge(&candidate, &pk, msg);
                    if (torsion(tr) + k * torsion(ta)).is_identity() {
                        r_enc = candidate;
                        break;
                    }
                }
            }
            (
                pk,
                sign_with(&a, &pk, &r, &r_enc, msg),
                "torsion-shifted-A-and-R",
            )
        }
        89..=90 => {
            let list = noncanonical_ordinary();
            let pk = list[rng.gen_range(0..list.len())];
            let r_enc = ordinary(&r);
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "noncanonical-A")
        }
        91..=92 => {
            let list = noncanonical_ordinary();
            let pk = ordinary(&a);
            let r_enc = list[rng.gen_range(0..list.len())];
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "noncanonical-R")
        }
        93..=94 => {
            let pk = off_curve(rng);
            let r_enc = ordinary(&r);
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "off-curve-A")
        }
        95..=96 => {
            let pk = ordinary(&a);
            let r_enc = off_curve(rng);
            (pk, sign_with(&a, &pk, &r, &r_enc, msg), "off-curve-R")
        }
        _ => {
            let other: Vec<u8> = msg.iter().map(|b| b ^ 1).chain([7]).collect();
            let s = honest(rng, &other);
            (s.pubkey, s.signature, "other-message")
        }
    };
    (Signer { pubkey, signature }, label)
}

/// Building blocks for adversarial Ed25519 inputs: torsion points, every encoding of a
/// point, off-curve encodings, signatures from chosen scalars and encodings.
///
/// Nothing here decides a verdict; expected verdicts always come from
/// [`reference_verify`]. [`craft::equations`] says which verification equations hold,
/// for describing cases only.
pub mod craft {
    use std::sync::OnceLock;

    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::IsIdentity;
    use rand::RngCore;
    use sha2::{Digest, Sha512};

    /// The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
    pub const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10,
    ];

    /// The field prime p = 2^255 - 19, little-endian.
    pub const P: [u8; 32] = {
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        p
    };

    /// `EIGHT_TORSION[i % 8]`: `[i]T` for a fixed point T of order 8. Index 0 is the
    /// identity, 4 has order 2, 2 and 6 order 4, odd indices order 8.
    pub fn torsion(i: usize) -> EdwardsPoint {
        EIGHT_TORSION[i % 8]
    }

    /// The order of a small-order point (1, 2, 4 or 8), `None` for any other point.
    pub fn small_order(point: &EdwardsPoint) -> Option<u32> {
        let mut q = *point;
        for order in [1, 2, 4, 8] {
            if q.is_identity() {
                return Some(order);
            }
            q = q + q;
        }
        None
    }

    /// The 64-byte SHA-512(R || A || M), not reduced.
    pub fn hash_wide(r_enc: &[u8; 32], a_enc: &[u8; 32], msg: &[u8]) -> [u8; 64] {
        let mut h = Sha512::new();
        h.update(r_enc);
        h.update(a_enc);
        h.update(msg);
        h.finalize().into()
    }

    /// k = SHA-512(R || A || M) mod L, over the encodings exactly as given.
    pub fn challenge(r_enc: &[u8; 32], a_enc: &[u8; 32], msg: &[u8]) -> Scalar {
        Scalar::from_bytes_mod_order_wide(&hash_wide(r_enc, a_enc, msg))
    }

    /// A uniformly random scalar.
    pub fn random_scalar<R: RngCore + ?Sized>(rng: &mut R) -> Scalar {
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        Scalar::from_bytes_mod_order_wide(&wide)
    }

    /// `r_enc || (r + k·a mod L)` with k hashed over `r_enc` and `a_enc` as given: the
    /// signature a signer with secret scalar `a` and nonce `r` makes, whatever points the
    /// encodings actually denote.
    pub fn sign_with(
        a: &Scalar,
        a_enc: &[u8; 32],
        r: &Scalar,
        r_enc: &[u8; 32],
        msg: &[u8],
    ) -> [u8; 64] {
        let s = r + challenge(r_enc, a_enc, msg) * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(r_enc);
        sig[32..].copy_from_slice(s.as_bytes());
        sig
    }

    /// Canonical encoding of `[s]B + torsion(t)`: a mixed-order point when `t != 0`.
    pub fn mixed(s: &Scalar, t: usize) -> [u8; 32] {
        (EdwardsPoint::mul_base(s) + torsion(t))
            .compress()
            .to_bytes()
    }

    /// Decodes an encoding the way both reference crates do (y may be >= p).
    pub fn decode(enc: &[u8; 32]) -> Option<EdwardsPoint> {
        CompressedEdwardsY(*enc).decompress()
    }

    /// Whether `enc` decodes and is the encoding the point re-encodes to.
    pub fn is_canonical(enc: &[u8; 32]) -> bool {
        decode(enc).is_some_and(|p| p.compress().to_bytes() == *enc)
    }

    /// `a + b` on 256-bit little-endian integers, `None` on overflow.
    pub fn add_le(a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
            out[i] = sum.to_le_bytes()[0];
            carry = sum >> 8;
        }
        (carry == 0).then_some(out)
    }

    /// `s + k·L` as a 256-bit little-endian integer, `None` if it does not fit.
    pub fn add_multiple_of_l(s: &[u8; 32], k: u8) -> Option<[u8; 32]> {
        let mut out = *s;
        for _ in 0..k {
            out = add_le(&out, &L)?;
        }
        Some(out)
    }

    /// Every 32-byte string that decodes to `point`: the canonical encoding first, then
    /// the non-canonical ones (y + p where y < 19; the sign bit set where x = 0).
    pub fn aliases(point: &EdwardsPoint) -> Vec<[u8; 32]> {
        let canonical = point.compress().to_bytes();
        let mut candidates = vec![canonical];
        let mut y = canonical;
        y[31] &= 0x7f;
        if y[1..].iter().all(|&b| b == 0) && y[0] < 19 {
            if let Some(mut plus_p) = add_le(&y, &P) {
                plus_p[31] |= canonical[31] & 0x80;
                candidates.push(plus_p);
            }
        }
        let flipped: Vec<[u8; 32]> = candidates
            .iter()
            .map(|c| {
                let mut f = *c;
                f[31] ^= 0x80;
                f
            })
            .collect();
        candidates.extend(flipped);
        let mut out: Vec<[u8; 32]> = Vec::new();
        for c in candidates {
            if decode(&c).is_some_and(|q| q == *point) && !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// Per small-order point `torsion(i)`, all its encodings ([`aliases`]).
    pub fn small_order_aliases() -> &'static [Vec<[u8; 32]>; 8] {
        static ALIASES: OnceLock<[Vec<[u8; 32]>; 8]> = OnceLock::new();
        ALIASES.get_or_init(|| std::array::from_fn(|i| aliases(&torsion(i))))
    }

    /// Every non-canonical encoding that decodes: y in [p, 2^255) with either sign, and
    /// the sign bit set on the points with x = 0.
    pub fn noncanonical_encodings() -> &'static [[u8; 32]] {
        static ALL: OnceLock<Vec<[u8; 32]>> = OnceLock::new();
        ALL.get_or_init(|| {
            let mut out = Vec::new();
            for y in 0u8..19 {
                let mut small = [0u8; 32];
                small[0] = y;
                for sign in [0u8, 0x80] {
                    if let Some(mut enc) = add_le(&small, &P) {
                        enc[31] |= sign;
                        out.push(enc);
                    }
                    let mut enc = small;
                    enc[31] |= sign;
                    out.push(enc);
                }
            }
            let mut minus_one = P;
            minus_one[0] -= 1;
            out.push(minus_one);
            minus_one[31] |= 0x80;
            out.push(minus_one);
            out.retain(|e| decode(e).is_some() && !is_canonical(e));
            out.sort();
            out.dedup();
            out
        })
    }

    /// The non-canonical encodings of points that are not of small order (nobody knows
    /// their discrete logarithms, so no valid signature uses them).
    pub fn noncanonical_ordinary() -> &'static [[u8; 32]] {
        static LIST: OnceLock<Vec<[u8; 32]>> = OnceLock::new();
        LIST.get_or_init(|| {
            noncanonical_encodings()
                .iter()
                .filter(|e| decode(e).is_some_and(|p| small_order(&p).is_none()))
                .copied()
                .collect()
        })
    }

    /// A random encoding (y < p, either sign) that is not a point on the curve.
    pub fn off_curve<R: RngCore + ?Sized>(rng: &mut R) -> [u8; 32] {
        loop {
            let mut enc = [0u8; 32];
            rng.fill_bytes(&mut enc);
            let mut y = enc;
            y[31] &= 0x7f;
            let below_p = y.iter().rev().zip(P.iter().rev()).find(|(a, b)| a != b);
            if matches!(below_p, Some((a, b)) if a < b) && decode(&enc).is_none() {
                return enc;
            }
        }
    }

    /// Which equations a signature satisfies, computed directly (for descriptions and
    /// tests, never as an expected verdict): `(cofactorless, cofactored)`, i.e.
    /// `[S]B = R + [k]A` and `[8][S]B = [8]R + [8][k]A`, with k over the bytes as given.
    /// `None` when A or R does not decode or S >= L.
    pub fn equations(pubkey: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> Option<(bool, bool)> {
        let a = decode(pubkey)?;
        let mut r_enc = [0u8; 32];
        r_enc.copy_from_slice(&sig[..32]);
        let r = decode(&r_enc)?;
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&sig[32..]);
        let s: Scalar = Option::from(Scalar::from_canonical_bytes(s_bytes))?;
        let k = challenge(&r_enc, pubkey, msg);
        let diff = EdwardsPoint::mul_base(&s) - r - k * a;
        Some((diff.is_identity(), diff.mul_by_cofactor().is_identity()))
    }
}

// ---------------------------------------------------------------------------------------

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test fails by panicking.
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use curve25519_dalek::scalar::Scalar;

    use super::craft::*;
    use super::*;
    use crate::backend::BackendInfo;

    /// How a test backend deviates from the reference.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Fault {
        None,
        /// Accepts small-order keys under `strict` when `rfc8032` would.
        StrictSmallOrder,
        /// Flips the verdict of the n-th signature it ever sees.
        FlipOne(usize),
        /// Answers one verdict short.
        DropVerdict,
        /// Gets the root of this many leaves wrong.
        MerkleOf(usize),
        /// Fails every batch with more than 500 transactions.
        FailLarge,
    }

    /// The reference, answering asynchronously on its own thread, with an optional fault.
    struct TestBackend {
        fault: Fault,
        seen: Arc<AtomicUsize>,
    }

    impl TestBackend {
        fn new(fault: Fault) -> Self {
            TestBackend {
                fault,
                seen: Arc::new(AtomicUsize::new(0)),
            }
        }
    }

    impl Backend for TestBackend {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                name: "reference-test".into(),
                devices: vec!["this thread".into()],
                preferred_batch: 1,
            }
        }

        fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
            let (done, pending) = Pending::channel();
            let (fault, seen) = (self.fault, Arc::clone(&self.seen));
            std::thread::spawn(move || {
                if fault == Fault::FailLarge && batch.len() > 500 {
                    done.complete(Err(BackendError::DeviceFailed {
                        device: "test".into(),
                        reason: "injected".into(),
                    }));
                    return;
                }
                let mut sigs: Vec<bool> = (0..batch.signature_count())
                    .map(|s| {
                        let (pk, sig, msg) = batch.signer_item(s);
                        let mut v = reference_verify(profile, pk, sig, msg);
                        let n = seen.fetch_add(1, Ordering::SeqCst);
                        if fault == Fault::FlipOne(n) {
                            v = !v;
                        }
                        if fault == Fault::StrictSmallOrder
                            && profile == Profile::Strict
                            && decode(pk).is_some_and(|p| p.is_small_order())
                        {
                            v = reference_verify(Profile::Rfc8032, pk, sig, msg);
                        }
                        v
                    })
                    .collect();
                if fault == Fault::DropVerdict {
                    sigs.pop();
                    done.complete(Ok(Verdicts {
                        transaction_valid: vec![false; batch.len()],
                        signature_valid: sigs,
                    }));
                    return;
                }
                done.complete(
                    Verdicts::from_signatures(&batch, sigs)
                        .ok_or_else(|| BackendError::Internal("verdict count".into())),
                );
            });
            pending
        }

        fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
            let mut root = crate::merkle::root(&leaves);
            if self.fault == Fault::MerkleOf(leaves.len()) {
                root[0] ^= 1;
            }
            Pending::ready(Ok(root))
        }
    }

    fn small_opts() -> Options {
        Options {
            generated: 600,
            seed: 7,
            max_batch: 200,
        }
    }

    #[test]
    fn conformance_solana_set_is_varied() {
        let cases = solana_cases(&small_opts());
        assert!(cases.len() >= 9 * 20);
        let malformed = cases.iter().filter(|c| c.malformed.is_some()).count();
        assert!(malformed >= cases.len() / 10, "{malformed}");
        assert!(cases.iter().all(|c| c.wire.is_some()));
        let v0 = cases
            .iter()
            .filter(|c| c.malformed.is_none() && c.msg[0] & 0x80 != 0)
            .count();
        assert!(v0 > 0 && v0 < cases.len() - malformed, "{v0}");
        for profile in Profile::ALL {
            let verdicts: Vec<bool> = cases
                .iter()
                .flat_map(|c| c.expect(profile).iter().copied())
                .collect();
            assert!(
                verdicts.contains(&true) && verdicts.contains(&false),
                "{profile}"
            );
        }
        // The strict-only adversarial kinds are in: some signature valid under rfc8032
        // is invalid under strict.
        assert!(cases.iter().any(|c| c
            .expect(Profile::Strict)
            .iter()
            .zip(c.expect(Profile::Rfc8032))
            .any(|(s, r)| !s && *r)));
    }

    #[test]
    fn conformance_reference_backend_passes() {
        let opts = Options {
            generated: 3000,
            ..small_opts()
        };
        let report = run(&TestBackend::new(Fault::None), &opts);
        assert!(report.is_ok(), "{report}");
        // wycheproof + edge + generated signatures and transactions, 14 roots.
        assert!(report.checked > 3 * 3000 * 2, "{}", report.checked);
    }

    #[test]
    fn conformance_catches_strict_accepting_small_order_keys() {
        let report = run(&TestBackend::new(Fault::StrictSmallOrder), &small_opts());
        assert!(!report.is_ok());
        assert!(report
            .mismatches
            .iter()
            .all(|m| m.profile == Some(Profile::Strict)));
        for set in [SET_EDGE, SET_GENERATED] {
            assert!(
                report
                    .mismatches
                    .iter()
                    .any(|m| m.set == set && m.expected == "invalid" && m.got == "valid"),
                "no {set} mismatch: {report}"
            );
        }
    }

    #[test]
    fn conformance_catches_one_flipped_verdict() {
        for n in [0, 150, 2000] {
            let report = run(&TestBackend::new(Fault::FlipOne(n)), &small_opts());
            // The signature and (when it was the only wrong one) its transaction.
            let sig_level: Vec<_> = report
                .mismatches
                .iter()
                .filter(|m| m.signer.is_some())
                .collect();
            assert_eq!(sig_level.len(), 1, "flip at {n}: {report}");
        }
    }

    #[test]
    fn conformance_catches_shape_errors_and_backend_errors() {
        let report = run(&TestBackend::new(Fault::DropVerdict), &small_opts());
        assert!(!report.is_ok());
        assert!(report.mismatches.iter().all(|m| m.signer.is_none()));

        let opts = Options {
            max_batch: 1000,
            generated: 2000,
            ..small_opts()
        };
        let report = run(&TestBackend::new(Fault::FailLarge), &opts);
        assert!(report
            .mismatches
            .iter()
            .any(|m| m.got.starts_with("error: device test failed")));
    }

    #[test]
    fn conformance_catches_a_wrong_root() {
        let report = run(&TestBackend::new(Fault::MerkleOf(3)), &small_opts());
        assert_eq!(report.mismatch_count(), 1, "{report}");
        assert_eq!(report.mismatches[0].set, SET_MERKLE);
        assert_eq!(report.mismatches[0].case, "3 random leaves");
    }

    #[test]
    fn conformance_self_test() {
        assert_eq!(self_test(&TestBackend::new(Fault::None)), Ok(()));
        assert!(self_test(&TestBackend::new(Fault::StrictSmallOrder)).is_err());
        assert!(self_test(&TestBackend::new(Fault::MerkleOf(SELF_TEST_LEAVES))).is_err());
        assert!(self_test(&TestBackend::new(Fault::FlipOne(5))).is_err());
        let picked = self_test_selection(edge_cases().unwrap());
        assert!((30..=60).contains(&picked.len()), "{}", picked.len());
        for p in Profile::ALL {
            let verdicts: Vec<bool> = picked.iter().flat_map(|c| c.expect(p).to_vec()).collect();
            assert!(verdicts.contains(&true) && verdicts.contains(&false));
        }
    }

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
    fn conformance_generation_is_deterministic_and_windowed() {
        let whole = generate(11, 0..700);
        assert_eq!(whole.len(), 700);
        let mut parts = generate(11, 0..300);
        parts.extend(generate(11, 300..700));
        assert_eq!(whole, parts);
        assert_ne!(generate(12, 0..10), whole[..10].to_vec());
        // The generator makes every label, and both verdicts in every profile.
        let labels: Vec<&str> = whole.iter().map(|c| c.id.as_str()).collect();
        for l in [
            "honest",
            "small-order-A",
            "small-order-R",
            "torsion-shifted-A-and-R",
            "noncanonical-R",
            "off-curve-A",
            "malformed",
            "S+kL",
        ] {
            assert!(labels.iter().any(|id| id.contains(l)), "{l}");
        }
        for p in Profile::ALL {
            let v: Vec<bool> = whole.iter().flat_map(|c| c.expect(p).to_vec()).collect();
            let valid = v.iter().filter(|&&b| b).count();
            assert!(
                valid > v.len() / 3 && valid < v.len() * 9 / 10,
                "{p}: {valid}/{}",
                v.len()
            );
        }
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

    #[test]
    fn conformance_craft_constants_and_encodings() {
        assert_eq!(Scalar::from_bytes_mod_order(L), Scalar::ZERO);
        assert!(bool::from(Scalar::from_canonical_bytes(L).is_none()));
        let mut l_minus_1 = L;
        l_minus_1[0] -= 1;
        assert!(bool::from(
            Scalar::from_canonical_bytes(l_minus_1).is_some()
        ));
        // Orders of the eight torsion points.
        let orders: Vec<u32> = (0..8).map(|i| small_order(&torsion(i)).unwrap()).collect();
        assert_eq!(orders, vec![1, 8, 4, 8, 2, 8, 4, 8]);
        // Every alias decodes to its point; only the first is canonical.
        for aliases in small_order_aliases() {
            assert!(is_canonical(&aliases[0]));
            assert!(aliases[1..].iter().all(|a| !is_canonical(a)));
        }
        let extra: usize = small_order_aliases().iter().map(|a| a.len() - 1).sum();
        let small_noncanonical = noncanonical_encodings().len() - noncanonical_ordinary().len();
        assert_eq!(extra, small_noncanonical);
        assert!(!noncanonical_ordinary().is_empty());
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..20 {
            assert!(decode(&off_curve(&mut rng)).is_none());
        }
        // A crafted honest signature verifies everywhere.
        let (a, r) = (random_scalar(&mut rng), random_scalar(&mut rng));
        let pk = mixed(&a, 0);
        let sig = sign_with(&a, &pk, &r, &mixed(&r, 0), b"m");
        assert_eq!(equations(&pk, &sig, b"m"), Some((true, true)));
        for p in Profile::ALL {
            assert!(reference_verify(p, &pk, &sig, b"m"));
        }
        assert_eq!(add_le(&[0xff; 32], &[1; 32]), None);
        assert!(add_multiple_of_l(&[0; 32], 15).is_some());
        assert!(add_multiple_of_l(&[0; 32], 16).is_none());
    }
}
