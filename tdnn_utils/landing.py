"""The landing page's summary, written from the committed results: nothing on it is typed by hand.

``book/intro.md`` includes three generated files from ``book/_generated/``:

- ``landing-findings.md``: what the book found, in three sentences, from the verdicts in
  ``book/results/*.json`` (:data:`HEADLINES` names the claims the last two sentences quote);
- ``landing-figure.html``: the verdicts per chapter, a plotly figure (:func:`verdict_figure`);
- ``landing-chapters.md``: the chapters with their time to read (counted on the executed
  chapter, :func:`reading_minutes`) and their time to run from an empty cache
  (``book/durations.yml``, or the committed run's own time for a chapter that caches nothing).

Command line (``make book`` and the runner, after a published preset, write them)::

    python -m tdnn_utils.landing           # write book/_generated/landing-*
    python -m tdnn_utils.landing --check   # exit 1 if they differ from what the results give
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import textwrap
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import yaml

from . import claims as claims_markdown
from . import plotting, runs

ROOT = runs.ROOT
GENERATED = Path("book") / "_generated"
DURATIONS = Path("book") / "durations.yml"
#: Reading speed of the page's prose (myst's own default) and the time a figure asks for.
WORDS_PER_MINUTE = 200
MINUTES_PER_FIGURE = 0.5
#: The claims the second and third sentences quote: (claim id, what it says, where).
HEADLINES = (
    ("The central claim, that a network trained to 100% accuracy simplifies each class's topology "
     "layer by layer, is {} on the entangled tori and {} on Naitzat et al.'s own data sets.",
     ("ch1-simplifies", "ch2-c1")),
    ("Topology as a training loss: Hofer et al.'s densified loss is {}, Ω on the logits {} and "
     "torch-topological's loss {}, while controls that shrink the logits without any topology are {}.",
     ("ch4-densified", "ch4-omega", "ch4-torch-topological", "ch4-scale")),
)
#: How a verdict reads inside a sentence.
VERDICT_PHRASES = {"confirmed": "confirmed", "direction only": "confirmed in direction only",
                   "partly": "partly confirmed", "not reproduced": "not reproduced",
                   "inconclusive": "inconclusive", "untestable": "untestable"}
#: One colour per verdict (tdnn_utils.colours.SAFE: no red-green pair), in reading order.
VERDICT_COLOURS = {"confirmed": "#44AA99", "direction only": "#88CCEE", "partly": "#999933",
                   "inconclusive": "#DDCC77", "not reproduced": "#CC6677", "untestable": "#AA4499"}
_FILES = ("landing-findings.md", "landing-figure.html", "landing-chapters.md")


# ---------------------------------------------------------------------------- reading the book
def _verdicts_in_order(seen) -> list[str]:
    known = [v for v in VERDICT_COLOURS if v in set(seen)]
    return known + sorted(set(seen) - set(known))


def claims(root=None) -> pd.DataFrame:
    """Every recorded claim of every chapter: ``chapter``, ``title``, ``id``, ``claim``, ``verdict``."""
    root = Path(root or ROOT)
    rows = []
    for name in runs.notebooks(root):
        path = root / "book" / "results" / f"{name}.json"
        if name.startswith(runs.TEACHING) or not path.exists():
            continue
        title = runs._title(root / "book" / "chapters" / f"{name}.ipynb", name)
        for claim in runs._read_results(path).get("claims") or []:
            rows.append({"chapter": name, "title": title, "id": claim.get("id"),
                         "claim": claim.get("claim"), "verdict": claim.get("verdict")})
    return pd.DataFrame(rows, columns=["chapter", "title", "id", "claim", "verdict"])


def _count_phrase(counts: dict) -> str:
    parts = [f"{n} {verdict}" for verdict, n in counts.items() if n]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def missing_headlines(root=None) -> list[str]:
    """The claim ids :data:`HEADLINES` quotes that no results file records (empty: all there)."""
    recorded = set(claims(root)["id"])
    return [i for _, ids in HEADLINES for i in ids if i not in recorded]


def findings(root=None) -> str:
    """What the book found, in three sentences, from the recorded verdicts (Markdown).

    A headline sentence whose claims are not all recorded is left out (a tree with other
    chapters); :func:`missing_headlines` names them, and the book's tests require none.
    """
    table = claims(root)
    if table.empty:
        return "No chapter has recorded a verdict yet: run `make runs PRESET=book`."
    verdict = dict(zip(table["id"], table["verdict"]))
    counts = table["verdict"].value_counts().to_dict()
    counts = {v: counts[v] for v in _verdicts_in_order(counts)}
    sentences = [f"The book's {table['chapter'].nunique()} chapters test {len(table)} published claims "
                 f"about how trained networks change the shape of their data, by rules fixed before the "
                 f"runs: {_count_phrase(counts)}."]
    for template, ids in HEADLINES:
        if any(i not in verdict for i in ids):
            continue
        sentences.append(template.format(*(f"**{VERDICT_PHRASES.get(verdict[i], verdict[i])}**" for i in ids)))
    return " ".join(sentences)


def _short(title: str, width: int = 22) -> str:
    head = title.split(":")[0]
    return "<br>".join(textwrap.wrap(head, width, max_lines=2, placeholder=" …"))


def verdict_figure(root=None) -> go.Figure:
    """The verdicts per chapter: one bar per chapter, one segment per verdict (claims counted)."""
    table = claims(root)
    fig = go.Figure()
    if table.empty:
        return plotting._layout(fig, "No verdicts yet", 200)
    chapters = list(dict.fromkeys(table["chapter"]))
    labels = {c: f"{int(c[:2])}. {_short(t)}" for c, t in zip(table["chapter"], table["title"])}
    for verdict in _verdicts_in_order(table["verdict"]):
        counts = [int(((table["chapter"] == c) & (table["verdict"] == verdict)).sum()) for c in chapters]
        fig.add_trace(go.Bar(
            y=[labels[c] for c in chapters], x=counts, orientation="h", name=verdict,
            marker=dict(color=VERDICT_COLOURS.get(verdict, plotting.SERIES_COLOURS[-1])),
            text=[str(n) if n else "" for n in counts], textposition="inside", insidetextanchor="middle",
            hovertemplate=f"%{{y}}: %{{x}} {verdict}<extra></extra>"))
    plotting._layout(fig, "Verdicts on the papers' claims, per chapter", 120 + 52 * len(chapters))
    fig.update_layout(barmode="stack", bargap=0.35, legend=dict(traceorder="normal"))
    fig.update_xaxes(title_text="claims", dtick=1)
    fig.update_yaxes(title_text="chapter", autorange="reversed")
    return fig


def _markdown_words(notebook: dict) -> tuple[int, int]:
    """(words of prose, figures) of an executed notebook: Markdown cells and Markdown outputs."""
    words = figures = 0
    for cell in notebook["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            words += len(re.findall(r"\w+", text))
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/vnd.plotly.v1+json" in data or "plotly" in str(data.get("text/html", ""))[:2000]:
                figures += 1
            elif "text/markdown" in data:
                markdown = data["text/markdown"]
                words += len(re.findall(r"\w+", "".join(markdown) if isinstance(markdown, list) else markdown))
    return words, figures


def reading_minutes(chapter: Path) -> int:
    """Minutes to read an executed chapter: its prose at :data:`WORDS_PER_MINUTE`, plus
    :data:`MINUTES_PER_FIGURE` per figure, rounded up to 5 minutes (at least 5)."""
    words, figures = _markdown_words(json.loads(Path(chapter).read_text(encoding="utf-8")))
    minutes = words / WORDS_PER_MINUTE + MINUTES_PER_FIGURE * figures
    return int(5 * max(1, math.ceil(minutes / 5)))


def durations(root=None) -> dict:
    """``book/durations.yml``: chapter -> {minutes, measured, how}; empty when there is no file."""
    path = Path(root or ROOT) / DURATIONS
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    bad = [name for name, entry in data.items()
           if not isinstance(entry, dict) or not isinstance(entry.get("minutes"), (int, float))]
    if bad:
        raise runs.RunConfigError(f"{path}: {bad} need a number of minutes ({{minutes: 15.6, measured: DATE}})")
    return data


def _time(minutes: float) -> str:
    """A duration in words, a no-break space between number and unit (a table cell keeps them together)."""
    if minutes < 2:
        return f"{max(1, round(minutes * 60)):.0f}\u00a0s"
    return f"{minutes:.0f}\u00a0min" if minutes < 90 else f"{minutes / 60:.1f}\u00a0h"


def worker_minutes(networks, columns=("train_seconds", "topology_seconds")) -> float:
    """Worker minutes the networks' own records give (the sum of ``columns``, in seconds): what a
    run from an empty cache spends in its tasks, before dividing over workers."""
    return float(sum(networks[column].sum() for column in columns)) / 60


def run_time(name: str, root=None) -> str:
    """A chapter's time to run from an empty cache, in words (see the module's note)."""
    root = Path(root or ROOT)
    entry = durations(root).get(name)
    if entry:
        estimated = str(entry.get("measured")) == "estimated"
        return ("≈\u00a0" if estimated else "") + _time(float(entry["minutes"])) + (" (estimate)" if estimated else "")
    book = runs.load_presets(root).get("book", {}).get(name, {})
    path = root / "book" / "results" / f"{name}.json"
    if "cache_dir" not in book and path.exists():
        seconds = runs._read_results(path).get("seconds")
        if seconds:
            return _time(float(seconds) / 60)
    return "not measured"


def chapters_table(root=None) -> str:
    """The chapters as a Markdown table: link, time to read, time to run from an empty cache
    (their verdicts are the figure's)."""
    root = Path(root or ROOT)
    lines = ["| Chapter | Read | Run |", "| --- | --- | --- |"]
    for name in runs.notebooks(root):
        executed = root / "book" / "chapters" / f"{name}.ipynb"
        if not executed.exists():
            continue
        title = runs._title(executed, name)
        lines.append(f"| {{doc}}`{claims_markdown.cell(title)} </book/chapters/{name}>` | "
                     f"{_time(reading_minutes(executed))} | {run_time(name, root)} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- writing the page
def contents(root=None) -> dict[str, str]:
    """The generated files' text, by file name."""
    figure = verdict_figure(root)
    html = figure.to_html(full_html=False, include_plotlyjs=False, div_id="fig-landing-verdicts")
    return {"landing-findings.md": findings(root) + "\n",
            "landing-figure.html": html + "\n",
            "landing-chapters.md": chapters_table(root) + "\n"}


def write(root=None) -> list[Path]:
    """Write the landing page's generated files into ``book/_generated/``; returns their paths."""
    folder = Path(root or ROOT) / GENERATED
    written = []
    for name, text in contents(root).items():
        runs._write_atomic(folder / name, text)
        written.append(folder / name)
    return written


def problems(root=None) -> list[str]:
    """Generated files that differ from what the results give now (empty: all current)."""
    folder = Path(root or ROOT) / GENERATED
    found = [f"tdnn_utils.landing.HEADLINES quotes claims {missing_headlines(root)} that no results file "
             "records (a claim's id changed?)"] if missing_headlines(root) else []
    for name, text in contents(root).items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            found.append(f"{GENERATED / name} is out of date; run `python -m tdnn_utils.landing`")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdnn_utils.landing", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    parser.add_argument("--root", help="repository root (default: the one holding tdnn_utils)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            found = problems(args.root)
            for problem in found:
                print(problem, file=sys.stderr)
            return 1 if found else 0
        for path in write(args.root):
            print(path)
    except runs.RunConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
