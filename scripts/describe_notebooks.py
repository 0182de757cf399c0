"""Rewrite every executed training notebook's introduction and notes from its record.

The sweep does this as each run finishes (``helpers.notebooks``); this brings
notebooks written by earlier versions up to date.  Idempotent and atomic per
notebook; records, outputs and code cells are left as they are.

    python scripts/describe_notebooks.py            # every results/notebooks/*.ipynb
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from helpers import notebooks
from helpers.results import results_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=None, help="results folder")
    args = parser.parse_args(argv)
    out_dir = Path(args.out_dir or results_dir())
    template = notebooks.template_notebook()
    paths = sorted((out_dir / "notebooks").glob("[!.]*.ipynb"))  # not a running sweep's partial ones
    for path in paths:
        record_path = out_dir / f"{path.stem}.json"
        if not record_path.exists():
            print(f"{path}: no record {record_path.name}, left as it is")
            continue
        notebooks.describe_file(path, json.loads(record_path.read_text()), template)
    print(f"{len(paths)} notebooks described")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
