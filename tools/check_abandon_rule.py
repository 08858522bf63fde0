"""Did Chapter 2's abandon rule change which networks were kept? Replay what it ended.

A preset's Chapter 2 may end an attempt early when its best accuracy at a check is below a
rule's threshold (``abandon_below``). An attempt's training depends only on its seed, so the
rule changes the kept networks only if it ended an attempt that would have reached 100%. This
tool reads the chapter's sweeps from their cache (run the chapter first: ``make runs
PRESET=book ONLY=02``), trains every attempt the rule ended again without it
(:func:`tdnn_utils.attempt_rules.replay_abandoned`), and writes what happened to
``book/results/02_rule_check.json``, which the chapter quotes when it is re-run. When no replay
reaches 100%, every network the chapter kept is bit for bit the one it would have kept without
the rule, so its Betti numbers are the same too.

The book preset sets no rule now: the one it had (``[0.6, 0.84, 0.92]``, from a 60-attempt
pilot) was checked here on 2026-12-05 and had cut 12 successes; the committed file is that
check. A preset without a rule leaves the file as it is.

Run: ``python tools/check_abandon_rule.py [--preset book]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import yaml

from tdnn_utils import simplification
from tdnn_utils.attempt_rules import replay_abandoned

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="book")
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "results" / "02_rule_check.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    params = yaml.safe_load((ROOT / "notebooks" / "presets.yml").read_text())[args.preset]["02_activation_functions"]
    setups = {name: simplification.Setup.from_mapping(name, s) for name, s in params["problems"].items()}
    ruled = {name: s for name, s in setups.items() if s.abandon_below}
    if not ruled:
        raise SystemExit(f"the {args.preset} preset's Chapter 2 sets no abandon rule: nothing to check "
                         f"({args.out} is left as it is)")
    cache = (ROOT / "notebooks" / params["cache_dir"]).resolve()
    started = time.perf_counter()
    study = simplification.run_study(ruled, cache_dir=cache, n_jobs=1, progress=False)
    if study.computed:
        raise SystemExit(f"{study.computed} network(s) were not in {cache}: run the chapter first")
    hidden = {s.architecture: s.hidden for s in ruled.values()}
    rows = []
    for name, setup in ruled.items():
        attempts = study.attempts[study.attempts["problem"] == name]
        replay = replay_abandoned(attempts, {name: study.problems[name]}, setup.protocol(), hidden)
        rows += replay.to_dict("records")
        print(f"{name}: {len(replay)} attempts the rule ended; {int(replay['replay_perfect'].sum())} would "
              f"have reached 100%", flush=True)
    summary = {"preset": args.preset, "rule": {n: list(s.abandon_below) for n, s in ruled.items()},
               "attempts": int(len(study.attempts)), "ended_by_rule": len(rows),
               "would_have_reached_100": int(sum(r["replay_perfect"] for r in rows)),
               "steps_saved": int(sum(r["replay_steps"] - r["steps"] for r in rows)),
               "seconds": round(time.perf_counter() - started), "replays": rows}
    args.out.write_text(json.dumps(summary, indent=1, default=int) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
