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
//!
//! [`Admission::precheck`] applies the same rules to the smallest request that verifies
//! anything (one signature, one byte) before a request's body is read, so a flood is
//! refused for the price of its headers (see `super::shed`). Refusal is monotone in
//! size (a larger request only adds to every total that is compared), so a client the
//! precheck refuses would be refused by [`Admission::admit`] for any request of at least
//! that size.
//!
//! The queue gauges ([`Admission::with_gauges`]) are set under the same lock as the
//! totals, on every admission and every release, so they read exactly what is charged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::IntGauge;

/// How long a refused client still counts as active (and so shrinks the others' share).
const ACTIVE_FOR: Duration = Duration::from_secs(1);

/// The smallest request that verifies anything, as [`Admission::precheck`] sizes it:
/// one signature, one byte. (A request with no well-formed transaction, or a Merkle
/// request of under 16 leaves, is charged no signature; see
/// [`Admission::precheck_size`].)
pub const SMALLEST_REQUEST: (usize, usize) = (1, 1);

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

impl Usage {
    /// Has work queued, or was seen within [`ACTIVE_FOR`]. Work queued counts in bytes
    /// too: a request with no well-formed signature is charged bytes only, and a client
    /// swept while it holds some would have its release taken from a fresh entry.
    fn active(&self, now: Instant) -> bool {
        self.signatures > 0
            || self.bytes > 0
            || self.last_seen.is_some_and(|t| now - t < ACTIVE_FOR)
    }
}

/// Gauges that mirror the totals.
#[derive(Debug)]
struct Gauges {
    bytes: IntGauge,
    signatures: IntGauge,
}

#[derive(Debug)]
struct State {
    signatures: usize,
    bytes: usize,
    clients: HashMap<ClientKey, Usage>,
    /// Admissions and prechecks so far (the idle-client sweep runs every 1024th).
    admissions: u64,
    gauges: Option<Gauges>,
}

impl State {
    /// Sets the gauges to the totals; called under the lock after every change.
    fn publish(&self) {
        if let Some(g) = &self.gauges {
            g.bytes.set(i64::try_from(self.bytes).unwrap_or(i64::MAX));
            g.signatures
                .set(i64::try_from(self.signatures).unwrap_or(i64::MAX));
        }
    }
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
                gauges: None,
            }),
        })
    }

    /// Keeps `bytes` and `signatures` equal to the bytes and signatures charged, from
    /// now on (set under the budget's lock on every admission and release, so they are
    /// exact). Returns the same budget.
    pub fn with_gauges(self: Arc<Self>, bytes: IntGauge, signatures: IntGauge) -> Arc<Self> {
        {
            let mut state = self.lock();
            state.gauges = Some(Gauges { bytes, signatures });
            state.publish();
        }
        self
    }

    /// The signature capacity.
    pub fn capacity_signatures(&self) -> usize {
        self.capacity_signatures
    }

    /// The byte capacity.
    pub fn capacity_bytes(&self) -> usize {
        self.capacity_bytes
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
        let mine = Self::touch(&mut state, client, now);
        if let Some(refusal) = self.refusal(&state, mine, signatures, bytes, now) {
            return Err(refusal);
        }
        state.signatures += signatures;
        state.bytes += bytes;
        if let Some(usage) = state.clients.get_mut(client) {
            usage.signatures += signatures;
            usage.bytes += bytes;
        }
        state.publish();
        Ok(Ticket {
            admission: Arc::clone(self),
            client: client.clone(),
            signatures,
            bytes,
        })
    }

    /// Whether [`Admission::admit`] would refuse even the smallest request that verifies
    /// anything ([`SMALLEST_REQUEST`]) from `client` now: the queue is full, or it is
    /// contended and `client` already holds at least its share. Charges nothing, but
    /// marks `client` active as `admit` does. Never refuses what `admit` would accept
    /// for a request of at least that size.
    pub fn precheck(&self, client: &ClientKey) -> Result<(), Refusal> {
        let (signatures, bytes) = SMALLEST_REQUEST;
        self.precheck_size(client, signatures, bytes)
    }

    /// Whether [`Admission::admit`] would refuse a request of `signatures` and `bytes`
    /// from `client` now (and so any larger one). Charges nothing; marks `client` active.
    pub fn precheck_size(
        &self,
        client: &ClientKey,
        signatures: usize,
        bytes: usize,
    ) -> Result<(), Refusal> {
        let now = Instant::now();
        let mut state = self.lock();
        let mine = Self::touch(&mut state, client, now);
        match self.refusal(&state, mine, signatures, bytes, now) {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        }
    }

    /// Marks `client` seen now (so active) and returns what it holds; sweeps idle
    /// clients now and then.
    fn touch(state: &mut State, client: &ClientKey, now: Instant) -> (usize, usize) {
        state.admissions += 1;
        if state.admissions.is_multiple_of(1024) || state.clients.len() > 4096 {
            state.clients.retain(|_, u| u.active(now));
        }
        let usage = state.clients.entry(client.clone()).or_default();
        usage.last_seen = Some(now);
        (usage.signatures, usage.bytes)
    }

    /// The one rule: why a request of `signatures` and `bytes` from a client holding
    /// `mine` would be refused now, if it would.
    fn refusal(
        &self,
        state: &State,
        (mine_sigs, mine_bytes): (usize, usize),
        signatures: usize,
        bytes: usize,
        now: Instant,
    ) -> Option<Refusal> {
        if signatures > self.capacity_signatures || bytes > self.capacity_bytes {
            return Some(Refusal::TooLarge);
        }
        let (total_sigs, total_bytes) = (state.signatures + signatures, state.bytes + bytes);
        if total_sigs > self.capacity_signatures || total_bytes > self.capacity_bytes {
            return Some(Refusal::Full);
        }
        let contended =
            total_sigs * 2 > self.capacity_signatures || total_bytes * 2 > self.capacity_bytes;
        if contended && (mine_sigs > 0 || mine_bytes > 0) {
            let active = state
                .clients
                .values()
                .filter(|u| u.active(now))
                .count()
                .max(1);
            if mine_sigs + signatures > self.capacity_signatures / active
                || mine_bytes + bytes > self.capacity_bytes / active
            {
                return Some(Refusal::FairShare);
            }
        }
        None
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
        state.publish();
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

    /// A small deterministic generator (xorshift64*), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
        }
    }

    /// Random admissions and releases over a few clients; at every step, asks `check`
    /// to compare the precheck with admission for one client.
    fn random_walk(seed: u64, mut check: impl FnMut(&Arc<Admission>, &ClientKey, &mut Rng)) {
        let a = Admission::new(40, 400);
        let clients: Vec<ClientKey> = (0..4).map(|i| key(&format!("c{i}"))).collect();
        let mut rng = Rng(seed);
        let mut held: Vec<Ticket> = Vec::new();
        for _ in 0..2000 {
            let c = &clients[rng.below(clients.len())];
            check(&a, c, &mut rng);
            if rng.below(3) == 0 && !held.is_empty() {
                let i = rng.below(held.len());
                held.swap_remove(i);
            } else if let Ok(t) = a.admit(c, rng.below(12), rng.below(120)) {
                held.push(t);
            }
        }
    }

    #[test]
    fn precheck_agrees_with_admitting_the_smallest_request() {
        let (mut refused, mut accepted) = (0, 0);
        for seed in 1..=20 {
            random_walk(seed, |a, c, _| {
                let pre = a.precheck(c);
                let admit = a.admit(c, 1, 1).map(drop);
                assert_eq!(pre, admit, "seed {seed}");
                if pre.is_err() {
                    refused += 1;
                } else {
                    accepted += 1;
                }
            });
        }
        // Both outcomes were exercised, each refusal kind too (below).
        assert!(refused > 100 && accepted > 100, "{refused} {accepted}");
    }

    #[test]
    fn what_precheck_refuses_admit_refuses_at_any_larger_size() {
        let mut kinds = Vec::new();
        for seed in 1..=20 {
            random_walk(seed, |a, c, rng| {
                let (s, b) = (rng.below(15), rng.below(150));
                // Same rule at the same size, zero included.
                assert_eq!(a.precheck_size(c, s, b), a.admit(c, s, b).map(drop));
                if let Err(refusal) = a.precheck(c) {
                    if !kinds.contains(&refusal) {
                        kinds.push(refusal);
                    }
                    let (s, b) = (1 + rng.below(50), 1 + rng.below(500));
                    assert!(a.admit(c, s, b).is_err(), "seed {seed}: {s} {b}");
                }
            });
        }
        assert!(kinds.contains(&Refusal::Full) && kinds.contains(&Refusal::FairShare));
    }

    #[test]
    fn precheck_refuses_a_full_queue_and_a_client_at_its_share() {
        let a = Admission::new(100, 1_000_000);
        let (heavy, light) = (key("heavy"), key("light"));
        let mut held: Vec<Ticket> = (0..10).map(|_| a.admit(&heavy, 10, 1).unwrap()).collect();
        assert_eq!(a.precheck(&light), Err(Refusal::Full));
        assert_eq!(a.precheck(&heavy), Err(Refusal::Full));
        held.truncate(8);
        // Contended, two active: heavy holds 80 of its 50; light holds nothing.
        assert_eq!(a.precheck(&heavy), Err(Refusal::FairShare));
        assert_eq!(a.precheck(&light), Ok(()));
        // A precheck charges nothing.
        assert_eq!(a.used(), (80, 8));
        held.truncate(4);
        assert_eq!(a.precheck(&heavy), Ok(()));
    }

    #[test]
    fn precheck_marks_the_client_active() {
        let a = Admission::new(100, 1_000_000);
        let (heavy, other) = (key("heavy"), key("other"));
        let _held: Vec<Ticket> = (0..6).map(|_| a.admit(&heavy, 10, 1).unwrap()).collect();
        // Alone, heavy may take more of a contended queue...
        assert_eq!(a.precheck(&heavy), Ok(()));
        // ... but once another client has asked, heavy is held to half.
        assert_eq!(a.precheck(&other), Ok(()));
        assert_eq!(a.precheck(&heavy), Err(Refusal::FairShare));
    }

    #[test]
    fn gauges_read_exactly_what_is_charged() {
        let bytes = IntGauge::new("b", "b").unwrap();
        let sigs = IntGauge::new("s", "s").unwrap();
        let a = Admission::new(100, 1_000);
        let early = a.admit(&key("a"), 3, 30).unwrap();
        let a = a.with_gauges(bytes.clone(), sigs.clone());
        assert_eq!((sigs.get(), bytes.get()), (3, 30), "set when installed");
        let t1 = a.admit(&key("a"), 10, 100).unwrap();
        let t2 = a.admit(&key("b"), 5, 7).unwrap();
        assert_eq!((sigs.get(), bytes.get()), (18, 137));
        assert!(a.admit(&key("b"), 90, 1).is_err());
        assert_eq!(
            (sigs.get(), bytes.get()),
            (18, 137),
            "a refusal changes nothing"
        );
        drop(t1);
        assert_eq!((sigs.get(), bytes.get()), (8, 37));
        drop((early, t2));
        assert_eq!((sigs.get(), bytes.get()), (0, 0));
    }

    #[test]
    fn a_client_holding_only_bytes_is_not_swept() {
        let a = Admission::new(100, 1_000);
        let holder = key("holder");
        // No well-formed signature: charged bytes only.
        let ticket = a.admit(&holder, 0, 10).unwrap();
        {
            let mut state = a.lock();
            let later = Instant::now() + 2 * ACTIVE_FOR;
            for i in 0..1024 {
                Admission::touch(&mut state, &key(&format!("o{i}")), later);
            }
            assert!(state.clients.contains_key(&holder));
        }
        // Its release is taken from its own entry (a fresh one would underflow).
        drop(ticket);
        assert_eq!(a.used(), (0, 0));
        assert_eq!(a.lock().clients[&holder].bytes, 0);
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
