//! The project's random numbers: counter-based SplitMix64 (shared/KERNELS.md).
//!
//! `rand_u64(seed, k)` is the k-th output of SplitMix64 started at `seed`, computed directly
//! from the counter, so every thread or SIMD lane can jump to any k and parallel variants give
//! bit-identical results to the scalar one.

/// The golden-ratio increment of SplitMix64 (Steele, Lea and Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014).
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The k-th output of SplitMix64 seeded with `seed`.
#[inline(always)]
pub fn rand_u64(seed: u64, k: u64) -> u64 {
    let mut z = seed.wrapping_add(k.wrapping_add(1).wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The k-th output mapped to [0, 1): the top 53 bits times 2^-53.
#[inline(always)]
pub fn rand_f64(seed: u64, k: u64) -> f64 {
    (rand_u64(seed, k) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_values() {
        assert_eq!(rand_u64(42, 0), 13679457532755275413);
        assert_eq!(rand_u64(42, 1), 2949826092126892291);
        assert_eq!(rand_u64(42, 2), 5139283748462763858);
        assert_eq!(rand_f64(42, 0), 0.7415648787718233);
    }
}
