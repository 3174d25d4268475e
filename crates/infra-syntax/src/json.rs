//! JSON from untrusted text. A parsed JSON value costs far more memory than
//! its text (14 MB of `{"a":{}}` took 1.5 GB), so the values of a text are
//! counted before it is parsed, in one pass over its bytes.

/// The most values a JSON text may hold: a large Grafana dashboard has tens
/// of thousands.
pub const MAX_JSON_VALUES: usize = 1_000_000;

/// Refuses a text of more than [`MAX_JSON_VALUES`] values, counted as its
/// `[`, `{` and `,` outside strings (an upper bound of what parsing makes).
pub fn check_size(text: &[u8]) -> Result<(), String> {
    let mut values = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' | b',' => values += 1,
                _ => {}
            }
        }
    }
    if values > MAX_JSON_VALUES {
        return Err(format!("the JSON holds more than {MAX_JSON_VALUES} values"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_counted_outside_strings() {
        assert!(check_size(b"{\"a\": [1, 2, {}]}").is_ok());
        let many = format!("[{}]", vec!["{}"; MAX_JSON_VALUES].join(","));
        assert_eq!(check_size(many.as_bytes()).unwrap_err(), "the JSON holds more than 1000000 values");
        let in_a_string = format!("[\"{}\\\"\"]", ",".repeat(2 * MAX_JSON_VALUES));
        assert!(check_size(in_a_string.as_bytes()).is_ok());
    }
}
