"""The estimators of engine/stats.py against values computed by hand for small cases.

Each expected value is worked out in the comment beside it (and agrees with scipy 1.17's binomtest and
proportion_ci(method="wilson"), checked once by hand: scipy is not a dependency)."""

from __future__ import annotations

import math

import pytest

from benchtui.engine import stats


def test_wilson_interval_by_hand() -> None:
    # 5/10: centre = (0.5 + z²/20) / (1 + z²/10) = 0.5; half = z·√(0.025 + z²/400) / (1 + z²/10)
    #     = 1.95996 · √(0.025 + 0.0096037) / 1.384146 = 1.95996 · 0.186020 / 1.384146 = 0.263407
    low, high = stats.wilson_interval(5, 10) or (math.nan, math.nan)
    assert low == pytest.approx(0.236593, abs=1e-6)
    assert high == pytest.approx(0.763407, abs=1e-6)
    # 0/10: centre = half = (z²/20) / (1 + z²/10) = 0.192073 / 1.384146 = 0.138766: [0, 0.277533]
    assert stats.wilson_interval(0, 10) == pytest.approx((0.0, 0.277533), abs=1e-6)
    # n/n mirrors 0/n; 20/20: low = n / (n + z²) = 20 / 23.841459 = 0.838875
    assert stats.wilson_interval(10, 10) == pytest.approx((0.722467, 1.0), abs=1e-6)
    assert stats.wilson_interval(20, 20) == pytest.approx((0.838875, 1.0), abs=1e-6)
    # The ends at 0/n and n/n are exact, not float noise.
    assert stats.wilson_interval(0, 10).low == 0.0  # type: ignore[union-attr]
    assert stats.wilson_interval(20, 20).high == 1.0  # type: ignore[union-attr]


def test_wilson_interval_of_nothing_is_none_and_counts_are_checked() -> None:
    assert stats.wilson_interval(0, 0) is None
    assert stats.wilson_half_width(0) is None
    with pytest.raises(ValueError):
        stats.wilson_interval(3, 2)


def test_wilson_half_width_is_the_widest_interval_n_runs_give() -> None:
    # At p = ½ with n = 20: z·√(0.25/20 + z²/1600) / (1 + z²/20) = 1.95996 · √0.0149009 / 1.192073
    #     = 1.95996 · 0.122069 / 1.192073 = 0.200701, the half width of wilson_interval(10, 20).
    low, high = stats.wilson_interval(10, 20) or (math.nan, math.nan)
    assert stats.wilson_half_width(20) == pytest.approx((high - low) / 2, abs=1e-12)
    assert stats.wilson_half_width(20) == pytest.approx(0.200701, abs=1e-6)
    # n = 80: 1.95996 · √(0.003125 + 0.000150) / 1.048018 = 1.95996 · 0.0572281 / 1.048018 = 0.107026:
    # four times the runs, about half the width.
    assert stats.wilson_half_width(80) == pytest.approx(0.107026, abs=1e-6)


def test_wilson_half_width_is_the_widest_a_rate_from_n_runs_can_really_have() -> None:
    """Not the width at ½, which an odd n cannot observe: one run gives 0/1 or 1/1, never ½."""
    for n in range(1, 41):
        widest = max(((i.high - i.low) / 2 for k in range(n + 1) if (i := stats.wilson_interval(k, n))), default=0)
        assert stats.wilson_half_width(n) == pytest.approx(widest, abs=1e-12), n
    # n = 1 at 0/1: z·√(z²/4) / (1 + z²) = (3.841459 / 2) / 4.841459 = 0.396725: the interval 0–79 %, not ±45.
    assert stats.wilson_half_width(1) == pytest.approx(0.396725, abs=1e-6)
    low, high = stats.wilson_interval(0, 1) or (math.nan, math.nan)
    assert low == 0.0 and high == pytest.approx(0.793451, abs=1e-6)
    # n = 5 at 2/5: 1.95996 · √(0.048 + 0.038415) / 1.768292 = 0.325827 (at ½ it would be 0.329576).
    assert stats.wilson_half_width(5) == pytest.approx(0.325827, abs=1e-6)
    assert stats.wilson_half_width(1, p=0.5) == pytest.approx(0.445379, abs=1e-6)  # an asked-for rate is kept


def test_pass_at_k_by_hand() -> None:
    # n = 5 runs, c = 2 passed. pass@k = 1 − C(3, k) / C(5, k):
    # k=1: 1 − 3/5 = 0.4; k=2: 1 − 3/10 = 0.7; k=3: 1 − 1/10 = 0.9; k=4, 5: C(3, k) = 0 → 1.
    assert stats.pass_at_k_all(5, 2) == {1: 0.4, 2: 0.7, 3: 0.9, 4: 1.0, 5: 1.0}
    # pass@1 is the success rate; none passed → 0 for every k; all passed → 1 for every k.
    assert stats.pass_at_k(7, 3, 1) == pytest.approx(3 / 7)
    assert stats.pass_at_k_all(3, 0) == {1: 0.0, 2: 0.0, 3: 0.0}
    assert stats.pass_at_k_all(3, 3) == {1: 1.0, 2: 1.0, 3: 1.0}


def test_pass_hat_k_by_hand() -> None:
    # n = 5, c = 2: pass^k = C(2, k) / C(5, k): k=1: 2/5; k=2: 1/10; k ≥ 3: 0.
    assert stats.pass_hat_k_all(5, 2) == {1: 0.4, 2: 0.1, 3: 0.0, 4: 0.0, 5: 0.0}
    # n = 4, c = 3: k=2: C(3,2)/C(4,2) = 3/6 = 0.5; k=3: 1/4; k=4: 0.
    assert stats.pass_hat_k_all(4, 3) == {1: 0.75, 2: 0.5, 3: 0.25, 4: 0.0}


def test_pass_at_k_rejects_k_beyond_the_runs() -> None:
    with pytest.raises(ValueError):
        stats.pass_at_k(3, 1, 4)
    with pytest.raises(ValueError):
        stats.pass_hat_k(3, 1, 0)
    assert stats.pass_at_k_all(0, 0) == {}


def test_over_tasks_is_the_mean_of_the_tasks_and_stops_at_the_fewest_runs() -> None:
    # Task A: 5 runs, 2 passed; task B: 3 runs, 3 passed. k goes to 3 (B has 3 runs).
    # pass@2 = (0.7 + 1) / 2 = 0.85; pass^2 = (0.1 + 1) / 2 = 0.55; pass^3 = (0 + 1) / 2 = 0.5.
    at = stats.pass_at_k_over_tasks([(5, 2), (3, 3)])
    hat = stats.pass_hat_k_over_tasks([(5, 2), (3, 3)])
    assert at == {1: pytest.approx(0.7), 2: pytest.approx(0.85), 3: pytest.approx(0.95)}
    assert hat == {1: pytest.approx(0.7), 2: pytest.approx(0.55), 3: pytest.approx(0.5)}
    # A task without runs is no task: it neither counts nor limits k.
    assert stats.pass_at_k_over_tasks([(0, 0), (2, 1)]) == {1: 0.5, 2: 1.0}
    assert stats.pass_hat_k_over_tasks([]) == {}


def test_mcnemar_exact_by_hand() -> None:
    # 0 vs 5 discordant: 2 · (½)^5 = 2/32 = 0.0625 (not below 0.05: five cells cannot separate two).
    assert stats.mcnemar_exact(0, 5) == 0.0625
    # 1 vs 9: 2 · (C(10,0) + C(10,1)) / 2^10 = 2 · 11 / 1024 = 0.021484375.
    assert stats.mcnemar_exact(1, 9) == 0.021484375
    assert stats.mcnemar_exact(9, 1) == 0.021484375
    # 2 vs 7: 2 · (1 + 9 + 36) / 512 = 92 / 512 = 0.1796875.
    assert stats.mcnemar_exact(2, 7) == 0.1796875
    # 3 vs 3: 2 · 42/64 > 1 → capped at 1; no discordant cell → 1.
    assert stats.mcnemar_exact(3, 3) == 1.0
    assert stats.mcnemar_exact(0, 0) == 1.0
    # 0 vs 20: 2 / 2^20.
    assert stats.mcnemar_exact(0, 20) == 2 / 2**20


def test_paired_test_counts_only_the_cells_both_ran() -> None:
    a = {("t1", 1): True, ("t1", 2): True, ("t2", 1): False, ("t3", 1): True}
    b = {("t1", 1): False, ("t1", 2): True, ("t2", 1): True, ("t4", 1): True}
    paired = stats.paired_test(a, b)
    # Shared: (t1,1) only A, (t1,2) both, (t2,1) only B; t3 and t4 were run by one side only.
    assert (paired.shared, paired.a_only, paired.b_only) == (3, 1, 1)
    assert paired.p_value == 1.0
    assert not paired.significant
    always = {("t", r): True for r in range(20)}
    never = {("t", r): False for r in range(20)}
    assert stats.paired_test(always, never).significant
    assert stats.paired_test(always, never).p_value == 2 / 2**20


def test_repeats_to_separate() -> None:
    # Seen over 20 repeats: 0 vs 4 discordant (p = 2/16 = 0.125). Scaled to r repeats: 0 vs round(4r/20);
    # 0 vs 6 gives 2/64 = 0.031 < 0.05, first at r = 28 (4·28/20 = 5.6 → 6; r = 27 gives 5.4 → 5).
    assert stats.repeats_to_separate(0, 4, 20) == 28
    # Already separated: the repeats there are.
    assert stats.repeats_to_separate(0, 6, 20) == 20
    # No difference seen: no number of repeats separates them at this rate.
    assert stats.repeats_to_separate(2, 2, 20) is None
    assert stats.repeats_to_separate(0, 0, 20) is None
    # More than the cap would take: None.
    assert stats.repeats_to_separate(9, 10, 20, max_repeats=100) is None


def test_median_and_its_bootstrap_interval() -> None:
    assert stats.median([]) is None
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.bootstrap_median_interval([]) is None
    assert stats.bootstrap_median_interval([4.0]) is None
    assert stats.bootstrap_median_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)
    # Two values 1 and 3: a resample's median is 1 (¼), 2 (½) or 3 (¼); each end is a quarter of the
    # 1000 resamples, far more than the 2.5 % cut, so the 95 % interval is [1, 3].
    assert stats.bootstrap_median_interval([1.0, 3.0]) == (1.0, 3.0)


def test_bootstrap_interval_of_eleven_values_by_hand() -> None:
    # Values 1..11 (odd n: the resample's median is its 6th smallest draw). P(median ≤ j) is the chance
    # that at least 6 of 11 draws are ≤ j, P(Bin(11, j/11) ≥ 6): j=2: 0.0072, j=3: 0.0512, so the 2.5 %
    # percentile is 3 (a 1000-resample bootstrap has its 25th smallest median at 3 unless 25 of 1000
    # draws land at ≤ 2 where 7 are expected); by symmetry the 97.5 % percentile is 9.
    assert stats.bootstrap_median_interval([float(v) for v in range(1, 12)]) == (3.0, 9.0)


def test_bootstrap_is_seeded_and_brackets_the_median() -> None:
    values = [float(v) for v in (5, 1, 9, 3, 7, 2, 8, 4, 6, 10)]
    first = stats.bootstrap_median_interval(values)
    assert first == stats.bootstrap_median_interval(values)
    assert first is not None
    assert 1 <= first.low <= stats.median(values) <= first.high <= 10  # type: ignore[operator]


def test_interval_dict() -> None:
    assert stats.interval_dict(None) is None
    assert stats.interval_dict(stats.Interval(0.123456, 1.0)) == {"low": 0.1235, "high": 1.0}


def test_mcnemar_exact_stays_exact_and_quick_for_thousands_of_cells() -> None:
    # 1000 vs 1100 discordant: z = 100 / √2100 = 2.18, so about 0.03 (scipy 1.17 binomtest: 0.03072).
    assert stats.mcnemar_exact(1000, 1100) == pytest.approx(0.03072, abs=1e-5)
    assert stats.repeats_to_separate(1000, 1050, 20) is not None
