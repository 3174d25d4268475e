//! Everything the CLI tells people or tools on stderr goes through a
//! [`Reporter`]: diagnostics (human or JSON lines), status lines, and the
//! summary of a failure. Results go to stdout through [`Reporter::stdout`],
//! where a reader that stops early (`| head`) ends the command quietly.

use clap::ValueEnum;
use infra_syntax::diagnostic::render::{Style, escape};
use infra_syntax::{Code, Diagnostic, Diagnostics, Sources};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
pub enum ErrorFormat {
    Human,
    Json,
    // GitHub Actions workflow commands: annotations on the pull request.
    Github,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

pub struct Reporter {
    format: ErrorFormat,
    color: Color,
}

impl Reporter {
    pub fn new(format: ErrorFormat, color: Color) -> Reporter {
        Reporter { format, color }
    }

    /// Whether to colour what goes to a stream that may be a terminal.
    fn colored(&self, terminal: bool) -> bool {
        match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// Whether results on stdout are coloured.
    pub fn stdout_color(&self) -> bool {
        self.colored(std::io::stdout().is_terminal())
    }

    fn style(&self) -> Style {
        let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(Style::PLAIN.width);
        Style { color: self.colored(std::io::stderr().is_terminal()), width }
    }

    /// Prints diagnostics.
    pub fn diagnostics(&self, diagnostics: &Diagnostics, sources: &Sources) {
        let mut stderr = std::io::stderr().lock();
        match self.format {
            ErrorFormat::Human => {
                let _ = stderr.write_all(diagnostics.render(sources, &self.style()).as_bytes());
            }
            ErrorFormat::Json => {
                for d in diagnostics.iter() {
                    let _ = writeln!(stderr, "{}", d.to_json(sources));
                }
            }
            // The runner reads workflow commands from stdout and stderr alike.
            ErrorFormat::Github => {
                for d in diagnostics.iter() {
                    let _ = writeln!(stderr, "{}", d.to_github(sources));
                }
            }
        }
    }

    /// Prints the diagnostics that made a command fail and a summary of
    /// them; the exit code of an error.
    pub fn failed(&self, diagnostics: &Diagnostics, sources: &Sources, what: &str) -> ExitCode {
        self.diagnostics(diagnostics, sources);
        let n = diagnostics.error_count();
        let mut summary = Diagnostics::new();
        summary.push(Diagnostic::error(
            Code::Failed,
            format!("{what} failed with {n} error{}", if n == 1 { "" } else { "s" }),
        ));
        self.diagnostics(&summary, sources);
        ExitCode::from(1)
    }

    /// An error about the command itself, with no file to point at.
    pub fn error(&self, d: Diagnostic) -> ExitCode {
        let mut diagnostics = Diagnostics::new();
        diagnostics.push(d);
        self.diagnostics(&diagnostics, &Sources::new());
        ExitCode::from(1)
    }

    /// Writes a command's result to stdout. A reader that closed the pipe
    /// (`| head`) has seen all it wanted: that ends the command quietly.
    pub fn stdout(&self, text: &str) {
        self.stdout_with(&mut |out| out.write_all(text.as_bytes()));
    }

    /// Writes a command's result to stdout piece by piece, buffered.
    pub fn stdout_with(&self, write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>) {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        if let Err(e) = write(&mut out).and_then(|()| out.flush())
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            self.error(Diagnostic::error(Code::CannotWrite, format!("cannot write to standard output: {e}")));
        }
    }

    /// A status line ("wrote 3 objects to ..."): text for people, an
    /// `info` object in the JSON stream.
    pub fn status(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = match self.format {
            ErrorFormat::Human | ErrorFormat::Github => {
                let lines: Vec<_> = text.lines().map(escape).collect();
                writeln!(stderr, "{}", lines.join("\n"))
            }
            ErrorFormat::Json => writeln!(stderr, "{}", serde_json::json!({"severity": "info", "message": text})),
        };
    }
}

/// A number of things in words: "1 object", "2 objects".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}
