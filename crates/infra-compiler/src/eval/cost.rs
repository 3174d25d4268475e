//! What an expression may cost, known before it runs.
//!
//! minijinja's fuel counts instructions, and one instruction can do
//! unbounded work: `[] * 2000000000` is a lazy list that the next `~`
//! iterates two billion times, `(['x'*4000000]*1000)|string` writes 4 GB.
//! So each expression is checked twice before minijinja runs it:
//!
//! - once, when it is first seen ([`Plan::new`]): its chains are short
//!   enough to parse without deep recursion, and every construct is one of
//!   an allow-list — paths, literals, operators, `if`/`else`, and the
//!   filters, tests, functions and methods named here, whose cost follows
//!   from the sizes of their inputs. Anything else is refused, located.
//! - at each evaluation ([`Plan::cost`]): the plan is walked with the
//!   scope's values. Each node gets a [`Shape`], an upper bound of the value
//!   it makes (its values, its text, its length, the range of a number),
//!   and adds what it does to the expression's work: a value made, visited
//!   or compared costs [`ITEM_COST`], a byte made, written or scanned one.
//!   Past [`MAX_EXPRESSION_WORK`] the expression is refused before it runs.
//!
//! A repetition (`'x' * n`, `[x] * n`) is bounded by the range of `n`,
//! which is exact for constants and paths and computed through arithmetic;
//! a count whose range is unknown (`'x' * ('9'|int)`) is refused.

use super::bounded::{MAX_EXPRESSION_WORK, MAX_PADDING, MAX_RESULT_BYTES, MAX_RESULT_NODES};
use infra_syntax::Value;
use minijinja::machinery::{Token, WhitespaceConfig, ast, parse_expr, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Value as MjValue, ValueKind};
use std::ops::Range;

/// What a value costs to visit or make; a byte costs one.
pub const ITEM_COST: u64 = 32;
/// The deepest a chain of operators, filters or attributes may nest, as
/// minijinja's parser limits brackets: each link of a chain (`a or b or
/// ...`, `x|f|g`, `a.b.c`, `not not ...`) is one level of the tree, and
/// the passes after parsing recurse as deep as the tree.
pub const MAX_NESTING: usize = 150;
/// How deep a value may nest: what YAML gives, and what lists and maps
/// inside an expression add.
const MAX_VALUE_DEPTH: u64 = infra_syntax::yaml::MAX_DEPTH as u64 + MAX_NESTING as u64;
/// The longest text of a number (`1e308` is written with its 309 digits).
const NUMBER_TEXT: u64 = 330;
/// What an undefined value writes inside a list: `undefined`.
const UNDEFINED_TEXT: u64 = 9;
/// The most items `range()` makes (minijinja refuses more).
const MAX_RANGE: u64 = 100_000;
/// A `${{ file() }}`'s largest file.
const FILE_BYTES: u64 = crate::load::files::MAX_FILE_BYTES;

/// The filters, tests and functions expressions may use: those whose cost
/// [`Coster`] knows.
pub const FILTERS: &[&str] = &[
    "abs",
    "attr",
    "b64decode",
    "b64encode",
    "batch",
    "bool",
    "capitalize",
    "chain",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "sha256",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "tojson",
    "toyaml",
    "trim",
    "unique",
    "upper",
    "urlencode",
    "zip",
];
/// The filters that apply another filter or test to each item: `map`
/// applies any filter but these.
const APPLYING: &[&str] = &["map", "reject", "rejectattr", "select", "selectattr"];
pub const TESTS: &[&str] = &[
    "!=",
    "<",
    "<=",
    "==",
    ">",
    ">=",
    "boolean",
    "defined",
    "divisibleby",
    "endingwith",
    "eq",
    "equalto",
    "escaped",
    "even",
    "false",
    "filter",
    "float",
    "ge",
    "greaterthan",
    "gt",
    "in",
    "int",
    "integer",
    "iterable",
    "le",
    "lessthan",
    "lower",
    "lt",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "safe",
    "sameas",
    "sequence",
    "startingwith",
    "string",
    "test",
    "true",
    "undefined",
    "upper",
];
pub const FUNCTIONS: &[&str] = &["debug", "dict", "file", "file_base64", "file_map", "range", "ref"];
/// Methods on strings (Python's, which people write in Jinja).
const METHODS: &[&str] = &["endswith", "startswith"];

/// An expression checked against the allow-list, ready to be costed.
#[derive(Debug)]
pub struct Plan {
    root: Node,
}

#[derive(Debug)]
struct Node {
    /// Bytes of the expression's source.
    at: Range<usize>,
    op: Op,
}

#[derive(Debug)]
enum Op {
    Const(Shape),
    /// A name and constant keys (`params.a[0].b`), read from the scope.
    Path(Vec<Key>),
    /// An attribute or item of a computed value, or with a computed key.
    Item(Box<Node>, Option<Box<Node>>),
    Slice(Box<Node>, Vec<Node>),
    Not(Box<Node>),
    Neg(Box<Node>),
    Binary(ast::BinOpKind, Box<Node>, Box<Node>),
    /// `a == b < c`: each pair is compared.
    Compare(Vec<Node>, Vec<bool>),
    If(Box<Node>, Box<Node>, Option<Box<Node>>),
    /// A filter, and the filter or test it applies to each item (`map`,
    /// `select`, ...).
    Filter {
        name: &'static str,
        applies: Option<&'static str>,
        input: Option<Box<Node>>,
        args: Vec<Arg>,
    },
    Test(Box<Node>, Vec<Arg>),
    Call(&'static str, Vec<Arg>),
    Method(Box<Node>, Vec<Arg>),
    List(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A key of a plain path: `.name`, `['name']` or `[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Name(String),
    Index(i64),
}

#[derive(Debug)]
struct Arg {
    /// The keyword, for `name=value`.
    name: Option<String>,
    value: Node,
}

impl Plan {
    /// Parses `source` and checks it against the allow-list.
    pub fn new(source: &str) -> Result<Plan, Refusal> {
        check_nesting(source)?;
        let expr = parse_expr(source).map_err(Refusal::Syntax)?;
        Ok(Plan { root: Node::new(&expr)? })
    }

    /// The shape of the expression's value, for tests.
    #[cfg(test)]
    fn shape(&self, measure: &mut dyn FnMut(&[Key]) -> Option<Shape>) -> Result<Shape, Refusal> {
        Coster { measure, work: 0 }.shape(&self.root)
    }

    /// The work the expression may do, or why it may not run. `measure`
    /// gives the shape of the value a plain path leads to in the scope it
    /// runs in.
    pub fn cost(&self, measure: &mut dyn FnMut(&[Key]) -> Option<Shape>) -> Result<u64, Refusal> {
        // A path named many times (`[item, item, ...]`) is measured once.
        let mut seen: std::collections::HashMap<Vec<Key>, Option<Shape>> = std::collections::HashMap::new();
        let mut once = |keys: &[Key]| match seen.get(keys) {
            Some(shape) => *shape,
            None => *seen.entry(keys.to_vec()).or_insert_with(|| measure(keys)),
        };
        let mut coster = Coster { measure: &mut once, work: 0 };
        let result = coster.shape(&self.root)?;
        // What converting or writing the result visits: a result's values
        // and text are bounded as they are converted, the empty steps of
        // lazy repetitions are not.
        let converted = result.values.min(MAX_RESULT_NODES as u64).saturating_add(result.idle);
        coster.add(
            &self.root,
            converted.saturating_mul(ITEM_COST).saturating_add(result.text.min(MAX_RESULT_BYTES as u64)),
        )?;
        Ok(coster.work)
    }
}

/// Why an expression may not run, at which part of it.
#[derive(Debug)]
pub enum Refusal {
    /// It does not parse: minijinja's error.
    Syntax(minijinja::Error),
    /// Its chains nest deeper than [`MAX_NESTING`].
    TooDeep,
    /// A construct outside the allow-list: what, where, and what is allowed.
    NotAllowed { what: String, name: Option<String>, at: Range<usize>, allowed: &'static [&'static str] },
    /// Its work is past [`MAX_EXPRESSION_WORK`].
    TooMuchWork(Range<usize>),
    /// A repetition by a count whose range is not known.
    UnboundedCount(Range<usize>),
}

fn not_allowed(at: Range<usize>, what: String, allowed: &'static [&'static str]) -> Refusal {
    Refusal::NotAllowed { what, name: None, at, allowed }
}

/// A name that is not on its list: `kind` is "filter", "test", ...
fn unknown(at: Range<usize>, kind: &str, name: &str, allowed: &'static [&'static str]) -> Refusal {
    Refusal::NotAllowed { what: format!("the {kind} `{name}`"), name: Some(name.to_string()), at, allowed }
}

/// Refuses chains that would make a tree deeper than [`MAX_NESTING`],
/// before the parser builds it: a level for each open bracket and each link
/// of a chain inside it.
fn check_nesting(source: &str) -> Result<(), Refusal> {
    /// One open bracket: the links of the chain being read, the deepest
    /// group closed inside that chain (an operand), and the deepest of the
    /// items before a comma.
    #[derive(Default, Clone, Copy)]
    struct Level {
        links: usize,
        operand: usize,
        items: usize,
    }
    impl Level {
        fn depth(self) -> usize {
            self.items.max(self.links + self.operand) + 1
        }
    }
    let mut levels = vec![Level::default()];
    for token in tokenize(source, true, SyntaxConfig, WhitespaceConfig::default()) {
        // A lexing error is reported by the parser, with its place.
        let Ok((token, _)) = token else { return Ok(()) };
        let last = levels.len() - 1;
        match token {
            Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => {
                levels[last].links += 1;
                levels.push(Level::default());
            }
            Token::ParenClose | Token::BracketClose | Token::BraceClose if levels.len() > 1 => {
                let group = levels.pop().unwrap_or_default().depth();
                levels[last - 1].operand = levels[last - 1].operand.max(group);
            }
            Token::Comma | Token::Colon => {
                let l = levels[last];
                levels[last] = Level { items: l.depth() - 1, ..Level::default() };
            }
            Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::FloorDiv
            | Token::Pow
            | Token::Mod
            | Token::Dot
            | Token::Tilde
            | Token::Pipe
            | Token::Eq
            | Token::Ne
            | Token::Gt
            | Token::Gte
            | Token::Lt
            | Token::Lte => levels[last].links += 1,
            Token::Ident("and" | "or" | "not" | "in" | "is" | "if" | "else") => levels[last].links += 1,
            _ => {}
        }
        if levels.iter().map(|l| l.depth()).sum::<usize>() > MAX_NESTING {
            return Err(Refusal::TooDeep);
        }
    }
    Ok(())
}

fn range_of<T>(s: &ast::Spanned<T>) -> Range<usize> {
    let s = s.span();
    s.start_offset as usize..s.end_offset as usize
}

impl Node {
    fn new(expr: &ast::Expr) -> Result<Node, Refusal> {
        use ast::Expr as E;
        let boxed = |e: &ast::Expr| Node::new(e).map(Box::new);
        let (at, op) = match expr {
            E::Var(v) => (range_of(v), Op::Path(vec![Key::Name(v.id.to_string())])),
            E::Const(c) => (range_of(c), Op::Const(Shape::of_minijinja(&c.value, 0))),
            E::GetAttr(g) => {
                let parent = Node::new(&g.expr)?;
                let op = match parent.op {
                    Op::Path(mut keys) => {
                        keys.push(Key::Name(g.name.to_string()));
                        Op::Path(keys)
                    }
                    op => Op::Item(Box::new(Node { at: parent.at, op }), None),
                };
                (range_of(g), op)
            }
            E::GetItem(g) => {
                let parent = Node::new(&g.expr)?;
                let key = match &g.subscript_expr {
                    E::Const(c) => match (c.value.as_str(), c.value.as_i64()) {
                        (Some(s), _) => Some(Key::Name(s.to_string())),
                        (None, Some(i)) if c.value.is_integer() => Some(Key::Index(i)),
                        _ => None,
                    },
                    _ => None,
                };
                let op = match (parent.op, key) {
                    (Op::Path(mut keys), Some(key)) => {
                        keys.push(key);
                        Op::Path(keys)
                    }
                    (op, _) => Op::Item(Box::new(Node { at: parent.at, op }), Some(boxed(&g.subscript_expr)?)),
                };
                (range_of(g), op)
            }
            E::Slice(s) => {
                let bounds =
                    [&s.start, &s.stop, &s.step].into_iter().flatten().map(Node::new).collect::<Result<_, _>>()?;
                (range_of(s), Op::Slice(boxed(&s.expr)?, bounds))
            }
            E::UnaryOp(u) => {
                let inner = boxed(&u.expr)?;
                (range_of(u), if matches!(u.op, ast::UnaryOpKind::Not) { Op::Not(inner) } else { Op::Neg(inner) })
            }
            E::BinOp(b) => (range_of(b), Op::Binary(b.op, boxed(&b.left)?, boxed(&b.right)?)),
            E::Compare(c) => {
                let mut operands = vec![Node::new(&c.expr)?];
                let mut contains = Vec::new();
                for op in &c.ops {
                    operands.push(Node::new(&op.expr)?);
                    contains.push(matches!(op.op, ast::CompareOpKind::In | ast::CompareOpKind::NotIn));
                }
                (range_of(c), Op::Compare(operands, contains))
            }
            E::IfExpr(i) => {
                let otherwise = i.false_expr.as_ref().map(&boxed).transpose()?;
                (range_of(i), Op::If(boxed(&i.test_expr)?, boxed(&i.true_expr)?, otherwise))
            }
            E::Filter(f) => {
                let at = range_of(f);
                let name = allowed(f.name, FILTERS).ok_or_else(|| unknown(at.clone(), "filter", f.name, FILTERS))?;
                let input = f.expr.as_ref().map(&boxed).transpose()?;
                // `map`, `select` and their kin apply a filter or test named
                // by a string: only a literal one of the list (and `map` not
                // one of these).
                let named = match name {
                    "map" => Some(FILTERS),
                    "select" | "reject" => Some(TESTS),
                    "selectattr" | "rejectattr" => Some(TESTS),
                    _ => None,
                };
                let position = usize::from(matches!(name, "selectattr" | "rejectattr"));
                let positional = f.args.iter().filter(|a| matches!(a, ast::CallArg::Pos(_))).nth(position);
                let applies = match (named, positional) {
                    (Some(list), Some(ast::CallArg::Pos(E::Const(c)))) if c.value.as_str().is_some() => {
                        let named = c.value.as_str().unwrap_or_default();
                        let found = allowed(named, list).filter(|f| name != "map" || !APPLYING.contains(f));
                        if found.is_none() {
                            return Err(unknown(at, &format!("name in `{name}`,"), named, list));
                        }
                        found
                    }
                    (Some(list), Some(a)) => {
                        let at = match a {
                            ast::CallArg::Pos(e) => Node::new(e)?.at,
                            _ => at,
                        };
                        return Err(not_allowed(at, format!("a computed name in `{name}`"), list));
                    }
                    _ => None,
                };
                let args = args(&f.args, &at)?;
                (at, Op::Filter { name, applies, input, args })
            }
            E::Test(t) => {
                let at = range_of(t);
                if allowed(t.name, TESTS).is_none() {
                    return Err(unknown(at, "test", t.name, TESTS));
                }
                (at.clone(), Op::Test(boxed(&t.expr)?, args(&t.args, &at)?))
            }
            E::Call(c) => {
                let at = range_of(c);
                let args = args(&c.args, &at)?;
                match &c.expr {
                    E::Var(v) => match allowed(v.id, FUNCTIONS) {
                        Some(name) => (at, Op::Call(name, args)),
                        None => return Err(unknown(at, "function", v.id, FUNCTIONS)),
                    },
                    E::GetAttr(g) if allowed(g.name, METHODS).is_some() => (at, Op::Method(boxed(&g.expr)?, args)),
                    E::GetAttr(g) => return Err(unknown(at, "method", g.name, METHODS)),
                    _ => return Err(not_allowed(at, "calling a computed value".into(), FUNCTIONS)),
                }
            }
            E::List(l) => (range_of(l), Op::List(l.items.iter().map(Node::new).collect::<Result<_, _>>()?)),
            E::Map(m) => {
                let pairs = m
                    .keys
                    .iter()
                    .zip(&m.values)
                    .map(|(k, v)| Ok((Node::new(k)?, Node::new(v)?)))
                    .collect::<Result<_, Refusal>>()?;
                (range_of(m), Op::Map(pairs))
            }
        };
        Ok(Node { at, op })
    }
}

fn allowed(name: &str, list: &[&'static str]) -> Option<&'static str> {
    list.iter().find(|n| **n == name).copied()
}

fn args(args: &[ast::CallArg], at: &Range<usize>) -> Result<Vec<Arg>, Refusal> {
    args.iter()
        .map(|a| match a {
            ast::CallArg::Pos(e) => Ok(Arg { name: None, value: Node::new(e)? }),
            ast::CallArg::Kwarg(name, e) => Ok(Arg { name: Some(name.to_string()), value: Node::new(e)? }),
            ast::CallArg::PosSplat(_) | ast::CallArg::KwargSplat(_) => {
                Err(not_allowed(at.clone(), "spreading arguments with `*` or `**`".into(), &[]))
            }
        })
        .collect()
}

/// The range a number lies in, or what is known of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// It is not a number.
    No,
    /// An integer within these bounds.
    Range(i128, i128),
    /// A number whose range is not known, or a float (written with up to
    /// [`NUMBER_TEXT`] digits, and never a count).
    Any,
}

impl Num {
    fn join(self, other: Num) -> Num {
        match (self, other) {
            (Num::No, n) | (n, Num::No) => n,
            (Num::Range(a, b), Num::Range(c, d)) => Num::Range(a.min(c), b.max(d)),
            _ => Num::Any,
        }
    }

    /// The range of `op` over both ranges: the extremes of a product,
    /// sum or difference are at the corners.
    fn corners(self, other: Num, op: impl Fn(i128, i128) -> i128) -> Num {
        match (self, other) {
            (Num::Range(a, b), Num::Range(c, d)) => {
                let v = [op(a, c), op(a, d), op(b, c), op(b, d)];
                Num::Range(*v.iter().min().unwrap_or(&0), *v.iter().max().unwrap_or(&0))
            }
            (Num::No, _) | (_, Num::No) => Num::No,
            _ => Num::Any,
        }
    }

    /// The text a number in this range is written as, at most.
    fn text(self) -> u64 {
        match self {
            Num::Range(a, b) => {
                let widest = a.unsigned_abs().max(b.unsigned_abs());
                // Digits and a sign.
                widest.checked_ilog10().map_or(1, |d| u64::from(d) + 1) + 1
            }
            _ => NUMBER_TEXT,
        }
    }
}

/// Kinds a value may be.
const STR: u8 = 1;
const SEQ: u8 = 2;
const MAP: u8 = 4;
const NUM: u8 = 8;
const OTHER: u8 = 16;
/// A lazy sequence (a repetition, `range()`, `chain`): reading an item of
/// it iterates up to the item.
const LAZY: u8 = 32;
const ANY: u8 = STR | SEQ | MAP | NUM | OTHER | LAZY;

/// Upper bounds of a value: what making, visiting or writing it costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    kinds: u8,
    /// Values, itself and all it holds.
    values: u64,
    /// Bytes when written alone (`~`, `string`).
    text: u64,
    /// Bytes when written inside a list or map (strings quoted, escaped).
    nested: u64,
    /// What iterating it yields: items, keys, or characters.
    len: u64,
    /// Steps of iterating it in full that yield nothing (lazy repetitions
    /// of empty lists).
    idle: u64,
    num: Num,
    /// The range of its items that are numbers.
    items: Num,
    /// How deep lists and maps nest in it (a scalar: 0).
    depth: u64,
    /// Bytes of the longest string it is or holds: what iterating one
    /// string of it yields (its text counts the quotes and separators of
    /// all it holds).
    longest: u64,
}

fn sum(xs: impl IntoIterator<Item = u64>) -> u64 {
    xs.into_iter().fold(0, u64::saturating_add)
}

impl Shape {
    fn string(bytes: u64) -> Shape {
        Shape {
            kinds: STR,
            values: 1,
            text: bytes,
            nested: bytes.saturating_mul(6).saturating_add(2),
            // Its characters are read as text, not as items.
            len: 0,
            idle: 0,
            num: Num::No,
            items: Num::No,
            depth: 0,
            longest: bytes,
        }
    }

    /// A string of ours: written inside a list or map as `Debug` writes it.
    fn measured_string(s: &str) -> Shape {
        let mut quoted = Count(0);
        // Writing to a counter cannot fail.
        let _ = std::fmt::write(&mut quoted, format_args!("{s:?}"));
        Shape { nested: quoted.0, ..Shape::string(s.len() as u64) }
    }

    fn number(num: Num) -> Shape {
        let text = num.text();
        Shape { kinds: NUM, num, ..Shape::other(text) }
    }

    fn boolean() -> Shape {
        Shape { text: 5, nested: 5, ..Shape::number(Num::Range(0, 1)) }
    }

    fn undefined() -> Shape {
        Shape::other(UNDEFINED_TEXT)
    }

    /// `none`, undefined, or an object of ours written as a short text.
    fn other(text: u64) -> Shape {
        Shape {
            kinds: OTHER,
            values: 1,
            text,
            nested: text,
            len: 0,
            idle: 0,
            num: Num::No,
            items: Num::No,
            depth: 0,
            longest: 0,
        }
    }

    /// A list of `len` items whose sizes add up to `items`' (one item when
    /// `len` is 1: `items` is each, not all, when `each`).
    fn list(len: u64, items: &Shape) -> Shape {
        Shape {
            kinds: SEQ,
            values: items.values.saturating_add(1),
            text: items.nested.saturating_add(len.saturating_mul(2)).saturating_add(2),
            nested: items.nested.saturating_add(len.saturating_mul(2)).saturating_add(2),
            len,
            idle: items.idle,
            num: Num::No,
            items: items.num,
            depth: items.depth.saturating_add(1),
            longest: items.longest,
        }
    }

    /// A map of `len` entries whose keys and values add up to `entries`'
    /// (`": "` between each key and value).
    fn map(len: u64, entries: &Shape) -> Shape {
        let list = Shape::list(len, entries);
        let separators = len.saturating_mul(2);
        Shape {
            kinds: MAP,
            text: list.text.saturating_add(separators),
            nested: list.nested.saturating_add(separators),
            ..list
        }
    }

    /// `n` copies of a shape, as one (their sizes added).
    fn times(&self, n: u64) -> Shape {
        Shape {
            kinds: self.kinds,
            values: self.values.saturating_mul(n),
            text: self.text.saturating_mul(n),
            nested: self.nested.saturating_mul(n),
            len: self.len.saturating_mul(n),
            idle: self.idle.saturating_mul(n),
            num: self.num,
            items: self.items,
            depth: self.depth,
            longest: self.longest,
        }
    }

    /// Two shapes as one value holding both (their sizes added).
    fn plus(&self, other: &Shape) -> Shape {
        Shape {
            kinds: self.kinds | other.kinds,
            values: self.values.saturating_add(other.values),
            text: self.text.saturating_add(other.text),
            nested: self.nested.saturating_add(other.nested),
            len: self.len.saturating_add(other.len),
            idle: self.idle.saturating_add(other.idle),
            num: self.num.join(other.num),
            items: self.items.join(other.items),
            depth: self.depth.max(other.depth),
            longest: self.longest.max(other.longest),
        }
    }

    /// Either of two shapes.
    fn either(&self, other: &Shape) -> Shape {
        Shape {
            kinds: self.kinds | other.kinds,
            values: self.values.max(other.values),
            text: self.text.max(other.text),
            nested: self.nested.max(other.nested),
            len: self.len.max(other.len),
            idle: self.idle.max(other.idle),
            num: self.num.join(other.num),
            items: self.items.join(other.items),
            depth: self.depth.max(other.depth),
            longest: self.longest.max(other.longest),
        }
    }

    /// Any one item (or character, or key) of this value, or all of them
    /// together, which bounds each.
    fn item(&self) -> Shape {
        Shape {
            // Lazy only if it holds lazy lists.
            kinds: (ANY & !LAZY) | (self.kinds & LAZY),
            values: self.values.max(1).saturating_add(self.chars()),
            // An item that is not there is undefined.
            text: self.nested.max(UNDEFINED_TEXT),
            nested: self.nested.max(UNDEFINED_TEXT),
            len: self.values,
            idle: self.idle,
            num: self.items,
            items: Num::Any,
            depth: self.depth,
            longest: self.longest,
        }
    }

    /// The shape of what `left` more keys read from a value of this shape:
    /// any item of it, for each.
    pub fn past(self, left: usize) -> Shape {
        (0..left).fold(self, |s, _| s.item())
    }

    /// The characters of a string (at most its bytes), or none.
    fn chars(&self) -> u64 {
        if self.kinds & STR != 0 { self.longest } else { 0 }
    }

    /// What iterating it yields: items, keys or characters.
    fn yields(&self) -> u64 {
        self.len.saturating_add(self.chars())
    }

    /// The items of this value made a list: a string's characters, a
    /// map's keys, a list's items.
    fn as_list(&self) -> Shape {
        let chars = self.chars();
        Shape {
            kinds: SEQ,
            values: self.values.saturating_add(chars).saturating_add(1),
            text: self.nested.saturating_add(chars.saturating_mul(30)).saturating_add(2),
            nested: self.nested.saturating_add(chars.saturating_mul(30)).saturating_add(2),
            len: self.len.saturating_add(chars),
            idle: self.idle,
            num: Num::No,
            items: self.items,
            depth: self.depth.saturating_add(1),
            longest: self.longest,
        }
    }

    /// Visiting it in full: writing it, comparing it, hashing it.
    fn write(&self) -> u64 {
        self.values.saturating_add(self.idle).saturating_mul(ITEM_COST).saturating_add(self.text)
    }

    /// Iterating its top level (and reading a string's characters).
    fn iterate(&self) -> u64 {
        self.len.saturating_add(self.idle).saturating_mul(ITEM_COST).saturating_add(self.chars())
    }

    /// The shape of one of our values, measured.
    pub fn of(v: &Value) -> Shape {
        match v {
            Value::Null => Shape::other(4),
            Value::Bool(_) => Shape::boolean(),
            Value::Int(i) => Shape::number(Num::Range(i128::from(*i), i128::from(*i))),
            Value::Float(_) => Shape::number(Num::Any),
            Value::String(s) => Shape::measured_string(s),
            Value::Seq(items) => {
                let all = items.iter().map(Shape::of).fold(Shape::empty(), |a, b| a.plus(&b));
                Shape::list(items.len() as u64, &all)
            }
            Value::Map(m) => {
                let all = m
                    .iter()
                    .map(|(k, v)| Shape::measured_string(k).plus(&Shape::of(v)))
                    .fold(Shape::empty(), |a, b| a.plus(&b));
                Shape::map(m.len() as u64, &all)
            }
        }
    }

    fn empty() -> Shape {
        Shape { kinds: 0, values: 0, ..Shape::other(0) }
    }

    /// The shape of a constant of the parser.
    fn of_minijinja(v: &MjValue, depth: u64) -> Shape {
        match v.kind() {
            ValueKind::String => Shape::measured_string(v.as_str().unwrap_or_default()),
            ValueKind::Number => match v.as_i64() {
                Some(i) if v.is_integer() => Shape::number(Num::Range(i128::from(i), i128::from(i))),
                _ => Shape::number(Num::Any),
            },
            ValueKind::Bool => Shape::boolean(),
            ValueKind::Seq | ValueKind::Map if depth < MAX_VALUE_DEPTH => {
                let items: Vec<MjValue> = v.try_iter().map(Iterator::collect).unwrap_or_default();
                let all = items
                    .iter()
                    .map(|k| {
                        let item = Shape::of_minijinja(k, depth + 1);
                        match v.get_item(k) {
                            Ok(x) if v.kind() == ValueKind::Map => item.plus(&Shape::of_minijinja(&x, depth + 1)),
                            _ => item,
                        }
                    })
                    .fold(Shape::empty(), |a, b| a.plus(&b));
                if v.kind() == ValueKind::Map {
                    Shape::map(items.len() as u64, &all)
                } else {
                    Shape::list(items.len() as u64, &all)
                }
            }
            _ => Shape::other(v.to_string().len() as u64),
        }
    }
}

/// Counts the bytes written to it.
struct Count(u64);

impl std::fmt::Write for Count {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len() as u64;
        Ok(())
    }
}

/// Where `keys` lead from `v`, as far as they lead, and the keys left.
pub fn follow<'v, 'k>(mut v: &'v Value, mut keys: &'k [Key]) -> (&'v Value, &'k [Key]) {
    while let Some(key) = keys.first() {
        let next = match (key, v) {
            (Key::Name(k), Value::Map(m)) => m.get(k.as_str()),
            (Key::Index(i), Value::Seq(items)) => {
                let i = if *i < 0 { items.len() as i64 + i } else { *i };
                usize::try_from(i).ok().and_then(|i| items.get(i))
            }
            _ => None,
        };
        let Some(next) = next else { break };
        v = next;
        keys = &keys[1..];
    }
    (v, keys)
}

/// Walks a plan with the shapes of a scope's values, adding up the work.
struct Coster<'a> {
    measure: &'a mut dyn FnMut(&[Key]) -> Option<Shape>,
    work: u64,
}

impl Coster<'_> {
    fn add(&mut self, node: &Node, work: u64) -> Result<(), Refusal> {
        self.work = self.work.saturating_add(work);
        if self.work > MAX_EXPRESSION_WORK {
            return Err(Refusal::TooMuchWork(node.at.clone()));
        }
        Ok(())
    }

    fn shape(&mut self, node: &Node) -> Result<Shape, Refusal> {
        // Walking the node is work too.
        self.add(node, ITEM_COST)?;
        Ok(match &node.op {
            Op::Const(s) => *s,
            // Undefined, or a value of the scope: read in place, but a
            // string is copied each time it is read.
            Op::Path(keys) => {
                let shape = (self.measure)(keys).unwrap_or_else(|| Shape::other(64));
                self.add(node, ITEM_COST.saturating_add(shape.chars()))?;
                shape
            }
            Op::Item(of, key) => {
                let of = self.shape(of)?;
                if let Some(key) = key {
                    let key = self.shape(key)?;
                    self.add(node, key.write())?;
                }
                // Reading an item of a list or map is a lookup; of a lazy
                // list, an iteration up to it.
                self.add(node, if of.kinds & LAZY != 0 { of.iterate() } else { ITEM_COST.saturating_add(of.chars()) })?;
                of.item()
            }
            Op::Slice(of, bounds) => {
                let of = self.shape(of)?;
                for b in bounds {
                    self.shape(b)?;
                }
                self.add(node, of.iterate().saturating_add(of.text))?;
                if of.kinds & STR != 0 { of.either(&of.as_list()) } else { of.as_list() }
            }
            Op::Not(x) => {
                self.shape(x)?;
                Shape::boolean()
            }
            Op::Neg(x) => {
                let x = self.shape(x)?;
                Shape::number(x.num.corners(Num::Range(-1, -1), i128::saturating_mul))
            }
            Op::Binary(op, left, right) => {
                let (l, r) = (self.shape(left)?, self.shape(right)?);
                self.binary(node, *op, &l, &r)?
            }
            Op::Compare(operands, contains) => {
                let shapes = operands.iter().map(|o| self.shape(o)).collect::<Result<Vec<_>, _>>()?;
                for (pair, contains) in shapes.windows(2).zip(contains) {
                    let op = if *contains { ast::BinOpKind::In } else { ast::BinOpKind::Eq };
                    self.binary(node, op, &pair[0], &pair[1])?;
                }
                Shape::boolean()
            }
            Op::If(test, then, otherwise) => {
                self.shape(test)?;
                let then = self.shape(then)?;
                let otherwise = match otherwise {
                    Some(o) => self.shape(o)?,
                    None => Shape::undefined(),
                };
                then.either(&otherwise)
            }
            Op::Filter { name, applies, input, args } => {
                let input = match input {
                    Some(i) => self.shape(i)?,
                    None => Shape::undefined(),
                };
                let args = self.args(args)?;
                self.filter(node, name, *applies, &input, &args)?
            }
            Op::Test(x, args) => {
                let x = self.shape(x)?;
                let args = self.args(args)?;
                self.add(node, sum(args.iter().map(|(_, a)| a.write())).saturating_add(x.write()))?;
                Shape::boolean()
            }
            Op::Call(name, args) => {
                let args = self.args(args)?;
                self.call(node, name, &args)?
            }
            Op::Method(receiver, args) => {
                let x = self.shape(receiver)?;
                let args = self.args(args)?;
                self.add(node, sum(args.iter().map(|(_, a)| a.write())).saturating_add(x.write()))?;
                Shape::boolean()
            }
            Op::List(items) => {
                let all = items.iter().map(|i| self.shape(i)).collect::<Result<Vec<_>, _>>()?;
                let all = all.iter().fold(Shape::empty(), |a, b| a.plus(b));
                self.add(node, (items.len() as u64).saturating_mul(ITEM_COST))?;
                Shape::list(items.len() as u64, &all)
            }
            Op::Map(pairs) => {
                let mut all = Shape::empty();
                for (k, v) in pairs {
                    let k = self.shape(k)?;
                    self.add(node, k.write())?;
                    all = all.plus(&k).plus(&self.shape(v)?);
                }
                self.add(node, (pairs.len() as u64).saturating_mul(ITEM_COST))?;
                Shape::map(pairs.len() as u64, &all)
            }
        })
    }

    fn args<'n>(&mut self, args: &'n [Arg]) -> Result<Vec<(Option<&'n str>, Shape)>, Refusal> {
        args.iter().map(|a| Ok((a.name.as_deref(), self.shape(&a.value)?))).collect()
    }

    /// The shape of a count `n` may repeat something by, or a refusal.
    fn count(&self, node: &Node, n: &Shape) -> Result<u64, Refusal> {
        match n.num {
            Num::Range(_, hi) => Ok(u64::try_from(hi.max(0)).unwrap_or(u64::MAX)),
            Num::No => Ok(0),
            Num::Any => Err(Refusal::UnboundedCount(node.at.clone())),
        }
    }

    fn binary(&mut self, node: &Node, op: ast::BinOpKind, l: &Shape, r: &Shape) -> Result<Shape, Refusal> {
        use ast::BinOpKind as B;
        Ok(match op {
            B::Eq | B::Ne | B::Lt | B::Lte | B::Gt | B::Gte => {
                self.add(node, l.write().saturating_add(r.write()))?;
                Shape::boolean()
            }
            B::In => {
                // The needle is written once to search text; each item is
                // compared with it.
                self.add(node, l.write().saturating_add(r.write()).saturating_add(l.write()))?;
                Shape::boolean()
            }
            B::ScAnd | B::ScOr => l.either(r).either(&Shape::boolean()),
            B::Concat => {
                self.add(node, l.write().saturating_add(r.write()).saturating_add(l.text).saturating_add(r.text))?;
                Shape::string(l.text.saturating_add(r.text))
            }
            B::Add => {
                let mut out = Shape::number(l.num.corners(r.num, i128::saturating_add));
                if (l.kinds | r.kinds) & STR != 0 {
                    let joined = l.text.saturating_add(r.text);
                    self.add(node, joined)?;
                    out = out.either(&Shape::string(joined));
                }
                if (l.kinds | r.kinds) & SEQ != 0 {
                    // Lazy, made a list when the chain of them is deep.
                    self.add(node, l.len.saturating_add(r.len).saturating_mul(ITEM_COST))?;
                    out = out.either(&Shape { kinds: SEQ | LAZY, ..l.plus(r) });
                }
                out
            }
            B::Mul => {
                let mut out = Shape::number(l.num.corners(r.num, i128::saturating_mul));
                for (x, n) in [(l, r), (r, l)] {
                    if x.kinds & (STR | SEQ) == 0 || n.kinds & NUM == 0 {
                        continue;
                    }
                    let times = self.count(node, n)?;
                    if x.kinds & STR != 0 {
                        let made = x.text.saturating_mul(times);
                        self.add(node, made)?;
                        out = out.either(&Shape::string(made));
                    }
                    if x.kinds & SEQ != 0 {
                        // Lazy: consumers pay for the items; iterating takes
                        // a step for each repetition even of an empty list.
                        let mut repeated = x.times(times);
                        repeated.kinds = SEQ | LAZY;
                        repeated.values = repeated.values.saturating_add(1);
                        repeated.idle = repeated.idle.saturating_add(times);
                        self.add(node, ITEM_COST)?;
                        out = out.either(&repeated);
                    }
                }
                out
            }
            B::Sub => Shape::number(l.num.corners(r.num, i128::saturating_sub)),
            // |a ** b| is at most the largest |a| to the largest b (a
            // negative base is largest inside a range of exponents).
            B::Pow => Shape::number(match (l.num, r.num) {
                (Num::Range(a, b), Num::Range(_, e)) => {
                    let base = a.unsigned_abs().max(b.unsigned_abs());
                    let power = u32::try_from(e.max(0)).ok().and_then(|e| base.checked_pow(e));
                    let most = power.map_or(i128::MAX, |p| i128::try_from(p.max(1)).unwrap_or(i128::MAX));
                    Num::Range(-most, most)
                }
                (Num::No, _) | (_, Num::No) => Num::No,
                _ => Num::Any,
            }),
            // Division makes floats of any size (`1 / 0.0001`); the rest
            // of a division is smaller than the divisor.
            B::Div => Shape::number(Num::Any),
            B::FloorDiv => Shape::number(match (l.num, r.num) {
                (Num::Range(a, b), Num::Range(..)) => Num::Range(a.min(-b.abs()).min(0), b.max(a.abs()).max(0)),
                (Num::No, _) | (_, Num::No) => Num::No,
                _ => Num::Any,
            }),
            B::Rem => Shape::number(match (l.num, r.num) {
                (Num::Range(..), Num::Range(a, b)) => {
                    let m = a.unsigned_abs().max(b.unsigned_abs()).min(i128::MAX as u128) as i128;
                    Num::Range(-m, m)
                }
                (Num::No, _) | (_, Num::No) => Num::No,
                _ => Num::Any,
            }),
        })
    }

    fn call(&mut self, node: &Node, name: &str, args: &[(Option<&str>, Shape)]) -> Result<Shape, Refusal> {
        let arg_text = sum(args.iter().map(|(_, a)| a.write()));
        self.add(node, arg_text)?;
        Ok(match name {
            "range" => {
                // Its items lie between its bounds (`range(n)` starts at
                // 0), whichever way it steps; minijinja makes at most
                // 100,000 of them.
                let span = args.iter().take(2).fold(Num::Range(0, 0), |n, (_, a)| n.join(a.num));
                let len = match span {
                    Num::Range(lo, hi) => u64::try_from(hi.saturating_sub(lo)).unwrap_or(u64::MAX).min(MAX_RANGE),
                    _ => MAX_RANGE,
                };
                self.add(node, len.saturating_mul(ITEM_COST))?;
                let out = Shape::list(len, &Shape::number(span).times(len));
                Shape { kinds: SEQ | LAZY, ..out }
            }
            // Its keyword arguments, and the entries of a map given.
            "dict" => {
                let all = args
                    .iter()
                    .fold(Shape::empty(), |a, (k, v)| a.plus(&Shape::string(k.map_or(0, |k| k.len() as u64))).plus(v));
                let entries = sum(args.iter().map(|(k, v)| if k.is_some() { 1 } else { v.yields() }));
                self.add(node, entries.saturating_mul(ITEM_COST))?;
                Shape::map(entries, &all)
            }
            // A reference: its marker, then its parts.
            "ref" => {
                let marker = Shape::other(arg_text.saturating_add(96));
                let all = marker.plus(&marker).plus(&marker);
                Shape { kinds: OTHER | MAP | STR, longest: all.text, ..all }
            }
            "file" => {
                self.add(node, FILE_BYTES)?;
                Shape::string(FILE_BYTES)
            }
            "file_base64" => {
                self.add(node, FILE_BYTES * 3)?;
                Shape::string(FILE_BYTES / 3 * 4 + 4)
            }
            "file_map" => {
                // Lines of `key=value`: each at least two bytes.
                self.add(node, FILE_BYTES.saturating_mul(2).saturating_add(FILE_BYTES / 2 * ITEM_COST))?;
                let pairs = FILE_BYTES / 2;
                let text = Shape::string(FILE_BYTES).plus(&Shape::undefined().times(pairs));
                Shape::map(pairs, &text)
            }
            // The context (or its arguments), written out with its
            // structure, indented at each level.
            "debug" => {
                let context = ["params", "env", "module", "item", "key"]
                    .into_iter()
                    .filter_map(|name| (self.measure)(&[Key::Name(name.into())]))
                    .chain(args.iter().map(|(_, a)| *a))
                    .fold(Shape::empty(), |a, b| a.plus(&b));
                let text = context
                    .nested
                    .saturating_add(
                        context.values.saturating_mul(context.depth.saturating_add(1).saturating_mul(4) + 16),
                    )
                    .saturating_add(64 << 10);
                self.add(node, context.write().saturating_add(text))?;
                Shape::string(text)
            }
            _ => Shape::other(NUMBER_TEXT),
        })
    }

    fn filter(
        &mut self,
        node: &Node,
        name: &str,
        applies: Option<&'static str>,
        x: &Shape,
        args: &[(Option<&str>, Shape)],
    ) -> Result<Shape, Refusal> {
        let arg = |i: usize| args.iter().filter(|(k, _)| k.is_none()).nth(i).map(|(_, a)| a);
        let kwarg = |n: &str| args.iter().find(|(k, _)| *k == Some(n)).map(|(_, a)| a);
        let arg_work = sum(args.iter().map(|(_, a)| a.write()));
        self.add(node, arg_work)?;
        let log = |n: u64| u64::from(n.saturating_add(1).ilog2()) + 1;
        let capped = |bytes: u64| bytes.min(MAX_RESULT_BYTES as u64);
        let text = |bytes: u64| (Shape::string(bytes), x.write().saturating_add(bytes));
        let made = |out: &Shape| out.len.saturating_mul(ITEM_COST);
        // An attribute path (`sort(attribute='a.b')`) is followed for each
        // item, at each comparison of a sort.
        let per_item = arg_work.saturating_mul(x.yields()).saturating_mul(log(x.yields()));
        let (out, work) = match name {
            "safe" | "string" => text(x.text),
            // Each character is compared with each of `chars`.
            "trim" => {
                let (out, work) = text(x.text);
                (out, work.saturating_add(x.text.saturating_mul(arg(0).map_or(1, |c| c.text.saturating_add(1)))))
            }
            "escape" | "e" => text(x.text.saturating_mul(6)),
            "urlencode" => text(x.text.saturating_mul(3).saturating_add(x.values.saturating_mul(2))),
            // Case mapping may make three bytes of one (`ß` → `SS`).
            "lower" | "upper" | "title" | "capitalize" => text(x.text.saturating_mul(3)),
            "b64encode" => text(x.text / 3 * 4 + 4),
            "b64decode" => text(x.text),
            "sha256" => text(64),
            "join" => {
                let sep = arg(0).or(kwarg("d")).map_or(0, |s| s.text);
                // `bounded::join` measures the items before it joins them,
                // and refuses past a result.
                let (out, work) = text(capped(x.text.saturating_add(sep.saturating_mul(x.len.saturating_add(x.text)))));
                (out, work.saturating_add(x.write()))
            }
            // Refused past a result by `bounded`.
            "replace" => text(capped(
                x.text.saturating_add(arg(1).map_or(0, |to| to.text).saturating_mul(x.text.saturating_add(1))),
            )),
            "indent" => {
                let width = match arg(0).or(kwarg("width")).map(|w| w.num) {
                    None => 4,
                    Some(Num::Range(_, hi)) => u64::try_from(hi).unwrap_or(0),
                    Some(_) => u64::MAX,
                };
                text(capped(x.text.saturating_add(width.saturating_mul(x.text.saturating_add(2)))))
            }
            // Each conversion (`%s`, `%(key)s`) may write any argument,
            // padded (`bounded::format` refuses widths past 4096).
            "format" => {
                let conversions = x.text / 2 + 1;
                let each = sum(args.iter().map(|(_, a)| a.text)).saturating_add(MAX_PADDING as u64);
                let (out, work) = text(x.text.saturating_add(conversions.saturating_mul(each)));
                (out, work.saturating_add(arg_work))
            }
            // Indented at each level; YAML also indents each line of a
            // string where it nests.
            "tojson" | "toyaml" | "pprint" => {
                let default = match name {
                    "tojson" => 0,
                    "toyaml" => 2,
                    _ => 4,
                };
                let indent = match arg(0).or(kwarg("indent")).map(|i| i.num) {
                    None => default,
                    Some(Num::Range(_, hi)) => u64::try_from(hi).unwrap_or(0).min(MAX_PADDING as u64),
                    Some(_) => MAX_PADDING as u64,
                };
                let margin = indent.saturating_mul(x.depth.saturating_add(1)).saturating_add(8);
                let lines = if name == "toyaml" { x.text } else { 0 };
                text(x.nested.saturating_add(x.values.saturating_add(lines).saturating_mul(margin)))
            }
            "length" | "count" => (Shape::number(Num::Range(0, i128::from(x.yields()))), x.iterate()),
            "int" | "abs" => {
                let num = match x.num {
                    Num::Range(a, b) if name == "abs" => Num::Range(0, a.abs().max(b.abs())),
                    Num::Range(..) if x.kinds == NUM => x.num,
                    _ => Num::Any,
                };
                (Shape::number(num), x.write())
            }
            "float" | "round" => (Shape::number(Num::Any), x.write()),
            "bool" => (Shape::boolean(), x.write()),
            "default" | "d" => (x.either(arg(0).unwrap_or(&Shape::undefined())), 0),
            // The first item comes after a lazy list's empty steps.
            "first" | "attr" => (x.item(), x.idle.saturating_add(1).saturating_mul(ITEM_COST)),
            "last" => (x.item(), x.iterate()),
            "min" | "max" => (x.item(), x.write().saturating_add(per_item)),
            "sum" => {
                // From 0, each item added.
                let count = Num::Range(0, i128::from(x.yields()));
                let numbers = Shape::number(Num::Range(0, 0).join(x.items.corners(count, i128::saturating_mul)));
                (
                    numbers.either(&x.item()).either(arg(0).unwrap_or(&Shape::undefined())),
                    x.write().saturating_add(per_item),
                )
            }
            "list" | "reverse" => {
                let out = x.as_list();
                let out = if name == "reverse" { Shape { kinds: SEQ | LAZY, ..out } } else { out };
                let work = x.iterate().saturating_add(made(&out));
                (out, work)
            }
            "sort" | "unique" | "dictsort" | "items" | "groupby" => {
                // Pairs and groups hold what they sort, twice at most.
                let out = if matches!(name, "sort" | "unique") {
                    x.as_list()
                } else {
                    // Pairs of a key (or grouper, undefined when missing) and
                    // a value (or list).
                    let pairs = x.yields();
                    let pair = Shape::list(2, &Shape::undefined().plus(&Shape::list(0, &Shape::empty())));
                    Shape::list(pairs, &x.as_list().times(2).plus(&pair.times(pairs)))
                };
                let work =
                    x.write().saturating_mul(log(x.yields())).saturating_add(made(&out)).saturating_add(per_item);
                (out, work)
            }
            "select" | "reject" | "selectattr" | "rejectattr" => {
                // Each item is tested with the arguments.
                let out = Shape { kinds: SEQ | LAZY, ..x.as_list() };
                let work = x.write().saturating_add(made(&out)).saturating_add(arg_work.saturating_mul(x.yields()));
                (out, work)
            }
            "map" => match applies {
                // Applying a filter to each item costs no more than applying
                // it to all of them at once, plus its cost for an empty
                // item for each.
                Some(filter) => {
                    let positional = args.iter().filter(|(k, _)| k.is_none()).skip(1);
                    let rest: Vec<_> = args.iter().filter(|(k, _)| k.is_some()).chain(positional).cloned().collect();
                    let before = self.work;
                    let all = self.filter(node, filter, None, &x.item(), &rest)?;
                    let on_all = self.work - before;
                    let each = self.filter(node, filter, None, &Shape::undefined(), &rest)?;
                    let on_each = self.work - before - on_all;
                    self.work = before;
                    let out = Shape::list(x.yields(), &all.plus(&each.times(x.yields())));
                    let out = Shape { kinds: SEQ | LAZY, ..out };
                    (out, on_all.saturating_add(on_each.saturating_mul(x.yields())).saturating_add(x.iterate()))
                }
                // An attribute of each item: two levels down.
                None => {
                    let fallback = kwarg("default").copied().unwrap_or(Shape::undefined()).times(x.yields());
                    let out = Shape::list(x.yields(), &x.item().item().plus(&fallback));
                    let work =
                        x.iterate().saturating_add(made(&out)).saturating_add(arg_work.saturating_mul(x.yields()));
                    (out, work)
                }
            },
            // Lazy: the inputs one after the other, or side by side.
            // (`bounded::chain` refuses an input that is not iterable.)
            "chain" | "zip" => {
                let inputs = 1 + args.len() as u64;
                let out = args.iter().fold(*x, |a, (_, b)| a.plus(b)).as_list();
                let out = if name == "zip" { out.plus(&Shape::list(0, &Shape::empty()).times(out.len)) } else { out };
                // Chained maps are looked up in each input for each key.
                let work = out.len.saturating_mul(inputs).saturating_mul(ITEM_COST);
                (Shape { kinds: out.kinds | LAZY, ..out }, work)
            }
            "split" | "lines" => {
                let pieces = x.text.saturating_add(1);
                let out = Shape::list(pieces, &Shape::string(x.text).plus(&Shape::string(0).times(pieces)));
                (out, x.write().saturating_add(pieces.saturating_mul(ITEM_COST)))
            }
            "batch" | "slice" => {
                // `bounded::batch` refuses a count past what a result holds.
                // `batch` makes lists of `count` items (the last filled up
                // to it), `slice` makes `count` lists (each filled by one).
                let count = arg(0).map_or(Ok(0), |n| self.count(node, n))?.min(MAX_RESULT_NODES as u64 + x.yields());
                let lists = if name == "batch" { x.yields().saturating_add(1) } else { count };
                let fill = arg(1).or(kwarg("fill_with")).copied().unwrap_or(Shape::undefined()).times(count);
                let empty_lists = Shape::list(0, &Shape::empty()).times(lists);
                let out = Shape::list(lists, &x.as_list().plus(&fill).plus(&empty_lists));
                let work = x.iterate().saturating_add(out.values.saturating_mul(ITEM_COST));
                (out, work)
            }
            _ => (Shape::other(NUMBER_TEXT), x.write()),
        };
        self.add(node, work)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::expr::{Engine, Scope};
    use std::path::Path;
    use std::sync::Arc;

    /// A small deterministic generator (xorshift), so a failure repeats.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.below(xs.len())]
        }
    }

    const LEAVES: &[&str] = &[
        "0",
        "3",
        "-4",
        "17",
        "'ab'",
        "'x'",
        "'héllo ß'",
        "'a,b\\nc'",
        "params.num",
        "params.s",
        "params.list",
        "params.map",
        "params.empty",
        "params.nested",
        "true",
        "none",
        "2.5",
    ];
    const OPERATORS: &[&str] = &["+", "-", "*", "//", "%", "~", "and", "or", "==", "<", "in", "**"];
    const FILTERS_USED: &[&str] = &[
        "length",
        "list",
        "reverse",
        "sort",
        "unique",
        "string",
        "upper",
        "lower",
        "trim",
        "first",
        "last",
        "min",
        "max",
        "sum",
        "join(',')",
        "join",
        "default(1)",
        "int",
        "abs",
        "tojson",
        "tojson(indent=2)",
        "toyaml",
        "b64encode",
        "sha256",
        "items",
        "dictsort",
        "replace('a', 'bbb')",
        "indent(2)",
        "split(',')",
        "lines",
        "batch(2)",
        "slice(2)",
        "map('string')",
        "map('upper')",
        "select('odd')",
        "reject('none')",
        "escape",
        "urlencode",
        "title",
        "capitalize",
        "count",
        "bool",
        "float",
        "round",
        "pprint",
        "format(1, 'ab')",
        "attr('a')",
        "groupby('a')",
        "chain([1, 'a'])",
        "chain(params.list, params.map)",
        "zip(params.list)",
        "zip([1], 'ab')",
    ];

    fn expression(rng: &mut Rng, depth: usize) -> String {
        if depth == 0 {
            return rng.pick(LEAVES).to_string();
        }
        let e = |rng: &mut Rng| expression(rng, depth - 1);
        match rng.below(10) {
            0 => e(rng),
            1 | 2 => {
                let (a, op, b) = (e(rng), rng.pick(OPERATORS), e(rng));
                format!("({a} {op} {b})")
            }
            3 => {
                let a = e(rng);
                format!("({a})|{}", rng.pick(FILTERS_USED))
            }
            4 => format!("[{}, {}]", e(rng), e(rng)),
            5 => format!("{{'k': {}, 'j': {}}}", e(rng), e(rng)),
            6 => format!("({} if {} else {})", e(rng), e(rng), e(rng)),
            7 => {
                let a = e(rng);
                format!("({a})[{}]", rng.pick(&["0", "1", "-1", "'a'", "1:3", "::2"]))
            }
            8 => format!("range({})", e(rng)),
            _ => {
                let op = rng.pick(&["not ", "-"]);
                format!("({op}({}))", e(rng))
            }
        }
    }

    /// The number of values in a minijinja value, itself included.
    fn values(v: &MjValue) -> u64 {
        match v.kind() {
            ValueKind::Seq | ValueKind::Iterable => 1 + v.try_iter().unwrap().map(|x| values(&x)).sum::<u64>(),
            ValueKind::Map => {
                1 + v.try_iter().unwrap().map(|k| values(&k) + values(&v.get_item(&k).unwrap())).sum::<u64>()
            }
            _ => 1,
        }
    }

    /// For random expressions over random-ish params: whatever minijinja
    /// makes is within the shape the plan bounds it by, in values, text
    /// (alone and inside a list), length, and the range of an integer.
    #[test]
    fn shapes_bound_what_minijinja_makes() {
        let engine = Engine::new();
        let env = engine.environment();
        let params = infra_syntax::yaml::parse_value(
            "num: 3\ns: 'a,b'\nlist: [1, 2, 3]\nmap: {a: 1, b: two}\nempty: []\nnested: [{a: x}, {a: y}, {a: [1, 2]}]\n",
        )
        .unwrap();
        let root: Arc<Path> = Arc::from(Path::new("/nonexistent"));
        let scope = Scope::new(Arc::new(params.clone()), "lab", "main", root.clone(), root);
        let mut measure = |keys: &[Key]| {
            let (v, left) = follow(&params, &keys[1..]);
            (keys[0] == Key::Name("params".into())).then(|| Shape::of(v).past(left.len()))
        };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut checked = 0;
        for _ in 0..20_000 {
            let depth = 1 + rng.below(5);
            let source = expression(&mut rng, depth);
            let plan = Plan::new(&source).unwrap_or_else(|e| panic!("{source}: {e:?}"));
            let Ok(bound) = plan.shape(&mut measure) else { continue };
            let Ok(v) = env.compile_expression(&source).and_then(|e| e.eval(scope.context())) else { continue };
            if v.is_undefined() {
                continue;
            }
            let text = v.to_string().len() as u64;
            let nested = MjValue::from(vec![v.clone()]).to_string().len() as u64 - 2;
            assert!(text <= bound.text, "{source}: text {text} > {bound:?}");
            assert!(nested <= bound.nested, "{source}: nested {nested} > {bound:?}");
            assert!(values(&v) <= bound.values, "{source}: {} values > {bound:?}", values(&v));
            if matches!(v.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::Iterable) {
                let len = v.try_iter().unwrap().count() as u64;
                assert!(len <= bound.len, "{source}: length {len} > {bound:?}");
            }
            if let (Some(i), true) = (v.as_i64(), v.is_integer()) {
                let within = match bound.num {
                    Num::Range(lo, hi) => (lo..=hi).contains(&i128::from(i)),
                    Num::Any => true,
                    Num::No => false,
                };
                assert!(within, "{source}: {i} outside {bound:?}");
            }
            checked += 1;
        }
        // Most expressions fail on types (`'ab' - 3`); enough must run
        // for the test to mean something.
        assert!(checked > 3_000, "only {checked} expressions ran");
    }
}

#[cfg(test)]
mod names {
    use super::*;
    use crate::eval::expr::Engine;

    /// Every name of the allow-lists is one minijinja (with infra's own)
    /// knows, so the lists say what expressions can really use.
    #[test]
    fn allowed_names_exist() {
        let engine = Engine::new();
        let env = engine.environment();
        for f in FILTERS {
            env.compile_expression(&format!("1|{f}")).unwrap_or_else(|e| panic!("filter {f}: {e}"));
        }
        for t in TESTS {
            // Tests named by symbols are used through `select`.
            let run = env.compile_expression(&format!("[1]|select('{t}')|list")).unwrap().eval(());
            assert!(
                run.as_ref().map_or_else(|e| e.kind() != minijinja::ErrorKind::UnknownTest, |_| true),
                "test {t}: {run:?}"
            );
        }
        for f in FUNCTIONS {
            let e = env.compile_expression(f).unwrap().eval(()).unwrap();
            assert!(!e.is_undefined(), "function {f}");
        }
        assert!(APPLYING.iter().all(|m| FILTERS.contains(m)));
    }

    /// What is outside the lists is refused where it is written.
    #[test]
    fn other_constructs_are_refused_where_they_are() {
        for (source, at) in [
            ("namespace()", "namespace()"),
            ("params|nosuch", "nosuch"),
            ("params is nosuch", "nosuch"),
            ("params.x.items()", ".items()"),
            ("params|map(params.f)", "params.f"),
            ("params|select('nosuch')", "select('nosuch')"),
            ("params|map('map', 'upper')", "map('map', 'upper')"),
            ("range(*params)", "range(*params)"),
        ] {
            match Plan::new(source) {
                Err(Refusal::NotAllowed { at: range, .. }) => assert_eq!(&source[range], at, "{source}"),
                other => panic!("{source}: {other:?}"),
            }
        }
    }
}
