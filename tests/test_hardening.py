"""Bad input, faults and safety: every entry point fails early and clearly, or answers honestly.

One section per class of failure a user meets: silent wrong answers, errors from deep inside,
resources, safety, verdicts from no data, and file readers. The shared checks themselves are
in :mod:`tdnn_utils.validation` (property tests in ``test_properties.py``).
"""

import gzip
import io
import json
import os
import pickle
import struct
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tdnn_utils import (ablation, datasets, dynamics, engines, ensemble, functional, images, paper, plotting, readings, reference,
                        regularization, regularizers, simplification, sweep, topology, trust, validation, verdicts)
from tdnn_utils.models import FFNet, layer_activations
from tdnn_utils.training import accuracy, fit, fit_until_perfect, seed_everything


def blobs(n=20, d=3, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


# ---------------------------------------------------------------------------- silent wrong answers
GIOTTO_TDA = np.array([[0.0, 1.0, 0], [0.0, 0.5, 0], [0.2, 0.9, 1], [0.3, 0.4, 1], [0.0, 0.0, 1]])


@pytest.mark.parametrize("summary", [
    lambda d, **kw: topology.betti_at(d, 0.45, **kw),
    lambda d, **kw: topology.total_persistence(d, **kw),
    lambda d, **kw: topology.persistence_entropy(d, **kw),
    lambda d, **kw: topology.betti_curve(d, [0.1, 0.45], **kw),
])
def test_giotto_tda_diagrams_with_a_dimension_column_need_the_dimension(summary):
    with pytest.raises(ValueError, match=r"shape \(5, 3\).*dimension="):
        summary(GIOTTO_TDA)
    for dim in (0, 1):
        plain = GIOTTO_TDA[GIOTTO_TDA[:, 2] == dim, :2]
        np.testing.assert_equal(summary(GIOTTO_TDA, dimension=dim), summary(plain))


def test_giotto_tda_diagrams_give_the_right_numbers():
    assert topology.betti_at(GIOTTO_TDA, 0.45, dimension=1) == 1  # (0.2, 0.9); (0.3, 0.4) is dead
    assert topology.total_persistence(GIOTTO_TDA, dimension=0) == pytest.approx(1.5)
    assert topology.total_persistence(np.zeros((0, 2))) == 0.0  # no bar: 0, never -inf


@pytest.mark.parametrize("bad, message", [
    (np.array([[0.0, 1.0, 2.0, 3.0]]), r"shape \(1, 4\)"),
    (np.array([[0.5, 0.2]]), "die before they are born"),
    (np.array([[np.nan, 1.0]]), "NaN"),
    (np.array([[np.inf, np.inf]]), "infinite births"),
    ([np.zeros((2, 2)), np.zeros((3, 2))], "list of diagrams"),
])
def test_malformed_diagrams_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        topology.betti_at(bad, 0.5)


def test_ffnet_refuses_fractional_or_missing_widths():
    for widths in ([3, 2.7, 2], [3, 0, 2], [3], 5, "32", [3, True, 2]):
        with pytest.raises(ValueError, match="widths"):
            FFNet(widths)


@pytest.mark.parametrize("batch_size", [-5, 0, 2.5, True])
def test_fit_refuses_a_batch_size_that_is_not_a_positive_integer(batch_size):
    X, y = blobs()
    with pytest.raises(ValueError, match=f"batch_size={batch_size!r}"):
        fit(FFNet([3, 4, 2]), X, y, steps=3, batch_size=batch_size, progress=False)


def test_fit_refuses_fractional_labels_and_bad_learning_rates():
    X, y = blobs()
    with pytest.raises(ValueError, match="whole class numbers"):
        fit(FFNet([3, 4, 2]), X, y + 0.5, steps=1, progress=False)
    with pytest.raises(ValueError, match="lr=-0.1"):
        fit(FFNet([3, 4, 2]), X, y, steps=1, lr=-0.1, progress=False)
    history = fit(FFNet([3, 4, 2]), X, y.astype(float), steps=2, progress=False)  # 0.0 and 1.0 are labels
    assert np.isfinite(history.loss).all()


def test_cifar_batch_with_fewer_labels_than_images_is_refused(tmp_path):
    with open(tmp_path / "test_batch", "wb") as handle:
        pickle.dump({b"data": np.zeros((4, 3072), np.uint8), b"labels": [1, 2]}, handle)
    with pytest.raises(ValueError, match=r"counts disagree.*test_batch: 4 images but 2 labels"):
        images.load_cifar10(tmp_path, "test")


def test_regularization_effects_on_no_records_are_none():
    empty = pd.DataFrame(columns=["family", "arm", "seed", "test_accuracy"])
    assert regularization.effects(empty, [("x", "baseline")], delta=0.01) == {}
    assert verdicts.chapter_verdicts(verdicts.labelled("f", "c", {}))[1] == {}
    with pytest.raises(ValueError, match=r"lack columns \['test_accuracy'\]"):
        regularization.effects(pd.DataFrame({"family": ["f"], "arm": ["x"], "seed": [0]}), [("x", "baseline")],
                               delta=0.01)


# ---------------------------------------------------------------------------- errors from deep inside
def test_point_clouds_without_features_or_points_are_refused():
    for call in (lambda X: topology.betti_numbers(X, 1.0), lambda X: topology.persistence(X),
                 topology.median_distance, topology.distance_matrix):
        with pytest.raises(ValueError, match=r"shape \(5, 0\).*no coordinates"):
            call(np.zeros((5, 0)))
        with pytest.raises(ValueError, match="2-D"):
            call(np.zeros(5))
    with pytest.raises(ValueError, match="1 points; at least 2"):
        topology.persistence(np.zeros((1, 2)))


@pytest.mark.parametrize("metric, k", [("euclidean", None), ("hop", 3)])
@pytest.mark.parametrize("thresh", [-1, 0, np.nan, "far"])
def test_thresholds_must_be_positive(metric, k, thresh):
    X, _ = blobs()
    with pytest.raises(ValueError, match="thresh=.*positive number or np.inf"):
        topology.persistence(X, metric=metric, k=k, thresh=thresh)


def test_scales_must_be_positive_numbers():
    X, _ = blobs()
    for scale in (0, -2, np.inf, "big", None):
        with pytest.raises(ValueError, match="scale="):
            topology.betti_numbers(X, scale)


def test_betti_by_layer_refuses_column_vector_labels():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"labels must be 1-D.*\(20, 1\).*ravel"):
        topology.betti_by_layer({"input": X}, y[:, None], 1.0)
    with pytest.raises(ValueError, match="activations is empty"):
        topology.betti_by_layer({}, y, 1.0)
    with pytest.raises(ValueError, match="labels is empty"):
        topology.betti_by_layer({"input": X[:0]}, y[:0], 1.0)


def test_a_label_beyond_the_logits_is_refused_before_training():
    X, y = blobs()
    y[-1] = 5
    with pytest.raises(ValueError, match=r"labels \[5\].*2 outputs.*0..1"):
        fit(FFNet([3, 4, 2]), X, y, steps=3, progress=False)
    with pytest.raises(ValueError, match=r"labels \[5\].*2 outputs"):
        fit_until_perfect(lambda: FFNet([3, 4, 2]), X, y, steps=3, progress=False)
    with pytest.raises(ValueError, match=r"labels \[0, 1, 5\].*0..1"):
        ensemble.fit_ensemble([3, 4, 2], "relu", X, y, [0, 1], steps=3, progress=False)
    with pytest.raises(ValueError, match="negative labels"):
        fit(FFNet([3, 4, 2]), X, -np.abs(y), steps=3, progress=False)


def test_a_label_beyond_a_cnns_logits_is_found_from_the_model():
    from tdnn_utils import cnn

    torch.manual_seed(0)
    model = cnn.build("resnet", "tiny", num_classes=3, in_channels=1)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    X = np.random.default_rng(0).random((6, 1, 8, 8)).astype(np.float32)
    with pytest.raises(ValueError, match=r"labels \[7\].*3 outputs"):
        fit(model, X, np.array([0, 1, 2, 0, 1, 7]), steps=1, progress=False)
    for name, value in model.state_dict().items():  # reading the width changed nothing
        assert torch.equal(value, state[name]), name


def test_fit_refuses_an_empty_data_set_and_accuracy_a_bad_batch():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"n >= 1.*shape \(0, 3\)"):
        fit(FFNet([3, 4, 2]), X[:0], y[:0], steps=3, progress=False)
    with pytest.raises(ValueError, match="batch_size=0"):
        accuracy(FFNet([3, 4, 2]), X, y, batch_size=0)
    with pytest.raises(ValueError, match="batch_size=0"):
        layer_activations(FFNet([3, 4, 2]), X, batch_size=0)
    with pytest.raises(ValueError, match="at least one point"):
        layer_activations(FFNet([3, 4, 2]), X[:0])


def test_torch_topological_loss_of_an_empty_or_single_point_batch_is_zero():
    if not regularizers.torch_topological_available():
        pytest.skip("torch-topological is not installed")
    loss = regularizers.TorchTopologicalLoss(maxdim=1)
    for n in (0, 1):
        points = torch.zeros((n, 3), requires_grad=True)
        value = loss(points)
        value.backward()
        assert float(value.detach()) == 0.0 and torch.equal(points.grad, torch.zeros_like(points))


def test_scale_pull_checks_its_labels():
    logits = torch.randn(6, 3)
    with pytest.raises(ValueError, match=r"labels \[4\].*3 outputs"):
        regularizers.scale_pull(logits, torch.tensor([0, 1, 2, 0, 1, 4]))
    with pytest.raises(ValueError, match="5 entries for 6 points"):
        regularizers.scale_pull(logits, torch.tensor([0, 1, 2, 0, 1]))


# ---------------------------------------------------------------------------- resources
def test_dense_persistence_of_20000_points_is_refused_before_allocating(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the refusal must come before any distance is computed")

    monkeypatch.setattr(engines, "euclidean_distances", never)
    monkeypatch.setattr(engines, "rips", never)
    X = np.random.default_rng(0).normal(size=(20_000, 2))
    tracemalloc.start()
    try:
        with pytest.raises(validation.MemoryLimitError) as refused:
            topology.persistence(X, maxdim=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(refused.value)
    assert "20,000 points" in message and "GiB" in message
    assert "subsample" in message and "metric='hop'" in message and "thresh" in message
    assert peak < 50 * 2**20  # nothing near 20,000 x 20,000 was allocated
    assert isinstance(refused.value, MemoryError)


def test_every_dense_n_by_n_entry_point_checks_its_memory(monkeypatch):
    monkeypatch.setattr(validation, "MEMORY_LIMIT_BYTES", 2**20)  # 1 MiB: 362 points of float64 pairs
    X = np.random.default_rng(0).normal(size=(600, 3))
    calls = {
        "euclidean_distances": lambda: engines.euclidean_distances(X),
        "distance_matrix": lambda: topology.distance_matrix(X),
        "distance_matrix hop": lambda: topology.distance_matrix(X, "hop", k=5),
        "median_distance": lambda: topology.median_distance(X),
        "persistence hop without threshold": lambda: topology.persistence(X, metric="hop", k=5),
        "correlation_distance": lambda: functional.correlation_distance(X.T),
        "functional_persistence": lambda: functional.functional_persistence(signals=X.T[:, :600]),
        "pairing": lambda: regularizers.pairing(torch.as_tensor(X)),
    }
    if regularizers.torch_topological_available():
        calls["torch-topological"] = lambda: regularizers.TorchTopologicalLoss()(torch.as_tensor(X))
    for name, call in calls.items():
        with pytest.raises(validation.MemoryLimitError, match="MiB|GiB"):
            call()
    # a small call still runs, and a thresholded (sparse) one is not refused
    assert engines.euclidean_distances(X[:100]).shape == (100, 100)
    assert len(topology.persistence(X, thresh=0.3)) == 2


def test_the_memory_limit_follows_the_available_memory(monkeypatch):
    monkeypatch.setattr(validation, "available_memory", lambda: 3 * 2**20)
    with pytest.raises(validation.MemoryLimitError, match=r"3 MiB is available \(limit 4.0 GiB\).*do less"):
        validation.check_memory(5 * 2**20, "this", "do less")
    validation.check_memory(2 * 2**20, "this", "do less")


def test_lean_euclidean_distances_give_the_same_values():
    rng = np.random.default_rng(3)
    for X in (rng.normal(size=(300, 5)) * 1e3, rng.normal(size=(50, 784)), rng.integers(0, 3, (40, 2))):
        X = np.asarray(X, dtype=np.float64)
        X = X - (X.max(axis=0) / 2 + X.min(axis=0) / 2)  # centred, as euclidean_distances does
        squared = (X * X).sum(axis=1)
        expected = np.sqrt(np.clip(squared[:, None] + squared[None, :] - 2.0 * X @ X.T, 0.0, None))
        np.fill_diagonal(expected, 0.0)
        np.testing.assert_array_equal(engines.euclidean_distances(X), engines.filtration_values(expected))


# ---------------------------------------------------------------------------- safety
class _Malicious:
    """Pickles as a call of os.system: loading it with pickle.load runs a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_malicious_cifar_batch_is_refused_without_running(tmp_path):
    marker = tmp_path / "PWNED"
    payload = pickle.dumps(_Malicious(marker))
    pickle.loads(payload)  # the control: plain pickle runs it
    assert marker.exists()
    marker.unlink()
    folder = tmp_path / "cifar"
    folder.mkdir()
    for content in (payload, pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1],
                                           b"extra": _Malicious(marker)})):
        (folder / "test_batch").write_bytes(content)
        with pytest.raises(ValueError, match=r"test_batch is not a CIFAR-10 batch: it names posix.system.*refusing"):
            images.load_cifar10(folder, "test")
        assert not marker.exists()


class _Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle did, protocol 2 with every string a BINSTRING: how the real
    CIFAR-10 batches were written (Python 3 would name _codecs.encode for bytes at protocol 2)."""

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)

    def save_str(self, obj):
        self.save_bytes(obj.encode("latin-1"))

    dispatch = {**pickle._Pickler.dispatch, bytes: save_bytes, str: save_str}


def _python2_pickle(value) -> bytes:
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(value)
    return buffer.getvalue()


@pytest.mark.parametrize("dumps", [_python2_pickle, lambda value: pickle.dumps(value, protocol=4)])
def test_cifar_batches_in_the_real_pickle_format_still_load(tmp_path, dumps):
    # the real batches: a Python 2 pickle (protocol 2) of a dict with bytes keys and values, a
    # list of int labels, a list of bytes file names and a uint8 array; the only globals it
    # names are numpy's _reconstruct, ndarray and dtype
    import pickletools

    data = np.random.default_rng(0).integers(0, 256, (3, 3072), dtype=np.uint8)
    batch = {b"batch_label": b"testing batch 1 of 1", b"labels": [3, 0, 9], b"data": data,
             b"filenames": [b"a.png", b"b.png", b"c.png"]}
    payload = dumps(batch)
    named = {arg for op, arg, _ in pickletools.genops(payload) if op.name == "GLOBAL"}
    assert named <= {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}
    (tmp_path / "test_batch").write_bytes(payload)
    X, y = images.load_cifar10(tmp_path, "test")
    assert y.tolist() == [3, 0, 9] and np.array_equal((X * 255).round().astype(np.uint8).reshape(3, -1), data)


def test_sweep_cache_paths_stay_inside_the_cache_folder(tmp_path):
    cache = tmp_path / "a" / "cache"
    spec = sweep.NetworkSpec("../../escaped", "/etc/passwd", (3,), "relu", 0)
    path = sweep._cache_path(cache, spec, "0123abcd")
    assert cache in path.parents and ".." not in path.parts
    assert sweep._cache_path(cache, sweep.NetworkSpec("D-I", "9×15", (3,), "relu", 2), "k").name == "9×15-relu-2-k.json"


def test_sweep_with_hostile_names_writes_only_inside_the_cache(tmp_path, monkeypatch):
    X, y = blobs(30, 2)
    problem = sweep.Problem("../../escaped", X, y, X, y, k=3)
    specs = [sweep.NetworkSpec("../../escaped", "../../escaped", (3,), "relu", 0)]
    monkeypatch.setattr(sweep, "train_and_measure_ensemble", _fake_ensemble)
    cache = tmp_path / "a" / "cache"
    result = sweep.run_sweep(specs, {"../../escaped": problem}, sweep.Protocol(steps=5), cache_dir=cache,
                             progress=False)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 1 and cache in written[0].parents and result.computed == 1


def _fake_ensemble(specs, problem, protocol, threads=1):
    return [{"network": {"problem": s.problem, "architecture": s.architecture, "hidden": "3",
                         "activation": s.activation, "seed": s.seed, "perfect": True, "attempts": 1,
                         "steps": 5, "train_seconds": 0.0, "topology_seconds": 0.0},
             "betti": [{"layer": "input", "depth": 0, "label": 0, "dim": 0, "betti": 1}], "trust": []}
            for s in specs]


def test_a_sweep_cache_file_without_its_fields_is_recomputed_with_a_warning(tmp_path, monkeypatch):
    X, y = blobs(30, 2)
    problems = {"p": sweep.Problem("p", X, y, X, y, k=3)}
    specs = sweep.grid(["p"], {"a": (3,)}, ["relu"], seeds=2)
    monkeypatch.setattr(sweep, "train_and_measure_ensemble", _fake_ensemble)
    first = sweep.run_sweep(specs, problems, sweep.Protocol(steps=5), cache_dir=tmp_path, progress=False)
    files = sorted(tmp_path.rglob("*.json"))
    record = json.loads(files[0].read_text())
    for broken in ({k: v for k, v in record.items() if k != "network"},
                   {**record, "network": {k: v for k, v in record["network"].items() if k != "perfect"}},
                   {**record, "betti": [{"layer": "input"}]}, ["not", "a", "record"]):
        files[0].write_text(json.dumps(broken))
        with pytest.warns(RuntimeWarning, match=rf"{files[0].name}: not a usable cached network"):
            again = sweep.run_sweep(specs, problems, sweep.Protocol(steps=5), cache_dir=tmp_path, progress=False)
        assert (again.computed, again.reused) == (1, 1)
        pd.testing.assert_frame_equal(first.networks, again.networks)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten file is read without a warning
        assert sweep.run_sweep(specs, problems, sweep.Protocol(steps=5), cache_dir=tmp_path,
                               progress=False).reused == 2


def test_run_sweep_checks_its_arguments_before_running(tmp_path):
    X, y = blobs(30, 2)
    problem = sweep.Problem("p", X, y, X, y, k=3)
    spec = sweep.NetworkSpec("p", "a", (3,), "relu", 0)
    for specs, problems, message in (([spec], {"p": (X, y)}, r"problems\['p'\] must be a Problem"),
                                     ([spec], {"p": sweep.Problem("q", X, y, X, y, k=3)}, "key and name"),
                                     (["p"], {"p": problem}, "NetworkSpec instances"),
                                     ([sweep.NetworkSpec("p", "a", (3,), "relu", -1)], {"p": problem}, "seed=-1")):
        with pytest.raises(ValueError, match=message):
            sweep.run_sweep(specs, problems, progress=False)
    with pytest.raises(ValueError, match="protocol must be a Protocol"):
        sweep.run_sweep([spec], {"p": problem}, {"steps": 5}, progress=False)
    with pytest.raises(ValueError, match="cache_dir=''"):
        sweep.run_sweep([spec], {"p": problem}, cache_dir="", progress=False)


def _echo(config, data):
    return {"value": config["seed"]}


def test_run_cached_names_stay_inside_and_incomplete_files_are_redone(tmp_path):
    cache = tmp_path / "a" / "cache"
    configs = [{"family": "../../escaped", "p": 0, "seed": 0}, {"family": "/abs", "p": 0, "seed": 1}]
    results, counts = dynamics.run_cached(_echo, configs, {"x": np.zeros(2)}, cache_dir=cache, progress=False,
                                          required=("value",))
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert counts["computed"] == 2 and len(written) == 2 and all(cache in p.parents for p in written)
    written[0].write_text(json.dumps({"other": 1}))
    with pytest.warns(RuntimeWarning, match=rf"{written[0].name}: the cached result lacks value"):
        again, counts = dynamics.run_cached(_echo, configs, {"x": np.zeros(2)}, cache_dir=cache,
                                            progress=False, required=("value",))
    assert counts == {"computed": 1, "reused": 1} and again == results


def test_run_networks_cache_paths_and_incomplete_records(tmp_path, monkeypatch):
    job = regularization.Job(regularization.Arm(), "../../escaped", "tiny", regularization.Recipe(steps=1, lr=0.1),
                             regularization.DataSpec(), seed=0)
    assert tmp_path in job.path(tmp_path).parents and ".." not in job.path(tmp_path).parts
    with pytest.raises(ValueError, match="family '../../escaped' is unknown"):
        regularization.run_networks([job], cache_dir=tmp_path, progress=False)

    record = {"family": "resnet", "arm": "baseline", "baseline": "baseline", "loss": "none", "batches": "random",
              "seed": 0, "train_accuracy": 1.0, "test_accuracy": 0.5}
    monkeypatch.setattr(regularization, "_run_job", lambda job, threads: dict(record))
    jobs = regularization.jobs([regularization.Arm()], ["resnet"], [0], size="tiny",
                               recipe=regularization.Recipe(steps=1, lr=0.1), data=regularization.DataSpec())
    regularization.run_networks(jobs, cache_dir=tmp_path, progress=False)
    path = jobs[0].path(tmp_path)
    assert path.name.startswith("none-0-random-seed0-")
    stored = json.loads(path.read_text())
    path.write_text(json.dumps({k: v for k, v in stored.items() if k != "test_accuracy"}))
    with pytest.warns(RuntimeWarning, match=rf"{path.name}: the cached network lacks test_accuracy"):
        again = regularization.run_networks(jobs, cache_dir=tmp_path, progress=False)
    assert again["test_accuracy"].tolist() == [0.5]


# ---------------------------------------------------------------------------- no verdict from no data
def test_verdict_helpers_give_untestable_or_nan_on_no_data():
    empty_betti = pd.DataFrame(columns=["run", "depth", "label", "dim", "betti"])
    missing_betti = pd.DataFrame({"run": [0, 0], "depth": [0, 1], "label": [0, 0], "dim": [0, 0],
                                  "betti": [np.nan, np.nan]})
    for table in (empty_betti, missing_betti):
        summary = verdicts.layers_to_simplify(table, by=["run"])
        assert summary.empty and {"layers", "censored", "fraction"} <= set(summary.columns)
        assert verdicts.last_layer_share(table, by=["run"]).columns.tolist() == ["run", "label", "share"]
    nan_groups = pd.DataFrame({"g": ["a", "b"], "v": [np.nan, np.nan]})
    verdict, table = verdicts.ordering_claim(nan_groups.assign(censored=False), "g", "v", [("a", "b")], interest=1)
    assert verdict == "untestable" and table["reason"].iloc[0] == "no network for a and b"
    assert verdicts.ordering_claim(nan_groups, "g", "v", [], interest=1)[0] == "untestable"
    shares = [verdicts.SHARE_STATUS[verdicts.share_claim(0, 0)[0]]]
    assert verdicts.claim_verdict(shares) == verdicts.claim_verdict(["untestable"]) == "untestable"
    verdict, facts = verdicts.share_claim(0, 0)
    assert verdict == "untestable" and facts["reason"]
    assert verdicts.claim_verdict([]) == verdicts.paired_claim({}, interest=1)[0] == "untestable"
    assert verdicts.minimum_detectable_shift([np.nan], [1.0, 2.0]) == float("inf")


def test_dynamics_claims_need_networks():
    assert dynamics.precondition_met(0, 0, "memorised") == "0 network(s) memorised, fewer than 1"
    assert dynamics.precondition_met(3, 2, "memorised") is None
    table = pd.DataFrame({"family": ["a", "a", "b", "b"], "x": [1.0, 2.0, np.nan, 4.0], "gap": [1.0, np.nan, 3.0, 5.0]})
    out = dynamics.gap_predictions(table, {"x": ["x"], "mean": []})
    assert np.isfinite(out["pred_mean"]).all() and np.isnan(out.loc[2, "pred_x"])
    assert dynamics.depth_profiles(pd.DataFrame(columns=["family", "seed", "epoch", "dim", "fraction",
                                                          "normalised_persistence"]), 0).empty


# ---------------------------------------------------------------------------- file readers
def _idx(values, dims):
    return bytes([0, 0, 0x08, len(dims)]) + b"".join(int(d).to_bytes(4, "big") for d in dims) + bytes(values)


def test_idx_readers_name_the_file_and_the_fault(tmp_path):
    good = _idx(range(12), (3, 2, 2))
    cases = {
        "truncated.gz": (gzip.compress(good)[:-10], "truncated.gz is truncated: its gzip stream ends early"),
        "plain-but-named.gz": (good, "plain-but-named.gz cannot be read as gzip"),
        "short-values": (good[:-3], r"short-values is truncated: 25 bytes, but its header \(3, 2, 2\)"),
        "short-header": (good[:9], "short-header is truncated: 9 bytes, fewer than its header of 16"),
        "long": (good + b"x", "long is longer than its header says"),
        "magic": (b"\x1f\x8b\x08\x00" + good[4:], "magic is not an IDX file .*bad magic number"),
        "empty": (b"", "empty is not an IDX file"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=message):
            images.read_idx(tmp_path / name)
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte").write_bytes(good)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(_idx(range(2), (2,)))
    with pytest.raises(ValueError, match="counts disagree.*3 images.*2 labels"):
        images.load_idx_images(folder, "test")


def test_cifar_readers_name_the_file_and_the_fault(tmp_path):
    good = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}, protocol=2)
    cases = {
        "truncated": (good[: len(good) // 2], "truncated is truncated"),
        "not-a-pickle": (b"hello world", "not-a-pickle is not a readable CIFAR-10 batch"),
        "a-list": (pickle.dumps([1, 2]), "a-list is not a CIFAR-10 batch: expected a dict .* found a list"),
        "other-dict": (pickle.dumps({"x": 1}), r"other-dict is not a CIFAR-10 batch: .*found a dict with keys 'x'"),
        "wide": (pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}),
                 r"wide: data is \(2, 10\) uint8; expected \(n, 3072\) uint8"),
        "label-11": (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 11]}),
                     "label-11: labels must be the classes 0..9"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=message):
            images.read_cifar10_batch(tmp_path / name)


def test_results_files_and_presets_that_are_not_what_the_runner_expects(tmp_path):
    from tdnn_utils import runs

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "presets.yml").write_bytes(b"smoke:\n  01_x: {n: \xff}\n")
    with pytest.raises(runs.RunConfigError, match="presets.yml: not UTF-8"):
        runs.load_presets(tmp_path)
    for content, message in (("[1, 2]", "must hold a JSON object"), ('{"claims": {"a": 1}}', "claims must be a list"),
                             ("{", "not valid JSON")):
        path = tmp_path / "results.json"
        path.write_text(content)
        with pytest.raises(runs.RunConfigError, match=message):
            runs._read_results(path)


# ---------------------------------------------------------------------------- the shared checks
def test_the_shared_checks_name_the_argument_the_value_and_what_is_allowed():
    check = validation
    assert check.check_labels([0, 1.0, True], 3, 2).tolist() == [0, 1, 1]
    for bad, message in (([[0], [1]], r"1-D.*\(2, 1\).*ravel"), ([0, 1, 2], "3 entries for 2 points"),
                         ([0, 0.5], r"whole class numbers.*0.5"), ([0, -1], r"negative labels \[-1\]"),
                         ([0, 4], r"labels \[4\].*2 outputs.*0..1"), (["a", "b"], "integer class labels")):
        with pytest.raises(ValueError, match=message):
            check.check_labels(bad, 2, 2)
    assert check.check_labels(["a", "b"], 2, integer=False).tolist() == ["a", "b"]
    assert check.check_positive_int(np.int64(3), "steps") == 3
    assert check.check_positive_int(None, "batch_size", allow_none=True) is None
    for bad in (0, -5, 2.5, 3.0, True, "3", None):
        with pytest.raises(ValueError, match=rf"steps={bad!r} is not allowed; use a positive integer"):
            check.check_positive_int(bad, "steps")
    assert check.check_positive_number(np.inf, "thresh", allow_inf=True) == np.inf
    for bad in (0, -1, np.nan, np.inf, "x", None, True):
        with pytest.raises(ValueError, match="scale=.*positive number"):
            check.check_positive_number(bad, "scale")
    with pytest.raises(ValueError, match="values holds 1 NaN or infinite"):
        check.check_finite([1.0, np.nan], "values")
    with pytest.raises(ValueError, match="X has 3 features per point; expected 2"):
        check.check_points(np.zeros((4, 3)), n_features=2)
    with pytest.raises(ValueError, match="X must be numbers"):
        check.check_points([["a", "b"]])
    assert check.check_diagram([]).shape == (0, 2) and check.check_diagram(np.zeros((0, 3))).shape == (0, 2)
    with pytest.raises(ValueError, match="third column must hold homology dimensions"):
        check.check_diagram([[0.0, 1.0, 0.5]], dimension=0)
    with pytest.raises(check.MemoryLimitError, match=r"the job needs about 8.0 GiB of memory.*limit is 4.0 GiB.*smaller"):
        check.check_memory(8 * 2**30, "the job", "do it smaller")
    assert [check.slug(s) for s in ("D-I", "9×15", "leaky_relu", "../x", "/etc", ".", "", "a b\x00c")] == \
        ["D-I", "9×15", "leaky_relu", "_._x", "_etc", "_", "_", "a_b_c"]
    with pytest.raises(ValueError, match="not inside the cache folder"):
        check.check_inside("/tmp/cache/../escaped.json", "/tmp/cache")
    assert check.check_inside("rel/../cache/a/b.json", "cache") == Path("rel/../cache/a/b.json")


# ---------------------------------------------------------------------------- found beyond the list
def test_other_entry_points_refuse_bad_sizes_and_empty_input():
    from tdnn_utils import cnn

    for kwargs, message in (({"num_classes": 0}, "num_classes=0"), ({"in_channels": 2.5}, "in_channels=2.5")):
        with pytest.raises(ValueError, match=message):
            cnn.build("resnet", "tiny", **kwargs)
    digits = np.random.default_rng(0).random((20, 8, 8))
    with pytest.raises(ValueError, match="n_components=2.5"):
        images.one_vs_rest_pca(digits, np.arange(20) % 2, 1, 2.5)
    with pytest.raises(ValueError, match=r"images has shape \(0, 8, 8\)"):
        images.one_vs_rest_pca(digits[:0], np.zeros(0), 1, 2)
    with pytest.raises(ValueError, match="fraction='a'"):
        images.corrupt_labels([0, 1], "a")
    with pytest.raises(ValueError, match="grid_points=0"):
        dynamics.TopologyRecorder(np.zeros((5, 1, 8, 8)), grid_points=0)
    with pytest.raises(ValueError, match="successes=5"):
        verdicts.wilson_interval(5, 3)
    with pytest.raises(ValueError, match="clouds is empty"):  # no cloud used to "calibrate" the first k
        topology.calibrate_k({}, {}, [3, 5])
    with pytest.raises(ValueError, match="none of dimension 0"):
        topology.simplification(pd.DataFrame({"run": [0], "label": [0], "depth": [0], "dim": [1], "betti": [2]}))


def test_a_depth_with_a_missing_betti_number_is_not_read_as_zero():
    rows = [(0, 0, 1), (0, 1, 3), (1, 0, 1), (1, 1, np.nan), (2, 0, 1), (2, 1, 0)]  # (depth, dim, betti)
    table = pd.DataFrame([{"run": 0, "label": 0, "depth": d, "dim": k, "betti": b} for d, k, b in rows])
    summary = topology.simplification(table, by=("run",))
    assert summary["first_simple_depth"].iloc[0] == 2  # depth 1 is not taken for (1, 0)
    assert verdicts.last_layer_share(table, by=["run"])["share"].iloc[0] == 1.0  # 4 -> 1 over depths 0, 2


@pytest.mark.parametrize("settings, message", [
    ({"min_perfect": -1}, "min_perfect=-1"),
    ({"min_perfect": 30}, "max_seeds=None"),
    ({"seeds": 32, "min_perfect": 30, "max_seeds": 20}, "max_seeds=20"),
    ({"seeds": 10, "min_perfect": 30, "max_seeds": 20}, "max_seeds=20"),
])
def test_setup_refuses_a_seed_rule_it_cannot_follow(settings, message):
    from tdnn_utils.simplification import Setup

    with pytest.raises(ValueError, match=message):
        Setup("D-III", **settings)
    assert Setup("D-III", seeds=32, min_perfect=30, max_seeds=128).max_seeds == 128


# ---------------------------------------------------------------------------- Hardening II (issue 24)
def _toy_tree(root, presets):
    """A repository tree with one toy chapter and the given presets."""
    from test_runs import make_notebook

    (root / "notebooks").mkdir(parents=True)
    make_notebook(root / "notebooks" / "01_toy.ipynb")
    (root / "notebooks" / "presets.yml").write_text(json.dumps(presets))  # JSON is YAML
    return root


def test_the_runner_refuses_preset_names_that_would_write_outside_the_repository(tmp_path, monkeypatch, capsys):
    from tdnn_utils import runs

    outside = tmp_path / "elsewhere"
    names = ["../../escaped", "a/../../../b", str(outside), "..", "", "a\\..\\..\\b", "x\x00y"]
    root = _toy_tree(tmp_path / "repo" / "root", {name: {"01_toy": {}} for name in names})
    with pytest.raises(runs.RunConfigError, match="name='../x'"):
        runs.run_chapter("../x", {}, root, "smoke")
    ran = []
    monkeypatch.setattr(runs, "run_chapter", lambda *args, **kwargs: ran.append(args))
    for name in names:
        with pytest.raises(runs.RunConfigError, match="preset=.*not allowed; use one folder name"):
            runs.plan(name, root=root)
        with pytest.raises(runs.RunConfigError, match="preset="):
            runs.output_folders(name, root)
        if name:  # (the command line refuses an empty --preset itself)
            assert runs.main(["--preset", name, "--root", str(root), "--no-progress"]) == 2
            assert "use one folder name" in capsys.readouterr().err
    assert ran == [] and not outside.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]
    # names that stay one folder are the user's to choose
    assert runs.output_folders("my preset.v2", root)[0] == root / "_runs" / "my preset.v2" / "chapters"


def _ends_table(rows):
    """A Betti table of networks (seed, depth, label, dim, betti)."""
    return pd.DataFrame([{"problem": "D-I", "architecture": "main", "activation": "relu", "seed": s,
                          "depth": d, "label": lab, "dim": dim, "betti": b} for s, d, lab, dim, b in rows])


def _network(seed, last_beta0, last_beta1=0.0, label=0):
    return [(seed, 0, label, 0, 3), (seed, 0, label, 1, 2), (seed, 1, label, 0, last_beta0),
            (seed, 1, label, 1, last_beta1)]


def test_a_missing_reading_is_left_out_not_counted_as_not_simple():


    table = _ends_table(_network(0, 1) + _network(1, 1) + _network(2, np.nan))
    ends = readings.end_reduction(table)
    assert ends["simple"].tolist()[:2] == [True, True] and pd.isna(ends["simple"].iloc[2])
    assert ends["read"].tolist() == [True, True, False] and np.isnan(ends["components"].iloc[2])
    rows = simplification.claim_simplifies(table)
    components = next(r for r in rows if r["comparison"].endswith("components"))
    assert (components["n"], components["left_out"]) == (2, 1)
    # a dimension a class is never read in is not missing (D-I read to 1 beside D-III to 2)
    deeper = _ends_table(_network(0, 1)).assign(problem="D-III")
    deeper = pd.concat([deeper, deeper[deeper["dim"] == 1].assign(dim=2, betti=0)])
    ends = readings.end_reduction(pd.concat([_ends_table(_network(0, 1)), deeper]))
    assert ends["simple"].tolist() == [True, True] and ends["read"].all()


def test_empty_or_all_nan_betti_tables_give_untestable_with_a_reason():
    table = _ends_table(_network(0, 1) + _network(1, 1))
    for betti in (table.iloc[:0], table.assign(betti=np.nan)):
        rows = simplification.claim_simplifies(betti)
        _, found = verdicts.chapter_verdicts(rows)
        assert found == {"C1": "untestable"} and all(row["reason"] for row in rows)
        assert "nan" not in verdicts.describe(verdicts.judge(rows)).lower()


def test_densified_loss_refuses_an_empty_batch():
    loss = regularizers.DensifiedLoss(group_size=4)
    with pytest.raises(ValueError, match="0 points do not split into groups of 4.*at least one"):
        loss(torch.zeros((0, 3), requires_grad=True))


def test_total_persistence_loss_is_scale_free_on_large_and_tiny_float32_coordinates():
    points = torch.as_tensor(np.random.default_rng(0).normal(size=(24, 3)), dtype=torch.float32)
    loss = regularizers.TotalPersistenceLoss(maxdim=1)
    reference = points.clone().requires_grad_(True)
    expected = loss(reference)
    expected.backward()
    assert 1 < float(expected.detach()) and reference.grad.abs().sum() > 0
    for factor in (1e20, 3e35, 1e-25, 1e-30):
        scaled = (points * factor).requires_grad_(True)
        value = loss(scaled)
        value.backward()
        assert float(value.detach()) == pytest.approx(float(expected.detach()), rel=1e-5), factor
        np.testing.assert_allclose((scaled.grad * factor).numpy(), reference.grad.numpy(), rtol=1e-3, atol=1e-5)


def test_holm_refuses_p_values_outside_0_and_1():
    for bad in ([-0.1, 0.5], [0.2, 1.5], [np.inf], [0.1, -np.inf]):
        with pytest.raises(ValueError, match=r"p_values holds \[.*\], outside \[0, 1\]"):
            verdicts.holm(bad)
    adjusted = verdicts.holm([0.01, np.nan, 0.04, 0.0, 1.0])
    np.testing.assert_allclose(adjusted, [0.03, np.nan, 0.08, 0.0, 1.0])


def test_fit_checks_the_width_of_x_against_the_networks_input():
    X, y = blobs(20, 4)
    with pytest.raises(ValueError, match=r"X has shape \(20, 4\); the model expects \(n_points, 3\)"):
        fit(FFNet([3, 4, 2]), X, y, steps=1, progress=False)
    with pytest.raises(ValueError, match=r"X has shape \(20, 4, 1\); the model expects \(n_points, 4\)"):
        fit(FFNet([4, 4, 2]), X[:, :, None], y, steps=1, progress=False)


def test_complex_coordinates_are_refused_not_truncated():
    X = blobs()[0] * (1 + 1j)
    for call in (lambda: validation.check_points(X), lambda: topology.betti_numbers(X, 1.0),
                 lambda: topology.persistence(X), lambda: layer_activations(FFNet([3, 4, 2]), X),
                 lambda: fit(FFNet([3, 4, 2]), X, blobs()[1], steps=1, progress=False),
                 lambda: ensemble.fit_ensemble([3, 4, 2], "relu", X, blobs()[1], [0], steps=1, progress=False),
                 lambda: regularizers.diagrams(torch.as_tensor(X))):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy's ComplexWarning was all a user saw
            with pytest.raises(ValueError, match=r"holds complex numbers \(dtype (torch\.)?complex"):
                call()


def test_ffnet_refuses_a_nan_or_infinite_negative_slope():
    for slope in (np.nan, np.inf, -np.inf, "0.2", None, True):
        with pytest.raises(ValueError, match=rf"negative_slope={slope!r} is not allowed; use a finite number"):
            FFNet([3, 4, 2], "leaky_relu", negative_slope=slope)
    assert FFNet([3, 4, 2], "leaky_relu", negative_slope=np.float32(0.2)).activation.negative_slope == \
        pytest.approx(0.2)


def test_the_tfrecord_reader_names_the_record_whose_length_field_is_corrupt(tmp_path):
    from test_published_data import small_set, write_points

    X, y = small_set(n=4)
    data = write_points(tmp_path / "a.tfrecords", X, y)
    (length,) = struct.unpack_from("<Q", data, 0)
    for wrong in (3, length - 3, length + 5, length + 20):  # each sends the framing into a payload
        corrupt = bytearray(data)
        struct.pack_into("<Q", corrupt, 0, wrong)
        (tmp_path / "bad.tfrecords").write_bytes(bytes(corrupt))
        with pytest.raises(ValueError, match=r"bad length CRC in 1 record\(s\); the first is record 0 at byte 0"):
            datasets.read_tfrecord_points(tmp_path / "bad.tfrecords")


def test_finite_coordinates_beyond_float32s_range_are_named_as_such():
    X, y = blobs()
    X = X.astype(np.float64)
    X[3, 1] = 1e39
    for call in (lambda: fit(FFNet([3, 4, 2]), X, y, steps=1, progress=False),
                 lambda: layer_activations(FFNet([3, 4, 2]), X),
                 lambda: ensemble.fit_ensemble([3, 4, 2], "relu", X, y, [0], steps=1, progress=False),
                 lambda: topology.betti_numbers(X, 1.0), lambda: topology.persistence(X),
                 lambda: validation.check_points(X, dtype=np.float32)):
        with pytest.raises(ValueError, match=r"X holds values up to 1e\+39 in magnitude, beyond float32's range"):
            call()
    far = np.array([[-2e38, 0.0], [2e38, 0.0]])  # each coordinate fits float32, their distance does not
    with pytest.raises(ValueError, match=r"X spans 4e\+38 .*beyond float32's range"):
        topology.persistence(far)


def test_torch_topological_loss_takes_float16_points():
    if not regularizers.torch_topological_available():
        pytest.skip("torch-topological is not installed")
    loss = regularizers.TorchTopologicalLoss(maxdim=1)
    points = torch.as_tensor(np.random.default_rng(0).normal(size=(12, 3)), dtype=torch.float16)
    half = points.clone().requires_grad_(True)
    value = loss(half)
    value.backward()
    expected = loss(points.float())
    assert float(value.detach()) == pytest.approx(float(expected), rel=1e-6)
    assert half.grad.dtype == torch.float16 and torch.isfinite(half.grad).all() and half.grad.abs().sum() > 0


# ---------------------------------------------------------------------------- found by the property tests (issue 24)
def _betti_rows(**changes):
    table = pd.DataFrame({"problem": "D-I", "architecture": "2×15", "activation": "relu", "seed": 0, "layer": "l",
                          "depth": [0, 0, 1, 1], "label": 0, "dim": [0, 1, 0, 1], "betti": [2, 1, 1, 0]})
    return table.assign(**changes)


def _checks_rows(**changes):
    return pd.DataFrame({"depth": [1, 1], "layer": "l", "label": [0, 1], "possible": True, "stable": True,
                         "agrees": True, "ok": [True, False]}).assign(**changes)


REFUSED = {
    "euclidean_distances of NaN": (lambda: engines.euclidean_distances([[np.nan, 0.0], [1.0, 1.0]]), "NaN"),
    "euclidean_distances of complex": (lambda: engines.euclidean_distances(np.ones((2, 2)) * 1j), "complex"),
    "rips of NaN distances": (lambda: engines.rips(np.array([[0, np.nan], [np.nan, 0]]), maxdim=0), "NaN"),
    "rips of negative distances": (lambda: engines.rips(-np.ones((2, 2)) + np.eye(2), maxdim=0), "negative"),
    "rips of asymmetric distances": (lambda: engines.rips(np.array([[0, 1.0], [2.0, 0]]), maxdim=0),
                                     "not symmetric"),
    "rips of a non-square matrix": (lambda: engines.rips(np.zeros((2, 3)), maxdim=0, engine="gudhi"),
                                    r"square matrix .* shape \(2, 3\)"),
    "rips of a 1-D array": (lambda: engines.rips(np.zeros(3), maxdim=0), r"shape \(3,\)"),
    "rips_pairing of NaN distances": (lambda: engines.rips_pairing(np.array([[0, np.nan], [np.nan, 0]]), maxdim=0),
                                      "NaN"),
    "points without coordinates": (lambda: regularizers.diagrams(torch.zeros((3, 0))), "no coordinates"),
    "maxdim 1.0 of a loss": (lambda: regularizers.TotalPersistenceLoss(maxdim=1.0), "maxdim=1.0"),
    "maxdim of torch-topological's loss": (lambda: regularizers.TorchTopologicalLoss(maxdim=5), "maxdim=5"),
    "seed -1": (lambda: seed_everything(-1), "seed=-1"),
    "seed 1.5": (lambda: seed_everything(1.5), "seed=1.5"),
    "seed 2**32": (lambda: seed_everything(2**32), "seed=4294967296"),
    "an unknown data set in the paper's figures": (lambda: paper.naitzat_points("D-IV", 10), "problem='D-IV'"),
    "an unknown architecture in the paper's figures": (lambda: paper.naitzat_points("D-I", 10, "wide"),
                                                       "architecture='wide'"),
    "one_vs_rest_pca of complex images": (lambda: images.one_vs_rest_pca(np.ones((4, 8, 8)) * 1j, [0, 1, 0, 1], 1, 2),
                                          "complex"),
    "one_vs_rest_pca of n_points 2.5": (lambda: images.one_vs_rest_pca(np.ones((4, 8, 8)), [0, 1, 0, 1], 1, 2,
                                                                      n_points=2.5), "n_points=2.5"),
    "one_vs_rest_pca of more components than images": (
        lambda: images.one_vs_rest_pca(np.random.default_rng(0).random((6, 8, 8)), [0, 1] * 3, 1, 5, n_points=3),
        "n_components=5 must be in 1..3"),
    "block_activations of batch_size 0": (lambda: _lenet_activations(batch_size=0), "batch_size=0"),
    "block_activations of NaN images": (lambda: _lenet_activations(nan=True), "NaN"),
    "a Betti table as a list": (lambda: readings.simplification_area(_betti_rows().to_dict("records")),
                                "DataFrame"),
    "a Betti table without depths": (lambda: readings.simplification_area(_betti_rows().drop(columns="depth")),
                                     r"lacks columns \['depth'\]"),
    "Betti numbers as text": (lambda: topology.simplification(_betti_rows(betti="1"), by=["seed"]),
                              r"table\['betti'\] must hold numbers"),
    "a missing dimension": (lambda: topology.simplification(_betti_rows(dim=[0, np.nan, 0, 1]), by=["seed"]),
                            r"table\['dim'\] has 1 missing"),
    "a missing depth in paper_comparison": (
        lambda: simplification.paper_comparison(_betti_rows(depth=[0, 0, np.nan, 1]), "D-I", "2×15"),
        r"betti\['depth'\] has 1 missing"),
    "share_claim of float counts": (lambda: verdicts.share_claim(1, 2.0), "n=2.0"),
    "share_claim of no count": (lambda: verdicts.share_claim(0, None), "n=None"),
    "paired_claim of infinite differences": (lambda: verdicts.paired_claim({"a": [0.1, np.inf, 0.2]}, interest=0.1),
                                             "infinite"),
    "paired_claim of differences whose squares overflow": (
        lambda: verdicts.paired_claim({"a": [0.0, 1e300]}, interest=0.1), "at most 1e\\+150"),
    "paired_claim of a text interest": (lambda: verdicts.paired_claim({"a": [0.1, 0.2]}, interest="big"),
                                        "interest='big'"),
    "ordering_claim of a text cap": (
        lambda: verdicts.ordering_claim(pd.DataFrame({"g": ["a", "b"], "v": [1.0, 2.0]}), "g", "v", [("a", "b")],
                                        interest=1, cap="3"), "cap='3'"),
    "ordering_claim of infinite values": (
        lambda: verdicts.ordering_claim(pd.DataFrame({"g": ["a", "b"], "v": [1.0, np.inf]}), "g", "v", [("a", "b")],
                                        interest=1), "infinite"),
    "trust flags that are not True or False": (lambda: trust.layer_trust(_checks_rows(ok=[1.0, np.inf])),
                                                r"checks\['ok'\] must hold True or False"),
    "trust readings that are not Betti numbers": (
        lambda: trust.readings_long(_checks_rows().assign(betti=[(1, 0), np.nan], betti_k_low=[(1, 0)] * 2,
                                                          betti_k_high=[(1, 0)] * 2, betti_cross=[(1, 0)] * 2)),
        r"checks\['betti'\] must hold Betti numbers"),
    "trusted_only of a text trust flag": (
        lambda: trust.trusted_only(_betti_rows(), pd.DataFrame({"depth": [1], "trusted": ["yes"]})),
        r"trust\['trusted'\] must hold True or False"),
    "depth_profiles of an infinite value": (lambda: dynamics.depth_profiles(_summary_rows(value=np.inf), 0),
                                            "infinite"),
    "depth_profiles of a negative value": (lambda: dynamics.depth_profiles(_summary_rows(value=-1.0), 0),
                                           "negative"),
    "gap_predictions of an infinite feature": (
        lambda: dynamics.gap_predictions(pd.DataFrame({"family": ["a", "a", "b", "b"], "gap": [0.1, 0.2, 0.3, 0.4],
                                                       "x": [1.0, np.inf, 2.0, 3.0]}), {"x": ["x"]}), "infinite"),
    "precondition_met of a float count": (lambda: dynamics.precondition_met(2.0, 1, "memorised"), "count=2.0"),
    "seed_agreement of text values": (
        lambda: reference.seed_agreement(pd.DataFrame({"g": ["a"], "v": ["0.5"]}),
                                         pd.DataFrame({"g": ["a"], "v": [0.5]}), ["g"], "v"),
        r"ours\['v'\] must hold numbers"),
    "a Recipe of steps=True": (lambda: regularization.Recipe(steps=True, lr=0.1), "steps=True"),
    "a Recipe of lr=True": (lambda: regularization.Recipe(steps=1, lr=True), "lr=True"),
    "an Arm of a text weight": (lambda: regularization.Arm("logit_norm", "0.1"), "weight='0.1'"),
    "a DataSpec of n_train=-5": (lambda: regularization.DataSpec(n_train=-5), "n_train=-5"),
    "a DataSpec of an unknown data set": (lambda: regularization.DataSpec("../digits"), "name='../digits'"),
    "plan_arms of a NaN alpha": (lambda: regularization.plan_arms([np.nan]), "omega_alphas=nan"),
    "plan_arms of an infinite alpha": (lambda: regularization.plan_arms([np.inf]), "omega_alphas=inf"),
    "matched_weights without pulls": (
        lambda: regularization.matched_weights(pd.DataFrame({"family": ["f"], "loss": ["none"],
                                                             "batches": ["random"]}), 0.1), "lacks columns"),
    "grid of -1 seeds": (lambda: sweep.grid(["p"], {"a": (3,)}, ["relu"], -1), "seeds .*=-1"),
    "grid of a float seed": (lambda: sweep.grid(["p"], {"a": (3,)}, ["relu"], [0.5]), "seed=0.5"),
    "architectures of width -1": (lambda: sweep.architectures(widths=(-1,)), "widths=-1"),
    "architectures of depth 0": (lambda: sweep.architectures(depths=(0,)), "depths=0"),
    "a bottleneck in two layers": (lambda: sweep.architectures(bottleneck=True, base_depth=2), "base_depth=2"),
    "a Problem of fractional labels": (lambda: _problem(y=[0.5, 1, 0, 1, 0, 1]), "whole class numbers"),
    "a Problem of scale NaN": (lambda: _problem(scale=np.nan), "scale=nan"),
    "a Problem of maxdim 3": (lambda: _problem(maxdim=3), "maxdim=3"),
    "a Setup of a width 2.7": (lambda: simplification.Setup("D-I", hidden=(15, 2.7)), "hidden=2.7"),
    "a Setup of no hidden layer": (lambda: simplification.Setup("D-I", hidden=()), r"hidden=\(\)"),
    "a Setup of k 2.5": (lambda: simplification.Setup("D-I", k_min=2.5), "k_min=2.5"),
    "a Setup of scale NaN": (lambda: simplification.Setup("D-I", scale=np.nan), "scale=nan"),
    "a persistence diagram with NaN drawn": (
        lambda: plotting.persistence_diagrams({"input": [np.array([[np.nan, 1.0]])]}),
        r"diagrams\['input'\]\[0\] holds NaN"),
    "input_recovery of a fractional truth": (
        lambda: ablation.input_recovery(pd.DataFrame({"step": ["r"], "label": [0], "dim": [0], "betti": [1]}), (1, 0.5),
                                        [ablation.Reading("r", 2, True, "post", "threshold", 1.0)]), "truth=0.5"),
}


def _lenet_activations(batch_size=4, nan=False):
    from tdnn_utils import cnn

    X = np.zeros((2, 1, 16, 16), np.float32)
    if nan:
        X[0, 0, 0, 0] = np.nan
    return cnn.block_activations(cnn.build("lenet", "tiny", num_classes=2, in_channels=1, image_size=16), X,
                                 batch_size=batch_size)


def _summary_rows(value=0.5):
    return pd.DataFrame({"family": "f", "seed": 0, "epoch": 0, "dim": 0, "fraction": [0.0, 0.5, 0.9],
                         "normalised_persistence": [1.0, value, 1.0]})


def _problem(y=(0, 1, 0, 1, 0, 1), **settings):
    X = np.random.default_rng(0).normal(size=(6, 2))
    return sweep.Problem("p", X, np.asarray(y), X, np.asarray(y), k=2, **settings)


@pytest.mark.parametrize("finding", sorted(REFUSED))
def test_what_the_property_tests_found_is_refused_early(finding):
    call, message = REFUSED[finding]
    with pytest.raises(ValueError, match=message):
        call()


def test_offset_clouds_keep_their_distances():
    X = np.random.default_rng(0).normal(size=(30, 3))
    for offset in (1e6, 1e7):  # the squares of the plain formula lost the distances (0.3% at 1e6)
        np.testing.assert_allclose(engines.euclidean_distances(X + offset), engines.euclidean_distances(X),
                                   rtol=1e-6)
        for moved, plain in zip(topology.persistence(X + offset), topology.persistence(X)):
            np.testing.assert_allclose(moved, plain, rtol=1e-6)


def test_rips_of_no_point_is_empty_and_the_losses_read_any_magnitude():
    assert [d.shape for d in engines.rips(np.zeros((0, 0)), maxdim=1, engine="giotto-ph")] == [(0, 2), (0, 2)]
    points = torch.as_tensor(np.random.default_rng(0).normal(size=(12, 3)))
    for factor in (2.0**200, 2.0**-200):  # beyond float32: the pairing was an all-infinite filtration
        for ours, theirs in zip(regularizers.diagrams(points * factor), regularizers.diagrams(points)):
            torch.testing.assert_close(ours, theirs * factor, rtol=0, atol=0)
    small = torch.as_tensor(np.random.default_rng(0).normal(size=(5, 3)), dtype=torch.float32)
    assert float(regularizers.LogitNormLoss()(small * 1e20)) == pytest.approx(float(regularizers.LogitNormLoss()(small)) * 1e20)
    empty = regularizers.LogitNormLoss()(torch.zeros((0, 3), requires_grad=True))
    assert float(empty.detach()) == 0.0  # not NaN


def test_a_missing_value_is_no_finding():
    # depth_profiles: a NaN left out of its third, not a network that "does not fall then rise"
    table = pd.concat([_summary_rows(), _summary_rows().assign(seed=1, normalised_persistence=[1.0, np.nan, 1.0]),
                       _summary_rows().assign(seed=2, normalised_persistence=[1.0, 0.2, np.nan])])
    table = pd.concat([table, _summary_rows().assign(seed=2, fraction=0.8, normalised_persistence=1.0)])
    profiles = dynamics.depth_profiles(table, 0)
    assert profiles["seed"].tolist() == [0, 2] and profiles["falls_then_rises"].all()
    # seed_agreement: a group without values on one side is left out, not a disagreement
    ours = pd.DataFrame({"g": ["a", "a", "b"], "v": [0.5, 0.6, np.nan]})
    theirs = pd.DataFrame({"g": ["a", "b"], "v": [0.55, 0.9]})
    table = reference.seed_agreement(ours, theirs, ["g"], "v")
    assert table["g"].tolist() == ["a"] and table["agrees"].tolist() == [True]


def test_figures_of_an_empty_table_are_empty():
    betti = _betti_rows().assign(n_layers=1).iloc[:0]
    for figure in (plotting.betti_by_layer(betti), plotting.total_by_relative_depth(betti, series="activation"),
                   plotting.lines(betti, x="depth", y="betti", series="label", facet="dim"),
                   plotting.scatter(betti, x="depth", y="betti", color="label", facet="dim")):
        assert all(len(trace.x or ()) == 0 for trace in figure.data)


def test_a_reference_file_that_is_not_json_is_named(tmp_path):
    for content, message in (("{not json", "is not valid JSON"), ("[1, 2]", "must hold a JSON object")):
        (tmp_path / "reference.json").write_text(content)
        with pytest.raises(ValueError, match=rf"reference.json {message}"):
            reference.load_gdeep_reference(tmp_path / "reference.json")


def test_a_number_beyond_floats_range_is_refused_by_name():
    from tdnn_utils.validation import check_real_number

    with pytest.raises(ValueError, match="delta=.* is not allowed; use a finite number"):
        check_real_number(10 ** 400, "delta")
    assert check_real_number(2 ** 64, "delta") == float(2 ** 64)
