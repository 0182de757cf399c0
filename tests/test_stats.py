"""Standard errors, paired differences, slopes and the Pareto front, against hand computations."""

import math

import numpy as np
import pytest

from helpers import stats


def test_binomial_se():
    assert stats.binomial_se(0.6, 3589) == pytest.approx(math.sqrt(0.6 * 0.4 / 3589))


def test_mean_std_of_one_value_has_no_spread():
    assert stats.mean_std([0.5]) == (0.5, pytest.approx(float("nan"), nan_ok=True))
    mean, std = stats.mean_std([0.5, 0.7])
    assert mean == pytest.approx(0.6) and std == pytest.approx(np.std([0.5, 0.7], ddof=1))


def test_paired_difference_of_one_seed_each_is_the_per_image_spread():
    rng = np.random.default_rng(0)
    a = rng.random(1000) < 0.6
    b = a.copy()
    b[:50] = ~b[:50]  # disagree on 50 images only
    d = a.astype(float) - b.astype(float)
    diff = stats.paired_difference([a], [b])
    assert diff.value == pytest.approx(d.mean())
    assert diff.se == pytest.approx(d.std(ddof=1) / math.sqrt(1000))
    # Far tighter than two independent binomial errors.
    independent = math.hypot(stats.binomial_se(a.mean(), 1000), stats.binomial_se(b.mean(), 1000))
    assert diff.se < independent / 2


def test_paired_difference_adds_the_spread_over_seeds():
    rng = np.random.default_rng(1)
    seeds_a = [rng.random(500) < p for p in (0.55, 0.65)]
    seeds_b = [rng.random(500) < 0.5]
    diff = stats.paired_difference(seeds_a, seeds_b)
    a, b = np.mean(seeds_a, axis=0), seeds_b[0].astype(float)
    image_var = (a - b).var(ddof=1) / 500
    seed_var = np.var([s.mean() for s in seeds_a], ddof=1) / 2
    assert diff.se == pytest.approx(math.sqrt(image_var + seed_var))
    assert diff.value == pytest.approx(a.mean() - b.mean())
    # One seed of B shows no spread of its own: it takes the variance given for it.
    borrowed = stats.paired_difference(seeds_a, seeds_b, one_seed_var=(0.0, 4e-4))
    assert borrowed.se == pytest.approx(math.sqrt(image_var + seed_var + 4e-4))
    with pytest.raises(ValueError, match="different images"):
        stats.paired_difference([np.ones(3, bool)], [np.ones(4, bool)])


def test_pooled_seed_variance_weights_models_by_their_degrees_of_freedom():
    three, two = [0.60, 0.62, 0.64], [0.50, 0.56]
    pooled = (2 * np.var(three, ddof=1) + 1 * np.var(two, ddof=1)) / 3
    assert stats.pooled_seed_variance([three, two, [0.7]]) == pytest.approx(pooled)
    assert math.isnan(stats.pooled_seed_variance([[0.7], [0.5]]))  # no model has two seeds


def test_gain_per_decade_is_the_slope_in_log_parameters():
    assert stats.gain_per_decade([1e4, 1e5, 1e6], [0.5, 0.55, 0.6]) == pytest.approx(0.05)
    assert math.isnan(stats.gain_per_decade([1e4], [0.5]))
