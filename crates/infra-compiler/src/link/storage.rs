//! The storage warning: a well-known stateful image whose data directory
//! is not on a PersistentVolumeClaim loses its state with every new pod —
//! the cause of the lost dashboards. Rules in `infra_k8s::workloads`.

use super::graph::ResourceGraph;
use infra_k8s::workloads::{image_name, state_at_risk};
use infra_syntax::{Code, Diagnostic, Diagnostics};

/// Warns about stateful workloads whose data is not on a PVC.
pub fn warn_state_at_risk(g: &ResourceGraph, diagnostics: &mut Diagnostics) {
    for r in g.ordered().filter(|r| !r.external) {
        for found in state_at_risk(&r.value) {
            diagnostics.push(
                Diagnostic::warning(Code::StateWithoutStorage,
                    format!(
                        "{}: {} keeps its data in {}, which is {}: the data is lost whenever the pod is replaced",
                        r.id.short(),
                        image_name(&found.image),
                        found.data_dir,
                        found.storage,
                    ),
                )
                .at(r.origin, format!("container `{}`", found.container))
                .help(format!("mount a PersistentVolumeClaim at {}, or mark the object `infra: {{ephemeral: true}}` if losing the data is intended",
                    found.data_dir
                )),
            );
        }
    }
}
