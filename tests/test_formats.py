"""The report's number formats: what a reader sees, and a dash for what is missing."""

import numpy as np

from helpers import formats


def test_points_are_percentage_points_with_the_decimals_asked():
    assert formats.points(0.14138, signed=False, decimals=1) == "14.1"
    assert formats.points(-0.0023) == "-0.23" and formats.points(0.0023) == "+0.23"
    assert formats.points(float("nan")) == formats.MISSING


def test_mean_and_spread_over_seeds_drop_the_spread_for_one_seed():
    assert formats.acc_pm(0.61213, 0.00431) == "0.6121 ± 0.0043"
    assert formats.acc_pm(np.float64(0.6339), np.float64("nan")) == "0.6339"
    assert formats.acc_pm(None, None) == formats.MISSING


def test_counts_ratios_and_reference_scores():
    assert formats.count(4746471) == "4,746,471" and formats.count(None) == formats.MISSING
    assert formats.ratio(84.6) == "85×" and formats.ratio(7.36) == "7.4×"
    assert formats.ref_acc(0.6531) == "0.65310"
    assert formats.acc(float("nan")) == formats.MISSING
