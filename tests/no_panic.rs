//! Randomised robustness: mutated YAML, expressions and dashboard JSON are
//! fed through the whole pipeline. Every outcome must be a build or
//! diagnostics — never a panic. A fixed seed keeps runs reproducible.

use crate::common;

use common::{TempDir, root};

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to YAML, expressions and JSON.
const SPICE: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ": ",
    "- ",
    "&a ",
    "*a",
    "!!str ",
    "|",
    ">",
    "'",
    "\"",
    "#",
    "\n",
    "\t",
    "  ",
    "${{",
    "}}",
    "$${{",
    "{{",
    "%",
    "@",
    "\\",
    "\u{0}",
    "é",
    "---\n",
    "...\n",
    "<<: ",
    "~",
    "0x",
    "1e999",
    "${{ item }}",
    "${{ ref('ConfigMap/x') }}",
    "${{ file('x') }}",
    "${{ params }}",
    "${{ range(9) }}",
    "null",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(4) {
        if s.is_empty() {
            break;
        }
        let at = rng.below(s.len());
        match rng.below(4) {
            0 => {
                s.remove(at);
            }
            1 => s.truncate(at),
            _ => {
                let spice: Vec<char> = SPICE[rng.below(SPICE.len())].chars().collect();
                s.splice(at..at, spice);
            }
        }
    }
    s.into_iter().collect()
}

#[test]
fn mutated_projects_never_panic() {
    let apollo = root().join("examples/apollo");
    let originals: Vec<(&str, String)> = [
        "infra.yaml",
        "manifests/prometheus.yaml",
        "modules/grafana/manifests/grafana.yaml",
        "envs/lab-smtp.yaml",
        "dashboards/nas.json",
    ]
    .iter()
    .map(|f| (*f, std::fs::read_to_string(apollo.join(f)).unwrap()))
    .collect();
    let dir = TempDir::new("mutations");
    common::copy_dir(&apollo, dir.path());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut built, mut failed) = (0, 0);
    for _ in 0..300 {
        let (file, original) = &originals[rng.below(originals.len())];
        std::fs::write(dir.join(file), mutate(original, &mut rng)).unwrap();
        let c = infra_compiler::compile(dir.path(), &infra_compiler::Options::default());
        if c.failed() {
            failed += 1;
            // Every error renders, with a location where one is known.
            let text = c.diagnostics.render(&c.sources, &infra_syntax::diagnostic::render::Style::PLAIN);
            assert!(text.contains("error["), "{text}");
        } else {
            built += 1;
            for g in &c.graphs {
                infra_compiler::emit::emit(g, true);
            }
        }
        std::fs::write(dir.join(file), original).unwrap();
    }
    // The mutations exercise both outcomes.
    assert!(built > 10 && failed > 10, "built {built}, failed {failed}");
}

#[test]
fn mutated_manifests_never_panic_the_loader_or_the_planner() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/helm/grafana-D-persistence.yaml")).unwrap();
    let base: Vec<infra_syntax::Value> = infra_syntax::yaml::load(infra_syntax::FileId(0), &text)
        .unwrap()
        .iter()
        .map(|d| d.to_value())
        .filter(|v| v.get("kind").is_some())
        .collect();
    let base_refs: Vec<&infra_syntax::Value> = base.iter().collect();
    let mut rng = Rng(42);
    for _ in 0..500 {
        let mutated = mutate(&text, &mut rng);
        if let Ok(docs) = infra_syntax::yaml::load(infra_syntax::FileId(0), &mutated) {
            let values: Vec<infra_syntax::Value> = docs.iter().map(|d| d.to_value()).collect();
            let refs: Vec<&infra_syntax::Value> = values.iter().collect();
            let plan = infra_plan::plan(&base_refs, &refs, &Default::default());
            infra_plan::render::json(&plan);
        }
    }
}
