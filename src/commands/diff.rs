//! `infra diff OLD NEW`: the analysis of `plan` between any two sets of
//! manifests — no compiler involved.

use super::plan::{Printed, Report, print_plans};
use crate::report::Reporter;
use infra_syntax::{Code, Diagnostic, Diagnostics, Sources, Value};
use std::process::ExitCode;

pub fn run(r: &Reporter, old: &str, new: &str, namespace: Option<&str>, report: &Report) -> ExitCode {
    if old == "-" && new == "-" {
        return r.error(Diagnostic::error(Code::Usage, "only one of OLD and NEW can be `-` (standard input)"));
    }
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let mut old_objects = infra_plan::read::read(old, &mut sources, &mut diags);
    let mut new_objects = infra_plan::read::read(new, &mut sources, &mut diags);
    if let Some(ns) = namespace {
        infra_k8s::kinds::default_namespace(&mut old_objects, ns);
        infra_k8s::kinds::default_namespace(&mut new_objects, ns);
    }
    if diags.has_errors() {
        return r.failed(&diags, &sources, "diff");
    }
    r.diagnostics(&diags, &sources);
    let options = infra_plan::Options { show_secrets: report.show_secrets };
    let old_refs: Vec<&Value> = old_objects.iter().collect();
    let new_refs: Vec<&Value> = new_objects.iter().collect();
    let plan = infra_plan::plan(&old_refs, &new_refs, &options);
    print_plans(r, &[Printed { env: None, title: format!("infra diff: {old} → {new}"), plan }], report)
}
