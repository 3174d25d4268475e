//! Charts as a repository hands them to infra: the input is a list of
//! entries (`path\x01content`, or `@path\x01target` for a symbolic link,
//! separated by NUL) written as a chart folder and as a `.tgz`. Reading
//! either is a chart or an error — never a panic, never a value read from
//! outside the project through a link — and the two forms of one chart
//! without links read the same defaults.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file outside the project whose text no read may return.
const OUTSIDE: &str = "x: OUTSIDE-THE-PROJECT\n";

fn sandbox() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("infra-fuzz-charts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("project")).unwrap();
    std::fs::write(dir.join("outside.yaml"), OUTSIDE).unwrap();
    dir
}

/// A relative path of plain parts, or nothing.
fn clean(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let ok = !parts.is_empty()
        && parts.len() <= 6
        && parts.iter().all(|p| {
            *p != "." && *p != ".." && p.len() <= 40 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    ok.then(|| parts.join("/"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let dir = sandbox();
    let root = dir.join("project").canonicalize().unwrap();
    let folder = root.join("chart");
    std::fs::create_dir_all(&folder).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut links = false;
    for entry in text.split('\0').take(64) {
        let Some((path, content)) = entry.split_once('\x01') else { continue };
        let (link, path) = match path.strip_prefix('@') {
            Some(p) => (true, p),
            None => (false, path),
        };
        let Some(rel) = clean(path) else { continue };
        let at = folder.join(&rel);
        if at.exists() || std::fs::symlink_metadata(&at).is_ok() {
            continue;
        }
        if std::fs::create_dir_all(at.parent().unwrap()).is_err() {
            continue;
        }
        if link {
            // `OUT` names the file outside the project.
            let target = if content == "OUT" { dir.join("outside.yaml") } else { PathBuf::from(content) };
            let _ = std::os::unix::fs::symlink(target, &at);
            links = true;
        } else if std::fs::write(&at, content).is_ok() {
            files.push((rel, content.as_bytes().to_vec()));
        }
    }
    let from_folder = infra_compiler::load::charts::read_chart(&folder, &root);
    if let Ok((_, values, _)) = &from_folder {
        let shown = infra_syntax::yaml::emit(values);
        assert!(!shown.contains("OUTSIDE-THE-PROJECT"), "a link led outside the project: {shown}");
    }
    // The same chart as an archive (links left out: tar keeps them as links,
    // which infra never follows).
    let archive = root.join("chart.tgz");
    write_archive(&archive, &files);
    let from_archive = infra_compiler::load::charts::read_chart(&archive, &root);
    if let (false, Ok((_, a, _)), Ok((_, b, _))) = (links, &from_folder, &from_archive) {
        assert_eq!(a, b, "a chart reads differently as a folder and as an archive");
    }
    let _ = std::fs::remove_dir_all(&dir);
});

fn write_archive(path: &Path, files: &[(String, Vec<u8>)]) {
    let file = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (rel, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        let _ = tar.append_data(&mut header, format!("chart/{rel}"), bytes.as_slice());
    }
    let gz = tar.into_inner().unwrap();
    gz.finish().unwrap().flush().unwrap();
}
