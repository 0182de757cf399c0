"""Train every point of ``sweep.yml`` that has no current result, through the training notebook.

Each point is one papermill run of ``book/runs/train.md`` with the point's
config as its one parameter; the executed notebook is written under a
temporary name and renamed into ``results/notebooks/`` when the run has
finished.  A point is current when its record holds the same config (and, for a
distilled student, was trained after its teacher's record).  Points run on
dask.distributed: a ``LocalCluster`` sized by ``--workers`` and ``--threads``, or
an existing scheduler.  A failed point is reported with its notebook's path and
does not stop the others.

    python -m helpers.sweep --dry-run            # what is done, what is not
    python -m helpers.sweep --only 'mobilenet-*' # a subset, by run id pattern
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
import time
import traceback
from pathlib import Path

from .config import TrainConfig, load_plan, sweep_file
from .data import PROJECT_ROOT, resolve_path
from .records import Record, read_record, record_path, results_dir, teacher_fingerprint

NOTEBOOK = PROJECT_ROOT / "book" / "runs" / "train.md"
DEFAULT_WORKERS, DEFAULT_THREADS = 2, 1


def current_record(config: TrainConfig, out_dir: Path, move_aside: bool = True) -> Record | None:
    """The point's record if it holds this config, else None.

    An unreadable record is moved aside to ``<run-id>.json.unreadable`` (not
    lost, and out of the results' ``*.json``) with a line saying so; with
    ``move_aside=False`` (a dry run) it only says so.
    """
    path = record_path(config.run_id, out_dir)
    if not path.exists():
        return None
    try:
        record = read_record(path)
    except ValueError as exc:
        if not move_aside:
            print(f"{exc}\n  the point will be trained again", file=sys.stderr)
            return None
        kept = path.with_name(path.name + ".unreadable")
        os.replace(path, kept)
        print(f"{exc}\n  moved to {kept.name}; the point will be trained again",
              file=sys.stderr)
        return None
    return record if record.config == config else None


def pending(plan: list[TrainConfig], out_dir: Path, move_aside: bool = True) -> list[TrainConfig]:
    """The points to train: no current record, or a student whose teacher was trained again
    since (or is about to be)."""
    todo: list[TrainConfig] = []
    for config in plan:
        record = current_record(config, out_dir, move_aside)
        if record is not None and config.teacher:
            paths = [record_path(t, out_dir) for t in config.teachers]
            retrained = (any(t in {c.run_id for c in todo} for t in config.teachers)
                         or not all(p.exists() for p in paths)
                         or teacher_fingerprint([read_record(p) for p in paths])
                         != record.teacher_fingerprint)
            record = None if retrained else record
        if record is None:
            todo.append(config)
    return todo


def run_point(config: TrainConfig, out_dir: str, threads: int | None = None,
              *teacher_results: dict) -> dict:
    """Execute the training notebook for one point and return a summary; never raises.

    The executed notebook lands in ``<out_dir>/notebooks/<run-id>.ipynb`` only on
    success; a failure leaves it in ``<out_dir>/failed/``.  A student whose
    teacher failed in the same sweep fails unrun.
    """
    import jupytext
    import papermill

    summary = {"run_id": config.run_id, "status": "failed", "notebook": "", "seconds": 0.0}
    for teacher in teacher_results:
        if teacher["status"] != "done":
            return {**summary, "error": f"its teacher {teacher['run_id']} did not finish"}
    out = Path(out_dir)
    final = out / "notebooks" / f"{config.run_id}.ipynb"
    partial = final.with_name(f".{config.run_id}.partial.ipynb")
    failed = out / "failed" / final.name
    partial.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    env = {"FER_RESULTS_DIR": str(out)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits it: no machine path in the notebook
    try:
        papermill.execute_notebook(
            jupytext.read(NOTEBOOK), str(partial), kernel_name="python3",
            parameters={"config": config.to_json(), "threads": threads},
            progress_bar=False, cwd=str(PROJECT_ROOT), log_output=False)
        present(partial, config.run_id)
        os.replace(partial, final)
        record = read_record(record_path(config.run_id, out))
        return {**summary, "status": "done", "notebook": str(final),
                "seconds": time.perf_counter() - start, "params": record.params,
                "private": record.accuracy("private"), "public": record.accuracy("public")}
    except BaseException as exc:  # noqa: BLE001 - one bad point must not stop the others
        failed.parent.mkdir(parents=True, exist_ok=True)
        if partial.exists():
            os.replace(partial, failed)
        return {**summary, "notebook": str(failed) if failed.exists() else "",
                "seconds": time.perf_counter() - start, "error": _error_line(exc),
                "traceback": traceback.format_exc(limit=3)}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


TITLE = "# {run_id}：訓練紀錄 · Training run"
HIDDEN_CELLS = {"parameters", "injected-parameters"}


def present(path: Path, run_id: str) -> None:
    """Ready an executed notebook for the appendix: titled by its run id (the sidebar lists
    them all), its parameter cells hidden (the settings table shows them readably), and
    without the machine paths papermill stores."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for key in ("input_path", "output_path"):
        notebook.metadata.get("papermill", {}).pop(key, None)
    heading = next(c for c in notebook.cells if c.cell_type == "markdown")
    lines = heading.source.splitlines()
    heading.source = "\n".join([TITLE.format(run_id=run_id), *lines[1:]])
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if HIDDEN_CELLS & set(tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(notebook, path)


def _error_line(exc: BaseException) -> str:
    """A notebook's error as one line: its type and the first line of its message."""
    name, text = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if name is None:
        name, text = type(exc).__name__, str(exc)
    first = next((line for line in str(text).splitlines() if line.strip()), "")
    return f"{name}: {first}"[:500]


def run_sweep(todo: list[TrainConfig], out_dir: Path, *, workers: int = DEFAULT_WORKERS,
              threads: int = DEFAULT_THREADS, scheduler: str | None = None) -> list[dict]:
    """Run ``todo`` on a dask cluster in plan order, a student after its teacher."""
    import dask
    from dask.distributed import Client, LocalCluster, as_completed
    from tqdm.auto import tqdm

    if not todo:
        return []
    if scheduler:
        client, cluster = Client(scheduler), None
    else:
        # One task per worker at a time, so each free worker takes the next point in order.
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", memory_limit=0)
        client = Client(cluster)
    results = []
    try:
        futures: dict = {}
        for i, config in enumerate(todo):
            futures[config.run_id] = client.submit(
                run_point, config, str(out_dir), threads,
                *[futures[t] for t in config.teachers if t in futures],
                key=f"train-{config.run_id}", pure=False, priority=len(todo) - i)
        for future in tqdm(as_completed(list(futures.values())), total=len(futures),
                           desc="sweep", unit="point"):
            result = future.result()
            results.append(result)
            if result["status"] == "done":
                tqdm.write(f"done {result['run_id']}: Private {result['private']:.4f}, "
                           f"{result['seconds'] / 60:.0f} min")
            else:
                tqdm.write(f"FAILED {result['run_id']}: {result['error']}"
                           + (f"\n  notebook: {result['notebook']}" if result["notebook"] else ""))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results


def select(plan: list[TrainConfig], patterns: list[str] | None) -> list[TrainConfig]:
    """The points whose run id matches any ``--only`` pattern (all without one)."""
    if not patterns:
        return plan
    chosen = [c for c in plan if any(fnmatch.fnmatch(c.run_id, p) for p in patterns)]
    if not chosen:
        raise ValueError(f"--only {' '.join(patterns)} matches no point of the plan; "
                         "python -m helpers.sweep --dry-run lists them")
    return chosen


def main(argv: list[str] | None = None) -> int:
    """The sweep's command line."""
    parser = argparse.ArgumentParser(prog="python -m helpers.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", type=Path, default=None, help="default: sweep.yml")
    parser.add_argument("--out", type=Path, default=None, help="default: results/")
    parser.add_argument("--only", nargs="+", metavar="PATTERN", help="run ids (fnmatch)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help="TensorFlow threads per worker")
    parser.add_argument("--scheduler", help="address of an existing dask scheduler")
    parser.add_argument("--dry-run", action="store_true", help="list the points and stop")
    args = parser.parse_args(argv)
    for name in ("workers", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    try:
        plan = select(load_plan(args.plan or sweep_file()), args.only)
        out_dir = Path(args.out or results_dir())
        todo = pending(plan, out_dir, move_aside=not args.dry_run)
        if args.dry_run:
            waiting = {c.run_id for c in todo}
            for config in plan:
                print(f"{'todo' if config.run_id in waiting else 'done'}  {config.run_id}")
            print(f"{len(plan) - len(todo)} done, {len(todo)} to train")
            return 0
        if todo:
            resolve_path()  # no data: say where to get it before any worker starts
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = run_sweep(todo, out_dir, workers=args.workers, threads=args.threads,
                        scheduler=args.scheduler)
    failed = [r for r in results if r["status"] != "done"]
    print(f"{len(plan) - len(todo)} already done, {len(results) - len(failed)} trained, "
          f"{len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
