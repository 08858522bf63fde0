import json

import numpy as np
import pandas as pd
import pytest
import torch

from tdnn_utils import images, regularization as R, verdicts


def test_arms_name_the_recipes_and_pair_them_with_their_baseline():
    arms = [R.Arm(), R.Arm("total_persistence", 0.01), R.Arm("torch_topological", 0.01),
            R.Arm("logit_norm", 0.2345678), R.Arm("label_smoothing", 0.1), R.Arm(batches="hofer"),
            R.Arm("densified", 0.1, 0.7, "hofer")]
    assert [a.name for a in arms] == ["baseline", "Ω α=0.01", "torch-topological α=0.01", "logit norm μ=0.235",
                                      "label smoothing ε=0.1", "baseline, Hofer batches", "densified λ=0.1 β=0.7"]
    assert [a.baseline for a in arms] == ["baseline"] * 5 + ["baseline, Hofer batches"] * 2
    assert len({a.slug for a in arms}) == len(arms)
    with pytest.raises(ValueError, match="'dropout' is unknown"):
        R.Arm("dropout", 0.1)
    with pytest.raises(ValueError, match="beta > 0 and batches='hofer'"):
        R.Arm("densified", 0.1, 0.7)
    with pytest.raises(ValueError, match="a baseline has weight 0"):
        R.Arm("total_persistence", 0.0)
    with pytest.raises(ValueError, match="eps=1"):
        R.Arm("label_smoothing", 1.0)
    with pytest.raises(ValueError, match="'grouped' is unknown"):
        R.Arm(batches="grouped")


def test_recipe_refuses_bad_values_with_the_value():
    with pytest.raises(ValueError, match="steps=0"):
        R.Recipe(steps=0, lr=0.1)
    with pytest.raises(ValueError, match="'rmsprop' is unknown"):
        R.Recipe(steps=1, lr=0.1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="lr=-1"):
        R.Recipe(steps=1, lr=-1)
    with pytest.raises(ValueError, match="group_size=1"):
        R.Recipe(steps=1, lr=0.1, group_size=1)
    recipe = R.Recipe(steps=1, lr=0.1, batch_size=32, n_groups=4, group_size=8)
    assert recipe.images_per_step("random") == 32 and recipe.images_per_step("hofer") == 32


def test_small_sample_is_stratified_seeded_and_disjoint():
    _, labels = images.load_digits_images()
    train, test = R.small_sample(labels, 105, 300, seed=3)
    assert len(train) == 105 and len(test) == 300 and not set(train) & set(test)
    counts = np.bincount(labels[train], minlength=10)
    assert counts.max() - counts.min() <= 1
    again, _ = R.small_sample(labels, 105, 300, seed=3)
    other, _ = R.small_sample(labels, 105, 300, seed=4)
    assert np.array_equal(train, again) and not np.array_equal(train, other)
    with pytest.raises(ValueError, match="n_train=5 is fewer than the 10 classes"):
        R.small_sample(labels, 5, None, 0)
    with pytest.raises(ValueError, match="n_test=5000"):
        R.small_sample(labels, 100, 5000, 0)


def test_hofer_network_is_their_mnist_cnn():
    model = R.build_model("hofer-mnist", "", 10, 1, 28)
    X = torch.zeros(2, 1, 28, 28)
    assert model.features(X).shape == (2, 128) and model(X).shape == (2, 10)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [8, 32, 64, 128]
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in model.modules()) == 4
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 4  # the last one is before z
    small = R.build_model("hofer-mnist", "", 10, 1, 8)
    assert small.features(torch.zeros(2, 1, 8, 8)).shape == (2, 128)
    with pytest.raises(ValueError, match="'lenet' is unknown"):
        R.build_model("lenet", "tiny", 10, 1, 8)


DATA = R.DataSpec("digits", n_train=40, n_test=60)
RECIPE = R.Recipe(steps=4, lr=0.05, batch_size=16, n_groups=2, group_size=8, shift=1)


def test_every_arm_of_a_seed_starts_from_the_same_weights_and_batches():
    X, y, _, _ = DATA.split(0)
    runs = [R._Run(arm, "efficientnet", "tiny", RECIPE, X, y, seed=0, device="cpu")
            for arm in (R.Arm(), R.Arm("total_persistence", 0.1))]
    for a, b in zip(runs[0].model.state_dict().values(), runs[1].model.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(runs[0].next_batch(), runs[1].next_batch())
    other = R._Run(R.Arm(), "efficientnet", "tiny", RECIPE, X, y, seed=1, device="cpu")
    assert not torch.equal(next(iter(other.model.state_dict().values())),
                           next(iter(runs[0].model.state_dict().values())))


def test_train_network_measures_and_is_deterministic():
    data = DATA.split(0)
    arm = R.Arm("total_persistence", 0.1)
    one = R.train_network(arm, "efficientnet", "tiny", RECIPE, data, seed=0, n_probe=32, device="cpu")
    two = R.train_network(arm, "efficientnet", "tiny", RECIPE, data, seed=0, n_probe=32, device="cpu")
    assert one["test_accuracy"] == two["test_accuracy"] and one["probe_omega"] == two["probe_omega"]
    assert one["regularizer"] > 0 and one["n_test"] == 60 and 0 <= one["train_accuracy"] <= 1
    assert one["probe_logit_norm"] > 0 and one["probe_total_persistence"] > 0 and len(one["probe_deaths"]) > 0
    assert one["pull_total_persistence"] > 0 and one["pull_logit_norm"] > 0
    json.dumps(one)  # JSON-ready
    hofer = R.train_network(R.Arm("densified", 0.1, 0.7, "hofer"), "hofer-mnist", "", RECIPE, data, seed=0,
                            n_probe=32, device="cpu")
    assert hofer["regularizer"] > 0 and hofer["probe_death_median"] > 0
    # one group of group_size test images per class with enough images: group_size - 1 edges each
    assert len(hofer["probe_deaths"]) % (RECIPE.group_size - 1) == 0


def test_run_networks_caches_each_network_and_resumes(tmp_path, monkeypatch):
    jobs = R.jobs([R.Arm(), R.Arm("logit_norm", 0.1)], ["efficientnet"], [0], size="tiny", recipe=RECIPE,
                  data=DATA, n_probe=16, device="cpu")
    first = R.run_networks(jobs, cache_dir=tmp_path, progress=False)
    files = sorted(tmp_path.rglob("*.json"))
    assert len(files) == 2 and list(first["arm"]) == ["baseline", "logit norm μ=0.1"]
    files[0].write_text("{half written")  # a killed run's file is trained again

    trained = []
    real = R._run_job
    monkeypatch.setattr(R, "_run_job", lambda job, threads: trained.append(job.arm.name) or real(job, threads))
    again = R.run_networks(jobs, cache_dir=tmp_path, progress=False)
    assert len(trained) == 1
    clocks = ["train_seconds", "train_cpu_seconds", "measure_cpu_seconds", "persistence_seconds"]
    pd.testing.assert_frame_equal(first.drop(columns=clocks), again.drop(columns=clocks))
    changed = R.jobs([R.Arm()], ["efficientnet"], [0], size="tiny", recipe=R.Recipe(steps=5, lr=0.05),
                     data=DATA, n_probe=16, device="cpu")
    assert changed[0].key() != jobs[0].key()
    with pytest.raises(ValueError, match="n_jobs=0"):
        R.run_networks(jobs, n_jobs=0)


def test_run_networks_in_two_processes_gives_the_same_records():
    jobs = R.jobs([R.Arm(), R.Arm("label_smoothing", 0.1)], ["efficientnet"], [0], size="tiny",
                  recipe=R.Recipe(steps=2, lr=0.05, batch_size=16), data=DATA, n_probe=16, device="cpu")
    serial = R.run_networks(jobs, progress=False)
    parallel = R.run_networks(jobs, n_jobs=2, progress=False)
    assert list(parallel["arm"]) == list(serial["arm"])
    np.testing.assert_allclose(parallel["test_accuracy"], serial["test_accuracy"])


def _records(shift, n_seeds=20, noise=0.01, families=("a",), seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for family in families:
        for s in range(n_seeds):
            base = 0.85 + 0.03 * rng.normal()
            common = {"family": family, "seed": s, "batches": "random", "beta": None,
                      "pull_total_persistence": 30.0, "pull_logit_norm": 6.0, "pull_label_smoothing": 5.0}
            rows.append({**common, "arm": "baseline", "baseline": "baseline", "loss": "none", "weight": 0.0,
                         "test_accuracy": base})
            rows.append({**common, "arm": "x", "baseline": "baseline", "loss": "total_persistence", "weight": 0.1,
                         "test_accuracy": base + shift + noise * rng.normal()})
    return pd.DataFrame(rows)


def _judged(records, comparisons, **kwargs):
    rows = verdicts.labelled("accuracy", "claim", R.effects(records, comparisons, **kwargs))
    table, found = verdicts.chapter_verdicts(rows)
    return found.get("claim", "untestable"), table


def test_effects_pair_by_seed_for_the_books_rules():
    verdict, table = _judged(_records(0.02), [("x", "baseline")], delta=0.01)
    assert verdict == "confirmed" and table["status"].tolist() == ["confirmed"]
    assert table["effect"].item() == pytest.approx(0.02, abs=0.006) and table["n"].item() == 20
    assert table["comparison"].item() == "a: x vs baseline" and table["network"].item() == "a"
    verdict, table = _judged(_records(0.01, noise=0.01), [("x", "baseline")], delta=0.01)
    assert verdict == "direction only" and table["low"].item() < 0.01 < table["high"].item()
    verdict, table = _judged(_records(0.0, noise=0.003), [("x", "baseline")], delta=0.01)
    assert verdict == "not reproduced" and not table["reversed"].item()
    verdict, table = _judged(_records(0.0, n_seeds=3, noise=0.05), [("x", "baseline")], delta=0.01)
    assert verdict == "inconclusive"
    verdict, table = _judged(_records(-0.05), [("x", "baseline")], delta=0.01)
    assert verdict == "not reproduced" and table["reversed"].item() and table["effect"].item() < 0
    verdict, table = _judged(_records(-0.05), [("x", "baseline")], delta=0.01, direction="lower")
    assert verdict == "confirmed" and table["effect"].item() > 0  # a reduction, in the claimed direction
    verdict, table = _judged(_records(0.02, families=("a", "b")), [("x", "baseline"), ("missing", "baseline")],
                             delta=0.01)
    assert list(table["network"]) == ["a", "b"] and verdict == "confirmed"
    assert verdicts.describe(table, unit=" points", scale=100).startswith("a: x vs baseline: +2")
    with pytest.raises(ValueError, match="'up' is unknown"):
        R.effects(_records(0.0), [("x", "baseline")], delta=0.01, direction="up")


def test_paired_differences_leave_out_unpaired_seeds():
    records = _records(0.01, n_seeds=4)
    records = records[~((records["arm"] == "x") & (records["seed"] == 3))]
    diffs = R.paired_differences(records, [("x", "baseline")])
    assert list(diffs["seed"]) == [0, 1, 2]


def test_matched_weights_equalise_the_pull_towards_small_logits():
    weights = R.matched_weights(_records(0.0, n_seeds=3), alpha=0.01)["a"]
    assert weights["logit_norm"] == pytest.approx(0.01 * 30 / 6)
    assert weights["label_smoothing"] == pytest.approx(0.01 * 30 / 5)
    untrained = _records(0.0, n_seeds=3).assign(pull_label_smoothing=-0.1)
    assert R.matched_weights(untrained, alpha=0.01)["a"]["label_smoothing"] is None
    with pytest.raises(ValueError, match="baseline networks"):
        R.matched_weights(_records(0.0).query("arm == 'x'"), alpha=0.01)


def test_step_seconds_times_a_step_and_its_persistence_share():
    X, y, _, _ = DATA.split(0)
    timing = R.step_seconds(R.Arm("total_persistence", 0.1), "efficientnet", "tiny", RECIPE, X, y, steps=2, warmup=1)
    assert timing["step_seconds"] > 0 and timing["step_cpu_seconds"] > 0 and 0 < timing["persistence_share"] < 1
    assert R.estimate_seconds(0.1, 100, 20, n_jobs=2, overhead=1.0) == pytest.approx((10 + 1) * 20 / 2)


def test_plan_arms_and_the_skip_without_torch_topological(monkeypatch):
    random_arms, hofer_arms, notes = R.plan_arms([0.01, 0.1], 0.01, True, (0.1, 0.7))
    assert [a.name for a in random_arms] == ["baseline", "Ω α=0.01", "Ω α=0.1", "torch-topological α=0.01"]
    assert [a.name for a in hofer_arms] == ["baseline, Hofer batches", "densified λ=0.1 β=0.7"] and notes == []
    monkeypatch.setattr(R.regularizers, "torch_topological_available", lambda: False)
    random_arms, hofer_arms, notes = R.plan_arms([0.01], 0.01, True, None)
    assert [a.name for a in random_arms] == ["baseline", "Ω α=0.01"] and hofer_arms == []
    assert len(notes) == 1 and "torch-topological is not installed" in notes[0] and "controls" in notes[0]
    with pytest.raises(ValueError, match="given twice"):
        R.plan_arms([0.01, 0.01])
    controls = R.control_arms({"logit_norm": 0.2, "label_smoothing": None})
    assert [(a.name, a.weight) for a in controls] == [("logit norm (matched)", 0.2)]

