//! Decoded frames kept for the viewer, least recently used first out, within a memory budget
//! (a viewport's share of `viewer.cache_mib`). Scrolling back over a series then never decodes
//! again, and prefetching fills the cache ahead of the scroll.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

/// An LRU cache bounded by bytes.
pub struct FrameCache<K, V> {
    budget_bytes: usize,
    used_bytes: usize,
    entries: HashMap<K, (Arc<V>, usize)>,
    /// Keys from least to most recently used.
    order: VecDeque<K>,
}

impl<K: Clone + Eq + Hash, V> FrameCache<K, V> {
    /// An empty cache holding at most `budget_bytes`.
    pub fn new(budget_bytes: usize) -> FrameCache<K, V> {
        FrameCache {
            budget_bytes,
            used_bytes: 0,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The value for `key`, now the most recently used.
    pub fn get(&mut self, key: &K) -> Option<Arc<V>> {
        let value = self.entries.get(key).map(|(v, _)| v.clone())?;
        self.touch(key);
        Some(value)
    }

    /// Whether `key` is cached (without touching it).
    pub fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    fn touch(&mut self, key: &K) {
        if let Some(at) = self.order.iter().position(|k| k == key) {
            self.order.remove(at);
        }
        self.order.push_back(key.clone());
    }

    /// Adds `value` of `bytes`, evicting the least recently used until it fits. A value larger
    /// than the whole budget is returned but not kept.
    pub fn insert(&mut self, key: K, value: V, bytes: usize) -> Arc<V> {
        let value = Arc::new(value);
        if let Some((_, old)) = self.entries.remove(&key) {
            self.used_bytes -= old;
        }
        if bytes > self.budget_bytes {
            return value;
        }
        while self.used_bytes + bytes > self.budget_bytes {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, b)) = self.entries.remove(&oldest) {
                self.used_bytes -= b;
            }
        }
        self.entries.insert(key.clone(), (value.clone(), bytes));
        self.used_bytes += bytes;
        self.touch(&key);
        value
    }

    /// Changes the budget (the viewer's memory shared by more or fewer viewports), evicting
    /// the least recently used until what is held fits.
    pub fn set_budget(&mut self, budget_bytes: usize) {
        self.budget_bytes = budget_bytes;
        while self.used_bytes > self.budget_bytes {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, b)) = self.entries.remove(&oldest) {
                self.used_bytes -= b;
            }
        }
    }

    /// Bytes held.
    pub fn used_bytes(&self) -> usize {
        self.used_bytes
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_goes_first_and_the_budget_holds() {
        let mut cache = FrameCache::new(100);
        cache.insert("a", 1, 40);
        cache.insert("b", 2, 40);
        assert_eq!(cache.get(&"a").as_deref(), Some(&1)); // a is now newer than b
        cache.insert("c", 3, 40); // evicts b
        assert!(cache.contains(&"a") && cache.contains(&"c") && !cache.contains(&"b"));
        assert_eq!(cache.used_bytes(), 80);
        // Too big for the budget: handed back, not kept, nothing evicted.
        assert_eq!(*cache.insert("huge", 9, 500), 9);
        assert_eq!(cache.len(), 2);
        // Replacing a key keeps the accounting right.
        cache.insert("a", 4, 10);
        assert_eq!(cache.used_bytes(), 50);
        assert_eq!(cache.get(&"a").as_deref(), Some(&4));
    }

    #[test]
    fn a_smaller_budget_evicts_the_least_recently_used_at_once() {
        let mut cache: FrameCache<u32, u32> = FrameCache::new(300);
        for k in 0..3 {
            cache.insert(k, k, 100);
        }
        cache.get(&0);
        cache.set_budget(150);
        assert_eq!(cache.used_bytes(), 100);
        assert!(cache.contains(&0), "the one used last stays");
        assert!(!cache.contains(&1) && !cache.contains(&2));
    }
}
