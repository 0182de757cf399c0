"""Load FER2013 into four fixed splits: train, val, public and private.

Accepted sources (first found wins, unless ``path`` or ``FER2013_PATH`` says):

* the Kaggle CSV ``fer2013.csv`` (``emotion,pixels,Usage``), plain or gzipped;
* the common image-folder copy (``train/<emotion>/*.jpg``,
  ``test/<emotion>/*.jpg``) whose file names keep the split
  (``Training_*``, ``PublicTest_*``, ``PrivateTest_*``).

``val`` is a stratified 10% of the Training rows chosen with ``VAL_SEED``;
``public`` (PublicTest) and ``private`` (PrivateTest) give the course's Public
and Private scores and are never used for training or model selection.

Parsing is vectorised (one ``numpy`` pass over all pixel text) and the parsed
arrays are cached as ``.npz`` keyed by the source's SHA-256, so a second load
only hashes the file and reads the cache.  Every malformed input raises
:class:`FER2013FormatError` naming the file, the 1-based line and what was
expected; nothing is silently dropped.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_path

CLASS_NAMES_EN = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
CLASS_NAMES_ZH = ("生氣", "厭惡", "恐懼", "高興", "難過", "驚訝", "中立")
USAGES = ("Training", "PublicTest", "PrivateTest")
# Images per class in the Training rows (the canonical FER2013 counts; a test checks them),
# so the book can discuss class balance without the data.
TRAINING_CLASS_COUNTS = (3995, 436, 4097, 7215, 4830, 3171, 4965)
IMAGE_SIDE = 48
NUM_PIXELS = IMAGE_SIDE * IMAGE_SIDE
VAL_FRACTION = 0.10
VAL_SEED = 2013
KAGGLE_URL = "https://www.kaggle.com/c/challenges-in-representation-learning-facial-expression-recognition-challenge/data"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LOCATIONS = (
    PROJECT_ROOT / "data" / "fer2013.csv",
    PROJECT_ROOT / "data" / "fer2013.csv.gz",
    PROJECT_ROOT / "data" / "fer2013",
)
CACHE_VERSION = 1


class FER2013FormatError(ValueError):
    """The FER2013 source is malformed; the message names file, line and expectation."""


@dataclass(frozen=True)
class Split:
    """Images and labels of one split, in file order (test predictions are stored in it)."""

    images: np.ndarray  # uint8, N x 48 x 48 x 1
    labels: np.ndarray  # int64, N

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class FER2013:
    """The four fixed splits, with the source and its SHA-256 that every record keeps."""

    train: Split
    val: Split
    public: Split
    private: Split
    source: Path
    sha256: str

    def __getitem__(self, name: str) -> Split:
        return getattr(self, name)

    @property
    def splits(self) -> dict[str, Split]:
        """The splits by name, in the order the report shows them."""
        return {n: self[n] for n in ("train", "val", "public", "private")}


def missing_data_message(tried: list[Path], *, from_env: bool = False) -> str:
    """Where to get FER2013 and where to put it: the first thing a new user without it meets."""
    places = "\n".join(f"  - {p}" for p in tried)
    env = (f"FER2013_PATH is set to {tried[0]}, which does not exist, so data/ was not "
           "searched; fix or unset it.\n" if from_env else "")
    return (
        f"FER2013 not found.\n{env}"
        f"Download fer2013.tar.gz (or fer2013.csv) from Kaggle ({KAGGLE_URL}) and put the CSV "
        "at data/fer2013.csv in the project (gzipped as data/fer2013.csv.gz also works):\n"
        "  mkdir -p data && tar xzf fer2013.tar.gz -C data --strip-components=1 fer2013/fer2013.csv\n"
        "An image-folder copy (train/<emotion>/*.jpg, test/<emotion>/*.jpg) works too, "
        "at data/fer2013/. Or point FER2013_PATH at the file elsewhere.\n"
        f"Looked in:\n{places}\n"
        "Building the report does not need it: the book renders from the recorded results."
    )


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """Where FER2013 is: ``path``, else ``$FER2013_PATH``, else ``data/``.

    A missing file raises ``FileNotFoundError`` with :func:`missing_data_message`.
    """
    from_env = path is None and bool(os.environ.get("FER2013_PATH"))
    if path is not None:
        tried = [Path(path)]
    elif from_env:
        tried = [Path(os.environ["FER2013_PATH"])]
    else:
        tried = list(DEFAULT_LOCATIONS)
    for candidate in tried:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(missing_data_message(tried, from_env=from_env))


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, or of an image folder's listing (names, sizes, mtimes).

    Every record keeps it, so a result is never compared with one trained on other data.
    """
    digest = hashlib.sha256()
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            if f.is_file():
                st = f.stat()
                digest.update(f"{f.relative_to(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return digest.hexdigest()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cache_dir() -> Path:
    base = os.environ.get("FER2013_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "fer-compression")
    return Path(base)


def load_fer2013(path: str | os.PathLike | None = None, *, use_cache: bool = True) -> FER2013:
    """The four splits of FER2013, the same on every machine (fixed validation seed).

    Sources, caching and errors are described in the module docstring.
    """
    source = resolve_path(path)
    sha = file_sha256(source)
    cache = _cache_dir() / f"fer2013-{sha[:32]}-v{CACHE_VERSION}.npz"
    arrays = None
    if use_cache and cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, zlib.error, zipfile.BadZipFile):
            arrays = None  # a damaged cache is rebuilt, never trusted
    if arrays is None:
        images, labels, usage = (_read_image_folder(source) if source.is_dir()
                                 else _read_csv(source))
        arrays = {"images": images, "labels": labels, "usage": usage}
        if use_cache:
            _atomic_savez(cache, arrays)
    return _split(arrays["images"], arrays["labels"], arrays["usage"], source, sha)


def _atomic_savez(target: Path, arrays: dict[str, np.ndarray]) -> None:
    """Cache the parsed arrays; a full disk or a crash leaves no torn cache behind."""
    with atomic_path(target, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def _read_text(path: Path) -> str:
    if path.suffix == ".gz":
        raw = bytearray()
        try:
            with gzip.open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 22), b""):
                    raw += chunk
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            line = raw.count(b"\n") + 1
            raise FER2013FormatError(
                f"{path}: line {line}: the gzip stream is truncated or corrupt ({exc}); "
                "expected a complete gzip file — download it again") from None
        data = bytes(raw)
    else:
        data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        line = data[:offset].count(b"\n") + 1
        raise FER2013FormatError(f"{path}: line {line}: expected UTF-8 text ({exc.reason})") from None


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Split on "\n" only, so that line numbers agree with any text editor.
    lines = [line.rstrip("\r") for line in _read_text(path).split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise FER2013FormatError(f"{path}: line 1: the file is empty; expected the header 'emotion,pixels,Usage'")
    header = [h.strip() for h in lines[0].split(",")]
    if header != ["emotion", "pixels", "Usage"]:
        raise FER2013FormatError(
            f"{path}: line 1: expected the header 'emotion,pixels,Usage', found {lines[0][:80]!r}")
    rows = lines[1:]
    if not rows:
        raise FER2013FormatError(f"{path}: line 2: no data rows after the header")

    emotions, pixels, usages = [], [], []
    for number, row in enumerate(rows, start=2):
        fields = row.split(",")
        if len(fields) != 3:
            raise FER2013FormatError(
                f"{path}: line {number}: expected 3 comma-separated fields "
                f"(emotion,pixels,Usage), found {len(fields)}")
        emotions.append(fields[0].strip())
        pixels.append(fields[1].strip())
        usages.append(fields[2].strip())

    labels = _parse_labels(path, emotions)
    usage = _parse_usage(path, usages)
    images = _parse_pixels(path, pixels)
    return images, labels, usage


def _parse_labels(path: Path, emotions: list[str]) -> np.ndarray:
    valid = {str(i): i for i in range(len(CLASS_NAMES_EN))}
    labels = np.empty(len(emotions), dtype=np.int64)
    for i, value in enumerate(emotions):
        if value not in valid:
            raise FER2013FormatError(
                f"{path}: line {i + 2}: expected an emotion label 0–6, found {value[:20]!r}")
        labels[i] = valid[value]
    return labels


def _parse_usage(path: Path, usages: list[str]) -> np.ndarray:
    index = {u: i for i, u in enumerate(USAGES)}
    usage = np.empty(len(usages), dtype=np.int8)
    for i, value in enumerate(usages):
        if value not in index:
            raise FER2013FormatError(
                f"{path}: line {i + 2}: expected Usage to be one of {', '.join(USAGES)}, "
                f"found {value[:30]!r}")
        usage[i] = index[value]
    return usage


_ALLOWED = np.zeros(256, dtype=bool)
_ALLOWED[list(b"0123456789 ")] = True


def _parse_pixels(path: Path, pixels: list[str]) -> np.ndarray:
    """All pixel strings in one vectorised pass; a bad row is located afterwards."""
    joined = " ".join(pixels).encode("ascii", errors="replace")
    if not _ALLOWED[np.frombuffer(joined, dtype=np.uint8)].all():
        for i, text in enumerate(pixels):
            bad = re.search(r"[^0-9 ]", text)
            if bad:
                raise FER2013FormatError(
                    f"{path}: line {i + 2}: expected {NUM_PIXELS} space-separated integers 0–255, "
                    f"found the non-integer {text.split(' ')[text[:bad.start()].count(' ')][:20]!r}")
    counts = np.fromiter((len(t.split()) if "  " in t else t.count(" ") + 1 if t else 0
                          for t in pixels), dtype=np.int64, count=len(pixels))
    wrong = np.flatnonzero(counts != NUM_PIXELS)
    if wrong.size:
        i = int(wrong[0])
        raise FER2013FormatError(
            f"{path}: line {i + 2}: expected {NUM_PIXELS} pixel values (48×48), found {counts[i]}")
    values = np.fromstring(joined, dtype=np.int64, sep=" ")  # noqa: NPY201 — text mode is fast
    values = values.reshape(len(pixels), NUM_PIXELS)
    too_big = values > 255
    if too_big.any():
        i, j = np.argwhere(too_big)[0]
        raise FER2013FormatError(
            f"{path}: line {i + 2}: expected pixel values 0–255, found {values[i, j]} "
            f"at pixel {j + 1}")
    return values.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE, 1)


_FOLDER_NAMES = {name.lower(): i for i, name in enumerate(CLASS_NAMES_EN)}
_PREFIXES = {"training": 0, "publictest": 1, "privatetest": 2}


def _read_image_folder(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from PIL import Image

    images, labels, usage, keys = [], [], [], []
    for top in ("train", "test"):
        if not (root / top).is_dir():
            raise FER2013FormatError(
                f"{root}: expected the image-folder layout train/<emotion>/*.jpg and "
                f"test/<emotion>/*.jpg; the folder {top}/ is missing")
        for folder in sorted((root / top).iterdir()):
            if not folder.is_dir():
                continue
            if folder.name.lower() not in _FOLDER_NAMES:
                raise FER2013FormatError(
                    f"{folder}: expected an emotion folder named one of "
                    f"{', '.join(n.lower() for n in CLASS_NAMES_EN)}")
            label = _FOLDER_NAMES[folder.name.lower()]
            for file in sorted(folder.iterdir()):
                if file.suffix.lower() not in (".jpg", ".jpeg", ".png"):
                    continue
                prefix = file.name.split("_", 1)[0].lower()
                if prefix in _PREFIXES:
                    split = _PREFIXES[prefix]
                elif top == "train":
                    split = 0
                else:
                    raise FER2013FormatError(
                        f"{file}: expected a test image named PublicTest_* or PrivateTest_* "
                        "so that its split is known")
                try:
                    with Image.open(file) as img:
                        array = np.asarray(img.convert("L"), dtype=np.uint8)
                except OSError as exc:
                    raise FER2013FormatError(f"{file}: expected a readable image ({exc})") from None
                if array.shape != (IMAGE_SIDE, IMAGE_SIDE):
                    raise FER2013FormatError(
                        f"{file}: expected a 48×48 image, found {array.shape[1]}×{array.shape[0]}")
                number = re.findall(r"\d+", file.stem)
                keys.append((split, int(number[-1]) if number else 0, file.name))
                images.append(array)
                labels.append(label)
                usage.append(split)
    if not images:
        raise FER2013FormatError(f"{root}: expected .jpg images under train/ and test/, found none")
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return (np.stack([images[i] for i in order])[..., None],
            np.asarray([labels[i] for i in order], dtype=np.int64),
            np.asarray([usage[i] for i in order], dtype=np.int8))


def stratified_val_mask(labels: np.ndarray, fraction: float = VAL_FRACTION,
                        seed: int = VAL_SEED) -> np.ndarray:
    """A fixed, stratified selection of ``round(fraction * N)`` rows."""
    rng = np.random.default_rng(seed)
    total = int(round(fraction * len(labels)))
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * fraction
    per_class = np.floor(exact).astype(int)
    remainder_order = np.argsort(-(exact - per_class), kind="stable")
    per_class[remainder_order[: total - per_class.sum()]] += 1
    mask = np.zeros(len(labels), dtype=bool)
    for cls, n in zip(classes, per_class):
        members = np.flatnonzero(labels == cls)
        mask[rng.choice(members, size=n, replace=False)] = True
    return mask


def _split(images, labels, usage, source: Path, sha: str) -> FER2013:
    for code, name in enumerate(USAGES):
        if not np.any(usage == code):
            raise FER2013FormatError(
                f"{source}: expected rows with Usage={name}, found none (empty split)")
    train_rows = np.flatnonzero(usage == 0)
    val_mask = stratified_val_mask(labels[train_rows])

    def take(rows: np.ndarray) -> Split:
        return Split(images[rows], labels[rows])

    return FER2013(
        train=take(train_rows[~val_mask]),
        val=take(train_rows[val_mask]),
        public=take(np.flatnonzero(usage == 1)),
        private=take(np.flatnonzero(usage == 2)),
        source=source,
        sha256=sha,
    )
