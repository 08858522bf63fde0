"""The quick parts of ``make colab-check`` (tools/colab_check.py), without a Python 3.13
environment: the snapshot and its tag, the git redirection, the fake ``google.colab``, the
choice of Python, the environment bookkeeping and the report."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tdnn_utils import __version__, chapters

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("colab_check", ROOT / "tools" / "colab_check.py")
colab_check = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("colab_check", colab_check)
_spec.loader.exec_module(colab_check)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
REMOTE = "https://github.com/someone/their-book"


def git(*args, cwd, env=None):
    return subprocess.run(["git", *args], cwd=cwd, env=env or colab_check.isolated_git_env(),
                          check=True, capture_output=True, text=True).stdout


def tiny_repository(path: Path) -> Path:
    """A repository with a committed file, then: that file modified, one committed file
    deleted, an untracked file, an ignored file."""
    path.mkdir()
    git("init", "-q", cwd=path)
    (path / ".gitignore").write_text("/.colab/\n*.log\n")
    (path / "kept.txt").write_text("committed\n")
    (path / "gone.txt").write_text("deleted later\n")
    (path / "pkg").mkdir()
    (path / "pkg" / "__init__.py").write_text('__version__ = "9.8.7"\n')
    git("add", "-A", cwd=path)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first", cwd=path)
    (path / "kept.txt").write_text("changed, not committed\n")
    (path / "gone.txt").unlink()
    (path / "new.txt").write_text("untracked\n")
    (path / "noise.log").write_text("ignored\n")
    return path


# ---------------------------------------------------------------------------- snapshot and redirect
@needs_git
def test_snapshot_holds_the_working_tree_as_it_is_tagged(tmp_path):
    source = tiny_repository(tmp_path / "source")
    snapshot = source / ".colab" / "snapshot"  # inside the checkout, but ignored there
    commit = colab_check.make_snapshot(source, snapshot, "v9.8.7")
    files = set(git("ls-tree", "-r", "--name-only", "v9.8.7", cwd=snapshot).split())
    assert files == {".gitignore", "kept.txt", "new.txt", "pkg/__init__.py"}
    assert git("show", "v9.8.7:kept.txt", cwd=snapshot) == "changed, not committed\n"
    assert git("rev-parse", "v9.8.7^{commit}", cwd=snapshot).strip() == commit
    assert git("status", "--porcelain", cwd=source).count("\n") == 3  # source untouched
    # a second run replaces the snapshot (the tag moves to the new state)
    (source / "kept.txt").write_text("changed again\n")
    colab_check.make_snapshot(source, snapshot, "v9.8.7")
    assert git("show", "v9.8.7:kept.txt", cwd=snapshot) == "changed again\n"


@needs_git
def test_snapshot_refuses_a_folder_the_checkout_would_track(tmp_path):
    source = tiny_repository(tmp_path / "source")
    with pytest.raises(colab_check.SetupError, match="outside"):
        colab_check.make_snapshot(source, source / "tracked-snapshot", "v1")


@needs_git
@pytest.mark.parametrize("address", [f"{REMOTE}.git", REMOTE])
def test_redirected_github_address_clones_the_snapshot_at_the_pinned_tag(tmp_path, address):
    source = tiny_repository(tmp_path / "source")
    snapshot = tmp_path / "snapshot"
    colab_check.make_snapshot(source, snapshot, "v9.8.7")
    config = colab_check.write_redirect(tmp_path / "gitconfig", REMOTE, snapshot)
    env = colab_check.isolated_git_env(config)
    env["GIT_TERMINAL_PROMPT"] = "0"
    # what pip runs for "pkg @ git+https://github.com/someone/their-book.git@v9.8.7"
    assert "refs/tags/v9.8.7" in git("ls-remote", address, cwd=tmp_path, env=env)
    git("clone", "--filter=blob:none", "-q", address, "clone", cwd=tmp_path, env=env)
    git("checkout", "-q", "v9.8.7", cwd=tmp_path / "clone", env=env)
    assert (tmp_path / "clone" / "kept.txt").read_text() == "changed, not committed\n"
    assert not (tmp_path / "clone" / "noise.log").exists()


def test_redirect_config_maps_both_spellings_to_the_snapshot(tmp_path):
    text = colab_check.redirect_config(REMOTE + ".git/", tmp_path / "snap")
    assert f'[url "{(tmp_path / "snap").resolve().as_uri()}"]' in text
    assert f"insteadOf = {REMOTE}.git\n" in text and f"insteadOf = {REMOTE}\n" in text


def test_the_check_redirects_the_address_the_install_cells_ask_for():
    tag = f"v{colab_check.package_version()}"
    assert tag == f"v{__version__}"
    assert colab_check.repository_url() == chapters.repository()
    for notebook in colab_check.chapter_notebooks():
        assert colab_check.install_cell_address(notebook) == f"{chapters.repository()}.git@{tag}"


def test_repository_url_is_read_like_chapters_reads_it(tmp_path):
    (tmp_path / "_config.yml").write_text(
        "title: x\nrepository:\n  branch: main\n  url: 'https://github.com/a-b/c.d/'  # here\nother: 1\n")
    assert colab_check.repository_url(tmp_path) == "https://github.com/a-b/c.d" == chapters.repository(tmp_path)
    (tmp_path / "_config.yml").write_text("repository:\n  url: gitlab.com/x\n")
    with pytest.raises(colab_check.SetupError, match="repository.url"):
        colab_check.repository_url(tmp_path)


def test_only_selects_chapters_by_prefix():
    names = [p.stem for p in colab_check.chapter_notebooks(only=["01", "04"])]
    assert names and all(n[:2] in {"01", "04"} for n in names)
    assert colab_check.chapter_notebooks(only=["99"]) == []


# ---------------------------------------------------------------------------- fake google.colab
def fake_colab(tmp_path):
    site, ipython = tmp_path / "site", tmp_path / "ipython"
    colab_check.install_fake_colab(site, ipython)
    return site, ipython


def test_fake_google_colab_imports_and_refuses_colab_services(tmp_path):
    site, ipython = fake_colab(tmp_path)
    assert not (site / "google" / "__init__.py").exists()  # google stays a namespace package
    code = ("import sys, google.colab as c\n"
            "assert 'google.colab' in sys.modules and c.IS_STUB\n"
            "c.output.enable_custom_widget_manager()\n"
            "try:\n    c.drive.mount('/content/drive')\n"
            "except RuntimeError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stderr
    assert "drive.mount is a stub" in done.stdout


def test_kernel_startup_file_makes_the_install_cell_take_its_colab_branch(tmp_path, monkeypatch):
    site, ipython = fake_colab(tmp_path)
    startup = ipython / colab_check.STARTUP_FILE
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "run",
                        lambda args, **k: calls.append(args) or types.SimpleNamespace(returncode=0))
    namespace, before = {}, set(sys.modules)
    try:
        exec(startup.read_text(), namespace)  # what IPython runs when the kernel starts
        assert "google.colab" in sys.modules
        exec(chapters.install_cell(), namespace)  # the chapters' install cell, unchanged
    finally:  # the stub must not outlive the test (plotting.show picks Colab's renderer)
        for name in set(sys.modules) - before:
            if name == "google" or name.startswith("google."):
                del sys.modules[name]
    assert "google.colab" not in sys.modules
    assert calls and calls[0][1:5] == ["-m", "pip", "install", "-q"]
    assert calls[0][5] == f"tdnn_utils @ git+{chapters.repository()}.git@v{__version__}"


def test_kernelspec_runs_the_environment_python_with_the_check_ipython_folder(tmp_path):
    folder = colab_check.write_kernelspec(tmp_path / "jupyter", Path("/env/bin/python"), tmp_path / "ipy")
    spec = json.loads((folder / "kernel.json").read_text())
    assert folder.name == "python3"  # the chapters' kernel name
    assert spec["argv"][:3] == ["/env/bin/python", "-m", "ipykernel_launcher"]
    assert spec["env"]["IPYTHONDIR"] == str(tmp_path / "ipy")


def test_kernel_environment_drops_the_developer_settings(tmp_path):
    env = colab_check.Environment(tmp_path / "venv", tmp_path / "venv/bin/python", (3, 13, 0), "",
                                  {}, 0.0, False)
    base = {"PATH": "/usr/bin", "PYTHONPATH": "/work/checkout", "TDNN_ENGINE": "giotto-ph",
            "HOME": "/root", "GIT_CONFIG_GLOBAL": "/root/.gitconfig"}
    variables = colab_check.kernel_environment(tmp_path, env, tmp_path / "gitconfig", base)
    assert "PYTHONPATH" not in variables and "TDNN_ENGINE" not in variables
    assert variables["PATH"].startswith(str(tmp_path / "venv" / "bin") + os.pathsep)
    assert variables["GIT_CONFIG_GLOBAL"] == str(tmp_path / "gitconfig")
    assert variables["GIT_CONFIG_NOSYSTEM"] == "1"
    assert variables["JUPYTER_PATH"] == str(tmp_path / "jupyter")


# ---------------------------------------------------------------------------- python and packages
def test_choose_python_prefers_colabs_version_then_the_newest():
    versions = {"a": (3, 11, 7), "b": (3, 13, 0), "c": (3, 13, 2), "d": (3, 12, 1), "bad": None}
    assert colab_check.choose_python(list(versions), (3, 13), versions.get) == ("c", (3, 13, 2), "")
    path, version, note = colab_check.choose_python(["a", "d"], (3, 13), versions.get)
    assert (path, version) == ("d", (3, 12, 1)) and "3.13 (Colab's) was not found" in note
    with pytest.raises(colab_check.SetupError, match="no Python"):
        colab_check.choose_python(["bad"], (3, 13), versions.get)


def test_package_changes_lists_added_removed_and_changed():
    before = {"numpy": "2.1.3", "torch": "2.11.0", "six": "1.0"}
    after = {"numpy": "2.3.5", "torch": "2.11.0", "tdnn-utils": "0.1.0"}
    assert colab_check.package_changes(before, after) == [
        "numpy 2.1.3 -> 2.3.5", "-six 1.0", "+tdnn-utils 0.1.0"]


def test_colab_runtime_pins_colabs_versions():
    pins = dict(r.split("==") for r in colab_check.COLAB_RUNTIME if "==" in r)
    assert pins["numpy"] == "2.1.3" and pins["torch"].startswith("2.11")
    assert pins["scikit-learn"] == "1.6.1" and pins["plotly"] == "5.24.1"
    assert pins["pandas"].startswith("2.2")
    assert not any(r.startswith(("giotto-ph", "gudhi", "tdnn")) for r in colab_check.COLAB_RUNTIME)


# ---------------------------------------------------------------------------- the report
def test_report_lists_every_chapter_then_failures_with_their_last_lines():
    results = [
        colab_check.ChapterResult("01_a", True, 61.4, 20.2),
        colab_check.ChapterResult("04_long_name", False, 9.0, 8.0, failed_cell=3,
                                  error="Traceback\nModuleNotFoundError: No module named 'gph'",
                                  changes=["+gudhi 3.13.0"]),
    ]
    report = colab_check.format_report(results, header=["Colab-like check"], total_seconds=70.4)
    lines = report.splitlines()
    assert lines[0] == "Colab-like check"
    assert lines[1].split() == ["chapter", "result", "install", "total"]
    assert lines[2].split() == ["01_a", "PASS", "20", "s", "61", "s"]
    assert lines[3].split() == ["04_long_name", "FAIL", "8", "s", "9", "s"]
    assert lines[4] == "1 passed, 1 failed in 70 s"
    assert "the install cell added or changed (04_long_name): +gudhi 3.13.0" in report
    assert "--- 04_long_name failed (code cell 3):" in report
    assert report.rstrip().endswith("    ModuleNotFoundError: No module named 'gph'")


def test_error_tail_strips_colour_and_keeps_the_last_lines():
    text = "\x1b[0;31mTraceback\x1b[0m\n\n" + "\n".join(f"line {i}" for i in range(30))
    assert colab_check.error_tail(text, lines=3) == "line 27\nline 28\nline 29"


def test_report_gives_changes_shared_by_every_chapter_once_and_the_warnings():
    results = [colab_check.ChapterResult(n, True, 1.0, changes=["+gudhi 3.13.0", "+tdnn-utils 0.1.0"])
               for n in ("01_a", "02_b")]
    results[1].warnings = ["tdnn_utils/x.py:3: DeprecationWarning: old"]
    report = colab_check.format_report(results)
    assert report.count("+gudhi") == 1
    assert "the install cell added or changed (every chapter): +gudhi 3.13.0; +tdnn-utils 0.1.0" in report
    assert "02_b: warnings\n    tdnn_utils/x.py:3: DeprecationWarning: old" in report


def test_warnings_are_collected_once_with_their_module_and_pip_noise_left_out():
    texts = ["/v/lib/python3.13/site-packages/tdnn_utils/topology.py:12: DeprecationWarning: x is old\n"
             "  warnings.warn(\n",
             "/v/lib/python3.13/site-packages/tdnn_utils/topology.py:12: DeprecationWarning: x is old\n",
             "/tmp/ipykernel_7/123.py:4: FutureWarning: y will change\n",
             "\x1b[33mWARNING: Location 'file:///opt/pypi/simple/gudhi/' is ignored\x1b[0m\n",
             "/v/lib/python3.13/site-packages/pip/_internal/x.py:7: DeprecationWarning: pip's own\n"]
    assert colab_check.warnings_in(texts) == [
        "tdnn_utils/topology.py:12: DeprecationWarning: x is old", "123.py:4: FutureWarning: y will change"]
