//! The schemas of objects: the Kubernetes API's, one per minor version,
//! shipped in the binary (`schemas/SOURCE.md`), and those the
//! `openAPIV3Schema` of a build's CRDs declare. [`Schemas::check`] finds
//! where an object breaks its kind's schema, as paths into the object, so
//! the compiler can point at the source line.

use infra_syntax::Value;
use infra_syntax::json::to_json;
use jsonschema::{Registry, Resource, Validator};
use serde_json::{Map as JsonMap, Value as Json, json};
use std::collections::HashMap;
use std::fmt;
use std::io::Read;

/// The minor versions shipped, oldest first, with their gzip'd definitions.
const VERSIONS: &[(u32, &[u8])] = &[
    (25, include_bytes!("../schemas/kubernetes-1.25.json.gz")),
    (26, include_bytes!("../schemas/kubernetes-1.26.json.gz")),
    (27, include_bytes!("../schemas/kubernetes-1.27.json.gz")),
    (28, include_bytes!("../schemas/kubernetes-1.28.json.gz")),
    (29, include_bytes!("../schemas/kubernetes-1.29.json.gz")),
    (30, include_bytes!("../schemas/kubernetes-1.30.json.gz")),
    (31, include_bytes!("../schemas/kubernetes-1.31.json.gz")),
    (32, include_bytes!("../schemas/kubernetes-1.32.json.gz")),
    (33, include_bytes!("../schemas/kubernetes-1.33.json.gz")),
    (34, include_bytes!("../schemas/kubernetes-1.34.json.gz")),
    (35, include_bytes!("../schemas/kubernetes-1.35.json.gz")),
    (36, include_bytes!("../schemas/kubernetes-1.36.json.gz")),
    (37, include_bytes!("../schemas/kubernetes-1.37.json.gz")),
];

/// Where the definitions are registered; their `$ref`s are relative to it.
const DEFINITIONS_URI: &str = "https://kubernetes.io/api/_definitions.json";

/// At most this many problems are reported for one object.
pub const MAX_VIOLATIONS: usize = 10;

/// The Kubernetes version whose schemas are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeVersion {
    pub minor: u32,
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.minor)
    }
}

/// Why a version has no schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    /// Not `1.N`, `v1.N` or `1.N.P`.
    Malformed(String),
    /// Older than the oldest shipped.
    TooOld { asked: String, oldest: KubeVersion },
}

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionError::Malformed(v) => write!(f, "`{v}` is not a Kubernetes version (`1.35`, `v1.35.2`)"),
            VersionError::TooOld { asked, oldest } => {
                write!(f, "no schemas for Kubernetes {asked}: the oldest infra has is {oldest}")
            }
        }
    }
}

/// The shipped version for a cluster version: the newest not newer than it
/// (schemas change little within a minor version, and a newer cluster
/// accepts what an older one does), or the newest shipped when none is
/// given. The second value says whether the cluster is newer than every
/// shipped version.
pub fn version_for(asked: Option<&str>) -> Result<(KubeVersion, bool), VersionError> {
    let newest = KubeVersion { minor: VERSIONS[VERSIONS.len() - 1].0 };
    let Some(asked) = asked else { return Ok((newest, false)) };
    let malformed = || VersionError::Malformed(asked.to_string());
    let text = asked.strip_prefix('v').unwrap_or(asked);
    let mut parts = text.split(['.', '+', '-']);
    let (Some("1"), Some(minor)) = (parts.next(), parts.next()) else { return Err(malformed()) };
    let minor: u32 = minor.parse().map_err(|_| malformed())?;
    match VERSIONS.iter().rev().find(|(m, _)| *m <= minor) {
        Some((m, _)) => Ok((KubeVersion { minor: *m }, minor > newest.minor)),
        None => Err(VersionError::TooOld { asked: asked.to_string(), oldest: KubeVersion { minor: VERSIONS[0].0 } }),
    }
}

/// One step of a path into an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// A place where an object breaks its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Where in the object: the field itself (an unknown field's own path).
    pub path: Vec<PathStep>,
    pub message: String,
    pub problem: Problem,
}

/// What is wrong at a violation's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The value (its type, its form).
    Value,
    /// The field is unknown: its name is the problem.
    UnknownField,
    /// The mapping at the path lacks a required field.
    MissingField,
}

/// `spec.containers[0].ports[0].containerPort`.
pub fn path_text(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Key(k) if k.is_empty() || k.contains(['.', '[', ']']) => out.push_str(&format!("[{k:?}]")),
            PathStep::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathStep::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// What a check found.
#[derive(Debug)]
pub enum Checked {
    /// The object fits its schema.
    Valid,
    /// Neither Kubernetes nor a CRD of the build defines the kind.
    Unknown,
    Invalid(Vec<Violation>),
}

/// A CRD whose schema cannot be used: its kind is not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCrd {
    pub crd: String,
    pub message: String,
}

/// The schemas of a build: a Kubernetes version's, read once for all its
/// environments, and the CRDs of the environment being checked.
pub struct Schemas {
    version: KubeVersion,
    registry: Registry<'static>,
    /// `(group, version, kind)` to the name of its definition.
    kinds: HashMap<(String, String, String), String>,
    /// Validators of built-in kinds made so far, by `(group, version, kind)`.
    validators: HashMap<(String, String, String), Validator>,
    /// Validators of the CRDs added since [`Schemas::forget_crds`].
    custom: HashMap<(String, String, String), Validator>,
}

impl Schemas {
    /// The schemas of one Kubernetes version, from the binary.
    pub fn new(version: KubeVersion) -> Schemas {
        let compressed = VERSIONS.iter().find(|(m, _)| *m == version.minor).map(|(_, b)| *b).unwrap_or_default();
        let mut text = Vec::new();
        // The shipped files are ours and tested: a failure here is a broken build of infra.
        flate2::read::GzDecoder::new(compressed).read_to_end(&mut text).expect("shipped schemas decompress");
        let definitions: Json = serde_json::from_slice(&text).expect("shipped schemas are JSON");
        let mut kinds = HashMap::new();
        if let Some(defs) = definitions.get("$defs").and_then(Json::as_object) {
            for (name, def) in defs {
                let gvks = def.get("x-kubernetes-group-version-kind").and_then(Json::as_array);
                // A definition of several kinds (DeleteOptions, WatchEvent) is no object's.
                if let Some([gvk]) = gvks.map(Vec::as_slice) {
                    let field = |k: &str| gvk.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
                    kinds.insert((field("group"), field("version"), field("kind")), name.clone());
                }
            }
        }
        let registry = Registry::new()
            .add(DEFINITIONS_URI, Resource::from_contents(definitions))
            .and_then(|r| r.prepare())
            .expect("shipped schemas register");
        Schemas { version, registry, kinds, validators: HashMap::new(), custom: HashMap::new() }
    }

    pub fn version(&self) -> KubeVersion {
        self.version
    }

    /// Drops the CRDs of the environment checked last: each environment
    /// is checked against its own.
    pub fn forget_crds(&mut self) {
        self.custom.clear();
    }

    /// Adds the kinds a CRD declares, one per version with a schema. A
    /// CRD the API server would refuse adds nothing: one of a built-in
    /// group (no dot) or kind, or a schema with a reference.
    pub fn add_crd(&mut self, crd: &Value) -> Result<(), BadCrd> {
        let name = crd.str_at(&["metadata", "name"]).unwrap_or_default();
        let bad = |message: String| BadCrd { crd: name.to_string(), message };
        let (Some(group), Some(kind)) = (crd.str_at(&["spec", "group"]), crd.str_at(&["spec", "names", "kind"])) else {
            return Err(bad("it has no `spec.group` or `spec.names.kind`".into()));
        };
        if !group.contains('.') || self.kinds.keys().any(|(g, _, k)| g == group && k == kind) {
            return Err(bad(format!("`{group}` `{kind}` is a built-in kind, which a CRD cannot define")));
        }
        for version in crd.get("spec").and_then(|s| s.get("versions")).and_then(Value::as_seq).unwrap_or_default() {
            let Some(v) = version.str_at(&["name"]) else { continue };
            let Some(schema) = version.get("schema").and_then(|s| s.get("openAPIV3Schema")) else { continue };
            let schema = to_json(schema);
            if let Some(key) = reference(&schema) {
                return Err(bad(format!("the schema of version `{v}` holds `{key}`, which a CRD may not")));
            }
            let schema = custom_resource_schema(&schema);
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&schema)
                .map_err(|e| bad(format!("the schema of version `{v}` is not valid: {e}")))?;
            self.custom.insert((group.to_string(), v.to_string(), kind.to_string()), validator);
        }
        Ok(())
    }

    /// Checks one object against its kind's schema.
    pub fn check(&mut self, object: &Value) -> Checked {
        let (Some(api_version), Some(kind)) = (object.str_at(&["apiVersion"]), object.str_at(&["kind"])) else {
            return Checked::Unknown;
        };
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let key = (group.to_string(), version.to_string(), kind.to_string());
        if !self.custom.contains_key(&key) && !self.validators.contains_key(&key) {
            let Some(definition) = self.kinds.get(&key) else { return Checked::Unknown };
            let schema = json!({ "$ref": format!("{DEFINITIONS_URI}#/$defs/{definition}") });
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .with_registry(&self.registry)
                .build(&schema)
                .expect("shipped schemas compile");
            self.validators.insert(key.clone(), validator);
        }
        let instance = to_json(object);
        // A CRD cannot claim a built-in kind (`add_crd`): at most one holds it.
        let validator = self.custom.get(&key).unwrap_or_else(|| &self.validators[&key]);
        let violations: Vec<Violation> =
            validator.iter_errors(&instance).flat_map(|e| violations(&instance, &e)).take(MAX_VIOLATIONS).collect();
        if violations.is_empty() { Checked::Valid } else { Checked::Invalid(violations) }
    }
}

/// A validation error as paths into the object and messages: one for
/// each unknown field, at the field.
fn violations(instance: &Json, e: &jsonschema::ValidationError<'_>) -> Vec<Violation> {
    use jsonschema::error::{TypeKind, ValidationErrorKind};
    let mut path = Vec::new();
    let mut at = instance;
    for segment in e.instance_path().iter() {
        // The pointer's segments are text; a digit key of a map stays a key.
        let text = match segment {
            jsonschema::paths::LocationSegment::Property(p) => p.to_string(),
            jsonschema::paths::LocationSegment::Index(i) => i.to_string(),
        };
        match at {
            Json::Array(items) => {
                let i = text.parse().unwrap_or(usize::MAX);
                path.push(PathStep::Index(i));
                at = items.get(i).unwrap_or(&Json::Null);
            }
            _ => {
                at = at.get(&text).unwrap_or(&Json::Null);
                path.push(PathStep::Key(text));
            }
        }
    }
    let one = |message: String, problem| vec![Violation { path: path.clone(), message, problem }];
    match e.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|field| {
                let mut path = path.clone();
                path.push(PathStep::Key(field.clone()));
                Violation { path, message: format!("unknown field `{field}`"), problem: Problem::UnknownField }
            })
            .collect(),
        ValidationErrorKind::Type { kind } => {
            let wanted: Vec<String> = match kind {
                TypeKind::Single(t) => vec![t.to_string()],
                TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
            };
            let wanted: Vec<String> = wanted.into_iter().filter(|t| t != "null").collect();
            one(format!("expected {}, found {}", wanted.join(" or "), described(e.instance())), Problem::Value)
        }
        ValidationErrorKind::Required { property } => {
            one(format!("missing required field `{}`", property.as_str().unwrap_or_default()), Problem::MissingField)
        }
        _ => one(e.to_string(), Problem::Value),
    }
}

/// A value as a message shows it: its JSON type, and short scalars.
fn described(v: &Json) -> String {
    let short = |text: String| if text.chars().count() > 40 { String::new() } else { format!(" {text}") };
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => format!("a boolean {b}"),
        Json::Number(n) => format!("a number{}", short(n.to_string())),
        Json::String(s) => format!("a string{}", short(format!("{s:?}"))),
        Json::Array(_) => "a list".into(),
        Json::Object(_) => "a mapping".into(),
    }
}

/// A CRD's structural schema as JSON Schema, read as the API server reads
/// it: `x-kubernetes-int-or-string` is an integer or a string,
/// `x-kubernetes-preserve-unknown-fields` keeps fields the schema does not
/// name (elsewhere they are unknown fields, which strict field validation
/// refuses), a null is a field left out, and `apiVersion`, `kind` and
/// `metadata` are the API server's at the root and in embedded resources.
/// A key of a schema that refers elsewhere or defines what may be
/// referred to (`$ref`, `definitions`): the API server refuses them in a
/// CRD, and a reference can make checking take exponential time.
fn reference(schema: &Json) -> Option<&'static str> {
    const REFERENCES: &[&str] =
        &["$ref", "$dynamicRef", "$recursiveRef", "$defs", "definitions", "$id", "$anchor", "$dynamicAnchor"];
    let fields = schema.as_object()?;
    if let Some(key) = REFERENCES.iter().find(|k| fields.contains_key(**k)) {
        return Some(key);
    }
    fields.iter().find_map(|(key, value)| match (key.as_str(), value) {
        ("properties" | "patternProperties", Json::Object(map)) => map.values().find_map(reference),
        ("items" | "additionalProperties" | "not", _) => reference(value),
        ("allOf" | "anyOf" | "oneOf", Json::Array(items)) => items.iter().find_map(reference),
        _ => None,
    })
}

fn custom_resource_schema(schema: &Json) -> Json {
    let mut root = structural(schema);
    allow_object_fields(&mut root);
    json!({ "$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": [root] })
}

fn allow_object_fields(schema: &mut Json) {
    if let Some(props) = schema.get_mut("properties").and_then(Json::as_object_mut) {
        for field in ["apiVersion", "kind", "metadata"] {
            props.insert(field.to_string(), Json::Bool(true));
        }
    }
}

fn structural(schema: &Json) -> Json {
    let Some(fields) = schema.as_object() else { return schema.clone() };
    let mut out = JsonMap::new();
    for (key, value) in fields {
        let converted = match key.as_str() {
            "properties" | "patternProperties" => match value.as_object() {
                Some(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), structural(v))).collect()),
                None => continue,
            },
            "items" | "additionalProperties" | "not" => structural(value),
            "allOf" | "anyOf" | "oneOf" => match value.as_array() {
                Some(items) => Json::Array(items.iter().map(structural).collect()),
                None => continue,
            },
            // What a structural schema may say and JSON Schema checks the
            // same way. The rest is dropped: Kubernetes' and OpenAPI's own
            // keys, and what a CRD may not hold (`$ref`, whose loops would
            // never end, `definitions`, `$id`).
            "type" | "required" | "enum" | "pattern" | "minimum" | "maximum" | "exclusiveMinimum"
            | "exclusiveMaximum" | "minLength" | "maxLength" | "minItems" | "maxItems" | "uniqueItems"
            | "multipleOf" | "minProperties" | "maxProperties" => value.clone(),
            _ => continue,
        };
        out.insert(key.clone(), converted);
    }
    let flag = |name: &str| fields.get(name).and_then(Json::as_bool).unwrap_or(false);
    if flag("x-kubernetes-int-or-string") {
        out.remove("type");
        out.insert("type".into(), json!(["integer", "string", "null"]));
    } else if let Some(t) = out.get("type").and_then(Json::as_str) {
        let t = t.to_string();
        out.insert("type".into(), json!([t, "null"]));
    }
    let preserves = flag("x-kubernetes-preserve-unknown-fields");
    if out.contains_key("properties") && !preserves && !out.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), Json::Bool(false));
    }
    let mut out = Json::Object(out);
    if flag("x-kubernetes-embedded-resource") {
        allow_object_fields(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(yaml: &str) -> Value {
        infra_syntax::yaml::parse_value(yaml).unwrap()
    }

    #[test]
    fn versions_are_the_newest_not_newer() {
        assert_eq!(version_for(None).unwrap().0.minor, VERSIONS.last().unwrap().0);
        assert_eq!(version_for(Some("v1.30.4")).unwrap(), (KubeVersion { minor: 30 }, false));
        assert!(version_for(Some("1.99")).unwrap().1);
        assert!(matches!(version_for(Some("1.2")), Err(VersionError::TooOld { .. })));
        assert!(matches!(version_for(Some("latest")), Err(VersionError::Malformed(_))));
    }

    #[test]
    fn a_wrong_type_and_an_unknown_field_are_found_at_their_paths() {
        let mut schemas = Schemas::new(version_for(Some("1.35")).unwrap().0);
        let deployment = object(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      envFrom: []\n      containers:\n      - name: web\n        image: nginx\n        ports: [{containerPort: eighty}]\n",
        );
        let Checked::Invalid(found) = schemas.check(&deployment) else { panic!("valid") };
        let paths: Vec<String> = found.iter().map(|v| path_text(&v.path)).collect();
        assert!(paths.contains(&"spec.template.spec.envFrom".to_string()), "{found:?}");
        assert!(paths.contains(&"spec.template.spec.containers[0].ports[0].containerPort".to_string()), "{found:?}");
        let fine = object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: b}\n");
        assert!(matches!(schemas.check(&fine), Checked::Valid));
        assert!(matches!(schemas.check(&object("apiVersion: x.io/v1\nkind: Y\n")), Checked::Unknown));
    }

    #[test]
    fn crd_schemas_are_read_as_the_api_server_reads_them() {
        let mut schemas = Schemas::new(version_for(None).unwrap().0);
        let crd = object(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.x.io}\nspec:\n  group: x.io\n  names: {kind: Widget}\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              port: {x-kubernetes-int-or-string: true}\n              size: {type: integer}\n              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}\n",
        );
        schemas.add_crd(&crd).unwrap();
        let good = object(
            "apiVersion: x.io/v1\nkind: Widget\nmetadata: {name: w, labels: {a: b}}\nspec: {port: http, size: 3, extra: {any: 1}}\n",
        );
        assert!(matches!(schemas.check(&good), Checked::Valid), "{:?}", schemas.check(&good));
        let bad = object("apiVersion: x.io/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: big, colour: red}\n");
        // A reference (which can make checking exponential) or a built-in
        // kind: the CRD is refused, and its kind stays unchecked.
        let crd_of = |group: &str, kind: &str, schema: &str| {
            object(&format!(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: c}}\nspec:\n  group: {group}\n  names: {{kind: {kind}}}\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema: {schema}\n"
            ))
        };
        let looping = "{type: object, properties: {x: {oneOf: [{$ref: '#'}, {$ref: '#'}]}}}";
        let refused = schemas.add_crd(&crd_of("x.io", "Loop", looping)).unwrap_err();
        assert!(refused.message.contains("holds `$ref`"), "{refused:?}");
        let instance = object("apiVersion: x.io/v1\nkind: Loop\nmetadata: {name: l}\nspec: {a: 1}\n");
        assert!(matches!(schemas.check(&instance), Checked::Unknown));
        let open = "{type: object, x-kubernetes-preserve-unknown-fields: true}";
        assert!(schemas.add_crd(&crd_of("apps", "Deployment", open)).is_err());
        assert!(schemas.add_crd(&crd_of("apps.io", "Deployment", open)).is_ok());
        let Checked::Invalid(found) = schemas.check(&bad) else { panic!("valid") };
        let paths: Vec<String> = found.iter().map(|v| path_text(&v.path)).collect();
        assert_eq!(paths, ["spec.size", "spec.colour"], "{found:?}");
        assert_eq!(found[0].message, "expected integer, found a string \"big\"");
        // The next environment is checked against its own CRDs only.
        schemas.forget_crds();
        assert!(matches!(schemas.check(&good), Checked::Unknown));
    }
}
