"""Give a finished run another run id (tag), keeping its settings and config hash.

The config hash covers the settings only, never the run id or tag, so a run
that was trained as a tagged recipe check is the result of an untagged point
once the default recipe becomes what the check tried (and the other way
round).  This moves the record, executed notebook and weights, and writes the
old id into the record (``relabelled_from``) and at the top of the notebook so
the provenance stays visible.  Atomic per file; refuses to overwrite.

    python scripts/relabel_run.py mobilenet-42167-s2-nostop mobilenet-42167-s2 \
        --reason "..." --reason-zh "..."
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from helpers import notebooks
from helpers.atomic import atomic_path
from helpers.distill import TEACHERS_DIR
from helpers.results import results_dir, run_id, write_json_atomic, write_text_atomic
from helpers.sweep import load_points


def relabel(old: str, new: str, reason: str, out_dir: Path, reason_zh: str = "") -> None:
    record_path, new_path = out_dir / f"{old}.json", out_dir / f"{new}.json"
    if not record_path.exists():
        raise SystemExit(f"{record_path}: no such run record")
    if new_path.exists():
        raise SystemExit(f"{new_path} exists: move it away first")
    record = json.loads(record_path.read_text())
    family_seed = run_id(record["family"], record["target_params"], record["seed"])
    tag = new[len(family_seed) + 1:] if new.startswith(family_seed + "-") else ""
    if new != run_id(record["family"], record["target_params"], record["seed"], tag):
        raise SystemExit(f"{new}: a new id must keep {family_seed} (only the tag changes)")
    students = [p.run_id for p in load_points() if p.config.teacher == old]
    if students or (out_dir / TEACHERS_DIR / f"{old}.npz").exists():
        raise SystemExit(f"{old} is a teacher ({', '.join(students) or 'cached soft labels'}): "
                         "its students name it by run id, so it keeps it")
    record.update(run_id=new, tag=tag,
                  relabelled_from={"run_id": old, "reason": reason,
                                    **({"reason_zh": reason_zh} if reason_zh else {})})
    moves = []
    for key in ("weights", "local_weights"):
        if record.get(key):
            moved = record[key].replace(old, new)
            moves.append((out_dir / record[key], out_dir / moved))
            record[key] = moved
    notebook = out_dir / "notebooks" / f"{old}.ipynb"
    targets = [dst for _, dst in moves] + [out_dir / "notebooks" / f"{new}.ipynb"]
    if any(t.exists() for t in targets):
        raise SystemExit(f"{', '.join(str(t) for t in targets if t.exists())} exists: "
                         "move it away first")
    if notebook.exists():
        nb = notebooks.describe(json.loads(notebook.read_text()), record,
                                notebooks.template_notebook())
        write_text_atomic(out_dir / "notebooks" / f"{new}.ipynb", notebooks.notebook_text(nb))
    # Every new file first, the record last; only then remove the old ones, so a
    # crash part-way leaves the old run whole (and the new files to delete).
    for src, dst in moves:
        if src.exists():
            with atomic_path(dst, suffix=dst.suffix) as tmp:
                shutil.copy2(src, tmp)
    write_json_atomic(new_path, record)
    for old_file in [record_path, notebook, *(src for src, _ in moves)]:  # the record first
        old_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--reason", required=True, help="why, in English")
    parser.add_argument("--reason-zh", default="", help="why, in Chinese (the report is bilingual)")
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    relabel(args.old, args.new, args.reason, Path(args.out_dir or results_dir()), args.reason_zh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
