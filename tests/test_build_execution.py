"""The build's extension executes stale notebooks two at a time before Sphinx reads them,
and points the run cache beside the execution cache (book_tools/sphinx_ext.py).

A two-page Sphinx project with myst-nb in cache mode, as Jupyter Book configures it (no cache
path: myst-nb's default, ``_build/.jupyter_cache``, applies): both
notebooks run ahead, side by side (each sleeps, so together they take less than one after the
other), myst-nb then reads them from the execution cache, their kernels saw
``RESNET_BOOK_RUN_CACHE`` and had their share of the cores as TensorFlow's thread counts, and
a notebook that fails still fails the build with myst-nb's own warning.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import nbformat

from book_tools.repository import ROOT

SLEEP_S = 6


def _notebook(path, source):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"),
                nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)


def _project(folder, second_source, *, pages=("one", "two"), conf=""):
    folder.mkdir()
    (folder / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "extensions = ['myst_nb', 'book_tools.sphinx_ext']\n"
        "nb_execution_mode = 'cache'\n"
        "nb_execution_timeout = 120\n"
        "exclude_patterns = ['_build']\n" + conf)
    toctree = "\n".join(pages)
    (folder / "index.md").write_text(f"# Book\n\n```{{toctree}}\n{toctree}\n```\n")
    def report(name):
        return ("import os, time\n"
                f"time.sleep({SLEEP_S})\n"
                f"print('{name}: run cache at', os.environ.get('RESNET_BOOK_RUN_CACHE'))\n"
                f"print('{name}: threads', os.environ.get('TF_NUM_INTRAOP_THREADS'),"
                " os.environ.get('TF_NUM_INTEROP_THREADS'))\n")

    _notebook(folder / "one.ipynb", report("one"))
    _notebook(folder / "two.ipynb", second_source or report("two"))


def _build(folder):
    start = time.monotonic()
    env = {**os.environ, "RESNET_BOOK_BUILD_JOBS": "2"}
    for name in ("RESNET_BOOK_RUN_CACHE", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", str(folder),
                           str(folder / "_build" / "html")], env=env, cwd=folder,
                          capture_output=True, text=True, timeout=600)
    return proc, time.monotonic() - start


def test_stale_notebooks_run_side_by_side_and_come_from_the_cache(tmp_path):
    folder = tmp_path / "book"
    _project(folder, None)
    proc, seconds = _build(folder)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "executing 2 notebooks, 2 at a time" in out, out[-3000:]
    assert "one.ipynb executed ahead" in out and "two.ipynb executed ahead" in out
    assert out.count("Using cached notebook") == 2, out[-3000:]
    assert "Executing notebook using" not in out   # myst-nb ran nothing itself
    page = (folder / "_build" / "html" / "one.html").read_text()
    assert f"one: run cache at {folder / '_build' / '.run_cache'}" in page, page[-2000:]
    # Two kernels share the cores: each has half of them as TensorFlow's threads.
    share = max(1, (os.cpu_count() or 1) // 2)
    assert f"one: threads {share} {share}" in page, page[-2000:]
    # Side by side: the two sleeps overlapped (one after the other takes 2 * SLEEP_S alone).
    assert seconds < 2 * SLEEP_S + 25, seconds
    again, _ = _build(folder)
    assert again.returncode == 0 and "executing" not in again.stdout   # nothing stale


def test_a_notebook_that_fails_ahead_still_fails_the_build(tmp_path):
    folder = tmp_path / "book"
    _project(folder, "raise RuntimeError('this page is broken')")
    proc, _ = _build(folder)
    out = proc.stdout + proc.stderr
    assert "two.ipynb failed when executed ahead" in out, out[-3000:]
    assert proc.returncode != 0 and "Executing notebook failed" in out, out[-3000:]


def test_the_pages_named_to_execute_first_start_first(tmp_path):
    """With two at a time, ``resnet_book_execute_first`` decides which notebooks start first:
    named ``three``, it starts beside ``one``, and ``two`` (second in file order) waits."""
    folder = tmp_path / "book"
    started = tmp_path / "started.txt"
    _project(folder, None, pages=("one", "two", "three"),
             conf="resnet_book_execute_first = ['three']\n")
    for name in ("one", "two", "three"):
        _notebook(folder / f"{name}.ipynb",
                  f"import time\nwith open({str(started)!r}, 'a') as f:\n"
                  f"    f.write('{name}\\n')\ntime.sleep({SLEEP_S})\n")
    proc, _ = _build(folder)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "executing 3 notebooks, 2 at a time: three.ipynb, one.ipynb, two.ipynb" in out
    assert started.read_text().split()[-1] == "two", started.read_text()


def test_a_page_misnamed_to_execute_first_fails_the_build(tmp_path):
    folder = tmp_path / "book"
    _project(folder, None, conf="resnet_book_execute_first = ['chapters/one']\n")
    proc, _ = _build(folder)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "resnet_book_execute_first names no page: chapters/one" in out, out[-3000:]
