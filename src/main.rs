//! The `infra` command line: argument parsing and dispatch. Each command
//! is a thin layer over the libraries, in `commands/`; everything printed
//! on stderr goes through `report`.

mod commands;
mod report;
mod scaffold;

use clap::{Parser, Subcommand, ValueEnum};
use report::{Color, ErrorFormat, Reporter};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "infra", version = env!("INFRA_VERSION"), about = "A declarative infrastructure compiler for Kubernetes")]
#[command(
    after_help = "Exit codes: 0 success (plan/diff: no change), 1 error, 2 changes (plan/diff) or stale output (build --check), 3 a denied hazard."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How errors and warnings are printed: for people, one JSON object per line for tools, or GitHub Actions annotations.
    #[arg(long, global = true, value_enum, default_value_t = ErrorFormat::Human)]
    error_format: ErrorFormat,
    /// Colour in messages and plans: auto (when a terminal and NO_COLOR is unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a project into plain Kubernetes manifests.
    #[command(after_help = "Examples:
  infra build                         build every environment into ./compiled/<env>
  infra build examples/apollo --env lab
  infra build --env prod -o -         print one YAML stream in apply order
  infra build --check                 exit 2 if ./compiled is not what the code says

Exit codes: 0 built (or up to date), 2 stale output (--check), 1 error.")]
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
        /// Write nothing; exit 2 if the output on disk differs from a fresh build (1 if the build fails).
        #[arg(long)]
        check: bool,
        /// Also write kustomization.yaml, listing the files in apply order (for Flux, `kubectl apply -k`).
        #[arg(long)]
        kustomization: bool,
        /// Treat unresolved references as errors, and --validate.
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        params: ParamArgs,
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
        /// The namespace of --live objects that name none.
        #[arg(long, short = 'n', value_name = "NAMESPACE", requires = "live", value_parser = namespace_arg)]
        namespace: Option<String>,
        /// Also list dashboards that exist in this Grafana but not in the project (token: GRAFANA_TOKEN).
        #[arg(long, value_name = "URL")]
        grafana: Option<String>,
        #[command(flatten)]
        report: ReportArgs,
        /// Treat unresolved references as errors, and --validate.
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        params: ParamArgs,
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
        /// The namespace of objects that name none, as `helm install -n` gives them (`helm template` leaves it out).
        #[arg(long, short = 'n', value_name = "NAMESPACE", value_parser = namespace_arg)]
        namespace: Option<String>,
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
        /// The namespace of objects that name none, as `helm install -n` gives them (`helm template` leaves it out).
        #[arg(long, short = 'n', value_name = "NAMESPACE", value_parser = namespace_arg)]
        namespace: Option<String>,
        /// Pull every dashboard of this Grafana (token: GRAFANA_TOKEN) into dashboards/<folder>/<uid>.json.
        #[arg(long, value_name = "URL")]
        grafana: Option<String>,
    },
    /// Upstream Helm charts: vendor them into the project.
    #[command(subcommand)]
    Chart(ChartCommand),
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
    /// Print the params of one environment as the expressions see them.
    #[command(after_help = "Examples:
  infra params --env prod
  infra params --env prod --set grafana.replicas=2 --format json")]
    Params {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The environment; needed when the project has several.
        #[arg(long = "env", short = 'e', value_name = "ENV")]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t = ParamsFormat::Yaml)]
        format: ParamsFormat,
        #[command(flatten)]
        params: ParamArgs,
    },
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  infra completion bash > ~/.local/share/bash-completion/completions/infra
  infra completion zsh > \"${fpath[1]}/_infra\"
  infra completion fish > ~/.config/fish/completions/infra.fish
  infra completion powershell >> $PROFILE")]
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum ChartCommand {
    /// Vendor a chart into the project with `helm pull`, from a repository or an OCI registry.
    #[command(after_help = "Examples:
  infra chart pull https://prometheus-community.github.io/helm-charts kube-prometheus-stack --version 88.5.3
  infra chart pull oci://ghcr.io/grafana/helm-charts/grafana --version 12.11.1 --into charts/

Then point a `charts:` entry's `chart:` at the file, and read `infra plan`.")]
    Pull {
        /// A chart repository URL (then NAME), or an oci:// reference.
        source: String,
        /// The chart's name in the repository.
        name: Option<String>,
        /// The chart version.
        #[arg(long)]
        version: String,
        /// Where to put the chart archive.
        #[arg(long, value_name = "DIR", default_value = "charts")]
        into: PathBuf,
        /// Speak plain HTTP to an OCI registry (a local one).
        #[arg(long)]
        plain_http: bool,
    },
    /// Pull the charts that charts.yaml lists, at the versions it names (after a version bump).
    #[command(after_help = "`infra chart pull` records each chart it pulls in <DIR>/charts.yaml (name, version,
repository, file). Bump a version there (by hand or with a dependency bot), run
`infra chart sync`, point the `chart:` entry at the new file, and read `infra plan`.")]
    Sync {
        /// The folder of charts.yaml and the archives.
        #[arg(long, value_name = "DIR", default_value = "charts")]
        into: PathBuf,
        /// Speak plain HTTP to an OCI registry (a local one).
        #[arg(long)]
        plain_http: bool,
    },
}

/// Params for one run, after the environment's: `--values` files, then
/// `--set`, then `--set-string`.
#[derive(clap::Args)]
struct ParamArgs {
    /// A YAML file of params (repeatable).
    #[arg(long = "values", short = 'f', value_name = "FILE")]
    values: Vec<PathBuf>,
    /// Set a param: `path.to.param=value`, typed as YAML reads it (repeatable).
    #[arg(long, value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Set a param to a string: `path=value` (repeatable).
    #[arg(long, value_name = "PATH=VALUE")]
    set_string: Vec<String>,
}

impl From<ParamArgs> for infra_compiler::load::overrides::Overrides {
    fn from(a: ParamArgs) -> Self {
        infra_compiler::load::overrides::Overrides { values: a.values, set: a.set, set_string: a.set_string }
    }
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
}

/// What the cluster is, for charts and schemas.
#[derive(clap::Args)]
struct ClusterArgs {
    /// The Kubernetes version the output is for, as every chart's .Capabilities.KubeVersion and the schemas of --validate (`1.35`, `v1.35.2`; a trailing `+` is dropped).
    #[arg(long, value_name = "VERSION", value_parser = kube_version_arg)]
    kube_version: Option<String>,
    /// Check every object against the Kubernetes schema of --kube-version (default: the newest infra has) and the CRDs in the build; on with --strict.
    #[arg(long)]
    validate: bool,
}

/// `--kube-version`: what Helm's `--kube-version` accepts; `1.29+`, as some
/// clusters report their version (and Argo CD passes it on), is `1.29`.
fn kube_version_arg(s: &str) -> Result<String, String> {
    let v = s.strip_suffix('+').unwrap_or(s);
    if infra_compiler::eval::charts::is_kube_version(v) {
        Ok(v.to_string())
    } else {
        Err("a Kubernetes version is `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, optionally with a leading `v`".into())
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ParamsFormat {
    Yaml,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
    // For a pull-request comment: hazards first, one collapsed section per object.
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum Deny {
    DataLoss,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Text,
    Dot,
    Mermaid,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let r = Reporter::new(cli.error_format, cli.color);
    // Limits and timeouts from the environment: a value the command cannot
    // use is refused before anything runs.
    let bad = infra_syntax::settings::check_all();
    if !bad.is_empty() {
        let mut diags = infra_syntax::Diagnostics::new();
        for setting in bad {
            diags.push(infra_syntax::Diagnostic::error(infra_syntax::Code::Usage, setting.to_string()));
        }
        return r.failed(&diags, &infra_syntax::Sources::new(), "start");
    }
    match cli.command {
        Command::Build { dir, envs, output, check, kustomization, strict, cluster, params } => {
            let (overrides, kube_version, validate) = (params.into(), cluster.kube_version, cluster.validate || strict);
            let args = commands::build::Args {
                dir,
                envs,
                output,
                check,
                kustomization,
                strict,
                validate,
                overrides,
                kube_version,
            };
            commands::build::run(&r, args)
        }
        Command::Params { dir, env, format, params } => {
            commands::params::run(&r, &dir, env, params.into(), matches!(format, ParamsFormat::Json))
        }
        Command::Graph { dir, env, format } => {
            let format = match format {
                GraphFormat::Text => infra_compiler::link::Format::Text,
                GraphFormat::Dot => infra_compiler::link::Format::Dot,
                GraphFormat::Mermaid => infra_compiler::link::Format::Mermaid,
            };
            commands::graph::run(&r, &dir, env, format)
        }
        Command::Init { dir, name } => commands::init::run(&r, &dir, name),
        Command::Completion { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "infra", &mut script);
            r.stdout(&String::from_utf8_lossy(&script));
            ExitCode::SUCCESS
        }
        Command::Chart(ChartCommand::Pull { source, name, version, into, plain_http }) => {
            commands::chart::pull(&r, &commands::chart::Args { source, name, version, into, plain_http })
        }
        Command::Chart(ChartCommand::Sync { into, plain_http }) => commands::chart::sync(&r, &into, plain_http),
        Command::Plan { dir, envs, against, base, live, namespace, grafana, report, strict, cluster, params } => {
            let (overrides, kube_version, validate) = (params.into(), cluster.kube_version, cluster.validate || strict);
            let args = commands::plan::Args {
                dir,
                envs,
                against,
                base,
                live,
                namespace,
                grafana,
                strict,
                validate,
                overrides,
                kube_version,
            };
            commands::plan::run(&r, args, &report.into())
        }
        Command::Diff { old, new, namespace, report } => {
            commands::diff::run(&r, &old, &new, namespace.as_deref(), &report.into())
        }
        Command::Import { sources, into, name, keep_secrets, namespace, grafana } => match grafana {
            Some(url) if sources.is_empty() => commands::import::grafana(&r, &url, &into),
            Some(_) => r.error(infra_syntax::Diagnostic::error(
                infra_syntax::Code::Usage,
                "import either manifests or --grafana dashboards, not both at once",
            )),
            None => commands::import::manifests(&r, &sources, &into, name, keep_secrets, namespace.as_deref()),
        },
    }
}

/// A namespace given on the command line: a DNS-1123 label, as Kubernetes
/// requires.
fn namespace_arg(s: &str) -> Result<String, String> {
    if infra_k8s::kinds::is_dns1123_label(s) {
        Ok(s.to_string())
    } else {
        Err("a namespace is lowercase letters, digits and `-`, at most 63 characters".into())
    }
}

/// A command line clap refuses: a diagnostic like any other (JSON when
/// `--error-format json` was asked for), with exit code 1 — 2 means
/// "changes" for `plan` and `diff`, so a typo must not read as one.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let args: Vec<String> = std::env::args().collect();
    let json = args.windows(2).any(|w| w[0] == "--error-format" && w[1] == "json")
        || args.iter().any(|a| a == "--error-format=json");
    let format = if json { ErrorFormat::Json } else { ErrorFormat::Human };
    let text = e.render().to_string();
    let message = text.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
    let mut d = infra_syntax::Diagnostic::error(infra_syntax::Code::Usage, message);
    for line in text.lines().skip(1).map(str::trim).filter(|l| !l.is_empty()) {
        d = match line.strip_prefix("tip: ") {
            Some(tip) => d.help(tip),
            None => d.note(line),
        };
    }
    Reporter::new(format, Color::Auto).error(d)
}

impl From<ReportArgs> for commands::plan::Report {
    fn from(a: ReportArgs) -> Self {
        commands::plan::Report {
            format: match a.format {
                ReportFormat::Text => commands::plan::Format::Text,
                ReportFormat::Json => commands::plan::Format::Json,
                ReportFormat::Markdown => commands::plan::Format::Markdown,
            },
            deny_data_loss: matches!(a.deny, Some(Deny::DataLoss)),
            show_secrets: a.show_secrets,
        }
    }
}
