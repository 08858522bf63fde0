"""The primer's small examples: 2-D point clouds whose topology is known, and two tiny networks.

Everything here runs in a second or two on a CPU, so the primer can be run live.

- :func:`circle`: points around a circle, evenly spread with a little jitter and noise;
- :func:`loop_and_blob`: a circle and a blob beside it (true β = (2, 1));
- :func:`uneven_circles`: a small densely sampled circle and a large sparse one far from it
  (true β = (2, 2)), on which no single Euclidean scale reads both loops;
- :func:`ring_and_disk`: two classes, a ring around a disk (true β: ring (1, 1), disk (1, 0));
- :func:`euclidean_sweep`, :func:`hop_sweep`: Betti numbers at several scales, with either metric,
  and :func:`right_scales`, the scales at which they are the true ones;
- :func:`early_and_perfect`: the same small network stopped early and trained to 100%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import topology
from .models import FFNet
from .training import accuracy, fit, fit_until_perfect, seed_everything
from .validation import check_positive_int

#: True Betti numbers (β0, β1) of the primer's clouds.
LOOP_AND_BLOB_BETTI = (2, 1)
UNEVEN_CIRCLES_BETTI = (2, 2)
RING_AND_DISK_BETTI = {0: (1, 1), 1: (1, 0)}


def circle(n_points: int, radius: float = 1.0, *, noise: float = 0.05, centre=(0.0, 0.0),
           seed: int = 0) -> np.ndarray:
    """``n_points`` points around a circle: evenly spaced angles, jittered, plus Gaussian noise.

    Returns an array of shape (n_points, 2).
    """
    n_points = check_positive_int(n_points, "n_points")
    rng = np.random.default_rng(seed)
    step = 2 * np.pi / n_points
    angles = np.arange(n_points) * step + rng.uniform(-0.3, 0.3, n_points) * step
    points = radius * np.c_[np.cos(angles), np.sin(angles)]
    return points + rng.normal(0.0, noise, points.shape) + np.asarray(centre, dtype=float)


def loop_and_blob(n_circle: int = 16, n_blob: int = 8, *, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """A circle of radius 1 and, beside it, a small round blob: one loop, two pieces.

    Returns an array of shape (n_circle + n_blob, 2); its true Betti numbers are
    :data:`LOOP_AND_BLOB_BETTI`.
    """
    n_blob = check_positive_int(n_blob, "n_blob")
    rng = np.random.default_rng(seed + 1)
    angles = rng.uniform(0, 2 * np.pi, n_blob)
    radii = 0.35 * np.sqrt(rng.uniform(0, 1, n_blob))
    blob = np.c_[2.6 + radii * np.cos(angles), radii * np.sin(angles)]
    return np.r_[circle(n_circle, 1.0, noise=noise, seed=seed), blob]


def uneven_circles(n_dense: int = 60, n_sparse: int = 24, *, seed: int = 0) -> np.ndarray:
    """A small circle (radius 0.5) sampled densely and a large one (radius 4) sampled sparsely.

    The gap between neighbours on the large circle (about 1) is wider than the small circle's
    diameter, so a Euclidean scale that joins the large circle's points has already filled the
    small circle's hole. Returns an array of shape (n_dense + n_sparse, 2); true Betti numbers
    :data:`UNEVEN_CIRCLES_BETTI`.
    """
    dense = circle(n_dense, 0.5, noise=0.02, seed=seed)
    sparse = circle(n_sparse, 4.0, noise=0.1, centre=(7.0, 0.0), seed=seed + 1)
    return np.r_[dense, sparse]


def ring_and_disk(n_per_class: int = 150, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes in the plane: a ring (radii 1.6 to 2.4, class 0) around a disk (radius 1, class 1).

    Points are uniform in area. Returns ``(X, y)``: float32 array (2 n_per_class, 2) and int
    labels; the true Betti numbers per class are :data:`RING_AND_DISK_BETTI`.
    """
    n = check_positive_int(n_per_class, "n_per_class")
    rng = np.random.default_rng(seed)
    ring_radius = np.sqrt(rng.uniform(1.6 ** 2, 2.4 ** 2, n))
    disk_radius = np.sqrt(rng.uniform(0.0, 1.0, n))
    angles = rng.uniform(0, 2 * np.pi, (2, n))
    radii = np.r_[ring_radius, disk_radius]
    X = np.c_[radii * np.cos(angles.ravel()), radii * np.sin(angles.ravel())].astype(np.float32)
    return X, np.repeat([0, 1], n)


def euclidean_sweep(X, scales, *, maxdim: int = 1) -> pd.DataFrame:
    """Betti numbers of the Vietoris-Rips complex of ``X`` (n_points, n_features) at each Euclidean scale.

    One persistence computation up to the largest scale. Returns a tidy table: ``scale``,
    ``dim``, ``betti``.
    """
    scales = np.asarray(scales, dtype=float)
    diagrams = topology.persistence(X, maxdim=maxdim, thresh=float(scales.max()) * 1.0001)
    return pd.DataFrame([{"scale": float(s), "dim": d, "betti": topology.betti_at(diagrams[d], s)}
                         for s in scales for d in range(maxdim + 1)])


def hop_sweep(X, k: int, scales, *, maxdim: int = 1) -> pd.DataFrame:
    """Betti numbers of ``X`` (n_points, n_features) with the hop metric of the k-NN graph, per scale.

    Returns a tidy table: ``scale`` (in hops), ``dim``, ``betti``.
    """
    return pd.DataFrame([{"scale": float(s), "dim": d, "betti": int(b)} for s in scales
                         for d, b in enumerate(topology.betti_numbers(X, float(s), k=k, maxdim=maxdim))])


def right_scales(sweep: pd.DataFrame, truth) -> list[float]:
    """The scales of a sweep (columns ``scale``, ``dim``, ``betti``) at which every Betti number is ``truth``'s."""
    truth = list(truth)
    right = sweep.assign(right=[b == truth[d] if d < len(truth) else True
                                for d, b in zip(sweep["dim"], sweep["betti"])])
    every = right.groupby("scale")["right"].all()
    return [float(s) for s in every.index[every.to_numpy()]]


def early_and_perfect(X, y, *, widths=(2, 8, 8, 8, 2), activation: str = "tanh", early_steps: int = 20,
                      max_steps: int = 3000, lr: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """The same network (same seed, same data) stopped after ``early_steps`` and trained to 100%.

    Full-batch Adam at ``lr`` on the CPU; the second network trains until every training point
    is classified right (at most ``max_steps`` steps, fresh starts as
    :func:`tdnn_utils.training.fit_until_perfect` makes them). Returns one row per network:
    ``network`` ("stopped early", "trained to 100%"), ``steps``, ``accuracy``, ``model``.
    """
    widths = [int(w) for w in widths]
    seed_everything(seed)
    early = FFNet(widths, activation)
    fit(early, X, y, steps=check_positive_int(early_steps, "early_steps"), lr=lr, device="cpu",
        progress=False, seed=seed)
    perfect, history, _ = fit_until_perfect(lambda: FFNet(widths, activation), X, y, steps=max_steps,
                                            lr=lr, device="cpu", progress=False, seed=seed)
    return pd.DataFrame([
        {"network": "stopped early", "steps": early_steps, "accuracy": accuracy(early, X, y), "model": early},
        {"network": "trained to 100%", "steps": history.steps_taken, "accuracy": accuracy(perfect, X, y),
         "model": perfect},
    ])
