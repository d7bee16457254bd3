"""Plumbing for the Residual Networks course book.

The lessons (blocks, models, experiments) live in the notebooks. This package holds only
what is not the lesson: run profiles, data loading, the training wrapper, plotting,
diagrams, notebook helpers and the exercise generator.
"""
import os as _os

# TensorFlow reads this once, when it is first imported: set it before Keras loads it,
# so notebooks that import this package first stay free of C++ log noise.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .profiles import Profile, get_profile, PROFILES, DATASETS  # noqa: E402
from .data import load_data  # noqa: E402
from .training import train, describe_run, device_name, TrainingRun  # noqa: E402
from .notebook import seed, glue  # noqa: E402
from . import diagrams, plots  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Profile", "get_profile", "PROFILES", "DATASETS", "load_data", "train",
    "describe_run", "device_name", "TrainingRun", "seed", "glue",
]
