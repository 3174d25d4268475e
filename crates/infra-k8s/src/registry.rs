//! One row per kind, keyed by API group and kind: its scope, where its
//! pods are, whether a new pod template rolls the pods, and which fields
//! cannot change in place. Every part of infra reads these rows through the
//! views below (scope, pod spec, rollout, immutable fields); a custom
//! resource's scope comes from its CRD in the build ([`BuildKinds`]). A
//! kind of another group with the same name (a Knative `Service`) is not
//! the core kind: lookups never go by the kind's name alone.

use infra_syntax::Value;
use std::collections::HashMap;

/// Whether a kind's objects live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// The fields of a kind that cannot change in place: a change to one
/// replaces the object (the Kubernetes API's validation rules, docs/plan.md).
#[derive(Debug, Clone, Copy)]
pub enum Immutable {
    /// Every field can change in place.
    Nothing,
    /// These fields, and what is below them.
    Fields(&'static [&'static str]),
    /// Everything under `spec` but these fields.
    SpecBut(&'static [&'static str]),
    /// A rule that reads the values: [`Rule`].
    Rule(Rule),
}

/// Immutability that depends on values, not only on the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A claim's spec, but its storage request may grow and its limits and
    /// volume attributes class change.
    ClaimSpec,
    /// A Service's cluster IPs, and its type when it was `ExternalName`.
    ServiceAddress,
    /// A ConfigMap's or Secret's data once `immutable: true` (and a
    /// Secret's `type`, always).
    Data,
    /// A Pod's spec, but its images, active deadline and tolerations.
    PodSpec,
}

/// What infra knows about one kind.
#[derive(Debug, Clone, Copy)]
pub struct KindRow {
    /// The API group (`""` for the core group).
    pub group: &'static str,
    pub kind: &'static str,
    pub scope: Scope,
    /// The path to its pod spec: a Pod's own, a workload's template's.
    pub pod_spec: Option<&'static [&'static str]>,
    /// A change of the pod template replaces the pods one by one.
    pub rolls_out: bool,
    pub immutable: Immutable,
}

const fn row(group: &'static str, kind: &'static str, scope: Scope) -> KindRow {
    KindRow { group, kind, scope, pod_spec: None, rolls_out: false, immutable: Immutable::Nothing }
}

const fn pods(mut r: KindRow, path: &'static [&'static str]) -> KindRow {
    r.pod_spec = Some(path);
    r
}

const fn rolling(mut r: KindRow) -> KindRow {
    r.rolls_out = true;
    r
}

const fn fixed(mut r: KindRow, immutable: Immutable) -> KindRow {
    r.immutable = immutable;
    r
}

use Scope::{Cluster, Namespaced};

const TEMPLATE: &[&str] = &["spec", "template", "spec"];

/// The kinds infra knows: Kubernetes' own and common custom resources.
pub const KINDS: &[KindRow] = &[
    fixed(pods(row("", "Pod", Namespaced), &["spec"]), Immutable::Rule(Rule::PodSpec)),
    pods(row("", "ReplicationController", Namespaced), TEMPLATE),
    fixed(row("", "Service", Namespaced), Immutable::Rule(Rule::ServiceAddress)),
    fixed(row("", "ConfigMap", Namespaced), Immutable::Rule(Rule::Data)),
    fixed(row("", "Secret", Namespaced), Immutable::Rule(Rule::Data)),
    fixed(row("", "PersistentVolumeClaim", Namespaced), Immutable::Rule(Rule::ClaimSpec)),
    fixed(
        row("", "PersistentVolume", Cluster),
        Immutable::SpecBut(&[
            "spec.capacity",
            "spec.claimRef",
            "spec.persistentVolumeReclaimPolicy",
            "spec.mountOptions",
            "spec.storageClassName",
            "spec.nodeAffinity",
        ]),
    ),
    row("", "ServiceAccount", Namespaced),
    row("", "Endpoints", Namespaced),
    row("", "LimitRange", Namespaced),
    row("", "ResourceQuota", Namespaced),
    row("", "Namespace", Cluster),
    row("", "Node", Cluster),
    row("", "ComponentStatus", Cluster),
    fixed(rolling(pods(row("apps", "Deployment", Namespaced), TEMPLATE)), Immutable::Fields(&["spec.selector"])),
    fixed(rolling(pods(row("apps", "DaemonSet", Namespaced), TEMPLATE)), Immutable::Fields(&["spec.selector"])),
    fixed(pods(row("apps", "ReplicaSet", Namespaced), TEMPLATE), Immutable::Fields(&["spec.selector"])),
    fixed(
        rolling(pods(row("apps", "StatefulSet", Namespaced), TEMPLATE)),
        Immutable::SpecBut(&[
            "spec.replicas",
            "spec.template",
            "spec.updateStrategy",
            "spec.persistentVolumeClaimRetentionPolicy",
            "spec.minReadySeconds",
            "spec.ordinals",
            "spec.revisionHistoryLimit",
        ]),
    ),
    row("apps", "ControllerRevision", Namespaced),
    // The `extensions` group, served until Kubernetes 1.16 and still in old
    // charts: its workloads' selectors were mutable.
    rolling(pods(row("extensions", "Deployment", Namespaced), TEMPLATE)),
    rolling(pods(row("extensions", "DaemonSet", Namespaced), TEMPLATE)),
    pods(row("extensions", "ReplicaSet", Namespaced), TEMPLATE),
    row("extensions", "Ingress", Namespaced),
    row("extensions", "NetworkPolicy", Namespaced),
    row("policy", "PodSecurityPolicy", Cluster),
    fixed(
        pods(row("batch", "Job", Namespaced), TEMPLATE),
        Immutable::Fields(&["spec.selector", "spec.template", "spec.completions", "spec.completionMode"]),
    ),
    pods(row("batch", "CronJob", Namespaced), &["spec", "jobTemplate", "spec", "template", "spec"]),
    row("autoscaling", "HorizontalPodAutoscaler", Namespaced),
    row("policy", "PodDisruptionBudget", Namespaced),
    row("networking.k8s.io", "Ingress", Namespaced),
    row("networking.k8s.io", "NetworkPolicy", Namespaced),
    row("networking.k8s.io", "IngressClass", Cluster),
    row("rbac.authorization.k8s.io", "Role", Namespaced),
    fixed(row("rbac.authorization.k8s.io", "RoleBinding", Namespaced), Immutable::Fields(&["roleRef"])),
    row("rbac.authorization.k8s.io", "ClusterRole", Cluster),
    fixed(row("rbac.authorization.k8s.io", "ClusterRoleBinding", Cluster), Immutable::Fields(&["roleRef"])),
    fixed(
        row("apiextensions.k8s.io", "CustomResourceDefinition", Cluster),
        Immutable::Fields(&["spec.scope", "spec.group", "spec.names.plural"]),
    ),
    row("apiregistration.k8s.io", "APIService", Cluster),
    row("admissionregistration.k8s.io", "MutatingWebhookConfiguration", Cluster),
    row("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", Cluster),
    row("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", Cluster),
    row("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", Cluster),
    row("storage.k8s.io", "StorageClass", Cluster),
    row("storage.k8s.io", "CSIDriver", Cluster),
    row("storage.k8s.io", "CSINode", Cluster),
    row("storage.k8s.io", "VolumeAttachment", Cluster),
    row("scheduling.k8s.io", "PriorityClass", Cluster),
    row("node.k8s.io", "RuntimeClass", Cluster),
    row("certificates.k8s.io", "CertificateSigningRequest", Cluster),
    row("coordination.k8s.io", "Lease", Namespaced),
    row("flowcontrol.apiserver.k8s.io", "FlowSchema", Cluster),
    row("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", Cluster),
    // Custom resources common enough that a project may use them without
    // their CRD in the build.
    row("cert-manager.io", "ClusterIssuer", Cluster),
    row("monitoring.coreos.com", "Alertmanager", Namespaced),
    row("monitoring.coreos.com", "Prometheus", Namespaced),
    row("monitoring.coreos.com", "PrometheusRule", Namespaced),
    row("monitoring.coreos.com", "ServiceMonitor", Namespaced),
    row("monitoring.coreos.com", "PodMonitor", Namespaced),
    row("grafana.integreatly.org", "GrafanaDashboard", Namespaced),
];

/// The API group of an `apiVersion` (`""` for the core group).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The row of a kind, by group and kind.
pub fn row_of(group: &str, kind: &str) -> Option<&'static KindRow> {
    KINDS.iter().find(|r| r.kind == kind && r.group == group)
}

/// The row of an object's kind.
pub fn row_of_object(object: &Value) -> Option<&'static KindRow> {
    let group = group_of(object.str_at(&["apiVersion"]).unwrap_or_default());
    row_of(group, object.str_at(&["kind"])?)
}

/// The kinds of one build: the rows, and the scope of each custom kind a
/// CRD of the build declares, read once.
#[derive(Debug, Default)]
pub struct BuildKinds {
    custom: HashMap<(String, String), Scope>,
}

impl BuildKinds {
    pub fn of<'v>(objects: impl IntoIterator<Item = &'v Value>) -> BuildKinds {
        let mut custom = HashMap::new();
        for o in objects {
            if o.str_at(&["kind"]) != Some("CustomResourceDefinition") {
                continue;
            }
            let scope = match o.str_at(&["spec", "scope"]) {
                Some("Cluster") => Cluster,
                Some("Namespaced") => Namespaced,
                _ => continue,
            };
            if let (Some(group), Some(kind)) = (o.str_at(&["spec", "group"]), o.str_at(&["spec", "names", "kind"])) {
                custom.insert((group.to_string(), kind.to_string()), scope);
            }
        }
        BuildKinds { custom }
    }

    /// A kind's scope, when infra or a CRD of the build knows it.
    pub fn scope(&self, group: &str, kind: &str) -> Option<Scope> {
        row_of(group, kind)
            .map(|r| r.scope)
            .or_else(|| self.custom.get(&(group.to_string(), kind.to_string())).copied())
    }

    /// An object's scope, when known.
    pub fn scope_of(&self, object: &Value) -> Option<Scope> {
        let group = group_of(object.str_at(&["apiVersion"]).unwrap_or_default());
        self.scope(group, object.str_at(&["kind"]).unwrap_or_default())
    }

    /// Whether an object's kind is known to have no namespace.
    pub fn is_cluster_scoped(&self, object: &Value) -> bool {
        self.scope_of(object) == Some(Cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_group_and_kind() {
        for (i, a) in KINDS.iter().enumerate() {
            assert!(
                KINDS[i + 1..].iter().all(|b| (a.group, a.kind) != (b.group, b.kind)),
                "{}/{} twice",
                a.group,
                a.kind
            );
        }
    }

    /// The views agree: every kind with pods has a pod template where a
    /// rollout needs one, a template's labels reach its pods (labels.rs
    /// derives them from these rows), and every kind with a pod spec is
    /// namespaced.
    #[test]
    fn the_views_agree() {
        for r in KINDS {
            if r.rolls_out {
                assert!(crate::workloads::pod_template_path(r.group, r.kind).is_some(), "{}", r.kind);
            }
            if let Some(spec) = r.pod_spec {
                assert_eq!(r.scope, Namespaced, "{}", r.kind);
                assert_eq!(spec.last(), Some(&"spec"), "{}", r.kind);
            }
        }
        // The old disagreement: a ReplicationController has pods.
        assert!(row_of("", "ReplicationController").and_then(|r| r.pod_spec).is_some());
    }

    #[test]
    fn a_kind_of_another_group_is_not_the_core_kind() {
        assert!(row_of("serving.knative.dev", "Service").is_none());
        let crd = infra_syntax::yaml::parse_value(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec: {group: serving.knative.dev, scope: Namespaced, names: {kind: Service}}\n",
        )
        .unwrap();
        let kinds = BuildKinds::of([&crd]);
        assert_eq!(kinds.scope("serving.knative.dev", "Service"), Some(Namespaced));
        assert_eq!(kinds.scope("", "Namespace"), Some(Cluster));
        assert_eq!(kinds.scope("example.com", "Namespace"), None);
    }
}
