//! Thread pools and per-thread work counters shared by the threaded variants.
//!
//! Every threaded variant runs in a rayon pool of exactly the requested size, so scaling can
//! be swept from one thread to all cores. Building a pool spawns threads (tens of
//! microseconds), and the measurement engine calls a variant thousands of times, so pools are
//! built once per size and kept.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

/// The rayon pool with exactly `threads` threads (at least one), built on first use.
pub fn pool(threads: usize) -> Arc<ThreadPool> {
    static POOLS: OnceLock<Mutex<BTreeMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let threads = threads.max(1);
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    pools
        .entry(threads)
        .or_insert_with(|| {
            let pool = ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(move |i| format!("kernels-{threads}t-{i}"))
                .build()
                .expect("building a rayon thread pool");
            Arc::new(pool)
        })
        .clone()
}

/// Runs `f` inside the pool of `threads` threads: rayon's parallel iterators in `f` use it.
pub fn install<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    pool(threads).install(f)
}

/// One counter per worker thread, each on its own cache line so that workers never contend.
#[repr(align(64))]
#[derive(Default)]
struct PaddedCounter(AtomicU64);

/// Work done by each thread of a pool: noise-free evidence of load (im)balance.
///
/// A variant adds a row's work once per row (not per pixel), so counting costs nothing
/// measurable.
pub struct WorkCounter {
    counters: Vec<PaddedCounter>,
}

impl WorkCounter {
    /// Counters for a pool of `threads` threads, all zero.
    pub fn new(threads: usize) -> Self {
        WorkCounter {
            counters: (0..threads.max(1))
                .map(|_| PaddedCounter::default())
                .collect(),
        }
    }

    /// Adds `work` to the calling rayon worker's counter (counter 0 outside a pool).
    pub fn add(&self, work: u64) {
        let index = rayon::current_thread_index().unwrap_or(0);
        self.add_to(index, work);
    }

    /// Adds `work` to thread `index`'s counter.
    pub fn add_to(&self, index: usize, work: u64) {
        let slot = index.min(self.counters.len() - 1);
        self.counters[slot].0.fetch_add(work, Ordering::Relaxed);
    }

    /// The totals, one per thread.
    pub fn totals(self) -> Vec<u64> {
        self.counters
            .into_iter()
            .map(|c| c.0.into_inner())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_have_the_requested_size_and_are_reused() {
        assert_eq!(pool(3).current_num_threads(), 3);
        assert!(Arc::ptr_eq(&pool(3), &pool(3)));
        assert_eq!(pool(0).current_num_threads(), 1);
    }

    #[test]
    fn work_is_counted_per_thread() {
        let work = WorkCounter::new(2);
        pool(2).broadcast(|ctx| work.add(10 + ctx.index() as u64));
        assert_eq!(work.totals(), vec![10, 11]);
    }
}
