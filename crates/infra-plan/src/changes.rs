//! What a plan is made of — an action per object (create, update, replace,
//! delete), field changes at readable paths, hazards — and the field-level
//! diff of two values.

use infra_k8s::kinds::ObjectId;
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
    pub reason: String,
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

pub(crate) fn diff_values(old: &Value, new: &Value, path: &mut Vec<String>, out: &mut Vec<FieldChange>) {
    // The same object (an unchanged one reused from the build) needs no walk.
    if std::ptr::eq(old, new) || old == new {
        return;
    }
    match (old, new) {
        (Value::Map(a), Value::Map(b)) => {
            diff_keyed(&map_entries(a), &map_entries(b), path, out);
        }
        (Value::Seq(a), Value::Seq(b)) if named(a) && named(b) => {
            diff_keyed(&named_items(a), &named_items(b), path, out);
        }
        (Value::Seq(a), Value::Seq(b)) if a.len() == b.len() => {
            for (i, (av, bv)) in a.iter().zip(b).enumerate() {
                path.push(format!("[{i}]"));
                diff_values(av, bv, path, out);
                path.pop();
            }
        }
        _ => out.push(FieldChange {
            path: render_path(path),
            old: Some(old.clone()),
            new: Some(new.clone()),
            redacted: false,
        }),
    }
}

fn map_entries(m: &infra_syntax::Map) -> Vec<(String, &Value)> {
    m.iter().map(|(k, v)| (key_segment(k), v)).collect()
}

fn named_items(items: &[Value]) -> Vec<(String, &Value)> {
    items.iter().map(|v| (format!("[name={}]", v.str_at(&["name"]).unwrap_or_default()), v)).collect()
}

/// Diffs two keyed collections (map entries, or list items by name): a key
/// on one side only is a removal or an addition.
fn diff_keyed(a: &[(String, &Value)], b: &[(String, &Value)], path: &mut Vec<String>, out: &mut Vec<FieldChange>) {
    for (key, av) in a {
        path.push(key.clone());
        match b.iter().find(|(k, _)| k == key) {
            Some((_, bv)) => diff_values(av, bv, path, out),
            None => {
                out.push(FieldChange { path: render_path(path), old: Some((*av).clone()), new: None, redacted: false })
            }
        }
        path.pop();
    }
    for (key, bv) in b.iter().filter(|(k, _)| !a.iter().any(|(x, _)| x == k)) {
        path.push(key.clone());
        out.push(FieldChange { path: render_path(path), old: None, new: Some((*bv).clone()), redacted: false });
        path.pop();
    }
}

pub(crate) fn named(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.str_at(&["name"]).is_some())
}
