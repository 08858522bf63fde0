"""Topology during training: a callback that measures every block at chosen epochs.

:class:`TopologyRecorder` is a callback for :func:`tdnn_utils.training.fit`. At each chosen
epoch it reads every block's output on a fixed probe set of images
(:func:`tdnn_utils.cnn.block_activations`) and stores, as tidy tables:

- per block and dimension (0 and 1): Vietoris-Rips persistence of the probe's activations
  (Euclidean), summarised by total persistence (also divided by the block's median distance,
  so blocks of different scales compare), persistence entropy and the number of bars;
- optionally, the Betti curves of the functional graph (:mod:`tdnn_utils.functional`) over
  a grid of epsilon in [0, cap].

The time it spends is kept in ``seconds``, to compare with the training it measures.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from . import functional, topology
from .cnn import block_activations

SUMMARY_COLUMNS = ["epoch", "block", "depth", "fraction", "dim", "total_persistence",
                   "normalised_persistence", "entropy", "bars"]
CURVE_COLUMNS = ["epoch", "dim", "epsilon", "betti"]


class TopologyRecorder:
    """Record the topology of every block at chosen epochs (a :func:`~tdnn_utils.training.fit` callback).

    Parameters
    ----------
    probe : images (n_probe, channels, height, width), the same at every epoch.
    epochs : the epochs to measure (0 = before training); ``None`` measures every epoch.
    maxdim : highest homology dimension of the per-block persistence (0 or 1; 2 is slow).
    per_block : compute the per-block persistence summaries (off when only the functional
        graph is wanted).
    functional_graph : also compute the functional graph's Betti curves.
    max_units, cap, functional_maxdim : as in :func:`tdnn_utils.functional.functional_persistence`.
    grid_points : number of epsilon values of the Betti curves, from 0 to ``cap``.
    seed : seeds the subsampling of units.
    """

    def __init__(self, probe, *, epochs=None, maxdim: int = 1, per_block: bool = True,
                 functional_graph: bool = True,
                 max_units: int | None = 1000, cap: float = functional.DEFAULT_CAP,
                 functional_maxdim: int = 1, grid_points: int = 61, seed: int = 0):
        probe = np.asarray(probe, dtype=np.float32)
        if probe.ndim != 4 or len(probe) < 3:
            raise ValueError(f"probe must be (n >= 3, channels, height, width); got shape {probe.shape}")
        if not np.isfinite(probe).all():
            raise ValueError("probe holds NaN or infinite values")
        if maxdim not in (0, 1, 2):
            raise ValueError(f"maxdim={maxdim!r} is not allowed; use 0, 1 or 2")
        self.probe = probe
        self.epochs = None if epochs is None else set(int(e) for e in epochs)
        self.maxdim = maxdim
        if not (per_block or functional_graph):
            raise ValueError("per_block and functional_graph are both off: the recorder would measure nothing")
        self.per_block = per_block
        self.functional_graph = functional_graph
        self.max_units, self.cap, self.functional_maxdim = max_units, cap, functional_maxdim
        self.grid = np.linspace(0.0, cap, grid_points)
        self.seed = seed
        self.seconds = 0.0
        self._summaries: list[dict] = []
        self._curves: list[dict] = []
        self.diagrams: dict[int, dict[str, list[np.ndarray]]] = {}
        self.functional_diagrams: dict[int, list[np.ndarray]] = {}

    def __call__(self, model: torch.nn.Module, epoch: int) -> None:
        if self.epochs is not None and epoch not in self.epochs:
            return
        start = time.perf_counter()
        activations = block_activations(model, self.probe)
        names = list(activations)
        self.diagrams[epoch] = {}
        for depth, name in enumerate(names if self.per_block else []):
            values = activations[name]
            diagrams = topology.persistence(values, maxdim=self.maxdim)
            self.diagrams[epoch][name] = diagrams
            scale = topology.median_distance(values) or 1.0
            for dim, diagram in enumerate(diagrams):
                total = topology.total_persistence(diagram)
                self._summaries.append({
                    "epoch": epoch, "block": name, "depth": depth,
                    "fraction": depth / max(1, len(names) - 1), "dim": dim,
                    "total_persistence": total, "normalised_persistence": total / scale,
                    "entropy": topology.persistence_entropy(diagram),
                    "bars": int(np.isfinite(diagram[:, 1]).sum())})
        if self.functional_graph:
            diagrams = functional.functional_persistence(
                activations, maxdim=self.functional_maxdim, cap=self.cap,
                max_units=self.max_units, seed=self.seed)
            self.functional_diagrams[epoch] = diagrams
            for dim, diagram in enumerate(diagrams):
                curve = topology.betti_curve(diagram, self.grid)
                self._curves += [{"epoch": epoch, "dim": dim, "epsilon": float(e), "betti": int(b)}
                                 for e, b in zip(self.grid, curve)]
        self.seconds += time.perf_counter() - start

    @property
    def summaries(self) -> pd.DataFrame:
        """One row per (epoch, block, dimension): :data:`SUMMARY_COLUMNS`."""
        return pd.DataFrame(self._summaries, columns=SUMMARY_COLUMNS)

    @property
    def functional_curves(self) -> pd.DataFrame:
        """The functional graph's Betti curves, one row per (epoch, dimension, epsilon)."""
        return pd.DataFrame(self._curves, columns=CURVE_COLUMNS)


def depth_profiles(summaries: pd.DataFrame, epoch: int, by=("family", "seed"),
                   value: str = "normalised_persistence") -> pd.DataFrame:
    """Where each run's ``value`` is lowest across depth at ``epoch``, per dimension.

    ``summaries`` is :attr:`TopologyRecorder.summaries` stacked with the ``by`` columns.
    Returns one row per (``by``, dim): ``minimum_at`` (the block) and ``falls_then_rises``
    (the minimum is at an interior block, so both ends are higher).
    """
    rows = []
    at_epoch = summaries[summaries["epoch"] == epoch]
    for key, group in at_epoch.groupby(list(by) + ["dim"]):
        group = group.sort_values("depth")
        low = int(np.argmin(group[value].to_numpy()))
        rows.append({**dict(zip(list(by) + ["dim"], key)), "minimum_at": group["block"].iloc[low],
                     "falls_then_rises": bool(0 < low < len(group) - 1)})
    return pd.DataFrame(rows)


def life_and_midlife(diagram, cap: float) -> tuple[float, float]:
    """Corneanu et al. (2020)'s summaries of one diagram: mean bar length and mean bar centre.

    Bars still alive at the filtration cap (death ``inf``) are cut at ``cap``, as the capped
    computation sees them. Returns ``(nan, nan)`` for an empty diagram.
    """
    bars = np.asarray(diagram, dtype=np.float64).reshape(-1, 2)
    if len(bars) == 0:
        return float("nan"), float("nan")
    death = np.minimum(bars[:, 1], cap)
    return float((death - bars[:, 0]).mean()), float(((death + bars[:, 0]) / 2).mean())


def peak_epsilon(curves: pd.DataFrame, dim: int = 1) -> pd.DataFrame:
    """Per epoch, the epsilon where the Betti curve of ``dim`` is highest (NaN if it is all 0).

    Corneanu et al.'s reading: learning to generalise moves beta_1's peak to lower epsilon.
    """
    rows = []
    for epoch, group in curves[curves["dim"] == dim].groupby("epoch"):
        peak = group.loc[group["betti"].idxmax()]
        rows.append({"epoch": epoch, "peak_epsilon": float(peak["epsilon"]) if peak["betti"] > 0 else np.nan,
                     "peak_betti": int(peak["betti"])})
    return pd.DataFrame(rows, columns=["epoch", "peak_epsilon", "peak_betti"])
