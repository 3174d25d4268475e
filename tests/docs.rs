//! Generated documentation stays fresh: `docs/errors.md` is written from
//! the registry of diagnostic codes, so every code is documented with the
//! meaning the code has. Run with `INFRA_UPDATE_DOCS=1` to rewrite it.

use crate::common;

use infra_syntax::Code;

#[test]
fn errors_doc_is_generated_from_the_registry() {
    let path = common::root().join("docs/errors.md");
    let fresh = infra_syntax::diagnostic::code::errors_markdown();
    if std::env::var_os("INFRA_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == fresh, "docs/errors.md is stale: run `INFRA_UPDATE_DOCS=1 cargo test --test it docs::`");
    for code in Code::ALL {
        assert!(committed.contains(&format!("| {} | {} |", code.id(), code.meaning())), "{} undocumented", code.id());
    }
}

#[test]
fn every_code_in_the_sources_is_registered() {
    // Codes are typed, so the compiler checks uses; this checks that no
    // message still spells a code out as text.
    let mut stack = vec![common::root().join("crates"), common::root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("code.rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    !text.contains("Diagnostic::error(\"") && !text.contains("Diagnostic::warning(\""),
                    "{}",
                    path.display()
                );
            }
        }
    }
}
