import numpy as np
import pytest
import torch
from gph import ripser_parallel

from tdnn_utils import cnn, regularizers as reg
from tdnn_utils.training import fit


def _finite(diagram):
    diagram = np.asarray(diagram)
    return diagram[np.isfinite(diagram[:, 1])]


def _sorted(diagram):
    diagram = np.asarray(diagram, dtype=np.float64).reshape(-1, 2)
    return diagram[np.lexsort((diagram[:, 1], diagram[:, 0]))]


def circle(n=24, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    angle = np.sort(rng.uniform(0, 2 * np.pi, n))
    points = np.c_[np.cos(angle), np.sin(angle)] + noise * rng.normal(size=(n, 2))
    return torch.tensor(points, dtype=torch.float64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_values_equal_the_non_differentiable_diagrams(seed):
    rng = np.random.default_rng(seed)
    points = torch.tensor(rng.normal(size=(40, 4)))
    ours = reg.diagrams(points, maxdim=2)
    reference = ripser_parallel(points.numpy(), maxdim=2)["dgms"]
    for dim in range(3):
        np.testing.assert_allclose(_sorted(ours[dim].detach()), _sorted(_finite(reference[dim])), atol=1e-5)


def test_a_circle_has_one_long_loop():
    bars = reg.diagrams(circle(), maxdim=1)[1].detach()
    lengths = bars[:, 1] - bars[:, 0]
    assert lengths.max() > 1.0 and (lengths > 0.3).sum() == 1


def test_values_match_torch_topological():
    tt = pytest.importorskip("torch_topological.nn")
    points = torch.tensor(np.random.default_rng(3).normal(size=(30, 3)))
    theirs = tt.VietorisRipsComplex(dim=1)(points)
    ours = reg.diagrams(points, maxdim=1)
    for dim in range(2):
        np.testing.assert_allclose(_sorted(ours[dim].detach()),
                                   _sorted(_finite(theirs[dim].diagram.detach().numpy())), atol=1e-5)


def _finite_difference_check(loss, points, labels=None, eps=1e-6):
    points = points.clone().requires_grad_(True)
    value = loss(points, labels)
    value.backward()
    numeric = torch.zeros_like(points)
    with torch.no_grad():
        for index in np.ndindex(*points.shape):
            shifted = points.detach().clone()
            shifted[index] += eps
            up = loss(shifted, labels)
            shifted[index] -= 2 * eps
            down = loss(shifted, labels)
            numeric[index] = (up - down) / (2 * eps)
    torch.testing.assert_close(points.grad, numeric, atol=1e-5, rtol=1e-4)
    return points.grad


@pytest.mark.parametrize("maxdim", [0, 1])
def test_total_persistence_gradient_matches_finite_differences(maxdim):
    points = circle(n=12, noise=0.1, seed=4)
    grad = _finite_difference_check(reg.TotalPersistenceLoss(maxdim=maxdim), points)
    assert grad.abs().sum() > 0


def test_densified_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    points = torch.tensor(rng.normal(size=(14, 3)))
    labels = torch.tensor([0] * 7 + [1] * 5 + [2] * 2)
    grad = _finite_difference_check(reg.DensifiedLoss(beta=0.5), points, labels)
    assert grad.abs().sum() > 0


def test_densified_value_is_the_mst_edges_distance_to_beta():
    points = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [10.0, 0.0], [10.0, 2.0]])
    labels = torch.tensor([0, 0, 0, 1, 1])
    # class 0: MST edges 1 and 2; class 1: one edge of 2.
    value = reg.DensifiedLoss(beta=1.5)(points, labels)
    assert value.item() == pytest.approx(0.5 + 0.5 + 0.5)


def test_total_persistence_value_by_hand():
    # Three points on a line: dimension-0 bars die at 1 and 2, no loops. Omega = 3 / 2.
    points = torch.tensor([[0.0], [1.0], [3.0]])
    assert reg.TotalPersistenceLoss(maxdim=1)(points).item() == pytest.approx(1.5)


def test_duplicate_points_give_zero_bars_and_finite_gradients():
    points = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 2.0]], requires_grad=True)
    bars = reg.diagrams(points, maxdim=1)
    # giotto-ph leaves out bars of length 0, so the duplicates add no bar
    np.testing.assert_allclose(sorted(bars[0][:, 1].tolist()), [1.0, 2.0])
    torch.testing.assert_close(reg.edge_lengths(points, [[0, 1], [0, 2]]), torch.tensor([0.0, 1.0]))
    loss = reg.TotalPersistenceLoss()(points)
    loss.backward()
    assert torch.isfinite(points.grad).all()


def test_all_points_identical_gives_zero_loss_and_zero_gradient():
    points = torch.ones(6, 3, requires_grad=True)
    loss = reg.TotalPersistenceLoss()(points)
    loss.backward()
    assert loss.item() == 0 and torch.equal(points.grad, torch.zeros_like(points))


def test_ties_give_the_same_values_as_giotto_ph():
    # A square grid: many equal distances, so the pairing is one of several; values must agree.
    grid = torch.tensor([[i, j] for i in range(4) for j in range(4)], dtype=torch.float64)
    ours = reg.diagrams(grid, maxdim=1)
    reference = ripser_parallel(grid.numpy(), maxdim=1)["dgms"]
    for dim in range(2):
        np.testing.assert_allclose(_sorted(ours[dim]), _sorted(_finite(reference[dim])), atol=1e-6)


def test_batch_of_one_class_and_singletons():
    points = torch.randn(8, 4, requires_grad=True)
    one_class = reg.DensifiedLoss()(points, torch.zeros(8, dtype=torch.long))
    assert one_class.item() > 0
    singletons = reg.DensifiedLoss()(points, torch.arange(8))
    singletons.backward()
    assert singletons.item() == 0 and torch.equal(points.grad, torch.zeros_like(points))
    assert reg.TotalPersistenceLoss()(points[:1]).item() == 0


def test_bad_input_is_refused_with_the_value():
    with pytest.raises(ValueError, match="NaN"):
        reg.diagrams(torch.tensor([[0.0, float("nan")], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="2-D"):
        reg.diagrams(torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="maxdim=3"):
        reg.TotalPersistenceLoss(maxdim=3)
    with pytest.raises(ValueError, match="beta=0"):
        reg.DensifiedLoss(beta=0)
    with pytest.raises(ValueError, match="'pixels'"):
        reg.Objective(reg.TotalPersistenceLoss(), 0.1, target="pixels")
    with pytest.raises(ValueError, match="weight=-1"):
        reg.Objective(reg.TotalPersistenceLoss(), -1)
    with pytest.raises(ValueError, match="labels has 3"):
        reg.DensifiedLoss()(torch.zeros(4, 2), torch.zeros(3))


def test_grouped_order_is_a_permutation_of_same_class_runs():
    labels = np.repeat(np.arange(3), [8, 12, 4])
    order = reg.grouped_order(labels, 4, torch.Generator().manual_seed(0)).numpy()
    assert sorted(order) == list(range(24))
    groups = labels[order].reshape(-1, 4)
    assert (groups == groups[:, :1]).all()          # every aligned run of 4 is one class
    assert not (groups[:, 0] == np.repeat(np.arange(3), [2, 3, 1])).all()  # and the groups are shuffled
    uneven = reg.grouped_order(np.repeat([0, 1], [5, 3]), 4, torch.Generator().manual_seed(0)).numpy()
    assert sorted(uneven) == list(range(8))
    with pytest.raises(ValueError, match="group_size=0"):
        reg.grouped_order(labels, 0)


def test_objective_trains_a_cnn_and_the_regulariser_acts():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 64)

    def omega_after(weight):
        torch.manual_seed(0)
        model = cnn.build("resnet", "tiny", num_classes=3, in_channels=1)
        objective = reg.Objective(reg.TotalPersistenceLoss(), weight)
        fit(model, X, y, epochs=6, batch_size=32, lr=1e-2, progress=False, objective=objective)
        with torch.no_grad():
            model.eval()
            return reg.TotalPersistenceLoss()(model(torch.tensor(X))).item(), objective

    plain, baseline = omega_after(0.0)
    regularised, objective = omega_after(1.0)
    assert objective.steps == 12 and objective.regularizer > 0 and objective.persistence_seconds > 0
    assert baseline.regularizer == 0
    assert regularised < plain


def test_torch_topological_loss_is_the_unnormalised_sum():
    pytest.importorskip("torch_topological")
    points = circle(n=16, seed=6)
    bars = reg.diagrams(points, maxdim=1)
    total = sum((d[:, 1] - d[:, 0]).sum() for d in bars)
    assert reg.TorchTopologicalLoss(maxdim=1)(points).item() == pytest.approx(total.item(), rel=1e-5)
