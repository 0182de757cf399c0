"""What must never be committed: the data, face images, or files over 20 MB."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 20 * 1024 * 1024


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / name for name in out.stdout.decode().split("\0") if name]


def test_no_data_images_or_large_files_are_tracked():
    files = tracked_files()
    assert files, "git ls-files listed nothing"
    too_big = [str(f) for f in files if f.is_file() and f.stat().st_size > MAX_BYTES]
    assert not too_big, f"files over 20 MB: {too_big}"
    forbidden = (".csv", ".csv.gz", ".npz", ".jpg", ".jpeg")
    data_like = [str(f) for f in files if f.name.lower().endswith(forbidden)]
    assert not data_like, f"data or face images must not be committed: {data_like}"


def test_no_unfinished_run_artifacts_are_tracked():
    """Partial notebooks and checkpoints belong to a run in progress, not to the record."""
    unfinished = [str(f) for f in tracked_files()
                  if f.name.endswith(".partial.ipynb") or "checkpoints" in f.parts
                  or "failed" in f.parts]
    assert not unfinished, f"in-progress run files are tracked: {unfinished}"
