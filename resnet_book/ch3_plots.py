"""Plots for chapter 3: several networks of the same depth side by side.

``plots.py`` colours a line by the depth in its label, which gives plain-56, ResNet-56 and a
zero-initialised ResNet-56 the same colour. Chapter 3 compares exactly those, so its lines are
styled by the kind of network instead: one colour and line style per label.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import plots

STYLES = {
    "plain-56": dict(color="#C44E52", linestyle="--"),
    "resnet-20": dict(color="#55A868", linestyle="-"),
    "resnet-56": dict(color="#4C72B0", linestyle="-"),
    "resnet-56-zero": dict(color="#8172B3", linestyle="-."),
}


def _style(label: str) -> dict:
    return STYLES.get(label, {})


def training_loss(runs, ax=None, title="Training loss per epoch"):
    """Training loss against epoch, one styled line per run (``{label: TrainingRun}``)."""
    return plots.training_loss(runs, ax, title, styles=STYLES)


def per_block(values_by_label, ax=None, ylabel="", title="", log=False, xlabel=None):
    """One styled line per network of a per-layer or per-block quantity (``{label: values}``)."""
    ax = ax or plt.gca()
    for label, values in values_by_label.items():
        positions = np.arange(1, len(values) + 1)
        ax.plot(positions, values, marker=".", label=label, **_style(label))
    if log:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel or "block", ylabel=ylabel, title=title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    return ax
