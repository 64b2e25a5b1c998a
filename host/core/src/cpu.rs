//! The CPU backend: the always-present fallback, and (as `cpu-ref`) the oracle other
//! backends are compared against.
//!
//! Work is spread over a private rayon pool so that its threads are the ones the
//! operator gave it and never compete with an async runtime's. What each thread runs is
//! its [`CpuPath`], chosen once at start-up (see [`crate::cpu_path`]):
//!
//! * **lanes** (the default where the CPU has AVX-512 IFMA or AVX2): `vigil-simd`
//!   verifies 8 (or 4) signatures per instruction stream, under every profile, with
//!   exactly the reference crates' verdicts. For `zip215` too: measured on the
//!   development VM (`benches/results/cpu.md`, one thread), the IFMA lanes did about
//!   170,000 verifications a second where ed25519-zebra's batch equation did about
//!   80,000, and unlike the batch equation their cost does not grow when signatures fail
//!   (2 threads at 1 % invalid: 335,000 against 69,000).
//! * **reference** (every other CPU, `VIGIL_CPU_PATH=reference`, and the `cpu-ref`
//!   backend): the reference crates themselves ([`reference_verify`]):
//!
//! * `strict` and `rfc8032`: one independent verification per signature, in parallel
//!   over the flat signer list. Batch equations are never used: they test a cofactored
//!   equation and would accept what single verification rejects.
//! * `zip215`: the batch is cut into chunks; each chunk is checked with ed25519-zebra's
//!   batch verifier (a random linear combination, about twice as fast per signature).
//!   ZIP-215 makes batch and single verification agree, so a passing chunk is all valid.
//!   A failing chunk is bisected, and groups of at most [`SINGLE_BELOW`] are checked one
//!   by one, so exactly the bad signatures are found. Each item's SHA-512 is computed
//!   once and reused by every level of the bisection. When most chunks of a call fail
//!   (many bad signatures), the rest of the call is verified one signature at a time,
//!   which is then cheaper (see `ChunkStats`).
//!
//! Work is submitted with `ThreadPool::spawn` and answered through a [`Pending`], so the
//! caller never blocks on the CPU backend either; a panic inside a job is logged and
//! surfaces as [`BackendError::Dropped`] instead of taking the process down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rayon::prelude::*;

use crate::backend::{Backend, BackendError, BackendInfo, Pending};
use crate::batch::{Batch, Leaves, Verdicts};
use crate::cpu_path::{self, CpuPath, PathChoice};
use crate::merkle;
use crate::profile::{self, Profile};

/// Groups this small (or smaller) are verified one signature at a time: bisecting
/// further costs more than it saves.
pub const SINGLE_BELOW: usize = 4;

/// Largest chunk of signatures one task takes (and one zip215 batch equation covers).
const MAX_CHUNK: usize = 256;

/// The CPU backend. Cheap to share: clones of the pool handle are reference-counted.
#[derive(Debug, Clone)]
pub struct CpuBackend {
    pool: Arc<rayon::ThreadPool>,
    path: CpuPath,
    name: &'static str,
}

impl CpuBackend {
    /// A CPU backend with `threads` worker threads (`None`: one per available core) on
    /// the path `VIGIL_CPU_PATH` names, by default the fastest this CPU runs.
    pub fn new(threads: Option<usize>) -> Result<CpuBackend, BackendError> {
        let choice = PathChoice::from_env().map_err(|e| unavailable("cpu", e))?;
        CpuBackend::with_path(threads, choice)
    }

    /// A CPU backend on the given path; an error if this CPU lacks it.
    pub fn with_path(
        threads: Option<usize>,
        choice: PathChoice,
    ) -> Result<CpuBackend, BackendError> {
        let path = choice.resolve().map_err(|e| unavailable("cpu", e))?;
        CpuBackend::build(threads, path, "cpu")
    }

    /// The `cpu-ref` backend: the reference crates, whatever the CPU offers, for
    /// operators who compare.
    pub fn reference(threads: Option<usize>) -> Result<CpuBackend, BackendError> {
        CpuBackend::build(threads, CpuPath::Reference, "cpu-ref")
    }

    /// The path it verifies with.
    pub fn path(&self) -> CpuPath {
        self.path
    }

    fn build(
        threads: Option<usize>,
        path: CpuPath,
        name: &'static str,
    ) -> Result<CpuBackend, BackendError> {
        let threads = match threads {
            Some(0) => return Err(unavailable(name, "thread count must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("vigil-cpu-{i}"))
            .panic_handler(|_| tracing::error!("a CPU verification job panicked"))
            .build()
            .map_err(|e| unavailable(name, format!("cannot start worker threads: {e}")))?;
        tracing::debug!(backend = name, path = %path, threads, "CPU backend ready");
        Ok(CpuBackend {
            pool: Arc::new(pool),
            path,
            name,
        })
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Verifies every signature of `batch` on the calling thread's pool (use inside
    /// `install`) and returns the per-signature verdicts.
    fn signature_verdicts(
        batch: &Batch,
        profile: Profile,
        threads: usize,
        path: CpuPath,
    ) -> Vec<bool> {
        let mut out = vec![false; batch.signature_count()];
        let chunk = chunk_len(out.len(), threads, path.lanes());
        let chunks = out.par_chunks_mut(chunk).enumerate();
        if let CpuPath::Lanes(verifier) = path {
            let rule = cpu_path::rule(profile);
            chunks.for_each(|(c, slice)| {
                let items: Vec<vigil_simd::Item<'_>> = (c * chunk..c * chunk + slice.len())
                    .map(|s| {
                        let (pubkey, signature, message) = batch.signer_item(s);
                        vigil_simd::Item {
                            pubkey,
                            signature,
                            message,
                        }
                    })
                    .collect();
                verifier.verify(rule, &items, slice);
            });
        } else if profile.allows_batch_equation() {
            let stats = ChunkStats::default();
            chunks.for_each(|(c, slice)| zip215_chunk_verdicts(batch, c * chunk, slice, &stats));
        } else {
            // One monomorphic loop per profile, so the reference call can be inlined.
            match profile {
                Profile::Strict => chunks.for_each(|(c, slice)| {
                    single_chunk(batch, c * chunk, slice, profile::verify_strict)
                }),
                Profile::Rfc8032 => chunks.for_each(|(c, slice)| {
                    single_chunk(batch, c * chunk, slice, profile::verify_rfc8032)
                }),
                Profile::Zip215 => chunks.for_each(|(c, slice)| {
                    single_chunk(batch, c * chunk, slice, profile::verify_zip215)
                }),
            }
        }
        out
    }
}

/// Verdicts of signers `first..first + out.len()`, one `verify` call each.
fn single_chunk(
    batch: &Batch,
    first: usize,
    out: &mut [bool],
    verify: impl Fn(&[u8; 32], &[u8; 64], &[u8]) -> bool,
) {
    for (i, v) in out.iter_mut().enumerate() {
        let (pk, sig, msg) = batch.signer_item(first + i);
        *v = verify(pk, sig, msg);
    }
}

/// Signatures per task. For zip215 a chunk is one batch equation: big enough for it to
/// pay off. For every profile, chunks are coarse (fine-grained rayon splitting measured
/// about 10 % slower on 2 cores than contiguous runs of 256) yet small enough that every
/// thread gets several (load balance; a failed zip215 equation is bisected locally).
/// On a lane path a chunk is a whole number of lane groups, so only a batch's last
/// group can run with idle lanes.
fn chunk_len(signatures: usize, threads: usize, lanes: usize) -> usize {
    let per_thread = signatures.div_ceil(threads.max(1) * 4);
    let lanes = lanes.max(1);
    per_thread
        .clamp(SINGLE_BELOW, MAX_CHUNK)
        .div_ceil(lanes)
        .saturating_mul(lanes)
}

fn unavailable(backend: &str, reason: impl ToString) -> BackendError {
    BackendError::Unavailable {
        backend: backend.into(),
        reason: reason.to_string(),
    }
}

/// How the zip215 chunks of one `verify` call fared, shared by its tasks.
///
/// A failed batch equation costs its whole chunk again in bisection, so when most
/// chunks fail (a batch with many bad signatures, as an attacker would send) batching
/// loses to plain single verification. Once at least [`ADAPT_AFTER`] chunks have been
/// tried and more than half failed, the remaining chunks are verified one signature at
/// a time. Verdicts are the same either way; only the cost differs.
#[derive(Debug, Default)]
struct ChunkStats {
    tried: AtomicUsize,
    failed: AtomicUsize,
}

/// Chunks tried before [`ChunkStats`] may switch a call to single verification.
const ADAPT_AFTER: usize = 4;

impl ChunkStats {
    fn mostly_failing(&self) -> bool {
        let tried = self.tried.load(Ordering::Relaxed);
        tried >= ADAPT_AFTER && 2 * self.failed.load(Ordering::Relaxed) > tried
    }

    fn record(&self, passed: bool) {
        self.tried.fetch_add(1, Ordering::Relaxed);
        if !passed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Fills `out` with the verdicts of signers `first..first + out.len()` under zip215.
fn zip215_chunk_verdicts(batch: &Batch, first: usize, out: &mut [bool], stats: &ChunkStats) {
    let items: Vec<ed25519_zebra::batch::Item> = (first..first + out.len())
        .map(|s| {
            let (pk, sig, msg) = batch.signer_item(s);
            ed25519_zebra::batch::Item::from((
                ed25519_zebra::VerificationKeyBytes::from(*pk),
                ed25519_zebra::Signature::from_bytes(sig),
                msg,
            ))
        })
        .collect();
    if stats.mostly_failing() {
        single(&items, out);
        return;
    }
    let passed = batch_equation(&items);
    stats.record(passed);
    if passed {
        out.fill(true);
    } else {
        bisect(&items, out, true);
    }
}

/// Whether one random linear combination of `items` holds. Valid signatures always
/// satisfy it, so a failure proves at least one of them invalid.
fn batch_equation(items: &[ed25519_zebra::batch::Item]) -> bool {
    let mut verifier = ed25519_zebra::batch::Verifier::new();
    for item in items {
        verifier.queue(item.clone());
    }
    verifier.verify(rand::thread_rng()).is_ok()
}

fn single(items: &[ed25519_zebra::batch::Item], out: &mut [bool]) {
    for (item, v) in items.iter().zip(out.iter_mut()) {
        *v = item.clone().verify_single().is_ok();
    }
}

/// Verdicts for `items` into `out` by halving. `known_bad` says a batch equation over
/// exactly these items already failed, so checking them whole again is skipped; and
/// when the left half turns out all valid, the right half must hold the bad signature,
/// so it is split without checking it whole either.
fn bisect(items: &[ed25519_zebra::batch::Item], out: &mut [bool], known_bad: bool) {
    if items.len() <= SINGLE_BELOW {
        single(items, out);
        return;
    }
    if !known_bad && batch_equation(items) {
        out.fill(true);
        return;
    }
    let mid = items.len() / 2;
    let (left_out, right_out) = out.split_at_mut(mid);
    bisect(&items[..mid], left_out, false);
    let right_known_bad = left_out.iter().all(|&v| v);
    bisect(&items[mid..], right_out, right_known_bad);
}

impl Backend for CpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: self.name.into(),
            devices: vec![format!("{} threads, {}", self.threads(), self.path)],
            preferred_batch: 256 * self.threads(),
        }
    }

    fn verify(&self, batch: Arc<Batch>, profile: Profile) -> Pending<Verdicts> {
        let (done, pending) = Pending::channel();
        let threads = self.threads();
        let path = self.path;
        self.pool.spawn(move || {
            let sigs = Self::signature_verdicts(&batch, profile, threads, path);
            let verdicts = Verdicts::from_signatures(&batch, sigs).ok_or_else(|| {
                BackendError::Internal("verdict count does not match the batch".into())
            });
            done.complete(verdicts);
        });
        pending
    }

    fn merkle_root(&self, leaves: Arc<Leaves>) -> Pending<[u8; 32]> {
        let (done, pending) = Pending::channel();
        self.pool
            .spawn(move || done.complete(Ok(merkle::root_parallel(&leaves))));
        pending
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::batch::{BatchBuilder, Signer};
    use ed25519_dalek::{Signer as _, SigningKey};

    fn signed(seed: u8, msg: &[u8]) -> Signer {
        let key = SigningKey::from_bytes(&[seed; 32]);
        Signer {
            pubkey: key.verifying_key().to_bytes(),
            signature: key.sign(msg).to_bytes(),
        }
    }

    /// The reference path and every lane path this CPU runs (saying which it lacks).
    fn every_path(threads: usize) -> impl Iterator<Item = CpuBackend> {
        let mut paths = vec![CpuBackend::reference(Some(threads)).unwrap()];
        for isa in vigil_simd::Isa::ALL {
            match CpuBackend::with_path(Some(threads), PathChoice::Lanes(isa)) {
                Ok(cpu) => paths.push(cpu),
                Err(e) => eprintln!("NOT TESTED: {e}"),
            }
        }
        paths.into_iter()
    }

    #[test]
    fn cpu_ref_is_the_reference_path_under_its_own_name() {
        let cpu = CpuBackend::reference(Some(1)).unwrap();
        assert_eq!(cpu.info().name, "cpu-ref");
        assert_eq!(cpu.path().name(), "reference");
        let auto = CpuBackend::with_path(Some(1), PathChoice::Auto).unwrap();
        assert_eq!(auto.info().name, "cpu");
        assert!(auto.info().devices[0].contains(auto.path().name()));
    }

    #[test]
    fn pins_down_each_bad_signature_in_every_profile() {
        let mut b = BatchBuilder::default();
        let mut expect = Vec::new();
        for i in 0..300u32 {
            let msg = i.to_le_bytes();
            let mut s = signed((i % 251) as u8, &msg);
            let bad = i % 37 == 5 || i == 299;
            if bad {
                s.signature[40] ^= 1;
            }
            expect.push(!bad);
            b.push_generic(&msg, &[s]).unwrap();
        }
        b.push_malformed("broken", &[]).unwrap();
        let batch = Arc::new(b.finish());
        for (threads, cpu) in [1, 3]
            .into_iter()
            .flat_map(|t| every_path(t).map(move |c| (t, c)))
        {
            for p in Profile::ALL {
                let v = cpu.verify(batch.clone(), p).wait().unwrap();
                let path = cpu.path().name();
                assert_eq!(
                    v.signature_valid, expect,
                    "{p} on {path}, {threads} threads"
                );
                assert_eq!(v.transaction_valid.len(), 301);
                assert!(!v.transaction_valid[300]);
            }
        }
    }

    #[test]
    fn mostly_bad_batches_switch_to_single_verification_with_exact_verdicts() {
        let mut b = BatchBuilder::default();
        let mut expect = Vec::new();
        for i in 0..3000u32 {
            let msg = i.to_le_bytes();
            let mut s = signed((i % 199) as u8, &msg);
            let bad = i % 3 != 0;
            if bad {
                s.signature[3] ^= 0x10;
            }
            expect.push(!bad);
            b.push_generic(&msg, &[s]).unwrap();
        }
        let batch = Arc::new(b.finish());
        for cpu in every_path(2) {
            let v = cpu.verify(batch.clone(), Profile::Zip215).wait().unwrap();
            assert_eq!(v.signature_valid, expect, "{}", cpu.path().name());
        }
        let stats = ChunkStats::default();
        for passed in [false, true, false, false] {
            assert!(!stats.mostly_failing());
            stats.record(passed);
        }
        assert!(stats.mostly_failing());
    }

    #[test]
    fn empty_batch_and_zero_threads() {
        let cpu = CpuBackend::new(Some(1)).unwrap();
        let v = cpu
            .verify(Arc::new(BatchBuilder::default().finish()), Profile::Zip215)
            .wait()
            .unwrap();
        assert!(v.signature_valid.is_empty());
        assert!(CpuBackend::new(Some(0)).is_err());
    }

    #[test]
    fn chunking_covers_small_and_large_batches() {
        assert_eq!(chunk_len(0, 2, 1), SINGLE_BELOW);
        assert_eq!(chunk_len(100, 2, 1), 13);
        assert_eq!(chunk_len(1_000_000, 2, 1), MAX_CHUNK);
        assert_eq!(chunk_len(0, 2, 8), 8);
        assert_eq!(chunk_len(100, 2, 8), 16);
        assert_eq!(chunk_len(1_000_000, 2, 8), MAX_CHUNK);
        assert_eq!(chunk_len(1_000_000, 2, 4), MAX_CHUNK);
    }
}
