"""Import TensorFlow/Keras without its C++ start-up chatter in every notebook."""

from __future__ import annotations

import os
import sys
from types import ModuleType


def import_keras() -> ModuleType:
    """``import keras`` with TensorFlow's absl/oneDNN banner sent to /dev/null.

    The banner is written by C++ straight to file descriptor 2, so neither
    ``warnings`` nor ``TF_CPP_MIN_LOG_LEVEL`` silences all of it; Python
    errors still propagate normally.
    """
    if "tensorflow" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        sys.stderr.flush()
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
    import keras
    return keras


def import_tensorflow() -> ModuleType:
    """``import tensorflow``, quietly (see :func:`import_keras`)."""
    import_keras()
    import tensorflow
    return tensorflow
