"""The one training path runs under both Keras backends, TensorFlow (the book's) and JAX."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import resnet_book as rb

SMOKE = Path(__file__).with_name("train_smoke.py")


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_short_training_under_each_backend(backend):
    env = {**os.environ, "KERAS_BACKEND": backend, "RESNET_BOOK_PROFILE": "quick"}
    result = subprocess.run([sys.executable, str(SMOKE)], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    # One line naming profile, backend, device and dataset, then one line for the model.
    assert lines[0].startswith(f"profile quick · backend {backend} · device CPU · "
                               "data Fashion-MNIST (512 training / 256 test images at 16x16)")
    assert lines[1].startswith("tiny: 3 epochs in ")
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["backend"] == backend
    assert len(report["loss"]) == 3 and np.all(np.isfinite(report["loss"]))
    assert report["loss"][-1] < report["loss"][0], report["loss"]  # it learns
    assert report["test_accuracy"] > 0.5, report  # chance is 0.1


def test_train_rejects_what_is_not_a_model():
    with pytest.raises(TypeError, match="not a keras.Model"):
        rb.train({"oops": "plain-20"}, data=((None, None), (None, None)),
                 profile=rb.get_profile("quick"))
    with pytest.raises(ValueError, match="at least one model"):
        rb.train({}, data=((None, None), (None, None)), profile=rb.get_profile("quick"))
