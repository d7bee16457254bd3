"""The book's one training path: compile, fit, time, report.

Written in Keras 3 alone (``keras``, ``keras.ops``, no ``tf.*``), so the same code runs with
``KERAS_BACKEND=tensorflow`` (the book's default) and ``KERAS_BACKEND=jax``. Which device the
backend computes on is asked in :mod:`resnet_book.devices`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
import time

import keras
import numpy as np
from keras import layers, ops

from .devices import compute_capability, device_kind
from .profiles import Profile, get_profile, rehearsal_requested


@dataclasses.dataclass
class TrainingRun:
    """What one training run produced: per-epoch history, final test figures, wall time."""

    label: str
    history: dict[str, list[float]]
    seconds: float
    test_loss: float
    test_accuracy: float
    jit_compiled: bool | None = None   # whether Keras compiled the step with XLA
    epoch_seconds: list = dataclasses.field(default_factory=list)   # wall time of each epoch
    seed: int | None = None            # the seed of rb.train_seeds' run (None: rb.train's)
    steps: int | None = None           # training steps (batches) the run took
    cached: bool = False               # read from the run cache instead of trained here
    model: object = dataclasses.field(default=None, repr=False, compare=False)  # trained

    @property
    def final_train_error(self) -> float:
        """Training error after the last epoch, in percent."""
        return 100 * (1 - self.history["accuracy"][-1])

    @property
    def test_error(self) -> float:
        """Error on the test set after training, in percent."""
        return 100 * (1 - self.test_accuracy)

    @property
    def final_train_loss(self) -> float:
        return self.history["loss"][-1]

    @property
    def final_train_accuracy(self) -> float:
        return self.history["accuracy"][-1]

    def time_to_accuracy(self, target: float):
        """``(epoch, seconds)``: the first epoch whose test accuracy reached ``target`` and the
        wall time to its end (per-epoch testing included), or None if no epoch did. Needs a
        run trained with ``test_each_epoch=True``."""
        if "val_accuracy" not in self.history:
            raise ValueError("time_to_accuracy needs the test accuracy of every epoch: train "
                             "with rb.train(..., test_each_epoch=True)")
        elapsed = 0.0
        for epoch, (accuracy, seconds) in enumerate(
                zip(self.history["val_accuracy"], self.epoch_seconds), start=1):
            elapsed += seconds
            if accuracy >= target:
                return epoch, elapsed
        return None

    def summary(self) -> str:
        epochs = len(self.history["loss"])
        return (f"{self.label}: {epochs} epochs in {self.seconds:.1f} s, "
                f"training loss {self.final_train_loss:.3f}, "
                f"test accuracy {100 * self.test_accuracy:.1f} %")


@dataclasses.dataclass(frozen=True)
class Acceleration:
    """The switches that make training fast on a GPU; on a CPU they are all off.

    ``precision``: Keras' dtype policy for the layers (``mixed_bfloat16`` where the GPU has
    bfloat16, i.e. compute capability 8.0 and up; ``mixed_float16`` on older GPUs such as
    Colab's T4, with loss scaling, which Keras adds itself); ``jit_compile``: XLA;
    ``steps_per_execution``: training steps per call into the compiled function.
    """

    precision: str = "float32"
    jit_compile: bool | str = "auto"
    steps_per_execution: int = 1

    @property
    def mixed(self) -> bool:
        return self.precision.startswith("mixed_")


def near_chance(loss: float, classes: int = 10) -> bool:
    """Whether a training loss is within 10 % of ln(classes), the loss of a network that gives
    every class the same probability. Such a network learned next to nothing: a failure to
    learn at all, which is not the same as training worse than a shallower network."""
    return loss > 0.9 * np.log(classes)


CPU_SETTINGS = Acceleration()
TEST_BATCH = 256   # batch size for testing: no gradients, so larger than training's


def acceleration(kind: str | None = None) -> Acceleration:
    """The switches for ``kind`` ('GPU' or 'CPU'; default: the device in use, or 'GPU' when a
    GPU profile is rehearsed on a CPU, so that the rehearsal runs the GPU's code path)."""
    kind = kind or ("GPU" if rehearsal_requested() else device_kind())
    if kind != "GPU":
        return CPU_SETTINGS
    capability = compute_capability()
    precision = "mixed_float16" if capability is not None and capability < 8.0 else "mixed_bfloat16"
    return Acceleration(precision=precision, jit_compile=True, steps_per_execution=16)


def use_precision(settings: Acceleration | None = None) -> str:
    """Set Keras' global dtype policy for ``settings`` (default: for the device in use).

    Call it before building the models: layers take their dtype policy when they are made.
    Returns the policy's name.
    """
    settings = settings or acceleration()
    keras.config.set_dtype_policy(settings.precision)
    return settings.precision


class training_precision:
    """``with rb.training_precision():`` builds the networks inside it in the precision they
    train in on this device (mixed precision on a GPU, float32 on a CPU), and leaves the
    global policy as it was afterwards, so that exact checks elsewhere stay in float32."""

    def __init__(self, settings: Acceleration | None = None):
        self.settings = settings

    def __enter__(self) -> str:
        self.saved = keras.config.dtype_policy()
        return use_precision(self.settings)

    def __exit__(self, *exc_info):
        keras.config.set_dtype_policy(self.saved)
        return False


def device_name() -> str:
    """A short name of the device, e.g. 'CPU' or 'GPU (NVIDIA H100 80GB HBM3)'."""
    kind = device_kind()
    if kind == "CPU" and rehearsal_requested():
        return "CPU (rehearsing the GPU path)"
    if kind == "GPU" and keras.config.backend() == "jax":
        import jax

        return f"GPU ({jax.devices()[0].device_kind})"
    return kind


def describe_run(profile: Profile, x_train=None, x_test=None, *,
                 settings: Acceleration | None = None, augment: bool = False) -> str:
    """One line naming profile, backend, device and dataset (and the GPU switches in use)."""
    line = (f"profile {profile.name} · backend {keras.config.backend()} · "
            f"device {device_name()} · data {profile.dataset_title}")
    if x_train is not None:
        height, width = x_train.shape[1:3]
        line += f" ({len(x_train):,} training"
        line += f" / {len(x_test):,} test" if x_test is not None else ""
        line += f" images at {height}x{width})"
    extras = []
    if augment:
        extras.append("augmented")
    if settings is not None and settings != CPU_SETTINGS:
        extras.append(f"{settings.precision}, XLA {settings.jit_compile}, "
                      f"{settings.steps_per_execution} steps per call")
    return line + "".join(f" · {extra}" for extra in extras)


class ShiftAndFlip(layers.Layer):
    """The paper's CIFAR augmentation, active in training only: pad by ``shift`` pixels of the
    colour ``fill``, crop back to the image's size at a random place (whole pixels), flip
    left-right at random.

    He et al. subtract the mean image before padding with zeros, so their padding is the
    average pixel, not black. :func:`train` keeps the images in [0, 1] and pads with the
    training images' mean colour instead (one value per channel), much the same thing.

    Written with ``keras.ops`` and ``keras.random`` alone, so it compiles with XLA inside the
    training step under any backend (Keras' own random image layers would turn XLA off for
    the whole model). Each image gets its own crop and flip; the crop is two one-hot matrix
    products, exact in any float type.
    """

    def __init__(self, shift: int = 4, fill=0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.shift = shift
        self.fill = [float(value) for value in np.atleast_1d(fill)]
        self.seed_generator = keras.random.SeedGenerator(seed)

    def reseed(self, seed: int) -> None:
        """Start the crops and flips again from ``seed``'s sequence."""
        state = self.seed_generator.state
        state.assign(ops.cast(ops.convert_to_tensor([seed, 0]), state.dtype))

    def call(self, images, training=None):
        if not training:
            return images
        batch = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        s = self.shift
        margin = [[0, 0], [s, s], [s, s], [0, 0]]
        # the border gets the fill colour; the image itself is left exactly as it was
        border = 1 - ops.pad(ops.ones((1, height, width, 1), dtype=images.dtype), margin)
        fill = ops.cast(ops.convert_to_tensor(self.fill), images.dtype)
        padded = ops.pad(images, margin) + border * fill
        offsets = keras.random.randint((batch, 2), 0, 2 * s + 1, seed=self.seed_generator)
        rows = ops.one_hot(offsets[:, :1] + ops.arange(height)[None, :], height + 2 * s,
                           dtype=images.dtype)
        cols = ops.one_hot(offsets[:, 1:] + ops.arange(width)[None, :], width + 2 * s,
                           dtype=images.dtype)
        cropped = ops.einsum("bhH,bHWc,bwW->bhwc", rows, padded, cols)
        flip = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator) < 0.5
        return ops.where(flip, ops.flip(cropped, axis=2), cropped)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "shift": self.shift, "fill": self.fill}


def mean_colour(images) -> list[float]:
    """The mean of each channel over all the images' pixels: the colour the augmentation
    pads with."""
    return np.mean(images, axis=(0, 1, 2), dtype="float64").tolist()


def prepared(model, *, augment: bool = False, fill=0.0):
    """``model`` as it is trained: after the augmentation layers when ``augment`` (padding
    with the colour ``fill``, see :class:`ShiftAndFlip`). The same model (it shares every
    layer) when augmentation is off and the output is float32.

    The book's networks compute their softmax in float32 under any policy. A model whose
    output comes out in 16 bits gets a float32 cast after it, so that at least the loss is
    computed in float32 (its probabilities stay rounded: put the softmax in float32 instead).
    """
    output_dtype = keras.backend.standardize_dtype(model.outputs[0].dtype)
    if not augment and output_dtype == "float32":
        return model
    inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]))
    a = inputs
    if augment:
        a = ShiftAndFlip(fill=fill, name="shift_and_flip")(a)
    a = model(a)
    if output_dtype != "float32":
        a = layers.Activation("linear", dtype="float32", name="float32_output")(a)
    return keras.Model(inputs, a, name=model.name)


def compiled(model, *, optimizer=None, steps: int = 1, learning_rate: float = 1e-3,
             augment: bool = False, fill=0.0, settings: Acceleration = CPU_SETTINGS):
    """``model`` :func:`prepared` and compiled as :func:`train` trains it: the optimizer (see
    :func:`train`), sparse categorical cross-entropy, accuracy, and the GPU switches."""
    trained = prepared(model, augment=augment, fill=fill)
    trained.compile(
        optimizer=_optimizer(optimizer, steps, learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        jit_compile=settings.jit_compile,
        steps_per_execution=settings.steps_per_execution,
    )
    return trained


def train(models, data, profile: Profile | None = None, *, epochs: int | None = None,
          batch_size: int | None = None, optimizer=None, learning_rate: float = 1e-3,
          augment: bool | None = None, settings: Acceleration | None = None,
          test_each_epoch: bool = False, verbose: bool = True):
    """Train one model, or each model of a ``{label: model}`` dict, on ``data``.

    ``data`` is ``((x_train, y_train), (x_test, y_test))`` from :func:`resnet_book.load_data`.
    Epochs, batch size and augmentation come from the profile unless given. Each model gets a
    fresh Adam optimizer (or what the ``optimizer`` factory returns, called once per model,
    with ``steps=`` the number of training steps when it has that parameter, as
    :func:`paper_sgd`) and sparse categorical cross-entropy on integer labels. ``settings``
    are the GPU switches (default: those of the device in use; see :func:`acceleration`).
    With ``test_each_epoch`` the test set is also evaluated after every epoch
    (``run.history["val_accuracy"]``, for test-error curves). Prints one line naming profile,
    backend, device and data, then one line per model. Returns a :class:`TrainingRun`, or a
    dict of them.
    """
    profile = profile or get_profile()
    settings = settings or acceleration()
    augment = profile.augment if augment is None else augment
    (x_train, y_train), (x_test, y_test) = data
    single = isinstance(models, keras.Model)
    named = {getattr(models, "name", "model"): models} if single else dict(models)
    if not named:
        raise ValueError("train() needs at least one model; got an empty collection.")
    for label, model in named.items():
        if not isinstance(model, keras.Model):
            raise TypeError(f"{label!r} is a {type(model).__name__}, not a keras.Model: "
                            "build the network with keras.Model(inputs, outputs) first.")
    epochs = epochs or profile.epochs
    batch_size = batch_size or profile.batch_size
    steps = epochs * profile.steps_per_epoch(len(x_train), batch_size)
    fill = mean_colour(x_train) if augment else 0.0
    if verbose:
        print(describe_run(profile, x_train, x_test, settings=settings, augment=augment))
    if keras.config.backend() == "tensorflow":
        _quiet_first_traces()
    runs = {}
    for label, model in named.items():
        trained = compiled(model, optimizer=optimizer, steps=steps,
                           learning_rate=learning_rate, augment=augment, fill=fill,
                           settings=settings)
        _build_before_fit(trained, x_train, y_train)
        # the order of the images follows rb.seed, through NumPy's global generator
        run = _fit(trained, label, data, epochs=epochs, batch_size=batch_size,
                   test_each_epoch=test_each_epoch,
                   shuffle_seed=int(np.random.randint(2**31)))
        run.steps, run.model = steps, model
        if verbose:
            print(run.summary())
        runs[label] = run
    return runs[next(iter(runs))] if single else runs


def _fit(trained, label, data, *, epochs, batch_size, test_each_epoch,
         shuffle_seed) -> TrainingRun:
    """Fit the compiled ``trained`` model and test it: one :class:`TrainingRun`.

    Each epoch sees the training images in a new order drawn by NumPy from ``shuffle_seed``,
    one ``fit`` call per epoch. Keras' own shuffling would draw from TensorFlow's global seed,
    and setting that seed for each run makes TensorFlow instantiate every traced step again.
    """
    (x_train, y_train), (x_test, y_test) = data
    order = np.random.default_rng(shuffle_seed)
    timer = _EpochTimer()
    history = {}
    start = time.perf_counter()
    for epoch in range(epochs):
        shuffled = order.permutation(len(x_train))
        epoch_history = trained.fit(
            x_train[shuffled], y_train[shuffled], initial_epoch=epoch, epochs=epoch + 1,
            batch_size=batch_size, shuffle=False, verbose=0, callbacks=[timer],
            validation_data=(x_test, y_test) if test_each_epoch else None,
            validation_batch_size=TEST_BATCH)
        for name, values in epoch_history.history.items():
            history.setdefault(name, []).extend(float(v) for v in values)
    seconds = time.perf_counter() - start
    if test_each_epoch:  # fit has already compiled the test step: reuse it
        test_loss, test_accuracy = trained.evaluate(x_test, y_test, batch_size=TEST_BATCH,
                                                    verbose=0)
    else:
        test_loss, test_accuracy = evaluate_eagerly(trained, x_test, y_test)
    return TrainingRun(label, history, seconds, float(test_loss), float(test_accuracy),
                       jit_compiled=trained.jit_compile is True,
                       epoch_seconds=timer.seconds)


def train_seeds(builders, data, profile: Profile | None = None, *, seeds=None,
                epochs: int | None = None, batch_size: int | None = None, optimizer=None,
                learning_rate: float = 1e-3, augment: bool | None = None,
                settings: Acceleration | None = None, test_each_epoch: bool = False,
                verbose: bool = True):
    """Train each network of ``{label: build}`` once per seed, as :func:`train` trains one.

    ``build`` is a function of no arguments that returns a new, untrained ``keras.Model``.
    For each seed (default: the profile's ``seeds``) the network is built after
    ``rb.seed(seed)``, so ``rb.seed(seed); build()`` gives back the network that seed's run
    started from, and the data are shuffled (and augmented) from the same seed. Every seed of a
    label trains the same compiled training step: its weights and optimizer state are set
    back for each seed instead of tracing the step again, which is most of a deep network's
    first epoch on a CPU.

    Where the run cache is on (``$RESNET_BOOK_RUN_CACHE``, set by the book build), a run is read
    from it when everything that decides the run matches (:mod:`resnet_book.run_cache`), and
    stored after training otherwise; ``run.cached`` says which.

    Returns ``{label: [TrainingRun, ...]}``, one run per seed in order; ``run.model`` is that
    seed's trained network and ``run.seed`` its seed.
    """
    from . import run_cache
    from .seeds import seed_keras

    profile = profile or get_profile()
    settings = settings or acceleration()
    augment = profile.augment if augment is None else augment
    seeds = tuple(profile.seeds if seeds is None else seeds)
    if not seeds:
        raise ValueError("train_seeds() needs at least one seed, e.g. seeds=(0, 1, 2).")
    builders = dict(builders)
    if not builders:
        raise ValueError("train_seeds() needs at least one network: {label: build}.")
    for label, build in builders.items():
        if not callable(build) or isinstance(build, keras.Model):
            raise TypeError(f"{label!r} must be a function that builds a new network (e.g. "
                            f"lambda: cifar_network(20, input_shape)), not a "
                            f"{type(build).__name__}: each seed builds its own.")
    (x_train, y_train), (x_test, y_test) = data
    fill = mean_colour(x_train) if augment else 0.0
    epochs = epochs or profile.epochs
    batch_size = batch_size or profile.batch_size
    steps = epochs * profile.steps_per_epoch(len(x_train), batch_size)
    cache = run_cache.open_cache()
    if verbose:
        print(describe_run(profile, x_train, x_test, settings=settings, augment=augment)
              + f" · {len(seeds)} seeds, {steps:,} steps of {batch_size} each")
    if keras.config.backend() == "tensorflow":
        _quiet_first_traces()
    results = {}
    for label, build in builders.items():
        trainer = carrier = start_state = None
        runs = []
        for seed in seeds:
            seed_keras(seed)
            model = build()
            if not isinstance(model, keras.Model):
                raise TypeError(f"{label!r}: its build function returned a "
                                f"{type(model).__name__}, not a keras.Model.")
            key = None
            if cache is not None:
                described = _optimizer(optimizer, steps, learning_rate)
                key = run_cache.run_key(model, data, {
                    "epochs": epochs, "batch_size": batch_size, "augment": augment,
                    "test_each_epoch": test_each_epoch, "seed": seed,
                    "settings": dataclasses.asdict(settings), "profile": profile.name,
                    "optimizer": [type(described).__name__, _without_name(described)]})
            with cache.locked(key) if key else contextlib.nullcontext():
                record = cache.load(key, model) if key else None
                if record is not None:
                    run = TrainingRun(**record)
                    # the same network may be stored under another chapter's label
                    run.label, run.cached = label, True
                else:
                    if trainer is None:
                        carrier = build()
                        trainer = compiled(carrier, optimizer=optimizer, steps=steps,
                                           learning_rate=learning_rate, augment=augment,
                                           fill=fill, settings=settings)
                        _build_before_fit(trainer, x_train, y_train)
                        start_state = [ops.convert_to_numpy(v)
                                       for v in trainer.optimizer.variables]
                    else:
                        for variable, value in zip(trainer.optimizer.variables, start_state):
                            variable.assign(value)
                    carrier.set_weights(model.get_weights())
                    for layer in trainer.layers:
                        if isinstance(layer, ShiftAndFlip):
                            layer.reseed(seed)
                    seed_keras(seed)
                    run = _fit(trainer, label, data, epochs=epochs, batch_size=batch_size,
                               test_each_epoch=test_each_epoch, shuffle_seed=seed)
                    model.set_weights(carrier.get_weights())
                    run.seed, run.steps = seed, steps
                    if key:
                        record = {field.name: getattr(run, field.name)
                                  for field in dataclasses.fields(run)
                                  if field.name not in ("model", "cached")}
                        cache.store(key, model, record)
            run.model = model
            runs.append(run)
        results[label] = runs
        if verbose:
            print(seeds_summary(label, runs))
    return results


def _without_name(optimizer) -> dict:
    # Keras numbers optimizers by creation ("adam", "adam_1"): the name decides nothing.
    return {k: v for k, v in optimizer.get_config().items() if k != "name"}


def seeds_summary(label: str, runs) -> str:
    """One line for a network trained on several seeds: mean and range of its figures."""
    def spread(values, digits, unit=""):
        values = np.asarray(values, dtype=float)
        return (f"{values.mean():.{digits}f}{unit} ({values.min():.{digits}f}"
                f"–{values.max():.{digits}f})")

    cached = sum(run.cached for run in runs)
    where = (" (all read from the run cache)" if cached == len(runs)
             else f" ({cached} read from the run cache)" if cached else "")
    return (f"{label}: {len(runs)} seeds, training loss "
            f"{spread([r.final_train_loss for r in runs], 3)}, training error "
            f"{spread([r.final_train_error for r in runs], 1, ' %')}, test accuracy "
            f"{spread([100 * r.test_accuracy for r in runs], 1, ' %')}, "
            f"{sum(r.seconds for r in runs):.0f} s{where}")


def evaluate_eagerly(model, x, y, batch_size: int = TEST_BATCH) -> tuple[float, float]:
    """Mean sparse categorical cross-entropy and accuracy of ``model`` on ``(x, y)``, in
    inference mode, computed batch by batch without compiling a test step.

    Gives what ``model.evaluate`` gives. Compiling Keras' test step for one evaluation of a
    thousand images costs seconds per network on a CPU (tracing a 56-layer network), more
    than running it.
    """
    total_loss, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        probabilities = model(x[start:start + batch_size], training=False)
        labels = y[start:start + batch_size]
        losses = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        total_loss += float(ops.sum(ops.cast(losses, "float32")))
        predicted = ops.convert_to_numpy(ops.argmax(probabilities, axis=-1))
        correct += int((predicted == labels).sum())
    return total_loss / len(x), correct / len(x)


class _NotRetracing(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning.

    With several steps per call (the GPU path), every network the book trains gets its own
    multi-step training function, made by the same Keras code. TensorFlow counts the first
    traces of those new functions together, as if one function were retraced, and warns on
    stderr once a notebook has trained a few networks (the fifth, in the rehearsal of chapter
    2). Other TensorFlow warnings pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def _quiet_first_traces() -> None:
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NotRetracing) for f in logger.filters):
        logger.addFilter(_NotRetracing())


def _build_before_fit(model, x, y):
    """Create the optimizer's and the metrics' variables before ``fit`` traces the step.

    Under TensorFlow, Keras otherwise creates them while tracing the training step, and
    TensorFlow then traces the whole step a second time, a large share of a deep network's
    first epoch on a CPU. Keras' own symbolic build does it (it runs no computation); where a
    Keras version lacks it, ``fit`` builds them itself as before, only more slowly.
    """
    symbolic_build = getattr(model, "_symbolic_build", None)
    if symbolic_build is not None:
        symbolic_build(data_batch=(x[:1], y[:1]))


class _EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch (the first includes compiling the training step)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def _optimizer(factory, steps: int, learning_rate: float):
    if factory is None:
        return keras.optimizers.Adam(learning_rate)
    if not callable(factory):
        raise TypeError("optimizer must be a function that returns a new optimizer (one per "
                        "model), e.g. lambda: keras.optimizers.SGD(0.1, momentum=0.9)")
    try:
        takes_steps = "steps" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        takes_steps = False
    return factory(steps=steps) if takes_steps else factory()


class L2SGD(keras.optimizers.SGD):
    """SGD whose weight decay is an L2 penalty, as in the paper's Caffe and Torch code: the
    gradient of each variable gets ``l2 * w`` added before the momentum step. (Keras'
    ``weight_decay`` instead shrinks w by ``lr * weight_decay`` outside the momentum, which
    with momentum 0.9 decays the weights about ten times more weakly.)"""

    def __init__(self, learning_rate=0.01, momentum=0.0, l2=1e-4, **kwargs):
        super().__init__(learning_rate, momentum=momentum, **kwargs)
        self.l2 = l2

    def update_step(self, gradient, variable, learning_rate):
        l2 = ops.cast(self.l2, variable.dtype)
        super().update_step(gradient + l2 * variable, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


DECAYS = ("l2", "decoupled")


def paper_sgd(steps: int, learning_rate: float = 0.1, momentum: float = 0.9,
              weight_decay: float = 1e-4, drops=(0.5, 0.75), decay: str = "l2"):
    """He et al.'s CIFAR-10 optimizer: SGD with momentum and weight decay, the learning rate
    divided by 10 after each fraction ``drops`` of the ``steps`` (the paper: 32k and 48k of 64k
    iterations).

    ``decay="l2"`` is the paper's weight decay: ``weight_decay * w`` added to each gradient,
    inside the momentum (:class:`L2SGD`). ``decay="decoupled"`` is Keras' ``weight_decay``
    (w -= lr * weight_decay * w each step, outside the momentum); with momentum 0.9 it decays
    the weights about ten times more weakly than the paper's."""
    if decay not in DECAYS:
        raise ValueError(f"decay must be one of {DECAYS}, got {decay!r}")
    boundaries = [max(1, int(steps * fraction)) for fraction in drops]
    values = [learning_rate / 10 ** i for i in range(len(drops) + 1)]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    if decay == "l2":
        return L2SGD(schedule, momentum=momentum, l2=weight_decay)
    return keras.optimizers.SGD(schedule, momentum=momentum, weight_decay=weight_decay or None)
