"""Run profiles: the one switch that decides how big every run in the book is.

``RESNET_BOOK_PROFILE`` picks the profile (``quick``, ``full`` or ``paper``); without it the
book runs ``full`` when a GPU is visible and ``quick`` otherwise. ``RESNET_BOOK_DATASET``
overrides the profile's dataset explicitly. Notebooks ask for their sizes here and never
hard-code them.

``RESNET_BOOK_REHEARSAL=1`` rehearses a GPU profile on a CPU: the profile's own code path and
text (its name, schedule, augmentation, and the GPU switches of :func:`resnet_book.acceleration`)
on a few hundred images for one epoch, so that code only a GPU would run is run by the
tests. Its numbers mean nothing; its purpose is that nothing breaks.
"""
from __future__ import annotations

import dataclasses
import os

from .devices import gpu_visible

PROFILE_VARIABLE = "RESNET_BOOK_PROFILE"
DATASET_VARIABLE = "RESNET_BOOK_DATASET"
REHEARSAL_VARIABLE = "RESNET_BOOK_REHEARSAL"

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
    augment: bool = False   # the paper's shifts and flips while training (GPU profiles)
    # Chapter 5's run of the paper's recipe: its length in training steps (None: ``epochs``
    # epochs, as every other run). The paper trained for 64,000 steps of 128 images.
    paper_steps: int | None = None
    rehearsal: bool = False  # a GPU profile shrunk to run on a CPU (see the module's notes)
    # Every comparison the book draws is trained once per seed (rb.train_seeds); a trend
    # rests on all of them, never on one.
    seeds: tuple = (0, 1, 2)

    @property
    def dataset_title(self) -> str:
        return DATASETS[self.dataset]

    def with_dataset(self, dataset: str) -> "Profile":
        return dataclasses.replace(self, dataset=_check_dataset(dataset))

    def steps_per_epoch(self, train_size: int, batch_size: int | None = None) -> int:
        """Training steps in one epoch over ``train_size`` images."""
        return -(-train_size // (batch_size or self.batch_size))

    def paper_epochs(self, train_size: int, batch_size: int) -> int:
        """Epochs of chapter 5's paper-recipe run: ``epochs``, or as many as ``paper_steps``
        take, rounded up to whole epochs."""
        if self.paper_steps is None:
            return self.epochs
        return -(-self.paper_steps // self.steps_per_epoch(train_size, batch_size))

    def rehearsed(self) -> "Profile":
        """This profile as the CPU rehearsal runs it: the same name, code path and text, on a
        few hundred images at the quick profile's 8x8 for one epoch (eight steps of the
        paper's schedule). The size does not change the code path; it cuts the time the CPU
        spends compiling and running each network by about a quarter."""
        return dataclasses.replace(
            self, train_size=256, test_size=128, epochs=1, image_size=8,
            paper_steps=None if self.paper_steps is None else 8, rehearsal=True)


PROFILES = {
    # CPU-sized: the profile of CI, the tests and the built book. Images at 8x8, below the
    # 16x16 the design asks for (at 8x8 the last stage works on 2x2 maps; chapter 1 shows
    # what that does). At 16x16 on two cores a 56-layer network's run takes about 3.5 times
    # as long (71-104 s against 19-46 s, in cold book builds), and in its 160 steps plain-56
    # still ends near chance (80 % training error, loss 2.11): the size alone does not make
    # that run mean more, and the book's runs on three seeds take the cold build to 9.4 min
    # at 8x8 on a 2-core Intel VM (12.3 min for chapters 1-5 on a 2-core AMD VM half as
    # fast): 3.5 times the training would not fit its 10 minutes on either.
    "quick": Profile("quick", "fashion_mnist", train_size=2000, test_size=1000,
                     image_size=8, epochs=5, batch_size=64),
    # GPU-sized: the whole of CIFAR-10 at its own 32x32. On Colab's free T4 the chapters'
    # training, each comparison on three seeds, is estimated at about 15, 30, 23, 6, 27 and 44
    # minutes for chapters 1 to 6, each run alone (benchmarks/t4_estimate.py).
    "full": Profile("full", "cifar10", train_size=None, test_size=None,
                    image_size=None, epochs=8, batch_size=128, augment=True),
    # The full profile with the paper's own schedule for chapter 5's experiment (64,000 steps
    # of 128 images, about 164 epochs); every other run is the full profile's.
    "paper": Profile("paper", "cifar10", train_size=None, test_size=None,
                     image_size=None, epochs=8, batch_size=128, augment=True,
                     paper_steps=64_000),
}
GPU_PROFILES = ("full", "paper")


def _check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise ValueError(
            f"Unknown dataset {dataset!r} (from {DATASET_VARIABLE} or the caller). "
            f"Choose one of: {', '.join(sorted(DATASETS))}; for example "
            f"`export {DATASET_VARIABLE}=fashion_mnist`, or unset it to use the profile's own."
        )
    return dataset


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
            f"Choose one of: {', '.join(PROFILES)} — `quick` is CPU-sized, `full` GPU-sized, "
            f"`paper` is `full` with the paper's schedule in chapter 5; for example "
            f"`export {PROFILE_VARIABLE}=quick`, or unset it to choose by hardware."
        )
    profile = PROFILES[name]
    dataset = os.environ.get(DATASET_VARIABLE, "").strip()
    if dataset:
        profile = profile.with_dataset(dataset)
    if rehearsal_requested():
        if profile.name not in GPU_PROFILES:
            raise ValueError(
                f"{REHEARSAL_VARIABLE} rehearses a GPU profile ({', '.join(GPU_PROFILES)}) on "
                f"a CPU, but the profile is {profile.name!r}: set {PROFILE_VARIABLE}=full as "
                f"well, or unset {REHEARSAL_VARIABLE}.")
        profile = profile.rehearsed()
    return profile


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to 1, true or yes."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def rehearsal_requested() -> bool:
    """True when ``$RESNET_BOOK_REHEARSAL`` asks to rehearse a GPU profile on a CPU."""
    return env_flag(REHEARSAL_VARIABLE)
