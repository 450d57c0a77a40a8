//! Statistics of measurements: the numerical heart of perfguide.
//!
//! Everything here is a pure function of its arguments: no I/O, no clock, no global state,
//! no allocation that outlives a call. The harness (`src/harness.rs`) decides *when* it has
//! enough samples with [`enough_samples`]; the store keeps a [`Summary`] per record; the
//! `{{#speedup}}` and `{{#claim}}` directives use [`speedup`]; `perfguide bench --baseline`
//! uses [`compare`]; the charts use [`amdahl_fit`], [`loglog_fit`] and [`linear_fit`]; the
//! busy-machine flag comes from [`cpu_utilisation`] and [`looks_busy`].
//!
//! # Conventions
//! * Samples are per-iteration times in seconds, but nothing here depends on the unit.
//! * Sorting always uses [`f64::total_cmp`], so no comparison can panic on NaN.
//! * Functions whose argument is called `sorted` expect it in ascending order (as produced
//!   by [`sorted_finite`]); on unsorted input they return a meaningless number, never panic.
//! * Nothing in this module panics. Invalid input (empty, NaN, infinite, mismatched lengths)
//!   gives `None`, an empty vector, or the NaN sentinel that each function documents.
//! * Every random choice comes from a seeded SplitMix64 stream, so every result is a
//!   deterministic function of the input (as a multiset) and the seed, on every platform.
//!
//! # Sources
//! * Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages.
//!   *The American Statistician* 50(4), 361–365. (Quantile definition 7.)
//! * Hampel, F. R. (1974). The influence curve and its role in robust estimation.
//!   *JASA* 69(346), 383–393; Rousseeuw, P. J. and Croux, C. (1993). Alternatives to the
//!   median absolute deviation. *JASA* 88(424), 1273–1283. (MAD and its constant 1.4826.)
//! * Iglewicz, B. and Hoaglin, D. C. (1993). *How to Detect and Handle Outliers.* ASQC
//!   Quality Press, ch. 3. (Modified z-score and its cut-off 3.5; hyperfine's outlier
//!   warning cites the same source.)
//! * Conover, W. J. (1999). *Practical Nonparametric Statistics*, 3rd ed., Wiley, §3.2;
//!   David, H. A. and Nagaraja, H. N. (2003). *Order Statistics*, 3rd ed., Wiley, §7.1.
//!   (Distribution-free confidence interval of the median from order statistics.)
//! * Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the Bootstrap.* Chapman &
//!   Hall, ch. 13. (Percentile bootstrap interval.)
//! * Steele, G. L., Lea, D. and Flood, C. H. (2014). Fast splittable pseudorandom number
//!   generators. *OOPSLA 2014*. (SplitMix64.) Lemire, D. (2019). Fast random integer
//!   generation in an interval. *ACM TOMACS* 29(1). (Multiply-shift range reduction.)
//! * Mann, H. B. and Whitney, D. R. (1947). On a test of whether one of two random variables
//!   is stochastically larger than the other. *Ann. Math. Statist.* 18(1), 50–60;
//!   Lehmann, E. L. (1975). *Nonparametrics: Statistical Methods Based on Ranks*, §1.4
//!   (tie-corrected variance); Andrews, G. E. (1976). *The Theory of Partitions*, ch. 3
//!   (the exact null distribution as a Gaussian binomial coefficient).
//! * Abramowitz, M. and Stegun, I. A. (1964). *Handbook of Mathematical Functions*, 7.1.6 and
//!   7.1.14 (series and continued fraction of erf/erfc); Lentz, W. J. (1976). *Applied
//!   Optics* 15(3), 668–671 and Thompson, I. J. and Barnett, A. R. (1986). *J. Comput.
//!   Phys.* 64, 490–509 (modified Lentz evaluation of continued fractions).
//! * Neumaier, A. (1974). Rundungsfehleranalyse einiger Verfahren zur Summation endlicher
//!   Summen. *ZAMM* 54, 39–51 (compensated summation); Chan, T. F., Golub, G. H. and
//!   LeVeque, R. J. (1983). Algorithms for computing the sample variance. *The American
//!   Statistician* 37(3), 242–247 (corrected two-pass variance).
//! * Amdahl, G. M. (1967). Validity of the single processor approach to achieving large
//!   scale computing capabilities. *AFIPS Conf. Proc.* 30, 483–485; Kiefer, J. (1953).
//!   Sequential minimax search for a maximum. *Proc. AMS* 4(3), 502–506 (golden-section
//!   search); Kvålseth, T. O. (1985). Cautionary note about R². *The American
//!   Statistician* 39(4), 279–285.
//! * The criterion crate's "noise threshold" (criterion.rs user guide, "Analysis Process").

use serde::{Deserialize, Serialize};

/// Confidence level of every interval that perfguide publishes (95%).
pub const CONFIDENCE: f64 = 0.95;

/// Consistency constant of the MAD for normal data: 1 / Φ⁻¹(3/4) = 1.482602…, rounded to
/// 1.4826 as in Rousseeuw and Croux (1993). `MAD_SCALE * mad_raw` estimates σ for normal data.
pub const MAD_SCALE: f64 = 1.4826;

/// Iglewicz and Hoaglin's factor in M = 0.6745 (x − x̃) / MAD: Φ⁻¹(3/4) = 0.67449 rounded,
/// so that M is on the scale of a standard normal z-score for normal data.
pub const MODIFIED_Z_FACTOR: f64 = 0.6745;

/// √(π/2) rounded: the consistency constant of the *mean* absolute deviation for normal data
/// (E|X − μ| = σ √(2/π)); used by [`modified_z_scores`] when the MAD is zero.
pub const MEAN_AD_SCALE: f64 = 1.253314;

/// Iglewicz and Hoaglin's outlier cut-off: |M| > 3.5 is an outlier.
pub const OUTLIER_Z: f64 = 3.5;

/// perfguide's cut-off for a *severe* outlier: |M| > 7, twice [`OUTLIER_Z`], after the way
/// Tukey's outer fence (3 IQR) doubles the inner one (1.5 IQR). On normal data
/// P(|Z| > 3.5) ≈ 4.7e-4 and P(|Z| > 7) ≈ 2.6e-12: a severe outlier in a timing is an
/// interruption (preemption, page fault storm, frequency change), not noise.
pub const SEVERE_OUTLIER_Z: f64 = 7.0;

/// Bootstrap resamples used by [`speedup`] and [`compare`]: with 10,000 resamples the Monte
/// Carlo error of a 2.5% percentile is about √(0.025·0.975/10⁴) ≈ 0.16 percentage points.
pub const DEFAULT_RESAMPLES: usize = 10_000;

/// [`looks_busy`]: the process must get at least this fraction of the CPU its threads could use.
pub const BUSY_CPU_FRACTION: f64 = 0.9;

/// [`looks_busy`]: load (in cores) above what this process accounts for that flags a busy machine.
pub const BUSY_LOAD_EXCESS: f64 = 0.5;

/// Time constant of Linux's 1-minute load average, in seconds.
pub const LOAD_AVERAGE_PERIOD_S: f64 = 60.0;

/// [`mann_whitney_u`] uses the exact null distribution when there are no ties and the smaller
/// sample has at most this many values (scipy.stats.mannwhitneyu's `method="auto"` rule).
pub const MWU_EXACT_MAX_SMALLER: usize = 8;

/// Upper bound on the larger sample for the exact Mann–Whitney distribution, so that the
/// counts C(m + n, m) fit in an `i128` (C(100 008, 8) ≈ 2.5e35 < 1.7e38).
const MWU_EXACT_MAX_LARGER: usize = 100_000;

// ---------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------

/// Summary of one set of per-iteration timings (seconds).
///
/// Every field is finite (so a record survives a JSON round trip): [`summarize`] returns
/// `None` rather than a summary with a NaN or an infinity in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Sample median ([`median`]).
    pub median: f64,
    /// Arithmetic mean, compensated summation with a correction pass.
    pub mean: f64,
    /// Sample standard deviation with Bessel's correction (divisor n − 1); 0 when n = 1.
    pub stddev: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Median absolute deviation scaled by [`MAD_SCALE`] (an estimate of σ for normal data).
    pub mad: f64,
    /// Lower end of the 95% distribution-free CI of the median ([`median_ci`]).
    pub ci_low: f64,
    /// Upper end of the 95% distribution-free CI of the median ([`median_ci`]).
    pub ci_high: f64,
    /// (ci_high − ci_low) / 2 / |median|: 0.02 means "±2%". 0 when the interval is a point;
    /// saturates at `f64::MAX` when the median is 0 and the interval is not a point.
    pub ci_half_width_rel: f64,
    /// Samples with [`OUTLIER_Z`] < |M| ≤ [`SEVERE_OUTLIER_Z`] ([`modified_z_scores`]).
    pub outliers_mild: usize,
    /// Samples with |M| > [`SEVERE_OUTLIER_Z`].
    pub outliers_severe: usize,
}

/// Summarises one set of timings.
///
/// `None` for empty input, for any NaN or infinite sample, and in the pathological case where
/// a statistic overflows (values near `f64::MAX`), so that every field of a `Summary` is finite.
/// The confidence interval is [`median_ci`] at [`CONFIDENCE`]; for n < 6 it falls back to
/// min..max, whose coverage is lower than 95% (see [`median_ci_ranks`]).
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    let sorted = sorted_finite(samples)?;
    let n = sorted.len();
    let med = median(&sorted);
    let (min, max) = (sorted[0], sorted[n - 1]);
    let mut mean = mean_of(&sorted);
    // The exact mean lies in [min, max]; keep the rounded one there too.
    if mean.is_finite() {
        mean = mean.clamp(min, max);
    }
    let stddev = stddev_of(&sorted, mean);
    let mad = raw_mad_of_sorted(&sorted, med) * MAD_SCALE;
    let (ci_low, ci_high) = median_ci(&sorted, CONFIDENCE);
    let ci_half_width_rel = relative_half_width(ci_low, ci_high, med);
    let mut outliers_mild = 0;
    let mut outliers_severe = 0;
    for z in modified_z_scores(&sorted) {
        let a = z.abs();
        if a > SEVERE_OUTLIER_Z {
            outliers_severe += 1;
        } else if a > OUTLIER_Z {
            outliers_mild += 1;
        }
    }
    let summary = Summary {
        n,
        median: med,
        mean,
        stddev,
        min,
        max,
        mad,
        ci_low,
        ci_high,
        ci_half_width_rel,
        outliers_mild,
        outliers_severe,
    };
    let fields = [
        summary.median,
        summary.mean,
        summary.stddev,
        summary.mad,
        summary.ci_low,
        summary.ci_high,
        summary.ci_half_width_rel,
    ];
    fields.iter().all(|v| v.is_finite()).then_some(summary)
}

impl Summary {
    /// The true confidence of `ci_low..ci_high` when it is less than [`CONFIDENCE`]: with
    /// fewer than 6 samples the interval is the min..max range ([`median_ci_ranks`]'s
    /// fallback), which contains the median with only 1 − 2^(1−n) confidence (75% for 3
    /// samples). Every display of the interval asks this, so that a 3-sample range is never
    /// called a 95% interval. `None` when the interval attains 95%.
    pub fn ci_shortfall(&self) -> Option<f64> {
        median_ci_ranks(self.n, CONFIDENCE)
            .filter(|r| !r.attained)
            .map(|r| r.coverage)
    }

    /// A short note for an interval that falls short of 95% ("3 samples: a 75% interval"),
    /// or `None`; the terminal table, the Markdown export and the pages use it.
    pub fn ci_shortfall_note(&self) -> Option<String> {
        self.ci_shortfall().map(|c| {
            format!(
                "{} sample{}: a {:.0}% interval",
                self.n,
                if self.n == 1 { "" } else { "s" },
                100.0 * c
            )
        })
    }
}

/// A sorted copy of `samples` (ascending, [`f64::total_cmp`]); `None` if `samples` is empty or
/// holds a NaN or an infinity. The usual way to get the `sorted` argument of the functions here.
pub fn sorted_finite(samples: &[f64]) -> Option<Vec<f64>> {
    if samples.is_empty() || samples.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    Some(sorted)
}

/// Median of sorted data: the middle value, or the midpoint of the two middle values for even
/// n (which is [`quantile`]`(sorted, 0.5)`, Hyndman–Fan type 7). NaN for empty input.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        sorted[n / 2 - 1].midpoint(sorted[n / 2])
    }
}

/// Sample quantile of sorted data, Hyndman and Fan's (1996) definition 7: with h = (n − 1) q,
/// Q(q) = x₍⌊h⌋₎ + (h − ⌊h⌋)(x₍⌊h⌋+1₎ − x₍⌊h⌋₎) (0-based order statistics).
///
/// This is the default of R (`quantile(type = 7)`), NumPy (`numpy.quantile`, method
/// `"linear"`), Excel's `PERCENTILE.INC` and Julia's `Statistics.quantile`. The interpolation
/// is evaluated as NumPy does (from the nearer neighbour), so results agree with NumPy bit
/// for bit, except halfway between two order statistics, where the midpoint is rounded
/// correctly (NumPy's form can be 1 ulp off there) so that `quantile(x, 0.5) == median(x)`.
/// The result always lies between the two neighbours. `q` is clamped to [0, 1]; NaN for
/// empty input or NaN `q`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 || q.is_nan() {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let floor = h.floor();
    // h is in [0, n - 1], so the cast is exact and in range.
    let i = (floor as usize).min(n - 1);
    let t = h - floor;
    if t == 0.0 || i + 1 >= n {
        return sorted[i];
    }
    let (a, b) = (sorted[i], sorted[i + 1]);
    let d = b - a;
    let v = if t == 0.5 {
        // The correctly rounded midpoint, so that quantile(x, 0.5) == median(x) exactly.
        a.midpoint(b)
    } else if !d.is_finite() {
        a * (1.0 - t) + b * t
    } else if t > 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    };
    // Keep the result between its neighbours despite rounding (false for NaN: v is returned).
    if v < a {
        a
    } else if v > b {
        b
    } else {
        v
    }
}

/// Median absolute deviation, scaled: `MAD_SCALE · median(|xᵢ − median(x)|)` with
/// [`MAD_SCALE`] = 1.4826, the consistency constant that makes it estimate σ for normal data
/// (Hampel 1974; Rousseeuw and Croux 1993). Equals
/// `scipy.stats.median_abs_deviation(x, scale=1/1.4826)`. Takes unsorted samples.
/// NaN for empty input; unspecified (NaN or a number) if a sample is NaN.
pub fn mad(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    raw_mad_of_sorted(&sorted, median(&sorted)) * MAD_SCALE
}

/// Unscaled MAD of sorted data around `center`.
fn raw_mad_of_sorted(sorted: &[f64], center: f64) -> f64 {
    let mut dev: Vec<f64> = sorted.iter().map(|x| (x - center).abs()).collect();
    dev.sort_unstable_by(f64::total_cmp);
    median(&dev)
}

/// Neumaier's (1974) compensated sum: error bounded by about one rounding of the result,
/// independent of n (Kahan's algorithm improved for terms larger than the running sum).
fn compensated_sum(values: impl Iterator<Item = f64>) -> f64 {
    let mut sum = 0.0_f64;
    let mut compensation = 0.0_f64;
    for x in values {
        let t = sum + x;
        if sum.abs() >= x.abs() {
            compensation += (sum - t) + x;
        } else {
            compensation += (x - t) + sum;
        }
        sum = t;
    }
    sum + compensation
}

/// Mean with a correction pass: m₁ = Σx/n, then m = m₁ + Σ(x − m₁)/n. The second pass
/// removes the rounding of the first (and makes the mean of identical values exact).
fn mean_of(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let first = compensated_sum(values.iter().copied()) / n;
    first + compensated_sum(values.iter().map(|x| x - first)) / n
}

/// Sample standard deviation (divisor n − 1) by the corrected two-pass algorithm of Chan,
/// Golub and LeVeque (1983): s² = (Σ(x − m)² − (Σ(x − m))²/n) / (n − 1). 0 for n = 1.
fn stddev_of(values: &[f64], mean: f64) -> f64 {
    let n = values.len();
    if n < 2 {
        return if n == 1 { 0.0 } else { f64::NAN };
    }
    let ss = compensated_sum(values.iter().map(|x| (x - mean) * (x - mean)));
    let s = compensated_sum(values.iter().map(|x| x - mean));
    let var = (ss - s * s / n as f64) / (n - 1) as f64;
    var.max(0.0).sqrt()
}

/// (high − low) / 2 / |center|, with the conventions documented on [`Summary`].
fn relative_half_width(low: f64, high: f64, center: f64) -> f64 {
    let half = high / 2.0 - low / 2.0;
    if half == 0.0 {
        0.0
    } else if center == 0.0 {
        f64::MAX
    } else {
        (half / center.abs()).min(f64::MAX)
    }
}

// ---------------------------------------------------------------------------------------
// Confidence interval of the median
// ---------------------------------------------------------------------------------------

/// Which order statistics bound the distribution-free confidence interval of the median.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MedianCiRanks {
    /// 0-based index of the lower bound in the sorted sample (rank k − 1).
    pub low: usize,
    /// 0-based index of the upper bound in the sorted sample (rank n − k).
    pub high: usize,
    /// Exact coverage 1 − 2·P(B ≤ k − 1), B ~ Binomial(n, 1/2), for continuous data.
    pub coverage: f64,
    /// Whether `coverage` reaches the requested confidence. False only in the small-n
    /// fallback (min..max), e.g. n < 6 at 95%.
    pub attained: bool,
}

/// The order statistics of the distribution-free CI of the median and their exact coverage.
///
/// For continuous data, the number B of samples below the population median is
/// Binomial(n, 1/2), so P(x₍k₎ ≤ M ≤ x₍n+1−k₎) = P(k ≤ B ≤ n − k) = 1 − 2·P(B ≤ k − 1)
/// (1-based ranks; Conover 1999 §3.2, David and Nagaraja 2003 §7.1). perfguide takes the
/// largest k (the narrowest symmetric interval) whose coverage is still at least
/// `confidence`. This is the interval `scipy.stats.quantile_test(x, q=median, p=0.5)
/// .confidence_interval(0.95)` reports, and it is valid for any continuous distribution
/// — timings are skewed, so no normality is assumed.
///
/// **Fallback for tiny n:** when even k = 1 (min..max, coverage 1 − 2^(1−n)) falls short —
/// at 95% that is n < 6 (n = 5 gives 93.75%, n = 6 gives 96.875%) — the result is min..max
/// with `attained = false` and its true, lower coverage; a single sample gives the point
/// interval with coverage 0.
///
/// `confidence` is clamped to [0, 1]. `None` for n = 0 or a NaN `confidence`. The binomial
/// probabilities are summed in f64 up to n = 1000 (P(B = 0) = 2⁻ⁿ exactly) and in log space
/// beyond; the search is O(n).
pub fn median_ci_ranks(n: usize, confidence: f64) -> Option<MedianCiRanks> {
    if n == 0 || confidence.is_nan() {
        return None;
    }
    let alpha = 1.0 - confidence.clamp(0.0, 1.0);
    let mut pmf = HalfBinomialPmf::new(n);
    // cdf = P(B ≤ k − 1) for the current 1-based rank k.
    let mut k = 1usize;
    let mut cdf = pmf.next_value();
    let attained = 2.0 * cdf <= alpha;
    if attained {
        // Move to rank k + 1 (one order statistic narrower at each end) while the interval
        // stays non-empty (k + 1 ≤ n − k, i.e. k < n − k) and keeps its coverage.
        while k < n - k {
            let next = cdf + pmf.next_value();
            if 2.0 * next > alpha {
                break;
            }
            cdf = next;
            k += 1;
        }
    }
    Some(MedianCiRanks {
        low: k - 1,
        high: n - k,
        coverage: (1.0 - 2.0 * cdf).max(0.0),
        attained,
    })
}

/// Successive probabilities P(B = 0), P(B = 1), … of B ~ Binomial(n, 1/2).
struct HalfBinomialPmf {
    n: usize,
    j: usize,
    /// P(B = j) for n ≤ 1000 (2⁻¹⁰⁰⁰ is still a normal f64), ln P(B = j) beyond.
    value: f64,
    log_space: bool,
}

impl HalfBinomialPmf {
    fn new(n: usize) -> Self {
        let log_space = n > 1000;
        let value = if log_space {
            -(n as f64) * std::f64::consts::LN_2
        } else {
            // n ≤ 1000 fits in i32; 0.5^n is exact.
            0.5_f64.powi(n as i32)
        };
        HalfBinomialPmf {
            n,
            j: 0,
            value,
            log_space,
        }
    }

    /// Returns P(B = j) and advances to j + 1 (0 past j = n).
    fn next_value(&mut self) -> f64 {
        if self.j > self.n {
            return 0.0;
        }
        let current = if self.log_space {
            self.value.exp()
        } else {
            self.value
        };
        // P(B = j + 1) = P(B = j) · (n − j) / (j + 1).
        let (num, den) = ((self.n - self.j) as f64, (self.j + 1) as f64);
        if self.log_space {
            self.value += (num / den).ln();
        } else {
            self.value = self.value * num / den;
        }
        self.j += 1;
        current
    }
}

/// Distribution-free confidence interval of the median from order statistics:
/// `(sorted[r.low], sorted[r.high])` with `r` = [`median_ci_ranks`]`(n, confidence)`.
///
/// At 95%: n = 6..8 gives min..max, n = 10 gives (x₍₂₎, x₍₉₎), n = 20 gives (x₍₆₎, x₍₁₅₎),
/// n = 50 gives (x₍₁₈₎, x₍₃₃₎) (1-based). For n < 6 the interval is min..max and covers the
/// median with less than 95% probability (documented fallback). `(NaN, NaN)` for empty input
/// or a NaN `confidence`.
pub fn median_ci(sorted: &[f64], confidence: f64) -> (f64, f64) {
    match median_ci_ranks(sorted.len(), confidence) {
        Some(r) => (sorted[r.low], sorted[r.high]),
        None => (f64::NAN, f64::NAN),
    }
}

/// Whether the distribution-free CI of the median is tight enough to stop sampling:
/// true iff the interval attains `confidence` (so n ≥ 6 at 95%) and
/// (high − low) / 2 / |median| ≤ `target_rel_half_width` (e.g. 0.02 for ±2%).
///
/// False for empty input, any non-finite sample, a median of 0, or a NaN target. Cost:
/// one sort, O(n log n), so calling it after every sample is fine for thousands of samples.
pub fn enough_samples(samples: &[f64], target_rel_half_width: f64, confidence: f64) -> bool {
    if target_rel_half_width.is_nan() {
        return false;
    }
    let Some(sorted) = sorted_finite(samples) else {
        return false;
    };
    let Some(ranks) = median_ci_ranks(sorted.len(), confidence) else {
        return false;
    };
    let med = median(&sorted);
    ranks.attained
        && med != 0.0
        && relative_half_width(sorted[ranks.low], sorted[ranks.high], med) <= target_rel_half_width
}

// ---------------------------------------------------------------------------------------
// Bootstrap
// ---------------------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea and Flood 2014): the k-th output (k = 0, 1, …) is
/// mix(seed + (k + 1)·γ) with γ = 0x9E3779B97F4A7C15, the same stream as
/// `perfguide_kernels::rng::rand_u64(seed, k)`.
#[derive(Debug, Clone)]
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform index in 0..n by multiply-shift, ⌊r·n / 2⁶⁴⌋ (Lemire 2019, without the
    /// rejection step: the bias is below n / 2⁶⁴, far below anything a bootstrap can see).
    fn index(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// Median of one resample (with replacement) of `sorted`, drawn with `rng`.
///
/// Because `sorted` is in ascending order, the resample's order statistics are
/// `sorted[i]` at the order statistics i of the drawn indices, so the indices are counted
/// (a counting sort, O(n)) instead of sorting or selecting floats. The value is exactly the
/// median of the materialised resample. `counts` is scratch space.
fn resampled_median(sorted: &[f64], counts: &mut Vec<u32>, rng: &mut SplitMix64) -> f64 {
    let n = sorted.len();
    counts.clear();
    counts.resize(n, 0);
    for _ in 0..n {
        counts[rng.index(n)] += 1;
    }
    // 0-based positions of the middle order statistics of the resample.
    let (lower_pos, upper_pos) = if n % 2 == 1 {
        (n / 2, n / 2)
    } else {
        (n / 2 - 1, n / 2)
    };
    let mut seen = 0usize;
    let mut lower = f64::NAN;
    for (value, &count) in sorted.iter().zip(counts.iter()) {
        let next = seen + count as usize;
        if lower.is_nan() && next > lower_pos {
            lower = *value;
        }
        if next > upper_pos {
            return if lower_pos == upper_pos {
                *value
            } else {
                lower.midpoint(*value)
            };
        }
        seen = next;
    }
    f64::NAN
}

/// Percentile-bootstrap confidence interval of the median (Efron and Tibshirani 1993, §13.3).
///
/// Draws `resamples` resamples of size n with replacement from the sorted samples with a
/// SplitMix64 stream seeded by `seed` (index = ⌊r·n/2⁶⁴⌋ for each draw r), takes each
/// resample's [`median`], and returns the [`quantile`]s (type 7) of those medians at
/// (1 − c)/2 and (1 + c)/2. Deterministic: the same multiset of samples and the same seed
/// give the same interval on every platform, whatever the order of `samples`.
///
/// For small n the bootstrap distribution of a median is lumpy (it takes few distinct
/// values), which is why [`Summary`] uses the order-statistic interval [`median_ci`]; this
/// one serves the ratio intervals and cross-checks. `(NaN, NaN)` for empty input, a
/// non-finite sample, `resamples == 0` or a NaN `confidence` (clamped to [0, 1] otherwise).
pub fn bootstrap_median_ci(
    samples: &[f64],
    confidence: f64,
    resamples: usize,
    seed: u64,
) -> (f64, f64) {
    let Some(sorted) = sorted_finite(samples) else {
        return (f64::NAN, f64::NAN);
    };
    if resamples == 0 || confidence.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = SplitMix64::new(seed);
    let mut counts = Vec::with_capacity(sorted.len());
    let mut medians: Vec<f64> = (0..resamples)
        .map(|_| resampled_median(&sorted, &mut counts, &mut rng))
        .collect();
    percentile_interval(&mut medians, confidence)
}

/// Type-7 quantiles at (1 − c)/2 and (1 + c)/2 of bootstrap replicates (sorted here).
fn percentile_interval(replicates: &mut [f64], confidence: f64) -> (f64, f64) {
    replicates.sort_unstable_by(f64::total_cmp);
    let c = confidence.clamp(0.0, 1.0);
    (
        quantile(replicates, (1.0 - c) / 2.0),
        quantile(replicates, (1.0 + c) / 2.0),
    )
}

/// Percentile-bootstrap interval of median(num) / median(den): each replicate resamples
/// `num` then `den` (both sorted) from one SplitMix64 stream.
fn bootstrap_ratio_ci(
    num: &[f64],
    den: &[f64],
    confidence: f64,
    resamples: usize,
    seed: u64,
) -> (f64, f64) {
    let mut rng = SplitMix64::new(seed);
    let mut counts = Vec::with_capacity(num.len().max(den.len()));
    let mut ratios: Vec<f64> = (0..resamples)
        .map(|_| {
            let n = resampled_median(num, &mut counts, &mut rng);
            let d = resampled_median(den, &mut counts, &mut rng);
            n / d
        })
        .collect();
    percentile_interval(&mut ratios, confidence)
}

/// Sorted copy when every sample is finite and strictly positive (a ratio of timings needs
/// positive timings).
fn sorted_positive(samples: &[f64]) -> Option<Vec<f64>> {
    let sorted = sorted_finite(samples)?;
    (sorted[0] > 0.0).then_some(sorted)
}

// ---------------------------------------------------------------------------------------
// Speed-up and baseline comparison
// ---------------------------------------------------------------------------------------

/// A ratio with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    /// Point estimate.
    pub estimate: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
}

impl Ratio {
    /// The sentinel for invalid input: all three fields NaN.
    pub const INVALID: Ratio = Ratio {
        estimate: f64::NAN,
        low: f64::NAN,
        high: f64::NAN,
    };

    /// False for the [`Ratio::INVALID`] sentinel (or any non-finite field).
    pub fn is_valid(&self) -> bool {
        self.estimate.is_finite() && self.low.is_finite() && self.high.is_finite()
    }
}

/// Speed-up of `fast` over `slow`: median(slow) / median(fast) (3.9 means "3.9× faster"),
/// with a 95% percentile-bootstrap interval of that ratio of medians from
/// [`DEFAULT_RESAMPLES`] resamples seeded by `seed`. See [`speedup_with`].
pub fn speedup(fast: &[f64], slow: &[f64], seed: u64) -> Ratio {
    speedup_with(fast, slow, CONFIDENCE, DEFAULT_RESAMPLES, seed)
}

/// [`speedup`] with an explicit confidence level and number of resamples.
///
/// Each bootstrap replicate resamples `slow` and `fast` independently (they are independent
/// measurements) and takes the ratio of their medians; the interval is the type-7 quantiles
/// of the replicates at (1 ∓ c)/2 (Efron and Tibshirani 1993, §13.3). Being a percentile
/// interval it is transformation-respecting: the interval of 1/ratio is 1/(the interval).
/// [`Ratio::INVALID`] when a sample set is empty or holds a non-finite or non-positive value,
/// `resamples == 0`, or `confidence` is NaN.
pub fn speedup_with(
    fast: &[f64],
    slow: &[f64],
    confidence: f64,
    resamples: usize,
    seed: u64,
) -> Ratio {
    let (Some(fast), Some(slow)) = (sorted_positive(fast), sorted_positive(slow)) else {
        return Ratio::INVALID;
    };
    if resamples == 0 || confidence.is_nan() {
        return Ratio::INVALID;
    }
    let (low, high) = bootstrap_ratio_ci(&slow, &fast, confidence, resamples, seed);
    Ratio {
        estimate: median(&slow) / median(&fast),
        low,
        high,
    }
}

/// Outcome of a baseline comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significantly faster, by more than the threshold.
    Improved,
    /// Significantly slower, by more than the threshold.
    Regressed,
    /// Neither: not significant, or within the noise threshold.
    NoChange,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::NoChange => "no change",
        })
    }
}

/// A new measurement compared with a baseline ([`compare`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// median(new) / median(baseline) − 1: +0.10 means 10% slower, −0.10 10% faster.
    pub change_rel: f64,
    /// Lower end of the (1 − alpha) bootstrap interval of `change_rel`.
    pub ci_low: f64,
    /// Upper end of the (1 − alpha) bootstrap interval of `change_rel`.
    pub ci_high: f64,
    /// Two-sided Mann–Whitney U p-value ([`mann_whitney_u`]).
    pub p_value: f64,
    /// The decision.
    pub verdict: Verdict,
}

impl Comparison {
    /// The sentinel for invalid input: NaN numbers and [`Verdict::NoChange`].
    pub const INVALID: Comparison = Comparison {
        change_rel: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        p_value: f64::NAN,
        verdict: Verdict::NoChange,
    };
}

/// Compares a new measurement with a baseline (both per-iteration timings).
///
/// * `change_rel` = median(new) / median(baseline) − 1, with a (1 − `alpha`) percentile
///   bootstrap interval of that ratio minus one ([`DEFAULT_RESAMPLES`] resamples, `seed`).
/// * `p_value`: two-sided Mann–Whitney U test of baseline against new
///   ([`mann_whitney_u`]: exact for small samples without ties, otherwise the normal
///   approximation with tie and continuity corrections), equal to
///   `scipy.stats.mannwhitneyu(baseline, new)`.
/// * `verdict`: [`Verdict::Regressed`] iff `p_value < alpha`, `change_rel > threshold_rel`
///   and the new timings rank above the baseline (U_new > U_baseline);
///   [`Verdict::Improved`] symmetrically (`change_rel < −threshold_rel`, U_new < U_baseline);
///   otherwise [`Verdict::NoChange`].
///
/// **Why both conditions.** With enough samples a rank test finds *any* difference
/// significant, including the 0.3% that a different link order, a warmer room or ASLR
/// produces; a CI gate that fails on those is a gate people learn to ignore. The threshold
/// (criterion's "noise threshold", `--threshold PCT`) states the smallest change that
/// matters; the test states that the change is not sampling noise. A regression needs both:
/// practically relevant *and* statistically real. A large change that is not significant
/// (too few samples) is also not reported: measure more rather than guess. Unlike criterion,
/// which requires the whole interval beyond the threshold, the point estimate is compared
/// with the threshold, so a real 6% slow-down is flagged at a 5% threshold even when its
/// interval reaches down to 4%; the interval is reported so a reader can judge.
///
/// Mann–Whitney rather than a t-test because timings are skewed and heavy-tailed (a few
/// preempted samples), and it needs no normality. It tests whether one set tends to be larger
/// (P(new > baseline) ≠ 1/2), which for timings that differ by a shift or a scale factor is
/// the same as a change of the median.
///
/// [`Comparison::INVALID`] when either set is empty or holds a non-finite or non-positive
/// value, `alpha` is not in (0, 1), or `threshold_rel` is NaN or negative.
pub fn compare(
    baseline: &[f64],
    new: &[f64],
    alpha: f64,
    threshold_rel: f64,
    seed: u64,
) -> Comparison {
    let (Some(base_sorted), Some(new_sorted)) = (sorted_positive(baseline), sorted_positive(new))
    else {
        return Comparison::INVALID;
    };
    let alpha_ok = alpha > 0.0 && alpha < 1.0;
    let threshold_ok = threshold_rel >= 0.0;
    if !alpha_ok || !threshold_ok {
        return Comparison::INVALID;
    }
    let Some(test) = mann_whitney_u(&base_sorted, &new_sorted) else {
        return Comparison::INVALID;
    };
    let change_rel = median(&new_sorted) / median(&base_sorted) - 1.0;
    let (low, high) = bootstrap_ratio_ci(
        &new_sorted,
        &base_sorted,
        1.0 - alpha,
        DEFAULT_RESAMPLES,
        seed,
    );
    let significant = test.p_value < alpha;
    let verdict = if significant && change_rel > threshold_rel && test.u_y > test.u_x {
        Verdict::Regressed
    } else if significant && change_rel < -threshold_rel && test.u_y < test.u_x {
        Verdict::Improved
    } else {
        Verdict::NoChange
    };
    Comparison {
        change_rel,
        ci_low: low - 1.0,
        ci_high: high - 1.0,
        p_value: test.p_value,
        verdict,
    }
}

// ---------------------------------------------------------------------------------------
// Mann–Whitney U
// ---------------------------------------------------------------------------------------

/// Result of a two-sided Mann–Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MannWhitney {
    /// U of the first sample: the number of pairs (xᵢ, yⱼ) with xᵢ > yⱼ, ties counting ½
    /// (= R_x − m(m + 1)/2 with R_x the sum of x's mid-ranks). scipy's `statistic`.
    pub u_x: f64,
    /// U of the second sample, m·n − u_x.
    pub u_y: f64,
    /// Two-sided p-value, in [0, 1].
    pub p_value: f64,
    /// Whether the p-value comes from the exact null distribution (else the normal
    /// approximation).
    pub exact: bool,
}

/// Two-sided Mann–Whitney U test (Mann and Whitney 1947), following
/// `scipy.stats.mannwhitneyu(x, y)` with its defaults (`use_continuity=True`,
/// `method="auto"`), whose p-values it reproduces.
///
/// With U = max(u_x, u_y):
/// * **Exact** when there are no ties and min(m, n) ≤ [`MWU_EXACT_MAX_SMALLER`] (and
///   max(m, n) ≤ 100,000): p = 2·P(U′ ≥ U) under H₀, clipped to 1. The null frequencies of U
///   are the coefficients of the Gaussian binomial [m+n choose m]_q = ∏ᵢ₌₁..ₘ (1 − q^(n+i)) /
///   (1 − q^i) (Andrews 1976, Thm 3.1), expanded in exact `i128` integer arithmetic.
/// * **Normal approximation** otherwise: z = (U − mn/2 − ½) / σ with the tie-corrected
///   σ² = mn/12 · ((N + 1) − Σ(t³ − t) / (N(N − 1))), N = m + n, t the sizes of the groups of
///   tied values (Lehmann 1975, §1.4), and p = 2·(1 − Φ(z)), clipped to [0, 1]. The −½ is the
///   continuity correction. When every value is tied (σ = 0), p = 1.
///
/// Ties are values that compare equal with `==` (so 0.0 and −0.0 tie). `None` when either
/// sample is empty or holds a NaN or an infinity.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    let (m, n) = (x.len(), y.len());
    if m == 0 || n == 0 || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    all.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let total = all.len();
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    let mut ties = false;
    let mut i = 0;
    while i < total {
        let mut j = i + 1;
        while j < total && all[j].0 == all[i].0 {
            j += 1;
        }
        // Ranks i + 1 ..= j share their average (mid-rank).
        let mid_rank = (i + 1 + j) as f64 / 2.0;
        let in_x = all[i..j].iter().filter(|e| e.1).count();
        rank_sum_x += mid_rank * in_x as f64;
        if j - i > 1 {
            ties = true;
            let t = (j - i) as f64;
            tie_term += t * t * t - t;
        }
        i = j;
    }
    let mn = (m as f64) * (n as f64);
    let u_x = rank_sum_x - (m as f64) * (m as f64 + 1.0) / 2.0;
    let u_y = mn - u_x;
    let u = u_x.max(u_y);
    let exact = !ties && m.min(n) <= MWU_EXACT_MAX_SMALLER && m.max(n) <= MWU_EXACT_MAX_LARGER;
    let p_value = if exact {
        // Without ties U is an integer.
        2.0 * mann_whitney_exact_sf(m, n, u.round() as usize)
    } else {
        let nn = total as f64;
        let variance = mn / 12.0 * ((nn + 1.0) - tie_term / (nn * (nn - 1.0)));
        if variance > 0.0 {
            let z = (u - mn / 2.0 - 0.5) / variance.sqrt();
            // 2·(1 − Φ(z)) = erfc(z / √2).
            erfc(z / std::f64::consts::SQRT_2)
        } else {
            1.0
        }
    };
    Some(MannWhitney {
        u_x,
        u_y,
        p_value: p_value.clamp(0.0, 1.0),
        exact,
    })
}

/// Frequencies of U = 0 ..= m·n under H₀ for samples of sizes m and n: the coefficients of
/// the Gaussian binomial [m+n choose m]_q, built as
/// [n+i choose i]_q = [n+i−1 choose i−1]_q · (1 − q^(n+i)) / (1 − q^i) for i = 1..=min(m, n).
/// Exact: every intermediate is an integer no larger in magnitude than C(m + n, m), which the
/// caller keeps below 2¹²⁶.
fn mann_whitney_exact_counts(m: usize, n: usize) -> Vec<i128> {
    let (small, large) = (m.min(n), m.max(n));
    let degree = small * large;
    let mut c = vec![0_i128; degree + small + 1];
    c[0] = 1;
    for i in 1..=small {
        let a = large + i;
        // Multiply by (1 − q^a), from the top so that c[k − a] is still the old value.
        for k in (a..c.len()).rev() {
            c[k] -= c[k - a];
        }
        // Divide by (1 − q^i): the power series 1 / (1 − q^i) = Σ q^(ik); exact because the
        // quotient is the polynomial [large+i choose i]_q.
        for k in i..c.len() {
            c[k] += c[k - i];
        }
    }
    c.truncate(degree + 1);
    c
}

/// P(U ≥ u) under H₀ for sample sizes m and n, exactly (see [`mann_whitney_exact_counts`]).
fn mann_whitney_exact_sf(m: usize, n: usize, u: usize) -> f64 {
    let counts = mann_whitney_exact_counts(m, n);
    let total: i128 = counts.iter().sum();
    let tail: i128 = counts.iter().skip(u).sum();
    tail as f64 / total as f64
}

/// Complementary error function erfc(x) = 1 − erf(x), with a relative error below 1e-13
/// from x = −∞ to the underflow at x ≈ 27 (checked against `scipy.special.erfc`), so that
/// even p-values of 1e-12 are right to many digits.
///
/// * x < 2: erfc = 1 − erf with the series of positive terms
///   erf x = (2/√π) e^(−x²) Σₖ 2ᵏ x^(2k+1) / (1·3···(2k+1)) (Abramowitz and Stegun 7.1.6).
/// * x ≥ 2: erfc x = (e^(−x²)/√π) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))) (A&S 7.1.14),
///   evaluated with the modified Lentz algorithm (Lentz 1976; Thompson and Barnett 1986).
/// * x < 0: erfc x = 2 − erfc(−x). NaN for NaN.
fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    let two_over_sqrt_pi = std::f64::consts::FRAC_2_SQRT_PI;
    if x < 2.0 {
        let x2 = x * x;
        let mut term = x;
        let mut sum = x;
        let mut k = 0.0;
        while term > sum * 1e-17 && k < 200.0 {
            k += 1.0;
            term *= 2.0 * x2 / (2.0 * k + 1.0);
            sum += term;
        }
        1.0 - two_over_sqrt_pi * (-x2).exp() * sum
    } else if x > 27.3 {
        // erfc(27.3) ≈ 1e-325 is below the smallest subnormal.
        0.0
    } else {
        const TINY: f64 = 1e-300;
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for j in 1..1000 {
            let a = f64::from(j) / 2.0;
            d = x + a * d;
            if d == 0.0 {
                d = TINY;
            }
            d = 1.0 / d;
            c = x + a / c;
            if c == 0.0 {
                c = TINY;
            }
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        // e^(−x²)/√π = (2/√π)/2 · e^(−x²).
        two_over_sqrt_pi / 2.0 * (-x * x).exp() / f
    }
}

// ---------------------------------------------------------------------------------------
// Outliers
// ---------------------------------------------------------------------------------------

/// Modified z-scores of Iglewicz and Hoaglin (1993, ch. 3):
/// Mᵢ = 0.6745 (xᵢ − x̃) / MAD, with x̃ the median and MAD = median |xᵢ − x̃| *unscaled*
/// (0.6745 ≈ 1/1.4826 puts M on the standard normal scale). |Mᵢ| > [`OUTLIER_Z`] = 3.5 is an
/// outlier; perfguide calls |Mᵢ| > [`SEVERE_OUTLIER_Z`] = 7 severe. (hyperfine cites the same
/// source but warns only beyond |xᵢ − x̃| / MAD > 14.826, i.e. |Mᵢ| > 10, and replaces a zero
/// MAD by machine epsilon; perfguide keeps the authors' 3.5 and the fallback below.)
///
/// **MAD = 0** (more than half of the samples are identical, e.g. a coarse clock): M is
/// undefined, and the convention of IBM Cognos Analytics' "modified z score" is used:
/// Mᵢ = (xᵢ − x̃) / (1.253314 · MeanAD), MeanAD = mean |xᵢ − x̃|, 1.253314 = √(π/2) being the
/// consistency constant of the mean absolute deviation. If that is 0 too (all samples equal),
/// every score is 0.
///
/// Scores are in the order of `samples` (unsorted input is fine). Empty input gives an empty
/// vector; if any sample is NaN or infinite, every score is NaN.
pub fn modified_z_scores(samples: &[f64]) -> Vec<f64> {
    let Some(sorted) = sorted_finite(samples) else {
        return vec![f64::NAN; samples.len()];
    };
    let med = median(&sorted);
    let raw_mad = raw_mad_of_sorted(&sorted, med);
    if raw_mad > 0.0 {
        return samples
            .iter()
            .map(|x| MODIFIED_Z_FACTOR * (x - med) / raw_mad)
            .collect();
    }
    let mean_ad = mean_of(&sorted.iter().map(|x| (x - med).abs()).collect::<Vec<_>>());
    if mean_ad > 0.0 {
        samples
            .iter()
            .map(|x| (x - med) / (MEAN_AD_SCALE * mean_ad))
            .collect()
    } else {
        vec![0.0; samples.len()]
    }
}

// ---------------------------------------------------------------------------------------
// Fits for charts
// ---------------------------------------------------------------------------------------

/// Coefficient of determination R² = 1 − SS_res / SS_tot (Kvålseth 1985's R²₁). When every y
/// is equal (SS_tot = 0) it is 1 for a perfect fit and 0 otherwise.
fn r_squared(ss_res: f64, ss_tot: f64) -> f64 {
    if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res == 0.0 {
        1.0
    } else {
        0.0
    }
}

/// A least-squares straight line y = slope·x + intercept.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearFit {
    /// Slope.
    pub slope: f64,
    /// Intercept.
    pub intercept: f64,
    /// Coefficient of determination; equals the squared Pearson correlation.
    pub r_squared: f64,
    /// Number of points.
    pub n: usize,
}

impl LinearFit {
    /// The fitted value at x.
    pub fn predict(&self, x: f64) -> f64 {
        self.slope * x + self.intercept
    }
}

/// Ordinary least squares y = slope·x + intercept, from centred sums:
/// slope = Σ(x − x̄)(y − ȳ) / Σ(x − x̄)², intercept = ȳ − slope·x̄, R² = 1 − SS_res/SS_tot
/// (= r², as `scipy.stats.linregress(x, y).rvalue**2`).
///
/// NaN slope, intercept and R² (with `n` the number of points given) when the lengths differ,
/// there are fewer than 2 points, a value is not finite, or every x is equal.
pub fn linear_fit(x: &[f64], y: &[f64]) -> LinearFit {
    let invalid = LinearFit {
        slope: f64::NAN,
        intercept: f64::NAN,
        r_squared: f64::NAN,
        n: x.len().min(y.len()),
    };
    if x.len() != y.len() || x.len() < 2 || x.iter().chain(y).any(|v| !v.is_finite()) {
        return invalid;
    }
    let (mx, my) = (mean_of(x), mean_of(y));
    let sxx = compensated_sum(x.iter().map(|a| (a - mx) * (a - mx)));
    let sxy = compensated_sum(x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)));
    let syy = compensated_sum(y.iter().map(|b| (b - my) * (b - my)));
    if !sxx.is_finite() || sxx <= 0.0 {
        return invalid;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_res = compensated_sum(x.iter().zip(y).map(|(a, b)| {
        let r = b - (slope * a + intercept);
        r * r
    }));
    let fit = LinearFit {
        slope,
        intercept,
        r_squared: r_squared(ss_res, syy),
        n: x.len(),
    };
    if fit.slope.is_finite() && fit.intercept.is_finite() && fit.r_squared.is_finite() {
        fit
    } else {
        invalid
    }
}

/// A power law y = a·x^b fitted on log–log axes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerFit {
    /// Prefactor a = e^(intercept of the log–log line).
    pub a: f64,
    /// Exponent b (slope of the log–log line): 1 is linear scaling, 2 quadratic.
    pub b: f64,
    /// R² of the straight-line fit in log–log space (not of y itself).
    pub r_squared: f64,
    /// Number of points.
    pub n: usize,
}

impl PowerFit {
    /// The fitted value a·x^b.
    pub fn predict(&self, x: f64) -> f64 {
        self.a * x.powf(self.b)
    }
}

/// Power law y = a·x^b by least squares on (ln x, ln y) ([`linear_fit`]): b = slope,
/// a = e^intercept, R² in log space — what `numpy.polyfit(np.log(x), np.log(y), 1)` gives.
/// This minimises *relative* errors, the right weighting for times spanning decades.
///
/// NaN fields when the lengths differ, fewer than 2 points, a value is not finite or not
/// strictly positive, or every x is equal.
pub fn loglog_fit(x: &[f64], y: &[f64]) -> PowerFit {
    let invalid = PowerFit {
        a: f64::NAN,
        b: f64::NAN,
        r_squared: f64::NAN,
        n: x.len().min(y.len()),
    };
    if x.iter().chain(y).any(|v| !(v.is_finite() && *v > 0.0)) {
        return invalid;
    }
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let line = linear_fit(&lx, &ly);
    if line.slope.is_nan() {
        return invalid;
    }
    PowerFit {
        a: line.intercept.exp(),
        b: line.slope,
        r_squared: line.r_squared,
        n: line.n,
    }
}

/// Amdahl's law fitted to a thread sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AmdahlFit {
    /// Serial fraction s in [0, 1].
    pub serial_fraction: f64,
    /// R² = 1 − SS_res/SS_tot of the speed-ups (may be negative for a poor fit: the model has
    /// no free intercept).
    pub r_squared: f64,
    /// Number of points.
    pub n: usize,
}

impl AmdahlFit {
    /// The model's speed-up on p threads, S(p) = 1 / (s + (1 − s)/p).
    pub fn predict(&self, threads: f64) -> f64 {
        amdahl(self.serial_fraction, threads)
    }

    /// The asymptotic speed-up 1/s (infinite for s = 0).
    pub fn max_speedup(&self) -> f64 {
        1.0 / self.serial_fraction
    }
}

/// Amdahl's (1967) law: S(p) = 1 / (s + (1 − s)/p).
fn amdahl(s: f64, p: f64) -> f64 {
    1.0 / (s + (1.0 - s) / p)
}

/// Serial fraction s ∈ [0, 1] minimising Σ (Sᵢ − 1/(s + (1 − s)/pᵢ))², the squared error of
/// the measured speed-ups themselves (not of 1/S, the Karp–Flatt linearisation, which would
/// weight the small speed-ups most).
///
/// There is no closed form, so: a grid of s = 0, 0.001, …, 1, then golden-section search
/// (Kiefer 1953) on the grid cell either side of the best point down to |Δs| < 1e-13; the
/// best of the grid point and the refined point wins. R² = 1 − SS_res/SS_tot.
///
/// NaN fields when the lengths differ, there are no points, a value is not finite or not
/// strictly positive, or every thread count is 1 (s is then undetermined).
pub fn amdahl_fit(threads: &[f64], speedup: &[f64]) -> AmdahlFit {
    let invalid = AmdahlFit {
        serial_fraction: f64::NAN,
        r_squared: f64::NAN,
        n: threads.len().min(speedup.len()),
    };
    if threads.len() != speedup.len()
        || threads.is_empty()
        || threads
            .iter()
            .chain(speedup)
            .any(|v| !(v.is_finite() && *v > 0.0))
        || threads.iter().all(|&p| p == 1.0)
    {
        return invalid;
    }
    let sse = |s: f64| -> f64 {
        compensated_sum(threads.iter().zip(speedup).map(|(&p, &y)| {
            let r = y - amdahl(s, p);
            r * r
        }))
    };
    const GRID: usize = 1000;
    let mut best_i = 0;
    let mut best = f64::INFINITY;
    for i in 0..=GRID {
        let v = sse(i as f64 / GRID as f64);
        if v < best {
            best = v;
            best_i = i;
        }
    }
    let mut best_s = best_i as f64 / GRID as f64;
    let mut a = best_i.saturating_sub(1) as f64 / GRID as f64;
    let mut b = (best_i + 1).min(GRID) as f64 / GRID as f64;
    let inv_phi = (5.0_f64.sqrt() - 1.0) / 2.0;
    let mut c = b - inv_phi * (b - a);
    let mut d = a + inv_phi * (b - a);
    let (mut fc, mut fd) = (sse(c), sse(d));
    let mut iterations = 0;
    while b - a > 1e-13 && iterations < 200 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - inv_phi * (b - a);
            fc = sse(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + inv_phi * (b - a);
            fd = sse(d);
        }
        iterations += 1;
    }
    let refined = (a + b) / 2.0;
    let refined_sse = sse(refined);
    if refined_sse <= best {
        best = refined_sse;
        best_s = refined;
    }
    let mean = mean_of(speedup);
    let ss_tot = compensated_sum(speedup.iter().map(|y| (y - mean) * (y - mean)));
    AmdahlFit {
        serial_fraction: best_s,
        r_squared: r_squared(best, ss_tot),
        n: threads.len(),
    }
}

// ---------------------------------------------------------------------------------------
// Wall time, CPU time and a busy machine
// ---------------------------------------------------------------------------------------

/// CPU seconds per wall second over a measurement: Σ cpu / Σ wall (ratio of sums, so long
/// samples weigh more, as they should). About 1 for a single busy thread, about p for p busy
/// threads. NaN when the lengths differ, the input is empty, a value is not finite or is
/// negative, or Σ wall is 0.
pub fn cpu_utilisation(cpu_s: &[f64], wall_s: &[f64]) -> f64 {
    if cpu_s.len() != wall_s.len()
        || cpu_s.is_empty()
        || cpu_s
            .iter()
            .chain(wall_s)
            .any(|v| !(v.is_finite() && *v >= 0.0))
    {
        return f64::NAN;
    }
    let wall = compensated_sum(wall_s.iter().copied());
    if wall > 0.0 {
        compensated_sum(cpu_s.iter().copied()) / wall
    } else {
        f64::NAN
    }
}

/// Linux's 1-minute load average after `seconds` with `runnable` tasks, starting from
/// `previous`: L = previous·e^(−t/60) + runnable·(1 − e^(−t/60)). The kernel applies this
/// exponential moving average every 5 s (kernel/sched/loadavg.c, EXP_1 = 1884/2048 ≈
/// e^(−5/60)), so the model is exact at multiples of 5 s. Use it to predict how much of the
/// load average a process's own threads account for (see [`looks_busy_with_own_load`]).
pub fn own_load_average(previous: f64, runnable: f64, seconds: f64) -> f64 {
    let decay = (-seconds.max(0.0) / LOAD_AVERAGE_PERIOD_S).exp();
    previous * decay + runnable * (1.0 - decay)
}

/// Whether the machine looked busy during a measurement; `Some(reason)` in plain words if so.
///
/// The same rule as [`looks_busy_with_own_load`], with this process accounting for
/// min(threads, cores) of the load average at both ends: the most its threads can contribute.
/// That allowance never blames the process's own threads (or a predecessor of the same width)
/// on someone else; its blind spot is a competitor that fits inside it — a single competing
/// thread next to a short single-threaded measurement (the 1-minute average has barely risen
/// by the end). A harness that knows its own history should call
/// [`looks_busy_with_own_load`] with [`own_load_average`] instead.
///
/// * `cpu_per_wall`: [`cpu_utilisation`] of the samples.
/// * `threads`: threads the kernel keeps busy throughout (1 for a serial variant). A variant
///   whose threads idle by design (static partitioning, a serial phase) gets less CPU than
///   threads × wall on an idle machine too; pass the number that stay busy.
/// * `load_before`, `load_after`: the 1-minute load average (first field of /proc/loadavg)
///   just before the first sample and just after the last.
/// * `cores`: logical cores of the machine.
pub fn looks_busy(
    cpu_per_wall: f64,
    threads: usize,
    load_before: f64,
    load_after: f64,
    cores: usize,
) -> Option<String> {
    let own = usable_cores(threads, cores) as f64;
    looks_busy_with_own_load(
        cpu_per_wall,
        threads,
        cores,
        (load_before, load_after),
        (own, own),
    )
}

/// min(max(threads, 1), max(cores, 1)): the cores a process with `threads` busy threads can use.
pub fn usable_cores(threads: usize, cores: usize) -> usize {
    threads.max(1).min(cores.max(1))
}

/// The busy-machine rule. Two independent signals; either one flags the measurement.
///
/// 1. **Starved of CPU**: `cpu_per_wall` < [`BUSY_CPU_FRACTION`] (0.9) · min(threads, cores).
///    A CPU-bound thread on an idle core gets 97–99% of it (timer interrupts, kernel
///    housekeeping and the harness's own clock reads take the rest). Getting less than 90%
///    means another runnable task held the cores this process needed for at least a tenth of
///    the time, which moves a median by far more than the ±2% the harness aims for.
/// 2. **Competing load**: the 1-minute load average exceeds what this process accounts for
///    (`own_load`, at the same end) by more than [`BUSY_LOAD_EXCESS`] (0.5) cores, before or
///    after the measurement. An idle machine's background (daemons, kernel threads) stays
///    around 0.0–0.2; half a core of competing demand on average is well above that and
///    above the load average's own granularity (11-bit fixed point, printed to 0.01), and is
///    enough to share caches, memory bandwidth and turbo budget with the kernel even on a
///    core of its own. Checking both ends catches a competitor that stopped during the
///    measurement (before) and one that started during it (after, subject to the average's
///    60 s time constant).
///
/// `own_load` = (before, after), e.g. from [`own_load_average`]. A signal whose input is not
/// finite is skipped (no evidence either way). Reasons are joined with "; ".
pub fn looks_busy_with_own_load(
    cpu_per_wall: f64,
    threads: usize,
    cores: usize,
    load: (f64, f64),
    own_load: (f64, f64),
) -> Option<String> {
    let usable = usable_cores(threads, cores);
    let mut reasons = Vec::new();
    let expected = BUSY_CPU_FRACTION * usable as f64;
    if cpu_per_wall.is_finite() && cpu_per_wall < expected {
        let plural = if usable == 1 { "" } else { "s" };
        reasons.push(format!(
            "the process got {cpu_per_wall:.2} CPU-seconds per second, less than {:.0}% of the \
             {usable} core{plural} its {} thread{} could use: another task competed for the CPU",
            BUSY_CPU_FRACTION * 100.0,
            threads.max(1),
            if threads.max(1) == 1 { "" } else { "s" },
        ));
    }
    for (when, total, own) in [
        ("before", load.0, own_load.0),
        ("after", load.1, own_load.1),
    ] {
        if total.is_finite() && own.is_finite() && total - own > BUSY_LOAD_EXCESS {
            reasons.push(format!(
                "the 1-minute load average was {total:.2} {when} the measurement, {:.2} more \
                 than this process accounts for ({own:.2})",
                total - own
            ));
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

#[cfg(test)]
mod tests {
    //! Expected values come from independent implementations, named at each constant:
    //! Python 3 `statistics` (exact rational arithmetic), NumPy 2.4.6 and SciPy 1.17.1.
    //! The script that produced them is reproduced in the comments next to each value.
    use super::*;
    use proptest::prelude::*;

    /// |actual − expected| ≤ rel · max(|expected|, tiny).
    #[track_caller]
    fn close(actual: f64, expected: f64, rel: f64) {
        let tol = rel * expected.abs().max(1e-300);
        assert!(
            (actual - expected).abs() <= tol,
            "actual {actual:e}, expected {expected:e} (rel. tolerance {rel:e})"
        );
    }

    /// Timings with one interruption (0.0125): n = 12, ties at 0.01010 and 0.01011.
    const D1: [f64; 12] = [
        0.01012, 0.01008, 0.01015, 0.01010, 0.01011, 0.01009, 0.01250, 0.01013, 0.01010, 0.01007,
        0.01011, 0.01014,
    ];
    /// A worked example of modified z-scores (median 12, MAD 1): n = 7.
    const D2: [f64; 7] = [10.0, 11.0, 12.0, 12.0, 13.0, 14.0, 35.0];
    /// 40 log-normal timings around 2 ms, σ = 2%:
    /// `0.002 * np.exp(np.random.default_rng(7).normal(0, 0.02, 40))`, rounded to 9 digits.
    const D3: [f64; 40] = [
        0.002000049,
        0.002011986,
        0.001989064,
        0.001964692,
        0.001981896,
        0.001960725,
        0.002002407,
        0.002054334,
        0.001980408,
        0.001975334,
        0.00201969,
        0.002014327,
        0.002004221,
        0.001963125,
        0.00199883,
        0.002028006,
        0.001946948,
        0.001981779,
        0.001925379,
        0.001949078,
        0.001927671,
        0.001990618,
        0.001949939,
        0.00201088,
        0.00200628,
        0.001992537,
        0.001901821,
        0.001978568,
        0.001998061,
        0.002004537,
        0.001939722,
        0.001980981,
        0.00196124,
        0.001967907,
        0.002042889,
        0.001967958,
        0.0019987,
        0.00203569,
        0.001976792,
        0.001995537,
    ];
    /// The next 40 draws of the same generator, times 1.03: a variant 3% slower.
    const D3_SLOW: [f64; 40] = [
        0.002064556,
        0.002062629,
        0.002010141,
        0.002063139,
        0.002116751,
        0.001997234,
        0.002095713,
        0.002064923,
        0.00203374,
        0.002144088,
        0.002091646,
        0.002011177,
        0.002063072,
        0.002083897,
        0.002052237,
        0.002088329,
        0.002057261,
        0.002087675,
        0.002120128,
        0.00203235,
        0.002068386,
        0.002041,
        0.00206525,
        0.002011664,
        0.002036271,
        0.002051933,
        0.002097364,
        0.002107728,
        0.002006186,
        0.00202752,
        0.002086826,
        0.001979526,
        0.002041006,
        0.002055996,
        0.002112446,
        0.0020886,
        0.002046563,
        0.002044871,
        0.002049718,
        0.002123736,
    ];

    fn sorted(d: &[f64]) -> Vec<f64> {
        sorted_finite(d).expect("finite test data")
    }

    // ----- location, spread, quantiles -------------------------------------------------

    #[test]
    fn mean_and_stddev_match_python_statistics() {
        // statistics.mean(D) and statistics.stdev(D): exact rational arithmetic.
        for (d, mean, sd) in [
            (&D1[..], 0.010308333333333333, 0.0006905970188353283),
            (&D2[..], 15.285714285714286, 8.788520651286838),
            (&D3[..], 0.00198451515, 3.249964073375394e-05),
        ] {
            let s = summarize(d).unwrap();
            close(s.mean, mean, 1e-15);
            close(s.stddev, sd, 1e-13);
        }
    }

    #[test]
    fn mean_of_identical_values_is_exact_and_stddev_zero() {
        let s = summarize(&[0.1, 0.1, 0.1]).unwrap();
        assert_eq!(s.mean, 0.1);
        assert_eq!(s.stddev, 0.0);
        assert_eq!(summarize(&[0.25]).unwrap().stddev, 0.0);
    }

    #[test]
    fn median_matches_python_statistics() {
        // statistics.median(D)
        assert_eq!(median(&sorted(&D1)), 0.01011);
        assert_eq!(median(&sorted(&D2)), 12.0);
        assert_eq!(median(&sorted(&D3)), 0.00198548);
        assert_eq!(median(&[1.0, 2.0]), 1.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn quantile_is_type_7_like_numpy() {
        // numpy.quantile(sorted(D), q) (default method="linear" = Hyndman–Fan type 7).
        let qs = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975, 1.0];
        let expected: [(&[f64], [f64; 8]); 3] = [
            (
                &D1,
                [
                    0.01007,
                    0.010081,
                    0.010097499999999999,
                    0.01011,
                    0.0101325,
                    0.010149,
                    0.01185375,
                    0.0125,
                ],
            ),
            (
                &D2,
                [
                    10.0,
                    10.6,
                    11.5,
                    12.0,
                    13.5,
                    22.400000000000006,
                    31.849999999999994,
                    35.0,
                ],
            ),
            (
                &D3,
                [
                    0.001901821,
                    0.0019462254,
                    0.0019643002500000003,
                    0.00198548,
                    0.0020043,
                    0.0020205216,
                    0.002043175125,
                    0.002054334,
                ],
            ),
        ];
        for (d, values) in expected {
            let s = sorted(d);
            for (q, v) in qs.iter().zip(values) {
                close(quantile(&s, *q), v, 1e-15);
            }
        }
    }

    #[test]
    fn quantile_edge_cases() {
        assert!(quantile(&[], 0.5).is_nan());
        assert!(quantile(&[1.0, 2.0], f64::NAN).is_nan());
        assert_eq!(quantile(&[3.0], 0.7), 3.0);
        assert_eq!(quantile(&[1.0, 2.0], -1.0), 1.0);
        assert_eq!(quantile(&[1.0, 2.0], 2.0), 2.0);
        // Extreme values do not overflow the interpolation.
        assert_eq!(quantile(&[-f64::MAX, f64::MAX], 0.5), 0.0);
    }

    #[test]
    fn mad_matches_scipy() {
        // scipy.stats.median_abs_deviation(D, scale=1/1.4826)
        close(mad(&D1), 2.9652000000000078e-05, 1e-12);
        close(mad(&D2), 1.4826, 1e-15);
        close(mad(&D3), 2.9537098499999795e-05, 1e-12);
        assert!(mad(&[]).is_nan());
        assert_eq!(mad(&[5.0; 4]), 0.0);
    }

    // ----- confidence interval of the median ---------------------------------------------

    #[test]
    fn median_ci_ranks_match_the_binomial() {
        // Largest k with 1 - 2*scipy.stats.binom.cdf(k-1, n, 0.5) >= 0.95; (n, k, coverage).
        let table = [
            (6, 1, 0.96875),
            (7, 1, 0.984375),
            (8, 1, 0.9921875),
            (9, 2, 0.9609375),
            (10, 2, 0.978515625),
            (20, 6, 0.9586105346679688),
            (50, 18, 0.9671608624357315),
            (100, 40, 0.9647997997822951),
            (1000, 469, 0.9537088026395019),
            // Past 1000 the probabilities are summed in log space.
            (1001, 470, 0.9500154764972456),
            (5000, 2431, 0.9506841418958285),
        ];
        for (n, k, coverage) in table {
            let r = median_ci_ranks(n, 0.95).unwrap();
            assert_eq!((r.low, r.high), (k - 1, n - k), "n = {n}");
            assert!(r.attained);
            close(r.coverage, coverage, 1e-12);
        }
    }

    #[test]
    fn median_ci_falls_back_to_min_max_below_six_samples() {
        // Coverage of min..max is 1 - 2^(1-n): 0, 0.5, 0.75, 0.875, 0.9375 for n = 1..5.
        for (n, coverage) in [(1, 0.0), (2, 0.5), (3, 0.75), (4, 0.875), (5, 0.9375)] {
            let r = median_ci_ranks(n, 0.95).unwrap();
            assert_eq!((r.low, r.high), (0, n - 1));
            assert!(!r.attained);
            assert_eq!(r.coverage, coverage);
        }
        assert_eq!(median_ci(&[1.0, 2.0, 3.0], 0.95), (1.0, 3.0));
        // An exactly attainable confidence counts as attained (2 * 2^-5 is exact).
        assert!(median_ci_ranks(5, 0.9375).unwrap().attained);
        assert!(median_ci_ranks(0, 0.95).is_none());
        assert!(median_ci_ranks(10, f64::NAN).is_none());
        let (lo, hi) = median_ci(&[], 0.95);
        assert!(lo.is_nan() && hi.is_nan());
    }

    #[test]
    fn median_ci_matches_scipy_quantile_test() {
        // scipy.stats.quantile_test(D, q=statistics.median(D), p=0.5).confidence_interval(0.95)
        assert_eq!(median_ci(&sorted(&D1), 0.95), (0.01009, 0.01014));
        assert_eq!(median_ci(&sorted(&D2), 0.95), (10.0, 35.0));
        assert_eq!(median_ci(&sorted(&D3), 0.95), (0.001975334, 0.00199883));
        // 1..=20: scipy gives (6, 15); 1..=50: (18, 33).
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(median_ci(&v, 0.95), (6.0, 15.0));
        let v: Vec<f64> = (1..=50).map(f64::from).collect();
        assert_eq!(median_ci(&v, 0.95), (18.0, 33.0));
    }

    #[test]
    fn median_ci_confidence_extremes() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        // Confidence 0: the narrowest interval, the two middle values.
        assert_eq!(median_ci(&v, 0.0), (5.0, 6.0));
        // Confidence 1 is unattainable: min..max, flagged.
        assert_eq!(median_ci(&v, 1.0), (1.0, 10.0));
        assert!(!median_ci_ranks(10, 1.0).unwrap().attained);
        assert_eq!(median_ci(&v, 7.0), (1.0, 10.0));
    }

    #[test]
    fn enough_samples_rule() {
        // D3: CI (0.001975334, 0.00199883) around 0.00198548: half-width 0.5917%.
        assert!(enough_samples(&D3, 0.02, 0.95));
        assert!(enough_samples(&D3, 0.006, 0.95));
        assert!(!enough_samples(&D3, 0.005, 0.95));
        // Five identical samples: a zero-width interval, but 95% is not attained below n = 6.
        assert!(!enough_samples(&[1.0; 5], 0.02, 0.95));
        assert!(enough_samples(&[1.0; 6], 0.02, 0.95));
        assert!(!enough_samples(&[], 0.02, 0.95));
        assert!(!enough_samples(
            &[1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0],
            0.02,
            0.95
        ));
        assert!(!enough_samples(&[0.0; 10], 0.02, 0.95));
        assert!(!enough_samples(&D3, f64::NAN, 0.95));
    }

    // ----- summary -------------------------------------------------------------------

    #[test]
    fn summary_of_timings_with_an_interruption() {
        let s = summarize(&D1).unwrap();
        assert_eq!(s.n, 12);
        assert_eq!((s.min, s.max, s.median), (0.01007, 0.0125, 0.01011));
        assert_eq!((s.ci_low, s.ci_high), (0.01009, 0.01014));
        close(
            s.ci_half_width_rel,
            (0.01014 - 0.01009) / 2.0 / 0.01011,
            1e-12,
        );
        // Modified z of 0.0125 is 80.6 (see modified_z_scores_match_python): severe.
        assert_eq!((s.outliers_mild, s.outliers_severe), (0, 1));
        let s = summarize(&D2).unwrap();
        // 35 scores 15.5: severe; nothing else above 1.35.
        assert_eq!((s.outliers_mild, s.outliers_severe), (0, 1));
        let s = summarize(&D3).unwrap();
        assert_eq!((s.outliers_mild, s.outliers_severe), (0, 0));
    }

    #[test]
    fn summary_counts_mild_and_severe_outliers() {
        // Median 10, raw MAD 1: z = 0.6745 * (x - 10). 16 → 4.05 (mild), 22 → 8.09 (severe),
        // 4 → -4.05 (mild, low side).
        let d = [
            9.0, 10.0, 11.0, 9.0, 10.0, 11.0, 10.0, 16.0, 22.0, 4.0, 10.0,
        ];
        let s = summarize(&d).unwrap();
        assert_eq!((s.outliers_mild, s.outliers_severe), (2, 1));
    }

    #[test]
    fn summarize_rejects_invalid_input() {
        assert!(summarize(&[]).is_none());
        assert!(summarize(&[1.0, f64::NAN]).is_none());
        assert!(summarize(&[1.0, f64::INFINITY]).is_none());
        assert!(summarize(&[f64::MAX, f64::MAX, -f64::MAX]).is_none());
        // A zero median with a non-zero interval saturates instead of being infinite.
        let s = summarize(&[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]).unwrap();
        assert_eq!(s.ci_half_width_rel, f64::MAX);
    }

    #[test]
    fn summary_round_trips_through_json() {
        let s = summarize(&D3).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: Summary = serde_json::from_str(&json).unwrap();
        assert_eq!(s, back);
        assert!(json.contains("\"ci_half_width_rel\""));
    }

    // ----- outliers ------------------------------------------------------------------

    #[test]
    fn modified_z_scores_match_python() {
        // m = np.median(D); mad = np.median(np.abs(D - m)); 0.6745 * (x - m) / mad
        let d1 = [
            0.33725000000004385,
            -1.0117499999999562,
            1.349,
            -0.3372499999999854,
            0.0,
            -0.6744999999999708,
            80.60274999999983,
            0.6745000000000292,
            -0.3372499999999854,
            -1.3489999999999416,
            0.0,
            1.0117500000000146,
        ];
        for (z, e) in modified_z_scores(&D1).iter().zip(d1) {
            close(*z, e, 1e-9);
        }
        let d2 = [-1.349, -0.6745, 0.0, 0.0, 0.6745, 1.349, 15.5135];
        for (z, e) in modified_z_scores(&D2).iter().zip(d2) {
            close(*z, e, 1e-15);
        }
        // D3, first and most extreme scores.
        let z3 = modified_z_scores(&D3);
        close(z3[0], 0.4932508721295007, 1e-9);
        close(z3[26], -2.8323752290124435, 1e-9);
        close(z3[7], 2.331134295394675, 1e-9);
    }

    #[test]
    fn modified_z_scores_when_mad_is_zero() {
        // MAD = 0: (x - median) / (1.253314 * MeanAD); MeanAD = 90/8 = 11.25.
        // Python: 90/(1.253314*11.25) = 6.383077185765099.
        let d = [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 100.0];
        let z = modified_z_scores(&d);
        assert_eq!(&z[..7], &[0.0; 7]);
        close(z[7], 6.383077185765099, 1e-14);
        assert_eq!(modified_z_scores(&[3.0; 4]), vec![0.0; 4]);
        assert!(modified_z_scores(&[]).is_empty());
        assert!(
            modified_z_scores(&[1.0, f64::NAN])
                .iter()
                .all(|z| z.is_nan())
        );
    }

    // ----- random numbers and the bootstrap ----------------------------------------------

    #[test]
    fn splitmix64_matches_the_kernels_stream() {
        // perfguide_kernels::rng::rand_u64(42, k) for k = 0, 1, 2 (published values).
        let mut g = SplitMix64::new(42);
        assert_eq!(g.next_u64(), 13679457532755275413);
        assert_eq!(g.next_u64(), 2949826092126892291);
        assert_eq!(g.next_u64(), 5139283748462763858);
    }

    #[test]
    fn bootstrap_matches_an_independent_python_implementation() {
        // Python: SplitMix64 as above, index = (r * n) >> 64, np.median of each resample
        // of sorted(D), then np.quantile(medians, [(1-c)/2, (1+c)/2]).
        let (lo, hi) = bootstrap_median_ci(&D1, 0.95, 2000, 42);
        close(lo, 0.010095, 1e-15);
        close(hi, 0.010135, 1e-15);
        let (lo, hi) = bootstrap_median_ci(&D3, 0.90, 1000, 7);
        close(lo, 0.00197853315, 1e-15);
        close(hi, 0.0019983805, 1e-15);
    }

    #[test]
    fn bootstrap_invalid_input() {
        for (lo, hi) in [
            bootstrap_median_ci(&[], 0.95, 100, 1),
            bootstrap_median_ci(&[1.0, f64::NAN], 0.95, 100, 1),
            bootstrap_median_ci(&D1, 0.95, 0, 1),
            bootstrap_median_ci(&D1, f64::NAN, 100, 1),
        ] {
            assert!(lo.is_nan() && hi.is_nan());
        }
    }

    #[test]
    fn resampled_median_equals_the_median_of_the_materialised_resample() {
        for d in [&D1[..], &D2[..], &D3[..], &[4.0][..], &[1.0, 2.0][..]] {
            let s = sorted(d);
            let mut counts = Vec::new();
            for seed in 0..50 {
                let mut by_counting = SplitMix64::new(seed);
                let mut by_sorting = by_counting.clone();
                for _ in 0..10 {
                    let mut resample: Vec<f64> =
                        (0..s.len()).map(|_| s[by_sorting.index(s.len())]).collect();
                    resample.sort_unstable_by(f64::total_cmp);
                    assert_eq!(
                        resampled_median(&s, &mut counts, &mut by_counting),
                        median(&resample)
                    );
                }
            }
        }
    }

    // ----- speed-up and comparison -------------------------------------------------------

    #[test]
    fn speedup_matches_python_bootstrap_of_ratio_of_medians() {
        // Python: np.median(D3_SLOW) / np.median(D3); replicates resample sorted(slow) then
        // sorted(fast) from one SplitMix64(1) stream, 10,000 of them, np.quantile at 2.5/97.5%.
        let r = speedup(&D3, &D3_SLOW, 1);
        close(r.estimate, 1.0389681588331285, 1e-15);
        close(r.low, 1.0279660334025023, 1e-14);
        close(r.high, 1.0473383712519966, 1e-14);
        assert!(r.is_valid());
        // Deterministic for a seed; another seed moves the interval only slightly.
        assert_eq!(r, speedup(&D3, &D3_SLOW, 1));
        let other = speedup(&D3, &D3_SLOW, 2);
        close(other.low, r.low, 2e-3);
    }

    #[test]
    fn speedup_invalid_input() {
        assert!(!speedup(&[], &D3, 1).is_valid());
        assert!(!speedup(&D3, &[0.0, 1.0], 1).is_valid());
        assert!(!speedup(&D3, &[-1.0], 1).is_valid());
        assert!(!speedup_with(&D3, &D3, 0.95, 0, 1).is_valid());
        assert!(!Ratio::INVALID.is_valid());
    }

    #[test]
    fn mann_whitney_exact_small_samples_match_scipy() {
        // scipy.stats.mannwhitneyu(x, y) (method="auto" chooses "exact" here).
        // Conover's example in scipy's documentation: p = 0.11.
        let t = mann_whitney_u(&[19.0, 22.0, 16.0, 29.0, 24.0], &[20.0, 11.0, 17.0, 12.0]).unwrap();
        assert!(t.exact);
        assert_eq!((t.u_x, t.u_y), (17.0, 3.0));
        close(t.p_value, 0.1111111111111111, 1e-14);
        let y: Vec<f64> = (1..=20).map(f64::from).collect();
        let t = mann_whitney_u(&[0.5, 1.5, 9.5], &y).unwrap();
        assert_eq!(t.u_x, 10.0);
        close(t.p_value, 0.07566346696781479, 1e-13);
        let t = mann_whitney_u(
            &[1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.5],
            &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0],
        )
        .unwrap();
        assert!(t.exact);
        assert_eq!(t.u_x, 28.0);
        close(t.p_value, 0.4807075277663513, 1e-13);
        let x: Vec<f64> = (1..=8).map(f64::from).collect();
        let y: Vec<f64> = (100..130).map(f64::from).collect();
        let t = mann_whitney_u(&x, &y).unwrap();
        close(t.p_value, 4.089687501252467e-08, 1e-12);
        // A single pair: p = 1.
        assert_eq!(mann_whitney_u(&[1.0], &[2.0]).unwrap().p_value, 1.0);
    }

    #[test]
    fn mann_whitney_asymptotic_matches_scipy() {
        // Ties force the normal approximation with tie and continuity corrections.
        let t = mann_whitney_u(
            &[1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0],
            &[3.0, 4.0, 4.0, 5.0, 5.0, 6.0, 7.0, 7.0],
        )
        .unwrap();
        assert!(!t.exact);
        assert_eq!(t.u_x, 3.5);
        close(t.p_value, 0.004793348746185457, 1e-12);
        // Both samples larger than 8: asymptotic.
        let t = mann_whitney_u(
            &[1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.5, 17.0],
            &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0],
        )
        .unwrap();
        assert!(!t.exact);
        assert_eq!(t.u_x, 36.0);
        close(t.p_value, 0.7239320396139757, 1e-12);
        // 40 vs 40 timings, 3.9% apart: p in the far tail (checks erfc's relative accuracy).
        let t = mann_whitney_u(&D3, &D3_SLOW).unwrap();
        assert_eq!(t.u_x, 92.0);
        close(t.p_value, 9.901857317234443e-12, 1e-10);
        // D1 against itself times 1.001 (with ties).
        let d1b: Vec<f64> = D1.iter().map(|v| v * 1.001).collect();
        let t = mann_whitney_u(&D1, &d1b).unwrap();
        assert_eq!(t.u_x, 51.0);
        close(t.p_value, 0.23617619644639543, 1e-12);
        // All values tied: p = 1.
        assert_eq!(mann_whitney_u(&[5.0, 5.0], &[5.0; 3]).unwrap().p_value, 1.0);
    }

    #[test]
    fn mann_whitney_exact_counts_match_brute_force() {
        // Enumerate every way to give m of the ranks 1..=m+n to x; U_x = R_x − m(m+1)/2.
        for m in 1..=5usize {
            for n in 1..=6usize {
                let total = m + n;
                let mut brute = vec![0_i128; m * n + 1];
                for mask in 0u32..(1 << total) {
                    if mask.count_ones() as usize != m {
                        continue;
                    }
                    let rank_sum: usize = (0..total)
                        .filter(|b| mask >> b & 1 == 1)
                        .map(|b| b + 1)
                        .sum();
                    brute[rank_sum - m * (m + 1) / 2] += 1;
                }
                assert_eq!(mann_whitney_exact_counts(m, n), brute, "m = {m}, n = {n}");
                assert_eq!(mann_whitney_exact_counts(n, m), brute, "symmetric in m, n");
            }
        }
        // The tail probability sums to 1 from 0 and to 1/C(m+n, m) at the top.
        assert_eq!(mann_whitney_exact_sf(8, 30, 0), 1.0);
        close(mann_whitney_exact_sf(8, 30, 240), 1.0 / 48_903_492.0, 1e-15);
    }

    #[test]
    fn mann_whitney_invalid_input() {
        assert!(mann_whitney_u(&[], &[1.0]).is_none());
        assert!(mann_whitney_u(&[1.0], &[f64::NAN]).is_none());
    }

    #[test]
    fn erfc_matches_scipy() {
        // scipy.special.erfc(x)
        let table = [
            (-3.0, 1.9999779095030015),
            (-0.5, 1.5204998778130465),
            (0.0, 1.0),
            (1e-10, 0.999999999887162),
            (0.3, 0.6713732405408726),
            (1.0, 0.15729920705028516),
            (1.5, 0.03389485352468927),
            (1.9999, 0.00467980209297061),
            (2.0, 0.004677734981047266),
            (2.5, 0.00040695201744495886),
            (3.0, 2.2090496998585445e-05),
            (5.0, 1.5374597944280347e-12),
            (10.0, 2.0884875837625446e-45),
            (20.0, 5.395865611607901e-176),
            (26.5, 2.2109076642637343e-307),
        ];
        for (x, e) in table {
            close(erfc(x), e, 1e-13);
        }
        assert_eq!(erfc(40.0), 0.0);
        assert_eq!(erfc(f64::INFINITY), 0.0);
        assert_eq!(erfc(f64::NEG_INFINITY), 2.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    #[test]
    fn compare_flags_a_slowed_variant_and_passes_an_unchanged_one() {
        // D3 → D3_SLOW: +3.9%, p = 9.9e-12 (scipy, above).
        let c = compare(&D3, &D3_SLOW, 0.05, 0.02, 5);
        assert_eq!(c.verdict, Verdict::Regressed);
        close(c.change_rel, 0.03896815883312854, 1e-13);
        close(c.p_value, 9.901857317234443e-12, 1e-10);
        // Python: 10,000 replicates of median(new*)/median(base*) − 1, SplitMix64(5).
        close(c.ci_low, 0.027963011463222998, 1e-12);
        close(c.ci_high, 0.04642255197097045, 1e-12);
        // The same change under a 5% noise threshold is not reported.
        assert_eq!(
            compare(&D3, &D3_SLOW, 0.05, 0.05, 5).verdict,
            Verdict::NoChange
        );
        // Reversed: an improvement.
        let c = compare(&D3_SLOW, &D3, 0.05, 0.02, 5);
        assert_eq!(c.verdict, Verdict::Improved);
        assert!(c.change_rel < 0.0);
        // Unchanged: identical samples give p = 1 and no change.
        let c = compare(&D3, &D3, 0.05, 0.02, 5);
        assert_eq!(c.verdict, Verdict::NoChange);
        assert_eq!(c.p_value, 1.0);
        assert_eq!(c.change_rel, 0.0);
        assert!(c.ci_low <= 0.0 && 0.0 <= c.ci_high);
    }

    #[test]
    fn compare_with_a_fake_clock() {
        // A fake clock gives identical samples: all ties, so the normal approximation with tie
        // correction decides. scipy.stats.mannwhitneyu([1e-3]*5, [1.2e-3]*5).pvalue and
        // ([1e-3]*10, [1.2e-3]*10).
        let c = compare(&[1e-3; 5], &[1.2e-3; 5], 0.05, 0.05, 9);
        close(c.p_value, 0.003976751709788651, 1e-12);
        assert_eq!(c.verdict, Verdict::Regressed);
        close(c.change_rel, 0.2, 1e-12);
        assert_eq!((c.ci_low, c.ci_high), (c.change_rel, c.change_rel));
        let c = compare(&[1e-3; 10], &[1.2e-3; 10], 0.05, 0.05, 9);
        close(c.p_value, 1.5937911688066244e-05, 1e-12);
        assert_eq!(c.verdict, Verdict::Regressed);
        let c = compare(&[1e-3; 10], &[1e-3; 10], 0.05, 0.05, 9);
        assert_eq!(
            (c.p_value, c.change_rel, c.verdict),
            (1.0, 0.0, Verdict::NoChange)
        );
    }

    #[test]
    fn compare_needs_significance_as_well_as_size() {
        // Three samples each, 50% slower: above any threshold, but with 3 vs 3 the smallest
        // exact two-sided p is 2/20 = 0.1, so nothing can be significant at 0.05.
        let c = compare(&[1.0, 1.1, 1.2], &[1.5, 1.6, 1.7], 0.05, 0.05, 1);
        close(c.p_value, 0.1, 1e-15);
        assert_eq!(c.verdict, Verdict::NoChange);
        assert_eq!(
            compare(&[1.0, 1.1, 1.2], &[1.5, 1.6, 1.7], 0.2, 0.05, 1).verdict,
            Verdict::Regressed
        );
    }

    #[test]
    fn compare_invalid_input() {
        for c in [
            compare(&[], &D3, 0.05, 0.02, 1),
            compare(&D3, &[f64::NAN], 0.05, 0.02, 1),
            compare(&D3, &D3, 0.0, 0.02, 1),
            compare(&D3, &D3, 1.0, 0.02, 1),
            compare(&D3, &D3, 0.05, -0.1, 1),
            compare(&D3, &D3, 0.05, f64::NAN, 1),
        ] {
            assert!(c.p_value.is_nan());
            assert_eq!(c.verdict, Verdict::NoChange);
        }
    }

    #[test]
    fn verdict_serialises_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&Verdict::NoChange).unwrap(),
            "\"no_change\""
        );
        assert_eq!(Verdict::Regressed.to_string(), "regressed");
    }

    // ----- fits --------------------------------------------------------------------------

    #[test]
    fn linear_fit_matches_scipy_linregress() {
        // r = scipy.stats.linregress(x, y): slope, intercept, rvalue**2
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [2.1, 3.9, 6.2, 7.8, 10.1, 12.2];
        let f = linear_fit(&x, &y);
        close(f.slope, 2.0199999999999996, 1e-14);
        close(f.intercept, -0.019999999999998685, 1e-11);
        close(f.r_squared, 0.9982106661074996, 1e-14);
        assert_eq!(f.n, 6);
        close(f.predict(10.0), 2.02 * 10.0 - 0.02, 1e-13);
    }

    #[test]
    fn linear_fit_edge_cases() {
        let f = linear_fit(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]);
        assert_eq!((f.slope, f.intercept, f.r_squared), (0.0, 5.0, 1.0));
        assert!(linear_fit(&[1.0, 1.0], &[1.0, 2.0]).slope.is_nan());
        assert!(linear_fit(&[1.0], &[1.0]).slope.is_nan());
        assert!(linear_fit(&[1.0, 2.0], &[1.0]).slope.is_nan());
        assert!(linear_fit(&[1.0, f64::NAN], &[1.0, 2.0]).r_squared.is_nan());
    }

    #[test]
    fn loglog_fit_matches_numpy_polyfit() {
        // b, ln_a = numpy.polyfit(np.log(n), np.log(t), 1); R² = linregress(...).rvalue**2
        let n = [1e3, 2e3, 4e3, 8e3, 16e3, 32e3];
        let t = [1.1e-3, 4.3e-3, 1.72e-2, 6.9e-2, 0.275, 1.1];
        let f = loglog_fit(&n, &t);
        close(f.b, 1.9951417904590207, 1e-13);
        close(f.a, 1.1256624010491597e-09, 1e-11);
        close(f.r_squared, 0.999992828615254, 1e-13);
        // An exact power law is recovered.
        let x = [1.0, 10.0, 100.0, 1000.0];
        let y: Vec<f64> = x.iter().map(|v: &f64| 3.0 * v.powf(1.5)).collect();
        let f = loglog_fit(&x, &y);
        close(f.b, 1.5, 1e-14);
        close(f.a, 3.0, 1e-13);
        close(f.predict(10_000.0), 3e6, 1e-12);
        assert!(loglog_fit(&[1.0, 0.0], &[1.0, 2.0]).b.is_nan());
        assert!(loglog_fit(&[1.0, 2.0], &[1.0, -2.0]).a.is_nan());
    }

    #[test]
    fn amdahl_fit_matches_scipy_minimize_scalar() {
        // f(s) = Σ (S − 1/(s + (1−s)/p))²;
        // scipy.optimize.minimize_scalar(f, bounds=(0, 1), method="bounded", xatol=1e-14).
        let p = [1.0, 2.0, 4.0, 8.0, 16.0];
        let s = [1.0, 1.85, 3.2, 5.1, 7.0];
        let f = amdahl_fit(&p, &s);
        close(f.serial_fraction, 0.08483895109434521, 1e-9);
        close(f.r_squared, 0.9996496298029326, 1e-12);
        close(f.predict(1.0), 1.0, 1e-15);
        close(f.max_speedup(), 1.0 / 0.08483895109434521, 1e-9);
    }

    #[test]
    fn amdahl_fit_recovers_exact_data_and_clamps() {
        let p = [1.0, 2.0, 3.0, 4.0, 6.0, 8.0];
        for s_true in [0.0, 0.0004, 0.05, 0.1, 0.5, 1.0] {
            let y: Vec<f64> = p.iter().map(|&q| amdahl(s_true, q)).collect();
            let f = amdahl_fit(&p, &y);
            assert!((f.serial_fraction - s_true).abs() < 1e-9, "{s_true}: {f:?}");
            close(f.r_squared, 1.0, 1e-12);
        }
        // Super-linear speed-ups clamp to s = 0; slow-downs clamp to s = 1.
        assert_eq!(
            amdahl_fit(&[1.0, 2.0, 4.0], &[1.0, 2.5, 5.0]).serial_fraction,
            0.0
        );
        assert_eq!(
            amdahl_fit(&[1.0, 2.0, 4.0], &[1.0, 0.8, 0.6]).serial_fraction,
            1.0
        );
        assert!(
            amdahl_fit(&[1.0, 1.0], &[1.0, 1.0])
                .serial_fraction
                .is_nan()
        );
        assert!(amdahl_fit(&[], &[]).serial_fraction.is_nan());
        assert!(amdahl_fit(&[1.0, 2.0], &[1.0]).serial_fraction.is_nan());
        assert!(
            amdahl_fit(&[0.0, 2.0], &[1.0, 2.0])
                .serial_fraction
                .is_nan()
        );
    }

    // ----- wall vs CPU, busy machine -------------------------------------------------------

    #[test]
    fn cpu_utilisation_is_a_ratio_of_sums() {
        close(cpu_utilisation(&[0.1, 0.2], &[0.1, 0.1]), 1.5, 1e-15);
        assert!(cpu_utilisation(&[0.1], &[0.1, 0.1]).is_nan());
        assert!(cpu_utilisation(&[], &[]).is_nan());
        assert!(cpu_utilisation(&[0.1], &[0.0]).is_nan());
        assert!(cpu_utilisation(&[-0.1], &[0.1]).is_nan());
        assert!(cpu_utilisation(&[f64::NAN], &[0.1]).is_nan());
    }

    #[test]
    fn looks_busy_rules() {
        // Idle: a single thread getting 99% of a core, background load 0.1, own load 1.
        assert_eq!(looks_busy(0.99, 1, 0.1, 1.05, 2), None);
        // Starved: half a core.
        let r = looks_busy(0.5, 1, 0.1, 0.4, 2).unwrap();
        assert!(r.contains("0.50 CPU-seconds per second"), "{r}");
        assert!(r.contains("1 core its 1 thread"), "{r}");
        // Two threads on two cores getting 1.5 cores (< 1.8).
        assert!(looks_busy(1.5, 2, 0.0, 1.0, 2).is_some());
        // Eight threads on two cores can use two: 1.95 is fine.
        assert_eq!(looks_busy(1.95, 8, 0.2, 2.0, 2), None);
        // Load: 2.6 after with two threads of our own is 0.6 too much.
        let r = looks_busy(1.95, 2, 0.3, 2.6, 2).unwrap();
        assert!(r.contains("2.60 after the measurement, 0.60 more"), "{r}");
        // Exactly at the thresholds: not busy.
        assert_eq!(looks_busy(0.9, 1, 1.5, 1.5, 2), None);
        // Both signals are joined.
        assert!(looks_busy(0.5, 1, 3.0, 0.0, 2).unwrap().contains("; "));
        // No evidence is no flag.
        assert_eq!(looks_busy(f64::NAN, 1, f64::NAN, f64::NAN, 2), None);
        // Zero threads or cores count as one.
        assert_eq!(looks_busy(0.95, 0, 0.0, 0.0, 0), None);
    }

    #[test]
    fn looks_busy_with_a_modelled_own_load() {
        // A one-thread variant measured for 10 s next to a CPU-bound competitor that has run
        // for minutes: load 1.0 before, 1.0 + 1·(1 − e^(−10/60)) after. The worst-case
        // allowance (1 core) misses it; the modelled own load (0 before) does not.
        let after = own_load_average(1.0, 2.0, 10.0);
        assert_eq!(looks_busy(0.99, 1, 1.0, after, 2), None);
        let own_after = own_load_average(0.0, 1.0, 10.0);
        let r = looks_busy_with_own_load(0.99, 1, 2, (1.0, after), (0.0, own_after)).unwrap();
        assert!(r.contains("before"), "{r}");
        assert!(r.contains("after"), "{r}");
    }

    #[test]
    fn own_load_average_is_the_kernels_moving_average() {
        close(
            own_load_average(0.0, 1.0, 60.0),
            1.0 - (-1.0_f64).exp(),
            1e-15,
        );
        // One 5 s kernel step: EXP_1 = 1884/2048 ≈ e^(−5/60) (to 11-bit fixed point).
        close(own_load_average(1.0, 0.0, 5.0), 1884.0 / 2048.0, 1e-3);
        assert_eq!(own_load_average(0.7, 3.0, 0.0), 0.7);
        assert_eq!(own_load_average(0.7, 3.0, -5.0), 0.7);
    }

    // ----- properties --------------------------------------------------------------------

    fn timings() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(1e-9_f64..10.0, 1..120)
    }

    proptest! {
        #[test]
        fn summary_orders_its_statistics(samples in timings()) {
            let s = summarize(&samples).unwrap();
            prop_assert_eq!(s.n, samples.len());
            prop_assert!(s.min <= s.median && s.median <= s.max);
            prop_assert!(s.min <= s.mean && s.mean <= s.max);
            prop_assert!(s.min <= s.ci_low && s.ci_low <= s.median);
            prop_assert!(s.median <= s.ci_high && s.ci_high <= s.max);
            prop_assert!(s.stddev >= 0.0 && s.mad >= 0.0 && s.ci_half_width_rel >= 0.0);
            prop_assert!(s.outliers_mild + s.outliers_severe <= s.n);
        }

        #[test]
        fn summary_ignores_sample_order(mut samples in timings()) {
            let a = summarize(&samples).unwrap();
            samples.reverse();
            let b = summarize(&samples).unwrap();
            prop_assert_eq!(a.median, b.median);
            prop_assert_eq!((a.ci_low, a.ci_high), (b.ci_low, b.ci_high));
            prop_assert_eq!(a.mad, b.mad);
            prop_assert_eq!((a.outliers_mild, a.outliers_severe), (b.outliers_mild, b.outliers_severe));
        }

        #[test]
        fn nothing_panics_on_arbitrary_floats(
            v in prop::collection::vec(any::<f64>(), 0..20),
            w in prop::collection::vec(any::<f64>(), 0..20),
            q in any::<f64>(),
        ) {
            let s = summarize(&v);
            if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
                prop_assert!(s.is_none());
            }
            let mut sorted = v.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let _ = (median(&sorted), quantile(&sorted, q), mad(&v), median_ci(&sorted, q));
            let _ = bootstrap_median_ci(&v, q, 5, 1);
            let _ = modified_z_scores(&v);
            let _ = enough_samples(&v, q, q);
            let _ = speedup_with(&v, &w, 0.95, 5, 1);
            let _ = mann_whitney_u(&v, &w);
            let _ = (linear_fit(&v, &w), loglog_fit(&v, &w), amdahl_fit(&v, &w));
            let _ = cpu_utilisation(&v, &w);
            let _ = looks_busy(q, v.len(), q, q, w.len());
        }

        #[test]
        fn quantile_is_monotone_and_bounded(samples in timings(), a in 0.0_f64..1.0, b in 0.0_f64..1.0) {
            let s = sorted(&samples);
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(quantile(&s, lo) <= quantile(&s, hi));
            prop_assert_eq!(quantile(&s, 0.0), s[0]);
            prop_assert_eq!(quantile(&s, 1.0), s[s.len() - 1]);
            prop_assert_eq!(quantile(&s, 0.5), median(&s));
        }

        #[test]
        fn median_ci_ranks_are_the_widest_attaining_confidence(n in 1usize..3000, c in 0.5_f64..0.999) {
            let r = median_ci_ranks(n, c).unwrap();
            prop_assert!(r.low <= r.high && r.high < n);
            prop_assert_eq!(r.low + r.high, n - 1, "symmetric");
            if r.attained {
                prop_assert!(r.coverage >= c);
                // One rank narrower would fall short (or is impossible).
                if r.high - r.low >= 2 {
                    let narrower = median_ci_ranks_coverage(n, r.low + 2);
                    prop_assert!(narrower < c, "n {} k {} narrower coverage {}", n, r.low + 1, narrower);
                }
            } else {
                prop_assert_eq!((r.low, r.high), (0, n - 1));
                prop_assert!(r.coverage < c);
            }
        }

        #[test]
        fn bootstrap_is_deterministic_and_order_free(mut samples in timings(), seed in any::<u64>()) {
            let a = bootstrap_median_ci(&samples, 0.95, 200, seed);
            let b = bootstrap_median_ci(&samples, 0.95, 200, seed);
            prop_assert_eq!(a, b);
            samples.reverse();
            prop_assert_eq!(a, bootstrap_median_ci(&samples, 0.95, 200, seed));
            let s = sorted(&samples);
            prop_assert!(s[0] <= a.0 && a.0 <= a.1 && a.1 <= s[s.len() - 1]);
        }

        #[test]
        fn speedup_is_deterministic_and_ordered(fast in timings(), slow in timings(), seed in any::<u64>()) {
            let r = speedup_with(&fast, &slow, 0.95, 200, seed);
            prop_assert!(r.is_valid());
            prop_assert!(r.low <= r.high && r.low > 0.0);
            prop_assert_eq!(r, speedup_with(&fast, &slow, 0.95, 200, seed));
        }

        #[test]
        fn speedup_is_scale_equivariant(fast in timings(), k in 1.0_f64..100.0, seed in any::<u64>()) {
            // Multiplying by a power of two is exact, so with the same seed every replicate
            // of (fast, factor·fast) is factor times the replicate of (fast, fast).
            let factor = k.round().log2().round().exp2();
            let slow: Vec<f64> = fast.iter().map(|v| v * factor).collect();
            let r = speedup_with(&fast, &slow, 0.95, 50, seed);
            let same = speedup_with(&fast, &fast, 0.95, 50, seed);
            prop_assert_eq!(r.estimate, factor);
            prop_assert_eq!(same.estimate, 1.0);
            prop_assert_eq!((r.low, r.high), (factor * same.low, factor * same.high));
        }

        #[test]
        fn mann_whitney_is_symmetric(x in timings(), y in timings()) {
            let a = mann_whitney_u(&x, &y).unwrap();
            let b = mann_whitney_u(&y, &x).unwrap();
            prop_assert!((0.0..=1.0).contains(&a.p_value));
            prop_assert_eq!(a.p_value, b.p_value);
            prop_assert_eq!(a.u_x, b.u_y);
            prop_assert_eq!(a.u_x + a.u_y, (x.len() * y.len()) as f64);
        }

        #[test]
        fn modified_z_scores_are_scale_and_shift_invariant(
            samples in timings(),
            ints in prop::collection::vec(0u32..100_000, 1..60),
        ) {
            // Scaling by a power of two and shifting integers are exact, so the scores must
            // be identical, not merely close.
            let scaled: Vec<f64> = samples.iter().map(|v| v * 4.0).collect();
            prop_assert_eq!(modified_z_scores(&samples), modified_z_scores(&scaled));
            let ints: Vec<f64> = ints.into_iter().map(f64::from).collect();
            let shifted: Vec<f64> = ints.iter().map(|v| v + 1024.0).collect();
            prop_assert_eq!(modified_z_scores(&ints), modified_z_scores(&shifted));
        }

        #[test]
        fn linear_fit_recovers_exact_lines(slope in -100.0_f64..100.0, intercept in -100.0_f64..100.0) {
            let x = [0.0, 1.0, 2.0, 5.0, 7.5];
            let y: Vec<f64> = x.iter().map(|v| slope * v + intercept).collect();
            let f = linear_fit(&x, &y);
            prop_assert!((f.slope - slope).abs() <= 1e-9 * slope.abs().max(1.0));
            prop_assert!((f.intercept - intercept).abs() <= 1e-9 * intercept.abs().max(1.0));
        }
    }

    /// Coverage of the symmetric interval with 1-based lower rank k (helper for a property).
    fn median_ci_ranks_coverage(n: usize, k: usize) -> f64 {
        let mut pmf = HalfBinomialPmf::new(n);
        let cdf: f64 = (0..k).map(|_| pmf.next_value()).sum();
        1.0 - 2.0 * cdf
    }

    #[test]
    fn an_interval_from_fewer_than_six_samples_says_its_true_confidence() {
        let three = summarize(&[1.0, 1.1, 1.2]).unwrap();
        assert_eq!(three.ci_shortfall(), Some(0.75));
        assert_eq!(
            three.ci_shortfall_note().as_deref(),
            Some("3 samples: a 75% interval")
        );
        let five = summarize(&[1.0, 1.1, 1.2, 1.3, 1.4]).unwrap();
        assert_eq!(five.ci_shortfall(), Some(0.9375));
        assert_eq!(
            five.ci_shortfall_note().as_deref(),
            Some("5 samples: a 94% interval")
        );
        let one = summarize(&[1.0]).unwrap();
        assert_eq!(
            one.ci_shortfall_note().as_deref(),
            Some("1 sample: a 0% interval")
        );
        let six = summarize(&[1.0, 1.1, 1.2, 1.3, 1.4, 1.5]).unwrap();
        assert_eq!(six.ci_shortfall(), None);
        assert_eq!(six.ci_shortfall_note(), None);
    }
}
