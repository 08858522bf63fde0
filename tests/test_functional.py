"""The functional graph: distances, constant units, subsampling stability, persistence."""

import numpy as np
import pytest

from tdnn_utils import functional, topology


def test_correlation_distance_is_one_minus_absolute_r():
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    signals = np.stack([a, -a, 2 * a + 1, rng.normal(size=200)], axis=1)
    D = functional.correlation_distance(signals)
    np.testing.assert_allclose(D[0, 1], 0.0, atol=1e-12)   # r = -1
    np.testing.assert_allclose(D[0, 2], 0.0, atol=1e-12)   # r = +1
    r = np.corrcoef(signals[:, 0], signals[:, 3])[0, 1]
    np.testing.assert_allclose(D[0, 3], 1 - abs(r))
    np.testing.assert_allclose(D, D.T)
    assert (np.diag(D) == 0).all()


def test_constant_units_are_far_from_everything_and_never_nan():
    rng = np.random.default_rng(1)
    signals = np.column_stack([rng.normal(size=50), np.zeros(50), np.full(50, 3.0), rng.normal(size=50)])
    D = functional.correlation_distance(signals)
    assert np.isfinite(D).all()
    assert D[1, 0] == 1.0 and D[1, 2] == 1.0 and D[2, 3] == 1.0 and D[1, 1] == 0.0


def test_a_loop_of_units_gives_one_bar_in_dimension_one():
    # units whose signals are phase-shifted sines: |r| = |cos(phase difference)|, so the nodes
    # sit on a circle in 1 - |r| (the projective line), and the graph has one loop.
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    phases = np.linspace(0, np.pi, 24, endpoint=False)
    signals = np.sin(t[:, None] + phases[None, :])
    diagrams = functional.functional_persistence({"block": signals}, maxdim=1, cap=1.0, max_units=None)
    assert topology.betti_at(diagrams[1], 0.05) == 1
    assert topology.betti_at(diagrams[0], 0.05) == 1


def test_subsampled_units_give_stable_betti_curves():
    t = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    phases = np.linspace(0, np.pi, 400, endpoint=False)
    rng = np.random.default_rng(2)
    signals = np.sin(t[:, None] + phases[None, :]) + 0.05 * rng.normal(size=(300, 400))
    grid = np.linspace(0, 0.3, 31)
    curves = []
    for seed in range(3):
        dgm = functional.functional_persistence({"b": signals}, maxdim=1, max_units=120, seed=seed)
        curves.append(topology.betti_curve(dgm[0], grid))
    curves = np.array(curves)
    # the number of clusters at every epsilon agrees to within a few across subsamples
    assert np.abs(curves - curves.mean(axis=0)).max() <= 3


def test_unit_signals_subsample_and_validate():
    acts = {"a": np.ones((5, 3)), "b": np.zeros((5, 4)), "logits": np.zeros((5, 2))}
    signals, blocks = functional.unit_signals(acts, outputs="none")
    assert signals.shape == (5, 7) and list(blocks) == ["a"] * 3 + ["b"] * 4
    signals, blocks = functional.unit_signals(acts, max_units=4, seed=0, outputs="none")
    assert signals.shape == (5, 4)
    with pytest.raises(ValueError, match="layer 'b' has 4 samples"):
        functional.unit_signals({"a": np.ones((5, 3)), "b": np.ones((4, 2))})
    with pytest.raises(ValueError, match="NaN"):
        functional.unit_signals({"a": np.full((5, 3), np.nan)})
    with pytest.raises(ValueError, match="cap=0"):
        functional.functional_persistence(acts, cap=0)


def test_the_output_units_enter_as_log_softmax_and_survive_subsampling():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(50, 10))
    acts = {"conv": rng.normal(size=(50, 400)), "logits": logits}
    signals, layers = functional.unit_signals(acts)
    assert signals.shape == (50, 410) and (layers == "logits").sum() == 10
    shifted = logits - logits.max(axis=1, keepdims=True)
    expected = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(signals[:, layers == "logits"], expected)
    np.testing.assert_allclose(functional.unit_signals(acts, outputs="logits")[0][:, -10:], logits)
    for seed in range(3):  # the 10 outputs are kept whatever the subsample
        signals, layers = functional.unit_signals(acts, max_units=30, seed=seed)
        assert signals.shape == (50, 30) and (layers == "logits").sum() == 10
    with pytest.raises(ValueError, match="at least the 10 output units"):
        functional.unit_signals(acts, max_units=11)
    with pytest.raises(ValueError, match="outputs='softmax' is unknown"):
        functional.unit_signals(acts, outputs="softmax")


def test_the_shuffled_probe_keeps_each_unit_and_destroys_correlations():
    t = np.linspace(0, 2 * np.pi, 1000, endpoint=False)
    phases = np.linspace(0, np.pi, 40, endpoint=False)
    signals = np.sin(t[:, None] + phases[None, :])
    shuffled = functional.shuffle_signals(signals, seed=0)
    np.testing.assert_allclose(np.sort(shuffled, axis=0), np.sort(signals, axis=0))  # same values per unit
    off = ~np.eye(40, dtype=bool)
    assert functional.correlation_distance(signals)[off].min() < 0.05
    assert functional.correlation_distance(shuffled)[off].min() > 0.85  # |r| about 1/sqrt(1000)
    real = functional.functional_persistence({"b": signals}, maxdim=1, cap=0.3, max_units=None, outputs="none")
    null = functional.functional_persistence({"b": signals}, maxdim=1, cap=0.3, max_units=None, outputs="none",
                                             shuffle=True)
    assert topology.betti_at(real[1], 0.25) == 1 and len(null[1]) == 0
    assert topology.betti_at(null[0], 0.3) == 40  # nothing joins under the cap


def test_dimensions_up_to_three():
    rng = np.random.default_rng(4)
    diagrams = functional.functional_persistence({"b": rng.normal(size=(30, 25))}, maxdim=3, cap=1.0,
                                                 max_units=None, outputs="none")
    assert len(diagrams) == 4
    with pytest.raises(ValueError, match="maxdim=4"):
        functional.functional_persistence({"b": rng.normal(size=(30, 25))}, maxdim=4)


def test_model_signals_read_only_the_kept_units_and_match_unit_signals():
    import torch

    from tdnn_utils import cnn

    torch.manual_seed(0)
    model = cnn.build("densenet", "tiny", num_classes=10, in_channels=1)
    probe = np.random.default_rng(5).normal(size=(40, 1, 16, 16)).astype(np.float32)
    full, full_layers = functional.unit_signals(cnn.block_activations(model, probe), max_units=300, seed=2)
    lean, lean_layers = functional.model_signals(model, probe, max_units=300, seed=2)
    np.testing.assert_allclose(lean, full, rtol=1e-6, atol=1e-6)
    assert (lean_layers == full_layers).all() and (lean_layers == "logits").sum() == 10
    select = functional.choose_units({"a": 5, "logits": 3}, max_units=6, seed=0)
    assert list(select["logits"]) == [0, 1, 2] and len(select["a"]) == 3
    readings = cnn.block_activations(model, probe[:4], select={"logits": [1, 3]})
    assert readings["logits"].shape == (4, 2)
    with pytest.raises(ValueError, match="exactly one of"):
        functional.functional_persistence()
