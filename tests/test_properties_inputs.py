"""Property-based tests (Hypothesis) of the entry points the chapters call, at the edges of their domains.

The entry points that compute persistence are in ``test_properties.py`` (run again under the
other engine); here are the rest: the shared validators, seeds and devices, networks and
training, data sets and images, the verdict rules and the chapters' claims, the tables, figures and results files, and
names that hold path characters. Each gets generated inputs across the edges of its domain
(empty, one element, duplicates only, NaN, infinities, huge and tiny magnitudes, wrong dtypes
and shapes, hostile names) and must answer correctly or refuse early: a ValueError or
TypeError raised by tdnn_utils itself, naming the value (:func:`answer_or_refusal`).

Kept fast: few examples, derandomised, no example database written.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from test_properties import SPECIAL, accepted, answer_or_refusal, edge_arrays  # noqa: E402
from tdnn_utils import (ablation, cnn, datasets, dynamics, images, paper, plotting, readings, reference,  # noqa: E402
                        regularization, regularizers, runs, simplification, sweep, topology, training, trust,
                        validation, verdicts)
from tdnn_utils.models import ACTIVATIONS, FFNet, layer_activations  # noqa: E402

FEW = settings(max_examples=25, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: For the tests whose every example reads whole tables through several claims and figures.
FEWER = settings(FEW, max_examples=10)

#: Numbers across the edges, of every Python and NumPy kind a user might pass.
numbers = st.one_of(st.sampled_from(SPECIAL), st.integers(-3, 40), st.floats(-10, 10),
                    st.sampled_from((True, False, None, "3", "", 2.5, np.int64(3), np.float32(0.5), 1 + 2j,
                                     2**64, -2**31)))
#: Names as a careless or curious user writes them: path characters, dots, control characters.
names = st.one_of(st.sampled_from(("", ".", "..", "../../escaped", "/etc/passwd", "a/../../b", "C:\\x", "x\x00y",
                                   "~", "relu", "D-I", "digits", "main", "resnet", "book", " ")),
                  st.text(max_size=12))


def is_count(value, least=1) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= least


# ---------------------------------------------------------------------------- validators
@FEW
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


@FEW
@given(value=st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=3)))
def test_check_positive_int_accepts_only_positive_integers(value):
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        assert validation.check_positive_int(value, "size") == value
    else:
        with pytest.raises(ValueError, match=r"size=.*positive integer"):
            validation.check_positive_int(value, "size")


@FEW
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


@FEW
@given(diagram=giotto_tda_diagrams(), dimension=st.integers(0, 2))
def test_check_diagram_selects_a_dimension_or_refuses_naming_the_shape(diagram, dimension):
    with pytest.raises(ValueError, match=rf"shape \({len(diagram)}, 3\)"):
        validation.check_diagram(diagram)
    bars = validation.check_diagram(diagram, dimension)
    np.testing.assert_array_equal(bars, diagram[diagram[:, 2] == dimension, :2])
    np.testing.assert_array_equal(validation.check_diagram(bars), bars)


@FEW
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


@FEW
@given(name=st.text(min_size=0, max_size=40))
def test_slugged_names_never_leave_their_folder(name):
    part = validation.slug(name)
    assert part and "/" not in part and "\\" not in part and not part.startswith(".") and "\x00" not in part
    folder = Path("/tmp/cache")
    assert folder in validation.check_inside(folder / part / f"{part}-x.json", folder).parents


# ---------------------------------------------------------------------------- seeds, devices, names
@FEW
@given(seed=numbers)
def test_seed_everything_takes_a_seed_or_refuses(seed):
    answered, _ = answer_or_refusal(lambda: training.seed_everything(seed), "seed")
    assert answered == (is_count(seed, 0) and seed < 2**32)


@FEW
@given(name=names)
def test_devices_are_named_or_refused(name):
    answered, device = answer_or_refusal(lambda: training.choose_device(name), "device")
    assert not answered or device.type in ("cpu", "cuda", "mps")


@FEW
@given(name=names)
def test_a_preset_writes_inside_the_repository_or_is_refused(name, tmp_path_factory):
    root = tmp_path_factory.getbasetemp() / "repository"
    answered, folders = answer_or_refusal(lambda: runs.output_folders(name, root), "preset")
    if answered:
        inside = root / ("book" if name in runs.PUBLISHED_PRESETS else "_runs")
        for folder in folders:
            assert inside in folder.parents and validation.check_inside(folder, inside)


@FEW
@given(name=names, data=st.sampled_from(("D-I", "D-II", "D-III")), source=st.sampled_from(("naitzat", "paper")))
def test_data_set_and_paper_names_are_known_or_refused(name, data, source):
    call = ((lambda: datasets.naitzat(name, n_points=30)) if source == "naitzat" else
            (lambda: paper.naitzat_points(name, 10)))
    answered, result = answer_or_refusal(call, "name", "problem", "unknown")
    assert answered == (name in datasets.NAITZAT_NAMES)
    answered, _ = answer_or_refusal(lambda: images.load_dataset(name, folder=None), "data set")
    assert not answered or name in ("digits", "mnist-5k")
    answered, _ = answer_or_refusal(lambda: paper.naitzat_points(data, 10, name), "architecture")
    assert answered == (name in set(paper.NAITZAT_FIGURES["architecture"]))


# ---------------------------------------------------------------------------- networks and training
@FEW
@given(widths=st.one_of(st.lists(numbers, max_size=4), numbers, names),
       activation=st.one_of(st.sampled_from(sorted(ACTIVATIONS)), names), slope=numbers,
       init=st.one_of(st.sampled_from(("torch", "glorot")), names))
def test_ffnet_builds_what_it_is_given_or_refuses(widths, activation, slope, init):
    answered, model = answer_or_refusal(lambda: FFNet(widths, activation, negative_slope=slope, init=init),
                                        "widths", "activation", "negative_slope", "init")
    if answered:
        assert model.widths == [int(w) for w in widths] and all(is_count(w) for w in widths) and len(widths) >= 2
        slope_matters = activation == "leaky_relu"
        assert not slope_matters or math.isfinite(float(slope))


@FEW
@given(X=edge_arrays(max_features=3), width=st.integers(1, 3))
def test_layer_activations_reads_the_points_or_refuses(X, width):
    model = FFNet([width, 4, 2])
    answered, layers = answer_or_refusal(lambda: layer_activations(model, X), "X")
    if answered:
        assert accepted(X) and X.shape[1] == width and len(X) >= 1
        assert list(layers) == ["input", "hidden_1", "logits"]
        assert all(v.shape[0] == len(X) and np.isfinite(v).all() for v in layers.values())


labels = st.one_of(st.lists(st.integers(-2, 3), min_size=0, max_size=6).map(np.asarray),
                   st.lists(st.sampled_from((0.0, 1.0, 0.5, np.nan)), max_size=6).map(np.asarray),
                   st.sampled_from((None, "ab", np.zeros((3, 1)))))


@FEW
@given(X=edge_arrays(max_features=2), y=labels, steps=numbers, lr=numbers)
def test_fit_trains_on_what_it_is_given_or_refuses(X, y, steps, lr):
    model = FFNet([2, 3, 2])
    answered, history = answer_or_refusal(
        lambda: training.fit(model, X, y, steps=steps, lr=lr, progress=False, device="cpu"),
        "X", "y", "steps", "lr", "labels")
    if answered:
        assert accepted(X) and X.shape[1] == 2 and len(X) >= 1 and is_count(steps) and math.isfinite(float(lr))
        assert np.isfinite(history.loss).all() and 0 <= history.final_accuracy <= 1


@pytest.fixture(scope="module")
def lenet():
    return cnn.build("lenet", "tiny", num_classes=3, in_channels=1, image_size=16)


@FEW
@given(family=st.one_of(st.sampled_from(("lenet", "resnet")), names),
       size=st.one_of(st.sampled_from(("tiny",)), names), num_classes=numbers, in_channels=numbers,
       image_size=numbers, dropout=st.one_of(st.none(), numbers))
def test_cnn_build_builds_or_refuses(family, size, num_classes, in_channels, image_size, dropout):
    answered, model = answer_or_refusal(
        lambda: cnn.build(family, size, num_classes=num_classes, in_channels=in_channels,
                          image_size=image_size, dropout=dropout),
        "family", "size", "num_classes", "in_channels", "image_size", "dropout", "LeNet")
    if answered:
        assert is_count(num_classes) and is_count(in_channels) and cnn.count_parameters(model) > 0
        assert list(cnn.activation_layers(model))[-1]


@FEW
@given(X=edge_arrays(max_rows=3, max_features=3), batch_size=numbers)
def test_cnn_block_activations_reads_images_or_refuses(lenet, X, batch_size):
    # (n, 1, 16, 16) images from the first column; other shapes as they are (to be refused)
    images_ = X[:, :1, None, None].repeat(16, axis=2).repeat(16, axis=3) if X.ndim == 2 and X.shape[1] else X
    answered, layers = answer_or_refusal(lambda: cnn.block_activations(lenet, images_, batch_size=batch_size),
                                         "X", "images", "batch_size")
    if answered:
        assert all(np.isfinite(v).all() and len(v) == len(images_) for v in layers.values())


# ---------------------------------------------------------------------------- data sets and images
@FEW
@given(n_pts=numbers, m=numbers, noise=numbers, seed=numbers)
def test_entangled_tori_generates_or_refuses(n_pts, m, noise, seed):
    if is_count(n_pts) and n_pts > 60 or is_count(m) and m > 2:
        return  # large but valid: too slow for this test
    answered, result = answer_or_refusal(lambda: datasets.entangled_tori(n_pts, m, noise, seed),
                                         "n_pts", "m", "noise", "seed")
    if answered:
        X, y = result
        assert np.isfinite(X).all() and X.shape == (len(y), 3) and set(np.unique(y)) <= {0, 1}


@FEWER
@given(name=st.sampled_from(("D-I", "D-II", "D-III")), n_points=numbers, seed=numbers)
def test_naitzat_samples_or_refuses(name, n_points, seed):
    if is_count(n_points) and n_points > 300:
        n_points = 300
    for call in (lambda: datasets.naitzat(name, seed=seed, n_points=n_points),
                 lambda: datasets.naitzat_homology_subset(name, n_points=n_points, seed=seed)):
        answered, result = answer_or_refusal(call, "n_points", "seed")
        if answered:
            X, y = result
            assert np.isfinite(X).all() and len(X) == len(y) and (n_points is None or len(X) == n_points)


@pytest.fixture(scope="module")
def digits():
    return images.load_dataset("digits")


@FEW
@given(rows=st.integers(0, 30), digit=numbers, n_components=numbers, n_points=st.one_of(st.none(), numbers),
       fault=st.sampled_from((None, None, "nan", "complex", "flat")))
def test_one_vs_rest_pca_projects_or_refuses(digits, rows, digit, n_components, n_points, fault):
    pixels, classes = digits[0][:rows].copy(), digits[1][:rows]
    if fault == "nan" and rows:
        pixels[0, 0, 0, 0] = np.nan
    elif fault == "complex":
        pixels = pixels * (1 + 1j)
    elif fault == "flat":
        pixels = pixels.reshape(rows, 64)
    answered, result = answer_or_refusal(
        lambda: images.one_vs_rest_pca(pixels, classes, digit, n_components, n_points=n_points),
        "images", "labels", "digit", "n_components", "n_points")
    if answered:
        X, y = result
        assert fault in (None, "flat") and np.isfinite(X).all() and set(np.unique(y)) <= {0, 1}


# ---------------------------------------------------------------------------- tables at their edges
EDGES = ("as is", "as is", "empty", "one row", "nan", "all nan", "inf", "huge", "negative", "fraction",
         "text", "no column", "no columns", "duplicated", "shuffled", "not a table")


def edge_table(table: pd.DataFrame, edge: str, column: str, rng) -> pd.DataFrame:
    """``table`` broken at one edge: emptied, cut to one row, a value of ``column`` made NaN,
    infinite, huge, negative, fractional or text, the column dropped, every column dropped,
    rows duplicated or shuffled, or no table at all."""
    table = table.copy()
    row = table.index[rng.integers(len(table))] if len(table) else None
    if edge == "empty":
        return table.iloc[:0]
    if edge == "one row":
        return table.iloc[:1]
    if edge in ("nan", "inf", "huge", "negative", "fraction") and row is not None:
        numeric = table[column].dtype.kind in "biuf"
        table[column] = table[column].astype(float if numeric else object)
        table.loc[row, column] = {"nan": np.nan, "inf": np.inf, "huge": 1e300, "negative": -1.0,
                                  "fraction": 0.5}[edge]
    elif edge == "all nan":
        table[column] = np.nan
    elif edge == "text":
        table[column] = table[column].astype(str)
    elif edge == "no column":
        table = table.drop(columns=column)
    elif edge == "no columns":
        table = pd.DataFrame()
    elif edge == "duplicated":
        table = pd.concat([table, table], ignore_index=True)
    elif edge == "shuffled":
        table = table.iloc[rng.permutation(len(table))].reset_index(drop=True)
    elif edge == "not a table":
        return table.to_dict("records")
    return table


NETWORK = list(simplification.NETWORK)


@pytest.fixture(autouse=True, scope="module")
def fewer_simulations():
    """The verdicts' sensitivity simulations with 20 draws instead of 300: the same code on the
    same inputs, in a tenth of the time (what is tested here is how the inputs are read)."""
    full = verdicts.minimum_detectable_shift
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verdicts, "minimum_detectable_shift",
                      lambda *args, **kwargs: full(*args, **{**kwargs, "n_simulations": 20}))
        yield


@st.composite
def betti_tables(draw):
    """Chapter 2's tidy Betti tables: networks (two activations, two architectures, seeds) read
    at depths 0..L for two classes in dimensions 0 and 1, values 0..3."""
    rows = []
    for architecture, depth in (("2×15", 2), ("3×15", 3)):
        for activation in ("relu", "tanh"):
            for seed in range(draw(st.integers(1, 2))):
                for d in range(depth + 1):
                    for label in (0, 1):
                        for dim in (0, 1):
                            rows.append({"problem": "D-I", "architecture": architecture, "activation": activation,
                                         "seed": seed, "layer": f"layer {d}", "depth": d, "label": label,
                                         "dim": dim, "betti": draw(st.integers(dim == 0, 3 - 2 * (d == depth)))})
    return pd.DataFrame(rows)


def _with_layers(betti):
    """``betti`` with each row's number of layers, as a sweep's table has it."""
    if not isinstance(betti, pd.DataFrame) or "depth" not in betti:
        return betti
    return betti.assign(n_layers=betti["depth"].max())


def _judged_in_words(rows):
    """Comparison rows judge into verdicts, and their words quote no NaN as a number."""
    table, found = verdicts.chapter_verdicts(rows)
    assert set(found.values()) <= set(runs.VERDICTS)
    evidence = verdicts.describe(table)
    assert "nan" not in evidence.lower(), evidence


@FEWER
@given(table=betti_tables(), edge=st.sampled_from(EDGES), column=st.sampled_from(("betti", "depth", "dim", "label",
                                                                                  "seed", "activation")),
       seed=st.integers(0, 2**16))
def test_chapter_twos_claims_read_betti_tables_or_refuse(table, edge, column, seed):
    betti = edge_table(table, edge, column, np.random.default_rng(seed))
    answered, rows = answer_or_refusal(lambda: simplification.claim_simplifies(betti), "betti", "table")
    if answered:
        _judged_in_words(rows)
        if edge in ("shuffled", "duplicated"):  # the same networks: the same verdict
            reference = verdicts.chapter_verdicts(simplification.claim_simplifies(table))[1]
            assert verdicts.chapter_verdicts(rows)[1] == reference
        if edge == "as is":  # against topology.simplification, another reading of the same table
            ends = readings.end_reduction(betti)
            per_class = topology.simplification(betti, by=NETWORK)
            expected = per_class.groupby(NETWORK)["simplified"].all()
            got = ends.set_index(NETWORK)["simple"].astype(bool)
            pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    answered, area = answer_or_refusal(lambda: readings.simplification_area(betti), "betti", "table")
    if answered:
        assert (area["area"].dropna() >= 0).all()  # a simple class has no excess; none has less
        for claim in (lambda: simplification.claim_activation_order(area, ("relu", "tanh")),
                      lambda: simplification.claim_width(area, ["2×15", "3×15"], None, "2×15")):
            answered_claim, claim_rows = answer_or_refusal(claim)
            if answered_claim:
                _judged_in_words(claim_rows)
    answered, concentration = answer_or_refusal(lambda: simplification.end_concentration(betti), "betti", "table",
                                                "depths")
    if answered:
        assert (concentration["concentration"].dropna() <= 1 + 1e-12).all()
        _judged_in_words(simplification.claim_depth(concentration, ["2×15", "3×15"]))
    for figure in (lambda: plotting.betti_by_layer(betti, series="activation"),
                   lambda: plotting.total_by_relative_depth(_with_layers(betti), series="activation",
                                                            by=("architecture", "seed")),
                   lambda: simplification.paper_comparison(betti, "D-I", "3×15")):
        answer_or_refusal(figure, "betti", "table", "columns")


# ---------------------------------------------------------------------------- the verdict rules
probabilities = st.lists(st.one_of(st.floats(0, 1), st.sampled_from((0.0, 1.0, np.nan, 1e-300))), max_size=8)


def holm_by_definition(p):
    """Holm's adjustment written from its definition: the running maximum over the sorted
    p-values of min(1, (m - rank) * p), NaN left out."""
    p = np.asarray(p, dtype=float)
    adjusted = np.full(len(p), np.nan)
    valid = [i for i in np.argsort(p, kind="stable") if not np.isnan(p[i])]
    for rank, index in enumerate(valid):
        adjusted[index] = max(min(1.0, (len(valid) - r) * p[j]) for r, j in enumerate(valid[:rank + 1]))
    return adjusted


@FEW
@given(p=st.one_of(probabilities, st.lists(numbers, max_size=5)))
def test_holm_adjusts_probabilities_by_its_definition_or_refuses(p):
    answered, adjusted = answer_or_refusal(lambda: verdicts.holm(p), "p_values")
    if answered:
        np.testing.assert_allclose(adjusted, holm_by_definition(p), rtol=1e-12)
        valid = ~np.isnan(adjusted)
        assert (adjusted[valid] >= np.asarray(p, dtype=float)[valid]).all() and (adjusted[valid] <= 1).all()


@FEW
@given(successes=numbers, n=numbers)
def test_share_claim_counts_or_refuses(successes, n):
    answered, result = answer_or_refusal(lambda: verdicts.share_claim(successes, n), "successes", "n=")
    if answered:
        verdict, facts = result
        assert verdict in runs.VERDICTS and is_count(n, 0) and is_count(successes, 0) and successes <= n
        assert (verdict == "untestable") == (n == 0)
        assert n == 0 or facts["low"] <= facts["share"] <= facts["high"]


differences = st.lists(st.one_of(st.floats(-1, 1), st.sampled_from(SPECIAL)), max_size=6)


@FEW
@given(comparisons=st.dictionaries(names, st.one_of(differences, st.tuples(differences, st.sampled_from(
    (None, "no network memorised")))), max_size=3), interest=numbers)
def test_paired_claim_judges_differences_or_refuses(comparisons, interest):
    answered, result = answer_or_refusal(lambda: verdicts.paired_claim(comparisons, interest=interest),
                                         "interest", "differences", "comparison")
    if answered:
        verdict, table = result
        assert verdict in runs.VERDICTS and len(table) == len(comparisons)
        p = table[["p", "p_holm", "p_reverse_holm"]].to_numpy(float)
        assert ((p[~np.isnan(p)] >= 0) & (p[~np.isnan(p)] <= 1)).all()
        assert np.isfinite(table["mean_difference"].astype(float).dropna()).all()
        text = verdicts.describe_paired(table)
        assert isinstance(text, str) and " nan" not in text


@st.composite
def ordering_tables(draw):
    groups = draw(st.lists(st.sampled_from(("relu", "tanh", "sigmoid")), min_size=0, max_size=10))
    values = draw(st.lists(st.one_of(st.integers(1, 6).map(float), st.sampled_from(SPECIAL)), min_size=len(groups),
                           max_size=len(groups)))
    return pd.DataFrame({"activation": groups, "layers": values,
                         "censored": draw(st.lists(st.booleans(), min_size=len(groups), max_size=len(groups)))})


@FEW
@given(table=ordering_tables(), interest=numbers, cap=st.one_of(st.none(), numbers),
       pairs=st.lists(st.tuples(st.sampled_from(("relu", "tanh", "gelu")), st.sampled_from(("tanh", "sigmoid"))),
                      max_size=2))
def test_ordering_claim_judges_groups_or_refuses(table, interest, cap, pairs):
    answered, result = answer_or_refusal(
        lambda: verdicts.ordering_claim(table, "activation", "layers", pairs, interest=interest,
                                        censored="censored", cap=cap),
        "interest", "cap", "values", "layers", "pairs")
    if answered:
        verdict, out = result
        assert verdict in runs.VERDICTS and len(out) == len(pairs)
        assert isinstance(verdicts.describe_comparisons(out), str)


@FEW
@given(statuses=st.lists(st.one_of(st.sampled_from(verdicts.STATUSES), names), max_size=4))
def test_claim_verdict_reads_statuses_or_refuses(statuses):
    answered, verdict = answer_or_refusal(lambda: verdicts.claim_verdict(statuses), "status")
    assert not answered or (verdict in runs.VERDICTS and set(statuses) <= set(verdicts.STATUSES))


# ---------------------------------------------------------------------------- results files
values = st.recursive(st.one_of(numbers, st.text(max_size=5), st.just(np.array([1.0, np.nan])),
                                st.just(torch.tensor([2.0, np.inf])), st.just(object())),
                      lambda inner: st.one_of(st.lists(inner, max_size=3),
                                              st.dictionaries(st.text(max_size=3), inner, max_size=3)), max_leaves=6)


@FEW
@given(name=names, value=values, verdict=st.one_of(st.sampled_from(runs.VERDICTS), names))
def test_results_hold_what_json_can_or_refuse(name, value, verdict, tmp_path_factory):
    import json

    runs.reset()
    answered, stored = answer_or_refusal(lambda: runs.record(name, value), "record")
    if answered:
        json.dumps(stored, allow_nan=False)  # no NaN or infinity reaches the results file
    answered, _ = answer_or_refusal(lambda: runs.record_claim(name, "a claim", verdict, "because"), "verdict")
    assert answered == (verdict in runs.VERDICTS)
    path = runs.save_results(tmp_path_factory.getbasetemp() / "results.json", "01_x")
    assert json.loads(path.read_text())["values"] == json.loads(json.dumps(runs.results()["values"]))
    runs.reset()


# ---------------------------------------------------------------------------- trust, dynamics, reference tables
def _checks_table(rng, n_depths=3):
    """A stacked :func:`tdnn_utils.trust.check_network` table of two activations."""
    rows = []
    for activation in ("relu", "tanh"):
        for depth in range(n_depths):
            for label in (0, 1):
                betti = tuple(int(b) for b in rng.integers(0, 3, 2))
                ok = bool(rng.random() < 0.7)
                rows.append({"problem": "D-I", "architecture": "2×15", "activation": activation, "depth": depth,
                             "layer": f"layer {depth}", "label": label, "width": 15, "distinct": 40,
                             "betti": betti, "betti_k_low": betti, "betti_k_high": betti, "betti_cross": betti,
                             "possible": True, "stable": ok, "agrees": ok, "ok": ok})
    return pd.DataFrame(rows)


@FEW
@given(edge=st.sampled_from(EDGES), column=st.sampled_from(("ok", "depth", "activation", "betti", "stable")),
       seed=st.integers(0, 2**16))
def test_trust_tables_are_read_or_refused(edge, column, seed):
    rng = np.random.default_rng(seed)
    by = ["problem", "architecture", "activation"]
    checks = edge_table(_checks_table(rng), edge, column, rng)
    answered, trust_table = answer_or_refusal(lambda: trust.layer_trust(checks, by=by), "checks")
    if answered:
        assert ((trust_table["ok"] >= 0) & (trust_table["ok"] <= 1)).all()
        answer_or_refusal(lambda: plotting.trust_map(trust_table), "table")
        trusted = answer_or_refusal(lambda: simplification.trusted_depths(trust_table), "trust")[1]
        if isinstance(trusted, pd.DataFrame):
            answer_or_refusal(lambda: trust.trusted_only(_betti_of(checks), trusted, by=["problem", "architecture"]),
                              "trust", "betti")
    answered, long = answer_or_refusal(lambda: trust.readings_long(checks, by=by), "checks")
    if answered:
        answered, moved = answer_or_refusal(lambda: trust.k_dependence(long), "readings")
        assert not answered or not moved["means"] or 0 <= moved["moved"] <= 1


def _betti_of(checks):
    if not isinstance(checks, pd.DataFrame) or "betti" not in checks or checks.empty:
        return pd.DataFrame(columns=["problem", "architecture", "depth", "betti"])
    return checks[["problem", "architecture", "depth"]].assign(betti=1)


def _summaries(rng):
    rows = [{"family": family, "seed": seed, "epoch": epoch, "dim": dim, "block": f"block {depth}", "depth": depth,
             "fraction": depth / 5, "normalised_persistence": float(rng.random())}
            for family in ("lenet", "resnet") for seed in (0, 1) for epoch in (0, 3) for dim in (0, 1)
            for depth in range(6)]
    return pd.DataFrame(rows)


@FEWER
@given(edge=st.sampled_from(EDGES), column=st.sampled_from(("normalised_persistence", "fraction", "epoch", "dim",
                                                            "family")),
       seed=st.integers(0, 2**16), epoch=numbers)
def test_dynamics_tables_are_read_or_refused(edge, column, seed, epoch):
    rng = np.random.default_rng(seed)
    summaries = edge_table(_summaries(rng), edge, column, rng)
    answered, profiles = answer_or_refusal(lambda: dynamics.depth_profiles(summaries, epoch), "summaries", "epoch",
                                           "layers")
    if answered:
        assert (profiles["falls_then_rises"] == ((profiles["fall"] > 0) & (profiles["rise"] > 0))).all()
        assert not profiles[["early", "middle", "late"]].isna().to_numpy().any()
    answer_or_refusal(lambda: plotting.depth_epoch_heatmap(summaries), "summaries")
    networks = edge_table(pd.DataFrame({"family": ["lenet", "lenet", "resnet", "resnet"], "gap": rng.random(4),
                                        "x": rng.random(4)}), edge, "x" if column != "family" else "family", rng)
    answered, predicted = answer_or_refusal(lambda: dynamics.gap_predictions(networks, {"x": ["x"], "mean": []}),
                                            "table", "family", "predictor", "gap")
    if answered:
        assert set(predicted.columns) >= {"pred_x", "error_mean"}


@FEW
@given(count=numbers, minimum=numbers, what=names)
def test_precondition_met_counts_or_refuses(count, minimum, what):
    answered, reason = answer_or_refusal(lambda: dynamics.precondition_met(count, minimum, what), "count", "minimum")
    if answered:
        assert is_count(count, 0) and is_count(minimum, 0)
        assert (reason is None) == (count >= max(1, minimum))


@FEW
@given(edge=st.sampled_from(EDGES), column=st.sampled_from(("accuracy", "activation", "seed")), seed=st.integers(0, 9))
def test_seed_agreement_compares_or_refuses(edge, column, seed):
    rng = np.random.default_rng(seed)
    ours = pd.DataFrame({"activation": ["relu", "relu", "tanh", "tanh"], "seed": [0, 1, 0, 1],
                         "accuracy": rng.random(4)})
    theirs = ours.assign(accuracy=rng.random(4))
    broken = edge_table(ours, edge, column, rng)
    answered, table = answer_or_refusal(lambda: reference.seed_agreement(broken, theirs, ["activation"], "accuracy"),
                                        "ours", "accuracy")
    if answered:
        read = table.dropna(subset=["ours_min", "gdeep_min"])
        assert len(read) == len(table), "a group without values is not a disagreement"
        assert (table["agrees"] == ((table["ours_min"] <= table["gdeep_max"])
                                    & (table["gdeep_min"] <= table["ours_max"]))).all()


# ---------------------------------------------------------------------------- the other chapters' plumbing
@FEW
@given(name=names, n_points=numbers, per_class=st.booleans(), stage=st.one_of(st.sampled_from(("pre", "post")), names),
       metric=st.one_of(st.sampled_from(("threshold", "knn")), names), scale=numbers, k=numbers)
def test_ablation_readings_are_built_or_refused(name, n_points, per_class, stage, metric, scale, k):
    answered, reading = answer_or_refusal(
        lambda: ablation.Reading(name, n_points, per_class, stage, metric, scale, k),
        "Reading", "n_points", "scale", "stage", "metric", "k")
    if answered:
        labels = np.repeat([0, 1], 10)
        answered, index = answer_or_refusal(lambda: ablation.sample_indices(labels, reading), "n_points")
        if answered:
            assert len(np.unique(index)) == len(index) == n_points * (2 if per_class else 1)
    answered, steps = answer_or_refusal(lambda: ablation.ablation_steps(
        tutorial_points=n_points, dense_points=n_points, threshold=scale, k=k, hops=scale),
        "points", "n_points", "scale", "k", "threshold")
    assert not answered or len(steps) == 6


@FEW
@given(X=edge_arrays(max_rows=8, max_features=3), thresholds=st.lists(numbers, max_size=3))
def test_ablation_reads_clouds_or_refuses(X, thresholds):
    answered, sweep_ = answer_or_refusal(lambda: ablation.threshold_sweep({"c": X}, {"c": (1, 0)}, thresholds),
                                         "thresholds", "X", "points")
    if answered:
        assert accepted(X) and len(sweep_) == len(thresholds)
        assert set(ablation.recovering_thresholds(sweep_)) <= {float(t) for t in thresholds}
    reading = ablation.Reading("r", 2, True, "post", "threshold", 1.0)
    labels = np.arange(len(X)) % 2 if X.ndim >= 1 else X
    answered, table = answer_or_refusal(lambda: ablation.read_input(X, labels, reading), "X", "n_points", "labels")
    if answered:
        assert accepted(X) and (table["betti"] >= 0).all()


@FEW
@given(steps=numbers, lr=numbers, n_train=numbers, image_size=st.one_of(st.none(), numbers),
       alphas=st.lists(numbers, max_size=2), tt_alpha=numbers, weights=st.dictionaries(
           st.sampled_from(("logit_norm", "label_smoothing")), numbers, max_size=2), family=names)
def test_chapter_fours_plans_are_built_or_refused(steps, lr, n_train, image_size, alphas, tt_alpha, weights, family,
                                                   tmp_path_factory):
    answered, recipe = answer_or_refusal(lambda: regularization.Recipe(steps=steps, lr=lr), "steps", "lr")
    assert answered == (is_count(steps) and isinstance(lr, (int, float, np.floating)) and not isinstance(lr, bool)
                        and math.isfinite(lr) and lr > 0)
    answered, data = answer_or_refusal(lambda: regularization.DataSpec(n_train=n_train, image_size=image_size),
                                       "n_train", "image_size")
    answered_plan, plan = answer_or_refusal(lambda: regularization.plan_arms(alphas, tt_alpha), "alpha")
    if answered_plan:
        assert all(math.isfinite(arm.weight) and arm.weight >= 0 for arms in plan[:2] for arm in arms)
    answered_controls, controls = answer_or_refusal(lambda: regularization.control_arms(weights), "weight", "eps")
    if answered_controls:
        assert all(math.isfinite(arm.weight) and arm.weight > 0 for arm in controls)
    if recipe is not None and answered and answered_plan and not isinstance(recipe, Exception) \
            and not isinstance(data, Exception):
        answered, jobs = answer_or_refusal(lambda: regularization.jobs(plan[0], [family], [0], size="tiny",
                                                                      recipe=recipe, data=data), "family", "size")
        if answered:
            cache = tmp_path_factory.getbasetemp() / "cache"
            assert all(cache in job.path(cache).parents for job in jobs)


def _records(rng):
    rows = [{"family": family, "arm": arm, "seed": seed, "loss": "none" if arm == "baseline" else arm,
             "batches": "random", "test_accuracy": float(rng.random()), "pull_total_persistence": float(rng.random()),
             "pull_logit_norm": float(rng.random()), "pull_label_smoothing": float(rng.random())}
            for family in ("resnet", "lenet") for arm in ("baseline", "omega") for seed in range(3)]
    return pd.DataFrame(rows)


@FEW
@given(edge=st.sampled_from(EDGES), column=st.sampled_from(("test_accuracy", "seed", "arm", "family",
                                                            "pull_logit_norm")),
       seed=st.integers(0, 2**16), interest=numbers, alpha=numbers)
def test_chapter_fours_judgements_read_records_or_refuse(edge, column, seed, interest, alpha):
    rng = np.random.default_rng(seed)
    records = edge_table(_records(rng), edge, column, rng)
    answered, rows = answer_or_refusal(
        lambda: regularization.effects(records, [("omega", "baseline")], delta=interest), "records", "delta",
        "differences")
    if answered:
        table, judged = verdicts.chapter_verdicts(verdicts.labelled("chapter 4", "accuracy", rows))
        assert set(judged.values()) <= set(verdicts.VERDICTS)
        text = verdicts.describe(table, scale=100, unit=" points")
        assert isinstance(text, str) and " nan" not in text
    answered, weights = answer_or_refusal(lambda: regularization.matched_weights(records, alpha), "records", "alpha",
                                          "baseline")
    if answered:
        assert all(w is None or (math.isfinite(w) and w > 0) for entry in weights.values()
                   for k, w in entry.items() if k != "baselines")


# ---------------------------------------------------------------------------- sweeps
@FEW
@given(depths=st.lists(numbers, max_size=2), widths=st.lists(numbers, max_size=2), bottleneck=st.booleans(),
       base_depth=numbers, seeds=st.one_of(numbers, st.lists(numbers, max_size=3)),
       activations=st.lists(st.one_of(st.sampled_from(sorted(ACTIVATIONS)), names), max_size=2))
def test_sweep_grids_are_built_or_refused(depths, widths, bottleneck, base_depth, seeds, activations):
    answered, architectures = answer_or_refusal(
        lambda: sweep.architectures(depths, widths, bottleneck=bottleneck, base_depth=base_depth),
        "depth", "width", "base_depth", "bottleneck")
    if answered:
        assert all(len(hidden) >= 1 and all(is_count(w) for w in hidden) for hidden in architectures.values())
        answered, specs = answer_or_refusal(lambda: sweep.grid(["D-I"], architectures, activations, seeds),
                                            "seed", "activation")
        if answered:
            assert all(is_count(s.seed, 0) and s.activation in ACTIVATIONS for s in specs)


@FEW
@given(X=edge_arrays(max_rows=8, max_features=2), y=labels, k=numbers, scale=numbers, maxdim=numbers)
def test_sweep_problems_are_built_or_refused(X, y, k, scale, maxdim):
    answered, problem = answer_or_refusal(
        lambda: sweep.Problem("p", X, y, X, y, k=k, scale=scale, maxdim=maxdim),
        "X_", "y_", "k=", "scale", "maxdim")
    if answered:
        assert accepted(X) and is_count(k) and problem.y_train.dtype == np.int64
        np.testing.assert_array_equal(problem.y_train, np.asarray(y))  # labels kept, never truncated
        assert math.isfinite(problem.scale) and problem.scale > 0 and problem.maxdim in (0, 1, 2)


@FEW
@given(settings_=st.dictionaries(st.sampled_from(("hidden", "k_min", "k_max", "scale", "maxdim", "seeds", "lr", "steps",
                                                  "train_every", "patience", "init", "bogus")),
                                 st.one_of(numbers, st.lists(numbers, max_size=3), names), max_size=3))
def test_chapter_twos_setups_are_built_or_refused(settings_):
    answered, setup = answer_or_refusal(lambda: simplification.Setup.from_mapping("D-I", settings_), "D-I")
    if answered:
        assert all(is_count(w) for w in setup.hidden) and all(is_count(k) for k in setup.k_candidates)
        assert math.isfinite(setup.scale) and setup.scale > 0 and setup.maxdim in (0, 1, 2)
        assert is_count(setup.steps) and math.isfinite(setup.lr) and setup.lr > 0


# ---------------------------------------------------------------------------- figures and the rest
def _long_table(rng):
    return pd.DataFrame({"activation": ["relu", "tanh"] * 4, "epoch": [0, 0, 3, 3] * 2, "dim": [0] * 4 + [1] * 4,
                         "depth": [1, 2] * 4, "epsilon": rng.random(8), "betti": rng.integers(0, 4, 8).astype(float),
                         "layers": rng.random(8), "seed": [0, 1] * 4})


@FEWER
@given(edge=st.sampled_from(EDGES), column=st.sampled_from(("betti", "epsilon", "epoch", "dim", "activation")),
       seed=st.integers(0, 2**16), X=edge_arrays(max_rows=5, max_features=3))
def test_figures_draw_their_tables_or_refuse(edge, column, seed, X):
    rng = np.random.default_rng(seed)
    table = edge_table(_long_table(rng), edge, column, rng)
    for figure in (lambda: plotting.by_group(table, x="activation", y="betti", color="dim"),
                   lambda: plotting.lines(table, x="depth", y="betti", series="activation", facet="dim"),
                   lambda: plotting.scatter(table, x="epsilon", y="betti", color="activation", facet="dim"),
                   lambda: plotting.curves_by_epoch(table, null=table),
                   lambda: plotting.point_cloud(X, np.arange(len(X)) % 2 if X.ndim else X),
                   lambda: plotting.persistence_diagrams({"input": [X, X]}),
                   lambda: plotting.reference_points(plotting.go.Figure(), X.ravel()[:2], X.ravel()[:2])):
        answered, fig = answer_or_refusal(figure, "table", "values", "curves", "null", "X", "diagram", "point_cloud",
                                          "x ", "dgm")
        if answered:
            plotting.show(fig)  # the book's display bundle: JSON without NaN tricks


@FEWER
@given(weight=numbers, smoothing=numbers, target=st.one_of(st.sampled_from(("logits", "features")), names),
       engine=names, steps=numbers, lr=numbers, batch_size=st.one_of(st.none(), numbers))
def test_objectives_engines_and_protocols_are_chosen_or_refused(weight, smoothing, target, engine, steps, lr,
                                                                batch_size, monkeypatch_engine):
    answered, objective = answer_or_refusal(
        lambda: regularizers.Objective(regularizers.LogitNormLoss(), weight, target, smoothing),
        "weight", "label_smoothing", "target")
    if answered:
        assert 0 <= objective.weight < math.inf and 0 <= objective.label_smoothing < 1
    answered, name = answer_or_refusal(lambda: monkeypatch_engine(engine), "TDNN_ENGINE")
    assert not answered or name in ("giotto-ph", "gudhi")
    answered, protocol = answer_or_refusal(lambda: sweep.Protocol(steps=steps, lr=lr, batch_size=batch_size),
                                           "Protocol")
    if answered:
        assert is_count(protocol.steps) and math.isfinite(protocol.lr) and protocol.lr > 0
    answered, _ = answer_or_refusal(lambda: sweep.combine([]), "combine")
    assert not answered


@pytest.fixture(scope="module")
def monkeypatch_engine():
    """The default engine as TDNN_ENGINE names it (restored afterwards)."""
    from tdnn_utils import engines

    def default_under(name):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(engines.ENVIRONMENT_VARIABLE, name)
            patch.setattr(engines, "_chosen", None)
            return engines.default_engine()
    return default_under


@FEWER
@given(name=names, scale=numbers, candidates=st.lists(numbers, max_size=3), truth=st.lists(numbers, max_size=3))
def test_calibration_reference_and_recovery_read_what_they_are_given_or_refuse(name, scale, candidates, truth,
                                                                               tmp_path_factory):
    circle = np.column_stack([np.cos(np.linspace(0, 6, 12)), np.sin(np.linspace(0, 6, 12))])
    answered, result = answer_or_refusal(
        lambda: topology.calibrate_k({0: circle}, {0: (1, 1)}, candidates, scale=scale), "k=", "scale", "candidates")
    if answered:
        k, table = result
        assert k is None or (k in candidates and table["correct"].iloc[-1])
    folder = tmp_path_factory.getbasetemp()
    (folder / "broken.json").write_text("{not json")
    for path in (folder / "broken.json", folder / str(name)[:20]):
        try:
            reference.load_gdeep_reference(path)
        except (FileNotFoundError, IsADirectoryError):
            pass
        except ValueError as error:
            assert str(path) in str(error) or "path" in str(error)
    answered, recovery = answer_or_refusal(lambda: ablation.input_recovery(
        pd.DataFrame({"step": ["r"] * 2, "label": [0, 0], "dim": [0, 1], "betti": [1, 1]}), truth,
        [ablation.Reading("r", 2, True, "post", "threshold", 1.0)]), "truth")
    if answered:
        assert recovery["recovered"].tolist() == [list(recovery["measured"].iloc[0]) == list(recovery["true"].iloc[0])]
