"""A cache of training runs, so that a run several chapters report is trained once per build.

A run is keyed by everything that decides it: the network's architecture (its Keras
configuration with the layer names made canonical), its initial weights (which the seed and
the initialisers decide), the data, the training settings (epochs, batch size, the optimizer's
configuration, augmentation, the GPU switches), the source of the training path, the backend
and the versions of Keras, the backend and NumPy. Two runs share an entry only when all of that
agrees, so a change to any of it trains again; different code never shares a run.

The cache is on only where ``$RESNET_BOOK_RUN_CACHE`` names a folder. The book build sets it
(``book_tools.sphinx_ext``) to ``_build/.run_cache``, so a cold build (``rm -rf _build``) starts
empty. A notebook run on its own (Colab) has no cache and trains everything it reports. A lock
file per entry lets two chapters executed at the same time wait for each other instead of
training the same run twice.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import numpy as np

CACHE_VARIABLE = "RESNET_BOOK_RUN_CACHE"


def cache_folder() -> Path | None:
    """The cache's folder, or None when the cache is off."""
    folder = os.environ.get(CACHE_VARIABLE, "").strip()
    return Path(folder).expanduser() if folder else None


def _canonical_config(model) -> object:
    """The model's configuration with every layer name replaced by its position, so that two
    builds of the same network (whose layers Keras numbers by what was built before) agree."""
    names = {}

    def collect(layers):
        for layer in layers:
            names.setdefault(layer.name, f"layer_{len(names)}")
            if hasattr(layer, "layers"):
                collect(layer.layers)

    collect(model.layers)

    def rename(value):
        if isinstance(value, dict):
            return {key: rename(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [rename(item) for item in value]
        if isinstance(value, str):
            return names.get(value, value)
        return value

    return rename(model.get_config())


def _array_digest(arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(np.asarray(array))
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _versions() -> dict:
    import keras

    versions = {"keras": keras.__version__, "numpy": np.__version__,
                "backend": keras.config.backend()}
    if versions["backend"] == "tensorflow":
        import tensorflow as tf
        versions["tensorflow"] = tf.__version__
    elif versions["backend"] == "jax":
        import jax
        versions["jax"] = jax.__version__
    return versions


def run_key(model, data, settings: dict) -> str:
    """The key of training ``model`` (freshly built, before training) on ``data`` with
    ``settings`` (a JSON-able dict of everything else that decides the run)."""
    training_code = Path(__file__).with_name("training.py")   # the training path's source
    (x_train, y_train), (x_test, y_test) = data
    description = {
        "architecture": _canonical_config(model),
        "initial_weights": _array_digest(model.get_weights()),
        "data": _array_digest([x_train, y_train, x_test, y_test]),
        "settings": settings,
        "training_code": hashlib.sha256(training_code.read_bytes()).hexdigest(),
        "versions": _versions(),
    }
    text = json.dumps(description, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class RunCache:
    """Finished runs in a folder: ``KEY.json`` (history and test figures) and
    ``KEY.weights.h5`` (the trained weights)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _paths(self, key: str):
        return self.folder / f"{key}.json", self.folder / f"{key}.weights.h5"

    @contextlib.contextmanager
    def locked(self, key: str):
        """Hold the entry's lock: a second process asking for the same run waits here until
        the first has written it."""
        import fcntl

        with open(self.folder / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self, key: str, model):
        """The stored run's record (a dict) with its weights loaded into ``model``, or None."""
        record_path, weights_path = self._paths(key)
        if not (record_path.is_file() and weights_path.is_file()):
            return None
        record = json.loads(record_path.read_text())
        model.load_weights(weights_path)
        return record

    def store(self, key: str, model, record: dict) -> None:
        record_path, weights_path = self._paths(key)
        partial = weights_path.with_name(f"{key}.partial.weights.h5")
        model.save_weights(partial)
        partial.replace(weights_path)
        partial_record = record_path.with_suffix(".partial")
        partial_record.write_text(json.dumps(record))
        partial_record.replace(record_path)  # last: a record means the run is complete


def open_cache() -> RunCache | None:
    folder = cache_folder()
    return RunCache(folder) if folder is not None else None
