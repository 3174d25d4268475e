//! minijinja's built-in filters whose output can outgrow their input
//! (`join`, `indent`, `replace`, `format`, `tojson(indent)`, `batch`,
//! `slice`), registered over the originals: each computes the size it is
//! about to build and refuses past the limits of a result, before anything
//! is allocated. Fuel bounds an expression's instructions and the work
//! budget (`MAX_BUILD_WORK`) the work inside them; these refuse early,
//! with a message that names the filter. The limits of results live here too.
//!
//! `chain` is registered over too: minijinja's turns an input it cannot
//! iterate into an invalid item, and ordering two invalid values panics
//! inside minijinja 2.24 (`(1|chain(1)) < (1|chain(1))`).

use minijinja::value::{Kwargs, Rest, StringInput, Value};
use minijinja::{Environment, Error, ErrorKind, State, filters};

/// The most values one expression may produce (`[1] * 10**9` must fail
/// quickly instead of filling memory).
pub const MAX_RESULT_NODES: usize = 1_000_000;
/// The most text one expression may add to a string.
pub const MAX_RESULT_BYTES: usize = 8 << 20;
/// What the results of all expressions of one build may weigh together:
/// their text, and 32 bytes for each value (a plain path's value counts at
/// each use, since each is a copy). The benchmark's 100,000 services make
/// 74 MB.
pub const MAX_BUILD_RESULTS: usize = 256 << 20;
/// The work one expression may do inside minijinja's operations, in
/// bytes of text made or written (a value iterated costs
/// [`super::cost::ITEM_COST`]): 8 million values or 256 MiB of text.
/// It bounds what one expression holds at once.
pub const MAX_EXPRESSION_WORK: u64 = 256 << 20;
/// The work all expressions of one build may do together: 32 million
/// values or 1 GiB of text, a few seconds. It bounds the time of a build
/// whose expressions each stay under their limit. The bundled example
/// uses about 1,000 of it; 20,000 `for_each` items with four expressions
/// that map, filter, sort and join lists, 112 million; the benchmark's
/// 100,000 services none (their expressions are plain paths).
pub const MAX_BUILD_WORK: u64 = 1 << 30;
/// The widest `format` width or precision, and the deepest `tojson` indent.
pub const MAX_PADDING: usize = 4096;

fn too_long(filter: &str, bytes: usize) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("{filter} would make {bytes} bytes; a result is at most {} MiB", MAX_RESULT_BYTES >> 20),
    )
}

fn too_many(filter: &str, items: usize) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("{filter} would make {items} values; a result has at most {MAX_RESULT_NODES}"),
    )
}

fn check_bytes(filter: &str, bytes: usize) -> Result<(), Error> {
    if bytes > MAX_RESULT_BYTES { Err(too_long(filter, bytes)) } else { Ok(()) }
}

/// The text of a value as `join` and `replace` see it.
fn text_len(v: &Value) -> usize {
    v.as_str().map_or_else(|| v.to_string().len(), str::len)
}

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("join", join);
    env.add_filter("indent", indent);
    env.add_filter("replace", replace);
    env.add_filter("format", format);
    env.add_filter("tojson", tojson);
    env.add_filter("batch", batch);
    env.add_filter("slice", slice);
    env.add_filter("chain", chain);
}

fn chain(state: &State, value: Value, others: Rest<Value>) -> Result<Value, Error> {
    if let Some(v) = std::iter::once(&value).chain(others.iter()).find(|v| v.try_iter().is_err()) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("chain takes lists, maps and strings, not a value of kind {}", v.kind()),
        ));
    }
    filters::chain(state, value, others)
}

fn join(state: &State, value: &Value, joiner: Option<StringInput>) -> Result<Value, Error> {
    let sep = joiner.as_ref().map_or(0, |j| j.as_str().len());
    if let Some(s) = value.as_str() {
        check_bytes("join", s.len().saturating_add(s.chars().count().saturating_mul(sep)))?;
    } else {
        if let Some(n) = value.len() {
            if n > MAX_RESULT_NODES {
                return Err(too_many("join", n));
            }
            check_bytes("join", sep.saturating_mul(n.saturating_sub(1)))?;
        }
        // Measured item by item, whether or not its length is known.
        let mut total = 0usize;
        for (n, item) in value.try_iter()?.enumerate() {
            if n >= MAX_RESULT_NODES {
                return Err(too_many("join", n));
            }
            total = total.saturating_add(text_len(&item)).saturating_add(if n > 0 { sep } else { 0 });
            check_bytes("join", total)?;
        }
    }
    filters::join(state, value, joiner)
}

fn indent(
    value: StringInput,
    width: Option<usize>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let text = value.as_str();
    let lines = text.lines().count() + 1;
    // The width may be given by name too.
    let named: Option<usize> = kwargs.peek("width").unwrap_or(None);
    let widest = width.or(named).unwrap_or(4);
    check_bytes("indent", text.len().saturating_add(widest.saturating_mul(lines)))?;
    filters::indent(value, width, first, blank, kwargs)
}

fn replace(state: &State, value: StringInput, from: StringInput, to: StringInput) -> Result<Value, Error> {
    let (s, f) = (value.as_str(), from.as_str());
    let times = if f.is_empty() { s.chars().count() + 1 } else { s.matches(f).count() };
    let grows = to.as_str().len().saturating_sub(f.len());
    check_bytes("replace", s.len().saturating_add(times.saturating_mul(grows)))?;
    filters::replace(state, value, from, to)
}

fn format(state: &State, format: &Value, args: Rest<Value>) -> Result<Value, Error> {
    if format.as_str().is_some_and(|f| widest_padding(f) > MAX_PADDING) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("format widths and precisions are at most {MAX_PADDING}"),
        ));
    }
    filters::format(state, format, args)
}

/// The largest width or precision of a printf-style format's conversions
/// (`%-10.5f`: 10), past flags; `%%` is a literal.
fn widest_padding(format: &str) -> usize {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let number = |d: &str| if d.is_empty() { 0 } else { d.parse().unwrap_or(usize::MAX) };
    let mut widest = 0;
    let mut rest = format;
    while let Some(i) = rest.find('%') {
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            rest = after;
            continue;
        }
        // `%(key)s` names an argument of a mapping before its flags.
        if let Some(after) = rest.strip_prefix('(') {
            rest = after.split_once(')').map_or("", |(_, r)| r);
        }
        let spec = rest.trim_start_matches(['-', '+', ' ', '#', '0']);
        let (width, spec) = spec.split_at(digits(spec));
        let precision = spec.strip_prefix('.').map_or("", |p| &p[..digits(p)]);
        widest = widest.max(number(width)).max(number(precision));
    }
    widest
}

fn tojson(value: &Value, indent: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let given = indent.clone().or(kwargs.get::<Option<Value>>("indent")?);
    // Any integer, however large (past 64 bits it would overflow).
    let too_deep = |v: &Value| v.is_integer() && i64::try_from(v.clone()).map_or(true, |n| n > MAX_PADDING as i64);
    if given.as_ref().is_some_and(too_deep) {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("tojson's indent is at most {MAX_PADDING}")));
    }
    filters::tojson(value, indent, kwargs)
}

/// `batch` and `slice` make `count` lists, or fill lists up to `count`.
fn check_count(filter: &str, value: &Value, count: usize) -> Result<(), Error> {
    let n = value.len().unwrap_or(0);
    if count > MAX_RESULT_NODES.max(n) {
        return Err(too_many(filter, count));
    }
    Ok(())
}

fn batch(state: &State, value: Value, count: usize, fill_with: Option<Value>) -> Result<Value, Error> {
    check_count("batch", &value, count)?;
    filters::batch(state, value, count, fill_with)
}

fn slice(state: &State, value: Value, count: usize, fill_with: Option<Value>) -> Result<Value, Error> {
    check_count("slice", &value, count)?;
    filters::slice(state, value, count, fill_with)
}

#[cfg(test)]
mod tests {
    use super::widest_padding;

    #[test]
    fn padding_is_read_from_conversions_only() {
        assert_eq!(widest_padding("%-10.5f and %3d"), 10);
        assert_eq!(widest_padding("%.999999999f"), 999_999_999);
        assert_eq!(widest_padding("100%% of 99999 files: %s"), 0);
        assert_eq!(widest_padding("% 5d"), 5);
        assert_eq!(widest_padding("%99999999999999999999999s"), usize::MAX);
        assert_eq!(widest_padding("%(a)999999999s and %(b)-7.3f"), 999_999_999);
    }
}
