//! Rendering a [`Plan`]: text for people (grouped by action, a summary line,
//! rollouts, hazards last and loud) and the JSON contract for CI bots.

use crate::changes::{Action, Change, FieldChange, Plan, Severity};
use infra_syntax::Value;
use serde_json::{Value as Json, json};
use std::fmt::Write;

const REDACTED: &str = "(redacted)";

/// The version of the JSON contract (`schema/plan.schema.json`): raised
/// when a field changes meaning or goes away; added fields keep it.
pub const FORMAT_VERSION: u32 = 1;

/// Styling for terminals; all empty when colour is off.
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
    }
}

fn color(action: Action) -> &'static str {
    match action {
        Action::Create => "32",
        Action::Update => "33",
        Action::Replace => "35",
        Action::Delete => "31",
    }
}

fn object_name(c: &Change) -> String {
    let ns = if c.id.namespace.is_empty() { String::new() } else { format!("{}/", c.id.namespace) };
    let name = match &c.renamed_from {
        Some(old) => format!("{} {ns}{old} → {}", c.id.kind, c.id.name),
        None => format!("{} {ns}{}", c.id.kind, c.id.name),
    };
    esc(&name)
}

/// Text from the manifests, safe for a terminal: control characters (an
/// escape sequence that sets the window title, writes the clipboard or
/// hides the lines after it) are printed escaped, as `\u{1b}`.
fn esc(text: &str) -> String {
    infra_syntax::diagnostic::render::escape(text).into_owned()
}

/// "Plan: 1 to create, ...; 9 unchanged."
fn summary(plan: &Plan) -> String {
    format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete; {} unchanged.",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Replace),
        plan.count(Action::Delete),
        plan.unchanged
    )
}

/// A hazard's object: `Kind namespace/name`.
fn hazard_object(h: &crate::changes::Hazard) -> String {
    let ns = if h.namespace.is_empty() { String::new() } else { format!("{}/", h.namespace) };
    format!("{} {ns}{}", h.kind, h.name)
}

/// The plan as text. `title` says what was compared.
pub fn text(plan: &Plan, title: &str, style: &Style) -> String {
    let mut out = String::new();
    let deadline = std::time::Instant::now() + LINE_DIFF_TIME;
    let _ = writeln!(out, "{}\n", esc(title));
    for action in [Action::Create, Action::Update, Action::Replace, Action::Delete] {
        for c in plan.changes.iter().filter(|c| c.action == action) {
            let head = format!("{} {}", symbol(action), object_name(c));
            let _ = writeln!(out, "{}", style.paint(color(action), &head));
            if let Some(from) = &c.from {
                let _ = writeln!(out, "    from {}", esc(from));
            }
            if action != Action::Create {
                let _ = writeln!(out, "    {}", esc(&c.reason));
            }
            for f in &c.fields {
                write_field(&mut out, f, style, deadline);
            }
        }
    }
    let rollouts: Vec<&Change> = plan.changes.iter().filter(|c| c.rollout).collect();
    if !rollouts.is_empty() {
        let _ = writeln!(out, "\nPods restart:");
        for c in rollouts {
            let _ = writeln!(out, "  {}: {}", object_name(c), esc(&c.reason));
        }
    }
    let _ = writeln!(out, "\n{}", summary(plan));
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(out, "\nUnmanaged (in the cluster, not in the project — a redeploy would not recreate them):");
        for u in &plan.unmanaged {
            match &u.note {
                Some(note) => {
                    let _ = writeln!(out, "  ? {}: {}", esc(&u.id.short()), esc(note));
                }
                None => {
                    let _ = writeln!(out, "  ? {}", esc(&u.id.short()));
                }
            }
        }
    }
    let loss: Vec<_> = plan.hazards.iter().filter(|h| h.severity == Severity::DataLoss).collect();
    let warnings: Vec<_> = plan.hazards.iter().filter(|h| h.severity == Severity::Warning).collect();
    if !loss.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            style.paint(
                "1;31",
                &format!(
                    "DATA LOSS: this change destroys data ({} hazard{}):",
                    loss.len(),
                    if loss.len() == 1 { "" } else { "s" }
                ),
            )
        );
        for h in loss {
            let line = esc(&format!("  ✗ {}: {}", hazard_object(h), h.reason));
            let _ = writeln!(out, "{}", style.paint("31", &line));
            if let Some(advice) = &h.advice {
                let _ = writeln!(out, "      first: {}", esc(advice));
            }
        }
    }
    if !warnings.is_empty() {
        let _ = writeln!(out, "\n{}", style.paint("33", "Warnings:"));
        for h in warnings {
            let _ = writeln!(out, "{}", esc(&format!("  ! {}: {}", hazard_object(h), h.reason)));
        }
    }
    out
}

fn write_field(out: &mut String, f: &FieldChange, style: &Style, deadline: std::time::Instant) {
    if f.redacted {
        let size = |v: &Option<Value>| v.as_ref().map(secret_size);
        let what = match (size(&f.old), size(&f.new)) {
            (Some(a), Some(b)) => format!("changed ({a} → {b} bytes)"),
            (None, Some(b)) => format!("added ({b} bytes)"),
            (Some(a), None) => format!("removed ({a} bytes)"),
            (None, None) => "changed".into(),
        };
        let _ = writeln!(out, "    {}: {REDACTED} {what}", esc(&f.path));
        return;
    }
    match (&f.old, &f.new) {
        (Some(Value::String(a)), Some(Value::String(b))) if a.contains('\n') || b.contains('\n') => {
            let _ = writeln!(out, "    {}:", esc(&f.path));
            for line in line_diff_until(a, b, deadline).iter().map(|l| esc(l)) {
                let painted = match line.as_bytes().first() {
                    Some(b'-') => style.paint("31", &line),
                    Some(b'+') => style.paint("32", &line),
                    _ => line,
                };
                let _ = writeln!(out, "        {painted}");
            }
        }
        (old, new) => {
            let _ =
                writeln!(out, "    {}: {} → {}", esc(&f.path), esc(&short(old.as_ref())), esc(&short(new.as_ref())));
        }
    }
}

/// Bytes of a secret value: base64 `data` decoded, `stringData` as is.
fn secret_size(v: &Value) -> usize {
    match v {
        Value::String(s) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(s.trim()).map_or(s.len(), |b| b.len())
        }
        other => infra_syntax::canonical::canonical_json(other).len(),
    }
}

fn short(v: Option<&Value>) -> String {
    let Some(v) = v else { return "(none)".into() };
    let text = match v {
        Value::String(s) => format!("{s:?}"),
        other => infra_syntax::canonical::canonical_json(other),
    };
    if text.chars().count() > 120 { format!("{}…", text.chars().take(119).collect::<String>()) } else { text }
}

/// The changed lines of a multi-line string, `-` old and `+` new, with
/// `@@` separating distant hunks. Patience diff: near-linear on real texts
/// (a one-panel change in a 2,800-line dashboard is two lines).
pub fn line_diff(old: &str, new: &str) -> Vec<String> {
    line_diff_until(old, new, std::time::Instant::now() + LINE_DIFF_TIME)
}

/// How long the line diffs of one plan may take together: past it each
/// diff is still right, only coarser, so no pathological texts (thousands
/// of fields that differ everywhere) can stall a plan.
const LINE_DIFF_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// [`line_diff`] that ends its search at `deadline`.
fn line_diff_until(old: &str, new: &str, deadline: std::time::Instant) -> Vec<String> {
    let diff =
        similar::TextDiff::configure().algorithm(similar::Algorithm::Patience).deadline(deadline).diff_lines(old, new);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(0).iter().enumerate() {
        if i > 0 {
            out.push("@@".to_string());
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => continue,
                };
                out.push(format!("{sign} {}", change.value().trim_end_matches(['\n', '\r'])));
            }
        }
    }
    out
}

/// The plan as Markdown for a pull-request comment: hazards first, then
/// the summary, the restarts, and one collapsed `<details>` per object
/// with its field changes in a `diff` block. Text from manifests is
/// escaped for HTML in summaries and fenced longer than any run of
/// backticks in it, so no value can close a block or add markup.
pub fn markdown(plan: &Plan, title: &str) -> String {
    let mut out = String::new();
    let deadline = std::time::Instant::now() + LINE_DIFF_TIME;
    let _ = writeln!(out, "### {}\n", html(title));
    let loss: Vec<_> = plan.hazards.iter().filter(|h| h.severity == Severity::DataLoss).collect();
    let warnings: Vec<_> = plan.hazards.iter().filter(|h| h.severity == Severity::Warning).collect();
    if !loss.is_empty() {
        let plural = if loss.len() == 1 { "" } else { "s" };
        let _ =
            writeln!(out, "> [!CAUTION]\n> **DATA LOSS: this change destroys data ({} hazard{plural}):**", loss.len());
        for h in &loss {
            let _ = writeln!(out, "> - ✗ {}: {}", code(&hazard_object(h)), html(&h.reason));
            if let Some(advice) = &h.advice {
                let _ = writeln!(out, ">   first: {}", html(advice));
            }
        }
        out.push('\n');
    }
    if !warnings.is_empty() {
        let _ = writeln!(out, "> [!WARNING]\n> **Warnings:**");
        for h in &warnings {
            let _ = writeln!(out, "> - {}: {}", code(&hazard_object(h)), html(&h.reason));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "**{}**\n", summary(plan));
    let rollouts: Vec<&Change> = plan.changes.iter().filter(|c| c.rollout).collect();
    if !rollouts.is_empty() {
        let _ = writeln!(out, "Pods restart:\n");
        for c in rollouts {
            let _ = writeln!(out, "- {}: {}", code(&object_name(c)), html(&c.reason));
        }
        out.push('\n');
    }
    for action in [Action::Create, Action::Update, Action::Replace, Action::Delete] {
        for c in plan.changes.iter().filter(|c| c.action == action) {
            let mut head = format!("<code>{} {}</code>", symbol(action), html(&object_name(c)));
            if action != Action::Create {
                head.push_str(&format!(" — {}", html(&c.reason)));
            }
            let _ = writeln!(out, "<details><summary>{head}</summary>\n");
            let mut body = String::new();
            if let Some(from) = &c.from {
                let _ = writeln!(body, "from {from}");
            }
            for f in &c.fields {
                write_field(&mut body, f, &Style { color: false }, deadline);
            }
            if !body.is_empty() {
                let fence = "`".repeat(3.max(longest_backtick_run(&body) + 1));
                let _ = writeln!(out, "{fence}diff\n{body}{fence}\n");
            }
            let _ = writeln!(out, "</details>\n");
        }
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(out, "Unmanaged (in the cluster, not in the project — a redeploy would not recreate them):\n");
        for u in &plan.unmanaged {
            let note = u.note.as_deref().map(|n| format!(": {}", html(n))).unwrap_or_default();
            let _ = writeln!(out, "- {}{note}", code(&u.id.short()));
        }
    }
    out
}

/// Text for Markdown and inline HTML: `&`, `<`, `>` as entities, and
/// control characters (a line break would start a new block) escaped.
/// Backticks stay: reasons quote names in code spans.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in esc(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// An inline code span of `text`, delimited by more backticks than it holds.
fn code(text: &str) -> String {
    let text = esc(text);
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    format!("{ticks} {text} {ticks}")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// The plan in its JSON contract (`docs/plan.md`; extra fields may be added).
pub fn json(plan: &Plan) -> Json {
    let value = |f: &FieldChange, v: &Option<Value>| match v {
        None => Json::Null,
        Some(_) if f.redacted => Json::String(REDACTED.into()),
        Some(v) => infra_syntax::json::to_json(v),
    };
    let changes: Vec<Json> = plan
        .changes
        .iter()
        .map(|c| {
            let mut o = json!({
                "action": c.action.word(),
                "apiVersion": c.api_version,
                "kind": c.id.kind,
                "namespace": c.id.namespace,
                "name": c.id.name,
                "rollout": c.rollout,
                "reason": c.reason,
                "fields": c.fields.iter().map(|f| json!({"path": f.path, "old": value(f, &f.old), "new": value(f, &f.new)})).collect::<Vec<_>>(),
            });
            if let Some(from) = &c.from {
                o["from"] = json!(from);
            }
            if let Some(old) = &c.renamed_from {
                o["renamedFrom"] = Json::String(old.clone());
            }
            o
        })
        .collect();
    json!({
        "format_version": FORMAT_VERSION,
        "summary": {
            "create": plan.count(Action::Create),
            "update": plan.count(Action::Update),
            "replace": plan.count(Action::Replace),
            "delete": plan.count(Action::Delete),
            "unchanged": plan.unchanged,
        },
        "changes": changes,
        "hazards": plan.hazards.iter().map(|h| {
            let mut o = json!({
                "severity": h.severity.word(),
                "kind": h.kind,
                "namespace": h.namespace,
                "name": h.name,
                "reason": h.reason,
            });
            if let Some(advice) = &h.advice {
                o["advice"] = Json::String(advice.clone());
            }
            o
        }).collect::<Vec<_>>(),
        "unmanaged": plan.unmanaged.iter().map(|u| {
            let mut o = json!({"kind": u.id.kind, "namespace": u.id.namespace, "name": u.id.name});
            if let Some(note) = &u.note {
                o["note"] = Json::String(note.clone());
            }
            o
        }).collect::<Vec<_>>(),
    })
}

/// Several plans (one per environment) as one document of the same shape
/// as one plan's: the summary adds up, every change, hazard and unmanaged
/// object carries its `env`, and `environments` lists each one's summary.
/// A CI bot reads one shape whatever the number of environments.
pub fn json_of_environments(plans: &[(&str, &Plan)]) -> Json {
    let mut out = json!({
        "format_version": FORMAT_VERSION,
        "summary": {"create": 0, "update": 0, "replace": 0, "delete": 0, "unchanged": 0},
        "changes": [], "hazards": [], "unmanaged": [], "environments": [],
    });
    for (env, plan) in plans {
        let mut one = json(plan);
        for (key, n) in one["summary"].as_object().into_iter().flatten() {
            out["summary"][key] = json!(out["summary"][key].as_u64().unwrap_or(0) + n.as_u64().unwrap_or(0));
        }
        for list in ["changes", "hazards", "unmanaged"] {
            let items = one[list].as_array_mut().map(std::mem::take).unwrap_or_default();
            let all = out[list].as_array_mut().expect("a list");
            all.extend(items.into_iter().map(|mut item| {
                item["env"] = json!(env);
                item
            }));
        }
        out["environments"].as_array_mut().expect("a list").push(json!({"env": env, "summary": one["summary"]}));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_changed_line_of_a_long_text_is_one_changed_line() {
        // A dashboard-sized text with many repeated lines (`},`): 2,800
        // lines, one of them changed, is shown as that line.
        let old: String = (0..2800)
            .map(|i| if i % 3 == 0 { "    },\n".to_string() } else { format!("    \"title\": \"panel {i}\",\n") })
            .collect();
        let new = old.replace("\"title\": \"panel 10\"", "\"title\": \"panel 10 (host)\"");
        assert_eq!(line_diff(&old, &new), ["-     \"title\": \"panel 10\",", "+     \"title\": \"panel 10 (host)\","]);
        // Texts that differ everywhere are shown whole, without stalling.
        let a: String = (0..20_000).map(|i| format!("a{i}\n")).collect();
        let b: String = (0..20_000).map(|i| format!("b{i}\n")).collect();
        let start = std::time::Instant::now();
        assert_eq!(line_diff(&a, &b).len(), 40_000);
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn line_diffs_show_only_changed_lines() {
        let old = "[smtp]\nenabled = false\nhost = \nfrom = a\n[x]\ny = 1\nz = 2\n";
        let new = "[smtp]\nenabled = true\nhost = smtp:587\nfrom = a\n[x]\ny = 1\nz = 3\n";
        assert_eq!(
            line_diff(old, new),
            ["- enabled = false", "- host = ", "+ enabled = true", "+ host = smtp:587", "@@", "- z = 2", "+ z = 3"]
                .map(String::from)
        );
    }
}
