"""Chapter 4's experiment: networks trained with and without a topological loss, paired by seed.

- :class:`Arm`: one loss term and its weight (or none: a baseline), and how batches are drawn
  (uniformly at random, or Hofer et al.'s same-class groups);
- :class:`Recipe`: the training recipe shared by an arm and its baseline (optimiser, learning
  rate and its cosine schedule, weight decay, steps, batch composition, augmentation);
- :class:`DataSpec`: the data set and the per-seed split (:func:`small_sample`), loaded once
  per process;
- :class:`HoferMNIST` and :func:`build_model`: Hofer et al.'s MNIST network
  (``SimpleCNN_MNIST``), and the CNN families of :mod:`tdnn_utils.cnn`;
- :func:`train_network`: one network, one arm, one seed: accuracies, the held-out measures of
  what each loss acts on, and the logits' scale pulls (:func:`tdnn_utils.regularizers.scale_pull`);
- :func:`run_networks`: many networks, in parallel processes, each saved at once as one JSON
  file under a cache folder, so an interrupted run resumes;
- :func:`matched_weights`: the logit-norm and label-smoothing weights whose pull towards
  small logits equals torch-topological's;
- :func:`paired_differences` and :func:`effects`: each comparison paired by seed, as the rows
  the book's rules judge (:func:`tdnn_utils.verdicts.chapter_verdicts`);
- :func:`step_seconds`: the cost of one training step of an arm.

Within a seed every arm of a family starts from the same weights, sees the same training
images in the same order (for its kind of batch) with the same augmentations and dropout
masks; only the loss differs. Hofer et al.'s arms draw their batches as same-class groups,
and their baseline draws them the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from . import cnn, images, parallel, regularizers, verdicts
from .training import choose_device, seed_everything
from .validation import check_columns, check_inside, check_positive_int, check_positive_number, slug

#: Version of what :func:`train_network` computes; part of every cache key.
CACHE_VERSION = 1
LOSSES = ("none", "total_persistence", "torch_topological", "logit_norm", "label_smoothing", "densified")
BATCHES = ("random", "hofer")
HOFER_FAMILY = "hofer-mnist"
HOFER_CIFAR_FAMILY = "hofer-cnn13"
FAMILIES = (HOFER_FAMILY, HOFER_CIFAR_FAMILY, "efficientnet", "densenet", "resnet")
#: Short names of the losses, for the arms' names.
_LABELS = {"total_persistence": "Ω", "torch_topological": "torch-topological",
           "logit_norm": "logit norm", "label_smoothing": "label smoothing", "densified": "densified"}
_SYMBOLS = {"total_persistence": "α", "torch_topological": "α", "logit_norm": "μ",
            "label_smoothing": "ε", "densified": "λ"}


# ---------------------------------------------------------------------------- arms and recipes
@dataclass(frozen=True)
class Arm:
    """One training arm: a loss term with its weight (``"none"``: a baseline) and the batches.

    ``loss``: ``"total_persistence"`` (tda-nn-analysis's Omega on the logits, weight alpha),
    ``"torch_topological"`` (torch-topological's unnormalised total persistence on the logits,
    alpha), ``"logit_norm"`` (:class:`~tdnn_utils.regularizers.LogitNormLoss` on the logits,
    mu), ``"label_smoothing"`` (the cross-entropy's label smoothing, eps) or ``"densified"``
    (Hofer et al.'s loss on the features, lambda, with ``beta``; needs Hofer batches).
    ``batches``: ``"random"`` or ``"hofer"``. ``label`` replaces the generated name (e.g.
    "logit norm (matched)", whose weight differs between families).
    """

    loss: str = "none"
    weight: float = 0.0
    beta: float | None = None
    batches: str = "random"
    label: str | None = None

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r} is unknown; use one of {LOSSES}")
        if self.batches not in BATCHES:
            raise ValueError(f"batches {self.batches!r} is unknown; use one of {BATCHES}")
        check_positive_number(self.weight, "weight", allow_zero=True)
        if (self.loss == "none") != (self.weight == 0):
            raise ValueError(f"loss {self.loss!r} with weight {self.weight!r}: a baseline has weight 0, "
                             "any other arm a positive weight")
        if self.loss == "densified" and not (self.beta and self.beta > 0 and self.batches == "hofer"):
            raise ValueError("the densified loss needs beta > 0 and batches='hofer'")
        if self.loss == "label_smoothing" and self.weight >= 1:
            raise ValueError(f"label smoothing eps={self.weight!r} must be below 1")

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.loss == "none":
            return "baseline" if self.batches == "random" else "baseline, Hofer batches"
        name = f"{_LABELS[self.loss]} {_SYMBOLS[self.loss]}={self.weight:.3g}"
        return name + (f" β={self.beta:g}" if self.beta is not None else "")

    @property
    def baseline(self) -> str:
        return Arm(batches=self.batches).name

    @property
    def slug(self) -> str:
        """A file-name-safe name."""
        beta = "" if self.beta is None else f"-b{self.beta:g}"
        return f"{self.loss}-{self.weight:.6g}{beta}-{self.batches}"

    def objective(self, maxdim: int = 1, group_size: int = 16) -> regularizers.Objective:
        if self.loss == "none":
            return regularizers.Objective()
        if self.loss == "label_smoothing":
            return regularizers.Objective(label_smoothing=self.weight)
        if self.loss == "total_persistence":
            return regularizers.Objective(regularizers.TotalPersistenceLoss(maxdim), self.weight, "logits")
        if self.loss == "torch_topological":
            return regularizers.Objective(regularizers.TorchTopologicalLoss(maxdim), self.weight, "logits")
        if self.loss == "logit_norm":
            return regularizers.Objective(regularizers.LogitNormLoss(), self.weight, "logits")
        return regularizers.Objective(regularizers.DensifiedLoss(self.beta, group_size), self.weight, "features")


OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class Recipe:
    """How an arm and its baseline are trained.

    ``steps`` optimiser steps; batches of ``batch_size`` random samples (a new shuffle every
    pass) or, for Hofer batches, ``n_groups`` groups of ``group_size``
    (:func:`tdnn_utils.regularizers.hofer_batches`). ``optimizer`` "sgd" (with ``momentum``,
    Nesterov if ``nesterov``) or "adam"; ``weight_decay``; the learning rate ``lr`` follows a
    cosine from ``lr`` to 0 over the steps (``schedule="cosine"``, as Hofer et al.'s
    ``CosineAnnealingLR``) or stays (``"constant"``). Augmentation: each training image is
    translated by up to ``shift`` pixels (zero padding, a random crop) and, with ``flip``,
    mirrored left-right half the time. Inputs are standardised with the training set's mean
    and standard deviation per channel.
    """

    steps: int
    lr: float
    optimizer: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 0.0
    schedule: str = "cosine"
    batch_size: int = 64
    n_groups: int = 8
    group_size: int = 16
    shift: int = 0
    flip: bool = False

    def __post_init__(self):
        for name in ("steps", "batch_size", "n_groups", "group_size"):
            check_positive_int(getattr(self, name), name, minimum=2 if name == "group_size" else 1)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r} is unknown; use one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule {self.schedule!r} is unknown; use one of {SCHEDULES}")
        check_positive_number(self.lr, "lr")
        check_positive_number(self.weight_decay, "weight_decay", allow_zero=True)
        check_positive_int(self.shift, "shift", minimum=0)

    def images_per_step(self, batches: str) -> int:
        return self.batch_size if batches == "random" else self.n_groups * self.group_size


def plan_arms(omega_alphas=(), tt_alpha: float = 0.0, controls: bool = True,
              hofer: tuple[float, float] | None = None) -> tuple[list[Arm], list[Arm], list[str]]:
    """The arms of Chapter 4's first phase, and notes on any left out.

    Returns ``(random_arms, hofer_arms, notes)``: the baseline, Omega at each alpha and
    torch-topological's loss at ``tt_alpha`` (random batches); Hofer's baseline and densified
    loss at ``hofer = (lambda, beta)`` (Hofer batches; none when ``hofer`` is None). When
    torch-topological cannot be imported (:func:`tdnn_utils.regularizers.torch_topological_available`;
    e.g. Python 3.13, where giotto-ph has no wheel), its arm is left out, and so are the
    controls matched to it; ``notes`` says so, for the page.
    """
    alphas = [check_positive_number(a, "omega_alphas", allow_zero=True) for a in omega_alphas]
    tt_alpha = check_positive_number(tt_alpha, "tt_alpha", allow_zero=True)
    random_arms = [Arm()] + [Arm("total_persistence", a) for a in alphas if a > 0]
    notes = []
    if tt_alpha:
        if regularizers.torch_topological_available():
            random_arms.append(Arm("torch_topological", float(tt_alpha)))
        else:
            notes.append("torch-topological is not installed here (it needs giotto-ph, which has no wheel "
                         "for this Python), so its arm" + (" and the controls matched to it are" if controls
                                                           else " is") + " left out of this run.")
    hofer_arms = [] if hofer is None else [Arm(batches="hofer"), Arm("densified", float(hofer[0]), float(hofer[1]),
                                                                     "hofer")]
    names = [arm.name for arm in random_arms + hofer_arms]
    if len(set(names)) != len(names):
        raise ValueError(f"an arm is given twice: {names}")
    return random_arms, hofer_arms, notes


def control_arms(weights: dict) -> list[Arm]:
    """The matched controls of one family from :func:`matched_weights`' entry (``None`` weights left out)."""
    arms = []
    if weights.get("logit_norm"):
        arms.append(Arm("logit_norm", weights["logit_norm"], label="logit norm (matched)"))
    if weights.get("label_smoothing"):
        arms.append(Arm("label_smoothing", weights["label_smoothing"], label="label smoothing (matched)"))
    return arms


# ---------------------------------------------------------------------------- data
def small_sample(labels, n_train: int, n_test: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified training set of ``n_train`` images (seeded) and a test set.

    The test set is ``n_test`` of the remaining images (``None``: all of them), drawn with
    ``seed`` as well. Every class gets ``n_train // n_classes`` training images, the first
    ``n_train % n_classes`` classes one more.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if n_train < len(classes):
        raise ValueError(f"n_train={n_train} is fewer than the {len(classes)} classes")
    rng = np.random.default_rng(seed)
    per_class = [n_train // len(classes) + (i < n_train % len(classes)) for i in range(len(classes))]
    train = []
    for label, count in zip(classes, per_class):
        members = np.flatnonzero(labels == label)
        if count > len(members):
            raise ValueError(f"class {label} has {len(members)} images; n_train={n_train} needs {count}")
        train.append(rng.choice(members, count, replace=False))
    train = np.sort(np.concatenate(train))
    rest = rng.permutation(np.setdiff1d(np.arange(len(labels)), train))
    if n_test is not None:
        if n_test > len(rest):
            raise ValueError(f"n_test={n_test} exceeds the {len(rest)} images left after training")
        rest = rest[:n_test]
    return train, rest


_LOADED: dict = {}


@dataclass(frozen=True)
class DataSpec:
    """A data set (:func:`tdnn_utils.images.load_dataset`'s name, folder, image side) and the
    per-seed split: ``n_train`` stratified training images, ``n_test`` test images (``None``:
    all the others). Small and picklable: each worker process loads the images once."""

    name: str = "digits"
    folder: str | None = None
    image_size: int | None = None
    n_train: int = 100
    n_test: int | None = None

    def __post_init__(self):
        if self.name not in images.DATASETS:
            raise ValueError(f"name={self.name!r} is unknown; use one of {images.DATASETS}")
        check_positive_int(self.image_size, "image_size", minimum=4, allow_none=True)
        check_positive_int(self.n_train, "n_train")
        check_positive_int(self.n_test, "n_test", allow_none=True)

    def images(self) -> tuple[np.ndarray, np.ndarray]:
        key = (self.name, self.folder, self.image_size)
        if key not in _LOADED:
            _LOADED[key] = images.load_dataset(self.name, self.folder or None, "train", self.image_size)
        return _LOADED[key]

    def split(self, seed: int):
        """``(X_train, y_train, X_test, y_test)`` of seed ``seed``."""
        pixels, labels = self.images()
        train, test = small_sample(labels, self.n_train, self.n_test, seed)
        return pixels[train], labels[train], pixels[test], labels[test]


# ---------------------------------------------------------------------------- models
class HoferMNIST(nn.Module):
    """Hofer et al.'s MNIST network, ``SimpleCNN_MNIST(batch_norm=True, cls_spectral_norm=False)``.

    As in their ``core/models/simple_cnn.py``: four stages of 3x3 convolution (8, 32, 64, 128
    channels), batch norm, LeakyReLU(0.1) and 2x2 max pooling, flattened (128 features on
    28x28 images: the representation ``z`` the densified loss acts on, after the last batch
    norm), then one linear layer. On smaller images a stage pools only while the side is at
    least 2 (on 28x28 all four pool, as theirs).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28):
        super().__init__()
        stages, channels, side = [], in_channels, int(image_size)
        for width in (8, 32, 64, 128):
            layers = [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.LeakyReLU(0.1)]
            if side >= 2:
                layers.append(nn.MaxPool2d(2, stride=2, padding=0))
                side //= 2
            stages.append(nn.Sequential(*layers))
            channels = width
        self.stages = nn.ModuleList(stages)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(channels * side * side, num_classes)

    @property
    def blocks(self) -> "OrderedDict[str, nn.Module]":
        named = OrderedDict((f"stage{i + 1}", stage) for i, stage in enumerate(self.stages))
        named["logits"] = self.head
        return named

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return self.flatten(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class HoferCNN13(nn.Module):
    """Hofer et al.'s CIFAR network, ``SimpleCNN13(batch_norm=True, drop_out=True, final_bn=True)``.

    As in their ``core/models/simple_cnn.py`` (the CNN-13 of the mean-teacher papers): three
    3x3 convolutions of 128 channels, max pooling, dropout 0.5; three of 256, max pooling,
    dropout 0.5; a 3x3 convolution of 512 without padding, 1x1 convolutions to 256 and 128,
    each followed by batch norm (the last one: ``final_bn``) and LeakyReLU(0.1); average
    pooling (6x6 on 32x32 images; over the whole map otherwise) gives the 128 features ``z``.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, image_size: int = 32):
        super().__init__()

        def conv(cin, cout, kernel, padding):
            return [nn.Conv2d(cin, cout, kernel, padding=padding), nn.BatchNorm2d(cout), nn.LeakyReLU(0.1)]

        side = (int(image_size) // 2 // 2) - 2
        self.body = nn.Sequential(
            *conv(in_channels, 128, 3, 1), *conv(128, 128, 3, 1), *conv(128, 128, 3, 1),
            nn.MaxPool2d(2, stride=2), nn.Dropout(0.5),
            *conv(128, 256, 3, 1), *conv(256, 256, 3, 1), *conv(256, 256, 3, 1),
            nn.MaxPool2d(2, stride=2), nn.Dropout(0.5),
            *conv(256, 512, 3, 0), *conv(512, 256, 1, 0), *conv(256, 128, 1, 0),
            nn.AvgPool2d(6, stride=2) if side == 6 else nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(128, num_classes)

    @property
    def blocks(self) -> "OrderedDict[str, nn.Module]":
        return OrderedDict([("features", self.body), ("logits", self.head)])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_model(family: str, size: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """Hofer et al.'s MNIST network (``"hofer-mnist"``) or CIFAR network (``"hofer-cnn13"``), ``size``
    ignored, or a family of :mod:`tdnn_utils.cnn` at ``size``."""
    if family not in FAMILIES:
        raise ValueError(f"family {family!r} is unknown; use one of {FAMILIES}")
    if family == HOFER_FAMILY:
        return HoferMNIST(num_classes, in_channels, image_size)
    if family == HOFER_CIFAR_FAMILY:
        return HoferCNN13(num_classes, in_channels, image_size)
    return cnn.build(family, size, num_classes=num_classes, in_channels=in_channels)


# ---------------------------------------------------------------------------- training
def _augment(X: torch.Tensor, shift: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Random translations by up to ``shift`` pixels (zero padding) and, with ``flip``, mirroring."""
    if shift:
        n, _, height, width = X.shape
        padded = F.pad(X, (shift, shift, shift, shift))
        offsets = torch.randint(0, 2 * shift + 1, (n, 2), generator=generator).tolist()
        X = torch.stack([padded[i, :, dy:dy + height, dx:dx + width] for i, (dy, dx) in enumerate(offsets)])
    if flip:
        mirrored = torch.rand(len(X), generator=generator) < 0.5
        X = torch.where(mirrored[:, None, None, None], X.flip(-1), X)
    return X


class _Run:
    """One network in training: model, objective, optimiser, schedule and batch stream."""

    def __init__(self, arm: Arm, family: str, size: str, recipe: Recipe, X_train, y_train, *, seed: int,
                 maxdim: int = 1, device: str = "auto", n_classes: int | None = None):
        self.arm, self.recipe = arm, recipe
        X = torch.as_tensor(np.asarray(X_train), dtype=torch.float32)
        if X.ndim == 3:
            X = X[:, None]
        y = torch.as_tensor(np.asarray(y_train), dtype=torch.long)
        if X.ndim != 4 or len(X) != len(y):
            raise ValueError(f"X_train must be images (n, channels, height, width) and y_train (n,); "
                             f"got {tuple(X.shape)} and {tuple(y.shape)}")
        self.X, self.y = X, y
        self.mean = X.mean(dim=(0, 2, 3), keepdim=True)
        self.std = X.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
        self.device = choose_device(device)
        n_classes = int(y.max()) + 1 if n_classes is None else n_classes
        seed_everything(seed)  # the same initial weights and dropout masks for every arm of a seed
        self.model = build_model(family, size, n_classes, X.shape[1], X.shape[-1]).to(self.device)
        self.objective = arm.objective(maxdim, recipe.group_size)
        parameters = self.model.parameters()
        if recipe.optimizer == "sgd":
            self.optimiser = torch.optim.SGD(parameters, lr=recipe.lr, momentum=recipe.momentum,
                                             nesterov=recipe.nesterov and recipe.momentum > 0,
                                             weight_decay=recipe.weight_decay)
        else:
            self.optimiser = torch.optim.Adam(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay)
        self.scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(self.optimiser, T_max=recipe.steps, eta_min=0.0)
                          if recipe.schedule == "cosine" else None)
        self.generator = torch.Generator().manual_seed(seed)
        self._pending: list[torch.Tensor] = []

    def normalise(self, X: torch.Tensor) -> torch.Tensor:
        return (X - self.mean) / self.std

    def next_batch(self) -> torch.Tensor:
        if not self._pending:
            if self.arm.batches == "hofer":
                self._pending = regularizers.hofer_batches(self.y, self.recipe.n_groups, self.recipe.group_size,
                                                           self.generator)
            else:
                order = torch.randperm(len(self.y), generator=self.generator)
                self._pending = list(torch.split(order, self.recipe.batch_size))
        return self._pending.pop(0)

    def step(self) -> float:
        index = self.next_batch()
        X = _augment(self.X[index], self.recipe.shift, self.recipe.flip, self.generator)
        X, y = self.normalise(X).to(self.device), self.y[index].to(self.device)
        self.model.train()
        loss, _ = self.objective(self.model, X, y)
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return float(loss.detach())

    @torch.no_grad()
    def outputs(self, X, batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
        """Features and logits (on the CPU, float64) of images ``X`` in eval mode."""
        X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
        if X.ndim == 3:
            X = X[:, None]
        self.model.eval()
        features, logits = [], []
        for chunk in torch.split(X, batch_size):
            f, z = regularizers.features_and_logits(self.model, self.normalise(chunk).to(self.device))
            features.append(f.double().cpu())
            logits.append(z.double().cpu())
        return torch.cat(features), torch.cat(logits)


def _class_groups(labels, group_size: int) -> list[np.ndarray]:
    """Per class, the first ``group_size`` indices of that class (classes with fewer are skipped)."""
    labels = np.asarray(labels)
    groups = [np.flatnonzero(labels == c)[:group_size] for c in np.unique(labels)]
    return [g for g in groups if len(g) == group_size]


def train_network(arm: Arm, family: str, size: str, recipe: Recipe, data, *, seed: int, maxdim: int = 1,
                  n_probe: int = 128, pull_batches: int = 8, device: str = "auto",
                  threads: int | None = None) -> dict:
    """Train one network with ``arm`` and ``recipe`` on ``data`` = ``(X_train, y_train, X_test, y_test)``.

    Weights, batch order, augmentations and dropout masks are seeded with ``seed``, the same
    for every arm. After training (eval mode) it measures:

    - ``train_accuracy`` (unaugmented training images) and ``test_accuracy``;
    - on the first ``n_probe`` test images (held out), what the losses act on: the mean logit
      norm (``probe_logit_norm``), Omega of the logits (``probe_omega``), their unnormalised
      total persistence (``probe_total_persistence``), dims 0..``maxdim``; and, on one group
      of ``recipe.group_size`` test images per class, the features' minimum-spanning-tree edge
      lengths (Hofer's death times: ``probe_deaths``, a list, and their median);
    - ``pull_*``: :func:`tdnn_utils.regularizers.scale_pull` of the logits of
      ``pull_batches`` random training batches of ``recipe.batch_size`` (unaugmented), averaged:
      the calibration of :func:`matched_weights`.

    Returns a JSON-ready record (also ``cross_entropy`` and ``regularizer``: means per step,
    ``train_seconds`` (wall), ``train_cpu_seconds`` (this process's CPU time),
    ``measure_cpu_seconds`` (the measurements after training), ``persistence_seconds``).
    ``threads`` sets torch's threads meanwhile.
    """
    X_train, y_train, X_test, y_test = data
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        n_classes = int(max(np.max(y_train), np.max(y_test))) + 1
        run = _Run(arm, family, size, recipe, X_train, y_train, seed=seed, maxdim=maxdim, device=device,
                   n_classes=n_classes)
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(recipe.steps):
            run.step()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start

        measure_start = time.process_time()
        _, train_logits = run.outputs(X_train)
        features, test_logits = run.outputs(X_test)
        y_test_t = torch.as_tensor(np.asarray(y_test))
        probe = test_logits[:n_probe]
        omega = float(regularizers.TotalPersistenceLoss(maxdim)(probe))
        total = float(sum((d[:, 1] - d[:, 0]).sum() for d in regularizers.diagrams(probe, maxdim)))
        deaths = []
        for group in _class_groups(y_test, recipe.group_size):
            tree = regularizers.pairing(features[group], maxdim=0)[0]
            deaths.append(regularizers.edge_lengths(features[group], tree).numpy())
        deaths = np.concatenate(deaths) if deaths else np.zeros(0)
        generator = torch.Generator().manual_seed(seed + 10_000)
        pulls = []
        for _ in range(pull_batches):
            index = torch.randperm(len(train_logits), generator=generator)[: recipe.batch_size]
            pulls.append(regularizers.scale_pull(train_logits[index], torch.as_tensor(np.asarray(y_train))[index],
                                                 maxdim))
        steps = max(1, run.objective.steps)
        measure_cpu_seconds = time.process_time() - measure_start
        record = {
            "family": family, "size": size if not family.startswith("hofer") else "", "arm": arm.name,
            "baseline": arm.baseline, "loss": arm.loss, "weight": arm.weight, "beta": arm.beta,
            "batches": arm.batches, "seed": int(seed),
            "train_accuracy": float((train_logits.argmax(1) == torch.as_tensor(np.asarray(y_train))).double().mean()),
            "test_accuracy": float((test_logits.argmax(1) == y_test_t).double().mean()),
            "n_train": len(y_train), "n_test": len(y_test),
            "cross_entropy": run.objective.cross_entropy / steps,
            "regularizer": run.objective.regularizer / steps,
            "probe_logit_norm": float(probe.norm(dim=1).mean()), "probe_omega": omega,
            "probe_total_persistence": total,
            "probe_death_median": float(np.median(deaths)) if len(deaths) else None,
            "probe_deaths": [round(float(d), 6) for d in deaths],
            **{f"pull_{k}": float(np.mean([p[k] for p in pulls])) for k in pulls[0]},
            "train_seconds": seconds, "train_cpu_seconds": cpu_seconds, "measure_cpu_seconds": measure_cpu_seconds,
            "persistence_seconds": run.objective.persistence_seconds,
            "steps": recipe.steps, "device": str(run.device),
        }
        return record
    finally:
        torch.set_num_threads(previous)


# ---------------------------------------------------------------------------- many networks
@dataclass(frozen=True)
class Job:
    """One network to train: arm, family, size, recipe, data and seed (and measurement settings)."""

    arm: Arm
    family: str
    size: str
    recipe: Recipe
    data: DataSpec
    seed: int
    maxdim: int = 1
    n_probe: int = 128
    device: str = "auto"

    def key(self) -> str:
        """A hash of everything that determines the network's record (not the device)."""
        described = {"version": CACHE_VERSION, "arm": asdict(self.arm), "family": self.family,
                     "size": self.size, "recipe": asdict(self.recipe), "data": asdict(self.data),
                     "seed": self.seed, "maxdim": self.maxdim, "n_probe": self.n_probe}
        return hashlib.sha1(json.dumps(described, sort_keys=True).encode()).hexdigest()[:12]

    def path(self, cache_dir) -> Path:
        """The network's file: ``cache_dir/<family>/<arm>-seed<seed>-<key>.json``, names made safe
        (:func:`tdnn_utils.validation.slug`) and always inside ``cache_dir``."""
        folder = Path(cache_dir)
        path = folder / slug(self.family) / f"{slug(self.arm.slug)}-seed{slug(self.seed)}-{self.key()}.json"
        return check_inside(path, folder)


def _indexed_job(i: int, job: Job) -> tuple[int, dict]:
    return i, _run_job(job, 1)


def _run_job(job: Job, threads: int | None) -> dict:
    return train_network(job.arm, job.family, job.size, job.recipe, job.data.split(job.seed), seed=job.seed,
                         maxdim=job.maxdim, n_probe=job.n_probe, device=job.device, threads=threads)


def _write_atomic(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


#: What every cached network record holds (:func:`train_network`'s record and its key); a file
#: that parses but lacks one of them is not reused.
RECORD_KEYS = ("family", "arm", "baseline", "loss", "batches", "seed", "train_accuracy", "test_accuracy", "key")


def _read(path: Path, key: str | None = None) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # missing, or half written by a killed run: train again
    lacking = [k for k in RECORD_KEYS if k not in record] if isinstance(record, dict) else list(RECORD_KEYS)
    problem = (f"lacks {', '.join(lacking)}" if lacking else
               f"holds key {record['key']!r}, not {key!r}" if key is not None and record["key"] != key else None)
    if problem:
        warnings.warn(f"{path}: the cached network {problem}; it is ignored and trained again",
                      RuntimeWarning, stacklevel=3)
        return None
    return record


def jobs(arms, families, seeds, *, size: str, recipe: Recipe, data: DataSpec, **settings) -> list[Job]:
    """Every (family, seed, arm) as a :class:`Job`, seeds outermost within a family."""
    return [Job(arm, family, size, recipe, data, int(seed), **settings)
            for family in families for seed in seeds for arm in arms]


def run_networks(jobs_: list[Job], *, cache_dir=None, n_jobs: int = 1, progress: bool = True) -> pd.DataFrame:
    """Train every job (or read it from ``cache_dir``); one row per job, in the jobs' order.

    Each finished network is written at once to ``cache_dir`` as one JSON file
    (:meth:`Job.path`, named by arm, seed and a hash of everything that determines it), so an
    interrupted run resumes and a re-run reuses what it has; ``None`` keeps nothing. With
    ``n_jobs`` > 1 the networks train in that many processes. Every network trains on one torch
    thread: these networks are small, and on a CPU shared with other work two threads per
    network were up to ten times slower than one (threads waiting for each other).
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"n_jobs={n_jobs!r} must be a positive integer")
    jobs_ = list(jobs_)
    for job in jobs_:
        if not isinstance(job, Job):
            raise ValueError(f"jobs_ must hold Job instances (see jobs()); got {type(job).__name__}")
        if job.family not in FAMILIES:
            raise ValueError(f"family {job.family!r} is unknown; use one of {FAMILIES}")
        if isinstance(job.seed, bool) or not isinstance(job.seed, (int, np.integer)) or job.seed < 0:
            raise ValueError(f"seed={job.seed!r} must be an integer >= 0")
    records: dict[int, dict] = {}
    pending = []
    for i, job in enumerate(jobs_):
        cached = _read(job.path(cache_dir), job.key()) if cache_dir else None
        if cached is not None:
            records[i] = cached
        else:
            pending.append(i)
    bar = tqdm(total=len(jobs_), initial=len(records), desc="networks", disable=not progress, mininterval=30.0)

    def done(i, record):
        record = {**record, "key": jobs_[i].key()}
        records[i] = record
        if cache_dir:
            _write_atomic(jobs_[i].path(cache_dir), record)
        bar.update(1)

    if n_jobs == 1 or len(pending) <= 1:
        for i in pending:
            done(i, _run_job(jobs_[i], 1))
    else:
        for i, record in parallel.as_completed(_indexed_job, [(i, jobs_[i]) for i in pending], n_jobs):
            done(i, record)
    bar.close()
    return pd.DataFrame([records[i] for i in range(len(jobs_))])


def matched_weights(records: pd.DataFrame, alpha: float) -> dict:
    """Per family: the logit-norm weight mu and label smoothing eps matched to torch-topological's ``alpha``.

    From the baseline networks (random batches) of each family: mu = alpha * P_tp / P_norm
    and eps = alpha * P_tp / P_ls, where P are the mean pulls towards small logits per unit
    weight on training batches after training (:func:`tdnn_utils.regularizers.scale_pull`).
    So each control's term pulls the trained baselines' logits towards 0 exactly as hard as
    torch-topological's term at ``alpha``. Returns ``{family: {"logit_norm": mu,
    "label_smoothing": eps, "baselines": n}}``; a weight is ``None`` where no match exists
    (the baselines' logits do not favour the label, as after too little training, or eps
    would be 1 or more).
    """
    pulls = ["pull_total_persistence", "pull_logit_norm", "pull_label_smoothing"]
    check_columns(records, ["family", "loss", "batches", *pulls], "records", numeric=pulls, complete=["family"])
    alpha = check_positive_number(alpha, "alpha")
    base = records[(records["loss"] == "none") & (records["batches"] == "random")]
    if base.empty:
        raise ValueError("matched_weights needs the baseline networks (random batches) first")
    result = {}
    for family, rows in base.groupby("family", sort=False):
        tp = rows["pull_total_persistence"].mean()
        matched = {}
        for control in ("logit_norm", "label_smoothing"):
            pull = rows[f"pull_{control}"].mean()
            weight = alpha * tp / pull if pull > 0 else float("nan")
            # No match exists when the baselines' logits do not favour the label (an untrained
            # network) or when label smoothing would need eps >= 1.
            ok = np.isfinite(weight) and weight > 0 and (control != "label_smoothing" or weight < 1)
            matched[control] = float(weight) if ok else None
        result[family] = {**matched, "baselines": int(len(rows))}
    return result


# ---------------------------------------------------------------------------- comparisons
def paired_differences(records: pd.DataFrame, comparisons, value: str = "test_accuracy",
                       relative: bool = False) -> pd.DataFrame:
    """Per (family, comparison, seed): ``value`` of the arm minus that of its reference, same seed.

    ``comparisons`` lists ``(arm, reference)`` pairs of arm names; a pair whose arm or
    reference is missing in a family is left out there. Seeds present in only one of the
    two are left out (the comparison is paired). With ``relative``, the difference is the
    arm's value over the reference's, minus 1 (e.g. -0.2: 20% lower).
    """
    needed = {"family", "arm", "seed", value} if len(records) else set()
    missing = needed - set(records.columns)
    if missing:
        raise ValueError(f"records lack columns {sorted(missing)}; give run_networks' records")
    rows = []
    for family, group in (records.groupby("family", sort=False) if len(records) else []):
        for arm, reference in comparisons:
            a = group[group["arm"] == arm].set_index("seed")[value]
            b = group[group["arm"] == reference].set_index("seed")[value]
            if a.empty or b.empty:
                continue
            for seed in sorted(set(a.index) & set(b.index)):
                rows.append({"family": family, "arm": arm, "reference": reference,
                             "comparison": f"{arm} vs {reference}", "seed": seed,
                             "value": float(a[seed]), "reference_value": float(b[seed]),
                             "difference": float(a[seed] / b[seed] - 1 if relative else a[seed] - b[seed])})
    return pd.DataFrame(rows, columns=["family", "arm", "reference", "comparison", "seed", "value",
                                       "reference_value", "difference"])


def effects(records: pd.DataFrame, comparisons, value: str = "test_accuracy", *, delta: float,
            direction: str = "higher", relative: bool = False) -> dict[str, dict]:
    """Each ``(arm, reference)`` comparison in every network family, paired by seed, as a comparison row.

    The claim is that each arm moves ``value`` above (``direction="higher"``) or below
    (``"lower"``) its reference by at least ``delta``. ``comparisons`` may also be ``(arm,
    reference, value)`` triples, each with its own value (then give ``relative=True``, so that
    all are changes relative to the reference, in one unit). The seed is the unit.

    Returns ``{"<network family>: <arm> vs <reference>[ (<value>)]": row}``, each row a
    :func:`tdnn_utils.verdicts.paired_effect` of the seeds' differences oriented so that the
    claimed direction is positive (``effect`` is a gain for "higher", a reduction for
    "lower"), with ``network``, ``arm``, ``reference``, ``mean_value`` and ``reference_mean``
    added; tag them with :func:`tdnn_utils.verdicts.labelled` and judge them with the
    chapter's family (:func:`tdnn_utils.verdicts.chapter_verdicts`). A comparison whose arm or
    reference is missing in a family gives no row there.
    """
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction {direction!r} is unknown; use 'higher' or 'lower'")
    sign = 1.0 if direction == "higher" else -1.0
    rows = {}
    for comparison in comparisons:
        part = paired_differences(records, [comparison[:2]], comparison[2] if len(comparison) > 2 else value,
                                  relative)
        suffix = f" ({comparison[2]})" if len(comparison) > 2 else ""
        for network, pairs in part.groupby("family", sort=False):
            name = f"{network}: {comparison[0]} vs {comparison[1]}{suffix}"
            rows[name] = {"network": network, "arm": comparison[0], "reference": comparison[1],
                          "mean_value": float(pairs["value"].mean()),
                          "reference_mean": float(pairs["reference_value"].mean()),
                          **verdicts.paired_effect(sign * pairs["difference"].to_numpy(float), delta)}
    return rows


# ---------------------------------------------------------------------------- cost
def step_seconds(arm: Arm, family: str, size: str, recipe: Recipe, X, y, *, steps: int = 10, warmup: int = 2,
                 maxdim: int = 1, seed: int = 0, device: str = "cpu", threads: int = 1) -> dict:
    """Median wall seconds (``step_seconds``) and CPU seconds of this process
    (``step_cpu_seconds``: what a quiet core would take) of one training step of ``arm``
    (batch, augmentation, forward, loss, backward, update), over ``steps`` steps after
    ``warmup``, on ``threads`` torch threads (as :func:`run_networks` trains), and the share of
    the wall time spent finding persistence pairings."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _step_seconds(arm, family, size, recipe, X, y, steps=steps, warmup=warmup, maxdim=maxdim,
                             seed=seed, device=device)
    finally:
        torch.set_num_threads(previous)


def _step_seconds(arm, family, size, recipe, X, y, *, steps, warmup, maxdim, seed, device) -> dict:
    run = _Run(arm, family, size, recipe, X, y, seed=seed, maxdim=maxdim, device=device)
    times, cpu_times, before = [], [], 0.0
    for i in range(warmup + steps):
        if i == warmup:
            before = run.objective.persistence_seconds
        start, cpu_start = time.perf_counter(), time.process_time()
        run.step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    persistence = run.objective.persistence_seconds - before
    return {"family": family, "arm": arm.name, "step_seconds": float(np.median(times)),
            "step_cpu_seconds": float(np.median(cpu_times)),
            "persistence_share": persistence / sum(times) if sum(times) else 0.0}


def estimate_seconds(step: float, steps: int, n_networks: int, n_jobs: int = 1, overhead: float = 0.0) -> float:
    """Wall seconds of ``n_networks`` networks of ``steps`` steps of ``step`` seconds each (plus
    ``overhead`` seconds each for measuring), spread over ``n_jobs`` processes."""
    return (step * steps + overhead) * n_networks / max(1, n_jobs)

