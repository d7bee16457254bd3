"""Run profiles: the one switch that decides how big every run in the book is.

``RESNET_BOOK_PROFILE`` picks the profile (``quick`` or ``full``); without it the book runs
``full`` when a GPU is visible and ``quick`` otherwise. ``RESNET_BOOK_DATASET`` overrides the
profile's dataset explicitly. Notebooks ask for their sizes here and never hard-code them.
"""
from __future__ import annotations

import dataclasses
import os

PROFILE_VARIABLE = "RESNET_BOOK_PROFILE"
DATASET_VARIABLE = "RESNET_BOOK_DATASET"

DATASETS = {
    "fashion_mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
}


@dataclasses.dataclass(frozen=True)
class Profile:
    """How big a run is: which data, how much of it, at what size, for how long."""

    name: str
    dataset: str
    train_size: int | None  # None: the whole training set
    test_size: int | None
    image_size: int | None  # None: the dataset's own size
    epochs: int
    batch_size: int
    augment: bool = False   # the paper's shifts and flips while training (full profile)

    @property
    def dataset_title(self) -> str:
        return DATASETS[self.dataset]

    def with_dataset(self, dataset: str) -> "Profile":
        return dataclasses.replace(self, dataset=_check_dataset(dataset))


PROFILES = {
    # CPU-sized: the profile of CI, the tests and the built book.
    "quick": Profile("quick", "fashion_mnist", train_size=2000, test_size=1000,
                     image_size=16, epochs=5, batch_size=64),
    # GPU-sized: the whole of CIFAR-10 at its own 32x32.
    "full": Profile("full", "cifar10", train_size=None, test_size=None,
                    image_size=None, epochs=30, batch_size=128, augment=True),
}


def _check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise ValueError(
            f"Unknown dataset {dataset!r} (from {DATASET_VARIABLE} or the caller). "
            f"Choose one of: {', '.join(sorted(DATASETS))}; for example "
            f"`export {DATASET_VARIABLE}=fashion_mnist`, or unset it to use the profile's own."
        )
    return dataset


def gpu_visible() -> bool:
    """True when the Keras backend in use can see a GPU."""
    from .training import device_kind

    return device_kind() == "GPU"


def get_profile(name: str | None = None) -> Profile:
    """The profile to run: ``name``, else ``$RESNET_BOOK_PROFILE``, else by hardware.

    ``$RESNET_BOOK_DATASET``, when set, replaces the profile's dataset.
    """
    name = name or os.environ.get(PROFILE_VARIABLE, "").strip() or None
    if name is None:
        name = "full" if gpu_visible() else "quick"
    if name not in PROFILES:
        raise ValueError(
            f"Unknown run profile {name!r} (from {PROFILE_VARIABLE} or the caller). "
            f"Choose one of: {', '.join(PROFILES)} — `quick` is CPU-sized, `full` GPU-sized; "
            f"for example `export {PROFILE_VARIABLE}=quick`, or unset it to choose by hardware."
        )
    profile = PROFILES[name]
    dataset = os.environ.get(DATASET_VARIABLE, "").strip()
    if dataset:
        profile = profile.with_dataset(dataset)
    return profile
