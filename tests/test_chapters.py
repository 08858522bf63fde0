"""Chapter sources: synced jupytext pairs, one install cell, one repository address."""

import json
import shutil
import subprocess
import sys
import types

import pytest

from tdnn_utils import __version__, chapters


def test_every_chapter_is_a_synced_pair_with_the_canonical_install_cell_and_link():
    found = chapters.problems()
    assert not found, "chapter sources out of date (fix with `make sync`):\n  " + "\n  ".join(found)


def test_every_executed_chapter_runs_the_code_of_its_source():
    found = chapters.executed_problems()
    assert not found, "\n  ".join(["executed chapters out of date:", *found])


def test_the_book_has_chapters_and_no_generator_scripts():
    assert len(chapters.chapter_names()) >= 4
    assert not (chapters.ROOT / "notebooks" / "build").exists()


# ---------------------------------------------------------------------------- one setting
def tree_with_one_chapter(tmp_path, url="https://github.com/someone/their-book"):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "_config.yml").write_text(f"repository:\n  url: {url}\n  branch: main\n")
    name = chapters.chapter_names()[0]
    for suffix in (".md", ".ipynb"):
        shutil.copy(chapters.ROOT / "notebooks" / f"{name}{suffix}", tmp_path / "notebooks")
    return tmp_path, name


def test_repository_address_comes_from_config_yml(tmp_path):
    root, name = tree_with_one_chapter(tmp_path)
    assert chapters.repository(root) == "https://github.com/someone/their-book"
    assert chapters.colab_url(name, root) == (
        f"https://colab.research.google.com/github/someone/their-book/blob/main/notebooks/{name}.ipynb")
    assert f"git+https://github.com/someone/their-book.git@v{__version__}" in chapters.install_cell(root)


def test_sync_rewrites_links_and_install_cell_and_then_the_pair_agrees(tmp_path):
    root, name = tree_with_one_chapter(tmp_path)
    before = chapters.problems(root)
    assert any("Colab link" in p and "make sync" in p for p in before), before
    assert any("install cell differs" in p and "make sync" in p for p in before), before
    written = chapters.sync(root)
    assert root / "notebooks" / f"{name}.md" in written
    assert chapters.problems(root) == []
    ipynb = json.loads((root / "notebooks" / f"{name}.ipynb").read_text())
    assert all(not c.get("outputs") for c in ipynb["cells"] if c["cell_type"] == "code")
    assert chapters.sync(root) == []  # a second sync has nothing to do


def test_a_text_edit_not_synced_is_reported_with_the_command(tmp_path):
    root, name = tree_with_one_chapter(tmp_path)
    chapters.sync(root)
    text = root / "notebooks" / f"{name}.md"
    text.write_text(text.read_text() + "\n## A new section\n\nMore prose.\n")
    found = chapters.problems(root)
    assert any("different cells" in p and "make sync" in p for p in found), found
    chapters.sync(root)
    assert chapters.problems(root) == []


def test_outputs_in_a_source_notebook_are_reported(tmp_path):
    root, name = tree_with_one_chapter(tmp_path)
    chapters.sync(root)
    path = root / "notebooks" / f"{name}.ipynb"
    nb = json.loads(path.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    path.write_text(json.dumps(nb))
    assert any("has outputs" in p for p in chapters.problems(root))


def test_check_command_exits_1_on_drift_and_0_when_clean(tmp_path):
    root, _ = tree_with_one_chapter(tmp_path)
    check = [sys.executable, "-m", "tdnn_utils.chapters", "check", "--root", str(root)]
    assert subprocess.run(check, capture_output=True).returncode == 1
    chapters.sync(root)
    assert subprocess.run(check, capture_output=True).returncode == 0


def test_bad_repository_url_is_refused_with_the_value(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: gitlab.com/x\n")
    with pytest.raises(ValueError, match="gitlab.com/x"):
        chapters.repository(tmp_path)


# ---------------------------------------------------------------------------- the install cell
def install_namespace():
    namespace = {}
    exec(chapters.install_cell(), namespace)  # outside Colab: defines, installs nothing
    return namespace


def test_install_cell_does_nothing_outside_colab(monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip ran outside Colab"))
    namespace = install_namespace()
    assert callable(namespace["colab_packages"])


@pytest.mark.parametrize("python, engine_packages", [
    ((3, 10), ["torch-topological==0.1.9"]),
    ((3, 12), ["torch-topological==0.1.9"]),
    ((3, 13), []),
    ((3, 14), []),
])
def test_install_cell_picks_packages_by_python(python, engine_packages):
    packages = install_namespace()["colab_packages"](python)
    book = f"tdnn_utils @ git+{chapters.repository()}.git@v{__version__}"
    assert packages == [book, *engine_packages]


def test_install_cell_raises_one_clear_error_when_the_import_fails(monkeypatch):
    namespace = install_namespace()
    calls = []
    monkeypatch.setattr(subprocess, "run",
                        lambda args, **k: calls.append(args) or types.SimpleNamespace(returncode=1))
    monkeypatch.setitem(sys.modules, "tdnn_utils", None)  # the import fails
    with pytest.raises(RuntimeError, match=r"Python 3\.13 failed \(pip exit 1.*older runtime"):
        namespace["install_on_colab"]((3, 13))
    assert calls and calls[0][1:4] == ["-m", "pip", "install"]


def test_install_cell_reports_the_engine_when_it_worked(monkeypatch, capsys):
    namespace = install_namespace()
    monkeypatch.setattr(subprocess, "run", lambda args, **k: types.SimpleNamespace(returncode=0))
    namespace["install_on_colab"]((3, 11))
    assert "persistence engine:" in capsys.readouterr().out
