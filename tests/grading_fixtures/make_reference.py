"""Write and execute the tiny assignment the grader's tests grade against: reference.ipynb.

    python tests/grading_fixtures/make_reference.py

Three graded parts (relu 2 points, residual_block 5, conv_output_size 3), each with a visible
check (nbval compares its stored output) and a hidden check (an assert cell the exercise does
not get), hints on the checks, one ungraded answer cell, and a cell skipped when grading that would
stop the kernel if it ran. NumPy only, so that a graded run
takes a couple of seconds.
"""
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    new_markdown_cell("# A tiny assignment\n\nTest data for the grader: three graded parts."),
    new_code_cell("import numpy as np\n\nnp.random.seed(0)"),
    new_markdown_cell("## Part 1: the ReLU"),
    new_code_cell('''# GRADED FUNCTION: relu
# POINTS: 2
def relu(z):
    """g(z) = max(z, 0), element by element, for an array of any shape."""
    ### BEGIN SOLUTION
    return np.maximum(z, 0)
    ### END SOLUTION'''),
    new_code_cell('''# NBVAL_CHECK_OUTPUT
# HINT: relu keeps the positive values and replaces the negative ones by 0.
print(relu(np.array([-2.0, 0.0, 3.0])))'''),
    new_code_cell('''# HIDDEN CHECK: relu on a matrix
# HINT: relu must work element by element on an array of any shape.
z = np.random.default_rng(5).normal(size=(4, 3))
assert relu(z).shape == z.shape
assert np.array_equal(relu(z), np.where(z > 0, z, 0.0))'''),
    new_code_cell('''# SKIPPED WHEN GRADING
# Stands for an assignment's long training run. The grader must not run it: if it did, the
# kernel would exit here and every later part would fail.
import sys
sys.exit("the grader ran a cell marked SKIPPED WHEN GRADING")''', metadata={"tags": ["raises-exception"]}),
    new_markdown_cell("## Part 2: a residual block of two dense layers\n\n"
                      "$a^{[l+2]} = g(W_2\\, g(W_1 a^{[l]}) + a^{[l]})$"),
    new_code_cell('''# GRADED FUNCTION: residual_block
# POINTS: 5
def residual_block(a, W1, W2):
    """a^[l+2] = g(W2 g(W1 a) + a); the columns of a are examples."""
    ### BEGIN SOLUTION
    a1 = np.maximum(W1 @ a, 0)
    return np.maximum(W2 @ a1 + a, 0)
    ### END SOLUTION'''),
    new_code_cell('''# NBVAL_CHECK_OUTPUT
# HINT: add the shortcut before the last ReLU: g(W2 g(W1 a) + a).
a = np.array([1.0, -1.0])
print(residual_block(a, np.eye(2), 0.5 * np.eye(2)))'''),
    new_code_cell('''# HIDDEN CHECK: other shapes, several examples at once
# HINT: a may hold several examples as columns: use matrix products, not loops over entries.
rng = np.random.default_rng(7)
a = rng.normal(size=(5, 3))
W1, W2 = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
expected = np.maximum(W2 @ np.maximum(W1 @ a, 0) + a, 0)
assert np.allclose(residual_block(a, W1, W2), expected)'''),
    new_markdown_cell("## Part 3: sizes by hand"),
    new_code_cell('''# GRADED FUNCTION: conv_output_size
# POINTS: 3
def conv_output_size(n, f, p, s):
    """Output side for an n x n input, f x f filters, padding p, stride s."""
    ### BEGIN SOLUTION
    return (n + 2 * p - f) // s + 1
    ### END SOLUTION'''),
    new_code_cell('''# NBVAL_CHECK_OUTPUT
for n, f, p, s in [(28, 5, 0, 1), (32, 3, 1, 1), (32, 3, 1, 2)]:
    print(f"n={n} f={f} p={p} s={s}: {conv_output_size(n, f, p, s)}")'''),
    new_code_cell('''# HIDDEN CHECK: strides that do not divide evenly
# HINT: the formula rounds down: use floor division (//), and return an int.
for (n, f, p, s), size in {(7, 3, 0, 2): 3, (10, 4, 1, 3): 3, (224, 7, 3, 2): 112}.items():
    result = conv_output_size(n, f, p, s)
    assert isinstance(result, int) and result == size'''),
    new_markdown_cell("An ungraded answer: the grader always runs the reference's own code here."),
    new_code_cell('''### BEGIN SOLUTION
depth = 2 * 3 + 2
### END SOLUTION
print("a network of", depth, "layers")'''),
]


def main() -> None:
    nb = new_notebook(cells=CELLS)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    here = Path(__file__).resolve().parent
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, here / "reference.ipynb")


if __name__ == "__main__":
    main()
