//! Scale-out: three real appliances on loopback behind one vigil-client, under sustained
//! load; one of them dies (SIGKILL, a crash) or drains (SIGTERM) mid-load, and no
//! request may be lost.
//!
//! What each run proves:
//!
//! * every call made got a response, and every verdict (and Merkle root) is the
//!   oracle's: nothing lost, nothing errored, nothing answered wrongly;
//! * the load was really spread: every appliance, the victim included, had answered
//!   requests before it went away, and it held calls in flight just before the signal;
//! * the survivors answered at least every call begun after the victim was gone;
//! * the client retried (calls cut off on the victim, tries of it once dead) and the
//!   local fallback, which is off, never served anything.
//!
//! Timing only sets lower bounds (load runs until counts are reached, then a little
//! longer); every wait has a generous upper limit that fails the test, not a race.

// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{expected, metric_sum, parse_prometheus, request, Appliance};
use nix::sys::signal::Signal;
use vigil_client::proto::{MerkleRequest, VerifyRequest, VerifyResponse};
use vigil_client::{Client, ClientConfig};
use vigil_core::Profile;

/// Concurrent callers: each keeps one call in flight at all times.
const CALLERS: usize = 8;
/// Requests every appliance must have answered before one is taken away.
const SERVED_BEFORE: f64 = 10.0;
/// Calls that must begin after the victim is gone, at the least.
const CALLS_AFTER: u64 = 120;
/// How long the load goes on after the victim is gone, at the least: several times the
/// down backoff below, so the dead appliance comes out of its backoff and is tried again
/// (and refused) more than once.
const LOAD_AFTER: Duration = Duration::from_secs(2);
/// The client's down backoff in this test (shorter than the default, to re-probe the
/// dead appliance several times while the load goes on).
const DOWN_BACKOFF: Duration = Duration::from_millis(400);
/// Upper limit of every wait: reaching it is a failure, never expected.
const PATIENCE: Duration = Duration::from_secs(60);

/// Load phases, as seen by the callers.
const BEFORE: u8 = 0;
const GONE: u8 = 1;
const STOP: u8 = 2;

/// One call of the load and the answer it must get.
enum Work {
    Verify {
        req: VerifyRequest,
        want: VerifyResponse,
    },
    Merkle {
        req: MerkleRequest,
        root: [u8; 32],
    },
}

/// Requests of every profile and both transaction forms, about 30 % of their
/// transactions invalid (bad signatures, malformed keys), with the oracle's answers;
/// and a few Merkle roots.
fn work() -> Vec<Work> {
    let mut pool = Vec::new();
    for i in 0..18u64 {
        let profile = Profile::ALL[usize::try_from(i).unwrap() % Profile::ALL.len()];
        let count = 20 + usize::try_from(i * 7 % 40).unwrap();
        let signers = 1 + usize::try_from(i % 2).unwrap();
        let mut req = request(i, profile, count, signers, i % 2 == 1, 1000 + i);
        req.want_merkle_root = i % 3 == 0;
        let want = expected(&req);
        assert!(
            want.valid.iter().any(|v| *v) && want.valid.iter().any(|v| !*v),
            "request {i} should mix valid and invalid transactions"
        );
        pool.push(Work::Verify { req, want });
    }
    for n in [1usize, 33, 200] {
        let leaves: Vec<bytes::Bytes> = (0..n)
            .map(|i| bytes::Bytes::from(format!("leaf {i} of {n}").into_bytes()))
            .collect();
        let mut core = vigil_core::Leaves::default();
        for leaf in &leaves {
            core.push(leaf).unwrap();
        }
        let root = vigil_core::merkle::root(&core);
        let req = MerkleRequest {
            leaves,
            proof_indices: Vec::new(),
        };
        pool.push(Work::Merkle { req, root });
    }
    pool
}

/// What one caller saw.
#[derive(Debug, Default)]
struct Tally {
    /// Calls made.
    made: u64,
    /// Calls answered with the right answer.
    right: u64,
    /// Of those, calls begun after the victim was gone.
    right_after: u64,
    /// Every call that failed or was answered wrongly, described.
    failures: Vec<String>,
}

/// Makes calls one after another until told to stop, checking every answer.
async fn caller(
    client: Client,
    work: Arc<Vec<Work>>,
    me: usize,
    phase: Arc<AtomicU8>,
    begun_after: Arc<AtomicU64>,
) -> Tally {
    let mut tally = Tally::default();
    let mut n = me;
    loop {
        let at_start = phase.load(Ordering::Acquire);
        if at_start == STOP {
            return tally;
        }
        if at_start == GONE {
            begun_after.fetch_add(1, Ordering::Relaxed);
        }
        // Callers walk the pool at different offsets and strides.
        n = (n + 1 + me) % work.len();
        tally.made += 1;
        let id = u64::try_from(me * 1_000_000).unwrap() + tally.made;
        let outcome = match &work[n] {
            Work::Verify { req, want } => {
                let mut req = req.clone();
                req.id = id;
                match client.verify(req).await {
                    Err(e) => Err(format!("verify {id} (pool {n}) failed: {e}")),
                    Ok(got) => {
                        let right = got.id == id
                            && got.valid == want.valid
                            && got.signature_valid == want.signature_valid
                            && got.errors == want.errors
                            && got.merkle_root == want.merkle_root
                            && got.status.is_none();
                        if right {
                            Ok(())
                        } else {
                            Err(format!("verify {id} (pool {n}): wrong answer {got:?}"))
                        }
                    }
                }
            }
            Work::Merkle { req, root } => match client.merkle_root(req.clone()).await {
                Err(e) => Err(format!("merkle {id} (pool {n}) failed: {e}")),
                Ok(got) if got.root.as_ref() == root.as_slice() => Ok(()),
                Ok(got) => Err(format!("merkle {id} (pool {n}): wrong root {got:?}")),
            },
        };
        match outcome {
            Ok(()) => {
                tally.right += 1;
                if at_start == GONE {
                    tally.right_after += 1;
                }
            }
            Err(why) => tally.failures.push(why),
        }
    }
}

/// An appliance's counters now: requests answered OK (every method), calls in flight.
async fn scrape(metrics: SocketAddr) -> (f64, f64) {
    tokio::task::spawn_blocking(move || {
        let (code, body) = common::http_get(metrics, "/metrics");
        assert_eq!(code, 200);
        let samples = parse_prometheus(&body).unwrap();
        (
            metric_sum(&samples, "vigil_requests_total", &[("code", "OK")]),
            metric_sum(&samples, "vigil_calls_in_flight", &[]),
        )
    })
    .await
    .unwrap()
}

/// Three appliances, one client, load; `signal` takes the middle appliance away once
/// every appliance has served and it holds calls; the load goes on; then the checks.
async fn lose_one_appliance_under_load(signal: Signal) {
    let started = Instant::now();
    // Spawn all three before waiting on any: their self-tests overlap.
    let mut apps: Vec<Appliance> = (0..3).map(|_| Appliance::spawn(&[])).collect();
    for app in &apps {
        app.wait_serving().await;
    }
    let metrics: Vec<SocketAddr> = apps.iter().map(|a| a.metrics.unwrap()).collect();
    let mut config = ClientConfig::new(apps.iter().map(Appliance::url));
    // Generous: a slow test machine must not turn into lost requests.
    config.deadline = Duration::from_secs(30);
    // Attempts: the default (3), as a node would run it.
    config.down_backoff = DOWN_BACKOFF;
    // Off: a request no appliance served must show up as lost, not be verified here.
    config.local_fallback = false;
    let client = Client::connect(config).await.unwrap();

    let work = Arc::new(work());
    let phase = Arc::new(AtomicU8::new(BEFORE));
    let begun_after = Arc::new(AtomicU64::new(0));
    let callers: Vec<_> = (0..CALLERS)
        .map(|me| {
            tokio::spawn(caller(
                client.clone(),
                work.clone(),
                me,
                phase.clone(),
                begun_after.clone(),
            ))
        })
        .collect();

    // Every appliance serves its share first.
    loop {
        let mut served = Vec::new();
        for m in &metrics {
            served.push(scrape(*m).await.0);
        }
        if served.iter().all(|s| *s >= SERVED_BEFORE) {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the load never reached every appliance: each has answered {served:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Take the victim away while it holds calls (under this load it nearly always
    // does; the loop only waits out a gap between calls).
    let victim = 1;
    let survivors = [0, 2];
    let mut survivors_before = 0.0;
    for s in survivors {
        survivors_before += scrape(metrics[s]).await.0;
    }
    let victim_served = loop {
        let (served, in_flight) = scrape(metrics[victim]).await;
        if in_flight > 0.0 {
            break served;
        }
        assert!(started.elapsed() < PATIENCE, "the victim never held a call");
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    apps[victim].signal(signal);
    // The wait blocks this worker only: the callers run on the other.
    let status = tokio::task::block_in_place(|| apps[victim].wait_exit(PATIENCE));
    // From here on, only the survivors can answer anything.
    phase.store(GONE, Ordering::Release);
    let gone = Instant::now();

    // The load goes on for a while: long enough for several down backoffs to end.
    while gone.elapsed() < LOAD_AFTER || begun_after.load(Ordering::Relaxed) < CALLS_AFTER {
        assert!(
            gone.elapsed() < PATIENCE,
            "the survivors stalled: {} calls begun since the victim went",
            begun_after.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    phase.store(STOP, Ordering::Release);
    let mut total = Tally::default();
    for c in callers {
        let t = c.await.unwrap();
        total.made += t.made;
        total.right += t.right;
        total.right_after += t.right_after;
        total.failures.extend(t.failures);
    }
    let mut survivors_after = 0.0;
    for s in survivors {
        survivors_after += scrape(metrics[s]).await.0;
    }
    let stats = client.stats();
    eprintln!(
        "{signal}: {} calls, {} begun after the victim went, victim had answered {victim_served}, \
         survivors answered {} since; client {stats:?}; {:.1} s",
        total.made,
        total.right_after,
        survivors_after - survivors_before,
        started.elapsed().as_secs_f64()
    );

    // Nothing lost, nothing errored, nothing wrong.
    assert!(
        total.failures.is_empty(),
        "{} of {} calls failed or were answered wrongly; the first: {:#?}",
        total.failures.len(),
        total.made,
        &total.failures[..total.failures.len().min(5)]
    );
    assert_eq!(total.right, total.made);
    // The victim really went as asked, and had really taken its share before.
    match signal {
        Signal::SIGKILL => {
            use std::os::unix::process::ExitStatusExt as _;
            assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
        }
        _ => assert!(
            status.success(),
            "a drained appliance exits cleanly: {status}"
        ),
    }
    assert!(victim_served >= SERVED_BEFORE, "{victim_served}");
    // Everything begun after the victim was gone was answered by the survivors.
    assert!(total.right_after >= CALLS_AFTER);
    assert!(
        survivors_after - survivors_before >= total.right_after as f64,
        "survivors answered {} calls, fewer than the {} begun after the victim went",
        survivors_after - survivors_before,
        total.right_after
    );
    // Calls were cut off or refused, and retried, not verified here.
    assert!(stats.retries >= 1, "{stats:?}");
    assert_eq!(stats.fallbacks, 0, "{stats:?}");
    assert_eq!(stats.calls, total.made, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appliance_killed_mid_load_loses_no_request() {
    lose_one_appliance_under_load(Signal::SIGKILL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appliance_drained_mid_load_loses_no_request() {
    lose_one_appliance_under_load(Signal::SIGTERM).await;
}
