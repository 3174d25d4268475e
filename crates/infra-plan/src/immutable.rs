//! Fields that cannot change in place: a change to one replaces the object
//! (`-/+`). The table follows the Kubernetes API's validation rules (see
//! docs/plan.md).

use crate::changes::FieldChange;
use infra_k8s::workloads;
use infra_syntax::Value;

/// Whether a change to this field cannot be applied in place. The table
/// follows the Kubernetes API's validation rules (see docs/plan.md).
pub fn is_immutable(kind: &str, old: &Value, f: &FieldChange) -> bool {
    let p = f.path.as_str();
    let under =
        |prefix: &str| p == prefix || p.starts_with(&format!("{prefix}.")) || p.starts_with(&format!("{prefix}["));
    match kind {
        "PersistentVolumeClaim" => {
            if p == "spec.resources.requests.storage" {
                // Volumes grow in place; they never shrink.
                return !matches!((f.old.as_ref().and_then(workloads::quantity), f.new.as_ref().and_then(workloads::quantity)), (Some(a), Some(b)) if b >= a);
            }
            under("spec") && !under("spec.resources.limits") && !under("spec.volumeAttributesClassName")
        }
        "PersistentVolume" => {
            under("spec")
                && ![
                    "spec.capacity",
                    "spec.claimRef",
                    "spec.persistentVolumeReclaimPolicy",
                    "spec.mountOptions",
                    "spec.storageClassName",
                    "spec.nodeAffinity",
                ]
                .iter()
                .any(|m| under(m))
        }
        "StatefulSet" => {
            under("spec")
                && ![
                    "spec.replicas",
                    "spec.template",
                    "spec.updateStrategy",
                    "spec.persistentVolumeClaimRetentionPolicy",
                    "spec.minReadySeconds",
                    "spec.ordinals",
                    "spec.revisionHistoryLimit",
                ]
                .iter()
                .any(|m| under(m))
        }
        "Deployment" | "ReplicaSet" | "DaemonSet" => under("spec.selector"),
        "Job" => {
            under("spec.selector")
                || under("spec.template")
                || under("spec.completions")
                || under("spec.completionMode")
        }
        "Service" => {
            under("spec.clusterIP")
                || under("spec.clusterIPs")
                || (under("spec.type") && f.old.as_ref().and_then(Value::as_str) == Some("ExternalName"))
        }
        "ConfigMap" | "Secret" => {
            old.get("immutable") == Some(&Value::Bool(true))
                && (under("data") || under("binaryData") || under("stringData"))
                || (kind == "Secret" && under("type"))
        }
        "RoleBinding" | "ClusterRoleBinding" => under("roleRef"),
        "CustomResourceDefinition" => under("spec.scope") || under("spec.group") || under("spec.names.plural"),
        "Pod" => {
            under("spec")
                && !p.ends_with(".image")
                && !under("spec.activeDeadlineSeconds")
                && !under("spec.tolerations")
        }
        "PodDisruptionBudget" | "Ingress" => false,
        _ => false,
    }
}
