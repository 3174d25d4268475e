//! Plain values: what expressions produce and what the compiler emits.
//! Maps keep insertion (source) order; hashing sorts keys itself.

use std::collections::HashMap;

/// A string that is cheap to clone: short strings (most keys and names)
/// are stored inline, longer ones are shared. A `for_each` over a thousand
/// items renders the same keys and literals a thousand times; with `Str`
/// that costs no allocation.
pub type Str = smol_str::SmolStr;

/// A map in insertion order, stored as a vector of entries. Kubernetes
/// objects are made of many small maps; a vector with linear lookup costs
/// one allocation per map and beats hashing at these sizes, which makes
/// whole builds markedly faster and smaller than with a hash map. A map
/// that grows past [`KeyIndex::FROM`] entries gets a hash index too, so a
/// ConfigMap with 100,000 keys is not 10^10 comparisons.
#[derive(Clone, Default)]
pub struct Map {
    entries: Vec<(Str, Value)>,
    index: KeyIndex,
}

/// Positions of the keys of a vector of entries, kept only once the vector
/// is long: below that, a linear scan is faster than hashing. Boxed, so a
/// map without an index (almost every one) pays 8 bytes, not 48.
#[derive(Debug, Clone, Default)]
#[allow(clippy::box_collection)]
pub struct KeyIndex(Option<Box<HashMap<Str, usize>>>);

impl KeyIndex {
    pub const FROM: usize = 32;

    /// The position of `key` among `keys` (the same entries every call).
    pub fn find<'a>(&self, mut keys: impl Iterator<Item = &'a Str>, key: &str) -> Option<usize> {
        match &self.0 {
            Some(index) => index.get(key).copied(),
            None => keys.position(|k| same_key(k, key)),
        }
    }

    /// Records the key just pushed at position `len - 1`, building the
    /// index when the entries have grown long enough to need one.
    pub fn pushed<'a>(&mut self, mut keys: impl ExactSizeIterator<Item = &'a Str> + DoubleEndedIterator) {
        let len = keys.len();
        match &mut self.0 {
            Some(index) => {
                let last = keys.next_back().expect("a key was pushed");
                index.insert(last.clone(), len - 1);
            }
            None if len > Self::FROM => self.rebuild(keys),
            None => {}
        }
    }

    /// Indexes `keys` anew after entries moved or went away.
    pub fn rebuild<'a>(&mut self, keys: impl ExactSizeIterator<Item = &'a Str>) {
        self.0 = (keys.len() > Self::FROM).then(|| Box::new(keys.enumerate().map(|(i, k)| (k.clone(), i)).collect()));
    }
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn with_capacity(n: usize) -> Map {
        Map { entries: Vec::with_capacity(n), index: KeyIndex::default() }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get_index_of(&self, key: &str) -> Option<usize> {
        self.index.find(self.keys(), key)
    }

    /// The entry at position `i`.
    pub fn get_index(&self, i: usize) -> Option<(&Str, &Value)> {
        self.entries.get(i).map(|(k, v)| (k, v))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.get_index_of(key).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.get_index_of(key).map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get_index_of(key).is_some()
    }

    fn push(&mut self, key: Str, value: Value) {
        self.entries.push((key, value));
        self.index.pushed(self.entries.iter().map(|(k, _)| k));
    }

    fn reindex(&mut self) {
        self.index.rebuild(self.entries.iter().map(|(k, _)| k));
    }

    /// Sets `key`, keeping its position if it exists; returns the old value.
    pub fn insert(&mut self, key: impl Into<Str> + AsRef<str>, value: Value) -> Option<Value> {
        match self.get_index_of(key.as_ref()) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.push(key.into(), value);
                None
            }
        }
    }

    /// Room for `key` if it is missing, without the doubling a push does:
    /// for maps that gain one last entry (infra's own annotations on every
    /// object) and are not grown again.
    pub fn reserve_for(&mut self, key: &str) {
        if !self.contains_key(key) {
            self.entries.reserve_exact(1);
        }
    }

    /// The value at `key`, inserted with `make` when missing.
    pub fn get_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> Value) -> &mut Value {
        let i = match self.get_index_of(key) {
            Some(i) => i,
            None => {
                self.push(Str::new(key), make());
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    /// Removes `key`, keeping the order of the rest.
    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        let i = self.get_index_of(key)?;
        let (_, value) = self.entries.remove(i);
        self.reindex();
        Some(value)
    }

    /// Moves the entry at `from` to position `to`.
    pub fn move_index(&mut self, from: usize, to: usize) {
        let entry = self.entries.remove(from);
        self.entries.insert(to, entry);
        self.reindex();
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Str, &mut Value) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
        self.reindex();
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Str, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Str, &mut Value)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Str> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Key equality with cheap rejections first: most keys of a map differ in
/// length or first byte, and a full comparison is a library call.
#[inline]
fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

/// Equal maps hold the same keys with equal values, in any order.
impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl std::ops::Index<&str> for Map {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.get(key).expect("key present in map")
    }
}

impl<K: Into<Str> + AsRef<str>> Extend<(K, Value)> for Map {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Into<Str> + AsRef<str>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Map {
        let mut m = Map::new();
        m.extend(iter);
        m
    }
}

impl IntoIterator for Map {
    type Item = (Str, Value);
    type IntoIter = std::vec::IntoIter<(Str, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a Str, &'a Value);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (Str, Value)>, fn(&'a (Str, Value)) -> (&'a Str, &'a Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(Str),
    Seq(Vec<Value>),
    Map(Map),
}

/// Structural equality, in which a NaN equals a NaN: values are compared
/// as data (a manifest compared with itself is unchanged), not as numbers.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Seq(a), Value::Seq(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            _ => false,
        }
    }
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

    /// Looks up a key of a map; `None` for anything else.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?.get(key)
    }

    /// Follows a path of map keys.
    pub fn pointer(&self, keys: &[&str]) -> Option<&Value> {
        keys.iter().try_fold(self, |v, k| v.get(k))
    }

    /// The value at a path of map keys, to change it.
    pub fn pointer_mut(&mut self, keys: &[&str]) -> Option<&mut Value> {
        keys.iter().try_fold(self, |v, k| v.as_map_mut()?.get_mut(k))
    }

    /// The string at a path of map keys.
    pub fn str_at(&self, keys: &[&str]) -> Option<&str> {
        self.pointer(keys)?.as_str()
    }

    /// The map at `key`, created (replacing a non-map) when missing.
    pub fn map_entry(&mut self, key: &str) -> &mut Map {
        let map = self.as_map_mut().expect("map_entry on a map");
        let slot = map.get_or_insert_with(key, || Value::Map(Map::new()));
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

    /// [`Value::type_name`] with its article, for "not an integer".
    pub fn a_type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    /// How many values this one holds, itself included, and how deeply
    /// they nest (a scalar is 1 deep): what a patch may add to an object
    /// is bounded by both.
    pub fn extent(&self) -> (usize, usize) {
        fn of<'a>(children: impl Iterator<Item = &'a Value>) -> (usize, usize) {
            children.fold((1, 1), |(count, depth), v| {
                let (c, d) = v.extent();
                (count + c, depth.max(d + 1))
            })
        }
        match self {
            Value::Seq(items) => of(items.iter()),
            Value::Map(m) => of(m.values()),
            _ => (1, 1),
        }
    }

    /// About how many bytes of YAML the value is written as: its text, its
    /// keys, and a few bytes of syntax per value. A lower bound, cheap
    /// enough to take of every object before any is written.
    pub fn text_size(&self) -> usize {
        self.text_size_at(0)
    }

    /// [`Value::text_size`] at a nesting depth: each line is indented by
    /// two spaces a level (a deep tree of short keys is mostly indentation).
    fn text_size_at(&self, depth: usize) -> usize {
        let indent = 2 * depth;
        match self {
            // Not the indentation of a block scalar's lines: counting them
            // would read every string of every object (a large string set
            // by `common` is shared by thousands).
            Value::String(s) => s.len() + 4,
            Value::Seq(items) => items.iter().map(|v| indent + 4 + v.text_size_at(depth + 1)).sum::<usize>() + 2,
            Value::Map(m) => m.iter().map(|(k, v)| indent + k.len() + 2 + v.text_size_at(depth + 1)).sum::<usize>() + 2,
            _ => 8,
        }
    }

    /// Visits every string in the value.
    pub fn for_each_str<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        match self {
            Value::String(s) => f(s),
            Value::Seq(items) => items.iter().for_each(|v| v.for_each_str(f)),
            Value::Map(m) => m.values().for_each(|v| v.for_each_str(f)),
            _ => {}
        }
    }

    /// Visits every string in the value, mutably.
    pub fn for_each_string_mut(&mut self, f: &mut impl FnMut(&mut Str)) {
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
        Value::String(Str::new(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(Str::from(s))
    }
}

impl From<Str> for Value {
    fn from(s: Str) -> Value {
        Value::String(s)
    }
}
