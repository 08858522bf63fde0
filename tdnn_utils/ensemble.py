"""Many fully connected networks of one architecture, trained at once.

Naitzat et al. train hundreds of small networks of a few architectures, each with full-batch
Adam until it classifies every training point correctly. :func:`fit_ensemble` trains E of
them together, each exactly as :func:`tdnn_utils.training.fit_until_perfect` trains it alone
(up to floating-point rounding), with the hand-written step of :mod:`tdnn_utils.fastmlp`:
every layer of every member is one batched product, the gradient is summed over tiles of
points that stay in the CPU's cache, and Adam updates one flat (E, P) parameter tensor.
``benchmarks/bench_training.py`` measures the step against this CPU's floor and against plain
eager PyTorch.

- :class:`FFEnsemble`: E members of one :class:`~tdnn_utils.models.FFNet` architecture,
  stacked as a module; member ``e`` is initialised exactly as ``FFNet`` is after
  ``seed_everything(seeds[e])``, and :meth:`FFEnsemble.member` gives it back as a plain
  ``FFNet``.
- :func:`fit_ensemble`: trains the members, each on its own schedule: a member leaves the
  batch the moment it is done, and a member that runs out of steps restarts alone.
- :class:`MemberResult`: what :func:`fit_ensemble` returns for each member, with an
  :class:`AttemptRecord` per attempt (seed, steps, accuracy at every patience check, why it
  ended).
- :class:`AbandonRule`: an optional rule, applied at the patience checks, that abandons an
  attempt whose best accuracy so far lies below a threshold.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn
# Plain tqdm: a text bar, so executed chapters hold no widget state to load from a CDN.
from tqdm import tqdm

from . import fastmlp
from .fastmlp import ADAM_BETAS, ADAM_EPS, IGNORE, adam_step  # noqa: F401 (ADAM_EPS: kept here)
from .models import ACTIVATIONS, INITS, FFNet, make_activation
from .training import History, choose_device
from .validation import check_finite

__all__ = ["FFEnsemble", "MemberResult", "AttemptRecord", "AbandonRule", "fit_ensemble",
           "build_member", "adam_step", "ATTEMPT_SEED_STRIDE", "ENDINGS"]

#: Attempt ``a`` of a member with seed ``s`` uses seed ``s + ATTEMPT_SEED_STRIDE * a``, as
#: :func:`tdnn_utils.training.fit_until_perfect` does.
ATTEMPT_SEED_STRIDE = 1000

#: Point counts are padded to a multiple of this (16 float32 = 64 bytes), with columns that
#: count for nothing: every member's slab of every buffer then starts on a 64-byte boundary,
#: and MKL's products round alike whatever the member's place in the batch.
ROW_ALIGNMENT = 16

#: Why an attempt ended (:attr:`AttemptRecord.ended`): it reached 100% training accuracy, the
#: patience rule or the :class:`AbandonRule` abandoned it, or its step budget ran out. An
#: attempt abandoned at a check where its updated network happens to classify every point is
#: kept, as :func:`~tdnn_utils.training.fit` keeps it (``reached_perfect`` says so).
ENDINGS = ("perfect", "patience", "rule", "budget")


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
        if x.ndim == 2:  # one batch shared by every member
            x = x.expand(self.n_members, *x.shape)
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x if l == 0 else self.activation(x), W)
        return x

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



# ------------------------------------------------------------------------------ attempts
@dataclass(frozen=True)
class AbandonRule:
    """Abandon an attempt at its c-th patience check when its best accuracy is below thresholds[c-1].

    Applied by :func:`fit_ensemble` at the patience checks (every ``patience`` steps of an
    attempt), after the patience rule: at check c (step c * patience) an attempt whose best
    training accuracy so far is below ``thresholds[c - 1]`` is abandoned (and a fresh start
    follows while attempts remain). Checks beyond the last threshold abandon nothing.

    Parameters
    ----------
    thresholds : one accuracy in [0, 1] per check, in order (e.g. ``(0.6, 0.75, 0.9)``).
    """

    thresholds: tuple

    def __post_init__(self):
        try:
            values = tuple(float(t) for t in self.thresholds)
        except (TypeError, ValueError):
            values = ()
        if not values or not all(0.0 <= t <= 1.0 for t in values):
            raise ValueError(f"AbandonRule.thresholds={self.thresholds!r} must be a non-empty "
                             "sequence of accuracies between 0 and 1, one per patience check")
        object.__setattr__(self, "thresholds", values)

    def abandons(self, check: int, best: float) -> bool:
        """Whether an attempt whose best accuracy is ``best`` at check ``check`` (1, 2, ...) ends."""
        return check <= len(self.thresholds) and best < self.thresholds[check - 1]


@dataclass
class AttemptRecord:
    """One attempt of one member: what it did and why it ended.

    Attributes
    ----------
    attempt : 0 for the first start, 1 for the first fresh start, ...
    seed : the attempt's seed (``member seed + 1000 * attempt``).
    steps : optimiser steps it took.
    ended : why it ended, one of :data:`ENDINGS`.
    reached_perfect : whether its network classifies every training point correctly.
    final_accuracy : its network's accuracy on the whole training set when it ended.
    check_steps : the steps of its patience checks (``patience``, ``2 * patience``, ...;
        empty without patience).
    check_accuracy : the training accuracy at each check, as the patience rule sees it.
    check_best : the best training accuracy so far at each check.
    """

    attempt: int
    seed: int
    steps: int = 0
    ended: str = ""
    reached_perfect: bool = False
    final_accuracy: float = float("nan")
    check_steps: list = field(default_factory=list)
    check_accuracy: list = field(default_factory=list)
    check_best: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


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
    attempt_records : one :class:`AttemptRecord` per attempt, in order.
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
    attempt_records: list = field(default_factory=list)


@dataclass
class _Slot:
    """One row of the batch: which member trains there, in which attempt, how far it is."""

    member: int
    attempt: int
    seed: int
    history: History
    record: AttemptRecord
    records: list = field(default_factory=list)  # the member's earlier attempts, then this one
    generator: torch.Generator | None = None
    t: int = 0  # optimiser steps taken in this attempt
    best: float = -1.0  # best training accuracy of this attempt so far
    best_at_check: float = -1.0  # ... at the last patience check


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def _accuracy_value(correct: float, count: int) -> float:
    """What ``(pred == y).float().mean().item()`` gives: float32 arithmetic."""
    return float(np.float32(correct) / np.float32(count))


# ------------------------------------------------------------------------------ the batch
class _TrainingSet:
    """The training points as the step reads them: columns, padded to ROW_ALIGNMENT.

    ``inputs`` (1, in + 1, n_padded) with a last row of ones, ``targets`` (1, n_padded) with
    IGNORE in the padding, ``weights`` (1, 1, n_padded): 1/n, 0 in the padding. With
    mini-batches, :meth:`batch_of` gathers each member's batch in the same form.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch: int, device: torch.device):
        n, padded = len(X), _round_up(len(X), ROW_ALIGNMENT)
        self.n_points, self.batch = n, batch
        self.rows = torch.zeros(padded, X.shape[1] + 1)  # points as rows, a column of ones
        self.rows[:n, :-1], self.rows[:, -1] = X, 1.0
        self.rows = self.rows.to(device)
        targets = torch.full((padded,), IGNORE, dtype=torch.long)
        targets[:n] = y
        self.inputs = self.rows.T.contiguous()[None]
        self.targets = targets.to(device)[None]
        self.weights = torch.where(self.targets >= 0, 1.0 / n, 0.0)[:, None]
        self.offsets = torch.arange(_round_up(batch, ROW_ALIGNMENT), device=device)

    def batch_of(self, orders: torch.Tensor, positions: np.ndarray):
        """Each member's mini-batch: (inputs, targets, weights, counts) as the step takes them.

        ``orders`` (E, n) is each member's permutation of the points this epoch, ``positions``
        (E,) each member's batch within its epoch (the last batch of an epoch may be short).
        """
        start = torch.as_tensor(positions * self.batch, device=orders.device)[:, None]
        index = start + self.offsets
        counted = (self.offsets < self.batch) & (index < self.n_points)
        points = orders.gather(1, index.clamp_(max=self.n_points - 1))
        targets = torch.where(counted, self.targets[0, points], IGNORE)
        counts = counted.sum(1, keepdim=True)
        weights = (counted / counts)[:, None]
        return self.rows[points].transpose(1, 2), targets, weights, counts[:, 0]


class _Batch:
    """The members training now: flat parameters and Adam's moments, one row per member.

    ``params``, ``exp_avg``, ``exp_avg_sq`` and ``grad`` are (E, P) tensors in the
    :class:`~tdnn_utils.fastmlp.ParameterLayout` of ``widths``; ``slots[row]`` says who
    trains in row ``row``.
    """

    def __init__(self, widths, activation, negative_slope, init, device, slots):
        self.widths, self.activation, self.negative_slope, self.init = widths, activation, negative_slope, init
        self.layout = fastmlp.ParameterLayout(tuple(widths))
        self.device = device
        self.slots = slots
        nets = [build_member(widths, activation, slot.seed, negative_slope, init) for slot in slots]
        self.params = self.layout.pack(nets).to(device)
        self.exp_avg = torch.zeros_like(self.params)
        self.exp_avg_sq = torch.zeros_like(self.params)
        self.grad = torch.empty_like(self.params)

    @torch.no_grad()
    def restart(self, row: int, slot: _Slot) -> None:
        """A fresh start in ``row``: ``slot``'s initial weights, Adam's moments at zero."""
        self.slots[row] = slot
        net = build_member(self.widths, self.activation, slot.seed, self.negative_slope, self.init)
        self.params[row] = self.layout.pack([net])[0].to(self.device)
        self.exp_avg[row] = 0.0
        self.exp_avg_sq[row] = 0.0

    def network(self, row: int) -> FFNet:
        """Row ``row``'s network as a plain FFNet on the CPU (a copy)."""
        net = FFNet(self.widths, self.activation, negative_slope=self.negative_slope, init=self.init)
        return self.layout.write(self.params[row].cpu(), net)

    def keep(self, rows: list[int]) -> torch.Tensor:
        """Keep only ``rows`` (in that order); returns their index tensor."""
        index = torch.as_tensor(rows, dtype=torch.long, device=self.device)
        self.slots = [self.slots[row] for row in rows]
        self.params, self.exp_avg, self.exp_avg_sq = (
            t.index_select(0, index) for t in (self.params, self.exp_avg, self.exp_avg_sq))
        self.grad = torch.empty_like(self.params)
        return index


#: How the learning rate is halved every ``lr_halving_every`` steps: at once, every that many
#: steps ("step", PyTorch's StepLR), or smoothly, ``lr * 0.5 ** ((t - 1) / lr_halving_every)``
#: ("continuous": TensorFlow's ``exponential_decay``, which Naitzat et al.'s trainer uses).
LR_DECAYS = ("step", "continuous")


def _schedule(slots, lr, lr_halving_every, device, decay: str = "step"):
    """Adam's step size and sqrt(1 - beta2^t) of each row at the step it is taking: (E,) each."""
    beta1, beta2 = ADAM_BETAS
    t = np.array([slot.t + 1 for slot in slots], dtype=np.float64)
    halvings = ((t - 1) // lr_halving_every if decay == "step" else (t - 1) / lr_halving_every) \
        if lr_halving_every else np.zeros(len(t))
    rate = lr * 0.5 ** halvings
    step_size = torch.as_tensor(rate / (1 - beta1 ** t), dtype=torch.float32).to(device)
    return step_size, torch.as_tensor(np.sqrt(1 - beta2 ** t), dtype=torch.float32).to(device)


# ------------------------------------------------------------------------------ training
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
    abandon_rule: AbandonRule | None = None,
    check_every: int = 1,
    lr_decay: str = "step",
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
    are dropped), so finished members cost nothing. On the CPU a member's arithmetic does not
    depend on the other members of its batch: a member trained alongside others equals the
    member trained alone, bit for bit (tested), so a sweep's results do not depend on how it
    groups its networks.

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
    abandon_rule : an :class:`AbandonRule`, applied at the same checks after the patience
        rule (needs ``patience``); ``None`` (the default) abandons nothing more.
    check_every : with mini-batches and ``stop_at_perfect``, the whole training set is
        evaluated after every ``check_every``-th step of an attempt (and after its last
        step), and a member stops at the first such check that finds it at 100%. The default
        1 checks every step, as :func:`~tdnn_utils.training.fit` does; on a large training
        set those checks cost far more than the mini-batch steps themselves (40,000 points
        and batches of 500: one check is the work of about 25 steps), and checking once per
        epoch stops a member at most one epoch after it first reached 100%. Between checks
        the history logs the batch's accuracy, and patience counts checked accuracies only.
        Full-batch training with ``check_every`` > 1 checks the same way, as Naitzat et al.'s
        trainer does (its ``summary_freq``): the training accuracy is read after the first step
        and after every ``check_every``-th, a member stops at 100% only at such a check, and
        the patience rule compares the best *checked* accuracy; with 1 (the default) every
        step's accuracy counts, as :func:`~tdnn_utils.training.fit` does.
    lr_decay : "step" (the default: halved at once every ``lr_halving_every`` steps) or
        "continuous" (``lr * 0.5 ** ((t - 1) / lr_halving_every)`` at step t, TensorFlow's
        ``exponential_decay`` as the authors' trainer uses it); see :data:`LR_DECAYS`.
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
    if lr_decay not in LR_DECAYS:
        raise ValueError(f"lr_decay={lr_decay!r} is unknown; use one of {LR_DECAYS}")
    if abandon_rule is not None and not isinstance(abandon_rule, AbandonRule):
        raise ValueError(f"abandon_rule={abandon_rule!r} must be an AbandonRule or None")
    if abandon_rule is not None and patience is None:
        raise ValueError("abandon_rule is applied at the patience checks; give patience too")
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
    batches_per_epoch = -(-n_points // batch)
    total_steps = budget if steps is not None else budget * batches_per_epoch
    rules = _Rules(n_points, total_steps, max(1, total_steps // 200), stop_at_perfect,
                   batch < n_points, patience, abandon_rule, check_every, max_attempts)
    negative_slope = float(negative_slope)

    def new_slot(member: int, attempt: int, records=()) -> _Slot:
        seed = seeds[member] + ATTEMPT_SEED_STRIDE * attempt
        slot = _Slot(member, attempt, seed, History(device=str(torch_device)),
                     AttemptRecord(attempt, seed), list(records))
        if rules.minibatch:
            slot.generator = torch.Generator().manual_seed(seed)
            # fit draws one order before its loop and a new one at step 1: skip the first
            torch.randperm(n_points, generator=slot.generator)
        return slot

    n_members = len(seeds)
    width = n_members if max_active is None else min(max_active, n_members)
    members = _Batch(widths, activation, negative_slope, init, torch_device,
                     [new_slot(e, 0) for e in range(width)])
    stepper = _Stepper(members, _TrainingSet(X, y, batch, torch_device), batches_per_epoch, lr,
                       lr_halving_every, lr_decay)
    waiting = list(range(width, n_members))
    results: list[MemberResult | None] = [None] * n_members
    shares = np.zeros(n_members)
    n_perfect = n_done = 0
    # Redraw at most every 2 s, as fit does: executed notebooks keep every redraw.
    bar = tqdm(total=n_members, desc=description, disable=not progress, leave=False,
               mininterval=2.0, unit="net", postfix={"perfect": 0, "active": width})

    while members.slots:
        step_started = time.perf_counter()
        in_batch = [slot.member for slot in members.slots]  # who shares this step's time
        batch_loss, batch_correct, counts = stepper.step(members)
        to_check = [row for row, slot in enumerate(members.slots)
                    if rules.needs_whole_set(slot.t + 1, batch_correct[row] == counts[row])]
        checked = dict(zip(to_check, stepper.whole_set_correct(members, to_check)))
        leaving = []
        for row, slot in enumerate(members.slots):
            outcome = _advance(slot, rules, float(batch_loss[row]),
                               _accuracy_value(batch_correct[row], counts[row]), checked.get(row))
            if outcome == "restart":  # a fresh start in this row, with the next attempt's seed
                members.restart(row, new_slot(slot.member, slot.attempt + 1, slot.records))
            elif outcome == "done":
                results[slot.member] = _result(slot, seeds[slot.member], members.network(row))
                n_perfect += bool(slot.history.reached_perfect)
                bar.update(1)
                if waiting:  # the next member takes over this row
                    members.restart(row, new_slot(waiting.pop(0), 0))
                else:
                    leaving.append(row)
        if leaving:
            stepper.keep(members, [row for row in range(len(members.slots)) if row not in leaving])
        if bar.n != n_done:
            n_done = bar.n
            bar.set_postfix(perfect=n_perfect, active=len(members.slots), refresh=False)
        shares[in_batch] += (time.perf_counter() - step_started) / len(in_batch)
    bar.close()

    total = time.perf_counter() - started
    scale = total / shares.sum() if shares.sum() > 0 else 0.0
    for result, share in zip(results, shares):
        result.train_seconds = float(share * scale)
    return results


@dataclass(frozen=True)
class _Rules:
    """fit_ensemble's stopping and logging rules, as fit applies them."""

    n_points: int
    total_steps: int
    log_every: int
    stop_at_perfect: bool
    minibatch: bool
    patience: int | None
    abandon_rule: AbandonRule | None
    check_every: int
    max_attempts: int

    def is_check(self, t: int) -> bool:
        """Whether step ``t`` of an attempt is a patience check."""
        return bool(self.patience) and t % self.patience == 0 and t < self.total_steps

    @property
    def sparse(self) -> bool:
        """Whether accuracy counts only at checks (mini-batches, or full batch with check_every > 1)."""
        return self.minibatch or self.check_every > 1

    def is_accuracy_check(self, t: int) -> bool:
        """Whether step ``t`` reads the whole set's accuracy under sparse checks (full batch: the
        first step too, as Naitzat et al.'s trainer)."""
        return t % self.check_every == 0 or (not self.minibatch and t == 1)

    def needs_whole_set(self, t: int, batch_perfect: bool) -> bool:
        """Whether step ``t`` needs the updated network's accuracy on the whole set: to stop
        at 100%, at the end of the budget, and at a patience check (the attempt may end)."""
        if t == self.total_steps or self.is_check(t):
            return True
        if self.sparse:
            return (self.stop_at_perfect or not self.minibatch) and self.is_accuracy_check(t)
        return self.stop_at_perfect and batch_perfect


def _advance(slot: _Slot, rules: _Rules, loss: float, batch_accuracy: float,
             whole_set: int | None) -> str:
    """Book one step of ``slot``'s attempt, as fit does: log it, stop at 100%, apply patience
    and the abandon rule, end the attempt at its budget.

    ``whole_set`` is the updated network's count of correct training points where the step
    needed it (else None). Returns "train" (go on), "restart" (the attempt ended short of 100%
    and attempts remain) or "done" (the member is finished).
    """
    slot.t += 1
    t, history, record = slot.t, slot.history, slot.record
    checked = whole_set is not None
    accuracy = (_accuracy_value(whole_set, rules.n_points)
                if (rules.stop_at_perfect or not rules.minibatch) and rules.sparse and checked else batch_accuracy)
    if t % rules.log_every == 0 or t == rules.total_steps or (rules.stop_at_perfect and accuracy == 1.0):
        _log(history, t, loss, accuracy)
    if rules.stop_at_perfect and accuracy == 1.0 and checked:
        history.reached_perfect = whole_set == rules.n_points
        if history.reached_perfect:
            history.accuracy[-1] = 1.0
            return _end(slot, rules, "perfect", 1.0)
    if checked or not rules.sparse or (rules.minibatch and not rules.stop_at_perfect):
        slot.best = max(slot.best, accuracy)
    ending = None
    if rules.is_check(t):
        record.check_steps.append(t)
        record.check_accuracy.append(accuracy)
        record.check_best.append(slot.best)
        if slot.best <= slot.best_at_check:
            ending = "patience"
        elif rules.abandon_rule is not None and rules.abandon_rule.abandons(
                len(record.check_best), slot.best):
            ending = "rule"
        slot.best_at_check = slot.best
        if ending:
            history.abandoned = True
            if not history.step or history.step[-1] != t:
                _log(history, t, loss, accuracy)
    if t == rules.total_steps or ending:
        final = _accuracy_value(whole_set, rules.n_points)
        history.reached_perfect = whole_set == rules.n_points
        if history.step and history.step[-1] == t:
            history.accuracy[-1] = final
        return _end(slot, rules, ending or ("perfect" if history.reached_perfect else "budget"), final)
    return "train"


def _log(history: History, t: int, loss: float, accuracy: float) -> None:
    history.step.append(t)
    history.loss.append(loss)
    history.accuracy.append(accuracy)


def _end(slot: _Slot, rules: _Rules, ending: str, final_accuracy: float) -> str:
    """Close ``slot``'s attempt record; "restart" if another attempt may follow, else "done"."""
    record = slot.record
    record.steps, record.ended = slot.t, ending
    record.reached_perfect, record.final_accuracy = bool(slot.history.reached_perfect), final_accuracy
    slot.records.append(record)
    if record.reached_perfect or slot.attempt + 1 >= rules.max_attempts:
        return "done"
    return "restart"


def _result(slot: _Slot, seed: int, model: FFNet) -> MemberResult:
    return MemberResult(seed=seed, attempt_seed=slot.seed, attempts=slot.attempt + 1, steps=slot.t,
                        reached_perfect=bool(slot.history.reached_perfect),
                        final_accuracy=slot.record.final_accuracy, history=slot.history,
                        model=model, attempt_records=list(slot.records))


class _Stepper:
    """One training step of every member (the gradient, then Adam), and whole-set checks.

    Holds the training set, the tile and group sizes and the workspaces of
    :mod:`tdnn_utils.fastmlp`; with mini-batches, each row's order of the points.
    """

    def __init__(self, members: _Batch, data: _TrainingSet, batches_per_epoch: int, lr: float,
                 lr_halving_every: int | None, lr_decay: str = "step"):
        self.data, self.lr, self.lr_halving_every, self.lr_decay = data, lr, lr_halving_every, lr_decay
        self.batches_per_epoch = batches_per_epoch
        widths, device = members.widths, members.device
        self.rule = fastmlp.activation_rule(members.activation, members.negative_slope)
        columns = data.inputs.shape[-1] if data.batch == data.n_points else len(data.offsets)
        self.tile = fastmlp.tile_size(columns, widths, device)
        self.check_tile = fastmlp.tile_size(data.inputs.shape[-1], widths, device)
        self.work = fastmlp.Workspace(members.layout, self.rule, device)
        self.check_work = fastmlp.Workspace(members.layout, self.rule, device)
        self.orders = (torch.empty((len(members.slots), data.n_points), dtype=torch.long, device=device)
                       if data.batch < data.n_points else None)

    def step(self, members: _Batch):
        """One step of every row; returns (loss, correct, count) per row as numpy arrays: the
        batch's mean cross-entropy and correct count before the update, and its size."""
        data, slots = self.data, members.slots
        if self.orders is None:
            inputs, targets, weights = data.inputs, data.targets, data.weights
            counts = np.full(len(slots), data.n_points, dtype=np.float32)
        else:
            positions = np.array([slot.t % self.batches_per_epoch for slot in slots])
            for row in np.flatnonzero(positions == 0):
                order = torch.randperm(data.n_points, generator=slots[row].generator)
                self.orders[row] = order.to(self.orders.device)
            inputs, targets, weights, counts = data.batch_of(self.orders, positions)
        group = fastmlp.group_size(len(slots), self.tile, members.widths, members.device)
        loss, correct = fastmlp.gradients(members.params, members.layout, self.rule, inputs,
                                          targets, weights, members.grad, self.work, self.tile, group)
        step_size, correction = _schedule(slots, self.lr, self.lr_halving_every, members.device, self.lr_decay)
        adam_step([members.params], [members.grad], [members.exp_avg], [members.exp_avg_sq],
                  step_size, correction)
        if isinstance(counts, torch.Tensor):
            loss, correct, counts = torch.stack([loss, correct, counts.to(loss.dtype)]).cpu().numpy()
        else:
            loss, correct = torch.stack([loss, correct]).cpu().numpy()
        return loss / counts, correct, counts  # float32, as torch divides

    @torch.no_grad()
    def whole_set_correct(self, members: _Batch, rows: list[int]) -> list[int]:
        """How many training points the updated networks in ``rows`` classify correctly."""
        if not rows:
            return []
        params = members.params.index_select(0, torch.as_tensor(rows, dtype=torch.long, device=members.device))
        group = fastmlp.group_size(len(rows), self.check_tile, members.widths, members.device)
        return fastmlp.count_correct(params, members.layout, self.rule, self.data.inputs,
                                     self.data.targets, self.check_work, self.check_tile,
                                     group).tolist()

    def keep(self, members: _Batch, rows: list[int]) -> None:
        """Only ``rows`` go on training (the others are done)."""
        index = members.keep(rows)
        if self.orders is not None:
            self.orders = self.orders.index_select(0, index)
