"""The hand-written training step: autograd's gradients, losses and counts, member by member."""

import numpy as np
import pytest
import torch

from tdnn_utils import fastmlp
from tdnn_utils.fastmlp import IGNORE, ParameterLayout, Workspace, activation_rule
from tdnn_utils.models import ACTIVATIONS, FFNet


pytestmark = pytest.mark.usefixtures("one_thread")


def columns(X):
    """(n, d) points -> (1, d + 1, n) columns with a row of ones."""
    X = torch.as_tensor(X, dtype=torch.float32)
    return torch.cat([X.T, torch.ones(1, len(X))])[None]


def autograd_gradient(net, X, y):
    """The flat gradient [W | b] per layer, the mean cross-entropy and the correct count."""
    net.zero_grad()
    logits = net(X)
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    flat = torch.cat([torch.cat([layer.weight.grad, layer.bias.grad[:, None]], 1).reshape(-1)
                      for layer in net.layers])
    return flat, loss.item(), int((logits.argmax(1) == y).sum())


def run(nets, X, y, tile, group, activation="relu"):
    layout = ParameterLayout(tuple(nets[0].widths))
    rule = activation_rule(activation, 0.2)
    params = layout.pack(nets)
    grad = torch.empty_like(params)
    weights = torch.full((1, 1, len(X)), 1.0 / len(X))
    loss, correct = fastmlp.gradients(params, layout, rule, columns(X), y[None], weights, grad,
                                      Workspace(layout, rule, "cpu"), tile, group)
    return grad, loss, correct


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("tile, group", [(100, 3), (32, 2), (16, 1)], ids=["one-tile", "tiles", "singles"])
def test_gradients_equal_autograds_for_every_activation(activation, tile, group):
    torch.manual_seed(0)
    X, y = torch.randn(100, 3), torch.randint(0, 2, (100,))
    nets = [FFNet([3, 7, 5, 4, 2], activation, negative_slope=0.2) for _ in range(3)]
    grad, loss, correct = run(nets, X, y, tile, group, activation)
    for e, net in enumerate(nets):
        expected, expected_loss, expected_correct = autograd_gradient(net, X, y)
        torch.testing.assert_close(grad[e], expected, rtol=1e-5, atol=1e-6)
        assert loss[e].item() / len(X) == pytest.approx(expected_loss, rel=1e-5)
        assert correct[e].item() == expected_correct


def test_three_classes_and_per_member_batches_with_ignored_columns():
    torch.manual_seed(1)
    X, y = torch.randn(2, 50, 3), torch.randint(0, 3, (2, 50))
    y[:, 40:] = IGNORE  # outside each member's batch
    nets = [FFNet([3, 6, 3], "tanh") for _ in range(2)]
    layout, rule = ParameterLayout((3, 6, 3)), activation_rule("tanh")
    params = layout.pack(nets)
    grad = torch.empty_like(params)
    inputs = torch.cat([X.transpose(1, 2), torch.ones(2, 1, 50)], 1)
    weights = (y != IGNORE).float()[:, None] / 40
    loss, correct = fastmlp.gradients(params, layout, rule, inputs, y, weights, grad,
                                      Workspace(layout, rule, "cpu"), 16, 1)
    for e, net in enumerate(nets):
        expected, expected_loss, expected_correct = autograd_gradient(net, X[e, :40], y[e, :40])
        torch.testing.assert_close(grad[e], expected, rtol=1e-5, atol=1e-6)
        assert loss[e].item() / 40 == pytest.approx(expected_loss, rel=1e-5)
        assert correct[e].item() == expected_correct


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("tile", [208, 80])
def test_a_members_arithmetic_does_not_depend_on_its_group(activation, tile):
    # tiles of 208 or 80 points: not multiples of the 32 floats a vector kernel takes at a
    # time, so a kernel run across members would round some of a member's values otherwise
    torch.manual_seed(2)
    X, y = torch.randn(208, 3), torch.randint(0, 2, (208,))
    nets = [FFNet([3, 12, 12, 2], activation) for _ in range(5)]
    with torch.no_grad():  # margins of a few units, as in a trained network
        for net in nets:
            net.layers[-1].weight.mul_(20)
    together = run(nets, X, y, tile, 5, activation)
    for group in (1, 2, 3):
        apart = run(nets, X, y, tile, group, activation)
        assert all(torch.equal(a, b) for a, b in zip(together, apart))
    alone = run(nets[3:4], X, y, tile, 1, activation)
    assert all(torch.equal(a[3:4], b) for a, b in zip(together, alone))


def test_count_correct_counts_as_argmax_does():
    torch.manual_seed(3)
    X, y = torch.randn(90, 3), torch.randint(0, 2, (90,))
    nets = [FFNet([3, 8, 2], "relu") for _ in range(4)]
    layout, rule = ParameterLayout((3, 8, 2)), activation_rule("relu")
    targets = torch.cat([y, torch.full((6,), IGNORE)])[None]  # padding never counts
    inputs = columns(torch.cat([X, torch.zeros(6, 3)]))
    counts = fastmlp.count_correct(layout.pack(nets), layout, rule, inputs, targets,
                                   Workspace(layout, rule, "cpu"), 32, 3)
    with torch.no_grad():
        assert counts.tolist() == [int((net(X).argmax(1) == y).sum()) for net in nets]


def test_layout_packs_and_writes_back_plain_networks():
    nets = [FFNet([2, 4, 3, 2], "tanh") for _ in range(2)]
    layout = ParameterLayout((2, 4, 3, 2))
    params = layout.pack(nets)
    assert params.shape == (2, layout.size) and layout.size == 4 * 3 + 3 * 5 + 2 * 4
    assert [tuple(v.shape) for v in layout.views(params)] == [(2, 4, 3), (2, 3, 5), (2, 2, 4)]
    copy = layout.write(params[1], FFNet([2, 4, 3, 2], "tanh"))
    assert all(torch.equal(p, q) for p, q in zip(copy.parameters(), nets[1].parameters()))
    with pytest.raises(ValueError, match=r"net has widths \[2, 5, 2\]"):
        layout.pack([FFNet([2, 5, 2])])


def test_tiles_depend_on_points_and_widths_only_and_fit_the_cache():
    widths = [3] + [15] * 9 + [2]
    tile = fastmlp.tile_size(11_264, widths)
    assert tile % 16 == 0 and tile < 11_264
    per_point = 4 * sum(w + 1 for w in widths[:-1]) + 4 * 3 * max(widths)
    assert tile * per_point <= fastmlp.TILE_BYTES + 16 * per_point
    assert fastmlp.tile_size(208, widths) == 208  # small data: one tile
    assert fastmlp.tile_size(11_264, widths, "cuda") == 11_264  # a GPU takes every point
    assert 1 <= fastmlp.group_size(32, tile, widths) <= 32
    assert fastmlp.group_size(32, tile, widths, "cuda") == 32


def test_step_flops_count_the_products():
    # 3 -> 4 -> 2 on 10 points: forward 2*10*(12 + 8), weight gradients the same, and the
    # gradient of the hidden layer's input 2*10*8
    assert fastmlp.step_flops([3, 4, 2], 10) == 2 * 10 * (20 + 20 + 8)


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="activation 'swish' is unknown"):
        activation_rule("swish")
