//! Content hashes: the sha256 of [`infra_syntax::canonical`], the encoding
//! infra owns, so no dependency feature can change a hash.

use infra_k8s::annotations;
use infra_syntax::canonical::canonical_sha256;
pub use infra_syntax::canonical::sha256_hex;
use infra_syntax::{Map, Str, Value};

/// The sha256 of the canonical encoding.
pub fn content_hash(v: &Value) -> String {
    content_hash_without(v, None)
}

/// The sha256 of the canonical encoding of `v` without its top-level key
/// `skip` (a ConfigMap's content without its metadata).
pub fn content_hash_without(v: &Value, skip: Option<&str>) -> String {
    canonical_sha256(v, skip)
}

/// The content hash that config hashes are made of: the object without its
/// metadata, so that a rename alone does not roll pods.
pub(crate) fn content_digest(v: &Value) -> String {
    content_hash_without(v, Some("metadata"))
}

/// The hash that `infra.dev/hash` is set to: of everything else. A hash
/// annotation already there is infra's to set, and dropped first.
pub(crate) fn unstamped_hash(value: &mut Value) -> Str {
    if let Some(Value::Map(a)) = value.pointer_mut(&["metadata", "annotations"]) {
        a.shift_remove(annotations::HASH);
    }
    Str::from(content_hash(value))
}

pub(crate) fn set_annotation_at(value: &mut Value, path: &[&str], key: &str, v: impl Into<Str>) {
    let Some(target) = value.pointer_mut(path) else {
        return;
    };
    let Some(map) = target.as_map_mut() else {
        return;
    };
    map.reserve_for("metadata");
    let meta = target.map_entry("metadata");
    meta.reserve_for("annotations");
    let slot = meta.get_or_insert_with("annotations", || Value::Map(Map::new()));
    if !matches!(slot, Value::Map(_)) {
        *slot = Value::Map(Map::new());
    }
    if let Value::Map(a) = slot {
        a.reserve_for(key);
        a.insert(key, Value::String(v.into()));
    }
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
        let a = v("{b: 1, a: {w: [1, 2.5, x], x: null}, c: \"q\\\"\"}");
        let b = v("{a: {x: null, w: [1, 2.5, x]}, c: \"q\\\"\", b: 1}");
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_eq!(infra_syntax::canonical::canonical_json(&a), r#"{"a":{"w":[1,2.5,"x"],"x":null},"b":1,"c":"q\""}"#);
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
