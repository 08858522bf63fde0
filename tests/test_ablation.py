"""Tests of tdnn_utils.ablation: the readings from the tutorial's to the paper's."""

import numpy as np
import pandas as pd
import pytest
import torch

from tdnn_utils import ablation, datasets, topology
from tdnn_utils.models import FFNet


def circles(n=60, offset=10.0, seed=0):
    """Two classes of two far-apart circles each: per class β = (2, 2)."""
    rng = np.random.default_rng(seed)
    angles = rng.uniform(0, 2 * np.pi, 4 * n)
    points = np.c_[np.cos(angles), np.sin(angles), np.zeros(4 * n)]
    centres = np.repeat(np.array([[0, 0, 0], [offset, 0, 0], [0, offset, 0], [offset, offset, 0]]), n, axis=0)
    return (points + centres).astype(np.float32), np.repeat([0, 0, 1, 1], n)


def steps(**changes):
    kwargs = dict(tutorial_points=40, dense_points=100, threshold=0.5, k=4, hops=2)
    return ablation.ablation_steps(**{**kwargs, **changes})


def test_each_step_changes_exactly_one_field():
    readings = steps()
    assert [r.name for r in readings][0] == "tutorial" and len(readings) == 6
    changed = []
    for before, after in zip(readings, readings[1:]):
        fields = [f for f in ("n_points", "per_class", "stage", "metric", "networks")
                  if getattr(before, f) != getattr(after, f)]
        changed.append(fields)
    assert changed == [["n_points"], ["n_points", "per_class"], ["stage"], ["metric"], ["networks"]]
    # (a) -> (b) keeps the density: as many points per class on average
    assert readings[1].n_points == 2 * readings[2].n_points
    assert readings[4].k == 4 and readings[4].scale == 2 and readings[3].k_or_none is None
    assert len(steps(paper_points=100)) == 6  # the same density: no extra step


def test_paper_points_adds_one_denser_hop_step_before_the_networks():
    readings = steps(paper_points=300)
    assert [r.name for r in readings][4:] == ["(d) k-NN hops", "(d') k-NN hops, denser", "(e) networks at 100%"]
    d, d_prime, e = readings[4:]
    assert (d.n_points, d_prime.n_points, e.n_points) == (100, 300, 300)
    assert d_prime.metric == "knn" and d_prime.networks == "tutorial" and e.networks == "perfect"
    with pytest.raises(ValueError, match="paper_points"):
        steps(paper_points=0)


@pytest.mark.parametrize("change, message", [
    (dict(stage="middle"), "stage='middle'"), (dict(metric="cosine"), "metric='cosine'"),
    (dict(networks="all"), "networks='all'"), (dict(n_points=1), "n_points"),
    (dict(metric="knn", k=None), "Reading.k"), (dict(scale=-1.0), "scale"),
])
def test_reading_refuses_bad_fields(change, message):
    kwargs = dict(name="x", n_points=10, per_class=True, stage="pre", metric="threshold", scale=1.0)
    with pytest.raises(ValueError, match=message):
        ablation.Reading(**{**kwargs, **change})


def test_sample_indices_pooled_and_per_class():
    _, y = circles()
    pooled, per_class = steps()[1], steps()[2]
    idx = ablation.sample_indices(y, pooled, seed=1)
    assert len(idx) == 200 and len(set(idx)) == 200
    idx = ablation.sample_indices(y, per_class, seed=1)
    assert np.bincount(y[idx]).tolist() == [100, 100]
    assert not np.array_equal(idx, ablation.sample_indices(y, per_class, seed=2))
    with pytest.raises(ValueError, match="n_points=500 per class but class 0 has 120"):
        ablation.sample_indices(y, ablation.Reading("big", 500, True, "pre", "threshold", 1.0))


def test_read_input_pooled_sums_the_classes_and_per_class_reads_each():
    X, y = circles()
    pooled, per_class = steps(threshold=1.0)[1], steps(threshold=1.0)[2]
    both = pd.concat([ablation.read_input(X, y, pooled), ablation.read_input(X, y, per_class)])
    recovery = ablation.input_recovery(both, (2, 2), [pooled, per_class])
    assert recovery["label"].tolist() == [ablation.POOLED, 0, 1]
    assert recovery["true"].tolist() == [(4, 4), (2, 2), (2, 2)]
    assert recovery["recovered"].all(), recovery
    # a threshold too small to join neighbours: many pieces, not recovered
    tiny = steps(threshold=0.01)[2]
    recovery = ablation.input_recovery(ablation.read_input(X, y, tiny), (2, 2), [tiny])
    assert not recovery["recovered"].any()
    with pytest.raises(ValueError, match="no input reading for step 'tutorial'"):
        ablation.input_recovery(both, (2, 2), [steps()[0]])


def test_read_networks_matches_betti_by_layer_on_the_same_sample():
    X, y = circles()
    torch.manual_seed(0)
    models = {"a": FFNet([3, 4, 4, 2], "relu"), "b": FFNet([3, 4, 4, 2], "tanh")}
    for reading in (steps()[2], steps()[3], steps()[4]):
        table = ablation.read_networks(models, X, y, reading, seed=3)
        assert set(table["network"]) == {"a", "b"} and (table["step"] == reading.name).all()
        assert table["depth"].min() == 1  # the input is read once, by read_input
        keep = ablation.sample_indices(y, reading, seed=3)
        from tdnn_utils.models import layer_activations
        layers = layer_activations(models["b"], X[keep], stage=reading.stage)
        expected = topology.betti_by_layer(layers, y[keep], reading.scale, k=reading.k_or_none)
        expected = expected[expected["depth"] > 0].reset_index(drop=True)
        got = table[table["network"] == "b"].reset_index(drop=True)
        assert got["betti"].tolist() == expected["betti"].tolist()
    pre = ablation.read_networks(models, X, y, steps(threshold=1.0)[2])
    post = ablation.read_networks(models, X, y, steps(threshold=1.0)[3])
    assert not pre["betti"].equals(post["betti"]), "the stage changed nothing on this fixture"


def test_threshold_sweep_finds_the_window_and_only_it():
    X, y = circles(n=80)
    clouds = {label: X[y == label] for label in (0, 1)}
    sweep = ablation.threshold_sweep(clouds, {0: (2, 2), 1: (2, 2)}, [0.01, 0.5, 1.0, 5.0, 20.0])
    assert ablation.recovering_thresholds(sweep) == [0.5, 1.0]
    row = sweep[(sweep["cloud"] == 0) & (sweep["threshold"] == 20.0)].iloc[0]
    assert (row["β0"], row["β1"]) == (1, 0)
    assert ablation.recovering_thresholds(sweep.iloc[:0]) == []
    with pytest.raises(ValueError, match="thresholds"):
        ablation.threshold_sweep(clouds, {0: (2, 2), 1: (2, 2)}, [0.0, 1.0])
    with pytest.raises(ValueError, match="truth lacks the clouds"):
        ablation.threshold_sweep(clouds, {0: (2, 2)}, [1.0])


def test_walk_reads_every_step_and_the_networks_at_100():
    X, y = datasets.entangled_tori(n_pts=8, m=1)
    steps = ablation.ablation_steps(tutorial_points=40, dense_points=20, threshold=0.5, k=5, hops=2, paper_points=50)
    models = {"relu": FFNet([3, 5, 5, 5, 2], "relu")}
    perfect = pd.DataFrame([{"activation": "tanh", "seed": 0, "layer": f"l{d}", "depth": d, "label": label,
                             "dim": dim, "betti": [1, 0][dim]} for d in range(4) for label in (0, 1) for dim in (0, 1)])
    table, totals = ablation.walk(X, y, steps, models, perfect, (1, 2))
    assert table["step"].tolist() == [s.name for s in steps] and table["networks"].tolist()[-1] == 1
    assert table["last_b0"].iloc[-1] == 1 and table["last_b1"].iloc[-1] == 0  # depth 2 of the (e) network
    assert table["true"].iloc[0] == "(2, 4)" and table["true"].iloc[2] == "(1, 2)"  # pooled, then per class
    assert set(totals["network"]) == {"relu", "tanh 0", "input"}
    assert (totals.loc[totals["network"] == "input", "depth"] == 0).all()
    empty, _ = ablation.walk(X, y, steps, models, perfect.iloc[:0], (1, 2))
    assert empty["networks"].iloc[-1] == 0
