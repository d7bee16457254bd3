"""Search for a depth sweep that shows the paper's headline in the quick profile's budget.

Trains plain (BN) and residual networks of several depths on the quick profile's data with
one setting and prints, per network, the final training error and loss and the seconds it
took, then one JSON line with everything. Chapter 2's sweep settings come from its runs:

    python -m benchmarks.depth_sweep --depths 8 20 32 56 --epochs 5 --train-size 2000
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

import resnet_book as rb

os.environ.setdefault("RESNET_BOOK_PROFILE", "quick")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[8, 20, 32, 56])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=2000)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--shortcut", default="B")
    parser.add_argument("--no-zero-init", action="store_true")
    parser.add_argument("--kinds", nargs="+", default=["plain", "resnet"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    profile = dataclasses.replace(rb.get_profile("quick"), train_size=args.train_size,
                                  image_size=args.image_size, epochs=args.epochs,
                                  batch_size=args.batch_size)
    data = rb.load_data(profile)
    input_shape = data[0][0].shape[1:]
    results = {}
    for kind in args.kinds:
        for depth in args.depths:
            rb.seed(args.seed)
            net = rb.models.cifar_network(depth, input_shape, residual=kind == "resnet",
                                          shortcut_option=args.shortcut,
                                          zero_init=not args.no_zero_init and kind == "resnet")
            start = time.perf_counter()
            run = rb.train(net, data, profile, learning_rate=args.learning_rate, verbose=False)
            seconds = time.perf_counter() - start
            results[net.name] = {"train_error": round(100 * (1 - run.final_train_accuracy), 1),
                                 "loss": round(run.final_train_loss, 3),
                                 "test_error": round(100 * (1 - run.test_accuracy), 1),
                                 "seconds": round(seconds, 1),
                                 "first_epoch_s": round(run.epoch_seconds[0], 1)}
            print(net.name, results[net.name], flush=True)
    print(json.dumps({"args": vars(args), "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
