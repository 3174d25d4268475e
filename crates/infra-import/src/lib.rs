//! Bringing what exists outside a project into one: plain manifests (a
//! Helm render, a Kustomize build, a `kubectl get` dump) become a project
//! ([`manifests`]), and a running Grafana's dashboards become files
//! ([`grafana`]). URLs from the command line ([`urls`]) are parsed and
//! shown without their credentials, for Grafana and chart repositories.
//! The CLI's `import` and `plan --grafana` are thin layers on this.

pub mod grafana;
pub mod manifests;
pub mod urls;
