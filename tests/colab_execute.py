"""Run a notebook top to bottom with nbclient and save it with its outputs.

Run by the Colab-like environment's own Python (``tests/test_colab.py``), so that the notebook
runs in that environment's kernel, as in Colab; it imports nothing of the book.

    python colab_execute.py IN.ipynb OUT.ipynb [--allow-errors]
"""
import sys

import nbformat
from nbclient import NotebookClient

source, target = sys.argv[1:3]
notebook = nbformat.read(source, as_version=4)
NotebookClient(notebook, timeout=900, kernel_name="python3",
               allow_errors="--allow-errors" in sys.argv[3:],
               resources={"metadata": {"path": "."}}).execute()
nbformat.write(notebook, target)
