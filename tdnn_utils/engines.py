"""Persistence engines: giotto-ph where it has a wheel, gudhi everywhere else, one answer.

Every persistence computation of the book goes through :func:`rips` (Vietoris-Rips diagrams)
or :func:`rips_pairing` (which edges create and destroy each bar, for the differentiable
losses). Two engines compute them:

- ``"giotto-ph"`` (``gph.ripser_parallel``): fast, wheels for Python 3.8 to 3.12 only;
- ``"gudhi"`` (``gudhi.SimplexTree``: flag complex, edge collapse, persistence mod 2,
  ``flag_persistence_generators``): wheels for every current Python, 3.13 included.

Both see the same filtration: distances are computed here in float64 and rounded once to
float32 (giotto-ph's arithmetic), and gudhi is handed those float32 values. So the two engines
agree *exactly* on diagrams and Betti numbers (tests check it); where several pairings are
equally valid (ties), their pairings may differ, but not the bars' values.

Which engine runs: the ``engine=`` argument, else :func:`set_engine`'s choice, else the
environment variable ``TDNN_ENGINE``, else the first of :data:`ENGINES` that imports.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os

import numpy as np
from scipy import sparse

from .validation import (check_distance_matrix, check_float32_extent, check_memory, check_points, check_positive_int,
                         check_positive_number)

ENGINES = ("giotto-ph", "gudhi")
ENVIRONMENT_VARIABLE = "TDNN_ENGINE"
_MODULES = {"giotto-ph": "gph", "gudhi": "gudhi"}
_chosen: str | None = None


class NoEngineError(ImportError):
    """Neither giotto-ph nor gudhi can be imported."""


# ---------------------------------------------------------------------------- choosing
def available() -> tuple[str, ...]:
    """The engines that can be imported here, in order of preference."""
    return tuple(name for name in ENGINES if importlib.util.find_spec(_MODULES[name]) is not None)


def _check_engine(name) -> str:
    if name not in ENGINES:
        raise ValueError(f"engine={name!r} is unknown; use one of {ENGINES}")
    if name not in available():
        raise NoEngineError(f"engine {name!r} is not installed here (pip install {name}); "
                            f"installed: {available() or 'none'}")
    return name


def default_engine() -> str:
    """The engine used when a call names none (see the module's docstring for the order)."""
    if _chosen is not None:
        return _chosen
    wanted = os.environ.get(ENVIRONMENT_VARIABLE)
    if wanted:
        try:
            return _check_engine(wanted)
        except (ValueError, NoEngineError) as error:
            raise type(error)(f"{ENVIRONMENT_VARIABLE}={wanted!r}: {error}") from None
    found = available()
    if not found:
        raise NoEngineError("no persistence engine is installed: pip install giotto-ph "
                            "(Python 3.8 to 3.12) or gudhi (any current Python)")
    return found[0]


def set_engine(name: str | None) -> None:
    """Use engine ``name`` from now on (``None``: back to the default order)."""
    global _chosen
    _chosen = None if name is None else _check_engine(name)


@contextlib.contextmanager
def use_engine(name: str):
    """``with use_engine("gudhi"): ...`` runs the block with that engine, then restores."""
    global _chosen
    previous = _chosen
    set_engine(name)
    try:
        yield name
    finally:
        _chosen = previous


def _resolve(engine) -> str:
    return default_engine() if engine is None else _check_engine(engine)


# ---------------------------------------------------------------------------- the filtration
def filtration_values(values) -> np.ndarray:
    """Distances as both engines see them: float64 arrays holding float32-exact values."""
    return np.asarray(values, dtype=np.float64).astype(np.float32).astype(np.float64)


#: Bytes per entry of an n x n matrix that :func:`euclidean_distances` needs at its peak (the
#: result, float64, computed in place; temporaries are a few rows at a time).
EUCLIDEAN_BYTES_PER_PAIR = 8


def euclidean_distances(X) -> np.ndarray:
    """Dense Euclidean distance matrix (n, n) of the rows of ``X`` (n, d), float32-exact values.

    Computed in place, a block of rows at a time, so it needs about ``8 n**2`` bytes (the
    result); more than :data:`tdnn_utils.validation.MEMORY_LIMIT_BYTES` is refused before
    anything is allocated. Values are those of ``sqrt(|x|^2 + |y|^2 - 2 x.y)`` rounded once to
    float32 (the engines' filtration), on ``X`` centred on its bounding box (an offset of the
    whole cloud, 1e6, would otherwise swamp the squares and change the distances). ``X`` must
    be real and finite, its coordinates and extent within float32's range
    (:func:`tdnn_utils.validation.check_float32_extent`).
    """
    X = check_float32_extent(check_points(X, min_points=0))
    if len(X):
        X = X - (X.max(axis=0) / 2 + X.min(axis=0) / 2)
    n = len(X)
    check_memory(EUCLIDEAN_BYTES_PER_PAIR * n * n, f"a dense {n:,} x {n:,} distance matrix",
                 "subsample the points, or use a sparse filtration (a finite threshold, or the hop metric)")
    squared = (X * X).sum(axis=1)
    # |x|^2 + |y|^2 - (2x).y, in place: the same operations, in the same order, as building
    # the Gram matrix whole (negation and scaling by 2 are exact), so the same values.
    distances = (-2.0 * X) @ X.T
    rows_per_block = max(1, 2**22 // max(1, n))  # temporaries of at most 32 MB
    for start in range(0, n, rows_per_block):
        block = distances[start:start + rows_per_block]
        block += squared[start:start + rows_per_block, None] + squared[None, :]
        np.clip(block, 0.0, None, out=block)
        np.sqrt(block, out=block)
        block[...] = block.astype(np.float32)  # the float32 filtration, float64-held
    np.fill_diagonal(distances, 0.0)
    return distances


def _edges(distances, thresh: float):
    """The edges (i < j) and their values up to ``thresh`` of a dense or sparse matrix."""
    if sparse.issparse(distances):
        upper = sparse.triu(sparse.coo_matrix(distances), k=1)
        rows, cols, values = upper.row, upper.col, filtration_values(upper.data)
    else:
        rows, cols = np.triu_indices(distances.shape[0], k=1)
        values = filtration_values(distances[rows, cols])
    keep = values <= thresh
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64), values[keep]


# ---------------------------------------------------------------------------- persistence
def rips(distances, *, maxdim: int, thresh: float = np.inf, engine: str | None = None,
         n_threads: int = 1, collapse_edges: bool = False) -> list[np.ndarray]:
    """Vietoris-Rips persistence diagrams of a distance matrix.

    Parameters
    ----------
    distances : array (n, n), or a sparse (n, n) matrix whose stored entries off the diagonal
        are the only edges (the rest are infinitely long): symmetric, non-negative.
    maxdim : highest homology dimension.
    thresh : only edges up to this value enter; bars alive there die at ``np.inf``.
    engine : "giotto-ph" or "gudhi" (default: :func:`default_engine`).
    n_threads : giotto-ph's threads (gudhi runs on one).
    collapse_edges : giotto-ph's edge collapse (it changes no diagram; measure whether it
        helps: on a two-valued filtration it often costs more than it saves). gudhi always
        collapses edges, which is what makes its flag complexes small.

    Returns
    -------
    list of ``maxdim + 1`` float64 arrays (n_bars, 2) of (birth, death), unreduced (one
    infinite bar of dimension 0 per connected component), bars of length 0 left out.
    ``distances`` that are not square, symmetric and non-negative are refused
    (:func:`tdnn_utils.validation.check_distance_matrix`).
    """
    engine = _resolve(engine)
    distances = check_distance_matrix(distances)
    maxdim = check_positive_int(maxdim, "maxdim", minimum=0)
    thresh = check_positive_number(thresh, "thresh", allow_inf=True)
    n_points = distances.shape[0]
    if n_points == 0:
        return [np.zeros((0, 2)) for _ in range(maxdim + 1)]
    if engine == "giotto-ph":
        from gph import ripser_parallel

        matrix = (sparse.coo_matrix(distances).astype(np.float32) if sparse.issparse(distances)
                  else np.asarray(distances, dtype=np.float32))
        result = ripser_parallel(matrix, metric="precomputed", maxdim=maxdim, thresh=thresh,
                                 collapse_edges=collapse_edges, n_threads=n_threads)
        return [np.asarray(d, dtype=np.float64).reshape(-1, 2) for d in result["dgms"]]
    tree = _gudhi_tree(distances, n_points, maxdim, thresh, collapse=maxdim > 0)
    _gudhi_persistence(tree, maxdim)
    return [_sorted(np.asarray(tree.persistence_intervals_in_dimension(dim), dtype=np.float64))
            for dim in range(maxdim + 1)]


def _gudhi_tree(distances, n_points: int, maxdim: int, thresh: float, *, collapse: bool):
    import gudhi

    rows, cols, values = _edges(distances, thresh)
    tree = gudhi.SimplexTree()
    tree.insert_batch(np.arange(n_points, dtype=np.int64)[None, :], np.zeros(n_points))
    if len(values):
        tree.insert_batch(np.vstack([rows, cols]), values)
    if collapse and len(values):
        # Each iteration keeps the persistence of the flag filtration; stop when nothing changes.
        before = tree.num_simplices()
        while True:
            tree.collapse_edges(nb_iterations=1)
            after = tree.num_simplices()
            if after == before:
                break
            before = after
    tree.expansion(maxdim + 1)
    return tree


def _gudhi_persistence(tree, maxdim: int) -> None:
    """Persistence mod 2 of dimensions 0..maxdim. gudhi skips the complex's top dimension
    unless told, so it is included when the (collapsed) complex has no simplex above maxdim."""
    tree.compute_persistence(homology_coeff_field=2,
                             persistence_dim_max=tree.dimension() <= maxdim)


def _sorted(diagram: np.ndarray) -> np.ndarray:
    diagram = diagram.reshape(-1, 2)
    order = np.lexsort((diagram[:, 1], diagram[:, 0]))
    return diagram[order]


def rips_pairing(distances, *, maxdim: int, engine: str | None = None) -> list[np.ndarray]:
    """The vertices of the edges that create and destroy every finite bar.

    ``distances`` is a dense (n, n) matrix. Returns ``[edges0, edges1, ...]``: ``edges0``
    (n_bars, 2), the edge each finite dimension-0 bar dies at; ``edgesk`` (k >= 1)
    (n_bars, 4), the creating edge then the destroying edge of each finite bar. The bars'
    values are those edges' lengths. Essential bars and bars of length 0 are left out.
    """
    engine = _resolve(engine)
    if sparse.issparse(distances):
        raise ValueError("distances must be a dense (n, n) matrix here; got a sparse one")
    distances = check_distance_matrix(distances)
    maxdim = check_positive_int(maxdim, "maxdim", minimum=0)
    empty0, empty = np.zeros((0, 2), dtype=np.int64), np.zeros((0, 4), dtype=np.int64)
    if distances.shape[0] < 2:
        return [empty0] + [empty] * maxdim
    if engine == "giotto-ph":
        from gph import ripser_parallel

        gens = ripser_parallel(distances.astype(np.float32), metric="precomputed", maxdim=maxdim,
                               return_generators=True, n_threads=1)["gens"]
        finite0, finite_higher = gens[0], gens[1]
    else:
        tree = _gudhi_tree(distances, distances.shape[0], maxdim, np.inf, collapse=False)
        _gudhi_persistence(tree, maxdim)
        finite0, finite_higher, _, _ = tree.flag_persistence_generators()
    values = filtration_values(distances)
    edges0 = np.asarray(finite0, dtype=np.int64).reshape(-1, 3)[:, 1:]
    edges0 = edges0[values[edges0[:, 0], edges0[:, 1]] > 0]
    higher = []
    for dim in range(1, maxdim + 1):
        edges = (np.asarray(finite_higher[dim - 1], dtype=np.int64).reshape(-1, 4)
                 if dim - 1 < len(finite_higher) else empty)
        lengths = values[edges[:, 2], edges[:, 3]] - values[edges[:, 0], edges[:, 1]]
        higher.append(edges[lengths > 0])
    return [edges0] + higher
