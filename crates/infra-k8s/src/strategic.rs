//! How a strategic merge patch merges lists, as data: the `patchMergeKey`s
//! of the built-in API types (`k8s.io/api`, `patchStrategy:"merge"`). A list
//! of a built-in kind that is not in the table is replaced whole, as the API
//! server does (`tolerations`, `args`, `envFrom`, ...). Custom resources
//! have no schema here: their lists merge by `name` when every item has
//! one, and are replaced otherwise.

/// How one list merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMerge {
    /// Items with equal values at this key are merged; others are added.
    ByKey(&'static str),
    /// The patch's list replaces the object's.
    Replace,
}

/// The lists with a merge key: (field, the field of the list that holds
/// its parent item, or `""` for any parent, key).
const MERGE_KEYS: &[(&str, &str, &str)] = &[
    ("containers", "", "name"),
    ("initContainers", "", "name"),
    ("ephemeralContainers", "", "name"),
    ("volumes", "", "name"),
    ("imagePullSecrets", "", "name"),
    ("hostAliases", "", "ip"),
    ("env", "", "name"),
    ("volumeMounts", "", "mountPath"),
    ("volumeDevices", "", "devicePath"),
    ("ownerReferences", "", "uid"),
    // A container's ports by number; a Service's by `port`.
    ("ports", "containers", "containerPort"),
    ("ports", "initContainers", "containerPort"),
    ("ports", "ephemeralContainers", "containerPort"),
    ("ports", "", "port"),
];

/// Whether an API group is Kubernetes' own (its types have merge keys):
/// the core group, groups without a dot (`apps`, `batch`, ...) and
/// `*.k8s.io`.
pub fn builtin_group(group: &str) -> bool {
    group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io")
}

/// How the list at `field` merges. `parent_list` is the field of the
/// nearest list above it (`containers` for a container's `ports`);
/// `items` are the object's and the patch's items, for custom resources.
pub fn list_merge(builtin: bool, field: &str, parent_list: &str, items: &[&[infra_syntax::Value]]) -> ListMerge {
    if builtin {
        return MERGE_KEYS
            .iter()
            .find(|(f, parent, _)| *f == field && (parent.is_empty() || *parent == parent_list))
            .map_or(ListMerge::Replace, |(_, _, key)| ListMerge::ByKey(key));
    }
    let named = |list: &[infra_syntax::Value]| list.iter().all(|i| i.get("name").is_some());
    if items.iter().all(|list| named(list)) { ListMerge::ByKey("name") } else { ListMerge::Replace }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_lists_merge_by_their_keys_and_others_are_replaced() {
        assert_eq!(list_merge(true, "containers", "", &[]), ListMerge::ByKey("name"));
        assert_eq!(list_merge(true, "volumeMounts", "containers", &[]), ListMerge::ByKey("mountPath"));
        assert_eq!(list_merge(true, "ports", "containers", &[]), ListMerge::ByKey("containerPort"));
        assert_eq!(list_merge(true, "ports", "", &[]), ListMerge::ByKey("port"));
        assert_eq!(list_merge(true, "tolerations", "", &[]), ListMerge::Replace);
        assert_eq!(list_merge(true, "args", "containers", &[]), ListMerge::Replace);
        assert!(builtin_group("") && builtin_group("apps") && builtin_group("networking.k8s.io"));
        assert!(!builtin_group("monitoring.coreos.com"));
    }
}
