//! The storage warning: known data (an image's data directory, a configured
//! or declared one) on storage that dies with the pod is lost whenever the
//! pod is replaced — the cause of the lost dashboards. The model of where
//! state lives is `infra_k8s::state`, which `plan` reads too.

use super::graph::ResourceGraph;
use infra_k8s::state::at_risk;
use infra_syntax::{Code, Diagnostic, Diagnostics};

/// Warns about workloads whose known data is not on a PVC.
pub fn warn_state_at_risk(g: &ResourceGraph, diagnostics: &mut Diagnostics) {
    for r in g.ordered().filter(|r| !r.external) {
        for found in at_risk(&r.value) {
            diagnostics.push(
                Diagnostic::warning(
                    Code::StateWithoutStorage,
                    format!(
                        "{}: {} is on {}: the data is lost whenever the pod is replaced",
                        r.id.short(),
                        found.what(),
                        found.store.describe(),
                    ),
                )
                .at(r.origin, format!("container `{}`", found.container))
                .help(format!(
                    "mount a PersistentVolumeClaim at {}, or mark the object `infra: {{ephemeral: true}}` if losing the data is intended",
                    found.path
                )),
            );
        }
    }
}
