"""Train the remaining points of sweep.yml on one machine, GPU or not, within a time limit,
and leave every finished result in one archive.

On a machine with an NVIDIA GPU (TensorFlow's CUDA build installed: see README) it runs
several sweep workers side by side, each letting TensorFlow grow its share of GPU memory
as it needs it, with the CPU cores split between their input pipelines. Without a GPU it
falls back to the sweep's CPU layout. Points still running at the deadline are stopped
(their checkpoints stay in results/checkpoints/), and the archive holds the records,
notebooks and weights of every point finished so far, and the checkpoints of the points
still running, which a CPU sweep resumes where the GPU left off:

    python scripts/gpu_sweep.py --minutes 9 --archive $OUT/results.tar.gz
    python scripts/gpu_sweep.py --dry-run          # the layout it would use, and the plan
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from helpers.atomic import atomic_path

ROOT = Path(__file__).resolve().parents[1]
# Each worker holds one small model and its pipeline; eight share an H200 comfortably and
# leave two cores apiece for augmentation on a 16-core host.
GPU_WORKERS = 8


def gpu_count() -> int:
    """NVIDIA GPUs visible to ``nvidia-smi`` (0 where there is none)."""
    if not shutil.which("nvidia-smi"):
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "--list-gpus"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def layout(gpus: int, cores: int) -> tuple[int, int]:
    """Workers and TensorFlow threads per worker."""
    if gpus:
        workers = max(1, min(GPU_WORKERS * gpus, cores))
        return workers, max(1, cores // workers)
    return 2, max(1, cores // 2)


def archive_results(results: Path, archive: Path) -> int:
    """Pack every finished record with its notebook and weights, and every unfinished run's
    checkpoint folder; returns how many records."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    records = sorted(results.glob("*.json"))
    with atomic_path(archive, suffix=".tar.gz") as tmp, tarfile.open(tmp, "w:gz") as tar:
        for record in records:
            tar.add(record, arcname=f"results/{record.name}")
            for folder, suffix in (("notebooks", ".ipynb"), ("weights", ".keras"),
                                   ("local_weights", ".keras")):
                path = results / folder / f"{record.stem}{suffix}"
                if path.exists():
                    tar.add(path, arcname=f"results/{folder}/{path.name}")
        for folder in ("teachers", "checkpoints"):
            if (results / folder).is_dir():
                tar.add(results / folder, arcname=f"results/{folder}")
    return len(records)


def main(argv: list[str] | None = None) -> int:
    """Run the sweep under a deadline, then archive what finished."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=9.0, help="stop the sweep after this")
    parser.add_argument("--archive", type=Path, default=None,
                        help="where to write results.tar.gz (default: $OUT or results/)")
    parser.add_argument("--only", nargs="+", help="run id patterns, as for helpers.sweep")
    parser.add_argument("--plan", type=Path, help="default: sweep.yml")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error(f"--minutes must be above 0, got {args.minutes}")

    gpus, cores = gpu_count(), os.cpu_count() or 1
    workers, threads = layout(gpus, cores)
    device = f"{gpus} NVIDIA GPU(s)" if gpus else "no GPU: the CPU layout"
    print(f"{device}, {cores} cores: {workers} workers x {threads} threads", flush=True)
    command = [sys.executable, "-m", "helpers.sweep", "--workers", str(workers),
               "--threads", str(threads)]
    command += ["--only", *args.only] if args.only else []
    command += ["--plan", str(args.plan)] if args.plan else []
    if args.dry_run:
        return subprocess.call([*command, "--dry-run"], cwd=ROOT)

    env = {**os.environ, "TF_FORCE_GPU_ALLOW_GROWTH": "true", "PYTHONUNBUFFERED": "1"}
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        code = proc.wait(timeout=args.minutes * 60)
    except subprocess.TimeoutExpired:
        print(f"deadline of {args.minutes:g} min reached: stopping the sweep", flush=True)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        code = 3
    results = Path(os.environ.get("FER_RESULTS_DIR") or ROOT / "results")
    out = os.environ.get("OUT")
    archive = args.archive or (Path(out) / "results.tar.gz" if out else results / "results.tar.gz")
    n = archive_results(results, archive)
    print(f"{n} finished record(s) in {archive} after {(time.monotonic() - start) / 60:.1f} min")
    return code


if __name__ == "__main__":
    sys.exit(main())
