"""FFNet, layer_activations, the training loop and device choice."""

import numpy as np
import pytest
import torch

from tdnn_utils.models import ACTIVATIONS, FFNet, layer_activations
from tdnn_utils.training import choose_device, fit, fit_until_perfect, seed_everything


def two_blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(-2, 0.5, (n // 2, 3)), rng.normal(2, 0.5, (n // 2, 3))]
    return X.astype(np.float32), np.repeat([0, 1], n // 2)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh", "sigmoid", "gelu", "silu"])
def test_every_named_activation_builds_and_runs(name):
    model = FFNet([3, 5, 5, 2], name)
    assert model(torch.zeros(4, 3)).shape == (4, 2)
    assert name in ACTIVATIONS


def test_unknown_activation_names_the_allowed_ones():
    with pytest.raises(ValueError, match="'swish' is unknown.*relu"):
        FFNet([3, 2], "swish")


def test_bad_widths_are_refused():
    with pytest.raises(ValueError, match=r"widths=\[3\]"):
        FFNet([3], "relu")


def test_leaky_relu_uses_the_given_slope():
    model = FFNet([1, 1, 1], "leaky_relu", negative_slope=0.2)
    assert model.activation(torch.tensor([-1.0])).item() == pytest.approx(-0.2)


def test_layer_activations_are_post_activation_and_ordered():
    seed_everything(0)
    model = FFNet([3, 5, 4, 2], "relu")
    X = np.random.default_rng(0).normal(size=(50, 3))
    layers = layer_activations(model, X)
    assert list(layers) == ["input", "hidden_1", "hidden_2", "logits"]
    assert [v.shape for v in layers.values()] == [(50, 3), (50, 5), (50, 4), (50, 2)]
    assert (layers["hidden_1"] >= 0).all()  # after ReLU
    np.testing.assert_allclose(layers["logits"], model(torch.tensor(X, dtype=torch.float32)).detach(),
                               rtol=1e-5, atol=1e-6)
    pre = layer_activations(model, X, stage="pre")
    assert (pre["hidden_1"] < 0).any()
    np.testing.assert_allclose(np.maximum(pre["hidden_1"], 0), layers["hidden_1"], atol=1e-6)


def test_layer_activations_refuses_wrong_shapes():
    with pytest.raises(ValueError, match=r"shape \(5, 4\).*\(n_points, 3\)"):
        layer_activations(FFNet([3, 2]), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="stage='mid'"):
        layer_activations(FFNet([3, 2]), np.zeros((5, 3)), stage="mid")


def test_fit_learns_and_is_reproducible():
    X, y = two_blobs()
    runs = []
    for _ in range(2):
        seed_everything(1)
        model = FFNet([3, 8, 2], "tanh")
        history = fit(model, X, y, epochs=5, batch_size=32, lr=0.05, seed=1, progress=False)
        runs.append(history)
    assert runs[0].final_accuracy == 1.0 and runs[0].reached_perfect
    assert runs[0].loss == runs[1].loss
    assert runs[0].steps_taken == 5 * 7


def test_fit_stops_at_perfect_accuracy():
    X, y = two_blobs()
    seed_everything(0)
    model = FFNet([3, 8, 2], "relu")
    history = fit(model, X, y, steps=2000, lr=0.05, stop_at_perfect=True, progress=False)
    assert history.reached_perfect and history.steps_taken < 2000


def test_fit_until_perfect_counts_attempts():
    X, y = two_blobs()
    y_noisy = y.copy()
    y_noisy[0] = 1  # a point inside the other blob: a width-1 net cannot fit it in 5 steps
    _, history, attempts = fit_until_perfect(lambda: FFNet([3, 1, 2], "relu"), X, y_noisy,
                                             max_attempts=2, steps=5, progress=False)
    assert attempts == 2 and not history.reached_perfect
    _, history, attempts = fit_until_perfect(lambda: FFNet([3, 8, 2], "relu"), X, y,
                                             max_attempts=3, steps=500, lr=0.05, progress=False)
    assert attempts == 1 and history.reached_perfect


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one of steps"),
    ({"steps": 1, "epochs": 1}, "exactly one of steps"),
    ({"steps": 0}, "positive integer"),
])
def test_fit_refuses_a_bad_budget(kwargs, message):
    X, y = two_blobs()
    with pytest.raises(ValueError, match=message):
        fit(FFNet([3, 2]), X, y, progress=False, **kwargs)


def test_fit_refuses_nan_and_mismatched_labels():
    X, y = two_blobs()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(FFNet([3, 2]), X, y, steps=1, progress=False)
    with pytest.raises(ValueError, match=r"\(200, 3\) and \(199,\)"):
        fit(FFNet([3, 2]), two_blobs()[0], y[:-1], steps=1, progress=False)


def test_choose_device():
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="'tpu' is unknown"):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="'cuda' is not available"):
            choose_device("cuda")


def test_sgd_and_accuracy_on_arrays():
    import numpy as np
    import torch

    from tdnn_utils.models import FFNet
    from tdnn_utils.training import accuracy, fit, seed_everything

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    seed_everything(0)
    model = FFNet([2, 16, 2], "relu")
    fit(model, X, y, epochs=30, batch_size=50, lr=0.05, optimizer="sgd", weight_decay=5e-4, progress=False)
    assert accuracy(model, X, y) > 0.9
    with torch.no_grad():
        assert accuracy(model, X, y) == float((model(torch.as_tensor(X)).argmax(1).numpy() == y).mean())
    with pytest.raises(ValueError, match="optimizer 'rmsprop' is unknown"):
        fit(model, X, y, epochs=1, optimizer="rmsprop", progress=False)


def test_ffnet_init_and_widths_are_checked():
    glorot = FFNet([3, 15, 2], "relu", init="glorot")
    bound = np.sqrt(6 / (3 + 15))
    assert float(glorot.layers[0].weight.abs().max()) <= bound
    assert all(float(layer.bias.abs().max()) == 0 for layer in glorot.layers)
    with pytest.raises(ValueError, match="init='he'"):
        FFNet([3, 2], init="he")
    with pytest.raises(ValueError, match=r"widths=\[3, 2.7, 2\]"):
        FFNet([3, 2.7, 2])


def test_fit_patience_abandons_a_run_that_stops_improving():
    X = np.random.default_rng(0).normal(size=(60, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = FFNet([2, 8, 2], "relu")
    history = fit(model, X, y, steps=500, lr=1e-9, patience=25, stop_at_perfect=True,
                  device="cpu", progress=False)
    assert history.abandoned and history.steps_taken == 50 and not history.reached_perfect
    with pytest.raises(ValueError, match="patience=0"):
        fit(model, X, y, steps=5, patience=0, progress=False)
