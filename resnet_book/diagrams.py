"""Block diagrams drawn with matplotlib: boxes for layers, arrows for the data flow."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

LAYER_COLOURS = {"linear": "#DCE9F5", "relu": "#F9E0C7", "tensor": "white"}


def _box(ax, x, y, text, kind, width=1.5, height=0.8):
    style = "round,pad=0.02,rounding_size=0.12"
    edge = "none" if kind == "tensor" else "#333333"
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle=style, facecolor=LAYER_COLOURS[kind],
                                edgecolor=edge, linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=12)


def _arrow(ax, start, end, **style):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                 color="#333333", linewidth=1.3, **style))


def plain_block(ax=None):
    """The two-layer plain block: a^[l] -> linear -> ReLU -> linear -> ReLU -> a^[l+2]."""
    ax = ax or plt.gca()
    steps = [
        (r"$a^{[l]}$", "tensor"),
        (r"$z^{[l+1]} = W^{[l+1]} a^{[l]} + b^{[l+1]}$", "linear"),
        (r"$a^{[l+1]} = g(z^{[l+1]})$", "relu"),
        (r"$z^{[l+2]} = W^{[l+2]} a^{[l+1]} + b^{[l+2]}$", "linear"),
        (r"$a^{[l+2]} = g(z^{[l+2]})$", "relu"),
    ]
    widths = [0.9, 3.9, 2.7, 4.1, 2.7]
    gap, x = 0.45, 0.0
    centres = []
    for width in widths:
        centres.append(x + width / 2)
        x += width + gap
    for (text, kind), centre, width in zip(steps, centres, widths):
        _box(ax, centre, 0, text, kind, width=width)
    for (c1, w1), (c2, w2) in zip(zip(centres, widths), zip(centres[1:], widths[1:])):
        _arrow(ax, (c1 + w1 / 2, 0), (c2 - w2 / 2, 0))
    ax.text(centres[1], -0.75, "linear (dense or convolution)", ha="center", fontsize=9,
            color="#555555")
    ax.text(centres[2], -0.75, "ReLU: $g(z) = \\max(0, z)$", ha="center", fontsize=9,
            color="#555555")
    ax.set_xlim(-0.2, x - gap + 0.2)
    ax.set_ylim(-1.1, 0.7)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
