//! Data parallelism for the per-object stages (evaluation, linking,
//! hashing, YAML emission), on one pool of threads that lives as long as
//! the process: results come back in input order, so output is identical
//! whatever the thread count. A pool rather than threads per stage: every
//! new thread would start its own allocator heap.

use rayon::prelude::*;
use std::sync::Once;

/// Below this many items a stage runs on the calling thread.
const MIN_PARALLEL: usize = 64;

/// Sizes the pool once: the machine's parallelism, or `INFRA_THREADS`.
fn pool() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let wanted = infra_syntax::settings::THREADS.read().ok().flatten().map(|n| n as usize);
        let threads = wanted.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        // A pool that cannot start leaves rayon's default one.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads.clamp(1, 16)).use_current_thread().build_global();
    });
}

/// How many chunks to cut `len` items into: one per thread, none tiny.
fn chunks(len: usize) -> usize {
    pool();
    rayon::current_num_threads().min(len / MIN_PARALLEL + 1)
}

/// `items.iter().map(f).collect()`, in parallel.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    if chunks(items.len()) <= 1 {
        return items.iter().map(f).collect();
    }
    items.par_iter().with_min_len(MIN_PARALLEL).map(f).collect()
}

/// `items.iter_mut().map(f).collect()`, in parallel.
pub fn map_mut<T: Send, R: Send>(items: &mut [T], f: impl Fn(&mut T) -> R + Sync + Send) -> Vec<R> {
    if chunks(items.len()) <= 1 {
        return items.iter_mut().map(f).collect();
    }
    items.par_iter_mut().with_min_len(MIN_PARALLEL).map(f).collect()
}

/// Runs `f` on consecutive chunks of `items` in parallel; results in order.
/// For work that needs per-thread state (a cache, a diagnostics collector,
/// an output buffer).
pub fn map_chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync + Send) -> Vec<R> {
    let n = chunks(items.len());
    if n <= 1 {
        return vec![f(items)];
    }
    items.par_chunks(items.len().div_ceil(n)).map(f).collect()
}

/// [`map_chunks`] over mutable items.
pub fn map_chunks_mut<T: Send, R: Send>(items: &mut [T], f: impl Fn(&mut [T]) -> R + Sync + Send) -> Vec<R> {
    let n = chunks(items.len());
    if n <= 1 {
        return vec![f(items)];
    }
    let size = items.len().div_ceil(n);
    items.par_chunks_mut(size).map(f).collect()
}
