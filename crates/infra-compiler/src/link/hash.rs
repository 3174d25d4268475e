//! Content hashes: the sha256 of [`infra_syntax::canonical`], the encoding
//! infra owns, so no dependency feature can change a hash.

use infra_syntax::Value;
use infra_syntax::canonical::write_canonical;
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
        assert_eq!(infra_syntax::canonical::canonical_json(&a), r#"{"a":{"x":null,"y":[1,2.5,"x"]},"b":1,"c":"q\""}"#);
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
