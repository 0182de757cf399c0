"""The book's one table style: numbers right-aligned and unwrapped, text left alone."""

import re

import pandas as pd

from helpers import plots
from helpers.formats import acc, count


def test_numeric_columns_and_their_headers_are_right_aligned_and_unwrapped():
    frame = pd.DataFrame({"Private": ["0.4921 ± 0.0068", "—"], "模型 Model": ["MobileNet", "HW3"],
                          "參數 Params": [8099, 56135], "acc": [0.61, 0.62]})
    html = plots.table(frame, {"參數 Params": count, "acc": acc}).to_html()
    for cell in ("td", "th"):
        right = set(re.findall(cell + r"\.col(\d) \{\s*text-align: right;\s*white-space: nowrap",
                               html))
        assert right == {"0", "2", "3"}, (cell, right)
    assert "8,099" in html and "0.6100" in html
    assert 'class="row_heading' not in html  # the index is hidden
