"""Search for a depth sweep that shows what chapter 2 compares, within the quick budget.

Trains plain (BN) and residual networks of several depths on the quick profile's data with
one setting, each on several seeds (the traced training step reused across seeds, as the
book does); a plain network starts from its residual twin's weights in every layer the two
share (with --zero-init the residual ones have no plain twin). It prints per network each
seed's final training error and loss and the seconds it took, then one JSON line with
everything:

    python -m benchmarks.depth_sweep --depths 8 20 56 --epochs 5 --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import time

os.environ.setdefault("RESNET_BOOK_PROFILE", "quick")

import resnet_book as rb  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[8, 20, 56])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--shortcut", default="B")
    parser.add_argument("--zero-init", action="store_true",
                        help="start the residual blocks' last BN scale at 0 (default: 1)")
    parser.add_argument("--kinds", nargs="+", default=["plain", "resnet"])
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    args = parser.parse_args(argv)
    quick = rb.get_profile("quick")
    profile = dataclasses.replace(
        quick, train_size=args.train_size or quick.train_size,
        image_size=args.image_size or quick.image_size, epochs=args.epochs or quick.epochs,
        batch_size=args.batch_size or quick.batch_size,
        seeds=tuple(args.seeds) if args.seeds else quick.seeds)
    data = rb.load_data(profile)
    input_shape = data[0][0].shape[1:]
    builders = {}
    for kind in args.kinds:
        for depth in args.depths:
            if kind == "plain" and not args.zero_init:
                # the residual twin's starting weights in every layer the two share
                builders[f"plain-{depth}"] = rb.twins.plain_and_residual(
                    rb.models.cifar_network, depth, input_shape,
                    shortcut_option=args.shortcut)[f"plain-{depth}"]
                continue
            builders[f"{kind}-{depth}"] = functools.partial(
                rb.models.cifar_network, depth, input_shape, residual=kind == "resnet",
                shortcut_option=args.shortcut, zero_init=args.zero_init and kind == "resnet")
    start = time.perf_counter()
    runs = rb.train_seeds(builders, data, profile, learning_rate=args.learning_rate)
    results = {label: [{"seed": r.seed, "train_error": round(r.final_train_error, 1),
                        "loss": round(r.final_train_loss, 3),
                        "test_error": round(r.test_error, 1), "seconds": round(r.seconds, 1),
                        "error_by_epoch": [round(100 * (1 - a), 1)
                                           for a in r.history["accuracy"]]}
                       for r in seed_runs] for label, seed_runs in runs.items()}
    print(json.dumps({"args": vars(args), "steps": next(iter(runs.values()))[0].steps,
                      "seconds": round(time.perf_counter() - start), "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
