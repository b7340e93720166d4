//! The set of configurations the search has already explored.
//!
//! A configuration is encoded by the search as a short slice of `u32`s (see
//! `Search::encode`); the set stores each slice once, back to back in one arena, and indexes
//! them with an open-addressing table of arena offsets. Exact keys, not fingerprints: a hash
//! collision costs a comparison, never a wrong verdict.

use hashbrown::HashTable;

#[derive(Default)]
pub struct Memo {
    /// `[len, words…]` per entry.
    arena: Vec<u32>,
    table: HashTable<u32>,
}

#[inline]
fn hash(words: &[u32]) -> u64 {
    // A multiply-rotate hash over pairs of words, with a final avalanche so that the table's
    // control bytes (the top bits) are well mixed.
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = words.len() as u64;
    let mut chunks = words.chunks_exact(2);
    for pair in &mut chunks {
        let w = u64::from(pair[0]) | (u64::from(pair[1]) << 32);
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    if let [last] = chunks.remainder() {
        h = (h ^ u64::from(*last)).wrapping_mul(K).rotate_left(29);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^ (h >> 32)
}

fn entry(arena: &[u32], offset: u32) -> &[u32] {
    let o = offset as usize;
    &arena[o + 1..o + 1 + arena[o] as usize]
}

impl Memo {
    /// Adds `key`; false if it was already there.
    pub fn insert(&mut self, key: &[u32]) -> bool {
        let h = hash(key);
        let arena = &self.arena;
        if self
            .table
            .find(h, |&off| entry(arena, off) == key)
            .is_some()
        {
            return false;
        }
        let offset = self.arena.len() as u32;
        self.arena.push(key.len() as u32);
        self.arena.extend_from_slice(key);
        let arena = &self.arena;
        self.table
            .insert_unique(h, offset, |&off| hash(entry(arena, off)));
        true
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> usize {
        self.arena.capacity() * 4 + self.table.capacity() * 5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_exact_keys() {
        let mut m = Memo::default();
        assert!(m.insert(&[1, 2, 3]));
        assert!(!m.insert(&[1, 2, 3]));
        assert!(m.insert(&[1, 2]));
        assert!(m.insert(&[]));
        assert!(!m.insert(&[]));
        for i in 0..10_000 {
            assert!(m.insert(&[i + 10, i]));
        }
        for i in 0..10_000 {
            assert!(!m.insert(&[i + 10, i]));
        }
        assert_eq!(m.len(), 10_003);
    }
}
