//! Patches: strategic merge patches, merging lists as Kubernetes does
//! (by the merge keys of `infra_k8s::strategic`), with `$patch: replace`
//! and `$patch: delete`; and RFC 6902 JSON patch operations.

use super::bounded::MAX_RESULT_NODES;
use super::expr::Scope;
use super::object::{FailedDocument, Object};
use super::render::{Renderer, YamlPath};
use crate::load::PatchBody;
use infra_k8s::kinds::group_of;
use infra_k8s::registry::BuildKinds;
use infra_k8s::strategic::{ListMerge, builtin_group, list_merge};
use infra_syntax::yaml::MAX_DEPTH;
use infra_syntax::{Code, Diagnostic, Map, Value};

/// The directive key of strategic merge patches.
const PATCH: &str = "$patch";

/// Where a merge is: whether the object's kind is built in (its lists have
/// merge keys), and the field of the nearest list above.
#[derive(Clone, Copy)]
struct At<'a> {
    builtin: bool,
    parent_list: &'a str,
}

/// Merges a strategic merge patch into an object; `false` when the patch
/// deletes the whole object (`$patch: delete` at its root).
pub fn merge_object(target: &mut Value, patch: &Value) -> bool {
    if directive(patch) == Some("delete") {
        return false;
    }
    let builtin = builtin_group(group_of(target.str_at(&["apiVersion"]).unwrap_or_default()));
    merge(target, patch, At { builtin, parent_list: "" });
    true
}

fn directive(v: &Value) -> Option<&str> {
    v.get(PATCH).and_then(Value::as_str)
}

/// Maps merge key by key, `null` deletes a key, `$patch: replace` replaces
/// a map and `$patch: delete` removes it; lists merge as [`merge_list`].
fn merge(target: &mut Value, patch: &Value, at: At) {
    match (&mut *target, patch) {
        (Value::Map(_), Value::Map(_)) if directive(patch) == Some("replace") => *target = cleaned(patch),
        (Value::Map(t), Value::Map(p)) => {
            for (k, pv) in p.iter().filter(|(k, _)| k.as_str() != PATCH) {
                if matches!(pv, Value::Null) || directive(pv) == Some("delete") {
                    t.shift_remove(k);
                } else if let Some(tv) = t.get_mut(k) {
                    match (&mut *tv, pv) {
                        (Value::Seq(items), Value::Seq(patch_items)) => merge_list(items, patch_items, k, at),
                        _ => merge(tv, pv, at),
                    }
                } else {
                    t.insert(k.clone(), cleaned(pv));
                }
            }
        }
        (t, p) => *t = cleaned(p),
    }
}

/// A list with a merge key merges item by item (`{key: x, $patch: delete}`
/// removes one); a list with a `{$patch: replace}` item, and a list
/// without a merge key, is replaced.
fn merge_list(target: &mut Vec<Value>, patch: &[Value], field: &str, at: At) {
    let marker = |v: &Value| directive(v) == Some("replace") && v.as_map().is_some_and(|m| m.len() == 1);
    let how = if patch.iter().any(marker) {
        ListMerge::Replace
    } else {
        list_merge(at.builtin, field, at.parent_list, &[target, patch])
    };
    let ListMerge::ByKey(key) = how else {
        *target = patch.iter().filter(|v| !marker(v)).map(cleaned).collect();
        return;
    };
    // Kustomize's order (and the API server's): the patch's items in its
    // order, then the object's items it does not name, in theirs.
    let inner = At { builtin: at.builtin, parent_list: field };
    let mut rest: Vec<Option<Value>> = std::mem::take(target).into_iter().map(Some).collect();
    for pv in patch {
        let found =
            pv.get(key).and_then(|k| rest.iter().position(|tv| tv.as_ref().and_then(|t| t.get(key)) == Some(k)));
        let original = found.and_then(|i| rest[i].take());
        if directive(pv) == Some("delete") {
            continue;
        }
        target.push(match original {
            Some(mut item) => {
                merge(&mut item, pv, inner);
                item
            }
            None => cleaned(pv),
        });
    }
    target.extend(rest.into_iter().flatten());
}

/// A value from a patch as it lands in an object: no `null` deletions, no
/// `$patch` directives.
fn cleaned(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|(k, v)| k.as_str() != PATCH && !matches!(v, Value::Null))
                .map(|(k, v)| (k.clone(), cleaned(v)))
                .collect(),
        ),
        Value::Seq(items) => Value::Seq(items.iter().map(cleaned).collect()),
        other => other.clone(),
    }
}

/// Why an RFC 6902 operation cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    /// The operation lacks a field: `op`, `path`, or what its kind needs.
    NeedsField {
        op: Option<String>,
        field: &'static str,
    },
    /// `path: ""` with an operation that would replace the whole object.
    WholeObject {
        op: String,
    },
    NotAPointer(String),
    PointerTooLong(usize),
    /// Nothing is at this place (`from` when the name is `None`).
    Missing(Option<String>),
    NotAnIndex(String),
    OutOfRange(String),
    /// The parent of this place is a scalar.
    NotAContainer(Option<String>),
    TestFailed(String),
    UnknownOp(String),
    TooManyValues,
    TooDeep(usize),
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::NeedsField { op: None, field } => write!(f, "an operation needs `{field}`"),
            OpError::NeedsField { op: Some(op), field } => write!(f, "`{op}` needs `{field}`"),
            OpError::WholeObject { op } => write!(
                f,
                "`path: \"\"` is the whole object; `{op}` changes a field in it (for example `/spec/replicas`)"
            ),
            OpError::NotAPointer(p) => write!(f, "`{p}` is not a JSON pointer (it starts with `/`)"),
            OpError::PointerTooLong(n) => {
                write!(f, "the path has {n} segments; objects nest at most {MAX_DEPTH} levels")
            }
            OpError::Missing(None) => f.write_str("`from` does not exist"),
            OpError::Missing(Some(at)) => write!(f, "{at} does not exist"),
            OpError::NotAnIndex(at) => write!(f, "{at} is not a list index"),
            OpError::OutOfRange(at) => write!(f, "{at} is out of range"),
            OpError::NotAContainer(None) => f.write_str("the parent is not a map or list"),
            OpError::NotAContainer(Some(at)) => write!(f, "{at} is not a map or list"),
            OpError::TestFailed(path) => write!(f, "test failed: {path} is not the expected value"),
            OpError::UnknownOp(op) => write!(f, "unknown op `{op}` (add, remove, replace, move, copy, test)"),
            OpError::TooManyValues => {
                write!(f, "the operations add more than {MAX_RESULT_NODES} values to the object")
            }
            OpError::TooDeep(n) => write!(f, "the value would nest {n} levels deep; objects nest at most {MAX_DEPTH}"),
        }
    }
}

/// Applies one RFC 6902 operation. One deliberate difference: `add`
/// creates missing parent maps, so that `/metadata/annotations/x` works on
/// an object without annotations. `added` counts the values the operations
/// of one patch have put into the object: a few `copy` ops that each
/// double it would otherwise fill memory.
pub fn apply_op(doc: &mut Value, op: &Value, added: &mut usize) -> Result<(), OpError> {
    let needs = |op: Option<&str>, field| OpError::NeedsField { op: op.map(str::to_string), field };
    let kind = op.get("op").and_then(Value::as_str).ok_or_else(|| needs(None, "op"))?;
    let path = op.get("path").and_then(Value::as_str).ok_or_else(|| needs(None, "path"))?;
    let pointer = parse_pointer(path)?;
    // The object itself is not replaced, moved or removed by a patch: its
    // identity and shape are checked after patches, but only a map has them.
    if pointer.is_empty() && kind != "test" {
        return Err(OpError::WholeObject { op: kind.to_string() });
    }
    let value = || op.get("value").ok_or_else(|| needs(Some(kind), "value"));
    let from = || -> Result<Vec<String>, OpError> {
        parse_pointer(op.get("from").and_then(Value::as_str).ok_or_else(|| needs(Some(kind), "from"))?)
    };
    match kind {
        "add" => add(doc, &pointer, admit(value()?, &pointer, added)?, true),
        "remove" => remove(doc, &pointer).map(drop),
        "replace" => {
            let value = admit(value()?, &pointer, added)?;
            remove(doc, &pointer)?;
            add(doc, &pointer, value, false)
        }
        "move" => {
            let from = from()?;
            let moved = get(doc, &from).ok_or(OpError::Missing(None))?;
            within_depth(moved, &pointer)?;
            let moved = remove(doc, &from)?;
            add(doc, &pointer, moved, false)
        }
        "copy" => {
            let copied = admit(get(doc, &from()?).ok_or(OpError::Missing(None))?, &pointer, added)?;
            add(doc, &pointer, copied, false)
        }
        "test" => {
            let expected = value()?;
            match get(doc, &pointer) {
                Some(v) if v == expected => Ok(()),
                _ => Err(OpError::TestFailed(path.to_string())),
            }
        }
        other => Err(OpError::UnknownOp(other.to_string())),
    }
}

/// A copy of `value` to put at `pointer`, if the object stays within the
/// limits of what one patch may add.
fn admit(value: &Value, pointer: &[String], added: &mut usize) -> Result<Value, OpError> {
    let count = within_depth(value, pointer)?;
    *added += count;
    if *added > MAX_RESULT_NODES {
        return Err(OpError::TooManyValues);
    }
    Ok(value.clone())
}

/// The values in `value`, if placing it at `pointer` nests the object no
/// deeper than a file may.
fn within_depth(value: &Value, pointer: &[String]) -> Result<usize, OpError> {
    let (count, depth) = value.extent();
    if pointer.len() + depth > MAX_DEPTH {
        return Err(OpError::TooDeep(pointer.len() + depth));
    }
    Ok(count)
}

fn parse_pointer(p: &str) -> Result<Vec<String>, OpError> {
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = p.strip_prefix('/') else {
        return Err(OpError::NotAPointer(p.to_string()));
    };
    let segments = rest.bytes().filter(|&b| b == b'/').count() + 1;
    if segments > MAX_DEPTH {
        return Err(OpError::PointerTooLong(segments));
    }
    Ok(rest.split('/').map(|s| s.replace("~1", "/").replace("~0", "~")).collect())
}

fn get<'a>(doc: &'a Value, pointer: &[String]) -> Option<&'a Value> {
    pointer.iter().try_fold(doc, |v, seg| match v {
        Value::Map(m) => m.get(seg),
        Value::Seq(s) => s.get(seg.parse::<usize>().ok()?),
        _ => None,
    })
}

fn parent<'a>(doc: &'a mut Value, pointer: &[String], create: bool) -> Result<&'a mut Value, OpError> {
    let mut v = doc;
    for (i, seg) in pointer.iter().enumerate() {
        let shown = || format!("/{}", pointer[..=i].join("/"));
        v = match v {
            Value::Map(m) => {
                if create && !m.contains_key(seg) {
                    m.insert(seg.clone(), Value::Map(Default::default()));
                }
                m.get_mut(seg).ok_or_else(|| OpError::Missing(Some(shown())))?
            }
            Value::Seq(s) => {
                let idx: usize = seg.parse().map_err(|_| OpError::NotAnIndex(shown()))?;
                s.get_mut(idx).ok_or_else(|| OpError::OutOfRange(shown()))?
            }
            _ => return Err(OpError::NotAContainer(Some(shown()))),
        };
    }
    Ok(v)
}

fn add(doc: &mut Value, pointer: &[String], value: Value, create: bool) -> Result<(), OpError> {
    let Some((last, head)) = pointer.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, head, create)? {
        Value::Map(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Seq(s) => {
            let idx = if last == "-" {
                s.len()
            } else {
                last.parse().map_err(|_| OpError::NotAnIndex(format!("`{last}`")))?
            };
            if idx > s.len() {
                return Err(OpError::OutOfRange(format!("index {idx}")));
            }
            s.insert(idx, value);
            Ok(())
        }
        _ => Err(OpError::NotAContainer(None)),
    }
}

fn remove(doc: &mut Value, pointer: &[String]) -> Result<Value, OpError> {
    let Some((last, head)) = pointer.split_last() else {
        return Err(OpError::WholeObject { op: "remove".into() });
    };
    let shown = format!("/{}", pointer.join("/"));
    match parent(doc, head, false)? {
        Value::Map(m) => m.shift_remove(last).ok_or(OpError::Missing(Some(shown))),
        Value::Seq(s) => {
            let idx: usize = last.parse().map_err(|_| OpError::NotAnIndex(format!("`{last}`")))?;
            if idx >= s.len() {
                return Err(OpError::OutOfRange(shown));
            }
            Ok(s.remove(idx))
        }
        _ => Err(OpError::NotAContainer(Some(format!("{shown}: the parent")))),
    }
}

/// What applying patches needs to know about the objects around them.
pub struct PatchContext<'a> {
    /// Documents that failed: a patch that matches nothing may have
    /// targeted one of them.
    pub failed: &'a [FailedDocument],
    /// The namespace `common` will give objects that name none.
    pub default_ns: Option<&'a str>,
    /// The kinds of the build, for their scopes.
    pub kinds: &'a BuildKinds,
}

/// Applies one patch to the objects it targets (or, without a target, to
/// the object it names). Errors are located at the patch.
pub fn apply_patch(
    r: &mut Renderer,
    patch: &crate::load::Patch,
    scope: &Scope,
    objects: &mut Vec<Object>,
    cx: &PatchContext,
) {
    if let Some(when) = &patch.when
        && super::object::bool_at(r, when, "when", "patches.when".into(), scope) != Some(true)
    {
        return;
    }
    let body = match &patch.body {
        PatchBody::Merge(n) => r.render(n, scope, YamlPath::Root("merge")),
        PatchBody::Ops(n) => r.render(n, scope, YamlPath::Root("ops")),
    };
    let Some(body) = body else { return };
    let (target, target_span) = match &patch.target {
        Some(node) => {
            let Some(value) = r.render(node, scope, YamlPath::Root("target")) else { return };
            match Target::of(&value) {
                Ok(t) => (t, node.span),
                Err((field, e)) => {
                    // The crate's message quotes the anchored pattern over
                    // several lines; its last line says what is wrong.
                    let e = e.to_string();
                    let why = e.lines().last().unwrap_or_default().trim_start_matches("error: ");
                    let span = node.get(field).map_or(node.span, |n| n.span);
                    r.diags.push(
                        Diagnostic::error(
                            Code::PatchTargetInvalid,
                            format!("the target's `{field}` is not a regular expression: {why}"),
                        )
                        .at(span, "this pattern")
                        .help("target fields are matched whole as regular expressions: `web`, `web-.*`, `(Deployment|StatefulSet)`"),
                    );
                    return;
                }
            }
        }
        None => match Target::named_by(&body) {
            Some(t) => (t, patch.span),
            None => {
                let (what, span) = match &patch.body {
                    PatchBody::Merge(n) => (
                        "a merge patch without `target` names its object with `apiVersion`, `kind` and `metadata.name`",
                        n.span,
                    ),
                    PatchBody::Ops(n) => ("operations without `target` apply to no object", n.span),
                };
                r.diags.push(
                    Diagnostic::error(Code::PatchNamesNoObject, format!("this patch does not say which object it changes: {what}"))
                        .at(span, "no target")
                        .help("add `target: {kind: Deployment, name: web}`, or write the object's `apiVersion`, `kind` and `metadata.name` in the patch, as a Kustomize patch file does"),
                );
                return;
            }
        },
    };
    let matching: Vec<usize> = (0..objects.len())
        .filter(|&i| patchable(&objects[i]) && target.matches(&objects[i].value, cx.default_ns, cx.kinds))
        .collect();
    if target.named && matching.len() > 1 {
        let namespaces: Vec<String> = matching
            .iter()
            .map(|&i| objects[i].value.str_at(&["metadata", "namespace"]).unwrap_or("(none)").to_string())
            .collect();
        r.diags.push(
            Diagnostic::error(
                Code::PatchNamesNoObject,
                format!("this patch names {} objects, in namespaces {}", matching.len(), namespaces.join(", ")),
            )
            .at(patch.span, "which one?")
            .help("add `metadata.namespace` to the patch, or a `target` that says which objects it changes"),
        );
        return;
    }
    let mut deleted = Vec::new();
    for &i in &matching {
        let o = &mut objects[i];
        let before = Identity::of(&o.value, cx);
        match (&patch.body, &body) {
            (PatchBody::Merge(_), b @ Value::Map(_)) => {
                if !merge_object(&mut o.value, b) {
                    deleted.push(i);
                    continue;
                }
            }
            (PatchBody::Merge(n), b) => {
                r.diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!("`merge` is a mapping of the fields to change, not {}", b.type_name()),
                    )
                    .at(n.span, "not a mapping")
                    .help("write the fields as they appear in the object, e.g. `merge: {spec: {replicas: 3}}`"),
                );
                return;
            }
            (PatchBody::Ops(n), Value::Seq(ops)) => {
                let mut added = 0;
                for (k, op) in ops.iter().enumerate() {
                    if let Err(e) = apply_op(&mut o.value, op, &mut added) {
                        let id = infra_k8s::kinds::ObjectId::of(&o.value).short();
                        let span = n.items().and_then(|items| items.get(k)).map_or(n.span, |n| n.span);
                        r.diags.push(
                            Diagnostic::error(Code::PatchOpFailed, format!("patch operation failed on {id}: {e}"))
                                .at(span, "this operation"),
                        );
                        return;
                    }
                }
            }
            (PatchBody::Ops(n), _) => {
                r.diags.push(
                    Diagnostic::error(Code::PatchOpFailed, "`ops` is a list of operations").at(n.span, "not a list"),
                );
                return;
            }
        }
        let after = Identity::of(&o.value, cx);
        if before != after && !patch.rename {
            r.diags.push(
                Diagnostic::error(
                    Code::PatchChangesIdentity,
                    format!("this patch would turn {} into {}", before.shown(), after.shown()),
                )
                .at(patch.span, "changes the object's identity")
                .note("a patch changes fields of an object; its kind, name and namespace say which object it is")
                .help("to rename on purpose, add `rename: true` to the patch; to change another object, name it in `target`"),
            );
            return;
        }
    }
    // `$patch: delete` at the root removes the object from the build.
    for i in deleted.into_iter().rev() {
        objects.remove(i);
    }
    // A document that failed may be what the patch targets: its error is
    // the one to fix, and judging the patch now would be a false one.
    if matching.is_empty()
        && !cx.failed.iter().any(|f| f.might_be(target.kind_text.as_deref(), target.name_text.as_deref()))
    {
        let d = Diagnostic::error(Code::PatchMatchesNothing, "this patch matches no object")
            .at(target_span, "matches nothing");
        r.diags.push(closest_objects(d, &target, objects));
    }
}

/// A SOPS document is written as it is: no patch changes it.
fn patchable(o: &Object) -> bool {
    o.verbatim.is_none()
}

/// What says which object an object is: a patch changes it only when it
/// says so (`rename: true`).
#[derive(PartialEq)]
struct Identity {
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
}

impl Identity {
    /// An object's identity, its namespace as `common` will set it (a
    /// patch that writes that namespace changes nothing).
    fn of(object: &Value, cx: &PatchContext) -> Identity {
        let text = |path: &[&str]| object.str_at(path).map(str::to_string);
        let kind = text(&["kind"]);
        let namespaced = kind.is_some() && !cx.kinds.is_cluster_scoped(object);
        let namespace = text(&["metadata", "namespace"])
            .or_else(|| if namespaced { cx.default_ns.map(str::to_string) } else { None });
        Identity { kind, name: text(&["metadata", "name"]), namespace }
    }

    fn shown(&self) -> String {
        let part = |p: &Option<String>| p.as_deref().unwrap_or("(none)").to_string();
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", part(&self.kind), part(&self.name)),
            None => format!("{}/{}", part(&self.kind), part(&self.name)),
        }
    }
}

/// What a patch applies to: each field optional, omitted means any; each
/// a regular expression matched against the whole value, as in Kustomize.
/// `labels` and `annotations` must all be present with the values given.
struct Target {
    group: Option<Pattern>,
    version: Option<Pattern>,
    kind: Option<Pattern>,
    name: Option<Pattern>,
    namespace: Option<Pattern>,
    kind_text: Option<String>,
    name_text: Option<String>,
    labels: Option<Map>,
    annotations: Option<Map>,
    /// Named by the patch itself (no `target`): it changes one object.
    named: bool,
}

/// A target field: matched against the whole value, as a regular
/// expression; most are plain names, compared as text.
enum Pattern {
    Exact(String),
    Regex(regex::Regex),
}

impl Pattern {
    fn is_match(&self, value: &str) -> bool {
        match self {
            Pattern::Exact(text) => text == value,
            Pattern::Regex(re) => re.is_match(value),
        }
    }
}

/// A pattern matched against the whole value.
fn whole(pattern: &str) -> Result<Pattern, regex::Error> {
    if pattern.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b':')) {
        return Ok(Pattern::Exact(pattern.to_string()));
    }
    regex::Regex::new(&format!("^(?:{pattern})$")).map(Pattern::Regex)
}

impl Target {
    /// A `target:`; `Err` names the field that is not a regular expression.
    fn of(target: &Value) -> Result<Self, (&'static str, regex::Error)> {
        let field = |k: &str| target.get(k).and_then(Value::as_str);
        let pattern = |k: &'static str| field(k).map(|p| whole(p).map_err(|e| (k, e))).transpose();
        Ok(Target {
            group: pattern("group")?,
            version: pattern("version")?,
            kind: pattern("kind")?,
            name: pattern("name")?,
            namespace: pattern("namespace")?,
            kind_text: field("kind").map(str::to_string),
            name_text: field("name").map(str::to_string),
            labels: target.get("labels").and_then(Value::as_map).cloned(),
            annotations: target.get("annotations").and_then(Value::as_map).cloned(),
            named: false,
        })
    }

    /// The object a merge patch names with its own `apiVersion`, `kind`,
    /// `metadata.name` (and `metadata.namespace`, if it has one).
    fn named_by(patch: &Value) -> Option<Target> {
        let exact = |path: &[&str]| patch.str_at(path).map(|t| Pattern::Exact(t.to_string()));
        let kind = patch.str_at(&["kind"])?;
        let name = patch.str_at(&["metadata", "name"])?;
        let api_version = patch.str_at(&["apiVersion"]);
        let (group, version) = match api_version {
            Some(v) => {
                let (g, v) = v.rsplit_once('/').unwrap_or(("", v));
                (Some(Pattern::Exact(g.to_string())), Some(Pattern::Exact(v.to_string())))
            }
            None => (None, None),
        };
        Some(Target {
            group,
            version,
            kind: exact(&["kind"]),
            name: exact(&["metadata", "name"]),
            namespace: exact(&["metadata", "namespace"]),
            kind_text: Some(kind.to_string()),
            name_text: Some(name.to_string()),
            labels: None,
            annotations: None,
            named: true,
        })
    }

    fn matches(&self, object: &Value, default_ns: Option<&str>, kinds: &BuildKinds) -> bool {
        let is = |p: &Option<Pattern>, value: &str| p.as_ref().is_none_or(|p| p.is_match(value));
        // The kind first: it rules out most objects, and cheaply.
        let kind = object.str_at(&["kind"]).unwrap_or_default();
        if !is(&self.kind, kind) {
            return false;
        }
        let api_version = object.str_at(&["apiVersion"]).unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let name = object.str_at(&["metadata", "name"]).unwrap_or_default();
        let has_all = |wanted: Option<&Map>, field: &str| {
            let have = object.pointer(&["metadata", field]);
            wanted.is_none_or(|w| w.iter().all(|(k, v)| have.and_then(|h| h.get(k)) == Some(v)))
        };
        is(&self.group, group)
            && is(&self.version, version)
            && is(&self.name, name)
            && self.namespace.as_ref().is_none_or(|re| {
                let namespaced = !kinds.is_cluster_scoped(object);
                let ns = object.str_at(&["metadata", "namespace"]).or(if namespaced { default_ns } else { None });
                ns.is_some_and(|ns| re.is_match(ns))
            })
            && has_all(self.labels.as_ref(), "labels")
            && has_all(self.annotations.as_ref(), "annotations")
    }
}

/// The help of a patch that matches nothing: the object its kind and name
/// are closest to ("did you mean `Deployment/web`?"), with a word on case
/// when only the case differs (`kind: deployment`).
fn closest_objects(d: Diagnostic, target: &Target, objects: &[Object]) -> Diagnostic {
    const WHAT: &str =
        "a target names group, version, kind, name, namespace, labels or annotations of an object in this environment";
    let (kind, name) = (target.kind_text.as_deref(), target.name_text.as_deref());
    let shown = |k: &str, n: &str| match (kind, name) {
        (Some(_), Some(_)) => format!("{k}/{n}"),
        (Some(_), None) => k.to_string(),
        _ => n.to_string(),
    };
    if kind.is_none() && name.is_none() {
        return d.help(WHAT);
    }
    let wanted = shown(kind.unwrap_or_default(), name.unwrap_or_default());
    let candidates: Vec<String> = objects
        .iter()
        .map(|o| {
            shown(
                o.value.str_at(&["kind"]).unwrap_or_default(),
                o.value.str_at(&["metadata", "name"]).unwrap_or_default(),
            )
        })
        .collect();
    let Some(close) = infra_syntax::did_you_mean(&wanted, candidates.iter().map(String::as_str)) else {
        return d.help(WHAT);
    };
    let case = kind.is_some_and(|k| {
        objects.iter().filter_map(|o| o.value.str_at(&["kind"])).any(|have| have != k && have.eq_ignore_ascii_case(k))
    });
    let d = d.help(format!("did you mean `{close}`?"));
    if case { d.note("kinds are case-sensitive, as Kubernetes writes them: `Deployment`, `ConfigMap`") } else { d }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::yaml;

    fn v(s: &str) -> Value {
        yaml::parse_value(s).unwrap()
    }

    /// Merges as into a Deployment (`apps/v1`, a built-in kind).
    fn merged(object: &str, patch: &str) -> Value {
        let mut t = v(&format!("apiVersion: apps/v1\nkind: Deployment\n{object}"));
        assert!(merge_object(&mut t, &v(patch)));
        t
    }

    fn expect(object: &str) -> Value {
        v(&format!("apiVersion: apps/v1\nkind: Deployment\n{object}"))
    }

    #[test]
    fn merge_merges_named_lists_and_deletes_with_null() {
        let t = merged(
            "spec:\n  replicas: 1\n  paused: true\n  containers:\n    - {name: a, image: a:1, env: [{name: X, value: '1'}]}\n    - {name: b, image: b:1}\n",
            "spec:\n  replicas: 2\n  paused: null\n  containers:\n    - {name: b, image: b:2}\n    - {name: c, image: c:1}\n    - {name: a, env: [{name: Y, value: '2'}]}\n",
        );
        assert_eq!(
            t,
            expect(
                "spec:\n  replicas: 2\n  containers:\n    - {name: b, image: b:2}\n    - {name: c, image: c:1}\n    - {name: a, image: a:1, env: [{name: Y, value: '2'}, {name: X, value: '1'}]}\n"
            )
        );
    }

    #[test]
    fn merge_deletes_keyed_items_with_patch_delete() {
        let t = merged(
            "env: [{name: A, value: '1'}, {name: B, value: '2'}]\n",
            "env: [{name: A, $patch: delete}, {name: C, $patch: delete}]\n",
        );
        assert_eq!(t, expect("env: [{name: B, value: '2'}]\n"));
    }

    #[test]
    fn lists_without_a_merge_key_are_replaced() {
        let t = merged("args: [a, b]\ntolerations: [{key: a}]\n", "args: [c]\ntolerations: [{key: b}]\n");
        assert_eq!(t, expect("args: [c]\ntolerations: [{key: b}]\n"));
    }

    #[test]
    fn ports_and_mounts_merge_by_their_kubernetes_keys() {
        let pod = "spec: {template: {spec: {containers: [{name: web, ports: [{containerPort: 80}], volumeMounts: [{name: a, mountPath: /a}]}]}}}\n";
        let t = merged(
            pod,
            "spec: {template: {spec: {containers: [{name: web, ports: [{containerPort: 443}], volumeMounts: [{name: b, mountPath: /a, readOnly: true}]}]}}}\n",
        );
        assert_eq!(
            t,
            expect(
                "spec: {template: {spec: {containers: [{name: web, ports: [{containerPort: 443}, {containerPort: 80}], volumeMounts: [{name: b, mountPath: /a, readOnly: true}]}]}}}\n"
            )
        );
        let mut service = v("apiVersion: v1\nkind: Service\nspec: {ports: [{port: 80, name: http}]}\n");
        assert!(merge_object(&mut service, &v("spec: {ports: [{port: 443, name: https}]}")));
        assert_eq!(
            service,
            v("apiVersion: v1\nkind: Service\nspec: {ports: [{port: 443, name: https}, {port: 80, name: http}]}\n")
        );
    }

    #[test]
    fn patch_directives_replace_and_delete_and_never_reach_the_output() {
        let t = merged(
            "spec: {selector: {matchLabels: {a: '1', b: '2'}}, strategy: {type: Recreate}}\n",
            "spec: {selector: {matchLabels: {c: '3', $patch: replace}}, strategy: {$patch: delete}}\n",
        );
        assert_eq!(t, expect("spec: {selector: {matchLabels: {c: '3'}}}\n"));
        let t = merged(
            "spec: {template: {spec: {containers: [{name: a}, {name: b}]}}}\n",
            "spec: {template: {spec: {containers: [{$patch: replace}, {name: c}]}}}\n",
        );
        assert_eq!(t, expect("spec: {template: {spec: {containers: [{name: c}]}}}\n"));
        let mut gone = expect("metadata: {name: x}\n");
        assert!(!merge_object(&mut gone, &v("$patch: delete")));
    }

    #[test]
    fn custom_resources_merge_named_lists_and_replace_others() {
        let mut cr = v(
            "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nspec: {containers: [{name: a, image: x}], ports: [{port: 1}]}\n",
        );
        assert!(merge_object(&mut cr, &v("spec: {containers: [{name: b}], ports: [{port: 2}]}")));
        assert_eq!(
            cr,
            v(
                "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nspec: {containers: [{name: b}, {name: a, image: x}], ports: [{port: 2}]}\n"
            )
        );
    }

    #[test]
    fn json_patch_ops() {
        let mut t = v("metadata: {name: x}\nspec: {ports: [{port: 80}]}\n");
        apply_op(&mut t, &v("{op: add, path: /metadata/annotations/team, value: obs}"), &mut 0).unwrap();
        apply_op(&mut t, &v("{op: add, path: /spec/ports/-, value: {port: 443}}"), &mut 0).unwrap();
        apply_op(&mut t, &v("{op: replace, path: /spec/ports/0/port, value: 8080}"), &mut 0).unwrap();
        apply_op(&mut t, &v("{op: copy, from: /metadata/name, path: /metadata/labels~1x}"), &mut 0).unwrap();
        apply_op(&mut t, &v("{op: test, path: /metadata/name, value: x}"), &mut 0).unwrap();
        assert_eq!(
            t,
            v(
                "metadata: {name: x, annotations: {team: obs}, labels/x: x}\nspec: {ports: [{port: 8080}, {port: 443}]}\n"
            )
        );
        assert!(
            apply_op(&mut t, &v("{op: remove, path: /spec/nope}"), &mut 0)
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
        assert!(apply_op(&mut t, &v("{op: test, path: /metadata/name, value: y}"), &mut 0).is_err());
    }

    #[test]
    fn operations_stay_within_the_limits_of_an_object() {
        let mut t = v("data: {a: [1, 2, 3, 4, 5, 6, 7, 8]}\n");
        let mut added = 0;
        let copy = |i| v(&format!("{{op: copy, from: /data, path: /data/b{i}}}"));
        let err = (0..40).find_map(|i| apply_op(&mut t, &copy(i), &mut added).err()).unwrap().to_string();
        assert!(err.contains("the operations add more than 1000000 values"), "{err}");
        let deep = format!("{{op: add, path: \"{}\", value: 1}}", "/a".repeat(100_000));
        let err = apply_op(&mut t, &v(&deep), &mut 0).unwrap_err();
        assert_eq!(err, OpError::PointerTooLong(100_000));
        assert_eq!(err.to_string(), "the path has 100000 segments; objects nest at most 200 levels");
        // A value may nest as deep as a file may, counted from where it goes.
        let mut t = v("a: 1\n");
        let nested = |n: usize| format!("{{op: add, path: /x, value: {}1{}}}", "[".repeat(n), "]".repeat(n));
        assert!(apply_op(&mut t, &v(&nested(198)), &mut 0).is_ok());
        let err = apply_op(&mut t, &v(&nested(199)), &mut 0).unwrap_err();
        assert_eq!(err, OpError::TooDeep(201));
    }
}
