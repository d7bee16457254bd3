"""The full profile's GPU path, shrunk to a few steps, on whatever device is here.

Forces the GPU switches (mixed bfloat16 with a float32 output, XLA, several steps per call),
the paper's augmentation and its SGD schedule, as ``train`` uses them on a GPU, and prints one
JSON line with what tests/test_training.py checks. Run with KERAS_BACKEND set, and
RESNET_BOOK_DATASET=fashion_mnist (CIFAR-10 cannot be downloaded here).
"""
import json
import sys

import numpy as np

import resnet_book as rb
import resnet_book.models  # noqa: F401 (the book's CIFAR networks, as rb.models)
import keras

rb.seed(0)
profile = rb.get_profile("full")
settings = rb.acceleration("GPU")
policy = rb.use_precision(settings)
(x_train, y_train), (x_test, y_test) = rb.load_data(profile)
data = (x_train[:256], y_train[:256]), (x_test[:128], y_test[:128])
model = rb.models.cifar_network(8, x_train.shape[1:], classes=10)
run = rb.train(model, data, profile, epochs=3, batch_size=32, settings=settings,
               optimizer=rb.paper_sgd)
prediction = model.predict(data[1][0][:4], verbose=0)
print(json.dumps({
    "backend": keras.config.backend(), "policy": policy, "augment": profile.augment,
    "compute_dtype": [layer for layer in model.layers
                      if isinstance(layer, keras.layers.Dense)][-1].compute_dtype,
    "prediction_dtype": str(prediction.dtype),
    "loss": run.history["loss"], "test_accuracy": run.test_accuracy,
    "train_size": len(x_train), "jit_compiled": run.jit_compiled,
}), file=sys.stderr)
assert np.all(np.isfinite(run.history["loss"]))
