//! Reading sets of plain manifests for `diff`, `plan --live` and `import`:
//! a file, a folder (every `.yaml`/`.yml` below it, links not followed), or
//! standard input.

use infra_k8s::manifests::{parse, read_file};
use infra_syntax::source::max_source_bytes;
use infra_syntax::{Code, Diagnostic, Diagnostics, Sources, Value};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Reads a file, a directory or `-` (standard input).
pub fn read(path: &str, sources: &mut Sources, diags: &mut Diagnostics) -> Vec<Value> {
    if path == "-" {
        // A stream of many files' worth: eight times the one-file limit,
        // refused (never cut) beyond it.
        let limit = max_source_bytes().saturating_mul(8);
        let mut text = String::new();
        if let Err(e) = std::io::stdin().take(limit.saturating_add(1)).read_to_string(&mut text) {
            diags.push(Diagnostic::error(Code::CannotRead, format!("cannot read standard input: {e}")));
            return Vec::new();
        }
        if text.len() as u64 > limit {
            diags.push(
                Diagnostic::error(Code::CannotRead, format!("standard input is larger than {limit} bytes"))
                    .help("pass the manifests as files or a folder, or set INFRA_MAX_FILE_BYTES to raise the limit"),
            );
            return Vec::new();
        }
        return parse(sources, "<stdin>", text, diags);
    }
    let p = Path::new(path);
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
