//! `common`: namespace, labels and annotations applied to every object of
//! a project or module, after patches.

use super::expr::Scope;
use super::render::{Renderer, YamlPath};
use infra_syntax::{Code, Diagnostic, Map, Node, Value};

/// `common` of the project (or module), with an environment's `common`
/// winning key by key.
#[derive(Default)]
pub struct Common {
    pub namespace: Option<String>,
    pub labels: Map,
    pub annotations: Map,
}

pub fn merged_common(r: &mut Renderer, base: Option<&Node>, over: Option<&Node>, scope: &Scope) -> Common {
    let mut common = Common::default();
    for node in [base, over].into_iter().flatten() {
        let Some(Value::Map(m)) = r.render(node, scope, YamlPath::Root("common")) else {
            continue;
        };
        for (k, v) in m {
            match (k.as_str(), v) {
                ("namespace", Value::String(ns)) => common.namespace = Some(ns.to_string()),
                ("namespace", Value::Null) => {}
                ("labels", Value::Map(l)) => common.labels.extend(l),
                ("annotations", Value::Map(a)) => common.annotations.extend(a),
                (_, Value::Null) => {}
                (key, other) => r.diags.push(
                    Diagnostic::error(Code::DirectiveType, format!("common.{key} cannot be a {}", other.type_name()))
                        .at(node.span, "in this common block"),
                ),
            }
        }
    }
    common
}

impl Common {
    pub fn apply(&self, object: &mut Value, cluster_kinds: &[String]) {
        let kind = object.str_at(&["kind"]).unwrap_or_default().to_string();
        let namespaced = !cluster_kinds.contains(&kind);
        let meta = object.map_entry("metadata");
        if let Some(ns) = &self.namespace
            && namespaced
            && meta.get("namespace").is_none_or(|v| matches!(v, Value::Null) || v.as_str() == Some(""))
        {
            meta.insert("namespace", Value::from(ns.as_str()));
        }
        for (key, values) in [("labels", &self.labels), ("annotations", &self.annotations)] {
            if values.is_empty() {
                continue;
            }
            let slot = meta.get_or_insert_with(key, || Value::Map(Map::new()));
            if !matches!(slot, Value::Map(_)) {
                *slot = Value::Map(Map::new());
            }
            if let Value::Map(m) = slot {
                for (k, v) in values {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
    }
}
