//! The eval stage: one environment of a [`Project`] becomes [`Resources`],
//! plain objects with their provenance. Parameters are typed and merged,
//! modules and `for_each` expanded, expressions rendered, patches and
//! `common` applied.

pub mod dashboards;
pub mod expr;
pub mod params;
pub mod patch;

use crate::load::{Environment, Module, PatchBody, Project};
use crate::suggest;
use expr::{Evaluator, Scope, Segment};
use infra_k8s::kinds::CLUSTER_SCOPED;
use infra_syntax::{Diagnostic, Diagnostics, FileId, Map, Node, NodeKind, ScalarStyle, Span, Value};
use minijinja::value::Value as MjValue;
use std::sync::Arc;

/// An evaluated object and what the project said about it.
#[derive(Debug, Clone)]
pub struct Object {
    pub value: Value,
    /// The document it came from.
    pub origin: Span,
    pub directives: Directives,
}

/// The `infra:` block of a document, evaluated.
#[derive(Debug, Clone, Default)]
pub struct Directives {
    pub depends_on: Vec<(String, Span)>,
    pub hash_suffix: Option<bool>,
    pub protect: Option<bool>,
    pub external: bool,
    /// The workload's state is meant to be lost on restart: no warning.
    pub ephemeral: bool,
}

/// Every object of one environment, before the graph.
pub struct Resources {
    pub env: String,
    pub params: Value,
    pub objects: Vec<Object>,
}

pub const DIRECTIVES: &[&str] = &["when", "for_each", "depends_on", "hash", "protect", "external", "ephemeral"];

/// A YAML path built on the stack and formatted only for messages.
#[derive(Clone, Copy)]
pub enum YamlPath<'a> {
    Root(&'a str),
    Key(&'a YamlPath<'a>, &'a str),
    Index(&'a YamlPath<'a>, usize),
}

impl YamlPath<'_> {
    pub fn render(&self) -> String {
        match self {
            YamlPath::Root(r) => r.to_string(),
            YamlPath::Key(p, k) => {
                let parent = p.render();
                if parent.is_empty() { k.to_string() } else { format!("{parent}.{k}") }
            }
            YamlPath::Index(p, i) => format!("{}[{i}]", p.render()),
        }
    }
}

/// Renders nodes to values in a scope, reporting errors with positions.
pub struct Renderer<'a> {
    pub ev: &'a Evaluator<'a>,
    pub diags: &'a mut Diagnostics,
}

impl Renderer<'_> {
    /// Renders a node. `None` after an error (already reported).
    pub fn render(&mut self, node: &Node, scope: &Scope, path: YamlPath) -> Option<Value> {
        match &node.kind {
            NodeKind::Str(s, style) => self.render_str(s, *style, node.span, scope, path),
            NodeKind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.render(item, scope, YamlPath::Index(&path, i)) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Seq(out))
            }
            NodeKind::Map(entries) => {
                let mut out = Map::with_capacity(entries.len());
                let mut ok = true;
                for (k, v) in entries {
                    let key = match self.render_str(&k.name, ScalarStyle::Quoted, k.span, scope, path) {
                        Some(Value::String(s)) => s,
                        _ => {
                            ok = false;
                            continue;
                        }
                    };
                    match self.render(v, scope, YamlPath::Key(&path, &k.name)) {
                        Some(v) => {
                            out.insert(key, v);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Map(out))
            }
            NodeKind::Null => Some(Value::Null),
            NodeKind::Bool(b) => Some(Value::Bool(*b)),
            NodeKind::Int(i) => Some(Value::Int(*i)),
            NodeKind::Float(f) => Some(Value::Float(*f)),
        }
    }

    /// Evaluates a node that is exactly one unquoted expression to a
    /// minijinja value, without converting (used by `for_each`); other nodes
    /// are rendered and converted.
    pub fn render_mj(&mut self, node: &Node, scope: &Scope, path: YamlPath) -> Option<MjValue> {
        if let NodeKind::Str(s, ScalarStyle::Plain) = &node.kind
            && let Some(Ok(segs)) = expr::segments(s)
            && let [Segment::Expr { source, offset, len }] = segs.as_slice()
        {
            let span = expr_span(node.span, ScalarStyle::Plain, *offset, *len);
            return self.eval(source, scope, span, path);
        }
        self.render(node, scope, path).map(|v| expr::to_minijinja(&v))
    }

    fn eval(&mut self, source: &str, scope: &Scope, span: Span, path: YamlPath) -> Option<MjValue> {
        match self.ev.eval(source, scope) {
            Ok(v) if v.is_undefined() => {
                self.diags.push(
                    Diagnostic::error("E110", format!("`{source}` is undefined"))
                        .at(span, "undefined")
                        .path(path.render()),
                );
                None
            }
            Ok(v) => Some(v),
            Err(e) => {
                let mut d = Diagnostic::error("E110", format!("expression failed: {}", e.message))
                    .at(span, "in this expression")
                    .path(path.render());
                if e.message.contains("undefined") {
                    d = d.note(
                        "help: the context has `params`, `env.name`, `module.name`, and `item`/`key` inside `for_each`",
                    );
                }
                self.diags.push(d);
                None
            }
        }
    }

    fn render_str(&mut self, s: &str, style: ScalarStyle, span: Span, scope: &Scope, path: YamlPath) -> Option<Value> {
        let segs = match expr::segments(s) {
            None => return Some(Value::String(s.to_string())),
            Some(Ok(segs)) => segs,
            Some(Err((offset, msg))) => {
                self.diags.push(
                    Diagnostic::error("E111", msg)
                        .at(expr_span(span, style, offset, 3), "here")
                        .path(path.render())
                        .note("help: write `$${{` for a literal `${{`"),
                );
                return None;
            }
        };
        if let [Segment::Expr { source, offset, len }] = segs.as_slice()
            && style == ScalarStyle::Plain
        {
            let espan = expr_span(span, style, *offset, *len);
            let v = self.eval(source, scope, espan, path)?;
            return match expr::from_minijinja(&v) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.diags.push(Diagnostic::error("E110", e).at(espan, "this expression").path(path.render()));
                    None
                }
            };
        }
        let mut out = String::new();
        for seg in &segs {
            match seg {
                Segment::Text(t) => out.push_str(t),
                Segment::Expr { source, offset, len } => {
                    let v = self.eval(source, scope, expr_span(span, style, *offset, *len), path)?;
                    // Interpolated values read as YAML would write them:
                    // `true`, not Python's `True`; null is empty.
                    if let Some(s) = v.as_str() {
                        out.push_str(s);
                    } else if v.kind() == minijinja::value::ValueKind::Bool {
                        out.push_str(if v.is_true() { "true" } else { "false" });
                    } else if !v.is_none()
                        && let Err(e) = expr::write_bounded(&mut out, &v)
                    {
                        let espan = expr_span(span, style, *offset, *len);
                        self.diags.push(Diagnostic::error("E110", e).at(espan, "this expression").path(path.render()));
                        return None;
                    }
                }
            }
        }
        Some(Value::String(out))
    }
}

/// The span of an expression inside a scalar, when the scalar is on one
/// line; the whole scalar otherwise.
fn expr_span(span: Span, style: ScalarStyle, offset: usize, len: usize) -> Span {
    if span.start.line != span.end.line || style == ScalarStyle::Block {
        return span;
    }
    let quote = u32::from(style == ScalarStyle::Quoted);
    span.narrow(offset as u32 + quote, len as u32)
}

/// Evaluates one environment.
pub fn evaluate(
    project: &Project,
    env: &Environment,
    engine: &expr::Engine,
    diags: &mut Diagnostics,
) -> Option<Resources> {
    let errors_before = diags.error_count();
    let ev = engine.evaluator();
    let main = &project.main;
    let root: Arc<std::path::Path> = Arc::from(project.root.as_path());
    let defaults = main.params.to_value();
    // Environment values may be expressions over the defaults; without any,
    // the defaults need no conversion for the expression engine.
    let has_expressions = env.params.as_ref().is_some_and(|p| {
        let mut found = false;
        p.to_value().for_each_string(&mut |s| found |= s.contains("${{"));
        found
    });
    let defaults_mj = if has_expressions { expr::to_minijinja(&defaults) } else { MjValue::UNDEFINED };
    let defaults_scope = Scope::new(defaults_mj, &env.name, &main.name, main.dir.clone(), root.clone());
    let mut r = Renderer { ev: &ev, diags };
    let params = params::resolve(&mut r, main, &defaults, env.params.as_ref(), &defaults_scope, &env.name);
    let scope = defaults_scope.with_params(expr::to_minijinja(&params));
    let mut objects = Vec::new();
    let mut dashboards = Vec::new();
    expand_module(&mut r, main, &scope, &mut objects, &mut dashboards, &root, 0);
    dashboards::check_unique_uids(&dashboards, r.diags);

    // Patches and `common` see the environment's final params.
    let common = merged_common(&mut r, main.common.as_ref(), env.common.as_ref(), &scope);
    let cluster_kinds = cluster_scoped_kinds(&objects);
    for patch in &env.patches {
        apply_patch(&mut r, patch, &scope, &mut objects, common.namespace.as_deref(), &cluster_kinds);
    }
    for o in &mut objects {
        common.apply(&mut o.value, &cluster_kinds);
    }
    check_identities(main, &objects, r.diags);
    if diags.error_count() > errors_before {
        return None;
    }
    Some(Resources { env: env.name.clone(), params, objects })
}

/// Names become file paths and references: an object whose identity
/// Kubernetes would refuse is an error, checked after expressions, patches
/// and `common`, and reported at the value in its document.
fn check_identities(main: &Module, objects: &[Object], diags: &mut Diagnostics) {
    for o in objects {
        let problems = infra_k8s::kinds::check_identity(&o.value);
        if problems.is_empty() {
            continue;
        }
        let doc = find_document(main, o.origin, &mut Vec::new());
        for p in problems {
            diags.push(
                infra_k8s::kinds::identity_error(&p, o.origin, doc)
                    .note("the value is checked after expressions, patches and `common`"),
            );
        }
    }
}

/// The document a span was loaded from, in a module or the modules it uses.
fn find_document<'m>(module: &'m Module, span: Span, seen: &mut Vec<*const Module>) -> Option<&'m Node> {
    if seen.contains(&(module as *const Module)) {
        return None;
    }
    seen.push(module);
    let here = module.resources.iter().filter(|f| f.file == span.file).flat_map(|f| &f.docs).find(|d| d.span == span);
    here.or_else(|| module.modules.iter().find_map(|used| find_document(&used.module, span, seen)))
}

/// Kinds without a namespace: the built-in list plus CRDs in the project
/// with `scope: Cluster`.
pub fn cluster_scoped_kinds(objects: &[Object]) -> Vec<String> {
    let mut kinds: Vec<String> = CLUSTER_SCOPED.iter().map(|s| s.to_string()).collect();
    for o in objects {
        if o.value.str_at(&["kind"]) == Some("CustomResourceDefinition")
            && o.value.str_at(&["spec", "scope"]) == Some("Cluster")
            && let Some(k) = o.value.str_at(&["spec", "names", "kind"])
        {
            kinds.push(k.to_string());
        }
    }
    kinds
}

fn expand_module(
    r: &mut Renderer,
    module: &Module,
    scope: &Scope,
    out: &mut Vec<Object>,
    dashboards: &mut Vec<dashboards::Produced>,
    root: &Arc<std::path::Path>,
    depth: usize,
) {
    let first = out.len();
    for file in &module.resources {
        for (i, doc) in file.docs.iter().enumerate() {
            eval_document(r, file.file, i, doc, scope, out);
        }
    }
    dashboards::evaluate(r, module, scope, out, dashboards);
    for used in &module.modules {
        let defaults = used.module.params.to_value();
        let params =
            params::resolve(r, &used.module, &defaults, used.params.as_ref(), scope, &format!("module {}", used.name));
        let env_name = scope.env_name.as_str().unwrap_or_default();
        let inner =
            Scope::new(expr::to_minijinja(&params), env_name, &used.name, used.module.dir.clone(), root.clone());
        expand_module(r, &used.module, &inner, out, dashboards, root, depth + 1);
    }
    if depth > 0 {
        let common = merged_common(r, module.common.as_ref(), None, scope);
        let kinds = cluster_scoped_kinds(out);
        for o in &mut out[first..] {
            common.apply(&mut o.value, &kinds);
        }
    }
}

fn eval_document(r: &mut Renderer, file: FileId, index: usize, doc: &Node, scope: &Scope, out: &mut Vec<Object>) {
    let entries = match &doc.kind {
        NodeKind::Map(e) => e,
        NodeKind::Null => return,
        _ => {
            r.diags.push(
                Diagnostic::error("E140", format!("document {} is not a Kubernetes object", index + 1))
                    .at(doc.span, format!("a {}, not a mapping", doc.type_name())),
            );
            return;
        }
    };
    let _ = file;
    let block = doc.get("infra");
    if let Some(b) = block {
        match b.entries() {
            Some(fields) => {
                for (k, _) in fields {
                    if !DIRECTIVES.contains(&k.name.as_str()) {
                        let mut d = Diagnostic::error("E120", format!("unknown directive `{}`", k.name))
                            .at(k.span, "not a directive")
                            .path(format!("infra.{}", k.name));
                        d = d.note(match suggest::hint(&k.name, DIRECTIVES.iter().copied()) {
                            Some(h) => h,
                            None => format!("help: directives are {}", DIRECTIVES.join(", ")),
                        });
                        r.diags.push(d);
                        return;
                    }
                }
            }
            None => {
                r.diags
                    .push(Diagnostic::error("E121", "`infra:` is a mapping of directives").at(b.span, "not a mapping"));
                return;
            }
        }
    }
    let directive = |name: &str| block.and_then(|b| b.get(name));
    let items: Vec<(MjValue, MjValue)> = match directive("for_each") {
        None => Vec::new(),
        Some(node) => {
            let path = YamlPath::Root("infra.for_each");
            let Some(v) = r.render_mj(node, scope, path) else {
                return;
            };
            match v.kind() {
                minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Iterable => v
                    .try_iter()
                    .map(|it| it.enumerate().map(|(i, x)| (x, MjValue::from(i))).collect())
                    .unwrap_or_default(),
                minijinja::value::ValueKind::Map => v
                    .try_iter()
                    .map(|it| it.map(|k| (v.get_item(&k).unwrap_or_default(), k)).collect())
                    .unwrap_or_default(),
                minijinja::value::ValueKind::None => Vec::new(),
                _ => {
                    r.diags.push(
                        Diagnostic::error("E121", format!("`for_each` needs a list or a map, not {}", v.kind()))
                            .at(node.span, "not a list or map")
                            .path("infra.for_each"),
                    );
                    return;
                }
            }
        }
    };
    let scopes: Vec<Scope> = if directive("for_each").is_some() {
        items.into_iter().map(|(item, key)| scope.with_item(item, key)).collect()
    } else {
        vec![scope.clone()]
    };
    // Items are independent: large `for_each` expansions are evaluated in
    // parallel, each worker with its own expression cache and diagnostics,
    // merged back in item order.
    let env = r.ev.environment();
    let results = crate::parallel::map_chunks(&scopes, |chunk| {
        let ev = expr::Evaluator::new(env);
        let mut diags = Diagnostics::new();
        let mut r = Renderer { ev: &ev, diags: &mut diags };
        let mut objects = Vec::new();
        for scope in chunk {
            if let Some(o) = eval_item(&mut r, doc, entries, block, scope) {
                objects.push(o);
            }
        }
        (objects, diags)
    });
    for (objects, diags) in results {
        out.extend(objects);
        r.diags.extend(diags);
    }
}

/// Evaluates one document for one `for_each` item (or once without it).
fn eval_item(
    r: &mut Renderer,
    doc: &Node,
    entries: &[(infra_syntax::Key, Node)],
    block: Option<&Node>,
    scope: &Scope,
) -> Option<Object> {
    let directive = |name: &str| block.and_then(|b| b.get(name));
    let root = YamlPath::Root("");
    if let Some(when) = directive("when") {
        match bool_directive(r, when, "when", scope) {
            Some(true) => {}
            _ => return None,
        }
    }
    let mut value = Map::with_capacity(entries.len());
    let mut ok = true;
    for (k, v) in entries {
        if k.name == "infra" {
            continue;
        }
        match r.render(v, scope, YamlPath::Key(&root, &k.name)) {
            Some(v) => {
                value.insert(k.name.clone(), v);
            }
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let value = Value::Map(value);
    if let Err(what) = check_object(&value) {
        r.diags.push(
            Diagnostic::error("E140", format!("not a Kubernetes object: {what}"))
                .at(doc.span, "this document")
                .note("help: every resource needs apiVersion, kind and metadata.name"),
        );
        return None;
    }
    let mut directives = Directives::default();
    if let Some(node) = directive("depends_on") {
        match r.render(node, scope, YamlPath::Root("infra.depends_on")) {
            Some(Value::Seq(items)) => {
                for item in items {
                    match item {
                        Value::String(s) => directives.depends_on.push((s, node.span)),
                        other => r.diags.push(
                            Diagnostic::error(
                                "E121",
                                format!("`depends_on` lists \"Kind/name\" strings, not a {}", other.type_name()),
                            )
                            .at(node.span, "here"),
                        ),
                    }
                }
            }
            Some(Value::String(s)) => directives.depends_on.push((s, node.span)),
            Some(_) => r
                .diags
                .push(Diagnostic::error("E121", "`depends_on` is a list of \"Kind/name\"").at(node.span, "not a list")),
            None => return None,
        }
    }
    if let Some(node) = directive("hash") {
        match r.render(node, scope, YamlPath::Root("infra.hash")) {
            Some(Value::String(s)) if s == "suffix" => directives.hash_suffix = Some(true),
            Some(Value::String(s)) if s == "none" => directives.hash_suffix = Some(false),
            Some(_) => r.diags.push(
                Diagnostic::error("E121", "`hash` is `suffix` or `none`").at(node.span, "not `suffix` or `none`"),
            ),
            None => return None,
        }
        let kind = value.str_at(&["kind"]).unwrap_or_default();
        if directives.hash_suffix == Some(true) && !matches!(kind, "ConfigMap" | "Secret") {
            r.diags.push(
                Diagnostic::error("E121", format!("`hash: suffix` applies to ConfigMaps and Secrets, not {kind}"))
                    .at(node.span, "here"),
            );
        }
    }
    if let Some(node) = directive("protect") {
        directives.protect = bool_directive(r, node, "protect", scope);
    }
    if let Some(node) = directive("external") {
        directives.external = bool_directive(r, node, "external", scope).unwrap_or(false);
    }
    if let Some(node) = directive("ephemeral") {
        directives.ephemeral = bool_directive(r, node, "ephemeral", scope).unwrap_or(false);
    }
    Some(Object { value, origin: doc.span, directives })
}

fn bool_directive(r: &mut Renderer, node: &Node, name: &str, scope: &Scope) -> Option<bool> {
    let path = format!("infra.{name}");
    match r.render(node, scope, YamlPath::Root(&path))? {
        Value::Bool(b) => Some(b),
        Value::String(s) => {
            let quoted = matches!(node.kind, NodeKind::Str(_, ScalarStyle::Quoted));
            let mut d = Diagnostic::error("E121", format!("`{name}` must be a bool, but it is the string {s:?}"))
                .at(node.span, "a string")
                .path(path);
            if quoted {
                d = d.note("help: a quoted expression is always a string; drop the quotes");
            }
            r.diags.push(d);
            None
        }
        other => {
            r.diags.push(
                Diagnostic::error("E121", format!("`{name}` must be a bool, not a {}", other.type_name()))
                    .at(node.span, "not a bool")
                    .path(path),
            );
            None
        }
    }
}

fn check_object(v: &Value) -> Result<(), &'static str> {
    if v.str_at(&["apiVersion"]).is_none_or(str::is_empty) {
        return Err("no apiVersion");
    }
    if v.str_at(&["kind"]).is_none_or(str::is_empty) {
        return Err("no kind");
    }
    if v.str_at(&["metadata", "name"]).is_none_or(str::is_empty) {
        return Err("no metadata.name");
    }
    Ok(())
}

/// `common` of the project (or module), with an environment's `common`
/// winning key by key.
#[derive(Default)]
pub struct Common {
    pub namespace: Option<String>,
    pub labels: Map,
    pub annotations: Map,
}

fn merged_common(r: &mut Renderer, base: Option<&Node>, over: Option<&Node>, scope: &Scope) -> Common {
    let mut common = Common::default();
    for node in [base, over].into_iter().flatten() {
        let Some(Value::Map(m)) = r.render(node, scope, YamlPath::Root("common")) else {
            continue;
        };
        for (k, v) in m {
            match (k.as_str(), v) {
                ("namespace", Value::String(ns)) => common.namespace = Some(ns),
                ("namespace", Value::Null) => {}
                ("labels", Value::Map(l)) => common.labels.extend(l),
                ("annotations", Value::Map(a)) => common.annotations.extend(a),
                (_, Value::Null) => {}
                (key, other) => r.diags.push(
                    Diagnostic::error("E121", format!("common.{key} cannot be a {}", other.type_name()))
                        .at(node.span, "in this common block"),
                ),
            }
        }
    }
    common
}

impl Common {
    fn apply(&self, object: &mut Value, cluster_kinds: &[String]) {
        let kind = object.str_at(&["kind"]).unwrap_or_default().to_string();
        let namespaced = !cluster_kinds.contains(&kind);
        let meta = object.map_entry("metadata");
        if let Some(ns) = &self.namespace
            && namespaced
            && meta.get("namespace").is_none_or(|v| matches!(v, Value::Null) || v.as_str() == Some(""))
        {
            meta.insert("namespace".into(), Value::String(ns.clone()));
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

fn apply_patch(
    r: &mut Renderer,
    patch: &crate::load::Patch,
    scope: &Scope,
    objects: &mut [Object],
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
            (PatchBody::Merge(_), b) => patch::merge(&mut o.value, b),
            (PatchBody::Ops(_), Value::Seq(ops)) => {
                for (i, op) in ops.iter().enumerate() {
                    if let Err(e) = patch::apply_op(&mut o.value, op) {
                        let id = infra_k8s::kinds::ObjectId::of(&o.value).short();
                        let span = match &patch.body {
                            PatchBody::Ops(n) => n.items().and_then(|items| items.get(i)).map_or(n.span, |n| n.span),
                            PatchBody::Merge(n) => n.span,
                        };
                        r.diags.push(
                            Diagnostic::error("E131", format!("patch operation failed on {id}: {e}"))
                                .at(span, "this operation"),
                        );
                        return;
                    }
                }
            }
            (PatchBody::Ops(n), _) => {
                r.diags.push(Diagnostic::error("E131", "`ops` is a list of operations").at(n.span, "not a list"));
                return;
            }
        }
    }
    if matched == 0 {
        r.diags.push(
            Diagnostic::error("E130", "this patch matches no object")
                .at(patch.target.as_ref().map_or(patch.span, |t| t.span), "matches nothing")
                .note("help: a target names kind, name, namespace or labels of an object in this environment"),
        );
    }
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
