"""The benchmark script's command line: a bad budget is refused by name before anything runs."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py"


@pytest.mark.slow  # starts TensorFlow twice
def test_a_budget_without_its_parameter_count_is_refused_by_name():
    run = subprocess.run([sys.executable, str(SCRIPT), "--precision", "--budgets", "plain_cnn"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "expected FAMILY:PARAMS" in run.stderr and "got 'plain_cnn'" in run.stderr
    run = subprocess.run([sys.executable, str(SCRIPT), "--precision", "--budgets", "mobilnet:8000"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "got 'mobilnet:8000'" in run.stderr
