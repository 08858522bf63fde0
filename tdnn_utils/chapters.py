"""The chapters' sources: paired text notebooks, one install cell, one repository address.

Each chapter is a MyST Markdown text notebook ``notebooks/NN_x.md`` (what contributors edit)
paired by jupytext with the stripped ``notebooks/NN_x.ipynb`` (what Colab, nbmake and
papermill open). Two pieces of every chapter are not written by hand but single-sourced here:

- the **install cell** (the first code cell): :func:`install_cell`, one text for every
  chapter, which on Colab installs this book's helpers at the pinned tag
  ``v<tdnn_utils.__version__>`` with the persistence engine that has a wheel for the running
  Python, then imports them and raises one clear error if that failed;
- the **Colab link** in the chapter's first Markdown cell: :func:`colab_url`.

Both take the repository address from one setting, ``repository.url`` in ``_config.yml``
(the Jupyter Book configuration, which also makes the book's Colab button).

Command line (``make sync`` and ``make check-sources`` run these)::

    python -m tdnn_utils.chapters sync    # rewrite install cells and Colab links, jupytext --sync
    python -m tdnn_utils.chapters check   # list what is out of date; exit 1 if anything is
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

from . import __version__

ROOT = Path(__file__).resolve().parent.parent
TEXT_FORMAT = "md:myst"
PAIRING = f"ipynb,{TEXT_FORMAT}"
SYNC_COMMAND = "make sync"
INSTALL_MARKER = "# Colab only: install this book's helpers"
#: The install cell is folded on the rendered pages: it does nothing outside Colab.
INSTALL_TAGS = ("hide-input",)
_COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^)\s\"']+")

#: The install cell, identical in every chapter. ``{repository}`` and ``{ref}`` are filled in
#: by :func:`install_cell`. It is plain Python (no ``%pip``, whose failure does not raise) so
#: that it checks its own result, and so that tests can run its branches as functions.
INSTALL_TEMPLATE = '''\
# Colab only: install this book's helpers (pinned) and a persistence engine for this Python.
import sys

BOOK = "tdnn_utils @ git+{repository}.git@{ref}"


def colab_packages(python):
    """What pip installs on Colab for Python ``python``, a (major, minor) tuple."""
    if python >= (3, 13):
        # giotto-ph has no wheel here: tdnn_utils computes persistence with gudhi, and
        # torch-topological (which needs giotto-ph) is left out; Chapter 4 says so.
        return [BOOK]
    return [BOOK, "torch-topological==0.1.9"]


def install_on_colab(python=tuple(sys.version_info[:2])):
    import importlib
    import subprocess

    packages = colab_packages(python)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *packages])
    importlib.invalidate_caches()
    try:
        from tdnn_utils import engines

        print("tdnn_utils installed; persistence engine:", engines.default_engine())
    except Exception as error:
        raise RuntimeError(
            f"Installing {{packages}} on Python {{python[0]}}.{{python[1]}} failed (pip exit "
            f"{{done.returncode}}; {{type(error).__name__}}: {{error}}). Choose an older runtime "
            "(Runtime > Change runtime type > Runtime version) and run this cell again, or "
            "report it with this message.") from None


if "google.colab" in sys.modules:
    install_on_colab()
'''


# ---------------------------------------------------------------------------- the settings
def repository(root=None) -> str:
    """The book's repository address (``repository.url`` in ``_config.yml``), no trailing slash."""
    path = Path(root or ROOT) / "_config.yml"
    try:
        url = (yaml.safe_load(path.read_text(encoding="utf-8")) or {})["repository"]["url"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: no repository.url ({type(error).__name__}: {error})") from error
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)/?", str(url))
    if not match:
        raise ValueError(f"{path}: repository.url={url!r} must look like https://github.com/OWNER/NAME")
    return f"https://github.com/{match.group(1)}"


def branch(root=None) -> str:
    """The branch the Colab links open (``repository.branch`` in ``_config.yml``, default main)."""
    data = yaml.safe_load((Path(root or ROOT) / "_config.yml").read_text(encoding="utf-8")) or {}
    return str((data.get("repository") or {}).get("branch") or "main")


def release_tag() -> str:
    """The git tag the install cell pins: ``v`` + the package version."""
    return f"v{__version__}"


def install_cell(root=None) -> str:
    """The install cell's exact source, for this repository and release."""
    return INSTALL_TEMPLATE.format(repository=repository(root), ref=release_tag())


def colab_url(name: str, root=None) -> str:
    """The Colab address that opens ``notebooks/<name>.ipynb`` from the repository."""
    slug = repository(root).removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{slug}/blob/{branch(root)}/notebooks/{name}.ipynb"


# ---------------------------------------------------------------------------- the sources
def chapter_names(root=None) -> list[str]:
    """The chapters: every ``notebooks/NN_x.md`` or ``.ipynb``, by name, sorted."""
    folder = Path(root or ROOT) / "notebooks"
    return sorted({p.stem for p in folder.glob("[0-9][0-9]_*.md")}
                  | {p.stem for p in folder.glob("[0-9][0-9]_*.ipynb")})


def _source(cell) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def cell_summary(notebook) -> list[tuple[str, str, tuple]]:
    """(type, source, tags) of every cell: what a pair must agree on."""
    return [(c["cell_type"], _source(c).strip(), tuple(_tags(c))) for c in notebook["cells"]]


def code_cells(notebook) -> list[str]:
    """The code a notebook runs, papermill's injected-parameters cell left out."""
    return [_source(c).strip() for c in notebook["cells"] if c["cell_type"] == "code"
            and "injected-parameters" not in _tags(c)]


def _read_text(path: Path):
    import jupytext

    return jupytext.read(str(path), fmt=TEXT_FORMAT)


def _read_ipynb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def problems(root=None) -> list[str]:
    """Everything about the chapter sources that is out of date, as sentences (empty: all good).

    Checks each chapter: both files of the pair exist and pair with each other; the two hold the
    same cells (type, source, tags); the ``.ipynb`` is stripped of outputs and uses the kernel
    ``python3``; exactly one cell is tagged ``parameters``; the install cell is
    :func:`install_cell`; every Colab link is :func:`colab_url`.
    """
    root = Path(root or ROOT)
    found = []
    canonical = install_cell(root)
    for name in chapter_names(root):
        text_path = root / "notebooks" / f"{name}.md"
        ipynb_path = root / "notebooks" / f"{name}.ipynb"
        missing = [p.name for p in (text_path, ipynb_path) if not p.exists()]
        if missing:
            found.append(f"{name}: {', '.join(missing)} missing; each chapter is a .md/.ipynb pair "
                         f"(jupytext --set-formats {PAIRING} notebooks/{name}.ipynb)")
            continue
        text, ipynb = _read_text(text_path), _read_ipynb(ipynb_path)
        formats = (ipynb.get("metadata", {}).get("jupytext", {}) or {}).get("formats")
        if formats != PAIRING:
            found.append(f"{name}.ipynb: jupytext formats {formats!r}, expected {PAIRING!r}")
        if cell_summary(text) != cell_summary(ipynb):
            found.append(f"{name}: the .md and the .ipynb hold different cells; run `{SYNC_COMMAND}`")
        if any(c.get("outputs") or c.get("execution_count") for c in ipynb["cells"]
               if c["cell_type"] == "code"):
            found.append(f"{name}.ipynb has outputs; sources are kept stripped "
                         f"(executed copies live in book/chapters/); run `{SYNC_COMMAND}`")
        kernel = ipynb.get("metadata", {}).get("kernelspec", {}).get("name")
        if kernel != "python3":
            found.append(f"{name}.ipynb: kernel {kernel!r}; papermill, nbmake and Colab want 'python3'")
        tagged = sum("parameters" in _tags(c) for c in text["cells"])
        if tagged != 1:
            found.append(f"{name}: {tagged} cells tagged 'parameters'; papermill needs exactly one")
        installs = [c for c in text["cells"] if c["cell_type"] == "code"
                    and _source(c).startswith(INSTALL_MARKER)]
        first_code = next((c for c in text["cells"] if c["cell_type"] == "code"), None)
        if len(installs) != 1 or installs[0] is not first_code:
            found.append(f"{name}: the first code cell must be the one install cell "
                         f"(starting {INSTALL_MARKER!r}); run `{SYNC_COMMAND}`")
        elif (_source(installs[0]).strip() != canonical.strip()
              or _tags(installs[0]) != list(INSTALL_TAGS)):
            found.append(f"{name}: the install cell differs from tdnn_utils.chapters.install_cell() "
                         f"(tags {list(INSTALL_TAGS)}); run `{SYNC_COMMAND}`")
        links = [link for c in text["cells"] if c["cell_type"] == "markdown"
                 for link in _COLAB_LINK.findall(_source(c))]
        if not links:
            found.append(f"{name}: no Colab link in the Markdown")
        elif set(links) != {colab_url(name, root)}:
            found.append(f"{name}: Colab link {sorted(set(links))} is not {colab_url(name, root)}; "
                         f"run `{SYNC_COMMAND}`")
    return found


def executed_problems(root=None) -> list[str]:
    """Executed chapters in ``book/chapters/`` whose code differs from their source."""
    root = Path(root or ROOT)
    found = []
    for name in chapter_names(root):
        executed = root / "book" / "chapters" / f"{name}.ipynb"
        source = root / "notebooks" / f"{name}.ipynb"
        if not executed.exists():
            found.append(f"book/chapters/{name}.ipynb is missing; run `make runs PRESET=book ONLY={name[:2]}`")
        elif source.exists() and code_cells(_read_ipynb(executed)) != code_cells(_read_ipynb(source)):
            found.append(f"book/chapters/{name}.ipynb runs other code than notebooks/{name}.ipynb; "
                         f"re-run it: `make runs PRESET=book ONLY={name[:2]}`")
    return found


# ---------------------------------------------------------------------------- syncing
def _with_canonical_pieces(notebook, name: str, root) -> bool:
    """Put the install cell and Colab links in place; returns whether anything changed."""
    changed = False
    canonical = install_cell(root).strip()
    url = colab_url(name, root)
    for cell in notebook.cells:
        source = _source(cell)
        if cell.cell_type == "code" and source.startswith(INSTALL_MARKER):
            if source.strip() != canonical:
                cell.source, changed = canonical, True
            if list(INSTALL_TAGS) != _tags(cell):
                cell.metadata["tags"], changed = list(INSTALL_TAGS), True
        elif cell.cell_type == "markdown" and _COLAB_LINK.search(source):
            new = _COLAB_LINK.sub(url, source)
            if new != source:
                cell.source, changed = new, True
    return changed


def sync(root=None) -> list[Path]:
    """Rewrite every chapter's install cell and Colab links, then sync each jupytext pair.

    The text notebook is the source of truth for the cells (unless the ``.ipynb`` is newer,
    as jupytext decides); outputs never enter ``notebooks/``. Returns the files written.
    """
    import jupytext
    from jupytext.cli import jupytext as jupytext_cli

    root = Path(root or ROOT)
    written = []
    for name in chapter_names(root):
        text_path = root / "notebooks" / f"{name}.md"
        ipynb_path = root / "notebooks" / f"{name}.ipynb"
        if not text_path.exists():
            jupytext_cli(["--quiet", "--set-formats", PAIRING, str(ipynb_path)])
        jupytext_cli(["--quiet", "--sync", str(text_path)])
        notebook = jupytext.read(str(text_path), fmt=TEXT_FORMAT)
        if _with_canonical_pieces(notebook, name, root):
            jupytext.write(notebook, str(text_path), fmt=TEXT_FORMAT)
            written.append(text_path)
        paired = jupytext.read(str(text_path), fmt=TEXT_FORMAT)
        stripped = _stripped_ipynb(paired, ipynb_path)
        if not ipynb_path.exists() or ipynb_path.read_text(encoding="utf-8") != stripped:
            ipynb_path.write_text(stripped, encoding="utf-8")
            written.append(ipynb_path)
    return written


def _stripped_ipynb(notebook, ipynb_path: Path) -> str:
    """The ``.ipynb`` text of ``notebook``: no outputs, kernel python3, stable cell ids."""
    import nbformat

    previous = _read_ipynb(ipynb_path) if ipynb_path.exists() else {"cells": []}
    old_ids = {(c["cell_type"], _source(c)): c.get("id") for c in previous["cells"]}
    notebook = nbformat.from_dict(json.loads(nbformat.writes(notebook)))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.metadata["jupytext"] = {"formats": PAIRING}
    used = set()
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
        wanted = old_ids.get((cell.cell_type, _source(cell))) or f"cell-{i:02d}"
        cell["id"] = wanted if wanted not in used else f"cell-{i:02d}-{len(used)}"
        used.add(cell["id"])
    return nbformat.writes(notebook) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdnn_utils.chapters",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("sync", "check"))
    parser.add_argument("--root", help="repository root (default: the one holding tdnn_utils)")
    args = parser.parse_args(argv)
    if args.action == "sync":
        for path in sync(args.root):
            print("wrote", path)
    found = problems(args.root)
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
