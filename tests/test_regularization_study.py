"""Chapter 4's study: its design (arms, claims, comparisons) and the tables it draws, on small data."""

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import regularization_study as study

SMOKE = dict(data="digits", data_folder="", image_size=None, n_train=100, n_test=300, n_probe=64, seeds=2,
             families=["efficientnet"], size="tiny", steps=100, batch_size=64, optimizer="sgd", lr=0.05,
             weight_decay=1e-3, shift=2, flip=False, omega_alphas=[0.001, 0.01], tt_alpha=0.01, controls=True,
             hofer_family="hofer-mnist", hofer_steps=60, hofer_lr=0.5, hofer_weight_decay=1e-3, hofer_shift=2,
             hofer_flip=False, hofer_lambda=0.1, hofer_beta=0.7, n_groups=8, group_size=16, maxdim=1, timing_steps=3)


def test_design_fixes_the_claims_and_their_comparisons_before_the_run():
    d = study.design(SMOKE)
    assert list(d.claims) == ["ch4-omega", "ch4-densified", "ch4-torch-topological", "ch4-scale", "ch4-acts"]
    assert d.delta == pytest.approx(0.01)  # the geometric middle of 0.5 and 2 points
    claim, comparisons, kind = d.claims["ch4-torch-topological"]
    assert kind == "accuracy" and len(comparisons) == 3  # the baseline and both matched controls
    assert d.claims["ch4-acts"][2] == "check" and all(len(c) == 3 for c in d.claims["ch4-acts"][1])
    assert d.omega_names == [a.name for a in d.random_arms if a.loss == "total_persistence"]
    assert d.n_test == 300 and d.X_train.shape[0] == 100
    text = study.claims_markdown(d)
    assert text.count("\n- ") == 4 and "on held-out omega" in text


def test_design_without_controls_or_hofer_drops_their_claims():
    d = study.design({**SMOKE, "controls": False, "hofer_family": "", "tt_alpha": 0.0})
    assert list(d.claims) == ["ch4-omega", "ch4-acts"]
    with pytest.raises(ValueError, match="hofer_beta"):
        study.design({k: v for k, v in SMOKE.items() if k != "hofer_beta"})


def test_recipes_table_sets_their_code_beside_this_run():
    table = study.recipes_table(study.design(SMOKE))
    assert list(table.columns) == ["setting", "their code", "this run", "difference"]
    assert table.loc[table["setting"] == "Hofer: λ, β", "difference"].item() == "same"
    changed = study.recipes_table(study.design({**SMOKE, "hofer_beta": 0.5}))
    assert changed.loc[changed["setting"] == "Hofer: λ, β", "difference"].item() == "changed"
    assert "core/\u200bexperiments.\u200bpy" in " ".join(table["their code"])  # paths can wrap


def test_breakable_leaves_numbers_whole():
    assert study.breakable("lr 0.05, a/b_c.py") == "lr 0.05, a/\u200bb_\u200bc.\u200bpy"


def test_value_checks_agree_with_the_engine():
    checks = study.value_checks(clouds=1, n_points=20, n_features=3)
    assert list(checks["dim"]) == [0, 1] and (checks["max |ours - engine|"] < 1e-5).all()


def test_beside_papers_and_intervals_in_points():
    comparison = pd.DataFrame({"claim": ["ch4-omega", "ch4-scale"],
                               "comparison": ["net: Ω α=0.01 vs baseline", "net: logit norm (matched) vs baseline"],
                               "effect": [-0.02, 0.011], "low": [-0.025, 0.008], "high": [-0.015, 0.013],
                               "status": ["not reproduced", "direction only"]})
    beside = study.beside_papers(comparison)
    assert beside["here (points)"].tolist() == ["-2.00 [-2.50, -1.50]", "+1.10 [+0.80, +1.30]"]
    assert beside["reported"].iloc[0].startswith("+0.5 to +2 points")
    pairs = pd.DataFrame({"family": ["net", "net", "other"], "comparison": ["Ω α=0.01 vs baseline"] * 3,
                          "seed": [0, 1, 0], "difference": [-0.02, -0.01, 0.5]})
    summary, points = study.intervals(comparison, pairs)
    assert summary["effect"].tolist() == pytest.approx([-2.0, 1.1])
    assert points["value"].tolist() == pytest.approx([-2.0, -1.0])  # the other network's seed is not drawn
    assert set(points["label"]) <= set(summary["label"])


def test_matched_text_names_the_missing_match():
    text = study.matched_text({"net": {"baselines": 4, "logit_norm": 0.2, "label_smoothing": None}}, 0.01)
    assert "μ = 0.2" in text and "no match for label smoothing" in text


def test_accuracy_table_and_baselines():
    records = pd.DataFrame({"family": ["n"] * 4, "arm": ["baseline", "baseline", "Ω", "Ω"],
                            "baseline": ["baseline"] * 4, "seed": [0, 1, 0, 1],
                            "train_accuracy": [1.0, 1.0, 0.9, 0.8], "test_accuracy": [0.9, 0.8, 0.7, 0.9]})
    table = study.accuracy_table(records)
    assert table["networks"].tolist() == [2, 2] and table["test_accuracy"].tolist() == pytest.approx([0.85, 0.8])
    baselines = study.baseline_accuracy(records)
    assert baselines.loc[("n", "baseline"), "min"] == 0.8 and len(baselines) == 1
    assert np.isfinite(table["test_sd"]).all()
