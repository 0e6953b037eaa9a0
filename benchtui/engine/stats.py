"""The statistics behind every figure over repeats: pure functions, no I/O, no randomness left unseeded.

What is here and why this method (docs/METRICS.md says the same for readers of the reports):

- **Success rate interval: Wilson score, 95 %.** The normal ("Wald") interval collapses to zero width at
  0 % and 100 % and leaves the [0, 1] range near them; both happen all the time in a benchmark (a model
  that always passes). Wilson stays inside [0, 1] and covers close to its nominal 95 % even at n = 10.
- **pass@k: the unbiased HumanEval estimator** ``1 − C(n−c, k) / C(n, k)`` (Chen et al. 2021): the chance
  that at least one of k tries drawn from the n made passes. **pass^k: ``C(c, k) / C(n, k)``** (tau-bench,
  Yao et al. 2024): the chance that all k tries pass, the measure of consistency. Both for every k ≤ n; over
  several tasks, the mean of the per-task values (as both papers do), for every k no task has too few runs for.
- **Paired comparison: McNemar's exact test**, not a paired bootstrap. Two contestants ran the same
  (task, repeat) cells, each cell a pass or not: only the discordant cells (one passed, the other did not)
  say anything about which is better, and under "no difference" each discordant cell goes either way with
  probability ½, so the exact two-sided binomial test on them is the test, with no approximation and no
  randomness. A paired bootstrap of the difference in success rates answers the same question
  approximately, needs thousands of resamples per pair, and is anti-conservative at the small n a
  benchmark has (20 repeats of a handful of tasks): it would call ties that are not there. The p-value is
  the doubled smaller tail (as statsmodels' ``mcnemar(exact=True)`` and scipy's ``binomtest`` give for
  p = ½), capped at 1.
- **Median intervals: a seeded percentile bootstrap.** Times, prompts and tokens are skewed and their
  distributions unknown, so the interval is read off resampled medians rather than a formula; the seed is
  fixed so that a report rebuilt from the same batch is byte-identical.

**No scipy.** scipy.stats has Wilson (``binomtest(...).proportion_ci(method="wilson")``) and the exact
binomial test, but it would be benchtui's heaviest dependency by far (scipy and numpy install 150+ MB and
``import scipy.stats`` takes a third of a second warm, on every headless start and TUI start), for about
sixty lines of arithmetic that ``math.comb`` does exactly in integers (the binomial tails here are exact
fractions, not floating-point sums). tests/test_stats.py holds each function to values computed by hand,
which were also checked against scipy 1.17 (``binomtest``, ``proportion_ci``) when this was written.
"""

from __future__ import annotations

import functools
import math
import random
import statistics
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple, TypeVar

__all__ = [
    "ALPHA",
    "Z95",
    "Interval",
    "Paired",
    "bootstrap_median_interval",
    "interval_dict",
    "mcnemar_exact",
    "median",
    "paired_test",
    "pass_at_k",
    "pass_at_k_all",
    "pass_at_k_over_tasks",
    "pass_hat_k",
    "pass_hat_k_all",
    "pass_hat_k_over_tasks",
    "repeats_to_separate",
    "wilson_half_width",
    "wilson_interval",
]

#: The two-sided 95 % normal quantile (scipy.stats.norm.ppf(0.975)).
Z95 = 1.959963984540054
#: A paired difference with a p-value below this is significant; at or above it, the two are tied.
ALPHA = 0.05
#: Resamples of a bootstrap interval: enough that the 2.5 % and 97.5 % percentiles of a median move by
#: less than one sample's gap between reruns with other seeds, few enough that a report with a hundred
#: task × contestant cells builds in well under a second.
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 15

Cell = TypeVar("Cell", bound=Hashable)


class Interval(NamedTuple):
    """A closed interval [low, high]; ``interval_dict`` gives the reports' ``{"low", "high"}``."""

    low: float
    high: float


def interval_dict(interval: Interval | None, digits: int = 4) -> dict[str, float] | None:
    """An interval as the JSON reports write it, rounded; None stays None (not computable)."""
    if interval is None:
        return None
    return {"low": round(interval.low, digits), "high": round(interval.high, digits)}


def wilson_interval(successes: int, n: int, z: float = Z95) -> Interval | None:
    """The Wilson score interval of a success rate ``successes / n``; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n ({n}), not {successes}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # In exact arithmetic the low end is 0 at p = 0 and the high end 1 at p = 1: no float noise there.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low, high)


def wilson_half_width(n: int, p: float | None = None, z: float = Z95) -> float | None:
    """Half the width of the Wilson interval n runs give at an observed rate p; by default the widest one
    n runs can give, at the rate k/n nearest ½ (for one run 0/1 or 1/1, not ½: 0–79 %, not ±45 points).

    What a planned number of runs can reach before any of them ran; None when n is 0."""
    if n <= 0:
        return None
    if p is None:
        p = (n // 2) / n  # the width grows with p(1 − p): the largest at the k nearest n/2
    z2 = z * z
    return z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)


def _check_counts(n: int, c: int, k: int) -> None:
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of one task from n runs with c passed: 1 − C(n−c, k) / C(n, k)."""
    _check_counts(n, c, k)
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


def pass_hat_k(n: int, c: int, k: int) -> float:
    """The unbiased pass^k of one task (all k tries pass) from n runs with c passed: C(c, k) / C(n, k)."""
    _check_counts(n, c, k)
    return float(Fraction(math.comb(c, k), math.comb(n, k)))


def _ratios(n: int, top: int) -> list[Fraction]:
    """C(top, k) / C(n, k) for k = 1..n, each from the one before: C(top, k+1) / C(n, k+1) is
    C(top, k) / C(n, k) · (top − k) / (n − k), so the whole curve costs n small multiplications."""
    ratios, ratio = [], Fraction(1)
    for k in range(n):
        ratio = ratio * max(top - k, 0) / (n - k)
        ratios.append(ratio)
    return ratios


def pass_at_k_all(n: int, c: int) -> dict[int, float]:
    """pass@k for every k from 1 to n; empty when n is 0."""
    if n:
        _check_counts(n, c, 1)
    return {k: float(1 - ratio) for k, ratio in enumerate(_ratios(n, n - c), 1)}


def pass_hat_k_all(n: int, c: int) -> dict[int, float]:
    """pass^k for every k from 1 to n; empty when n is 0."""
    if n:
        _check_counts(n, c, 1)
    return {k: float(ratio) for k, ratio in enumerate(_ratios(n, c), 1)}


def _over_tasks(cells: Iterable[tuple[int, int]], estimator: str) -> dict[int, float]:
    tasks = [(n, c) for n, c in cells if n > 0]
    if not tasks:
        return {}
    curve = pass_at_k_all if estimator == "at" else pass_hat_k_all
    curves = [curve(n, c) for n, c in tasks]
    # k runs only up to the fewest runs any task has: a mean over the tasks that happen to have more
    # runs would compare a different set of tasks at each k.
    return {k: statistics.fmean(one[k] for one in curves) for k in range(1, min(n for n, _ in tasks) + 1)}


def pass_at_k_over_tasks(cells: Iterable[tuple[int, int]]) -> dict[int, float]:
    """The mean over tasks of pass@k, from each task's (runs, passed), for k up to the fewest runs."""
    return _over_tasks(cells, "at")


def pass_hat_k_over_tasks(cells: Iterable[tuple[int, int]]) -> dict[int, float]:
    """The mean over tasks of pass^k, from each task's (runs, passed), for k up to the fewest runs."""
    return _over_tasks(cells, "hat")


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """McNemar's exact two-sided p-value from the discordant counts (cells only A passed, only B passed).

    1.0 when there is no discordant cell: nothing tells the two apart."""
    if a_only < 0 or b_only < 0:
        raise ValueError("discordant counts cannot be negative")
    n = a_only + b_only
    if n == 0:
        return 1.0
    # The tail's binomial coefficients each from the one before (C(n, i+1) = C(n, i) · (n − i) / (i + 1)):
    # exact integers at a cost linear in the smaller count, even for thousands of discordant cells.
    total, term = 0, 1
    for i in range(min(a_only, b_only) + 1):
        total += term
        term = term * (n - i) // (i + 1)
    return float(min(Fraction(1), Fraction(2 * total, 2**n)))


@dataclass(frozen=True)
class Paired:
    """Two contestants over the cells both ran: how many, who alone passed where, and the test's verdict."""

    shared: int
    a_only: int
    b_only: int
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def paired_test(a: Mapping[Cell, bool], b: Mapping[Cell, bool]) -> Paired:
    """McNemar's exact test over the cells (e.g. (task, repeat)) both A and B have a verdict for."""
    shared = a.keys() & b.keys()
    a_only = sum(1 for cell in shared if a[cell] and not b[cell])
    b_only = sum(1 for cell in shared if b[cell] and not a[cell])
    return Paired(len(shared), a_only, b_only, mcnemar_exact(a_only, b_only))


def repeats_to_separate(a_only: int, b_only: int, repeats: int, max_repeats: int = 1000) -> int | None:
    """How many repeats would make a tied pair's difference significant, if it held at the rate seen.

    Scales the discordant counts seen over ``repeats`` repeats up to r repeats (rounded) and returns the
    smallest r ≤ max_repeats whose McNemar p-value falls below ALPHA; ``repeats`` itself when the pair is
    already told apart; None when no number would (no difference seen, a_only == b_only) or it would take
    more than max_repeats. An estimate, as any power figure is: the difference may not hold."""
    if repeats <= 0 or a_only == b_only:
        return None
    if mcnemar_exact(a_only, b_only) < ALPHA:
        return repeats

    # The p-value falls (almost) monotonically as the counts grow in proportion: a doubling search
    # brackets the first significant r, then bisection finds it.
    def separates(r: int) -> bool:
        return mcnemar_exact(round(a_only * r / repeats), round(b_only * r / repeats)) < ALPHA

    low, high = repeats, min(repeats * 2, max_repeats)
    if high <= low:
        return None
    while not separates(high):
        if high >= max_repeats:
            return None
        low, high = high, min(high * 2, max_repeats)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if separates(middle) else (middle, high)
    return high


def median(values: Sequence[float]) -> float | None:
    """The median; None for no values."""
    return float(statistics.median(values)) if values else None


@functools.lru_cache(maxsize=256)
def _median_ranks(n: int, resamples: int, seed: int) -> tuple[tuple[int, int], ...]:
    """For each resample of n values, the ranks (0-based) of its two middle draws among the n sorted values
    (the same rank twice for odd n): they depend on n and the seed alone, never on the values, so they are
    drawn once per n and every interval of that many values reuses them."""
    rng = random.Random(seed)
    half, odd = divmod(n, 2)
    k = half + 1 if odd else half  # 1-based rank of the (lower) middle order statistic

    def rank(u: float) -> int:
        return min(n - 1, int(n * u))

    ranks = []
    for _ in range(resamples):
        lower = rng.betavariate(k, n + 1 - k)
        if odd:
            ranks.append((rank(lower), rank(lower)))
            continue
        upper = lower + (1 - lower) * (1 - rng.random() ** (1 / (n - k)))
        ranks.append((rank(lower), rank(upper)))
    return tuple(ranks)


def bootstrap_median_interval(
    values: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Interval | None:
    """A percentile-bootstrap interval of the median, seeded so that it is the same on every rebuild.

    None for fewer than two values: one value resampled is itself, an interval of no width that would
    claim a certainty one run cannot give.

    Each resample's median is drawn directly rather than by drawing n values and sorting them: the
    resample's draws are n uniform picks among the n sorted values, and the k-th smallest of n uniform
    picks is ``floor(n · U₍ₖ₎)`` with U₍ₖ₎ the k-th smallest of n uniforms on [0, 1), a Beta(k, n + 1 − k)
    variable; the (k + 1)-th follows from it as the smallest of the n − k uniforms above it. Same
    distribution as the textbook bootstrap, O(1) per resample instead of O(n log n), so a contestant with
    thousands of runs costs what one with twenty does; and as those ranks depend on n and the seed alone,
    they are drawn once per n (``_median_ranks``) and an interval costs one sort of the resampled medians."""
    if len(values) < 2:
        return None
    data = sorted(float(v) for v in values)
    if data[0] == data[-1]:
        return Interval(data[0], data[0])
    medians = sorted((data[low] + data[high]) / 2 for low, high in _median_ranks(len(data), resamples, seed))
    tail = (1 - confidence) / 2
    # Nearest-rank percentiles: the interval's ends are medians that some resample actually had.
    low = medians[max(0, math.ceil(tail * resamples) - 1)]
    high = medians[min(resamples - 1, math.ceil((1 - tail) * resamples) - 1)]
    return Interval(float(low), float(high))
