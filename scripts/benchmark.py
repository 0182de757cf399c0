"""Throughput benchmarks, measured side by side in one run (ratios, not times).

1. The project's ``tf.data`` pipeline against a plain ``model.fit`` on in-memory
   arrays with the same augmentation as layers inside the model, same model,
   for ``hw3_cnn`` and ``hw8_mobilenet``.  Goal: ratio >= 0.95.
2. The sweep on this machine with dask workers x threads of 1x2 against 2x1 for
   small models (two short points each).
3. ``--precision``: training steps in ``mixed_bfloat16`` against float32 for the
   same model, alternating batches of epochs in one process (which points
   ``sweep.yml`` trains in bfloat16 follows from these ratios).

    python scripts/benchmark.py [--images 2048] [--repeats 2] [--skip-sweep]
    python scripts/benchmark.py --precision [--budgets hw3_cnn:4746471 plain_cnn:20000 ...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def images_per_second(fit, n_images: int) -> float:
    start = time.perf_counter()
    fit()
    return n_images / (time.perf_counter() - start)


def pipeline_ratio(family: str, n_images: int, repeats: int, data) -> dict:
    import keras

    from helpers import models, training

    images = data.train.images[:n_images]
    labels = data.train.labels[:n_images]
    batch = 128

    ours = training.compile_model(models.build(family), n_images // batch, 1, 1e-3)
    inputs = keras.Input(models.INPUT_SHAPE)
    core = models.build(family)
    baseline = keras.Model(inputs, core(training.augmenter(0)(inputs)))
    training.compile_model(baseline, n_images // batch, 1, 1e-3)
    as_float = images.astype("float32")
    ds = training.make_dataset(images, labels, batch, training=True, augment=True)

    # One warm-up epoch each (graph tracing), then alternate timed epochs.
    ours.fit(ds, epochs=1, verbose=0)
    baseline.fit(as_float, labels, batch_size=batch, epochs=1, verbose=0)
    ours_rates, base_rates = [], []
    for _ in range(repeats):
        ours_rates.append(images_per_second(lambda: ours.fit(ds, epochs=1, verbose=0),
                                            n_images))
        base_rates.append(images_per_second(
            lambda: baseline.fit(as_float, labels, batch_size=batch, epochs=1, shuffle=True,
                                 verbose=0), n_images))
    best_ours, best_base = max(ours_rates), max(base_rates)
    return {"family": family, "pipeline_img_s": best_ours, "plain_fit_img_s": best_base,
            "ratio": best_ours / best_base}


def sweep_layout_ratio(data_path: str | None) -> dict:
    from helpers import sweep
    from helpers.training import TrainConfig

    def points():
        return [sweep.Point(TrainConfig(family="mobilenet", target_params=t, seed=0, epochs=2,
                                        limit=4096, patience=5, tag="bench"))
                for t in (8000, 20000)]

    timings = {}
    for workers, threads in ((1, 2), (2, 1)):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            summary = sweep.run_sweep(points(), Path(out), workers=workers, threads=threads,
                                      data_path=data_path)
            timings[f"{workers}x{threads}"] = time.perf_counter() - start
            assert all(r["status"] == "done" for r in summary), summary
    return {**{f"seconds_{k}": v for k, v in timings.items()},
            "speedup_2x1_over_1x2": timings["1x2"] / timings["2x1"]}


def precision_ratio(family: str, target_params: int, n_images: int, repeats: int) -> dict:
    """bfloat16 speed-up on synthetic batches (the arithmetic, not the data, is timed)."""
    import keras
    import numpy as np

    from helpers import models, training

    width = models.for_budget(family, target_params).width
    fitted = {}
    for precision in ("float32", "mixed_bfloat16"):
        model = training.build_with_precision(lambda: models.build(family, width), precision)
        fitted[precision] = training.compile_model(model, n_images // 128, 1, 1e-3)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (n_images, *models.INPUT_SHAPE)).astype("float32")
    labels = rng.integers(0, 7, n_images)
    for model in fitted.values():  # warm-up: graph tracing
        model.fit(images[:256], labels[:256], batch_size=128, epochs=1, verbose=0)
    seconds = dict.fromkeys(fitted, 0.0)
    for _ in range(repeats):
        for precision, model in fitted.items():
            start = time.perf_counter()
            model.fit(images, labels, batch_size=128, epochs=1, verbose=0)
            seconds[precision] += time.perf_counter() - start
    keras.backend.clear_session()
    return {"family": family, "target": target_params,
            "speedup": seconds["float32"] / seconds["mixed_bfloat16"]}


def family_budget(text: str) -> tuple[str, int]:
    """``FAMILY:PARAMS`` from the command line, e.g. ``plain_cnn:20000``."""
    from helpers.models import FAMILIES

    family, _, params = text.partition(":")
    if family not in FAMILIES or not params.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected FAMILY:PARAMS with FAMILY one of {', '.join(FAMILIES)}, got {text!r}")
    return family, int(params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--families", nargs="+", default=["hw8_mobilenet", "hw3_cnn"])
    parser.add_argument("--data-path", default=None)
    parser.add_argument("--precision", action="store_true",
                        help="measure the bfloat16 speed-up instead (FAMILY:PARAMS in --budgets)")
    parser.add_argument("--budgets", nargs="+", type=family_budget, metavar="FAMILY:PARAMS",
                        default=[("hw8_mobilenet", 56135), ("plain_cnn", 20000),
                                 ("hw3_cnn", 4746471), ("mobilenet", 500000),
                                 ("mobilenet", 1500000), ("plain_cnn", 500000),
                                 ("plain_cnn", 1500000)])
    args = parser.parse_args()

    if args.precision:
        for family, params in args.budgets:
            r = precision_ratio(family, params, args.images // 4, args.repeats)
            print(f"{family:14s} {r['target']:>9,}  mixed_bfloat16 is {r['speedup']:.2f}x "
                  "the speed of float32", flush=True)
        return

    from helpers.data import load_fer2013

    data = load_fer2013(args.data_path)
    for family in args.families:
        r = pipeline_ratio(family, args.images, args.repeats, data)
        print(f"{family:14s} pipeline {r['pipeline_img_s']:7.1f} img/s   plain fit "
              f"{r['plain_fit_img_s']:7.1f} img/s   ratio {r['ratio']:.3f}", flush=True)
    if not args.skip_sweep:
        r = sweep_layout_ratio(args.data_path)
        print(f"sweep of 2 small points: 1x2 {r['seconds_1x2']:.1f} s, 2x1 {r['seconds_2x1']:.1f} s"
              f" -> 2x1 is {r['speedup_2x1_over_1x2']:.2f}x the speed of 1x2", flush=True)


if __name__ == "__main__":
    main()
