"""Tables of results for the book: runs, curve points, the reference models, equal budgets.

Everything here is a table (a ``DataFrame``) or a small dict of numbers built
from the records in ``results/`` and the plan in ``sweep.yml``; the pages
write the sentences around them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import models, stats
from .config import TrainConfig
from .data import CLASS_NAMES_EN, CLASS_NAMES_ZH, TRAINING_CLASS_COUNTS
from .records import SCORED_SPLITS, Record, decode_hits
from .vocabulary import Verdict


@dataclass(frozen=True)
class ReferenceScore:
    """A model of the reference report: its parameter count and Kaggle scores."""

    params: int
    private: float
    public: float


# The reference report's own numbers (../shared/reference), cited, never recomputed.
REFERENCE = {
    "hw3_cnn": ReferenceScore(4_746_471, 0.65310, 0.66815),
    "hw8_mobilenet": ReferenceScore(56_135, 0.61855, 0.62245),
    "small_cnn": ReferenceScore(42_167, 0.38450, 0.39648),
}
# The reference models are the knob-1 points of their families' curves.
# Q4's controls are points of their own, beside the curves they change.
CURVE_OF = {"hw8_mobilenet": "mobilenet", "hw3_cnn": "hw3_scaled",
            "mobilenet": "mobilenet", "plain_cnn": "plain_cnn", "hw3_scaled": "hw3_scaled",
            "separable_mobilenet": "separable_mobilenet", "hw3_nodrop": "hw3_nodrop",
            "hw3_gap": "hw3_gap"}
CURVES = ("mobilenet", "plain_cnn", "hw3_scaled")
# Q4's very small regime: MobileNet at alpha 0.25 and 0.5, the reference's small CNN, HW8.
SMALL_BUDGETS = (8_099, 19_767, 42_167, 56_135)
# A family's point stands for a budget when its count is this close (a plain CNN's
# counts come in coarse steps: the nearest to 19,767 is 19,026).
BUDGET_MATCH = 0.05
TEST_IMAGES = 3589  # each of PublicTest and PrivateTest
VAL_IMAGES = 2871  # the stratified tenth of Training


def runs(records: Iterable[Record]) -> pd.DataFrame:
    """One row per finished run, ablations included."""
    rows = [{
        "run_id": r.run_id, "family": r.family, "curve": CURVE_OF[r.family],
        "ablation": r.config.ablation, "knob": r.knob, "params": r.params,
        "non_trainable": r.non_trainable_params, "macs": r.macs, "seed": r.config.seed,
        "epochs": r.epochs_run, "best_epoch": r.best_epoch,
        "hours": r.train_seconds / 3600, "device": r.device, "threads": r.threads,
        **{s: r.accuracy(s) for s in SCORED_SPLITS},
        **{f"flip_{s}": r.accuracy(s, flip=True) for s in SCORED_SPLITS},
    } for r in records]
    columns = ["run_id", "family", "curve", "ablation", "knob", "params", "non_trainable",
               "macs", "seed", "epochs", "best_epoch", "hours", "device", "threads",
               *SCORED_SPLITS, *(f"flip_{s}" for s in SCORED_SPLITS)]
    return pd.DataFrame(rows, columns=columns)


def seed_pools(records: Iterable[Record]) -> dict[str, float]:
    """Each family's variance of Private over seeds, pooled over its models trained on
    several seeds; a family with none takes the pool of the whole study, and a study with no
    model trained twice the binomial variance of the family's accuracy on the test set (the
    spread between seeds is of that order; ours is about half of it).  A model trained once
    still has this spread: a comparison resting on one seed counts it
    (``stats.paired_difference``'s ``one_seed_var``)."""
    table = runs(records)
    groups = {family: [g.private.to_numpy() for _, g in t.groupby(["params", "ablation"])]
              for family, t in table.groupby("family")}
    study = stats.pooled_seed_variance([g for gs in groups.values() for g in gs])
    pools = {}
    for family, gs in groups.items():
        pooled = stats.pooled_seed_variance(gs)
        if not np.isfinite(pooled):
            accuracy = float(np.mean(np.concatenate(gs)))
            pooled = study if np.isfinite(study) else accuracy * (1 - accuracy) / TEST_IMAGES
        pools[family] = pooled
    return pools


def curve_points(records: Iterable[Record]) -> pd.DataFrame:
    """The curves' points: runs without an ablation, averaged over seeds per model, with the
    standard error of that mean (``private_se``): the test set's binomial error, which
    averaging seeds scored on the same images does not shrink, and the spread over seeds
    (a one-seed point takes its family's pooled spread, ``seed_pools``)."""
    records = list(records)
    table = runs(records)
    table = table[table.ablation == ""]
    columns = ["curve", "family", "params", "macs", "knob", "seeds", "private", "private_std",
               "private_se", "public", "public_std", "val", "flip_private"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    grouped = table.groupby(["curve", "family", "params"], as_index=False).agg(
        macs=("macs", "first"), knob=("knob", "first"), seeds=("seed", "count"),
        private=("private", "mean"), private_std=("private", "std"),
        public=("public", "mean"), public_std=("public", "std"), val=("val", "mean"),
        flip_private=("flip_private", "mean"))
    pools = seed_pools(records)
    seed_var = np.where(grouped.seeds > 1, grouped.private_std ** 2, grouped.family.map(pools))
    grouped["private_se"] = np.sqrt(grouped.private * (1 - grouped.private) / TEST_IMAGES
                                    + seed_var / grouped.seeds)
    return grouped[columns].sort_values(["curve", "params"]).reset_index(drop=True)


def listing_head_params() -> int:
    """The HW8 model built with the listing's printed ``Dense(30)`` head: the count Q1 sets
    against the reported 56,135 to show the report trained ``Dense(64)``."""
    return models.param_counts(models.hw8_mobilenet(head_units=models.HW8_LISTING_HEAD_UNITS)).total


def plan_status(plan: Iterable[TrainConfig], records: Iterable[Record]) -> pd.DataFrame:
    """Every planned point and whether a record of its exact config exists."""
    done = {r.run_id: r.config for r in records}
    rows = [{"run_id": c.run_id, "family": c.family, "params": c.target_params, "seed": c.seed,
             "ablation": c.ablation, "done": done.get(c.run_id) == c} for c in plan]
    return pd.DataFrame(rows, columns=["run_id", "family", "params", "seed", "ablation", "done"])


# What may differ between curve points: which model, its size, its seed, and the precision
# it computes in (the largest models train in mixed bfloat16, with the same recipe).
POINT_SETTINGS = ("family", "target_params", "seed", "precision")


def curve_recipe(plan: Iterable[TrainConfig]) -> TrainConfig:
    """A curve point whose settings stand for every curve point's, so that the book states the
    one recipe once; a plan whose curve points differ in anything else is refused by name."""
    curve = [c for c in plan if not c.ablation]
    if not curve:
        raise ValueError("the plan has no curve points (every point is an ablation)")
    first = curve[0].to_dict()
    for config in curve[1:]:
        for key, value in config.to_dict().items():
            if key not in POINT_SETTINGS and value != first[key]:
                raise ValueError(f"curve point {config.run_id} has {key} = {value!r}, but "
                                 f"{curve[0].run_id} has {first[key]!r}: the curves share one "
                                 f"recipe; make it an ablation or give every point the same")
    return curve[0]


def ablation_changes(plan: Iterable[TrainConfig]) -> pd.DataFrame:
    """Each ablation's settings that differ from its base (the curve point of the same family,
    size and seed, or the ablation it builds on: ``ABLATION_BASE``), so that a reader sees
    exactly what the ablation changed: one row per model, ablation and setting, with the
    base and the seeds it was planned for."""
    plan = list(plan)
    by_id = {c.run_id: c for c in plan}
    rows = []
    for c in plan:
        if not c.ablation:
            continue
        base = by_id.get(ablation_base_id(c.run_id, c.ablation))
        if base is None:
            raise ValueError(f"ablation {c.run_id} has no base in the plan to compare with "
                             f"(wanted {ablation_base_id(c.run_id, c.ablation)})")
        base_values = base.to_dict()
        rows += [{"family": c.family, "params": c.target_params, "ablation": c.ablation,
                  "base": base.ablation, "seed": str(c.seed), "setting": key,
                  "base_value": base_values[key], "ablation_value": value}
                 for key, value in c.to_dict().items()
                 if key != "ablation" and value != base_values[key]]
    columns = ["family", "params", "ablation", "base", "seeds", "setting", "base_value",
               "ablation_value"]
    if not rows:
        return pd.DataFrame(columns=columns)
    keys = ["family", "params", "ablation", "base", "setting"]
    frame = pd.DataFrame(rows).astype({"base_value": str, "ablation_value": str})
    grouped = frame.groupby(keys + ["base_value", "ablation_value"], sort=False,
                            as_index=False).agg(seeds=("seed", ", ".join))
    return grouped[columns]


def untrained_models(plan: Iterable[TrainConfig], records: Iterable[Record],
                     curves: str | Iterable[str]) -> pd.DataFrame:
    """The curves' planned models with no finished seed yet, with the knob each will use
    and its multiply-adds, so that a page can name what its curves still lack."""
    curves = {curves} if isinstance(curves, str) else set(curves)
    done = {(r.family, r.config.target_params) for r in records if not r.config.ablation}
    wanted = sorted({(CURVE_OF[c.family], c.family, c.target_params) for c in plan
                     if not c.ablation and CURVE_OF[c.family] in curves}, key=lambda m: m[2])
    rows = []
    for curve, family, params in wanted:
        if (family, params) in done:
            continue
        budget = models.for_budget(family, params)
        rows.append({"curve": curve, "family": family, "params": params, "knob": budget.knob,
                     "macs": models.count_macs(budget.build())})
    return pd.DataFrame(rows, columns=["curve", "family", "params", "knob", "macs"])


def reference_models(records: Iterable[Record]) -> pd.DataFrame:
    """Q1's table: each reference model as we built and trained it, beside the report's."""
    table = runs(records)
    rows = []
    for family in models.REFERENCE_FAMILIES:
        model = models.build(family)
        counts = models.param_counts(model)
        ours = table[(table.family == family) & (table.ablation == "")]
        private, private_std = stats.mean_std(ours.private) if len(ours) else (np.nan, np.nan)
        public, public_std = stats.mean_std(ours.public) if len(ours) else (np.nan, np.nan)
        ref = REFERENCE[family]
        rows.append({"family": family, "params": counts.total,
                     "non_trainable": counts.non_trainable, "macs": models.count_macs(model),
                     "seeds": len(ours), "private": private, "private_std": private_std,
                     "public": public, "public_std": public_std,
                     "ref_private": ref.private, "ref_public": ref.public,
                     "epochs": int(ours.epochs.max()) if len(ours) else 0})
    return pd.DataFrame(rows).set_index("family")


def variants(records: Iterable[Record]) -> pd.DataFrame:
    """Q1's variants of each reference model: flip averaging and the ablations (Private),
    each with its change from one pass: flip averaging's on the same runs, an ablation's
    paired with its base runs of the same seeds (``ablation_effects``, with its standard
    error), which is why it may differ from the difference of the rows' means."""
    records = list(records)
    table = runs(records)
    effects = ablation_effects(records).set_index(["family", "ablation"])
    rows = []
    for family in models.REFERENCE_FAMILIES:
        mine = table[table.family == family]
        base = mine[mine.ablation == ""]
        if len(base):
            common = {"family": family, "runs": len(base), "epochs": int(base.epochs.max())}
            rows.append({**common, "variant": "one_pass", "val": base.val.mean(),
                         "private": base.private.mean()})
            rows.append({**common, "variant": "flip", "val": base.flip_val.mean(),
                         "private": base.flip_private.mean(),
                         "change": (base.flip_private - base.private).mean()})
        for ablation, group in mine[mine.ablation != ""].groupby("ablation"):
            effect = effects.loc[(family, ablation)] if (family, ablation) in effects.index \
                else pd.Series(dtype=float)
            rows.append({"family": family, "variant": ablation, "runs": len(group),
                         "epochs": int(group.epochs.max()), "val": group.val.mean(),
                         "private": group.private.mean(), "change": effect.get("change"),
                         "change_se": effect.get("change_se")})
    return pd.DataFrame(rows, columns=["family", "variant", "runs", "epochs", "val", "private",
                                       "change", "change_se"]).astype(
        {"change": float, "change_se": float})


# An ablation built on another is judged against that one, so that it measures its own change:
# distillation under the tuned recipe against the tuned recipe alone.
ABLATION_BASE = {"recipe_distilled": "recipe"}


def ablation_base_id(run_id: str, ablation: str) -> str:
    """The run an ablation run is compared with: its curve run of the same model and seed,
    or the run of the ablation it builds on (``ABLATION_BASE``)."""
    base = run_id.removesuffix(f"-{ablation}")
    return f"{base}-{ABLATION_BASE[ablation]}" if ablation in ABLATION_BASE else base


def ablation_pairs(records: Iterable[Record]) -> pd.DataFrame:
    """Each ablation run beside its base run (``base_*``: the curve run of the same model and
    seed, or the ablation it builds on), so a setting is judged against the one run it
    differs from."""
    table = runs(records).set_index("run_id")
    columns = ["run_id", "family", "params", "ablation", "base_run_id", "seed", "epochs",
               "val", "base_val", "private", "base_private"]
    rows = []
    for run_id, row in table[table.ablation != ""].iterrows():
        base_id = ablation_base_id(run_id, row.ablation)
        if base_id in table.index and table.loc[base_id, "ablation"] == ABLATION_BASE.get(
                row.ablation, ""):
            base = table.loc[base_id]
            rows.append({"run_id": run_id, "family": row.family, "params": row.params,
                         "ablation": row.ablation, "base_run_id": base_id, "seed": row.seed,
                         "epochs": row.epochs, "val": row.val, "base_val": base.val,
                         "private": row.private, "base_private": base.private})
    return pd.DataFrame(rows, columns=columns)


def ablation_effects(records: Iterable[Record]) -> pd.DataFrame:
    """Each ablation of a model against its curve runs of the same seeds: mean scores, the
    change in Private with its paired standard error (images and seeds) and the verdict it
    supports, so an ablation on several seeds reads as one finding, not one per seed."""
    records = list(records)
    by_id = {r.run_id: r for r in records}
    pools = seed_pools(records)

    def private_hits(run_ids: Iterable[str]) -> list[np.ndarray]:
        return [decode_hits(by_id[i].scores["private"].hits) for i in run_ids]

    columns = ["family", "params", "ablation", "seeds", "epochs", "val", "base_val", "private",
               "private_std", "base_private", "change", "change_se", "verdict"]
    rows = []
    for (family, params, ablation), group in ablation_pairs(records).groupby(
            ["family", "params", "ablation"], sort=False):
        change = stats.paired_difference(private_hits(group.run_id),
                                         private_hits(group.base_run_id),
                                         (pools[family], pools[family]))
        private, private_std = stats.mean_std(group.private)
        rows.append({"family": family, "params": int(params), "ablation": ablation,
                     "seeds": len(group), "epochs": int(group.epochs.max()),
                     "val": group.val.mean(), "base_val": group.base_val.mean(),
                     "private": private, "private_std": private_std,
                     "base_private": group.base_private.mean(), "change": change.value,
                     "change_se": change.se, "verdict": lead_verdict(change.value, change.se)})
    return pd.DataFrame(rows, columns=columns)


def per_class(records: Iterable[Record], family: str, split: str = "private") -> pd.DataFrame:
    """Recall per class of one family's curve runs, averaged over seeds, with the
    number of training images of each class."""
    chosen = [r for r in records if r.family == family and not r.config.ablation]
    recall = (np.mean([r.scores[split].per_class_accuracy for r in chosen], axis=0) if chosen
              else np.full(len(CLASS_NAMES_EN), np.nan))
    return pd.DataFrame({"class_zh": CLASS_NAMES_ZH, "class_en": CLASS_NAMES_EN,
                         "train_images": TRAINING_CLASS_COUNTS, "recall": recall})


def most_confused(records: Iterable[Record], family: str, true_class: str,
                  split: str = "private") -> tuple[str | None, float]:
    """The class a family's curve runs most often predict for faces of ``true_class``
    (English name), and the share of that class's faces it takes (seeds summed)."""
    chosen = [r for r in records if r.family == family and not r.config.ablation]
    if not chosen:
        return None, float("nan")
    cm = np.sum([np.asarray(r.scores[split].confusion_matrix, dtype=float) for r in chosen],
                axis=0)
    row = cm[CLASS_NAMES_EN.index(true_class)].copy()
    total = row.sum()
    row[CLASS_NAMES_EN.index(true_class)] = -1
    return CLASS_NAMES_EN[int(row.argmax())], float(row.max() / total)


def curve_summary(points: pd.DataFrame, curve: str) -> dict:
    """What a family's curve shows: its range, the gain per tenfold parameters, its peak,
    and its shape: still "rising" (the largest model is the best), "past_peak" (the largest
    falls more than two standard errors below a smaller one) or "flat" after its best; and
    its largest fall between neighbouring sizes, so that "rising" is not read as monotonic;
    and, from four sizes on, the gain per tenfold below and above the middle size, "slowing"
    when the upper half gains less than half as much (a rising curve that bends)."""
    sub = points[points.curve == curve].sort_values("params")
    if sub.empty:
        return {"points": 0}
    best = sub.loc[sub.private.idxmax()]
    largest = sub.iloc[-1]
    drop = float(best.private - largest.private)
    noise = 2 * stats.binomial_se(float(best.private), TEST_IMAGES)
    shape = ("rising" if best.params == largest.params
             else "past_peak" if drop > noise else "flat")
    steps = sub.assign(fall=sub.private.shift() - sub.private, from_params=sub.params.shift(),
                       from_seeds=sub.seeds.shift())
    dip = steps.loc[steps.fall.idxmax()] if len(sub) > 1 else None
    has_dip = dip is not None and dip.fall > 2 * stats.binomial_se(float(dip.private),
                                                                   TEST_IMAGES)
    middle = len(sub) // 2
    bends = len(sub) >= 4
    below, above = sub.iloc[:middle + 1], sub.iloc[middle:]
    gain_below = stats.gain_per_decade(below.params, below.private) if bends else float("nan")
    gain_above = stats.gain_per_decade(above.params, above.private) if bends else float("nan")
    return {"points": len(sub), "shape": shape, "smallest": int(sub.params.iloc[0]),
            "middle_params": int(sub.params.iloc[middle]) if bends else None,
            "gain_below_middle": gain_below, "gain_above_middle": gain_above,
            "slowing": bool(bends and gain_above < gain_below / 2),
            # The largest fall from one size to the next, when more than test-set noise.
            "dip": float(dip.fall) if has_dip else None,
            "dip_params": int(dip.params) if has_dip else None,
            "dip_from_params": int(dip.from_params) if has_dip else None,
            "dip_seeds": (int(dip.from_seeds), int(dip.seeds)) if has_dip else None,
            "dip_std": float(dip.private_std) if has_dip else None,
            "largest": int(largest.params), "gain_per_decade": stats.gain_per_decade(
                sub.params, sub.private),
            "best_params": int(best.params), "best_private": float(best.private),
            "largest_private": float(largest.private),
            "drop_after_best": drop,
            "low_private": float(sub.private.iloc[0])}


def ablation_effect(records: Iterable[Record], family: str, ablation: str) -> pd.Series:
    """One row of :func:`ablation_effects`; empty (``.get`` gives None) until it has run."""
    effects = ablation_effects(records)
    row = effects[(effects.family == family) & (effects.ablation == ablation)]
    return row.iloc[0] if len(row) else pd.Series(dtype=object)


def best_against_best(points: pd.DataFrame, records: Iterable[Record], small_curve: str,
                      large_curve: str) -> dict | None:
    """Two families' best models side by side (seeds' means): the difference in Private with
    its unpaired standard error, how many times the parameters the second uses, and the
    second's longer-schedule run where it has one.  None until both curves have a best."""
    best = {}
    for curve in (small_curve, large_curve):
        sub = points[points.curve == curve]
        if sub.empty:
            return None
        best[curve] = sub.loc[sub.private.idxmax()]
    small, large = best[small_curve], best[large_curve]
    effects = ablation_effects(records)
    longer = effects[(effects.ablation == "long") & (effects.params == large.params)
                     & (effects.family.map(CURVE_OF) == large_curve)]
    return {"small": small, "large": large, "gap": float(small.private - large.private),
            "gap_se": float(np.hypot(small.private_se, large.private_se)),
            "times_params": float(large.params / small.params),
            "longer": longer.iloc[0] if len(longer) else None}


def matching_point(points: pd.DataFrame, curve: str, budget: int) -> pd.Series | None:
    """The curve's point nearest a budget, if within ``BUDGET_MATCH`` of it."""
    sub = points[points.curve == curve]
    if sub.empty:
        return None
    row = sub.loc[(sub.params / budget - 1).abs().idxmin()]
    return row if abs(row.params / budget - 1) <= BUDGET_MATCH else None


def lead_verdict(lead: float, se: float) -> Verdict:
    """Read a lead as ahead, behind or a tie (within two standard errors); unmeasured
    when either number is missing."""
    if not (np.isfinite(lead) and np.isfinite(se)):
        return Verdict.UNMEASURED
    if abs(lead) <= 2 * se:
        return Verdict.TIE
    return Verdict.AHEAD if lead > 0 else Verdict.BEHIND


def equal_budget(records: list[Record], budgets: Iterable[int] = SMALL_BUDGETS) -> pd.DataFrame:
    """Q4: at each small budget, every family's Private accuracy and its lead over the
    plain CNN of the same budget, with a paired standard error (images and seeds) and
    the verdict it supports."""
    points = curve_points(records)
    pools = seed_pools(records)
    rows = []
    for budget in budgets:
        found = {c: matching_point(points, c, budget) for c in CURVES}
        hits = {c: [decode_hits(r.scores["private"].hits) for r in records
                    if not r.config.ablation and CURVE_OF[r.family] == c
                    and found[c] is not None and r.params == found[c].params]
                for c in CURVES}
        for curve in CURVES:
            row = found[curve]
            lead = (stats.paired_difference(
                        hits[curve], hits["plain_cnn"],
                        (pools[row.family], pools[found["plain_cnn"].family]))
                    if row is not None and curve != "plain_cnn" and hits["plain_cnn"] else None)
            rows.append({"budget": budget, "curve": curve,
                         "params": np.nan if row is None else int(row.params),
                         "seeds": 0 if row is None else int(row.seeds),
                         "private": np.nan if row is None else row.private,
                         "private_std": np.nan if row is None else row.private_std,
                         "lead_over_plain": np.nan if lead is None else lead.value,
                         "lead_se": np.nan if lead is None else lead.se,
                         "verdict": Verdict.UNMEASURED if lead is None else lead_verdict(lead.value, lead.se)})
    return pd.DataFrame(rows)


def parameter_split(family: str, params: int) -> dict:
    """Where a model spends its parameters: convolutions against the head after them (the
    Flatten -> Dense layers, or only the classifier after a pooling head), the share of
    convolution weights in depthwise-separable blocks (depthwise plus their 1x1 pointwise
    layers), its widest convolution, its depth and its multiply-adds."""
    model = models.for_budget(family, params).build()  # an exact count of the family
    table = models.layer_table(model)
    head = models.head_start(table)
    conv = sum(row["params"] for row in table[:head])
    dense = sum(row["params"] for row in table[head:])
    convs = [layer for layer in model.layers
             if type(layer).__name__ in ("Conv2D", "DepthwiseConv2D")]
    separable = sum(layer.count_params() for layer in convs
                    if type(layer).__name__ == "DepthwiseConv2D"
                    or tuple(layer.kernel_size) == (1, 1))
    return {"family": family, "params": conv + dense, "conv_params": conv,
            "dense_params": dense, "dense_share": dense / (conv + dense),
            "separable_share": separable / sum(layer.count_params() for layer in convs),
            "widest_channels": max(int(layer.output.shape[-1]) for layer in convs),
            "conv_layers": len(convs), "macs": models.count_macs(model),
            "full_convs": sum(tuple(getattr(layer, "kernel_size", ())) == (3, 3)
                              and type(layer).__name__ == "Conv2D" for layer in convs),
            "separable_blocks": sum(type(layer).__name__ == "DepthwiseConv2D" for layer in convs),
            "dropout_layers": sum(type(layer).__name__ == "Dropout" for layer in model.layers)}


def parameter_splits(budget: int, families: Iterable[str] = CURVES) -> pd.DataFrame:
    """``parameter_split`` of each family's model nearest a budget (within ±5%)."""
    rows = []
    for family in families:
        nearest = models.nearest(family, budget).params
        if abs(nearest / budget - 1) <= BUDGET_MATCH:
            rows.append(parameter_split(family, nearest))
    return pd.DataFrame(rows)


def _ablations(records: Iterable[Record]) -> dict[str, str]:
    """Run id → ablation name ("" for curve runs), for tables keyed by run id only."""
    return {r.run_id: r.config.ablation for r in records}


def compression_table(measured: Iterable[dict], records: Iterable[Record] = ()) -> pd.DataFrame:
    """One row per model and export format: file size, accuracy and single-image latency,
    with the model's ablation when its training record is given."""
    ablation = _ablations(records)
    rows = [{"run_id": m["run_id"], "family": m["family"], "curve": CURVE_OF[m["family"]],
             "ablation": ablation.get(m["run_id"], ""),
             "params": m["params"], "format": fmt, "bytes": f["bytes"],
             "gzip_bytes": f["gzip_bytes"], "public": f["public"], "private": f["private"],
             "latency_ms": f["latency_ms_median"], "latency_p90_ms": f["latency_ms_p90"]}
            for m in measured for fmt, f in m["formats"].items()]
    columns = ["run_id", "family", "curve", "ablation", "params", "format", "bytes",
               "gzip_bytes", "public", "private", "latency_ms", "latency_p90_ms"]
    return pd.DataFrame(rows, columns=columns)


def format_means(table: pd.DataFrame) -> pd.DataFrame:
    """Each model's files averaged over its seeds (an ablation is a model of its own), so
    that a claim about a model's file does not rest on its luckiest seed."""
    columns = ["family", "curve", "ablation", "params", "format", "seeds", "bytes", "private",
               "private_std", "latency_ms"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    grouped = table.groupby(["family", "curve", "ablation", "params", "format"],
                            as_index=False).agg(
        seeds=("run_id", "count"), bytes=("bytes", "mean"), private=("private", "mean"),
        private_std=("private", "std"), latency_ms=("latency_ms", "mean"))
    return grouped[columns]


def int8_drops(measured: Iterable[dict], records: Iterable[Record] = (),
               fmt: str = "litert_int8") -> pd.DataFrame:
    """Each model's Private accuracy change from its Keras float32 file to ``fmt``, with a
    paired standard error over the test images."""
    ablation = _ablations(records)
    rows = []
    for m in measured:
        base, quant = m["formats"]["keras_float32"], m["formats"].get(fmt)
        if quant is None:
            continue
        change = stats.paired_difference([decode_hits(quant["private_hits"])],
                                         [decode_hits(base["private_hits"])])
        rows.append({"run_id": m["run_id"], "family": m["family"], "curve": CURVE_OF[m["family"]],
                     "ablation": ablation.get(m["run_id"], ""), "params": m["params"],
                     "private": quant["private"], "base_private": base["private"],
                     "change": change.value, "se": change.se,
                     "calmed": quant.get("calmed_channels", 0),
                     "uncalmed_private": quant.get("uncalmed_private", np.nan)})
    return pd.DataFrame(rows, columns=["run_id", "family", "curve", "ablation", "params",
                                       "private", "base_private", "change", "se", "calmed",
                                       "uncalmed_private"])


def int8_by_model(drops: pd.DataFrame) -> pd.DataFrame:
    """The curve models' int8 change averaged over seeds, curve by curve in ``CURVES``'
    order; the error combines the seeds' paired errors (each seed is scored on the same
    images, so this is a lower bound); ``calmed`` is the mean over seeds."""
    curve = drops[(drops.ablation == "") & drops.curve.isin(CURVES)]
    columns = ["family", "curve", "params", "seeds", "change", "se", "calmed"]
    if curve.empty:
        return pd.DataFrame(columns=columns)
    grouped = curve.groupby(["family", "curve", "params"], as_index=False).agg(
        seeds=("run_id", "count"), change=("change", "mean"),
        se=("se", lambda s: float(np.sqrt((s ** 2).sum()) / len(s))), calmed=("calmed", "mean"))
    order = grouped.curve.map(CURVES.index)
    return (grouped.assign(order=order).sort_values(["order", "params"])[columns]
            .reset_index(drop=True))


def int8_contrast(by_model: pd.DataFrame) -> dict:
    """MobileNet's mean int8 change against the plain CNN's (``int8_by_model`` rows), with
    the error of the difference and its reading, as Q4 reads a lead."""
    mob, plain = (by_model[by_model.curve == c] for c in ("mobilenet", "plain_cnn"))
    separable, standard = float(mob.change.mean()), float(plain.change.mean())
    se = float(np.sqrt((mob.se ** 2).sum() / max(len(mob), 1) ** 2
                       + (plain.se ** 2).sum() / max(len(plain), 1) ** 2))
    return {"separable": separable, "standard": standard, "se": se,
            "verdict": lead_verdict(separable - standard, se)}


def smallest_beating(table: pd.DataFrame, private: float) -> pd.Series | None:
    """The smallest file (any model, any format) whose Private accuracy beats ``private``."""
    better = table[table.private > private]
    return None if better.empty else better.loc[better.bytes.idxmin()]


# Q4's controls, each against the curve it changes one thing of.
CONTROL_BASE = {"separable_mobilenet": "mobilenet", "hw3_nodrop": "hw3_scaled",
                "hw3_gap": "hw3_scaled"}


def _curve_hits(records: Iterable[Record], curve: str, params: int) -> list[np.ndarray]:
    """Per-image Private hits of a curve point's seeds."""
    return [decode_hits(r.scores["private"].hits) for r in records
            if not r.config.ablation and CURVE_OF[r.family] == curve and r.params == params]


def control_effects(records: Iterable[Record]) -> pd.DataFrame:
    """Each control point against its base curve's point at the same budget (within
    ``BUDGET_MATCH``): both Private means, the paired difference control − base with its
    standard error (images and seeds), and the verdict; a control whose base is missing
    keeps NaN there.  The separable MobileNet is also set against the plain CNN."""
    records = list(records)
    points = curve_points(records)
    pools = seed_pools(records)
    columns = ["control", "base", "params", "base_params", "macs", "seeds", "base_seeds",
               "private", "private_std", "base_private", "change", "change_se", "verdict"]
    rows = []
    for control, bases in (("separable_mobilenet", ("mobilenet", "plain_cnn")),
                           ("hw3_nodrop", ("hw3_scaled",)), ("hw3_gap", ("hw3_scaled",))):
        for point in points[points.curve == control].itertuples():
            for base in bases:
                twin = matching_point(points, base, int(point.params))
                change = (stats.paired_difference(_curve_hits(records, control, point.params),
                                                  _curve_hits(records, base, int(twin.params)),
                                                  (pools[point.family], pools[twin.family]))
                          if twin is not None else None)
                rows.append({
                    "control": control, "base": base, "params": int(point.params),
                    "base_params": np.nan if twin is None else int(twin.params),
                    "macs": int(point.macs), "seeds": int(point.seeds),
                    "base_seeds": 0 if twin is None else int(twin.seeds),
                    "private": point.private, "private_std": point.private_std,
                    "base_private": np.nan if twin is None else twin.private,
                    "change": np.nan if change is None else change.value,
                    "change_se": np.nan if change is None else change.se,
                    "verdict": (Verdict.UNMEASURED if change is None
                                else lead_verdict(change.value, change.se))})
    return pd.DataFrame(rows, columns=columns)


def end_of_training(records: Iterable[Record], curve: str, up_to: float) -> pd.DataFrame:
    """Training (augmented) and validation accuracy at the last epoch of a curve's runs up
    to ``up_to`` parameters: whether the small models fit even their training data."""
    rows = [{"run_id": r.run_id, "params": r.params, "train_end": r.history["accuracy"][-1],
             "val_end": r.history["val_accuracy"][-1]} for r in records
            if not r.config.ablation and CURVE_OF[r.family] == curve and r.params <= up_to]
    return pd.DataFrame(rows, columns=["run_id", "params", "train_end", "val_end"])


def fit_gaps(records: Iterable[Record], curves: Iterable[str] = CURVES) -> pd.DataFrame:
    """Whether each curve's largest model overfits (seed 0, on the curves' recipe): its
    training accuracy (on augmented batches) against validation accuracy at the last epoch,
    how far validation accuracy fell from its best by then, and how many epochs validation
    loss had been rising since its lowest point."""
    rows = []
    for curve in curves:
        runs_ = [r for r in records if not r.config.ablation and CURVE_OF[r.family] == curve
                 and r.config.seed == 0]
        if not runs_:
            continue
        largest = max(runs_, key=lambda r: r.params)
        h = largest.history
        lowest_loss_epoch = int(np.argmin(h["val_loss"])) + 1
        rows.append({"curve": curve, "run_id": largest.run_id, "params": largest.params,
                     "epochs": len(h["accuracy"]), "train_end": h["accuracy"][-1],
                     "val_end": h["val_accuracy"][-1], "val_best": max(h["val_accuracy"]),
                     "best_epoch": largest.best_epoch,
                     "gap_end": h["accuracy"][-1] - h["val_accuracy"][-1],
                     "val_fall": max(h["val_accuracy"]) - h["val_accuracy"][-1],
                     "lowest_loss_epoch": lowest_loss_epoch,
                     "loss_rise": h["val_loss"][-1] - min(h["val_loss"]),
                     "private": largest.accuracy("private")})
    return pd.DataFrame(rows, columns=["curve", "run_id", "params", "epochs", "train_end",
                                       "val_end", "val_best", "best_epoch", "gap_end",
                                       "val_fall", "lowest_loss_epoch", "loss_rise", "private"])


def gap_at_equal(points: pd.DataFrame, curve: str, against: str, x: str = "params") -> pd.DataFrame:
    """Each point of ``curve`` against ``against``'s curve read at the same ``x`` (parameters
    or multiply-adds; linear in log x between its two neighbouring points), where that lies
    inside ``against``'s range or within ``BUDGET_MATCH`` of its ends: the difference in
    Private and two standard errors of it (each side's ``private_se``, the one read
    between two points interpolated as its accuracy is)."""
    mine = points[points.curve == curve].sort_values(x)
    other = points[points.curve == against].sort_values(x)
    rows = []
    if len(other) >= 2:
        log_x = np.log10(other[x].astype(float))
        for p in mine.itertuples():
            where = np.log10(float(getattr(p, x)))
            # A point just past the other curve's end (within BUDGET_MATCH) reads its end point.
            slack = np.log10(1 + BUDGET_MATCH)
            if not log_x.iloc[0] - slack <= where <= log_x.iloc[-1] + slack:
                continue
            read = float(np.interp(where, log_x, other.private))
            read_se = float(np.interp(where, log_x, other.private_se))
            noise = 2 * np.hypot(p.private_se, read_se)
            rows.append({"params": p.params, "macs": p.macs, "private": p.private,
                         "against": read, "gap": p.private - read, "noise": noise})
    return pd.DataFrame(rows, columns=["params", "macs", "private", "against", "gap", "noise"])
