"""CNN families: the reference parameter counts, shapes at every size, reading blocks."""

import numpy as np
import pytest
import torch

from tdnn_utils import cnn


@pytest.mark.parametrize("family, expected", [
    ("resnet", 11_689_512),       # ResNet-18
    ("densenet", 7_978_856),      # DenseNet-121
    ("efficientnet", 5_288_548),  # EfficientNet-B0
])
def test_standard_sizes_have_the_reference_parameter_counts(family, expected):
    assert cnn.count_parameters(cnn.build(family, "standard", num_classes=1000)) == expected
    assert cnn.REFERENCE_PARAMETERS[family] == expected


@pytest.mark.parametrize("family", cnn.FAMILIES)
@pytest.mark.parametrize("size, channels, side", [("tiny", 1, 8), ("small", 3, 32)])
def test_small_sizes_classify_small_images(family, size, channels, side):
    side = max(side, 16) if family == "lenet" else side  # LeNet needs a side of 16 or more
    torch.manual_seed(0)
    model = cnn.build(family, size, num_classes=7, in_channels=channels, image_size=side)
    x = torch.randn(3, channels, side, side)
    assert model(x).shape == (3, 7)
    blocks = cnn.block_activations(model, x)
    names = list(blocks)
    assert names[-1] == "logits" and blocks["logits"].shape == (3, 7)
    assert all(v.shape[0] == 3 and v.ndim == 2 for v in blocks.values())
    np.testing.assert_allclose(blocks["logits"], model.eval()(x).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_sizes_grow_and_standard_stems_downsample():
    for family in ("resnet", "densenet", "efficientnet"):
        counts = [cnn.count_parameters(cnn.build(family, s)) for s in cnn.SIZES]
        assert counts == sorted(counts), f"{family}: {counts}"
    model = cnn.build("resnet", "standard", num_classes=10)
    with torch.no_grad():
        assert model.stem(torch.zeros(1, 3, 64, 64)).shape[-1] == 16  # 7x7 stride 2, then max-pool


def test_efficientnet_blocks_use_squeeze_excitation_and_silu():
    model = cnn.efficientnet("small")
    kinds = {type(m).__name__ for m in model.modules()}
    assert {"MBConv", "SqueezeExcitation", "SiLU"} <= kinds
    wider = cnn.efficientnet("small", width=1.0)
    assert cnn.count_parameters(wider) > cnn.count_parameters(model)


def test_bad_names_and_shapes_fail_early():
    with pytest.raises(ValueError, match="family 'vgg' is unknown"):
        cnn.build("vgg")
    with pytest.raises(ValueError, match="size 'huge' is unknown"):
        cnn.resnet("huge")
    with pytest.raises(ValueError, match="must be \\(n, channels, height, width\\)"):
        cnn.block_activations(cnn.resnet("tiny"), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="has no .blocks"):
        cnn.block_activations(torch.nn.Linear(2, 2), np.zeros((1, 1, 2, 2)))


def test_lenet_is_corneanus_layer_for_layer():
    model = cnn.build("lenet", num_classes=10, in_channels=1, image_size=28)
    assert cnn.count_parameters(model) == 260 + 5020 + 16050 + 510  # conv1, conv2, fc1, fc2
    layers = cnn.block_activations(model, torch.randn(3, 1, 28, 28))
    # their functional graph's nodes: relu(maxpool(conv1)) 10x12x12, then 20x4x4, 50, 10
    assert {k: v.shape[1] for k, v in layers.items()} == {"conv1.2": 1440, "conv2.3": 320, "fc1.1": 50, "logits": 10}
    assert isinstance(model.conv2[1], torch.nn.Dropout2d) and model.conv2[1].p == 0.5
    assert cnn.build("lenet", image_size=28, dropout=0.0).conv2[1].p == 0.0
    with pytest.raises(ValueError, match="side at least 16"):
        cnn.build("lenet", image_size=8)


@pytest.mark.parametrize("family", ["resnet", "densenet", "efficientnet"])
def test_layers_are_read_after_the_activation(family):
    torch.manual_seed(0)
    model = cnn.build(family, "tiny", num_classes=5, in_channels=1)
    x = torch.randn(6, 1, 16, 16)
    layers = cnn.activation_layers(model)
    readings = cnn.block_activations(model, x)
    assert list(readings) == list(layers) and list(readings)[-1] == "logits"
    for name, module in layers.items():
        if name == "logits":
            continue
        assert isinstance(module, cnn.ACTIVATION_TYPES), name
        values = readings[name]
        if isinstance(module, torch.nn.ReLU):
            assert values.min() >= 0, name            # after a ReLU: never negative
        else:
            assert values.min() >= -0.2785, name      # after a SiLU: never below its minimum
    np.testing.assert_allclose(readings["logits"], model.eval()(x).detach().numpy(), rtol=1e-5, atol=1e-5)
    # the blocks' own outputs are still available; DenseNet's and EfficientNet's end before an activation
    blocks = cnn.block_activations(model, x, readings="blocks")
    assert list(blocks) == list(model.blocks)
    if family in ("densenet", "efficientnet"):
        assert min(v.min() for k, v in blocks.items() if k not in ("logits", "pool")) < -0.2785


def test_efficientnet_blocks_are_read_at_their_last_activation_not_the_projection():
    model = cnn.build("efficientnet", "tiny", num_classes=5, in_channels=1)
    names = list(cnn.activation_layers(model))
    block = [n for n in names if n.startswith("stage2_block1.")]
    assert block and all(".layers." in n for n in block)
    assert not any(n.endswith("layers.3") for n in names)  # the linear projection is no reading


def test_a_module_used_twice_is_refused():
    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.relu, self.head = torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Linear(2, 3)

        @property
        def blocks(self):
            return {"conv": self.conv, "logits": self.head}

        def forward(self, x):
            return self.head(self.relu(self.relu(self.conv(x))).mean((2, 3)))

    with pytest.raises(ValueError, match="used twice"):
        cnn.block_activations(Twice(), np.zeros((2, 1, 5, 5)))
    with pytest.raises(ValueError, match="readings='after'"):
        cnn.block_activations(cnn.resnet("tiny"), np.zeros((2, 3, 8, 8)), readings="after")
