"""The program scalene_demo.py profiles: pi by the midpoint rule, in Python and in NumPy."""

import numpy as np


def pi_loop(n):
    h = 1.0 / n
    total = 0.0
    for i in range(n):
        x = (i + 0.5) * h
        total += 4.0 / (1.0 + x * x)
    return h * total


def pi_numpy(n):
    x = (np.arange(n) + 0.5) / n
    return np.sum(4.0 / (1.0 + x * x)) / n


if __name__ == "__main__":
    print(pi_loop(3_000_000), pi_numpy(10_000_000))
