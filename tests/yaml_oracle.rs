//! infra reads YAML as Kubernetes does, proven against the real reader:
//! Helm parses values files with `sigs.k8s.io/yaml` (go-yaml v2 under it),
//! the library the API server and kubectl read manifests with, so a chart
//! whose template prints `{{ .Values | toJson }}` turns any YAML into the
//! JSON Kubernetes would see. Thousands of generated scalars, every word
//! and number form of YAML 1.1 and 1.2, and the values files of real
//! charts go through both readers and must come out the same; every string
//! infra's emitter writes must read back as that string.
//!
//! Rerun: `cargo test --test it yaml_oracle:: -- --nocapture` (needs only the
//! Helm that `scripts/install-k8s-tools` installs).

use crate::common;

use common::{TempDir, k8s_tools, root};
use infra_syntax::{FileId, Value, yaml};
use serde_json::Value as Json;

/// What Helm (Kubernetes' reader) makes of a values file, as JSON.
fn kubernetes_reads(dir: &TempDir, values: &str) -> Result<serde_json::Map<String, Json>, String> {
    if !dir.join("oracle/Chart.yaml").exists() {
        dir.write("oracle/Chart.yaml", "apiVersion: v2\nname: oracle\nversion: 0.1.0\n");
        dir.write("oracle/templates/values.json", "{{ .Values | toJson }}\n");
    }
    dir.write("values.yaml", values);
    let out = std::process::Command::new(k8s_tools().join("helm"))
        .args(["template", "o"])
        .arg(dir.join("oracle"))
        .arg("-f")
        .arg(dir.join("values.yaml"))
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8(out.stdout).unwrap();
    let json = text.lines().filter(|l| !l.starts_with("---") && !l.starts_with('#')).collect::<String>();
    match serde_json::from_str(&json) {
        Ok(Json::Object(m)) => Ok(m),
        other => Err(format!("not a JSON object: {other:?}\n{text}")),
    }
}

/// Whether infra's value is what Kubernetes read.
fn same(ours: &Value, theirs: &Json) -> bool {
    match (ours, theirs) {
        (Value::Null, Json::Null) => true,
        (Value::Bool(a), Json::Bool(b)) => a == b,
        (Value::String(a), Json::String(b)) => a.as_str() == b,
        (Value::Int(a), Json::Number(b)) => b.as_i64() == Some(*a) || b.as_f64() == Some(*a as f64),
        // Helm's reading of floats with large exponents can differ in the
        // last bit (`52E25`): the same number, for any manifest.
        (Value::Float(a), Json::Number(b)) => b.as_f64().is_some_and(|b| b == *a || ((b - a) / a).abs() < 1e-15),
        (Value::Seq(a), Json::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (Value::Map(a), Json::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k.as_str()).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

/// Every scalar worth asking about: the words of YAML 1.1 and 1.2 in
/// their casings, and strings over the characters numbers are made of.
fn scalars() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in ["y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf"] {
        let upper = word.to_uppercase();
        let title = format!("{}{}", &upper[..1], &word[1..]);
        let odd: String =
            word.chars().enumerate().map(|(i, c)| if i % 2 == 1 { c.to_ascii_uppercase() } else { c }).collect();
        out.extend([word.to_string(), upper, title, odd, format!(".{word}"), format!("+.{word}"), format!("-.{word}")]);
    }
    out.extend(
        [
            "~",
            "<<x",
            "=",
            "0",
            "-0",
            "+0",
            "00",
            "0.",
            ".",
            "..",
            "1.2.3",
            "1:20",
            "190:20:30",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
        ]
        .map(String::from),
    );
    // Pseudo-random strings over digits, signs, dots, exponents, base
    // prefixes and underscores: a deterministic generator, so a failure
    // reproduces.
    let alphabet: Vec<char> = "0123456789+-._xobeEXOBafAF:".chars().collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    while out.len() < 4000 {
        let len = 1 + (next() % 7) as usize;
        let mut s: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
        // Mostly number-shaped: start with a digit or a sign.
        if next() % 4 != 0 {
            s.insert(0, "0123456789+-"[(next() % 12) as usize..].chars().next().unwrap());
        }
        // Only scalars that are plain scalars in YAML's syntax.
        let plain = !s.starts_with(['-', '?', ':', '.', '+'])
            || s.len() > 1 && !s.starts_with(['?', ':']) && !s.starts_with("- ");
        if plain && !s.ends_with(':') && !s.contains(": ") && !s.starts_with("---") && !s.starts_with("...") {
            out.push(s);
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn scalars_read_as_kubernetes_reads_them() {
    let dir = TempDir::new("oracle");
    // Scalars Kubernetes cannot hold (±Inf, NaN: JSON has no such number)
    // are left to their own test; each of the rest on a line of its own.
    let (mut asked, mut lines) = (Vec::new(), String::new());
    for s in scalars() {
        let line = format!("k{}: {s}\n", asked.len());
        match yaml::load(FileId(0), &line) {
            Ok(docs) => {
                let v = docs[0].to_value();
                let value = v.get(&format!("k{}", asked.len())).cloned().unwrap_or(Value::Null);
                if matches!(value, Value::Float(f) if !f.is_finite()) {
                    continue;
                }
                asked.push((s, Some(value)));
            }
            // Refused by infra: a number no 64-bit value holds.
            Err(e) => asked.push((s, Some(Value::String(format!("refused: {}", e.message).into())))),
        }
        lines.push_str(&line);
    }
    let theirs = kubernetes_reads(&dir, &lines).expect("Helm reads the values");
    let mut differ = Vec::new();
    for (i, (s, ours)) in asked.iter().enumerate() {
        let t = theirs.get(&format!("k{i}")).unwrap_or(&Json::Null);
        let ours = ours.as_ref().unwrap();
        let agree = match ours {
            // Refused: Kubernetes holds it only as a float that is not the number written.
            Value::String(r) if r.starts_with("refused: ") => {
                t.as_f64().is_some_and(|f| f.abs() >= 9.2e18 || f.is_infinite())
            }
            v => same(v, t),
        };
        if !agree {
            differ.push(format!("{s:?}: infra {ours:?}, Kubernetes {t}"));
        }
    }
    eprintln!("{} scalars compared with Helm's reading", asked.len());
    assert!(differ.is_empty(), "{} of {} differ:\n{}", differ.len(), asked.len(), differ.join("\n"));
}

#[test]
fn keys_kubernetes_would_change_are_refused_and_no_others() {
    // Kubernetes stores a key it reads as a bool or number under another
    // name (`on:` becomes "true", `0755:` "493"); infra refuses such a key
    // at its place instead, and reads every other key as written.
    let dir = TempDir::new("oracle-keys");
    let keys: Vec<String> = scalars().into_iter().filter(|s| !s.is_empty() && !s.contains(':') && s != "<<x").collect();
    let mut refused = Vec::new();
    let mut lines = String::new();
    for (i, k) in keys.iter().enumerate() {
        match yaml::load(FileId(0), &format!("{k}: {i}\n")) {
            Ok(_) => lines.push_str(&format!("{k}: {i}\n")),
            Err(e) => {
                assert!(e.code == infra_syntax::Code::BadKey && e.labels[0].span.start.line == 1, "{k}: {}", e.message);
                refused.push(k.clone());
            }
        }
    }
    let theirs = kubernetes_reads(&dir, &lines).unwrap();
    let read: Vec<&String> = theirs.keys().collect();
    let accepted: Vec<&String> = keys.iter().filter(|k| !refused.contains(k)).collect();
    assert_eq!(read.len(), accepted.len(), "Kubernetes merged keys infra reads apart");
    for k in &accepted {
        assert!(theirs.contains_key(k.as_str()), "{k:?}: Kubernetes renames a key infra accepts");
    }
    // Each refused key, alone, is renamed by Kubernetes, or refused (a null key).
    for k in &refused {
        if let Ok(one) = kubernetes_reads(&dir, &format!("{k}: 1\n")) {
            assert!(!one.contains_key(k.as_str()), "{k:?}: refused, but Kubernetes keeps it as written");
        }
    }
    eprintln!("{} keys: {} refused as Kubernetes would rename them", keys.len(), refused.len());
}

#[test]
fn every_string_infra_writes_reads_back_as_itself() {
    let dir = TempDir::new("oracle-emit");
    let strings = scalars();
    let mut map = infra_syntax::Map::new();
    for (i, s) in strings.iter().enumerate() {
        map.insert(format!("k{i}").as_str(), Value::from(s.as_str()));
    }
    let text = yaml::emit(&Value::Map(map));
    let theirs = kubernetes_reads(&dir, &text).expect("Helm reads what infra wrote");
    let differ: Vec<String> = strings
        .iter()
        .enumerate()
        .filter(|(i, s)| theirs.get(&format!("k{i}")).and_then(Json::as_str) != Some(s.as_str()))
        .map(|(i, s)| {
            format!(
                "{s:?} written as {:?}, read as {}",
                text.lines().nth(i).unwrap_or_default(),
                theirs.get(&format!("k{i}")).unwrap_or(&Json::Null)
            )
        })
        .collect();
    assert!(differ.is_empty(), "{} strings read back differently:\n{}", differ.len(), differ.join("\n"));
}

#[test]
fn real_values_files_and_renders_read_the_same() {
    // The values files of the real charts of tests/fixtures/charts, and
    // every document of the real renders of tests/fixtures/helm.
    let dir = TempDir::new("oracle-real");
    let mut documents: Vec<(String, String)> = Vec::new();
    for chart in
        ["tests/fixtures/charts/grafana-12.11.1.tgz", "examples/apollo-charts/charts/kube-prometheus-stack-88.5.3.tgz"]
    {
        let bytes = std::fs::read(root().join(chart)).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            if path.ends_with("/values.yaml") {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
                documents.push((format!("{chart}:{path}"), text));
            }
        }
    }
    for file in std::fs::read_dir(root().join("tests/fixtures/helm")).unwrap() {
        let path = file.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, doc) in text.split("\n---\n").enumerate() {
            if doc.lines().any(|l| !l.trim().is_empty() && !l.starts_with('#')) {
                documents.push((format!("{}#{i}", path.file_name().unwrap().to_string_lossy()), doc.to_string()));
            }
        }
    }
    assert!(documents.len() > 100, "{}", documents.len());
    let mut differ = Vec::new();
    for (name, text) in &documents {
        let ours = match yaml::load(FileId(0), text) {
            Ok(docs) => docs.first().map(|d| d.to_value()).unwrap_or(Value::Null),
            Err(e) => {
                differ.push(format!("{name}: infra refuses it: {}", e.message));
                continue;
            }
        };
        let theirs = kubernetes_reads(&dir, text).unwrap_or_else(|e| panic!("{name}: {e}"));
        if !same(&ours, &Json::Object(theirs)) {
            differ.push(format!("{name}: read differently"));
        }
    }
    eprintln!("{} real documents compared with Helm's reading", documents.len());
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn block_scalars_at_the_end_of_a_file_read_as_kubernetes_reads_them() {
    // Without a final line break, Kubernetes' reader (go-yaml v2) still
    // ends a clipped block scalar with one; Kustomize's (go-yaml v3) does
    // not. infra follows the API server's reader.
    let dir = TempDir::new("oracle-blocks");
    let mut differ = Vec::new();
    for indicator in ["|", "|-", "|+", ">", ">-", ">+"] {
        for body in ["x", "x\n  y", "x\n\n  y", "x\n  ", "x\n", "x\n\n", "x\n \n"] {
            let text = format!("a: {indicator}\n  {body}");
            let ours = yaml::load(FileId(0), &text).unwrap()[0].to_value();
            let theirs = kubernetes_reads(&dir, &text).unwrap();
            if !same(&ours, &Json::Object(theirs.clone())) {
                differ.push(format!("{text:?}: infra {ours:?}, Kubernetes {theirs:?}"));
            }
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
