"""Run every chapter as Colab's default runtime would: ``make colab-check``.

What it does, in order:

1. **Builds an environment like Colab's default runtime** in ``.colab/venv`` (gitignored):
   Python 3.13 (else the newest Python found, and it says so), the versions Colab ships
   (:data:`COLAB_RUNTIME`: numpy 2.1.3, torch 2.11 from PyPI with its CUDA libraries,
   scikit-learn 1.6.1, plotly 5.24.1, pandas 2.2) and what Colab runs notebooks with
   (ipykernel, nbclient, nbformat, matplotlib). Not the book's ``requirements.txt``: what the
   book needs beyond Colab's packages must come from the chapters' install cell, as on Colab.
   A stub ``google.colab`` package (:data:`FAKE_COLAB`) is installed in it, and an IPython
   startup file imports it in every kernel, as Colab's kernel does, so that the install cell
   takes its Colab branch. The environment is reused by later runs (``--rebuild`` makes it
   anew); ``.colab/venv/colab-check.json`` records what was built and how long it took.
2. **Makes the install cell's pinned address point at this checkout.** Every chapter's first
   cell asks pip for ``tdnn_utils @ git+https://github.com/OWNER/NAME.git@v<version>``; the
   cell is run unchanged. ``.colab/snapshot`` is a fresh git repository holding this working
   tree as it is (uncommitted changes and untracked files included, ignored files left out),
   committed once and tagged ``v<version>`` (``tdnn_utils.__version__``), and a git
   configuration used only by this check (``GIT_CONFIG_GLOBAL=.colab/gitconfig``) says
   ``url."file://.../.colab/snapshot".insteadOf = https://github.com/OWNER/NAME(.git)``, with
   the address taken from ``_config.yml`` as the install cell's is.
3. **Runs each chapter** whole, at its smoke defaults (the ``parameters`` cell as written),
   in a kernel of that environment started from an empty working folder (``.colab/content``,
   like Colab's ``/content``: the checkout is not importable from there), with no
   ``PYTHONPATH`` and no ``TDNN_ENGINE``. Before each chapter the environment is put back to
   the packages it was built with, so each chapter starts like a fresh Colab runtime.
4. **Reports** per chapter: passed or failed, the install cell's time and the chapter's
   time, what the install cell changed in the environment, and, on failure, the failing
   cell and the last lines of its error. The report is printed and written to
   ``.colab/report.txt``; executed notebooks are kept in ``.colab/executed/``. Exit status 0
   when every chapter passed, 1 otherwise, 2 on a usage or set-up error.

This file uses the standard library only, so any Python 3.9+ can start it; the part that
executes a notebook (``--execute``) is run by the environment's own Python, where nbclient is.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / ".colab"

#: The Python of Colab's default runtime.
PYTHON_WANTED = (3, 13)

#: Colab's default runtime (checked 2026-11): the packages the book's chapters touch, at
#: Colab's versions, and what runs a notebook there. torch comes from PyPI (the CUDA build,
#: several GB), as on Colab.
COLAB_RUNTIME = (
    "numpy==2.1.3",
    "torch==2.11.*",
    "scikit-learn==1.6.1",
    "plotly==5.24.1",
    "pandas==2.2.*",
    "scipy",
    "matplotlib",
    "ipykernel",
    "ipython",
    "nbclient",
    "nbformat",
)

#: Versions printed in the report's header and compared before and after each install cell.
KEY_PACKAGES = ("numpy", "torch", "scikit-learn", "scipy", "pandas", "plotly", "gudhi",
                "giotto-ph", "mlxtend", "tdnn-utils")

#: The stub ``google.colab``: importable, says it is a stub, and fails loudly if a chapter
#: uses a Colab service (Drive, file upload) that a local check cannot give. ``google`` stays
#: a namespace package (no ``google/__init__.py``), so ``google.protobuf`` and the like still
#: import beside it.
FAKE_COLAB = {
    "google/colab/__init__.py": '''\
"""A stub of Colab's ``google.colab`` for tools/colab_check.py (not Colab).

Importing it is what makes code believe it runs on Colab (``"google.colab" in sys.modules``).
"""

__version__ = "0.0.1+colab-check"
IS_STUB = True

from . import drive, files, output  # noqa: E402,F401
''',
    "google/colab/_stub.py": '''\
class ColabServiceUnavailable(RuntimeError):
    """A Colab service that the local Colab-like check cannot provide."""


def unavailable(name):
    def call(*args, **kwargs):
        raise ColabServiceUnavailable(
            f"google.colab.{name} is a stub in this Colab-like check (tools/colab_check.py); "
            "a chapter must not need it")
    call.__name__ = name.rsplit(".", 1)[-1]
    return call
''',
    "google/colab/drive.py": '''\
from ._stub import unavailable

mount = unavailable("drive.mount")
flush_and_unmount = unavailable("drive.flush_and_unmount")
''',
    "google/colab/files.py": '''\
from ._stub import unavailable

upload = unavailable("files.upload")
download = unavailable("files.download")
''',
    "google/colab/output.py": '''\
def enable_custom_widget_manager():
    """Colab needs this for some widgets; locally there is nothing to enable."""


def clear(*args, **kwargs):
    from IPython.display import clear_output

    clear_output()
''',
}

#: IPython startup file of the check's kernels: Colab's kernel has google.colab imported.
STARTUP_FILE = "profile_default/startup/00-google-colab.py"
STARTUP_SOURCE = "import google.colab  # tools/colab_check.py: make the kernel look like Colab's\n"

#: The environment variables a chapter must not inherit from the developer's shell.
DROPPED_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "TDNN_ENGINE", "JUPYTER_PATH",
                     "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR", "GIT_DIR",
                     "GIT_WORK_TREE", "MPLBACKEND")


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_WARNING = re.compile(r"(?:(\S+\.py):(\d+): )?\b(\w*Warning): (.+)")
#: pip's notes about this machine's own pip configuration, not about the book.
_PIP_NOISE = re.compile(r"WARNING: Location '[^']*' is ignored")


class SetupError(RuntimeError):
    """The check cannot start (no Python, no git, a build failed): exit status 2."""


# ---------------------------------------------------------------------------- the checkout
def package_version(root: Path = ROOT) -> str:
    """``tdnn_utils.__version__``, read from the source without importing it."""
    text = (root / "tdnn_utils" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'''^__version__\s*=\s*["']([^"']+)["']''', text, re.M)
    if not match:
        raise SetupError(f"{root / 'tdnn_utils' / '__init__.py'}: no __version__")
    return match.group(1)


def repository_url(root: Path = ROOT) -> str:
    """``repository.url`` of ``_config.yml`` (what the install cell's address is made from),
    read without PyYAML, normalised as :func:`tdnn_utils.chapters.repository` does."""
    text = (root / "_config.yml").read_text(encoding="utf-8")
    block = re.search(r"^repository:\s*\n((?:[ \t]+.*\n?)*)", text, re.M)
    url = re.search(r"^\s+url:\s*[\"']?([^\"'\s#]+)", block.group(1), re.M) if block else None
    match = url and re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)/?", url.group(1))
    if not match:
        raise SetupError(f"{root / '_config.yml'}: no repository.url like https://github.com/OWNER/NAME")
    return f"https://github.com/{match.group(1)}"


def chapter_notebooks(root: Path = ROOT, only=()) -> list[Path]:
    """``notebooks/NN_x.ipynb``, sorted; ``only`` keeps those whose name starts with one of
    its entries ("01", "02_activation")."""
    found = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if any(p.stem.startswith(o) for o in only)]
    return found


def install_cell_address(notebook: Path) -> str | None:
    """The ``git+...@ref`` address the chapter's install cell asks pip for (None: no such cell)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = next((c for c in cells if c["cell_type"] == "code"), None)
    source = "".join(code["source"]) if code and isinstance(code["source"], list) else (code or {}).get("source", "")
    match = re.search(r"git\+(https://[^\s\"'@]+@[^\s\"']+)", source)
    return match.group(1) if match else None


# ---------------------------------------------------------------------------- git
def _git(*args, cwd=None, env=None, capture=True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, text=True,
                          capture_output=capture)
    if done.returncode:
        raise SetupError(f"git {' '.join(args)} failed in {cwd}: {(done.stderr or '').strip()}")
    return done.stdout if capture else ""


def isolated_git_env(gitconfig: Path | None = None, base=None) -> dict:
    """An environment where git reads only ``gitconfig`` (no ~/.gitconfig, no /etc/gitconfig)."""
    env = dict(os.environ if base is None else base)
    env["GIT_CONFIG_GLOBAL"] = str(gitconfig) if gitconfig else os.devnull
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def working_tree_files(source: Path) -> list[str]:
    """The files of ``source``'s working tree that git does not ignore: tracked ones that
    still exist (modified or not) and untracked ones."""
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=source,
                  env=isolated_git_env())
    names = sorted({n for n in listed.split("\0") if n})
    return [n for n in names if os.path.lexists(source / n)]


def make_snapshot(source: Path, snapshot: Path, tag: str) -> str:
    """Make ``snapshot`` a new git repository holding ``source``'s working tree as it is, in
    one commit tagged ``tag``; returns that commit's id. A previous snapshot is replaced."""
    source, snapshot = Path(source).resolve(), Path(snapshot).resolve()
    if snapshot == source or source in snapshot.parents and not _ignored(source, snapshot):
        raise SetupError(f"the snapshot folder {snapshot} must be outside {source} or ignored by it")
    head = _git("rev-parse", "--short", "HEAD", cwd=source, env=isolated_git_env()).strip() or "none"
    if snapshot.exists():
        shutil.rmtree(snapshot)
    snapshot.mkdir(parents=True)
    for name in working_tree_files(source):
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        origin = source / name
        if origin.is_symlink():
            os.symlink(os.readlink(origin), target)
        elif origin.is_file():
            shutil.copy2(origin, target)
    env = isolated_git_env()
    identity = ["-c", "user.name=colab-check", "-c", "user.email=colab-check@localhost",
                "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"]
    _git("init", "-q", "-b", "main", cwd=snapshot, env=env)
    _git("add", "-A", cwd=snapshot, env=env)
    _git(*identity, "commit", "-q", "--allow-empty", "-m",
         f"colab-check snapshot of {source} at {head}, working tree as it was", cwd=snapshot, env=env)
    _git(*identity, "tag", tag, cwd=snapshot, env=env)
    return _git("rev-parse", "HEAD", cwd=snapshot, env=env).strip()


def _ignored(source: Path, path: Path) -> bool:
    done = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=source,
                          env=isolated_git_env())
    return done.returncode == 0


def redirect_config(repository: str, snapshot: Path) -> str:
    """The git configuration that sends ``repository`` (with or without ``.git``) to the
    local ``snapshot``. git replaces the longest matching ``insteadOf`` prefix."""
    target = Path(snapshot).resolve().as_uri()
    repository = repository.rstrip("/").removesuffix(".git")
    return (f'[url "{target}"]\n'
            f"\tinsteadOf = {repository}.git\n"
            f"\tinsteadOf = {repository}\n"
            "[protocol \"file\"]\n\tallow = always\n"
            "[safe]\n\tdirectory = *\n"
            "[advice]\n\tdetachedHead = false\n"
            "[init]\n\tdefaultBranch = main\n")


def write_redirect(gitconfig: Path, repository: str, snapshot: Path) -> Path:
    gitconfig.parent.mkdir(parents=True, exist_ok=True)
    gitconfig.write_text(redirect_config(repository, snapshot), encoding="utf-8")
    return gitconfig


# ---------------------------------------------------------------------------- the environment
def python_version(python) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=30).stdout.split()
        return tuple(int(x) for x in out) if len(out) == 3 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def python_candidates() -> list[str]:
    """Pythons to consider: ``python3.N`` on PATH and pyenv's versions."""
    found = []
    for minor in range(20, 8, -1):
        path = shutil.which(f"python3.{minor}")
        if path:
            found.append(path)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        found += [str(p / "bin" / "python3") for p in sorted(pyenv.iterdir())
                  if (p / "bin" / "python3").exists()]
    return found


def choose_python(candidates, wanted=PYTHON_WANTED, version_of=python_version):
    """(path, version, note): a Python ``wanted`` (newest patch release), else the newest
    one found, with a note saying so. Raises SetupError when none runs."""
    versions = {}
    for path in candidates:
        version = version_of(path)
        if version and version >= (3, 9, 0):
            versions.setdefault(version, path)
    if not versions:
        raise SetupError("no Python 3.9+ found (looked at: " + ", ".join(candidates or ["nothing"]) + ")")
    matching = [v for v in versions if v[:2] == tuple(wanted)]
    if matching:
        best = max(matching)
        return versions[best], best, ""
    best = max(versions)
    return versions[best], best, (f"Python {wanted[0]}.{wanted[1]} (Colab's) was not found; "
                                  f"using the newest found, {'.'.join(map(str, best))}")


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def install_fake_colab(site_packages: Path, ipython_dir: Path) -> list[Path]:
    """Write the stub ``google.colab`` into ``site_packages`` and the IPython startup file
    that imports it into ``ipython_dir``; returns the files written."""
    written = []
    for name, source in FAKE_COLAB.items():
        path = Path(site_packages) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        written.append(path)
    startup = Path(ipython_dir) / STARTUP_FILE
    startup.parent.mkdir(parents=True, exist_ok=True)
    startup.write_text(STARTUP_SOURCE, encoding="utf-8")
    written.append(startup)
    return written


def write_kernelspec(jupyter_path: Path, python: Path, ipython_dir: Path) -> Path:
    """A kernel named ``python3`` (the chapters' kernel) that runs the environment's Python
    with the check's IPython folder; found first because JUPYTER_PATH points here."""
    folder = Path(jupyter_path) / "kernels" / "python3"
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (Colab-like)", "language": "python",
            "env": {"IPYTHONDIR": str(ipython_dir)}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return folder


def installed_packages(python: Path) -> dict[str, str]:
    """{normalised name: version} of what ``python``'s pip sees installed."""
    done = subprocess.run([str(python), "-m", "pip", "list", "--format=json",
                           "--disable-pip-version-check"], capture_output=True, text=True)
    if done.returncode:
        raise SetupError(f"pip list failed: {done.stderr.strip()}")
    return {_normalise(p["name"]): p["version"] for p in json.loads(done.stdout)}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package_changes(before: dict, after: dict) -> list[str]:
    """What changed between two :func:`installed_packages`: "+name version",
    "-name version", "name old -> new"; sorted by name."""
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None:
            changes.append(f"+{name} {new}")
        elif new is None:
            changes.append(f"-{name} {old}")
        else:
            changes.append(f"{name} {old} -> {new}")
    return changes


def restore_packages(python: Path, wanted: dict, log=print) -> list[str]:
    """Put ``python``'s packages back to ``wanted`` (a fresh runtime's): uninstall what was
    added, reinstall (without dependencies) what changed. Returns the changes undone."""
    now = installed_packages(python)
    changes = package_changes(wanted, now)
    added = [name for name in now if name not in wanted]
    changed = [f"{name}=={version}" for name, version in wanted.items() if now.get(name) != version]
    pip = [str(python), "-m", "pip", "-q", "--disable-pip-version-check"]
    if added:
        subprocess.run([*pip, "uninstall", "-y", *added], check=True)
    if changed:
        subprocess.run([*pip, "install", "--no-deps", *changed], check=True)
    if changes:
        log("  environment reset to the fresh runtime (undone: " + "; ".join(changes) + ")")
    return changes


@dataclass
class Environment:
    venv: Path
    python: Path
    version: tuple
    note: str
    packages: dict
    build_seconds: float
    built_now: bool


def build_environment(folder: Path, *, rebuild: bool = False, python: str | None = None,
                      log=print) -> Environment:
    """The Colab-like environment in ``folder/venv``: reused when its record says it was built
    from :data:`COLAB_RUNTIME`, else (or with ``rebuild``) made anew."""
    venv = folder / "venv"
    record = venv / "colab-check.json"
    ipython_dir, jupyter_path = folder / "ipython", folder / "jupyter"
    if not rebuild and record.exists():
        data = json.loads(record.read_text(encoding="utf-8"))
        if data.get("requirements") == list(COLAB_RUNTIME) and venv_python(venv).exists():
            install_fake_colab(Path(data["site_packages"]), ipython_dir)
            write_kernelspec(jupyter_path, venv_python(venv), ipython_dir)
            log(f"environment: reusing {venv} (built {data['built']} in {data['build_seconds']:.0f} s; "
                "--rebuild to make it anew)")
            return Environment(venv, venv_python(venv), tuple(data["python"]), data.get("note", ""),
                               data["packages"], data["build_seconds"], False)
        log(f"environment: {venv} was built from other requirements; rebuilding")
    if python:
        version = python_version(python)
        if not version:
            raise SetupError(f"--python {python} does not run")
        note = "" if version[:2] == PYTHON_WANTED else (
            f"Python {PYTHON_WANTED[0]}.{PYTHON_WANTED[1]} (Colab's) not used: --python gave "
            f"{'.'.join(map(str, version))}")
    else:
        python, version, note = choose_python(python_candidates())
    if note:
        log("NOTE: " + note)
    start = time.perf_counter()
    if venv.exists():
        shutil.rmtree(venv)
    log(f"environment: building {venv} with Python {'.'.join(map(str, version))} ({python})")
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
    env_python = venv_python(venv)
    log("environment: pip install " + " ".join(COLAB_RUNTIME) + "  (torch from PyPI: several GB)")
    done = subprocess.run([str(env_python), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", *COLAB_RUNTIME],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in done.stdout.splitlines():
        if not _PIP_NOISE.search(line):
            log("  " + line)
    if done.returncode:
        raise SetupError(f"installing Colab's packages failed (pip exit {done.returncode}); see above")
    site_packages = Path(subprocess.run(
        [str(env_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    install_fake_colab(site_packages, ipython_dir)
    write_kernelspec(jupyter_path, env_python, ipython_dir)
    packages = installed_packages(env_python)
    seconds = time.perf_counter() - start
    record.write_text(json.dumps({
        "requirements": list(COLAB_RUNTIME), "python": list(version), "python_path": str(python),
        "note": note, "site_packages": str(site_packages), "packages": packages,
        "built": time.strftime("%Y-%m-%d %H:%M:%S"), "build_seconds": round(seconds, 1),
    }, indent=1), encoding="utf-8")
    log(f"environment: built in {seconds:.0f} s")
    return Environment(venv, env_python, tuple(version), note, packages, seconds, True)


def kernel_environment(folder: Path, env: Environment, gitconfig: Path, base=None) -> dict:
    """The variables a chapter's kernel (and the pip and git it starts) runs with."""
    variables = isolated_git_env(gitconfig, base)
    for name in DROPPED_VARIABLES:
        variables.pop(name, None)
    variables["PATH"] = os.pathsep.join([str(env.venv / "bin"), variables.get("PATH", "")])
    variables["VIRTUAL_ENV"] = str(env.venv)
    variables["JUPYTER_PATH"] = str(folder / "jupyter")
    variables["IPYTHONDIR"] = str(folder / "ipython")
    variables["PYTHONNOUSERSITE"] = "1"
    variables["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    variables["GIT_TERMINAL_PROMPT"] = "0"
    # Show deprecations raised inside libraries too (tdnn_utils calling deprecated numpy,
    # pandas or scikit-learn API): Python hides them outside __main__ by default.
    variables["PYTHONWARNINGS"] = "default::DeprecationWarning,default::PendingDeprecationWarning"
    return variables


# ---------------------------------------------------------------------------- one chapter
@dataclass
class ChapterResult:
    name: str
    passed: bool
    seconds: float
    install_seconds: float | None = None
    failed_cell: int | None = None
    error: str = ""
    changes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def run_chapter(notebook: Path, folder: Path, env: Environment, variables: dict, *,
                timeout: int) -> ChapterResult:
    """Execute ``notebook`` in a kernel of ``env`` from an empty ``folder/content``."""
    content = folder / "content"
    if content.exists():
        shutil.rmtree(content)
    content.mkdir(parents=True)
    executed = folder / "executed" / notebook.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    result_file = folder / "executed" / f"{notebook.stem}.result.json"
    result_file.unlink(missing_ok=True)
    start = time.perf_counter()
    done = subprocess.run([str(env.python), str(Path(__file__).resolve()), "--execute", str(notebook),
                           "--output", str(executed), "--result", str(result_file),
                           "--timeout", str(timeout)],
                          cwd=content, env=variables, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result_file.exists():
        data = json.loads(result_file.read_text(encoding="utf-8"))
        return ChapterResult(notebook.stem, data["passed"], seconds, data.get("install_seconds"),
                             data.get("failed_cell"), data.get("error", ""),
                             warnings=data.get("warnings", []))
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
    return ChapterResult(notebook.stem, False, seconds, error=f"the executor stopped (exit {done.returncode}):\n{tail}")




def warnings_in(texts, limit: int = 20) -> list[str]:
    """Distinct Python warnings in the chapter's stderr, in order of appearance, as
    "[module/path.py:line: ]Category: message" (at most ``limit``)."""
    found = []
    for text in texts:
        for line in _ANSI.sub("", text).splitlines():
            match = _WARNING.search(line)
            if match and not _PIP_NOISE.search(line) and "/pip/_" not in line:
                path, number, category, message = match.groups()
                where = ""
                if path:
                    where = (path.split("site-packages/")[-1] if "site-packages/" in path
                             else Path(path).name) + f":{number}: "
                entry = f"{where}{category}: {message.strip()}"
                if entry not in found:
                    found.append(entry)
    return found[:limit]


def error_tail(text: str, lines: int = 12) -> str:
    """The last ``lines`` non-empty lines of a traceback, colour codes removed."""
    kept = [line.rstrip() for line in _ANSI.sub("", text).splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def _cell_seconds(cell) -> float | None:
    from datetime import datetime

    timing = cell.get("metadata", {}).get("execution", {})
    begin, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (begin and end):
        return None
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(begin)).total_seconds()


def execute(notebook: Path, output: Path, result: Path, timeout: int) -> int:
    """Run in the Colab-like environment: execute ``notebook`` whole with nbclient in the
    ``python3`` kernel, save it to ``output``, write the outcome as JSON to ``result``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(str(notebook), as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout, allow_errors=False,
                            record_timing=True, resources={"metadata": {"path": os.getcwd()}})
    outcome = {"passed": True}
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as error:
        outcome["passed"] = False
        failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                  and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        if failed:
            cell = nb.cells[failed[0]]
            out = next(o for o in cell.outputs if o.get("output_type") == "error")
            outcome["failed_cell"] = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"].index(failed[0]) + 1
            outcome["error"] = error_tail("\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}")
        else:
            outcome["error"] = error_tail(f"{type(error).__name__}: {error}")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code:
        outcome["install_seconds"] = _cell_seconds(code[0])
    outcome["warnings"] = warnings_in(
        "".join(o.get("text", "")) if isinstance(o.get("text"), list) else o.get("text", "")
        for c in code for o in c.get("outputs", []) if o.get("name") == "stderr")
    nbformat.write(nb, str(output))
    result.write_text(json.dumps(outcome), encoding="utf-8")
    return 0 if outcome["passed"] else 1


# ---------------------------------------------------------------------------- the report
def _seconds(value) -> str:
    return "-" if value is None else f"{value:.0f} s"


def format_report(results, *, header=(), total_seconds=None) -> str:
    """The report: a header, one line per chapter (status, install cell's time, chapter's
    time), then each chapter's environment changes and each failure's last lines."""
    lines = list(header)
    width = max([len(r.name) for r in results] + [7])
    lines.append(f"{'chapter':<{width}}  {'result':<6}  {'install':>8}  {'total':>8}")
    for r in results:
        lines.append(f"{r.name:<{width}}  {'PASS' if r.passed else 'FAIL':<6}  "
                     f"{_seconds(r.install_seconds):>8}  {_seconds(r.seconds):>8}")
    passed = sum(r.passed for r in results)
    summary = f"{passed} passed, {len(results) - passed} failed"
    if total_seconds is not None:
        summary += f" in {total_seconds:.0f} s"
    lines.append(summary)
    groups = {}
    for r in results:
        if r.changes:
            groups.setdefault(tuple(r.changes), []).append(r.name)
    for changes, names in groups.items():
        who = "every chapter" if len(names) == len(results) > 1 else ", ".join(names)
        lines.append(f"\nthe install cell added or changed ({who}): " + "; ".join(changes))
    for r in results:
        if r.warnings:
            lines.append(f"\n{r.name}: warnings")
            lines += ["    " + w for w in r.warnings]
    for r in results:
        if not r.passed:
            where = f" (code cell {r.failed_cell})" if r.failed_cell else ""
            lines.append(f"\n--- {r.name} failed{where}:")
            lines += ["    " + line for line in (r.error or "no error text").splitlines()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- main
def check(args, log=print) -> int:
    folder = Path(args.folder).resolve()
    if shutil.which("git") is None:
        raise SetupError("git is needed (pip installs the book from a git address)")
    notebooks = chapter_notebooks(ROOT, args.only)
    if not notebooks:
        raise SetupError(f"no chapter matches --only {' '.join(args.only)}")
    started = time.perf_counter()
    env = build_environment(folder, rebuild=args.rebuild, python=args.python, log=log)
    tag, repository = f"v{package_version()}", repository_url()
    commit = make_snapshot(ROOT, folder / "snapshot", tag)
    gitconfig = write_redirect(folder / "gitconfig", repository, folder / "snapshot")
    log(f"snapshot: {folder / 'snapshot'} at {commit[:12]}, tagged {tag}; "
        f"{repository} -> file://{folder / 'snapshot'} (GIT_CONFIG_GLOBAL={gitconfig})")
    variables = kernel_environment(folder, env, gitconfig)
    versions = ", ".join(f"{n} {env.packages[n]}" for n in KEY_PACKAGES if n in env.packages)
    header = [f"Colab-like check of {ROOT} ({time.strftime('%Y-%m-%d %H:%M')})",
              f"Python {'.'.join(map(str, env.version))}; {versions}; google.colab: stub",
              f"environment: {'built' if env.built_now else 'reused'} ({env.build_seconds:.0f} s to build)"
              + (f"; NOTE: {env.note}" if env.note else ""),
              f"book: {repository}.git@{tag} -> snapshot {commit[:12]} of the working tree", ""]
    results = []
    for notebook in notebooks:
        address = install_cell_address(notebook)
        log(f"{notebook.stem}: running (install cell asks for {address}) ...")
        restore_packages(env.python, env.packages, log=log)
        result = run_chapter(notebook, folder, env, variables, timeout=args.timeout)
        result.changes = package_changes(env.packages, installed_packages(env.python))
        log(f"{notebook.stem}: {'PASS' if result.passed else 'FAIL'} in {result.seconds:.0f} s")
        results.append(result)
    restore_packages(env.python, env.packages, log=log)
    report = format_report(results, header=header, total_seconds=time.perf_counter() - started)
    (folder / "report.txt").write_text(report, encoding="utf-8")
    log("\n" + report + f"(report: {folder / 'report.txt'}; executed notebooks: {folder / 'executed'})")
    return 0 if all(r.passed for r in results) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tools/colab_check.py", description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="make the environment anew")
    parser.add_argument("--only", nargs="*", default=[], metavar="NN",
                        help="chapters whose names start with these (e.g. 01 04)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell (default 1200)")
    parser.add_argument("--python", help="the Python to build the environment with (default: "
                                         "3.13 if found, else the newest)")
    parser.add_argument("--folder", default=str(FOLDER), help="where the environment, snapshot "
                                                              "and report go (default .colab/)")
    parser.add_argument("--execute", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute:
        return execute(Path(args.execute), Path(args.output), Path(args.result), args.timeout)
    try:
        return check(args)
    except (SetupError, subprocess.CalledProcessError) as error:
        print(f"colab-check: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
