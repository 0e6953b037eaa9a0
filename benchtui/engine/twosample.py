"""Tests between two independent batches: the exact conditional test of two success rates (stratified by
task), a bootstrap test of a difference of medians, and Holm's correction for a family of tests.

Two batches are two independent samples: the runs of batch B are not paired with those of batch A (repeat
3 of a task in one batch shares nothing with repeat 3 in the other but the task). What the two batches do
share is the task, and tasks differ widely in difficulty, so the success test is stratified by task: in
each task the 2×2 table (passed/failed × A/B) is conditioned on its margins, and the count of B's passes
summed over tasks is compared with its exact distribution under "no change" (a convolution of
hypergeometric distributions: Birch's exact conditional test, the exact form of Cochran–Mantel–Haenszel).
With one task it is Fisher's exact test. Why not a pooled two-proportion test: pooling tasks of unequal
difficulty mixes the change with the task mix, and the normal approximation is poor at the small counts
(and the 0 % or 100 % rates) a benchmark batch has. Why not McNemar: McNemar needs pairs, and there are
none across independent batches.

Everything here is deterministic (the bootstrap's generator is seeded from a name), so a comparison
rebuilt from the same batches is byte-identical. Written here rather than taken from scipy: each is a few
lines over ``math.comb``, tested against values worked by hand (tests/test_compare.py), and scipy would
add ~100 MB to an install for three functions.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from benchtui.engine.stats import BOOTSTRAP_RESAMPLES

__all__ = [
    "RateTest",
    "StratumCounts",
    "bootstrap_median_difference",
    "exact_rate_test",
    "holm",
    "resampled_medians",
]

# Two outcomes whose probabilities differ by less than this relative amount count as equally likely (the
# same tolerance R's fisher.test uses), so rounding never drops the observed table from its own p-value.
_RELATIVE_TOLERANCE = 1 + 1e-7
# Fewer passed runs than this on a side and a median is not tested: a bootstrap of two or three values
# has too few distinct resamples to say anything.
MIN_BOOTSTRAP_SAMPLE = 5


@dataclass(frozen=True)
class StratumCounts:
    """One task's runs in each batch: ``a_passed`` of ``a_runs`` in A, ``b_passed`` of ``b_runs`` in B."""

    a_passed: int
    a_runs: int
    b_passed: int
    b_runs: int


@dataclass(frozen=True)
class RateTest:
    """The exact test's outcome: its two-sided p-value and B's passes against those expected under no change.

    ``direction`` is +1 when B passed more often than "no change" expects, -1 when less, 0 when exactly
    as expected. ``p_value`` is None when no task had runs on both sides (nothing to test)."""

    p_value: float | None
    observed: int
    expected: float
    direction: int


def _hypergeometric(stratum: StratumCounts) -> tuple[int, list[float]]:
    """(the smallest possible count, the probabilities of B's pass counts from it) given the table's margins."""
    total = stratum.a_runs + stratum.b_runs
    passed = stratum.a_passed + stratum.b_passed
    low = max(0, stratum.b_runs - (total - passed))
    high = min(stratum.b_runs, passed)
    ways = math.comb(total, stratum.b_runs)
    return low, [
        math.comb(passed, x) * math.comb(total - passed, stratum.b_runs - x) / ways for x in range(low, high + 1)
    ]


def exact_rate_test(strata: Sequence[StratumCounts]) -> RateTest:
    """Birch's exact conditional test that B's success odds equal A's in every stratum (task).

    Two-sided: the p-value sums the probabilities of every total of B's passes no more likely than the
    one observed (Fisher's rule). Strata with no run on one side carry no information and are skipped."""
    used = [s for s in strata if s.a_runs > 0 and s.b_runs > 0]
    if not used:
        return RateTest(p_value=None, observed=0, expected=0.0, direction=0)
    distribution = [1.0]
    offset = 0
    observed = 0
    expected = 0.0
    for stratum in used:
        low, probabilities = _hypergeometric(stratum)
        combined = [0.0] * (len(distribution) + len(probabilities) - 1)
        for i, p in enumerate(distribution):
            if p:
                for j, q in enumerate(probabilities):
                    combined[i + j] += p * q
        distribution = combined
        offset += low
        observed += stratum.b_passed
        total = stratum.a_runs + stratum.b_runs
        expected += stratum.b_runs * (stratum.a_passed + stratum.b_passed) / total
    at_observed = distribution[observed - offset]
    p_value = sum(p for p in distribution if p <= at_observed * _RELATIVE_TOLERANCE)
    gap = observed - expected
    direction = 0 if math.isclose(gap, 0.0, abs_tol=1e-9) else (1 if gap > 0 else -1)
    return RateTest(p_value=min(1.0, p_value), observed=observed, expected=expected, direction=direction)


def resampled_medians(values: Sequence[float], rng: random.Random, resamples: int) -> list[float]:
    """The medians of ``resamples`` bootstrap resamples of ``values``, each drawn in O(1).

    The method of ``stats.bootstrap_median_interval`` (which keeps its own inside): a resample's k-th
    smallest value is the sorted values' ``floor(n · U₍ₖ₎)``-th, U₍ₖ₎ ~ Beta(k, n + 1 − k), and the
    (k + 1)-th follows as the smallest of the n − k uniforms above it. Same distribution as drawing n
    values and sorting them, so a contestant with thousands of passed runs costs what one with twenty does."""
    data = sorted(float(v) for v in values)
    n = len(data)
    if data[0] == data[-1]:
        return [data[0]] * resamples
    half, odd = divmod(n, 2)
    k = half + 1 if odd else half  # 1-based rank of the (lower) middle order statistic

    def pick(u: float) -> float:
        return data[min(n - 1, int(n * u))]

    def one() -> float:
        lower = rng.betavariate(k, n + 1 - k)
        if odd:
            return pick(lower)
        upper = lower + (1 - lower) * (1 - rng.random() ** (1 / (n - k)))
        return (pick(lower) + pick(upper)) / 2

    return [one() for _ in range(resamples)]


def bootstrap_median_difference(
    a: Sequence[float], b: Sequence[float], *, seed: str, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float | None, tuple[float, float] | None]:
    """A two-sided bootstrap p-value for median(B) − median(A), and its 95 % percentile interval.

    Each batch is resampled on its own (they are independent). The p-value is twice the smaller share of
    resampled differences on either side of zero (capped at 1): a shift that zero sits far outside of is
    significant. (None, None) when either side has fewer than ``MIN_BOOTSTRAP_SAMPLE`` values."""
    if len(a) < MIN_BOOTSTRAP_SAMPLE or len(b) < MIN_BOOTSTRAP_SAMPLE:
        return None, None
    rng = random.Random(seed)
    before = resampled_medians(a, rng, resamples)
    after = resampled_medians(b, rng, resamples)
    differences = sorted(y - x for x, y in zip(before, after, strict=True))
    at_or_below = sum(1 for d in differences if d <= 0) / resamples
    at_or_above = sum(1 for d in differences if d >= 0) / resamples
    p_value = min(1.0, 2 * min(at_or_below, at_or_above))
    # Nearest-rank percentiles, as the batch figures' intervals.
    low = differences[max(0, math.ceil(0.025 * resamples) - 1)]
    high = differences[min(resamples - 1, math.ceil(0.975 * resamples) - 1)]
    return p_value, (low, high)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values (None stays None and does not count).

    A comparison makes one test per contestant, and one per task and contestant: at 5 % each, a batch of
    20 tasks would flag a change somewhere by chance most of the time. Holm keeps the chance of any false
    flag in a family under 5 %, without assuming the tests are independent."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[index] = running
    return adjusted
