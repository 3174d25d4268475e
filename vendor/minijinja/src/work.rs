//! A budget for the work done inside operations (added for infra; see
//! `vendor/README.md` in infra).
//!
//! Fuel counts instructions, but one instruction can do unbounded work:
//! `([] * 2000000000) ~ ""` iterates two billion times, and a list of one
//! large string repeated a thousand times prints as gigabytes of text.
//! While [`metered`] runs, every item an iterator yields, every iterator
//! made, the length a lazy sequence claims, every byte of text made or
//! written by `Display`/`Debug`, and every long text scanned is charged
//! both to a limit of the call and to a [`Budget`] shared by all threads
//! of a caller (one bounds what a call may hold, the other the total
//! time). When either is spent, the charge unwinds to [`metered`], which
//! returns [`Spent`]: operations cannot return errors from inside an
//! iterator or a formatter, and unwinding also frees what the call built.

use std::cell::RefCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// What one item costs, in the budget's unit (one byte of text).
pub const ITEM_COST: u64 = 32;

/// Work that may still be done, in bytes of text (an item costs
/// [`ITEM_COST`]). Shared by every thread that meters against it.
#[derive(Debug)]
pub struct Budget {
    remaining: AtomicI64,
}

impl Budget {
    /// A budget of `units`.
    pub fn new(units: u64) -> Arc<Budget> {
        Arc::new(Budget {
            remaining: AtomicI64::new(i64::try_from(units).unwrap_or(i64::MAX)),
        })
    }

    /// Whether the budget is spent.
    pub fn is_spent(&self) -> bool {
        self.remaining.load(Ordering::Relaxed) < 0
    }

    /// What is left (zero once spent).
    pub fn remaining(&self) -> u64 {
        self.remaining.load(Ordering::Relaxed).max(0) as u64
    }
}

/// Which limit was reached while [`metered`] ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// The limit of this call.
    Call,
    /// The shared budget.
    Budget,
}

/// The meter of a [`metered`] call, installed on its thread.
struct Meter {
    budget: Arc<Budget>,
    /// What this call may still do.
    left: i64,
}

thread_local! {
    static CURRENT: RefCell<Option<Meter>> = const { RefCell::new(None) };
}

/// Runs `f`, charging the work of minijinja's operations on this thread to
/// at most `limit` units for this call and to `budget`. Returns [`Spent`]
/// if either is or becomes spent; any other panic continues to unwind.
pub fn metered<R>(budget: &Arc<Budget>, limit: u64, f: impl FnOnce() -> R) -> Result<R, Spent> {
    if budget.is_spent() {
        return Err(Spent::Budget);
    }
    let meter = Meter {
        budget: budget.clone(),
        left: i64::try_from(limit).unwrap_or(i64::MAX),
    };
    let outer = CURRENT.with(|c| c.replace(Some(meter)));
    let rv = catch_unwind(AssertUnwindSafe(f));
    CURRENT.with(|c| *c.borrow_mut() = outer);
    match rv {
        Ok(rv) => Ok(rv),
        Err(payload) => match payload.downcast::<Spent>() {
            Ok(spent) => Err(*spent),
            Err(payload) => resume_unwind(payload),
        },
    }
}

/// Charges `units` to this thread's [`metered`] call, if any. Unwinds
/// (without running the panic hook) when its limit or budget is spent.
pub(crate) fn charge(units: u64) {
    let spent = CURRENT.with(|c| match &mut *c.borrow_mut() {
        Some(meter) => {
            // Capped so that charges after a limit is reached cannot wrap.
            let units = units.min(1 << 40) as i64;
            meter.left -= units;
            // Past its own limit, a call is at fault and the shared budget
            // is left to the others.
            if meter.left < 0 {
                Some(Spent::Call)
            } else if meter.budget.remaining.fetch_sub(units, Ordering::Relaxed) < units {
                Some(Spent::Budget)
            } else {
                None
            }
        }
        None => None,
    });
    if let Some(spent) = spent {
        resume_unwind(Box::new(spent));
    }
}

/// Text a scan reads without charge: comparing or searching short
/// strings is paid for by the items and instructions around it.
const FREE_SCAN: usize = 64;

/// Charges a scan (comparison, search, count) of `len` bytes of text.
pub(crate) fn charge_scan(len: usize) {
    if len > FREE_SCAN {
        charge(len as u64);
    }
}

/// Charges `n` items.
pub(crate) fn charge_items(n: u64) {
    charge(n.saturating_mul(ITEM_COST));
}

/// Charges a sequence returned by a filter or a function as many items as
/// it claims to hold: a lazy one, such as `chain`'s, may claim more than
/// exists, and consumers allocate by that length. (Text is charged when
/// it is made.)
pub(crate) fn charge_result(value: &crate::Value) {
    use crate::value::ObjectRepr;
    if let Some(obj) = value.as_object() {
        if matches!(obj.repr(), ObjectRepr::Seq | ObjectRepr::Iterable) {
            charge_items(obj.enumerator_len().unwrap_or(0) as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Environment, Value};

    /// Compiling is metered too: constant operands are folded then.
    fn eval(budget: &Arc<Budget>, source: &str) -> Result<String, Spent> {
        let env = Environment::new();
        metered(budget, u64::MAX, || {
            let expr = env.compile_expression(source).unwrap();
            expr.eval(crate::context! { a => "a" }).unwrap().to_string()
        })
    }

    #[test]
    fn small_work_is_done() {
        let budget = Budget::new(1 << 20);
        let text = eval(&budget, "([a] * 3) ~ 'b' * 30").unwrap();
        assert_eq!(text, format!(r#"["a", "a", "a"]{}"#, "b".repeat(30)));
        // At least: three items and their iterator, the repeated text, the
        // concatenation; and not much more.
        let spent = (1 << 20) - budget.remaining();
        assert!(spent >= 4 * ITEM_COST + 30 + 45, "{spent}");
        assert!(spent < 1000, "{spent}");
    }

    #[test]
    fn constant_folding_is_work() {
        let budget = Budget::new(1 << 20);
        assert_eq!(eval(&budget, "([] * 2000000000) ~ ''"), Err(Spent::Budget));
    }

    #[test]
    fn iterating_empty_repetitions_is_work() {
        let budget = Budget::new(1 << 20);
        assert_eq!(eval(&budget, "([] * a|length * 2000000000) ~ ''"), Err(Spent::Budget));
        assert!(budget.is_spent());
        // A spent budget stays spent.
        assert_eq!(eval(&budget, "1 + 1"), Err(Spent::Budget));
    }

    #[test]
    fn printing_shared_text_is_work() {
        let budget = Budget::new(64 << 20);
        assert_eq!(eval(&budget, "([a * 4000000] * 1000)|string|length"), Err(Spent::Budget));
    }

    #[test]
    fn repetition_is_charged_before_it_allocates() {
        let budget = Budget::new(1000);
        assert_eq!(eval(&budget, "a * 90000000"), Err(Spent::Budget));
    }

    #[test]
    fn scanning_long_text_is_work() {
        let budget = Budget::new(250_000);
        assert_eq!(eval(&budget, "(a * 100000) == (a * 100000)"), Err(Spent::Budget));
        // Short text is free to compare.
        let budget = Budget::new(1000);
        assert_eq!(eval(&budget, "a == 'b' or a == 'c'").unwrap(), "False");
    }

    #[test]
    fn lazy_results_are_charged_by_their_length() {
        let budget = Budget::new(1 << 20);
        let args = vec!["range(100000)"; 20].join(", ");
        assert_eq!(eval(&budget, &format!("[]|chain({args})|length")), Err(Spent::Budget));
    }

    /// Work spent by `source` on a large budget.
    fn spent(source: &str) -> u64 {
        let budget = Budget::new(1 << 30);
        eval(&budget, source).unwrap();
        (1 << 30) - budget.remaining()
    }

    #[test]
    fn hashing_and_slicing_long_text_is_work() {
        let made = 2 * 600_000;
        assert!(spent("[a * 600000, a * 600000]|unique|length") >= made + 2 * 600_000);
        assert!(spent("[(a * 600000)[1:], (a * 600000)[1:]]|length") >= made + 2 * 600_000);
    }

    #[test]
    fn text_made_inside_filters_is_work() {
        // The pieces `split` makes, whatever holds them.
        assert!(spent("(a * 600000)|split('')|list|length") >= 2 * 600_000);
    }

    #[test]
    fn a_call_has_its_own_limit() {
        let env = Environment::new();
        let budget = Budget::new(1 << 20);
        let run = |limit| {
            metered(&budget, limit, || {
                let expr = env.compile_expression("(a * 1000)|length").unwrap();
                expr.eval(crate::context! { a => "a" }).unwrap().to_string()
            })
        };
        assert_eq!(run(100), Err(Spent::Call));
        assert_eq!(run(1 << 20).unwrap(), "1000");
        // The shared budget was charged by both calls.
        assert!(budget.remaining() < (1 << 20) - 1000 - 100);
    }

    #[test]
    fn outside_metered_nothing_is_charged() {
        let v = Value::from(vec![Value::from("a"); 3]);
        assert_eq!(v.to_string(), r#"["a", "a", "a"]"#);
    }

    #[test]
    fn other_panics_pass_through() {
        let budget = Budget::new(10);
        let caught = catch_unwind(|| metered(&budget, 10, || panic!("not ours")));
        assert!(caught.is_err());
        assert!(!budget.is_spent());
    }
}
