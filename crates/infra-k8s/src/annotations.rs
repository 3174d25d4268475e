//! The annotation keys infra writes, and the labels and annotations of
//! other tools that infra writes or reads.

/// Every annotation infra writes starts with this; none of them ever
/// counts as a change in `plan` or `diff`.
pub const PREFIX: &str = "infra.dev/";
/// The sha256 of an object's canonical content.
pub const HASH: &str = "infra.dev/hash";
/// On a pod template: a digest of the ConfigMaps and Secrets it uses.
pub const CONFIG_HASH: &str = "infra.dev/config-hash";
/// `"false"` on a PVC marked `protect: false`: its deletion is intended.
pub const PROTECT: &str = "infra.dev/protect";
/// `"true"` on a workload marked `ephemeral: true`: losing its state is intended.
pub const EPHEMERAL: &str = "infra.dev/ephemeral";
/// `"true"` on a Secret marked `plain_secret: true`: its values may be in
/// git and in the output (test data, public values).
pub const PLAIN_SECRET: &str = "infra.dev/plain-secret";
/// On a workload: the paths where it keeps state, comma-separated
/// (`/srv/db`, or `container:/path`), for software no table knows.
pub const STATE: &str = "infra.dev/state";

/// The label the Grafana sidecar of kube-prometheus-stack and of the
/// Grafana chart watches for dashboard ConfigMaps.
pub const GRAFANA_DASHBOARD_LABEL: &str = "grafana_dashboard";
/// The annotation that names a sidecar dashboard's Grafana folder.
pub const GRAFANA_FOLDER_ANNOTATION: &str = "grafana_folder";
/// The API version of grafana-operator's `GrafanaDashboard`.
pub const GRAFANA_OPERATOR_API_VERSION: &str = "grafana.integreatly.org/v1beta1";
/// `kubectl apply`'s copy of the last applied object: never part of a project.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Helm's hook annotation: the events (`pre-install,post-upgrade`, `test`)
/// at which Helm runs the object instead of keeping it.
pub const HELM_HOOK: &str = "helm.sh/hook";
/// The order of a hook among hooks of the same event (an integer as a
/// string; lower first, default 0).
pub const HELM_HOOK_WEIGHT: &str = "helm.sh/hook-weight";
/// Helm's `keep`: the object stays when a release no longer has it.
pub const HELM_RESOURCE_POLICY: &str = "helm.sh/resource-policy";

/// Whether a Helm hook annotation names only test events: a pod that
/// `helm test` runs, never part of a release.
pub fn is_helm_test(hook: &str) -> bool {
    hook.split(',').map(str::trim).all(|e| matches!(e, "test" | "test-success" | "test-failure"))
}
