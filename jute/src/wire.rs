//! Jute's primitive encodings, the building blocks of every record: `int` (i32 big-endian),
//! `long` (i64 big-endian), `boolean` (one byte), `buffer` and `ustring` (an int length, then
//! the bytes; -1 is null), `vector` (an int count, then the items; -1 is null).
//!
//! [`Reader`] walks a frame's body and never reads past it: a field that does not fit is an
//! [`Error`], never a panic, and a count is never trusted for an allocation. Writing appends
//! to a `Vec<u8>` and cannot fail.
//!
//! Null is read as empty (a null buffer as no bytes, a null vector as no items): no request
//! the server understands gives null a meaning of its own, and ZooKeeper's own client never
//! sends one. Writing always writes the empty value, so decode → encode → decode is stable.

use crate::Error;

/// How many items of a vector are reserved for before they are read: a count of two billion
/// followed by nothing costs no more than a count of 1024.
const PREALLOCATE: usize = 1024;

/// A cursor over the body of one frame.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Ends the record `what`: every byte of the frame must have been read.
    pub fn finish(&self, what: &'static str) -> Result<(), Error> {
        match self.buf.len() {
            0 => Ok(()),
            count => Err(Error::TrailingBytes { what, count }),
        }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        if self.buf.len() < n {
            return Err(Error::Truncated { what });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub fn int(&mut self, what: &'static str) -> Result<i32, Error> {
        self.array(what).map(i32::from_be_bytes)
    }

    pub fn long(&mut self, what: &'static str) -> Result<i64, Error> {
        self.array(what).map(i64::from_be_bytes)
    }

    /// A boolean: any byte but 0 is true, as Java's `DataInput.readBoolean` reads it.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, Error> {
        self.array::<1>(what).map(|[b]| b != 0)
    }

    /// A length or count: -1 (null) is 0; other negatives are an error.
    fn length(&mut self, what: &'static str) -> Result<usize, Error> {
        match self.int(what)? {
            -1 => Ok(0),
            len => usize::try_from(len).map_err(|_| Error::BadLength { what, len }),
        }
    }

    pub fn buffer(&mut self, what: &'static str) -> Result<Vec<u8>, Error> {
        let len = self.length(what)?;
        if len > self.buf.len() {
            return Err(Error::BadLength {
                what,
                len: len as i32,
            });
        }
        self.take(len, what).map(<[u8]>::to_vec)
    }

    pub fn ustring(&mut self, what: &'static str) -> Result<String, Error> {
        String::from_utf8(self.buffer(what)?).map_err(|_| Error::InvalidUtf8 { what })
    }

    /// A vector whose items `item` reads. Each item takes at least one byte, so a count
    /// larger than what is left of the frame is an error before any item is read.
    pub fn vector<T>(
        &mut self,
        what: &'static str,
        mut item: impl FnMut(&mut Reader<'a>) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        let count = self.length(what)?;
        if count > self.buf.len() {
            return Err(Error::BadLength {
                what,
                len: count as i32,
            });
        }
        let mut items = Vec::with_capacity(count.min(PREALLOCATE));
        for _ in 0..count {
            items.push(item(self)?);
        }
        Ok(items)
    }

    /// A vector of strings.
    pub fn strings(&mut self, what: &'static str) -> Result<Vec<String>, Error> {
        self.vector(what, |r| r.ustring(what))
    }
}

pub fn put_int(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn put_long(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn put_bool(out: &mut Vec<u8>, v: bool) {
    out.push(u8::from(v));
}

/// A length or count. Nothing the codec writes comes near 2 GiB (a frame is at most
/// `jute.maxbuffer`), so the saturation is never reached in practice; it only keeps a
/// caller's mistake from wrapping into a negative (null) length.
fn put_len(out: &mut Vec<u8>, len: usize) {
    put_int(out, i32::try_from(len).unwrap_or(i32::MAX));
}

pub fn put_buffer(out: &mut Vec<u8>, v: &[u8]) {
    put_len(out, v.len());
    out.extend_from_slice(v);
}

pub fn put_ustring(out: &mut Vec<u8>, v: &str) {
    put_buffer(out, v.as_bytes());
}

pub fn put_vector<T>(out: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
    put_len(out, items.len());
    for it in items {
        item(out, it);
    }
}

pub fn put_strings(out: &mut Vec<u8>, items: &[String]) {
    put_vector(out, items, |out, s| put_ustring(out, s));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_are_big_endian_and_length_prefixed() {
        let mut out = Vec::new();
        put_int(&mut out, 1);
        put_long(&mut out, -2);
        put_bool(&mut out, true);
        put_ustring(&mut out, "ab");
        put_strings(&mut out, &["x".to_string()]);
        assert_eq!(
            out,
            [
                0, 0, 0, 1, //
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, //
                1,    //
                0, 0, 0, 2, b'a', b'b', //
                0, 0, 0, 1, 0, 0, 0, 1, b'x'
            ]
        );
        let mut r = Reader::new(&out);
        assert_eq!(r.int("i"), Ok(1));
        assert_eq!(r.long("l"), Ok(-2));
        assert_eq!(r.bool("b"), Ok(true));
        assert_eq!(r.ustring("s").as_deref(), Ok("ab"));
        assert_eq!(r.strings("v"), Ok(vec!["x".to_string()]));
        assert_eq!(r.finish("all"), Ok(()));
    }

    #[test]
    fn null_reads_as_empty() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.buffer("data"), Ok(Vec::new()));
        assert_eq!(r.strings("children"), Ok(Vec::new()));
    }

    #[test]
    fn lengths_beyond_the_frame_or_negative_are_errors() {
        let mut r = Reader::new(&[0, 0, 0, 5, b'a']);
        assert_eq!(
            r.buffer("data"),
            Err(Error::BadLength {
                what: "data",
                len: 5
            })
        );
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(
            r.buffer("data"),
            Err(Error::BadLength {
                what: "data",
                len: -2
            })
        );
        // Two billion items announced, none sent: refused before allocating.
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0]);
        assert!(matches!(
            r.strings("children"),
            Err(Error::BadLength { .. })
        ));
        let mut r = Reader::new(&[0, 0, 0]);
        assert_eq!(r.int("xid"), Err(Error::Truncated { what: "xid" }));
        let mut r = Reader::new(&[0, 0, 0, 2, 0xc3, 0x28]);
        assert_eq!(r.ustring("path"), Err(Error::InvalidUtf8 { what: "path" }));
    }

    #[test]
    fn any_nonzero_byte_is_true() {
        assert_eq!(Reader::new(&[7]).bool("watch"), Ok(true));
        assert_eq!(Reader::new(&[0]).bool("watch"), Ok(false));
    }
}
