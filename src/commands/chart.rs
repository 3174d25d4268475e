//! `infra chart pull`: vendors an upstream chart into the project with the
//! real `helm pull`, from a chart repository or an OCI registry. Upgrading
//! a chart is pulling the new version, pointing `chart:` at it, and reading
//! `infra plan`.

use crate::report::Reporter;
use infra_compiler::eval::helm::Helm;
use infra_syntax::{Code, Diagnostic};
use std::path::Path;
use std::process::ExitCode;

pub struct Args {
    /// A repository URL (with `name`), or an `oci://` reference.
    pub source: String,
    pub name: Option<String>,
    pub version: String,
    pub into: std::path::PathBuf,
    pub plain_http: bool,
}

pub fn pull(r: &Reporter, args: &Args) -> ExitCode {
    let oci = args.source.starts_with("oci://");
    if oci == args.name.is_some() {
        return r.error(
            Diagnostic::error(Code::Usage, "give a repository URL and a chart name, or one oci:// reference")
                .help("infra chart pull https://grafana.github.io/helm-charts grafana --version 8.0.0, or infra chart pull oci://ghcr.io/org/charts/name --version 1.2.3"),
        );
    }
    let helm = match Helm::find(None) {
        Ok(h) => h,
        Err(why) => {
            return r.error(
                Diagnostic::error(Code::ChartPull, format!("Helm cannot be used: {why}"))
                    .help("install Helm (https://helm.sh/docs/intro/install/) or point INFRA_HELM at it"),
            );
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.into) {
        return r.error(Diagnostic::error(Code::ChartPull, format!("cannot create {}: {e}", args.into.display())));
    }
    match helm.pull(&args.source, args.name.as_deref(), &args.version, &args.into, args.plain_http) {
        Ok(file) => {
            r.status(&format!("pulled {} into {}", args.version, file.display()));
            let entry =
                args.name.clone().unwrap_or_else(|| args.source.rsplit('/').next().unwrap_or("chart").to_string());
            r.status(&format!(
                "use it in infra.yaml:\ncharts:\n  {entry}:\n    chart: {}",
                Path::new(&args.into).join(file.file_name().unwrap_or_default()).display()
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            let first = e.lines().next().unwrap_or_default().trim_start_matches("Error: ").to_string();
            r.error(
                Diagnostic::error(
                    Code::ChartPull,
                    format!("helm pull of {} {} failed: {first}", args.source, args.version),
                )
                .help("check the repository URL, the chart's name and version (`helm search repo`), and the network"),
            )
        }
    }
}
