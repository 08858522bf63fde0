"""The primer's examples and teaching figures: known shapes, honest slider steps, bad input named."""

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import primer, teaching, topology


def test_the_primers_clouds_have_the_betti_numbers_they_claim():
    loop = primer.loop_and_blob(16, 8)
    sweep = primer.euclidean_sweep(loop, np.linspace(0.05, 2.0, 40))
    assert primer.right_scales(sweep, primer.LOOP_AND_BLOB_BETTI)  # some scale reads (2, 1)
    uneven = primer.uneven_circles(60, 24)
    euclidean = primer.euclidean_sweep(uneven, np.linspace(0.05, 2.5, 50))
    assert primer.right_scales(euclidean, primer.UNEVEN_CIRCLES_BETTI) == []  # no Euclidean scale does
    k, _ = topology.calibrate_k({"c": uneven}, {"c": primer.UNEVEN_CIRCLES_BETTI}, [2, 3, 4, 5, 6], scale=2)
    assert k is not None
    assert primer.right_scales(primer.hop_sweep(uneven, k, [1, 2]), primer.UNEVEN_CIRCLES_BETTI) == [1.0, 2.0]
    X, y = primer.ring_and_disk(50)
    assert X.shape == (100, 2) and np.bincount(y).tolist() == [50, 50]
    radius = np.linalg.norm(X, axis=1)
    assert radius[y == 1].max() <= 1.0 < 1.6 <= radius[y == 0].min()


def test_right_scales_needs_every_dimension_right():
    sweep = pd.DataFrame({"scale": [1, 1, 2, 2], "dim": [0, 1, 0, 1], "betti": [2, 0, 2, 1]})
    assert primer.right_scales(sweep, (2, 1)) == [2.0]


def test_the_early_network_is_below_100_and_the_other_at_100():
    X, y = primer.ring_and_disk(60)
    networks = primer.early_and_perfect(X, y, early_steps=3, max_steps=2000)
    assert networks["network"].tolist() == ["stopped early", "trained to 100%"]
    assert networks["accuracy"].iloc[0] < 1.0 == networks["accuracy"].iloc[1]


def test_rips_complex_steps_show_the_complex_up_to_their_scale_and_its_betti_numbers():
    X = primer.loop_and_blob(12, 4)
    scales = [0.3, 0.9, 1.8]
    fig = teaching.rips_complex(X, scales, start=1)
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 3 and fig.layout.sliders[0].active == 1
    for step, scale in zip(steps, scales):
        betti = topology.betti_numbers(X, scale)
        assert step.args[1]["title.text"] == f"ε = {scale:.2f}: β0 = {betti[0]}, β1 = {betti[1]}"
        visible = step.args[0]["visible"]
        assert visible[-1] is True and sum(visible[6:9]) == 1  # the points, and this scale's balls only
    edges_at_first = len([v for v in fig.data[3].x if v is not None]) // 2  # traces: 3 of triangles, then edges
    close_pairs = sum(np.linalg.norm(X[i] - X[j]) <= 0.3 for i in range(len(X)) for j in range(i + 1, len(X)))
    assert edges_at_first == close_pairs
    with pytest.raises(ValueError, match="81 points"):
        teaching.rips_complex(np.zeros((81, 2)) + np.arange(81)[:, None], [1.0])
    with pytest.raises(ValueError, match="scales"):
        teaching.rips_complex(X, [0.0, 1.0])


def test_barcode_draws_one_bar_per_feature_and_arrows_for_infinite_ones():
    diagrams = [np.array([[0, 0.2], [0, 0.5], [0, np.inf]]), np.array([[0.3, 0.9]])]
    fig = teaching.barcode(diagrams, scale=0.4)
    assert [t.name for t in fig.data if t.name] == ["H0 (3 bars)", "H1 (1 bar)"]
    arrows = [t for t in fig.data if t.mode == "markers"]
    assert len(arrows) == 1 and len(arrows[0].y) == 1
    assert fig.layout.shapes[0].x0 == 0.4


def test_betti_against_scale_shades_the_right_scales_and_says_when_there_are_none():
    table = pd.DataFrame({"scale": [1, 1, 2, 2, 3, 3], "dim": [0, 1] * 3, "betti": [3, 0, 2, 1, 2, 1]})
    fig = teaching.betti_against_scale({"a": table, "b": table}, (2, 1), right={"a": [2.0, 3.0], "b": []})
    shaded = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(shaded) == 1 and (shaded[0].x0, shaded[0].x1) == (2.0, 3.0)
    assert any(a.text == "no scale right" for a in fig.layout.annotations)
    with pytest.raises(ValueError, match="empty"):
        teaching.betti_against_scale({}, (1,))


def test_effect_intervals_need_ordered_intervals():
    good = pd.DataFrame({"label": ["a"], "estimate": [1.0], "low": [0.5], "high": [2.0]})
    assert teaching.effect_intervals(good, size=1.5).data[0].x[0] == 1.0
    with pytest.raises(ValueError, match="low <= estimate <= high"):
        teaching.effect_intervals(good.assign(low=3.0), size=1.5)
