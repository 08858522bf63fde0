"""Tables a reader can read: headers in words, no index, numbers formatted, fit to the column.

- :func:`table`: a DataFrame as a styled HTML table (a pandas ``Styler``): the columns chosen
  and renamed in words, no index, thousands separators, a sensible number of digits per
  column, yes/no for booleans, a dash for missing values; cells wrap, so the table fits the
  column where its words allow, and scrolls inside its own box where they do not (the book's
  CSS, ``book/_ext/static/book_page_fixes.css``), never widening the page;
- :func:`dropdown`: any displayable object (a table, a figure's HTML) folded under a one-line
  summary, drawn like the book's sphinx-design dropdowns and as a plain ``<details>`` in
  Jupyter and Colab;
- :func:`long_table`: :func:`table`, folded into a dropdown when it has more rows than a
  screen holds.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

#: Significant digits a number keeps by default (per column, from the column's typical size).
DIGITS = 3
#: A table with more rows than this is folded by :func:`long_table`.
MAX_ROWS = 12
MISSING = "–"
_CLASS = "tdnn-table"
_STYLES = [
    {"selector": "", "props": [("border-collapse", "collapse"), ("max-width", "100%"),
                               ("font-size", "0.9em"), ("margin", "0.5em 0 1em")]},
    {"selector": "th, td", "props": [("white-space", "normal"), ("overflow-wrap", "break-word"),
                                     ("padding", "0.25em 0.6em"), ("vertical-align", "top")]},
    {"selector": "th", "props": [("text-align", "left"), ("font-weight", "600"),
                                 ("border-bottom", "1px solid rgba(128, 128, 128, 0.5)")]},
    {"selector": "caption", "props": [("caption-side", "top"), ("text-align", "left"),
                                      ("padding-bottom", "0.3em")]},
    {"selector": "td.tdnn-number", "props": [("text-align", "right"),
                                             ("font-variant-numeric", "tabular-nums")]},
]


def header(name) -> str:
    """A column name in words: ``"p_reverse_holm"`` -> ``"p reverse holm"``, first letter up."""
    text = " ".join(str(name).replace("_", " ").split())
    return text[:1].upper() + text[1:]


def decimals(values, digits: int = DIGITS) -> int:
    """Decimals that give a column's typical (median nonzero absolute) value ``digits`` significant digits.

    0 for whole numbers and for values of ``10 ** digits`` or more; at most ``digits + 3``.
    """
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    numbers = np.abs(numbers[np.isfinite(numbers) & (numbers != 0)])
    if numbers.size == 0 or np.all(numbers == np.round(numbers)):
        return 0
    magnitude = math.floor(math.log10(float(np.median(numbers))))
    return int(min(max(digits - 1 - magnitude, 0), digits + 3))


def format_value(value, places: int) -> str:
    """One cell: thousands separators and ``places`` decimals for numbers, yes/no for booleans,
    :data:`MISSING` for None or NaN, items joined by commas for lists and arrays."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(format_value(v, places) for v in value)
    if _missing(value):
        return MISSING
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{float(value):,.{places}f}"
    return str(value)


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _given_format(given):
    """A user's format (a format string or a function), with missing values shown as :data:`MISSING`."""
    formatter = given.format if isinstance(given, str) else given
    return lambda value: MISSING if _missing(value) else formatter(value)


def _is_number_column(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def table(frame: pd.DataFrame, columns: Mapping | Sequence | None = None, *, digits: int = DIGITS,
          formats: Mapping | None = None, caption: str = ""):
    """``frame`` as a table a reader can read (a pandas ``Styler``; Jupyter and the book draw it).

    Parameters
    ----------
    frame : DataFrame; its index is not shown (make a column of it with ``reset_index()``).
    columns : the columns to show, in order: a mapping ``{column: header in words}``, or a
        list of columns (headers made by :func:`header`); default every column.
    digits : significant digits of a column's typical value (:func:`decimals`).
    formats : ``{column: format string or function}`` for columns that need their own (e.g.
        ``{"accuracy": "{:.1%}"}``), keyed by the original column name.
    caption : a line above the table.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"table needs a pandas DataFrame; got {type(frame).__name__}")
    labels = (dict(columns) if isinstance(columns, Mapping)
              else {c: header(c) for c in (frame.columns if columns is None else columns)})
    missing = [c for c in labels if c not in frame.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the frame; its columns: {list(frame.columns)}")
    formats = dict(formats or {})
    unknown = [c for c in formats if c not in labels]
    if unknown:
        raise ValueError(f"formats names {unknown}, which are not shown; shown: {list(labels)}")
    shown = frame[list(labels)].reset_index(drop=True)
    shown.columns = [labels[c] for c in labels]
    cell_formats = {}
    for name, label in labels.items():
        given = formats.get(name)
        if given is not None:
            cell_formats[label] = _given_format(given)
        else:
            places = decimals(frame[name], digits) if _is_number_column(frame[name]) else 0
            cell_formats[label] = lambda v, places=places: format_value(v, places)
    numeric = [labels[c] for c in labels if _is_number_column(frame[c])]
    styler = (shown.style.hide(axis="index").format(cell_formats)
              .set_table_attributes(f'class="{_CLASS}"').set_table_styles(_STYLES))
    if numeric:
        styler = styler.set_td_classes(pd.DataFrame(
            [["tdnn-number" if c in numeric else "" for c in shown.columns]] * len(shown),
            columns=shown.columns))
    return styler.set_caption(caption) if caption else styler


class Dropdown:
    """Something displayable, folded under a one-line summary (see :func:`dropdown`)."""

    def __init__(self, content, summary: str, open_: bool = False):
        self.content, self.summary, self.open = content, str(summary), bool(open_)

    def _repr_html_(self) -> str:
        inner = _html_of(self.content)
        state = " open" if self.open else ""
        return (f'<details class="sd-sphinx-override sd-dropdown sd-card sd-mb-3 tdnn-dropdown"{state}>'
                f'<summary class="sd-summary-title sd-card-header">'
                f'<span class="sd-summary-text">{html.escape(self.summary)}</span></summary>'
                f'<div class="sd-summary-content sd-card-body">{inner}</div></details>')


def _html_of(content) -> str:
    if hasattr(content, "to_html") and hasattr(content, "hide"):  # a Styler
        return content.to_html()
    if hasattr(content, "_repr_html_"):
        return content._repr_html_()
    if isinstance(content, pd.DataFrame):
        return table(content).to_html()
    return html.escape(str(content))


def dropdown(content, summary: str, *, open_: bool = False) -> Dropdown:
    """``content`` (a :func:`table`, a DataFrame, anything with ``_repr_html_``, or text) folded
    under ``summary``; displayed by Jupyter, Colab and the book as a ``<details>`` element."""
    if not str(summary).strip():
        raise ValueError("summary is empty; say in a few words what the dropdown holds")
    return Dropdown(content, summary, open_)


def long_table(frame: pd.DataFrame, columns: Mapping | Sequence | None = None, *, summary: str = "",
               max_rows: int = MAX_ROWS, **options):
    """:func:`table`, folded into a :func:`dropdown` when ``frame`` has more than ``max_rows`` rows.

    ``summary`` defaults to "The table (N rows)"; ``options`` go to :func:`table`.
    """
    styled = table(frame, columns, **options)
    if len(frame) <= max_rows:
        return styled
    return dropdown(styled, summary or f"The table ({len(frame):,} rows)")
