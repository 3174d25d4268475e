//! `file_map()`'s formats: a dotenv file (`KEY=value`, the default) or a
//! Java properties file (`*.properties`), read into ordered key/value pairs
//! for a ConfigMap's `data`.
//!
//! Quotes are the format's own: `KEY="a b"` is `a b` (Kustomize keeps the
//! quotes in the value, which its users report as a bug). A key without a
//! value is an error rather than a read of infra's own environment, so that
//! a build never depends on the shell it runs in. A key set twice is an
//! error: one of the two values is a mistake.

use std::collections::HashMap;

/// What went wrong, and where (line and column, 1-based).
#[derive(Debug, PartialEq)]
pub struct EnvFileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The column at which `at`, a part of `line`, starts.
fn column(line: &str, at: &str) -> usize {
    let offset = (at.as_ptr() as usize).saturating_sub(line.as_ptr() as usize).min(line.len());
    line[..offset].chars().count() + 1
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    Dotenv,
    Properties,
}

impl Format {
    /// `*.properties` is a properties file; anything else is dotenv.
    pub fn of(path: &str) -> Format {
        if path.ends_with(".properties") { Format::Properties } else { Format::Dotenv }
    }
}

pub fn parse(text: &str, format: Format) -> Result<Vec<(String, String)>, EnvFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let entries = match format {
        Format::Dotenv => dotenv(text)?,
        Format::Properties => properties(text)?,
    };
    let mut first: HashMap<&str, usize> = HashMap::new();
    for ((line, column), key, _) in &entries {
        let (line, column) = (*line, *column);
        if !valid_key(key) {
            let message = format!(
                "`{key}` is not a valid ConfigMap key: keys are letters, digits, `-`, `_` and `.`, at most 253 characters"
            );
            return Err(EnvFileError { line, column, message });
        }
        if let Some(before) = first.insert(key, line) {
            let message = format!("`{key}` is set twice (first on line {before}); keep one");
            return Err(EnvFileError { line, column, message });
        }
    }
    Ok(entries.into_iter().map(|(_, k, v)| (k, v)).collect())
}

/// A ConfigMap key, as the API server checks it.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// (line, column) of each key, the key and its value.
type Entries = Vec<((usize, usize), String, String)>;

/// `KEY=value` lines; `#` comments; an optional `export `; values
/// unquoted (to a ` #` comment, trimmed), single-quoted (literal) or
/// double-quoted (`\n`, `\t`, `\"`, `\\` escapes); quoted values may span
/// lines.
fn dotenv(text: &str) -> Result<Entries, EnvFileError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, raw)) = lines.next() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, rest)) = line.split_once('=') else {
            let message = format!(
                "`{}` has no `=`: infra does not read values from its own environment; write `{}=value`",
                line.trim_end(),
                line.trim_end()
            );
            return Err(EnvFileError { line: n, column: column(raw, line), message });
        };
        let at = (n, column(raw, line));
        let key = key.trim_end().to_string();
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => quoted(raw, rest, quote, n, &mut lines)?,
            _ => match rest.find(" #").or_else(|| rest.find("\t#")) {
                Some(i) => rest[..i].trim_end().to_string(),
                None => rest.trim_end().to_string(),
            },
        };
        out.push((at, key, value));
    }
    Ok(out)
}

/// A quoted dotenv value (`opening` starts at the quote, in the line
/// `raw`), reading on to the closing quote.
fn quoted<'t>(
    raw: &'t str,
    opening: &'t str,
    quote: char,
    start: usize,
    lines: &mut impl Iterator<Item = (usize, &'t str)>,
) -> Result<String, EnvFileError> {
    let mut value = String::new();
    let (mut current, mut text) = (raw, &opening[1..]);
    let mut line = start;
    loop {
        let mut chars = text.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    let after = text[i + 1..].trim();
                    if !after.is_empty() && !after.starts_with('#') {
                        let message = format!("unexpected `{after}` after the closing {quote}");
                        return Err(EnvFileError { line, column: column(current, after), message });
                    }
                    return Ok(value);
                }
                '\\' if quote == '"' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some('r') => value.push('\r'),
                    Some(c @ ('"' | '\\' | '$')) => value.push(c),
                    Some(c) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => value.push('\\'),
                },
                c => value.push(c),
            }
        }
        match lines.next() {
            Some((n, next)) => {
                value.push('\n');
                (current, text) = (next, next);
                line = n;
            }
            None => {
                let message = format!("the {quote} opened here is never closed");
                return Err(EnvFileError { line: start, column: column(raw, opening), message });
            }
        }
    }
}

/// Java's `Properties.load`: `key=value`, `key: value` or `key value`;
/// `#` and `!` comments; a line ending in `\` goes on; `\t`, `\n`, `\uXXXX`
/// and `\x` escapes in keys and values.
fn properties(text: &str) -> Result<Entries, EnvFileError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, raw)) = lines.next() {
        let line = raw.trim_start_matches([' ', '\t', '\x0c']);
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let mut logical = String::from(line);
        while ends_in_odd_backslashes(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start_matches([' ', '\t', '\x0c'])),
                None => break,
            }
        }
        let at = (n, column(raw, line));
        let (key, value) = split_property(&logical);
        let failed = |message| EnvFileError { line: at.0, column: at.1, message };
        out.push((at, unescape(key).map_err(failed)?, unescape(value).map_err(failed)?));
    }
    Ok(out)
}

fn ends_in_odd_backslashes(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// The key (up to an unescaped `=`, `:` or blank) and the value (after
/// blanks and one separator), both still escaped.
fn split_property(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
    (key, rest.trim_start_matches([' ', '\t', '\x0c']))
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .ok_or_else(|| format!("`\\u{hex}` is not a \\uXXXX escape"))?;
                // A surrogate pair's halves are two escapes; they are joined.
                let c = if (0xD800..0xDC00).contains(&code) {
                    let low: String = chars.by_ref().take(6).collect();
                    let low = low.strip_prefix("\\u").and_then(|h| u32::from_str_radix(h, 16).ok());
                    low.filter(|l| (0xDC00..0xE000).contains(l))
                        .and_then(|l| char::from_u32(0x10000 + ((code - 0xD800) << 10) + (l - 0xDC00)))
                } else {
                    char::from_u32(code)
                };
                out.push(c.ok_or_else(|| format!("`\\u{hex}` is not a character"))?);
            }
            Some(c) => out.push(c),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str, format: Format) -> Vec<(String, String)> {
        parse(text, format).unwrap()
    }

    fn p(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn dotenv_quotes_comments_and_export() {
        let text = "# settings\n\nexport MODE=prod\nURL = http://x/#frag   # a comment\nNAME=\"a b\" # c\nRAW='$HOME \\n'\nMULTI=\"one\ntwo\\tthree\"\nEMPTY=\n";
        assert_eq!(
            pairs(text, Format::Dotenv),
            p(&[
                ("MODE", "prod"),
                ("URL", "http://x/#frag"),
                ("NAME", "a b"),
                ("RAW", "$HOME \\n"),
                ("MULTI", "one\ntwo\tthree"),
                ("EMPTY", ""),
            ])
        );
    }

    #[test]
    fn dotenv_errors_name_the_line() {
        let err = |t: &str| parse(t, Format::Dotenv).unwrap_err();
        assert_eq!(err("A=1\nHOME\n").line, 2);
        assert!(err("A=1\nHOME\n").message.contains("does not read values from its own environment"));
        let twice = err("A=1\nB=2\nA=3\n");
        assert_eq!((twice.line, twice.message.as_str()), (3, "`A` is set twice (first on line 1); keep one"));
        let open = err("A=\"open\nB=2\n");
        assert_eq!((open.line, open.column), (1, 3));
        let after = err("A=\"x\" y\n");
        assert_eq!((after.line, after.column, after.message.as_str()), (1, 7, "unexpected `y` after the closing \""));
        assert_eq!(err("  export  a b=1\n").column, 11);
        assert!(err("a b=1\n").message.contains("not a valid ConfigMap key"));
    }

    #[test]
    fn properties_separators_continuations_and_escapes() {
        let text = "! comment\n# comment\nspring.url=jdbc:h2:mem\nname : infra\nspaced value here\nlong = one, \\\n    two\nunicode=caf\\u00e9 \\uD83D\\uDE00\ntab=a\\tb\n";
        assert_eq!(
            pairs(text, Format::Properties),
            p(&[
                ("spring.url", "jdbc:h2:mem"),
                ("name", "infra"),
                ("spaced", "value here"),
                ("long", "one, two"),
                ("unicode", "café 😀"),
                ("tab", "a\tb"),
            ])
        );
        assert!(parse("key=x=1\nkey\\=x=1\n", Format::Properties).unwrap_err().message.contains("not a valid"));
        assert!(parse("a=\\u12\n", Format::Properties).unwrap_err().message.contains("\\uXXXX"));
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(Format::of("conf/app.properties"), Format::Properties);
        assert_eq!(Format::of("app.env"), Format::Dotenv);
        assert_eq!(Format::of(".env"), Format::Dotenv);
    }
}
