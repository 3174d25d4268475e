//! Where each object is written: `<namespace or _cluster>/<kind>-<name>.yaml`,
//! built only from identities that [`infra_k8s::kinds::check_identity`] passed.
//! Two objects whose kind and name differ only in API group get the group
//! in their file names; names too long for a file system are shortened
//! with a digest of the whole name. The lock records every file name, so
//! none has to be derived again.

use super::path::{MAX_COMPONENT_BYTES, RelPath};
use infra_k8s::kinds::ObjectId;
use infra_syntax::canonical::sha256_hex;
use std::borrow::Cow;
use std::collections::HashMap;

/// The folder of cluster-scoped objects.
pub const CLUSTER_DIR: &str = "_cluster";

/// The file of each object, in the order given. Every id must be valid
/// ([`infra_k8s::kinds::check_identity`]); should one not be, its file is
/// named after its digest rather than after its name. One string per
/// object in the common case: names that collide are rare.
pub fn object_files(ids: &[&ObjectId]) -> Vec<RelPath> {
    // Kind and name alone first; the group where they would collide.
    let mut stems: Vec<String> = ids.iter().map(|id| stem(id, false)).collect();
    let mut grouped = vec![false; ids.len()];
    for i in colliding(&stems) {
        if !ids[i].group.is_empty() {
            grouped[i] = true;
            stems[i] = stem(ids[i], true);
        }
    }
    // What still collides (case-insensitively, for file systems that fold
    // case) is told apart by a digest of the whole id.
    let mut files: Vec<String> = stems.into_iter().map(|stem| with_file_name(stem, "")).collect();
    for i in colliding(&files) {
        let digest = &sha256_hex(ids[i].to_string().as_bytes())[..10];
        files[i] = with_file_name(stem(ids[i], grouped[i]), &format!("-{digest}"));
    }
    files
        .into_iter()
        .zip(ids)
        .map(|(file, id)| {
            RelPath::new(file).unwrap_or_else(|_| {
                let digest = &sha256_hex(id.to_string().as_bytes())[..20];
                RelPath::new(format!("{CLUSTER_DIR}/object-{digest}.yaml")).expect("hex digits make a valid name")
            })
        })
        .collect()
}

/// `<namespace or _cluster>/<kind>-<name>`, with the API group after the
/// kind when `grouped`.
fn stem(id: &ObjectId, grouped: bool) -> String {
    let dir = if id.namespace.is_empty() { CLUSTER_DIR } else { &id.namespace };
    let mut s = String::with_capacity(dir.len() + id.kind.len() + id.group.len() + id.name.len() + 8);
    s.push_str(dir);
    s.push('/');
    s.extend(id.kind.chars().flat_map(char::to_lowercase));
    if grouped {
        s.push('.');
        s.push_str(&id.group);
    }
    s.push('-');
    s.push_str(&id.name);
    s
}

/// `dir/stem` made `dir/stem<tag>.yaml`, its file name fitted by [`fit_name`].
fn with_file_name(mut path: String, tag: &str) -> String {
    let slash = path.find('/').expect("a folder and a stem");
    if path.len() - slash - 1 + tag.len() + ".yaml".len() <= MAX_COMPONENT_BYTES {
        path.push_str(tag);
        path.push_str(".yaml");
        return path;
    }
    let file = fit_name(&format!("{}{tag}", &path[slash + 1..]), ".yaml");
    path.truncate(slash + 1);
    path.push_str(&file);
    path
}

/// The indices of the strings that equal another one, ignoring case.
fn colliding(names: &[String]) -> Vec<usize> {
    let mut seen: HashMap<Cow<'_, str>, usize> = HashMap::with_capacity(names.len());
    for n in names {
        *seen.entry(folded(n)).or_default() += 1;
    }
    if seen.len() == names.len() {
        return Vec::new();
    }
    (0..names.len()).filter(|&i| seen[&folded(&names[i])] > 1).collect()
}

fn folded(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| !b.is_ascii() || b.is_ascii_uppercase()) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// `stem` followed by `suffix` (`.yaml`, or nothing for a folder), kept as
/// it is when it fits [`MAX_COMPONENT_BYTES`], else with the stem cut and
/// followed by 10 hex digits of its digest, so that long names stay apart.
pub fn fit_name(stem: &str, suffix: &str) -> String {
    if stem.len() + suffix.len() <= MAX_COMPONENT_BYTES {
        return format!("{stem}{suffix}");
    }
    let mut cut = MAX_COMPONENT_BYTES - suffix.len() - 11;
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{}{suffix}", &stem[..cut], &sha256_hex(stem.as_bytes())[..10])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(group: &str, kind: &str, ns: &str, name: &str) -> ObjectId {
        ObjectId { group: group.into(), kind: kind.into(), namespace: ns.into(), name: name.into() }
    }

    fn files(ids: &[ObjectId]) -> Vec<String> {
        object_files(&ids.iter().collect::<Vec<_>>()).into_iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn plain_names() {
        let ids =
            [id("", "ConfigMap", "web", "config"), id("rbac.authorization.k8s.io", "ClusterRole", "", "system:x")];
        assert_eq!(files(&ids), ["web/configmap-config.yaml", "_cluster/clusterrole-system:x.yaml"]);
    }

    #[test]
    fn the_same_kind_and_name_in_two_groups() {
        let ids = [id("", "Service", "web", "web"), id("serving.knative.dev", "Service", "web", "web")];
        assert_eq!(files(&ids), ["web/service-web.yaml", "web/service.serving.knative.dev-web.yaml"]);
        // Other namespaces are other folders: no group needed.
        let ids = [id("", "Service", "a", "web"), id("serving.knative.dev", "Service", "b", "web")];
        assert_eq!(files(&ids), ["a/service-web.yaml", "b/service-web.yaml"]);
    }

    #[test]
    fn names_that_still_collide_get_a_digest() {
        // With the group, group `a` and name `b-c` reads like group `a-b`, name `c`.
        let ids = [id("", "X", "n", "b-c"), id("a", "X", "n", "b-c"), id("", "X", "n", "c"), id("a-b", "X", "n", "c")];
        let f = files(&ids);
        assert_eq!((f[0].as_str(), f[2].as_str()), ("n/x-b-c.yaml", "n/x-c.yaml"));
        assert_ne!(f[1], f[3]);
        assert!(f[1].starts_with("n/x.a-b-c-") && f[3].starts_with("n/x.a-b-c-"), "{f:?}");
    }

    #[test]
    fn long_names_fit_the_file_system() {
        let long = "a".repeat(253);
        let f = files(&[id("", "ConfigMap", "n", &long), id("", "ConfigMap", "n", &format!("{}b", "a".repeat(252)))]);
        for file in &f {
            let name = file.rsplit('/').next().unwrap();
            assert!(name.len() <= MAX_COMPONENT_BYTES, "{name}");
            assert!(name.starts_with("configmap-aaaa") && name.ends_with(".yaml"), "{name}");
        }
        assert_ne!(f[0], f[1]);
    }
}
