"""What a trained model costs as a file: bytes, accuracy and CPU latency of each export format.

Every model whose weights are kept is exported as the Keras float32 file and as LiteRT
(TensorFlow Lite) flatbuffers in float32, float16, dynamic-range int8 and full-integer
int8 (calibrated on training images, never test ones), then each format is scored on
the full PublicTest and PrivateTest splits with the maintained LiteRT interpreter
(``ai-edge-litert``) and timed at batch 1 on one thread, all formats interleaved in
one run so that a busy machine slows them alike.  One record per model lands in
``results/compression/<run-id>.json`` (its own schema version).

    python -m helpers.compression            # every model still without a record
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import models
from ._quiet import import_keras, import_tensorflow
from .data import FER2013, load_fer2013
from .records import (Record, encode_hits, fingerprint, load_records, results_dir,
                      write_json_atomic)

if TYPE_CHECKING:
    import keras

SCHEMA_VERSION = 3
FORMATS = ("keras_float32", "litert_float32", "litert_float16", "litert_dynamic_int8",
           "litert_int8")
TEST_SPLITS = ("public", "private")
CALIBRATION_IMAGES = 300
LATENCY_RUNS = 200
WARMUP_RUNS = 20


class ConversionError(RuntimeError):
    """A model that did not load or convert; the message names it and quotes the converter."""


def calibration_images(data: FER2013, n: int = CALIBRATION_IMAGES, seed: int = 0) -> np.ndarray:
    """A fixed random sample of training images (the full-integer model's calibration set)."""
    pick = np.random.default_rng(seed).choice(len(data.train), size=n, replace=False)
    return data.train.images[np.sort(pick)].astype(np.float32)


def float32_twin(model: keras.Model, record: Record) -> keras.Model:
    """The model computing in float32: LiteRT has no bfloat16 kernels, and a model trained in
    mixed bfloat16 keeps float32 weights, so its float32 build takes them unchanged."""
    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model
    keras = import_keras()
    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("float32")
    try:
        twin = models.build(record.family, record.knob)
    finally:
        keras.mixed_precision.set_global_policy(before)
    twin.set_weights(model.get_weights())
    return twin


CALM_RATIO = 20
CALM_AGREEMENT = 0.99


def calm_dead_channels(model: keras.Model) -> tuple[keras.Model, int]:
    """A copy of the model in which batch-norm channels that barely vary carry their layer's
    median multiplier, and how many channels changed.

    Where batch norm follows a ReLU, as in the HW3 listing, it cannot fold into the
    convolution and stays a multiply by gamma / sqrt(variance + epsilon).  A channel whose
    ReLU (nearly) died has a variance far below epsilon, so its multiplier is hundreds of
    times the live ones'; full-integer int8 stores all multipliers of a tensor with one scale
    and rounds every live channel's to zero.  Such a channel's input hardly leaves its mean,
    so a smaller multiplier leaves the float model's answers as they were (``compress``
    checks that on the calibration images).
    """
    keras = import_keras()
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    calmed = 0
    for layer in copy.layers:
        if not isinstance(layer, keras.layers.BatchNormalization) or layer.gamma is None:
            continue
        gamma, variance = layer.gamma.numpy(), layer.moving_variance.numpy()
        multiplier = np.abs(gamma) / np.sqrt(variance + layer.epsilon)
        typical = np.median(multiplier)
        dead = (multiplier > CALM_RATIO * typical) & (variance < layer.epsilon)
        if dead.any():
            gamma[dead] = np.sign(gamma[dead]) * typical * np.sqrt(variance[dead] + layer.epsilon)
            layer.gamma.assign(gamma)
            calmed += int(dead.sum())
    return copy, calmed


def export(model: keras.Model, fmt: str, calibration: np.ndarray) -> bytes:
    """One format's file contents."""
    tf = import_tensorflow()
    if fmt == "keras_float32":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            model.save(path)
            return path.read_bytes()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if fmt == "litert_float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif fmt == "litert_dynamic_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif fmt == "litert_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([image[None]] for image in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    elif fmt != "litert_float32":
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    return converter.convert()


class LiteRTModel:
    """A LiteRT flatbuffer behind one call: float pixels in, class scores out, quantising
    the input and reading int8 outputs as they are (argmax needs no dequantising)."""

    def __init__(self, content: bytes, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=content, num_threads=threads)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.batch = None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        if self.batch != len(images):
            self.interpreter.resize_tensor_input(self.input["index"], list(images.shape))
            self.interpreter.allocate_tensors()
            self.batch = len(images)
        scale, zero = self.input["quantization"]
        x = images.astype(np.float32)
        if self.input["dtype"] != np.float32:
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(self.input["dtype"])
        self.interpreter.set_tensor(self.input["index"], x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"])


def predictor(model: keras.Model, fmt: str, content: bytes) -> Callable[[np.ndarray], np.ndarray]:
    """Class scores from float pixels, for the Keras model or a LiteRT file."""
    if fmt == "keras_float32":
        tf = import_tensorflow()
        call = tf.function(lambda x: model(x, training=False))
        return lambda images: call(tf.constant(images, tf.float32)).numpy()
    return LiteRTModel(content)


def hits(predict: Callable, images: np.ndarray, labels: np.ndarray, batch: int = 256) -> np.ndarray:
    """Per-image correctness, batch by batch."""
    pred = np.concatenate([predict(images[i:i + batch].astype(np.float32)).argmax(axis=1)
                           for i in range(0, len(images), batch)])
    return pred == labels


def latencies(predictors: dict[str, Callable], image: np.ndarray, runs: int = LATENCY_RUNS,
              warmup: int = WARMUP_RUNS) -> dict[str, np.ndarray]:
    """Seconds per single-image call of each predictor, interleaved round by round."""
    x = image[None].astype(np.float32)
    for _ in range(warmup):
        for predict in predictors.values():
            predict(x)
    times = {name: np.empty(runs) for name in predictors}
    for i in range(runs):
        for name, predict in predictors.items():
            start = time.perf_counter()
            predict(x)
            times[name][i] = time.perf_counter() - start
    return times


def compress(record: Record, data: FER2013, out_dir: Path, runs: int = LATENCY_RUNS) -> dict:
    """Export, score and time every format of one trained model; returns its record."""
    keras = import_keras()
    weights = out_dir / record.weights
    try:
        model = float32_twin(keras.models.load_model(weights, compile=False), record)
    except Exception as exc:  # noqa: BLE001 - any loader failure is this model's problem
        raise ConversionError(f"{record.run_id}: {weights} did not load: {exc}") from None
    calibration = calibration_images(data)
    calm, calmed = calm_dead_channels(model)
    if calmed:
        agreement = float((calm.predict(calibration, verbose=0).argmax(1)
                           == model.predict(calibration, verbose=0).argmax(1)).mean())
        if agreement < CALM_AGREEMENT:
            raise ConversionError(f"{record.run_id}: calming {calmed} batch-norm channels for "
                                  f"int8 changed {1 - agreement:.1%} of the float model's "
                                  f"answers on the calibration images")
    formats, predictors = {}, {}
    for fmt in FORMATS:
        content = _convert(calm if fmt == "litert_int8" else model, fmt, calibration, record)
        predictors[fmt] = predictor(model, fmt, content)
        entry = {"bytes": len(content), "gzip_bytes": len(gzip.compress(content, 9))}
        for split in TEST_SPLITS:
            correct = hits(predictors[fmt], data[split].images, data[split].labels)
            entry[split] = float(correct.mean())
            entry[f"{split}_hits"] = encode_hits(correct)
        formats[fmt] = entry
    formats["litert_int8"]["calmed_channels"] = calmed
    if calmed:  # what the same conversion scores without the calming step
        plain = LiteRTModel(_convert(model, "litert_int8", calibration, record))
        formats["litert_int8"]["uncalmed_private"] = float(
            hits(plain, data.private.images, data.private.labels).mean())
    timed = latencies(predictors, data.private.images[0], runs=runs)
    for fmt, seconds in timed.items():
        formats[fmt]["latency_ms_median"] = float(np.median(seconds) * 1000)
        formats[fmt]["latency_ms_p90"] = float(np.percentile(seconds, 90) * 1000)
    tf = import_tensorflow()
    return {"schema_version": SCHEMA_VERSION, "run_id": record.run_id,
            "record_fingerprint": fingerprint(record), "family": record.family,
            "params": record.params, "weights": record.weights,
            "training_private": record.accuracy("private"), "calibration_images":
            len(calibration), "latency_runs": runs, "litert_threads": 1,
            "keras_threads": tf.config.threading.get_intra_op_parallelism_threads() or 0,
            "formats": formats,
            "versions": {"tensorflow": tf.__version__, "ai_edge_litert": _litert_version()}}


def _convert(model, fmt: str, calibration: np.ndarray, record: Record) -> bytes:
    try:
        return export(model, fmt, calibration)
    except Exception as exc:  # noqa: BLE001 - the converter's own message is the report
        first = next((line for line in str(exc).splitlines() if line.strip()), repr(exc))
        raise ConversionError(f"{record.run_id}: {fmt} conversion failed: {first}") from None


def _litert_version() -> str:
    from importlib.metadata import version
    return version("ai-edge-litert")


def record_path(run_id: str, out_dir: Path | None = None) -> Path:
    """Where a model's compression record lives."""
    return Path(out_dir or results_dir()) / "compression" / f"{run_id}.json"


def read(path: Path) -> dict:
    """One compression record; an unreadable file or another schema version is refused by name."""
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a compression record ({exc}); restore it with git or "
                         "delete it and run python -m helpers.compression") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(values).__name__}")
    if values.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version {values.get('schema_version')!r} is not "
                         f"{SCHEMA_VERSION}; delete it and run python -m helpers.compression")
    return values


def load(records: list[Record], out_dir: Path | None = None) -> list[dict]:
    """The compression records of ``records``, each measured on the training it names: one
    made from an earlier training of the same run id (another record fingerprint) is left
    out, and its model counts as unmeasured until it is measured again."""
    out_dir = Path(out_dir or results_dir())
    measured = []
    for record in records:
        path = record_path(record.run_id, out_dir)
        if path.exists() and (values := read(path)).get("record_fingerprint") == fingerprint(record):
            measured.append(values)
    return measured


def unmeasured(records: list[Record], out_dir: Path | None = None) -> list[tuple[Record, bool]]:
    """Trained models without a current compression record, each with whether its weights
    are kept here (measurable now) or not (it cannot be exported without retraining)."""
    out_dir = Path(out_dir or results_dir())
    measured = {m["run_id"] for m in load(records, out_dir)}
    return [(r, bool(r.weights) and (out_dir / r.weights).exists()) for r in records
            if r.run_id not in measured]


def pending(records: list[Record], out_dir: Path) -> list[Record]:
    """Trained models with kept weights on this machine and no compression record."""
    return [r for r, kept in unmeasured(records, out_dir) if kept]


def run(out_dir: Path | None = None, data: FER2013 | None = None, only: list[str] | None = None,
        runs: int = LATENCY_RUNS) -> tuple[list[str], dict[str, str]]:
    """Measure every pending model; returns those done and the failures by run id."""
    from tqdm.auto import tqdm

    from .training import set_threads

    try:
        set_threads(1)  # the Keras model's latency at one thread too
    except RuntimeError:
        pass  # TensorFlow already started in this process: its threads are recorded as they are
    out_dir = Path(out_dir or results_dir())
    todo = [r for r in pending(load_records(out_dir), out_dir) if not only or r.run_id in only]
    done, failed = [], {}
    if not todo:
        return done, failed
    data = data or load_fer2013()
    for record in tqdm(todo, desc="compression", unit="model"):
        try:
            result = compress(record, data, out_dir, runs=runs)
        except ConversionError as exc:
            failed[record.run_id] = str(exc)
            tqdm.write(f"FAILED {exc}")
            continue
        write_json_atomic(record_path(record.run_id, out_dir), result)
        done.append(record.run_id)
    return done, failed


def main(argv: list[str] | None = None) -> int:
    """The command line: measure every model without a compression record."""
    parser = argparse.ArgumentParser(prog="python -m helpers.compression", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="default: results/")
    parser.add_argument("--only", nargs="+", metavar="RUN_ID")
    parser.add_argument("--runs", type=int, default=LATENCY_RUNS,
                        help=f"timed single-image calls per format (default {LATENCY_RUNS})")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    done, failed = run(args.out, only=args.only, runs=args.runs)
    print(f"{len(done)} measured, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
