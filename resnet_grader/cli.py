"""Command line of the grader: ``python -m resnet_grader``."""
from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

from .grader import Grade, Settings, grade_submission, load_reference, self_check, sha256
from .assignment import NotGradable, ReferenceError_
from .report import Gradebook, atomic_write, feedback, feedback_path, log_path, points
from .runner import Isolation, stop_all
from .sandbox import Limits, SandboxUnavailable, check_available
from .shards import (Claims, ShardError, graded_elsewhere, merge, parse_shard,
                     run_name, sharing_order)

USAGE = """\
python -m resnet_grader [grade] --reference solutions/X.ipynb --out DIR [--shard K/N] SUBMISSION...
       python -m resnet_grader merge --out DIR [SUBMISSION...]
       python -m resnet_grader slurm --reference R --out DIR --shards N [--wait] SUBMISSION...
       python -m resnet_grader describe --reference solutions/X.ipynb
       python -m resnet_grader self-check MY_NOTEBOOK.ipynb [--out DIR]
(the older forms --describe and --self-check still work)"""


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m resnet_grader", usage=USAGE,
        description="Grade notebooks against a reference notebook: each submission's answer "
                    "cells are swapped into the reference, which runs under nbval in its own "
                    "kernel. Writes DIR/grades.csv and DIR/feedback/<submission>.md.")
    parser.add_argument("submissions", nargs="*", metavar="SUBMISSION",
                        help="a notebook, or a folder searched for *.ipynb")
    parser.add_argument("--reference", type=Path, help="the reference (solution) notebook")
    parser.add_argument("--out", type=Path, help="folder for grades.csv and feedback/")
    parser.add_argument("--shard", metavar="K/N",
                        help="grade only shard K of N (0 to N-1; split by submission name) into "
                             "DIR/shards/K-of-N/; `auto` reads a Slurm job array's task, "
                             "`auto/N` a Slurm or Kubernetes Indexed Job index with N shards; "
                             "join the shards with `merge`")
    parser.add_argument("--share-work", metavar="RUN",
                        help="with --shard: claim each submission before grading it, and once "
                             "this shard is done grade the other shards' unclaimed ones, so no "
                             "task idles while another has a queue (needs an --out that all "
                             "shards share). RUN names this grading run, the same in every "
                             "shard; `auto` takes the Slurm array job's id")
    parser.add_argument("--regrade", action="store_true",
                        help="grade again the submissions grades.csv already holds")
    parser.add_argument("--jobs", type=int, default=None,
                        help="submissions graded at once (default: the CPUs this process may "
                             "use: its affinity, and $SLURM_CPUS_PER_TASK under Slurm)")
    parser.add_argument("--cell-timeout", type=float, default=120.0,
                        help="seconds one cell may run (default 120)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds one submission may take in all (default 900)")
    parser.add_argument("--describe", action="store_true",
                        help="print the reference's parts, points and checks, then stop")
    parser.add_argument("--self-check", action="store_true",
                        help="check one notebook against the expected outputs its visible "
                             "checks store (a released exercise); no reference, no hidden checks")
    limits = parser.add_argument_group(
        "sandbox", "Each notebook runs in a bubblewrap sandbox: no network, nothing writable "
                   "but its scratch folder, nothing that outlives it, and these limits.")
    default = Limits()
    limits.add_argument("--memory-limit", type=int, default=None, metavar="MB",
                        help=f"memory one run may use (default {default.memory_mb}, or this "
                             "process's share of its Slurm allocation or cgroup limit, "
                             "divided among --jobs, where that is less)")
    limits.add_argument("--process-limit", type=int, default=default.tasks, metavar="N",
                        help="processes and threads one run may have at once "
                             f"(default {default.tasks})")
    limits.add_argument("--output-limit", type=int, default=default.output_mb, metavar="MB",
                        help="what one run may write to files, and to its standard output "
                             f"(default {default.output_mb})")
    limits.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run the submissions' code without a sandbox, with your own rights "
                             "(network, your files, processes that outlive the grader): only "
                             "where bubblewrap cannot run, and for code you trust")
    return parser


def collect(paths, out: Path | None, parser) -> list[tuple[str, Path]]:
    """(name, path) of every submission: a file as given, a folder's *.ipynb by relative path."""
    found: list[tuple[str, Path]] = []
    out = out.resolve() if out else None
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for notebook in sorted(path.rglob("*.ipynb")):
                relative = notebook.relative_to(path)
                if any(p.startswith(".") for p in relative.parts):
                    continue  # .ipynb_checkpoints and other hidden folders
                if out and out in notebook.resolve().parents:
                    continue
                found.append((relative.as_posix(), notebook))
        elif path.is_file():
            found.append((path.name, path))
        else:
            parser.error(f"no such submission file or folder: {given}")
    names = [name for name, _ in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        parser.error(f"two submissions share the name {', '.join(twice)}: give their folder "
                     "instead, or rename them")
    if not found:
        parser.error("no submissions found (no .ipynb files in the folders given)")
    return found


def _writable(out: Path, parser) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        parser.error(f"--out {out}: cannot write there ({error.strerror or error})")


def allocated_memory_mb() -> int | None:
    """The memory this process may use in all, in MB, where something limits it: a Slurm
    task's allocation (``SLURM_MEM_PER_NODE``, or ``SLURM_MEM_PER_CPU`` times its CPUs) or the
    cgroup v2 limit of its own cgroup; None where nothing does."""
    per_node = os.environ.get("SLURM_MEM_PER_NODE", "").strip()
    per_cpu = os.environ.get("SLURM_MEM_PER_CPU", "").strip()
    found = []
    if per_node.isdigit():
        found.append(int(per_node))
    elif per_cpu.isdigit():
        found.append(int(per_cpu) * available_cpus())
    limit = _cgroup_memory_limit()
    if limit is not None:
        found.append(limit // 2**20)
    return min(found) if found else None


def _cgroup_memory_limit() -> int | None:
    """Bytes this process's cgroup may use (v2 memory.max, v1 memory.limit_in_bytes), or
    None where it has no limit below the machine's memory."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidate = Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.max"
        elif "memory" in controllers.split(","):
            candidate = Path("/sys/fs/cgroup/memory") / path.lstrip("/") / "memory.limit_in_bytes"
        else:
            continue
        try:
            value = candidate.read_text().strip()
        except OSError:
            continue
        if value.isdigit() and int(value) < total:
            return int(value)
    return None


def memory_limit_mb(given: int | None, jobs: int) -> int:
    """--memory-limit as given, else the default or each run's share of the allocation."""
    if given is not None:
        return given
    allocated = allocated_memory_mb()
    default = Limits().memory_mb
    return default if allocated is None else max(1, min(default, allocated // max(1, jobs)))


def _isolation(args, parser, hidden, *, required: bool = True, jobs: int = 1) -> Isolation:
    """The sandbox the runs get, hiding ``hidden``. Where none can be made, refuses to go on
    unless the instructor passed --unsafe-no-sandbox, or the sandbox is not ``required``."""
    try:
        limits = Limits(memory_mb=memory_limit_mb(args.memory_limit, jobs),
                        tasks=args.process_limit, output_mb=args.output_limit)
    except ValueError:
        parser.error("--memory-limit, --process-limit and --output-limit must be at least 1")
    if args.unsafe_no_sandbox:
        print("warning: --unsafe-no-sandbox: the submissions' code runs with your rights, "
              "unsandboxed", file=sys.stderr)
        return Isolation(sandboxed=False, limits=limits)
    try:
        check_available()
    except SandboxUnavailable as error:
        if required:
            parser.exit(2, f"python -m resnet_grader: not grading: {error}\n")
        print(f"note: running without a sandbox: {error}", file=sys.stderr)
        return Isolation(sandboxed=False, limits=limits)
    return Isolation(sandboxed=True, hidden=tuple(Path(p).resolve() for p in hidden),
                     limits=limits)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress(done: int, total: int, started: float, now: float | None = None) -> str:
    """Elapsed time and, from the pace so far, about how long the rest will take."""
    elapsed = (time.monotonic() if now is None else now) - started
    if done >= total:
        return f"{_duration(elapsed)} elapsed"
    return f"{_duration(elapsed)} elapsed, about {_duration(elapsed / done * (total - done))} left"


def available_cpus() -> int:
    """The CPUs this grader may use: those its affinity allows (``taskset``, a cgroup cpuset,
    a Slurm task), and no more than ``$SLURM_CPUS_PER_TASK`` where Slurm sets it. Not
    ``os.cpu_count()``, which counts the whole machine."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "").strip()
    if slurm.isdigit() and int(slurm) > 0:
        cpus = min(cpus, int(slurm))
    return max(1, cpus)


def _settings(args, jobs: int, isolation: Isolation) -> Settings:
    return Settings(cell_timeout=args.cell_timeout, total_timeout=args.timeout,
                    threads=max(1, available_cpus() // max(1, jobs)), isolation=isolation)


def describe(assignment) -> str:
    """The parts, their points and their checks: what an instructor checks a reference by."""
    lines = []
    for part in assignment.parts.values():
        lines.append(f"{part.name}: {points(part.points)} points")
        for check in part.checks:
            hints = f" [{len(check.hints)} hint(s)]" if check.hints else ""
            shared = [n for n in check.parts if n != part.name]
            also = f" (shared with {', '.join(shared)})" if shared else ""
            lines.append(f"  {check.title}{hints}{also}")
    if assignment.skipped:
        lines.append(f"skipped when grading: {len(assignment.skipped)} code cell(s), numbers "
                     + ", ".join(str(i + 1) for i in assignment.skipped) + " of the code cells")
    lines.append(f"total: {points(assignment.max_points)} points")
    return "\n".join(lines)


def _run_self_check(args, parser) -> int:
    if args.reference:
        parser.error("--self-check takes no --reference: it checks a notebook against itself")
    if len(args.submissions) != 1 or not Path(args.submissions[0]).is_file():
        parser.error("--self-check takes exactly one notebook file")
    if args.out:
        _writable(args.out, parser)
    path = Path(args.submissions[0])
    # A student's own notebook is not untrusted code to them: sandboxed where bubblewrap is
    # there, else run with their rights, as Jupyter runs it.
    isolation = _isolation(args, parser, [path, *([args.out] if args.out else [])],
                           required=False)
    try:
        grade, assignment = self_check(path, _settings(args, 1, isolation))
    except NotGradable as error:
        parser.error(f"{path}: {error.message}")
    except ReferenceError_ as error:
        parser.error(f"{path}: {error}")
    text = feedback(grade, assignment.max_points, title="Self-check (visible checks only)")
    print(text)
    if args.out:
        atomic_write(feedback_path(args.out, grade.file), text)
    return 0


def _merge_main(argv) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resnet_grader merge",
        description="Join the gradebooks and feedback that `--shard K/N` gradings wrote under "
                    "DIR/shards/ into DIR/grades.csv and DIR/feedback/: one row per "
                    "submission. Refuses shards graded against another reference; with "
                    "SUBMISSIONs, names every one that no shard graded and exits 1.")
    parser.add_argument("submissions", nargs="*", metavar="SUBMISSION",
                        help="the notebooks (or folders) that should all have a row")
    parser.add_argument("--out", type=Path, required=True,
                        help="the --out folder the shards were graded into")
    args = parser.parse_args(argv)
    expected = ([name for name, _ in collect(args.submissions, args.out, parser)]
                if args.submissions else None)
    try:
        result = merge(args.out, expected)
    except ShardError as error:
        parser.exit(2, f"python -m resnet_grader merge: {error}\n")
    print(f"merged {len(result.sources)} gradebook(s): {result.rows} row(s) in "
          f"{args.out / 'grades.csv'}, feedback in {args.out / 'feedback'}")
    if result.missing:
        print(f"{len(result.missing)} submission(s) no shard graded: "
              + ", ".join(result.missing), file=sys.stderr)
        return 1
    return 0


def _slurm_main(argv) -> int:
    from . import slurm

    parser = argparse.ArgumentParser(
        prog="python -m resnet_grader slurm",
        description="Grade SUBMISSIONs as a Slurm job array of --shards tasks, each grading "
                    "its shard in its sandbox, then merge them into DIR/grades.csv once all "
                    "have ended. Writes the batch scripts into DIR/slurm/, submits them and "
                    "prints the job ids. Run it again to grade only what is missing.")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shards", type=int, required=True, help="array tasks (shards)")
    parser.add_argument("--wait", action="store_true",
                        help="wait for the jobs; exit 1 if a submission was left ungraded")
    slurm_options = parser.add_argument_group("Slurm, per task")
    slurm_options.add_argument("--partition")
    slurm_options.add_argument("--time", help="time limit per task, e.g. 02:00:00")
    slurm_options.add_argument("--cpus-per-task", type=int)
    slurm_options.add_argument("--mem", help="memory per task, e.g. 8G")
    slurm_options.add_argument("--sbatch-option", action="append", default=[], metavar="OPT",
                               help="any other sbatch option, e.g. --sbatch-option=--account=x "
                                    "(repeat for more)")
    passed = parser.add_argument_group("grading, passed on to each task")
    for flag, kind in (("--cell-timeout", float), ("--timeout", float), ("--jobs", int),
                       ("--memory-limit", int), ("--process-limit", int),
                       ("--output-limit", int)):
        passed.add_argument(flag, type=kind)
    passed.add_argument("--regrade", action="store_true")
    args = parser.parse_args(argv)
    if args.shards < 1:
        parser.error("--shards must be at least 1")
    if not args.reference.is_file():
        parser.error(f"--reference {args.reference}: no such file")
    try:
        load_reference(args.reference)
    except (NotGradable, ReferenceError_) as error:
        parser.error(f"--reference {args.reference}: {error}")
    _writable(args.out, parser)
    expected = [name for name, _ in collect(args.submissions, args.out, parser)]
    grade_arguments = ["--reference", str(args.reference.resolve())]
    for flag in ("cell_timeout", "timeout", "jobs", "memory_limit", "process_limit",
                 "output_limit"):
        value = getattr(args, flag)
        if value is not None:
            grade_arguments += [f"--{flag.replace('_', '-')}", f"{value:g}"
                                if isinstance(value, float) else str(value)]
    if args.regrade:
        grade_arguments.append("--regrade")
    sbatch_options = [f"--{name.replace('_', '-')}={getattr(args, name)}"
                      for name in ("partition", "time", "cpus_per_task", "mem")
                      if getattr(args, name) is not None] + args.sbatch_option
    grade_script, merge_script = slurm.write_scripts(
        out=args.out, shards=args.shards, grade_arguments=grade_arguments,
        submissions=[str(Path(s).resolve()) for s in args.submissions],
        sbatch_options=sbatch_options)
    print(f"batch scripts: {grade_script}, {merge_script}")
    try:
        array, merge_job = slurm.submit(grade_script, merge_script)
    except slurm.SlurmError as error:
        parser.exit(2, f"python -m resnet_grader slurm: {error}\n")
    print(f"submitted: grading array job {array} ({args.shards} tasks), merge job {merge_job} "
          f"after it; logs in {args.out.resolve() / 'slurm' / 'logs'}", flush=True)
    if not args.wait:
        return 0
    slurm.wait_for([array, merge_job])
    missing = slurm.check_merged(args.out, expected)
    if missing:
        print(f"{len(missing)} of {len(expected)} submission(s) left ungraded: "
              + ", ".join(missing) + "; run the same command again to grade them",
              file=sys.stderr)
        return 1
    print(f"all {len(expected)} submission(s) graded: {args.out / 'grades.csv'}")
    return 0


SUBCOMMANDS = {"grade": [], "describe": ["--describe"], "self-check": ["--self-check"]}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "merge":
        return _merge_main(argv[1:])
    if argv and argv[0] == "slurm":
        return _slurm_main(argv[1:])
    if argv and argv[0] in SUBCOMMANDS:
        argv = SUBCOMMANDS[argv[0]] + argv[1:]
    parser = _parser()
    args = parser.parse_args(argv)
    if args.self_check:
        return _run_self_check(args, parser)
    if args.describe:
        if args.reference is None or not args.reference.is_file():
            parser.error("--describe needs --reference with an existing notebook")
        try:
            print(describe(load_reference(args.reference)))
        except (NotGradable, ReferenceError_) as error:
            parser.error(f"--reference {args.reference}: {error}")
        return 0
    if args.reference is None or args.out is None:
        parser.error("--reference and --out are required (or use --self-check)")
    if not args.submissions:
        parser.error("no SUBMISSION given")
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.cell_timeout <= 0 or args.timeout <= 0:
        parser.error("timeouts must be positive")
    if not args.reference.is_file():
        parser.error(f"--reference {args.reference}: no such file")
    try:
        assignment = load_reference(args.reference)
    except NotGradable as error:
        parser.error(f"--reference {args.reference}: {error.message}")
    except ReferenceError_ as error:
        parser.error(f"--reference {args.reference}: {error}")
    shard = None
    if args.shard:
        try:
            shard = parse_shard(args.shard)
        except ShardError as error:
            parser.error(str(error))
    elif args.share_work:
        parser.error("--share-work shares the work of shards: give --shard too")
    _writable(args.out, parser)
    submissions = collect(args.submissions, args.out, parser)
    others = []
    if shard:
        others = [(name, path) for name, path in submissions if not shard.holds(name)]
        submissions = [(name, path) for name, path in submissions if shard.holds(name)]
        print(f"shard {shard.index} of {shard.count} (0 to {shard.count - 1}): "
              f"{len(submissions)} submission(s), into {shard.out(args.out)}", flush=True)
    out = shard.out(args.out) if shard else args.out
    reference_sha256 = sha256(args.reference)
    gradebook = Gradebook(out / "grades.csv", assignment.parts, assignment.max_points,
                          reference_sha256)
    try:
        gradebook.load()
    except ValueError as error:
        parser.error(str(error))
    elsewhere = graded_elsewhere(args.out, out, reference_sha256) if shard else {}

    def is_done(name: str, path: Path) -> bool:
        digest = sha256(path)
        return gradebook.is_done(name, digest) or elsewhere.get(name) == digest

    claims = None
    if args.share_work:
        try:
            claims = Claims(args.out, run_name(args.share_work), shard)
        except ShardError as error:
            parser.error(str(error))
    todo = []
    for name, path in submissions:
        if not args.regrade and is_done(name, path):
            print(f"{name}: already graded, skipped (--regrade grades it again)")
        else:
            todo.append((name, path))
    # other shards' submissions this task may help with: those not graded yet
    help_with = [(name, path) for name, path in others
                 if claims and (args.regrade or not is_done(name, path))]
    queued = len(todo) + len(help_with)
    jobs = max(1, min(args.jobs or available_cpus(), queued or 1))
    isolation = (_isolation(args, parser, [args.reference, args.out, *args.submissions],
                            jobs=jobs) if queued else Isolation())
    settings = _settings(args, jobs, isolation)
    if queued:
        also = (f", then up to {len(help_with)} of other shards not yet claimed"
                if help_with else "")
        print(f"grading {len(todo)} submission(s){also}, {jobs} at a time, {settings.threads} "
              f"thread(s) each ({available_cpus()} CPU(s) available), memory limit "
              f"{isolation.limits.memory_mb} MB each", flush=True)
    lock = threading.Lock()

    def grade_one(name: str, path: Path) -> Grade:
        graded_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            grade = grade_submission(assignment, path, name, settings)
        except Exception as error:  # never let one submission stop the batch
            grade = Grade(file=name, status="error", submission_sha256=sha256(path),
                          message=f"the grader failed on this file ({type(error).__name__})")
            grade.log = traceback.format_exc()
        grade.host, grade.graded_at = socket.gethostname(), graded_at
        return grade

    started = time.monotonic()
    done, helped, taken = [], [], []
    stopping = threading.Event()
    plan = iter(sharing_order(todo, help_with))

    def next_submission():
        with lock:
            for (name, path), own in plan:
                if stopping.is_set():
                    return None
                if claims is None or claims.take(name):
                    return name, path, own
                if own:
                    taken.append(name)
            return None

    def record(grade: Grade, own: bool) -> None:
        with lock:
            atomic_write(feedback_path(out, grade.file),
                         feedback(grade, assignment.max_points))
            gradebook.add(grade)
            gradebook.save()
            if own:
                done.append(grade.file)
                mine = len(todo) - len(taken)   # less what other tasks took from this shard
                where = f"{len(done)}/{mine}, {progress(len(done), mine, started)}"
            else:
                helped.append(grade.file)
                where = f"another shard's, {len(helped)} so far"
            print(f"[{where}] {grade.file}: {points(grade.total)} / "
                  f"{points(assignment.max_points)} ({grade.status}, {grade.seconds:.0f} s)",
                  flush=True)
            if grade.status == "error":
                log = log_path(out, grade.file)
                atomic_write(log, grade.log)
                print(f"{grade.file}: grader error; its log is {log}", file=sys.stderr)

    def work() -> None:
        while (item := next_submission()) is not None:
            name, path, own = item
            grade = grade_one(name, path)
            if stopping.is_set():
                return   # its kernel was stopped: not a grade
            record(grade, own)

    pool = ThreadPoolExecutor(max_workers=jobs)
    previous = signal.signal(signal.SIGTERM, _interrupt) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        workers = [pool.submit(work) for _ in range(jobs)] if queued else []
        for worker in as_completed(workers):
            worker.result()
        pool.shutdown()
    except KeyboardInterrupt:
        stopping.set()
        stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        print(f"interrupted: {out / 'grades.csv'} keeps every finished row; run the same "
              "command again to grade the rest", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    shared = (f", {len(taken)} graded by other tasks, {len(helped)} of other shards graded "
              "here" if claims else "")
    print(f"{len(done)} graded, {len(submissions) - len(todo)} skipped{shared}; "
          f"gradebook {out / 'grades.csv'}, feedback in {out / 'feedback'}")
    return 0
