//! The template syntax of strings: literal text and `${{ ... }}`
//! expressions, `$${{` for a literal `${{`. Splitting is syntax, shared by
//! the loader (which refuses expressions where none is evaluated) and the
//! evaluator.

/// One piece of a string: literal text, or an expression with its position
/// (in characters from the start of the string) and length.
#[derive(Debug, PartialEq, Clone, Copy)]
pub enum Segment<'a> {
    Text(&'a str),
    Expr { source: &'a str, offset: usize, len: usize },
}

/// Splits `s` into text and `${{ ... }}` expressions; `None` when the string
/// holds no expression (the common case). `$${{` is a literal `${{`. Plain
/// `{{ }}` is text. The pieces borrow from `s`: splitting allocates nothing.
pub fn segments(s: &str) -> Option<Segments<'_>> {
    s.contains("${{").then_some(Segments { rest: s, offset: 0 })
}

/// The pieces of a string, in order; an unclosed or empty expression is an
/// error with its position.
pub struct Segments<'a> {
    rest: &'a str,
    /// Characters before `rest`: counted as pieces are taken, since counting
    /// from the start each time is quadratic in the expressions of a string.
    offset: usize,
}

impl<'a> Iterator for Segments<'a> {
    type Item = Result<Segment<'a>, (usize, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest;
        if rest.is_empty() {
            return None;
        }
        let Some(i) = rest.find("${{") else {
            self.rest = "";
            return Some(Ok(Segment::Text(rest)));
        };
        if i > 0 {
            // Text first; an escaped `$${{` ends it before its first `$`,
            // and the literal `${{` follows as its own piece.
            let end = if rest[..i].ends_with('$') { i - 1 } else { i };
            if end > 0 {
                self.rest = &rest[end..];
                self.offset += rest[..end].chars().count();
                return Some(Ok(Segment::Text(&rest[..end])));
            }
            // `$${{`: four characters taken, three kept.
            self.rest = &rest[i + 3..];
            self.offset += i + 3;
            return Some(Ok(Segment::Text(&rest[i..i + 3])));
        }
        let start = self.offset;
        let body = &rest[3..];
        self.rest = "";
        let Some(end) = find_close(body) else {
            return Some(Err((start, "`${{` is not closed by `}}`".into())));
        };
        let source = body[..end].trim();
        if source.is_empty() {
            return Some(Err((start, "empty expression `${{ }}`".into())));
        }
        let len = body[..end + 2].chars().count() + 3;
        self.rest = &body[end + 2..];
        self.offset += len;
        Some(Ok(Segment::Expr { source, offset: start, len }))
    }
}

/// The byte index of the `}}` closing an expression, skipping string
/// literals and nested braces (`${{ {'a': {'b': 1}} }}`).
fn find_close(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'{' => depth += 1,
                b'}' if depth > 0 => depth -= 1,
                b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
                _ => {}
            },
        }
        i += 1;
    }
    None
}
