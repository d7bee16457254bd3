"""Look at the built book in headless Chromium, offline.

Shared by ``tests/test_book.py`` and ``benchmarks/screenshot.py``: serve ``_build/html`` from a
local HTTP server thread, open pages in Debian's Chromium through Playwright, refuse every request
that does not go to that server, and record what went wrong on the page (console errors, uncaught
exceptions, outside requests, local files that failed to load).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .repository import BUILD_HTML as HTML_DIR

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING_CHROMIUM = (
    "Chromium is needed to check the built pages and was not found at {where}. "
    "Install it with `apt-get install chromium` (Debian's package; .ci/run does this), "
    "or point CHROMIUM=/path/to/chromium at another build."
)


def chromium_path() -> str:
    """Path of the Chromium to drive; raises RuntimeError (never skips) when there is none."""
    candidates = [os.environ["CHROMIUM"]] if os.environ.get("CHROMIUM") else list(CHROMIUM_CANDIDATES)
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    raise RuntimeError(MISSING_CHROMIUM.format(where=", ".join(candidates)))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@contextlib.contextmanager
def serve(directory: Path = HTML_DIR) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at a free port; yields the base URL (ends with '/')."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} does not exist: build the book first "
                                "(jupyter-book build .)")
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def chromium() -> Iterator["playwright.sync_api.Browser"]:  # noqa: F821
    """Headless Debian Chromium driven by Playwright."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageReport:
    """What one page did while it loaded."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_local: list[str] = field(default_factory=list)
    mathjax: dict | None = None
    images: list[dict] = field(default_factory=list)
    colab_links: list[str] = field(default_factory=list)
    wide_code: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = [f"console error: {m}" for m in self.console_errors]
        out += [f"uncaught page error: {m}" for m in self.page_errors]
        out += [f"request outside the local server (blocked): {u}" for u in self.external_requests]
        out += [f"local file failed to load: {u}" for u in self.failed_local]
        out += [f"code runs past its box on the right: {line!r}" for line in self.wide_code]
        return out


# Waits for MathJax (when the page loads it) to finish its first typesetting pass, then reports
# how many equations it rendered and which of them it could not parse.
_MATHJAX_JS = """
async () => {
  const script = document.querySelector('script[src*="tex-chtml"]');
  if (!script) return null;
  const t0 = performance.now();
  while (!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)) {
    if (performance.now() - t0 > 20000) return {loaded: false, src: script.src};
    await new Promise(r => setTimeout(r, 50));
  }
  let failure = null;
  try { await window.MathJax.startup.promise; } catch (e) { failure = String(e && e.message || e); }
  const containers = Array.from(document.querySelectorAll('mjx-container'));
  const bad = containers.filter(c => c.querySelector('mjx-merror, merror'));
  return {
    loaded: true,
    src: script.src,
    version: window.MathJax.version,
    containers: containers.length,
    failure,
    errors: bad.map(c => (c.getAttribute('data-mjx-error')
                          || (c.querySelector('mjx-merror, merror') || c).textContent || '').slice(0, 200)),
    untypeset: Array.from(document.querySelectorAll('span.math, div.math'))
      .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 200)),
  };
}
"""

# The longest line of every code cell's input that is wider than its box (the reader would
# have to scroll sideways to read it).
_WIDE_CODE_JS = """
() => Array.from(document.querySelectorAll('div.cell_input pre'))
  .filter(pre => pre.clientWidth > 0 && pre.scrollWidth > pre.clientWidth + 1)
  .map(pre => pre.textContent.split('\\n')
    .reduce((a, b) => (b.length > a.length ? b : a), '').slice(0, 120))
"""

# Loads every image (lazy ones included) and reports whether it decoded.
_IMAGES_JS = """
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) img.loading = 'eager';
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener('load', resolve, {once: true});
    img.addEventListener('error', resolve, {once: true});
    setTimeout(resolve, 10000);
  })));
  return imgs.map(img => ({src: img.getAttribute('src'), complete: img.complete,
                           naturalWidth: img.naturalWidth, alt: img.alt}));
}
"""


@contextlib.contextmanager
def open_page(browser, base_url: str, rel_path: str, *, viewport=(1280, 900)):
    """Open ``rel_path`` under ``base_url`` in a fresh context; yields (page, report).

    Every request that does not go to ``base_url`` is aborted and recorded.
    """
    url = base_url + rel_path
    report = PageReport(url=url)
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  service_workers="block")

    def route(r):
        if r.request.url.startswith(base_url):
            r.continue_()
        else:
            report.external_requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: report.console_errors.append(
        f"{m.text} (at {m.location.get('url', '?')}:{m.location.get('lineNumber', '?')})")
        if m.type == "error" else None)
    page.on("pageerror", lambda e: report.page_errors.append(str(e)))
    page.on("response", lambda r: report.failed_local.append(f"{r.url} (HTTP {r.status})")
            if r.url.startswith(base_url) and r.status >= 400 else None)
    page.on("requestfailed", lambda r: report.failed_local.append(f"{r.url} ({r.failure})")
            if r.url.startswith(base_url) else None)
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        yield page, report
    finally:
        context.close()


def inspect_page(browser, base_url: str, rel_path: str) -> PageReport:
    """Load a page and collect everything the tests check about it."""
    with open_page(browser, base_url, rel_path) as (page, report):
        report.mathjax = page.evaluate(_MATHJAX_JS)
        report.images = page.evaluate(_IMAGES_JS)
        report.wide_code = page.evaluate(_WIDE_CODE_JS)
        report.colab_links = page.eval_on_selector_all(
            'a[href^="https://colab.research.google.com"]', "els => els.map(a => a.href)")
        # Let late requests (fonts MathJax asks for after typesetting) arrive and be recorded.
        page.wait_for_load_state("networkidle", timeout=15_000)
    return report


def screenshot(rel_path: str, out: Path, *, html_dir: Path = HTML_DIR, width: int = 1280,
               full_page: bool = True) -> PageReport:
    """Write a PNG screenshot of a built page, after MathJax typeset it; returns its report."""
    with serve(html_dir) as base, chromium() as browser:
        with open_page(browser, base, rel_path, viewport=(width, 900)) as (page, report):
            report.mathjax = page.evaluate(_MATHJAX_JS)
            report.images = page.evaluate(_IMAGES_JS)
            report.wide_code = page.evaluate(_WIDE_CODE_JS)
            page.wait_for_load_state("networkidle", timeout=15_000)
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=full_page)
    return report
