//! The `infra` command line: a thin layer over `infra_compiler`.

use clap::{Parser, Subcommand, ValueEnum};
mod grafana;
mod import;
mod scaffold;

use infra_compiler::emit::path::RelPath;
use infra_compiler::{Compilation, Options, emit};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// Compiling allocates many small maps and strings; mimalloc is markedly
// faster at that than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "infra", version, about = "A declarative infrastructure compiler for Kubernetes")]
#[command(
    after_help = "Exit codes: 0 success (plan/diff: no change), 1 error, 2 changes (plan/diff), 3 a denied hazard."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How errors and warnings are printed: for people, or one JSON object per line for tools.
    #[arg(long, global = true, value_enum, default_value_t = ErrorFormat::Human)]
    error_format: ErrorFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum ErrorFormat {
    Human,
    Json,
}

static ERROR_FORMAT: std::sync::OnceLock<ErrorFormat> = std::sync::OnceLock::new();

/// Prints diagnostics on stderr in the chosen format.
fn print_diagnostics(diagnostics: &infra_syntax::Diagnostics, sources: &infra_syntax::Sources) {
    let mut stderr = std::io::stderr().lock();
    match ERROR_FORMAT.get().copied().unwrap_or(ErrorFormat::Human) {
        ErrorFormat::Human => {
            let _ = write!(stderr, "{}", diagnostics.render(sources));
        }
        ErrorFormat::Json => {
            for d in diagnostics.iter() {
                let labels: Vec<serde_json::Value> = d
                    .labels
                    .iter()
                    .map(|l| {
                        serde_json::json!({
                            "file": sources.get(l.span.file).display,
                            "line": l.span.start.line,
                            "column": l.span.start.col,
                            "end_line": l.span.end.line,
                            "end_column": l.span.end.col,
                            "text": l.text,
                        })
                    })
                    .collect();
                let json = serde_json::json!({
                    "severity": if d.is_error() { "error" } else { "warning" },
                    "code": d.code,
                    "message": d.message,
                    "path": d.path,
                    "labels": labels,
                    "notes": d.notes,
                });
                let _ = writeln!(stderr, "{json}");
            }
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Compile a project into plain Kubernetes manifests.
    #[command(after_help = "Examples:
  infra build                         build every environment into ./compiled/<env>
  infra build examples/apollo --env lab
  infra build --env prod -o -         print one YAML stream in apply order
  infra build --check                 exit 1 if ./compiled is not what the code says")]
    Build {
        /// The project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Environments to build (repeatable); default: all.
        #[arg(long = "env", short = 'e', value_name = "ENV")]
        envs: Vec<String>,
        /// Output directory, or `-` for stdout; needs exactly one environment.
        #[arg(long, short = 'o', value_name = "OUT")]
        output: Option<String>,
        /// Write nothing; exit 1 if the output on disk differs from a fresh build.
        #[arg(long)]
        check: bool,
        /// Treat unresolved references as errors.
        #[arg(long)]
        strict: bool,
    },
    /// Print the dependency graph of one environment.
    #[command(after_help = "Examples:
  infra graph examples/apollo --env lab
  infra graph --format dot | dot -Tsvg > graph.svg
  infra graph --format mermaid")]
    Graph {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The environment; default: the first one.
        #[arg(long = "env", short = 'e', value_name = "ENV")]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// Show what applying a build would change, compared with its compiled output.
    #[command(after_help = "Examples:
  infra plan --env prod                    against ./compiled/prod
  infra plan --env prod --base origin/main against compiled/prod as committed on main
  infra plan --env prod --deny data-loss   exit 3 if anything would destroy data
  infra plan --env prod --format json      the stable JSON contract, for CI bots

Exit codes: 0 no change, 2 changes, 3 a denied hazard, 1 error.")]
    Plan {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Environments to plan (repeatable); default: all.
        #[arg(long = "env", short = 'e', value_name = "ENV")]
        envs: Vec<String>,
        /// Compare with this directory instead of DIR/compiled/<env> (one environment).
        #[arg(long, value_name = "OUT", conflicts_with = "base")]
        against: Option<PathBuf>,
        /// Compare with DIR/compiled/<env> as committed at this git revision.
        #[arg(long, value_name = "GIT_REV", conflicts_with = "live")]
        base: Option<String>,
        /// Compare with what runs: a `kubectl get -o yaml` dump (`-` reads stdin).
        #[arg(long, value_name = "FILE", conflicts_with = "against")]
        live: Option<String>,
        /// Also list dashboards that exist in this Grafana but not in the project (token: GRAFANA_TOKEN).
        #[arg(long, value_name = "URL")]
        grafana: Option<String>,
        #[command(flatten)]
        report: ReportArgs,
        /// Treat unresolved references as errors.
        #[arg(long)]
        strict: bool,
    },
    /// Compare two sets of manifests (files, directories or `-`) as `plan` does.
    #[command(after_help = "Examples:
  infra diff old.yaml new.yaml
  helm template grafana grafana/grafana | infra diff - compiled/prod
  infra diff releases/v1/ releases/v2/ --deny data-loss

Exit codes: 0 no change, 2 changes, 3 a denied hazard, 1 error.")]
    Diff {
        old: String,
        new: String,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Turn plain manifests (Helm or Kustomize output, a kubectl dump) or a Grafana's dashboards into a project.
    #[command(after_help = "Examples:
  helm template grafana grafana/grafana -n monitoring | infra import - --into grafana
  kubectl kustomize overlays/prod | infra import - --into prod --name shop
  kubectl get deploy,svc,cm -n monitoring -o yaml | infra import - --into monitoring
  GRAFANA_TOKEN=... infra import --grafana http://localhost:3000 --into .

Then prove the round trip: infra diff SOURCE <(infra build DIR -o -)")]
    Import {
        /// Files, directories or `-`.
        sources: Vec<String>,
        /// The project directory to create (or, with --grafana, to add dashboards to).
        #[arg(long, value_name = "DIR")]
        into: PathBuf,
        /// Project name; default: the directory's name.
        #[arg(long)]
        name: Option<String>,
        /// Keep Secrets' data in the project (default: external stubs, data stays in the cluster).
        #[arg(long)]
        keep_secrets: bool,
        /// Pull every dashboard of this Grafana (token: GRAFANA_TOKEN) into dashboards/<folder>/<uid>.json.
        #[arg(long, value_name = "URL")]
        grafana: Option<String>,
    },
    /// Create a starter project.
    #[command(after_help = "Examples:
  infra init                 a project in the current directory, named after it
  infra init myapp --name myapp")]
    Init {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Project name ([a-z0-9-]+); default: the directory's name.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(clap::Args)]
struct ReportArgs {
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,
    /// Exit with 3 when the change has a hazard of this kind.
    #[arg(long, value_enum, value_name = "HAZARD")]
    deny: Option<Deny>,
    /// Print secret values instead of "(redacted)".
    #[arg(long)]
    show_secrets: bool,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Deny {
    DataLoss,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Text,
    Dot,
    Mermaid,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = ERROR_FORMAT.set(cli.error_format);
    let result = match cli.command {
        Command::Build { dir, envs, output, check, strict } => build(&dir, envs, output, check, strict),
        Command::Graph { dir, env, format } => graph(&dir, env, format),
        Command::Init { dir, name } => init(&dir, name),
        Command::Plan { dir, envs, against, base, live, grafana, report, strict } => {
            plan(&dir, envs, PlanAgainst { against, base, live, grafana }, &report, strict)
        }
        Command::Import { sources, into, name, keep_secrets, grafana } => match grafana {
            Some(url) if sources.is_empty() => import_grafana(&url, &into),
            Some(_) => Err("import either manifests or --grafana dashboards, not both at once".into()),
            None => import(&sources, &into, name, keep_secrets),
        },
        Command::Diff { old, new, report } => diff(&old, &new, &report),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// Compiles and prints diagnostics; `None` when the compilation failed.
fn compile(dir: &Path, options: &Options) -> Option<Compilation> {
    let c = infra_compiler::compile(dir, options);
    print_diagnostics(&c.diagnostics, &c.sources);
    if c.failed() {
        let n = c.diagnostics.error_count();
        eprintln!("error: build failed with {n} error{}", if n == 1 { "" } else { "s" });
        return None;
    }
    Some(c)
}

fn build(dir: &Path, envs: Vec<String>, output: Option<String>, check: bool, strict: bool) -> Result<ExitCode, String> {
    use emit::dir::{self, Job, OutDir};
    if check && output.as_deref() == Some("-") {
        return Err("--check compares an output folder with a fresh build; it cannot check `-o -` (give -o DIR)".into());
    }
    let Some(c) = compile(dir, &Options { envs, strict }) else {
        return Ok(ExitCode::from(1));
    };
    if output.is_some() && c.graphs.len() != 1 {
        let names: Vec<&str> = c.graphs.iter().map(|g| g.env.as_str()).collect();
        return Err(format!("-o needs exactly one environment; choose one with --env ({})", names.join(", ")));
    }
    let outputs = c.graphs.iter().map(emit::emit).collect::<Result<Vec<_>, _>>()?;
    if output.as_deref() == Some("-") {
        let mut stdout = std::io::stdout().lock();
        for out in &outputs {
            stdout.write_all(out.stream().as_bytes()).map_err(|e| e.to_string())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut diags = infra_syntax::Diagnostics::new();
    let mut targets = Vec::new();
    for out in &outputs {
        let path = match &output {
            Some(o) => PathBuf::from(o),
            None => dir.join("compiled").join(&out.env),
        };
        let target = OutDir::new(&path).and_then(|t| {
            let root = c.root.as_deref().unwrap_or(dir);
            t.check_apart(root, c.sources.iter().map(|s| s.path.as_path())).map(|()| t)
        });
        match target {
            Ok(t) => targets.push(t),
            Err(d) => diags.push(d),
        }
    }
    if diags.has_errors() {
        return Ok(fail_with(&diags, &c.sources));
    }
    if check {
        let mut stale = false;
        for (out, target) in outputs.iter().zip(&targets) {
            let diffs = match emit::check(target, out) {
                Ok(d) => d,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            let shown = target.path();
            if diffs.is_empty() {
                eprintln!("{}: up to date ({} objects in {})", out.env, out.files.len(), shown.display());
            } else {
                stale = true;
                eprintln!("{}: {} is stale:", out.env, shown.display());
                for d in diffs {
                    eprintln!("  {d}");
                }
            }
        }
        if diags.has_errors() {
            return Ok(fail_with(&diags, &c.sources));
        }
        if stale {
            eprintln!("help: run `infra build` and commit the result");
            return Ok(ExitCode::from(1));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let jobs: Vec<Job> =
        outputs.iter().zip(&targets).map(|(out, target)| Job { out: target, files: out.new_files() }).collect();
    let mut waiting = |p: &Path| eprintln!("waiting for another build that writes into {}", p.display());
    match dir::replace_all(&jobs, &mut waiting) {
        Ok(report) => {
            for w in report.warnings {
                diags.push(w);
            }
            print_diagnostics(&diags, &c.sources);
        }
        Err(d) => {
            diags.push(d);
            return Ok(fail_with(&diags, &c.sources));
        }
    }
    for (out, target) in outputs.iter().zip(&targets) {
        eprintln!("{}: wrote {} objects to {}", out.env, out.files.len(), target.path().display());
    }
    // The process ends after writing: freeing thousands of small maps one
    // by one would cost several percent of the run for nothing.
    std::mem::forget(c);
    Ok(ExitCode::SUCCESS)
}

/// Prints diagnostics that ended a command, and its exit code.
fn fail_with(diags: &infra_syntax::Diagnostics, sources: &infra_syntax::Sources) -> ExitCode {
    print_diagnostics(diags, sources);
    ExitCode::from(1)
}

fn graph(dir: &Path, env: Option<String>, format: GraphFormat) -> Result<ExitCode, String> {
    let envs = env.into_iter().collect::<Vec<_>>();
    let Some(c) = compile(dir, &Options { envs, strict: false }) else {
        return Ok(ExitCode::from(1));
    };
    let Some(g) = c.graphs.first() else {
        return Ok(ExitCode::from(1));
    };
    if c.graphs.len() > 1 {
        eprintln!("note: showing environment `{}`; choose another with --env", g.env);
    }
    let format = match format {
        GraphFormat::Text => infra_compiler::link::Format::Text,
        GraphFormat::Dot => infra_compiler::link::Format::Dot,
        GraphFormat::Mermaid => infra_compiler::link::Format::Mermaid,
    };
    print!("{}", g.render(format));
    Ok(ExitCode::SUCCESS)
}

fn init(dir: &Path, name: Option<String>) -> Result<ExitCode, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = name.unwrap_or_else(|| scaffold::name_from_dir(dir));
    let written = scaffold::init(dir, &name)?;
    for p in written {
        eprintln!("created {}", p.display());
    }
    eprintln!("next: infra build {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// A plan's exit code: 0 no change, 2 changes, 3 a denied hazard.
fn plan_code(plan: &infra_plan::Plan, report: &ReportArgs) -> u8 {
    if matches!(report.deny, Some(Deny::DataLoss)) && plan.has_data_loss() {
        3
    } else if plan.changes.is_empty() {
        0
    } else {
        2
    }
}

/// Prints plans (one per environment) and returns the exit code.
fn report_plans(plans: &[(String, infra_plan::Plan)], report: &ReportArgs) -> ExitCode {
    use infra_plan::render as plan_render;
    use std::io::IsTerminal;
    let color = match report.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    match report.format {
        ReportFormat::Text => {
            for (title, plan) in plans {
                print!("{}", plan_render::text(plan, title, &plan_render::Style { color }));
            }
        }
        ReportFormat::Json => {
            let docs: Vec<_> = plans.iter().map(|(_, p)| plan_render::json(p)).collect();
            let out = if docs.len() == 1 { docs[0].clone() } else { serde_json::Value::Array(docs) };
            println!("{}", serde_json::to_string_pretty(&out).expect("JSON serializes"));
        }
    }
    ExitCode::from(plans.iter().map(|(_, p)| plan_code(p, report)).max().unwrap_or(0))
}

/// What `plan` compares the build with.
struct PlanAgainst {
    against: Option<PathBuf>,
    base: Option<String>,
    live: Option<String>,
    grafana: Option<String>,
}

fn plan(
    dir: &Path,
    envs: Vec<String>,
    with: PlanAgainst,
    report: &ReportArgs,
    strict: bool,
) -> Result<ExitCode, String> {
    use infra_compiler::emit::read as compiled;
    use infra_plan as plan;
    use infra_plan::read as manifests;
    let Some(mut c) = compile(dir, &Options { envs, strict }) else { return Ok(ExitCode::from(1)) };
    if (with.against.is_some() || with.live.is_some()) && c.graphs.len() != 1 {
        return Err("--against and --live need exactly one environment; choose one with --env".into());
    }
    let options = plan::Options { show_secrets: report.show_secrets };
    let mut diags = infra_syntax::Diagnostics::new();
    let live = with.live.as_ref().map(|f| manifests::read(f, &mut c.sources, &mut diags));
    let grafana_hits = match &with.grafana {
        Some(url) => Some(grafana::Grafana::new(url, std::env::var("GRAFANA_TOKEN").ok())?.search()?),
        None => None,
    };
    let mut plans = Vec::new();
    for g in &c.graphs {
        let new: Vec<_> = g.ordered().filter(|r| !r.external).collect();
        let known: Vec<(String, &str)> = new.iter().map(|r| (r.id.to_string(), r.hash.as_str())).collect();
        let new: Vec<&infra_syntax::Value> = new.iter().map(|r| &r.value).collect();
        let compiled = format!("compiled/{}", g.env);
        let default_dir = dir.join(&compiled);
        let (mut result, what) = if let (Some(live), Some(file)) = (&live, &with.live) {
            let external: Vec<_> = g.ordered().filter(|r| r.external).map(|r| r.id.clone()).collect();
            (
                plan::plan_live(&live.iter().collect::<Vec<_>>(), &new, &external, &options),
                format!("the cluster ({file})"),
            )
        } else {
            let (origin, what) = match (&with.against, &with.base) {
                (Some(out), _) => (compiled::Compiled::Dir(out), out.display().to_string()),
                (None, Some(rev)) => {
                    (compiled::Compiled::Git { dir, rev, subdir: &compiled }, format!("{compiled} at {rev}"))
                }
                (None, None) => (compiled::Compiled::Dir(&default_dir), default_dir.display().to_string()),
            };
            if let compiled::Compiled::Dir(d) = &origin
                && !d.exists()
            {
                eprintln!("note: {} does not exist yet: every object is new", d.display());
            }
            let old = compiled::read_compiled(&origin, &known, &mut c.sources, &mut diags);
            let old: Vec<&infra_syntax::Value> = old.reused.iter().map(|&i| new[i]).chain(old.parsed.iter()).collect();
            (plan::plan(&old, &new, &options), what)
        };
        if let Some(hits) = &grafana_hits {
            let ours = plan::dashboards(&new);
            for hit in hits.iter().filter(|h| !ours.contains_key(&h.uid)) {
                result.unmanaged.push(plan::Unmanaged {
                    id: infra_k8s::kinds::ObjectId {
                        group: "grafana".into(),
                        kind: "Dashboard".into(),
                        namespace: hit.folder.clone(),
                        name: hit.uid.clone(),
                    },
                    note: Some(format!(
                        "\"{}\" exists only in Grafana; `infra import --grafana URL --into DIR` saves it as code",
                        hit.title
                    )),
                });
            }
        }
        let title = format!("infra plan: environment {} against {what}", g.env);
        plans.push((title, result));
    }
    print_diagnostics(&diags, &c.sources);
    if diags.has_errors() {
        return Ok(ExitCode::from(1));
    }
    Ok(report_plans(&plans, report))
}

fn import(sources: &[String], into: &Path, name: Option<String>, keep_secrets: bool) -> Result<ExitCode, String> {
    use infra_plan::read as manifests;
    if sources.is_empty() {
        return Err("name the manifests to import (files, directories or `-`), or --grafana URL".into());
    }
    let mut srcs = infra_syntax::Sources::new();
    let mut diags = infra_syntax::Diagnostics::new();
    let mut objects = Vec::new();
    for s in sources {
        objects.extend(manifests::read(s, &mut srcs, &mut diags));
    }
    print_diagnostics(&diags, &srcs);
    if diags.has_errors() {
        return Ok(ExitCode::from(1));
    }
    if objects.is_empty() {
        return Err("the sources hold no Kubernetes objects".into());
    }
    let name = name.unwrap_or_else(|| scaffold::name_from_dir(into));
    if !infra_compiler::load::valid_name(&name) {
        return Err(format!("`{name}` is not a valid project name: use lowercase letters, digits and `-` (--name)"));
    }
    let (files, report) = import::project_files(objects, &import::Options { name, keep_secrets })?;
    let new: Vec<emit::dir::NewFile> =
        files.iter().map(|(path, text)| emit::dir::NewFile { path, bytes: text.as_bytes() }).collect();
    if let Err(d) = emit::dir::OutDir::new(into).and_then(|out| emit::dir::create(&out, &new)) {
        let mut diags = infra_syntax::Diagnostics::new();
        diags.push(d.note("import writes a new project, whole or not at all"));
        return Ok(fail_with(&diags, &srcs));
    }
    eprintln!(
        "imported {} resources and {} dashboards into {} ({} files)",
        report.resources,
        report.dashboards,
        into.display(),
        report.files.len()
    );
    if let Some(ns) = &report.namespace_param {
        eprintln!("  namespace {ns} is now the `namespace` parameter");
    }
    if !report.secrets_stubbed.is_empty() {
        eprintln!(
            "  {} Secrets became `external: true` stubs; their data stays in the cluster (--keep-secrets keeps it): {}",
            report.secrets_stubbed.len(),
            report.secrets_stubbed.join(", ")
        );
    }
    if !report.skipped_owned.is_empty() {
        eprintln!(
            "  skipped {} objects made by controllers (their owners recreate them): {}",
            report.skipped_owned.len(),
            report.skipped_owned.join(", ")
        );
    }
    eprintln!("next: infra build {}", into.display());
    Ok(ExitCode::SUCCESS)
}

fn import_grafana(url: &str, into: &Path) -> Result<ExitCode, String> {
    use grafana::{Grafana, folder_dir};
    let grafana = Grafana::new(url, std::env::var("GRAFANA_TOKEN").ok())?;
    let hits = grafana.search()?;
    let mut folders = std::collections::BTreeMap::new();
    let mut written = 0;
    for hit in &hits {
        let model = grafana.dashboard(&hit.uid)?;
        let dir = folder_dir(&hit.folder);
        // Uids are case-sensitive: keep them as file names when they are safe.
        let safe = !hit.uid.is_empty() && hit.uid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let stem = if safe { hit.uid.clone() } else { infra_k8s::kinds::name_from(&hit.uid) };
        let rel = RelPath::new(format!("dashboards/{dir}/{}", emit::names::fit_name(&stem, ".json")))
            .map_err(|e| format!("dashboard {:?} gives no file name: {e}", hit.uid))?;
        let path = rel.under(into);
        let mut text = serde_json::to_string_pretty(&model).map_err(|e| e.to_string())?;
        text.push('\n');
        let existing = std::fs::symlink_metadata(&path).ok().filter(|m| m.is_file()).map(|_| std::fs::read(&path));
        match existing {
            Some(Ok(old)) if old == text.as_bytes() => {}
            Some(_) => {
                eprintln!("kept {rel}: it exists and differs from Grafana's copy (compare them with a diff tool)")
            }
            None => {
                emit::dir::write_inside(into, &rel, text.as_bytes()).map_err(|d| d.message)?;
                written += 1;
            }
        }
        folders.insert(dir, hit.folder.clone());
    }
    let entries: String = folders
        .iter()
        .map(|(dir, folder)| format!("  - files: dashboards/{dir}/*.json\n    folder: {folder:?}\n"))
        .collect();
    let project = into.join("infra.yaml");
    if project.exists() {
        eprintln!("saved {written} new dashboards of {} into {}", hits.len(), into.display());
        if !folders.is_empty() {
            eprintln!("add them to infra.yaml if it does not list them yet:\ndashboards:\n{entries}");
        }
    } else {
        let name = scaffold::name_from_dir(into);
        let text = format!(
            "# Dashboards rescued from {url} by `infra import --grafana`.\nname: {name}\ndashboards:\n{entries}"
        );
        let rel = RelPath::new("infra.yaml").map_err(|e| e.to_string())?;
        emit::dir::write_inside(into, &rel, text.as_bytes()).map_err(|d| d.message)?;
        eprintln!("saved {written} dashboards of {} into a new project in {}", hits.len(), into.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn diff(old: &str, new: &str, report: &ReportArgs) -> Result<ExitCode, String> {
    use infra_plan as plan;
    use infra_plan::read as manifests;
    if old == "-" && new == "-" {
        return Err("only one of OLD and NEW can be `-`".into());
    }
    let mut sources = infra_syntax::Sources::new();
    let mut diags = infra_syntax::Diagnostics::new();
    let old_objects = manifests::read(old, &mut sources, &mut diags);
    let new_objects = manifests::read(new, &mut sources, &mut diags);
    print_diagnostics(&diags, &sources);
    if diags.has_errors() {
        return Ok(ExitCode::from(1));
    }
    let options = plan::Options { show_secrets: report.show_secrets };
    let result = plan::plan(&old_objects.iter().collect::<Vec<_>>(), &new_objects.iter().collect::<Vec<_>>(), &options);
    Ok(report_plans(&[(format!("infra diff: {old} → {new}"), result)], report))
}
