"""Plots the chapters share: training curves and per-layer gradient norms."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

# One colour per depth everywhere in the book, so plain-56 looks the same in every figure.
DEPTH_COLOURS = {8: "#4C72B0", 20: "#55A868", 32: "#8172B3", 44: "#CCB974", 56: "#C44E52",
                 110: "#64B5CD"}


def _colour(label: str):
    digits = "".join(ch for ch in label.split("-")[-1] if ch.isdigit())
    return DEPTH_COLOURS.get(int(digits)) if digits else None


def training_loss(runs, ax=None, title="Training loss per epoch", styles=None):
    """Training loss against epoch, one line per run (``{label: TrainingRun}``).

    Lines are coloured by the depth in their label unless ``styles`` gives a label its own
    matplotlib style (for networks of the same depth side by side).
    """
    ax = ax or plt.gca()
    for label, run in runs.items():
        epochs = np.arange(1, len(run.history["loss"]) + 1)
        style = (styles or {}).get(label) or {"color": _colour(label)}
        ax.plot(epochs, run.history["loss"], marker="o", label=label, **style)
    ax.axhline(np.log(10), color="grey", linestyle=":", linewidth=1)
    last_epoch = max(len(run.history["loss"]) for run in runs.values())
    ax.annotate("chance: ln 10", (last_epoch, np.log(10)), xytext=(-10, 4),
                textcoords="offset points", color="grey", fontsize=9, ha="right")
    ax.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title=title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    return ax


def gradient_norms(norms_by_label, ax=None, title="Gradient reaching each layer"):
    """Per-layer gradient norms on a log scale, one line per network (``{label: [norms]}``)."""
    ax = ax or plt.gca()
    for label, norms in norms_by_label.items():
        layers = np.arange(1, len(norms) + 1)
        ax.semilogy(layers, norms, marker=".", label=label, color=_colour(label))
    ax.set(xlabel="layer $l$ (1 = nearest the input)",
           ylabel=r"$\|\partial L / \partial a^{[l]}\|$", title=title)
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
                color=_colour(label.split()[0]))
    ax.set(xlabel="epoch", ylabel="error (%)", title=title)
    ax.set_ylim(0, 100)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    return ax


def error_by_depth(runs, ax=None, title=None, measure="error"):
    """Training error (%) or loss after the last epoch against depth, one line per kind.

    ``runs`` maps labels such as "plain-20" or "resnet-56" to runs; the part before the dash
    names the kind (one line each: plain dashed, residual solid) and the digits after it the
    depth. ``measure`` is "error" or "loss". This is the figure of the degradation problem:
    for plain networks the error rises past some depth, for residual networks it keeps falling.
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
                color="#C44E52" if plain else "#2E7D32", label=kind)
        ax.set_xticks(depths)
    ylabel = "training error (%)" if measure == "error" else "training loss (cross-entropy)"
    ax.set(xlabel="depth (weight layers)", ylabel=ylabel,
           title=title or f"Training {measure} after the last epoch")
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax
