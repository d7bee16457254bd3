"""Plain and residual twins (resnet_book.twins): a plain network that starts from its residual
twin's weights in every layer the two share, so that a comparison differs in the shortcuts
alone."""
import numpy as np
import pytest
from keras import layers

import resnet_book as rb
from resnet_book import models, twins

IMAGE = (16, 16, 1)


def weight_layers(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


def test_the_plain_twin_starts_from_the_residual_networks_weights():
    builders = twins.plain_and_residual(models.cifar_network, 20, IMAGE)
    assert list(builders) == ["plain-20", "resnet-20"]
    rb.seed(3)
    plain = builders["plain-20"]()
    rb.seed(3)
    residual = builders["resnet-20"]()
    # Every 3x3 convolution, every BN of the branches and the classifier match one for one;
    # the residual network's two 1x1 projections (and their BNs) are the only extra layers.
    residual_3x3 = [layer for layer in weight_layers(residual, layers.Conv2D)
                    if layer.kernel_size == (3, 3)]
    assert len(residual_3x3) == len(weight_layers(plain, layers.Conv2D)) == 19
    for mine, theirs in zip(weight_layers(plain, layers.Conv2D), residual_3x3, strict=True):
        assert np.array_equal(mine.kernel.numpy(), theirs.kernel.numpy())
    (plain_dense,) = weight_layers(plain, layers.Dense)
    (residual_dense,) = weight_layers(residual, layers.Dense)
    assert np.array_equal(plain_dense.kernel.numpy(), residual_dense.kernel.numpy())
    assert len(weight_layers(residual, layers.Conv2D)) - 19 == 2


def test_without_the_copy_the_two_start_apart():
    # What the twins fix: built from the same seed, the plain network's layers after the first
    # projection draw other numbers than their residual counterparts.
    rb.seed(3)
    plain = models.cifar_network(20, IMAGE, residual=False)
    rb.seed(3)
    residual = models.cifar_network(20, IMAGE)
    plain_last = weight_layers(plain, layers.Conv2D)[-1].kernel.numpy()
    residual_last = [layer for layer in weight_layers(residual, layers.Conv2D)
                     if layer.kernel_size == (3, 3)][-1].kernel.numpy()
    assert not np.array_equal(plain_last, residual_last)


def test_the_residual_options_go_to_the_residual_network_only():
    builders = twins.plain_and_residual(models.cifar_network, 8, IMAGE, shortcut_option="A")
    rb.seed(0)
    residual = builders["resnet-8"]()
    rb.seed(0)
    plain = builders["plain-8"]()
    assert len(weight_layers(residual, layers.Conv2D)) == len(weight_layers(plain, layers.Conv2D))
    for mine, theirs in zip(plain.get_weights(), residual.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)   # option A adds no layers: all weights shared


def test_a_zero_initialised_network_gets_no_plain_twin_but_is_its_residual_twins_twin():
    with pytest.raises(ValueError, match="zero-initialised"):
        twins.plain_and_residual(models.cifar_network, 8, IMAGE, zero_init=True)
    rb.seed(0)
    zero = models.cifar_network(8, IMAGE, zero_init=True)
    rb.seed(0)
    ones = models.cifar_network(8, IMAGE)
    kernels = lambda model: [layer.kernel.numpy() for layer in weight_layers(model, layers.Conv2D)]
    assert all(np.array_equal(a, b) for a, b in zip(kernels(zero), kernels(ones), strict=True))


def test_networks_that_are_not_twins_are_refused():
    wide = models.cifar_network(8, IMAGE)
    other = models.plain_network(8, IMAGE)   # no BN, biases: nothing of it matches
    with pytest.raises(ValueError, match="not plain and residual twins"):
        twins.copy_matching_weights(wide, other)


def test_starting_from_copies_the_network_its_source_builds_alone():
    """After rb.seed(s), the twin starts from the weights ``source()`` draws called alone; a
    builder that made its copy source second would not (the mistake it exists to prevent)."""
    def option_b():
        return models.cifar_network(20, IMAGE, shortcut_option="B")

    def option_a():
        return models.cifar_network(20, IMAGE, shortcut_option="A")

    def source_second():
        model = option_a()
        twins.copy_matching_weights(option_b(), model)
        return model

    rb.seed(5)
    b = option_b()
    expected = option_a()
    twins.copy_matching_weights(b, expected)
    for builder, alike in ((twins.starting_from(option_b, option_a), True),
                           (source_second, False)):
        rb.seed(5)
        got = builder()
        same = all(np.array_equal(x, y)
                   for x, y in zip(got.get_weights(), expected.get_weights()))
        assert same is alike, builder
