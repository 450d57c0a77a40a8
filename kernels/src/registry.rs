//! The contract between the kernels and the generator.
//!
//! The generator knows nothing of Mandelbrot or k-means: it asks [`kernels`] for the list,
//! calls [`Variant::run`] with a [`Problem`] and a thread count, and passes the [`Outcome`]
//! to [`Kernel::check`]. A variant whose check fails is never timed.

use std::fmt;

/// The size of one problem instance. `n` is the kernel's main size parameter (slices, points,
/// grid width, walkers, ...); `m` the secondary one where a kernel has it (grid height, steps,
/// iterations); `seed` the RNG seed. [`Kernel::default_problem`] gives the KERNELS.md defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Problem {
    pub n: u64,
    pub m: u64,
    pub seed: u64,
}

/// What a variant computed: enough to check it against KERNELS.md and to report work done.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// An estimate of pi (pi-integration).
    Pi { value: f64 },
    /// Hits inside the quarter circle out of `n` points (pi-monte-carlo).
    Hits { hits: u64, n: u64 },
    /// Escape counts of a fractal, row-major (`counts[i * width + j]`), and, for threaded
    /// variants, the escape-loop iterations each thread executed (noise-free evidence of load
    /// imbalance; empty for single-threaded variants). The check derives the sum, the pixels
    /// that reached `max_iter` and the pixels that differ from the reference image.
    Fractal {
        counts: Vec<u32>,
        per_thread_work: Vec<u64>,
    },
    /// Sum of squared end-point distances over all walkers (random-walk).
    Walk { sum_sq: u64, walkers: u64 },
    /// k-means: inertia after the final assignment and the size of each cluster.
    Clusters { inertia: f64, sizes: Vec<u64> },
    /// A roofline probe: bytes moved or flops executed, plus a checksum that must be finite
    /// and equal to the value the probe predicts.
    Probe {
        work: f64,
        checksum: f64,
        expected: f64,
    },
}

/// The verdict of a successful check, shown in the page's "check" column.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Short human text, e.g. "sum = 47554280 (exact)" or "|pi_N - pi| = 6.2e-14".
    pub summary: String,
    /// Absolute error against the reference where it is a number (pi kernels), for the
    /// accuracy lesson.
    pub error: Option<f64>,
}

/// A failed check: the variant, what was expected and what was got.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckError {
    pub variant: String,
    pub expected: String,
    pub got: String,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} computed a wrong result: expected {}, got {}",
            self.variant, self.expected, self.got
        )
    }
}

impl std::error::Error for CheckError {}

/// One rung of a kernel's ladder.
pub struct Variant {
    /// The variant's name within its kernel, e.g. `simd-avx512`; the full id is
    /// `kernel/variant`.
    pub name: &'static str,
    /// One sentence: the lesson this rung teaches.
    pub lesson: &'static str,
    /// Whether the variant uses a thread pool (and so has a scaling curve).
    pub threaded: bool,
    /// Runs the variant on `problem` with `threads` threads (ignored when not threaded).
    pub run: fn(&Problem, usize) -> Outcome,
    /// The SIMD path this variant would take on this CPU, e.g. "avx512", "avx2", "scalar";
    /// `None` for variants that do not dispatch.
    pub simd_path: fn() -> Option<&'static str>,
    /// The anchor in the kernel's source file that holds this variant's code.
    pub anchor: &'static str,
}

/// One kernel: a problem, its checking function and its ladder.
pub struct Kernel {
    /// The id used in directives, e.g. `mandelbrot`.
    pub name: &'static str,
    /// One-line description of the problem.
    pub title: &'static str,
    /// Path of the source file, relative to the kernels crate (for provenance and staleness).
    pub source_file: &'static str,
    /// The source text itself (via `include_str!`), hashed into the store key.
    pub source: &'static str,
    /// The source texts of the other kernel modules its variants call (Julia renders with
    /// Mandelbrot's vector loops), hashed into its key too: an edit there changes its speed.
    pub uses: &'static [&'static str],
    /// The KERNELS.md problem.
    pub default_problem: Problem,
    /// A small problem for fast tests; the checking function knows its reference too.
    pub small_problem: Problem,
    /// The unit of throughput, e.g. "pixels", "slices", "points", "steps".
    pub work_unit: &'static str,
    /// Units of work in one run (for throughput = work / time).
    pub work: fn(&Problem) -> f64,
    /// Useful floating-point operations in one run given its outcome (None where flops are not
    /// the meaningful measure); Mandelbrot counts 8 per escape-loop iteration.
    pub flops: fn(&Problem, &Outcome) -> Option<f64>,
    /// Bytes that must move to or from memory in one run (for arithmetic intensity).
    pub bytes: fn(&Problem) -> Option<f64>,
    /// The one checking function every variant's result goes through (KERNELS.md rules).
    pub check: fn(&Problem, &str, &Outcome) -> Result<Check, CheckError>,
    /// The ladder, baseline first.
    pub variants: &'static [Variant],
}

impl Kernel {
    /// Finds a variant by name.
    pub fn variant(&self, name: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.name == name)
    }
}

/// Every kernel, in the order the guide presents them.
static KERNELS: [Kernel; 8] = [
    crate::pi_integration::KERNEL,
    crate::pi_monte_carlo::KERNEL,
    crate::mandelbrot::KERNEL,
    crate::julia::KERNEL,
    crate::random_walk::KERNEL,
    crate::kmeans::KERNEL,
    crate::stream_triad::KERNEL,
    crate::fma_peak::KERNEL,
];

/// Every kernel, in the order the guide presents them.
pub fn kernels() -> &'static [Kernel] {
    &KERNELS
}

/// Looks up `kernel/variant`.
pub fn find(id: &str) -> Option<(&'static Kernel, &'static Variant)> {
    let (k, v) = id.split_once('/')?;
    let kernel = kernels().iter().find(|kk| kk.name == k)?;
    Some((kernel, kernel.variant(v)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd;

    fn run_and_check(kernel: &Kernel, variant: &Variant, problem: &Problem, threads: usize) {
        let id = format!("{}/{}", kernel.name, variant.name);
        let outcome = (variant.run)(problem, threads);
        if let Err(e) = (kernel.check)(problem, &id, &outcome) {
            panic!("{e} (problem {problem:?}, {threads} threads)");
        }
    }

    #[test]
    fn every_variant_passes_its_check_at_the_small_size() {
        for kernel in kernels() {
            for variant in kernel.variants {
                run_and_check(kernel, variant, &kernel.small_problem, 1);
                if variant.threaded {
                    run_and_check(kernel, variant, &kernel.small_problem, 3);
                }
            }
        }
    }

    #[test]
    fn every_variant_passes_its_check_at_the_default_size() {
        for kernel in kernels() {
            for variant in kernel.variants {
                run_and_check(kernel, variant, &kernel.default_problem, 2);
            }
        }
    }

    #[test]
    fn simd_variants_fall_back_to_scalar_code_when_the_features_are_missing() {
        simd::force_scalar(true);
        let result = std::panic::catch_unwind(|| {
            for kernel in kernels() {
                for variant in kernel.variants {
                    if let Some(path) = (variant.simd_path)() {
                        assert_eq!(path, "scalar", "{}/{}", kernel.name, variant.name);
                        run_and_check(kernel, variant, &kernel.small_problem, 2);
                    }
                }
            }
        });
        simd::force_scalar(false);
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }

    #[test]
    fn a_kernel_that_calls_another_kernels_module_lists_its_source() {
        for kernel in kernels() {
            for other in kernels() {
                let module = other
                    .source_file
                    .trim_start_matches("src/")
                    .trim_end_matches(".rs");
                // Code lines only: doc comments may mention other modules.
                let calls = kernel
                    .source
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .any(|l| {
                        l.contains(&format!("crate::{module}"))
                            || l.contains(&format!("use crate::{{{module}"))
                    });
                if other.name != kernel.name && calls {
                    assert!(
                        kernel.uses.contains(&other.source),
                        "{} calls crate::{module}: list its source in `uses`",
                        kernel.name
                    );
                }
            }
        }
        let julia = kernels().iter().find(|k| k.name == "julia").unwrap();
        assert_eq!(julia.uses.len(), 1, "julia renders with mandelbrot's loops");
    }

    #[test]
    fn ids_are_unique_kebab_case_and_anchored_in_the_source() {
        let kebab = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        let mut seen = std::collections::BTreeSet::new();
        for kernel in kernels() {
            assert!(kebab(kernel.name), "{}", kernel.name);
            assert!(!kernel.variants.is_empty());
            for variant in kernel.variants {
                let id = format!("{}/{}", kernel.name, variant.name);
                assert!(kebab(variant.name), "{id}");
                assert!(seen.insert(id.clone()), "duplicate {id}");
                assert!(find(&id).is_some(), "{id}");
                for marker in ["ANCHOR", "ANCHOR_END"] {
                    let line = format!("// {marker}: {}\n", variant.anchor);
                    assert!(kernel.source.contains(&line), "{id}: no `{line}`");
                }
            }
            assert!(
                kernel.source.contains("// ANCHOR: check\n"),
                "{}",
                kernel.name
            );
        }
        assert_eq!(
            kernels().iter().map(|k| k.name).collect::<Vec<_>>(),
            [
                "pi-integration",
                "pi-monte-carlo",
                "mandelbrot",
                "julia",
                "random-walk",
                "kmeans",
                "stream-triad",
                "fma-peak"
            ]
        );
        assert!(find("mandelbrot/nope").is_none());
        assert!(find("nope").is_none());
    }
}
