"""Where results live and how they are written: atomically, never half-done."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_path
from .data import PROJECT_ROOT

RESULTS_DIR = PROJECT_ROOT / "results"


def results_dir() -> Path:
    """``$FER_RESULTS_DIR`` or ``results/`` in the project."""
    return Path(os.environ.get("FER_RESULTS_DIR") or RESULTS_DIR)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON so that a crash leaves the old file or the new one, never half of one."""
    text = json.dumps(payload, indent=1, ensure_ascii=False, sort_keys=True)
    write_text_atomic(path, text + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text through ``atomic_path``: the old file or the new one, never half."""
    with atomic_path(path, allow_empty=True) as tmp:
        tmp.write_text(text, encoding="utf-8")


# Settings added after the first results, with their defaults: a run's settings
# leave them out at the default, so the runs recorded before them keep their hash.
LATER_SETTINGS = {"precision": "float32", "teacher": ""}


def weights_path(record: dict, out_dir: Path) -> Path | None:
    """A run's saved model: its committed weights, else its machine-local ones
    when they are on this machine, else None."""
    if record.get("weights"):
        return Path(out_dir) / record["weights"]
    local = record.get("local_weights")
    return Path(out_dir) / local if local and (Path(out_dir) / local).exists() else None


def config_hash(config: dict) -> str:
    """A short, stable hash of a run's settings (what makes two runs the same)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_id(family: str, target_params: int, seed: int, tag: str = "") -> str:
    """``<family>-<target>-s<seed>[-<tag>]``: readable and unique per sweep point."""
    rid = f"{family}-{int(target_params)}-s{int(seed)}"
    return f"{rid}-{tag}" if tag else rid


def load_records(directory: Path | None = None) -> list[dict]:
    """Every finished run record (``*.json``) in the results folder."""
    directory = Path(directory or results_dir())
    records = []
    for path in sorted(directory.glob("*.json")):
        try:
            with open(path, encoding="utf-8") as fh:
                record = json.load(fh)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a run record ({exc}); restore it with "
                             f"`git checkout -- {path.name}` in its folder, or delete it "
                             "to train the point again") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}: not a run record (expected a JSON object, "
                             f"got {type(record).__name__})")
        record.setdefault("run_id", path.stem)
        records.append(record)
    return records


def encode_classes(classes: np.ndarray) -> str:
    """Class indices 0-9 as a digit string: one character an image, compact in JSON."""
    classes = np.asarray(classes, dtype=np.uint8)
    if classes.size and classes.max() > 9:
        raise ValueError(f"class index {int(classes.max())} does not fit one digit")
    return (classes + ord("0")).tobytes().decode("ascii")


def decode_classes(text: str) -> np.ndarray:
    """The inverse of :func:`encode_classes`."""
    digits = np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")
    if digits.size and digits.max() > 9:
        raise ValueError("not a digit string of class indices")
    return digits.astype(np.int64)
