"""Why can ResNet-56 train worse than ResNet-20 in a short run? Variants side by side.

Trains ResNet-20 and variants of ResNet-56 (option A shortcuts, rb.models.cifar_network) on a
Fashion-MNIST subset with He et al.'s step schedule (0.1, divided by 10 at 50 % and 75 % of the
steps, momentum 0.9, batch 128) and records, per epoch, the training error (training-mode BN, as
Keras' fit reports it) and the mean squared norm of the convolution kernels, plus the loss of
the first steps. Variants:

- ``decoupled``: Keras' ``SGD(weight_decay=1e-4)`` (w -= lr * 1e-4 * w, outside the momentum);
- ``l2``: the paper's weight decay, 1e-4 * w added to the gradient before the momentum;
- ``zero-init``: with each block's last BN scale started at zero (decoupled or ``l2`` decay);
- ``warm-up``: decoupled, learning rate 0.01 for the first tenth of the steps (the paper's
  ResNet-110 recipe);
- ``no-decay``: no weight decay at all.

    python -m benchmarks.resnet56_diagnosis --train 5000 --size 16 --epochs 15 --json out.json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

import resnet_book as rb
import resnet_book.models
import keras

from benchmarks.machine import describe


class Probe(keras.callbacks.Callback):
    """Mean squared conv-kernel norm at each epoch's end; loss of the first steps."""

    def __init__(self, first_steps=40):
        super().__init__()
        self.kernel_norms, self.first_losses, self.first_steps = [], [], first_steps

    def _kernel_norm(self):
        kernels = [w for w in self.model.trainable_weights
                   if len(w.shape) == 4]
        return float(np.mean([np.sum(np.square(keras.ops.convert_to_numpy(w)))
                              for w in kernels]))

    def on_train_begin(self, logs=None):
        self.kernel_norms.append(self._kernel_norm())

    def on_train_batch_end(self, batch, logs=None):
        if len(self.first_losses) < self.first_steps and logs and "loss" in logs:
            self.first_losses.append(float(logs["loss"]))

    def on_epoch_end(self, epoch, logs=None):
        self.kernel_norms.append(self._kernel_norm())


def warm_up_sgd(steps, warm_fraction=0.1, **kwargs):
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        [max(1, int(steps * f)) for f in (warm_fraction, 0.5, 0.75)], [0.01, 0.1, 0.01, 0.001])
    return keras.optimizers.SGD(schedule, momentum=0.9, weight_decay=1e-4)


VARIANTS = {  # label: (depth, zero_init, optimizer factory taking steps)
    "resnet-20 decoupled": (20, False, lambda steps: rb.paper_sgd(steps, decay="decoupled")),
    "resnet-56 decoupled": (56, False, lambda steps: rb.paper_sgd(steps, decay="decoupled")),
    "resnet-20 l2": (20, False, lambda steps: rb.paper_sgd(steps, decay="l2")),
    "resnet-56 l2": (56, False, lambda steps: rb.paper_sgd(steps, decay="l2")),
    "resnet-56 zero-init": (56, True, lambda steps: rb.paper_sgd(steps, decay="decoupled")),
    "resnet-56 l2 zero-init": (56, True, lambda steps: rb.paper_sgd(steps, decay="l2")),
    "resnet-56 warm-up": (56, False, warm_up_sgd),
    "resnet-56 no-decay": (56, False,
                           lambda steps: rb.paper_sgd(steps, weight_decay=0.0, decay="decoupled")),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    profile = dataclasses.replace(rb.get_profile("quick"), train_size=args.train,
                                  test_size=2000, image_size=args.size)
    (x_train, y_train), (x_test, y_test) = rb.load_data(profile)
    print(rb.describe_run(profile, x_train, x_test), f"· {describe()}", flush=True)
    results = {}
    for label in args.only:
        depth, zero_init, factory = VARIANTS[label]
        keras.backend.clear_session()
        rb.seed(0)
        model = rb.models.cifar_network(depth, x_train.shape[1:], residual=True,
                                        shortcut_option="A", zero_init=zero_init)
        probe = Probe()
        steps = args.epochs * -(-len(x_train) // args.batch)
        model.compile(optimizer=factory(steps), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        start = time.perf_counter()
        history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch,
                            verbose=0, callbacks=[probe])
        seconds = time.perf_counter() - start
        _, test_accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
        train_error = [round(1 - a, 4) for a in history.history["accuracy"]]
        results[label] = {"seconds": seconds, "train_error": train_error,
                          "test_error": 1 - test_accuracy, "kernel_norms": probe.kernel_norms,
                          "first_losses": probe.first_losses}
        print(f"{label}: {seconds:.0f} s, training error by epoch "
              f"{' '.join(f'{100 * e:.1f}' for e in train_error)} %, test error "
              f"{100 * (1 - test_accuracy):.1f} %; mean |W|^2 "
              f"{' '.join(f'{n:.2f}' for n in probe.kernel_norms[::3])}; "
              f"max loss of the first steps {max(probe.first_losses):.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": describe(), "args": vars(args) | {
            "json": str(args.json)}, "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
