//! The eval stage: one environment of a [`Project`] becomes [`Resources`],
//! plain objects with their provenance. Parameters are typed and merged,
//! modules and `for_each` expanded, expressions rendered, patches and
//! `common` applied.

pub mod bounded;
pub mod charts;
pub mod common;
pub mod cost;
pub mod dashboards;
pub mod expr;
pub mod helm;
pub mod object;
pub mod params;
pub mod patch;
pub mod render;

pub use object::{Directives, FailedDocument, Object, Resources};
pub use render::{Renderer, YamlPath};

use crate::load::{ChartValues, ComponentUse, Environment, Module, Patch, Project};
use charts::ChartContext;
use common::merged_common;
use expr::Scope;
use infra_k8s::kinds::ObjectId;
use infra_k8s::registry::{self, BuildKinds};
use infra_syntax::{Code, Diagnostic, Diagnostics, Map, Node, NodeKind, ScalarStyle, Span, Value};
use patch::{PatchContext, apply_patch};
use std::sync::Arc;

/// What all environments of one build may make together: objects, and the
/// YAML they are written as. Memory follows both; each is checked where
/// the cost is paid — objects before a `for_each` expands, YAML before
/// anything is written.
pub struct OutputBudget {
    objects: usize,
    bytes: usize,
    max_objects: usize,
    max_bytes: usize,
}

impl OutputBudget {
    /// The limits of `INFRA_MAX_OBJECTS` and `INFRA_MAX_OUTPUT_BYTES`.
    pub fn from_settings() -> OutputBudget {
        use infra_syntax::settings::{MAX_OBJECTS, MAX_OUTPUT_BYTES, get};
        OutputBudget {
            objects: 0,
            bytes: 0,
            max_objects: get(&MAX_OBJECTS) as usize,
            max_bytes: get(&MAX_OUTPUT_BYTES) as usize,
        }
    }

    /// Charges an environment's objects; an error names the largest ones
    /// when their YAML would pass the limit. The size of each object's YAML
    /// when they fit.
    fn charge(&mut self, objects: &[Object], diags: &mut Diagnostics) -> Option<Vec<usize>> {
        let before = self.objects;
        self.objects += objects.len();
        // Charts and dashboards make objects too, counted here.
        if self.objects > self.max_objects {
            let first_past = &objects[self.max_objects.saturating_sub(before).min(objects.len() - 1)];
            diags.push(
                Diagnostic::error(
                    Code::TooManyObjects,
                    format!(
                        "the build makes {} objects, more than the limit of {} (INFRA_MAX_OBJECTS)",
                        self.objects, self.max_objects
                    ),
                )
                .at(first_past.origin, format!("{} is past the limit", ObjectId::of(&first_past.value).short()))
                .help("raise INFRA_MAX_OBJECTS for a project this large on purpose"),
            );
            return None;
        }
        let sizes = crate::parallel::map(objects, |o| o.value.text_size());
        self.bytes = self.bytes.saturating_add(sizes.iter().sum());
        if self.bytes <= self.max_bytes {
            return Some(sizes);
        }
        let mut largest: Vec<(usize, &Object)> = sizes.into_iter().zip(objects).collect();
        largest.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
        let mib = |b: usize| format!("{:.1} MiB", b as f64 / f64::from(1 << 20));
        let mut d = Diagnostic::error(
            Code::OutputTooLarge,
            format!(
                "the build's objects would be written as at least {} of YAML, more than the limit of {}",
                mib(self.bytes),
                mib(self.max_bytes)
            ),
        );
        if let Some((size, o)) = largest.first() {
            d = d.at(o.origin, format!("{} is {}", ObjectId::of(&o.value).short(), mib(*size)));
        }
        let listed: Vec<String> = largest
            .iter()
            .take(5)
            .map(|(size, o)| format!("{} ({})", ObjectId::of(&o.value).short(), mib(*size)))
            .collect();
        d = d.note(format!("the largest of {} objects: {}", objects.len(), listed.join(", ")));
        diags.push(d.note("a large value repeated in many objects (a `common` annotation, params copied into every `for_each` item) multiplies").help("set INFRA_MAX_OUTPUT_BYTES for a project this large on purpose"));
        None
    }
}

/// Secrets whose values the output (and so git) holds in plain text: one
/// warning naming them. Encrypted documents (SOPS), `external` stubs and
/// Secrets marked `plain_secret: true` (or annotated
/// `infra.dev/plain-secret: "true"`, which a patch can add to a chart's)
/// are not.
fn warn_plain_secrets(objects: &[Object], diags: &mut Diagnostics) {
    let has_values = |v: &Value, key: &str| v.get(key).and_then(Value::as_map).is_some_and(|m| !m.is_empty());
    let plain: Vec<&Object> = objects
        .iter()
        .filter(|o| o.value.str_at(&["kind"]) == Some("Secret") && o.value.str_at(&["apiVersion"]) == Some("v1"))
        .filter(|o| !o.directives.external && !o.directives.plain_secret && o.value.get("sops").is_none())
        .filter(|o| o.value.str_at(&["metadata", "annotations", infra_k8s::annotations::PLAIN_SECRET]) != Some("true"))
        .filter(|o| has_values(&o.value, "data") || has_values(&o.value, "stringData"))
        .collect();
    let Some(first) = plain.first() else { return };
    let names = first_few(plain.iter().map(|o| ObjectId::of(&o.value).short()), plain.len());
    let count =
        if plain.len() == 1 { "1 Secret holds its".to_string() } else { format!("{} Secrets hold their", plain.len()) };
    diags.push(
        Diagnostic::warning(
            Code::PlainSecret,
            format!("{count} values in plain text in the output, and so in git: {names}"),
        )
        .at(Span::new(first.origin.file, first.origin.start, first.origin.start), "the first")
        .note("base64 in `data` is an encoding, not encryption")
        .help("make them outside git (an ExternalSecret, a SealedSecret, SOPS with Flux) and declare them `infra: {external: true}`; for values that may be public, `infra: {plain_secret: true}` (on a chart's Secret, a patch adding the annotation `infra.dev/plain-secret: \"true\"`)"),
    );
}

/// The first five of `total` names for a one-line warning, then "and N more".
pub(crate) fn first_few(names: impl Iterator<Item = String>, total: usize) -> String {
    const LISTED: usize = 5;
    let mut shown: Vec<String> = names.take(LISTED).collect();
    if total > LISTED {
        shown.push(format!("and {} more", total - LISTED));
    }
    shown.join(", ")
}

/// Client-side `kubectl apply` keeps the whole object in an annotation,
/// which may not pass 256 KiB: larger objects (big CRDs, dashboards) apply
/// only server-side. One warning lists them, of every kind.
const MAX_CLIENT_SIDE_BYTES: usize = 256 << 10;

fn warn_client_side(objects: &[Object], sizes: &[usize], diags: &mut Diagnostics) {
    let mut large: Vec<(usize, &Object)> =
        sizes.iter().copied().zip(objects).filter(|(size, _)| *size > MAX_CLIENT_SIDE_BYTES).collect();
    let Some(&(_, first)) = large.first() else { return };
    large.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
    let listed = first_few(
        large.iter().map(|(size, o)| format!("{} ({} KiB)", ObjectId::of(&o.value).short(), size >> 10)),
        large.len(),
    );
    let count = if large.len() == 1 { "1 object is".to_string() } else { format!("{} objects are", large.len()) };
    diags.push(
        Diagnostic::warning(
            Code::TooLargeForClientSide,
            format!("{count} larger than 256 KiB, which client-side `kubectl apply` cannot store: {listed}"),
        )
        // At the document's first line: the document is large by definition.
        .at(
            Span::new(first.origin.file, first.origin.start, first.origin.start),
            format!("{} is the first", ObjectId::of(&first.value).short()),
        )
        .help("apply server-side: `kubectl apply --server-side`, Argo CD's `syncOptions: [ServerSideApply=true]`; Flux always applies server-side"),
    );
}

/// Evaluates one environment.
pub fn evaluate(
    project: &Project,
    env: &Environment,
    overrides: &[Node],
    engine: &expr::Engine,
    charts: &mut ChartContext,
    budget: &mut OutputBudget,
    diags: &mut Diagnostics,
) -> Option<Resources> {
    let errors_before = diags.error_count();
    let ev = engine.evaluator();
    let main = &project.main;
    let root: Arc<std::path::Path> = Arc::from(project.root.as_path());
    let mut r = Renderer { ev: &ev, diags };
    let params = environment_params(&mut r, project, env, overrides);
    let scope = Scope::new(params, &env.name, &main.name, main.dir.clone(), root.clone());
    let chart_values: Vec<ChartValues> = env.charts.iter().cloned().chain(split_overrides(main, overrides).1).collect();
    check_chart_names(main, &env.components, &chart_values, r.diags);
    let mut into = Expansion {
        objects: Vec::new(),
        failed: Vec::new(),
        dashboards: Vec::new(),
        root,
        charts,
        instances: 0,
        room: budget.max_objects.saturating_sub(budget.objects),
        full: false,
    };
    let main_components = expand_content(&mut r, main, &scope, &mut into, &chart_values);
    // The environment's components build on the project: their objects
    // join after the project's patches, as a Kustomize overlay's do.
    let mut env_components = Vec::new();
    let before_env = into.objects.len();
    for used in active_components(&mut r, &env.components, &scope) {
        env_components.extend(expand_content(&mut r, used, &scope, &mut into, &chart_values));
        env_components.push(used);
    }
    dashboards::check_unique_uids(&into.dashboards, r.diags);
    let produced = std::mem::take(&mut into.dashboards);
    let mut objects = std::mem::take(&mut into.objects);

    // Patches and `common` see the environment's final params. A user's
    // own `common` wins over its components', the environment's over the
    // project's.
    let layers = main_components
        .iter()
        .filter_map(|c| c.common.as_ref())
        .chain(&main.common)
        .chain(env_components.iter().filter_map(|c| c.common.as_ref()))
        .chain(&env.common);
    let common = merged_common(&mut r, layers, &scope);
    let kinds = BuildKinds::of(objects.iter().map(|o| &o.value));
    let cx = PatchContext { failed: &into.failed, default_ns: common.namespace.as_deref(), kinds: &kinds };
    let mut env_objects = objects.split_off(before_env);
    apply_patches(&mut r, &main_components, &main.patches, &scope, &mut objects, &cx);
    objects.append(&mut env_objects);
    apply_patches(&mut r, &env_components, &env.patches, &scope, &mut objects, &cx);
    apply_common(&common, &mut objects, &kinds);
    check_identities(main, &objects, r.diags);
    warn_missing_namespaces(&objects, &kinds, r.diags);
    dashboards::check_sidecar_watches(&produced, &objects, r.diags);
    if diags.error_count() > errors_before {
        return None;
    }
    let sizes = budget.charge(&objects, diags)?;
    warn_client_side(&objects, &sizes, diags);
    warn_plain_secrets(&objects, diags);
    Some(Resources { env: env.name.clone(), objects })
}

/// Names become file paths and references: an object whose identity
/// Kubernetes would refuse is an error, checked after expressions, patches
/// and `common`, and reported at the value in its document.
fn check_identities(main: &Module, objects: &[Object], diags: &mut Diagnostics) {
    // Documents by span, gathered at the first problem: 50,000 bad names
    // must not each search every document.
    let mut documents: Option<std::collections::HashMap<Span, &Node>> = None;
    for o in objects {
        let problems = infra_k8s::kinds::check_identity(&o.value);
        if problems.is_empty() {
            continue;
        }
        let doc = documents.get_or_insert_with(|| documents_by_span(main)).get(&o.origin).copied();
        for p in problems {
            diags.push(
                infra_k8s::kinds::identity_error(&p, o.origin, doc)
                    .note("the value is checked after expressions, patches and `common`"),
            );
        }
    }
}

/// An environment's params: the defaults, then its `params:`, then the
/// run's `--values` and `--set`; keys, types and schema checked.
pub fn environment_params(r: &mut Renderer, project: &Project, env: &Environment, overrides: &[Node]) -> Arc<Value> {
    let main = &project.main;
    let root: Arc<std::path::Path> = Arc::from(project.root.as_path());
    // Environment values may be expressions over the defaults.
    let defaults_scope = Scope::new(Arc::clone(&main.params), &env.name, &main.name, main.dir.clone(), root);
    let context = params::Context { name: &env.name, instance: None };
    let overrides = split_overrides(main, overrides).0;
    let layers: Vec<&Node> = env.params.iter().chain(&overrides).collect();
    params::resolve(r, main, &main.params, &layers, &defaults_scope, &context)
}

/// The command line's layers (`--values`, `--set`) split into params and
/// chart values: `charts.<name>.…` reaches the values of the project's
/// chart `<name>`, unless the project has a parameter named `charts`.
fn split_overrides(main: &Module, overrides: &[Node]) -> (Vec<Node>, Vec<ChartValues>) {
    let reaches_charts = !main.charts.is_empty() && main.params.get("charts").is_none();
    let mut params = Vec::new();
    let mut charts = Vec::new();
    for layer in overrides {
        match (&layer.kind, layer.get("charts")) {
            (NodeKind::Map(entries), Some(node)) if reaches_charts => {
                for (key, values) in node.entries().unwrap_or_default() {
                    charts.push(ChartValues { chart: key.name.to_string(), span: key.span, values: values.clone() });
                }
                let rest: Vec<_> = entries.iter().filter(|(k, _)| k.name != "charts").cloned().collect();
                params.push(Node { kind: NodeKind::Map(rest), span: layer.span });
            }
            _ => params.push(layer.clone()),
        }
    }
    (params, charts)
}

/// Values for a chart the project does not have are an error, with the
/// closest name.
fn check_chart_names(main: &Module, env_components: &[ComponentUse], values: &[ChartValues], diags: &mut Diagnostics) {
    // The project's charts and its components' (and the environment's),
    // which take the environment's values too.
    fn charts_of<'m>(module: &'m Module, uses: &'m [ComponentUse], out: &mut Vec<&'m str>) {
        out.extend(module.charts.iter().map(|c| c.name.as_str()));
        for used in uses {
            charts_of(&used.component, &used.component.components, out);
        }
    }
    let mut names = Vec::new();
    charts_of(main, &main.components, &mut names);
    for used in env_components {
        charts_of(&used.component, &used.component.components, &mut names);
    }
    for v in values.iter().filter(|v| !names.contains(&v.chart.as_str())) {
        let listed = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        diags.push(
            Diagnostic::error(Code::UnknownChart, format!("the project has no chart `{}`", v.chart))
                .at(v.span, "not a chart of the project")
                .note(format!("the project's charts: {listed}"))
                .suggest(&v.chart, names.iter().copied()),
        );
    }
}

/// Namespaced objects without a namespace, in one warning:
/// they are filed under `_cluster/` and kubectl puts them wherever its
/// context points.
fn warn_missing_namespaces(objects: &[Object], kinds: &BuildKinds, diags: &mut Diagnostics) {
    let missing: Vec<&Object> = objects
        .iter()
        .filter(|o| {
            kinds.scope_of(&o.value) == Some(registry::Scope::Namespaced)
                && o.value.str_at(&["metadata", "namespace"]).is_none_or(str::is_empty)
        })
        .collect();
    let Some(first) = missing.first() else { return };
    let names = first_few(missing.iter().map(|o| ObjectId::of(&o.value).short()), missing.len());
    diags.push(
        Diagnostic::warning(
            Code::NoNamespace,
            format!(
                "{} namespaced object{} without a namespace: {}",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                names
            ),
        )
        .at(first.origin, "no namespace here or in `common`")
        .note(
            "they are written under `_cluster/`, and `kubectl apply` puts them in whatever namespace its context uses",
        )
        .help(
            "set `common: {namespace: ...}` in infra.yaml (or the environment), or `metadata.namespace` on the object",
        ),
    );
}

/// Every document of a module and the modules it uses, by the span it was
/// loaded from.
fn documents_by_span(module: &Module) -> std::collections::HashMap<Span, &Node> {
    let files = module.distinct().into_iter().flat_map(|m| &m.resources);
    files.flat_map(|f| &f.docs).map(|d| (d.span, d)).collect()
}

/// Where a module's expansion goes, and what it needs from the build.
struct Expansion<'a, 'c> {
    objects: Vec<Object>,
    /// Documents that failed: patches are not judged against them.
    failed: Vec<FailedDocument>,
    dashboards: Vec<dashboards::Produced>,
    root: Arc<std::path::Path>,
    charts: &'a mut ChartContext<'c>,
    /// Module instances expanded so far, within [`MAX_MODULE_INSTANCES`].
    instances: usize,
    /// Objects this environment may still make within the build's budget;
    /// `full` once a document asked for more (reported there).
    room: usize,
    full: bool,
}

/// Module instances one environment may expand. Modules are loaded once
/// each, but each use is expanded: a chain of modules that each use the
/// next twice doubles at every level.
pub const MAX_MODULE_INSTANCES: usize = 10_000;

/// A SOPS-encrypted document (a top-level `sops` key) keeps its text: its
/// message authentication code covers every value, so nothing may change.
fn keep_encrypted_verbatim(r: &mut Renderer, made: &mut [Object], doc: &Node, sources: &infra_syntax::Sources) {
    for o in made.iter_mut().filter(|o| o.value.get("sops").is_some()) {
        if let Some(block) = doc.get("infra") {
            r.diags.push(
                Diagnostic::error(
                    Code::UnknownDirective,
                    "a SOPS-encrypted document is written as it is: it cannot carry an `infra:` block",
                )
                .at(block.span, "this block would stay in the output")
                .help("SOPS documents pass through unchanged; put directives on the objects that use it"),
            );
            continue;
        }
        let file = sources.get(doc.span.file);
        let offset = |p: infra_syntax::Pos| file.line_start(p.line).map(|s| s + p.col.saturating_sub(1) as usize);
        let (Some(start), Some(end)) = (offset(doc.span.start), offset(doc.span.end)) else { continue };
        let Some(text) = file.text.get(start..end.min(file.text.len())) else { continue };
        let mut text = text.trim_end_matches(['\n', ' ']).to_string();
        text.push('\n');
        o.verbatim = Some(std::sync::Arc::from(text));
    }
}

/// `common` applied to every object but SOPS documents, which stay as
/// written (and where they were in the list).
fn apply_common(common: &common::Common, objects: &mut Vec<Object>, kinds: &BuildKinds) {
    let mut kept = Vec::new();
    let mut plain = Vec::with_capacity(objects.len());
    for (i, o) in std::mem::take(objects).into_iter().enumerate() {
        if o.verbatim.is_some() { kept.push((i, o)) } else { plain.push(o) }
    }
    common.apply(&mut plain, kinds);
    *objects = plain;
    for (at, o) in kept {
        objects.insert(at, o);
    }
}

/// The components of `uses` whose `when` holds, in order.
fn active_components<'m>(r: &mut Renderer, uses: &'m [ComponentUse], scope: &Scope) -> Vec<&'m Module> {
    let mut out = Vec::new();
    for used in uses {
        if let Some(when) = &used.when
            && object::bool_at(r, when, "when", "components.when".into(), scope) != Some(true)
        {
            continue;
        }
        out.push(&*used.component);
    }
    out
}

/// Patches of one layer: its components' (in the order used), then its
/// own.
fn apply_patches(
    r: &mut Renderer,
    components: &[&Module],
    own: &[Patch],
    scope: &Scope,
    objects: &mut Vec<Object>,
    cx: &PatchContext,
) {
    for patch in components.iter().flat_map(|c| &c.patches).chain(own) {
        apply_patch(r, patch, scope, objects, cx);
    }
}

/// A module's content: its resources, dashboards and charts, those of the
/// components it uses, then the modules it uses (each with its own params,
/// patches and `common`). Returns the components used, each after the
/// components it uses itself, for their patches and `common`.
fn expand_content<'m>(
    r: &mut Renderer,
    module: &'m Module,
    scope: &Scope,
    into: &mut Expansion,
    chart_values: &[ChartValues],
) -> Vec<&'m Module> {
    for file in &module.resources {
        for (i, doc) in file.docs.iter().enumerate() {
            let errors = r.diags.error_count();
            let room = into.room.saturating_sub(into.objects.len());
            let before = into.objects.len();
            if eval_document(r, i, doc, scope, &mut into.objects, room).is_err() {
                into.full = true;
                return Vec::new();
            }
            keep_encrypted_verbatim(r, &mut into.objects[before..], doc, into.charts.sources);
            if r.diags.error_count() > errors {
                into.failed.push(FailedDocument::of(doc));
            }
        }
    }
    dashboards::evaluate(r, module, scope, &mut into.objects, &mut into.dashboards);
    charts::evaluate(r, module, scope, into.charts, chart_values, &mut into.objects);
    let mut components = Vec::new();
    for used in active_components(r, &module.components, scope) {
        components.extend(expand_content(r, used, scope, into, chart_values));
        if into.full {
            return Vec::new();
        }
        components.push(used);
    }
    for used in &module.modules {
        if let Some(when) = &used.when
            && object::bool_at(r, when, "when", format!("modules.{}.when", used.name), scope) != Some(true)
        {
            continue;
        }
        // Past the limit, every level returns; the first reports it.
        into.instances += 1;
        if into.instances > MAX_MODULE_INSTANCES {
            if into.instances > MAX_MODULE_INSTANCES + 1 {
                return Vec::new();
            }
            r.diags.push(
                Diagnostic::error(
                    Code::TooManyInstances,
                    format!("more than {MAX_MODULE_INSTANCES} module instances in environment `{}`", scope.env_name()),
                )
                .at(used.span, "one instance too many")
                .note("modules that use other modules several times multiply: each use is a whole instance"),
            );
            return Vec::new();
        }
        let params = params::resolve(
            r,
            &used.module,
            &used.module.params,
            &used.params.iter().collect::<Vec<_>>(),
            scope,
            &params::Context { name: &format!("module {}", used.name), instance: Some(used.span) },
        );
        let inner = Scope::new(params, scope.env_name(), &used.name, used.module.dir.clone(), into.root.clone());
        let start = into.objects.len();
        expand_module(r, &used.module, &inner, into);
        if into.full {
            return Vec::new();
        }
        for o in &mut into.objects[start..] {
            o.instance.get_or_insert(used.span);
        }
    }
    components
}

/// A module instance: its content, then its components' and its own
/// patches and `common`, which apply to its objects only.
fn expand_module(r: &mut Renderer, module: &Module, scope: &Scope, into: &mut Expansion) {
    let first = into.objects.len();
    let components = expand_content(r, module, scope, into, &[]);
    if into.full {
        return;
    }
    let layers = components.iter().filter_map(|c| c.common.as_ref()).chain(&module.common);
    let common = merged_common(r, layers, scope);
    let kinds = BuildKinds::of(into.objects.iter().map(|o| &o.value));
    let mut objects = into.objects.split_off(first);
    let cx = PatchContext { failed: &into.failed, default_ns: common.namespace.as_deref(), kinds: &kinds };
    apply_patches(r, &components, &module.patches, scope, &mut objects, &cx);
    apply_common(&common, &mut objects, &kinds);
    into.objects.append(&mut objects);
}

/// Evaluates a document into `out`: one object, or one per `for_each`
/// item. `Err` when it would make more objects than `room` (reported).
fn eval_document(
    r: &mut Renderer,
    index: usize,
    doc: &Node,
    scope: &Scope,
    out: &mut Vec<Object>,
    room: usize,
) -> Result<(), TooMany> {
    let entries = match &doc.kind {
        NodeKind::Map(e) => e,
        NodeKind::Null => return Ok(()),
        _ => {
            r.diags.push(
                Diagnostic::error(Code::NotAnObject, format!("document {} is not a Kubernetes object", index + 1))
                    .at(doc.span, format!("a {}, not a mapping", doc.type_name())),
            );
            return Ok(());
        }
    };
    let block = doc.get("infra");
    if let Some(b) = block
        && !Directives::check_block(b, r.diags)
    {
        return Ok(());
    }
    let directive = |name: &str| block.and_then(|b| b.get(name));
    // A list found at a plain path is read in place, not copied per item.
    let in_place = directive("for_each").and_then(|node| match &node.kind {
        NodeKind::Str(s, ScalarStyle::Plain) => scope.items_at(&expr::single_path(s)?),
        _ => None,
    });
    let scopes: Vec<Scope> = match (directive("for_each"), in_place) {
        (None, _) => vec![scope.clone()],
        (Some(_), Some(scopes)) => scopes,
        (Some(node), None) => {
            let Some(v) = r.render(node, scope, YamlPath::Root("infra.for_each")) else {
                return Ok(());
            };
            match v {
                Value::Seq(items) => {
                    items.into_iter().enumerate().map(|(i, item)| scope.with_item(item, Value::Int(i as i64))).collect()
                }
                Value::Map(m) => m.into_iter().map(|(key, item)| scope.with_item(item, Value::String(key))).collect(),
                Value::Null => Vec::new(),
                other => {
                    r.diags.push(
                        Diagnostic::error(
                            Code::DirectiveType,
                            format!(
                                "`for_each` needs a list or a map, not {}",
                                infra_syntax::article(other.type_name())
                            ),
                        )
                        .at(node.span, "not a list or map")
                        .path("infra.for_each"),
                    );
                    return Ok(());
                }
            }
        }
    };
    if scopes.len() > room {
        let at = directive("for_each").map_or(doc.span, |n| n.span);
        r.diags.push(
            Diagnostic::error(
                Code::TooManyObjects,
                format!(
                    "this document makes {} objects, and the build may make {} more (INFRA_MAX_OBJECTS)",
                    scopes.len(),
                    room
                ),
            )
            .at(at, format!("{} items", scopes.len()))
            .help("a build is at most INFRA_MAX_OBJECTS objects in all environments (250,000 unless set): raise it for a project this large on purpose"),
        );
        return Err(TooMany);
    }
    // Items are independent: large `for_each` expansions are evaluated in
    // parallel, each worker with its own expression cache and diagnostics,
    // merged back in item order.
    let sibling = r.ev.sibling_maker();
    let results = crate::parallel::map_chunks(&scopes, |chunk| {
        let ev = sibling.evaluator();
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
    Ok(())
}

/// A document asked for more objects than the build may still make.
struct TooMany;

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
        match object::bool_directive(r, when, "when", scope) {
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
    if let Err(what) = object::check_object(&value) {
        r.diags.push(
            Diagnostic::error(Code::NotAnObject, format!("not a Kubernetes object: {what}"))
                .at(doc.span, "this document")
                .help("every resource needs apiVersion, kind and metadata.name"),
        );
        return None;
    }
    let kind = value.str_at(&["kind"]).unwrap_or_default().to_string();
    let directives = Directives::parse(r, block, scope, &kind)?;
    Some(Object { value, origin: doc.span, directives, from: None, instance: None, verbatim: None })
}
