"""A short training through the book's training path; run with KERAS_BACKEND set.

Prints one JSON line with what the test checks. Used by tests/test_training.py.
"""
import json
import sys

import resnet_book as rb
import keras
from keras import layers

rb.seed(0)
profile = rb.get_profile("quick")
(x_train, y_train), (x_test, y_test) = rb.load_data(profile)
data = (x_train[:512], y_train[:512]), (x_test[:256], y_test[:256])
inputs = keras.Input(shape=x_train.shape[1:])
a = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
a = layers.Flatten()(a)
model = keras.Model(inputs, layers.Dense(10, activation="softmax")(a), name="tiny")
run = rb.train({"tiny": model}, data, profile, epochs=3, learning_rate=1e-2,
               test_each_epoch=True)["tiny"]
print(json.dumps({"backend": keras.config.backend(), "loss": run.history["loss"],
                  "test_accuracy": run.test_accuracy, "seconds": run.seconds,
                  "test_accuracy_by_epoch": run.history["val_accuracy"],
                  "epoch_seconds": run.epoch_seconds}), file=sys.stderr)
