"""Rewrite every executed training notebook's introduction and notes from its record.

The sweep does this as each run finishes (``helpers.notebooks``); this brings
notebooks written by earlier versions up to date.  Idempotent and atomic per
notebook; records, outputs and code are left as they are (the defaults cell is
collapsed with a ``hide-input`` tag).  A notebook that cannot be described is
named and left as it is; the exit status is then 1.

    python scripts/describe_notebooks.py            # every results/notebooks/*.ipynb
"""

from __future__ import annotations

import argparse
import json
import sys
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
    described, failed = 0, 0
    for path in paths:
        record_path = out_dir / f"{path.stem}.json"
        if not record_path.exists():
            print(f"{path}: no record {record_path.name}, left as it is")
            continue
        try:
            notebooks.describe_file(path, json.loads(record_path.read_text()), template)
        except (OSError, ValueError, KeyError, StopIteration) as exc:
            print(f"{path}: left as it is ({type(exc).__name__}: {exc})", file=sys.stderr)
            failed += 1
        else:
            described += 1
    print(f"{described} of {len(paths)} notebooks described")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
