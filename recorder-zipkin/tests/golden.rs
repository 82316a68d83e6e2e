//! Golden tests: the canonical Zipkin examples (Zipkin's `SpanBytesEncoderTest`), byte for
//! byte in JSON, and exact bytes or sizes in proto3.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;

use recorder_zipkin::model::{Annotation, Endpoint, Kind, Span, Tag, Text};
use recorder_zipkin::{json, proto};

const FRONTEND: Endpoint<'static> = Endpoint {
    service_name: "frontend",
    ipv4: Some(Ipv4Addr::new(127, 0, 0, 1)),
    ipv6: None,
    port: 0,
};
const BACKEND: Endpoint<'static> = Endpoint {
    service_name: "backend",
    ipv4: Some(Ipv4Addr::new(192, 168, 99, 101)),
    ipv6: None,
    port: 9000,
};
const ISAO01: Endpoint<'static> = Endpoint {
    service_name: "isao01",
    ipv4: Some(Ipv4Addr::new(10, 23, 14, 72)),
    ipv6: None,
    port: 0,
};

const ANNOTATIONS: [Annotation<'static>; 2] = [
    Annotation {
        timestamp: 1472470996238000,
        value: Text::Str("foo"),
    },
    Annotation {
        timestamp: 1472470996403000,
        value: Text::Str("bar"),
    },
];
const TAGS: [Tag<'static>; 2] = [
    Tag {
        key: "clnt/finagle.version",
        value: Text::Str("6.45.0"),
    },
    Tag {
        key: "http.path",
        value: Text::Str("/api"),
    },
];

fn client_span() -> Span<'static> {
    Span {
        trace_id: 0x7180c278b62e8f6a216a2aea45d08fc9,
        parent_id: 0x6b221d5bc9e6496c,
        id: 0x5b4185666d50f68b,
        kind: Some(Kind::Client),
        name: "get",
        timestamp: 1472470996199000,
        duration: 207000,
        local_endpoint: FRONTEND,
        remote_endpoint: BACKEND,
        annotations: &ANNOTATIONS,
        tags: &TAGS,
        debug: false,
        shared: false,
    }
}

fn local_span() -> Span<'static> {
    Span {
        trace_id: 0xdc955a1d4768875d,
        id: 0xdc955a1d4768875d,
        name: "encode",
        timestamp: 1510256710021866,
        duration: 1117,
        local_endpoint: ISAO01,
        ..Span::default()
    }
}

const ERROR_TAG: [Tag<'static>; 1] = [Tag {
    key: "error",
    value: Text::Str(""),
}];

fn error_span() -> Span<'static> {
    Span {
        trace_id: 0xdc955a1d4768875d,
        id: 0xdc955a1d4768875d,
        kind: Some(Kind::Client),
        local_endpoint: Endpoint {
            service_name: "isao01",
            ..Endpoint::default()
        },
        tags: &ERROR_TAG,
        ..Span::default()
    }
}

fn json_of(span: &Span<'_>) -> String {
    let mut out = Vec::new();
    json::write_span(span, &mut out);
    String::from_utf8(out).unwrap()
}

fn proto_of(span: &Span<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    proto::write_span(span, &mut out);
    out
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn client_span_json_is_zipkins() {
    assert_eq!(
        json_of(&client_span()),
        r#"{"traceId":"7180c278b62e8f6a216a2aea45d08fc9","parentId":"6b221d5bc9e6496c","id":"5b4185666d50f68b","kind":"CLIENT","name":"get","timestamp":1472470996199000,"duration":207000,"localEndpoint":{"serviceName":"frontend","ipv4":"127.0.0.1"},"remoteEndpoint":{"serviceName":"backend","ipv4":"192.168.99.101","port":9000},"annotations":[{"timestamp":1472470996238000,"value":"foo"},{"timestamp":1472470996403000,"value":"bar"}],"tags":{"clnt/finagle.version":"6.45.0","http.path":"/api"}}"#
    );
    assert_eq!(proto_of(&client_span()).len(), 182);
}

#[test]
fn local_span_json_and_exact_proto_bytes() {
    assert_eq!(
        json_of(&local_span()),
        r#"{"traceId":"dc955a1d4768875d","id":"dc955a1d4768875d","name":"encode","timestamp":1510256710021866,"duration":1117,"localEndpoint":{"serviceName":"isao01","ipv4":"10.23.14.72"}}"#
    );
    let expect = unhex(
        "0a 38 0a 08 dc 95 5a 1d 47 68 87 5d 1a 08 dc 95 5a 1d 47 68 87 5d
         2a 06 65 6e 63 6f 64 65 31 ea 72 b8 0a 92 5d 05 00 38 dd 08
         42 0e 0a 06 69 73 61 6f 30 31 12 04 0a 17 0e 48",
    );
    let got = proto_of(&local_span());
    assert_eq!(got, expect, "{}", proto::hex_dump(&got));
    assert_eq!(got.len(), 58);
}

#[test]
fn error_span_json_and_exact_proto_bytes() {
    assert_eq!(
        json_of(&error_span()),
        r#"{"traceId":"dc955a1d4768875d","id":"dc955a1d4768875d","kind":"CLIENT","localEndpoint":{"serviceName":"isao01"},"tags":{"error":""}}"#
    );
    let expect = unhex(
        "0a 2b 0a 08 dc955a1d4768875d 1a 08 dc955a1d4768875d 20 01
         42 08 0a 06 69 73 61 6f 30 31 5a 09 0a 05 65 72 72 6f 72 12 00",
    );
    let got = proto_of(&error_span());
    assert_eq!(got, expect, "{}", proto::hex_dump(&got));
    assert_eq!(got.len(), 45);
}

#[test]
fn sixty_four_bit_trace_id_stays_sixteen_digits() {
    let span = Span {
        trace_id: 0x216a2aea45d08fc9,
        ..client_span()
    };
    assert_eq!(
        json_of(&span),
        r#"{"traceId":"216a2aea45d08fc9","parentId":"6b221d5bc9e6496c","id":"5b4185666d50f68b","kind":"CLIENT","name":"get","timestamp":1472470996199000,"duration":207000,"localEndpoint":{"serviceName":"frontend","ipv4":"127.0.0.1"},"remoteEndpoint":{"serviceName":"backend","ipv4":"192.168.99.101","port":9000},"annotations":[{"timestamp":1472470996238000,"value":"foo"},{"timestamp":1472470996403000,"value":"bar"}],"tags":{"clnt/finagle.version":"6.45.0","http.path":"/api"}}"#
    );
    assert_eq!(proto_of(&span).len(), 174);
}

#[test]
fn shared_server_span() {
    let span = Span {
        kind: Some(Kind::Server),
        shared: true,
        ..client_span()
    };
    assert_eq!(
        json_of(&span),
        r#"{"traceId":"7180c278b62e8f6a216a2aea45d08fc9","parentId":"6b221d5bc9e6496c","id":"5b4185666d50f68b","kind":"SERVER","name":"get","timestamp":1472470996199000,"duration":207000,"localEndpoint":{"serviceName":"frontend","ipv4":"127.0.0.1"},"remoteEndpoint":{"serviceName":"backend","ipv4":"192.168.99.101","port":9000},"annotations":[{"timestamp":1472470996238000,"value":"foo"},{"timestamp":1472470996403000,"value":"bar"}],"tags":{"clnt/finagle.version":"6.45.0","http.path":"/api"},"shared":true}"#
    );
    assert_eq!(proto_of(&span).len(), 184);
}

#[test]
fn special_characters_are_escaped_like_zipkin() {
    let ann = [Annotation {
        timestamp: 1,
        value: Text::Str("\u{2028} and \u{2029}"),
    }];
    let tags = [Tag {
        key: "\"foo",
        value: Text::Str(
            "Database error: ORA-00942:\u{2028} and \u{2029} table or view does not exist\n",
        ),
    }];
    let span = Span {
        trace_id: 1,
        id: 1,
        name: "\"\\\t\u{8}\n\r\u{c}",
        annotations: &ann,
        tags: &tags,
        ..Span::default()
    };
    assert_eq!(
        json_of(&span),
        r#"{"traceId":"0000000000000001","id":"0000000000000001","name":"\"\\\t\b\n\r\f","annotations":[{"timestamp":1,"value":"\u2028 and \u2029"}],"tags":{"\"foo":"Database error: ORA-00942:\u2028 and \u2029 table or view does not exist\n"}}"#
    );
    assert_eq!(proto_of(&span).len(), 133);
}

#[test]
fn minimum_span() {
    let span = Span {
        trace_id: 0x7180c278b62e8f6a216a2aea45d08fc9,
        id: 0x5b4185666d50f68b,
        ..Span::default()
    };
    assert_eq!(
        json_of(&span),
        r#"{"traceId":"7180c278b62e8f6a216a2aea45d08fc9","id":"5b4185666d50f68b"}"#
    );
    assert_eq!(proto_of(&span).len(), 30);
}

#[test]
fn endpoints_without_service_names() {
    let span = Span {
        local_endpoint: Endpoint {
            service_name: "",
            ..FRONTEND
        },
        ..client_span()
    };
    assert!(json_of(&span).contains(r#""localEndpoint":{"ipv4":"127.0.0.1"},"#));
    assert_eq!(proto_of(&span).len(), 172);
    let span = Span {
        remote_endpoint: Endpoint {
            service_name: "",
            ..BACKEND
        },
        ..client_span()
    };
    assert!(json_of(&span).contains(r#""remoteEndpoint":{"ipv4":"192.168.99.101","port":9000},"#));
    assert_eq!(proto_of(&span).len(), 173);
}

#[test]
fn root_server_span_without_annotations() {
    let tags = [
        Tag {
            key: "http.path",
            value: Text::Str("/rs/A"),
        },
        Tag {
            key: "location",
            value: Text::Str("T67792"),
        },
        Tag {
            key: "other",
            value: Text::Str("A"),
        },
    ];
    let span = Span {
        trace_id: 0xdc955a1d4768875d,
        id: 0xdc955a1d4768875d,
        kind: Some(Kind::Server),
        name: "get",
        timestamp: 1510256710021866,
        duration: 1117,
        local_endpoint: ISAO01,
        tags: &tags,
        ..Span::default()
    };
    assert_eq!(
        json_of(&span),
        r#"{"traceId":"dc955a1d4768875d","id":"dc955a1d4768875d","kind":"SERVER","name":"get","timestamp":1510256710021866,"duration":1117,"localEndpoint":{"serviceName":"isao01","ipv4":"10.23.14.72"},"tags":{"http.path":"/rs/A","location":"T67792","other":"A"}}"#
    );
    assert_eq!(proto_of(&span).len(), 109);
    assert_eq!(
        proto_of(&Span {
            duration: 0,
            ..span
        })
        .len(),
        106
    );
    assert_eq!(
        proto_of(&Span {
            shared: true,
            ..span
        })
        .len(),
        111
    );
    assert!(json_of(&Span {
        duration: 0,
        ..span
    })
    .contains(r#""timestamp":1510256710021866,"localEndpoint""#));
}

#[test]
fn lists_and_names_lower_cased() {
    let a = Span {
        name: "GET /Home",
        local_endpoint: Endpoint {
            service_name: "FrontEnd",
            ..Endpoint::default()
        },
        debug: true,
        ..local_span()
    };
    let b = error_span();
    let mut out = Vec::new();
    json::write_list([&a, &b], &mut out);
    let s = String::from_utf8(out).unwrap();
    assert!(s.starts_with(
        r#"[{"traceId":"dc955a1d4768875d","id":"dc955a1d4768875d","name":"get /home","#
    ));
    assert!(s.contains(r#""localEndpoint":{"serviceName":"frontend"},"debug":true},{"traceId""#));
    assert!(s.ends_with("}]"));
    let mut empty = Vec::new();
    json::write_list(std::iter::empty::<&Span<'_>>(), &mut empty);
    assert_eq!(empty, b"[]");

    let mut p = Vec::new();
    proto::write_list([&local_span(), &error_span()], &mut p);
    let mut expect = proto_of(&local_span());
    expect.extend(proto_of(&error_span()));
    assert_eq!(p, expect);
}
