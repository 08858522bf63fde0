"""The sweep: protocol, per-network cache (resume, reuse), loky and Dask back ends."""

import json

import numpy as np
import pandas as pd
import pytest

from tdnn_utils import attempt_rules, sweep
from tdnn_utils.ensemble import ENDINGS, AbandonRule
from tdnn_utils.sweep import NetworkSpec, Problem, Protocol, grid, naitzat_problem, run_sweep

TIMES = ["train_seconds", "topology_seconds"]


@pytest.fixture(scope="module")
def problem():
    return naitzat_problem("D-I", n_train=600, k=8, maxdim=1)


@pytest.fixture(scope="module")
def specs():
    return grid(["D-I"], {"3x25": (25, 25, 25)}, ["relu", "tanh"], seeds=2)


PROTOCOL = Protocol(steps=1000, lr=0.02, lr_halving_every=500, max_attempts=2)


@pytest.fixture(scope="module")
def reference(problem, specs, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    result = run_sweep(specs, {"D-I": problem}, PROTOCOL, cache_dir=cache, progress=False)
    return result, cache


def same(a, b):
    pd.testing.assert_frame_equal(a.networks.drop(columns=TIMES), b.networks.drop(columns=TIMES))
    pd.testing.assert_frame_equal(a.betti, b.betti)
    pd.testing.assert_frame_equal(a.attempts, b.attempts)


def test_problem_measures_every_divisor_th_training_point(problem):
    assert problem.X_train.shape == (600, 2) and problem.X_measure.shape == (200, 2)
    np.testing.assert_array_equal(problem.X_measure, problem.X_train[::3])


def test_sweep_trains_measures_and_caches_each_network(reference, specs):
    result, cache = reference
    assert (result.computed, result.reused) == (4, 0)
    assert len(list(cache.rglob("*.json"))) == 4
    assert result.networks[["activation", "seed"]].values.tolist() == \
        [["relu", 0], ["relu", 1], ["tanh", 0], ["tanh", 1]]
    perfect = result.networks[result.networks["perfect"]]
    assert len(perfect) >= 1, "no network reached 100%: the test cannot check the Betti table"
    assert (perfect["final_accuracy"] == 1.0).all()
    # every perfect network has input, 3 hidden layers and logits, 2 classes, dims 0-1
    counts = result.betti.groupby(["activation", "seed"]).size()
    assert set(counts) == {5 * 2 * 2}
    assert len(counts) == len(perfect)
    assert (result.betti["n_layers"] == 4).all()
    # the input is measured with the problem's metric, so each class has D-I's topology there
    first = result.betti[result.betti["depth"] == 0].groupby(["label", "dim"])["betti"].unique()
    assert all(len(values) == 1 for values in first)


def test_rerun_reuses_every_network(reference, problem, specs):
    result, cache = reference
    again = run_sweep(specs, {"D-I": problem}, PROTOCOL, cache_dir=cache, progress=False)
    assert (again.computed, again.reused) == (0, 4)
    same(result, again)
    pd.testing.assert_frame_equal(result.networks, again.networks)  # times come from the cache


def test_interrupted_sweep_resumes_where_it_stopped(reference, problem, specs, tmp_path):
    result, cache = reference
    files = sorted(cache.rglob("*.json"))
    for path in files[:2]:  # as if the sweep had stopped after two networks
        (tmp_path / path.parent.name).mkdir(exist_ok=True)
        (tmp_path / path.parent.name / path.name).write_text(path.read_text())
    (tmp_path / files[2].parent.name / files[2].name).write_text('{"network": ')  # killed mid-write
    resumed = run_sweep(specs, {"D-I": problem}, PROTOCOL, cache_dir=tmp_path, progress=False)
    assert (resumed.computed, resumed.reused) == (2, 2)
    same(result, resumed)
    assert json.loads((tmp_path / files[2].parent.name / files[2].name).read_text())["network"]


def test_records_cached_before_final_accuracy_are_reused_with_nan(reference, problem, specs, tmp_path):
    _, cache = reference
    for path in cache.rglob("*.json"):
        record = json.loads(path.read_text())
        del record["network"]["final_accuracy"]
        (tmp_path / path.parent.name).mkdir(exist_ok=True)
        (tmp_path / path.parent.name / path.name).write_text(json.dumps(record))
    older = run_sweep(specs, {"D-I": problem}, PROTOCOL, cache_dir=tmp_path, progress=False)
    assert (older.computed, older.reused) == (0, 4)
    assert older.networks["final_accuracy"].isna().all()


def test_each_attempt_is_recorded_in_the_cache_and_the_attempts_table(reference):
    result, cache = reference
    attempts = result.attempts
    assert list(attempts.columns) == sweep.ATTEMPT_COLUMNS
    networks = result.networks.set_index(["activation", "seed"])
    assert attempts.groupby(["activation", "seed"]).size().equals(networks["attempts"])
    last = attempts.groupby(["activation", "seed"]).tail(1).set_index(["activation", "seed"])
    assert last["reached_perfect"].equals(networks["perfect"])
    assert last["steps"].equals(networks["steps"])
    assert (attempts["attempt_seed"] == attempts["seed"] + 1000 * attempts["attempt"]).all()
    assert set(attempts["ended"]) <= set(ENDINGS)
    assert (attempts["ended"] == "perfect").sum() == networks["perfect"].sum()  # no patience here
    record = json.loads(next(cache.rglob("*.json")).read_text())
    assert record["attempts"] and set(record["attempts"][0]) == {
        "attempt", "seed", "steps", "ended", "reached_perfect", "final_accuracy", "check_steps",
        "check_accuracy", "check_best"}


def test_records_cached_before_attempts_were_kept_still_load(reference, problem, specs, tmp_path):
    result, cache = reference
    for path in cache.rglob("*.json"):
        record = json.loads(path.read_text())
        del record["attempts"]
        (tmp_path / path.parent.name).mkdir(exist_ok=True)
        (tmp_path / path.parent.name / path.name).write_text(json.dumps(record))
    older = run_sweep(specs, {"D-I": problem}, PROTOCOL, cache_dir=tmp_path, progress=False)
    assert (older.computed, older.reused) == (0, 4)
    pd.testing.assert_frame_equal(older.networks, result.networks)
    assert older.attempts.empty and list(older.attempts.columns) == sweep.ATTEMPT_COLUMNS


def test_an_abandon_rule_in_the_protocol_ends_attempts_and_changes_the_key(problem):
    spec = NetworkSpec("D-I", "3x25", (25, 25, 25), "relu", 0)
    plain = Protocol(steps=300, lr=0.02, lr_halving_every=500, max_attempts=2, patience=10)
    strict = Protocol(steps=300, lr=0.02, lr_halving_every=500, max_attempts=2, patience=10,
                      abandon_rule=AbandonRule((1.0,)))  # anything short of 100% at step 10
    assert spec.key(problem, plain) != spec.key(problem, strict)
    record = sweep.train_and_measure(spec, problem, strict)
    assert [a["ended"] for a in record["attempts"]] == ["rule", "rule"]
    assert [a["steps"] for a in record["attempts"]] == [10, 10]


def _attempt(steps, ended, best, reached):
    return {"problem": "D-I", "architecture": "9x15", "activation": "relu", "steps": steps,
            "ended": ended, "reached_perfect": reached, "check_best": best,
            "check_steps": [1000 * (c + 1) for c in range(len(best))]}


def test_evaluate_rule_counts_what_a_rule_would_abandon_and_save():
    attempts = pd.DataFrame([
        _attempt(3000, "patience", [0.6, 0.7, 0.7], False),  # abandoned at 1,000: 2,000 saved
        _attempt(2500, "perfect", [0.8, 0.95], True),  # passes both checks
        _attempt(10_000, "budget", [0.5] + [0.6] * 8, False),  # abandoned at 1,000: 9,000 saved
        _attempt(1500, "perfect", [0.65], True),  # abandoned at 1,000 although it succeeds
        _attempt(1000, "patience", [0.3], False),  # patience ended it at that check anyway
    ])
    table = attempt_rules.evaluate_rule(attempts, AbandonRule((0.7, 0.9)))
    assert table.to_dict("records") == [{
        "problem": "D-I", "architecture": "9x15", "activation": "relu", "attempts": 5,
        "abandoned": 3, "wrongly_abandoned": 1, "steps": 18_000, "steps_saved": 11_500}]
    overall = attempt_rules.evaluate_rule(attempts, AbandonRule((0.0,)), by=())
    assert overall.to_dict("records") == [{"attempts": 5, "abandoned": 0, "wrongly_abandoned": 0,
                                            "steps": 18_000, "steps_saved": 0}]
    with pytest.raises(ValueError, match="recorded without one"):
        attempt_rules.evaluate_rule(pd.DataFrame([_attempt(1000, "rule", [0.3], False)]), AbandonRule((0.5,)))
    with pytest.raises(ValueError, match=r"lacks columns \['check_best'\]"):
        attempt_rules.evaluate_rule(attempts.drop(columns="check_best"), AbandonRule((0.5,)))
    with pytest.raises(ValueError, match="must be an AbandonRule"):
        attempt_rules.evaluate_rule(attempts, (0.5,))


def test_changed_protocol_or_data_is_not_reused(reference, problem, specs):
    _, cache = reference
    other_protocol = Protocol(steps=1001, lr=0.02, lr_halving_every=500, max_attempts=2)
    keys = {spec.key(problem, PROTOCOL) for spec in specs}
    assert not keys & {spec.key(problem, other_protocol) for spec in specs}
    other_problem = naitzat_problem("D-I", n_train=600, k=9, maxdim=1)
    assert not keys & {spec.key(other_problem, PROTOCOL) for spec in specs}


def test_two_loky_workers_give_the_sequential_results(reference, problem, specs):
    result, _ = reference
    parallel = run_sweep(specs, {"D-I": problem}, PROTOCOL, n_jobs=2, progress=False)
    same(result, parallel)


def test_networks_do_not_depend_on_the_ensembles_they_train_in(reference, problem, specs):
    result, _ = reference  # relu seeds 0-1 trained together, tanh seeds 0-1 together
    one_by_one = run_sweep(specs, {"D-I": problem}, PROTOCOL, ensemble_size=1, progress=False)
    same(result, one_by_one)  # bit for bit on the CPU: same steps, attempts, Betti numbers


def test_ensembles_group_one_architecture_and_activation_in_nearly_equal_parts():
    specs = (grid(["D-I"], {"a": (5, 5)}, ["relu"], seeds=31)
             + grid(["D-I"], {"b": (5, 5)}, ["relu"], seeds=2)  # same widths: trains with "a"
             + grid(["D-I"], {"a": (5, 5)}, ["tanh"], seeds=2)
             + grid(["D-II"], {"a": (5, 5)}, ["relu"], seeds=1))
    chunks = sweep.ensembles(specs, ensemble_size=30)
    assert [len(chunk) for chunk in chunks] == [17, 16, 2, 1]
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(specs)))
    for chunk in chunks:
        assert len({(specs[i].problem, specs[i].hidden, specs[i].activation) for i in chunk}) == 1
    assert [len(chunk) for chunk in sweep.ensembles(specs, ensemble_size=1)] == [1] * len(specs)
    assert [len(chunk) for chunk in sweep.ensembles(specs, ensemble_size=30, n_jobs=2)] == [17, 16, 2, 1]


def test_ensembles_give_every_worker_one_when_there_are_few():
    specs = grid(["D-I"], {"a": (5, 5)}, ["relu"], seeds=6) + grid(["D-I"], {"a": (5, 5)}, ["tanh"], seeds=1)
    chunks = sweep.ensembles(specs, ensemble_size=30, n_jobs=4)
    assert sorted(map(len, chunks), reverse=True) == [3, 2, 1, 1]  # the largest halved, twice
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(specs)))
    assert [len(c) for c in sweep.ensembles(specs[:2], ensemble_size=30, n_jobs=4)] == [1, 1]
    assert sweep.ensembles([], ensemble_size=30, n_jobs=4) == []


def test_train_and_measure_ensemble_refuses_mixed_architectures(problem):
    specs = [NetworkSpec("D-I", "a", (3,), "relu", 0), NetworkSpec("D-I", "b", (4,), "relu", 1)]
    with pytest.raises(ValueError, match="one architecture and activation"):
        sweep.train_and_measure_ensemble(specs, problem, PROTOCOL)
    with pytest.raises(ValueError, match="specs is empty"):
        sweep.train_and_measure_ensemble([], problem, PROTOCOL)


@pytest.mark.slow
def test_local_dask_cluster_gives_the_local_results(reference, problem, specs):
    pytest.importorskip("distributed")
    result, _ = reference
    on_dask = run_sweep(specs, {"D-I": problem}, PROTOCOL, n_jobs=2, backend="dask", progress=False)
    assert on_dask.computed == 4
    same(result, on_dask)


def test_protocol_keeps_only_perfect_networks_and_counts_attempts(problem):
    spec = NetworkSpec("D-I", "tiny", (2,), "tanh", seed=0)
    record = sweep.train_and_measure(spec, problem, Protocol(steps=5, max_attempts=3))
    assert record["network"]["perfect"] is False
    assert 0.0 <= record["network"]["final_accuracy"] < 1.0
    assert record["network"]["attempts"] == 3
    assert record["betti"] == []


@pytest.mark.parametrize("kwargs, message", [
    ({"backend": "spark"}, "backend 'spark' is unknown"),
    ({"n_jobs": 0}, "n_jobs=0"),
    ({"ensemble_size": 0}, "ensemble_size=0 must be a positive integer"),
])
def test_bad_sweep_arguments_fail_early(problem, specs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_sweep(specs, {"D-I": problem}, PROTOCOL, progress=False, **kwargs)


def test_unknown_problem_and_bad_specs_fail_early(problem, specs):
    with pytest.raises(ValueError, match=r"name problems \['D-I'\]; known: \['D-II'\]"):
        run_sweep(specs, {"D-II": problem}, PROTOCOL, progress=False)
    with pytest.raises(ValueError, match="activation 'swish' is unknown"):
        NetworkSpec("D-I", "x", (5,), "swish")
    with pytest.raises(ValueError, match="must be positive"):
        NetworkSpec("D-I", "x", (5, 0), "relu")
    with pytest.raises(ValueError, match="steps=0"):
        Protocol(steps=0)


def test_problem_rejects_bad_data():
    X = np.zeros((10, 2))
    with pytest.raises(ValueError, match="y_train has shape"):
        Problem("p", X, np.zeros(9), X, np.zeros(10), k=3)
    with pytest.raises(ValueError, match="NaN"):
        Problem("p", np.full((10, 2), np.nan), np.zeros(10), X, np.zeros(10), k=3)
    with pytest.raises(ValueError, match="k=0"):
        Problem("p", X, np.zeros(10), X, np.zeros(10), k=0)


def test_architectures_name_the_papers_variants():
    names = sweep.architectures(depths=(3, 9), widths=(5, 15), bottleneck=True)
    assert list(names) == ["3×15", "9×15", "9×5", "bottleneck"]
    assert names["9×5"] == (5,) * 9 and names["3×15"] == (15,) * 3
    assert names["bottleneck"] == (15, 15, 3, 15, 15, 15, 15, 15, 15)


def test_training_on_the_measured_points_only():
    problem = naitzat_problem("D-I", n_train=600, train_on_measured=True, k=8)
    assert len(problem.X_train) == 200
    np.testing.assert_array_equal(problem.X_train, problem.X_measure)


def test_trust_checks_run_for_the_first_seeds_and_are_collected(specs):
    problem = naitzat_problem("D-I", n_train=600, k=8, maxdim=1)
    checked = sweep.Problem("D-I", problem.X_train, problem.y_train, problem.X_measure,
                            problem.y_measure, k=8, maxdim=1, trust_seeds=1, engine="gudhi")
    result = run_sweep(specs, {"D-I": checked}, PROTOCOL, progress=False)
    perfect = result.networks[result.networks["perfect"]]
    assert list(result.trust.columns) == sweep.TRUST_COLUMNS
    checked_seeds = set(result.trust["seed"])
    assert checked_seeds <= {0} and (checked_seeds or 0 not in set(perfect["seed"]))
    if len(result.trust):  # 3 hidden layers and the logits, 2 classes per checked network
        per_network = result.trust.groupby(["activation", "seed"]).size()
        assert set(per_network) == {4 * 2}
        assert result.trust["ok"].dtype == bool


def test_mini_batch_protocol_trains_as_fit_ensemble_and_keeps_old_keys(problem):
    import hashlib
    from dataclasses import asdict

    from tdnn_utils.ensemble import fit_ensemble

    # the defaults leave the key as it was before batch_size, check_every, abandon_rule and
    # lr_decay existed
    spec = NetworkSpec("D-I", "3x25", (25, 25, 25), "relu", 0)
    old_fields = {k: v for k, v in asdict(PROTOCOL).items()
                  if k not in ("batch_size", "check_every", "abandon_rule", "lr_decay")}
    old_key = hashlib.sha1(json.dumps([asdict(spec), problem.fingerprint(), old_fields],
                                      sort_keys=True).encode()).hexdigest()[:20]
    assert spec.key(problem, PROTOCOL) == old_key
    mini = Protocol(steps=200, lr=0.02, lr_halving_every=500, max_attempts=1, batch_size=100,
                    check_every=5)
    assert spec.key(problem, mini) != old_key
    record = sweep.train_and_measure(spec, problem, mini)
    [member] = fit_ensemble([2, 25, 25, 25, 2], "relu", problem.X_train, problem.y_train, [0],
                            steps=200, lr=0.02, lr_halving_every=500, max_attempts=1,
                            batch_size=100, check_every=5, device="cpu", progress=False)
    assert record["network"]["steps"] == member.steps
    assert record["network"]["perfect"] == member.reached_perfect
    if member.reached_perfect:
        assert member.steps % 5 == 0


@pytest.mark.parametrize("change, message", [
    ({"init": "he"}, "init='he'"), ({"patience": 0}, "patience=0"), ({"steps": True}, "steps=True"),
    ({"batch_size": 0}, "batch_size=0"), ({"check_every": 0}, "check_every=0"),
    ({"abandon_rule": AbandonRule((0.5,))}, "set patience too"),
    ({"abandon_rule": (0.5,), "patience": 10}, "must be an AbandonRule or None"),
])
def test_protocol_refuses_bad_settings(change, message):
    with pytest.raises(ValueError, match=message):
        Protocol(**change)


def _table(groups):
    """A networks table: (activation, [perfect per seed]) per group."""
    rows = [{"problem": "D-I", "architecture": "3x5", "hidden": "5×5×5", "activation": activation,
             "seed": seed, "perfect": ok} for activation, oks in groups for seed, ok in enumerate(oks)]
    return pd.DataFrame(rows)


def test_next_seeds_asks_for_what_each_group_success_rate_says_it_needs():
    table = _table([("relu", [True] * 4), ("tanh", [True, False, False, False]), ("gelu", [False] * 3)])
    more = sweep.next_seeds(table, min_perfect=3, max_seeds=20)
    by = {}
    for spec in more:
        by.setdefault(spec.activation, []).append(spec.seed)
    # relu has enough; tanh: 1 of 4, so 2 more successes need 8 more seeds; gelu: none yet, n more
    assert by == {"tanh": list(range(4, 12)), "gelu": [3, 4, 5]}
    assert all(spec.hidden == (5, 5, 5) and spec.architecture == "3x5" for spec in more)
    capped = sweep.next_seeds(table, min_perfect=3, max_seeds=6)
    assert [s.seed for s in capped if s.activation == "tanh"] == [4, 5]
    assert sweep.next_seeds(table, min_perfect=1, max_seeds=20) == [
        NetworkSpec("D-I", "3x5", (5, 5, 5), "gelu", seed) for seed in (3, 4, 5)]
    with pytest.raises(ValueError, match="min_perfect=0"):
        sweep.next_seeds(table, min_perfect=0, max_seeds=20)


def test_run_sweep_until_adds_seeds_until_enough_reach_100_percent(reference, problem, specs):
    first, cache = reference
    short = Protocol(steps=150, lr=0.02, lr_halving_every=500, max_attempts=1)  # many fall short
    result = sweep.run_sweep_until(specs, {"D-I": problem}, short, min_perfect=2, max_seeds=6,
                                   cache_dir=cache, progress=False)
    counts = result.networks.groupby("activation").agg(tried=("seed", "size"), ok=("perfect", "sum"))
    assert ((counts["ok"] >= 2) | (counts["tried"] == 6)).all()
    assert (counts["tried"] > 2).any(), "every group reached 2 at once: the test checks no extension"
    assert result.networks.groupby("activation")["seed"].apply(
        lambda s: list(s) == list(range(len(s)))).all()  # consecutive seeds, in order
    again = sweep.run_sweep_until(specs, {"D-I": problem}, short, min_perfect=2, max_seeds=6,
                                  cache_dir=cache, progress=False)
    assert (again.computed, again.reused) == (0, len(result.networks))
    same(result, again)


def test_combine_keeps_column_types_when_a_sweep_has_no_rows(reference):
    result, _ = reference
    empty = sweep.SweepResult(result.networks.iloc[:0], result.betti.iloc[:0], 0, 0)  # no trust rows
    with_trust = sweep.SweepResult(result.networks, result.betti, 1, 2,
                                   pd.DataFrame({**{c: ["x"] for c in sweep.TRUST_COLUMNS}, "ok": [True]}))
    joined = sweep.combine([with_trust, empty])
    assert joined.networks["perfect"].dtype == bool and joined.trust["ok"].dtype == bool
    assert (joined.computed, joined.reused, len(joined.networks)) == (1, 2, len(result.networks))
    with pytest.raises(ValueError, match="at least one"):
        sweep.combine([])


def test_a_data_set_sweep_extends_only_its_main_networks(problem, tmp_path):
    from tdnn_utils import simplification

    setup = simplification.Setup("D-I", source="generator", hidden=(25, 25, 25), steps=150, max_attempts=1,
                                 seeds=2, trust_seeds=0, min_perfect=2, max_seeds=4)
    specs = (grid(["D-I"], {setup.architecture: setup.hidden}, ["relu", "tanh"], seeds=2)
             + grid(["D-I"], {"2x5": (5, 5)}, ["relu"], seeds=2))  # a variant: never extended
    protocol = Protocol(steps=150, lr=0.02, lr_halving_every=500, max_attempts=1)
    result = simplification.sweep(specs, problem, protocol, setup, ["relu", "tanh"], cache_dir=tmp_path,
                                  progress=False)
    tried = result.networks.groupby(["architecture", "activation"]).size()
    assert tried[("2x5", "relu")] == 2
    main = result.networks[result.networks["architecture"] == setup.architecture]
    counts = main.groupby("activation").agg(tried=("seed", "size"), ok=("perfect", "sum"))
    assert ((counts["ok"] >= 2) | (counts["tried"] == 4)).all()
    assert (counts["tried"] > 2).any(), "nothing needed more seeds: the test checks no extension"
    plain = simplification.sweep(specs, problem, protocol, None, cache_dir=tmp_path, progress=False)
    assert len(plain.networks) == len(specs) and plain.computed == 0


def test_sweep_reads_several_k_and_heldout_accuracy(problem, tmp_path):
    """With ks, every layer is read at each k (one neighbour query per cloud); with held-out
    points, each network's accuracy on them is kept."""
    X_rest, y_rest = problem.X_train[1::3], problem.y_train[1::3]
    wider = Problem("D-I", problem.X_train, problem.y_train, problem.X_measure, problem.y_measure,
                    k=8, ks=(6, 8, 10), X_heldout=X_rest, y_heldout=y_rest)
    assert wider.fingerprint() != problem.fingerprint()
    spec = [NetworkSpec("D-I", "3x25", (25, 25, 25), "relu", 0)]
    result = run_sweep(spec, {"D-I": wider}, PROTOCOL, progress=False)
    row = result.networks.iloc[0]
    assert 0 <= row["heldout_accuracy"] <= 1
    assert row["perfect"], "the network did not reach 100%: nothing was read"
    per_k = result.betti.groupby("k").size()
    assert per_k.index.tolist() == [6, 8, 10] and per_k.nunique() == 1
    at_8 = result.betti[result.betti["k"] == 8].drop(columns="k").reset_index(drop=True)
    alone = run_sweep(spec, {"D-I": problem}, PROTOCOL, progress=False).betti.drop(columns="k")
    pd.testing.assert_frame_equal(at_8, alone.reset_index(drop=True))


def test_problem_refuses_ks_without_k_and_half_a_heldout_set(problem):
    with pytest.raises(ValueError, match="include k=8"):
        Problem("D-I", problem.X_train, problem.y_train, problem.X_measure, problem.y_measure, k=8, ks=(6, 10))
    with pytest.raises(ValueError, match="both X_heldout and y_heldout"):
        Problem("D-I", problem.X_train, problem.y_train, problem.X_measure, problem.y_measure, k=8,
                X_heldout=problem.X_measure)


def test_replaying_abandoned_attempts_follows_them_then_goes_on(problem):
    """An attempt's training depends only on its seed: the replay without the rule retraces the
    abandoned attempt and goes on past the rule's stop."""
    from tdnn_utils.ensemble import AbandonRule

    strict = Protocol(steps=600, lr=0.02, lr_halving_every=500, max_attempts=2, patience=100,
                      abandon_rule=AbandonRule((0.9999,)))
    specs = grid(["D-I"], {"3x25": (25, 25, 25)}, ["relu"], seeds=2)
    result = run_sweep(specs, {"D-I": problem}, strict, progress=False)
    abandoned = result.attempts[result.attempts["ended"] == "rule"]
    assert len(abandoned), "the rule abandoned nothing: the test replays nothing"
    replay = attempt_rules.replay_abandoned(result.attempts, {"D-I": problem}, strict, {"3x25": (25, 25, 25)})
    assert len(replay) == len(abandoned)
    assert (replay["replay_steps"] > replay["steps"]).all()
    assert (replay["steps"] == 100).all()  # the rule's first check
    again = run_sweep(specs, {"D-I": problem}, Protocol(steps=600, lr=0.02, lr_halving_every=500,
                                                         max_attempts=1, patience=100), progress=False)
    first = again.attempts.set_index("seed")
    for row in replay.itertuples():
        if row.attempt == 0:
            assert row.replay_steps == first.loc[row.seed, "steps"]
            assert row.replay_perfect == first.loc[row.seed, "reached_perfect"]


def test_a_rule_from_successes_cuts_none_of_them():
    attempts = pd.DataFrame({
        "problem": "D-II", "architecture": "9x25", "activation": "relu",
        "reached_perfect": [True, True, True, False, False],
        "ended": ["perfect", "perfect", "perfect", "patience", "patience"],
        "steps": [3000, 2000, 4000, 2000, 5000],
        "check_steps": [[1000, 2000], [1000], [1000, 2000, 3000], [1000, 2000], [1000, 2000, 3000, 4000, 5000]],
        "check_best": [[0.7, 0.9], [0.8], [0.75, 0.95, 0.99], [0.5, 0.5], [0.6, 0.7, 0.71, 0.72, 0.72]]})
    rule = attempt_rules.rule_from_successes(attempts, margin=0.05, min_successes=2)
    assert rule.thresholds == pytest.approx((0.65, 0.85))  # check 3 has one success: no threshold
    judged = attempt_rules.evaluate_rule(attempts, rule)
    assert judged["wrongly_abandoned"].iloc[0] == 0 and judged["abandoned"].iloc[0] == 2
    with pytest.raises(ValueError, match="fewer than min_successes=5"):
        attempt_rules.rule_from_successes(attempts)
    with pytest.raises(ValueError, match="margin=-0.1"):
        attempt_rules.rule_from_successes(attempts, margin=-0.1)


def test_cross_validated_rules_judge_each_network_by_a_rule_set_without_it():
    def attempt(seed, steps, best, reached):
        return {"problem": "D-II", "architecture": "9x25", "activation": "tanh", "seed": seed, "steps": steps,
                "ended": "perfect" if reached else "patience", "reached_perfect": reached, "check_best": best,
                "check_steps": [1000 * (c + 1) for c in range(len(best))]}
    attempts = pd.DataFrame([
        attempt(0, 2000, [0.9, 0.99], True),
        attempt(2, 3000, [0.5, 0.7], True),  # a slow starter: the rule set from seeds 1 and 3 cuts it
        attempt(1, 5000, [0.3, 0.4, 0.4, 0.4, 0.4], False),  # abandoned at 1,000 by the rule from 0 and 2
        attempt(1, 2000, [0.8, 0.95], True),
        attempt(3, 2000, [0.85, 0.97], True)])
    table = attempt_rules.cross_validate_rule(attempts, folds=2, margin=0.05, min_successes=2)
    row = table.iloc[0].to_dict()
    assert {k: row[k] for k in ("attempts", "successes", "abandoned", "wrongly_abandoned", "steps", "steps_saved")} == {
        "attempts": 5, "successes": 4, "abandoned": 2, "wrongly_abandoned": 1, "steps": 14_000, "steps_saved": 6_000}
    assert row["saved_share"] == pytest.approx(6 / 14)
    assert row["thresholds"][0] == pytest.approx((0.75, 0.90)) and row["thresholds"][1] == pytest.approx((0.45, 0.65))
    from scipy import stats
    assert stats.binom.cdf(1, 4, row["cut_upper"]) == pytest.approx(0.05)  # 1 of 4 cut, one-sided 95%
    # too few successes outside a fold: no rule there, nothing abandoned, every attempt still counted
    sparse = attempt_rules.cross_validate_rule(attempts, folds=2, min_successes=3).iloc[0]
    assert sparse["abandoned"] == 0 and sparse["attempts"] == 5 and sparse["thresholds"] == ((), ())
    assert "none was judged" in attempt_rules.describe_cross_validation(pd.DataFrame([sparse]))
    assert "cut 1 of the 4 successes" in attempt_rules.describe_cross_validation(table)
    first = attempt_rules.at_check(attempts)
    assert first["best"].tolist() == [0.9, 0.5, 0.3, 0.8, 0.85] and first["outcome"].tolist().count("did not") == 1
    assert attempt_rules.at_check(attempts, check=3)["best"].tolist() == [0.4]  # only the long failure got there
    shown = attempt_rules.readable(table).iloc[0]
    assert shown["successes cut"] == 1 and shown["steps saved"] == "43%" and shown["share of successes cut (95% bound)"] == "at most 75%"
    assert attempt_rules.rules_by_configuration(attempts, min_successes=2) == {
        "D-II tanh": pytest.approx((0.48, 0.68))}
    assert attempt_rules.rules_by_configuration(attempts, min_successes=5) == {"D-II tanh": ()}
    with pytest.raises(ValueError, match="folds=1"):
        attempt_rules.cross_validate_rule(attempts, folds=1)
    with pytest.raises(ValueError, match="column 'seed'"):
        attempt_rules.cross_validate_rule(attempts.drop(columns="seed"))
