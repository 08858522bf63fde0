"""Nearest neighbours once per point cloud, and the graphs the book reads Betti numbers on.

Naitzat et al.'s metric joins each point to its k nearest others, symmetrises, and counts hops.
Readings at several k of the same cloud (the calibrated k and the ends of its window) share one
neighbour query: :func:`nearest` asks a KD-tree for the ``k_max`` nearest neighbours of every
point once, and :func:`hop_graph` builds, for any ``k <= k_max``, the graph joining the points at
most ``hops`` apart (for Vietoris-Rips at a scale of ``hops`` hops, the complex is the flag
complex of that graph).

**Ties.** When several points are equally far from a point, the k nearest are ambiguous.
:func:`nearest` breaks ties by row index (the neighbour table is ordered by distance, then
index), so the graph does not depend on how the tree was built or searched.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from .validation import check_memory, check_points

#: Extra neighbours asked of the tree beyond ``k_max``, to see ties at the k-th distance.
TIE_MARGIN = 4


def _check_k(k, n_points: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n_points:
        raise ValueError(f"{name}={k!r} is not allowed for {n_points} points; use an integer in "
                         f"1..{n_points - 1}")
    return int(k)


def nearest(X, k_max: int) -> np.ndarray:
    """The ``k_max`` nearest other points of every point, by distance then index.

    Parameters
    ----------
    X : array (n_points, n_features) of distinct points.
    k_max : how many neighbours, 1 .. n_points - 1.

    Returns
    -------
    int array (n_points, k_max): row ``i`` lists the neighbours of point ``i``, nearest first,
    equally distant ones by increasing index; ``i`` itself is never listed.
    """
    X = check_points(X, name="X")
    n = len(X)
    k_max = _check_k(k_max, n, "k_max")
    tree = cKDTree(X)
    asked = min(n, k_max + 1 + TIE_MARGIN)
    distances, index = tree.query(X, k=asked)
    distances, index = distances.reshape(n, asked), index.reshape(n, asked)
    others = index != np.arange(n)[:, None]
    if not (others.sum(axis=1) == asked - 1).all() or (distances[others] == 0).any():
        raise ValueError("X has coincident rows; pass distinct points (topology.distinct_points)")
    distances = distances[others].reshape(n, asked - 1)
    index = index[others].reshape(n, asked - 1)
    order = np.lexsort((index, distances), axis=-1)
    table = np.take_along_axis(index, order, axis=1)[:, :k_max].copy()
    if asked - 1 > k_max:
        kth = np.take_along_axis(distances, order, axis=1)
        for i in np.flatnonzero(kth[:, k_max - 1] == kth[:, -1]):  # the tie may go on past the margin
            table[i] = _tied_row(X, tree, i, kth[i, k_max - 1], k_max)
    return table


def _tied_row(X, tree, i, radius, k_max):
    """Row ``i`` of :func:`nearest` when more points tie at the k-th distance than were asked."""
    found = np.array(tree.query_ball_point(X[i], radius * (1 + 1e-9)), np.int64)
    found = found[found != i]
    distances = np.sqrt(((X[found] - X[i]) ** 2).sum(axis=1))
    order = np.lexsort((found, distances))
    return found[order[:k_max]]


@numba.njit(cache=True)
def _symmetric(table, k):
    """CSR of the symmetrised graph of the first ``k`` columns of ``table``."""
    n = table.shape[0]
    reverse_count = np.zeros(n + 1, np.int64)
    for i in range(n):
        for c in range(k):
            reverse_count[table[i, c] + 1] += 1
    reverse_ptr = np.cumsum(reverse_count)
    reverse = np.empty(reverse_ptr[n], np.int64)
    fill = reverse_ptr[:-1].copy()
    for i in range(n):
        for c in range(k):
            j = table[i, c]
            reverse[fill[j]] = i
            fill[j] += 1
    mark = np.full(n, -1, np.int64)
    indptr = np.zeros(n + 1, np.int64)
    indices = np.empty(n * k + reverse_ptr[n], np.int64)
    size = 0
    for i in range(n):
        mark[i] = i
        for c in range(k):
            j = table[i, c]
            if mark[j] != i:
                mark[j] = i
                indices[size] = j
                size += 1
        for p in range(reverse_ptr[i], reverse_ptr[i + 1]):
            j = reverse[p]
            if mark[j] != i:
                mark[j] = i
                indices[size] = j
                size += 1
        indptr[i + 1] = size
    return indptr, indices[:size]


@numba.njit(cache=True)
def _power(indptr, indices, hops):
    """CSR of the pairs at most ``hops`` apart (``hops`` >= 2) in a graph given as CSR."""
    n = indptr.shape[0] - 1
    mark = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    out_ptr = np.zeros(n + 1, np.int64)
    out = np.empty(max(16, 4 * indices.shape[0]), np.int64)
    size = 0
    for v in range(n):
        mark[v] = v
        queue[0] = v
        start, end = 0, 1
        for _ in range(hops):  # breadth first, one level of hops at a time
            stop = end
            for f in range(start, stop):
                u = queue[f]
                for p in range(indptr[u], indptr[u + 1]):
                    w = indices[p]
                    if mark[w] != v:
                        mark[w] = v
                        queue[end] = w
                        end += 1
            start = stop
        if size + end > out.shape[0]:
            grown = np.empty(2 * (size + end), np.int64)
            grown[:size] = out[:size]
            out = grown
        out[size:size + end - 1] = queue[1:end]
        size += end - 1
        out_ptr[v + 1] = size
    return out_ptr, out[:size]


def hop_graph(table: np.ndarray, k: int, hops: int = 1) -> sparse.csr_matrix:
    """The pairs at most ``hops`` apart in the symmetrised ``k``-NN graph of a neighbour table.

    Parameters
    ----------
    table : int array (n_points, k_max) from :func:`nearest`.
    k : neighbours per point, 1 .. k_max.
    hops : the largest hop count joined, >= 1 (a Vietoris-Rips scale ``s`` in hops joins the
        pairs at most ``floor(s)`` apart).

    Returns
    -------
    boolean (n_points, n_points) CSR adjacency matrix, symmetric, empty diagonal.
    """
    table = np.asarray(table)
    if table.ndim != 2 or not np.issubdtype(table.dtype, np.integer):
        raise ValueError(f"table must be an integer (n_points, k_max) array from nearest(); got "
                         f"{table.dtype} of shape {table.shape}")
    n, k_max = table.shape
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= k_max:
        raise ValueError(f"k={k!r} is not allowed with a table of {k_max} neighbours; use 1..{k_max}")
    if isinstance(hops, bool) or not isinstance(hops, (int, np.integer)) or hops < 1:
        raise ValueError(f"hops={hops!r} must be an integer >= 1")
    check_memory(8 * n * min(n, (2 * k) ** hops), f"the {hops}-hop graph of {n:,} points at k = {k}",
                 "use fewer hops or a smaller k")
    indptr, indices = _symmetric(np.ascontiguousarray(table, dtype=np.int64), int(k))
    if hops > 1:
        indptr, indices = _power(indptr, indices, int(hops))
    data = np.ones(len(indices), bool)
    return sparse.csr_matrix((data, indices, indptr), shape=(n, n))
