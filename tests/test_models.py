"""The helper's networks are the chapters' own.

``resnet_book/models.py`` is generated from the code cells the chapters mark as saved
(``book_tools.chapter_models``): the committed file must be exactly what the chapters generate,
and each chapter's own cells, run as the chapter runs them, must build the networks the helper
builds for the arguments the chapter uses, including chapter 2's own ``residual_block`` and
``cifar_network``, which chapter 4's more general versions replace in the helper.
"""
import ast

import keras
import nbformat
import numpy as np
import pytest
from keras import layers

from book_tools import chapter_models
from resnet_book import models

from .nbtools import chapter_cells

MARKER = chapter_models.MARKER


# The generated module --------------------------------------------------------------------

def test_models_py_is_what_the_chapters_save():
    assert chapter_models.MODULE.read_text() == chapter_models.generate(), (
        "resnet_book/models.py differs from the chapters' saved cells: run "
        "`python -m book_tools.chapter_models` and commit the result")


def test_models_py_needs_only_keras_and_numpy():
    tree = ast.parse(chapter_models.MODULE.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert imported <= {"keras", "numpy"}, imported


def test_a_later_chapter_replaces_an_earlier_definition():
    text = chapter_models.MODULE.read_text()
    assert text.count("def residual_block(") == text.count("def cifar_network(") == 1
    assert "def residual_block(a, filters, stride=1, option=" in text   # chapter 4's


def write_chapters(folder, cells: dict[str, list[str]]):
    for name, sources in cells.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        nbformat.write(nb, folder / name)
    return folder


def test_the_extractor_keeps_the_latest_definition_and_the_imports_it_needs(tmp_path):
    chapters = write_chapters(tmp_path, {
        "01_a.ipynb": [f"{MARKER}\ndef block(x):\n    return layers.ReLU()(x)",
                       "def not_saved():\n    pass",
                       f"{MARKER}\nWIDTHS = (16, 32)\n\n\n# the network\ndef net(x):\n"
                       "    return block(x)"],
        "02_b.ipynb": [f"{MARKER}\ndef block(x, k=1):\n    return np.maximum(x, k)"]})
    text = chapter_models.generate(chapters)
    namespace = {}
    exec(compile(text, "models.py", "exec"), namespace)
    assert namespace["block"](np.array([0.0, 2.0])).tolist() == [1.0, 2.0]   # chapter 2's
    assert namespace["WIDTHS"] == (16, 32) and "not_saved" not in namespace
    assert "# the network\ndef net(x):" in text   # a definition keeps its comment
    # Only the imports the kept definitions need: `layers` served the replaced block only.
    assert '"""\nimport numpy as np\n\n\n# Chapter 1: chapters/01_a.ipynb\n' in text
    assert "# Its block is replaced by chapter 2's, below." in text


@pytest.mark.parametrize("source, message", [
    (f"{MARKER}\nimport keras\ndef f():\n    pass", "would run when"),
    (f"{MARKER}\ndef f(a):\n    return rb.models.conv_bn(a)", "use rb"),
    (f"x = 1\n{MARKER}\ndef f():\n    pass", "first line"),
])
def test_the_extractor_refuses_a_cell_the_helper_cannot_hold(tmp_path, source, message):
    chapters = write_chapters(tmp_path, {"01_a.ipynb": [source]})
    with pytest.raises(chapter_models.SavedCellError, match=message):
        chapter_models.generate(chapters)


def test_check_says_what_to_run_when_the_file_is_stale(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "models.py"
    stale.write_text(chapter_models.MODULE.read_text() + "# edited by hand\n")
    monkeypatch.setattr(chapter_models, "MODULE", stale)
    monkeypatch.setattr(chapter_models, "ROOT", tmp_path)
    assert chapter_models.main(["--check"]) == 1
    assert "python -m book_tools.chapter_models" in capsys.readouterr().err
    assert chapter_models.main([]) == 0 and stale.read_text() == chapter_models.generate()


# The chapters' own networks ----------------------------------------------------------------

# For each chapter that saves definitions: each saved function with arguments the chapter
# itself calls it with (networks shrunk to 8x8 images and few layers to keep this fast).
# Entries: (name, input shape for a block or None for a network, args, kwargs).
BLOCK = (16, 16, 16)
IMAGE = (8, 8, 1)
CASES = {
    "01_plain_block.ipynb": [
        ("plain_block", BLOCK, (16, 1), {}),
        ("plain_block", BLOCK, (32, 2), {}),
        ("plain_network", None, (8, IMAGE), {}),
        ("plain_network", None, (20, IMAGE), {"initializer": "glorot_uniform"}),
    ],
    "02_residual_block.ipynb": [
        ("conv_bn", BLOCK, (16,), {}),
        ("conv_bn", BLOCK, (32,), {"kernel_size": 1, "stride": 2}),
        ("residual_block", BLOCK, (16,), {}),
        ("residual_block", BLOCK, (32, 2), {"zero_init": True}),
        ("plain_bn_block", BLOCK, (32, 2), {}),
        ("cifar_network", None, (8, IMAGE, False), {}),
        ("cifar_network", None, (8, IMAGE, True), {"zero_init": True}),
        ("cifar_network", None, (20, IMAGE, True), {}),
    ],
    "04_matching_dimensions.ipynb": [
        ("zero_pad_shortcut", BLOCK, (32, 2), {}),
        ("projection_shortcut", BLOCK, (32, 2), {}),
        ("pooling_shortcut", (7, 7, 16), (32, 2), {}),
        *[("matched_shortcut", BLOCK, (32, 2, option), {}) for option in ("A", "B", "pool")],
        ("matched_shortcut", BLOCK, (16, 1, "C"), {}),
        *[("residual_block", BLOCK, (32,), {"stride": 2, "option": option})
          for option in ("A", "B", "C", "pool")],
        *[("cifar_network", None, (8, IMAGE), {"shortcut_option": option})
          for option in ("A", "B", "C")],
        ("cifar_network", None, (8, IMAGE), {"residual": False}),
        ("cifar_network", None, (8, IMAGE), {"shortcut_option": "A", "zero_init": True}),
    ],
}


def saved_names() -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for definition in chapter_models.saved_definitions():
        names.setdefault(definition.chapter, set()).add(definition.name)
    return names


def test_every_chapters_saved_definitions_are_compared_below():
    expected = {chapter: {name for name, *_ in cases} for chapter, cases in CASES.items()}
    assert saved_names() == expected, (
        "a chapter saves definitions that CASES does not build (or no longer saves some it "
        "lists): add the calls the chapter makes to CASES")


@pytest.fixture(scope="module")
def chapter_namespaces() -> dict[str, dict]:
    """Each chapter's saved cells, run as in the chapter: a chapter that imports an earlier
    chapter's definitions from the helper gets that earlier chapter's own cells."""
    namespaces, earlier = {}, {}
    for chapter in CASES:
        namespace, ran = chapter_cells(chapter, (MARKER,), **earlier)
        assert ran, f"{chapter} has no saved cell"
        mine = {name: namespace[name] for name in saved_names()[chapter]}
        namespaces[chapter] = {**earlier, **mine}
        earlier = {**earlier, **mine}
    return namespaces


def build(function, input_shape, args, kwargs) -> keras.Model:
    keras.utils.set_random_seed(0)   # the same initial weights for the same layers
    if input_shape is None:
        return function(*args, **kwargs)
    a = keras.Input(shape=input_shape)
    # Identity() keeps a model valid whose output is its input (an identity shortcut).
    return keras.Model(a, layers.Identity()(function(a, *args, **kwargs)))


def operations(model: keras.Model) -> list[tuple]:
    return [(type(op).__name__, tuple(op.output.shape)) for op in model.operations]


@pytest.mark.parametrize("chapter, name, input_shape, args, kwargs", [
    (chapter, *case) for chapter, cases in CASES.items() for case in cases])
def test_the_chapter_builds_what_the_helper_builds(chapter_namespaces, chapter, name,
                                                  input_shape, args, kwargs):
    ours = build(chapter_namespaces[chapter][name], input_shape, args, kwargs)
    helpers = build(getattr(models, name), input_shape, args, kwargs)
    assert operations(ours) == operations(helpers)
    assert ours.count_params() == helpers.count_params()
    if input_shape is None:
        assert ours.name == helpers.name
    # Same initialisers: the same seed gives the same weights (zero-initialised scales too).
    for mine, theirs in zip(ours.get_weights(), helpers.get_weights(), strict=True):
        assert np.array_equal(mine, theirs)
    x = np.random.default_rng(0).random((2, *(input_shape or args[1]))).astype("float32")
    assert np.array_equal(ours(x, training=False), helpers(x, training=False))


def test_chapter_2s_block_is_chapter_4s_with_option_b(chapter_namespaces):
    chapter_2 = chapter_namespaces["02_residual_block.ipynb"]
    for filters, stride in ((16, 1), (32, 2)):
        ours = build(chapter_2["residual_block"], BLOCK, (filters, stride), {})
        helpers = build(models.residual_block, BLOCK, (filters, stride), {"option": "B"})
        assert operations(ours) == operations(helpers)


def test_zero_init_zeroes_each_blocks_last_scale():
    for zero_init in (False, True):
        model = models.cifar_network(20, IMAGE, zero_init=zero_init)
        gammas = [float(np.abs(layer.gamma.numpy()).sum()) for layer in model.layers
                  if isinstance(layer, layers.BatchNormalization)]
        assert gammas.count(0.0) == (9 if zero_init else 0)


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
    for depth, build_keras in keras_builders.items():
        parameters, _, shapes = chapter["imagenet_cost"](depth)
        keras_model = build_keras(weights=None)
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


# The softmax in float32 -------------------------------------------------------------------

POLICIES = {"float32": "float32", "mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def book_networks() -> dict:
    """A builder for every kind of network the chapters, exercises and assignment train."""
    def solution(notebook, *starts):
        return chapter_cells(notebook, starts, folder="solutions")[0]

    ex1 = solution("01_plain_block.ipynb", "def small_plain_network")
    ex2 = solution("02_residual_block.ipynb", "# GRADED FUNCTION")
    ex4 = solution("04_matching_dimensions.ipynb", "def shortcut_network")
    assignment = solution("resnet50_assignment.ipynb", "# GRADED FUNCTION")
    return {
        "plain_network": lambda: models.plain_network(8, IMAGE),
        "cifar_network": lambda: models.cifar_network(8, IMAGE, shortcut_option="A"),
        "cifar_network plain": lambda: models.cifar_network(8, IMAGE, residual=False),
        "small_plain_network (exercises 1)": lambda: ex1["small_plain_network"](2, "he_normal"),
        "dense_stack_network (exercises 2)": lambda: ex2["dense_stack_network"](2, IMAGE),
        "shortcut_network (exercises 4)": lambda: ex4["shortcut_network"](
            8, IMAGE, models.projection_shortcut),
        "ResNet50 (the assignment)": lambda: assignment["ResNet50"](),
    }


@pytest.fixture(scope="module")
def networks():
    return book_networks()


@pytest.mark.parametrize("policy", POLICIES)
def test_every_network_computes_its_softmax_in_float32_under_each_policy(networks, policy):
    """Under mixed precision the layers compute in 16 bits, but a softmax in 16 bits would
    round the probabilities (bfloat16 keeps 8 significant bits): the last layer of every
    network computes in float32, and its probabilities are the float32 softmax of the
    logits the dense layer computed."""
    keras.config.set_dtype_policy(policy)
    try:
        for name, build in networks.items():
            model = build()
            dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)][-1]
            assert dense.compute_dtype == POLICIES[policy], name
            assert keras.backend.standardize_dtype(model.output.dtype) == "float32", name
            images = np.random.default_rng(0).random((4, *model.input.shape[1:]))
            probabilities = model.predict(images, verbose=0)
            logits = keras.Model(model.input, dense.output).predict(images, verbose=0)
            exact = keras.ops.convert_to_numpy(
                keras.activations.softmax(logits.astype("float32")))
            assert probabilities.dtype == np.float32, name
            assert np.allclose(probabilities, exact, rtol=1e-6, atol=1e-7), name
    finally:
        keras.config.set_dtype_policy("float32")
