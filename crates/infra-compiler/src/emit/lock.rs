//! `infra.lock`: what a build wrote — tool version, environment, and each
//! object in apply order with its file and hash. A lock comes from git, so
//! when it is read back every entry is checked: an entry whose file is not
//! a [`RelPath`] is ignored with a warning, never acted on.

use crate::emit::path::RelPath;
use infra_syntax::{Value, yaml};

pub const LOCK_FILE: &str = "infra.lock";
/// What `build --kustomization` writes beside the objects.
pub const KUSTOMIZATION_FILE: &str = "kustomization.yaml";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One object of a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    pub id: String,
    pub file: RelPath,
    pub hash: String,
}

/// The first line of every lock.
const HEADER: &str = "# Written by `infra build`; do not edit.";

/// The text of a lock: the tool, the Helm that rendered charts (if any),
/// the environment, the hash of the kustomization written beside the
/// objects (if any), the objects. Written line by line, as the YAML emitter
/// writes the same document (tested), without a tree of values.
pub fn render(env: &str, helm: Option<&str>, kustomization: Option<&str>, entries: &[LockEntry]) -> String {
    let mut out = String::with_capacity(64 + entries.len() * 160);
    out.push_str(HEADER);
    out.push_str("\ntool: ");
    yaml::write_scalar(&mut out, &format!("infra {VERSION}"));
    if let Some(h) = helm {
        out.push_str("\nhelm: ");
        yaml::write_scalar(&mut out, h);
    }
    out.push_str("\nenv: ");
    yaml::write_scalar(&mut out, env);
    if let Some(hash) = kustomization {
        out.push_str("\nkustomization: ");
        yaml::write_scalar(&mut out, hash);
    }
    if entries.is_empty() {
        out.push_str("\nobjects: []\n");
        return out;
    }
    out.push_str("\nobjects:\n");
    for e in entries {
        out.push_str("  - id: ");
        yaml::write_scalar(&mut out, &e.id);
        out.push_str("\n    file: ");
        yaml::write_scalar(&mut out, e.file.as_str());
        out.push_str("\n    hash: ");
        yaml::write_scalar(&mut out, &e.hash);
        out.push('\n');
    }
    out
}

/// A lock read back: its valid entries, and a warning for each entry that
/// was ignored.
#[derive(Debug, Default)]
pub struct Lock {
    /// The tool that wrote it (`infra 0.1.0`).
    pub tool: Option<String>,
    pub entries: Vec<LockEntry>,
    /// Files infra wrote that are not objects: the kustomization.
    pub files: Vec<LockEntry>,
    pub ignored: Vec<String>,
}

impl Lock {
    /// Every file the lock says infra wrote, objects and others.
    pub fn owned(&self) -> impl Iterator<Item = &LockEntry> {
        self.entries.iter().chain(&self.files)
    }
}

/// The entry of the kustomization whose content has `hash`.
fn kustomization_entry(hash: &str) -> LockEntry {
    LockEntry {
        id: KUSTOMIZATION_FILE.to_string(),
        file: RelPath::new(KUSTOMIZATION_FILE).expect("a plain file name"),
        hash: hash.to_string(),
    }
}

/// Reads a lock's text. A lock that is not YAML, or has no `objects`, has
/// no entries.
pub fn parse(text: &str) -> Lock {
    parse_as_written(text).unwrap_or_else(|| parse_yaml(text))
}

/// A lock exactly as [`render`] writes it, read line by line; `None` for
/// anything else, which is then read as YAML. Only values that read as
/// themselves in YAML are taken, so both readings agree.
fn parse_as_written(text: &str) -> Option<Lock> {
    let mut lines = text.strip_suffix('\n')?.split('\n');
    (lines.next()? == HEADER).then_some(())?;
    let tool = value(lines.next(), "tool: ")?;
    let mut line = lines.next();
    if value(line, "helm: ").is_some() {
        line = lines.next();
    }
    value(line, "env: ")?;
    let mut lock = Lock { tool: Some(tool.to_string()), ..Lock::default() };
    let mut line = lines.next()?;
    if let Some(hash) = value(Some(line), "kustomization: ") {
        lock.files.push(kustomization_entry(hash));
        line = lines.next()?;
    }
    match line {
        "objects: []" => return lines.next().is_none().then_some(lock),
        "objects:" => {}
        _ => return None,
    }
    while let Some(line) = lines.next() {
        let id = value(Some(line), "  - id: ")?;
        let file = value(lines.next(), "    file: ")?;
        let hash = value(lines.next(), "    hash: ")?;
        match RelPath::new(file) {
            Ok(file) => lock.entries.push(LockEntry { id: id.to_string(), file, hash: hash.to_string() }),
            // The YAML reading says why.
            Err(_) => return None,
        }
    }
    (!lock.entries.is_empty()).then_some(lock)
}

/// The value of a `key: value` line: plain, or single-quoted without a
/// quote inside (a hash like `'0b12…'` that YAML 1.1 would read as a number).
fn value<'t>(line: Option<&'t str>, key: &str) -> Option<&'t str> {
    let v = line?.strip_prefix(key)?;
    if let Some(quoted) = v.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')) {
        return (!quoted.contains('\'')).then_some(quoted);
    }
    yaml::is_plain_string(v).then_some(v)
}

fn parse_yaml(text: &str) -> Lock {
    let mut lock = Lock::default();
    let Ok(docs) = yaml::load(infra_syntax::FileId(0), text) else {
        lock.ignored.push(format!("{LOCK_FILE} is not valid YAML; it is ignored"));
        return lock;
    };
    let Some(doc) = docs.first().map(|d| d.to_value()) else { return lock };
    lock.tool = doc.str_at(&["tool"]).map(str::to_string);
    if let Some(hash) = doc.str_at(&["kustomization"]) {
        lock.files.push(kustomization_entry(hash));
    }
    for (i, o) in doc.get("objects").and_then(Value::as_seq).unwrap_or_default().iter().enumerate() {
        let (Some(id), Some(file), Some(hash)) = (o.str_at(&["id"]), o.str_at(&["file"]), o.str_at(&["hash"])) else {
            lock.ignored.push(format!("{LOCK_FILE}: object {} lacks id, file or hash; it is ignored", i + 1));
            continue;
        };
        match RelPath::new(file) {
            Ok(file) => lock.entries.push(LockEntry { id: id.to_string(), file, hash: hash.to_string() }),
            Err(e) => lock.ignored.push(format!(
                "{LOCK_FILE}: object {} names a file outside the output folder ({e}); it is ignored",
                i + 1
            )),
        }
    }
    lock
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lock as the YAML emitter writes it: what [`render`] must match.
    fn emitted(env: &str, helm: Option<&str>, kustomization: Option<&str>, entries: &[LockEntry]) -> String {
        use infra_syntax::Map;
        let objects = entries
            .iter()
            .map(|e| {
                let mut entry = Map::with_capacity(3);
                entry.insert("id", Value::from(e.id.as_str()));
                entry.insert("file", Value::from(e.file.as_str()));
                entry.insert("hash", Value::from(e.hash.as_str()));
                Value::Map(entry)
            })
            .collect();
        let mut lock = Map::new();
        lock.insert("tool", Value::from(format!("infra {VERSION}")));
        if let Some(h) = helm {
            lock.insert("helm", Value::from(h));
        }
        lock.insert("env", Value::from(env));
        if let Some(hash) = kustomization {
            lock.insert("kustomization", Value::from(hash));
        }
        lock.insert("objects", Value::Seq(objects));
        format!("{HEADER}\n{}", yaml::emit(&Value::Map(lock)))
    }

    #[test]
    fn written_as_the_emitter_writes_and_read_back_either_way() {
        let entry = |id: &str, file: &str, hash: &str| LockEntry {
            id: id.into(),
            file: RelPath::new(file).unwrap(),
            hash: hash.into(),
        };
        let cases = [
            vec![],
            vec![entry("apps/Deployment/web/api", "web/deployment-api.yaml", "0a1b")],
            // Values that YAML would read as something else are quoted.
            vec![
                entry("/ConfigMap/n/true", "n/configmap-true.yaml", "1234"),
                entry("a: b", "n/x #y.yaml", "null"),
                entry("/Secret/n/x", "n/x.yaml", "0b5614a7"),
            ],
            vec![entry("it's", "n/x.yaml", "0b5614a7")],
            vec![entry("'quoted'", "n/x.yaml", "0b5614a7")],
        ];
        for entries in &cases {
            for (helm, kustomization) in [(None, None), (Some("v4.0.1+gabc"), Some("0b5614a7"))] {
                let text = render("prod", helm, kustomization, entries);
                assert_eq!(text, emitted("prod", helm, kustomization, entries));
                assert_eq!(&parse(&text).entries, entries);
                assert_eq!(parse_yaml(&text).entries, parse(&text).entries);
                let files: Vec<String> = parse(&text).files.into_iter().map(|f| f.hash).collect();
                assert_eq!(files, Vec::from_iter(kustomization.map(String::from)));
                assert_eq!(parse_yaml(&text).files, parse(&text).files);
                // Only a quoted value with a quote inside is left to YAML.
                let quoted_quote = entries.iter().any(|e| e.id.starts_with('\''));
                assert_eq!(parse_as_written(&text).is_some(), !quoted_quote, "{text}");
            }
        }
    }

    #[test]
    fn round_trip() {
        let entries = vec![LockEntry {
            id: "/ConfigMap/n/a".into(),
            file: RelPath::new("n/configmap-a.yaml").unwrap(),
            hash: "abc".into(),
        }];
        let lock = parse(&render("prod", None, None, &entries));
        assert_eq!(lock.entries, entries);
        assert!(lock.ignored.is_empty());
    }

    #[test]
    fn hostile_entries_are_ignored() {
        let text = "objects:\n- {id: a, file: ../../infra.yaml, hash: x}\n- {id: b, file: /etc/passwd, hash: x}\n- {id: c, file: n/ok.yaml, hash: x}\n- {id: d}\n";
        let lock = parse(text);
        assert_eq!(lock.entries.len(), 1);
        assert_eq!(lock.entries[0].file.as_str(), "n/ok.yaml");
        assert_eq!(lock.ignored.len(), 3, "{:?}", lock.ignored);
        assert!(lock.ignored[0].contains("outside the output folder"), "{:?}", lock.ignored);
        assert!(parse("objects: [").ignored[0].contains("not valid YAML"));
    }
}
