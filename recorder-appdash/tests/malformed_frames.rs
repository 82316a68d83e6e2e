//! The public frame decoder against malformed streams, as a collector reading a socket sees
//! them: every case is an error (never a panic, never a wait for bytes a bad prefix
//! announced), and frames before the bad one are still delivered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use recorder_appdash::wire::{
    decode_frames, encode_frame, Annotation, CollectPacket, DecodeError, FrameDecoder, WireSpanId,
    MAX_FRAME_SIZE,
};

fn good() -> CollectPacket {
    CollectPacket {
        span_id: WireSpanId {
            trace: 7,
            span: 8,
            parent: 0,
        },
        annotations: vec![
            Annotation::new("Name", "op"),
            Annotation::marker("_schema:name"),
        ],
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    let mut n = body.len() as u64;
    while n >= 0x80 {
        v.push((n as u8) | 0x80);
        n >>= 7;
    }
    v.push(n as u8);
    v.extend_from_slice(body);
    v
}

/// Feeds `bytes` in chunks of `chunk` after one good frame; returns the packets and the error.
fn feed(bytes: &[u8], chunk: usize) -> (Vec<CollectPacket>, Option<DecodeError>) {
    let mut stream = Vec::new();
    encode_frame(&good(), &mut stream).unwrap();
    stream.extend_from_slice(bytes);
    let mut d = FrameDecoder::new();
    let mut packets = Vec::new();
    for piece in stream.chunks(chunk) {
        d.push(piece);
        loop {
            match d.next_packet() {
                Ok(Some(p)) => packets.push(p),
                Ok(None) => break,
                Err(e) => return (packets, Some(e)),
            }
        }
    }
    (packets, d.finish().err())
}

#[test]
fn every_malformed_stream_is_an_error_after_the_good_frames() {
    let body = {
        let mut v = Vec::new();
        good().encode(&mut v);
        v
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("11-byte varint", vec![0x80; 11]),
        ("prefix over 1 MiB", frame(&vec![0; MAX_FRAME_SIZE + 1])),
        (
            "prefix of 2^63",
            vec![0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
        ),
        ("truncated frame", frame(&body)[..10].to_vec()),
        ("truncated prefix", vec![0x80]),
        ("empty message", frame(&[])),
        ("garbage message", frame(b"GET / HTTP/1.1\r\n\r\n")),
        ("wire type 6", frame(&[0x0e])),
        (
            "missing span",
            frame(&[0x0b, 0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0x0c]),
        ),
        (
            "key not UTF-8",
            frame(&[&body[..29], &[0x2b, 0x32, 1, 0xff, 0x2c][..]].concat()),
        ),
        (
            "annotation never closed",
            frame(&[&body[..29], &[0x2b, 0x32, 1, b'k'][..]].concat()),
        ),
    ];
    for (name, bytes) in cases {
        for chunk in [1, 7, 4096] {
            let (packets, err) = feed(&bytes, chunk);
            assert_eq!(packets, vec![good()], "{name}, chunks of {chunk}");
            let err = err.unwrap_or_else(|| panic!("{name}: no error"));
            assert!(!err.to_string().is_empty());
        }
        assert!(decode_frames(&bytes).is_err(), "{name}");
    }
}

#[test]
fn an_oversized_prefix_is_refused_without_buffering_its_body() {
    let mut d = FrameDecoder::new();
    // 100 MiB announced; only the prefix and a few bytes sent.
    d.push(&[0x80, 0x80, 0x80, 0x32, 1, 2, 3]);
    assert!(matches!(
        d.next_packet(),
        Err(DecodeError::FrameTooLarge { len, .. }) if len == 100 << 20
    ));
    assert_eq!(d.buffered(), 0);
    // A smaller limit applies too.
    let mut d = FrameDecoder::with_max_frame_size(16);
    let mut bytes = Vec::new();
    encode_frame(&good(), &mut bytes).unwrap();
    d.push(&bytes);
    assert!(matches!(
        d.next_packet(),
        Err(DecodeError::FrameTooLarge { max: 16, .. })
    ));
}
