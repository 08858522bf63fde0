"""Where giotto-ph cannot be installed (Colab's Python 3.13), everything runs on gudhi by itself.

giotto-ph is hidden here: ``importlib.util.find_spec("gph")`` answers None and ``import gph``
fails, as on a Python without its wheel; nothing names an engine and ``TDNN_ENGINE`` is unset.
"""

import importlib.util
import sys

import numpy as np
import pytest
import torch

from tdnn_utils import engines, regularizers, topology

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gudhi") is None, reason="needs gudhi")


@pytest.fixture
def no_giotto(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "gph" else real_find_spec(name, *a, **k))
    monkeypatch.setitem(sys.modules, "gph", None)  # `import gph` raises ImportError
    monkeypatch.delenv(engines.ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.setattr(engines, "_chosen", None)


def circle(n=24):
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[np.cos(angles), np.sin(angles)]


def test_gudhi_is_chosen_when_giotto_ph_is_missing(no_giotto):
    assert engines.available() == ("gudhi",)
    assert engines.default_engine() == "gudhi"


def test_persistence_and_betti_numbers_run_without_giotto_ph(no_giotto):
    diagrams = topology.persistence(circle(), maxdim=1)
    assert len(diagrams[1]) == 1 and np.isinf(diagrams[0][:, 1]).sum() == 1
    assert topology.betti_numbers(circle(), 0.5, maxdim=1).tolist() == [1, 1]


def test_differentiable_diagrams_run_without_giotto_ph(no_giotto):
    points = torch.tensor(circle(), requires_grad=True)
    bars = regularizers.diagrams(points, maxdim=1)
    assert len(bars[1]) == 1
    bars[1].sum().backward()
    assert torch.isfinite(points.grad).all()


def test_asking_for_giotto_ph_where_it_is_missing_says_so(no_giotto, monkeypatch):
    monkeypatch.setenv(engines.ENVIRONMENT_VARIABLE, "giotto-ph")
    with pytest.raises(engines.NoEngineError, match="TDNN_ENGINE='giotto-ph'.*not installed"):
        engines.default_engine()
