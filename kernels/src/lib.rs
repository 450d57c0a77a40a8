//! The example kernels that perfguide measures, profiles and shows.
//!
//! Each kernel solves exactly one problem of `shared/KERNELS.md` and comes as a *ladder* of
//! variants, one lesson per rung. The registry ([`kernels`]) is the only thing the generator
//! depends on: it runs a variant, checks its [`Outcome`] with the kernel's one checking
//! function, and only then uses its time.
//!
//! Each kernel lives in its own module, one plain `pub fn` per variant, between
//! `// ANCHOR: name` / `// ANCHOR_END: name` comments so that chapters include exactly the
//! measured code. Shared machinery: [`rng`] (the counter-based generator), [`pool`] (cached
//! rayon pools, per-thread work counters) and [`simd`] (runtime dispatch).

pub mod fma_peak;
pub mod julia;
pub mod kmeans;
pub mod mandelbrot;
pub mod pi_integration;
pub mod pi_monte_carlo;
pub mod pool;
pub mod random_walk;
mod reference;
pub mod registry;
pub mod rng;
pub mod simd;
pub mod stream_triad;

pub use registry::{Check, CheckError, Kernel, Outcome, Problem, Variant, find, kernels};
