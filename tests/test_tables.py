"""Tables in words: chosen columns, no index, numbers formatted, long ones folded."""

import re

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import tables


def cells(styled) -> list[str]:
    return re.findall(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", styled.to_html(), flags=re.S)


def test_table_shows_the_chosen_columns_in_words_without_index():
    frame = pd.DataFrame({"n_a": [30, 1234567], "p_reverse_holm": [0.01234, 0.5], "ignored": [1, 2]},
                         index=[7, 8])
    shown = cells(tables.table(frame, {"n_a": "Networks", "p_reverse_holm": "p (reverse, Holm)"}))
    assert shown == ["Networks", "p (reverse, Holm)", "30", "0.012", "1,234,567", "0.500"]
    assert [tables.header(c) for c in ("at_100", "median_b")] == ["At 100", "Median b"]


def test_cells_booleans_lists_missing_and_own_formats():
    frame = pd.DataFrame({"ok": [True, False], "betti": [[1, 0], [2, 1]], "acc": [0.9876, np.nan],
                          "ratio": [899643.5, 12.25]})
    shown = cells(tables.table(frame, formats={"acc": "{:.1%}"}))
    assert shown[4:] == ["yes", "1, 0", "98.8%", "899,644", "no", "2, 1", tables.MISSING, "12"]


def test_decimals_follow_the_columns_typical_size():
    assert tables.decimals([0.01234, 0.02]) == 4
    assert tables.decimals([12.5, 13.25]) == 1
    assert tables.decimals([3.0, 4.0]) == 0
    assert tables.decimals([np.nan]) == 0


def test_bad_columns_and_formats_are_named():
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(ValueError, match=r"\['b'\].*\['a'\]"):
        tables.table(frame, ["b"])
    with pytest.raises(ValueError, match=r"\['c'\]"):
        tables.table(frame, formats={"c": "{:.1f}"})
    with pytest.raises(TypeError, match="DataFrame"):
        tables.table([1, 2])
    with pytest.raises(ValueError, match="summary"):
        tables.dropdown("x", " ")


def test_long_tables_fold_into_a_dropdown_short_ones_do_not():
    short = tables.long_table(pd.DataFrame({"a": range(3)}))
    assert "<details" not in short.to_html()
    folded = tables.long_table(pd.DataFrame({"a": range(20)}), max_rows=12)._repr_html_()
    assert folded.startswith("<details") and "The table (20 rows)" in folded and folded.count("<tr") == 21
