//! Runtime SIMD dispatch, shared by every kernel that has hand-written vector code.
//!
//! The kernels crate is compiled for the baseline x86-64 target (SSE2 only), so the same
//! binary runs on any x86-64 machine. Vector code lives in functions marked
//! `#[target_feature(enable = "...")]`; before calling one, a variant asks [`best`] (or
//! [`avx512`], [`avx2`]) which path this CPU supports, and falls back to plain scalar code
//! on CPUs (or architectures) without the feature. [`force_scalar`] makes every dispatch
//! choose the fallback, so tests can exercise it on a machine that has the features.

use std::sync::atomic::{AtomicBool, Ordering};

/// A SIMD code path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Plain Rust, no explicit vector code: runs everywhere.
    Scalar,
    /// 256-bit vectors of 4 f64 with fused multiply-add (x86-64 `avx2` + `fma`).
    Avx2,
    /// 512-bit vectors of 8 f64 with mask registers (x86-64 `avx512f` + `avx512dq`).
    Avx512,
}

impl Level {
    /// The name reported by [`crate::Variant::simd_path`]: "scalar", "avx2" or "avx512".
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// What the CPU offers, as detected at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    pub avx2_fma: bool,
    pub avx512: bool,
}

static FORCE_SCALAR: AtomicBool = AtomicBool::new(false);

/// Makes every dispatch choose the scalar fallback (`true`) or the best supported path again
/// (`false`). Meant for tests: it proves the fallback works on a CPU that has the features.
pub fn force_scalar(on: bool) {
    FORCE_SCALAR.store(on, Ordering::SeqCst);
}

/// Whether [`force_scalar`] is in effect.
pub fn scalar_forced() -> bool {
    FORCE_SCALAR.load(Ordering::SeqCst)
}

/// Detects the CPU's features (cached by the standard library after the first call).
pub fn detect() -> Features {
    #[cfg(target_arch = "x86_64")]
    {
        Features {
            avx2_fma: is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            avx512: is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq"),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Features::default()
    }
}

/// The dispatch rule as a pure function: the widest path among `wanted` that `features`
/// supports, or [`Level::Scalar`] when the fallback is forced or nothing fits.
pub fn dispatch(wanted: &[Level], features: Features, forced: bool) -> Level {
    if forced {
        return Level::Scalar;
    }
    let supported = |level: &Level| match level {
        Level::Avx512 => features.avx512,
        Level::Avx2 => features.avx2_fma,
        Level::Scalar => true,
    };
    wanted
        .iter()
        .copied()
        .filter(supported)
        .max()
        .unwrap_or(Level::Scalar)
}

/// The widest path this CPU supports (AVX-512, else AVX2, else scalar).
pub fn best() -> Level {
    dispatch(&[Level::Avx512, Level::Avx2], detect(), scalar_forced())
}

/// AVX-512 if this CPU has it, else scalar (for variants that teach one instruction set).
pub fn avx512() -> Level {
    dispatch(&[Level::Avx512], detect(), scalar_forced())
}

/// AVX2 + FMA if this CPU has them, else scalar.
pub fn avx2() -> Level {
    dispatch(&[Level::Avx2], detect(), scalar_forced())
}

/// [`Level::name`] of [`best`], for [`crate::Variant::simd_path`].
pub fn best_path() -> Option<&'static str> {
    Some(best().name())
}

/// [`Level::name`] of [`avx512`], for [`crate::Variant::simd_path`].
pub fn avx512_path() -> Option<&'static str> {
    Some(avx512().name())
}

/// [`Level::name`] of [`avx2`], for [`crate::Variant::simd_path`].
pub fn avx2_path() -> Option<&'static str> {
    Some(avx2().name())
}

/// For variants that do not dispatch.
pub fn no_path() -> Option<&'static str> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_picks_the_widest_supported_path() {
        let all = Features {
            avx2_fma: true,
            avx512: true,
        };
        let only_avx2 = Features {
            avx2_fma: true,
            avx512: false,
        };
        let none = Features::default();
        let both = [Level::Avx512, Level::Avx2];
        assert_eq!(dispatch(&both, all, false), Level::Avx512);
        assert_eq!(dispatch(&both, only_avx2, false), Level::Avx2);
        assert_eq!(dispatch(&both, none, false), Level::Scalar);
        assert_eq!(dispatch(&[Level::Avx512], only_avx2, false), Level::Scalar);
        assert_eq!(dispatch(&both, all, true), Level::Scalar);
    }
}
