"""The helper's models are the chapters' own: later chapters may import what earlier ones built."""
import keras
import numpy as np
import pytest
from keras import layers

from resnet_book import models

from .nbtools import ROOT, read


def chapter_definitions(chapter: str, names: list[str]) -> dict:
    """Run the chapter's cells that define ``names`` (and nothing else) and return them."""
    namespace = {"keras": keras, "layers": layers, "np": np}
    for cell in read(ROOT / "chapters" / chapter).cells:
        if cell.cell_type == "code" and any(
                cell.source.startswith((f"def {n}(", f"class {n}(")) for n in names):
            exec(compile(cell.source, chapter, "exec"), namespace)
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


@pytest.mark.parametrize("residual", [False, True])
def test_cifar_network_is_chapter_2s(residual):
    names = ["conv_bn", "residual_block", "plain_bn_block", "cifar_network"]
    chapter = chapter_definitions("02_residual_block.ipynb", names)
    ours = chapter["cifar_network"](20, (16, 16, 1), residual)
    helpers = models.cifar_network(20, (16, 16, 1), residual=residual)
    assert architecture(ours) == architecture(helpers)
    assert ours.count_params() == helpers.count_params()
    assert ours.name == helpers.name


def test_bad_depth_says_which_depths_work():
    with pytest.raises(ValueError, match="6n \\+ 2"):
        models.cifar_network(21, (16, 16, 1))
