"""Chapter 3's study: its tasks (the cache keys), its comparisons and its tables, on small data."""

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import cnn_study, dynamics

SMOKE = dict(data="digits", data_folder="", image_size=16, n_train=60, n_test=40, n_probe=20, n_probe_depth=16,
             families=["resnet"], size="tiny", epochs=1, lr=0.01, lr_halving_every=0, measure_every=1,
             depth_seeds=2, gap_seeds=1, lenet_epochs=1, lenet_lr=0.05, lenet_weight_decay=0.0, lenet_dropout=0.0,
             lenet_measure=[0, 1], lenet_seeds=1, corruption=[0.0, 1.0], batch_size=32, cap=0.3,
             functional_maxdim=2, max_units=2000, generalised=0.9, memorised=0.99)


def test_run_configs_are_the_chapters_cache_keys():
    configs = cnn_study.run_configs(SMOKE, "cpu")
    # the families first (the longest tasks), then the LeNets
    assert [c["family"] for c in configs] == ["resnet"] * 3 + ["lenet"] * 2
    family = configs[0]
    assert family == dict(batch_size=32, device="cpu", cap=0.3, functional_maxdim=2, max_units=2000,
                          grid_points=61, train_probe=True, family="resnet", size="tiny", dropout=None, p=0.0,
                          seed=0, epochs=1, optimizer="adam", lr=0.01, lr_halving_epochs=None, weight_decay=0.0,
                          measure_epochs=[0, 1], progress_epochs=[1], per_block=True, functional=False)
    assert [c["per_block"] for c in configs[:3]] == [True, True, False]  # only clean labels per layer
    lenet = configs[3]
    assert lenet["optimizer"] == "sgd" and lenet["functional"] and lenet["measure_epochs"] == [0, 1]
    # a key depends on every setting: one changed setting is another network
    other = cnn_study.run_configs({**SMOKE, "lr": 0.02}, "cpu")[0]
    assert dynamics.task_key(family, "x") != dynamics.task_key(other, "x")


def test_chapter_inputs_split_once_and_refuse_too_many_images():
    inputs, data = cnn_study.chapter_inputs("digits", "", 16, 60, 40, 20, 16)
    assert inputs["X_train"].shape[0] == 60 and inputs["X_test"].shape[0] == 40
    assert inputs["probe"].shape[0] == 20 and inputs["probe_depth"].shape[0] == 16
    np.testing.assert_array_equal(inputs["probe"], inputs["X_test"][:20])
    np.testing.assert_array_equal(inputs["probe_train"], inputs["X_train"][:20])
    assert data["side"] == 16 and data["n_classes"] == 10
    again, _ = cnn_study.chapter_inputs("digits", "", 16, 60, 40, 20, 16)
    np.testing.assert_array_equal(again["X_train"], inputs["X_train"])  # a fixed split
    with pytest.raises(ValueError, match="exceeds"):
        cnn_study.chapter_inputs("digits", "", 16, 2000, 1000, 20, 16)


def test_run_study_names_missing_parameters():
    with pytest.raises(ValueError, match="lenet_seeds"):
        cnn_study.run_study({k: v for k, v in SMOKE.items() if k != "lenet_seeds"}, device="cpu")


def test_peak_shift_leaves_out_pairs_censored_on_both_sides():
    differences = pd.Series([0.1, 0.08, 0.0, np.nan])
    both = pd.Series([False, False, True, False])
    row = cnn_study.peak_shift(differences, both, 0.05)
    assert row["n"] == 2 and row["effect"] == pytest.approx(0.09)
    saturated = cnn_study.peak_shift(differences, pd.Series([True, True, True, False]), 0.05)
    assert saturated["n"] == 0 and "saturated at the cap" in saturated["reason"]


def test_clean_panels_and_precondition_table():
    curves = pd.DataFrame([{"p": p, "dim": dim, "reading": reading, "graph": "measured", "epoch": 0,
                            "epsilon": 0.1, "betti": 1}
                           for p in (0.0, 1.0) for dim in (1, 2) for reading in ("all bars", "Corneanu's reading")])
    panels = cnn_study.clean_panels(curves)
    assert sorted(panels["panel"].unique()) == ["β1, Corneanu's reading", "β2, all bars"]
    assert (panels["p"] == 0.0).all() and len(panels) == 2
    lenets = pd.DataFrame({"p": [0.0, 0.0, 1.0], "seed": [0, 1, 0], "beyond_chance": [True, False, True],
                           "generalised": [True, True, False], "memorised": [False, False, True],
                           "train_accuracy": [1.0, 0.9, 1.0], "test_accuracy": [0.9, 0.8, 0.1]})
    table = cnn_study.precondition_table(lenets)
    assert table.to_dict("records")[0] == {"p": 0.0, "networks": 2, "beyond_chance": 1, "generalised": 2,
                                           "memorised": 0, "train_accuracy_min": 0.9,
                                           "test_accuracy_mean": pytest.approx(0.85)}


def test_against_says_where_a_median_lies_from_the_papers_range():
    assert cnn_study._against(0.12, 0.11, 0.16) == "inside their range"
    assert cnn_study._against(0.2, 0.11, 0.16) == "+0.040 from theirs"
    assert cnn_study._against(np.nan, 0.11, 0.16) == "no bar kept, so no peak"
    assert cnn_study._spread(pd.Series([np.nan])) == "no peak"


def test_sizes_table_counts_the_standard_models_like_torchvision():
    sizes = cnn_study.sizes_table(["resnet"], n_classes=10, channels=1)
    standard = sizes[sizes["size"] == "standard"].iloc[0]
    assert standard["parameters"] == standard["torchvision (1,000 classes)"]
    assert sizes.loc[sizes["size"] != "standard", "torchvision (1,000 classes)"].isna().all()


def test_evidence_is_a_folded_table_of_the_comparisons():
    from tdnn_utils import verdicts

    rows = verdicts.labelled("family", "claim", {"a vs b": verdicts.paired_effect(np.array([0.2, 0.3, 0.25]), 0.1)})
    folded = cnn_study.evidence(rows, "The comparisons")
    html = folded._repr_html_()
    assert "<details" in html and "The comparisons" in html and "a vs b" in html
