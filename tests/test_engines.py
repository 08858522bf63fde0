"""The two persistence engines give one answer: same diagrams, same Betti numbers, same bar values."""

import numpy as np
import pytest
import torch

from tdnn_utils import engines, functional, regularizers, topology

pytestmark = pytest.mark.skipif(set(engines.available()) != set(engines.ENGINES),
                                reason="needs both giotto-ph and gudhi installed")


def circle(n=40, radius=1.0, centre=(0.0, 0.0)):
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)]


def clouds():
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(np.arange(6.0), np.arange(6.0)), -1).reshape(-1, 2)  # many ties
    sphere = rng.normal(size=(90, 3))
    sphere /= np.linalg.norm(sphere, axis=1, keepdims=True)
    return {
        "two circles": np.r_[circle(), circle(30, 0.6, (3.0, 0.0))],
        "gaussian 5-D": rng.normal(size=(120, 5)),
        "grid with ties": grid,
        "sphere": sphere,
        "duplicates": np.r_[circle(20), circle(20)],
    }


def same(a, b):
    assert len(a) == len(b)
    for dim, (x, y) in enumerate(zip(a, b)):
        order_x, order_y = np.lexsort((x[:, 1], x[:, 0])), np.lexsort((y[:, 1], y[:, 0]))
        np.testing.assert_array_equal(x[order_x], y[order_y], err_msg=f"dimension {dim}")


@pytest.mark.parametrize("name", list(clouds()))
@pytest.mark.parametrize("maxdim", [1, 2])
def test_euclidean_diagrams_are_identical(name, maxdim):
    X = clouds()[name]
    same(topology.persistence(X, maxdim=maxdim, engine="giotto-ph"),
         topology.persistence(X, maxdim=maxdim, engine="gudhi"))


@pytest.mark.parametrize("name", list(clouds()))
def test_thresholded_and_hop_diagrams_are_identical(name):
    X = clouds()[name]
    for kwargs in ({"thresh": 0.9}, {"metric": "hop", "k": 4}, {"metric": "hop", "k": 6, "thresh": 2.5}):
        same(topology.persistence(X, maxdim=1, engine="giotto-ph", **kwargs),
             topology.persistence(X, maxdim=1, engine="gudhi", **kwargs))


@pytest.mark.parametrize("name", list(clouds()))
def test_betti_numbers_are_identical(name):
    X = clouds()[name]
    for scale, k in ((0.8, None), (2.5, 5), (1.5, 8)):
        assert (topology.betti_numbers(X, scale, k=k, maxdim=2, engine="giotto-ph").tolist()
                == topology.betti_numbers(X, scale, k=k, maxdim=2, engine="gudhi").tolist())


def test_functional_graph_diagrams_are_identical():
    rng = np.random.default_rng(1)
    signals = rng.normal(size=(50, 8)) @ rng.normal(size=(8, 70))
    layers = {"a": signals[:, :40], "b": signals[:, 40:]}
    results = []
    for engine in engines.ENGINES:
        with engines.use_engine(engine):
            results.append(functional.functional_persistence(layers, maxdim=2, cap=0.6))
    same(*results)


@pytest.mark.parametrize("name", ["two circles", "gaussian 5-D", "grid with ties"])
def test_differentiable_bar_values_are_identical(name):
    points = torch.tensor(clouds()[name], dtype=torch.float64)
    values = []
    for engine in engines.ENGINES:
        with engines.use_engine(engine):
            values.append([d.detach().numpy() for d in regularizers.diagrams(points, maxdim=1)])
    # Exact in float32, the filtration's precision: where float32 ties two edges, each engine
    # may pair a different one of them, whose float64 lengths differ in the last digits.
    for a, b in zip(*values):
        np.testing.assert_allclose(np.sort(a, axis=0), np.sort(b, axis=0), rtol=1e-6)
    reference = topology.persistence(clouds()[name], maxdim=1)
    finite = [d[np.isfinite(d[:, 1])] for d in reference]
    np.testing.assert_allclose(np.sort(values[0][0][:, 1]), np.sort(finite[0][:, 1]), rtol=1e-6)


def test_engine_choice_order_and_errors(monkeypatch):
    monkeypatch.delenv(engines.ENVIRONMENT_VARIABLE, raising=False)
    assert engines.default_engine() == "giotto-ph"
    with engines.use_engine("gudhi"):
        assert engines.default_engine() == "gudhi"
    assert engines.default_engine() == "giotto-ph"
    monkeypatch.setenv(engines.ENVIRONMENT_VARIABLE, "gudhi")
    assert engines.default_engine() == "gudhi"
    monkeypatch.setenv(engines.ENVIRONMENT_VARIABLE, "ripser")
    with pytest.raises(ValueError, match="TDNN_ENGINE='ripser'.*giotto-ph"):
        engines.default_engine()
    with pytest.raises(ValueError, match="engine='nope'"):
        topology.persistence(circle(), engine="nope")


def test_missing_engines_are_reported(monkeypatch):
    monkeypatch.delenv(engines.ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.setattr(engines, "available", lambda: ("gudhi",))
    assert engines.default_engine() == "gudhi"
    with pytest.raises(engines.NoEngineError, match="'giotto-ph' is not installed"):
        engines.set_engine("giotto-ph")
    monkeypatch.setattr(engines, "available", lambda: ())
    with pytest.raises(engines.NoEngineError, match="pip install giotto-ph .* or gudhi"):
        engines.default_engine()
