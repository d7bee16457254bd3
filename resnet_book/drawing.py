"""The book's one palette and the drawing primitives its diagrams are built from.

Every figure takes its colours from ``PALETTE``, so a colour means the same thing in every
chapter: light fills for the boxes of block diagrams, dark green for shortcuts and residual
networks, one strong colour per network in plots of runs.
"""
from __future__ import annotations

from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

PALETTE = {
    # Fills of diagram boxes.
    "light blue": "#DCE9F5",
    "light orange": "#F9E0C7",
    "light green": "#E2F0D9",
    "light purple": "#E8E0F3",
    "white": "#FFFFFF",
    # Ink: outlines, arrows, notes, reference lines, shortcuts.
    "ink": "#333333",
    "dim ink": "#555555",
    "grey": "#808080",
    "dark green": "#2E7D32",
    # Lines of plots.
    "blue": "#4C72B0",
    "orange": "#DD8452",
    "green": "#55A868",
    "purple": "#8172B3",
    "olive": "#CCB974",
    "red": "#C44E52",
    "cyan": "#64B5CD",
}
INK = PALETTE["ink"]


def line(ax, points, colour=INK, linewidth=1.6):
    """One unbroken line through ``points``."""
    xs, ys = zip(*points)
    ax.plot(xs, ys, color=colour, linewidth=linewidth)


def arrow(ax, points, label=None, *, colour=INK, linewidth=1.4, head=16, shrink=2.0,
          label_at=0, label_gap=0.22, fontsize=14):
    """An arrow along ``points`` (two or more), its head at the last point.

    The segments before the last are drawn one by one, so corners stay square. ``label`` sits
    above the middle of segment ``label_at``. ``head`` is the head's size in points, or None for
    a plain line; ``shrink`` is how far, in points, the arrow stops short of its two ends.
    """
    points = [tuple(point) for point in points]
    for start, end in zip(points[:-2], points[1:-1]):
        line(ax, [start, end], colour, linewidth)
    ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-" if head is None else "-|>",
                                 mutation_scale=1 if head is None else head, color=colour,
                                 linewidth=linewidth, shrinkA=shrink, shrinkB=shrink))
    if label:
        (x0, y0), (x1, y1) = points[label_at], points[label_at + 1]
        ax.text((x0 + x1) / 2, max(y0, y1) + label_gap, label, ha="center", va="bottom",
                fontsize=fontsize)


def box(ax, centre, width, height, text, fill, *, edge=INK, rounding=0.15, linewidth=1.3,
        fontsize=14):
    """A rounded box of ``width`` x ``height`` centred on ``centre``, with ``text`` in it."""
    x, y = centre
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle=f"round,pad=0.02,rounding_size={rounding}",
                                facecolor=fill, edgecolor=edge, linewidth=linewidth))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def adder(ax, centre, radius, fill, text=r"$+$", *, linewidth=1.3, fontsize=14):
    """The circle where a shortcut joins the main path, with ``text`` (a plus) in it."""
    ax.add_patch(Circle(centre, radius, facecolor=fill, edgecolor=INK, linewidth=linewidth))
    ax.text(*centre, text, ha="center", va="center", fontsize=fontsize)
