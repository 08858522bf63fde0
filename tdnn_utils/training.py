"""One training loop: seeds, device choice, a progress bar and a history."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
# Plain tqdm: a text bar, so executed chapters hold no widget state to load from a CDN.
from tqdm import tqdm

from .validation import check_finite, check_labels, check_positive_int, check_positive_number

DEVICES = ("auto", "cpu", "cuda", "mps")


OPTIMIZERS = ("adam", "sgd")


def choose_device(name: str = "auto") -> torch.device:
    """``"auto"`` picks cuda, then mps, then cpu; a named device must be available."""
    if name not in DEVICES:
        raise ValueError(f"device {name!r} is unknown; use one of {DEVICES}")
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
        "cpu": True,
    }
    if name == "auto":
        name = next(d for d in ("cuda", "mps", "cpu") if available[d])
    elif not available[name]:
        raise ValueError(f"device {name!r} is not available on this machine; use 'auto' or 'cpu'")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices); ``seed`` is an integer in 0..2**32 - 1."""
    seed = check_positive_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class History:
    """What happened during :func:`fit`: one entry per logged step.

    ``accuracy`` is the accuracy on that step's batch, except where it is on the whole
    training set: the last entry (after training), and every entry when ``fit`` stops at
    100% with mini-batches.
    """

    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    device: str = "cpu"
    reached_perfect: bool = False
    abandoned: bool = False

    @property
    def steps_taken(self) -> int:
        return self.step[-1] if self.step else 0

    @property
    def final_accuracy(self) -> float:
        return self.accuracy[-1] if self.accuracy else float("nan")

    def as_dict(self) -> dict:
        return {"step": self.step, "loss": self.loss, "accuracy": self.accuracy,
                "device": self.device, "reached_perfect": self.reached_perfect,
                "abandoned": self.abandoned}


def fit(
    model: nn.Module,
    X,
    y,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float = 1e-2,
    lr_halving_every: int | None = None,
    stop_at_perfect: bool = False,
    device: str = "auto",
    seed: int = 0,
    progress: bool = True,
    description: str = "training",
    callbacks=(),
    optimizer: str = "adam",
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    objective=None,
    batch_order=None,
    patience: int | None = None,
) -> History:
    """Train ``model`` with Adam and cross-entropy on ``(X, y)``; return its :class:`History`.

    Parameters
    ----------
    X : array (n_points, n_features), or images (n, channels, height, width); at least one row,
        real and finite, within float32's range (the precision of training); an
        :class:`~tdnn_utils.models.FFNet` needs n_features = its input width.
    y : int array (n_points,) of class labels, each below the model's number of outputs.
    steps / epochs : the budget, as optimiser steps or passes over the data (give one).
    batch_size : ``None`` is full-batch gradient descent, as Naitzat et al. train; otherwise
        a positive integer (larger than the data: full batch).
    lr_halving_every : halve the learning rate every this many steps (the paper: 2,500).
    stop_at_perfect : stop as soon as the training accuracy reaches 100%, as the paper does.
    device : "auto", "cpu", "cuda" or "mps".
    seed : seeds the batch order (and, if the model was not yet built, nothing else: build
        the model after :func:`seed_everything` to seed its weights).
    optimizer : "adam", or "sgd" (with ``momentum``, as Corneanu et al. train); both take
        ``weight_decay``.
    callbacks : functions ``callback(model, epoch)``, called before training (epoch 0) and
        after each full pass over the data (epochs 1, 2, ...), e.g. a
        :class:`tdnn_utils.dynamics.TopologyRecorder`.
    objective : ``objective(model, X_batch, y_batch) -> (loss, logits)``; ``None`` is plain
        cross-entropy. E.g. a :class:`tdnn_utils.regularizers.Objective`.
    batch_order : ``batch_order(generator) -> permutation`` of the rows for each epoch
        (``None``: uniformly random).
    patience : with ``stop_at_perfect``, Naitzat et al.'s trainer's rule for hopeless runs:
        every ``patience`` steps the best training accuracy so far is compared with its value
        at the previous check, and training stops (``history.abandoned``) when it has not
        risen. ``None``: never. Needs full batches or ``stop_at_perfect`` (whole-set accuracy).
    """
    if (steps is None) == (epochs is None):
        raise ValueError(f"give exactly one of steps={steps!r} and epochs={epochs!r}")
    budget = check_positive_int(steps if steps is not None else epochs,
                                "steps" if steps is not None else "epochs")
    steps, epochs = (budget, None) if steps is not None else (None, budget)
    batch_size = check_positive_int(batch_size, "batch_size", allow_none=True)
    lr_halving_every = check_positive_int(lr_halving_every, "lr_halving_every", allow_none=True)
    lr = check_positive_number(lr, "lr")
    X = torch.as_tensor(check_finite(X, "X", dtype=np.float32))
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"X must be (n >= 1, d) or (n >= 1, channels, height, width); got shape {tuple(X.shape)}")
    widths = getattr(model, "widths", None)
    if widths and tuple(X.shape[1:]) != (widths[0],):
        raise ValueError(f"X has shape {tuple(X.shape)}; the model expects (n_points, {widths[0]})")
    y_shape = np.shape(y)
    if len(y_shape) != 1 or y_shape[0] != len(X):
        raise ValueError(f"X must be (n, d) or (n, channels, height, width) and y (n,); "
                         f"got {tuple(X.shape)} and {y_shape}")
    y = torch.as_tensor(check_labels(y, len(X), _output_width(model, X[:1]), name="y"))
    patience = check_positive_int(patience, "patience", allow_none=True)
    n_points = len(X)
    batch_size = n_points if batch_size is None else min(batch_size, n_points)
    batches_per_epoch = -(-n_points // batch_size)
    total_steps = steps if steps is not None else epochs * batches_per_epoch

    torch_device = choose_device(device)
    model.to(torch_device)
    X, y = X.to(torch_device), y.to(torch_device)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer {optimizer!r} is unknown; use one of {OPTIMIZERS}")
    optimiser = (torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
                 if optimizer == "adam" else
                 torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay))
    scheduler = (torch.optim.lr_scheduler.StepLR(optimiser, lr_halving_every, gamma=0.5)
                 if lr_halving_every else None)
    generator = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    history = History(device=str(torch_device))
    log_every = max(1, total_steps // 200)

    model.train()
    # Redraw at most every 2 s: executed notebooks keep every redraw of a text bar.
    bar = tqdm(total=total_steps, desc=description, disable=not progress, leave=False,
               mininterval=2.0)
    def new_order():
        order = (torch.randperm(n_points, generator=generator) if batch_order is None
                 else torch.as_tensor(batch_order(generator), dtype=torch.long))
        if order.shape != (n_points,):
            raise ValueError(f"batch_order gave shape {tuple(order.shape)}; expected ({n_points},)")
        return order.to(torch_device)

    order = new_order()
    for callback in callbacks:
        callback(model, 0)
    best, best_at_check = -1.0, -1.0
    for step in range(1, total_steps + 1):
        start = ((step - 1) % batches_per_epoch) * batch_size
        if start == 0 and batch_size < n_points:
            order = new_order()
        index = order[start:start + batch_size]
        if objective is None:
            logits = model(X[index])
            loss = loss_fn(logits, y[index])
        else:
            loss, logits = objective(model, X[index], y[index])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if scheduler is not None:
            scheduler.step()
        bar.update(1)
        if callbacks and step % batches_per_epoch == 0:
            for callback in callbacks:
                callback(model, step // batches_per_epoch)
        # The batch's accuracy (its logits came before this step's update) is free; the whole
        # set is evaluated only where stopping at 100% needs it, and once at the end.
        accuracy = (logits.argmax(1) == y[index]).float().mean().item()
        if stop_at_perfect and batch_size < n_points:
            accuracy = training_accuracy(model, X, y)
        if step % log_every == 0 or step == total_steps or (stop_at_perfect and accuracy == 1.0):
            history.step.append(step)
            history.loss.append(loss.item())
            history.accuracy.append(accuracy)
            bar.set_postfix(loss=f"{loss.item():.3g}", acc=f"{accuracy:.3f}", refresh=False)
        if stop_at_perfect and accuracy == 1.0:
            history.reached_perfect = training_accuracy(model, X, y) == 1.0
            if history.reached_perfect:
                history.accuracy[-1] = 1.0
                break
        best = max(best, accuracy)
        if patience is not None and step % patience == 0 and step < total_steps:
            if best <= best_at_check:
                history.abandoned = True
                if not history.step or history.step[-1] != step:
                    history.step.append(step)
                    history.loss.append(loss.item())
                    history.accuracy.append(accuracy)
                break
            best_at_check = best
    bar.close()
    if not history.reached_perfect:
        final = training_accuracy(model, X, y)
        history.reached_perfect = final == 1.0
        if history.step and history.step[-1] == step:
            history.accuracy[-1] = final  # the last entry is the whole set's, after training
    return history


@torch.no_grad()
def _output_width(model: nn.Module, x: torch.Tensor) -> int | None:
    """How many outputs (logits) ``model`` has: an FFNet's last width, else from one forward
    pass in eval mode on ``x`` (one sample; no state changes). None when that fails: the
    model's own error will then say more."""
    widths = getattr(model, "widths", None)
    if widths:
        return int(widths[-1])
    was_training = model.training
    try:
        model.eval()
        parameter = next(model.parameters(), None)
        out = model(x if parameter is None else x.to(parameter.device))
        return int(out.shape[-1]) if out.ndim == 2 else None
    except Exception:  # noqa: BLE001 - a model that cannot take X fails in the loop, with its own message
        return None
    finally:
        model.train(was_training)


@torch.no_grad()
def accuracy(model: nn.Module, X, y, batch_size: int = 1024) -> float:
    """Share of ``X``'s rows (arrays or tensors, any device) that ``model`` classifies as ``y``."""
    batch_size = check_positive_int(batch_size, "batch_size")
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    if X.ndim < 1 or len(X) == 0:
        raise ValueError(f"X has shape {tuple(X.shape)}; give at least one row")
    y = torch.as_tensor(check_labels(y, len(X), name="y"))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    correct = sum(int((model(xb.to(device)).argmax(1).cpu() == yb).sum())
                  for xb, yb in zip(torch.split(X, batch_size), torch.split(y, batch_size)))
    model.train(was_training)
    return correct / len(X)


@torch.no_grad()
def training_accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Share of ``X``'s rows that ``model`` classifies as ``y`` (tensors on the model's device)."""
    was_training = model.training
    model.eval()
    accuracy = (model(X).argmax(1) == y).float().mean().item()
    model.train(was_training)
    return accuracy


def fit_until_perfect(build_model, X, y, *, max_attempts: int = 5, seed: int = 0, **fit_kwargs):
    """Train fresh models until one reaches 100% training accuracy, as Naitzat et al. keep only those.

    ``build_model()`` returns a new untrained model; attempt ``a`` (0, 1, ...) seeds
    everything with ``seed + 1000 * a`` before building it. Other keywords go to :func:`fit`
    (give a ``steps`` or ``epochs`` budget; ``patience`` ends a hopeless attempt early). Returns ``(model, history, attempts)`` of the
    first perfect attempt, or of the last one if none was perfect (check
    ``history.reached_perfect``).
    """
    max_attempts = check_positive_int(max_attempts, "max_attempts")
    if not callable(build_model):
        raise TypeError(f"build_model must be a function that returns a new model; got {type(build_model).__name__}")
    fit_kwargs.setdefault("stop_at_perfect", True)
    for attempt in range(max_attempts):
        attempt_seed = seed + 1000 * attempt
        seed_everything(attempt_seed)
        model = build_model()
        history = fit(model, X, y, seed=attempt_seed, **fit_kwargs)
        if history.reached_perfect:
            break
    return model, history, attempt + 1
