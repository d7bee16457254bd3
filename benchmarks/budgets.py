"""Measure the book's two budgets on this machine, from an installed environment.

1. the whole test suite (`python -m pytest`), budget 20 minutes;
2. the book build in the quick profile from a cold cache, budget 10 minutes.

Both run in a fresh clone of the repository's committed HEAD, as CI does, so no execution
cache, build folder or Colab-like environment from earlier runs helps them. (The clone imports
`resnet_book` from wherever it is installed, normally this checkout in editable mode.)

    python -m benchmarks.budgets            # both
    python -m benchmarks.budgets --only build
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import describe

from book_tools.repository import ROOT
BUDGETS_S = {"tests": 20 * 60, "build": 10 * 60}


def _run(command, cwd, log):
    env = {**os.environ, "RESNET_BOOK_PROFILE": "quick"}
    start = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.call(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    return code, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(BUDGETS_S))
    parser.add_argument("--keep", action="store_true", help="keep the clone and its logs")
    args = parser.parse_args(argv)
    jupyter_book = str(Path(sys.executable).parent / "jupyter-book")
    work = Path(tempfile.mkdtemp(prefix="resnet-book-budgets-"))
    clone = work / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    results = {"machine": describe(), "commit": subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True,
        text=True).stdout.strip()}
    steps = {
        "tests": [sys.executable, "-m", "pytest", "-q"],
        "build": [jupyter_book, "build", ".", "-W", "-n", "--keep-going"],
    }
    for name, command in steps.items():
        if args.only and name != args.only:
            continue
        shutil.rmtree(clone / "_build", ignore_errors=True)  # a cold execution cache
        code, seconds = _run(command, clone, work / f"{name}.log")
        results[name] = {"seconds": round(seconds, 1), "exit_code": code,
                         "budget_seconds": BUDGETS_S[name], "commit": results["commit"]}
        verdict = "within" if seconds <= BUDGETS_S[name] else "OVER"
        print(f"{name}: {seconds / 60:.1f} min (exit {code}), {verdict} the budget of "
              f"{BUDGETS_S[name] // 60} min; log: {work / f'{name}.log'}", flush=True)
    print(f"machine: {results['machine']}; commit {results['commit']}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    # keep the figures of a step not measured this time (--only), each with its own commit
    path = out / "budgets.json"
    earlier = json.loads(path.read_text()) if path.exists() else {}
    merged = {**{k: v for k, v in earlier.items() if k in BUDGETS_S}, **results}
    path.write_text(json.dumps(merged, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(clone, ignore_errors=True)
    failed = any(isinstance(r, dict) and (r["exit_code"] != 0 or r["seconds"] > r["budget_seconds"])
                 for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
