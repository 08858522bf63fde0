"""giotto-tda as an oracle for tdnn_utils.topology's persistence and its summaries.

Where the two differ by definition, the test checks the exact relation, not equality:

- diagram format: giotto-tda takes a batch ``(n_samples, n_triples, 3)`` of (birth, death,
  homology dimension) triples, every dimension padded to the same number of triples per
  sample; padding triples have birth == death. tdnn_utils takes one ``(n_bars, 2)`` array
  per dimension. :func:`to_gtda` converts.
- Betti curves: both count a bar alive at t when birth <= t < death, infinite bars
  included. giotto-tda's BettiCurve samples ``n_bins`` evenly spaced values from the
  smallest birth to the largest death of each dimension, fitted on the batch
  (``samplings_``); tdnn_utils takes the grid as an argument.
- persistence entropy: giotto-tda uses base 2 (bits), tdnn_utils natural logarithms (nats):
  tdnn = gtda * ln 2. giotto-tda's ``normalize=True`` divides by log2 of the sum of
  lifetimes (not by log of the number of bars). Infinite bars: giotto-tda gives NaN (then
  ``nan_fill_value``, -1 by default); tdnn_utils leaves them out. No bar of positive
  length: giotto-tda NaN (-> -1), tdnn_utils 0.
- total persistence: no giotto-tda Amplitude is it. ``Amplitude(metric="wasserstein",
  metric_params={"p": p})`` is the p-norm of the *half* lifetimes (the Wasserstein distance
  to the empty diagram with the L-infinity ground metric), so
  ``total_persistence(d, p) == (2 * amplitude) ** p``; for p = 1, twice the amplitude.
  Infinite bars make giotto-tda's amplitude infinite; tdnn_utils leaves them out.
- persistence: both run giotto-ph's ``ripser_parallel``; giotto-tda's
  VietorisRipsPersistence drops bars of length 0 and, with ``reduced_homology=True`` (its
  default), the one infinite bar of dimension 0. tdnn_utils keeps that bar (unreduced) and
  collapses edges for dimension >= 1 (giotto-tda's default does not).
"""

import math

import numpy as np
import pytest

gtda_diagrams = pytest.importorskip("gtda.diagrams")
gtda_homology = pytest.importorskip("gtda.homology")

from tdnn_utils import topology  # noqa: E402

BettiCurve = gtda_diagrams.BettiCurve
PersistenceEntropy = gtda_diagrams.PersistenceEntropy
Amplitude = gtda_diagrams.Amplitude
VietorisRipsPersistence = gtda_homology.VietorisRipsPersistence


# ---------------------------------------------------------------------------- clouds
def _circle(n, radius=1.0, centre=(0.0, 0.0), noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    points = np.c_[np.cos(angles), np.sin(angles)] * radius + np.asarray(centre)
    return points + noise * rng.normal(size=points.shape)


def _clouds():
    rng = np.random.default_rng(7)
    grid = np.array([[i, j] for i in range(6) for j in range(6)], dtype=float)
    return {
        "circle": _circle(40, noise=0.05),
        "two circles": np.r_[_circle(30, noise=0.03, seed=1),
                             _circle(25, radius=0.6, centre=(3.0, 0.5), noise=0.03, seed=2)],
        "random": rng.normal(size=(70, 3)),
        # ties: many equal distances, equal births and deaths, and duplicated points
        "grid with duplicates": np.r_[grid, grid[:4]],
    }


CLOUDS = _clouds()


@pytest.fixture(scope="module")
def diagrams():
    """tdnn_utils persistence (dimensions 0 and 1) of every cloud."""
    return {name: topology.persistence(X, maxdim=1) for name, X in CLOUDS.items()}


def to_gtda(diagrams_per_dim, *, finite_only=False, pad_to=None) -> np.ndarray:
    """tdnn_utils diagrams (list of (n, 2) per dimension) -> one giotto-tda sample (n, 3).

    ``pad_to`` maps a dimension to the number of triples it must have; missing ones are
    padding triples (birth == death == the dimension's smallest birth, as giotto-tda pads).
    """
    triples = []
    for dim, diagram in enumerate(diagrams_per_dim):
        bars = np.asarray(diagram, dtype=float).reshape(-1, 2)
        if finite_only:
            bars = bars[np.isfinite(bars[:, 1])]
        n_pad = 0 if pad_to is None else pad_to[dim] - len(bars)
        fill = bars[:, 0].min() if len(bars) else 0.0
        bars = np.r_[bars, np.full((n_pad, 2), fill)]
        triples.append(np.c_[bars, np.full(len(bars), dim)])
    return np.concatenate(triples)


def _finite(diagram):
    diagram = np.asarray(diagram, dtype=float).reshape(-1, 2)
    return diagram[np.isfinite(diagram[:, 1])]


# ---------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("name", list(CLOUDS))
@pytest.mark.parametrize("reduced", [False, True])
def test_persistence_equals_vietoris_rips_persistence(diagrams, name, reduced):
    ours = diagrams[name]
    theirs = VietorisRipsPersistence(homology_dimensions=[0, 1], reduced_homology=reduced
                                     ).fit_transform([CLOUDS[name]])[0]
    for dim in (0, 1):
        bars = theirs[(theirs[:, 2] == dim) & (theirs[:, 0] < theirs[:, 1])][:, :2]
        finite_theirs = bars[np.isfinite(bars[:, 1])]
        finite_ours = _finite(ours[dim])
        # finite bars equal as multisets
        assert len(finite_ours) == len(finite_theirs), (name, dim)
        np.testing.assert_allclose(np.sort(finite_ours, axis=0), np.sort(finite_theirs, axis=0),
                                   rtol=1e-6, atol=1e-9)
        # tdnn_utils is unreduced: one infinite bar of dimension 0 (the data are connected
        # at infinity); giotto-tda's reduced homology drops it
        n_infinite_ours = int(np.isinf(ours[dim][:, 1]).sum())
        assert n_infinite_ours == (1 if dim == 0 else 0)
        assert int(np.isinf(bars[:, 1]).sum()) == n_infinite_ours - (reduced and dim == 0)
        # no bar of length 0 on either side, duplicated points included
        assert (ours[dim][:, 1] > ours[dim][:, 0]).all()


def test_duplicates_and_ties_are_in_the_clouds(diagrams):
    grid = diagrams["grid with duplicates"]
    # 40 points, 36 distinct: 4 duplicates merge at 0 and make no bar (length 0)
    assert len(grid[0]) == 36
    # 25 unit squares: 25 loops, all born at 1 and dying at sqrt(2): exact ties
    np.testing.assert_allclose(grid[1], np.tile([1.0, math.sqrt(2)], (25, 1)), rtol=1e-6)


# ---------------------------------------------------------------------------- Betti curves
@pytest.mark.parametrize("name", list(CLOUDS))
@pytest.mark.parametrize("n_bins", [7, 100])
def test_betti_curve_equals_betti_curve(diagrams, name, n_bins):
    sample = to_gtda(diagrams[name], finite_only=True)[None]
    curves = BettiCurve(n_bins=n_bins).fit(sample)
    theirs = curves.transform(sample)[0]
    for dim in (0, 1):
        grid = curves.samplings_[dim]
        # giotto-tda's grid: n_bins values from the smallest birth to the largest death
        finite = _finite(diagrams[name][dim])
        np.testing.assert_allclose(grid, np.linspace(finite.min(), finite.max(), n_bins))
        np.testing.assert_array_equal(topology.betti_curve(finite, grid), theirs[dim])


@pytest.mark.parametrize("name", list(CLOUDS))
def test_betti_curve_with_infinite_bars(diagrams, name):
    """Infinite bars count as alive from their birth on, on both sides."""
    finite_sample = to_gtda(diagrams[name], finite_only=True)[None]
    curves = BettiCurve(n_bins=50).fit(finite_sample)
    with_infinite = to_gtda(diagrams[name])[None]  # giotto-tda accepts np.inf deaths
    theirs = curves.transform(with_infinite)[0]
    for dim in (0, 1):
        ours = topology.betti_curve(diagrams[name][dim], curves.samplings_[dim])
        np.testing.assert_array_equal(ours, theirs[dim])
    assert theirs[0][-1] == 1  # at the largest death only the infinite bar is left


def test_betti_curve_on_a_padded_batch(diagrams):
    """Several diagrams in one giotto-tda batch (padding triples) and one common grid."""
    names = list(CLOUDS)
    pad_to = {dim: max(len(_finite(diagrams[n][dim])) for n in names) for dim in (0, 1)}
    batch = np.stack([to_gtda(diagrams[n], finite_only=True, pad_to=pad_to) for n in names])
    curves = BettiCurve(n_bins=40).fit(batch)
    theirs = curves.transform(batch)
    for i, name in enumerate(names):
        for dim in (0, 1):
            ours = topology.betti_curve(_finite(diagrams[name][dim]), curves.samplings_[dim])
            np.testing.assert_array_equal(ours, theirs[i, dim])


# ---------------------------------------------------------------------------- entropy
@pytest.mark.parametrize("name", list(CLOUDS))
def test_persistence_entropy_is_giotto_tda_in_nats(diagrams, name):
    sample = to_gtda(diagrams[name], finite_only=True)[None]
    bits = PersistenceEntropy(normalize=False).fit_transform(sample)[0]
    normalised = PersistenceEntropy(normalize=True).fit_transform(sample)[0]
    for dim in (0, 1):
        ours = topology.persistence_entropy(diagrams[name][dim])  # infinite bars left out
        np.testing.assert_allclose(ours, bits[dim] * math.log(2), rtol=1e-10, atol=1e-12)
        # giotto-tda's normalize=True: divided by log2(sum of lifetimes)
        bars = _finite(diagrams[name][dim])
        total = (bars[:, 1] - bars[:, 0]).sum()
        np.testing.assert_allclose(ours / math.log(total), normalised[dim], rtol=1e-10)


def test_persistence_entropy_infinite_empty_and_padding(diagrams):
    circle = diagrams["circle"]
    # an infinite bar: giotto-tda's entropy is NaN (-> nan_fill_value); tdnn_utils ignores it
    with_infinite = to_gtda(circle)[None]
    assert np.isnan(PersistenceEntropy(nan_fill_value=None).fit_transform(with_infinite)[0, 0])
    assert PersistenceEntropy().fit_transform(with_infinite)[0, 0] == -1.0
    assert topology.persistence_entropy(circle[0]) == topology.persistence_entropy(
        _finite(circle[0]))
    # padding triples (length 0) change nothing on either side
    padded = to_gtda(circle, finite_only=True, pad_to={0: 60, 1: 10})[None]
    bits = PersistenceEntropy().fit_transform(padded)[0]
    for dim in (0, 1):
        with_zero = np.r_[_finite(circle[dim]), [[0.3, 0.3]]]
        np.testing.assert_allclose(topology.persistence_entropy(with_zero),
                                   bits[dim] * math.log(2), rtol=1e-10)
    # no bar of positive length: giotto-tda NaN (-> -1), tdnn_utils 0
    empty = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    assert PersistenceEntropy().fit_transform(empty).tolist() == [[-1.0, -1.0]]
    assert topology.persistence_entropy(np.zeros((0, 2))) == 0.0
    assert topology.persistence_entropy(np.array([[0.0, np.inf]])) == 0.0


# ---------------------------------------------------------------------------- total persistence
@pytest.mark.parametrize("name", list(CLOUDS))
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_total_persistence_is_twice_the_wasserstein_amplitude(diagrams, name, p):
    sample = to_gtda(diagrams[name], finite_only=True)[None]
    amplitude = Amplitude(metric="wasserstein", metric_params={"p": p}).fit_transform(sample)[0]
    for dim in (0, 1):
        ours = topology.total_persistence(diagrams[name][dim], p=p)  # infinite bars left out
        np.testing.assert_allclose(ours, (2 * amplitude[dim]) ** p, rtol=1e-10)
    if p == 1.0:
        np.testing.assert_allclose(
            [topology.total_persistence(diagrams[name][d]) for d in (0, 1)], 2 * amplitude,
            rtol=1e-10)


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # giotto-tda's fit grid on inf
def test_total_persistence_with_infinite_bars(diagrams):
    circle = diagrams["circle"]
    amplitude = Amplitude(metric="wasserstein", metric_params={"p": 1.0}).fit_transform(
        to_gtda(circle)[None])[0]
    assert np.isinf(amplitude[0])  # giotto-tda counts the infinite bar
    assert np.isfinite(topology.total_persistence(circle[0]))  # tdnn_utils leaves it out
    np.testing.assert_allclose(topology.total_persistence(circle[0]),
                               _finite(circle[0])[:, 1].sum(), rtol=1e-12)
