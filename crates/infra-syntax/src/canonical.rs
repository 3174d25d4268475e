//! The canonical encoding of a [`Value`]: JSON with keys sorted by bytes, no
//! spaces, and infra's own float formatting, and its sha256. Content hashes
//! are taken over it, so it is written here, by hand, and no dependency
//! feature (serde's `preserve_order`, a float formatter) can change it.

use crate::value::Value;
use crate::yaml::format_float;
use sha2::{Digest, Sha256};

/// The sha256 of `bytes`, as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The canonical encoding of a value.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, v, None);
    out
}

/// The sha256 of the canonical encoding of `v` without its top-level key
/// `skip`, as hex. The encoding streams through a small buffer into the
/// hash: hashing an object allocates nothing but the result.
pub fn canonical_sha256(v: &Value, skip: Option<&str>) -> String {
    let mut h = HashSink { sha: Sha256::new(), buf: [0; 4096], len: 0 };
    write_value(&mut h, &mut Vec::new(), v, skip);
    h.sha.update(&h.buf[..h.len]);
    hex(&h.sha.finalize())
}

/// Appends the canonical encoding of `v`, without its top-level key `skip`.
pub fn write_canonical(out: &mut String, v: &Value, skip: Option<&str>) {
    write_value(out, &mut Vec::new(), v, skip);
}

/// Where the encoding goes: a string, or straight into a hash.
trait Sink {
    fn put(&mut self, s: &str);
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

struct HashSink {
    sha: Sha256,
    buf: [u8; 4096],
    len: usize,
}

impl Sink for HashSink {
    fn put(&mut self, s: &str) {
        let bytes = s.as_bytes();
        if self.len + bytes.len() > self.buf.len() {
            self.sha.update(&self.buf[..self.len]);
            self.len = 0;
            if bytes.len() > self.buf.len() {
                self.sha.update(bytes);
                return;
            }
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

/// Writes `v`. Map entries are sorted in `scratch`, a stack shared by the
/// whole walk: each map pushes its entries and pops them when done.
fn write_value<'v>(out: &mut impl Sink, scratch: &mut Vec<(&'v str, &'v Value)>, v: &'v Value, skip: Option<&str>) {
    match v {
        Value::Null => out.put("null"),
        Value::Bool(b) => out.put(if *b { "true" } else { "false" }),
        Value::Int(i) => write_int(out, *i),
        Value::Float(f) => out.put(&format_float(*f)),
        Value::String(s) => write_json_string(out, s),
        Value::Seq(items) => {
            out.put("[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.put(",");
                }
                write_value(out, scratch, item, None);
            }
            out.put("]");
        }
        Value::Map(m) => {
            let start = scratch.len();
            scratch.extend(m.iter().map(|(k, v)| (k.as_str(), v)).filter(|(k, _)| Some(*k) != skip));
            let end = scratch.len();
            scratch[start..].sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.put("{");
            for i in start..end {
                let (k, v) = scratch[i];
                if i > start {
                    out.put(",");
                }
                write_json_string(out, k);
                out.put(":");
                write_value(out, scratch, v, None);
            }
            scratch.truncate(start);
            out.put("}");
        }
    }
}

/// An integer in decimal, without allocating.
fn write_int(out: &mut impl Sink, i: i64) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let mut n = i.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.put("-");
    }
    out.put(std::str::from_utf8(&buf[pos..]).expect("ASCII digits"));
}

fn write_json_string(out: &mut impl Sink, s: &str) {
    out.put("\"");
    let mut start = 0;
    // Every character that needs escaping is ASCII, so bytes will do.
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            b if b < 0x20 => "",
            _ => continue,
        };
        out.put(&s[start..i]);
        if escaped.is_empty() {
            out.put(&format!("\\u{:04x}", b));
        } else {
            out.put(escaped);
        }
        start = i + 1;
    }
    out.put(&s[start..]);
    out.put("\"");
}
