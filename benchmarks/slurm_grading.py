"""What grading through Slurm costs over grading on one machine, and what a course takes.

Writes the eight flawed ResNet-50 submissions of ``benchmarks.flawed_submissions``, grades
them on this machine with one command (one submission per CPU), then starts a one-node Slurm
cluster here (root, Debian's slurm-wlm and munge) and grades the same files with
``python -m resnet_grader slurm --shards N --cpus-per-task 1 --wait`` (each task one CPU, the
merge after them). Prints both wall times, the Slurm path's overhead, and, from the measured
cost per submission on this machine, what a course of --course submissions takes on --nodes
machines like it:

    python -m benchmarks.slurm_grading /tmp/slurm-bench
    python -m benchmarks.slurm_grading /tmp/slurm-bench --shards 3 --course 1000 --nodes 40
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.flawed_submissions import REFERENCE, write_submissions
from benchmarks.machine import describe
from book_tools.repository import ROOT
from book_tools.slurm_cluster import one_node_cluster


def _timed(command, env=None) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{result.stderr}")
    return seconds


def _rows(out: Path) -> dict:
    with open(out / "grades.csv", newline="") as handle:
        return {row["file"]: (row["total"], row["status"]) for row in csv.DictReader(handle)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--cell-timeout", type=float, default=60)
    parser.add_argument("--course", type=int, default=1000, help="submissions in a course")
    parser.add_argument("--nodes", type=int, default=40, help="machines like this one")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    count = len(write_submissions(folder / "submissions"))
    grading = ["--reference", str(REFERENCE), "--cell-timeout", f"{args.cell_timeout:g}"]
    python = [sys.executable, "-m", "resnet_grader"]

    one_machine = _timed([*python, "grade", *grading, "--out", str(folder / "one-machine"),
                          "--regrade", str(folder / "submissions")])
    with one_node_cluster(folder / "cluster") as env:
        slurm = _timed([*python, "slurm", *grading, "--out", str(folder / "slurm"),
                        "--shards", str(args.shards), "--cpus-per-task", "1", "--regrade",
                        "--wait", str(folder / "submissions")], env=env)
    same = _rows(folder / "one-machine") == _rows(folder / "slurm")

    per_submission = one_machine / count   # seconds of one 2-core machine per submission
    per_node = math.ceil(args.course / args.nodes)
    course_minutes = per_node * per_submission * slurm / one_machine / 60
    result = {
        "machine": describe(), "submissions": count, "shards": args.shards,
        "one_machine_seconds": round(one_machine, 1), "slurm_seconds": round(slurm, 1),
        "slurm_overhead_percent": round(100 * (slurm / one_machine - 1), 1),
        "same_grades": same, "seconds_per_submission": round(per_submission, 1),
        "course": args.course, "nodes": args.nodes, "submissions_per_node": per_node,
        "course_minutes": round(course_minutes, 1),
    }
    print(f"{count} submissions: one machine {one_machine:.0f} s, Slurm ({args.shards} "
          f"shards, one CPU each) {slurm:.0f} s, {result['slurm_overhead_percent']:+.1f} %; "
          f"same grades: {same}")
    print(f"{args.course} submissions on {args.nodes} such machines: {per_node} each at "
          f"{per_submission:.1f} s, times the Slurm overhead: about {course_minutes:.0f} min")
    print(json.dumps(result))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
