"""rb.train_seeds and the run cache on a small network; run with KERAS_BACKEND set and
$RESNET_BOOK_RUN_CACHE naming an empty folder.

Prints one JSON line with what tests/test_training.py checks:
- the runs of three seeds, trained through one compiled step;
- seed 2 trained alone (its own, freshly traced step): the same run as in the three;
- the same three seeds again: read from the run cache, with the same weights;
- one change that decides the run (the learning rate): trained again, not read;
- seed 0 under another label: read from the cache, under the label asked for.
"""
import json
import sys

import numpy as np

import resnet_book as rb
import keras
from keras import layers

profile = rb.get_profile("quick")
(x_train, y_train), (x_test, y_test) = rb.load_data(profile)
data = (x_train[:384], y_train[:384]), (x_test[:256], y_test[:256])


def tiny():
    inputs = keras.Input(shape=x_train.shape[1:])
    a = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    a = layers.BatchNormalization()(a)
    a = layers.GlobalAveragePooling2D()(a)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(a), name="tiny")


def train(seeds, learning_rate=1e-2):
    return rb.train_seeds({"tiny": tiny}, data, profile, seeds=seeds, epochs=2,
                          learning_rate=learning_rate, verbose=False)["tiny"]


three = train((0, 1, 2))
alone = train((2,))[0]  # a different key? no: the same run, so it is read from the cache
again = train((0, 1, 2))
other = train((0,), learning_rate=3e-3)[0]
# The same network under another label (as another chapter names it): read, and relabelled.
relabelled = rb.train_seeds({"tiny, again": tiny}, data, profile, seeds=(0,), epochs=2,
                            learning_rate=1e-2, verbose=False)["tiny, again"][0]
rb.seed(1)
fresh_seed_1 = tiny()
print(json.dumps({
    "backend": keras.config.backend(),
    "losses": [run.history["loss"] for run in three],
    "seeds": [run.seed for run in three],
    "steps": three[0].steps,
    "cached_first": [run.cached for run in three],
    "alone_cached": alone.cached,
    "alone_loss": alone.history["loss"],
    "cached_again": [run.cached for run in again],
    "again_losses": [run.history["loss"] for run in again],
    "same_weights_again": all(
        all(np.array_equal(a, b) for a, b in zip(r1.model.get_weights(), r2.model.get_weights()))
        for r1, r2 in zip(three, again)),
    "weights_moved": not all(np.array_equal(a, b) for a, b in
                             zip(three[1].model.get_weights(), fresh_seed_1.get_weights())),
    "other_cached": other.cached,
    "other_loss": other.history["loss"],
    "relabelled": [relabelled.cached, relabelled.label],
}), file=sys.stderr)
