"""Corneanu et al.'s functional graph: units as nodes, 1 - |Pearson r| as distance.

Every unit (a dense unit, or one position of one convolutional feature map) is a node; its
signal is its activation over a fixed set of probe samples. Two nodes are close when their
signals are strongly correlated, positively or negatively. Vietoris-Rips persistence of that
distance, up to a cap on the filtration (their code stops at 1 - |r| = 0.3), gives one
diagram per dimension and so Betti curves over epsilon, one per training epoch.

- :func:`unit_signals`: the nodes' signals from a model's block activations, subsampled.
- :func:`correlation_distance`: 1 - |r| between nodes; constant units are at distance 1.
- :func:`functional_persistence`: both steps and the persistence, in one call.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from . import engines

#: The filtration cap of Corneanu et al.'s code (1 - |r| <= 0.3).
DEFAULT_CAP = 0.3


def unit_signals(activations: Mapping[str, np.ndarray], *, max_units: int | None = None,
                 seed: int = 0, skip=("logits",)) -> tuple[np.ndarray, np.ndarray]:
    """Stack every unit's signal over the probe samples; keep at most ``max_units`` of them.

    ``activations`` maps a block name to (n_samples, n_units) (see
    :func:`tdnn_utils.cnn.block_activations`); blocks named in ``skip`` are left out (the
    input is never a block). Units are subsampled uniformly at random, with ``seed``,
    when there are more than ``max_units``. Returns ``(signals, blocks)``: an array
    (n_samples, n_nodes) and the block name of each node.
    """
    parts, names = [], []
    n_samples = None
    for name, values in activations.items():
        if name in skip:
            continue
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2:
            raise ValueError(f"block {name!r} has shape {values.shape}; expected (n_samples, n_units)")
        if n_samples is not None and values.shape[0] != n_samples:
            raise ValueError(f"block {name!r} has {values.shape[0]} samples, the others {n_samples}")
        n_samples = values.shape[0]
        parts.append(values)
        names += [name] * values.shape[1]
    if not parts:
        raise ValueError(f"no blocks left after skipping {skip}")
    signals, blocks = np.concatenate(parts, axis=1), np.asarray(names)
    if not np.isfinite(signals).all():
        raise ValueError("the activations hold NaN or infinite values")
    if max_units is not None and signals.shape[1] > max_units:
        if max_units < 2:
            raise ValueError(f"max_units={max_units!r} must be at least 2")
        keep = np.sort(np.random.default_rng(seed).choice(signals.shape[1], max_units, replace=False))
        signals, blocks = signals[:, keep], blocks[keep]
    return signals, blocks


def correlation_distance(signals) -> np.ndarray:
    """1 - |Pearson r| between the columns of ``signals`` (n_samples, n_nodes).

    A constant node (zero variance, e.g. a dead ReLU unit) has no correlation with anything:
    it is at distance 1 from every other node, never NaN. Returns (n_nodes, n_nodes), zero
    diagonal, values in [0, 1].
    """
    signals = np.asarray(signals, dtype=np.float64)
    if signals.ndim != 2 or signals.shape[0] < 2:
        raise ValueError(f"signals must be (n_samples >= 2, n_nodes); got shape {signals.shape}")
    centred = signals - signals.mean(axis=0)
    norms = np.sqrt((centred ** 2).sum(axis=0))
    constant = norms <= 1e-12 * max(1.0, float(np.abs(signals).max(initial=0.0)))
    scaled = np.where(constant, 0.0, centred / np.where(constant, 1.0, norms))
    distance = 1.0 - np.clip(np.abs(scaled.T @ scaled), 0.0, 1.0)
    np.fill_diagonal(distance, 0.0)
    return distance


def functional_persistence(activations: Mapping[str, np.ndarray], *, maxdim: int = 1,
                           cap: float = DEFAULT_CAP, max_units: int | None = 1000,
                           seed: int = 0) -> list[np.ndarray]:
    """Persistence diagrams of a model's functional graph, filtration capped at ``cap``.

    Returns ``maxdim + 1`` arrays (n_bars, 2) of (birth, death) in units of 1 - |r|; bars
    alive at ``cap`` die at ``np.inf``. ``max_units`` and ``seed`` as in :func:`unit_signals`.
    """
    if not 0 < cap <= 1:
        raise ValueError(f"cap={cap!r} must be in (0, 1]")
    if maxdim not in (0, 1, 2):
        raise ValueError(f"maxdim={maxdim!r} is not allowed; use 0, 1 or 2")
    signals, _ = unit_signals(activations, max_units=max_units, seed=seed)
    return engines.rips(correlation_distance(signals), maxdim=maxdim, thresh=cap,
                        collapse_edges=maxdim > 0)
