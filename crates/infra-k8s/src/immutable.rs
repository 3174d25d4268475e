//! Fields that cannot change in place, by the rows of
//! [`crate::registry`]: a change to one replaces the object (`-/+`). The
//! rules follow the Kubernetes API's validation (see docs/plan.md).

use crate::registry::{Immutable, KindRow, Rule};
use infra_syntax::Value;

/// Whether changing the field at `path` (`spec.selector.matchLabels.app`)
/// from `old` to `new` replaces an object of this kind; `object` is the
/// object before the change.
pub fn is_immutable(row: &KindRow, object: &Value, path: &str, old: Option<&Value>, new: Option<&Value>) -> bool {
    let under = |prefix: &str| {
        path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    match row.immutable {
        Immutable::Nothing => false,
        Immutable::Fields(fields) => fields.iter().any(|f| under(f)),
        Immutable::SpecBut(mutable) => under("spec") && !mutable.iter().any(|m| under(m)),
        Immutable::Rule(Rule::ClaimSpec) => {
            if path == "spec.resources.requests.storage" {
                // Volumes grow in place; they never shrink.
                let size = |v: Option<&Value>| v.and_then(crate::workloads::quantity);
                return !matches!((size(old), size(new)), (Some(a), Some(b)) if b >= a);
            }
            under("spec") && !under("spec.resources.limits") && !under("spec.volumeAttributesClassName")
        }
        Immutable::Rule(Rule::ServiceAddress) => {
            under("spec.clusterIP")
                || under("spec.clusterIPs")
                || (under("spec.type") && old.and_then(Value::as_str) == Some("ExternalName"))
        }
        Immutable::Rule(Rule::Data) => {
            object.get("immutable") == Some(&Value::Bool(true))
                && (under("data") || under("binaryData") || under("stringData"))
                || (row.kind == "Secret" && under("type"))
        }
        Immutable::Rule(Rule::PodSpec) => {
            under("spec")
                && !path.ends_with(".image")
                && !under("spec.activeDeadlineSeconds")
                && !under("spec.tolerations")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::row_of;

    #[test]
    fn immutable_fields_follow_the_rows() {
        let deployment = row_of("apps", "Deployment").unwrap();
        let v = Value::Null;
        assert!(is_immutable(deployment, &v, "spec.selector.matchLabels.app", None, None));
        assert!(!is_immutable(deployment, &v, "spec.selectors", None, None));
        assert!(!is_immutable(deployment, &v, "spec.replicas", None, None));
        let claim = row_of("", "PersistentVolumeClaim").unwrap();
        let (small, large) = (Value::from("1Gi"), Value::from("2Gi"));
        let storage = "spec.resources.requests.storage";
        assert!(!is_immutable(claim, &v, storage, Some(&small), Some(&large)));
        assert!(is_immutable(claim, &v, storage, Some(&large), Some(&small)));
    }
}
