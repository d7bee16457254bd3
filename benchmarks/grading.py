"""Time the grader on a batch of submissions, with one kernel at a time and with several.

The batch is made from a reference notebook: the solution itself (full marks), the released
exercise (nothing), and for each graded part a submission with only that part left as the
exercise's stub; repeated until there are --count submissions.

    python -m benchmarks.grading                                   # exercises 1, 8 submissions
    python -m benchmarks.grading --reference tests/grading_fixtures/reference.ipynb --count 12
    python -m benchmarks.grading --jobs 1 2 --json benchmarks/results/grading.json
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from book_tools.repository import ROOT

from book_tools.exercises import make_exercise, strip_solution
from resnet_grader.conventions import marker_name

from benchmarks.machine import describe


def batch(reference: Path, folder: Path, count: int) -> list[Path]:
    solution = nbformat.read(reference, as_version=4)
    variants = [("solution", solution), ("exercise", make_exercise(solution))]
    for index, cell in enumerate(solution.cells):
        name = marker_name(cell.source) if cell.cell_type == "code" else None
        if name:
            broken = nbformat.read(reference, as_version=4)
            broken.cells[index].source = strip_solution(cell.source)
            variants.append((f"without_{name}", broken))
    paths = []
    for number in range(count):
        label, nb = variants[number % len(variants)]
        path = folder / f"{number:03d}_{label}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path,
                        default=ROOT / "solutions" / "01_plain_block.ipynb")
    parser.add_argument("--count", type=int, default=8, help="submissions in the batch")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = {"machine": describe(), "reference": str(args.reference), "count": args.count,
               "runs": []}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "subs").mkdir()
        batch(args.reference, work / "subs", args.count)
        for jobs in args.jobs:
            out = work / f"out-{jobs}"
            start = time.perf_counter()
            run = subprocess.run([sys.executable, "-m", "resnet_grader", "--reference",
                                  str(args.reference), "--out", str(out), "--jobs", str(jobs),
                                  str(work / "subs")], capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if run.returncode != 0:
                print(run.stdout, run.stderr, file=sys.stderr)
                return run.returncode
            with open(out / "grades.csv", newline="") as handle:
                statuses = [row["status"] for row in csv.DictReader(handle)]
            # the command prints "[3/8, 1 min 05 s elapsed, ...] name: 10 / 10 (graded, 35 s)"
            each = {m[1]: int(m[2]) for m in re.finditer(
                r"^\[[^]]*\] (\S+): .*\(\S+, (\d+) s\)$", run.stdout, re.M)}
            entry = {"jobs": jobs, "seconds": round(seconds, 1),
                     "seconds_per_submission": round(seconds / args.count, 2),
                     "graded": statuses.count("graded"), "rows": len(statuses),
                     "each": each}
            results["runs"].append(entry)
            slowest = max(each, key=each.get) if each else None
            print(f"jobs={jobs}: {args.count} submissions in {seconds:.1f} s "
                  f"({seconds / args.count:.1f} s each; {entry['graded']} rows 'graded')"
                  + (f"; slowest {slowest}, {each[slowest]} s in its kernel" if slowest else ""))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
