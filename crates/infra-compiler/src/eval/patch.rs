//! Patches: merge patches that merge lists of named objects by `name`
//! (containers, env, volumes, ports), and RFC 6902 JSON patch operations.

use super::expr::Scope;
use super::object::{FailedDocument, Object};
use super::render::{Renderer, YamlPath};
use crate::load::PatchBody;
use infra_syntax::{Code, Diagnostic, Map, Value};

/// Merges `patch` into `target`. Maps merge key by key and `null` deletes a
/// key; lists whose items all have a `name` merge item by item; anything
/// else is replaced.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Map(t), Value::Map(p)) => {
            for (k, pv) in p {
                if matches!(pv, Value::Null) {
                    t.shift_remove(k);
                } else if let Some(tv) = t.get_mut(k) {
                    merge(tv, pv);
                } else {
                    let mut fresh = pv.clone();
                    strip_nulls(&mut fresh);
                    t.insert(k.clone(), fresh);
                }
            }
        }
        (Value::Seq(t), Value::Seq(p)) if named_items(t) && named_items(p) => {
            for pv in p {
                let name = pv.get("name");
                let position = t.iter().position(|tv| tv.get("name") == name);
                // `{name: x, $patch: delete}` removes the item, as in
                // Kubernetes' strategic merge patches.
                if pv.get("$patch").and_then(Value::as_str) == Some("delete") {
                    if let Some(i) = position {
                        t.remove(i);
                    }
                    continue;
                }
                match position {
                    Some(i) => merge(&mut t[i], pv),
                    None => t.push(pv.clone()),
                }
            }
        }
        (t, p) => {
            *t = p.clone();
            strip_nulls(t);
        }
    }
}

fn named_items(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.get("name").is_some())
}

/// A new map from a merge patch holds no `null` "deletions".
fn strip_nulls(v: &mut Value) {
    if let Value::Map(m) = v {
        m.retain(|_, v| !matches!(v, Value::Null));
        m.values_mut().for_each(strip_nulls);
    }
}

/// Applies one RFC 6902 operation. One deliberate difference: `add`
/// creates missing parent maps, so that `/metadata/annotations/x` works on
/// an object without annotations.
pub fn apply_op(doc: &mut Value, op: &Value) -> Result<(), String> {
    let kind = op.get("op").and_then(Value::as_str).ok_or("an operation needs `op`")?;
    let path = op.get("path").and_then(Value::as_str).ok_or("an operation needs `path`")?;
    let pointer = parse_pointer(path)?;
    // The object itself is not replaced, moved or removed by a patch: its
    // identity and shape are checked after patches, but only a map has them.
    if pointer.is_empty() && kind != "test" {
        return Err(format!(
            "`path: \"\"` is the whole object; `{kind}` changes a field in it (for example `/spec/replicas`)"
        ));
    }
    let value = || op.get("value").cloned().ok_or_else(|| format!("`{kind}` needs `value`"));
    let from = || -> Result<Vec<String>, String> {
        parse_pointer(op.get("from").and_then(Value::as_str).ok_or_else(|| format!("`{kind}` needs `from`"))?)
    };
    match kind {
        "add" => add(doc, &pointer, value()?, true),
        "remove" => remove(doc, &pointer).map(drop),
        "replace" => {
            remove(doc, &pointer)?;
            add(doc, &pointer, value()?, false)
        }
        "move" => {
            let moved = remove(doc, &from()?)?;
            add(doc, &pointer, moved, false)
        }
        "copy" => {
            let copied = get(doc, &from()?).ok_or("`from` does not exist")?.clone();
            add(doc, &pointer, copied, false)
        }
        "test" => {
            let expected = value()?;
            match get(doc, &pointer) {
                Some(v) if *v == expected => Ok(()),
                _ => Err(format!("test failed: {path} is not the expected value")),
            }
        }
        other => Err(format!("unknown op `{other}` (add, remove, replace, move, copy, test)")),
    }
}

fn parse_pointer(p: &str) -> Result<Vec<String>, String> {
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = p.strip_prefix('/') else {
        return Err(format!("`{p}` is not a JSON pointer (it starts with `/`)"));
    };
    Ok(rest.split('/').map(|s| s.replace("~1", "/").replace("~0", "~")).collect())
}

fn get<'a>(doc: &'a Value, pointer: &[String]) -> Option<&'a Value> {
    pointer.iter().try_fold(doc, |v, seg| match v {
        Value::Map(m) => m.get(seg),
        Value::Seq(s) => s.get(seg.parse::<usize>().ok()?),
        _ => None,
    })
}

fn parent<'a>(doc: &'a mut Value, pointer: &[String], create: bool) -> Result<&'a mut Value, String> {
    let mut v = doc;
    for (i, seg) in pointer.iter().enumerate() {
        let shown = || format!("/{}", pointer[..=i].join("/"));
        v = match v {
            Value::Map(m) => {
                if create && !m.contains_key(seg) {
                    m.insert(seg.clone(), Value::Map(Default::default()));
                }
                m.get_mut(seg).ok_or_else(|| format!("{} does not exist", shown()))?
            }
            Value::Seq(s) => {
                let idx: usize = seg.parse().map_err(|_| format!("{} is not a list index", shown()))?;
                s.get_mut(idx).ok_or_else(|| format!("{} is out of range", shown()))?
            }
            _ => return Err(format!("{} is not a map or list", shown())),
        };
    }
    Ok(v)
}

fn add(doc: &mut Value, pointer: &[String], value: Value, create: bool) -> Result<(), String> {
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
                last.parse().map_err(|_| format!("`{last}` is not a list index"))?
            };
            if idx > s.len() {
                return Err(format!("index {idx} is out of range"));
            }
            s.insert(idx, value);
            Ok(())
        }
        _ => Err("the parent is not a map or list".into()),
    }
}

fn remove(doc: &mut Value, pointer: &[String]) -> Result<Value, String> {
    let (last, head) = pointer.split_last().ok_or("cannot remove the whole object")?;
    let shown = format!("/{}", pointer.join("/"));
    match parent(doc, head, false)? {
        Value::Map(m) => m.shift_remove(last).ok_or(format!("{shown} does not exist")),
        Value::Seq(s) => {
            let idx: usize = last.parse().map_err(|_| format!("`{last}` is not a list index"))?;
            if idx >= s.len() {
                return Err(format!("{shown} is out of range"));
            }
            Ok(s.remove(idx))
        }
        _ => Err(format!("{shown}: the parent is not a map or list")),
    }
}

pub fn apply_patch(
    r: &mut Renderer,
    patch: &crate::load::Patch,
    scope: &Scope,
    objects: &mut [Object],
    failed: &[FailedDocument],
    default_ns: Option<&str>,
    cluster_kinds: &[String],
) {
    let target = match &patch.target {
        Some(t) => match r.render(t, scope, YamlPath::Root("target")) {
            Some(v) => v,
            None => return,
        },
        None => Value::Map(Map::new()),
    };
    let body = match &patch.body {
        PatchBody::Merge(n) => r.render(n, scope, YamlPath::Root("merge")),
        PatchBody::Ops(n) => r.render(n, scope, YamlPath::Root("ops")),
    };
    let Some(body) = body else { return };
    let mut matched = 0;
    for o in objects.iter_mut() {
        if !target_matches(&target, &o.value, default_ns, cluster_kinds) {
            continue;
        }
        matched += 1;
        match (&patch.body, &body) {
            (PatchBody::Merge(_), b @ Value::Map(_)) => merge(&mut o.value, b),
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
            (PatchBody::Ops(_), Value::Seq(ops)) => {
                for (i, op) in ops.iter().enumerate() {
                    if let Err(e) = apply_op(&mut o.value, op) {
                        let id = infra_k8s::kinds::ObjectId::of(&o.value).short();
                        let span = match &patch.body {
                            PatchBody::Ops(n) => n.items().and_then(|items| items.get(i)).map_or(n.span, |n| n.span),
                            PatchBody::Merge(n) => n.span,
                        };
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
    }
    // A document that failed may be what the patch targets: its error is
    // the one to fix, and judging the patch now would be a false one.
    let field = |k: &str| target.get(k).and_then(Value::as_str);
    if matched == 0 && !failed.iter().any(|f| f.might_be(field("kind"), field("name"))) {
        let d = Diagnostic::error(Code::PatchMatchesNothing, "this patch matches no object")
            .at(patch.target.as_ref().map_or(patch.span, |t| t.span), "matches nothing");
        r.diags.push(closest_objects(d, field("kind"), field("name"), objects));
    }
}

/// The help of a patch that matches nothing: the object its kind and name
/// are closest to ("did you mean `Deployment/web`?"), with a word on case
/// when only the case differs (`kind: deployment`).
fn closest_objects(d: Diagnostic, kind: Option<&str>, name: Option<&str>, objects: &[Object]) -> Diagnostic {
    let shown = |k: &str, n: &str| match (kind, name) {
        (Some(_), Some(_)) => format!("{k}/{n}"),
        (Some(_), None) => k.to_string(),
        _ => n.to_string(),
    };
    if kind.is_none() && name.is_none() {
        return d.help("a target names kind, name, namespace or labels of an object in this environment");
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
        return d.help("a target names kind, name, namespace or labels of an object in this environment");
    };
    let case = kind.is_some_and(|k| {
        objects.iter().filter_map(|o| o.value.str_at(&["kind"])).any(|have| have != k && have.eq_ignore_ascii_case(k))
    });
    let d = d.help(format!("did you mean `{close}`?"));
    if case { d.note("kinds are case-sensitive, as Kubernetes writes them: `Deployment`, `ConfigMap`") } else { d }
}

fn target_matches(target: &Value, object: &Value, default_ns: Option<&str>, cluster_kinds: &[String]) -> bool {
    let Some(t) = target.as_map() else {
        return false;
    };
    let field = |k: &str| t.get(k).and_then(Value::as_str);
    let kind = object.str_at(&["kind"]).unwrap_or_default();
    if field("kind").is_some_and(|k| k != kind) {
        return false;
    }
    if field("name").is_some_and(|n| Some(n) != object.str_at(&["metadata", "name"])) {
        return false;
    }
    if let Some(ns) = field("namespace") {
        let namespaced = !cluster_kinds.iter().any(|k| k == kind);
        let actual = object.str_at(&["metadata", "namespace"]).or(if namespaced { default_ns } else { None });
        if actual != Some(ns) {
            return false;
        }
    }
    if let Some(Value::Map(labels)) = t.get("labels") {
        let have = object.pointer(&["metadata", "labels"]);
        if !labels.iter().all(|(k, v)| have.and_then(|h| h.get(k)) == Some(v)) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::yaml;

    fn v(s: &str) -> Value {
        yaml::parse_value(s).unwrap()
    }

    #[test]
    fn merge_merges_named_lists_and_deletes_with_null() {
        let mut t = v(
            "spec:\n  replicas: 1\n  paused: true\n  containers:\n    - {name: a, image: a:1, env: [{name: X, value: '1'}]}\n    - {name: b, image: b:1}\n",
        );
        merge(
            &mut t,
            &v(
                "spec:\n  replicas: 2\n  paused: null\n  containers:\n    - {name: b, image: b:2}\n    - {name: c, image: c:1}\n    - {name: a, env: [{name: Y, value: '2'}]}\n",
            ),
        );
        assert_eq!(
            t,
            v(
                "spec:\n  replicas: 2\n  containers:\n    - {name: a, image: a:1, env: [{name: X, value: '1'}, {name: Y, value: '2'}]}\n    - {name: b, image: b:2}\n    - {name: c, image: c:1}\n"
            )
        );
    }

    #[test]
    fn merge_deletes_named_items_with_patch_delete() {
        let mut t = v("env: [{name: A, value: '1'}, {name: B, value: '2'}]\n");
        merge(&mut t, &v("env: [{name: A, $patch: delete}, {name: C, $patch: delete}]\n"));
        assert_eq!(t, v("env: [{name: B, value: '2'}]\n"));
    }

    #[test]
    fn merge_replaces_plain_lists() {
        let mut t = v("args: [a, b]\n");
        merge(&mut t, &v("args: [c]\n"));
        assert_eq!(t, v("args: [c]\n"));
    }

    #[test]
    fn json_patch_ops() {
        let mut t = v("metadata: {name: x}\nspec: {ports: [{port: 80}]}\n");
        apply_op(&mut t, &v("{op: add, path: /metadata/annotations/team, value: obs}")).unwrap();
        apply_op(&mut t, &v("{op: add, path: /spec/ports/-, value: {port: 443}}")).unwrap();
        apply_op(&mut t, &v("{op: replace, path: /spec/ports/0/port, value: 8080}")).unwrap();
        apply_op(&mut t, &v("{op: copy, from: /metadata/name, path: /metadata/labels~1x}")).unwrap();
        apply_op(&mut t, &v("{op: test, path: /metadata/name, value: x}")).unwrap();
        assert_eq!(
            t,
            v(
                "metadata: {name: x, annotations: {team: obs}, labels/x: x}\nspec: {ports: [{port: 8080}, {port: 443}]}\n"
            )
        );
        assert!(apply_op(&mut t, &v("{op: remove, path: /spec/nope}")).unwrap_err().contains("does not exist"));
        assert!(apply_op(&mut t, &v("{op: test, path: /metadata/name, value: y}")).is_err());
    }
}
