"""Property-based tests (Hypothesis) of everything that computes persistence: topology, engines, regularizers.

For any finite cloud of 2 to 40 points in 1 to 4 dimensions: Betti numbers are non-negative
integers with 1 <= beta_0 <= the number of distinct points; persistence diagrams have
birth <= death and one infinite bar of dimension 0 per connected component; both engines give
the same diagrams.

At the edges of the domains (empty clouds, one point, duplicates only, NaN, infinities, huge
and tiny magnitudes, complex numbers, text, wrong shapes) every entry point that computes
persistence (topology, engines, regularizers) gives a correct answer or refuses early: a
ValueError or TypeError raised by tdnn_utils itself (:func:`answer_or_refusal`), never an
error from inside a library, a NaN-producing NumPy warning or a silent cast. Their answers
scale exactly with the cloud (powers of two), ignore the order of the points and a
translation. The other entry points the chapters call, and the shared validators, are in
``test_properties_inputs.py``.

Kept fast (this file runs again under ``TDNN_ENGINE=gudhi``): few examples, derandomised (the
same examples every run), no example database written.
"""

import traceback
import warnings

import numpy as np
import pytest
import torch
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from tdnn_utils import engines, regularizers, topology  # noqa: E402

FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def clouds(draw, max_points=40):
    """Finite clouds of 2..max_points points in 1..4 dimensions; often with repeated points, and
    sometimes on a small integer grid (many ties and coincidences)."""
    n = draw(st.integers(2, max_points))
    d = draw(st.integers(1, 4))
    grid = draw(st.booleans())
    elements = (st.integers(-3, 3).map(float) if grid else
                st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=32))
    X = draw(hnp.arrays(np.float64, (n, d), elements=elements))
    if draw(st.booleans()):  # repeat some rows exactly
        repeats = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n))
        X = np.vstack([X, X[repeats]])
    return X


scales = st.floats(0.0625, 20, allow_nan=False, width=32)


# ---------------------------------------------------------------------------- topology contracts
@FAST
@given(X=clouds(), scale=scales, maxdim=st.integers(0, 1), hop=st.booleans())
def test_betti_numbers_are_counts_with_beta0_between_1_and_the_distinct_points(X, scale, maxdim, hop):
    k = min(3, len(X) - 1) if hop else None
    betti = topology.betti_numbers(X, scale, k=k, maxdim=maxdim)
    assert betti.dtype.kind == "i" and betti.shape == (maxdim + 1,) and (betti >= 0).all()
    distinct = len(topology.distinct_points(X)[0])
    assert 1 <= betti[0] <= distinct


@FAST
@given(X=clouds(), maxdim=st.integers(0, 1))
def test_diagrams_have_births_before_deaths_and_one_infinite_bar_per_component(X, maxdim):
    diagrams = topology.persistence(X, maxdim=maxdim)
    assert len(diagrams) == maxdim + 1
    for diagram in diagrams:
        assert diagram.ndim == 2 and diagram.shape[1] == 2
        assert np.isfinite(diagram[:, 0]).all() and (diagram[:, 0] <= diagram[:, 1]).all()
    # no threshold: every pair is joined, one component
    assert np.isinf(diagrams[0][:, 1]).sum() == 1
    assert all(np.isfinite(d[:, 1]).all() for d in diagrams[1:])


@FAST
@given(X=clouds(), thresh=scales)
def test_with_a_threshold_infinite_bars_of_dimension_0_count_the_components(X, thresh):
    # thresh is float32-exact, so an edge kept by the radius graph is kept by the engine
    components, _ = connected_components(topology._radius_graph(topology.check_point_cloud(X), thresh),
                                         directed=False)
    diagram = topology.persistence(X, maxdim=0, thresh=thresh)[0]
    assert np.isinf(diagram[:, 1]).sum() == components
    assert topology.betti_numbers(X, thresh, maxdim=0, coincident="keep")[0] == components


def _rows(diagram):
    return diagram[np.lexsort((diagram[:, 1], diagram[:, 0]))]


@pytest.mark.skipif(set(engines.available()) != set(engines.ENGINES), reason="needs giotto-ph and gudhi")
@FAST
@given(X=clouds(max_points=25), maxdim=st.integers(0, 1), thresh=st.one_of(st.just(np.inf), scales))
def test_both_engines_give_the_same_diagrams(X, maxdim, thresh):
    giotto = topology.persistence(X, maxdim=maxdim, thresh=thresh, engine="giotto-ph")
    gudhi = topology.persistence(X, maxdim=maxdim, thresh=thresh, engine="gudhi")
    for a, b in zip(giotto, gudhi):
        np.testing.assert_array_equal(_rows(a), _rows(b))


@FAST
@given(X=clouds(), scale=scales)
def test_betti_at_reads_the_diagram_the_way_betti_numbers_does(X, scale):
    diagrams = topology.persistence(X, maxdim=1, thresh=scale)
    expected = topology.betti_numbers(X, scale, maxdim=1, coincident="keep")
    assert [topology.betti_at(d, scale) for d in diagrams] == expected.tolist()
    # the same bars with giotto-tda's dimension column, read per dimension
    stacked = np.vstack([np.column_stack([d, np.full(len(d), dim)]) for dim, d in enumerate(diagrams)])
    if len(stacked):
        assert [topology.betti_at(stacked, scale, dimension=dim) for dim in (0, 1)] == expected.tolist()


# ---------------------------------------------------------------------------- edges of the domains
#: Values at the edges: zeros, NaN, infinities, beyond float32 (1e39), huge, tiny, subnormal.
SPECIAL = (0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e39, -1e39, 1e300, 1e-300, 5e-324,
           3.4e38, 1e-45, 65504.0, 1e20, 1e-20)
DTYPES = ("float64", "float32", "float16", "int64", "bool", "complex128", "str")
#: NumPy's warnings of arithmetic that made NaN or infinity: a silent wrong number on its way.
NUMPY_TROUBLE = r"(invalid value|divide by zero|overflow) encountered|Mean of empty slice|Degrees of freedom|All-NaN"
EDGE = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def answer_or_refusal(call, *names):
    """``(True, result)`` of ``call()``, or ``(False, error)`` when it refused: a ValueError or
    TypeError raised by a ``raise`` statement of tdnn_utils whose message names one of ``names``.

    Anything else fails the test: an error from inside a library (or from a line of tdnn_utils
    that is not a ``raise``), NumPy's warnings of NaN or overflow arithmetic, or a cast that
    drops an imaginary part.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        warnings.filterwarnings("error", message=NUMPY_TROUBLE, category=RuntimeWarning)
        try:
            return True, call()
        except (ValueError, TypeError) as error:
            frame = traceback.extract_tb(error.__traceback__)[-1]
            where = f"{type(error).__name__} at {frame.filename}:{frame.lineno} ({frame.line!r}): {error}"
            assert "tdnn_utils" in frame.filename and frame.line.startswith("raise"), where
            assert not names or any(name in str(error) for name in names), where
            return False, error


def accepted(X) -> bool:
    """Whether ``X`` is a cloud every entry point should read: real, finite, 2-D, within float32."""
    return (X.dtype.kind in "biuf" and X.ndim == 2 and X.shape[1] >= 1
            and bool(np.isfinite(X.astype(np.float64)).all())
            and (X.size == 0 or float(np.abs(X.astype(np.float64)).max()) <= np.finfo(np.float32).max / 4))


@st.composite
def edge_arrays(draw, max_rows=6, max_features=3):
    """Arrays that break assumptions: 0 to 6 rows, 0 to 3 features, sometimes 1-D or 3-D;
    float64, float32, float16, integers, booleans, complex numbers or text; NaN, infinities,
    1e39, 1e300, subnormals; sometimes one row repeated (duplicates only)."""
    ndim = draw(st.sampled_from((2, 2, 2, 2, 1, 3)))
    shape = (draw(st.integers(0, max_rows)),) + tuple(draw(st.integers(0, max_features)) for _ in range(ndim - 1))
    size = int(np.prod(shape))
    element = st.one_of(st.sampled_from(SPECIAL), st.floats(-10, 10, width=32))
    values = np.array(draw(st.lists(element, min_size=size, max_size=size)), dtype=np.float64).reshape(shape)
    if ndim >= 2 and shape[0] > 1 and draw(st.booleans()):
        values = np.repeat(values[:1], shape[0], axis=0)  # duplicates only
    dtype = draw(st.sampled_from(DTYPES))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dtype == "complex128":
            return values * (1 + 1j)
        return values.astype(str) if dtype == "str" else values.astype(dtype)


def _tensor(X):
    return torch.as_tensor(X) if X.dtype.kind in "biufc" else X


def _check_diagrams(diagrams, maxdim):
    assert len(diagrams) == maxdim + 1
    for diagram in diagrams:
        diagram = np.asarray(diagram)
        assert diagram.ndim == 2 and diagram.shape[1] == 2
        assert np.isfinite(diagram[:, 0]).all() and not np.isnan(diagram).any()
        assert (diagram[:, 0] <= diagram[:, 1]).all()


def _check_distances(D, n):
    assert D.shape == (n, n) and np.isfinite(D).all() and (D >= 0).all()
    assert np.array_equal(D, D.T) and not np.diag(D).any()


def _cloud_calls(X):
    """Every entry point that reads a point cloud, with a check of its answer."""
    T = _tensor(X)
    calls = {
        "betti_numbers": (lambda: topology.betti_numbers(X, 1.0, maxdim=1),
                          lambda b: b.dtype.kind == "i" and b.shape == (2,) and b[0] >= 1 and b[1] >= 0),
        "betti_numbers hop": (lambda: topology.betti_numbers(X, 1.0, k=1, maxdim=1),
                              lambda b: b.shape == (2,) and b[0] >= 1 and b[1] >= 0),
        "persistence": (lambda: topology.persistence(X, maxdim=1), lambda d: _check_diagrams(d, 1) is None),
        "persistence thresh": (lambda: topology.persistence(X, maxdim=1, thresh=0.5),
                               lambda d: _check_diagrams(d, 1) is None),
        "median_distance": (lambda: topology.median_distance(X), lambda m: np.isfinite(m) and m >= 0),
        "distance_matrix": (lambda: topology.distance_matrix(X), lambda D: _check_distances(D, len(X)) is None),
        "euclidean_distances": (lambda: engines.euclidean_distances(X),
                                lambda D: _check_distances(D, len(X)) is None),
        "betti_by_layer": (lambda: topology.betti_by_layer({"input": X}, np.zeros(len(X), int), 1.0),
                           lambda t: (t["betti"] >= 0).all()),
        "diagrams": (lambda: regularizers.diagrams(T, maxdim=1),
                     lambda d: _check_diagrams([x.detach().numpy() for x in d], 1) is None),
        "TotalPersistenceLoss": (lambda: regularizers.TotalPersistenceLoss()(T),
                                 lambda v: v == 0 or 1 <= float(v) <= len(X) ** 2),
        "LogitNormLoss": (lambda: regularizers.LogitNormLoss()(T), lambda v: np.isfinite(float(v)) and v >= 0),
        "DensifiedLoss": (lambda: regularizers.DensifiedLoss(group_size=2)(T),
                          lambda v: np.isfinite(float(v)) and v >= 0),
    }
    if regularizers.torch_topological_available():
        calls["TorchTopologicalLoss"] = (lambda: regularizers.TorchTopologicalLoss()(T),
                                         lambda v: np.isfinite(float(v)) and v >= 0)
    return calls


@EDGE
@given(X=edge_arrays())
def test_every_entry_point_reading_a_cloud_answers_correctly_or_refuses_early(X):
    for name, (call, correct) in _cloud_calls(X).items():
        answered, result = answer_or_refusal(call, "X", "points", "labels", "activations", "groups", "k=")
        if answered:
            assert accepted(X) or (X.dtype.kind in "biuf" and X.ndim == 2 and X.shape[0] == 0), (name, X)
            assert correct(result), (name, X, result)


@st.composite
def edge_matrices(draw):
    """Distance matrices: symmetric ones, and ones with NaN, negative, infinite or beyond
    float32 entries, asymmetric, not square, 1-D, complex."""
    n = draw(st.integers(0, 5))
    X = draw(hnp.arrays(np.float64, (n, 2), elements=st.floats(-5, 5, width=32)))
    D = cdist(X, X)
    fault = draw(st.sampled_from((None, None, "nan", "negative", "inf", "1e39", "asymmetric", "rows", "1-D",
                                  "complex")))
    if n >= 2 and fault in ("nan", "negative", "inf", "1e39"):
        D[0, 1] = D[1, 0] = {"nan": np.nan, "negative": -1.0, "inf": np.inf, "1e39": 1e39}[fault]
    elif n >= 2 and fault == "asymmetric":
        D[0, 1] += 1.0
    elif fault == "rows":
        D = D[:-1]
    elif fault == "1-D":
        D = D.ravel()
    elif fault == "complex":
        D = D * (1 + 1j)
    return D, fault


@EDGE
@given(case=edge_matrices(), maxdim=st.integers(0, 1))
def test_rips_reads_distance_matrices_or_refuses_early(case, maxdim):
    D, fault = case
    answered, result = answer_or_refusal(lambda: engines.rips(D, maxdim=maxdim), "distances")
    if answered:
        assert fault in (None, "inf") or D.shape[0] < 2 and fault not in ("rows", "1-D", "complex"), fault
        _check_diagrams(result, maxdim)
        if fault is None and len(D) >= 1:  # one infinite bar: every pair is joined
            assert np.isinf(result[0][:, 1]).sum() == 1
    answered, _ = answer_or_refusal(lambda: engines.rips_pairing(D, maxdim=maxdim), "distances")
    assert not answered or fault in (None, "inf") or D.shape[0] < 2 and fault not in ("rows", "1-D", "complex")


dyadic = st.integers(-80, 80).map(lambda i: i / 8)  # exact under scaling and translation


@st.composite
def dyadic_clouds(draw, max_points=12):
    n, d = draw(st.integers(2, max_points)), draw(st.integers(1, 3))
    return draw(hnp.arrays(np.float64, (n, d), elements=dyadic))


@FAST
@given(X=dyadic_clouds(), power=st.one_of(st.integers(-120, 120), st.integers(126, 140)),
       scale=st.sampled_from((0.25, 0.5, 1.0, 1.5, 3.0)))
def test_betti_numbers_and_diagrams_scale_exactly_with_the_cloud(X, power, scale):
    factor = 2.0 ** power
    scaled = X * factor
    extent = float(np.sqrt(((X.max(axis=0) - X.min(axis=0)) ** 2).sum())) * factor
    if max(float(np.abs(scaled).max()), extent) > np.finfo(np.float32).max:
        with pytest.raises(ValueError, match=r"X (holds values up to|spans) .* beyond float32's range"):
            topology.persistence(scaled)
        return
    assert (topology.betti_numbers(scaled, scale * factor).tolist()
            == topology.betti_numbers(X, scale).tolist())
    for ours, theirs in zip(topology.persistence(scaled), topology.persistence(X)):
        np.testing.assert_array_equal(ours, theirs * factor)


@st.composite
def offset_clouds(draw, max_points=12):
    """Float32 clouds (coordinates 0 or at least 1/64 in magnitude) moved by an integer offset
    up to 2**22: exact in float64, far from the origin."""
    n, d = draw(st.integers(2, max_points)), draw(st.integers(1, 3))
    element = st.floats(-10, 10, width=32).filter(lambda x: x == 0 or abs(x) >= 1 / 64)
    X = draw(hnp.arrays(np.float64, (n, d), elements=element))
    return X, draw(st.integers(-2**22, 2**22))


@FAST
@given(case=offset_clouds(), seed=st.integers(0, 2**16))
def test_diagrams_ignore_the_order_of_the_points_and_a_translation(case, seed):
    X, offset = case
    order = np.random.default_rng(seed).permutation(len(X))
    moved = X[order] + offset
    deaths = [np.sort(topology.persistence(Y, maxdim=0)[0][:, 1]) for Y in (moved, X)]
    np.testing.assert_allclose(deaths[0], deaths[1], rtol=1e-6, atol=1e-6)  # the spanning tree's edges
    assert topology.betti_numbers(moved, 1.0).tolist() == topology.betti_numbers(X, 1.0).tolist()


@FAST
@given(case=offset_clouds())
def test_euclidean_distances_are_the_distances_rounded_to_float32(case):
    X, offset = case
    np.testing.assert_allclose(engines.euclidean_distances(X + offset), cdist(X, X).astype(np.float32),
                               rtol=1e-6, atol=1e-6)


@settings(FAST, max_examples=15)
@given(X=dyadic_clouds(), power=st.integers(-1000, 1000), dtype=st.sampled_from((torch.float64, torch.float32)))
def test_the_losses_are_scale_free_or_scale_with_the_batch(X, power, dtype):
    if dtype == torch.float32:
        power = int(np.clip(power, -100, 100))  # float32's normal range
    factor = 2.0 ** power
    points, scaled = torch.as_tensor(X, dtype=dtype), torch.as_tensor(X * factor, dtype=dtype)
    omega = regularizers.TotalPersistenceLoss()
    assert float(omega(scaled)) == float(omega(points))
    for ours, theirs in zip(regularizers.diagrams(scaled), regularizers.diagrams(points)):
        torch.testing.assert_close(ours, theirs * factor, rtol=0, atol=0)
    norm = regularizers.LogitNormLoss()
    assert float(norm(scaled)) == float(norm(points)) * factor


@pytest.mark.skipif(not regularizers.torch_topological_available(), reason="needs torch-topological")
@settings(FAST, max_examples=15)
@given(X=dyadic_clouds(max_points=10), power=st.integers(-60, 60))
def test_torch_topologicals_loss_is_the_total_length_of_the_diagrams(X, power):
    points = torch.as_tensor(X * 2.0 ** power)
    lengths = sum(float((d[:, 1] - d[:, 0]).sum()) for d in regularizers.diagrams(points, maxdim=1))
    assert float(regularizers.TorchTopologicalLoss(maxdim=1)(points)) == pytest.approx(lengths, rel=1e-5)
