//! Round-robin over appliances, skipping those recently found down.
//!
//! Kept free of I/O (time is passed in) so that the policy is tested on its own:
//!
//! * picks go round-robin over the entries that are up and that this call has not
//!   tried yet; failing that, over those that are up (one appliance answering
//!   `RESOURCE_EXHAUSTED` is tried again after a pause rather than not at all);
//! * an entry marked down is skipped until its backoff ends. When every entry is down,
//!   the one whose backoff ends first is picked anyway: a short outage of the only
//!   appliance must not fail calls for the whole backoff, and the connect timeout bounds
//!   what the probe costs;
//! * entries come in groups (one per configured endpoint): a DNS re-resolution replaces
//!   its group's entries, keeping those whose address is unchanged together with their
//!   channel and down state.

use std::time::Instant;

/// Identifies one appliance: the configured endpoint it comes from and its URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    /// Index of the configured endpoint.
    pub(crate) group: usize,
    /// The URI connected to.
    pub(crate) uri: String,
}

#[derive(Debug)]
struct Entry<V> {
    key: Key,
    value: V,
    down_until: Option<Instant>,
}

impl<V> Entry<V> {
    fn up(&self, now: Instant) -> bool {
        self.down_until.is_none_or(|until| until <= now)
    }
}

/// The round-robin state: entries (with their values, channels in practice) and the
/// position of the next pick.
#[derive(Debug)]
pub(crate) struct Balancer<V> {
    entries: Vec<Entry<V>>,
    next: usize,
}

impl<V> Default for Balancer<V> {
    fn default() -> Self {
        Balancer {
            entries: Vec::new(),
            next: 0,
        }
    }
}

impl<V: Clone> Balancer<V> {
    /// The next entry to try, with `tried` the keys this call already tried.
    pub(crate) fn pick(&mut self, now: Instant, tried: &[Key]) -> Option<(Key, V)> {
        let n = self.entries.len();
        if n == 0 {
            return None;
        }
        let order = (0..n).map(|i| (self.next + i) % n);
        let fresh = |e: &Entry<V>| e.up(now) && !tried.contains(&e.key);
        let chosen = order
            .clone()
            .find(|&i| fresh(&self.entries[i]))
            .or_else(|| order.clone().find(|&i| self.entries[i].up(now)))
            .or_else(|| {
                // All down: the earliest to recover, preferring one not yet tried.
                order.min_by_key(|&i| {
                    let e = &self.entries[i];
                    (tried.contains(&e.key), e.down_until)
                })
            })?;
        self.next = (chosen + 1) % n;
        let e = &self.entries[chosen];
        Some((e.key.clone(), e.value.clone()))
    }

    /// Skips `key` until `until`.
    pub(crate) fn mark_down(&mut self, key: &Key, until: Instant) {
        if let Some(e) = self.entries.iter_mut().find(|e| &e.key == key) {
            e.down_until = Some(until);
        }
    }

    /// `key` answered: it is up again.
    pub(crate) fn mark_up(&mut self, key: &Key) {
        if let Some(e) = self.entries.iter_mut().find(|e| &e.key == key) {
            e.down_until = None;
        }
    }

    /// Makes `uris` the entries of `group`: entries already there are kept as they
    /// are, new ones get a value from `make` (skipped where it gives none), and the
    /// group's other entries are removed.
    pub(crate) fn set_group(
        &mut self,
        group: usize,
        uris: &[String],
        mut make: impl FnMut(&str) -> Option<V>,
    ) {
        self.entries
            .retain(|e| e.key.group != group || uris.contains(&e.key.uri));
        for uri in uris {
            let present = self
                .entries
                .iter()
                .any(|e| e.key.group == group && &e.key.uri == uri);
            if !present {
                if let Some(value) = make(uri) {
                    self.entries.push(Entry {
                        key: Key {
                            group,
                            uri: uri.clone(),
                        },
                        value,
                        down_until: None,
                    });
                }
            }
        }
        // Keep group order stable, so the rotation visits groups evenly.
        self.entries.sort_by_key(|e| e.key.group);
        if self.next >= self.entries.len() {
            self.next = 0;
        }
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Number of entries down at `now`.
    pub(crate) fn down(&self, now: Instant) -> usize {
        self.entries.iter().filter(|e| !e.up(now)).count()
    }

    /// The keys, in rotation order.
    #[cfg(test)]
    fn keys(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.key.uri.clone()).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn balancer(groups: &[&[&str]]) -> Balancer<String> {
        let mut b = Balancer::default();
        for (g, uris) in groups.iter().enumerate() {
            let uris: Vec<String> = uris.iter().map(|u| u.to_string()).collect();
            b.set_group(g, &uris, |u| Some(format!("chan {u}")));
        }
        b
    }

    fn picks(b: &mut Balancer<String>, now: Instant, n: usize) -> Vec<String> {
        (0..n).map(|_| b.pick(now, &[]).unwrap().0.uri).collect()
    }

    fn key(b: &Balancer<String>, uri: &str) -> Key {
        b.entries
            .iter()
            .find(|e| e.key.uri == uri)
            .unwrap()
            .key
            .clone()
    }

    #[test]
    fn round_robin_skips_down_entries_until_their_backoff_ends() {
        let now = Instant::now();
        let mut b = balancer(&[&["a"], &["b"], &["c"]]);
        assert_eq!(picks(&mut b, now, 4), ["a", "b", "c", "a"]);
        let (_, value) = b.pick(now, &[]).unwrap();
        assert_eq!(value, "chan b");
        b.mark_down(&key(&b, "b"), now + Duration::from_secs(2));
        assert_eq!(b.down(now), 1);
        assert_eq!(picks(&mut b, now, 4), ["c", "a", "c", "a"]);
        let later = now + Duration::from_secs(2);
        assert_eq!(b.down(later), 0);
        assert_eq!(picks(&mut b, later, 3), ["b", "c", "a"]);
        b.mark_down(&key(&b, "a"), now + Duration::from_secs(9));
        b.mark_up(&key(&b, "a"));
        assert_eq!(b.down(later), 0);
    }

    #[test]
    fn a_call_moves_on_from_what_it_tried() {
        let now = Instant::now();
        let mut b = balancer(&[&["a", "b", "c"]]);
        let (first, _) = b.pick(now, &[]).unwrap();
        assert_eq!(first.uri, "a");
        // Another call took "b" in between; this call's retry still avoids "a".
        assert_eq!(b.pick(now, &[]).unwrap().0.uri, "b");
        let tried = vec![first, key(&b, "c")];
        assert_eq!(b.pick(now, &tried).unwrap().0.uri, "b");
        // Everything tried and up: round-robin goes on over all of them.
        let all = vec![key(&b, "a"), key(&b, "b"), key(&b, "c")];
        assert!(b.pick(now, &all).is_some());
    }

    #[test]
    fn when_all_are_down_the_first_to_recover_is_probed() {
        let now = Instant::now();
        let mut b = balancer(&[&["a", "b"]]);
        b.mark_down(&key(&b, "a"), now + Duration::from_secs(5));
        b.mark_down(&key(&b, "b"), now + Duration::from_secs(1));
        assert_eq!(b.down(now), 2);
        assert_eq!(picks(&mut b, now, 2), ["b", "b"]);
        // Unless this call just tried it.
        let tried = vec![key(&b, "b")];
        assert_eq!(b.pick(now, &tried).unwrap().0.uri, "a");
        assert!(Balancer::<String>::default().pick(now, &[]).is_none());
    }

    #[test]
    fn re_resolution_keeps_unchanged_entries_and_their_state() {
        let now = Instant::now();
        let mut b = balancer(&[&["s"], &["x", "y"]]);
        b.mark_down(&key(&b, "y"), now + Duration::from_secs(5));
        let mut made = Vec::new();
        let uris = vec!["y".to_string(), "z".to_string()];
        b.set_group(1, &uris, |u| {
            made.push(u.to_string());
            Some(format!("chan {u}"))
        });
        assert_eq!(made, ["z"]);
        assert_eq!(b.keys(), ["s", "y", "z"]);
        assert_eq!(b.down(now), 1);
        // A value that cannot be made is left out; an empty set empties the group.
        b.set_group(1, &["w".to_string()], |_| None);
        assert_eq!(b.keys(), ["s"]);
        assert_eq!(b.len(), 1);
        assert_eq!(picks(&mut b, now, 2), ["s", "s"]);
    }
}
