"""Betti numbers and persistence on shapes whose topology is known, plus bad input."""

import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import shortest_path

from tdnn_utils import topology as top


def circle(n=200, radius=1.0, centre=(0.0, 0.0)):
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[radius * np.cos(angle) + centre[0], radius * np.sin(angle) + centre[1]]


def torus(n=40, major=2.0, minor=1.0):
    a, b = np.meshgrid(*(2 * [np.linspace(0, 2 * np.pi, n, endpoint=False)]))
    ring = major + minor * np.cos(b)
    return np.c_[(ring * np.cos(a)).ravel(), (ring * np.sin(a)).ravel(), (minor * np.sin(b)).ravel()]


def sphere(n=600):
    i = np.arange(n) + 0.5
    polar, azimuth = np.arccos(1 - 2 * i / n), np.pi * (1 + 5**0.5) * i
    return np.c_[np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)]


KNOWN = [
    ("circle", circle(), 0.2, 6, 1, [1, 1]),
    ("two circles", np.r_[circle(), circle(centre=(5, 0))], 0.2, 6, 1, [2, 2]),
    ("torus", torus(), 0.9, 8, 2, [1, 2, 1]),
    ("sphere", sphere(), 0.3, 10, 2, [1, 0, 1]),
]


@pytest.mark.parametrize("name, X, scale, k, maxdim, expected", KNOWN, ids=[s[0] for s in KNOWN])
def test_known_shapes_euclidean(name, X, scale, k, maxdim, expected):
    assert top.betti_numbers(X, scale, maxdim=maxdim).tolist() == expected


@pytest.mark.parametrize("name, X, scale, k, maxdim, expected", KNOWN, ids=[s[0] for s in KNOWN])
def test_known_shapes_hop_metric(name, X, scale, k, maxdim, expected):
    assert top.betti_numbers(X, 2.5, k=k, maxdim=maxdim).tolist() == expected


def test_scale_too_small_or_too_large_changes_the_answer():
    X = circle()
    assert top.betti_numbers(X, 0.01)[0] == len(X)  # every point alone
    assert top.betti_numbers(X, 2.5).tolist() == [1, 0]  # the hole is filled


def test_unreduced_counts_components():
    two_points = np.array([[0.0, 0.0], [10.0, 0.0]])
    assert top.betti_numbers(two_points, 1.0, maxdim=0).tolist() == [2]


def test_hop_distances_equal_breadth_first_search():
    X = np.random.default_rng(1).normal(size=(120, 3))
    hops = top.hop_distances(X, k=4).toarray()
    reference = shortest_path(top.knn_graph(X, 4).astype(float), unweighted=True)
    reference[np.isinf(reference)] = 0
    np.testing.assert_array_equal(hops, reference)
    within_two = top.hop_distances(X, k=4, max_hops=2).toarray()
    np.testing.assert_array_equal(within_two, np.where(reference <= 2, reference, 0))


def test_knn_graph_is_symmetric_without_loops():
    X = np.random.default_rng(2).normal(size=(50, 2))
    graph = top.knn_graph(X, 3)
    assert (graph != graph.T).nnz == 0
    assert graph.diagonal().sum() == 0
    assert (np.asarray(graph.sum(axis=1)).ravel() >= 3).all()


def test_persistence_agrees_with_giotto_tda():
    VietorisRipsPersistence = pytest.importorskip("gtda.homology").VietorisRipsPersistence  # no wheel on 3.13

    X = np.random.default_rng(3).normal(size=(60, 3))
    ours = top.persistence(X, maxdim=1)
    theirs = VietorisRipsPersistence(homology_dimensions=(0, 1), reduced_homology=False,
                                     infinity_values=np.inf).fit_transform(X[None])[0]
    for dim in (0, 1):
        bars = theirs[theirs[:, 2] == dim][:, :2]
        bars = bars[bars[:, 1] > bars[:, 0]]
        np.testing.assert_allclose(np.sort(ours[dim], axis=0), np.sort(bars, axis=0), rtol=1e-6)


def test_persistence_shapes_and_infinite_bar():
    diagrams = top.persistence(circle(), maxdim=1)
    assert [d.shape[1] for d in diagrams] == [2, 2]
    assert np.isinf(diagrams[0][:, 1]).sum() == 1
    assert len(diagrams[1]) == 1


def test_distance_matrix_hop_marks_unreachable_pairs():
    X = np.r_[circle(20), circle(20, centre=(9, 0))]
    D = top.distance_matrix(X, "hop", k=3)
    assert np.isinf(D[0, 25]) and D[0, 1] == 1 and D[0, 0] == 0
    np.testing.assert_allclose(top.distance_matrix(X)[0, 1], np.linalg.norm(X[0] - X[1]))


def test_betti_by_layer_is_tidy():
    X = np.r_[circle(), circle(centre=(5, 0))]
    y = np.repeat([0, 1], len(circle()))
    layers = {"input": X, "squashed": np.c_[X[:, 0], np.zeros(len(X))]}
    table = top.betti_by_layer(layers, y, 0.2, maxdim=1)
    assert list(table.columns) == ["layer", "depth", "label", "dim", "betti"]
    assert len(table) == 2 * 2 * 2
    got = table.set_index(["layer", "label", "dim"])["betti"]
    assert got[("input", 0, 1)] == 1 and got[("squashed", 0, 1)] == 0
    assert got[("squashed", 1, 0)] == 1


def test_summaries_on_a_hand_made_diagram():
    diagram = np.array([[0.0, 1.0], [0.0, 3.0], [0.5, np.inf]])
    assert top.total_persistence(diagram) == pytest.approx(4.0)
    assert top.persistence_entropy(diagram) == pytest.approx(-(0.25 * np.log(0.25) + 0.75 * np.log(0.75)))
    assert top.betti_curve(diagram, [0.0, 0.5, 1.0, 5.0]).tolist() == [2, 3, 2, 1]
    assert top.persistence_entropy(np.empty((0, 2))) == 0.0
    assert top.betti_at(diagram, 1.0) == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"X": np.zeros(5), "scale": 1.0}, "must be 2-D"),
        ({"X": np.zeros((1, 2)), "scale": 1.0}, "at least 2"),
        ({"X": np.array([[0.0, np.nan], [1, 1]]), "scale": 1.0}, "NaN"),
        ({"X": circle(), "scale": -1.0}, "scale=-1.0"),
        ({"X": circle(), "scale": 1.0, "maxdim": 3}, "maxdim=3"),
        ({"X": circle(), "scale": 1.0, "k": 0}, "k=0"),
        ({"X": circle(20), "scale": 1.0, "k": 20}, "1..19"),
    ],
)
def test_bad_input_is_refused_with_the_value(kwargs, message):
    X = kwargs.pop("X")
    scale = kwargs.pop("scale")
    with pytest.raises(ValueError, match=message):
        top.betti_numbers(X, scale, **kwargs)


def test_bad_metric_is_refused():
    with pytest.raises(ValueError, match="'cosine' is unknown"):
        top.persistence(circle(), metric="cosine")
    with pytest.raises(ValueError, match="needs k"):
        top.persistence(circle(), metric="hop")


def test_betti_by_layer_refuses_mismatched_rows():
    with pytest.raises(ValueError, match="layer 'input' has 3 rows"):
        top.betti_by_layer({"input": np.zeros((3, 2))}, np.zeros(4), 1.0)
    assert isinstance(top.betti_by_layer({"a": circle()}, np.zeros(200), 0.2), pd.DataFrame)


def test_calibrate_k_finds_a_k_that_gives_the_true_betti_numbers():
    clouds = {0: circle(100), 1: np.r_[circle(100), circle(100, centre=(5, 0))]}
    k, table = top.calibrate_k(clouds, {0: (1, 1), 1: (2, 2)}, [1, 4, 6])
    assert k == 4  # k=1 joins only nearest pairs: the circles fall apart
    assert not table[table.k == 1]["correct"].all()
    k, table = top.calibrate_k(clouds, {0: (5, 5), 1: (2, 2)}, [4, 6])
    assert k is None and len(table) == 4
    with pytest.raises(ValueError, match="labels"):
        top.calibrate_k(clouds, {0: (1, 1)}, [4])


def test_simplification_reads_runs():
    rows = []
    for run, totals in [(0, [(3, 2), (2, 1), (1, 0)]), (1, [(3, 2), (1, 5), (2, 0)])]:
        for depth, (b0, b1) in enumerate(totals):
            rows += [{"run": run, "label": 0, "layer": f"l{depth}", "depth": depth, "dim": 0, "betti": b0},
                     {"run": run, "label": 0, "layer": f"l{depth}", "depth": depth, "dim": 1, "betti": b1}]
    summary = top.simplification(pd.DataFrame(rows)).set_index("run")
    assert summary.loc[0, "simplified"] and summary.loc[0, "monotone"]
    assert summary.loc[0, "first_simple_depth"] == 2 and summary.loc[0, "output_total"] == 1
    assert not summary.loc[1, "simplified"] and not summary.loc[1, "monotone"]
    assert np.isnan(summary.loc[1, "first_simple_depth"])


def test_simplification_reads_each_class_in_its_own_dimensions():
    # Chapter 2 joins D-I (dimensions 0-1) and D-III (0-2) in one table: D-I's classes have no
    # dimension 2 anywhere and must still be read; a depth missing a dimension its own class
    # has elsewhere is left out
    rows = []
    for run, dims, totals in [("D-I", (0, 1), [(9, 0), (3, 1), (1, 0)]),
                              ("D-III", (0, 1, 2), [(9, 0, 9), (1, 0, 0), (1, 0, 0)])]:
        for depth, betti in enumerate(totals):
            rows += [{"run": run, "label": 0, "depth": depth, "dim": d, "betti": b} for d, b in zip(dims, betti)]
    rows = [r for r in rows if not (r["run"] == "D-III" and r["depth"] == 1 and r["dim"] == 2)]
    summary = top.simplification(pd.DataFrame(rows)).set_index("run")
    assert summary.loc["D-I", "first_simple_depth"] == 2 and summary.loc["D-I", "input_total"] == 9
    assert summary.loc["D-III", "first_simple_depth"] == 2  # depth 1 lacks its dimension 2
    assert summary.loc["D-III", "input_total"] == 18


def test_median_distance_of_a_square():
    from tdnn_utils.topology import median_distance

    square = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    # 4 sides of length 1 and 2 diagonals of length sqrt(2): the median is 1
    assert median_distance(square) == 1.0
    with pytest.raises(ValueError, match="at least 2"):
        median_distance(np.zeros((1, 2)))
