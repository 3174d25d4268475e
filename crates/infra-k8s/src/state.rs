//! Where state lives. For every object that runs servers (not a Job, a
//! CronJob, a run-to-completion Pod or a Helm test), each running container
//! (not an init container) has data paths — declared by the user
//! (`infra.dev/state`), set by its configuration (an environment variable
//! or flag of [`crate::software`]), the image's own default, or simply a
//! PersistentVolumeClaim mounted there — and each path is backed by a
//! [`Store`]: a named claim, a StatefulSet's claims, the node, or something
//! that dies with the pod. `plan` compares these between two versions of a
//! workload; the build warns about known data on pod storage.

use crate::annotations;
use crate::software::{self, Ephemeral, Software};
use crate::workloads::{claim_templates, pod_spec};
use infra_syntax::{Value, article};

/// What backs a data path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// A PersistentVolumeClaim, by name.
    Claim(String),
    /// The claims a StatefulSet's claim template makes:
    /// `<template>-<set>-<ordinal>`.
    Claims { template: String, set: String },
    /// A folder of the node (`hostPath`, `local`): it outlives the pod on
    /// that node.
    Host(String),
    /// A volume that lives and dies with the pod: `emptyDir`, or a source
    /// that is not storage at all (`configMap`, `secret`, ...).
    Pod { volume: String, source: String },
    /// A mount of a volume the pod does not define.
    Undefined(String),
    /// No volume: the container's own filesystem.
    Container,
}

impl Store {
    /// Whether data written there outlives the pod.
    pub fn persistent(&self) -> bool {
        matches!(self, Store::Claim(_) | Store::Claims { .. } | Store::Host(_))
    }

    /// Whether two stores hold the same data: the same claim, the same
    /// claims of a template (a claim named like a StatefulSet's first
    /// claim is that claim), the same host folder.
    pub fn same_data(&self, other: &Store) -> bool {
        match (self, other) {
            (Store::Claim(a), Store::Claims { template, set }) | (Store::Claims { template, set }, Store::Claim(a)) => {
                *a == format!("{template}-{set}-0")
            }
            (a, b) => a.persistent() && a == b,
        }
    }

    /// Whether [`Store::describe`] names several things.
    pub fn plural(&self) -> bool {
        matches!(self, Store::Claims { .. })
    }

    /// In words: "PVC `data`", "the claims `data-db-N`", "an emptyDir volume `tmp`".
    pub fn describe(&self) -> String {
        match self {
            Store::Claim(c) => format!("PVC `{c}`"),
            Store::Claims { template, set } => format!("the claims {template}-{set}-0, {template}-{set}-1, ..."),
            Store::Host(p) => format!("the node's folder {p}"),
            Store::Pod { volume, source } => format!("{} volume `{volume}`", article(source)),
            Store::Undefined(v) => format!("volume `{v}`, which the pod does not define"),
            Store::Container => "the container's own filesystem (no volume is mounted there)".into(),
        }
    }
}

/// How a path is known to hold data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// The workload declares it (`infra.dev/state`).
    Declared,
    /// An environment variable or flag of the container sets it.
    Configured { software: &'static str, by: String },
    /// The image's default data directory.
    Image { software: &'static str },
    /// A PersistentVolumeClaim is mounted there: whatever the image, what
    /// it writes there is meant to last.
    Claim,
}

/// One data path of one container, and what backs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub container: String,
    pub image: String,
    pub path: String,
    pub known: Known,
    pub store: Store,
    /// Where in the store the path is: the mount's `subPath` and the rest
    /// of the path below the mount.
    pub within: String,
    /// A default directory of the image that is not mounted, while a claim
    /// is mounted elsewhere: the data may well be there.
    pub guessed: bool,
}

impl Location {
    /// The software that keeps data here, when known.
    pub fn software(&self) -> Option<&'static Software> {
        let name = match &self.known {
            Known::Configured { software, .. } | Known::Image { software } => software,
            _ => return None,
        };
        software::SOFTWARE.iter().find(|s| s.name == *name)
    }

    /// "Grafana's data (/var/lib/grafana)", "/data".
    pub fn what(&self) -> String {
        match self.software() {
            Some(s) => format!("{}'s data ({})", s.name, self.path),
            None => self.path.clone(),
        }
    }
}

/// Marked `ephemeral: true` (written as `infra.dev/ephemeral: "true"`):
/// losing the workload's state is intended.
pub fn marked_ephemeral(object: &Value) -> bool {
    object.str_at(&["metadata", "annotations", annotations::EPHEMERAL]) == Some("true")
}

/// Whether an object runs servers, which keep state: not a Job or CronJob
/// (a `pg_dump` job is a client), not a Pod that runs to completion, not a
/// Helm test.
pub fn runs_servers(object: &Value) -> bool {
    let kind = object.str_at(&["kind"]).unwrap_or_default();
    if matches!(kind, "Job" | "CronJob") || pod_spec(object).is_none() {
        return false;
    }
    if object.str_at(&["metadata", "annotations", annotations::HELM_HOOK]).is_some_and(annotations::is_helm_test) {
        return false;
    }
    !(kind == "Pod" && matches!(object.str_at(&["spec", "restartPolicy"]), Some("Never" | "OnFailure")))
}

/// The paths a workload declares as state (`infra.dev/state`: paths,
/// comma-separated; `container:/path` for one container, else the first).
fn declared(object: &Value) -> Vec<(Option<&str>, String)> {
    object
        .str_at(&["metadata", "annotations", annotations::STATE])
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once(":/") {
            Some((c, rest)) => (Some(c), format!("/{rest}")),
            None => (None, p.to_string()),
        })
        .collect()
}

/// What backs volume `name` of a workload.
fn volume_store(object: &Value, spec: &Value, name: &str) -> Store {
    if claim_templates(object).contains(&name) {
        let set = object.str_at(&["metadata", "name"]).unwrap_or_default();
        return Store::Claims { template: name.into(), set: set.into() };
    }
    let volumes = spec.get("volumes").and_then(Value::as_seq).unwrap_or_default();
    let Some(v) = volumes.iter().find(|v| v.str_at(&["name"]) == Some(name)) else {
        return Store::Undefined(name.into());
    };
    if let Some(claim) = v.str_at(&["persistentVolumeClaim", "claimName"]) {
        return Store::Claim(claim.into());
    }
    if let Some(path) = v.str_at(&["hostPath", "path"]) {
        return Store::Host(path.into());
    }
    let source = v.as_map().and_then(|m| m.keys().find(|k| *k != "name")).map_or("unknown", |k| k.as_str());
    Store::Pod { volume: name.into(), source: source.into() }
}

/// `/a/b/` → `/a/b`; `/` stays.
fn clean(path: &str) -> &str {
    let t = path.trim_end_matches('/');
    if t.is_empty() { "/" } else { t }
}

/// What backs `path` in `container`: the deepest mount that covers it, and
/// where in that store the path is.
fn resolve(object: &Value, spec: &Value, container: &Value, path: &str) -> (Store, String) {
    let path = clean(path);
    let mounts = container.get("volumeMounts").and_then(Value::as_seq).unwrap_or_default();
    let covering = mounts
        .iter()
        .filter_map(|m| Some((clean(m.str_at(&["mountPath"])?), m.str_at(&["name"])?, m)))
        .filter(|(at, _, _)| path == *at || *at == "/" || path.starts_with(&format!("{at}/")))
        .max_by_key(|(at, _, _)| at.len());
    match covering {
        Some((at, name, m)) => {
            let sub = m.str_at(&["subPath"]).or_else(|| m.str_at(&["subPathExpr"])).unwrap_or_default();
            let rest = path.strip_prefix(at).unwrap_or_default().trim_start_matches('/');
            let within =
                [sub.trim_matches('/'), rest].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("/");
            (volume_store(object, spec, name), within)
        }
        None => (Store::Container, path.trim_start_matches('/').to_string()),
    }
}

/// What backs `path` in the running container `container` of a workload
/// (`None`: no such container).
pub fn store_at(object: &Value, container: &str, path: &str) -> Option<Store> {
    let spec = pod_spec(object)?;
    let c = spec.get("containers")?.as_seq()?.iter().find(|c| c.str_at(&["name"]) == Some(container))?;
    Some(resolve(object, spec, c, path).0)
}

/// `$(VAR)` references of an environment value, expanded from the
/// container's other literal values as Kubernetes does.
fn expand(value: &str, env: &[&Value]) -> String {
    let mut out = value.to_string();
    for e in env {
        if let (Some(name), Some(v)) = (e.str_at(&["name"]), e.str_at(&["value"])) {
            out = out.replace(&format!("$({name})"), v);
        }
    }
    out
}

/// The data directories a container's configuration sets for `software`:
/// (directory, what set it).
fn configured(software: &Software, container: &Value) -> Vec<(String, String)> {
    let env: Vec<&Value> = container.get("env").and_then(Value::as_seq).unwrap_or_default().iter().collect();
    let mut out = Vec::new();
    for name in software.env {
        if let Some(v) = env.iter().find(|e| e.str_at(&["name"]) == Some(name)).and_then(|e| e.str_at(&["value"])) {
            // A list of folders (`log.dirs`): each one.
            for dir in expand(v, &env).split(',').map(str::trim).filter(|d| d.starts_with('/')) {
                out.push((dir.to_string(), format!("{name}={v}")));
            }
        }
    }
    // Flags in `command` and `args`, as items or inside a shell line.
    let words: Vec<String> = ["command", "args"]
        .iter()
        .flat_map(|k| container.get(k).and_then(Value::as_seq).unwrap_or_default())
        .filter_map(Value::as_str)
        .flat_map(|s| s.split_whitespace().map(|w| expand(w.trim_matches(['"', '\'']), &env)).collect::<Vec<_>>())
        .collect();
    for (i, w) in words.iter().enumerate() {
        for flag in software.flags {
            let value = match w.strip_prefix(flag) {
                Some(rest) if rest.starts_with('=') => Some(rest[1..].to_string()),
                Some("") => words.get(i + 1).cloned(),
                _ => None,
            };
            if let Some(dir) = value.filter(|d| d.starts_with('/')) {
                out.push((dir.clone(), format!("{flag}={dir}")));
            }
        }
        if software.after == Some(w.as_str())
            && let Some(dir) = words[i + 1..].iter().find(|d| !d.starts_with('-')).filter(|d| d.starts_with('/'))
        {
            out.push((dir.clone(), format!("{w} {dir}")));
        }
    }
    out
}

/// Every data path of every running container of an object that runs
/// servers (see the module's documentation), with what backs each.
pub fn locations(object: &Value) -> Vec<Location> {
    if !runs_servers(object) {
        return Vec::new();
    }
    let Some(spec) = pod_spec(object) else { return Vec::new() };
    let declared = declared(object);
    let containers = spec.get("containers").and_then(Value::as_seq).unwrap_or_default();
    let mut out = Vec::new();
    for (n, c) in containers.iter().enumerate() {
        let name = c.str_at(&["name"]).unwrap_or_default();
        let image = c.str_at(&["image"]).unwrap_or_default();
        let at = |path: &str, known: Known, guessed: bool| {
            let (store, within) = resolve(object, spec, c, path);
            Location {
                container: name.into(),
                image: image.into(),
                path: clean(path).into(),
                known,
                store,
                within,
                guessed,
            }
        };
        let mut found: Vec<Location> = declared
            .iter()
            .filter(|(only, _)| only.map_or(n == 0, |o| o == name))
            .map(|(_, p)| at(p, Known::Declared, false))
            .collect();
        let env = c.get("env").and_then(Value::as_seq).unwrap_or_default();
        let keeps_data = |s: &Software| {
            !s.no_data_when
                .iter()
                .any(|(k, v)| env.iter().any(|e| e.str_at(&["name"]) == Some(k) && e.str_at(&["value"]) == Some(v)))
        };
        if found.is_empty()
            && let Some((software, bitnami)) = software::software_of(image).filter(|(s, _)| keeps_data(s))
        {
            let mut set = configured(software, c);
            // Folders inside another of the same list are the same data
            // (`POSTGRESQL_VOLUME_DIR` and the `PGDATA` inside it): the
            // deepest says most.
            let all: Vec<String> = set.iter().map(|(d, _)| clean(d).to_string()).collect();
            set.retain(|(d, _)| !all.iter().any(|o| o.starts_with(&format!("{}/", clean(d)))));
            if set.is_empty() {
                let dirs = if bitnami && !software.bitnami_dirs.is_empty() {
                    software.bitnami_dirs
                } else {
                    software.data_dirs
                };
                let located: Vec<Location> =
                    dirs.iter().map(|d| at(d, Known::Image { software: software.name }, false)).collect();
                // The first default directory that a volume covers; with
                // none mounted, the first — a guess when a claim is
                // mounted elsewhere.
                let claim_elsewhere = c
                    .get("volumeMounts")
                    .and_then(Value::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|m| m.str_at(&["name"]))
                    .any(|v| volume_store(object, spec, v).persistent());
                let mut chosen = located.iter().find(|l| l.store != Store::Container).unwrap_or(&located[0]).clone();
                chosen.guessed = chosen.store == Store::Container && claim_elsewhere;
                found.push(chosen);
            } else {
                for (dir, by) in set {
                    found.push(at(&dir, Known::Configured { software: software.name, by }, false));
                }
            }
        }
        // Claims mounted where no known data path is: state, whatever the image.
        for m in c.get("volumeMounts").and_then(Value::as_seq).unwrap_or_default() {
            let (Some(path), Some(volume)) = (m.str_at(&["mountPath"]), m.str_at(&["name"])) else { continue };
            let store = volume_store(object, spec, volume);
            if !matches!(store, Store::Claim(_) | Store::Claims { .. }) {
                continue;
            }
            let covered = found.iter().any(|l| l.store == store);
            if !covered {
                found.push(at(path, Known::Claim, false));
            }
        }
        out.extend(found);
    }
    out
}

/// Known data on storage that dies with the pod: what the build warns
/// about and what a rollout loses. Guesses and claims are left out.
pub fn at_risk(object: &Value) -> Vec<Location> {
    if marked_ephemeral(object) {
        return Vec::new();
    }
    locations(object).into_iter().filter(|l| !l.store.persistent() && !l.guessed && l.known != Known::Claim).collect()
}

/// Whether a data-bearing custom resource keeps its data on storage that
/// dies with its pods: the reason, in words.
pub fn resource_ephemeral(object: &Value, row: &software::DataResource) -> Option<String> {
    for spec in row.storage {
        let found = values_at(object, spec.path);
        let shown = spec.path.join(".").replace(".*", "[*]");
        let ephemeral = match spec.ephemeral {
            Ephemeral::AbsentOrEmptyDir => {
                found.is_empty() || found.iter().any(|v| v.get("emptyDir").is_some() || v.get("ephemeral").is_some())
            }
            Ephemeral::TypeEphemeral => found.iter().any(|v| v.str_at(&["type"]) == Some("ephemeral")),
            Ephemeral::AbsentOrZero(key) => {
                found.is_empty() || found.iter().any(|v| v.get(key).and_then(crate::workloads::quantity) == Some(0.0))
            }
            Ephemeral::EmptyDirVolume(volume) => found.iter().any(|list| {
                list.as_seq()
                    .unwrap_or_default()
                    .iter()
                    .any(|v| v.str_at(&["name"]) == Some(volume) && v.get("emptyDir").is_some())
            }),
        };
        if ephemeral {
            return Some(match spec.ephemeral {
                Ephemeral::EmptyDirVolume(volume) => format!("its `{volume}` volume is an emptyDir ({shown})"),
                _ if found.is_empty() => {
                    format!("it declares no storage ({shown}), so its pods keep data on emptyDir volumes")
                }
                _ => format!("its storage ({shown}) is ephemeral"),
            });
        }
    }
    None
}

/// The values at a path; `*` steps into every item of a list.
fn values_at<'v>(object: &'v Value, path: &[&str]) -> Vec<&'v Value> {
    let mut current = vec![object];
    for step in path {
        current = current
            .into_iter()
            .flat_map(|v| match *step {
                "*" => v.as_seq().map(|s| s.iter().collect()).unwrap_or_default(),
                key => v.get(key).into_iter().collect::<Vec<_>>(),
            })
            .collect();
    }
    current.into_iter().filter(|v| !matches!(v, Value::Null)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::yaml;

    fn v(s: &str) -> Value {
        yaml::parse_value(s).unwrap()
    }

    fn deployment(container: &str, volumes: &str) -> Value {
        v(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app}}\nspec: {{template: {{spec: {{containers: [{container}], volumes: [{volumes}]}}}}}}"
        ))
    }

    #[test]
    fn an_images_data_directory_is_resolved_to_its_store() {
        let empty = deployment(
            "{name: g, image: grafana/grafana:11, volumeMounts: [{name: storage, mountPath: /var/lib/grafana}]}",
            "{name: storage, emptyDir: {}}",
        );
        let l = &locations(&empty)[0];
        assert_eq!(
            (l.path.as_str(), &l.store, l.guessed),
            ("/var/lib/grafana", &Store::Pod { volume: "storage".into(), source: "emptyDir".into() }, false)
        );
        assert_eq!(at_risk(&empty).len(), 1);
        let claim = deployment(
            "{name: g, image: grafana/grafana:11, volumeMounts: [{name: storage, mountPath: /var/lib/grafana}]}",
            "{name: storage, persistentVolumeClaim: {claimName: g}}",
        );
        assert_eq!(
            locations(&claim),
            vec![Location {
                container: "g".into(),
                image: "grafana/grafana:11".into(),
                path: "/var/lib/grafana".into(),
                known: Known::Image { software: "Grafana" },
                store: Store::Claim("g".into()),
                within: String::new(),
                guessed: false,
            }]
        );
        assert!(at_risk(&claim).is_empty());
    }

    #[test]
    fn configuration_moves_the_data_directory() {
        // Prometheus told to keep its TSDB on the claim at /data: not at risk.
        let prom = deployment(
            "{name: p, image: quay.io/prometheus/prometheus:v2, args: [--storage.tsdb.path=/data], volumeMounts: [{name: d, mountPath: /data}]}",
            "{name: d, persistentVolumeClaim: {claimName: prom}}",
        );
        let l = &locations(&prom)[0];
        assert_eq!((l.path.as_str(), &l.store), ("/data", &Store::Claim("prom".into())));
        assert!(matches!(&l.known, Known::Configured { by, .. } if by == "--storage.tsdb.path=/data"));
        // GF_PATHS_DATA below the claim: the same store, another place in it.
        let g = deployment(
            "{name: g, image: grafana/grafana, env: [{name: GF_PATHS_DATA, value: /var/lib/grafana/data}], volumeMounts: [{name: s, mountPath: /var/lib/grafana}]}",
            "{name: s, persistentVolumeClaim: {claimName: g}}",
        );
        assert_eq!(locations(&g)[0].within, "data");
        // `$(VAR)` references, subPaths and `server /export`.
        let r = deployment(
            "{name: r, image: bitnami/rabbitmq:3, env: [{name: BASE, value: /bitnami/rabbitmq/mnesia}, {name: RABBITMQ_MNESIA_DIR, value: \"$(BASE)/node\"}], volumeMounts: [{name: d, mountPath: /bitnami/rabbitmq/mnesia, subPath: rmq}]}",
            "{name: d, persistentVolumeClaim: {claimName: r}}",
        );
        assert_eq!(
            (locations(&r)[0].path.as_str(), locations(&r)[0].within.as_str()),
            ("/bitnami/rabbitmq/mnesia/node", "rmq/node")
        );
        let m = deployment(
            "{name: m, image: minio/minio, command: [/bin/sh, -c, \"minio server /export --console-address :9001\"]}",
            "",
        );
        assert_eq!(locations(&m)[0].path, "/export");
    }

    #[test]
    fn bitnami_images_keep_data_under_bitnami() {
        let pg = v(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec: {volumeClaimTemplates: [{metadata: {name: data}}], template: {spec: {containers: [{name: postgresql, image: docker.io/bitnami/postgresql:16, volumeMounts: [{name: data, mountPath: /bitnami/postgresql}]}]}}}",
        );
        let l = &locations(&pg)[0];
        assert_eq!(l.store, Store::Claims { template: "data".into(), set: "db".into() });
        assert!(at_risk(&pg).is_empty());
    }

    #[test]
    fn unmounted_defaults_beside_a_claim_are_a_guess_not_a_loss() {
        let odd = deployment(
            "{name: p, image: prom/prometheus, volumeMounts: [{name: d, mountPath: /somewhere}]}",
            "{name: d, persistentVolumeClaim: {claimName: prom}}",
        );
        let all = locations(&odd);
        assert!(all[0].guessed, "{all:?}");
        assert!(at_risk(&odd).is_empty());
        assert!(all.iter().any(|l| l.known == Known::Claim && l.path == "/somewhere"));
    }

    #[test]
    fn clients_and_init_containers_are_not_servers() {
        for o in [
            "apiVersion: batch/v1\nkind: Job\nspec: {template: {spec: {containers: [{name: c, image: postgres}]}}}",
            "apiVersion: batch/v1\nkind: CronJob\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: postgres}]}}}}}",
            "apiVersion: v1\nkind: Pod\nspec: {restartPolicy: Never, containers: [{name: c, image: postgres}]}",
            "apiVersion: v1\nkind: Pod\nmetadata: {annotations: {helm.sh/hook: test}}\nspec: {containers: [{name: c, image: postgres}]}",
            "apiVersion: apps/v1\nkind: StatefulSet\nspec: {template: {spec: {initContainers: [{name: sysctl, image: elasticsearch:8}], containers: [{name: c, image: busybox}]}}}",
        ] {
            assert!(at_risk(&v(o)).is_empty(), "{o}");
        }
        assert_eq!(at_risk(&v("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: c, image: postgres}]}")).len(), 1);
    }

    #[test]
    fn declared_state_and_ephemeral_marks() {
        let app = v(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, annotations: {infra.dev/state: \"/srv/db, side:/cache\"}}\nspec: {template: {spec: {containers: [{name: app, image: mine}, {name: side, image: other}]}}}",
        );
        let paths: Vec<(String, String)> =
            at_risk(&app).iter().map(|l| (l.container.clone(), l.path.clone())).collect();
        assert_eq!(paths, [("app".to_string(), "/srv/db".to_string()), ("side".into(), "/cache".into())]);
        let marked = v(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, annotations: {infra.dev/state: /srv/db, infra.dev/ephemeral: \"true\"}}\nspec: {template: {spec: {containers: [{name: app, image: mine}]}}}",
        );
        assert!(at_risk(&marked).is_empty());
    }

    #[test]
    fn stores_hold_the_same_data() {
        let claims = Store::Claims { template: "data".into(), set: "db".into() };
        assert!(claims.same_data(&Store::Claim("data-db-0".into())));
        assert!(!claims.same_data(&Store::Claims { template: "data".into(), set: "db2".into() }));
        assert!(!Store::Container.same_data(&Store::Container));
    }

    #[test]
    fn operator_resources_on_ephemeral_storage() {
        let row = |g, k| software::data_resource(g, k).unwrap();
        let prom = v("kind: Prometheus\nspec: {replicas: 1}");
        assert!(resource_ephemeral(&prom, row("monitoring.coreos.com", "Prometheus")).is_some());
        let stored = v("kind: Prometheus\nspec: {storage: {volumeClaimTemplate: {spec: {}}}}");
        assert!(resource_ephemeral(&stored, row("monitoring.coreos.com", "Prometheus")).is_none());
        let kafka = v("kind: Kafka\nspec: {kafka: {storage: {type: ephemeral}}}");
        assert!(resource_ephemeral(&kafka, row("kafka.strimzi.io", "Kafka")).is_some());
        let rmq = v("kind: RabbitmqCluster\nspec: {persistence: {storage: \"0\"}}");
        assert!(resource_ephemeral(&rmq, row("rabbitmq.com", "RabbitmqCluster")).is_some());
        let es = v(
            "kind: Elasticsearch\nspec: {nodeSets: [{name: a, podTemplate: {spec: {volumes: [{name: elasticsearch-data, emptyDir: {}}]}}}]}",
        );
        assert!(resource_ephemeral(&es, row("elasticsearch.k8s.elastic.co", "Elasticsearch")).is_some());
        let cnpg = v("kind: Cluster\nspec: {instances: 3}");
        assert!(resource_ephemeral(&cnpg, row("postgresql.cnpg.io", "Cluster")).is_none());
    }
}
