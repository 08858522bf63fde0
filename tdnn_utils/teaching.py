"""Teaching figures: how the book's topology is read, drawn on small 2-D point clouds.

- :func:`rips_complex`: the Vietoris-Rips complex of a point cloud growing with the scale, one
  slider step per scale, its Betti numbers at each step;
- :func:`betti_against_scale`: Betti numbers against the scale, one panel per reading, with
  the true values and the scales that read them;
- :func:`barcode`: a persistence barcode, one bar per feature, with the scale at which the
  reader counts the bars;
- :func:`neighbour_graph`: the symmetrised k-nearest-neighbour graph the hop metric measures on;
- :func:`effect_intervals`: effects with their intervals against zero and the size a claim
  names, each labelled with the verdict it would get.

All share the look of :mod:`tdnn_utils.plotting` (its template, colours and layout).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.spatial.distance import pdist, squareform

from . import topology
from .colours import NEUTRAL
from plotly.subplots import make_subplots

from .plotting import CLASS_COLOURS, DIMENSION_COLOURS, DIMENSION_SYMBOLS, _layout, truth_line
from .validation import check_points

#: More points than this make the complex's triangles too many to draw (and to read).
MAX_COMPLEX_POINTS = 80
_FILL = "rgba(68, 170, 153, 0.22)"  # the first series colour, light: triangles
_EDGE = "rgba(68, 170, 153, 0.9)"
_BALL = "rgba(128, 128, 128, 0.45)"
#: A slider in greys that read on a light and on a dark page.
_SLIDER = dict(bgcolor="rgba(128, 128, 128, 0.25)", activebgcolor="rgba(128, 128, 128, 0.6)",
               bordercolor="rgba(128, 128, 128, 0.5)", tickcolor="rgba(128, 128, 128, 0.8)")


def _segments(X: np.ndarray, pairs) -> dict:
    """``{"x", "y"}`` of line segments between the rows ``pairs`` of ``X``, separated by gaps (None)."""
    xs, ys = [], []
    for i, j in pairs:
        xs += [X[i, 0], X[j, 0], None]
        ys += [X[i, 1], X[j, 1], None]
    return {"x": xs, "y": ys}


def _triangles(X: np.ndarray, triples) -> dict:
    xs, ys = [], []
    for i, j, k in triples:
        xs += [X[i, 0], X[j, 0], X[k, 0], X[i, 0], None]
        ys += [X[i, 1], X[j, 1], X[k, 1], X[i, 1], None]
    return {"x": xs, "y": ys}


def _balls(X: np.ndarray, radius: float, n_sides: int = 24) -> dict:
    angles = np.linspace(0, 2 * np.pi, n_sides + 1)
    xs, ys = [], []
    for x, y in X:
        xs += list(np.round(x + radius * np.cos(angles), 4)) + [None]
        ys += list(np.round(y + radius * np.sin(angles), 4)) + [None]
    return {"x": xs, "y": ys}


def _check_scales(scales) -> np.ndarray:
    scales = np.sort(np.asarray(scales, dtype=float).ravel())
    if len(scales) == 0 or not np.all(np.isfinite(scales)) or scales[0] <= 0:
        raise ValueError(f"scales={scales!r} must be a non-empty list of positive numbers")
    return scales


def rips_complex(X, scales, *, title: str = "", maxdim: int = 1, start: int = 0) -> go.Figure:
    """The Vietoris-Rips complex of ``X`` at each of ``scales``, one slider step per scale.

    At scale ε the complex holds an edge between two points at most ε apart and a triangle on
    three points pairwise at most ε apart (drawn filled); dashed circles of radius ε/2 show
    that an edge appears when two balls touch. Each step's title gives the Betti numbers
    (:func:`tdnn_utils.topology.betti_numbers`) up to ``maxdim``.

    Parameters
    ----------
    X : array of shape (n_points, 2), at most :data:`MAX_COMPLEX_POINTS` points.
    scales : positive scales ε, drawn in increasing order.
    start : the step shown first (an index into the sorted scales).

    Returns
    -------
    plotly Figure; its slider's steps carry the Betti numbers in their titles.
    """
    X = check_points(X, name="X", min_points=2, n_features=2)
    if len(X) > MAX_COMPLEX_POINTS:
        raise ValueError(f"X has {len(X)} points; draw at most {MAX_COMPLEX_POINTS} (subsample it)")
    scales = _check_scales(scales)
    if not 0 <= start < len(scales):
        raise ValueError(f"start={start} must index one of the {len(scales)} scales")
    distances = squareform(pdist(X))
    previous = np.r_[-np.inf, scales[:-1]]
    fig = go.Figure()
    pairs = list(itertools.combinations(range(len(X)), 2))
    triples = [t for t in itertools.combinations(range(len(X)), 3)
               if max(distances[t[0], t[1]], distances[t[0], t[2]], distances[t[1], t[2]]) <= scales[-1]]
    size = {t: max(distances[t[0], t[1]], distances[t[0], t[2]], distances[t[1], t[2]]) for t in triples}
    for low, high in zip(previous, scales):
        new_triangles = [t for t in triples if low < size[t] <= high]
        fig.add_trace(go.Scatter(**_triangles(X, new_triangles), mode="lines", fill="toself",
                                 fillcolor=_FILL, line=dict(width=0), hoverinfo="skip", showlegend=False))
    for low, high in zip(previous, scales):
        new_edges = [p for p in pairs if low < distances[p] <= high]
        fig.add_trace(go.Scatter(**_segments(X, new_edges), mode="lines", line=dict(color=_EDGE, width=1.5),
                                 hoverinfo="skip", showlegend=False))
    for scale in scales:
        fig.add_trace(go.Scatter(**_balls(X, scale / 2), mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color=_BALL, width=1, dash="dot")))
    fig.add_trace(go.Scatter(x=X[:, 0], y=X[:, 1], mode="markers", showlegend=False,
                             marker=dict(size=7, color=CLASS_COLOURS[1]),
                             hovertemplate="(%{x:.2f}, %{y:.2f})<extra></extra>"))
    n = len(scales)
    steps = []
    for s, scale in enumerate(scales):
        betti = topology.betti_numbers(X, float(scale), maxdim=maxdim).tolist()
        visible = [i <= s for i in range(n)] * 2 + [i == s for i in range(n)] + [True]
        label = ", ".join(f"β{d} = {b}" for d, b in enumerate(betti))
        steps.append(dict(method="update", label=f"{scale:.2g}",
                          args=[{"visible": visible}, {"title.text": f"ε = {scale:.2f}: {label}"}]))
    for trace, shown in zip(fig.data, steps[start]["args"][0]["visible"]):
        trace.visible = shown
    _layout(fig, title or steps[start]["args"][1]["title.text"], 460, b=10)
    fig.update_layout(
        sliders=[dict(active=start, steps=steps, pad=dict(t=30, b=10), font=dict(size=10),
                      currentvalue=dict(prefix="scale ε = ", font=dict(size=12)), **_SLIDER)],
        showlegend=False)
    return _plane(fig)


def _plane(fig: go.Figure) -> go.Figure:
    """Axes of a picture of points in the plane: equal units, no grid or zero line to read through."""
    fig.update_xaxes(title_text="x", showgrid=False, zeroline=False)
    fig.update_yaxes(title_text="y", scaleanchor="x", scaleratio=1, showgrid=False, zeroline=False)
    return fig


def _runs(values, following) -> list[tuple[float, float]]:
    """Runs of ``values`` that follow each other on their grid (``following[v]`` is the grid's
    next value after ``v``), as (first, last) pairs."""
    runs = []
    for value in sorted(values):
        if runs and following.get(runs[-1][1]) == value:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def betti_against_scale(sweeps, truth, *, title: str = "", x_titles=None, right=None) -> go.Figure:
    """Betti numbers against the scale: one panel per reading, the true values as dashed lines.

    ``sweeps`` maps a panel's name (e.g. "Euclidean") to a tidy table with columns ``scale``,
    ``dim``, ``betti`` (:func:`tdnn_utils.primer.euclidean_sweep`); ``truth`` gives the true
    (β0, β1, ...). ``right`` maps a panel to the scales at which every Betti number is right:
    they are shaded; a panel with none says so. ``x_titles`` maps a panel to its axis title
    (default "scale"). The y axis stops a little above the largest true value: what is far
    above it is off the chart.
    """
    if not sweeps:
        raise ValueError("sweeps is empty; give at least one panel (name -> table)")
    truth = [int(t) for t in truth]
    names = list(sweeps)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.12)
    top = 2.5 * max(truth + [1]) + 0.5
    for col, name in enumerate(names, start=1):
        table = sweeps[name]
        scales = sorted(table["scale"].unique())
        step = dict(zip(scales, scales[1:] + [None]))
        mode = "lines+markers" if len(scales) <= 15 else "lines"
        for dim, part in table.groupby("dim", sort=True):
            colour = DIMENSION_COLOURS[dim % len(DIMENSION_COLOURS)]
            fig.add_trace(go.Scatter(
                x=part["scale"], y=part["betti"], mode=mode, line_shape="hv",
                name=f"β{dim}", legendgroup=f"β{dim}", showlegend=col == 1,
                line=dict(color=colour, dash=("solid", "dash", "dot")[dim % 3]),
                marker=dict(color=colour, symbol=DIMENSION_SYMBOLS[dim % 3], size=6),
                hovertemplate=f"scale %{{x:.3g}}: β{dim} = %{{y}}<extra>{name}</extra>"), row=1, col=col)
        for value in sorted(set(truth)):
            named = " = ".join(f"β{d}" for d, t in enumerate(truth) if t == value)
            truth_line(fig, value, label=f"true {named} = {value}", row=1, col=col)
        shaded = list((right or {}).get(name, []))
        for first, last in _runs(shaded, step):
            fig.add_vrect(x0=first, x1=step.get(last) or last, fillcolor=DIMENSION_COLOURS[0], opacity=0.15,
                          line_width=0, layer="below", row=1, col=col)
        if right is not None and not shaded:
            fig.add_annotation(text="no scale right", xref=f"x{col if col > 1 else ''} domain",
                               yref=f"y{col if col > 1 else ''} domain", x=0.02, y=0.98, showarrow=False,
                               xanchor="left", yanchor="top", font=dict(size=11, color=NEUTRAL))
        fig.update_xaxes(title_text=(x_titles or {}).get(name, "scale"), row=1, col=col)
        fig.update_yaxes(range=[-0.3, top], row=1, col=col)
    fig.update_yaxes(title_text="Betti number", row=1, col=1)
    return _layout(fig, title, 400)


def barcode(diagrams, *, scale: float | None = None, title: str = "") -> go.Figure:
    """A persistence barcode: one horizontal bar per feature, from its birth to its death.

    ``diagrams`` is :func:`tdnn_utils.topology.persistence`'s output, one (n_bars, 2) array of
    (birth, death) per dimension. Bars are grouped by dimension, longest first; a bar that
    never dies runs to the right edge and ends in an arrow. ``scale`` draws a dashed line
    there: the bars it crosses are the Betti numbers at that scale.
    """
    if len(diagrams) == 0:
        raise ValueError("diagrams is empty; give one (n_bars, 2) array per dimension")
    diagrams = [np.asarray(d, dtype=float).reshape(-1, 2) for d in diagrams]
    finite = np.concatenate([d[np.isfinite(d)] for d in diagrams])
    right = (finite.max() if finite.size else 1.0) * 1.15
    if scale is not None:
        right = max(right, float(scale) * 1.15)
    fig, row = go.Figure(), 0
    for dim, dgm in enumerate(diagrams):
        order = np.lexsort((dgm[:, 0], -(np.minimum(dgm[:, 1], right) - dgm[:, 0])))
        xs, ys, ends = [], [], []
        for birth, death in dgm[order]:
            end = death if np.isfinite(death) else right
            xs += [birth, end, None]
            ys += [row, row, None]
            if not np.isfinite(death):
                ends.append(row)
            row += 1
        colour = DIMENSION_COLOURS[dim % len(DIMENSION_COLOURS)]
        bars = f"{len(dgm)} bar" + ("" if len(dgm) == 1 else "s")
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"H{dim} ({bars})",
                                 line=dict(color=colour, width=3), legendgroup=f"H{dim}",
                                 hoverinfo="skip"))
        if ends:
            fig.add_trace(go.Scatter(x=[right] * len(ends), y=ends, mode="markers", showlegend=False,
                                     legendgroup=f"H{dim}", hoverinfo="skip",
                                     marker=dict(symbol="triangle-right", size=9, color=colour)))
        row += 1  # a gap between dimensions
    if scale is not None:
        fig.add_vline(x=float(scale), line=dict(color=NEUTRAL, dash="dash", width=1.5),
                      annotation_text=f"ε = {scale:.2g}", annotation_position="top",
                      annotation_font=dict(size=11, color=NEUTRAL))
    _layout(fig, title, 420)
    fig.update_xaxes(title_text="scale ε", range=[0, right * 1.03])
    fig.update_yaxes(title_text="bars", showticklabels=False, autorange="reversed", showgrid=False)
    return fig


def neighbour_graph(X, k: int, *, title: str = "") -> go.Figure:
    """The symmetrised k-nearest-neighbour graph of the 2-D points ``X`` (n_points, 2).

    An edge joins two points when either is among the other's ``k`` nearest: the graph in
    which the hop metric counts steps (:func:`tdnn_utils.topology.knn_graph`).
    """
    X = check_points(X, name="X", min_points=2, n_features=2)
    adjacency = topology.knn_graph(X, k)
    rows, cols = adjacency.nonzero()
    pairs = [(i, j) for i, j in zip(rows, cols) if i < j]
    fig = go.Figure(go.Scatter(**_segments(X, pairs), mode="lines", name=f"{len(pairs):,} edges",
                               line=dict(color=_EDGE, width=1), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=X[:, 0], y=X[:, 1], mode="markers", name=f"{len(X):,} points",
                             marker=dict(size=5, color=CLASS_COLOURS[1]),
                             hovertemplate="(%{x:.2f}, %{y:.2f})<extra></extra>"))
    _layout(fig, title, 420)
    return _plane(fig)


def effect_intervals(effects: pd.DataFrame, *, size: float, title: str = "",
                     x_title: str = "effect", y_title: str = "verdict") -> go.Figure:
    """Effects with their intervals, against zero and the effect size a claim names.

    ``effects`` has one row per effect: ``label`` (what the row shows, e.g. its verdict),
    ``estimate``, ``low`` and ``high`` (the interval). Drawn top to bottom as given, with a
    grey line at 0 and a dashed one at ``size``.
    """
    needed = {"label", "estimate", "low", "high"}
    if not needed <= set(effects.columns):
        raise ValueError(f"effects lacks columns {sorted(needed - set(effects.columns))}")
    if not (effects["low"] <= effects["estimate"]).all() or not (effects["estimate"] <= effects["high"]).all():
        raise ValueError("every row needs low <= estimate <= high")
    labels = [str(v) for v in effects["label"]]
    fig = go.Figure(go.Scatter(
        x=effects["estimate"], y=labels, mode="markers", showlegend=False,
        marker=dict(size=10, color=DIMENSION_COLOURS[0], symbol=DIMENSION_SYMBOLS[0]),
        error_x=dict(type="data", symmetric=False, array=effects["high"] - effects["estimate"],
                     arrayminus=effects["estimate"] - effects["low"], thickness=2, width=6),
        hovertemplate="%{y}: %{x:.2g}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color=NEUTRAL, width=1.5), annotation_text="no effect",
                  annotation_position="top left", annotation_font=dict(size=11, color=NEUTRAL))
    fig.add_vline(x=size, line=dict(color=NEUTRAL, width=1.5, dash="dash"), annotation_text="size claimed",
                  annotation_position="top right", annotation_font=dict(size=11, color=NEUTRAL))
    _layout(fig, title, 90 + 52 * len(effects))
    fig.update_xaxes(title_text=x_title, zeroline=False)
    fig.update_yaxes(title_text=y_title, autorange="reversed", automargin=True, showgrid=False)
    return fig
