"""Data through Keras' own loaders, served offline where the files are on disk.

Fashion-MNIST comes from ``keras.datasets.fashion_mnist.load_data()``. On Debian the package
``dataset-fashion-mnist`` ships the very files Keras downloads; we copy them into Keras' cache
folder first, so the loader finds them there and needs no network. Elsewhere (Colab) Keras
downloads them as usual. CIFAR-10 comes from ``keras.datasets.cifar10``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from .profiles import DATASET_VARIABLE, PROFILE_VARIABLE, Profile, get_profile

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


def keras_cache_dir() -> Path:
    """The folder where ``keras.utils.get_file`` looks for downloaded datasets."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    if not os.access(home if home.exists() else home.parent, os.W_OK):
        home = Path("/tmp/.keras")  # Keras' own fallback for an unwritable home
    return home / "datasets"


def seed_fashion_mnist_cache(source: Path = DEBIAN_FASHION_MNIST) -> bool:
    """Copy Debian's Fashion-MNIST files into Keras' cache; True if all four are there."""
    if not all((source / name).is_file() for name in FASHION_MNIST_FILES):
        return False
    target = keras_cache_dir() / "fashion-mnist"
    target.mkdir(parents=True, exist_ok=True)
    for name in FASHION_MNIST_FILES:
        if not (target / name).is_file():
            shutil.copyfile(source / name, target / name)
    return True


def _load_raw(dataset: str):
    import keras

    if dataset == "fashion_mnist":
        seed_fashion_mnist_cache()
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
        return (x_train[..., None], y_train), (x_test[..., None], y_test)
    if dataset == "cifar10":
        try:
            (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
        except Exception as error:  # urllib, HTTP and archive errors all land here
            raise RuntimeError(
                f"Could not download CIFAR-10 through keras.datasets.cifar10 ({error}). "
                "Connect this machine to the internet and run again (Keras caches it after "
                f"the first download), or run the full profile on Fashion-MNIST with "
                f"`export {DATASET_VARIABLE}=fashion_mnist`, or the CPU-sized book with "
                f"`export {PROFILE_VARIABLE}=quick`. The book never switches data by itself."
            ) from error
        return (x_train, y_train.reshape(-1)), (x_test, y_test.reshape(-1))
    raise ValueError(f"Unknown dataset {dataset!r}")


def _first_per_class_balanced(labels: np.ndarray, size: int | None) -> np.ndarray:
    """Indices of a class-balanced subset of ``size`` examples, in a fixed order."""
    if size is None or size >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(0)
    order = rng.permutation(len(labels))
    classes = np.unique(labels)
    per_class = size // len(classes)
    chosen = np.concatenate([order[labels[order] == c][:per_class] for c in classes])
    rest = np.setdiff1d(order, chosen, assume_unique=True)
    chosen = np.concatenate([chosen, rest[: size - len(chosen)]])
    return np.sort(chosen)


def _resize(images: np.ndarray, size: int | None) -> np.ndarray:
    if size is None or images.shape[1] == size:
        return images
    import keras

    resized = keras.ops.image.resize(images, (size, size), interpolation="bilinear",
                                     antialias=True)
    return keras.ops.convert_to_numpy(resized).astype("float32")


def load_data(profile: Profile | None = None, *, image_size: int | None = None,
              channels: int | None = None):
    """The profile's data as ``(x_train, y_train), (x_test, y_test)``.

    Images are float32 in [0, 1], channels last, resized to ``image_size`` (default: the
    profile's); ``channels=3`` repeats a grayscale channel for networks built for colour
    images. Labels are integer class indices. Subsets are class-balanced and the same every run.
    """
    profile = profile or get_profile()
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 or 3 (or None for the dataset's own), not {channels!r}")
    (x_train, y_train), (x_test, y_test) = _load_raw(profile.dataset)
    train_index = _first_per_class_balanced(y_train, profile.train_size)
    test_index = _first_per_class_balanced(y_test, profile.test_size)
    size = image_size or profile.image_size
    x_train = _channels(_resize(x_train[train_index].astype("float32") / 255.0, size), channels)
    x_test = _channels(_resize(x_test[test_index].astype("float32") / 255.0, size), channels)
    return (x_train, y_train[train_index].astype("int32")), (x_test, y_test[test_index].astype("int32"))


def _channels(images: np.ndarray, channels: int | None) -> np.ndarray:
    if channels is None or images.shape[-1] == channels:
        return images
    if images.shape[-1] != 1:
        raise ValueError(f"cannot turn {images.shape[-1]}-channel images into {channels} channels; "
                         "only grayscale images are repeated to 3 channels")
    return np.repeat(images, channels, axis=-1)


def class_names(dataset: str) -> tuple[str, ...]:
    return FASHION_MNIST_CLASSES if dataset == "fashion_mnist" else CIFAR10_CLASSES
