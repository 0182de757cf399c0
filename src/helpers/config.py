"""The one list of training settings, and the study's plan of points in ``sweep.yml``.

A point is a :class:`TrainConfig`; its ``run_id`` names its record, notebook and
weights.  ``sweep.yml`` lists families x target counts x seeds with settings
over the file's ``defaults``; :func:`load_plan` turns it into configs, and
:func:`resolve` gives the training notebook its config from one parameter (a run
id of the plan, or the config as JSON).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .data import PROJECT_ROOT
from .families import FAMILIES

SWEEP_FILE = PROJECT_ROOT / "sweep.yml"
PRECISIONS = ("float32", "mixed_bfloat16")
OPTIMIZERS = ("adamw", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run; two runs with equal configs are the same run.

    ``ablation`` names a variant kept off the curves (a longer schedule,
    distillation); ``""`` for a curve point.  ``teacher`` is the run id whose
    soft labels the model also learns from, or several joined by ``+`` (an ensemble: their
    probabilities averaged).  ``teacher_views`` > 0 computes the soft labels once on that many
    fixed augmented views of each training image, which the student then trains on
    (teacher and student see the same view); 0 uses the un-augmented images.  ``limit``
    trains on the first ``limit`` training images (tests only).  ``shift`` (fraction of the side), ``rotation``
    (degrees) and ``zoom`` set the augmentation's strength when ``augment`` is on.
    ``optimizer`` is AdamW or SGD with Nesterov momentum 0.9 (both decoupled weight decay);
    ``label_smoothing`` moves that share of each one-hot label evenly onto all classes.
    """

    family: str
    target_params: int
    seed: int = 0
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    warmup_epochs: int = 2
    augment: bool = True
    shift: float = 0.1
    rotation: float = 10.0
    zoom: float = 0.1
    precision: str = "float32"
    optimizer: str = "adamw"
    label_smoothing: float = 0.0
    teacher: str = ""
    teacher_views: int = 0
    ablation: str = ""
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        for name, least in (("target_params", 1), ("seed", 0), ("epochs", 1),
                            ("batch_size", 1), ("warmup_epochs", 0), ("teacher_views", 0)):
            _check_int(name, getattr(self, name), least)
        if self.limit is not None:
            _check_int("limit", self.limit, 1)
        for name in ("learning_rate", "weight_decay", "shift", "rotation", "zoom"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
                    or (name == "learning_rate" and value == 0):
                raise ValueError(f"{name} must be a number of at least 0 (above 0 for "
                                 f"learning_rate), got {value!r}")
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment must be true or false, got {self.augment!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        smoothing = self.label_smoothing
        if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) \
                or not 0 <= smoothing < 1:
            raise ValueError(f"label_smoothing must be a number in [0, 1), got {smoothing!r}")
        if smoothing and self.teacher:
            raise ValueError("label_smoothing and teacher cannot both be set: a distilled "
                             "student's soft targets already spread the labels")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        for name in ("teacher", "ablation"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string, got {getattr(self, name)!r}")
        if self.teacher_views and not self.teacher:
            raise ValueError("teacher_views needs a teacher: the views are the teacher's")
        if self.teacher and not all(self.teachers):
            raise ValueError(f"teacher must be run ids joined by '+', got {self.teacher!r}")
        if self.ablation and not self.ablation.replace("_", "").isalnum():
            raise ValueError(f"ablation must be a short name of letters, digits and _, "
                             f"got {self.ablation!r}")

    @property
    def teachers(self) -> tuple[str, ...]:
        """The teacher's run ids: one, or the members of an ensemble."""
        return tuple(self.teacher.split("+")) if self.teacher else ()

    @property
    def run_id(self) -> str:
        """``<family>-<target>-s<seed>[-<ablation>]``: the point's name in ``results/``."""
        rid = f"{self.family}-{self.target_params}-s{self.seed}"
        return f"{rid}-{self.ablation}" if self.ablation else rid

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values (what a record keeps)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """One line of JSON: the training notebook's ``config`` parameter."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "config") -> TrainConfig:
        """A config from plain values; unknown names are refused by name."""
        if not isinstance(values, dict):
            raise ValueError(f"{where}: expected a mapping of settings, got {values!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{where}: unknown setting(s) {unknown}; known: {sorted(known)}")
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class RunId:
    """A run id read back into its parts (``TrainConfig.run_id`` writes them)."""

    family: str
    target_params: int
    seed: int
    ablation: str = ""


def parse_run_id(run_id: str) -> RunId:
    """``<family>-<target>-s<seed>[-<ablation>]`` into its parts; anything else is refused
    by name."""
    match = re.fullmatch(r"(?P<family>[a-z0-9_]+)-(?P<target>\d+)-s(?P<seed>\d+)"
                         r"(?:-(?P<ablation>.+))?", run_id)
    if match is None or match["family"] not in FAMILIES:
        raise ValueError(f"{run_id!r} is not a run id: expected <family>-<parameters>-s<seed>"
                         f"[-<ablation>] with a family of {FAMILIES}")
    return RunId(match["family"], int(match["target"]), int(match["seed"]),
                 match["ablation"] or "")


def _check_int(name: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be a whole number of at least {least}, got {value!r}")


def sweep_file() -> Path:
    """``$FER_SWEEP_FILE`` or the project's ``sweep.yml``."""
    return Path(os.environ.get("FER_SWEEP_FILE") or SWEEP_FILE)


def load_plan(path: str | os.PathLike | None = None) -> list[TrainConfig]:
    """Every point of ``sweep.yml``, in its order; an error names the entry at fault."""
    path = Path(path or sweep_file())
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no plan at {path}: the study's points live in sweep.yml") \
            from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("points"), list):
        raise ValueError(f"{path}: expected a mapping with a 'points' list")
    defaults = spec.get("defaults") or {}
    plan: dict[str, TrainConfig] = {}
    for i, entry in enumerate(spec["points"], start=1):
        where = f"{path}, point {i}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping, got {entry!r}")
        extra = sorted(set(entry) - {"family", "targets", "seeds", "settings"})
        if extra:
            raise ValueError(f"{where}: unknown key(s) {extra}; expected family, targets, "
                             "seeds and settings")
        targets, seeds = entry.get("targets"), entry.get("seeds", [0])
        if not isinstance(targets, list) or not targets or not isinstance(seeds, list) or not seeds:
            raise ValueError(f"{where}: 'targets' and 'seeds' must be non-empty lists")
        for target in targets:
            for seed in seeds:
                values = {**defaults, **(entry.get("settings") or {}),
                          "family": entry.get("family"), "target_params": target, "seed": seed}
                config = TrainConfig.from_dict(values, where)
                if config.run_id in plan:
                    raise ValueError(f"{where}: {config.run_id} is listed twice")
                plan[config.run_id] = config
    for config in plan.values():
        for teacher in config.teachers:
            if teacher not in plan:
                raise ValueError(f"{path}: {config.run_id}'s teacher {teacher!r} is not a "
                                 "point of the plan")
    return list(plan.values())


def resolve(config: str, plan: list[TrainConfig] | None = None) -> TrainConfig:
    """The training notebook's one parameter: a run id of the plan, or a config as JSON."""
    text = config.strip()
    if text.startswith("{"):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"config is not valid JSON: {exc}") from None
        return TrainConfig.from_dict(values)
    by_id = {c.run_id: c for c in (plan if plan is not None else load_plan())}
    if text not in by_id:
        raise ValueError(f"{text!r} is not a point of {sweep_file()}; give one of its run ids "
                         f"(python -m helpers.sweep --dry-run lists them) or a JSON config")
    return by_id[text]
