import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from helpers.atomic import atomic_path
from helpers.results import decode_classes, encode_classes, write_text_atomic


def test_class_strings_round_trip():
    classes = np.array([0, 6, 3, 3, 1, 9])
    assert encode_classes(classes) == "063319"
    assert decode_classes("063319").tolist() == classes.tolist()
    assert decode_classes(encode_classes(np.array([], dtype=int))).size == 0


def test_class_strings_refuse_what_they_cannot_hold():
    with pytest.raises(ValueError, match="class index 10"):
        encode_classes(np.array([1, 10]))
    with pytest.raises(ValueError, match="not a digit string"):
        decode_classes("12a")


def test_atomic_path_replaces_only_when_the_write_finishes(tmp_path):
    target = tmp_path / "sub" / "cache.npz"
    with atomic_path(target, suffix=".npz") as tmp:
        assert tmp.parent == target.parent and tmp.name.endswith(".npz") and ".tmp" in tmp.name
        np.savez(tmp, x=np.arange(3))  # NumPy keeps a name that already ends in .npz
    with np.load(target) as stored:
        assert stored["x"].tolist() == [0, 1, 2]

    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target, suffix=".npz") as tmp:
            tmp.write_bytes(b"half a zip")
            raise RuntimeError("disk full")
    with np.load(target) as stored:  # the old file, whole
        assert stored["x"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in target.parent.iterdir()) == ["cache.npz"]  # no temporary left


def test_text_written_atomically_is_never_half_written(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    write_text_atomic(target, "old\n")

    def crash(*args, **kwargs):
        raise OSError("no space left")

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(OSError, match="no space"):
        write_text_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_atomic_files_get_the_usual_permissions_not_mkstemps(tmp_path):
    old_umask = os.umask(0o022)  # under 077 a 0600 file would pass unnoticed
    try:
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        write_text_atomic(tmp_path / "atomic.txt", "x")
    finally:
        os.umask(old_umask)
    assert (tmp_path / "atomic.txt").stat().st_mode == plain.stat().st_mode == 0o100644


def test_atomic_path_refuses_to_replace_a_file_with_nothing(tmp_path):
    target = tmp_path / "cache.npz"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="nothing was written"):
        with atomic_path(target) as tmp:  # NumPy writes tmp + ".npz": the wrong file
            np.savez(tmp, x=np.arange(3))
            Path(f"{tmp}.npz").unlink()
    assert target.read_bytes() == b"old"
    write_text_atomic(target, "")  # an empty text is still a text
    assert target.read_bytes() == b""


def test_atomic_copy_of_a_read_only_file(tmp_path):
    source = tmp_path / "weights.keras"
    source.write_bytes(b"weights")
    source.chmod(0o444)
    with atomic_path(tmp_path / "copy.keras", suffix=".keras") as tmp:
        shutil.copy2(source, tmp)
    assert (tmp_path / "copy.keras").read_bytes() == b"weights"
