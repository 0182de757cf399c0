import copy
import json

import nbformat

from helpers import notebooks


def _notebook(log: str = "", code: str = "train()") -> dict:
    cells = [
        {"cell_type": "markdown", "id": "t", "metadata": {},
         "source": "# Training run\n\nA model of `family` near `target_params`."},
        {"cell_type": "code", "id": "d", "metadata": {"tags": ["parameters"]},
         "execution_count": 1, "outputs": [], "source": 'family = "hw8_mobilenet"'},
        {"cell_type": "code", "id": "p", "metadata": {"tags": ["injected-parameters"]},
         "execution_count": 2, "outputs": [], "source": '# Parameters\nfamily = "mobilenet"'},
        {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": 3,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": log}], "source": code},
    ]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


RECORD = {"run_id": "mobilenet-8000-s1-long", "family": "mobilenet", "tag": "long", "seed": 1,
          "params": {"total": 7974}, "macs": 1051094, "epochs_run": 30, "resumed": False}


def test_the_introduction_names_the_run_and_the_defaults_cell_is_collapsed():
    template = _notebook()
    described = notebooks.describe(_notebook(), RECORD, template)
    intro = described["cells"][0]["source"]
    assert intro.startswith("# mobilenet-8000-s1-long · 訓練紀錄 Training run")
    assert intro.split("\n")[2].startswith(
        "A recipe check (variant `long`, not on the budget curves): a MobileNet (depthwise-separable) "
        "of 7,974 parameters (1,051,094 multiply-adds per image), seed 1, trained with otherwise "
        "the shared recipe")
    assert "配方檢查（變體 `long`，不畫在預算曲線上）" in intro
    plain = notebooks.introduction({**RECORD, "tag": ""})
    assert "One budget point of the sweep: a MobileNet" in plain and "the shared recipe in" in plain
    kd = notebooks.introduction({**RECORD, "tag": "kd", "settings": {"teacher": "hw3_cnn-4746471-s0"}})
    assert "distilled from `hw3_cnn-4746471-s0`" in kd and "從 `hw3_cnn-4746471-s0` 蒸餾" in kd
    assert "`family`" not in intro
    assert len(described["cells"]) == 4  # nothing to note: same code, not resumed
    assert described["cells"][1]["metadata"]["tags"] == ["parameters", "hide-input"]
    nbformat.validate(nbformat.from_dict(described))


def test_a_resumed_run_says_which_epochs_its_log_shows_and_rewriting_is_idempotent():
    log = "".join(f"epoch {n:3d}   10.0s  loss 1.0\n" for n in range(14, 31))
    record = {**RECORD, "resumed": True}
    once = notebooks.describe(_notebook(log), record, _notebook())
    notes = once["cells"][1]
    assert notes["id"] == notebooks.NOTES_ID
    assert "the log below shows epochs 14–30 only; the learning curves show all 30 epochs" in notes["source"]
    assert "第 14–30 個週期" in notes["source"]
    twice = notebooks.describe(copy.deepcopy(once), record, _notebook())
    assert json.dumps(twice, sort_keys=True) == json.dumps(once, sort_keys=True)
    scored_only = notebooks.describe(_notebook(), record, _notebook())  # no epoch left to run
    assert "resumed only to be scored" in scored_only["cells"][1]["source"]


def test_describe_file_rewrites_in_place_and_a_second_pass_changes_no_byte(tmp_path):
    path = tmp_path / "run.ipynb"
    path.write_text(json.dumps(_notebook("epoch   2   1.0s\n")))
    record = {**RECORD, "resumed": True}
    notebooks.describe_file(path, record, _notebook())
    first = path.read_bytes()
    notebooks.describe_file(path, record, _notebook())
    assert path.read_bytes() == first and list(tmp_path.iterdir()) == [path]  # no temp file left
    assert "epoch 2 only" in json.loads(first)["cells"][1]["source"][0]


def test_an_earlier_template_and_a_relabel_are_noted_in_both_languages():
    old_cell = {"cell_type": "markdown", "id": "relabelled-mobilenet-8000-s1-long", "metadata": {},
                "source": "*Trained as `x` and relabelled*"}
    notebook = _notebook(code="old_train()")
    notebook["cells"].insert(1, old_cell)
    record = {**RECORD, "relabelled_from": {"run_id": "mobilenet-8000-s1", "reason": "why",
                                            "reason_zh": "原因"}}
    described = notebooks.describe(notebook, record, _notebook())
    ids = [c["id"] for c in described["cells"]]
    assert ids.count(notebooks.NOTES_ID) == 1 and old_cell["id"] not in ids
    text = described["cells"][1]["source"]
    assert "Trained as `mobilenet-8000-s1` and relabelled `mobilenet-8000-s1-long`: why." in text
    assert "原以 `mobilenet-8000-s1` 訓練，後改名為 `mobilenet-8000-s1-long`：原因。" in text
    assert "earlier version of the training notebook" in text and "較早的版本" in text


def test_the_committed_notebooks_are_described_from_their_records():
    """The sweep and scripts/describe_notebooks.py leave every notebook named for its run."""
    from helpers.results import RESULTS_DIR

    for path in sorted((RESULTS_DIR / "notebooks").glob("[!.]*.ipynb")):
        record_path = RESULTS_DIR / f"{path.stem}.json"
        assert record_path.exists(), f"{path} has no record"
        record = json.loads(record_path.read_text())
        cells = json.loads(path.read_text())["cells"]
        intro = "".join(cells[0]["source"])
        assert intro.startswith(f"# {record['run_id']} ·"), path
        assert f"{record['params']['total']:,} parameters" in intro, path
        notes = "".join(cells[1]["source"]) if cells[1].get("id") == notebooks.NOTES_ID else ""
        assert ("This run was interrupted" in notes) == bool(record.get("resumed")), path


def test_describe_notebooks_script_names_a_notebook_it_cannot_describe_and_goes_on(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "notebooks").mkdir()
    good, bad = tmp_path / "notebooks" / "a.ipynb", tmp_path / "notebooks" / "b.ipynb"
    good.write_text(json.dumps(_notebook()))
    untitled = _notebook()
    untitled["cells"][0]["source"] = "no title"
    bad.write_text(json.dumps(untitled))
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text(json.dumps({**RECORD, "run_id": name}))
    script = Path(__file__).resolve().parents[1] / "scripts" / "describe_notebooks.py"
    done = subprocess.run([sys.executable, str(script), "--out-dir", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 1 and f"{bad}: left as it is" in done.stderr
    assert "1 of 2 notebooks described" in done.stdout
    assert json.loads(good.read_text())["cells"][0]["source"][0].startswith("# a ·")
    assert json.loads(bad.read_text()) == untitled
