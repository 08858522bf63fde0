"""The metric's trust checks: possible, stable, agrees; the per-layer rule; trusted depths."""

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import topology, trust


def circle(n=120, radius=1.0, centre=(0.0, 0.0), noise=0.0, seed=0):
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    points = np.c_[centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)]
    return points + noise * np.random.default_rng(seed).normal(size=points.shape)


def test_a_clean_reading_passes_every_check():
    two = np.r_[circle(), circle(centre=(5.0, 0.0))]
    reading = trust.check_reading(two, k=6, scale=2.5, maxdim=1)
    assert reading["betti"] == [2, 2] == reading["betti_cross"]
    assert reading["possible"] and reading["stable"] and reading["agrees"] and reading["ok"]
    assert reading["distinct"] == 240 and reading["width"] == 2


def test_an_impossible_reading_is_flagged():
    reading = trust.check_reading(circle(), k=6, scale=2.5, maxdim=2, betti=[1, 1, 3])
    assert not reading["possible"] and not reading["ok"]
    line = np.c_[np.linspace(0, 1, 50)]
    assert not trust.check_reading(line, k=4, scale=2.5, maxdim=1, betti=[1, 1])["possible"]


def test_a_reading_that_moves_with_k_is_unstable():
    # six tight clusters of 4 in a row: with k = 4 each point must reach into a neighbouring
    # cluster, with k * 0.75 = 3 it need not, so the number of pieces (1 or 6) depends on k
    clusters = np.concatenate([circle(4, 0.1, centre=(10.0 * i, 0.0)) for i in range(6)])
    reading = trust.check_reading(clusters, k=4, scale=2.5, maxdim=1)
    assert reading["betti"][0] == 1 and reading["betti_k_low"][0] == 6
    assert not reading["stable"] and not reading["ok"]
    # two clusters: 1 or 2 pieces, a move of one, within the tolerance
    two = trust.check_reading(np.r_[circle(4, 0.1), circle(4, 0.1, centre=(10.0, 0.0))], k=4, scale=2.5, maxdim=1)
    assert two["betti_k_low"][0] == 2 and two["stable"]


def test_cross_check_reads_known_shapes_and_collapsed_classes():
    assert trust.cross_check_betti(circle(), k=6, maxdim=1).tolist() == [1, 1]
    assert trust.cross_check_betti(np.zeros((30, 3)), k=6, maxdim=2).tolist() == [1, 0, 0]
    distances = trust.density_normalised_distances(circle(), 6, 1.5)
    assert distances.data.max() <= 1.5 and (distances.row != distances.col).all()


def test_density_normalised_pairs_are_every_pair_within_delta():
    rng = np.random.default_rng(1)
    # uneven density: a dense blob, a sparse ring and a few far points (a large max rho)
    X = np.r_[rng.normal(size=(150, 3)) * 0.05, np.c_[circle(80, 3.0, noise=0.05, seed=2), np.zeros(80)],
              rng.uniform(-20, 20, (5, 3))]
    k, delta = 6, 1.5
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    rho = np.sort(D, axis=1)[:, k]
    scaled = D / np.sqrt(rho[:, None] * rho[None])
    rows, cols = np.nonzero((scaled <= delta) & ~np.eye(len(X), dtype=bool))
    found = trust.density_normalised_distances(X, k, delta)
    assert sorted(zip(found.row.tolist(), found.col.tolist())) == sorted(zip(rows.tolist(), cols.tolist()))
    assert np.allclose(np.asarray(found.tocsr()[rows, cols]).ravel(), scaled[rows, cols])


def test_check_network_skips_the_input_and_reuses_known_betti_numbers():
    X = np.r_[circle(), circle(centre=(5.0, 0.0))]
    labels = np.repeat([0, 1], 120)
    layers = {"input": X, "hidden_1": X * 2, "logits": np.c_[X[:, 0], X[:, 0]]}
    known = pd.DataFrame([{"depth": 1, "label": label, "dim": dim, "betti": b}
                          for label in (0, 1) for dim, b in enumerate([1, 0])])
    checks = trust.check_network(layers, labels, k=6, scale=2.5, maxdim=1, betti=known)
    assert list(checks.columns) == trust.CHECK_COLUMNS
    assert checks["depth"].tolist() == [1, 1, 2, 2]
    assert checks.loc[checks["depth"] == 1, "betti"].tolist() == [[1, 0], [1, 0]]
    assert checks.loc[checks["depth"] == 1, "betti_cross"].tolist() == [[1, 1], [1, 1]]


def test_layer_trust_rule_and_trusted_depths():
    checks = pd.DataFrame({"activation": ["relu"] * 8, "depth": [1] * 4 + [2] * 4, "layer": ["h"] * 4 + ["l"] * 4,
                           "possible": True, "stable": True, "agrees": [True] * 4 + [True, False, False, True],
                           "ok": [True] * 4 + [True, False, False, True]})
    table = trust.layer_trust(checks, by=["activation"])
    assert table["ok"].tolist() == [1.0, 0.5] and table["trusted"].tolist() == [True, False]
    betti = pd.DataFrame({"activation": "relu", "depth": [0, 1, 2, 3], "betti": [9, 3, 1, 1]})
    kept = trust.trusted_only(betti, table, by=["activation"])
    assert kept["depth"].tolist() == [0, 1]  # the input always; depth 2 untrusted, 3 unchecked
    both = pd.concat([table, table.assign(activation="tanh", trusted=True)])
    common = trust.common_trust(both, by=[])
    assert common["trusted"].tolist() == [True, False]
    with pytest.raises(ValueError, match="lacks? columns"):
        trust.layer_trust(checks.drop(columns="ok"))


def test_stability_and_agreement_judge_the_numbers_not_the_decision():
    circles = np.r_[circle(), circle(centre=(5.0, 0.0))]
    # not simple either way, but 5 loops against the 2 every other reading sees: not close
    reading = trust.check_reading(circles, k=6, scale=2.5, maxdim=1, betti=[2, 5])
    assert reading["betti_cross"] == [2, 2] and not reading["agrees"] and not reading["stable"]
    assert trust.close([2, 20], [2, 14]) and not trust.close([2, 20], [2, 5])
    assert trust.close([1, 0], [1, 1]) and not trust.close([1, 0], [1, 2])
    assert trust.is_simple([1, 0, 0]) and not trust.is_simple([1, 1]) and not trust.is_simple([2, 0])
    with pytest.raises(ValueError, match="different dimensions"):
        trust.close([1, 0], [1, 0, 0])


def test_input_window_is_the_range_of_k_that_keeps_the_input_true():
    two = {0: circle(120), 1: circle(120, centre=(5.0, 0.0))}
    truth = {0: (1, 1), 1: (1, 1)}
    low, high = trust.input_window(two, truth, 8, scale=2.5, maxdim=1)
    assert 6 <= low <= 8 <= high <= 10
    for k in (low, high):
        assert all(topology.betti_numbers(p, 2.5, k=k, maxdim=1).tolist() == [1, 1] for p in two.values())


def test_readings_long_lays_out_every_reading_per_dimension():
    checks = pd.DataFrame({"activation": ["relu", "tanh"], "depth": [1, 1], "layer": ["h", "h"],
                           "label": [0, 1], "betti": [[1, 30], [2, 0]], "betti_k_low": [[1, 60], [2, 1]],
                           "betti_k_high": [[1, 15], [2, 0]], "betti_cross": [[1, 40], [3, 0]]})
    long = trust.readings_long(checks, by=["activation"])
    assert list(long.columns) == ["activation", "depth", "layer", "label", "reading", "dim", "betti"]
    assert len(long) == 2 * 4 * 2
    relu = long[(long["activation"] == "relu") & (long["dim"] == 1)].set_index("reading")["betti"]
    assert relu.to_dict() == {"smallest k": 60, "calibrated k": 30, "largest k": 15, "cross-check": 40}
    with pytest.raises(ValueError, match=r"lacks? columns \['betti_cross'\]"):
        trust.readings_long(checks.drop(columns="betti_cross"), by=["activation"])


def test_k_dependence_summarises_how_far_a_dimension_moves_with_k():
    checks = pd.DataFrame({"activation": ["relu", "relu"], "depth": [1, 2], "layer": ["h", "l"],
                           "label": [0, 0], "betti": [[1, 20], [1, 10]], "betti_k_low": [[1, 40], [1, 10]],
                           "betti_k_high": [[1, 10], [1, 10]], "betti_cross": [[1, 30], [1, 10]]})
    spread = trust.k_dependence(trust.readings_long(checks, by=["activation"]), dim=1)
    assert spread["means"] == {"calibrated k": 15.0, "cross-check": 20.0, "largest k": 10.0, "smallest k": 25.0}
    assert spread["moved"] == 0.5 and spread["dependent"]
    steady = trust.k_dependence(trust.readings_long(checks.iloc[1:], by=["activation"]), dim=1)
    assert steady["moved"] == 0.0 and not steady["dependent"]
    empty = trust.k_dependence(trust.readings_long(checks.iloc[:0], by=["activation"]))
    assert empty["means"] == {} and not empty["dependent"]


@pytest.mark.parametrize("seed", range(3))
def test_density_normalised_pairs_equal_the_dense_definition(seed):
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(size=(150, 3)) * 0.01, rng.normal(size=(150, 3)) * 3 + 5]  # squeezed and stretched
    k, delta = 6, 1.5
    distances = cdist(X, X)
    rho = np.sort(distances, axis=1)[:, k]
    scaled = distances / np.sqrt(np.outer(rho, rho))
    expected = (scaled <= delta) & ~np.eye(len(X), dtype=bool)
    got = trust.density_normalised_distances(X, k, delta).tocsr()
    assert (got.toarray() > 0).sum() == expected.sum()
    assert ((got.toarray() > 0) == expected).all()
    np.testing.assert_allclose(got.toarray()[expected], scaled[expected], rtol=1e-9)


def test_stability_is_checked_near_k_inside_the_window():
    assert trust.stability_ks(23) == (17, 29)
    assert trust.stability_ks(23, (20, 34)) == (20, 29)
    assert trust.stability_ks(4, (4, 4)) == (4, 4)


def test_components_and_holes_are_trusted_apart():
    checks = pd.DataFrame({"activation": ["relu"] * 2, "depth": [1, 2], "layer": ["h1", "h2"], "label": [0, 0],
                           "width": [15, 15], "betti": [[1, 4], [2, 0]], "betti_k_low": [[1, 12], [2, 0]],
                           "betti_k_high": [[1, 3], [6, 0]], "betti_cross": [[1, 5], [2, 1]],
                           "possible": True, "stable": False, "agrees": False, "ok": False})
    parts = trust.part_checks(checks)
    ok = parts.set_index(["depth", "part"])["ok"].to_dict()
    assert ok == {(1, "components"): True, (1, "holes"): False,  # 4 loops read 12 at a smaller k
                  (2, "components"): False, (2, "holes"): True}   # 2 pieces read 6 at a larger k
    table = trust.layer_trust(parts, by=["activation", "part"])
    holes = trust.for_part(table, "holes")
    assert "part" not in holes.columns and holes.set_index("depth")["trusted"].to_dict() == {1: False, 2: True}
    assert not trust.for_part(table, "every")["trusted"].any()
    with pytest.raises(ValueError, match="part='loops'"):
        trust.for_part(table, "loops")
