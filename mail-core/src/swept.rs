//! A map for a server's long-lived state keyed by what its clients choose (addresses,
//! domains, account and mailbox names), whose entries no longer in use are swept as it grows.

use std::{borrow::Borrow, collections::HashMap, hash::Hash};

/// A `HashMap` that drops the entries no longer in use each time it has doubled since the
/// last sweep, once it holds [`SweptMap::MIN`] keys. Without that, a key used once would stay
/// for good, and the map would grow with every address, domain or name ever seen. A sweep is
/// one pass over the map, paid once per as many new keys as it kept: constant per key.
#[derive(Debug)]
pub struct SweptMap<K, V> {
    map: HashMap<K, V>,
    sweep_at: usize,
}

impl<K, V> Default for SweptMap<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            sweep_at: Self::MIN,
        }
    }
}

impl<K, V> SweptMap<K, V> {
    /// The fewest keys kept before the first sweep.
    pub const MIN: usize = 1024;
}

impl<K: Hash + Eq, V> SweptMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// `key`'s value, made with `make` if it has none. Before a new key goes in, if the map
    /// has doubled since the last sweep, every entry for which `in_use` is false is dropped
    /// (`in_use` may also tidy the value it looks at).
    pub fn get_or_insert_with(
        &mut self,
        key: K,
        mut in_use: impl FnMut(&mut V) -> bool,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        if self.map.len() >= self.sweep_at && !self.map.contains_key(&key) {
            self.map.retain(|_, v| in_use(v));
            self.sweep_at = (2 * self.map.len()).max(Self::MIN);
        }
        self.map.entry(key).or_insert_with(make)
    }

    /// `key`'s value.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.map.get(key)
    }

    /// `key`'s value, to change.
    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.map.get_mut(key)
    }

    /// Removes `key`'s value.
    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.map.remove(key)
    }

    /// Keeps the entries for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&K, &mut V) -> bool) {
        self.map.retain(keep);
    }

    /// The values.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }

    /// How many keys the map holds.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map holds no key.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries not in use go when the map has doubled, those in use stay, and existing keys
    /// are found without a sweep.
    #[test]
    fn idle_entries_go_as_the_map_doubles() {
        let mut m: SweptMap<usize, bool> = SweptMap::new();
        *m.get_or_insert_with(0, |v| *v, || false) = true;
        for k in 1..10 * SweptMap::<usize, bool>::MIN {
            m.get_or_insert_with(k, |v| *v, || false);
            assert!(
                m.len() <= 2 * SweptMap::<u32, bool>::MIN,
                "{} keys",
                m.len()
            );
        }
        assert_eq!(m.get(&0), Some(&true));
        let (before, last) = (m.len(), 10 * SweptMap::<usize, bool>::MIN - 1);
        m.get_or_insert_with(last, |_| false, || false);
        assert_eq!(m.len(), before, "an existing key sweeps nothing");
    }
}
