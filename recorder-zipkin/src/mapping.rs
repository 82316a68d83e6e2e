//! From a [`SpanRecord`] to a Zipkin [`Span`].
//!
//! | `SpanRecord` | Zipkin v2 |
//! |---|---|
//! | `trace_id` | `traceId` (16 hex digits for a 64-bit id, 32 for a 128-bit one) |
//! | `span_id` | `id` |
//! | `parent_id` (the first reference, child-of or follows-from) | `parentId`; left out when equal to `id` |
//! | `operation` | `name` (lower-cased) |
//! | `start` | `timestamp`, epoch µs rounded to the nearest µs |
//! | `duration` | `duration`, µs rounded to the nearest µs, at least 1 |
//! | tag `span.kind` = `client`/`server`/`producer`/`consumer` (any case) | `kind` (`CLIENT`, ...); any other value stays a tag |
//! | tag `peer.service` (string) | `remoteEndpoint.serviceName` |
//! | tag `peer.ipv4` (dotted string, or an integer as OpenTracing's `uint32` form) | `remoteEndpoint.ipv4` |
//! | tag `peer.ipv6` (string; an IPv4-mapped address goes to `ipv4`) | `remoteEndpoint.ipv6` |
//! | tag `peer.port` (any integer type, 1 to 65535) | `remoteEndpoint.port` |
//! | `process.service_name`, `process.endpoint` | `localEndpoint` (`serviceName`, `ipv4`, `ipv6`, `port`) |
//! | `process.tags`, then the other span tags | `tags`, values as their `Display` form (`true`, `42`, text), sorted by key; a span tag wins over a process tag of the same key |
//! | tag `error` | kept as a tag, as a string (`"error":"true"`): Zipkin's UI keys on its presence |
//! | log with only an `event` field | annotation whose value is the event's value |
//! | any other log | annotation `key1=v1 key2=v2` (a string value that is empty or holds a space, `=` or `"` is quoted, `"` and `\` escaped); logs with no fields are skipped |
//! | log timestamps | annotation `timestamp`, epoch µs; annotations sorted by timestamp (stable) |
//! | `sampling == Debug` | `debug: true` |
//! | `shared` | `shared: true` (cleared on `CLIENT` spans, as Zipkin does) |
//! | `baggage`, `references` beyond the first | not sent (baggage travels in request headers) |
//!
//! A `peer.*` tag whose value cannot be used (a `peer.port` of 0 or 70000, a `peer.ipv4` that
//! is not an address) stays a tag. Mapping never fails; whether Zipkin would accept the result
//! is [`validate`](crate::validate)'s job.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracer_api::tags::{self, SpanKind};
use tracer_api::{Sampling, SpanRecord, Value};

use crate::model::{Annotation, Endpoint, Kind, Span, Tag, Text};

/// Epoch microseconds of `t`, rounded to the nearest microsecond; negative before the epoch;
/// saturated at the ends of `i64`.
pub fn epoch_micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => micros_rounded(d),
        Err(e) => micros_rounded(e.duration()).saturating_neg(),
    }
}

fn micros_rounded(d: Duration) -> i64 {
    // Whole seconds are whole microseconds, so only the nanoseconds need rounding; 64-bit
    // arithmetic, as the 128-bit division this equals is slow.
    let us = d
        .as_secs()
        .checked_mul(1_000_000)
        .and_then(|s| s.checked_add(u64::from((d.subsec_nanos() + 500) / 1000)));
    us.and_then(|us| i64::try_from(us).ok()).unwrap_or(i64::MAX)
}

/// A duration in microseconds as Zipkin wants it: rounded to the nearest microsecond, at
/// least 1, saturated at `i64::MAX`.
pub fn duration_micros(d: Duration) -> i64 {
    micros_rounded(d).max(1)
}

fn peer_ipv4(v: &Value) -> Option<Ipv4Addr> {
    match v {
        Value::Str(s) => s.parse().ok(),
        v => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Ipv4Addr::from),
    }
}

fn peer_ipv6(v: &Value) -> Option<Ipv6Addr> {
    v.as_str().and_then(|s| s.parse().ok())
}

fn peer_port(v: &Value) -> Option<u16> {
    v.as_u64()
        .and_then(|n| u16::try_from(n).ok())
        .filter(|p| *p != 0)
}

/// Reusable scratch space for mapping many records: keeps its buffers between spans, so
/// mapping a batch allocates only while the buffers grow.
#[derive(Debug, Default)]
pub struct Mapper<'a> {
    tags: Vec<Tag<'a>>,
    annotations: Vec<Annotation<'a>>,
}

impl<'a> Mapper<'a> {
    /// An empty mapper.
    pub fn new() -> Mapper<'a> {
        Mapper::default()
    }

    /// Maps one record. The returned span borrows the record and this mapper until the next
    /// call.
    pub fn map<'m>(&'m mut self, rec: &'a SpanRecord) -> Span<'m>
    where
        'a: 'm,
    {
        self.tags.clear();
        self.annotations.clear();

        let process = &*rec.process;
        let mut local = Endpoint {
            service_name: &process.service_name,
            ipv4: process.endpoint.ipv4,
            ipv6: process.endpoint.ipv6,
            port: process.endpoint.port.unwrap_or(0),
        };
        prefer_ipv4(&mut local);

        for t in &process.tags {
            self.tags.push(Tag {
                key: &t.key,
                value: Text::Value(&t.value),
            });
        }
        let process_tags = self.tags.len();

        let mut kind = None;
        let mut remote = Endpoint::default();
        for t in &rec.tags {
            let used = match &*t.key {
                tags::SPAN_KIND => SpanKind::from_value(&t.value)
                    .map(|k| kind = Some(Kind::from(k)))
                    .is_some(),
                tags::PEER_SERVICE => match t.value.as_str() {
                    Some(s) if !s.is_empty() => {
                        remote.service_name = s;
                        true
                    }
                    _ => false,
                },
                tags::PEER_HOST_IPV4 => peer_ipv4(&t.value)
                    .map(|ip| remote.ipv4 = Some(ip))
                    .is_some(),
                tags::PEER_HOST_IPV6 => peer_ipv6(&t.value)
                    .map(|ip| remote.ipv6 = Some(ip))
                    .is_some(),
                tags::PEER_PORT => peer_port(&t.value).map(|p| remote.port = p).is_some(),
                _ => false,
            };
            if !used {
                self.tags.push(Tag {
                    key: &t.key,
                    value: Text::Value(&t.value),
                });
            }
        }
        prefer_ipv4(&mut remote);

        // Sorted by key; on equal keys a span tag (pushed later, kept later by the stable
        // sort) replaces a process tag.
        if process_tags > 0 || !self.tags.is_sorted_by(|a, b| a.key < b.key) {
            self.tags.sort_by(|a, b| a.key.cmp(b.key));
            self.tags.dedup_by(|later, kept| {
                if later.key == kept.key {
                    std::mem::swap(later, kept);
                    true
                } else {
                    false
                }
            });
        }

        for log in &rec.logs {
            let value = match log.fields.as_slice() {
                [] => continue,
                [only] if only.key == tags::log_fields::EVENT => Text::Value(&only.value),
                fields => Text::Fields(fields),
            };
            self.annotations.push(Annotation {
                timestamp: epoch_micros(log.timestamp),
                value,
            });
        }
        if !self.annotations.is_sorted_by_key(|a| a.timestamp) {
            self.annotations.sort_by_key(|a| a.timestamp);
        }

        let id = rec.span_id.to_u64();
        let parent_id = rec.parent_id.map_or(0, |p| p.to_u64());
        Span {
            trace_id: rec.trace_id.to_u128(),
            parent_id: if parent_id == id { 0 } else { parent_id },
            id,
            kind,
            name: &rec.operation,
            timestamp: epoch_micros(rec.start),
            duration: duration_micros(rec.duration),
            local_endpoint: local,
            remote_endpoint: remote,
            annotations: &self.annotations,
            tags: &self.tags,
            debug: rec.sampling == Sampling::Debug,
            shared: rec.shared && kind != Some(Kind::Client),
        }
    }
}

fn prefer_ipv4(e: &mut Endpoint<'_>) {
    if let Some(v4) = e.ipv6.and_then(|v6| v6.to_ipv4_mapped()) {
        if e.ipv4.is_none() {
            e.ipv4 = Some(v4);
        }
        e.ipv6 = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_match_128_bit_rounding() {
        let reference = |d: Duration| {
            let us = d.as_nanos().saturating_add(500) / 1000;
            i64::try_from(us).unwrap_or(i64::MAX)
        };
        for secs in [
            0u64,
            1,
            1_700_000_000,
            9_223_372_036_854,
            9_223_372_036_855,
            u64::MAX,
        ] {
            for nanos in [0u32, 499, 500, 999, 1_000, 999_499, 999_500, 999_999_999] {
                let d = Duration::new(secs, nanos);
                assert_eq!(micros_rounded(d), reference(d), "{d:?}");
            }
        }
    }
}
