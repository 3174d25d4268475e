//! Expressions: `${{ ... }}` inside YAML strings (split into text and
//! expressions by [`infra_syntax::template`]), evaluated with minijinja's
//! expression language. This module compiles each distinct expression once
//! and converts values between minijinja and [`Value`].

use super::bounded::{MAX_BUILD_RESULTS, MAX_BUILD_WORK, MAX_EXPRESSION_WORK, MAX_RESULT_BYTES, MAX_RESULT_NODES};
use super::cost::{ITEM_COST, Key, Plan, Refusal, Shape, follow};
pub use infra_syntax::template::{Segment, Segments, segments};
use infra_syntax::{Map, Value};
use minijinja::value::{Object, ObjectExt, ObjectRepr, Value as MjValue, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Expression, State, UndefinedBehavior};
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Work one expression may do before it is stopped (minijinja fuel): enough
/// for any real expression, small enough that a runaway loop ends quickly.
const FUEL: u64 = 200_000;
/// What an expression sees: `params`, `env.name`, `module.name`, and
/// `item`/`key` inside `for_each`. Plain paths (`item.name`,
/// `params.resources`) are read straight from these values; minijinja sees
/// them only when an expression needs it (`item.port + 1`), through views
/// that read the values in place instead of converting them.
#[derive(Clone)]
pub struct Scope {
    base: Arc<Base>,
    item: Option<Arc<Item>>,
}

/// The part of a scope that every `for_each` item shares.
struct Base {
    /// Shared with the module's defaults when nothing overrides them.
    params: Arc<Value>,
    env: Value,
    module: Value,
    /// The folder `file()` paths are relative to, and the root they must stay in.
    dir: Arc<Path>,
    root: Arc<Path>,
    /// The minijinja context, made on the first expression that needs it.
    context: OnceLock<(ContextEntries, MjValue)>,
}

/// The entries of a minijinja context but `item` and `key`.
type ContextEntries = Arc<[(&'static str, MjValue)]>;

struct Item {
    item: ItemValue,
    key: Value,
    context: OnceLock<MjValue>,
}

/// A `for_each` item: a value of its own, or one found where a plain path
/// (`params.services`) leads, read in place instead of copied.
enum ItemValue {
    Own(Value),
    /// Entry `index` of the list or map at `path` of the scope.
    At {
        path: Arc<[String]>,
        index: usize,
    },
}

impl Scope {
    pub fn new(params: Arc<Value>, env_name: &str, module_name: &str, dir: Arc<Path>, root: Arc<Path>) -> Scope {
        let named = |name: &str| Value::Map(Map::from_iter([("name", Value::from(name))]));
        let base =
            Base { params, env: named(env_name), module: named(module_name), dir, root, context: OnceLock::new() };
        Scope { base: Arc::new(base), item: None }
    }

    /// The same scope with `params` replaced.
    pub fn with_params(&self, params: Arc<Value>) -> Scope {
        let b = &self.base;
        let base = Base {
            params,
            env: b.env.clone(),
            module: b.module.clone(),
            dir: b.dir.clone(),
            root: b.root.clone(),
            context: OnceLock::new(),
        };
        Scope { base: Arc::new(base), item: self.item.clone() }
    }

    /// The scope of one `for_each` item.
    pub fn with_item(&self, item: Value, key: Value) -> Scope {
        self.with(ItemValue::Own(item), key)
    }

    fn with(&self, item: ItemValue, key: Value) -> Scope {
        Scope { base: self.base.clone(), item: Some(Arc::new(Item { item, key, context: OnceLock::new() })) }
    }

    /// The scopes of the items of the list or map at a plain `path`, each
    /// reading its item where it is; `None` when the path does not lead to
    /// a list or map here.
    pub fn items_at(&self, path: &[String]) -> Option<Vec<Scope>> {
        // An item's own path is read through the scope without it.
        if matches!(path[0].as_str(), "item" | "key") {
            return None;
        }
        let shared: Arc<[String]> = Arc::from(path);
        let at = |index| ItemValue::At { path: shared.clone(), index };
        match lookup(self, path).ok()? {
            Value::Seq(items) => Some((0..items.len()).map(|i| self.with(at(i), Value::Int(i as i64))).collect()),
            Value::Map(m) => {
                Some(m.keys().enumerate().map(|(i, k)| self.with(at(i), Value::String(k.clone()))).collect())
            }
            _ => None,
        }
    }

    /// The value of `item`.
    fn item(&self) -> Option<&Value> {
        match &self.item.as_ref()?.item {
            ItemValue::Own(v) => Some(v),
            ItemValue::At { path, index } => match lookup(self, path).ok()? {
                Value::Seq(items) => items.get(*index),
                Value::Map(m) => m.get_index(*index).map(|(_, v)| v),
                _ => None,
            },
        }
    }

    pub fn env_name(&self) -> &str {
        self.base.env.str_at(&["name"]).unwrap_or_default()
    }

    /// A top-level name of the context, for plain paths.
    fn lookup(&self, name: &str) -> Option<&Value> {
        match name {
            "params" => Some(&self.base.params),
            "env" => Some(&self.base.env),
            "module" => Some(&self.base.module),
            "item" => self.item(),
            "key" => self.item.as_ref().map(|i| &i.key),
            _ => None,
        }
    }

    /// The names a plain path may start with here, for "did you mean".
    fn names(&self) -> Vec<&'static str> {
        let mut names = vec!["params", "env", "module"];
        if self.item.is_some() {
            names.extend(["item", "key"]);
        }
        names
    }

    /// The context minijinja evaluates expressions in.
    pub(super) fn context(&self) -> MjValue {
        let (entries, context) = self.base.context.get_or_init(|| {
            let b = &self.base;
            let entries: ContextEntries = Arc::from(vec![
                ("params", view_in(&b.params, Vec::new())),
                ("env", view(&b.env)),
                ("module", view(&b.module)),
                (FILES, MjValue::from_object(Files { dir: b.dir.clone(), root: b.root.clone() })),
            ]);
            let context = MjValue::from_iter(entries.iter().cloned());
            (entries, context)
        });
        match &self.item {
            None => context.clone(),
            Some(i) => i
                .context
                .get_or_init(|| {
                    let item = self.item().map_or(MjValue::UNDEFINED, view);
                    MjValue::from_object(ItemContext { base: entries.clone(), item, key: view(&i.key) })
                })
                .clone(),
        }
    }
}

/// The context of a `for_each` item: answers `item` and `key` and defers
/// the rest to the shared base, so an item costs no new map.
#[derive(Debug)]
struct ItemContext {
    base: ContextEntries,
    item: MjValue,
    key: MjValue,
}

impl Object for ItemContext {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, name: &MjValue) -> Option<MjValue> {
        match name.as_str()? {
            "item" => Some(self.item.clone()),
            "key" => Some(self.key.clone()),
            other => self.base.iter().find(|(k, _)| *k == other).map(|(_, v)| v.clone()),
        }
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        let keys: Vec<MjValue> =
            self.base.iter().map(|(k, _)| MjValue::from(*k)).chain(["item", "key"].map(MjValue::from)).collect();
        minijinja::value::Enumerator::Values(keys)
    }
}

/// A plain value as minijinja sees it: scalars as minijinja's own, maps and
/// lists as [`View`]s of a copy.
pub fn view(v: &Value) -> MjValue {
    match v {
        Value::Seq(_) | Value::Map(_) => view_in(&Arc::new(v.clone()), Vec::new()),
        _ => scalar(v),
    }
}

/// A scalar as minijinja's own value.
fn scalar(v: &Value) -> MjValue {
    match v {
        Value::Null | Value::Seq(_) | Value::Map(_) => MjValue::from(()),
        Value::Bool(b) => MjValue::from(*b),
        Value::Int(i) => MjValue::from(*i),
        Value::Float(f) => MjValue::from(*f),
        Value::String(s) => MjValue::from(s.as_str()),
    }
}

/// The value at `at` (indices of items and map entries) in `root`, as
/// minijinja sees it: lists and maps are viewed where they are, never
/// copied, however often an expression reads them.
fn view_in(root: &Arc<Value>, at: Vec<usize>) -> MjValue {
    let view = View { root: root.clone(), at: at.into() };
    match view.value() {
        Some(Value::Seq(_) | Value::Map(_)) => MjValue::from_object(view),
        Some(v) => scalar(v),
        None => MjValue::UNDEFINED,
    }
}

/// A map or list read by minijinja in place: a shared root and the way to
/// it. Its items are viewed when an expression reaches them.
#[derive(Debug)]
struct View {
    root: Arc<Value>,
    at: Box<[usize]>,
}

impl View {
    fn value(&self) -> Option<&Value> {
        self.at.iter().try_fold(&*self.root, |v, &i| match v {
            Value::Seq(items) => items.get(i),
            Value::Map(m) => m.get_index(i).map(|(_, x)| x),
            _ => None,
        })
    }

    /// Its item or entry `i`, which is `child`: a scalar as it is, a list
    /// or map viewed one step further.
    fn child(&self, i: usize, child: &Value) -> MjValue {
        match child {
            Value::Seq(_) | Value::Map(_) => {
                MjValue::from_object(View { root: self.root.clone(), at: self.at.iter().copied().chain([i]).collect() })
            }
            _ => scalar(child),
        }
    }
}

impl Object for View {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.value() {
            Some(Value::Seq(_)) => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let (i, child) = match self.value()? {
            Value::Seq(items) => {
                let i = key.as_usize()?;
                (i, items.get(i)?)
            }
            Value::Map(m) => {
                let i = m.get_index_of(key.as_str()?)?;
                (i, m.get_index(i)?.1)
            }
            _ => return None,
        };
        Some(self.child(i, child))
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        match self.value() {
            Some(Value::Seq(items)) => minijinja::value::Enumerator::Seq(items.len()),
            // Keys are made as they are read: `first` on a large map
            // does not copy all of them.
            Some(Value::Map(_)) => self.mapped_enumerator(|this| match this.value() {
                Some(Value::Map(m)) => Box::new(m.keys().map(|k| MjValue::from(k.as_str()))),
                _ => Box::new(std::iter::empty()),
            }),
            _ => minijinja::value::Enumerator::Empty,
        }
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        match self.value() {
            Some(Value::Seq(items)) => Some(items.len()),
            Some(Value::Map(m)) => Some(m.len()),
            _ => Some(0),
        }
    }
}

/// The configured minijinja environment: strict undefined, fuel, and
/// infra's functions and filters.
pub struct Engine {
    env: Environment<'static>,
    budget: Arc<BuildBudget>,
}

/// What all expressions of one build may do together, shared by every
/// evaluator of the build (on any thread).
struct BuildBudget {
    /// What the results of expressions weigh together ([`weight`]).
    produced: AtomicUsize,
    /// The work of the expressions evaluated, as [`Plan::cost`] bounds it.
    work: AtomicU64,
    /// Whether the error for a spent budget was reported: once per build.
    reported: AtomicBool,
}

impl BuildBudget {
    fn new() -> BuildBudget {
        BuildBudget { produced: AtomicUsize::new(0), work: AtomicU64::new(0), reported: AtomicBool::new(false) }
    }

    fn spent(&self) -> bool {
        self.produced.load(Ordering::Relaxed) > MAX_BUILD_RESULTS || self.work.load(Ordering::Relaxed) > MAX_BUILD_WORK
    }

    /// The error for an expression that found a budget spent: a limit
    /// for the first, [`ExprError::Spent`] for the ones after it.
    fn report(&self, message: String, help: &'static str, at: Option<Range<usize>>) -> ExprError {
        if self.reported.swap(true, Ordering::Relaxed) {
            ExprError::Spent
        } else {
            ExprError::Limit { message, help, at }
        }
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    pub fn new() -> Engine {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(100);
        super::bounded::register(&mut env);
        env.add_function("ref", ref_function);
        env.add_function("file", file_function);
        env.add_function("file_map", file_map_function);
        env.add_function("file_base64", file_base64_function);
        env.add_filter("b64encode", |s: String| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
        });
        env.add_filter("b64decode", |s: String| -> Result<String, Error> {
            let bytes =
                base64_decode(&s).ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "b64decode: not base64"))?;
            String::from_utf8(bytes).map_err(|_| Error::new(ErrorKind::InvalidOperation, "b64decode: not UTF-8 text"))
        });
        env.add_filter("sha256", |s: String| infra_syntax::canonical::sha256_hex(s.as_bytes()));
        // Python's `s.startswith(p)` and `s.endswith(p)`, which people write
        // in Jinja (the tests `s is startingwith(p)` work too).
        env.set_unknown_method_callback(|_, value, method, args| {
            let affix = |args: &[MjValue]| match args {
                [a] => a
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("`{method}` takes a string"))),
                _ => Err(Error::new(ErrorKind::InvalidOperation, format!("`{method}` takes one string"))),
            };
            match (value.as_str(), method) {
                (Some(s), "startswith") => Ok(MjValue::from(s.starts_with(&affix(args)?))),
                (Some(s), "endswith") => Ok(MjValue::from(s.ends_with(&affix(args)?))),
                _ => Err(Error::from(ErrorKind::UnknownMethod)),
            }
        });
        env.add_filter("toyaml", |v: MjValue| -> Result<String, Error> {
            let v = from_minijinja(&v).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
            Ok(infra_syntax::yaml::emit(&v).trim_end_matches('\n').to_string())
        });
        Engine { env, budget: Arc::new(BuildBudget::new()) }
    }

    pub fn evaluator(&self) -> Evaluator<'_> {
        Siblings { env: &self.env, budget: self.budget.clone() }.evaluator()
    }

    /// minijinja's environment as expressions see it, for tests that run
    /// expressions past the checks.
    #[cfg(test)]
    pub(super) fn environment(&self) -> &Environment<'static> {
        &self.env
    }
}

/// Compiles and caches expressions: a `for_each` over a thousand items
/// compiles each expression once.
pub struct Evaluator<'env> {
    env: &'env Environment<'static>,
    cache: RefCell<HashMap<String, Rc<Compiled<'env>>>>,
    budget: Arc<BuildBudget>,
    /// Shapes of params values, measured once for all the expressions
    /// that read them: the params they belong to, and the shape by path.
    measured: RefCell<Option<MeasuredParams>>,
}

/// Params, and the shapes of the values paths lead to in them.
type MeasuredParams = (Arc<Value>, HashMap<Vec<Key>, Shape>);

/// A compiled expression. Most expressions in manifests are plain paths
/// (`params.namespace`, `item.name`), and most conditions compare one with
/// a string (`item.storage == ""`); those are read directly, which is many
/// times faster than running minijinja's VM for them.
enum Compiled<'env> {
    Path(Vec<String>),
    /// `path == 'text'` (or `!=`).
    Compare {
        path: Vec<String>,
        text: String,
        equal: bool,
    },
    /// Any other expression: checked, then compiled by minijinja when it
    /// first runs (its constants are folded then, so only once their cost
    /// was bounded).
    Expr(Box<Checked<'env>>),
}

/// An expression checked against the allow-list, compiled by minijinja
/// when it first runs.
struct Checked<'env> {
    plan: Plan,
    source: String,
    compiled: OnceCell<Expression<'env, 'static>>,
}

impl<'env> Compiled<'env> {
    fn new(source: &str) -> Result<Compiled<'env>, ExprError> {
        if let Some(path) = simple_path(source) {
            return Ok(Compiled::Path(path));
        }
        for (op, equal) in [(" == ", true), (" != ", false)] {
            if let Some((left, right)) = source.split_once(op)
                && let (Some(path), Some(text)) = (simple_path(left.trim()), string_literal(right.trim()))
            {
                return Ok(Compiled::Compare { path, text: text.to_string(), equal });
            }
        }
        let plan = Plan::new(source).map_err(refused)?;
        Ok(Compiled::Expr(Box::new(Checked { plan, source: source.to_string(), compiled: OnceCell::new() })))
    }
}

/// The path of a string that is exactly one plain-path expression
/// (`${{ params.services }}`), or `None`.
pub fn single_path(s: &str) -> Option<Vec<String>> {
    let mut pieces = segments(s)?;
    match (pieces.next(), pieces.next()) {
        (Some(Ok(Segment::Expr { source, .. })), None) => simple_path(source),
        _ => None,
    }
}

/// `a.b.c` with identifier segments, or `None`.
fn simple_path(source: &str) -> Option<Vec<String>> {
    let ident = |s: &str| {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = source.split('.').collect();
    // `true`, `none` and friends are literals, not variables.
    let literal = matches!(parts[0], "true" | "false" | "none" | "True" | "False" | "None");
    (!literal && parts.iter().all(|p| ident(p))).then(|| parts.into_iter().map(String::from).collect())
}

/// The text of a quoted string literal without escapes or quotes inside.
fn string_literal(source: &str) -> Option<&str> {
    let quote = source.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let inner = source.strip_prefix(quote)?.strip_suffix(quote)?;
    (!inner.contains([quote, '\\'])).then_some(inner)
}

/// Why an expression has no value.
#[derive(Debug)]
pub enum ExprError {
    /// It evaluated to undefined.
    Undefined,
    /// It names what the context does not have: a name or a key, read by
    /// infra (with a "did you mean"), or by minijinja (`at`, bytes of the
    /// expression).
    Missing { message: String, at: Option<Range<usize>> },
    /// It is not an expression: what the parser expected, where.
    Syntax { message: String, at: Option<Range<usize>> },
    /// It failed while it ran: a type error, a filter's or function's
    /// error; where, when minijinja knows.
    Failed { message: String, at: Option<Range<usize>> },
    /// `ref()` used inside a computation instead of as a value.
    RefComputed,
    /// Its result is past a limit or not a value of a manifest.
    Result(ResultError),
    /// It uses a construct expressions may not: what, where, and what
    /// to write instead.
    NotAllowed { message: String, at: Range<usize>, help: String },
    /// It would do too much work, or the build's expressions did: what,
    /// what to do about it, and the part of it when known.
    Limit { message: String, help: &'static str, at: Option<Range<usize>> },
    /// An earlier expression spent the build's budget and was reported.
    Spent,
}

impl From<Error> for ExprError {
    fn from(e: Error) -> Self {
        if e.kind() == ErrorKind::OutOfFuel {
            return ExprError::Limit {
                message: "expression does too much work (a runaway loop?)".into(),
                help: "an expression may run a few hundred thousand steps; make the value it works on smaller",
                at: None,
            };
        }
        let mut message = match e.detail() {
            Some(d) => format!("{}: {d}", e.kind()),
            None => e.kind().to_string(),
        };
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(&format!(": {s}"));
            source = s.source();
        }
        let at = e.range();
        match e.kind() {
            ErrorKind::SyntaxError => ExprError::Syntax { message, at },
            ErrorKind::UndefinedError => ExprError::Missing { message, at },
            _ => ExprError::Failed { message, at },
        }
    }
}

/// Makes evaluators of one build for worker threads: the environment and
/// the build's text budget, shared; each its own cache.
pub struct Siblings<'env> {
    env: &'env Environment<'static>,
    budget: Arc<BuildBudget>,
}

impl<'env> Siblings<'env> {
    pub fn evaluator(&self) -> Evaluator<'env> {
        Evaluator {
            env: self.env,
            cache: RefCell::default(),
            budget: self.budget.clone(),
            measured: RefCell::default(),
        }
    }
}

impl<'env> Evaluator<'env> {
    /// What makes more evaluators of the same build, on other threads.
    pub fn sibling_maker(&self) -> Siblings<'env> {
        Siblings { env: self.env, budget: self.budget.clone() }
    }

    /// The value of one expression: a plain path's value as it is, any
    /// other expression's result converted from minijinja.
    pub fn value(&self, source: &str, scope: &Scope) -> Result<Value, ExprError> {
        REF_USE.with(|u| *u.borrow_mut() = RefUse::default());
        let v = self.evaluate(source, scope, |v| match v {
            Evaluated::Value(v) => Ok(v),
            Evaluated::Minijinja(v) => from_minijinja(&v).map_err(ExprError::Result),
        })?;
        check_refs(|| {
            let mut texts = Vec::new();
            v.for_each_str(&mut |s| texts.push(s));
            texts
        })?;
        self.charge(weight(&v))?;
        Ok(v)
    }

    /// Appends the text of one expression to `out` (a string with several
    /// expressions, or text around one).
    pub fn interpolate(&self, source: &str, scope: &Scope, out: &mut String) -> Result<(), ExprError> {
        let before = out.len();
        REF_USE.with(|u| *u.borrow_mut() = RefUse::default());
        self.evaluate(source, scope, |v| {
            match v {
                Evaluated::Value(Value::String(s)) => push_bounded(out, &s),
                Evaluated::Value(v) => push_interpolated(out, &view(&v)),
                Evaluated::Minijinja(v) => push_interpolated(out, &v),
            }
            .map_err(ExprError::Result)
        })?;
        check_refs(|| vec![&out[before..]])?;
        self.charge(out.len() - before)
    }

    /// Counts a result's weight against the build's budget: each result
    /// is bounded, and so is their sum (`for_each` items each under the
    /// limit must not add up to gigabytes).
    fn charge(&self, bytes: usize) -> Result<(), ExprError> {
        let before = self.budget.produced.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > MAX_BUILD_RESULTS {
            let message = format!(
                "expressions have made more than {} MiB of results in this build (their text, and {ITEM_COST} bytes a value)",
                MAX_BUILD_RESULTS >> 20
            );
            let help = "a large params value used in many `for_each` items is copied into each; use the part you need";
            return Err(self.budget.report(message, help, None));
        }
        Ok(())
    }

    /// Evaluates one expression and converts its result with `convert`.
    /// An expression that is not a plain path is costed first
    /// ([`Plan::cost`]): it runs only when its work is within the limit of
    /// one expression and what is left of the build's.
    fn evaluate<R>(
        &self,
        source: &str,
        scope: &Scope,
        convert: impl FnOnce(Evaluated) -> Result<R, ExprError>,
    ) -> Result<R, ExprError> {
        // Once the build's budget is spent its error was reported, and
        // evaluating more would only spend time.
        if self.budget.spent() {
            return Err(ExprError::Spent);
        }
        match &*self.compiled(source)? {
            Compiled::Expr(checked) => {
                let Checked { plan, source, compiled } = &**checked;
                let work = plan.cost(&mut |keys| self.measure(keys, scope)).map_err(refused)?;
                self.spend(work)?;
                let expr = match compiled.get() {
                    Some(e) => e,
                    None => {
                        let e = self.env.compile_expression_owned(source.clone())?;
                        compiled.get_or_init(|| e)
                    }
                };
                let v = expr.eval(scope.context())?;
                if v.is_undefined() {
                    return Err(ExprError::Undefined);
                }
                convert(Evaluated::Minijinja(v))
            }
            Compiled::Path(path) => convert(Evaluated::Value(lookup(scope, path)?.clone())),
            Compiled::Compare { path, text, equal } => {
                // As minijinja compares: only a string equals a string.
                let same = matches!(lookup(scope, path)?, Value::String(s) if s == text);
                convert(Evaluated::Value(Value::Bool(same == *equal)))
            }
        }
    }

    /// Counts an expression's work against the build's budget.
    fn spend(&self, work: u64) -> Result<(), ExprError> {
        let before = self.budget.work.fetch_add(work, Ordering::Relaxed);
        if before.saturating_add(work) > MAX_BUILD_WORK {
            return Err(self.budget.report(
                format!("expressions do too much work in this build: together they may {}", work_units(MAX_BUILD_WORK)),
                "each expression is under its own limit, but `for_each` items or module instances repeat them; do less in each",
                None,
            ));
        }
        Ok(())
    }

    /// The shape of the value a plain path leads to in `scope`; past the
    /// last key that leads somewhere, any item of it. Params are measured
    /// once for the expressions of this evaluator.
    fn measure(&self, keys: &[Key], scope: &Scope) -> Option<Shape> {
        let Key::Name(root) = &keys[0] else { return None };
        let (v, left) = follow(scope.lookup(root)?, &keys[1..]);
        let shape = if root == "params" {
            let mut memo = self.measured.borrow_mut();
            let params = &scope.base.params;
            if !memo.as_ref().is_some_and(|(p, _)| Arc::ptr_eq(p, params)) {
                *memo = Some((params.clone(), HashMap::new()));
            }
            let (_, shapes) = memo.as_mut()?;
            let found = &keys[..keys.len() - left.len()];
            match shapes.get(found) {
                Some(shape) => *shape,
                None => *shapes.entry(found.to_vec()).or_insert_with(|| Shape::of(v)),
            }
        } else {
            Shape::of(v)
        };
        Some(shape.past(left.len()))
    }

    fn compiled(&self, source: &str) -> Result<Rc<Compiled<'env>>, ExprError> {
        if let Some(e) = self.cache.borrow().get(source) {
            return Ok(e.clone());
        }
        let e = Rc::new(Compiled::new(source)?);
        self.cache.borrow_mut().insert(source.to_string(), e.clone());
        Ok(e)
    }
}

/// "visit 8 million values or make 256 MiB of text", for a work limit.
fn work_units(work: u64) -> String {
    format!("visit {} million values or make {} MiB of text", (work / ITEM_COST) >> 20, work >> 20)
}

/// The error for an expression that may not run.
fn refused(r: Refusal) -> ExprError {
    match r {
        Refusal::TooMuchWork(at) => ExprError::Limit {
            message: format!("expression does too much work: one expression may {}", work_units(MAX_EXPRESSION_WORK)),
            help: "the usual cause is a repetition (`[x] * n`, `'x' * n`) or a filter over a long list; make the value smaller",
            at: Some(at),
        },
        Refusal::UnboundedCount(at) => ExprError::NotAllowed {
            message: "a repetition by a number whose size is not known before the expression runs".into(),
            at,
            help: "repeat by a constant or by a value of params (`'-' * params.width`), whose size infra knows".into(),
        },
        Refusal::NotAllowed { what, name, at, allowed } => {
            let close = name.and_then(|n| infra_syntax::did_you_mean(&n, allowed.iter().copied()));
            let help = match close {
                _ if allowed.is_empty() => "write the arguments one by one".into(),
                Some(c) => format!("did you mean `{c}`? expressions may use: {}", allowed.join(", ")),
                None => format!("expressions may use: {}", allowed.join(", ")),
            };
            ExprError::NotAllowed { message: format!("{what} is not allowed in expressions"), at, help }
        }
        Refusal::Syntax(e) => ExprError::from(e),
        Refusal::TooDeep => ExprError::Syntax {
            message: format!(
                "template exceeds maximum recursion limits: operators, filters and brackets nest at most {} deep",
                super::cost::MAX_NESTING
            ),
            at: None,
        },
    }
}

/// The value a plain path names in a scope.
fn lookup<'s>(scope: &'s Scope, path: &[String]) -> Result<&'s Value, ExprError> {
    let Some(mut v) = scope.lookup(&path[0]) else {
        return Err(undefined_name(&path[0], &scope.names()));
    };
    for (i, key) in path.iter().enumerate().skip(1) {
        v = v.get(key).ok_or_else(|| undefined_path(v, path, i))?;
    }
    Ok(v)
}

/// What an expression evaluated to: a plain path's value as it is, or
/// minijinja's result.
enum Evaluated {
    Value(Value),
    Minijinja(MjValue),
}

/// The error for a name the context does not have.
fn undefined_name(name: &str, names: &[&str]) -> ExprError {
    let hint = infra_syntax::did_you_mean(name, names.iter().copied())
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    ExprError::Missing { message: format!("undefined value: there is no `{name}`{hint}"), at: None }
}

/// The error for `path[i]` missing from `parent`, with a "did you mean".
fn undefined_path(parent: &Value, path: &[String], i: usize) -> ExprError {
    let key = &path[i];
    let keys: Vec<&str> = parent.as_map().map(|m| m.keys().map(|k| k.as_str()).collect()).unwrap_or_default();
    let hint = infra_syntax::did_you_mean(key, keys.iter().copied())
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    ExprError::Missing { message: format!("undefined value: `{}` has no `{key}`{hint}", path[..i].join(".")), at: None }
}

/// Why a result cannot be a value of a manifest.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultError {
    /// More than [`MAX_RESULT_NODES`] values.
    TooManyValues,
    /// A value's text past [`MAX_RESULT_BYTES`]; an interpolated text's
    /// when `text`.
    TooLong {
        text: bool,
    },
    TooDeep,
    Undefined,
    /// An integer beyond 64 bits, as minijinja shows it.
    IntegerOutOfRange(String),
    /// Infinity or NaN (`1/0`).
    NotFinite(f64),
    /// minijinja could not read the value (an invalid value, an
    /// iteration that failed).
    Unreadable(String),
}

impl fmt::Display for ResultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = MAX_RESULT_BYTES >> 20;
        match self {
            ResultError::TooManyValues => write!(f, "the result has more than {MAX_RESULT_NODES} values"),
            ResultError::TooLong { text: false } => write!(f, "the result is longer than {mib} MiB"),
            ResultError::TooLong { text: true } => write!(f, "the text is longer than {mib} MiB"),
            ResultError::TooDeep => f.write_str("value nested too deeply"),
            ResultError::Undefined => f.write_str("the expression is undefined"),
            ResultError::IntegerOutOfRange(v) => {
                write!(f, "the integer {v} is out of range (a 64-bit integer is at most 2**63 - 1)")
            }
            ResultError::NotFinite(v) => write!(f, "the result is {v}, not a finite number (a division by zero?)"),
            ResultError::Unreadable(why) => f.write_str(why),
        }
    }
}

/// Converts a minijinja result into a plain value.
pub fn from_minijinja(v: &MjValue) -> Result<Value, ResultError> {
    from_minijinja_at(v, 0, &mut Room { values: MAX_RESULT_NODES, bytes: MAX_RESULT_BYTES })
}

/// What is left of the limits of one result as it is converted.
struct Room {
    values: usize,
    bytes: usize,
}

impl Room {
    /// Checks that `values` more would fit, without taking them.
    fn fits(&self, values: usize) -> Result<(), ResultError> {
        if values > self.values {
            return Err(ResultError::TooManyValues);
        }
        Ok(())
    }

    fn take(&mut self, values: usize, bytes: usize) -> Result<(), ResultError> {
        self.fits(values)?;
        if bytes > self.bytes {
            return Err(ResultError::TooLong { text: false });
        }
        self.values -= values;
        self.bytes -= bytes;
        Ok(())
    }

    /// Takes room for a whole value, stopping at the first part past it
    /// (a view of params may be repeated in a result many times).
    fn take_all(&mut self, v: &Value) -> Result<(), ResultError> {
        match v {
            Value::String(s) => self.take(1, s.len()),
            Value::Seq(items) => {
                self.take(1, 0)?;
                items.iter().try_for_each(|x| self.take_all(x))
            }
            Value::Map(m) => {
                self.take(1, 0)?;
                m.iter().try_for_each(|(k, x)| self.take(0, k.len()).and_then(|_| self.take_all(x)))
            }
            _ => self.take(1, 0),
        }
    }
}

fn from_minijinja_at(v: &MjValue, depth: usize, room: &mut Room) -> Result<Value, ResultError> {
    let unreadable = |e: Error| ResultError::Unreadable(e.to_string());
    if let Some(view) = v.downcast_object_ref::<View>().and_then(View::value) {
        room.take_all(view)?;
        return Ok(view.clone());
    }
    if depth > infra_syntax::yaml::MAX_DEPTH {
        return Err(ResultError::TooDeep);
    }
    // A sequence's length is known before its items are made (`[1] * 10**9`).
    if matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable | ValueKind::Map) {
        room.fits(1 + v.len().unwrap_or(0))?;
    }
    room.take(1, 0)?;
    Ok(match v.kind() {
        ValueKind::Undefined => return Err(ResultError::Undefined),
        ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(v.is_true()),
        // Kubernetes numbers are 64-bit integers or finite floats: a larger
        // integer is not quietly rounded into a float, and infinity or NaN
        // (`1/0`) is not written as `.inf`.
        ValueKind::Number if v.is_integer() => match v.as_i64() {
            Some(i) => Value::Int(i),
            None => return Err(ResultError::IntegerOutOfRange(v.to_string())),
        },
        ValueKind::Number => match f64::try_from(v.clone()).map_err(unreadable)? {
            f if f.is_finite() => Value::Float(f),
            f => return Err(ResultError::NotFinite(f)),
        },
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            room.take(0, s.len())?;
            Value::String(s.into())
        }
        ValueKind::Bytes => {
            let b = v.as_bytes().unwrap_or_default();
            room.take(0, b.len())?;
            Value::String(String::from_utf8_lossy(b).into())
        }
        ValueKind::Seq | ValueKind::Iterable => Value::Seq(
            v.try_iter()
                .map_err(unreadable)?
                .map(|x| from_minijinja_at(&x, depth + 1, room))
                .collect::<Result<_, _>>()?,
        ),
        ValueKind::Map => {
            let mut map = Map::new();
            for k in v.try_iter().map_err(unreadable)? {
                let item = v.get_item(&k).map_err(unreadable)?;
                let key = match k.as_str() {
                    Some(s) => s.to_string(),
                    None => k.to_string(),
                };
                room.take(0, key.len())?;
                map.insert(key, from_minijinja_at(&item, depth + 1, room)?);
            }
            Value::Map(map)
        }
        ValueKind::Invalid => return Err(ResultError::Unreadable(format!("invalid value: {v}"))),
        _ => {
            let text = v.to_string();
            room.take(0, text.len())?;
            Value::String(text.into())
        }
    })
}

/// What a result weighs against the build's budget: the bytes of its text,
/// and [`ITEM_COST`] for each value that is not a string.
fn weight(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Seq(items) => ITEM_COST as usize + items.iter().map(weight).sum::<usize>(),
        Value::Map(m) => ITEM_COST as usize + m.iter().map(|(k, x)| k.len() + weight(x)).sum::<usize>(),
        _ => ITEM_COST as usize,
    }
}

/// Appends an interpolated piece, keeping the whole string within
/// [`MAX_RESULT_BYTES`].
fn push_bounded(out: &mut String, s: &str) -> Result<(), ResultError> {
    if out.len() + s.len() > MAX_RESULT_BYTES {
        return Err(ResultError::TooLong { text: true });
    }
    out.push_str(s);
    Ok(())
}

/// Appends a value as YAML would write it: `true`, not Python's `True`;
/// null as nothing; anything else formatted within the bound.
fn push_interpolated(out: &mut String, v: &MjValue) -> Result<(), ResultError> {
    match v.as_str() {
        Some(s) => push_bounded(out, s),
        None if v.kind() == ValueKind::Bool => push_bounded(out, if v.is_true() { "true" } else { "false" }),
        None if v.is_none() => Ok(()),
        None => write_bounded(out, v),
    }
}

/// Appends a value's text to `out`, refusing to grow it past
/// [`MAX_RESULT_BYTES`]: formatting stops as soon as the limit is reached.
pub fn write_bounded(out: &mut String, v: &MjValue) -> Result<(), ResultError> {
    struct Bounded<'a>(&'a mut String, usize);
    impl fmt::Write for Bounded<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            if self.0.len() + s.len() > self.1 {
                return Err(fmt::Error);
            }
            self.0.push_str(s);
            Ok(())
        }
    }
    // A huge list would be formatted in full before the writer could stop it.
    if v.len().is_some_and(|n| n > MAX_RESULT_NODES) {
        return Err(ResultError::TooManyValues);
    }
    let limit = MAX_RESULT_BYTES;
    fmt::write(&mut Bounded(out, limit), format_args!("{v}")).map_err(|_| ResultError::TooLong { text: false })
}

// ---------------------------------------------------------------------------
// ref(): resolved after evaluation, when final names are known
// ---------------------------------------------------------------------------

/// After an expression whose result's text is `texts`: every part `ref()`
/// handed out was rendered, every marker rendered is in the result, and the
/// result has no other marker and no piece of one. Otherwise a filter or an
/// operation used a reference as text — its final name is not known while
/// expressions run, so the result would be wrong, or carry a marker.
/// (Filters may render a value more than once, to measure it: markers are
/// compared as sets.)
fn check_refs<'t>(texts: impl FnOnce() -> Vec<&'t str>) -> Result<(), ExprError> {
    let used = REF_USE.with(|u| std::mem::take(&mut *u.borrow_mut()));
    if used.handed == 0 {
        return Ok(());
    }
    let texts = texts();
    let all_rendered = (1..=used.handed).all(|id| used.used.contains(&id));
    let rendered: std::collections::BTreeSet<&str> = used.rendered.iter().map(String::as_str).collect();
    let mut found = std::collections::BTreeSet::new();
    let mut intact = true;
    for t in &texts {
        let markers = ref_markers(t);
        intact &= t.matches(REF_OPEN).count() == markers.len();
        found.extend(markers.into_iter().map(|(r, ..)| &t[r]));
    }
    if all_rendered && intact && rendered == found {
        return Ok(());
    }
    Err(ExprError::RefComputed)
}

/// Marks in a string where `ref()` put a name or namespace that the graph
/// stage fills in. Private-use characters cannot appear in manifests by
/// accident, and on purpose they still make no marker: each marker carries
/// this run's secret, which no input can know.
pub const REF_OPEN: char = '\u{E000}';
pub const REF_CLOSE: char = '\u{E001}';

/// How every marker of this process begins: [`REF_OPEN`] and 128 random
/// bits from the standard library's per-process hash keys (the operating
/// system's randomness), as 32 hex digits.
fn marker_opening() -> &'static str {
    use std::hash::{BuildHasher, Hasher};
    static OPENING: OnceLock<String> = OnceLock::new();
    OPENING.get_or_init(|| {
        let word = || std::collections::hash_map::RandomState::new().build_hasher().finish();
        format!("{REF_OPEN}{:016x}{:016x}", word(), word())
    })
}

/// Which part of the referenced object a marker stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefField {
    Name,
    Namespace,
}

pub fn ref_marker(target: &str, field: RefField) -> String {
    let f = match field {
        RefField::Name => "name",
        RefField::Namespace => "namespace",
    };
    format!("{}{f}:{target}{REF_CLOSE}", marker_opening())
}

/// Parses the markers in `s`: (byte range, field, target). Text that looks
/// like a marker without this run's secret is text.
pub fn ref_markers(s: &str) -> Vec<(std::ops::Range<usize>, RefField, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    let opening = marker_opening();
    while let Some(i) = s[from..].find(opening) {
        let start = from + i;
        let body_start = start + opening.len();
        let Some(j) = s[body_start..].find(REF_CLOSE) else {
            break;
        };
        let body = &s[body_start..body_start + j];
        let end = body_start + j + REF_CLOSE.len_utf8();
        let (field, target) = match body.split_once(':') {
            Some(("namespace", t)) => (RefField::Namespace, t),
            Some((_, t)) => (RefField::Name, t),
            None => (RefField::Name, body),
        };
        out.push((start..end, field, target));
        from = end;
    }
    out
}

/// What `ref()` handed out and how it was used while this thread
/// evaluates one expression: the parts (`.name`, `.namespace`) it made, by
/// number, and the markers they were rendered as. A reference's final name
/// is known only after the build, so a part may become the whole value or
/// a piece of text — where its marker lands intact and is filled in —
/// but nothing may compute with it: after each expression, every part must
/// have been rendered and every rendered marker must be in the result,
/// unchanged ([`Evaluator::check_refs`]).
#[derive(Default)]
struct RefUse {
    /// References (`ref()` calls) and their parts, numbered from 1.
    handed: usize,
    /// Those used as references should be: a part rendered, a call whose
    /// part was taken or that was rendered itself.
    used: Vec<usize>,
    /// The markers rendered.
    rendered: Vec<String>,
}

impl RefUse {
    fn hand() -> usize {
        REF_USE.with(|u| {
            let mut u = u.borrow_mut();
            u.handed += 1;
            u.handed
        })
    }

    fn mark_used(id: usize) {
        REF_USE.with(|u| u.borrow_mut().used.push(id));
    }
}

thread_local! {
    static REF_USE: RefCell<RefUse> = RefCell::default();
}

/// What `ref("Kind/name")` returns: the target, numbered as handed out.
#[derive(Debug)]
struct RefTarget {
    target: String,
    id: usize,
}

/// A part of a reference: a value that is text only once rendered.
#[derive(Debug)]
struct RefPart {
    target: String,
    field: RefField,
    id: usize,
}

impl RefPart {
    fn handed(target: &str, field: RefField) -> MjValue {
        MjValue::from_object(RefPart { target: target.to_string(), field, id: RefUse::hand() })
    }
}

impl Object for RefTarget {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let field = match key.as_str()? {
            "name" => RefField::Name,
            "namespace" => RefField::Namespace,
            _ => return None,
        };
        RefUse::mark_used(self.id);
        Some(RefPart::handed(&self.target, field))
    }

    /// `ref("Kind/name")` on its own is its name.
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        RefUse::mark_used(self.id);
        let part = RefPart::handed(&self.target, RefField::Name);
        write!(f, "{part}")
    }
}

impl Object for RefPart {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let marker = ref_marker(&self.target, self.field);
        REF_USE.with(|u| {
            let mut u = u.borrow_mut();
            u.used.push(self.id);
            u.rendered.push(marker.clone());
        });
        f.write_str(&marker)
    }
}

fn ref_function(target: String) -> Result<MjValue, Error> {
    let parsed = infra_k8s::kinds::TargetRef::parse(&target)
        .map_err(|why| Error::new(ErrorKind::InvalidOperation, format!("ref(\"{target}\"): {why}")))?;
    Ok(MjValue::from_object(RefTarget { target: parsed.to_string(), id: RefUse::hand() }))
}

/// The name in the context under which `file()` and its kin find the
/// module's folder.
const FILES: &str = "__infra_files";

/// Where `file()` reads: the module's folder inside the project. A handle,
/// never text: an expression (`debug()`, `__infra_files`) cannot write the
/// absolute path of the machine that built it into a manifest.
struct Files {
    dir: Arc<Path>,
    root: Arc<Path>,
}

impl fmt::Debug for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<files>")
    }
}

impl Object for Files {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<files>")
    }
}

/// Reads a file of the module for `function`, with `read` (root, dir, path).
fn module_file<T>(
    state: &State,
    function: &str,
    path: &str,
    read: impl FnOnce(&Path, &Path, &str) -> Result<T, infra_syntax::Diagnostic>,
) -> Result<T, Error> {
    let files = state.lookup(FILES);
    let Some(files) = files.as_ref().and_then(|v| v.downcast_object_ref::<Files>()) else {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("{function}() is not available here")));
    };
    read(&files.root, &files.dir, path)
        .map_err(|d| Error::new(ErrorKind::InvalidOperation, format!("{function}(\"{path}\"): {}", d.message)))
}

fn file_function(state: &State, path: String) -> Result<String, Error> {
    module_file(state, "file", &path, crate::load::files::read_text_inside)
}

/// A dotenv or properties file as an ordered map, for a ConfigMap's `data`.
fn file_map_function(state: &State, path: String) -> Result<MjValue, Error> {
    use crate::load::env_file::{Format, parse};
    let text = module_file(state, "file_map", &path, crate::load::files::read_text_inside)?;
    let pairs = parse(&text, Format::of(&path)).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("file_map(\"{path}\"): {path}:{}:{}: {}", e.line, e.column, e.message),
        )
    })?;
    Ok(MjValue::from_iter(pairs))
}

/// Any file as base64, for a ConfigMap's `binaryData` or a Secret's `data`.
fn file_base64_function(state: &State, path: String) -> Result<String, Error> {
    use base64::Engine;
    let bytes = module_file(state, "file_base64", &path, crate::load::files::read_bytes_inside)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// base64 (RFC 4648, standard alphabet, padded). Whitespace is ignored
/// when decoding, as in YAML text folded over lines.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let s: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_split_text_and_expressions() {
        let s = "a ${{ x }} b $${{ lit }} {{ go }} ${{ {'k': {'n': 1}} }}";
        let segs: Vec<Segment> = segments(s).unwrap().map(Result::unwrap).collect();
        assert_eq!(
            segs,
            vec![
                Segment::Text("a "),
                Segment::Expr { source: "x", offset: 2, len: 8 },
                Segment::Text(" b "),
                Segment::Text("${{"),
                Segment::Text(" lit }} {{ go }} "),
                Segment::Expr { source: "{'k': {'n': 1}}", offset: 34, len: 22 },
            ]
        );
        assert!(segments("{{ $labels.instance }}").is_none());
        assert!(segments("x ${{ y").unwrap().any(|s| s.is_err()));
        let escaped: Vec<Segment> = segments("$${{ a }}").unwrap().map(Result::unwrap).collect();
        assert_eq!(escaped, vec![Segment::Text("${{"), Segment::Text(" a }}")]);
    }

    #[test]
    fn fast_paths_agree_with_minijinja() {
        let engine = Engine::new();
        let ev = engine.evaluator();
        let root: Arc<Path> = Arc::from(Path::new("/"));
        let scope = Scope::new(Arc::new(Value::Null), "lab", "main", root.clone(), root);
        for item in ["\"\"", "\"10Gi\"", "5", "null", "true", "[]"] {
            let item = infra_syntax::yaml::parse_value(&format!("{{storage: {item}}}")).unwrap();
            let scope = scope.with_item(item, Value::Int(0));
            for source in ["item.storage == \"\"", "item.storage != ''", "item.storage == \"10Gi\"", "item.storage"] {
                let fast = match ev.evaluate(source, &scope, Ok).unwrap() {
                    Evaluated::Value(v) => v,
                    Evaluated::Minijinja(_) => panic!("{source} takes the fast path"),
                };
                let slow = engine.env.compile_expression(source).unwrap().eval(scope.context()).unwrap();
                assert_eq!(fast, from_minijinja(&slow).unwrap(), "{source} on {:?}", scope.lookup("item"));
            }
        }
    }
}
