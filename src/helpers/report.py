"""Tables and numbers the book shows, all computed from recorded results.

The only numbers typed by hand are the reference report's quoted values in
``REFERENCE``; everything else comes from ``results/*.json``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .data import CLASS_NAMES_EN, CLASS_NAMES_ZH, FER2013, USAGES
from .results import LATER_SETTINGS, decode_classes, encode_classes, load_records, results_dir, write_json_atomic

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The reference (student) report, quoted.
REFERENCE = {
    "hw3_cnn": {"params": 4_746_471, "non_trainable": 5_056, "private": 0.65310, "public": 0.66815},
    "hw8_mobilenet": {"params": 56_135, "non_trainable": 1_232, "private": 0.61855, "public": 0.62245},
    "small_cnn": {"params": 42_167, "private": 0.38450, "public": 0.39648},
}
LISTING_DENSE30_PARAMS = 47_023
DATASET_SUMMARY = "dataset_summary.json"
SCORED_SPLITS = ("val", "public", "private")
# The HW8 MobileNet *is* the MobileNet family at width 1 (56,135 params), so its
# runs are points of that curve; the HW3 CNN stays a family of its own.
CURVE = {"hw8_mobilenet": "mobilenet"}


def runs(directory: Path | None = None, include_tagged: bool = False) -> pd.DataFrame:
    """One row per finished full-data run.

    Runs on a subset (``limit``: quick and test runs) are always left out;
    tagged runs (recipe variants) only unless ``include_tagged``.
    """
    rows = []
    for r in load_records(directory):
        if "family" not in r:  # the dataset summary, not a run
            continue
        try:
            if r["settings"].get("limit") or (r.get("tag") and not include_tagged):
                continue
            rows.append(_run_row(r))
        except (KeyError, TypeError, AttributeError) as exc:
            folder = Path(directory or results_dir())
            raise ValueError(f"{folder / (r['run_id'] + '.json')}: not a complete run record "
                             f"(missing or malformed {exc}); restore it from git or delete it "
                             "to train the point again") from None
    columns = ["run_id", "family", "model", "target", "seed", "width", "params", "non_trainable", "macs",
               "val", "public", "private", "epochs", "best_epoch", "train_seconds",
               "images_per_second", "device", "tag", "max_epochs", "limit", "precision", "private_n",
               "record"]
    return pd.DataFrame(rows, columns=columns)


def _run_row(r: dict) -> dict:
    """One record as a row of :func:`runs` (a missing field raises ``KeyError``)."""
    return {
        "run_id": r["run_id"], "family": CURVE.get(r["family"], r["family"]),
        "model": r["family"], "target": r["target_params"],
        "seed": r["seed"], "width": r["width"], "params": r["params"]["total"],
        "non_trainable": r["params"]["non_trainable"], "macs": r["macs"],
        "val": r["val_accuracy"], "public": r["public_accuracy"],
        "private": r["private_accuracy"], "epochs": r["epochs_run"],
        "best_epoch": r["best_epoch"], "train_seconds": r["train_seconds"],
        "images_per_second": r["images_per_second"], "device": r["device"],
        "tag": r.get("tag") or "", "max_epochs": r["settings"].get("epochs"),
        "limit": r["settings"].get("limit"),
        "precision": r["settings"].get("precision", "float32"),
        "private_n": r.get("scores", {}).get("private", {}).get("n"), "record": r,
    }


def points(df: pd.DataFrame, family: str | list[str] | None = None) -> pd.DataFrame:
    """Mean and std over seeds for each (family, target) point."""
    if family is not None:
        df = df[df.family.isin([family] if isinstance(family, str) else family)]
    if df.empty:
        return pd.DataFrame(columns=["family", "target", "params", "macs", "seeds",
                                     "public_mean", "public_std", "private_mean", "private_std"])
    grouped = df.groupby(["family", "target"], as_index=False).agg(
        params=("params", "first"), macs=("macs", "first"), seeds=("seed", "count"),
        public_mean=("public", "mean"), public_std=("public", "std"),
        private_mean=("private", "mean"), private_std=("private", "std"),
        val_mean=("val", "mean"))
    return grouped.fillna({"public_std": 0.0, "private_std": 0.0}).sort_values("params")


def test_images(df: pd.DataFrame) -> int | None:
    """How many PrivateTest images these runs were scored on (as recorded), None without runs."""
    sizes = sorted({int(n) for n in df.private_n.dropna()})
    if len(sizes) > 1:
        raise ValueError(f"runs scored on PrivateTest splits of different sizes {sizes}: "
                         "they were trained on different data files")
    return sizes[0] if sizes else None


def binomial_se(accuracy: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` test images."""
    return math.sqrt(max(accuracy * (1 - accuracy), 0.0) / n)


def pareto_front(table: pd.DataFrame, x: str, y: str = "private_mean") -> pd.DataFrame:
    """Points no other point beats with fewer ``x`` and higher ``y``."""
    best = -np.inf
    keep = []
    for idx, row in table.sort_values([x, y], ascending=[True, False]).iterrows():
        if row[y] > best:
            keep.append(idx)
            best = row[y]
    return table.loc[keep]


def planned_points() -> pd.DataFrame:
    """Every point of sweep.yml, with whether its result is recorded yet."""
    from .sweep import is_done, load_points

    out = results_dir()
    rows = [{"run_id": p.run_id, "family": p.config.family, "target": p.config.target_params,
             "seed": p.config.seed, "tag": p.config.tag, "done": is_done(p, out)}
            for p in load_points()]
    return pd.DataFrame(rows, columns=["run_id", "family", "target", "seed", "tag", "done"])


def missing_points(families: list[str] | None = None) -> list[str]:
    """Planned run ids with no current result, optionally of some curves only.

    ``families`` are curve names (the HW8 model's points count as MobileNet's);
    a curve's missing points leave out the tagged recipe variants, which are
    never drawn on it.
    """
    table = planned_points()
    missing = table[~table.done]
    if families is not None:
        on_curve = missing.family.map(lambda f: CURVE.get(f, f)).isin(families)
        missing = missing[on_curve & (missing.tag == "")]
    return missing.run_id.tolist()


def curve_summary(families: list[str], df: pd.DataFrame | None = None) -> dict:
    """What a Q2/Q3 page says of its curve: points, runs, the best point, what is missing."""
    df = runs() if df is None else df
    table = points(df, families)
    best = table.loc[table.private_mean.idxmax()] if len(table) else None
    mixed = df[df.family.isin(families) & (df.precision != "float32")]
    counts = [fmt_int(p) for p in sorted(mixed.params.unique())]
    sizes = "、".join(counts)
    sizes_en = " and ".join([", ".join(counts[:-1]), counts[-1]] if len(counts) > 1 else counts)
    return {"n_points": len(table), "n_runs": int(table.seeds.sum()) if len(table) else 0,
            "best_private": fmt_acc(best.private_mean if best is not None else None),
            "best_params": fmt_int(best.params) if best is not None else "—",
            **_missing_sentence(len(missing_points(families))),
            **(bfloat16_sentence(f"參數量為 {sizes} 的點", f"points of {sizes_en} parameters",
                                 plural=True, prefix="precision_",
                                 others=(df[df.family.isin(families)].precision == "float32").any())
               if sizes else {"precision_zh": "", "precision_en": ""})}


def _missing_sentence(n: int) -> dict[str, str]:
    """How many planned points of a curve have no result, in words."""
    if n == 0:
        return {"missing_zh": "所有規劃中的點都已有結果", "missing_en": "every planned point has a result"}
    return {"missing_zh": f"尚缺 {n} 個規劃中的點",
            "missing_en": f"{n} planned point{'s are' if n != 1 else ' is'} still missing"}


def hw3_aside(df: pd.DataFrame) -> dict[str, str]:
    """Q3 draws the HW3 CNN beside the plain-CNN family without counting it: the
    family is the HW8 topology with standard convolutions, the HW3 CNN a design of its own."""
    if (df.model == "hw3_cnn").any():
        return {"hw3_aside_zh": "HW3 CNN（橘色）是另一種設計的一般 CNN，只畫出來作比較，不計入這些數字",
                "hw3_aside_en": "The HW3 CNN (orange) is a plain CNN of another design: it is drawn "
                                "for comparison and not counted here"}
    return {"hw3_aside_zh": "HW3 CNN 有結果後會畫出來作比較，目前尚無結果",
            "hw3_aside_en": "The HW3 CNN will be drawn for comparison once it has a result; it has none yet"}


def small_cnn_versus(table: pd.DataFrame) -> dict[str, str]:
    """Our plain CNN at the reference small CNN's budget against that CNN's Private score."""
    ref = REFERENCE["small_cnn"]
    row = table[(table.family == "plain_cnn") & (table.target == ref["params"])]
    budget = fmt_int(ref["params"])
    text = versus_reference((f"{budget} 參數一般 CNN", f"plain CNN at {budget} parameters"),
                            row.private_mean.iloc[0] if len(row) else None,
                            int(row.seeds.iloc[0]) if len(row) else 0, ref["private"])
    if row.empty:
        return {"small_cnn_zh": text["zh"], "small_cnn_en": text["en"]}
    return {"small_cnn_zh": text["zh"] + "參考報告的小型 CNN（圖中灰色 ✖）架構與訓練配方都和本研究不同，"
                                         "所以這個差距來自設計與配方，不是參數量。",
            "small_cnn_en": text["en"] + " The reference report's small CNN (grey ✖ in the figure) "
                                         "differs from ours in design and recipe, so this gap "
                                         "measures those, not the parameter count."}


def correctness(records: list[dict], labels: np.ndarray, split: str = "private",
                flip: bool = False) -> np.ndarray | None:
    """Seeds x images: whether each run got each image right (None without predictions).

    ``flip`` reads the flip-averaged predictions (see ``training.evaluate``) instead.
    """
    rows = []
    for record in records:
        scores = record.get("scores", {}).get(split, {})
        text = (scores.get("flip", {}) if flip else scores).get("predictions")
        if text is None:
            return None
        predictions = decode_classes(text)
        if predictions.shape != labels.shape:
            raise ValueError(f"{record['run_id']}: {predictions.size} {split} predictions, "
                             f"expected {labels.size} (one per image of the split)")
        rows.append(predictions == labels)
    return np.array(rows)


def paired_se(a: np.ndarray, b: np.ndarray) -> float:
    """Standard error of the accuracy gap of two models scored on the same images.

    ``a`` and ``b`` are seeds x images correctness; each image's gap is the
    difference of its seed-averaged correctness, so the images both get right
    (or wrong) cancel out — the paired (McNemar-style) error.
    """
    per_image = a.mean(axis=0) - b.mean(axis=0)
    return float(per_image.std(ddof=1) / math.sqrt(per_image.size))


def equal_budget_pairs(df: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Targets trained by both families: the gap with its uncertainty.

    The test-sampling part of the error is paired (same images, see
    :func:`paired_se`) when every run recorded its predictions and ``labels``
    (default: the recorded dataset summary's) are known; otherwise the two
    binomial errors are added as if independent, which overstates it.
    """
    if labels is None:
        labels = (dataset_summary() or {}).get("labels", {})
    private_labels = decode_classes(labels["private"]) if "private" in labels else None
    df = df[df.tag == ""]  # recipe variants are not points of the curves
    table = points(df)
    mob = table[table.family == "mobilenet"].set_index("target")
    plain = table[table.family == "plain_cnn"].set_index("target")
    targets = sorted(set(mob.index) & set(plain.index))
    rows = []
    n_test = test_images(df)
    for t in targets:
        m, p = mob.loc[t], plain.loc[t]
        gap = m.private_mean - p.private_mean
        test_se = math.sqrt(binomial_se(m.private_mean, n_test) ** 2
                            + binomial_se(p.private_mean, n_test) ** 2)
        paired = False
        if private_labels is not None:
            right = [correctness(df[(df.family == f) & (df.target == t)].record.tolist(),
                                 private_labels) for f in ("mobilenet", "plain_cnn")]
            if all(r is not None for r in right):
                test_se, paired = paired_se(*right), True
        # Every seed is scored on the same test images: averaging seeds does
        # not shrink the test-sampling error, only the seed spread.  The paired
        # term already holds part of the seeds' disagreement, so adding the
        # seed spread on top errs on the wide (conservative) side.
        se = math.sqrt(test_se ** 2
                       + (m.private_std ** 2 / m.seeds if m.seeds > 1 else 0)
                       + (p.private_std ** 2 / p.seeds if p.seeds > 1 else 0))
        first_seed = {f: df[(df.family == f) & (df.target == t)].sort_values("seed").run_id.iloc[0]
                      for f in ("mobilenet", "plain_cnn")}
        rows.append({"target": int(t), "mobilenet_params": int(m.params),
                     "mobilenet_run": first_seed["mobilenet"], "plain_run": first_seed["plain_cnn"],
                     "plain_params": int(p.params), "mobilenet_private": m.private_mean,
                     "plain_private": p.private_mean, "gap": gap, "gap_se": se,
                     "paired": paired,
                     "mobilenet_seeds": int(m.seeds), "plain_seeds": int(p.seeds),
                     "mobilenet_macs": int(m.macs), "plain_macs": int(p.macs)})
    return pd.DataFrame(rows)


def width_at_budget(target: int) -> dict:
    """Channel counts each family affords at the same budget (Q4's 'why')."""
    from . import models

    out = {}
    for family in ("mobilenet", "plain_cnn"):
        chosen = models.for_budget(family, target)
        out[family] = {"width": chosen.width, "params": chosen.params,
                       "macs": models.count_macs(chosen.build()),
                       "last_channels": models._scaled(models.HW8_BLOCKS[-1][0], chosen.width)}
    return out


def record_dataset_summary(data: FER2013, directory: Path | None = None) -> dict:
    """Split sizes, class counts and the evaluation labels (never images) for the book.

    The labels of the splits models are scored on let the report compare two
    models' recorded predictions image by image without the data.
    """
    summary = {
        "source_sha256": data.sha256,
        "usages": list(USAGES),
        "splits": {name: {"n": len(split),
                          "class_counts": np.bincount(split.labels, minlength=7).tolist()}
                   for name, split in data.splits.items()},
        "labels": {name: encode_classes(data[name].labels) for name in SCORED_SPLITS},
        "class_names_en": list(CLASS_NAMES_EN),
        "class_names_zh": list(CLASS_NAMES_ZH),
    }
    write_json_atomic(Path(directory or results_dir()) / DATASET_SUMMARY, summary)
    return summary


def dataset_summary(directory: Path | None = None) -> dict | None:
    """The recorded dataset summary, or None: the book renders without the data file."""
    import json

    path = Path(directory or results_dir()) / DATASET_SUMMARY
    return json.loads(path.read_text()) if path.exists() else None


def fmt_int(n: int | float) -> str:
    """A count with thousands separators, as the report prints every parameter count."""
    return f"{int(n):,}"


def fmt_acc(a: float | None) -> str:
    """An accuracy to 5 places, as the reference report gives them; "—" when missing."""
    return "—" if a is None or (isinstance(a, float) and math.isnan(a)) else f"{a:.5f}"


def reference_points(family: str) -> dict:
    """The reference report's point(s) to mark on a family's scatter."""
    if family == "mobilenet":
        return {"HW8": REFERENCE["hw8_mobilenet"]}
    if family == "plain_cnn":
        return {"small CNN": REFERENCE["small_cnn"]}
    return {}


def points_display(table: pd.DataFrame) -> Styler:
    """A readable, bilingual table of budget points (a spread needs two seeds: else "—")."""
    single = table.seeds < 2
    table = table.assign(public_std=table.public_std.mask(single),
                         private_std=table.private_std.mask(single))
    shown = table.rename(columns={
        "family": "家族 Family", "target": "目標 Target", "params": "參數 Params", "macs": "乘加 MACs",
        "seeds": "種子 Seeds", "public_mean": "Public 平均 mean", "public_std": "Public std",
        "private_mean": "Private 平均 mean", "private_std": "Private std",
        "val_mean": "驗證 Val"})
    return shown.style.format({
        "目標 Target": "{:,}", "參數 Params": "{:,}", "乘加 MACs": "{:,}",
        "Public 平均 mean": "{:.5f}", "Public std": "{:.5f}", "Private 平均 mean": "{:.5f}",
        "Private std": "{:.5f}", "驗證 Val": "{:.5f}"}, na_rep="—").hide(axis="index")


def pair_architecture(left: dict, right: dict) -> pd.DataFrame:
    """Channels and parameters per block of two runs, side by side."""
    from . import models

    def rows(record: dict) -> dict[str, dict]:
        model = models.build(record["family"], record["width"])
        return {row["name"]: row for row in models.layer_table(model)
                if row["type"] in ("Conv2D", "SeparableConv2D", "Dense")}

    a, b = rows(left), rows(right)
    names = list(a)
    la, lb = left["family"], right["family"]
    return pd.DataFrame({
        "層 Layer": names,
        f"{la} 型別 type": [a[n]["type"] for n in names],
        f"{la} 輸出 output": [a[n]["output_shape"] for n in names],
        f"{la} 參數 params": [a[n]["params"] for n in names],
        f"{lb} 型別 type": [b[n]["type"] for n in names],
        f"{lb} 輸出 output": [b[n]["output_shape"] for n in names],
        f"{lb} 參數 params": [b[n]["params"] for n in names],
    })


def recipe_variants(df: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Each full-data tagged run (a recipe variant) beside its untagged twin.

    The twin is the sweep's run of the same model, budget and seed; ``val_gain``
    and ``private_gain`` are variant minus twin.  Choose recipes by ``val_gain``
    only: the test splits are for reporting.  ``val_gain_se`` is paired image by
    image when both runs recorded predictions and the validation ``labels`` are
    known (default: the recorded dataset summary's), else two independent
    binomial errors; either way one seed each, so seed noise is not in it.
    """
    if labels is None:
        labels = (dataset_summary() or {}).get("labels", {})
    val_labels = decode_classes(labels["val"]) if "val" in labels else None
    variants = df[df.tag != ""]
    base = _untagged_by_twin_key(df)
    rows = []
    for key, (_, v) in zip(_twin_keys(variants), variants.iterrows()):
        if key not in base.index:
            continue
        b = base.loc[[key]].iloc[0]
        # Settings at their default are left out of a record (precision): fill them in.
        before, after = ({**LATER_SETTINGS, **r.record["settings"]} for r in (b, v))
        changed = {k: (before.get(k), after.get(k)) for k in sorted(set(before) | set(after))
                   if before.get(k) != after.get(k)}
        if all(r.epochs == r.max_epochs for r in (b, v)):
            changed.pop("patience", None)  # it never fired in either run: no difference
        right = ([correctness([r], val_labels, "val") for r in (v.record, b.record)]
                 if val_labels is not None else [None])
        paired = all(r is not None for r in right)
        n_val = int(b.record["scores"]["val"]["n"])
        se = (paired_se(*right) if paired else
              math.sqrt(binomial_se(v.val, n_val) ** 2 + binomial_se(b.val, n_val) ** 2))
        rows.append({"model": v.model, "params": int(v.params), "seed": int(v.seed),
                     "changed": ", ".join(f"{k} {a if a != '' else 'none'} → {c}"
                                          for k, (a, c) in changed.items()),
                     "base_run": b.run_id, "variant_run": v.run_id,
                     "base_max_epochs": b.max_epochs, "variant_max_epochs": v.max_epochs,
                     "base_epochs_run": int(b.epochs), "variant_epochs_run": int(v.epochs),
                     "base_best_epoch": int(b.best_epoch), "variant_best_epoch": int(v.best_epoch),
                     "base_val": b.val, "variant_val": v.val, "val_gain": v.val - b.val,
                     "val_gain_se": se, "paired": paired,
                     "base_private": b.private, "variant_private": v.private,
                     "private_gain": v.private - b.private,
                     "base_public": b.public, "variant_public": v.public,
                     "base_hours": b.train_seconds / 3600, "variant_hours": v.train_seconds / 3600})
    return pd.DataFrame(rows)


def flip_averaging(df: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """What test-time flip averaging adds to each run that recorded it.

    ``evaluate`` scores every model twice: one pass, and each face averaged with
    its mirror image.  The gains are flip minus one pass on the same images, so
    their standard errors are paired image by image (``labels``: the recorded
    dataset summary's by default; NaN without them).  Whether to use it is read
    from ``val_gain``.
    """
    labels = _split_labels(labels)
    rows = []
    for _, r in df.iterrows():
        scores = r.record.get("scores", {})
        if not all("flip" in scores.get(s, {}) for s in SCORED_SPLITS):
            continue
        row = {"run_id": r.run_id, "model": r.model, "tag": r.tag, "params": int(r.params)}
        for split in SCORED_SPLITS:
            one_pass, flip = scores[split]["accuracy"], scores[split]["flip"]["accuracy"]
            right = [correctness([r.record], labels[split], split, flip=f) if split in labels
                     else None for f in (True, False)]
            row.update({split: one_pass, f"{split}_flip": flip, f"{split}_gain": flip - one_pass,
                        f"{split}_gain_se": paired_se(*right) if right[0] is not None
                        else float("nan")})
        rows.append(row)
    columns = ["run_id", "model", "tag", "params"] + [
        f"{split}{suffix}" for split in SCORED_SPLITS for suffix in ("", "_flip", "_gain", "_gain_se")]
    return pd.DataFrame(rows, columns=columns)


def _split_labels(labels: dict[str, str] | None) -> dict[str, np.ndarray]:
    """Each split's labels, decoded (default: the recorded dataset summary's)."""
    if labels is None:
        labels = (dataset_summary() or {}).get("labels", {})
    return {split: decode_classes(text) for split, text in labels.items()}


def flip_gain(df: pd.DataFrame, split: str, labels: dict[str, str] | None = None
              ) -> tuple[float, float]:
    """Mean flip gain over ``df``'s runs on one split, and its standard error.

    Every run is scored on the same images, so the error has two parts, as in
    :func:`equal_budget_pairs`: the paired test-image sampling error of the
    run-averaged gain, and the spread between runs.  Runs without flip scores
    are left out; NaN when none has them.
    """
    table = flip_averaging(df, labels)
    if table.empty:
        return float("nan"), float("nan")
    truth = _split_labels(labels).get(split)
    records = list(df.set_index("run_id").loc[table.run_id, "record"])
    gains = table[f"{split}_gain"]
    spread = gains.std(ddof=1) ** 2 / len(gains) if len(gains) > 1 else 0.0
    if truth is None:
        return float(gains.mean()), float("nan")
    sampling = paired_se(correctness(records, truth, split, flip=True),
                         correctness(records, truth, split)) ** 2
    return float(gains.mean()), math.sqrt(sampling + spread)


def flip_note(df: pd.DataFrame, labels: dict[str, str] | None = None) -> dict[str, str]:
    """One paragraph per language on flip averaging over the runs on the budget curves.

    ``df`` is :func:`runs`; recipe variants are left out, so each point's seeds
    count as they do on the curves.  The verdict compares the validation gain with
    two standard errors of :func:`flip_gain`.
    """
    curve = flip_averaging(df[df.tag == ""], labels)
    if curve.empty:
        return {"zh": "預算曲線上尚無記錄翻轉平均分數的執行。",
                "en": "No run on the budget curves has recorded flip-averaged scores yet."}
    n = len(curve)
    runs_on_curve = df[df.run_id.isin(curve.run_id)]
    val, val_se = (100 * x for x in flip_gain(runs_on_curve, "val", labels))
    private, private_se = (100 * x for x in flip_gain(runs_on_curve, "private", labels))
    if val - 2 * val_se > 0:
        zh_verdict, en_verdict = "在驗證集上明顯有幫助", "it clearly helps on validation"
    elif val + 2 * val_se < 0:
        zh_verdict, en_verdict = "在驗證集上反而有害", "it hurts on validation"
    else:
        zh_verdict, en_verdict = ("在驗證集上與不用它無法區分",
                                  "on validation it is indistinguishable from no change")
    if n == 1:
        run = curve.run_id.iloc[0]
        zh_runs = f"在預算曲線上唯一記錄了翻轉平均分數的執行（{run}）中，測試時翻轉平均使驗證準確率變化"
        zh_spread = f"{val:+.2f} 個百分點（逐張配對的標準誤 {val_se:.2f}）"
        en_runs = (f"On the one run on the budget curves that recorded it ({run}), test-time flip "
                   "averaging changes validation accuracy by")
        en_spread = f"{val:+.2f} points (paired standard error {val_se:.2f})"
        avg_zh, avg_en = "", ""
    else:
        helped = int((curve.val_gain > 0).sum())
        low, high = curve.val_gain.min() * 100, curve.val_gain.max() * 100
        zh_runs = f"在預算曲線上 {n} 次記錄了翻轉平均分數的執行中，測試時翻轉平均使驗證準確率平均變化"
        zh_spread = (f"{val:+.2f} 個百分點（標準誤 {val_se:.2f}，含測試影像抽樣與執行間的差異；"
                     f"各執行介於 {low:+.2f} 與 {high:+.2f} 之間，{n} 次中 {helped} 次為正）")
        en_runs = (f"Over the {n} runs on the budget curves that recorded it, test-time flip "
                   "averaging changes validation accuracy by")
        en_spread = (f"{val:+.2f} points on average (standard error {val_se:.2f}, test-image "
                     f"sampling and the spread between runs together; from {low:+.2f} to "
                     f"{high:+.2f} per run, positive in {helped} of {n})")
        avg_zh, avg_en = "平均", " on average"
    return {
        "zh": (f"{zh_runs} {zh_spread}，{zh_verdict}。Private 準確率{avg_zh}變化 {private:+.2f} 個百分點"
               f"（標準誤 {private_se:.2f}）。每個執行的最佳週期是用單次推論的驗證準確率選的，"
               "所以驗證集上的增益若有偏差也是偏低。它不增加參數，只讓推論的計算量加倍；"
               "為了與參考報告（單次推論）相比，各章的曲線與主要表格仍使用單次推論的分數。"),
        "en": (f"{en_runs} {en_spread}: {en_verdict}. Private accuracy changes by {private:+.2f} "
               f"points{avg_en} (standard error {private_se:.2f}). Each run's best epoch was "
               "chosen by its one-pass validation accuracy, so the validation gain is, if "
               "anything, understated. It adds no parameters and doubles the inference cost; to "
               "stay comparable with the reference report (one pass), the curves and headline "
               "tables of every chapter keep the one-pass scores."),
    }


def flip_versus_reference(flip: pd.DataFrame, names: dict[str, str]) -> dict[str, str]:
    """One sentence per language: each reference model's flip-averaged Private score.

    The mean over its seeds (untagged runs of :func:`flip_averaging` only),
    against the reference report's one-pass score.
    """
    zh, en = [], []
    for model, name in names.items():
        runs_of = flip[(flip.model == model) & (flip.tag == "")]
        if runs_of.empty:
            continue
        ours, n = runs_of.private_flip.mean(), len(runs_of)
        zh_side, en_side = _versus(ours, REFERENCE[model]["private"])
        zh_seeds = f"{n} 個種子的平均" if n != 1 else "1 個種子"
        zh.append(f"{name} 為 {ours:.5f}（{zh_seeds}，{zh_side}）")
        seeds = f"mean of {n} seeds" if n != 1 else "1 seed"
        verb = "" if en else " scores"  # "the HW3 CNN scores 0.65 Private (…) and the HW8 … 0.59 (…)"
        en.append(f"the {name}{verb} {ours:.5f}{'' if en else ' Private'} ({seeds}, {en_side})")
    if not en:
        return {"zh": "", "en": ""}
    return {"zh": "若加上測試時翻轉平均（見「重現」頁），Private 準確率：" + "，".join(zh) + "。",
            "en": "With test-time flip averaging (see the Reproduce page), " + " and ".join(en) + "."}


def longer_training_note(df: pd.DataFrame, names: dict[str, str],
                         labels: dict[str, str] | None = None, tag: str = "long") -> dict[str, str]:
    """What the reference models score with the longer recipe check (tagged ``tag``),
    one pass and flip-averaged, each against the reference report's (one-pass)
    score: how much of the gap is training length.  Means over the variant's
    seeds; empty without such runs."""
    flip = flip_averaging(df[df.tag == tag], labels)
    zh, en = [], []
    for model, name in names.items():
        runs_of = df[(df.model == model) & (df.tag == tag)]
        if runs_of.empty:
            continue
        n, ran = len(runs_of), sorted({int(e) for e in runs_of.epochs})
        ran_zh = f"{ran[0]}–{ran[-1]}" if len(ran) > 1 else f"{ran[0]}"
        ref = REFERENCE[model]["private"]
        flipped = flip[flip.model == model].private_flip
        seeds_zh = f"{n} 個種子的平均" if n != 1 else "1 個種子"
        seeds_en = f"mean of {n} seeds" if n != 1 else "1 seed"
        side_zh, side_en = _versus(runs_of.private.mean(), ref)
        flip_zh = flip_en = ""
        if len(flipped) == n:
            f_zh, f_en = _versus(flipped.mean(), ref)
            flip_zh = f"；加上翻轉平均為 {flipped.mean():.5f}（{f_zh}）"
            flip_en = f"; {flipped.mean():.5f} with flip averaging ({f_en})"
        zh.append(f"{name} 訓練 {ran_zh} 個週期（配方檢查 `{tag}`，{seeds_zh}）的 Private 準確率為 "
                  f"{runs_of.private.mean():.5f}（{side_zh}）{flip_zh}")
        en.append(f"trained for {ran_zh} epochs (the `{tag}` recipe check, {seeds_en}), the {name} "
                  f"scores {runs_of.private.mean():.5f} Private ({side_en}){flip_en}")
    if not en:
        return {"zh": "", "en": ""}
    return {"zh": "。".join(zh) + "。", "en": ". ".join(e[0].upper() + e[1:] for e in en) + "."}


def _versus(ours: float, reference: float) -> tuple[str, str]:
    """Ours against the reference report's score, in points, both languages."""
    diff = round((ours - reference) * 100, 2)
    if diff == 0:
        return "與參考報告相同", "level with the reference"
    return (f"比參考報告{'高' if diff > 0 else '低'} {abs(diff):.2f} 個百分點",
            f"{abs(diff):.2f} points {'above' if diff > 0 else 'below'} the reference")


def precision_note(df: pd.DataFrame, names: dict[str, str]) -> dict[str, str]:
    """Which of these models (family -> display name) were trained in bfloat16, if any."""
    mixed = [names[m] for m in names if (df[df.model == m].precision != "float32").any()]
    if not mixed:
        return {"zh": "", "en": ""}
    return bfloat16_sentence("、".join(mixed) + " ", " and ".join(mixed), plural=len(mixed) > 1)


def bfloat16_sentence(subject_zh: str, subject_en: str, *, plural: bool, others: bool = False,
                      prefix: str = "") -> dict[str, str]:
    """The one wording, in both languages, for runs trained in bfloat16 (Q1, Q2, Q3).

    ``others`` adds that the remaining runs are float32; keys are ``prefix`` + zh/en.
    """
    rest_zh, rest_en = ("，其餘為 float32", ", the others in float32") if others else ("", "")
    return {f"{prefix}zh": f"{subject_zh}以 bfloat16 運算、float32 權重訓練（在這台 CPU 上快得多）"
                           f"{rest_zh}；「重現」頁的配方檢查在一個小模型上比較 bfloat16 與 float32。",
            f"{prefix}en": f"The {subject_en} {'were' if plural else 'was'} trained with bfloat16 "
                           f"arithmetic and float32 weights (much faster on this CPU){rest_en}; a "
                           "recipe check on the Reproduce page compares bfloat16 with float32 on a "
                           "small model."}


def variants_without_twin(df: pd.DataFrame) -> list[str]:
    """Run ids of tagged runs whose untagged twin has no result, so nothing to compare yet."""
    twins = _untagged_by_twin_key(df).index
    tagged = df[df.tag != ""]
    return [run_id for run_id, key in zip(tagged.run_id, _twin_keys(tagged)) if key not in twins]


TWIN_KEY = ["model", "target", "seed"]  # a recipe variant's twin: same model, budget and seed


def _untagged_by_twin_key(df: pd.DataFrame) -> pd.DataFrame:
    return df[df.tag == ""].set_index(TWIN_KEY)


def _twin_keys(df: pd.DataFrame) -> list[tuple]:
    return list(df[TWIN_KEY].itertuples(index=False, name=None))


def recipe_verdict(variants: pd.DataFrame, without_twin: Sequence[str] = ()) -> dict[str, str]:
    """One sentence per language on what each recipe variant bought, from data only.

    ``without_twin`` (from :func:`variants_without_twin`) names variants trained
    before their twin, so the page does not claim that no variant was trained.
    """
    waiting_zh = waiting_en = ""
    if without_twin:
        names = ", ".join(without_twin)
        waiting_zh = f"{names} 已訓練，但對照的原配方執行尚無結果，暫時無從比較。"
        waiting_en = (f"{names} {'has' if len(without_twin) == 1 else 'have'} been trained, "
                      "but the untagged run to compare with has no result yet.")
    if variants.empty:
        if without_twin:
            return {"zh": waiting_zh, "en": waiting_en}
        return {"zh": "尚未訓練任何配方變體（在 sweep.yml 中以 tag 標示）。",
                "en": "No recipe variant has been trained yet (sweep.yml marks them with a tag)."}
    zh, en = [], []
    for _, v in variants.iterrows():
        se = v.val_gain_se * 100
        kind_zh, kind_en = ("逐張配對的", "paired ") if v.paired else ("", "")
        changed_zh = v.changed or "設定相同（早停在兩次訓練中都沒有觸發）"
        changed_en = v.changed or "the same settings (early stopping fired in neither run)"
        zh.append(f"{v.model}（{v.params:,} 個參數），{changed_zh}：訓練了 {v.variant_epochs_run} 個週期"
                  f"（原本 {v.base_epochs_run} 個），驗證準確率變化 {v.val_gain * 100:+.2f} 個百分點"
                  f"（{kind_zh}標準誤 {se:.2f}；各只有一個種子，種子間變異不在其中），"
                  f"Private 變化 {v.private_gain * 100:+.2f} 個百分點。")
        en.append(f"{v.model} ({v.params:,} parameters) with {changed_en}: trained "
                  f"{v.variant_epochs_run} epochs (against {v.base_epochs_run}); validation accuracy "
                  f"{v.val_gain * 100:+.2f} points ({kind_en}standard error {se:.2f}; one seed each, "
                  f"so the seed noise is not in it), Private {v.private_gain * 100:+.2f} points.")
    return {"zh": " ".join(zh + [waiting_zh]).strip(), "en": " ".join(en + [waiting_en]).strip()}


def run_times(df: pd.DataFrame) -> pd.DataFrame:
    """What each run cost, largest first, so a reader can plan a rerun of any point."""
    shown = df.sort_values(["params", "run_id"], ascending=[False, True])
    return pd.DataFrame({
        "執行 Run": shown.run_id,
        "參數 Params": shown.params.map(fmt_int),
        "精度 Precision": shown.precision,
        "週期 Epochs": shown.epochs.astype(int),
        "小時 Hours": (shown.train_seconds / 3600).map("{:.2f}".format),
        "每週期秒數 s/epoch": [f"{t / e:.0f}" if e else "—"
                            for t, e in zip(shown.train_seconds, shown.epochs)],
        "圖/秒 img/s": shown.images_per_second.map(lambda r: f"{r:.0f}" if r else "—"),
        "裝置 Device": shown.device,
    }).reset_index(drop=True)


def relabel_note(df: pd.DataFrame) -> dict[str, str]:
    """Runs recorded under another run id (``scripts/relabel_run.py``), and why."""
    moved = [(r.run_id, r.record["relabelled_from"]) for r in df.itertuples()
             if r.record.get("relabelled_from")]
    if not moved:
        return {"zh": "", "en": ""}
    zh = "；".join(f"{new} 原本以 {old['run_id']} 訓練（{old.get('reason_zh', old['reason'])}）"
                  for new, old in moved)
    en = "; ".join(f"{new} was trained as {old['run_id']} ({old['reason']})" for new, old in moved)
    return {"zh": f"改名的執行（設定與設定雜湊不變）：{zh}。",
            "en": f"Runs recorded under a new id, with their settings and config hash unchanged: {en}."}


def recorded_patience_note(df: pd.DataFrame, patience: int) -> dict[str, str]:
    """Say which curve runs were recorded with another patience than today's ``patience``.

    A run recorded with a shorter patience is this recipe's result only when its
    early stopping never fired (``TrainConfig.is_result``): it then trained what
    today's recipe trains.
    """
    from dataclasses import replace

    from .training import TrainConfig  # training imports this module

    curve = df[df.tag == ""]
    other = curve[[r["settings"].get("patience", patience) != patience for r in curve.record]]
    if other.empty:
        return {"zh": "", "en": ""}
    values = sorted({int(r["settings"]["patience"]) for r in other.record})
    listed = " / ".join(map(str, values))
    differ = sum(not replace(TrainConfig(**r["settings"]), patience=patience).is_result(r)
                 for r in other.record)
    if differ:
        end_zh = f"其中 {differ} 次提早停止或 patience 較長，和現在的配方不同。"
        end_en = f"{differ} of them stopped early or had a longer patience, unlike today's recipe."
    else:
        end_zh = "它們的早停都沒有觸發（每次都跑完所有週期），所以它們就是現在這個配方的執行。"
        end_en = ("early stopping fired in none of them (each ran all its epochs), so they are "
                  "runs of today's recipe.")
    return {"zh": f"預算曲線上的 {len(curve)} 次執行中，有 {len(other)} 次記錄的 patience 是 {listed}"
                  f"（現在是 {patience}）；{end_zh}",
            "en": f"{len(other)} of the {len(curve)} runs on the budget curves were recorded with "
                  f"patience {listed} (today {patience}); {end_en}"}


def training_hours(df: pd.DataFrame) -> dict[str, float]:
    """Wall-clock training hours of these runs, on CPU and on GPU."""
    on_cpu = df.device.str.startswith("CPU")
    return {"cpu": df.loc[on_cpu, "train_seconds"].sum() / 3600,
            "gpu": df.loc[~on_cpu, "train_seconds"].sum() / 3600}


def _mean_std(mean: float, std: float, seeds: int) -> str:
    """A spread needs at least two seeds; one seed shows the mean alone."""
    return f"{mean:.4f} ± {std:.4f}" if seeds > 1 else f"{mean:.4f}"


def summary_markdown(df: pd.DataFrame) -> str:
    """The table of budget points (mean ± std over seeds) and the compute spent, as Markdown."""
    table = points(df)
    lines = ["| family | target | params | MACs | seeds | Public | Private |",
             "|---|---:|---:|---:|---:|---|---|"]
    for _, p in table.sort_values(["family", "params"]).iterrows():
        lines.append(f"| {p.family} | {int(p.target):,} | {int(p.params):,} | {int(p.macs):,} | "
                     f"{int(p.seeds)} | {_mean_std(p.public_mean, p.public_std, p.seeds)} | "
                     f"{_mean_std(p.private_mean, p.private_std, p.seeds)} |")
    hours = training_hours(df)
    lines.append("")
    lines.append(f"{len(df)} runs; {hours['cpu']:.2f} CPU hours, {hours['gpu']:.2f} GPU hours "
                 "of training.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.report``: print the table of recorded budget points."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers.report", description=main.__doc__)
    parser.add_argument("--results", type=Path, default=None,
                        help="results folder (default: results/ or $FER_RESULTS_DIR)")
    parser.add_argument("--include-tagged", action="store_true",
                        help="also list tagged runs (recipe variants), as their own rows")
    args = parser.parse_args(argv)
    df = runs(args.results, include_tagged=args.include_tagged)
    if df.empty:
        print(f"no finished runs in {args.results or results_dir()}")
        return 1
    if args.include_tagged:
        df = df.assign(family=df.family.where(df.tag == "", df.family + "-" + df.tag))
    print(summary_markdown(df))
    return 0


def versus_reference(name: str | tuple[str, str], ours: float | None, seeds: int,
                     reference: float) -> dict[str, str]:
    """One sentence per language: our Private accuracy against the reference report's.

    ``name`` is one model name for both languages, or a (Chinese, English) pair.
    """
    name_zh, name_en = (name, name) if isinstance(name, str) else name
    if ours is None or (isinstance(ours, float) and math.isnan(ours)):
        return {"zh": f"本研究的 {name_zh} 尚未有訓練結果。", "en": f"Our {name_en} has no result yet."}
    diff = (ours - reference) * 100
    return {"zh": f"本研究的 {name_zh} Private 準確率為 {ours:.5f}"
                  f"（{f'{seeds} 個種子的平均' if seeds != 1 else '1 個種子'}），比參考報告的 "
                  f"{reference:.5f} {'高' if diff > 0 else '低'} {abs(diff):.2f} 個百分點。",
            "en": f"Our {name_en} scores {ours:.5f} Private "
                  f"({f'mean of {seeds} seeds' if seeds != 1 else '1 seed'}), "
                  f"{abs(diff):.2f} points {'above' if diff > 0 else 'below'} the reference report's "
                  f"{reference:.5f}."}


def _significant(pair: pd.Series) -> bool:
    return abs(pair.gap) > 2 * pair.gap_se


def _gap_trend(ordered: pd.DataFrame) -> tuple[str, str]:
    """How the MobileNet-minus-plain gap moves from the smallest to the largest shared budget.

    A gap within two standard errors is noise: no trend or sign change is read into it.
    """
    first, last = ordered.iloc[0], ordered.iloc[-1]
    span_zh = f"從 {int(first.target):,} 到 {int(last.target):,} 個參數，"
    span_en = f"from {int(first.target):,} to {int(last.target):,} parameters "
    if not any(_significant(p) for _, p in ordered.iterrows()):
        return (f"{span_zh}所有 {len(ordered)} 個同預算配對的差距都在兩個標準誤之內，目前量不出差距。",
                f"{span_en}the gap stays within two standard errors of zero at all "
                f"{len(ordered)} shared budgets: no difference is measurable yet.")
    g1, g2 = first.gap * 100, last.gap * 100
    where_zh, where_en = _where_significant(ordered)
    if g1 * g2 < 0 and _significant(first) and _significant(last):
        return (f"{span_zh}差距（MobileNet 減一般 CNN）由 {g1:+.2f} 變號為 {g2:+.2f} 個百分點。{where_zh}",
                f"{span_en}the gap (MobileNet minus plain CNN) changes sign, from {g1:+.2f} "
                f"to {g2:+.2f} percentage points.{where_en}")
    a, b = abs(g1), abs(g2)
    if g1 * g2 <= 0:  # a change of sign, but not beyond the noise at both ends
        return (f"{span_zh}差距（MobileNet 減一般 CNN）由 {g1:+.2f} 變為 {g2:+.2f} 個百分點；"
                f"正負號的改變在兩個標準誤之內，不算換了領先者。{where_zh}",
                f"{span_en}the gap (MobileNet minus plain CNN) moves from {g1:+.2f} to {g2:+.2f} "
                f"percentage points, a change of sign within two standard errors, so no change of "
                f"leader.{where_en}")
    who_zh, who_en = ("MobileNet ", "MobileNet's") if g1 > 0 else ("一般 CNN ", "the plain CNN's")
    what_zh, what_en = f"{who_zh}的領先", f"{who_en} lead"  # one family ahead at both ends
    if round(a, 2) == round(b, 2):
        return (f"{span_zh}{what_zh}維持在 {a:.2f} 個百分點。{where_zh}",
                f"{span_en}{what_en} stays at {a:.2f} percentage points.{where_en}")
    if abs(g2 - g1) <= 2 * math.hypot(first.gap_se, last.gap_se) * 100:  # not a measurable trend
        return (f"{span_zh}{what_zh}大致不變（{a:.2f} 與 {b:.2f} 個百分點，變化在兩個標準誤之內）。{where_zh}",
                f"{span_en}{what_en} stays about the same ({a:.2f} and {b:.2f} percentage points; "
                f"the change is within two standard errors).{where_en}")
    verb_zh, verb_en = ("縮小", "shrinks") if b < a else ("擴大", "grows")
    return (f"{span_zh}{what_zh}由 {a:.2f} {verb_zh}為 {b:.2f} 個百分點。{where_zh}",
            f"{span_en}{what_en} {verb_en} from {a:.2f} to {b:.2f} percentage points.{where_en}")


def _where_significant(ordered: pd.DataFrame) -> tuple[str, str]:
    """Which shared budgets have a gap beyond two standard errors, and who is ahead there."""
    sig = [p for _, p in ordered.iterrows() if _significant(p)]
    if len(sig) == len(ordered):
        return "每個預算的差距都超過兩個標準誤。", " The gap is beyond two standard errors at every shared budget."
    zh = "、".join(f"{int(p.target):,}（{'MobileNet' if p.gap > 0 else '一般 CNN'} 領先）" for p in sig)
    en = ", ".join(f"{int(p.target):,} parameters "
                   f"({'MobileNet' if p.gap > 0 else 'the plain CNN'} ahead)" for p in sig)
    return (f"差距超過兩個標準誤的預算只有：{zh}。",
            f" The gap is beyond two standard errors only at {en}.")


def equal_macs_gaps(table: pd.DataFrame) -> pd.DataFrame:
    """Each MobileNet point against the plain CNN's curve at the same multiply-adds.

    The plain CNN's mean Private accuracy is interpolated linearly in log MACs
    between its two neighbouring points, so only MobileNet points inside the
    plain curve's MACs range are compared (no extrapolation).
    """
    plain = table[table.family == "plain_cnn"].sort_values("macs")
    mobile = table[table.family == "mobilenet"].sort_values("macs")
    if len(plain) < 2:
        return pd.DataFrame(columns=["target", "macs", "mobilenet_private", "plain_private", "gap"])
    inside = mobile[(mobile.macs >= plain.macs.min()) & (mobile.macs <= plain.macs.max())]
    plain_at = np.interp(np.log(inside.macs.astype(float)), np.log(plain.macs.astype(float)),
                         plain.private_mean.astype(float))
    return pd.DataFrame({"target": inside.target.to_numpy(), "macs": inside.macs.to_numpy(),
                         "mobilenet_private": inside.private_mean.to_numpy(),
                         "plain_private": plain_at,
                         "gap": inside.private_mean.to_numpy() - plain_at})


def equal_macs_note(table: pd.DataFrame) -> dict[str, str]:
    """Q4's second view of "why": the two families compared at equal arithmetic, not parameters."""
    gaps = equal_macs_gaps(table)
    if gaps.empty:
        return {"zh": "", "en": ""}
    listed = ", ".join(f"{g * 100:+.2f}" for g in gaps.gap)
    at = ", ".join(f"{m / 1e6:.1f}M" for m in gaps.macs)
    if gaps.gap.abs().max() <= 0.01:
        end_zh = ("相差都在 1 個百分點以內：相同運算量下兩個家族幾乎一樣準。內插值沒有標準誤"
                  "（多數預算只有一個種子），所以這只是趨勢而非測量：相同參數量下一般 CNN 若稍好，"
                  "可能來自它較多的乘加運算。")
        end_en = ("all within one percentage point: at equal arithmetic the two families are about "
                  "equally accurate. The interpolated values carry no standard error (most budgets "
                  "have a single seed), so this is a tendency rather than a measurement: where the "
                  "plain CNN is ahead at equal parameters, its extra multiply-adds may be why.")
    elif (gaps.gap > 0).all():
        end_zh, end_en = "相同運算量下 MobileNet 都較好。", "MobileNet is ahead at every matched MACs."
    elif (gaps.gap < 0).all():
        end_zh, end_en = ("即使運算量相同，一般 CNN 仍都較好。",
                          "the plain CNN is ahead even at equal arithmetic.")
    else:
        end_zh, end_en = ("沒有一個家族在每個運算量都較好。",
                          "neither family is ahead at every matched MACs.")
    return {
        "zh": (f"若改以乘加數對齊（右圖；一般 CNN 的準確率在其相鄰兩點間依 log MACs 內插），"
               f"MobileNet 減一般 CNN 在 {at.replace(', ', '、')} 次乘加時分別為 "
               f"{listed.replace(', ', '、')} 個百分點，{end_zh}"),
        "en": (f"Matched by multiply-adds instead (right panel; the plain CNN's accuracy "
               f"interpolated in log MACs between its neighbouring points), MobileNet minus plain "
               f"CNN is {listed} percentage points at {at} MACs; {end_en}"),
    }


def q4_headline(pairs: pd.DataFrame) -> pd.Series:
    """The pair Q4 answers with: the reference small CNN's budget, the one given
    the most seeds, when both families have it; else the smallest shared budget."""
    at_reference = pairs[pairs.target == REFERENCE["small_cnn"]["params"]]
    return at_reference.iloc[0] if len(at_reference) else pairs.sort_values("target").iloc[0]


def q4_error_note(pairs: pd.DataFrame) -> dict[str, str]:
    """What the headline pair's standard error includes, in both languages."""
    if pairs.empty:
        return {"zh": "", "en": ""}
    first = q4_headline(pairs)
    if first.paired:
        test_zh = "測試圖的抽樣誤差以逐張配對計算（兩個家族在同一組測試圖上評分）"
        test_en = ("the test-sampling error computed image by image, paired (both families are "
                   "scored on the same test images)")
    else:
        test_zh = "測試圖的二項誤差（當成兩個獨立的測量，偏保守）"
        test_en = "the binomial test-sampling error (treated as two independent measurements, conservative)"
    several = int(first.mobilenet_seeds > 1) + int(first.plain_seeds > 1)
    if several == 2:
        return {"zh": f"合併了種子間的變異與{test_zh}",
                "en": f"combining the seed spread with {test_en}"}
    if several == 1:
        return {"zh": f"合併了{test_zh}與只有一個家族量到的種子間變異：另一個家族只訓練了一個種子，"
                      "所以標準誤仍偏低",
                "en": f"combining {test_en} with the seed spread of the one family trained with "
                      "several seeds; the other has a single seed, so the error is still understated"}
    return {"zh": f"只含{test_zh}：此預算兩個家族都只訓練了一個種子，種子間的變異尚未量到",
            "en": f"{test_en} only: at this budget each family has a single seed, so the seed "
                  "spread is not measured yet"}


def early_stop_note(all_runs: pd.DataFrame, target: int,
                    labels: dict[str, str] | None = None) -> dict[str, str]:
    """The runs at Q4's headline budget that early stopping cut short, with their recipe check.

    ``all_runs`` includes the tagged runs (``runs(include_tagged=True)``), so a
    twin trained to the last epoch is quoted beside the run it retrains.
    """
    at_budget = all_runs[(all_runs.target == target) & (all_runs.tag == "")
                         & all_runs.family.isin(["mobilenet", "plain_cnn"])]
    stopped = at_budget[at_budget.epochs < at_budget.max_epochs]
    if stopped.empty:
        return {"zh": "", "en": ""}
    # Only the stopped runs' twins are needed: don't pair every recipe check.
    keys = set(_twin_keys(stopped))
    related = all_runs[[key in keys for key in _twin_keys(all_runs)]]
    variants = (recipe_variants(related, labels) if (related.tag != "").any()
                else pd.DataFrame())
    zh, en = [], []
    for r in stopped.itertuples():
        zh.append(f"{r.run_id} 在第 {int(r.epochs)} 個週期（共 {int(r.max_epochs)} 個）就提早停止，"
                  f"Private {r.private:.4f}")
        en.append(f"{r.run_id} early-stopped at epoch {int(r.epochs)} of {int(r.max_epochs)} "
                  f"(Private {r.private:.4f})")
        longer = (variants[(variants.base_run == r.run_id)
                           & (variants.variant_epochs_run > variants.base_epochs_run)]
                  if len(variants) else variants)
        for v in longer.itertuples():
            zh[-1] += (f"；「重現」頁的配方檢查以 {v.changed} 重新訓練它，跑完 {v.variant_epochs_run} 個週期，"
                       f"Private {v.variant_private:.4f}")
            en[-1] += (f"; the recipe check on the Reproduce page retrained it with {v.changed} for "
                       f"{v.variant_epochs_run} epochs: Private {v.variant_private:.4f}")
    return {"zh": "此預算的平均值包含提早停止的執行：" + "；".join(zh) + "。",
            "en": "The means at this budget include runs that early stopping cut short: "
                  + "; ".join(en) + "."}


def q4_verdict(pairs: pd.DataFrame) -> dict[str, str]:
    """Which family wins at the headline budget (:func:`q4_headline`), and how the gap moves.

    A gap within two standard errors is called a tie; the trend compares the
    smallest and largest shared budgets.  Both languages, from data only.
    """
    if pairs.empty:
        return {"winner_zh": "尚無配對", "winner_en": "no pair yet",
                "trend_zh": "需要更多預算點才能看出差距在哪裡收斂（缺少的點列於簡介頁）。",
                "trend_en": "more budgets are needed to see where the gap closes "
                            "(the missing points are listed on the Introduction page)."}
    ordered = pairs.sort_values("target")
    first = q4_headline(pairs)
    if not _significant(first):
        winner_zh, winner_en = "兩者差距不顯著（在兩個標準誤之內）", "neither family wins significantly (within two standard errors)"
    elif first.gap > 0:
        winner_zh, winner_en = "MobileNet 較好", "MobileNet wins"
    else:
        winner_zh, winner_en = "一般 CNN 較好", "the plain CNN wins"
    if len(ordered) < 2:
        trend_zh = "目前只有一個同預算配對，需要更大的預算點才能看出差距在哪裡收斂（缺少的點列於簡介頁）。"
        trend_en = ("only one equal-budget pair is recorded so far; larger budgets are needed to see "
                    "where the gap closes (the missing points are listed on the Introduction page).")
    else:
        trend_zh, trend_en = _gap_trend(ordered)
    return {"winner_zh": winner_zh, "winner_en": winner_en,
            "trend_zh": trend_zh, "trend_en": trend_en}


if __name__ == "__main__":
    raise SystemExit(main())
