//! Running one coalesced batch to its answers.
//!
//! A batch, once filled, must end with every job in it answered: its verdicts split
//! back per job by transaction range (with the Merkle root of a job's own transactions
//! where it asked for one), or an error. So a backend that fails it, or returns the
//! wrong number of verdicts, is settled ([`route`](super::route)) and the same batch is
//! re-run on the next healthy backend that verifies; only when none is left do its jobs
//! fail, with UNAVAILABLE. The stage timings, batch sizes, fallbacks and verdict counts
//! are recorded here, where they happen.

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::OwnedSemaphorePermit;
use vigil_core::merkle;
use vigil_core::{Batch, Leaves, Profile, Verdicts};

use super::super::error::ServeError;
use super::super::metrics::Metrics;
use super::coalesce::{answer, Filling, Placed};
use super::job::Verified;
use super::route::Slot;
use super::Scheduler;

fn fail_all(placed: Vec<Placed>, error: &ServeError) {
    for p in placed {
        answer(p.reply, p.ticket, Err(error.clone()));
    }
}

/// Runs one coalesced batch to completion (re-running it elsewhere if its backend
/// fails) and answers each of its jobs.
pub(super) async fn run_batch(
    sched: Arc<Scheduler>,
    profile: Profile,
    first: Arc<Slot>,
    first_permit: Option<OwnedSemaphorePermit>,
    filling: Filling,
) {
    let Filling {
        builder, placed, ..
    } = filling;
    let batch = Arc::new(builder.finish());
    let metrics = &sched.metrics;
    let dispatched = Instant::now();
    let queue_stage = metrics.stage_seconds.with_label_values(&["queue"]);
    for p in &placed {
        queue_stage.observe((dispatched - p.admitted).as_secs_f64());
    }

    let mut slot = first;
    let mut permit = first_permit;
    let mut tried: Vec<String> = Vec::new();
    let (slot, verdicts) = loop {
        metrics
            .batch_signatures
            .with_label_values(&[&slot.name])
            .observe(batch.signature_count() as f64);
        metrics
            .batch_requests
            .with_label_values(&[&slot.name])
            .observe(placed.len() as f64);
        let in_flight = metrics.backend_in_flight.with_label_values(&[&slot.name]);
        slot.in_flight.fetch_add(1, Ordering::Relaxed);
        in_flight.inc();
        let started = Instant::now();
        let result = slot.backend.verify(batch.clone(), profile).await;
        slot.in_flight.fetch_sub(1, Ordering::Relaxed);
        in_flight.dec();
        drop(permit.take());
        metrics
            .stage_seconds
            .with_label_values(&["verify"])
            .observe(started.elapsed().as_secs_f64());
        let failure = match result {
            Ok(v)
                if v.signature_valid.len() == batch.signature_count()
                    && v.transaction_valid.len() == batch.len() =>
            {
                break (slot, v);
            }
            Ok(v) => {
                let failure = format!(
                    "returned {} signature and {} transaction verdicts for {} and {}",
                    v.signature_valid.len(),
                    v.transaction_valid.len(),
                    batch.signature_count(),
                    batch.len()
                );
                slot.fail(&failure, metrics);
                failure
            }
            Err(e) => {
                slot.refused_or_failed(&e, metrics);
                e.to_string()
            }
        };
        tried.push(slot.name.clone());
        let Some(next) = sched.route(batch.signature_count(), &tried, true) else {
            tracing::error!(
                batch = batch.len(),
                "no backend left to re-run a failed batch"
            );
            let error = ServeError::Unavailable(format!(
                "backend {} failed ({failure}) and no other backend is healthy",
                slot.name
            ));
            fail_all(placed, &error);
            return;
        };
        metrics
            .fallbacks
            .with_label_values(&[&slot.name, &next.name])
            .inc();
        tracing::warn!(from = %slot.name, to = %next.name, "re-running a failed batch");
        permit = next.permits.clone().acquire_owned().await.ok();
        slot = next;
    };

    count_verdicts(metrics, &slot.name, profile, &batch, &verdicts);
    let total_stage = metrics.stage_seconds.with_label_values(&["total"]);
    for p in placed {
        let root = if p.want_root {
            Some(job_root(&slot, &batch, p.txs.clone()).await)
        } else {
            None
        };
        let reply = root
            .transpose()
            .map(|root| Verified::share(p.id, &batch, &verdicts, p.txs, &slot.name, root));
        total_stage.observe(p.admitted.elapsed().as_secs_f64());
        answer(p.reply, p.ticket, reply);
    }
}

/// The Merkle root over one job's transactions (its share of the batch's leaves).
async fn job_root(slot: &Slot, batch: &Batch, txs: Range<usize>) -> Result<[u8; 32], ServeError> {
    let all = batch.leaves();
    let bytes = txs.clone().map(|t| all.get(t).len()).sum();
    let mut leaves = Leaves::with_capacity(txs.len(), bytes);
    for t in txs {
        leaves
            .push(all.get(t))
            .map_err(|e| ServeError::Internal(format!("leaf copy: {e}")))?;
    }
    let leaves = Arc::new(leaves);
    match slot.backend.merkle_root(leaves.clone()).await {
        Ok(root) => Ok(root),
        // The verdicts are in hand; do not lose them over a root: the host computes it.
        Err(e) => {
            tracing::warn!(backend = %slot.name, error = %e, "Merkle root failed; computed on the host");
            Ok(merkle::root(&leaves))
        }
    }
}

fn count_verdicts(metrics: &Metrics, backend: &str, profile: Profile, batch: &Batch, v: &Verdicts) {
    let p = profile.name();
    let valid_sigs = v.signature_valid.iter().filter(|&&x| x).count();
    let malformed = (0..batch.len())
        .filter(|&t| batch.error(t).is_some())
        .count();
    let valid_txs = v.transaction_valid.iter().filter(|&&x| x).count();
    let sig = |r| metrics.signatures.with_label_values(&[backend, p, r]);
    sig("valid").inc_by(valid_sigs as u64);
    sig("invalid").inc_by((v.signature_valid.len() - valid_sigs) as u64);
    let tx = |r| metrics.transactions.with_label_values(&[backend, p, r]);
    tx("valid").inc_by(valid_txs as u64);
    tx("malformed").inc_by(malformed as u64);
    tx("invalid").inc_by((batch.len() - valid_txs - malformed) as u64);
}
