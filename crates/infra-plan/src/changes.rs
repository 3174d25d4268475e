//! What a plan is made of — an action per object (create, update, replace,
//! delete), field changes at readable paths, hazards — and the field-level
//! diff of two values.

use infra_k8s::kinds::{ObjectId, means_absent};
use infra_syntax::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

/// One changed field, at a readable path such as
/// `spec.template.spec.containers[name=grafana].image`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
    /// A secret's value: shown as `(redacted)` with its size.
    pub redacted: bool,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub action: Action,
    pub id: ObjectId,
    pub api_version: String,
    /// A ConfigMap or Secret whose hash-suffixed name changed.
    pub renamed_from: Option<String>,
    pub rollout: bool,
    pub reason: String,
    pub fields: Vec<FieldChange>,
    /// Where the new object was made, when not in a resource file: "chart
    /// kps: kube-prometheus-stack/charts/grafana/templates/deployment.yaml".
    pub from: Option<String>,
}

pub(crate) fn api_version(v: &Value) -> String {
    v.str_at(&["apiVersion"]).unwrap_or_default().to_string()
}

impl Change {
    /// A change of a whole object, without field changes.
    pub(crate) fn whole(action: Action, id: &ObjectId, v: &Value, reason: String) -> Change {
        Change {
            action,
            id: id.clone(),
            api_version: api_version(v),
            renamed_from: None,
            rollout: false,
            reason,
            fields: Vec::new(),
            from: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    DataLoss,
    Warning,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::DataLoss => "data-loss",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hazard {
    pub severity: Severity,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// What is lost and where it lived.
    pub reason: String,
    /// What to do first.
    pub advice: Option<String>,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub hazards: Vec<Hazard>,
    pub unchanged: usize,
    /// Objects that exist (in a live dump, or dashboards in Grafana) but
    /// that the project does not define.
    pub unmanaged: Vec<Unmanaged>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unmanaged {
    pub id: ObjectId,
    /// Why it matters, when it does ("a Grafana dashboard ...").
    pub note: Option<String>,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    pub fn has_data_loss(&self) -> bool {
        self.hazards.iter().any(|h| h.severity == Severity::DataLoss)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Options {
    pub show_secrets: bool,
}

pub(crate) fn render_path(segments: &[String]) -> String {
    let mut out = String::new();
    for s in segments {
        if s.starts_with('[') {
            out.push_str(s);
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(s);
        }
    }
    out
}

fn key_segment(key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') && !key.is_empty() {
        key.to_string()
    } else {
        format!("[{key:?}]")
    }
}

/// The field-level differences of two values, at readable paths. What the
/// API server reads as absent (null, `[]`, an empty string map) equals
/// absent; a map on one side only is compared with an empty one, so what
/// it adds or removes is named field by field.
/// Strings that hold JSON are compared as data when `json` (never in a
/// Secret whose values are hidden: a key inside one can be a secret too).
pub(crate) fn diff_values(old: &Value, new: &Value, json: bool, path: &mut Vec<String>, out: &mut Vec<FieldChange>) {
    diff_at(None, old, new, json, path, out);
}

fn diff_at(
    key: Option<&str>,
    old: &Value,
    new: &Value,
    json: bool,
    path: &mut Vec<String>,
    out: &mut Vec<FieldChange>,
) {
    // The same object (an unchanged one reused from the build) needs no walk.
    if std::ptr::eq(old, new) || old == new || (means_absent(key, old) && means_absent(key, new)) {
        return;
    }
    static EMPTY: std::sync::LazyLock<infra_syntax::Map> = std::sync::LazyLock::new(infra_syntax::Map::new);
    match (old, new) {
        (Value::Map(a), Value::Map(b)) => diff_keyed(&map_entries(a), &map_entries(b), json, path, out),
        (Value::Map(a), b) if key.is_some() && !a.is_empty() && means_absent(key, b) => {
            diff_keyed(&map_entries(a), &map_entries(&EMPTY), json, path, out)
        }
        (a, Value::Map(b)) if key.is_some() && !b.is_empty() && means_absent(key, a) => {
            diff_keyed(&map_entries(&EMPTY), &map_entries(b), json, path, out)
        }
        (Value::Seq(a), Value::Seq(b)) if named(a) && named(b) => {
            diff_keyed(&named_items(a), &named_items(b), json, path, out);
        }
        (Value::Seq(a), Value::Seq(b)) if a.len() == b.len() => {
            for (i, (av, bv)) in a.iter().zip(b).enumerate() {
                path.push(format!("[{i}]"));
                diff_at(None, av, bv, json, path, out);
                path.pop();
            }
        }
        (Value::String(a), Value::String(b)) if json && json_diff(a, b, path, out) => {}
        _ => out.push(FieldChange {
            path: render_path(path),
            old: (!means_absent(key, old)).then(|| old.clone()),
            new: (!means_absent(key, new)).then(|| new.clone()),
            redacted: false,
        }),
    }
}

/// The most field changes a JSON text is shown as; past it, a line diff
/// says more.
const MAX_JSON_CHANGES: usize = 60;

/// Two JSON documents in strings (a Grafana dashboard in a ConfigMap, a
/// config file) compared as data: each changed field at its path
/// (`data["node.json"].panels[id=12].title`), list items by their `name`,
/// `id`, `uid` or `refId`. `false` when they are not both JSON objects or
/// lists, or differ in too many places to read (a line diff then shows
/// them).
fn json_diff(old: &str, new: &str, path: &mut Vec<String>, out: &mut Vec<FieldChange>) -> bool {
    let looks = |s: &str| s.len() > 64 && s.trim_start().starts_with(['{', '[']);
    if !looks(old) || !looks(new) {
        return false;
    }
    let (Ok(a), Ok(b)) = (
        infra_syntax::json::parse::<serde_json::Value>(old.as_bytes()),
        infra_syntax::json::parse::<serde_json::Value>(new.as_bytes()),
    ) else {
        return false;
    };
    let (a, b) = (from_json(&a), from_json(&b));
    let mut found = Vec::new();
    let depth = path.len();
    json_at(&a, &b, path, &mut found);
    path.truncate(depth);
    if found.is_empty() || found.len() > MAX_JSON_CHANGES {
        return false;
    }
    out.extend(found);
    true
}

fn json_at(old: &Value, new: &Value, path: &mut Vec<String>, out: &mut Vec<FieldChange>) {
    if old == new || out.len() > MAX_JSON_CHANGES {
        return;
    }
    let keyed = |items: &[Value]| -> Option<&'static str> {
        ["name", "id", "uid", "refId"].into_iter().find(|k| {
            let ids: Vec<String> = items.iter().filter_map(|i| i.get(k).map(scalar_text)).collect();
            !items.is_empty()
                && ids.len() == items.len()
                && ids.iter().collect::<std::collections::HashSet<_>>().len() == ids.len()
        })
    };
    match (old, new) {
        (Value::Map(a), Value::Map(b)) => {
            for (k, av) in a.iter() {
                path.push(key_segment(k));
                json_at(av, b.get(k).unwrap_or(&Value::Null), path, out);
                path.pop();
            }
            for (k, bv) in b.iter().filter(|(k, _)| a.get(k).is_none()) {
                path.push(key_segment(k));
                json_at(&Value::Null, bv, path, out);
                path.pop();
            }
        }
        (Value::Seq(a), Value::Seq(b)) if keyed(a).is_some() && keyed(a) == keyed(b) => {
            let k = keyed(a).unwrap_or_default();
            let id = |v: &Value| v.get(k).map(scalar_text).unwrap_or_default();
            let old_items: std::collections::HashMap<String, &Value> = a.iter().map(|v| (id(v), v)).collect();
            let new_items: std::collections::HashMap<String, &Value> = b.iter().map(|v| (id(v), v)).collect();
            for av in a {
                let key = id(av);
                path.push(format!("[{k}={key}]"));
                json_at(av, new_items.get(&key).copied().unwrap_or(&Value::Null), path, out);
                path.pop();
            }
            for bv in b {
                let key = id(bv);
                if !old_items.contains_key(&key) {
                    path.push(format!("[{k}={key}]"));
                    json_at(&Value::Null, bv, path, out);
                    path.pop();
                }
            }
        }
        (Value::Seq(a), Value::Seq(b)) if a.len() == b.len() => {
            for (i, (av, bv)) in a.iter().zip(b).enumerate() {
                path.push(format!("[{i}]"));
                json_at(av, bv, path, out);
                path.pop();
            }
        }
        _ => out.push(FieldChange {
            path: render_path(path),
            old: (!matches!(old, Value::Null)).then(|| old.clone()),
            new: (!matches!(new, Value::Null)).then(|| new.clone()),
            redacted: false,
        }),
    }
}

fn scalar_text(v: &Value) -> String {
    v.as_str().map_or_else(|| infra_syntax::canonical::canonical_json(v), str::to_string)
}

/// A JSON value as a [`Value`].
pub(crate) fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            n.as_i64().map_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::Int)
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => Value::Seq(items.iter().map(from_json).collect()),
        serde_json::Value::Object(m) => {
            Value::Map(m.iter().map(|(k, v)| (infra_syntax::Str::from(k.as_str()), from_json(v))).collect())
        }
    }
}

/// A keyed entry: its path segment, its key as written (for maps), value.
type Entry<'v> = (String, Option<&'v str>, &'v Value);

fn map_entries(m: &infra_syntax::Map) -> Vec<Entry<'_>> {
    m.iter().map(|(k, v)| (key_segment(k), Some(k.as_str()), v)).collect()
}

fn named_items(items: &[Value]) -> Vec<Entry<'_>> {
    items.iter().map(|v| (format!("[name={}]", v.str_at(&["name"]).unwrap_or_default()), None, v)).collect()
}

/// Diffs two keyed collections (map entries, or list items by name): a key
/// on one side only is a removal or an addition.
fn diff_keyed(a: &[Entry], b: &[Entry], json: bool, path: &mut Vec<String>, out: &mut Vec<FieldChange>) {
    for (seg, key, av) in a {
        path.push(seg.clone());
        match b.iter().find(|(s, _, _)| s == seg) {
            Some((_, _, bv)) => diff_at(*key, av, bv, json, path, out),
            None => diff_at(*key, av, &Value::Null, json, path, out),
        }
        path.pop();
    }
    for (seg, key, bv) in b.iter().filter(|(s, _, _)| !a.iter().any(|(x, _, _)| x == s)) {
        path.push(seg.clone());
        diff_at(*key, &Value::Null, bv, json, path, out);
        path.pop();
    }
}

pub(crate) fn named(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.str_at(&["name"]).is_some())
}
