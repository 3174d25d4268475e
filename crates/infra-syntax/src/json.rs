//! JSON from untrusted text. A parsed JSON value costs far more memory than
//! its text (14 MB of `{"a":{}}` took 1.5 GB), so the values of a text are
//! counted before it is parsed, in one pass over its bytes.

/// The most values a JSON text may hold: a large Grafana dashboard has tens
/// of thousands.
pub const MAX_JSON_VALUES: usize = 1_000_000;

/// Why a JSON text from input was not read.
#[derive(Debug)]
pub enum JsonError {
    /// More than [`MAX_JSON_VALUES`] values; nothing was parsed.
    TooLarge,
    /// Not JSON of the expected shape, at a line and column.
    Syntax(serde_json::Error),
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonError::TooLarge => write!(f, "the JSON holds more than {MAX_JSON_VALUES} values"),
            JsonError::Syntax(e) => write!(f, "{e}"),
        }
    }
}

/// A value as JSON (a float that is not finite is null: JSON has none).
pub fn to_json(v: &crate::Value) -> serde_json::Value {
    use crate::Value;
    use serde_json::Value as Json;
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.to_string()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
    }
}

/// Parses JSON from input: the one way infra reads JSON it did not write,
/// so no text reaches the parser before its size is checked.
pub fn parse<T: serde::de::DeserializeOwned>(text: &[u8]) -> Result<T, JsonError> {
    if too_many_values(text) {
        return Err(JsonError::TooLarge);
    }
    serde_json::from_slice(text).map_err(JsonError::Syntax)
}

/// Refuses a text of more than [`MAX_JSON_VALUES`] values, counted as its
/// `[`, `{` and `,` outside strings (an upper bound of what parsing makes).
fn too_many_values(text: &[u8]) -> bool {
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
    values > MAX_JSON_VALUES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_counted_outside_strings() {
        assert!(!too_many_values(b"{\"a\": [1, 2, {}]}"));
        let many = format!("[{}]", vec!["{}"; MAX_JSON_VALUES].join(","));
        assert!(too_many_values(many.as_bytes()));
        assert_eq!(JsonError::TooLarge.to_string(), "the JSON holds more than 1000000 values");
        let in_a_string = format!("[\"{}\\\"\"]", ",".repeat(2 * MAX_JSON_VALUES));
        assert!(!too_many_values(in_a_string.as_bytes()));
        assert!(matches!(parse::<serde_json::Value>(many.as_bytes()), Err(JsonError::TooLarge)));
        assert!(matches!(parse::<serde_json::Value>(b"{\"a\": }"), Err(JsonError::Syntax(e)) if e.column() == 7));
    }
}
