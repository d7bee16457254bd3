"""Grading in shards (``--shard K/N``) and joining them (``merge``): the same gradebook as one
machine's grading of the same files, whatever the shards."""
from __future__ import annotations

import csv
import filecmp
import re

import pytest

from resnet_grader.shards import (Claims, Shard, ShardError, parse_shard, run_name, shard_of,
                                  sharing_order)
from .test_grade import (REFERENCE, SPECIAL_CASED, WRONG_RELU, WRONG_RESIDUAL, grade,
                         graded_rows, reference, rows, submission, write)

NAMES = [f"student{index:02d}.ipynb" for index in range(12)]


def test_a_submission_has_one_shard_whatever_the_listing():
    for count in (1, 2, 3, 7):
        shards = [shard_of(name, count) for name in NAMES]
        assert all(0 <= s < count for s in shards)
        assert [shard_of(name, count) for name in reversed(NAMES)] == shards[::-1]
        held = [[n for n in NAMES if Shard(k, count).holds(n)] for k in range(count)]
        assert sorted(sum(held, [])) == sorted(NAMES)   # each once, none lost
    assert len({shard_of(name, 3) for name in NAMES}) == 3   # twelve names reach every shard


def only(monkeypatch, environment):
    """The job-array variables exactly as ``environment`` gives them, none inherited."""
    for name in ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT",
                 "JOB_COMPLETION_INDEX"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("environment, text, expected", [
    ({}, "2/5", Shard(2, 5)),
    ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_COUNT": "3"},
     "auto", Shard(1, 3)),   # --array=3-5: the second task
    ({"SLURM_ARRAY_TASK_ID": "0"}, "auto/4", Shard(0, 4)),
    ({"JOB_COMPLETION_INDEX": "3"}, "auto/4", Shard(3, 4)),   # a Kubernetes Indexed Job
])
def test_shards_from_arguments_slurm_and_kubernetes(monkeypatch, environment, text, expected):
    only(monkeypatch, environment)
    assert parse_shard(text) == expected


@pytest.mark.parametrize("environment, text, message", [
    ({}, "3/3", "between 0 and N-1"),
    ({}, "one/3", "whole numbers"),
    ({}, "auto", "neither a Slurm array task"),
    ({"JOB_COMPLETION_INDEX": "1"}, "auto", "give the number of shards too"),
    ({"SLURM_ARRAY_TASK_ID": "1"}, "auto", "SLURM_ARRAY_TASK_COUNT"),
])
def test_a_shard_that_cannot_be_used_says_what_to_give(monkeypatch, environment, text, message):
    only(monkeypatch, environment)
    with pytest.raises(ShardError, match=message):
        parse_shard(text)


def course(folder):
    """Six submissions: solutions and the usual flaws, each its own file."""
    folder.mkdir()
    flaws = [{}, {"residual_block": WRONG_RESIDUAL}, {"conv_output_size": SPECIAL_CASED},
             {"relu": WRONG_RELU}, {"relu": None}, {}]
    for index, flaw in enumerate(flaws):
        write(folder, f"student{index}.ipynb", submission(**flaw))
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course graded on one machine, and again in three shards then merged."""
    root = tmp_path_factory.mktemp("shards")
    folder = course(root / "course")
    whole = grade("--reference", REFERENCE, "--out", root / "whole", "--cell-timeout", "20",
                  folder)
    assert whole.returncode == 0, whole.stderr
    outputs = []
    for index in range(3):
        shard = grade("--reference", REFERENCE, "--out", root / "sharded", "--cell-timeout",
                      "20", "--shard", f"{index}/3", folder)
        assert shard.returncode == 0, shard.stderr
        outputs.append(shard.stdout)
    merged = grade("merge", "--out", root / "sharded", folder)
    return {"root": root, "folder": folder, "shard_outputs": outputs, "merged": merged}


def test_the_merged_shards_equal_one_machines_grading(graded):
    root = graded["root"]
    assert graded["merged"].returncode == 0, graded["merged"].stderr
    assert "merged 3 gradebook(s): 6 row(s)" in graded["merged"].stdout
    assert graded_rows(root / "sharded") == graded_rows(root / "whole")
    assert all(row["host"] and row["graded_at"] for row in rows(root / "sharded").values())
    assert {row["status"] for row in rows(root / "whole").values()} == {"graded"}
    comparison = filecmp.dircmp(root / "whole" / "feedback", root / "sharded" / "feedback")
    assert comparison.left_only == comparison.right_only == comparison.diff_files == []
    assert len(comparison.same_files) == 6
    # every shard graded only its own share, and together all of them once
    counts = [int(re.search(r"^shard \d of 3 \(0 to 2\): (\d+) submission", out, re.M)[1])
              for out in graded["shard_outputs"]]
    assert sum(counts) == 6 and all(counts)


def test_a_merge_again_changes_nothing(graded):
    book = graded["root"] / "sharded" / "grades.csv"
    before = book.read_bytes()
    again = grade("merge", "--out", graded["root"] / "sharded")
    assert again.returncode == 0, again.stderr
    assert book.read_bytes() == before


def test_a_submission_no_shard_graded_is_named(graded, tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    for path in graded["folder"].iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    write(folder, "late.ipynb", reference())
    result = grade("merge", "--out", graded["root"] / "sharded", folder)
    assert result.returncode == 1
    assert "1 submission(s) no shard graded: late.ipynb" in result.stderr


def test_shards_graded_against_another_reference_are_refused(graded, tmp_path):
    out = tmp_path / "out"
    (out / "shards").mkdir(parents=True)
    for shard in (graded["root"] / "sharded" / "shards").iterdir():
        target = out / "shards" / shard.name
        target.mkdir()
        (target / "grades.csv").write_bytes((shard / "grades.csv").read_bytes())
    # one shard's rows as a grading against an edited reference would have written them
    edited = next((out / "shards").iterdir()) / "grades.csv"
    with open(edited, newline="") as handle:
        reader = csv.DictReader(handle)
        header, book = reader.fieldnames, list(reader)
    for row in book:
        row["reference_sha256"] = "0" * 64
    with open(edited, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(book)
    result = grade("merge", "--out", out)
    assert result.returncode == 2
    assert "graded against another reference" in result.stderr
    assert not (out / "grades.csv").exists()   # nothing written


def test_the_subcommands_and_the_older_forms_agree(tmp_path):
    new, old = grade("describe", "--reference", REFERENCE), grade("--describe", "--reference",
                                                                  REFERENCE)
    assert new.returncode == old.returncode == 0 and new.stdout == old.stdout
    assert "total: 10 points" in new.stdout
    empty = grade("merge", "--out", tmp_path)
    assert empty.returncode == 2 and "nothing to merge" in empty.stderr


def test_a_claim_is_taken_once_per_run(tmp_path, monkeypatch):
    first, second = Claims(tmp_path, "week-3", Shard(0, 2)), Claims(tmp_path, "week-3", Shard(1, 2))
    assert first.take("group a/student 1.ipynb")
    assert not second.take("group a/student 1.ipynb") and not first.take("group a/student 1.ipynb")
    assert "shard 0-of-2" in first.path("group a/student 1.ipynb").read_text()
    assert Claims(tmp_path, "week-4", Shard(1, 2)).take("group a/student 1.ipynb")  # a new run
    only(monkeypatch, {})
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "812")
    assert run_name("auto") == "slurm-812"
    monkeypatch.delenv("SLURM_ARRAY_JOB_ID")
    with pytest.raises(ShardError, match="not a Slurm array task"):
        run_name("auto")
    with pytest.raises(ShardError, match="without '/'"):
        run_name("../elsewhere")


def test_a_sharing_task_takes_its_own_first_then_the_others_as_listed():
    assert sharing_order(["a", "b"], ["x", "y", "z"]) == [
        ("a", True), ("b", True), ("x", False), ("y", False), ("z", False)]


def test_a_sharing_shard_grades_what_no_task_claimed_and_nothing_twice(graded, tmp_path):
    folder, out = graded["folder"], tmp_path / "out"
    sharing = ["--reference", REFERENCE, "--out", out, "--cell-timeout", "20",
               "--share-work", "week-3"]
    # Shard 0 runs alone: after its own share it grades every other shard's, unclaimed
    alone = grade(*sharing, "--shard", "0/3", folder)
    assert alone.returncode == 0, alone.stderr
    own = int(re.search(r"^shard 0 of 3 \(0 to 2\): (\d+) submission", alone.stdout, re.M)[1])
    assert f"{own} graded, 0 skipped, 0 graded by other tasks, {6 - own} of other shards " \
           "graded here" in alone.stdout
    assert len(rows(out / "shards" / "0-of-3")) == 6
    assert len(list((out / "claims" / "week-3").iterdir())) == 6
    # in the same run, the claims keep another shard from grading any of them again
    claimed = grade(*sharing, "--shard", "1/3", "--regrade", folder)
    assert claimed.returncode == 0, claimed.stderr
    assert re.search(r"^0 graded, 0 skipped, [1-9] graded by other tasks, 0 of other shards",
                     claimed.stdout, re.M), claimed.stdout
    # and in a new run, what another shard's gradebook holds is not graded again
    rerun = grade(*sharing[:-1], "week-4", "--shard", "2/3", folder)
    assert rerun.returncode == 0, rerun.stderr
    assert re.search(r"^0 graded, [1-9] skipped", rerun.stdout, re.M), rerun.stdout
    assert not (out / "shards" / "1-of-3" / "grades.csv").exists()
    merged = grade("merge", "--out", out, folder)
    assert merged.returncode == 0, merged.stderr
    assert graded_rows(out) == graded_rows(graded["root"] / "whole")


def test_share_work_needs_shards(tmp_path):
    result = grade("--reference", REFERENCE, "--out", tmp_path / "out", "--share-work", "w",
                   tmp_path)
    assert result.returncode == 2 and "give --shard too" in result.stderr
