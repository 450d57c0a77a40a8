//! The example kernels that perfguide measures, profiles and shows.
//!
//! Each kernel solves exactly one problem of `shared/KERNELS.md` and comes as a *ladder* of
//! variants, one lesson per rung. The registry ([`kernels`]) is the only thing the generator
//! depends on: it runs a variant, checks its [`Outcome`] with the kernel's one checking
//! function, and only then uses its time.

pub mod registry;
pub mod rng;

pub use registry::{Check, CheckError, Kernel, Outcome, Problem, Variant, kernels};
