"""The verdict a student sees under each visible check of an exercise (resnet_book.checks)."""
from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from book_tools.exercises import expected_output_call, student_check
from resnet_book import checks
from resnet_grader.conventions import without_expected_output_call


def test_a_matching_output_passes_whatever_the_trailing_spaces():
    assert checks.verdict("a: 1\nb: 2\n", "a: 1  \nb: 2") == checks.PASSED


def test_a_differing_output_names_the_first_differing_line_and_the_hint():
    text = checks.verdict("shape: (2, 4)\nparameters: 808\n", "shape: (2, 4)\nparameters: 80\n",
                          hint="count the bias")
    assert text.startswith(checks.FAILED)
    assert "line 2" in text and "expected: parameters: 808" in text
    assert "yours:    parameters: 80" in text and "Hint: count the bias" in text


def test_missing_and_extra_lines_are_differences():
    assert "line 2" in checks.verdict("a\nb\n", "a\n")
    assert "(nothing more)" in checks.verdict("a\n", "a\nb\n")


def test_an_unwritten_answer_is_named_as_such():
    text = checks.verdict("x\n", "", NotImplementedError("Replace this line"), hint="h")
    assert text.startswith(checks.FAILED) and "not written yet" in text and "Hint: h" in text
    assert "ValueError: bad" in checks.verdict("x\n", "", ValueError("bad"))


def test_the_generated_call_states_the_expected_output_and_hint():
    source = "# NBVAL_CHECK_OUTPUT\n# HINT: the stride\n#   halves it\nprint(8)"
    outputs = [{"output_type": "stream", "name": "stdout", "text": "8\n"}]
    student = student_check(source, outputs)
    assert "# HINT" not in student and "print(8)" in student
    assert expected_output_call("8\n", "the stride halves it") in student
    assert without_expected_output_call(student) == "# NBVAL_CHECK_OUTPUT\nprint(8)"


def test_a_long_hint_is_wrapped_to_the_page_and_reads_the_same():
    import ast
    from book_tools.exercises import CODE_WIDTH

    hint = ("Count the non-trainable weights too: every BatchNormalization layer keeps "
            "its moving_mean and moving_variance, two per channel, which Keras counts but "
            "the optimizer never updates.")
    call = expected_output_call("23,608,202\n", hint)
    assert all(len(line) <= CODE_WIDTH for line in call.splitlines())
    hint_node = ast.parse(call).body[0].value.keywords[0].value
    assert ast.literal_eval(hint_node) == hint   # no word cut, no space added at a hyphen


def run(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    return [checks_printed(cell) for cell in nb.cells]


def checks_printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def test_verdicts_in_a_real_kernel():
    """Under the cell's own output, after the cell has run: passed, differs, raised."""
    passing, differing, raising, later = run([
        "import resnet_book as rb\n" + expected_output_call("1 2\n", None) + "\nprint(1, 2)",
        "import resnet_book as rb\n" + expected_output_call("1 2\n", "add one")
        + "\nprint(1, 3)",
        "import resnet_book as rb\n" + expected_output_call("1 2\n", "write it")
        + "\nraise NotImplementedError('Replace this line with your code.')",
        "print('next cell')",
    ])
    assert passing == "1 2\n" + checks.PASSED + "\n"
    assert differing.startswith("1 3\n" + checks.FAILED) and "Hint: add one" in differing
    assert raising.startswith(checks.FAILED) and "not written yet" in raising
    assert later == "next cell\n"  # the verdict belongs to its own cell only
