"""Batched training of many networks of one architecture: each member trains as fit would train it."""

import numpy as np
import pytest
import torch

from tdnn_utils.ensemble import (ENDINGS, AbandonRule, FFEnsemble, MemberResult, adam_step, build_member,
                                 fit_ensemble)
from tdnn_utils.models import ACTIVATIONS, FFNet, layer_activations
from tdnn_utils.training import fit, fit_until_perfect, seed_everything

WIDTHS = [2, 12, 12, 2]


def ring(n=240, seed=0):
    """206 points in 2-D: inside a circle of radius 1.2 (class 1) or outside, with a margin."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 2)).astype(np.float32)
    r = np.hypot(X[:, 0], X[:, 1])
    keep = np.abs(r - 1.2) > 0.15
    return X[keep], (r[keep] < 1.2).astype(np.int64)


@pytest.fixture(scope="module")
def data():
    return ring()


pytestmark = pytest.mark.usefixtures("one_thread")


def weights_of(model):
    return [p.detach().clone() for p in model.parameters()]


def assert_close_weights(a, b, atol=2e-5):
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=atol)


def assert_same_weights(a, b):
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


# ---------------------------------------------------------------------------- the model
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh"])
def test_member_initialisation_equals_ffnet_after_seed_everything(activation):
    seeds = [0, 7, 1234]
    ensemble = FFEnsemble([3, 5, 4, 2], activation, seeds, negative_slope=0.2)
    assert ensemble.n_members == 3
    assert [tuple(W.shape) for W in ensemble.weights] == [(3, 3, 5), (3, 5, 4), (3, 4, 2)]
    assert [tuple(b.shape) for b in ensemble.biases] == [(3, 1, 5), (3, 1, 4), (3, 1, 2)]
    X = torch.randn(50, 3)
    logits = ensemble(X)
    assert logits.shape == (3, 50, 2)
    for e, seed in enumerate(seeds):
        seed_everything(seed)
        reference = FFNet([3, 5, 4, 2], activation, negative_slope=0.2)
        assert_same_weights(ensemble.member(e), reference)
        torch.testing.assert_close(logits[e], reference(X), rtol=1e-6, atol=1e-6)
    # one batch per member, (E, n, in), gives the same
    torch.testing.assert_close(ensemble(X.expand(3, 50, 3)), logits)


def test_leaky_relu_slope_is_the_given_one():
    ensemble = FFEnsemble([1, 1, 1], "leaky_relu", [0], negative_slope=0.2)
    assert ensemble.activation(torch.tensor([-1.0])).item() == pytest.approx(-0.2)
    assert ensemble.member(0).activation.negative_slope == 0.2


def test_building_members_leaves_the_global_generator_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    build_member(WIDTHS, "relu", seed=99)
    FFEnsemble(WIDTHS, "relu", [1, 2])
    torch.testing.assert_close(torch.rand(3), expected)


def test_a_member_is_a_plain_ffnet_that_layer_activations_reads(data):
    X, y = data
    [result] = fit_ensemble(WIDTHS, "relu", X, y, [3], steps=5, progress=False, device="cpu")
    assert isinstance(result, MemberResult) and isinstance(result.model, FFNet)
    assert next(result.model.parameters()).device.type == "cpu"
    layers = layer_activations(result.model, X)
    assert list(layers) == ["input", "hidden_1", "hidden_2", "logits"]


def test_adam_step_matches_torch_adam_with_a_step_count_per_member():
    torch.manual_seed(0)
    starts, lrs = [0, 3, 10], [0.01, 0.02, 0.005]
    stacked = torch.randn(3, 4, 5)
    m, v = torch.zeros_like(stacked), torch.zeros_like(stacked)
    singles, optimisers = [], []
    for e in range(3):
        p = torch.nn.Parameter(stacked[e].clone())
        singles.append(p)
        optimisers.append(torch.optim.Adam([p], lr=lrs[e]))
    # bring the members to different step counts first
    for e in range(3):
        for _ in range(starts[e]):
            singles[e].grad = torch.randn(4, 5)
            optimisers[e].step()
        state = optimisers[e].state[singles[e]] if starts[e] else None
        stacked[e] = singles[e].detach()
        if state:
            m[e], v[e] = state["exp_avg"], state["exp_avg_sq"]
    for k in range(1, 6):
        grads = torch.randn(3, 4, 5)
        for e in range(3):
            singles[e].grad = grads[e].clone()
            optimisers[e].step()
        t = np.array(starts, dtype=np.float64) + k
        step_size = torch.tensor(np.array(lrs) / (1 - 0.9 ** t), dtype=torch.float32)
        correction = torch.tensor(np.sqrt(1 - 0.999 ** t), dtype=torch.float32)
        adam_step([stacked], [grads], [m], [v], step_size, correction)
        for e in range(3):
            torch.testing.assert_close(stacked[e], singles[e].detach(), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------- against fit
@pytest.mark.parametrize("batch_size", [None, 64], ids=["full-batch", "batch-64"])
@pytest.mark.parametrize("halving", [None, 40], ids=["constant-lr", "halving-40"])
def test_one_member_follows_fit_step_by_step(data, batch_size, halving):
    X, y = data  # 206 points: batches of 64 leave a short last batch of 14 every epoch
    kwargs = dict(steps=120, lr=0.02, lr_halving_every=halving, batch_size=batch_size,
                  stop_at_perfect=False, device="cpu", progress=False)
    seed_everything(11)
    model = FFNet(WIDTHS, "tanh")
    history = fit(model, X, y, seed=11, **kwargs)
    [member] = fit_ensemble(WIDTHS, "tanh", X, y, [11], max_attempts=1, **kwargs)
    assert member.history.step == history.step == list(range(1, 121))  # every step logged
    np.testing.assert_allclose(member.history.loss, history.loss, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(member.history.accuracy, history.accuracy, atol=1e-6)
    assert_close_weights(member.model, model)
    assert member.steps == history.steps_taken == 120
    assert member.reached_perfect == history.reached_perfect
    assert member.final_accuracy == pytest.approx(history.final_accuracy)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("batch_size", [None, 64], ids=["full-batch", "batch-64"])
def test_one_member_follows_fit_for_every_activation(data, activation, batch_size):
    # the same losses, accuracies and weights over 80 steps (rounding aside): the step written
    # by hand computes what autograd and torch.optim.Adam compute
    X, y = data
    kwargs = dict(steps=80, lr=0.02, lr_halving_every=30, batch_size=batch_size,
                  stop_at_perfect=False, device="cpu", progress=False)
    seed_everything(4)
    model = FFNet(WIDTHS, activation, negative_slope=0.2)
    history = fit(model, X, y, seed=4, **kwargs)
    [member] = fit_ensemble(WIDTHS, activation, X, y, [4], max_attempts=1, **kwargs)
    assert member.history.step == history.step
    np.testing.assert_allclose(member.history.loss, history.loss, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(member.history.accuracy, history.accuracy, atol=1e-6)
    assert_close_weights(member.model, model)


@pytest.mark.parametrize("batch_size", [None, 64], ids=["full-batch", "batch-64"])
def test_stopping_at_perfect_matches_fit(data, batch_size):
    X, y = data
    kwargs = dict(steps=300, lr=0.03, lr_halving_every=100, batch_size=batch_size,
                  device="cpu", progress=False)
    members = fit_ensemble(WIDTHS, "relu", X, y, [0, 1, 2], max_attempts=1, **kwargs)
    for seed, member in zip([0, 1, 2], members):
        seed_everything(seed)
        model = FFNet(WIDTHS, "relu")
        history = fit(model, X, y, seed=seed, stop_at_perfect=True, **kwargs)
        assert history.reached_perfect and member.reached_perfect
        assert member.steps == history.steps_taken < 300
        assert member.history.step == history.step
        assert member.history.accuracy[-1] == history.accuracy[-1] == 1.0
        assert member.final_accuracy == 1.0
        np.testing.assert_allclose(member.history.loss, history.loss, rtol=1e-5, atol=1e-6)
        assert_close_weights(member.model, model)


def test_fresh_starts_happen_are_counted_and_match_fit_until_perfect(data):
    # with 30 steps: seed 0 fails all 3 attempts, seed 3 succeeds at once, seed 4 on its 3rd
    X, y = data
    kwargs = dict(steps=30, lr=0.03, device="cpu", progress=False)
    members = fit_ensemble(WIDTHS, "relu", X, y, [0, 3, 4], max_attempts=3, **kwargs)
    expected = {0: (3, False), 3: (1, True), 4: (3, True)}
    for seed, member in zip([0, 3, 4], members):
        model, history, attempts = fit_until_perfect(lambda: FFNet(WIDTHS, "relu"), X, y,
                                                     seed=seed, max_attempts=3, **kwargs)
        assert (attempts, history.reached_perfect) == expected[seed], "fixture changed"
        assert (member.attempts, member.reached_perfect) == expected[seed]
        assert member.seed == seed and member.attempt_seed == seed + 1000 * (attempts - 1)
        assert member.steps == history.steps_taken
        assert member.history.step == history.step  # the returned attempt's own log
        np.testing.assert_allclose(member.history.loss, history.loss, rtol=1e-5, atol=1e-6)
        assert member.final_accuracy == pytest.approx(history.final_accuracy)
        assert_close_weights(member.model, model)


def test_without_stop_at_perfect_every_attempt_uses_its_whole_budget(data):
    X, y = data
    [member] = fit_ensemble(WIDTHS, "relu", X, y, [3], steps=60, lr=0.03, stop_at_perfect=False,
                            max_attempts=2, device="cpu", progress=False)
    assert member.steps == 60 and member.attempts == 1 and member.reached_perfect


def test_epochs_budget_counts_batches_as_fit_does(data):
    X, y = data
    kwargs = dict(epochs=3, batch_size=50, lr=0.02, stop_at_perfect=False, device="cpu",
                  progress=False)
    seed_everything(2)
    model = FFNet(WIDTHS, "relu")
    history = fit(model, X, y, seed=2, **kwargs)
    [member] = fit_ensemble(WIDTHS, "relu", X, y, [2], max_attempts=1, **kwargs)
    assert member.steps == history.steps_taken == 3 * 5
    assert_close_weights(member.model, model)


# ---------------------------------------------------------------------------- independence
@pytest.mark.parametrize("batch_size", [None, 64], ids=["full-batch", "batch-64"])
def test_members_are_independent_of_the_ensemble_they_train_in(data, batch_size):
    X, y = data
    kwargs = dict(steps=80, lr=0.03, lr_halving_every=30, batch_size=batch_size,
                  max_attempts=2, device="cpu", progress=False)
    three = fit_ensemble(WIDTHS, "leaky_relu", X, y, [5, 6, 7], **kwargs)
    [alone] = fit_ensemble(WIDTHS, "leaky_relu", X, y, [6], **kwargs)
    # on the CPU, bit for bit: same losses, same stopping step, same weights
    assert three[1].history.loss == alone.history.loss
    assert (three[1].steps, three[1].attempts) == (alone.steps, alone.attempts)
    assert_same_weights(three[1].model, alone.model)
    # rows handed on to waiting members (max_active) give the same members too
    streamed = fit_ensemble(WIDTHS, "leaky_relu", X, y, [5, 6, 7], max_active=2, **kwargs)
    for a, b in zip(three, streamed):
        assert (a.steps, a.attempts, a.history.loss) == (b.steps, b.attempts, b.history.loss)
        assert_same_weights(a.model, b.model)


@pytest.mark.parametrize("batch_size", [None, 64], ids=["full-batch", "batch-64"])
def test_members_trained_in_groups_equal_members_trained_at_once(data, batch_size, monkeypatch):
    from tdnn_utils import fastmlp

    X, y = data
    kwargs = dict(steps=60, lr=0.03, batch_size=batch_size, max_attempts=2, device="cpu",
                  progress=False)
    # tiles of 64 points, 4 per full-batch step (208 padded points), as on large data
    per_point = 4 * (3 + 13 + 13) + 4 * 3 * 12
    monkeypatch.setattr(fastmlp, "TILE_BYTES", 64 * per_point)
    assert fastmlp.tile_size(208, WIDTHS) == 64
    at_once = fit_ensemble(WIDTHS, "tanh", X, y, [1, 2, 3, 4, 5], **kwargs)
    # now groups of 2 members: the CPU path for large data (see fastmlp.GROUP_BYTES)
    monkeypatch.setattr(fastmlp, "GROUP_BYTES", 2 * 64 * per_point)
    assert fastmlp.group_size(5, 64, WIDTHS) == 2
    in_groups = fit_ensemble(WIDTHS, "tanh", X, y, [1, 2, 3, 4, 5], **kwargs)
    for a, b in zip(at_once, in_groups):
        assert (a.steps, a.attempts, a.history.loss) == (b.steps, b.attempts, b.history.loss)
        assert_same_weights(a.model, b.model)


def test_a_member_stopped_at_perfect_does_not_change_afterwards(data):
    X, y = data
    kwargs = dict(steps=200, lr=0.03, device="cpu", progress=False)
    # seed 5 stops after 21 steps, seed 0 after 59: seed 5 leaves while seed 0 trains on
    early, late = fit_ensemble(WIDTHS, "relu", X, y, [5, 0], max_attempts=1, **kwargs)
    assert early.steps < late.steps
    seed_everything(5)
    model = FFNet(WIDTHS, "relu")
    history = fit(model, X, y, seed=5, stop_at_perfect=True, **kwargs)
    assert early.steps == history.steps_taken
    assert_close_weights(early.model, model)
    [alone] = fit_ensemble(WIDTHS, "relu", X, y, [5], max_attempts=1, **kwargs)
    assert_same_weights(early.model, alone.model)
    with torch.no_grad():
        assert (early.model(torch.as_tensor(X)).argmax(1).numpy() == y).all()


def test_check_every_stops_at_the_first_checked_step_at_perfect(data):
    # Mini-batches of 64 (4 steps an epoch): checking the whole set every 4th step stops each
    # member at the first multiple of 4 at which it is at 100%, never before fit would stop,
    # and its weights are those of fit trained for exactly that many steps.
    X, y = data
    kwargs = dict(steps=400, lr=0.03, lr_halving_every=100, batch_size=64, device="cpu",
                  progress=False)
    every = fit_ensemble(WIDTHS, "relu", X, y, [0, 1, 2], max_attempts=1, **kwargs)
    sparse = fit_ensemble(WIDTHS, "relu", X, y, [0, 1, 2], max_attempts=1, check_every=4, **kwargs)
    for seed, first, checked in zip([0, 1, 2], every, sparse):
        assert first.reached_perfect and checked.reached_perfect
        assert checked.steps % 4 == 0 and first.steps <= checked.steps < 400
        assert checked.final_accuracy == 1.0 and checked.history.accuracy[-1] == 1.0
        seed_everything(seed)
        model = FFNet(WIDTHS, "relu")
        fit(model, X, y, seed=seed, steps=checked.steps, stop_at_perfect=False,
            **{k: v for k, v in kwargs.items() if k != "steps"})
        assert_close_weights(checked.model, model)
        with torch.no_grad():
            assert (checked.model(torch.as_tensor(X)).argmax(1).numpy() == y).all()
    assert any(c.steps > f.steps for f, c in zip(every, sparse)), "fixture changed"
    with pytest.raises(ValueError, match="check_every=0 is not allowed"):
        fit_ensemble(WIDTHS, "relu", X, y, [0], steps=4, check_every=0, progress=False)


def test_train_seconds_split_the_wall_time(data):
    X, y = data
    import time

    start = time.perf_counter()
    members = fit_ensemble(WIDTHS, "relu", X, y, [5, 0, 1], steps=200, lr=0.03,
                           max_attempts=1, device="cpu", progress=False)
    wall = time.perf_counter() - start
    shares = [m.train_seconds for m in members]
    assert all(s > 0 for s in shares)
    assert sum(shares) == pytest.approx(wall, rel=0.1)
    assert shares[0] < shares[1]  # seed 5 leaves first, so it shares fewer steps


def test_progress_bar_shows_members_done_and_perfect(data, capsys):
    X, y = data
    fit_ensemble(WIDTHS, "relu", X, y, [5, 0], steps=100, lr=0.03, device="cpu",
                 progress=True, description="nets")
    err = capsys.readouterr().err
    assert "nets" in err and "perfect=" in err


# ---------------------------------------------------------------------------- devices
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_members_match_the_cpu_ones(data):
    X, y = data
    kwargs = dict(steps=60, lr=0.03, max_attempts=1, stop_at_perfect=False, progress=False)
    on_cpu = fit_ensemble(WIDTHS, "tanh", X, y, [1, 2], device="cpu", **kwargs)
    on_gpu = fit_ensemble(WIDTHS, "tanh", X, y, [1, 2], device="cuda", **kwargs)
    for a, b in zip(on_cpu, on_gpu):
        assert b.history.device.startswith("cuda")
        assert next(b.model.parameters()).device.type == "cpu"
        np.testing.assert_allclose(a.history.loss, b.history.loss, rtol=1e-4, atol=1e-5)
        assert_close_weights(a.model, b.model, atol=1e-4)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("change, message", [
    ({"widths": [2]}, r"widths=\[2\] must list at least"),
    ({"widths": [2, 0, 2]}, "integers >= 1"),
    ({"activation": "swish"}, "activation 'swish' is unknown; use one of"),
    ({"seeds": []}, "seeds is empty"),
    ({"seeds": [1, -2]}, r"seeds \[-2\] are not allowed; every seed must be an integer >= 0"),
    ({"seeds": [1.5]}, r"seeds \[1.5\] are not allowed"),
    ({"steps": None}, "give exactly one of steps=None and epochs=None"),
    ({"epochs": 2}, "give exactly one of steps=10 and epochs=2"),
    ({"steps": 0}, r"steps=0 is not allowed; use an integer >= 1"),
    ({"batch_size": 0}, r"batch_size=0 is not allowed; use an integer >= 1 or None"),
    ({"lr_halving_every": 0}, "lr_halving_every=0 is not allowed"),
    ({"max_attempts": 0}, "max_attempts=0 is not allowed"),
    ({"max_active": 0}, "max_active=0 is not allowed"),
    ({"lr": -1.0}, r"lr=-1.0 is not allowed; use a finite number > 0"),
    ({"lr": float("nan")}, "lr=nan is not allowed"),
    ({"device": "tpu"}, "device 'tpu' is unknown"),
    ({"X": np.zeros((10, 3))}, r"X must be \(n_points, 2\) and y \(n_points,\); got \(10, 3\) and \(206,\)"),
    ({"y": np.zeros(5, dtype=int)}, r"got \(206, 2\) and \(5,\)"),
    ({"y": "labels 2"}, r"labels \[0, 1, 2\].*output width of 2.*0\.\.1"),
    ({"X": "nan"}, "NaN or infinite"),
])
def test_bad_input_is_refused_with_a_clear_message(data, change, message):
    X, y = data
    kwargs = dict(widths=WIDTHS, activation="relu", X=X, y=y, seeds=[0], steps=10,
                  progress=False, device="cpu")
    if isinstance(change.get("X"), str):  # a NaN in row 3
        change = {"X": np.where(np.arange(len(X))[:, None] == 3, np.nan, X)}
    if isinstance(change.get("y"), str):  # a label 2 for a 2-unit output
        change = {"y": np.where(np.arange(len(y)) == 0, 2, y)}
    kwargs.update(change)
    with pytest.raises(ValueError, match=message):
        fit_ensemble(kwargs.pop("widths"), kwargs.pop("activation"), kwargs.pop("X"),
                     kwargs.pop("y"), kwargs.pop("seeds"), **kwargs)


def test_member_index_and_architecture_are_checked():
    ensemble = FFEnsemble(WIDTHS, "relu", 2)
    with pytest.raises(IndexError, match="member 2 does not exist; the ensemble has 2"):
        ensemble.member(2)
    with pytest.raises(ValueError, match=r"net has widths \[2, 3, 2\]"):
        ensemble.set_member(0, FFNet([2, 3, 2]))


# ---------------------------------------------------------------------------- the authors' protocol
def test_glorot_members_equal_glorot_ffnets():
    member = build_member(WIDTHS, "tanh", seed=5, init="glorot")
    seed_everything(5)
    reference = FFNet(WIDTHS, "tanh", init="glorot")
    assert_same_weights(member, reference)
    assert all((layer.bias == 0).all() for layer in member.layers)
    ensemble = FFEnsemble(WIDTHS, "tanh", [5, 6], init="glorot")
    assert_same_weights(ensemble.member(0), reference)


def test_patience_abandons_hopeless_attempts_as_fit_until_perfect_does(data):
    X, y = data
    # lr so small that the accuracy cannot rise: every attempt is abandoned at its second check
    kwargs = dict(steps=200, lr=1e-9, patience=20, device="cpu", progress=False)
    [member] = fit_ensemble(WIDTHS, "relu", X, y, [1], max_attempts=2, **kwargs)
    model, history, attempts = fit_until_perfect(lambda: FFNet(WIDTHS, "relu"), X, y, seed=1,
                                                 max_attempts=2, **kwargs)
    assert attempts == member.attempts == 2
    assert history.abandoned and member.history.abandoned
    assert member.steps == history.steps_taken == 40
    assert not member.reached_perfect and not history.reached_perfect
    assert_close_weights(member.model, model)


def test_patience_does_not_stop_a_run_that_improves(data):
    X, y = data
    kwargs = dict(steps=300, lr=0.03, patience=50, device="cpu", progress=False)
    [with_patience] = fit_ensemble(WIDTHS, "relu", X, y, [3], max_attempts=1, **kwargs)
    [without] = fit_ensemble(WIDTHS, "relu", X, y, [3], max_attempts=1,
                             **{**kwargs, "patience": None})
    assert with_patience.reached_perfect and not with_patience.history.abandoned
    assert with_patience.steps == without.steps


# ---------------------------------------------------------------------------- attempts
def test_attempt_records_say_what_each_attempt_did(data):
    # with 30 steps: seed 0 fails all 3 attempts, seed 3 succeeds at once, seed 4 on its 3rd
    X, y = data
    members = fit_ensemble(WIDTHS, "relu", X, y, [0, 3, 4], steps=30, lr=0.03, max_attempts=3,
                           device="cpu", progress=False)
    for seed, member in zip([0, 3, 4], members):
        records = member.attempt_records
        assert len(records) == member.attempts
        assert [r.attempt for r in records] == list(range(member.attempts))
        assert [r.seed for r in records] == [seed + 1000 * a for a in range(member.attempts)]
        assert all(r.ended == "budget" and r.steps == 30 and not r.reached_perfect
                   for r in records[:-1])
        last = records[-1]
        assert (last.steps, last.reached_perfect) == (member.steps, member.reached_perfect)
        assert last.ended == ("perfect" if member.reached_perfect else "budget")
        assert last.final_accuracy == member.final_accuracy
        assert all(r.check_steps == r.check_accuracy == r.check_best == [] for r in records)
        assert all(r.ended in ENDINGS for r in records)
    assert [m.attempts for m in members] == [3, 1, 3], "fixture changed"


def test_attempt_records_keep_the_accuracy_at_every_patience_check(data):
    X, y = data
    # lr so small that the accuracy cannot rise: each attempt ends at its second check
    [stuck] = fit_ensemble(WIDTHS, "relu", X, y, [1], steps=200, lr=1e-9, patience=20,
                           max_attempts=2, device="cpu", progress=False)
    for record in stuck.attempt_records:
        assert (record.ended, record.steps, record.check_steps) == ("patience", 40, [20, 40])
        assert record.check_best[0] == record.check_best[1] == max(record.check_accuracy)
    # a run that improves: a check every 10 steps until it reaches 100%
    [improving] = fit_ensemble(WIDTHS, "relu", X, y, [3], steps=300, lr=0.03, patience=10,
                               max_attempts=1, device="cpu", progress=False)
    [record] = improving.attempt_records
    assert record.ended == "perfect" and record.steps == improving.steps
    assert record.check_steps == list(range(10, improving.steps, 10))
    assert record.check_best == list(np.maximum.accumulate(record.check_best))
    assert all(a <= b for a, b in zip(record.check_accuracy, record.check_best))


def test_abandon_rule_ends_attempts_below_its_thresholds_at_the_patience_checks(data):
    X, y = data
    kwargs = dict(steps=200, lr=0.03, patience=10, max_attempts=2, device="cpu", progress=False)
    # seed 5 needs 21 steps to reach 100%: below 100% at the first check, at step 10
    [first] = fit_ensemble(WIDTHS, "relu", X, y, [5], abandon_rule=AbandonRule((1.0,)), **kwargs)
    assert [(r.ended, r.steps) for r in first.attempt_records] == [("rule", 10), ("rule", 10)]
    assert first.history.abandoned and not first.reached_perfect
    # thresholds apply at their own checks only: the second check, at step 20; there the
    # updated network happens to classify every point, so it is kept, as fit keeps it
    [second] = fit_ensemble(WIDTHS, "relu", X, y, [5], abandon_rule=AbandonRule((0.0, 1.0)), **kwargs)
    [record] = second.attempt_records
    assert (record.ended, record.steps, record.reached_perfect) == ("rule", 20, True)


def test_a_rule_that_never_fires_changes_nothing(data):
    X, y = data
    kwargs = dict(steps=200, lr=0.03, patience=10, max_attempts=2, device="cpu", progress=False)
    without = fit_ensemble(WIDTHS, "tanh", X, y, [0, 5], **kwargs)
    never = fit_ensemble(WIDTHS, "tanh", X, y, [0, 5], abandon_rule=AbandonRule((0.0, 0.0)), **kwargs)
    for a, b in zip(without, never):
        assert (a.steps, a.attempts, a.history.loss) == (b.steps, b.attempts, b.history.loss)
        assert [r.as_dict() for r in a.attempt_records] == [r.as_dict() for r in b.attempt_records]
        assert_same_weights(a.model, b.model)


@pytest.mark.parametrize("thresholds", [(), (0.5, 1.5), (-0.1,), ("high",), None])
def test_abandon_rule_refuses_bad_thresholds(thresholds):
    with pytest.raises(ValueError, match="must be a non-empty sequence of accuracies between 0 and 1"):
        AbandonRule(thresholds)


def test_abandon_rule_needs_patience_and_is_a_rule(data):
    X, y = data
    with pytest.raises(ValueError, match="applied at the patience checks; give patience too"):
        fit_ensemble(WIDTHS, "relu", X, y, [0], steps=10, abandon_rule=AbandonRule((0.5,)),
                     progress=False)
    with pytest.raises(ValueError, match="must be an AbandonRule or None"):
        fit_ensemble(WIDTHS, "relu", X, y, [0], steps=10, patience=5, abandon_rule=(0.5,),
                     progress=False)
    rule = AbandonRule([0.5, 0.9])
    assert rule.thresholds == (0.5, 0.9)
    assert rule.abandons(1, 0.4) and not rule.abandons(1, 0.5) and rule.abandons(2, 0.8)
    assert not rule.abandons(3, 0.0)  # beyond its last threshold


def test_the_authors_checks_stop_full_batch_training_only_at_a_check():
    """Full batch with check_every > 1 (Naitzat et al.'s trainer): accuracy counts after the
    first step and every check_every-th, so a member reaching 100% stops at a check."""
    from tdnn_utils.datasets import naitzat

    X, y = naitzat("D-I", n_points=600)
    dense = fit_ensemble([2, 12, 12, 2], "relu", X, y, 4, steps=3000, lr=0.02, patience=None,
                         device="cpu", progress=False, max_attempts=1)
    sparse = fit_ensemble([2, 12, 12, 2], "relu", X, y, 4, steps=3000, lr=0.02, check_every=250,
                          device="cpu", progress=False, max_attempts=1)
    assert any(m.reached_perfect for m in sparse), "no member reached 100%: nothing checked"
    for every_step, checked in zip(dense, sparse):
        if checked.reached_perfect:
            assert checked.steps % 250 == 0 or checked.steps == 1
            assert every_step.reached_perfect and every_step.steps <= checked.steps
    assert any(m.steps % 250 for m in dense if m.reached_perfect)  # the default stops at any step


def test_continuous_decay_follows_tensorflows_exponential_decay():
    from tdnn_utils.ensemble import _schedule

    slots = [type("S", (), {"t": t})() for t in (0, 1249, 2499, 4999)]
    step, _ = _schedule(slots, 0.02, 2500, "cpu", "continuous")
    stepped, _ = _schedule(slots, 0.02, 2500, "cpu", "step")
    t = np.array([1, 1250, 2500, 5000], dtype=float)
    bias = 1 - 0.9 ** t
    np.testing.assert_allclose(step.numpy() * bias, 0.02 * 0.5 ** ((t - 1) / 2500), rtol=1e-6)
    np.testing.assert_allclose(stepped.numpy() * bias, 0.02 * 0.5 ** ((t - 1) // 2500), rtol=1e-6)
    with pytest.raises(ValueError, match="lr_decay='smooth'"):
        fit_ensemble([2, 3, 2], "relu", np.zeros((4, 2)), np.array([0, 1, 0, 1]), 1, steps=5,
                     lr_decay="smooth", progress=False)
