"""The book builds with no warnings, and its pages work in a browser with no network.

One session-scoped build (``jupyter-book build . -W -n --keep-going --all``, quick profile) feeds
every test here. ``--all`` makes Sphinx reread every page, so an incremental build never hides a
warning; Jupyter Book's execution cache still spares re-running unchanged notebooks.

The browser tests open each chapter and exercise page in headless Debian Chromium (Playwright),
served from ``_build/html`` on 127.0.0.1, with every other request refused: equations typeset by
the vendored MathJax, images loaded, the Colab launch link pointing at this repository, and no
console errors. A missing Chromium fails them (``apt-get install chromium``); nothing is skipped.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from book_tools import browser as br
from book_tools.repository import ROOT

HTML = br.HTML_DIR
BUILD_CMD = ["build", ".", "-W", "-n", "--keep-going", "--all"]
BUILD_TIMEOUT_S = int(os.environ.get("RESNET_BOOK_BUILD_TIMEOUT", "2700"))
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PROBLEM_LINE = re.compile(r"\b(WARNING|ERROR|CRITICAL|SEVERE)\b")
# The one line let through: ipykernel 7 logs it whenever jupyter-book starts a kernel on its
# default TCP transport (the kernel's own start-up notice, not a problem of the book's pages).
KERNEL_TRANSPORT_NOTICE = "[IPKernelApp] WARNING | Kernel is running over TCP without encryption."

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def _toc_files(node) -> list[str]:
    """Every ``file:`` entry of a _toc.yml, in order."""
    out = []
    if isinstance(node, dict):
        if "file" in node:
            out.append(str(node["file"]))
        for value in node.values():
            if isinstance(value, (dict, list)):
                out += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            out += _toc_files(item)
    return out


def _pages(folder: str) -> list[str]:
    """Docnames (no suffix) of the notebooks under ``folder`` that the table of contents lists."""
    files = [f for f in _toc_files(TOC) if f.startswith(folder + "/")]
    return [f[: -len(".ipynb")] if f.endswith(".ipynb") else f for f in files]


CHAPTER_PAGES = _pages("chapters")
EXERCISE_PAGES = _pages("exercises")


def colab_url(docname: str) -> str:
    """The launch link Jupyter Book should write, from _config.yml's repository settings."""
    repo = CONFIG["repository"]
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", repo["url"])
    assert m, f"repository.url in _config.yml is not a GitHub URL: {repo['url']!r}"
    book = str(repo.get("path_to_book") or "").strip("/")
    path = f"{book}/{docname}.ipynb" if book else f"{docname}.ipynb"
    return (f"https://colab.research.google.com/github/{m[1]}/{m[2]}/blob/"
            f"{repo.get('branch', 'main')}/{path}")


def _jupyter_book() -> str:
    here = Path(sys.executable).parent / "jupyter-book"
    if here.exists():
        return str(here)
    found = shutil.which("jupyter-book")
    if not found:
        pytest.fail("jupyter-book is not installed next to this Python "
                    f"({sys.executable}); pip install jupyter-book")
    return found


@pytest.fixture(scope="session")
def book_build():
    """Build the book once per session; returns (exit code, output without colours, seconds)."""
    # Strict claims: a conclusion the text draws that this run does not show fails the build.
    # One chapter at a time: the suite's other worker already keeps the second core busy, and
    # a third TensorFlow process on two cores slows all of them many times over (the
    # assignment's training cell ran past its 900 s limit beside two chapters).
    env = dict(os.environ, RESNET_BOOK_PROFILE="quick", RESNET_BOOK_STRICT_CLAIMS="1",
               PYTHONUNBUFFERED="1", RESNET_BOOK_BUILD_JOBS="1")
    t0 = time.monotonic()
    try:
        proc = subprocess.run([_jupyter_book(), *BUILD_CMD], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"`jupyter-book {' '.join(BUILD_CMD)}` ran past {BUILD_TIMEOUT_S} s "
                    f"(RESNET_BOOK_BUILD_TIMEOUT). Output tail:\n{ANSI.sub('', out)[-4000:]}")
    return proc.returncode, ANSI.sub("", proc.stdout), time.monotonic() - t0


def test_book_builds_without_warnings(book_build):
    code, out, seconds = book_build
    problems = [line for line in out.splitlines() if PROBLEM_LINE.search(line)
                and not line.startswith(KERNEL_TRANSPORT_NOTICE)]
    message = (f"`jupyter-book {' '.join(BUILD_CMD)}` exited {code} after {seconds:.0f} s "
               f"with {len(problems)} WARNING/ERROR line(s):\n" + "\n".join(problems[:60])
               + "\n--- output tail ---\n" + out[-4000:])
    assert code == 0 and not problems, message


@pytest.mark.parametrize("docname", CHAPTER_PAGES)
def test_chapter_ran_top_to_bottom_at_build_time(book_build, docname):
    """The build is where chapters run (nbval does not run them again): every cell, the hidden
    asserts that back the text's claims included. A cell that raises makes the build warn
    "Executing notebook failed" (an error under -W) and write a report; only a run without an
    error enters Jupyter Book's execution cache, which matches the notebook by its content."""
    from jupyter_cache import get_cache

    report = HTML / "reports" / f"{docname}.err.log"
    assert not report.exists(), f"{docname} raised at build time:\n{report.read_text()[-3000:]}"
    cache = get_cache(ROOT / "_build" / ".jupyter_cache")
    try:
        cache.match_cache_file(ROOT / f"{docname}.ipynb")
    except KeyError:
        pytest.fail(f"the build left no successful run of {docname}.ipynb as it is now in the "
                    "execution cache")


# One line per network that rb.train_seeds prints: its figures over the seeds, and how many
# of its seeds' runs came from the run cache.
SEEDS_SUMMARY = re.compile(r"^(?P<label>[^:]+): (?P<seeds>\d+) seeds, (?P<figures>training loss "
                           r".*?), \d+ s(?: \((?P<cached>all|\d+) read from the run cache\))?$")


def _seeds_summaries(docname: str) -> dict:
    """{label: (figures, seeds, seeds read from the run cache)} from the build's run of a
    chapter (Jupyter Book's execution cache)."""
    from jupyter_cache import get_cache

    cache = get_cache(ROOT / "_build" / ".jupyter_cache")
    notebook = cache.get_cache_bundle(cache.match_cache_file(ROOT / f"{docname}.ipynb").pk).nb
    found = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                match = SEEDS_SUMMARY.match(line)
                if match:
                    seeds = int(match["seeds"])
                    cached = seeds if match["cached"] == "all" else int(match["cached"] or 0)
                    found[match["label"]] = (match["figures"], seeds, cached)
    return found


# The same network from the same seeds, reported by several chapters under their own labels.
SHARED_RUNS = {
    "plain-20": {"02_residual_block": "plain-20", "06_what_resnets_do": "plain-20"},
    "plain-56": {"02_residual_block": "plain-56", "03_why_resnets_work": "plain-56",
                 "06_what_resnets_do": "plain-56"},
    "resnet-56": {"02_residual_block": "resnet-56", "03_why_resnets_work": "resnet-56",
                  "06_what_resnets_do": "resnet-56"},
    "resnet-20": {"02_residual_block": "resnet-20", "03_why_resnets_work": "resnet-20",
                  "04_matching_dimensions": "resnet-20 (B)", "06_what_resnets_do": "resnet-20"},
}


@pytest.mark.parametrize("network", SHARED_RUNS)
def test_chapters_report_the_same_runs_trained_once(book_build, network):
    """Chapters 3, 4 and 6 train some of chapter 2's networks from the same seeds: in the build
    every chapter reports the same runs, each trained once (or not at all, where a run cache
    from an earlier build already holds it) and otherwise read from the run cache."""
    reports = {}
    for chapter, label in SHARED_RUNS[network].items():
        summaries = _seeds_summaries(f"chapters/{chapter}")
        assert label in summaries, f"{chapter} printed no line for {label}: {summaries}"
        reports[chapter] = summaries[label]
    figures = {chapter: report[0] for chapter, report in reports.items()}
    assert len(set(figures.values())) == 1, figures
    seeds = {report[1] for report in reports.values()}
    assert seeds == {3}, reports
    trained = sum(seeds_count - cached for _, seeds_count, cached in reports.values())
    assert trained <= 3, (
        f"{network}: {trained} runs trained for 3 seeds ({reports}); each seed should be "
        "trained at most once in a build")


def test_toc_lists_chapters_and_exercises():
    assert CHAPTER_PAGES, "_toc.yml lists no page under chapters/"
    assert EXERCISE_PAGES, "_toc.yml lists no page under exercises/"
    for docname in CHAPTER_PAGES + EXERCISE_PAGES:
        assert (ROOT / f"{docname}.ipynb").exists(), f"_toc.yml lists {docname}, no such .ipynb"


def test_mathjax_is_vendored_not_cdn():
    sphinx_config = CONFIG["sphinx"]["config"]
    assert sphinx_config.get("mathjax_path") == "../mathjax/tex-chtml.js"
    assert "_extra" in sphinx_config.get("html_extra_path", [])
    assert (ROOT / "_extra/mathjax/tex-chtml.js").stat().st_size > 1_000_000
    assert (ROOT / "_extra/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").exists()


@pytest.fixture(scope="session")
def site(book_build):
    """Base URL of _build/html served on 127.0.0.1 (after the session's build)."""
    if not (HTML / "index.html").exists():
        code, out, _ = book_build
        pytest.fail(f"the build (exit {code}) wrote no {HTML}/index.html:\n{out[-3000:]}")
    with br.serve(HTML) as base:
        yield base


@pytest.fixture(scope="session")
def chromium():
    try:
        br.chromium_path()
    except RuntimeError as e:
        pytest.fail(str(e))
    with br.chromium() as browser:
        yield browser


def _check_page(chromium, site, docname: str, *, needs_math: bool) -> list[str]:
    html = HTML / f"{docname}.html"
    assert html.exists(), f"{docname}.ipynb was not built to {html}"
    report = br.inspect_page(chromium, site, f"{docname}.html")
    problems = report.problems()

    mj = report.mathjax
    if mj is None:
        if needs_math:
            problems.append("the page does not load MathJax (no equations rendered as math?)")
    else:
        if not mj.get("loaded"):
            problems.append(f"MathJax script did not start: {mj.get('src')}")
        else:
            if "/mathjax/tex-chtml.js" not in mj["src"] or not mj["src"].startswith(site):
                problems.append(f"MathJax loaded from {mj['src']}, not the vendored copy")
            if mj["failure"]:
                problems.append(f"MathJax failed: {mj['failure']}")
            if needs_math and mj["containers"] == 0:
                problems.append("MathJax typeset no equation (no mjx-container)")
            problems += [f"MathJax could not typeset: {e!r}" for e in mj["errors"]]
            problems += [f"equation left as raw TeX: {t!r}" for t in mj["untypeset"]]

    for img in report.images:
        if not (img["complete"] and img["naturalWidth"] > 0):
            problems.append(f"image did not load: {img['src']} (alt {img['alt']!r})")

    expected = colab_url(docname)
    if not report.colab_links:
        problems.append(f"no Colab launch link; expected {expected}")
    problems += [f"Colab link {href} != {expected}" for href in report.colab_links
                 if href != expected]
    return problems


@pytest.mark.parametrize("docname", CHAPTER_PAGES)
def test_chapter_page_in_browser(chromium, site, docname):
    problems = _check_page(chromium, site, docname, needs_math=True)
    assert not problems, f"{docname}.html:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("docname", EXERCISE_PAGES)
def test_exercise_page_in_browser(chromium, site, docname):
    problems = _check_page(chromium, site, docname, needs_math=False)
    assert not problems, f"{docname}.html:\n  " + "\n  ".join(problems)
