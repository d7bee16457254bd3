"""Chapter 4's figures: the ways a shortcut is matched to a residual block's output shape.

Only drawing lives here; the shortcuts themselves are built in the chapter.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from . import plots

COLOURS = {"weights": "#DCE9F5", "relu": "#F9E0C7", "free": "#E3F1DF", "none": "#FFFFFF"}
EDGE = "#333333"
MAIN_Y, SHORT_Y = 1.0, -0.9

# The four ways, as (panel title, text of the shortcut's box, kind of box, note under it).
SHORTCUT_PANELS = {
    "A": ("(A) zero-padding shortcut", "keep every $s$-th pixel,\nappend $C'-C$ zero channels",
          "free", "no parameters; identity in the other blocks"),
    "B": ("(B) projection where the shape changes",
          "$W_s$: $1\\times1$ conv, stride $s$,\nthen BN", "weights",
          "$C\\,C'$ weights; identity in the other blocks"),
    "C": ("(C) projection on every shortcut",
          "$W_s$: $1\\times1$ conv, stride $s$,\nthen BN", "weights",
          "$C\\,C'$ weights; a projection in every block too"),
    "pool": ("Shortcut across a pooling layer",
             "average-pool $s\\times s$, stride $s$,\nappend $C'-C$ zero channels", "free",
             "no parameters; identity in the other blocks"),
}


def _box(ax, x, y, width, text, kind, height=0.62, fontsize=10):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.1",
                                facecolor=COLOURS[kind], edgecolor=EDGE, linewidth=1.1))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, points, label=None, label_at=0, dy=0.12):
    """A polyline through ``points`` with an arrow head at the end; optional label."""
    points = np.asarray(points, dtype=float)
    for start, end in zip(points[:-2], points[1:-1]):
        ax.plot(*zip(start, end), color=EDGE, linewidth=1.2)
    ax.add_patch(FancyArrowPatch(tuple(points[-2]), tuple(points[-1]), arrowstyle="-|>",
                                 mutation_scale=12, color=EDGE, linewidth=1.2,
                                 shrinkA=0, shrinkB=0))
    if label:
        (x0, y0), (x1, y1) = points[label_at], points[label_at + 1]
        ax.text((x0 + x1) / 2, max(y0, y1) + dy, label, ha="center", va="bottom",
                fontsize=10)


def residual_block_with_shortcut(ax, option="B"):
    """One shape-changing residual block (stride s, C -> C' channels) and its shortcut.

    The main path runs along the top, the shortcut along the bottom through the operation
    that matches its shape to z^[l+2]; ``option`` is "A", "B", "C" or "pool".
    """
    title, text, kind, note = SHORTCUT_PANELS[option]
    add_x, end_x = 11.8, 14.6
    # Main path: two convolutions with BN, a ReLU between them.
    _arrow(ax, [(0, MAIN_Y), (2.0, MAIN_Y)])
    _box(ax, 3.5, MAIN_Y, 3.0, "$3\\times3$ conv, stride $s$\n+ BN", "weights")
    _arrow(ax, [(5.0, MAIN_Y), (5.6, MAIN_Y)])
    _box(ax, 5.95, MAIN_Y, 0.7, "$g$", "relu")
    _arrow(ax, [(6.3, MAIN_Y), (7.2, MAIN_Y)], "$a^{[l+1]}$")
    _box(ax, 8.6, MAIN_Y, 2.8, "$3\\times3$ conv\n+ BN", "weights")
    _arrow(ax, [(10.0, MAIN_Y), (add_x - 0.25, MAIN_Y)], "$z^{[l+2]}$")
    ax.text(10.72, MAIN_Y - 0.12, "$n/s\\times n/s\\times C'$",
            ha="center", va="top", fontsize=8, color="#555555")
    # The sum and the last ReLU.
    ax.add_patch(Circle((add_x, MAIN_Y), 0.25, facecolor="white", edgecolor=EDGE,
                        linewidth=1.1))
    ax.text(add_x, MAIN_Y, "+", ha="center", va="center", fontsize=13)
    _arrow(ax, [(add_x + 0.25, MAIN_Y), (add_x + 0.75, MAIN_Y)])
    _box(ax, add_x + 1.1, MAIN_Y, 0.7, "$g$", "relu")
    _arrow(ax, [(add_x + 1.45, MAIN_Y), (end_x, MAIN_Y)], "$a^{[l+2]}$")
    # The shortcut: down from a^[l], through its operation, up into the sum.
    ax.text(1.0, MAIN_Y + 0.12, "$a^{[l]}$", ha="center", va="bottom", fontsize=11)
    ax.text(1.3, MAIN_Y - 0.12, "$n\\times n\\times C$", ha="center", va="top",
            fontsize=9, color="#555555")
    box_x, box_width = 6.4, 5.4
    _arrow(ax, [(0.5, MAIN_Y), (0.5, SHORT_Y), (box_x - box_width / 2, SHORT_Y)],
            "shortcut", label_at=1, dy=0.08)
    _box(ax, box_x, SHORT_Y, box_width, text, kind, height=0.8, fontsize=10)
    _arrow(ax, [(box_x + box_width / 2, SHORT_Y), (add_x, SHORT_Y),
                (add_x, MAIN_Y - 0.25)])
    ax.text(box_x, SHORT_Y - 0.5, note, ha="center", va="top", fontsize=9.5,
            color="#555555")
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_xlim(-0.1, end_x + 0.1)
    ax.set_ylim(SHORT_Y - 1.05, MAIN_Y + 0.75)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def shortcut_options(options=("A", "B", "C", "pool"), width=9.5):
    """A figure with one panel per way of matching the shortcut; returns (fig, axes)."""
    fig, axes = plt.subplots(len(options), 1, figsize=(width, 2.45 * len(options)))
    axes = np.atleast_1d(axes).ravel()
    for ax, option in zip(axes, options):
        residual_block_with_shortcut(ax, option)
    fig.tight_layout()
    return fig, axes


RUN_STYLES = ("-", "--", "-.", ":")
RUN_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#8172B3")


def training_loss_by_run(runs, ax=None, title="Training loss per epoch"):
    """Training loss against epoch, one colour and line style per run, whatever the depth.

    ``rb.plots.training_loss`` colours by depth, so two networks of the same depth would look
    alike; this plot tells them apart.
    """
    styles = {label: {"color": RUN_COLOURS[index % len(RUN_COLOURS)],
                      "linestyle": RUN_STYLES[index % len(RUN_STYLES)]}
              for index, label in enumerate(runs)}
    return plots.training_loss(runs, ax, title, styles=styles)
