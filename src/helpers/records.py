"""The record a finished run leaves in ``results/<run-id>.json``, read and written here only.

A record keeps what the analysis needs and nothing of the data set itself:
per split the accuracy, the confusion matrix, and a string of per-image
hits (``"1"`` correct, ``"0"`` wrong, in the split's file order) so two models
can be compared image by image (a paired error), once in a single pass and
once with test-time flip averaging.  Labels and predictions stay out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_path
from .config import TrainConfig
from .data import PROJECT_ROOT

SCHEMA_VERSION = 1
RESULTS_DIR = PROJECT_ROOT / "results"
SCORED_SPLITS = ("val", "public", "private")
# Weights of models up to this size are committed; larger ones stay on the machine.
MAX_COMMITTED_PARAMS = 1_000_000


def results_dir() -> Path:
    """``$FER_RESULTS_DIR`` or ``results/`` in the project."""
    return Path(os.environ.get("FER_RESULTS_DIR") or RESULTS_DIR)


def write_json_atomic(path: Path, payload: Any) -> None:
    """JSON through ``atomic_path``: a crash leaves the old file or the new one."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                       encoding="utf-8")


def encode_hits(hits: np.ndarray) -> str:
    """Per-image correctness as a string of ``0``/``1``, one character an image."""
    return "".join("1" if h else "0" for h in np.asarray(hits, dtype=bool))


def decode_hits(text: str) -> np.ndarray:
    """The inverse of :func:`encode_hits`."""
    if set(text) - {"0", "1"}:
        raise ValueError("hits must be a string of 0 and 1")
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8) == ord("1")


@dataclass(frozen=True)
class Score:
    """One model on one split: one pass, and with test-time flip averaging."""

    accuracy: float
    n: int
    confusion_matrix: list[list[int]]
    hits: str
    flip_accuracy: float
    flip_hits: str

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """Recall of each class (row-normalised diagonal of the confusion matrix)."""
        cm = np.asarray(self.confusion_matrix, dtype=float)
        return cm.diagonal() / np.maximum(cm.sum(axis=1), 1)


@dataclass(frozen=True)
class Record:
    """A finished run: its config, the model it built, how it trained and how it scored."""

    config: TrainConfig
    knob: float
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    epochs_run: int
    best_epoch: int
    history: dict[str, list[float]]
    train_seconds: float
    images_per_second: float
    device: str
    threads: int
    versions: dict[str, str]
    data_sha256: str
    scores: dict[str, Score]
    weights: str = ""
    teacher_fingerprint: str = ""
    schema_version: int = SCHEMA_VERSION

    @property
    def run_id(self) -> str:
        """The record's name: its config's run id."""
        return self.config.run_id

    @property
    def family(self) -> str:
        """The config's family, for tables."""
        return self.config.family

    def accuracy(self, split: str, flip: bool = False) -> float:
        """One-pass (or flip-averaged) accuracy on ``val``, ``public`` or ``private``."""
        score = self.scores[split]
        return score.flip_accuracy if flip else score.accuracy

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, the config and scores nested."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["config"] = self.config.to_dict()
        d["scores"] = {k: dataclasses.asdict(v) for k, v in self.scores.items()}
        d["run_id"] = self.run_id
        return d

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "record") -> Record:
        """A record from JSON values; another schema version or a missing field is
        refused by name (retrain the point: no record is migrated in place)."""
        if not isinstance(values, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(values).__name__}")
        version = values.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"{where}: schema_version {version!r} is not {SCHEMA_VERSION}, the "
                             "one this code reads; delete the record and train its point again")
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - set(values))
        if missing:
            raise ValueError(f"{where}: missing field(s) {missing}")
        try:
            fields_ = {k: values[k] for k in names if k in values}
            fields_["config"] = TrainConfig.from_dict(values["config"], f"{where}, config")
            fields_["scores"] = {k: Score(**v) for k, v in values["scores"].items()}
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"{where}: malformed field ({exc})") from None
        if set(fields_["scores"]) != set(SCORED_SPLITS):
            raise ValueError(f"{where}: scores must cover {SCORED_SPLITS}, "
                             f"got {sorted(fields_['scores'])}")
        run_id = values.get("run_id")
        record = cls(**fields_)
        if run_id is not None and run_id != record.run_id:
            raise ValueError(f"{where}: run_id {run_id!r} does not match its config "
                             f"({record.run_id!r})")
        return record


def fingerprint(record: Record) -> str:
    """A short hash of a whole record: another training of a teacher, another fingerprint,
    so that its students know when their soft labels are out of date."""
    text = json.dumps(record.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def teacher_fingerprint(records: list[Record]) -> str:
    """A teacher's members' fingerprints joined by ``+``: any retrained member changes it."""
    return "+".join(fingerprint(r) for r in records)


def record_path(run_id: str, directory: Path | None = None) -> Path:
    """Where a run's record lives."""
    return Path(directory or results_dir()) / f"{run_id}.json"


def write_record(record: Record, directory: Path | None = None) -> Path:
    """Write a record atomically; returns its path."""
    path = record_path(record.run_id, directory)
    write_json_atomic(path, record.to_dict())
    return path


def read_record(path: str | os.PathLike) -> Record:
    """One record; an unreadable file is refused with its name and what to do."""
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a run record ({exc}); restore it with git or delete it "
                         "to train the point again") from None
    record = Record.from_dict(values, str(path))
    if path.stem != record.run_id:
        raise ValueError(f"{path}: holds the record of {record.run_id!r}, not {path.stem!r}")
    return record


def load_records(directory: Path | None = None) -> list[Record]:
    """Every record in the results folder, sorted by run id."""
    return [read_record(p) for p in sorted(Path(directory or results_dir()).glob("*.json"))]


def weights_file(run_id: str, params: int, directory: Path | None = None) -> Path:
    """Where a run's Keras model goes: ``weights/`` (committed) up to
    ``MAX_COMMITTED_PARAMS`` parameters, else ``local_weights/`` (kept on this machine)."""
    kept = "weights" if params <= MAX_COMMITTED_PARAMS else "local_weights"
    return Path(directory or results_dir()) / kept / f"{run_id}.keras"
