//! What applying a set of manifests would do to a cluster, beside the
//! compiler: it compares two sets of plain objects (a compiled output, a
//! Helm render, a cluster dump), so `infra diff` needs no compiler.
//!
//! ```text
//! objects x objects --changes--> Plan { changes, hazards } --render--> text | json
//! objects x live dump --drift--> Plan { changes, unmanaged }
//! ```

pub mod changes;
pub mod compare;
pub mod drift;
pub mod hazards;
pub mod read;
pub mod render;

pub use changes::{Action, Change, FieldChange, Hazard, Options, Plan, Severity, Unmanaged};
pub use compare::plan;
pub use drift::{GrafanaDashboard, plan_live, unmanaged_dashboards};
pub use hazards::dashboards;
