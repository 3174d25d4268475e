//! Upstream Helm charts in one environment: each entry's values (files,
//! then `values`, which may hold expressions over params) are merged and
//! checked against the chart's defaults, the chart is rendered by Helm
//! ([`super::helm`]), and its objects join the project's as ordinary
//! objects — patches, `common`, hashes, the graph and the plan apply to
//! them — each remembering its chart and template.

use super::expr::Scope;
use super::helm::{self, Failure, Helm, Request};
use super::object::{Directives, Object};
use super::render::{Renderer, YamlPath};
use crate::load::charts::{Chart, merge};
use crate::load::{ChartValues, Module};
use infra_k8s::annotations::HELM_HOOK;
use infra_k8s::kinds::{ObjectId, TargetRef};
use infra_syntax::{Code, Diagnostic, Map, Node, NodeKind, Sources, Span, Value, did_you_mean, yaml};
use std::path::Path;
use std::sync::Arc;

/// What rendering charts needs from the build: Helm (found once, when the
/// project has charts) and the sources table, which gains each template's
/// render so diagnostics can point into it.
pub struct ChartContext<'a> {
    pub helm: Option<&'a Helm>,
    pub sources: &'a mut Sources,
    /// The run's `--kube-version`, over every entry's `kube_version`.
    pub kube_version: Option<&'a str>,
}

/// Renders the charts of `module` into `out`, with an environment's (or
/// the command line's) `values` over each entry's own.
pub fn evaluate(
    r: &mut Renderer,
    module: &Module,
    scope: &Scope,
    cx: &mut ChartContext,
    chart_values: &[ChartValues],
    out: &mut Vec<Object>,
) {
    for chart in &module.charts {
        let Some(helm) = cx.helm else { return };
        if let Some(when) = chart.node.get("when")
            && super::object::bool_at(r, when, "when", format!("charts.{}.when", chart.name), scope) != Some(true)
        {
            continue;
        }
        let overrides: Vec<&ChartValues> = chart_values.iter().filter(|v| v.chart == chart.name).collect();
        let Some(mut settings) = settings(r, module, chart, &overrides, scope) else { continue };
        if let Some(v) = cx.kube_version {
            settings.kube_version = v.to_string();
        }
        let values_yaml = yaml::emit(&settings.values);
        let request = Request {
            chart: &chart.path,
            chart_digest: &chart.digest,
            root: &chart.root,
            release: &settings.release,
            namespace: &settings.namespace,
            kube_version: &settings.kube_version,
            api_versions: &settings.api_versions,
            include_crds: settings.include_crds,
            hooks: settings.hooks,
            values: &values_yaml,
        };
        match helm.render(&request) {
            Ok(text) => objects(r, chart, &settings, &text, cx.sources, out),
            Err(f) => r.diags.push(failure(chart, &settings, f)),
        }
    }
}

/// One entry, evaluated for this environment.
struct Settings {
    release: String,
    namespace: String,
    kube_version: String,
    api_versions: Vec<String>,
    include_crds: bool,
    hooks: bool,
    exclude: Vec<(String, Span)>,
    values: Value,
    /// The `values` node, to point at a value Helm refuses.
    values_node: Option<Node>,
}

fn settings(
    r: &mut Renderer,
    module: &Module,
    chart: &Chart,
    overrides: &[&ChartValues],
    scope: &Scope,
) -> Option<Settings> {
    let field = |name: &str| chart.node.get(name);
    let string = |r: &mut Renderer, name: &str| -> Option<Option<String>> {
        let Some(node) = field(name) else { return Some(None) };
        match r.render(node, scope, YamlPath::Root(name))? {
            Value::String(s) => Some(Some(s.to_string())),
            Value::Null => Some(None),
            other => {
                r.diags.push(
                    Diagnostic::error(Code::WrongType, format!("`{name}` of chart `{}` is a string", chart.name))
                        .at(node.span, format!("a {}", other.type_name())),
                );
                None
            }
        }
    };
    let release = string(r, "release")?.unwrap_or_else(|| chart.name.clone());
    // Without a namespace of its own, a chart is released into the module's
    // `common.namespace`: templates use `.Release.Namespace` for more than
    // `metadata.namespace` (RBAC subjects, selectors, URLs).
    let common_namespace = match module.common.as_ref().and_then(|c| c.get("namespace")) {
        Some(n) => match r.render(n, scope, YamlPath::Root("common.namespace"))? {
            Value::String(s) => Some(s.to_string()),
            _ => None,
        },
        None => None,
    };
    let namespace = string(r, "namespace")?.or(common_namespace).unwrap_or_else(|| "default".into());
    let kube_version = string(r, "kube_version")?.unwrap_or_else(|| helm::DEFAULT_KUBE_VERSION.into());
    let list = |r: &mut Renderer, name: &str| -> Option<Vec<(String, Span)>> {
        let Some(node) = field(name) else { return Some(Vec::new()) };
        match r.render(node, scope, YamlPath::Root(name))? {
            Value::Seq(items) => Some(
                items
                    .into_iter()
                    .filter_map(|i| match i {
                        Value::String(s) => Some((s.to_string(), node.span)),
                        _ => None,
                    })
                    .collect(),
            ),
            Value::Null => Some(Vec::new()),
            _ => {
                r.diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!("`{name}` of chart `{}` is a list of strings", chart.name),
                    )
                    .at(node.span, "not a list"),
                );
                None
            }
        }
    };
    let api_versions: Vec<String> = list(r, "api_versions")?.into_iter().map(|(s, _)| s).collect();
    let exclude = list(r, "exclude")?;
    // Each of these reaches Helm's command line: checked as Helm checks it,
    // so that no value can be read as an option or name another file.
    let mut refused = false;
    let mut check = |r: &mut Renderer, name: &str, value: &str, valid: bool, rule: &str| {
        if !valid {
            let span = field(name).map_or(chart.span, |n| n.span);
            r.diags.push(
                Diagnostic::error(
                    Code::ChartSetting,
                    format!("`{name}` of chart `{}` is {}, which Helm does not accept", chart.name, quoted(value)),
                )
                .at(span, "not accepted")
                .help(rule.to_string()),
            );
            refused = true;
        }
    };
    check(r, "release", &release, is_release_name(&release), RELEASE_RULE);
    check(r, "namespace", &namespace, infra_k8s::kinds::is_dns1123_label(&namespace), NAMESPACE_RULE);
    check(r, "kube_version", &kube_version, is_kube_version(&kube_version), KUBE_VERSION_RULE);
    for api in &api_versions {
        check(r, "api_versions", api, is_api_versions_entry(api), API_VERSIONS_RULE);
    }
    if refused {
        return None;
    }
    let include_crds = match field("include_crds") {
        None => true,
        Some(n) => match r.render(n, scope, YamlPath::Root("include_crds"))? {
            Value::Bool(b) => b,
            other => {
                r.diags.push(
                    Diagnostic::error(Code::WrongType, "`include_crds` is a bool")
                        .at(n.span, format!("a {}", other.type_name())),
                );
                return None;
            }
        },
    };
    let hooks = match string(r, "hooks")?.as_deref() {
        None | Some("keep") => true,
        Some("drop") => false,
        Some(other) => {
            let span = field("hooks").map_or(chart.span, |n| n.span);
            r.diags.push(
                Diagnostic::error(Code::WrongType, format!("`hooks` is `keep` or `drop`, not `{other}`"))
                    .at(span, "not `keep` or `drop`"),
            );
            return None;
        }
    };
    // Values: the files in order, then `values`; each checked for typos.
    let mut values = Value::Map(Map::new());
    for file in &chart.values_files {
        check_values(r, chart, file, &file.to_value(), &chart.defaults, &[]);
        merge(&mut values, &file.to_value());
    }
    let values_node = field("values").cloned();
    // The entry's `values`, then the environment's and the command line's.
    for node in values_node.iter().chain(overrides.iter().map(|o| &o.values)) {
        let rendered = r.render(node, scope, YamlPath::Root("values"))?;
        match &rendered {
            Value::Map(_) => {
                check_values(r, chart, node, &rendered, &chart.defaults, &[]);
                merge(&mut values, &rendered);
            }
            Value::Null => {}
            other => {
                r.diags.push(
                    Diagnostic::error(Code::ChartValues, format!("`values` of chart `{}` is a mapping", chart.name))
                        .at(node.span, format!("a {}", other.type_name())),
                );
                return None;
            }
        }
    }
    Some(Settings { release, namespace, kube_version, api_versions, include_crds, hooks, exclude, values, values_node })
}

const RELEASE_RULE: &str = "a release name is lowercase letters, digits, `-` and `.`, starts and ends with a letter or digit, and has at most 53 characters";
const NAMESPACE_RULE: &str = "a namespace is a DNS-1123 label: lowercase letters, digits and `-`, at most 63 characters, starting and ending with a letter or digit";
const KUBE_VERSION_RULE: &str =
    "a Kubernetes version is `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, optionally with a leading `v` (`1.35.0`)";
const API_VERSIONS_RULE: &str =
    "an entry of `api_versions` is `group/version` or `group/version/Kind` (`monitoring.coreos.com/v1`)";

/// Helm's rule for release names (`chartutil.ValidateReleaseName`): DNS-1123
/// labels joined by dots, at most 53 characters.
fn is_release_name(s: &str) -> bool {
    s.len() <= 53 && infra_k8s::kinds::is_dns1123_subdomain(s)
}

/// `1.35`, `1.35.0`, `v1.35.0`, with an optional pre-release or build part
/// of letters, digits, `.` and `-`: what Helm's `--kube-version` parses.
pub fn is_kube_version(s: &str) -> bool {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (core, extra) = match s.find(['-', '+']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
        && extra.len() <= 64
        && extra.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
}

/// `v1`, `group/version` or `group/version/Kind`.
fn is_api_versions_entry(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    let version_ok = |v: &str| infra_k8s::kinds::is_dns1123_label(v);
    match parts.as_slice() {
        [v] => version_ok(v),
        [g, v] => infra_k8s::kinds::is_dns1123_subdomain(g) && version_ok(v),
        [g, v, k] => {
            infra_k8s::kinds::is_dns1123_subdomain(g)
                && version_ok(v)
                && k.len() <= 63
                && k.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && k.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        _ => false,
    }
}

/// A value for a message: quoted, control characters escaped, long ones cut.
fn quoted(s: &str) -> String {
    let shown: String = s.chars().take(60).collect();
    let cut = if s.chars().count() > 60 { "…" } else { "" };
    format!("{:?}{cut}", shown)
}

/// Checks values against the chart's defaults, where the values are
/// written (`node`) and as evaluated (`value`). A key the chart lacks but
/// that is close to one it has is a typo (an error); other new keys are
/// the chart's to read (`grafana.ini.smtp`). A type unlike a non-null
/// default is a warning.
fn check_values(r: &mut Renderer, chart: &Chart, node: &Node, value: &Value, defaults: &Value, path: &[&str]) {
    let (Some(entries), Some(values), Some(defaults)) = (node.entries(), value.as_map(), defaults.as_map()) else {
        return;
    };
    for (k, v_node) in entries {
        let keys: Vec<&str> = path.iter().copied().chain([k.name.as_str()]).collect();
        let here = keys.join(".");
        let Some(v) = values.get(&k.name) else { continue };
        match defaults.get(&k.name) {
            Some(d) => {
                let differs = !matches!(d, Value::Null)
                    && !matches!(v, Value::Null)
                    && std::mem::discriminant(d) != std::mem::discriminant(v)
                    && !matches!((d, v), (Value::Int(_), Value::Float(_)) | (Value::Float(_), Value::Int(_)));
                if differs {
                    r.diags.push(
                        Diagnostic::warning(
                            Code::ChartValueType,
                            format!("chart `{}`: `{here}` is a {}, but the chart's default is a {}", chart.name, v.type_name(), d.type_name()),
                        )
                        .at(v_node.span, format!("a {}", v.type_name()))
                        .help("charts compare and print values as they are typed; check that this is what the chart expects"),
                    );
                }
                check_values(r, chart, v_node, v, d, &keys);
            }
            None => {
                if let Some(close) = did_you_mean(&k.name, defaults.keys().map(|k| k.as_str())) {
                    r.diags.push(
                        Diagnostic::error(
                            Code::UnknownChartValue,
                            format!("chart `{}` has no value `{here}`", chart.name),
                        )
                        .at(k.span, "not in the chart's values.yaml")
                        .note("Helm would ignore it silently")
                        .help(format!("did you mean `{close}`?")),
                    );
                } else {
                    warn_unread(r, chart, path, &k.name, k.span);
                }
            }
        }
    }
}

/// A value the chart does not have and no template of it (or of its
/// subcharts) reads: Helm would ignore it silently. The note names what the
/// templates do read beside it.
fn warn_unread(r: &mut Renderer, chart: &Chart, parent: &[&str], key: &str, span: Span) {
    let path: Vec<&str> = parent.iter().copied().chain([key]).collect();
    if crate::load::charts::is_read(&chart.reads, &path) {
        return;
    }
    let mut beside: Vec<&str> = chart
        .reads
        .iter()
        .filter(|read| read.len() > parent.len() && read.iter().zip(parent).all(|(a, b)| a == b))
        .map(|read| read[parent.len()].as_str())
        .collect();
    beside.sort_unstable();
    beside.dedup();
    let mut d = Diagnostic::warning(
        Code::UnreadChartValue,
        format!("chart `{}`: no template reads `{}`", chart.name, path.join(".")),
    )
    .at(span, "not in the chart's values.yaml, and no template reads it")
    .note("Helm would ignore it silently");
    let under = if parent.is_empty() { "at the top".to_string() } else { format!("under `{}`", parent.join(".")) };
    if !beside.is_empty() {
        const SHOWN: usize = 12;
        let more = if beside.len() > SHOWN { format!(", and {} more", beside.len() - SHOWN) } else { String::new() };
        let listed: Vec<String> = beside.iter().take(SHOWN).map(|k| format!("`{k}`")).collect();
        d = d.help(format!("the chart's templates read, {under}: {}{more}", listed.join(", ")));
    }
    r.diags.push(d);
}

/// The objects of a render: one source per template (so messages point
/// into it), hooks kept or ordered, excluded objects left out, and the
/// release namespace on namespaced objects that name none.
fn objects(
    r: &mut Renderer,
    chart: &Chart,
    settings: &Settings,
    text: &str,
    sources: &mut Sources,
    out: &mut Vec<Object>,
) {
    let mut found: Vec<Object> = Vec::new();
    for (template, section) in sections(text) {
        let display = format!("chart {}: {template}", chart.name);
        let from: Arc<str> = Arc::from(display.as_str());
        let file = sources.add(Path::new(&template), display, Arc::from(section));
        let docs = match yaml::load(file, &sources.get(file).text) {
            Ok(docs) => docs,
            Err(d) => {
                r.diags.push(d.code_as(Code::ChartRender).at(chart.span, "rendered from this chart"));
                continue;
            }
        };
        for doc in docs {
            match &doc.kind {
                NodeKind::Null => {}
                NodeKind::Map(_) if doc.get("kind").is_some() => found.push(Object {
                    value: doc.to_value(),
                    origin: doc.span,
                    directives: Directives::default(),
                    from: Some(from.clone()),
                    instance: None,
                    verbatim: None,
                }),
                _ => r.diags.push(
                    Diagnostic::error(
                        Code::ChartRender,
                        format!("chart `{}` renders something that is not a Kubernetes object", chart.name),
                    )
                    .at(doc.span, format!("a {}", doc.type_name()))
                    .at(chart.span, "rendered from this chart"),
                ),
            }
        }
    }
    // Excluded objects: managed elsewhere.
    for (target, span) in &settings.exclude {
        let before = found.len();
        found.retain(|o| !matches_target(&ObjectId::of(&o.value), target));
        if found.len() == before {
            r.diags.push(
                Diagnostic::warning(
                    Code::ChartValues,
                    format!("`exclude: {target}` matches no object of chart `{}`", chart.name),
                )
                .at(*span, "matches nothing"),
            );
        }
    }
    let mut values: Vec<Value> = found.iter_mut().map(|o| std::mem::replace(&mut o.value, Value::Null)).collect();
    infra_k8s::kinds::default_namespace(&mut values, &settings.namespace);
    for (o, value) in found.iter_mut().zip(values) {
        o.value = value;
    }
    order_hooks(r, chart, &mut found);
    out.extend(found);
}

/// Whether `target` (`Kind/name`, `Kind.group/namespace/name`, ...) names
/// the object `id`.
fn matches_target(id: &ObjectId, target: &str) -> bool {
    TargetRef::parse(target).is_ok_and(|t| t.names(id))
}

/// Hooks kept as ordinary objects: hooks with a `pre-*` event before the
/// chart's other objects, hooks with only `post-*` events after them (a
/// hook of both, like a webhook's certificate job, goes before: applied
/// once, it must exist before what needs it); one warning lists them.
fn order_hooks(r: &mut Renderer, chart: &Chart, objects: &mut [Object]) {
    let hook_of = |o: &Object| o.value.str_at(&["metadata", "annotations", HELM_HOOK]).map(String::from);
    let hooks: Vec<(usize, String)> = objects.iter().enumerate().filter_map(|(i, o)| Some((i, hook_of(o)?))).collect();
    if hooks.is_empty() {
        return;
    }
    let target = |o: &Object| TargetRef::to(&ObjectId::of(&o.value)).to_string();
    let is_pre = |h: &str| h.split(',').any(|e| e.trim().starts_with("pre-"));
    let pre: Vec<String> = hooks.iter().filter(|(_, h)| is_pre(h)).map(|(i, _)| target(&objects[*i])).collect();
    let others: Vec<String> =
        (0..objects.len()).filter(|i| !hooks.iter().any(|(h, _)| h == i)).map(|i| target(&objects[i])).collect();
    for (i, o) in objects.iter_mut().enumerate() {
        let span = o.origin;
        match hooks.iter().find(|(h, _)| *h == i) {
            None => o.directives.depends_on.extend(pre.iter().map(|t| (t.clone(), span))),
            Some((_, h)) if !is_pre(h) && h.contains("post-") => {
                o.directives.depends_on.extend(others.iter().map(|t| (t.clone(), span)))
            }
            Some(_) => {}
        }
    }
    let listed: Vec<String> =
        hooks.iter().map(|(i, h)| format!("{} ({h})", ObjectId::of(&objects[*i].value).short())).collect();
    r.diags.push(
        Diagnostic::warning(
            Code::ChartHooks,
            format!("chart `{}` has {} Helm hooks, kept as ordinary objects", chart.name, hooks.len()),
        )
        .at(chart.span, "this chart")
        .note(listed.join(", "))
        .help(
            "pre-* hooks are applied before the chart's other objects and post-* after; `hooks: drop` leaves them out",
        ),
    );
}

/// The render, split by Helm's `# Source: <template>` lines.
fn sections(text: &str) -> Vec<(String, &str)> {
    let mut out: Vec<(String, &str)> = Vec::new();
    let mut starts: Vec<(usize, String)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(t) = line.strip_prefix("# Source: ") {
            // The section begins at its `---` when there is one just before.
            let begin = text[..offset].strip_suffix("---\n").map_or(offset, |b| b.len());
            starts.push((begin, t.trim().to_string()));
        }
        offset += line.len();
    }
    if starts.is_empty() {
        return if text.trim().is_empty() { out } else { vec![("(render)".into(), text)] };
    }
    for (i, (begin, template)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(text.len(), |(b, _)| *b);
        out.push((template.clone(), &text[*begin..end]));
    }
    out
}

/// Why a render failed, at the chart entry.
fn failure(chart: &Chart, settings: &Settings, f: Failure) -> Diagnostic {
    match f {
        Failure::Helm(message) => {
            let message = redact_values(&message, &settings.values);
            let first = message.lines().next().unwrap_or_default().trim_start_matches("Error: ").to_string();
            let mut d = Diagnostic::error(
                Code::HelmFailed,
                format!("helm template failed for chart `{}`: {first}", chart.name),
            )
            .at(chart.span, "this chart");
            if let Some((file, line, col)) = helm::error_location(&message) {
                let col = col.map_or(String::new(), |c| format!(":{c}"));
                d = d.note(format!("in the chart: {file}:{line}{col}"));
            }
            // A value Helm names (a schema violation): point at it.
            if let Some(node) = settings.values_node.as_ref().and_then(|n| named_value(n, &message)) {
                d = d.at(node.span, "this value");
            }
            for line in message
                .lines()
                .skip(1)
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("Use --debug"))
                .take(8)
            {
                d = d.note(line.to_string());
            }
            d
        }
        Failure::TimedOut(t) => Diagnostic::error(
            Code::HelmTimeout,
            format!("helm template of chart `{}` took longer than {} s and was stopped", chart.name, t.as_secs()),
        )
        .at(chart.span, "this chart")
        .help("set INFRA_HELM_TIMEOUT (seconds) if the chart is that slow"),
        Failure::Run(message) => {
            Diagnostic::error(Code::HelmFailed, format!("cannot render chart `{}`: {message}", chart.name))
                .at(chart.span, "this chart")
        }
        Failure::NotDeterministic(a, b) => not_deterministic(chart, &a, &b),
    }
}

/// Helm's error text with every string of the given values that it
/// quotes replaced by `***`: a template's `fail` or `required` message can
/// quote a value headed for a Secret (a token passed with `--set` in CI).
/// Strings shorter than 4 characters are left: they give nothing away and
/// would garble the message.
fn redact_values(message: &str, values: &Value) -> String {
    let mut found = Vec::new();
    values.for_each_str(&mut |s| {
        if s.chars().count() >= 4 && message.contains(s) {
            found.push(s);
        }
    });
    // Longest first, so a value that holds another is replaced whole.
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = message.to_string();
    for s in found {
        out = out.replace(s, "***");
    }
    out
}

/// The node of a value that an error message names by dotted path
/// (`- persistence.enabled: Invalid type`).
fn named_value<'n>(values: &'n Node, message: &str) -> Option<&'n Node> {
    for line in message.lines() {
        let line = line.trim().trim_start_matches("- ");
        let Some((path, _)) = line.split_once(": ") else { continue };
        if path.contains(' ') || path.is_empty() {
            continue;
        }
        let found = path.split('.').try_fold(values, |n, k| n.get(k));
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Two renders differ: which objects and fields, from which templates, and
/// which value to set.
fn not_deterministic(chart: &Chart, a: &str, b: &str) -> Diagnostic {
    let parse = |text: &str| -> Vec<(ObjectId, String, Value)> {
        let mut out = Vec::new();
        for (template, section) in sections(text) {
            if let Ok(docs) = yaml::load(infra_syntax::FileId(0), section) {
                for d in docs.iter().filter(|d| d.get("kind").is_some()) {
                    let v = d.to_value();
                    out.push((ObjectId::of(&v), template.clone(), v));
                }
            }
        }
        out
    };
    let (first, second) = (parse(a), parse(b));
    let mut changed = Vec::new();
    for (id, template, v) in &first {
        if let Some((_, _, w)) = second.iter().find(|(i, _, _)| i == id)
            && v != w
        {
            let mut fields = Vec::new();
            differing_paths(v, w, String::new(), &mut fields);
            for f in fields.into_iter().take(3) {
                changed.push((id.short(), f, template.clone()));
            }
        }
    }
    let listed: Vec<String> = changed.iter().take(6).map(|(id, f, t)| format!("{id} {f} (template {t})")).collect();
    let mut d = Diagnostic::error(
        Code::NotDeterministic,
        format!("chart `{}` renders differently on every run, so its output would change with every build", chart.name),
    )
    .at(chart.span, "this chart");
    for l in listed {
        d = d.note(l);
    }
    // The value that most likely feeds a generated field: a chart value
    // named like the field (`admin-password` → `adminPassword`).
    let norm = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    let suggestion = changed.iter().find_map(|(_, f, _)| {
        let last = f.rsplit('.').next()?;
        value_named_like(&chart.defaults, last, "")
            .or_else(|| chart.commented.iter().find(|p| norm(p.rsplit('.').next().unwrap_or(p)) == norm(last)).cloned())
    });
    // A Secret the chart generates is best kept out of git altogether: the
    // chart's `existingSecret` option, where it has one, comes first.
    let existing = suggestion.as_deref().and_then(|s| {
        let prefix = s.rsplit_once('.').map_or("", |(p, _)| p);
        value_named_like(&chart.defaults, "existingSecret", prefix)
    });
    match (existing, suggestion) {
        (Some(existing), Some(path)) => d.help(format!(
            "point `{existing}` at a Secret made outside git (an ExternalSecret, a SealedSecret, SOPS), so that the chart generates nothing; setting `{path}` instead puts the value in git and in the output"
        )),
        (None, Some(path)) => d.help(format!(
            "set `{path}` from a Secret made outside git if the chart can read one; otherwise `exclude` the object and manage it yourself (a value written in `values` lands in git and in the output)"
        )),
        _ => d.help("`exclude` the object and make it outside git (an ExternalSecret, a SealedSecret), or set the chart value the field comes from"),
    }
}

fn differing_paths(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Map(x), Value::Map(y)) => {
            for (k, v) in x.iter() {
                let here = if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
                match y.get(k) {
                    Some(w) => differing_paths(v, w, here, out),
                    None => out.push(here),
                }
            }
        }
        _ if a != b => out.push(if path.is_empty() { "(the object)".into() } else { path }),
        _ => {}
    }
}

/// The dotted path of a value in `defaults` whose key reads like `field`
/// once case and separators are ignored.
fn value_named_like(defaults: &Value, field: &str, path: &str) -> Option<String> {
    let norm = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    let wanted = norm(field);
    let m = defaults.as_map()?;
    for (k, v) in m.iter() {
        let here = if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
        if norm(k) == wanted && !matches!(v, Value::Map(_)) {
            return Some(here);
        }
    }
    m.iter().find_map(|(k, v)| {
        let here = if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
        value_named_like(v, field, &here)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_render_splits_into_templates() {
        let text = "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/b.yaml\nkind: B\n";
        let s = sections(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, "c/templates/a.yaml");
        assert!(s[0].1.starts_with("---\n# Source: c/templates/a.yaml\nkind: A\n"));
        assert_eq!(s[1].1, "---\n# Source: c/templates/b.yaml\nkind: B\n");
    }

    #[test]
    fn generated_fields_suggest_the_value_to_set() {
        let defaults = yaml::parse_value("{grafana: {adminUser: admin, adminPassword: null, ini: {}}}").unwrap();
        assert_eq!(value_named_like(&defaults, "admin-password", ""), Some("grafana.adminPassword".into()));
        assert_eq!(value_named_like(&defaults, "token", ""), None);
    }

    #[test]
    fn values_named_in_helm_errors() {
        let node = yaml::load(infra_syntax::FileId(0), "persistence: {enabled: 'yes'}").unwrap().remove(0);
        let msg = "values don't meet the specifications of the schema(s) in the following chart(s):\ngrafana:\n- persistence.enabled: Invalid type. Expected: boolean, given: string";
        assert!(named_value(&node, msg).is_some());
    }
}
