"""The grader (python -m resnet_grader) on a tiny assignment and on exercises 1.

Most cases grade submissions made here from tests/grading_fixtures/reference.ipynb (three parts:
relu 2 points, residual_block 5, conv_output_size 3; NumPy only, a couple of seconds a run):
one batch of good and deliberately flawed submissions is graded once, through the command line,
and each test reads its row of grades.csv and its feedback file.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from book_tools.exercises import make_exercise
from book_tools.exercises import add_expected_outputs
from resnet_grader.cli import main
from resnet_grader.conventions import GRADING_ENV, is_visible_check
from resnet_grader.sandbox import usage

from .nbtools import ROOT

FIXTURES = Path(__file__).resolve().parent / "grading_fixtures"
REFERENCE = FIXTURES / "reference.ipynb"
PARTS = {"relu": 2, "residual_block": 5, "conv_output_size": 3}
STUDENT = "Jane Q. Studentname"
PHOTO = "https://lh3.googleusercontent.com/a/student-photo-Xy12"
CELL_TIMEOUT = "4"

WRONG_RESIDUAL = '''# GRADED FUNCTION: residual_block
# POINTS: 500
def residual_block(a, W1, W2):
    a1 = np.maximum(W1 @ a, 0)
    return np.maximum(W2 @ a1, 0) + a   # the shortcut after the ReLU: a usual mistake
'''
SPECIAL_CASED = '''# GRADED FUNCTION: conv_output_size
# POINTS: 3
def conv_output_size(n, f, p, s):
    return {(28, 5, 0, 1): 24, (32, 3, 1, 1): 32, (32, 3, 1, 2): 16}[(n, f, p, s)]
'''
WRONG_RELU = '''# GRADED FUNCTION: relu
# NBVAL_SKIP
def relu(z):
    return z
'''


def reference():
    return nbformat.read(REFERENCE, as_version=4)


def answer_cell(nb, name):
    return next(c for c in nb.cells if c.cell_type == "code"
                and c.source.startswith(f"# GRADED FUNCTION: {name}"))


def submission(**sources):
    """The released exercise with every answer cell solved, except those given as sources
    (name -> source, or None to leave the exercise's stub)."""
    solution, exercise = reference(), make_exercise(reference())
    for name in PARTS:
        source = sources.get(name, answer_cell(solution, name).source)
        if source is not None:
            answer_cell(exercise, name).source = source
    return exercise


def solved_with(name, body):
    return (f"# GRADED FUNCTION: {name}\n" + answer_cell(reference(), name).source
            .split("\n", 1)[1].split("    ### BEGIN SOLUTION")[0] + body)


def colab_style(nb):
    """What Colab saves: the student's name and photo in executionInfo, widget state, no tags,
    sources as lists of lines, other notebook metadata."""
    data = json.loads(nbformat.writes(nb))
    data["metadata"] = {"colab": {"provenance": [], "name": "exercise.ipynb"},
                        "kernelspec": {"name": "python3", "display_name": "Python 3"},
                        "widgets": {"application/vnd.jupyter.widget-state+json": {"x": 1}}}
    for cell in data["cells"]:
        cell["metadata"] = {"id": "abc", "colab": {"base_uri": "https://localhost:8080/"},
                            "outputId": "d1e2",
                            "executionInfo": {"status": "ok", "user_tz": -60, "elapsed": 12,
                                              "user": {"displayName": STUDENT, "photoUrl": PHOTO,
                                                       "userId": "0123456789"}}}
        cell.pop("id", None)   # (nbformat already wrote the sources as lists of lines)
    data["nbformat_minor"] = 0
    return json.dumps(data)


def edited_checks():
    """A wrong relu, with its visible check cell edited to print the expected text, the stored
    outputs edited to match, a correct relu added further down, and metadata changed."""
    nb = submission(relu=WRONG_RELU)
    answer_cell(nb, "relu").metadata["tags"] = ["raises-exception", "nbval-skip"]
    index = nb.cells.index(answer_cell(nb, "relu"))
    check = nb.cells[index + 1]
    assert is_visible_check(check)
    check.source = "# NBVAL_CHECK_OUTPUT\nprint('[0. 0. 3.]')"
    check.outputs = [nbformat.v4.new_output("stream", name="stdout", text="[0. 0. 3.]\n")]
    check.execution_count = 3
    nb.cells.append(nbformat.v4.new_code_cell("def relu(z):\n    return np.maximum(z, 0)"))
    nb.cells.append(nbformat.v4.new_code_cell("# HIDDEN CHECK: relu\nassert True"))
    nb.metadata["resnet_book"] = {"points": 100}
    return nb


def without_marker():
    nb = submission()
    cell = answer_cell(nb, "relu")
    cell.source = cell.source.split("\n", 1)[1]
    return nb


def duplicated():
    nb = submission()
    index = nb.cells.index(answer_cell(nb, "relu"))
    nb.cells.insert(index + 1, copy.deepcopy(nb.cells[index]))
    nb.cells[index + 1].id = "a-copy"
    return nb


def write(folder: Path, name: str, content) -> Path:
    path = folder / name
    if isinstance(content, (bytes, str)):
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    else:
        nbformat.write(content, path)
    return path


def grade(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "resnet_grader", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def grade_here(*args) -> int:
    """The same command run in this process (saves starting a Python process per command)."""
    try:
        return main([str(a) for a in args])
    except SystemExit as exit_:
        return exit_.code


def rows(out: Path) -> dict:
    with open(out / "grades.csv", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


def graded_rows(out: Path) -> dict:
    """The gradebook's rows without where and when each was graded, which differ between two
    gradings of the same files."""
    from resnet_grader.report import EVIDENCE_COLUMNS

    return {name: {k: v for k, v in row.items() if k not in EVIDENCE_COLUMNS}
            for name, row in rows(out).items()}


def points(row) -> dict:
    return {name: float(row[name]) for name in PARTS}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade every submission below once, as an instructor would: one folder, one command."""
    folder = tmp_path_factory.mktemp("submissions")
    solution_text = REFERENCE.read_text()
    write(folder, "solution.ipynb", reference())
    write(folder, "solution_again.ipynb", reference())
    write(folder, "exercise.ipynb", make_exercise(reference()))
    write(folder, "one_part_broken.ipynb", submission(residual_block=WRONG_RESIDUAL))
    write(folder, "special_cased.ipynb", submission(conv_output_size=SPECIAL_CASED))
    write(folder, "edited_checks.ipynb", edited_checks())
    write(folder, "infinite_loop.ipynb",
          submission(residual_block=solved_with("residual_block", "    while True:\n"
                                                "        pass\n")))
    write(folder, "os_exit.ipynb", submission(conv_output_size=solved_with(
        "conv_output_size", "    import os\n    os._exit(1)\n")))
    write(folder, "sys_exit.ipynb", submission(residual_block=solved_with(
        "residual_block", "    import sys\n    sys.exit(3)\n")))
    write(folder, "memory_error.ipynb", submission(conv_output_size=solved_with(
        "conv_output_size", "    return np.empty(2**60, dtype=np.uint8).size\n")))
    write(folder, "truncated.ipynb", solution_text[: len(solution_text) // 2])
    write(folder, "not_a_notebook.ipynb", json.dumps({"name": "a list", "items": [1, 2, 3]}))
    write(folder, "nbformat3.ipynb", json.dumps({"nbformat": 3, "nbformat_minor": 0,
                                                 "metadata": {}, "worksheets": []}))
    no_answers = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hi"),
                                                 nbformat.v4.new_code_cell("print(1)")])
    write(folder, "no_answer_cells.ipynb", no_answers)
    write(folder, "colab.ipynb", colab_style(submission()))
    write(folder, "marker_deleted.ipynb", without_marker())
    write(folder, "duplicated.ipynb", duplicated())
    out = tmp_path_factory.mktemp("grades") / "out"
    command = ["--reference", REFERENCE, "--out", out, "--cell-timeout", CELL_TIMEOUT,
               "--timeout", "120", folder]
    start = time.monotonic()
    result = grade(*command)
    seconds = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    return {"out": out, "rows": rows(out), "command": command, "folder": folder,
            "seconds": seconds, "stdout": result.stdout}


def feedback(batch, name) -> str:
    return (batch["out"] / "feedback" / name.replace(".ipynb", ".md")).read_text()


def test_solution_gets_full_marks(batch):
    row = batch["rows"]["solution.ipynb"]
    assert points(row) == PARTS and row["total"] == "10" and row["max"] == "10"
    assert row["status"] == "graded"


def test_untouched_exercise_gets_zero(batch):
    row = batch["rows"]["exercise.ipynb"]
    assert row["total"] == "0" and row["status"] == "graded"
    text = feedback(batch, "exercise.ipynb")
    assert "NotImplementedError: Replace this line with your code." in text


def test_one_broken_part_loses_exactly_its_points(batch):
    row = batch["rows"]["one_part_broken.ipynb"]
    assert points(row) == {**PARTS, "residual_block": 0}
    assert row["total"] == "5" and row["max"] == "10"   # its "# POINTS: 500" line counts for nothing
    text = feedback(batch, "one_part_broken.ipynb")
    assert "## residual_block: failed" in text
    # the visible check shows what was expected and what the submission printed, and its hint
    assert "[1.5 0. ]" in text and "[ 1.5 -1. ]" in text
    assert "Hint: add the shortcut before the last ReLU" in text


def test_special_cased_answer_passes_visible_fails_hidden(batch):
    row = batch["rows"]["special_cased.ipynb"]
    assert points(row) == {**PARTS, "conv_output_size": 0}
    part = feedback(batch, "special_cased.ipynb").split("## conv_output_size")[1]
    assert "visible check 3" in part and "): passed" in part
    assert "- hidden check 3: **failed**" in part
    assert "Hint: the formula rounds down" in part


def test_hidden_checks_are_never_revealed(batch):
    for name in ("exercise.ipynb", "special_cased.ipynb", "one_part_broken.ipynb"):
        text = feedback(batch, name)
        for secret in ("224, 7, 3, 2", "default_rng(7)", "isinstance(result, int)", "KeyError",
                       "AssertionError", "assert ", "\x1b["):
            assert secret not in text, (name, secret)


def test_edited_checks_outputs_and_metadata_earn_nothing(batch):
    row = batch["rows"]["edited_checks.ipynb"]
    assert points(row) == {**PARTS, "relu": 0}
    text = feedback(batch, "edited_checks.ipynb")
    assert "[-2.  0.  3.]" in text   # what the wrong relu really printed


def test_endless_loop_is_timed_out_and_the_batch_goes_on(batch):
    row = batch["rows"]["infinite_loop.ipynb"]
    assert row["status"] == "timed-out"
    assert points(row) == {"relu": 2, "residual_block": 0, "conv_output_size": 0}
    text = feedback(batch, "infinite_loop.ipynb")
    assert f"{CELL_TIMEOUT} s limit for one cell" in text
    assert "## conv_output_size: failed" in text and "not run" in text


def test_os_exit_is_recorded_and_the_batch_goes_on(batch):
    row = batch["rows"]["os_exit.ipynb"]
    assert row["status"] == "kernel-died"
    assert points(row) == {**PARTS, "conv_output_size": 0}


def test_sys_exit_and_memory_error_fail_the_remaining_parts(batch):
    row = batch["rows"]["sys_exit.ipynb"]
    assert row["status"] == "exited"
    assert points(row) == {"relu": 2, "residual_block": 0, "conv_output_size": 0}
    row = batch["rows"]["memory_error.ipynb"]
    assert row["status"] == "out-of-memory"
    assert points(row) == {**PARTS, "conv_output_size": 0}


@pytest.mark.parametrize("name, status", [
    ("truncated.ipynb", "not-json"), ("not_a_notebook.ipynb", "not-a-notebook"),
    ("nbformat3.ipynb", "nbformat-too-old"), ("no_answer_cells.ipynb", "no-answer-cells"),
    ("duplicated.ipynb", "duplicated-answer-cell")])
def test_ungradable_files_get_a_row_with_their_status(batch, name, status):
    row = batch["rows"][name]
    assert row["status"] == status
    assert float(row["total"]) == (8 if status == "duplicated-answer-cell" else 0)
    assert (batch["out"] / "feedback" / name.replace(".ipynb", ".md")).exists()


def test_same_submission_same_grades(batch):
    graded = graded_rows(batch["out"])
    first, again = graded["solution.ipynb"], graded["solution_again.ipynb"]
    assert {k: v for k, v in first.items() if k != "file"} == \
        {k: v for k, v in again.items() if k != "file"}


def test_colab_notebook_grades_and_leaks_no_name(batch):
    row = batch["rows"]["colab.ipynb"]
    assert points(row) == PARTS and row["status"] == "graded"
    for path in batch["out"].rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert STUDENT not in text and "student-photo" not in text, path


def test_marker_deleted_found_by_def_and_said_so(batch):
    row = batch["rows"]["marker_deleted.ipynb"]
    assert points(row) == PARTS
    assert "found by its def" in row["note"]
    assert "found by its `def`/`class` line" in feedback(batch, "marker_deleted.ipynb")


def test_batch_uses_both_cores(batch):
    assert len(batch["rows"]) == 17
    print(f"batch of 17 graded in {batch['seconds']:.0f} s")


def test_rerun_skips_graded_and_regrade_gives_the_same(batch, tmp_path, capsys):
    before = (batch["out"] / "grades.csv").read_text()
    assert grade_here(*batch["command"]) == 0
    assert capsys.readouterr().out.count("already graded, skipped") == 17
    assert (batch["out"] / "grades.csv").read_text() == before
    # regrading two of them gives the very same grades (graded again, at another time)
    graded_before, evidence_before = graded_rows(batch["out"]), rows(batch["out"])
    folder = tmp_path / "again"
    folder.mkdir()
    for name in ("one_part_broken.ipynb", "special_cased.ipynb"):
        (folder / name).write_bytes((batch["folder"] / name).read_bytes())
    assert grade_here("--reference", REFERENCE, "--out", batch["out"], "--regrade",
                      "--cell-timeout", CELL_TIMEOUT, folder) == 0
    assert "2 graded" in capsys.readouterr().out
    assert graded_rows(batch["out"]) == graded_before
    after = rows(batch["out"])
    assert after["one_part_broken.ipynb"]["graded_at"] >= \
        evidence_before["one_part_broken.ipynb"]["graded_at"]
    assert after["solution.ipynb"] == evidence_before["solution.ipynb"]   # not regraded


def test_submission_time_limit_keeps_earlier_parts_and_ends_the_kernel(tmp_path, monkeypatch):
    folder = tmp_path / "subs"
    folder.mkdir()
    write(folder, "slow.ipynb", submission(residual_block=solved_with(
        "residual_block", "    while True:\n        pass\n")))
    scratch = tmp_path / "tmp"   # the grader's working folders, to find leftover processes
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    start = time.monotonic()
    assert grade_here("--reference", REFERENCE, "--out", tmp_path / "out", "--cell-timeout",
                      "300", "--timeout", "10", folder) == 0
    assert time.monotonic() - start < 40
    row = rows(tmp_path / "out")["slow.ipynb"]
    assert row["status"] == "timed-out" and points(row) == {"relu": 2, "residual_block": 0,
                                                             "conv_output_size": 0}
    assert "10 s limit for one submission" in row["note"]
    time.sleep(2)
    for proc in Path("/proc").iterdir():
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        assert not cwd.startswith(str(scratch)), f"process {proc.name} is still running"
    # the grader ran in this process: nothing it started (sandboxes, kernels) may be left
    _, _, left = usage(os.getpid())
    assert left == [os.getpid()], f"processes left: {left[1:]}"


# Loaded by every Python the grader starts (through PYTHONPATH): the first kernel to start
# (python -m ipykernel_launcher -f <connection file>) dies at once, as one does when another
# kernel took its port; the kernels after it start normally.
FAIL_FIRST_KERNEL = """\
import os, sys
if sys.argv[:1] == ["-m"] and "-f" in sys.argv:
    try:
        os.close(os.open({marker!r}, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        pass
    else:
        os._exit(1)
"""


def test_a_kernel_that_fails_to_start_is_started_again(tmp_path, monkeypatch):
    folder = tmp_path / "subs"
    folder.mkdir()
    write(folder, "solution.ipynb", reference())
    site = tmp_path / "site"
    site.mkdir()
    marker = tmp_path / "first-kernel-started"
    (site / "sitecustomize.py").write_text(FAIL_FIRST_KERNEL.format(marker=str(marker)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]))
    # unsandboxed: the marker must outlive one run, and a sandbox lets a run write nothing
    # that outlives it
    assert grade_here("--reference", REFERENCE, "--out", tmp_path / "out", "--cell-timeout",
                      CELL_TIMEOUT, "--unsafe-no-sandbox", folder) == 0
    assert marker.exists(), "the first kernel start did not fail: this test tests nothing"
    row = rows(tmp_path / "out")["solution.ipynb"]
    assert row["status"] == "graded" and points(row) == PARTS


def test_self_check_uses_the_expected_outputs_the_exercise_stores(tmp_path, capsys):
    exercise = add_expected_outputs(make_exercise(reference()), reference())
    solved = add_expected_outputs(submission(conv_output_size=SPECIAL_CASED), reference())
    write(tmp_path, "mine.ipynb", solved)
    write(tmp_path, "untouched.ipynb", exercise)
    assert grade_here("--self-check", tmp_path / "mine.ipynb") == 0
    out = capsys.readouterr().out
    # visible checks only: the special-cased answer passes them all
    assert "Total: **10 / 10** points" in out and "hidden" not in out
    assert grade_here("--self-check", tmp_path / "untouched.ipynb", "--out", tmp_path / "fb") == 0
    assert "Total: **0 / 10** points" in capsys.readouterr().out
    assert "[1.5 0. ]" in (tmp_path / "fb" / "feedback" / "untouched.md").read_text()


def test_misuse_exits_non_zero_with_a_message(tmp_path, capsys):
    sub = write(tmp_path, "s.ipynb", reference())
    result = grade("--reference", tmp_path / "missing.ipynb", "--out", tmp_path / "o", sub)
    assert result.returncode != 0 and "missing.ipynb: no such file" in result.stderr
    blocker = write(tmp_path, "file.txt", "not a folder")
    for args, message in [
            (["--reference", REFERENCE, "--out", blocker / "out", sub], "cannot write there"),
            (["--reference", REFERENCE, "--out", tmp_path / "o", tmp_path / "nothing-here"],
             "no such submission"),
            (["--reference", make_reference_without_parts(tmp_path), "--out", tmp_path / "o",
              sub], "GRADED FUNCTION"),
            (["--out", tmp_path / "o", sub], "--reference"),
            (["--reference", REFERENCE, "--out", tmp_path / "o"], "no SUBMISSION")]:
        assert grade_here(*args) != 0, args
        assert message in capsys.readouterr().err, args


def make_reference_without_parts(tmp_path):
    return write(tmp_path, "plain.ipynb",
                 nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))


def test_chapter_exercises_grade_with_the_same_machinery(tmp_path):
    """solutions/01_plain_block.ipynb as the reference: its solution gets every point, the
    released exercise none (parts without a POINTS line are worth 1)."""
    solution = ROOT / "solutions" / "01_plain_block.ipynb"
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "solution.ipynb").write_bytes(solution.read_bytes())
    (folder / "exercise.ipynb").write_bytes(
        (ROOT / "exercises" / "01_plain_block.ipynb").read_bytes())
    result = grade("--reference", solution, "--out", tmp_path / "out", folder)
    assert result.returncode == 0, result.stderr
    graded = rows(tmp_path / "out")
    names = ["PlainBlock", "block_output_shapes", "plain_network_parameters",
             "weight_gradient_norms", "ScaledNormal"]
    assert [graded["solution.ipynb"][n] for n in names] == ["1"] * 5
    assert graded["solution.ipynb"]["status"] == "graded"
    assert graded["exercise.ipynb"]["total"] == "0"


# A value for each variable of the grading environment that differs from its grading value, as
# an author's GPU machine or shell might have them.
DIVERGENT_ENV = {"PYTHONHASHSEED": "123", "CUDA_VISIBLE_DEVICES": "0", "KERAS_BACKEND": "jax",
                 "RESNET_BOOK_PROFILE": "full", "RESNET_BOOK_DATASET": "cifar10",
                 "RESNET_BOOK_REHEARSAL": "1", "TF_CPP_MIN_LOG_LEVEL": "0"}


def environment_reference():
    """A reference whose visible check prints the grading environment's variables as its
    kernel sees them and a string's hash."""
    names = sorted(GRADING_ENV)
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os"),
        nbformat.v4.new_code_cell(
            "# GRADED FUNCTION: environment\ndef environment(names):\n"
            "    ### BEGIN SOLUTION\n    return {name: os.environ.get(name) for name in names}\n"
            "    ### END SOLUTION"),
        nbformat.v4.new_code_cell(
            f"# NBVAL_CHECK_OUTPUT\nprint(environment({names!r}))\n"
            "print(hash('resnet'))"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


def test_execute_stores_what_the_grader_prints_whatever_the_authors_environment(
        tmp_path, monkeypatch):
    """`book_tools.exercises --execute` runs a reference's kernel in the grader's environment:
    on a machine whose own settings differ in every variable of it (a GPU, another profile,
    hash seed, backend, ...), its stored check shows the grading values, and the grader, run
    on that machine too, prints the same, so the reference grades itself with full marks."""
    from book_tools.exercises import execute_solution

    assert set(DIVERGENT_ENV) == set(GRADING_ENV), "give every grading variable a divergent value"
    assert all(DIVERGENT_ENV[name] != value for name, value in GRADING_ENV.items())
    for name, value in DIVERGENT_ENV.items():
        monkeypatch.setenv(name, value)
    path = write(tmp_path, "reference.ipynb", environment_reference())
    execute_solution(path)
    assert {name: os.environ[name] for name in DIVERGENT_ENV} == DIVERGENT_ENV  # left as it was

    seed = {"PYTHONHASHSEED": GRADING_ENV["PYTHONHASHSEED"]}
    seeded_hash = subprocess.run([sys.executable, "-c", "print(hash('resnet'))"], text=True,
                                 capture_output=True, check=True, env={**os.environ, **seed})
    check = next(c for c in nbformat.read(path, as_version=4).cells if is_visible_check(c))
    assert [o.get("text") for o in check.outputs] == [
        f"{dict(sorted(GRADING_ENV.items()))}\n"
        f"{seeded_hash.stdout.strip()}\n"]

    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "itself.ipynb").write_bytes(path.read_bytes())
    result = grade("--reference", path, "--out", tmp_path / "out", folder, env=DIVERGENT_ENV)
    assert result.returncode == 0, result.stderr
    row = rows(tmp_path / "out")["itself.ipynb"]
    assert (row["status"], row["total"], row["max"]) == ("graded", "1", "1"), \
        (tmp_path / "out" / "feedback" / "itself.md").read_text()


def test_the_grading_environment_fixes_the_helpers_run_settings():
    """The grader cannot import the helper package, so it names the helper's variables itself."""
    from resnet_book import profiles

    assert GRADING_ENV[profiles.PROFILE_VARIABLE] == "quick"
    assert GRADING_ENV[profiles.DATASET_VARIABLE] == GRADING_ENV[profiles.REHEARSAL_VARIABLE] == ""


def test_checks_are_associated_with_parts_as_documented():
    from resnet_grader.assignment import Cell, parse_assignment

    def code(source, outputs=True):
        cell = Cell("code", source)
        if outputs and is_visible_check(cell):
            cell.outputs, cell.execution_count = [{"output_type": "stream", "name": "stdout",
                                                   "text": "x\n"}], 1
        return cell

    cells = [
        code("import numpy as np"),
        code("# GRADED FUNCTION: first\n# POINTS: 4\ndef first(x):\n    return x"),
        code("# NBVAL_CHECK_OUTPUT\nprint(first(1))"),
        code("# GRADED FUNCTION: second\ndef second(x):\n    return x"),
        code("# GRADED FUNCTION: third\ndef third(x):\n    return x"),
        code("# NBVAL_CHECK_OUTPUT\n# HINT: look again\nprint(second(1), third(1))"),
        code("# HIDDEN CHECK: something general\nassert third(2) == 2"),
        code("# HIDDEN CHECK: first, again\nassert first(3) == 3"),
        code("# GRADED FUNCTION: fourth\ndef fourth(f):\n    return f"),
        code("# NBVAL_CHECK_OUTPUT\nprint(fourth(first)(1))"),       # uses first as a helper
        code("# HIDDEN CHECK\n# PART: second, fourth\nassert second(fourth(1)) == 1"),
        code("# HIDDEN CHECK: no names\nassert value == 1"),
    ]
    assignment = parse_assignment(cells)
    checks = {name: [c.label for c in part.checks]
              for name, part in assignment.parts.items()}
    assert checks == {
        "first": ["visible check 1", "hidden check 2"],
        "second": ["visible check 2", "hidden check 3"],
        "third": ["visible check 2", "hidden check 1"],
        "fourth": ["visible check 3", "hidden check 3", "hidden check 4"],
    }
    assert {n: p.points for n, p in assignment.parts.items()} == {
        "first": 4, "second": 1, "third": 1, "fourth": 1}
    assert assignment.checks[1].hints == ["look again"]


def test_a_repeated_error_refers_to_its_first_check_instead_of_giving_other_hints():
    """A shape error in a block breaks every later check of the part the same way: only the
    first failed check shows its expected output and hints, the others point to it."""
    from resnet_grader.grader import CheckResult, Grade, PartResult
    from resnet_grader.assignment import Check
    from resnet_grader.report import feedback

    error = "ValueError: Inputs have incompatible shapes\n"
    checks = [Check(4, "visible", 1, ["block"], ["use strides=s on both paths"], "shape"),
              Check(5, "visible", 2, ["block"], ["count the BN layers"], "params"),
              Check(6, "visible", 3, ["block"], ["pass training"], "training")]
    part = PartResult("block", 3, False, "marker", checks=[
        CheckResult(checks[0], "failed", expected="(2, 4, 4, 6)\n", got=error),
        CheckResult(checks[1], "failed", expected="210\n", got=error),
        CheckResult(checks[2], "failed", expected="False\n", got="True\n")])
    text = feedback(Grade("s.ipynb", "graded", parts=[part]), 3)
    assert "Hint: use strides=s on both paths" in text
    assert "visible check 2 (`params`): **failed**, printing the same as visible check 1" in text
    assert "count the BN layers" not in text and "210" not in text
    assert "Hint: pass training" in text   # a different failure keeps its own hint


def test_a_hint_goes_on_over_indented_comment_lines():
    from resnet_grader.conventions import hints

    source = ("# NBVAL_CHECK_OUTPUT\n# HINT: add the shortcut\n#   before the last ReLU.\n"
              "# HINT: and keep the shapes\n# a plain comment, not part of the hint\n"
              "#   nor this, after it\nprint(block(x))")
    assert hints(source) == ["add the shortcut before the last ReLU.", "and keep the shapes"]


USES_RELU = '''# GRADED FUNCTION: residual_block
def residual_block(a, W1, W2):
    return relu(W2 @ relu(W1 @ a) + a)
'''
WRONG_RELU_PLAIN = '''# GRADED FUNCTION: relu
def relu(z):
    return np.abs(z)
'''


def test_each_part_is_graded_on_its_own(tmp_path):
    """A residual_block built on the student's broken relu is right in itself: it is graded
    again with the reference's relu and earns its points, and the feedback says so; the broken
    relu still earns nothing, and a part that is wrong in itself stays wrong."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    write(folder, "builds_on_broken.ipynb", submission(relu=WRONG_RELU_PLAIN,
                                                       residual_block=USES_RELU))
    write(folder, "both_broken.ipynb", submission(relu=WRONG_RELU_PLAIN,
                                                  residual_block=WRONG_RESIDUAL))
    assert grade_here("--reference", REFERENCE, "--out", out, "--cell-timeout", "60",
                      folder) == 0
    graded = rows(out)
    assert points(graded["builds_on_broken.ipynb"]) == {"relu": 0, "residual_block": 5,
                                                        "conv_output_size": 3}
    assert points(graded["both_broken.ipynb"]) == {"relu": 0, "residual_block": 0,
                                                   "conv_output_size": 3}
    text = (out / "feedback" / "builds_on_broken.md").read_text()
    assert "## residual_block: passed (5 / 5 points)" in text
    assert "your `relu` did not pass, so this part was run with the reference's `relu`" in text
    assert "## relu: failed" in text


def test_two_graders_on_one_gradebook_lose_no_row(tmp_path):
    """Two commands grading different submissions into one --out at the same time (say two
    shards that share it): every row and every feedback file survives."""
    out = tmp_path / "out"
    commands = []
    for group in ("a", "b"):
        folder = tmp_path / group
        folder.mkdir()
        for index in range(2):
            write(folder, f"{group}{index}.ipynb", reference())
        commands.append([sys.executable, "-m", "resnet_grader", "--reference", str(REFERENCE),
                         "--out", str(out), "--jobs", "1", str(folder)])
    graders = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for command in commands]
    for grader in graders:
        _, stderr = grader.communicate(timeout=300)
        assert grader.returncode == 0, stderr
    assert sorted(rows(out)) == ["a0.ipynb", "a1.ipynb", "b0.ipynb", "b1.ipynb"]
    assert all(row["status"] == "graded" for row in rows(out).values())
    assert sorted(p.name for p in (out / "feedback").iterdir()) == [
        "a0.md", "a1.md", "b0.md", "b1.md"]


def test_jobs_and_threads_follow_the_cpus_the_grader_may_use(tmp_path):
    """Under `taskset -c 0` (or in a Slurm task given one CPU) the grader counts one CPU, not
    the machine's."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    for index in range(2):
        write(folder, f"s{index}.ipynb", reference())
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-m", "resnet_grader",
                             "--reference", str(REFERENCE), "--out", str(tmp_path / "out"),
                             str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert pinned.returncode == 0, pinned.stderr
    assert "2 submission(s), 1 at a time, 1 thread(s) each (1 CPU(s) available)" in pinned.stdout
    slurm = subprocess.run([sys.executable, "-c", "from resnet_grader.cli import available_cpus;"
                            " print(available_cpus())"], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "SLURM_CPUS_PER_TASK": "1"}, timeout=60)
    assert slurm.stdout.strip() == "1", slurm.stderr


def test_the_terminal_shows_done_of_total_elapsed_and_time_left():
    from resnet_grader.cli import progress
    assert progress(1, 4, started=0, now=20) == "20 s elapsed, about 1 min 00 s left"
    assert progress(3, 1000, started=0, now=54) == "54 s elapsed, about 4 h 59 min left"
    assert progress(4, 4, started=0, now=3725) == "1 h 02 min elapsed"


def test_the_memory_limit_is_each_runs_share_of_a_slurm_allocation(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for index in range(2):
        write(folder, f"s{index}.ipynb", reference())
    result = grade("--reference", REFERENCE, "--out", tmp_path / "out", "--jobs", "2", folder,
                   env={"SLURM_MEM_PER_NODE": "3000"})
    assert result.returncode == 0, result.stderr
    assert "memory limit 1500 MB each" in result.stdout   # 3,000 MB for two runs at once
    assert all(row["status"] == "graded" for row in rows(tmp_path / "out").values())
    given = grade("--reference", REFERENCE, "--out", tmp_path / "out2", "--jobs", "2",
                  "--memory-limit", "2500", folder, env={"SLURM_MEM_PER_NODE": "3000"})
    assert "memory limit 2500 MB each" in given.stdout   # what the instructor asked for wins


def test_each_row_says_where_and_when_and_an_older_gradebook_still_resumes(tmp_path):
    import socket
    from datetime import datetime

    from resnet_grader.report import EVIDENCE_COLUMNS, FORMATS

    folder = tmp_path / "submissions"
    folder.mkdir()
    write(folder, "first.ipynb", reference())
    out = tmp_path / "out"
    assert grade("--reference", REFERENCE, "--out", out, folder).returncode == 0
    row = rows(out)["first.ipynb"]
    assert row["host"] == socket.gethostname() and float(row["seconds"]) > 0
    assert datetime.fromisoformat(row["graded_at"]).tzinfo is not None
    assert row["grader_version"] not in ("", "unknown")
    # The same gradebook as the first format wrote it, without those columns: the grader
    # resumes from it (the graded row is skipped) and writes it back in the latest format.
    old_header = [c for c in csv.DictReader(open(out / "grades.csv")).fieldnames
                  if c not in EVIDENCE_COLUMNS]
    assert tuple(old_header[-len(FORMATS[1]):]) == FORMATS[1]
    with open(out / "grades.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=old_header, lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerow(row)
    write(folder, "second.ipynb", reference())
    again = grade("--reference", REFERENCE, "--out", out, folder)
    assert again.returncode == 0, again.stderr
    assert "first.ipynb: already graded, skipped" in again.stdout
    resumed = rows(out)
    assert resumed["first.ipynb"]["host"] == "" and resumed["first.ipynb"]["total"] == "10"
    assert resumed["second.ipynb"]["host"] == socket.gethostname()


def test_a_grader_error_leaves_a_log_for_the_instructor(tmp_path):
    # A grading machine whose pytest refuses its options: the grader cannot run anything.
    folder = tmp_path / "submissions"
    folder.mkdir()
    write(folder, "first.ipynb", reference())
    out = tmp_path / "out"
    result = grade("--reference", REFERENCE, "--out", out, folder,
                   env={"PYTEST_ADDOPTS": "--no-such-option"})
    assert result.returncode == 0, result.stderr
    assert rows(out)["first.ipynb"]["status"] == "error"
    log = out / "logs" / "first.log"
    assert f"its log is {log}" in result.stderr
    assert "--no-such-option" in log.read_text()
    assert "Not graded" in (out / "feedback" / "first.md").read_text()
