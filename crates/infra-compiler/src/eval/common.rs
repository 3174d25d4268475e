//! `common`: what applies to every object of a project or module, after
//! patches: the namespace (with the RBAC subjects that name the project's
//! ServiceAccounts), labels and annotations, pod and selector labels,
//! images, and name prefixes and suffixes with every reference rewritten.
//!
//! A module's `common` applies to the module's objects only, so a name
//! prefix renames what the module's own objects refer to, as a Kustomize
//! base's does; objects outside it name them by their final names.

use super::expr::{self, Scope};
use super::object::Object;
use super::render::{Renderer, YamlPath};
use infra_k8s::images::{ImageRule, set_images};
use infra_k8s::kinds::TargetRef;
use infra_k8s::labels::{Reach, add_labels, merge_at};
use infra_k8s::references::visit_references;
use infra_k8s::registry::BuildKinds;
use infra_syntax::{Code, Diagnostic, Map, Node, Str, Value};
use std::collections::{HashMap, HashSet};

/// `common` of the project (or module), with an environment's `common`
/// winning key by key (images: by image name).
/// Each layer is a `common` block; a later one wins key by key.
#[derive(Default)]
pub struct Common {
    pub namespace: Option<String>,
    pub labels: Map,
    pub annotations: Map,
    pub pod_labels: Map,
    pub selector_labels: Map,
    pub name_prefix: String,
    pub name_suffix: String,
    pub images: Vec<ImageRule>,
}

pub fn merged_common<'n>(r: &mut Renderer, layers: impl IntoIterator<Item = &'n Node>, scope: &Scope) -> Common {
    let mut common = Common::default();
    for node in layers {
        let Some(Value::Map(m)) = r.render(node, scope, YamlPath::Root("common")) else {
            continue;
        };
        for (k, v) in m {
            // The value's node, or an entry's (`index`) of a list.
            let wrong = |r: &mut Renderer, what: &str, index: Option<usize>| {
                let value = node.get(&k);
                let entry = index.and_then(|i| value?.items()?.get(i));
                let span = entry.or(value).map_or(node.span, |n| n.span);
                let d = Diagnostic::error(Code::DirectiveType, format!("common.{k} {what}"));
                r.diags.push(d.at(span, if entry.is_some() { "this entry" } else { "in this common block" }));
            };
            match (k.as_str(), v) {
                (_, Value::Null) => {}
                ("namespace", Value::String(ns)) => common.namespace = Some(ns.to_string()),
                ("name_prefix", Value::String(p)) => common.name_prefix = p.to_string(),
                ("name_suffix", Value::String(s)) => common.name_suffix = s.to_string(),
                ("labels", Value::Map(l)) => common.labels.extend(l),
                ("annotations", Value::Map(a)) => common.annotations.extend(a),
                ("pod_labels", Value::Map(l)) => common.pod_labels.extend(l),
                ("selector_labels", Value::Map(l)) => common.selector_labels.extend(l),
                ("images", Value::Seq(rules)) => {
                    for (i, rule) in rules.iter().enumerate() {
                        match image_rule(rule) {
                            Ok(rule) => match common.images.iter_mut().find(|r| r.name == rule.name) {
                                Some(earlier) => earlier.then(&rule),
                                None => common.images.push(rule),
                            },
                            Err(e) => wrong(r, &e.to_string(), Some(i)),
                        }
                    }
                }
                (_, other) => wrong(r, &format!("cannot be a {}", other.type_name()), None),
            }
        }
    }
    common
}

/// Why an entry of `common.images` is not a rule.
#[derive(Debug)]
enum ImageRuleError {
    Empty(&'static str),
    NotText(&'static str, &'static str),
    NoName,
    ChangesNothing(String),
}

impl std::fmt::Display for ImageRuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageRuleError::Empty(key) => write!(f, "entries' `{key}` is empty"),
            ImageRuleError::NotText(key, ty) => write!(f, "entries' `{key}` is a string, not {ty}: quote it"),
            ImageRuleError::NoName => f.write_str("entries name the image they change: `{name: nginx, tag: \"1.27\"}`"),
            ImageRuleError::ChangesNothing(name) => {
                write!(f, "entry `{name}` changes nothing: set `new_name`, `tag`, `digest` or `tag_suffix`")
            }
        }
    }
}

/// One entry of `common.images`: `name` and at least one of `new_name`,
/// `tag` and `digest`, all strings.
fn image_rule(v: &Value) -> Result<ImageRule, ImageRuleError> {
    let text = |key: &'static str| match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.to_string())),
        Some(Value::String(_)) => Err(ImageRuleError::Empty(key)),
        Some(other) => Err(ImageRuleError::NotText(key, other.type_name())),
    };
    let rule = ImageRule {
        name: text("name")?.ok_or(ImageRuleError::NoName)?,
        new_name: text("new_name")?,
        tag: text("tag")?,
        digest: text("digest")?,
        tag_suffix: text("tag_suffix")?,
    };
    if rule.new_name.is_none() && rule.tag.is_none() && rule.digest.is_none() && rule.tag_suffix.is_none() {
        return Err(ImageRuleError::ChangesNothing(rule.name));
    }
    Ok(rule)
}

/// Kinds whose names are not the project's to change: a Namespace is what
/// every object's `metadata.namespace` names, a CRD's name is fixed by its
/// group and plural.
const NEVER_RENAMED: &[&str] = &["Namespace", "CustomResourceDefinition"];

impl Common {
    pub fn apply(&self, objects: &mut [Object], kinds: &BuildKinds) {
        if let Some(ns) = &self.namespace {
            set_namespace(objects, ns, kinds);
        }
        for o in objects.iter_mut() {
            let object = &mut o.value;
            let meta_labels = [&self.labels, &self.pod_labels, &self.selector_labels];
            for labels in meta_labels {
                add_metadata(object, "labels", labels);
            }
            add_metadata(object, "annotations", &self.annotations);
            add_labels(object, Reach::Templates, &self.pod_labels);
            add_labels(object, Reach::Selectors, &self.selector_labels);
            set_images(object, &self.images);
        }
        if !self.name_prefix.is_empty() || !self.name_suffix.is_empty() {
            self.rename(objects);
        }
    }

    /// Prefixes and suffixes every name, then rewrites what the objects
    /// name: reference fields, `ref()` and `depends_on`.
    fn rename(&self, objects: &mut [Object]) {
        let mut renames = Renames::default();
        for o in objects.iter_mut() {
            let kind = o.value.str_at(&["kind"]).unwrap_or_default();
            if o.directives.external || NEVER_RENAMED.contains(&kind) {
                continue;
            }
            let key = (Str::new(kind), Str::new(o.value.str_at(&["metadata", "name"]).unwrap_or_default()));
            let group = Str::new(infra_k8s::kinds::group_of(o.value.str_at(&["apiVersion"]).unwrap_or_default()));
            let namespace = Str::new(o.value.str_at(&["metadata", "namespace"]).unwrap_or_default());
            let Some(Value::String(name)) = o.value.pointer_mut(&["metadata", "name"]) else { continue };
            *name = Str::from(format!("{}{name}{}", self.name_prefix, self.name_suffix));
            renames.0.entry(key).or_default().push(Renamed { group, namespace, name: name.clone() });
        }
        for o in objects.iter_mut() {
            let own_ns = Str::new(o.value.str_at(&["metadata", "namespace"]).unwrap_or_default());
            visit_references(&mut o.value, &own_ns, &mut |r| {
                if let Some(new) = renames.find(r.kind, Some(r.group), &r.namespace, r.name) {
                    *r.name = new.clone();
                }
            });
            o.value.for_each_string_mut(&mut |s| {
                if s.contains(expr::REF_OPEN) {
                    *s = rename_ref_markers(s, &renames).into();
                }
            });
            for (target, _) in &mut o.directives.depends_on {
                if let Some(new) = renamed_target(target, &renames) {
                    *target = new;
                }
            }
        }
    }
}

/// Sets the namespace of namespaced objects that name none, and of the RBAC
/// subjects that name those objects' ServiceAccounts (or a `default` one)
/// in no namespace or in `default`, as Kustomize does.
fn set_namespace(objects: &mut [Object], ns: &str, kinds: &BuildKinds) {
    let mut accounts: HashSet<Str> = HashSet::from([Str::new("default")]);
    for o in objects.iter_mut() {
        if kinds.is_cluster_scoped(&o.value) {
            continue;
        }
        let kind = o.value.str_at(&["kind"]).unwrap_or_default().to_string();
        let meta = o.value.map_entry("metadata");
        if meta.get("namespace").is_none_or(|v| matches!(v, Value::Null) || v.as_str() == Some("")) {
            meta.insert("namespace", Value::from(ns));
            if kind == "ServiceAccount"
                && let Some(name) = meta.get("name").and_then(Value::as_str)
            {
                accounts.insert(Str::new(name));
            }
        }
    }
    for o in objects.iter_mut() {
        if !matches!(o.value.str_at(&["kind"]), Some("RoleBinding" | "ClusterRoleBinding")) {
            continue;
        }
        let Some(Value::Seq(subjects)) = o.value.pointer_mut(&["subjects"]) else { continue };
        for subject in subjects.iter_mut().filter_map(Value::as_map_mut) {
            let ours = subject.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                && subject.get("name").and_then(Value::as_str).is_some_and(|n| accounts.contains(n))
                && subject.get("namespace").and_then(Value::as_str).is_none_or(|n| n.is_empty() || n == "default");
            if ours {
                subject.insert("namespace", Value::from(ns));
            }
        }
    }
}

fn add_metadata(object: &mut Value, key: &str, values: &Map) {
    if !values.is_empty() {
        merge_at(object, &["metadata", key], true, values);
    }
}

/// An object's new name, with what tells it apart from others of its kind
/// and old name.
struct Renamed {
    group: Str,
    namespace: Str,
    name: Str,
}

/// New names by kind and old name.
#[derive(Default)]
struct Renames(HashMap<(Str, Str), Vec<Renamed>>);

impl Renames {
    /// The new name of the one object of this kind, group (any when not
    /// given) and old name in
    /// `namespace`; a namespace not yet set (the project's `common` sets it
    /// later) matches any. `None` when there is none, or several.
    fn find(&self, kind: &str, group: Option<&str>, namespace: &str, name: &str) -> Option<&Str> {
        let all = self.0.get(&(Str::new(kind), Str::new(name)))?;
        let mut matching = all.iter().filter(|r| {
            group.is_none_or(|g| r.group == g)
                && (r.namespace == namespace || r.namespace.is_empty() || namespace.is_empty())
        });
        let one = matching.next()?;
        matching.next().is_none().then_some(&one.name)
    }
}

/// A `ref()`/`depends_on` target with the name of a renamed object, if it
/// names one.
fn renamed_target(target: &str, renames: &Renames) -> Option<String> {
    let t = TargetRef::parse(target).ok()?;
    let namespace = t.namespace.as_deref().unwrap_or_default();
    let new = renames.find(&t.kind, t.group.as_deref(), namespace, &t.name)?;
    Some(t.renamed(new).to_string())
}

/// `s` with the targets of its `ref()` markers renamed.
fn rename_ref_markers(s: &str, renames: &Renames) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (range, field, target) in expr::ref_markers(s) {
        out.push_str(&s[last..range.start]);
        last = range.end;
        match renamed_target(target, renames) {
            Some(new) => out.push_str(&expr::ref_marker(&new, field)),
            None => out.push_str(&s[range]),
        }
    }
    out.push_str(&s[last..]);
    out
}
