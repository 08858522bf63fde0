"""The committed giotto-deep reference run (book/results/gdeep_reference.json) and its reader.

The file comes from ``make gdeep-reference`` (giotto-deep 0.0.4 in its own Python 3.10
environment); these tests only read it.
"""

import json

import pandas as pd
import pytest

from tdnn_utils import reference

PATH = reference.DEFAULT_PATH
ACTIVATIONS = ("leakyrelu", "relu", "sigmoid", "tanh")


@pytest.fixture(scope="module")
def document():
    if not PATH.is_file():
        pytest.fail(f"{PATH} is missing: run `make gdeep-reference` (giotto-deep's own "
                    f"Python 3.10 environment) and commit the file")
    return json.loads(PATH.read_text())


def test_versions_say_giotto_deep_0_0_4(document):
    versions = document["versions"]
    assert versions["giotto-deep"] == "0.0.4"
    assert versions["python"].startswith("3.10.")
    assert versions["torch"].startswith("1.12.1")
    for key in ("numpy", "giotto-tda", "scikit-learn"):
        assert isinstance(versions[key], str) and versions[key]


def test_settings_are_the_tutorials(document):
    settings = document["settings"]
    assert settings["n_pts"] == 50
    assert settings["architecture"] == [3, 5, 5, 5, 2]
    assert settings["epochs"] == 7
    assert settings["lr"] == 0.01
    assert settings["batch_size"] == 200
    assert settings["homology_batch"] == 500
    assert settings["filtration_value"] == 0.5
    assert settings["homology_dimensions"] == [0, 1]
    seeds = settings["seeds"]
    assert len(seeds) >= 2 and all(isinstance(s, int) for s in seeds)
    assert len(set(seeds)) == len(seeds)
    assert "preset" in document


def test_layers_are_recorded(document):
    layers = document["layers"]
    hooked = layers["hooked"]
    assert [layer["name"] for layer in hooked] == [
        "linears.0", "linears.1", "linears.2", "linears.3", "<model>"]
    assert [layer["width"] for layer in hooked] == [5, 5, 5, 2, 2]
    assert layers["pre_activation"] is True and layers["includes_input"] is False


def test_every_activation_and_seed_has_a_run(document):
    seeds = document["settings"]["seeds"]
    n_layers = len(document["layers"]["hooked"])
    assert sorted(document["activations"]) == list(ACTIVATIONS)
    for name, entry in document["activations"].items():
        assert isinstance(entry["function"], str)
        runs = entry["runs"]
        assert [run["seed"] for run in runs] == seeds, name
        for run in runs:
            for key in ("train_accuracy", "val_accuracy", "all_points_accuracy"):
                assert isinstance(run[key], float) and 0.0 <= run[key] <= 1.0, (name, key)
            betti = run["betti"]
            assert len(betti) == n_layers, (name, run["seed"])
            assert all(len(row) == 2 and all(isinstance(b, int) and b >= 0 for b in row)
                       for row in betti)
            # reduced beta_0 of 500 points: at most 499
            assert all(row[0] <= 499 for row in betti)
            # the Visualiser's own plot showed these numbers
            assert run["visualiser_plot_matches"] is True
            # the last two hooked outputs are the same logits
            assert betti[-1] == betti[-2]
            diagrams = run["diagrams"]
            for key in ("bars", "at_max_edge_length", "total_finite_persistence"):
                assert len(diagrams[key]) == n_layers and all(len(r) == 2 for r in diagrams[key])


def test_data_summary(document):
    data = document["data"]
    assert data["shape"] == [40_000, 3]
    assert data["label_counts"] == {"0": 20_000, "1": 20_000}
    split = data["split"]
    assert (split["train"], split["validation"], split["test"]) == (32_000, 8_000, 0)
    assert len(data["tori"]) == 16
    for torus in data["tori"]:
        assert set(torus) >= {"translation", "label", "centre", "major_radius", "minor_radius",
                              "tilt_from_xy_plane_deg", "normal"}
        assert abs(torus["major_radius"] - 2.0) < 0.01
        assert abs(torus["minor_radius"] - 0.5) < 0.01
        expected_tilt = 0.0 if torus["label"] == 0 else 53.24  # 180 radians, mod pi
        assert abs(torus["tilt_from_xy_plane_deg"] - expected_tilt) < 0.5
    assert data["noise"]["width"] == 0.1
    assert abs(data["noise"]["measured_max"]) <= 0.0501
    assert abs(data["noise"]["measured_min"]) <= 0.0501
    assert data["angles"]["values"] == "range(50)"


def test_the_file_is_deterministic_json(document):
    text = PATH.read_text()
    assert text == json.dumps(document, indent=1, sort_keys=True) + "\n"
    assert len(text) < 100_000  # summaries only, no point clouds


# ---------------------------------------------------------------------------- the reader
def test_load_gdeep_reference(document):
    assert reference.load_gdeep_reference() == document
    assert reference.load_gdeep_reference(PATH) == document


def test_load_gdeep_reference_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="make gdeep-reference"):
        reference.load_gdeep_reference(tmp_path / "nope.json")


def test_load_gdeep_reference_rejects_a_short_betti_list(document, tmp_path):
    broken = json.loads(json.dumps(document))
    broken["activations"]["relu"]["runs"][0]["betti"].pop()
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="Betti rows"):
        reference.load_gdeep_reference(path)
    del broken["layers"]
    path.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="lacks the keys"):
        reference.load_gdeep_reference(path)


def test_gdeep_betti_table(document):
    table = reference.gdeep_betti_table()
    assert list(table.columns) == ["activation", "seed", "layer", "depth", "dim", "betti"]
    n_seeds = len(document["settings"]["seeds"])
    assert len(table) == 4 * n_seeds * 5 * 2
    assert set(table["activation"]) == {"relu", "leaky_relu", "tanh", "sigmoid"}
    assert table["depth"].min() == 1 and table["depth"].max() == 5
    assert set(table["dim"]) == {0, 1}
    # one cell back to the file
    run = document["activations"]["leakyrelu"]["runs"][0]
    cell = table[(table.activation == "leaky_relu") & (table.seed == run["seed"])
                 & (table.layer == "linears.1") & (table.dim == 1)]
    assert cell["betti"].tolist() == [run["betti"][1][1]]
    assert table.equals(reference.gdeep_betti_table(document))


def test_gdeep_accuracy_table(document):
    table = reference.gdeep_accuracy_table(document)
    assert list(table.columns) == ["activation", "seed", "train_accuracy", "val_accuracy",
                                   "all_points_accuracy"]
    assert len(table) == 4 * len(document["settings"]["seeds"])
    assert pd.api.types.is_float_dtype(table["train_accuracy"])


def test_in_gdeep_convention_reduces_beta0_and_repeats_the_logits(document):
    rows = [{"layer": name, "depth": depth, "label": 0, "dim": dim, "betti": 10 * depth + dim + 1,
             "seed": 0} for depth, name in enumerate(["input", "hidden_1", "hidden_2", "hidden_3", "logits"])
            for dim in (0, 1)]
    table = reference.in_gdeep_convention(pd.DataFrame(rows), document)
    assert table["depth"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert table["layer"].tolist()[::2] == ["linears.0", "linears.1", "linears.2", "linears.3", "<model>"]
    assert table["betti"].tolist() == [10, 12, 20, 22, 30, 32, 40, 42, 40, 42]
    with pytest.raises(ValueError, match="depths 1 to 4"):
        reference.in_gdeep_convention(pd.DataFrame(rows[:-2]), document)


def test_seed_agreement_is_range_overlap():
    ours = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 3 + ["c"], "v": [1, 2, 3, 10, 11, 12, 0]})
    theirs = pd.DataFrame({"g": ["a", "a", "b", "b", "d"], "v": [3, 5, 13, 14, 0]})
    table = reference.seed_agreement(ours, theirs, ["g"], "v").set_index("g")
    assert list(table.index) == ["a", "b"]
    assert table.loc["a", "agrees"] and not table.loc["b", "agrees"]
    assert table.loc["a", "ours_mean"] == 2 and table.loc["b", "gdeep_n"] == 2
    with pytest.raises(ValueError, match="theirs lacks columns"):
        reference.seed_agreement(ours, theirs.rename(columns={"v": "w"}), ["g"], "v")


def test_the_packaged_copy_is_the_books_file_and_is_read_without_the_repository(monkeypatch, tmp_path):
    # an install without the repository (Colab: pip install from the tag) reads the copy
    # shipped as package data; `make gdeep-reference` writes both files
    book_file, packaged = reference.DEFAULT_PATH, reference.PACKAGED_PATH
    assert packaged.read_bytes() == book_file.read_bytes(), \
        f"{packaged} differs from {book_file}: cp {book_file} {packaged}"
    monkeypatch.setattr(reference, "DEFAULT_PATH", tmp_path / "absent.json")
    assert reference.load_gdeep_reference() == json.loads(packaged.read_text())


def test_agreement_for_readers_puts_each_run_in_one_cell():
    agreement = pd.DataFrame({"activation": ["relu"], "ours_mean": [0.75], "ours_sd": [0.01], "ours_min": [0.7],
                              "ours_max": [0.8], "ours_n": [3], "gdeep_mean": [0.7], "gdeep_sd": [0.02],
                              "gdeep_min": [0.6], "gdeep_max": [0.72], "gdeep_n": [5], "agrees": [True]})
    table = reference.agreement_for_readers(agreement, ["activation"], percent=True)
    assert list(table.columns) == ["activation", "this book", "giotto-deep", "ranges overlap"]
    assert table.loc[0, "this book"] == "75.0% (70.0% to 80.0%, 3 seeds)" and bool(table.loc[0, "ranges overlap"])
    assert reference.agreement_for_readers(agreement, ["activation"]).loc[0, "giotto-deep"] == "0.7 (0.6 to 0.72, 5 seeds)"
