//! Reading dashboards from a running Grafana over its HTTP API
//! (`/api/search?type=dash-db`, `/api/dashboards/uid/<uid>`), to rescue
//! hand-made dashboards into code and to list those the code lacks.
//!
//! A small HTTP/1.1 client on the standard library: plain `http://` only (for
//! a Grafana behind TLS, `kubectl port-forward svc/grafana 3000:80` and use
//! `http://localhost:3000`), with connect and read timeouts and a size limit.

use infra_syntax::{Code, Diagnostic};
use serde_json::Value as Json;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long to wait for Grafana; `INFRA_HTTP_TIMEOUT` (seconds) overrides it.
fn timeout() -> Duration {
    let secs = std::env::var("INFRA_HTTP_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    Duration::from_secs(secs)
}
const MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// A Grafana server and its API token (`GRAFANA_TOKEN`).
pub struct Grafana {
    host: String,
    port: u16,
    base_path: String,
    token: Option<String>,
    pub url: String,
}

/// One dashboard of a search.
#[derive(Debug, Clone)]
pub struct Hit {
    pub uid: String,
    pub title: String,
    pub folder: String,
}

impl Grafana {
    pub fn new(url: &str, token: Option<String>) -> Result<Grafana, Diagnostic> {
        Grafana::parse(url, token).map_err(failed)
    }

    fn parse(url: &str, token: Option<String>) -> Result<Grafana, String> {
        let rest = match url.split_once("://") {
            Some(("http", rest)) => rest,
            Some(("https", _)) => {
                return Err(format!(
                    "{url}: https is not supported; reach Grafana over http, e.g. `kubectl port-forward svc/grafana 3000:80` and http://localhost:3000"
                ));
            }
            _ => return Err(format!("{url}: expected a URL like http://grafana.lab:3000")),
        };
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| format!("{url}: invalid port `{p}`"))?),
            None => (authority.to_string(), 80),
        };
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let base_path = format!("/{}", path.trim_end_matches('/'));
        let base_path = if base_path == "/" { String::new() } else { base_path };
        Ok(Grafana { host, port, base_path, token, url: url.trim_end_matches('/').to_string() })
    }

    /// GETs a path of the API and parses the JSON answer.
    fn get(&self, path: &str) -> Result<Json, String> {
        let what = format!("{}{path}", self.url);
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("{what}: cannot resolve {}: {e}", self.host))?
            .next()
            .ok_or_else(|| format!("{what}: {} has no address", self.host))?;
        let mut stream =
            TcpStream::connect_timeout(&addr, timeout()).map_err(|e| format!("{what}: cannot connect: {e}"))?;
        stream.set_read_timeout(Some(timeout())).map_err(|e| e.to_string())?;
        stream.set_write_timeout(Some(timeout())).map_err(|e| e.to_string())?;
        let auth = self.token.as_ref().map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let request = format!(
            "GET {}{path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nUser-Agent: infra/{}\r\n{auth}Connection: close\r\n\r\n",
            self.base_path,
            self.host,
            env!("CARGO_PKG_VERSION")
        );
        stream.write_all(request.as_bytes()).map_err(|e| format!("{what}: {e}"))?;
        let mut raw = Vec::new();
        stream.take(MAX_RESPONSE_BYTES).read_to_end(&mut raw).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                format!("{what}: no answer within {} s", timeout().as_secs())
            }
            _ => format!("{what}: {e}"),
        })?;
        let (status, body) = parse_response(&raw).map_err(|e| format!("{what}: {e}"))?;
        match status {
            200..=299 => {}
            401 | 403 => {
                return Err(format!(
                    "{what}: Grafana refused the request ({status}); set GRAFANA_TOKEN to a service account token that may read dashboards"
                ));
            }
            _ => {
                let snippet: String = String::from_utf8_lossy(&body).chars().take(200).collect();
                return Err(format!("{what}: HTTP {status}: {snippet}"));
            }
        }
        serde_json::from_slice(&body).map_err(|e| {
            let snippet: String = String::from_utf8_lossy(&body).chars().take(80).collect();
            format!("{what}: the answer is not JSON ({e}); is this Grafana? It began: {snippet:?}")
        })
    }

    /// Every dashboard Grafana has.
    pub fn search(&self) -> Result<Vec<Hit>, Diagnostic> {
        self.search_pages().map_err(failed)
    }

    fn search_pages(&self) -> Result<Vec<Hit>, String> {
        let answer = self.get("/api/search?type=dash-db&limit=5000")?;
        let items =
            answer.as_array().ok_or_else(|| format!("{}/api/search: expected a list of dashboards", self.url))?;
        Ok(items
            .iter()
            .filter_map(|i| {
                Some(Hit {
                    uid: i.get("uid")?.as_str()?.to_string(),
                    title: i.get("title").and_then(Json::as_str).unwrap_or_default().to_string(),
                    folder: i.get("folderTitle").and_then(Json::as_str).unwrap_or("General").to_string(),
                })
            })
            .collect())
    }

    /// One dashboard's JSON model (unwrapped from the API's envelope).
    pub fn dashboard(&self, uid: &str) -> Result<Json, Diagnostic> {
        self.fetch_dashboard(uid).map_err(failed)
    }

    fn fetch_dashboard(&self, uid: &str) -> Result<Json, String> {
        let answer = self.get(&format!("/api/dashboards/uid/{uid}"))?;
        answer
            .get("dashboard")
            .cloned()
            .ok_or_else(|| format!("{}/api/dashboards/uid/{uid}: no `dashboard` in the answer", self.url))
    }
}

/// Status and body of an HTTP/1.1 response (plain or chunked).
fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end =
        raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("the server closed the connection without an answer")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {status_line:?}"))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = &raw[end + 4..];
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let nl = rest.windows(2).position(|w| w == b"\r\n").ok_or("truncated chunked answer")?;
        let size_text = String::from_utf8_lossy(&rest[..nl]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size in the answer")?;
        rest = &rest[nl + 2..];
        if size == 0 {
            return Ok((status, out));
        }
        if rest.len() < size + 2 {
            return Err("truncated chunked answer".into());
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// A failed request as a diagnostic.
fn failed(message: String) -> Diagnostic {
    Diagnostic::error(Code::Grafana, message)
}

/// A folder name as a directory name: `Homelab Boards` → `homelab-boards`.
pub fn folder_dir(folder: &str) -> String {
    infra_compiler::emit::names::fit_name(&infra_k8s::kinds::name_from(folder), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_answers() {
        let (s, b) = parse_response(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[1]").unwrap();
        assert_eq!((s, b.as_slice()), (200, &b"[1]"[..]));
        let (s, b) =
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!((s, b.as_slice()), (200, &b"[1,2]"[..]));
        assert!(parse_response(b"garbage").is_err());
    }

    #[test]
    fn urls() {
        let g = Grafana::new("http://grafana.lab:3000/sub/", None).unwrap();
        assert_eq!((g.host.as_str(), g.port, g.base_path.as_str()), ("grafana.lab", 3000, "/sub"));
        assert!(Grafana::new("https://x", None).err().unwrap().message.contains("port-forward"));
        assert!(Grafana::new("grafana", None).is_err());
    }
}
