"""Topology during training: the fit callback, the recorder's tables, the peak reading."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from tdnn_utils import cnn, dynamics, images, verdicts
from tdnn_utils.training import fit, seed_everything


@pytest.fixture(scope="module")
def digits():
    pixels, labels = images.load_digits_images()
    return pixels[:400, None], labels[:400]


def test_recorder_measures_the_chosen_epochs_during_fit(digits):
    X, y = digits
    seed_everything(0)
    model = cnn.build("resnet", "tiny", num_classes=10, in_channels=1)
    recorder = dynamics.TopologyRecorder(X[:40], epochs=[0, 2], max_units=200, functional_probe=X[40:100],
                                         functional_maxdim=2)
    calls = []
    history = fit(model, X, y, epochs=2, batch_size=100, lr=0.01, progress=False,
                  callbacks=[recorder, lambda m, e: calls.append(e)])
    assert calls == [0, 1, 2]
    table = recorder.summaries
    layers = list(cnn.activation_layers(model))
    assert sorted(table["epoch"].unique()) == [0, 2]
    assert len(table) == 2 * len(layers) * 2  # epochs x layers (after each activation) x dimensions
    assert list(table["block"].unique()) == layers
    assert (table["total_persistence"] >= 0).all() and table["fraction"].max() == 1.0
    # dimension 0 has one finite bar fewer than the probe has points (distinct points)
    dim0 = table[(table["dim"] == 0) & (table["block"] == "stem.2")]
    assert (dim0["bars"] == 39).all()
    curves = recorder.functional_curves
    assert set(recorder.functional_diagrams) == {0, 2} and set(recorder.functional_diagrams[2]) == {0, 1, 2}
    assert set(curves["epoch"]) == {0, 2} and curves["epsilon"].max() == pytest.approx(0.3)
    assert set(curves["graph"]) == set(dynamics.GRAPHS) and set(curves["reading"]) == set(dynamics.READINGS)
    # the null: no correlation survives the shuffle, so nothing joins under the cap
    assert set(recorder.null_diagrams) == {0, 2}
    null = curves[(curves["graph"] == "shuffled probe") & (curves["dim"] >= 1)]
    assert (null["betti"] == 0).all()
    assert recorder.seconds > 0 and history.steps_taken == 8


def test_training_changes_what_the_recorder_sees(digits):
    X, y = digits
    X = images.load_dataset("digits", image_size=16)[0][:400]
    seed_everything(1)
    model = cnn.build("lenet", num_classes=10, in_channels=1, image_size=16)
    recorder = dynamics.TopologyRecorder(X[:60], epochs=[0, 5], functional_graph=False)
    fit(model, X, y, epochs=5, batch_size=50, lr=0.01, progress=False, callbacks=[recorder])
    logits = recorder.summaries.query("block == 'logits' and dim == 0").set_index("epoch")
    assert logits.loc[0, "total_persistence"] != logits.loc[5, "total_persistence"]


def test_peak_epsilon_reads_the_highest_point_and_censors_at_the_cap():
    curves = pd.DataFrame({"epoch": [0] * 3 + [1] * 3 + [2] * 3, "dim": 1, "epsilon": [0.1, 0.2, 0.3] * 3,
                           "betti": [1, 4, 2, 5, 1, 0, 1, 2, 3]})
    peaks = dynamics.peak_epsilon(curves)
    assert peaks["peak_epsilon"].tolist() == [0.2, 0.1, 0.3]
    assert peaks["censored"].tolist() == [False, False, True]  # epoch 2 still rises at the cap
    flat = curves.assign(betti=0)
    assert dynamics.peak_epsilon(flat)["peak_epsilon"].isna().all()


def test_corneanus_reading_drops_open_and_short_bars_and_moves_the_peak_down():
    # three bars that die before the cap, one too short, four still open at the cap (0.3)
    diagram = np.array([[0.10, 0.20], [0.12, 0.22], [0.14, 0.24], [0.15, 0.16],
                        [0.25, np.inf], [0.26, np.inf], [0.27, np.inf], [0.28, np.inf]])
    kept = dynamics.corneanu_bars(diagram)
    assert kept.tolist() == [[0.10, 0.20], [0.12, 0.22], [0.14, 0.24]]
    x, curve = dynamics.corneanu_curve(diagram, smooth=False)
    assert x.tolist() == [0.10, 0.12, 0.14, 0.20, 0.22, 0.24] and curve.tolist() == [1, 2, 3, 2, 1, 0]
    assert dynamics.corneanu_peak(diagram, smooth=False) == pytest.approx(0.14)
    # the plain Betti curve counts the open bars and peaks at the cap (censored)
    grid = np.linspace(0, 0.3, 61)
    rows = pd.DataFrame(dynamics.curve_rows(diagram, grid, epoch=0, graph="measured", dim=1))
    plain = dynamics.peak_epsilon(rows[rows["reading"] == "all bars"])
    assert plain["censored"].item() and plain["peak_epsilon"].item() == pytest.approx(0.3)
    theirs = rows[rows["reading"] == "Corneanu's reading"]
    assert theirs["betti"].max() == 3
    # their smoothing: a moving average over a tenth of the points, zero-padded
    x, smooth = dynamics.corneanu_curve(np.array([[0.1 + 0.001 * i, 0.2 + 0.001 * i] for i in range(50)]))
    assert len(x) == 100 and smooth[0] == pytest.approx((0 * 5 + 1 + 2 + 3 + 4 + 5) / 10)
    assert smooth.max() == pytest.approx(47.5)  # the peak of 50 averaged with its neighbours
    assert np.isnan(dynamics.corneanu_peak(np.array([[0.1, np.inf]])))


def test_recorder_rejects_bad_probes():
    with pytest.raises(ValueError, match="probe must be"):
        dynamics.TopologyRecorder(np.zeros((10, 8, 8)))
    with pytest.raises(ValueError, match="NaN"):
        dynamics.TopologyRecorder(np.full((5, 1, 8, 8), np.nan))
    with pytest.raises(ValueError, match="measure nothing"):
        dynamics.TopologyRecorder(np.zeros((5, 1, 8, 8)), per_block=False, functional_graph=False)


def test_functional_graph_only_skips_the_blocks(digits):
    X = images.load_dataset("digits", image_size=16)[0][:30]
    model = cnn.build("lenet", num_classes=10, in_channels=1, image_size=16)
    recorder = dynamics.TopologyRecorder(X[:30], per_block=False, max_units=100)
    recorder(model, 0)
    assert recorder.summaries.empty and len(recorder.functional_curves) > 0


def test_life_and_midlife_in_both_readings():
    diagram = np.array([[0.1, 0.3], [0.2, np.inf], [0.1, 0.11]])
    life, midlife = dynamics.life_and_midlife(diagram, cap=0.5)
    assert life == pytest.approx((0.2 + 0.3 + 0.01) / 3) and midlife == pytest.approx((0.2 + 0.35 + 0.105) / 3)
    life, midlife = dynamics.life_and_midlife(diagram, reading="Corneanu's reading")
    assert life == pytest.approx(0.2) and midlife == pytest.approx(0.2)  # (birth + death) / 2, not death + birth / 2
    assert dynamics.life_and_midlife(np.zeros((0, 2)), cap=0.5)[0] == 0.0
    assert np.isnan(dynamics.life_and_midlife(np.zeros((0, 2)), cap=0.5)[1])
    with pytest.raises(ValueError, match="give cap"):
        dynamics.life_and_midlife(diagram)


def profile_rows(values_by_dim, epoch=3, seed=0):
    return [{"family": "f", "seed": seed, "epoch": epoch, "dim": d, "depth": i, "block": f"b{i}",
             "fraction": i / (len(values) - 1), "normalised_persistence": v}
            for d, values in values_by_dim.items() for i, v in enumerate(values)]


def test_depth_profiles_compare_thirds_of_the_depth():
    rows = profile_rows({0: [3, 3, 1, 1, 2, 2], 1: [3, 3, 2, 2, 1, 1]})
    profiles = dynamics.depth_profiles(pd.DataFrame(rows), epoch=3)
    assert profiles["falls_then_rises"].tolist() == [True, False]
    first = profiles.iloc[0]
    assert first["early"] == 3 and first["middle"] == 1 and first["late"] == 2
    assert first["both"] == pytest.approx(np.log(2))
    # a flat profile with noise: its minimum is interior by chance in most networks,
    # but its thirds are level, so it does not count as falling then rising
    rng = np.random.default_rng(0)
    flat = pd.DataFrame([r for seed in range(40) for r in profile_rows({0: 1 + 0.01 * rng.normal(size=12)}, seed=seed)])
    profiles = dynamics.depth_profiles(flat, epoch=3)
    assert profiles["both"].abs().max() < 0.02
    argmin_interior = [0 < np.argmin(g["normalised_persistence"]) < 11 for _, g in flat.groupby("seed")]
    assert np.mean(argmin_interior) > 0.6
    with pytest.raises(ValueError, match="too few"):
        dynamics.depth_profiles(pd.DataFrame(profile_rows({0: [1, 2]})), epoch=3)


# ---------------------------------------------------------------------------- Chapter 3's runs
@pytest.fixture(scope="module")
def small_data():
    X, y = images.load_dataset("digits", image_size=16)
    return {"X_train": X[:40], "y_train": y[:40], "X_test": X[40:140], "y_test": y[40:140],
            "probe": X[40:100], "probe_depth": X[40:70], "probe_train": X[:40]}


def lenet_config(**changes):
    config = dict(family="lenet", size="small", dropout=0.0, p=1.0, seed=0, epochs=60, batch_size=40,
                  optimizer="adam", lr=0.01, weight_decay=0.0, device="cpu", measure_epochs=[0, 60],
                  progress_epochs=[0, 60], per_block=False, functional=True, train_probe=True, cap=0.3,
                  functional_maxdim=2, max_units=300, grid_points=61)
    config.update(changes)
    return config


def test_train_and_measure_a_memorising_lenet(small_data):
    result = dynamics.train_and_measure(lenet_config(), small_data)
    network = result["network"]
    assert network["p"] == 1.0 and network["train_accuracy"] == 1.0  # 40 permuted labels, memorised
    assert network["clean_train_accuracy"] < 0.5 and network["test_accuracy"] < 0.4
    assert [row["epoch"] for row in result["progress"]] == [0, 60]
    assert set(result["diagrams"]) == {"0", "60"} and set(result["diagrams"]["60"]) == {"1", "2"}
    assert set(result["train_probe"]) == {"1", "2"}
    curves = pd.DataFrame(result["curves"])
    assert set(curves["dim"]) == {1, 2} and set(curves["graph"]) == set(dynamics.GRAPHS)
    json.dumps(result)  # what the cache stores


def test_preconditions_memorisation_reached_or_untestable(small_data):
    # the same network trained 60 epochs memorises its permuted labels; trained 1 epoch it does not
    results = [dynamics.train_and_measure(lenet_config(seed=s, epochs=e, measure_epochs=[0, e], progress_epochs=[0, e]),
                                          small_data) for s, e in ((0, 60), (1, 1), (2, 60))]
    tables = dynamics.collect(results)
    checked = dynamics.lenet_preconditions(tables["networks"], tables["curves"], generalised=0.9, memorised=0.99)
    assert checked["beyond_chance"].all()
    assert checked["memorised"].tolist() == [True, False, True]
    assert not checked["generalised"].any()  # no clean-label network here
    reason = dynamics.precondition_met(int(checked["memorised"].sum()), 3, "reached 99% (memorisation)")
    assert reason == "2 network(s) reached 99% (memorisation), fewer than 3"
    verdict, table = verdicts.paired_claim({"memorised peak higher": ([0.1, 0.2], reason)}, interest=0.05)
    assert verdict == "untestable" and "memorisation" in table["reason"].item()
    assert dynamics.precondition_met(3, 3, "memorised") is None


def test_beyond_chance_needs_the_measured_curve_above_the_shuffled_one():
    rows = [{"p": 0.0, "seed": s, "epoch": e, "graph": g, "dim": 1, "reading": "all bars", "epsilon": 0.3,
             "betti": b} for s, measured in ((0, 5), (1, 0)) for e in (0, 10)
            for g, b in (("measured", measured), ("shuffled probe", 0))]
    networks = pd.DataFrame({"p": [0.0, 0.0], "seed": [0, 1], "epochs": [10, 10], "train_accuracy": [1.0, 1.0],
                             "test_accuracy": [0.95, 0.85]})
    checked = dynamics.lenet_preconditions(networks, pd.DataFrame(rows), generalised=0.9, memorised=0.99)
    assert checked["beyond_chance"].tolist() == [True, False]
    assert checked["generalised"].tolist() == [True, False]


def test_run_cached_resumes_and_reuses(small_data, tmp_path):
    configs = [lenet_config(p=0.0, epochs=1, measure_epochs=[0, 1], progress_epochs=[0, 1], seed=s,
                            functional=False, per_block=False, train_probe=False) for s in (0, 1)]
    first, counts = dynamics.run_cached(dynamics.train_and_measure, configs[:1], small_data, cache_dir=tmp_path,
                                        progress=False)
    assert counts == {"computed": 1, "reused": 0} and len(list(tmp_path.glob("lenet-p0.0-seed0-*.json"))) == 1
    both, counts = dynamics.run_cached(dynamics.train_and_measure, configs, small_data, cache_dir=tmp_path,
                                       progress=False)
    assert counts == {"computed": 1, "reused": 1} and both[0] == json.loads(json.dumps(first[0]))
    # other data: nothing is reused
    other = {**small_data, "y_train": small_data["y_train"][::-1].copy()}
    _, counts = dynamics.run_cached(dynamics.train_and_measure, configs[:1], other, cache_dir=tmp_path,
                                    progress=False)
    assert counts == {"computed": 1, "reused": 0}
    # a half-written file (a killed run) is computed again
    path = next(tmp_path.glob("lenet-p0.0-seed1-*.json"))
    path.write_text("{")
    _, counts = dynamics.run_cached(dynamics.train_and_measure, configs, small_data, cache_dir=tmp_path,
                                    progress=False)
    assert counts == {"computed": 1, "reused": 1}


def square(config, data):
    return {"value": config["x"] ** 2 + float(data["offset"][0])}


def test_run_cached_in_parallel_keeps_the_order_of_the_configs():
    configs = [{"x": x} for x in range(6)]
    results, counts = dynamics.run_cached(square, configs, {"offset": np.array([0.5])}, n_jobs=2, progress=False)
    assert [r["value"] for r in results] == [x * x + 0.5 for x in range(6)] and counts["computed"] == 6
    with pytest.raises(ValueError, match="n_jobs=0"):
        dynamics.run_cached(square, configs, {"offset": np.array([0.5])}, n_jobs=0)


def test_gap_predictions_leave_one_architecture_out():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"family": np.repeat(["a", "b", "c"], 10), "life": rng.uniform(0, 1, 30),
                          "p": np.tile([0.0, 1.0], 15)})
    table["gap"] = 0.5 * table["life"] + 0.1
    out = dynamics.gap_predictions(table, {"topology": ["life"], "level": ["p"], "mean": []})
    np.testing.assert_allclose(out["error_topology"], 0, atol=1e-12)  # exact across architectures
    held_out_a = table.loc[table["family"] != "a", "gap"].mean()
    np.testing.assert_allclose(out.loc[out["family"] == "a", "pred_mean"], held_out_a)
    assert (out["error_level"] > 0).any()
    with pytest.raises(ValueError, match="at least 2 values"):
        dynamics.gap_predictions(table[table["family"] == "a"], {"mean": []})
    with pytest.raises(ValueError, match="lacks columns"):
        dynamics.gap_predictions(table, {"x": ["missing"]})


def test_fitted_labels_leaves_out_networks_that_did_not_fit_their_permuted_labels():
    networks = pd.DataFrame({"p": [0.0, 0.0, 0.5, 0.5, 1.0], "train_accuracy": [0.8, 1.0, 0.995, 0.6, 0.99]})
    assert dynamics.fitted_labels(networks, 0.99).tolist() == [True, True, True, False, True]
    with pytest.raises(ValueError, match="threshold=0"):
        dynamics.fitted_labels(networks, 0)
    with pytest.raises(ValueError, match="train_accuracy"):
        dynamics.fitted_labels(networks[["p"]], 0.99)


@pytest.mark.parametrize("fall, rise, shape", [
    (0.2, 0.3, "falls then rises"), (0.2, -0.3, "falls throughout"), (-0.2, 0.3, "rises throughout"),
    (-0.2, -0.3, "rises then falls"), (0.0, 0.3, "flat"), (np.nan, 0.1, "flat"),
])
def test_profile_shape_names_the_direction_of_a_depth_profile(fall, rise, shape):
    assert dynamics.profile_shape(fall, rise) == shape
