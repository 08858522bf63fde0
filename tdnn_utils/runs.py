"""Presets, the papermill runner, and the results files the chapters write.

Data flow: ``notebooks/<name>.ipynb`` + ``notebooks/presets.yml`` -> papermill ->
``book/chapters/<name>.ipynb`` + ``book/results/<name>.json``, then ``book/claims.md``, the
chapter table of ``README.md`` and the landing page's summary (:mod:`tdnn_utils.landing`).
Only the presets the book publishes (:data:`PUBLISHED_PRESETS`) write into ``book/``; any other preset (``smoke``, or one of your own) writes the same files
under the gitignored scratch folder ``_runs/<preset>/`` and leaves the book alone.

Command line::

    python -m tdnn_utils.runs --preset book [--only 01] [--device cuda]
    python -m tdnn_utils.runs --claims-page     # claims page and README table from book/results

Exit status: 0 on success, 1 when a chapter failed (the remaining chapters are still run),
2 when the request is invalid (nothing was run), 130 when interrupted (SIGINT or SIGTERM;
the chapter in progress leaves no temporary file and the book's copy unchanged).

A chapter's ``parameters`` cell must declare ``results_path = ""`` and may declare
``device = "auto"``; the chapter ends with ``save_results(results_path, "<name>")``.
"""

from __future__ import annotations

import argparse
import ast
import glob
import json
import math
import os
import re
import signal
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import yaml

from . import claims as claims_markdown
from .verdicts import JUDGED_COLUMNS, VERDICTS
from .validation import check_file_name

ROOT = Path(__file__).resolve().parent.parent
#: What a claim may record beside its id, claim, verdict and evidence (:func:`record_claim`).
CLAIM_DETAILS = ("section", "scope", "delta", "delta_source", "family", "comparisons", "unit", "scale")
#: The columns of a judged comparison (:func:`tdnn_utils.verdicts.judge`) a results file keeps.
COMPARISON_FIELDS = ("comparison", "n", "effect", "low", "high", "null", "delta", "detectable", "reason",
                     *JUDGED_COLUMNS)
#: Presets whose runs are the book: they write book/chapters, book/results and the claims page.
PUBLISHED_PRESETS = ("book", "full")
SCRATCH = "_runs"
#: Chapters that teach and test no claim (the primer, ``00_primer``): the claims page leaves them out.
TEACHING = ("00_",)
#: Tags the runner gives papermill's injected-parameters cell: folded on the rendered page
#: (the page's "Run with" box names the preset; a click shows the values).
INJECTED_TAGS = ("injected-parameters", "hide-cell")
DEVICES = ("auto", "cpu", "cuda", "mps")
KERNEL = "python3"

_REGISTRY: dict = {"values": {}, "claims": {}}


class RunConfigError(ValueError):
    """An invalid preset, notebook, parameter or results file; raised before anything runs."""


class ChapterError(RuntimeError):
    """A chapter notebook failed to execute or did not save its results."""


def _paths(root):
    root = Path(root) if root is not None else ROOT
    return root, root / "notebooks", root / "book" / "chapters", root / "book" / "results"


def output_folders(preset: str | None, root=None) -> tuple[Path, Path]:
    """Where a run of ``preset`` writes its executed chapters and results files.

    The book's own folders (``book/chapters``, ``book/results``) for a published preset
    (:data:`PUBLISHED_PRESETS`), ``_runs/<preset>/chapters`` and ``_runs/<preset>/results``
    (gitignored) for any other. A preset name that is not one folder name (empty, ``.``,
    ``..``, holding ``/`` or ``\\``: it would write outside ``_runs/``) is refused
    (``RunConfigError``).
    """
    root, _, chapter_dir, results_dir = _paths(root)
    if preset in PUBLISHED_PRESETS:
        return chapter_dir, results_dir
    scratch = root / SCRATCH / _folder_name("unnamed" if preset is None else preset, "preset")
    return scratch / "chapters", scratch / "results"


def _folder_name(value, what: str) -> str:
    try:
        return check_file_name(value, what)
    except ValueError as error:
        raise RunConfigError(str(error)) from None


def _readable(path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        _readable(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


# --- what the chapters call ---------------------------------------------------------------


def _jsonable(value, name):
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, name) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    raise TypeError(
        f"{name}: a {type(value).__name__} is not JSON-serialisable; record numbers, strings, "
        "booleans, None, lists, dicts or numpy/torch values"
    )


def _glue(name, value):
    try:
        from IPython import get_ipython
        from myst_nb import glue
    except ImportError:
        return
    if get_ipython() is not None:
        glue(name, value, display=False)


def glue_markdown(name: str, text: str) -> str:
    """Glue MyST Markdown under ``name`` for the page to place with ``{glue:md}`` (format myst).

    How a chapter puts a result computed late in the page at its top (the key-result box).
    Returns ``text``; outside a notebook kernel it only returns it.
    """
    try:
        from IPython.display import Markdown
    except ImportError:  # pragma: no cover - IPython is a dependency of the book
        return text
    _glue(name, Markdown(text))
    return text


def record(name: str, value):
    """Keep a headline value for the results file and glue it for the book's prose.

    Takes a name (used as the glue key) and a value: a number, string, bool, None, or a
    (nested) list/dict of those; numpy and torch scalars and arrays are converted, and
    non-finite floats become None. Returns the stored, JSON-ready value.
    """
    stored = _jsonable(value, f"record({name!r})")
    _REGISTRY["values"][name] = stored
    _glue(name, stored)
    return stored


def record_claim(claim_id: str, claim: str, verdict: str, evidence: str, **details) -> dict:
    """Keep a verdict on one of the paper's claims; recording the same id again replaces it.

    Takes an id (e.g. "ch3-depth"), the claim as tested, phrased so that the verdict reads
    plainly, a verdict among :data:`VERDICTS` (the rules: :mod:`tdnn_utils.verdicts`), and one
    sentence of evidence (may quote recorded values). ``details`` (all optional, see
    :data:`CLAIM_DETAILS`): ``section`` (the label of the claim's section in its chapter, for
    the claims page's link), ``scope`` (what was run: models, data), ``delta`` (the size
    claimed, in words), ``delta_source`` (a paper's figure, or a stated judgement), ``family``
    (the family of comparisons Holm's correction ran over), ``comparisons`` (the judged table
    of :func:`tdnn_utils.verdicts.judge`, a DataFrame or records; :data:`COMPARISON_FIELDS`
    are kept), ``unit`` and ``scale`` (how the claims page shows the effects). Returns the
    stored claim as a dict.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} for claim {claim_id!r} is not one of {VERDICTS}")
    unknown = set(details) - set(CLAIM_DETAILS)
    if unknown:
        raise ValueError(f"claim {claim_id!r}: unknown details {sorted(unknown)}; use some of {CLAIM_DETAILS}")
    entry = {"id": str(claim_id), "claim": str(claim), "verdict": verdict, "evidence": str(evidence)}
    for key, value in details.items():
        if value is None:
            continue
        if key == "comparisons":
            records = value.to_dict("records") if hasattr(value, "to_dict") else list(value)
            value = [{k: row[k] for k in COMPARISON_FIELDS if k in row} for row in records]
        entry[key] = _jsonable(value, f"record_claim({claim_id!r}, {key}=...)")
    _REGISTRY["claims"][entry["id"]] = entry
    return entry


def record_claims(claims) -> list[str]:
    """:func:`record_claim` for each ``(id, claim, verdict, evidence)`` or ``(id, claim, verdict,
    evidence, details)`` (``details`` a dict of :data:`CLAIM_DETAILS`); returns one Markdown line
    per claim ("- **claim: verdict.** evidence"), for the chapter's "What we found"."""
    lines = []
    for claim_id, claim, verdict, evidence, *rest in claims:
        record_claim(claim_id, claim, verdict, evidence, **(rest[0] if rest else {}))
        lines.append(f"- **{claim}: {verdict}.** {evidence}")
    return lines


def results() -> dict:
    """Return a copy of what was recorded so far: ``{"values": {...}, "claims": [...]}``."""
    return {"values": dict(_REGISTRY["values"]), "claims": list(_REGISTRY["claims"].values())}


def reset() -> None:
    """Forget every recorded value and claim."""
    _REGISTRY["values"].clear()
    _REGISTRY["claims"].clear()


def save_results(results_path, chapter: str) -> Path | None:
    """Write the recorded values and claims as JSON to ``results_path``, atomically.

    Takes the ``results_path`` parameter the runner injected and the chapter's name. Writes
    ``{"chapter", "values", "claims", "written"}`` (the runner adds ``preset`` and
    ``parameters``) and returns the path; does nothing and returns None when
    ``results_path`` is empty or None (the nbmake and Colab default).
    """
    if not results_path:
        return None
    path = Path(results_path)
    data = {"chapter": chapter, **results(), "written": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    _write_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
    return path


def save_table(results_path, name: str, table) -> Path | None:
    """Write a table of the run's data (e.g. every reading) as CSV beside its results.

    Takes the ``results_path`` the runner injected, a short name (letters, digits, ``_``) and a
    DataFrame. Writes ``<results_path>.<name>.csv``, which the runner moves to
    ``book/results/<NN>_<name>.csv`` (``NN`` the chapter's number) with the chapter; does nothing
    and returns None when ``results_path`` is empty (nbmake, Colab).
    """
    if not re.fullmatch(r"[a-z0-9_]+", str(name)):
        raise ValueError(f"name={name!r} must be lower-case letters, digits and _ (it names a file)")
    if not results_path:
        return None
    path = Path(f"{results_path}.{name}.csv")
    _write_atomic(path, table.to_csv(index=False))
    return path


def _tables(tmp_results: str) -> list[Path]:
    """The tables :func:`save_table` wrote beside a run's temporary results file."""
    folder, stem = Path(tmp_results).parent, Path(tmp_results).name
    return sorted(p for p in folder.glob(f"{glob.escape(stem)}.*.csv"))


def table_path(chapter: str, name: str, root=None) -> Path:
    """Where a chapter's committed table lives: ``book/results/<NN>_<name>.csv``."""
    return _paths(root)[0] / "book" / "results" / f"{chapter.split('_')[0]}_{name}.csv"


# --- presets and validation ---------------------------------------------------------------


def notebooks(root=None) -> list[str]:
    """Return the chapter names (``notebooks/*.ipynb`` without suffix), sorted."""
    return sorted(p.stem for p in _paths(root)[1].glob("*.ipynb"))


def load_presets(root=None) -> dict:
    """Read ``notebooks/presets.yml``; returns ``{preset: {notebook: {parameter: value}}}``."""
    path = _paths(root)[1] / "presets.yml"
    if not path.exists():
        raise RunConfigError(f"no presets file at {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as err:
        raise RunConfigError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise RunConfigError(f"{where}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise RunConfigError(f"{path} must map preset names to notebooks")
    out = {}
    for preset, chapters in data.items():
        chapters = chapters or {}
        if not isinstance(chapters, dict) or not all(isinstance(p or {}, dict) for p in chapters.values()):
            raise RunConfigError(f"{path}: preset {preset!r} must map notebook names to parameter mappings")
        out[str(preset)] = {str(nb): dict(p or {}) for nb, p in chapters.items()}
    return out


def notebook_parameters(path) -> dict[str, str]:
    """Return the names assigned in a notebook's ``parameters`` cell, each with its source text."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise RunConfigError(f"{path} has no cell tagged 'parameters'")
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as err:
        raise RunConfigError(f"the parameters cell of {path} is not valid Python: {err}") from err
    params = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name) and node.value is not None:
                    params[name.id] = ast.get_source_segment(cell.source, node.value)
    return params


def _select(only, names):
    tokens = [t.strip() for item in (only or []) for t in str(item).split(",") if t.strip()]
    chosen = []
    for token in tokens:
        hits = [n for n in names if n == token or n.startswith(token)]
        if not hits:
            raise RunConfigError(f"--only {token!r} matches no notebook; notebooks: {', '.join(names) or '(none)'}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def plan(preset: str, only=None, device: str | None = None, root=None) -> list[tuple[str, dict]]:
    """Validate a request and return what would run, without running anything.

    Takes a preset name, ``only`` (prefixes or names, a string or a list; items may be
    comma separated), a device among ``DEVICES`` or None (keep the notebook's default), and
    the repository root. Returns ``[(notebook, parameters), ...]`` in name order; raises
    ``RunConfigError`` naming the bad value and the allowed ones.
    """
    presets = load_presets(root)
    if preset not in presets:
        raise RunConfigError(f"unknown preset {preset!r}; presets: {', '.join(presets)}")
    output_folders(preset, root)  # refuses a name that would write outside _runs/
    if device is not None and device not in DEVICES:
        raise RunConfigError(f"unknown device {device!r}; devices: {', '.join(DEVICES)}")
    existing = notebooks(root)
    chapters = presets[preset]
    for name in chapters:
        if name not in existing:
            raise RunConfigError(
                f"preset {preset!r} names notebook {name!r}, which does not exist; "
                f"notebooks: {', '.join(existing) or '(none)'}"
            )
    selected = sorted(chapters)
    if only:
        selected = _select([only] if isinstance(only, str) else only, existing)
        missing = [n for n in selected if n not in chapters]
        if missing:
            raise RunConfigError(
                f"notebook {missing[0]!r} is not in preset {preset!r}; its notebooks: {', '.join(sorted(chapters))}"
            )
    out = []
    for name in selected:
        declared = notebook_parameters(_paths(root)[1] / f"{name}.ipynb")
        params = dict(chapters[name])
        if device is not None and "device" in declared:
            params["device"] = device
        for key in [*params, "results_path"]:
            if key not in declared:
                raise RunConfigError(
                    f"notebook {name!r} has no parameter {key!r}; its parameters: {', '.join(declared) or '(none)'}"
                )
        if "results_path" in chapters[name]:
            raise RunConfigError(f"preset {preset!r} sets results_path for {name!r}; the runner sets it")
        out.append((name, params))
    return out


# --- running ------------------------------------------------------------------------------


def _tidy(nb_path: Path, tmp_results: str, name: str, results_file: Path, chapter_file: Path,
          root: Path) -> None:
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    final = os.path.relpath(results_file, root / "notebooks")
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags:
            cell.source = cell.source.replace(tmp_results, final)
            cell.metadata["tags"] = list(dict.fromkeys([*tags, *INJECTED_TAGS]))
    meta = nb.metadata.get("papermill", {})
    if "parameters" in meta:
        meta["parameters"]["results_path"] = final
    meta.update(input_path=f"notebooks/{name}.ipynb",
                output_path=os.path.relpath(chapter_file, root))
    nbformat.write(nb, str(nb_path))


def run_chapter(name: str, parameters: dict, root=None, preset: str | None = None, progress_bar=True) -> Path:
    """Execute one chapter with papermill and put its notebook and results JSON in place.

    Takes the notebook name, its parameters (``results_path`` is added), the repository
    root and the preset's name (stored in the JSON, with the run's wall time in
    ``seconds``). Runs with kernel ``python3`` in ``notebooks/``, into temporary files beside
    the targets (:func:`output_folders`: the book's folders for a published preset, the
    scratch folder otherwise); only when the notebook ran and saved its results are both
    moved into place. Prints each file it wrote and the time taken. Returns the chapter's
    path; raises ``ChapterError`` otherwise, leaving the previous files as they were.
    """
    import papermill as pm

    root = _paths(root)[0]
    nb_dir = root / "notebooks"
    name = _folder_name(name, "name")
    chapter_dir, results_dir = output_folders(preset, root)
    chapter_dir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    chapter_file, results_file = chapter_dir / f"{name}.ipynb", results_dir / f"{name}.json"
    fd, tmp_nb = tempfile.mkstemp(prefix=f".{name}.", suffix=".ipynb.tmp", dir=chapter_dir)
    os.close(fd)
    fd, tmp_res = tempfile.mkstemp(prefix=f".{name}.", suffix=".json.tmp", dir=results_dir)
    os.close(fd)
    os.unlink(tmp_res)
    start = time.perf_counter()
    tables = {}
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The specified file")
            pm.execute_notebook(
                str(nb_dir / f"{name}.ipynb"), tmp_nb, parameters={**parameters, "results_path": tmp_res},
                kernel_name=KERNEL, cwd=str(nb_dir), progress_bar=progress_bar,
            )
        _stop_if_interrupted()
        if not os.path.exists(tmp_res):
            raise ChapterError(f"{name} ran but did not call save_results(results_path, {name!r})")
        seconds = round(time.perf_counter() - start, 1)
        data = json.loads(Path(tmp_res).read_text(encoding="utf-8"))
        data.update(preset=preset, parameters=parameters, seconds=seconds)
        Path(tmp_res).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        _tidy(Path(tmp_nb), tmp_res, name, results_file, chapter_file, root)
        tables = {table: results_dir / f"{name.split('_')[0]}_{table.name[len(Path(tmp_res).name) + 1:-4]}.csv"
                  for table in _tables(tmp_res)}
        for path in [Path(tmp_nb), Path(tmp_res), *tables]:
            _readable(path)
        os.replace(tmp_nb, chapter_file)
        os.replace(tmp_res, results_file)
        for table, target in tables.items():
            os.replace(table, target)
    except pm.PapermillExecutionError as err:
        _stop_if_interrupted(err)
        raise ChapterError(f"{name} failed in cell [{err.exec_count}]: {err.ename}: {err.evalue}") from err
    except ChapterError:
        raise
    except Exception as err:
        _stop_if_interrupted(err)
        raise ChapterError(f"{name} failed: {type(err).__name__}: {err}") from err
    finally:
        Path(tmp_nb).unlink(missing_ok=True)
        Path(tmp_res).unlink(missing_ok=True)
        for table in _tables(tmp_res):
            table.unlink(missing_ok=True)
    for path in (chapter_file, results_file, *tables.values()):
        print(f"   wrote {os.path.relpath(path, root)}", flush=True)
    print(f"   {name}: {_duration(seconds)}", flush=True)
    return chapter_file


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def run_preset(preset: str, only=None, device=None, root=None, progress_bar=True) -> dict[str, str]:
    """Validate, then run every selected chapter of a preset, going on after a failure.

    Takes the same arguments as ``plan``. Returns ``{notebook: error message}`` for the
    chapters that failed (empty when all ran). A published preset then rewrites the claims
    page and the README's chapter table; any other preset leaves the book untouched.
    """
    failures = {}
    chapter_dir, _ = output_folders(preset, root)
    where = "the book" if preset in PUBLISHED_PRESETS else os.path.relpath(chapter_dir.parent, _paths(root)[0])
    for name, params in plan(preset, only, device, root):
        print(f"== {name} ({preset}, into {where}): {params}", flush=True)
        try:
            run_chapter(name, params, root, preset, progress_bar)
        except ChapterError as err:
            failures[name] = str(err)
            print(f"!! {err}", file=sys.stderr, flush=True)
    if preset in PUBLISHED_PRESETS:
        from . import landing  # the book layer's landing page reads what this module wrote

        for path in (claims_page(root), readme_table(root), *landing.write(root)):
            if path is not None:
                print(f"   wrote {os.path.relpath(path, _paths(root)[0])}", flush=True)
    return failures


# --- the claims page ----------------------------------------------------------------------


def _title(chapter: Path, fallback: str) -> str:
    try:
        cells = json.loads(chapter.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] == "markdown":
                heading = next((line for line in source.splitlines() if line.startswith("# ")), None)
                if heading:
                    return heading[2:].strip()
    except (OSError, ValueError, KeyError):
        pass
    return fallback


def claims_page(root=None) -> Path:
    """Write ``book/claims.md`` from every ``book/results/*.json``; executes nothing.

    Takes the repository root; returns the page's path. The page
    (:func:`tdnn_utils.claims.page`): the rules, a summary of verdict counts per chapter, and
    per chapter a card and a section per claim, linked to the chapter; it says so when there
    are no results yet.
    """
    root, _, chapter_dir, _ = _paths(root)
    chapters = [{"name": path.stem, "title": _title(chapter_dir / f"{path.stem}.ipynb", path.stem),
                 "data": _read_results(path)} for path in _chapter_results(root)]
    page = root / "book" / "claims.md"
    _write_atomic(page, claims_markdown.page(chapters))
    return page


def _read_results(path: Path) -> dict:
    """A chapter's results file, checked: a JSON object whose ``claims`` (if any) is a list of
    objects. ``RunConfigError`` naming the file otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
        raise RunConfigError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise RunConfigError(f"{path} must hold a JSON object (chapter, values, claims); found a "
                             f"{type(data).__name__}")
    claims = data.get("claims") or []
    if not isinstance(claims, list) or not all(isinstance(c, dict) for c in claims):
        raise RunConfigError(f"{path}: claims must be a list of objects (id, claim, verdict, evidence)")
    return data


def _chapter_results(root) -> list[Path]:
    """The results files of chapters that test claims (``book/results/NN_x.json`` for a
    notebook ``NN_x``; not the :data:`TEACHING` ones)."""
    root, _, _, results_dir = _paths(root)
    chapters = {name for name in notebooks(root) if not name.startswith(TEACHING)}
    return sorted(p for p in results_dir.glob("*.json") if p.stem in chapters) if results_dir.exists() else []


README_START = "<!-- chapter table: written by `python -m tdnn_utils.runs --claims-page` -->"
README_END = "<!-- end of chapter table -->"


def chapter_table(root=None) -> str:
    """The README's chapter table, from ``book/results``: run, date, wall time, verdicts."""
    root = _paths(root)[0]
    lines = ["| chapter | committed run | wall time (2-core CPU) | verdicts |", "|---|---|---|---|"]
    for name in notebooks(root):
        path = root / "book" / "results" / f"{name}.json"
        title = _title(root / "book" / "chapters" / f"{name}.ipynb", name)
        link = f"[{claims_markdown.cell(title)}](notebooks/{name}.md)"
        if not path.exists():
            lines.append(f"| {link} | not run yet | | |")
            continue
        data = _read_results(path)
        written = str(data.get("written", ""))[:10]
        seconds = data.get("seconds")
        counts = {}
        for claim in data.get("claims") or []:
            counts[claim.get("verdict")] = counts.get(claim.get("verdict"), 0) + 1
        verdicts = ", ".join(f"{n} {v}" for v in VERDICTS if (n := counts.get(v)))
        lines.append(f"| {link} | `{data.get('preset')}` preset, {written} | "
                     f"{_duration(seconds) if seconds else 'not recorded'} | {verdicts or 'no claims'} |")
    return "\n".join(lines)


def readme_table(root=None) -> Path | None:
    """Rewrite the chapter table of ``README.md`` (between its two marker comments).

    Returns the README's path, or None when the tree has no README (a test tree)."""
    path = _paths(root)[0] / "README.md"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise RunConfigError(f"{path} lacks the chapter-table markers {README_START!r} and {README_END!r}")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    _write_atomic(path, f"{head}{README_START}\n{chapter_table(root)}\n{README_END}{tail}")
    return path


# --- command line -------------------------------------------------------------------------


_interrupted = False


def _interrupt(signum, frame):
    # remembered, because nbclient may swallow the KeyboardInterrupt while a cell runs and
    # let papermill return as if the chapter had ended
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt(f"signal {signum}")


def _stop_if_interrupted(cause=None):
    if _interrupted:
        raise KeyboardInterrupt("interrupted while a chapter ran") from cause


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a chapter failed, 2 bad request)."""
    parser = argparse.ArgumentParser(prog="python -m tdnn_utils.runs", description=__doc__.split("\n")[0])
    parser.add_argument("--preset", help="preset from notebooks/presets.yml (smoke, book, full)")
    parser.add_argument("--only", action="append", help="notebook name or prefix (e.g. 01); repeat or comma separate")
    parser.add_argument("--device", choices=DEVICES, help="injected as the notebook's `device` parameter")
    parser.add_argument("--claims-page", action="store_true",
                        help="only write book/claims.md and README.md's chapter table from book/results")
    parser.add_argument("--root", help="repository root (default: the one holding tdnn_utils)")
    parser.add_argument("--no-progress", action="store_true", help="hide papermill's progress bar")
    args = parser.parse_args(argv)
    if not args.preset and not args.claims_page:
        parser.error("give --preset NAME or --claims-page")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        if args.preset:
            failures = run_preset(args.preset, args.only, args.device, args.root, not args.no_progress)
            if failures:
                print(f"{len(failures)} chapter(s) failed: {', '.join(failures)}", file=sys.stderr)
                return 1
        else:
            for path in (claims_page(args.root), readme_table(args.root)):
                if path is not None:
                    print(path)
    except RunConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished chapters are in place, the current one is unchanged", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
