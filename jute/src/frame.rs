//! Framing: every message on a ZooKeeper client connection, both ways, is a 4-byte big-endian
//! length and then that many bytes of records.
//!
//! ```text
//!  socket bytes ──▶ buffer ──FrameDecoder::decode──▶ Ok(Some((body, used))) | Ok(None): need more | Err
//!  records ──frame(out, |body| …)──▶ length + body appended to out ──▶ socket
//! ```
//!
//! The length is checked against the maximum (`jute.maxbuffer`) as soon as its 4 bytes are
//! there, so a peer announcing a huge frame is refused before a byte of it is buffered: the
//! owner of the socket should close the connection on any error, as ZooKeeper does.

use crate::Error;

/// ZooKeeper's default `jute.maxbuffer`: 0xfffff bytes, 1 MiB - 1.
pub const MAX_BUFFER: usize = 0xfffff;

/// Cuts frames off the front of a byte buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameDecoder {
    max: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(MAX_BUFFER)
    }
}

impl FrameDecoder {
    /// A decoder refusing frames whose body is longer than `max` bytes.
    pub fn new(max: usize) -> FrameDecoder {
        FrameDecoder { max }
    }

    /// The largest body this decoder accepts.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Reads one frame from the front of `buf`: `Ok(None)` if it has not all arrived (read
    /// more and call again with the longer buffer), else its body and how many bytes of `buf`
    /// it took (the 4 of the length included). A negative or oversized length is an error as
    /// soon as the length itself has arrived.
    pub fn decode<'a>(&self, buf: &'a [u8]) -> Result<Option<(&'a [u8], usize)>, Error> {
        let Some(prefix) = buf.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = i32::from_be_bytes(*prefix);
        let body = match usize::try_from(len) {
            Ok(body) if body <= self.max => body,
            _ => return Err(Error::FrameLength { len, max: self.max }),
        };
        Ok(buf.get(4..4 + body).map(|body| (body, 4 + body.len())))
    }
}

/// Appends one frame to `out`: the records `body` writes, preceded by their length.
pub fn frame(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    body(out);
    // A body never nears 2 GiB (see `wire::put_len`); saturating keeps it from turning negative.
    let len = i32::try_from(out.len() - at - 4).unwrap_or(i32::MAX);
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn needs_the_length_then_the_body() {
        let d = FrameDecoder::default();
        assert_eq!(d.decode(&[]), Ok(None));
        assert_eq!(d.decode(&[0, 0, 0]), Ok(None));
        assert_eq!(d.decode(&[0, 0, 0, 2, 9]), Ok(None));
        assert_eq!(d.decode(&[0, 0, 0, 2, 9, 8, 7]), Ok(Some((&[9, 8][..], 6))));
        assert_eq!(d.decode(&[0, 0, 0, 0]), Ok(Some((&[][..], 4))));
    }

    #[test]
    fn oversized_and_negative_lengths_are_refused_before_the_body() {
        let d = FrameDecoder::default();
        assert_eq!(d.decode(&[0, 0x0f, 0xff, 0xff]), Ok(None));
        assert_eq!(
            d.decode(&[0, 0x10, 0, 0]),
            Err(Error::FrameLength {
                len: 0x100000,
                max: MAX_BUFFER
            })
        );
        assert_eq!(
            d.decode(&[0xff, 0xff, 0xff, 0xff]),
            Err(Error::FrameLength {
                len: -1,
                max: MAX_BUFFER
            })
        );
        assert_eq!(
            FrameDecoder::new(3).decode(&[0, 0, 0, 4]),
            Err(Error::FrameLength { len: 4, max: 3 })
        );
    }

    #[test]
    fn frame_writes_the_length_of_what_follows() {
        let mut out = vec![0xaa];
        frame(&mut out, |body| body.extend_from_slice(b"xyz"));
        assert_eq!(out, [0xaa, 0, 0, 0, 3, b'x', b'y', b'z']);
    }

    proptest! {
        #[test]
        fn frames_come_back_one_by_one(bodies in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..40), 0..6)) {
            let mut out = Vec::new();
            for b in &bodies {
                frame(&mut out, |o| o.extend_from_slice(b));
            }
            let d = FrameDecoder::default();
            let mut at = 0;
            for b in &bodies {
                let (body, used) = d.decode(&out[at..]).unwrap().unwrap();
                prop_assert_eq!(body, &b[..]);
                at += used;
            }
            prop_assert_eq!(at, out.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = FrameDecoder::new(8).decode(&bytes);
        }
    }
}
