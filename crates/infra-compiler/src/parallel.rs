//! Data parallelism for the per-object stages (hashing, YAML emission):
//! chunks of a slice on scoped threads, results in input order, so output
//! is identical whatever the thread count.

use std::thread;

/// Threads to use: the machine's parallelism, or `INFRA_THREADS`.
fn threads(len: usize) -> usize {
    let wanted = std::env::var("INFRA_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, usize::from));
    // Small inputs are not worth a thread.
    wanted.clamp(1, 16).min(len / 64 + 1)
}

/// `items.iter().map(f).collect()`, in parallel.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = threads(items.len());
    if n <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(n);
    thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker thread panicked")).collect()
    })
}

/// `items.iter_mut().map(f).collect()`, in parallel.
pub fn map_mut<T: Send, R: Send>(items: &mut [T], f: impl Fn(&mut T) -> R + Sync) -> Vec<R> {
    let n = threads(items.len());
    if n <= 1 {
        return items.iter_mut().map(f).collect();
    }
    let chunk = items.len().div_ceil(n);
    thread::scope(|s| {
        let handles: Vec<_> =
            items.chunks_mut(chunk).map(|c| s.spawn(|| c.iter_mut().map(&f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker thread panicked")).collect()
    })
}

/// Runs `f` on consecutive chunks of `items` in parallel; results in order.
/// For work that needs per-thread state (a cache, a diagnostics collector).
pub fn map_chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let n = threads(items.len());
    if n <= 1 {
        return vec![f(items)];
    }
    let chunk = items.len().div_ceil(n);
    thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(|| f(c))).collect();
        handles.into_iter().map(|h| h.join().expect("worker thread panicked")).collect()
    })
}
