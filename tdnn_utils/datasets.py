"""Point-cloud data sets: giotto-deep's entangled tori and Naitzat et al.'s D-I, D-II, D-III.

Every generator returns ``(X, y)``: ``X`` a float32 array of shape ``(n_points, n_features)``,
``y`` an int64 array of shape ``(n_points,)`` with the class of each point. Randomness comes
from a :class:`numpy.random.Generator` seeded with ``seed``, so the same arguments give the
same arrays on every machine.

Entangled tori
    :func:`entangled_tori` rebuilds ``DatasetBuilder("EntangledTori")`` of giotto-deep
    (``gdeep/data/datasets/tori.py``, ``ToriDataset._make_entangled_tori_dataset``).

Naitzat, Zhitnikov & Lim (JMLR 2020), D-I, D-II, D-III
    :func:`naitzat` rebuilds the authors' generators (github.com/topnn/topnn_framework,
    ``transformers/raw_circles_generator.py``, ``raw_rings_generator.py``,
    ``raw_spheres_generation.py``): each makes a dense *pool* of labelled points, from which
    the training set is a random subsample (their ``split``, scikit-learn's
    ``train_test_split``). :func:`naitzat_homology_subset` takes every ``divisor``-th
    training point, as the authors' Betti number code does (``betti_calc_parallel.py``,
    ``row[::divisor]``), which gives the paper's homology sizes.

    Class a is label 0, class b is label 1. D-II and D-III are max-abs scaled per axis (as
    the authors do), so their coordinates lie in [-1, 1]; D-I is in its raw units
    (the square [-10, 10)^2).

The true Betti numbers of each class are in :data:`NAITZAT_BETTI`; the paper's choice of
``k`` and ``epsilon`` for its hop-count Vietoris-Rips complex is in :data:`NAITZAT_SCALE`,
together with the values that give the true Betti numbers with
:func:`tdnn_utils.topology.betti_numbers` (whose ``k`` counts *other* points, one less than
the authors' ``k``; see :data:`NAITZAT_SCALE`).
"""

from __future__ import annotations

import math
import random

import numpy as np

__all__ = [
    "ENTANGLED_TORI_BETTI",
    "ENTANGLED_TORI_SCALE",
    "NAITZAT_BETTI",
    "NAITZAT_NAMES",
    "NAITZAT_SCALE",
    "NAITZAT_SIZES",
    "entangled_tori",
    "naitzat",
    "naitzat_homology_subset",
]

# ---------------------------------------------------------------------------- constants
NAITZAT_NAMES = ("D-I", "D-II", "D-III")

#: Paper sizes: training points, homology points, and the divisor that links them
#: (homology subset = every ``divisor``-th training point).
NAITZAT_SIZES = {
    "D-I": {"train": 7_800, "homology": 2_600, "divisor": 3},
    "D-II": {"train": 45_000, "homology": 11_250, "divisor": 4},
    "D-III": {"train": 37_800, "homology": 9_450, "divisor": 4},
}

#: True Betti numbers of each class as a point set: ``{name: {label: (b0, b1[, b2])}}``.
#: D-III class b is two thick spheres per centre (radius 2 shell and radius 0.5 sphere), so
#: (18, 0, 18); the paper reports (18, 0, 9), because at its k and epsilon the small, densely
#: sampled inner sphere fills in like a ball. D-II's (9, 9, 0) is the intended topology; the
#: published generator does not reach it (neighbouring rings overlap, see :func:`naitzat`).
NAITZAT_BETTI = {
    "D-I": {0: (9, 0), 1: (1, 9)},
    "D-II": {0: (9, 9, 0), 1: (9, 9, 0)},
    "D-III": {0: (9, 0, 9), 1: (18, 0, 18)},
}

#: The paper's k-NN graph size ``k`` and Vietoris-Rips scale ``scale`` (hops), chosen on the
#: input. The authors' code builds the graph with scikit-learn's
#: ``NearestNeighbors(n_neighbors=k).kneighbors_graph(X)``, which counts each point as its own
#: first neighbour, so their ``k`` links a point to ``k - 1`` others; in
#: :func:`tdnn_utils.topology.betti_numbers` the same graph is ``k=k - 1``: ``k_topology``.
#: ``scale`` 2.5 on integer hop counts is the same complex as 2 hops (the authors' Eirene call
#: has ``maxrad=2``).
#:
#: ``k_checked`` (in :func:`tdnn_utils.topology.betti_numbers` units), ``n_checked``,
#: ``maxdim_checked``: a ``k`` found by a sweep that gives :data:`NAITZAT_BETTI` for both
#: classes of ``naitzat_homology_subset(name, n_checked)`` at scale 2.5 (tests/test_datasets.py
#: checks it). D-I: 8 to 20 all work at 2,600 points, 13 (the paper's 14) included. D-III at
#: 9,450 points: 20 works; 13 gives class a (9, 1, 10) and 34 (the paper's 35) class b
#: (11, 0, 18). D-II: none, see :func:`naitzat`: the published generator lets rings of one
#: class at neighbouring centres overlap, so no k gives 9 components.
NAITZAT_SCALE = {
    "D-I": {"k": 14, "scale": 2.5, "k_topology": 13, "k_checked": 13, "n_checked": 2_600,
            "maxdim_checked": 1},
    "D-II": {"k": 35, "scale": 2.5, "k_topology": 34, "k_checked": None, "n_checked": None,
             "maxdim_checked": None},
    "D-III": {"k": 35, "scale": 2.5, "k_topology": 34, "k_checked": 20, "n_checked": 9_450,
              "maxdim_checked": 2},
}

#: Euclidean Vietoris-Rips scale at which each class of ``entangled_tori(n_pts=30)`` (seed 0)
#: has Betti numbers (8, 16, 8): 0.75 to 0.8 work at n_pts=30 (0.7 gives beta_1 = 80, 0.85
#: fills the small circles, beta_1 = 8). At n_pts=20 no Euclidean scale works: the integer
#: angles leave gaps of 0.43 rad, wider than the small circle allows.
ENTANGLED_TORI_SCALE = {"n_pts": 30, "scale": 0.78, "maxdim": 2}

#: Betti numbers of each class of :func:`entangled_tori` (``m=2``): 8 tori per class.
ENTANGLED_TORI_BETTI = {0: (8, 16, 8), 1: (8, 16, 8)}


# ---------------------------------------------------------------------------- validation
def _check_name(name) -> str:
    if name not in NAITZAT_NAMES:
        raise ValueError(f"name={name!r} is unknown; use one of {NAITZAT_NAMES}")
    return name


def _check_int(value, label: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{label}={value!r} must be an integer >= {minimum}")
    if value < minimum or (maximum is not None and value > maximum):
        allowed = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise ValueError(f"{label}={value!r} is out of range; use an integer {allowed}")
    return int(value)


def _check_seed(seed) -> int:
    return _check_int(seed, "seed", 0)


def _result(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.ascontiguousarray(X, dtype=np.float32), np.ascontiguousarray(y, dtype=np.int64)


# ---------------------------------------------------------------------------- entangled tori
def _rotation(axis_0: int, axis_1: int, angle: float) -> np.ndarray:
    """giotto-deep's ``Rotation(axis_0, axis_1, angle).rotation_matrix()`` (angle in radians)."""
    matrix = np.identity(3)
    matrix[axis_0, axis_0] = matrix[axis_1, axis_1] = math.cos(angle)
    matrix[axis_1, axis_0] = math.sin(angle)
    matrix[axis_0, axis_1] = -math.sin(angle)
    return matrix


def _torus(n_pts, noise, rotation, base_point, major, minor, rng) -> np.ndarray:
    """giotto-deep's ``_make_torus_point_cloud2``: angles 0, 1, ..., n_pts - 1 radians."""
    t, s = np.meshgrid(np.arange(n_pts), np.arange(n_pts), indexing="ij")  # t outer, s inner
    t, s = t.ravel().astype(np.float64), s.ravel().astype(np.float64)
    ring = major + minor * np.cos(s)
    points = np.c_[ring * np.cos(t), ring * np.sin(t), minor * np.sin(s)]
    points = points + noise * (rng.random(points.shape) - 0.5)
    return points @ rotation.T + np.asarray(base_point, dtype=np.float64)


def entangled_tori(n_pts: int = 50, m: int = 2, noise: float = 0.1, seed: int = 0):
    """giotto-deep's EntangledTori: ``m**3`` copies of a linked pair of noisy torus surfaces.

    One pair: torus 0 has major radius 2 and minor radius 0.5, centred at the origin in the
    xy-plane; torus 1 is the same torus rotated about the x-axis by 180 *radians* (giotto-deep
    passes ``Rotation(1, 2, 180)`` and ``math.cos`` reads radians: about 233 degrees, a tilt
    of about 53 degrees from the xy-plane) and shifted by 2 along x, so the two are linked.
    Each torus is sampled at the angles 0, 1, ..., ``n_pts - 1`` (integers, in radians) in both
    directions, ``n_pts**2`` points, plus uniform noise of width ``noise`` on each coordinate
    (``noise * (U(0, 1) - 0.5)``). The pair is copied, unchanged (same noise), to the
    ``m x m x m`` grid of translations ``10 * (i, j, k)``, ``i, j, k in range(m)``.

    Parameters
    ----------
    n_pts : angles per direction (>= 3); each torus has ``n_pts**2`` points.
    m : copies of the pair per axis (>= 1), ``m**3`` pairs in all. giotto-deep's
        docstring calls it "number of entangled tori per axis"; default 2, 8 pairs.
    noise : width of the uniform noise (>= 0). giotto-deep fixes it at 0.1.
    seed : seeds the noise.

    Returns
    -------
    X : float32 array (2 * m**3 * n_pts**2, 3), ordered as giotto-deep orders it: the pair
        (torus 0 then torus 1) at the origin, then the other translations.
    y : int64 array, 0 for torus 0 and 1 for torus 1 of each pair; each class is ``m**3``
        tori, Betti numbers ``(m**3, 2 m**3, m**3)`` (:data:`ENTANGLED_TORI_BETTI` for m=2).

    Deviations from giotto-deep: the noise comes from ``numpy.random.default_rng(seed)``
    instead of the unseeded global ``np.random``; labels are int64 (giotto-deep: float64,
    turned into long per item); ``noise`` is an argument (giotto-deep hard-codes 0.1); X is a
    NumPy array, not a torch tensor. Note that the integer angles cover the circle unevenly
    at small ``n_pts`` (the largest gap between the integer angles mod 2 pi is 0.43 rad for
    n_pts=20, 0.28 for 25 to 40, 0.15 for 50); see :data:`ENTANGLED_TORI_SCALE`.
    """
    n_pts = _check_int(n_pts, "n_pts", 3)
    m = _check_int(m, "m", 1)
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)):
        raise ValueError(f"noise={noise!r} must be a finite number >= 0")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise={noise!r} must be a finite number >= 0")
    rng = np.random.default_rng(_check_seed(seed))
    torus_0 = _torus(n_pts, noise, _rotation(0, 1, 0.0), (0, 0, 0), 2.0, 0.5, rng)
    torus_1 = _torus(n_pts, noise, _rotation(1, 2, 180.0), (2, 0, 0), 2.0, 0.5, rng)
    pair = np.r_[torus_0, torus_1]
    pair_labels = np.repeat([0, 1], n_pts**2)
    shifts = [(i, j, k) for i in range(m) for j in range(m) for k in range(m)]  # (0,0,0) first
    X = np.concatenate([pair + 10.0 * np.asarray(shift) for shift in shifts])
    y = np.tile(pair_labels, len(shifts))
    return _result(X, y)


# ---------------------------------------------------------------------------- Naitzat pools
#: The nine centres of D-II and D-III, in the authors' order, with D-II's ``flip`` (which
#: class the xy-ring of the pair at that centre belongs to).
_RING_CENTRES = (((3, 3, 3), 0), ((-3, -3, 3), 1), ((-3, 3, -3), 0), ((3, -3, -3), 1),
                 ((0, 0, 0), 0), ((-3, -3, -3), 0), ((3, 3, -3), 1), ((-3, 3, 3), 0),
                 ((3, -3, 3), 1))
_SPHERE_CENTRES = ((0, 0, 0), (-3, -3, -3), (3, 3, 3), (-3, 3, 3), (-3, 3, -3), (-3, -3, 3),
                   (3, -3, -3), (3, -3, 3), (3, 3, -3))


def _max_abs_scale(X: np.ndarray) -> np.ndarray:
    """scikit-learn's ``MaxAbsScaler``: each column divided by its largest absolute value."""
    return X / np.abs(X).max(axis=0)


def _d1_pool() -> tuple[np.ndarray, np.ndarray]:
    """D-I (``CirclesGenerator``): grid of spacing 0.19 on [-10, 10)^2; 9 disks of radius 1.3.

    Disk centres: the origin and 8 points at radius 7, angles 0, 45, ..., 315 degrees. Grid
    points inside a disk are class a (0); points within 1.3 + 0.5 of a centre but outside the
    disk are dropped; the rest are class b (1). Deterministic (the authors' ``random=False``).
    """
    axis = np.arange(-10, 10, 0.19)
    xx, yy = np.meshgrid(axis, axis)
    grid = np.dstack((xx, yy)).reshape(-1, 2)
    angles = 2 * np.pi / 8 * np.arange(8)
    centres = np.r_[[[0.0, 0.0]], 7 * np.c_[np.cos(angles), np.sin(angles)]]
    distance = np.linalg.norm(grid[:, None, :] - centres[None, :, :], axis=2).min(axis=1)
    keep = (distance < 1.3) | (distance >= 1.3 + 0.5)
    return grid[keep], (distance[keep] >= 1.3).astype(np.int64)


def _d2_pool(rng: np.random.Generator, n_per_ring: int = 15_000):
    """D-II (``DataSet3DRingsGenerator``): 9 linked pairs of thick rings, max-abs scaled.

    At each centre: class ``flip`` is two noisy circles in the xy-plane, radii 2.5 and 2.2,
    centred at ``centre + (2.2, 0, 0)``; class ``1 - flip`` is the same in the xz-plane centred
    at ``centre``. Each circle has ``n_per_ring`` points, uniform noise in [-0.7, 0.7] on every
    axis (the two radii merge into one solid ring). 36 circles, 540,000 points by default.
    """
    angles = np.linspace(0, n_per_ring, n_per_ring) * (2 * np.pi) / n_per_ring
    unit = np.c_[np.sin(angles), np.cos(angles)]
    points, labels = [], []
    for centre, flip in _RING_CENTRES:
        for plane, shift, label in (((0, 1), 2.2, flip), ((0, 2), 0.0, 1 - flip)):
            for radius in (2.5, 2.2):
                ring = rng.uniform(-0.5, 0.5, size=(n_per_ring, 3)) * 1.4
                ring[:, plane[0]] += unit[:, 0] * radius
                ring[:, plane[1]] += unit[:, 1] * radius
                ring[:, 0] += shift
                points.append(ring + np.asarray(centre, dtype=np.float64))
                labels.append(np.full(n_per_ring, label))
    return _max_abs_scale(np.concatenate(points)), np.concatenate(labels)


def _fibonacci_sphere(n: int, radius: float, offset: float = 1.0) -> np.ndarray:
    """The authors' ``fibonacci_sphere``: ``offset`` is their ``rnd`` (1 unless randomised)."""
    i = np.arange(n)
    y = i * (2.0 / n) - 1 + 1.0 / n
    r = np.sqrt(1 - y**2)
    phi = ((i + offset) % n) * (math.pi * (3.0 - math.sqrt(5.0)))
    return radius * np.c_[np.cos(phi) * r, y, np.sin(phi) * r]


def _d3_pool(n_per_sphere: int = 1_050):
    """D-III (``DataSet3DSpheresGenerator``): nested spheres at 9 centres, max-abs scaled.

    At each centre: class a (0) = spheres of radius 1 and 1.05; class b (1) = spheres of
    radius 2, 2.05 and 0.5. Every sphere has ``n_per_sphere`` Fibonacci points (9,450 / 9 in
    the authors' generator), 47,250 points in all. Deterministic: the authors randomise the
    spiral's start of the radius-1 sphere with ``random.seed(1)``; that value is reproduced.
    """
    start = random.Random(1).random() * n_per_sphere
    shells = [(1.0, start, 0), (1.05, 1.0, 0), (2.0, 1.0, 1), (2.05, 1.0, 1), (0.5, 1.0, 1)]
    block = np.concatenate([_fibonacci_sphere(n_per_sphere, r, o) for r, o, _ in shells])
    block_labels = np.repeat([label for *_, label in shells], n_per_sphere)
    points = np.concatenate([block + np.asarray(c, dtype=np.float64) for c in _SPHERE_CENTRES])
    labels = np.tile(block_labels, len(_SPHERE_CENTRES))
    return _max_abs_scale(points), labels


def _pool(name: str, rng: np.random.Generator):
    if name == "D-I":
        return _d1_pool()
    if name == "D-II":
        return _d2_pool(rng)
    return _d3_pool()


# ---------------------------------------------------------------------------- Naitzat API
def naitzat(name: str, seed: int = 0, n_points: int | None = None):
    """Training set of Naitzat, Zhitnikov & Lim's data set D-I, D-II or D-III.

    The authors' generator makes a pool of labelled points; the training set is a uniform
    random sample of it, without replacement, in random order (their ``split`` shuffles with
    ``train_test_split`` and keeps the first points).

    - ``"D-I"``, 2-D, raw units: class a (0) = 9 disks of radius 1.3 (centres: the origin and 8
      points on the circle of radius 7); class b (1) = the rest of the square [-10, 10)^2 less
      a 0.5 margin around each disk. Pool: the grid of spacing 0.19, 10,050 points (1,344 in
      class a). Betti numbers (9, 0) and (1, 9).
    - ``"D-II"``, 3-D, max-abs scaled into [-1, 1]^3: 9 linked pairs of solid rings (one in the
      xy-plane, its partner in the xz-plane), centres the origin and (+-3, +-3, +-3) before
      scaling; at each centre one ring is class a and the other class b. Pool: 540,000 points,
      half per class. Betti numbers (9, 9, 0) per class *as intended*; but with the published
      parameters (centres 3 apart per axis, outer radius 2.5 + 0.7 of noise) rings of the same
      class at neighbouring centres overlap (e.g. the xy-rings at (3, 3, 3) and (-3, 3, 3):
      both reach x = 2.0 to 2.4 at y = 3), so as a point set class a has 2 components and
      class b 3 (seed 0; beta_1 9 to 10), at every k tried. The paper reports (9, 9, 0).
    - ``"D-III"``, 3-D, max-abs scaled: at the same 9 centres, class a (0) = a thick sphere
      (radii 1 and 1.05) and class b (1) = a thick sphere (radii 2 and 2.05) around it plus a
      sphere of radius 0.5 inside. Pool: 47,250 points (18,900 in class a). Betti numbers
      (9, 0, 9) and (18, 0, 18) (the paper reports (18, 0, 9); see :data:`NAITZAT_BETTI`).

    Parameters
    ----------
    name : "D-I", "D-II" or "D-III".
    seed : seeds the sample (and, for D-II, the noise; D-I and D-III pools are deterministic).
    n_points : training set size; the paper's (:data:`NAITZAT_SIZES`, 7,800 / 45,000 /
        37,800) by default. At most the pool size.

    Returns
    -------
    X : float32 array (n_points, 2) for D-I, (n_points, 3) for D-II and D-III.
    y : int64 array (n_points,), 0 = class a, 1 = class b.
    """
    name = _check_name(name)
    rng = np.random.default_rng(_check_seed(seed))
    X, y = _pool(name, rng)
    n_default = NAITZAT_SIZES[name]["train"]
    n_points = n_default if n_points is None else _check_int(n_points, "n_points", 2, len(X))
    order = rng.permutation(len(X))[:n_points]
    return _result(X[order], y[order])


def naitzat_homology_subset(name: str, n_points: int | None = None, seed: int = 0):
    """The points on which the paper measures Betti numbers: a subset of the training set.

    The authors take every ``divisor``-th point of the training set (divisor 3 for D-I, 4 for
    D-II and D-III), which gives the paper's sizes: 2,600 / 11,250 / 9,450 points. Here:
    ``X[::step][:n_points]`` of ``naitzat(name, seed)`` with ``step = 7,800 // n_points``
    (etc.), so the default is exactly theirs and a smaller ``n_points`` is a sparser, still
    uniformly random, sample of the same training set.

    Parameters
    ----------
    name : "D-I", "D-II" or "D-III".
    n_points : number of points, the paper's (:data:`NAITZAT_SIZES`) by default; at most the
        training set size.
    seed : as in :func:`naitzat`; the same seed gives a subset of the same training set.

    Returns
    -------
    X, y : as in :func:`naitzat`, with ``n_points`` rows.
    """
    name = _check_name(name)
    n_train = NAITZAT_SIZES[name]["train"]
    if n_points is None:
        n_points = NAITZAT_SIZES[name]["homology"]
    n_points = _check_int(n_points, "n_points", 2, n_train)
    X, y = naitzat(name, seed=seed)
    step = n_train // n_points
    return X[::step][:n_points], y[::step][:n_points]
