"""Estimate how long each chapter's training takes on Colab's free T4 in each GPU profile.

No T4 was available to measure on, so this is an estimate, made in the open:

1. Throughput of the CIFAR networks measured on an H100 (Keras 3 on JAX, bf16 mixed precision,
   XLA, data resident on the GPU; ``../shared/DESIGN.md``): ResNet-20 37,684 img/s at batch
   128 and 131,833 at batch 512; ResNet-56 18,666 and 49,564.
2. At batch 128 those networks leave an H100 mostly idle (four times the batch gives 2.7 to 3.5
   times the images per second), so its batch-512 figures stand for the compute it has. A T4
   has about 1/15 of an H100's peak tensor throughput (65 TFLOPS float16 against 989 TFLOPS
   bfloat16, dense), so a T4 computes at most ``H100 batch-512 rate / 15``; it cannot beat the
   H100's own batch-128 rate either. The estimate takes the smaller of the two.
3. Time per image grows linearly with depth between the two measured depths (plain and
   residual networks of one depth cost about the same); each network adds a fixed compile time
   (the H100 runs took 9-17 s for their first epoch; a T4 and TensorFlow are taken as 30 s).
4. Each chapter trains what its notebook trains, on the whole of CIFAR-10 (50,000 images), for
   the profile's epochs (chapter 5: the paper-recipe run's epochs, testing 10,000 images after
   each epoch). A chapter that trains its comparison on several seeds (``rb.train_seeds``)
   trains each network once per seed of the profile and compiles it once.

    python -m benchmarks.t4_estimate            # a table, minutes per chapter and profile
"""
from __future__ import annotations

import argparse
import json


from resnet_book.profiles import PROFILES

H100_IMAGES_PER_S = {20: {128: 37_684, 512: 131_833}, 56: {128: 18_666, 512: 49_564}}
T4_SHARE_OF_H100 = 65 / 989
COMPILE_S = 30
CIFAR10_TRAIN, CIFAR10_TEST = 50_000, 10_000
TEST_COST = 1 / 3   # testing an image: a forward pass, about a third of a training step

# What each chapter trains: (depths of its networks, whether it tests after every epoch,
# whether its epochs are chapter 5's paper-recipe epochs, whether each network trains once per
# seed of the profile).
CHAPTERS = {
    "1 plain block": ((8, 20, 32, 56), False, False, True),
    "2 residual block (depth sweep)": ((8, 20, 32, 56) * 2, False, False, True),
    "3 why ResNets work": ((56, 56, 56, 20), False, False, True),
    "4 matching dimensions": ((20, 20), False, False, True),
    "5 ResNet family (paper recipe)": ((20, 56, 20, 56, 56), True, True, True),
    # Run alone: chapter 2's twins of 20 and 56 layers, then the original ResNet-110 and its
    # pre-activation twin (in a build of the whole book only the last two are new).
    "6 what ResNets do": ((20, 20, 56, 56, 110, 110), False, False, True),
}


def t4_images_per_s(depth: int) -> float:
    """Training images per second of a CIFAR network of ``depth`` layers on a T4, batch 128."""
    per_image = {d: 1 / min(rates[128], rates[512] * T4_SHARE_OF_H100)
                 for d, rates in H100_IMAGES_PER_S.items()}
    slope = (per_image[56] - per_image[20]) / (56 - 20)
    return 1 / (per_image[20] + slope * (depth - 20))


def chapter_seconds(depths, tests_each_epoch: bool, paper_run: bool, seeded: bool,
                    profile) -> float:
    epochs = (profile.paper_epochs(CIFAR10_TRAIN, 128) if paper_run else profile.epochs)
    runs = len(profile.seeds) if seeded else 1
    seconds = 0.0
    for depth in depths:
        images = CIFAR10_TRAIN + (TEST_COST * CIFAR10_TEST if tests_each_epoch else 0)
        seconds += runs * epochs * images / t4_images_per_s(depth) + COMPILE_S
    return seconds


def estimate() -> dict:
    return {name: {profile: round(chapter_seconds(*spec, PROFILES[profile]) / 60, 1)
                   for profile in ("full", "paper")}
            for name, spec in CHAPTERS.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    table = estimate()
    if args.json:
        print(json.dumps(table))
        return 0
    print("T4 images/s at batch 128 (estimated): "
          + ", ".join(f"depth {d}: {t4_images_per_s(d):,.0f}" for d in (8, 20, 32, 56, 110)))
    print(f"{'chapter':34} {'full (min)':>11} {'paper (min)':>12}")
    for name, minutes in table.items():
        print(f"{name:34} {minutes['full']:>11} {minutes['paper']:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
