"""Files written so that a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_UMASK = os.umask(0o022)  # read once, at import, before any thread could be creating files
os.umask(_UMASK)


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path``, renamed over it only if the block succeeds.

    Write the new content to the yielded path (any library that takes a file name
    will do); it is fsynced and renamed over ``path`` when the block ends, and
    removed if the block raises.  ``suffix`` is for libraries that insist on one
    (Keras wants ``.weights.h5``, NumPy appends ``.npz`` to any other name).  The
    temporary name starts with a dot and contains ``.tmp``, so a glob for results
    never sees it and a leftover is easy to spot.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_UMASK)  # mkstemp's 0600 would make results unreadable to others
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
