//! The infra compiler: a pipeline of plain data, one folder per stage.
//!
//! ```text
//! files --load/--> Project --eval/--> Resources --link/--> ResourceGraph --emit/--> Output
//! ```
//!
//! - [`load`]: `infra.yaml`, modules, environments and resource files into
//!   spanned nodes; keys checked against [`load::shape`].
//! - [`eval`]: one environment's params, modules, `for_each`, expressions,
//!   dashboards, patches and `common` into plain objects; identities checked.
//! - [`link`]: references, hash suffixes, content and config hashes, and the
//!   apply order, as named passes; the storage warning.
//! - [`emit`]: YAML files and `infra.lock`, written whole or not at all.
//!
//! No stage imports from a later one (`tests/architecture.rs` checks).
//! What infra knows about Kubernetes is in `infra_k8s`; plans are
//! `infra_plan`'s. Each stage pushes diagnostics into one [`Diagnostics`]
//! collector and keeps going where it can, so a run reports every error it
//! finds. [`compile`] runs the stages for a set of environments; the CLI is
//! a thin layer on it.

pub mod cache;
pub mod emit;
pub mod eval;
pub mod link;
pub mod load;
pub mod parallel;

use infra_syntax::{Code, Diagnostic, Diagnostics, Sources};
use std::path::Path;

pub use emit::Output;
pub use link::ResourceGraph;
pub use load::Project;

/// What to compile.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Environments to build; empty means all.
    pub envs: Vec<String>,
    /// Unresolved references are errors, not warnings.
    pub strict: bool,
    /// The Helm that renders charts; default: `INFRA_HELM`, else `helm` on `PATH`.
    pub helm: Option<std::path::PathBuf>,
    /// `--values` and `--set`: params of this run, after the environment's.
    pub overrides: load::overrides::Overrides,
    /// `--kube-version`: the cluster the output is for, as every chart's
    /// `.Capabilities.KubeVersion` (an Argo CD plugin passes the app's).
    pub kube_version: Option<String>,
    /// `--validate`: check every object against its kind's schema
    /// (Kubernetes' of `kube_version`, or a CRD's in the build).
    pub validate: bool,
}

/// The result of compiling a project: the graphs of the environments that
/// compiled, every diagnostic, and the sources they point into.
pub struct Compilation {
    /// The project folder, resolved; `None` when it could not be loaded.
    pub root: Option<std::path::PathBuf>,
    pub sources: Sources,
    pub diagnostics: Diagnostics,
    pub graphs: Vec<ResourceGraph>,
}

impl Compilation {
    pub fn failed(&self) -> bool {
        self.diagnostics.has_errors()
    }
}

/// Loads, evaluates and links the project in `dir`.
pub fn compile(dir: &Path, options: &Options) -> Compilation {
    let mut sources = Sources::new();
    let mut diagnostics = Diagnostics::new();
    let mut graphs = Vec::new();
    let mut root = None;
    if let Some(project) = load::load(dir, &mut sources, &mut diagnostics) {
        root = Some(project.root.clone());
        for name in &options.envs {
            if !project.environments.iter().any(|e| &e.name == name) {
                let known: Vec<&str> = project.environments.iter().map(|e| e.name.as_str()).collect();
                diagnostics.push(
                    Diagnostic::error(Code::UnknownEnvironment, format!("no environment `{name}` in this project"))
                        .note(format!("environments: {}", known.join(", ")))
                        .suggest(name, known.iter().copied()),
                );
            }
        }
        let overrides = options.overrides.load(&mut sources, &mut diagnostics);
        let helm = find_helm(&project, options.helm.as_deref(), &mut diagnostics);
        let version = if options.validate {
            link::schema::kube_version(options.kube_version.as_deref(), &mut diagnostics)
        } else {
            None
        };
        if !diagnostics.has_errors() {
            let engine = eval::expr::Engine::new();
            let link = link::LinkOptions { strict: options.strict, hashing_suffix: project.hashing_suffix };
            let built: Vec<_> = project
                .environments
                .iter()
                .filter(|env| options.envs.is_empty() || options.envs.contains(&env.name))
                .collect();
            // Each environment's diagnostics are kept apart, then merged:
            // a mistake every environment sees is reported once, naming them.
            let several = built.len() > 1;
            let tag = |name: &str| several.then(|| name.to_string());
            let mut evaluated = Vec::new();
            let mut budget = eval::OutputBudget::from_settings();
            for env in built.iter().copied() {
                let mut charts = eval::charts::ChartContext {
                    helm: helm.as_ref(),
                    sources: &mut sources,
                    kube_version: options.kube_version.as_deref(),
                };
                let mut found = Diagnostics::new();
                evaluated.extend(eval::evaluate(
                    &project,
                    env,
                    &overrides,
                    &engine,
                    &mut charts,
                    &mut budget,
                    &mut found,
                ));
                diagnostics.extend_once(found, tag(&env.name).as_deref());
            }
            // The source trees are not needed once every environment is
            // evaluated: freed before linking, where memory peaks.
            drop(built);
            drop(project);
            let mut locator = link::locate::Locator::new(&sources);
            // Read once for every environment.
            let mut schemas = version.map(infra_k8s::schemas::Schemas::new);
            for resources in evaluated {
                let env = tag(&resources.env);
                let mut found = Diagnostics::new();
                if let Some(mut g) = link::link(resources, &link, &mut locator, &mut found) {
                    g.helm = helm.as_ref().map(|h| h.version.clone());
                    link::storage::warn_state_at_risk(&g, &mut found);
                    if let Some(schemas) = &mut schemas {
                        link::schema::check(&g, schemas, &mut locator, &mut found);
                    }
                    graphs.push(g);
                }
                diagnostics.extend_once(found, env.as_deref());
            }
        }
    }
    Compilation { root, sources, diagnostics, graphs }
}

/// The params of one environment as its expressions see them (`infra
/// params`): loaded and checked as a build does, nothing else evaluated.
pub struct ResolvedParams {
    pub sources: Sources,
    pub diagnostics: Diagnostics,
    pub env: String,
    pub params: Option<std::sync::Arc<infra_syntax::Value>>,
}

/// Resolves the params of `env` (or of the project's only environment).
pub fn resolve_params(dir: &Path, env: Option<&str>, overrides: &load::overrides::Overrides) -> ResolvedParams {
    let mut sources = Sources::new();
    let mut diagnostics = Diagnostics::new();
    let mut resolved = None;
    let mut name = env.unwrap_or_default().to_string();
    if let Some(project) = load::load(dir, &mut sources, &mut diagnostics) {
        let layers = overrides.load(&mut sources, &mut diagnostics);
        let known: Vec<&str> = project.environments.iter().map(|e| e.name.as_str()).collect();
        let chosen = match env {
            Some(e) => project.environments.iter().find(|x| x.name == e),
            None if project.environments.len() == 1 => project.environments.first(),
            None => None,
        };
        match chosen {
            Some(e) if !diagnostics.has_errors() => {
                name = e.name.clone();
                let engine = eval::expr::Engine::new();
                let ev = engine.evaluator();
                let mut r = eval::render::Renderer { ev: &ev, diags: &mut diagnostics };
                resolved = Some(eval::environment_params(&mut r, &project, e, &layers));
            }
            Some(_) => {}
            None => {
                let d = match env {
                    Some(e) => {
                        Diagnostic::error(Code::UnknownEnvironment, format!("no environment `{e}` in this project"))
                            .suggest(e, known.iter().copied())
                    }
                    None => {
                        Diagnostic::error(Code::Usage, "this project has several environments: choose one with --env")
                    }
                };
                diagnostics.push(d.note(format!("environments: {}", known.join(", "))));
            }
        }
    }
    let params = resolved.filter(|_| !diagnostics.has_errors());
    ResolvedParams { sources, diagnostics, env: name, params }
}

/// Helm, found once when the project (or a module) has charts.
fn find_helm(project: &load::Project, path: Option<&Path>, diagnostics: &mut Diagnostics) -> Option<eval::helm::Helm> {
    let span = project.main.distinct().iter().find_map(|m| m.charts.first().map(|c| c.span))?;
    match eval::helm::Helm::find(path) {
        Ok(h) => Some(h),
        Err(why) => {
            diagnostics.push(
                Diagnostic::error(Code::HelmMissing, format!("this project has charts, and Helm cannot be used: {why}"))
                    .at(span, "a chart")
                    .help("install Helm (https://helm.sh/docs/intro/install/, or scripts/install-k8s-tools in this repository) or point INFRA_HELM at it"),
            );
            None
        }
    }
}
