"""Betti numbers of the flag complex of a graph, after collapses that keep its homotopy type.

The book reads Betti numbers at one scale: the Vietoris-Rips complex at a scale is the *flag
complex* of the graph that joins the points closer than the scale (every clique a simplex). At
the paper's density that complex is large (D-II: 5,625 points, 364,000 edges, millions of
triangles), but most of it can be collapsed away without changing its homology:

- a vertex ``v`` is **dominated** by a neighbour ``w`` when every neighbour of ``v`` is also a
  neighbour of ``w`` (closed neighbourhoods ``N[v]`` within ``N[w]``); removing ``v`` is a *strong
  collapse* (Barmak & Minian 2012; Boissonnat, Pritam & Pareek 2018);
- an edge ``uv`` is **dominated** by a vertex ``w`` of its common neighbourhood when every other
  common neighbour of ``u`` and ``v`` is a neighbour of ``w``; removing the edge is an *edge
  collapse* (Boissonnat & Pritam 2020, the reduction gudhi's ``collapse_edges`` performs).

Both keep the homotopy type of the flag complex, hence every Betti number. :func:`reduce_graph`
applies them until none applies; what is left (at the paper's density, a few thousand edges) goes
to a persistence engine (:func:`flag_betti`). Neighbourhoods are bit sets, so each domination test
is a handful of word operations; the loops are compiled with numba.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy import sparse

from . import engines
from .validation import check_memory

#: Bytes per pair of vertices the bit sets need (one bit each).
BITSET_BYTES_PER_PAIR = 1 / 8


# ---------------------------------------------------------------------------- compiled core
@numba.njit(cache=True, inline="always")
def _has(bits, row, column):
    return (bits[row, column >> 6] >> np.uint64(column & 63)) & np.uint64(1) != np.uint64(0)


@numba.njit(cache=True, inline="always")
def _drop(bits, row, column):
    bits[row, column >> 6] &= ~(np.uint64(1) << np.uint64(column & 63))


@numba.njit(cache=True)
def _bitsets(indptr, indices, n):
    bits = np.zeros((n, (n + 63) // 64), np.uint64)
    degree = np.zeros(n, np.int64)
    low = np.empty(n, np.int64)
    high = np.empty(n, np.int64)
    for v in range(n):
        bits[v, v >> 6] |= np.uint64(1) << np.uint64(v & 63)
        low[v] = high[v] = v >> 6
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            if u != v and not _has(bits, v, u):
                bits[v, u >> 6] |= np.uint64(1) << np.uint64(u & 63)
                degree[v] += 1
                low[v] = min(low[v], u >> 6)
                high[v] = max(high[v], u >> 6)
    return bits, degree, low, high


@numba.njit(cache=True)
def _covers(bits, inner, outer, low, high):
    """Is the bit set of row ``inner`` within that of row ``outer`` (words low..high)?"""
    for i in range(low, high + 1):
        if bits[inner, i] & ~bits[outer, i]:
            return False
    return True


@numba.njit(cache=True)
def _dominated_vertex(v, indptr, indices, bits, degree, alive, low, high):
    """Is ``v`` dominated by one of its neighbours (closed neighbourhoods, words low..high)?"""
    for p in range(indptr[v], indptr[v + 1]):
        w = indices[p]
        if alive[w] and degree[w] >= degree[v] and _has(bits, v, w) \
                and _covers(bits, v, w, low[v], high[v]):
            return True
    return False


@numba.njit(cache=True)
def _collapse_vertices(indptr, indices, bits, degree, alive, queue, queued, size, low, high):
    """Strong collapses until no vertex in the queue is dominated; returns how many were removed."""
    capacity = queue.shape[0]
    head, tail, removed = 0, size % capacity, 0
    while size > 0:
        v = queue[head]
        head = (head + 1) % capacity
        size -= 1
        queued[v] = False
        if not alive[v] or not _dominated_vertex(v, indptr, indices, bits, degree, alive, low, high):
            continue
        alive[v] = False
        removed += 1
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            if alive[u] and _has(bits, u, v):
                _drop(bits, u, v)
                degree[u] -= 1
                if not queued[u]:
                    queued[u] = True
                    queue[tail] = u
                    tail = (tail + 1) % capacity
                    size += 1
    return removed


@numba.njit(cache=True)
def _dominated_edge(u, v, indptr, indices, bits, alive, low, high, common):
    """Is the edge ``uv`` dominated by a vertex of its common neighbourhood?"""
    first, last = max(low[u], low[v]), min(high[u], high[v])
    for i in range(first, last + 1):
        common[i] = bits[u, i] & bits[v, i]
    for p in range(indptr[u], indptr[u + 1]):
        w = indices[p]
        if w == v or not alive[w] or not _has(bits, u, w) or not _has(bits, v, w):
            continue
        covered = True
        for i in range(first, last + 1):
            if common[i] & ~bits[w, i]:
                covered = False
                break
        if covered:
            return True
    return False


@numba.njit(cache=True)
def _collapse_edges(indptr, indices, bits, degree, alive, queue, queued, low, high):
    """One pass of edge collapses over every remaining edge; queues the ends of removed edges."""
    common = np.empty(bits.shape[1], np.uint64)
    size, removed = 0, 0
    for u in range(alive.shape[0]):
        if not alive[u]:
            continue
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            if v <= u or not alive[v] or not _has(bits, u, v):
                continue
            if _dominated_edge(u, v, indptr, indices, bits, alive, low, high, common):
                _drop(bits, u, v)
                _drop(bits, v, u)
                degree[u] -= 1
                degree[v] -= 1
                removed += 1
                for end in (u, v):
                    if not queued[end]:
                        queued[end] = True
                        queue[size] = end
                        size += 1
    return removed, size


@numba.njit(cache=True)
def _reduce(indptr, indices, n):
    bits, degree, low, high = _bitsets(indptr, indices, n)
    alive = np.ones(n, np.bool_)
    queue = np.arange(n).astype(np.int64)
    queued = np.ones(n, np.bool_)
    size = n
    while True:
        _collapse_vertices(indptr, indices, bits, degree, alive, queue, queued, size, low, high)
        removed, size = _collapse_edges(indptr, indices, bits, degree, alive, queue, queued, low, high)
        if removed == 0:
            break
    kept_rows, kept_cols = [], []
    for u in range(n):
        if alive[u]:
            for p in range(indptr[u], indptr[u + 1]):
                v = indices[p]
                if v > u and alive[v] and _has(bits, u, v):
                    kept_rows.append(u)
                    kept_cols.append(v)
    return alive, np.array(kept_rows, np.int64), np.array(kept_cols, np.int64)


# ---------------------------------------------------------------------------- public
def _check_graph(graph) -> sparse.csr_matrix:
    if not sparse.issparse(graph):
        raise ValueError(f"graph must be a scipy sparse matrix; got {type(graph).__name__}")
    if graph.ndim != 2 or graph.shape[0] != graph.shape[1]:
        raise ValueError(f"graph must be a square (n, n) adjacency matrix; got shape {graph.shape}")
    graph = sparse.csr_matrix(graph, dtype=bool)
    if (graph != graph.T).nnz:
        raise ValueError("graph must be symmetric (an undirected graph)")
    graph.setdiag(False)
    graph.eliminate_zeros()
    graph.sort_indices()
    return graph


def _collapsed(graph: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    n = graph.shape[0]
    check_memory(int(BITSET_BYTES_PER_PAIR * n * n) + 16 * graph.nnz,
                 f"collapsing a flag complex on {n:,} vertices (one bit per pair)", "subsample the points")
    if n == 0:
        return np.zeros(0, np.int64), np.zeros((0, 2), np.int64)
    alive, rows, cols = _reduce(graph.indptr.astype(np.int64), graph.indices.astype(np.int64), n)
    return np.flatnonzero(alive), np.column_stack([rows, cols])


def reduce_graph(graph) -> tuple[np.ndarray, np.ndarray]:
    """Collapse the flag complex of ``graph`` as far as strong and edge collapses go.

    Parameters
    ----------
    graph : sparse (n, n) symmetric adjacency matrix (stored entries off the diagonal are the
        edges; their values are ignored).

    Returns
    -------
    ``(vertices, edges)``: the indices (n_kept,) of the vertices left, and an (n_edges, 2) array
    of the edges left between them, in the original numbering. The flag complex of what is left
    has the homotopy type of the flag complex of ``graph``.
    """
    return _collapsed(_check_graph(graph))


def flag_betti(graph, maxdim: int, *, engine: str | None = None) -> np.ndarray:
    """Betti numbers beta_0..beta_maxdim of the flag complex of ``graph``.

    ``graph`` as in :func:`reduce_graph`. The collapsed complex goes to ``engine``
    (:func:`tdnn_utils.engines.rips`, every edge at filtration value 1; by default gudhi where
    it is installed: on a complex the collapses could not shrink, it is the faster engine).
    Returns an int array of shape (maxdim + 1,).
    """
    return betti_of_symmetric(_check_graph(graph), maxdim, engine=engine)


def betti_of_symmetric(graph: sparse.csr_matrix, maxdim: int, *, engine: str | None = None) -> np.ndarray:
    """:func:`flag_betti` for a graph already known to be a symmetric boolean CSR matrix with an
    empty diagonal (as :mod:`tdnn_utils.neighbours` builds them); nothing is checked."""
    if graph.shape[0] == 0:
        return np.zeros(maxdim + 1, np.int64)
    vertices, edges = _collapsed(graph)
    position = np.full(graph.shape[0], -1, np.int64)
    position[vertices] = np.arange(len(vertices))
    m = len(vertices)
    kept = sparse.coo_matrix((np.ones(len(edges)), (position[edges[:, 0]], position[edges[:, 1]])),
                             shape=(m, m))
    engine = engine or ("gudhi" if "gudhi" in engines.available() else None)
    diagrams = engines.rips((kept + kept.T).tocoo(), maxdim=maxdim, thresh=1.0, engine=engine)
    return np.array([int(np.isinf(d[:, 1]).sum()) for d in diagrams], dtype=np.int64)
