//! Plain values: what expressions produce and what the compiler emits.
//! Maps keep insertion (source) order; hashing sorts keys itself.

use indexmap::IndexMap;

pub type Map = IndexMap<String, Value>;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Value>),
    Map(Map),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Looks up a key of a map; `None` for anything else.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?.get(key)
    }

    /// Follows a path of map keys.
    pub fn pointer(&self, keys: &[&str]) -> Option<&Value> {
        keys.iter().try_fold(self, |v, k| v.get(k))
    }

    /// The string at a path of map keys.
    pub fn str_at(&self, keys: &[&str]) -> Option<&str> {
        self.pointer(keys)?.as_str()
    }

    /// The map at `key`, created (replacing a non-map) when missing.
    pub fn map_entry(&mut self, key: &str) -> &mut Map {
        let map = self.as_map_mut().expect("map_entry on a map");
        let slot = map.entry(key.to_string()).or_insert_with(|| Value::Map(Map::new()));
        if !matches!(slot, Value::Map(_)) {
            *slot = Value::Map(Map::new());
        }
        slot.as_map_mut().expect("just made a map")
    }

    /// A word for the value's type, as used in messages and param typing.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "map",
        }
    }

    /// Visits every string in the value, mutably.
    pub fn for_each_string_mut(&mut self, f: &mut impl FnMut(&mut String)) {
        match self {
            Value::String(s) => f(s),
            Value::Seq(items) => items.iter_mut().for_each(|v| v.for_each_string_mut(f)),
            Value::Map(m) => m.values_mut().for_each(|v| v.for_each_string_mut(f)),
            _ => {}
        }
    }

    /// Visits every string in the value.
    pub fn for_each_string(&self, f: &mut impl FnMut(&str)) {
        match self {
            Value::String(s) => f(s),
            Value::Seq(items) => items.iter().for_each(|v| v.for_each_string(f)),
            Value::Map(m) => m.values().for_each(|v| v.for_each_string(f)),
            _ => {}
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
