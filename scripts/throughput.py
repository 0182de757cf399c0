"""Measure training throughput (images per second) of a model with the project's pipeline
and recipe, to choose precision, batch size and thread layout before a long sweep.

Each measurement runs in its own process (TensorFlow fixes threads and precision at start)
on random faces of FER2013's shape: speed does not depend on the pixels. ``--pairs`` also
runs two one-thread processes side by side and reports their summed rate, the layout of
two sweep workers on a two-core machine.

    python scripts/throughput.py                       # HW8 and HW3 listings, every setting
    python scripts/throughput.py --models hw8_mobilenet --seconds 30 --json out.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from helpers.atomic import atomic_path

FER_SIZE, CLASSES = 48, 7
REFERENCE = {"hw8_mobilenet": 56135, "hw3_cnn": 4746471}


def measure(family: str, target_params: int, precision: str, batch_size: int, threads: int,
            seconds: float, warmup_steps: int = 3) -> dict:
    """Train for about ``seconds`` after ``warmup_steps`` batches; the rate of the timed part."""
    import numpy as np

    from helpers import pipeline, training
    from helpers._quiet import import_keras
    from helpers.config import TrainConfig

    training.set_threads(threads)
    keras = import_keras()
    config = TrainConfig(family=family, target_params=target_params, batch_size=batch_size,
                         precision=precision, epochs=50, rotation=0, zoom=0)
    model, budget = training.build_model(config)
    rng = np.random.default_rng(0)
    steps = warmup_steps + 10_000
    images = rng.integers(0, 256, (batch_size * 64, FER_SIZE, FER_SIZE, 1), dtype=np.uint8)
    targets = rng.integers(0, CLASSES, len(images)).astype(np.int32)
    data = pipeline.make_dataset(images, targets, batch_size, training=True, seed=0,
                                 rotation=0, zoom=0).repeat()
    training.compile_model(model, config, steps_per_epoch=steps)

    class Clock(keras.callbacks.Callback):
        """Times batches after the warm-up and stops once ``seconds`` have passed."""

        def __init__(self):
            super().__init__()
            self.start, self.timed = None, 0

        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 == warmup_steps:
                self.start = time.perf_counter()
            elif self.start is not None:
                self.timed += 1
                if time.perf_counter() - self.start >= seconds:
                    self.model.stop_training = True

    clock = Clock()
    model.fit(data, epochs=1, steps_per_epoch=steps, callbacks=[clock], verbose=0)
    elapsed = time.perf_counter() - clock.start
    return {"family": family, "params": budget.params, "precision": precision,
            "batch_size": batch_size, "threads": threads, "steps": clock.timed,
            "images_per_s": clock.timed * batch_size / elapsed}


def _spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--one", *args],
                            stdout=subprocess.PIPE, text=True)


def _collect(proc: subprocess.Popen, timeout: float) -> dict | None:
    """The measurement's row, or None where it ran past ``timeout`` (a setting too slow to use)."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    if proc.returncode:
        raise RuntimeError(f"measurement {proc.args[3:]} failed with exit code {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def settings(quick: bool) -> list[tuple[str, int, int, int]]:
    """(precision, batch size, threads, processes side by side) to measure."""
    if quick:
        return [("float32", 128, 2, 1), ("float32", 128, 1, 2)]
    return [("float32", 128, 2, 1), ("float32", 256, 2, 1), ("mixed_bfloat16", 128, 2, 1),
            ("float32", 128, 1, 2), ("float32", 256, 1, 2)]


def run_all(families: list[str], seconds: float, quick: bool = False) -> list[dict]:
    """Every setting for every family, one at a time (pairs together), in fresh processes."""
    rows = []
    for family in families:
        for precision, batch, threads, side_by_side in settings(quick):
            args = [family, str(REFERENCE[family]), precision, str(batch), str(threads),
                    str(seconds)]
            procs = [_spawn(args) for _ in range(side_by_side)]
            results = [_collect(p, timeout=2 * seconds + 180) for p in procs]
            rate = None if None in results else sum(r["images_per_s"] for r in results)
            rows.append({"family": family, "params": REFERENCE[family], "precision": precision,
                         "batch_size": batch, "threads": threads, "processes": side_by_side,
                         "images_per_s": rate})
            shown = f"{rate:7.1f} images/s" if rate else "too slow (timed out)"
            print(f"{family:14s} {precision:15s} batch {batch:3d} {side_by_side}x{threads} "
                  f"threads: {shown}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(REFERENCE), choices=list(REFERENCE))
    parser.add_argument("--seconds", type=float, default=45.0,
                        help="timed training per measurement (after the warm-up batches)")
    parser.add_argument("--quick", action="store_true", help="float32 batch 128 layouts only")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--one", nargs=6, metavar="X", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        family, params, precision, batch, threads, seconds = args.one
        print(json.dumps(measure(family, int(params), precision, int(batch), int(threads),
                                 float(seconds))))
        return
    rows = run_all(args.models, args.seconds, args.quick)
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
