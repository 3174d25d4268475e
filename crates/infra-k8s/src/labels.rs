//! Where labels live besides `metadata.labels`, as data: the label maps of
//! pod templates (`common.pod_labels`) and of selectors
//! (`common.selector_labels`), after Kustomize's common-labels
//! configuration.
//!
//! Two choices differ from Kustomize on purpose: a Service without a
//! selector gets none (it is selector-less on purpose: ExternalName, or
//! endpoints managed by hand, which a selector would take over), and pod
//! labels leave a StatefulSet's claim templates alone (they are immutable:
//! a pod label must not force a replace).

use crate::strategic::builtin_group;
use infra_syntax::{Map, Value};

/// Which label maps a label goes into.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reach {
    /// Pod templates (and a CronJob's job template).
    Templates,
    /// Pod templates, selectors and claim templates.
    Selectors,
}

/// One label map: the kinds that have it, its path (`*` is every list
/// item), whether to create it when absent, and the reach it belongs to.
struct LabelMap {
    kinds: &'static [&'static str],
    path: &'static [&'static str],
    create: bool,
    reach: Reach,
}

const MATCH_LABELS: &[&str] = &["spec", "selector", "matchLabels"];

/// The label maps besides pod templates' (every kind with a pod template
/// in [`crate::registry`] has one, created).
const LABEL_MAPS: &[LabelMap] = &[
    LabelMap {
        kinds: &["CronJob"],
        path: &["spec", "jobTemplate", "metadata", "labels"],
        create: true,
        reach: Reach::Templates,
    },
    LabelMap {
        kinds: &["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"],
        path: MATCH_LABELS,
        create: true,
        reach: Reach::Selectors,
    },
    LabelMap { kinds: &["ReplicationController"], path: &["spec", "selector"], create: true, reach: Reach::Selectors },
    LabelMap { kinds: &["Service"], path: &["spec", "selector"], create: false, reach: Reach::Selectors },
    // Jobs get generated selectors; one written by hand is kept in step.
    LabelMap { kinds: &["Job", "PodDisruptionBudget"], path: MATCH_LABELS, create: false, reach: Reach::Selectors },
    LabelMap {
        kinds: &["CronJob"],
        path: &["spec", "jobTemplate", "spec", "selector", "matchLabels"],
        create: false,
        reach: Reach::Selectors,
    },
    LabelMap {
        kinds: &["NetworkPolicy"],
        path: &["spec", "podSelector", "matchLabels"],
        create: false,
        reach: Reach::Selectors,
    },
    LabelMap {
        kinds: &["StatefulSet"],
        path: &["spec", "volumeClaimTemplates", "*", "metadata", "labels"],
        create: true,
        reach: Reach::Selectors,
    },
];

/// Adds `labels` to every label map of `object` within `reach` (selectors
/// reach templates too), creating the maps a kind always has.
pub fn add_labels(object: &mut Value, reach: Reach, labels: &Map) {
    if labels.is_empty() {
        return;
    }
    let api_version = object.str_at(&["apiVersion"]).unwrap_or_default();
    if !builtin_group(crate::kinds::group_of(api_version)) {
        return;
    }
    if let Some(template) =
        crate::registry::row_of_object(object).and_then(|r| crate::workloads::pod_template_path(r.group, r.kind))
    {
        // On the stack: templates are at most four keys deep.
        let mut path = [""; 8];
        let n = template.len().min(6);
        path[..n].copy_from_slice(&template[..n]);
        path[n..n + 2].copy_from_slice(&["metadata", "labels"]);
        merge_at(object, &path[..n + 2], true, labels);
    }
    let kind = object.str_at(&["kind"]).unwrap_or_default().to_string();
    for m in LABEL_MAPS {
        if m.kinds.contains(&kind.as_str()) && (m.reach == Reach::Templates || reach == Reach::Selectors) {
            merge_at(object, m.path, m.create, labels);
        }
    }
}

/// Adds `labels` to the map at `path` (`*` is every list item), creating
/// the maps on the way when `create`, else only where they exist.
pub fn merge_at(v: &mut Value, path: &[&str], create: bool, labels: &Map) {
    match path.split_first() {
        None => {
            if !matches!(v, Value::Map(_)) {
                *v = Value::Map(Map::new());
            }
            if let Value::Map(m) = v {
                for (k, value) in labels {
                    m.insert(k.clone(), value.clone());
                }
            }
        }
        Some((&"*", rest)) => {
            if let Value::Seq(items) = v {
                for item in items {
                    merge_at(item, rest, create, labels);
                }
            }
        }
        Some((key, rest)) => {
            let Some(m) = v.as_map_mut() else { return };
            if m.get(key).is_none_or(|x| matches!(x, Value::Null)) {
                if !create {
                    return;
                }
                m.insert(*key, Value::Map(Map::new()));
            }
            if let Some(next) = m.get_mut(key) {
                merge_at(next, rest, create, labels);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::yaml::parse_value;

    fn labelled(object: &str, reach: Reach) -> Value {
        let mut v = parse_value(object).unwrap();
        add_labels(&mut v, reach, parse_value("{team: a}").unwrap().as_map().unwrap());
        v
    }

    #[test]
    fn templates_and_selectors() {
        let deployment =
            "{apiVersion: apps/v1, kind: Deployment, spec: {selector: {matchLabels: {app: w}}, template: {spec: {}}}}";
        assert_eq!(
            labelled(deployment, Reach::Templates),
            parse_value("{apiVersion: apps/v1, kind: Deployment, spec: {selector: {matchLabels: {app: w}}, template: {spec: {}, metadata: {labels: {team: a}}}}}").unwrap()
        );
        assert_eq!(
            labelled(deployment, Reach::Selectors),
            parse_value("{apiVersion: apps/v1, kind: Deployment, spec: {selector: {matchLabels: {app: w, team: a}}, template: {spec: {}, metadata: {labels: {team: a}}}}}").unwrap()
        );
    }

    /// A selector and its template get the same labels, in every group of
    /// a workload kind (an old chart's `extensions/v1beta1` too).
    #[test]
    fn selectors_and_templates_agree_in_every_group() {
        for api in ["apps/v1", "apps/v1beta2", "extensions/v1beta1"] {
            let d = format!("{{apiVersion: {api}, kind: Deployment, spec: {{template: {{spec: {{}}}}}}}}");
            let v = labelled(&d, Reach::Selectors);
            let template = v.pointer(&["spec", "template", "metadata", "labels"]);
            assert!(template.is_some(), "{api}");
            assert_eq!(v.pointer(&["spec", "selector", "matchLabels"]), template, "{api}");
        }
    }

    #[test]
    fn selector_less_services_and_custom_kinds_are_left_alone() {
        let external = "{apiVersion: v1, kind: Service, spec: {type: ExternalName}}";
        assert_eq!(labelled(external, Reach::Selectors), parse_value(external).unwrap());
        let custom = "{apiVersion: example.com/v1, kind: Deployment, spec: {template: {}}}";
        assert_eq!(labelled(custom, Reach::Selectors), parse_value(custom).unwrap());
        let claims = "{apiVersion: apps/v1, kind: StatefulSet, spec: {volumeClaimTemplates: [{metadata: {name: d}}], template: {}}}";
        let v = labelled(claims, Reach::Templates);
        assert_eq!(
            v.pointer(&["spec", "volumeClaimTemplates"]),
            parse_value(claims).unwrap().pointer(&["spec", "volumeClaimTemplates"])
        );
    }
}
