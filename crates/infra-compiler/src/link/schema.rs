//! `--validate`: every object against its kind's schema — the Kubernetes
//! API's of the cluster version, or the `openAPIV3Schema` of a CRD in the
//! build (`infra_k8s::schemas`) — reported at the field in the source.

use super::graph::ResourceGraph;
use super::locate::Locator;
use infra_k8s::schemas::{Checked, KubeVersion, Problem, Schemas, path_text};
use infra_syntax::{Code, Diagnostic, Diagnostics, Span};
use std::collections::BTreeMap;

/// The schemas to check against: `--kube-version`'s, else the newest;
/// `None` (with an error) when the version is not one infra has.
pub fn kube_version(asked: Option<&str>, diags: &mut Diagnostics) -> Option<KubeVersion> {
    match infra_k8s::schemas::version_for(asked) {
        Ok((version, newer)) => {
            if newer {
                diags.push(
                    Diagnostic::warning(
                        Code::SchemaVersion,
                        format!(
                            "no schemas for Kubernetes {}: objects are checked against {version}'s, the newest infra has",
                            asked.unwrap_or_default()
                        ),
                    )
                    .help("a newer infra knows newer versions"),
                );
            }
            Some(version)
        }
        Err(e) => {
            diags.push(
                Diagnostic::error(Code::SchemaVersion, format!("--kube-version: {e}"))
                    .help("give the cluster's version as `1.N` (kubectl version shows it)"),
            );
            None
        }
    }
}

/// Checks every object of `g` that infra writes (not `external` stubs, not
/// SOPS documents, whose values are ciphertext).
pub fn check(g: &ResourceGraph, schemas: &mut Schemas, locator: &mut Locator, diags: &mut Diagnostics) {
    schemas.forget_crds();
    let version = schemas.version();
    let resources: Vec<_> = g.ordered().filter(|r| !r.external && r.verbatim.is_none()).collect();
    for r in resources.iter().filter(|r| r.id.kind == "CustomResourceDefinition") {
        if let Err(bad) = schemas.add_crd(&r.value) {
            diags.push(
                Diagnostic::warning(Code::CrdSchema, format!("CRD `{}`: {}", bad.crd, bad.message))
                    .at(r.origin, "its custom resources are not checked"),
            );
        }
    }
    let mut unchecked: BTreeMap<String, (usize, Span)> = BTreeMap::new();
    for r in &resources {
        match schemas.check(&r.value) {
            Checked::Valid => {}
            Checked::Unknown => {
                let kind = format!("{} ({})", r.id.kind, r.value.str_at(&["apiVersion"]).unwrap_or_default());
                unchecked.entry(kind).or_insert((0, r.origin)).0 += 1;
            }
            Checked::Invalid(violations) => {
                for v in violations {
                    let field = path_text(&v.path);
                    let span = match v.problem {
                        Problem::Value => locator.at_path(r.origin, &v.path),
                        Problem::UnknownField | Problem::MissingField => locator.key_at_path(r.origin, &v.path),
                    };
                    let mut d = Diagnostic::error(Code::ObjectSchema, format!("{}: {}", r.id.short(), v.message))
                        .at(span.unwrap_or(r.origin), format!("not valid in Kubernetes {version}"))
                        .path(field.clone());
                    if let Some(from) = &r.from {
                        d = d.note(format!("made by {from}"));
                    }
                    // `kubectl explain` of the mapping that has (or lacks) the field.
                    let mapping = match v.problem {
                        Problem::MissingField => &v.path[..],
                        Problem::Value | Problem::UnknownField => &v.path[..v.path.len().saturating_sub(1)],
                    };
                    diags.push(d.help(explain(&r.id.kind, mapping)));
                }
            }
        }
    }
    if let Some((_, (_, first))) = unchecked.iter().next() {
        let total: usize = unchecked.values().map(|(n, _)| n).sum();
        let kinds = crate::eval::first_few(unchecked.keys().cloned(), unchecked.len());
        diags.push(
            Diagnostic::warning(
                Code::NoSchema,
                format!(
                    "{total} object{} not checked: no schema for {kinds} in Kubernetes {version} or a CRD of the build",
                    if total == 1 { " is" } else { "s are" }
                ),
            )
            .at(Span::new(first.file, first.start, first.start), "the first")
            .help(
                "add the CRDs to the project (a chart's `crds/`, or their manifests) to check their custom resources",
            ),
        );
    }
}

/// Where `kubectl explain` shows the fields of the mapping at `path`.
fn explain(kind: &str, path: &[infra_k8s::schemas::PathStep]) -> String {
    let mut at = kind.to_lowercase();
    for step in path {
        if let infra_k8s::schemas::PathStep::Key(k) = step {
            at.push('.');
            at.push_str(k);
        }
    }
    format!("`kubectl explain {at}` lists the fields there and their types")
}
