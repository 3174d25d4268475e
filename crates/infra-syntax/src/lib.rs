//! The front end of infra: source files, spans, the YAML loader and emitter,
//! plain values, and diagnostics.
//!
//! Everything that touches YAML text lives here, so the compiler works on two
//! plain data types: spanned [`Node`]s as loaded from files, and [`Value`]s,
//! the evaluated objects it emits.

pub mod canonical;
pub mod diagnostic;
pub mod json;
pub mod secrets;
pub mod settings;
pub mod source;
pub mod template;
pub mod value;
pub mod yaml;

pub use diagnostic::{Code, Diagnostic, Diagnostics, Label, Severity, article, did_you_mean};
pub use source::{FileId, Pos, SourceFile, Sources, Span};
pub use value::{Map, Str, Value};
pub use yaml::{Key, Node, NodeKind, ScalarStyle};
