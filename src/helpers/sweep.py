"""Run every budget point of ``sweep.yml`` through the training notebook.

Each point is one papermill execution of ``book/runs/train.md`` (read with
jupytext).  A point whose ``results/<run-id>.json`` exists with the same config
hash is skipped; an interrupted one resumes from its last finished epoch
(``BackupAndRestore`` in the notebook).  Points run on dask.distributed: a
``LocalCluster`` sized to this machine, or an existing scheduler with
``--scheduler``.  A failed point is reported with the path of its failed
notebook and does not stop the others.

    python -m helpers.sweep                 # every point in sweep.yml
    python -m helpers.sweep --only 'mobilenet-*' --dry-run
    python -m helpers.sweep --quick         # tiny runs, for tests
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import notebooks
from .data import PROJECT_ROOT, resolve_path
from .results import results_dir, run_id
from .training import TrainConfig

SWEEP_FILE = PROJECT_ROOT / "sweep.yml"
NOTEBOOK = PROJECT_ROOT / "book" / "runs" / "train.md"
QUICK = {"epochs": 1, "limit": 256, "patience": 1, "tag": "quick"}
# What sweep.yml may set per point: everything but a point's identity.
SETTINGS = frozenset(TrainConfig.__dataclass_fields__) - {"extra", "family", "target_params", "seed"}
DEFAULT_WORKERS, DEFAULT_THREADS = 2, 1  # measured faster than 1x2 here (see README)


@dataclass
class Point:
    """One run of the sweep: what dask schedules and the summary names."""

    config: TrainConfig

    @property
    def run_id(self) -> str:
        """The point's run id (its record is ``results/<run_id>.json``)."""
        return self.config.run_id


def _read_spec(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def recipe_settings(path: Path = SWEEP_FILE) -> dict:
    """The settings every sweep point shares (``defaults`` in ``sweep.yml``)."""
    return dict(_read_spec(path).get("defaults", {}))


def _as_bool(value) -> bool:
    """A setting's truth value; strings from a command line mean what they say."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"expected a boolean (true/false), got {value!r}")
        return lowered in ("true", "1", "yes")
    return bool(value)


def _as_int(value) -> int:
    """A whole number; 2.5 is refused, not rounded down."""
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value} is not a whole number")
    return int(value)


_SETTING_TYPES = {"epochs": _as_int, "batch_size": _as_int, "learning_rate": float,
                  "augment": _as_bool,
                  "patience": _as_int, "limit": _as_int, "tag": str, "precision": str, "teacher": str}


def config_for(family: str, target_params: int, seed: int = 0, *,
               sweep_file: Path = SWEEP_FILE, **settings) -> TrainConfig:
    """A point's config: its settings in the sweep, overridden by any setting not None.

    The base is the matching point of ``sweep.yml`` (same run id, so a tagged
    recipe variant keeps its own settings), or the shared ``defaults`` for a
    point the sweep does not list.  The training notebook builds its config
    here, so a point rerun by hand with papermill gets the same settings (and
    config hash) as the sweep's run of it.
    """
    chosen = {k: v for k, v in settings.items() if v is not None}
    unknown = set(chosen) - SETTINGS
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; expected some of {sorted(SETTINGS)}")
    target_params, seed = _typed("target_params", target_params), _typed("seed", seed)
    rid = run_id(family, target_params, seed, str(chosen.get("tag", "")))
    spec = _read_spec(sweep_file)
    base = dict(spec.get("defaults", {}))
    for point in _expand(spec, sweep_file):
        if point.run_id == rid:
            base = {k: v for k, v in point.config.settings().items() if k in SETTINGS}
            break
    merged = {**base, **chosen}
    typed = {k: _typed(k, v) for k, v in merged.items()}
    return TrainConfig(family=family, target_params=target_params, seed=seed, **typed)


def _typed(name: str, value):
    """A setting as its type (papermill and YAML may give text); a bad one is named."""
    convert = {"target_params": _as_int, "seed": _as_int, **_SETTING_TYPES}.get(name)
    if convert is None or value is None:
        return value
    try:
        return convert(value)
    except (TypeError, ValueError) as exc:
        kind = {_as_int: "a whole number", float: "a number", _as_bool: "true or false",
                str: "text"}[convert]
        raise ValueError(f"setting {name!r}: expected {kind}, got {value!r} ({exc})") from None


def load_points(path: Path = SWEEP_FILE, quick: bool = False) -> list[Point]:
    """Expand ``sweep.yml`` (families x targets x seeds, with settings) into points."""
    return _expand(_read_spec(path), path, quick)


def _expand(spec: dict, path: Path, quick: bool = False) -> list[Point]:
    defaults = spec.get("defaults", {})
    points, seen = [], set()
    for i, entry in enumerate(spec.get("points", []), start=1):
        missing = {"family", "targets", "seeds"} - set(entry)
        if missing:
            raise ValueError(f"{path}: point {i}: missing {sorted(missing)}; "
                             "expected family, targets and seeds")
        settings = {**defaults, **entry.get("settings", {})}
        unknown = set(settings) - SETTINGS
        if unknown:
            raise ValueError(f"{path}: point {i}: unknown setting(s) {sorted(unknown)}; "
                             f"expected some of {sorted(SETTINGS)}")
        if quick:
            settings.update(QUICK)
        try:  # typed once per entry, as a command line's would be: YAML reads 3e-3 as text
            settings = {k: _typed(k, v) for k, v in settings.items()}
        except ValueError as exc:
            raise ValueError(f"{path}: point {i}: {exc}") from exc
        for target in entry["targets"]:
            for seed in entry["seeds"]:
                try:
                    config = TrainConfig(
                        family=entry["family"], target_params=_typed("target_params", target),
                        seed=_typed("seed", seed), **settings)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{path}: point {i}: {exc}") from exc
                if config.run_id in seen:
                    continue
                seen.add(config.run_id)
                points.append(Point(config))
    listed = [p.run_id for p in points]
    for k, p in enumerate(points):
        teacher = p.config.teacher
        if teacher == p.run_id:
            raise ValueError(f"{path}: {p.run_id} names itself as its teacher")
        if teacher and teacher in listed and listed.index(teacher) > k:
            raise ValueError(f"{path}: {p.run_id} learns from {teacher}, which is listed after "
                             "it; list a teacher before its students")
    return points


def own_settings(path: Path = SWEEP_FILE) -> dict[str, dict]:
    """Each point that departs from the shared ``defaults``: run id -> its own settings."""
    defaults = {**TrainConfig().settings(), **recipe_settings(path)}
    table = {}
    for point in load_points(path):
        changed = {k: v for k, v in point.config.settings().items()
                   if k in SETTINGS and v != defaults.get(k)}
        if changed:
            table[point.run_id] = changed
    return table


def is_done(point: Point, out_dir: Path) -> bool:
    """Finished with the same settings (config hash) as asked now, or with a
    shorter patience that never fired (``TrainConfig.is_result``), and a student
    from the teacher run that is recorded now."""
    def recorded(run_id: str) -> dict:
        path = out_dir / f"{run_id}.json"
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            warnings.warn(f"{path}: not a readable run record ({exc}); the sweep moves it to "
                          f"{unreadable_name(path).name} and trains this point again",
                          stacklevel=2)
            return {}

    record = recorded(point.run_id)
    if not point.config.is_result(record):
        return False
    teacher = point.config.teacher
    return not teacher or recorded(teacher).get("config_hash") == record.get("teacher_config_hash")


def unreadable_name(record: Path) -> Path:
    """Where a record that cannot be read is kept, out of the ``*.json`` globs."""
    return record.with_name(record.name + ".unreadable")


def set_aside_unreadable(record: Path) -> Path | None:
    """Move an unreadable record aside before its point is trained again, so the
    retrained run's record does not destroy it (it may be mendable by hand)."""
    try:
        json.loads(record.read_text())
        return None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        kept = unreadable_name(record)
        os.replace(record, kept)
        return kept


def run_point(point: Point, out_dir: str, data_path: str | None = None,
              threads: int | None = None, after: dict | None = None) -> dict:
    """Execute the training notebook for one point; never raises.

    The executed notebook lands in ``results/notebooks/<run-id>.ipynb`` only on
    success (written beside it and renamed); a failure leaves it in
    ``results/failed/<run-id>.ipynb`` and returns its path.  ``after`` is the
    summary of the point's teacher when the same sweep trains it (dask passes
    it once that run is over); a failed teacher fails the student unrun.
    """
    import jupytext
    import papermill

    if after is not None and after.get("status") != "done":
        return {"run_id": point.run_id, "status": "failed", "notebook": "", "seconds": 0.0,
                "error": f"its teacher {after.get('run_id')} did not finish: "
                         f"{after.get('error', after.get('status'))}"}

    out = Path(out_dir)
    final = out / "notebooks" / f"{point.run_id}.ipynb"
    failed = out / "failed" / f"{point.run_id}.ipynb"
    partial = out / "notebooks" / f".{point.run_id}.partial.ipynb"
    partial.parent.mkdir(parents=True, exist_ok=True)
    c = point.config
    parameters = {
        "family": c.family, "target_params": c.target_params, "seed": c.seed,
        "epochs": c.epochs, "batch_size": c.batch_size, "learning_rate": c.learning_rate,
        "augment": c.augment, "patience": c.patience, "limit": c.limit, "tag": c.tag,
        "precision": c.precision, "teacher": c.teacher,
        "data_path": data_path, "out_dir": str(out), "threads": threads,
    }
    start = time.perf_counter()
    try:
        notebook = jupytext.read(NOTEBOOK)
        template = notebooks.template_notebook()  # what the run's code is compared with
        papermill.execute_notebook(notebook, str(partial), parameters=parameters,
                                   kernel_name="python3", progress_bar=False,
                                   cwd=str(PROJECT_ROOT), log_output=False)
        record = json.loads((out / f"{point.run_id}.json").read_text())
        try:  # hours of training must not be lost to a wording step
            notebooks.describe_file(partial, record, template)
        except Exception as exc:  # noqa: BLE001
            print(f"{point.run_id}: notebook kept with the template's introduction "
                  f"({_error_line(exc)}); scripts/describe_notebooks.py can redo it", file=sys.stderr)
        os.replace(partial, final)
        return {"run_id": point.run_id, "status": "done", "notebook": str(final),
                "seconds": time.perf_counter() - start,
                "params": record["params"]["total"],
                "private": record["private_accuracy"], "public": record["public_accuracy"]}
    except BaseException as exc:  # noqa: BLE001 — one bad point must not stop the sweep
        failed.parent.mkdir(parents=True, exist_ok=True)
        if partial.exists():
            os.replace(partial, failed)
        return {"run_id": point.run_id, "status": "failed", "notebook": str(failed),
                "seconds": time.perf_counter() - start, "error": _error_line(exc)[:500],
                "traceback": traceback.format_exc(limit=3)}


def _error_line(exc: BaseException) -> str:
    """The error a notebook raised, as one line: its type and the first line of its message.

    The first line names the problem (a missing data file, a bad setting); the
    last line of papermill's text is often the message's closing sentence.
    """
    name, text = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if name is None:
        name, text = type(exc).__name__, str(exc)
    first = next((line for line in str(text).strip().splitlines() if line.strip()), "")
    return f"{name}: {first}" if first else name


def run_sweep(points: list[Point], out_dir: Path, *, workers: int = DEFAULT_WORKERS,
              threads: int = DEFAULT_THREADS, scheduler: str | None = None,
              data_path: str | None = None) -> list[dict]:
    """Run the points that are not done on a dask cluster; a summary row each.

    Dask spreads the points over workers (one core each by default) and lets
    ``--scheduler`` put them on other machines; a student waits for its teacher.
    """
    from dask.distributed import Client, LocalCluster, as_completed
    from tqdm.auto import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    todo, retrained = [], set()
    for p in points:  # a teacher trained again retrains its students after it
        if not is_done(p, out_dir) or p.config.teacher in retrained:
            todo.append(p)
            retrained.add(p.run_id)
    summary = [{"run_id": p.run_id, "status": "skipped (done)"} for p in points if p not in todo]
    if not todo:
        return summary
    for p in todo:
        if kept := set_aside_unreadable(out_dir / f"{p.run_id}.json"):
            print(f"{p.run_id}: its unreadable record is kept as {kept}", file=sys.stderr)
    if scheduler:
        client, cluster = Client(scheduler), None
    else:
        import dask

        # One task per worker at a time, so the next point is always the
        # highest-priority one left (dask otherwise queues a second on each worker).
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, memory_limit=0)
        client = Client(cluster)
    try:
        # Higher priority first: points run in the order sweep.yml lists them.
        # A student waits for its teacher's run (load_points lists teachers first).
        by_run_id: dict = {}
        for i, p in enumerate(todo):
            by_run_id[p.run_id] = client.submit(
                run_point, p, str(out_dir), data_path, threads, by_run_id.get(p.config.teacher),
                key=f"train-{p.run_id}", pure=False, priority=len(todo) - i)
        futures = list(by_run_id.values())
        for future in tqdm(as_completed(futures), total=len(futures), desc="sweep", unit="point"):
            result = future.result()
            summary.append(result)
            if result["status"] == "failed":
                tqdm.write(f"FAILED {result['run_id']}: {result['error']}"
                           + (f"\n  notebook: {result['notebook']}" if result["notebook"] else ""))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return summary


def format_summary(summary: list[dict]) -> str:
    """The sweep's summary as a table, failures with their notebook to open."""
    import pandas as pd

    if not summary:
        return "no points"
    table = pd.DataFrame(summary)
    columns = [c for c in ("run_id", "status", "params", "public", "private", "seconds",
                           "notebook") if c in table]
    return table[columns].to_string(index=False)


def _positive_int(text: str) -> int:
    value = int(text) if text.strip().lstrip("-").isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """The command line: list, filter and run the sweep's points; 1 if any point failed."""
    parser = argparse.ArgumentParser(prog="python -m helpers.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep-file", type=Path, default=SWEEP_FILE)
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="results folder (default: results/ or $FER_RESULTS_DIR)")
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN",
                        help="run ids to run (shell pattern, repeatable), e.g. 'mobilenet-*'")
    parser.add_argument("--dry-run", action="store_true", help="list the points, run nothing")
    parser.add_argument("--quick", action="store_true",
                        help=f"tiny runs ({QUICK}), for tests")
    parser.add_argument("--scheduler", default=None, help="address of an existing dask scheduler")
    parser.add_argument("--workers", type=_positive_int, default=DEFAULT_WORKERS,
                        help=f"training processes side by side (default {DEFAULT_WORKERS})")
    parser.add_argument("--threads", type=_positive_int, default=DEFAULT_THREADS,
                        help=f"TensorFlow threads per worker (default {DEFAULT_THREADS})")
    parser.add_argument("--data-path", default=None)
    args = parser.parse_args(argv)

    points = load_points(args.sweep_file, quick=args.quick)
    if args.only:
        unmatched = [pat for pat in args.only
                     if not any(fnmatch.fnmatch(p.run_id, pat) for p in points)]
        if unmatched:
            parser.error(f"--only {' '.join(unmatched)}: matches no point of {args.sweep_file} "
                         "(list them with --dry-run)")
        points = [p for p in points if any(fnmatch.fnmatch(p.run_id, pat) for pat in args.only)]
    out_dir = Path(args.out_dir or results_dir())
    if args.data_path:  # the notebooks run in the project root: resolve it from here first
        args.data_path = str(Path(args.data_path).resolve())
    if args.dry_run:
        for p in points:
            state = "done" if is_done(p, out_dir) else "todo"
            print(f"{state:5s} {p.run_id}  epochs={p.config.epochs} limit={p.config.limit}")
        return 0
    if not args.scheduler and not all(is_done(p, out_dir) for p in points):
        try:  # before starting a cluster: every point would fail on it
            resolve_path(args.data_path)
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 2
    summary = run_sweep(points, out_dir, workers=args.workers, threads=args.threads,
                        scheduler=args.scheduler, data_path=args.data_path)
    print(format_summary(summary))
    return 1 if any(r["status"] == "failed" for r in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
