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
