//! A cache of reference results for problem sizes that KERNELS.md does not list.
//!
//! The checking functions compare every variant with KERNELS.md's literal values at the
//! default size. For any other size (the small test sizes, size sweeps) the reference is
//! computed once by the kernel's simplest scalar variant and kept here.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::Problem;

/// Reference values of type `T`, one per problem, computed on first use.
pub(crate) struct ReferenceCache<T> {
    values: OnceLock<Mutex<HashMap<Problem, T>>>,
}

impl<T: Clone> ReferenceCache<T> {
    pub(crate) const fn new() -> Self {
        ReferenceCache {
            values: OnceLock::new(),
        }
    }

    /// The cached reference for `problem`, computing it with `compute` the first time.
    pub(crate) fn get(&self, problem: &Problem, compute: impl FnOnce() -> T) -> T {
        let mut values = self
            .values
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        values.entry(*problem).or_insert_with(compute).clone()
    }
}

/// A failed check of `variant`: what was expected and what was got.
pub(crate) fn mismatch(
    variant: &str,
    expected: impl std::fmt::Display,
    got: impl std::fmt::Display,
) -> crate::CheckError {
    crate::CheckError {
        variant: variant.to_string(),
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

/// The check of `variant` failed because it returned the wrong kind of [`crate::Outcome`].
pub(crate) fn wrong_outcome(
    variant: &str,
    expected: &str,
    got: &crate::Outcome,
) -> crate::CheckError {
    mismatch(variant, expected, format!("{got:?}"))
}
