"""Small helpers for notebooks: reproducible seeds and numbers glued into the prose."""
from __future__ import annotations


def seed(value: int = 0) -> None:
    """Seed Python, NumPy and the Keras backend, so a run draws the same numbers each time."""
    import keras

    keras.utils.set_random_seed(value)


def glue(name: str, value, display: bool = False):
    """Make ``value`` available to the book's Markdown as ``{glue:text}`name```.

    Under Jupyter Book (myst-nb installed) the value is glued into the page; elsewhere, as
    in Colab, there is nothing to glue into, so the value is simply returned and shows as the
    cell's result when it ends the cell.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    myst_glue(name, value, display=display)
    return value
