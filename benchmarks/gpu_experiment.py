"""The degradation experiment of He et al. (2016), section 4.2, on the device present.

Plain-20, plain-56, ResNet-20 and ResNet-56 (rb.models.cifar_network, option A shortcuts as in
the paper), trained through the book's training path with the paper's optimizer (SGD, momentum
0.9, L2 weight decay 1e-4 inside the momentum, learning rate 0.1 divided by 10 at half and three
quarters of the run), batch 128, on the full profile's data (set
RESNET_BOOK_DATASET=fashion_mnist where CIFAR-10 cannot be downloaded), no augmentation unless
--augment. Also trains the two ResNets with the last BN scale of each block started at zero
(--zero-init variants).

Prints one line per network and checks the targets of the GPU check: the four
networks in at most 240 s in all; plain-56 above plain-20 in training error; ResNet-56 below
ResNet-20; ResNet-20 at least 94.5 % Fashion-MNIST test accuracy within 60 s.

    KERAS_BACKEND=jax RESNET_BOOK_DATASET=fashion_mnist python -m benchmarks.gpu_experiment
    python -m benchmarks.gpu_experiment --smoke      # CPU-sized: same code, tiny data
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import resnet_book as rb
import resnet_book.models

from benchmarks.machine import describe
from benchmarks.throughput import fresh_start

NETWORKS = {  # label: (depth, residual, zero_init)
    "plain-20": (20, False, False), "plain-56": (56, False, False),
    "resnet-20": (20, True, False), "resnet-56": (56, True, False),
    "resnet-20-zero-init": (20, True, True), "resnet-56-zero-init": (56, True, True),
}
FOUR = ("plain-20", "plain-56", "resnet-20", "resnet-56")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data and networks")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--augment", action="store_true")
    parser.add_argument("--only", nargs="+", choices=sorted(NETWORKS), default=list(NETWORKS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    profile = rb.get_profile()
    settings = rb.acceleration()
    rb.use_precision(settings)
    (x_train, y_train), (x_test, y_test) = rb.load_data(profile)
    depth_of = {label: depth for label, (depth, _, _) in NETWORKS.items()}
    if args.smoke:   # same path, CPU-sized: 512 images, 2 epochs, the shallowest networks
        x_train, y_train, x_test, y_test = x_train[:512], y_train[:512], x_test[:256], y_test[:256]
        args.epochs, args.batch = 2, 64
        depth_of = {label: 8 if depth == 20 else 14 for label, depth in depth_of.items()}
    data = (x_train, y_train), (x_test, y_test)
    print(rb.describe_run(profile, x_train, x_test, settings=settings, augment=args.augment),
          flush=True)
    results, start = {}, time.perf_counter()
    for label in args.only:
        _, residual, zero_init = NETWORKS[label]
        fresh_start(settings)
        model = rb.models.cifar_network(depth_of[label], x_train.shape[1:], classes=10,
                                        residual=residual, shortcut_option="A",
                                        zero_init=zero_init)
        run = rb.train(model, data, profile, epochs=args.epochs, batch_size=args.batch,
                       optimizer=rb.paper_sgd, augment=args.augment, settings=settings,
                       verbose=False)
        results[label] = {
            "depth": depth_of[label], "seconds": run.seconds,
            "epoch_seconds": run.epoch_seconds, "train_error": 1 - run.final_train_accuracy,
            "test_error": 1 - run.test_accuracy, "train_loss": run.history["loss"],
            "train_accuracy": run.history["accuracy"], "jit_compiled": run.jit_compiled,
        }
        print(f"{label} ({depth_of[label]} layers): {run.seconds:.1f} s, training error "
              f"{100 * results[label]['train_error']:.1f} %, test error "
              f"{100 * results[label]['test_error']:.1f} % (first epoch "
              f"{run.epoch_seconds[0]:.1f} s, XLA {run.jit_compiled})", flush=True)
    checks = {}
    if set(FOUR) <= set(results):
        error = {label: results[label]["train_error"] for label in FOUR}
        checks = {
            "four networks within 240 s": sum(results[n]["seconds"] for n in FOUR) <= 240,
            "plain-56 trains worse than plain-20": error["plain-56"] > error["plain-20"],
            "resnet-56 trains better than resnet-20": error["resnet-56"] < error["resnet-20"],
            "resnet-20 reaches 94.5 % test accuracy": results["resnet-20"]["test_error"] <= 0.055,
            "resnet-20 within 60 s": results["resnet-20"]["seconds"] <= 60,
        }
        for name, passed in checks.items():
            print(f"{'PASS' if passed else 'MISS'}: {name}")
    print(f"all networks in {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "machine": describe(), "device": rb.device_name(), "profile": profile.name,
            "dataset": profile.dataset, "precision": settings.precision, "smoke": args.smoke,
            "epochs": args.epochs, "batch": args.batch, "augment": args.augment,
            "networks": results, "checks": checks}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
