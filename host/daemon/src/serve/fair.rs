//! Fair dispatch: per-client queues served by deficit round robin.
//!
//! Admission ([`super::admission`]) keeps any one client from filling the queue, but
//! it cannot help a light client whose request is admitted behind hundreds of
//! thousands of signatures a flood already queued: served first-in first-out, its 50
//! transactions waited 31 seconds (measured). So each profile's queue is one queue per
//! client, and batches are filled from them by deficit round robin (Shreedhar and
//! Varghese, 1995) weighted in signatures: every visit gives a client `quantum`
//! signatures of credit and takes its requests while the credit covers them. A client
//! that sends a request into a flooded appliance has it in the next batch or the one
//! after, whatever the others have queued, and heavy clients share what is left in
//! proportion to nothing but their number.
//!
//! Batches are filled when a backend has a free slot (see the scheduler), so which
//! requests a batch holds is decided at the last moment, from everything queued then.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use super::admission::ClientKey;

/// What the queue needs to know of an item.
pub trait Weighted {
    /// Its cost in signatures (at least 0; a 0-cost item is served on its turn).
    fn weight(&self) -> usize;
}

struct Client<T> {
    items: VecDeque<T>,
    deficit: usize,
}

struct Inner<T> {
    clients: HashMap<ClientKey, Client<T>>,
    /// Clients with items, in service order.
    ring: VecDeque<ClientKey>,
    weight: usize,
    len: usize,
    closed: bool,
}

/// Per-client queues with deficit round robin between them.
pub struct FairQueue<T> {
    inner: Mutex<Inner<T>>,
    notify: Notify,
}

impl<T: Weighted> Default for FairQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Weighted> FairQueue<T> {
    /// An empty, open queue.
    pub fn new() -> FairQueue<T> {
        FairQueue {
            inner: Mutex::new(Inner {
                clients: HashMap::new(),
                ring: VecDeque::new(),
                weight: 0,
                len: 0,
                closed: false,
            }),
            notify: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // Plain queues and counters: a panic elsewhere leaves them usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `item` for `client`; gives it back if the queue is closed.
    pub fn push(&self, client: &ClientKey, item: T) -> Result<(), T> {
        {
            let mut inner = self.lock();
            if inner.closed {
                return Err(item);
            }
            inner.weight += item.weight();
            inner.len += 1;
            let entry = inner.clients.entry(client.clone()).or_insert(Client {
                items: VecDeque::new(),
                deficit: 0,
            });
            let was_idle = entry.items.is_empty();
            entry.items.push_back(item);
            if was_idle {
                inner.ring.push_back(client.clone());
            }
        }
        self.notify.notify_one();
        Ok(())
    }

    /// Items queued.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len
    }

    /// Whether nothing is queued.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Clients with items queued.
    pub fn clients(&self) -> usize {
        self.lock().ring.len()
    }

    /// Total weight queued.
    pub fn weight(&self) -> usize {
        self.lock().weight
    }

    /// Waits until an item is queued (`true`) or the queue is closed and empty (`false`).
    pub async fn ready(&self) -> bool {
        loop {
            let notified = self.notify.notified();
            {
                let inner = self.lock();
                if inner.len > 0 {
                    return true;
                }
                if inner.closed {
                    return false;
                }
            }
            notified.await;
        }
    }

    /// Refuses further pushes and wakes the consumer.
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Takes the next item by deficit round robin if its weight fits in `room`, with
    /// `quantum` signatures of credit per visit. `None` when the queue is empty or the
    /// item due next does not fit (it stays queued, first in line).
    pub fn pop(&self, room: usize, quantum: usize) -> Option<T> {
        let quantum = quantum.max(1);
        let mut inner = self.lock();
        let inner = &mut *inner;
        if inner.ring.is_empty() {
            return None;
        }
        // One pass over the ring looks for a client whose credit covers its next item;
        // when none does, every client gets the credit of as many whole rounds as the
        // nearest one needs, at once (so a large item costs one pass, not one per
        // quantum).
        loop {
            let mut nearest = usize::MAX;
            for _ in 0..inner.ring.len() {
                let key = inner.ring.front()?.clone();
                let client = inner.clients.get_mut(&key)?;
                let need = client.items.front().map_or(0, Weighted::weight);
                if need <= client.deficit {
                    if need > room {
                        return None;
                    }
                    client.deficit -= need;
                    let item = client.items.pop_front();
                    if client.items.is_empty() {
                        // An emptied queue keeps no credit (DRR's rule: idleness is not
                        // saved up for later bursts).
                        inner.clients.remove(&key);
                        inner.ring.pop_front();
                    }
                    if let Some(item) = &item {
                        inner.weight -= item.weight();
                        inner.len -= 1;
                    }
                    return item;
                }
                nearest = nearest.min((need - client.deficit).div_ceil(quantum));
                client.deficit += quantum;
                inner.ring.rotate_left(1);
            }
            // Every client was visited once (and credited one quantum) without a match.
            let extra = nearest.saturating_sub(1).saturating_mul(quantum);
            if extra > 0 {
                for client in inner.clients.values_mut() {
                    client.deficit = client.deficit.saturating_add(extra);
                }
            }
        }
    }

    /// Takes every queued item (in no particular fairness order), for failing them all.
    pub fn drain(&self) -> Vec<T> {
        let mut inner = self.lock();
        inner.ring.clear();
        inner.weight = 0;
        inner.len = 0;
        inner.clients.drain().flat_map(|(_, c)| c.items).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Arc;

    #[derive(Debug, PartialEq, Eq)]
    struct Item(&'static str, usize);

    impl Weighted for Item {
        fn weight(&self) -> usize {
            self.1
        }
    }

    fn key(s: &str) -> ClientKey {
        Arc::from(s)
    }

    #[test]
    fn one_client_is_first_in_first_out() {
        let q = FairQueue::new();
        for w in [5, 1, 9] {
            q.push(&key("a"), Item("a", w)).unwrap();
        }
        assert_eq!(q.weight(), 15);
        let order: Vec<usize> = std::iter::from_fn(|| q.pop(usize::MAX, 4))
            .map(|i| i.1)
            .collect();
        assert_eq!(order, vec![5, 1, 9]);
        assert!(q.is_empty());
        assert_eq!(q.weight(), 0);
    }

    #[test]
    fn a_light_client_is_served_within_a_round_of_a_flood() {
        let q = FairQueue::new();
        for _ in 0..1000 {
            q.push(&key("heavy-1"), Item("h1", 10_000)).unwrap();
            q.push(&key("heavy-2"), Item("h2", 10_000)).unwrap();
        }
        q.push(&key("light"), Item("light", 50)).unwrap();
        // Within the first three items taken (one per client per round), the light one.
        let first: Vec<&str> = (0..3).map(|_| q.pop(usize::MAX, 1024).unwrap().0).collect();
        assert!(first.contains(&"light"), "{first:?}");
    }

    #[test]
    fn heavy_clients_share_in_proportion_to_signatures_not_requests() {
        let q = FairQueue::new();
        for _ in 0..400 {
            q.push(&key("big"), Item("big", 1000)).unwrap();
        }
        for _ in 0..4000 {
            q.push(&key("small"), Item("small", 100)).unwrap();
        }
        let (mut big, mut small) = (0, 0);
        while big + small < 200_000 {
            let item = q.pop(usize::MAX, 500).unwrap();
            match item.0 {
                "big" => big += item.1,
                _ => small += item.1,
            }
        }
        let ratio = big as f64 / small as f64;
        assert!((0.95..=1.05).contains(&ratio), "big {big} small {small}");
    }

    #[test]
    fn an_item_that_does_not_fit_stays_first_in_line() {
        let q = FairQueue::new();
        q.push(&key("a"), Item("a", 100)).unwrap();
        assert_eq!(q.pop(50, 1000), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(100, 1000), Some(Item("a", 100)));
    }

    #[test]
    fn huge_items_cost_one_pass_not_one_per_quantum() {
        let q = FairQueue::new();
        q.push(&key("a"), Item("a", usize::MAX / 4)).unwrap();
        q.push(&key("b"), Item("b", usize::MAX / 4)).unwrap();
        // With a quantum of 1 this would loop ~2^62 times without the bulk credit.
        assert!(q.pop(usize::MAX, 1).is_some());
        assert!(q.pop(usize::MAX, 1).is_some());
        assert!(q.is_empty());
    }

    #[test]
    fn closed_refuses_pushes_and_drain_empties() {
        let q = FairQueue::new();
        q.push(&key("a"), Item("a", 1)).unwrap();
        q.push(&key("b"), Item("b", 2)).unwrap();
        q.close();
        assert!(q.push(&key("a"), Item("a", 3)).is_err());
        assert_eq!(q.drain().len(), 2);
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn ready_wakes_on_push_and_on_close() {
        let q = Arc::new(FairQueue::<Item>::new());
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.ready().await }
        });
        tokio::task::yield_now().await;
        q.push(&key("a"), Item("a", 1)).unwrap();
        assert!(waiter.await.unwrap());
        q.pop(usize::MAX, 1).unwrap();
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.ready().await }
        });
        tokio::task::yield_now().await;
        q.close();
        assert!(!waiter.await.unwrap());
    }
}
