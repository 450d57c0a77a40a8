"""How the Monte Carlo estimate of pi converges: its error shrinks like 1/sqrt(N).

For each N, pi_N = 4 * hits / N on the project's counter-based SplitMix64 (the same points
as every pi-monte-carlo rung), next to the standard error sigma_N = 4 * sqrt(p (1 - p) / N),
p = pi/4. One seed gives one error per N, which fluctuates; the root-mean-square error over
20 seeds follows sigma_N closely. Runs in a few seconds from the repository root:

    python examples/python/pi_convergence.py
"""

import math

from pi_monte_carlo import hits_numpy_chunked

P = math.pi / 4
SEEDS = range(100, 120)  # 20 independent streams for the root-mean-square error


def sigma(n):
    """Standard error of pi_N: 4 times that of a fraction of n Bernoulli(p) trials."""
    return 4 * math.sqrt(P * (1 - P) / n)


def main():
    print(f"{'N':>10} {'pi_N (seed 42)':>15} {'|error|':>9} {'sigma_N':>9} "
          f"{'RMS error, 20 seeds':>20} {'RMS / sigma':>12}")
    for exponent in range(2, 8):
        n = 10**exponent
        pi_n = 4 * hits_numpy_chunked(n, 42) / n
        if n <= 10**6:
            errors = [4 * hits_numpy_chunked(n, s) / n - math.pi for s in SEEDS]
            rms = math.sqrt(sum(e * e for e in errors) / len(errors))
            rms_text, ratio_text = f"{rms:20.2e}", f"{rms / sigma(n):12.2f}"
        else:
            rms_text, ratio_text = f"{'(skipped)':>20}", f"{'':>12}"
        print(f"{n:>10} {pi_n:15.7f} {abs(pi_n - math.pi):9.1e} {sigma(n):9.1e} "
              f"{rms_text} {ratio_text}")
    print("Each factor of 100 in N divides sigma_N by 10: one more correct digit.")


if __name__ == "__main__":
    main()
