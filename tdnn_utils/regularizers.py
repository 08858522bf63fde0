"""Differentiable Vietoris-Rips persistence of a batch, and the topological losses built on it.

The persistence engine (:mod:`tdnn_utils.engines`: giotto-ph, or gudhi) finds the persistence
*pairing* of a point cloud: which edges create and which destroy each bar. The bars' values
are then gathered from the cloud's own distances in torch, so gradients reach the points (the
standard construction; torch-topological does the same):

- dimension 0: every finite bar is born at 0 and dies at the length of one edge of a minimum
  spanning tree;
- dimension 1: a bar is born at the length of its creating edge and dies at the length of the
  edge that fills it.

Between changes of the pairing (ties aside), the values are smooth functions of the points,
so the gradients are exact there; tests check them against finite differences.

- :func:`diagrams`: the differentiable finite diagrams, one (n_bars, 2) tensor per dimension;
- :class:`TotalPersistenceLoss`: tda-nn-analysis's sum(death - birth) / max(death - birth);
- :class:`DensifiedLoss`: Hofer et al.'s (1 / n) sum over the n same-class groups of a batch
  of sum_i |d_i - beta|, as their code computes it;
- :class:`TorchTopologicalLoss`: torch-topological's summary-statistic loss (the unnormalised
  sum of bar lengths), used where torch-topological is installed
  (:func:`torch_topological_available`);
- :class:`LogitNormLoss` and :func:`scale_pull`: a plain pull towards small logits, and the
  weights that match it (and label smoothing) to torch-topological's pull;
- :class:`Objective`: cross-entropy (optionally label-smoothed) plus a weighted loss on the
  logits or the features;
- :func:`hofer_batches`: Hofer et al.'s batches of same-class groups.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import engines
from .validation import check_labels, check_memory, check_positive_int

TARGETS = ("logits", "features")


def _check_points(points: torch.Tensor, name: str = "points") -> torch.Tensor:
    """``points`` as a finite real 2-D tensor to compute with: float32 or float64 (half
    precision and integers are computed in float32: torch's cdist has no float16, and a
    float16 square overflows at 256). Complex numbers are refused."""
    if not isinstance(points, torch.Tensor) or points.ndim != 2:
        shape = tuple(points.shape) if hasattr(points, "shape") else type(points).__name__
        raise ValueError(f"{name} must be a 2-D tensor (n_points, n_features); got {shape}")
    if points.shape[1] < 1:
        raise ValueError(f"{name} has shape {tuple(points.shape)}: its points have no coordinates; "
                         "at least one feature is needed")
    if points.is_complex():
        raise ValueError(f"{name} holds complex numbers (dtype {points.dtype}); give real points")
    if points.dtype not in (torch.float32, torch.float64):
        points = points.float()
    if not torch.isfinite(points).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return points


def _check_maxdim(maxdim) -> int:
    return check_positive_int(maxdim, "maxdim", minimum=0, maximum=2)


def _power_of_two_scale(points: torch.Tensor) -> torch.Tensor:
    """A power of two near the largest |coordinate| of ``points`` (1 for all zeros), detached:
    dividing by it is exact and brings the coordinates within [-1, 1]."""
    largest = points.detach().abs().max() if points.numel() else points.new_zeros(())
    if not largest > 0:
        return points.new_ones(())
    return torch.ldexp(points.new_ones(()), torch.frexp(largest).exponent)


def pairing(points: torch.Tensor, maxdim: int = 1, engine: str | None = None) -> list[np.ndarray]:
    """The persistence pairing of the finite bars, as vertex indices (see :func:`tdnn_utils.engines.rips_pairing`).

    Returns ``[edges0, edges1, ...]``: ``edges0`` is (n_bars, 2), the edge whose length each
    dimension-0 bar dies at; ``edgesk`` (k >= 1) is (n_bars, 4), the creating edge then the
    destroying edge of each bar. The essential dimension-0 bar (born 0, never dies) has no edge
    and is left out, as the losses only use finite bars; so are bars of length 0 (duplicate
    points add no bar). It is found on the points divided by a power of two near their
    largest coordinate (the pairing does not change), so any float64 magnitude is read.
    """
    points = _check_points(points)
    maxdim = _check_maxdim(maxdim)
    if len(points) < 2:
        return [np.zeros((0, 2), dtype=np.int64)] + [np.zeros((0, 4), dtype=np.int64)] * maxdim
    cloud = points.detach().to("cpu", torch.float64).numpy()
    # the pairing does not depend on the scale: within [-1, 1], float32's filtration holds any cloud
    cloud = np.ldexp(cloud, -int(np.frexp(np.abs(cloud).max())[1]))
    return engines.rips_pairing(engines.euclidean_distances(cloud), maxdim=maxdim, engine=engine)


def edge_lengths(points: torch.Tensor, edges) -> torch.Tensor:
    """Euclidean lengths (n_edges,) of ``edges`` (n_edges, 2) between rows of ``points``.

    A zero-length edge (duplicate points) has gradient 0, not NaN. Each difference is scaled
    by a power of two before it is squared, so no square overflows or underflows (float32
    coordinates near 1e20 or 1e-25 give their true lengths).
    """
    edges = torch.as_tensor(np.asarray(edges), dtype=torch.long, device=points.device).reshape(-1, 2)
    return _row_norms(points[edges[:, 0]] - points[edges[:, 1]])


def _row_norms(vectors: torch.Tensor) -> torch.Tensor:
    """Euclidean norms (n,) of the rows of ``vectors`` (n, d): each row divided by a power of
    two near its largest entry before squaring (no overflow, no underflow); gradient 0, not
    NaN, at a zero row."""
    largest = vectors.detach().abs().amax(dim=1) if vectors.shape[1] else vectors.new_zeros(len(vectors))
    scale = torch.ldexp(torch.ones_like(largest), torch.frexp(largest).exponent)
    squared = (vectors / scale[:, None]).pow(2).sum(dim=1)
    positive = squared > 0
    # sqrt's gradient is infinite at 0: take the root only where the length is positive.
    return torch.where(positive, scale * torch.where(positive, squared, torch.ones_like(squared)).sqrt(),
                       torch.zeros_like(squared))


def diagrams(points: torch.Tensor, maxdim: int = 1) -> list[torch.Tensor]:
    """Differentiable finite persistence diagrams of ``points`` (n_points, n_features).

    Returns one tensor (n_bars, 2) of (birth, death) per dimension 0..``maxdim``, in the
    units of ``points``; gradients flow to ``points``. The values equal giotto-ph's finite
    bars (up to its float32 arithmetic). Half-precision points give float32 diagrams.
    """
    points = _check_points(points)
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
    bars; a batch whose bars all have length 0 gives 0. It is computed on the batch divided by
    a power of two near its largest coordinate (exact, and Omega does not change), so float32
    coordinates near 1e20 or 1e-25 give the same value and gradient as near 1.
    ``persistence_seconds`` adds up the time spent finding the pairing.
    """

    def __init__(self, maxdim: int = 1):
        super().__init__()
        self.maxdim = _check_maxdim(maxdim)
        self.persistence_seconds = 0.0

    def forward(self, points: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        points = _check_points(points)
        start = time.perf_counter()
        bars = diagrams(points / _power_of_two_scale(points), self.maxdim)
        self.persistence_seconds += time.perf_counter() - start
        lengths = torch.cat([d[:, 1] - d[:, 0] for d in bars])
        if len(lengths) == 0 or not bool(lengths.max() > 0):
            return points.sum() * 0.0
        return lengths.sum() / lengths.max()


class DensifiedLoss(nn.Module):
    """Hofer et al.'s densification loss, as their code computes it.

    The batch (n_points, n_features), e.g. the representation before the linear classifier,
    is cut into consecutive groups of ``group_size`` points (Hofer et al.'s batches: ``n``
    groups of ``b`` samples of one class each, group ``g`` in rows ``g*b .. (g+1)*b - 1``).
    For each group, ``d_i`` are the ``b - 1`` dimension-0 death times of its Vietoris-Rips
    persistence (the edge lengths of its minimum spanning tree). The loss is

        (1 / n) * sum over groups of sum_i |d_i - beta|,

    the sum over groups divided by the number of groups (``core/experiments.py`` of
    c-hofer/topologically_densified_distributions: ``l_top / float(batch_size)``, where
    ``batch_size`` is the number of groups). Duplicate points (a sample drawn twice) die at
    0 and add ``beta`` each, with gradient 0, as in their code (which adds 1e-6 to zero
    squared distances, so they die at 0.001). ``persistence_seconds`` adds up the time
    spent finding the spanning trees.
    """

    def __init__(self, beta: float = 0.7, group_size: int = 16):
        super().__init__()
        if not (np.isfinite(beta) and beta > 0):
            raise ValueError(f"beta={beta!r} must be a positive number")
        if not isinstance(group_size, (int, np.integer)) or group_size < 2:
            raise ValueError(f"group_size={group_size!r} must be an integer >= 2")
        self.beta, self.group_size = float(beta), int(group_size)
        self.persistence_seconds = 0.0

    def death_times(self, points: torch.Tensor) -> list[torch.Tensor]:
        """Each group's finite dimension-0 death times (its spanning tree's positive edge lengths)."""
        points = _check_points(points)
        if len(points) % self.group_size or not len(points):
            raise ValueError(f"{len(points)} points do not split into groups of {self.group_size}; "
                             "the batch must hold whole groups, at least one")
        deaths = []
        for group in torch.split(points, self.group_size):
            start = time.perf_counter()
            edges = pairing(group, maxdim=0)[0]
            self.persistence_seconds += time.perf_counter() - start
            deaths.append(edge_lengths(group, edges))
        return deaths

    def forward(self, points: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        deaths = self.death_times(points)
        total = points.sum() * 0.0
        for d in deaths:
            duplicates = self.group_size - 1 - len(d)  # zero-length edges: deaths at 0
            total = total + (d - self.beta).abs().sum() + duplicates * self.beta
        return total / len(deaths)


class LogitNormLoss(nn.Module):
    """The mean Euclidean norm of the batch's rows, mean_i ||z_i||: a pull towards small logits.

    Like the total persistence of the batch it is homogeneous of degree 1 (scaling the logits
    by t scales it by t), so a weight can match another such term's pull towards the origin
    (:func:`scale_pull`). A zero row has gradient 0, not NaN; an empty batch gives 0.
    """

    def forward(self, points: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        points = _check_points(points)
        if not len(points):
            return points.sum() * 0.0  # no row: 0, as the other losses give an empty batch
        return _row_norms(points).mean()


def scale_pull(logits: torch.Tensor, labels: torch.Tensor, maxdim: int = 1) -> dict:
    """How hard each scale-shrinking term pulls these logits towards 0, per unit weight.

    For a term T of the loss, the pull is the derivative along the scaling of the logits,
    d/dt T(t z) at t = 1. For the three terms compared in Chapter 4 it has a closed form:

    - ``total_persistence`` (torch-topological's unnormalised sum of bar lengths, dims
      0..``maxdim``): homogeneous of degree 1, so the pull equals its value;
    - ``logit_norm`` (:class:`LogitNormLoss`): likewise its value, mean_i ||z_i||;
    - ``label_smoothing``: label smoothing with weight eps changes the cross-entropy by a term
      whose pull is eps * mean_i (z_i[y_i] - mean_k z_i[k]); returned per unit eps.

    A control's weight *matched* to torch-topological's alpha is then
    ``alpha * pull["total_persistence"] / pull[control]``: for these logits both terms pull
    towards 0 equally hard (and, all being homogeneous, at every scale of these logits).
    """
    _check_points(logits)
    labels = torch.as_tensor(check_labels(labels.cpu().numpy() if isinstance(labels, torch.Tensor) else labels,
                                          len(logits), logits.shape[1]), device=logits.device)
    with torch.no_grad():
        bars = diagrams(logits, maxdim)
        total = float(sum((d[:, 1] - d[:, 0]).sum() for d in bars))
        norm = float(LogitNormLoss()(logits))
        margin = float((logits.gather(1, labels[:, None]).squeeze(1) - logits.mean(dim=1)).mean())
    return {"total_persistence": total, "logit_norm": norm, "label_smoothing": margin}


def torch_topological_available() -> bool:
    """Whether torch-topological can be imported here (it needs giotto-ph: no wheel on Python 3.13)."""
    try:
        import torch_topological.nn  # noqa: F401
    except ImportError:
        return False
    return True


class TorchTopologicalLoss(nn.Module):
    """torch-topological's total persistence of the batch's Vietoris-Rips diagrams, for comparison.

    ``SummaryStatisticLoss("total_persistence", p=1)`` over dimensions 0..``maxdim`` of
    ``VietorisRipsComplex``: the sum of finite bar lengths, not divided by the longest; 0
    (with a zero gradient) for a batch of fewer than 2 points, which has no finite bar.
    Computed on the batch divided by a power of two near its largest coordinate, then
    multiplied back (exact: the sum is homogeneous of degree 1), so large or tiny
    coordinates neither overflow nor vanish; half-precision points are computed in float32
    (torch's cdist has none), and the loss is float32. Needs the optional
    ``torch-topological`` package.
    """

    def __init__(self, maxdim: int = 1):
        super().__init__()
        try:
            from torch_topological.nn import SummaryStatisticLoss, VietorisRipsComplex
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("TorchTopologicalLoss needs torch-topological: "
                              "pip install torch-topological (it keeps the installed torch)") from error
        self.complex = VietorisRipsComplex(dim=_check_maxdim(maxdim))
        self.summary = SummaryStatisticLoss("total_persistence", p=1)
        self.persistence_seconds = 0.0

    def forward(self, points: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        points = _check_points(points)
        if len(points) < 2:  # no finite bar (torch-topological itself fails on an empty batch)
            return points.sum() * 0.0
        n = len(points)
        check_memory(48 * n * n, f"torch-topological's Vietoris-Rips persistence of a batch of {n:,} points",
                     "use smaller batches")
        scale = _power_of_two_scale(points)
        start = time.perf_counter()
        information = self.complex(points / scale)
        self.persistence_seconds += time.perf_counter() - start
        total = self.summary(information) * scale
        if not torch.isfinite(total):
            raise ValueError(f"the total persistence of these points (up to {float(scale):.3g} in magnitude) "
                             f"overflows {points.dtype}: rescale them, or use float64")
        return total


def features_and_logits(model: nn.Module, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The representation before the classifier (n, n_features) and the logits (n, n_classes)."""
    if not hasattr(model, "features") or not hasattr(model, "head"):
        raise TypeError(f"{type(model).__name__} has no .features and .head; use a model from tdnn_utils.cnn")
    features = model.features(X)
    return features, model.head(features)


class Objective:
    """Cross-entropy plus ``weight`` times another loss term, for a training loop.

    Parameters
    ----------
    loss : a module ``loss(points, labels)`` (:class:`TotalPersistenceLoss`,
        :class:`DensifiedLoss`, :class:`TorchTopologicalLoss`, :class:`LogitNormLoss`), or
        ``None`` for cross-entropy alone.
    weight : its weight (alpha, lambda or mu), >= 0.
    target : "logits" or "features" (the representation before the classifier).
    label_smoothing : the cross-entropy's label smoothing eps in [0, 1) (torch's definition:
        the target is (1 - eps) on the label plus eps / n_classes on every class).

    Calling it on ``(model, X_batch, y_batch)`` returns ``(loss, logits)``. It keeps the
    running sums ``cross_entropy`` (of the plain, unsmoothed cross-entropy), ``regularizer``
    (unweighted) and ``steps``.
    """

    def __init__(self, loss: nn.Module | None = None, weight: float = 0.0, target: str = "logits",
                 label_smoothing: float = 0.0):
        if target not in TARGETS:
            raise ValueError(f"target {target!r} is unknown; use one of {TARGETS}")
        if not (np.isfinite(weight) and weight >= 0):
            raise ValueError(f"weight={weight!r} must be a finite number >= 0")
        if not (np.isfinite(label_smoothing) and 0 <= label_smoothing < 1):
            raise ValueError(f"label_smoothing={label_smoothing!r} must be in [0, 1)")
        self.loss, self.weight, self.target = loss, float(weight), target
        self.label_smoothing = float(label_smoothing)
        self.cross_entropy = self.regularizer = 0.0
        self.steps = 0

    @property
    def persistence_seconds(self) -> float:
        return getattr(self.loss, "persistence_seconds", 0.0)

    def __call__(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor):
        if self.loss is None or self.weight == 0:
            logits = model(X)
            regularizer = None
        else:
            features, logits = features_and_logits(model, X)
            regularizer = self.loss(logits if self.target == "logits" else features, y)
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        self.cross_entropy += (F.cross_entropy(logits.detach(), y).item() if self.label_smoothing
                               else loss.item())
        self.steps += 1
        if regularizer is None:
            return loss, logits
        self.regularizer += regularizer.item()
        return loss + self.weight * regularizer, logits


def hofer_batches(labels, n_groups: int = 8, group_size: int = 16,
                  generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """One epoch of Hofer et al.'s batches: ``n_groups`` groups of ``group_size`` same-class samples.

    As their code builds them (``IntraLabelMultiDraw`` in ``core/ds_util.py`` and the
    ``DataLoader`` in ``core/experiments.py``): every training sample is, in a shuffled order,
    the *anchor* of one group, completed by ``group_size - 1`` samples of its class drawn
    uniformly *with replacement* (the anchor itself may be drawn again); ``n_groups``
    consecutive groups make a batch of ``n_groups * group_size`` rows, group ``g`` in rows
    ``g * group_size ..``. An incomplete last batch is dropped (their loop drops the last
    batch of every epoch, complete or not: with a number of samples divisible by ``n_groups``
    they train one batch fewer per epoch). Returns the batches as index tensors.
    """
    labels = torch.as_tensor(np.asarray(labels)).reshape(-1)
    for name, value, least in (("n_groups", n_groups, 1), ("group_size", group_size, 2)):
        if not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name}={value!r} must be an integer >= {least}")
    if len(labels) < n_groups:
        raise ValueError(f"{len(labels)} samples cannot fill one batch of {n_groups} groups")
    members = {int(c): torch.nonzero(labels == c).flatten() for c in torch.unique(labels)}
    anchors = torch.randperm(len(labels), generator=generator)
    groups = []
    for anchor in anchors[: len(anchors) // n_groups * n_groups].tolist():
        pool = members[int(labels[anchor])]
        draws = pool[torch.randint(len(pool), (group_size - 1,), generator=generator)]
        groups.append(torch.cat([torch.tensor([anchor]), draws]))
    return [torch.cat(groups[i:i + n_groups]) for i in range(0, len(groups), n_groups)]
