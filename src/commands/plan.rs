//! `infra plan` and the reporting it shares with `infra diff`: build in
//! memory, compare with the compiled output (a folder, a git revision) or
//! with a cluster dump, and print the plans with their exit code.

use super::compile;
use crate::report::Reporter;
use infra_compiler::Options;
use infra_compiler::emit::dir::OutDir;
use infra_compiler::emit::read::{Compiled, read_compiled};
use infra_import::grafana::Grafana;
use infra_plan::render::{self, Style};
use infra_plan::{GrafanaDashboard, Plan};
use infra_syntax::{Code, Diagnostic, Diagnostics, Value};
use std::path::PathBuf;
use std::process::ExitCode;

/// How plans are printed, and which hazards fail the command.
/// How a plan is printed.
pub enum Format {
    Text,
    Json,
    Markdown,
}

pub struct Report {
    pub format: Format,
    pub deny_data_loss: bool,
    pub show_secrets: bool,
}

pub struct Args {
    pub dir: PathBuf,
    pub envs: Vec<String>,
    /// Compare with this folder instead of `compiled/<env>`.
    pub against: Option<PathBuf>,
    /// Compare with `compiled/<env>` at this git revision.
    pub base: Option<String>,
    /// Compare with what runs: a `kubectl get -o yaml` dump.
    pub live: Option<String>,
    /// The namespace of `live` objects that name none.
    pub namespace: Option<String>,
    /// List the dashboards of this Grafana that the project lacks.
    pub grafana: Option<String>,
    pub strict: bool,
    /// `--validate` (or `--strict`): objects against their schemas.
    pub validate: bool,
    /// `--values` and `--set`.
    pub overrides: infra_compiler::load::overrides::Overrides,
    /// `--kube-version`, for every chart.
    pub kube_version: Option<String>,
}

pub fn run(r: &Reporter, args: Args, report: &Report) -> ExitCode {
    let Args { dir, envs, against, base, live, namespace, grafana, strict, validate, overrides, kube_version } = args;
    let mut c = match compile(r, &dir, &Options { envs, strict, helm: None, overrides, kube_version, validate }) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if (against.is_some() || live.is_some()) && c.graphs.len() != 1 {
        return r.error(
            Diagnostic::error(Code::Usage, "--against and --live need exactly one environment")
                .help("choose one with --env"),
        );
    }
    let options = infra_plan::Options { show_secrets: report.show_secrets };
    let mut diags = Diagnostics::new();
    let live_objects = live.as_ref().map(|f| {
        let mut objects = infra_plan::read::read(f, &mut c.sources, &mut diags);
        if let Some(ns) = &namespace {
            infra_k8s::kinds::default_namespace(&mut objects, ns);
        }
        objects
    });
    let in_grafana = match &grafana {
        None => None,
        Some(url) => match Grafana::new(url, std::env::var("GRAFANA_TOKEN").ok()).and_then(|g| g.search()) {
            Ok(hits) => Some(
                hits.into_iter()
                    .map(|h| GrafanaDashboard { uid: h.uid, title: h.title, folder: h.folder })
                    .collect::<Vec<_>>(),
            ),
            Err(d) => return r.error(d),
        },
    };
    let mut plans = Vec::new();
    for g in &c.graphs {
        let emitted: Vec<_> = g.ordered().filter(|r| !r.external).collect();
        let new: Vec<&Value> = emitted.iter().map(|r| &r.value).collect();
        let compiled = format!("compiled/{}", g.env);
        let default_dir = dir.join(&compiled);
        if let (None, None, None) = (&against, &base, &live)
            && let Err(d) = OutDir::in_project(c.root.as_deref().unwrap_or(&dir), &g.env)
        {
            return r.error(d);
        }
        let (mut plan, what) = if let (Some(live_objects), Some(file)) = (&live_objects, &live) {
            let external: Vec<_> = g.ordered().filter(|r| r.external).map(|r| r.id.clone()).collect();
            let live_refs: Vec<&Value> = live_objects.iter().collect();
            (infra_plan::plan_live(&live_refs, &new, &external, &options), format!("the cluster ({file})"))
        } else {
            let (origin, what) = match (&against, &base) {
                (Some(out), _) => (Compiled::Dir(out), out.display().to_string()),
                (None, Some(rev)) => {
                    (Compiled::Git { dir: &dir, rev, subdir: &compiled }, format!("{compiled} at {rev}"))
                }
                (None, None) => (Compiled::Dir(&default_dir), default_dir.display().to_string()),
            };
            if let Compiled::Dir(d) = &origin
                && !d.exists()
            {
                r.status(&format!("note: {} does not exist yet: every object is new", d.display()));
            }
            let known: Vec<(String, &str)> = emitted.iter().map(|r| (r.id.to_string(), r.hash.as_str())).collect();
            let previous = read_compiled(&origin, &known, &mut c.sources, &mut diags);
            (infra_plan::plan(&previous.objects(&new), &new, &options), what)
        };
        // Chart objects say which chart and template made them.
        let made: std::collections::HashMap<_, _> =
            emitted.iter().filter_map(|r| Some((&r.id, r.from.as_deref()?))).collect();
        for change in &mut plan.changes {
            change.from = made.get(&change.id).map(|f| f.to_string());
        }
        if let Some(dashboards) = &in_grafana {
            plan.unmanaged.extend(infra_plan::unmanaged_dashboards(&new, dashboards));
        }
        plans.push(Printed {
            env: Some(g.env.to_string()),
            title: format!("infra plan: environment {} against {what}", g.env),
            plan,
        });
    }
    if diags.has_errors() {
        return r.failed(&diags, &c.sources, "plan");
    }
    r.diagnostics(&diags, &c.sources);
    print_plans(r, &plans, report)
}

/// A plan to print: `plan` makes one per environment, `diff` one without.
pub struct Printed {
    pub env: Option<String>,
    pub title: String,
    pub plan: Plan,
}

/// Prints plans and returns the exit code: 0 no change, 2 changes, 3 a
/// denied hazard.
pub fn print_plans(r: &Reporter, plans: &[Printed], report: &Report) -> ExitCode {
    match report.format {
        Format::Json => {
            let out = match plans {
                [Printed { env: None, plan, .. }] => render::json(plan),
                _ => render::json_of_environments(
                    &plans.iter().map(|p| (p.env.as_deref().unwrap_or_default(), &p.plan)).collect::<Vec<_>>(),
                ),
            };
            r.stdout(&format!("{}\n", serde_json::to_string_pretty(&out).unwrap_or_default()));
        }
        Format::Markdown => {
            for p in plans {
                r.stdout(&render::markdown(&p.plan, &p.title));
            }
        }
        Format::Text => {
            let style = Style { color: r.stdout_color() };
            for p in plans {
                r.stdout(&render::text(&p.plan, &p.title, &style));
            }
        }
    }
    let code = |p: &Plan| match () {
        _ if report.deny_data_loss && p.has_data_loss() => 3,
        _ if p.changes.is_empty() => 0,
        _ => 2,
    };
    ExitCode::from(plans.iter().map(|p| code(&p.plan)).max().unwrap_or(0))
}
