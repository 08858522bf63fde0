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
    signals, blocks = functional.unit_signals(acts)
    assert signals.shape == (5, 7) and list(blocks) == ["a"] * 3 + ["b"] * 4
    signals, blocks = functional.unit_signals(acts, max_units=4, seed=0)
    assert signals.shape == (5, 4)
    with pytest.raises(ValueError, match="block 'b' has 4 samples"):
        functional.unit_signals({"a": np.ones((5, 3)), "b": np.ones((4, 2))})
    with pytest.raises(ValueError, match="NaN"):
        functional.unit_signals({"a": np.full((5, 3), np.nan)})
    with pytest.raises(ValueError, match="cap=0"):
        functional.functional_persistence(acts, cap=0)
