"""Reproducible runs: one call seeds every random number generator a notebook uses."""
from __future__ import annotations

import random

import numpy as np


def seed(value: int = 0) -> None:
    """Seed Python, NumPy and the Keras backend, so a run draws the same numbers each time."""
    import keras

    keras.utils.set_random_seed(value)


def seed_keras(value: int) -> None:
    """Seed what building and training a network through :mod:`resnet_book` draws from:
    Python's generator (Keras draws every initializer's seed from it), NumPy's (the book
    shuffles with it) and Keras' global generator. TensorFlow's global seed is left alone:
    setting it again clears TensorFlow's cache of instantiated functions, so every traced
    training step is instantiated again (seconds for a deep network). After ``seed_keras(s)``
    a network builds with the weights it gets after ``seed(s)``."""
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        generator_attribute = seed_generator.GLOBAL_SEED_GENERATOR
    except (ImportError, AttributeError):
        # A Keras whose internals differ (as Colab's may): seed everything, TensorFlow too.
        # The same numbers; only the saving is lost.
        seed(value)
        return
    global_state.set_global_attribute("global_random_seed", value)
    global_state.set_global_attribute(generator_attribute, None)
    random.seed(value)
    np.random.seed(value)
