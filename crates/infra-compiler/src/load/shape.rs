//! The JSON Schema of `infra.yaml` and environment files, for editors
//! (yaml-language-server). `schema/infra.schema.json` is generated from
//! this and a test keeps the committed file fresh.

use serde_json::{Value, json};

/// The schema: the project file at the root; `$defs/environment` for
/// environment files, `$defs/directives` for a resource's `infra:` block.
pub fn infra_schema() -> Value {
    let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let common = json!({
        "type": "object",
        "description": "Applied to every object after patches.",
        "additionalProperties": false,
        "properties": {
            "namespace": {"type": "string", "description": "Namespace for namespaced objects that name none."},
            "labels": {"description": "Metadata labels (selectors are never touched).", "$ref": "#/$defs/stringMap"},
            "annotations": {"$ref": "#/$defs/stringMap"}
        }
    });
    let patch = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "target": {
                "type": "object",
                "description": "Objects the patch applies to; omitted fields match any. A patch matching nothing is an error.",
                "additionalProperties": false,
                "properties": {
                    "kind": {"type": "string"},
                    "name": {"type": "string"},
                    "namespace": {"type": "string"},
                    "labels": {"$ref": "#/$defs/stringMap"}
                }
            },
            "merge": {
                "type": "object",
                "description": "Merge patch: maps merge, null deletes, lists of objects with `name` merge by name, `$patch: delete` removes an item."
            },
            "ops": {
                "type": "array",
                "description": "RFC 6902 operations.",
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
            }
        },
        "oneOf": [{"required": ["merge"]}, {"required": ["ops"]}]
    });
    let environment = json!({
        "type": "object",
        "description": "An environment: parameter values, patches and common settings.",
        "additionalProperties": false,
        "properties": {
            "params": {"type": "object", "description": "Values for parameters that exist in the defaults, of the same type; may be expressions over the defaults."},
            "patches": {"type": "array", "items": {"$ref": "#/$defs/patch"}},
            "common": {"$ref": "#/$defs/common"}
        }
    });
    let schema_rule = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "pattern": {"type": "string", "format": "regex"},
            "enum": {"type": "array"},
            "min": {"type": "number"},
            "max": {"type": "number"},
            "required": {"type": "boolean"},
            "required_when": {"type": "string", "description": "Dotted path of a bool parameter."},
            "doc": {"type": "string"}
        }
    });
    let directives = json!({
        "type": "object",
        "description": "The `infra:` block of a resource document; removed from the output.",
        "additionalProperties": false,
        "properties": {
            "when": {"description": "Include only if true (per item inside for_each).", "type": ["boolean", "string"]},
            "for_each": {"description": "Repeat for each item of a list or map (`item`, `key`).", "type": ["array", "object", "string"]},
            "depends_on": {"type": "array", "items": {"type": "string", "pattern": "^[^/]+/([^/]+/)?[^/]+$"}},
            "hash": {"enum": ["suffix", "none"]},
            "protect": {"type": ["boolean", "string"]},
            "external": {"type": ["boolean", "string"]},
            "ephemeral": {"description": "The workload's state may be lost: no storage warning.", "type": ["boolean", "string"]}
        }
    });
    let name = json!({"type": "string", "pattern": "^[a-z0-9-]+$"});
    let dashboards = json!({
        "type": "object",
        "description": "Grafana dashboard JSON files, provisioned as sidecar ConfigMaps or GrafanaDashboards.",
        "required": ["files"],
        "additionalProperties": false,
        "properties": {
            "files": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "folder": {"type": "string"},
            "namespace": {"type": "string"},
            "target": {"enum": ["sidecar", "operator"]},
            "datasource": {"type": "string", "description": "UID that replaces the `${DS_X}` inputs of exported dashboards."},
            "labels": {"$ref": "#/$defs/stringMap"},
            "annotations": {"$ref": "#/$defs/stringMap"},
            "label": {"type": "string", "description": "The sidecar's label (default grafana_dashboard)."},
            "label_value": {"type": "string", "description": "The sidecar's label value (default \"1\")."},
            "folder_annotation": {"type": "string", "description": "The sidecar's folderAnnotation (default grafana_folder)."},
            "instance_selector": {"type": "object", "description": "grafana-operator instanceSelector."},
            "name": {"type": "string", "description": "Object name, for an entry of one file."},
            "key": {"type": "string", "description": "Data key, for an entry of one file."}
        }
    });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://infra.dev/schema/infra.schema.json",
        "title": "infra project (infra.yaml)",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "name": name,
            "params": {"type": "object", "description": "Parameter defaults; their types are inferred from them."},
            "schema": {"type": "object", "description": "Constraints by dotted parameter path.", "additionalProperties": schema_rule},
            "resources": {"type": "array", "items": {"type": "string"}, "description": "Files or globs of manifests, relative to this file."},
            "modules": {
                "type": "object",
                "propertyNames": name,
                "additionalProperties": {
                    "type": "object",
                    "required": ["source"],
                    "additionalProperties": false,
                    "properties": {"source": {"type": "string"}, "params": {"type": "object"}}
                }
            },
            "dashboards": {"type": "array", "items": {"$ref": "#/$defs/dashboards"}},
            "common": {"$ref": "#/$defs/common"},
            "hashing": {"enum": ["suffix", "none"], "description": "`suffix`: every ConfigMap and Secret name gets a content hash."},
            "environments": {
                "type": "object",
                "propertyNames": name,
                "additionalProperties": {"oneOf": [{"type": "string", "description": "Path of an environment file."}, {"$ref": "#/$defs/environment"}]}
            }
        },
        "required": ["name"],
        "$defs": {
            "stringMap": string_map,
            "common": common,
            "patch": patch,
            "environment": environment,
            "directives": directives,
            "dashboards": dashboards
        }
    })
}

/// The schema as committed: pretty JSON with a final newline.
pub fn infra_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&infra_schema()).expect("a JSON value serializes");
    text.push('\n');
    text
}
