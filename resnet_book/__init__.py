"""Plumbing for the Residual Networks course book.

The lessons (blocks, models, experiments) live in the notebooks. This package holds only
what is not the lesson: run profiles, data loading, the training wrapper, plotting,
diagrams, notebook helpers and the exercise generator.
"""
import os as _os

# TensorFlow reads this once, when it is first imported: set it before Keras loads it,
# so notebooks that import this package first stay free of C++ log noise.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_keras_quietly() -> None:
    """Import Keras (and the backend under it) with the backend's start-up notices muted.

    TensorFlow 2.21 writes absl and oneDNN notices straight to file descriptor 2 while it
    loads, whatever TF_CPP_MIN_LOG_LEVEL says, and notebooks show them as stray stderr.
    Muting only this import keeps them out; errors still surface as Python exceptions.
    """
    import sys

    if "keras" in sys.modules:
        return
    saved = _os.dup(2)
    devnull = _os.open(_os.devnull, _os.O_WRONLY)
    try:
        _os.dup2(devnull, 2)
        import keras  # noqa: F401
    finally:
        _os.dup2(saved, 2)
        _os.close(saved)
        _os.close(devnull)


_import_keras_quietly()

from .profiles import Profile, get_profile, PROFILES, DATASETS  # noqa: E402
from .data import load_data  # noqa: E402
from .training import (train, train_seeds, describe_run, device_name, TrainingRun, Acceleration,  # noqa: E402
                       acceleration, use_precision, training_precision, paper_sgd,
                       near_chance)
from .seeds import seed  # noqa: E402
from .prose import claim, glue, mean_range  # noqa: E402
from .checks import expect_output  # noqa: E402
from . import models, twins  # noqa: E402

# The drawing modules load Matplotlib, which a training-only machine (the GPU check) may lack:
# they are imported when first used, as rb.diagrams and rb.plots.
_LAZY_MODULES = ("drawing", "diagrams", "plots")


def __getattr__(name):
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "Profile", "get_profile", "PROFILES", "DATASETS", "load_data", "train", "train_seeds",
    "describe_run", "device_name", "TrainingRun", "seed", "glue", "Acceleration",
    "acceleration", "use_precision", "training_precision", "paper_sgd", "near_chance", "claim", "mean_range", "expect_output",
]
