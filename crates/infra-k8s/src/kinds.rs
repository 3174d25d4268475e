//! Identities: how an object is identified and which identities
//! Kubernetes accepts (a kind's scope is [`crate::registry`]'s). Names
//! become file paths, so an identity is checked before anything is built
//! from it.

use infra_syntax::{Code, Diagnostic, Node, Span, Str, Value};
use std::fmt;

/// Puts every object that names no namespace, and is not of a
/// cluster-scoped kind, in `namespace`: what `helm install -n` and `kubectl
/// apply -n` do with the objects `helm template` leaves without one.
pub fn default_namespace(objects: &mut [Value], namespace: &str) {
    let kinds = crate::registry::BuildKinds::of(objects.iter());
    for o in objects {
        if kinds.is_cluster_scoped(o) {
            continue;
        }
        let meta = o.map_entry("metadata");
        if meta.get("namespace").is_none_or(|n| matches!(n, Value::Null) || n.as_str() == Some("")) {
            meta.insert("namespace", Value::from(namespace));
        }
    }
}

/// Helm's install order by kind (`releaseutil.InstallOrder`): what a kind
/// needs usually comes before it (ServiceAccounts and RBAC before the Jobs
/// that use them, CRDs before custom resources, webhook configurations
/// after the Deployments that serve them). Other kinds come after these.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// A kind's place in [`INSTALL_ORDER`]; other kinds share the last place.
pub fn install_rank(kind: &str) -> usize {
    INSTALL_ORDER.iter().position(|k| *k == kind).unwrap_or(INSTALL_ORDER.len())
}

/// Fields that are maps of strings (Go `map[string]string`): an empty one
/// is stored as none, so `{}` and absent mean the same. Other maps are
/// structs, where presence can matter (`emptyDir: {}` makes a volume).
pub const STRING_MAP_FIELDS: &[&str] =
    &["annotations", "labels", "data", "binaryData", "stringData", "matchLabels", "nodeSelector"];

/// Whether `value`, at `key`, means the same to the API server as the field
/// being absent: null, an empty list, an empty string map.
pub fn means_absent(key: Option<&str>, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Seq(items) => items.is_empty(),
        Value::Map(m) => m.is_empty() && key.is_some_and(|k| STRING_MAP_FIELDS.contains(&k)),
        _ => false,
    }
}

pub use crate::registry::group_of;

/// The identity of an object in the graph: `group/kind/namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub group: Str,
    pub kind: Str,
    pub namespace: Str,
    pub name: Str,
}

impl ObjectId {
    /// The id of an object; its strings are shared with the object's.
    pub fn of(object: &Value) -> ObjectId {
        let s = |keys: &[&str]| match object.pointer(keys) {
            Some(Value::String(s)) => s.clone(),
            _ => Str::default(),
        };
        ObjectId {
            group: Str::new(group_of(object.str_at(&["apiVersion"]).unwrap_or_default())),
            kind: s(&["kind"]),
            namespace: s(&["metadata", "namespace"]),
            name: s(&["metadata", "name"]),
        }
    }

    /// `Kind/name` or `Kind/namespace/name`, as users write references.
    pub fn short(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}/{}", self.group, self.kind, self.namespace, self.name)
    }
}

/// A reference to an object as a project writes it: `Kind/name`,
/// `Kind/namespace/name`, and `Kind.group/...` where a kind exists in
/// several API groups. Parsed once, here: `ref()`, `depends_on`, chart
/// `exclude`, renames and linking all read this type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetRef {
    pub kind: Str,
    /// The API group, when written (`""` is the core group).
    pub group: Option<Str>,
    /// The namespace, when written.
    pub namespace: Option<Str>,
    pub name: Str,
}

/// A text that is not a reference to an object: the text.
#[derive(Debug, Clone, PartialEq)]
pub struct NotATarget(pub String);

impl fmt::Display for NotATarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not \"Kind/name\" or \"Kind/namespace/name\"", self.0)
    }
}

impl TargetRef {
    /// Parses `Kind/name`, `Kind/namespace/name`, `Kind.group/name`.
    pub fn parse(text: &str) -> Result<TargetRef, NotATarget> {
        let parts: Vec<&str> = text.split('/').collect();
        let wrong = || NotATarget(text.to_string());
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(wrong());
        }
        let (kind, group) = match parts[0].split_once('.') {
            Some((kind, group)) => (kind, Some(Str::new(group))),
            None => (parts[0], None),
        };
        if !is_kind(kind) {
            return Err(wrong());
        }
        let (namespace, name) = match parts.as_slice() {
            [_, ns, name] => (Some(Str::new(ns)), *name),
            [_, name] => (None, *name),
            _ => unreachable!("checked above"),
        };
        Ok(TargetRef { kind: Str::new(kind), group, namespace, name: Str::new(name) })
    }

    /// The reference to an object, with its group when it has one.
    pub fn to(id: &ObjectId) -> TargetRef {
        TargetRef {
            kind: id.kind.clone(),
            group: (!id.group.is_empty()).then(|| id.group.clone()),
            namespace: (!id.namespace.is_empty()).then(|| id.namespace.clone()),
            name: id.name.clone(),
        }
    }

    /// Whether it names the object `id` (a reference without a namespace
    /// names one in any).
    pub fn names(&self, id: &ObjectId) -> bool {
        self.kind == id.kind
            && self.name == id.name
            && self.group.as_ref().is_none_or(|g| *g == id.group)
            && self.namespace.as_ref().is_none_or(|ns| *ns == id.namespace)
    }

    /// The same reference to another name (a renamed object).
    pub fn renamed(&self, name: &str) -> TargetRef {
        TargetRef { name: Str::new(name), ..self.clone() }
    }
}

impl fmt::Display for TargetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if let Some(g) = &self.group {
            write!(f, ".{g}")?;
        }
        if let Some(ns) = &self.namespace {
            write!(f, "/{ns}")?;
        }
        write!(f, "/{}", self.name)
    }
}

/// The fields that make an object's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityField {
    ApiVersion,
    Kind,
    Name,
    Namespace,
}

impl IdentityField {
    /// The key path of the field in an object.
    pub fn path(self) -> &'static [&'static str] {
        match self {
            IdentityField::ApiVersion => &["apiVersion"],
            IdentityField::Kind => &["kind"],
            IdentityField::Name => &["metadata", "name"],
            IdentityField::Namespace => &["metadata", "namespace"],
        }
    }

    pub fn dotted(self) -> &'static str {
        match self {
            IdentityField::ApiVersion => "apiVersion",
            IdentityField::Kind => "kind",
            IdentityField::Name => "metadata.name",
            IdentityField::Namespace => "metadata.namespace",
        }
    }
}

/// One identity field that Kubernetes would refuse, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProblem {
    pub field: IdentityField,
    pub message: String,
    pub rule: &'static str,
}

const SUBDOMAIN_RULE: &str = "a Kubernetes name is a DNS-1123 subdomain: at most 253 characters of lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit";
const LABEL_RULE: &str = "a namespace is a DNS-1123 label: at most 63 characters of lowercase letters, digits and `-`, starting and ending with a letter or digit";
const PATH_SEGMENT_RULE: &str =
    "an RBAC name is at most 253 characters, not `.` or `..`, without `/`, `%`, `\\` or control characters";
const KIND_RULE: &str = "a kind is a letter followed by at most 62 letters and digits, like `ConfigMap`";
const API_VERSION_RULE: &str = "an apiVersion is `VERSION` or `GROUP/VERSION`, like `v1` or `apps/v1`: a DNS-1123 subdomain group and a DNS-1123 label version";

/// Checks the identity of an object as Kubernetes does: `apiVersion`,
/// `kind`, `metadata.name` (by the rule of its kind) and
/// `metadata.namespace`. Every problem is returned, in field order.
pub fn check_identity(object: &Value) -> Vec<IdentityProblem> {
    let mut problems = Vec::new();
    let mut problem = |field: IdentityField, message: String, rule| {
        problems.push(IdentityProblem { field, message, rule });
    };
    let text = |field: IdentityField| object.pointer(field.path());
    match text(IdentityField::ApiVersion) {
        Some(Value::String(v)) if is_api_version(v) => {}
        other => problem(IdentityField::ApiVersion, describe(IdentityField::ApiVersion, other), API_VERSION_RULE),
    }
    let kind = match text(IdentityField::Kind) {
        Some(Value::String(k)) if is_kind(k) => Some(k.as_str()),
        other => {
            problem(IdentityField::Kind, describe(IdentityField::Kind, other), KIND_RULE);
            None
        }
    };
    let (valid_name, rule): (fn(&str) -> bool, _) = match kind {
        Some(k) if RBAC_KINDS.contains(&k) => (is_path_segment_name, PATH_SEGMENT_RULE),
        _ => (is_dns1123_subdomain, SUBDOMAIN_RULE),
    };
    match text(IdentityField::Name) {
        Some(Value::String(n)) if valid_name(n) => {}
        other => problem(IdentityField::Name, describe(IdentityField::Name, other), rule),
    }
    match text(IdentityField::Namespace) {
        // An empty namespace is unset, as the API server reads it (Helm
        // renders one for an unset value).
        None | Some(Value::Null) => {}
        Some(Value::String(ns)) if ns.is_empty() || is_dns1123_label(ns) => {}
        other => problem(IdentityField::Namespace, describe(IdentityField::Namespace, other), LABEL_RULE),
    }
    problems
}

/// An identity problem as an error, pointing at the field's value in the
/// document `doc` when it is written there, else at `span`.
pub fn identity_error(problem: &IdentityProblem, span: Span, doc: Option<&Node>) -> Diagnostic {
    let written = doc.and_then(|d| problem.field.path().iter().try_fold(d, |n, key| n.get(key)));
    let (span, label) = match written {
        Some(n) => (n.span, "this value"),
        None => (span, "in this object"),
    };
    Diagnostic::error(Code::InvalidIdentity, problem.message.clone())
        .at(span, label)
        .path(problem.field.dotted())
        .help(problem.rule)
}

/// A key of a ConfigMap's `data` or `binaryData` (or a Secret's): at most
/// 253 characters of letters, digits, `-`, `_` and `.`, as the API server
/// validates them.
pub fn is_config_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A valid object name made from any text (a file stem, a Grafana folder):
/// lowercase `[a-z0-9-]`, at most 240 characters, never empty.
pub fn name_from(text: &str) -> String {
    let mut name = String::new();
    for c in text.to_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    let name = name.trim_end_matches('-');
    let name: String = name.chars().take(240).collect();
    if name.is_empty() { "dashboard".into() } else { name }
}

fn describe(field: IdentityField, value: Option<&Value>) -> String {
    let name = field.dotted();
    match value {
        None | Some(Value::Null) => format!("`{name}` is missing"),
        Some(Value::String(s)) if s.is_empty() => format!("`{name}` is empty"),
        Some(Value::String(s)) => format!("`{name}` is not valid: {}", quote_for_message(s)),
        Some(other) => format!("`{name}` must be a string, not a {}", other.type_name()),
    }
}

/// A value as a message shows it: quoted, control characters escaped,
/// cut after 80 characters.
fn quote_for_message(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(char::escape_debug).collect();
    if s.chars().count() > 80 {
        out.push_str("...");
    }
    format!("\"{out}\" ({} characters)", s.chars().count())
}

/// Kinds whose names Kubernetes checks as path segments, not DNS names
/// (`system:controller:...` is a valid ClusterRole name).
const RBAC_KINDS: &[&str] = &["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns1123_label(s: &str) -> bool {
    s.len() <= 63 && is_label_text(s)
}

/// RFC 1123 subdomain as Kubernetes checks it: labels joined by `.`, at most
/// 253 characters in all (Kubernetes does not limit each label's length).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label_text)
}

fn is_label_text(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// What Kubernetes accepts for RBAC names: anything but `.`, `..`, `/`, `%`.
/// `\` (a path separator on Windows) and control characters are refused
/// too: names become file names.
pub fn is_path_segment_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s != "."
        && s != ".."
        && !s.contains(['/', '%', '\\'])
        && !s.chars().any(char::is_control)
}

fn is_kind(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.len() <= 63 && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
}

fn is_api_version(s: &str) -> bool {
    match s.split_once('/') {
        Some((group, version)) => is_dns1123_subdomain(group) && is_dns1123_label(version),
        None => is_dns1123_label(s),
    }
}

#[cfg(test)]
mod target_tests {
    use super::*;

    #[test]
    fn targets_parse_once_and_print_back() {
        for text in [
            "ConfigMap/cfg",
            "Service/monitoring/web",
            "Role.rbac.authorization.k8s.io/ns/r",
            "Cluster.postgresql.cnpg.io/pg",
        ] {
            assert_eq!(TargetRef::parse(text).unwrap().to_string(), text);
        }
        for bad in ["ConfigMap", "a/b/c/d", "/x", "ConfigMap//x", "9Map/x", "Config-Map/x"] {
            assert!(TargetRef::parse(bad).is_err(), "{bad}");
        }
        let id = ObjectId {
            group: Str::new("apps"),
            kind: Str::new("Deployment"),
            namespace: Str::new("a"),
            name: Str::new("w"),
        };
        assert!(TargetRef::parse("Deployment/w").unwrap().names(&id));
        assert!(TargetRef::parse("Deployment.apps/a/w").unwrap().names(&id));
        assert!(!TargetRef::parse("Deployment.extensions/a/w").unwrap().names(&id));
        assert!(!TargetRef::parse("Deployment/b/w").unwrap().names(&id));
        assert_eq!(TargetRef::to(&id).to_string(), "Deployment.apps/a/w");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(api: &str, kind: &str, name: &str, ns: Option<&str>) -> Value {
        let mut meta = infra_syntax::Map::new();
        meta.insert("name", name.into());
        if let Some(ns) = ns {
            meta.insert("namespace", ns.into());
        }
        let mut m = infra_syntax::Map::new();
        m.insert("apiVersion", api.into());
        m.insert("kind", kind.into());
        m.insert("metadata", Value::Map(meta));
        Value::Map(m)
    }

    fn fields(v: &Value) -> Vec<IdentityField> {
        check_identity(v).into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn valid_identities() {
        assert!(fields(&object("v1", "ConfigMap", "web.config-1", Some("monitoring"))).is_empty());
        assert!(fields(&object("serving.knative.dev/v1", "Service", "web", None)).is_empty());
        // RBAC names follow the path-segment rule, as in metrics-server's chart.
        assert!(
            fields(&object("rbac.authorization.k8s.io/v1", "ClusterRole", "system:metrics-server", None)).is_empty()
        );
        let longest = "a".repeat(253);
        assert!(fields(&object("v1", "ConfigMap", &longest, Some(&"n".repeat(63)))).is_empty());
    }

    #[test]
    fn names_that_would_escape_or_break_paths() {
        use IdentityField::*;
        for bad in ["../../victim", "/etc/passwd", "a/b", "..", ".", "", "Upper", "a\0b", "-a", "a-", "é"] {
            assert_eq!(fields(&object("v1", "ConfigMap", bad, None)), [Name], "{bad:?}");
        }
        assert!(fields(&object("v1", "ConfigMap", "ok", Some(""))).is_empty());
        for bad in ["../outside", "/abs", "a.b", &"n".repeat(64)] {
            assert_eq!(fields(&object("v1", "ConfigMap", "ok", Some(bad))), [Namespace], "{bad:?}");
        }
        for bad in ["..", "a/b", "50%", "a\nb", "a\\b"] {
            assert_eq!(fields(&object("rbac.authorization.k8s.io/v1", "Role", bad, None)), [Name], "{bad:?}");
        }
        assert_eq!(fields(&object("v1", "Config-Map", "a", None)), [Kind]);
        assert_eq!(fields(&object("v1", "../x", "a", None)), [Kind]);
        assert_eq!(fields(&object("../v1", "ConfigMap", "a", None)), [ApiVersion]);
        assert_eq!(fields(&object("a/b/v1", "ConfigMap", "a", None)), [ApiVersion]);
        assert_eq!(fields(&object("v1", "ConfigMap", &"a".repeat(254), None)), [Name]);
    }

    #[test]
    fn wrong_types_and_missing_fields() {
        let v = Value::Map(infra_syntax::Map::new());
        let problems = check_identity(&v);
        assert_eq!(problems.len(), 3);
        assert_eq!(problems[2].message, "`metadata.name` is missing");
        let mut o = object("v1", "ConfigMap", "a", None);
        o.as_map_mut().unwrap().insert("kind", Value::Map(infra_syntax::Map::new()));
        assert_eq!(check_identity(&o)[0].message, "`kind` must be a string, not a map");
    }
}
