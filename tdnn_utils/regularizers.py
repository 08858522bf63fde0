"""Differentiable Vietoris-Rips persistence of a batch, and the topological losses built on it.

The persistence engine (:mod:`tdnn_utils.engines`: giotto-ph, or gudhi) finds the persistence
*pairing* of a point cloud: which edges create and which destroy each bar. The bars' values are then gathered from the cloud's own distances in torch,
so gradients reach the points (the standard construction; torch-topological does the same):

- dimension 0: every finite bar is born at 0 and dies at the length of one edge of a minimum
  spanning tree;
- dimension 1: a bar is born at the length of its creating edge and dies at the length of the
  edge that fills it.

Between changes of the pairing (ties aside), the values are smooth functions of the points,
so the gradients are exact there; tests check them against finite differences.

- :func:`diagrams`: the differentiable finite diagrams, one (n_bars, 2) tensor per dimension;
- :class:`TotalPersistenceLoss`: tda-nn-analysis's sum(death - birth) / max(death - birth);
- :class:`DensifiedLoss`: Hofer et al.'s sum over same-class groups of sum_i |d_i - beta|;
- :class:`TorchTopologicalLoss`: torch-topological's summary-statistic loss, for comparison;
- :class:`Objective`: cross-entropy plus a weighted loss on the logits or the features, in the
  form :func:`tdnn_utils.training.fit` takes;
- :func:`grouped_order`: batches made of same-class groups, as the densified loss wants.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import engines

TARGETS = ("logits", "features")


def _check_points(points: torch.Tensor, name: str = "points") -> None:
    if not isinstance(points, torch.Tensor) or points.ndim != 2:
        shape = tuple(points.shape) if hasattr(points, "shape") else type(points).__name__
        raise ValueError(f"{name} must be a 2-D tensor (n_points, n_features); got {shape}")
    if not torch.isfinite(points).all():
        raise ValueError(f"{name} holds NaN or infinite values")


def pairing(points: torch.Tensor, maxdim: int = 1, engine: str | None = None) -> list[np.ndarray]:
    """The persistence pairing of the finite bars, as vertex indices (see :func:`tdnn_utils.engines.rips_pairing`).

    Returns ``[edges0, edges1, ...]``: ``edges0`` is (n_bars, 2), the edge whose length each
    dimension-0 bar dies at; ``edgesk`` (k >= 1) is (n_bars, 4), the creating edge then the
    destroying edge of each bar. The essential dimension-0 bar (born 0, never dies) has no edge
    and is left out, as the losses only use finite bars; so are bars of length 0 (duplicate
    points add no bar).
    """
    _check_points(points)
    if maxdim not in (0, 1, 2):
        raise ValueError(f"maxdim={maxdim!r} is not allowed; use 0, 1 or 2")
    if len(points) < 2:
        return [np.zeros((0, 2), dtype=np.int64)] + [np.zeros((0, 4), dtype=np.int64)] * maxdim
    cloud = points.detach().to("cpu", torch.float64).numpy()
    return engines.rips_pairing(engines.euclidean_distances(cloud), maxdim=maxdim, engine=engine)


def edge_lengths(points: torch.Tensor, edges) -> torch.Tensor:
    """Euclidean lengths (n_edges,) of ``edges`` (n_edges, 2) between rows of ``points``.

    A zero-length edge (duplicate points) has gradient 0, not NaN.
    """
    edges = torch.as_tensor(np.asarray(edges), dtype=torch.long, device=points.device).reshape(-1, 2)
    squared = (points[edges[:, 0]] - points[edges[:, 1]]).pow(2).sum(dim=1)
    positive = squared > 0
    # sqrt's gradient is infinite at 0: take the root only where the length is positive.
    return torch.where(positive, torch.where(positive, squared, torch.ones_like(squared)).sqrt(),
                       torch.zeros_like(squared))


def diagrams(points: torch.Tensor, maxdim: int = 1) -> list[torch.Tensor]:
    """Differentiable finite persistence diagrams of ``points`` (n_points, n_features).

    Returns one tensor (n_bars, 2) of (birth, death) per dimension 0..``maxdim``, in the
    units of ``points``; gradients flow to ``points``. The values equal giotto-ph's finite
    bars (up to its float32 arithmetic).
    """
    pairs = pairing(points, maxdim)
    deaths0 = edge_lengths(points, pairs[0])
    result = [torch.stack([torch.zeros_like(deaths0), deaths0], dim=1)]
    for edges in pairs[1:]:
        births, deaths = edge_lengths(points, edges[:, :2]), edge_lengths(points, edges[:, 2:])
        result.append(torch.stack([births, deaths], dim=1))
    return result


class TotalPersistenceLoss(nn.Module):
    """tda-nn-analysis's regulariser: Omega = sum(death - birth) / max(death - birth).

    The sum and the maximum run over all finite bars of dimensions 0..``maxdim`` of the batch
    (n_points, n_features), e.g. its logits. Omega is scale-free, between 1 and the number of
    bars; a batch whose bars all have length 0 gives 0. ``persistence_seconds`` adds up the
    time spent finding the pairing.
    """

    def __init__(self, maxdim: int = 1):
        super().__init__()
        if maxdim not in (0, 1, 2):
            raise ValueError(f"maxdim={maxdim!r} is not allowed; use 0, 1 or 2")
        self.maxdim = maxdim
        self.persistence_seconds = 0.0

    def forward(self, points: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        start = time.perf_counter()
        bars = diagrams(points, self.maxdim)
        self.persistence_seconds += time.perf_counter() - start
        lengths = torch.cat([d[:, 1] - d[:, 0] for d in bars])
        if len(lengths) == 0 or not bool(lengths.max() > 0):
            return points.sum() * 0.0
        return lengths.sum() / lengths.max()


class DensifiedLoss(nn.Module):
    """Hofer et al.'s densification: sum over same-class groups of sum_i |d_i - beta|.

    For every class with at least two points in the batch, ``d_i`` are the dimension-0 death
    times of its points (the lengths of their minimum spanning tree's edges) in the
    representation ``points`` (n_points, n_features). Pulling them towards ``beta`` packs
    each class into a cloud of spacing ``beta``. A batch with no class of two points gives 0.
    """

    def __init__(self, beta: float = 0.7):
        super().__init__()
        if not beta > 0:
            raise ValueError(f"beta={beta!r} must be positive")
        self.beta = float(beta)
        self.persistence_seconds = 0.0

    def forward(self, points: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        _check_points(points)
        labels = torch.as_tensor(labels, device=points.device).reshape(-1)
        if len(labels) != len(points):
            raise ValueError(f"labels has {len(labels)} entries for {len(points)} points")
        total = points.sum() * 0.0
        for label in torch.unique(labels):
            group = points[labels == label]
            if len(group) < 2:
                continue
            start = time.perf_counter()
            edges = pairing(group, maxdim=0)[0]
            self.persistence_seconds += time.perf_counter() - start
            total = total + (edge_lengths(group, edges) - self.beta).abs().sum()
        return total


class TorchTopologicalLoss(nn.Module):
    """torch-topological's total persistence of the batch's Vietoris-Rips diagrams, for comparison.

    ``SummaryStatisticLoss("total_persistence", p=1)`` over dimensions 0..``maxdim`` of
    ``VietorisRipsComplex``: the sum of finite bar lengths, not divided by the longest.
    Needs the optional ``torch-topological`` package.
    """

    def __init__(self, maxdim: int = 1):
        super().__init__()
        try:
            from torch_topological.nn import SummaryStatisticLoss, VietorisRipsComplex
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("TorchTopologicalLoss needs torch-topological: "
                              "pip install torch-topological (it keeps the installed torch)") from error
        self.complex = VietorisRipsComplex(dim=maxdim)
        self.summary = SummaryStatisticLoss("total_persistence", p=1)
        self.persistence_seconds = 0.0

    def forward(self, points: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _check_points(points)
        start = time.perf_counter()
        information = self.complex(points)
        self.persistence_seconds += time.perf_counter() - start
        return self.summary(information)


def features_and_logits(model: nn.Module, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The representation before the classifier (n, n_features) and the logits (n, n_classes)."""
    if not hasattr(model, "features") or not hasattr(model, "head"):
        raise TypeError(f"{type(model).__name__} has no .features and .head; use a model from tdnn_utils.cnn")
    features = model.features(X)
    return features, model.head(features)


class Objective:
    """Cross-entropy plus ``weight`` times a topological loss, for :func:`~tdnn_utils.training.fit`.

    Parameters
    ----------
    loss : a module ``loss(points, labels)`` (:class:`TotalPersistenceLoss`,
        :class:`DensifiedLoss`, :class:`TorchTopologicalLoss`), or ``None`` for the baseline.
    weight : its weight (alpha or lambda), >= 0.
    target : "logits" or "features" (the representation before the classifier).

    Calling it on ``(model, X_batch, y_batch)`` returns ``(loss, logits)``. It keeps the
    running sums ``cross_entropy``, ``regularizer`` (unweighted) and ``steps``.
    """

    def __init__(self, loss: nn.Module | None = None, weight: float = 0.0, target: str = "logits"):
        if target not in TARGETS:
            raise ValueError(f"target {target!r} is unknown; use one of {TARGETS}")
        if not (np.isfinite(weight) and weight >= 0):
            raise ValueError(f"weight={weight!r} must be a finite number >= 0")
        self.loss, self.weight, self.target = loss, float(weight), target
        self.cross_entropy = self.regularizer = 0.0
        self.steps = 0

    @property
    def persistence_seconds(self) -> float:
        return getattr(self.loss, "persistence_seconds", 0.0)

    def __call__(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor):
        if self.loss is None or self.weight == 0:
            logits = model(X)
            cross_entropy = F.cross_entropy(logits, y)
            self.cross_entropy += cross_entropy.item()
            self.steps += 1
            return cross_entropy, logits
        features, logits = features_and_logits(model, X)
        cross_entropy = F.cross_entropy(logits, y)
        regularizer = self.loss(logits if self.target == "logits" else features, y)
        self.cross_entropy += cross_entropy.item()
        self.regularizer += regularizer.item()
        self.steps += 1
        return cross_entropy + self.weight * regularizer, logits


def grouped_order(labels, group_size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A permutation of ``labels``' indices in runs of ``group_size`` same-class samples.

    Each class's indices are shuffled and cut into groups of ``group_size`` (its last group
    may be shorter); the groups are then shuffled. Batches of a multiple of ``group_size``
    then hold whole groups, as Hofer et al. build them.
    """
    labels = torch.as_tensor(np.asarray(labels)).reshape(-1)
    if not isinstance(group_size, (int, np.integer)) or group_size < 1:
        raise ValueError(f"group_size={group_size!r} must be a positive integer")
    groups = []
    for label in torch.unique(labels):
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        groups += list(torch.split(members, int(group_size)))
    order = torch.randperm(len(groups), generator=generator)
    return torch.cat([groups[i] for i in order])
