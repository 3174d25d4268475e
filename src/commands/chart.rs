//! `infra chart pull`: vendors an upstream chart into the project with the
//! real `helm pull`, from a chart repository or an OCI registry. Upgrading
//! a chart is pulling the new version, pointing `chart:` at it, and reading
//! `infra plan`.
//!
//! A repository is untrusted: its index decides what Helm downloads and
//! under which file name. Helm pulls into a new private folder; only the
//! archive asked for — one file, whose `Chart.yaml` names the chart and
//! version asked for — is moved into `--into`, and a file already there is
//! never replaced.

use crate::report::Reporter;
use infra_compiler::eval::helm::Helm;
use infra_import::urls::Url;
use infra_syntax::{Code, Diagnostic};
use std::path::Path;
use std::process::ExitCode;

pub struct Args {
    /// A repository URL (with `name`), or an `oci://` reference.
    pub source: String,
    pub name: Option<String>,
    pub version: String,
    pub into: std::path::PathBuf,
    pub plain_http: bool,
}

fn failed(message: String) -> Diagnostic {
    Diagnostic::error(Code::ChartPull, message)
}

/// A chart name or version as it may be asked for: letters, digits and
/// `.`, `_`, `-`, `+`, starting with a letter or digit.
fn plain(s: &str) -> bool {
    s.len() <= 128
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
}

pub fn pull(r: &Reporter, args: &Args) -> ExitCode {
    let oci = args.source.starts_with("oci://");
    if oci == args.name.is_some() {
        return r.error(
            Diagnostic::error(Code::Usage, "give a repository URL and a chart name, or one oci:// reference")
                .help("infra chart pull https://grafana.github.io/helm-charts grafana --version 8.0.0, or infra chart pull oci://ghcr.io/org/charts/name --version 1.2.3"),
        );
    }
    let source = match Url::parse(&args.source, if oci { &["oci"] } else { &["http", "https"] }) {
        Ok(u) => u,
        Err(e) => return r.error(Diagnostic::error(Code::Usage, format!("the chart source {e}"))),
    };
    let name = args.name.clone().unwrap_or_else(|| args.source.rsplit('/').next().unwrap_or_default().to_string());
    for (what, value) in [("chart name", &name), ("version", &args.version)] {
        if !plain(value) {
            return r.error(
                Diagnostic::error(Code::Usage, format!("the {what} {:?} is not a plain {what}", value)).help(
                    "letters, digits and `.`, `_`, `-`, `+`, starting with a letter or digit (`grafana`, `12.11.1`)",
                ),
            );
        }
    }
    let helm = match Helm::find(None) {
        Ok(h) => h,
        Err(why) => {
            return r.error(
                failed(format!("Helm cannot be used: {why}"))
                    .help("install Helm (https://helm.sh/docs/intro/install/) or point INFRA_HELM at it"),
            );
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.into) {
        return r.error(failed(format!("cannot create {}: {e}", args.into.display())));
    }
    let file_name = format!("{name}-{}.tgz", args.version);
    match fetch(&helm, &source, args, &name, &file_name) {
        Ok(Placed::New) => {
            r.status(&format!("pulled {name} {} into {}", args.version, args.into.join(&file_name).display()))
        }
        Ok(Placed::AlreadyThere) => r.status(&format!(
            "{} already holds this chart, byte for byte; unchanged",
            args.into.join(&file_name).display()
        )),
        Err(d) => return r.error(d),
    }
    if let Err(d) = record_origin(&args.into, &source, &name, &args.version, &file_name) {
        return r.error(d);
    }
    let entry = args.name.clone().unwrap_or(name);
    r.status(&format!(
        "use it in infra.yaml:\ncharts:\n  {entry}:\n    chart: {}",
        Path::new(&args.into).join(&file_name).display()
    ));
    ExitCode::SUCCESS
}

/// Where `chart pull` records each chart's origin, beside the archives.
const ORIGINS: &str = "charts.yaml";

const ORIGINS_HEADER: &str = "# Written by `infra chart pull`: where each vendored chart comes from.\n# Bump a `version` here (by hand or with a dependency bot), run `infra chart sync`,\n# point the `chart:` entry at the new file, and read `infra plan`.\n";

/// One chart of [`ORIGINS`].
struct Origin {
    name: String,
    version: String,
    repository: String,
    file: String,
}

fn read_origins(into: &Path) -> Result<Vec<Origin>, Diagnostic> {
    let path = into.join(ORIGINS);
    // It comes from the repository: never read through a link.
    let bytes = match infra_syntax::source::read_bytes_nofollow(&path, infra_syntax::source::max_source_bytes()) {
        Ok(b) => b,
        Err(_) if std::fs::symlink_metadata(&path).is_err() => return Ok(Vec::new()),
        Err(e) => return Err(failed(format!("cannot read {}: {e}", path.display()))),
    };
    let text = String::from_utf8(bytes).map_err(|_| failed(format!("{} is not UTF-8 text", path.display())))?;
    let value =
        infra_syntax::yaml::parse_value(&text).map_err(|d| failed(format!("{}: {}", path.display(), d.message)))?;
    let mut out = Vec::new();
    for (i, c) in value.get("charts").and_then(|c| c.as_seq()).unwrap_or_default().iter().enumerate() {
        let field = |k: &str| {
            c.str_at(&[k]).map(str::to_string).ok_or_else(|| {
                failed(format!("{}: chart {} has no `{k}`", path.display(), i + 1))
                    .help("each entry has name, version, repository and file")
            })
        };
        out.push(Origin {
            name: field("name")?,
            version: field("version")?,
            repository: field("repository")?,
            file: field("file")?,
        });
    }
    Ok(out)
}

/// Adds or updates the chart's entry (by name and repository): a file
/// that dependency bots can read and bump. The repository is kept without
/// its credentials.
fn record_origin(into: &Path, source: &Url, name: &str, version: &str, file: &str) -> Result<(), Diagnostic> {
    let mut origins = read_origins(into)?;
    let repository = without_credentials(&source.text);
    match origins.iter_mut().find(|o| o.name == name && o.repository == repository) {
        Some(o) => (o.version, o.file) = (version.to_string(), file.to_string()),
        None => origins.push(Origin {
            name: name.to_string(),
            version: version.to_string(),
            repository,
            file: file.to_string(),
        }),
    }
    let mut text = format!("{ORIGINS_HEADER}charts:\n");
    for o in &origins {
        let mut line = |key: &str, value: &str, first: bool| {
            text.push_str(if first { "  - " } else { "    " });
            text.push_str(key);
            text.push_str(": ");
            infra_syntax::yaml::write_scalar(&mut text, value);
            text.push('\n');
        };
        line("name", &o.name, true);
        line("version", &o.version, false);
        line("repository", &o.repository, false);
        line("file", &o.file, false);
    }
    let rel = infra_compiler::emit::path::RelPath::new(ORIGINS).expect("a plain file name");
    infra_compiler::emit::dir::write_inside(into, &rel, text.as_bytes())
}

/// `https://user:token@host/path` as `https://host/path`.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// `infra chart sync`: pulls every chart of `charts.yaml` at the version it
/// names that is not there yet (what a dependency bot's bump needs).
pub fn sync(r: &Reporter, into: &Path, plain_http: bool) -> ExitCode {
    let origins = match read_origins(into) {
        Ok(o) if o.is_empty() => {
            return r.error(
                failed(format!("{} lists no chart", into.join(ORIGINS).display()))
                    .help("`infra chart pull` records each chart it pulls there"),
            );
        }
        Ok(o) => o,
        Err(d) => return r.error(d),
    };
    for o in origins {
        let oci = o.repository.starts_with("oci://");
        let args = Args {
            source: o.repository.clone(),
            name: (!oci).then(|| o.name.clone()),
            version: o.version.clone(),
            into: into.to_path_buf(),
            plain_http,
        };
        let wanted = format!("{}-{}.tgz", o.name, o.version);
        if o.file == wanted && into.join(&wanted).is_file() {
            r.status(&format!("{} {}: {wanted} is there", o.name, o.version));
            continue;
        }
        let code = pull(r, &args);
        if code != ExitCode::SUCCESS {
            return code;
        }
    }
    ExitCode::SUCCESS
}

enum Placed {
    New,
    AlreadyThere,
}

/// Pulls into a private folder inside `--into` (so the last move is one
/// rename), checks what Helm wrote, and moves the archive in.
fn fetch(helm: &Helm, source: &Url, args: &Args, name: &str, file_name: &str) -> Result<Placed, Diagnostic> {
    let staging = infra_syntax::source::create_temp_dir(&args.into, ".infra-pull")
        .map_err(|e| failed(format!("cannot create a folder in {}: {e}", args.into.display())))?;
    let _cleanup = RemoveOnDrop(&staging);
    let (chart, repo) = match &args.name {
        Some(n) => (n.as_str(), Some(source.text.as_str())),
        None => (source.text.as_str(), None),
    };
    helm.pull(chart, repo, &args.version, &staging, args.plain_http).map_err(|e| {
        let e = source.redact(&e.to_string());
        let first = e.lines().next().unwrap_or_default().trim_start_matches("Error: ").to_string();
        failed(format!(
            "helm pull of {} {} failed: {}",
            source.shown,
            args.version,
            infra_syntax::diagnostic::render::escape(&first)
        ))
        .help("check the repository URL, the chart's name and version (`helm search repo`), and the network")
    })?;
    let wrote: Vec<String> = std::fs::read_dir(&staging)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let [only] = wrote.as_slice() else {
        return Err(failed(format!(
            "helm pull of {name} {} wrote {} files ({}); one chart archive was expected, and nothing was kept",
            args.version,
            wrote.len(),
            wrote.join(", ")
        )));
    };
    let pulled = staging.join(only);
    let limit = infra_syntax::source::max_source_bytes();
    let bytes = infra_syntax::source::read_bytes(&pulled, limit)
        .map_err(|e| failed(format!("the archive helm pull wrote cannot be read: {e}")))?;
    let identity = infra_compiler::load::charts::archive_identity(&bytes).map_err(|e| {
        failed(format!("the repository served something that is not a chart archive ({e}); nothing was kept"))
    })?;
    if identity != (name.to_string(), args.version.clone()) {
        return Err(failed(format!(
            "the repository served chart {:?} version {:?} for {name} {}; nothing was kept",
            identity.0, identity.1, args.version
        ))
        .note("a repository's index decides what is downloaded: this one does not serve what was asked for"));
    }
    let target = args.into.join(file_name);
    match std::fs::symlink_metadata(&target) {
        Ok(m) if m.is_file() && infra_syntax::source::read_bytes(&target, limit).is_ok_and(|b| b == bytes) => {
            return Ok(Placed::AlreadyThere);
        }
        Ok(_) => {
            return Err(failed(format!(
                "{} exists and differs from the pulled archive; it is not replaced",
                target.display()
            ))
            .help("move it away first if you mean to replace it"));
        }
        Err(_) => {}
    }
    infra_syntax::source::rename_new(&pulled, &target)
        .map_err(|e| failed(format!("cannot move the archive to {}: {e}", target.display())))?;
    Ok(Placed::New)
}

struct RemoveOnDrop<'a>(&'a Path);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0);
    }
}
