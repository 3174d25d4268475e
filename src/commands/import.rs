//! `infra import`: plain manifests into a new project (written whole or not
//! at all), or a Grafana's dashboards into `dashboards/<folder>/<uid>.json`.

use crate::report::{Reporter, count};
use crate::scaffold;
use infra_compiler::emit::dir::{self, NewFile, OutDir};
use infra_compiler::emit::names::fit_name;
use infra_compiler::emit::path::RelPath;
use infra_import::grafana::{Grafana, folder_dir};
use infra_import::manifests::{self as import, Options};
use infra_syntax::{Code, Diagnostic, Diagnostics, Map, Sources, Value, yaml};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

pub fn manifests(
    r: &Reporter,
    sources: &[String],
    into: &Path,
    name: Option<String>,
    keep_secrets: bool,
    namespace: Option<&str>,
) -> ExitCode {
    if sources.is_empty() {
        return r.error(
            Diagnostic::error(Code::NothingToImport, "nothing to import")
                .help("name the manifests to import (files, folders or `-`), or give --grafana URL"),
        );
    }
    let mut srcs = Sources::new();
    let mut diags = Diagnostics::new();
    let mut objects = Vec::new();
    for s in sources {
        objects.extend(infra_plan::read::read(s, &mut srcs, &mut diags));
    }
    if let Some(ns) = namespace {
        infra_k8s::kinds::default_namespace(&mut objects, ns);
    }
    if diags.has_errors() {
        return r.failed(&diags, &srcs, "import");
    }
    r.diagnostics(&diags, &srcs);
    if objects.is_empty() {
        return r.error(Diagnostic::error(Code::NothingToImport, "the sources hold no Kubernetes objects"));
    }
    let name = name.unwrap_or_else(|| scaffold::name_from_dir(into));
    if !infra_compiler::load::valid_name(&name) {
        return r.error(
            Diagnostic::error(Code::NothingToImport, format!("`{name}` is not a valid project name"))
                .help("use lowercase letters, digits and `-` (--name)"),
        );
    }
    let sources_read = objects.clone();
    let (files, report) = match import::project_files(objects, &Options { name, keep_secrets }) {
        Ok(done) => done,
        Err(d) => return r.error(d),
    };
    let new: Vec<NewFile> = files.iter().map(|(path, text)| NewFile { path, bytes: text.as_bytes() }).collect();
    if let Err(d) = OutDir::new(into).and_then(|out| dir::create(&out, &new)) {
        return r.error(d.note("import writes a new project, whole or not at all"));
    }
    r.status(&format!(
        "imported {} and {} into {} ({})",
        count(report.resources, "resource"),
        count(report.dashboards, "dashboard"),
        into.display(),
        count(report.files.len(), "file")
    ));
    if let Some(ns) = &report.namespace_param {
        r.status(&format!("  namespace {ns} is now the `namespace` parameter, set in `common`"));
    }
    let n_without = report.without_namespace.len();
    let lists = [
        (
            &report.external,
            "declared `external: true`, used by the objects and not in the sources (they exist in the cluster, or are made at run time)".to_string(),
        ),
        (
            &report.without_namespace,
            format!(
                "warning: {} no namespace, so kubectl puts them in its context's; set `common: {{namespace: ...}}` in infra.yaml",
                count(n_without, "namespaced object") + if n_without == 1 { " has" } else { " have" }
            ),
        ),
        (
            &report.dropped_tests,
            format!(
                "dropped {} (`helm test` runs them; they are not part of a release)",
                count(report.dropped_tests.len(), "test hook")
            ),
        ),
        (
            &report.kept_hooks,
            format!(
                "warning: kept {} as ordinary objects: Helm runs them at install or upgrade and deletes them, `kubectl apply` keeps them (delete the files of those you do not want)",
                count(report.kept_hooks.len(), "Helm hook")
            ),
        ),
        (
            &report.secrets_stubbed,
            "Secrets written as `external: true` stubs, their data left in the cluster (--keep-secrets keeps it)".to_string(),
        ),
        (
            &report.skipped_owned,
            format!("skipped {} made by controllers (their owners recreate them)", count(report.skipped_owned.len(), "object")),
        ),
    ];
    for (items, head) in lists {
        if !items.is_empty() {
            r.status(&format!("  {head}: {}", items.join(", ")));
        }
    }
    first_apply(r, &sources_read, into);
    if let Some((release, namespace)) = import::helm_release(&sources_read) {
        r.status(&helm_hand_over(&release, namespace.as_deref(), into));
    }
    r.status(&format!("next: infra build {}", into.display()));
    ExitCode::SUCCESS
}

/// How a Helm release is handed over to infra without deleting what runs:
/// Helm forgets the release (its record is a Secret), then infra's output
/// is applied over the same objects.
fn helm_hand_over(release: &str, namespace: Option<&str>, into: &Path) -> String {
    let ns = namespace.unwrap_or("<namespace>");
    format!(
        "  these objects are Helm release `{release}`. To hand it over to infra without deleting anything:\n\
         \x20   1. build and review: `infra build {dir}`, then `infra plan {dir} --live <(kubectl get all,cm,secret,pvc -n {ns} -o yaml)`\n\
         \x20   2. make Helm forget the release, keeping its objects: `kubectl delete secret -n {ns} -l owner=helm,name={release}`\n\
         \x20   3. apply infra's output: `kubectl apply --server-side --force-conflicts -f {dir}/compiled/<env> -R` (or let Argo CD or Flux do it)\n\
         \x20 never `helm uninstall {release}`: it deletes every object of the release, the PersistentVolumeClaims its chart made and their data included (docs/deploy.md)",
        dir = into.display()
    )
}

/// What the first `kubectl apply` of the imported project does to what the
/// sources made: infra's `config-hash` annotation restarts every workload
/// that uses a ConfigMap or Secret, and a restart of a stateful workload
/// without storage loses its data. Said before anyone applies it.
fn first_apply(r: &Reporter, sources: &[Value], into: &Path) {
    let c = infra_compiler::compile(into, &infra_compiler::Options::default());
    let Some(graph) = c.graphs.first().filter(|_| !c.failed()) else {
        r.diagnostics(&c.diagnostics, &c.sources);
        return;
    };
    let external: std::collections::HashSet<_> = graph.ordered().filter(|o| o.external).map(|o| &o.id).collect();
    let new: Vec<&Value> = graph.ordered().filter(|o| !o.external).map(|o| &o.value).collect();
    let old: Vec<&Value> = sources
        .iter()
        .filter(|o| import::imported(o) && !external.contains(&infra_k8s::kinds::ObjectId::of(o)))
        .collect();
    let plan = infra_plan::plan(&old, &new, &infra_plan::Options::default());
    let rollouts: Vec<&infra_plan::Change> = plan.changes.iter().filter(|c| c.rollout).collect();
    if rollouts.is_empty() && plan.hazards.is_empty() {
        r.status("  the first `kubectl apply` of the build restarts nothing and loses nothing");
        return;
    }
    let mut text = format!(
        "  the first `kubectl apply` of the build restarts {} (infra adds `infra.dev/config-hash` to pod templates that use ConfigMaps or Secrets):\n",
        count(rollouts.len(), "workload")
    );
    for change in &rollouts {
        text.push_str(&format!("    {}\n", change.id.short()));
    }
    for h in &plan.hazards {
        let severity = match h.severity {
            infra_plan::Severity::DataLoss => "DATA LOSS",
            infra_plan::Severity::Warning => "warning",
        };
        let ns = if h.namespace.is_empty() { String::new() } else { format!("{}/", h.namespace) };
        text.push_str(&format!("  {severity}: {} {ns}{}: {}\n", h.kind, h.name, h.reason));
    }
    if plan.has_data_loss() {
        text.push_str("  before the first apply, save what lives only in the pods: copy it onto a PersistentVolumeClaim; for Grafana, `infra import --grafana URL --into DIR` saves its dashboards as files\n");
    }
    text.push_str("  see every change with `infra diff SOURCE <(infra build DIR -o -)`");
    r.status(&text);
}

pub fn grafana(r: &Reporter, url: &str, into: &Path) -> ExitCode {
    match rescue(r, url, into) {
        Ok(code) => code,
        Err(d) => r.error(d),
    }
}

fn rescue(r: &Reporter, url: &str, into: &Path) -> Result<ExitCode, Diagnostic> {
    let grafana = Grafana::new(url, std::env::var("GRAFANA_TOKEN").ok())?;
    let hits = grafana.search()?;
    let mut folders = BTreeMap::new();
    let mut written = 0;
    // The files of this run: two uids that make one file name (`a.b` and
    // `a-b`) must not make one file.
    let mut taken = std::collections::HashSet::new();
    for hit in &hits {
        let model = grafana.dashboard(&hit.uid)?;
        let dir = folder_dir(&hit.folder);
        // Uids are case-sensitive: keep them as file names when they are safe.
        let safe = !hit.uid.is_empty() && hit.uid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let stem = if safe { hit.uid.clone() } else { infra_k8s::kinds::name_from(&hit.uid) };
        let mut file = format!("dashboards/{dir}/{}", fit_name(&stem, ".json"));
        if !taken.insert(file.clone()) {
            let unique = format!("{stem}-{}", &infra_syntax::canonical::sha256_hex(hit.uid.as_bytes())[..8]);
            file = format!("dashboards/{dir}/{}", fit_name(&unique, ".json"));
            taken.insert(file.clone());
        }
        let rel = RelPath::new(file).map_err(|e| {
            Diagnostic::error(Code::Grafana, format!("dashboard `{}` gives no file name: {e}", hit.uid))
        })?;
        let path = rel.under(into);
        let mut text = serde_json::to_string_pretty(&model).unwrap_or_default();
        text.push('\n');
        let existing = std::fs::symlink_metadata(&path).ok().filter(|m| m.is_file()).map(|_| std::fs::read(&path));
        match existing {
            Some(Ok(old)) if old == text.as_bytes() => {}
            Some(_) => r.status(&format!(
                "kept {rel}: it exists and differs from Grafana's copy (compare them with a diff tool)"
            )),
            None => {
                dir::write_inside(into, &rel, text.as_bytes())?;
                written += 1;
            }
        }
        folders.insert(dir, hit.folder.clone());
    }
    // The `dashboards:` entries that list the saved files, as YAML.
    let entries: Vec<Value> = folders
        .iter()
        .map(|(dir, folder)| {
            let mut entry = Map::new();
            entry.insert("files", Value::from(format!("dashboards/{dir}/*.json")));
            entry.insert("folder", Value::from(folder.as_str()));
            Value::Map(entry)
        })
        .collect();
    let mut listing = Map::new();
    listing.insert("dashboards", Value::Seq(entries));
    let listing = yaml::emit(&Value::Map(listing));
    if into.join("infra.yaml").exists() {
        r.status(&format!("saved {written} new dashboards of {} into {}", hits.len(), into.display()));
        if !folders.is_empty() {
            r.status(&format!("add them to infra.yaml if it does not list them yet:\n{listing}"));
        }
    } else {
        let name = scaffold::name_from_dir(into);
        let mut project = Map::new();
        project.insert("name", Value::from(name));
        let text = format!(
            "# Dashboards rescued from {} by `infra import --grafana`.\n{}{listing}",
            grafana.shown().replace(|c: char| c.is_control(), " "),
            yaml::emit(&Value::Map(project))
        );
        let rel = RelPath::new("infra.yaml").map_err(|e| Diagnostic::error(Code::CannotWrite, e.to_string()))?;
        dir::write_inside(into, &rel, text.as_bytes())?;
        r.status(&format!("saved {written} dashboards of {} into a new project in {}", hits.len(), into.display()));
    }
    Ok(ExitCode::SUCCESS)
}
