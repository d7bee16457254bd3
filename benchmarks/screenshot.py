"""Full-page PNG screenshot of a built book page, taken offline in headless Debian Chromium.

    python -m benchmarks.screenshot [PAGE] [OUT.png] [--width 1280]

PAGE is a path under _build/html (default chapters/01_plain_block.html); OUT defaults to
benchmarks/results/<page>.png. Build the book first (jupyter-book build .). The page is served from
127.0.0.1 and every other request is refused, as in tests/test_book.py; problems the page had
(console errors, blocked requests, MathJax errors, images that did not load) are printed, and the
exit status is 1 when there were any.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from book_tools.repository import ROOT

from book_tools import browser as br


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", nargs="?", default="chapters/01_plain_block.html")
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--width", type=int, default=1280, help="viewport width in CSS pixels")
    parser.add_argument("--html-dir", type=Path, default=br.HTML_DIR)
    args = parser.parse_args(argv)

    out = args.out or ROOT / "benchmarks" / "results" / (Path(args.page).stem + ".png")
    if not (args.html_dir / args.page).exists():
        print(f"{args.html_dir / args.page} does not exist: build the book first "
              "(jupyter-book build .)", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    try:
        report = br.screenshot(args.page, out, html_dir=args.html_dir, width=args.width)
    except RuntimeError as e:  # no Chromium
        print(e, file=sys.stderr)
        return 2
    problems = report.problems()
    mj = report.mathjax
    if mj and mj.get("loaded"):
        problems += [f"MathJax failed: {mj['failure']}"] if mj["failure"] else []
        problems += [f"MathJax could not typeset: {e!r}" for e in mj["errors"]]
        problems += [f"equation left as raw TeX: {t!r}" for t in mj["untypeset"]]
        math = f"MathJax {mj.get('version')}: {mj['containers']} equations"
    else:
        math = "no MathJax on the page" if mj is None else f"MathJax did not start: {mj}"
    problems += [f"image did not load: {i['src']}" for i in report.images
                 if not (i["complete"] and i["naturalWidth"] > 0)]
    print(f"wrote {out} in {time.monotonic() - t0:.1f} s; {math}; {len(report.images)} images")
    for p in problems:
        print("  problem:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
