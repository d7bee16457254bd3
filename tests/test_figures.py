"""The book's figures draw without error, in the one palette, and a label keeps its colour."""
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import Circle, FancyBboxPatch  # noqa: E402

import resnet_book as rb  # noqa: E402  (first: it mutes TensorFlow's start-up logs)
import keras  # noqa: E402
from resnet_book import diagrams, plots  # noqa: E402
from resnet_book.drawing import PALETTE  # noqa: E402

PALETTE_RGBA = {to_rgba(colour) for colour in PALETTE.values()}
TEXT_DEFAULT = to_rgba(matplotlib.rcParams["text.color"])
# The labels the chapters plot.
PLAIN = [f"plain-{depth}" for depth in (8, 20, 32, 56)]
RESIDUAL = [f"resnet-{depth}" for depth in (8, 20, 32, 56)]
CHAPTER_3 = ["plain-56", "resnet-56", "resnet-56-zero", "resnet-20"]
CHAPTER_5 = ["plain-20", "plain-56", "resnet-20", "resnet-56", "resnet-56 zero γ"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def runs(labels, epochs=4):
    """Real TrainingRuns with made-up histories, one per label."""
    made = {}
    for index, label in enumerate(labels):
        loss = list(np.linspace(2.3, 0.5 / (index + 1), epochs))
        accuracy = list(np.linspace(0.1, 0.9 - 0.05 * index, epochs))
        made[label] = rb.TrainingRun(label, {"loss": loss, "accuracy": accuracy,
                                             "val_accuracy": accuracy}, 1.0, loss[-1],
                                     accuracy[-1])
    return made


def norms(labels, layers=6):
    return {label: list(np.geomspace(1e-3 * (index + 1), 1, layers))
            for index, label in enumerate(labels)}


def seeded_norms(labels, seeds=3, layers=6):
    """{label: [norms per layer] per seed}, each seed's curve a factor of 2 from the next."""
    return {label: [[value * 2.0 ** seed for value in curve] for seed in range(seeds)]
            for label, curve in norms(labels, layers).items()}


def line_colours(ax):
    """{legend label: RGBA} of the axes' labelled lines."""
    return {line.get_label(): to_rgba(line.get_color()) for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def drawn_colours(ax):
    """Every colour the axes' patches, lines and coloured texts use."""
    colours = {to_rgba(line.get_color()) for line in ax.get_lines()}
    for patch in ax.patches:
        colours |= {tuple(patch.get_facecolor()), tuple(patch.get_edgecolor())}
    colours |= {to_rgba(text.get_color()) for text in ax.texts} - {TEXT_DEFAULT}
    return colours


def render(fig):
    """Draw the figure as the book does: mathtext and layout errors only show up here."""
    fig.canvas.draw()
    return fig


DIAGRAMS = {
    "plain_block": lambda ax: diagrams.plain_block(ax),
    "residual_block": lambda ax: diagrams.residual_block(ax),
    "bottleneck_block": lambda ax: diagrams.bottleneck_block(ax),
    "bottleneck_block projection": lambda ax: diagrams.bottleneck_block(ax, projection=True),
    "bottleneck_block vertical": lambda ax: diagrams.bottleneck_block(ax, vertical=True),
    "bottleneck_block vertical projection": lambda ax: diagrams.bottleneck_block(
        ax, projection=True, vertical=True),
    **{f"residual_block_with_shortcut {option}":
       (lambda ax, option=option: diagrams.residual_block_with_shortcut(ax, option))
       for option in diagrams.SHORTCUT_PANELS},
}


@pytest.mark.parametrize("name", DIAGRAMS)
def test_diagram_draws_on_the_given_axes_in_the_palette(name):
    fig, ax = plt.subplots(figsize=(12, 3))
    assert DIAGRAMS[name](ax) is ax
    render(fig)
    assert ax.patches, "no boxes or arrows drawn"
    assert drawn_colours(ax) <= PALETTE_RGBA, drawn_colours(ax) - PALETTE_RGBA


def test_diagram_figures_draw_every_panel():
    fig = render(diagrams.plain_and_residual())
    assert len(fig.axes) == 2 and all(ax.patches for ax in fig.axes)
    # Both blocks on one scale, so their boxes line up.
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()
    fig, axes = diagrams.shortcut_options()
    render(fig)
    assert [ax.get_title(loc="left") for ax in axes] == [
        title for title, *_ in diagrams.SHORTCUT_PANELS.values()]
    fig, axes = diagrams.shortcut_options(("B",))
    assert len(axes) == 1


def test_diagrams_draw_on_the_current_axes_by_default():
    fig, ax = plt.subplots()
    assert diagrams.plain_block() is ax


def test_box_colour_says_what_the_operation_is():
    # A convolution in chapter 4's panels has the fill of one in chapter 5's bottleneck block.
    _, (panel, bottleneck) = plt.subplots(2, 1)
    diagrams.residual_block_with_shortcut(panel, "B")
    diagrams.bottleneck_block(bottleneck)
    conv = to_rgba(diagrams.OPERATION_COLOURS["conv"])
    assert conv in {tuple(patch.get_facecolor()) for patch in panel.patches}
    assert conv in {tuple(patch.get_facecolor()) for patch in bottleneck.patches}


def inside(inner, outer):
    return (outer.x0 <= inner.x0 and inner.x1 <= outer.x1
            and outer.y0 <= inner.y0 and inner.y1 <= outer.y1)


def crowding(ax):
    """What a reader sees as broken in a diagram: a text that leaves the axes, spills out of
    the box or circle it is written in, or covers another text or another box."""
    render(ax.figure)
    shapes = [patch for patch in ax.patches if isinstance(patch, (FancyBboxPatch, Circle))]
    texts = [text for text in ax.texts if text.get_text()]
    faults = []
    for text in texts:
        extent, name = text.get_window_extent(), repr(text.get_text())
        if not inside(extent, ax.get_window_extent()):
            faults.append(f"{name} leaves the axes")
        anchor = text.get_transform().transform(text.get_position())
        for shape in shapes:
            outline = shape.get_window_extent()
            if outline.contains(*anchor) and not inside(extent, outline):
                faults.append(f"{name} spills out of its box")
            elif not outline.contains(*anchor) and extent.overlaps(outline):
                faults.append(f"{name} covers a box it is not in")
        faults += [f"{name} covers {other.get_text()!r}" for other in texts[:texts.index(text)]
                   if extent.overlaps(other.get_window_extent())]
    return faults


def axes_of(draw, figsize, layout=None):
    fig, ax = plt.subplots(figsize=figsize, layout=layout)
    draw(ax)
    return [ax]


def vertical_bottleneck(**kwargs):
    """The vertical bottleneck block as chapter 5 draws it: the figure it is laid out for, and
    a title above it."""
    def draw(ax):
        diagrams.bottleneck_block(ax, vertical=True, **kwargs)
        ax.set_title("The bottleneck block", loc="left")
    return axes_of(draw, diagrams.VERTICAL_FIGSIZE, layout="constrained")


# Each diagram as the notebooks draw it, at their figure sizes.
NOTEBOOK_DIAGRAMS = {
    "plain_block": lambda: axes_of(diagrams.plain_block, (10, 1.9)),
    "plain_and_residual": lambda: diagrams.plain_and_residual(plt.figure(figsize=(10, 4.8))).axes,
    "shortcut_options": lambda: list(diagrams.shortcut_options()[1]),
    "bottleneck_block": lambda: axes_of(diagrams.bottleneck_block, (14, 2.8)),
    "bottleneck_block projection": lambda: axes_of(
        lambda ax: diagrams.bottleneck_block(ax, projection=True), (14, 2.8)),
    "bottleneck_block vertical": vertical_bottleneck,
    "bottleneck_block vertical projection": lambda: vertical_bottleneck(projection=True),
    "bottleneck_block vertical, 4x narrower": lambda: vertical_bottleneck(
        channels=(64, 16, 16, 64)),
    "network_pair": lambda: diagrams.network_pair(*twins(20))[0].axes,
    "network_pair, option A": lambda: diagrams.network_pair(*twins(8, "A"))[0].axes,
}


@pytest.mark.parametrize("name", NOTEBOOK_DIAGRAMS)
def test_every_text_of_a_diagram_fits_its_box_and_covers_no_other(name):
    for ax in NOTEBOOK_DIAGRAMS[name]():
        assert crowding(ax) == []


def test_crowding_finds_a_text_too_wide_for_its_box_a_label_out_of_the_axes_and_an_overlap():
    _, ax = plt.subplots(figsize=(6, 2))
    rb.drawing.box(ax, (1, 0), 0.8, 0.5, "1x1 conv, stride s", PALETTE["light blue"])
    rb.drawing.box(ax, (4, 0), 1.0, 0.5, "g", PALETTE["light orange"])
    ax.text(4.7, 0, "a label on the box", ha="right")
    ax.text(6, 3, "above the axes")
    ax.set(xlim=(0, 7), ylim=(-1, 1))
    faults = crowding(ax)
    assert "'1x1 conv, stride s' spills out of its box" in faults
    assert "'a label on the box' covers a box it is not in" in faults
    assert "'a label on the box' covers 'g'" in faults
    assert "'above the axes' leaves the axes" in faults


def twins(depth, option="B"):
    """Chapter 2's plain network and its residual twin for 32x32 colour images, the residual
    one with shortcut option ``option`` (the chapter's own networks use B)."""
    return (rb.models.cifar_network(depth, (32, 32, 3), residual=False),
            rb.models.cifar_network(depth, (32, 32, 3), residual=True, shortcut_option=option))


def bottleneck_numbers(vertical=False, **kwargs):
    """The numbers the bottleneck diagram writes on its main path, in the order it runs: left
    to right below the shortcut, or top to bottom left of the shortcut."""
    if vertical:
        (ax,) = vertical_bottleneck(**kwargs)
        main = sorted((-y, text.get_text()) for text in ax.texts
                      for x, y in [text.get_position()] if x < 1)
    else:
        _, ax = plt.subplots(figsize=(14, 2.8))
        diagrams.bottleneck_block(ax, **kwargs)
        main = sorted((x, text.get_text()) for text in ax.texts
                      for x, y in [text.get_position()] if y < 0.5)
    return [int("".join(match)) for _, text in main
            for match in re.findall(r"= (\d+)|(\d+) ch", text)]


@pytest.mark.parametrize("vertical", [False, True])
def test_the_bottleneck_diagram_shows_its_channels(vertical):
    # ResNet-50's identity block: 256 channels in, narrowed to 64, widened back to 256.
    assert bottleneck_numbers(vertical) == [256, 64, 64, 256, 256]
    assert bottleneck_numbers(vertical, channels=(64, 16, 16, 64)) == [64, 16, 16, 64, 64]
    assert bottleneck_numbers(vertical, projection=True) == [256, 128, 128, 512, 512]
    _, ax = plt.subplots(figsize=(14, 2.8))
    diagrams.bottleneck_block(ax, projection=True, channels=(256, 128, 128, 512),
                              vertical=vertical)
    shortcut = [text.get_text() for text in ax.texts if "BN" in text.get_text()
                and "conv" in text.get_text()]
    assert shortcut and "512" in shortcut[0] and "stride" in shortcut[0]


def test_the_vertical_bottleneck_diagram_is_shown_at_full_size_on_a_page():
    # The book saves a figure cropped to what is drawn, at 100 dpi, and shrinks an image wider
    # than the page's 690 pixels; the row, 14 inches wide, comes out at about 60 %.
    for ax in vertical_bottleneck() + vertical_bottleneck(projection=True):
        drawn = render(ax.figure).get_tightbbox()
        assert drawn.width * 100 <= 600 and drawn.height <= 7.5, drawn
        # The numbers and every other text at 11 pt or more: 15 pixels at 100 dpi.
        assert min(text.get_fontsize() for text in ax.texts) >= 11


PLOTS = {
    "training_loss": lambda ax: plots.training_loss(runs(PLAIN + RESIDUAL), ax),
    "training_loss_by_network": lambda ax: plots.training_loss_by_network(runs(CHAPTER_3), ax),
    "training_loss_by_run": lambda ax: plots.training_loss_by_run(
        runs(["resnet-20 (A)", "resnet-20 (B)"]), ax),
    "gradient_norms": lambda ax: plots.gradient_norms(norms(PLAIN), ax),
    "gradient_norms over seeds": lambda ax: plots.gradient_norms(seeded_norms(PLAIN), ax),
    "activation_rms over seeds": lambda ax: plots.activation_rms(seeded_norms(PLAIN), ax),
    "per_block": lambda ax: plots.per_block(norms(CHAPTER_3[:3]), ax, log=True),
    "per_block over seeds": lambda ax: plots.per_block(seeded_norms(CHAPTER_3), ax),
    "error_curves": lambda ax: plots.error_curves(runs(CHAPTER_5), ax, key="val_accuracy"),
    "error_by_depth": lambda ax: plots.error_by_depth(runs(PLAIN + RESIDUAL), ax),
}


@pytest.mark.parametrize("name", PLOTS)
def test_plot_draws_on_the_given_axes_in_the_palette(name):
    fig, ax = plt.subplots()
    assert PLOTS[name](ax) is ax
    render(fig)
    assert line_colours(ax), "no labelled lines"
    assert drawn_colours(ax) <= PALETTE_RGBA, drawn_colours(ax) - PALETTE_RGBA
    assert ax.get_legend() is not None


def test_a_label_has_one_colour_in_every_depth_coloured_plot():
    seen: dict[str, set] = {}
    for draw in (lambda ax: plots.training_loss(runs(PLAIN), ax),
                 lambda ax: plots.training_loss(runs(PLAIN[::-1]), ax),
                 lambda ax: plots.training_loss(runs(["plain-56"]), ax),
                 lambda ax: plots.gradient_norms(norms(["resnet-56", "plain-56"]), ax),
                 lambda ax: plots.error_curves(runs(CHAPTER_5), ax)):
        _, ax = plt.subplots()
        draw(ax)
        for label, colour in line_colours(ax).items():
            seen.setdefault(label, set()).add(colour)
    assert all(len(colours) == 1 for colours in seen.values()), seen
    assert seen["plain-56"] == {to_rgba(plots.DEPTH_COLOURS[56])}
    assert seen["resnet-56 zero γ"] == seen["resnet-56"]


@pytest.mark.parametrize("label, depth", [
    ("plain-56", 56), ("resnet-110", 110), ("resnet-56 zero γ", 56), ("resnet-20 (A)", 20),
    ("resnet-56-zero", 56), ("ResNet-8", 8), ("mystery", None), ("net 20", None)])
def test_depth_is_the_number_after_the_first_dash(label, depth):
    assert plots.depth_of(label) == depth


def test_networks_of_one_depth_are_told_apart_where_a_chapter_compares_them():
    for draw in (lambda ax: plots.training_loss_by_network(runs(CHAPTER_3), ax),
                 lambda ax: plots.per_block(norms(CHAPTER_3), ax)):
        _, ax = plt.subplots()
        draw(ax)
        colours = line_colours(ax)
        assert len(set(colours.values())) == len(CHAPTER_3), colours
        assert colours == {label: to_rgba(plots.NETWORK_STYLES[label]["color"])
                           for label in CHAPTER_3}
    _, ax = plt.subplots()
    plots.training_loss_by_run(runs(["resnet-20 (A)", "resnet-20 (B)"]), ax)
    first, second = (line for line in ax.get_lines() if line.get_label().startswith("resnet"))
    assert first.get_color() != second.get_color()
    assert first.get_linestyle() != second.get_linestyle()


def test_error_by_depth_draws_one_line_per_kind():
    _, ax = plt.subplots()
    plots.error_by_depth(runs(RESIDUAL + PLAIN), ax, measure="loss")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"plain", "resnet"}
    assert list(lines["plain"].get_xdata()) == [8, 20, 32, 56]
    assert to_rgba(lines["plain"].get_color()) == to_rgba(plots.PLAIN_COLOUR)
    assert lines["plain"].get_linestyle() == "--" and lines["resnet"].get_linestyle() == "-"
    with pytest.raises(ValueError, match="measure"):
        plots.error_by_depth(runs(PLAIN), ax, measure="accuracy")


def test_figure_modules_load_lazily_as_attributes_of_the_package():
    assert rb.plots is plots and rb.diagrams is diagrams
    assert rb.drawing.PALETTE is PALETTE


def seeded_runs(labels, seeds=3, epochs=4):
    """{label: [TrainingRun per seed]}, as rb.train_seeds returns, each seed a little apart."""
    made = {}
    for index, label in enumerate(labels):
        made[label] = []
        for seed in range(seeds):
            loss = list(np.linspace(2.3, 0.5 / (index + 1) + 0.1 * seed, epochs))
            accuracy = list(np.linspace(0.1, 0.9 - 0.05 * index - 0.02 * seed, epochs))
            made[label].append(rb.TrainingRun(label, {"loss": loss, "accuracy": accuracy},
                                              1.0, loss[-1], accuracy[-1], seed=seed))
    return made


def test_seeded_runs_show_every_seed_and_their_mean():
    seeded = seeded_runs(["plain-20", "plain-56"])
    _, ax = plt.subplots()
    plots.training_loss(seeded, ax)
    labelled = {line.get_label(): line for line in ax.get_lines()
                if not line.get_label().startswith("_")}
    assert set(labelled) == {"plain-20 (mean of 3 seeds)", "plain-56 (mean of 3 seeds)"}
    mean = np.mean([run.history["loss"] for run in seeded["plain-56"]], axis=0)
    assert np.allclose(labelled["plain-56 (mean of 3 seeds)"].get_ydata(), mean)
    thin = [line for line in ax.get_lines() if line.get_label().startswith("_")
            and len(line.get_xdata()) == 4]
    assert len(thin) == 6   # one per seed and network
    assert {to_rgba(line.get_color()) for line in thin} == {
        to_rgba(plots.DEPTH_COLOURS[20]), to_rgba(plots.DEPTH_COLOURS[56])}


def test_error_by_depth_shows_the_seeds_spread_as_a_band():
    seeded = seeded_runs(["plain-8", "plain-20", "plain-56"])
    _, ax = plt.subplots()
    plots.error_by_depth(seeded, ax)
    (band,) = ax.collections
    lows, highs = zip(*[(min(r.final_train_error for r in seeded[f"plain-{d}"]),
                         max(r.final_train_error for r in seeded[f"plain-{d}"]))
                        for d in (8, 20, 56)])
    vertices = band.get_paths()[0].vertices
    assert np.isclose(vertices[:, 1].min(), min(lows))
    assert np.isclose(vertices[:, 1].max(), max(highs))
    (mean_line,) = [line for line in ax.get_lines() if line.get_label().startswith("plain")]
    assert "3 seeds" in mean_line.get_label()
    assert list(mean_line.get_xdata()) == [8, 20, 56]
    dots = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
    assert sum(len(line.get_ydata()) for line in dots) == 9


def losses(curves, epochs, seeds=1):
    """{label: [TrainingRun per seed]} with the loss curves "at chance" (plain-56 at ln 10 on
    every epoch, beside a resnet-20 that learns) or "far below" (all under 0.7)."""
    steps = np.linspace(0, 1, epochs)
    curve = {"at chance": {"plain-56": np.full(epochs, np.log(10)),
                           "resnet-20": 2.2 - 1.6 * steps},
             "far below": {"plain-20": 0.7 - 0.3 * steps, "resnet-20": 0.6 - 0.4 * steps}}
    return {label: [rb.TrainingRun(label, {"loss": list(loss), "accuracy": [0.5] * epochs},
                                   1.0, loss[-1], 0.5, seed=seed) for seed in range(seeds)]
            for label, loss in curve[curves].items()}


def chance_label(ax):
    (label,) = [text for text in ax.texts if "chance" in text.get_text()]
    return label


@pytest.mark.parametrize("epochs", [1, 3, 30])
@pytest.mark.parametrize("curves", ["at chance", "far below"])
@pytest.mark.parametrize("ylim", [None, (0, 2.35), (2.0, 2.35), (0, 2.31), (2.29, 2.6)])
def test_the_chance_label_stays_inside_the_frame_whatever_the_limits(epochs, curves, ylim):
    fig, ax = plt.subplots(figsize=(6.5, 4))
    plots.training_loss(losses(curves, epochs, seeds=3), ax)
    if ylim:
        ax.set_ylim(*ylim)
    render(fig)
    assert inside(chance_label(ax).get_window_extent(), ax.get_window_extent())


def test_the_chance_label_stays_inside_axes_that_share_limits_set_later():
    # As chapter 2 draws them: two panels sharing y, whose limits the notebook may then set.
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), sharey=True, layout="constrained")
    plots.training_loss(losses("far below", 3), left)
    plots.training_loss(losses("at chance", 3), right)
    left.set_ylim(0, 2.32)
    render(fig)
    for ax in (left, right):
        assert inside(chance_label(ax).get_window_extent(), ax.get_window_extent())


def test_the_chance_label_sits_above_the_line_where_the_limits_are_left_to_the_plot():
    # Above the line it covers no curve that ends at or below chance.
    fig, ax = plt.subplots(figsize=(6.5, 4))
    plots.training_loss(losses("at chance", 30), ax)
    render(fig)
    line_y = ax.transData.transform((1, np.log(10)))[1]
    assert chance_label(ax).get_window_extent().y0 > line_y


def test_the_chance_line_and_a_curve_at_chance_both_show():
    fig, ax = plt.subplots(figsize=(6.5, 4), dpi=100)
    plots.training_loss_by_network(losses("at chance", 30), ax)
    render(fig)
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float)
    # The rows of pixels through ln 10, between the second and the second-to-last epoch.
    (x0, y), (x1, _) = ax.transData.transform([(2, np.log(10)), (29, np.log(10))])
    top = pixels.shape[0] - int(round(y))
    rows = pixels[top - 1:top + 2, int(x0):int(x1)]
    brightness = rows @ [0.299, 0.587, 0.114]
    curve = np.array(to_rgba(plots.NETWORK_STYLES["plain-56"]["color"])[:3]) * 255
    # A line as bright as the curve under it cannot be told from it: the line must be darker.
    line = brightness < curve @ [0.299, 0.587, 0.114] - 40
    on_curve = np.abs(rows - curve).max(axis=-1) < 40
    assert line.mean(axis=1).max() > 0.2, "the chance line is lost in the curve"
    assert on_curve.mean(axis=1).max() > 0.2, "the curve is hidden under the chance line"


def test_a_signal_over_seeds_draws_each_seed_and_their_geometric_mean():
    _, ax = plt.subplots()
    seeded = seeded_norms(["plain-56"])
    plots.gradient_norms(seeded, ax)
    lines = ax.get_lines()
    assert len(lines) == 4   # three seeds, thin, and their mean
    mean = next(line for line in lines if not line.get_label().startswith("_"))
    assert mean.get_label() == "plain-56 (geometric mean of 3 seeds)"
    # seeds at 1, 2 and 4 times a curve: their geometric mean is twice the curve
    assert np.allclose(mean.get_ydata(), 2 * np.asarray(seeded["plain-56"][0]))


def test_a_per_block_quantity_over_seeds_draws_each_seed_in_its_networks_colour():
    seeded = seeded_norms(["resnet-56", "some-network"])
    for log, mean, factor in [(True, "geometric mean", 2), (False, "mean", 7 / 3)]:
        _, ax = plt.subplots()
        plots.per_block(seeded, ax, log=log)
        labelled = {line.get_label(): line for line in ax.get_lines()
                    if not line.get_label().startswith("_")}
        assert set(labelled) == {f"resnet-56 ({mean} of 3 seeds)",
                                 f"some-network ({mean} of 3 seeds)"}
        for label, line in labelled.items():
            network = label.split(" ")[0]
            thin = [other for other in ax.get_lines() if other.get_label().startswith("_")
                    and to_rgba(other.get_color()) == to_rgba(line.get_color())]
            assert len(thin) == 3, label
            # seeds at 1, 2 and 4 times a curve
            assert np.allclose(line.get_ydata(), factor * np.asarray(seeded[network][0]))
        resnet = labelled[f"resnet-56 ({mean} of 3 seeds)"]
        assert to_rgba(resnet.get_color()) == to_rgba(plots.NETWORK_STYLES["resnet-56"]["color"])


def test_plain_and_residual_twins_of_one_depth_differ_when_coloured_by_kind():
    _, ax = plt.subplots()
    plots.gradient_norms(seeded_norms(["plain-56", "resnet-56"]), ax, colour_by="kind")
    colours = {label.split(" ")[0]: colour for label, colour in line_colours(ax).items()}
    assert colours == {"plain-56": to_rgba(plots.PLAIN_COLOUR),
                       "resnet-56": to_rgba(plots.RESIDUAL_COLOUR)}
    with pytest.raises(ValueError, match="colour_by"):
        plots.gradient_norms(norms(["plain-56"]), ax, colour_by="width")


def layers_of(model, kind, **attributes):
    """The model's layers of type ``kind`` whose attributes have the given values."""
    return [layer for layer in model.layers if isinstance(layer, kind)
            and all(getattr(layer, name) == value for name, value in attributes.items())]


def centre(patch):
    """(x, y) of the middle of a patch as drawn, in pixels."""
    extent = patch.get_window_extent()
    return (extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2


def drawn(ax, gid, column=None):
    """The patches of one kind (their gid) that network_pair drew, in one column or both:
    the first column's lie left of halfway between the columns, the second's right of it."""
    render(ax.figure)
    middle = ax.transData.transform((diagrams.NETWORK_COLUMNS / 2, 0))[0]
    patches = [patch for patch in ax.patches if patch.get_gid() == gid]
    if column is None:
        return patches
    return [patch for patch in patches if (centre(patch)[0] > middle) == (column == 1)]


@pytest.mark.parametrize("option", ["B", "A", "C"])
@pytest.mark.parametrize("depth", [8, 20])
def test_the_whole_networks_are_drawn_from_the_models_layers(depth, option):
    plain, residual = twins(depth, option)
    fig, (plain_drawn, residual_drawn) = diagrams.network_pair(plain, residual)
    (ax,) = fig.axes
    render(fig)
    conv, add = keras.layers.Conv2D, keras.layers.Add
    for column, (model, network) in enumerate([(plain, plain_drawn),
                                               (residual, residual_drawn)]):
        # A box for every 3x3 convolution, a + and a shortcut's arc for every Add layer, a
        # box on an arc for every 1x1 convolution (the projections), for none where the
        # shortcuts only pad (option A).
        convolutions = layers_of(model, conv, kernel_size=(3, 3))
        projections = layers_of(model, conv, kernel_size=(1, 1))
        assert len(drawn(ax, "conv", column)) == network.convolutions == len(convolutions)
        assert len(drawn(ax, "adder", column)) == network.adders == len(layers_of(model, add))
        assert len(drawn(ax, "shortcut", column)) == network.shortcuts == network.adders
        assert len(drawn(ax, "projection", column)) == network.projections == len(projections)
        assert network.convolutions + network.projections == len(layers_of(model, conv))
        # The stride-2 convolutions, and nothing else, are marked "/2".
        halving = [text for text in network.boxes if "/2" in text]
        assert len(halving) == len(layers_of(model, conv, kernel_size=(3, 3), strides=(2, 2)))
        assert network.boxes[-2:] == ["global avg pool", "dense, 10, softmax"]
        assert network.stages == ["16 filters, 32×32", "32 filters, 16×16", "64 filters, 8×8"]
    # The plain twin draws no arc; the residual one an arc per block, 3n of depth 6n + 2.
    assert plain_drawn.shortcuts == plain_drawn.adders == 0
    assert residual_drawn.shortcuts == (depth - 2) // 2
    assert residual_drawn.projections == {"A": 0, "B": 2, "C": (depth - 2) // 2}[option]
    # Option A's two shape-changing shortcuts get a box without weights instead.
    assert residual_drawn.free_shortcuts == len(drawn(ax, "free shortcut")) == (
        2 if option == "A" else 0)
    assert plain_drawn.boxes == residual_drawn.boxes


def test_twins_are_drawn_layer_beside_layer_and_the_stages_bracketed():
    fig, _ = diagrams.network_pair(*twins(20))
    (ax,) = fig.axes
    rows = [sorted(round(centre(patch)[1], 3) for patch in drawn(ax, "conv", column))
            for column in (0, 1)]
    assert len(rows[0]) == 19 and rows[0] == rows[1]
    stages = [text.get_text() for text in ax.texts if text.get_text().startswith("stage")]
    assert stages == ["stage 1\n16 filters\n32×32 maps", "stage 2\n32 filters\n16×16 maps",
                      "stage 3\n64 filters\n8×8 maps"]
    titles = {text.get_text(): to_rgba(text.get_color()) for text in ax.texts
              if text.get_text() in ("plain-20", "ResNet-20")}
    assert titles == {"plain-20": to_rgba(plots.PLAIN_COLOUR),
                      "ResNet-20": to_rgba(plots.RESIDUAL_COLOUR)}
    assert drawn_colours(ax) <= PALETTE_RGBA, drawn_colours(ax) - PALETTE_RGBA


def test_the_whole_networks_read_at_the_page_width():
    # The book saves a figure cropped to what is drawn, at 100 dpi, and shrinks an image wider
    # than the page's 690 pixels: this one is shown at full size, its text 9 pt or more.
    fig, _ = diagrams.network_pair(*twins(20))
    drawn_box = render(fig).get_tightbbox()
    assert drawn_box.width * 100 <= 690, drawn_box
    assert min(text.get_fontsize() for text in fig.axes[0].texts) >= 9


def test_the_main_path_is_the_branch_with_the_convolutions_whichever_input_of_add_it_is():
    # A block written with its shortcut first, Add()([shortcut, branch]), and one block with
    # a projection on its shortcut: the drawing still runs down the convolutions.
    layers = keras.layers
    inputs = keras.Input((8, 8, 3))
    a = layers.Conv2D(8, 3, padding="same")(inputs)
    branch = layers.Conv2D(8, 3, padding="same")(layers.Conv2D(8, 3, padding="same")(a))
    a = layers.ReLU()(layers.Add()([a, branch]))
    branch = layers.Conv2D(16, 3, strides=2, padding="same")(a)
    shortcut = layers.Conv2D(16, 1, strides=2)(a)
    a = layers.Add()([shortcut, layers.Conv2D(16, 3, padding="same")(branch)])
    outputs = layers.Dense(4)(layers.GlobalAveragePooling2D()(a))
    model = keras.Model(inputs, outputs, name="resnet-odd")
    fig, (_, odd) = diagrams.network_pair(model, model)
    assert odd.boxes == ["3×3 conv, 8", "3×3 conv, 8", "3×3 conv, 8", "3×3 conv, 16, /2",
                         "3×3 conv, 16", "global avg pool", "dense, 4"]
    assert (odd.shortcuts, odd.adders, odd.projections) == (2, 2, 1)
    assert [text.get_text() for text in fig.axes[0].texts].count("1×1 conv, 16, /2") == 2
