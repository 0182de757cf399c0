import numpy as np
import pytest

from helpers.results import decode_classes, encode_classes


def test_class_strings_round_trip():
    classes = np.array([0, 6, 3, 3, 1, 9])
    assert encode_classes(classes) == "063319"
    assert decode_classes("063319").tolist() == classes.tolist()
    assert decode_classes(encode_classes(np.array([], dtype=int))).size == 0


def test_class_strings_refuse_what_they_cannot_hold():
    with pytest.raises(ValueError, match="class index 10"):
        encode_classes(np.array([1, 10]))
    with pytest.raises(ValueError, match="not a digit string"):
        decode_classes("12a")
