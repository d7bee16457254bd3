"""Settings for every pytest run in this repository, nbval's notebook kernels included."""
import os

# The tests, like CI and the built book, run the CPU-sized profile unless told otherwise.
os.environ.setdefault("RESNET_BOOK_PROFILE", "quick")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# In the tests, as in the book build, a conclusion the text draws that a run does not show is an
# error (in a student's notebook it is a note). The GPU-path rehearsal turns it off for itself.
os.environ.setdefault("RESNET_BOOK_STRICT_CLAIMS", "1")
