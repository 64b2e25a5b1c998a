//! Giving memory back to the system once a burst of work is over.
//!
//! A flood fills the queue with hundreds of megabytes of request buffers spread over
//! glibc's per-thread arenas. When they are freed, glibc keeps most of those pages
//! (measured: 460 to 530 MB resident with the queue empty after a flood), so an
//! appliance that survived one flood looked, to its operator, like one that leaks. When
//! the appliance has gone quiet after work (no call in progress, nothing admitted),
//! this asks glibc to return its free pages (`malloc_trim`), which costs a few
//! milliseconds once, never while work is in progress. Other C libraries (musl) and
//! other systems return freed memory on their own terms; there it does nothing.
//! `VIGIL_MALLOC_TRIM=off` turns it off (for measuring what it saves: see
//! `benches/daemon.sh`).

use std::sync::Arc;
use std::time::Duration;

use super::admission::Admission;
use super::calls::Calls;

/// How often the appliance checks whether it has gone quiet.
const CHECK_EVERY: Duration = Duration::from_millis(500);

/// Trims after every quiet spell that follows work, until the process ends.
pub async fn when_quiet(calls: Arc<Calls>, admission: Arc<Admission>) {
    if std::env::var("VIGIL_MALLOC_TRIM").is_ok_and(|v| v == "off") {
        tracing::info!("VIGIL_MALLOC_TRIM=off: free memory is left to the allocator");
        return;
    }
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut busy = false;
    loop {
        tick.tick().await;
        let quiet = calls.count() == 0 && admission.used() == (0, 0);
        if !quiet {
            busy = true;
        } else if busy {
            busy = false;
            let started = std::time::Instant::now();
            let _ = tokio::task::spawn_blocking(release_free_memory).await;
            tracing::debug!(
                ms = started.elapsed().as_secs_f64() * 1e3,
                "returned free memory to the system"
            );
        }
    }
}

/// Returns free heap pages to the system where the C library allows it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_free_memory() {
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks; it takes a
    // plain integer (the padding to keep) and has no other preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}
