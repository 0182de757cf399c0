"""How an executed training notebook introduces itself in the appendix.

Papermill runs one template for every point, so the template's opening words
cannot name the model.  After a run, its record fills them in: what was
trained, whether the log covers every epoch (a resumed run logs only its last
session), whether the run was relabelled, and whether it used an earlier
version of the template.  Rewriting is idempotent, so the committed notebooks
can be brought up to date with ``scripts/describe_notebooks.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .results import write_text_atomic

NOTES_ID = "run-notes"
_OLD_NOTES_PREFIX = "relabelled-"  # the cell scripts/relabel_run.py inserted before this module
_EPOCH_LINE = re.compile(r"^epoch\s+(\d+)\b", re.MULTILINE)

_NAMES = {"mobilenet": ("MobileNet（深度可分離）", "a MobileNet (depthwise-separable)"),
          "plain_cnn": ("一般 CNN（標準卷積）", "a plain CNN (standard convolutions)"),
          "hw3_cnn": ("HW3 CNN", "the HW3 CNN"),
          "hw8_mobilenet": ("HW8 MobileNet", "the HW8 MobileNet")}


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _program(cells: list[dict]) -> list[str]:
    """The code a run executes, without the parameter cells papermill fills in."""
    return [_source(c).strip() for c in cells if c.get("cell_type") == "code"
            and not {"parameters", "injected-parameters"} & set(_tags(c))]


def logged_epochs(notebook: dict) -> list[int]:
    """The epoch numbers the run's log printed (1-based), in order."""
    found = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                found += [int(n) for n in _EPOCH_LINE.findall(_source({"source": output["text"]}))]
    return found


def _what_zh_en(record: dict) -> tuple[str, str]:
    """What kind of run this is: a budget point, a reference model, or a recipe check."""
    tag, family = record.get("tag", ""), record["family"]
    teacher = record.get("settings", {}).get("teacher", "")
    if tag:
        zh = f"配方檢查（變體 `{tag}`，不畫在預算曲線上）"
        en = f"A recipe check (variant `{tag}`, not on the budget curves)"
        if teacher:
            zh += f"，從 `{teacher}` 蒸餾"
            en += f", distilled from `{teacher}`"
        return zh, en
    if family in ("hw3_cnn", "hw8_mobilenet"):
        return "參考模型之一（與參考報告的參數量完全相同）", "One of the two reference models (the reference report's exact parameter count)"
    return "掃描中的一個參數預算點", "One budget point of the sweep"


def introduction(record: dict) -> str:
    """The title and opening paragraphs: the run's own model, in both languages."""
    zh_name, en_name = _NAMES.get(record["family"], (record["family"], record["family"]))
    what_zh, what_en = _what_zh_en(record)
    params, macs = f"{record['params']['total']:,}", f"{record['macs']:,}"
    recipe_zh = "其餘照共同配方" if record.get("tag") else "共同配方"
    recipe_en = "otherwise the shared recipe" if record.get("tag") else "the shared recipe"
    return (
        f"# {record['run_id']} · 訓練紀錄 Training run\n\n"
        f"{what_en}: {en_name} of {params} parameters ({macs} multiply-adds per image), seed "
        f"{record['seed']}, trained with {recipe_en} in `helpers.training`. The cell headed "
        "`# Parameters` holds the settings it ran with; the collapsed cell above it holds the "
        "notebook's defaults. Rerun it with papermill (see *Reproduce*).\n\n"
        f"本筆記本是{what_zh}：{zh_name}，{params} 個參數（每張圖 {macs} 次乘加），種子 {record['seed']}，"
        f"以 `helpers.training` 的{recipe_zh}訓練。標題為 `# Parameters` 的儲存格是這次訓練的設定；"
        "其上方收合的儲存格是筆記本的預設值。可用 papermill 重跑（見「重現」）。\n")


def notes(notebook: dict, record: dict, template: dict | None = None) -> list[tuple[str, str]]:
    """What a reader of this run's notebook should know first: (English, Chinese) pairs."""
    found = []
    moved = record.get("relabelled_from")
    if moved:
        reason_zh = moved.get("reason_zh", moved["reason"])
        found.append((f"Trained as `{moved['run_id']}` and relabelled `{record['run_id']}`: "
                      f"{moved['reason']}. Settings and config hash unchanged; the parameters "
                      "below are those it ran with.",
                      f"原以 `{moved['run_id']}` 訓練，後改名為 `{record['run_id']}`：{reason_zh}。"
                      "設定與 config hash 都沒有變；下面的參數就是它訓練時用的。"))
    if record.get("resumed"):
        epochs = logged_epochs(notebook)
        if epochs:
            span_en = f"epochs {epochs[0]}–{epochs[-1]}" if len(epochs) > 1 else f"epoch {epochs[0]}"
            span_zh = f"第 {epochs[0]}–{epochs[-1]} 個週期" if len(epochs) > 1 else f"第 {epochs[0]} 個週期"
            found.append((f"This run was interrupted and resumed from its checkpoint: the log below "
                          f"shows {span_en} only; the learning curves show all "
                          f"{record['epochs_run']} epochs.",
                          f"這次訓練曾中斷，之後從檢查點接續：下方的紀錄只列出{span_zh}，"
                          f"學習曲線則畫出全部 {record['epochs_run']} 個週期。"))
        else:  # every epoch had run before: the last session only scored the model
            found.append((f"This run was interrupted after its last epoch and resumed only to be "
                          f"scored, so the log below shows no epoch; the learning curves show all "
                          f"{record['epochs_run']} epochs.",
                          f"這次訓練在最後一個週期後中斷，接續時只做評分，所以下方沒有週期紀錄；"
                          f"學習曲線畫出全部 {record['epochs_run']} 個週期。"))
    if template is not None and _program(notebook["cells"]) != _program(template["cells"]):
        found.append(("This run used an earlier version of the training notebook, so its code "
                      "differs from today's `book/runs/train.md`; what it trained is in the "
                      "`# Parameters` cell and its record.",
                      "這次訓練用的是訓練筆記本較早的版本，程式碼與現在的 `book/runs/train.md` 不同；"
                      "它訓練了什麼，見 `# Parameters` 儲存格與它的紀錄。"))
    return found


def describe(notebook: dict, record: dict, template: dict | None = None) -> dict:
    """``notebook`` with its title, introduction and notes set from ``record`` (in place)."""
    cells = [c for c in notebook["cells"] if not str(c.get("id", "")).startswith(
        (NOTES_ID, _OLD_NOTES_PREFIX))]
    title = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                 and _source(c).startswith("# "))
    cells[title]["source"] = introduction(record)
    found = notes({"cells": cells}, record, template)
    if found:
        text = "\n".join(f"- *{en}*\n  \n  *{zh}*" for en, zh in found)
        cells.insert(title + 1, {"cell_type": "markdown", "id": NOTES_ID, "metadata": {},
                                 "source": text})
    for cell in cells:  # the defaults: shown on demand, so they are not taken for this run's
        if "parameters" in _tags(cell) and "hide-input" not in _tags(cell):
            cell.setdefault("metadata", {})["tags"] = [*_tags(cell), "hide-input"]
    notebook["cells"] = cells
    return notebook


def template_notebook() -> dict:
    """Today's training notebook (``book/runs/train.md``) as notebook JSON."""
    import jupytext

    from .sweep import NOTEBOOK
    return json.loads(jupytext.writes(jupytext.read(NOTEBOOK), fmt="ipynb"))


def notebook_text(notebook: dict) -> str:
    """A notebook as nbformat writes it (validated, one line per source string)."""
    import nbformat

    return nbformat.writes(nbformat.from_dict(notebook)) + "\n"


def describe_file(path: Path, record: dict, template: dict | None = None) -> None:
    """Rewrite one executed notebook's introduction and notes, atomically."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    described = describe(notebook, record, template or template_notebook())
    write_text_atomic(path, notebook_text(described))
