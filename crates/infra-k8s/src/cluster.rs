//! What a project may refer to without defining it: objects every cluster
//! has (built-in namespaces, ClusterRoles and service accounts), and
//! Secrets that controllers make from the project's own objects (a
//! cert-manager `Certificate`'s, an `ExternalSecret`'s). Linking reads both,
//! so a reference to them is neither unresolved nor fails `--strict`.

use infra_syntax::Value;

/// Objects the API server makes in every cluster, by kind: a name, or a
/// prefix ending in `:`/`-` that every name of its family starts with.
const BUILT_IN: &[(&str, &[&str])] = &[
    ("Namespace", &["default", "kube-system", "kube-public", "kube-node-lease"]),
    // Every namespace gets these two.
    ("ServiceAccount", &["default"]),
    ("ConfigMap", &["kube-root-ca.crt"]),
    // The user-facing roles and the API server's own (`system:*`).
    ("ClusterRole", &["cluster-admin", "admin", "edit", "view", "system:"]),
    ("ClusterRoleBinding", &["system:"]),
    // In kube-system: what API servers behind an APIService read.
    ("Role", &["extension-apiserver-authentication-reader", "system:"]),
    ("PriorityClass", &["system-cluster-critical", "system-node-critical"]),
];

/// Whether every cluster has the object of `kind` named `name` (in every
/// namespace, for namespaced kinds).
pub fn built_in(kind: &str, name: &str) -> bool {
    BUILT_IN
        .iter()
        .filter(|(k, _)| *k == kind)
        .flat_map(|(_, names)| names.iter())
        .any(|n| if n.ends_with(':') { name.starts_with(n) } else { name == *n })
}

/// Where the names of the Secrets an object's controller writes are.
pub enum SecretNames {
    /// At a path from the object's root; else the object's own name, when
    /// `defaults_to_own_name`.
    At { path: &'static [&'static str], defaults_to_own_name: bool },
    /// Each `spec.tls[].secretName` of an Ingress that carries one of these
    /// annotations (cert-manager's ingress-shim issues them).
    IngressTls { annotations: &'static [&'static str] },
}

/// A kind whose controller writes Secrets in the object's namespace.
pub struct SecretProducer {
    pub group: &'static str,
    pub kind: &'static str,
    pub names: SecretNames,
}

/// Controllers that make Secrets from the project's objects.
pub const SECRET_PRODUCERS: &[SecretProducer] = &[
    // cert-manager: the certificate and key.
    SecretProducer {
        group: "cert-manager.io",
        kind: "Certificate",
        names: SecretNames::At { path: &["spec", "secretName"], defaults_to_own_name: false },
    },
    SecretProducer {
        group: "networking.k8s.io",
        kind: "Ingress",
        names: SecretNames::IngressTls { annotations: &["cert-manager.io/cluster-issuer", "cert-manager.io/issuer"] },
    },
    // External Secrets Operator: `spec.target.name`, by default the object's name.
    SecretProducer {
        group: "external-secrets.io",
        kind: "ExternalSecret",
        names: SecretNames::At { path: &["spec", "target", "name"], defaults_to_own_name: true },
    },
    // Sealed Secrets: the template's name, by default the object's name.
    SecretProducer {
        group: "bitnami.com",
        kind: "SealedSecret",
        names: SecretNames::At { path: &["spec", "template", "metadata", "name"], defaults_to_own_name: true },
    },
];

/// The names of the Secrets a controller makes from `object`.
pub fn produced_secrets(object: &Value) -> Vec<&str> {
    let api_version = object.str_at(&["apiVersion"]).unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let kind = object.str_at(&["kind"]).unwrap_or_default();
    let Some(row) = SECRET_PRODUCERS.iter().find(|p| p.group == group && p.kind == kind) else { return Vec::new() };
    match &row.names {
        SecretNames::At { path, defaults_to_own_name } => match object.str_at(path) {
            Some(name) => vec![name],
            None if *defaults_to_own_name => object.str_at(&["metadata", "name"]).into_iter().collect(),
            None => Vec::new(),
        },
        SecretNames::IngressTls { annotations } => {
            let annotated = annotations.iter().any(|a| object.str_at(&["metadata", "annotations", a]).is_some());
            let tls = object.pointer(&["spec", "tls"]).and_then(Value::as_seq).filter(|_| annotated);
            tls.into_iter().flatten().filter_map(|t| t.str_at(&["secretName"])).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::yaml::parse_value;

    #[test]
    fn every_cluster_has_its_built_in_objects() {
        assert!(built_in("ClusterRole", "cluster-admin"));
        assert!(built_in("ClusterRole", "system:auth-delegator"));
        assert!(built_in("ServiceAccount", "default"));
        assert!(built_in("Namespace", "kube-system"));
        assert!(!built_in("ClusterRole", "admins"));
        assert!(!built_in("Role", "view"));
        assert!(!built_in("ServiceAccount", "system:default"));
    }

    #[test]
    fn controllers_make_the_secrets_their_objects_name() {
        let cert = parse_value(
            "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: web}\nspec: {secretName: web-tls}\n",
        )
        .unwrap();
        assert_eq!(produced_secrets(&cert), ["web-tls"]);
        let es =
            parse_value("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: db}\nspec: {}\n")
                .unwrap();
        assert_eq!(produced_secrets(&es), ["db"]);
        let other = parse_value(
            "apiVersion: example.com/v1\nkind: Certificate\nmetadata: {name: web}\nspec: {secretName: x}\n",
        )
        .unwrap();
        assert!(produced_secrets(&other).is_empty());
        let ingress = |annotations: &str| {
            parse_value(&format!("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: web, annotations: {{{annotations}}}}}\nspec: {{tls: [{{secretName: a}}, {{secretName: b}}]}}\n")).unwrap()
        };
        assert_eq!(produced_secrets(&ingress("cert-manager.io/cluster-issuer: le")), ["a", "b"]);
        assert!(produced_secrets(&ingress("")).is_empty());
    }
}
