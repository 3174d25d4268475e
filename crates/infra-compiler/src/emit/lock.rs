//! `infra.lock`: what a build wrote — tool version, environment, and each
//! object in apply order with its file and hash. A lock comes from git, so
//! when it is read back every entry is checked: an entry whose file is not
//! a [`RelPath`] is ignored with a warning, never acted on.

use crate::emit::path::RelPath;
use infra_syntax::{Map, Value, yaml};

pub const LOCK_FILE: &str = "infra.lock";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One object of a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    pub id: String,
    pub file: RelPath,
    pub hash: String,
}

/// The text of a lock: the tool, the Helm that rendered charts (if any),
/// the environment, the objects.
pub fn render(env: &str, helm: Option<&str>, entries: &[LockEntry]) -> String {
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
    lock.insert("objects", Value::Seq(objects));
    format!("# Written by `infra build`; do not edit.\n{}", yaml::emit(&Value::Map(lock)))
}

/// A lock read back: its valid entries, and a warning for each entry that
/// was ignored.
#[derive(Debug, Default)]
pub struct Lock {
    pub entries: Vec<LockEntry>,
    pub ignored: Vec<String>,
}

/// Reads a lock's text. A lock that is not YAML, or has no `objects`, has
/// no entries.
pub fn parse(text: &str) -> Lock {
    let mut lock = Lock::default();
    let Ok(docs) = yaml::load(infra_syntax::FileId(0), text) else {
        lock.ignored.push(format!("{LOCK_FILE} is not valid YAML; it is ignored"));
        return lock;
    };
    let Some(doc) = docs.first().map(|d| d.to_value()) else { return lock };
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

    #[test]
    fn round_trip() {
        let entries = vec![LockEntry {
            id: "/ConfigMap/n/a".into(),
            file: RelPath::new("n/configmap-a.yaml").unwrap(),
            hash: "abc".into(),
        }];
        let lock = parse(&render("prod", None, &entries));
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
