"""The recipe trials' validation table (trials.yml, trained into results/trials/).

Each trial changes one setting of the curve recipe on the HW8 listing; the long
recipe is chosen on these validation numbers only, never on PublicTest or
PrivateTest (the records hold those scores too; this table leaves them out).

    python -m helpers.sweep --plan trials.yml --out results/trials
    python scripts/recipe_trials.py            # a Markdown table on stdout
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from helpers.config import load_plan
from helpers.records import read_record, record_path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ("optimizer", "learning_rate", "weight_decay", "shift", "rotation", "zoom",
            "label_smoothing")


def trials_table(plan: Path = ROOT / "trials.yml",
                 results: Path = ROOT / "results" / "trials") -> pd.DataFrame:
    """One row per trial: what it changes from the first trial, and its validation scores."""
    configs = load_plan(plan)
    base = configs[0].to_dict()
    rows = []
    for config in configs:
        path = record_path(config.run_id, results)
        changes = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in config.to_dict().items()
                            if k in SETTINGS and v != base[k]) or "(the curve recipe)"
        row = {"trial": config.ablation, "changes": changes, "epochs": config.epochs}
        if path.exists():
            record = read_record(path)
            history = record.history
            row |= {"best val": max(history["val_accuracy"]), "best epoch": record.best_epoch,
                    "last val": history["val_accuracy"][-1],
                    "last train": history["accuracy"][-1],
                    "gap": history["accuracy"][-1] - history["val_accuracy"][-1]}
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", type=Path, default=ROOT / "trials.yml")
    parser.add_argument("--results", type=Path, default=ROOT / "results" / "trials")
    args = parser.parse_args(argv)
    table = trials_table(args.plan, args.results)
    print(table.to_markdown(index=False, floatfmt=".4f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
