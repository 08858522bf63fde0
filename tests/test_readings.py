"""The collapsed reading path: the same Betti numbers as the direct one, on constructed graphs,
on the authors' data at the paper's density, and on trained networks' layers."""

import os
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from scipy.spatial.distance import cdist

from tdnn_utils import collapse, datasets, engines, neighbours, topology
from tdnn_utils.models import FFNet, layer_activations
from tdnn_utils.training import fit, seed_everything


def graph(n, edges):
    rows, cols = np.array(edges).T
    matrix = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return (matrix + matrix.T).tocsr()


def cycle(n):
    return graph(n, [(i, (i + 1) % n) for i in range(n)])


OCTAHEDRON = graph(6, [(i, j) for i in range(6) for j in range(i + 1, 6) if j != i + 3])


@pytest.mark.parametrize("name, g, maxdim, expected", [
    ("square", cycle(4), 1, [1, 1]),
    ("triangle", cycle(3), 1, [1, 0]),
    ("two cycles", sparse.block_diag([cycle(5), cycle(7)]).tocsr(), 1, [2, 2]),
    ("octahedron", OCTAHEDRON, 2, [1, 0, 1]),
    ("complete", graph(7, [(i, j) for i in range(7) for j in range(i + 1, 7)]), 2, [1, 0, 0]),
    ("no edges", sparse.csr_matrix((5, 5)), 1, [5, 0]),
])
def test_flag_betti_of_known_complexes(name, g, maxdim, expected):
    assert collapse.flag_betti(g, maxdim).tolist() == expected


def test_collapse_keeps_the_cycle_and_shrinks_a_disk():
    disk = np.array([[x, y] for x in range(12) for y in range(12)], float)
    g = sparse.csr_matrix(cdist(disk, disk) <= 1.5)
    g.setdiag(False)
    vertices, edges = collapse.reduce_graph(g)
    assert len(vertices) == 1 and len(edges) == 0  # a disk collapses to a point
    vertices, edges = collapse.reduce_graph(cycle(9))
    assert len(vertices) == 9 and len(edges) == 9  # a bare cycle has nothing to collapse


def direct(g, maxdim):
    """The flag complex's Betti numbers with no collapse of ours: the engine on every edge."""
    coo = sparse.triu(g, k=1).tocoo()
    values = sparse.coo_matrix((np.ones(coo.nnz), (coo.row, coo.col)), shape=g.shape)
    diagrams = engines.rips((values + values.T).tocoo(), maxdim=maxdim, thresh=1.0, engine="gudhi")
    return [int(np.isinf(d[:, 1]).sum()) for d in diagrams]


@pytest.mark.parametrize("seed", range(6))
def test_flag_betti_equals_the_engine_on_random_geometric_graphs(seed):
    rng = np.random.default_rng(seed)
    points = rng.uniform(size=(150, 3 if seed % 2 else 2))
    g = sparse.csr_matrix(cdist(points, points) <= 0.16 + 0.02 * seed)
    g.setdiag(False)
    g.eliminate_zeros()
    assert collapse.flag_betti(g, 2).tolist() == direct(g, 2)


def test_flag_betti_refuses_what_is_not_a_graph():
    with pytest.raises(ValueError, match="symmetric"):
        collapse.flag_betti(sparse.csr_matrix(np.triu(np.ones((3, 3)), 1)), 1)
    with pytest.raises(ValueError, match="sparse"):
        collapse.flag_betti(np.ones((3, 3)), 1)
    with pytest.raises(ValueError, match="square"):
        collapse.flag_betti(sparse.csr_matrix((3, 4)), 1)


# ---------------------------------------------------------------------------- neighbours
def canonical_table(X, k):
    """k nearest others by (distance, index), by brute force."""
    distances = cdist(X, X)
    np.fill_diagonal(distances, np.inf)
    index = np.broadcast_to(np.arange(len(X)), distances.shape)
    order = np.lexsort((index, distances), axis=1)
    return order[:, :k]


@pytest.mark.parametrize("X", [
    np.random.default_rng(0).normal(size=(300, 3)),
    np.array([[x, y] for x in range(15) for y in range(15)], float),  # a grid: ties everywhere
    np.r_[[[0.0, 0.0]], np.c_[np.cos(np.arange(40) * np.pi / 20), np.sin(np.arange(40) * np.pi / 20)]],
], ids=["gaussian", "grid", "centre of a circle"])
def test_nearest_breaks_ties_by_index(X):
    for k in (1, 4, 9):
        assert (neighbours.nearest(X, k) == canonical_table(X, k)).all()


def test_hop_graph_equals_breadth_first_search():
    X = np.random.default_rng(2).normal(size=(200, 3))
    table = neighbours.nearest(X, 8)
    one = neighbours.hop_graph(table, 6, 1)
    from scipy.sparse.csgraph import shortest_path
    hops = shortest_path(one.astype(float), unweighted=True)
    for h in (1, 2, 3):
        expected = (hops <= h) & ~np.eye(len(X), dtype=bool)
        assert (neighbours.hop_graph(table, 6, h).toarray() == expected).all()


def test_nearest_and_hop_graph_refuse_bad_input():
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="k_max=10"):
        neighbours.nearest(X, 10)
    with pytest.raises(ValueError, match="coincident"):
        neighbours.nearest(np.r_[X, X[:1]], 3)
    table = neighbours.nearest(X, 3)
    with pytest.raises(ValueError, match="k=4"):
        neighbours.hop_graph(table, 4)
    with pytest.raises(ValueError, match="hops=0"):
        neighbours.hop_graph(table, 2, 0)


# ---------------------------------------------------------------------------- the two paths
def assert_same_paths(points, scale, ks, maxdim):
    fast = topology.betti_numbers_at_ks(points, scale, ks, maxdim=maxdim)
    for k in ks:
        assert fast[k].tolist() == topology.betti_numbers(points, scale, k=k, maxdim=maxdim).tolist()
        assert fast[k].tolist() == topology.betti_numbers_direct(points, scale, k=k, maxdim=maxdim).tolist(), k


def test_paths_agree_on_euclidean_scales():
    rng = np.random.default_rng(3)
    X = np.r_[rng.normal(size=(250, 3)), rng.normal(size=(100, 3)) * 0.1 + 3]
    for scale in (0.2, 0.5, 0.8):
        assert topology.betti_numbers(X, scale, maxdim=2).tolist() == \
            topology.betti_numbers_direct(X, scale, maxdim=2).tolist()


def test_paths_agree_on_trained_layers():
    """ReLU layers put many points on top of each other: merged first, then read both ways."""
    X, y = datasets.naitzat("D-II", seed=0)
    X, y = X[::30], y[::30]
    seed_everything(0)
    model = FFNet([3] + [8] * 6 + [2], "relu")
    fit(model, X, y, steps=600, lr=0.02, progress=False)
    layers = layer_activations(model, X)
    coincident = 0
    for values in layers.values():
        for label in (0, 1):
            points = values[y == label]
            coincident += len(points) - len(topology.distinct_points(points)[0])
            assert_same_paths(points, 2.5, [6, 9], maxdim=1)
    assert coincident > 0  # the case the test is for did occur


REAL = Path(os.environ.get("TDNN_TEST_PUBLISHED", "/work/shared/data/topnn"))
needs_real = pytest.mark.skipif(not all((REAL / spec["file"]).is_file()
                                        for spec in datasets.NAITZAT_PUBLISHED.values()),
                                reason=f"published files not in {REAL}")


@needs_real
@pytest.mark.slow
@pytest.mark.parametrize("name, maxdim, ks", [("D-II", 1, [30, 34, 35]), ("D-III", 2, [34])])
def test_paths_agree_on_the_authors_data_at_the_papers_density(name, maxdim, ks):
    X, y = datasets.naitzat_published_homology_subset(name, REAL, download=False)
    for label in (0, 1):
        assert_same_paths(X[y == label], 2.5, ks, maxdim)


@needs_real
def test_ties_on_a_grid_are_broken_the_same_way_by_both_paths_on_one_graph():
    """D-I's class a is a grid: which of several equidistant neighbours counts decides the graph.
    Given the same (canonical) graph, the collapsed path and the engine agree."""
    X, y = datasets.naitzat_published_homology_subset("D-I", REAL, download=False)
    points = topology.distinct_points(X[y == 1])[0]
    g = neighbours.hop_graph(neighbours.nearest(points, 14), 14, 2)
    assert collapse.flag_betti(g, 1).tolist() == direct(g, 1)
