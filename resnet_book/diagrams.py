"""Block diagrams: boxes for operations, arrows labelled with the tensors between them.

The blocks of chapters 1, 2 and 5 are drawn in a row, one size for every chapter (the
bottleneck block, eleven operations long, writes a size smaller to fit its width, or is drawn
top to bottom to fit a page); chapter 4's panels show how a shortcut is matched to a block whose
output has another shape. Chapter 2's whole networks, plain and residual side by side, are
drawn from the Keras models themselves, by walking their graphs. Only drawing lives here: the
blocks and networks themselves are built in the chapters.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import keras
import matplotlib.pyplot as plt
import numpy as np

from .drawing import PALETTE, adder, arrow, box, line

# The fill of a box says what the operation is: weights, activation, normalisation, or an
# operation without weights (the sum, and the shortcuts that only pad or pool).
OPERATION_COLOURS = {"linear": PALETTE["light blue"], "conv": PALETTE["light blue"],
                     "relu": PALETTE["light orange"], "bn": PALETTE["light purple"],
                     "add": PALETTE["light green"], "free": PALETTE["light green"]}
OPERATION_NAMES = {"linear": "linear map", "relu": "ReLU", "add": "add", "conv": "convolution",
                   "bn": "batch norm"}
SHORTCUT_COLOUR = PALETTE["dark green"]
NOTE_COLOUR = PALETTE["dim ink"]
FONT_SIZE = 14
ARROW = 1.9  # length of the arrows between operations, in data units


def _operation(ax, x, text, kind, width, height=0.9, fontsize=FONT_SIZE, y=0):
    if kind == "add":
        adder(ax, (x, y), width / 2, OPERATION_COLOURS[kind], text, fontsize=FONT_SIZE)
    else:
        box(ax, (x, y), width, height, text, OPERATION_COLOURS[kind], fontsize=fontsize)


def _chain(ax, operations, tensors, arrow_length=ARROW, height=0.9, fontsize=FONT_SIZE):
    """Draw operations left to right with the tensors on the arrows; return box centres.

    ``arrow_length`` is one length for every arrow, or a length per arrow; ``height`` and
    ``fontsize`` are those of the boxes.
    """
    lengths = np.broadcast_to(arrow_length, len(tensors))
    x, centres = lengths[0], []
    arrow(ax, [(0, 0), (x, 0)], tensors[0])
    for (text, kind, width), tensor, length in zip(operations, tensors[1:], lengths[1:]):
        centres.append(x + width / 2)
        _operation(ax, x + width / 2, text, kind, width, height, fontsize)
        x += width
        arrow(ax, [(x, 0), (x + length, 0)], tensor)
        x += length
    for centre, (_, kind, _) in zip(centres, operations):
        if kind != "add" and centre == min(c for c, op in zip(centres, operations)
                                           if op[1] == kind):
            ax.text(centre, -height / 2 - 0.3, OPERATION_NAMES[kind], ha="center", va="top",
                    fontsize=11, color=NOTE_COLOUR)
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
    ax.set_ylim(-1.2, 1.2)
    return ax


def residual_block(ax=None):
    """The residual block: the plain block plus a shortcut that adds a^[l] before the last g."""
    ax = ax or plt.gca()
    centres = _chain(ax, [LAYER_1, RELU, LAYER_2, (r"$+$", "add", 0.8), RELU],
                     [r"$a^{[l]}$", r"$z^{[l+1]}$", r"$a^{[l+1]}$", r"$z^{[l+2]}$", "",
                      r"$a^{[l+2]}$"])
    start, plus, top = ARROW * 0.8, centres[3], 1.6
    line(ax, [(start, 0), (start, top), (plus, top)], SHORTCUT_COLOUR)
    arrow(ax, [(plus, top), (plus, 0.4)], colour=SHORTCUT_COLOUR)
    ax.text((start + plus) / 2, top + 0.12, r"shortcut: $a^{[l]}$", ha="center", va="bottom",
            fontsize=FONT_SIZE - 1, color=SHORTCUT_COLOUR)
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


# The channels of a bottleneck block: its input's, then each convolution's filters (F_1, F_2,
# F_3). With an identity shortcut, a block of ResNet-50's first stage (conv2_x); with a projection,
# the first block of its second stage (conv3_1), which widens 256 channels to 512.
BOTTLENECK_CHANNELS = {False: (256, 64, 64, 256), True: (256, 128, 128, 512)}


def bottleneck_block(ax=None, projection=False, channels=None, vertical=False):
    """The bottleneck block: 1x1, f x f and 1x1 convolutions, each followed by batch norm,
    ReLU after the first two, and the shortcut added before the last ReLU. With
    ``projection`` the shortcut is a 1x1 convolution with stride s and batch norm (W_s).

    ``channels`` is (input channels, F_1, F_2, F_3), by default ``BOTTLENECK_CHANNELS``: the
    boxes give each convolution's filters, the arrows in and out the channels of a^[l] and
    a^[l+3]. ``vertical`` draws the block top to bottom with the shortcut at its side, for a
    figure of ``VERTICAL_FIGSIZE`` with a constrained layout; the row needs 14 x 2.8 inches,
    which a page shrinks until its text is too small to read."""
    ax = ax or plt.gca()
    inputs, f1, f2, f3 = channels or BOTTLENECK_CHANNELS[projection]
    if vertical:
        return _bottleneck_column(ax, projection, inputs, f1, f2, f3)
    # The stride gets a line of its own: one more line costs less of the figure's width, the
    # scarcer dimension at the book's 14 x 2.8 inches, than a wider box.
    stride, height = ("\nstride $s$", 2.0) if projection else ("", 1.5)
    bn, relu = ("BN", "bn", 1.0), (r"$g$", "relu", 0.8)
    operations = [(f"1×1 conv\n$F_1$ = {f1}{stride}", "conv", 2.6), bn, relu,
                  (f"$f{{\\times}}f$ conv, same\n$F_2$ = {f2}", "conv", 3.9), bn, relu,
                  (f"1×1 conv\n$F_3$ = {f3}", "conv", 2.6), bn, (r"$+$", "add", 0.8), relu]
    lengths = [2.4] + [1.2] * 9 + [2.4]
    centres = _chain(ax, operations, [r"$a^{[l]}$"] + [""] * 9 + [r"$a^{[l+3]}$"],
                     arrow_length=lengths, height=height, fontsize=FONT_SIZE - 2)
    end = centres[-1] + relu[2] / 2 + lengths[-1]
    for x, count in [(lengths[0] / 2, inputs), (end - lengths[-1] / 2, f3)]:
        ax.text(x, -0.15, f"{count} ch", ha="center", va="top", fontsize=11,
                color=NOTE_COLOUR)
    start, plus, top = 0.3, centres[8], height / 2 + 1.15
    if projection:
        middle, width = (start + plus) / 2 - 1, 8.2
        line(ax, [(start, 0), (start, top), (middle - width / 2, top)], SHORTCUT_COLOUR)
        box(ax, (middle, top), width, 0.9, f"1×1 conv, stride $s$, $F_3$ = {f3}; BN",
            OPERATION_COLOURS["conv"], edge=SHORTCUT_COLOUR, fontsize=FONT_SIZE - 2)
        line(ax, [(middle + width / 2, top), (plus, top)], SHORTCUT_COLOUR)
        label = r"projection shortcut $W_s a^{[l]}$"
    else:
        line(ax, [(start, 0), (start, top), (plus, top)], SHORTCUT_COLOUR)
        label = r"identity shortcut $a^{[l]}$"
    arrow(ax, [(plus, top), (plus, 0.4)], colour=SHORTCUT_COLOUR)
    ax.text(plus - 0.2, top + 0.55, label, ha="right", va="bottom", fontsize=FONT_SIZE - 2,
            color=SHORTCUT_COLOUR)
    ax.set_ylim(-height / 2 - 0.9, top + 1.45)
    return ax


# The vertical block is laid out in inches of a VERTICAL_FIGSIZE figure with a constrained
# layout, where one data unit comes out at about an inch: the text, sized in points, then fits
# the boxes. Its PNG is about 5 inches wide, so a page 690 pixels wide shows it at full size.
VERTICAL_FIGSIZE = (5.5, 7)
COLUMN_GAP = 0.2     # length of the arrows between operations, in inches
COLUMN_ENDS = 0.5    # length of the arrows in and out, beside which a^[l] and a^[l+3] are named


def _column(ax, operations, top, fontsize):
    """Draw (text, kind, width, height) operations down the line x = 0 from ``top``, an arrow
    between each two; return their centres' heights and the bottom of the last."""
    y, centres = top, []
    for index, (text, kind, width, height) in enumerate(operations):
        if index:
            arrow(ax, [(0, y), (0, y - COLUMN_GAP)], head=12)
            y -= COLUMN_GAP
        centres.append(y - height / 2)
        _operation(ax, 0, text, kind, width, height, fontsize, y=y - height / 2)
        y -= height
    return centres, y


def _bottleneck_column(ax, projection, inputs, f1, f2, f3):
    fontsize, note = FONT_SIZE - 2, FONT_SIZE - 3
    stride = ", stride $s$" if projection else ""
    conv, bn, relu = (2.7, 0.4), ("BN", "bn", 0.7, 0.32), (r"$g$", "relu", 0.5, 0.32)
    operations = [(f"1×1 conv{stride}, $F_1$ = {f1}", "conv", *conv), bn, relu,
                  (f"$f{{\\times}}f$ conv, same, $F_2$ = {f2}", "conv", *conv), bn, relu,
                  (f"1×1 conv, $F_3$ = {f3}", "conv", *conv), bn,
                  (r"$+$", "add", 0.36, 0.36), relu]
    centres, bottom = _column(ax, operations, -COLUMN_ENDS, fontsize)
    end = bottom - COLUMN_ENDS
    arrow(ax, [(0, 0), (0, -COLUMN_ENDS)])
    arrow(ax, [(0, bottom), (0, end)])
    for y, tensor, count in [(-COLUMN_ENDS / 2, r"$a^{[l]}$", inputs),
                             ((bottom + end) / 2, r"$a^{[l+3]}$", f3)]:
        ax.text(-0.15, y + 0.02, tensor, ha="right", va="bottom", fontsize=fontsize)
        ax.text(-0.15, y - 0.02, f"{count} ch", ha="right", va="top", fontsize=note,
                color=NOTE_COLOUR)
    # Only the abbreviations are named: the convolutions' boxes say what they are.
    for index in (1, 2):
        _, kind, width, _ = operations[index]
        ax.text(-width / 2 - 0.15, centres[index], OPERATION_NAMES[kind], ha="right",
                va="center", fontsize=note, color=NOTE_COLOUR)
    # The shortcut leaves the input arrow, runs down the right side and enters the sum.
    side, split, plus, radius = 1.75, -0.15, centres[8], operations[8][2] / 2
    line(ax, [(0, split), (side, split)], SHORTCUT_COLOUR)
    if projection:
        # Between the second and third convolutions, where the main path's boxes are narrow.
        middle, width, height = (centres[4] + centres[5]) / 2, 1.8, 0.62
        line(ax, [(side, split), (side, middle + height / 2)], SHORTCUT_COLOUR)
        box(ax, (side, middle), width, height, f"1×1 conv, stride $s$\n$F_3$ = {f3}; BN",
            OPERATION_COLOURS["conv"], edge=SHORTCUT_COLOUR, fontsize=fontsize)
        line(ax, [(side, middle - height / 2), (side, plus)], SHORTCUT_COLOUR)
        label = "projection shortcut\n$W_s a^{[l]}$"
    else:
        line(ax, [(side, split), (side, plus)], SHORTCUT_COLOUR)
        label = "identity shortcut\n$a^{[l]}$"
    arrow(ax, [(side, plus), (radius, plus)], colour=SHORTCUT_COLOUR, head=12)
    ax.text(side + 0.12, centres[1], label, ha="left", va="center", fontsize=fontsize,
            color=SHORTCUT_COLOUR, linespacing=1.4)
    ax.set_xlim(-1.45, 3.45)
    ax.set_ylim(end - 0.05, 0.05)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# Chapter 4's panels are smaller than the blocks above: thinner outlines and arrows, smaller text.
PANEL_BOX = dict(rounding=0.1, linewidth=1.1, fontsize=10)
PANEL_ARROW = dict(head=12, linewidth=1.2, shrink=0, label_gap=0.12, fontsize=10)
MAIN_Y, SHORT_Y = 1.0, -0.9

# The ways to match a shortcut, as (panel title, text of the shortcut's box, kind of box, note
# under it).
SHORTCUT_PANELS = {
    "A": ("(A) zero-padding shortcut", "keep every $s$-th pixel,\nappend $C'-C$ zero channels",
          "free", "no parameters; identity in the other blocks"),
    "B": ("(B) projection where the shape changes",
          "$W_s$: $1\\times1$ conv, stride $s$,\nthen BN", "conv",
          "$C\\,C'$ weights; identity in the other blocks"),
    "C": ("(C) projection on every shortcut",
          "$W_s$: $1\\times1$ conv, stride $s$,\nthen BN", "conv",
          "$C\\,C'$ weights; a projection in every block too"),
    "pool": ("Shortcut across a pooling layer",
             "average-pool $s\\times s$, stride $s$,\nappend $C'-C$ zero channels", "free",
             "no parameters; identity in the other blocks"),
}


def _panel_box(ax, x, y, width, text, kind, height=0.62):
    box(ax, (x, y), width, height, text, OPERATION_COLOURS[kind], **PANEL_BOX)


def residual_block_with_shortcut(ax, option="B"):
    """One shape-changing residual block (stride s, C -> C' channels) and its shortcut.

    The main path runs along the top, the shortcut along the bottom through the operation
    that matches its shape to z^[l+2]; ``option`` is "A", "B", "C" or "pool".
    """
    title, text, kind, note = SHORTCUT_PANELS[option]
    add_x, end_x = 11.8, 14.6
    # Main path: two convolutions with BN, a ReLU between them.
    arrow(ax, [(0, MAIN_Y), (2.0, MAIN_Y)], **PANEL_ARROW)
    _panel_box(ax, 3.5, MAIN_Y, 3.0, "$3\\times3$ conv, stride $s$\n+ BN", "conv")
    arrow(ax, [(5.0, MAIN_Y), (5.6, MAIN_Y)], **PANEL_ARROW)
    _panel_box(ax, 5.95, MAIN_Y, 0.7, "$g$", "relu")
    arrow(ax, [(6.3, MAIN_Y), (7.2, MAIN_Y)], "$a^{[l+1]}$", **PANEL_ARROW)
    _panel_box(ax, 8.6, MAIN_Y, 2.8, "$3\\times3$ conv\n+ BN", "conv")
    arrow(ax, [(10.0, MAIN_Y), (add_x - 0.25, MAIN_Y)], "$z^{[l+2]}$", **PANEL_ARROW)
    ax.text(10.72, MAIN_Y - 0.12, "$n/s\\times n/s\\times C'$",
            ha="center", va="top", fontsize=8, color=NOTE_COLOUR)
    # The sum and the last ReLU.
    adder(ax, (add_x, MAIN_Y), 0.25, PALETTE["white"], "+", linewidth=1.1, fontsize=13)
    arrow(ax, [(add_x + 0.25, MAIN_Y), (add_x + 0.75, MAIN_Y)], **PANEL_ARROW)
    _panel_box(ax, add_x + 1.1, MAIN_Y, 0.7, "$g$", "relu")
    arrow(ax, [(add_x + 1.45, MAIN_Y), (end_x, MAIN_Y)], "$a^{[l+2]}$", **PANEL_ARROW)
    # The shortcut: down from a^[l], through its operation, up into the sum.
    ax.text(1.0, MAIN_Y + 0.12, "$a^{[l]}$", ha="center", va="bottom", fontsize=11)
    ax.text(1.3, MAIN_Y - 0.12, "$n\\times n\\times C$", ha="center", va="top",
            fontsize=9, color=NOTE_COLOUR)
    box_x, box_width = 6.4, 5.4
    arrow(ax, [(0.5, MAIN_Y), (0.5, SHORT_Y), (box_x - box_width / 2, SHORT_Y)],
          "shortcut", label_at=1, **{**PANEL_ARROW, "label_gap": 0.08})
    _panel_box(ax, box_x, SHORT_Y, box_width, text, kind, height=0.8)
    arrow(ax, [(box_x + box_width / 2, SHORT_Y), (add_x, SHORT_Y), (add_x, MAIN_Y - 0.25)],
          **PANEL_ARROW)
    ax.text(box_x, SHORT_Y - 0.5, note, ha="center", va="top", fontsize=9.5,
            color=NOTE_COLOUR)
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


# Chapter 2's whole networks: plain-20 beside ResNet-20, each drawn from its keras.Model. Laid
# out in inches, like the vertical bottleneck block: one data unit is one inch of the figure,
# so the text, sized in points, fits its boxes whatever the depth.
NETWORK_BOX = (1.55, 0.25)      # width, height of a box on the main path
NETWORK_COLUMNS = 2.15          # from the first column's centre to the second's
NETWORK_ARC = 1.62              # from a column's centre to the line its shortcuts run down
NETWORK_SIDE_BOX = (1.3, 0.25)  # a box on a shortcut: a 1x1 projection, or zero-padding
NETWORK_GAP = 0.15              # the arrow into a box
NETWORK_STEP = 0.09             # the arrow into an adder, or down to where a shortcut leaves
NETWORK_ADDER = 0.08            # radius of the + where a shortcut joins
NETWORK_FONT, NETWORK_NOTE, NETWORK_TITLE = 9.5, 9, 11
NETWORK_ARROW = dict(head=8, linewidth=1.0, shrink=0)
NETWORK_BOX_STYLE = dict(rounding=0.05, linewidth=1.0, fontsize=NETWORK_FONT)
NETWORK_COLOURS = {"plain": PALETTE["red"], "residual": PALETTE["dark green"]}


@dataclass
class DrawnNetwork:
    """What :func:`network_pair` drew for one network, found by walking its graph.

    ``boxes``: the texts of the boxes on the main path, input to output; ``convolutions``: how
    many of them are convolutions; ``adders``: the + signs; ``shortcuts``: the arcs, one per
    ``Add`` layer; ``projections``: the convolutions drawn on arcs; ``free_shortcuts``: the
    boxes on arcs that reshape without weights (zero-padding); ``stages``: the brackets'
    labels, one per group of convolutions after the first with the same filters and map size.
    """
    name: str
    boxes: list = field(default_factory=list)
    convolutions: int = 0
    adders: int = 0
    shortcuts: int = 0
    projections: int = 0
    free_shortcuts: int = 0
    stages: list = field(default_factory=list)


def _graph(model):
    """The model's operations, each after those it reads, and the operations feeding each.

    Walks back from the outputs through each tensor's Keras history (the node of the operation
    that made it), so it follows this model's own wiring.
    """
    def made_by(tensor):
        history = tensor._keras_history
        return history.operation, history.node_index

    parents, order = {}, []
    stack = [made_by(tensor) for tensor in model.outputs]
    while stack:
        operation, node_index = stack[-1]
        if operation in parents:
            stack.pop()
            continue
        inputs = [made_by(tensor)
                  for tensor in operation._inbound_nodes[node_index].input_tensors]
        waiting = [pair for pair in inputs if pair[0] not in parents]
        if waiting:
            stack.extend(waiting)
            continue
        stack.pop()
        parents[operation] = list(dict.fromkeys(parent for parent, _ in inputs))
        order.append(operation)
    return order, parents


def _paths(model):
    """(main path, shortcuts) of a model. Where branches join, the main path takes the one
    through the most convolutions; each other branch is a shortcut, (the operation where it
    leaves the main path, the operations on it in order, the operation where it joins)."""
    order, parents = _graph(model)
    convolutions = {}
    for operation in order:
        convolutions[operation] = isinstance(operation, keras.layers.Conv2D) + max(
            (convolutions[parent] for parent in parents[operation]), default=0)
    main, joins = [order[-1]], []
    while parents[main[-1]]:
        branch = max(parents[main[-1]], key=convolutions.get)
        joins += [(main[-1], other) for other in parents[main[-1]] if other is not branch]
        main.append(branch)
    main.reverse()
    on_main, shortcuts = set(main), []
    for join, operation in joins:
        path = []
        while operation not in on_main:
            path.append(operation)
            operation = parents[operation][0]
        shortcuts.append((operation, path[::-1], join))
    return main, shortcuts


def _conv_text(conv):
    (height, width), stride = conv.kernel_size, max(conv.strides)
    return f"{height}×{width} conv, {conv.filters}" + (f", /{stride}" if stride > 1 else "")


def _box_text(operation):
    """The text of an operation's box on the main path, or None where it is folded into the
    box before it (batch norm, ReLU) or not drawn."""
    if isinstance(operation, keras.layers.Conv2D):
        return _conv_text(operation)
    if isinstance(operation, keras.layers.Dense):
        return f"dense, {operation.units}"
    if isinstance(operation, keras.layers.GlobalAveragePooling2D):
        return "global avg pool"
    if isinstance(operation, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
        kind = "max" if isinstance(operation, keras.layers.MaxPooling2D) else "avg"
        (height, width), stride = operation.pool_size, max(operation.strides)
        return f"{height}×{width} {kind} pool" + (f", /{stride}" if stride > 1 else "")
    return None


def _map_size(operation):
    height, width = operation.output.shape[1:3]
    return f"{height}×{width}"


def _layout(model):
    """The main path as rows: each box with what comes between it and the box before, in
    order: ("add", Add layer) for a +, ("fork", operation) where a shortcut leaves."""
    main, shortcuts = _paths(model)
    forks = {id(fork) for fork, _, _ in shortcuts}
    rows, between = [], []
    for operation in main:
        text = _box_text(operation)
        if text is not None:
            rows.append({"text": text, "operation": operation, "before": between})
            between = []
        elif isinstance(operation, keras.layers.Add):
            between.append(("add", operation))
        elif (isinstance(operation, keras.layers.Activation) and rows
              and not between):
            name = getattr(operation.activation, "__name__", "")
            if name not in ("relu", "linear"):
                rows[-1]["text"] += f", {name}"
        if id(operation) in forks:
            between.append(("fork", operation))
    if between:  # a + or a fork after the last box
        rows.append({"text": None, "operation": None, "before": between})
    return rows, shortcuts


def _gap(before):
    """The height the things between two boxes need."""
    return NETWORK_GAP + sum(NETWORK_STEP + (2 * NETWORK_ADDER if kind == "add" else 0)
                             for kind, _ in before)


def _shortcut_box(fork, path, join):
    """(text, kind) of the box on a shortcut, or None for an identity shortcut."""
    convs = [op for op in path if isinstance(op, keras.layers.Conv2D)]
    if convs:
        return "; ".join(_conv_text(conv) for conv in convs), "conv"
    if not path:
        return None
    pools = [f"{'max' if isinstance(op, keras.layers.MaxPooling2D) else 'avg'} pool"
             for op in path
             if isinstance(op, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D))]
    pads = any(type(op).__name__ == "Pad" for op in path)
    parts = pools + (["pad" if pools else "zero-pad"] if pads else [])
    before, after = fork.output.shape[1], join.output.shape[1]
    if before and after and before != after:
        parts.append(f"/{before // after}")
    return ", ".join(parts) or "reshape", "free"


def _draw_network(ax, model, layout, x, bottom, tops, drawn):
    """Draw one network, laid out by :func:`_layout`, down the line ``x`` from ``bottom``, the
    foot of its input's shape, its boxes' tops at ``tops``; count what it draws in ``drawn``."""
    rows, shortcuts = layout
    width, height = NETWORK_BOX
    at = {}  # id of an operation -> the height where it was drawn
    # The input: its shape above the first arrow.
    shape = "×".join(str(size) for size in model.inputs[0].shape[1:])
    ax.text(x, bottom + 0.04, f"input, {shape}", ha="center", va="bottom",
            fontsize=NETWORK_NOTE, color=NOTE_COLOUR)
    for row, top in zip(rows, tops):
        y = bottom
        for kind, operation in row["before"]:
            if kind == "add":
                arrow(ax, [(x, y), (x, y - NETWORK_STEP)], **NETWORK_ARROW)
                y -= NETWORK_STEP + NETWORK_ADDER
                adder(ax, (x, y), NETWORK_ADDER, OPERATION_COLOURS["add"], "+",
                      linewidth=1.0, fontsize=NETWORK_FONT)
                ax.patches[-1].set_gid("adder")
                at[id(operation)] = y
                y -= NETWORK_ADDER
                drawn.adders += 1
            else:
                y -= NETWORK_STEP
                at[id(operation)] = y
        if row["text"] is None:
            break
        arrow(ax, [(x, y), (x, top)], **NETWORK_ARROW)
        kind = "conv" if isinstance(row["operation"], keras.layers.Conv2D) else "linear"
        box(ax, (x, top - height / 2), width, height, row["text"],
            OPERATION_COLOURS[kind], **NETWORK_BOX_STYLE)
        ax.patches[-1].set_gid("conv" if kind == "conv" else "box")
        drawn.boxes.append(row["text"])
        drawn.convolutions += kind == "conv"
        bottom = top - height
    # The shortcuts: right from where each leaves, down the side, left into its +.
    side_width, side_height = NETWORK_SIDE_BOX
    side = x + NETWORK_ARC
    for fork, path, join in shortcuts:
        start, end = at[id(fork)], at[id(join)]
        label = _shortcut_box(fork, path, join)
        points = [(x, start), (side, start)]
        ax.plot([x], [start], "o", color=SHORTCUT_COLOUR, markersize=3.5)
        if label is not None:
            middle = (start + end) / 2
            line(ax, points + [(side, middle + side_height / 2)], SHORTCUT_COLOUR,
                 linewidth=1.1)
            text, kind = label
            box(ax, (side, middle), side_width, side_height, text, OPERATION_COLOURS[kind],
                edge=SHORTCUT_COLOUR, **NETWORK_BOX_STYLE)
            ax.patches[-1].set_gid("projection" if kind == "conv" else "free shortcut")
            drawn.projections += kind == "conv"
            drawn.free_shortcuts += kind == "free"
            points = [(side, middle - side_height / 2)]
        arrow(ax, points + [(side, end), (x + NETWORK_ADDER, end)], colour=SHORTCUT_COLOUR,
              **{**NETWORK_ARROW, "linewidth": 1.1})
        ax.patches[-1].set_gid("shortcut")
        drawn.shortcuts += 1


def _stages(rows):
    """Groups of consecutive convolutions after the first with the same filters and map
    size: (filters, map size, index of the first row, index of the last)."""
    groups = []
    for index, row in enumerate(rows[1:], start=1):
        operation = row["operation"]
        if not isinstance(operation, keras.layers.Conv2D):
            continue
        key = (operation.filters, _map_size(operation))
        if groups and tuple(groups[-1][:2]) == key and groups[-1][3] == index - 1:
            groups[-1][3] = index
        else:
            groups.append([*key, index, index])
    return groups


def network_pair(left, right, fig=None):
    """Two built keras.Models side by side, top to bottom, drawn from their graphs.

    Each network is a column of its weight layers (a convolution's box stands for the
    convolution with the batch norm and ReLU after it; "/2" marks a stride of 2), global
    average pooling and the dense layer. Where the graph adds two branches (an ``Add`` layer),
    the branch with fewer convolutions is drawn as a shortcut: an arc from where it leaves the
    main path to a + on it, with a box for each 1x1 projection on its way (or for the
    zero-padding of shortcut option A). Brackets at the left mark the stages: the convolutions
    after the first, grouped by filters and map size. Twins (the same main path) are drawn row
    by row, so each layer sits beside its counterpart.

    ``fig`` (a new figure by default) is resized to fit the drawing: about 6.3 inches wide
    and, for ResNet-20, 13 inches tall. Returns ``(fig, [DrawnNetwork of left, of right])``.
    """
    models = (left, right)
    layouts = [_layout(model) for model in models]
    column_rows = [rows for rows, _ in layouts]
    stages = [_stages(rows) for rows in column_rows]
    texts = [[row["text"] for row in rows] for rows in column_rows]
    twins = texts[0] == texts[1]
    width, height = NETWORK_BOX
    top = -0.45  # below the titles and the input's shape
    tops_of = []
    for rows in column_rows:
        # Twins' rows are spaced alike: each gap as wide as the wider of the two needs.
        tops, y = [], top
        for index in range(len(rows)):
            y -= max([_gap(both[index]["before"]) for both in (column_rows if twins else [rows])]
                     + [0.25] * (index == 0))
            tops.append(y)
            y -= height
        tops_of.append(tops)
    bottom = min(tops[-1] for tops in tops_of) - height
    left_edge = -width / 2 - 1.05
    right_edge = NETWORK_COLUMNS + NETWORK_ARC + NETWORK_SIDE_BOX[0] / 2 + 0.05
    notes = _network_notes(layouts, texts)
    note_lines = sum(note.count("\n") + 1 for note in notes)
    lowest = bottom - 0.25 - 0.19 * note_lines
    size = (right_edge - left_edge, 0.1 - lowest)
    fig = fig or plt.figure()
    fig.set_size_inches(*size)
    ax = fig.add_axes((0, 0, 1, 1))
    drawn = []
    for index, (model, layout, tops) in enumerate(zip(models, layouts, tops_of)):
        x = index * NETWORK_COLUMNS
        network = DrawnNetwork(model.name)
        _draw_network(ax, model, layout, x, top, tops, network)
        residual = network.shortcuts > 0
        title = model.name.replace("resnet", "ResNet")
        ax.text(x, -0.05, title, ha="center", va="top", fontsize=NETWORK_TITLE,
                fontweight="bold", color=NETWORK_COLOURS["residual" if residual else "plain"])
        network.stages = [f"{filters} filters, {maps}"
                          for filters, maps, _, _ in stages[index]]
        drawn.append(network)
    # The stages, bracketed beside the first column (the second's rows are level with them).
    bracket = -width / 2 - 0.1
    for number, (filters, maps, first, last) in enumerate(stages[0], start=1):
        high, low = tops_of[0][first], tops_of[0][last] - height
        line(ax, [(bracket + 0.06, high), (bracket, high), (bracket, low),
                  (bracket + 0.06, low)], NOTE_COLOUR, linewidth=1.0)
        ax.text(bracket - 0.08, (high + low) / 2,
                f"stage {number}\n{filters} filters\n{maps} maps", ha="right",
                va="center", fontsize=NETWORK_NOTE, color=NOTE_COLOUR, linespacing=1.3)
    y = bottom - 0.25
    for note in notes:
        ax.text(left_edge + 0.05, y, note, ha="left", va="top", fontsize=NETWORK_NOTE,
                color=NOTE_COLOUR, linespacing=1.35)
        y -= 0.19 * (note.count("\n") + 1)
    ax.set_xlim(left_edge, right_edge)
    ax.set_ylim(lowest, 0.1)
    ax.axis("off")
    return fig, drawn


def _network_notes(layouts, texts):
    """The legend under the networks: what a box folds in, and the shortcuts' boxes drawn."""
    notes = ["A 3×3 conv box is a convolution, batch norm and ReLU (in a residual block the\n"
             "second ReLU comes after the +)"
             + ("; /2: stride 2, which halves the maps." if any(
                 "/2" in text for column in texts for text in column if text) else ".")]
    shortcuts = [box for _, paths in layouts for fork, path, join in paths
                 for box in [_shortcut_box(fork, path, join)] if box]
    if any(kind == "conv" for _, kind in shortcuts):
        notes.append("A 1×1 conv box on a shortcut is a projection: convolution and batch "
                     "norm.")
    if any(kind == "free" for _, kind in shortcuts):
        notes.append("A green box on a shortcut reshapes without weights: it subsamples "
                     "(or pools) the maps\nand appends zero channels.")
    return notes
