//! What infra knows about Kubernetes, as data, in one place: kinds and
//! their scopes, valid identities ([`kinds`]), where workloads keep their
//! pods and what backs a path in a container ([`workloads`]), where state
//! lives ([`state`], from the tables of [`software`]), the fields in
//! which objects name each other ([`references`]), infra's own annotation
//! keys and the labels Grafana's sidecar reads ([`annotations`]), the label
//! maps of templates and selectors ([`labels`]), images ([`images`]), how
//! lists merge ([`strategic`]), how a YAML stream becomes objects
//! ([`manifests`]) and the schemas objects must fit ([`schemas`]).
//!
//! The compiler's link stage, `plan`, the storage warning and `import` all
//! read these tables; a new kind of reference is one row.

pub mod annotations;
pub mod cluster;
pub mod images;
pub mod immutable;
pub mod kinds;
pub mod labels;
pub mod manifests;
pub mod references;
pub mod registry;
pub mod schemas;
pub mod software;
pub mod state;
pub mod strategic;
pub mod workloads;

pub use kinds::ObjectId;
