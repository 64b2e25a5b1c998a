//! Admission control: a bounded queue, shared fairly between clients.
//!
//! Everything admitted and not yet answered is charged here, in signatures (the work)
//! and bytes (the memory). Two caps keep memory bounded whatever clients send: a request
//! that would push either total past its capacity is refused with RESOURCE_EXHAUSTED,
//! so a flood costs the appliance nothing but the refusals.
//!
//! Fairness: once the queue is more than half full it is *contended*, and a client may
//! then hold at most `capacity / active clients` of it, where a client is active while
//! it has work queued or was refused within the last second. A client with nothing
//! queued may always add one request that fits, so a light client is never starved by
//! a heavy one: as the heavy client's work drains, the space it frees goes to the
//! clients under their share, and the heavy one is refused until it is back under its
//! own. Work already admitted is never dropped to make room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a refused client still counts as active (and so shrinks the others' share).
const ACTIVE_FOR: Duration = Duration::from_secs(1);

/// Who a request comes from, for fairness: the `vigil-client-id` header when a client
/// sends one, else its connection's peer address.
pub type ClientKey = Arc<str>;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Larger than the whole queue: no amount of waiting admits it here.
    TooLarge,
    /// The queue is full.
    Full,
    /// The queue is contended and this client already holds its share.
    FairShare,
}

impl Refusal {
    /// The metric label and the words of the status message.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::TooLarge => "too_large",
            Refusal::Full => "queue_full",
            Refusal::FairShare => "fair_share",
        }
    }
}

#[derive(Debug, Default)]
struct Usage {
    signatures: usize,
    bytes: usize,
    last_seen: Option<Instant>,
}

#[derive(Debug)]
struct State {
    signatures: usize,
    bytes: usize,
    clients: HashMap<ClientKey, Usage>,
    admissions: u64,
}

/// The shared queue budget.
#[derive(Debug)]
pub struct Admission {
    capacity_signatures: usize,
    capacity_bytes: usize,
    state: Mutex<State>,
}

/// A charge against the budget, released when dropped (when the request is answered
/// or abandoned).
#[derive(Debug)]
pub struct Ticket {
    admission: Arc<Admission>,
    client: ClientKey,
    signatures: usize,
    bytes: usize,
}

impl Admission {
    /// A budget of `capacity_signatures` signatures and `capacity_bytes` bytes.
    pub fn new(capacity_signatures: usize, capacity_bytes: usize) -> Arc<Admission> {
        Arc::new(Admission {
            capacity_signatures: capacity_signatures.max(1),
            capacity_bytes: capacity_bytes.max(1),
            state: Mutex::new(State {
                signatures: 0,
                bytes: 0,
                clients: HashMap::new(),
                admissions: 0,
            }),
        })
    }

    /// The signature capacity.
    pub fn capacity_signatures(&self) -> usize {
        self.capacity_signatures
    }

    /// Signatures and bytes currently charged.
    pub fn used(&self) -> (usize, usize) {
        let state = self.lock();
        (state.signatures, state.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain counters: a panic elsewhere cannot leave it inconsistent
        // in a way worse than refusing service, so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Charges a request of `signatures` and `bytes` to `client`, or says why not.
    pub fn admit(
        self: &Arc<Self>,
        client: &ClientKey,
        signatures: usize,
        bytes: usize,
    ) -> Result<Ticket, Refusal> {
        let now = Instant::now();
        let mut state = self.lock();
        state.admissions += 1;
        if state.admissions.is_multiple_of(1024) || state.clients.len() > 4096 {
            state.clients.retain(|_, u| {
                u.signatures > 0 || u.last_seen.is_some_and(|t| now - t < ACTIVE_FOR)
            });
        }
        let usage = state.clients.entry(client.clone()).or_default();
        usage.last_seen = Some(now);
        let (mine_sigs, mine_bytes) = (usage.signatures, usage.bytes);

        if signatures > self.capacity_signatures || bytes > self.capacity_bytes {
            return Err(Refusal::TooLarge);
        }
        let (total_sigs, total_bytes) = (state.signatures + signatures, state.bytes + bytes);
        if total_sigs > self.capacity_signatures || total_bytes > self.capacity_bytes {
            return Err(Refusal::Full);
        }
        let contended =
            total_sigs * 2 > self.capacity_signatures || total_bytes * 2 > self.capacity_bytes;
        if contended && (mine_sigs > 0 || mine_bytes > 0) {
            let active = state
                .clients
                .values()
                .filter(|u| u.signatures > 0 || u.last_seen.is_some_and(|t| now - t < ACTIVE_FOR))
                .count()
                .max(1);
            if mine_sigs + signatures > self.capacity_signatures / active
                || mine_bytes + bytes > self.capacity_bytes / active
            {
                return Err(Refusal::FairShare);
            }
        }
        state.signatures = total_sigs;
        state.bytes = total_bytes;
        if let Some(usage) = state.clients.get_mut(client) {
            usage.signatures += signatures;
            usage.bytes += bytes;
        }
        Ok(Ticket {
            admission: Arc::clone(self),
            client: client.clone(),
            signatures,
            bytes,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.admission.lock();
        state.signatures -= self.signatures;
        state.bytes -= self.bytes;
        if let Some(usage) = state.clients.get_mut(&self.client) {
            usage.signatures -= self.signatures;
            usage.bytes -= self.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ClientKey {
        Arc::from(s)
    }

    #[test]
    fn bounded_and_released_on_drop() {
        let a = Admission::new(100, 1_000_000);
        let c = key("a");
        let t1 = a.admit(&c, 60, 10).unwrap();
        assert_eq!(a.admit(&c, 50, 10).unwrap_err(), Refusal::Full);
        assert_eq!(a.admit(&c, 101, 10).unwrap_err(), Refusal::TooLarge);
        drop(t1);
        assert_eq!(a.used(), (0, 0));
        let _t = a.admit(&c, 100, 10).unwrap();
    }

    #[test]
    fn byte_cap_bounds_too() {
        let a = Admission::new(1_000, 100);
        let c = key("a");
        let _t = a.admit(&c, 1, 80).unwrap();
        assert_eq!(a.admit(&key("b"), 1, 30).unwrap_err(), Refusal::Full);
    }

    #[test]
    fn a_flooding_client_cannot_starve_a_light_one() {
        let a = Admission::new(100, 1_000_000);
        let (heavy, light) = (key("heavy"), key("light"));
        // The heavy client alone may fill the queue.
        let mut held: Vec<Ticket> = (0..10).map(|_| a.admit(&heavy, 10, 1).unwrap()).collect();
        // The light one is refused while the queue is full, but is now active.
        assert_eq!(a.admit(&light, 10, 1).unwrap_err(), Refusal::Full);
        // As the heavy client's work drains, freed space goes to the light client and
        // the heavy one is held to its half.
        held.truncate(8);
        assert_eq!(a.admit(&heavy, 10, 1).unwrap_err(), Refusal::FairShare);
        let light_ticket = a.admit(&light, 10, 1).unwrap();
        held.truncate(4);
        assert!(a.admit(&heavy, 10, 1).is_ok());
        drop(light_ticket);
        drop(held);
    }

    #[test]
    fn an_idle_client_always_gets_one_request_in() {
        let a = Admission::new(100, 1_000_000);
        let heavy = key("heavy");
        let _held: Vec<Ticket> = (0..9).map(|_| a.admit(&heavy, 10, 1).unwrap()).collect();
        // Contended (90%), but "new" holds nothing: its one request fits and is taken.
        assert!(a.admit(&key("new"), 10, 1).is_ok());
    }
}
