//! What infra knows about Kubernetes kinds: which are cluster-scoped, where
//! workloads keep their pod template, and how an object is identified.

use infra_syntax::Value;
use std::fmt;

/// Built-in and common cluster-scoped kinds. Custom resources whose CRD the
/// project defines with `scope: Cluster` are added per build.
pub const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterIssuer",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// The API group of an `apiVersion` (`""` for the core group).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The key path to each pod template of a workload kind, or `None`.
pub fn pod_template_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => Some(&["spec", "template"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }
}

/// The pod spec of a workload (or of a Pod itself).
pub fn pod_spec(object: &Value) -> Option<&Value> {
    let kind = object.get("kind")?.as_str()?;
    if kind == "Pod" {
        return object.get("spec");
    }
    object.pointer(pod_template_path(kind)?)?.get("spec")
}

/// The identity of an object in the graph: `group/kind/namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectId {
    pub fn of(object: &Value) -> ObjectId {
        let s = |keys: &[&str]| object.str_at(keys).unwrap_or_default().to_string();
        ObjectId {
            group: group_of(object.str_at(&["apiVersion"]).unwrap_or_default()).to_string(),
            kind: s(&["kind"]),
            namespace: s(&["metadata", "namespace"]),
            name: s(&["metadata", "name"]),
        }
    }

    /// `Kind/name` or `Kind/namespace/name`, as users write references.
    pub fn short(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}/{}", self.group, self.kind, self.namespace, self.name)
    }
}
