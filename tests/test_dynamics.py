"""Topology during training: the fit callback, the recorder's tables, the peak reading."""

import numpy as np
import pandas as pd
import pytest
import torch

from tdnn_utils import cnn, dynamics, images
from tdnn_utils.training import fit, seed_everything


@pytest.fixture(scope="module")
def digits():
    pixels, labels = images.load_digits_images()
    return pixels[:400, None], labels[:400]


def test_recorder_measures_the_chosen_epochs_during_fit(digits):
    X, y = digits
    seed_everything(0)
    model = cnn.build("resnet", "tiny", num_classes=10, in_channels=1)
    recorder = dynamics.TopologyRecorder(X[:40], epochs=[0, 2], max_units=200)
    calls = []
    history = fit(model, X, y, epochs=2, batch_size=100, lr=0.01, progress=False,
                  callbacks=[recorder, lambda m, e: calls.append(e)])
    assert calls == [0, 1, 2]
    table = recorder.summaries
    blocks = list(model.blocks)
    assert sorted(table["epoch"].unique()) == [0, 2]
    assert len(table) == 2 * len(blocks) * 2  # epochs x blocks x dimensions
    assert (table["total_persistence"] >= 0).all() and table["fraction"].max() == 1.0
    # dimension 0 has one finite bar fewer than the probe has points (distinct points)
    dim0 = table[(table["dim"] == 0) & (table["block"] == "stem")]
    assert (dim0["bars"] == 39).all()
    curves = recorder.functional_curves
    assert set(recorder.functional_diagrams) == {0, 2} and len(recorder.functional_diagrams[2]) == 2
    assert set(curves["epoch"]) == {0, 2} and curves["epsilon"].max() == pytest.approx(0.3)
    assert recorder.seconds > 0 and history.steps_taken == 8


def test_training_changes_what_the_recorder_sees(digits):
    X, y = digits
    seed_everything(1)
    model = cnn.build("lenet", num_classes=10, in_channels=1, image_size=8)
    recorder = dynamics.TopologyRecorder(X[:60], epochs=[0, 5], functional_graph=False)
    fit(model, X, y, epochs=5, batch_size=50, lr=0.01, progress=False, callbacks=[recorder])
    logits = recorder.summaries.query("block == 'logits' and dim == 0").set_index("epoch")
    assert logits.loc[0, "total_persistence"] != logits.loc[5, "total_persistence"]


def test_peak_epsilon_reads_the_highest_point():
    curves = pd.DataFrame({"epoch": [0] * 3 + [1] * 3, "dim": 1, "epsilon": [0.1, 0.2, 0.3] * 2,
                           "betti": [1, 4, 2, 5, 1, 0]})
    peaks = dynamics.peak_epsilon(curves)
    assert peaks["peak_epsilon"].tolist() == [0.2, 0.1]
    flat = curves.assign(betti=0)
    assert dynamics.peak_epsilon(flat)["peak_epsilon"].isna().all()


def test_recorder_rejects_bad_probes():
    with pytest.raises(ValueError, match="probe must be"):
        dynamics.TopologyRecorder(np.zeros((10, 8, 8)))
    with pytest.raises(ValueError, match="NaN"):
        dynamics.TopologyRecorder(np.full((5, 1, 8, 8), np.nan))
    with pytest.raises(ValueError, match="measure nothing"):
        dynamics.TopologyRecorder(np.zeros((5, 1, 8, 8)), per_block=False, functional_graph=False)


def test_functional_graph_only_skips_the_blocks(digits):
    X, _ = digits
    model = cnn.build("lenet", num_classes=10, in_channels=1, image_size=8)
    recorder = dynamics.TopologyRecorder(X[:30], per_block=False, max_units=100)
    recorder(model, 0)
    assert recorder.summaries.empty and len(recorder.functional_curves) > 0


def test_life_and_midlife_cut_bars_at_the_cap():
    diagram = np.array([[0.1, 0.3], [0.2, np.inf]])
    life, midlife = dynamics.life_and_midlife(diagram, cap=0.5)
    assert life == pytest.approx((0.2 + 0.3) / 2) and midlife == pytest.approx((0.2 + 0.35) / 2)
    assert np.isnan(dynamics.life_and_midlife(np.zeros((0, 2)), cap=0.5)[0])


def test_depth_profiles_find_interior_minima():
    rows = [{"family": "f", "seed": 0, "epoch": 3, "dim": d, "depth": i, "block": f"b{i}",
             "normalised_persistence": v} for d, values in ((0, [3, 1, 2]), (1, [3, 2, 1]))
            for i, v in enumerate(values)]
    profiles = dynamics.depth_profiles(pd.DataFrame(rows), epoch=3)
    assert profiles["minimum_at"].tolist() == ["b1", "b2"]
    assert profiles["falls_then_rises"].tolist() == [True, False]
