//! The keyspace: string keys to string values, each with an optional expiry — an absolute
//! wall-clock time in milliseconds since the Unix epoch, as in Redis. Pure: time is passed in
//! (`now`, read by the caller from the node's [`WallClock`](crate::clock::WallClock)), so a
//! clock the harness jumps forward makes keys expire early here exactly as it does in Redis.
//!
//! ```text
//!  command ──get/set/remove(now)──▶ Db ──lazy expiry: "now > expires_at" → key removed
//!  sweep task ──sweep(now, limit)──▶ Db ──removes keys whose time has passed, oldest first
//!  Db ──effects (when recording)──▶ the AOF: every change as a deterministic command
//! ```
//!
//! Expired keys go two ways, as in Redis: lazily, when a command touches one, and actively, by
//! [`Db::sweep`], which a task calls every 100 ms. Redis samples 20 random keys with an expiry
//! per round; this keyspace keeps its keys ordered by expiry time instead, so a sweep removes
//! exactly the keys whose time has passed, oldest first, in `O(log n)` each — after a clock
//! jump, all of them within one or two rounds.
//!
//! *Effects* are what the append-only file records: each change as a command whose replay
//! gives the same state regardless of the time at replay — `SET k v PXAT <ms>` rather than
//! `PX`, and a `DEL` for every key that expires — which is how Redis 7 propagates them too.
//! The command layer adds its own effects; the keyspace adds the `DEL`s of expiry.

use std::collections::{BTreeSet, HashMap};

use bytes::Bytes;

/// The `now` to use while replaying the append-only file: no key is expired during a replay
/// (Redis does not expire keys while loading either), so the replay is independent of the
/// clock; expired keys go once the node serves.
pub const LOADING: i64 = i64::MIN;

/// One key's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: Bytes,
    /// Milliseconds since the Unix epoch after which the key is gone.
    pub expires_at: Option<i64>,
}

/// What a write does to the key's expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ttl {
    /// Keep the expiry the key has, if it exists (`KEEPTTL`, `INCR`).
    Keep,
    /// No expiry (a plain `SET`).
    Persist,
    /// Expire after this time.
    At(i64),
}

/// Whether a key that expires at `at` is gone at `now` (Redis's `keyIsExpired`: strictly
/// after).
pub fn is_expired(at: i64, now: i64) -> bool {
    now > at
}

/// The keyspace.
#[derive(Debug, Default)]
pub struct Db {
    map: HashMap<Bytes, Entry>,
    /// `(expires_at, key)` for every key with an expiry, for the active sweep.
    by_expiry: BTreeSet<(i64, Bytes)>,
    /// The changes since the last [`Db::take_effects`], while recording.
    effects: Option<Vec<Vec<Bytes>>>,
    /// Keys removed because they expired, since the start.
    expired: u64,
}

impl Db {
    pub fn new() -> Db {
        Db::default()
    }

    /// Starts or stops recording effects (on when there is an append-only file).
    pub fn record_effects(&mut self, on: bool) {
        self.effects = on.then(Vec::new);
    }

    /// Records a change, if recording.
    pub fn effect(&mut self, command: Vec<Bytes>) {
        if let Some(effects) = &mut self.effects {
            effects.push(command);
        }
    }

    /// How many effects are recorded and not yet taken.
    pub fn effects_len(&self) -> usize {
        self.effects.as_ref().map_or(0, Vec::len)
    }

    /// Wraps the effects recorded from index `start` on in `MULTI` … `EXEC` when there is more
    /// than one, so a script's writes are replayed all or not at all.
    pub fn wrap_effects_from(&mut self, start: usize) {
        if let Some(effects) = &mut self.effects {
            if effects.len() > start + 1 {
                effects.insert(start, vec![Bytes::from_static(b"MULTI")]);
                effects.push(vec![Bytes::from_static(b"EXEC")]);
            }
        }
    }

    /// The effects recorded since the last call.
    pub fn take_effects(&mut self) -> Vec<Vec<Bytes>> {
        match &mut self.effects {
            Some(effects) => std::mem::take(effects),
            None => Vec::new(),
        }
    }

    /// Removes `key` if its time has passed; whether it did.
    fn expire_if_needed(&mut self, key: &[u8], now: i64) -> bool {
        let Some(at) = self.map.get(key).and_then(|e| e.expires_at) else {
            return false;
        };
        if !is_expired(at, now) {
            return false;
        }
        self.remove_entry(key);
        self.expired += 1;
        self.effect(vec![
            Bytes::from_static(b"DEL"),
            Bytes::copy_from_slice(key),
        ]);
        true
    }

    fn remove_entry(&mut self, key: &[u8]) -> Option<Entry> {
        let (key, entry) = self.map.remove_entry(key)?;
        if let Some(at) = entry.expires_at {
            self.by_expiry.remove(&(at, key));
        }
        Some(entry)
    }

    /// The live entry for `key`, expiring it first if its time has passed.
    pub fn get(&mut self, key: &[u8], now: i64) -> Option<&Entry> {
        self.expire_if_needed(key, now);
        self.map.get(key)
    }

    /// Whether `key` is live.
    pub fn contains(&mut self, key: &[u8], now: i64) -> bool {
        self.get(key, now).is_some()
    }

    /// Sets `key` to `value`, with the expiry `ttl` says.
    pub fn set(&mut self, key: Bytes, value: Bytes, ttl: Ttl, now: i64) {
        self.expire_if_needed(&key, now);
        let old = self.map.get(&key).and_then(|e| e.expires_at);
        let expires_at = match ttl {
            Ttl::Keep => old,
            Ttl::Persist => None,
            Ttl::At(at) => Some(at),
        };
        if old != expires_at {
            if let Some(old) = old {
                self.by_expiry.remove(&(old, key.clone()));
            }
            if let Some(at) = expires_at {
                self.by_expiry.insert((at, key.clone()));
            }
        }
        self.map.insert(key, Entry { value, expires_at });
    }

    /// Removes `key`; whether it was live.
    pub fn remove(&mut self, key: &[u8], now: i64) -> bool {
        if self.expire_if_needed(key, now) {
            return false;
        }
        self.remove_entry(key).is_some()
    }

    /// Sets the expiry of `key`, which must be live (else nothing happens).
    pub fn set_expiry(&mut self, key: &[u8], at: Option<i64>) {
        let Some((key, entry)) = self.map.get_key_value(key) else {
            return;
        };
        let key = key.clone();
        let old = entry.expires_at;
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.by_expiry.remove(&(old, key.clone()));
        }
        if let Some(at) = at {
            self.by_expiry.insert((at, key.clone()));
        }
        if let Some(entry) = self.map.get_mut(&key) {
            entry.expires_at = at;
        }
    }

    /// Removes up to `limit` keys whose time has passed at `now`, oldest first; how many.
    pub fn sweep(&mut self, now: i64, limit: usize) -> usize {
        let mut removed = 0;
        while removed < limit {
            let Some((at, key)) = self.by_expiry.first().cloned() else {
                break;
            };
            if !is_expired(at, now) {
                break;
            }
            self.remove_entry(&key);
            self.expired += 1;
            self.effect(vec![Bytes::from_static(b"DEL"), key]);
            removed += 1;
        }
        removed
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.map.clear();
        self.by_expiry.clear();
    }

    /// Keys held, including expired ones not yet removed (as Redis's `DBSIZE` counts).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keys held with an expiry.
    pub fn expires(&self) -> usize {
        self.by_expiry.len()
    }

    /// Keys removed because they expired, since the start.
    pub fn expired_total(&self) -> u64 {
        self.expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn keys_expire_strictly_after_their_time_lazily() {
        let mut db = Db::new();
        db.set(b("k"), b("v"), Ttl::At(1_000), 0);
        assert_eq!(db.get(b"k", 1_000).unwrap().value, b("v"));
        assert!(db.get(b"k", 1_001).is_none());
        assert_eq!(db.len(), 0);
        assert_eq!(db.expires(), 0);
        assert_eq!(db.expired_total(), 1);
        // A key set with a time already past is invisible at once.
        db.set(b("old"), b("v"), Ttl::At(5), 10);
        assert!(!db.contains(b"old", 10));
    }

    #[test]
    fn a_clock_jump_expires_keys_early() {
        let mut db = Db::new();
        let now = 1_700_000_000_000;
        db.set(b("lock"), b("me"), Ttl::At(now + 10_000), now);
        assert!(db.contains(b"lock", now + 9_000));
        // The wall clock jumps 20 s forward: the lease is gone though 10 s have not passed.
        assert!(!db.contains(b"lock", now + 20_000));
    }

    #[test]
    fn the_sweep_removes_exactly_the_keys_whose_time_passed() {
        let mut db = Db::new();
        db.record_effects(true);
        for i in 0..10 {
            db.set(b(&format!("k{i}")), b("v"), Ttl::At(100 + i), 0);
        }
        db.set(b("forever"), b("v"), Ttl::Persist, 0);
        db.take_effects();
        assert_eq!(db.sweep(104, 3), 3);
        assert_eq!(db.sweep(104, 100), 1);
        assert_eq!(db.sweep(104, 100), 0);
        assert_eq!(db.len(), 7);
        assert_eq!(db.expires(), 6);
        let effects = db.take_effects();
        assert_eq!(effects.len(), 4);
        assert_eq!(effects[0], vec![b("DEL"), b("k0")]);
        assert_eq!(db.sweep(i64::MAX, 100), 6);
        assert_eq!(db.len(), 1);
    }

    #[test]
    fn expiries_can_be_kept_replaced_and_removed() {
        let mut db = Db::new();
        db.set(b("k"), b("1"), Ttl::At(50), 0);
        db.set(b("k"), b("2"), Ttl::Keep, 0);
        assert_eq!(db.get(b"k", 0).unwrap().expires_at, Some(50));
        db.set_expiry(b"k", Some(80));
        assert_eq!(db.expires(), 1);
        assert_eq!(db.sweep(60, 10), 0);
        db.set(b("k"), b("3"), Ttl::Persist, 0);
        assert_eq!(db.expires(), 0);
        assert_eq!(db.sweep(i64::MAX, 10), 0);
        assert!(db.remove(b"k", 0));
        assert!(!db.remove(b"k", 0));
        // An expired key is not removed by DEL: it was already gone.
        db.set(b("k"), b("v"), Ttl::At(1), 0);
        assert!(!db.remove(b"k", 2));
    }

    #[test]
    fn nothing_expires_while_loading() {
        let mut db = Db::new();
        db.set(b("k"), b("v"), Ttl::At(1), LOADING);
        assert!(db.contains(b"k", LOADING));
        assert_eq!(db.sweep(LOADING, 10), 0);
        assert!(!db.contains(b"k", 2));
    }

    #[test]
    fn script_effects_are_wrapped_in_a_transaction() {
        let mut db = Db::new();
        db.record_effects(true);
        db.effect(vec![b("SET"), b("a"), b("1")]);
        let start = db.effects_len();
        db.effect(vec![b("DEL"), b("a")]);
        db.wrap_effects_from(start);
        assert_eq!(db.effects_len(), 2, "one effect is not wrapped");
        let start = db.effects_len();
        db.effect(vec![b("SET"), b("a"), b("1")]);
        db.effect(vec![b("INCR"), b("a")]);
        db.wrap_effects_from(start);
        let effects = db.take_effects();
        assert_eq!(effects.len(), 6);
        assert_eq!(effects[2], vec![b("MULTI")]);
        assert_eq!(effects[5], vec![b("EXEC")]);
        let mut off = Db::new();
        off.effect(vec![b("SET")]);
        assert!(off.take_effects().is_empty());
    }
}
