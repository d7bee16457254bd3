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
                               "data Fashion-MNIST (512 training / 256 test images at 8x8)")
    assert lines[1].startswith("tiny: 3 epochs in ")
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["backend"] == backend
    assert len(report["loss"]) == 3 and np.all(np.isfinite(report["loss"]))
    assert report["loss"][-1] < report["loss"][0], report["loss"]  # it learns
    assert report["test_accuracy"] > 0.5, report  # chance is 0.1
    # test_each_epoch: one test accuracy per epoch, the last equal to the final test
    assert len(report["test_accuracy_by_epoch"]) == 3 == len(report["epoch_seconds"])
    assert np.isclose(report["test_accuracy_by_epoch"][-1], report["test_accuracy"])


def test_train_rejects_what_is_not_a_model():
    with pytest.raises(TypeError, match="not a keras.Model"):
        rb.train({"oops": "plain-20"}, data=((None, None), (None, None)),
                 profile=rb.get_profile("quick"))
    with pytest.raises(ValueError, match="at least one model"):
        rb.train({}, data=((None, None), (None, None)), profile=rb.get_profile("quick"))


GPU_PATH = Path(__file__).with_name("train_gpu_path.py")


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_gpu_path_runs_shrunk_on_the_cpu(backend):
    """The full profile's GPU switches (mixed bfloat16, XLA, several steps per call), the
    paper's augmentation and SGD schedule, forced on here for a few steps under each backend,
    so that code cannot rot unseen on machines without a GPU."""
    env = {**os.environ, "KERAS_BACKEND": backend, "RESNET_BOOK_DATASET": "fashion_mnist"}
    result = subprocess.run([sys.executable, str(GPU_PATH)], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0] == (f"profile full · backend {backend} · device CPU · data Fashion-MNIST "
                        "(256 training / 128 test images at 28x28) · augmented · "
                        "mixed_bfloat16, XLA True, 16 steps per call")
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["train_size"] == 60_000  # the full profile's data: all of Fashion-MNIST
    assert report["policy"] == "mixed_bfloat16" and report["compute_dtype"] == "bfloat16"
    assert report["prediction_dtype"] == "float32"   # the softmax stays in float32
    assert report["jit_compiled"] is True   # nothing in the model turned XLA off
    assert report["loss"][-1] < report["loss"][0], report["loss"]


def test_shift_and_flip_crops_padded_images_and_leaves_test_images_alone():
    from resnet_book.training import ShiftAndFlip

    images = np.arange(3 * 6 * 6 * 2, dtype="float32").reshape(3, 6, 6, 2) + 1
    layer = ShiftAndFlip(shift=2, seed=1)
    assert np.array_equal(np.asarray(layer(images, training=False)), images)
    seen = set()
    for _ in range(8):
        out = np.asarray(layer(images, training=True))
        for image, result in zip(images, out):
            padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
            matches = [(r, c, flip) for r in range(5) for c in range(5) for flip in (0, 1)
                       if np.array_equal(result, (padded[r:r + 6, c:c + 6])[:, ::-1]
                                         if flip else padded[r:r + 6, c:c + 6])]
            assert matches, "an augmented image is not a crop of the padded image"
            seen.update(matches)
    assert len(seen) > 10 and {m[2] for m in seen} == {0, 1}   # random places, both flips


def test_shift_and_flip_pads_with_the_mean_colour_as_the_paper_does():
    """He et al. pad mean-subtracted images with zeros, i.e. with the average pixel: the
    border of a shifted image has the training images' mean colour, not black."""
    from resnet_book.training import ShiftAndFlip, mean_colour

    images = np.random.default_rng(0).uniform(0.2, 1.0, size=(64, 6, 6, 3)).astype("float32")
    fill = mean_colour(images)
    assert np.allclose(fill, images.mean(axis=(0, 1, 2)))
    out = np.asarray(ShiftAndFlip(shift=2, fill=fill, seed=3)(images, training=True))
    border = np.isin(out, images, invert=True).any(axis=-1)
    assert border.any(), "no image was shifted"
    assert np.allclose(out[border], np.asarray(fill, "float32"))
    # the image itself is not touched: every pixel off the border is one of its own
    assert np.isin(out[~border], images).all()


def test_paper_sgd_divides_the_rate_by_ten_twice():
    optimizer = rb.paper_sgd(steps=400)
    schedule = optimizer._learning_rate   # the schedule (learning_rate is its current value)
    rates = [float(schedule(step)) for step in (0, 199, 201, 299, 301, 399)]
    assert np.allclose(rates, [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    assert optimizer.momentum == 0.9 and optimizer.l2 == 1e-4   # the paper's L2 decay


def _two_steps(optimizer, gradient=0.5):
    import keras

    weight = keras.Variable(np.array([2.0], "float32"))
    for _ in range(2):
        optimizer.apply_gradients([(keras.ops.convert_to_tensor([gradient]), weight)])
    return float(keras.ops.convert_to_numpy(weight)[0])


def test_l2_decay_goes_through_the_momentum_and_decoupled_decay_does_not():
    lr, momentum, decay, g = 0.1, 0.9, 1e-2, 0.5
    # The paper's SGD: v = momentum * v - lr * (g + decay * w); w = w + v.
    w, v = 2.0, 0.0
    for _ in range(2):
        v = momentum * v - lr * (g + decay * w)
        w = w + v
    assert np.isclose(_two_steps(rb.paper_sgd(100, lr, momentum, decay, decay="l2")), w)
    # Keras' decoupled decay: w = w - lr * decay * w, then the momentum step on g alone.
    w, v = 2.0, 0.0
    for _ in range(2):
        w = w - lr * decay * w
        v = momentum * v - lr * g
        w = w + v
    assert np.isclose(_two_steps(rb.paper_sgd(100, lr, momentum, decay, decay="decoupled")), w)
    with pytest.raises(ValueError, match="decay must be one of"):
        rb.paper_sgd(100, decay="adamw")


def test_time_to_accuracy_reads_the_per_epoch_test_accuracy():
    run = rb.TrainingRun("net", {"loss": [2.0, 1.0, 0.5], "accuracy": [0.3, 0.6, 0.8],
                                 "val_accuracy": [0.4, 0.72, 0.71]}, 6.0, 0.5, 0.71,
                         epoch_seconds=[3.0, 2.0, 1.0])
    assert run.time_to_accuracy(0.7) == (2, 5.0)
    assert run.time_to_accuracy(0.4) == (1, 3.0)
    assert run.time_to_accuracy(0.9) is None
    untested = rb.TrainingRun("net", {"loss": [1.0], "accuracy": [0.5]}, 1.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="test_each_epoch=True"):
        untested.time_to_accuracy(0.5)


def test_cpu_settings_are_all_off_and_gpu_settings_pick_a_precision():
    assert rb.acceleration("CPU") == rb.Acceleration("float32", "auto", 1)
    gpu = rb.acceleration("GPU")
    assert gpu.mixed and gpu.jit_compile is True and gpu.steps_per_execution > 1


def test_eager_evaluation_gives_what_keras_evaluate_gives():
    from resnet_book.training import evaluate_eagerly

    rb.seed(0)
    model = rb.models.cifar_network(8, (8, 8, 1), classes=10)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((300, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 10, 300).astype("int32")
    loss, accuracy = model.evaluate(x, y, batch_size=128, verbose=0)
    eager_loss, eager_accuracy = evaluate_eagerly(model, x, y, batch_size=128)
    assert np.isclose(eager_loss, loss, rtol=1e-5) and eager_accuracy == pytest.approx(accuracy)


SEEDS_SMOKE = Path(__file__).with_name("train_seeds_smoke.py")


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_seeds_share_one_traced_step_and_the_run_cache_returns_the_same_runs(
        backend, tmp_path):
    """Three seeds trained through one compiled step give each seed the run it gets when it
    is trained alone; the same runs again come from the cache; a change that decides a run
    (the learning rate) is trained, not read."""
    env = {**os.environ, "KERAS_BACKEND": backend, "RESNET_BOOK_PROFILE": "quick",
           "RESNET_BOOK_RUN_CACHE": str(tmp_path / "runs")}
    result = subprocess.run([sys.executable, str(SEEDS_SMOKE)], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["backend"] == backend
    assert report["seeds"] == [0, 1, 2] and report["steps"] == 2 * 6
    assert report["cached_first"] == [False, False, False]
    losses = np.array(report["losses"])
    assert np.all(np.isfinite(losses)) and np.all(losses[:, -1] < losses[:, 0])
    assert len({tuple(row) for row in losses.tolist()}) == 3   # the seeds differ
    assert report["weights_moved"]   # each seed's model holds its trained weights
    assert report["cached_again"] == [True, True, True] and report["same_weights_again"]
    assert np.array_equal(report["again_losses"], report["losses"])
    assert report["alone_cached"] and report["alone_loss"] == report["losses"][2]
    assert report["other_cached"] is False and report["other_loss"] != report["losses"][0]
    assert report["relabelled"] == [True, "tiny, again"]


def test_a_seed_trained_alone_is_the_run_it_gets_among_others(tmp_path):
    """Without the cache: seed 1 trained after seed 0 (through seed 0's compiled step, its
    weights and optimizer state set back) is the run seed 1 gets on its own."""
    env = {**os.environ, "RESNET_BOOK_PROFILE": "quick"}
    env.pop("RESNET_BOOK_RUN_CACHE", None)
    code = (
        "import json, sys, resnet_book as rb\n"
        "from keras import layers\n"
        "import keras\n"
        "profile = rb.get_profile('quick')\n"
        "(x, y), (xt, yt) = rb.load_data(profile)\n"
        "data = (x[:256], y[:256]), (xt[:128], yt[:128])\n"
        "def build():\n"
        "    i = keras.Input(x.shape[1:])\n"
        "    a = layers.GlobalAveragePooling2D()(layers.Conv2D(8, 3, activation='relu')(i))\n"
        "    return keras.Model(i, layers.Dense(10, activation='softmax')(a))\n"
        "both = rb.train_seeds({'n': build}, data, profile, seeds=(0, 1), epochs=2,"
        " verbose=False)['n']\n"
        "alone = rb.train_seeds({'n': build}, data, profile, seeds=(1,), epochs=2,"
        " verbose=False)['n'][0]\n"
        "print(json.dumps([both[1].history['loss'], alone.history['loss'],"
        " both[0].history['loss']]))\n")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    among, alone, seed_0 = json.loads(result.stdout.strip().splitlines()[-1])
    assert np.allclose(among, alone, rtol=1e-5, atol=1e-6), (among, alone)
    assert not np.allclose(seed_0, alone)


def test_train_seeds_wants_builders_not_models():
    model = rb.models.cifar_network(8, (8, 8, 1))
    with pytest.raises(TypeError, match="function that builds a new network"):
        rb.train_seeds({"built": model}, data=((None, None), (None, None)),
                       profile=rb.get_profile("quick"))
    with pytest.raises(ValueError, match="at least one seed"):
        rb.train_seeds({"n": lambda: model}, data=((None, None), (None, None)),
                       profile=rb.get_profile("quick"), seeds=())


def test_near_chance_is_a_loss_within_ten_percent_of_a_uniform_guess():
    uniform = -np.log(np.full(10, 0.1)).mean()   # cross-entropy of equal probabilities
    assert rb.near_chance(uniform) and rb.near_chance(0.91 * uniform)
    assert not rb.near_chance(0.89 * uniform)
    assert rb.near_chance(0.65, classes=2) and not rb.near_chance(0.6, classes=2)


def test_seeding_between_seeds_builds_what_rb_seed_builds():
    """rb.train_seeds seeds each seed without TensorFlow's global seed (seed_keras); a network
    built after it is the one built after rb.seed, so `rb.seed(s); build()` gives back the
    network seed s's run started from."""
    from resnet_book.seeds import seed_keras

    def weights_after(seeding, value):
        seeding(value)
        return rb.models.cifar_network(8, (8, 8, 1)).get_weights()

    for value in (0, 7):
        by_rb_seed = weights_after(rb.seed, value)
        by_seed_keras = weights_after(seed_keras, value)
        assert all(np.array_equal(a, b) for a, b in zip(by_rb_seed, by_seed_keras))
    assert not all(np.array_equal(a, b) for a, b in zip(weights_after(seed_keras, 0),
                                                        weights_after(seed_keras, 7)))
