"""Property-based tests (Hypothesis): the shared validators and the topology functions' contracts.

For any finite cloud of 2 to 40 points in 1 to 4 dimensions: Betti numbers are non-negative
integers with 1 <= beta_0 <= the number of distinct points; persistence diagrams have
birth <= death and one infinite bar of dimension 0 per connected component; both engines give
the same diagrams. Kept fast: few examples, derandomised (the same examples every run), no
example database written.
"""

from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from tdnn_utils import engines, topology, validation  # noqa: E402

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


# ---------------------------------------------------------------------------- validators
@FAST
@given(n_classes=st.integers(1, 6), labels=st.lists(st.integers(0, 20), min_size=1, max_size=30),
       as_float=st.booleans())
def test_check_labels_accepts_exactly_the_labels_within_the_logits(n_classes, labels, as_float):
    array = np.asarray(labels, dtype=float if as_float else int)
    if max(labels) < n_classes:
        checked = validation.check_labels(array, len(labels), n_classes)
        assert checked.dtype == np.int64 and checked.tolist() == labels
    else:
        with pytest.raises(ValueError, match=rf"labels \[\d+.*{n_classes} outputs"):
            validation.check_labels(array, len(labels), n_classes)
    with pytest.raises(ValueError, match=r"1-D.*ravel"):
        validation.check_labels(array[:, None], len(labels), n_classes)
    with pytest.raises(ValueError, match=f"{len(labels)} entries for {len(labels) + 1} points"):
        validation.check_labels(array, len(labels) + 1)


@FAST
@given(value=st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=3)))
def test_check_positive_int_accepts_only_positive_integers(value):
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        assert validation.check_positive_int(value, "size") == value
    else:
        with pytest.raises(ValueError, match=r"size=.*positive integer"):
            validation.check_positive_int(value, "size")


@FAST
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3), st.none()),
       allow_inf=st.booleans())
def test_check_positive_number(value, allow_inf):
    good = value is not None and value == value and value > 0 and (allow_inf or np.isfinite(value))
    if good:
        assert validation.check_positive_number(value, "thresh", allow_inf=allow_inf) == float(value)
    else:
        with pytest.raises(ValueError, match="thresh="):
            validation.check_positive_number(value, "thresh", allow_inf=allow_inf)


@st.composite
def giotto_tda_diagrams(draw):
    n = draw(st.integers(1, 20))
    births = draw(hnp.arrays(np.float64, n, elements=st.floats(0, 5, width=32)))
    lengths = draw(hnp.arrays(np.float64, n, elements=st.one_of(st.floats(0, 5, width=32), st.just(np.inf))))
    dims = draw(hnp.arrays(np.float64, n, elements=st.integers(0, 2).map(float)))
    return np.column_stack([births, births + lengths, dims])


@FAST
@given(diagram=giotto_tda_diagrams(), dimension=st.integers(0, 2))
def test_check_diagram_selects_a_dimension_or_refuses_naming_the_shape(diagram, dimension):
    with pytest.raises(ValueError, match=rf"shape \({len(diagram)}, 3\)"):
        validation.check_diagram(diagram)
    bars = validation.check_diagram(diagram, dimension)
    np.testing.assert_array_equal(bars, diagram[diagram[:, 2] == dimension, :2])
    np.testing.assert_array_equal(validation.check_diagram(bars), bars)


@FAST
@given(shape=st.tuples(st.integers(0, 6), st.integers(0, 4)), bad=st.sampled_from([None, np.nan, np.inf]))
def test_check_points_refuses_empty_featureless_or_non_finite_clouds(shape, bad):
    X = np.ones(shape)
    if bad is not None and X.size:
        X[0, 0] = bad
    if shape[0] < 1 or shape[1] < 1 or (bad is not None and X.size):
        with pytest.raises(ValueError, match="X "):
            validation.check_points(X)
    else:
        assert validation.check_points(X).shape == shape


@FAST
@given(name=st.text(min_size=0, max_size=40))
def test_slugged_names_never_leave_their_folder(name):
    part = validation.slug(name)
    assert part and "/" not in part and "\\" not in part and not part.startswith(".") and "\x00" not in part
    folder = Path("/tmp/cache")
    assert folder in validation.check_inside(folder / part / f"{part}-x.json", folder).parents
