"""The plotly figures the chapters share, the book's template, and :func:`show`, which displays them everywhere.

In the rendered book plotly.js is served once from the book's own files, so figures are
emitted as HTML that only *calls* plotly.js; Jupyter gets the plotly JSON as well, and Colab
gets its own renderer.

Every figure made after this module is imported uses the template ``"plotly_white+book"``
(:data:`TEMPLATE`): transparent backgrounds and grey text and grid lines, which read on the
book's light and dark pages alike (the book's ``_static/plotly-theme-sync.js`` sets the text
colour when the reader switches theme), the colour-blind-safe palette of
:mod:`tdnn_utils.colours`, cividis for continuous values, and a legend that sits below the
plot so that the plot keeps its width on a phone. Figures set no width: they take the
column's. Titles stay short (:func:`wrap_title` breaks them for a phone's width); each
series has a marker symbol and a dash besides its colour (:func:`series_style`); a true value
is drawn with :func:`truth_line`.
"""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from .validation import check_columns, check_diagram
from .colours import DASHES, NEUTRAL, SAFE, SEQUENTIAL, SYMBOLS

CLASS_COLOURS = SAFE[:6]
DIMENSION_COLOURS = SAFE[:3]
DIMENSION_SYMBOLS = ("circle", "diamond", "square")
SERIES_COLOURS = SAFE
#: One colour, marker symbol and dash per activation, the same in every figure of the book.
ACTIVATION_COLOURS = {"relu": SAFE[0], "leaky_relu": SAFE[2], "tanh": SAFE[1], "sigmoid": SAFE[3],
                      "gelu": SAFE[4], "silu": SAFE[5], "elu": SAFE[6], "softplus": SAFE[7]}
_ACTIVATION_ORDER = tuple(ACTIVATION_COLOURS)
#: Grey of grid lines and axis lines: visible on a white and on a near-black page.
GRID = "rgba(128, 128, 128, 0.25)"
#: Characters per line of a figure title: about what a phone's 390 px column holds at 14 px.
TITLE_WIDTH = 44
PHONE_HEIGHT = 420

_AXIS = dict(gridcolor=GRID, zerolinecolor=GRID, linecolor=GRID, automargin=True,
             title=dict(standoff=6))
_SCENE_AXIS = dict(backgroundcolor="rgba(0, 0, 0, 0)", gridcolor=GRID, zerolinecolor=GRID,
                   linecolor=GRID, showbackground=False)
#: The book's plotly template, layered on ``plotly_white`` (see the module's note).
TEMPLATE = go.layout.Template(layout=dict(
    colorway=list(SAFE),
    colorscale=dict(sequential=SEQUENTIAL, sequentialminus=SEQUENTIAL, diverging="RdBu"),
    paper_bgcolor="rgba(0, 0, 0, 0)", plot_bgcolor="rgba(0, 0, 0, 0)",
    font=dict(color="#808080", size=13),
    title=dict(x=0.01, xanchor="left", font=dict(size=14)),
    margin=dict(l=50, r=10, t=50, b=40),
    legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left",
                bgcolor="rgba(0, 0, 0, 0)", itemsizing="constant", font=dict(size=12)),
    xaxis=_AXIS, yaxis=_AXIS,
    scene=dict(bgcolor="rgba(0, 0, 0, 0)", xaxis=_SCENE_AXIS, yaxis=_SCENE_AXIS, zaxis=_SCENE_AXIS),
    coloraxis=dict(colorbar=dict(thickness=12, outlinewidth=0)),
    hoverlabel=dict(namelength=-1),
))


def use_book_template() -> None:
    """Make ``"plotly_white+book"`` the default template of every new plotly figure."""
    pio.templates["book"] = TEMPLATE
    pio.templates.default = "plotly_white+book"


use_book_template()


def series_style(name, i: int) -> dict:
    """Colour, marker symbol and line dash of series ``name``, the ``i``-th drawn.

    An activation keeps its own three everywhere; other series take the ``i``-th of
    :data:`SERIES_COLOURS`, :data:`tdnn_utils.colours.SYMBOLS` and :data:`tdnn_utils.colours.DASHES`.
    Returns ``{"color", "symbol", "dash"}``.
    """
    key = str(name)
    j = _ACTIVATION_ORDER.index(key) if key in ACTIVATION_COLOURS else i
    return {"color": ACTIVATION_COLOURS.get(key, SERIES_COLOURS[i % len(SERIES_COLOURS)]),
            "symbol": SYMBOLS[j % len(SYMBOLS)], "dash": DASHES[j % len(DASHES)]}


def _line_marker(name, i: int, *, size: float = 7, width: float = 2) -> dict:
    """``line=`` and ``marker=`` keywords of a lines-and-markers trace of series ``name``."""
    style = series_style(name, i)
    return {"line": dict(color=style["color"], dash=style["dash"], width=width),
            "marker": dict(color=style["color"], symbol=style["symbol"], size=size)}


def series_colour(name, i: int) -> str:
    """The colour of series ``name``, the ``i``-th drawn: its activation's colour if it is one."""
    return ACTIVATION_COLOURS.get(str(name), SERIES_COLOURS[i % len(SERIES_COLOURS)])


def _html(fig: go.Figure, figure_json: str, suffix: str = "") -> str:
    # A stable id keeps re-runs of a chapter from rewriting every figure in git.
    div_id = "fig-" + hashlib.sha1(figure_json.encode()).hexdigest()[:12] + suffix
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id)


def show(fig: go.Figure) -> None:
    """Display ``fig`` in a notebook so that the book, JupyterLab and Colab all draw it."""
    if "google.colab" in sys.modules:
        fig.show(renderer="colab")
        return
    from IPython.display import display

    figure_json = fig.to_json()
    bundle = {
        "text/html": _html(fig, figure_json),
        "application/vnd.plotly.v1+json": json.loads(figure_json),
    }
    display(bundle, raw=True)


class _Glued:
    """A figure as the HTML the book draws, for ``myst_nb.glue``."""

    def __init__(self, html: str):
        self.html = html

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html}


def glue_figure(name: str, fig: go.Figure) -> None:
    """Keep ``fig`` under ``name`` for the page's text, e.g. a key-result box (```{glue} name```).

    Nothing is displayed: show the figure where it belongs with :func:`show`. The glued copy
    has its own element id, so the page can draw both. Does nothing outside a kernel with
    myst-nb (Colab).
    """
    try:
        from IPython import get_ipython
        from myst_nb import glue
    except ImportError:
        return
    if get_ipython() is not None:
        glue(name, _Glued(_html(fig, fig.to_json(), suffix="-" + name)), display=False)


def wrap_title(title: str, width: int = TITLE_WIDTH) -> str:
    """``title`` broken into lines of at most ``width`` characters (plotly does not wrap)."""
    return "<br>".join(textwrap.wrap(str(title), width)) if title else ""


def _panels(n: int, **options) -> go.Figure:
    """``n`` panels side by side; an empty table (no panel to draw) gives one empty panel."""
    return make_subplots(rows=1, cols=max(1, n), **options)


def _layout(fig: go.Figure, title: str, height: int, **margins) -> go.Figure:
    """The book's layout: a wrapped title at the top with room for its lines and for the panels'
    titles below it, no fixed width; ``margins`` override the margins (``l``, ``r``, ``t``, ``b``)."""
    text = wrap_title(title)
    lines = text.count("<br>") + 1 if text else 0
    panel_titles = any(a.text for a in fig.layout.annotations)
    margin = dict(t=(18 + 18 * lines if text else 20) + (18 if panel_titles else 0))
    margin.update(margins)
    total = height + 18 * max(0, lines - 1)
    # anchored at its top, a title of several lines is drawn about 10 px higher than one line
    fig.update_layout(title=dict(text=text, yref="container", y=1 - (18 if lines > 1 else 8) / total,
                                 yanchor="top"),
                      height=total, margin=margin, autosize=True)
    fig.update_annotations(font=dict(size=12))  # subplot titles: short, and side by side on a phone
    return fig


def truth_line(fig: go.Figure, value: float, *, label: str = "true value", axis: str = "y",
               row: int | None = None, col: int | None = None) -> go.Figure:
    """Draw the true value ``value`` as a dashed grey line across the plot, labelled ``label``.

    ``axis="y"`` draws a horizontal line at y = ``value`` (e.g. a class's true Betti number
    against layer or scale), ``"x"`` a vertical one. ``row`` and ``col`` pick the panel of a
    figure with subplots (default: every panel). Returns ``fig``.
    """
    if axis not in ("x", "y"):
        raise ValueError(f"axis={axis!r} is unknown; use 'x' or 'y'")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"value={value!r} must be a finite number")
    where = {} if row is None and col is None else {"row": row or 1, "col": col or 1}
    line = dict(color=NEUTRAL, width=1.5, dash="dash")
    note = dict(annotation_text=label, annotation_font=dict(size=11, color=NEUTRAL))
    if axis == "y":
        fig.add_hline(y=value, line=line, annotation_position="top left", **note, **where)
    else:
        fig.add_vline(x=value, line=line, annotation_position="top right", **note, **where)
    return fig


def subsample(n_points: int, max_points: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n_points`` rows, drawn without replacement."""
    if n_points <= max_points:
        return np.arange(n_points)
    return np.sort(np.random.default_rng(seed).choice(n_points, max_points, replace=False))


def point_cloud(X, y, *, max_points: int = 3000, seed: int = 0, title: str = "",
                marker_size: float = 2.0) -> go.Figure:
    """A 2-D or 3-D scatter of the points ``X`` (n_points, 2 or 3) coloured by class ``y``.

    At most ``max_points`` points are drawn (a seeded subsample, for display only).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] not in (2, 3) or len(X) != len(y):
        raise ValueError(f"point_cloud needs X of shape (n, 2 or 3) and y of shape (n,); "
                         f"got {X.shape} and {y.shape}")
    keep = subsample(len(X), max_points, seed)
    shown = f" ({len(keep):,} of {len(X):,} points shown)" if len(keep) < len(X) else ""
    X, y = X[keep], y[keep]
    fig = go.Figure()
    for i, label in enumerate(np.unique(y)):
        points = X[y == label]
        marker = dict(size=marker_size, color=CLASS_COLOURS[i % len(CLASS_COLOURS)],
                      symbol=SYMBOLS[i % len(SYMBOLS)])
        name = f"class {label}"
        if X.shape[1] == 3:
            fig.add_trace(go.Scatter3d(x=points[:, 0], y=points[:, 1], z=points[:, 2],
                                       mode="markers", marker=marker, name=name))
        else:
            fig.add_trace(go.Scattergl(x=points[:, 0], y=points[:, 1], mode="markers",
                                       marker=marker, name=name))
    _layout(fig, title + shown, 460, l=10, r=10)
    if X.shape[1] == 3:
        fig.update_layout(scene=dict(aspectmode="data", xaxis_title="x", yaxis_title="y",
                                     zaxis_title="z"))
    else:
        fig.update_xaxes(title_text="x")
        fig.update_yaxes(title_text="y", scaleanchor="x")
    return fig


def betti_by_layer(table: pd.DataFrame, *, series: str = "label", facet: str = "dim",
                   title: str = "", spread: str = "std", reference: pd.DataFrame | None = None,
                   reference_name: str = "paper (read off its figures)") -> go.Figure:
    """Betti number against layer: one line per value of ``series``, one panel per ``facet``.

    ``table`` is tidy (columns ``depth``, ``layer``, ``betti`` and the ``series``/``facet``
    columns, as :func:`tdnn_utils.topology.betti_by_layer` returns, possibly stacked over
    seeds). Rows that share (facet, series, depth) are averaged; error bars show their
    standard deviation (``spread="std"``) or their min-max range (``spread="range"``), or a
    shaded band shows the standard deviation (``spread="band"``), cut at 0 below: a Betti
    number is never negative.
    ``reference`` (columns ``series``, ``facet``, ``depth``, ``value``) is drawn as open
    diamonds in the series' colours, named ``reference_name``: e.g. a paper's values.
    """
    check_columns(table, ["depth", "layer", "betti", series, facet], numeric=["depth", "betti"],
                  complete=["depth", series, facet])
    if spread not in ("std", "range", "band"):
        raise ValueError(f"spread={spread!r} is unknown; use 'std', 'range' or 'band'")
    stats = (table.groupby([facet, series, "depth"])["betti"]
             .agg(["mean", "std", "min", "max", "count"]).reset_index().fillna({"std": 0.0}))
    layer_names = table.drop_duplicates("depth").sort_values("depth")
    facets = sorted(stats[facet].unique())
    fig = _panels(len(facets), shared_xaxes=True,
                        subplot_titles=[f"{facet} = {value}" if facet != "dim" else f"β{value}"
                                        for value in facets])
    reference_named = False  # the reference's legend entry, on its first trace in any panel
    for column, value in enumerate(facets, start=1):
        for i, (name, rows) in enumerate(stats[stats[facet] == value].groupby(series, sort=True)):
            error = (dict(type="data", array=rows["std"]) if spread == "std" else
                     dict(type="data", symmetric=False, array=rows["max"] - rows["mean"],
                          arrayminus=rows["mean"] - rows["min"]) if spread == "range" else None)
            if spread == "band":
                fig.add_trace(_band(rows["depth"], (rows["mean"] - rows["std"]).clip(lower=0), rows["mean"] + rows["std"],
                                    series_style(name, i)["color"], str(name)), row=1, col=column)
            fig.add_trace(go.Scatter(
                x=rows["depth"], y=rows["mean"], error_y=error, mode="lines+markers",
                name=f"{series} {name}" if series == "label" else str(name),
                legendgroup=str(name), showlegend=column == 1, **_line_marker(name, i),
                customdata=rows[["count"]],
                hovertemplate="depth %{x}: mean %{y:.2f} over %{customdata[0]} runs<extra></extra>",
            ), row=1, col=column)
        if reference is not None and len(reference):
            names = sorted(stats[series].unique())
            marks = reference[(reference[facet] == value) & reference[series].isin(names)]
            for name, rows in marks.groupby(series, sort=True):
                fig.add_trace(go.Scatter(
                    x=rows["depth"], y=rows["value"], mode="markers", name=reference_name,
                    legendgroup="reference", showlegend=not reference_named,
                    marker=dict(symbol="diamond-open", size=11, line=dict(width=2),
                                color=series_style(name, names.index(name))["color"]),
                    hovertemplate=f"{reference_name}, {name}: %{{y}} at depth %{{x}}<extra></extra>",
                ), row=1, col=column)
                reference_named = True
        fig.update_xaxes(tickvals=layer_names["depth"], ticktext=layer_names["layer"],
                         title_text="layer", row=1, col=column)
    fig.update_yaxes(title_text="Betti number", row=1, col=1, rangemode="tozero")
    return _layout(fig, title, 400)


def _band(x, low, high, colour: str, group: str) -> go.Scatter:
    """A shaded band from ``low`` to ``high`` over ``x``, in ``colour`` made see-through."""
    red, green, blue = (int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    x = list(x)
    return go.Scatter(x=x + x[::-1], y=list(high) + list(low)[::-1], fill="toself", mode="lines",
                      line=dict(width=0), fillcolor=f"rgba({red}, {green}, {blue}, 0.18)",
                      legendgroup=group, showlegend=False, hoverinfo="skip")


def persistence_diagrams(diagrams: Mapping[str, list], *, title: str = "", cols: int = 4) -> go.Figure:
    """One persistence diagram per layer (``{layer: [dgm_0, dgm_1, ...]}``, each (n_bars, 2)).

    Infinite deaths are drawn on a dashed line above the largest finite value.
    """
    if not diagrams:
        raise ValueError("persistence_diagrams needs at least one layer")
    names = list(diagrams)
    rows = -(-len(names) // cols)
    fig = make_subplots(rows=rows, cols=min(cols, len(names)), subplot_titles=names,
                        horizontal_spacing=0.07, vertical_spacing=0.16)
    for i, name in enumerate(names):
        row, col = i // cols + 1, i % cols + 1
        layer = [check_diagram(d, name=f"diagrams[{name!r}][{dim}]") for dim, d in enumerate(diagrams[name])]
        finite = [d[np.isfinite(d).all(axis=1)] for d in layer]
        top = max([d.max() for d in finite if d.size] + [1e-9]) * 1.1
        for dim, dgm in enumerate(layer):
            death = np.where(np.isfinite(dgm[:, 1]), dgm[:, 1], top)
            fig.add_trace(go.Scatter(
                x=dgm[:, 0], y=death, mode="markers", name=f"H{dim}", legendgroup=f"H{dim}",
                showlegend=i == 0, marker=dict(size=6, color=DIMENSION_COLOURS[dim % 3],
                                                symbol=DIMENSION_SYMBOLS[dim % 3]),
                hovertemplate="birth %{x:.3g}, death %{y:.3g}<extra>H" + str(dim) + "</extra>",
            ), row=row, col=col)
        fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", showlegend=False,
                                 line=dict(color=NEUTRAL, width=1), hoverinfo="skip"), row=row, col=col)
        fig.add_trace(go.Scatter(x=[0, top], y=[top, top], mode="lines", showlegend=False,
                                 line=dict(color=NEUTRAL, width=1, dash="dash"), hoverinfo="skip"),
                      row=row, col=col)
        fig.update_xaxes(title_text="birth", title_standoff=2, row=row, col=col, constrain="domain")
        fig.update_yaxes(scaleanchor=f"x{i + 1 if i else ''}", scaleratio=1, row=row, col=col)
        fig.update_yaxes(title_text="death" if col == 1 else "", title_standoff=2, row=row, col=col)
    return _layout(fig, title, 280 * rows if len(names) > 1 else 380)


def by_group(values: pd.DataFrame, *, x: str, y: str, color: str | None = None, title: str = "",
             y_title: str = "", hover: tuple = (), order=None) -> go.Figure:
    """A box per value of ``x`` (and of ``color``, side by side), with every point shown.

    ``values`` is tidy, one row per observation (e.g. one network and class). ``hover``
    names extra columns shown when hovering a point; ``order`` lists the ``x`` values in
    the order to draw them (default: as they come).
    """
    check_columns(values, [x, y, *([color] if color else []), *hover], "values", numeric=[y])
    fig = go.Figure()
    groups = values.groupby(color, sort=False) if color else [(y_title or y, values)]
    for i, (name, rows) in enumerate(groups):
        fig.add_trace(go.Box(
            x=rows[x].astype(str), y=rows[y], name=str(name), boxpoints="all", jitter=0.4,
            pointpos=0, marker=dict(size=5, color=series_style(name, i)["color"],
                                    symbol=series_style(name, i)["symbol"]),
            customdata=rows[list(hover)] if hover else None,
            hovertemplate=("%{y}<br>" + "<br>".join(f"{h}: %{{customdata[{j}]}}" for j, h in enumerate(hover))
                           + "<extra></extra>") if hover else None,
        ))
    _layout(fig, title, 400)
    fig.update_layout(boxmode="group" if color else "overlay", showlegend=bool(color),
                      yaxis_title=y_title or y, xaxis_title=x)
    if order is not None:
        fig.update_xaxes(categoryorder="array", categoryarray=[str(v) for v in order])
    return fig


def total_by_relative_depth(betti: pd.DataFrame, *, series: str, by=("seed",), title: str = "") -> go.Figure:
    """Sum of Betti numbers, divided by the input's, against depth / number of layers.

    ``betti`` is a tidy sweep table (columns ``by``, ``series``, ``label``, ``depth``,
    ``n_layers``, ``betti``); one line per value of ``series`` (e.g. architecture), one panel
    per class, mean over networks with the standard deviation as a band-free error bar. Lets
    networks of different depths share one axis: 0 is the input, 1 the logits.
    """
    keys = [series, *by, "label"]
    check_columns(betti, [*keys, "depth", "n_layers", "betti"], "betti", numeric=["depth", "n_layers", "betti"],
                  complete=[*keys, "depth", "n_layers"])
    totals = betti.groupby(keys + ["depth", "n_layers"])["betti"].sum().reset_index()
    first = totals[totals["depth"] == 0].set_index(keys)["betti"].rename("input_total")
    totals = totals.join(first, on=keys)
    totals["relative"] = totals["betti"] / totals["input_total"]
    totals["x"] = totals["depth"] / totals["n_layers"]
    stats = (totals.groupby(["label", series, "x"])["relative"].agg(["mean", "std", "count"])
             .reset_index().fillna({"std": 0.0}))
    labels = sorted(stats["label"].unique())
    fig = _panels(len(labels), shared_yaxes=True,
                        subplot_titles=[f"class {label}" for label in labels])
    for column, label in enumerate(labels, start=1):
        for i, (name, rows) in enumerate(stats[stats["label"] == label].groupby(series, sort=False)):
            fig.add_trace(go.Scatter(
                x=rows["x"], y=rows["mean"], error_y=dict(type="data", array=rows["std"]),
                mode="lines+markers", name=str(name), legendgroup=str(name),
                showlegend=column == 1, **_line_marker(name, i),
                customdata=rows[["count"]],
                hovertemplate="%{x:.2f} of the depth: %{y:.2f} of the input's total, "
                              "over %{customdata[0]} networks<extra></extra>"), row=1, col=column)
        fig.update_xaxes(title_text="depth / number of layers", row=1, col=column)
    fig.update_yaxes(title_text="sum of Betti numbers / input's", row=1, col=1, rangemode="tozero")
    return _layout(fig, title, 400)


def depth_epoch_heatmap(summaries: pd.DataFrame, *, value: str = "normalised_persistence",
                        dims=(0, 1), title: str = "", by: str | None = None,
                        value_title: str = "") -> go.Figure:
    """A layer x epoch heatmap of ``value`` per dimension (one panel each, stacked), from a recorder's summaries.

    ``summaries`` has columns ``epoch``, ``block``, ``depth``, ``dim`` and ``value`` (see
    :class:`tdnn_utils.dynamics.TopologyRecorder`); rows sharing (dim, depth, epoch), e.g.
    over seeds, are averaged. A row of the heatmap is a layer, numbered from 1 (the first
    layer read) up; its module name (``block``) shows when hovering, so that long names never
    crowd a phone's width. With ``by`` (a column, e.g. ``"family"``), one heatmap per value of
    ``by``, chosen from a menu above the plot (the first shown). ``value_title`` names the
    colour bars (default: ``value`` in words).
    """
    check_columns(summaries, ["epoch", "block", "depth", "dim", value, *([by] if by else [])], "summaries",
                  numeric=["epoch", "depth", "dim", value], complete=["epoch", "depth", "dim"])
    # One panel per dimension, stacked, each with its colour bar beside it.
    spacing = 0.14
    fig = make_subplots(rows=len(dims), cols=1, subplot_titles=[f"dimension {d}" for d in dims],
                        vertical_spacing=spacing)
    groups = list(summaries.groupby(by, sort=False)) if by else [(None, summaries)]
    height = (1 - spacing * (len(dims) - 1)) / len(dims)
    for g, (_, rows) in enumerate(groups):
        names = rows.drop_duplicates("depth").set_index("depth")["block"]
        first = int(min(names.index))
        for row, dim in enumerate(dims, start=1):
            grid = (rows[rows["dim"] == dim]
                    .pivot_table(index="depth", columns="epoch", values=value, aggfunc="mean").sort_index())
            top = 1 - (row - 1) * (height + spacing)
            layers = [int(d) - first + 1 for d in grid.index]
            fig.add_trace(go.Heatmap(
                z=grid.to_numpy(), x=[str(e) for e in grid.columns], y=layers, visible=g == 0,
                customdata=np.array([[names[d]] * grid.shape[1] for d in grid.index], dtype=object),
                colorscale=SEQUENTIAL, colorbar=dict(y=top - height / 2, yanchor="middle", len=height,
                                                     thickness=12, title=dict(text=value_title or value.replace(
                                                         "_", " "), side="right")),
                hovertemplate="epoch %{x}, layer %{y} (%{customdata}): %{z:.3g}<extra></extra>"), row=row, col=1)
            fig.update_xaxes(title_text="epoch", type="category", row=row, col=1)
            fig.update_yaxes(title_text="layer", row=row, col=1)
    _layout(fig, title, 280 * len(dims) + 60 + (40 if by else 0), r=10)
    if by:
        per_group = len(dims)
        buttons = [dict(label=str(name), method="update",
                        args=[{"visible": [k // per_group == g for k in range(len(groups) * per_group)]}])
                   for g, (name, _) in enumerate(groups)]
        fig.update_layout(updatemenus=[dict(buttons=buttons, direction="down", x=0, xanchor="left",
                                            y=1, yanchor="bottom", pad=dict(b=24),
                                            showactive=True, font=dict(size=12))])
        fig.update_layout(margin=dict(t=fig.layout.margin.t + 40))
    return fig


def curves_by_epoch(curves: pd.DataFrame, *, x: str = "epsilon", y: str = "betti", facet: str = "dim",
                    title: str = "", x_title: str = "ε (1 − |r|)", null: pd.DataFrame | None = None,
                    null_name: str = "shuffled probe", y_title: str = "Betti number",
                    titles: Mapping | None = None) -> go.Figure:
    """One line per epoch (light to dark), one panel per ``facet`` value; means over other rows.

    Epoch 0 is labelled "untrained". ``null`` (same columns, e.g. the shuffled-probe graph) is
    drawn as a dashed grey line per panel, averaged over its epochs and other rows.
    ``titles`` maps a ``facet`` value to its panel's title (default "β1" for a dimension,
    "facet = value" otherwise); keep them short, the panels sit side by side on a phone.
    """
    check_columns(curves, ["epoch", x, y, facet], "curves", numeric=["epoch", x, y], complete=["epoch", facet])
    if null is not None:
        check_columns(null, [x, y, facet], "null", numeric=[x, y], complete=[facet])
    facets = sorted(curves[facet].unique())
    epochs = sorted(curves["epoch"].unique())
    # untrained to trained: cividis from its slate middle to its yellow end (both themes)
    shades = sample_colorscale(SEQUENTIAL, list(np.linspace(0.3, 1.0, len(epochs))) if len(epochs) > 1 else [1.0])
    fig = _panels(len(facets), subplot_titles=[
        _facet_title(facet, v, titles, dim_prefix="β") for v in facets])
    for column, value in enumerate(facets, start=1):
        rows = curves[curves[facet] == value].groupby(["epoch", x])[y].mean().reset_index()
        for i, epoch in enumerate(epochs):
            line = rows[rows["epoch"] == epoch]
            name = f"epoch {epoch}" + (" (untrained)" if epoch == 0 else "")
            fig.add_trace(go.Scatter(x=line[x], y=line[y], mode="lines", name=name,
                                     legendgroup=str(epoch), showlegend=column == 1,
                                     line=dict(color=shades[i])), row=1, col=column)
        if null is not None:
            line = null[null[facet] == value].groupby(x)[y].mean().reset_index()
            fig.add_trace(go.Scatter(x=line[x], y=line[y], mode="lines", name=null_name,
                                     legendgroup="null", showlegend=column == 1,
                                     line=dict(color=NEUTRAL, dash="dash")), row=1, col=column)
        fig.update_xaxes(title_text=x_title, row=1, col=column)
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    return _layout(fig, title, 400)


def scatter(table: pd.DataFrame, *, x: str, y: str, color: str, facet: str | None = None,
            title: str = "", x_title: str = "", y_title: str = "", diagonal: bool = False,
            hover: tuple = ()) -> go.Figure:
    """Points of ``y`` against ``x``, coloured by ``color``, one panel per ``facet`` value.

    ``diagonal`` draws the line y = x (for predictions against truth); ``hover`` names extra
    columns shown when hovering a point.
    """
    check_columns(table, [x, y, color, *([facet] if facet else []), *hover], numeric=[x, y])
    facets = list(dict.fromkeys(table[facet])) if facet else [None]
    fig = _panels(len(facets), shared_yaxes=True,
                        subplot_titles=["" if v is None else str(v) for v in facets])
    low = float(np.nanmin(table[[x, y]].to_numpy(float))) if len(table) else 0.0
    high = float(np.nanmax(table[[x, y]].to_numpy(float))) if len(table) else 1.0
    for column, value in enumerate(facets, start=1):
        rows = table if value is None else table[table[facet] == value]
        for i, (name, group) in enumerate(rows.groupby(color, sort=True)):
            fig.add_trace(go.Scatter(
                x=group[x], y=group[y], mode="markers", name=str(name), legendgroup=str(name),
                showlegend=column == 1, marker=dict(size=8, color=series_style(name, i)["color"],
                                                    symbol=series_style(name, i)["symbol"]),
                customdata=group[list(hover)] if hover else None,
                hovertemplate=(f"{x} %{{x:.3g}}, {y} %{{y:.3g}}"
                               + "".join(f"<br>{h}: %{{customdata[{j}]}}" for j, h in enumerate(hover))
                               + "<extra></extra>")), row=1, col=column)
        if diagonal:
            fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="y = x",
                                     legendgroup="diagonal", showlegend=column == 1,
                                     line=dict(color=NEUTRAL, width=1, dash="dot"), hoverinfo="skip"),
                          row=1, col=column)
        fig.update_xaxes(title_text=x_title or x, row=1, col=column)
    fig.update_yaxes(title_text=y_title or y, row=1, col=1)
    fig.update_layout(legend_title_text=color)
    return _layout(fig, title, 400)


def _facet_title(facet, value, titles: Mapping | None = None, dim_prefix: str = "dimension ") -> str:
    """A panel's title: ``titles[value]`` if given, else "dimension 1" (or "β1") for ``dim``, else "facet = value"."""
    if value is None:
        return ""
    if titles is not None and value in titles:
        return str(titles[value])
    return f"{dim_prefix}{value}" if facet == "dim" else f"{facet} = {value}"


def lines(table: pd.DataFrame, *, x: str, y: str, series: str, facet: str | None = None,
          title: str = "", x_title: str = "", y_title: str = "", facet_row: str | None = None,
          titles: Mapping | None = None) -> go.Figure:
    """Mean of ``y`` against ``x``, one line per ``series`` value (std error bars), panels by ``facet``.

    ``facet_row`` stacks a row of panels per value of another column (e.g. a network family):
    each row's y axis is then titled with its value, so put what ``y`` is in the ``title``.
    ``titles`` maps a ``facet`` or ``facet_row`` value to its title (default "dimension 1" for
    ``dim``, "facet = value" otherwise).
    """
    keys = [x, series, *([facet] if facet else []), *([facet_row] if facet_row else [])]
    check_columns(table, [y, *keys], numeric=[x, y], complete=keys)
    facets = (sorted(table[facet].unique()) if facet else []) or [None]
    stacked = (sorted(table[facet_row].unique()) if facet_row else []) or [None]
    column_titles = [_facet_title(facet, v, titles) for v in facets]
    fig = make_subplots(rows=len(stacked), cols=len(facets),
                        subplot_titles=column_titles + [""] * (len(facets) * (len(stacked) - 1)),
                        vertical_spacing=min(0.3 / len(stacked), 0.12) if facet_row else 0.3)
    for row, band in enumerate(stacked, start=1):
        for column, value in enumerate(facets, start=1):
            rows = table if value is None else table[table[facet] == value]
            rows = rows if band is None else rows[rows[facet_row] == band]
            stats = rows.groupby([series, x])[y].agg(["mean", "std", "count"]).reset_index().fillna({"std": 0.0})
            for i, (name, group) in enumerate(stats.groupby(series, sort=True)):
                fig.add_trace(go.Scatter(
                    x=group[x], y=group["mean"], error_y=dict(type="data", array=group["std"]),
                    mode="lines+markers", name=str(name), legendgroup=str(name),
                    showlegend=column == 1 and row == 1, **_line_marker(name, i), customdata=group[["count"]],
                    hovertemplate=f"{x} %{{x}}: %{{y:.3g}} over %{{customdata[0]}} runs<extra></extra>"),
                    row=row, col=column)
            fig.update_xaxes(title_text=x_title or x, row=row, col=column)
        row_title = str((titles or {}).get(band, band)) if facet_row else y_title or y
        fig.update_yaxes(title_text=row_title, row=row, col=1)
    fig.update_layout(legend_title_text=series)
    return _layout(fig, title, 400 if not facet_row else 90 + 210 * len(stacked))


def trust_map(table: pd.DataFrame, *, rows: str = "activation", title: str = "") -> go.Figure:
    """Share of readings passing the metric's checks, per layer (x) and configuration (y).

    ``table`` is :func:`tdnn_utils.trust.layer_trust`'s output (columns ``rows``, ``depth``,
    ``layer``, ``possible``, ``stable``, ``agrees``, ``ok``, ``readings``, ``trusted``); a cell
    shows the share that passed all three checks, hovering gives each check's share, and an
    untrusted layer is marked with a cross.
    """
    check_columns(table, [rows, "depth", "layer", "possible", "stable", "agrees", "ok", "readings", "trusted"],
                  numeric=["depth", "possible", "stable", "agrees", "ok", "readings"], complete=[rows, "depth"])
    layers = table.drop_duplicates("depth").sort_values("depth")
    names = list(dict.fromkeys(table[rows]))
    grid = table.pivot_table(index=rows, columns="depth", values="ok").reindex(names)
    detail = {col: table.pivot_table(index=rows, columns="depth", values=col, aggfunc="first").reindex(names)
              for col in ("possible", "stable", "agrees", "readings")}
    custom = np.dstack([detail[c].to_numpy(dtype=float) for c in ("possible", "stable", "agrees", "readings")])
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(dtype=float), x=[str(d) for d in grid.columns], y=[str(n) for n in names],
        zmin=0, zmax=1, colorscale=SEQUENTIAL, customdata=custom,
        colorbar=dict(title=dict(text="share passing", side="right"), thickness=14),
        hovertemplate=("%{y}, depth %{x}: %{z:.0%} pass all checks<br>possible %{customdata[0]:.0%}, "
                       "stable %{customdata[1]:.0%}, agrees %{customdata[2]:.0%} "
                       "(%{customdata[3]} readings)<extra></extra>")))
    untrusted = table[~table["trusted"]]
    if len(untrusted):
        fig.add_trace(go.Scatter(x=untrusted["depth"].astype(str), y=untrusted[rows].astype(str),
                                 mode="markers", marker=dict(symbol="x", size=12, color="black",
                                                             line=dict(color="white", width=1)),
                                 name="not trusted", hoverinfo="skip"))
    fig.update_xaxes(title_text="layer", type="category", tickvals=[str(d) for d in layers["depth"]],
                     ticktext=list(layers["layer"]))
    fig.update_yaxes(title_text=rows, type="category")
    return _layout(fig, title, 120 + 45 * len(names))


def reference_points(fig: go.Figure, x, y, *, low=None, high=None, name: str = "paper",
                     row: int | None = None, col: int | None = None) -> go.Figure:
    """Add a paper's values to ``fig``: grey diamonds at (``x``, ``y``), a bar from ``low`` to ``high``.

    For drawing what a paper reports beside the book's measurement (e.g. a value read off
    the paper's figure as a range). ``row`` and ``col`` pick the panel of a figure with
    subplots. Returns ``fig``.
    """
    x, y = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
    if x.shape != y.shape:
        raise ValueError(f"x {x.shape} and y {y.shape} must have the same length")
    error = None
    if low is not None or high is not None:
        low = y if low is None else np.atleast_1d(np.asarray(low, dtype=float))
        high = y if high is None else np.atleast_1d(np.asarray(high, dtype=float))
        error = dict(type="data", symmetric=False, array=high - y, arrayminus=y - low, color=NEUTRAL)
    trace = go.Scatter(x=x, y=y, mode="markers", name=name, error_y=error,
                       marker=dict(symbol="diamond", size=10, color=NEUTRAL, line=dict(color="white", width=1)),
                       hovertemplate="%{x}: %{y:.3g}<extra>" + name + "</extra>")
    if row is None and col is None:
        fig.add_trace(trace)
    else:
        fig.add_trace(trace, row=row or 1, col=col or 1)
    return fig


def k_window(calibration: pd.DataFrame, roles: pd.DataFrame, *,
             title: str = "Which k of the hop metric reads each data set's input right") -> go.Figure:
    """The k scanned on each data set's input: read right (every class its known Betti numbers) or not.

    ``calibration`` has columns ``data``, ``k``, ``label``, ``measured``, ``true``, ``correct``
    (:func:`tdnn_utils.readings.k_window`'s table with the data set's name); ``roles`` has
    ``problem``, ``role`` ("low", "chosen", "high") and ``k``. One row per data set: a filled
    circle where every class reads right, an open cross where one does not (the hover gives
    each class's reading), and the chosen k and the window's ends marked.
    """
    needed = {"data", "k", "label", "measured", "correct"}
    if not needed <= set(calibration.columns):
        raise ValueError(f"calibration lacks columns {sorted(needed - set(calibration.columns))}")
    per_k = (calibration.assign(reading=[f"class {l}: {m}" for l, m in zip(calibration["label"], calibration["measured"])])
             .groupby(["data", "k"], sort=False).agg(correct=("correct", "all"), reading=("reading", "; ".join))
             .reset_index())
    fig = go.Figure()
    for right, name, symbol in ((True, "reads the input right", "circle"), (False, "reads it wrong", "x-thin-open")):
        rows = per_k[per_k["correct"] == right]
        fig.add_trace(go.Scatter(x=rows["k"], y=rows["data"], mode="markers", name=name,
                                 marker=dict(symbol=symbol, size=9, line=dict(width=1.5),
                                             color=SERIES_COLOURS[0] if right else "#7f7f7f"),
                                 customdata=rows[["reading"]],
                                 hovertemplate="k = %{x}: %{customdata[0]}<extra></extra>"))
    marks = roles[roles["problem"].isin(per_k["data"])]
    for role, symbol in (("chosen", "star"), ("low", "line-ns"), ("high", "line-ns")):
        rows = marks[marks["role"] == role]
        fig.add_trace(go.Scatter(x=rows["k"], y=rows["problem"], mode="markers",
                                 name="chosen k (the window's middle)" if role == "chosen" else "the window's ends",
                                 showlegend=role != "high", legendgroup=role if role == "chosen" else "ends",
                                 marker=dict(symbol=symbol, size=18 if role == "chosen" else 22,
                                             line=dict(width=3, color=SERIES_COLOURS[1]), color=SERIES_COLOURS[1]),
                                 hovertemplate=f"{role} k = %{{x}}<extra></extra>"))
    fig.update_xaxes(title_text="k (neighbours per point)")
    fig.update_yaxes(title_text="data set", type="category")
    return _layout(fig, title, 120 + 60 * per_k["data"].nunique())


#: How a comparison's status is drawn in :func:`effect_intervals`: colour and marker symbol.
#: The colours are the landing page's verdict colours (Tol's safe palette: no red-green pair),
#: and each status has its own marker, so that none is told apart by colour alone.
STATUS_STYLE = {"confirmed": ("#44AA99", "circle"), "direction only": ("#88CCEE", "diamond"),
                "inconclusive": ("#DDCC77", "square"), "not reproduced": ("#CC6677", "x"),
                "untestable": ("#AA4499", "circle-open")}


def effect_intervals(summary: pd.DataFrame, points: pd.DataFrame | None = None, *, delta: float,
                     title: str = "", x_title: str = "effect", label_width: int = 24) -> go.Figure:
    """Each comparison's mean effect and interval (one row each), its units' values, and δ.

    ``summary`` has one row per comparison: ``label`` (drawn on the y axis, wrapped at
    ``label_width`` characters), ``effect``, ``low``, ``high`` (the interval) and ``status``
    (:data:`tdnn_utils.verdicts.SIZE_STATUSES`; colour and marker from :data:`STATUS_STYLE`).
    ``points`` (columns ``label``, ``value``, optional ``seed``) are the units' own values,
    drawn as small grey dots. A solid line marks no effect, a dotted one ``delta``, the size
    claimed; the effect is in the claimed direction when positive.
    """
    check_columns(summary, ["label", "effect", "low", "high", "status"], "summary",
                  numeric=["effect", "low", "high"], complete=["label", "status"])
    if points is not None:
        check_columns(points, ["label", "value"], "points", numeric=["value"], complete=["label"])
    labels = list(dict.fromkeys(summary["label"]))
    wrapped = {name: "<br>".join(textwrap.wrap(str(name), label_width)) for name in labels}
    fig = go.Figure()
    if points is not None and len(points):
        jitter = np.random.default_rng(0).uniform(-0.18, 0.18, len(points))
        rows = [labels[::-1].index(name) for name in points["label"]]
        fig.add_trace(go.Scatter(
            x=points["value"], y=np.asarray(rows, dtype=float) + jitter, mode="markers", name="one seed",
            marker=dict(size=5, color="rgba(136, 136, 136, 0.55)", symbol="circle"),
            customdata=points[["seed"]] if "seed" in points else None,
            hovertemplate="%{x:.3g}" + (" (seed %{customdata[0]})" if "seed" in points else "") + "<extra></extra>"))
    for status, rows in summary.groupby("status", sort=False):
        colour, symbol = STATUS_STYLE.get(status, (NEUTRAL, "circle"))
        fig.add_trace(go.Scatter(
            x=rows["effect"], y=[labels[::-1].index(name) for name in rows["label"]], mode="markers",
            name=str(status), marker=dict(size=12, color=colour, symbol=symbol, line=dict(width=1.5, color=colour)),
            error_x=dict(type="data", symmetric=False, array=rows["high"] - rows["effect"],
                         arrayminus=rows["effect"] - rows["low"], color=colour, thickness=2.5, width=6),
            customdata=rows[["low", "high"]],
            hovertemplate="%{x:.3g} (interval %{customdata[0]:.3g} to %{customdata[1]:.3g})<extra>"
                          + str(status) + "</extra>"))
    fig.add_vline(x=0, line=dict(color=NEUTRAL, width=1.5))
    fig.add_vline(x=float(delta), line=dict(color=NEUTRAL, width=1.5, dash="dot"),
                  annotation_text="δ", annotation_position="top",
                  annotation_font=dict(size=12, color=NEUTRAL))
    fig.update_yaxes(tickvals=list(range(len(labels))), ticktext=[wrapped[n] for n in labels[::-1]],
                     title_text="comparison", range=[-0.6, len(labels) - 0.4], showgrid=False, zeroline=False)
    fig.update_xaxes(title_text=x_title)
    lines = max(wrapped[n].count("<br>") + 1 for n in labels) if labels else 1
    return _layout(fig, title, 150 + len(labels) * (26 + 14 * lines))


def spanning_tree(X, *, title: str = "") -> go.Figure:
    """A 2-D point cloud ``X`` (n_points, 2) and its minimum spanning tree, edges shaded by length.

    Each edge of the tree is where one dimension-0 bar of the cloud's Vietoris-Rips
    persistence dies: hovering an edge gives its length, the bar's death.
    """
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial.distance import pdist, squareform

    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) < 2:
        raise ValueError(f"spanning_tree needs X of shape (n >= 2, 2); got {X.shape}")
    tree = minimum_spanning_tree(squareform(pdist(X))).tocoo()
    lengths = tree.data
    shades = sample_colorscale(SEQUENTIAL, list((lengths - lengths.min()) / (np.ptp(lengths) or 1.0)))
    fig = go.Figure()
    for i, j, length, shade in zip(tree.row, tree.col, lengths, shades):
        fig.add_trace(go.Scatter(x=X[[i, j], 0], y=X[[i, j], 1], mode="lines", showlegend=False,
                                 line=dict(color=shade, width=3),
                                 hovertemplate=f"edge of length {length:.3f}: a bar dies here<extra></extra>"))
    fig.add_trace(go.Scatter(x=X[:, 0], y=X[:, 1], mode="markers", name="points", showlegend=False,
                             marker=dict(size=8, color=SAFE[1], symbol="circle"), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                             marker=dict(colorscale=SEQUENTIAL, cmin=float(lengths.min()), cmax=float(lengths.max()),
                                         color=[float(lengths.min())], showscale=True,
                                         colorbar=dict(title=dict(text="edge length", side="right"),
                                                       thickness=12))))
    fig.update_xaxes(title_text="x")
    fig.update_yaxes(title_text="y", scaleanchor="x")
    return _layout(fig, title, PHONE_HEIGHT)
