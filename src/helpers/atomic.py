"""Files written so that a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp", *,
                allow_empty: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed over it only if the block succeeds.

    Write the new content to the yielded path (any library that takes a file name
    will do); it is fsynced and renamed over ``path`` when the block ends, and
    removed if the block raises.  ``suffix`` is for libraries that insist on one
    (Keras wants ``.weights.h5``, NumPy appends ``.npz`` to any other name); the
    default ``.tmp`` keeps the temporary out of a ``*.json`` glob of the results
    (``pathlib`` globs match names starting with a dot).  An empty temporary
    means the library wrote somewhere else (a suffix it did not accept): that
    raises rather than replace ``path`` with nothing, unless ``allow_empty``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.{secrets.token_hex(6)}{suffix}")
    # Created 0666 and left to the umask, like any file the user writes; O_EXCL: ours alone.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        if not allow_empty and tmp.stat().st_size == 0:
            raise OSError(f"nothing was written to {tmp} for {path}; the writer may have "
                          f"changed the name (suffix {suffix!r}); {path} was left as it was")
        fd = os.open(tmp, os.O_RDONLY)  # fsync needs no write permission (copies keep modes)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
