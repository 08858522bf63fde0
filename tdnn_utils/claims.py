"""The claims page: every chapter's verdicts, from the results files its runs wrote.

:func:`page` turns the chapters' results (``book/results/*.json``, read by
:func:`tdnn_utils.runs.claims_page`) into MyST Markdown for ``book/claims.md``: the rules
(:data:`tdnn_utils.verdicts.RULES`), a summary grid of verdict counts (chapter x verdict), then
per chapter a card per claim (a verdict badge, linked to the claim's section in its chapter)
and per claim its scope, its delta and where delta comes from, the family its comparisons
were corrected over, a table of its comparisons (effect, interval, delta, both p-values,
status) and the evidence folded in a dropdown. Claims recorded before the size rules (id,
claim, verdict, evidence only) still appear, with their evidence.
"""

from __future__ import annotations

import math
from datetime import datetime

from .verdicts import CONFIDENCE, RULES, VERDICTS, significant

#: The sphinx-design badge of each verdict (a comparison's status uses the same).
BADGES = {"confirmed": "bdg-success", "direction only": "bdg-info", "partly": "bdg-warning",
          "not reproduced": "bdg-danger", "inconclusive": "bdg-muted", "untestable": "bdg-muted-line"}


#: Said of a chapter whose claims were judged before the size rules (no family recorded).
EARLIER_RULES = ("These verdicts were recorded under the book's earlier rules: a comparison supported a claim "
                 "when it was significant in the claimed direction (Holm's correction within the claim), "
                 "whatever its size. The chapter moves to the rules above at its next run.")


def badge(verdict: str) -> str:
    """The verdict's badge, as MyST (``{bdg-success}`confirmed```)."""
    if verdict not in BADGES:
        raise ValueError(f"verdict {verdict!r} is not one of {VERDICTS}")
    return f"{{{BADGES[verdict]}}}`{verdict}`"


def readable_date(stamp) -> str:
    """``2026-11-21T15:51:33+00:00`` -> ``21 November 2026``; '' for nothing, unchanged if unreadable."""
    if not stamp:
        return ""
    try:
        day = datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    return f"{day.day} {day:%B %Y}"


def cell(text) -> str:
    """Text fit for one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _number(value, scale=1.0, unit="", sign="") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return significant(value * scale, 3, sign) + unit


def _p(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2g}"


def comparison_table(claim: dict) -> list[str]:
    """The Markdown table of a claim's judged comparisons (:func:`tdnn_utils.verdicts.judge` rows)."""
    scale, unit = float(claim.get("scale") or 1.0), str(claim.get("unit") or "")
    lines = [f"| comparison | n | effect ({CONFIDENCE:.0%} interval) | δ | p vs δ | p vs no effect | status |",
             "|---|---|---|---|---|---|---|"]
    for row in claim.get("comparisons") or []:
        status = row.get("status", "")
        if status == "untestable":
            effect, note = "", f"({row.get('reason', '')})"
        else:
            effect = (f"{_number(row.get('effect'), scale, unit, '+')} ({_number(row.get('low'), scale)} to "
                      f"{_number(row.get('high'), scale)})")
            note = "(reversed)" if row.get("reversed") else ""
        lines.append(
            f"| {cell(row.get('comparison', ''))} | {row.get('n', '')} | {cell(effect)} | "
            f"{_number(row.get('delta'), scale, unit)} | {_p(row.get('p_size_claim'))} · {_p(row.get('p_size_family'))} | "
            f"{_p(row.get('p_direction_claim'))} · {_p(row.get('p_direction_family'))} | "
            f"{badge(status) if status in BADGES else cell(status)} {cell(note)} |".replace("  |", " |"))
    return lines


def tally(comparisons) -> str:
    """A claim's comparisons in one phrase: "12 comparisons: 9 not reproduced (9 reversed), 3 inconclusive"."""
    statuses = [row.get("status", "") for row in comparisons]
    turned = sum(bool(row.get("reversed")) for row in comparisons if row.get("status") == "not reproduced")
    parts = [f"{statuses.count(v)} {v}" + (f" ({turned} reversed)" if v == "not reproduced" and turned else "")
             for v in VERDICTS if statuses.count(v)]
    return f"{len(statuses)} comparison{'s' if len(statuses) != 1 else ''}: " + ", ".join(parts)


def what_we_found(claims) -> str:
    """A chapter's "What we found" (MyST Markdown) from its recorded claims (:func:`tdnn_utils.runs.record_claim`).

    One line per claim: the claim, its verdict badge and its comparisons' statuses
    (:func:`tally`); then, folded in a dropdown, each claim's evidence and its table of
    comparisons (:func:`comparison_table`).
    """
    claims = list(claims)
    lines = []
    for claim in claims:
        verdict = claim.get("verdict", "")
        head = f"- **{cell(claim.get('claim', ''))}:** {badge(verdict) if verdict in BADGES else cell(verdict)}"
        lines.append(head + (f" ({tally(claim['comparisons'])})." if claim.get("comparisons") else "."))
    lines += ["", "::::{dropdown} The evidence for each claim", ""]
    for claim in claims:
        lines += [f"**{cell(claim.get('claim', ''))}.** {claim.get('evidence', '')}", ""]
        if claim.get("comparisons"):
            lines += comparison_table(claim) + [""]
    return "\n".join(lines + ["::::"])


def counts(claims) -> dict[str, int]:
    """How many claims got each verdict, in :data:`~tdnn_utils.verdicts.VERDICTS` order (zeros kept)."""
    found = [c.get("verdict") for c in claims]
    return {v: found.count(v) for v in VERDICTS}


def _summary(chapters) -> list[str]:
    """The summary table: a row per verdict some claim has (a verdict no claim has is left out),
    a column per chapter, headed by its number and linked to it, so that it fits a phone's column.
    The chapters' names head their sections below."""
    found = [counts(chapter["data"].get("claims") or []) for chapter in chapters]
    shown = [v for v in VERDICTS if any(f[v] for f in found)] or list(VERDICTS)
    heads = [f"{{doc}}`{_chapter_number(chapter['name'])} <chapters/{chapter['name']}>`" for chapter in chapters]
    lines = ["## Summary", "", "Claims per verdict in each chapter (the columns link to the chapters).", "",
             "| verdict | " + " | ".join(heads) + " | all |", "|---|" + "---|" * (len(chapters) + 1)]
    for verdict in shown:
        lines.append(f"| {badge(verdict)} | " + " | ".join(str(f[verdict] or "") for f in found)
                     + f" | **{sum(f[verdict] for f in found)}** |")
    lines.append("| claims | " + " | ".join(str(sum(f.values())) for f in found)
                 + f" | **{sum(sum(f.values()) for f in found)}** |")
    return lines + [""]


def _chapter_number(name: str) -> str:
    """``"02_activation_functions"`` -> ``"Ch. 2"`` (the name itself when it has no number)."""
    head = name.split("_")[0]
    return f"Ch.\u00a0{int(head)}" if head.isdigit() else name


def _card(claim: dict, name: str) -> list[str]:
    section = claim.get("section")
    link = [f":link: {section}", ":link-type: ref"] if section else [f":link: chapters/{name}", ":link-type: doc"]
    return [f":::{{grid-item-card}} {cell(claim.get('claim', claim.get('id', '')))}", *link, "",
            badge(claim["verdict"]) if claim.get("verdict") in BADGES else cell(claim.get("verdict", "")), ":::"]


def _claim_section(claim: dict, name: str) -> list[str]:
    lines = [f"(claim-{claim.get('id', '')})=", f"### {cell(claim.get('claim', claim.get('id', '')))}", ""]
    verdict = claim.get("verdict", "")
    where = (f"{{ref}}`its section in the chapter <{claim['section']}>`" if claim.get("section")
             else f"{{doc}}`the chapter <chapters/{name}>`")
    lines += [f"{badge(verdict) if verdict in BADGES else cell(verdict)} · see {where}.", ""]
    facts = [("Scope", claim.get("scope")), ("Size claimed (δ)", claim.get("delta")),
             ("Where δ comes from", claim.get("delta_source")), ("Corrected over", claim.get("family"))]
    lines += [f"- **{label}:** {text}" for label, text in facts if text] + ([""] if any(t for _, t in facts) else [])
    comparisons = claim.get("comparisons") or []
    if comparisons:
        lines += [f"::::{{dropdown}} {tally(comparisons)}",
                  *([":open:"] if len(comparisons) <= 3 else []), "", *comparison_table(claim), "::::", ""]
    if claim.get("evidence"):
        lines += ["::::{dropdown} Evidence", str(claim["evidence"]).strip(), "::::", ""]
    return lines


def _chapter(chapter: dict) -> list[str]:
    data, name = chapter["data"], chapter["name"]
    lines = [f"## {chapter['title']}", ""]
    run = ", ".join(part for part in (f"`{data['preset']}` preset" if data.get("preset") else "",
                                      readable_date(data.get("written"))) if part)
    lines += [f"Chapter: {{doc}}`chapters/{name}`" + (f" (run: {run})." if run else "."), ""]
    claims = data.get("claims") or []
    if not claims:
        return lines + ["This chapter recorded no claims.", ""]
    families = list(dict.fromkeys(c["family"] for c in claims if c.get("family")))
    if families:
        lines += ["Families of comparisons (Holm's correction runs over each): " + "; ".join(families)
                  + ". In the tables, each p-value cell gives the value within the claim, then over the family.", ""]
    else:
        lines += [EARLIER_RULES, ""]
    lines += ["::::{grid} 1 2 2 2", ":gutter: 2", ""]
    for claim in claims:
        lines += _card(claim, name) + [""]
    lines += ["::::", ""]
    for claim in claims:
        lines += _claim_section(claim, name)
    return lines


def page(chapters) -> str:
    """The claims page (MyST Markdown) from ``chapters``: dicts with ``name`` (``NN_x``),
    ``title`` and ``data`` (the chapter's results: ``claims``, ``preset``, ``written``)."""
    chapters = list(chapters)
    lines = ["# Claims and verdicts", "",
             "Each chapter tests claims from the papers it reproduces and gives each a verdict. This page is "
             "generated from the results files the chapter runs wrote (`book/results/*.json`): first the rules, "
             "then how many claims got each verdict, then every claim with its comparisons.", "",
             "## How a verdict is reached", "", RULES.strip(), ""]
    if not chapters:
        return "\n".join(lines + ["No results yet: run `make runs PRESET=book` to execute the chapters.", ""])
    lines += _summary(chapters)
    for chapter in chapters:
        lines += _chapter(chapter)
    return "\n".join(lines)
