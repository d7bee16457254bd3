"""Run profiles and data: the switch every notebook relies on, and the offline loader."""
import os
import subprocess
import sys

import numpy as np
import pytest

import resnet_book as rb
from resnet_book import data as book_data


def test_quick_profile_by_name_and_environment(monkeypatch):
    monkeypatch.setenv("RESNET_BOOK_PROFILE", "quick")
    monkeypatch.delenv("RESNET_BOOK_DATASET", raising=False)
    profile = rb.get_profile()
    assert profile.name == "quick" and profile.dataset == "fashion_mnist"
    assert rb.get_profile("full").dataset == "cifar10"


def test_without_a_profile_the_hardware_decides(monkeypatch):
    monkeypatch.delenv("RESNET_BOOK_PROFILE", raising=False)
    # This machine (and CI) has no GPU: the book must choose the CPU-sized profile.
    assert rb.device_name() == "CPU"
    assert rb.get_profile().name == "quick"


def test_bad_profile_name_says_what_to_do(monkeypatch):
    monkeypatch.setenv("RESNET_BOOK_PROFILE", "fast")
    with pytest.raises(ValueError) as error:
        rb.get_profile()
    message = str(error.value)
    assert "'fast'" in message and "quick" in message and "full" in message
    assert "RESNET_BOOK_PROFILE" in message


def test_dataset_override_and_bad_dataset_name(monkeypatch):
    monkeypatch.setenv("RESNET_BOOK_DATASET", "fashion_mnist")
    assert rb.get_profile("full").dataset == "fashion_mnist"
    monkeypatch.setenv("RESNET_BOOK_DATASET", "mnist")
    with pytest.raises(ValueError) as error:
        rb.get_profile("quick")
    assert "'mnist'" in str(error.value) and "fashion_mnist" in str(error.value)
    assert "RESNET_BOOK_DATASET" in str(error.value)


def test_fashion_mnist_comes_offline_from_debian_through_keras(tmp_path, monkeypatch):
    assert book_data.DEBIAN_FASHION_MNIST.is_dir(), (
        "Debian's Fashion-MNIST files are missing: apt-get install dataset-fashion-mnist")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    (x_train, y_train), (x_test, y_test) = rb.load_data(rb.get_profile("quick"))
    cached = sorted(p.name for p in (tmp_path / "keras-home/datasets/fashion-mnist").iterdir())
    assert cached == sorted(book_data.FASHION_MNIST_FILES)
    assert x_train.shape == (2000, 8, 8, 1) and x_test.shape == (1000, 8, 8, 1)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert np.bincount(y_train).tolist() == [200] * 10  # class-balanced subset
    again = rb.load_data(rb.get_profile("quick"))
    assert np.array_equal(again[0][0], x_train), "the subset must be the same every run"


def test_full_profile_on_fashion_mnist_is_the_whole_dataset(monkeypatch):
    monkeypatch.setenv("RESNET_BOOK_DATASET", "fashion_mnist")
    (x_train, _), (x_test, _) = rb.load_data(rb.get_profile("full"))
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)


def test_full_profile_without_cifar10_stops_with_advice(tmp_path):
    """No network: the real CIFAR-10 loader fails, and the book says what to do instead."""
    code = ("import resnet_book as rb\n"
            "rb.load_data(rb.get_profile('full'))\n")
    env = {**os.environ, "KERAS_HOME": str(tmp_path), "RESNET_BOOK_PROFILE": "full",
           # a closed local port, so the download fails at once even where there is network
           "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    env.pop("RESNET_BOOK_DATASET", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode != 0
    assert "Could not download CIFAR-10" in result.stderr, result.stderr[-2000:]
    assert "RESNET_BOOK_DATASET=fashion_mnist" in result.stderr
    assert "RESNET_BOOK_PROFILE=quick" in result.stderr


def test_load_data_resizes_and_repeats_the_gray_channel_on_request():
    """What the ResNet-50 assignment asks for: colour-shaped 32x32 images from Fashion-MNIST."""
    profile = rb.get_profile("quick")
    (x_gray, y_gray), _ = rb.load_data(profile)
    (x_train, y_train), (x_test, _) = rb.load_data(profile, image_size=32, channels=3)
    assert x_train.shape == (profile.train_size, 32, 32, 3)
    assert x_test.shape == (profile.test_size, 32, 32, 3)
    assert np.array_equal(x_train[..., 0], x_train[..., 2])
    assert np.array_equal(y_train, y_gray) and x_gray.shape[1:] == (8, 8, 1)
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        rb.load_data(profile, channels=2)


def test_gpu_profiles_share_their_sizes_and_only_paper_lengthens_chapter_5(monkeypatch):
    monkeypatch.delenv("RESNET_BOOK_REHEARSAL", raising=False)
    full, paper = rb.get_profile("full"), rb.get_profile("paper")
    assert (full.dataset, full.epochs, full.batch_size, full.augment) == \
        (paper.dataset, paper.epochs, paper.batch_size, paper.augment)
    # The paper: 64,000 steps of 128 images; on CIFAR-10's 50,000 images, 391 steps an epoch.
    assert paper.steps_per_epoch(50_000, 128) == 391
    assert paper.paper_epochs(50_000, 128) == 164
    assert full.paper_epochs(50_000, 128) == full.epochs
    assert rb.get_profile("quick").paper_epochs(2_000, 128) == 5


def test_rehearsal_shrinks_a_gpu_profile_and_forces_the_gpu_switches(monkeypatch):
    monkeypatch.setenv("RESNET_BOOK_REHEARSAL", "1")
    monkeypatch.setenv("RESNET_BOOK_PROFILE", "full")
    profile = rb.get_profile()
    assert profile.name == "full" and profile.rehearsal and profile.augment
    assert (profile.train_size, profile.test_size, profile.epochs) == (256, 128, 1)
    assert profile.image_size == 8  # the quick profile's size; the full profile keeps 32x32
    assert rb.get_profile("paper").paper_steps == 8
    settings = rb.acceleration()
    assert settings.mixed and settings.jit_compile is True and settings.steps_per_execution == 16
    assert "rehearsing the GPU path" in rb.describe_run(profile)
    monkeypatch.delenv("RESNET_BOOK_REHEARSAL")
    assert rb.acceleration() == rb.Acceleration()  # this machine has no GPU


def test_training_precision_builds_in_the_device_precision_and_restores_the_policy(monkeypatch):
    import keras

    monkeypatch.setenv("RESNET_BOOK_REHEARSAL", "1")
    with rb.training_precision() as policy:
        layer = keras.layers.Dense(2)
    assert policy == "mixed_bfloat16" and layer.compute_dtype == "bfloat16"
    assert keras.config.dtype_policy().name == "float32"


def test_the_quick_profile_trains_on_small_images_and_the_gpu_profiles_on_full_size():
    assert rb.get_profile("quick").image_size == 8
    assert rb.get_profile("full").image_size is None  # the dataset's own size
    assert rb.get_profile("paper").image_size is None
