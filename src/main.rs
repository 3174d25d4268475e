//! The `infra` command line: a thin layer over `infra_compiler`.

use clap::{Parser, Subcommand, ValueEnum};
use infra_compiler::{Compilation, Options, emit};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// Compiling allocates many small maps and strings; mimalloc is markedly
// faster at that than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "infra", version, about = "A declarative infrastructure compiler for Kubernetes")]
#[command(
    after_help = "Exit codes: 0 success (plan/diff: no change), 1 error, 2 changes (plan/diff), 3 a denied hazard."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a project into plain Kubernetes manifests.
    #[command(after_help = "Examples:
  infra build                         build every environment into ./compiled/<env>
  infra build examples/apollo --env lab
  infra build --env prod -o -         print one YAML stream in apply order
  infra build --check                 exit 1 if ./compiled is not what the code says")]
    Build {
        /// The project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Environments to build (repeatable); default: all.
        #[arg(long = "env", short = 'e', value_name = "ENV")]
        envs: Vec<String>,
        /// Output directory, or `-` for stdout; needs exactly one environment.
        #[arg(long, short = 'o', value_name = "OUT")]
        output: Option<String>,
        /// Write nothing; exit 1 if the output on disk differs from a fresh build.
        #[arg(long)]
        check: bool,
        /// Treat unresolved references as errors.
        #[arg(long)]
        strict: bool,
    },
    /// Print the dependency graph of one environment.
    #[command(after_help = "Examples:
  infra graph examples/apollo --env lab
  infra graph --format dot | dot -Tsvg > graph.svg
  infra graph --format mermaid")]
    Graph {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The environment; default: the first one.
        #[arg(long = "env", short = 'e', value_name = "ENV")]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// Create a starter project.
    #[command(after_help = "Examples:
  infra init                 a project in the current directory, named after it
  infra init myapp --name myapp")]
    Init {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Project name ([a-z0-9-]+); default: the directory's name.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Text,
    Dot,
    Mermaid,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build { dir, envs, output, check, strict } => build(&dir, envs, output, check, strict),
        Command::Graph { dir, env, format } => graph(&dir, env, format),
        Command::Init { dir, name } => init(&dir, name),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// Compiles and prints diagnostics; `None` when the compilation failed.
fn compile(dir: &Path, options: &Options) -> Option<Compilation> {
    let c = infra_compiler::compile(dir, options);
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{}", c.diagnostics.render(&c.sources));
    if c.failed() {
        let n = c.diagnostics.error_count();
        let _ = writeln!(stderr, "error: build failed with {n} error{}", if n == 1 { "" } else { "s" });
        return None;
    }
    Some(c)
}

fn build(dir: &Path, envs: Vec<String>, output: Option<String>, check: bool, strict: bool) -> Result<ExitCode, String> {
    let Some(c) = compile(dir, &Options { envs, strict }) else {
        return Ok(ExitCode::from(1));
    };
    if output.is_some() && c.graphs.len() != 1 {
        let names: Vec<&str> = c.graphs.iter().map(|g| g.env.as_str()).collect();
        return Err(format!("-o needs exactly one environment; choose one with --env ({})", names.join(", ")));
    }
    let outputs = c.graphs.iter().map(emit::emit).collect::<Result<Vec<_>, _>>()?;
    if output.as_deref() == Some("-") {
        let mut stdout = std::io::stdout().lock();
        for out in &outputs {
            stdout.write_all(out.stream().as_bytes()).map_err(|e| e.to_string())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut stale = false;
    for out in &outputs {
        let target = match &output {
            Some(o) => PathBuf::from(o),
            None => dir.join("compiled").join(&out.env),
        };
        if check {
            let diffs = emit::check(&target, out);
            if diffs.is_empty() {
                eprintln!("{}: up to date ({} objects in {})", out.env, out.files.len(), target.display());
            } else {
                stale = true;
                eprintln!("{}: {} is stale:", out.env, target.display());
                for d in diffs {
                    eprintln!("  {d}");
                }
            }
        } else {
            emit::write(&target, out)?;
            eprintln!("{}: wrote {} objects to {}", out.env, out.files.len(), target.display());
        }
    }
    if stale {
        eprintln!("help: run `infra build` and commit the result");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn graph(dir: &Path, env: Option<String>, format: GraphFormat) -> Result<ExitCode, String> {
    let envs = env.into_iter().collect::<Vec<_>>();
    let Some(c) = compile(dir, &Options { envs, strict: false }) else {
        return Ok(ExitCode::from(1));
    };
    let Some(g) = c.graphs.first() else {
        return Ok(ExitCode::from(1));
    };
    if c.graphs.len() > 1 {
        eprintln!("note: showing environment `{}`; choose another with --env", g.env);
    }
    let format = match format {
        GraphFormat::Text => infra_compiler::graph::Format::Text,
        GraphFormat::Dot => infra_compiler::graph::Format::Dot,
        GraphFormat::Mermaid => infra_compiler::graph::Format::Mermaid,
    };
    print!("{}", g.render(format));
    Ok(ExitCode::SUCCESS)
}

fn init(dir: &Path, name: Option<String>) -> Result<ExitCode, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = name.unwrap_or_else(|| infra_compiler::scaffold::name_from_dir(dir));
    let written = infra_compiler::scaffold::init(dir, &name)?;
    for p in written {
        eprintln!("created {}", p.display());
    }
    eprintln!("next: infra build {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
