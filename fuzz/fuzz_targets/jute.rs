//! `jute`: ZooKeeper's client protocol. The input is a connection's byte stream, cut into
//! frames as a server cuts it: the first frame is read as the handshake (both ways), every
//! later one as a request and as a reply. Beyond "never panics": the frame decoder never
//! claims more bytes than it was given, and whatever decodes re-encodes into bytes that
//! decode to the same thing.
#![no_main]

use jute::{
    ConnectRequest, ConnectResponse, FrameDecoder, OpCode, Record, Reply, decode_reply,
    decode_request, encode_reply, encode_request, frame,
};
use libfuzzer_sys::fuzz_target;

/// A small maximum, so that oversized lengths are reached as well as accepted ones.
const MAX: usize = 4096;

fn body(bytes: &[u8]) -> &[u8] {
    let (body, used) = FrameDecoder::new(MAX)
        .decode(bytes)
        .expect("an encoded frame decodes")
        .expect("an encoded frame is whole");
    assert_eq!(used, bytes.len(), "one frame, all of it");
    body
}

fn handshake(body: &[u8]) {
    if let Ok(request) = ConnectRequest::decode(body) {
        assert_eq!(ConnectRequest::decode(&request.encode()), Ok(request));
    }
    if let Ok(response) = ConnectResponse::decode(body) {
        assert_eq!(ConnectResponse::decode(&response.encode()), Ok(response));
    }
}

fn request(body: &[u8]) {
    if let Ok((header, request)) = decode_request(body) {
        let mut out = Vec::new();
        encode_request(&mut out, header.xid, &request);
        assert_eq!(decode_request(self::body(&out)), Ok((header, request)));
    }
}

/// The reply read as an answer to the op the request reading of the same bytes names.
fn reply(body: &[u8]) {
    let op = |_| {
        OpCode::from_i32(
            body.get(4..8)
                .map_or(0, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        )
    };
    if let Ok(reply) = decode_reply(body, op) {
        let mut out = Vec::new();
        match &reply {
            Reply::Notification { zxid, event } => {
                jute::encode_notification(&mut out, *zxid, event)
            }
            Reply::Response { header, response } => encode_reply(&mut out, header, response),
        }
        assert_eq!(decode_reply(self::body(&out), op), Ok(reply));
    }
}

fuzz_target!(|data: &[u8]| {
    let decoder = FrameDecoder::new(MAX);
    let mut rest = data;
    let mut first = true;
    while let Ok(Some((body, used))) = decoder.decode(rest) {
        assert!(used <= rest.len() && used == body.len() + 4);
        if first {
            handshake(body);
            first = false;
        } else {
            request(body);
            reply(body);
        }
        rest = &rest[used..];
    }
    // The framing helper agrees with the decoder on whatever is left.
    let mut out = Vec::new();
    frame(&mut out, |o| {
        o.extend_from_slice(&rest[..rest.len().min(MAX)])
    });
    assert_eq!(self::body(&out), &rest[..rest.len().min(MAX)]);
});
