//! `${{ … }}` where YAML allows a plain scalar, flow collections included:
//! `{containerPort: ${{ params.port }}}` is not YAML (a `{` cannot start or
//! sit inside a plain scalar of a flow collection). When a text fails to
//! parse, its unquoted expressions are masked — each character replaced by
//! one ASCII character, so every line and column stays exact — the text is
//! parsed again, and each masked scalar gets its expression back. Quoted
//! scalars and comments are left alone: a quoted expression is a string, as
//! always.

/// One masked expression: its text, and the placeholder written instead.
struct Region {
    original: String,
    placeholder: String,
}

/// A text with its unquoted single-line expressions masked.
pub(super) struct Masked {
    pub text: String,
    regions: std::collections::VecDeque<Region>,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Normal,
    SingleQuoted,
    DoubleQuoted,
}

impl Masked {
    /// Masks `text`; `None` when there is nothing to mask.
    pub fn new(text: &str) -> Option<Masked> {
        let mut out = String::with_capacity(text.len());
        let mut regions = std::collections::VecDeque::new();
        let mut state = State::Normal;
        for line in text.split_inclusive('\n') {
            let mut i = 0;
            // The last character that was not a space on this line, in the
            // Normal state: a quote right after an indicator starts a
            // quoted scalar; elsewhere it is part of a plain one (`it's`).
            let mut before: Option<char> = None;
            while i < line.len() {
                let rest = &line[i..];
                let c = rest.chars().next().unwrap_or(' ');
                match state {
                    State::Normal => {
                        if rest.starts_with("${{")
                            && let Some(end) = rest.find("}}")
                        {
                            let original = &rest[..end + 2];
                            let placeholder: String = std::iter::once('$')
                                .chain(std::iter::repeat_n('~', original.chars().count() - 1))
                                .collect();
                            out.push_str(&placeholder);
                            regions.push_back(Region { original: original.to_string(), placeholder });
                            i += original.len();
                            before = Some('~');
                            continue;
                        }
                        let starts_token = matches!(before, None | Some(':' | ',' | '[' | '{' | '-' | '?'));
                        if c == '#' && (i == 0 || line[..i].ends_with([' ', '\t'])) {
                            out.push_str(rest);
                            break;
                        }
                        if starts_token && c == '\'' {
                            state = State::SingleQuoted;
                        } else if starts_token && c == '"' {
                            state = State::DoubleQuoted;
                        }
                        if !c.is_whitespace() {
                            before = Some(c);
                        }
                    }
                    State::SingleQuoted => {
                        if rest.starts_with("''") {
                            out.push_str("''");
                            i += 2;
                            continue;
                        }
                        if c == '\'' {
                            state = State::Normal;
                            before = Some(c);
                        }
                    }
                    State::DoubleQuoted => {
                        if c == '\\' {
                            let escaped = rest.chars().nth(1).map_or(0, char::len_utf8);
                            out.push_str(&rest[..1 + escaped]);
                            i += 1 + escaped;
                            continue;
                        }
                        if c == '"' {
                            state = State::Normal;
                            before = Some(c);
                        }
                    }
                }
                out.push(c);
                i += c.len_utf8();
            }
        }
        (!regions.is_empty()).then_some(Masked { text: out, regions })
    }

    /// The scalar `value` with the expressions masked in it restored. The
    /// parser reports scalars in the order of the text, so the next
    /// regions are this scalar's.
    pub fn restore(&mut self, value: &str) -> Option<String> {
        let mut restored: Option<String> = None;
        let mut from = 0;
        while let Some(region) = self.regions.front() {
            let current = restored.as_deref().unwrap_or(value);
            let Some(at) = current[from..].find(&region.placeholder).map(|at| from + at) else { break };
            let mut next = String::with_capacity(current.len() + region.original.len());
            next.push_str(&current[..at]);
            next.push_str(&region.original);
            next.push_str(&current[at + region.placeholder.len()..]);
            from = at + region.original.len();
            restored = Some(next);
            self.regions.pop_front();
        }
        restored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_every_column_and_skip_quotes_and_comments() {
        let text = "ports: [{containerPort: ${{ params.port }}, name: \"${{ 'x' }}\"}]  # ${{ no }}\nit's: ${{ a }}\n";
        let m = Masked::new(text).unwrap();
        let port = format!("${}", "~".repeat("${{ params.port }}".len() - 1));
        let a = format!("${}", "~".repeat("${{ a }}".len() - 1));
        assert_eq!(
            m.text,
            format!("ports: [{{containerPort: {port}, name: \"${{{{ 'x' }}}}\"}}]  # ${{{{ no }}}}\nit's: {a}\n")
        );
        for (a, b) in text.lines().zip(m.text.lines()) {
            assert_eq!(a.chars().count(), b.chars().count());
        }
    }

    #[test]
    fn restores_in_order() {
        let mut m = Masked::new("a: {x: ${{ one }}, y: pre-${{ two }}-${{ three }}}\n").unwrap();
        let mask = |s: &str| format!("${}", "~".repeat(s.chars().count() - 1));
        assert_eq!(m.restore(&mask("${{ one }}")), Some("${{ one }}".into()));
        assert_eq!(m.restore("plain"), None);
        let two = format!("pre-{}-{}", mask("${{ two }}"), mask("${{ three }}"));
        assert_eq!(m.restore(&two), Some("pre-${{ two }}-${{ three }}".into()));
    }

    #[test]
    fn nothing_to_mask() {
        assert!(Masked::new("a: '${{ quoted }}'\nb: plain\n").is_none());
        assert!(Masked::new("a: ${{ unclosed\n").is_none());
    }
}
