"""The report's number formats: what a reader sees, and a dash for what is missing."""

import numpy as np
import pytest

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


def test_a_claim_the_results_contradict_stops_naming_it_and_missing_results_skip():
    import pytest

    from helpers import book
    book.expect(True, "Q9, answer: 'holds'")
    book.expect(None, "Q9, answer: 'no results yet'")
    with pytest.raises(book.ClaimError, match="Q9, answer: 'wins'.*rewrite it"):
        book.expect(False, "Q9, answer: 'wins'")


def test_facts_print_in_their_own_format_and_dash_what_is_missing():
    from helpers import book, facts
    f = facts.Facts(low=facts.Acc(0.49206), gain=facts.Gain(0.0846), size=facts.Number(8099),
                    lead=facts.Signed(-0.0136), spread=facts.Score(0.62329, 0.0),
                    share=facts.Share(0.9966), whole=facts.Share(0.34), fold=facts.Ratio(84.6),
                    missing=facts.Acc(float("nan")), name=facts.Words(("一般 CNN", "plain CNN")),
                    nobody=facts.Words(None), one=facts.Seeds(1), three=facts.Seeds(3),
                    holds=True)
    assert f.texts() == {
        "low": "0.4921", "gain": "8.5", "size": "8,099", "lead": "-1.36",
        "spread": "0.6233 ± 0.0000", "share": "99.7%", "whole": "34%", "fold_zh": "85 倍",
        "fold_en": "85×",
        "missing": formats.MISSING, "name_zh": "一般 CNN", "name_en": "plain CNN",
        "nobody_zh": formats.MISSING, "nobody_en": formats.MISSING,
        "one": "1", "one_en": "1 seed", "three": "3", "three_en": "3 seeds"}
    assert f.low < 0.5 and f.holds  # numbers compare as floats; observations are not glued
    with pytest.raises(AttributeError, match="no fact 'lwo'"):
        f.lwo
    assert book.pending(0, 5) == ("", "") and "2 of this page's 5" in book.pending(2, 5)[1]


def test_every_planned_ablation_has_its_name_in_both_languages():
    import pytest

    from helpers import vocabulary
    from helpers.config import load_plan
    for config in load_plan():
        if config.ablation:
            zh, en = vocabulary.ablation(config.ablation)
            assert zh.strip() and en.strip() and en[0].islower(), (config.ablation, zh, en)
    with pytest.raises(KeyError, match="add its Chinese and English words"):
        vocabulary.ablation("no_such_ablation")
