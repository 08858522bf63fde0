"""Corneanu et al.'s functional graph: units as nodes, 1 - |Pearson r| as distance.

Every unit (a dense unit, or one position of one convolutional feature map, read after its
activation) is a node; its signal is its activation over a fixed set of probe samples. Two
nodes are close when their signals are strongly correlated, positively or negatively.
Vietoris-Rips persistence of that distance, up to a cap on the filtration (their code stops at
1 - |r| = 0.3), gives one diagram per dimension and so Betti curves over epsilon, one per
training epoch.

- :func:`unit_signals`: the nodes' signals from a model's layer activations, the output units
  included (as log-softmax, as their code reads them) and always kept when subsampling
  (:func:`choose_units`); :func:`model_signals` reads only the kept units from a model.
- :func:`shuffle_signals`: the null graph: each unit's signal permuted on its own over the
  probe samples, which keeps every unit's values and destroys every correlation.
- :func:`correlation_distance`: 1 - |r| between nodes; constant units are at distance 1.
- :func:`functional_persistence`: all the steps and the persistence, in one call.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from . import engines
from .validation import check_memory

#: The filtration cap of Corneanu et al.'s code (``MAX_EPSILON = 0.3``: 1 - |r| <= 0.3).
DEFAULT_CAP = 0.3
#: How the output layer enters the graph: as log-softmax (Corneanu et al.'s ``forward_features``
#: returns ``log_softmax`` of the logits), as raw logits, or not at all.
OUTPUTS = ("log_softmax", "logits", "none")
#: Highest homology dimension :func:`functional_persistence` computes.
MAX_DIMENSION = 3


def _log_softmax(values: np.ndarray) -> np.ndarray:
    shifted = values - values.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def choose_units(sizes: Mapping[str, int], *, max_units: int | None = None, seed: int = 0,
                 outputs: str = "log_softmax", output_layer: str = "logits", skip=()) -> dict[str, np.ndarray]:
    """Which units of each layer become nodes: ``{layer: sorted unit indices}``.

    ``sizes`` maps each layer (in order) to its number of units. The layer named
    ``output_layer`` is left out with ``outputs="none"``, layers named in ``skip`` always.
    When more than ``max_units`` units remain, the output units are all kept and the others
    are drawn uniformly at random (with ``seed``) to fill the rest.
    """
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs={outputs!r} is unknown; use one of {OUTPUTS}")
    used = [(name, int(n)) for name, n in sizes.items()
            if name not in skip and not (name == output_layer and outputs == "none")]
    if not used:
        raise ValueError(f"no layers left after skipping {tuple(skip)} (outputs={outputs!r})")
    total = sum(n for _, n in used)
    if max_units is None or total <= max_units:
        return {name: np.arange(n) for name, n in used}
    n_outputs = sum(n for name, n in used if name == output_layer)
    if max_units < n_outputs + 2:
        raise ValueError(f"max_units={max_units!r} must be at least the {n_outputs} output units + 2")
    # one global index per unit, outputs excluded from the draw
    offsets = np.cumsum([0] + [n for _, n in used])
    others = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i, (name, _) in enumerate(used)
                             if name != output_layer])
    chosen = np.sort(np.random.default_rng(seed).choice(others, max_units - n_outputs, replace=False))
    selection = {}
    for i, (name, n) in enumerate(used):
        if name == output_layer:
            selection[name] = np.arange(n)
        else:
            inside = chosen[(chosen >= offsets[i]) & (chosen < offsets[i + 1])] - offsets[i]
            if len(inside):
                selection[name] = inside
    return selection


def unit_signals(activations: Mapping[str, np.ndarray], *, max_units: int | None = None,
                 seed: int = 0, outputs: str = "log_softmax", output_layer: str = "logits",
                 skip=(), selected: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Stack every unit's signal over the probe samples; keep at most ``max_units`` of them.

    ``activations`` maps a layer name to (n_samples, n_units) (see
    :func:`tdnn_utils.cnn.block_activations`). The layer named ``output_layer`` enters as
    ``outputs`` says (:data:`OUTPUTS`): ``"log_softmax"`` (the default, as Corneanu et al.'s
    code), ``"logits"``, or ``"none"`` (left out); layers named in ``skip`` are left out.
    Which units are kept is :func:`choose_units`'s rule (the output units always).
    ``selected=True`` says the activations were already read with that selection
    (:func:`model_signals`). Returns ``(signals, layers)``: an array (n_samples, n_nodes) and
    the layer name of each node.
    """
    n_samples = None
    for name, values in activations.items():
        shape = np.shape(values)
        if len(shape) != 2:
            raise ValueError(f"layer {name!r} has shape {shape}; expected (n_samples, n_units)")
        if n_samples is not None and shape[0] != n_samples:
            raise ValueError(f"layer {name!r} has {shape[0]} samples, the others {n_samples}")
        n_samples = shape[0]
    sizes = {name: np.shape(values)[1] for name, values in activations.items()}
    selection = choose_units(sizes, max_units=None if selected else max_units, seed=seed, outputs=outputs,
                             output_layer=output_layer, skip=skip)
    parts, names = [], []
    for name, index in selection.items():
        values = np.asarray(activations[name])[:, index].astype(np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"the activations of layer {name!r} hold NaN or infinite values")
        if name == output_layer and outputs == "log_softmax":
            values = _log_softmax(values)
        parts.append(values)
        names += [name] * values.shape[1]
    return np.concatenate(parts, axis=1), np.asarray(names)


def model_signals(model, probe, *, max_units: int | None = None, seed: int = 0,
                  outputs: str = "log_softmax", output_layer: str = "logits") -> tuple[np.ndarray, np.ndarray]:
    """:func:`unit_signals` of a model's layers on ``probe``, reading only the units it keeps.

    The same nodes as ``unit_signals(block_activations(model, probe), ...)`` with the same
    arguments, but the units left out are dropped while the probe passes through the model,
    so a wide network on many probe images never holds all its activations at once.
    """
    from .cnn import block_activations

    sizes = {name: values.shape[1] for name, values in block_activations(model, np.asarray(probe)[:1]).items()}
    selection = choose_units(sizes, max_units=max_units, seed=seed, outputs=outputs, output_layer=output_layer)
    activations = block_activations(model, probe, select=selection)
    return unit_signals({name: activations[name] for name in selection}, outputs=outputs,
                        output_layer=output_layer, selected=True)


def shuffle_signals(signals, seed: int = 0) -> np.ndarray:
    """The null: each node's signal permuted independently over the samples.

    Every node keeps its own values (so dead units stay dead), but the samples no longer line
    up between nodes: the correlations the graph is made of are destroyed, and what is left is
    what chance correlations of that many samples give (about 1 / sqrt(n_samples)).
    """
    signals = np.asarray(signals, dtype=np.float64)
    if signals.ndim != 2:
        raise ValueError(f"signals must be (n_samples, n_nodes); got shape {signals.shape}")
    rng = np.random.default_rng(seed)
    return np.take_along_axis(signals, rng.random(signals.shape).argsort(axis=0), axis=0)


def correlation_distance(signals) -> np.ndarray:
    """1 - |Pearson r| between the columns of ``signals`` (n_samples, n_nodes).

    A constant node (zero variance, e.g. a dead ReLU unit) has no correlation with anything:
    it is at distance 1 from every other node, never NaN (Corneanu et al.'s code does the
    same with ``nan_to_num``). Returns (n_nodes, n_nodes), zero diagonal, values in [0, 1].
    """
    signals = np.asarray(signals, dtype=np.float64)
    if signals.ndim != 2 or signals.shape[0] < 2 or signals.shape[1] < 1:
        raise ValueError(f"signals must be (n_samples >= 2, n_nodes >= 1); got shape {signals.shape}")
    if not np.isfinite(signals).all():
        raise ValueError("signals hold NaN or infinite values")
    n_nodes = signals.shape[1]
    check_memory(8 * n_nodes * n_nodes, f"correlation_distance of {n_nodes:,} nodes (a dense "
                 f"{n_nodes:,} x {n_nodes:,} matrix)", "keep fewer units (max_units)")
    centred = signals - signals.mean(axis=0)
    norms = np.sqrt((centred ** 2).sum(axis=0))
    constant = norms <= 1e-12 * max(1.0, float(np.abs(signals).max(initial=0.0)))
    scaled = np.where(constant, 0.0, centred / np.where(constant, 1.0, norms))
    distance = scaled.T @ scaled  # 1 - clip(|r|, 0, 1), in place: one n_nodes x n_nodes matrix
    np.abs(distance, out=distance)
    np.clip(distance, 0.0, 1.0, out=distance)
    np.subtract(1.0, distance, out=distance)
    np.fill_diagonal(distance, 0.0)
    return distance


def functional_persistence(activations: Mapping[str, np.ndarray] | None = None, *, maxdim: int = 1,
                           cap: float = DEFAULT_CAP, max_units: int | None = 1000,
                           seed: int = 0, outputs: str = "log_softmax",
                           shuffle: bool = False, signals=None) -> list[np.ndarray]:
    """Persistence diagrams of a model's functional graph, filtration capped at ``cap``.

    Returns ``maxdim + 1`` arrays (n_bars, 2) of (birth, death) in units of 1 - |r|; bars
    alive at ``cap`` die at ``np.inf``. ``max_units``, ``seed`` and ``outputs`` as in
    :func:`unit_signals`; or give the nodes' ``signals`` (n_samples, n_nodes) directly, e.g.
    from :func:`model_signals`. ``shuffle`` computes the null graph instead
    (:func:`shuffle_signals`, seeded with ``seed``).
    """
    if not 0 < cap <= 1:
        raise ValueError(f"cap={cap!r} must be in (0, 1]")
    if maxdim not in range(MAX_DIMENSION + 1):
        raise ValueError(f"maxdim={maxdim!r} is not allowed; use 0 to {MAX_DIMENSION}")
    if (activations is None) == (signals is None):
        raise ValueError("give exactly one of activations and signals")
    if signals is None:
        signals, _ = unit_signals(activations, max_units=max_units, seed=seed, outputs=outputs)
    n_nodes = np.shape(signals)[-1]
    check_memory(48 * n_nodes**2, f"the functional graph's persistence on {n_nodes:,} nodes (a dense "
                 f"{n_nodes:,} x {n_nodes:,} distance matrix and the engine's copies)",
                 "keep fewer units (max_units, e.g. Corneanu et al.'s 1,000 or fewer)")
    if shuffle:
        signals = shuffle_signals(signals, seed=seed)
    return engines.rips(correlation_distance(signals), maxdim=maxdim, thresh=cap,
                        collapse_edges=maxdim > 0)
