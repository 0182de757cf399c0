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
    data_like = [str(f) for f in files if f.name.lower().endswith(forbidden)
                 and not is_teacher_soft_labels(f)]
    assert not data_like, f"data or face images must not be committed: {data_like}"


def is_teacher_soft_labels(path) -> bool:
    """A distillation cache (results/teachers/*.npz): 7 class probabilities per
    image (or per fixed view of an image) and the keys of the cache, never pixels, so it may
    be committed."""
    import numpy as np

    if path.parent.name != "teachers" or path.parent.parent.name != "results":
        return False
    with np.load(path) as stored:
        return (set(stored.files) == {"fingerprint", "data_sha256", "views", "train", "val"}
                and stored["train"].ndim in (2, 3) and stored["val"].ndim == 2
                and all(stored[s].shape[-1] == 7 for s in ("train", "val")))


def test_no_unfinished_run_artifacts_are_tracked():
    """Partial notebooks and checkpoints belong to a run in progress, not to the record."""
    unfinished = [str(f) for f in tracked_files()
                  if f.name.endswith(".partial.ipynb") or "checkpoints" in f.parts
                  or "failed" in f.parts]
    assert not unfinished, f"in-progress run files are tracked: {unfinished}"


def test_only_soft_labels_pass_as_a_teacher_cache(tmp_path):
    import numpy as np

    teachers = tmp_path / "results" / "teachers"
    teachers.mkdir(parents=True)
    keys = {"fingerprint": "a", "data_sha256": "b", "views": "0"}
    np.savez(teachers / "ok.npz", **keys,
             train=np.zeros((5, 7), np.float16), val=np.zeros((2, 7), np.float16))
    np.savez(teachers / "views.npz", **keys,
             train=np.zeros((5, 3, 7), np.float16), val=np.zeros((2, 7), np.float16))
    np.savez(teachers / "faces.npz", **keys,
             train=np.zeros((5, 48, 48), np.uint8), val=np.zeros((2, 7), np.float16))
    np.savez(tmp_path / "ok.npz", **keys,
             train=np.zeros((5, 7), np.float16), val=np.zeros((2, 7), np.float16))
    assert is_teacher_soft_labels(teachers / "ok.npz")
    assert is_teacher_soft_labels(teachers / "views.npz")
    assert not is_teacher_soft_labels(teachers / "faces.npz")
    assert not is_teacher_soft_labels(tmp_path / "ok.npz")  # not under results/teachers
