"""The helper's models are the chapters' own: later chapters may import what earlier ones built."""
import keras
import numpy as np
import pytest
from keras import layers

from resnet_book import models

from .nbtools import chapter_cells


def chapter_definitions(chapter: str, names: list[str]) -> dict:
    """Run the chapter's cells that define ``names`` (and nothing else) and return them."""
    starts = tuple(f"{kind} {n}(" for n in names for kind in ("def", "class"))
    namespace, _ = chapter_cells(chapter, starts)
    missing = [n for n in names if n not in namespace]
    assert not missing, f"{chapter} no longer defines {missing}"
    return namespace


def architecture(model: keras.Model) -> list[tuple]:
    return [(type(layer).__name__, tuple(layer.output.shape)) for layer in model.layers]


@pytest.mark.parametrize("depth", [8, 20])
def test_plain_network_is_chapter_1s(depth):
    chapter = chapter_definitions("01_plain_block.ipynb", ["plain_block", "plain_network"])
    ours = chapter["plain_network"](depth, (16, 16, 1))
    helpers = models.plain_network(depth, (16, 16, 1))
    assert architecture(ours) == architecture(helpers)
    assert ours.count_params() == helpers.count_params()


@pytest.mark.parametrize("residual, zero_init", [(False, False), (True, False), (True, True)])
def test_cifar_network_is_chapter_2s(residual, zero_init):
    names = ["conv_bn", "residual_block", "plain_bn_block", "cifar_network"]
    chapter = chapter_definitions("02_residual_block.ipynb", names)
    ours = chapter["cifar_network"](20, (16, 16, 1), residual, zero_init=zero_init)
    helpers = models.cifar_network(20, (16, 16, 1), residual=residual, zero_init=zero_init)
    assert architecture(ours) == architecture(helpers)
    assert ours.count_params() == helpers.count_params()
    assert ours.name == helpers.name
    # zero_init starts the same BN scales at zero (each block's last one) in both.
    gammas = [[float(np.abs(layer.gamma.numpy()).sum()) for layer in model.layers
               if isinstance(layer, layers.BatchNormalization)] for model in (ours, helpers)]
    assert gammas[0] == gammas[1]
    assert gammas[0].count(0.0) == (9 if zero_init else 0)


def test_bad_depth_says_which_depths_work():
    with pytest.raises(ValueError, match="6n \\+ 2"):
        models.cifar_network(21, (16, 16, 1))


def chapter_5_cells(*starts: str) -> dict:
    """Run chapter 5's code cells that start with ``starts`` (its own counting code)."""
    namespace, ran = chapter_cells("05_resnet_family.ipynb", starts)
    assert len(ran) == len(starts), f"chapter 5 no longer has cells starting {starts}: {ran}"
    return namespace


def test_chapter_5_imagenet_table_matches_keras_applications_and_the_paper():
    """The chapter's layer-by-layer counts: Keras' ResNet-50/101/152 parameter counts
    exactly, the paper's multiply-adds (Table 1, 18 to 152 layers) within 2 %."""
    chapter = chapter_5_cells("IMAGENET_NETWORKS = {", "def convolution(", "def imagenet_cost(")
    keras_builders = {50: keras.applications.ResNet50, 101: keras.applications.ResNet101,
                      152: keras.applications.ResNet152}
    for depth, build in keras_builders.items():
        parameters, _, shapes = chapter["imagenet_cost"](depth)
        keras_model = build(weights=None)
        assert parameters == keras_model.count_params(), depth
        assert shapes[-1] == (7, 7, 2048)
        keras.backend.clear_session()
    paper_macs = {18: 1.8e9, 34: 3.6e9, 50: 3.8e9, 101: 7.6e9, 152: 11.3e9}
    for depth, paper in paper_macs.items():
        macs = chapter["imagenet_cost"](depth)[1]
        assert abs(macs - paper) / paper < 0.02, (depth, macs)


def test_chapter_5_cifar_table_matches_the_paper():
    chapter = chapter_5_cells("PAPER_CIFAR_PARAMETERS = {")
    for depth, ours in chapter["cifar_parameters"].items():
        paper = chapter["PAPER_CIFAR_PARAMETERS"][depth]
        assert abs(ours - paper) / paper < 0.025, (depth, ours, paper)
    assert chapter["cifar_parameters"][56] == 853_018   # 6n + 2 = 56, option A, 10 classes
