//! Plain HTTP `GET`s to the peers' query APIs.

use std::sync::OnceLock;
use std::time::Duration;

use crate::error::{HarnessError, Result};

/// One blocking client for the process (made on first use, on the calling thread, which
/// must not be inside an async runtime: the tests are plain `#[test]`s).
fn client() -> Result<&'static reqwest::blocking::Client> {
    static CLIENT: OnceLock<Result<reqwest::blocking::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(20))
                .connect_timeout(Duration::from_secs(5))
                .no_proxy()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| HarnessError::Query(format!("cannot build the HTTP client: {e}")))
}

/// A response: status code and body text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The body, decoded as UTF-8 (lossily).
    pub body: String,
}

/// `GET url`. A transport error (connection refused, timeout) is an `Err`; any status is an
/// `Ok`.
pub fn get(url: &str) -> Result<Response> {
    let resp = client()?
        .get(url)
        .header("b3", "0")
        .send()
        .map_err(|e| HarnessError::Query(format!("GET {url}: {e}")))?;
    let status = resp.status().as_u16();
    let body = resp
        .text()
        .map_err(|e| HarnessError::Query(format!("GET {url}: reading the body: {e}")))?;
    Ok(Response { status, body })
}

/// `GET url`, expecting 200 and a JSON body.
pub fn get_json(url: &str) -> Result<serde_json::Value> {
    let r = get(url)?;
    if r.status != 200 {
        return Err(HarnessError::Query(format!(
            "GET {url}: status {}: {}",
            r.status,
            r.body.chars().take(300).collect::<String>()
        )));
    }
    serde_json::from_str(&r.body)
        .map_err(|e| HarnessError::Query(format!("GET {url}: the body is not JSON: {e}")))
}
