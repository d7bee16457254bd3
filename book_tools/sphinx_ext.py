"""A Sphinx extension for the book's build: the run cache, chapters executed two at a time, the
citation styles, and no duplicated inline scripts.

**The run cache.** Runs that several chapters report are trained once per build: the build
sets ``$RESNET_BOOK_RUN_CACHE`` to ``_build/.run_cache`` (beside Jupyter Book's execution
cache, so ``rm -rf _build`` empties both) before any notebook runs, and the kernels inherit it
(see :mod:`resnet_book.run_cache`).

**Chapters two at a time.** myst-nb executes the notebooks one after another as Sphinx reads
them, and much of a chapter's time is TensorFlow tracing training steps on one core. Before
Sphinx reads anything, this extension executes the notebooks that the execution cache does not
hold yet, ``$RESNET_BOOK_BUILD_JOBS`` at a time (default: the number of cores, at most 2), and
stores them in that cache; myst-nb then finds them there. A notebook that fails here is not
stored, so myst-nb runs it again itself and reports the failure as it always does. The pages
named in the configuration value ``resnet_book_execute_first`` start first, in its order (the
longest chapters, so that no long one starts last while the other job sits idle); the rest
follow in file order. Each kernel gets its share of the cores as TensorFlow's thread counts.

**Citations.** It registers the author-year citation and bibliography styles of
:mod:`book_tools.citations` ("He et al., 2016a" and "2016b" where two entries would read alike),
which ``_config.yml`` names in ``bibtex_reference_style`` and ``bibtex_default_style``.

Under Sphinx 7.4, sphinx-thebe's inline configuration script (``const THEBE_JS_URL = ...``)
is written into every page twice, and the second copy throws "Identifier 'THEBE_JS_URL' has
already been declared" in the reader's browser console. A page needs each script once.
"""
import contextlib
import os


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # The two copies differ only in filename (None and ""): both mean "inline".
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique


RUN_CACHE_VARIABLE = "RESNET_BOOK_RUN_CACHE"   # resnet_book.run_cache.CACHE_VARIABLE
JOBS_VARIABLE = "RESNET_BOOK_BUILD_JOBS"


def _execution_cache(app):
    """The folder myst-nb keeps executed notebooks in, or None where it does not cache."""
    # myst-nb resolves its configuration when the builder is ready; Jupyter Book leaves the
    # path empty, and myst-nb then uses _build/.jupyter_cache (beside the HTML folder).
    config = app.env.mystnb_config
    if config.execution_mode != "cache":
        return None
    from pathlib import Path

    return Path(config.execution_cache_path).resolve()


def _set_run_cache(app):
    folder = _execution_cache(app)
    if folder is not None:
        os.environ.setdefault(RUN_CACHE_VARIABLE, str(folder.parent / ".run_cache"))


THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def thread_share(jobs: int) -> dict:
    """TensorFlow's thread counts for one of ``jobs`` processes that share the cores: each
    gets ``cores // jobs`` (at least one), so that two processes on two cores do not run
    four threads that take turns. The test suite's workers use it too (``conftest.py``)."""
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    return {name: threads for name in THREAD_VARIABLES}


@contextlib.contextmanager
def _threads_per_kernel(jobs):
    """Kernels started inside get their :func:`thread_share` of the cores, where the
    environment does not already say."""
    added = {name: value for name, value in thread_share(jobs).items()
             if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _execute_in_parallel(app, env, docnames):
    folder = _execution_cache(app)
    jobs = int(os.environ.get(JOBS_VARIABLE, "") or min(2, os.cpu_count() or 1))
    if folder is None or jobs < 2:
        return
    import concurrent.futures
    import copy
    import fnmatch
    import time
    from pathlib import Path

    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    config = app.env.mystnb_config
    excluded = config.execution_excludepatterns
    cache = get_cache(str(folder))
    first = list(app.config.resnet_book_execute_first)
    unknown = [name for name in first if name not in env.found_docs]
    if unknown:
        logger.warning(f"resnet_book_execute_first names no page: {', '.join(unknown)} "
                       "(give each as a path from the book's root without its suffix, e.g. "
                       "chapters/02_residual_block)")
    stale = []
    for docname in sorted(docnames):
        path = Path(env.doc2path(docname))
        relative = path.relative_to(app.srcdir).as_posix()
        if path.suffix != ".ipynb" or any(fnmatch.fnmatch(relative, pattern)
                                          for pattern in excluded):
            continue
        notebook = nbformat.read(path, as_version=4)
        try:
            cache.match_cache_notebook(notebook)
        except KeyError:
            stale.append((docname, path, notebook))
    if len(stale) < 2:
        return
    stale.sort(key=lambda item: first.index(item[0]) if item[0] in first else len(first))

    def execute(path, notebook):
        start = time.perf_counter()
        executed = copy.deepcopy(notebook)
        result = single_nb_execution(
            executed, cwd=str(path.parent), timeout=config.execution_timeout,
            allow_errors=config.execution_allow_errors, meta_override=True)
        # The cache matches a page by its code and metadata as read, which running changes
        # (the kernel's language_info): keep the outputs under the page's own metadata.
        executed.metadata = notebook.metadata
        for ran, read in zip(executed.cells, notebook.cells):
            ran.metadata = read.metadata
        return path, executed, result, time.perf_counter() - start

    logger.info(f"executing {len(stale)} notebooks, {jobs} at a time: "
                + ", ".join(path.name for _, path, _ in stale))
    with _threads_per_kernel(jobs), concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(execute, path, notebook) for _, path, notebook in stale]
        for future in concurrent.futures.as_completed(futures):
            path, notebook, result, seconds = future.result()
            if result.err is not None:
                logger.info(f"{path.name} failed when executed ahead ({seconds:.0f} s); "
                            "it runs again as the page is read")
                continue
            record = cache.add_nb_to_project(str(path))
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook, record.uri, data={"execution_seconds": result.time}),
                check_validity=False, overwrite=True)
            logger.info(f"{path.name} executed ahead in {seconds:.0f} s")


def setup(app):
    # Imported here, not at the top: conftest.py imports this module for thread_share, and
    # pybtex and sphinxcontrib-bibtex need not load in every test process. sphinxcontrib-bibtex
    # looks its styles up by name when the builder starts, after every extension's setup.
    from . import citations

    citations.register()
    app.add_config_value("resnet_book_execute_first", [], "env", types=[list])
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    # After myst-nb's own handler (priority 500), which resolves the execution cache's path.
    app.connect("builder-inited", _set_run_cache, priority=900)
    app.connect("env-before-read-docs", _execute_in_parallel)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
