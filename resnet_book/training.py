"""The book's one training path: compile, fit, time, report.

Written in Keras 3 alone (``keras``, ``keras.ops``, no ``tf.*``), so the same code runs with
``KERAS_BACKEND=tensorflow`` (the book's default) and ``KERAS_BACKEND=jax``. Only
:func:`device_kind` asks the backend itself, because Keras has no public way to say which
device it computes on.
"""
from __future__ import annotations

import dataclasses
import time

import keras

from .profiles import Profile, get_profile


@dataclasses.dataclass
class TrainingRun:
    """What one training run produced: per-epoch history, final test figures, wall time."""

    label: str
    history: dict[str, list[float]]
    seconds: float
    test_loss: float
    test_accuracy: float

    @property
    def final_train_loss(self) -> float:
        return self.history["loss"][-1]

    @property
    def final_train_accuracy(self) -> float:
        return self.history["accuracy"][-1]

    def summary(self) -> str:
        epochs = len(self.history["loss"])
        return (f"{self.label}: {epochs} epochs in {self.seconds:.1f} s, "
                f"training loss {self.final_train_loss:.3f}, "
                f"test accuracy {100 * self.test_accuracy:.1f} %")


def device_kind() -> str:
    """'GPU' or 'CPU': where the current Keras backend computes."""
    backend = keras.config.backend()
    if backend == "jax":
        import jax

        return "GPU" if jax.default_backend() == "gpu" else "CPU"
    if backend == "tensorflow":
        import tensorflow as tf

        return "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    if backend == "torch":
        import torch

        return "GPU" if torch.cuda.is_available() else "CPU"
    return "CPU"


def device_name() -> str:
    """A short name of the device, e.g. 'CPU' or 'GPU (NVIDIA H100 80GB HBM3)'."""
    kind = device_kind()
    if kind == "GPU" and keras.config.backend() == "jax":
        import jax

        return f"GPU ({jax.devices()[0].device_kind})"
    return kind


def describe_run(profile: Profile, x_train=None, x_test=None) -> str:
    """One line naming profile, backend, device and dataset."""
    line = (f"profile {profile.name} · backend {keras.config.backend()} · "
            f"device {device_name()} · data {profile.dataset_title}")
    if x_train is not None:
        height, width = x_train.shape[1:3]
        line += f" ({len(x_train):,} training"
        line += f" / {len(x_test):,} test" if x_test is not None else ""
        line += f" images at {height}x{width})"
    return line


def train(models, data, profile: Profile | None = None, *, epochs: int | None = None,
          batch_size: int | None = None, optimizer=None, learning_rate: float = 1e-3,
          verbose: bool = True):
    """Train one model, or each model of a ``{label: model}`` dict, on ``data``.

    ``data`` is ``((x_train, y_train), (x_test, y_test))`` from :func:`resnet_book.load_data`.
    Epochs and batch size come from the profile unless given. Each model gets a fresh Adam
    optimizer (or a fresh copy of the ``optimizer`` factory's result) and sparse categorical
    cross-entropy on integer labels. Prints one line naming profile, backend, device and data,
    then one line per model. Returns a :class:`TrainingRun`, or a dict of them.
    """
    profile = profile or get_profile()
    (x_train, y_train), (x_test, y_test) = data
    single = isinstance(models, keras.Model)
    named = {getattr(models, "name", "model"): models} if single else dict(models)
    if not named:
        raise ValueError("train() needs at least one model; got an empty collection.")
    for label, model in named.items():
        if not isinstance(model, keras.Model):
            raise TypeError(f"{label!r} is a {type(model).__name__}, not a keras.Model: "
                            "build the network with keras.Model(inputs, outputs) first.")
    if verbose:
        print(describe_run(profile, x_train, x_test))
    runs = {}
    for label, model in named.items():
        model.compile(
            optimizer=optimizer() if callable(optimizer) else
            keras.optimizers.Adam(learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
        start = time.perf_counter()
        history = model.fit(x_train, y_train, epochs=epochs or profile.epochs,
                            batch_size=batch_size or profile.batch_size, verbose=0)
        seconds = time.perf_counter() - start
        test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
        run = TrainingRun(label, {k: [float(v) for v in vs] for k, vs in history.history.items()},
                          seconds, float(test_loss), float(test_accuracy))
        if verbose:
            print(run.summary())
        runs[label] = run
    return runs[next(iter(runs))] if single else runs
