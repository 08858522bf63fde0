import numpy as np
import pandas as pd
import pytest

from tdnn_utils import images, regularization as R, verdicts


def test_arms_name_the_recipes_and_pair_them_with_their_baseline():
    arms = R.arms(alphas=[0, 0.01, 1], densified=[(0.1, 0.7)], torch_topological=[0.01])
    names = [a.name for a in arms]
    assert names == ["baseline", "total-persistence α=0.01", "total-persistence α=1", "baseline-grouped",
                     "densified λ=0.1 β=0.7", "torch-topological α=0.01"]
    assert [a.baseline for a in arms] == ["baseline"] * 3 + ["baseline-grouped"] * 2 + ["baseline"]
    with pytest.raises(ValueError, match="'dropout' is unknown"):
        R.Arm("dropout", 0.1)
    with pytest.raises(ValueError, match="beta > 0 and grouped"):
        R.Arm("densified", 0.1, 0.7, grouped=False)
    with pytest.raises(ValueError, match="given twice"):
        R.arms(alphas=[0.1, 0.1])


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


def _records(shift):
    rows = []
    rng = np.random.default_rng(0)
    for family in ("a", "b"):
        for seed in range(6):
            base = 0.8 + 0.05 * rng.normal()
            rows.append({"family": family, "arm": "baseline", "baseline": "baseline", "loss": "none",
                         "weight": 0.0, "beta": None, "seed": seed, "test_accuracy": base})
            rows.append({"family": family, "arm": "x", "baseline": "baseline", "loss": "total_persistence",
                         "weight": 0.1, "beta": None, "seed": seed,
                         "test_accuracy": base + shift + 0.002 * rng.normal()})
    return pd.DataFrame(rows)


def test_compare_pairs_by_seed_and_finds_a_real_shift():
    table = R.compare(_records(0.02))
    assert list(table["family"]) == ["a", "b"] and (table["n"] == 6).all()
    assert np.allclose(table["mean_difference"], 0.02, atol=0.003)
    assert (table["p"] < 0.001).all() and (table["wins"] == 6).all()
    assert verdicts.improvement_verdict(table) == ("confirmed", "improves")
    null = R.compare(_records(0.0))
    assert verdicts.improvement_verdict(null)[0] == "not reproduced"
    hurt = R.compare(_records(-0.05))
    assert verdicts.improvement_verdict(hurt) == ("not reproduced", "hurts")
    assert verdicts.improvement_verdict(hurt, higher_is_better=False) == ("confirmed", "improves")
    diffs = R.paired_differences(_records(0.02))
    assert len(diffs) == 12 and np.allclose(diffs["difference"], 0.02, atol=0.01)


def test_paired_test_and_holm():
    t = verdicts.paired_test([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    assert t["p"] == 1.0 and t["ties"] == 5
    t = verdicts.paired_test([2, 3, 4], [1, 2, 3])
    assert t["p"] == 0.0 and t["wins"] == 3
    assert np.isnan(verdicts.paired_test([1.0], [0.0])["p"])
    with pytest.raises(ValueError, match="paired"):
        verdicts.paired_test([1, 2], [1, 2, 3])
    np.testing.assert_allclose(verdicts.holm([0.01, 0.04, 0.03, np.nan]), [0.03, 0.06, 0.06, np.nan])


def test_one_small_network_per_arm_trains_and_is_measured():
    pixels, labels = images.load_dataset("digits")
    train, test = R.small_sample(labels, 40, 60, seed=0)
    data = (pixels[train], labels[train], pixels[test], labels[test], pixels[test[:16]])
    arms = R.arms(alphas=[0.1], densified=[(0.1, 0.5)])
    records, summaries = R.run_arms(arms, ["densenet"], [0], lambda seed: data, size="tiny", epochs=2,
                                    progress=False, batch_size=16, group_size=4)
    assert list(records["arm"]) == [a.name for a in arms]
    regularised = records.set_index("arm")
    assert regularised.loc["total-persistence α=0.1", "regularizer"] > 0
    assert regularised.loc["densified λ=0.1 β=0.5", "regularizer"] > 0
    assert regularised.loc["baseline", "regularizer"] == 0
    assert set(summaries["arm"]) == set(records["arm"]) and set(summaries["dim"]) == {0, 1}
    timing = R.step_seconds(arms[1], "densenet", "tiny", pixels[:64], labels[:64], batch_size=16, steps=2)
    assert timing["step_seconds"] > 0 and 0 < timing["persistence_share"] < 1


def test_block_persistence_is_summed_over_dimensions():
    records = pd.DataFrame([{"family": "f", "arm": "baseline", "seed": 0}])
    summaries = pd.DataFrame([{"family": "f", "arm": "baseline", "seed": 0, "block": b, "dim": d,
                               "normalised_persistence": v}
                              for b, d, v in [("logits", 0, 2.0), ("logits", 1, 0.5), ("pool", 0, 9.0)]])
    assert R.with_block_persistence(records, summaries)["logits_persistence"].item() == 2.5
    with pytest.raises(ValueError, match="'head' is not in the summaries"):
        R.with_block_persistence(records, summaries, block="head")


def test_claims_combine_families_and_name_the_best_arm():
    verdict, evidence = R.improvement_claim(R.compare(_records(0.02)))
    assert verdict == "confirmed" and evidence.startswith("a: improves; b: improves. a: best x +0.02")
    verdict, evidence = R.improvement_claim(R.compare(_records(-0.05)), "error", higher_is_better=False)
    assert verdict == "confirmed" and "6/6 seeds better" in evidence
    assert R.harm_claim(R.compare(_records(-0.05)))[0] == "confirmed"
    assert R.harm_claim(R.compare(_records(0.02)))[0] == "not reproduced"
