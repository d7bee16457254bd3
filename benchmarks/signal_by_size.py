"""How the image size decides the signal in a fresh plain network (chapter 1's measure).

For chapter 1's plain networks (He initialisation, no BN) of several depths, at several image
sizes of the quick profile's data, and several seeds: the forward RMS of the first and the
last ReLU's output, and how much the gradient dL/da falls from the last ReLU to the first.
At small sizes the last stage works on 2x2 maps, where a 3x3 "same" convolution sees mostly
padding, and the signal collapses for a reason that has nothing to do with depth itself.

    python -m benchmarks.signal_by_size --sizes 8 16 32 --depths 8 20 56 --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("RESNET_BOOK_PROFILE", "quick")

import resnet_book as rb  # noqa: E402  first: it mutes TensorFlow's start-up logs
import resnet_book.models  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def signal(model, x, y) -> dict:
    relus = [layer.output for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    probe = keras.Model(model.input, [*relus, model.output])
    with tf.GradientTape() as tape:
        *activations, probabilities = probe(x)
        loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, probabilities))
    gradients = tape.gradient(loss, activations)
    rms = [float(tf.sqrt(tf.reduce_mean(tf.square(a)))) for a in activations]
    norms = [float(tf.norm(g)) for g in gradients]
    return {"rms_first": rms[0], "rms_last": rms[-1], "gradient_fall": norms[-1] / norms[0],
            "last_map": int(activations[-1].shape[1])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--depths", type=int, nargs="+", default=[8, 20, 56])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args(argv)
    profile = rb.get_profile("quick")
    results = []
    for size in args.sizes:
        (x, y), _ = rb.load_data(profile, image_size=size)
        x, y = x[:args.batch], y[:args.batch]
        for depth in args.depths:
            per_seed = []
            for seed in args.seeds:
                rb.seed(seed)
                per_seed.append(signal(rb.models.plain_network(depth, x.shape[1:]), x, y))
            row = {"size": size, "depth": depth, "last_map": per_seed[0]["last_map"]}
            for key in ("rms_first", "rms_last", "gradient_fall"):
                values = [s[key] for s in per_seed]
                row[key] = [float(f"{v:.3g}") for v in values]
            results.append(row)
            print(f"{size}x{size} plain-{depth} (last maps {row['last_map']}x"
                  f"{row['last_map']}): RMS first {np.mean(row['rms_first']):.3g}, last "
                  f"{np.mean(row['rms_last']):.3g}; gradient falls "
                  + ", ".join(f"{v:,.3g}x" for v in row["gradient_fall"]), flush=True)
    print(json.dumps({"seeds": args.seeds, "batch": args.batch, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
