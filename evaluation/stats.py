"""Confidence intervals used in every report: Wilson for proportions, Student's t for means."""

from __future__ import annotations

import math
import statistics

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for a proportion (``successes`` may be fractional: tie credit).

    Returns ``(low, high)``; ``(None, None)`` when ``n`` is 0."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_ci(values: list[float], level: float = 0.95) -> dict:
    """Mean with a Student-t interval, standard deviation and count.

    ``low``/``high``/``sd`` are None when there are fewer than two values (no spread to measure)."""
    from scipy.stats import t

    n = len(values)
    if n == 0:
        return {"value": None, "low": None, "high": None, "sd": None, "n": 0}
    mean = statistics.fmean(values)
    if n < 2:
        return {"value": mean, "low": None, "high": None, "sd": None, "n": 1}
    sd = statistics.stdev(values)
    half = t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    return {"value": mean, "low": mean - half, "high": mean + half, "sd": sd, "n": n}


def proportion(successes: float, n: int) -> dict:
    """A proportion with its Wilson interval, in the summary-metric shape used by reports."""
    low, high = wilson(successes, n)
    return {"value": successes / n if n else None, "low": low, "high": high, "n": n}
