"""The landing page's summary: written from the results, current, and readable."""

import json

import nbformat
import pytest
import yaml

from tdnn_utils import colours, landing, runs


def test_the_committed_landing_page_matches_the_results():
    found = landing.problems()
    assert not found, "\n  ".join(["landing page out of date:", *found])


def toy_book(tmp_path, verdicts):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "book/results").mkdir(parents=True)
    (tmp_path / "book/chapters").mkdir()
    presets = {"book": {}}
    for name, claims in verdicts.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"# Chapter {name}: a test\n\n" + "word " * 400),
                    nbformat.v4.new_code_cell('results_path = ""', metadata={"tags": ["parameters"]})]
        for path in (tmp_path / "notebooks" / f"{name}.ipynb", tmp_path / "book/chapters" / f"{name}.ipynb"):
            nbformat.write(nb, str(path))
        runs.reset()
        for claim_id, verdict in claims:
            runs.record_claim(claim_id, f"claim {claim_id}", verdict, "because")
        runs.save_results(tmp_path / "book/results" / f"{name}.json", name)
        data = json.loads((tmp_path / "book/results" / f"{name}.json").read_text())
        (tmp_path / "book/results" / f"{name}.json").write_text(json.dumps({**data, "seconds": 42.0}))
        presets["book"][name] = {}
    (tmp_path / "notebooks/presets.yml").write_text(yaml.safe_dump(presets))
    runs.reset()
    return tmp_path


def test_findings_count_every_verdict_and_quote_the_headline_claims(tmp_path, monkeypatch):
    root = toy_book(tmp_path, {"00_primer": [], "01_a": [("c1", "confirmed"), ("c2", "partly")],
                               "02_b": [("c3", "not reproduced")]})
    monkeypatch.setattr(landing, "HEADLINES", (("First {}, then {}.", ("c1", "c3")),
                                              ("Missing {}.", ("c9",))))
    text = landing.findings(root)
    assert "2 chapters test 3 published claims" in text
    assert "1 confirmed, 1 partly and 1 not reproduced" in text
    assert "First **confirmed**, then **not reproduced**." in text and "Missing" not in text
    assert landing.missing_headlines(root) == ["c9"]
    assert any("c9" in p for p in landing.problems(root))


def test_chapters_table_gives_reading_and_running_times(tmp_path):
    root = toy_book(tmp_path, {"00_primer": [], "01_a": [("c1", "confirmed")]})
    (root / "book/durations.yml").write_text("01_a: {minutes: 150, measured: estimated}\n")
    rows = landing.chapters_table(root).splitlines()[2:]
    # 400 words at 200 a minute, rounded up to 5 minutes; the primer caches nothing: its own run
    assert rows[0].endswith("| 5\u00a0min | 42\u00a0s |"), rows[0]
    assert rows[1].endswith("| 5\u00a0min | ≈\u00a02.5\u00a0h (estimate) |"), rows[1]
    (root / "book/durations.yml").write_text("01_a: {measured: 2026-01-01}\n")
    with pytest.raises(runs.RunConfigError, match="minutes"):
        landing.chapters_table(root)


def test_the_verdict_figure_stacks_each_chapters_verdicts_in_safe_colours(tmp_path):
    root = toy_book(tmp_path, {"01_a": [("c1", "confirmed"), ("c2", "confirmed")],
                               "02_b": [("c3", "untestable")]})
    fig = landing.verdict_figure(root)
    assert [t.name for t in fig.data] == ["confirmed", "untestable"]
    assert list(fig.data[0].x) == [2, 0] and list(fig.data[1].x) == [0, 1]
    assert colours.red_green_conflicts(landing.VERDICT_COLOURS.values()) == []
    assert all("out of date" in p for p in landing.problems(root) if "HEADLINES" not in p)
    landing.write(root)
    assert not [p for p in landing.problems(root) if "out of date" in p]


def test_worker_minutes_add_up_the_networks_own_records():
    import pandas as pd

    networks = pd.DataFrame({"train_seconds": [60.0, 120.0], "topology_seconds": [30.0, 30.0]})
    assert landing.worker_minutes(networks) == 4.0
    assert landing.worker_minutes(networks, columns=("train_seconds",)) == 3.0
