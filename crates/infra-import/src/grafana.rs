//! Reading dashboards from a running Grafana over its HTTP API
//! (`/api/search?type=dash-db`, `/api/dashboards/uid/<uid>`), to rescue
//! hand-made dashboards into code and to list those the code lacks.
//!
//! HTTP and TLS are ureq's (rustls, with the system's trusted certificates),
//! so `https://grafana.lab` works as well as a port-forward. A Grafana is
//! an untrusted peer: one overall deadline per request (a server that
//! trickles bytes cannot hang a command), bounded answers, uids escaped in
//! paths, and neither the token nor a password of the URL ever in a message.

use infra_syntax::diagnostic::render::escape;
use infra_syntax::json::JsonError;
use infra_syntax::{Code, Diagnostic};
use serde::Deserialize;
use serde_json::Value as Json;
use std::time::Duration;

/// The largest search answer read: thousands of dashboards fit in far less.
const MAX_SEARCH_BYTES: u64 = 8 << 20;
/// The largest dashboard read (Kubernetes stores at most 1 MiB per object).
const MAX_DASHBOARD_BYTES: u64 = 16 << 20;
/// Dashboards asked for per search request, and the most pages read.
const PAGE_SIZE: usize = 5000;
const MAX_PAGES: usize = 100;

/// A Grafana server and its API token (`GRAFANA_TOKEN`).
pub struct Grafana {
    agent: ureq::Agent,
    /// The base URL as given, for requests.
    base: String,
    /// The base URL without a password, for messages.
    shown: String,
    token: Option<String>,
    /// The URL, whose secrets (its password, the Basic credentials made of
    /// it, and the token) an answer must never print back.
    url: crate::urls::Url,
    timeout: Duration,
}

/// One dashboard of a search.
#[derive(Debug, Clone, Deserialize)]
pub struct Hit {
    pub uid: String,
    #[serde(default)]
    pub title: String,
    #[serde(rename = "folderTitle", default = "general")]
    pub folder: String,
}

fn general() -> String {
    "General".into()
}

impl Grafana {
    pub fn new(url: &str, token: Option<String>) -> Result<Grafana, Diagnostic> {
        let url = crate::urls::Url::parse(url, &["http", "https"])
            .map_err(|e| failed(format!("{e}; expected a URL like http://grafana.lab:3000 or https://grafana.lab")))?;
        let timeout = Duration::from_secs(infra_syntax::settings::get(&infra_syntax::settings::HTTP_TIMEOUT));
        let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls)
            .user_agent(format!("infra/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        let base = url.text.trim_end_matches('/').to_string();
        let shown = url.shown.trim_end_matches('/').to_string();
        let mut url = url;
        url.secrets.extend(token.iter().filter(|t| !t.is_empty()).cloned());
        Ok(Grafana { agent, base, shown, token, url, timeout })
    }

    /// Text from the server, safe to print: no credential of the request
    /// (an echoing server), no control character, at most `chars` long.
    fn quote(&self, body: &[u8], chars: usize) -> String {
        let text = self.url.redact(&String::from_utf8_lossy(body));
        let snippet: String = text.chars().take(chars).collect();
        escape(&snippet).into_owned()
    }

    /// The URL as messages and files show it: without a password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// GETs a path of the API: its body, at most `limit` bytes.
    fn get(&self, path: &str, limit: u64) -> Result<Vec<u8>, String> {
        let what = format!("{}{path}", self.shown);
        let mut request = self.agent.get(format!("{}{path}", self.base)).header("Accept", "application/json");
        if let Some(t) = &self.token {
            request = request.header("Authorization", format!("Bearer {t}"));
        }
        let mut response = request.call().map_err(|e| format!("{what}: {}", self.reason(&e)))?;
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(limit).read_to_vec();
        match status {
            200..=299 => body.map_err(|e| format!("{what}: {}", self.reason(&e))),
            401 | 403 => Err(format!(
                "{what}: Grafana refused the request ({status}); set GRAFANA_TOKEN to a service account token that may read dashboards"
            )),
            _ => {
                // The answer may echo the request: never its credentials.
                Err(format!("{what}: HTTP {status}: {}", self.quote(&body.unwrap_or_default(), 200)))
            }
        }
    }

    /// A failed request in words.
    fn reason(&self, e: &ureq::Error) -> String {
        match e {
            ureq::Error::Timeout(_) => format!("no answer within {} s (INFRA_HTTP_TIMEOUT)", self.timeout.as_secs()),
            ureq::Error::HostNotFound => "the host is not found".into(),
            ureq::Error::ConnectionFailed => "cannot connect".into(),
            ureq::Error::BodyExceedsLimit(n) => format!("the answer is larger than {} MiB", n >> 20),
            ureq::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable => {
                    format!("cannot connect ({io})")
                }
                _ => format!("cannot read the answer: {io}"),
            },
            other => other.to_string(),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self, path: &str, limit: u64) -> Result<T, String> {
        let body = self.get(path, limit)?;
        infra_syntax::json::parse(&body).map_err(|e| {
            let JsonError::Syntax(e) = e else { return format!("{}{path}: {e}", self.shown) };
            format!(
                "{}{path}: the answer is not JSON of the expected shape ({e}); is this Grafana? It began: \"{}\"",
                self.shown,
                self.quote(&body, 80)
            )
        })
    }

    /// Every dashboard Grafana has, page by page.
    pub fn search(&self) -> Result<Vec<Hit>, Diagnostic> {
        let mut hits = Vec::new();
        for page in 1..=MAX_PAGES {
            let path = format!("/api/search?type=dash-db&limit={PAGE_SIZE}&page={page}");
            let found: Vec<Hit> = self.json(&path, MAX_SEARCH_BYTES).map_err(failed)?;
            let last = found.len() < PAGE_SIZE;
            hits.extend(found);
            if last {
                return Ok(hits);
            }
        }
        Err(failed(format!("{}: more than {} dashboards; refusing to read further", self.shown, PAGE_SIZE * MAX_PAGES)))
    }

    /// One dashboard's JSON model (unwrapped from the API's envelope).
    pub fn dashboard(&self, uid: &str) -> Result<Json, Diagnostic> {
        let path = format!("/api/dashboards/uid/{}", path_segment(uid));
        let answer: Json = self.json(&path, MAX_DASHBOARD_BYTES).map_err(failed)?;
        match answer.get("dashboard") {
            Some(model) if model.is_object() => Ok(model.clone()),
            _ => Err(failed(format!("{}{path}: the answer holds no `dashboard` object", self.shown))),
        }
    }
}

/// A failed request as a diagnostic.
fn failed(message: String) -> Diagnostic {
    Diagnostic::error(Code::Grafana, message)
}

/// Text as one path segment: every byte but unreserved ones escaped, so a
/// uid like `../x` or one holding a line break stays one segment.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') && !(text == "." || text == "..") {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A folder name as a directory name: `Homelab Boards` → `homelab-boards`.
pub fn folder_dir(folder: &str) -> String {
    infra_compiler::emit::names::fit_name(&infra_k8s::kinds::name_from(folder), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(Grafana::new("http://grafana.lab:3000/sub/", None).is_ok());
        assert!(Grafana::new("https://grafana.lab", None).is_ok());
        assert!(Grafana::new("http://[::1]:3000", None).is_ok());
        assert!(Grafana::new("http://admin:pw@[fd00::1]:3000/", None).is_ok());
        assert!(Grafana::new("grafana", None).is_err());
        assert!(Grafana::new("ftp://grafana", None).is_err());
        let e = Grafana::new("ftp://admin:hunter2@grafana", None).err().unwrap();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }

    /// A Grafana with more dashboards than one page holds: every page is
    /// read, and reading stops at the first short page.
    #[test]
    fn search_reads_every_page() {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut pages = Vec::new();
            for stream in listener.incoming().take(2) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(&stream);
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                // The rest of the head, so that closing resets nothing.
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                    line.clear();
                }
                let page: usize =
                    request.split("page=").nth(1).and_then(|p| p.split(' ').next()?.parse().ok()).unwrap();
                let count = if page == 1 { PAGE_SIZE } else { 7 };
                let hits: Vec<String> = (0..count).map(|i| format!("{{\"uid\": \"p{page}-{i}\"}}")).collect();
                let body = format!("[{}]", hits.join(","));
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(body.as_bytes()).unwrap();
                pages.push(page);
            }
            pages
        });
        let hits = Grafana::new(&url, None).unwrap().search().unwrap();
        assert_eq!(hits.len(), PAGE_SIZE + 7);
        assert_eq!(hits.last().unwrap().uid, "p2-6");
        assert_eq!(server.join().unwrap(), [1, 2]);
    }

    #[test]
    fn uids_stay_one_path_segment() {
        assert_eq!(path_segment("rYdddlPWk"), "rYdddlPWk");
        assert_eq!(path_segment("../../admin"), "..%2F..%2Fadmin");
        assert_eq!(path_segment(".."), "%2E%2E");
        assert_eq!(path_segment("a\r\nHost: x"), "a%0D%0AHost%3A%20x");
    }
}
