//! Reading sets of plain manifests for `diff`, `plan --live` and `import`:
//! a file, a folder (every `.yaml`/`.yml` below it, links not followed), or
//! standard input.

use infra_k8s::manifests::{parse, read_file};
use infra_syntax::source::max_source_bytes;
use infra_syntax::{Code, Diagnostic, Diagnostics, Sources, Value};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Reads a file, a directory, a pipe named on the command line (`<(infra
/// build -o -)`) or `-` (standard input).
pub fn read(path: &str, sources: &mut Sources, diags: &mut Diagnostics) -> Vec<Value> {
    if path == "-" {
        return read_stream("standard input", "<stdin>", std::io::stdin(), sources, diags);
    }
    let p = Path::new(path);
    // A pipe the user named is read as a stream; inside folders, pipes are
    // skipped (nobody may be writing to them).
    if std::fs::metadata(p).is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type())) {
        return match std::fs::File::open(p) {
            Ok(pipe) => read_stream(path, path, pipe, sources, diags),
            Err(e) => {
                diags.push(Diagnostic::error(Code::CannotRead, format!("cannot read {path}: {e}")));
                Vec::new()
            }
        };
    }
    if p.is_dir() {
        let mut files = Vec::new();
        collect_yaml(p, &mut files);
        files.sort();
        let mut out = Vec::new();
        for f in files {
            out.extend(read_file(&f, sources, diags));
        }
        out
    } else {
        read_file(p, sources, diags)
    }
}

/// Reads a stream of many files' worth: eight times the one-file limit,
/// refused (never cut) beyond it.
fn read_stream(what: &str, name: &str, input: impl Read, sources: &mut Sources, diags: &mut Diagnostics) -> Vec<Value> {
    let limit = max_source_bytes().saturating_mul(8);
    let mut text = String::new();
    if let Err(e) = input.take(limit.saturating_add(1)).read_to_string(&mut text) {
        diags.push(Diagnostic::error(Code::CannotRead, format!("cannot read {what}: {e}")));
        return Vec::new();
    }
    if text.len() as u64 > limit {
        diags.push(
            Diagnostic::error(Code::CannotRead, format!("{what} is larger than {limit} bytes"))
                .help("pass the manifests as files or a folder, or set INFRA_MAX_FILE_BYTES to raise the limit"),
        );
        return Vec::new();
    }
    parse(sources, name, text, diags)
}

/// The YAML files below `dir`, sorted. Symbolic links are not followed
/// (a link may point anywhere, or loop), and hidden entries are skipped.
fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let walk = walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name().into_iter();
    for entry in walk.filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')).flatten() {
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            out.push(entry.into_path());
        }
    }
}
