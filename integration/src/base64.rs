//! The two base64 forms the harness needs: URL-safe without padding (Kafka cluster ids) and
//! standard with padding, decoded (Appdash's JSON carries annotation values so).

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// URL-safe base64 without padding.
pub(crate) fn encode_url_no_pad(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            let idx = ((n >> (18 - 6 * i)) & 63) as usize;
            out.push(char::from(URL[idx]));
        }
    }
    out
}

/// Decodes standard base64 (padding optional); `None` on any other character.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.trim_end_matches('=').bytes() {
        let v = STD.iter().position(|&s| s == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(encode_url_no_pad(b"\xfb\xff"), "-_8");
        assert_eq!(encode_url_no_pad(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode_url_no_pad(b"fo"), "Zm8");
        assert_eq!(decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(decode("Zm8=").unwrap(), b"fo");
        assert_eq!(decode("R0VUIC9ob21l").unwrap(), b"GET /home");
        assert_eq!(decode("").unwrap(), b"");
        assert!(decode("a b").is_none());
    }
}
