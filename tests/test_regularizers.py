import numpy as np
import pytest
import torch
from gph import ripser_parallel

from torch.nn import functional as F

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
    points = torch.tensor(rng.normal(size=(3 * 5, 3)))  # three groups of five
    grad = _finite_difference_check(reg.DensifiedLoss(beta=0.5, group_size=5), points)
    assert grad.abs().sum() > 0


def _hand_batch():
    # Two groups of three (Hofer's layout: group g in rows 3g .. 3g + 2).
    # Group 1: (0,0), (3,0), (3,4): distances 3, 4, 5, so the spanning tree has the edges 3 and 4.
    # Group 2: (0,0), (1,0), (1,1): distances 1, 1, sqrt 2: edges 1 and 1.
    return torch.tensor([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0],
                         [0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)


def test_densified_value_and_gradient_by_hand():
    points = _hand_batch()
    loss = reg.DensifiedLoss(beta=2.0, group_size=3)
    deaths = [sorted(d.tolist()) for d in loss.death_times(points)]
    assert deaths == [pytest.approx([3.0, 4.0]), pytest.approx([1.0, 1.0])]
    value = loss(points)
    # (|3 - 2| + |4 - 2| + |1 - 2| + |1 - 2|) / 2 groups = (3 + 2) / 2
    assert value.item() == pytest.approx(2.5)
    value.backward()
    # Group 1: both edges are longer than beta, so each pulls its ends together with slope 1,
    # divided by the 2 groups: the edge (0,0)-(3,0) moves along x, the edge (3,0)-(3,4) along y.
    expected = torch.tensor([[-0.5, 0.0], [0.5, -0.5], [0.0, 0.5]], dtype=torch.float64)
    torch.testing.assert_close(points.grad[:3], expected)
    # Group 2: both edges (length 1) are shorter than beta = 2: they push their ends apart.
    # (0,0)-(1,0) and (1,0)-(1,1), or (0,0)-(1,0) and (0,0)-(1,1)... the tie is broken by the
    # engine; either way the gradient sums to zero over the group (translation invariance).
    torch.testing.assert_close(points.grad[3:].sum(0), torch.zeros(2, dtype=torch.float64))


def test_densified_counts_duplicates_as_deaths_at_zero_as_hofer_does():
    # A sample drawn twice: Hofer's code gives it a death near 0 (1e-3), so it adds about beta.
    points = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]], requires_grad=True)
    value = reg.DensifiedLoss(beta=0.5, group_size=3)(points)
    assert value.item() == pytest.approx(0.5 + 0.5)
    value.backward()
    assert torch.isfinite(points.grad).all()


def test_densified_needs_whole_groups_and_sane_settings():
    with pytest.raises(ValueError, match="do not split into groups of 4"):
        reg.DensifiedLoss(0.7, group_size=4)(torch.zeros(6, 2))
    with pytest.raises(ValueError, match="group_size=1"):
        reg.DensifiedLoss(0.7, group_size=1)
    with pytest.raises(ValueError, match="beta=0"):
        reg.DensifiedLoss(beta=0)


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


def test_a_batch_of_one_point_has_no_bars():
    points = torch.randn(1, 4, requires_grad=True)
    assert reg.TotalPersistenceLoss()(points).item() == 0


def test_bad_input_is_refused_with_the_value():
    with pytest.raises(ValueError, match="NaN"):
        reg.diagrams(torch.tensor([[0.0, float("nan")], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="2-D"):
        reg.diagrams(torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="maxdim=3"):
        reg.TotalPersistenceLoss(maxdim=3)
    with pytest.raises(ValueError, match="'pixels'"):
        reg.Objective(reg.TotalPersistenceLoss(), 0.1, target="pixels")
    with pytest.raises(ValueError, match="weight=-1"):
        reg.Objective(reg.TotalPersistenceLoss(), -1)
    with pytest.raises(ValueError, match="label_smoothing=1"):
        reg.Objective(label_smoothing=1)


def test_hofer_batches_are_groups_of_one_class_with_every_sample_an_anchor_once():
    labels = np.repeat(np.arange(3), [10, 7, 3])  # 20 samples
    batches = reg.hofer_batches(labels, n_groups=4, group_size=5, generator=torch.Generator().manual_seed(0))
    assert len(batches) == 5 and all(len(b) == 20 for b in batches)  # 20 anchors / 4 groups
    groups = torch.cat(batches).reshape(-1, 5).numpy()
    assert (labels[groups] == labels[groups[:, :1]]).all()       # each group is one class
    assert sorted(groups[:, 0]) == list(range(20))                # every sample anchors one group
    # the other members are drawn with replacement: a class of 3 fills groups of 5
    assert (labels[groups[:, 0]] == 2).sum() == 3
    dropped = reg.hofer_batches(labels, n_groups=8, group_size=2)
    assert len(dropped) == 2                                      # 20 anchors: 2 full batches of 8
    with pytest.raises(ValueError, match="group_size=1"):
        reg.hofer_batches(labels, 4, 1)
    with pytest.raises(ValueError, match="cannot fill one batch"):
        reg.hofer_batches(labels[:3], 4, 2)


def test_logit_norm_and_scale_pulls_are_derivatives_along_the_scaling():
    rng = np.random.default_rng(7)
    logits = torch.tensor(rng.normal(size=(24, 5)) * 3)
    labels = torch.tensor(rng.integers(0, 5, 24))
    pull = reg.scale_pull(logits, labels, maxdim=1)
    eps, h = 0.1, 1e-5

    def along(f):  # d/dt f(t * logits) at t = 1
        return (f(logits * (1 + h)) - f(logits * (1 - h))) / (2 * h)

    def total(z):
        return float(sum((d[:, 1] - d[:, 0]).sum() for d in reg.diagrams(z, 1)))

    def smoothing_term(z):
        return float(F.cross_entropy(z, labels, label_smoothing=eps) - F.cross_entropy(z, labels))

    assert along(total) == pytest.approx(pull["total_persistence"], rel=1e-4)
    assert along(lambda z: float(reg.LogitNormLoss()(z))) == pytest.approx(pull["logit_norm"], rel=1e-4)
    assert along(smoothing_term) == pytest.approx(eps * pull["label_smoothing"], rel=1e-3)
    assert pull["logit_norm"] == pytest.approx(float(logits.norm(dim=1).mean()))
    zero = torch.zeros(3, 2, requires_grad=True)
    reg.LogitNormLoss()(zero).backward()
    assert torch.equal(zero.grad, torch.zeros(3, 2))


def test_objective_adds_label_smoothing_and_keeps_the_plain_cross_entropy():
    torch.manual_seed(0)
    model = cnn.build("resnet", "tiny", num_classes=3, in_channels=1)
    X, y = torch.randn(8, 1, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    model.eval()
    smoothed = reg.Objective(label_smoothing=0.2)
    loss, logits = smoothed(model, X, y)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, y, label_smoothing=0.2).item())
    assert smoothed.cross_entropy == pytest.approx(F.cross_entropy(logits, y).item())
    assert smoothed.regularizer == 0 and smoothed.steps == 1


def test_torch_topological_missing_is_reported_not_crashed(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch_topological(name, *args, **kwargs):
        if name.startswith("torch_topological"):
            raise ImportError(f"No module named {name!r} (test)")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch_topological)
    assert reg.torch_topological_available() is False
    with pytest.raises(ImportError, match="needs torch-topological"):
        reg.TorchTopologicalLoss()


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
