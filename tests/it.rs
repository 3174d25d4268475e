//! The integration tests, one binary: they share one build and one link
//! (`tests/allocations.rs` is a binary of its own: it counts allocations
//! with a global allocator). Each file is a module, named as before.

mod common;

mod architecture;
mod cases;
mod charts;
mod completion;
mod crash;
mod dashboards;
mod deploy;
mod docs;
mod examples;
mod grafana;
mod hazards;
mod hostile;
mod hostile_repo;
mod import;
mod kustomize;
mod live;
mod names_property;
mod no_panic;
mod output;
mod output_safety;
mod parity;
mod plan;
mod properties;
mod scaling;
mod schema;
mod validate;
mod yaml_oracle;
