"""Distances, Betti numbers at one scale, persistence diagrams and their summaries.

Two metrics on a point cloud ``X`` of shape ``(n_points, n_features)``:

- ``"euclidean"``: the Euclidean distance between rows;
- ``"hop"``: Naitzat et al.'s geodesic. Build the k-nearest-neighbour graph of ``X``
  (each point joined to its ``k`` nearest others), symmetrise it (an edge if either end
  chose the other), forget the lengths, and measure the shortest path in hops. Pairs in
  different components are never joined.

Betti numbers are *unreduced*: a connected cloud has ``beta_0 = 1``. Persistence comes from
:mod:`tdnn_utils.engines` (giotto-ph, or gudhi where giotto-ph has no wheel; both give the same
diagrams); for one scale only the edges up to that scale are handed over, as a sparse matrix,
which is what makes :func:`betti_numbers` cheap.

**Coincident points.** A point cloud is a *set*: rows of ``X`` that are exactly equal (after
rounding to float32, the precision the networks compute in) are one point, and Betti numbers
are measured on the distinct points (``coincident="merge"``, the default of
:func:`betti_numbers`). Why it matters: ReLU maps many inputs onto exactly the same point. In
the k-NN graph, m copies of a point are each other's nearest neighbours at distance 0; with
m > k they form a clique cut off from the rest (a spurious component), and which of several
equidistant neighbours wins a tie decides which edges exist (spurious loops). On the distinct
points the graph is the same whatever the multiplicities. When fewer than ``k + 1`` distinct
points remain, each is joined to all the others. ``coincident="keep"`` measures the rows as
they are (the behaviour before the rule, kept to show the difference).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.neighbors import NearestNeighbors

from . import collapse, engines, neighbours
from .validation import (check_columns, check_diagram, check_float32_extent, check_labels, check_memory,
                         check_points, check_positive_number)

METRICS = ("euclidean", "hop")
COINCIDENT_RULES = ("merge", "keep")
MAX_DIMENSION = 2
#: Bytes per pair of points that persistence on a dense filtration needs at its peak, per
#: engine: the distance matrix and the engine's own copies and edge lists (measured on 2,000
#: to 4,000 points: giotto-ph 34 to 47 n**2 bytes, gudhi 52 to 62 and more with maxdim >= 1).
#: A call estimated beyond :data:`tdnn_utils.validation.MEMORY_LIMIT_BYTES` is refused before
#: anything is allocated.
DENSE_BYTES_PER_PAIR = {"giotto-ph": 48, "gudhi": 64}
#: The hop metric without a threshold stores every reachable pair (all n**2 of a connected
#: cloud) in sparse matrices while it grows the paths: about this many bytes per pair.
HOP_BYTES_PER_PAIR = 48
_DENSE_ADVICE = ("subsample the points (e.g. X[np.random.default_rng(0).choice(len(X), 5000, "
                 "replace=False)]), use metric='hop' with k and a threshold, or give a finite thresh "
                 "so that only the short edges are kept (sparse)")


# ---------------------------------------------------------------------------- validation
def check_point_cloud(X, *, min_points: int = 2, name: str = "X") -> np.ndarray:
    """Return ``X`` as a finite float64 array of shape ``(n_points, n_features)``.

    Raises ``ValueError`` naming the problem: wrong number of axes, fewer than
    ``min_points`` rows, no feature (shape (n, 0)), complex or NaN or infinite entries
    (:func:`tdnn_utils.validation.check_points`), coordinates or distances beyond float32's
    range, the precision of the engines (:func:`tdnn_utils.validation.check_float32_extent`).
    """
    return check_float32_extent(check_points(X, name=name, min_points=min_points), name)


def _check_maxdim(maxdim) -> int:
    if (isinstance(maxdim, bool) or not isinstance(maxdim, (int, np.integer))
            or not 0 <= maxdim <= MAX_DIMENSION):
        raise ValueError(f"maxdim={maxdim!r} is not allowed; use 0, 1 or {MAX_DIMENSION}")
    return int(maxdim)


def _check_k(k, n_points: int) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k < n_points:
        raise ValueError(
            f"k={k!r} is not allowed for {n_points} points; use an integer in 1..{n_points - 1}"
        )
    return int(k)


def _check_scale(scale) -> float:
    return check_positive_number(scale, "scale")


# ---------------------------------------------------------------------------- distances
def knn_graph(X, k: int) -> sparse.csr_matrix:
    """Symmetrised, unweighted k-nearest-neighbour graph of ``X``.

    Returns a boolean ``(n_points, n_points)`` CSR adjacency matrix with an empty diagonal:
    ``i ~ j`` when ``j`` is among the ``k`` nearest neighbours of ``i`` or the other way round.
    """
    X = check_point_cloud(X)
    k = _check_k(k, X.shape[0])
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(X)
    directed = neighbours.kneighbors_graph(X, mode="connectivity").astype(bool)
    directed.setdiag(False)
    directed.eliminate_zeros()
    return (directed + directed.T).tocsr()


def hop_distances(X, k: int, max_hops: int | None = None) -> sparse.csr_matrix:
    """Hop counts in the symmetrised k-NN graph, for pairs at most ``max_hops`` apart.

    Returns a sparse ``(n_points, n_points)`` float matrix: entry ``(i, j)`` is the number of
    edges on a shortest path from ``i`` to ``j`` (1, 2, ...), for ``i != j`` within
    ``max_hops``; pairs further apart, or in different components, are not stored. With
    ``max_hops=None`` every reachable pair is stored.
    """
    adjacency = knn_graph(X, k)
    n_points = adjacency.shape[0]
    max_hops = n_points if max_hops is None else int(max_hops)
    if max_hops < 1:
        raise ValueError(f"max_hops={max_hops} must be at least 1")
    step = (adjacency + sparse.identity(n_points, dtype=bool, format="csr")).tocsr()
    reached = step.copy()
    hops = adjacency.astype(np.float64)
    for hop in range(2, max_hops + 1):
        grown = (reached @ step).astype(bool).tocsr()
        new = grown - reached
        new.eliminate_zeros()
        if new.nnz == 0:
            break
        hops = hops + hop * new.astype(np.float64)
        reached = grown
    return hops.tocsr()


def distance_matrix(X, metric: str = "euclidean", *, k: int | None = None) -> np.ndarray:
    """Dense ``(n_points, n_points)`` distance matrix.

    For ``metric="hop"``, unreachable pairs get ``np.inf``.
    """
    X = check_point_cloud(X)
    metric = _check_metric(metric, k)
    if metric == "euclidean":
        return engines.euclidean_distances(X)  # refuses more than the memory limit itself
    n = X.shape[0]
    check_memory(HOP_BYTES_PER_PAIR * n * n, f"distance_matrix(metric='hop') on {n:,} points",
                 "subsample the points, or use hop_distances with max_hops (sparse)")
    dense = hop_distances(X, k).toarray()
    dense[dense == 0] = np.inf
    np.fill_diagonal(dense, 0.0)
    return dense


def _check_metric(metric: str, k) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is unknown; use one of {METRICS}")
    if metric == "hop" and k is None:
        raise ValueError("metric='hop' needs k, the number of nearest neighbours")
    if metric == "euclidean" and k is not None:
        raise ValueError(f"k={k!r} is only used with metric='hop'")
    return metric


# ---------------------------------------------------------------------------- persistence
def distinct_points(X) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``X`` (after float32 rounding) and, per row, its distinct point.

    Returns ``(points, index)``: ``points`` (n_distinct, n_features) float64 in the order they
    first occur, and ``index`` (n_points,) with ``X[i] == points[index[i]]``. See the module's
    note on coincident points.
    """
    X = check_point_cloud(X, min_points=1)
    rounded = np.ascontiguousarray(X.astype(np.float32))
    _, first, index = np.unique(rounded, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rounded[first[order]].astype(np.float64), rank[index.ravel()]


def _check_dense_memory(n_points: int, what: str, engine: str | None) -> None:
    """Refuse (:class:`~tdnn_utils.validation.MemoryLimitError`) a dense filtration too large
    for the memory limit, before anything is allocated."""
    name = engines.default_engine() if engine is None else engine
    per_pair = DENSE_BYTES_PER_PAIR.get(name, max(DENSE_BYTES_PER_PAIR.values()))
    check_memory(per_pair * n_points**2,
                 f"{what} on {n_points:,} points (a dense {n_points:,} x {n_points:,} distance matrix "
                 f"and {name}'s copies of it)", _DENSE_ADVICE)


def _radius_graph(X: np.ndarray, thresh: float) -> sparse.csr_matrix:
    """Euclidean distances up to ``thresh`` as a sparse matrix (longer pairs not stored)."""
    X = X - (X.max(axis=0) / 2 + X.min(axis=0) / 2)  # centred: an offset would swamp the squares
    graph = NearestNeighbors(radius=thresh).fit(X).radius_neighbors_graph(X, mode="distance")
    graph.setdiag(0)
    graph.eliminate_zeros()
    coincident = NearestNeighbors(radius=0.0).fit(X).radius_neighbors_graph(X, mode="connectivity")
    coincident.setdiag(0)
    coincident.eliminate_zeros()
    if coincident.nnz:  # distance 0 between distinct rows: keep those edges, at a tiny value
        graph = graph + coincident.multiply(np.finfo(np.float32).tiny)
    return graph.tocsr()


def persistence(
    X,
    maxdim: int = 1,
    metric: str = "euclidean",
    *,
    k: int | None = None,
    thresh: float = np.inf,
    n_threads: int = 1,
    engine: str | None = None,
) -> list[np.ndarray]:
    """Vietoris-Rips persistence diagrams of the point cloud ``X``.

    Parameters
    ----------
    X : array of shape (n_points, n_features)
    maxdim : highest homology dimension, 0 to 2.
    metric : "euclidean", or "hop" (hop counts in the symmetrised k-NN graph; needs ``k``).
    thresh : largest filtration value; bars still alive there die at ``np.inf``. With the
        Euclidean metric a finite ``thresh`` keeps only the short edges (sparse), so large
        clouds fit in memory; without it a dense matrix of ``8 n**2`` bytes is built, and more
        than :data:`tdnn_utils.validation.MEMORY_LIMIT_BYTES` (estimated with
        :data:`DENSE_BYTES_PER_PAIR`) is refused before anything is allocated. Must be > 0.
    engine : "giotto-ph" or "gudhi" (default: :func:`tdnn_utils.engines.default_engine`).

    Returns
    -------
    list of ``maxdim + 1`` arrays of shape (n_bars, 2): (birth, death) per dimension,
    unreduced (one infinite bar of dimension 0 per connected component).
    """
    X = check_point_cloud(X)
    maxdim = _check_maxdim(maxdim)
    metric = _check_metric(metric, k)
    thresh = _check_thresh(thresh)
    n = X.shape[0]
    if metric == "hop":
        k = _check_k(k, n)
        if np.isinf(thresh):
            check_memory(HOP_BYTES_PER_PAIR * n * n,
                         f"hop-metric persistence without a threshold on {n:,} points (every reachable "
                         f"pair stored)", "give a finite thresh (a number of hops), or subsample the points")
        max_hops = None if np.isinf(thresh) else max(1, int(np.floor(thresh)))
        distances = hop_distances(X, k, max_hops)
    elif np.isfinite(thresh):
        distances = _radius_graph(X, thresh)
    else:
        _check_dense_memory(n, "Euclidean persistence without a threshold", engine)
        distances = engines.euclidean_distances(X)
    return engines.rips(distances, maxdim=maxdim, thresh=thresh, engine=engine,
                        n_threads=n_threads)


def _check_thresh(thresh) -> float:
    return check_positive_number(thresh, "thresh", allow_inf=True)


def _check_coincident(rule) -> str:
    if rule not in COINCIDENT_RULES:
        raise ValueError(f"coincident={rule!r} is unknown; use one of {COINCIDENT_RULES}")
    return rule


def betti_numbers(X, scale: float, *, k: int | None = None, maxdim: int = 1,
                  coincident: str = "merge", engine: str | None = None) -> np.ndarray:
    """Unreduced Betti numbers of the Vietoris-Rips complex of ``X`` at ``scale``.

    Parameters
    ----------
    X : array of shape (n_points, n_features)
    scale : the complex holds every simplex whose edges are all at most ``scale`` long
        (Euclidean units, or hops when ``k`` is given).
    k : if given, distances are hop counts in the symmetrised k-nearest-neighbour graph
        (Naitzat et al.'s metric); otherwise Euclidean.
    maxdim : highest dimension, 0 to 2.
    coincident : "merge" (default): equal rows are one point (the module's note explains
        why); "keep": measure the rows as they are (by :func:`betti_numbers_direct`).
    engine : the persistence engine that finishes the reading (:mod:`tdnn_utils.collapse`).

    Returns
    -------
    int array of shape (maxdim + 1,): beta_0, ..., beta_maxdim.

    The complex is the flag complex of the graph joining the points at most ``scale`` apart;
    :func:`tdnn_utils.collapse.flag_betti` collapses it (strong and edge collapses keep its
    homology) before an engine reads what is left. :func:`betti_numbers_direct` hands the
    whole filtration to the engine instead: the same numbers, several times slower at the
    paper's density (``benchmarks/bench_readings.py``).
    """
    X, scale, k, maxdim, coincident = _check_reading(X, scale, k, maxdim, coincident)
    if coincident == "keep":
        return betti_numbers_direct(X, scale, k=k, maxdim=maxdim, coincident="keep", engine=engine)
    if k is not None:
        return betti_numbers_at_ks(X, scale, [k], maxdim=maxdim, engine=engine)[k]
    X, _ = distinct_points(X)
    if len(X) == 1:
        return _one_point(maxdim)
    graph = sparse.csr_matrix(_radius_graph(X, scale * (1 + 1e-6)), dtype=np.float64)
    graph.data = engines.filtration_values(graph.data)
    graph.data[graph.data > scale] = 0  # the engines' float32 filtration decides the boundary
    graph.eliminate_zeros()
    graph = graph.astype(bool).tocsr()
    graph.sort_indices()
    return collapse.betti_of_symmetric(graph, maxdim, engine=engine)


def _check_reading(X, scale, k, maxdim, coincident):
    """The arguments of a reading, checked: ``(X, scale, k, maxdim, coincident)``."""
    scale = _check_scale(scale)
    maxdim = _check_maxdim(maxdim)
    X = check_point_cloud(X)
    if k is not None:
        k = _check_k(k, X.shape[0])
    return X, scale, k, maxdim, _check_coincident(coincident)


def _one_point(maxdim: int) -> np.ndarray:
    return np.array([1] + [0] * maxdim, dtype=np.int64)


def betti_numbers_at_ks(X, scale: float, ks, *, maxdim: int = 1,
                        engine: str | None = None) -> dict[int, np.ndarray]:
    """:func:`betti_numbers` of one point cloud under the hop metric at several k.

    The distinct points and their nearest neighbours are found once
    (:func:`tdnn_utils.neighbours.nearest` at the largest k) and shared by every k. A k larger
    than the distinct points allow is read at their number minus one, as in
    :func:`betti_numbers`. Returns ``{k: int array (maxdim + 1,)}`` in the order of ``ks``.
    """
    scale = _check_scale(scale)
    maxdim = _check_maxdim(maxdim)
    X = check_point_cloud(X)
    ks = [_check_k(k, X.shape[0]) for k in np.atleast_1d(ks).tolist()]
    if not ks:
        raise ValueError("ks is empty; give at least one k")
    points, _ = distinct_points(X)
    if len(points) == 1:
        return {k: _one_point(maxdim) for k in ks}
    table = neighbours.nearest(points, min(max(ks), len(points) - 1))
    hops = int(np.floor(scale))
    readings = {}
    for k in ks:
        k_used = min(k, len(points) - 1)
        if hops == 0:
            readings[k] = np.array([len(points)] + [0] * maxdim, dtype=np.int64)
            continue
        graph = neighbours.hop_graph(table, k_used, hops)
        readings[k] = collapse.betti_of_symmetric(graph, maxdim, engine=engine)
    return readings


def betti_numbers_direct(X, scale: float, *, k: int | None = None, maxdim: int = 1,
                         coincident: str = "merge", engine: str | None = None) -> np.ndarray:
    """:func:`betti_numbers` by handing the whole filtration up to ``scale`` to the engine.

    The book's first path, kept as the reference the collapsed path is tested and benchmarked
    against: :func:`persistence` with ``thresh=scale``, then the bars alive at ``scale``.
    Parameters and result as in :func:`betti_numbers`.
    """
    X, scale, k, maxdim, coincident = _check_reading(X, scale, k, maxdim, coincident)
    if coincident == "merge":
        X, _ = distinct_points(X)
        if len(X) == 1:
            return _one_point(maxdim)
        if k is not None:
            k = min(k, len(X) - 1)
    diagrams = persistence(X, maxdim=maxdim, metric="euclidean" if k is None else "hop", k=k,
                           thresh=scale, engine=engine)
    return np.array([betti_at(diagram, scale) for diagram in diagrams], dtype=np.int64)


def betti_at(diagram: np.ndarray, scale: float, *, dimension: int | None = None) -> int:
    """Number of bars of ``diagram`` alive at ``scale``: birth <= scale < death.

    ``diagram`` has shape (n_bars, 2); a giotto-tda diagram (n_bars, 3) of (birth, death,
    dimension) needs ``dimension``, the bars to count (:func:`tdnn_utils.validation.check_diagram`).
    """
    diagram = check_diagram(diagram, dimension)
    scale = float(scale)
    if np.isnan(scale):
        raise ValueError("scale=nan is not allowed; use a number")
    return int(((diagram[:, 0] <= scale) & (diagram[:, 1] > scale)).sum())


# ---------------------------------------------------------------------------- per layer
def betti_by_layer(
    activations: Mapping[str, np.ndarray],
    labels,
    scale: float,
    *,
    k: int | None = None,
    ks=None,
    maxdim: int = 1,
    classes=None,
    engine: str | None = None,
) -> pd.DataFrame:
    """Betti numbers of each class's points in each layer, as a tidy table.

    Parameters
    ----------
    activations : ordered mapping layer name -> array (n_points, width_of_layer), all layers
        on the same points in the same order (see :func:`tdnn_utils.models.layer_activations`).
    labels : array (n_points,) of class labels.
    scale, k, maxdim, engine : as in :func:`betti_numbers`, the same for every layer.
    ks : several k of the hop metric, read together on every cloud
        (:func:`betti_numbers_at_ks`); the table then has a column ``k``. Give ``k`` or ``ks``,
        not both.
    classes : the classes to measure; all of them by default.

    Returns
    -------
    DataFrame with columns ``layer`` (name), ``depth`` (0 = input), ``label``, ``dim``, ``betti``,
    and ``k`` first among them with ``ks``.
    """
    if k is not None and ks is not None:
        raise ValueError(f"give k or ks, not both (k={k!r}, ks={ks!r})")
    labels = check_labels(labels, integer=False)
    if len(labels) == 0:
        raise ValueError("labels is empty; give one label per point")
    if len(activations) == 0:
        raise ValueError("activations is empty; give at least one layer (name -> (n_points, width))")
    classes = np.unique(labels) if classes is None else np.asarray(classes).ravel()
    missing = set(classes.tolist()) - set(np.unique(labels).tolist())
    if missing:
        raise ValueError(f"classes {sorted(missing)} do not occur in labels {np.unique(labels)}")
    rows = []
    for depth, (layer, values) in enumerate(activations.items()):
        values = np.asarray(values)
        if values.shape[0] != labels.shape[0]:
            raise ValueError(
                f"layer {layer!r} has {values.shape[0]} rows but labels has {labels.shape[0]}"
            )
        for label in classes:
            points = values[labels == label]
            readings = ({None: betti_numbers(points, scale, k=k, maxdim=maxdim, engine=engine)} if ks is None
                        else betti_numbers_at_ks(points, scale, ks, maxdim=maxdim, engine=engine))
            for k_read, betti in readings.items():
                at = {} if ks is None else {"k": k_read}
                rows += [{"layer": layer, "depth": depth, "label": label.item(), **at, "dim": dim,
                          "betti": int(b)} for dim, b in enumerate(betti)]
    columns = ["layer", "depth", "label"] + ([] if ks is None else ["k"]) + ["dim", "betti"]
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------- summaries
def _finite_bars(diagram, dimension=None) -> np.ndarray:
    diagram = check_diagram(diagram, dimension)
    return diagram[np.isfinite(diagram[:, 1])]


def betti_curve(diagram, grid, *, dimension: int | None = None) -> np.ndarray:
    """Betti curve of one diagram: the number of bars alive at each value of ``grid``.

    ``diagram`` has shape (n_bars, 2) (or giotto-tda's (n_bars, 3) with ``dimension``, as in
    :func:`betti_at`); returns an int array of the shape of ``grid``.
    """
    diagram = check_diagram(diagram, dimension)
    grid = np.asarray(grid, dtype=np.float64)
    alive = (diagram[:, 0][:, None] <= grid.ravel()) & (diagram[:, 1][:, None] > grid.ravel())
    return alive.sum(axis=0).reshape(grid.shape)


def total_persistence(diagram, p: float = 1.0, *, dimension: int | None = None) -> float:
    """Sum of ``(death - birth) ** p`` over the finite bars of one diagram.

    ``diagram`` has shape (n_bars, 2) (or giotto-tda's (n_bars, 3) with ``dimension``, as in
    :func:`betti_at`); 0.0 for no finite bar.
    """
    p = check_positive_number(p, "p")
    bars = _finite_bars(diagram, dimension)
    return float(((bars[:, 1] - bars[:, 0]) ** p).sum())


def persistence_entropy(diagram, *, dimension: int | None = None) -> float:
    """Shannon entropy (nats) of the finite bar lengths, normalised to sum 1; 0 for no bars.

    ``diagram`` as in :func:`total_persistence`.
    """
    bars = _finite_bars(diagram, dimension)
    lengths = bars[:, 1] - bars[:, 0]
    lengths = lengths[lengths > 0]
    if lengths.size == 0:
        return 0.0
    shares = lengths / lengths.sum()
    return float(-(shares * np.log(shares)).sum())


def median_distance(X) -> float:
    """Median Euclidean distance between two distinct points of ``X`` (n_points, n_features)."""
    X = check_point_cloud(X)
    n = len(X)
    check_memory(16 * n * n, f"median_distance on {n:,} points (a dense {n:,} x {n:,} distance matrix)",
                 "subsample the points: the median of a random subset of a few thousand is close")
    distances = distance_matrix(X)
    # the pairs above the diagonal, row by row (no index arrays of n**2 entries)
    return float(np.median(np.concatenate([distances[i, i + 1:] for i in range(n - 1)])))


# ---------------------------------------------------------------------------- calibration
def calibrate_k(clouds: Mapping, expected: Mapping, candidates, *, scale: float = 2.0,
                maxdim: int = 1) -> tuple[int | None, pd.DataFrame]:
    """The smallest k among ``candidates`` that gives every cloud its known Betti numbers.

    Naitzat et al. fix k and the scale once, on the input, so that each class's true Betti
    numbers come out, then keep them for every layer. ``clouds`` maps a class label to its
    points (n_points, n_features); ``expected`` maps the same labels to the true Betti
    numbers (beta_0, ..., beta_maxdim). Returns ``(k, table)``: ``k`` is ``None`` when no
    candidate works, and ``table`` (columns ``k``, ``label``, ``measured``, ``correct``) shows
    what each tried candidate measured, so a failure can be read.
    """
    if set(clouds) != set(expected):
        raise ValueError(f"clouds has labels {sorted(clouds)} but expected has {sorted(expected)}")
    if not clouds:
        raise ValueError("clouds is empty: a k cannot be calibrated on no cloud")
    rows = []
    for k in candidates:
        correct_for_all = True
        for label, points in clouds.items():
            measured = betti_numbers(points, scale, k=k, maxdim=maxdim).tolist()
            correct = measured == list(expected[label])[: maxdim + 1]
            correct_for_all &= correct
            rows.append({"k": k, "label": label, "measured": measured, "correct": correct})
        if correct_for_all:
            return int(k), pd.DataFrame(rows)
    return None, pd.DataFrame(rows)


def simplification(table: pd.DataFrame, by=("run",)) -> pd.DataFrame:
    """How far each run simplified each class, from a tidy Betti table.

    ``table`` has the columns of :func:`betti_by_layer` plus the ``by`` columns (e.g. a run
    id or an activation). Returns one row per (``by``, label) with: ``input_total`` and
    ``output_total`` (sum of Betti numbers at the first and last depth), ``simplified``
    (the last layer is one connected piece with no holes: beta_0 = 1, beta_k = 0),
    ``first_simple_depth`` (first depth where that holds, NaN if never) and ``monotone``
    (the total never rises from one layer to the next).

    A depth whose Betti number is missing (NaN) in a dimension its class is measured in at
    other depths is left out of its class's reading; dimensions a class is never measured
    in (a table joining data sets read up to different dimensions) do not count. An empty
    table, or one with every value missing, gives an empty summary (no network to judge),
    with these columns.
    """
    keys = list(by) + ["label"]
    check_columns(table, keys + ["depth", "dim", "betti"], numeric=["depth", "dim", "betti"],
                  complete=keys + ["depth", "dim"])
    columns = keys + ["input_total", "output_total", "simplified", "first_simple_depth", "monotone"]
    table = table.dropna(subset=["betti"])
    if table.empty:
        return pd.DataFrame(columns=columns)
    dims = sorted(table["dim"].unique())
    if 0 not in dims:
        raise ValueError(f"table has Betti numbers of dimensions {dims} but none of dimension 0")
    per_depth = table.pivot_table(index=keys + ["depth"], columns="dim", values="betti").reset_index()
    # a depth missing a dimension its class is measured in elsewhere is not read; a dimension
    # the class is never measured in (maxdim 1 beside another data set's 2) is not missing
    measured = per_depth.groupby(keys)[dims].transform(lambda column: column.notna().any())
    per_depth = per_depth[~(per_depth[dims].isna() & measured).any(axis=1)].copy()
    per_depth["total"] = per_depth[dims].sum(axis=1)
    per_depth["simple"] = (per_depth[0] == 1) & (per_depth[[d for d in dims if d > 0]].sum(axis=1) == 0)
    rows = []
    for key, group in per_depth.sort_values("depth").groupby(keys, sort=True):
        simple_depths = group.loc[group["simple"], "depth"]
        rows.append({
            **dict(zip(keys, key if isinstance(key, tuple) else (key,))),
            "input_total": int(group["total"].iloc[0]),
            "output_total": int(group["total"].iloc[-1]),
            "simplified": bool(group["simple"].iloc[-1]),
            "first_simple_depth": float(simple_depths.iloc[0]) if len(simple_depths) else np.nan,
            "monotone": bool((np.diff(group["total"].to_numpy()) <= 0).all()),
        })
    return pd.DataFrame(rows, columns=columns)
