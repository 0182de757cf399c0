import gzip
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import csv_text, make_rows
from helpers import data
from helpers.data import FER2013FormatError, load_fer2013


def check_splits(loaded, rows):
    n_train = sum(1 for r in rows if r[2] == "Training")
    assert len(loaded.train) + len(loaded.val) == n_train
    assert len(loaded.val) == round(0.1 * n_train)
    assert len(loaded.public) == sum(1 for r in rows if r[2] == "PublicTest")
    public_rows = [r for r in rows if r[2] == "PublicTest"]
    assert np.array_equal(loaded.public.images[0, :, :, 0].ravel(), public_rows[0][1])
    assert loaded.public.labels.tolist() == [r[0] for r in public_rows]
    assert loaded.train.images.dtype == np.uint8
    assert loaded.train.images.shape[1:] == (48, 48, 1)


@pytest.mark.parametrize("name", ["fer2013.csv", "fer2013.csv.gz"])
def test_reads_plain_and_gzipped_csv(write_csv, rows, name):
    check_splits(load_fer2013(write_csv(csv_text(rows), name)), rows)


def test_accepts_windows_line_endings_and_bom(write_csv, rows):
    loaded = load_fer2013(write_csv(csv_text(rows, newline="\r\n", bom=True)))
    check_splits(loaded, rows)


def test_reads_the_image_folder_copy(tmp_path, rows):
    root = tmp_path / "fer2013"
    for i, (label, pixels, usage) in enumerate(rows):
        top = "train" if usage == "Training" else "test"
        folder = root / top / data.CLASS_NAMES_EN[label].lower()
        folder.mkdir(parents=True, exist_ok=True)
        image = pixels.astype(np.uint8).reshape(48, 48)
        Image.fromarray(image).save(folder / f"{usage}_{i:05d}.png")
    loaded = load_fer2013(root)
    check_splits(loaded, rows)


def test_image_folder_test_file_without_split_name_is_an_error(tmp_path):
    folder = tmp_path / "imgs"
    (folder / "train" / "happy").mkdir(parents=True)
    (folder / "test" / "happy").mkdir(parents=True)
    Image.fromarray(np.zeros((48, 48), np.uint8)).save(folder / "test" / "happy" / "im0.png")
    with pytest.raises(FER2013FormatError, match=r"im0\.png: expected a test image named PublicTest_"):
        load_fer2013(folder)


def test_missing_file_says_where_to_get_and_put_it(tmp_path, monkeypatch):
    monkeypatch.delenv("FER2013_PATH", raising=False)
    with pytest.raises(FileNotFoundError) as info:
        load_fer2013(tmp_path / "nope.csv")
    message = str(info.value)
    assert "Kaggle" in message and "fer2013.csv" in message
    assert "data/fer2013.csv" in message and "FER2013_PATH" in message
    assert str(tmp_path / "nope.csv") in message
    assert "tar xzf fer2013.tar.gz" in message and "data/fer2013/" in message


def test_missing_file_named_by_fer2013_path_says_the_variable_is_wrong(tmp_path, monkeypatch):
    monkeypatch.setenv("FER2013_PATH", str(tmp_path / "typo.csv"))
    with pytest.raises(FileNotFoundError,
                       match=r"FER2013_PATH is set to .*typo\.csv, which does not exist"):
        load_fer2013()


def test_missing_file_lists_every_default_location(monkeypatch):
    monkeypatch.delenv("FER2013_PATH", raising=False)
    monkeypatch.setattr(data, "DEFAULT_LOCATIONS", tuple(Path("/nonexistent") / n
                                                         for n in ("a.csv", "b.csv.gz")))
    with pytest.raises(FileNotFoundError) as info:
        load_fer2013()
    message = str(info.value)
    assert "/nonexistent/a.csv" in message and "/nonexistent/b.csv.gz" in message
    assert "FER2013_PATH is set" not in message


def bad_row(rows, index, label=None, pixels=None, usage=None):
    rows = list(rows)
    old = rows[index]
    rows[index] = (old[0] if label is None else label,
                   old[1] if pixels is None else pixels,
                   old[2] if usage is None else usage)
    return rows


@pytest.mark.parametrize("change, line, expected", [
    (dict(pixels=np.arange(2303) % 256), 5, "expected 2304 pixel values (48×48), found 2303"),
    (dict(label=7), 9, "expected an emotion label 0–6, found '7'"),
    (dict(label=-1), 9, "expected an emotion label 0–6, found '-1'"),
    (dict(usage="Validation"), 12, "expected Usage to be one of Training, PublicTest, PrivateTest"),
    (dict(pixels=np.full(2304, 256)), 30, "expected pixel values 0–255, found 256 at pixel 1"),
])
def test_bad_rows_name_file_line_and_expectation(write_csv, rows, change, line, expected):
    path = write_csv(csv_text(bad_row(rows, line - 2, **change)))
    with pytest.raises(FER2013FormatError) as info:
        load_fer2013(path)
    assert str(info.value).startswith(f"{path}: line {line}: ")
    assert expected in str(info.value)


def test_non_integer_pixel(write_csv, rows):
    text = csv_text(rows).splitlines()
    fields = text[7].split(",")
    pixels = fields[1].split(" ")
    pixels[3] = "12.5"
    text[7] = ",".join([fields[0], " ".join(pixels), fields[2]])
    path = write_csv("\n".join(text) + "\n")
    with pytest.raises(FER2013FormatError, match=r"line 8: expected 2304 space-separated integers 0–255, found the non-integer '12.5'"):
        load_fer2013(path)


def test_wrong_field_count_and_header(write_csv, rows):
    text = csv_text(rows).splitlines()
    text[3] += ",extra"
    with pytest.raises(FER2013FormatError, match=r"line 4: expected 3 comma-separated fields"):
        load_fer2013(write_csv("\n".join(text)))
    with pytest.raises(FER2013FormatError, match=r"line 1: expected the header 'emotion,pixels,Usage'"):
        load_fer2013(write_csv("label,pixels,split\n0,1 2,Training\n"))


def test_empty_split_is_an_error(write_csv):
    rows = [r for r in make_rows() if r[2] != "PrivateTest"]
    path = write_csv(csv_text(rows))
    with pytest.raises(FER2013FormatError, match=r"expected rows with Usage=PrivateTest, found none"):
        load_fer2013(path)


def test_truncated_gzip_is_an_error(tmp_path, rows):
    full = gzip.compress(csv_text(rows).encode())
    path = tmp_path / "fer2013.csv.gz"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(FER2013FormatError, match=r"fer2013\.csv\.gz: line \d+: the gzip stream is truncated"):
        load_fer2013(path)


def test_nothing_is_silently_dropped(write_csv, rows):
    loaded = load_fer2013(write_csv(csv_text(rows)))
    assert sum(len(s) for s in loaded.splits.values()) == len(rows)


def test_validation_split_is_stratified_and_fixed():
    labels = np.repeat(np.arange(7), [400, 40, 410, 720, 480, 320, 500])
    a = data.stratified_val_mask(labels)
    b = data.stratified_val_mask(labels)
    assert np.array_equal(a, b)
    assert a.sum() == round(0.1 * len(labels))
    per_class = np.bincount(labels[a], minlength=7)
    assert np.all(np.abs(per_class - np.bincount(labels) * 0.1) <= 1)


def test_parse_cache_is_used_and_equal(write_csv, rows, tmp_path, monkeypatch):
    monkeypatch.setenv("FER2013_CACHE", str(tmp_path / "cache"))
    path = write_csv(csv_text(rows))
    first = load_fer2013(path)
    caches = list((tmp_path / "cache").glob("*.npz"))
    assert len(caches) == 1
    second = load_fer2013(path)
    for name in ("train", "val", "public", "private"):
        assert np.array_equal(first[name].images, second[name].images)
    # A changed file gets a new cache key, not stale arrays.
    path.write_text(csv_text(make_rows(seed=1)))
    third = load_fer2013(path)
    assert not np.array_equal(first.public.images, third.public.images)


def test_real_data_split_sizes_and_class_counts(real_data):
    assert (len(real_data.train), len(real_data.val)) == (25_838, 2_871)
    assert len(real_data.public) == len(real_data.private) == 3_589
    train_all = np.concatenate([real_data.train.labels, real_data.val.labels])
    assert tuple(np.bincount(train_all).tolist()) == data.TRAINING_CLASS_COUNTS


def test_real_data_cached_load_is_much_faster_than_parsing(real_data, real_data_path):
    start = time.perf_counter()
    again = load_fer2013(real_data_path)
    cached = time.perf_counter() - start
    start = time.perf_counter()
    load_fer2013(real_data_path, use_cache=False)
    parsed = time.perf_counter() - start
    assert cached * 5 < parsed  # side by side in one run, so a busy machine slows both
    assert np.array_equal(again.private.labels, real_data.private.labels)


def test_line_numbers_count_the_bom_and_only_newlines(write_csv, rows, tmp_path):
    text = csv_text(rows[:3] + rows[-60:], bom=True).encode("utf-8")
    lines = text.split(b"\n")
    lines[2] = b"\xff" + lines[2]  # invalid UTF-8 at the start of line 3
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(FER2013FormatError, match=r"bad\.csv: line 3: expected UTF-8 text"):
        load_fer2013(path)
    # A form feed inside a row is not a line break: the bad label is still on line 4.
    text = csv_text(bad_row(rows, 2, label=9)).split("\n")
    text[1] = text[1].replace(" ", "\x0c ", 1)
    with pytest.raises(FER2013FormatError, match=r"line 4: expected an emotion label"):
        load_fer2013(write_csv("\n".join(text)))


def test_reads_jpeg_image_folders_with_their_splits(tmp_path, rows):
    root = tmp_path / "fer2013-jpg"
    for i, (label, pixels, usage) in enumerate(rows):
        folder = root / ("train" if usage == "Training" else "test") / data.CLASS_NAMES_EN[label].lower()
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels.astype(np.uint8).reshape(48, 48)).save(folder / f"{usage}_{i}.jpg")
    loaded = load_fer2013(root)
    assert loaded.private.labels.tolist() == [r[0] for r in rows if r[2] == "PrivateTest"]
    assert len(loaded.train) + len(loaded.val) == sum(r[2] == "Training" for r in rows)
