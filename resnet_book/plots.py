"""Plots of run results: training curves, errors against depth, per-layer and per-block values.

Each plot colours its lines by one of three rules, named in its docstring:

- by depth (the default): the colour of ``DEPTH_COLOURS`` for the depth a label names, so
  plain-56 looks the same in every figure of the book;
- by network: ``NETWORK_STYLES``, one colour and line style per network, for figures that
  compare networks of the same depth (plain-56, ResNet-56, a zero-initialised ResNet-56);
- by run: the i-th run gets the i-th entry of ``RUN_STYLES``, for runs that differ in neither
  depth nor kind.

Where a label maps to a list of runs, one per seed (what :func:`resnet_book.train_seeds`
returns), the plots of runs draw every seed: a thin line each, and their mean drawn as the
label's line; :func:`error_by_depth` draws the mean with a band from the lowest to the highest
seed and a dot per seed.
"""
from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.text import Text
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from .drawing import PALETTE

DEPTH_COLOURS = {8: PALETTE["blue"], 20: PALETTE["green"], 32: PALETTE["purple"],
                 44: PALETTE["olive"], 56: PALETTE["red"], 110: PALETTE["cyan"]}
NETWORK_STYLES = {
    "plain-56": dict(color=PALETTE["red"], linestyle="--"),
    "resnet-20": dict(color=PALETTE["green"], linestyle="-"),
    "resnet-56": dict(color=PALETTE["blue"], linestyle="-"),
    "resnet-56-zero": dict(color=PALETTE["purple"], linestyle="-."),
}
RUN_STYLES = (dict(color=PALETTE["blue"], linestyle="-"),
              dict(color=PALETTE["orange"], linestyle="--"),
              dict(color=PALETTE["green"], linestyle="-."),
              dict(color=PALETTE["purple"], linestyle=":"))
# error_by_depth: one line per kind of network.
PLAIN_COLOUR, RESIDUAL_COLOUR = PALETTE["red"], PALETTE["dark green"]
REFERENCE_COLOUR = PALETTE["ink"]

_DEPTH = re.compile(r"[^\s-]+-(\d+)")


def depth_of(label: str) -> int | None:
    """The depth a label names: the number after the first dash ("plain-56",
    "resnet-56 zero γ", "resnet-20 (A)"); None when the label names none."""
    match = _DEPTH.match(label)
    return int(match[1]) if match else None


def _colour(label: str):
    # None leaves the line to Matplotlib's colour cycle: a depth the book does not train.
    return DEPTH_COLOURS.get(depth_of(label))


def _seeds(run_or_runs) -> list:
    """The runs of one label: a list of seeds' runs as it is, a single run as a list of one."""
    return list(run_or_runs) if isinstance(run_or_runs, (list, tuple)) else [run_or_runs]


def _curves(ax, runs, key, label, style, scale=lambda values: values):
    """One label's curve of ``history[key]``: each seed thin, the mean (or the one run) bold."""
    seeds = _seeds(runs)
    curves = np.array([scale(np.asarray(run.history[key], dtype=float)) for run in seeds])
    epochs = np.arange(1, curves.shape[1] + 1)
    if len(seeds) > 1:
        thin = {k: v for k, v in style.items() if k != "linestyle"}
        for curve in curves:
            ax.plot(epochs, curve, linewidth=0.8, alpha=0.45, **thin)
        label = f"{label} (mean of {len(seeds)} seeds)"
    ax.plot(epochs, curves.mean(axis=0), marker="o", markersize=3, label=label, **style)


class _LineLabel(Text):
    """The label of a horizontal line, at the right edge of the axes.

    Where it goes is decided when the figure is drawn, from the y-limits it is drawn with (a
    notebook may set them, or share them with another axes, after the plot is made): above the
    line where the frame has room for it, below where it has not, and not at all where the
    line is out of view, so that it never pokes out of the frame.
    """

    GAP = 3  # points between the line and the text

    def __init__(self, ax, value, text, **kwargs):
        super().__init__(0.99, value, text, ha="right", **kwargs)
        self.value = value
        ax.add_artist(self)
        self._place(above=True)

    def _place(self, above):
        shift = ScaledTranslation(0, (1 if above else -1) * self.GAP / 72,
                                  self.axes.figure.dpi_scale_trans)
        self.set_transform(blended_transform_factory(self.axes.transAxes, self.axes.transData)
                           + shift)
        self.set_verticalalignment("bottom" if above else "top")

    def draw(self, renderer):
        low, high = sorted(self.axes.get_ylim())
        if not low <= self.value <= high:
            return
        self._place(above=True)
        # The white box around the text must fit too; its pad is a fraction of the font size.
        pad = renderer.points_to_pixels(self.get_bbox_patch().get_boxstyle().pad
                                        * self.get_size())
        if self.get_window_extent(renderer).y1 + pad > self.axes.bbox.y1:
            self._place(above=False)
        super().draw(renderer)


def _chance_line(ax, value=np.log(10), text="chance: ln 10"):
    # Above the curves and dark on any of their colours: a network at chance runs along it, and
    # its curve must still show between the dots.
    ax.axhline(value, color=REFERENCE_COLOUR, linestyle=(0, (1.5, 2.5)), linewidth=1.4,
               zorder=3)
    # Autoscaled axes leave room for the label above the line, where it covers no curve that
    # ends at or below chance; with y-limits set by hand the label finds its own place.
    ax.update_datalim([(1, value * 1.08)], updatex=False)
    ax.autoscale_view(scalex=False)
    _LineLabel(ax, value, text, color=REFERENCE_COLOUR, fontsize=9, zorder=3,
               bbox=dict(facecolor=PALETTE["white"], edgecolor="none", alpha=0.8, pad=1))


def training_loss(runs, ax=None, title="Training loss per epoch", styles=None):
    """Training loss against epoch, one line per label (``{label: TrainingRun}`` or
    ``{label: [TrainingRun per seed]}``).

    Lines are coloured by depth unless ``styles`` gives a label its own Matplotlib style.
    """
    ax = ax or plt.gca()
    for label, run in runs.items():
        style = (styles or {}).get(label) or {"color": _colour(label)}
        _curves(ax, run, "loss", label, style)
    _chance_line(ax)
    ax.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title=title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    return ax


def training_loss_by_network(runs, ax=None, title="Training loss per epoch"):
    """Training loss against epoch, styled by network (``NETWORK_STYLES``); other labels are
    coloured by depth."""
    return training_loss(runs, ax, title, styles=NETWORK_STYLES)


def training_loss_by_run(runs, ax=None, title="Training loss per epoch"):
    """Training loss against epoch, styled by run: one colour and line style per run, whatever
    the depth, so two networks of the same depth look different."""
    styles = {label: RUN_STYLES[index % len(RUN_STYLES)] for index, label in enumerate(runs)}
    return training_loss(runs, ax, title, styles=styles)


def _kind_colour(label: str):
    return PLAIN_COLOUR if label.startswith("plain") else RESIDUAL_COLOUR


def _seeds_and_mean(ax, network, values, style, geometric):
    """One network's per-layer values, ``[value per layer]`` or ``[[value per layer] per
    seed]``: the mean bold (geometric where ``geometric``), each seed thin in its colour."""
    values = np.asarray(values, dtype=float)
    seeds = values[None] if values.ndim == 1 else values
    positions = np.arange(1, seeds.shape[1] + 1)
    label = network
    if len(seeds) > 1:
        label = (f"{network} ({'geometric mean' if geometric else 'mean'} of "
                 f"{len(seeds)} seeds)")
    middle = np.exp(np.log(seeds).mean(axis=0)) if geometric else seeds.mean(axis=0)
    line, = ax.plot(positions, middle, marker=".", label=label, **style)
    if len(seeds) > 1:
        for seed in seeds:
            ax.plot(positions, seed, linewidth=0.8, alpha=0.4, color=line.get_color())


def signal_per_layer(values_by_label, ax=None, ylabel="", title="", colour_by="depth"):
    """A per-layer signal on a log scale, one line per network: ``{label: [value per
    layer]}``, or ``{label: [[value per layer] per seed]}``, where each seed is drawn thin and
    their geometric mean (the mean of a log scale) bold. ``colour_by`` "depth" colours by the
    depth in the label, "kind" plain networks red and residual ones green."""
    if colour_by not in ("depth", "kind"):
        raise ValueError(f"colour_by must be 'depth' or 'kind', not {colour_by!r}")
    ax = ax or plt.gca()
    for label, values in values_by_label.items():
        colour = _colour(label) if colour_by == "depth" else _kind_colour(label)
        _seeds_and_mean(ax, label, values, {"color": colour}, geometric=True)
    ax.set_yscale("log")
    ax.set(xlabel="layer $l$ (1 = nearest the input)", ylabel=ylabel, title=title)
    ax.legend()
    return ax


def gradient_norms(norms_by_label, ax=None, title="Gradient reaching each layer",
                   colour_by="depth"):
    """Per-layer gradient norms ||dL/da^[l]|| on a log scale, one line per network (one list
    per seed, or one list), coloured by depth or by kind (``colour_by``)."""
    return signal_per_layer(norms_by_label, ax,
                            ylabel=r"$\|\partial L / \partial a^{[l]}\|$", title=title,
                            colour_by=colour_by)


def activation_rms(rms_by_label, ax=None, title="Signal leaving each layer"):
    """Per-layer RMS of the activations a^[l] on a log scale, one line per network (one list
    per seed, or one list), coloured by depth."""
    return signal_per_layer(rms_by_label, ax, ylabel=r"RMS of $a^{[l]}$", title=title)


def per_block(values_by_label, ax=None, ylabel="", title="", log=False, xlabel=None):
    """A per-layer or per-block quantity, one line per network: ``{label: [value per
    block]}``, or ``{label: [[value per block] per seed]}``, where each seed is drawn thin and
    their mean bold (the geometric mean on a log scale). Styled by network
    (``NETWORK_STYLES``); other labels take Matplotlib's colour cycle."""
    ax = ax or plt.gca()
    for network, values in values_by_label.items():
        _seeds_and_mean(ax, network, values, NETWORK_STYLES.get(network, {}), geometric=log)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel or "block", ylabel=ylabel, title=title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    return ax


def error_curves(runs, ax=None, key="accuracy", title="Training error per epoch"):
    """Error (1 - accuracy, in %) against epoch for each run: ``key`` "accuracy" for the
    training error, "val_accuracy" for the test error (runs trained with
    ``test_each_epoch=True``). Coloured by depth; plain networks dashed, residual solid, and
    networks whose label says "zero" dotted."""
    ax = ax or plt.gca()
    for label, run in runs.items():
        line = ":" if "zero" in label else "--" if label.startswith("plain") else "-"
        _curves(ax, run, key, label, {"linestyle": line, "color": _colour(label)},
                scale=lambda accuracy: 100 * (1 - accuracy))
    ax.set(xlabel="epoch", ylabel="error (%)", title=title)
    ax.set_ylim(0, 100)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    return ax


def error_by_depth(runs, ax=None, title=None, measure="error"):
    """Training error (%) or loss after the last epoch against depth, one line per kind.

    ``runs`` maps labels such as "plain-20" or "resnet-56" to runs; the part before the dash
    names the kind (one line each: plain dashed in red, residual solid in dark green) and the
    digits after it the depth. ``measure`` is "error" or "loss". This is the figure of the
    degradation problem: for plain networks the error rises past some depth, for residual
    networks it keeps falling.
    """
    if measure not in ("error", "loss"):
        raise ValueError(f"measure must be 'error' or 'loss', not {measure!r}")
    ax = ax or plt.gca()
    kinds: dict[str, list[tuple[int, list[float]]]] = {}
    for label, run in runs.items():
        kind, depth = label.rsplit("-", 1)
        values = [100 * (1 - seed.final_train_accuracy) if measure == "error"
                  else seed.final_train_loss for seed in _seeds(run)]
        kinds.setdefault(kind, []).append((int(depth), values))
    for kind, points in kinds.items():
        points.sort()
        depths = [depth for depth, _ in points]
        values = [np.asarray(seeds) for _, seeds in points]
        plain = kind.startswith("plain")
        colour = PLAIN_COLOUR if plain else RESIDUAL_COLOUR
        seeds = len(values[0])
        label = kind if seeds == 1 else f"{kind} (mean, band: lowest to highest of {seeds} seeds)"
        ax.plot(depths, [v.mean() for v in values], marker="o",
                linestyle="--" if plain else "-", color=colour, label=label)
        if seeds > 1:
            ax.fill_between(depths, [v.min() for v in values], [v.max() for v in values],
                            color=colour, alpha=0.15, linewidth=0)
            for depth, v in zip(depths, values):
                ax.plot([depth] * len(v), v, linestyle="none", marker=".", color=colour,
                        alpha=0.7)
        ax.set_xticks(depths)
    ylabel = "training error (%)" if measure == "error" else "training loss (cross-entropy)"
    ax.set(xlabel="depth (weight layers)", ylabel=ylabel,
           title=title or f"Training {measure} after the last epoch")
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax
