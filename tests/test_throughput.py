"""The throughput script: one measurement in its own process, and a too-slow setting reported."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "throughput.py"
throughput = load_script("throughput")


@pytest.mark.slow
def test_one_measurement_trains_timed_batches_of_the_named_model():
    out = subprocess.run([sys.executable, str(SCRIPT), "--one", "mobilenet", "8099", "float32",
                          "32", "1", "2"], capture_output=True, text=True, timeout=300, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["params"] == 8099 and row["batch_size"] == 32 and row["threads"] == 1
    assert row["steps"] >= 1
    assert row["images_per_s"] > 0


def test_a_measurement_past_its_time_limit_is_reported_as_too_slow():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            stdout=subprocess.PIPE, text=True)
    assert throughput._collect(proc, timeout=1) is None
    assert proc.poll() is not None


def test_the_full_setting_list_compares_precisions_batches_and_layouts():
    grid = throughput.settings(quick=False)
    assert {p for p, *_ in grid} == {"float32", "mixed_bfloat16"}
    assert {b for _, b, *_ in grid} == {128, 256}
    assert (("float32", 128, 2, 1) in grid) and (("float32", 128, 1, 2) in grid)
