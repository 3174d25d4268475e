//! Running the real Helm: `helm template`, never a re-implementation of Go
//! templates. A render is cached by a digest of everything it depends on
//! (chart bytes, values, flags, Helm's version), so a warm build does not
//! run Helm at all; output bytes never depend on the cache. On a cache miss
//! the chart is rendered twice: a render that differs between runs (a
//! generated password) is refused, because output must be deterministic.
//!
//! Helm is an outside process: it is found once (`INFRA_HELM`, else `helm`
//! on `PATH`), given its values on stdin, bounded in what it may print, and
//! stopped after `INFRA_HELM_TIMEOUT` seconds (default 120).

use infra_syntax::canonical::sha256_hex;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most a render may print: far above the largest charts.
const MAX_RENDER_BYTES: u64 = 256 << 20;
const MAX_ERROR_BYTES: u64 = 64 << 10;
/// Without `kube_version`, what `.Capabilities.KubeVersion` says: fixed, so
/// renders do not depend on which Helm built them.
pub const DEFAULT_KUBE_VERSION: &str = "1.35.0";

/// A Helm found on this machine.
pub struct Helm {
    path: PathBuf,
    /// `helm version --short`: part of every cache key and of the lock.
    pub version: String,
    cache: Option<PathBuf>,
    timeout: Duration,
}

/// What a render needs besides the chart.
pub struct Request<'a> {
    pub chart: &'a Path,
    pub chart_digest: &'a str,
    /// The project root: a link in a chart folder may not leave it.
    pub root: &'a Path,
    pub release: &'a str,
    pub namespace: &'a str,
    pub kube_version: &'a str,
    pub api_versions: &'a [String],
    pub include_crds: bool,
    pub hooks: bool,
    /// The merged values, as YAML.
    pub values: &'a str,
}

/// Why a render failed.
pub enum Failure {
    /// Helm exited with an error; its message (stderr).
    Helm(String),
    TimedOut(Duration),
    /// Helm could not be run, or printed something unusable.
    Run(String),
    /// Two renders differ: both texts.
    NotDeterministic(String, String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Helm(e) | Failure::Run(e) => f.write_str(e),
            Failure::TimedOut(t) => {
                write!(f, "Helm took longer than {} s and was stopped (INFRA_HELM_TIMEOUT)", t.as_secs())
            }
            Failure::NotDeterministic(..) => f.write_str("two runs of Helm on the same input printed different text"),
        }
    }
}

/// A chart that cannot be copied for Helm.
impl From<crate::load::charts::ChartError> for Failure {
    fn from(e: crate::load::charts::ChartError) -> Failure {
        Failure::Run(format!("cannot stage the chart for Helm: {e}"))
    }
}

impl Helm {
    /// Finds Helm (`path`, else `INFRA_HELM`, else `helm` on `PATH`) and
    /// its version. `Err` says why it cannot be used.
    pub fn find(path: Option<&Path>) -> Result<Helm, Failure> {
        let timeout = Duration::from_secs(infra_syntax::settings::get(&infra_syntax::settings::HELM_TIMEOUT));
        let path = match path.map(PathBuf::from).or_else(|| std::env::var_os("INFRA_HELM").map(PathBuf::from)) {
            Some(p) => p,
            None => std::env::var_os("PATH")
                .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("helm")).find(|p| p.is_file()))
                .ok_or_else(|| Failure::Run("no `helm` on PATH".into()))?,
        };
        let meta = std::fs::metadata(&path).map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?;
        let cache = crate::cache::dir();
        // The version of a binary does not change while it keeps its size
        // and time: remembered, so a warm build runs no Helm at all.
        let identity = sha256_hex(format!("{}\0{}\0{:?}", path.display(), meta.len(), meta.modified().ok()).as_bytes());
        let memo = format!("helm-{}.version", &identity[..16]);
        let known = crate::cache::read(cache.as_deref(), &memo, 256).filter(|v| v.starts_with('v'));
        let mut helm = Helm { path, version: String::new(), cache, timeout };
        helm.version = match known {
            Some(v) => v.trim().to_string(),
            None => {
                let v = helm.run(&["version", "--short"], "")?.trim().to_string();
                if !v.starts_with('v') {
                    return Err(Failure::Run(format!("`helm version --short` printed {v:?}; is it Helm?")));
                }
                crate::cache::write(helm.cache.as_deref(), &memo, v.as_bytes());
                v
            }
        };
        Ok(helm)
    }

    /// Renders a chart: from the cache, or twice with Helm (and then cached).
    pub fn render(&self, r: &Request) -> Result<String, Failure> {
        let key = sha256_hex(
            format!(
                "{}\0{}\0{}\0{}\0{}\0{}\0{}\0{}\0{}",
                self.version,
                r.chart_digest,
                r.release,
                r.namespace,
                r.kube_version,
                r.api_versions.join(","),
                r.include_crds,
                r.hooks,
                r.values
            )
            .as_bytes(),
        );
        let entry = format!("{key}.yaml");
        if let Some(text) = crate::cache::read(self.cache.as_deref(), &entry, MAX_RENDER_BYTES) {
            return Ok(text);
        }
        // Every value is joined to its flag with `=`, and `--` ends the
        // options: nothing a project writes can be read as another option.
        let mut args: Vec<String> = vec![
            "template".into(),
            format!("--namespace={}", r.namespace),
            format!("--kube-version={}", r.kube_version),
        ];
        for api in r.api_versions {
            args.push(format!("--api-versions={api}"));
        }
        if r.include_crds {
            args.push("--include-crds".into());
        }
        if !r.hooks {
            args.push("--no-hooks".into());
        }
        args.extend(["--skip-tests".into(), "--values=-".into(), "--".into()]);
        // Helm reads a staged copy of exactly the bytes the cache key holds.
        let staged = Staged::new(r)?;
        args.extend([r.release.to_string(), staged.chart.display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let first = self.run(&args, r.values)?;
        let second = self.run(&args, r.values)?;
        drop(staged);
        if first != second {
            return Err(Failure::NotDeterministic(first, second));
        }
        crate::cache::write(self.cache.as_deref(), &entry, first.as_bytes());
        Ok(first)
    }

    /// `helm pull` of `chart` (a name in the repository `repo`, or an OCI
    /// reference) into the folder `into`, which should be new and empty:
    /// what Helm writes there is for the caller to check.
    pub fn pull(
        &self,
        chart: &str,
        repo: Option<&str>,
        version: &str,
        into: &Path,
        plain_http: bool,
    ) -> Result<(), Failure> {
        // Values joined to their flags, `--` before the chart: nothing given
        // here can be read as another option.
        let mut args =
            vec!["pull".to_string(), format!("--version={version}"), format!("--destination={}", into.display())];
        if let Some(repo) = repo {
            args.push(format!("--repo={repo}"));
        }
        if plain_http {
            args.push("--plain-http".into());
        }
        args.extend(["--".into(), chart.to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args, "").map(|_| ())
    }

    /// Runs Helm with `stdin`, bounded in time and output. Helm runs in a
    /// process group of its own; at the deadline the whole group is killed,
    /// and output is read only until then: a child left in the background
    /// holding Helm's pipes cannot keep infra waiting.
    fn run(&self, args: &[&str], stdin: &str) -> Result<String, Failure> {
        use std::os::unix::process::CommandExt;
        use std::sync::mpsc;
        use wait_timeout::ChildExt;
        let mut child = Command::new(&self.path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| Failure::Run(format!("cannot run {}: {e}", self.path.display())))?;
        let group = rustix::process::Pid::from_child(&child);
        let kill_group = || {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        };
        let mut input = child.stdin.take();
        let values = stdin.to_string();
        std::thread::spawn(move || {
            if let Some(i) = input.as_mut() {
                let _ = i.write_all(values.as_bytes());
            }
        });
        let read_all = |pipe: Option<Box<dyn Read + Send>>, limit: u64| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(p) = pipe {
                    let _ = p.take(limit).read_to_end(&mut buf);
                }
                let _ = tx.send(buf);
            });
            rx
        };
        let stdout = read_all(child.stdout.take().map(|o| Box::new(o) as Box<dyn Read + Send>), MAX_RENDER_BYTES + 1);
        let stderr = read_all(child.stderr.take().map(|e| Box::new(e) as Box<dyn Read + Send>), MAX_ERROR_BYTES);
        let deadline = Instant::now() + self.timeout;
        let timed_out = |child: &mut std::process::Child| {
            kill_group();
            let _ = child.kill();
            let _ = child.wait();
            Failure::TimedOut(self.timeout)
        };
        let status = match child.wait_timeout(self.timeout) {
            Ok(Some(status)) => status,
            Ok(None) => return Err(timed_out(&mut child)),
            Err(e) => return Err(Failure::Run(e.to_string())),
        };
        let left = |rx: &mpsc::Receiver<Vec<u8>>| rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        let (Ok(stdout), Ok(stderr)) = (left(&stdout), left(&stderr)) else {
            // Helm is gone, and something it started still holds its output.
            kill_group();
            return Err(Failure::TimedOut(self.timeout));
        };
        if !status.success() {
            return Err(Failure::Helm(String::from_utf8_lossy(&stderr).trim().to_string()));
        }
        if stdout.len() as u64 > MAX_RENDER_BYTES {
            return Err(Failure::Run("the render is larger than 256 MiB".into()));
        }
        String::from_utf8(stdout).map_err(|_| Failure::Run("the render is not UTF-8 text".into()))
    }
}

/// A private copy of a chart for Helm, made from the files that
/// [`crate::load::charts::each_file`] checks (no link leaves the project,
/// no special file, every size bounded), and removed when dropped. Its
/// digest must be the one the cache key holds: Helm renders exactly the
/// bytes the key names.
struct Staged {
    dir: PathBuf,
    chart: PathBuf,
}

impl Staged {
    fn new(r: &Request) -> Result<Staged, Failure> {
        let failed = |e: String| Failure::Run(format!("cannot stage the chart for Helm: {e}"));
        let dir = infra_syntax::source::create_temp_dir(&std::env::temp_dir(), "infra-chart")
            .map_err(|e| failed(e.to_string()))?;
        let mut staged = Staged { chart: dir.join("chart"), dir };
        let mut digest = crate::load::charts::Digest::new();
        crate::load::charts::each_file(r.chart, r.root, &mut |rel, bytes| {
            digest.add(rel, bytes);
            let path = if rel.is_empty() {
                staged.chart = staged.dir.join("chart.tgz");
                staged.chart.clone()
            } else {
                staged.chart.join(rel)
            };
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| failed(e.to_string()))?;
            }
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .and_then(|mut f| f.write_all(bytes))
                .map_err(|e| failed(format!("{}: {e}", path.display())))
        })?;
        if digest.finish() != r.chart_digest {
            return Err(failed("the chart changed while it was read; build again".into()));
        }
        Ok(staged)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A location in a chart that Helm names in an error:
/// `grafana/templates/secret.yaml:5:3` (the column may be missing).
pub fn error_location(message: &str) -> Option<(String, u32, Option<u32>)> {
    for (i, _) in message.match_indices("/templates/") {
        let start = message[..i].rfind(|c: char| c.is_whitespace() || c == '(').map_or(0, |s| s + 1);
        let rest = &message[start..];
        let end = rest.find(|c: char| c.is_whitespace() || c == ')' || c == ',').unwrap_or(rest.len());
        let mut parts = rest[..end].trim_end_matches(':').split(':');
        let file = parts.next()?.to_string();
        let Some(line) = parts.next().and_then(|l| l.parse().ok()) else { continue };
        let col = parts.next().and_then(|c| c.parse().ok());
        return Some((file, line, col));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_in_helm_errors() {
        assert_eq!(
            error_location("Error: bad/templates/a.yaml:1:40\n  executing \"bad/templates/a.yaml\" at <.Values.x.y>"),
            Some(("bad/templates/a.yaml".into(), 1, Some(40)))
        );
        assert_eq!(
            error_location("Error: parse error at (bad/templates/a.yaml:1): function \"nope\" not defined"),
            Some(("bad/templates/a.yaml".into(), 1, None))
        );
        assert_eq!(
            error_location("Error: execution error at (kps/charts/grafana/templates/secret.yaml:5:3): set a password"),
            Some(("kps/charts/grafana/templates/secret.yaml".into(), 5, Some(3)))
        );
        assert_eq!(error_location("Error: unable to load chart archive"), None);
    }
}
