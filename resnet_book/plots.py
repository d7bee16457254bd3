"""Plots of run results: training curves, errors against depth, per-layer and per-block values.

Each plot colours its lines by one of three rules, named in its docstring:

- by depth (the default): the colour of ``DEPTH_COLOURS`` for the depth a label names, so
  plain-56 looks the same in every figure of the book;
- by network: ``NETWORK_STYLES``, one colour and line style per network, for figures that
  compare networks of the same depth (plain-56, ResNet-56, a zero-initialised ResNet-56);
- by run: the i-th run gets the i-th entry of ``RUN_STYLES``, for runs that differ in neither
  depth nor kind.
"""
from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np

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
REFERENCE_COLOUR = PALETTE["grey"]

_DEPTH = re.compile(r"[^\s-]+-(\d+)")


def depth_of(label: str) -> int | None:
    """The depth a label names: the number after the first dash ("plain-56",
    "resnet-56 zero γ", "resnet-20 (A)"); None when the label names none."""
    match = _DEPTH.match(label)
    return int(match[1]) if match else None


def _colour(label: str):
    # None leaves the line to Matplotlib's colour cycle: a depth the book does not train.
    return DEPTH_COLOURS.get(depth_of(label))


def training_loss(runs, ax=None, title="Training loss per epoch", styles=None):
    """Training loss against epoch, one line per run (``{label: TrainingRun}``).

    Lines are coloured by depth unless ``styles`` gives a label its own Matplotlib style.
    """
    ax = ax or plt.gca()
    for label, run in runs.items():
        epochs = np.arange(1, len(run.history["loss"]) + 1)
        style = (styles or {}).get(label) or {"color": _colour(label)}
        ax.plot(epochs, run.history["loss"], marker="o", label=label, **style)
    ax.axhline(np.log(10), color=REFERENCE_COLOUR, linestyle=":", linewidth=1)
    last_epoch = max(len(run.history["loss"]) for run in runs.values())
    ax.annotate("chance: ln 10", (last_epoch, np.log(10)), xytext=(-10, 4),
                textcoords="offset points", color=REFERENCE_COLOUR, fontsize=9, ha="right")
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


def gradient_norms(norms_by_label, ax=None, title="Gradient reaching each layer"):
    """Per-layer gradient norms on a log scale, one line per network (``{label: [norms]}``),
    coloured by depth."""
    ax = ax or plt.gca()
    for label, norms in norms_by_label.items():
        layers = np.arange(1, len(norms) + 1)
        ax.semilogy(layers, norms, marker=".", label=label, color=_colour(label))
    ax.set(xlabel="layer $l$ (1 = nearest the input)",
           ylabel=r"$\|\partial L / \partial a^{[l]}\|$", title=title)
    ax.legend()
    return ax


def per_block(values_by_label, ax=None, ylabel="", title="", log=False, xlabel=None):
    """A per-layer or per-block quantity, one line per network (``{label: values}``), styled
    by network (``NETWORK_STYLES``); other labels take Matplotlib's colour cycle."""
    ax = ax or plt.gca()
    for label, values in values_by_label.items():
        positions = np.arange(1, len(values) + 1)
        ax.plot(positions, values, marker=".", label=label, **NETWORK_STYLES.get(label, {}))
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
        error = 100 * (1 - np.asarray(run.history[key]))
        epochs = np.arange(1, len(error) + 1)
        style = ":" if "zero" in label else "--" if label.startswith("plain") else "-"
        ax.plot(epochs, error, linestyle=style, marker="o", markersize=3, label=label,
                color=_colour(label))
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
    kinds: dict[str, list[tuple[int, float]]] = {}
    for label, run in runs.items():
        kind, depth = label.rsplit("-", 1)
        value = (100 * (1 - run.final_train_accuracy) if measure == "error"
                 else run.final_train_loss)
        kinds.setdefault(kind, []).append((int(depth), value))
    for kind, points in kinds.items():
        depths, values = zip(*sorted(points))
        plain = kind.startswith("plain")
        ax.plot(depths, values, marker="o", linestyle="--" if plain else "-",
                color=PLAIN_COLOUR if plain else RESIDUAL_COLOUR, label=kind)
        ax.set_xticks(depths)
    ylabel = "training error (%)" if measure == "error" else "training loss (cross-entropy)"
    ax.set(xlabel="depth (weight layers)", ylabel=ylabel,
           title=title or f"Training {measure} after the last epoch")
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax
