//! Dead-code elimination: a benchmark whose result is never used can take no time at all.
//!
//! ```text
//! cargo run --release --example dead_code    # optimised: the unused calls disappear
//! cargo run --example dead_code              # debug build: nothing is removed, all slow
//! ```
//!
//! The same function is timed twice: once with its result thrown away, once with the input
//! and the result passed through `std::hint::black_box`, which the optimiser must treat as
//! an unknown use of the value. In a release build the first loop is deleted by the
//! compiler, so its "time per call" is the cost of reading the clock.

use std::hint::black_box;
use std::time::Instant;

// ANCHOR: dead_code
/// pi by the midpoint rule with `n` slices: no side effects, so an unused call can go.
fn pi(n: u64) -> f64 {
    let h = 1.0 / n as f64;
    let mut sum = 0.0;
    for i in 0..n {
        let x = (i as f64 + 0.5) * h;
        sum += 4.0 / (1.0 + x * x);
    }
    h * sum
}

fn main() {
    let n = 10_000_000;
    let calls = 20;

    let start = Instant::now();
    for _ in 0..calls {
        pi(n); // the result is never used: the optimiser may delete the call
    }
    println!("result unused:  {:?} per call", start.elapsed() / calls);

    let start = Instant::now();
    for _ in 0..calls {
        black_box(pi(black_box(n))); // an opaque input and an opaque use of the result
    }
    println!("with black_box: {:?} per call", start.elapsed() / calls);
}
// ANCHOR_END: dead_code
