"""A full-batch training step of stacked fully connected networks, written by hand (no autograd).

:func:`tdnn_utils.ensemble.fit_ensemble` trains E small networks of one architecture at once.
Autograd's step costs 8-12% of this CPU's arithmetic peak on them: its elementwise passes
cost as much as the matrix products, and each of its many small operations pays PyTorch's
per-operation overhead (a few microseconds). This module does the same arithmetic in few,
large operations:

- **Layout**: points are columns. Member ``e``'s layer ``l`` is one (out, in + 1) matrix
  ``[W | b]`` (``nn.Linear``'s weight with its bias as an extra column), and every layer's
  input carries a row of ones, so a layer is one batched product ``[W | b] @ [a; 1]`` and its
  weight-and-bias gradient is another, ``g @ [a; 1]^T``.
- **Activations** are applied where the product wrote the pre-activations (one member at a
  time; from a scratch buffer into the next layer's input when a group has several); their
  derivatives come from their outputs where that is exact (ReLU, leaky ReLU with a positive
  slope, tanh, sigmoid) and from kept pre-activations otherwise, with the kernels autograd
  itself uses (``threshold_backward``, ``tanh_backward``, ...). The two-class cross-entropy
  and its gradient take a few passes over the logits' rows (p_1 = sigmoid(z_1 - z_0)).
- **Tiles**: the points are cut into column tiles (:func:`tile_size`) whose activations
  stay in the CPU's cache through the forward and backward passes; the gradient is summed
  over tiles. Members go through a tile in groups (:func:`group_size`).
- **Parameters** of a member are one flat row of a (E, P) tensor (:class:`ParameterLayout`);
  Adam (:func:`adam_step`) updates all of them in a few passes.

A member's arithmetic does not depend on the other members of its batch or group (on the CPU,
bit for bit: the tile size depends only on the number of points and the widths, and every
elementwise kernel runs member by member; tested in ``tests/test_fastmlp.py``). The code is
device-agnostic: on a GPU the whole set is one tile and all members one group.

``benchmarks/bench_training.py`` measures the step against this CPU's floor (its FLOPs at the
one-thread sgemm peak) and against plain eager PyTorch. ``torch.compile`` of the pass over a
tile (inductor, with and without its C++ wrapper) was 1.3-1.5x slower than this code (CPU
time, one member, 3,150 points 9 x 15 and 11,250 points 9 x 25), after 20-35 s of
compilation per shape, so it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import torch

from .models import FFNet

__all__ = ["ParameterLayout", "ActivationRule", "activation_rule", "Workspace", "gradients",
           "count_correct", "adam_step", "tile_size", "group_size", "step_flops",
           "ADAM_BETAS", "ADAM_EPS", "IGNORE"]

#: ``torch.optim.Adam``'s defaults, which :func:`tdnn_utils.training.fit` uses.
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8

#: The label of a padding column (and of a point outside a member's mini-batch): it adds
#: nothing to the loss, the gradient or the count of correct points.
IGNORE = -100

#: On the CPU, one tile's stored activations (every layer of one member, with the step's
#: scratch buffers) stay under this many bytes, and a group's (all its members) under
#: :data:`GROUP_BYTES`. Measured with ``benchmarks/bench_training.py``'s arms (2 shared
#: cores, 2 MB of L2 each; CPU time per network-step over the floor, 9 x 15 and 9 x 25
#: networks, 3,150 and 11,250 points, ReLU): tiles of about 4,000 points, one member at a
#: time, were within 10% of the best of every tile (256 to all points) and group (1 to 8)
#: tried; tiles of 512 points cost 1.2-1.9x more alone, groups of 8 members with tiles of
#: 2,048 or more 1.2-1.4x more. Small data (mini-batches) still puts many members in a group.
TILE_BYTES = 2**22
GROUP_BYTES = 2**22

aten = torch.ops.aten


# ------------------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class ParameterLayout:
    """Where each layer's ``[W | b]`` lies in a member's flat parameter vector.

    Layer ``l`` (``widths[l]`` inputs, ``widths[l + 1]`` outputs) occupies
    ``widths[l + 1] * (widths[l] + 1)`` consecutive values from ``offsets[l]``: row ``i`` is
    output unit ``i``'s input weights followed by its bias.
    """

    widths: tuple

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [(out, inp + 1) for inp, out in zip(self.widths[:-1], self.widths[1:])]

    @property
    def offsets(self) -> list[int]:
        sizes = [out * cols for out, cols in self.shapes]
        return [int(o) for o in np.cumsum([0] + sizes)]

    @property
    def size(self) -> int:
        return self.offsets[-1]

    def views(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Layer views (E, out, in + 1) of a (E, P) parameter (or gradient) tensor."""
        return [flat[:, start:start + out * cols].view(-1, out, cols)
                for (out, cols), start in zip(self.shapes, self.offsets)]

    def pack(self, nets: Sequence[FFNet]) -> torch.Tensor:
        """The (E, P) parameters of plain ``FFNet`` s of these widths (a copy, on the CPU)."""
        rows = []
        for net in nets:
            if tuple(net.widths) != self.widths:
                raise ValueError(f"net has widths {net.widths}; the layout's are {list(self.widths)}")
            rows.append(torch.cat([torch.cat([layer.weight.detach(), layer.bias.detach()[:, None]], 1)
                                   .reshape(-1) for layer in net.layers]))
        return torch.stack(rows)

    @torch.no_grad()
    def write(self, row: torch.Tensor, net: FFNet) -> FFNet:
        """Copy one member's flat parameters (P,) into ``net``'s layers; returns ``net``."""
        for layer, view in zip(net.layers, self.views(row[None])):
            layer.weight.copy_(view[0, :, :-1])
            layer.bias.copy_(view[0, :, -1])
        return net


def step_flops(widths: Sequence[int], n_points: int) -> int:
    """Floating-point operations of one full-batch training step's matrix products.

    Per point and layer of ``a`` inputs and ``b`` outputs: 2ab for the forward product, 2ab
    for the weight gradient, and 2ab for the gradient of the layer's input (not needed for
    the first layer). The elementwise passes, the loss and Adam are left out: this is the
    work no implementation can avoid, the numerator of the benchmark's floor.
    """
    products = [a * b for a, b in zip(widths[:-1], widths[1:])]
    return int(2 * n_points * (3 * sum(products) - products[0]))


# ------------------------------------------------------------------------------ activations
@dataclass(frozen=True)
class ActivationRule:
    """An activation and its derivative as out-of-place kernels.

    ``forward(z, out)`` writes f(z) into ``out``; ``backward(grad, z, a, out)`` writes
    ``grad * f'(z)`` into ``out`` from the pre-activation ``z``
    or the activation ``a = f(z)``; ``needs_input`` says whether ``z`` must be kept.
    """

    forward: Callable
    backward: Callable
    needs_input: bool


def activation_rule(name: str, negative_slope: float = 0.2) -> ActivationRule:
    """The :class:`ActivationRule` of one of :data:`tdnn_utils.models.ACTIVATIONS`, with the
    derivative kernels autograd uses for the matching ``nn`` module."""
    slope = float(negative_slope)
    rules = {
        "relu": ActivationRule(
            lambda z, out: torch.clamp_min(z, 0, out=out),
            lambda g, z, a, out: aten.threshold_backward.grad_input(g, a, 0, grad_input=out), False),
        # with a positive slope the output has the input's sign, so its derivative reads the output
        "leaky_relu": ActivationRule(
            lambda z, out: torch._C._nn.leaky_relu(z, slope, out=out),
            (lambda g, z, a, out: aten.leaky_relu_backward.grad_input(g, a, slope, True, grad_input=out))
            if slope > 0 else
            (lambda g, z, a, out: aten.leaky_relu_backward.grad_input(g, z, slope, False, grad_input=out)),
            slope <= 0),
        "tanh": ActivationRule(
            lambda z, out: torch.tanh(z, out=out),
            lambda g, z, a, out: aten.tanh_backward.grad_input(g, a, grad_input=out), False),
        "sigmoid": ActivationRule(
            lambda z, out: torch.sigmoid(z, out=out),
            lambda g, z, a, out: aten.sigmoid_backward.grad_input(g, a, grad_input=out), False),
        # gelu's out= variant writes a strided ``out`` as if it were contiguous (torch 2.13)
        "gelu": ActivationRule(
            lambda z, out: out.copy_(torch._C._nn.gelu(z)),
            lambda g, z, a, out: aten.gelu_backward.grad_input(g, z, grad_input=out), True),
        "silu": ActivationRule(
            lambda z, out: torch._C._nn.silu(z, out=out),
            lambda g, z, a, out: aten.silu_backward.grad_input(g, z, grad_input=out), True),
        "elu": ActivationRule(
            lambda z, out: torch._C._nn.elu(z, 1.0, 1, 1, out=out),
            lambda g, z, a, out: aten.elu_backward.grad_input(g, 1.0, 1, 1, False, z, grad_input=out),
            True),
        "softplus": ActivationRule(
            lambda z, out: torch._C._nn.softplus(z, 1, 20, out=out),
            lambda g, z, a, out: aten.softplus_backward.grad_input(g, z, 1, 20, grad_input=out), True),
    }
    if name not in rules:
        raise ValueError(f"activation {name!r} is unknown; use one of {sorted(rules)}")
    return rules[name]


# ------------------------------------------------------------------------------ tiles and groups
def tile_size(n_points: int, widths: Sequence[int], device: torch.device | str = "cpu") -> int:
    """Points per tile: a multiple of 16 whose stored activations (one member, every layer,
    with their rows of ones) stay under :data:`TILE_BYTES`, the tiles of nearly equal size.

    It depends only on the number of points and the widths (never on the members), so a
    member's gradient is summed in the same order in any ensemble. On a GPU: every point.
    """
    if torch.device(device).type != "cpu":
        return int(n_points)
    per_point = 4 * sum(w + 1 for w in widths[:-1]) + 4 * 3 * max(widths)
    largest = max(16, TILE_BYTES // per_point // 16 * 16)
    n_tiles = -(-n_points // largest)
    if n_tiles == 1:
        return int(n_points)
    per_tile = -(-n_points // n_tiles)
    return -(-per_tile // 16) * 16


def group_size(n_members: int, tile: int, widths: Sequence[int],
               device: torch.device | str = "cpu") -> int:
    """Members that go through a tile together: as many as keep their stored activations
    under :data:`GROUP_BYTES` (at least one). On a GPU: all of them."""
    if torch.device(device).type != "cpu":
        return max(1, int(n_members))
    per_member = 4 * tile * (sum(w + 1 for w in widths[:-1]) + 3 * max(widths))
    return int(max(1, min(n_members, GROUP_BYTES // per_member)))


@lru_cache(maxsize=256)
def _groups(n: int, size: int) -> tuple[slice, ...]:
    """Rows 0..n-1 in ceil(n / size) consecutive groups of nearly equal sizes."""
    bounds = np.linspace(0, n, -(-n // size) + 1).round().astype(int)
    return tuple(slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]))


# ------------------------------------------------------------------------------ buffers
class Workspace:
    """Buffers of one step, reused from step to step, and the views of them each tile uses.

    Holds each hidden layer's output with its row of ones (members, width + 1, tile), the
    pre-activations (every layer's where the derivative needs them, else one scratch), two
    gradient buffers used in turn, and every layer's weight gradient (E, out, in + 1).
    Views are cached per (parameters, data, group of members, tile width): a full-batch
    step builds none.
    """

    def __init__(self, layout: ParameterLayout, rule: ActivationRule, device):
        self.layout, self.rule, self.device = layout, rule, torch.device(device)
        self.members = self.tile = self.n_members = 0
        self._key, self._plans = None, {}

    def ready(self, n_members: int, members: int, tile: int) -> None:
        """Buffers for ``n_members`` in groups of ``members``, ``tile`` columns at a time."""
        widths, device = self.layout.widths, self.device
        if members > self.members or tile > self.tile:
            self.members, self.tile = max(members, self.members), max(tile, self.tile)
            size = self.members * max(widths[1:]) * self.tile
            self.inputs = [torch.ones(self.members, w + 1, self.tile, device=device)
                           for w in widths[1:-1]]
            n_pre = len(widths) - 2 if self.rule.needs_input else 1
            self.pre = [torch.empty(size, device=device) for _ in range(max(1, n_pre))]
            self.products = torch.empty(size, device=device)
            self.logits = torch.empty(self.members * widths[-1] * self.tile, device=device)
            self.grads = [torch.empty(self.members, max(widths[1:]) + 1, self.tile, device=device)
                          for _ in range(2)]
            self._plans = {}
        if n_members != self.n_members:
            self.n_members = n_members
            self.weight_grads = [torch.empty(n_members, out, cols, device=device)
                                 for out, cols in self.layout.shapes]
            self.loss = torch.empty(n_members, device=device)
            self.correct = torch.empty(n_members, device=device)
            self._plans = {}

    def plan(self, params, inputs, targets, weights, rows: slice, cols: slice) -> "_Plan":
        """The views one tile (``cols``) of one group (``rows``) works on, cached."""
        key = (id(params), id(inputs), id(targets), id(weights))
        if key != self._key:  # the cache holds these tensors: their ids stay theirs
            self._key, self._plans = key, {"held": (params, inputs, targets, weights)}
        index = (rows.start, rows.stop, cols.start, cols.stop)
        if index not in self._plans:
            self._plans[index] = _Plan(self, params, inputs, targets, weights, rows, cols)
        return self._plans[index]


class _Plan:
    """Views of the parameters, data and buffers for one group of members and one tile."""

    def __init__(self, work: Workspace, params, inputs, targets, weights, rows, cols):
        widths = work.layout.widths
        m, t = rows.stop - rows.start, cols.stop - cols.start
        self.first_tile = cols.start == 0
        self.loss, self.correct = work.loss[rows], work.correct[rows]
        self.W = [view[rows] for view in work.layout.views(params)]
        self.W_T = [W[:, :, :-1].transpose(1, 2) for W in self.W]
        self.grad_W = [g[rows] for g in work.weight_grads]
        self.x = _rows(inputs, rows)[:, :, cols].expand(m, -1, -1)
        y = _rows(targets, rows)[:, cols]
        self.y, self.weight = y.expand(m, -1), _rows(weights, rows)[:, :, cols]
        self.logits = _contiguous(work.logits, m, widths[-1], t)
        self.z0, self.z1, self.weight_row = self.logits[:, 0], self.logits[:, 1], self.weight[:, 0]
        # two classes: CE = softplus(sign * (z_1 - z_0)), sign 1 for class 0, -1 for class 1
        self.counted, self.is_one = (y != IGNORE).float(), (y == 1).float()
        self.sign = self.counted - 2 * self.is_one
        hidden = range(1, len(widths) - 1)
        self.a = [self.x] + [work.inputs[l - 1][:m, :, :t] for l in hidden]
        self.a_T = [a.transpose(1, 2) for a in self.a]
        self.h = [None] + [a[:, :-1] for a in self.a[1:]]  # the activations, without the ones
        self.z = [None] + [_contiguous(work.pre[l - 1 if work.rule.needs_input else 0],
                                       m, widths[l], t) for l in hidden]
        self.d = [None] + [_contiguous(work.products, m, widths[l], t) for l in hidden]
        # gradients and activations are written into views that are not contiguous across
        # members, so that an elementwise kernel runs member by member: run over a
        # contiguous (m, ...) tensor it rounds an element differently (vectorised or not)
        # depending on where it falls, that is on the members beside it
        self.g = [None] + [work.grads[l % 2][:m, :widths[l], :t] for l in hidden]
        # one member: its activations and gradients are contiguous, so the products write
        # them in place and the elementwise kernels work there (no scratch to go through)
        if not work.rule.needs_input:
            self.z = [z if h is None or not h.is_contiguous() else h for z, h in zip(self.z, self.h)]
        self.d = [d if g is None or not g.is_contiguous() else g for d, g in zip(self.d, self.g)]


def _contiguous(storage: torch.Tensor, *shape: int) -> torch.Tensor:
    return storage[:int(np.prod(shape))].view(shape)


def _rows(tensor: torch.Tensor, rows: slice) -> torch.Tensor:
    """A per-member tensor's rows, or a shared one (leading dimension 1) as it is."""
    return tensor if tensor.shape[0] == 1 else tensor[rows]


@lru_cache(maxsize=256)
def _tiles(n_points: int, tile: int) -> tuple[slice, ...]:
    return tuple(slice(start, min(start + tile, n_points)) for start in range(0, n_points, tile))


# ------------------------------------------------------------------------------ passes
def _forward(plan: _Plan, rule: ActivationRule) -> torch.Tensor:
    """Logits (members, widths[-1], columns) of one tile; every hidden layer's output stays
    in the workspace (``plan.a``) for the backward pass."""
    for l in range(1, len(plan.W)):
        rule.forward(torch.bmm(plan.W[l - 1], plan.a[l - 1], out=plan.z[l]), plan.h[l])
    return torch.bmm(plan.W[-1], plan.a[-1], out=plan.logits)


def _backward(plan: _Plan, rule: ActivationRule, g: torch.Tensor) -> None:
    """Add the tile's weight gradients to ``plan.grad_W``, from the logits' gradient ``g``."""
    for l in range(len(plan.W) - 1, -1, -1):
        if plan.first_tile:
            torch.bmm(g, plan.a_T[l], out=plan.grad_W[l])
        else:
            plan.grad_W[l].baddbmm_(g, plan.a_T[l])
        if l > 0:
            d = torch.bmm(plan.W_T[l], g, out=plan.d[l])
            g = rule.backward(d, plan.z[l], plan.h[l], plan.g[l])


def gradients(params: torch.Tensor, layout: ParameterLayout, rule: ActivationRule,
              inputs: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor,
              grad: torch.Tensor, work: Workspace, tile: int, group: int):
    """The gradient of each member's weighted cross-entropy, and its loss and correct count.

    Parameters
    ----------
    params : (E, P) parameters, one member per row (:class:`ParameterLayout`).
    inputs : (1 or E, in + 1, n) points as columns, their last row ones (1: shared).
    targets : (1 or E, n) int64 labels; :data:`IGNORE` marks a column that does not count.
    weights : (1 or E, 1, n) each column's weight in the member's loss (1 / its batch size;
        0 where the target is IGNORE).
    grad : (E, P), overwritten with the gradient of sum_j weights_j * CE_j.
    work : the step's :class:`Workspace`.
    tile, group : columns per tile (:func:`tile_size`), members per group (:func:`group_size`).

    Returns
    -------
    (loss, correct) : (E,) float tensors: sum_j CE_j over the counted columns, and how many
    of them the member classifies correctly (logits' argmax, first on ties, as ``fit``);
    buffers of ``work``, overwritten by its next step.
    """
    n_members, n_points = params.shape[0], inputs.shape[-1]
    work.ready(n_members, min(group, n_members), min(tile, n_points))
    work.loss.zero_()
    work.correct.zero_()
    for rows in _groups(n_members, group):
        for cols in _tiles(n_points, tile):
            plan = work.plan(params, inputs, targets, weights, rows, cols)
            _backward(plan, rule, _loss_gradient(_forward(plan, rule), plan))
    torch.cat([g.view(n_members, -1) for g in work.weight_grads], 1, out=grad)
    return work.loss, work.correct


def _loss_gradient(logits, plan: _Plan) -> torch.Tensor:
    """d(sum_j w_j CE_j)/d logits of one tile, in place of ``logits`` (m, C, t); adds the
    tile's CE sums and correct counts to the group's rows of the workspace's totals.

    Two classes (the book's networks) take a shorter path than log-softmax:
    p_1 = sigmoid(z_1 - z_0). Its kernels run on rows of (m, 2, t), so member by member.
    """
    if logits.shape[1] != 2:
        return _loss_gradient_any(logits, plan)
    margin = torch.sub(plan.z1, plan.z0, out=plan.z0)  # class 1 wins only when > 0, as argmax
    plan.correct += ((margin > 0) == plan.y).sum(1)  # an IGNORE target equals neither
    ce = torch.mul(margin, plan.sign, out=plan.z1)
    plan.loss += _row_sums(torch._C._nn.softplus(ce, 1, 20, out=ce).mul_(plan.counted))
    g1 = torch.sigmoid(margin, out=plan.z1).sub_(plan.is_one).mul_(plan.weight_row)
    torch.neg(g1, out=plan.z0)
    return logits


def _row_sums(values: torch.Tensor) -> torch.Tensor:
    """Each row's sum of an (m, t) tensor, added in the same order whatever m is: a running
    sum (in double precision on the CPU). ``.sum(1)`` adds in an order that depends on the
    shape, so a member's loss would depend on the members beside it."""
    return values.cumsum(1)[:, -1]


def _loss_gradient_any(logits, plan: _Plan) -> torch.Tensor:
    rowwise = logits.transpose(1, 2)  # (m, t, C): the class dimension last
    log_p = torch.log_softmax(rowwise, 2)
    ce = torch.nn.functional.nll_loss(log_p.reshape(-1, log_p.shape[2]), plan.y.reshape(-1),
                                      reduction="none", ignore_index=IGNORE)
    plan.loss += _row_sums(ce.view(plan.y.shape))
    plan.correct += (rowwise.argmax(2) == plan.y).sum(1)
    g = log_p.exp_()
    g.scatter_add_(2, plan.y.clamp(min=0)[..., None], torch.full_like(g[..., :1], -1.0))
    return g.mul_(plan.weight.transpose(1, 2)).transpose(1, 2)


@torch.no_grad()
def count_correct(params: torch.Tensor, layout: ParameterLayout, rule: ActivationRule,
                  inputs: torch.Tensor, targets: torch.Tensor, work: Workspace, tile: int,
                  group: int) -> torch.Tensor:
    """How many columns each member classifies correctly: (E,) from (E, P) parameters,
    (1 or E, in + 1, n) inputs and (1 or E, n) targets (IGNORE columns never count)."""
    n_members, n_points = params.shape[0], inputs.shape[-1]
    correct = torch.zeros(n_members, dtype=torch.long, device=params.device)
    work.ready(max(work.n_members, n_members), min(group, n_members), min(tile, n_points))
    weights = inputs.new_zeros(1, 1, n_points)
    for rows in _groups(n_members, group):
        for cols in _tiles(n_points, tile):
            plan = work.plan(params, inputs, targets, weights, rows, cols)
            logits = _forward(plan, rule)
            if logits.shape[1] == 2:
                hits = (logits[:, 1] > logits[:, 0]) == (plan.y == 1)
                correct[rows] += hits.logical_and_(plan.y != IGNORE).sum(1)
            else:
                correct[rows] += (logits.transpose(1, 2).argmax(2) == plan.y).sum(1)
    return correct


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
    Parameters, gradients and moments are lists of (E, ...) tensors (one flat (E, P) tensor
    each is fastest), updated in place.
    """
    beta1, beta2 = betas
    for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
        shape = (-1,) + (1,) * (p.ndim - 1)
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        denom = (v.sqrt() / bias_correction2_sqrt.view(shape)).add_(eps)
        p.sub_((m / denom).mul_(step_size.view(shape)))
