//! The load stage: reads `infra.yaml`, its modules, environments and
//! resource files into a [`Project`] of spanned nodes. Nothing is evaluated
//! here; shapes are checked so that later stages can trust them.

pub mod charts;
pub mod env_file;
pub mod files;
pub mod overrides;
pub mod shape;

use files as paths;
use infra_syntax::json::JsonError;
use infra_syntax::source::{io_reason, max_source_bytes, read_text};
use infra_syntax::{Code, Diagnostic, Diagnostics, FileId, Map, Node, NodeKind, Sources, Span, Value, yaml};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// A loaded project: the top-level module plus environments.
pub struct Project {
    pub root: PathBuf,
    pub main: Rc<Module>,
    pub environments: Vec<Environment>,
    /// `hashing: suffix`: every ConfigMap and Secret gets a hash suffix.
    pub hashing_suffix: bool,
}

/// A directory with an `infra.yaml`: the project itself or a module.
pub struct Module {
    pub dir: Arc<Path>,
    pub name: String,
    pub file: FileId,
    /// The defaults of `params:` as values: the spanned tree is not kept,
    /// since params can be most of a large project.
    pub params: Arc<Value>,
    pub schema: Vec<SchemaRule>,
    pub resources: Vec<ResourceFile>,
    pub modules: Vec<ModuleUse>,
    pub dashboards: Vec<DashboardEntry>,
    pub charts: Vec<charts::Chart>,
    pub common: Option<Node>,
    /// Patches of this module's objects (those of the modules it uses
    /// included), after its components'.
    pub patches: Vec<Patch>,
    pub components: Vec<ComponentUse>,
}

/// What an `infra.yaml` is: which keys it may have.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Project,
    Module,
    /// Resources, patches and `common` that a project, module or
    /// environment opts into: no params, modules or environments of its own.
    Component,
}

/// The keys a component's `infra.yaml` may have.
pub const COMPONENT_KEYS: &[&str] = &["resources", "patches", "common", "components", "dashboards", "charts"];

/// One entry of `components:`: a component folder, used when `when` holds
/// (evaluated with its user's params).
pub struct ComponentUse {
    pub span: Span,
    pub component: Rc<Module>,
    pub when: Option<Node>,
}

/// An environment's values for one of the project's charts, merged over
/// the chart's own and checked the same way.
#[derive(Clone)]
pub struct ChartValues {
    pub chart: String,
    pub span: Span,
    pub values: Node,
}

/// One `dashboards:` entry: its fields (evaluated per environment) and the
/// JSON files it matched, parsed once.
pub struct DashboardEntry {
    pub node: Node,
    pub files: Vec<DashboardFile>,
}

pub struct DashboardFile {
    pub file: FileId,
    /// The path relative to the project root, for stable uids and messages.
    pub path: String,
    pub text: Arc<str>,
    pub json: serde_json::Value,
}

pub struct ResourceFile {
    pub file: FileId,
    pub docs: Vec<Node>,
}

impl Module {
    /// This module and every module it uses, each once however many times
    /// it is used (modules share what they use: a diamond is not a tree).
    pub fn distinct(&self) -> Vec<&Module> {
        fn visit<'m>(m: &'m Module, out: &mut Vec<&'m Module>) {
            if out.iter().any(|seen| std::ptr::eq(*seen, m)) {
                return;
            }
            out.push(m);
            for used in &m.modules {
                visit(&used.module, out);
            }
        }
        let mut out = Vec::new();
        visit(self, &mut out);
        out
    }
}

/// `modules: {name: {source, params, when}}`.
pub struct ModuleUse {
    pub name: String,
    pub span: Span,
    pub module: Rc<Module>,
    pub params: Option<Node>,
    /// Whether the instance is built: a bool or an expression over the
    /// parent's params.
    pub when: Option<Node>,
}

/// One `schema:` entry: constraints on the parameter at a dotted path.
pub struct SchemaRule {
    pub path: String,
    pub span: Span,
    pub pattern: Option<(String, Span)>,
    pub allowed: Option<Vec<Value>>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub required: bool,
    pub required_when: Option<(String, Span)>,
    pub doc: Option<String>,
}

pub struct Environment {
    pub name: String,
    pub span: Span,
    pub params: Option<Node>,
    pub patches: Vec<Patch>,
    pub common: Option<Node>,
    pub components: Vec<ComponentUse>,
    pub charts: Vec<ChartValues>,
}

/// One patch; its parts are evaluated when applied. A `file:` entry is one
/// patch per document of the file.
pub struct Patch {
    pub span: Span,
    pub target: Option<Node>,
    pub body: PatchBody,
    /// `rename: true`: the patch may change its object's kind, name or
    /// namespace.
    pub rename: bool,
    pub when: Option<Node>,
}

pub enum PatchBody {
    Merge(Node),
    Ops(Node),
}

/// Loads the project in `dir`. Errors are pushed into `diags`; `None` when
/// the project cannot be loaded far enough to evaluate.
pub fn load(dir: &Path, sources: &mut Sources, diags: &mut Diagnostics) -> Option<Project> {
    let root = match dir.canonicalize() {
        Ok(r) => r,
        Err(e) => {
            diags.push(Diagnostic::error(
                Code::CannotRead,
                format!("cannot open project directory {}: {}", dir.display(), io_reason(&e)),
            ));
            return None;
        }
    };
    let mut loader = Loader { root: root.clone(), sources, diags, stack: Vec::new(), loaded: HashMap::new() };
    let (main, doc) = loader.module(&root, None, Role::Project)?;
    if let Some(required) = doc.get("required_version") {
        check_required_version(required, loader.diags);
    }
    let mut environments = Vec::new();
    let mut hashing_suffix = false;
    if let Some(h) = doc.get("hashing") {
        match h.as_str() {
            Some("suffix") => hashing_suffix = true,
            Some("none") => {}
            _ => loader.diags.push(
                Diagnostic::error(Code::WrongType, "`hashing` is `suffix` or `none`")
                    .at(h.span, "not `suffix` or `none`"),
            ),
        }
    }
    if let Some(envs) = doc.get("environments")
        && let Some(entries) = loader.map_of(envs, "environments")
    {
        for (key, node) in entries {
            if !valid_name(&key.name) {
                loader.diags.push(
                    Diagnostic::error(Code::InvalidName, format!("invalid environment name `{}`", key.name))
                        .at(key.span, "use lowercase letters, digits and `-`"),
                );
                continue;
            }
            if let Some(env) = loader.environment(&key.name, key.span, node) {
                environments.push(env);
            }
        }
    }
    if environments.is_empty() {
        let span = Span::file(main.file);
        environments.push(Environment {
            name: "default".into(),
            span,
            params: None,
            patches: Vec::new(),
            common: None,
            components: Vec::new(),
            charts: Vec::new(),
        });
    }
    Some(Project { root, main, environments, hashing_suffix })
}

/// `required_version`: the running infra must meet it, so that a project's
/// output does not change with whoever builds it.
fn check_required_version(node: &Node, diags: &mut Diagnostics) {
    let running = env!("CARGO_PKG_VERSION");
    let requirement = node.as_str().map(semver::VersionReq::parse);
    let version = semver::Version::parse(running).expect("the crate's version is semver");
    match requirement {
        Some(Ok(req)) if req.matches(&version) => {}
        Some(Ok(req)) => diags.push(
            Diagnostic::error(
                Code::RequiredVersion,
                format!("this project requires infra {req}, and this is infra {running}"),
            )
            .at(node.span, "required here")
            .help(format!("install a matching version (`cargo install --locked infra --version '{req}'`), or change the requirement")),
        ),
        Some(Err(e)) => diags.push(
            Diagnostic::error(Code::RequiredVersion, format!("`required_version` is not a version requirement: {e}"))
                .at(node.span, "not a requirement")
                .help("write it as Cargo does: `=0.1.0`, `0.1`, `>=0.1, <0.3`"),
        ),
        None => diags.push(
            Diagnostic::error(Code::RequiredVersion, "`required_version` is a string")
                .at(node.span, format!("a {}", node.type_name()))
                .help("quote it: `required_version: \"=0.1.0\"`"),
        ),
    }
}

/// `[a-z0-9-]+`, as names of projects, modules and environments are.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

struct Loader<'a> {
    root: PathBuf,
    sources: &'a mut Sources,
    diags: &'a mut Diagnostics,
    /// Modules being loaded, to refuse a module that includes itself.
    stack: Vec<PathBuf>,
    /// Modules loaded, by directory: each is read once however often it is
    /// used (a chain of modules that each use the next twice would
    /// otherwise cost 2^depth loads).
    /// (A folder used as a module and as a component is read as each.)
    loaded: HashMap<(PathBuf, Role), Rc<Module>>,
}

impl Loader<'_> {
    /// Reads and parses a YAML file (once per path), returning its documents.
    fn yaml_file(&mut self, path: &Path, used_at: Option<Span>) -> Option<(FileId, Vec<Node>)> {
        let shown = paths::display(&self.root, path);
        let text = match read_text(path, max_source_bytes()) {
            Ok(t) => t,
            Err(e) => {
                let mut d = Diagnostic::error(Code::CannotRead, format!("cannot read {shown}: {e}"));
                if let Some(span) = used_at {
                    d = d.at(span, "named here");
                }
                self.diags.push(d);
                return None;
            }
        };
        let file = self.sources.add(path, shown, Arc::from(text));
        match yaml::load(file, &self.sources.get(file).text) {
            Ok(docs) => Some((file, docs)),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    fn module(&mut self, dir: &Path, used_at: Option<Span>, role: Role) -> Option<(Rc<Module>, Node)> {
        if self.stack.iter().any(|d| d == dir) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .chain(std::iter::once(&dir.to_path_buf()))
                .map(|d| paths::display(&self.root, d))
                .map(|d| if d.is_empty() { ".".into() } else { d })
                .collect();
            let mut d = Diagnostic::error(Code::ModuleCycle, format!("module cycle: {}", chain.join(" -> ")));
            if let Some(span) = used_at {
                d = d.at(span, "includes a module that includes it");
            }
            self.diags.push(d);
            return None;
        }
        // Like every file a project names, its infra.yaml may not be a
        // link that leaves the project (to a kubeconfig, a key).
        let path = match paths::resolve_inside(&self.root, dir, "infra.yaml") {
            Err(d) if d.code == Code::OutsideProject => {
                let what = if used_at.is_some() { "module's" } else { "project's" };
                let mut d = Diagnostic::error(
                    Code::OutsideProject,
                    format!("the {what} infra.yaml in {} is a symbolic link that leaves the project", dir.display()),
                )
                .help("infra reads no file outside the project root; replace the link with the file");
                if let Some(span) = used_at {
                    d = d.at(span, "module source named here");
                }
                self.diags.push(d);
                return None;
            }
            Ok(p) => p,
            Err(_) => dir.join("infra.yaml"),
        };
        if !path.is_file() {
            let what = match role {
                Role::Project => "project",
                Role::Module => "module",
                Role::Component => "component",
            };
            let mut d =
                Diagnostic::error(Code::CannotRead, format!("no infra.yaml in {what} directory {}", dir.display()));
            if let Some(span) = used_at {
                d = d.at(span, "module source named here");
            } else {
                d = d.help("`infra init` creates a starter project");
            }
            self.diags.push(d);
            return None;
        }
        let (file, docs) = self.yaml_file(&path, used_at)?;
        let mut doc = match docs.into_iter().next() {
            Some(d @ Node { kind: NodeKind::Map(_), .. }) => d,
            Some(d) if d.is_null() => Node { kind: NodeKind::Map(Vec::new()), span: d.span },
            Some(d) => {
                self.diags.push(
                    Diagnostic::error(Code::WrongType, "infra.yaml must be a mapping").at(d.span, "not a mapping"),
                );
                return None;
            }
            None => Node { kind: NodeKind::Map(Vec::new()), span: Span::file(file) },
        };
        let is_module = role != Role::Project;
        for (k, _) in doc.entries().unwrap_or_default() {
            let allowed = match role {
                Role::Project => shape::PROJECT.has(&k.name),
                Role::Module => shape::PROJECT.module_keys().any(|key| key == k.name),
                Role::Component => COMPONENT_KEYS.contains(&k.name.as_str()),
            };
            if !allowed {
                let mut d = Diagnostic::error(Code::UnknownKey, format!("unknown key `{}` in infra.yaml", k.name))
                    .at(k.span, "not a project key");
                d = match role {
                    Role::Component if shape::PROJECT.has(&k.name) => d.help(
                        "a component has resources, patches, common, components, dashboards and charts; it uses the params of whoever uses it",
                    ),
                    Role::Component => d.suggest(&k.name, COMPONENT_KEYS.iter().copied()),
                    Role::Module if shape::PROJECT.has(&k.name) => {
                        d.help("environments and hashing belong to the project, not to a module")
                    }
                    Role::Module => d.suggest(&k.name, shape::PROJECT.module_keys()),
                    Role::Project => d.suggest(&k.name, shape::PROJECT.keys()),
                };
                self.diags.push(d);
            }
        }
        let name = match doc.get("name") {
            Some(n) => match n.as_str() {
                Some(s) if valid_name(s) => s.to_string(),
                _ => {
                    self.diags.push(
                        Diagnostic::error(Code::InvalidName, "the project name must match [a-z0-9-]+")
                            .at(n.span, "invalid name"),
                    );
                    String::new()
                }
            },
            None if is_module => String::new(),
            None => {
                self.diags.push(
                    Diagnostic::error(Code::MissingField, "infra.yaml has no `name`")
                        .at(doc.span, "add `name: <project>`"),
                );
                String::new()
            }
        };
        // Params can be most of a large project: moved out of the tree and
        // converted, never copied as nodes.
        let params = match doc.take("params") {
            Some(p) if matches!(p.kind, NodeKind::Map(_)) => {
                self.refuse_expressions(&p);
                Arc::new(p.into_value())
            }
            Some(p) if p.is_null() => Arc::new(Value::Map(Map::new())),
            Some(p) => {
                self.diags
                    .push(Diagnostic::error(Code::WrongType, "`params` must be a mapping").at(p.span, "not a mapping"));
                Arc::new(Value::Map(Map::new()))
            }
            None => Arc::new(Value::Map(Map::new())),
        };
        self.stack.push(dir.to_path_buf());
        let schema = doc.get("schema").map(|s| self.schema(s)).unwrap_or_default();
        let resources = doc.get("resources").map(|r| self.resources(dir, r)).unwrap_or_default();
        let modules = doc.get("modules").map(|m| self.module_uses(dir, m)).unwrap_or_default();
        let dashboards = match doc.get("dashboards") {
            Some(d) => self.dashboards(dir, d),
            None => Vec::new(),
        };
        let charts = doc.get("charts").map(|c| self.charts(dir, c)).unwrap_or_default();
        let patches = doc.get("patches").map(|p| self.patches(dir, p)).unwrap_or_default();
        let components = doc.get("components").map(|c| self.components(dir, c)).unwrap_or_default();
        self.stack.pop();
        let common = doc.get("common").cloned();
        if let Some(c) = &common {
            self.check_common(c);
        }
        let module = Rc::new(Module {
            dir: Arc::from(dir),
            name,
            file,
            params,
            schema,
            resources,
            modules,
            dashboards,
            charts,
            common,
            patches,
            components,
        });
        self.loaded.insert((dir.to_path_buf(), role), module.clone());
        Some((module, doc))
    }

    /// `charts:`: each entry's keys checked, its chart read once (digest
    /// and default values), its values files parsed. Values are evaluated
    /// per environment.
    fn charts(&mut self, dir: &Path, node: &Node) -> Vec<charts::Chart> {
        let Some(entries) = self.map_of(node, "charts") else { return Vec::new() };
        let mut out = Vec::new();
        for (key, entry) in entries {
            if !valid_name(&key.name) {
                self.diags.push(
                    Diagnostic::error(Code::InvalidName, format!("invalid chart entry name `{}`", key.name))
                        .at(key.span, "use lowercase letters, digits and `-`"),
                );
                continue;
            }
            let Some(fields) = self.map_of(entry, &format!("charts.{}", key.name)) else { continue };
            for (k, _) in fields {
                if !shape::CHART.has(&k.name) {
                    self.unknown_key(
                        format!("unknown key `{}` in chart `{}`", k.name, key.name),
                        k.span,
                        "not a chart key",
                        &k.name,
                        shape::CHART.keys(),
                    );
                }
            }
            let Some(chart_node) = entry.get("chart") else {
                self.diags.push(
                    Diagnostic::error(Code::MissingField, format!("chart `{}` has no `chart`", key.name))
                        .at(key.span, "add `chart: charts/<name>-<version>.tgz`"),
                );
                continue;
            };
            let Some(rel) = chart_node.as_str() else {
                self.diags.push(
                    Diagnostic::error(Code::WrongType, "`chart` is the path of a chart")
                        .at(chart_node.span, "not a string"),
                );
                continue;
            };
            let path = match paths::resolve_inside(&self.root, dir, rel) {
                Ok(p) => p,
                Err(d) => {
                    self.diags.push(d.code_as(Code::ChartUnreadable).at(chart_node.span, "this chart"));
                    continue;
                }
            };
            let (digest, defaults, charts::Found { commented, reads }) = match charts::read_chart(&path, &self.root) {
                Ok(read) => read,
                Err(e) => {
                    self.diags.push(charts::unreadable(rel, e, chart_node.span));
                    continue;
                }
            };
            let mut values_files = Vec::new();
            if let Some(list) = entry.get("values_files") {
                for f in self.list_of(list, "values_files").unwrap_or_default() {
                    for p in self.expand(dir, f, "values_files") {
                        let Some((_, docs)) = self.yaml_file(&p, Some(f.span)) else { continue };
                        match docs.into_iter().next() {
                            Some(doc) if matches!(doc.kind, NodeKind::Map(_)) => values_files.push(doc),
                            Some(doc) if doc.is_null() => {}
                            Some(doc) => self.diags.push(
                                Diagnostic::error(Code::ChartValues, "a values file is a mapping of chart values")
                                    .at(doc.span, format!("a {}, not a mapping", doc.type_name())),
                            ),
                            None => {}
                        }
                    }
                }
            }
            out.push(charts::Chart {
                name: key.name.to_string(),
                span: key.span,
                node: entry.clone(),
                path,
                root: self.root.clone(),
                shown: rel.to_string(),
                digest,
                defaults,
                commented,
                reads,
                values_files,
            });
        }
        out
    }

    /// An unknown key, with the closest known one as a hint.
    fn unknown_key<'c>(
        &mut self,
        message: String,
        span: Span,
        label: &str,
        word: &str,
        known: impl IntoIterator<Item = &'c str>,
    ) {
        self.diags.push(Diagnostic::error(Code::UnknownKey, message).at(span, label).suggest(word, known));
    }

    /// Params defaults are values: an expression there would be written out
    /// as its text, so it is an error at the expression.
    fn refuse_expressions(&mut self, node: &Node) {
        match &node.kind {
            NodeKind::Str(s, _)
                if infra_syntax::template::segments(s)
                    .is_some_and(|mut parts| parts.any(|p| !matches!(p, Ok(infra_syntax::template::Segment::Text(_))))) =>
            {
                self.diags.push(
                Diagnostic::error(Code::ExpressionNotEvaluated, "params defaults are values, not expressions")
                    .at(node.span, "never evaluated")
                    .help("write the value itself, or compute it where it is used (a resource) or in an environment's params"),
                )
            }
            NodeKind::Seq(items) => items.iter().for_each(|n| self.refuse_expressions(n)),
            NodeKind::Map(entries) => entries.iter().for_each(|(_, n)| self.refuse_expressions(n)),
            _ => {}
        }
    }

    fn map_of<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(infra_syntax::Key, Node)]> {
        match &node.kind {
            NodeKind::Map(entries) => Some(entries),
            NodeKind::Null => Some(&[]),
            _ => {
                self.diags.push(
                    Diagnostic::error(Code::WrongType, format!("`{what}` must be a mapping"))
                        .at(node.span, format!("found a {}", node.type_name())),
                );
                None
            }
        }
    }

    fn list_of<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.kind {
            NodeKind::Seq(items) => Some(items),
            NodeKind::Null => Some(&[]),
            _ => {
                self.diags.push(
                    Diagnostic::error(Code::WrongType, format!("`{what}` must be a list"))
                        .at(node.span, format!("found a {}", node.type_name())),
                );
                None
            }
        }
    }

    fn check_common(&mut self, node: &Node) {
        let Some(entries) = self.map_of(node, "common") else {
            return;
        };
        for (k, v) in entries {
            // An expression yields the map or list: checked when evaluated.
            let expression = v.as_str().is_some_and(|s| s.contains("${{"));
            match shape::COMMON.fields.iter().find(|f| f.key == k.name).map(|f| f.ty) {
                Some(shape::Ty::StringMap | shape::Ty::ListOf(_)) if expression => {}
                Some(shape::Ty::StringMap) => {
                    self.map_of(v, &format!("common.{}", k.name));
                }
                Some(shape::Ty::ListOf(entry)) => {
                    for item in self.list_of(v, &format!("common.{}", k.name)).unwrap_or_default() {
                        self.check_keys(item, entry, &format!("a common.{} entry", k.name));
                    }
                }
                Some(_) => {}
                None => self.unknown_key(
                    format!("unknown key `{}` in `common`", k.name),
                    k.span,
                    &shape::COMMON.expected(),
                    &k.name,
                    shape::COMMON.keys(),
                ),
            }
        }
    }

    /// The keys of a map against a section's, unknown ones reported with
    /// the closest known one.
    fn check_keys(&mut self, node: &Node, section: &shape::Section, what: &str) {
        let Some(entries) = self.map_of(node, what) else { return };
        for (k, _) in entries {
            if !section.has(&k.name) {
                self.unknown_key(
                    format!("unknown key `{}` in {what}", k.name),
                    k.span,
                    &section.expected(),
                    &k.name,
                    section.keys(),
                );
            }
        }
    }

    /// The files a path or glob node matches, inside the project; problems
    /// are reported at the node.
    fn expand(&mut self, dir: &Path, node: &Node, what: &str) -> Vec<PathBuf> {
        let Some(pattern) = node.as_str() else {
            self.diags.push(
                Diagnostic::error(Code::WrongType, format!("a `{what}` entry is a file path or glob"))
                    .at(node.span, "not a string"),
            );
            return Vec::new();
        };
        match paths::glob_inside(&self.root, dir, pattern) {
            Ok(matches) if matches.is_empty() => {
                self.diags.push(
                    Diagnostic::error(Code::GlobMatchesNothing, format!("`{pattern}` matches no file"))
                        .at(node.span, "no file matches"),
                );
                matches
            }
            Ok(matches) => matches,
            Err(d) => {
                self.diags.push(d.at(node.span, format!("in this {what} entry")));
                Vec::new()
            }
        }
    }

    fn resources(&mut self, dir: &Path, node: &Node) -> Vec<ResourceFile> {
        let mut out = Vec::new();
        let Some(items) = self.list_of(node, "resources") else {
            return out;
        };
        let mut seen = HashSet::new();
        for item in items {
            // A glob never means a project's or module's own `infra.yaml`
            // (`*.yaml` beside it): that is not a manifest.
            let glob = item.as_str().is_some_and(|p| p.contains(['*', '?', '[']));
            for path in self.expand(dir, item, "resources") {
                if glob && path.file_name().is_some_and(|n| n == "infra.yaml") {
                    continue;
                }
                if !seen.insert(path.clone()) {
                    continue;
                }
                if let Some((file, docs)) = self.yaml_file(&path, Some(item.span)) {
                    out.push(ResourceFile { file, docs });
                }
            }
        }
        out
    }

    fn dashboards(&mut self, dir: &Path, node: &Node) -> Vec<DashboardEntry> {
        let mut out = Vec::new();
        for entry in self.list_of(node, "dashboards").unwrap_or_default() {
            let Some(fields) = self.map_of(entry, "a dashboards entry") else { continue };
            for (k, _) in fields {
                if !shape::DASHBOARDS.has(&k.name) {
                    self.unknown_key(
                        format!("unknown key `{}` in a dashboards entry", k.name),
                        k.span,
                        "not a dashboards key",
                        &k.name,
                        shape::DASHBOARDS.keys(),
                    );
                }
            }
            let patterns: Vec<&Node> = match entry.get("files") {
                Some(f @ Node { kind: NodeKind::Str(..), .. }) => vec![f],
                Some(Node { kind: NodeKind::Seq(items), .. }) => items.iter().collect(),
                Some(other) => {
                    self.diags.push(
                        Diagnostic::error(Code::WrongType, "`files` is a glob or a list of globs")
                            .at(other.span, format!("found a {}", other.type_name())),
                    );
                    continue;
                }
                None => {
                    self.diags.push(
                        Diagnostic::error(Code::MissingField, "a dashboards entry needs `files`")
                            .at(entry.span, "add `files: dashboards/*.json`"),
                    );
                    continue;
                }
            };
            let mut files = Vec::new();
            for pattern_node in patterns {
                for path in self.expand(dir, pattern_node, "files") {
                    if let Some(f) = self.dashboard_file(&path, pattern_node.span) {
                        files.push(f);
                    }
                }
            }
            out.push(DashboardEntry { node: entry.clone(), files });
        }
        out
    }

    /// Reads and parses one dashboard JSON file; a syntax error points at
    /// its line and column.
    fn dashboard_file(&mut self, path: &Path, used_at: Span) -> Option<DashboardFile> {
        let shown = paths::display(&self.root, path);
        let text = match read_text(path, max_source_bytes()) {
            Ok(t) => t,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(Code::CannotRead, format!("cannot read {shown}: {e}")).at(used_at, "named here"),
                );
                return None;
            }
        };
        // A byte order mark (some Windows editors write one) is not JSON and
        // not part of the dashboard.
        let text = text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text);
        let file = self.sources.add(path, shown.clone(), Arc::from(text));
        match infra_syntax::json::parse(self.sources.get(file).text.as_bytes()) {
            Ok(json) => Some(DashboardFile { file, path: shown, text: self.sources.get(file).text.clone(), json }),
            Err(e @ JsonError::TooLarge) => {
                self.diags
                    .push(Diagnostic::error(Code::DashboardJson, format!("{shown}: {e}")).at(used_at, "named here"));
                None
            }
            Err(JsonError::Syntax(e)) => {
                let at = infra_syntax::Pos { line: e.line() as u32, col: e.column().max(1) as u32 };
                let span = Span::new(file, at, infra_syntax::Pos { line: at.line, col: at.col + 1 });
                self.diags.push(
                    Diagnostic::error(Code::DashboardJson, format!("invalid dashboard JSON: {e}")).at(span, "here"),
                );
                None
            }
        }
    }

    fn module_uses(&mut self, dir: &Path, node: &Node) -> Vec<ModuleUse> {
        let mut out = Vec::new();
        let Some(entries) = self.map_of(node, "modules") else {
            return out;
        };
        for (key, spec) in entries {
            if !valid_name(&key.name) {
                self.diags.push(
                    Diagnostic::error(Code::InvalidName, format!("invalid module instance name `{}`", key.name))
                        .at(key.span, "use lowercase letters, digits and `-`"),
                );
                continue;
            }
            let Some(fields) = self.map_of(spec, &format!("modules.{}", key.name)) else {
                continue;
            };
            for (k, _) in fields {
                if !shape::MODULE.has(&k.name) {
                    self.unknown_key(
                        format!("unknown key `{}` in a module instance", k.name),
                        k.span,
                        "expected `source`, `params` or `when`",
                        &k.name,
                        shape::MODULE.keys(),
                    );
                }
            }
            let Some(source) = spec.get("source") else {
                self.diags.push(
                    Diagnostic::error(Code::MissingField, format!("module `{}` has no `source`", key.name))
                        .at(key.span, "add `source: <directory>`"),
                );
                continue;
            };
            if let Some(module) = self.used_folder(dir, source, Role::Module) {
                out.push(ModuleUse {
                    name: key.name.to_string(),
                    span: key.span,
                    module,
                    params: spec.get("params").cloned(),
                    when: spec.get("when").cloned(),
                });
            }
        }
        out
    }

    fn schema(&mut self, node: &Node) -> Vec<SchemaRule> {
        let mut out = Vec::new();
        let Some(entries) = self.map_of(node, "schema") else {
            return out;
        };
        for (key, spec) in entries {
            let Some(fields) = self.map_of(spec, &format!("schema.{}", key.name)) else {
                continue;
            };
            let mut rule = SchemaRule {
                path: key.name.to_string(),
                span: key.span,
                pattern: None,
                allowed: None,
                min: None,
                max: None,
                required: false,
                required_when: None,
                doc: None,
            };
            for (k, v) in fields {
                let bad = |what: &str| {
                    Diagnostic::error(Code::WrongType, format!("schema `{}`: `{}` must be {what}", key.name, k.name))
                        .at(v.span, format!("found a {}", v.type_name()))
                };
                match k.name.as_str() {
                    "pattern" => match v.as_str() {
                        Some(p) => rule.pattern = Some((p.to_string(), v.span)),
                        None => self.diags.push(bad("a regular expression string")),
                    },
                    "enum" => match v.items() {
                        Some(items) => rule.allowed = Some(items.iter().map(Node::to_value).collect()),
                        None => self.diags.push(bad("a list")),
                    },
                    "min" | "max" => {
                        let n = match v.kind {
                            NodeKind::Int(i) => Some(i as f64),
                            NodeKind::Float(f) => Some(f),
                            _ => None,
                        };
                        match n {
                            None => self.diags.push(bad("a number")),
                            Some(n) if k.name == "min" => rule.min = Some(n),
                            Some(n) => rule.max = Some(n),
                        }
                    }
                    "required" => match v.kind {
                        NodeKind::Bool(b) => rule.required = b,
                        _ => self.diags.push(bad("true or false")),
                    },
                    "required_when" => match v.as_str() {
                        Some(p) => rule.required_when = Some((p.to_string(), v.span)),
                        None => self.diags.push(bad("the dotted path of a bool parameter")),
                    },
                    "doc" => match v.as_str() {
                        Some(d) => rule.doc = Some(d.to_string()),
                        None => self.diags.push(bad("a string")),
                    },
                    other => {
                        self.unknown_key(
                            format!("unknown schema constraint `{other}`"),
                            k.span,
                            "not a constraint",
                            other,
                            shape::SCHEMA_RULE.keys(),
                        );
                    }
                }
            }
            out.push(rule);
        }
        out
    }

    fn environment(&mut self, name: &str, span: Span, node: &Node) -> Option<Environment> {
        // Paths in an environment file are relative to it, as in a
        // kustomization; an inline environment's to the project.
        let (doc, dir) = match &node.kind {
            NodeKind::Str(rel, _) => {
                let path = match paths::resolve_inside(&self.root, &self.root, rel) {
                    Ok(p) => p,
                    Err(d) => {
                        self.diags.push(d.at(node.span, "environment file"));
                        return None;
                    }
                };
                let (file, docs) = self.yaml_file(&path, Some(node.span))?;
                let dir = path.parent().map_or_else(|| self.root.clone(), Path::to_path_buf);
                (docs.into_iter().next().unwrap_or(Node { kind: NodeKind::Null, span: Span::file(file) }), dir)
            }
            _ => (node.clone(), self.root.clone()),
        };
        let entries = self.map_of(&doc, &format!("environments.{name}"))?;
        for (k, _) in entries {
            if !shape::ENVIRONMENT.has(&k.name) {
                self.unknown_key(
                    format!("unknown key `{}` in environment `{name}`", k.name),
                    k.span,
                    &shape::ENVIRONMENT.expected(),
                    &k.name,
                    shape::ENVIRONMENT.keys(),
                );
            }
        }
        let patches = doc.get("patches").map(|p| self.patches(&dir, p)).unwrap_or_default();
        let components = doc.get("components").map(|c| self.components(&dir, c)).unwrap_or_default();
        let charts = doc.get("charts").map(|c| self.chart_values(c)).unwrap_or_default();
        let common = doc.get("common").cloned();
        if let Some(c) = &common {
            self.check_common(c);
        }
        let params = doc.get("params").cloned();
        if let Some(p) = &params {
            self.map_of(p, "params");
        }
        Some(Environment { name: name.to_string(), span, params, patches, common, components, charts })
    }

    /// An environment's `charts: {name: {values: ...}}`.
    fn chart_values(&mut self, node: &Node) -> Vec<ChartValues> {
        let mut out = Vec::new();
        for (key, entry) in self.map_of(node, "charts").unwrap_or_default() {
            self.check_keys(entry, &shape::CHART_VALUES, &format!("charts.{}", key.name));
            if let Some(values) = entry.get("values")
                && self.map_of(values, &format!("charts.{}.values", key.name)).is_some()
            {
                out.push(ChartValues { chart: key.name.to_string(), span: key.span, values: values.clone() });
            }
        }
        out
    }

    /// `components:`: each entry a component folder, or `{source, when}`.
    fn components(&mut self, dir: &Path, node: &Node) -> Vec<ComponentUse> {
        let mut out = Vec::new();
        for entry in self.list_of(node, "components").unwrap_or_default() {
            let (source, when) = match &entry.kind {
                NodeKind::Str(..) => (entry, None),
                NodeKind::Map(_) => {
                    self.check_keys(entry, &shape::COMPONENT, "a components entry");
                    match entry.get("source") {
                        Some(s) => (s, entry.get("when").cloned()),
                        None => {
                            self.diags.push(
                                Diagnostic::error(Code::MissingField, "a components entry needs `source`")
                                    .at(entry.span, "add `source: <directory>`"),
                            );
                            continue;
                        }
                    }
                }
                _ => {
                    self.diags.push(
                        Diagnostic::error(Code::WrongType, "a components entry is a folder or `{source, when}`")
                            .at(entry.span, format!("a {}", entry.type_name())),
                    );
                    continue;
                }
            };
            if let Some(component) = self.used_folder(dir, source, Role::Component) {
                out.push(ComponentUse { span: source.span, component, when });
            }
        }
        out
    }

    /// The module or component a `source:` names (relative to `dir`, inside
    /// the project), read once per role however often it is used.
    fn used_folder(&mut self, dir: &Path, source: &Node, role: Role) -> Option<Rc<Module>> {
        let Some(rel) = source.as_str() else {
            self.diags.push(
                Diagnostic::error(Code::WrongType, "`source` is a directory path").at(source.span, "not a string"),
            );
            return None;
        };
        let what = if role == Role::Component { "component source" } else { "module source" };
        let folder = match paths::resolve_inside(&self.root, dir, rel) {
            Ok(d) => d,
            Err(d) => {
                self.diags.push(d.at(source.span, what));
                return None;
            }
        };
        match self.loaded.get(&(folder.clone(), role)) {
            Some(m) => Some(m.clone()),
            None => self.module(&folder, Some(source.span), role).map(|(m, _)| m),
        }
    }

    /// `patches:`, relative to `dir`.
    fn patches(&mut self, dir: &Path, node: &Node) -> Vec<Patch> {
        let mut out = Vec::new();
        for p in self.list_of(node, "patches").unwrap_or_default() {
            self.patch(dir, p, &mut out);
        }
        out
    }

    fn patch(&mut self, dir: &Path, node: &Node, out: &mut Vec<Patch>) {
        let Some(entries) = self.map_of(node, "a patch") else { return };
        let mut target = None;
        let mut body = None;
        let mut file = None;
        let mut rename = false;
        let mut when = None;
        for (k, v) in entries {
            match k.name.as_str() {
                "target" => {
                    self.check_keys(v, &shape::TARGET, "a patch target");
                    target = Some(v.clone());
                }
                "merge" | "ops" | "file" if body.is_some() || file.is_some() => {
                    self.diags.push(
                        Diagnostic::error(Code::WrongType, "a patch has one of `merge`, `ops` and `file`")
                            .at(k.span, "second patch body"),
                    );
                }
                "merge" => body = Some(PatchBody::Merge(v.clone())),
                "ops" => {
                    self.list_of(v, "ops");
                    body = Some(PatchBody::Ops(v.clone()));
                }
                "file" => file = Some(v),
                "rename" => match v.kind {
                    NodeKind::Bool(b) => rename = b,
                    _ => self.diags.push(
                        Diagnostic::error(Code::WrongType, "`rename` is true or false")
                            .at(v.span, format!("a {}", v.type_name())),
                    ),
                },
                "when" => when = Some(v.clone()),
                other => {
                    self.unknown_key(
                        format!("unknown key `{other}` in a patch"),
                        k.span,
                        &shape::PATCH.expected(),
                        other,
                        shape::PATCH.keys(),
                    );
                }
            }
        }
        if let Some(file_node) = file {
            // Each document is a patch: a mapping merges (naming its object
            // when there is no target), a list is operations.
            for path in self.expand(dir, file_node, "file") {
                let Some((_, docs)) = self.yaml_file(&path, Some(file_node.span)) else { continue };
                for doc in docs.into_iter().filter(|d| !d.is_null()) {
                    let body = match doc.kind {
                        NodeKind::Map(_) => PatchBody::Merge(doc),
                        NodeKind::Seq(_) => PatchBody::Ops(doc),
                        _ => {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::WrongType,
                                    "a patch file holds merge patches (mappings) or lists of operations",
                                )
                                .at(doc.span, format!("a {}", doc.type_name())),
                            );
                            continue;
                        }
                    };
                    let span = match &body {
                        PatchBody::Merge(n) | PatchBody::Ops(n) => n.span,
                    };
                    out.push(Patch { span, target: target.clone(), body, rename, when: when.clone() });
                }
            }
            return;
        }
        let Some(body) = body else {
            self.diags.push(
                Diagnostic::error(Code::MissingField, "a patch needs `merge`, `ops` or `file`")
                    .at(node.span, "no patch body"),
            );
            return;
        };
        out.push(Patch { span: node.span, target, body, rename, when });
    }
}
