"""Block diagrams drawn with matplotlib: boxes for operations, labelled arrows for tensors."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

OPERATION_COLOURS = {"linear": "#DCE9F5", "relu": "#F9E0C7", "add": "#E2F0D9",
                     "conv": "#DCE9F5", "bn": "#E8E0F3"}
OPERATION_NAMES = {"linear": "linear map", "relu": "ReLU", "add": "add", "conv": "convolution",
                   "bn": "batch norm"}
FONT_SIZE = 14
ARROW = 1.9  # length of the arrows between operations, in data units


def _box(ax, x, text, kind, width, height=0.9):
    if kind == "add":
        ax.add_patch(Circle((x, 0), width / 2, facecolor=OPERATION_COLOURS[kind],
                            edgecolor="#333333", linewidth=1.3))
    else:
        ax.add_patch(FancyBboxPatch((x - width / 2, -height / 2), width, height,
                                    boxstyle="round,pad=0.02,rounding_size=0.15",
                                    facecolor=OPERATION_COLOURS[kind], edgecolor="#333333",
                                    linewidth=1.3))
    ax.text(x, 0, text, ha="center", va="center", fontsize=FONT_SIZE)


def _arrow(ax, start, end, label=None, **style):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=16,
                                 color=style.pop("color", "#333333"), linewidth=1.4, **style))
    if label:
        ax.text((start[0] + end[0]) / 2, start[1] + 0.22, label, ha="center", va="bottom",
                fontsize=FONT_SIZE)


def _chain(ax, operations, tensors, arrow=ARROW):
    """Draw operations left to right with the tensors on the arrows; return box centres."""
    x, centres = arrow, []
    _arrow(ax, (0, 0), (x, 0), tensors[0])
    for (text, kind, width), tensor in zip(operations, tensors[1:]):
        centres.append(x + width / 2)
        _box(ax, x + width / 2, text, kind, width)
        x += width
        _arrow(ax, (x, 0), (x + arrow, 0), tensor)
        x += arrow
    for centre, (_, kind, _) in zip(centres, operations):
        if kind != "add" and centre == min(c for c, op in zip(centres, operations)
                                           if op[1] == kind):
            ax.text(centre, -0.75, OPERATION_NAMES[kind], ha="center", va="top",
                    fontsize=11, color="#555555")
    ax.set_xlim(-0.1, x + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    return centres


LAYER_1 = (r"$W^{[l+1]}, b^{[l+1]}$", "linear", 4.0)
LAYER_2 = (r"$W^{[l+2]}, b^{[l+2]}$", "linear", 4.0)
RELU = (r"$g$", "relu", 1.0)


def plain_block(ax=None):
    """The two-layer plain block: a^[l] -> linear -> ReLU -> linear -> ReLU -> a^[l+2].

    Boxes are operations (a linear map with its weights, or the ReLU g); the tensors of the
    equations label the arrows between them.
    """
    ax = ax or plt.gca()
    _chain(ax, [LAYER_1, RELU, LAYER_2, RELU],
           [r"$a^{[l]}$", r"$z^{[l+1]}$", r"$a^{[l+1]}$", r"$z^{[l+2]}$", r"$a^{[l+2]}$"])
    ax.set_ylim(-1.2, 0.9)
    return ax


def residual_block(ax=None):
    """The residual block: the plain block plus a shortcut that adds a^[l] before the last g."""
    ax = ax or plt.gca()
    centres = _chain(ax, [LAYER_1, RELU, LAYER_2, (r"$+$", "add", 0.8), RELU],
                     [r"$a^{[l]}$", r"$z^{[l+1]}$", r"$a^{[l+1]}$", r"$z^{[l+2]}$", "",
                      r"$a^{[l+2]}$"])
    start, plus, top = ARROW * 0.8, centres[3], 1.6
    ax.plot([start, start, plus], [0, top, top], color="#2E7D32", linewidth=1.6)
    _arrow(ax, (plus, top), (plus, 0.4), color="#2E7D32")
    ax.text((start + plus) / 2, top + 0.12, r"shortcut: $a^{[l]}$", ha="center", va="bottom",
            fontsize=FONT_SIZE - 1, color="#2E7D32")
    ax.set_ylim(-1.2, top + 0.8)
    return ax


def plain_and_residual(fig=None):
    """The plain block above the residual block, on one scale, for comparison."""
    fig = fig or plt.figure(figsize=(10, 4.8))
    plain_ax, residual_ax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [2.1, 3.8]})
    plain_block(plain_ax)
    residual_block(residual_ax)
    plain_ax.set_xlim(residual_ax.get_xlim())
    plain_ax.set_title("plain block", loc="left", fontsize=12)
    residual_ax.set_title("residual block", loc="left", fontsize=12)
    return fig


def bottleneck_block(ax=None, projection=False):
    """The bottleneck block: 1x1, f x f and 1x1 convolutions, each followed by batch norm,
    ReLU after the first two, and the shortcut added before the last ReLU. With
    ``projection`` the shortcut is a 1x1 convolution with stride s and batch norm (W_s)."""
    ax = ax or plt.gca()
    bn, relu = ("BN", "bn", 1.1), (r"$g$", "relu", 0.8)
    operations = [("1x1 conv\n$F_1$" + (", stride $s$" if projection else ""), "conv",
                   3.0 if projection else 2.2), bn, relu,
                  ("$f{\\times}f$ conv\n$F_2$, same", "conv", 2.6), bn, relu,
                  ("1x1 conv\n$F_3$", "conv", 2.2), bn, (r"$+$", "add", 0.8), relu]
    centres = _chain(ax, operations, [r"$a^{[l]}$"] + [""] * 9 + [r"$a^{[l+3]}$"], arrow=1.25)
    ax.add_patch(FancyArrowPatch((-1.4, 0), (0.05, 0), arrowstyle="-", color="#333333",
                                 linewidth=1.4))   # a longer input arrow: room for its label
    start, plus, top = -0.5, centres[8], 1.8
    colour = "#2E7D32"
    if projection:
        middle = (start + plus) / 2
        ax.plot([start, start, middle - 2.6], [0, top, top], color=colour, linewidth=1.6)
        ax.add_patch(FancyBboxPatch((middle - 2.6, top - 0.45), 5.2, 0.9,
                                    boxstyle="round,pad=0.02,rounding_size=0.15",
                                    facecolor=OPERATION_COLOURS["conv"], edgecolor=colour,
                                    linewidth=1.3))
        ax.text(middle, top, "1x1 conv $F_3$, stride $s$; BN", ha="center", va="center",
                fontsize=FONT_SIZE - 2)
        ax.plot([middle + 2.6, plus], [top, top], color=colour, linewidth=1.6)
        label = r"projection shortcut $W_s a^{[l]}$"
    else:
        ax.plot([start, start, plus], [0, top, top], color=colour, linewidth=1.6)
        label = r"identity shortcut $a^{[l]}$"
    _arrow(ax, (plus, top), (plus, 0.4), color=colour)
    ax.text(plus - 0.2, top + 0.55, label, ha="right", va="bottom", fontsize=FONT_SIZE - 2,
            color=colour)
    ax.set_xlim(-1.5, ax.get_xlim()[1])
    ax.set_ylim(-1.2, top + 1.2)
    return ax
