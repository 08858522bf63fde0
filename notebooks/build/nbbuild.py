"""Tiny helpers to write chapter notebooks from Python cell lists (outputs stripped)."""

import textwrap
from pathlib import Path

import nbformat


def markdown(text: str):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str, tags=()):
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


REPOSITORY = "tdnn-book/tdnn-book"
NOTEBOOKS = Path(__file__).resolve().parents[1]


def colab_url(name: str) -> str:
    """The Colab link that opens ``notebooks/<name>.ipynb`` from the repository's main branch."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/{name}.ipynb"


def colab_install_cell():
    """The first code cell of every chapter: on Colab, install what the runtime lacks."""
    return code(f"""
    # On Colab: install what the runtime lacks (giotto-ph and this book's helpers).
    import sys

    if "google.colab" in sys.modules:
        %pip install -q giotto-ph "tdnn_utils @ git+https://github.com/{REPOSITORY}.git"
    """)


def write_chapter(cells, name: str) -> None:
    """Write the chapter ``notebooks/<name>.ipynb``."""
    write_notebook(cells, NOTEBOOKS / f"{name}.ipynb")


def write_notebook(cells, path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{i:02d}"
    nbformat.write(notebook, path)
    print("wrote", path)
