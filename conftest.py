"""Settings for every pytest run in this repository, nbval's notebook kernels included."""
import os

# The tests, like CI and the built book, run the CPU-sized profile unless told otherwise.
os.environ.setdefault("RESNET_BOOK_PROFILE", "quick")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# In the tests, as in the book build, a conclusion the text draws that a run does not show is an
# error (in a student's notebook it is a note). The GPU-path rehearsal turns it off for itself.
os.environ.setdefault("RESNET_BOOK_STRICT_CLAIMS", "1")

# pytest-xdist's workers share the cores: each worker, and every kernel and subprocess it
# starts, gets its share as TensorFlow's thread counts (a test or tool that sets its own keeps
# it), instead of each taking every core.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
if _workers > 1:
    from book_tools.sphinx_ext import thread_share

    for _name, _threads in thread_share(_workers).items():
        os.environ.setdefault(_name, _threads)
