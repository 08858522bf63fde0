"""Fully connected networks with a named activation, and reading every layer's output."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from .validation import check_finite, check_positive_int, check_real_number

ACTIVATIONS = {
    "relu": lambda slope: nn.ReLU(),
    "leaky_relu": lambda slope: nn.LeakyReLU(negative_slope=slope),
    "tanh": lambda slope: nn.Tanh(),
    "sigmoid": lambda slope: nn.Sigmoid(),
    "gelu": lambda slope: nn.GELU(),
    "silu": lambda slope: nn.SiLU(),
    "elu": lambda slope: nn.ELU(),
    "softplus": lambda slope: nn.Softplus(),
}


#: How the weights start: PyTorch's default for ``nn.Linear`` (Kaiming-uniform weights and
#: uniform biases, both within 1/sqrt(fan_in)), or TensorFlow's default that Naitzat et al.'s
#: code used (Glorot-uniform weights, zero biases).
INITS = ("torch", "glorot")


def make_activation(name: str, negative_slope: float = 0.2) -> nn.Module:
    """The activation module called ``name``; ``negative_slope`` (a finite number) is leaky ReLU's slope."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is unknown; use one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name](check_real_number(negative_slope, "negative_slope"))


class FFNet(nn.Module):
    """A fully connected network: ``Linear -> activation`` per hidden layer, then a linear output.

    Parameters
    ----------
    widths : layer widths, input first and output last; ``[3, 5, 5, 5, 2]`` is three hidden
        layers of width 5 between a 3-D input and 2 logits (giotto-deep's ``FFNet(arch=...)``).
    activation : one of :data:`ACTIVATIONS` ("relu", "leaky_relu", "tanh", "sigmoid", "gelu",
        "silu", "elu", "softplus").
    negative_slope : slope of leaky ReLU for negative inputs (Naitzat et al. use 0.2;
        PyTorch's and giotto-deep's default is 0.01).
    init : "torch" (PyTorch's default) or "glorot" (Glorot-uniform weights, zero biases:
        TensorFlow's default, which Naitzat et al.'s code used); see :data:`INITS`.

    Input of shape (batch, widths[0]); output: logits of shape (batch, widths[-1]).
    """

    def __init__(self, widths, activation: str = "relu", negative_slope: float = 0.2,
                 init: str = "torch"):
        super().__init__()
        if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__") or not all(
                isinstance(w, (int, np.integer)) and not isinstance(w, bool) for w in widths):
            raise ValueError(f"widths={widths!r} must be a list of positive integers")
        widths = [int(w) for w in widths]
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(
                f"widths={widths} must list at least an input and an output width, all >= 1"
            )
        if init not in INITS:
            raise ValueError(f"init={init!r} is unknown; use one of {INITS}")
        self.widths = widths
        self.activation_name = activation
        self.activation = make_activation(activation, negative_slope)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.init = init
        if init == "glorot":
            for layer in self.layers:
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)

    def extra_repr(self) -> str:
        return f"widths={self.widths}, activation={self.activation_name!r}"


@torch.no_grad()
def layer_activations(model: FFNet, X, *, stage: str = "post",
                      batch_size: int = 8192) -> "OrderedDict[str, np.ndarray]":
    """Every layer's output on the points ``X``, as float32 arrays.

    Returns an ordered mapping: ``"input"`` (X itself), ``"hidden_1"``, ..., ``"hidden_L"``,
    ``"logits"`` (the output, before softmax). Each value has shape (n_points, width).
    With ``stage="post"`` (the default, Naitzat et al.'s choice) hidden layers are read
    *after* their activation; ``stage="pre"`` reads the Linear outputs before it, as
    giotto-deep's tutorial hooks do.
    """
    if stage not in ("post", "pre"):
        raise ValueError(f"stage={stage!r} is unknown; use 'post' or 'pre'")
    batch_size = check_positive_int(batch_size, "batch_size")
    if not isinstance(model, FFNet):
        raise TypeError(f"layer_activations reads FFNet models; got {type(model).__name__}")
    X = torch.as_tensor(check_finite(X, "X", dtype=np.float32))
    if X.ndim != 2 or X.shape[1] != model.widths[0] or len(X) == 0:
        raise ValueError(
            f"X has shape {tuple(X.shape)}; the model expects (n_points, {model.widths[0]}), "
            "at least one point"
        )
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    names = ["input"] + [f"hidden_{i}" for i in range(1, len(model.layers))] + ["logits"]
    outputs = {name: [] for name in names}
    for chunk in torch.split(X, batch_size):
        x = chunk.to(device)
        outputs["input"].append(chunk)
        for name, layer in zip(names[1:-1], model.layers[:-1]):
            linear = layer(x)
            x = model.activation(linear)
            outputs[name].append((x if stage == "post" else linear).cpu())
        outputs["logits"].append(model.layers[-1](x).cpu())
    model.train(was_training)
    return OrderedDict((name, torch.cat(parts).numpy()) for name, parts in outputs.items())
