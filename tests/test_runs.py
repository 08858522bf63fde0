"""The papermill runner, presets validation, results files and the claims page, on a temporary tree."""

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml

from tdnn_utils import runs, verdicts

PARAMS = 'n = 1\nresults_path = ""\ndevice = "cpu"\n'
BODY = """\
from tdnn_utils.runs import record, record_claim, save_results
import numpy as np
record("n_squared", np.int64(n) ** 2)
record("device_used", device)
record_claim("C1", "Squares grow.", "confirmed" if n > 1 else "partly", f"n**2 = {n**2} | with a pipe")
save_results(results_path, "01_toy")
"""


def make_notebook(path, body=BODY, params=PARAMS):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A toy chapter\n\nIt squares a number."),
        nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body),
    ]
    nbformat.write(nb, str(path))


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "notebooks").mkdir()
    make_notebook(tmp_path / "notebooks" / "01_toy.ipynb")
    make_notebook(tmp_path / "notebooks" / "02_broken.ipynb", body='raise RuntimeError("boom")')
    presets = {
        "smoke": {"01_toy": {}, "02_broken": {}},
        "book": {"01_toy": {"n": 3}},
        "full": {"01_toy": {"n": 10}},
    }
    (tmp_path / "notebooks" / "presets.yml").write_text(yaml.safe_dump(presets, sort_keys=False))
    return tmp_path


def leftovers(root):
    return [p.name for d in ("book/chapters", "book/results") if (root / d).exists()
            for p in (root / d).iterdir() if p.name.startswith(".")]


def test_run_writes_chapter_and_results_with_injected_parameters(tree):
    assert runs.run_preset("book", only="01", device="mps", root=tree, progress_bar=False) == {}
    data = json.loads((tree / "book/results/01_toy.json").read_text())
    assert data["chapter"] == "01_toy" and data["preset"] == "book"
    assert data["values"] == {"n_squared": 9, "device_used": "mps"}
    assert data["parameters"] == {"n": 3, "device": "mps"}
    assert data["claims"][0]["verdict"] == "confirmed"
    chapter = nbformat.read(str(tree / "book/chapters/01_toy.ipynb"), as_version=4)
    injected = next(c for c in chapter.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "n = 3" in injected.source and "../book/results/01_toy.json" in injected.source
    assert "hide-cell" in injected.metadata["tags"]  # folded on the page
    assert str(tree) not in json.dumps(chapter.metadata["papermill"])
    assert any("scrapbook" in o.get("metadata", {}) for c in chapter.cells for o in c.get("outputs", []))
    assert leftovers(tree) == []
    assert "Squares grow." in (tree / "book/claims.md").read_text()


@pytest.mark.parametrize("kwargs, bad, allowed", [
    ({"preset": "huge"}, "'huge'", "smoke, book, full"),
    ({"preset": "book", "only": "07"}, "'07'", "01_toy, 02_broken"),
    ({"preset": "book", "only": "02"}, "'02_broken'", "01_toy"),
    ({"preset": "book", "device": "tpu"}, "'tpu'", "auto, cpu, cuda, mps"),
])
def test_bad_requests_fail_before_running(tree, kwargs, bad, allowed):
    with pytest.raises(runs.RunConfigError) as err:
        runs.run_preset(root=tree, **kwargs)
    assert bad in str(err.value) and allowed in str(err.value)
    assert not (tree / "book").exists()


def test_unknown_notebook_or_parameter_in_preset(tree):
    presets = yaml.safe_load((tree / "notebooks/presets.yml").read_text())
    presets["book"]["03_missing"] = {}
    presets["full"]["01_toy"]["seeds"] = 3
    (tree / "notebooks/presets.yml").write_text(yaml.safe_dump(presets, sort_keys=False))
    with pytest.raises(runs.RunConfigError, match=r"'03_missing'.*01_toy, 02_broken"):
        runs.plan("book", root=tree)
    with pytest.raises(runs.RunConfigError, match=r"'seeds'.*n, results_path, device"):
        runs.run_preset("full", root=tree)
    assert not (tree / "book").exists()


def test_failed_run_leaves_previous_files_untouched(tree):
    for sub, text in (("chapters/02_broken.ipynb", '{"old": "chapter"}'), ("results/02_broken.json", '{"old": 1}')):
        (tree / "book" / sub).parent.mkdir(parents=True, exist_ok=True)
        (tree / "book" / sub).write_text(text)
    before = {p: p.read_bytes() for p in (tree / "book").rglob("*") if p.is_file()}
    with pytest.raises(runs.ChapterError, match="RuntimeError: boom"):
        runs.run_chapter("02_broken", {}, root=tree, progress_bar=False)
    assert {p: p.read_bytes() for p in (tree / "book").rglob("*") if p.is_file()} == before
    assert leftovers(tree) == []


def test_notebook_that_saves_nothing_fails(tree):
    make_notebook(tree / "notebooks" / "01_toy.ipynb", body="x = n")
    with pytest.raises(runs.ChapterError, match="save_results"):
        runs.run_chapter("01_toy", {}, root=tree, progress_bar=False)
    assert leftovers(tree) == [] and not (tree / "book/chapters/01_toy.ipynb").exists()


def test_cli_exit_codes(tree):
    cli = [sys.executable, "-m", "tdnn_utils.runs", "--root", str(tree), "--no-progress"]
    bad = subprocess.run([*cli, "--preset", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "'nope'" in bad.stderr and "smoke, book, full" in bad.stderr
    assert runs.main(["--root", str(tree), "--no-progress", "--preset", "smoke"]) == 1
    scratch = tree / "_runs/smoke/chapters"
    assert (scratch / "01_toy.ipynb").exists() and not (scratch / "02_broken.ipynb").exists()
    page = subprocess.run([*cli, "--claims-page"], capture_output=True, text=True)
    assert page.returncode == 0 and (tree / "book/claims.md").exists()


def test_claims_page(tmp_path):
    (tmp_path / "notebooks").mkdir()
    make_notebook(tmp_path / "notebooks" / "01_toy.ipynb")
    page = runs.claims_page(tmp_path).read_text()
    assert page.startswith("# Claims and verdicts") and "No results yet" in page
    assert "## How a verdict is reached" in page and "direction only" in page  # the rules, first
    results = tmp_path / "book/results"
    results.mkdir(parents=True)
    runs.reset()
    runs.record_claim("C1", "Networks simplify topology.", "partly", "beta_1 falls | not to 0\nin layer 2")
    runs.record_claim("C2", "ReLU is faster.", "not reproduced", "tanh was as fast")
    runs.save_results(results / "01_toy.json", "01_toy")
    page = runs.claims_page(tmp_path).read_text()
    assert "{doc}`chapters/01_toy`" in page and "No results yet" not in page
    # claims recorded before the size rules still appear, their evidence folded, linked to the chapter
    assert "(claim-C1)=\n### Networks simplify topology." in page
    assert "::::{dropdown} Evidence\nbeta_1 falls | not to 0\nin layer 2\n::::" in page
    assert "{bdg-warning}`partly`" in page and "{bdg-danger}`not reproduced`" in page
    assert ":link: chapters/01_toy\n:link-type: doc" in page and "earlier rules" in page
    written = json.loads((results / "01_toy.json").read_text())["written"]
    assert re.search(r"\(run: \d{1,2} [A-Z][a-z]+ \d{4}\)", page) and written[:10] not in page  # no ISO date


def judged_claim():
    table, found = verdicts.chapter_verdicts([
        {"family": "toy family", "claim": "C1", "comparison": "big", **verdicts.paired_effect([1.1, 0.9, 1.0, 1.2], 0.5)},
        {"family": "toy family", "claim": "C1", "comparison": "none yet",
         **verdicts.untestable("no network memorised", delta=0.5)}])
    return table, found["C1"]


def test_claims_page_shows_each_comparison_with_interval_delta_and_both_p_values(tmp_path):
    (tmp_path / "notebooks").mkdir()
    make_notebook(tmp_path / "notebooks" / "01_toy.ipynb")
    (tmp_path / "book/results").mkdir(parents=True)
    runs.reset()
    table, verdict = judged_claim()
    runs.record_claim("C1", "Squares grow by half a unit.", verdict, "see the table", section="toy-squares",
                      scope="toy squares", delta="0.5 units", delta_source="a judgement", family="toy family",
                      comparisons=table, unit=" u")
    runs.record_claim("C2", "Cubes grow.", "direction only", "cubes")
    runs.save_results(tmp_path / "book/results/01_toy.json", "01_toy")
    page = runs.claims_page(tmp_path).read_text()
    assert verdict == "partly"
    assert ":link: toy-squares\n:link-type: ref" in page and "{ref}`its section in the chapter <toy-squares>`" in page
    assert "- **Size claimed (δ):** 0.5 units" in page and "- **Where δ comes from:** a judgement" in page
    assert "::::{dropdown} 2 comparisons: 1 confirmed, 1 untestable\n:open:\n\n| comparison |" in page
    assert "Holm's correction runs over each): toy family." in page and "- **Scope:** toy squares" in page
    row = table.iloc[0]
    line = next(line for line in page.splitlines() if line.startswith("| big |"))
    assert f"+{row.effect:.3g} u ({row.low:.3g} to {row.high:.3g})" in line and "| 0.5 u |" in line
    assert f"{row.p_size_claim:.2g} · {row.p_size_family:.2g}" in line and "{bdg-success}`confirmed`" in line
    assert "{bdg-muted-line}`untestable` (no network memorised)" in page
    # a row per verdict some claim has (the others left out), a column per chapter, linked
    assert "| verdict | {doc}`Ch.\u00a01 <chapters/01_toy>` | all |" in page
    rows = [line for line in page.splitlines() if line.startswith("| {bdg")]
    assert rows == ["| {bdg-info}`direction only` | 1 | **1** |", "| {bdg-warning}`partly` | 1 | **1** |"], rows
    assert "| claims | 2 | **2** |" in page


def test_record_claim_keeps_the_details_and_refuses_unknown_ones():
    runs.reset()
    table, verdict = judged_claim()
    entry = runs.record_claim("C1", "x", verdict, "y", comparisons=table, delta="0.5", scale=100)
    assert entry["comparisons"][0]["status"] == "confirmed" and entry["scale"] == 100
    assert set(entry["comparisons"][0]) <= set(runs.COMPARISON_FIELDS)
    assert entry["comparisons"][1]["effect"] is None  # NaN kept as null in JSON
    with pytest.raises(ValueError, match="unknown details.*'colour'"):
        runs.record_claim("C1", "x", "confirmed", "y", colour="red")
    assert runs.VERDICTS == verdicts.VERDICTS and "direction only" in runs.VERDICTS
    runs.reset()


def test_record_and_save(tmp_path):
    runs.reset()
    assert runs.record("betti", np.array([1, 2])) == [1, 2]
    assert runs.record("loss", np.float32(0.5)) == 0.5
    assert runs.record("nan", float("nan")) is None
    with pytest.raises(TypeError, match="'bad'.*object"):
        runs.record("bad", object())
    with pytest.raises(ValueError, match=r"'maybe'.*confirmed.*partly.*not reproduced"):
        runs.record_claim("C1", "x", "maybe", "y")
    runs.record_claim("C1", "x", "confirmed", "y")
    runs.record_claim("C1", "x", "partly", "z")
    assert runs.save_results("", "01_toy") is None and runs.save_results(None, "01_toy") is None
    data = json.loads(runs.save_results(tmp_path / "r.json", "01_toy").read_text())
    assert data["values"] == {"betti": [1, 2], "loss": 0.5, "nan": None}
    assert data["claims"] == [{"id": "C1", "claim": "x", "verdict": "partly", "evidence": "z"}]
    assert list(tmp_path.iterdir()) == [tmp_path / "r.json"]


@pytest.mark.parametrize("preset", ["smoke", "book", "full"])
def test_the_books_own_presets_name_real_notebooks_and_parameters(preset):
    planned = runs.plan(preset)
    assert [name for name, _ in planned] == runs.notebooks()


def test_record_claims_records_each_and_returns_markdown_lines():
    runs.reset()
    lines = runs.record_claims([("c1", "A holds", "confirmed", "because"), ("c2", "B holds", "partly", "half"),
                                ("c3", "C holds", "direction only", "smaller", {"delta": "1 point"})])
    assert lines[:2] == ["- **A holds: confirmed.** because", "- **B holds: partly.** half"]
    assert [c["id"] for c in runs.results()["claims"]] == ["c1", "c2", "c3"]
    assert runs.results()["claims"][2]["delta"] == "1 point"
    with pytest.raises(ValueError, match="'maybe'"):
        runs.record_claims([("c3", "C", "maybe", "")])
    runs.reset()


def test_only_published_presets_write_the_book(tree, capsys):
    assert runs.run_preset("smoke", only="01", root=tree, progress_bar=False) == {}
    assert not (tree / "book").exists(), "a smoke run wrote into book/"
    assert (tree / "_runs/smoke/results/01_toy.json").exists()
    out = capsys.readouterr().out
    assert "wrote _runs/smoke/chapters/01_toy.ipynb" in out and "wrote _runs/smoke/results/01_toy.json" in out
    assert runs.output_folders("book", tree) == (tree / "book/chapters", tree / "book/results")
    assert runs.output_folders("mine", tree) == (tree / "_runs/mine/chapters", tree / "_runs/mine/results")


def test_a_run_records_its_wall_time_and_prints_what_it_wrote(tree, capsys):
    (tree / "README.md").write_text(f"# Toy\n\n{runs.README_START}\nold\n{runs.README_END}\n\nMore.\n")
    assert runs.run_preset("book", only="01", root=tree, progress_bar=False) == {}
    data = json.loads((tree / "book/results/01_toy.json").read_text())
    assert isinstance(data["seconds"], float) and data["seconds"] > 0
    out = capsys.readouterr().out
    for written in ("book/chapters/01_toy.ipynb", "book/results/01_toy.json", "book/claims.md", "README.md"):
        assert f"wrote {written}" in out, out
    assert "01_toy: " in out
    readme = (tree / "README.md").read_text()
    assert "old" not in readme and readme.endswith("\n\nMore.\n")
    row = next(line for line in readme.splitlines() if "01_toy" in line)
    assert "`book` preset" in row and "1 confirmed" in row


def test_readme_without_markers_is_refused(tree):
    (tree / "README.md").write_text("# Toy\n")
    with pytest.raises(runs.RunConfigError, match="markers"):
        runs.readme_table(tree)


def test_claims_page_lists_only_chapters(tmp_path):
    (tmp_path / "notebooks").mkdir()
    make_notebook(tmp_path / "notebooks" / "01_toy.ipynb")
    results = tmp_path / "book/results"
    results.mkdir(parents=True)
    runs.reset()
    runs.record_claim("C1", "x", "untestable", "no network reached 100%")
    runs.save_results(results / "01_toy.json", "01_toy")
    (results / "gdeep_reference.json").write_text('{"versions": {}}')
    page = runs.claims_page(tmp_path).read_text()
    assert "01_toy" in page and "gdeep_reference" not in page and "{bdg-muted-line}`untestable`" in page


def test_claims_page_leaves_out_the_primer(tmp_path):
    (tmp_path / "notebooks").mkdir()
    results = tmp_path / "book/results"
    results.mkdir(parents=True)
    for name in ("00_primer", "01_toy"):
        make_notebook(tmp_path / "notebooks" / f"{name}.ipynb")
        runs.reset()
        if name == "01_toy":
            runs.record_claim("C1", "x", "confirmed", "y")
        runs.save_results(results / f"{name}.json", name)
    page = runs.claims_page(tmp_path).read_text()
    assert "01_toy" in page and "00_primer" not in page


def test_malformed_presets_exit_2_naming_file_and_line(tree):
    (tree / "notebooks/presets.yml").write_text("smoke:\n  01_toy: {}\nbook: [unclosed\n")
    done = subprocess.run([sys.executable, "-m", "tdnn_utils.runs", "--root", str(tree), "--preset", "book"],
                          capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "presets.yml, line" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_stops_the_run_and_leaves_no_temporary_file(tree, stop):
    make_notebook(tree / "notebooks" / "03_slow.ipynb", body="import time\ntime.sleep(60)")
    presets = yaml.safe_load((tree / "notebooks/presets.yml").read_text())
    presets["book"]["03_slow"] = {}
    (tree / "notebooks/presets.yml").write_text(yaml.safe_dump(presets))
    run = subprocess.Popen([sys.executable, "-m", "tdnn_utils.runs", "--root", str(tree), "--no-progress",
                            "--preset", "book", "--only", "03"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not list((tree / "book/chapters").glob(".03_slow.*")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # the kernel is running the sleep
    run.send_signal(stop)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert leftovers(tree) == []
    assert not (tree / "book/chapters/03_slow.ipynb").exists()


@pytest.mark.parametrize("name", runs.notebooks())
def test_papermill_reads_every_parameter_the_runner_passes(name):
    # papermill parses the parameters cell line by line; a line it cannot parse (a quote or
    # parentheses in a comment) drops that parameter from its view with only a warning
    import papermill

    path = Path(__file__).resolve().parents[1] / "notebooks" / f"{name}.ipynb"
    seen = set(papermill.inspect_notebook(str(path)))
    missing = sorted(set(runs.notebook_parameters(path)) - seen)
    assert not missing, f"papermill cannot parse these parameters of {name}: {missing}"


def test_a_chapters_tables_land_beside_its_results(tree):
    body = BODY.replace('save_results(results_path, "01_toy")',
                        'import pandas as pd\nfrom tdnn_utils.runs import save_table\n'
                        'save_table(results_path, "betti", pd.DataFrame({"seed": [0, 1], "b0": [1, 2]}))\n'
                        'save_results(results_path, "01_toy")')
    make_notebook(tree / "notebooks" / "01_toy.ipynb", body=body)
    assert runs.run_preset("book", only="01", root=tree, progress_bar=False) == {}
    assert (tree / "book/results/01_betti.csv").read_text() == "seed,b0\n0,1\n1,2\n"
    assert runs.table_path("01_toy", "betti", tree) == tree / "book/results/01_betti.csv"
    assert leftovers(tree) == []
    assert runs.save_table("", "betti", None) is None
    with pytest.raises(ValueError, match="names a file"):
        runs.save_table("x.json", "../b", None)

def test_what_we_found_gives_one_line_per_claim_and_folds_the_evidence():
    from tdnn_utils import claims

    runs.reset()
    table, verdict = judged_claim()
    entry = runs.record_claim("C1", "Squares grow by half a unit", verdict, "see the table", comparisons=table)
    text = claims.what_we_found([entry, runs.record_claim("C2", "Cubes grow", "untestable", "no cubes")])
    lines = text.splitlines()
    assert lines[0] == ("- **Squares grow by half a unit:** {bdg-warning}`partly` "
                        "(2 comparisons: 1 confirmed, 1 untestable).")
    assert lines[1] == "- **Cubes grow:** {bdg-muted-line}`untestable`."
    assert "::::{dropdown} The evidence for each claim" in text and text.endswith("::::")
    assert "**Cubes grow.** no cubes" in text and "| comparison | n |" in text
    reversed_row = {"status": "not reproduced", "reversed": True}
    assert claims.tally([reversed_row, reversed_row, {"status": "inconclusive"}]) == \
        "3 comparisons: 2 not reproduced (2 reversed), 1 inconclusive"
    runs.reset()

