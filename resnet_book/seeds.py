"""Reproducible runs: one call seeds every random number generator a notebook uses."""
from __future__ import annotations


def seed(value: int = 0) -> None:
    """Seed Python, NumPy and the Keras backend, so a run draws the same numbers each time."""
    import keras

    keras.utils.set_random_seed(value)
