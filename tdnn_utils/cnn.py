"""Compact convolutional networks: ResNet, DenseNet and EfficientNet families, and LeNet.

Each family is written out in a few short modules, follows torchvision's reference
definitions layer for layer, and has size knobs:

- ``size="standard"``: the reference model (ResNet-18, DenseNet-121, EfficientNet-B0), with
  an ImageNet stem; at 1,000 classes it has the reference parameter count (tests check it);
- ``size="small"``: a few blocks of narrow layers with a stride-1 stem, for 8x8 to 32x32
  images, that trains on a laptop CPU in minutes;
- ``size="tiny"``: the smallest that keeps the family's shape, for smoke runs.

Every model exposes ``blocks``: an ordered mapping from a readable name to a part of the
model (stem, each block, the pooled features, the logits). For topology the layers are read
*after the activation*, as tda-nn-analysis hooks its networks: :func:`activation_layers`
lists every activation module (ReLU, SiLU) and the logits, and :func:`block_activations` reads
them on a batch (or the blocks' own outputs, with ``readings="blocks"``).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from .validation import check_finite, check_positive_int

FAMILIES = ("resnet", "densenet", "efficientnet", "lenet")
#: Parameters of the reference models (torchvision's ResNet-18, DenseNet-121, EfficientNet-B0)
#: at 1,000 classes and 3 input channels: what ``size="standard"`` must have.
REFERENCE_PARAMETERS = {"resnet": 11_689_512, "densenet": 7_978_856, "efficientnet": 5_288_548}
SIZES = ("tiny", "small", "standard")


def _check(value, allowed, what):
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is unknown; use one of {allowed}")


def _conv_bn(in_channels, out_channels, kernel, stride=1, groups=1, activation=None, eps=1e-5):
    layers = [nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(out_channels, eps=eps)]
    if activation is not None:
        layers.append(activation())
    return nn.Sequential(*layers)


class _Classifier(nn.Module):
    """The shared skeleton: stem, named blocks, global pooling, a linear head."""

    def __init__(self, stem: nn.Module, blocks, features: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.stem = stem
        self.body = nn.Sequential(OrderedDict(blocks))
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(features, num_classes)) if dropout \
            else nn.Linear(features, num_classes)

    @property
    def blocks(self) -> "OrderedDict[str, nn.Module]":
        named = OrderedDict([("stem", self.stem)])
        named.update(self.body.named_children())
        named["pool"] = self.pool
        named["logits"] = self.head
        return named

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled representation before the classifier, (n, features)."""
        return self.pool(self.body(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# ---------------------------------------------------------------------------- ResNet
class BasicBlock(nn.Module):
    """ResNet's basic block: two 3x3 convolutions and a shortcut (1x1 when the shape changes)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = _conv_bn(in_channels, out_channels, 3, stride, activation=nn.ReLU)
        self.conv2 = _conv_bn(out_channels, out_channels, 3)
        self.shortcut = (nn.Identity() if stride == 1 and in_channels == out_channels
                         else _conv_bn(in_channels, out_channels, 1, stride))
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


RESNET_SIZES = {  # widths per stage, blocks per stage, ImageNet stem
    "tiny": ((8, 16), (1, 1), False),
    "small": ((16, 32, 64), (1, 1, 1), False),
    "standard": ((64, 128, 256, 512), (2, 2, 2, 2), True),
}


def resnet(size: str = "small", num_classes: int = 10, in_channels: int = 3) -> _Classifier:
    """A ResNet with basic blocks; ``"standard"`` is ResNet-18 (11,689,512 parameters at 1,000 classes)."""
    _check(size, SIZES, "size")
    widths, depths, imagenet_stem = RESNET_SIZES[size]
    if imagenet_stem:
        stem = nn.Sequential(_conv_bn(in_channels, widths[0], 7, 2, activation=nn.ReLU),
                             nn.MaxPool2d(3, 2, 1))
    else:
        stem = _conv_bn(in_channels, widths[0], 3, activation=nn.ReLU)
    blocks, channels = [], widths[0]
    for stage, (width, depth) in enumerate(zip(widths, depths), start=1):
        for i in range(depth):
            stride = 2 if stage > 1 and i == 0 else 1
            blocks.append((f"stage{stage}_block{i + 1}", BasicBlock(channels, width, stride)))
            channels = width
    return _Classifier(stem, blocks, channels, num_classes)


# ---------------------------------------------------------------------------- DenseNet
class DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (to ``bn_size * growth`` channels), BN-ReLU-3x3 conv (to ``growth``)."""

    def __init__(self, in_channels: int, growth: int, bn_size: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.ReLU(), nn.Conv2d(in_channels, bn_size * growth, 1, bias=False),
            nn.BatchNorm2d(bn_size * growth), nn.ReLU(), nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False))

    def forward(self, x):
        return torch.cat([x, self.layers(x)], dim=1)


def _transition(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.AvgPool2d(2))


DENSENET_SIZES = {  # growth rate, layers per dense block, initial features, ImageNet stem
    "tiny": (4, (2, 2), 8, False),
    "small": (8, (3, 3, 3), 16, False),
    "standard": (32, (6, 12, 24, 16), 64, True),
}


def densenet(size: str = "small", num_classes: int = 10, in_channels: int = 3,
             bn_size: int = 4, compression: float = 0.5) -> _Classifier:
    """A DenseNet-BC; ``"standard"`` is DenseNet-121 (7,978,856 parameters at 1,000 classes).

    Dense blocks concatenate each layer's ``growth`` new channels to its input; transitions
    between blocks compress the channels by ``compression`` and halve the resolution.
    """
    _check(size, SIZES, "size")
    growth, block_layers, channels, imagenet_stem = DENSENET_SIZES[size]
    if imagenet_stem:
        stem = nn.Sequential(_conv_bn(in_channels, channels, 7, 2, activation=nn.ReLU), nn.MaxPool2d(3, 2, 1))
    else:
        stem = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
    blocks = []
    for b, n_layers in enumerate(block_layers, start=1):
        layers = []
        for _ in range(n_layers):
            layers.append(DenseLayer(channels, growth, bn_size))
            channels += growth
        blocks.append((f"dense{b}", nn.Sequential(*layers)))
        if b < len(block_layers):
            out = int(channels * compression)
            blocks.append((f"transition{b}", _transition(channels, out)))
            channels = out
    blocks.append(("final_norm", nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU())))
    return _Classifier(stem, blocks, channels, num_classes)


# ---------------------------------------------------------------------------- EfficientNet
def _divisible(value: float, divisor: int = 8) -> int:
    """Round channels as the reference does: to a multiple of 8, never below 90% of ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class SqueezeExcitation(nn.Module):
    """Channel attention: pool, 1x1 conv down (SiLU), 1x1 conv up (sigmoid), rescale."""

    def __init__(self, channels: int, squeezed: int):
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, squeezed, 1), nn.SiLU(),
                                  nn.Conv2d(squeezed, channels, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.gate(x)


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand, depthwise kxk, squeeze-excitation, 1x1 project."""

    def __init__(self, in_channels: int, out_channels: int, expand: int, kernel: int, stride: int):
        super().__init__()
        hidden = in_channels * expand
        layers = [] if expand == 1 else [_conv_bn(in_channels, hidden, 1, activation=nn.SiLU, eps=1e-3)]
        layers += [_conv_bn(hidden, hidden, kernel, stride, groups=hidden, activation=nn.SiLU, eps=1e-3),
                   SqueezeExcitation(hidden, max(1, in_channels // 4)),
                   _conv_bn(hidden, out_channels, 1, eps=1e-3)]
        self.layers = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x):
        out = self.layers(x)
        return out + x if self.residual else out


#: EfficientNet-B0's stages: (expansion, kernel, stride, output channels, repeats).
EFFICIENTNET_B0 = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                   (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
EFFICIENTNET_SIZES = {  # width multiplier, depth multiplier, stages used, ImageNet stem
    "tiny": (0.25, 0.25, 3, False),
    "small": (0.5, 0.34, 5, False),
    "standard": (1.0, 1.0, 7, True),
}


def efficientnet(size: str = "small", num_classes: int = 10, in_channels: int = 3,
                 width: float | None = None, depth: float | None = None,
                 dropout: float = 0.2) -> _Classifier:
    """An EfficientNet with compound scaling; ``"standard"`` is B0 (5,288,548 parameters at 1,000 classes).

    ``width`` and ``depth`` override the size's multipliers of channels and of repeats per
    stage (B1 to B7 scale both with the input resolution; here they are free knobs).
    """
    _check(size, SIZES, "size")
    width_mult, depth_mult, n_stages, imagenet_stem = EFFICIENTNET_SIZES[size]
    width_mult = width_mult if width is None else float(width)
    depth_mult = depth_mult if depth is None else float(depth)
    channels = _divisible(32 * width_mult)
    stem = _conv_bn(in_channels, channels, 3, 2 if imagenet_stem else 1, activation=nn.SiLU, eps=1e-3)
    blocks = []
    for s, (expand, kernel, stride, out, repeats) in enumerate(EFFICIENTNET_B0[:n_stages], start=1):
        out = _divisible(out * width_mult)
        stride = stride if imagenet_stem or s > 1 else 1
        for i in range(int(math.ceil(repeats * depth_mult))):
            blocks.append((f"stage{s}_block{i + 1}", MBConv(channels, out, expand, kernel, stride if i == 0 else 1)))
            channels = out
    head_channels = 4 * channels if size != "standard" else _divisible(1280 * width_mult)
    blocks.append(("head_conv", _conv_bn(channels, head_channels, 1, activation=nn.SiLU, eps=1e-3)))
    return _Classifier(stem, blocks, head_channels, num_classes, dropout=dropout)


# ---------------------------------------------------------------------------- LeNet
class LeNet(nn.Module):
    """Corneanu et al.'s LeNet, layer for layer as in their code (dnn-topology, ``models/lenet.py``).

    conv 5x5 (10 maps) -> max-pool 2 -> ReLU; conv 5x5 (20 maps) -> 2-D dropout -> max-pool 2 ->
    ReLU; linear to 50 -> ReLU; linear to the classes. On 28x28 MNIST its functional graph has
    Corneanu et al.'s 1,820 nodes: 10x12x12 + 20x4x4 + 50 + 10. ``dropout`` is their
    ``Dropout2d``'s rate (0.5); images need a side of at least 16 (resize smaller ones, e.g.
    ``images.load_dataset(..., image_size=28)``).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28,
                 dropout: float = 0.5):
        super().__init__()
        if not isinstance(image_size, (int, np.integer)) or image_size < 16:
            raise ValueError(f"LeNet needs images of side at least 16, got image_size={image_size!r}; "
                             "resize them, e.g. images.load_dataset(name, image_size=28)")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout!r} must be in [0, 1)")
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, 10, 5), nn.MaxPool2d(2), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(10, 20, 5), nn.Dropout2d(dropout), nn.MaxPool2d(2),
                                   nn.ReLU(), nn.Flatten())
        side = ((image_size - 4) // 2 - 4) // 2
        self.fc1 = nn.Sequential(nn.Linear(20 * side * side, 50), nn.ReLU())
        self.head = nn.Linear(50, num_classes)

    @property
    def blocks(self) -> "OrderedDict[str, nn.Module]":
        return OrderedDict([("conv1", self.conv1), ("conv2", self.conv2), ("fc1", self.fc1),
                            ("logits", self.head)])

    def forward(self, x):
        return self.head(self.fc1(self.conv2(self.conv1(x))))


def build(family: str, size: str = "small", num_classes: int = 10, in_channels: int = 3,
          image_size: int = 32, dropout: float | None = None) -> nn.Module:
    """A model by family name ("resnet", "densenet", "efficientnet", "lenet") and size.

    ``dropout`` overrides LeNet's 2-D dropout rate (Corneanu et al.'s 0.5) and EfficientNet's
    dropout before the classifier (0.2); the other families have none.
    """
    _check(family, FAMILIES, "family")
    from .validation import check_positive_int

    num_classes = check_positive_int(num_classes, "num_classes")
    in_channels = check_positive_int(in_channels, "in_channels")
    image_size = check_positive_int(image_size, "image_size")
    if family == "lenet":
        return LeNet(num_classes, in_channels, image_size, **({} if dropout is None else {"dropout": dropout}))
    if family == "efficientnet" and dropout is not None:
        return efficientnet(size, num_classes=num_classes, in_channels=in_channels, dropout=dropout)
    return {"resnet": resnet, "densenet": densenet, "efficientnet": efficientnet}[family](
        size, num_classes=num_classes, in_channels=in_channels)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


#: The modules whose outputs are "after the activation" (what tda-nn-analysis hooks, with the logits).
ACTIVATION_TYPES = (nn.ReLU, nn.SiLU, nn.GELU, nn.LeakyReLU, nn.ELU, nn.Tanh)
READINGS = ("activations", "blocks")


def _logits_module(model: nn.Module) -> nn.Module:
    head = model.blocks["logits"]
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TypeError(f"{type(model).__name__}'s logits block holds no Linear layer")
    return linears[-1]


def activation_layers(model: nn.Module) -> "OrderedDict[str, nn.Module]":
    """The layers read for topology: every activation module, then the classifier's output.

    As tda-nn-analysis hooks a network (after every ReLU / SiLU and the final linear layer):
    every module of :data:`ACTIVATION_TYPES` in the order the model registers them (the order
    the forward pass runs them, for every model here), named by its path without the
    ``body.`` prefix (e.g. ``"stage1_block1.conv1.2"``), then the logits as ``"logits"``.
    So a block is read *after* its activation; EfficientNet's blocks end in a linear
    projection (no activation), so their last reading is the depthwise convolution's SiLU
    (and the squeeze-excitation's SiLU), not the projection.
    """
    if not hasattr(model, "blocks"):
        raise TypeError(f"{type(model).__name__} has no .blocks; use a model from tdnn_utils.cnn")
    layers = OrderedDict()
    for name, module in model.named_modules():
        if isinstance(module, ACTIVATION_TYPES):
            layers[name.removeprefix("body.")] = module
    layers["logits"] = _logits_module(model)
    return layers


@torch.no_grad()
def block_activations(model: nn.Module, X, batch_size: int = 256,
                      readings: str = "activations", select=None) -> "OrderedDict[str, np.ndarray]":
    """Every layer's output on the images ``X`` (n, channels, height, width), flattened per image.

    ``readings="activations"`` (the default) reads :func:`activation_layers`: after every
    activation, then the logits, as tda-nn-analysis does; ``"blocks"`` reads the output of each
    of ``model.blocks`` (stem, blocks, pooled features, logits), whatever its last operation.
    Returns an ordered mapping from layer name to a float32 array (n, features). The model runs
    in eval mode on its own device. A module that runs twice in one forward pass (a reused
    activation) is refused: its readings would be ambiguous.

    ``select`` (optional) maps a layer name to the indices of the flattened units to keep;
    the others are dropped as the batch passes, so a wide network's readings of many images
    stay small (layers not in ``select`` are kept whole).
    """
    if not hasattr(model, "blocks"):
        raise TypeError(f"{type(model).__name__} has no .blocks; use a model from tdnn_utils.cnn")
    if readings not in READINGS:
        raise ValueError(f"readings={readings!r} is unknown; use one of {READINGS}")
    batch_size = check_positive_int(batch_size, "batch_size")
    X = torch.as_tensor(check_finite(X, "X", dtype=np.float32))
    if X.ndim != 4:
        raise ValueError(f"X must be (n, channels, height, width); got shape {tuple(X.shape)}")
    layers = activation_layers(model) if readings == "activations" else model.blocks
    device = next(model.parameters()).device
    outputs = {name: [] for name in layers}
    keep = {name: torch.as_tensor(np.asarray(index, dtype=np.int64)) for name, index in (select or {}).items()}

    def hook(name, out):
        flat = out.flatten(1)
        if name in keep:
            flat = flat.index_select(1, keep[name].to(flat.device))
        outputs[name].append(flat.float().cpu())

    hooks = [module.register_forward_hook(lambda _m, _i, out, name=name: hook(name, out))
             for name, module in layers.items()]
    was_training = model.training
    model.eval()
    chunks = torch.split(X, batch_size)
    try:
        for chunk in chunks:
            model(chunk.to(device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    reused = [name for name, parts in outputs.items() if len(parts) != len(chunks)]
    if reused:
        raise ValueError(f"layers {reused} ran {[len(outputs[n]) for n in reused]} times for "
                         f"{len(chunks)} batches: a module used twice in one forward pass")
    return OrderedDict((name, torch.cat(parts).numpy()) for name, parts in outputs.items())
