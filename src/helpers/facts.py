"""The named facts each page of the book glues into its sentences and guards them with.

A page's hidden cell calls one function here (``q4(results)``), glues its numbers with
``book.glue_facts`` and checks each qualitative sentence with ``book.expect`` against
one of its observations.  Numbers carry their format in their type (an accuracy, a
difference in percentage points, a count, a share), so formatting lives in one place;
a number the results do not have yet is NaN and prints as a dash.  Observations are
``True``/``False``, or ``None`` while the results they rest on are missing (a page then
skips the check and says once that its results are not there).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from . import analysis, compression, formats, models, stats, vocabulary
from .analysis import REFERENCE
from .data import CLASS_NAMES_EN, CLASS_NAMES_ZH, TRAINING_CLASS_COUNTS
from .vocabulary import Verdict


class Number(float):
    """A fact's number; NaN when the results lack it."""

    def text(self) -> str:
        return formats.count(self)


class Acc(Number):
    """An accuracy: four decimals."""

    def text(self) -> str:
        return formats.acc(self)


class RefAcc(Number):
    """A score of the reference report, as it prints it (five decimals)."""

    def text(self) -> str:
        return formats.ref_acc(self)


class Score(Number):
    """A mean accuracy over seeds with its standard deviation: "0.6121 ± 0.0043"."""

    def __new__(cls, mean: float, std: float = math.nan):
        value = super().__new__(cls, mean)
        value.std = std
        return value

    def text(self) -> str:
        return formats.acc_pm(self, self.std)


class Seeds(Number):
    """How many seeds: glued as the count (the Chinese writes "3 個種子" around it) and as
    ``<fact>_en``, the count with its noun ("1 seed", "3 seeds")."""

    def text(self) -> str:
        return formats.count(self)

    def english(self) -> str:
        if not formats.finite(self):
            return formats.MISSING
        return f"{int(self)} seed" if int(self) == 1 else f"{int(self)} seeds"


class Points(Number):
    """A size of a difference in percentage points, unsigned: "1.13"."""

    def text(self) -> str:
        return formats.points(self, signed=False)


class Gain(Number):
    """A slope in percentage points per tenfold parameters: one decimal, as a handful of
    fitted points deserves."""

    def text(self) -> str:
        return formats.points(self, signed=False, decimals=1)


class Ratio(Number):
    """How many times, in each language's way: "85 倍" and "85×" (glued as ``<fact>_zh`` and
    ``<fact>_en``)."""

    def text(self) -> str:
        return formats.ratio(self)

    def texts(self) -> tuple[str, str]:
        shown = self.text()
        return (shown.replace("×", " 倍") if shown != formats.MISSING else shown), shown


class Signed(Number):
    """A difference in percentage points with its sign: "−0.23"."""

    def text(self) -> str:
        return formats.points(self)


class Share(Number):
    """A share in whole per cent: "66%"."""

    def text(self) -> str:
        if not formats.finite(self):
            return formats.MISSING
        # A share just short of all of it reads "99.7%", never a rounded "100%".
        return f"{self:.1%}" if 0.995 <= self < 1 else f"{self:.0%}"


class Setting(Number):
    """A training setting's number as written in ``sweep.yml``: "0.003", "128"."""

    def text(self) -> str:
        return f"{self:g}" if formats.finite(self) else formats.MISSING


class Degrees(Number):
    """An angle in whole degrees: "10°"."""

    def text(self) -> str:
        return f"{self:g}°" if formats.finite(self) else formats.MISSING


class Hours(Number):
    """Hours of training, one decimal: "38.7"."""

    def text(self) -> str:
        return f"{self:.1f}" if formats.finite(self) else formats.MISSING


class Words(tuple):
    """A name in both languages (from ``vocabulary``), glued as ``<fact>_zh`` and ``<fact>_en``."""

    def __new__(cls, words: tuple[str, str] | None):
        return super().__new__(cls, words or (formats.MISSING, formats.MISSING))


class Facts(dict):
    """A page's facts by name, readable as attributes (``f.lead``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no fact {name!r}; the page's facts are {sorted(self)}") from None

    def texts(self) -> dict[str, str]:
        """Every number and name as the page prints it, by glue key."""
        out = {}
        for key, value in self.items():
            if isinstance(value, Ratio):
                out[f"{key}_zh"], out[f"{key}_en"] = value.texts()
            elif isinstance(value, Seeds):
                out[key], out[f"{key}_en"] = value.text(), value.english()
            elif isinstance(value, Number):
                out[key] = value.text()
            elif isinstance(value, Words):
                out[f"{key}_zh"], out[f"{key}_en"] = value
        return out


def _known(*values: float) -> bool:
    return all(formats.finite(v) for v in values)


def _when(known: bool, holds: Callable[[], Any]) -> bool | None:
    """An observation, read only when its results are there (``None`` until then)."""
    return bool(holds()) if known else None


def _shown_gap(a: float, b: float) -> float:
    """The difference of two accuracies as the page prints them (four decimals each), so
    that "0.6339 against 0.6121" reads "2.18 points", never a rounding apart from it."""
    return round(a, 4) - round(b, 4) if _known(a, b) else np.nan


def _noise_against_reference(ours: float, reference: float) -> float:
    """Two standard errors of the difference between one of our scores and the reference's:
    two independent scores on PrivateTest, each with its binomial error."""
    if not _known(ours):
        return np.nan
    return 2 * float(np.hypot(stats.binomial_se(ours, analysis.TEST_IMAGES),
                              stats.binomial_se(reference, analysis.TEST_IMAGES)))


def _row(frame: pd.DataFrame, **match) -> pd.Series:
    """The frame's one row matching every column value, or an empty row of NaN."""
    mask = np.ones(len(frame), dtype=bool)
    for column, value in match.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[mask].iloc[0] if mask.any() else pd.Series(np.nan, index=frame.columns)


def _coincide(same: dict[str, pd.DataFrame]) -> bool | None:
    """Whether MobileNet's points lie within noise of the plain CNN's curve, read at equal
    parameters and at equal multiply-adds (``analysis.gap_at_equal``)."""
    return _when(all(len(t) >= 2 for t in same.values()),
                 lambda: all((t.gap.abs() <= t.noise).all() for t in same.values()))


def _same(points: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {x: analysis.gap_at_equal(points, "mobilenet", "plain_cnn", x) for x in ("params", "macs")}


def _small_budgets(budgets: pd.DataFrame) -> dict:
    """Q4's answer as the intro and Q4 both give it (``analysis.equal_budget`` rows): the
    lead at the HW8 budget with its two standard errors, and which of our models at the
    reference's small-CNN budget falls as far behind as the reference's small CNN."""
    hw8_budget, small_budget = REFERENCE["hw8_mobilenet"].params, REFERENCE["small_cnn"].params
    mob = _row(budgets, budget=hw8_budget, curve="mobilenet")
    small = {c: _row(budgets, budget=small_budget, curve=c) for c in ("plain_cnn", "hw3_scaled")}
    ref_gap = REFERENCE["hw8_mobilenet"].private - REFERENCE["small_cnn"].private
    fall = {c: _shown_gap(mob.private, row.private) for c, row in small.items()}
    return dict(
        lead=Signed(mob.lead_over_plain), lead_2se=Points(2 * mob.lead_se),
        lead_low=Signed(mob.lead_over_plain - 2 * mob.lead_se),
        lead_high=Signed(mob.lead_over_plain + 2 * mob.lead_se),
        tie_at_hw8=_when(_known(mob.lead_over_plain), lambda: mob.verdict == Verdict.TIE),
        ref_hw8=RefAcc(REFERENCE["hw8_mobilenet"].private),
        ref_small=RefAcc(REFERENCE["small_cnn"].private), ref_small_params=Number(small_budget),
        ref_gap=Points(ref_gap), shrunk_params=Number(small["hw3_scaled"].params),
        shrunk_seeds=Seeds(small["hw3_scaled"].seeds or np.nan),
        shrunk_private=Acc(small["hw3_scaled"].private),
        shrunk_fall=Points(fall["hw3_scaled"]), plain_fall=Points(fall["plain_cnn"]),
        plain_small_seeds=Seeds(small["plain_cnn"].seeds or np.nan),
        only_shrunk_falls_as_far=_when(
            _known(*fall.values()),
            lambda: fall["hw3_scaled"] >= ref_gap / 2 > fall["plain_cnn"]),
    )


def q4(results) -> Facts:
    """Q4: the tie at the HW8 budget as a bound, the reference's gap and who reproduces it,
    the curves over the whole range, where the parameters go, the controls, and whether the
    largest models overfit."""
    points = analysis.curve_points(results.records)
    budgets = analysis.equal_budget(results.records)
    hw8_budget = REFERENCE["hw8_mobilenet"].params
    mob = _row(budgets, budget=hw8_budget, curve="mobilenet")
    plain = _row(budgets, budget=hw8_budget, curve="plain_cnn")
    same = _same(points)
    hw3 = {x: analysis.gap_at_equal(points, "hw3_scaled", "mobilenet", x)
           for x in ("params", "macs")}
    split = analysis.parameter_splits(hw8_budget, ("mobilenet", "separable_mobilenet",
                                                   "plain_cnn", "hw3_scaled", "hw3_gap"))
    part = split.set_index("family")
    controls = analysis.control_effects(results.records)
    # The shrunk HW3 CNN's two controls, each measured against its base.
    fixes = controls[(controls.base == "hw3_scaled") & controls.change.notna()]
    # The all-separable MobileNet against MobileNet and against the plain CNN.
    separable = controls[(controls.control == "separable_mobilenet")
                         & controls.change.notna()]
    separable_by_base = separable.set_index("base")
    waiting = len(analysis.untrained_models(results.plan, results.records, analysis.CONTROL_BASE))
    shrunk_ends = analysis.end_of_training(results.records, "hw3_scaled", hw8_budget * 1.05)
    fits = analysis.fit_gaps(results.records).set_index("curve")
    listing_ends = analysis.end_of_training(results.records, "mobilenet", hw8_budget)
    listing_ends = listing_ends[listing_ends.params == hw8_budget]
    listing_gap = (listing_ends.train_end - listing_ends.val_end).mean()
    fit = {c: fits.loc[c] if c in fits.index else pd.Series(dtype=float)
           for c in ("mobilenet", "plain_cnn", "hw3_scaled")}
    summaries = {c: analysis.curve_summary(points, c) for c in ("mobilenet", "plain_cnn")}
    small_verdicts = budgets.dropna(subset=["params"])
    mob_verdicts = small_verdicts[small_verdicts.curve == "mobilenet"].verdict
    hw3_verdicts = small_verdicts[small_verdicts.curve == "hw3_scaled"].verdict
    val_se = 2 * stats.binomial_se(0.65, analysis.VAL_IMAGES)
    big = [fit[c] for c in ("mobilenet", "plain_cnn")]
    # The MobileNet (by parameters) where the plain CNN's curve is farthest, on either axis.
    largest_gap_at = {axis: frame.params[frame.gap.abs().idxmax()] if len(frame) else np.nan
                      for axis, frame in same.items()}
    return Facts(
        hw8_params=Number(hw8_budget), mob=Score(mob.private, mob.private_std),
        plain=Score(plain.private, plain.private_std), **_small_budgets(budgets),
        budget_match=Share(analysis.BUDGET_MATCH),
        same_params_max=Points(same["params"].gap.abs().max()),
        same_gap_at=Number(largest_gap_at["params"]),
        same_macs_max=Points(same["macs"].gap.abs().max()),
        largest_gaps_at_one_model=_when(len(same["params"]) and len(same["macs"]),
                                        lambda: largest_gap_at["params"]
                                        == largest_gap_at["macs"]),
        curves_coincide=_coincide(same),
        hw3_params_low=Points(hw3["params"].gap.abs().min()),
        hw3_params_high=Points(hw3["params"].gap.abs().max()),
        hw3_macs_low=Points(hw3["macs"].gap.abs().min()),
        hw3_macs_high=Points(hw3["macs"].gap.abs().max()),
        hw3_below_all_along=_when(len(hw3["params"]) >= 2,
                                  lambda: (hw3["params"].gap < -hw3["params"].noise).all()),
        hw3_gap_narrows_on_macs=_when(len(hw3["params"]) >= 2 and len(hw3["macs"]) >= 2,
                                      lambda: hw3["macs"].gap.abs().max() < hw3["params"].gap.abs().max()
                                      and hw3["macs"].gap.abs().mean()
                                      < hw3["params"].gap.abs().mean()),
        mob_widest=Number(part.loc["mobilenet", "widest_channels"]),
        plain_widest=Number(part.loc["plain_cnn", "widest_channels"]),
        mob_macs=Number(part.loc["mobilenet", "macs"]),
        plain_macs=Number(part.loc["plain_cnn", "macs"]),
        hw3_macs=Number(part.loc["hw3_scaled", "macs"]),
        listing_convs=Number(part.loc["mobilenet", "full_convs"]
                             + part.loc["mobilenet", "separable_blocks"]),
        listing_full_after_stem=Number(part.loc["mobilenet", "full_convs"] - 1),
        listing_separable=Number(part.loc["mobilenet", "separable_blocks"]),
        listing_separable_share=Share(part.loc["mobilenet", "separable_share"]),
        all_separable_share=Share(part.loc["separable_mobilenet", "separable_share"]),
        hw3_dense_share=Share(part.loc["hw3_scaled", "dense_share"]),
        hw3_widest=Number(part.loc["hw3_scaled", "widest_channels"]),
        hw3_convs=Number(part.loc["hw3_scaled", "conv_layers"]),
        hw3_dropouts=Number(part.loc["hw3_scaled", "dropout_layers"]),
        gap_widest=Number(part.loc["hw3_gap", "widest_channels"]),
        shrunk_runs=Number(len(shrunk_ends) or np.nan),
        shrunk_min_params=Number(shrunk_ends.params.min()),
        shrunk_max_params=Number(shrunk_ends.params.max()),
        hw3_train_low=Acc(shrunk_ends.train_end.min()),
        hw3_train_high=Acc(shrunk_ends.train_end.max()),
        shrunk_underfits=_when(len(shrunk_ends) > 0,
                               lambda: (shrunk_ends.train_end < shrunk_ends.val_end).all()),
        mob_budgets=Number(len(mob_verdicts) or np.nan),
        mobilenet_ties_every_small_budget=_when(len(mob_verdicts) > 0,
                                                lambda: (mob_verdicts == Verdict.TIE).all()),
        shrunk_behind_every_small_budget=_when(len(hw3_verdicts) > 0,
                                               lambda: (hw3_verdicts == Verdict.BEHIND).all()),
        test_images=Number(analysis.TEST_IMAGES),
        controls_concluded=bool(len(controls)) and waiting == 0 and bool(
            (controls.seeds >= 3).all() and (controls.base_seeds >= 3).all()
            and np.isfinite(controls.change).all()),
        shrunk_fix_points=Number(len(fixes) or np.nan),
        shrunk_fix_low=Points(fixes.change.min()), shrunk_fix_high=Points(fixes.change.max()),
        shrunk_fixes_each_lift_far=_when(
            len(fixes) > 0, lambda: set(fixes.control) == {"hw3_nodrop", "hw3_gap"}
            and (fixes.change > 2 * (2 * fixes.change_se)).all()),
        shrunk_fixes_few_seeds=_when(len(fixes) > 0, lambda: (fixes.seeds < 3).all()
                                     and (fixes.seeds == 1).mean() > 0.5),
        separable_params=Number(separable.params.min() if len(separable) else np.nan),
        separable_vs_mob=Signed(separable_by_base.change.get("mobilenet", np.nan)),
        separable_vs_mob_2se=Points(2 * separable_by_base.change_se.get("mobilenet", np.nan)),
        separable_vs_plain=Signed(separable_by_base.change.get("plain_cnn", np.nan)),
        separable_vs_plain_2se=Points(2 * separable_by_base.change_se.get("plain_cnn", np.nan)),
        separable_behind_both_at_one_size=_when(
            len(separable) > 0, lambda: len(separable.drop_duplicates("params")) == 1
            and set(separable.base) == {"mobilenet", "plain_cnn"}
            and (separable.verdict == Verdict.BEHIND).all()),
        controls_waiting=Number(waiting),
        controls_planned=Number(waiting + len(controls.drop_duplicates(["control", "params"]))),
        mob_big_params=Number(fit["mobilenet"].get("params", np.nan)),
        plain_big_params=Number(fit["plain_cnn"].get("params", np.nan)),
        mob_train=Acc(fit["mobilenet"].get("train_end", np.nan)),
        mob_val=Acc(fit["mobilenet"].get("val_end", np.nan)),
        plain_train=Acc(fit["plain_cnn"].get("train_end", np.nan)),
        plain_val=Acc(fit["plain_cnn"].get("val_end", np.nan)),
        mob_loss_epoch=Number(fit["mobilenet"].get("lowest_loss_epoch", np.nan)),
        plain_loss_epoch=Number(fit["plain_cnn"].get("lowest_loss_epoch", np.nan)),
        fit_epochs=Number(fit["mobilenet"].get("epochs", np.nan)),
        val_fall_max=Points(max((f.get("val_fall", np.nan) for f in big), default=np.nan)),
        hw3_train=Acc(fit["hw3_scaled"].get("train_end", np.nan)),
        hw3_val=Acc(fit["hw3_scaled"].get("val_end", np.nan)),
        listing_gap=Points(listing_gap),
        largest_gap=Points(fit["mobilenet"].get("gap_end", np.nan)),
        plain_gap=Points(fit["plain_cnn"].get("gap_end", np.nan)),
        largest_fit_far_better=_when(all(len(f) for f in big) and _known(listing_gap),
                                     lambda: all(f.gap_end > 0.1 + listing_gap for f in big)),
        val_loss_turns_early=_when(all(len(f) for f in big),
                                   lambda: all(f.lowest_loss_epoch <= f.epochs / 2 and f.loss_rise > 0
                                       for f in big)),
        val_accuracy_holds=_when(all(len(f) for f in big),
                                 lambda: all(f.val_fall < val_se for f in big)),
        largest_still_best=_when(all(s["points"] >= 2 for s in summaries.values()),
                                 lambda: all(s.get("shape") == "rising" for s in summaries.values())),
        hw3_cnn_below_validation=_when(len(fit["hw3_scaled"]) > 0,
                                       lambda: fit["hw3_scaled"].get("gap_end", 0) < 0),
    )


def _curve(summary: dict, prefix: str) -> dict:
    """A curve's numbers (``_curve_numbers``) keyed ``<prefix>_…``, and whether its largest
    model is its best and whether its gains shrink."""
    return {**_curve_numbers(summary, f"{prefix}_"),
            f"{prefix}_rising": _when(summary["points"] >= 2, lambda: summary["shape"] == "rising"),
            f"{prefix}_slowing": _when(summary["points"] >= 4, lambda: summary["slowing"])}


def intro(results) -> Facts:
    """The intro's answers at a glance: Q1's two listings, Q2's and Q3's curves, Q4's tie
    and fall, the smallest file that still beats the reference HW8, and the data."""
    q1 = analysis.reference_models(results.records)
    points = analysis.curve_points(results.records)
    files = analysis.format_means(analysis.compression_table(
        compression.load(results.records), results.records))
    smallest = analysis.smallest_beating(files, REFERENCE["hw8_mobilenet"].private)
    smallest = smallest if smallest is not None else pd.Series(np.nan, index=files.columns)
    listing = {f: q1.loc[f] if f in q1.index else pd.Series(np.nan, index=q1.columns)
               for f in ("hw3_cnn", "hw8_mobilenet")}
    return Facts(
        hw3_params=Number(listing["hw3_cnn"].params),
        hw8_params=Number(listing["hw8_mobilenet"].params),
        hw3_private=Score(listing["hw3_cnn"].private, listing["hw3_cnn"].private_std),
        hw8_private=Score(listing["hw8_mobilenet"].private, listing["hw8_mobilenet"].private_std),
        epochs=Number(analysis.curve_recipe(results.plan).epochs),
        ref_hw3=RefAcc(REFERENCE["hw3_cnn"].private),
        times_params=Ratio(listing["hw3_cnn"].params / listing["hw8_mobilenet"].params),
        hw3_lead=Points(_shown_gap(listing["hw3_cnn"].private, listing["hw8_mobilenet"].private)),
        hw3_above_hw8=_when(_known(listing["hw3_cnn"].private, listing["hw8_mobilenet"].private),
                            lambda: listing["hw3_cnn"].private > listing["hw8_mobilenet"].private),
        both_a_little_below_reference=_when(
            _known(listing["hw3_cnn"].private, listing["hw8_mobilenet"].private),
            lambda: all(0 < REFERENCE[f].private - listing[f].private
                        < _noise_against_reference(listing[f].private, REFERENCE[f].private)
                        for f in ("hw3_cnn", "hw8_mobilenet"))),
        **_curve(analysis.curve_summary(points, "mobilenet"), "q2"),
        **_curve(analysis.curve_summary(points, "plain_cnn"), "q3"),
        curves_coincide=_coincide(_same(points)),
        **_small_budgets(analysis.equal_budget(results.records)),
        smallest_bytes=Number(round(smallest.bytes) if _known(smallest.bytes) else np.nan),
        smallest_private=Acc(smallest.private), smallest_seeds=Seeds(smallest.seeds),
        smallest_family=Words(vocabulary.family(smallest.family)
                              if isinstance(smallest.family, str) else None),
        smallest_format=Words(vocabulary.file_format(smallest.format)
                              if isinstance(smallest.format, str) else None),
        smallest_ablation=Words(vocabulary.ablation(smallest.ablation)
                                if isinstance(smallest.ablation, str) and smallest.ablation
                                else None),
        smallest_is_ablation=_when(_known(smallest.bytes), lambda: bool(smallest.ablation)),
        disgust_images=Number(TRAINING_CLASS_COUNTS[CLASS_NAMES_EN.index("Disgust")]),
    )


def q1(results) -> Facts:
    """Q1: the two listings' sizes and scores against the reference's, what twice the epochs
    and the other variants change, how each spends its parameters, and the classes they
    find hardest."""
    q1_table = analysis.reference_models(results.records)
    nan_row = pd.Series(np.nan, index=q1_table.columns)
    hw3, hw8 = (q1_table.loc[f] if f in q1_table.index else nan_row
                for f in ("hw3_cnn", "hw8_mobilenet"))
    effects = analysis.ablation_effects(results.records)
    change = {(f, a): _row(effects, family=f, ablation=a)
              for f in ("hw3_cnn", "hw8_mobilenet") for a in ("long", "full_aug", "distilled")}
    variants = analysis.variants(results.records)
    flip = {f: _row(variants, family=f, variant="flip").private
            - _row(variants, family=f, variant="one_pass").private
            for f in ("hw3_cnn", "hw8_mobilenet")}
    classes = {f: analysis.per_class(results.records, f).set_index("class_en")
               for f in ("hw3_cnn", "hw8_mobilenet")}
    others = {f: t.drop(index="Disgust").recall.mean() for f, t in classes.items()}
    fear_as, fear_share = analysis.most_confused(results.records, "hw8_mobilenet", "Fear")
    stages = {f: models.stage_table(models.build(f))
              for f in ("hw3_cnn", "hw8_mobilenet")}
    head = {f: next(s for s in st if s["stage"] == "head")["params"]
            / sum(s["params"] for s in st) for f, st in stages.items()}
    ref3, ref8 = REFERENCE["hw3_cnn"], REFERENCE["hw8_mobilenet"]
    long3, long8 = change[("hw3_cnn", "long")], change[("hw8_mobilenet", "long")]
    known = _known(hw3.private, hw8.private)

    def lead(row: pd.Series) -> tuple[Signed, Points]:
        return Signed(row.change), Points(2 * row.change_se)

    (long3_change, long3_2se), (long8_change, long8_2se) = lead(long3), lead(long8)
    aug, distilled = change[("hw8_mobilenet", "full_aug")], change[("hw8_mobilenet", "distilled")]
    return Facts(
        hw3_params=Number(hw3.params), hw8_params=Number(hw8.params),
        times_params=Ratio(hw3.params / hw8.params), times_macs=Ratio(hw3.macs / hw8.macs),
        hw3_macs=Number(hw3.macs), hw8_macs=Number(hw8.macs),
        hw3_non_trainable=Number(hw3.non_trainable), hw8_non_trainable=Number(hw8.non_trainable),
        dense30_params=Number(analysis.listing_head_params()),
        hw3_private=Score(hw3.private, hw3.private_std), hw8_private=Score(hw8.private, hw8.private_std),
        hw3_public=Score(hw3.public, hw3.public_std), hw8_public=Score(hw8.public, hw8.public_std),
        hw3_seeds=Number(hw3.seeds or np.nan), hw8_seeds=Number(hw8.seeds or np.nan),
        epochs=Number(analysis.curve_recipe(results.plan).epochs),
        gap=Points(_shown_gap(hw3.private, hw8.private)),
        ref_hw3=RefAcc(ref3.private), ref_hw8=RefAcc(ref8.private),
        ref_hw3_public=RefAcc(ref3.public), ref_hw8_public=RefAcc(ref8.public),
        ref_gap=Points(ref3.private - ref8.private),
        hw3_short=Points(ref3.private - hw3.private), hw8_short=Points(ref8.private - hw8.private),
        hw3_ahead=_when(known, lambda: hw3.private > hw8.private),
        ref_noise=Points(max(_noise_against_reference(hw3.private, ref3.private),
                             _noise_against_reference(hw8.private, ref8.private))),
        both_a_little_below_reference=_when(known, lambda: all(
            0 < ref.private - ours < _noise_against_reference(ours, ref.private)
            for ours, ref in ((hw3.private, ref3), (hw8.private, ref8)))),
        longer_hw3_passes_hw8_matches_reference=_when(
            _known(long3.private, long8.private),
            lambda: long3.private - ref3.private > _noise_against_reference(long3.private,
                                                                           ref3.private)
            and abs(long8.private - ref8.private) < _noise_against_reference(long8.private,
                                                                             ref8.private)),
        hw3_public_low=Points(_shown_gap(hw3.private, hw3.public)),
        hw8_public_low=Points(_shown_gap(hw8.private, hw8.public)),
        public_below_private_unlike_reference=_when(
            _known(hw3.public, hw8.public),
            lambda: hw3.public < hw3.private and hw8.public < hw8.private
            and ref3.public > ref3.private and ref8.public > ref8.private),
        hw3_long_above=Points(long3.private - ref3.private),
        hw3_long=Score(long3.private, long3.private_std), hw8_long=Score(long8.private, long8.private_std),
        hw3_long_seeds=Seeds(long3.seeds), hw8_long_seeds=Seeds(long8.seeds),
        long_epochs=Number(max(long3.epochs, long8.epochs)),
        hw3_long_change=long3_change, hw3_long_2se=long3_2se,
        hw8_long_change=long8_change, hw8_long_2se=long8_2se,
        longer_lifts_both=_when(
            _known(long3.private, long8.private),
            lambda: long3.verdict == Verdict.AHEAD and long8.verdict == Verdict.AHEAD),
        test_images=Number(analysis.TEST_IMAGES),
        hw3_flip=Points(flip["hw3_cnn"]), hw8_flip=Points(flip["hw8_mobilenet"]),
        flip_helps_both=_when(_known(*flip.values()), lambda: min(flip.values()) > 0),
        aug_change=Signed(aug.change), aug_2se=Points(2 * aug.change_se),
        distilled_change=Signed(distilled.change), distilled_2se=Points(2 * distilled.change_se),
        aug_hurts_distillation_ties=_when(
            _known(aug.change, distilled.change),
            lambda: aug.verdict == Verdict.BEHIND and distilled.verdict == Verdict.TIE),
        hw3_head_share=Share(head["hw3_cnn"]), hw8_head_share=Share(head["hw8_mobilenet"]),
        hw3_head_holds_most=_when(True, lambda: head["hw3_cnn"] > 0.5 > head["hw8_mobilenet"]),
        disgust_images=Number(classes["hw8_mobilenet"].loc["Disgust", "train_images"]),
        fear_images=Number(classes["hw8_mobilenet"].loc["Fear", "train_images"]),
        happy_images=Number(classes["hw8_mobilenet"].loc["Happy", "train_images"]),
        hw3_disgust=Acc(classes["hw3_cnn"].loc["Disgust", "recall"]),
        hw8_disgust=Acc(classes["hw8_mobilenet"].loc["Disgust", "recall"]),
        hw3_others=Acc(others["hw3_cnn"]), hw8_others=Acc(others["hw8_mobilenet"]),
        hw3_fear=Acc(classes["hw3_cnn"].loc["Fear", "recall"]),
        hw8_fear=Acc(classes["hw8_mobilenet"].loc["Fear", "recall"]),
        fear_as=Words((CLASS_NAMES_ZH[CLASS_NAMES_EN.index(fear_as)], fear_as) if fear_as else None),
        fear_as_share=Share(fear_share),
        disgust_far_below=_when(_known(*others.values()), lambda: all(
            t.loc["Disgust", "recall"] < others[f] - 0.15 for f, t in classes.items())),
        fear_low_too=_when(_known(*others.values()), lambda: all(
            t.loc["Fear", "recall"] < others[f] - 0.15 for f, t in classes.items())),
    )


def _model_words(row: pd.Series) -> Words:
    """A measured model as the pages name it: its family, with its ablation if it has one."""
    if not isinstance(row.get("family"), str):
        return Words(None)
    zh, en = vocabulary.family(row.family)
    if row.get("ablation"):
        ab_zh, ab_en = vocabulary.ablation(row.ablation)
        return Words((f"{zh}（{ab_zh}）", f"{en} ({ab_en})"))
    return Words((zh, en))


def q5(results) -> Facts:
    """Q5: the smallest file still above the reference HW8, the best smaller one, what
    full-integer int8 costs each family, the HW3 listing's dead channels, the Keras
    container's overhead and what int8 buys in latency."""
    measured = compression.load(results.records)
    table = analysis.compression_table(measured, results.records)
    files = analysis.format_means(table)
    ref = REFERENCE["hw8_mobilenet"].private
    empty = pd.Series(np.nan, index=files.columns)
    best = analysis.smallest_beating(files, ref)
    best = best if best is not None else empty
    smaller = files[files.bytes < best.bytes] if _known(best.bytes) else files.iloc[:0]
    runner = smaller.loc[smaller.private.idxmax()] if len(smaller) else empty
    drops = analysis.int8_drops(measured, results.records)
    contrast = analysis.int8_contrast(analysis.int8_by_model(drops))
    rescued = drops[drops.calmed > 0]
    worst = (rescued.loc[(rescued.base_private - rescued.uncalmed_private).idxmax()]
             if len(rescued) else pd.Series(np.nan, index=drops.columns))
    # The share of Happy faces in PrivateTest: a model that calls every face Happy scores it.
    per_class = (np.asarray(results.records[0].scores["private"].confusion_matrix).sum(axis=1)
                 if results.records else np.full(len(CLASS_NAMES_EN), np.nan))
    happy_share = per_class[CLASS_NAMES_EN.index("Happy")] / per_class.sum()
    missing = compression.unmeasured(results.records)
    gone = [r for r, kept in missing if not kept]
    sizes = table.pivot_table(index="run_id", columns="format", values="bytes")
    small = table[table.params < 100_000].run_id.unique()
    latency = table.pivot_table(index="run_id", columns="format", values="latency_ms")
    params_of = table.groupby("run_id").params.first()
    speedup = (latency["litert_float32"] / latency["litert_int8"] if len(latency)
               else pd.Series(dtype=float))
    largest = params_of.idxmax() if len(params_of) else None
    large_row = table[table.run_id == largest].iloc[0] if largest else empty
    speed_small = speedup[params_of[speedup.index] < 100_000].median() if len(speedup) else np.nan
    speed_large = speedup.get(largest, np.nan)
    return Facts(
        ref_hw8=RefAcc(ref), measured=Number(len(measured) or np.nan),
        best_model=_model_words(best), best_params=Number(best.params),
        best_format=Words(vocabulary.file_format(best.format) if isinstance(best.format, str)
                          else None),
        best_bytes=Number(round(best.bytes) if _known(best.bytes) else np.nan),
        best_private=Acc(best.private), best_seeds=Seeds(best.seeds),
        best_is_ablation_over_seeds=_when(_known(best.bytes),
                                          lambda: bool(best.ablation) and best.seeds > 1),
        runner_model=_model_words(runner), runner_params=Number(runner.params),
        runner_format=Words(vocabulary.file_format(runner.format)
                            if isinstance(runner.format, str) else None),
        runner_bytes=Number(round(runner.bytes) if _known(runner.bytes) else np.nan),
        runner_private=Acc(runner.private), runner_seeds=Seeds(runner.seeds),
        runner_is_curve_over_seeds=_when(_known(runner.bytes),
                                         lambda: not runner.ablation and runner.seeds > 1),
        both_within_noise_of_reference=_when(
            _known(best.private, runner.private),
            lambda: all(abs(x - ref) < _noise_against_reference(x, ref)
                        for x in (best.private, runner.private))),
        separable_drop=Signed(contrast["separable"]), plain_drop=Signed(contrast["standard"]),
        int8_ties=_when(contrast["verdict"] != Verdict.UNMEASURED,
                        lambda: contrast["verdict"] == Verdict.TIE
                        and max(abs(contrast["separable"]), abs(contrast["standard"])) < 0.005),
        worst_model=_model_words(worst), worst_uncalmed=Acc(worst.uncalmed_private),
        worst_calmed=Number(worst.calmed), worst_private=Acc(worst.private),
        worst_keras=Acc(worst.base_private),
        worst_is_hw3_listing=_when(_known(worst.calmed), lambda: worst.family == "hw3_cnn"),
        worst_calls_every_face_happy=_when(_known(worst.calmed),
                                           lambda: abs(worst.uncalmed_private - happy_share) < 0.002),
        gone_model=Words(vocabulary.family(gone[0].family) if gone else None),
        gone_epochs=Number(gone[0].config.epochs if gone else np.nan),
        one_model_gone=_when(bool(results.records), lambda: len(gone) == 1 and len(missing) == 1),
        calm_ratio=Ratio(compression.CALM_RATIO),
        keras_overhead=Number((sizes.loc[small, "keras_float32"]
                               - sizes.loc[small, "litert_float32"]).mean() if len(small)
                              else np.nan),
        large_model=_model_words(large_row), large_params=Number(large_row.params),
        speedup_large=Ratio(speed_large), speedup_small=Ratio(speed_small),
        small_models=Number(int((params_of[speedup.index] < 100_000).sum()) if len(speedup)
                            else np.nan),
        int8_slower=Number(int((speedup[params_of[speedup.index] < 100_000] < 1).sum())
                           if len(speedup) else np.nan),
        int8_slows_some=_when(len(speedup) > 0, lambda: (
            speedup[params_of[speedup.index] < 100_000] < 1).any()),
        keras_slowest=_when(len(latency) > 0, lambda: (
            latency["keras_float32"] > latency["litert_float32"]).all()),
        int8_pays_only_when_large=_when(_known(speed_large, speed_small),
                                        lambda: speed_large > 2 * speed_small),
    )


def _curve_numbers(summary: dict, prefix: str = "") -> dict:
    """A curve's numbers (``analysis.curve_summary``): its range, gains per tenfold below and
    above its middle size, and its largest fall between neighbouring sizes."""
    get = lambda key: summary.get(key) if summary.get(key) is not None else np.nan  # noqa: E731
    before, after = summary.get("dip_seeds") or (np.nan, np.nan)
    numbers = {
        "smallest": Number(get("smallest")), "largest": Number(get("largest")),
        "low": Acc(get("low_private")), "high": Acc(get("largest_private")),
        "gain": Gain(get("gain_per_decade")), "middle": Number(get("middle_params")),
        "below": Gain(get("gain_below_middle")), "above": Gain(get("gain_above_middle")),
        "dip": Points(get("dip")), "dip_params": Number(get("dip_params")),
        "dip_from": Number(get("dip_from_params")), "dip_std": Points(get("dip_std")),
        "dip_seeds_before": Number(before), "dip_seeds_after": Number(after),
    }
    return {prefix + key: value for key, value in numbers.items()}


def q2(results) -> Facts:
    """Q2: MobileNet's curve, its bend, the test-set noise and what twice the epochs did."""
    points = analysis.curve_points(results.records)
    curve = analysis.curve_summary(points, "mobilenet")
    longer = analysis.ablation_effect(results.records, "hw8_mobilenet", "long")
    have = curve["points"] >= 4  # enough sizes for a slope and its bend
    mean = points[points.curve == "mobilenet"].private.mean()
    return Facts(
        **_curve_numbers(curve), epochs=Number(analysis.curve_recipe(results.plan).epochs),
        noise=Points(2 * stats.binomial_se(mean, analysis.TEST_IMAGES) if have else np.nan),
        longer_change=Points(longer.get("change", np.nan)),
        longer_2se=Points(2 * longer.get("change_se", np.nan)),
        rises=_when(have, lambda: curve["largest_private"] > curve["low_private"]),
        largest_best=_when(have, lambda: curve["shape"] == "rising"),
        slowing=_when(have, lambda: curve["slowing"]),
        longer_ahead=_when(len(longer) > 0, lambda: longer["verdict"] == Verdict.AHEAD),
    )


def q3(results) -> Facts:
    """Q3: the two plain CNNs' curves, their best models against each other, and the longer
    HW3 run that catches up."""
    points = analysis.curve_points(results.records)
    plain = analysis.curve_summary(points, "plain_cnn")
    shrunk = analysis.curve_summary(points, "hw3_scaled")
    have = plain["points"] >= 4 and shrunk["points"] >= 4  # enough sizes for slopes and bends
    vs = analysis.best_against_best(points, results.records, "plain_cnn", "hw3_scaled") if have \
        else None
    none = pd.Series({"params": np.nan, "private": np.nan, "seeds": np.nan, "epochs": np.nan})
    small, large = (vs["small"], vs["large"]) if vs else (none, none)
    longer = vs["longer"] if vs and vs["longer"] is not None else None
    gap_se = vs["gap_se"] if vs else np.nan
    return Facts(
        **_curve_numbers(plain, "plain_"), **_curve_numbers(shrunk, "shrunk_"),
        epochs=Number(analysis.curve_recipe(results.plan).epochs),
        budget_match=Share(analysis.BUDGET_MATCH),
        ref_small=Number(REFERENCE["small_cnn"].params),
        noise=Points(2 * gap_se), gap=Points(vs["gap"] if vs else np.nan),
        fewer=Number(round(vs["times_params"]) if vs else np.nan),
        small_params=Number(small.params), small_best=Acc(small.private),
        large_params=Number(large.params), large_best=Acc(large.private),
        longer_epochs=Number(longer.epochs if longer is not None else np.nan),
        longer_private=Acc(longer.private if longer is not None else np.nan),
        both_gain=_when(have, lambda: plain["gain_per_decade"] > 0
                        and shrunk["gain_per_decade"] > 0),
        smaller_plain_beats_larger_hw3=_when(have, lambda: vs["gap"] > 2 * gap_se
                                             and vs["times_params"] > 1),
        one_seed_each=_when(have, lambda: small.seeds == large.seeds == 1),
        longer_catches_up=_when(longer is not None, lambda: abs(longer.private - small.private)
                                <= 2 * gap_se and longer.private - large.private > 2 * gap_se),
        plain_best_but_slowing=_when(have, lambda: plain["shape"] == "rising"
                                     and plain["slowing"]),
        shrunk_best_slowing_less=_when(have, lambda: shrunk["shape"] == "rising"
                                       and not shrunk["slowing"]),
        shrunk_dips_within_spread=_when(have, lambda: shrunk.get("dip") is not None
                                        and shrunk["dip_seeds"][1] > 1
                                        and shrunk["dip"] <= shrunk["dip_std"]),
    )


def reproduce(results) -> Facts:
    """Reproduce: the curves' recipe, the augmentation chosen on validation, and what the
    finished runs cost."""
    curve = analysis.curve_recipe(results.plan)
    full_aug_plan = next((c for c in results.plan if c.ablation == "full_aug"), None)
    pairs = analysis.ablation_pairs(results.records)
    full_aug = _row(pairs, ablation="full_aug")
    full_aug_seeds = int((pairs.ablation == "full_aug").sum())
    runs = analysis.runs(results.records)
    on_gpu = runs.device.str.startswith("GPU")
    threads = sorted(runs[~on_gpu].threads.unique())
    status = analysis.plan_status(results.plan, results.records)
    # Two validation scores of different runs: each with its binomial error.
    val_noise = 2 * float(np.hypot(*(stats.binomial_se(v, analysis.VAL_IMAGES)
                                     for v in (full_aug.val, full_aug.base_val))))
    return Facts(
        batch=Number(curve.batch_size), lr=Setting(curve.learning_rate),
        wd=Setting(curve.weight_decay), warmup=Number(curve.warmup_epochs),
        epochs=Number(curve.epochs), shift=Share(curve.shift),
        rotation=Degrees(full_aug_plan.rotation if full_aug_plan else np.nan),
        zoom=Share(full_aug_plan.zoom if full_aug_plan else np.nan),
        light_val=Acc(full_aug.base_val), full_val=Acc(full_aug.val),
        aug_one_seed_small_gap=_when(
            _known(full_aug.val, full_aug.base_val),
            lambda: full_aug_seeds == 1 and abs(full_aug.val - full_aug.base_val) < val_noise),
        budget_match=Share(analysis.BUDGET_MATCH),
        n_done=Number(int(status.done.sum())), n_planned=Number(len(status)),
        cpu_hours=Hours(runs[~on_gpu].hours.sum()), gpu_hours=Hours(runs[on_gpu].hours.sum()),
        threads_low=Number(threads[0] if threads else np.nan),
        threads_high=Number(threads[-1] if threads else np.nan),
        one_or_two_threads=_when(bool(threads), lambda: threads == [1, 2]),
        no_gpu_used=_when(len(runs) > 0, lambda: not on_gpu.any()),
        only_distillation_builds_on_the_recipe={
            c.ablation for c in results.plan if c.ablation in analysis.ABLATION_BASE} == {
            "recipe_distilled"} and analysis.ABLATION_BASE["recipe_distilled"] == "recipe",
    )
