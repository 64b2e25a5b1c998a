//! The harness proper: [`run`] drives a backend through every set (chunked batches,
//! several calls in flight, profiles interleaved), and [`compare`] judges each answer
//! against the expected verdicts into a [`Report`] of [`Mismatch`]es.
//!
//! This is the part that talks to a [`Backend`]; where the cases come from (the vector
//! files, the generator) lives in sibling modules, so the driving and judging logic can
//! be read on its own.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::case::{build_batch, profile_index, reference_all, Case};
use super::generate::{generate, solana_cases, GEN_BLOCK};
use super::vectors::{blake3_inputs, edge_cases, wycheproof_cases, EdgeCase};
use crate::backend::{Backend, BackendError, Pending};
use crate::batch::{Batch, Leaves, Verdicts};
use crate::profile::Profile;

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

/// Most verify (or Merkle) calls the harness keeps in flight before awaiting the oldest.
const IN_FLIGHT: usize = 6;
/// Mismatches kept in a [`Report`]; the rest are only counted.
const MAX_RECORDED: usize = 10_000;
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

    pub(super) fn push(&mut self, m: Mismatch) {
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
    h.submit(
        SET_SOLANA,
        Arc::new(solana_cases(opts.seed, opts.generated)),
    );
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

pub(super) fn root_mismatch(name: &str, want: &[u8; 32], got: String) -> Mismatch {
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
pub(super) fn compare(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::test_backend::{small_opts, Fault, TestBackend};

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
}
