"""Block diagrams drawn with matplotlib: boxes for operations, labelled arrows for tensors."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

OPERATION_COLOURS = {"linear": "#DCE9F5", "relu": "#F9E0C7"}
FONT_SIZE = 15


def _box(ax, x, text, kind, width, height=0.9):
    ax.add_patch(FancyBboxPatch((x - width / 2, -height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.15",
                                facecolor=OPERATION_COLOURS[kind], edgecolor="#333333",
                                linewidth=1.3))
    ax.text(x, 0, text, ha="center", va="center", fontsize=FONT_SIZE)


def _arrow(ax, x_from, x_to, label=None):
    ax.add_patch(FancyArrowPatch((x_from, 0), (x_to, 0), arrowstyle="-|>", mutation_scale=16,
                                 color="#333333", linewidth=1.4))
    if label:
        ax.text((x_from + x_to) / 2, 0.22, label, ha="center", va="bottom", fontsize=FONT_SIZE)


def plain_block(ax=None):
    """The two-layer plain block: a^[l] -> linear -> ReLU -> linear -> ReLU -> a^[l+2].

    Boxes are operations (a linear map with its weights, or the ReLU g); the tensors of the
    equations label the arrows between them.
    """
    ax = ax or plt.gca()
    operations = [(r"$W^{[l+1]}, b^{[l+1]}$", "linear", 3.6), (r"$g$", "relu", 1.0),
                  (r"$W^{[l+2]}, b^{[l+2]}$", "linear", 3.6), (r"$g$", "relu", 1.0)]
    tensors = [r"$a^{[l]}$", r"$z^{[l+1]}$", r"$a^{[l+1]}$", r"$z^{[l+2]}$", r"$a^{[l+2]}$"]
    arrow = 1.9
    x = arrow  # the first arrow runs from 0 to the first box
    _arrow(ax, 0, x, tensors[0])
    for (text, kind, width), tensor in zip(operations, tensors[1:]):
        _box(ax, x + width / 2, text, kind, width)
        x += width
        _arrow(ax, x, x + arrow, tensor)
        x += arrow
    ax.text(arrow + 1.8, -0.75, "linear map", ha="center", va="top", fontsize=11,
            color="#555555")
    ax.text(arrow + 3.6 + arrow + 0.5, -0.75, "ReLU", ha="center", va="top", fontsize=11,
            color="#555555")
    ax.set_xlim(-0.1, x + 0.1)
    ax.set_ylim(-1.2, 0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
