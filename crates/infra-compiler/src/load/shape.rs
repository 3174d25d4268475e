//! The shape of `infra.yaml`, environment files, patches, `common`,
//! `schema` entries, `dashboards` entries and `infra:` directive blocks, as
//! one table: each section's keys with their type and documentation. The
//! loader checks keys against it ("did you mean"), and the JSON Schema for
//! editors (`schema/infra.schema.json`, kept fresh by a test) is generated
//! from it, so the two cannot disagree.

use serde_json::{Map, Value, json};

/// The type of a key's value, as the schema states it.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    String,
    /// A project, module or environment name: `[a-z0-9-]+`.
    Name,
    Regex,
    Number,
    Bool,
    /// A bool, or an expression that yields one.
    BoolOrExpression,
    /// A list, a map, or an expression that yields one (`for_each`).
    Collection,
    /// Any map.
    Object,
    /// Any list.
    List,
    Strings,
    StringOrStrings,
    StringMap,
    Enum(&'static [&'static str]),
    /// `Kind/name` or `Kind/namespace/name` references.
    Targets,
    /// RFC 6902 operations.
    Ops,
    /// Another section.
    Section(&'static Section),
    ListOf(&'static Section),
    /// A list whose entries are a path or a section.
    ListOfPathOr(&'static Section),
    /// A map whose values are a section, keyed by anything.
    MapOf(&'static Section),
    /// A map whose values are a section, keyed by names.
    NamedMapOf(&'static Section),
    /// Like `NamedMapOf`, where a value may also be the path of a file of
    /// that section's shape.
    NamedMapOfFileOr(&'static Section),
}

/// One key of a section.
#[derive(Debug)]
pub struct Field {
    pub key: &'static str,
    pub ty: Ty,
    pub doc: &'static str,
    pub required: bool,
    /// Allowed in a project's `infra.yaml` but not in a module's.
    pub project_only: bool,
}

/// A map with known keys.
#[derive(Debug)]
pub struct Section {
    /// Its name among the schema's `$defs`.
    pub name: &'static str,
    pub doc: &'static str,
    pub fields: &'static [Field],
    /// Exactly one of these keys must be there.
    pub one_of: &'static [&'static str],
}

impl Section {
    /// Its keys, for checks and hints.
    /// "expected a, b or c": the keys, for a label.
    pub fn expected(&self) -> String {
        let keys: Vec<&str> = self.keys().collect();
        match keys.split_last() {
            Some((last, [])) => format!("expected {last}"),
            Some((last, rest)) => format!("expected {} or {last}", rest.join(", ")),
            None => "expected nothing".into(),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &'static str> + Clone {
        self.fields.iter().map(|f| f.key)
    }

    /// Its keys allowed in a module's `infra.yaml`.
    pub fn module_keys(&self) -> impl Iterator<Item = &'static str> + Clone {
        self.fields.iter().filter(|f| !f.project_only).map(|f| f.key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.fields.iter().any(|f| f.key == key)
    }
}

const fn field(key: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field { key, ty, doc, required: false, project_only: false }
}

const fn required(f: Field) -> Field {
    Field { required: true, ..f }
}

const fn project_only(f: Field) -> Field {
    Field { project_only: true, ..f }
}

pub static PROJECT: Section = Section {
    name: "project",
    doc: "infra project (infra.yaml)",
    fields: &[
        field(
            "name",
            Ty::Name,
            "The project's name; required in a project's infra.yaml, not in a module's or a component's.",
        ),
        field("params", Ty::Object, "Parameter defaults; their types are inferred from them."),
        field("schema", Ty::MapOf(&SCHEMA_RULE), "Constraints by dotted parameter path."),
        field("resources", Ty::Strings, "Files or globs of manifests, relative to this file."),
        field("modules", Ty::NamedMapOf(&MODULE), ""),
        field("dashboards", Ty::ListOf(&DASHBOARDS), ""),
        field("charts", Ty::NamedMapOf(&CHART), "Upstream Helm charts, rendered by Helm and kept as ordinary objects."),
        field("common", Ty::Section(&COMMON), ""),
        field(
            "patches",
            Ty::ListOf(&PATCH),
            "Patches of this project's (or module's) objects, modules' objects included.",
        ),
        field("components", Ty::ListOfPathOr(&COMPONENT), "Components used: resources, patches and common."),
        project_only(field(
            "hashing",
            Ty::Enum(&["suffix", "none"]),
            "`suffix`: every ConfigMap and Secret name gets a content hash.",
        )),
        project_only(field("environments", Ty::NamedMapOfFileOr(&ENVIRONMENT), "")),
        project_only(field(
            "required_version",
            Ty::String,
            "The infra versions that may build this project, as Cargo writes requirements (`=0.1.0`, `>=0.1, <0.3`).",
        )),
    ],
    one_of: &[],
};

pub static MODULE: Section = Section {
    name: "module",
    doc: "An instance of a module: a folder with its own infra.yaml.",
    fields: &[
        required(field("source", Ty::String, "")),
        field("params", Ty::Object, ""),
        field(
            "when",
            Ty::BoolOrExpression,
            "Whether the instance is part of the build; when false, its objects, dashboards and charts are left out.",
        ),
    ],
    one_of: &[],
};

pub static CHART: Section = Section {
    name: "chart",
    doc: "An upstream Helm chart, rendered by the real Helm; its objects are ordinary objects.",
    fields: &[
        required(field("chart", Ty::String, "A chart archive (.tgz) or an unpacked chart folder, inside the project.")),
        field("release", Ty::String, "The release name; default: the entry's key."),
        field("namespace", Ty::String, "The release namespace, for objects that name none."),
        field("values_files", Ty::Strings, "Values files merged in order, then `values`."),
        field(
            "values",
            Ty::Object,
            "Chart values; may hold expressions, so environments change a chart through params.",
        ),
        field("kube_version", Ty::String, "What `.Capabilities.KubeVersion` says (default 1.35.0)."),
        field("api_versions", Ty::Strings, "Added to `.Capabilities.APIVersions`."),
        field("include_crds", Ty::BoolOrExpression, "Render the chart's CRDs (default true)."),
        field(
            "hooks",
            Ty::Enum(&["keep", "drop"]),
            "Helm hooks: kept as ordinary objects (default) or dropped; test hooks are always dropped.",
        ),
        field("exclude", Ty::Targets, "Objects of the render to leave out, as Kind/name or Kind/namespace/name."),
        field("when", Ty::BoolOrExpression, "Whether the chart is part of the build."),
    ],
    one_of: &[],
};

pub static CHART_VALUES: Section = Section {
    name: "chartValues",
    doc: "An environment's values for one of the project's charts.",
    fields: &[field(
        "values",
        Ty::Object,
        "Merged over the chart entry's values, checked against the chart the same way.",
    )],
    one_of: &[],
};

pub static COMPONENT: Section = Section {
    name: "component",
    doc: "A component: a folder whose infra.yaml has resources, patches and common, used with its user's params.",
    fields: &[
        required(field("source", Ty::String, "The component's folder, relative to this file.")),
        field("when", Ty::BoolOrExpression, "Whether the component is used."),
    ],
    one_of: &[],
};

pub static ENVIRONMENT: Section = Section {
    name: "environment",
    doc: "An environment: parameter values, patches and common settings.",
    fields: &[
        field(
            "params",
            Ty::Object,
            "Values for parameters that exist in the defaults, of the same type; may be expressions over the defaults.",
        ),
        field("patches", Ty::ListOf(&PATCH), "Applied after the project's patches and the components'."),
        field("common", Ty::Section(&COMMON), ""),
        field("components", Ty::ListOfPathOr(&COMPONENT), "Components this environment uses."),
        field("charts", Ty::NamedMapOf(&CHART_VALUES), "Values for the project's charts in this environment."),
    ],
    one_of: &[],
};

pub static COMMON: Section = Section {
    name: "common",
    doc: "Applied to every object after patches.",
    fields: &[
        field(
            "namespace",
            Ty::String,
            "Namespace for namespaced objects that name none (and for RBAC subjects naming their ServiceAccounts).",
        ),
        field("labels", Ty::StringMap, "Metadata labels (selectors are never touched)."),
        field("annotations", Ty::StringMap, ""),
        field(
            "pod_labels",
            Ty::StringMap,
            "Labels on metadata and on pod templates (selectors untouched: no replace).",
        ),
        field(
            "selector_labels",
            Ty::StringMap,
            "Labels on metadata, pod templates and selectors (immutable: plan shows the replace).",
        ),
        field("name_prefix", Ty::String, "Prepended to every name, every reference rewritten."),
        field("name_suffix", Ty::String, "Appended to every name (before a hash suffix), every reference rewritten."),
        field("images", Ty::ListOf(&IMAGE), "Container images set by image name, in every pod spec."),
    ],
    one_of: &[],
};

pub static IMAGE: Section = Section {
    name: "image",
    doc: "An image, by its name as written (`grafana/grafana`, no tag), and what to set; entries for one name apply in order.",
    fields: &[
        required(field("name", Ty::String, "")),
        field("new_name", Ty::String, "Another repository (`registry.example/grafana`); tag and digest are kept."),
        field("tag", Ty::String, "A tag (drops the digest)."),
        field("digest", Ty::String, "A digest `sha256:…` (drops the tag)."),
        field("tag_suffix", Ty::String, "Appended to the tag (`-debug`)."),
    ],
    one_of: &[],
};

pub static PATCH: Section = Section {
    name: "patch",
    doc: "",
    fields: &[
        field("target", Ty::Section(&TARGET), ""),
        field(
            "merge",
            Ty::Object,
            "Strategic merge patch: maps merge, null deletes, lists merge by Kubernetes' merge keys (custom resources: by `name` when every item has one), `$patch: replace|delete` on maps, list items and the object.",
        ),
        field("ops", Ty::Ops, "RFC 6902 operations."),
        field(
            "file",
            Ty::String,
            "A file (or glob) of patches, relative to the file that names it: each document is a merge patch (naming its object when there is no target) or a list of operations.",
        ),
        field("rename", Ty::Bool, "Allow the patch to change its object's kind, name or namespace."),
        field("when", Ty::BoolOrExpression, "Apply only if true."),
    ],
    one_of: &["merge", "ops", "file"],
};

pub static TARGET: Section = Section {
    name: "target",
    doc: "Objects the patch applies to: each field a regular expression matched against the whole value, omitted fields match any. A patch matching nothing is an error.",
    fields: &[
        field("group", Ty::Regex, "API group (`apps`; `\"\"` is the core group)."),
        field("version", Ty::Regex, "API version (`v1`)."),
        field("kind", Ty::Regex, "Kind, case-sensitive (`Deployment`, `(Deployment|StatefulSet)`)."),
        field("name", Ty::Regex, "Name (`web-.*`)."),
        field("namespace", Ty::Regex, ""),
        field("labels", Ty::StringMap, "Labels the object has, all of them."),
        field("annotations", Ty::StringMap, "Annotations the object has, all of them."),
    ],
    one_of: &[],
};

pub static SCHEMA_RULE: Section = Section {
    name: "schemaRule",
    doc: "",
    fields: &[
        field("pattern", Ty::Regex, ""),
        field("enum", Ty::List, ""),
        field("min", Ty::Number, ""),
        field("max", Ty::Number, ""),
        field("required", Ty::Bool, ""),
        field("required_when", Ty::String, "Dotted path of a bool parameter."),
        field("doc", Ty::String, ""),
    ],
    one_of: &[],
};

pub static DASHBOARDS: Section = Section {
    name: "dashboards",
    doc: "Grafana dashboard JSON files, provisioned as sidecar ConfigMaps or GrafanaDashboards.",
    fields: &[
        required(field("files", Ty::StringOrStrings, "")),
        field("folder", Ty::String, ""),
        field("namespace", Ty::String, ""),
        field("target", Ty::Enum(&["sidecar", "operator"]), ""),
        field("datasource", Ty::String, "UID that replaces the `${DS_X}` inputs of exported dashboards."),
        field("labels", Ty::StringMap, ""),
        field("annotations", Ty::StringMap, ""),
        field("label", Ty::String, "The sidecar's label (default grafana_dashboard)."),
        field("label_value", Ty::String, "The sidecar's label value (default \"1\")."),
        field("folder_annotation", Ty::String, "The sidecar's folderAnnotation (default grafana_folder)."),
        field("instance_selector", Ty::Object, "grafana-operator instanceSelector."),
        field("name", Ty::String, "Object name, for an entry of one file."),
        field("key", Ty::String, "Data key, for an entry of one file."),
    ],
    one_of: &[],
};

pub static DIRECTIVES: Section = Section {
    name: "directives",
    doc: "The `infra:` block of a resource document; removed from the output.",
    fields: &[
        field("when", Ty::BoolOrExpression, "Include only if true (per item inside for_each)."),
        field("for_each", Ty::Collection, "Repeat for each item of a list or map (`item`, `key`)."),
        field("depends_on", Ty::Targets, ""),
        field("hash", Ty::Enum(&["suffix", "none"]), ""),
        field("protect", Ty::BoolOrExpression, ""),
        field("external", Ty::BoolOrExpression, ""),
        field(
            "ephemeral",
            Ty::BoolOrExpression,
            "The workload's state may be lost: no storage warning, no data-loss hazard on rollout.",
        ),
        field(
            "plain_secret",
            Ty::BoolOrExpression,
            "A Secret whose values may be in git and in the output (test data, public values): no warning.",
        ),
        field(
            "state",
            Ty::Strings,
            "Where the workload keeps state (`/path`, or `container:/path`), for software infra does not know: plan judges these paths like a database's data directory.",
        ),
    ],
    one_of: &[],
};

/// Sections that are `$defs` of the schema (the project is its root).
const DEFS: &[&Section] = &[&COMMON, &PATCH, &ENVIRONMENT, &DIRECTIVES, &DASHBOARDS, &CHART, &COMPONENT];

fn reference(s: &Section) -> Value {
    json!({"$ref": format!("#/$defs/{}", s.name)})
}

/// A section inline, or as a reference when it is one of the `$defs`.
fn section_or_ref(s: &'static Section) -> Value {
    if DEFS.iter().any(|d| std::ptr::eq(*d, s)) { reference(s) } else { section_schema(s) }
}

fn type_schema(ty: Ty) -> Value {
    let name = json!({"type": "string", "pattern": "^[a-z0-9-]+$"});
    match ty {
        Ty::String => json!({"type": "string"}),
        Ty::Name => name,
        Ty::Regex => json!({"type": "string", "format": "regex"}),
        Ty::Number => json!({"type": "number"}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::BoolOrExpression => json!({"type": ["boolean", "string"]}),
        Ty::Collection => json!({"type": ["array", "object", "string"]}),
        Ty::Object => json!({"type": "object"}),
        Ty::List => json!({"type": "array"}),
        Ty::Strings => json!({"type": "array", "items": {"type": "string"}}),
        Ty::StringOrStrings => json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
        Ty::StringMap => json!({"$ref": "#/$defs/stringMap"}),
        Ty::Enum(values) => json!({"enum": values}),
        Ty::Targets => json!({"type": "array", "items": {"type": "string", "pattern": "^[^/]+/([^/]+/)?[^/]+$"}}),
        Ty::Ops => json!({
            "type": "array",
            "items": {
                "type": "object",
                "required": ["op", "path"],
                "properties": {
                    "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
                    "path": {"type": "string"},
                    "from": {"type": "string"},
                    "value": {}
                }
            }
        }),
        Ty::Section(s) => section_or_ref(s),
        Ty::ListOf(s) => json!({"type": "array", "items": section_or_ref(s)}),
        Ty::ListOfPathOr(s) => json!({"type": "array", "items": {"oneOf": [{"type": "string"}, section_or_ref(s)]}}),
        Ty::MapOf(s) => json!({"type": "object", "additionalProperties": section_or_ref(s)}),
        Ty::NamedMapOf(s) => {
            json!({"type": "object", "propertyNames": name, "additionalProperties": section_or_ref(s)})
        }
        Ty::NamedMapOfFileOr(s) => json!({
            "type": "object",
            "propertyNames": name,
            "additionalProperties": {"oneOf": [{"type": "string", "description": format!("Path of a file of the {} shape.", s.name)}, section_or_ref(s)]}
        }),
    }
}

fn section_schema(s: &Section) -> Value {
    let mut properties = Map::new();
    for f in s.fields {
        let mut schema = type_schema(f.ty);
        if !f.doc.is_empty()
            && let Some(m) = schema.as_object_mut()
        {
            m.insert("description".into(), f.doc.into());
        }
        properties.insert(f.key.to_string(), schema);
    }
    let mut out = Map::new();
    out.insert("type".into(), "object".into());
    if !s.doc.is_empty() {
        out.insert("description".into(), s.doc.into());
    }
    out.insert("additionalProperties".into(), false.into());
    out.insert("properties".into(), Value::Object(properties));
    let required: Vec<&str> = s.fields.iter().filter(|f| f.required).map(|f| f.key).collect();
    if !required.is_empty() {
        out.insert("required".into(), json!(required));
    }
    if !s.one_of.is_empty() {
        out.insert("oneOf".into(), s.one_of.iter().map(|k| json!({"required": [k]})).collect());
    }
    Value::Object(out)
}

/// The schema: the project file at the root; `$defs/environment` for
/// environment files, `$defs/directives` for a resource's `infra:` block.
pub fn infra_schema() -> Value {
    let mut root = Map::new();
    root.insert("$schema".into(), "https://json-schema.org/draft/2020-12/schema".into());
    root.insert("$id".into(), "https://infra.dev/schema/infra.schema.json".into());
    root.insert("title".into(), PROJECT.doc.into());
    if let Value::Object(project) = section_schema(&PROJECT) {
        root.extend(project.into_iter().filter(|(k, _)| k != "description"));
    }
    let mut defs = Map::new();
    defs.insert("stringMap".into(), json!({"type": "object", "additionalProperties": {"type": "string"}}));
    for s in DEFS {
        defs.insert(s.name.to_string(), section_schema(s));
    }
    root.insert("$defs".into(), Value::Object(defs));
    Value::Object(root)
}

/// The schema of an environment file (`envs/prod.yaml`): the project
/// schema's `environment`, with its definitions.
pub fn environment_schema() -> Value {
    let mut root = Map::new();
    root.insert("$schema".into(), "https://json-schema.org/draft/2020-12/schema".into());
    root.insert("$id".into(), "https://infra.dev/schema/environment.schema.json".into());
    root.insert("title".into(), "An environment of an infra project, in a file of its own".into());
    root.insert("$ref".into(), "#/$defs/environment".into());
    root.insert("$defs".into(), infra_schema()["$defs"].clone());
    Value::Object(root)
}

/// The schema of `infra.yaml` as committed: pretty JSON with a final newline.
pub fn infra_schema_text() -> String {
    schema_text(&infra_schema())
}

/// The schema of environment files as committed.
pub fn environment_schema_text() -> String {
    schema_text(&environment_schema())
}

fn schema_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_may_not_set_project_keys() {
        assert!(PROJECT.keys().any(|k| k == "environments"));
        assert!(!PROJECT.module_keys().any(|k| k == "environments" || k == "hashing"));
        assert!(PROJECT.module_keys().any(|k| k == "resources"));
    }

    #[test]
    fn the_schema_closes_every_section() {
        let schema = infra_schema();
        assert_eq!(schema["additionalProperties"], false);
        for s in DEFS {
            assert_eq!(schema["$defs"][s.name]["additionalProperties"], false, "{}", s.name);
            for f in s.fields {
                assert!(schema["$defs"][s.name]["properties"].get(f.key).is_some(), "{}.{}", s.name, f.key);
            }
        }
        assert_eq!(
            schema["$defs"]["patch"]["oneOf"],
            json!([{"required": ["merge"]}, {"required": ["ops"]}, {"required": ["file"]}])
        );
    }
}
