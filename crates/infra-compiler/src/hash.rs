//! Content hashes over a canonical encoding that this crate owns: JSON with
//! keys sorted by bytes, no spaces, and infra's own float formatting. No
//! dependency feature can change it, so hashes are stable across builds.

use infra_syntax::Value;
use infra_syntax::yaml::format_float;
use sha2::{Digest, Sha256};

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

/// The sha256 of the canonical encoding.
pub fn content_hash(v: &Value) -> String {
    content_hash_without(v, None)
}

/// The sha256 of the canonical encoding of `v` without its top-level key
/// `skip` (a ConfigMap's content without its metadata).
pub fn content_hash_without(v: &Value, skip: Option<&str>) -> String {
    // One buffer and one hash update: many small updates cost more.
    let mut text = String::with_capacity(4096);
    write_canonical(&mut text, v, skip);
    sha256_hex(text.as_bytes())
}

fn write_canonical(out: &mut String, v: &Value, skip: Option<&str>) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::String(s) => write_json_string(out, s),
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item, None);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().filter(|(k, _)| Some(k.as_str()) != skip).collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k);
                out.push(':');
                write_canonical(out, v, None);
            }
            out.push('}');
        }
    }
}

fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escaped.is_empty() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(escaped);
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::yaml;

    fn v(s: &str) -> Value {
        yaml::parse_value(s).unwrap()
    }

    #[test]
    fn key_order_never_changes_the_hash() {
        let a = v("{b: 1, a: {y: [1, 2.5, x], x: null}, c: \"q\\\"\"}");
        let b = v("{a: {x: null, y: [1, 2.5, x]}, c: \"q\\\"\", b: 1}");
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,2.5,"x"]},"b":1,"c":"q\""}"#);
    }

    #[test]
    fn different_content_different_hash() {
        assert_ne!(content_hash(&v("{a: 1}")), content_hash(&v("{a: '1'}")));
        assert_ne!(content_hash(&v("[1, 2]")), content_hash(&v("[2, 1]")));
    }

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
