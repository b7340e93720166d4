//! Interned values: every distinct value a partition meets gets a small integer id, which is
//! also the id of the state "the register holds this value".
//!
//! Strings carry a polynomial hash (mod 2⁶¹−1), so that appending to an interned string finds
//! the result's id without building the string unless it is new, and so that the lookahead can
//! ask "is this string a prefix of that one?" in constant time from prefix hashes. Equality is
//! always decided on the strings themselves; the hashes only find candidates.

use hashbrown::HashTable;
use std::hash::BuildHasher;

use crate::value::Value;

const P: u64 = (1 << 61) - 1;
const BASE: u64 = 0x1f3d_5b79_a1c3_e5f7 % P;

#[inline]
fn mul(a: u64, b: u64) -> u64 {
    let x = u128::from(a) * u128::from(b);
    let r = ((x as u64) & P) + ((x >> 61) as u64);
    if r >= P { r - P } else { r }
}

#[inline]
fn add(a: u64, b: u64) -> u64 {
    let r = a + b;
    if r >= P { r - P } else { r }
}

fn pow(mut b: u64, mut e: u64) -> u64 {
    let mut r = 1;
    while e > 0 {
        if e & 1 == 1 {
            r = mul(r, b);
        }
        b = mul(b, b);
        e >>= 1;
    }
    r
}

/// The polynomial hash of `s`.
pub fn text_hash(s: &str) -> u64 {
    s.bytes()
        .fold(0, |h, c| add(mul(h, BASE), u64::from(c) + 1))
}

/// Hashes of every prefix of `s`: element `k` is the hash of `s[..k]`.
pub fn prefix_hashes(s: &str) -> Vec<u64> {
    let mut out = Vec::with_capacity(s.len() + 1);
    out.push(0);
    let mut h = 0;
    for c in s.bytes() {
        h = add(mul(h, BASE), u64::from(c) + 1);
        out.push(h);
    }
    out
}

/// A string's hash and length in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Text {
    pub hash: u64,
    pub len: u32,
}

#[derive(Debug, Default)]
pub struct Interner {
    values: Vec<Value>,
    /// Per value: its text hash, if it is a string.
    texts: Vec<Option<Text>>,
    table: HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    bytes: usize,
}

impl Interner {
    fn table_hash(&self, v: &Value, text: Option<Text>) -> u64 {
        match text {
            Some(t) => t.hash ^ u64::from(t.len).rotate_left(32),
            None => self.hasher.hash_one(v),
        }
    }

    fn text_of(v: &Value) -> Option<Text> {
        match v {
            Value::Str(s) => Some(Text {
                hash: text_hash(s),
                len: s.len() as u32,
            }),
            _ => None,
        }
    }

    pub fn intern(&mut self, v: &Value) -> u32 {
        let text = Interner::text_of(v);
        let h = self.table_hash(v, text);
        let values = &self.values;
        if let Some(&id) = self.table.find(h, |&id| values[id as usize] == *v) {
            return id;
        }
        self.insert(v.clone(), text, h)
    }

    fn insert(&mut self, v: Value, text: Option<Text>, h: u64) -> u32 {
        let id = self.values.len() as u32;
        self.bytes += std::mem::size_of::<Value>() + 24 + text.map_or(0, |t| t.len as usize);
        self.values.push(v);
        self.texts.push(text);
        let (values, texts, hasher) = (&self.values, &self.texts, &self.hasher);
        self.table
            .insert_unique(h, id, |&id| match texts[id as usize] {
                Some(t) => t.hash ^ u64::from(t.len).rotate_left(32),
                None => hasher.hash_one(&values[id as usize]),
            });
        id
    }

    pub fn value(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }

    /// The hash and length of a string value.
    pub fn text(&self, id: u32) -> Option<Text> {
        self.texts[id as usize]
    }

    /// The id of string `a` followed by string `b` (`None` if either is not a string). Builds
    /// the string only if it is new.
    pub fn append(&mut self, a: u32, b: u32) -> Option<u32> {
        let (ta, tb) = (self.text(a)?, self.text(b)?);
        let joined = Text {
            hash: add(mul(ta.hash, pow(BASE, u64::from(tb.len))), tb.hash),
            len: ta.len + tb.len,
        };
        let h = joined.hash ^ u64::from(joined.len).rotate_left(32);
        let (Value::Str(sa), Value::Str(sb)) = (self.value(a), self.value(b)) else {
            return None;
        };
        let values = &self.values;
        let found = self.table.find(h, |&id| match &values[id as usize] {
            Value::Str(c) => {
                c.len() == joined.len as usize && c.starts_with(&**sa) && c.ends_with(&**sb)
            }
            _ => false,
        });
        if let Some(&id) = found {
            return Some(id);
        }
        let s: Box<str> = format!("{sa}{sb}").into();
        Some(self.insert(Value::Str(s), Some(joined), h))
    }

    /// Approximate heap bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes + self.table.capacity() * 5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_finds_existing_strings_and_hashes_agree() {
        let mut i = Interner::default();
        let ab = i.intern(&Value::str("ab"));
        let a = i.intern(&Value::str("a"));
        let b = i.intern(&Value::str("b"));
        assert_eq!(i.append(a, b), Some(ab));
        let abb = i.append(ab, b).unwrap();
        assert_eq!(i.value(abb), &Value::str("abb"));
        assert_eq!(i.text(abb).unwrap().hash, text_hash("abb"));
        assert_eq!(i.intern(&Value::str("abb")), abb);
        assert_eq!(prefix_hashes("abb")[2], text_hash("ab"));
        let one = i.intern(&Value::Int(1));
        assert_eq!(i.append(one, a), None);
        assert_eq!(i.intern(&Value::Int(1)), one);
    }
}
