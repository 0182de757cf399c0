"""Add per-image predictions and flip-averaged scores to run records made before them.

Re-scores each such record's saved weights on the validation and test splits,
checks the confusion matrices against the recorded ones, and writes the
predictions, the flip-averaged scores (and the split labels in
``dataset_summary.json``) atomically.

    python scripts/backfill_scores.py [--results results/] [--data-path fer2013.csv.gz]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv: list[str] | None = None) -> int:
    from helpers.data import load_fer2013
    from helpers.results import results_dir
    from helpers.training import backfill_scores

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--data-path", default=None)
    args = parser.parse_args(argv)
    done = backfill_scores(args.results or results_dir(), load_fer2013(args.data_path))
    print(f"re-scored {len(done['updated'])} record(s): "
          f"{', '.join(done['updated']) or '—'}")
    if done["skipped"]:
        print(f"no weights kept here, so not re-scored: {', '.join(done['skipped'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
