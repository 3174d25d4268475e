//! Parameters: the defaults fix each parameter's type; environments and
//! module instances may only set known keys with values of the same type.
//! `schema` constraints are checked on the result.

use super::expr::Scope;
use super::render::{Renderer, YamlPath};
use crate::load::{Module, SchemaRule};
use infra_syntax::{Code, Diagnostic, Map, Node, NodeKind, Span, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Whose params are resolved, for messages: "module cache", "prod"; and the
/// module instance that sets them, if a module instance does.
pub struct Context<'a> {
    pub name: &'a str,
    pub instance: Option<Span>,
}

/// Merges the layers of `overrides` (evaluated in `scope`, in order: an
/// environment's params, `--values` files, `--set`) into `defaults`,
/// checking keys and types, then checks the module's schema.
pub fn resolve(
    r: &mut Renderer,
    module: &Module,
    defaults: &Arc<Value>,
    overrides: &[&Node],
    scope: &Scope,
    context: &Context,
) -> Arc<Value> {
    let mut origins = HashMap::new();
    let mut params = Arc::clone(defaults);
    // Each layer is typed by the defaults, never by the layers before it:
    // an open map stays open after an environment adds keys to it.
    for node in overrides {
        let mut m = Merger { r, scope, origins: &mut origins };
        params = Arc::new(m.merge_node(defaults, &params, node, YamlPath::Root("params")));
    }
    check_schema(r, module, defaults, &params, &origins, context);
    params
}

struct Merger<'a, 'r> {
    r: &'a mut Renderer<'r>,
    scope: &'a Scope,
    origins: &'a mut HashMap<String, Span>,
}

impl Merger<'_, '_> {
    /// `node` merged over `current`, typed by `default`.
    fn merge_node(&mut self, default: &Value, current: &Value, node: &Node, path: YamlPath) -> Value {
        if let (Value::Map(dm), NodeKind::Map(entries)) = (default, &node.kind)
            && !dm.is_empty()
        {
            let mut out = current.as_map().cloned().unwrap_or_else(|| dm.clone());
            for (k, v) in entries {
                let Some(d) = dm.get(&k.name) else {
                    let shown = YamlPath::Key(&path, &k.name).render();
                    self.r.diags.push(
                        Diagnostic::error(Code::UnknownParam, format!("unknown parameter `{}`", strip_root(&shown)))
                            .at(k.span, "not in the defaults")
                            .help(format!("known keys here: {}", dm.keys().cloned().collect::<Vec<_>>().join(", ")))
                            .suggest(&k.name, dm.keys().map(|k| k.as_str())),
                    );
                    continue;
                };
                let now = out.get(&k.name).unwrap_or(d).clone();
                let merged = self.merge_node(d, &now, v, YamlPath::Key(&path, &k.name));
                out.insert(k.name.clone(), merged);
            }
            return Value::Map(out);
        }
        let shown = path.render();
        self.origins.insert(strip_root(&shown).to_string(), node.span);
        let Some(value) = self.r.render(node, self.scope, path) else {
            return current.clone();
        };
        match check_type(default, &value, &shown) {
            // An open map (`{}`) gains keys layer by layer, as Helm's values
            // do; `null` removes one.
            Ok(()) if default.as_map().is_some_and(Map::is_empty) && current.as_map().is_some() => {
                let mut merged = current.clone();
                crate::load::charts::merge(&mut merged, &value);
                merged
            }
            Ok(()) => value,
            Err((at, msg)) => {
                let mut d = Diagnostic::error(Code::ParamType, msg).at(node.span, format!("at {}", strip_root(&at)));
                // `tag: 1.29` and `--set tag=1.29` read as a number.
                if matches!(default, Value::String(_))
                    && matches!(value, Value::Int(_) | Value::Float(_) | Value::Bool(_))
                {
                    d = d.help(
                        "to give it as a string, quote it in YAML ('1.29'), or use --set-string on the command line",
                    );
                }
                self.r.diags.push(d);
                current.clone()
            }
        }
    }
}

fn strip_root(path: &str) -> &str {
    path.strip_prefix("params.").unwrap_or(path)
}

/// Checks that `value` has the type `default` fixes; the error names the
/// path of the first mismatch.
fn check_type(default: &Value, value: &Value, path: &str) -> Result<(), (String, String)> {
    let mismatch = || {
        Err((
            path.to_string(),
            format!(
                "parameter `{}` is {} (from its default), not {}",
                strip_root(path),
                infra_syntax::article(default.type_name()),
                infra_syntax::article(value.type_name())
            ),
        ))
    };
    match (default, value) {
        (Value::Null, _) => Ok(()),
        (Value::Map(d), Value::Map(v)) => {
            if d.is_empty() {
                return Ok(());
            }
            for (k, x) in v {
                let p = format!("{path}.{k}");
                match d.get(k) {
                    Some(dk) => check_type(dk, x, &p)?,
                    None => {
                        let hint = infra_syntax::did_you_mean(k, d.keys().map(|k| k.as_str()))
                            .map(|c| format!(" (did you mean `{c}`?)"))
                            .unwrap_or_default();
                        return Err((p.clone(), format!("unknown parameter `{}`{hint}", strip_root(&p))));
                    }
                }
            }
            Ok(())
        }
        (Value::Seq(_), Value::Seq(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Int(_), Value::Int(_))
        | (Value::Float(_), Value::Float(_) | Value::Int(_)) => Ok(()),
        _ => mismatch(),
    }
}

fn lookup<'v>(params: &'v Value, dotted: &str) -> Option<&'v Value> {
    dotted.split('.').try_fold(params, |v, k| v.get(k))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Seq(s) => s.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

fn check_schema(
    r: &mut Renderer,
    module: &Module,
    defaults: &Value,
    params: &Value,
    origins: &HashMap<String, Span>,
    context: &Context,
) {
    for rule in &module.schema {
        if lookup(defaults, &rule.path).is_none() {
            r.diags.push(unknown_path(rule, defaults));
            continue;
        }
        let value = lookup(params, &rule.path).unwrap_or(&Value::Null);
        let at = origins.get(&rule.path).copied().unwrap_or(rule.span);
        let violation = |msg: String| {
            let mut d = Diagnostic::error(
                Code::SchemaViolation,
                format!("parameter `{}` {msg} (in {})", rule.path, context.name),
            );
            if at == rule.span {
                // Nothing set it: the instance that left it out is to blame.
                if let Some(instance) = context.instance {
                    d = d.at(instance, "this module instance does not set it");
                }
                d = d.at(rule.span, "constraint declared here");
            } else {
                d = d.at(at, "value set here").at(rule.span, "constraint declared here");
            }
            if let Some(doc) = &rule.doc {
                d = d.note(format!("{}: {doc}", rule.path));
            }
            d
        };
        if let Some(why) = missing(r, rule, params, value) {
            r.diags.push(violation(why));
            continue;
        }
        // An unset optional value is not checked against pattern or enum.
        if is_empty(value) && (matches!(value, Value::Null) || rule.pattern.is_none()) {
            continue;
        }
        let found = [pattern(r, rule, value), one_of(rule, value)].into_iter().flatten().chain(bounds(rule, value));
        for msg in found.collect::<Vec<_>>() {
            r.diags.push(violation(msg));
        }
    }
}

/// A rule for a path that is not a parameter.
fn unknown_path(rule: &SchemaRule, defaults: &Value) -> Diagnostic {
    let last = rule.path.rsplit('.').next().unwrap_or_default();
    let parent = rule.path.rsplit_once('.').map_or("", |(p, _)| p);
    let siblings = if parent.is_empty() { Some(defaults) } else { lookup(defaults, parent) };
    let siblings = siblings.and_then(Value::as_map).map(|m| m.keys().map(|k| k.as_str()).collect::<Vec<_>>());
    Diagnostic::error(Code::SchemaViolation, format!("schema names `{}`, which is not a parameter", rule.path))
        .at(rule.span, "no such parameter")
        .suggest(last, siblings.unwrap_or_default())
}

/// `required` and `required_when`: why an empty value is missing.
fn missing(r: &mut Renderer, rule: &SchemaRule, params: &Value, value: &Value) -> Option<String> {
    let required_by = match &rule.required_when {
        Some((cond, span)) => match lookup(params, cond) {
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                r.diags.push(
                    Diagnostic::error(
                        Code::SchemaViolation,
                        format!("required_when names `{cond}`, a {}, not a bool", other.type_name()),
                    )
                    .at(*span, "not a bool parameter"),
                );
                false
            }
            None => {
                r.diags.push(
                    Diagnostic::error(
                        Code::SchemaViolation,
                        format!("required_when names `{cond}`, which is not a parameter"),
                    )
                    .at(*span, "no such parameter"),
                );
                false
            }
        },
        None => false,
    };
    if !(rule.required || required_by) || !is_empty(value) {
        return None;
    }
    Some(match &rule.required_when {
        Some((cond, _)) if required_by => format!("is required when `{cond}` is true"),
        _ => "is required".into(),
    })
}

/// `pattern`: the value's text matches the regular expression.
fn pattern(r: &mut Renderer, rule: &SchemaRule, value: &Value) -> Option<String> {
    let (pattern, span) = rule.pattern.as_ref()?;
    let re = match regex::Regex::new(pattern) {
        Ok(re) => re,
        Err(e) => {
            r.diags.push(
                Diagnostic::error(Code::SchemaViolation, format!("invalid pattern: {e}"))
                    .at(*span, "this regular expression"),
            );
            return None;
        }
    };
    let text = match value {
        Value::String(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        other => other.type_name().to_string(),
    };
    (!re.is_match(&text)).then(|| format!("= {text:?} does not match the pattern `{pattern}`"))
}

/// `enum`: the value is one of a list.
fn one_of(rule: &SchemaRule, value: &Value) -> Option<String> {
    let allowed = rule.allowed.as_ref()?;
    let shown: Vec<String> = allowed.iter().map(short).collect();
    (!allowed.contains(value)).then(|| format!("= {} is not one of {}", short(value), shown.join(", ")))
}

/// `min` and `max`: a number within bounds.
fn bounds(rule: &SchemaRule, value: &Value) -> Vec<String> {
    let number = match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    let mut out = Vec::new();
    for (bound, is_min) in [(rule.min, true), (rule.max, false)] {
        let Some(bound) = bound else { continue };
        match number {
            None => out.push(format!("is a {}, but min/max need a number", value.type_name())),
            Some(n) if is_min && n < bound => out.push(format!("= {n} is below the minimum {bound}")),
            Some(n) if !is_min && n > bound => out.push(format!("= {n} is above the maximum {bound}")),
            _ => {}
        }
    }
    out
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => infra_syntax::canonical::canonical_json(other),
    }
}
