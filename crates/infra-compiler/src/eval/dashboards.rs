//! Dashboards as data: Grafana JSON model files become ConfigMaps for the
//! Grafana sidecar or `GrafanaDashboard`s for grafana-operator. The JSON is
//! never templated; its text is kept as in the file unless the envelope,
//! datasource inputs or a missing uid require rewriting it, and then only
//! those change.

use super::expr::Scope;
use super::object::{Directives, Object};
use super::render::{Renderer, YamlPath};
use crate::load::{DashboardEntry, DashboardFile, Module};
use infra_k8s::annotations;
use infra_k8s::kinds::name_from;
use infra_k8s::workloads;
use infra_syntax::canonical::sha256_hex;
use infra_syntax::{Code, Diagnostic, Map, Node, Span, Value};
use serde_json::Value as Json;
use std::collections::HashMap;

/// Kubernetes rejects objects larger than this.
const MAX_OBJECT_BYTES: usize = 1 << 20;

/// One dashboard produced by a build, for the uid check.
pub struct Produced {
    pub uid: String,
    pub span: Span,
    pub path: String,
    /// The label a Grafana sidecar must watch to load it (`target: sidecar`).
    pub sidecar_label: Option<String>,
    /// Its folder and the annotation that carries it, and where the entry
    /// sets the folder (`target: sidecar`).
    pub folder: Option<(String, String, Span)>,
}

/// Evaluates a module's `dashboards:` entries into objects.
pub fn evaluate(r: &mut Renderer, module: &Module, scope: &Scope, out: &mut Vec<Object>, produced: &mut Vec<Produced>) {
    for entry in &module.dashboards {
        evaluate_entry(r, entry, scope, out, produced);
    }
}

/// Settings of one entry, evaluated.
struct Settings {
    folder: Option<String>,
    namespace: Option<String>,
    operator: bool,
    datasource: Option<String>,
    labels: Map,
    annotations: Map,
    label: String,
    label_value: String,
    folder_annotation: String,
    instance_selector: Value,
    name: Option<String>,
    key: Option<String>,
}

fn string_field(r: &mut Renderer, entry: &Node, key: &str, scope: &Scope) -> Option<Option<String>> {
    let Some(node) = entry.get(key) else { return Some(None) };
    match r.render(node, scope, YamlPath::Root(key))? {
        Value::String(s) => Some(Some(s.to_string())),
        Value::Null => Some(None),
        other => {
            r.diags.push(
                Diagnostic::error(
                    Code::WrongType,
                    format!("dashboards `{key}` must be a string, not {}", other.a_type_name()),
                )
                .at(node.span, "not a string"),
            );
            None
        }
    }
}

fn map_field(r: &mut Renderer, entry: &Node, key: &str, scope: &Scope) -> Option<Map> {
    let Some(node) = entry.get(key) else { return Some(Map::new()) };
    match r.render(node, scope, YamlPath::Root(key))? {
        Value::Map(m) => Some(m),
        Value::Null => Some(Map::new()),
        other => {
            r.diags.push(
                Diagnostic::error(
                    Code::WrongType,
                    format!("dashboards `{key}` must be a map, not {}", other.a_type_name()),
                )
                .at(node.span, "not a map"),
            );
            None
        }
    }
}

fn settings(r: &mut Renderer, entry: &DashboardEntry, scope: &Scope) -> Option<Settings> {
    let n = &entry.node;
    let target = string_field(r, n, "target", scope)?;
    let operator = match target.as_deref() {
        None | Some("sidecar") => false,
        Some("operator") => true,
        Some(other) => {
            r.diags.push(
                Diagnostic::error(
                    Code::WrongType,
                    format!("dashboards `target` is `sidecar` or `operator`, not `{other}`"),
                )
                .at(n.get("target").map_or(n.span, |t| t.span), "unknown target"),
            );
            return None;
        }
    };
    let instance_selector = match n.get("instance_selector") {
        Some(node) => r.render(node, scope, YamlPath::Root("instance_selector"))?,
        None => {
            let mut labels = Map::new();
            labels.insert("dashboards", "grafana".into());
            let mut sel = Map::new();
            sel.insert("matchLabels", Value::Map(labels));
            Value::Map(sel)
        }
    };
    let settings = Settings {
        folder: string_field(r, n, "folder", scope)?,
        namespace: string_field(r, n, "namespace", scope)?,
        operator,
        datasource: string_field(r, n, "datasource", scope)?,
        labels: map_field(r, n, "labels", scope)?,
        annotations: map_field(r, n, "annotations", scope)?,
        label: string_field(r, n, "label", scope)?.unwrap_or_else(|| annotations::GRAFANA_DASHBOARD_LABEL.into()),
        label_value: string_field(r, n, "label_value", scope)?.unwrap_or_else(|| "1".into()),
        folder_annotation: string_field(r, n, "folder_annotation", scope)?
            .unwrap_or_else(|| annotations::GRAFANA_FOLDER_ANNOTATION.into()),
        instance_selector,
        name: string_field(r, n, "name", scope)?,
        key: string_field(r, n, "key", scope)?,
    };
    if (settings.name.is_some() || settings.key.is_some()) && entry.files.len() != 1 {
        r.diags.push(
            Diagnostic::error(Code::WrongType, "`name` and `key` need an entry whose `files` match exactly one file")
                .at(n.span, format!("matches {} files", entry.files.len())),
        );
        return None;
    }
    Some(settings)
}

fn evaluate_entry(
    r: &mut Renderer,
    entry: &DashboardEntry,
    scope: &Scope,
    out: &mut Vec<Object>,
    produced: &mut Vec<Produced>,
) {
    let Some(settings) = settings(r, entry, scope) else { return };
    for file in &entry.files {
        let span = Span::file(file.file);
        let Some(model) = prepare(r, file, &settings, span) else { continue };
        produced.push(Produced {
            uid: model.uid.clone(),
            span,
            path: file.path.clone(),
            sidecar_label: (!settings.operator).then(|| settings.label.clone()),
            folder: settings.folder.clone().filter(|_| !settings.operator).map(|f| {
                let at = entry.node.get("folder").map_or(entry.node.span, |n| n.span);
                (f, settings.folder_annotation.clone(), at)
            }),
        });
        let stem = std::path::Path::new(&file.path).file_stem().and_then(|s| s.to_str()).unwrap_or("dashboard");
        let name = settings.name.clone().unwrap_or_else(|| format!("dashboard-{}", name_from(stem)));
        let key = settings.key.clone().unwrap_or_else(|| format!("{stem}.json"));
        if !settings.operator && !infra_k8s::kinds::is_config_key(&key) {
            let from = if settings.key.is_some() { "`key`" } else { "the file name" };
            r.diags.push(
                Diagnostic::error(
                    Code::DashboardKey,
                    format!("dashboard {}: the ConfigMap key `{key}` (from {from}) is not a valid key", file.path),
                )
                .at(span, "this dashboard")
                .help("a ConfigMap key is letters, digits, `-`, `_` and `.`: rename the file, or set `key:` on the dashboards entry"),
            );
            continue;
        }
        let value = if settings.operator {
            operator_object(&settings, &name, model.text)
        } else {
            sidecar_object(&settings, &name, &key, model.text)
        };
        let size = infra_syntax::yaml::emit(&value).len();
        if size > MAX_OBJECT_BYTES {
            r.diags.push(
                Diagnostic::error(
                    Code::DashboardTooLarge,
                    format!(
                        "dashboard {} makes an object of {} KiB; Kubernetes accepts at most 1 MiB",
                        file.path,
                        size >> 10
                    ),
                )
                .at(span, "this dashboard")
                .help("split the dashboard, or remove unused panels and library panels"),
            );
            continue;
        }
        out.push(Object {
            value,
            origin: span,
            directives: Directives::default(),
            from: None,
            instance: None,
            verbatim: None,
        });
    }
}

/// The JSON to provision and its uid.
struct Model {
    text: String,
    uid: String,
}

fn prepare(r: &mut Renderer, file: &DashboardFile, settings: &Settings, span: Span) -> Option<Model> {
    let mut json = file.json.clone();
    let mut rewritten = false;
    // The HTTP API's envelope: {"dashboard": {...}, "meta": {...}}.
    if let Json::Object(top) = &json
        && let Some(Json::Object(inner)) = top.get("dashboard")
        && !top.contains_key("panels")
    {
        json = Json::Object(inner.clone());
        rewritten = true;
    }
    let Json::Object(model) = &mut json else {
        r.diags.push(
            Diagnostic::error(
                Code::DashboardNotObject,
                format!("{} is not a Grafana dashboard (a JSON object)", file.path),
            )
            .at(span, "this file"),
        );
        return None;
    };
    let inputs: Vec<String> = model
        .get("__inputs")
        .and_then(Json::as_array)
        .map(|inputs| {
            inputs
                .iter()
                .filter(|i| i.get("type").and_then(Json::as_str) == Some("datasource"))
                .filter_map(|i| i.get("name").and_then(Json::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if model.contains_key("__inputs") {
        match &settings.datasource {
            Some(uid) => {
                model.shift_remove("__inputs");
                model.shift_remove("__requires");
                let placeholders: Vec<String> = inputs.iter().map(|n| format!("${{{n}}}")).collect();
                replace_strings(&mut json, &placeholders, uid);
                rewritten = true;
            }
            None => r.diags.push(
                Diagnostic::warning(
                    Code::DashboardInputs,
                    format!(
                        "{} is an export with inputs ({}); provisioned as is, they will not resolve",
                        file.path,
                        if inputs.is_empty() { "none of them datasources".to_string() } else { inputs.join(", ") }
                    ),
                )
                .at(span, "this dashboard")
                .help("set `datasource: <uid>` on the dashboards entry to fill them in"),
            ),
        }
    }
    let Json::Object(model) = &mut json else { unreachable!("checked above") };
    let uid = match model.get("uid").and_then(Json::as_str) {
        Some(uid) if !uid.is_empty() => uid.to_string(),
        _ => {
            let uid = format!("infra-{}", &sha256_hex(file.path.as_bytes())[..12]);
            r.diags.push(
                Diagnostic::warning(Code::DashboardNoUid, format!("{} has no uid; using the stable uid `{uid}`", file.path))
                    .at(span, "this dashboard")
                    .help("without a fixed uid Grafana makes a new one on every restart, breaking links; add `\"uid\"` to the file"),
            );
            model.insert("uid".into(), Json::String(uid.clone()));
            rewritten = true;
            uid
        }
    };
    let text = if rewritten {
        let mut t = serde_json::to_string_pretty(&json).expect("JSON values serialize");
        t.push('\n');
        t
    } else {
        file.text.to_string()
    };
    Some(Model { text, uid })
}

fn replace_strings(json: &mut Json, placeholders: &[String], uid: &str) {
    match json {
        Json::String(s) => {
            for p in placeholders {
                if s.contains(p.as_str()) {
                    *s = s.replace(p.as_str(), uid);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|i| replace_strings(i, placeholders, uid)),
        Json::Object(m) => m.values_mut().for_each(|v| replace_strings(v, placeholders, uid)),
        _ => {}
    }
}

fn metadata(settings: &Settings, name: &str, extra_label: Option<(&str, &str)>) -> Value {
    let mut meta = Map::new();
    meta.insert("name", name.into());
    if let Some(ns) = &settings.namespace {
        meta.insert("namespace", ns.as_str().into());
    }
    let mut labels = Map::new();
    if let Some((k, v)) = extra_label {
        labels.insert(k, v.into());
    }
    labels.extend(settings.labels.clone());
    if !labels.is_empty() {
        meta.insert("labels", Value::Map(labels));
    }
    let mut annotations = Map::new();
    if let (Some(folder), false) = (&settings.folder, settings.operator) {
        annotations.insert(settings.folder_annotation.clone(), folder.as_str().into());
    }
    annotations.extend(settings.annotations.clone());
    if !annotations.is_empty() {
        meta.insert("annotations", Value::Map(annotations));
    }
    Value::Map(meta)
}

fn sidecar_object(settings: &Settings, name: &str, key: &str, text: String) -> Value {
    let mut data = Map::new();
    data.insert(key, Value::from(text));
    let mut o = Map::new();
    o.insert("apiVersion", "v1".into());
    o.insert("kind", "ConfigMap".into());
    o.insert("metadata", metadata(settings, name, Some((&settings.label, &settings.label_value))));
    o.insert("data", Value::Map(data));
    Value::Map(o)
}

fn operator_object(settings: &Settings, name: &str, text: String) -> Value {
    let mut spec = Map::new();
    spec.insert("instanceSelector", settings.instance_selector.clone());
    if let Some(folder) = &settings.folder {
        spec.insert("folder", folder.as_str().into());
    }
    spec.insert("json", Value::from(text));
    let mut o = Map::new();
    o.insert("apiVersion", annotations::GRAFANA_OPERATOR_API_VERSION.into());
    o.insert("kind", "GrafanaDashboard".into());
    o.insert("metadata", metadata(settings, name, None));
    o.insert("spec", Value::Map(spec));
    Value::Map(o)
}

/// Reports dashboards of one build that share a uid.
/// Sidecar dashboards are loaded by a sidecar container of Grafana's pod
/// that watches their label (kiwigrid's k8s-sidecar, env `LABEL`). When the
/// project runs Grafana and no container watches the label — the Grafana
/// chart's default — nothing ever loads them.
pub fn check_sidecar_watches(produced: &[Produced], objects: &[Object], diags: &mut infra_syntax::Diagnostics) {
    let runs_grafana = objects.iter().any(|o| workloads::runs_image(&o.value, "grafana"));
    if !runs_grafana {
        return;
    }
    let sidecars: Vec<workloads::Sidecar> = objects.iter().flat_map(|o| workloads::sidecars(&o.value)).collect();
    let watched: Vec<&str> = sidecars.iter().map(|s| s.label).collect();
    check_folders(produced, &sidecars, diags);
    let mut warned = Vec::new();
    for p in produced {
        let Some(label) = &p.sidecar_label else { continue };
        if watched.contains(&label.as_str()) || warned.contains(&label) {
            continue;
        }
        warned.push(label);
        let count = produced.iter().filter(|q| q.sidecar_label.as_ref() == Some(label)).count();
        diags.push(
            Diagnostic::warning(
                Code::DashboardNoSidecar,
                format!(
                    "{count} dashboard{} for Grafana's sidecar, and no container of the project watches the label `{label}`: Grafana never loads {}",
                    if count == 1 { "" } else { "s" },
                    if count == 1 { "it" } else { "them" }
                ),
            )
            .at(p.span, "the first of them")
            .help(format!(
                "enable Grafana's dashboard sidecar (the Grafana chart: `sidecar.dashboards.enabled: true`, `sidecar.dashboards.label: {label}`), or use `target: operator` with grafana-operator"
            )),
        );
    }
}

/// Folders of sidecar dashboards that the sidecars watching them would
/// ignore: a k8s-sidecar files a dashboard by the annotation its
/// `FOLDER_ANNOTATION` names (unset in kube-prometheus-stack's defaults),
/// so a folder in another annotation lands in Grafana's General folder.
fn check_folders(produced: &[Produced], sidecars: &[workloads::Sidecar], diags: &mut infra_syntax::Diagnostics) {
    let mut warned: Vec<(&str, &str)> = Vec::new();
    for p in produced {
        let (Some(label), Some((folder, key, at))) = (&p.sidecar_label, &p.folder) else { continue };
        let watching: Vec<&workloads::Sidecar> = sidecars.iter().filter(|s| s.label == label).collect();
        if watching.is_empty() || watching.iter().any(|s| s.folder_annotation == Some(key)) {
            continue;
        }
        if warned.contains(&(label.as_str(), key.as_str())) {
            continue;
        }
        warned.push((label, key));
        let reads = match watching[0].folder_annotation {
            Some(other) => format!("reads folders from the annotation `{other}`"),
            None => "has no FOLDER_ANNOTATION, so it reads folders from `k8s-sidecar-target-directory`".into(),
        };
        diags.push(
            Diagnostic::warning(
                Code::DashboardFolderIgnored,
                format!("dashboards of folder `{folder}` go to Grafana's General folder: the sidecar watching `{label}` {reads}, not `{key}`"),
            )
            .at(*at, "this folder is ignored")
            .help(format!(
                "set the Grafana chart's `sidecar.dashboards.folderAnnotation: {key}` and `sidecar.dashboards.provider.foldersFromFilesStructure: true`, or `folder_annotation:` on this entry to the annotation the sidecar reads"
            )),
        );
    }
}

pub fn check_unique_uids(produced: &[Produced], diags: &mut infra_syntax::Diagnostics) {
    let mut seen: HashMap<&str, &Produced> = HashMap::new();
    for p in produced {
        if let Some(first) = seen.get(p.uid.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::DashboardUidTwice,
                    format!("dashboards {} and {} have the same uid `{}`", first.path, p.path, p.uid),
                )
                .at(p.span, "second dashboard")
                .at(first.span, "first dashboard")
                .help("Grafana keeps one dashboard per uid; give each file its own `uid`"),
            );
        } else {
            seen.insert(&p.uid, p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_file_stems() {
        assert_eq!(name_from("Node Exporter Full"), "node-exporter-full");
        assert_eq!(name_from("kps--k8s_resources.pod"), "kps-k8s-resources-pod");
        assert_eq!(name_from("__"), "dashboard");
    }
}
