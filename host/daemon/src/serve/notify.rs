//! systemd's service notifications: readiness, reloads, stopping, and the watchdog.
//!
//! Under a `Type=notify` unit, systemd counts the service as started only when it says
//! `READY=1`, so ordering (`After=vigil.service`) and `systemctl start` mean "serving",
//! not "process exists". Vigil says it when gRPC health turns SERVING, which comes
//! after the backends opened and passed their self-tests; until then it reports what it
//! is doing as `STATUS=`. A reload (SIGHUP, `systemctl reload`) is bracketed by
//! `RELOADING=1` and `READY=1`; a shutdown begins with `STOPPING=1`.
//!
//! The watchdog (`WatchdogSec=` in the unit, passed as `$WATCHDOG_USEC`) is pinged from
//! the async runtime at half its period, so a runtime that stops scheduling tasks (a
//! deadlock, a worker thread stuck in a blocking call) misses its pings and systemd
//! restarts the process. Without `$NOTIFY_SOCKET` every call here does nothing, so the
//! same binary runs under any supervisor.

use std::time::Duration;

use sd_notify::NotifyState;

/// Sends `states` to the service manager, if there is one. A failure to send is
/// logged, never fatal: the service works without its supervisor's bookkeeping.
fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}

/// Health is SERVING: the start-up (or a reload) is finished.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A free-form status line (`systemctl status` shows it).
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// A reload has begun; [`ready`] ends it.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the monotonic clock for the reload notice");
            send(&[NotifyState::Reloading]);
        }
    }
}

/// The shutdown has begun.
pub fn stopping() {
    send(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: finishing accepted work"),
    ]);
}

/// The watchdog period systemd asked for, if any.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|p| !p.is_zero())
}

/// Pings the watchdog at half of `period`, for as long as the runtime runs it.
pub async fn watchdog(period: Duration) {
    let mut tick = tokio::time::interval(period / 2);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        send(&[NotifyState::Watchdog]);
    }
}
