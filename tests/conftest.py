"""Shared fixtures: small generated FER2013 files and the real data when present."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

USAGES = ("Training", "PublicTest", "PrivateTest")
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str):
    """A module of ``scripts/`` (not a package), loaded by path for its tests."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_rows(n_per_usage: int = 20, seed: int = 0) -> list[tuple[int, np.ndarray, str]]:
    """Rows with every label in every split, pixels random 0–255."""
    rng = np.random.default_rng(seed)
    rows = []
    for usage in USAGES:
        for i in range(n_per_usage):
            rows.append((i % 7, rng.integers(0, 256, 2304), usage))
    return rows


def csv_text(rows, newline: str = "\n", bom: bool = False) -> str:
    lines = ["emotion,pixels,Usage"]
    lines += [f"{label},{' '.join(map(str, pixels))},{usage}" for label, pixels, usage in rows]
    return ("\ufeff" if bom else "") + newline.join(lines) + newline


@pytest.fixture
def rows():
    return make_rows()


@pytest.fixture
def write_csv(tmp_path):
    def write(text: str, name: str = "fer2013.csv") -> Path:
        path = tmp_path / name
        data = text.encode("utf-8")
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        return path
    return write


def pytest_configure(config):
    """One parse cache for the whole run (keys are file hashes), outside ~/.cache."""
    if not os.environ.get("FER2013_CACHE"):
        import tempfile
        os.environ["FER2013_CACHE"] = tempfile.mkdtemp(prefix="fer2013-cache-")


@pytest.fixture(scope="session")
def real_data_path() -> Path:
    """Where the loader finds FER2013 ($FER2013_PATH, else data/); skip the test without it."""
    from helpers.data import resolve_path
    try:
        return resolve_path()
    except FileNotFoundError:
        pytest.skip("FER2013 not found ($FER2013_PATH or data/fer2013.csv[.gz]): "
                    "real-data tests skipped")


@pytest.fixture(scope="session")
def real_data(real_data_path):
    from helpers.data import load_fer2013
    return load_fer2013(real_data_path)


@pytest.fixture(scope="session")
def small_data(real_data):
    """The real data cut to a few hundred images per split: training tests in seconds."""
    from dataclasses import replace

    from helpers.data import Split

    def cut(split, n):
        return Split(split.images[:n], split.labels[:n])
    return replace(real_data, train=cut(real_data.train, 384), val=cut(real_data.val, 128),
                   public=cut(real_data.public, 128), private=cut(real_data.private, 128))


BOOK = Path(__file__).resolve().parents[1] / "book"


def build(out: Path, results: Path | None = None) -> Path:
    env = dict(os.environ)
    if results is not None:
        env["FER_RESULTS_DIR"] = str(results)
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", str(BOOK),
         "--path-output", str(out), "-W", "--keep-going"],
        capture_output=True, text=True, timeout=1500, env=env)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The book from the results in results/."""
    return build(tmp_path_factory.mktemp("book"))
