"""Many fully connected networks of one architecture, trained at once as one batched model.

Naitzat et al. train hundreds of small networks of a few architectures, each with full-batch
Adam until it classifies every training point correctly. Trained one at a time, each small
network pays PyTorch's per-operation overhead on its own; stacked, E networks share every
operation: their weights become tensors of shape (E, in, out) and every layer is one batched
matrix product (:func:`torch.baddbmm`).

What that buys depends on where the time goes (``benchmarks/bench_ensemble.py``, 2 shared CPU
cores, PyTorch 2.13 CPU build, one thread): a full-batch step of a 9x15 network on D-I
(7,800 points) or D-III (9,450 points) is about 10 ms of arithmetic, and the per-operation
overhead that batching saves is a small part of it, so an ensemble trains about 1.1-1.3x as
many networks per CPU second there. With small mini-batches the overhead dominates and the
gain is large (3 hidden layers of width 5, batches of 200: 3-9x). On a GPU a 9x15 network
alone leaves the device idle, so the gain there should be far larger (not measured here).

- :class:`FFEnsemble`: E members of one :class:`~tdnn_utils.models.FFNet` architecture,
  stacked; member ``e`` is initialised exactly as ``FFNet`` is after
  ``seed_everything(seeds[e])``, and :meth:`FFEnsemble.member` gives it back as a plain
  ``FFNet``.
- :func:`fit_ensemble`: trains the members as :func:`tdnn_utils.training.fit_until_perfect`
  trains each one (same Adam, same learning-rate halving, same batch order, same stopping
  rule, same fresh starts), each member on its own schedule: a member leaves the batch the
  moment it is done, and a member that runs out of steps restarts alone.
- :class:`MemberResult`: what :func:`fit_ensemble` returns for each member.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
# Plain tqdm: a text bar, so executed chapters hold no widget state to load from a CDN.
from tqdm import tqdm

from .models import ACTIVATIONS, INITS, FFNet, make_activation
from .training import History, choose_device
from .validation import check_finite

__all__ = ["FFEnsemble", "MemberResult", "fit_ensemble", "build_member", "adam_step",
           "ATTEMPT_SEED_STRIDE"]

#: Attempt ``a`` of a member with seed ``s`` uses seed ``s + ATTEMPT_SEED_STRIDE * a``, as
#: :func:`tdnn_utils.training.fit_until_perfect` does.
ATTEMPT_SEED_STRIDE = 1000

#: ``torch.optim.Adam``'s defaults, which :func:`tdnn_utils.training.fit` uses.
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8

#: Point counts are padded to a multiple of this (16 float32 = 64 bytes); see fit_ensemble.
ROW_ALIGNMENT = 16

#: On the CPU, the largest stacked activation of one group of members stays under this
#: many bytes (see fit_ensemble): about one core's L2 cache.
GROUP_BYTES = 2**20


# ------------------------------------------------------------------------------ checks
def _check_int(value, name: str, minimum: int = 1, *, none: bool = False):
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        allowed = f"an integer >= {minimum}" + (" or None" if none else "")
        raise ValueError(f"{name}={value!r} is not allowed; use {allowed}")
    return int(value)


def _check_widths(widths) -> list[int]:
    try:
        checked = [int(w) for w in widths]
    except (TypeError, ValueError):
        checked = []
    if len(checked) < 2 or min(checked) < 1 or any(float(w) != int(w) for w in widths):
        raise ValueError(f"widths={widths!r} must list at least an input and an output width, "
                         f"all integers >= 1 (e.g. [3, 15, 15, 2])")
    return checked


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r} is unknown; use one of {sorted(ACTIVATIONS)}")
    return activation


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = range(_check_int(seeds, "seeds (a number of members)"))
    try:
        seeds = list(seeds)
    except TypeError:
        raise ValueError(f"seeds={seeds!r} must be a sequence of integers >= 0, or a number "
                         f"of members") from None
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed (one per member)")
    bad = [s for s in seeds
           if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0]
    if bad:
        raise ValueError(f"seeds {bad[:5]!r} are not allowed; every seed must be an integer >= 0")
    return [int(s) for s in seeds]


def _check_data(X, y, widths) -> tuple[torch.Tensor, torch.Tensor]:
    X = torch.as_tensor(check_finite(X, "X", dtype=np.float32))
    y_array = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != widths[0] or y_array.ndim != 1 or len(y_array) != len(X):
        raise ValueError(f"X must be (n_points, {widths[0]}) and y (n_points,); "
                         f"got {tuple(X.shape)} and {y_array.shape}")
    if len(X) == 0:
        raise ValueError("X has no rows; give at least one training point")
    if not np.issubdtype(y_array.dtype, np.integer) and not np.array_equal(y_array, np.round(y_array)):
        raise ValueError(f"y must hold integer class labels; got dtype {y_array.dtype}")
    y = torch.as_tensor(y_array.astype(np.int64))
    if int(y.min()) < 0 or int(y.max()) >= widths[-1]:
        raise ValueError(f"y holds labels {sorted(set(y.unique().tolist()))[:10]}; with an output "
                         f"width of {widths[-1]} they must lie in 0..{widths[-1] - 1}")
    return X, y


# ------------------------------------------------------------------------------ the model
def build_member(widths, activation: str = "relu", seed: int = 0,
                 negative_slope: float = 0.2, init: str = "torch") -> FFNet:
    """The ``FFNet`` that ``fit_until_perfect(..., seed=seed)`` builds for its first attempt.

    ``seed_everything(seed); FFNet(widths, activation, negative_slope)`` draws the weights
    from PyTorch's global CPU generator; so does this, but it restores that generator's state
    afterwards, so building members does not change the caller's random stream.
    """
    generator = torch.default_generator
    state = generator.get_state()
    try:
        generator.manual_seed(int(seed))
        return FFNet(widths, activation, negative_slope=negative_slope, init=init)
    finally:
        generator.set_state(state)


class FFEnsemble(nn.Module):
    """E fully connected networks of one architecture, stacked into one batched model.

    Parameters
    ----------
    widths : layer widths, input first and output last, as for
        :class:`~tdnn_utils.models.FFNet` (e.g. ``[3] + [15] * 9 + [2]``).
    activation : one of :data:`tdnn_utils.models.ACTIVATIONS`, the same for every member.
    seeds : one seed per member (E = ``len(seeds)``), or a number E of members (seeds
        0..E-1). Member ``e`` starts with exactly the weights of ``FFNet(widths, activation,
        negative_slope)`` built after ``seed_everything(seeds[e])``.
    negative_slope : leaky ReLU's slope for negative inputs (Naitzat et al.: 0.2).

    Attributes
    ----------
    weights : ``nn.ParameterList`` of (E, widths[l], widths[l + 1]) tensors: member e's
        layer l is ``x @ weights[l][e] + biases[l][e]`` (the transpose of ``nn.Linear``'s
        weight).
    biases : ``nn.ParameterList`` of (E, 1, widths[l + 1]) tensors.

    Input (n, widths[0]) shared by every member, or (E, n, widths[0]) one batch per member;
    output (E, n, widths[-1]) logits.
    """

    def __init__(self, widths, activation: str = "relu", seeds=1, negative_slope: float = 0.2,
                 init: str = "torch"):
        super().__init__()
        widths = _check_widths(widths)
        activation = _check_activation(activation)
        seeds = _check_seeds(seeds)
        self.widths = widths
        self.activation_name = activation
        self.negative_slope = float(negative_slope)
        self.init = init
        self.activation = make_activation(activation, self.negative_slope)
        members = [build_member(widths, activation, seed, self.negative_slope, init) for seed in seeds]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([m.layers[l].weight.detach().T for m in members]).contiguous())
            for l in range(len(widths) - 1))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([m.layers[l].bias.detach()[None] for m in members]))
            for l in range(len(widths) - 1))

    @property
    def n_members(self) -> int:
        return self.weights[0].shape[0]

    def extra_repr(self) -> str:
        return (f"n_members={self.n_members}, widths={self.widths}, "
                f"activation={self.activation_name!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (E, n, widths[-1]) of every member, from x (n, in) or (E, n, in)."""
        return _forward(_activation_function(self.activation_name, self.negative_slope),
                        list(self.weights), list(self.biases), x)

    def member(self, e: int) -> FFNet:
        """Member ``e`` as a plain :class:`~tdnn_utils.models.FFNet` on the CPU (a copy)."""
        if not -self.n_members <= e < self.n_members:
            raise IndexError(f"member {e} does not exist; the ensemble has {self.n_members}")
        net = FFNet(self.widths, self.activation_name, negative_slope=self.negative_slope,
                    init=self.init)
        with torch.no_grad():
            for layer, W, b in zip(net.layers, self.weights, self.biases):
                layer.weight.copy_(W[e].T)
                layer.bias.copy_(b[e, 0])
        return net

    @torch.no_grad()
    def set_member(self, e: int, net: FFNet) -> None:
        """Overwrite member ``e``'s weights with ``net``'s (same architecture)."""
        if list(net.widths) != self.widths:
            raise ValueError(f"net has widths {net.widths}; the ensemble's are {self.widths}")
        for layer, W, b in zip(net.layers, self.weights, self.biases):
            W[e].copy_(layer.weight.T)
            b[e, 0].copy_(layer.bias)

    @torch.no_grad()
    def keep(self, index) -> None:
        """Keep only the members at ``index`` (in that order): the others leave the batch."""
        index = torch.as_tensor(index, dtype=torch.long, device=self.weights[0].device)
        for params in (self.weights, self.biases):
            for l in range(len(params)):
                params[l] = nn.Parameter(params[l].index_select(0, index))


def _activation_function(name: str, negative_slope: float):
    """The activation as a function of the stacked pre-activations, in place where autograd allows.

    The batched pre-activations are large (members x points x width) and used once, so
    relu, leaky relu (slope > 0), tanh and sigmoid overwrite them instead of allocating a
    new tensor each layer and step; their backward reads their output, which is kept. The
    values are those of :func:`tdnn_utils.models.make_activation`'s module.
    """
    if name == "relu":
        return torch.relu_
    if name == "leaky_relu" and negative_slope > 0:
        return lambda h: F.leaky_relu_(h, negative_slope)
    if name == "tanh":
        return torch.tanh_
    if name == "sigmoid":
        return torch.sigmoid_
    return make_activation(name, negative_slope)


class _MemberwiseLinear(torch.autograd.Function):
    """``baddbmm(b, x, W)`` whose weight gradient is one matrix product per member.

    MKL's batched product (``x^T @ grad`` in ``baddbmm``'s backward) gives a member's weight
    gradient a rounding that depends on the member's position in the batch when a width is
    small (e.g. the 2 or 3 input features), so a member would train slightly differently
    alongside other members than alone. One ``mm`` per member costs about as much (the
    products are large: points x width x width) and makes each member's arithmetic its own.
    The forward product and the gradient for the input are batched: their rounding does not
    depend on the position (tested in ``tests/test_ensemble.py``).
    """

    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return torch.baddbmm(b, x, W)

    @staticmethod
    def backward(ctx, grad):
        x, W = ctx.saved_tensors
        grad_x = grad_W = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.bmm(grad, W.transpose(1, 2))
        if ctx.needs_input_grad[1]:
            # fresh outputs: MKL's rounding also depends on where the result is written
            grad_W = torch.stack([torch.mm(x[e].T, grad[e]) for e in range(W.shape[0])])
        if ctx.needs_input_grad[2]:
            grad_b = grad.sum(1, keepdim=True)
        return grad_x, grad_W, grad_b


def _linear(x, W, b):
    if x.device.type == "cpu" and torch.is_grad_enabled() and W.requires_grad:
        return _MemberwiseLinear.apply(x, W, b)
    return torch.baddbmm(b, x, W)  # on a GPU: one batched product (a member's rounding may
    # then depend on the batch it is in; the arithmetic is the same)


def _forward(activation, weights, biases, x):
    """The batched forward pass on given stacked weights (lists of tensors, one per layer)."""
    n_members = weights[0].shape[0]
    if x.ndim == 2:  # one batch shared by every member
        x = x.expand(n_members, *x.shape).contiguous()
    h = _linear(x, weights[0], biases[0])
    for W, b in zip(weights[1:], biases[1:]):
        h = _linear(activation(h), W, b)
    return h


# ------------------------------------------------------------------------------ Adam
@torch.no_grad()
def adam_step(params, grads, exp_avgs, exp_avg_sqs, step_size: torch.Tensor,
              bias_correction2_sqrt: torch.Tensor, *, betas=ADAM_BETAS, eps: float = ADAM_EPS):
    """One Adam update of stacked parameters, each member with its own step and learning rate.

    The arithmetic of ``torch.optim.Adam`` (no weight decay, no amsgrad), per member:
    ``m = lerp(m, g, 1 - beta1)``, ``v = beta2 v + (1 - beta2) g^2``,
    ``p -= step_size * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)`` with
    ``step_size = lr / (1 - beta1^t)``. ``step_size`` and ``bias_correction2_sqrt`` are
    float tensors of shape (E,): member e's values at its own step count t_e.
    Parameters, gradients and moments are lists of (E, ...) tensors, updated in place.
    """
    beta1, beta2 = betas
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        shape = (-1,) + (1,) * (p.ndim - 1)
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        denom = (v.sqrt() / bias_correction2_sqrt.view(shape)).add_(eps)
        p.sub_((m / denom).mul_(step_size.view(shape)))


# ------------------------------------------------------------------------------ training
@dataclass
class MemberResult:
    """One member of :func:`fit_ensemble`, as :func:`~tdnn_utils.training.fit_until_perfect` reports it.

    Attributes
    ----------
    seed : the member's seed (its first attempt's).
    attempt_seed : the seed of the attempt returned: ``seed + 1000 * (attempts - 1)``.
    attempts : attempts made (1 = the first start was kept).
    steps : optimiser steps of the returned attempt (the successful one, or the last).
    reached_perfect : whether the returned network classifies every training point correctly.
    final_accuracy : the returned network's accuracy on the whole training set.
    history : the returned attempt's :class:`~tdnn_utils.training.History`, logged as
        :func:`~tdnn_utils.training.fit` logs it.
    model : the trained network, a plain :class:`~tdnn_utils.models.FFNet` on the CPU.
    train_seconds : this member's share of the ensemble's wall time: every step's time split
        equally among the members in the batch at that step, scaled so that the shares of all
        members add up to the call's wall time.
    """

    seed: int
    attempt_seed: int
    attempts: int
    steps: int
    reached_perfect: bool
    final_accuracy: float
    history: History
    model: FFNet
    train_seconds: float = 0.0


@dataclass
class _Slot:
    """One row of the batch: which member trains there, in which attempt, how far it is."""

    member: int
    attempt: int
    seed: int
    history: History
    generator: torch.Generator | None = None
    t: int = 0  # optimiser steps taken in this attempt
    best: float = -1.0  # best training accuracy of this attempt so far
    best_at_check: float = -1.0  # ... at the last patience check


def _groups(n: int, size: int) -> list[slice]:
    """Rows 0..n-1 in ceil(n / size) consecutive groups of nearly equal sizes."""
    bounds = np.linspace(0, n, -(-n // size) + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def _accuracy_value(correct: float, count: int) -> float:
    """What ``(pred == y).float().mean().item()`` gives: float32 arithmetic."""
    return float(np.float32(correct) / np.float32(count))


def fit_ensemble(
    widths: Sequence[int],
    activation: str,
    X,
    y,
    seeds,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float = 1e-2,
    lr_halving_every: int | None = None,
    stop_at_perfect: bool = True,
    max_attempts: int = 5,
    max_active: int | None = None,
    device: str = "auto",
    negative_slope: float = 0.2,
    init: str = "torch",
    patience: int | None = None,
    check_every: int = 1,
    progress: bool = True,
    description: str = "ensemble",
) -> list[MemberResult]:
    """Train one network per seed, all of one architecture, as one batched model.

    Member ``e`` is trained as ``fit_until_perfect(lambda: FFNet(widths, activation,
    negative_slope), X, y, seed=seeds[e], max_attempts=max_attempts, steps=steps,
    epochs=epochs, batch_size=batch_size, lr=lr, lr_halving_every=lr_halving_every,
    stop_at_perfect=stop_at_perfect)`` would train it, up to floating-point rounding
    (batched products add in another order):

    - initial weights of attempt ``a``: ``FFNet`` after ``seed_everything(seed + 1000 a)``;
    - Adam (``torch.optim.Adam``'s defaults) with its own step count and bias corrections;
      the learning rate halved every ``lr_halving_every`` of the member's own steps, and
      reset with a fresh start;
    - mini-batches: each attempt's own ``torch.Generator`` seeded with its seed draws a
      permutation per epoch exactly as ``fit`` does, so the member sees ``fit``'s batches;
    - stopping: full batch, the member stops after the first step whose batch (the whole
      set, before the update) and whose updated network both classify every point; with
      mini-batches, after the first step whose updated network classifies every point (with
      ``check_every`` > 1, the first *checked* step: see below);
    - a member that ends its budget below 100%, or whose attempt is abandoned by the
      ``patience`` rule, restarts from new weights (attempt a + 1) while the others go on, up
      to ``max_attempts``; the last attempt is returned if none was perfect.

    A member that is done leaves the batch (its rows of the weights and of Adam's moments
    are dropped), so finished members cost nothing.

    Parameters
    ----------
    widths : layer widths, input first, output last (e.g. ``[3] + [15] * 9 + [2]``).
    activation : one of :data:`tdnn_utils.models.ACTIVATIONS`.
    X : array (n_points, widths[0]) of training points.
    y : int array (n_points,) of labels in 0..widths[-1]-1.
    seeds : one integer >= 0 per member, or a number of members (seeds 0, 1, ...).
    steps / epochs : the budget of one attempt, in optimiser steps or passes (give one).
    batch_size : ``None`` is full-batch training (Naitzat et al.); otherwise each member's
        batches are gathered as (E, batch_size, widths[0]).
    lr : Adam's learning rate.
    lr_halving_every : halve each member's learning rate every this many of its steps.
    stop_at_perfect : stop each member at 100% training accuracy (``fit_until_perfect``'s
        default); ``False`` trains every attempt for its whole budget.
    max_attempts : fresh starts allowed per member to reach 100%.
    max_active : at most this many members in the batch at once (``None``: all); a member
        that is done hands its row to the next waiting one.
    device : "auto", "cpu", "cuda" or "mps".
    negative_slope : leaky ReLU's slope.
    init : "torch" or "glorot", as :class:`~tdnn_utils.models.FFNet` takes it.
    patience : as :func:`~tdnn_utils.training.fit` takes it: every ``patience`` steps of an
        attempt, the attempt is abandoned when its best training accuracy has not risen since
        the previous check (Naitzat et al.'s trainer). ``None``: never.
    check_every : with mini-batches and ``stop_at_perfect``, the whole training set is
        evaluated after every ``check_every``-th step of an attempt (and after its last
        step), and a member stops at the first such check that finds it at 100%. The default
        1 checks every step, as :func:`~tdnn_utils.training.fit` does; on a large training
        set those checks cost far more than the mini-batch steps themselves (40,000 points
        and batches of 500: one check is the work of about 25 steps), and checking once per
        epoch stops a member at most one epoch after it first reached 100%. Between checks
        the history logs the batch's accuracy, and patience counts checked accuracies only.
        Full-batch training ignores it (every step's batch is the whole set).
    progress : show a progress bar of members done (and how many reached 100%).

    Returns
    -------
    list of :class:`MemberResult`, one per seed, in the order of ``seeds``.
    """
    started = time.perf_counter()
    widths = _check_widths(widths)
    activation = _check_activation(activation)
    seeds = _check_seeds(seeds)
    if (steps is None) == (epochs is None):
        raise ValueError(f"give exactly one of steps={steps!r} and epochs={epochs!r}")
    budget = _check_int(steps if steps is not None else epochs,
                        "steps" if steps is not None else "epochs")
    batch_size = _check_int(batch_size, "batch_size", none=True)
    lr_halving_every = _check_int(lr_halving_every, "lr_halving_every", none=True)
    max_attempts = _check_int(max_attempts, "max_attempts")
    max_active = _check_int(max_active, "max_active", none=True)
    patience = _check_int(patience, "patience", none=True)
    check_every = _check_int(check_every, "check_every")
    if init not in INITS:
        raise ValueError(f"init={init!r} is unknown; use one of {INITS}")
    if not (isinstance(lr, (int, float, np.floating)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr!r} is not allowed; use a finite number > 0")
    if not (isinstance(negative_slope, (int, float, np.floating)) and math.isfinite(negative_slope)):
        raise ValueError(f"negative_slope={negative_slope!r} is not allowed; use a finite number")
    X, y = _check_data(X, y, widths)
    torch_device = choose_device(device)

    n_points = len(X)
    batch = n_points if batch_size is None else min(batch_size, n_points)
    minibatch = batch < n_points
    batches_per_epoch = -(-n_points // batch)
    total_steps = budget if steps is not None else budget * batches_per_epoch
    log_every = max(1, total_steps // 200)
    beta1, beta2 = ADAM_BETAS

    # Point counts are padded to a multiple of 16 with rows of weight 0, so that every
    # member's slab of every stacked tensor starts on a 64-byte boundary: MKL's products
    # round differently with the alignment of their operands. With this and the per-member
    # weight gradients (_MemberwiseLinear), a member's arithmetic on the CPU does not depend
    # on the other members of its batch: a member of 3 equals the member trained alone, bit
    # for bit (tested), so a sweep's results do not depend on how it groups its networks.
    padded = _round_up(n_points, ROW_ALIGNMENT)
    rows = _round_up(batch, ROW_ALIGNMENT)
    X_padded = torch.zeros((padded, X.shape[1]), dtype=X.dtype)
    X_padded[:n_points] = X
    y_padded = torch.zeros(padded, dtype=y.dtype)
    y_padded[:n_points] = y
    X, y = X_padded.to(torch_device), y_padded.to(torch_device)
    real = torch.arange(padded, device=torch_device) < n_points  # not a padding row
    activation_fn = _activation_function(activation, float(negative_slope))
    n_members = len(seeds)
    width = n_members if max_active is None else min(max_active, n_members)
    ensemble = FFEnsemble(widths, activation, [seeds[e] for e in range(width)],
                          negative_slope=float(negative_slope), init=init).to(torch_device)
    params = list(ensemble.weights) + list(ensemble.biases)
    exp_avgs = [torch.zeros_like(p) for p in params]
    exp_avg_sqs = [torch.zeros_like(p) for p in params]
    orders = (torch.empty((width, n_points), dtype=torch.long, device=torch_device)
              if minibatch else None)
    offsets = torch.arange(rows, device=torch_device)
    in_batch_rows = offsets < batch
    n_layers = len(widths) - 1
    # On the CPU, members go through the forward and backward pass in groups whose largest
    # tensor (members x points x widest layer) stays under GROUP_BYTES (1 MB), then Adam
    # updates all of them at once. Measured on D-III (9,450 points), CPU ms per network
    # and step: 9x15, 10.4 in groups of 1 MB against 12.2 in groups of 16 MB; 10x25, 12.6
    # against 15.1. Without groups, blocks over 32 MB (60 members of 9x15) are returned to
    # the system by glibc when freed and fault in fresh pages every step: 16.4 ms against
    # 9.4. Small data (mini-batches) still puts many members in one group. A GPU takes all
    # members at once.
    group_size = (max(1, GROUP_BYTES // (4 * rows * max(widths)))
                  if torch_device.type == "cpu" else max(1, width))

    def new_slot(member: int, attempt: int) -> _Slot:
        seed = seeds[member] + ATTEMPT_SEED_STRIDE * attempt
        slot = _Slot(member, attempt, seed, History(device=str(torch_device)))
        if minibatch:
            slot.generator = torch.Generator().manual_seed(seed)
            # fit draws one order before its loop and a new one at step 1: skip the first
            torch.randperm(n_points, generator=slot.generator)
        return slot

    @torch.no_grad()
    def restart(row: int, slot: _Slot) -> None:
        ensemble.set_member(row, build_member(widths, activation, slot.seed, float(negative_slope), init))
        for state in exp_avgs + exp_avg_sqs:
            state[row].zero_()

    @torch.no_grad()
    def whole_set_correct(members: list[int]) -> list[int]:
        if not members:
            return []
        index = torch.as_tensor(members, device=torch_device)
        correct = torch.zeros(len(members), dtype=torch.long, device=torch_device)
        weights = [W.index_select(0, index) for W in ensemble.weights]
        biases = [b.index_select(0, index) for b in ensemble.biases]
        chunk = min(padded, 16 * 1024)  # points at a time (a multiple of ROW_ALIGNMENT)
        size = (max(1, GROUP_BYTES // (4 * chunk * max(widths)))
                if torch_device.type == "cpu" else len(members))
        for group in _groups(len(members), size):
            for start in range(0, padded, chunk):
                points = slice(start, start + chunk)
                logits = _forward(activation_fn, [W[group] for W in weights],
                                  [b[group] for b in biases], X[points])
                correct[group] += ((logits.argmax(2) == y[points]) & real[points]).sum(1)
        return correct.tolist()

    slots = [new_slot(e, 0) for e in range(width)]
    waiting = list(range(width, n_members))
    results: list[MemberResult | None] = [None] * n_members
    shares = np.zeros(n_members)
    n_perfect = 0
    # Redraw at most every 2 s, as fit does: executed notebooks keep every redraw.
    bar = tqdm(total=n_members, desc=description, disable=not progress, leave=False,
               mininterval=2.0, unit="net", postfix={"perfect": 0, "active": len(slots)})

    def finish(row: int, slot: _Slot, final_accuracy: float) -> None:
        nonlocal n_perfect
        results[slot.member] = MemberResult(
            seed=seeds[slot.member], attempt_seed=slot.seed, attempts=slot.attempt + 1,
            steps=slot.t, reached_perfect=bool(slot.history.reached_perfect),
            final_accuracy=final_accuracy, history=slot.history, model=ensemble.member(row))
        n_perfect += bool(slot.history.reached_perfect)
        bar.update(1)
        bar.set_postfix(perfect=n_perfect, active=len(slots), refresh=False)

    while slots:
        step_started = time.perf_counter()
        n_slots = len(slots)
        in_batch = [slot.member for slot in slots]  # who shares this step's time
        t = np.array([slot.t + 1 for slot in slots], dtype=np.float64)  # the step being taken
        rate = (lr * 0.5 ** ((t - 1) // lr_halving_every)) if lr_halving_every else np.full(n_slots, lr)
        step_size = torch.as_tensor(rate / (1 - beta1 ** t), dtype=torch.float32).to(torch_device)
        bias_correction2_sqrt = torch.as_tensor(np.sqrt(1 - beta2 ** t),
                                                dtype=torch.float32).to(torch_device)

        if minibatch:
            position = np.array([slot.t % batches_per_epoch for slot in slots])
            for row in np.flatnonzero(position == 0):
                orders[row] = torch.randperm(n_points, generator=slots[row].generator).to(torch_device)
            index = torch.as_tensor(position * batch, device=torch_device)[:, None] + offsets
            mask = in_batch_rows & (index < n_points)  # the last batch of an epoch may be short
            index = orders.gather(1, index.clamp_(max=n_points - 1))
        else:
            mask = real.expand(n_slots, padded)

        for p in params:
            p.grad = None
        losses, correct = [], []
        for group in _groups(n_slots, group_size):  # gradients add up over the groups
            if minibatch:
                inputs, targets = X[index[group]], y[index[group]]
            else:
                inputs, targets = X, y.expand(group.stop - group.start, padded)
            logits = _forward(activation_fn, [W[group] for W in params[:n_layers]],
                              [b[group] for b in params[n_layers:]], inputs)
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.reshape(-1),
                                 reduction="none").view(logits.shape[:2])
            # each member's mean over its own batch: its gradient is that of its own loss
            group_losses = (ce * mask[group]).sum(1) / mask[group].sum(1)
            group_losses.sum().backward()
            losses.append(group_losses.detach())
            with torch.no_grad():
                correct.append(((logits.argmax(2) == targets) & mask[group]).sum(1))
            del logits, ce, group_losses
        losses, correct = torch.cat(losses), torch.cat(correct)
        count_tensor = mask.sum(1)
        adam_step(params, [p.grad for p in params], exp_avgs, exp_avg_sqs, step_size,
                  bias_correction2_sqrt)
        host = torch.stack([losses.detach(), correct.to(losses.dtype),
                            count_tensor.to(losses.dtype)]).cpu().numpy()
        batch_loss, batch_correct, counts = host

        # Which rows need the updated network's accuracy on the whole set, as fit checks it
        if stop_at_perfect and minibatch:
            rows_to_check = [row for row, slot in enumerate(slots)
                             if (slot.t + 1) % check_every == 0 or slot.t + 1 == total_steps
                             or (patience and (slot.t + 1) % patience == 0)]
        else:
            rows_to_check = [row for row, slot in enumerate(slots)
                             if (stop_at_perfect and batch_correct[row] == counts[row])
                             or slot.t + 1 == total_steps
                             or (patience and (slot.t + 1) % patience == 0)]
        checked = dict(zip(rows_to_check, whole_set_correct(rows_to_check)))

        leaving = []
        for row, slot in enumerate(slots):
            slot.t += 1
            history = slot.history
            if stop_at_perfect and minibatch and row in checked:
                accuracy = _accuracy_value(checked[row], n_points)
            else:
                accuracy = _accuracy_value(batch_correct[row], counts[row])
            if slot.t % log_every == 0 or slot.t == total_steps or (stop_at_perfect and accuracy == 1.0):
                history.step.append(slot.t)
                history.loss.append(float(batch_loss[row]))
                history.accuracy.append(accuracy)
            done = False
            if stop_at_perfect and accuracy == 1.0 and row in checked:
                history.reached_perfect = checked[row] == n_points
                if history.reached_perfect:
                    history.accuracy[-1] = 1.0
                    finish(row, slot, 1.0)
                    done = True
            if row in checked or not (stop_at_perfect and minibatch):
                slot.best = max(slot.best, accuracy)
            abandon = False
            if not done and patience and slot.t % patience == 0 and slot.t < total_steps:
                if slot.best <= slot.best_at_check:
                    abandon = history.abandoned = True
                    if not history.step or history.step[-1] != slot.t:
                        history.step.append(slot.t)
                        history.loss.append(float(batch_loss[row]))
                        history.accuracy.append(accuracy)
                slot.best_at_check = slot.best
            if not done and (slot.t == total_steps or abandon):
                final = _accuracy_value(checked[row], n_points)
                history.reached_perfect = checked[row] == n_points
                if history.step and history.step[-1] == slot.t:
                    history.accuracy[-1] = final
                if history.reached_perfect or slot.attempt + 1 >= max_attempts:
                    finish(row, slot, final)
                    done = True
                else:  # a fresh start in this row, with the next attempt's seed
                    slots[row] = new_slot(slot.member, slot.attempt + 1)
                    restart(row, slots[row])
            if done:
                if waiting:  # the next member takes over this row
                    slots[row] = new_slot(waiting.pop(0), 0)
                    restart(row, slots[row])
                else:
                    leaving.append(row)

        if leaving:
            keep = [row for row in range(n_slots) if row not in set(leaving)]
            slots = [slots[row] for row in keep]
            if keep:
                ensemble.keep(keep)
                index = torch.as_tensor(keep, device=torch_device)
                params = list(ensemble.weights) + list(ensemble.biases)
                exp_avgs = [state.index_select(0, index) for state in exp_avgs]
                exp_avg_sqs = [state.index_select(0, index) for state in exp_avg_sqs]
                if minibatch:
                    orders = orders.index_select(0, index)
            bar.set_postfix(perfect=n_perfect, active=len(slots), refresh=False)
        shares[in_batch] += (time.perf_counter() - step_started) / n_slots
    bar.close()

    total = time.perf_counter() - started
    scale = total / shares.sum() if shares.sum() > 0 else 0.0
    for result, share in zip(results, shares):
        result.train_seconds = float(share * scale)
    return results
